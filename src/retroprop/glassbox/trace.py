"""One training step recorded as data: the glass box.

:func:`trace_step` runs the step training really takes (:func:`retroprop.train.loop.train_step`)
and keeps what it returned — the forward pass, δ of every layer, the gradients, the updates Δw
that were added to the weights and the optimizer state — together with copies of the weights
from before the step and the error of the same samples re-evaluated with the new weights.
Nothing here recomputes the step a second way. The few derived numbers that help to explain it
(f′(z), the backpropagated sum Σₖ δₖ wₖⱼ, the −η ∂E/∂w and μ·v parts of a momentum update) are
read off the recorded values, and the tests check that they add up to what training did.

The numbers themselves are plain data (:mod:`retroprop.glassbox.records`); :class:`StepTrace`
adds their JSON form, the contract of DESIGN.md, described field by field in
``schemas/step_trace.schema.json``. Views (rich tables, the step-through page) live elsewhere
and read a :class:`StepTrace`; this module imports none of them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields, is_dataclass
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
from numpy.typing import ArrayLike

from retroprop.core.cascade import CascadeNetwork
from retroprop.core.network import Network
from retroprop.core.optimizers import Momentum, Optimizer, State
from retroprop.errors import ParameterError
from retroprop.glassbox.records import Array, LayerTrace, Pair, StepRecord, TargetScaling
from retroprop.glassbox.trace_json import step_trace_to_dict
from retroprop.train.loop import StepResult, train_step
from retroprop.train.registry import get_optimizer

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11

__all__ = ["LayerTrace", "StepTrace", "TargetScaling", "trace_step", "trace_steps"]

STATE_KEYS = ("velocity", "step_size", "m_hat", "v_hat", "slope_old")
"""Per-parameter optimizer state worth showing: momentum velocity, Rprop (and SARPROP) Δ, Adam
m̂ and v̂, Quickprop's slope s (the next step's s′)."""


class StepTrace(StepRecord):
    """One weight update of a network, every number of it, and its JSON form.

    The fields are those of :class:`~retroprop.glassbox.records.StepRecord`.
    """

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of DESIGN.md plus more fields (``schemas/step_trace.schema.json``).

        Per-sample arrays (input, z, a, δ, …) are vectors for one sample and lists of rows
        (one per sample) for a batch. Non-finite numbers (after an overflow) become null.
        """
        return step_trace_to_dict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as strict JSON text (no NaN or Infinity)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)


def _as_batch(network: Network | CascadeNetwork, x: ArrayLike, y: ArrayLike) -> tuple[Array, Array]:
    """x as (n, n_inputs) and y as (n, n_outputs); one sample may be given as two vectors."""
    n_in, n_out = network.sizes[0], network.sizes[-1]
    X = np.array(x, dtype=network.dtype, ndmin=2)
    Y = np.array(y, dtype=network.dtype, ndmin=2)
    if X.ndim != 2 or X.shape[1] != n_in or len(X) == 0:
        raise ParameterError(f"x: expected {n_in} numbers per sample, got shape {np.shape(x)}")
    if Y.ndim != 2 or Y.shape != (len(X), n_out):
        raise ParameterError(
            f"y: expected {n_out} numbers per sample for {len(X)} sample(s), got shape "
            f"{np.shape(y)}"
        )
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Y))):
        raise ParameterError("x and y must be finite numbers (no NaN or inf)")
    return X, Y


def _names(names: Sequence[str] | None, width: int, what: str) -> tuple[str, ...] | None:
    """The names of the inputs (or outputs) as a tuple of strings, one per unit, or None."""
    if names is None:
        return None
    out = (names,) if isinstance(names, str) else tuple(names)
    if len(out) != width or not all(isinstance(n, str) for n in out):
        raise ParameterError(f"{what}: expected {width} strings (one per unit), got {names!r}")
    return out


def _settings(opt: Optimizer) -> dict[str, Any]:
    """The optimizer's parameters other than its name and η (momentum, β₁, variant, …)."""
    if not is_dataclass(opt):
        return {}
    skip = {"name", "learning_rate"}
    return {f.name: getattr(opt, f.name) for f in fields(opt) if f.name not in skip}


def _optimizer(optimizer: str | Optimizer, learning_rate: float | None) -> Optimizer:
    """The step optimizer to trace; η applies to an optimizer given by name."""
    if not isinstance(optimizer, str) and learning_rate is not None:
        raise ParameterError(
            "learning_rate: give it with an optimizer name, not an optimizer object"
        )
    opt = get_optimizer(
        optimizer, **({} if learning_rate is None else {"learning_rate": learning_rate})
    )
    if not isinstance(opt, Optimizer):  # L-BFGS and the genetic algorithm
        raise ParameterError(
            f"optimizer: {opt.name} trains the whole run at once; only step rules can be traced"
        )
    return opt


@dataclass(frozen=True)
class _Before:
    """What the step overwrites, copied before it: per layer W, b and the momentum velocity."""

    W: list[Array]
    b: list[Array]
    velocity: list[Array]


def _snapshot(network: Network | CascadeNetwork, opt: Optimizer, state: State) -> _Before:
    """Copies of the weights, biases and (momentum only) velocity before the step."""
    velocity = [v.copy() for v in state["velocity"]] if isinstance(opt, Momentum) else []
    return _Before(
        W=[ly.W.copy() for ly in network.layers],
        b=[ly.b.copy() for ly in network.layers],
        velocity=velocity,
    )


def _per_layer(flat: list[Array]) -> list[Pair]:
    """The optimizer's flat list [W₀, b₀, W₁, b₁, …] as per-layer pairs [(W₀, b₀), (W₁, b₁), …]."""
    return list(zip(flat[0::2], flat[1::2], strict=True))


def _momentum_parts(
    opt: Optimizer, result: StepResult, before: _Before, n_layers: int
) -> tuple[list[Pair | None], list[Pair | None]]:
    """Per layer, the two parts of a momentum update Δw = −η ∂J/∂w + μ v (None otherwise).

    v is the velocity before the step for classic momentum and the new one for Nesterov, so
    that the two parts add up to the Δw training applied.
    """
    if not isinstance(opt, Momentum):
        return [None] * n_layers, [None] * n_layers
    eta, mu = opt.learning_rate, opt.momentum
    v = result.state["velocity"] if opt.nesterov else before.velocity
    gradient_terms: list[Pair | None] = [*_per_layer([-eta * g for g in result.gradients.flat()])]
    momentum_terms: list[Pair | None] = [*_per_layer([mu * vi for vi in v])]
    return gradient_terms, momentum_terms


def _error_signal(
    network: Network | CascadeNetwork, result: StepResult, before: _Before, Y: Array, l: int
) -> Array:
    """−∂E/∂o of layer l, (n, n_out): from the loss at the output, Σₖ δₖ wₖⱼ below it.

    The hidden layers' sum uses the weights above *before* the update, as backpropagation did.
    """
    fp, grads = result.forward, result.gradients
    if l == len(network.layers) - 1:
        return -network.loss.gradient(Y, fp.a[l])
    if isinstance(network, CascadeNetwork):  # every later block reads this one
        return network.error_signal(l, grads.delta, before.W)
    return grads.delta[l + 1] @ before.W[l + 1]  # Σₖ δₖ wₖⱼ


def _layer_state(state: State, l: int) -> dict[str, Pair]:
    """The per-parameter optimizer state of layer l worth showing (:data:`STATE_KEYS`)."""
    return {
        key: _per_layer(values)[l]
        for key, values in state.items()
        if key in STATE_KEYS and isinstance(values, list)
    }


def _scalar_state(state: State) -> dict[str, Any]:
    """The optimizer's scalar state after the step (Adam's t, …)."""
    return {
        key: value
        for key, value in state.items()
        if isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
    }


def _layer_traces(
    network: Network | CascadeNetwork, opt: Optimizer, result: StepResult, before: _Before, Y: Array
) -> list[LayerTrace]:
    """One :class:`LayerTrace` per layer, read off the step's result and the copies before it."""
    fp, grads = result.forward, result.gradients
    updates = _per_layer(result.updates)
    gradient_terms, momentum_terms = _momentum_parts(opt, result, before, len(network.layers))
    layers = []
    for l, ly in enumerate(network.layers):
        f = ly.activation
        layers.append(
            LayerTrace(
                activation=f.name,
                x=fp.layer_input(l),
                z=fp.z[l],
                a=fp.a[l],
                derivative=None if f.derivative is None else f.derivative(fp.z[l], fp.a[l]),
                error_signal=_error_signal(network, result, before, Y, l),
                delta=grads.delta[l],
                grad_W=grads.dW[l],
                grad_b=grads.db[l],
                W_before=before.W[l],
                W_after=ly.W.copy(),
                b_before=before.b[l],
                b_after=ly.b.copy(),
                dW=updates[l][0],
                db=updates[l][1],
                gradient_term=gradient_terms[l],
                momentum_term=momentum_terms[l],
                state=_layer_state(result.state, l),
            )
        )
    return layers


class StepOptions(TypedDict, total=False):
    """The keyword options :func:`trace_steps` passes on to every :func:`trace_step`."""

    weight_decay: float
    input_names: Sequence[str] | None
    output_names: Sequence[str] | None
    target_scaling: TargetScaling | Sequence[TargetScaling] | None


def trace_step(
    network: Network | CascadeNetwork,
    x: ArrayLike,
    y: ArrayLike,
    optimizer: str | Optimizer = "sgd",
    learning_rate: float | None = None,
    state: State | None = None,
    *,
    weight_decay: float = 0.0,
    step: int = 1,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    target_scaling: TargetScaling | Sequence[TargetScaling] | None = None,
) -> tuple[StepTrace, State]:
    """Take one training step on (x, y) and record every number of it.

    The network's weights change in place, exactly as :func:`~retroprop.train.loop.train_step`
    changes them (pass ``network.copy()`` to keep the original).

    Args:
        network: the network to train.
        x: one sample (n_inputs,) or a mini-batch (n, n_inputs).
        y: its target (n_outputs,) or (n, n_outputs).
        optimizer: a name (``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adam"``, ``"rprop+"``,
            ``"quickprop"``, …) or an optimizer object; L-BFGS is not a step rule and cannot be
            traced.
        learning_rate: η for an optimizer given by name (its default when None).
        state: the optimizer state from the previous step (None: a fresh one).
        weight_decay: λ of the L2 penalty, as in :func:`~retroprop.train.loop.fit`.
        step: the number this step gets in the trace.
        input_names: what each input is, e.g. ``("bill_length", "island=Dream", …)``; the
            views show them next to x₁, x₂, …; None: the inputs are only numbered.
        output_names: what each output is (class labels, or the target column).
        target_scaling: (column, mean, scale) of a standardised regression target, so the
            views can say what the standardised y means; several targets (multi-output
            regression): a sequence of them, one per output.

    Returns:
        The :class:`StepTrace` and the optimizer state to pass to the next step.
    """
    opt = _optimizer(optimizer, learning_rate)
    X, Y = _as_batch(network, x, y)
    labels = _labels(network, input_names, output_names, target_scaling)
    if state is None:
        state = opt.init(network.params())
    before = _snapshot(network, opt, state)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        result = train_step(network, opt, state, X, Y, weight_decay)
        o_after = network.predict(X)
    trace = _step_trace(network, opt, result, before, X, Y, o_after, weight_decay, step, labels)
    return trace, result.state


_Labels = tuple[tuple[str, ...] | None, tuple[str, ...] | None, tuple[TargetScaling, ...] | None]
"""The names of the inputs and outputs and a regression target's scaling (one per target
column), checked."""


def _labels(
    network: Network | CascadeNetwork,
    input_names: Sequence[str] | None,
    output_names: Sequence[str] | None,
    target_scaling: TargetScaling | Sequence[TargetScaling] | None,
) -> _Labels:
    """What the inputs and outputs are called (one name each, or None) and the target's
    scaling as :class:`TargetScaling` (one per target column)."""
    inputs = _names(input_names, network.sizes[0], "input_names")
    outputs = _names(output_names, network.sizes[-1], "output_names")
    if target_scaling is None:
        return inputs, outputs, None
    one = len(target_scaling) == 3 and isinstance(target_scaling[0], str)
    scalings = [target_scaling] if one else list(target_scaling)
    scaling = tuple(TargetScaling(*s) for s in scalings)  # type: ignore[misc]
    if len(scaling) not in (1, network.sizes[-1]):
        raise ParameterError(
            f"target_scaling: expected one (column, mean, scale) or one per output "
            f"({network.sizes[-1]}), got {len(scaling)}"
        )
    return inputs, outputs, scaling


def _step_trace(
    network: Network | CascadeNetwork,
    opt: Optimizer,
    result: StepResult,
    before: _Before,
    X: Array,
    Y: Array,
    o_after: Array,
    weight_decay: float,
    step: int,
    labels: _Labels,
) -> StepTrace:
    """The record of a step taken: the error before and after it (outputs o of the forward
    pass, and ``o_after`` with the new weights), the optimizer, every layer's numbers."""
    loss = network.loss
    inputs, outputs, scaling = labels
    return StepTrace(
        x=X,
        y=Y,
        loss=loss.name,
        E_before=loss.value(Y, result.forward.output),
        E_after=loss.value(Y, o_after),
        objective=float(result.loss),
        learning_rate=float(opt.learning_rate),
        optimizer=opt.name,
        optimizer_settings=_settings(opt),
        optimizer_scalars=_scalar_state(result.state),
        weight_decay=float(weight_decay),
        layers=_layer_traces(network, opt, result, before, Y),
        network=repr(network),
        step=step,
        input_names=inputs,
        output_names=outputs,
        target_scaling=None if scaling is None else scaling[0],
        more_scaling=() if scaling is None else scaling[1:],
    )


def trace_steps(
    network: Network | CascadeNetwork, x: ArrayLike, y: ArrayLike,
    optimizer: str | Optimizer = "sgd", learning_rate: float | None = None,
    state: State | None = None, *, steps: int = 1, **options: Unpack[StepOptions],
) -> tuple[list[StepTrace], State]:  # fmt: skip
    """Take ``steps`` consecutive training steps on the same (x, y), tracing each.

    Arguments as for :func:`trace_step`; ``options`` are its keyword arguments
    (``weight_decay``, ``input_names``, ``output_names``, ``target_scaling``). The optimizer
    state carries over from step to step, so momentum builds up and Rprop adapts its step
    sizes as in training.

    Returns:
        One :class:`StepTrace` per step and the final optimizer state.
    """
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ParameterError(f"steps must be a positive integer, got {steps!r}")
    opt = _optimizer(optimizer, learning_rate)
    traces: list[StepTrace] = []
    for s in range(1, int(steps) + 1):
        trace, state = trace_step(network, x, y, opt, state=state, step=s, **options)
        traces.append(trace)
    assert state is not None
    return traces, state
