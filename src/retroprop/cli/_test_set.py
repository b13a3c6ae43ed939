"""The test set of ``retroprop train --test-fraction``: rows held out before anything is fitted.

:func:`hold_out_test` splits the table first, so the preprocessing (means, scales, categories,
classes) and the network never see the test rows; :func:`test_data` encodes them afterwards as
the model encodes new data. The draw is seeded and, for classification, stratified.
"""

from __future__ import annotations

import warnings
from typing import Protocol

import numpy as np

from retroprop.cli._common import CommandError
from retroprop.data.encoders import fit_target
from retroprop.data.preprocessing import Missing, Preprocessor, Task
from retroprop.data.tabular import MISSING, TEXT, Table

__all__ = ["Data", "hold_out_test", "test_data"]

Array = np.ndarray
Data = tuple[Array, Array]
"""Inputs and targets (X, Y) of some rows, encoded for the network."""


class SplitSettings(Protocol):
    """What the split reads of :class:`retroprop.cli._training.TrainSettings`."""

    target: str | tuple[str, ...]
    test_fraction: float
    seed: int
    task: Task
    missing: Missing
    ignore: tuple[str, ...]


def hold_out_test(table: Table, s: SplitSettings) -> tuple[Table, Table | None]:
    """The table split into the rows to fit on and the test rows (None without a test set).

    ``test_fraction`` of the rows that can be used (a target, and with ``missing="drop"`` no
    missing cell in the columns used) are held out, drawn with the seed; for classification
    from each class in proportion, every class keeping at least one row to train on. This comes
    before anything is fitted, so the preprocessing (means, scales, categories) never sees them.
    """
    if not s.test_fraction:
        return table, None
    names = (s.target,) if isinstance(s.target, str) else s.target
    usable = np.all([table.column(n, "target column").status != MISSING for n in names], axis=0)
    if s.missing == "drop":
        for c in table.columns:
            if c.name not in s.ignore:
                usable &= c.status != MISSING
    candidates = np.flatnonzero(usable)
    strata = _strata(table, candidates, s) if len(candidates) else candidates
    rng = np.random.default_rng([s.seed, 1])  # a stream of its own: the validation split is
    held: list[np.ndarray] = []  # drawn from default_rng(seed), as without a test set
    for k in np.unique(strata):
        idx = rng.permutation(candidates[strata == k])
        held.append(idx[: min(round(s.test_fraction * len(idx)), len(idx) - 1)])
    test = np.sort(np.concatenate(held)) if held else np.zeros(0, dtype=np.intp)
    if not len(test):
        raise CommandError(
            f"--test-fraction {s.test_fraction}: {table.source} has too few rows "
            f"({len(candidates)} usable) to hold out a test set"
        )
    return table.take(np.setdiff1d(np.arange(table.n_rows), test)), table.take(test)


def _strata(table: Table, rows: Array, s: SplitSettings) -> Array:
    """The class of each row for a classification target (its label, as the model will read
    it), else one stratum (as for several target columns: multi-output regression)."""
    if not isinstance(s.target, str):
        return np.zeros(len(rows), dtype=np.intp)
    col = table.column(s.target, "target column")
    with warnings.catch_warnings():  # what fit_target has to say, Preprocessor.fit says later
        warnings.simplefilter("ignore")
        kind = fit_target(table, col, rows, s.task).kind
    if kind != "classification":
        return np.zeros(len(rows), dtype=np.intp)
    if col.codes is not None and bool(np.any(col.status[rows] == TEXT)):
        return np.asarray(col.codes[rows])
    return np.asarray(col.values[rows])


def test_data(pre: Preprocessor, test: Table, s: SplitSettings) -> Data:
    """The test rows encoded as the model encodes new data (missing cells as in training; a
    category training never saw becomes all zeros, with a warning)."""
    missing: Missing = "mean" if s.missing == "mean" else "error"
    X = pre.transform(test, missing=missing, unknown="ignore")
    return X, pre.encode_target(test)
