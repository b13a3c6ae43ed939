"""A traced step (:class:`~retroprop.glassbox.records.StepRecord`) as JSON: DESIGN.md's contract.

The required fields of the contract (``learning_rate``, ``input``, ``target``,
``error_before``, ``error_after`` and per layer ``z``, ``a``, ``delta``, ``grad_weights``,
``weights_before``, ``weights_after``, ``biases_before``, ``biases_after``) keep their meaning;
every other field is described in ``schemas/step_trace.schema.json``, which the tests validate
against. JSON has no NaN or infinity: a non-finite number (after an overflow) becomes null.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from retroprop.glassbox.diagnostics import Diagnostic, diagnose, diagnose_steps
from retroprop.glassbox.records import Array, LayerTrace, StepRecord

__all__ = ["step_trace_schema", "step_trace_to_dict", "traces_to_dict"]


def _finite_or_none(v: Any) -> Any:
    if isinstance(v, list):
        return [_finite_or_none(e) for e in v]
    return v if math.isfinite(v) else None


def _json(a: ArrayLike) -> Any:
    """Plain JSON value of a number or array; non-finite entries become None."""
    v = np.asarray(a, dtype=np.float64)
    return v.tolist() if np.all(np.isfinite(v)) else _finite_or_none(v.tolist())


def _per_sample(trace: StepRecord, a: Array) -> Any:
    """A per-sample array (n, …) as JSON: the one sample's vector, or one row per sample."""
    return _json(a[0] if trace.batch_size == 1 else a)


def _update_parts(ly: LayerTrace) -> dict[str, Any] | None:
    """The −η ∂E/∂w and μ v parts of a momentum update, or None for other optimizers."""
    if ly.gradient_term is None or ly.momentum_term is None:
        return None
    return {
        "gradient_weights": _json(ly.gradient_term[0]),
        "gradient_biases": _json(ly.gradient_term[1]),
        "momentum_weights": _json(ly.momentum_term[0]),
        "momentum_biases": _json(ly.momentum_term[1]),
    }


def _layer_to_dict(trace: StepRecord, l: int) -> dict[str, Any]:
    """The JSON object of layer l: the forward pass, δ, gradients, weights and the update."""
    ly = trace.layers[l]
    return {
        "index": l,
        "role": "output" if l == len(trace.layers) - 1 else "hidden",
        "activation": ly.activation,
        "input": _per_sample(trace, ly.x),
        "z": _per_sample(trace, ly.z),
        "a": _per_sample(trace, ly.a),
        "derivative": None if ly.derivative is None else _per_sample(trace, ly.derivative),
        "error_signal": _per_sample(trace, ly.error_signal),
        "delta": _per_sample(trace, ly.delta),
        "grad_weights": _json(ly.grad_W),
        "grad_biases": _json(ly.grad_b),
        "weights_before": _json(ly.W_before),
        "weights_after": _json(ly.W_after),
        "biases_before": _json(ly.b_before),
        "biases_after": _json(ly.b_after),
        "update_weights": _json(ly.dW),
        "update_biases": _json(ly.db),
        "update_parts": _update_parts(ly),
        "optimizer_state": {
            k: {"weights": _json(w), "biases": _json(b)} for k, (w, b) in ly.state.items()
        },
    }


def _optimizer_to_dict(trace: StepRecord) -> dict[str, Any]:
    """The optimizer's name, its settings and its scalar state after the step."""
    settings = {
        k: _json(v) if isinstance(v, float) else v for k, v in trace.optimizer_settings.items()
    }
    state = {k: _json(v) for k, v in trace.optimizer_scalars.items()}
    return {"name": trace.optimizer, **settings, "state": state}


def _findings_to_json(found: Sequence[Diagnostic]) -> list[dict[str, Any]]:
    """Diagnostics as JSON objects (a non-finite value becomes null)."""
    return [{**d.to_dict(), "value": _json(d.value)} for d in found]


def _names_to_dict(trace: StepRecord) -> dict[str, Any]:
    """What the inputs and outputs are, when the trace knows (a model trained on a table):
    ``input_names``, ``output_names`` and ``target_scaling``; absent otherwise."""
    out: dict[str, Any] = {}
    if trace.input_names is not None:
        out["input_names"] = list(trace.input_names)
    if trace.output_names is not None:
        out["output_names"] = list(trace.output_names)
    if trace.target_scaling is not None:
        column, mean, scale = trace.target_scaling
        out["target_scaling"] = {"column": column, "mean": _json(mean), "scale": _json(scale)}
    if trace.more_scaling:
        out["more_target_scaling"] = [
            {"column": column, "mean": _json(mean), "scale": _json(scale)}
            for column, mean, scale in trace.more_scaling
        ]
    return out


def step_trace_to_dict(trace: StepRecord) -> dict[str, Any]:
    """The JSON object of one step (see :meth:`retroprop.glassbox.trace.StepTrace.to_dict`)."""
    return {
        "format": "retroprop.step_trace",
        "version": 1,
        "step": trace.step,
        "network": trace.network,
        "loss": trace.loss,
        "optimizer": _optimizer_to_dict(trace),
        "learning_rate": _json(trace.learning_rate),
        "weight_decay": trace.weight_decay,
        "batch_size": trace.batch_size,
        "input": _per_sample(trace, trace.x),
        "target": _per_sample(trace, trace.y),
        "output": _per_sample(trace, trace.output),
        "error_before": _json(trace.error_before),
        "error_after": _json(trace.error_after),
        "errors_before": _json(trace.E_before),
        "errors_after": _json(trace.E_after),
        "objective": _json(trace.objective),
        "layers": [_layer_to_dict(trace, l) for l in range(len(trace.layers))],
        "diagnostics": _findings_to_json(diagnose(trace)),
        **_names_to_dict(trace),
    }


def traces_to_dict(traces: Sequence[StepRecord]) -> dict[str, Any]:
    """One trace's object, or ``{"format": "retroprop.step_traces", "steps": [...]}`` for several.

    With several steps the object also carries the findings over all of them
    (``diagnostics``: an oscillating error).
    """
    if len(traces) == 1:
        return step_trace_to_dict(traces[0])
    return {
        "format": "retroprop.step_traces",
        "version": 1,
        "steps": [step_trace_to_dict(t) for t in traces],
        "diagnostics": _findings_to_json(diagnose_steps(traces)),
    }


def step_trace_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of :func:`traces_to_dict`'s output."""
    text = (
        resources.files("retroprop.glassbox")
        .joinpath("schemas/step_trace.schema.json")
        .read_text("utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema
