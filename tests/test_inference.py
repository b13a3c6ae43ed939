"""Blocked inference (what Network.predict runs) against the reference forward pass."""

from __future__ import annotations

import numpy as np
import pytest

import retroprop as rp
from retroprop.core import inference as _inference
from retroprop.core.activations import Activation

ACTS = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("output", [*ACTS, "softmax"])
@pytest.mark.parametrize("hidden", ACTS)
def test_blocks_equal_the_reference_forward(hidden: str, output: str, dtype: type) -> None:
    net = rp.Network.create(
        [5, 30, 7, 3], activation=hidden, output_activation=output, seed=0, dtype=dtype
    )
    X = np.random.default_rng(0).normal(size=(1000, 5)).astype(dtype)
    X[::7] = 0.0
    ref = net.forward(X).output
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for got in (_inference.predict(net, X, chunk=64), net.predict(X)):
        assert got.dtype == dtype and got.shape == (1000, 3)
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)


def test_a_partial_last_block_and_a_single_sample() -> None:
    net = rp.Network.create([4, 6, 2], seed=1)
    X = np.random.default_rng(1).normal(size=(130, 4))
    np.testing.assert_allclose(
        _inference.predict(net, X, chunk=64), net.forward(X).output, rtol=1e-12
    )
    np.testing.assert_allclose(net.predict(X[3]), net.forward(X[3:4]).output, rtol=1e-12)
    assert net.predict(X[:0]).shape == (0, 2)


def test_a_custom_activation_is_called() -> None:
    cube = Activation("cube", lambda z: z**3, lambda z, a: 3 * z**2)
    net = rp.Network.create([3, 4, 2], seed=2)
    net.layers[0].activation = cube
    X = np.random.default_rng(2).normal(size=(50, 3))
    np.testing.assert_allclose(
        _inference.predict(net, X, chunk=16), net.forward(X).output, rtol=1e-12
    )


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_names_its_row_in_any_block(bad: float) -> None:
    net = rp.Network.create([3, 4, 2], seed=0)
    X = np.zeros((200, 3))
    X[137, 2] = bad
    with pytest.raises(ValueError, match="row 137"):
        _inference.predict(net, X, chunk=64)
    with pytest.raises(ValueError, match="row 137"):
        net.predict(X)


def test_an_overflowing_net_input_is_not_an_input_error() -> None:
    """Finite inputs so large that the net inputs overflow: no error, the reference's output."""
    net = rp.Network.create([3, 4, 2], activation="tanh", seed=0)
    X = np.full((10, 3), 1e308)
    with np.errstate(over="ignore", invalid="ignore"):
        ref = net.forward(X).output
        got = _inference.predict(net, X, chunk=4)
    np.testing.assert_array_equal(got, ref)


def test_a_zero_weight_does_not_hide_an_infinite_input() -> None:
    net = rp.Network.create([3, 4, 2], seed=0)
    net.layers[0].W[:, 1] = 0.0  # ∞·0 is NaN: still caught
    X = np.zeros((5, 3))
    X[4, 1] = np.inf
    with pytest.raises(ValueError, match="row 4"):
        net.predict(X)


def test_saturated_sigmoids_raise_no_floating_point_error() -> None:
    """e^−z overflows or underflows for |z| > 709: the outputs are exactly 0 or 1, silently,
    even where a user asks NumPy to raise."""
    net = rp.Network.create([2, 3, 1], seed=0)
    X = np.array([[1e4, -1e4], [-1e4, 1e4]])
    with np.errstate(all="raise"):
        got = net.predict(X)
    np.testing.assert_array_equal(got, net.forward(X).output)
