"""Optimizers, simplest first, all behind one tiny interface.

An optimizer turns gradients into weight changes::

    state = opt.init(params)
    updates, state = opt.update(grads, state, loss)   # state in, state out
    for p, u in zip(params, updates): p += u

``params`` and ``grads`` are lists of arrays in the order of
:meth:`retroprop.core.network.Network.params`; ``updates`` are the Δw that are *added* to the
weights (the lecture's Δw = η δ x for SGD). ``loss`` is the objective at the current weights
(iRprop⁺ and SARPROP look at it). The state is a plain dict of arrays and numbers, so a trace
can show it (momentum velocity, Rprop step sizes, Adam's m̂ and v̂).

FANN's rules (Quickprop, SARPROP) also need the weights and the number of samples the gradient
is the mean of: they say so with ``needs_batch = True`` and take them as the keywords
``params`` and ``n_samples``; :func:`step_updates` is the one call that hands them over.

Only step rules live here. Whole-run solvers (L-BFGS, the genetic algorithm), which take the
whole training problem at once, are in :mod:`retroprop.train.solvers`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from retroprop.errors import ParameterError

Array = NDArray[np.floating]
State = dict[str, Any]
_Arrays = Sequence[Array]

__all__ = [
    "FULL_BATCH_RULES",
    "OPTIMIZERS",
    "RPROP_VARIANTS",
    "SGD",
    "Adam",
    "Momentum",
    "Optimizer",
    "Quickprop",
    "Rprop",
    "Sarprop",
    "ScikitLearnAdam",
    "State",
    "get_optimizer",
    "step_updates",
]


@runtime_checkable
class Optimizer(Protocol):
    """The interface every step optimizer implements."""

    name: str
    learning_rate: float

    def init(self, params: Sequence[Array]) -> State:
        """Fresh state for parameters of these shapes."""
        ...

    def update(
        self, grads: Sequence[Array], state: State, loss: float | None = None
    ) -> tuple[list[Array], State]:
        """Weight changes Δw (to be added) for gradients ∂J/∂w, and the new state."""
        ...


def _positive(name: str, value: float) -> float:
    if not np.isfinite(value) or value <= 0:
        raise ParameterError(f"{name} must be a finite positive number, got {value}")
    return float(value)


def _unit(name: str, value: float, *, closed: bool = False) -> float:
    ok = 0 <= value <= 1 if closed else 0 <= value < 1
    if not ok:
        raise ParameterError(f"{name} must be in [0, 1{']' if closed else ')'}, got {value}")
    return float(value)


def _setting(default: float, check: Callable[[str, float], float], label: str = "") -> Any:
    """A numeric setting declared with the check its value must pass (the message names it
    ``label``, or the field's name); :func:`_check_settings` runs the checks."""
    return field(default=default, metadata={"check": check, "label": label})


def _check_settings(opt: Any) -> None:
    """Run the check of every :func:`_setting` field, in the order the fields are declared.

    Raises:
        ParameterError: the first setting out of its range, named.
    """
    for f in fields(opt):
        if "check" in f.metadata:
            f.metadata["check"](f.metadata["label"] or f.name, getattr(opt, f.name))


@dataclass
class SGD:
    """Plain gradient descent, the delta rule: Δw = −η ∂E/∂w = η δ x.

    Rumelhart, Hinton & Williams (1986), "Learning internal representations by error
    propagation", PDP vol. 1, ch. 8.
    """

    learning_rate: float = _setting(0.1, _positive)
    name: str = "sgd"

    def __post_init__(self) -> None:
        _check_settings(self)

    def init(self, params: Sequence[Array]) -> State:
        return {}

    def update(
        self, grads: Sequence[Array], state: State, loss: float | None = None
    ) -> tuple[list[Array], State]:
        eta = self.learning_rate
        return [-eta * g for g in grads], state


@dataclass
class Momentum:
    """Gradient descent with momentum (classic or Nesterov).

    Classic (Rumelhart et al. 1986, Δw(n+1) = −η g + α Δw(n)): v ← μv − ηg; Δw = v.
    Nesterov (Sutskever et al. 2013, in the form Keras and scikit-learn use): v ← μv − ηg;
    Δw = μv − ηg.

    The velocity v is stored already scaled by η: Keras's ``SGD`` and scikit-learn's
    ``SGDOptimizer`` (the MLP's) keep this form. PyTorch's ``SGD`` stores the unscaled buffer
    b ← μb + g and steps w ← w − ηb (Nesterov: w ← w − η(g + μb)). With b = −v/η the two
    give the same weights only while η is constant: when η changes during a run (a schedule,
    or a run resumed with another η), v carries the old η into the next steps, b does not.
    """

    learning_rate: float = _setting(0.1, _positive)
    momentum: float = _setting(0.9, _unit)
    nesterov: bool = False
    name: str = "momentum"

    def __post_init__(self) -> None:
        _check_settings(self)
        if self.nesterov and self.name == "momentum":
            self.name = "nesterov"

    def init(self, params: Sequence[Array]) -> State:
        return {"velocity": [np.zeros_like(p) for p in params]}

    def update(
        self, grads: Sequence[Array], state: State, loss: float | None = None
    ) -> tuple[list[Array], State]:
        eta, mu = self.learning_rate, self.momentum
        v = [mu * v - eta * g for v, g in zip(state["velocity"], grads, strict=True)]
        if self.nesterov:
            updates = [mu * vi - eta * g for vi, g in zip(v, grads, strict=True)]
        else:
            updates = v
        return updates, {"velocity": v}


@dataclass
class Adam:
    """Adam, Algorithm 1 of Kingma & Ba (2015), "Adam: a method for stochastic optimization".

    m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; m̂ = m / (1 − β₁ᵗ); v̂ = v / (1 − β₂ᵗ);
    Δθ = −α m̂ / (√v̂ + ε). Defaults are the paper's (and scikit-learn's).
    """

    learning_rate: float = _setting(0.001, _positive)
    beta_1: float = _setting(0.9, _unit)
    beta_2: float = _setting(0.999, _unit)
    epsilon: float = _setting(1e-8, _positive)
    name: str = "adam"

    def __post_init__(self) -> None:
        _check_settings(self)

    def init(self, params: Sequence[Array]) -> State:
        zeros = [np.zeros_like(p) for p in params]
        return {"t": 0, "m": zeros, "v": [z.copy() for z in zeros], "m_hat": None, "v_hat": None}

    def update(
        self, grads: Sequence[Array], state: State, loss: float | None = None
    ) -> tuple[list[Array], State]:
        b1, b2 = self.beta_1, self.beta_2
        t, m, v = self._moments(grads, state)
        m_hat = [mi / (1 - b1**t) for mi in m]
        v_hat = [vi / (1 - b2**t) for vi in v]
        updates = [
            -self.learning_rate * mh / (np.sqrt(vh) + self.epsilon)
            for mh, vh in zip(m_hat, v_hat, strict=True)
        ]
        return updates, {"t": t, "m": m, "v": v, "m_hat": m_hat, "v_hat": v_hat}

    def _moments(
        self, grads: Sequence[Array], state: State
    ) -> tuple[int, list[Array], list[Array]]:
        """Step t and the moments m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g² (every form's)."""
        b1, b2 = self.beta_1, self.beta_2
        m = [b1 * m + (1 - b1) * g for m, g in zip(state["m"], grads, strict=True)]
        v = [b2 * v + (1 - b2) * g * g for v, g in zip(state["v"], grads, strict=True)]
        return state["t"] + 1, m, v


RPROP_VARIANTS = ("rprop+", "rprop-", "irprop+", "irprop-", "irprop-fann")

FANN_STEP_FLOOR = 1e-4
"""FANN's floor on the previous step size in its iRprop⁻ (``"irprop-fann"``)."""


def _check_factors(eta_minus: float, eta_plus: float) -> None:
    if not 0 < eta_minus < 1 < eta_plus:
        raise ParameterError(
            f"eta_minus and eta_plus must satisfy 0 < eta_minus < 1 < eta_plus, "
            f"got {eta_minus} and {eta_plus}"
        )


FULL_BATCH_RULES = (*RPROP_VARIANTS, "rprop", "quickprop", "sarprop")
"""Names of the step rules made for the full-batch gradient (``batch_size="all"``)."""


@dataclass
class Rprop:
    """The Rprop family: per-weight step sizes adapted by the sign of the gradient.

    Variants (named exactly):

    - ``"rprop+"``: Rprop with weight-backtracking, Riedmiller & Braun (1993), "A direct
      adaptive method for faster backpropagation learning: the RPROP algorithm".
    - ``"rprop-"``: Rprop without backtracking, Riedmiller (1994), "Advanced supervised
      learning in multi-layer perceptrons — from backpropagation to adaptive learning
      algorithms".
    - ``"irprop+"``: Igel & Hüsken (2000, 2003), "Improving the Rprop learning algorithm" /
      "Empirical evaluation of the improved Rprop learning algorithms": backtrack only if the
      error went up. The usual recommendation.
    - ``"irprop-"``: Igel & Hüsken: on a sign change, no step and forget the gradient
      (what ``torch.optim.Rprop`` does).
    - ``"irprop-fann"``: iRprop⁻ as FANN 2.2 computes it (``fann_update_weights_irpropm``),
      to train as ``fann_train_epoch`` with FANN_TRAIN_RPROP does (FANN's settings:
      ``learning_rate=0.1, delta_min=0``). With Δ′ = max(Δ, 10⁻⁴): Δ ← min(η⁺Δ′, Δ_max)
      whenever g_old·g ≥ 0 (also at the first step and the one after a sign change, where
      Igel & Hüsken keep Δ); on a sign change Δ ← max(η⁻Δ′, Δ_min) and g is forgotten. The
      weight steps by −Δ where g > 0 and by +Δ otherwise — also where g = 0 and after a
      sign change (FANN moves the weight there, where Igel & Hüsken do not). FANN's clipping
      of weights at ±1500 is not reproduced.

    Step sizes: Δ ← min(Δη⁺, Δ_max) when g_old·g > 0, Δ ← max(Δη⁻, Δ_min) when g_old·g < 0,
    and Δ unchanged when g_old·g = 0: at the first step (g_old = 0), after a sign change in the
    variants that forget the gradient there (all but ``"rprop-"``, which keeps it), and where
    the gradient is exactly 0. Then the weight still steps by −sign(g)·Δ (not at all if
    g = 0), as in every variant's paper and in ``torch.optim.Rprop``. (``"irprop-fann"``
    follows its own rule above.)

    ``learning_rate`` is Δ₀, clamped into [Δ_min, Δ_max] as ``torch.optim.Rprop`` does (its
    first step clamps the step size): Δ₀ = 100 with Δ_max = 50 starts at 50.

    Rprop is a full-batch method: use it with ``batch_size="all"``.
    """

    variant: str = "irprop+"
    learning_rate: float = _setting(0.1, _positive, label="learning_rate (Δ₀)")
    eta_plus: float = 1.2
    eta_minus: float = 0.5
    delta_max: float = 50.0
    delta_min: float = 1e-6
    name: str = ""

    def __post_init__(self) -> None:
        if self.variant not in RPROP_VARIANTS:
            raise ParameterError(
                f"variant: unknown Rprop variant {self.variant!r}; "
                f"valid: {', '.join(RPROP_VARIANTS)}"
            )
        _check_settings(self)
        _check_factors(self.eta_minus, self.eta_plus)
        if not 0 <= self.delta_min <= self.delta_max:
            raise ParameterError(
                f"delta_min and delta_max must satisfy 0 ≤ delta_min ≤ delta_max, "
                f"got {self.delta_min} and {self.delta_max}"
            )
        self.name = self.variant

    @property
    def initial_step(self) -> float:
        """Δ₀: ``learning_rate`` clamped into [Δ_min, Δ_max]."""
        return min(max(self.learning_rate, self.delta_min), self.delta_max)

    def init(self, params: Sequence[Array]) -> State:
        return {
            "step_size": [np.full_like(p, self.initial_step) for p in params],
            "grad_old": [np.zeros_like(p) for p in params],
            "last_update": [np.zeros_like(p) for p in params],
            "error_old": np.inf,
        }

    def update(
        self, grads: Sequence[Array], state: State, loss: float | None = None
    ) -> tuple[list[Array], State]:
        if self.variant == "irprop+" and loss is None:
            raise ParameterError("irprop+ needs the current error (loss) to decide on backtracking")
        error_went_up = loss is not None and loss > state["error_old"]
        new: State = {"step_size": [], "grad_old": [], "last_update": [], "error_old": loss}
        updates = []
        for g, step, g_old, last in zip(
            grads, state["step_size"], state["grad_old"], state["last_update"], strict=True
        ):
            if self.variant == "irprop-fann":
                dw, step, g = self._fann_step(g, step, g_old)
                new["grad_old"].append(g)
                new["step_size"].append(step)
                new["last_update"].append(dw)
                updates.append(dw)
                continue
            s = g_old * g
            step = np.where(
                s > 0,
                np.minimum(step * self.eta_plus, self.delta_max),
                np.where(s < 0, np.maximum(step * self.eta_minus, self.delta_min), step),
            )
            dw = -np.sign(g) * step
            changed = s < 0
            if self.variant == "rprop+":
                dw = np.where(changed, -last, dw)  # undo the previous step
            elif self.variant == "irprop+":
                dw = np.where(changed, -last if error_went_up else 0.0, dw)
            elif self.variant == "irprop-":
                dw = np.where(changed, 0.0, dw)
            # rprop- always steps.
            keep_grad = self.variant == "rprop-"
            new["grad_old"].append(g.copy() if keep_grad else np.where(changed, 0.0, g))
            new["step_size"].append(step)
            new["last_update"].append(dw)
            updates.append(dw)
        return updates, new

    def _fann_step(self, g: Array, step: Array, g_old: Array) -> tuple[Array, Array, Array]:
        """FANN's iRprop⁻ for one array: (Δw, the new Δ, the g kept as g_old)."""
        prev = np.maximum(step, FANN_STEP_FLOOR)
        changed = g_old * g < 0
        step = np.where(
            changed,
            np.maximum(prev * self.eta_minus, self.delta_min),
            np.minimum(prev * self.eta_plus, self.delta_max),
        )
        g = np.where(changed, 0.0, g)
        return np.where(g > 0, -step, step), step, g


class _FannSlopeRule:
    """The ``update`` of FANN's epoch rules (Quickprop, SARPROP): it checks that the weights
    (their decay term) and a positive sample count came with the gradient, then applies the
    rule itself, :meth:`_rule`."""

    name: str

    def update(
        self,
        grads: Sequence[Array],
        state: State,
        loss: float | None = None,
        *,
        params: Sequence[Array] | None = None,
        n_samples: int = 1,
    ) -> tuple[list[Array], State]:
        """Weight changes Δw (to be added) for gradients ∂J/∂w (the mean over ``n_samples``
        samples) at the weights ``params``, and the new state."""
        if params is None:
            raise ParameterError(
                f"{self.name} needs the weights (its decay term): pass params= (train_step does)"
            )
        if n_samples < 1:
            raise ParameterError(f"n_samples must be a positive count, got {n_samples}")
        return self._rule(grads, state, loss, params, n_samples)

    def _rule(
        self, grads: _Arrays, state: State, loss: float | None, params: _Arrays, n_samples: int
    ) -> tuple[list[Array], State]:
        """The rule itself, the weights and sample count known."""
        raise NotImplementedError


@dataclass
class Quickprop(_FannSlopeRule):
    """Quickprop, Fahlman (1988), "An empirical study of learning speed in back-propagation
    networks", CMU-CS-88-162, exactly as FANN 2.2 implements it (``fann_update_weights_quickprop``),
    with FANN's defaults.

    FANN's slope is S = −Σₙ ∂E/∂w + d·w over the epoch (its δ has the lecture's sign, and
    the decay d = −0.0001 is added to the *sum*). A step rule here receives the mean gradient
    g = ∂J/∂w over ``n_samples`` samples, so the same slope per sample is s = S/n = −g + (d/n)·w,
    and FANN's ε·S with ε = η/n is η·s: every formula below is FANN's to rounding. Per weight,
    with the previous step Δw′ and slope s′ (both 0 at the start), μ = 1.75 and the shrink factor
    μ/(1 + μ):

    - Δw′ > 0.001: Δw = (η s if s > 0) + (μ Δw′ if s > μ/(1+μ) s′ else Δw′ s / (s′ − s));
    - Δw′ < −0.001: the mirror image (η s if s < 0; μ Δw′ if s < μ/(1+μ) s′; else quadratic);
    - otherwise (the first step, or a step too small to trust): Δw = η s (gradient descent).

    The new weight is clipped to ±``weight_limit`` (FANN: 1500). The state keeps the slope s
    (``slope_old``) and the step taken (``last_update``). A full-batch method: use it with
    ``batch_size="all"``.
    """

    learning_rate: float = _setting(0.7, _positive)
    mu: float = _setting(1.75, _positive)
    decay: float = -0.0001
    weight_limit: float = _setting(1500.0, _positive)
    name: str = "quickprop"
    needs_batch: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_settings(self)
        if not np.isfinite(self.decay):
            raise ParameterError(f"decay must be a finite number, got {self.decay}")

    def init(self, params: Sequence[Array]) -> State:
        return {
            "slope_old": [np.zeros_like(p) for p in params],
            "last_update": [np.zeros_like(p) for p in params],
        }

    def _rule(
        self, grads: _Arrays, state: State, loss: float | None, params: _Arrays, n_samples: int
    ) -> tuple[list[Array], State]:
        """FANN's Quickprop step for every weight array, clipped to ±weight_limit."""
        new: State = {"slope_old": [], "last_update": []}
        updates = []
        for g, w, s_old, dw_old in zip(
            grads, params, state["slope_old"], state["last_update"], strict=True
        ):
            s = -g + (self.decay / n_samples) * w
            dw = self._step(s, s_old, dw_old)
            new["slope_old"].append(s)
            new["last_update"].append(dw)
            updates.append(_clipped(w, dw, self.weight_limit))
        return updates, new

    def _step(self, s: Array, s_old: Array, dw_old: Array) -> Array:
        """FANN's next step from the slope s, the previous slope s′ and the previous step Δw′."""
        mu, shrink = self.mu, self.mu / (1.0 + self.mu)
        up, down = dw_old > 0.001, dw_old < -0.001
        linear = np.where(
            (up & (s > 0)) | (down & (s < 0)) | ~(up | down), self.learning_rate * s, 0
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            quadratic = dw_old * s / (s_old - s)
        biggest = (up & (s > shrink * s_old)) | (down & (s < shrink * s_old))
        secant = np.where(biggest, mu * dw_old, quadratic)
        return linear + np.where(up | down, secant, 0)


def _clipped(w: Array, dw: Array, limit: float) -> Array:
    """Δw, or the change that puts w on ±limit where w + Δw would pass it (FANN's clip)."""
    w_new = w + dw
    return np.where(w_new > limit, limit - w, np.where(w_new < -limit, -limit - w, dw))


@dataclass
class Sarprop(_FannSlopeRule):
    """SARPROP, Treadgold & Gedeon (1998), "Simulated annealing and weight decay in adaptive
    learning: the SARPROP algorithm", IEEE Trans. Neural Networks 9(4), as FANN 2.2 implements
    it (``fann_update_weights_sarprop``), with FANN's defaults.

    Rprop whose gradient carries an annealed weight decay and whose step sizes get annealed
    noise after a sign change. With t the epoch (0 for the first update; the state's
    ``epoch``), E FANN's MSE and Δ′ = max(Δ_prev, Δ_min):

    - slope s = ∂J/∂w + 2^(−T t + weight_decay_shift)/n · w (FANN adds 2^(…) w to the epoch's
      *sum* of gradients; divided by the n samples of the mean here, so the two agree);
    - s s′ > 0: Δ = min(η⁺ Δ′, Δ_max), Δw = −Δ if s ≥ 0 else +Δ;
    - s s′ < 0: Δ = η⁻ Δ′ + U·√E·2^(−T t + step_error_shift) (U uniform on [0, 1)) when
      Δ′ < step_error_threshold_factor · E, else max(η⁻ Δ′, Δ_min); no step, and s is
      forgotten (s′ ← 0), as in iRprop⁻;
    - s s′ = 0 (first epoch, or after a sign change): Δw = −Δ′ if s ≥ 0 else +Δ′, Δ = Δ′.

    Where this follows the paper rather than FANN's code, and why:

    - FANN *subtracts* the decay term (``-train_slopes - w·2^(…)``, with its own "TODO: are the
      signs inverted?"), which pushes weights away from 0; here it decays them, as the name
      and the paper say.
    - FANN's ``next_step`` is not reset per weight, so in the s s′ = 0 case it stores the
      previous weight's step; here each weight keeps its own Δ′ (the two agree in the first
      epoch, where FANN's is 0 and Δ′ is clamped back to Δ_min).

    E is FANN's MSE, the mean of (y − o)² over samples and outputs, taken from ``loss`` (the
    mean of E = ½ Σ (y − o)²) as 2·loss/n_out: exact for squared error without weight decay.
    ``learning_rate`` is Δ₀, 0.1 as for Rprop (FANN's ``rprop_delta_zero``). FANN's SARPROP
    itself starts from Δ = 0, clamped to Δ_min = 10⁻⁶, and so needs ~90 epochs before its steps
    reach Rprop's size: ``learning_rate=1e-6`` reproduces that.
    The noise comes from a generator seeded with (``seed``, t), so runs repeat and resume.
    """

    learning_rate: float = _setting(0.1, _positive, label="learning_rate (Δ₀)")
    eta_plus: float = 1.2
    eta_minus: float = 0.5
    delta_max: float = 50.0
    delta_min: float = 1e-6
    weight_decay_shift: float = -6.644
    step_error_threshold_factor: float = _setting(0.1, _positive)
    step_error_shift: float = 1.385
    temperature: float = 0.015
    seed: int = 0
    name: str = "sarprop"
    needs_batch: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_settings(self)
        _check_factors(self.eta_minus, self.eta_plus)
        if not 0 < self.delta_min <= self.delta_max:
            raise ParameterError(
                f"delta_min and delta_max must satisfy 0 < delta_min ≤ delta_max, "
                f"got {self.delta_min} and {self.delta_max}"
            )
        for field_name in ("weight_decay_shift", "step_error_shift", "temperature"):
            if not np.isfinite(getattr(self, field_name)):
                raise ParameterError(f"{field_name} must be a finite number")

    def init(self, params: Sequence[Array]) -> State:
        return {
            "step_size": [np.full_like(p, self.learning_rate) for p in params],
            "grad_old": [np.zeros_like(p) for p in params],
            "epoch": 0,
        }

    def noise(self, params: Sequence[Array], epoch: int) -> list[Array]:
        """U ~ uniform[0, 1) per weight for epoch t (float64; drawn for every weight, so
        the compiled engine can draw the same numbers in one call)."""
        rng = np.random.default_rng([self.seed, epoch])
        return [rng.random(np.shape(p)) for p in params]

    def _rule(
        self, grads: _Arrays, state: State, loss: float | None, params: _Arrays, n_samples: int
    ) -> tuple[list[Array], State]:
        """FANN's SARPROP step for every weight array (epoch t from the state)."""
        if loss is None:
            raise ParameterError("sarprop needs the current error (loss) for its noise")
        t = int(state["epoch"])
        mse = 2.0 * float(loss) / np.size(grads[-1])
        decay = 2.0 ** (-self.temperature * t + self.weight_decay_shift) / n_samples
        noise = np.sqrt(mse) * 2.0 ** (-self.temperature * t + self.step_error_shift)
        threshold = self.step_error_threshold_factor * mse
        new: State = {"step_size": [], "grad_old": [], "epoch": t + 1}
        updates = []
        for g, w, step, s_old, u in zip(
            grads, params, state["step_size"], state["grad_old"], self.noise(params, t),
            strict=True,
        ):  # fmt: skip
            s = g + decay * w
            prev = np.maximum(step, self.delta_min)
            same = s_old * s
            shrunk = np.where(
                prev < threshold,
                prev * self.eta_minus + u * noise,
                np.maximum(prev * self.eta_minus, self.delta_min),
            )
            step = np.where(
                same > 0,
                np.minimum(prev * self.eta_plus, self.delta_max),
                np.where(same < 0, shrunk, prev),
            )
            dw = np.where(same < 0, 0.0, np.where(s < 0, step, -step))
            new["step_size"].append(step.astype(g.dtype, copy=False))
            new["grad_old"].append(np.where(same < 0, 0.0, s).astype(g.dtype, copy=False))
            updates.append(dw.astype(g.dtype, copy=False))
        return updates, new


def step_updates(
    optimizer: Optimizer,
    grads: Sequence[Array],
    state: State,
    loss: float | None,
    params: Sequence[Array],
    n_samples: int,
) -> tuple[list[Array], State]:
    """``optimizer.update``, handing the weights (before the step) and the number of samples
    the gradient is the mean of to the rules that use them (``needs_batch``: FANN's)."""
    if getattr(optimizer, "needs_batch", False):
        update: Any = optimizer.update
        result: tuple[list[Array], State] = update(
            grads, state, loss, params=params, n_samples=n_samples
        )
        return result
    return optimizer.update(grads, state, loss)


OPTIMIZERS: dict[str, type] = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Momentum,
    "adam": Adam,
    **{v: Rprop for v in RPROP_VARIANTS},
    "rprop": Rprop,
    "quickprop": Quickprop,
    "sarprop": Sarprop,
}
"""The step rules by name: the names accepted by :func:`get_optimizer`."""


def get_optimizer(optimizer: str | Optimizer, **kwargs: Any) -> Optimizer:
    """Build a step rule from its name and settings (an optimizer object is passed through).

    ``"nesterov"`` is momentum with ``nesterov=True``; ``"rprop+"``, ``"rprop-"``,
    ``"irprop+"``, ``"irprop-"``, ``"irprop-fann"`` select the Rprop variant (``"rprop"``
    means iRprop⁺).

    Raises:
        ValueError: unknown name (the message lists the valid ones) or invalid setting.
    """
    if not isinstance(optimizer, str):
        if kwargs:
            raise ParameterError("optimizer settings were given together with an optimizer object")
        return optimizer
    name = optimizer.lower()
    if name not in OPTIMIZERS:
        raise ParameterError(
            f"unknown optimizer {optimizer!r}; valid names: {', '.join(OPTIMIZERS)}"
        )
    if name == "nesterov":
        kwargs.setdefault("nesterov", True)
    if name in RPROP_VARIANTS:
        kwargs.setdefault("variant", name)
    return build(OPTIMIZERS[name], name, kwargs)


def build(cls: type, name: str, kwargs: dict[str, Any]) -> Any:
    """``cls(**kwargs)``, with a wrong setting reported as the optimizer's (a ParameterError)."""
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ParameterError(f"optimizer {name!r}: {exc}") from None


# -- scikit-learn's variants -----------------------------------------------------------------
@dataclass
class ScikitLearnAdam(Adam):
    """Adam in the "efficient" form scikit-learn's MLP uses: the same seed gives its numbers.

    Kingma & Ba (2015) note after Algorithm 1 that its last three lines may be reordered as
    ηₜ = η √(1 − β₂ᵗ) / (1 − β₁ᵗ), Δθ = −ηₜ m / (√v + ε̂). scikit-learn (and Keras) use that
    form with ε̂ = ε. Algorithm 1 as printed (:class:`Adam`) is the same with
    ε̂ = ε √(1 − β₂ᵗ): the two differ only where √v̂ is as small as ε.

    A subclass rather than a flag on :class:`Adam` because it is different arithmetic: code that
    implements Algorithm 1 (the compiled engines pick their kernels by exact type) can then
    never run this form by mistake. Registered as ``"adam_sklearn"``; its ``name`` stays
    ``"adam"`` because it *is* Adam, in the paper's own reordering, and scikit-learn calls this
    solver ``"adam"`` (the estimators' traces say so).
    """

    def update(
        self, grads: Sequence[Array], state: State, loss: float | None = None
    ) -> tuple[list[Array], State]:
        t, m, v = self._moments(grads, state)
        eta_t = self.learning_rate * np.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        updates = [-eta_t * mi / (np.sqrt(vi) + self.epsilon) for mi, vi in zip(m, v, strict=True)]
        # no m̂, v̂: this form never computes them (and the compiled kernel's state has none)
        return updates, {"t": t, "m": m, "v": v, "m_hat": None, "v_hat": None}


OPTIMIZERS["adam_sklearn"] = ScikitLearnAdam
