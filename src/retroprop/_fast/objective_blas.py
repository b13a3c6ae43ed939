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
from dataclasses import replace
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from retroprop._fast import constants as K
from retroprop._fast.blas import BlasTrainer, dot_for
from retroprop._fast.objective import sklearn_adam_loop
from retroprop._fast.run import TrainingRun
from retroprop._fast.trainer import numpy_state

Array = NDArray[np.floating]

__all__ = ["BlasObjectiveTrainer"]

# The step kernels below do what :func:`.kernels.apply_step` and
# :func:`.objective._apply_sklearn_adam` do for one parameter array, in the same order of
# rounding, but with one branch-free loop per case and without clearing G (the GEMM overwrites
# it): loops the compiler vectorizes, 5-7× faster on a 784 × 256 layer, where the update was
# most of a small batch's time.


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True, error_model="numpy")
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


@njit(cache=True, nogil=True)
def column_sums(D, out):  # type: ignore[no-untyped-def]
    """out[j] ← Σᵣ D[r, j], rows added in order (as NumPy's ``D.sum(axis=0)`` on C order)."""
    for j in range(D.shape[1]):
        out[j] = 0
    for r in range(D.shape[0]):
        for j in range(D.shape[1]):
            out[j] += D[r, j]


# One call per layer and batch (instead of a sum and two steps, each a Python call): the bias
# gradient Σ δ from the layer's δ D (m, n_out), then the step of W and of b (flat views).


@njit(cache=True, nogil=True)
def momentum_layer(W, GW, mW, b, Gb, mb, D, k, wd, mu, eta, decay, nesterov):  # type: ignore[no-untyped-def]
    """:func:`momentum_step` of a layer's W (weight decay when ``decay``) and b (none)."""
    column_sums(D, Gb)
    momentum_step(W, GW, mW, k, wd, mu, eta, decay, nesterov)
    momentum_step(b, Gb, mb, k, wd, mu, eta, False, nesterov)


@njit(cache=True, nogil=True, error_model="numpy")
def sklearn_adam_layer(W, GW, mW, vW, b, Gb, mb, vb, D, k, wd, c, eta_t, decay):  # type: ignore[no-untyped-def]
    """:func:`sklearn_adam_step` of a layer's W (weight decay when ``decay``) and b (none)."""
    column_sums(D, Gb)
    sklearn_adam_step(W, GW, mW, vW, k, wd, c, eta_t, decay)
    sklearn_adam_step(b, Gb, mb, vb, k, wd, c, eta_t, False)


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
        self.dot = dot_for(self.network.dtype)
        if self.fused:  # never fuse the step into the GEMM: G = Σ δ xᵀ is needed on its own
            self.fused = False
            self.G = [np.zeros(p.shape, dtype=p.dtype) for p in self.network.params()]
        self.flat = self._flat_views()

    def _flat_views(self) -> list[tuple[Array, ...]]:
        """Per layer, 1-D views of W, G_W, m_W, v_W and b, G_b, m_b, v_b for the layer kernels
        (v is m for momentum, unused; the arrays are this trainer's for its whole life: all
        writes are in place)."""
        if not self.m:  # L-BFGS: no step
            return []
        per_param = [
            (p.ravel(), G.ravel(), m.ravel(), v.ravel())
            for p, G, m, v in zip(
                self.network.params(), self.G, self.m, self.v or self.m, strict=True
            )
        ]
        return [(*w, *b) for w, b in zip(per_param[::2], per_param[1::2], strict=True)]

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
        self.run_epoch(index, self.sums)  # one BLAS thread for small products (SMALL_GEMM)
        self._push()
        return float(self.sums[0]) * self.scale + self.l2

    def _squared_weights(self) -> float:
        """Σ‖W‖² over the layers (biases excluded), on SciPy's BLAS (see :mod:`.blas`)."""
        return sum(float(self.dot(w, w)) for w in (ly.W.ravel() for ly in self.network.layers))

    def _optimizer_step(self, x: Array, A: list[Array], D: list[Array], m: int) -> None:
        """The batch's step: G = Σ δ xᵀ by GEMM, then g = −G/m + (α/m) W and the step rule."""
        c = self.c
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
        adam, nesterov = self.opt == K.SKLEARN_ADAM, self.opt == K.NESTEROV
        for l, (W, GW, mW, vW, b, Gb, mb, vb) in enumerate(self.flat):
            a_in = x if l == 0 else A[l - 1]
            G = self.G[2 * l]
            self.gradient_product(a_in, D[l], G, first=l == 0)  # Σ δ xᵀ
            if adam:
                sklearn_adam_layer(W, GW, mW, vW, b, Gb, mb, vb, D[l], k, wd, c, eta_t, decay)
            else:
                momentum_layer(W, GW, mW, b, Gb, mb, D[l], k, wd, mu, eta, decay, nesterov)

    def value_and_grad(
        self, theta: NDArray[np.float64]
    ) -> tuple[float, float, NDArray[np.float64]]:
        """L-BFGS's J, the reported loss and ∂J/∂θ at θ (float64, ``Network.get_flat`` order)
        over the whole training set: one pass, with the weights set from θ (and pushed back).

        J = mean E + ½ (α/n) Σ‖W‖²; ∂J/∂W = −Σ δ xᵀ / n + (α/n) W, ∂J/∂b = −Σ δ / n.
        """
        with self.blas_context():
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
        self.products_ready(n)
        self._backprop(self.X, self.Y, A, D, self.sums, False)
        l2 = 0.5 * self.alpha / n * self._squared_weights()
        data = float(self.sums[0]) / n
        grad = np.empty(theta.shape, dtype=np.float64)
        start = 0
        for l, layer in enumerate(net.layers):
            a_in = self.X if l == 0 else A[l - 1]
            GW, Gb = self.G[2 * l], self.G[2 * l + 1]
            self.gradient_product(a_in, D[l], GW)
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
