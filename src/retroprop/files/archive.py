"""The zip archive that model files and checkpoints are: a JSON header plus .npy arrays.

Both formats are written and read here, the same way:

- writing: every member deflated with a fixed date (equal content gives equal bytes), arrays
  saved with ``allow_pickle=False``, the header as strict JSON (no NaN), the whole file written
  atomically (:func:`~retroprop.files.atomic.atomic_path`);
- reading: nothing in the file is trusted and nothing in it is executed. The archive must have
  unique, unencrypted, plainly compressed members; the header is read with a size bound, parsed
  as strict JSON and checked for its format name and version; every array's .npy header (shape,
  dtype) is checked *before* its data is read, its bytes must match the SHA-256 the header lists
  and its values must be finite.

A reader raises the error class of its format (:class:`~retroprop.files.model_file.ModelFileError`,
:class:`~retroprop.files.checkpoint_file.CheckpointError`), every message starting with the
file's name; :func:`read_guarded` turns whatever else a damaged archive makes ``zipfile``, ``zlib``
or NumPy raise into that class too.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn, TypeVar

import numpy as np
from numpy.typing import NDArray

from retroprop.data.schema import SchemaError, as_int, get, strict_json
from retroprop.errors import RetropropError
from retroprop.files.atomic import atomic_path

__all__ = [
    "MAX_ARRAY_BYTES",
    "MAX_HEADER_BYTES",
    "ArchiveFormat",
    "ArchiveReader",
    "json_bytes",
    "member_names",
    "npy_bytes",
    "open_archive",
    "read_archive",
    "read_guarded",
    "save_archive",
    "sha256",
    "write_archive",
]

MAX_HEADER_BYTES = 16 << 20
"""Largest JSON header accepted (a model's holds the categories of every feature)."""
MAX_ARRAY_BYTES = 1 << 30
"""Largest total size of a model's weight arrays accepted (1 GiB)."""
_NPY_HEADER_ROOM = 65_536
"""Bytes an .npy member may hold beyond its data (its header, padding)."""
T = TypeVar("T")
_UNSUPPORTED_FLAGS = 0x01 | 0x20 | 0x40
"""Zip flag bits of encryption (0x01), patched data (0x20) and strong encryption (0x40)."""


@dataclass(frozen=True)
class ArchiveFormat:
    """What tells one kind of archive from another, and the words its messages use.

    Attributes:
        format: the header's ``format`` value, e.g. ``"retroprop.model"``.
        version: the newest format version this retroprop reads (and writes); 1 is the oldest.
        header: the header member, e.g. ``"header.json"``.
        path: the JSON path of the header in messages, e.g. ``"header"``.
        what: the kind of file in messages, e.g. ``"model file"``.
        versions: how a newer file's version is named, e.g. ``"format version"``.
        purpose: what a newer retroprop is needed for, e.g. ``"read it"``.
        error: the error class the reader raises.
    """

    format: str
    version: int
    header: str
    path: str
    what: str
    versions: str
    purpose: str
    error: type[RetropropError]


# -- writing --------------------------------------------------------------------------------
def npy_bytes(arr: NDArray[Any]) -> bytes:
    """The bytes of an .npy file of ``arr`` (C order, never pickled)."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def json_bytes(header: Mapping[str, Any]) -> bytes:
    """The header as UTF-8 JSON; a non-finite float is an error (JSON has none)."""
    return json.dumps(header, indent=1, ensure_ascii=False, allow_nan=False).encode("utf-8")


def sha256(raw: bytes) -> str:
    """Hex SHA-256 of ``raw``, as headers list it."""
    return hashlib.sha256(raw).hexdigest()


def write_archive(file: Path | IO[bytes], members: Mapping[str, bytes]) -> None:
    """A zip archive of ``members`` (deflated, with a fixed date so equal content is equal)."""
    with zipfile.ZipFile(file, "w") as z:
        for name, raw in members.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, raw)


def save_archive(path: str | os.PathLike[str], members: Mapping[str, bytes]) -> Path:
    """Write the archive of ``members`` to ``path`` atomically; returns the path written."""
    target = Path(path)
    with atomic_path(target) as tmp:
        write_archive(tmp, members)
    return target


# -- reading --------------------------------------------------------------------------------
def member_names(f: IO[bytes]) -> set[str] | None:
    """The member names of the zip archive in ``f`` (rewound after), or None when ``f`` is not
    one that can be listed (the format's reader then says why)."""
    try:
        with zipfile.ZipFile(f) as z:
            return set(z.namelist())
    except Exception:  # whatever zipfile raises on garbage: the reader reports it properly
        return None
    finally:
        f.seek(0)


def read_guarded(name: str, spec: ArchiveFormat, read: Callable[[], T]) -> T:
    """``read()``, every exception of reading the archive ``name`` turned into ``spec.error``.

    The format's own errors pass; a :class:`~retroprop.data.schema.SchemaError` names the
    header; anything else ``zipfile``, ``zlib`` or NumPy raise on a damaged file says so.
    """
    error = spec.error
    try:
        return read()
    except error:
        raise
    except SchemaError as exc:
        raise error(f"{name}: invalid {spec.header}: {exc}") from None
    except NotImplementedError as exc:  # zipfile: a newer zip version, patched data, …
        raise error(f"{name}: unsupported zip archive ({exc}); refused") from None
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:  # zlib.error is not a ValueError
        raise error(f"{name}: damaged {spec.what} ({exc})") from None
    except OSError as exc:
        raise error(f"{name}: cannot read the file ({exc.strerror or exc})") from None
    except Exception as exc:  # zlib.error and whatever else a damaged archive raises
        raise error(f"{name}: damaged {spec.what} ({type(exc).__name__}: {exc})") from None


def open_archive(f: IO[bytes], name: str, spec: ArchiveFormat) -> zipfile.ZipFile:
    """The zip archive in ``f``, or ``spec.error`` saying it is not one (or truncated)."""
    if not zipfile.is_zipfile(f):
        f.seek(0)
        kind = "truncated" if f.read(4) == b"PK\x03\x04" else "not a zip archive"
        raise spec.error(f"{name}: not a retroprop {spec.what} ({kind})")
    return zipfile.ZipFile(f)


def read_archive(
    f: IO[bytes], name: str, spec: ArchiveFormat, read: Callable[[ArchiveReader], T]
) -> T:
    """``read(reader)`` on the archive in ``f``, every exception turned into ``spec.error``."""

    def guarded() -> T:
        with open_archive(f, name, spec) as z:
            return read(ArchiveReader(z, name, spec))

    return read_guarded(name, spec, guarded)


class ArchiveReader:
    """Reads the members of one archive of format ``spec``; every check raises ``spec.error``.

    Creating it checks what can be checked from the zip directory alone, before any member is
    read: no duplicate names, no encrypted or oddly compressed member, the header present.
    """

    def __init__(self, z: zipfile.ZipFile, name: str, spec: ArchiveFormat) -> None:
        self.z, self.name, self.spec = z, name, spec
        self.members = {i.filename: i for i in z.infolist()}
        if len(self.members) != len(z.infolist()):
            self.fail("the archive has duplicate members; refused")
        for info in self.members.values():
            if info.flag_bits & _UNSUPPORTED_FLAGS or info.compress_type not in (
                zipfile.ZIP_STORED,
                zipfile.ZIP_DEFLATED,
            ):
                self.fail(
                    f"member {info.filename!r} is encrypted or compressed in an unsupported way"
                )

    def fail(self, message: str) -> NoReturn:
        """Raise the format's error: ``<file name>: <message>``."""
        raise self.spec.error(f"{self.name}: {message}")

    def check_total_size(self, limit: int) -> None:
        """Refuse an archive whose members uncompress to more than ``limit`` bytes in all."""
        total = sum(i.file_size for i in self.members.values())
        if total > limit:
            self.fail(f"{total} bytes uncompressed, more than this reader accepts")

    def read_bounded(self, member: str, limit: int) -> bytes:
        """The bytes of ``member``, refused unheard if its declared size is over ``limit``.

        At most ``limit + 1`` bytes are read, whatever the directory declares.
        """
        info = self.members[member]
        if info.file_size > limit:
            self.fail(f"member {member!r} is too large ({info.file_size} bytes, at most {limit})")
        with self.z.open(info) as f:
            return f.read(limit + 1)

    def read_header(self) -> dict[str, Any]:
        """The JSON header, checked for the format's name and a version this retroprop reads."""
        spec = self.spec
        if spec.header not in self.members:
            self.fail(f"not a retroprop {spec.what} (no {spec.header})")
        raw = self.read_bounded(spec.header, MAX_HEADER_BYTES)
        try:
            header = strict_json(raw)
        except ValueError:
            self.fail(f"{spec.header} is not valid JSON; refused")
        if not isinstance(header, dict) or header.get("format") != spec.format:
            self.fail(f"not a retroprop {spec.what} (format is not {spec.format!r})")
        version = get(header, "format_version", spec.path)
        if isinstance(version, int) and not isinstance(version, bool) and version > spec.version:
            self.fail(
                f"written by a newer retroprop ({spec.versions} {version}; this one reads "
                f"versions 1 to {spec.version}); upgrade retroprop to {spec.purpose}"
            )
        as_int(version, f"{spec.path}.format_version", 1, spec.version)
        return header

    def check_digest(self, raw: bytes, digest: str, member: str) -> None:
        """Refuse ``raw`` (the bytes of ``member``) unless its SHA-256 is ``digest``."""
        if sha256(raw) != digest:
            self.fail(
                f"{member}: SHA-256 does not match {self.spec.header} (damaged or tampered "
                "with); refused"
            )

    def read_array(
        self, member: str, shape: tuple[int, ...], dtype: np.dtype[Any], digest: str
    ) -> NDArray[Any]:
        """The array in ``member``: of ``shape`` and ``dtype``, hashing to ``digest``, finite.

        Shape and dtype are checked from the .npy header before any data is read, and at most
        the expected number of bytes is read after it.
        """
        what = f"{self.name}: {member}"
        nbytes = math.prod(shape) * dtype.itemsize
        info = self.members[member]
        if info.file_size > nbytes + _NPY_HEADER_ROOM:
            raise self.spec.error(
                f"{what}: {info.file_size} bytes, expected about {nbytes}; refused"
            )
        with self.z.open(info) as f:
            rec = _Recorder(f)
            self._check_npy_header(rec, what, shape, dtype)
            rec.read(nbytes + 1)
        raw = bytes(rec.chunks)
        self.check_digest(raw, digest, member)
        return self._load_npy(raw, what, shape, dtype)

    def _check_npy_header(
        self, rec: _Recorder, what: str, shape: tuple[int, ...], dtype: np.dtype[Any]
    ) -> None:
        """Read an .npy header from ``rec``; refuse another version, dtype, order or shape."""
        fmt = np.lib.format
        try:
            version = fmt.read_magic(rec)
            if version not in ((1, 0), (2, 0)):
                raise self.spec.error(f"{what}: unsupported .npy version {version}")
            v1 = version == (1, 0)
            read_header = fmt.read_array_header_1_0 if v1 else fmt.read_array_header_2_0
            got_shape, fortran, got_dtype = read_header(rec, max_header_size=10_000)
        except self.spec.error:
            raise
        except Exception as exc:  # ValueError, tokenize.TokenError, SyntaxError, … from numpy
            raise self.spec.error(
                f"{what}: not a valid .npy array header ({exc}); refused"
            ) from None
        if got_dtype.kind != dtype.kind or got_dtype.itemsize != dtype.itemsize:
            raise self.spec.error(f"{what}: dtype {got_dtype}, expected {dtype}; refused")
        if fortran:  # our writer stores rows one after the other; a file that does not is not ours
            raise self.spec.error(
                f"{what}: stored in Fortran (column-major) order, expected C (row-major) "
                "order; refused"
            )
        if tuple(got_shape) != shape:
            raise self.spec.error(
                f"{what}: shape {tuple(got_shape)}, expected {shape} from the architecture; refused"
            )

    def _load_npy(
        self, raw: bytes, what: str, shape: tuple[int, ...], dtype: np.dtype[Any]
    ) -> NDArray[Any]:
        """The array of the checked .npy bytes ``raw``, in native byte order; finite values."""
        try:
            arr = np.load(io.BytesIO(raw), allow_pickle=False)
        except ValueError:  # fewer bytes than the header promises
            raise self.spec.error(f"{what}: truncated array data") from None
        if arr.shape != shape:
            raise self.spec.error(f"{what}: truncated array data")
        arr = arr.astype(dtype.newbyteorder("="), copy=False)
        if not np.all(np.isfinite(arr)):
            raise self.spec.error(f"{what}: non-finite values (NaN or inf); refused")
        return arr


class _Recorder:
    """A file wrapper that keeps every byte read (bounded by the caller) for hashing."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f, self.chunks = f, bytearray()

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.chunks += data
        return data
