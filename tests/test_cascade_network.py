"""The shortcut (cascade) network of ``retroprop.core.cascade``: a hand-worked forward and
backward pass, gradients against central differences, and the layered special case."""

from __future__ import annotations

import math

import numpy as np
import pytest

from retroprop.core.activations import get_activation
from retroprop.core.cascade import CascadeNetwork
from retroprop.core.network import Dense, Network
from retroprop.errors import ParameterError


def unit(W: list[list[float]], b: list[float], activation: str) -> Dense:
    return Dense(np.array(W), np.array(b), get_activation(activation))


def small() -> CascadeNetwork:
    """One input x; unit 1 = sigmoid(0.5x + 0.1); unit 2 = tanh(−0.3x + 0.8a₁ − 0.2);
    output o = sigmoid(0.4x − 0.6a₁ + 0.9a₂ + 0.05)."""
    return CascadeNetwork(
        [unit([[0.5]], [0.1], "sigmoid"), unit([[-0.3, 0.8]], [-0.2], "tanh")],
        unit([[0.4, -0.6, 0.9]], [0.05], "sigmoid"),
    )


def test_hand_worked_forward_and_backward() -> None:
    net = small()
    x, y = 2.0, 1.0
    a1 = 1 / (1 + math.exp(-(0.5 * x + 0.1)))  # z₁ = 1.1, a₁ = 0.750260…
    a2 = math.tanh(-0.3 * x + 0.8 * a1 - 0.2)  # z₂ = −0.199792…
    o = 1 / (1 + math.exp(-(0.4 * x - 0.6 * a1 + 0.9 * a2 + 0.05)))
    fp = net.forward(np.array([[x]]))
    assert fp.output[0, 0] == pytest.approx(o, rel=1e-15)
    np.testing.assert_allclose(fp.h, [[x, a1, a2]], rtol=1e-15)
    # the lecture's deltas: δ_o = o(1 − o)(y − o); unit 2 is read by the output only,
    # unit 1 by the output *and* unit 2: δ₁ = a₁(1 − a₁)(δ_o·(−0.6) + δ₂·0.8)
    d_o = o * (1 - o) * (y - o)
    d2 = (1 - a2 * a2) * (d_o * 0.9)
    d1 = a1 * (1 - a1) * (d_o * -0.6 + d2 * 0.8)
    g = net.backward(fp, np.array([[y]]))
    deltas = [g.delta[0][0, 0], g.delta[1][0, 0], g.delta[2][0, 0]]
    np.testing.assert_allclose(deltas, [d1, d2, d_o], rtol=1e-14)
    # ∂E/∂w = −δ · (what the unit reads)
    np.testing.assert_allclose(g.dW[1], [[-d2 * x, -d2 * a1]], rtol=1e-14)
    np.testing.assert_allclose(g.dW[2], [[-d_o * x, -d_o * a1, -d_o * a2]], rtol=1e-14)
    np.testing.assert_allclose(g.db[0], [-d1], rtol=1e-14)
    assert fp.layer_input(1).shape == (1, 2) and fp.layer_input(2).shape == (1, 3)


def grown(seed: int, output: str, loss: str) -> CascadeNetwork:
    rng = np.random.default_rng(seed)
    net = CascadeNetwork.create(3, 2, output_activation=output, loss=loss, seed=seed)
    for k, act in enumerate(["tanh", "cos", "gaussian", "sigmoid"]):
        width = 2 if k == 1 else 1  # a block of two units installed together
        W = rng.normal(size=(width, net.output.n_in))
        net.install(
            Dense(W, rng.normal(size=width), get_activation(act)), rng.normal(size=(2, width))
        )
    return net


@pytest.mark.parametrize(
    ("output", "loss"),
    [
        ("sigmoid", "squared_error"),
        ("softmax", "categorical_cross_entropy"),
        ("identity", "squared_error"),
    ],
)
def test_gradients_match_central_differences(output: str, loss: str) -> None:
    net = grown(3, output, loss)
    rng = np.random.default_rng(4)
    X = rng.normal(size=(6, 3))
    Y = np.eye(2)[rng.integers(0, 2, 6)]
    g = net.backward(net.forward(X), Y, weight_decay=0.01)
    eps = 1e-6
    for p, grad in zip(net.params(), g.flat(), strict=True):
        numeric = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + eps
            up = net.error(X, Y) + 0.005 * sum(float(np.sum(u.W**2)) for u in net.layers)
            p[idx] = old - eps
            down = net.error(X, Y) + 0.005 * sum(float(np.sum(u.W**2)) for u in net.layers)
            p[idx] = old
            numeric[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_without_hidden_units_it_is_a_one_layer_network() -> None:
    cascade = CascadeNetwork.create(4, 3, output_activation="sigmoid", seed=0)
    layered = Network([Dense(cascade.output.W, cascade.output.b, cascade.output.activation)])
    X = np.random.default_rng(1).normal(size=(5, 4))
    Y = np.random.default_rng(2).random((5, 3))
    np.testing.assert_array_equal(cascade.predict(X), layered.predict(X))
    g, h = cascade.backward(cascade.forward(X), Y), layered.backward(layered.forward(X), Y)
    np.testing.assert_allclose(g.dW[0], h.dW[0], rtol=1e-15)


def test_installing_with_zero_output_weights_keeps_the_outputs() -> None:
    net = grown(5, "sigmoid", "squared_error")
    X = np.random.default_rng(6).normal(size=(4, 3))
    before = net.predict(X)
    W = np.ones((1, net.output.n_in))
    net.install(Dense(W, np.zeros(1), get_activation("sin")), np.zeros((2, 1)))
    np.testing.assert_array_equal(net.predict(X), before)
    assert repr(net) == (
        "CascadeNetwork(3 → 6 cascaded [tanh, cos, cos, gaussian, sigmoid, sin] → 2 sigmoid, "
        "squared_error)"
    )
    assert net.sizes == [3, 1, 2, 1, 1, 1, 2] and net.n_hidden == 6


def test_wrong_shapes_are_refused() -> None:
    with pytest.raises(ParameterError, match=r"hidden\[1\]: a cascade block reads the 3 columns"):
        CascadeNetwork(
            [unit([[0.5, 0.1]], [0.1], "tanh"), unit([[0.5, 0.1]], [0.1], "tanh")],
            unit([[0.1, 0.2, 0.3, 0.4]], [0.0], "sigmoid"),
        )
    with pytest.raises(ParameterError, match="softmax is only for the output"):
        CascadeNetwork([unit([[0.5]], [0.1], "softmax")], unit([[0.1, 0.2]], [0.0], "sigmoid"))
