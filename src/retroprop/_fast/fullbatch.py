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
Rprop family, Quickprop and SARPROP here (:func:`rprop_step`, :func:`fann_rprop_step`,
:func:`quickprop_step`, :func:`sarprop_step`) on the mean gradient g = −G/n (+ λw on the
weights), as ``Network.backward`` gives it. SARPROP's noise U is drawn on the host by the
optimizer's own :meth:`~retroprop.core.optimizers.Sarprop.noise`, so both engines use the same
numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from retroprop.core.optimizers import FANN_STEP_FLOOR, SGD, Quickprop, Rprop, Sarprop

Array = NDArray[np.floating]

__all__ = ["RULES", "FullBatchTrainer", "rule_code"]

_Batch = tuple[codegen.Generated, tuple[Any, Any, Any], list[Array]]
"""The generated pass, X as sparse rows, and the views of G it adds to."""

RULES = (Rprop, Quickprop, Sarprop)
"""The full-batch step rules this module compiles (besides SGD, momentum and Adam)."""


def rule_code(optimizer: object) -> int | None:
    """The :data:`~.constants.RULE_CODES` code of a full-batch rule (None for other types)."""
    if isinstance(optimizer, RULES) and type(optimizer) in RULES:
        return K.RULE_CODES[optimizer.name]
    return None


# -- kernels ---------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def gradient_pass(theta, X, Y, index, layout, work, loss_code, c, classify, sums):  # type: ignore[no-untyped-def]
    """G ← Σ δ xᵀ over the samples X[index] (in θ's layout), sums ← [Σ E, Σ ½‖y − o‖², right]."""
    G = work[2]
    for p in range(len(G)):
        G[p] = c[K.C_ZERO]
    sums[:] = 0.0
    visit_batch(
        theta, X, Y, index, 0, len(index), layout, work, loss_code, c, False, classify, sums
    )


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def fann_rprop_step(theta, g, step, g_old, last, h):  # type: ignore[no-untyped-def]
    """``Rprop.update`` of ``"irprop-fann"`` (FANN's iRprop⁻), then θ += Δθ (in place)."""
    eta_plus, eta_minus = h[K.H_ETA_PLUS], h[K.H_ETA_MINUS]
    delta_max, delta_min, floor = h[K.H_DELTA_MAX], h[K.H_DELTA_MIN], h[K.H_FLOOR]
    zero = eta_plus * 0
    for p in range(len(theta)):
        gp = g[p]
        prev = max(step[p], floor)
        if g_old[p] * gp < zero:
            st = max(prev * eta_minus, delta_min)
            gp = zero
        else:
            st = min(prev * eta_plus, delta_max)
        dw = -st if gp > zero else st
        g_old[p] = gp
        step[p] = st
        last[p] = dw
        theta[p] = theta[p] + dw


@njit(cache=True, nogil=True, error_model="numpy")
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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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
        elif opt == K.IRPROP_FANN:
            fann_rprop_step(theta, g, state[0], state[1], state[2], h)
        else:
            rprop_step(theta, g, state[0], state[1], state[2], opt, h, hd[0] != 0.0)


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def pull_weights(theta, theta_G, sizes, w_off, b_off, *arrays):  # type: ignore[no-untyped-def]
    """θ ← the network's weights ``arrays`` = (W₁, b₁, W₂, b₂, …), each raveled (Wₗ row-major,
    (n_out, n_in)); True when θ now differs from θ_G, the weights of the last pass (a NaN counts
    as a difference, as in ``array_equal``)."""
    for l in range(len(sizes) - 1):
        W, b, w, o = arrays[2 * l], arrays[2 * l + 1], w_off[l], b_off[l]
        n_in, n_out = sizes[l], sizes[l + 1]
        for i in range(n_in):
            for j in range(n_out):
                theta[w + i * n_out + j] = W[j * n_in + i]
        for j in range(n_out):
            theta[o + j] = b[j]
    for p in range(len(theta)):
        if not theta[p] == theta_G[p]:
            return True
    return False


@njit(cache=True, nogil=True)
def push_weights(theta, theta_G, sizes, w_off, b_off, *arrays):  # type: ignore[no-untyped-def]
    """The network's weights ``arrays`` (as :func:`pull_weights`) ← θ, and θ_G ← θ (the pass
    just made is at these weights)."""
    for l in range(len(sizes) - 1):
        W, b, w, o = arrays[2 * l], arrays[2 * l + 1], w_off[l], b_off[l]
        n_in, n_out = sizes[l], sizes[l + 1]
        for j in range(n_out):
            for i in range(n_in):
                W[j * n_in + i] = theta[w + i * n_out + j]
        for j in range(n_out):
            b[j] = theta[o + j]
    theta_G[:] = theta


# -- host side -------------------------------------------------------------------------------
class FullBatchTrainer(KernelTrainer):
    """Full-batch epochs (batch = the whole training set) in one kernel call each.

    Keeps the gradient sums G and the error sums of the pass at the current θ between epochs
    (module docstring); ``epoch_logs`` on the training set answers from them.
    """

    def __init__(self, run: TrainingRun, *, generated: bool = True) -> None:
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
        self.hd = np.zeros(3)  # [iRprop⁺'s error went up, SARPROP's noise, J_old in chunks]
        self.error_old = np.inf
        self.sarprop_epoch = 0
        if code is not None:
            self.opt = code
            self._settings()
        self.sums = np.zeros(3)
        self.theta_G = np.full(n_params, np.nan, dtype=dtype)  # θ of the pass G was made at
        self.theta_prev = np.zeros(n_params, dtype=dtype)  # θ before a chunk's last epoch
        # several epochs per call (run_epochs): not SARPROP (host noise), nor the Rprop family
        # with weight decay (its J sums the L2 term with NumPy)
        rprop = isinstance(self.rule, Rprop)
        self.chunkable = not isinstance(self.rule, Sarprop) and not (rprop and self.weight_decay)
        self.flags = np.array([self.opt, 0, int(rprop), 0])  # as batch_chunks' kernels take
        self.classify = False
        self.fresh = False  # sums are the logs of the network's current weights
        self._order = np.arange(len(self.X))  # the solvers' sample order: as given
        # the pass generated for this architecture once a worker has compiled it (or numba's
        # cache had it); the generic pass meanwhile, with the same bits
        self.generated = self._generated_batch() if generated else None
        self._batch_ready: set[str] = set()
        if self.generated is not None:
            orders, log = np.zeros((1, 0), dtype=np.intp), np.zeros((1, 3))
            self._batch_ready = self.generated[0].ready({
                "gradient": self._pass_arguments(None),
                "epochs": self._epochs_arguments(orders, log),
            })  # fmt: skip

    def _generated_batch(self) -> _Batch | None:
        """The pass generated for this architecture (:mod:`.codegen_batch`, not compiled here),
        X as sparse rows, and the views of G (GWₗ, GBₗ in θ's layout); None where the generic
        kernels serve (wide outputs, or no writable cache)."""
        sizes = self.network.sizes
        if not codegen.applies(sizes):
            return None
        try:
            kernels = codegen_batch.load(sizes, self.acts.tolist(), self.loss_code)
        except OSError:
            return None
        G, views = self.work[2], []
        for l, layer in enumerate(self.network.layers):
            w, b = int(self.w_off[l]), int(self.b_off[l])
            views += [G[w:b].reshape(layer.n_in, layer.n_out), G[b : b + layer.n_out]]
        return kernels, codegen.sparse_rows(self.X), views

    def _views(self) -> list[tuple[Array, Array, Array, Array]]:
        """(W, b, Wᵀ in θ, b in θ) per layer, made once while the layers keep their arrays."""
        cached = getattr(self, "_cached_views", None)
        if cached is None or not self._same_arrays([(W, b) for W, b, _, _ in cached]):
            self._cached_views = super()._views()
        return self._cached_views

    def _same_arrays(self, arrays: Sequence[tuple[Array, Array]]) -> bool:
        """Whether the layers still hold the arrays (W, b) of ``arrays``."""
        for layer, (W, b) in zip(self.network.layers, arrays, strict=True):
            if layer.W is not W or layer.b is not b:
                return False
        return True

    def _weight_arrays(self) -> tuple[Array, ...] | None:
        """(W₁, b₁, W₂, b₂, …) of the layers, raveled (views), for :func:`pull_weights` and
        :func:`push_weights`; made once while the layers keep their arrays. None when they are
        not all C-ordered, writable arrays of θ's dtype (then NumPy copies them)."""
        held, flat = getattr(self, "_arrays", ((), None))
        if held and self._same_arrays(held):
            return flat
        held = [(ly.W, ly.b) for ly in self.network.layers]
        arrays = [a for pair in held for a in pair]
        usable = all(
            a.dtype == self.theta.dtype and a.flags.c_contiguous and a.flags.writeable
            for a in arrays
        )
        flat = tuple(a.ravel() for a in arrays) if usable else None
        self._arrays = (held, flat)
        return flat

    def _sync_in(self) -> bool:
        """θ ← the network's weights (a callback may have changed them between epochs); True
        when they differ from those of the last pass."""
        arrays = self._weight_arrays()
        if arrays is None:
            self._pull()
            return not np.array_equal(self.theta, self.theta_G)
        return bool(
            pull_weights(self.theta, self.theta_G, self.sizes, self.w_off, self.b_off, *arrays)
        )

    def _sync_out(self) -> None:
        """The network's weights ← θ, and θ_G ← θ."""
        arrays = self._weight_arrays()
        if arrays is None:
            self.theta_G[:] = self.theta
            self._push()
        else:
            push_weights(self.theta, self.theta_G, self.sizes, self.w_off, self.b_off, *arrays)

    def _settings(self) -> None:
        """The rule's settings in ``h``; Rprop's and SARPROP's step sizes start at Δ₀."""
        r, h = self.rule, self.h
        if isinstance(r, (Rprop, Sarprop)):
            h[K.H_ETA_PLUS], h[K.H_ETA_MINUS] = r.eta_plus, r.eta_minus
            h[K.H_DELTA_MAX], h[K.H_DELTA_MIN] = r.delta_max, r.delta_min
            h[K.H_FLOOR] = FANN_STEP_FLOOR
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
        changed = self._sync_in()
        if self.classify != classify or changed:
            self.classify = classify  # first epoch, or a callback changed the weights
            self._pass(index)
        if tally is not None:
            tally += self.sums
        self._epoch_scalars()
        state = self._state()
        if self._batch_ready or self._asked_ready(index):
            full_batch_step(
                self.theta, self.layout, self.work, self.opt, self.c, self.betas, self.t, state,
                self.g, self.U, self.h, self.hd, len(index),
            )  # fmt: skip
            self._generated_pass(index)
        else:
            full_batch_epoch(
                self.theta, self.X, self.Y, index, self.layout, self.work, self.loss_code,
                self.opt, self.c, self.betas, self.t, state, self.g, self.U, self.h, self.hd,
                classify, self.sums,
            )  # fmt: skip
        self._sync_out()
        self.fresh = True
        return 1

    def _state(self) -> tuple[Array, Array, Array]:
        """The step's three state arrays (:func:`full_batch_step`)."""
        return (self.m, self.v, self.last if self.opt > K.ADAM else self.v)

    def _epochs_arguments(self, orders: NDArray[np.intp], log: Array) -> tuple[Any, ...]:
        """The arguments of the generated ``epochs`` (:data:`.codegen_batch.EPOCHS_ARGUMENTS`)."""
        args = self._pass_arguments(orders)
        return (
            *args, self.theta, self.theta_prev, *self.layout, *self.work, *self._state(),
            self.t, self.betas, self.g, self.U, self.h, self.hd, self.flags, log,
        )  # fmt: skip

    def _pass(self, index: Order) -> None:
        """The pass at the current θ (G and the error sums), outside an epoch's step."""
        self.work[2][:] = 0.0
        self._generated_pass(index)
        self.theta_G[:] = self.theta

    def _asked_ready(self, index: Order) -> bool:
        """Whether the generated pass has become ready (asked before each epoch until it is:
        a worker may have finished since the last)."""
        if self.generated is None:
            return False
        args = self._pass_arguments(index)
        self._batch_ready |= self.generated[0].ready({"gradient": args})
        return bool(self._batch_ready)

    def _pass_arguments(self, index: Order | None) -> tuple[Any, ...]:
        """The arguments of the generated pass (:func:`.codegen_batch.source`)."""
        assert self.generated is not None
        _, csr, views = self.generated
        index = np.zeros(0, dtype=np.intp) if index is None else index
        return (*csr, self.Y, index, self.c, self.classify, self.sums, *self.params, *views)

    def _generated_pass(self, index: Order) -> None:
        """The pass at θ (G is zero on entry: the step clears it): the generated one if it is
        ready, else the generic :func:`gradient_pass` (the same bits)."""
        if self.generated is None or not codegen.run_generated(
            self.generated[0], self._batch_ready, "gradient", self._pass_arguments(index)
        ):
            gradient_pass(
                self.theta, self.X, self.Y, index, self.layout, self.work, self.loss_code,
                self.c, self.classify, self.sums,
            )  # fmt: skip

    def value_and_grad(self, theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        """J and ∂J/∂θ at θ (:meth:`Network.get_flat`'s layout, float64): a whole-run solver's
        objective (L-BFGS), as ``Network.gradient`` gives it, from one pass. The network takes
        θ in its dtype, as the NumPy objective leaves it."""
        network = self.network
        network.set_flat(theta.astype(network.dtype))
        self._sync_in()
        self.classify = self.fresh = False
        self._pass(self._order)
        self.c[K.C_N] = len(self.X)
        mean_gradient(self.theta, self.work[2], self.g, self.layout, self.c)
        self.theta_G[:] = np.nan  # G is spent: the next epoch makes its own pass
        grads = self._unflatten(self.g)
        return self._objective(), np.concatenate([g.ravel() for g in grads]).astype(np.float64)

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
