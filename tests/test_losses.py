"""Tests for retroprop.core.losses: values, gradients, the matched-pair shortcuts, lookup."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import log_loss, mean_poisson_deviance, mean_squared_error

from retroprop.core.activations import ACTIVATIONS
from retroprop.core.losses import LOSSES, MATCHED_PAIRS, Loss, get_loss, output_grad_z


def test_registry_and_matched_pairs() -> None:
    assert set(LOSSES) == {
        "squared_error",
        "binary_cross_entropy",
        "categorical_cross_entropy",
        "absolute_error",
        "poisson",
    }
    for name, loss in LOSSES.items():
        assert loss.name == name
        assert repr(loss) == f"Loss({name!r})"
    assert MATCHED_PAIRS == {
        ("identity", "squared_error"),
        ("sigmoid", "binary_cross_entropy"),
        ("softmax", "categorical_cross_entropy"),
    }


# -- values ----------------------------------------------------------------------------------
def test_squared_error_is_half_sum_per_sample() -> None:
    se = LOSSES["squared_error"]
    y = np.array([[1.0, 0.0], [0.0, 0.0]])
    a = np.array([[0.8, 0.3], [1.0, 1.0]])
    # sample 0: ½((1 − 0.8)² + (0 − 0.3)²) = ½(0.04 + 0.09) = 0.065
    # sample 1: ½(1 + 1) = 1   (a sum over outputs, not a mean, and not without the ½)
    np.testing.assert_allclose(se.value(y, a), [0.065, 1.0], rtol=1e-15)
    assert se.value(y, a).shape == (2,)
    # The network's error is the mean over samples: (0.065 + 1) / 2
    assert se.mean(y, a) == pytest.approx(0.5325, rel=1e-15)
    # … which is n_outputs / 2 times scikit-learn's mean_squared_error.
    assert se.mean(y, a) == pytest.approx(0.5 * y.shape[1] * mean_squared_error(y, a), rel=1e-15)
    four = np.zeros((1, 4)), np.ones((1, 4))
    assert se.value(*four)[0] == 2.0  # ½ · 4 · 1², not 0.5 (mean) nor 4 (no ½)


def test_squared_error_mazur_total_error() -> None:
    # Mazur's worked example: o = (0.75136507, 0.772928465), y = (0.01, 0.99):
    # E = ½(0.01 − 0.75136507)² + ½(0.99 − 0.772928465)² = 0.274811083 + 0.023560026
    se = LOSSES["squared_error"]
    e = se.value(np.array([[0.01, 0.99]]), np.array([[0.75136507, 0.772928465]]))
    assert e[0] == pytest.approx(0.298371109, abs=1e-9)


def test_binary_cross_entropy_values() -> None:
    bce = LOSSES["binary_cross_entropy"]
    # −log 0.8 = 0.2231435513142097; for y = 0 the term is −log(1 − a)
    y = np.array([[1.0], [0.0], [0.0]])
    a = np.array([[0.8], [0.8], [0.5]])
    np.testing.assert_allclose(
        bce.value(y, a), [-np.log(0.8), -np.log(0.2), np.log(2.0)], rtol=1e-15
    )
    # Several outputs are summed per sample (independent yes/no outputs).
    two = bce.value(np.array([[0.0, 1.0]]), np.array([[0.2, 0.9]]))
    assert two[0] == pytest.approx(-np.log(0.8) - np.log(0.9), rel=1e-15)
    # For one output, the mean over samples is scikit-learn's log_loss.
    rng = np.random.default_rng(0)
    yy = rng.integers(0, 2, size=(20, 1)).astype(float)
    aa = rng.uniform(0.01, 0.99, size=(20, 1))
    assert bce.mean(yy, aa) == pytest.approx(log_loss(yy[:, 0], aa[:, 0]), rel=1e-12)


def test_categorical_cross_entropy_values() -> None:
    cce = LOSSES["categorical_cross_entropy"]
    y = np.array([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])
    a = np.array([[0.2, 0.7, 0.1], [0.25, 0.25, 0.5]])
    # −log 0.7;  −(½ log ¼ + ½ log ¼) = log 4
    np.testing.assert_allclose(cce.value(y, a), [-np.log(0.7), np.log(4.0)], rtol=1e-15)
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, size=30)
    probs = rng.dirichlet(np.ones(4), size=30)
    expected = log_loss(labels, probs, labels=range(4))
    assert cce.mean(np.eye(4)[labels], probs) == pytest.approx(expected, rel=1e-12)


def test_absolute_error_values() -> None:
    ae = LOSSES["absolute_error"]
    y = np.array([[1.0, -2.0], [0.0, 0.0]])
    a = np.array([[0.5, 1.0], [0.0, 0.0]])
    np.testing.assert_array_equal(ae.value(y, a), [3.5, 0.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_losses_are_clipped_at_zero_and_one(dtype: type) -> None:
    # a = 0 or 1 exactly (a saturated sigmoid or softmax) must give finite values and gradients
    # in the network's own dtype, without warnings.
    y = np.array([[1.0, 0.0, 1.0, 0.0]], dtype=dtype)
    a = np.array([[0.0, 1.0, 1.0, 0.0]], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        for name in ("binary_cross_entropy", "categorical_cross_entropy"):
            value = LOSSES[name].value(y, a)
            grad = LOSSES[name].gradient(y, a)
            assert np.all(np.isfinite(value))
            assert np.all(np.isfinite(grad))
            assert value.dtype == dtype
            assert grad.dtype == dtype
    # A confident wrong answer costs about −log ε, a right one about 0.
    eps = np.finfo(dtype).eps
    bce = LOSSES["binary_cross_entropy"].value(y[:, :1], a[:, :1])[0]
    assert bce == pytest.approx(-np.log(eps), rel=1e-6)
    right = LOSSES["binary_cross_entropy"].value(y[:, 2:], a[:, 2:])[0]
    assert 0.0 <= right < 1e-5


# -- gradients -------------------------------------------------------------------------------
def _draw(name: str, rng: np.random.Generator, shape: tuple[int, int]):
    """Targets and outputs in the loss's domain, away from clipping and kinks."""
    n, k = shape
    if name == "binary_cross_entropy":
        return rng.uniform(0, 1, shape), rng.uniform(0.05, 0.95, shape)
    if name == "categorical_cross_entropy":
        return rng.dirichlet(np.ones(k), n), rng.uniform(0.05, 1.0, shape)
    if name == "poisson":  # counts y ≥ 0 and rates o > 0
        return rng.poisson(2.0, shape).astype(float), rng.uniform(0.1, 5.0, shape)
    y = rng.normal(size=shape)
    a = rng.normal(size=shape)
    if name == "absolute_error":  # keep |a − y| ≥ 0.01, away from the kink
        d = a - y
        a = np.where(np.abs(d) < 0.01, y + np.copysign(0.01, d) + d, a)
    return y, a


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(list(LOSSES)),
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 5), st.integers(1, 5)),
)
def test_gradient_matches_finite_difference(name: str, seed: int, shape: tuple[int, int]) -> None:
    loss = LOSSES[name]
    y, a = _draw(name, np.random.default_rng(seed), shape)
    grad = loss.gradient(y, a)
    assert grad.shape == a.shape
    h = 1e-6
    numeric = np.empty_like(a)
    for idx in np.ndindex(a.shape):
        ap, am = a.copy(), a.copy()
        ap[idx] += h
        am[idx] -= h
        # Per-sample losses: only sample idx[0] depends on a[idx].
        numeric[idx] = (loss.value(y, ap) - loss.value(y, am))[idx[0]] / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    ("name", "y", "a", "expected"),
    [
        ("squared_error", [[1.0, 0.0]], [[0.8, 0.3]], [[-0.2, 0.3]]),  # a − y
        ("binary_cross_entropy", [[1.0, 0.0]], [[0.8, 0.25]], [[-1.25, 4 / 3]]),  # (a−y)/(a(1−a))
        ("categorical_cross_entropy", [[0.0, 1.0]], [[0.2, 0.8]], [[0.0, -1.25]]),  # −y/a
        ("absolute_error", [[1.0, 0.0, 2.0]], [[0.8, 0.3, 2.0]], [[-1.0, 1.0, 0.0]]),
        ("poisson", [[2.0, 0.0]], [[0.5, 3.0]], [[-3.0, 1.0]]),  # 1 − y/a
    ],
)
def test_known_gradients(
    name: str, y: list[list[float]], a: list[list[float]], expected: list[list[float]]
) -> None:
    got = LOSSES[name].gradient(np.array(y), np.array(a))
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=1e-16)


# -- matched-pair shortcuts ------------------------------------------------------------------
def _targets(act: str, loss: str, rng: np.random.Generator, shape: tuple[int, int]):
    n, k = shape
    if loss == "categorical_cross_entropy":
        # rows must be probability vectors (one-hot or soft) for ∂E/∂z = a − y to hold
        if rng.random() < 0.5:
            return rng.dirichlet(np.ones(k), n)
        return np.eye(k)[rng.integers(0, k, n)]
    if loss == "binary_cross_entropy" or act in ("sigmoid", "softmax"):
        return rng.uniform(0, 1, shape)
    if loss == "poisson":
        return rng.poisson(2.0, shape).astype(float)
    return rng.normal(size=shape)


@settings(max_examples=30, deadline=None)
@given(
    pair=st.sampled_from(sorted(MATCHED_PAIRS)),
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    scale=st.floats(0.1, 6.0),
)
def test_shortcut_equals_general_chain_rule(
    pair: tuple[str, str], seed: int, shape: tuple[int, int], scale: float
) -> None:
    act_name, loss_name = pair
    act, loss = ACTIVATIONS[act_name], LOSSES[loss_name]
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=scale, size=shape)
    a = act(z)
    y = _targets(act_name, loss_name, rng, shape)
    short = output_grad_z(loss, act, z, a, y)
    general = output_grad_z(loss, act, z, a, y, shortcut=False)
    np.testing.assert_array_equal(short, a - y)  # the shortcut is taken, exactly
    np.testing.assert_allclose(short, general, rtol=0, atol=1e-10)


def test_shortcut_and_general_path_differ_in_code_path() -> None:
    # Guard against a test that could not fail: the general path really is a different
    # computation (for BCE it divides by a(1 − a), so it rounds differently) …
    act, loss = ACTIVATIONS["sigmoid"], LOSSES["binary_cross_entropy"]
    z = np.array([[0.3, -2.0, 4.0]])
    a, y = act(z), np.array([[1.0, 0.0, 0.7]])
    general = output_grad_z(loss, act, z, a, y, shortcut=False)
    assert not np.array_equal(general, output_grad_z(loss, act, z, a, y))
    # … and where the sigmoid saturates the clipped general path is wrong while the shortcut
    # stays exact: that is why the shortcut exists.
    z = np.array([[40.0]])
    a, y = act(z), np.array([[0.0]])
    assert output_grad_z(loss, act, z, a, y)[0, 0] == 1.0
    assert output_grad_z(loss, act, z, a, y, shortcut=False)[0, 0] < 1e-3


NON_MATCHED = [
    (act, loss)
    for act, loss in itertools.product(ACTIVATIONS, LOSSES)
    if (act, loss) not in MATCHED_PAIRS | {("exp", "poisson")}  # see test_exp_poisson_…
]


@pytest.mark.parametrize(("act_name", "loss_name"), NON_MATCHED)
def test_non_matched_pairs_use_the_chain_rule(act_name: str, loss_name: str) -> None:
    act, loss = ACTIVATIONS[act_name], LOSSES[loss_name]
    rng = np.random.default_rng(3)
    z = rng.normal(size=(4, 3))
    a = act(z)
    if loss_name in ("binary_cross_entropy", "categorical_cross_entropy"):
        a = np.clip(a, 0.05, 0.95)  # keep the log losses in their domain for every activation
    if loss_name == "poisson":
        a = np.clip(a, 0.05, None)  # rates are positive
    y = _targets(act_name, loss_name, rng, z.shape)
    got = output_grad_z(loss, act, z, a, y)
    expected = act.backprop(z, a, loss.gradient(y, a))
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got, output_grad_z(loss, act, z, a, y, shortcut=False))
    if (act_name, loss_name) == ("sigmoid_fann", "binary_cross_entropy"):
        # inside FANN's clip (0.05 ≤ a ≤ 0.95 here) f′ = a(1 − a), so the chain rule comes to
        # a − y as for sigmoid; outside it, FANN's floor c(1 − c) does not cancel 1/(a(1 − a))
        np.testing.assert_allclose(got, a - y, rtol=1e-12)
        return
    assert not np.allclose(got, a - y), "a − y would be the wrong ∂E/∂z for this pair"


def test_sigmoid_squared_error_is_the_lecture_delta() -> None:
    # Output δₖ = oₖ(1 − oₖ)(yₖ − oₖ) is the negative of ∂E/∂z.
    act, loss = ACTIVATIONS["sigmoid"], LOSSES["squared_error"]
    z = np.array([[1.105905967, 1.224921404]])
    o = act(z)
    y = np.array([[0.01, 0.99]])
    np.testing.assert_allclose(
        -output_grad_z(loss, act, z, o, y), o * (1 - o) * (y - o), rtol=1e-15
    )


# -- lookup ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("mse", "squared_error"),
        ("squared", "squared_error"),
        ("log_loss", "binary_cross_entropy"),
        ("bce", "binary_cross_entropy"),
        ("cross_entropy", "categorical_cross_entropy"),
        ("cce", "categorical_cross_entropy"),
        ("mae", "absolute_error"),
        ("absolute", "absolute_error"),
    ],
)
def test_aliases(alias: str, name: str) -> None:
    assert get_loss(alias) is LOSSES[name]
    assert get_loss(name) is LOSSES[name]


def test_loss_object_passes_through() -> None:
    mine = Loss("neg_identity", lambda y, a: -a.sum(1), lambda y, a: -np.ones_like(a))
    assert get_loss(mine) is mine


def test_unknown_loss_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown loss 'hinge'") as info:
        get_loss("hinge")
    for valid in [*LOSSES, "mse", "log_loss"]:
        assert valid in str(info.value)


def test_unknown_loss_in_network_create() -> None:
    from retroprop import Network

    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        Network.create([2, 1], loss="hinge")


# -- Poisson (scikit-learn's loss="poisson") ---------------------------------------------------
def test_poisson_is_half_the_deviance_per_sample() -> None:
    poisson = LOSSES["poisson"]
    y = np.array([[2.0, 0.0], [1.0, 1.0]])
    a = np.array([[1.0, 0.5], [1.0, 1.0]])
    # sample 0: [2 log(2/1) − 2 + 1] + [0 − 0 + 0.5] = 2 log 2 − 0.5 (0 · log 0 = 0)
    # sample 1: a = y gives 0
    np.testing.assert_allclose(poisson.value(y, a), [2 * np.log(2.0) - 0.5, 0.0], rtol=1e-15)
    # half of scikit-learn's mean Poisson deviance, for one output
    rng = np.random.default_rng(4)
    yy = rng.poisson(3.0, size=(40, 1)).astype(float)
    aa = rng.uniform(0.5, 6.0, size=(40, 1))
    expected = 0.5 * mean_poisson_deviance(yy[:, 0], aa[:, 0])
    assert poisson.mean(yy, aa) == pytest.approx(expected, rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shape=st.tuples(st.integers(1, 5), st.integers(1, 5)))
def test_exp_poisson_chain_rule_is_a_minus_y(seed: int, shape: tuple[int, int]) -> None:
    # With the exp output (the log link) the chain rule gives ∂E/∂z = a ⊙ (1 − y/a) = a − y,
    # scikit-learn's δ. The pair is not in MATCHED_PAIRS: the general path computes it, equal
    # to a − y up to rounding. (Each factor is checked by finite differences: exp′ in
    # test_activations, ∂E/∂a in test_gradient_matches_finite_difference.)
    act, loss = ACTIVATIONS["exp"], LOSSES["poisson"]
    assert ("exp", "poisson") not in MATCHED_PAIRS
    rng = np.random.default_rng(seed)
    z = rng.normal(size=shape)
    a, y = act(z), rng.poisson(2.0, shape).astype(float)
    got = output_grad_z(loss, act, z, a, y)
    np.testing.assert_array_equal(got, act.backprop(z, a, loss.gradient(y, a)))
    np.testing.assert_allclose(got, a - y, rtol=1e-12, atol=1e-12)
