"""Reading CSV files into typed columns, with errors that name the file, line and column.

:func:`read_csv` streams a file once. It detects

- the delimiter (``,``, ``;`` or tab): the one that splits every line of a sample into the same
  number (> 1) of fields; when several do, tab beats semicolon beats comma (a semicolon file
  with decimal commas splits consistently on commas too); when none does, :class:`csv.Sniffer`
  guesses and ragged lines are reported;
- the header: the first row is a header unless it looks like data (it has a number, and no
  column that holds numbers below it starts with a word); header-less columns are called
  ``column_1``, ``column_2``, …;
- the decimal mark: in files not separated by commas, ``3,14`` is the number 3.14.

Every cell is kept compactly: its number (NaN when it is not one), its status (number, missing,
text, infinite) and a code into the column's vocabulary of distinct strings (dropped for columns
with more than :data:`MAX_CATEGORIES` distinct strings, which can only be numeric). Missing
cells are empty or one of :data:`MISSING_TOKENS` (``NA``, ``NaN``, ``null``, …).

Line numbers in messages are 1-based, as an editor shows them.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import hashlib
import io
import itertools
import math
import os
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from retroprop.errors import ParameterError, RetropropError

__all__ = [
    "MAX_CATEGORIES",
    "MISSING_TOKENS",
    "Column",
    "DataError",
    "DataWarning",
    "Table",
    "read_csv",
]

NUMBER, MISSING, TEXT, INFINITE = 0, 1, 2, 3
"""Status of a cell."""

MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "-nan", "null", "none", "<na>", "#n/a"})
"""Cell values (compared in lower case, after stripping spaces) that mean "missing"."""

MAX_CATEGORIES = 1000
"""Distinct strings a column may hold and still be categorical (or a classification target)."""

_DELIMITERS = ("\t", ";", ",")  # in order of preference when several split consistently
_SAMPLE_LINES = 50


class DataError(RetropropError):
    """The data cannot be used as it is; the message names the file, line and column."""


class DataWarning(UserWarning):
    """The data can be used, but something looks wrong (a constant column, ignored columns…)."""


@dataclass
class Column:
    """One column of a table, one entry per row.

    Attributes:
        name: the column name (from the header, or ``column_<j>``).
        values: the number in each cell, NaN where the cell is not a finite number; (n_rows,).
        status: :data:`NUMBER`, :data:`MISSING`, :data:`TEXT` or :data:`INFINITE`; (n_rows,).
        codes: index of each cell's stripped text in ``vocabulary``, −1 if missing; (n_rows,).
            None when the column has more than :data:`MAX_CATEGORIES` distinct strings.
        vocabulary: the distinct strings, in order of first appearance (or None).
    """

    name: str
    values: NDArray[np.float64]
    status: NDArray[np.uint8]
    codes: NDArray[np.int64] | None
    vocabulary: list[str] | None

    def count(self, status: int) -> int:
        return int(np.count_nonzero(self.status == status))

    def text(self, i: int) -> str:
        """The stripped text of cell i (a number is shown in its shortest form)."""
        if self.codes is not None and self.codes[i] >= 0:
            assert self.vocabulary is not None
            return self.vocabulary[self.codes[i]]
        return "" if self.status[i] == MISSING else repr(float(self.values[i]))

    def take(self, rows: NDArray[np.intp]) -> Column:
        codes = None if self.codes is None else self.codes[rows]
        return Column(self.name, self.values[rows], self.status[rows], codes, self.vocabulary)


@dataclass
class Table:
    """A parsed CSV file (or in-memory rows): named columns of equal length.

    Attributes:
        source: where the data came from, for messages (the file name).
        columns: the columns, in file order.
        lines: 1-based line number in the file where each row starts; (n_rows,).
        delimiter, decimal: what was detected (``decimal`` is ``","`` if a decimal comma was
            seen).
        has_header: whether the first line was a header.
        sha256: SHA-256 of the file's bytes (None for in-memory data).
    """

    source: str
    columns: list[Column]
    lines: NDArray[np.int64]
    delimiter: str = ","
    decimal: str = "."
    has_header: bool = True
    sha256: str | None = None
    _index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = {c.name: j for j, c in enumerate(self.columns)}

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def n_rows(self) -> int:
        return len(self.lines)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def column(self, name: str, what: str = "column") -> Column:
        """The column called ``name``; a :class:`DataError` suggests the closest name if absent."""
        if name in self._index:
            return self.columns[self._index[name]]
        close = difflib.get_close_matches(name, self.names, n=1, cutoff=0.5)
        same = [n for n in self.names if n.lower() == name.lower()]
        message = f"{self.source}: no {what} {name!r}"
        if same or close:
            message += f"; did you mean {(same or close)[0]!r}?"
        shown = ", ".join(repr(n) for n in self.names[:20]) + (
            ", …" if len(self.names) > 20 else ""
        )
        message += f"{'' if same or close else '.'} Columns: {shown}"
        if len(self.names) == 1:
            message += " (one column only: is the delimiter one of , ; or tab?)"
        elif not self.has_header:
            message += " (the file has no header row, so columns are called column_1, column_2, …)"
        raise DataError(message)

    def take(self, rows: NDArray[np.intp]) -> Table:
        """The table restricted to the given row indices."""
        return replace(self, columns=[c.take(rows) for c in self.columns], lines=self.lines[rows])

    def rename(self, names: Sequence[str]) -> Table:
        """The same table with new column names (for header-less files).

        Raises:
            DataError: not one name per column.
        """
        if len(names) != len(self.columns):
            raise DataError(
                f"{self.source}: {len(names)} column names for {len(self.columns)} columns"
            )
        cols = [replace(c, name=n) for c, n in zip(self.columns, names, strict=True)]
        return replace(self, columns=cols)

    @classmethod
    def from_columns(cls, data: Mapping[str, Sequence[Any]], source: str = "<data>") -> Table:
        """A table from in-memory columns {name: values}; values may be numbers or strings."""
        lengths = {len(v) for v in data.values()}
        if len(lengths) > 1:
            raise DataError(f"{source}: columns have different lengths {sorted(lengths)}")
        builders = [_ColumnBuilder(str(name), allow_comma=False) for name in data]
        for b, values in zip(builders, data.values(), strict=True):
            for v in values:
                b.add("" if v is None else str(v))
        n = lengths.pop() if lengths else 0
        return cls(source, [b.build() for b in builders], np.arange(1, n + 1, dtype=np.int64))


class _ColumnBuilder:
    """Accumulates one column's cells while the file streams past."""

    def __init__(self, name: str, allow_comma: bool) -> None:
        self.name, self.allow_comma = name, allow_comma
        self.values = array("d")
        self.status = bytearray()
        self.codes: array[int] | None = array("q")
        self.vocabulary: dict[str, int] | None = {}
        self.saw_comma = False

    def add(self, cell: str) -> None:
        s = cell.strip()
        status, value = _parse(s, self.allow_comma)
        if status == NUMBER and self.allow_comma and "," in s:
            self.saw_comma = True
        self.values.append(value)
        self.status.append(status)
        if self.codes is not None and self.vocabulary is not None:
            if status == MISSING:
                self.codes.append(-1)
                return
            code = self.vocabulary.setdefault(s, len(self.vocabulary))
            self.codes.append(code)
            if len(self.vocabulary) > MAX_CATEGORIES:
                self.codes = self.vocabulary = None

    def build(self) -> Column:
        """The column, as arrays over the builder's buffers (no copy: peak memory stays at one
        copy of the cells, which matters for large files)."""
        codes = None if self.codes is None else np.frombuffer(self.codes, dtype=np.int64)
        vocab = None if self.vocabulary is None else list(self.vocabulary)
        return Column(
            self.name,
            np.frombuffer(self.values, dtype=np.float64),
            np.frombuffer(self.status, dtype=np.uint8),
            codes,
            vocab,
        )


def _parse(s: str, allow_comma: bool) -> tuple[int, float]:
    """(status, value) of a stripped cell."""
    try:
        value = float(s)  # the fast path: most cells are numbers
    except ValueError:
        if s.lower() in MISSING_TOKENS:
            return MISSING, math.nan
        if not (allow_comma and s.count(",") == 1 and "." not in s and "_" not in s):
            return TEXT, math.nan
        try:
            value = float(s.replace(",", "."))
        except ValueError:
            return TEXT, math.nan
    if "_" in s or not s.isascii():  # float() accepts "1_000" and non-ASCII digits; CSV doesn't
        return TEXT, math.nan
    if math.isnan(value):
        return MISSING, math.nan
    if math.isinf(value):
        return INFINITE, math.nan
    return NUMBER, value


# -- reading --------------------------------------------------------------------------------
def read_csv(
    path: str | os.PathLike[str],
    *,
    delimiter: str | None = None,
    header: bool | None = None,
    encoding: str = "utf-8",
) -> Table:
    """Read a CSV file into a :class:`Table`, detecting delimiter, header and decimal mark.

    Args:
        path: the file.
        delimiter: force the delimiter instead of detecting it.
        header: force whether the first line is a header (None: detect).
        encoding: the file's text encoding, a name Python's codecs know (``"latin-1"``,
            ``"cp1252"``, …); UTF-8 may start with a byte-order mark.

    Raises:
        DataError: unreadable, empty, not in ``encoding``, header only, ragged lines,
            duplicate names.
        ParameterError: ``encoding`` is not a text encoding.
    """
    path = Path(path)
    source = path.name
    codec = text_encoding(encoding)
    try:
        with path.open("rb") as raw:
            text = io.TextIOWrapper(raw, encoding=codec, newline="")
            try:
                table = _read(text, source, delimiter, header)
            except UnicodeDecodeError:
                raise DataError(_not_utf8(path, codec)) from None
        return replace(table, sha256=file_sha256(path))
    except OSError as exc:
        raise DataError(f"{source}: cannot read the file ({exc.strerror or exc})") from None


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def text_encoding(name: str) -> str:
    """The codec that reads text in the encoding ``name`` (UTF-8: with or without a
    byte-order mark).

    Raises:
        ParameterError: ``name`` is not a text encoding Python knows.
    """
    try:
        info = codecs.lookup(name)
    except (LookupError, TypeError, ValueError):
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise ParameterError(
            f"encoding: unknown text encoding {name!r}; e.g. utf-8, latin-1 or cp1252"
        )
    return "utf-8-sig" if info.name in ("utf-8", "utf-8-sig") else info.name


def _not_utf8(path: Path, codec: str = "utf-8-sig") -> str:
    """Message naming the first line of ``path`` that is not valid text in ``codec``."""
    what = "UTF-8" if codec == "utf-8-sig" else codec
    advice = "save the file as UTF-8, or give its encoding (e.g. latin-1)"
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            try:
                line.decode(codec)
            except UnicodeDecodeError as exc:
                byte = line[exc.start]
                return (
                    f"{path.name}, line {number}: not {what} text (byte 0x{byte:02x} at "
                    f"position {exc.start + 1}); {advice}"
                )
    return f"{path.name}: not {what} text; {advice}"


def _read(text: Iterable[str], source: str, delimiter: str | None, header: bool | None) -> Table:
    """The table in ``text``: sample the start, find the delimiter and header, read the rows."""
    lines = iter(text)
    sample = _sample(lines, source)
    delimiter = delimiter or _detect_delimiter(sample, complete=len(sample) < _SAMPLE_LINES)
    reader = csv.reader(itertools.chain(sample, lines), delimiter=delimiter, skipinitialspace=True)
    records = _records(reader, source)
    try:
        first_line, first = next(records)
    except StopIteration:
        raise DataError(f"{source}: the file is empty") from None
    if header is None:
        peek = list(itertools.islice(records, 20))
        header = _looks_like_header(first, [r for _, r in peek], delimiter != ",")
        records = itertools.chain(peek, records)
    if header:
        names = _header_names(first, source, first_line)
    else:
        names = [f"column_{j + 1}" for j in range(len(first))]
        records = itertools.chain([(first_line, first)], records)
    builders = [_ColumnBuilder(n, allow_comma=delimiter != ",") for n in names]
    row_lines = _read_rows(records, builders, source, delimiter, header)
    if not row_lines:
        raise DataError(f"{source}: no data rows after the header (line {first_line})")
    return Table(
        source,
        [b.build() for b in builders],
        np.frombuffer(row_lines, dtype=np.int64).copy(),
        delimiter=delimiter,
        decimal="," if any(b.saw_comma for b in builders) else ".",
        has_header=header,
    )


def _sample(lines: Iterator[str], source: str) -> list[str]:
    """The first :data:`_SAMPLE_LINES` lines, refused if blank or binary."""
    sample = list(itertools.islice(lines, _SAMPLE_LINES))
    if not any(line.strip() for line in sample):
        raise DataError(f"{source}: the file is empty")
    if "\0" in "".join(sample):
        raise DataError(f"{source}: the file contains NUL bytes; it is not a text CSV file")
    return sample


def _header_names(first: list[str], source: str, line: int) -> list[str]:
    """Column names from the header record (blank ones numbered), refused if duplicated."""
    if len(first) > 1 and not first[-1].strip():
        first = first[:-1]  # a trailing delimiter on every line
    names = [c.strip() or f"column_{j + 1}" for j, c in enumerate(first)]
    seen: dict[str, int] = {}
    for j, name in enumerate(names):
        if name in seen:
            raise DataError(
                f"{source}, line {line}: duplicate column name {name!r} "
                f"(columns {seen[name] + 1} and {j + 1})"
            )
        seen[name] = j
    return names


def _read_rows(
    records: Iterator[tuple[int, list[str]]],
    builders: list[_ColumnBuilder],
    source: str,
    delimiter: str,
    header: bool,
) -> array[int]:
    """Feed every record's cells to the column builders; returns each row's line number."""
    width = len(builders)
    row_lines = array("q")
    for line, record in records:
        if len(record) != width:
            if len(record) == width + 1 and not record[-1].strip():
                record = record[:-1]
            else:
                what = "the header" if header else "the first line"
                raise DataError(
                    f"{source}, line {line}: {len(record)} fields, expected {width} as in {what} "
                    f"(delimiter {_show(delimiter)})"
                )
        for b, cell in zip(builders, record, strict=True):
            b.add(cell)
        row_lines.append(line)
    return row_lines


def _records(reader: Any, source: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, fields) of every non-blank record."""
    end = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"{source}, line {reader.line_num}: {exc}") from None
        start, end = end + 1, reader.line_num
        if any(cell.strip() for cell in record):
            yield start, record


def _show(delimiter: str) -> str:
    return {"\t": "tab", ",": "','", ";": "';'"}.get(delimiter, repr(delimiter))


def _detect_delimiter(sample: list[str], complete: bool) -> str:
    """The delimiter that splits every sampled record into the same number (> 1) of fields."""
    consistent = []
    for d in _DELIMITERS:
        try:
            rows = [r for r in csv.reader(sample, delimiter=d) if any(c.strip() for c in r)]
        except csv.Error:
            continue
        if not complete:
            rows = rows[:-1]  # the last sampled record may continue past the sample
        widths = {len(r) for r in rows}
        if len(widths) == 1 and widths.pop() > 1:
            consistent.append(d)
    if consistent:
        return consistent[0]
    try:
        return csv.Sniffer().sniff("".join(sample), delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        first = next(line for line in sample if line.strip())
        return max(_DELIMITERS[::-1], key=first.count)


def _looks_like_header(first: list[str], rows: list[list[str]], allow_comma: bool) -> bool:
    """A header unless the first record looks like data (see the module docstring)."""
    status = [_parse(c.strip(), allow_comma)[0] for c in first]
    if NUMBER not in status:
        return True
    for j, s in enumerate(status):
        below = [_parse(r[j].strip(), allow_comma)[0] for r in rows if j < len(r)]
        below = [b for b in below if b != MISSING]
        if s == TEXT and below and all(b == NUMBER for b in below):
            return True
    return False
