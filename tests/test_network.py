"""Tests for retroprop.core.network.

1. Finite-difference gradient checks over every sensible activation × loss pair.
2. Hand-worked one-step examples, the arithmetic written out in comments (in the style of
   scikit-learn's ``test_fit``).
3. The public worked examples of REFERENCES.md (CS231n, micrograd).
4. Structure: validation, repr, flat parameters, copies, dtypes, seeds, initializers, shapes.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import retroprop as rp
from helpers import FEW_COMBINATIONS
from retroprop.core.activations import get_activation
from retroprop.core.losses import Loss

SIGMOID = get_activation("sigmoid")
TANH = get_activation("tanh")
IDENTITY = get_activation("identity")

# E = −Σ o, so ∂E/∂o = −1 and the lecture's output δ = f′(z)·1 = ∂o/∂z: backpropagating this
# "loss" gives the derivatives of the output itself.
NEG_IDENTITY = Loss("neg_identity", lambda y, a: -a.sum(1), lambda y, a: -np.ones_like(a))


def assert_close(actual, expected, tol: float = 1e-12) -> None:
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=0, atol=tol)


# ============================================================================================
# 1. Gradient checks
# ============================================================================================
HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]
OUTPUT_LOSS = [
    ("sigmoid", "squared_error"),
    ("sigmoid", "binary_cross_entropy"),
    ("identity", "squared_error"),
    ("identity", "absolute_error"),
    ("softmax", "categorical_cross_entropy"),
    ("tanh", "squared_error"),
    ("softmax", "squared_error"),
]
KINK = 1e-3  # relu/leaky_relu net inputs and |y − o| for absolute error stay this far from 0

# gradcheck's defaults: ε = 1e-5 and a denominator floor of 1e-3, so the relative error
# |g − g_fd| / max(|g| + |g_fd|, 1e-3) < 1e-6 is a relative check for gradients above 1e-3 and
# an absolute one (1e-9) below. Central differences carry about 1e-10 of rounding noise here;
# a probe of 3,500 random networks of these kinds gave at most 8e-8.
GC = {"tolerance": 1e-6}


@st.composite
def problems(draw, output: str, loss: str):
    """(sizes, n_samples, seed) of a network with 1–3 hidden layers."""
    n_in = draw(st.integers(1, 4))
    hidden = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    n_out = draw(st.integers(2 if output == "softmax" else 1, 3))
    n_samples = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    return [n_in, *hidden, n_out], n_samples, seed


def _targets(output: str, loss: str, rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    if loss == "categorical_cross_entropy":
        return np.eye(k)[rng.integers(0, k, n)]
    if loss == "binary_cross_entropy":  # hard labels and soft ones
        return np.where(rng.random((n, k)) < 0.5, rng.integers(0, 2, (n, k)), rng.random((n, k)))
    if output in ("sigmoid", "softmax"):
        return rng.uniform(0, 1, (n, k))
    if output == "tanh":
        return rng.uniform(-1, 1, (n, k))
    return rng.normal(size=(n, k))


def _problem(hidden_act: str, output: str, loss: str, sizes, n_samples: int, seed: int):
    rng = np.random.default_rng(seed)
    net = rp.Network.create(
        sizes, activation=hidden_act, output_activation=output, loss=loss, seed=rng
    )
    X = rng.normal(size=(n_samples, sizes[0]))
    Y = _targets(output, loss, rng, n_samples, sizes[-1])
    fp = net.forward(X)
    if hidden_act in ("relu", "leaky_relu"):
        assume(all(np.min(np.abs(z)) > KINK for z in fp.z[:-1]))
    if loss == "absolute_error":
        assume(np.min(np.abs(Y - fp.output)) > KINK)
    return net, X, Y


GC_SETTINGS = settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)


@pytest.mark.parametrize(("output", "loss"), OUTPUT_LOSS)
@pytest.mark.parametrize("hidden_act", HIDDEN)
@GC_SETTINGS
@given(data=st.data())
def test_gradcheck_every_pair(hidden_act: str, output: str, loss: str, data) -> None:
    sizes, n_samples, seed = data.draw(problems(output, loss))
    net, X, Y = _problem(hidden_act, output, loss, sizes, n_samples, seed)
    theta = net.get_flat()
    result = rp.gradcheck(net, X, Y, **GC)
    assert result.ok, f"{net!r}\n{result}"
    assert len(result.weights) == len(result.biases) == len(sizes) - 1
    np.testing.assert_array_equal(net.get_flat(), theta)  # gradcheck restores the weights


@pytest.mark.parametrize(("output", "loss"), OUTPUT_LOSS)
@GC_SETTINGS
@given(
    data=st.data(),
    hidden_act=st.sampled_from(HIDDEN),
    weight_decay=st.floats(0.01, 2.0),
)
def test_gradcheck_with_weight_decay(
    output: str, loss: str, data, hidden_act: str, weight_decay: float
) -> None:
    sizes, n_samples, seed = data.draw(problems(output, loss))
    net, X, Y = _problem(hidden_act, output, loss, sizes, n_samples, seed)
    result = rp.gradcheck(net, X, Y, weight_decay=weight_decay, **GC)
    assert result.ok, f"{net!r} λ={weight_decay}\n{result}"


def test_weight_decay_objective_and_gradient() -> None:
    # J = mean E + (λ/2) Σ‖W‖², biases not decayed; ∂J/∂W gains λW, ∂J/∂b is unchanged.
    # (A gradcheck alone would pass if both J and the gradient forgot the penalty.)
    rng = np.random.default_rng(0)
    net = rp.Network.create([3, 4, 2], seed=1)
    X, Y = rng.normal(size=(5, 3)), rng.uniform(size=(5, 2))
    lam = 0.3
    J0, g0 = net.gradient(X, Y)
    J, g = net.gradient(X, Y, weight_decay=lam)
    penalty = 0.5 * lam * sum(float(np.sum(layer.W**2)) for layer in net.layers)
    assert J0 == pytest.approx(net.error(X, Y), rel=1e-15)
    assert J == pytest.approx(J0 + penalty, rel=1e-15)
    for layer, dW0, dW, db0, db in zip(net.layers, g0.dW, g.dW, g0.db, g.db, strict=True):
        assert_close(dW, dW0 + lam * layer.W, 1e-15)
        np.testing.assert_array_equal(db, db0)


def test_batch_gradient_is_mean_of_sample_gradients() -> None:
    rng = np.random.default_rng(2)
    net = rp.Network.create([3, 4, 3, 2], activation="tanh", seed=3)
    X, Y = rng.normal(size=(6, 3)), rng.uniform(size=(6, 2))
    _, batch = net.gradient(X, Y)
    singles = [net.gradient(X[i], Y[i])[1] for i in range(6)]
    for l in range(3):
        assert_close(batch.dW[l], np.mean([s.dW[l] for s in singles], axis=0), 1e-15)
        assert_close(batch.db[l], np.mean([s.db[l] for s in singles], axis=0), 1e-15)
        # δ stays per sample
        assert_close(batch.delta[l], np.vstack([s.delta[l] for s in singles]), 1e-15)


@pytest.mark.parametrize(
    ("output", "loss"),
    [
        ("identity", "squared_error"),
        ("sigmoid", "binary_cross_entropy"),
        ("softmax", "categorical_cross_entropy"),
    ],
)
def test_network_shortcut_and_chain_rule_agree(output: str, loss: str) -> None:
    rng = np.random.default_rng(4)
    net = rp.Network.create([4, 5, 3], output_activation=output, loss=loss, seed=5)
    X = rng.normal(size=(7, 4))
    Y = _targets(output, loss, rng, 7, 3)
    fp = net.forward(X)
    short = net.backward(fp, Y)
    general = net.backward(fp, Y, shortcut=False)
    for a, b in zip(short.flat() + short.delta, general.flat() + general.delta, strict=True):
        assert_close(a, b, 1e-10)


# ============================================================================================
# 2. Hand-worked one-step examples
# ============================================================================================
def test_worked_example_2_2_2_sigmoid_mazur() -> None:
    # Matt Mazur's "A Step by Step Backpropagation Example", with one bias per *neuron* (Mazur
    # shares one bias per layer and never updates it; we set both biases of a layer equal, so
    # the forward pass and the weight updates are his, and the biases are updated as well).
    x1, x2 = 0.05, 0.10
    y1, y2 = 0.01, 0.99
    eta = 0.5
    w1, w2, w3, w4, b1, b2 = 0.15, 0.20, 0.25, 0.30, 0.35, 0.35  # input → hidden
    w5, w6, w7, w8, b3, b4 = 0.40, 0.45, 0.50, 0.55, 0.60, 0.60  # hidden → output
    net = rp.Network(
        [
            rp.Dense(np.array([[w1, w2], [w3, w4]]), np.array([b1, b2]), SIGMOID),
            rp.Dense(np.array([[w5, w6], [w7, w8]]), np.array([b3, b4]), SIGMOID),
        ],
        loss="squared_error",
    )

    def sigma(z: float) -> float:
        return float(1.0 / (1.0 + np.exp(-z)))

    # Forward pass.
    # z_h1 = w1 x1 + w2 x2 + b1 = 0.15·0.05 + 0.20·0.10 + 0.35 = 0.3775
    # z_h2 = w3 x1 + w4 x2 + b2 = 0.25·0.05 + 0.30·0.10 + 0.35 = 0.3925
    z_h1 = w1 * x1 + w2 * x2 + b1
    z_h2 = w3 * x1 + w4 * x2 + b2
    # h1 = σ(0.3775) = 0.593269992, h2 = σ(0.3925) = 0.596884378
    h1, h2 = sigma(z_h1), sigma(z_h2)
    # z_o1 = w5 h1 + w6 h2 + b3 = 0.40·0.593269992 + 0.45·0.596884378 + 0.60 = 1.105905967
    # z_o2 = w7 h1 + w8 h2 + b4 = 0.50·0.593269992 + 0.55·0.596884378 + 0.60 = 1.224921404
    z_o1 = w5 * h1 + w6 * h2 + b3
    z_o2 = w7 * h1 + w8 * h2 + b4
    # o1 = σ(1.105905967) = 0.75136507, o2 = σ(1.224921404) = 0.772928465
    o1, o2 = sigma(z_o1), sigma(z_o2)
    # E = ½(y1 − o1)² + ½(y2 − o2)² = 0.274811083 + 0.023560026 = 0.298371109
    E = 0.5 * (y1 - o1) ** 2 + 0.5 * (y2 - o2) ** 2

    # Backward pass, lecture's sign.
    # δ_o1 = o1(1 − o1)(y1 − o1) = 0.75136507·0.24863493·(−0.74136507) = −0.138498562
    # δ_o2 = o2(1 − o2)(y2 − o2) = 0.772928465·0.227071535·0.217071535 = 0.038098237
    d_o1 = o1 * (1 - o1) * (y1 - o1)
    d_o2 = o2 * (1 - o2) * (y2 - o2)
    # δ_h1 = h1(1 − h1)(δ_o1 w5 + δ_o2 w7)
    #      = 0.241300709·(−0.138498562·0.40 + 0.038098237·0.50) = −0.008771355
    # δ_h2 = h2(1 − h2)(δ_o1 w6 + δ_o2 w8)
    #      = 0.240613417·(−0.138498562·0.45 + 0.038098237·0.55) = −0.009954255
    d_h1 = h1 * (1 - h1) * (d_o1 * w5 + d_o2 * w7)
    d_h2 = h2 * (1 - h2) * (d_o1 * w6 + d_o2 * w8)
    # ∂E/∂w = −δ x:  ∂E/∂w5 = −δ_o1 h1 = 0.082167041,  ∂E/∂w1 = −δ_h1 x1 = 0.000438568
    grad_W2 = [[-d_o1 * h1, -d_o1 * h2], [-d_o2 * h1, -d_o2 * h2]]
    grad_W1 = [[-d_h1 * x1, -d_h1 * x2], [-d_h2 * x1, -d_h2 * x2]]
    # Δw = η δ x:  w5 ← 0.40 + 0.5·(−0.138498562)·0.593269992 = 0.35891648
    #              w1 ← 0.15 + 0.5·(−0.008771355)·0.05 = 0.149780716
    #              b3 ← 0.60 + 0.5·(−0.138498562) = 0.530750719
    new_W2 = [
        [w5 + eta * d_o1 * h1, w6 + eta * d_o1 * h2],
        [w7 + eta * d_o2 * h1, w8 + eta * d_o2 * h2],
    ]
    new_W1 = [
        [w1 + eta * d_h1 * x1, w2 + eta * d_h1 * x2],
        [w3 + eta * d_h2 * x1, w4 + eta * d_h2 * x2],
    ]
    new_b2 = [b3 + eta * d_o1, b4 + eta * d_o2]
    new_b1 = [b1 + eta * d_h1, b2 + eta * d_h2]

    # The arithmetic above reproduces Mazur's published numbers (to his printed digits).
    assert (o1, o2, E) == pytest.approx((0.75136507, 0.772928465, 0.298371109), abs=1e-9)
    assert (d_o1, d_o2, d_h1) == pytest.approx((-0.138498562, 0.038098237, -0.008771355), abs=1e-9)
    # (half a unit in the last printed digit: some of his weights have only 8 decimals)
    assert new_W2 == [
        pytest.approx([0.35891648, 0.408666186], abs=5e-9),
        pytest.approx([0.511301270, 0.561370121], abs=5e-9),
    ]
    assert new_W1 == [
        pytest.approx([0.149780716, 0.19956143], abs=5e-9),
        pytest.approx([0.24975114, 0.29950229], abs=5e-9),
    ]

    # One SGD step of the network, on the single sample given as vectors.
    step = rp.train_step(net, rp.SGD(learning_rate=eta), {}, np.array([x1, x2]), np.array([y1, y2]))
    fp, g = step.forward, step.gradients
    assert_close(fp.z[0], [[z_h1, z_h2]])
    assert_close(fp.a[0], [[h1, h2]])
    assert_close(fp.z[1], [[z_o1, z_o2]])
    assert_close(fp.a[1], [[o1, o2]])
    assert step.loss == pytest.approx(E, abs=1e-12)
    assert_close(g.delta[1], [[d_o1, d_o2]])
    assert_close(g.delta[0], [[d_h1, d_h2]])
    assert_close(g.dW[1], grad_W2)
    assert_close(g.dW[0], grad_W1)
    assert_close(g.db[1], [-d_o1, -d_o2])
    assert_close(g.db[0], [-d_h1, -d_h2])
    assert_close(step.updates[2], np.subtract(new_W2, [[w5, w6], [w7, w8]]))
    assert_close(net.layers[1].W, new_W2)
    assert_close(net.layers[0].W, new_W1)
    assert_close(net.layers[1].b, new_b2)
    assert_close(net.layers[0].b, new_b1)

    # The hidden δ used the weights from *before* the update. With the updated w5, w7 it would
    # have been −0.007294458, which moves w1_new by 3.7e-6: far above the tolerance.
    d_h1_wrong = h1 * (1 - h1) * (d_o1 * new_W2[0][0] + d_o2 * new_W2[1][0])
    assert abs(d_h1_wrong - d_h1) > 1e-3
    assert abs((w1 + eta * d_h1_wrong * x1) - net.layers[0].W[0, 0]) > 1e-6
    assert net.error(np.array([x1, x2]), np.array([y1, y2])) < E


def test_worked_example_2_3_1_tanh_identity() -> None:
    # A 2-3-1 net of our own: tanh hidden layer, identity output, squared error, η = 0.1.
    # identity + squared error is a matched pair: the output δ = y − o comes from the shortcut.
    x1, x2 = 0.5, -1.0
    y = 0.25
    eta = 0.1
    W = [[0.1, -0.2], [0.4, 0.3], [-0.5, 0.2]]  # W[j][i] = w_ji, input i → hidden j
    b = [0.1, -0.1, 0.2]
    v = [0.3, -0.6, 0.9]  # hidden j → output
    c = 0.05
    net = rp.Network(
        [
            rp.Dense(np.array(W), np.array(b), TANH),
            rp.Dense(np.array([v]), np.array([c]), IDENTITY),
        ]
    )

    # Forward.
    # z1 = 0.1·0.5 + (−0.2)(−1) + 0.1 = 0.35
    # z2 = 0.4·0.5 + 0.3·(−1) − 0.1 = −0.2
    # z3 = −0.5·0.5 + 0.2·(−1) + 0.2 = −0.25
    z = [W[j][0] * x1 + W[j][1] * x2 + b[j] for j in range(3)]
    # h = tanh(z) = (0.336375544, −0.197375320, −0.244918662)
    h = [float(np.tanh(zj)) for zj in z]
    # o = z_o = 0.3·0.336375544 − 0.6·(−0.197375320) + 0.9·(−0.244918662) + 0.05
    #         = 0.100912663 + 0.118425192 − 0.220426796 + 0.05 = 0.048911059
    o = v[0] * h[0] + v[1] * h[1] + v[2] * h[2] + c
    # E = ½(0.25 − 0.048911059)² = 0.020218381
    E = 0.5 * (y - o) ** 2

    # Backward. Output: f′ = 1, δ_o = y − o = 0.201088941.
    d_o = 1.0 * (y - o)
    # Hidden: δ_j = (1 − h_j²) δ_o v_j
    #   δ_1 = (1 − 0.336375544²)·0.201088941·0.3    =  0.053500808
    #   δ_2 = (1 − 0.197375320²)·0.201088941·(−0.6) = −0.115953069
    #   δ_3 = (1 − 0.244918662²)·0.201088941·0.9    =  0.170123931
    d_h = [(1 - h[j] ** 2) * d_o * v[j] for j in range(3)]
    # ∂E/∂v_j = −δ_o h_j = (−0.067641402, 0.039689994, 0.049250434); ∂E/∂c = −0.201088941
    # ∂E/∂w_ji = −δ_j x_i, e.g. ∂E/∂w_11 = −0.053500808·0.5 = −0.026750404
    grad_v = [-d_o * hj for hj in h]
    grad_W = [[-d_h[j] * x1, -d_h[j] * x2] for j in range(3)]
    # Δ = η δ x: v ← (0.306764140, −0.603968999, 0.895074957), c ← 0.070108894
    #            W ← [[0.102675040, −0.205350081], [0.394202347, 0.311595307],
    #                 [−0.491493803, 0.182987607]],  b ← (0.105350081, −0.111595307, 0.217012393)
    new_v = [v[j] + eta * d_o * h[j] for j in range(3)]
    new_c = c + eta * d_o
    new_W = [[W[j][0] + eta * d_h[j] * x1, W[j][1] + eta * d_h[j] * x2] for j in range(3)]
    new_b = [b[j] + eta * d_h[j] for j in range(3)]
    # After the step the same sample gives o = 0.124103942, E = 0.007924909 (down from 0.0202).

    # The comments' rounded numbers are the arithmetic's.
    assert h == pytest.approx([0.336375544, -0.197375320, -0.244918662], abs=1e-9)
    assert (o, E, d_o) == pytest.approx((0.048911059, 0.020218381, 0.201088941), abs=1e-9)
    assert d_h == pytest.approx([0.053500808, -0.115953069, 0.170123931], abs=1e-9)
    assert new_v == pytest.approx([0.306764140, -0.603968999, 0.895074957], abs=1e-9)
    assert new_W[2] == pytest.approx([-0.491493803, 0.182987607], abs=1e-9)

    X, Y = np.array([[x1, x2]]), np.array([[y]])
    step = rp.train_step(net, rp.SGD(learning_rate=eta), {}, X, Y)
    fp, g = step.forward, step.gradients
    assert_close(fp.z[0], [z])
    assert_close(fp.a[0], [h])
    assert_close(fp.z[1], [[o]])
    assert_close(fp.a[1], [[o]])
    assert step.loss == pytest.approx(E, abs=1e-12)
    assert_close(g.delta[1], [[d_o]])
    assert_close(g.delta[0], [d_h])
    assert_close(g.dW[1], [grad_v])
    assert_close(g.db[1], [-d_o])
    assert_close(g.dW[0], grad_W)
    assert_close(g.db[0], [-dj for dj in d_h])
    assert_close(net.layers[1].W, [new_v])
    assert_close(net.layers[1].b, [new_c])
    assert_close(net.layers[0].W, new_W)
    assert_close(net.layers[0].b, new_b)
    assert_close(net.predict(X), [[0.12410394219296147]])
    assert net.error(X, Y) == pytest.approx(0.007924908685676593, abs=1e-12)

    # Hidden δ with the *updated* v would differ in the 3rd digit: the check above is sharp.
    d_h_wrong = [(1 - h[j] ** 2) * d_o * new_v[j] for j in range(3)]
    assert max(abs(p - q) for p, q in zip(d_h, d_h_wrong, strict=True)) > 5e-4


def test_worked_example_sklearn_test_fit_with_weight_decay() -> None:
    # scikit-learn's test_fit: 3-2-1, logistic units, log loss, L2 α = 0.1, η = 0.1, x =
    # (0.6, 0.8, 0.7), y = 0. In our terms: sigmoid + binary cross-entropy (a matched pair,
    # output δ = y − o), weight_decay = 0.1. scikit-learn stores W as (n_in, n_out); we store
    # its transpose. (Checked once against scikit-learn 1.x partial_fit: equal to the last bit.)
    x = [0.6, 0.8, 0.7]
    y = 0.0
    eta, lam = 0.1, 0.1
    W = [[0.1, 0.3, 0.5], [0.2, 0.1, 0.0]]
    b = [0.1, 0.1]
    v = [0.1, 0.2]
    c = 1.0
    net = rp.Network(
        [
            rp.Dense(np.array(W), np.array(b), SIGMOID),
            rp.Dense(np.array([v]), np.array([c]), SIGMOID),
        ],
        loss="binary_cross_entropy",
    )

    def sigma(z: float) -> float:
        return float(1.0 / (1.0 + np.exp(-z)))

    # h1 = σ(0.6·0.1 + 0.8·0.3 + 0.7·0.5 + 0.1) = σ(0.75) = 0.679178699175393
    # h2 = σ(0.6·0.2 + 0.8·0.1 + 0.7·0.0 + 0.1) = σ(0.30) = 0.574442516811659
    h = [sigma(sum(W[j][i] * x[i] for i in range(3)) + b[j]) for j in range(2)]
    # o = σ(0.1·h1 + 0.2·h2 + 1) = σ(1.182806373) = 0.765452022
    #   (scikit-learn's comment says 0.7654329236196236, a slip in the 5th digit; its
    #   assertions, 3 decimals, are unaffected)
    o = sigma(v[0] * h[0] + v[1] * h[1] + c)
    # δ_o = y − o = −0.765452022;  δ_j = h_j(1 − h_j) δ_o v_j = (−0.016678816, −0.037424222)
    d_o = y - o
    d_h = [h[j] * (1 - h[j]) * d_o * v[j] for j in range(2)]
    # ∂J/∂w = −δ x + λ w, ∂J/∂b = −δ (biases not decayed); w ← w − η ∂J/∂w
    new_v = [v[j] - eta * (-d_o * h[j] + lam * v[j]) for j in range(2)]
    new_c = c - eta * (-d_o)
    new_W = [[W[j][i] - eta * (-d_h[j] * x[i] + lam * W[j][i]) for i in range(3)] for j in range(2)]
    new_b = [b[j] - eta * (-d_h[j]) for j in range(2)]

    assert h == pytest.approx([0.679178699175393, 0.574442516811659], abs=1e-15)
    assert o == pytest.approx(0.765452022, abs=1e-9)
    assert d_h == pytest.approx([-0.016678816, -0.037424222], abs=1e-9)
    # scikit-learn's own expected values (it asserts them to 3 decimals; its comment rounds
    # some intermediates, so more digits would not hold).
    np.testing.assert_almost_equal(
        np.transpose(new_W),
        [[0.098, 0.195756], [0.2956664, 0.096008], [0.4939998, -0.002244]],
        decimal=3,
    )
    np.testing.assert_almost_equal(new_v, [0.04706, 0.154089], decimal=3)
    np.testing.assert_almost_equal(new_b, [0.098333, 0.09626], decimal=3)
    np.testing.assert_almost_equal(new_c, 0.9235, decimal=3)

    step = rp.train_step(
        net, rp.SGD(learning_rate=eta), {}, np.array([x]), np.array([[y]]), weight_decay=lam
    )
    assert_close(step.forward.a[0], [h])
    assert_close(step.gradients.delta[1], [[d_o]])
    assert_close(step.gradients.delta[0], [d_h])
    # J = −log(1 − o) + (λ/2) Σ w²
    penalty = 0.5 * lam * (sum(w * w for row in W for w in row) + sum(w * w for w in v))
    assert step.loss == pytest.approx(-np.log(1 - o) + penalty, abs=1e-12)
    assert_close(net.layers[0].W, new_W)
    assert_close(net.layers[0].b, new_b)
    assert_close(net.layers[1].W, [new_v])
    assert_close(net.layers[1].b, [new_c])
    # scikit-learn's last check: predict_proba after the step ≈ 0.739.
    assert net.predict(np.array(x))[0, 0] == pytest.approx(0.739, abs=1e-3)


# ============================================================================================
# 3. Public worked examples (REFERENCES.md)
# ============================================================================================
def _output_derivatives(net: rp.Network, x: np.ndarray):
    """(o, ∂o/∂z, ∂o/∂W, ∂o/∂b, ∂o/∂x) of a one-neuron network, via backward with E = −o."""
    fp = net.forward(x)
    g = net.backward(fp, np.zeros((1, 1)))
    delta = g.delta[-1]  # lecture's δ = f′(z)·(−∂E/∂o) = f′(z)
    # E = −o, so ∂o/∂w = −∂E/∂w; and ∂o/∂x = δ W (backprop one layer further).
    return fp.output[0, 0], delta[0, 0], -g.dW[0][0], -g.db[0][0], (delta @ net.layers[0].W)[0]


def test_cs231n_sigmoid_neuron() -> None:
    # w = [2, −3], b = −3, x = [−1, −2]: z = 2·(−1) + (−3)(−2) − 3 = 1, o = σ(1),
    # ∂o/∂z = σ(1)(1 − σ(1)) = 0.19661193324148185, ∂o/∂x = (∂o/∂z) w, ∂o/∂w = (∂o/∂z) x.
    net = rp.Network([rp.Dense(np.array([[2.0, -3.0]]), np.array([-3.0]), SIGMOID)], NEG_IDENTITY)
    o, do_dz, do_dw, do_db, do_dx = _output_derivatives(net, np.array([-1.0, -2.0]))
    assert o == pytest.approx(0.7310585786300049, abs=1e-15)
    assert do_dz == pytest.approx(0.19661193324148185, abs=1e-15)
    assert_close(do_dx, [0.3932238664829637, -0.5898357997244456], 1e-15)
    assert_close([*do_dw, do_db], [-0.19661193324148185, -0.3932238664829637, 0.19661193324148185])


def test_micrograd_tanh_neuron() -> None:
    # x = (2, 0), w = (−3, 1), b = 6.8813735870195432: z = −6 + 0 + b = 0.8813735870195432,
    # o = tanh z = 1/√2, ∂o/∂z = 1 − o² = 0.5.
    b = 6.8813735870195432
    net = rp.Network([rp.Dense(np.array([[-3.0, 1.0]]), np.array([b]), TANH)], NEG_IDENTITY)
    fp = net.forward(np.array([2.0, 0.0]))
    assert fp.z[0][0, 0] == pytest.approx(0.8813735870195432, abs=1e-15)
    o, do_dz, do_dw, do_db, do_dx = _output_derivatives(net, np.array([2.0, 0.0]))
    assert o == pytest.approx(0.7071067811865476, abs=1e-15)
    assert do_dz == pytest.approx(0.5, abs=1e-12)
    assert_close(do_dx, [-1.5, 0.5])  # ∂o/∂x₁, ∂o/∂x₂
    assert_close(do_dw, [1.0, 0.0])  # ∂o/∂w₁, ∂o/∂w₂
    assert do_db == pytest.approx(0.5, abs=1e-12)


# ============================================================================================
# 4. Structure
# ============================================================================================
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sizes": [3]}, r"sizes: need at least 2"),
        ({"sizes": []}, r"sizes: need at least 2"),
        ({"sizes": [3, 0, 1]}, r"sizes: need at least 2 positive"),
        ({"sizes": [3, 2], "activation": ["tanh", "sigmoid"]}, r"activation: expected 1 or 1"),
        ({"sizes": [3, 4, 2], "activation": ["tanh"] * 3}, r"activation: expected 1 or 2 .* got 3"),
        ({"sizes": [3, 2], "dtype": np.float16}, r"dtype: expected float32 or float64"),
        ({"sizes": [3, 2], "dtype": np.int64}, r"dtype: expected float32 or float64"),
        ({"sizes": [3, 2], "init": "xavier"}, r"unknown init 'xavier'; valid names: uniform"),
        ({"sizes": [3, 2], "loss": "hinge"}, r"unknown loss 'hinge'"),
        ({"sizes": [3, 2], "activation": "swish"}, r"unknown activation 'swish'"),
        ({"sizes": [3, 2], "output_activation": "swish"}, r"unknown activation 'swish'"),
    ],
)
def test_create_validation(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        rp.Network.create(**kwargs)


def test_constructor_validation() -> None:
    with pytest.raises(ValueError, match="layers: a network needs at least one layer"):
        rp.Network([])
    a = rp.Dense(np.zeros((2, 3)), np.zeros(2), SIGMOID)
    with pytest.raises(ValueError, match=r"layers\[1\]: expects 3 inputs but layers\[0\] has 2"):
        rp.Network([a, rp.Dense(np.zeros((1, 3)), np.zeros(1), SIGMOID)])
    with pytest.raises(ValueError, match=r"layers\[0\]: weights must be \(n_out, n_in\)"):
        rp.Network([rp.Dense(np.zeros((2, 3)), np.zeros(3), SIGMOID)])
    with pytest.raises(ValueError, match=r"layers\[0\]: weights must be \(n_out, n_in\)"):
        rp.Network([rp.Dense(np.zeros(3), np.zeros(3), SIGMOID)])
    # Integer weights would make the forward pass cast inputs to integers: refused.
    with pytest.raises(ValueError, match=r"layers\[0\]: weights and biases must all be float"):
        rp.Network([rp.Dense(np.array([[2, -3]]), np.array([-3]), SIGMOID)])
    with pytest.raises(ValueError, match=r"layers\[1\]: .* float32 .* float64"):
        rp.Network([a, rp.Dense(np.zeros((1, 2), dtype=np.float32), np.zeros(1), SIGMOID)])


def test_repr_shows_structure() -> None:
    net = rp.Network.create([64, 10, 5, 10], seed=0)
    assert repr(net) == "Network(64 → 10 sigmoid → 5 sigmoid → 10 sigmoid, squared_error)"
    net = rp.Network.create(
        [4, 3, 2], activation="logistic", output_activation="softmax", loss="cce", seed=0
    )
    assert repr(net) == "Network(4 → 3 sigmoid → 2 softmax, categorical_cross_entropy)"
    assert net.sizes == [4, 3, 2]


def test_create_activation_per_layer() -> None:
    net = rp.Network.create([2, 3, 4, 1], activation=["relu", "tanh", "identity"], seed=0)
    assert [ly.activation.name for ly in net.layers] == ["relu", "tanh", "identity"]
    assert [ly.W.shape for ly in net.layers] == [(3, 2), (4, 3), (1, 4)]
    assert [ly.b.shape for ly in net.layers] == [(3,), (4,), (1,)]


def test_flat_round_trip_and_order() -> None:
    net = rp.Network.create([3, 4, 2], seed=0)
    theta = net.get_flat()
    assert theta.shape == ((3 + 1) * 4 + (4 + 1) * 2,)
    # Order: W₁ (row-major), b₁, W₂, b₂.
    W1, b1, W2, b2 = net.params()
    np.testing.assert_array_equal(theta, np.concatenate([W1.ravel(), b1, W2.ravel(), b2]))
    # get_flat returns a copy …
    theta[0] += 1.0
    assert W1[0, 0] == theta[0] - 1.0
    # … and set_flat writes in place (the arrays stay the same objects for optimizer state).
    other = rp.Network.create([3, 4, 2], seed=1)
    arrays = other.params()
    other.set_flat(net.get_flat())
    assert all(p is q for p, q in zip(arrays, other.params(), strict=True))
    np.testing.assert_array_equal(other.get_flat(), net.get_flat())
    X = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_array_equal(other.predict(X), net.predict(X))
    new = np.arange(theta.size, dtype=float)
    other.set_flat(new)
    np.testing.assert_array_equal(other.get_flat(), new)
    np.testing.assert_array_equal(other.layers[0].W[1], [3.0, 4.0, 5.0])
    np.testing.assert_array_equal(other.layers[0].b, [12.0, 13.0, 14.0, 15.0])
    with pytest.raises(ValueError, match=r"theta: expected shape \(26,\), got \(25,\)"):
        other.set_flat(new[:-1])


def test_copy_is_independent() -> None:
    net = rp.Network.create([3, 4, 2], seed=0)
    theta = net.get_flat()
    clone = net.copy()
    assert repr(clone) == repr(net)
    X = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_array_equal(clone.predict(X), net.predict(X))
    clone.layers[0].W[0, 0] += 1.0
    clone.layers[1].b[:] = 7.0
    rp.train_step(clone, rp.SGD(learning_rate=0.5), {}, X, np.zeros((5, 2)))
    np.testing.assert_array_equal(net.get_flat(), theta)
    assert not np.array_equal(clone.get_flat(), theta)


@pytest.mark.parametrize(("hidden", "output", "loss"), FEW_COMBINATIONS)
def test_float32_stays_float32(hidden: str, output: str, loss: str) -> None:
    kw = {"activation": hidden, "output_activation": output, "loss": loss, "seed": 3}
    net = rp.Network.create([4, 5, 3, 3], dtype=np.float32, **kw)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 4))  # float64 input is cast to the network's dtype
    Y = np.eye(3)[rng.integers(0, 3, 6)]
    assert net.dtype == np.float32
    assert all(p.dtype == np.float32 for p in net.params())
    fp = net.forward(X)
    assert fp.x.dtype == np.float32
    assert all(z.dtype == np.float32 for z in fp.z)
    assert all(a.dtype == np.float32 for a in fp.a)
    g = net.backward(fp, Y, weight_decay=0.1)
    assert all(d.dtype == np.float32 for d in g.delta)
    assert all(p.dtype == np.float32 for p in g.flat())
    step = rp.train_step(net, rp.SGD(learning_rate=0.1), {}, X, Y, weight_decay=0.1)
    assert all(u.dtype == np.float32 for u in step.updates)
    assert all(p.dtype == np.float32 for p in net.params())
    assert net.get_flat().dtype == np.float32
    # … and it computes the same thing as float64, to float32 precision.
    net32 = rp.Network.create([4, 5, 3, 3], dtype=np.float32, **kw)
    net64 = rp.Network.create([4, 5, 3, 3], **kw)
    _, g32 = net32.gradient(X, Y)
    _, g64 = net64.gradient(X, Y)
    for a, b in zip(g32.flat(), g64.flat(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_predict_accepts_a_single_sample() -> None:
    net = rp.Network.create([3, 4, 2], seed=0)
    x = np.array([0.1, -0.2, 0.3])
    o = net.predict(x)
    assert o.shape == (1, 2)
    np.testing.assert_array_equal(o, net.predict(x[None, :]))
    np.testing.assert_array_equal(net.predict([[0.1, -0.2, 0.3]]), o)  # lists too
    y = np.array([0.0, 1.0])
    assert net.error(x, y) == net.error(x[None, :], y[None, :])


@pytest.mark.parametrize("shape", [(2, 4), (4,), (3, 3, 1), ()])
def test_wrong_input_shape_is_reported(shape: tuple[int, ...]) -> None:
    net = rp.Network.create([3, 4, 2], seed=0)
    with pytest.raises(ValueError, match=r"X: expected shape \(n_samples, 3\), got \("):
        net.predict(np.ones(shape))


def test_wrong_target_shape_is_reported() -> None:
    net = rp.Network.create([3, 4, 2], seed=0)
    with pytest.raises(ValueError, match=r"Y: expected shape \(5, 2\), got \(5, 3\)"):
        net.gradient(np.ones((5, 3)), np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"Y: expected shape \(5, 2\)"):
        net.error(np.ones((5, 3)), np.ones(5))
