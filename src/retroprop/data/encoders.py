"""One column at a time: how a feature becomes network inputs and a target becomes outputs.

A :class:`Feature` is numeric (standardised with its ``mean`` and ``scale``) or categorical
(one-hot over its ``categories``; ``mode`` fills missing cells). A :class:`Target` is a
classification target (one-hot over its ``classes``) or a regression target (standardised).
Each is fitted from a column of a :class:`~retroprop.data.tabular.Table` and saved as plain JSON.
:class:`~retroprop.data.preprocessing.Preprocessor` puts them together.
"""

from __future__ import annotations

import itertools
import shlex
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

import numpy as np
from numpy.typing import NDArray

from retroprop.data.schema import SchemaError, as_dict, as_float, as_list, as_str, get
from retroprop.data.tabular import (
    INFINITE,
    MAX_CATEGORIES,
    MISSING,
    NUMBER,
    TEXT,
    Column,
    DataError,
    DataWarning,
    Table,
)
from retroprop.errors import spelled

__all__ = [
    "MAX_AUTO_CLASSES",
    "Feature",
    "Label",
    "Target",
    "as_label",
    "check_cells",
    "feature_from_json",
    "fit_feature",
    "fit_target",
    "is_text",
    "line_list",
    "target_from_json",
    "target_to_json",
    "warn_constant",
    "warn_identifiers",
]

Task = Literal["auto", "classification", "regression"]
Label = str | int | float
Rows = NDArray[np.intp]

MAX_AUTO_CLASSES = 20
"""An integer target with at most this many distinct values is a classification target."""

CONSTANT_WARNINGS = 5
"""Constant columns (or columns that look like identifiers) warned about one by one; the rest
are counted in one more warning."""


@dataclass(frozen=True)
class Feature:
    """One input column. Numeric: ``mean`` and ``scale``; categorical: ``categories``, ``mode``."""

    name: str
    kind: Literal["numeric", "categorical"]
    mean: float = 0.0
    scale: float = 1.0
    categories: tuple[str, ...] = ()
    mode: str = ""

    @property
    def width(self) -> int:
        """Network inputs this feature takes: 1, or one per category."""
        return 1 if self.kind == "numeric" else len(self.categories)


@dataclass(frozen=True)
class Target:
    """The predicted column: class labels, or mean and scale of a regression target.

    A regression target may have several columns (multi-output regression): ``name``,
    ``mean`` and ``scale`` are the first one's, ``more`` holds the others (each a one-column
    regression :class:`Target`); :attr:`names`, :attr:`means` and :attr:`scales` are every
    column's, in network-output order.
    """

    name: str
    kind: Literal["classification", "regression"]
    classes: tuple[Label, ...] = ()
    mean: float = 0.0
    scale: float = 1.0
    more: tuple[Target, ...] = ()

    @property
    def width(self) -> int:
        """Network outputs: one per class, or one per regression column."""
        return len(self.classes) if self.kind == "classification" else 1 + len(self.more)

    @property
    def names(self) -> tuple[str, ...]:
        """Every target column's name, shape (width,) for regression, (1,) for classes."""
        return (self.name, *(t.name for t in self.more))

    @property
    def means(self) -> NDArray[np.float64]:
        """Every regression column's training mean, shape (n_targets,)."""
        return np.array([self.mean, *(t.mean for t in self.more)], dtype=np.float64)

    @property
    def scales(self) -> NDArray[np.float64]:
        """Every regression column's standardising scale, shape (n_targets,)."""
        return np.array([self.scale, *(t.scale for t in self.more)], dtype=np.float64)


def line_list(table: Table, rows: Rows, limit: int = 5) -> str:
    """ "lines 3, 5 and 2 more": the file lines (or in-memory rows) of some rows, for messages."""
    shown = ", ".join(str(n) for n in table.lines[rows[:limit]])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"{table.unit}{'s' if len(rows) > 1 else ''} {shown}{more}"


def check_cells(
    table: Table, col: Column, rows: Rows, numeric: bool, trained: bool = False
) -> None:
    """Refuse infinite values (and text, if ``numeric``) in ``rows`` of a column; ``trained``:
    the column is one a trained model reads (so the kind of column cannot be chosen now)."""
    bad = rows[col.status[rows] == INFINITE]
    if len(bad):
        i = bad[0]
        raise DataError(
            f"{table.source}, {table.place(i)}, column {col.name!r}: infinite value "
            f"{col.text(i)!r} ({len(bad)} in the column); replace it or leave the cell empty"
        )
    bad = rows[col.status[rows] == TEXT] if numeric else rows[:0]
    if len(bad):
        i = bad[0]
        advice = (
            "fix the value (the model was trained on numbers in this column)"
            if trained
            else f"fix the value, or treat the column as categorical ({_categorical(col.name)})"
        )
        raise DataError(
            f"{table.source}, {table.place(i)}, column {col.name!r}: {col.text(i)!r} is "
            f"not a number, but the column holds numbers ({line_list(table, bad)}); {advice}"
        )


def _regression() -> str:
    return spelled('task="regression"', "--task regression")


def _categorical(name: str) -> str:
    return spelled(f"categorical=[{name!r}]", f"--categorical {shlex.quote(name)}")


def is_text(col: Column) -> bool:
    """True when most of the column's non-missing cells are not numbers (a categorical column)."""
    return col.count(TEXT) > col.count(NUMBER)


def as_label(v: float) -> Label:
    """A numeric class label as JSON keeps it: an int when the value is integral."""
    return int(v) if float(v).is_integer() and abs(v) < 2**53 else float(v)


def fit_feature(
    table: Table,
    col: Column,
    rows: Rows,
    categorical: bool,
    constant: list[tuple[str, str]],
    identifiers: list[tuple[str, int, int]] | None = None,
) -> Feature:
    """Mean and scale, or the categories and mode, of a feature column over ``rows``.

    A column with the same value in every row is added to ``constant`` as (name, value), for
    :func:`warn_constant`; a categorical column that looks like an identifier (almost every
    value distinct) to ``identifiers`` as (name, distinct values, values), for
    :func:`warn_identifiers`.
    """
    present = rows[col.status[rows] != MISSING]
    if not len(present):
        raise DataError(f"{table.source}: column {col.name!r} has no values")
    check_cells(table, col, rows, numeric=not categorical)
    if categorical:
        if col.codes is None or col.vocabulary is None:
            raise DataError(
                f"{table.source}: column {col.name!r} has more than {MAX_CATEGORIES} distinct "
                f"values, too many to be categorical (an ID? leave it out with "
                f"{spelled(f'ignore=[{col.name!r}]', '--ignore ' + col.name)})"
            )
        counts = np.bincount(col.codes[present], minlength=len(col.vocabulary))
        categories = tuple(sorted(col.vocabulary[k] for k in np.flatnonzero(counts)))
        if len(categories) == 1:
            constant.append((col.name, categories[0]))
        if identifiers is not None and _looks_like_identifier(len(categories), len(present)):
            identifiers.append((col.name, len(categories), len(present)))
        return Feature(
            col.name, "categorical", categories=categories, mode=col.vocabulary[counts.argmax()]
        )
    mean, std = _mean_and_scale(table, col, present, constant)
    return Feature(col.name, "numeric", mean=mean, scale=std)


def _mean_and_scale(
    table: Table, col: Column, rows: Rows, constant: list[tuple[str, str]]
) -> tuple[float, float]:
    """Mean and standard deviation of the numbers in ``rows`` (scale 1 for a constant column,
    added to ``constant``); values so large that x − mean overflows are a :class:`DataError`."""
    x = col.values[rows]
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = float(np.mean(x)), float(np.std(x))
        spread = float(np.max(np.abs(x - mean)))
    if not (np.isfinite(mean) and np.isfinite(std) and np.isfinite(spread)):
        i = rows[int(np.argmax(np.abs(x)))]
        raise DataError(
            f"{table.source}, {table.place(i)}, column {col.name!r}: {col.text(i)!r} is too "
            f"large to standardise (the column's mean or spread overflows float64); rescale the "
            f"column (divide it by a power of ten)"
        )
    if not std > 1e-12 * max(1.0, abs(mean)):
        constant.append((col.name, col.text(rows[0])))
        std = 1.0
    return mean, std


def warn_constant(table: Table, constant: list[tuple[str, str]], stacklevel: int = 2) -> None:
    """A :class:`DataWarning` for each of the first :data:`CONSTANT_WARNINGS` constant columns
    (name, value), and one that counts the rest: a file of a million constant columns gives
    six lines, not a million."""
    _warn_a_few(
        (
            f"{table.source}: column {name!r} has the same value {value!r} in every row; "
            f"it cannot help the prediction"
            for name, value in constant
        ),
        len(constant),
        lambda rest: (
            f"{table.source}: … and {rest:,} more constant column{'s' if rest > 1 else ''} "
            f"(the same value in every row: {constant[CONSTANT_WARNINGS][0]!r}, …)"
        ),
        stacklevel + 1,
    )


def _warn_a_few(
    messages: Iterable[str], n: int, more: Callable[[int], str], stacklevel: int
) -> None:
    """The first :data:`CONSTANT_WARNINGS` of ``n`` ``messages`` as :class:`DataWarning` s,
    then ``more(rest)`` for the rest, if any."""
    for message in itertools.islice(messages, CONSTANT_WARNINGS):
        warnings.warn(message, DataWarning, stacklevel=stacklevel + 1)
    if n > CONSTANT_WARNINGS:
        warnings.warn(more(n - CONSTANT_WARNINGS), DataWarning, stacklevel=stacklevel + 1)


IDENTIFIER_SHARE = 0.9
"""A categorical column with at least this share of distinct values among its values (and at
least :data:`IDENTIFIER_MIN` of them) looks like an identifier (a name, an ID), and is warned
about: one-hot encoded, it gives the network an input per row to memorise, not a pattern."""
IDENTIFIER_MIN = 20


def _looks_like_identifier(n_distinct: int, n_values: int) -> bool:
    return n_distinct >= max(IDENTIFIER_MIN, IDENTIFIER_SHARE * n_values)


def warn_identifiers(
    table: Table, identifiers: list[tuple[str, int, int]], stacklevel: int = 2
) -> None:
    """A :class:`DataWarning` for each of the first :data:`CONSTANT_WARNINGS` columns that look
    like identifiers (name, distinct values, values), and one that counts the rest."""
    _warn_a_few(
        (
            f"{table.source}: column {name!r} has {n_distinct:,} distinct values in "
            f"{n_values:,} rows; it looks like an identifier — "
            f"{spelled(f'ignore=[{name!r}]', f'--ignore {shlex.quote(name)}')}?"
            for name, n_distinct, n_values in identifiers
        ),
        len(identifiers),
        lambda rest: (
            f"{table.source}: … and {rest:,} more column{'s' if rest > 1 else ''} that look "
            f"like identifiers ({identifiers[CONSTANT_WARNINGS][0]!r}, …)"
        ),
        stacklevel + 1,
    )


def fit_target(table: Table, col: Column, rows: Rows, task: Task) -> Target:
    """The target's classes (classification) or mean and scale (regression) over ``rows``.

    ``task="auto"``: classification when the column holds text, or only integers with at most
    :data:`MAX_AUTO_CLASSES` distinct values; regression otherwise.
    """
    has_text = bool(np.any(col.status[rows] == TEXT))
    values = col.values[rows]
    integral = not has_text and bool(np.all(values == np.round(values)))
    if task == "auto":
        distinct = len(np.unique(values)) if integral else MAX_AUTO_CLASSES + 1
        task = "classification" if has_text or distinct <= MAX_AUTO_CLASSES else "regression"
    if task == "regression":
        check_cells(table, col, rows, numeric=True)
        constant: list[tuple[str, str]] = []
        mean, std = _mean_and_scale(table, col, rows, constant)
        warn_constant(table, constant, stacklevel=3)
        return Target(col.name, "regression", mean=mean, scale=std)
    check_cells(table, col, rows, numeric=False)
    classes: tuple[Label, ...]
    if has_text:
        if col.codes is None or col.vocabulary is None:
            raise DataError(
                f"{table.source}: target {col.name!r} has more than {MAX_CATEGORIES} distinct "
                f"values, too many classes"
            )
        vocab = col.vocabulary
        classes = tuple(sorted({vocab[k] for k in col.codes[rows]}))
    else:
        classes = tuple(sorted({as_label(v) for v in values}))
        _warn_merged_labels(table, col, rows)
    if len(classes) < 2:
        raise DataError(
            f"{table.source}: target {col.name!r} has a single class {classes[0]!r}; "
            f"classification needs at least two (or use {_regression()})"
        )
    if len(classes) > MAX_CATEGORIES:
        raise DataError(f"{table.source}: target {col.name!r} has {len(classes)} classes, too many")
    return Target(col.name, "classification", classes=classes)


def _warn_merged_labels(table: Table, col: Column, rows: Rows) -> None:
    """Say so when different texts of a numeric target ("007", "7", "7.0") are one class: the
    labels are numbers, and these are the same number."""
    if col.codes is None or col.vocabulary is None:
        return
    codes, first = np.unique(col.codes[rows], return_index=True)
    texts: dict[Label, list[str]] = {}
    for k, i in zip(codes, first, strict=True):
        if k >= 0:
            texts.setdefault(as_label(col.values[rows[i]]), []).append(col.vocabulary[k])
    merged = {label: sorted(t) for label, t in texts.items() if len(t) > 1}
    if not merged:
        return
    label, same = next(iter(merged.items()))
    more = f" ({len(merged) - 1} more such classes)" if len(merged) > 1 else ""
    warnings.warn(
        f"{table.source}: target {col.name!r}: the labels {', '.join(map(repr, same))} are the "
        f"same number, so one class {label!r}{more}; to keep them apart, make the labels text "
        f"(e.g. 'c{same[0]}')",
        DataWarning,
        stacklevel=4,
    )


def _name_and_kind(obj: Any, path: str) -> tuple[dict[str, Any], str, Any]:
    """The JSON object of a column's encoding, its ``name`` and its (unchecked) ``kind``."""
    obj = as_dict(obj, path)
    return obj, as_str(get(obj, "name", path), f"{path}.name"), get(obj, "kind", path)


class _Standardisation(TypedDict):
    mean: float
    scale: float


def _standardisation(obj: dict[str, Any], path: str) -> _Standardisation:
    """``mean`` and ``scale`` (positive) of a standardised column, x' = (x − mean) / scale."""
    return _Standardisation(
        mean=as_float(get(obj, "mean", path), f"{path}.mean"),
        scale=as_float(get(obj, "scale", path), f"{path}.scale", positive=True),
    )


def feature_from_json(obj: Any, path: str) -> Feature:
    """A :class:`Feature` from its JSON, validated; errors name the JSON path."""
    obj, name, kind = _name_and_kind(obj, path)
    if kind == "categorical":
        cats = as_list(get(obj, "categories", path), f"{path}.categories", MAX_CATEGORIES)
        categories = tuple(as_str(c, f"{path}.categories[{j}]") for j, c in enumerate(cats))
        if not categories or len(set(categories)) != len(categories):
            raise SchemaError(f"{path}.categories: expected distinct strings, at least one")
        mode = as_str(get(obj, "mode", path), f"{path}.mode")
        if mode not in categories:
            raise SchemaError(f"{path}.mode: expected one of the categories, got {mode!r}")
        return Feature(name, "categorical", categories=categories, mode=mode)
    if kind == "numeric":
        return Feature(name, "numeric", **_standardisation(obj, path))
    raise SchemaError(f"{path}.kind: expected 'numeric' or 'categorical', got {kind!r}")


def target_to_json(t: Target) -> dict[str, Any]:
    """A target's JSON: ``name``, ``kind`` and ``classes`` or ``mean`` and ``scale``; a
    multi-output regression target adds ``more``, a list of ``{name, mean, scale}`` of its
    other columns (absent for one column, so such a target is written as before)."""
    out: dict[str, Any] = {"name": t.name, "kind": t.kind}
    if t.kind == "classification":
        out["classes"] = list(t.classes)
    else:
        out.update(mean=t.mean, scale=t.scale)
    if t.more:
        out["more"] = [{"name": m.name, "mean": m.mean, "scale": m.scale} for m in t.more]
    return out


def _more_targets(obj: dict[str, Any], path: str) -> tuple[Target, ...]:
    """The further columns of a multi-output regression target (its ``more`` key)."""
    raw = as_list(get(obj, "more", path), f"{path}.more", MAX_CATEGORIES)
    if not raw:
        raise SchemaError(f"{path}.more: expected at least one further target column")
    more = []
    for j, m in enumerate(raw):
        p = f"{path}.more[{j}]"
        m = as_dict(m, p)
        name = as_str(get(m, "name", p), f"{p}.name")
        more.append(Target(name, "regression", **_standardisation(m, p)))
    return tuple(more)


def target_from_json(obj: Any, path: str) -> Target:
    """A :class:`Target` from its JSON, validated; errors name the JSON path."""
    obj, name, kind = _name_and_kind(obj, path)
    if kind == "regression":
        more = _more_targets(obj, path) if "more" in obj else ()
        target = Target(name, "regression", **_standardisation(obj, path), more=more)
        if len(set(target.names)) != len(target.names):
            raise SchemaError(f"{path}.more: target names must be distinct")
        return target
    if "more" in obj:
        raise SchemaError(f"{path}.more: only a regression target has several columns")
    if kind == "classification":
        raw = as_list(get(obj, "classes", path), f"{path}.classes", MAX_CATEGORIES)
        classes: list[Label] = []
        for j, c in enumerate(raw):
            p = f"{path}.classes[{j}]"
            classes.append(as_str(c, p) if isinstance(c, str) else as_label(as_float(c, p)))
        if len(classes) < 2 or len({str(c) for c in classes}) != len(classes):
            raise SchemaError(f"{path}.classes: expected at least two distinct labels")
        return Target(name, "classification", classes=tuple(classes))
    raise SchemaError(f"{path}.kind: expected 'classification' or 'regression', got {kind!r}")
