"""Tests for retroprop.core.activations: values, derivatives, softmax's Jacobian, stability,
lookup."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

import retroprop as rp
from retroprop.core.activations import (
    ACTIVATIONS,
    FANN_CLIP,
    LEAKY_SLOPE,
    Activation,
    get_activation,
)

ELEMENTWISE = [name for name, act in ACTIVATIONS.items() if act.derivative is not None]
KINKED = {"relu", "leaky_relu"}  # derivative undefined at z = 0
CLIPPED = {"sigmoid_fann"}  # f′ is FANN's formula, not the slope, outside 0.01 < o < 0.99


def test_registry_holds_the_documented_activations() -> None:
    assert set(ACTIVATIONS) == {
        *("sigmoid", "tanh", "relu", "leaky_relu", "identity", "softmax", "exp"),
        *("sin", "cos", "gaussian", "sigmoid_fann"),
    }
    assert ELEMENTWISE == [n for n in ACTIVATIONS if n != "softmax"]
    for name, act in ACTIVATIONS.items():
        assert act.name == name
        assert act.output_only == (name in ("softmax", "exp"))
        assert repr(act) == f"Activation({name!r})"


# -- values ----------------------------------------------------------------------------------
# Known values written out: σ(1) = 1 / (1 + e⁻¹), tanh(0.5), softmax([1, 2, 3]).
KNOWN = {
    "sigmoid": (
        [[-1.0, 0.0, 1.0, 2.0]],
        [[0.2689414213699951, 0.5, 0.7310585786300049, 0.8807970779778823]],
    ),
    "sigmoid_fann": (  # the logistic itself: only the derivative is FANN's
        [[-1.0, 0.0, 1.0, 2.0]],
        [[0.2689414213699951, 0.5, 0.7310585786300049, 0.8807970779778823]],
    ),
    "tanh": ([[-0.5, 0.0, 0.5]], [[-0.46211715726000974, 0.0, 0.46211715726000974]]),
    "relu": ([[-2.0, -0.0, 0.0, 3.5]], [[0.0, 0.0, 0.0, 3.5]]),
    "leaky_relu": ([[-2.0, 0.0, 3.5]], [[-0.02, 0.0, 3.5]]),
    "identity": ([[-2.0, 0.0, 3.5]], [[-2.0, 0.0, 3.5]]),
    "softmax": (
        [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]],
        [[0.09003057317038046, 0.24472847105479764, 0.6652409557748219], [1 / 3, 1 / 3, 1 / 3]],
    ),
    "exp": (
        [[-1.0, 0.0, 1.0, 2.0]],
        [[0.36787944117144233, 1.0, 2.718281828459045, 7.38905609893065]],
    ),
    # sin(π/6) = 1/2, cos(π/3) = 1/2, e^(−1) for gaussian(±1)
    "sin": ([[0.0, np.pi / 6, -np.pi / 2]], [[0.0, 0.5, -1.0]]),
    "cos": ([[0.0, np.pi / 3, np.pi]], [[1.0, 0.5, -1.0]]),
    "gaussian": (
        [[-1.0, 0.0, 1.0, 2.0]],
        [[0.36787944117144233, 1.0, 0.36787944117144233, 0.01831563888873418]],
    ),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_known_values(name: str) -> None:
    z, expected = (np.array(v) for v in KNOWN[name])
    np.testing.assert_allclose(ACTIVATIONS[name](z), expected, rtol=1e-15, atol=1e-17)


# Independent reference formulas (scipy for the two with numerics of their own).
REFERENCE = {
    "sigmoid": special.expit,
    "sigmoid_fann": special.expit,
    "tanh": lambda z: (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z)),
    "relu": lambda z: z * (z > 0),
    "leaky_relu": lambda z: np.where(z > 0, z, LEAKY_SLOPE * z),
    "identity": lambda z: z,
    "softmax": lambda z: special.softmax(z, axis=1),
    "exp": lambda z: np.e**z,
    "sin": lambda z: np.exp(1j * z).imag,  # Euler: e^(iz) = cos z + i sin z
    "cos": lambda z: np.exp(1j * z).real,
    "gaussian": lambda z: 1.0 / np.e ** (z**2),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_values_match_reference_formulas(name: str) -> None:
    z = np.random.default_rng(0).normal(scale=3.0, size=(7, 5))
    a = ACTIVATIONS[name](z)
    assert a.shape == z.shape
    np.testing.assert_allclose(a, REFERENCE[name](z), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_value_does_not_alias_or_modify_its_input(name: str) -> None:
    # The forward pass keeps both z and a; a must never be a view of z.
    z = np.random.default_rng(1).normal(size=(3, 4))
    z_before = z.copy()
    a = ACTIVATIONS[name](z)
    np.testing.assert_array_equal(z, z_before)
    assert not np.shares_memory(a, z)


def test_leaky_relu_slope_is_documented_value() -> None:
    assert LEAKY_SLOPE == 0.01
    np.testing.assert_array_equal(
        ACTIVATIONS["leaky_relu"].derivative(np.array([[-3.0, 2.0]]), np.array([[-0.03, 2.0]])),
        [[0.01, 1.0]],
    )


# -- derivatives -----------------------------------------------------------------------------
def _away_from_kinks(name: str, z: np.ndarray) -> np.ndarray:
    if name in CLIPPED:  # inside the clip: σ(±4.5) = 0.989…, 0.011…
        z = np.clip(z, -4.5, 4.5)
    if name in KINKED:  # move every z at least 0.01 away from the kink at 0
        z = np.where(np.abs(z) < 0.01, np.copysign(0.01, z) + z, z)
    return z


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(ELEMENTWISE),
    seed=st.integers(0, 2**32 - 1),
    scale=st.floats(0.1, 8.0),
    shape=st.tuples(st.integers(1, 4), st.integers(1, 5)),
)
def test_derivative_matches_finite_difference(
    name: str, seed: int, scale: float, shape: tuple[int, int]
) -> None:
    act = ACTIVATIONS[name]
    z = _away_from_kinks(name, np.random.default_rng(seed).normal(scale=scale, size=shape))
    h = 1e-6
    numeric = (act(z + h) - act(z - h)) / (2 * h)
    analytic = act.derivative(z, act(z))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(
    ("name", "z", "expected"),
    [
        # σ′(z) = σ(z)(1 − σ(z)): σ′(0) = 0.25, σ′(1) = 0.7310585786300049 · 0.2689414213699951
        ("sigmoid", [0.0, 1.0], [0.25, 0.19661193324148185]),
        # tanh′(z) = 1 − tanh²(z): tanh′(0) = 1, tanh′(0.5) = 1 − 0.46211715726000974²
        ("tanh", [0.0, 0.5], [1.0, 0.7864477329659274]),
        ("relu", [-1.0, 2.0], [0.0, 1.0]),
        ("leaky_relu", [-1.0, 2.0], [0.01, 1.0]),
        ("identity", [-1.0, 2.0], [1.0, 1.0]),
        ("exp", [0.0, 1.0], [1.0, 2.718281828459045]),  # exp′(z) = exp(z) = a
        # inside FANN's clip it is σ(1 − σ): σ(1)(1 − σ(1)) as for sigmoid
        ("sigmoid_fann", [0.0, 1.0], [0.25, 0.19661193324148185]),
    ],
)
def test_known_derivatives(name: str, z: list[float], expected: list[float]) -> None:
    act = ACTIVATIONS[name]
    zz = np.array([z])
    np.testing.assert_allclose(act.derivative(zz, act(zz)), [expected], rtol=1e-15)


def test_fann_sigmoid_derivative_clips_the_output_first() -> None:
    """FANN 2.2's ``fann_activation_derived``: c = clip(o, 0.01f, 0.99f), f′ = 2s·c(1 − c) with
    steepness s = ½. The bounds are C floats: 0.01f = 0.00999999977648258209228515625 and
    0.99f = 0.9900000095367431640625."""
    act = ACTIVATIONS["sigmoid_fann"]
    assert FANN_CLIP == (0.00999999977648258209228515625, 0.9900000095367431640625)
    lo, hi = FANN_CLIP
    #        σ(−10) ≈ 4.5e−5 → c = lo     σ(4.5) = 0.98901 inside     σ(10) ≈ 0.99995 → c = hi
    z = np.array([[-10.0, -4.5, 0.0, 4.5, 10.0, 800.0, -800.0]])
    a = act(z)
    inside = a[0, 3] * (1 - a[0, 3])  # 0.98901…·0.01098… = 0.010866…
    expected = [lo * (1 - lo), a[0, 1] * (1 - a[0, 1]), 0.25, inside, hi * (1 - hi)]
    expected += [hi * (1 - hi), lo * (1 - lo)]  # o = 1 and o = 0 exactly: still FANN's floor
    np.testing.assert_array_equal(act.derivative(z, a), [expected])
    assert 0.0098999 < lo * (1 - lo) < 0.0099 and 0.0098999 < hi * (1 - hi) < 0.0099
    # the plain sigmoid′ there is 4.5e−5 (and 0 at o = 0 or 1): the clip is what differs
    assert ACTIVATIONS["sigmoid"].derivative(z, a)[0, 0] < 5e-5
    # float32 keeps float32, with the bounds 0.01f and 0.99f themselves
    a32 = act(z.astype(np.float32))
    d32 = act.derivative(z.astype(np.float32), a32)
    assert d32.dtype == np.float32
    c = np.float32(0.01)
    assert d32[0, 0] == c * (np.float32(1) - c)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_backprop_is_derivative_times_upstream(name: str) -> None:
    rng = np.random.default_rng(2)
    act = ACTIVATIONS[name]
    z = _away_from_kinks(name, rng.normal(size=(4, 3)))
    a = act(z)
    g = rng.normal(size=z.shape)
    np.testing.assert_array_equal(act.backprop(z, a, g), act.derivative(z, a) * g)


def _numerical_jacobian(f, z_row: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """J[k, m] = ∂f_k/∂z_m for one sample, by central differences."""
    n = z_row.size
    jac = np.empty((n, n))
    for m in range(n):
        e = np.zeros(n)
        e[m] = h
        jac[:, m] = (f((z_row + e)[None, :])[0] - f((z_row - e)[None, :])[0]) / (2 * h)
    return jac


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_samples=st.integers(1, 4),
    n_out=st.integers(1, 6),
    scale=st.floats(0.1, 5.0),
)
def test_softmax_backprop_is_jacobian_vector_product(
    seed: int, n_samples: int, n_out: int, scale: float
) -> None:
    softmax = ACTIVATIONS["softmax"]
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=scale, size=(n_samples, n_out))
    grad_a = rng.normal(size=(n_samples, n_out))
    got = softmax.backprop(z, softmax(z), grad_a)
    for i in range(n_samples):
        jac = _numerical_jacobian(softmax, z[i])
        s = softmax(z[i : i + 1])[0]
        # The analytic Jacobian diag(s) − s sᵀ agrees with the numerical one …
        np.testing.assert_allclose(jac, np.diag(s) - np.outer(s, s), atol=1e-9)
        # … and ∂E/∂z = Jᵀ ∂E/∂a (J is symmetric for softmax, but write the transpose).
        np.testing.assert_allclose(got[i], jac.T @ grad_a[i], rtol=1e-6, atol=1e-9)


def test_softmax_has_no_elementwise_derivative() -> None:
    # Its Jacobian is not diagonal; a per-element f′ would silently be wrong.
    softmax = ACTIVATIONS["softmax"]
    assert softmax.derivative is None
    z = np.array([[0.3, -1.2, 2.0]])
    s = softmax(z)
    # With ∂E/∂a = e₀ the product is column 0 of the Jacobian: s₀(1 − s₀), −s₁s₀, −s₂s₀.
    got = softmax.backprop(z, s, np.array([[1.0, 0.0, 0.0]]))
    np.testing.assert_allclose(
        got, [[s[0, 0] * (1 - s[0, 0]), -s[0, 1] * s[0, 0], -s[0, 2] * s[0, 0]]]
    )
    # Gradients that are the same for every output change nothing (the rows sum to 1).
    np.testing.assert_allclose(softmax.backprop(z, s, np.full((1, 3), 7.0)), 0.0, atol=1e-15)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 6), st.integers(1, 8)),
    scale=st.floats(1e-3, 1e3),
    shift=st.floats(-1e3, 1e3),
)
def test_softmax_rows_sum_to_one_and_are_shift_invariant(
    seed: int, shape: tuple[int, int], scale: float, shift: float
) -> None:
    softmax = ACTIVATIONS["softmax"]
    z = np.random.default_rng(seed).normal(scale=scale, size=shape)
    s = softmax(z)
    assert np.all(s >= 0.0)
    assert np.all(s <= 1.0)
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(softmax(z + shift), s, rtol=1e-9, atol=1e-12)
    # Each row is normalised on its own, not over the whole batch.
    np.testing.assert_allclose(softmax(z[:1]), s[:1], rtol=1e-15)


# -- numerical stability ---------------------------------------------------------------------
def _extremes(dtype: type) -> list[np.ndarray]:
    big = float(np.finfo(dtype).max)
    tiny = float(np.finfo(dtype).tiny)
    rows = [
        [1e4, -1e4, 0.0],
        [-1e4, -1e4, -1e4],
        [1e4, 1e4, 1e4],
        [big, -big, 0.0],
        [big, big, big],
        [-big, -big, -big],
        [tiny, -tiny, 0.0],
    ]
    return [np.array([r], dtype=dtype) for r in rows]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", [n for n in ACTIVATIONS if n != "exp"])  # see test_exp_…
def test_extreme_inputs_are_finite_without_warnings(name: str, dtype: type) -> None:
    act = ACTIVATIONS[name]
    for z in _extremes(dtype):
        # Overflow, invalid operations and division by zero all raise; underflow of e^(−10⁴)
        # to 0 is the correct rounded answer and NumPy ignores it by default, as we do.
        with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
            warnings.simplefilter("error")
            a = act(z)
            grad = act.backprop(z, a, np.ones_like(z))
        assert a.dtype == dtype, z
        assert grad.dtype == dtype, z
        assert np.all(np.isfinite(a)), (z, a)
        assert np.all(np.isfinite(grad)), (z, grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturated_values_are_right(dtype: type) -> None:
    z = np.array([[1e4, -1e4, 0.0]], dtype=dtype)
    np.testing.assert_array_equal(ACTIVATIONS["sigmoid"](z), [[1.0, 0.0, 0.5]])
    np.testing.assert_array_equal(ACTIVATIONS["tanh"](z), [[1.0, -1.0, 0.0]])
    np.testing.assert_array_equal(ACTIVATIONS["softmax"](z), [[1.0, 0.0, 0.0]])
    big = np.finfo(dtype).max
    np.testing.assert_array_equal(
        ACTIVATIONS["softmax"](np.array([[big, -big, big]], dtype=dtype)), [[0.5, 0.0, 0.5]]
    )
    # σ′ = a(1 − a) is exactly 0 when saturated, never negative or NaN.
    sig = ACTIVATIONS["sigmoid"]
    np.testing.assert_array_equal(sig.derivative(z, sig(z)), [[0.0, 0.0, 0.25]])


def test_sigmoid_is_accurate_for_large_negative_inputs() -> None:
    # σ(z) for z ≪ 0 keeps its relative accuracy (a naive 1 − σ(−z) would round to 0).
    z = np.array([[-30.0, -700.0]])
    np.testing.assert_allclose(ACTIVATIONS["sigmoid"](z), special.expit(z), rtol=1e-15)
    assert ACTIVATIONS["sigmoid"](z)[0, 1] > 0.0


# -- lookup ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("alias", "name"), [("logistic", "sigmoid"), ("linear", "identity"), ("leaky", "leaky_relu")]
)
def test_aliases(alias: str, name: str) -> None:
    assert get_activation(alias) is ACTIVATIONS[name]


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_lookup_by_name_and_object_passthrough(name: str) -> None:
    assert get_activation(name) is ACTIVATIONS[name]
    custom = Activation(f"my_{name}", ACTIVATIONS[name].value, ACTIVATIONS[name].derivative)
    assert get_activation(custom) is custom


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown activation 'sigmoidd'") as info:
        get_activation("sigmoidd")
    for valid in [*ACTIVATIONS, "logistic"]:
        assert valid in str(info.value)


def test_unknown_activation_in_network_create() -> None:
    with pytest.raises(ValueError, match="unknown activation 'softplus'"):
        rp.Network.create([2, 3, 1], activation="softplus")


# -- softmax placement -----------------------------------------------------------------------
def test_softmax_refused_in_hidden_layer() -> None:
    with pytest.raises(ValueError, match=r"layers\[0\]: softmax is only for the output layer"):
        rp.Network.create([3, 4, 2], activation="softmax")
    with pytest.raises(ValueError, match=r"layers\[1\]: softmax"):
        rp.Network.create([3, 4, 4, 2], activation=["tanh", "softmax", "sigmoid"])
    softmax = get_activation("softmax")
    hidden = rp.Dense(np.zeros((4, 3)), np.zeros(4), softmax)
    out = rp.Dense(np.zeros((2, 4)), np.zeros(2), get_activation("sigmoid"))
    with pytest.raises(ValueError, match=r"layers\[0\]"):
        rp.Network([hidden, out])


def test_softmax_allowed_in_output_layer() -> None:
    net = rp.Network.create(
        [3, 4, 2], output_activation="softmax", loss="categorical_cross_entropy", seed=0
    )
    assert net.layers[-1].activation is ACTIVATIONS["softmax"]
    o = net.predict(np.ones((5, 3)))
    np.testing.assert_allclose(o.sum(axis=1), 1.0, rtol=1e-15)
    # A softmax-only network (no hidden layer) is fine too.
    rp.Network.create([3, 2], activation="softmax", seed=0)


def test_custom_output_only_activation_is_refused_in_hidden_layer() -> None:
    mine = Activation("mine", np.tanh, lambda z, a: 1 - a * a, output_only=True)
    with pytest.raises(ValueError, match=r"layers\[0\]: mine is only for the output layer"):
        rp.Network.create([2, 2, 1], activation=[mine, "sigmoid"])


# -- exp (the Poisson loss's output) ---------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shape=st.tuples(st.integers(1, 4), st.integers(1, 5)))
def test_exp_derivative_is_its_output_by_finite_differences(
    seed: int, shape: tuple[int, int]
) -> None:
    exp = ACTIVATIONS["exp"]
    z = np.random.default_rng(seed).normal(scale=3.0, size=shape)
    a = exp(z)
    h = 1e-6
    numeric = (exp(z + h) - exp(z - h)) / (2 * h)
    np.testing.assert_array_equal(exp.derivative(z, a), a)
    np.testing.assert_allclose(exp.derivative(z, a), numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exp_overflows_to_inf_as_numpy_does(dtype: type) -> None:
    # Unlike the bounded activations, exp is not made finite: a rate past the dtype's range is
    # inf (with NumPy's overflow warning), as in scikit-learn, and the estimators then report
    # non-finite weights. Large negative z underflows to exactly 0.
    exp = ACTIVATIONS["exp"]
    z = np.array([[1e4, -1e4, 0.0]], dtype=dtype)
    with np.errstate(over="ignore"):
        a = exp(z)
    assert a.dtype == dtype
    np.testing.assert_array_equal(a, [[np.inf, 0.0, 1.0]])


def test_exp_is_for_the_output_layer_only() -> None:
    with pytest.raises(ValueError, match="exp"):
        rp.Network.create([2, 3, 1], activation=["exp", "identity"])
