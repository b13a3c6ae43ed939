"""Several full-batch epochs in one compiled call: what a run with nothing to do between epochs
(no callback, no validation set) pays per epoch is the arithmetic only.

A full-batch epoch on the compiled engine is a step and a pass (:mod:`.fullbatch`); between two
epochs the host only shuffles the sample order, reads the pass's error sums into the history and
checks that error and weights are finite. Given the orders of k epochs (drawn beforehand by the
same generator, so the same numbers), :func:`full_batch_epochs` runs them back to back and
writes each epoch's sums to a log row; the generated pass's counterpart is
:mod:`.codegen_batch`'s ``epochs``, which calls the same step (:func:`before_step`,
:func:`.fullbatch.full_batch_step`, :func:`after_pass`) around its own pass. Every operation is
the per-epoch path's, in the same order: the weights, the optimizer state and the history are
the same bits.

Per epoch e (``track``: the Rprop family, whose iRprop⁺ asks whether the error went up; its
objective J = ΣE/n, the run having no weight decay):

1. ``hd[0]`` ← J > J_old, ``hd[2]`` = J_old ← J (J of the pass at the weights before the step);
   with ``running``, log[e] ← the sums of that pass (the running error of a full batch);
2. θ_prev ← θ, then the step, then the pass at the new θ;
3. without ``running``, log[e] ← the new pass's sums; stop after this epoch when log[e]'s ΣE or
   θ is not finite (the host restores θ_prev, as it restores the last finite weights).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numpy.typing import NDArray

from retroprop._fast import codegen
from retroprop._fast.fullbatch import FullBatchTrainer, full_batch_epoch
from retroprop._fast.run import Order
from retroprop.core.optimizers import Rprop

__all__ = ["ChunkedTrainer", "after_pass", "before_step", "draw_orders", "full_batch_epochs"]


def draw_orders(
    rng: np.random.Generator, index: NDArray[np.intp], orders: NDArray[np.intp]
) -> None:
    """orders[e] ← ``index`` after ``rng.shuffle(index)`` e + 1 times (``index`` is left as
    the last): the chunk's sample orders, the same numbers as NumPy's shuffles, drawn by
    :func:`shuffles` when numba has the integer draw NumPy's shuffle uses."""
    if _RANDOM_INTERVAL is None:
        for row in orders:
            rng.shuffle(index)
            row[:] = index
    else:
        shuffles(rng, index, orders)


try:  # numba's copy of NumPy's random_interval (private: a later numba may move it)
    from numba.np.random.random_methods import random_interval as _random_interval

    _RANDOM_INTERVAL: object = _random_interval
except ImportError:  # pragma: no cover - NumPy's shuffles in Python then
    _RANDOM_INTERVAL = None


@njit(cache=True, nogil=True)
def shuffles(rng, index, orders):  # type: ignore[no-untyped-def]
    """NumPy's ``Generator.shuffle`` of a 1-d array (Fisher–Yates from the end, j drawn by
    ``random_interval(i)``), once per row of ``orders``, each row ← the result."""
    for e in range(len(orders)):
        for i in range(len(index) - 1, 0, -1):
            j = types.intp(_random_interval(rng.bit_generator, types.uint64(i)))  # type: ignore[no-untyped-call]
            index[i], index[j] = index[j], index[i]
        orders[e, :] = index


@njit(cache=True, nogil=True)
def before_step(sums, log, e, running, track, hd, n):  # type: ignore[no-untyped-def]
    """Items 1 of the module docstring, from the sums of the pass at the current θ."""
    if track:
        J = sums[0] / n
        hd[0] = 1.0 if J > hd[2] else 0.0
        hd[2] = J
    if running:
        for i in range(len(sums)):
            log[e, i] = sums[i]


@njit(cache=True, nogil=True)
def after_pass(theta, sums, log, e, running):  # type: ignore[no-untyped-def]
    """Item 3: log the final error; False when the logged error or θ is not finite."""
    if not running:
        for i in range(len(sums)):
            log[e, i] = sums[i]
    if not math.isfinite(log[e, 0]):
        return False
    for p in range(len(theta)):
        if not math.isfinite(theta[p]):
            return False
    return True


@njit(cache=True, nogil=True)
def full_batch_epochs(  # type: ignore[no-untyped-def]
    theta,
    theta_prev,
    X,
    Y,
    orders,
    layout,
    work,
    loss_code,
    c,
    betas,
    t,
    state,
    g,
    U,
    h,
    hd,
    classify,
    sums,
    flags,
    log,
):
    """Epochs in the orders ``orders`` (k, n) on the generic kernels. ``flags`` = [optimizer
    code, running, track, ← the number of epochs run (fewer than k when one diverged: the
    last)]; the other arguments as :func:`.fullbatch.full_batch_epoch`, ``log`` (k, 3)."""
    opt, running, track = flags[0], flags[1] != 0, flags[2] != 0
    flags[3] = len(orders)
    for e in range(len(orders)):
        index = orders[e]
        before_step(sums, log, e, running, track, hd, len(index))
        theta_prev[:] = theta
        full_batch_epoch(
            theta, X, Y, index, layout, work, loss_code, opt, c, betas, t, state, g, U, h, hd,
            classify, sums,
        )  # fmt: skip
        if not after_pass(theta, sums, log, e, running):
            flags[3] = e + 1
            return


# -- host side -------------------------------------------------------------------------------
class ChunkedTrainer(FullBatchTrainer):
    """The full-batch trainer that can also run several epochs per call (:meth:`run_epochs`,
    when :attr:`chunkable`): what :func:`.engine.make_trainer` gives for full batches."""

    def run_epochs(
        self, orders: NDArray[np.intp], log: NDArray[np.float64], classify: bool, running: bool
    ) -> tuple[int, bool]:
        """Epochs in the sample orders ``orders`` (k, n_samples) in one compiled call
        (:mod:`.batch_chunks`; only when :attr:`chunkable`), the same bits as k calls of
        :meth:`run_epoch`. ``log`` (k, 3) gets each epoch's error sums (of the weights after the
        step, or before it with ``running``). Returns the number of epochs run (fewer than k
        when one gave a non-finite error or weights: the last) and whether the last one's error
        and weights are finite (else :meth:`weights_before_last_epoch` has the ones before)."""
        self.prepare_epochs(orders[0], classify)
        self.hd[2], self.flags[1] = self.error_old, running
        if self.generated is None or not codegen.run_generated(
            self.generated[0], self._batch_ready, "epochs", self._epochs_arguments(orders, log)
        ):
            full_batch_epochs(
                self.theta, self.theta_prev, self.X, self.Y, orders, self.layout, self.work,
                self.loss_code, self.c, self.betas, self.t, self._state(), self.g, self.U,
                self.h, self.hd, classify, self.sums, self.flags, log,
            )  # fmt: skip
        done = int(self.flags[3])
        if isinstance(self.rule, Rprop):
            self.error_old = float(self.hd[2])
        self._sync_out()
        self.fresh = True
        finite = bool(np.isfinite(log[done - 1, 0]) and np.isfinite(self.theta).all())
        return done, finite

    def draw_orders(
        self, rng: np.random.Generator, index: Order, k: int, shuffle: bool
    ) -> NDArray[np.intp]:
        """The sample orders of k epochs (k, n_samples): ``index`` shuffled by ``rng`` before
        each (when ``shuffle``), as k epochs would draw them; ``index`` is left as the last."""

        orders = np.empty((k, len(index)), dtype=index.dtype)
        if shuffle:
            draw_orders(rng, index, orders)
        else:
            orders[:] = index
        return orders

    def prepare_epochs(self, index: Order, classify: bool) -> None:
        """The pass at the network's weights in the order ``index`` unless the last one was
        made there (the first epoch of a run, or after a callback changed the weights)."""
        if self._sync_in() or self.classify != classify:
            self.classify = classify
            self._pass(index)

    def weights_before_last_epoch(self) -> NDArray[np.floating]:
        """The weights before the last epoch of :meth:`run_epochs`, flat as
        :meth:`Network.get_flat` gives them (what a diverged run restores)."""
        theta = self.theta.copy()
        self.theta[:] = self.theta_prev
        self._push()
        flat = self.network.get_flat()
        self.theta[:] = theta
        self._push()
        return flat
