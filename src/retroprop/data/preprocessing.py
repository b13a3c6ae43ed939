"""From a table of raw cells to network inputs and targets, and back; fitted on training data.

- Numeric features are standardised: x' = (x − mean) / scale (scale = standard deviation, 1 for
  a constant column).
- Categorical features are one-hot encoded over the categories seen in training (sorted). An
  unseen category is an error naming column, line and value; ``unknown="ignore"`` encodes it as
  all zeros instead (with a warning).
- Classification targets become one-hot rows over the sorted class labels (strings, or numbers
  when every label is a number); regression targets are standardised like numeric features,
  and predictions are mapped back to the original units.
- Missing cells are an error (naming rows and columns) unless ``missing="drop"`` (skip those
  rows) or ``missing="mean"`` (fill with the training mean; the most frequent category for a
  categorical feature).

Everything fitted is plain numbers and strings, saved as JSON in the model file
(:meth:`Preprocessor.to_json` / :meth:`Preprocessor.from_json`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
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
)
from retroprop.data.schema import SchemaError, as_dict, as_list, as_str, get
from retroprop.data.tabular import MISSING, NUMBER, Column, DataError, DataWarning, Table

__all__ = ["Feature", "Label", "Missing", "Preprocessor", "Target", "Task"]

Missing = Literal["error", "drop", "mean"]
Array = NDArray[np.floating]


def _missing_error(table: Table, missing: dict[str, Rows], advice: str) -> DataError:
    parts = [f"column {name!r} on {line_list(table, rows)}" for name, rows in missing.items()]
    return DataError(f"{table.source}: missing values in {'; '.join(parts)}; {advice}")


@dataclass(frozen=True)
class Preprocessor:
    """Fitted preprocessing: features in network-input order, the target, the file's columns."""

    features: tuple[Feature, ...]
    target: Target
    columns: tuple[str, ...]

    @property
    def n_inputs(self) -> int:
        return sum(f.width for f in self.features)

    @property
    def n_outputs(self) -> int:
        return self.target.width

    # -- fitting ---------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        table: Table,
        target: str,
        *,
        task: Task = "auto",
        categorical: Sequence[str] = (),
        ignore: Sequence[str] = (),
        missing: Missing = "error",
    ) -> tuple[Preprocessor, Rows]:
        """Learn the preprocessing from training data.

        Returns:
            The preprocessor and the indices of the rows to train on (all rows, or those
            without missing values when ``missing="drop"``).

        Raises:
            DataError: unknown target or column, missing values (with ``missing="error"``),
                non-numeric text in a numeric column, infinite values, a single class, …
        """
        y = table.column(target, "target column")
        for name in (*categorical, *ignore):
            table.column(name)
        used = [c for c in table.columns if c.name != target and c.name not in ignore]
        if not used:
            raise DataError(f"{table.source}: no feature columns besides the target {target!r}")
        holes = {c.name: np.flatnonzero(c.status == MISSING) for c in [*used, y]}
        holes = {name: rows for name, rows in holes.items() if len(rows)}
        rows = np.arange(table.n_rows)
        if holes and missing == "error":
            raise _missing_error(
                table, holes, "drop those rows (--drop-missing) or fill them (--impute mean)"
            )
        if target in holes and missing == "mean":
            raise _missing_error(
                table, {target: holes[target]}, "a target cannot be imputed: use --drop-missing"
            )
        if holes and missing == "drop":
            rows = np.flatnonzero(np.all([c.status != MISSING for c in [*used, y]], axis=0))
            if not len(rows):
                raise DataError(f"{table.source}: every row has a missing value")
            warnings.warn(
                f"{table.source}: skipped {table.n_rows - len(rows)} of {table.n_rows} rows with "
                f"missing values",
                DataWarning,
                stacklevel=2,
            )
        features = tuple(
            fit_feature(table, c, rows, c.name in categorical or is_text(c)) for c in used
        )
        return cls(features, fit_target(table, y, rows, task), tuple(table.names)), rows

    # -- applying --------------------------------------------------------------------------
    def align(self, table: Table) -> Table:
        """Match ``table``'s columns to the model's by name; header-less files by position.

        Missing feature columns are an error naming them; extra columns are ignored with a
        warning; the order of columns does not matter.
        """
        names = [f.name for f in self.features]
        if not table.has_header and not set(names) <= set(table.names):
            for candidate in (list(self.columns), names):
                if len(candidate) == len(table.columns):
                    table = table.rename(candidate)
                    break
        absent = [n for n in names if n not in table]
        if absent:
            raise DataError(
                f"{table.source}: missing column{'s' if len(absent) > 1 else ''} "
                f"{', '.join(map(repr, absent))} that the model was trained on"
            )
        extra = [n for n in table.names if n not in names and n != self.target.name]
        if extra:
            warnings.warn(
                f"{table.source}: ignoring column{'s' if len(extra) > 1 else ''} the model does "
                f"not use: {', '.join(map(repr, extra))}",
                DataWarning,
                stacklevel=2,
            )
        return table

    def transform(
        self,
        table: Table,
        rows: Rows | None = None,
        *,
        missing: Missing = "error",
        unknown: Literal["error", "ignore"] = "error",
    ) -> Array:
        """Network inputs for the given rows (default: all), shape (n_rows, n_inputs).

        ``missing="mean"`` fills missing cells from training statistics; ``"drop"`` must have
        been applied by choosing ``rows`` (:meth:`complete_rows`).
        """
        rows = np.arange(table.n_rows) if rows is None else rows
        holes: dict[str, Rows] = {}
        blocks: list[Array] = []
        for f in self.features:
            col = table.column(f.name)
            gap = rows[col.status[rows] == MISSING]
            if len(gap) and missing != "mean":
                holes[f.name] = gap
            if f.kind == "numeric":
                check_cells(table, col, rows, numeric=True, trained=True)
                x = np.where(col.status[rows] == MISSING, f.mean, col.values[rows])
                blocks.append(((x - f.mean) / f.scale)[:, None])
            else:
                check_cells(table, col, rows, numeric=False)
                blocks.append(_one_hot(table, col, rows, f, unknown))
        if holes:
            raise _missing_error(table, holes, "fill them with the training means (--impute mean)")
        return np.hstack(blocks) if blocks else np.zeros((len(rows), 0))

    def complete_rows(self, table: Table, with_target: bool = False) -> Rows:
        """Indices of the rows with no missing value in the features (and target)."""
        names = [f.name for f in self.features] + ([self.target.name] if with_target else [])
        ok = np.all([table.column(n).status != MISSING for n in names], axis=0)
        return np.flatnonzero(ok)

    def encode_target(self, table: Table, rows: Rows | None = None) -> Array:
        """Network targets: one-hot class rows (n, n_classes), or the standardised value (n, 1)."""
        rows = np.arange(table.n_rows) if rows is None else rows
        t = self.target
        col = table.column(t.name, "target column")
        if t.kind == "regression":
            check_cells(table, col, rows, numeric=True, trained=True)
            gap = rows[col.status[rows] == MISSING]
            if len(gap):
                raise _missing_error(table, {t.name: gap}, "drop those rows (--drop-missing)")
            return ((col.values[rows] - t.mean) / t.scale)[:, None]
        return np.eye(len(t.classes))[self.class_index(table, rows)]

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
                f"{table.source}, line {table.lines[i]}, column {col.name!r}: {what} "
                f"({line_list(table, rows[bad])}; the model's classes: "
                f"{', '.join(map(repr, classes[:10]))})"
            )
        return k

    def decode(self, O: Array) -> list[Label] | Array:
        """Predictions from network outputs O (n, n_outputs): labels, or values in target units."""
        if self.target.kind == "regression":
            return O[:, 0].astype(np.float64) * self.target.scale + self.target.mean
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
        t = self.target
        target: dict[str, Any] = {"name": t.name, "kind": t.kind}
        if t.kind == "classification":
            target["classes"] = list(t.classes)
        else:
            target.update(mean=t.mean, scale=t.scale)
        return {"columns": list(self.columns), "features": feats, "target": target}

    @classmethod
    def from_json(cls, obj: Any, path: str = "preprocessing") -> Preprocessor:
        """Rebuild from :meth:`to_json` output, validating every field.

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
        names = [f.name for f in features] + [target.name]
        if len(set(names)) != len(names):
            raise SchemaError(f"{path}: feature and target names must be distinct")
        return cls(features, target, columns)


def _one_hot(table: Table, col: Column, rows: Rows, f: Feature, unknown: str) -> Array:
    index = {c: k for k, c in enumerate(f.categories)}
    if col.codes is not None and col.vocabulary is not None:
        # code −1 (missing) picks the appended −1
        k = np.array([index.get(v, -1) for v in col.vocabulary] + [-1])[col.codes[rows]]
    else:
        k = np.array([index.get(col.text(i), -1) for i in rows], dtype=np.intp)
    k[col.status[rows] == MISSING] = index.get(f.mode, -1)
    bad = np.flatnonzero((k < 0) & (col.status[rows] != MISSING))
    if len(bad):
        i = rows[bad[0]]
        known = ", ".join(map(repr, f.categories[:10])) + (", …" if len(f.categories) > 10 else "")
        message = (
            f"{table.source}, line {table.lines[i]}, column {f.name!r}: unknown category "
            f"{col.text(i)!r} ({line_list(table, rows[bad])}; the model knows {known})"
        )
        if unknown == "error":
            raise DataError(f"{message}; --ignore-unknown encodes unknown categories as all zeros")
        warnings.warn(f"{message}; encoded as all zeros", DataWarning, stacklevel=3)
    out = np.zeros((len(rows), f.width))
    ok = k >= 0
    out[np.flatnonzero(ok), k[ok]] = 1.0
    return out
