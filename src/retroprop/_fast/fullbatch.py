"""Full-batch training at compiled speed: one kernel call per epoch, and no extra pass for the
epoch's error.

A full-batch epoch is one step from the gradient of the whole training set. The kernel of an
epoch takes the step from the gradient sums G of the pass at the current weights, then makes the
pass at the new weights (:func:`gradient_pass`: every sample forward and backward, summing
G = Σ δ xᵀ and the error sums [Σ E, Σ ½‖y − o‖², number right]). That pass is the next
epoch's gradient *and* the error of the epoch's final weights, so ``fit``'s default training
error (``train_error="final"``, the lecture's MSE of the final weights) costs nothing extra;
the running error (of the weights before the step) is the previous pass's. One more pass at
the start of the run, and again only if a callback changed the weights between epochs.

The step rules mirror :mod:`retroprop.core.optimizers` operation for operation, on θ's flat
layout (:mod:`.kernels`): SGD, momentum and Adam through :func:`.kernels.apply_layers`; the
Rprop family, Quickprop and SARPROP here (:func:`rprop_step`, :func:`quickprop_step`,
:func:`sarprop_step`) on the mean gradient g = −G/n (+ λw on the weights), as
``Network.backward`` gives it. SARPROP's noise U is drawn on the host by the optimizer's own
:meth:`~retroprop.core.optimizers.Sarprop.noise`, so both engines use the same numbers.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from retroprop._fast import codegen, codegen_batch
from retroprop._fast import constants as K
from retroprop._fast.kernels import apply_layers, visit_batch
from retroprop._fast.run import Order, Tally, TrainingRun
from retroprop._fast.trainer import KernelTrainer
from retroprop.core.metrics import logs_from_sums
from retroprop.core.network import Network
from retroprop.core.optimizers import SGD, Quickprop, Rprop, Sarprop

Array = NDArray[np.floating]

__all__ = ["RULES", "FullBatchTrainer", "rule_code"]

RULES = (Rprop, Quickprop, Sarprop)
"""The full-batch step rules this module compiles (besides SGD, momentum and Adam)."""


def rule_code(optimizer: object) -> int | None:
    """The :data:`~.constants.RULE_CODES` code of a full-batch rule (None for other types)."""
    if isinstance(optimizer, RULES) and type(optimizer) in RULES:
        return K.RULE_CODES[optimizer.name]
    return None


# -- kernels ---------------------------------------------------------------------------------
@njit(cache=True)
def gradient_pass(theta, X, Y, index, layout, work, loss_code, c, classify, sums):  # type: ignore[no-untyped-def]
    """G ← Σ δ xᵀ over the samples X[index] (in θ's layout), sums ← [Σ E, Σ ½‖y − o‖², right]."""
    G = work[2]
    for p in range(len(G)):
        G[p] = c[K.C_ZERO]
    sums[:] = 0.0
    visit_batch(
        theta, X, Y, index, 0, len(index), layout, work, loss_code, c, False, classify, sums
    )


@njit(cache=True)
def mean_gradient(theta, G, g, layout, c):  # type: ignore[no-untyped-def]
    """g = −G/n + λw on weights, −G/n on biases (``Network.backward``'s ∂J/∂θ); G ← 0."""
    sizes, w_off, b_off = layout[0], layout[1], layout[2]
    n, wd, zero = c[K.C_N], c[K.C_WD], c[K.C_ZERO]
    for l in range(len(sizes) - 1):
        for p in range(w_off[l], b_off[l]):
            g[p] = -G[p] / n + wd * theta[p] if wd != zero else -G[p] / n
            G[p] = zero
        for p in range(b_off[l], b_off[l] + sizes[l + 1]):
            g[p] = -G[p] / n
            G[p] = zero


@njit(cache=True)
def rprop_step(theta, g, step, g_old, last, code, h, went_up):  # type: ignore[no-untyped-def]
    """``Rprop.update`` of every variant, then θ += Δθ (step sizes, g_old, Δθ in place)."""
    eta_plus, eta_minus = h[K.H_ETA_PLUS], h[K.H_ETA_MINUS]
    delta_max, delta_min, zero = h[K.H_DELTA_MAX], h[K.H_DELTA_MIN], h[K.H_ETA_PLUS] * 0
    for p in range(len(theta)):
        gp = g[p]
        s = g_old[p] * gp
        st = step[p]
        if s > zero:
            st = min(st * eta_plus, delta_max)
        elif s < zero:
            st = max(st * eta_minus, delta_min)
        dw = -st if gp > zero else (st if gp < zero else -(gp * st))  # −sign(g)·Δ
        if s < zero:
            if code == K.RPROP_PLUS or (code == K.IRPROP_PLUS and went_up):
                dw = -last[p]
            elif code != K.RPROP_MINUS:
                dw = zero
            g_old[p] = gp if code == K.RPROP_MINUS else zero
        else:
            g_old[p] = gp
        step[p] = st
        last[p] = dw
        theta[p] = theta[p] + dw


@njit(cache=True, error_model="numpy")
def quickprop_step(theta, g, slope_old, last, h):  # type: ignore[no-untyped-def]
    """``Quickprop.update`` (FANN's quickprop), then θ += Δθ clipped at ±limit."""
    eta, mu, shrink = h[K.H_ETA], h[K.H_MU], h[K.H_SHRINK]
    decay, limit, small = h[K.H_DECAY], h[K.H_LIMIT], h[K.H_SMALL]
    zero = eta * 0
    for p in range(len(theta)):
        w = theta[p]
        s = -g[p] + decay * w
        dw_old, s_old = last[p], slope_old[p]
        up, down = dw_old > small, dw_old < -small
        linear = zero
        if (up and s > zero) or (down and s < zero) or not (up or down):
            linear = eta * s
        secant = zero
        if (up and s > shrink * s_old) or (down and s < shrink * s_old):
            secant = mu * dw_old
        elif up or down:
            secant = dw_old * s / (s_old - s)
        dw = linear + secant
        slope_old[p] = s
        last[p] = dw
        w_new = w + dw
        if w_new > limit:
            theta[p] = w + (limit - w)
        elif w_new < -limit:
            theta[p] = w + (-limit - w)
        else:
            theta[p] = w_new


@njit(cache=True)
def sarprop_step(theta, g, step, g_old, U, h, noise):  # type: ignore[no-untyped-def]
    """``Sarprop.update`` with this epoch's decay/n and threshold in ``h``, noise scale
    ``noise`` (float64) and uniform draws U (θ's layout), then θ += Δθ."""
    eta_plus, eta_minus = h[K.H_ETA_PLUS], h[K.H_ETA_MINUS]
    delta_max, delta_min = h[K.H_DELTA_MAX], h[K.H_DELTA_MIN]
    decay, threshold, zero = h[K.H_DECAY], h[K.H_THRESHOLD], h[K.H_ETA_PLUS] * 0
    for p in range(len(theta)):
        s = g[p] + decay * theta[p]
        prev = max(step[p], delta_min)
        same = g_old[p] * s
        if same > zero:
            step[p] = min(prev * eta_plus, delta_max)
        elif same < zero:
            if prev < threshold:
                step[p] = prev * eta_minus + U[p] * noise
            else:
                step[p] = max(prev * eta_minus, delta_min)
        else:
            step[p] = prev
        if same < zero:
            g_old[p] = zero
        else:
            g_old[p] = s
            theta[p] = theta[p] + (step[p] if s < zero else -step[p])


@njit(cache=True)
def full_batch_step(theta, layout, work, opt, c, betas, t, state, g, U, h, hd, n):  # type: ignore[no-untyped-def]
    """The step of rule ``opt`` from the gradient sums G (work[2]) of n samples; G ← 0.

    Args:
        theta, layout, work, c, betas, t: as :func:`.kernels.train_epoch`.
        opt: optimizer code (SGD … Adam, or a full-batch rule of :data:`.constants.RULE_CODES`).
        state: three arrays in θ's layout: (velocity or m, –, v) for SGD … Adam; (Δ, g_old, Δθ)
            for Rprop; (s′, –, Δw′) for Quickprop; (Δ, g_old, –) for SARPROP.
        g, U: buffers in θ's layout: the mean gradient, SARPROP's uniform draws.
        h, hd: the rules' settings (:data:`.constants.N_HYPER` slots, θ's dtype) and float64
            [iRprop⁺: error went up (1/0); SARPROP: noise scale].
    """
    G = work[2]
    c[K.C_N] = n
    if opt <= K.ADAM:
        if opt == K.ADAM:
            t[0] += 1
            c[K.C_BC1] = 1.0 - betas[0] ** float(t[0])
            c[K.C_BC2] = 1.0 - betas[1] ** float(t[0])
        apply_layers(theta, G, layout, c[K.C_WD] != c[K.C_ZERO], opt, c, state[0], state[2])
    else:
        mean_gradient(theta, G, g, layout, c)
        if opt == K.QUICKPROP:
            quickprop_step(theta, g, state[0], state[2], h)
        elif opt == K.SARPROP:
            sarprop_step(theta, g, state[0], state[1], U, h, hd[1])
        else:
            rprop_step(theta, g, state[0], state[1], state[2], opt, h, hd[0] != 0.0)


@njit(cache=True)
def full_batch_epoch(  # type: ignore[no-untyped-def]
    theta,
    X,
    Y,
    index,
    layout,
    work,
    loss_code,
    opt,
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
):
    """One epoch on the generic kernels: :func:`full_batch_step`, then :func:`gradient_pass`
    at the new θ (``classify``, ``sums``: as ``tally`` of :func:`.kernels.train_epoch`)."""
    full_batch_step(theta, layout, work, opt, c, betas, t, state, g, U, h, hd, len(index))
    gradient_pass(theta, X, Y, index, layout, work, loss_code, c, classify, sums)


# -- host side -------------------------------------------------------------------------------
class FullBatchTrainer(KernelTrainer):
    """Full-batch epochs (batch = the whole training set) in one kernel call each.

    Keeps the gradient sums G and the error sums of the pass at the current θ between epochs
    (module docstring); ``epoch_logs`` on the training set answers from them.
    """

    def __init__(self, run: TrainingRun) -> None:
        code = rule_code(run.optimizer)
        # the kernels' scalar slots know SGD … Adam; a rule's own settings go to ``h``
        base = run if code is None else replace(run, optimizer=SGD(run.optimizer.learning_rate))
        super().__init__(base, generated=False)
        self.rule = run.optimizer
        self.given = run.given
        n_params, dtype = self.theta.size, self.network.dtype
        self.last = np.zeros(n_params, dtype=dtype)
        self.g = np.zeros(n_params, dtype=dtype)
        self.U = np.zeros(n_params if isinstance(self.rule, Sarprop) else 0)
        self.h = np.zeros(K.N_HYPER, dtype=dtype)
        self.hd = np.zeros(2)
        self.error_old = np.inf
        self.sarprop_epoch = 0
        if code is not None:
            self.opt = code
            self._settings()
        self.sums = np.zeros(3)
        self.theta_G = np.full(n_params, np.nan, dtype=dtype)  # θ of the pass G was made at
        self.generated = self._generated_batch()
        self.classify = False
        self.fresh = False  # sums are the logs of the network's current weights

    def _generated_batch(self) -> tuple[Any, tuple[Any, Any, Any], list[Array]] | None:
        """The pass generated for this architecture, X as sparse rows, and the views of G
        (GWₗ, GBₗ in θ's layout); None where the generic kernels serve (wide outputs, or no
        writable cache)."""
        sizes = self.network.sizes
        if not codegen.applies(sizes):
            return None
        try:
            kernel = codegen_batch.load_gradient(sizes, self.acts.tolist(), self.loss_code)
        except OSError:
            return None
        G, views = self.work[2], []
        for l, layer in enumerate(self.network.layers):
            w, b = int(self.w_off[l]), int(self.b_off[l])
            views += [G[w:b].reshape(layer.n_in, layer.n_out), G[b : b + layer.n_out]]
        return kernel, codegen.sparse_rows(self.X), views

    def _views(self) -> list[tuple[Array, Array, Array, Array]]:
        """(W, b, Wᵀ in θ, b in θ) per layer, made once while the layers keep their arrays
        (this runs twice per epoch: building views is a good part of a small epoch's time)."""
        key = [(ly.W, ly.b) for ly in self.network.layers]
        cached = getattr(self, "_cached_views", None)
        if cached is None or any(
            a is not W or b is not B for (a, b), (W, B, _, _) in zip(key, cached, strict=True)
        ):
            self._cached_views = super()._views()
        return self._cached_views

    def _settings(self) -> None:
        """The rule's settings in ``h``; Rprop's and SARPROP's step sizes start at Δ₀."""
        r, h = self.rule, self.h
        if isinstance(r, (Rprop, Sarprop)):
            h[K.H_ETA_PLUS], h[K.H_ETA_MINUS] = r.eta_plus, r.eta_minus
            h[K.H_DELTA_MAX], h[K.H_DELTA_MIN] = r.delta_max, r.delta_min
            self.m[:] = r.learning_rate
        if isinstance(r, Quickprop):
            h[K.H_ETA], h[K.H_MU], h[K.H_SHRINK] = r.learning_rate, r.mu, r.mu / (1.0 + r.mu)
            h[K.H_DECAY] = r.decay / len(self.X)
            h[K.H_LIMIT], h[K.H_SMALL] = r.weight_limit, 0.001

    def _objective(self) -> float:
        """J at the weights of the last pass: mean E + (λ/2) Σ‖W‖², as ``train_step``'s loss."""
        J = float(self.sums[0] / len(self.X))
        if self.weight_decay:
            J += 0.5 * self.weight_decay * sum(float(np.sum(ly.W**2)) for ly in self.network.layers)
        return J

    def _epoch_scalars(self) -> None:
        """iRprop⁺'s "error went up" and SARPROP's annealed settings, from J before the step
        (the same Python arithmetic as the optimizers' ``update``)."""
        r = self.rule
        if isinstance(r, Rprop):
            J = self._objective()
            self.hd[0] = J > self.error_old
            self.error_old = J
        elif isinstance(r, Sarprop):
            t, n = self.sarprop_epoch, len(self.X)
            mse = 2.0 * self._objective() / self.network.sizes[-1]
            self.h[K.H_DECAY] = 2.0 ** (-r.temperature * t + r.weight_decay_shift) / n
            self.hd[1] = np.sqrt(mse) * 2.0 ** (-r.temperature * t + r.step_error_shift)
            self.h[K.H_THRESHOLD] = r.step_error_threshold_factor * mse
            self._flatten(r.noise(self.network.params(), t), self.U)
            self.sarprop_epoch = t + 1

    def run_epoch(self, index: Order, tally: Tally | None = None, classify: bool = False) -> int:
        """One full-batch step; ``tally`` gets the error of the weights before it."""
        self._pull()
        if self.classify != classify or not np.array_equal(self.theta, self.theta_G):
            self.classify = classify  # first epoch, or a callback changed the weights
            self._pass(index)
        if tally is not None:
            tally += self.sums
        self._epoch_scalars()
        state = (self.m, self.v, self.last if self.opt > K.ADAM else self.v)
        if self.generated is None:
            full_batch_epoch(
                self.theta, self.X, self.Y, index, self.layout, self.work, self.loss_code,
                self.opt, self.c, self.betas, self.t, state, self.g, self.U, self.h, self.hd,
                classify, self.sums,
            )  # fmt: skip
        else:
            full_batch_step(
                self.theta, self.layout, self.work, self.opt, self.c, self.betas, self.t, state,
                self.g, self.U, self.h, self.hd, len(index),
            )  # fmt: skip
            self._generated_pass(index)
        self.theta_G[:] = self.theta
        self._push()
        self.fresh = True
        return 1

    def _pass(self, index: Order) -> None:
        """The pass at the current θ (G and the error sums), outside an epoch's step."""
        if self.generated is None:
            gradient_pass(
                self.theta, self.X, self.Y, index, self.layout, self.work, self.loss_code,
                self.c, self.classify, self.sums,
            )  # fmt: skip
        else:
            self.work[2][:] = 0.0
            self._generated_pass(index)
        self.theta_G[:] = self.theta

    def _generated_pass(self, index: Order) -> None:
        """The generated pass (G is zero on entry: the step clears it)."""
        assert self.generated is not None
        kernel, csr, views = self.generated
        kernel(*csr, self.Y, index, self.c, self.classify, self.sums, *self.params, *views)

    def epoch_logs(
        self, network: Network, X: Array, Y: Array, prefix: str, classify: bool
    ) -> dict[str, float]:
        """The logs of (X, Y); of the training set right after a step, from that step's pass."""
        training = (X is self.X or X is self.given[0]) and (Y is self.Y or Y is self.given[1])
        if self.fresh and training and classify == self.classify:
            self.fresh = False
            return logs_from_sums(self.sums, len(X), prefix, classify)
        return super().epoch_logs(network, X, Y, prefix, classify)

    def optimizer_state(self) -> dict[str, Any]:
        """The state in the form of the optimizer's ``init``/``update`` (copies)."""
        r = self.rule
        if isinstance(r, Rprop):
            return {
                "step_size": self._unflatten(self.m),
                "grad_old": self._unflatten(self.v),
                "last_update": self._unflatten(self.last),
                "error_old": self.error_old,
            }
        if isinstance(r, Quickprop):
            return {"slope_old": self._unflatten(self.m), "last_update": self._unflatten(self.last)}
        if isinstance(r, Sarprop):
            return {
                "step_size": self._unflatten(self.m),
                "grad_old": self._unflatten(self.v),
                "epoch": self.sarprop_epoch,
            }
        return super().optimizer_state()

    def set_optimizer_state(self, state: dict[str, Any]) -> None:
        """Resume from a state made by the NumPy loop or by :meth:`optimizer_state`."""
        r = self.rule
        if isinstance(r, Quickprop):
            self._flatten(state["slope_old"], self.m)
            self._flatten(state["last_update"], self.last)
        elif isinstance(r, (Rprop, Sarprop)):
            self._flatten(state["step_size"], self.m)
            self._flatten(state["grad_old"], self.v)
            if isinstance(r, Rprop):
                self._flatten(state["last_update"], self.last)
                self.error_old = float(state["error_old"])
            else:
                self.sarprop_epoch = int(state["epoch"])
        else:
            super().set_optimizer_state(state)
