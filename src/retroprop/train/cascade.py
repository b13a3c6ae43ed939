"""Cascade-correlation: growing the hidden layer one neuron at a time (Fahlman & Lebiere 1990),
in FANN's Cascade2 form (``fann_cascadetrain_on_data``).

Start with the outputs connected to the inputs only, then repeat:

1. **Train the outputs**: every weight into the output layer, with FANN's iRprop⁻ on
   the whole training set, until the error stops improving (by ``change_fraction`` within
   ``stagnation_epochs``, after ``min_out_epochs``) or ``max_out_epochs``.
2. Stop if the target is met (training MSE ≤ ``target_error``, or no output off by
   ``bit_fail_limit`` or more: FANN's bit-fail stop) or ``max_hidden`` neurons are installed.
3. **Train a pool of candidates**: every (activation, steepness) pair, ``groups`` times each
   (:mod:`retroprop.train.candidates`: FANN's activations, its iRprop⁻),
   each candidate c reading every input and installed neuron. Cascade2 trains each candidate's
   input weights w_c *and* output weights v_c to cancel the residual e = y − o:

       S_c = Σₚ Σₖ (v_ck h_pc − e_pk)²,   h_pc = f_c(s_c (w_c · x_p)),   score_c = Σₚₖ e_pk² − S_c

   with iRprop⁻ on ∂S_c/∂w_c and ∂S_c/∂v_c, all candidates at once (one matrix product per
   epoch), until the best score stops improving (as for the outputs).
4. **Install** the best candidate: its input weights frozen (scaled by its steepness:
   W = c·s·w, where c = 2 for the sigmoid, as FANN's 1/(1 + e^(−2st)), else 1) and its
   connections to the outputs initialised to ``weight_multiplier``·v_c (a candidate that is an
   affine image α f + β of an activation f is installed as f, α and β folded into those
   connections and the output bias); go to 1.

The steepness is FANN's: the candidates of different steepness start from the same kind of
weights, so it sets how sharp a unit is at first and how large Rprop's steps are in its units.
Candidate weights start as FANN's: uniform in [0, r] (the bias in [−r, r]), with
r = 2 (0.7 (n_hidden + 1))^(1/n_inputs) clipped to [0.5, 8] (a semi Nguyen-Widrow rule; FANN
counts the bias neuron as a hidden one there).

Why a function and not a solver of :func:`~retroprop.train.loop.fit`: a solver fits the weights
of the network it is given, and cascade-correlation builds the network; its result is a
:class:`~retroprop.core.cascade.CascadeNetwork`, which the layered training loop does not train.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from retroprop.core.activations import ACTIVATION_ALIASES, ACTIVATIONS, get_activation
from retroprop.core.cascade import CascadeNetwork
from retroprop.core.losses import output_grad_z
from retroprop.core.metrics import is_classification
from retroprop.errors import ParameterError
from retroprop.train.candidates import (
    AFFINE_CANDIDATES,
    CANDIDATE_ACTIVATIONS,
    Settings,
    Stagnation,
    candidate_kind,
    fann_rprop,
    train_candidates,
)
from retroprop.train.epochs import numpy_epoch_logs

Array = NDArray[np.floating]

__all__ = [
    "AFFINE_CANDIDATES",
    "CANDIDATE_ACTIVATIONS",
    "CascadeResult",
    "CascadeStep",
    "cascade_fit",
]


@dataclass(frozen=True)
class CascadeStep:
    """The network after training the outputs with ``n_hidden`` neurons installed.

    Attributes:
        logs: as an epoch of :func:`~retroprop.train.loop.fit` logs them: ``loss`` (the
            network's mean loss), ``mse`` (mean ½ Σ (y − o)²), ``accuracy`` (0/1 targets), and
            the same with ``val_`` on the validation data.
        bit_fail: training outputs off by ``bit_fail_limit`` or more.
        activation: of the neuron just installed (None before the first).
        epochs: output and candidate epochs spent so far; seconds: time so far.
    """

    n_hidden: int
    logs: dict[str, float]
    bit_fail: int
    activation: str | None
    epochs: int
    seconds: float

    @property
    def mse(self) -> float:
        return self.logs["mse"]

    @property
    def val_mse(self) -> float | None:
        return self.logs.get("val_mse")


@dataclass
class CascadeResult:
    """The grown network and its history, one :class:`CascadeStep` per number of neurons."""

    network: CascadeNetwork
    history: list[CascadeStep] = field(default_factory=list)


def cascade_fit(
    X: Array,
    Y: Array,
    *,
    max_hidden: int = 30,
    output_activation: str = "sigmoid",
    loss: str = "squared_error",
    target_error: float = 0.0,
    bit_fail_limit: float | None = 0.35,
    activations: Sequence[str] = CANDIDATE_ACTIVATIONS,
    steepnesses: Sequence[float] = (0.25, 0.5, 0.75, 1.0),
    groups: int = 2,
    max_out_epochs: int = 150,
    min_out_epochs: int = 50,
    max_cand_epochs: int = 150,
    min_cand_epochs: int = 50,
    change_fraction: float = 0.01,
    stagnation_epochs: int = 12,
    weight_multiplier: float = 0.4,
    validation: tuple[Array, Array] | None = None,
    seed: int | np.random.Generator | None = 0,
    callback: Callable[[CascadeStep], bool | None] | None = None,
) -> CascadeResult:
    """Grow a cascade network on (X, Y) (module docstring); defaults are FANN 2.2's.

    Args:
        X: inputs, (n_samples, n_inputs); Y: targets, (n_samples, n_outputs) (one-hot classes).
        max_hidden: most neurons to install.
        output_activation: f of the output neurons.
        loss: the loss of the outputs, a name of :data:`~retroprop.core.losses.LOSSES`.
        target_error: stop when the training MSE (mean ½ Σ (y − o)²) is at most this.
        bit_fail_limit: unless None, also stop once no output is off by ≥ this (FANN's bit-fail).
        activations: the candidates' activations, names of the activation registry or of
            :data:`AFFINE_CANDIDATES` (FANN's ``gaussian_symmetric``, ``sin01``, ``cos01``);
            with ``steepnesses`` and ``groups``, the candidate pool (their product is its size).
        steepnesses: the candidates' steepnesses s; groups: candidates per pair (activation, s).
        max_out_epochs: most epochs of one output-training phase; min_out_epochs: its epochs
            before stagnation can end it.
        max_cand_epochs: most epochs of one candidate-training phase; min_cand_epochs: its
            epochs before stagnation can end it.
        change_fraction: a phase stagnates when its error (or best score) has not improved by
            this fraction within ``stagnation_epochs`` epochs.
        weight_multiplier: an installed neuron's output connections start at this × v_c.
        seed: the same seed gives the same network bit for bit.
        validation: (X, Y) whose MSE is recorded at every step (for the figure of error
            against neurons); it does not stop the growth.
        callback: called with every :class:`CascadeStep`; returning True stops the growth
            there (as a :class:`~retroprop.train.callbacks.Callback` stops ``fit``).

    Returns:
        The :class:`CascadeResult`.
    """
    X, Y = _checked_data(X, Y)
    settings = Settings(
        max_hidden, target_error, bit_fail_limit, tuple(activations), tuple(steepnesses),
        groups, max_out_epochs, min_out_epochs, max_cand_epochs, min_cand_epochs,
        change_fraction, stagnation_epochs, weight_multiplier,
    )  # fmt: skip
    _check(settings)
    rng = np.random.default_rng(seed)
    net = CascadeNetwork.create(X.shape[1], Y.shape[1], output_activation, loss, seed=rng)
    return _grow(CascadeResult(net), X, Y, validation, settings, rng, callback)


def _checked_data(X: Array, Y: Array) -> tuple[Array, Array]:
    """X (n, n_inputs) and Y (n, n_outputs) as float64, once their shapes agree (n ≥ 1)."""
    X, Y = np.asarray(X, np.float64), np.asarray(Y, np.float64)
    if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y) or not len(X):
        raise ParameterError(
            f"X, Y: expected (n, n_inputs) and (n, n_outputs), got {X.shape}, {Y.shape}"
        )
    return X, Y


def _grow(
    result: CascadeResult,
    X: Array,
    Y: Array,
    validation: tuple[Array, Array] | None,
    s: Settings,
    rng: np.random.Generator,
    callback: Callable[[CascadeStep], bool | None] | None,
) -> CascadeResult:
    """Train the outputs, stop or install the best candidate, until done (steps 1 to 4)."""
    net = result.network
    start, epochs, installed = time.perf_counter(), 0, None
    while True:
        H = _columns(net, X)
        epochs += _train_outputs(net, H, Y, s)
        step = _step(net, H, Y, validation, installed, epochs, time.perf_counter() - start, s)
        result.history.append(step)
        stop = callback is not None and callback(step) is True
        if stop or _done(step, s) or net.n_hidden >= s.max_hidden:
            return result
        unit, v, db, spent = train_candidates(net, H, Y - _output_pass(net, H)[1], s, rng)
        epochs += spent
        net.install(unit, v * s.weight_multiplier)
        net.output.b += db * s.weight_multiplier  # the candidate's offset β v, as v is scaled
        installed = unit.activation.name


def _check(s: Settings) -> None:
    """Refuse settings out of their domain, naming the parameter."""
    whole = {
        "max_hidden": (s.max_hidden, 0), "groups": (s.groups, 1),
        "max_out_epochs": (s.max_out_epochs, 1), "min_out_epochs": (s.min_out_epochs, 0),
        "max_cand_epochs": (s.max_cand_epochs, 1), "min_cand_epochs": (s.min_cand_epochs, 0),
        "stagnation_epochs": (s.stagnation_epochs, 1),
    }  # fmt: skip
    for name, (value, low) in whole.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ParameterError(f"{name}: expected a whole number ≥ {low}, got {value!r}")
    for name in s.activations:
        known = name in AFFINE_CANDIDATES or name in ACTIVATIONS or name in ACTIVATION_ALIASES
        if not known:
            valid = [a for a, f in ACTIVATIONS.items() if not f.output_only]
            raise ParameterError(
                f"activations: unknown candidate activation {name!r}; valid: "
                f"{', '.join([*valid, *AFFINE_CANDIDATES])}"
            )
        if get_activation(candidate_kind(name).activation).output_only:
            raise ParameterError(f"activations: {name} is only for an output layer")
    if not s.activations or not s.steepnesses or min(s.steepnesses) <= 0:
        raise ParameterError("activations, steepnesses: need at least one, steepnesses > 0")
    if not 0 < s.change_fraction < 1 or s.target_error < 0:
        raise ParameterError("change_fraction must be in (0, 1) and target_error ≥ 0")


def _columns(net: CascadeNetwork, X: Array) -> Array:
    """h = [x | a₁ | …] of every sample: the frozen part of the network, computed once."""
    fp = net.forward(X)
    assert fp.h is not None
    return fp.h


def _output_pass(net: CascadeNetwork, H: Array) -> tuple[Array, Array]:
    """(z, o) of the output layer on the columns H."""
    out = net.output
    z = H @ out.W.T + out.b
    return z, out.activation(z)


def _train_outputs(net: CascadeNetwork, H: Array, Y: Array, s: Settings) -> int:
    """iRprop⁻ on the output layer's weights until the error stagnates; returns the epochs."""
    out = net.output
    rule = fann_rprop()
    state = rule.init([out.W, out.b])
    tracker = Stagnation(s, minimise=True)
    for epoch in range(s.max_out_epochs):
        z, o = _output_pass(net, H)
        mse = net.loss.mean(Y, o)
        if _met(Y, o, mse, s) or tracker.stalled(mse, epoch, s.min_out_epochs):
            return epoch
        g = output_grad_z(net.loss, out.activation, z, o, Y)  # ∂E/∂z per sample
        grads = [g.T @ H / len(H), g.mean(axis=0)]
        updates, state = rule.update(grads, state)
        out.W += updates[0]
        out.b += updates[1]
    return s.max_out_epochs


def _met(Y: Array, O: Array, mse: float, s: Settings) -> bool:
    """The stop target: MSE ≤ target_error, or no output off by bit_fail_limit or more."""
    if mse <= s.target_error:
        return True
    return s.bit_fail_limit is not None and not np.any(np.abs(Y - O) >= s.bit_fail_limit)


def _done(step: CascadeStep, s: Settings) -> bool:
    return step.mse <= s.target_error or (s.bit_fail_limit is not None and step.bit_fail == 0)


def _step(
    net: CascadeNetwork,
    H: Array,
    Y: Array,
    validation: tuple[Array, Array] | None,
    installed: str | None,
    epochs: int,
    seconds: float,
    s: Settings,
) -> CascadeStep:
    """The record of the network as it is now."""
    _, O = _output_pass(net, H)
    limit = np.inf if s.bit_fail_limit is None else s.bit_fail_limit
    bit_fail = int(np.count_nonzero(np.abs(Y - O) >= limit))
    classify = is_classification(Y)
    logs = numpy_epoch_logs(net, H[:, : net.n_inputs], Y, "", classify)
    if validation is not None:
        logs |= numpy_epoch_logs(net, *validation, "val_", classify)
    return CascadeStep(net.n_hidden, logs, bit_fail, installed, epochs, seconds)
