"""Diagnostics of a traced step: each finding on a network built to show it; a healthy one: none."""

from __future__ import annotations

import numpy as np

import retroprop as rp
from retroprop.core.network import Dense
from retroprop.glassbox.diagnostics import Diagnostic, diagnose, diagnose_steps
from retroprop.glassbox.trace import trace_step, trace_steps


def layer(W: list[list[float]], b: list[float], activation: str) -> Dense:
    return Dense(np.array(W, dtype=float), np.array(b, dtype=float), rp.get_activation(activation))


def codes(found: list[Diagnostic]) -> list[tuple[str, int | None, int | None]]:
    return [(d.code, d.layer, d.neuron) for d in found]


def test_healthy_classic_step_has_no_findings() -> None:
    net = rp.Network(
        [
            layer([[0.15, 0.20], [0.25, 0.30]], [0.35, 0.35], "sigmoid"),
            layer([[0.40, 0.45], [0.50, 0.55]], [0.60, 0.60], "sigmoid"),
        ]
    )
    traces, _ = trace_steps(net, [0.05, 0.10], [0.01, 0.99], learning_rate=0.5, steps=5)
    assert [diagnose(t) for t in traces] == [[]] * 5
    assert diagnose_steps(traces) == []


def test_saturated_sigmoid_and_dead_relu() -> None:
    net = rp.Network(
        [
            layer([[10.0, 0.0], [0.1, 0.1], [-1.0, -1.0]], [0.0, 0.0, -0.5], "relu"),
            layer([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [0.0, 0.0], "sigmoid"),
        ]
    )
    trace, _ = trace_step(net, [0.5, 0.5], [1.0, 0.5], learning_rate=0.1)
    # relu neuron 3: z = −0.5 − 0.5 − 0.5 < 0; sigmoid output 1: z = 10 × 0.5 = 5 → o = 0.9933
    found = diagnose(trace)
    assert ("dead", 0, 2) in codes(found)
    assert ("saturated", 1, 0) in codes(found)
    saturated = next(d for d in found if d.code == "saturated")
    assert saturated.value == trace.layers[1].a[0, 0] > 0.98


def test_vanishing_and_exploding_delta() -> None:
    deep = rp.Network.create([2] + [4] * 7 + [2], init="uniform", seed=0)
    for ly in deep.layers:
        ly.W *= 0.3
    trace, _ = trace_step(deep, [0.5, 0.5], [0.0, 1.0])
    found = codes(diagnose(trace))
    assert ("vanishing", 0, None) in found
    wide = rp.Network(
        [
            layer([[1.0, 0.0]], [0.0], "identity"),
            layer([[500.0]], [0.0], "identity"),
        ]
    )
    trace, _ = trace_step(wide, [0.01, 0.0], [0.0], learning_rate=1e-9)
    assert ("exploding", 0, None) in codes(diagnose(trace))


def test_error_increased_and_oscillating() -> None:
    net = rp.Network.create([2, 2, 2], seed=0)
    X = [[0.05, 0.1], [0.9, 0.2]]
    Y = [[0.01, 0.99], [0.99, 0.01]]
    traces, _ = trace_steps(net, X, Y, learning_rate=50, steps=6)
    assert any(d.code == "error_increased" for t in traces for d in diagnose(t))
    (finding,) = diagnose_steps(traces)
    assert finding.code == "oscillating" and finding.value >= 2 and finding.step == 6
    assert finding.to_dict() == {
        "code": "oscillating",
        "value": finding.value,
        "layer": None,
        "neuron": None,
        "step": 6,
    }
