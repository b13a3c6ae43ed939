"""scikit-learn's per-batch objective on the compiled engine: the kernel and its host side.

The estimators (:mod:`retroprop.estimators._compiled`) train with scikit-learn's loop, whose
batches differ from :func:`retroprop.fit`'s in three ways the kernel handles: weight decay
α/m with m the batch's size, the reported loss (mean E · scale + ½ (α/m) Σ‖W‖²) summed over
the batches, and Adam in scikit-learn's form. Buffers, layout and the optimizer-state
conversions are :class:`~.trainer.KernelTrainer`'s.

Online plain SGD (k = 1, momentum 0, α = 0: scikit-learn's loop with ``batch_size=1``) runs the
kernel generated for the architecture (:mod:`.codegen`, ``train_tallied``) as soon as it is
compiled (:mod:`.background`), as fast as :func:`retroprop.fit`'s online epochs, and the generic
kernel's fused SGD step until then: both round every step alike, so it makes no difference to
the numbers which one ran which epoch. With momentum 0 the velocity is multiplied by 0 before
it is used, so neither keeps it (the state keeps the velocity it had). The other online runs
(momentum, α > 0, Adam) take :func:`.objective_online.train_online_objective`, which steps
each layer during the backward sweep with the arithmetic of this module's step at m = 1.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from retroprop._fast import constants as C
from retroprop._fast.kernels import apply_layers, train_epoch, visit_batch
from retroprop._fast.objective_online import train_online_objective
from retroprop._fast.run import TrainingRun
from retroprop._fast.trainer import KernelTrainer

Array = NDArray[np.floating]


@njit(cache=True, nogil=True)
def _apply_sklearn_adam(theta, G, lo, hi, decay, c, m, v, eta_t):  # type: ignore[no-untyped-def]
    """θ[lo:hi] += Δθ by Adam in scikit-learn's form (core.optimizers.ScikitLearnAdam), and
    G[lo:hi] ← 0.

    m, v as Adam; Δθ = −ηₜ m / (√v + ε) with ηₜ = η √(1 − β₂ᵗ) / (1 − β₁ᵗ) a float64, as
    NumPy's ``np.sqrt`` of a Python float gives it: in float32 the step is then rounded as the
    reference rounds it (computed in float64, stored in float32).
    """
    zero, k, wd = c[C.C_ZERO], c[C.C_N], c[C.C_WD]
    b1, b2, omb1, omb2, eps = c[C.C_B1], c[C.C_B2], c[C.C_1MB1], c[C.C_1MB2], c[C.C_ADAM_EPS]
    sklearn_adam_loop(
        theta[lo:hi], G[lo:hi], m[lo:hi], v[lo:hi], k, wd, b1, b2, omb1, omb2, eps, eta_t, decay
    )
    G[lo:hi] = zero


@njit(cache=True, nogil=True, error_model="numpy")
def sklearn_adam_loop(theta, G, m, v, k, wd, b1, b2, omb1, omb2, eps, eta_t, decay):  # type: ignore[no-untyped-def]
    """θ += Δθ of scikit-learn's Adam on 1-D arrays of one length, one loop per ``decay``.

    The constants come as scalars and the new m, v stay in locals: so written (and with NumPy's
    error model: no ZeroDivisionError check in the loop) LLVM vectorizes it, 5-8× the loop that
    reads m[p], v[p] back after storing them."""
    if decay:
        for p in range(theta.shape[0]):
            g = -G[p] / k + wd * theta[p]
            m_p = b1 * m[p] + omb1 * g
            v_p = b2 * v[p] + omb2 * g * g
            m[p], v[p] = m_p, v_p
            theta[p] = theta[p] + -eta_t * m_p / (math.sqrt(v_p) + eps)
    else:
        for p in range(theta.shape[0]):
            g = -G[p] / k
            m_p = b1 * m[p] + omb1 * g
            v_p = b2 * v[p] + omb2 * g * g
            m[p], v[p] = m_p, v_p
            theta[p] = theta[p] + -eta_t * m_p / (math.sqrt(v_p) + eps)


@njit(cache=True, nogil=True)
def train_epoch_objective(  # type: ignore[no-untyped-def]
    theta, X, Y, index, k, layout, loss_code, opt, c, betas, m, v, t, work, alpha, scale, eta
):
    """One epoch of scikit-learn's ``_fit_stochastic`` (the estimators); returns Σ reported·m.

    As :func:`.kernels.train_epoch`, with scikit-learn's objective per batch of m samples,
    taken with the weights before the batch's update: J = mean E + ½ (α/m) Σ‖W‖², so weight
    decay α/m (weights only); the reported loss (mean E)·scale + ½ (α/m) Σ‖W‖² is accumulated
    times m. Optimizers: momentum / Nesterov (η in ``c``, set by the caller each epoch) or
    ``SKLEARN_ADAM`` (η = ``eta``). Online plain SGD is momentum 0 here, as in the reference.

    Args:
        theta … work: as :func:`.kernels.train_epoch` (``C_N`` and ``C_WD`` are set here, per
            batch).
        alpha: α, the L2 penalty (float64); scale: factor of the data term in the report.
        eta: Adam's learning rate η (float64).

    Returns:
        Σ over the batches of (reported loss × m), in float64.
    """
    decay = alpha != 0.0
    sums = np.zeros(3)  # the batch's Σ E (and Σ ½‖y − o‖², unused here)
    accumulated = 0.0
    for start in range(0, len(index), k):
        stop = min(start + k, len(index))
        size = stop - start
        l2 = 0.5 * alpha / size * _sum_of_squared_weights(theta, layout) if decay else 0.0
        sums[:] = 0.0
        visit_batch(theta, X, Y, index, start, stop, layout, work, loss_code, c, False, False, sums)
        accumulated += (sums[0] / size * scale + l2) * size
        c[C.C_N] = size
        c[C.C_WD] = alpha / size
        if opt == C.SKLEARN_ADAM:
            t[0] += 1
            tt = float(t[0])
            eta_t = eta * math.sqrt(1.0 - betas[1] ** tt) / (1.0 - betas[0] ** tt)
            _apply_sklearn_adam_layers(theta, work[2], layout, decay, c, m, v, eta_t)
        else:
            apply_layers(theta, work[2], layout, decay, opt, c, m, v)
    return accumulated


@njit(cache=True, nogil=True)
def _sum_of_squared_weights(theta, layout):  # type: ignore[no-untyped-def]
    """Σ‖W‖² over the layers (biases excluded), in float64."""
    w_off, b_off = layout[1], layout[2]
    lanes = np.zeros(8)  # eight partial sums, as NumPy's pairwise sum: no chain of adds
    for l in range(len(w_off)):
        lo, hi = w_off[l], b_off[l]
        top = lo + (hi - lo) // 8 * 8
        for p in range(lo, top, 8):
            for j in range(8):
                lanes[j] += theta[p + j] * theta[p + j]
        for p in range(top, hi):
            lanes[0] += theta[p] * theta[p]
    return lanes.sum()


@njit(cache=True, nogil=True)
def _apply_sklearn_adam_layers(theta, G, layout, decay, c, m, v, eta_t):  # type: ignore[no-untyped-def]
    """scikit-learn's Adam step on every layer: weights (decayed when ``decay``), biases."""
    sizes, w_off, b_off = layout[0], layout[1], layout[2]
    for l in range(len(sizes) - 1):
        _apply_sklearn_adam(theta, G, w_off[l], b_off[l], decay, c, m, v, eta_t)
        _apply_sklearn_adam(theta, G, b_off[l], b_off[l] + sizes[l + 1], False, c, m, v, eta_t)


class ObjectiveTrainer(KernelTrainer):
    """One epoch of scikit-learn's ``_fit_stochastic`` per kernel call.

    Args:
        run: the network (trained in place: its weights are pulled before and pushed after
            each epoch), the optimizer (:class:`~retroprop.core.optimizers.Momentum`, momentum
            0 being plain SGD, or :class:`~retroprop.core.optimizers.Adam`; its state is set by
            the caller), inputs X (n, n₀), targets Y (n, n_L) and k (the last batch of an epoch
            may be smaller); its weight decay stays 0 (α below takes its place).
        alpha: α, the L2 penalty of scikit-learn's objective (divided by each batch's size).
        scale: factor of the data term in the reported loss (1 / n_outputs for squared error).
        sklearn_adam: Adam in scikit-learn's form, ηₜ = η √(1 − β₂ᵗ) / (1 − β₁ᵗ),
            Δθ = −ηₜ m / (√v + ε) (``ScikitLearnAdam``), instead of Algorithm 1.
    """

    def __init__(self, run: TrainingRun, alpha: float, scale: float, *, sklearn_adam: bool) -> None:
        super().__init__(run, generated=False)
        self.sklearn_adam = sklearn_adam
        if sklearn_adam:
            self.opt = C.SKLEARN_ADAM
        self.alpha, self.scale = float(alpha), float(scale)
        plain = self.opt in (C.MOMENTUM, C.NESTEROV) and self.c[C.C_MU] == 0
        self.online = self.k == 1 and plain and alpha == 0  # online plain SGD
        if self.online:
            self.special = self._generated()
            if self.special is not None:
                calls = {"train_tallied": self._arguments("train_tallied")}
                self._ready = self.special.ready(calls)

    def run_objective_epoch(self, index: NDArray[np.intp], learning_rate: float) -> float:
        """Train one epoch in the sample order ``index`` with learning rate η.

        Returns:
            Σ over the batches of (reported loss × batch size), with the weights before each
            batch's update: ``loss_curve_``'s entry is this divided by the number of samples.
        """
        self._pull()
        self.c[C.C_ETA], self.c[C.C_NEG_ETA] = learning_rate, -learning_rate
        index = np.ascontiguousarray(index, dtype=np.intp)
        if self.online:
            self._online_epoch(index)
            self._push()
            return float(self.out[0]) * self.scale  # α = 0: reported = E · scale, batches of 1
        epoch = train_online_objective if self.k == 1 else train_epoch_objective
        accumulated = epoch(
            self.theta, self.X, self.Y, index, self.k, self.layout, self.loss_code, self.opt,
            self.c, self.betas, self.m, self.v, self.t, self.work,
            self.alpha, self.scale, float(learning_rate),
        )  # fmt: skip
        self._push()
        return float(accumulated)

    def _online_epoch(self, index: NDArray[np.intp]) -> None:
        """Online plain SGD, the sum of the samples' E into ``out[0]``: the generated kernel
        when it is compiled, else the generic kernel's fused SGD step (the same numbers bit for
        bit; momentum 0 multiplies the velocity by 0 before using it, so neither keeps it)."""
        self.out[:] = 0.0
        args = self._arguments("train_tallied", index=index, tally=self.out)
        if not self._run_generated("train_tallied", args):
            train_epoch(
                self.theta, self.X, self.Y, index, 1, self.layout, self.loss_code, C.SGD,
                self.c, self.betas, self.m, self.v, self.t, self.work, False, self.out,
            )  # fmt: skip

    def optimizer_state(self) -> dict[str, Any]:
        """The state in the optimizer's form (scikit-learn's Adam keeps no m̂, v̂)."""
        if not self.sklearn_adam:
            return super().optimizer_state()
        m, v = self._unflatten(self.m), self._unflatten(self.v)
        return {"t": int(self.t[0]), "m": m, "v": v, "m_hat": None, "v_hat": None}
