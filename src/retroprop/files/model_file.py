"""The model file ``*.retroprop``: a trained network with everything needed to use it.

A model file is a zip archive with

- ``header.json``: format name ``"retroprop.model"``, ``format_version``, ``created``,
  ``architecture`` (``sizes``, ``activations``, ``loss``, ``dtype``), ``arrays`` (shape, dtype
  and SHA-256 of every array member), ``preprocessing`` (see
  :class:`~retroprop.data.preprocessing.Preprocessor`), ``training`` (settings), ``metrics``,
  ``data`` (SHA-256 of the training file, rows, name) and ``versions`` (of the libraries);
- ``weights_<l>.npy`` (n_out, n_in) and ``biases_<l>.npy`` (n_out,) for every layer l, written
  with ``allow_pickle=False``.

Loading trusts nothing in the file and never executes code from it: no pickle anywhere; the
header is JSON checked field by field; the archive must hold exactly the expected members;
every array's .npy header (shape, dtype) is checked against the architecture *before* its data
is read, sizes are bounded before anything is allocated, the bytes must match the SHA-256 in the
header, and values must be finite. Any problem raises :class:`ModelFileError`.

Format versions: readers accept every version from 1 up to :data:`FORMAT_VERSION`; a file from
a newer retroprop is refused with a message saying so.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from retroprop.core.activations import ACTIVATIONS
from retroprop.core.losses import LOSSES
from retroprop.core.network import Dense, Network
from retroprop.data.preprocessing import Preprocessor
from retroprop.data.schema import SchemaError, as_dict, as_int, as_list, as_str, get, strict_json
from retroprop.errors import RetropropError
from retroprop.files.atomic import atomic_path
from retroprop.files.model import FORMAT_VERSION, Model

__all__ = ["FORMAT", "FORMAT_VERSION", "ModelFileError", "load_model", "save_model"]

FORMAT = "retroprop.model"
MAX_HEADER_BYTES = 16 << 20
"""Largest ``header.json`` accepted (it holds the categories of every feature)."""
MAX_ARRAY_BYTES = 1 << 30
"""Largest total size of the weight arrays accepted (1 GiB)."""
MAX_LAYERS = 1000
MAX_UNITS = 10_000_000

Array = NDArray[np.floating]


class ModelFileError(RetropropError):
    """A model file cannot be read: not a model, truncated, too new, invalid or tampered with."""


# -- writing --------------------------------------------------------------------------------
def _jsonable(obj: Any) -> Any:
    """Plain JSON values: numpy scalars to Python, non-finite floats to None."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def save_model(path: str | os.PathLike[str], model: Model) -> Path:
    """Write ``model`` to ``path`` atomically (a temporary file renamed into place).

    Returns:
        The path written.
    """
    target = Path(path)
    with atomic_path(target) as tmp:
        write_zip(tmp, model_members(model))
    return target


def model_members(model: Model) -> dict[str, bytes]:
    """The members of a model file: ``header.json`` and the arrays, as bytes."""
    net = model.network
    members: dict[str, bytes] = {}
    for name, arr in zip(_array_shapes(net.sizes), net.params(), strict=True):
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
        members[name] = buf.getvalue()
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": model.created,
        "architecture": {
            "sizes": net.sizes,
            "activations": [layer.activation.name for layer in net.layers],
            "loss": net.loss.name,
            "dtype": str(net.dtype),
        },
        "arrays": {
            name: {
                "shape": list(shape),
                "dtype": str(net.dtype),
                "sha256": hashlib.sha256(members[name]).hexdigest(),
            }
            for name, shape in _array_shapes(net.sizes).items()
        },
        "preprocessing": model.preprocessor.to_json(),
        "training": _jsonable(model.training),
        "metrics": _jsonable(model.metrics),
        "data": _jsonable(model.data),
        "versions": _jsonable(model.versions),
    }
    text = json.dumps(header, indent=1, ensure_ascii=False, allow_nan=False)
    return {"header.json": text.encode("utf-8"), **members}


def write_zip(file: Path | IO[bytes], members: Mapping[str, bytes]) -> None:
    """A zip archive of ``members`` (deflated, with a fixed date so equal content is equal)."""
    with zipfile.ZipFile(file, "w") as z:
        for name, raw in members.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, raw)


def _array_shapes(sizes: Sequence[int]) -> dict[str, tuple[int, ...]]:
    """Member name → shape of every array, in the order of ``Network.params()``."""
    out: dict[str, tuple[int, ...]] = {}
    for l, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        out[f"weights_{l}.npy"] = (n_out, n_in)
        out[f"biases_{l}.npy"] = (n_out,)
    return out


# -- reading --------------------------------------------------------------------------------
def load_model(path: str | os.PathLike[str]) -> Model:
    """Read and validate a model file written by :func:`save_model`.

    A training checkpoint is accepted too (its model: the best weights of the run so far).

    Raises:
        ModelFileError: the file is missing, not a model, truncated, from a newer retroprop,
            invalid or tampered with; the message says which.
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            return read_model(f, path.name)
    except OSError as exc:
        raise ModelFileError(f"{path.name}: cannot read the file ({exc.strerror or exc})") from None


def read_model(f: IO[bytes], name: str) -> Model:
    """:func:`load_model` from an open binary file; ``name`` is the file's name for messages.

    A training checkpoint (:mod:`retroprop.files.checkpoint`) is read too: its model, which holds
    the
    best weights of the run so far.
    """
    try:
        start = f.read(4)
        if not start:
            raise ModelFileError(f"{name}: the file is empty")
        if start[:1] == b"\x80":
            raise ModelFileError(f"{name}: a pickle, not a retroprop model file; refused")
        if not zipfile.is_zipfile(f):
            kind = "truncated" if start == b"PK\x03\x04" else "not a zip archive"
            raise ModelFileError(f"{name}: not a retroprop model file ({kind})")
        with zipfile.ZipFile(f) as z:
            if "checkpoint.json" in z.namelist() and "header.json" not in z.namelist():
                from retroprop.files.checkpoint_file import read_checkpoint

                f.seek(0)
                return read_checkpoint(f, name).model
            return _read_archive(z, name)
    except ModelFileError:
        raise
    except SchemaError as exc:
        raise ModelFileError(f"{name}: invalid header: {exc}") from None
    except NotImplementedError as exc:  # zipfile: a newer zip version, patched data, …
        raise ModelFileError(f"{name}: unsupported zip archive ({exc}); refused") from None
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:  # zlib.error is not a ValueError
        raise ModelFileError(f"{name}: damaged model file ({exc})") from None
    except OSError as exc:
        raise ModelFileError(f"{name}: cannot read the file ({exc.strerror or exc})") from None
    except Exception as exc:  # zlib.error and whatever else a damaged archive raises
        raise ModelFileError(f"{name}: damaged model file ({type(exc).__name__}: {exc})") from None


def _read_archive(z: zipfile.ZipFile, name: str) -> Model:
    infos = {i.filename: i for i in z.infolist()}
    if len(infos) != len(z.infolist()):
        raise ModelFileError(f"{name}: the archive has duplicate members; refused")
    for info in infos.values():
        encrypted = info.flag_bits & 0x41  # (strong) encryption; 0x20: patched data
        if (
            encrypted
            or info.flag_bits & 0x20
            or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
        ):
            raise ModelFileError(
                f"{name}: member {info.filename!r} is encrypted or compressed in an unsupported way"
            )
    total = sum(i.file_size for i in infos.values())
    if total > MAX_HEADER_BYTES + MAX_ARRAY_BYTES:
        raise ModelFileError(f"{name}: {total} bytes uncompressed, more than this reader accepts")
    if "header.json" not in infos:
        raise ModelFileError(f"{name}: not a retroprop model file (no header.json)")
    header = _read_header(z, infos["header.json"], name)
    arch = as_dict(get(header, "architecture", "header"), "header.architecture")
    sizes, activations, loss, dtype = _check_architecture(arch)
    shapes = _array_shapes(sizes)
    unexpected = sorted(set(infos) - set(shapes) - {"header.json"})
    if unexpected:
        raise ModelFileError(
            f"{name}: unexpected member(s) {', '.join(map(repr, unexpected))}; refused"
        )
    absent = [m for m in shapes if m not in infos]
    if absent:
        raise ModelFileError(f"{name}: missing array(s) {', '.join(absent)} (truncated?)")
    declared = as_dict(get(header, "arrays", "header"), "header.arrays")
    if set(declared) != set(shapes):
        raise ModelFileError(f"{name}: header.arrays does not list the layers' arrays")
    arrays = []
    for member, shape in shapes.items():
        entry = as_dict(declared[member], f"header.arrays.{member}")
        digest = as_str(get(entry, "sha256", f"header.arrays.{member}"), "sha256", 64)
        arrays.append(_read_array(z, infos[member], shape, dtype, digest, name))
    layers = [
        Dense(W, b, ACTIVATIONS[act])
        for W, b, act in zip(arrays[::2], arrays[1::2], activations, strict=True)
    ]
    network = Network(layers, loss)
    pre = Preprocessor.from_json(get(header, "preprocessing", "header"), "header.preprocessing")
    if (pre.n_inputs, pre.n_outputs) != (sizes[0], sizes[-1]):
        raise ModelFileError(
            f"{name}: the preprocessing makes {pre.n_inputs} inputs and {pre.n_outputs} outputs "
            f"but the network has {sizes[0]} and {sizes[-1]}"
        )
    sections = {
        key: as_dict(get(header, key, "header"), f"header.{key}")
        for key in ("training", "metrics", "data", "versions")
    }
    return Model(
        network,
        pre,
        training=sections["training"],
        metrics=sections["metrics"],
        data=sections["data"],
        versions={str(k): str(v) for k, v in sections["versions"].items()},
        created=as_str(get(header, "created", "header"), "header.created", 100),
        format_version=header["format_version"],
    )


def _read_bounded(z: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, name: str) -> bytes:
    if info.file_size > limit:
        raise ModelFileError(
            f"{name}: member {info.filename!r} is too large "
            f"({info.file_size} bytes, at most {limit})"
        )
    with z.open(info) as f:
        return f.read(limit + 1)


def _read_header(z: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> dict[str, Any]:
    raw = _read_bounded(z, info, MAX_HEADER_BYTES, name)
    try:
        header = strict_json(raw)
    except ValueError:
        raise ModelFileError(f"{name}: header.json is not valid JSON; refused") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"{name}: not a retroprop model file (format is not {FORMAT!r})")
    version = get(header, "format_version", "header")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise ModelFileError(
            f"{name}: written by a newer retroprop (format version {version}; this one reads "
            f"versions 1 to {FORMAT_VERSION}); upgrade retroprop to read it"
        )
    as_int(version, "header.format_version", 1, FORMAT_VERSION)
    return header


def _check_architecture(arch: dict[str, Any]) -> tuple[list[int], list[str], str, np.dtype[Any]]:
    p = "header.architecture"
    raw = as_list(get(arch, "sizes", p), f"{p}.sizes", MAX_LAYERS + 1)
    sizes = [as_int(s, f"{p}.sizes[{j}]", 1, MAX_UNITS) for j, s in enumerate(raw)]
    if len(sizes) < 2:
        raise SchemaError(f"{p}.sizes: at least an input and an output layer are needed")
    acts = as_list(get(arch, "activations", p), f"{p}.activations", MAX_LAYERS)
    if len(acts) != len(sizes) - 1:
        raise SchemaError(f"{p}.activations: expected {len(sizes) - 1}, got {len(acts)}")
    for j, a in enumerate(acts):
        known = isinstance(a, str) and a in ACTIVATIONS
        if not known or (ACTIVATIONS[a].output_only and j != len(acts) - 1):
            raise SchemaError(
                f"{p}.activations[{j}]: invalid activation {a!r}; valid: {', '.join(ACTIVATIONS)}"
            )
    loss = get(arch, "loss", p)
    if not isinstance(loss, str) or loss not in LOSSES:
        raise SchemaError(f"{p}.loss: unknown loss {loss!r}; valid: {', '.join(LOSSES)}")
    dtype = get(arch, "dtype", p)
    if dtype not in ("float32", "float64"):
        raise SchemaError(f"{p}.dtype: expected 'float32' or 'float64', got {dtype!r}")
    dt = np.dtype(dtype)
    n_params = sum((n_in + 1) * n_out for n_in, n_out in itertools.pairwise(sizes))
    if n_params * dt.itemsize > MAX_ARRAY_BYTES:
        raise SchemaError(f"{p}.sizes: {n_params} parameters, more than this reader accepts")
    return sizes, acts, loss, dt


class _Recorder:
    """A file wrapper that keeps every byte read (bounded by the caller) for hashing."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f, self.chunks = f, bytearray()

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.chunks += data
        return data


def _read_array(
    z: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    shape: tuple[int, ...],
    dtype: np.dtype[Any],
    digest: str,
    name: str,
) -> Array:
    fmt = np.lib.format
    nbytes = math.prod(shape) * dtype.itemsize
    what = f"{name}: {info.filename}"
    if info.file_size > nbytes + 65_536:
        raise ModelFileError(f"{what}: {info.file_size} bytes, expected about {nbytes}; refused")
    with z.open(info) as f:
        rec = _Recorder(f)
        try:
            version = fmt.read_magic(rec)
            if version not in ((1, 0), (2, 0)):
                raise ModelFileError(f"{what}: unsupported .npy version {version}")
            v1 = version == (1, 0)
            read_header = fmt.read_array_header_1_0 if v1 else fmt.read_array_header_2_0
            got_shape, fortran, got_dtype = read_header(rec, max_header_size=10_000)
        except ModelFileError:
            raise
        except Exception as exc:  # ValueError, tokenize.TokenError, SyntaxError, … from numpy
            raise ModelFileError(
                f"{what}: not a valid .npy array header ({exc}); refused"
            ) from None
        if got_dtype.kind != dtype.kind or got_dtype.itemsize != dtype.itemsize or fortran:
            raise ModelFileError(f"{what}: dtype {got_dtype}, expected {dtype}; refused")
        if tuple(got_shape) != shape:
            raise ModelFileError(
                f"{what}: shape {tuple(got_shape)}, expected {shape} from the architecture; refused"
            )
        rec.read(nbytes + 1)
    raw = bytes(rec.chunks)
    if hashlib.sha256(raw).hexdigest() != digest:
        raise ModelFileError(
            f"{what}: SHA-256 does not match the header (damaged or tampered with); refused"
        )
    try:
        arr = np.load(io.BytesIO(raw), allow_pickle=False)
    except ValueError:  # fewer bytes than the header promises
        raise ModelFileError(f"{what}: truncated array data") from None
    if arr.shape != shape:
        raise ModelFileError(f"{what}: truncated array data")
    arr = arr.astype(dtype.newbyteorder("="), copy=False)
    if not np.all(np.isfinite(arr)):
        raise ModelFileError(f"{what}: non-finite values (NaN or inf); refused")
    return arr
