"""One training step recorded as data: the glass box.

:func:`trace_step` runs the step training really takes (:func:`retroprop.train.loop.train_step`)
and keeps what it returned — the forward pass, δ of every layer, the gradients, the updates Δw
that were added to the weights and the optimizer state — together with copies of the weights
from before the step and the error of the same samples re-evaluated with the new weights.
Nothing here recomputes the step a second way. The few derived numbers that help to explain it
(f′(z), the backpropagated sum Σₖ δₖ wₖⱼ, the −η ∂E/∂w and μ·v parts of a momentum update) are
read off the recorded values, and the tests check that they add up to what training did.

Views (rich tables, the step-through page) live elsewhere and read a :class:`StepTrace`; this
module imports none of them. :meth:`StepTrace.to_dict` is the JSON contract of DESIGN.md,
described field by field in ``schemas/step_trace.schema.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from retroprop.core.network import Network
from retroprop.core.optimizers import Momentum, Optimizer, State
from retroprop.errors import ParameterError
from retroprop.train.loop import train_step
from retroprop.train.registry import get_optimizer

Array = NDArray[np.floating]
Pair = tuple[Array, Array]

__all__ = ["LayerTrace", "StepTrace", "trace_step", "trace_steps"]

STATE_KEYS = ("velocity", "step_size", "m_hat", "v_hat")
"""Per-parameter optimizer state worth showing: momentum velocity, Rprop Δ, Adam m̂ and v̂."""


@dataclass(frozen=True)
class LayerTrace:
    """One layer of a traced step; n is the number of samples in the batch (1 online).

    Attributes:
        activation: name of f.
        x: the layer's input xᵢ, (n, n_in): the network input or the previous layer's o.
        z: net input zⱼ = Σᵢ wⱼᵢ xᵢ + bⱼ, (n, n_out).
        a: output oⱼ = f(zⱼ), (n, n_out).
        derivative: f′(zⱼ), (n, n_out); None for softmax, whose Jacobian is not diagonal.
        error_signal: −∂E/∂oⱼ, (n, n_out): yₖ − oₖ at a squared-error output, Σₖ δₖ wₖⱼ in a
            hidden layer (weights before the update). For element-wise f, δ = f′(z) · this.
        delta: δⱼ = −∂E/∂zⱼ per sample (the lecture's sign), (n, n_out).
        grad_W: ∂J/∂wⱼᵢ = −mean over the batch of δⱼ xᵢ (+ λ wⱼᵢ with weight decay),
            (n_out, n_in).
        grad_b: ∂J/∂bⱼ, (n_out,).
        W_before, W_after: wⱼᵢ before and after the step, (n_out, n_in).
        b_before, b_after: bⱼ before and after, (n_out,).
        dW, db: the updates Δw, Δb that training added, shapes of W and b.
        gradient_term: (−η ∂J/∂W, −η ∂J/∂b) of a momentum update, else None.
        momentum_term: (μ v_W, μ v_b) of a momentum update, else None; v is the previous
            velocity (classic) or the new one (Nesterov), so Δw = gradient_term + momentum_term.
        state: per-parameter optimizer state after the step, name → (for W, for b).
    """

    activation: str
    x: Array
    z: Array
    a: Array
    derivative: Array | None
    error_signal: Array
    delta: Array
    grad_W: Array
    grad_b: Array
    W_before: Array
    W_after: Array
    b_before: Array
    b_after: Array
    dW: Array
    db: Array
    gradient_term: Pair | None = None
    momentum_term: Pair | None = None
    state: dict[str, Pair] = field(default_factory=dict)

    @property
    def n_out(self) -> int:
        return int(self.W_before.shape[0])


@dataclass(frozen=True)
class StepTrace:
    """One weight update of a network, every number of it.

    Attributes:
        x: the input, (n, n_inputs); y: the target, (n, n_outputs).
        loss: name of the per-sample error E (``squared_error``: E = ½ Σₖ (yₖ − oₖ)²).
        E_before: E of each sample before the update, (n,).
        E_after: E of each sample re-evaluated with the updated weights, (n,).
        objective: J that training minimised on this batch: mean of E_before + (λ/2) Σ‖W‖².
        learning_rate: η of the optimizer.
        optimizer: its name; optimizer_settings: its parameters (momentum, β₁, …).
        optimizer_scalars: scalar optimizer state after the step (Adam's t, …).
        weight_decay: λ.
        layers: one :class:`LayerTrace` per layer, first hidden layer first.
        network: the network's structure, as its ``repr``.
        step: 1 for the first traced step, counting on in :func:`trace_steps`.
    """

    x: Array
    y: Array
    loss: str
    E_before: Array
    E_after: Array
    objective: float
    learning_rate: float
    optimizer: str
    optimizer_settings: dict[str, Any]
    optimizer_scalars: dict[str, Any]
    weight_decay: float
    layers: list[LayerTrace]
    network: str
    step: int = 1

    @property
    def batch_size(self) -> int:
        return int(self.x.shape[0])

    @property
    def output(self) -> Array:
        """The network's output o before the update, (n, n_outputs)."""
        return self.layers[-1].a

    @property
    def error_before(self) -> float:
        """Mean of E over the batch before the update (E itself for one sample)."""
        return float(np.mean(self.E_before))

    @property
    def error_after(self) -> float:
        """Mean of E over the batch after the update, same samples."""
        return float(np.mean(self.E_after))

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of DESIGN.md plus more fields (``schemas/step_trace.schema.json``).

        Per-sample arrays (input, z, a, δ, …) are vectors for one sample and lists of rows
        (one per sample) for a batch. Non-finite numbers (after an overflow) become null.
        """
        from retroprop.glassbox.trace_json import step_trace_to_dict

        return step_trace_to_dict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as strict JSON text (no NaN or Infinity)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)


def _as_batch(network: Network, x: ArrayLike, y: ArrayLike) -> tuple[Array, Array]:
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
            f"optimizer: {opt.name} is not a step rule; trace sgd, momentum, adam or rprop"
        )
    return opt


def trace_step(
    network: Network,
    x: ArrayLike,
    y: ArrayLike,
    optimizer: str | Optimizer = "sgd",
    learning_rate: float | None = None,
    state: State | None = None,
    *,
    weight_decay: float = 0.0,
    step: int = 1,
) -> tuple[StepTrace, State]:
    """Take one training step on (x, y) and record every number of it.

    The network's weights change in place, exactly as :func:`~retroprop.train.loop.train_step`
    changes them (pass ``network.copy()`` to keep the original).

    Args:
        network: the network to train.
        x: one sample (n_inputs,) or a mini-batch (n, n_inputs).
        y: its target (n_outputs,) or (n, n_outputs).
        optimizer: a name (``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adam"``, ``"rprop+"``,
            …) or an optimizer object; L-BFGS is not a step rule and cannot be traced.
        learning_rate: η for an optimizer given by name (its default when None).
        state: the optimizer state from the previous step (None: a fresh one).
        weight_decay: λ of the L2 penalty, as in :func:`~retroprop.train.loop.fit`.
        step: the number this step gets in the trace.

    Returns:
        The :class:`StepTrace` and the optimizer state to pass to the next step.
    """
    opt = _optimizer(optimizer, learning_rate)
    X, Y = _as_batch(network, x, y)
    W_before = [ly.W.copy() for ly in network.layers]
    b_before = [ly.b.copy() for ly in network.layers]
    if state is None:
        state = opt.init(network.params())
    v_before = [v.copy() for v in state["velocity"]] if isinstance(opt, Momentum) else []

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        result = train_step(network, opt, state, X, Y, weight_decay)
        o_after = network.predict(X)
    fp, grads = result.forward, result.gradients
    loss = network.loss
    L = len(network.layers)

    gradient_terms: list[Array] | None = None
    momentum_terms: list[Array] | None = None
    if isinstance(opt, Momentum):
        eta, mu = opt.learning_rate, opt.momentum
        v = result.state["velocity"] if opt.nesterov else v_before
        gradient_terms = [-eta * g for g in grads.flat()]
        momentum_terms = [mu * vi for vi in v]

    def pair(terms: list[Array] | None, l: int) -> Pair | None:
        return None if terms is None else (terms[2 * l], terms[2 * l + 1])

    layers = []
    for l, ly in enumerate(network.layers):
        act = ly.activation
        if l == L - 1:
            error_signal = -loss.gradient(Y, fp.a[l])
        else:
            error_signal = grads.delta[l + 1] @ W_before[l + 1]  # Σₖ δₖ wₖⱼ
        layers.append(
            LayerTrace(
                activation=act.name,
                x=fp.layer_input(l),
                z=fp.z[l],
                a=fp.a[l],
                derivative=None if act.derivative is None else act.derivative(fp.z[l], fp.a[l]),
                error_signal=error_signal,
                delta=grads.delta[l],
                grad_W=grads.dW[l],
                grad_b=grads.db[l],
                W_before=W_before[l],
                W_after=ly.W.copy(),
                b_before=b_before[l],
                b_after=ly.b.copy(),
                dW=result.updates[2 * l],
                db=result.updates[2 * l + 1],
                gradient_term=pair(gradient_terms, l),
                momentum_term=pair(momentum_terms, l),
                state={
                    k: (vals[2 * l], vals[2 * l + 1])
                    for k, vals in result.state.items()
                    if k in STATE_KEYS and isinstance(vals, list)
                },
            )
        )
    trace = StepTrace(
        x=X,
        y=Y,
        loss=loss.name,
        E_before=loss.value(Y, fp.output),
        E_after=loss.value(Y, o_after),
        objective=float(result.loss),
        learning_rate=float(opt.learning_rate),
        optimizer=opt.name,
        optimizer_settings=_settings(opt),
        optimizer_scalars={
            k: v
            for k, v in result.state.items()
            if isinstance(v, (int, float, np.floating)) and not isinstance(v, bool)
        },
        weight_decay=float(weight_decay),
        layers=layers,
        network=repr(network),
        step=step,
    )
    return trace, result.state


def trace_steps(
    network: Network,
    x: ArrayLike,
    y: ArrayLike,
    optimizer: str | Optimizer = "sgd",
    learning_rate: float | None = None,
    state: State | None = None,
    *,
    steps: int = 1,
    weight_decay: float = 0.0,
) -> tuple[list[StepTrace], State]:
    """Take ``steps`` consecutive training steps on the same (x, y), tracing each.

    Arguments as for :func:`trace_step`. The optimizer state carries over from step to step,
    so momentum builds up and Rprop adapts its step sizes as in training.

    Returns:
        One :class:`StepTrace` per step and the final optimizer state.
    """
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ParameterError(f"steps must be a positive integer, got {steps!r}")
    opt = _optimizer(optimizer, learning_rate)
    traces: list[StepTrace] = []
    for s in range(1, int(steps) + 1):
        trace, state = trace_step(
            network, x, y, opt, state=state, weight_decay=weight_decay, step=s
        )
        traces.append(trace)
    assert state is not None
    return traces, state
