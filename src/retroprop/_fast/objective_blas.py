"""scikit-learn's per-batch objective on BLAS: the estimators' wide mini-batches and L-BFGS.

:class:`~.objective.ObjectiveTrainer` runs the estimators' epochs sample by sample, which wins
for small layers and batches; once a batch is wide (batch size × Σ n_in·n_out multiply-adds),
matrix products win, and this module runs the same epochs on :class:`~.blas.BlasTrainer`'s
buffers and GEMMs. The arithmetic per batch of m samples is scikit-learn's, as the NumPy loop of
:mod:`retroprop.estimators._solvers` computes it, with the weights before the batch's update:

- J = mean E + ½ (α/m) Σ‖W‖², so weight decay α/m on the weights (not the biases);
- the reported loss (mean E)·scale + ½ (α/m) Σ‖W‖², summed times m over the epoch (the
  estimators divide by n for ``loss_curve_``);
- momentum / Nesterov (η set by the caller before each epoch) or Adam in scikit-learn's form
  (:func:`~.objective._apply_sklearn_adam`).

:meth:`BlasObjectiveTrainer.value_and_grad` is L-BFGS's J and ∂J/∂θ over the whole training
set, one forward and backward pass through the same buffers (the data are not gathered).

The estimators keep their weights as ``coefs_`` (n_in, n_out), so the core network they train
has F-ordered W; BLAS writes W in place only in C order, so the trainer trains its own
C-ordered copy, pulled from the estimator's network before and pushed back after each call.
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from functools import cache
from itertools import pairwise
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from retroprop._fast import constants as K
from retroprop._fast.blas import BlasTrainer
from retroprop._fast.objective import sklearn_adam_loop
from retroprop._fast.run import TrainingRun
from retroprop._fast.trainer import numpy_state

Array = NDArray[np.floating]

__all__ = ["BlasObjectiveTrainer"]

SMALL_GEMM = 1 << 22
"""Multiply-adds (m·n_in·n_out) of the largest product of a batch under which its epoch runs
with one BLAS thread. OpenBLAS splits a product over its threads from m·n·k = 2¹⁸ on; below
~2²² the fork and join cost more than they save, and on a loaded machine far more (a 100 × 64
· 64 × 100 product of a 100-row ``partial_fit`` took 1–20 ms with two threads on a busy
2-core machine, where one thread needs ~10 µs)."""


@cache
def _blas_controller() -> Any:
    """threadpoolctl's controller of the BLAS libraries loaded now (built once: ~15 ms)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def one_blas_thread() -> AbstractContextManager[Any]:
    """Limit every BLAS library to one thread until the block ends (~30 µs in and out)."""
    limit: AbstractContextManager[Any] = _blas_controller().limit(limits=1, user_api="blas")
    return limit


# The step kernels below do what :func:`.kernels.apply_step` and
# :func:`.objective._apply_sklearn_adam` do for one parameter array, in the same order of
# rounding, but with one branch-free loop per case and without clearing G (the GEMM overwrites
# it): loops the compiler vectorizes, 5-7× faster on a 784 × 256 layer, where the update was
# most of a small batch's time.


@njit(cache=True)
def momentum_step(theta, G, m, k, wd, mu, eta, decay, nesterov):  # type: ignore[no-untyped-def]
    """θ += Δθ of ``optimizers.Momentum``: g = −G/k (+ wd·θ), v ← μv − ηg, Δθ = v (Nesterov:
    μv − ηg). All arrays 1-D of one length; the scalars in their dtype."""
    if decay:
        for p in range(theta.shape[0]):
            g = -G[p] / k + wd * theta[p]
            v = mu * m[p] - eta * g
            m[p] = v
            theta[p] = theta[p] + (mu * v - eta * g if nesterov else v)
    else:
        for p in range(theta.shape[0]):
            g = -G[p] / k
            v = mu * m[p] - eta * g
            m[p] = v
            theta[p] = theta[p] + (mu * v - eta * g if nesterov else v)


@njit(cache=True, error_model="numpy")
def sklearn_adam_step(theta, G, m, v, k, wd, c, eta_t, decay):  # type: ignore[no-untyped-def]
    """θ += Δθ of ``optimizers.ScikitLearnAdam``: g = −G/k (+ wd·θ), m, v as Adam,
    Δθ = −ηₜ m / (√v + ε) with ηₜ a float64 (as :func:`.objective._apply_sklearn_adam`).

    The constants are passed on as scalars and the new m, v kept in locals: so written (and
    with NumPy's error model: no ZeroDivisionError check in the loop) LLVM vectorizes it, ~8×
    the loop that reads m[p], v[p] back after storing them."""
    b1, b2, omb1, omb2, eps = c[K.C_B1], c[K.C_B2], c[K.C_1MB1], c[K.C_1MB2], c[K.C_ADAM_EPS]
    sklearn_adam_loop(
        theta, G, m, v, k, wd if decay else wd * 0, b1, b2, omb1, omb2, eps, eta_t, decay
    )


class BlasObjectiveTrainer(BlasTrainer):
    """One epoch of scikit-learn's ``_fit_stochastic`` on BLAS per call, or L-BFGS's objective.

    Args:
        run: the estimator's network (F-ordered views of ``coefs_`` are fine: a C-ordered copy
            is trained and the results written back), the optimizer (``Momentum``, momentum 0
            being plain SGD, or ``Adam``; for L-BFGS any, it is not used), X (n, n₀), Y (n, n_L)
            and k; its weight decay stays 0 (α below takes its place).
        alpha: α, the L2 penalty of scikit-learn's objective (divided by each batch's size).
        scale: factor of the data term in the reported loss (1 / n_outputs for squared error).
        sklearn_adam: Adam in scikit-learn's form (``ScikitLearnAdam``), as
            :class:`~.objective.ObjectiveTrainer`.
    """

    def __init__(self, run: TrainingRun, alpha: float, scale: float, *, sklearn_adam: bool) -> None:
        self.target = run.network
        super().__init__(replace(run, network=run.network.copy()))  # copy(): C-ordered W
        self.sklearn_adam = sklearn_adam
        if sklearn_adam:
            self.opt = K.SKLEARN_ADAM
        self.alpha, self.scale = float(alpha), float(scale)
        self.eta = float(run.optimizer.learning_rate)  # η of the epoch (set by each call)
        self.l2 = 0.0  # Σ over the epoch's batches of ½ (α/m) Σ‖W‖² · m
        self.sums = np.zeros(3)
        sizes = self.network.sizes
        self.small = max(self.k * a * b for a, b in pairwise(sizes)) < SMALL_GEMM
        if self.fused:  # never fuse the step into the GEMM: G = Σ δ xᵀ is needed on its own
            self.fused = False
            self.G = [np.zeros(p.shape, dtype=p.dtype) for p in self.network.params()]

    def reuse(self, X: Array, Y: Array) -> None:
        """Train on new data X, Y (same widths) from now on, keeping buffers and state."""
        dtype = self.network.dtype
        self.X = np.ascontiguousarray(X, dtype=dtype)
        self.Y = np.ascontiguousarray(Y, dtype=dtype)

    def _pull(self) -> None:
        for own, theirs in zip(self.network.params(), self.target.params(), strict=True):
            own[...] = theirs

    def _push(self) -> None:
        for own, theirs in zip(self.network.params(), self.target.params(), strict=True):
            theirs[...] = own

    def run_objective_epoch(self, index: NDArray[np.intp], learning_rate: float) -> float:
        """As :meth:`.objective.ObjectiveTrainer.run_objective_epoch`: one epoch in the sample
        order ``index`` at learning rate η; returns Σ over the batches of reported loss × m."""
        self._pull()
        self.c[K.C_ETA], self.c[K.C_NEG_ETA] = learning_rate, -learning_rate
        self.eta = float(learning_rate)
        self.sums[:] = 0.0
        self.l2 = 0.0
        with one_blas_thread() if self.small else nullcontext():  # see SMALL_GEMM
            self.run_epoch(index, self.sums)
        self._push()
        return float(self.sums[0]) * self.scale + self.l2

    def _squared_weights(self) -> float:
        """Σ‖W‖² over the layers (biases excluded)."""
        return sum(float(np.dot(w, w)) for w in (ly.W.ravel() for ly in self.network.layers))

    def _optimizer_step(self, x: Array, A: list[Array], D: list[Array], m: int) -> None:
        """The batch's step: G = Σ δ xᵀ by GEMM, then g = −G/m + (α/m) W and the step rule."""
        c, gemm = self.c, self.gemm
        c[K.C_N], c[K.C_WD] = m, self.alpha / m
        k, wd, mu, eta = c[K.C_N], c[K.C_WD], c[K.C_MU], c[K.C_ETA]  # scalars in the dtype
        decay = self.alpha != 0.0
        if decay:  # ½ (α/m) Σ‖W‖² of this batch, times m
            self.l2 += 0.5 * self.alpha * self._squared_weights()
        eta_t = 0.0
        if self.opt == K.SKLEARN_ADAM:
            self.t += 1
            b1, b2 = (float(b) for b in self.betas)
            eta_t = self.eta * math.sqrt(1.0 - b2**self.t) / (1.0 - b1**self.t)
        for l, layer in enumerate(self.network.layers):
            a_in = x if l == 0 else A[l - 1]
            GW, Gb = self.G[2 * l], self.G[2 * l + 1]
            gemm(1.0, a_in.T, D[l].T, beta=0.0, c=GW.T, trans_b=1, overwrite_c=1)  # Σ δ xᵀ
            D[l].sum(axis=0, out=Gb)
            for p, G, i, dec in ((layer.W, GW, 2 * l, decay), (layer.b, Gb, 2 * l + 1, False)):
                theta, g, m_i = p.ravel(), G.ravel(), self.m[i].ravel()
                if self.opt == K.SKLEARN_ADAM:
                    sklearn_adam_step(theta, g, m_i, self.v[i].ravel(), k, wd, c, eta_t, dec)
                else:
                    momentum_step(theta, g, m_i, k, wd, mu, eta, dec, self.opt == K.NESTEROV)

    def value_and_grad(
        self, theta: NDArray[np.float64]
    ) -> tuple[float, float, NDArray[np.float64]]:
        """L-BFGS's J, the reported loss and ∂J/∂θ at θ (float64, ``Network.get_flat`` order)
        over the whole training set: one pass, with the weights set from θ (and pushed back).

        J = mean E + ½ (α/n) Σ‖W‖²; ∂J/∂W = −Σ δ xᵀ / n + (α/n) W, ∂J/∂b = −Σ δ / n.
        """
        with one_blas_thread() if self.small else nullcontext():  # see SMALL_GEMM
            return self._value_and_grad(theta)

    def _value_and_grad(
        self, theta: NDArray[np.float64]
    ) -> tuple[float, float, NDArray[np.float64]]:
        """:meth:`value_and_grad`'s pass."""
        net, n = self.network, len(self.X)
        net.set_flat(theta.astype(net.dtype, copy=False))
        A = [a[:n] for a in self.A]
        D = [d[:n] for d in self.D]
        self.sums[:] = 0.0
        self._backprop(self.X, self.Y, A, D, self.sums, False)
        l2 = 0.5 * self.alpha / n * self._squared_weights()
        data = float(self.sums[0]) / n
        grad = np.empty(theta.shape, dtype=np.float64)
        start = 0
        for l, layer in enumerate(net.layers):
            a_in = self.X if l == 0 else A[l - 1]
            GW, Gb = self.G[2 * l], self.G[2 * l + 1]
            self.gemm(1.0, a_in.T, D[l].T, beta=0.0, c=GW.T, trans_b=1, overwrite_c=1)
            D[l].sum(axis=0, out=Gb)
            np.divide(GW, -n, out=GW)  # in the network's dtype, as Network.backward
            if self.alpha:
                GW += (self.alpha / n) * layer.W
            np.divide(Gb, -n, out=Gb)
            for g in (GW, Gb):
                grad[start : start + g.size] = g.ravel()
                start += g.size
        self._push()
        return data + l2, data * self.scale + l2, grad

    def optimizer_state(self) -> dict[str, Any]:
        """The state in the optimizer's form (scikit-learn's Adam keeps no m̂, v̂)."""
        m, v = [a.copy() for a in self.m], [a.copy() for a in self.v]
        if self.sklearn_adam:
            return {"t": self.t, "m": m, "v": v, "m_hat": None, "v_hat": None}
        return numpy_state(self.opt, m, v, self.t, self.betas)

    def set_optimizer_state(self, state: dict[str, Any]) -> None:
        """Resume from a state made by the NumPy loop or by :meth:`optimizer_state`."""
        if self.opt == K.SKLEARN_ADAM:
            for dst, src in zip(self.m + self.v, state["m"] + state["v"], strict=True):
                dst[...] = src
            self.t = int(state["t"])
        else:
            super().set_optimizer_state(state)
