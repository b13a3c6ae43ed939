"""Diagnostics of a traced step: each finding on a network built to show it; a healthy one: none."""

from __future__ import annotations

import numpy as np

import retroprop as rp
from retroprop.core.network import Dense
from retroprop.glassbox.diagnostics import (
    Diagnostic,
    dead_units,
    diagnose,
    diagnose_steps,
    flat_outputs,
)
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


# The thresholds, pinned where they bite. The numbers are written out (not read from
# retroprop.glassbox.diagnostics.SATURATION) so that changing the threshold fails a test.
EPS = 1e-9


def logit(o: float) -> float:
    """The z of a sigmoid unit whose output is o."""
    return float(np.log(o / (1 - o)))


def units(activation: str, z: list[float]) -> rp.Network:
    """One layer whose unit j has net input z[j] on every input (weights 0, bias z[j])."""
    W = [[0.0, 0.0] for _ in z]
    return rp.Network([layer(W, z, activation)])


def found_units(activation: str, z: list[float], code: str) -> list[int]:
    """The units diagnose reports with ``code`` after one step of a network of :func:`units`.

    Diagnostics read z and o from before the update, so η does not matter here.
    """
    net = units(activation, z)
    trace, _ = trace_step(net, [[0.3, 0.7], [0.9, 0.1]], [[0.5] * len(z)] * 2, learning_rate=0.1)
    return [d.neuron for d in diagnose(trace) if d.code == code and d.neuron is not None]


def test_a_relu_unit_with_z_exactly_zero_is_dead() -> None:
    # z = 0 on every sample: o = max(0, 0) = 0 and f′(0) = 0, so no δ reaches the unit.
    # Units: z = 0 (dead), z = −1e-9 (dead), z = +1e-9 (alive: f′ = 1).
    net = units("relu", [0.0, -EPS, EPS])
    trace, _ = trace_step(net, [[0.3, 0.7], [0.9, 0.1]], [[0.5] * 3] * 2, learning_rate=0.1)
    assert trace.layers[0].z[:, 0].tolist() == [0.0, 0.0]  # exactly zero, not rounded
    dead = [d for d in diagnose(trace) if d.code == "dead"]
    assert [(d.neuron, d.value) for d in dead] == [(0, 0.0), (1, -EPS)]


def test_a_relu_unit_with_z_zero_on_one_sample_and_positive_on_another_is_alive() -> None:
    net = units("relu", [0.0])
    net.layers[0].W[0] = [1.0, 0.0]  # z = x₁: 0 on the first sample, 0.9 on the second
    trace, _ = trace_step(net, [[0.0, 0.7], [0.9, 0.1]], [[0.5], [0.5]], learning_rate=0.1)
    assert not [d for d in diagnose(trace) if d.code == "dead"]


def test_sigmoid_saturation_threshold_is_0_02_from_either_end() -> None:
    z = [logit(o) for o in (0.98 + EPS, 0.98 - EPS, 0.02 - EPS, 0.02 + EPS)]
    assert found_units("sigmoid", z, "saturated") == [0, 2]


def test_tanh_saturation_threshold_is_0_98_in_absolute_value() -> None:
    z = [float(np.arctanh(o)) for o in (0.98 + EPS, 0.98 - EPS, -0.98 - EPS, -0.98 + EPS)]
    assert found_units("tanh", z, "saturated") == [0, 2]


def test_outputs_exactly_at_the_threshold_are_not_flat() -> None:
    # "o < 0.02 or o > 0.98": the thresholds themselves are still on the slope
    a = np.array([[0.02, 0.98, 0.02 - EPS, 0.98 + EPS]])
    assert flat_outputs("sigmoid", a).tolist() == [[False, False, True, True]]
    assert flat_outputs("tanh", np.array([[0.98, -0.98, 0.98 + EPS, -0.98 - EPS]])).tolist() == [
        [False, False, True, True]
    ]
    assert flat_outputs("relu", a) is None and dead_units("sigmoid", a) is None


def test_dead_units_at_zero() -> None:
    z = np.array([[0.0, 0.0, -1.0, EPS], [0.0, -EPS, 0.0, 0.0]])
    assert dead_units("relu", z).tolist() == [True, True, True, False]
