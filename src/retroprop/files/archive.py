"""The zip archive that model files and checkpoints are: a JSON header plus .npy arrays.

Both formats are written and read here, the same way:

- writing: every member deflated with a fixed date (equal content gives equal bytes), arrays
  saved with ``allow_pickle=False``, the header as strict JSON (no NaN), the whole file written
  atomically (:func:`~retroprop.files.atomic.atomic_path`); a member that deflating would
  shrink more than the reader accepts (an array of zeros) is stored uncompressed instead, so
  the reader never refuses what the writer wrote;
- reading: nothing in the file is trusted and nothing in it is executed. Before any member is
  read, the zip directory must show unique, unencrypted, plainly compressed members, at most
  :data:`~retroprop.files.limits.MAX_MEMBERS` of them, whose uncompressed sizes add up to at most
  the format's limit and none of which (past 64 KiB) inflates more than
  :data:`~retroprop.files.limits.MAX_RATIO` times: compressed size is not real size, and a small
  file that would inflate to gigabytes is refused at once (the limits are
  :mod:`retroprop.files.limits`). The header is read with a size bound, parsed as strict JSON and
  checked for its format name and version; every array's .npy header (shape, dtype) is checked
  *before* its data is read, the data is read once, straight into the array returned, hashed
  as it streams (its bytes must match the SHA-256 the header lists), and its values must be
  finite. Reading a file costs at most about twice the size of its arrays in memory.

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
from retroprop.errors import ParameterError, RetropropError
from retroprop.files.atomic import atomic_path
from retroprop.files.limits import (
    MAX_ARRAY_BYTES,
    MAX_HEADER_BYTES,
    MAX_MEMBERS,
    MAX_MODEL_BYTES,
    MAX_RATIO,
    RATIO_EXEMPT_BYTES,
)

__all__ = [
    "MAX_ARRAY_BYTES",
    "MAX_HEADER_BYTES",
    "ArchiveFormat",
    "ArchiveReader",
    "BufferFile",
    "check_writable",
    "json_bytes",
    "member_names",
    "npy_bytes",
    "open_archive",
    "read_archive",
    "read_guarded",
    "save_archive",
    "sha256",
    "too_compressed",
    "write_archive",
]

_NPY_HEADER_ROOM = 65_536
"""Bytes an .npy member may hold beyond its data (its header, padding)."""
_CHUNK = 1 << 20
"""Bytes inflated at a time when an array streams into its buffer."""
_DATE = (1980, 1, 1, 0, 0, 0)
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
        max_bytes: the largest total uncompressed size of the members accepted.
    """

    format: str
    version: int
    header: str
    path: str
    what: str
    versions: str
    purpose: str
    error: type[RetropropError]
    max_bytes: int = MAX_MODEL_BYTES


# -- writing --------------------------------------------------------------------------------
def npy_bytes(arr: NDArray[Any]) -> bytes:
    """The bytes of an .npy file of ``arr`` (C order, never pickled)."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def json_bytes(header: Mapping[str, Any]) -> bytes:
    """The header as UTF-8 JSON; a non-finite float is an error (JSON has none)."""
    return json.dumps(header, indent=1, ensure_ascii=False, allow_nan=False).encode("utf-8")


def check_writable(
    raw: bytes, spec: ArchiveFormat, writer: str, check_header: Callable[[Any], object]
) -> None:
    """Refuse to write a header the reader would refuse: over :data:`MAX_HEADER_BYTES`, or
    failing the format's ``check_header``.

    Raises:
        ParameterError: naming ``writer`` (e.g. ``"save_model"``) and what is wrong.
    """
    if len(raw) > MAX_HEADER_BYTES:
        raise ParameterError(
            f"{writer}: {spec.header} would be {len(raw)} bytes, more than a {spec.what} holds "
            f"({MAX_HEADER_BYTES})"
        )
    try:
        check_header(strict_json(raw))
    except SchemaError as exc:
        raise ParameterError(f"{writer}: {exc} (the {spec.what} could not be read back)") from None


def sha256(raw: bytes) -> str:
    """Hex SHA-256 of ``raw``, as headers list it."""
    return hashlib.sha256(raw).hexdigest()


def write_archive(file: Path | IO[bytes], members: Mapping[str, bytes]) -> None:
    """A zip archive of ``members`` (deflated, with a fixed date so equal content is equal).

    A member that deflates more than the reader accepts (:func:`too_compressed`) is written
    again, stored: the archive is rewritten once with those members uncompressed.
    """
    start = None if isinstance(file, Path) else file.tell()
    stored: set[str] = set()
    while True:
        with zipfile.ZipFile(file, "w") as z:
            for name, raw in members.items():
                info = zipfile.ZipInfo(name, date_time=_DATE)
                info.compress_type = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
                z.writestr(info, raw)
            over = {i.filename for i in z.infolist() if too_compressed(i)}
        if not over:
            return
        stored |= over
        if start is not None and not isinstance(file, Path):
            file.seek(start)
            file.truncate()


def too_compressed(info: zipfile.ZipInfo) -> bool:
    """Whether the member inflates more than :data:`~retroprop.files.limits.MAX_RATIO` times
    (members up to :data:`~retroprop.files.limits.RATIO_EXEMPT_BYTES` are exempt)."""
    if info.file_size <= RATIO_EXEMPT_BYTES:
        return False
    return info.file_size > MAX_RATIO * max(info.compress_size, 1)


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
        infos = z.infolist()
        if len(infos) > MAX_MEMBERS:
            self.fail(f"{len(infos)} members, more than a retroprop {spec.what} has; refused")
        self.members = {i.filename: i for i in infos}
        if len(self.members) != len(infos):
            self.fail("the archive has duplicate members; refused")
        for info in infos:
            if info.flag_bits & _UNSUPPORTED_FLAGS or info.compress_type not in (
                zipfile.ZIP_STORED,
                zipfile.ZIP_DEFLATED,
            ):
                self.fail(
                    f"member {info.filename!r} is encrypted or compressed in an unsupported way"
                )
        total = sum(i.file_size for i in infos)
        if total > spec.max_bytes:
            self.fail(
                f"{total} bytes uncompressed, more than this reader accepts "
                f"({spec.max_bytes} bytes); refused"
            )
        for info in infos:
            if too_compressed(info):
                ratio = info.file_size // max(info.compress_size, 1)
                self.fail(
                    f"member {info.filename[:200]!r} inflates {ratio}"
                    f" times ({info.compress_size} bytes to {info.file_size}; at most {MAX_RATIO} "
                    "times is accepted): a compression bomb, not a retroprop file; refused"
                )

    def fail(self, message: str) -> NoReturn:
        """Raise the format's error: ``<file name>: <message>``."""
        raise self.spec.error(f"{self.name}: {message}")

    def read_bounded(self, member: str, limit: int) -> bytes:
        """The bytes of ``member``, refused unheard if its declared size is over ``limit``.

        At most ``limit + 1`` bytes are read, whatever the directory declares.
        """
        info = self.members[member]
        if info.file_size > limit:
            self.fail(f"member {member!r} is too large ({info.file_size} bytes, at most {limit})")
        with self.z.open(info) as f:
            return f.read(limit + 1)

    def read_hashed(self, member: str, digest: str, limit: int) -> bytearray:
        """The bytes of ``member``, inflated once into one buffer and hashed as they stream;
        refused unheard if its declared size is over ``limit``, and unless the hash is
        ``digest``."""
        info = self.members[member]
        if info.file_size > limit:
            self.fail(f"member {member!r} is too large ({info.file_size} bytes, at most {limit})")
        buf = bytearray(info.file_size)
        view, done, digester = memoryview(buf), 0, hashlib.sha256()
        with self.z.open(info) as f:
            while done < len(buf):
                got = _readinto(f, view[done : done + _CHUNK])
                if not got:
                    self.fail(f"{member}: truncated")
                digester.update(view[done : done + got])
                done += got
        if digester.hexdigest() != digest:
            self.fail(
                f"{member}: SHA-256 does not match {self.spec.header} (damaged or tampered "
                "with); refused"
            )
        return buf

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

    def read_array(
        self, member: str, shape: tuple[int, ...], dtype: np.dtype[Any], digest: str
    ) -> NDArray[Any]:
        """The array in ``member``: of ``shape`` and ``dtype``, hashing to ``digest``, finite.

        Shape and dtype are checked from the .npy header before any data is read; then the
        array is allocated once and the data inflated straight into it, hashed as it streams.
        """
        what = f"{self.name}: {member}"
        nbytes = math.prod(shape) * dtype.itemsize
        info = self.members[member]
        if not nbytes <= info.file_size <= nbytes + _NPY_HEADER_ROOM:
            raise self.spec.error(
                f"{what}: {info.file_size} bytes, expected about {nbytes}; refused"
            )
        digester = hashlib.sha256()
        with self.z.open(info) as f:
            rec = _Recorder(f)
            stored = self._check_npy_header(rec, what, shape, dtype)
            digester.update(rec.chunks)
            arr = np.empty(shape, dtype=stored)
            data = arr.reshape(-1).view(np.uint8).data  # the array's own bytes
            done = 0
            while done < nbytes:
                got = _readinto(f, data[done : done + _CHUNK])
                if not got:
                    raise self.spec.error(f"{what}: truncated array data")
                digester.update(data[done : done + got])
                done += got
            if f.read(1):
                raise self.spec.error(f"{what}: more data than its shape holds; refused")
        if digester.hexdigest() != digest:
            self.fail(
                f"{member}: SHA-256 does not match {self.spec.header} (damaged or tampered "
                "with); refused"
            )
        arr = arr.astype(dtype.newbyteorder("="), copy=False)
        if not _all_finite(arr):
            raise self.spec.error(f"{what}: non-finite values (NaN or inf); refused")
        return arr

    def _check_npy_header(
        self, rec: _Recorder, what: str, shape: tuple[int, ...], dtype: np.dtype[Any]
    ) -> np.dtype[Any]:
        """Read an .npy header from ``rec``; refuse another version, dtype, order or shape.

        Returns:
            the dtype the data is stored in (``dtype`` in either byte order).
        """
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
        return got_dtype


class BufferFile(io.RawIOBase):
    """A read-only, seekable binary file over a buffer, without copying it (``io.BytesIO``
    copies anything but ``bytes``): a zip archive inside another is read from it."""

    def __init__(self, buf: bytearray) -> None:
        super().__init__()
        self.view, self.pos = memoryview(buf), 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        chunk = self.view[self.pos : self.pos + len(b)]
        n = len(chunk)
        memoryview(b).cast("B")[:n] = chunk
        self.pos += n
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: len(self.view)}[whence]
        self.pos = max(base + offset, 0)
        return self.pos

    def tell(self) -> int:
        return self.pos


def _readinto(f: IO[bytes], view: memoryview) -> int:
    """``f.readinto(view)`` (zip members have it; ``IO`` does not declare it)."""
    return int(f.readinto(view))  # type: ignore[attr-defined]


def _all_finite(arr: NDArray[Any]) -> bool:
    """Whether every value is finite, checked a slice at a time (no full-size temporary)."""
    flat = arr.reshape(-1)
    if flat.dtype.kind not in "fc":
        return True
    step = _CHUNK
    return all(np.isfinite(flat[i : i + step]).all() for i in range(0, flat.size, step))


class _Recorder:
    """A file wrapper that keeps every byte read (the .npy header: bounded) for hashing."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f, self.chunks = f, bytearray()

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.chunks += data
        return data
