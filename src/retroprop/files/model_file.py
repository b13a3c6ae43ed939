"""The model file ``*.retroprop``: a trained network with everything needed to use it.

A model file is a zip archive with

- ``header.json``: format name ``"retroprop.model"``, ``format_version``, ``created``,
  ``architecture`` (``sizes``, ``activations``, ``loss``, ``dtype``), ``arrays`` (shape, dtype
  and SHA-256 of every array member), ``preprocessing`` (see
  :class:`~retroprop.data.preprocessing.Preprocessor`), ``training`` (settings), ``metrics``,
  ``data`` (SHA-256 of the training file, rows, name) and ``versions`` (of the libraries);
- ``weights_<l>.npy`` (n_out, n_in) and ``biases_<l>.npy`` (n_out,) for every layer l, written
  with ``allow_pickle=False``.

A network grown by cascade-correlation (:class:`~retroprop.core.cascade.CascadeNetwork`) says so
with ``"connections": "cascade"`` in its ``architecture`` (absent: layered, as every file before
it): its ``sizes`` are the inputs, the width of each hidden block in the order installed, and the
outputs, and block l reads the inputs and every earlier block, so its weights are
(n_out, n_inputs + the widths before it). A reader that does not know the key refuses the file.

Loading trusts nothing in the file and never executes code from it: no pickle anywhere; the
header is JSON checked field by field, known keys only, every list and string bounded
(:mod:`retroprop.files.header_schema`), before anything uses it; the archive must hold exactly
the expected members; the architecture is bounded (at most
:data:`~retroprop.files.limits.MAX_LAYERS` layers of
:data:`~retroprop.files.limits.MAX_UNITS` neurons, parameters of at most
:data:`~retroprop.files.limits.MAX_ARRAY_BYTES` bytes) and the zip directory too (total size,
compression ratio) before any array is read; every array's .npy header (shape, dtype) is
checked against the architecture *before* its data is read, the data is read once into its
array, the bytes must match the SHA-256 in the header, and values must be finite (the zip and
array checks are :mod:`retroprop.files.archive`'s, shared with checkpoints). Any problem raises
:class:`ModelFileError`. :func:`save_model` runs the same header checks and refuses to write a
model the reader would refuse (a ``training`` entry that is not a plain value, say).

:func:`~retroprop.files.loader.load_model` reads a model from a model file or a checkpoint.

Format versions: readers accept every version from 1 up to :data:`FORMAT_VERSION`; a file from
a newer retroprop is refused with a message saying so.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from retroprop.core.activations import ACTIVATIONS
from retroprop.core.cascade import CascadeNetwork
from retroprop.core.losses import LOSSES
from retroprop.core.network import Dense, Network
from retroprop.data.preprocessing import Preprocessor
from retroprop.data.schema import SchemaError, as_dict, as_int, as_list, as_str, get
from retroprop.errors import RetropropError
from retroprop.files.archive import (
    ArchiveFormat,
    ArchiveReader,
    check_writable,
    json_bytes,
    npy_bytes,
    read_archive,
    read_guarded,
    save_archive,
    sha256,
)
from retroprop.files.header_schema import as_sha256, check_keys, check_section, check_versions
from retroprop.files.limits import (
    MAX_ARRAY_BYTES,
    MAX_HEADER_BYTES,
    MAX_LAYERS,
    MAX_MODEL_BYTES,
    MAX_UNITS,
)
from retroprop.files.model import FORMAT_VERSION, Model

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_ARRAY_BYTES",
    "MAX_HEADER_BYTES",
    "MODEL_FILE",
    "ModelFileError",
    "architecture_json",
    "check_header",
    "model_members",
    "read_model",
    "save_model",
]

FORMAT = "retroprop.model"
_SECTIONS = ("training", "metrics", "data")
"""The free-form sections of the header (flat objects, see :func:`check_section`)."""
_KEYS = (
    "format",
    "format_version",
    "created",
    "architecture",
    "arrays",
    "preprocessing",
    *_SECTIONS,
    "versions",
)

Array = NDArray[np.floating]


class ModelFileError(RetropropError):
    """A model file cannot be read: not a model, truncated, too new, invalid or tampered with."""


MODEL_FILE = ArchiveFormat(
    format=FORMAT,
    version=FORMAT_VERSION,
    header="header.json",
    path="header",
    what="model file",
    versions="format version",
    purpose="read it",
    error=ModelFileError,
    max_bytes=MAX_MODEL_BYTES,
)
"""The model file as an archive: its header member, format name and messages."""


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
    return save_archive(path, model_members(model))


def architecture_json(network: Network | CascadeNetwork) -> dict[str, Any]:
    """The ``architecture`` of a model file's header: ``sizes``, ``activations``, ``loss``,
    ``dtype`` (the names of the registries, the dtype as a string), and ``connections`` for a
    cascade."""
    arch = {
        "sizes": network.sizes,
        "activations": [layer.activation.name for layer in network.layers],
        "loss": network.loss.name,
        "dtype": str(network.dtype),
    }
    return {**arch, "connections": "cascade"} if isinstance(network, CascadeNetwork) else arch


def model_members(model: Model) -> dict[str, bytes]:
    """The members of a model file: ``header.json`` and the arrays, as bytes."""
    net = model.network
    shapes = _array_shapes(net.sizes, isinstance(net, CascadeNetwork))
    members = {name: npy_bytes(arr) for name, arr in zip(shapes, net.params(), strict=True)}
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": model.created,
        "architecture": architecture_json(net),
        "arrays": {
            name: {"shape": list(shape), "dtype": str(net.dtype), "sha256": sha256(members[name])}
            for name, shape in shapes.items()
        },
        "preprocessing": model.preprocessor.to_json(),
        "training": _jsonable(model.training),
        "metrics": _jsonable(model.metrics),
        "data": _jsonable(model.data),
        "versions": _jsonable(model.versions),
    }
    raw = json_bytes(header)
    check_writable(raw, MODEL_FILE, "save_model", check_header)
    return {"header.json": raw, **members}


def _array_shapes(sizes: Sequence[int], cascade: bool = False) -> dict[str, tuple[int, ...]]:
    """Member name → shape of every array, in the order of ``Network.params()``; a cascade's
    block l reads the inputs and every block before it."""
    out: dict[str, tuple[int, ...]] = {}
    for l, (n_in, n_out) in enumerate(_fan_ins(sizes, cascade)):
        out[f"weights_{l}.npy"] = (n_out, n_in)
        out[f"biases_{l}.npy"] = (n_out,)
    return out


def _fan_ins(sizes: Sequence[int], cascade: bool) -> list[tuple[int, int]]:
    """(inputs, neurons) of every layer or cascade block."""
    if not cascade:
        return list(itertools.pairwise(sizes))
    return [(sum(sizes[: l + 1]), n_out) for l, n_out in enumerate(sizes[1:])]


# -- reading --------------------------------------------------------------------------------
def read_model(f: IO[bytes], name: str) -> Model:
    """Read and validate a model file from an open binary file; ``name`` is used in messages.

    (:func:`~retroprop.files.loader.load_model` reads a path, and checkpoints too.)

    Raises:
        ModelFileError: the file is empty, not a model, truncated, from a newer retroprop,
            invalid or tampered with; the message says which.
    """
    read_guarded(name, MODEL_FILE, lambda: _refuse_empty_or_pickle(f, name))
    return read_archive(f, name, MODEL_FILE, _read_archive)


def _refuse_empty_or_pickle(f: IO[bytes], name: str) -> None:
    """Tell an empty file and a pickle apart from other files that are not zip archives."""
    start = f.read(4)
    if not start:
        raise ModelFileError(f"{name}: the file is empty")
    if start[:1] == b"\x80":
        raise ModelFileError(f"{name}: a pickle, not a retroprop model file; refused")


@dataclass(frozen=True)
class _Header:
    """What a validated ``header.json`` holds (the arrays' data aside)."""

    sizes: list[int]
    activations: list[str]
    loss: str
    dtype: np.dtype[Any]
    cascade: bool
    digests: dict[str, str]
    preprocessor: Preprocessor
    sections: dict[str, dict[str, Any]]
    versions: dict[str, str]
    created: str


def check_header(header: dict[str, Any]) -> _Header:
    """Validate a model file's header completely, before anything else uses it: known keys
    only, the architecture bounded, every array listed with its expected shape, the
    preprocessing consistent with the network, every section flat and bounded.

    Raises:
        SchemaError: the first problem, with its JSON path.
    """
    check_keys(header, "header", _KEYS)
    created = as_str(header["created"], "header.created", 100)
    arch = as_dict(header["architecture"], "header.architecture")
    sizes, activations, loss, dtype, cascade = _check_architecture(arch)
    digests = _check_arrays(header["arrays"], _array_shapes(sizes, cascade), dtype)
    sections = {key: check_section(header[key], f"header.{key}") for key in _SECTIONS}
    versions = check_versions(header["versions"], "header.versions")
    policy = sections["training"].get("missing")
    pre = Preprocessor.from_json(  # files written before the policy was stored with it: training's
        header["preprocessing"],
        "header.preprocessing",
        missing=policy if policy in ("drop", "mean") else "error",
    )
    if (pre.n_inputs, pre.n_outputs) != (sizes[0], sizes[-1]):
        raise SchemaError(
            f"header.preprocessing: the preprocessing makes {pre.n_inputs} inputs and "
            f"{pre.n_outputs} outputs but the network has {sizes[0]} and {sizes[-1]}"
        )
    return _Header(
        sizes, activations, loss, dtype, cascade, digests, pre, sections, versions, created
    )


def _check_arrays(
    value: Any, shapes: Mapping[str, tuple[int, ...]], dtype: np.dtype[Any]
) -> dict[str, str]:
    """``header.arrays``: exactly the layers' arrays, each with its shape, dtype and SHA-256."""
    declared = as_dict(value, "header.arrays")
    if set(declared) != set(shapes):
        raise SchemaError("header.arrays: does not list the layers' arrays")
    digests = {}
    for member, shape in shapes.items():
        where = f"header.arrays.{member}"
        entry = as_dict(declared[member], where)
        check_keys(entry, where, ("shape", "dtype", "sha256"))
        if entry["shape"] != list(shape) or entry["dtype"] != str(dtype):
            raise SchemaError(f"{where}: expected shape {list(shape)} and dtype {str(dtype)!r}")
        digests[member] = as_sha256(entry["sha256"], f"{where}.sha256")
    return digests


def _read_archive(reader: ArchiveReader) -> Model:
    """The model in an opened model file: header, then its arrays, then the model."""
    header = reader.read_header()
    h = check_header(header)
    shapes = _array_shapes(h.sizes, h.cascade)
    _check_members(reader, shapes)
    arrays = [reader.read_array(m, shape, h.dtype, h.digests[m]) for m, shape in shapes.items()]
    layers = [
        Dense(W, b, ACTIVATIONS[act])
        for W, b, act in zip(arrays[::2], arrays[1::2], h.activations, strict=True)
    ]
    network = CascadeNetwork(layers[:-1], layers[-1], h.loss) if h.cascade else None
    return Model(
        network or Network(layers, h.loss),
        h.preprocessor,
        training=h.sections["training"],
        metrics=h.sections["metrics"],
        data=h.sections["data"],
        versions=h.versions,
        created=h.created,
        format_version=header["format_version"],
    )


def _check_members(reader: ArchiveReader, shapes: Mapping[str, tuple[int, ...]]) -> None:
    """The archive holds the header and exactly the arrays of the architecture."""
    unexpected = sorted(set(reader.members) - set(shapes) - {"header.json"})
    if unexpected:
        shown = ", ".join(repr(m[:200]) for m in unexpected[:5])
        more = f" and {len(unexpected) - 5} more" if len(unexpected) > 5 else ""
        reader.fail(f"unexpected member(s) {shown}{more}; refused")
    absent = [m for m in shapes if m not in reader.members]
    if absent:
        reader.fail(f"missing array(s) {', '.join(absent[:5])} (truncated?)")


def _check_architecture(
    arch: dict[str, Any],
) -> tuple[list[int], list[str], str, np.dtype[Any], bool]:
    """Sizes, activation names, loss name, dtype and whether it is a cascade, of
    ``header.architecture``, validated."""
    p = "header.architecture"
    check_keys(arch, p, ("sizes", "activations", "loss", "dtype"), ("connections",))
    if arch.get("connections", "cascade") != "cascade":
        raise SchemaError(f"{p}.connections: expected 'cascade' (or no key: layered)")
    cascade = "connections" in arch
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
    n_params = sum((n_in + 1) * n_out for n_in, n_out in _fan_ins(sizes, cascade))
    if n_params * dt.itemsize > MAX_ARRAY_BYTES:
        raise SchemaError(
            f"{p}.sizes: {n_params} parameters of {dt.itemsize} bytes, more than this reader "
            f"accepts ({MAX_ARRAY_BYTES} bytes)"
        )
    return sizes, acts, loss, dt, cascade
