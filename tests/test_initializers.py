"""Tests for retroprop.core.initializers: shapes, ranges and scales, seeds, the registry."""

from __future__ import annotations

import numpy as np
import pytest

import retroprop as rp
from retroprop.core.initializers import INITIALIZERS, get_initializer, glorot, he, uniform


@pytest.mark.parametrize("init", list(INITIALIZERS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_shapes_and_dtypes(init: str, dtype: type) -> None:
    """W is (n_out, n_in): one row per neuron, one column per input; b is (n_out,)."""
    W, b = INITIALIZERS[init](np.random.default_rng(0), 3, 5, dtype)
    assert W.shape == (5, 3) and b.shape == (5,)
    assert W.dtype == dtype and b.dtype == dtype


def test_uniform_scale_is_the_bound() -> None:
    W, b = uniform(np.random.default_rng(0), 100, 100, np.float64, scale=0.1)
    assert np.all(np.abs(W) <= 0.1) and np.all(np.abs(b) <= 0.1)
    assert np.max(np.abs(W)) > 0.099


def test_glorot_is_uniform_with_its_limit() -> None:
    """Glorot draws the same stream as uniform, with r = √(6 / (n_in + n_out)) = √(6/10)."""
    a = glorot(np.random.default_rng(7), 4, 6, np.float64)
    b = uniform(np.random.default_rng(7), 4, 6, np.float64, scale=np.sqrt(0.6))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_he_draws_the_same_numbers_for_the_same_seed() -> None:
    a = he(np.random.default_rng(3), 10, 4, np.float64)
    b = he(np.random.default_rng(3), 10, 4, np.float64)
    np.testing.assert_array_equal(a[0], b[0])
    c = he(np.random.default_rng(4), 10, 4, np.float64)
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("init", list(INITIALIZERS))
def test_same_seed_same_weights(init: str) -> None:
    a = rp.Network.create([5, 4, 3], init=init, seed=42)
    b = rp.Network.create([5, 4, 3], init=init, seed=42)
    c = rp.Network.create([5, 4, 3], init=init, seed=43)
    d = rp.Network.create([5, 4, 3], init=init, seed=np.random.default_rng(42))
    assert a.get_flat().tobytes() == b.get_flat().tobytes()
    assert a.get_flat().tobytes() == d.get_flat().tobytes()
    assert not np.array_equal(a.layers[0].W, c.layers[0].W)
    # float32 weights are the float64 ones rounded, from the same stream
    e = rp.Network.create([5, 4, 3], init=init, seed=42, dtype=np.float32)
    np.testing.assert_array_equal(e.get_flat(), a.get_flat().astype(np.float32))


def test_uniform_init_range() -> None:
    net = rp.Network.create([200, 300, 2], init="uniform", seed=0)
    W, b = net.layers[0].W, net.layers[0].b
    assert np.all(np.abs(W) <= 0.5)
    assert np.all(np.abs(b) <= 0.5)
    assert np.max(np.abs(W)) > 0.499
    assert np.max(np.abs(b)) > 0.45
    assert abs(W.mean()) < 0.01
    assert W.std() == pytest.approx(1 / np.sqrt(12), rel=0.02)  # U(−½, ½)


def test_glorot_init_limit() -> None:
    n_in, n_out = 200, 300
    limit = np.sqrt(6.0 / (n_in + n_out))
    W, b = get_initializer("glorot")(np.random.default_rng(0), n_in, n_out, np.float64)
    assert W.shape == (n_out, n_in)
    assert b.shape == (n_out,)
    assert np.all(np.abs(W) <= limit)
    assert np.all(np.abs(b) <= limit)
    assert np.max(np.abs(W)) > 0.999 * limit
    assert W.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)


def test_he_init_std() -> None:
    n_in, n_out = 200, 300
    W, b = get_initializer("he")(np.random.default_rng(0), n_in, n_out, np.float32)
    assert W.dtype == np.float32
    assert b.dtype == np.float32
    assert W.shape == (n_out, n_in)
    assert W.std() == pytest.approx(np.sqrt(2.0 / n_in), rel=0.03)
    assert abs(W.mean()) < 0.01
    np.testing.assert_array_equal(b, 0.0)


def test_custom_initializer_and_unknown_name() -> None:
    def ones(rng, n_in, n_out, dtype):
        return np.ones((n_out, n_in), dtype=dtype), np.zeros(n_out, dtype=dtype)

    assert get_initializer(ones) is ones
    net = rp.Network.create([2, 3, 1], init=ones, seed=0)
    np.testing.assert_array_equal(net.get_flat(), [1.0] * 6 + [0.0] * 3 + [1.0] * 3 + [0.0])
    with pytest.raises(ValueError, match="unknown init 'zeros'; valid names: uniform, glorot, he"):
        get_initializer("zeros")
