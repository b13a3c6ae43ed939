"""Tests for retroprop.data.datasets."""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retroprop.data import datasets as ds
from retroprop.data.datasets import Dataset

seeds = st.integers(min_value=0, max_value=2**63 - 1)

# Every loader with cheap default arguments, plus its expected shapes.
LOADERS: dict[str, tuple[Callable[[], Dataset], tuple[int, int, int]]] = {
    "xor": (ds.xor, (4, 2, 1)),
    "encoder": (ds.encoder, (8, 8, 8)),
    "lecture_digits": (ds.lecture_digits, (10, 35, 10)),
    "circles": (ds.circles, (200, 2, 1)),
    "moons": (ds.moons, (200, 2, 1)),
    "spirals": (ds.spirals, (300, 2, 3)),
    "load_digits": (ds.load_digits, (1797, 64, 10)),
}


def assert_consistent(data: Dataset) -> None:
    """Shapes, dtypes and target/label agreement that every Dataset must satisfy."""
    assert data.X.dtype == np.float64
    assert data.y.dtype == np.float64
    assert data.labels.dtype == np.int64
    assert data.X.shape == (data.n_samples, data.n_features)
    assert data.y.shape == (data.n_samples, data.n_outputs)
    assert data.labels.shape == (data.n_samples,)
    assert np.all(np.isfinite(data.X))
    if data.n_outputs == 1:
        np.testing.assert_array_equal(data.y[:, 0], data.labels)
        assert set(np.unique(data.labels)) <= {0, 1}
    else:
        assert set(np.unique(data.y)) <= {0.0, 1.0}
        np.testing.assert_array_equal(data.y.sum(axis=1), 1.0)
        np.testing.assert_array_equal(data.y.argmax(axis=1), data.labels)


@pytest.mark.parametrize("name", list(LOADERS))
def test_shapes_dtypes_and_targets(name: str) -> None:
    loader, (n, d, k) = LOADERS[name]
    data = loader()
    assert (data.n_samples, data.n_features, data.n_outputs) == (n, d, k)
    assert_consistent(data)
    assert name.split("_")[0] in data.name
    assert data.description
    assert data.name in repr(data) and str((n, d)) in repr(data)
    if data.image_shape is not None:
        assert np.prod(data.image_shape) == d


# --------------------------------------------------------------------------- #
# Dataset and one_hot
# --------------------------------------------------------------------------- #


def test_dataset_is_frozen_and_validates() -> None:
    data = ds.xor()
    with pytest.raises(AttributeError):
        data.name = "other"  # type: ignore[misc]
    with pytest.raises(ValueError, match="same number of rows"):
        Dataset(np.zeros((3, 2)), np.zeros((4, 1)), np.zeros(3, dtype=np.int64), "bad")
    with pytest.raises(ValueError, match="image_shape"):
        Dataset(
            np.zeros((1, 6)),
            np.zeros((1, 1)),
            np.zeros(1, dtype=np.int64),
            "bad",
            image_shape=(2, 2),
        )


def test_repr_shows_name_and_shapes() -> None:
    text = repr(ds.lecture_digits())
    assert "lecture_digits" in text
    assert "(10, 35)" in text and "(10, 10)" in text and "(7, 5)" in text


def test_one_hot_basic() -> None:
    out = ds.one_hot([2, 0, 1, 2])
    np.testing.assert_array_equal(out, [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert out.dtype == np.float64
    assert ds.one_hot(np.array([0, 1]), n_classes=4).shape == (2, 4)
    assert ds.one_hot(np.array([1.0, 0.0])).tolist() == [[0.0, 1.0], [1.0, 0.0]]


@given(st.lists(st.integers(0, 20), min_size=1, max_size=50), st.integers(0, 5))
def test_one_hot_property(labels: list[int], extra: int) -> None:
    n_classes = max(labels) + 1 + extra
    out = ds.one_hot(np.array(labels), n_classes)
    assert out.shape == (len(labels), n_classes)
    np.testing.assert_array_equal(out.sum(axis=1), 1.0)
    np.testing.assert_array_equal(out.argmax(axis=1), labels)


@pytest.mark.parametrize(
    ("labels", "n_classes", "param"),
    [
        ([0, 3], 2, "n_classes"),
        ([0, 1], -1, "n_classes"),
        ([-1, 0], None, "labels"),
        ([0.5, 1.0], None, "labels"),
        ([[0, 1]], None, "labels"),
    ],
)
def test_one_hot_invalid(labels: list[object], n_classes: int | None, param: str) -> None:
    with pytest.raises(ValueError, match=param):
        ds.one_hot(np.array(labels), n_classes)


# --------------------------------------------------------------------------- #
# Toy problems
# --------------------------------------------------------------------------- #


def test_xor_truth_table() -> None:
    data = ds.xor()
    np.testing.assert_array_equal(data.X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(data.y, [[0], [1], [1], [0]])
    np.testing.assert_array_equal(data.labels, [0, 1, 1, 0])
    for x, target in zip(data.X, data.y, strict=True):
        assert target[0] == float(int(x[0]) ^ int(x[1]))


@pytest.mark.parametrize("n", [2, 4, 8, 10])
def test_encoder_is_identity(n: int) -> None:
    data = ds.encoder(n)
    np.testing.assert_array_equal(data.X, np.eye(n))
    np.testing.assert_array_equal(data.y, np.eye(n))
    np.testing.assert_array_equal(data.labels, np.arange(n))
    assert_consistent(data)


@pytest.mark.parametrize("n", [1, 0, -3, 2.5, True, "8"])
def test_encoder_invalid(n: object) -> None:
    with pytest.raises(ValueError, match=r"^n must be"):
        ds.encoder(n)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- #
# Lecture digits
# --------------------------------------------------------------------------- #

DIGIT_ONE = """
..#..
.##..
..#..
..#..
..#..
..#..
.###.
"""

DIGIT_EIGHT = """
.###.
#...#
#...#
.###.
#...#
#...#
.###.
"""


def parse(picture: str) -> np.ndarray:
    return np.array([[c == "#" for c in line] for line in picture.split()], dtype=np.float64)


def test_lecture_digits_clean_patterns() -> None:
    data = ds.lecture_digits()
    assert data.image_shape == (7, 5)
    np.testing.assert_array_equal(data.labels, np.arange(10))
    assert set(np.unique(data.X)) == {0.0, 1.0}
    np.testing.assert_array_equal(data.X[1].reshape(7, 5), parse(DIGIT_ONE))
    np.testing.assert_array_equal(data.X[8].reshape(7, 5), parse(DIGIT_EIGHT))
    for a, b in combinations(range(10), 2):
        distance = int(np.sum(data.X[a] != data.X[b]))
        assert distance >= 2, f"digits {a} and {b} differ in only {distance} pixels"


@settings(max_examples=30, deadline=None)
@given(noise=st.floats(0.0, 1.0), copies=st.integers(1, 6), seed=seeds)
def test_lecture_digits_properties(noise: float, copies: int, seed: int) -> None:
    data = ds.lecture_digits(noise=noise, copies=copies, seed=seed)
    assert data.X.shape == (10 * copies, 35)
    assert data.y.shape == (10 * copies, 10)
    assert_consistent(data)
    assert set(np.unique(data.X)) <= {0.0, 1.0}
    np.testing.assert_array_equal(data.labels, np.repeat(np.arange(10), copies))
    again = ds.lecture_digits(noise=noise, copies=copies, seed=seed)
    np.testing.assert_array_equal(data.X, again.X)
    if noise == 0.0:
        clean = ds.lecture_digits().X
        np.testing.assert_array_equal(data.X, np.repeat(clean, copies, axis=0))


@settings(max_examples=20, deadline=None)
@given(noise=st.floats(0.0, 1.0), seed=seeds)
def test_lecture_digits_flip_rate(noise: float, seed: int) -> None:
    copies = 100  # 35,000 pixels: std of the flip fraction <= 0.0027
    clean = np.repeat(ds.lecture_digits().X, copies, axis=0)
    noisy = ds.lecture_digits(noise=noise, copies=copies, seed=seed).X
    assert abs(np.mean(noisy != clean) - noise) < 0.02


def test_lecture_digits_seed_matters() -> None:
    a = ds.lecture_digits(noise=0.2, copies=5, seed=1).X
    b = ds.lecture_digits(noise=0.2, copies=5, seed=2).X
    assert not np.array_equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"noise": -0.1}, "noise"),
        ({"noise": 1.5}, "noise"),
        ({"noise": float("nan")}, "noise"),
        ({"copies": 0}, "copies"),
        ({"copies": 1.5}, "copies"),
        ({"seed": -1}, "seed"),
    ],
)
def test_lecture_digits_invalid(kwargs: dict[str, object], param: str) -> None:
    with pytest.raises(ValueError, match=f"^{param} must be"):
        ds.lecture_digits(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- #
# 2-D problems
# --------------------------------------------------------------------------- #

NOISY_2D: dict[str, Callable[..., Dataset]] = {
    "circles": ds.circles,
    "moons": ds.moons,
    "spirals": ds.spirals,
}


@pytest.mark.parametrize("name", list(NOISY_2D))
def test_2d_determinism(name: str) -> None:
    make = NOISY_2D[name]
    a, b, c = make(seed=3), make(seed=3), make(seed=4)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.X, c.X)


@settings(max_examples=25, deadline=None)
@given(n_samples=st.integers(2, 120), n_classes=st.integers(2, 6), seed=seeds)
def test_spirals_properties(n_samples: int, n_classes: int, seed: int) -> None:
    if n_samples < n_classes:
        n_samples = n_classes
    data = ds.spirals(n_samples=n_samples, n_classes=n_classes, seed=seed)
    assert data.X.shape == (n_samples, 2)
    assert data.y.shape == (n_samples, n_classes)
    assert_consistent(data)
    counts = np.bincount(data.labels, minlength=n_classes)
    assert counts.max() - counts.min() <= 1


def test_spirals_noise_free_radius() -> None:
    data = ds.spirals(n_samples=30, n_classes=3, noise=0.0)
    radius = np.hypot(data.X[:, 0], data.X[:, 1])
    np.testing.assert_allclose(radius[:10], np.linspace(0, 1, 10))


@settings(max_examples=15, deadline=None)
@given(n_samples=st.integers(1, 300), seed=seeds)
def test_circles_and_moons_sizes(n_samples: int, seed: int) -> None:
    for make in (ds.circles, ds.moons):
        data = make(n_samples=n_samples, seed=seed)
        assert data.X.shape == (n_samples, 2)
        assert data.y.shape == (n_samples, 1)
        assert_consistent(data)


def test_circles_inner_circle_is_class_one() -> None:
    data = ds.circles(n_samples=100, noise=0.0, factor=0.3)
    radius = np.hypot(data.X[:, 0], data.X[:, 1])
    np.testing.assert_allclose(radius[data.labels == 1], 0.3)
    np.testing.assert_allclose(radius[data.labels == 0], 1.0)


@pytest.mark.parametrize(
    ("make", "kwargs", "param"),
    [
        (ds.circles, {"n_samples": -3}, "n_samples"),
        (ds.circles, {"noise": -1.0}, "noise"),
        (ds.circles, {"factor": 1.0}, "factor"),
        (ds.circles, {"factor": -0.5}, "factor"),
        (ds.moons, {"n_samples": 0}, "n_samples"),
        (ds.moons, {"noise": float("inf")}, "noise"),
        (ds.moons, {"seed": "a"}, "seed"),
        (ds.spirals, {"n_classes": 1}, "n_classes"),
        (ds.spirals, {"n_samples": 2, "n_classes": 3}, "n_samples"),
        (ds.spirals, {"noise": -0.2}, "noise"),
    ],
)
def test_2d_invalid(make: Callable[..., Dataset], kwargs: dict[str, object], param: str) -> None:
    with pytest.raises(ValueError, match=f"^{param} must be"):
        make(**kwargs)


def test_n_samples_error_message() -> None:
    with pytest.raises(ValueError, match=r"n_samples must be a positive integer, got -3"):
        ds.moons(n_samples=-3)


# --------------------------------------------------------------------------- #
# scikit-learn digits
# --------------------------------------------------------------------------- #


def test_load_digits_scaled() -> None:
    data = ds.load_digits()
    assert data.X.shape == (1797, 64)
    assert data.image_shape == (8, 8)
    assert data.X.min() == 0.0 and data.X.max() == 1.0
    np.testing.assert_array_equal(np.unique(data.labels), np.arange(10))
    assert_consistent(data)


def test_load_digits_unscaled() -> None:
    raw = ds.load_digits(scale=False)
    assert raw.X.max() == 16.0
    np.testing.assert_allclose(raw.X / 16.0, ds.load_digits(scale=True).X)
