"""Tests for retroprop.core.gradcheck: it passes on correct backprop and catches broken backprop."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

import retroprop as rp
from retroprop.core.activations import ACTIVATIONS, Activation
from retroprop.core.gradcheck import GradCheckResult


def _data(n_in: int = 3, n_out: int = 2, n: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n_in)), rng.uniform(size=(n, n_out))


def test_passes_on_a_correct_network() -> None:
    net = rp.Network.create([3, 4, 3, 2], activation="tanh", seed=0)
    X, Y = _data()
    result = rp.gradcheck(net, X, Y)
    assert result.ok, str(result)
    assert result.max_error < 1e-6
    assert len(result.weights) == len(result.biases) == 3
    assert result.tolerance == 1e-6


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "leaky_relu"])
def test_defaults_do_not_flag_correct_networks(activation: str) -> None:
    # Regression: with ε = 1e-6 and a floor of 1e-8 rounding noise alone made small but correct
    # gradients fail (e.g. a 3-4-3-2 sigmoid network gave 1.9e-6 > 1e-6).
    rng = np.random.default_rng(11)
    for seed in range(8):
        sizes = [int(s) for s in rng.integers(1, 6, size=rng.integers(3, 5))]
        net = rp.Network.create(sizes, activation=activation, seed=seed)
        X, Y = _data(sizes[0], sizes[-1], n=int(rng.integers(1, 6)), seed=seed)
        result = rp.gradcheck(net, X, Y)
        assert result.ok, f"{net!r}\n{result}"


def test_leaves_the_weights_unchanged() -> None:
    net = rp.Network.create([3, 4, 2], seed=1)
    theta = net.get_flat()
    arrays = net.params()
    X, Y = _data()
    rp.gradcheck(net, X, Y)
    assert net.get_flat().tobytes() == theta.tobytes()
    assert all(p is q for p, q in zip(arrays, net.params(), strict=True))


def test_wrong_activation_derivative_fails_in_the_layers_it_feeds() -> None:
    # tanh′ = 1 − a², written wrongly as 1 − a: only the hidden layer's gradients use it.
    bad_tanh = Activation("bad_tanh", np.tanh, lambda z, a: 1.0 - a)
    net = rp.Network.create([3, 4, 2], activation=[bad_tanh, "sigmoid"], seed=2)
    X, Y = _data(seed=2)
    result = rp.gradcheck(net, X, Y)
    assert not result.ok
    assert result.max_error > 1e-2
    assert result.weights[0] > 1e-2
    assert result.biases[0] > 1e-2
    # The output layer's gradients do not involve the hidden derivative.
    assert result.weights[1] < 1e-6
    assert result.biases[1] < 1e-6
    assert str(result).endswith("FAILED")


def test_monkeypatched_registry_activation_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # σ′ = a(1 − a) replaced by a(1 + a) in the registry: a network built by name picks it up,
    # and every layer below the output is wrong.
    broken = dataclasses.replace(ACTIVATIONS["sigmoid"], derivative=lambda z, a: a * (1.0 + a))
    monkeypatch.setitem(ACTIVATIONS, "sigmoid", broken)
    net = rp.Network.create([3, 4, 3, 2], activation="sigmoid", seed=3)
    assert net.layers[0].activation is broken
    X, Y = _data(seed=3)
    result = rp.gradcheck(net, X, Y)
    assert not result.ok
    assert min(result.weights) > 1e-2  # the output layer's own f′ is sigmoid too


def test_tiny_derivative_error_is_still_caught() -> None:
    # A derivative off by 0.01 % is far above the check's resolution.
    slightly = Activation("slightly_off", np.tanh, lambda z, a: (1.0 - a * a) * (1 + 1e-4))
    net = rp.Network.create([3, 4, 2], activation=[slightly, "identity"], seed=4)
    X, Y = _data(seed=4)
    result = rp.gradcheck(net, X, Y)
    assert not result.ok
    assert 1e-5 < result.max_error < 1e-3


def test_broken_bias_gradient_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    original = rp.Network.backward

    def backward(self, fp, Y, weight_decay=0.0, *, shortcut=True):
        g = original(self, fp, Y, weight_decay, shortcut=shortcut)
        return rp.Gradients(g.delta, g.dW, [2.0 * db for db in g.db])

    monkeypatch.setattr(rp.Network, "backward", backward)
    net = rp.Network.create([3, 4, 2], seed=5)
    X, Y = _data(seed=5)
    result = rp.gradcheck(net, X, Y)
    assert not result.ok
    assert max(result.weights) < 1e-6
    # |2g − g| / (|2g| + |g|) = 1/3 wherever the bias gradient is not tiny
    assert max(result.biases) == pytest.approx(1 / 3, rel=1e-3)


def test_missing_weight_decay_gradient_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    original = rp.Network.backward

    def backward(self, fp, Y, weight_decay=0.0, *, shortcut=True):
        return original(self, fp, Y, 0.0, shortcut=shortcut)  # forgets λW

    net = rp.Network.create([3, 4, 2], seed=6)
    X, Y = _data(seed=6)
    assert rp.gradcheck(net, X, Y, weight_decay=0.5).ok
    monkeypatch.setattr(rp.Network, "backward", backward)
    assert rp.gradcheck(net, X, Y).ok  # without the L2 term nothing is missing
    result = rp.gradcheck(net, X, Y, weight_decay=0.5)
    assert not result.ok
    assert max(result.weights) > 1e-2
    assert max(result.biases) < 1e-6  # biases are not decayed


def test_non_contiguous_weights_are_checked() -> None:
    # Weights given as a transposed (Fortran-ordered) array must still be perturbed in place.
    rng = np.random.default_rng(7)
    W1 = np.asfortranarray(rng.normal(size=(4, 3)))
    assert not W1.flags.c_contiguous
    net = rp.Network(
        [
            rp.Dense(W1, rng.normal(size=4), ACTIVATIONS["tanh"]),
            rp.Dense(rng.normal(size=(2, 4)), rng.normal(size=2), ACTIVATIONS["identity"]),
        ]
    )
    X, Y = _data(seed=7)
    theta = net.get_flat()
    result = rp.gradcheck(net, X, Y)
    assert result.ok, str(result)
    np.testing.assert_array_equal(net.get_flat(), theta)


def test_zero_gradients_count_as_equal() -> None:
    # A dead ReLU layer gives exactly zero gradients; the floor keeps 0/0 out of the ratio.
    net = rp.Network.create([3, 4, 2], activation=["relu", "sigmoid"], seed=8)
    net.layers[0].b[:] = -100.0
    X, Y = _data(seed=8)
    result = rp.gradcheck(net, X, Y)
    assert result.ok
    assert result.weights[0] == 0.0
    assert result.biases[0] == 0.0


def test_tolerance_is_used() -> None:
    net = rp.Network.create([3, 4, 2], seed=9)
    X, Y = _data(seed=9)
    result = rp.gradcheck(net, X, Y, tolerance=1e-20)
    assert result.tolerance == 1e-20
    assert not result.ok  # no finite difference is that exact


def test_str_report_format() -> None:
    result = GradCheckResult(weights=[1e-9, 2e-8], biases=[3e-10, 4e-9], tolerance=1e-6)
    assert result.max_error == 2e-8
    assert result.ok
    assert str(result) == (
        "layer 1: W 1.00e-09  b 3.00e-10\n"
        "layer 2: W 2.00e-08  b 4.00e-09\n"
        "max 2.00e-08 (tolerance 1e-06): OK"
    )
    bad = GradCheckResult(weights=[1e-9], biases=[0.25], tolerance=1e-6)
    assert bad.max_error == 0.25
    assert not bad.ok
    assert str(bad) == "layer 1: W 1.00e-09  b 2.50e-01\nmax 2.50e-01 (tolerance 1e-06): FAILED"
    # ok is strict: an error equal to the tolerance fails.
    assert not GradCheckResult([1e-6], [0.0], 1e-6).ok


def test_str_report_of_a_real_check() -> None:
    net = rp.Network.create([3, 4, 3, 2], seed=10)
    X, Y = _data(seed=10)
    lines = str(rp.gradcheck(net, X, Y)).splitlines()
    assert len(lines) == 4
    for i, line in enumerate(lines[:3]):
        assert re.fullmatch(rf"layer {i + 1}: W \d\.\d\de-\d\d  b \d\.\d\de-\d\d", line), line
    assert re.fullmatch(r"max \d\.\d\de-\d\d \(tolerance 1e-06\): OK", lines[3]), lines[3]
