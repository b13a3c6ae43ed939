"""Small classification data sets for experimenting with backpropagation.

Every loader returns a :class:`Dataset` whose arrays are ready to feed to a
network: ``X`` holds one float64 input pattern per row, ``y`` holds float64
targets (a single 0/1 column for binary problems, one-hot rows otherwise) and
``labels`` holds the integer class of each row for computing accuracy.

The classic toy problems (XOR, the encoder, the 5x7 "lecture" digits) are
generated here without any download. ``circles``, ``moons`` and ``load_digits``
use scikit-learn, which is imported only inside those functions so that
``import retroprop`` stays fast. Everything random is reproducible from
``seed`` through :func:`numpy.random.default_rng`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from retroprop.errors import ParameterError

__all__ = [
    "Dataset",
    "circles",
    "encoder",
    "lecture_digits",
    "load_digits",
    "moons",
    "one_hot",
    "spirals",
    "xor",
]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled classification data set.

    Attributes:
        X: float64 inputs, shape (n_samples, n_features).
        y: float64 network targets, shape (n_samples, n_outputs); one-hot rows
            for multi-class problems, a single 0/1 column for binary ones.
        labels: int64 class labels, shape (n_samples,).
        name: short identifier, e.g. ``"xor"``.
        description: one-line human readable description.
        image_shape: (height, width) of each pattern when the inputs are
            pixels, so ``X[i].reshape(image_shape)`` can be drawn; else None.
    """

    X: NDArray[np.float64]
    y: NDArray[np.float64]
    labels: NDArray[np.int64]
    name: str
    description: str = ""
    image_shape: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        X = np.asarray(self.X, dtype=np.float64)
        y = np.asarray(self.y, dtype=np.float64)
        labels = np.asarray(self.labels, dtype=np.int64)
        for name, arr, ndim in (("X", X, 2), ("y", y, 2), ("labels", labels, 1)):
            if arr.ndim != ndim:
                raise ParameterError(f"{name} must be {ndim}-D, got shape {arr.shape}")
        if not X.shape[0] == y.shape[0] == labels.shape[0]:
            raise ParameterError(
                "X, y and labels must have the same number of rows, got "
                f"{X.shape[0]}, {y.shape[0]} and {labels.shape[0]}"
            )
        if self.image_shape is not None and math.prod(self.image_shape) != X.shape[1]:
            raise ParameterError(
                f"image_shape must multiply to n_features={X.shape[1]}, got {self.image_shape}"
            )
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "labels", labels)

    @property
    def n_samples(self) -> int:
        """Number of patterns (rows of ``X``)."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of inputs per pattern (columns of ``X``)."""
        return int(self.X.shape[1])

    @property
    def n_outputs(self) -> int:
        """Number of target values per pattern (columns of ``y``)."""
        return int(self.y.shape[1])

    def __repr__(self) -> str:
        extra = f", image_shape={self.image_shape}" if self.image_shape is not None else ""
        return (
            f"Dataset(name={self.name!r}, X={self.X.shape}, y={self.y.shape}, "
            f"labels={self.labels.shape}{extra})"
        )


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        expected = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ParameterError(f"{name} must be {expected}, got {value!r}")
    return int(value)


def _check_float(
    name: str, value: object, low: float, high: float = math.inf, *, high_open: bool = False
) -> float:
    number = math.nan
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        number = float(value)
    in_range = low <= number < high if high_open else low <= number <= high
    if not (math.isfinite(number) and in_range):
        if math.isinf(high):
            expected = f"a finite number >= {low:g}"
        else:
            expected = f"a number in [{low:g}, {high:g}{')' if high_open else ']'}"
        raise ParameterError(f"{name} must be {expected}, got {value!r}")
    return number


def _check_seed(seed: object) -> int | None:
    if seed is None:
        return None
    return _check_int("seed", seed, 0)


def _sklearn_state(seed: int | None) -> int | None:
    """Derive a scikit-learn ``random_state`` (0 <= s < 2**32) from ``seed``."""
    if seed is None:
        return None
    return int(np.random.default_rng(seed).integers(0, 2**32))


def one_hot(labels: ArrayLike, n_classes: int | None = None) -> NDArray[np.float64]:
    """Encode integer class labels as one-hot rows.

    Args:
        labels: integer class labels >= 0, shape (n_samples,). Floats are
            accepted when they hold whole numbers.
        n_classes: number of columns; defaults to ``max(labels) + 1``.

    Returns:
        float64 array of shape (n_samples, n_classes) with a single 1.0 per
        row, at the column given by the label.
    """
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ParameterError(f"labels must be a 1-D array, got shape {arr.shape}")
    if arr.dtype.kind not in "iub":
        if arr.size and (arr.dtype.kind != "f" or not np.all(np.mod(arr, 1) == 0)):
            raise ParameterError(f"labels must be whole numbers, got dtype {arr.dtype}")
    ints = arr.astype(np.int64)
    if ints.size and ints.min() < 0:
        raise ParameterError(f"labels must be non-negative, got minimum {ints.min()}")
    needed = int(ints.max()) + 1 if ints.size else 0
    if n_classes is None:
        n_classes = needed
    n_classes = _check_int("n_classes", n_classes, 0)
    if n_classes < needed:
        raise ParameterError(
            f"n_classes must be > the largest label ({needed - 1}), got {n_classes}"
        )
    out = np.zeros((ints.size, n_classes), dtype=np.float64)
    out[np.arange(ints.size), ints] = 1.0
    return out


def _binary_targets(labels: NDArray[np.int64]) -> NDArray[np.float64]:
    return labels.astype(np.float64).reshape(-1, 1)


def xor() -> Dataset:
    """The exclusive-or problem.

    Returns:
        Dataset with X float64 (4, 2) = all points of {0, 1}^2, y float64
        (4, 1) = x1 XOR x2, labels int64 (4,) equal to the XOR bit.
    """
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    labels = np.array([0, 1, 1, 0], dtype=np.int64)
    return Dataset(X, _binary_targets(labels), labels, "xor", "Exclusive-or of two bits")


def encoder(n: int = 8) -> Dataset:
    """The n-log2(n)-n encoder problem (Rumelhart, Hinton & Williams, 1986).

    The network must reproduce a one-of-n input at its output through a
    narrow hidden layer, discovering a compact (binary-like) code.

    Returns:
        Dataset with X float64 (n, n) = identity, y float64 (n, n) = identity,
        labels int64 (n,) = arange(n).
    """
    n = _check_int("n", n, 2)
    eye = np.eye(n, dtype=np.float64)
    hidden = math.ceil(math.log2(n))
    desc = f"{n}-{hidden}-{n} encoder: reproduce a one-of-{n} input at the output"
    return Dataset(eye, eye.copy(), np.arange(n, dtype=np.int64), f"encoder-{n}", desc)


# 5 pixels wide x 7 pixels high; "1" = ink.
_DIGIT_FONT: tuple[tuple[str, ...], ...] = (
    ("01110", "10001", "10011", "10101", "11001", "10001", "01110"),  # 0
    ("00100", "01100", "00100", "00100", "00100", "00100", "01110"),  # 1
    ("01110", "10001", "00001", "00010", "00100", "01000", "11111"),  # 2
    ("11111", "00010", "00100", "00010", "00001", "10001", "01110"),  # 3
    ("00010", "00110", "01010", "10010", "11111", "00010", "00010"),  # 4
    ("11111", "10000", "11110", "00001", "00001", "10001", "01110"),  # 5
    ("00110", "01000", "10000", "11110", "10001", "10001", "01110"),  # 6
    ("11111", "00001", "00010", "00100", "01000", "01000", "01000"),  # 7
    ("01110", "10001", "10001", "01110", "10001", "10001", "01110"),  # 8
    ("01110", "10001", "10001", "01111", "00001", "00010", "01100"),  # 9
)


def _font_patterns() -> NDArray[np.float64]:
    """The 10 clean digit bitmaps, float64 (10, 35), row-major 7 x 5."""
    return np.array(
        [[float(ch) for row in glyph for ch in row] for glyph in _DIGIT_FONT], dtype=np.float64
    )


def lecture_digits(noise: float = 0.0, copies: int = 1, seed: int | None = 0) -> Dataset:
    """The digits 0-9 as 5 x 7 binary pixel grids, optionally noisy.

    Suitable for the classic lecture exercise of recognising digits through
    hidden layers of 10 and 5 neurons, with no download needed.

    Args:
        noise: probability in [0, 1] of flipping each pixel independently.
        copies: how many times each digit is repeated (positive integer);
            rows are grouped by digit: 0, 0, ..., 1, 1, ..., 9.
        seed: seed for :func:`numpy.random.default_rng` (the noise).

    Returns:
        Dataset with X float64 (10 * copies, 35) holding 0/1 pixels in
        row-major order (reshape to image_shape=(7, 5) to draw), y float64
        one-hot (10 * copies, 10), labels int64 (10 * copies,) in 0..9.
    """
    noise = _check_float("noise", noise, 0.0, 1.0)
    copies = _check_int("copies", copies, 1)
    seed = _check_seed(seed)
    labels = np.repeat(np.arange(10, dtype=np.int64), copies)
    X = _font_patterns()[labels]
    if noise > 0.0:
        flip = np.random.default_rng(seed).random(X.shape) < noise
        X = np.where(flip, 1.0 - X, X)
    desc = f"Digits 0-9 as 5x7 bitmaps, {copies} copies each, pixel flip probability {noise:g}"
    return Dataset(X, one_hot(labels, 10), labels, "lecture_digits", desc, image_shape=(7, 5))


def circles(
    n_samples: int = 200, noise: float = 0.1, factor: float = 0.5, seed: int | None = 0
) -> Dataset:
    """Two concentric circles (scikit-learn ``make_circles``).

    Args:
        n_samples: total number of points (positive integer).
        noise: standard deviation of Gaussian noise added to the points (>= 0).
        factor: radius of the inner circle relative to the outer, in [0, 1).
        seed: seed for reproducibility.

    Returns:
        Dataset with X float64 (n_samples, 2), y float64 (n_samples, 1) with
        1.0 for the inner circle, labels int64 (n_samples,) in {0, 1}.
    """
    from sklearn.datasets import make_circles

    n_samples = _check_int("n_samples", n_samples, 1)
    noise = _check_float("noise", noise, 0.0)
    factor = _check_float("factor", factor, 0.0, 1.0, high_open=True)
    state = _sklearn_state(_check_seed(seed))
    X, labels = make_circles(n_samples=n_samples, noise=noise, factor=factor, random_state=state)
    labels = np.asarray(labels, dtype=np.int64)
    desc = f"Two concentric circles, factor {factor:g}, noise {noise:g}"
    return Dataset(X, _binary_targets(labels), labels, "circles", desc)


def moons(n_samples: int = 200, noise: float = 0.1, seed: int | None = 0) -> Dataset:
    """Two interleaving half circles (scikit-learn ``make_moons``).

    Args:
        n_samples: total number of points (positive integer).
        noise: standard deviation of Gaussian noise added to the points (>= 0).
        seed: seed for reproducibility.

    Returns:
        Dataset with X float64 (n_samples, 2), y float64 (n_samples, 1) 0/1,
        labels int64 (n_samples,) in {0, 1}.
    """
    from sklearn.datasets import make_moons

    n_samples = _check_int("n_samples", n_samples, 1)
    noise = _check_float("noise", noise, 0.0)
    state = _sklearn_state(_check_seed(seed))
    X, labels = make_moons(n_samples=n_samples, noise=noise, random_state=state)
    labels = np.asarray(labels, dtype=np.int64)
    desc = f"Two interleaving moons, noise {noise:g}"
    return Dataset(X, _binary_targets(labels), labels, "moons", desc)


def spirals(
    n_samples: int = 300, n_classes: int = 3, noise: float = 0.2, seed: int | None = 0
) -> Dataset:
    """Interleaved spiral arms, one per class (the CS231n example).

    Point i of arm k has radius r in [0, 1] and angle 4k + 4r + noise * N(0, 1).
    The n_samples points are split as evenly as possible among the arms.

    Args:
        n_samples: total number of points, at least n_classes.
        n_classes: number of spiral arms / classes (>= 2).
        noise: standard deviation of the angular noise in radians (>= 0).
        seed: seed for :func:`numpy.random.default_rng`.

    Returns:
        Dataset with X float64 (n_samples, 2), y float64 one-hot
        (n_samples, n_classes), labels int64 (n_samples,) in 0..n_classes-1.
    """
    n_classes = _check_int("n_classes", n_classes, 2)
    n_samples = _check_int("n_samples", n_samples, 1)
    if n_samples < n_classes:
        raise ParameterError(f"n_samples must be >= n_classes ({n_classes}), got {n_samples}")
    noise = _check_float("noise", noise, 0.0)
    rng = np.random.default_rng(_check_seed(seed))
    counts = np.full(n_classes, n_samples // n_classes)
    counts[: n_samples % n_classes] += 1
    parts: list[NDArray[np.float64]] = []
    for k, count in enumerate(counts):
        r = np.linspace(0.0, 1.0, int(count))
        t = 4.0 * k + 4.0 * r + rng.standard_normal(int(count)) * noise
        parts.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
    labels = np.repeat(np.arange(n_classes, dtype=np.int64), counts)
    desc = f"{n_classes} interleaved spirals, angular noise {noise:g}"
    return Dataset(np.concatenate(parts), one_hot(labels, n_classes), labels, "spirals", desc)


def load_digits(scale: bool = True) -> Dataset:
    """scikit-learn's bundled 8 x 8 handwritten digits (UCI optdigits test set).

    Args:
        scale: if True, divide pixel values (0..16) by 16 so X lies in [0, 1].

    Returns:
        Dataset with X float64 (1797, 64) in row-major 8 x 8 order
        (image_shape=(8, 8)), y float64 one-hot (1797, 10), labels int64
        (1797,) in 0..9.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    X = np.asarray(bunch.data, dtype=np.float64)
    if scale:
        X = X / 16.0
    labels = np.asarray(bunch.target, dtype=np.int64)
    desc = "scikit-learn 8x8 handwritten digits, pixels " + ("/ 16" if scale else "0..16")
    return Dataset(X, one_hot(labels, 10), labels, "load_digits", desc, image_shape=(8, 8))
