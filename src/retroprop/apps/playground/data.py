"""The playground's data: a built-in data set or the user's CSV, preprocessed as
``retroprop train`` does (:class:`~retroprop.data.preprocessing.Preprocessor`: numeric columns
standardised, text columns one-hot, class labels one-hot, a regression target standardised),
split into training and test rows, and the plane the decision map shows.

Every source becomes a :class:`~retroprop.data.tabular.Table` first, so built-in data and a
CSV take exactly the same path, and a model exported from the playground carries the
preprocessing of its data like a model from ``retroprop train``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from retroprop.data import datasets
from retroprop.data.preprocessing import Preprocessor
from retroprop.data.tabular import DataError, DataWarning, Table

Array = NDArray[np.floating]

__all__ = ["BUILTIN", "Plane", "Prepared", "builtin_table", "plane", "prepare"]

BUILTIN = (
    "xor", "circles", "moons", "spirals", "gaussians", "plane", "sine", "lecture_digits", "digits"
)  # fmt: skip
"""The built-in data sets: 2-D classification toys, 2-D regression toys, the lecture's 5×7
digits and scikit-learn's bundled 8×8 digits."""


def _gaussians(n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Array]:
    """Three Gaussian blobs at the corners of a triangle; σ grows with ``noise``."""
    centres = np.array([[-1.0, -0.6], [1.0, -0.6], [0.0, 1.0]])
    labels = np.arange(n) % 3
    return centres[labels] + (0.15 + noise) * rng.standard_normal((n, 2)), labels.astype(float)


def _regression(name: str, n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Array]:
    """A 2-D regression toy: ``plane`` y = x₁ − 0.5 x₂ or ``sine`` y = sin(3 x₁) + x₂², plus
    Gaussian noise of σ = ``noise``."""
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    if name == "plane":
        y = X[:, 0] - 0.5 * X[:, 1]
    else:
        y = np.sin(3.0 * X[:, 0]) + X[:, 1] ** 2
    return X, y + noise * rng.standard_normal(n)


def _dataset_columns(ds: datasets.Dataset) -> dict[str, Any]:
    """A bundled :class:`~retroprop.data.datasets.Dataset` as columns: x1…xn and ``class``."""
    cols: dict[str, Any] = {f"x{i + 1}": ds.X[:, i] for i in range(ds.n_features)}
    cols["class"] = ds.labels
    return cols


def builtin_table(name: str, noise: float, n_samples: int, seed: int) -> tuple[Table, str]:
    """The built-in data set ``name`` as a table, and the name of its target column.

    ``noise`` and ``n_samples`` apply to the generated toys (the digits have a fixed size;
    ``noise`` flips the lecture digits' pixels with that probability).
    """
    rng = np.random.default_rng(seed)
    if name == "xor":
        cols = _dataset_columns(datasets.xor())
    elif name in ("circles", "moons"):
        make = datasets.circles if name == "circles" else datasets.moons
        cols = _dataset_columns(make(n_samples=n_samples, noise=noise, seed=seed))
    elif name == "spirals":
        cols = _dataset_columns(datasets.spirals(n_samples=n_samples, noise=noise, seed=seed))
    elif name == "gaussians":
        X, labels = _gaussians(n_samples, noise, rng)
        cols = {"x1": X[:, 0], "x2": X[:, 1], "class": labels}
    elif name in ("plane", "sine"):
        X, y = _regression(name, n_samples, noise, rng)
        return Table.from_columns({"x1": X[:, 0], "x2": X[:, 1], "y": y}, name), "y"
    elif name == "lecture_digits":
        cols = _dataset_columns(datasets.lecture_digits(noise=min(noise, 0.5), copies=4, seed=seed))
    elif name == "digits":
        cols = _dataset_columns(datasets.load_digits())
    else:
        raise DataError(f"data: unknown data set {name!r}; built-in: {', '.join(BUILTIN)}")
    return Table.from_columns(cols, name), "class"


@dataclass(frozen=True)
class Prepared:
    """Network-ready data: inputs X (n, n_inputs) and targets Y (n, n_outputs) of the training
    and test rows, the fitted preprocessing, and what each input and output is."""

    pre: Preprocessor
    X: Array
    Y: Array
    X_test: Array
    Y_test: Array
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    source: str
    sha256: str | None
    notes: tuple[str, ...] = ()
    """What the preprocessing warned about (constant columns, dropped rows), for the page."""

    @property
    def classify(self) -> bool:
        return self.pre.target.kind == "classification"

    @cached_property
    def variances(self) -> tuple[float, float]:
        """Var(Y) of the training and of the test targets (R²'s denominators), computed once:
        every epoch's R² needs them."""
        return variance(self.Y), variance(self.Y_test)


def variance(Y: Array) -> float:
    """Var(Y) over all entries (0 for fewer than two rows)."""
    return float(np.var(Y)) if len(Y) > 1 else 0.0


def _test_rows(table: Table, fraction: float, seed: int) -> NDArray[np.intp]:
    """A random ``fraction`` of the rows, held out for testing (at most all but two rows)."""
    n = table.n_rows
    k = min(round(fraction * n), max(n - 2, 0))
    return np.sort(np.random.default_rng(seed).permutation(n)[:k])


def prepare(table: Table, target: str, test_fraction: float, seed: int) -> Prepared:
    """Hold out the test rows, fit the preprocessing on the others and encode both.

    Raises:
        DataError: the table cannot be used (the message says why, as ``retroprop train``'s).
    """
    test = _test_rows(table, test_fraction, seed)
    train = np.setdiff1d(np.arange(table.n_rows), test)
    fitting = table.take(train)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        pre, rows = Preprocessor.fit(fitting, target)
    held = table.take(test)
    X_test = pre.transform(held) if len(test) else np.zeros((0, pre.n_inputs))
    Y_test = pre.encode_target(held) if len(test) else np.zeros((0, pre.n_outputs))
    target_ = pre.target
    outputs = (
        tuple(str(c) for c in target_.classes) if target_.kind == "classification" else (target,)
    )
    return Prepared(
        pre=pre,
        X=pre.transform(fitting, rows),
        Y=pre.encode_target(fitting, rows),
        X_test=X_test,
        Y_test=Y_test,
        input_names=pre.input_names,
        output_names=outputs,
        source=table.source,
        sha256=table.sha256,
        notes=tuple(str(w.message) for w in caught if issubclass(w.category, DataWarning)),
    )


@dataclass(frozen=True)
class Plane:
    """The plane of input space the decision map shows: the points origin + s·u + t·v for s
    and t in their ranges. u and v are unit vectors (n_inputs,): two inputs' axes (the others
    held at their training means) or the first two principal components."""

    origin: Array
    u: Array
    v: Array
    s_range: tuple[float, float]
    t_range: tuple[float, float]
    labels: tuple[str, str]
    _grids: dict[int, Array] = field(default_factory=dict, compare=False, repr=False)

    def grid(self, n: int) -> Array:
        """The n × n grid points, row by row from the top (largest t) down: (n², n_inputs).
        Computed once per size (every frame draws the same grid)."""
        if n not in self._grids:
            self._grids[n] = self._grid(n)
        return self._grids[n]

    def _grid(self, n: int) -> Array:
        s = np.linspace(*self.s_range, n)
        t = np.linspace(*self.t_range, n)[::-1]
        S, T = np.meshgrid(s, t)
        return self.origin + S.reshape(-1, 1) * self.u + T.reshape(-1, 1) * self.v

    def project(self, X: Array) -> Array:
        """The (s, t) coordinates of points X (n, n_inputs) in the plane: (n, 2)."""
        D = X - self.origin
        return np.column_stack([D @ self.u, D @ self.v])


def _span(values: Array) -> tuple[float, float]:
    """The range of some coordinates, with a margin of a tenth on each side."""
    lo, hi = (float(values.min()), float(values.max())) if len(values) else (-1.0, 1.0)
    pad = 0.1 * (hi - lo) or 1.0
    return lo - pad, hi + pad


def plane(data: Prepared, axes: tuple[int, int] | None) -> Plane:
    """The map's plane through the training data: inputs ``axes`` (i, j), or the PCA plane
    (``None``; the two inputs themselves for 2-D data)."""
    X = data.X
    n_in = X.shape[1]
    origin = X.mean(axis=0)
    if axes is None and n_in == 2:
        axes = (0, 1)
    if axes is not None:
        i, j = axes
        if not (0 <= i < n_in and 0 <= j < n_in and i != j):
            raise DataError(f"map axes: expected two different inputs of 1…{n_in}, got {axes}")
        u, v = np.eye(n_in)[i], np.eye(n_in)[j]
        origin = origin.copy()
        origin[[i, j]] = 0.0  # s and t are the two inputs' own values; the others stay at means
        labels = (data.input_names[i], data.input_names[j])
    else:
        _, _, Vt = np.linalg.svd(X - origin, full_matrices=False)
        u, v = Vt[0], Vt[1] if len(Vt) > 1 else np.roll(Vt[0], 1)
        labels = ("PC1", "PC2")
    st = np.column_stack([(X - origin) @ u, (X - origin) @ v])
    return Plane(origin, u, v, _span(st[:, 0]), _span(st[:, 1]), labels)
