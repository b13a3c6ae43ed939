"""Tests for retroprop.core.optimizers: exact single steps against REFERENCES.md.

Every optimizer is driven through its public interface::

    state = opt.init(params)
    updates, state = opt.update(grads, state, loss)
    params[i] += updates[i]

The smooth optimizers run on f(x) = x² (gradient 2x) from x₀ = 1, whose paths are listed in
REFERENCES.md. The Rprop family is fed hand-built gradient sequences with sign changes, and every
expected step size, update and remembered gradient is worked out by hand in the comments.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from retroprop.core import optimizers as core_optimizers
from retroprop.core.optimizers import (
    SGD,
    Adam,
    Momentum,
    Optimizer,
    Rprop,
    ScikitLearnAdam,
)
from retroprop.train.registry import TRAINERS as OPTIMIZERS
from retroprop.train.registry import get_optimizer
from retroprop.train.solvers import LBFGS, SOLVERS, Solver

# -- helpers ---------------------------------------------------------------------------------


def quadratic_path(opt: Optimizer, n_steps: int, x0: float = 1.0) -> list[float]:
    """x₁ … xₙ of opt on f(x) = x², g = 2x, from x₀, through init/update."""
    x = np.array([x0])
    state = opt.init([x])
    path = []
    for _ in range(n_steps):
        updates, state = opt.update([2.0 * x], state, float(x[0] ** 2))
        x += updates[0]
        path.append(float(x[0]))
    return path


def quadratic_paths_multi(
    opt: Optimizer, n_steps: int, x0: Sequence[np.ndarray]
) -> list[np.ndarray]:
    """Final arrays after n_steps on f = Σ x² over several parameter arrays at once."""
    params = [np.array(p, dtype=np.float64) for p in x0]
    state = opt.init(params)
    for _ in range(n_steps):
        loss = float(sum(np.sum(p**2) for p in params))
        updates, state = opt.update([2.0 * p for p in params], state, loss)
        for p, u in zip(params, updates, strict=True):
            p += u
    return params


# -- SGD, momentum, Nesterov, Adam on f(x) = x² -------------------------------------------------

REFERENCE_PATHS = [
    # plain SGD, η = 0.1: x ← x − 0.1·2x = 0.8x
    pytest.param(lambda: SGD(learning_rate=0.1), [0.8, 0.64, 0.512], 1e-15, id="sgd"),
    # classic: v ← 0.9v − 0.1g; x ← x + v
    #   v₁ = −0.2 → 0.8;  v₂ = −0.18 − 0.16 = −0.34 → 0.46;  v₃ = −0.306 − 0.092 = −0.398 → 0.062
    #   v₄ = −0.3582 − 0.0124 = −0.3706 → −0.3086
    pytest.param(
        lambda: Momentum(learning_rate=0.1, momentum=0.9),
        [0.8, 0.46, 0.062, -0.3086],
        1e-12,
        id="momentum",
    ),
    # Nesterov (PyTorch form): b ← 0.9b + g; x ← x − 0.1(g + 0.9b)
    #   b₁ = 2 → x = 1 − 0.1(2 + 1.8) = 0.62
    #   g = 1.24, b₂ = 3.04 → x = 0.62 − 0.1(1.24 + 2.736) = 0.2224
    pytest.param(
        lambda: Momentum(learning_rate=0.1, momentum=0.9, nesterov=True),
        [0.62, 0.2224, -0.108352, -0.32482304],
        1e-12,
        id="nesterov",
    ),
    # Adam, Algorithm 1 with the paper's defaults
    pytest.param(
        lambda: Adam(),
        [0.999000000005, 0.9980000262138343, 0.9970000960651408],
        1e-12,
        id="adam-defaults",
    ),
    pytest.param(
        lambda: Adam(learning_rate=0.1),
        [0.9000000005, 0.8004122286917928, 0.7015862729460303],
        1e-12,
        id="adam-0.1",
    ),
]


@pytest.mark.parametrize(("make", "expected", "atol"), REFERENCE_PATHS)
def test_reference_paths_on_x_squared(make, expected, atol) -> None:
    path = quadratic_path(make(), len(expected))
    np.testing.assert_allclose(path, expected, rtol=0, atol=atol)


def test_sgd_first_steps_are_exact() -> None:
    # 1 − 0.2 = 0.8, 0.8 − 0.16 = 0.64, 0.64 − 0.128 = 0.512: all equal to the float literals
    assert quadratic_path(SGD(0.1), 3) == [0.8, 0.64, 0.512]


def test_adam_first_step_is_alpha_times_sign() -> None:
    # t = 1: m̂ = g, v̂ = g² (up to rounding), so Δθ = −α g / (|g| + ε) = −α · 2 / (2 + 1e-8)
    (x1,) = quadratic_path(Adam(learning_rate=0.1), 1)
    assert x1 == pytest.approx(1.0 - 0.1 * 2.0 / (2.0 + 1e-8), rel=0, abs=1e-15)
    # the "efficient" Keras form (ε̂ = ε·√(1 − β₂ᵗ)) would give 1 − 0.1·2/(2 + 1e-8·√0.001)
    keras = 1.0 - 0.1 * 2.0 / (2.0 + 1e-8 * np.sqrt(1e-3))
    assert abs(x1 - keras) > 1e-10


def test_pytorch_form_of_momentum_gives_the_classic_path() -> None:
    # REFERENCES: b ← μb + g; w ← w − ηb follows the same path as v ← μv − ηg while η is const.
    w, b, path = 1.0, 0.0, []
    for _ in range(4):
        b = 0.9 * b + 2.0 * w
        w = w - 0.1 * b
        path.append(w)
    np.testing.assert_allclose(quadratic_path(Momentum(0.1, 0.9), 4), path, rtol=0, atol=1e-15)


def test_momentum_zero_is_plain_sgd() -> None:
    sgd = quadratic_path(SGD(0.1), 5)
    assert quadratic_path(Momentum(0.1, 0.0), 5) == sgd
    assert quadratic_path(Momentum(0.1, 0.0, nesterov=True), 5) == sgd


def test_momentum_state_is_the_velocity() -> None:
    opt = Momentum(0.1, 0.9)
    state = opt.init([np.array([1.0])])
    updates, state = opt.update([np.array([2.0])], state)
    # v₁ = 0.9·0 − 0.1·2 = −0.2, and the classic update is v itself
    np.testing.assert_array_equal(state["velocity"][0], [-0.2])
    np.testing.assert_array_equal(updates[0], [-0.2])


@pytest.mark.parametrize(
    "make",
    [
        lambda: SGD(0.1),
        lambda: Momentum(0.1, 0.9),
        lambda: Momentum(0.1, 0.9, nesterov=True),
        lambda: Adam(),
        lambda: Adam(0.1),
    ],
    ids=["sgd", "momentum", "nesterov", "adam", "adam-0.1"],
)
def test_every_weight_of_several_arrays_moves_independently(make) -> None:
    # Two arrays of different shapes; each entry must follow its own scalar path on x².
    x0 = [np.array([1.0, -1.0, 0.5]), np.array([[2.0, -0.25], [1.0, 0.0]])]
    final = quadratic_paths_multi(make(), 3, x0)
    for start, end in zip(x0, final, strict=True):
        alone = np.array([quadratic_path(make(), 3, float(v))[-1] for v in start.ravel()])
        np.testing.assert_allclose(end.ravel(), alone, rtol=0, atol=1e-15)
    # the entry that starts at 1 is the reference path, the one at −1 its mirror image
    reference = quadratic_path(make(), 3)[-1]
    assert final[0][0] == pytest.approx(reference, abs=1e-15)
    assert final[0][1] == pytest.approx(-reference, abs=1e-15)
    # a weight at the minimum (g = 0 all the time) never moves
    assert final[1][1, 1] == 0.0


@pytest.mark.parametrize(
    "make",
    [
        lambda: Momentum(0.1, 0.9),
        lambda: Adam(0.1),
        lambda: Rprop("rprop+"),
        lambda: Rprop("irprop+"),
    ],
    ids=["momentum", "adam", "rprop+", "irprop+"],
)
def test_update_does_not_change_the_state_it_was_given(make) -> None:
    # state in, state out: replaying a step from the same state gives the same result
    opt = make()
    params = [np.array([1.0, -2.0]), np.array([[0.5]])]
    state = opt.init(params)
    _, state = opt.update([np.array([1.0, -1.0]), np.array([[2.0]])], state, 1.0)
    grads = [np.array([-1.0, -3.0]), np.array([[1.0]])]
    first, _ = opt.update(grads, state, 2.0)
    again, _ = opt.update(grads, state, 2.0)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam", *["rprop+", "irprop-"]])
def test_float32_parameters_get_float32_updates(name) -> None:
    opt = get_optimizer(name)
    params = [np.array([1.0, -1.0], dtype=np.float32), np.ones((2, 2), dtype=np.float32)]
    state = opt.init(params)
    for _ in range(2):
        updates, state = opt.update([2 * p for p in params], state, 1.0)
        assert [u.dtype for u in updates] == [np.float32, np.float32]


# -- the Rprop family on hand-built gradients ----------------------------------------------------
#
# Δ₀ = 0.1, η⁺ = 1.2, η⁻ = 0.5. Parameters: two arrays, p₀ = [a, b] and p₁ = [[c]], fed five
# gradients each (rows are iterations t = 1 … 5):
#
#        g_a   g_b   g_c        E (only iRprop⁺ looks at it)
#   t=1  +1    −1    −2         1.0
#   t=2  +2    −1    +1         1.5   up   (1.5 > 1.0)
#   t=3  −1    −1    +1         1.6   up   (1.6 > 1.5)
#   t=4  +3     0    −1         1.2   down (1.2 < 1.6)
#   t=5  +1    −1    −1         1.3   up
#
# b never changes sign, so every variant treats it alike: Δ grows 0.1 → 0.12 → 0.144; at t=4
# g = 0 gives g_old·g = 0 (Δ kept) and sign(0) = 0 (no step), and the remembered gradient
# becomes 0, so at t=5 Δ is kept again (0.144) and the step is +0.144.

GRADS = [
    ([+1.0, -1.0], [[-2.0]]),
    ([+2.0, -1.0], [[+1.0]]),
    ([-1.0, -1.0], [[+1.0]]),
    ([+3.0, 0.0], [[-1.0]]),
    ([+1.0, -1.0], [[-1.0]]),
]
LOSSES = [1.0, 1.5, 1.6, 1.2, 1.3]
B = {  # weight b, identical for all variants
    "step": [0.1, 0.12, 0.144, 0.144, 0.144],
    "update": [+0.1, +0.12, +0.144, 0.0, +0.144],
    "grad_old": [-1.0, -1.0, -1.0, 0.0, -1.0],
}

# Weight a under both backtracking variants (derivation in the comments below): its one sign
# change, at t3, comes with E going up (1.6 > 1.5), so iRprop⁺ undoes the step as Rprop⁺ does.
A_BACKTRACKED = {
    "step": [0.1, 0.12, 0.06, 0.06, 0.072],
    "update": [-0.1, -0.12, +0.12, -0.06, -0.072],
    "grad_old": [1.0, 2.0, 0.0, 3.0, 1.0],
}

RPROP_EXPECTED = {
    # Rprop⁺ (weight-backtracking): on a sign change Δ shrinks, the previous step is undone,
    # g_old = 0; the next iteration then sees g_old·g = 0 and steps with the kept Δ.
    # a: t1 Δ=0.1 Δw=−0.1 | t2 1·2>0 Δ=0.12 Δw=−0.12 | t3 2·(−1)<0 Δ=0.06 Δw=+0.12 (undo), g_old=0
    #    t4 0·3=0 Δ=0.06 Δw=−0.06 | t5 3·1>0 Δ=0.072 Δw=−0.072
    # c: t1 Δ=0.1 Δw=+0.1 | t2 −2·1<0 Δ=0.05 Δw=−0.1 (undo), g_old=0 | t3 0 Δ=0.05 Δw=−0.05
    #    t4 1·(−1)<0 Δ=0.025 Δw=+0.05 (undo), g_old=0 | t5 0 Δ=0.025 Δw=+0.025
    "rprop+": {
        "a": A_BACKTRACKED,
        "c": {
            "step": [0.1, 0.05, 0.05, 0.025, 0.025],
            "update": [+0.1, -0.1, -0.05, +0.05, +0.025],
            "grad_old": [-2.0, 0.0, 1.0, 0.0, -1.0],
        },
    },
    # Rprop⁻: always steps −sign(g)·Δ with the adapted Δ, and always remembers g.
    # a: t1 Δ=0.1 −0.1 | t2 Δ=0.12 −0.12 | t3 2·(−1)<0 Δ=0.06 Δw=+0.06, g_old=−1
    #    t4 (−1)·3<0 Δ=0.03 Δw=−0.03 | t5 3·1>0 Δ=0.036 Δw=−0.036
    # c: t1 Δ=0.1 +0.1 | t2 <0 Δ=0.05 −0.05 | t3 1·1>0 Δ=0.06 −0.06 | t4 <0 Δ=0.03 +0.03
    #    t5 (−1)(−1)>0 Δ=0.036 +0.036
    "rprop-": {
        "a": {
            "step": [0.1, 0.12, 0.06, 0.03, 0.036],
            "update": [-0.1, -0.12, +0.06, -0.03, -0.036],
            "grad_old": [1.0, 2.0, -1.0, 3.0, 1.0],
        },
        "c": {
            "step": [0.1, 0.05, 0.06, 0.03, 0.036],
            "update": [+0.1, -0.05, -0.06, +0.03, +0.036],
            "grad_old": [-2.0, 1.0, 1.0, -1.0, -1.0],
        },
    },
    # iRprop⁻: on a sign change Δ shrinks, no step at all, g_old = 0.
    # a: t1 −0.1 | t2 −0.12 | t3 Δ=0.06 Δw=0, g_old=0 | t4 0·3=0 Δ=0.06 −0.06 | t5 Δ=0.072 −0.072
    # c: t1 +0.1 | t2 Δ=0.05 Δw=0, g_old=0 | t3 0 Δ=0.05 −0.05 | t4 Δ=0.025 Δw=0, g_old=0
    #    t5 0 Δ=0.025 +0.025
    "irprop-": {
        "a": {
            "step": [0.1, 0.12, 0.06, 0.06, 0.072],
            "update": [-0.1, -0.12, 0.0, -0.06, -0.072],
            "grad_old": [1.0, 2.0, 0.0, 3.0, 1.0],
        },
        "c": {
            "step": [0.1, 0.05, 0.05, 0.025, 0.025],
            "update": [+0.1, 0.0, -0.05, 0.0, +0.025],
            "grad_old": [-2.0, 0.0, 1.0, 0.0, -1.0],
        },
    },
    # iRprop⁺: as Rprop⁺, but the previous step is undone only if E went up.
    # a: sign change at t3 where E went up (1.6 > 1.5): undo the −0.12 → +0.12
    # c: sign change at t2 where E went up (1.5 > 1.0): undo the +0.1 → −0.1;
    #    sign change at t4 where E went down (1.2 < 1.6): no undo, Δw = 0; g_old = 0 both times
    "irprop+": {
        "a": A_BACKTRACKED,
        "c": {
            "step": [0.1, 0.05, 0.05, 0.025, 0.025],
            "update": [+0.1, -0.1, -0.05, 0.0, +0.025],
            "grad_old": [-2.0, 0.0, 1.0, 0.0, -1.0],
        },
    },
}


def run_rprop(opt: Rprop, grads=GRADS, losses=LOSSES):
    """Feed the gradient sequence; record (a, b, c) of step size, update, g_old and weights."""
    params = [np.array([0.0, 0.0]), np.array([[0.0]])]
    state = opt.init(params)
    rec: dict[str, list[list[float]]] = {"step": [], "update": [], "grad_old": [], "w": []}
    for (g0, g1), loss in zip(grads, losses, strict=True):
        updates, state = opt.update([np.array(g0), np.array(g1)], state, loss)
        for p, u in zip(params, updates, strict=True):
            p += u
        rec["update"].append([*updates[0], updates[1][0, 0]])
        rec["step"].append([*state["step_size"][0], state["step_size"][1][0, 0]])
        rec["grad_old"].append([*state["grad_old"][0], state["grad_old"][1][0, 0]])
        rec["w"].append([*params[0], params[1][0, 0]])
    return {k: np.array(v) for k, v in rec.items()}


@pytest.mark.parametrize("variant", ["rprop+", "rprop-", "irprop+", "irprop-"])
def test_rprop_variants_on_a_hand_built_gradient_sequence(variant) -> None:
    rec = run_rprop(Rprop(variant, learning_rate=0.1))
    exp = RPROP_EXPECTED[variant]
    for key in ("step", "update", "grad_old"):
        expected = np.column_stack([exp["a"][key], B[key], exp["c"][key]])
        np.testing.assert_allclose(rec[key], expected, rtol=0, atol=1e-15, err_msg=key)
    # the weights are the running sums of the updates (they start at 0)
    expected_w = np.cumsum(
        np.column_stack([exp["a"]["update"], B["update"], exp["c"]["update"]]), 0
    )
    np.testing.assert_allclose(rec["w"], expected_w, rtol=0, atol=1e-15)


# FANN 2.2's iRprop⁻ (fann_update_weights_irpropm) on the same sequence, Δ₀ = 0.1: with
# Δ′ = max(Δ, 1e-4), Δ ← 1.2Δ′ whenever g_old·g ≥ 0 (the first step too), Δ ← 0.5Δ′ on a sign
# change, where g is forgotten and the weight moves +Δ (FANN's "else" branch: the forgotten
# slope 0 is not negative); g = 0 also moves +Δ.
# a: t1 0 Δ=0.12 −0.12 | t2 2>0 Δ=0.144 −0.144 | t3 <0 Δ=0.072 +0.072, g_old=0
#    t4 0 Δ=0.0864 −0.0864 | t5 3>0 Δ=0.10368 −0.10368
# b: t1 Δ=0.12 +0.12 | t2 Δ=0.144 +0.144 | t3 Δ=0.1728 +0.1728 | t4 g=0: Δ=0.20736 +0.20736,
#    g_old=0 | t5 0 Δ=0.248832 +0.248832
# c: t1 Δ=0.12 +0.12 | t2 <0 Δ=0.06 +0.06, g_old=0 | t3 0 Δ=0.072 −0.072 | t4 <0 Δ=0.036
#    +0.036, g_old=0 | t5 0 Δ=0.0432 +0.0432
FANN_EXPECTED = {
    "step": [
        [0.12, 0.12, 0.12],
        [0.144, 0.144, 0.06],
        [0.072, 0.1728, 0.072],
        [0.0864, 0.20736, 0.036],
        [0.10368, 0.248832, 0.0432],
    ],
    "update": [
        [-0.12, +0.12, +0.12],
        [-0.144, +0.144, +0.06],
        [+0.072, +0.1728, -0.072],
        [-0.0864, +0.20736, +0.036],
        [-0.10368, +0.248832, +0.0432],
    ],
    "grad_old": [
        [1.0, -1.0, -2.0],
        [2.0, -1.0, 0.0],
        [0.0, -1.0, 1.0],
        [3.0, 0.0, 0.0],
        [1.0, -1.0, -1.0],
    ],
}


def test_fann_irprop_minus_on_the_hand_built_gradient_sequence() -> None:
    rec = run_rprop(Rprop("irprop-fann", learning_rate=0.1))
    for key, expected in FANN_EXPECTED.items():
        np.testing.assert_allclose(rec[key], expected, rtol=0, atol=1e-15, err_msg=key)
    np.testing.assert_allclose(rec["w"], np.cumsum(FANN_EXPECTED["update"], 0), rtol=0, atol=1e-15)


def test_fann_irprop_minus_floors_the_previous_step_at_1e_4() -> None:
    # Δ₀ = 1e-6 < 1e-4: the first step grows from the floor, Δ = 1.2e-4; a sign change then
    # halves it (6e-5, above Δ_min = 0); the next step grows from the floor again: 1.2e-4.
    opt = Rprop("irprop-fann", learning_rate=1e-6, delta_min=0.0)
    state = opt.init([np.zeros(1)])
    steps = []
    for g in (1.0, -1.0, -1.0):
        _, state = opt.update([np.array([g])], state)
        steps.append(float(state["step_size"][0][0]))
    np.testing.assert_allclose(steps, [1.2e-4, 6e-5, 1.2e-4], rtol=1e-15)


def test_rprop_plus_returns_to_the_weight_before_the_bad_step() -> None:
    # Backtracking: after the sign change at t3, a is back where it was after t1 (−0.1) and c,
    # after t2, back at its start (0).
    rec = run_rprop(Rprop("rprop+"))
    assert rec["w"][2, 0] == pytest.approx(rec["w"][0, 0], abs=1e-15)
    assert rec["w"][1, 2] == pytest.approx(0.0, abs=1e-15)


def test_irprop_plus_backtracks_only_when_the_error_went_up() -> None:
    # With E going up every time iRprop⁺ is Rprop⁺; with E going down every time it is iRprop⁻.
    up = [1.0, 2.0, 3.0, 4.0, 5.0]
    down = [5.0, 4.0, 3.0, 2.0, 1.0]
    for losses, twin in ((up, "rprop+"), (down, "irprop-")):
        got = run_rprop(Rprop("irprop+"), losses=losses)
        want = run_rprop(Rprop(twin), losses=losses)
        for key in got:
            np.testing.assert_array_equal(got[key], want[key], err_msg=f"{losses} {key}")
    # the two runs differ exactly at the sign changes, where "up" undoes the previous step:
    # c at t2 (undo +0.1), a at t3 (undo −0.12), c at t4 (undo −0.05); everything else agrees
    diff = (
        run_rprop(Rprop("irprop+"), losses=up)["update"]
        - run_rprop(Rprop("irprop+"), losses=down)["update"]
    )
    expected = [[0, 0, 0], [0, 0, -0.1], [+0.12, 0, 0], [0, 0, +0.05], [0, 0, 0]]
    np.testing.assert_allclose(diff, expected, rtol=0, atol=1e-15)


def test_irprop_plus_equal_error_is_not_up() -> None:
    # E(t) > E(t−1) is strict: an unchanged error does not trigger the undo.
    opt = Rprop("irprop+")
    w = [np.array([0.0])]
    state = opt.init(w)
    _, state = opt.update([np.array([1.0])], state, 0.7)  # Δw = −0.1
    updates, state = opt.update([np.array([-1.0])], state, 0.7)  # sign change, E equal
    np.testing.assert_array_equal(updates[0], [0.0])
    np.testing.assert_array_equal(state["grad_old"][0], [0.0])
    assert state["step_size"][0][0] == pytest.approx(0.05, abs=1e-17)
    # with a rising error the same step is undone
    state2 = opt.init(w)
    _, state2 = opt.update([np.array([1.0])], state2, 0.7)
    updates2, _ = opt.update([np.array([-1.0])], state2, 0.8)
    np.testing.assert_allclose(updates2[0], [0.1], atol=1e-17)


def test_irprop_plus_first_error_is_compared_with_infinity() -> None:
    opt = Rprop("irprop+")
    state = opt.init([np.zeros(1)])
    assert state["error_old"] == np.inf
    _, state = opt.update([np.array([1.0])], state, 123.0)
    assert state["error_old"] == 123.0


def test_irprop_plus_needs_the_loss() -> None:
    opt = Rprop("irprop+")
    with pytest.raises(ValueError, match="loss"):
        opt.update([np.ones(1)], opt.init([np.zeros(1)]), None)
    # the other variants do not look at it
    for variant in ("rprop+", "rprop-", "irprop-"):
        opt = Rprop(variant)
        updates, _ = opt.update([np.ones(1)], opt.init([np.zeros(1)]), None)
        np.testing.assert_allclose(updates[0], [-0.1])


def test_rprop_step_size_is_clipped_at_delta_max() -> None:
    # constant gradient: Δ = 0.1, 0.12, 0.144, min(0.1728, 0.15) = 0.15, min(0.18, 0.15) = 0.15
    opt = Rprop("rprop-", delta_max=0.15)
    state = opt.init([np.zeros(2)])
    steps, updates = [], []
    for _ in range(5):
        u, state = opt.update([np.array([1.0, -1.0])], state, 1.0)
        steps.append(state["step_size"][0].copy())
        updates.append(u[0])
    np.testing.assert_allclose(
        np.array(steps)[:, 0], [0.1, 0.12, 0.144, 0.15, 0.15], rtol=0, atol=1e-15
    )
    np.testing.assert_array_equal(np.array(steps)[:, 0], np.array(steps)[:, 1])
    np.testing.assert_allclose(np.array(updates)[:, 1], np.array(steps)[:, 1], atol=1e-15)


def test_rprop_step_size_is_clipped_at_delta_min() -> None:
    # alternating sign with Rprop⁻: Δ = 0.1, 0.05, 0.025, max(0.0125, 0.02) = 0.02, 0.02
    opt = Rprop("rprop-", delta_min=0.02)
    state = opt.init([np.zeros(1)])
    steps = []
    for t in range(5):
        g = 1.0 if t % 2 == 0 else -1.0
        u, state = opt.update([np.array([g])], state, 1.0)
        steps.append(state["step_size"][0][0])
        assert u[0][0] == pytest.approx(-g * steps[-1], abs=1e-17)
    np.testing.assert_allclose(steps, [0.1, 0.05, 0.025, 0.02, 0.02], rtol=0, atol=1e-17)


def test_rprop_defaults_are_riedmillers() -> None:
    opt = Rprop()
    assert (opt.variant, opt.learning_rate, opt.eta_plus, opt.eta_minus) == (
        "irprop+",
        0.1,
        1.2,
        0.5,
    )
    assert (opt.delta_max, opt.delta_min) == (50.0, 1e-6)
    assert opt.name == "irprop+"
    np.testing.assert_array_equal(
        opt.init([np.zeros((2, 3))])["step_size"][0], np.full((2, 3), 0.1)
    )


def test_rprop_learning_rate_is_the_initial_step() -> None:
    opt = Rprop("rprop-", learning_rate=0.25)
    u, _ = opt.update([np.array([-3.0, 0.5])], opt.init([np.zeros(2)]), 1.0)
    np.testing.assert_array_equal(u[0], [0.25, -0.25])  # −sign(g)·Δ₀, whatever |g|


# -- parameter validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "param"),
    [
        (lambda: SGD(learning_rate=-0.1), "learning_rate"),
        (lambda: SGD(learning_rate=0.0), "learning_rate"),
        (lambda: SGD(learning_rate=float("nan")), "learning_rate"),
        (lambda: Momentum(learning_rate=-1.0), "learning_rate"),
        (lambda: Momentum(momentum=1.0), "momentum"),
        (lambda: Momentum(momentum=-0.1), "momentum"),
        (lambda: Adam(learning_rate=-0.001), "learning_rate"),
        (lambda: Adam(beta_1=1.0), "beta_1"),
        (lambda: Adam(beta_1=-0.5), "beta_1"),
        (lambda: Adam(beta_2=1.5), "beta_2"),
        (lambda: Adam(beta_2=float("nan")), "beta_2"),
        (lambda: Adam(epsilon=0.0), "epsilon"),
        (lambda: Rprop(variant="rprop"), "variant"),
        (lambda: Rprop(variant="iRprop+"), "variant"),
        (lambda: Rprop(learning_rate=-0.1), "learning_rate"),
        (lambda: Rprop(eta_minus=1.5), "eta_minus"),
        (lambda: Rprop(eta_plus=0.9), "eta_plus"),
        (lambda: Rprop(eta_minus=0.0), "eta_minus"),
        (lambda: Rprop(eta_minus=1.2, eta_plus=0.5), "eta_minus"),
        (lambda: Rprop(delta_min=1.0, delta_max=0.5), "delta_min"),
        (lambda: Rprop(delta_min=-1e-6), "delta_min"),
        (lambda: LBFGS(max_fun=0), "max_fun"),
        (lambda: LBFGS(tol=-1.0), "tol"),
    ],
)
def test_invalid_settings_raise_value_error_naming_the_parameter(make, param) -> None:
    with pytest.raises(ValueError, match=param):
        make()


def test_bad_rprop_variant_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError) as info:
        Rprop(variant="quickprop")
    for name in ("rprop+", "rprop-", "irprop+", "irprop-", "irprop-fann"):
        assert name in str(info.value)


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.999])
def test_betas_inside_the_unit_interval_are_accepted(beta) -> None:
    assert Adam(beta_1=beta, beta_2=beta).beta_1 == beta


# -- get_optimizer -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls", "attrs"),
    [
        ("sgd", SGD, {}),
        ("momentum", Momentum, {"nesterov": False}),
        ("nesterov", Momentum, {"nesterov": True}),
        ("adam", Adam, {}),
        ("rprop+", Rprop, {"variant": "rprop+"}),
        ("rprop-", Rprop, {"variant": "rprop-"}),
        ("irprop+", Rprop, {"variant": "irprop+"}),
        ("irprop-", Rprop, {"variant": "irprop-"}),
        ("irprop-fann", Rprop, {"variant": "irprop-fann"}),
        ("rprop", Rprop, {"variant": "irprop+"}),
        ("lbfgs", LBFGS, {}),
        ("Adam", Adam, {}),
        ("IRPROP-", Rprop, {"variant": "irprop-"}),
    ],
)
def test_get_optimizer_by_name(name, cls, attrs) -> None:
    opt = get_optimizer(name)
    assert type(opt) is cls
    for key, value in attrs.items():
        assert getattr(opt, key) == value


def test_get_optimizer_nesterov_follows_the_nesterov_path() -> None:
    path = quadratic_path(get_optimizer("nesterov", learning_rate=0.1, momentum=0.9), 2)
    np.testing.assert_allclose(path, [0.62, 0.2224], atol=1e-15)


def test_get_optimizer_passes_settings() -> None:
    opt = get_optimizer("adam", learning_rate=0.1, beta_1=0.8)
    assert (opt.learning_rate, opt.beta_1) == (0.1, 0.8)
    rprop = get_optimizer("rprop-", learning_rate=0.01, delta_max=1.0)
    assert (rprop.variant, rprop.learning_rate, rprop.delta_max) == ("rprop-", 0.01, 1.0)


def test_get_optimizer_passes_objects_through() -> None:
    opt = Momentum(0.3)
    assert get_optimizer(opt) is opt
    with pytest.raises(ValueError, match="optimizer object"):
        get_optimizer(opt, learning_rate=0.1)


def test_get_optimizer_unknown_name_lists_the_valid_names() -> None:
    with pytest.raises(ValueError, match="delta_bar_delta") as info:
        get_optimizer("delta_bar_delta")
    message = str(info.value)
    for name in ("sgd", "momentum", "adam", "rprop+", "irprop-", "quickprop", "sarprop"):
        assert name in message
    assert "lbfgs" in message
    assert set(OPTIMIZERS) >= {"sgd", "momentum", "nesterov", "adam", "lbfgs"}


def test_get_optimizer_bad_settings_are_value_errors() -> None:
    with pytest.raises(ValueError, match="sgd"):
        get_optimizer("sgd", momentum=0.9)  # SGD has no momentum
    with pytest.raises(ValueError, match="learning_rate"):
        get_optimizer("momentum", learning_rate=-0.5)
    with pytest.raises(ValueError, match="beta_2"):
        get_optimizer("adam", beta_2=1.0)


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam", "irprop+"])
def test_every_step_optimizer_implements_the_protocol(name) -> None:
    assert isinstance(get_optimizer(name), Optimizer)


def test_the_core_registry_holds_step_rules_only() -> None:
    """OPTIMIZERS (core) are step rules; the solvers come only through train's lookup."""
    assert set(core_optimizers.OPTIMIZERS).isdisjoint(SOLVERS)
    assert set(OPTIMIZERS) == {*core_optimizers.OPTIMIZERS, *SOLVERS}
    for name in core_optimizers.OPTIMIZERS:
        opt = core_optimizers.get_optimizer(name)
        assert isinstance(opt, Optimizer) and not isinstance(opt, Solver)
    for name in SOLVERS:
        assert isinstance(get_optimizer(name), Solver)
        with pytest.raises(ValueError, match="unknown optimizer"):
            core_optimizers.get_optimizer(name)
    assert not hasattr(LBFGS(), "learning_rate")  # a solver has no step size


# -- scikit-learn's Adam ---------------------------------------------------------------------


def test_sklearn_adam_first_step_is_the_efficient_form() -> None:
    # t = 1, g = 2: m = 0.1·2 = 0.2, v = 0.001·4 = 0.004, ηₜ = 0.1·√(1 − 0.999) / (1 − 0.9)
    # = √0.001, Δθ = −ηₜ m / (√v + ε) = −√0.001 · 0.2 / (2√0.001 + ε) = −0.2 / (2 + ε/√0.001):
    # Algorithm 1 with ε replaced by ε / √(1 − β₂ᵗ), here ε · 31.6.
    (x1,) = quadratic_path(ScikitLearnAdam(learning_rate=0.1), 1)
    assert x1 == pytest.approx(1.0 - 0.2 / (2.0 + 1e-8 / np.sqrt(1e-3)), rel=0, abs=1e-15)
    (paper,) = quadratic_path(Adam(learning_rate=0.1), 1)
    assert abs(x1 - paper) > 1e-10


def test_sklearn_adam_steps_follow_the_formula_exactly() -> None:
    # Three steps on two arrays, against the formula written out with the same operations
    rng = np.random.default_rng(0)
    params = [rng.normal(size=(3, 2)), rng.normal(size=2)]
    grads = [[rng.normal(size=p.shape) for p in params] for _ in range(3)]
    eta, b1, b2, eps = 0.01, 0.8, 0.9, 1e-6
    opt = ScikitLearnAdam(learning_rate=eta, beta_1=b1, beta_2=b2, epsilon=eps)
    state = opt.init(params)
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t, g in enumerate(grads, start=1):
        updates, state = opt.update(g, state)
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g, strict=True)]
        v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(v, g, strict=True)]
        eta_t = eta * np.sqrt(1 - b2**t) / (1 - b1**t)
        for u, mi, vi in zip(updates, m, v, strict=True):
            np.testing.assert_array_equal(u, -eta_t * mi / (np.sqrt(vi) + eps))
        assert state["t"] == t
        assert state["m_hat"] is None and state["v_hat"] is None  # never computed in this form


def test_sklearn_adam_is_scikit_learns_optimizer() -> None:
    from sklearn.neural_network._stochastic_optimizers import AdamOptimizer

    rng = np.random.default_rng(1)
    params = [rng.normal(size=(4, 3)), rng.normal(size=3)]
    ours = [p.copy() for p in params]
    theirs = [p.copy() for p in params]
    opt = ScikitLearnAdam(learning_rate=0.05)
    state = opt.init(ours)
    reference = AdamOptimizer(theirs, learning_rate_init=0.05)
    for _ in range(5):
        g = [rng.normal(size=p.shape) for p in params]
        updates, state = opt.update(g, state)
        for p, u in zip(ours, updates, strict=True):
            p += u
        reference.update_params(theirs, g)
    # equal to rounding: scikit-learn computes (1 − β₂)·(g²), the core ((1 − β₂)·g)·g
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=0)


def test_sklearn_adam_is_registered_and_never_compiled() -> None:
    from retroprop._fast.engine import unsupported
    from retroprop.core.network import Network

    opt = get_optimizer("adam_sklearn", learning_rate=0.1, epsilon=1e-7)
    assert type(opt) is ScikitLearnAdam and OPTIMIZERS["adam_sklearn"] is ScikitLearnAdam
    assert (opt.name, opt.learning_rate, opt.epsilon) == ("adam", 0.1, 1e-7)
    # the compiled trainers implement Algorithm 1: they pick by exact type and refuse this form
    assert unsupported(Network.create([2, 1], seed=0), opt)
    assert not unsupported(Network.create([2, 1], seed=0), Adam())


def test_rprop_clamps_the_initial_step_into_its_bounds_as_pytorch_does() -> None:
    # torch.optim.Rprop: step_size.mul_(sign).clamp_(min, max) from the first step on, so an
    # lr of 100 with step_sizes=(1e-6, 50) steps 50. Δ₀ = 100 > Δ_max = 50 starts at 50;
    # Δ₀ = 1e-9 < Δ_min = 1e-6 starts at 1e-6.
    big = Rprop("irprop-", learning_rate=100.0, delta_max=50.0)
    assert big.initial_step == 50.0
    updates, state = big.update([np.array([2.0, -3.0, 0.0])], big.init([np.zeros(3)]))
    # first step: g_old = 0, so g_old·g = 0: Δ stays Δ₀ = 50 and w moves −sign(g)·Δ
    np.testing.assert_array_equal(updates[0], [-50.0, 50.0, 0.0])
    np.testing.assert_array_equal(state["step_size"][0], [50.0, 50.0, 50.0])
    small = Rprop("rprop-", learning_rate=1e-9, delta_min=1e-6)
    updates, state = small.update([np.array([4.0])], small.init([np.zeros(1)]))
    np.testing.assert_array_equal(updates[0], [-1e-6])
    np.testing.assert_array_equal(state["step_size"][0], [1e-6])


def test_rprop_when_the_product_of_the_gradients_is_zero() -> None:
    # g_old·g = 0 leaves Δ as it is, and the weight still steps −sign(g)·Δ (0 where g = 0).
    # iRprop⁻, Δ₀ = 0.1, η⁺ = 1.2, η⁻ = 0.5, three weights:
    opt = Rprop("irprop-", learning_rate=0.1)
    state = opt.init([np.zeros(3)])
    # t1: g = (1, 1, 0); g_old = 0 → Δ = (0.1, 0.1, 0.1); Δw = (−0.1, −0.1, 0)
    updates, state = opt.update([np.array([1.0, 1.0, 0.0])], state)
    np.testing.assert_array_equal(updates[0], [-0.1, -0.1, 0.0])
    # t2: g = (1, −1, 2); products (1, −1, 0):
    #   a: same sign → Δ = 0.1 × 1.2 = 0.12, Δw = −0.12
    #   b: sign change → Δ = 0.1 × 0.5 = 0.05, no step, g_old ← 0 (iRprop⁻ forgets g)
    #   c: g_old = 0 → Δ stays 0.1, Δw = −sign(2) × 0.1 = −0.1
    updates, state = opt.update([np.array([1.0, -1.0, 2.0])], state)
    np.testing.assert_allclose(updates[0], [-0.12, 0.0, -0.1], rtol=0, atol=1e-17)
    np.testing.assert_allclose(state["step_size"][0], [0.12, 0.05, 0.1], rtol=0, atol=1e-17)
    np.testing.assert_array_equal(state["grad_old"][0], [1.0, 0.0, 2.0])
    # t3: g = (1, −1, 2); b's g_old was forgotten → product 0 → Δ stays 0.05, Δw = +0.05
    updates, state = opt.update([np.array([1.0, -1.0, 2.0])], state)
    np.testing.assert_allclose(updates[0], [-0.144, 0.05, -0.12], rtol=0, atol=1e-16)
    np.testing.assert_allclose(state["step_size"][0], [0.144, 0.05, 0.12], rtol=0, atol=1e-16)


def test_momentum_keeps_the_velocity_scaled_by_eta_unlike_pytorch() -> None:
    # v ← μv − ηg, Δw = v (Keras, scikit-learn); PyTorch: b ← μb + g, Δw = −ηb. Same weights
    # while η is constant; once η changes, v still holds the old η's steps.
    g = [np.array([1.0]), np.array([2.0]), np.array([-1.0])]
    etas, mu = [0.1, 0.1, 0.5], 0.9

    def ours() -> list[float]:
        steps, state = [], None
        for eta, gi in zip(etas, g, strict=True):
            opt = Momentum(learning_rate=eta, momentum=mu)
            state = state or opt.init([np.zeros(1)])
            updates, state = opt.update([gi], state)
            steps.append(float(updates[0][0]))
        return steps

    b, torch_steps = 0.0, []
    for eta, gi in zip(etas, g, strict=True):
        b = mu * b + float(gi[0])
        torch_steps.append(-eta * b)
    got = ours()
    # t1, t2 (η = 0.1): −0.1, then 0.9 × (−0.1) − 0.2 = −0.29: the same in both forms
    np.testing.assert_allclose(got[:2], torch_steps[:2], rtol=0, atol=1e-15)
    # t3 (η = 0.5): ours 0.9 × (−0.29) + 0.5 = 0.239; PyTorch −0.5 × (0.9 × 2.9 − 1) = −0.805
    assert got[2] == pytest.approx(0.239, abs=1e-15)
    assert torch_steps[2] == pytest.approx(-0.805, abs=1e-15)


def test_the_two_adams_differ_only_where_the_second_moment_is_as_small_as_epsilon() -> None:
    core, sklearn = Adam(learning_rate=0.01), ScikitLearnAdam(learning_rate=0.01)
    for g, close in ((np.array([0.5]), True), (np.array([1e-8]), False)):
        a, _ = core.update([g], core.init([np.zeros(1)]))
        b, _ = sklearn.update([g], sklearn.init([np.zeros(1)]))
        # t = 1: Algorithm 1 gives −η g / (|g| + ε); the reordering −η √(1 − β₂) / (1 − β₁)
        # × (1 − β₁) g / (√(1 − β₂) |g| + ε) = −η g / (|g| + ε / √(1 − β₂)): ε is 31.6 times
        # larger, which only shows when |g| is near ε
        assert a[0][0] == pytest.approx(-0.01 * g[0] / (abs(g[0]) + 1e-8), rel=1e-12)
        assert b[0][0] == pytest.approx(
            -0.01 * g[0] / (abs(g[0]) + 1e-8 / np.sqrt(0.001)), rel=1e-12
        )
        assert bool(a[0][0] == pytest.approx(b[0][0], rel=1e-4)) is close
