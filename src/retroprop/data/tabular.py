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

Every cell is kept compactly: its number (8 bytes; NaN when it is not one, and no numbers at all
for a column without any), its status (1 byte: number, missing, text, infinite) and a 2-byte code
into the column's vocabulary of distinct strings (dropped for columns with more than
:data:`MAX_CATEGORIES` distinct strings, which can only be numeric). Missing cells are empty or
one of :data:`MISSING_TOKENS` (``NA``, ``NaN``, ``null``, …).

The file is read once, as a stream (a pipe or ``<(…)`` works), and hashed as it is read: the
table's ``sha256`` is the digest of exactly the bytes parsed. What cannot be streamed is bounded
while reading, so an endless or binary input (``/dev/zero``) is refused at once: a line (or a
record whose quoted cells span lines) holds at most :data:`MAX_LINE_CHARS` characters, a cell at
most ``csv.field_size_limit()`` (131,072 unless changed), a file at most :data:`MAX_COLUMNS`
columns, and a NUL byte or a byte that is not text in the file's encoding (UTF-8 unless
``read_csv(encoding=…)`` names another) is an error naming its line.

Line numbers in messages are 1-based, as an editor shows them.

Data already in memory — a pandas DataFrame, columns ``{name: values}``, a 2-D array — becomes
a :class:`Table` through :meth:`Table.from_data` (or ``from_frame``, ``from_columns``,
``from_array``): its cells are read as a CSV file's would be, and its rows are named by
position from 0 (``row 4``), as ``DataFrame.iloc`` counts.
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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from retroprop.errors import ParameterError, RetropropError

__all__ = [
    "MAX_CATEGORIES",
    "MAX_COLUMNS",
    "MAX_LINE_CHARS",
    "MISSING_TOKENS",
    "Column",
    "DataError",
    "DataWarning",
    "Table",
    "read_csv",
    "read_csv_bytes",
    "read_csv_stream",
]

NUMBER, MISSING, TEXT, INFINITE = 0, 1, 2, 3
"""Status of a cell."""

MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "-nan", "null", "none", "<na>", "#n/a"})
"""Cell values (compared in lower case, after stripping spaces) that mean "missing"."""

MAX_CATEGORIES = 1000
"""Distinct strings a column may hold and still be categorical (or a classification target)."""

MAX_LINE_CHARS = 10_000_000
"""Characters a line of a CSV file may hold (and a record whose quoted cells span lines)."""

MAX_COLUMNS = 100_000
"""Columns a CSV file may have: as many as a model file can name."""

_DELIMITERS = ("\t", ";", ",")  # in order of preference when several split consistently
_SAMPLE_LINES = 50
_SAMPLE_CHARS = 1_000_000  # the sample stops early after this many characters


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
        codes: index of each cell's stripped text in ``vocabulary``, −1 if missing; (n_rows,),
            int16. None when the column has more than :data:`MAX_CATEGORIES` distinct strings.
        vocabulary: the distinct strings, in order of first appearance (or None).
    """

    name: str
    values: NDArray[np.float64]
    status: NDArray[np.uint8]
    codes: NDArray[np.int16] | None
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
        lines: where each row is, as messages name it: the 1-based line in the file where it
            starts, or its 0-based position for in-memory data (see ``unit``); (n_rows,).
        delimiter: the column separator that was detected.
        decimal: the decimal mark that was detected (``","`` if a decimal comma was seen).
        has_header: whether the first line was a header (in-memory data: whether the columns
            have names, False for a 2-D array).
        sha256: SHA-256 of the file's bytes (None for in-memory data).
        unit: ``"line"`` (a file) or ``"row"`` (in-memory data, counted from 0 as NumPy and
            ``DataFrame.iloc`` count).
        targets: the columns a file declares as targets (a FANN data file's outputs, see
            :mod:`retroprop.data.fann`); empty for CSV files, whose target is chosen by name.

    In-memory tables: :meth:`from_columns` (``{name: values}``), :meth:`from_frame` (a pandas
    or polars DataFrame), :meth:`from_array` (a 2-D array) and :meth:`from_data` (any of them).
    """

    source: str
    columns: list[Column]
    lines: NDArray[np.int64]
    delimiter: str = ","
    decimal: str = "."
    has_header: bool = True
    sha256: str | None = None
    unit: str = "line"
    targets: tuple[str, ...] = ()
    _index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = {c.name: j for j, c in enumerate(self.columns)}

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def n_rows(self) -> int:
        return len(self.lines)

    def place(self, i: int) -> str:
        """Where row ``i`` is, for messages: ``line 12`` (a file) or ``row 11`` (in memory)."""
        return f"{self.unit} {self.lines[i]}"

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
        elif self.targets:
            message += f" (a FANN data file: its outputs are {', '.join(self.targets)})"
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

    # -- in-memory data (built by the functions after _parse) ---------------------------------
    @classmethod
    def from_columns(cls, data: Mapping[Any, Any], source: str = "<columns>") -> Table:
        """A table from in-memory columns ``{name: values}``: lists, 1-D arrays or Series.

        Cells are read as a CSV file's would be: numbers are numbers; strings are parsed
        (``"3.5"`` a number, ``"NA"`` missing, other text a category); ``None``, NaN,
        ``pandas.NA`` and ``NaT`` are missing; booleans are the categories ``"True"`` and
        ``"False"``. Rows are named by position, from 0.

        Raises:
            DataError: columns of different lengths, duplicate names, a column that is not one
                value per row, or a value that is neither a number nor a string.
        """
        return _table_from_columns(data, source)

    @classmethod
    def from_frame(cls, frame: Any, source: str = "<DataFrame>") -> Table:
        """A table from a pandas (or polars) DataFrame's columns (cells as in
        :meth:`from_columns`; categorical, string and nullable columns are read as their
        values). The index is not a column."""
        return _table_from_frame(frame, source)

    @classmethod
    def from_array(cls, X: Any, names: Sequence[str] = (), source: str = "<array>") -> Table:
        """A table from a 2-D array (rows × columns) or a list of rows.

        Without ``names`` the columns are ``column_1``, ``column_2``, … and the table counts as
        header-less: a model matches its columns by position (the model's feature columns in
        their order, or all the columns of its training file).
        """
        return _table_from_array(X, names, source)

    @classmethod
    def from_data(cls, data: Any) -> Table:
        """A table from whatever holds one: a :class:`Table` (as it is), a DataFrame, a mapping
        ``{name: values}``, or a 2-D array or list of rows.

        Raises:
            DataError: not one of these, or not readable as a table (the message says why).
        """
        return _table_from_data(data)


class _ColumnBuilder:
    """Accumulates one column's cells while the file streams past."""

    def __init__(self, name: str, allow_comma: bool) -> None:
        self.name, self.allow_comma = name, allow_comma
        self.values = array("d")
        self.status = bytearray()
        self.codes: array[int] | None = array("h")  # MAX_CATEGORIES < 2**15
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
        copy of the cells, which matters for large files). A column without a single number
        keeps no numbers: its values are one NaN seen through a read-only view."""
        codes = None if self.codes is None else np.frombuffer(self.codes, dtype=np.int16)
        vocab = None if self.vocabulary is None else list(self.vocabulary)
        status = np.frombuffer(self.status, dtype=np.uint8)
        values: NDArray[np.float64] = np.frombuffer(self.values, dtype=np.float64)
        if len(status) and not np.any(status == NUMBER):
            self.values = array("d")
            values = np.broadcast_to(np.float64(math.nan), status.shape)
        return Column(self.name, values, status, codes, vocab)


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


# -- in-memory data -------------------------------------------------------------------------
# Cells are read as a CSV file's would be, so a model sees the same numbers, categories and
# missing values whether its rows come from a file or from pandas. A NumPy number column is
# taken as it is (NaN missing, ±inf infinite); anything else goes cell by cell through _parse
# as text. Rows are named by position from 0, as DataFrame.iloc and NumPy count.
def _table_from_columns(data: Mapping[Any, Any], source: str = "<columns>") -> Table:
    """See :meth:`Table.from_columns`."""
    names = [str(name) for name in data]
    _check_names(names, source)
    columns = [_column(n, v, source) for n, v in zip(names, data.values(), strict=True)]
    lengths = {c.name: len(c.values) for c in columns}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{n!r} has {k}" for n, k in list(lengths.items())[:10])
        raise DataError(f"{source}: the columns have different lengths ({shown} values)")
    n = len(columns[0].values) if columns else 0
    return Table(source, columns, np.arange(n, dtype=np.int64), unit="row")


def _table_from_frame(frame: Any, source: str = "<DataFrame>") -> Table:
    """See :meth:`Table.from_frame`."""
    names = [str(name) for name in frame.columns]
    _check_names(names, source)
    if hasattr(frame, "iloc"):  # pandas: by position, whatever the column labels are
        data = {n: frame.iloc[:, j] for j, n in enumerate(names)}
    else:  # polars
        data = {n: frame[n] for n in names}
    return _table_from_columns(data, source)


def _table_from_array(X: Any, names: Sequence[str] = (), source: str = "<array>") -> Table:
    """See :meth:`Table.from_array`.

    Raises:
        DataError: not 2-D (or ragged rows), or not one name per column.
    """
    try:
        arr = np.asarray(X, dtype=None if isinstance(X, np.ndarray) else object)
    except ValueError:
        raise DataError(f"{source}: the rows have different lengths") from None
    if arr.ndim == 1 and any(isinstance(r, list | tuple | np.ndarray) for r in arr):
        raise DataError(f"{source}: the rows have different lengths")  # numpy kept them as lists
    if arr.ndim != 2:
        raise DataError(f"{source}: expected a 2-D array (rows × columns), got shape {arr.shape}")
    if names and len(names) != arr.shape[1]:
        raise DataError(f"{source}: {len(names)} column names for {arr.shape[1]} columns")
    given = [str(n) for n in names] or [f"column_{j + 1}" for j in range(arr.shape[1])]
    table = _table_from_columns({n: arr[:, j] for j, n in enumerate(given)}, source)
    return replace(table, has_header=bool(names))


def _table_from_data(data: Any) -> Table:
    """See :meth:`Table.from_data`."""
    if isinstance(data, Table):
        return data
    if isinstance(data, Mapping):
        return _table_from_columns(data)
    if hasattr(data, "columns") and hasattr(data, "dtypes"):  # pandas or polars
        return _table_from_frame(data)
    if isinstance(data, np.ndarray) or (
        isinstance(data, Sequence) and not isinstance(data, str | bytes)
    ):
        return _table_from_array(data)
    raise DataError(
        f"expected a table: a pandas DataFrame, a dict of columns {{name: values}}, a 2-D "
        f"array or a Table from read_csv; got {type(data).__name__}"
    )


def _check_names(names: Sequence[str], source: str) -> None:
    """Refuse duplicate column names (two columns cannot both be called ``x``)."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DataError(f"{source}: duplicate column name {name!r}")
        seen.add(name)


def _column(name: str, values: Any, source: str) -> Column:
    """One in-memory column: number arrays directly, anything else cell by cell as text."""
    arr = _one_per_row(name, values, source)
    if arr.dtype.kind in "iuf":
        return _numeric_column(name, arr)
    if arr.dtype.kind not in "bOUSTMm":
        raise DataError(f"{source}: column {name!r}: values of type {arr.dtype} are not supported")
    b = _ColumnBuilder(name, allow_comma=False)
    for i, v in enumerate(arr):
        b.add(_cell_text(v, name, i, source))
    return b.build()


def _one_per_row(name: str, values: Any, source: str) -> NDArray[Any]:
    """A column's values as a 1-D array: a Series' or array's own; a list of Python numbers
    as float64; other sequences as objects."""
    if hasattr(values, "to_numpy"):  # a pandas or polars Series
        values = values.to_numpy()
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise DataError(
                f"{source}: column {name!r}: expected one value per row, got shape {values.shape}"
            )
        return values
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise DataError(
            f"{source}: column {name!r}: expected a sequence of values (one per row), got "
            f"{type(values).__name__}"
        )
    cells = list(values)
    if all(type(v) is float or type(v) is int for v in cells):
        try:
            return np.array(cells, dtype=np.float64)
        except OverflowError:  # an int too large for float64: read as text, then refused
            pass
    out = np.empty(len(cells), dtype=object)
    for i, v in enumerate(cells):
        out[i] = v
    return out


def _cell_text(v: Any, name: str, i: int, source: str) -> str:
    """A value as the text a CSV file would hold ("" when missing)."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool | np.bool_):
        return str(bool(v))
    if isinstance(v, float | np.floating) and np.isnan(v):
        return ""
    if isinstance(v, int | float | np.number):
        return str(v)
    if isinstance(v, np.datetime64 | np.timedelta64) and np.isnat(v):
        return ""
    try:  # pandas.NA and NaT are missing: they are not equal to themselves (or refuse to say)
        missing = bool(v != v)
    except TypeError:
        missing = True
    if missing:
        return ""
    if isinstance(v, bytes | bytearray | Mapping | Sequence | set):
        raise DataError(
            f"{source}, row {i}, column {name!r}: a {type(v).__name__} value; expected a number "
            f"or a string"
        )
    return str(v)  # dates, times, decimals, …: their text, as a CSV file would hold


def _numeric_column(name: str, arr: NDArray[Any]) -> Column:
    """A column of a NumPy number array: the values as they are, NaN missing, ±inf infinite;
    the vocabulary (for a column used as categories) is the distinct values' text."""
    x = arr.astype(np.float64)
    status = np.full(len(x), NUMBER, dtype=np.uint8)
    status[np.isnan(x)] = MISSING
    status[np.isinf(x)] = INFINITE
    values = np.where(status == NUMBER, x, np.nan)
    present = np.flatnonzero(status != MISSING)
    uniq, first, inverse = np.unique(arr[present], return_index=True, return_inverse=True)
    if len(uniq) > MAX_CATEGORIES:
        return Column(name, values, status, None, None)
    order = np.argsort(first)  # the vocabulary in order of first appearance, as from a file
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[order] = np.arange(len(uniq))
    codes = np.full(len(x), -1, dtype=np.int16)  # ≤ MAX_CATEGORIES codes, as from a file
    codes[present] = rank[inverse.reshape(-1)]
    vocabulary = [str(v) for v in uniq[order]]
    return Column(name, values, status, codes, vocabulary)


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
        path: the file (or a pipe).
        delimiter: force the delimiter instead of detecting it.
        header: force whether the first line is a header (None: detect).
        encoding: the file's text encoding, a name Python's codecs know (``"latin-1"``,
            ``"cp1252"``, …); UTF-8 may start with a byte-order mark.

    Returns:
        The table; its ``sha256`` is the digest of the bytes read.

    Raises:
        DataError: unreadable, empty, not text in ``encoding``, NUL bytes, header only,
            ragged lines, duplicate names, a line, cell or column count over its limit
            (module docstring).
        ParameterError: ``encoding`` is not a text encoding.
    """
    path = Path(path)
    source = path.name
    codec = text_encoding(encoding)
    try:
        with path.open("rb", buffering=0) as raw:
            return read_csv_stream(raw, source, delimiter=delimiter, header=header, codec=codec)
    except OSError as exc:
        raise DataError(f"{source}: cannot read the file ({exc.strerror or exc})") from None


def read_csv_bytes(
    data: bytes, source: str, *, delimiter: str | None = None, header: bool | None = None
) -> Table:
    """:func:`read_csv` of a CSV file's bytes already in memory (e.g. sent by a browser).

    ``source`` names the data in messages, as a file's name does. Same checks and limits.
    """
    raw = cast(io.RawIOBase, io.BytesIO(data))
    return read_csv_stream(raw, source, delimiter=delimiter, header=header)


def read_csv_stream(
    raw: io.RawIOBase,
    source: str,
    *,
    delimiter: str | None = None,
    header: bool | None = None,
    codec: str = "utf-8-sig",
) -> Table:
    """:func:`read_csv` of an open binary stream (for readers that look at a file's first
    bytes before choosing its format); ``source`` names it in messages, ``codec`` is a
    :func:`text_encoding` of ``read_csv``'s ``encoding``."""
    lines = _Lines(raw, source, codec)
    table = _read(lines, source, delimiter, header)
    return replace(table, sha256=lines.sha256.hexdigest())


class _Hashed(io.RawIOBase):
    """A binary stream that feeds every byte read from it to a SHA-256."""

    def __init__(self, raw: io.RawIOBase, sha256: Any) -> None:
        self.raw, self.sha256 = raw, sha256

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)
        if n:
            self.sha256.update(memoryview(buffer)[:n])
        return n or 0


class _Lines:
    """The decoded lines of a CSV stream, each checked and bounded as it is read.

    Iterating yields lines with their endings (``\\n``, ``\\r\\n`` or ``\\r``); ``number`` is
    the count read so far. ``record_chars`` counts the characters read since the last call of
    :meth:`end_record`, so that a record whose quoted cells span lines is bounded too. Bytes
    that are not text in ``codec`` are decoded to lone surrogates (``surrogateescape``) and
    reported with the line they are on, without reading the file a second time (it may be a
    pipe).
    """

    def __init__(
        self, raw: io.RawIOBase, source: str, codec: str = "utf-8-sig", kind: str = "CSV"
    ) -> None:
        self.source, self.codec, self.kind = source, codec, kind  # kind: for messages
        self.sha256 = hashlib.sha256()
        binary = io.BufferedReader(_Hashed(raw, self.sha256), 1 << 16)
        self._text = io.TextIOWrapper(binary, encoding=codec, errors="surrogateescape", newline="")
        self.number = 0
        self.record_chars = 0

    def end_record(self) -> None:
        self.record_chars = 0

    def __iter__(self) -> Iterator[str]:
        readline = self._text.readline
        while line := readline(MAX_LINE_CHARS + 1):
            self.number += 1
            self.record_chars += len(line)
            if not line.isascii():
                self._check_decoded(line)
            if "\0" in line:
                raise DataError(
                    f"{self.source}, line {self.number}: the file contains NUL bytes; it is not "
                    f"a text {self.kind} file"
                )
            if self.record_chars > MAX_LINE_CHARS:
                raise DataError(
                    f"{self.source}, line {self.number}: longer than {MAX_LINE_CHARS:,} "
                    "characters, the limit for a line (or a record whose quoted cells span "
                    f"lines); is it a text {self.kind} file?"
                )
            yield line

    def _check_decoded(self, line: str) -> None:
        """Refuse a line with bytes that are not text in the codec (decoded as lone
        surrogates, which UTF-8 cannot encode)."""
        try:
            line.encode("utf-8")
        except UnicodeEncodeError as exc:
            byte = ord(line[exc.start]) - 0xDC00
            try:
                position = len(line[: exc.start].encode(self.codec, "surrogateescape")) + 1
            except UnicodeError:  # a codec without surrogateescape: count characters
                position = exc.start + 1
            what = "UTF-8" if self.codec == "utf-8-sig" else self.codec
            raise DataError(
                f"{self.source}, line {self.number}: not {what} text (byte 0x{byte:02x} at "
                f"position {position}); save the file as UTF-8, or give its encoding (e.g. "
                "latin-1)"
            ) from None


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


def _read(source_lines: _Lines, source: str, delimiter: str | None, header: bool | None) -> Table:
    """The table in the lines: sample the start, find the delimiter and header, read the rows."""
    lines = iter(source_lines)
    sample, complete = _sample(lines, source, source_lines.end_record)
    delimiter = delimiter or _detect_delimiter(sample, complete)
    reader = csv.reader(itertools.chain(sample, lines), delimiter=delimiter, skipinitialspace=True)
    source_lines.end_record()
    records = _records(reader, source, source_lines.end_record)
    try:
        first_line, first = next(records)
    except StopIteration:
        raise DataError(f"{source}: the file is empty") from None
    if len(first) > MAX_COLUMNS:
        raise DataError(
            f"{source}, line {first_line}: {len(first):,} fields; a file may have at most "
            f"{MAX_COLUMNS:,} columns (as many as a model file can name)"
        )
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


def _sample(
    lines: Iterator[str], source: str, end_record: Callable[[], None]
) -> tuple[list[str], bool]:
    """The first :data:`_SAMPLE_LINES` lines (fewer once they hold :data:`_SAMPLE_CHARS`
    characters), refused if blank, and whether they are the whole file."""
    sample: list[str] = []
    chars = 0
    for line in lines:
        end_record()  # each sampled line is bounded on its own
        sample.append(line)
        chars += len(line)
        if len(sample) == _SAMPLE_LINES or chars >= _SAMPLE_CHARS:
            break
    else:
        if not any(line.strip() for line in sample):
            raise DataError(f"{source}: the file is empty")
        return sample, True
    return sample, False


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


def _records(
    reader: Any, source: str, end_record: Callable[[], None]
) -> Iterator[tuple[int, list[str]]]:
    """(first line number, fields) of every non-blank record; ``end_record`` is called after
    each record is read."""
    end = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"{source}, line {reader.line_num}: {exc}") from None
        end_record()
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
