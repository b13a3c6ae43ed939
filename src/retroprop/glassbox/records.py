"""One traced training step as plain data: :class:`LayerTrace` and :class:`StepRecord`.

This module imports nothing else of the glass box, so everything that reads a trace — the
diagnostics, the JSON form, the equations, the views — can depend on it without depending on
the tracer. :class:`retroprop.glassbox.trace.StepTrace` is a :class:`StepRecord` that can also
write itself as JSON; :func:`retroprop.glassbox.trace.trace_step` builds one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]
Pair = tuple[Array, Array]
"""(for the weights W, for the biases b) of one layer."""

__all__ = ["Array", "LayerTrace", "Pair", "StepRecord", "TargetScaling"]


class TargetScaling(NamedTuple):
    """How a regression target was standardised before training: y = (column − mean) / scale.

    The network learns (and the trace shows) the standardised y; this says what it stands for.
    """

    column: str
    mean: float
    scale: float


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
        W_before: wⱼᵢ before the step, (n_out, n_in).
        W_after: wⱼᵢ after the step, (n_out, n_in).
        b_before: bⱼ before the step, (n_out,).
        b_after: bⱼ after the step, (n_out,).
        dW: the update Δw that training added, (n_out, n_in).
        db: the update Δb that training added, (n_out,).
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
class StepRecord:
    """One weight update of a network, every number of it.

    :class:`~retroprop.glassbox.trace.StepTrace` adds the JSON form; this class is the data only.

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
        input_names: what each input xᵢ is (a column, or ``column=category`` for a one-hot
            input), (n_inputs,); None for a network without named inputs.
        output_names: what each output oₖ is (a class label, or the target column), (n_outputs,);
            None without names.
        target_scaling: for a standardised regression target, its column, mean and scale
            (of the first output, when there are several target columns).
        more_scaling: the column, mean and scale of each further output of a multi-output
            regression target (outputs 2 … k); empty otherwise.
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
    input_names: tuple[str, ...] | None = None
    output_names: tuple[str, ...] | None = None
    target_scaling: TargetScaling | None = None
    more_scaling: tuple[TargetScaling, ...] = ()

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
