"""FANN's training-data files, and reading a data file whatever its format (FANN or CSV).

A FANN data file (``.data``, ``.train``, ``.test``; what ``fann_save_train`` writes) is text:
a header line ``n_samples n_inputs n_outputs``, then for each sample a line of ``n_inputs``
numbers and a line of ``n_outputs`` numbers, separated by spaces or tabs. :func:`read_fann`
makes it a :class:`~retroprop.data.tabular.Table` with the feature columns ``x1 … xn`` and

- one column ``class`` (the index, from 0, of the hot output) when there are several outputs and
  every output line is one-hot (one 1, the others all 0, or all −1 as FANN's symmetric data
  write them): a classification target;
- one column ``y`` when there is one output (``task="auto"`` then decides, as for a CSV column:
  0/1 targets are classes, measurements are regression);
- the columns ``y1 … yk`` otherwise: regression targets (``retroprop train`` predicts all of
  them, multi-output regression, or those ``--target`` names and leaves the others out).

The table names its target columns in ``Table.targets`` and counts as header-less, so a model
trained on a CSV file with the same columns in the same order applies to it by position.
:func:`match_outputs` fits a file's output columns to a model's target when they are named
otherwise but mean the same (a one-output 0/1 file for a model of two classes, ``y`` for a
model whose target has another name, ``y1 … yk`` by position for a model of ``k`` regression
targets), and says plainly when they cannot.

Reading is bounded as for CSV files: the file is streamed once and hashed; a line is at most
:data:`~retroprop.data.tabular.MAX_LINE_CHARS` characters; the header's counts are checked
against :data:`MAX_INPUTS` and :data:`MAX_OUTPUTS` and never allocate anything (the samples are
collected as they come, so a header that promises more samples than the file holds costs
nothing, and is reported when the file ends). Every error names the file and line.

:func:`read_data` looks at a file's first bytes (not its name) and reads it as FANN data when
the first line is three whole numbers and the next two lines hold as many fields as they
declare; otherwise as CSV (:func:`~retroprop.data.tabular.read_csv`). (The one ambiguous case,
a tab-separated file of three integer columns whose first row reads ``n 3 3``, is read as CSV.)
"""

from __future__ import annotations

import io
import os
from array import array
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from retroprop.data.encoders import Target
from retroprop.data.tabular import (
    MAX_CATEGORIES,
    MAX_COLUMNS,
    NUMBER,
    Column,
    DataError,
    Table,
    _Lines,
    read_csv_stream,
    text_encoding,
)

__all__ = ["MAX_INPUTS", "MAX_OUTPUTS", "is_fann", "match_outputs", "read_data", "read_fann"]

MAX_INPUTS = MAX_COLUMNS
"""Inputs a FANN data file may declare: as many columns as a CSV file may have."""
MAX_OUTPUTS = MAX_CATEGORIES
"""Outputs a FANN data file may declare: as many as a classification target's classes."""
_PEEK_BYTES = 1 << 16  # what read_data looks at to choose the format


def read_fann(path: str | os.PathLike[str]) -> Table:
    """Read a FANN data file into a :class:`Table` (columns as in the module docstring).

    Raises:
        DataError: unreadable; a header that is not three counts or counts over their limits;
            a line with the wrong number of fields, a field that is not a finite number, more
            or fewer samples than the header declares (each naming the file and line).
    """
    return _open(path, lambda raw, source: _read_fann(raw, source))


def read_data(path: str | os.PathLike[str], *, encoding: str = "utf-8") -> Table:
    """Read a data file, FANN or CSV, as its content says (see the module docstring); a CSV
    file is read in ``encoding`` (as :func:`~retroprop.data.tabular.read_csv`).

    Raises:
        DataError: as :func:`read_fann` or :func:`~retroprop.data.tabular.read_csv`.
        ParameterError: ``encoding`` is not a text encoding.
    """
    codec = text_encoding(encoding)
    return _open(path, lambda raw, source: _read_any(raw, source, codec))


def is_fann(lines: list[str]) -> bool:
    """Whether the first non-blank lines of a file (at least the header) are FANN data."""
    lines = [line for line in lines if line.strip()]
    header = _header_counts(lines[0]) if lines else None
    if header is None:
        return False
    _, n_inputs, n_outputs = header
    if "\t" in lines[0] and (n_inputs, n_outputs) == (3, 3):
        return False  # as likely a tab-separated file of three integer columns
    widths = [len(line.split()) for line in lines[1:3]]
    return widths == [n_inputs, n_outputs][: len(widths)]


# -- the steps ------------------------------------------------------------------------------
def _open(path: str | os.PathLike[str], read: Any) -> Table:
    """``read(raw, source)`` of the file opened unbuffered, its failures as DataError."""
    path = Path(path)
    try:
        with path.open("rb", buffering=0) as raw:
            return read(raw, path.name)
    except OSError as exc:
        raise DataError(f"{path.name}: cannot read the file ({exc.strerror or exc})") from None


def _read_any(raw: io.RawIOBase, source: str, codec: str = "utf-8-sig") -> Table:
    """Peek at the first bytes, then read the whole stream (prefix included) as FANN or CSV
    (in ``codec``)."""
    prefix = bytearray()
    while len(prefix) < _PEEK_BYTES and (chunk := raw.read(_PEEK_BYTES - len(prefix))):
        prefix += chunk
    stream = _Prefixed(bytes(prefix), raw)
    text = prefix.decode("utf-8", "replace").removeprefix("\ufeff")
    lines = text.splitlines()[:-1] if len(prefix) == _PEEK_BYTES else text.splitlines()
    if is_fann(lines[:50]):
        return _read_fann(stream, source)
    return read_csv_stream(stream, source, codec=codec)


class _Prefixed(io.RawIOBase):
    """A stream that yields bytes already read from ``raw``, then the rest of ``raw``."""

    def __init__(self, prefix: bytes, raw: io.RawIOBase) -> None:
        self.prefix, self.raw = memoryview(prefix), raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.prefix:
            n = min(len(buffer), len(self.prefix))
            buffer[:n] = self.prefix[:n]
            self.prefix = self.prefix[n:]
            return n
        return self.raw.readinto(buffer) or 0


def _header_counts(line: str) -> tuple[int, int, int] | None:
    """(n_samples, n_inputs, n_outputs) of a FANN header line, or None if it is not one."""
    fields = line.split()
    if len(fields) != 3 or not all(f.isascii() and f.isdigit() for f in fields):
        return None
    n_samples, n_inputs, n_outputs = (int(f) for f in fields)
    return n_samples, n_inputs, n_outputs


def _read_fann(raw: io.RawIOBase, source: str) -> Table:
    """The table of a FANN data stream."""
    lines = _Lines(raw, source, kind="FANN data")
    numbered = _numbered(lines)
    header_line, n_samples, n_inputs, n_outputs = _header(numbered, source)
    X, Y, where = _samples(numbered, source, header_line, n_samples, n_inputs, n_outputs)
    columns = [_column(f"x{j + 1}", X[:, j]) for j in range(n_inputs)]
    targets = _target_columns(Y)
    table = Table(
        source,
        columns + targets,
        where,
        delimiter=" ",
        has_header=False,
        sha256=lines.sha256.hexdigest(),
        targets=tuple(c.name for c in targets),
    )
    _check_finite(table, X, Y)
    return table


def _numbered(lines: _Lines) -> Iterator[tuple[int, str]]:
    """(line number, stripped text) of every non-blank line."""
    for line in lines:
        lines.end_record()
        if text := line.strip():
            yield lines.number, text


def _header(numbered: Iterator[tuple[int, str]], source: str) -> tuple[int, int, int, int]:
    """The header's line and counts, each checked (nothing is allocated from them)."""
    try:
        line, text = next(numbered)
    except StopIteration:
        raise DataError(f"{source}: the file is empty") from None
    counts = _header_counts(text)
    if counts is None:
        raise DataError(
            f"{source}, line {line}: expected the FANN header 'n_samples n_inputs n_outputs' "
            f"(three whole numbers), got {text[:60]!r}"
        )
    n_samples, n_inputs, n_outputs = counts
    for what, n, limit in (("inputs", n_inputs, MAX_INPUTS), ("outputs", n_outputs, MAX_OUTPUTS)):
        if not 1 <= n <= limit:
            raise DataError(
                f"{source}, line {line}: the header declares {n:,} {what}; expected 1 to {limit:,}"
            )
    if n_samples < 1:
        raise DataError(f"{source}, line {line}: the header declares no samples")
    return line, n_samples, n_inputs, n_outputs


def _samples(
    numbered: Iterator[tuple[int, str]],
    source: str,
    header_line: int,
    n_samples: int,
    n_inputs: int,
    n_outputs: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Inputs (n, n_inputs), outputs (n, n_outputs) and each sample's first line, collected
    as the lines come (the header's count is only compared, never allocated)."""
    xs, ys, where = array("d"), array("d"), array("q")
    for line, text in numbered:
        if len(where) == n_samples:
            raise DataError(
                f"{source}, line {line}: more samples than the {n_samples:,} the header (line "
                f"{header_line}) declares"
            )
        xs.extend(_numbers(text, n_inputs, "inputs", source, line))
        try:
            out_line, out_text = next(numbered)
        except StopIteration:
            raise DataError(
                f"{source}, line {line}: the file ends after a line of inputs, without its line "
                "of outputs"
            ) from None
        ys.extend(_numbers(out_text, n_outputs, "outputs", source, out_line))
        where.append(line)
    if len(where) < n_samples:
        raise DataError(
            f"{source}: {len(where):,} samples, but the header (line {header_line}) declares "
            f"{n_samples:,}"
        )
    X = np.frombuffer(xs, dtype=np.float64).reshape(-1, n_inputs)
    Y = np.frombuffer(ys, dtype=np.float64).reshape(-1, n_outputs)
    return X, Y, np.frombuffer(where, dtype=np.int64).copy()


def _numbers(text: str, width: int, what: str, source: str, line: int) -> list[float]:
    """The ``width`` numbers of a line of inputs or outputs."""
    fields = text.split()
    if len(fields) != width:
        raise DataError(
            f"{source}, line {line}: {len(fields):,} numbers, expected {width:,} {what} (as the "
            "header declares)"
        )
    if text.isascii() and "_" not in text:  # float() accepts "1_0" and other scripts' digits
        try:
            return [float(f) for f in fields]
        except ValueError:
            pass
    k, bad = next((k, f) for k, f in enumerate(fields) if not _is_number(f))
    raise DataError(f"{source}, line {line}, field {k + 1}: {bad[:40]!r} is not a number")


def _is_number(field: str) -> bool:
    """Whether a field is a number as FANN writes them (ASCII, no digit separators)."""
    try:
        float(field)
    except ValueError:
        return False
    return field.isascii() and "_" not in field


def _check_finite(table: Table, X: NDArray[np.float64], Y: NDArray[np.float64]) -> None:
    """Refuse NaN and infinite values (FANN data has no missing values), naming the sample."""
    for values, what in ((X, "input"), (Y, "output")):
        bad = np.argwhere(~np.isfinite(values))
        if len(bad):
            i, j = bad[0]
            raise DataError(
                f"{table.source}, line {table.lines[i]}: sample {i + 1:,}, {what} {j + 1}, is "
                f"{float(values[i, j])!r}, not a finite number"
            )


def _column(name: str, values: NDArray[np.float64]) -> Column:
    """A numeric column (FANN data holds numbers only)."""
    status = np.full(len(values), NUMBER, dtype=np.uint8)
    return Column(name, np.ascontiguousarray(values), status, None, None)


def _target_columns(Y: NDArray[np.float64]) -> list[Column]:
    """``class`` for one-hot outputs, ``y`` for one output, else ``y1 … yk``."""
    n_outputs = Y.shape[1]
    if n_outputs == 1:
        return [_column("y", Y[:, 0])]
    if _one_hot(Y):
        return [_column("class", np.argmax(Y, axis=1).astype(np.float64))]
    return [_column(f"y{k + 1}", Y[:, k]) for k in range(n_outputs)]


def _one_hot(Y: NDArray[np.float64]) -> bool:
    """Every row has one 1 and the rest 0 (or the rest −1, the same in every row)."""
    hot = Y == 1.0
    if not np.all(hot.sum(axis=1) == 1):
        return False
    off = Y[~hot]
    return bool(off.size == 0 or np.all(off == 0.0) or np.all(off == -1.0))


# -- a file's outputs and a model's target ---------------------------------------------------
def match_outputs(table: Table, target: Target, *, required: bool) -> Table:
    """``table`` with a FANN file's output columns named as the model's ``target`` (see the
    module docstring): one output for a classifier (its values the classes, or −1/1 for the
    classes 0/1), one-hot outputs or one output for a target of another name. A table that is
    not FANN data, or already has the target, is returned as it is.

    Raises:
        DataError: the outputs cannot be the target (``required``; otherwise the table is
            returned as it is, its outputs unused), naming the file and what does not fit.
    """
    declared = table.targets
    if not declared or target.name in table:
        return table
    fitted = _fitted_outputs(table, target)
    if isinstance(fitted, Table):
        return fitted
    if required:
        raise DataError(f"{table.source}: {fitted}")
    return table


def _fitted_outputs(table: Table, target: Target) -> Table | str:
    """The table with its output column renamed (and −1/1 made 0/1) as ``target``, or why not."""
    declared = table.targets
    model = _what_model_predicts(target)
    if target.more and "class" not in declared and len(declared) == target.width:
        renamed = dict(zip(declared, target.names, strict=True))  # by position
        columns = [replace(c, name=renamed.get(c.name, c.name)) for c in table.columns]
        return replace(table, columns=columns, targets=target.names)
    if target.more:
        return (
            f"{len(declared)} output{'s' if len(declared) > 1 else ''} per sample "
            f"({', '.join(declared)}); {model}"
        )
    if len(declared) > 1:
        return (
            f"{len(declared)} outputs per sample ({declared[0]} … {declared[-1]}) that are not "
            f"one-hot (one 1, the others 0 or −1 in every sample); {model}"
        )
    (name,) = declared
    if target.kind == "regression" and name == "class":
        return f"its outputs are one-hot, the classes of column 'class'; {model}"
    column = table.column(name)
    if target.kind == "classification" and name == "y":
        column = _symmetric_as_classes(column, target)
    columns = [replace(column, name=target.name) if c.name == name else c for c in table.columns]
    return replace(table, columns=columns, targets=(target.name,))


def _what_model_predicts(target: Target) -> str:
    """The end of a message on the model's side: what its outputs are."""
    if target.kind == "classification":
        return (
            f"the model classifies {target.name!r} into {len(target.classes)} classes (its "
            f"network has {target.width} outputs)"
        )
    if target.more:
        names = ", ".join(map(repr, target.names))
        return f"the model predicts {target.width} numbers, {names} (regression, in this order)"
    return f"the model predicts one number, {target.name!r} (regression, one output)"


def _symmetric_as_classes(column: Column, target: Target) -> Column:
    """A one-output column of −1 and 1 (FANN's symmetric data) as the classes 0 and 1 of a
    two-class model; any other column as it is (its values are checked as classes later)."""
    values = column.values
    if set(target.classes) == {0, 1} and set(np.unique(values)) <= {-1.0, 1.0}:
        return _column(column.name, np.where(values < 0, 0.0, 1.0))
    return column
