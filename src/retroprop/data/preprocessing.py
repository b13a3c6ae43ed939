"""From a table of raw cells to network inputs and targets, and back; fitted on training data.

- Numeric features are standardised: x' = (x − mean) / scale (scale = standard deviation, 1 for
  a constant column).
- Categorical features are one-hot encoded over the categories seen in training (sorted). An
  unseen category is an error naming column, line and value; ``unknown="ignore"`` encodes it as
  all zeros instead (with a warning).
- Classification targets become one-hot rows over the sorted class labels (strings, or numbers
  when every label is a number); regression targets are standardised like numeric features,
  and predictions are mapped back to the original units.
- Missing cells: the policy chosen in training (``missing=``) is stored with the model and is
  what applying it does, unless the caller overrides it:

  ============  ================================  ==========================================
  ``missing``   training                          applying it (predict, evaluate, explain)
  ============  ================================  ==========================================
  ``"error"``   an error naming rows and columns  the same error
  ``"drop"``    those rows are skipped            evaluate skips them; the others refuse them
  ``"mean"``    filled                            filled, the same way
  ============  ================================  ==========================================

  Filling is one rule everywhere: a number becomes the feature's training mean (so 0 after
  standardising), a category the most frequent one in training (``mode``). Both are stored
  for every feature, whatever the policy, so ``missing="mean"`` can be asked for at any time.
  The ONNX graph cannot refuse a row: it always fills, by this rule.

Everything fitted is plain numbers and strings, saved as JSON in the model file
(:meth:`Preprocessor.to_json` / :meth:`Preprocessor.from_json`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from retroprop.data.encoders import (
    Feature,
    Label,
    Rows,
    Target,
    Task,
    as_label,
    check_cells,
    feature_from_json,
    fit_feature,
    fit_target,
    is_text,
    line_list,
    target_from_json,
    target_to_json,
    warn_constant,
    warn_identifiers,
)
from retroprop.data.fann import match_outputs
from retroprop.data.schema import SchemaError, as_dict, as_list, as_str, get
from retroprop.data.tabular import MISSING, NUMBER, Column, DataError, DataWarning, Table
from retroprop.errors import ParameterError, spelled

__all__ = ["Feature", "Label", "Missing", "Preprocessor", "Target", "Task"]

Missing = Literal["error", "drop", "mean"]
MISSING_POLICIES: tuple[Missing, ...] = ("error", "drop", "mean")
Array = NDArray[np.floating]


_LISTED = 10
"""Columns named in one message; the rest are counted."""


def _more(n: int) -> str:
    """The tail of a list cut at :data:`_LISTED` entries of ``n``."""
    return f" and {n - _LISTED:,} more" if n > _LISTED else ""


def _fill_advice() -> str:
    how = spelled('missing="mean"', "--impute mean")
    return f"fill them with the training means and most frequent categories ({how})"


def _drop_advice() -> str:
    how = spelled('missing="drop"', "--drop-missing")
    return f"drop those rows ({how})"


def _missing_error(table: Table, missing: dict[str, Rows], advice: str) -> DataError:
    parts = [
        f"column {name!r} on {line_list(table, rows)}"
        for name, rows in list(missing.items())[:_LISTED]
    ]
    more = _more(len(missing)) and f"{_more(len(missing))} columns"
    return DataError(f"{table.source}: missing values in {'; '.join(parts)}{more}; {advice}")


def _target_names(target: str | Sequence[str], task: Task) -> tuple[str, ...]:
    """The target column names: one, or several distinct ones for multi-output regression."""
    names = (target,) if isinstance(target, str) else tuple(target)
    if not names or len(set(names)) != len(names):
        raise ParameterError(f"target: expected one column or distinct columns, got {target!r}")
    if len(names) > 1 and task == "classification":
        raise ParameterError(
            "several target columns are a multi-output regression; classification takes one "
            "target column"
        )
    return names


def _rows_to_fit(table: Table, used: list[Column], ys: list[Column], missing: Missing) -> Rows:
    """The rows to train on under the ``missing`` policy: all of them, or those without missing
    values (``"drop"``, with a warning); missing values are an error otherwise (always in a
    target, which cannot be imputed)."""
    holes = {c.name: np.flatnonzero(c.status == MISSING) for c in [*used, *ys]}
    holes = {name: rows for name, rows in holes.items() if len(rows)}
    rows = np.arange(table.n_rows)
    if missing not in MISSING_POLICIES:
        raise ParameterError(f"missing: expected 'error', 'drop' or 'mean', got {missing!r}")
    if holes and missing == "error":
        raise _missing_error(table, holes, f"{_drop_advice()} or {_fill_advice()}")
    gaps = {y.name: holes[y.name] for y in ys if y.name in holes}
    if gaps and missing == "mean":
        raise _missing_error(table, gaps, f"a target cannot be imputed: {_drop_advice()}")
    if holes and missing == "drop":
        rows = np.flatnonzero(np.all([c.status != MISSING for c in [*used, *ys]], axis=0))
        if not len(rows):
            raise DataError(f"{table.source}: every row has a missing value")
        warnings.warn(
            f"{table.source}: skipped {table.n_rows - len(rows)} of {table.n_rows} rows with "
            f"missing values",
            DataWarning,
            stacklevel=3,
        )
    return rows


@dataclass(frozen=True)
class Preprocessor:
    """Fitted preprocessing: features in network-input order, the target, the file's columns,
    and what to do with missing cells (``missing``, the policy it was fitted with)."""

    features: tuple[Feature, ...]
    target: Target
    columns: tuple[str, ...]
    missing: Missing = "error"

    @property
    def n_inputs(self) -> int:
        return sum(f.width for f in self.features)

    @property
    def n_outputs(self) -> int:
        return self.target.width

    @property
    def input_names(self) -> tuple[str, ...]:
        """Every network input's name: its column, or ``column=category`` for one-hot inputs."""
        return tuple(
            f.name if f.kind == "numeric" else f"{f.name}={category}"
            for f in self.features
            for category in (f.categories if f.kind == "categorical" else (None,))
        )

    # -- fitting ---------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        table: Table | Any,
        target: str | Sequence[str],
        *,
        task: Task = "auto",
        categorical: Sequence[str] = (),
        ignore: Sequence[str] = (),
        missing: Missing = "error",
    ) -> tuple[Preprocessor, Rows]:
        """Learn the preprocessing from training data: a :class:`Table` (from
        :func:`~retroprop.read_csv`), a DataFrame, columns ``{name: values}`` or a 2-D array
        (:meth:`Table.from_data`). ``target``: the column to predict, or several numeric
        columns (multi-output regression: ``task`` "auto" or "regression").

        Returns:
            The preprocessor and the indices of the rows to train on (all rows, or those
            without missing values when ``missing="drop"``).

        Raises:
            DataError: unknown target or column, missing values (with ``missing="error"``),
                non-numeric text in a numeric column, infinite values, a single class, …
        """
        table = Table.from_data(table)
        names = _target_names(target, task)
        ys = [table.column(name, "target column") for name in names]
        for name in (*categorical, *ignore):
            table.column(name)
        used = [c for c in table.columns if c.name not in names and c.name not in ignore]
        if not used:
            raise DataError(f"{table.source}: no feature columns besides the target {target!r}")
        rows = _rows_to_fit(table, used, ys, missing)
        constant: list[tuple[str, str]] = []
        identifiers: list[tuple[str, int, int]] = []
        features = tuple(
            fit_feature(table, c, rows, c.name in categorical or is_text(c), constant, identifiers)
            for c in used
        )
        warn_constant(table, constant)
        warn_identifiers(table, identifiers)
        task_: Task = "regression" if len(ys) > 1 else task
        first, *more = (fit_target(table, y, rows, task_) for y in ys)
        target_ = replace(first, more=tuple(more)) if more else first
        return cls(features, target_, tuple(table.names), missing), rows

    # -- applying --------------------------------------------------------------------------
    def align(self, table: Table | Any) -> Table:
        """Match ``table``'s columns to the model's by name; header-less files and unnamed
        arrays by position. ``table``: anything :meth:`Table.from_data` takes.

        Missing feature columns are an error naming them; extra columns are ignored with a
        warning; the order of columns does not matter.
        """
        table = match_outputs(Table.from_data(table), self.target, required=False)
        names = [f.name for f in self.features]
        if not table.has_header and not set(names) <= set(table.names):
            for candidate in (list(self.columns), names, [*names, *self.target.names]):
                if len(candidate) == len(table.columns):
                    table = table.rename(candidate)
                    break
            else:
                raise DataError(self._unnamed_columns(table))
        absent = [n for n in names if n not in table]  # (a Table looks names up in a dict)
        if absent:
            raise DataError(
                f"{table.source}: missing column{'s' if len(absent) > 1 else ''} "
                f"{', '.join(map(repr, absent[:_LISTED]))}{_more(len(absent))} that the model "
                "was trained on"
            )
        known = set(names)
        extra = [n for n in table.names if n not in known and n not in self.target.names]
        if extra:
            warnings.warn(
                f"{table.source}: ignoring column{'s' if len(extra) > 1 else ''} the model does "
                f"not use: {', '.join(map(repr, extra[:_LISTED]))}{_more(len(extra))}",
                DataWarning,
                stacklevel=2,
            )
        return table

    def _unnamed_columns(self, table: Table) -> str:
        """The message for columns without names (a 2-D array, a header-less file) that match
        the model's columns neither way by position."""
        names = [f.name for f in self.features]
        shown = ", ".join(map(repr, names[:20])) + (", …" if len(names) > 20 else "")
        also = (
            f" (or the {len(self.columns)} columns of its training file, target included)"
            if len(self.columns) != len(names)
            else ""
        )
        if table.targets:  # a FANN data file: its inputs are x1 … xn, whatever the model's
            n_inputs = len(table.columns) - len(table.targets)
            return (
                f"{table.source}: {n_inputs} inputs per sample (FANN data), but the model takes "
                f"{len(names)}: {shown}"
            )
        return (
            f"{table.source}: {len(table.columns)} columns without names; the model takes its "
            f"{len(names)} feature columns in this order: {shown}{also}"
        )

    def transform(
        self,
        table: Table,
        rows: Rows | None = None,
        *,
        missing: Missing | None = None,
        unknown: Literal["error", "ignore"] = "error",
    ) -> Array:
        """Network inputs for the given rows (default: all), shape (n_rows, n_inputs).

        Missing cells are filled (a number with the feature's training mean, a category with
        its most frequent one) when the policy is ``"mean"``, and refused otherwise; the policy
        is the model's own (``self.missing``) unless ``missing`` overrides it. ``"drop"`` is
        applied by choosing ``rows`` (:meth:`complete_rows`); a missing cell left in them is
        refused.
        """
        missing = self.missing if missing is None else missing
        if missing not in MISSING_POLICIES:
            raise ParameterError(f"missing: expected 'error', 'drop' or 'mean', got {missing!r}")
        rows = np.arange(table.n_rows) if rows is None else rows
        holes: dict[str, Rows] = {}
        out = np.empty((len(rows), self.n_inputs))  # filled column by column: no second copy
        j = 0
        for f in self.features:
            col = table.column(f.name)
            gap = rows[col.status[rows] == MISSING]
            if len(gap) and missing != "mean":
                holes[f.name] = gap
            if f.kind == "numeric":
                check_cells(table, col, rows, numeric=True, trained=True)
                x = np.where(col.status[rows] == MISSING, f.mean, col.values[rows])
                out[:, j] = (x - f.mean) / f.scale
            else:
                check_cells(table, col, rows, numeric=False)
                _one_hot(table, col, rows, f, unknown, out[:, j : j + f.width])
            j += f.width
        if holes:
            raise _missing_error(table, holes, self._refusal(missing))
        return out

    def _refusal(self, missing: Missing) -> str:
        """Why missing cells were refused and how to have them filled, for the message."""
        if missing != self.missing:
            how = spelled(f'missing="{missing}"', "--impute none")
            why = f"refused as asked ({how})"
        elif missing == "drop":
            how = spelled('missing="drop"', "--drop-missing")
            why = f"the model was trained on the rows without missing values ({how})"
        else:
            why = "the model was trained without missing values"
        return f"{why}; {_fill_advice()}"

    def complete_rows(self, table: Table, with_target: bool = False) -> Rows:
        """Indices of the rows with no missing value in the features (and target)."""
        names = [f.name for f in self.features] + (list(self.target.names) if with_target else [])
        ok = np.all([table.column(n).status != MISSING for n in names], axis=0)
        return np.flatnonzero(ok)

    def encode_target(self, table: Table, rows: Rows | None = None) -> Array:
        """Network targets: one-hot class rows (n, n_classes), or the standardised values
        (n, n_targets) of the regression columns."""
        rows = np.arange(table.n_rows) if rows is None else rows
        t = self.target
        if t.kind == "regression":
            return np.column_stack([self._standardised(table, rows, m) for m in (t, *t.more)])
        table.column(t.name, "target column")
        return np.eye(len(t.classes))[self.class_index(table, rows)]

    def _standardised(self, table: Table, rows: Rows, t: Target) -> Array:
        """One regression column's values in ``rows``, standardised, shape (n,)."""
        col = table.column(t.name, "target column")
        check_cells(table, col, rows, numeric=True, trained=True)
        gap = rows[col.status[rows] == MISSING]
        if len(gap):
            raise _missing_error(table, {t.name: gap}, _drop_advice())
        return (col.values[rows] - t.mean) / t.scale

    def class_index(self, table: Table, rows: Rows) -> NDArray[np.intp]:
        """Index into ``target.classes`` of each row's label; unknown labels are an error."""
        col = table.column(self.target.name, "target column")
        classes = self.target.classes
        lookup = {str(c): k for k, c in enumerate(classes)}
        k = np.full(len(rows), -1, dtype=np.intp)
        if all(not isinstance(c, str) for c in classes):
            number = col.status[rows] == NUMBER
            uniq, inv = np.unique(col.values[rows][number], return_inverse=True)
            found = [lookup.get(str(as_label(u)), -1) for u in uniq]
            k[number] = np.array(found, dtype=np.intp)[inv]
        elif col.codes is not None and col.vocabulary is not None:
            # code −1 (missing) picks the appended −1
            k = np.array([lookup.get(v, -1) for v in col.vocabulary] + [-1])[col.codes[rows]]
        bad = np.flatnonzero(k < 0)
        if len(bad):
            i = rows[bad[0]]
            what = "missing" if col.status[i] == MISSING else f"unknown class {col.text(i)!r}"
            raise DataError(
                f"{table.source}, {table.place(i)}, column {col.name!r}: {what} "
                f"({line_list(table, rows[bad])}; the model's classes: "
                f"{', '.join(map(repr, classes[:10]))})"
            )
        return k

    def decode(self, O: Array) -> list[Label] | Array:
        """Predictions from network outputs O (n, n_outputs): labels, or values in target units
        (n,) for one regression column, (n, n_targets) for several."""
        t = self.target
        if t.kind == "regression":
            Y = O.astype(np.float64) * t.scales + t.means
            return Y[:, 0] if not t.more else Y
        return [self.target.classes[k] for k in np.argmax(O, axis=1)]

    # -- serialisation ---------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """Plain JSON (numbers, strings, lists) holding everything fitted."""
        feats: list[dict[str, Any]] = []
        for f in self.features:
            if f.kind == "numeric":
                feats.append({"name": f.name, "kind": f.kind, "mean": f.mean, "scale": f.scale})
            else:
                cats = list(f.categories)
                feats.append({"name": f.name, "kind": f.kind, "categories": cats, "mode": f.mode})
        target = target_to_json(self.target)
        return {
            "columns": list(self.columns),
            "features": feats,
            "target": target,
            "missing": self.missing,
        }

    @classmethod
    def from_json(
        cls, obj: Any, path: str = "preprocessing", *, missing: Missing = "error"
    ) -> Preprocessor:
        """Rebuild from :meth:`to_json` output, validating every field.

        ``missing`` is the policy of a model written before the policy was part of the
        preprocessing (its ``training.missing``).

        Raises:
            SchemaError: a field is missing or invalid; the message starts with its JSON path.
        """
        obj = as_dict(obj, path)
        cols = as_list(get(obj, "columns", path), f"{path}.columns", 100_000)
        columns = tuple(as_str(c, f"{path}.columns[{j}]") for j, c in enumerate(cols))
        feats = as_list(get(obj, "features", path), f"{path}.features", 100_000)
        features = tuple(feature_from_json(f, f"{path}.features[{j}]") for j, f in enumerate(feats))
        if not features:
            raise SchemaError(f"{path}.features: at least one feature is needed")
        target = target_from_json(get(obj, "target", path), f"{path}.target")
        names = [f.name for f in features] + list(target.names)
        if len(set(names)) != len(names):
            raise SchemaError(f"{path}: feature and target names must be distinct")
        if "missing" in obj:
            policy = obj["missing"]
            if policy not in MISSING_POLICIES:
                raise SchemaError(
                    f"{path}.missing: expected 'error', 'drop' or 'mean', got {policy!r}"
                )
            missing = policy
        return cls(features, target, columns, missing)


def _match_numbers(k: NDArray[np.intp], col: Column, rows: Rows, categories: Sequence[str]) -> None:
    """Numeric categories found by value where their text differs: ``1.0`` (a float column of
    a DataFrame) is the category ``"1"`` of the training file, and ``"1"`` is ``"1.0"``."""
    unmatched = np.flatnonzero((k < 0) & (col.status[rows] == NUMBER))
    if not len(unmatched):
        return
    by_value: dict[float, int] = {}
    for j, c in enumerate(categories):
        try:
            by_value.setdefault(float(c), j)
        except ValueError:
            continue
    if by_value:
        found = [by_value.get(float(v), -1) for v in col.values[rows[unmatched]]]
        k[unmatched] = np.array(found, dtype=k.dtype)


def _one_hot(table: Table, col: Column, rows: Rows, f: Feature, unknown: str, out: Array) -> None:
    """Write the one-hot rows of a categorical feature into ``out`` (n_rows, width)."""
    index = {c: k for k, c in enumerate(f.categories)}
    if col.codes is not None and col.vocabulary is not None:
        # code −1 (missing) picks the appended −1
        k = np.array([index.get(v, -1) for v in col.vocabulary] + [-1])[col.codes[rows]]
    else:
        k = np.array([index.get(col.text(i), -1) for i in rows], dtype=np.intp)
    _match_numbers(k, col, rows, f.categories)
    k[col.status[rows] == MISSING] = index.get(f.mode, -1)  # the one filling rule (see above)
    bad = np.flatnonzero((k < 0) & (col.status[rows] != MISSING))
    if len(bad):
        i = rows[bad[0]]
        known = ", ".join(map(repr, f.categories[:10])) + (", …" if len(f.categories) > 10 else "")
        message = (
            f"{table.source}, {table.place(i)}, column {f.name!r}: unknown category "
            f"{col.text(i)!r} ({line_list(table, rows[bad])}; the model knows {known})"
        )
        if unknown == "error":
            ignore = spelled('unknown="ignore"', "--ignore-unknown")
            raise DataError(f"{message}; {ignore} encodes unknown categories as all zeros")
        warnings.warn(f"{message}; encoded as all zeros", DataWarning, stacklevel=3)
    out[...] = 0.0
    ok = k >= 0
    out[np.flatnonzero(ok), k[ok]] = 1.0
