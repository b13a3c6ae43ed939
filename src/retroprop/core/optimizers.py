"""Optimizers, simplest first, all behind one tiny interface.

An optimizer turns gradients into weight changes::

    state = opt.init(params)
    updates, state = opt.update(grads, state, loss)   # state in, state out
    for p, u in zip(params, updates): p += u

``params`` and ``grads`` are lists of arrays in the order of
:meth:`retroprop.core.network.Network.params`; ``updates`` are the Δw that are *added* to the
weights (the lecture's Δw = η δ x for SGD). ``loss`` is the objective at the current weights
(only iRprop⁺ looks at it). The state is a plain dict of arrays and numbers, so a trace can show
it (momentum velocity, Rprop step sizes, Adam's m̂ and v̂).

Only step rules live here. Whole-run solvers (L-BFGS, the genetic algorithm), which take the
whole training problem at once, are in :mod:`retroprop.train.solvers`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from retroprop.errors import ParameterError

Array = NDArray[np.floating]
State = dict[str, Any]

__all__ = [
    "OPTIMIZERS",
    "RPROP_VARIANTS",
    "SGD",
    "Adam",
    "Momentum",
    "Optimizer",
    "Rprop",
    "ScikitLearnAdam",
    "State",
    "get_optimizer",
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


RPROP_VARIANTS = ("rprop+", "rprop-", "irprop+", "irprop-")


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

    Step sizes: Δ ← min(Δη⁺, Δ_max) when g_old·g > 0, Δ ← max(Δη⁻, Δ_min) when g_old·g < 0,
    and Δ unchanged when g_old·g = 0: at the first step (g_old = 0), after a sign change in the
    variants that forget the gradient there (all but ``"rprop-"``, which keeps it), and where
    the gradient is exactly 0. Then the weight still steps by −sign(g)·Δ (not at all if
    g = 0), as in every variant's paper and in ``torch.optim.Rprop``.

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
        if not 0 < self.eta_minus < 1 < self.eta_plus:
            raise ParameterError(
                f"eta_minus and eta_plus must satisfy 0 < eta_minus < 1 < eta_plus, "
                f"got {self.eta_minus} and {self.eta_plus}"
            )
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


OPTIMIZERS: dict[str, type] = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Momentum,
    "adam": Adam,
    **{v: Rprop for v in RPROP_VARIANTS},
    "rprop": Rprop,
}
"""The step rules by name: the names accepted by :func:`get_optimizer`."""


def get_optimizer(optimizer: str | Optimizer, **kwargs: Any) -> Optimizer:
    """Build a step rule from its name and settings (an optimizer object is passed through).

    ``"nesterov"`` is momentum with ``nesterov=True``; ``"rprop+"``, ``"rprop-"``,
    ``"irprop+"``, ``"irprop-"`` select the Rprop variant (``"rprop"`` means iRprop⁺).

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
