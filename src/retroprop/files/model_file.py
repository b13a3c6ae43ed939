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
header, and values must be finite (the zip and array checks are :mod:`retroprop.files.archive`'s,
shared with checkpoints). Any problem raises :class:`ModelFileError`.

:func:`~retroprop.files.loader.load_model` reads a model from a model file or a checkpoint.

Format versions: readers accept every version from 1 up to :data:`FORMAT_VERSION`; a file from
a newer retroprop is refused with a message saying so.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from retroprop.core.activations import ACTIVATIONS
from retroprop.core.losses import LOSSES
from retroprop.core.network import Dense, Network
from retroprop.data.preprocessing import Preprocessor
from retroprop.data.schema import SchemaError, as_dict, as_int, as_list, as_str, get
from retroprop.errors import RetropropError
from retroprop.files.archive import (
    MAX_ARRAY_BYTES,
    MAX_HEADER_BYTES,
    ArchiveFormat,
    ArchiveReader,
    json_bytes,
    npy_bytes,
    read_archive,
    read_guarded,
    save_archive,
    sha256,
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
    "model_members",
    "read_model",
    "save_model",
]

FORMAT = "retroprop.model"
MAX_LAYERS = 1000
MAX_UNITS = 10_000_000

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


def architecture_json(network: Network) -> dict[str, Any]:
    """The ``architecture`` of a model file's header: ``sizes``, ``activations``, ``loss``,
    ``dtype`` (the names of the registries, the dtype as a string)."""
    return {
        "sizes": network.sizes,
        "activations": [layer.activation.name for layer in network.layers],
        "loss": network.loss.name,
        "dtype": str(network.dtype),
    }


def model_members(model: Model) -> dict[str, bytes]:
    """The members of a model file: ``header.json`` and the arrays, as bytes."""
    net = model.network
    shapes = _array_shapes(net.sizes)
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
    return {"header.json": json_bytes(header), **members}


def _array_shapes(sizes: Sequence[int]) -> dict[str, tuple[int, ...]]:
    """Member name → shape of every array, in the order of ``Network.params()``."""
    out: dict[str, tuple[int, ...]] = {}
    for l, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        out[f"weights_{l}.npy"] = (n_out, n_in)
        out[f"biases_{l}.npy"] = (n_out,)
    return out


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


def _read_archive(reader: ArchiveReader) -> Model:
    """The model in an opened model file: header, then network, then preprocessing."""
    reader.check_total_size(MAX_HEADER_BYTES + MAX_ARRAY_BYTES)
    header = reader.read_header()
    network = _read_network(reader, header)
    sizes = network.sizes
    pre = Preprocessor.from_json(get(header, "preprocessing", "header"), "header.preprocessing")
    if (pre.n_inputs, pre.n_outputs) != (sizes[0], sizes[-1]):
        reader.fail(
            f"the preprocessing makes {pre.n_inputs} inputs and {pre.n_outputs} outputs "
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


def _read_network(reader: ArchiveReader, header: dict[str, Any]) -> Network:
    """The network the header's architecture describes, its arrays read and checked."""
    arch = as_dict(get(header, "architecture", "header"), "header.architecture")
    sizes, activations, loss, dtype = _check_architecture(arch)
    shapes = _array_shapes(sizes)
    _check_members(reader, shapes)
    declared = as_dict(get(header, "arrays", "header"), "header.arrays")
    if set(declared) != set(shapes):
        reader.fail("header.arrays does not list the layers' arrays")
    arrays = []
    for member, shape in shapes.items():
        entry = as_dict(declared[member], f"header.arrays.{member}")
        digest = as_str(get(entry, "sha256", f"header.arrays.{member}"), "sha256", 64)
        arrays.append(reader.read_array(member, shape, dtype, digest))
    layers = [
        Dense(W, b, ACTIVATIONS[act])
        for W, b, act in zip(arrays[::2], arrays[1::2], activations, strict=True)
    ]
    return Network(layers, loss)


def _check_members(reader: ArchiveReader, shapes: Mapping[str, tuple[int, ...]]) -> None:
    """The archive holds the header and exactly the arrays of the architecture."""
    unexpected = sorted(set(reader.members) - set(shapes) - {"header.json"})
    if unexpected:
        reader.fail(f"unexpected member(s) {', '.join(map(repr, unexpected))}; refused")
    absent = [m for m in shapes if m not in reader.members]
    if absent:
        reader.fail(f"missing array(s) {', '.join(absent)} (truncated?)")


def _check_architecture(arch: dict[str, Any]) -> tuple[list[int], list[str], str, np.dtype[Any]]:
    """Sizes, activation names, loss name and dtype of ``header.architecture``, validated."""
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
