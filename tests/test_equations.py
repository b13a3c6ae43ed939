"""The equation text derives its names and constants from the registries, one source each."""

from __future__ import annotations

import numpy as np

import retroprop as rp
from retroprop.core.activations import ACTIVATIONS, LEAKY_SLOPE
from retroprop.core.losses import LOSSES
from retroprop.core.optimizers import OPTIMIZERS
from retroprop.glassbox.equations import (
    ACTIVATION_FORMS,
    ERROR_FORMS,
    forward_equations,
    num,
    rule_of,
    update_rule,
)
from retroprop.glassbox.trace import trace_step
from retroprop.views.i18n import LANGUAGES, STRINGS


def test_every_activation_has_its_equation() -> None:
    # softmax needs the whole layer and is written by the code itself
    assert set(ACTIVATIONS) - {"softmax"} <= set(ACTIVATION_FORMS)


def test_every_loss_has_its_equation_and_a_name_in_every_language() -> None:
    assert set(LOSSES) <= set(ERROR_FORMS)
    for loss in LOSSES:
        assert set(STRINGS[loss]) == set(LANGUAGES), loss


def test_every_step_rule_has_its_update_rule() -> None:
    step_rules = {cls for cls in OPTIMIZERS.values() if hasattr(cls, "update")}
    rules = {cls.__name__: rule_of(cls) for cls in step_rules}
    assert rules["Momentum"] == "Δw = −η ∂E/∂w + μ v" and rules["Adam"] != rules["SGD"]
    # a step rule falls back to the plain gradient step only if it is SGD
    assert [name for name, rule in rules.items() if rule == rule_of(rp.SGD)] == ["SGD"]


def test_leaky_relu_equation_shows_the_registry_slope() -> None:
    net = rp.Network.create([1, 1], activation="leaky_relu", seed=0)
    net.layers[0].W[:] = 1.0
    net.layers[0].b[:] = 0.0
    trace, _ = trace_step(net, [-2.0], [0.0])
    ((_, o_eq),) = forward_equations(trace.layers[0])
    o = trace.layers[0].a[0, 0]
    assert o == LEAKY_SLOPE * -2.0  # the slope the activation really used …
    assert o_eq == f"o₁ = max({num(LEAKY_SLOPE)} × (−2), −2) = {num(o)}"  # … is the one shown


def test_nesterov_shows_the_momentum_rule() -> None:
    net = rp.Network.create([2, 2], seed=0)
    X, Y = np.array([[0.1, 0.2]]), np.array([[0.0, 1.0]])
    for name in ("momentum", "nesterov"):
        trace, _ = trace_step(net.copy(), X, Y, name)
        assert update_rule(trace) == "Δw = −η ∂E/∂w + μ v", name
