"""Training checkpoints: a model file plus everything needed to resume its training.

A checkpoint is a zip archive, never a pickle, with

- ``checkpoint.json``: format name ``"retroprop.checkpoint"``, ``format_version``, ``epoch``
  (epochs done) of ``epochs``, what the best epoch is and how it was judged (``best``),
  ``rng`` (the shuffling generator's PCG64 state, its 128-bit numbers as hex strings),
  ``optimizer`` (its numbers, and which of its entries are arrays), ``history`` (column names),
  ``early_stopping`` (the numbers of each early-stopping callback), ``settings`` (those of the
  command that trains, e.g. ``retroprop train``'s) and ``arrays`` (size and SHA-256 of every
  other member);
- ``model.retroprop``: a complete model file (:mod:`retroprop.files.model_file`) with the **best**
  weights so far, the preprocessing and the training settings, so a checkpoint can be used
  wherever a model can (``load_model`` reads it);
- ``weights.npy`` (the current parameters, flat), ``order.npy`` (the sample order, int64),
  ``history.npy`` (epochs × columns, float64), ``optimizer_<key>_<i>.npy`` (the optimizer's
  arrays, shaped like the parameters) and ``early_stopping_<j>.npy`` (best weights, flat).

Loading trusts nothing: the zip directory is bounded first (total size
:data:`~retroprop.files.limits.MAX_CHECKPOINT_BYTES`, compression ratio); ``checkpoint.json``
is checked completely (:mod:`retroprop.files.checkpoint_header`: known keys, ranges, bounded
lists) and the ``settings`` by the caller's check (``retroprop train --resume`` runs the one
its options go through) before any member is read; the members must be exactly those the
header and the model imply (nothing else, whatever its name); the model part is validated by
:func:`~retroprop.files.model_file.read_model`; every other array's shape and dtype follow from
the model's architecture and the JSON numbers, are checked before any data is read, the data
is read once into its array, and its bytes must match the SHA-256 in ``checkpoint.json`` (the
zip and array checks are :mod:`retroprop.files.archive`'s, shared with model files). Any
problem raises :class:`CheckpointError` (a :class:`~retroprop.files.model_file.ModelFileError`).
:func:`save_checkpoint` runs the same header check and refuses what the reader would refuse.

:class:`~retroprop.files.checkpointer.Checkpointer` is the callback that writes them during
:func:`retroprop.fit`.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
from numpy.typing import NDArray

from retroprop.errors import ParameterError
from retroprop.files import archive
from retroprop.files.archive import ArchiveFormat, ArchiveReader, BufferFile
from retroprop.files.checkpoint_header import (
    as_engine,
    as_number,
    check_header,
    read_rng,
)
from retroprop.files.limits import (
    MAX_CHECKPOINT_BYTES,
    MAX_COLUMNS,
    MAX_MODEL_BYTES,
)
from retroprop.files.model import Model
from retroprop.files.model_file import ModelFileError, model_members, read_model
from retroprop.files.regular import open_regular
from retroprop.train.loop import History, TrainState

__all__ = [
    "CHECKPOINT_FILE",
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_COLUMNS",
    "CheckSettings",
    "Checkpoint",
    "CheckpointError",
    "check_header",
    "checkpoint_members",
    "load_checkpoint",
    "read_checkpoint",
    "save_checkpoint",
]

FORMAT = "retroprop.checkpoint"
FORMAT_VERSION = 1
"""The checkpoint format version this retroprop writes (readers accept 1 to this)."""
_FIXED = ("model.retroprop", "weights.npy", "order.npy", "history.npy")
"""The members every checkpoint has (besides ``checkpoint.json``)."""
_ARRAY = re.compile(
    r"(?P<kind>optimizer|early_stopping)_(?:(?P<key>[a-z][a-z0-9_]*)_)?(?P<index>[0-9]{1,6})\.npy"
)
_MAX_MODEL_MEMBER = MAX_MODEL_BYTES + (4 << 20)
"""Largest model member: a model file's members and the zip's own headers."""
CheckSettings = Callable[[dict[str, Any]], object]
"""Validates a checkpoint's ``settings`` (raising a SchemaError)."""
_P = "checkpoint"
"""JSON path of ``checkpoint.json`` in messages."""


class CheckpointError(ModelFileError):
    """A checkpoint cannot be read: not a checkpoint, truncated, too new, invalid or tampered."""


CHECKPOINT_FILE = ArchiveFormat(
    format=FORMAT,
    version=FORMAT_VERSION,
    header="checkpoint.json",
    path=_P,
    what="checkpoint",
    versions="checkpoint format version",
    purpose="resume it",
    error=CheckpointError,
    max_bytes=MAX_CHECKPOINT_BYTES,
)
"""The checkpoint as an archive: its header member, format name and messages."""


@dataclass
class Checkpoint:
    """A training run, stopped after ``state.epoch`` of ``epochs`` epochs.

    Attributes:
        model: the model with the best weights so far (lowest ``monitor``), its preprocessing
            and training settings (``model.training``).
        state: what :func:`retroprop.fit` needs to continue (``initial_state``).
        epochs: the epochs the run was asked for.
        best_epoch: the epoch whose weights ``model`` holds (0: the initial weights).
        monitor: the log value that decides the best epoch (``"val_loss"`` or ``"loss"``).
        best_value: its value in ``best_epoch`` (inf before the first epoch).
        settings: the settings of the command that trains (plain JSON values).
    """

    model: Model
    state: TrainState
    epochs: int
    best_epoch: int = 0
    monitor: str = "loss"
    best_value: float = math.inf
    settings: dict[str, Any] = field(default_factory=dict)


# -- writing --------------------------------------------------------------------------------
def _number(x: float) -> float | str:
    """A float for JSON: non-finite values as the strings "inf", "-inf", "nan"."""
    return float(x) if math.isfinite(x) else str(float(x))


def save_checkpoint(path: str | os.PathLike[str], checkpoint: Checkpoint) -> Path:
    """Write ``checkpoint`` to ``path`` atomically (a temporary file renamed into place)."""
    return archive.save_archive(path, checkpoint_members(checkpoint))


def checkpoint_members(checkpoint: Checkpoint) -> dict[str, bytes]:
    """The members of a checkpoint: ``checkpoint.json``, the model file and the arrays."""
    s = checkpoint.state
    model = io.BytesIO()
    archive.write_archive(model, model_members(checkpoint.model))
    members = {"model.retroprop": model.getvalue(), **_state_arrays(s)}
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "epoch": s.epoch,
        "epochs": checkpoint.epochs,
        "updates": int(s.updates),
        "elapsed": _number(s.elapsed),
        "stopped": bool(s.stopped),
        "engine": s.engine,
        "n_train": len(s.order),
        "best": {
            "epoch": checkpoint.best_epoch,
            "monitor": checkpoint.monitor,
            "value": _number(checkpoint.best_value),
        },
        "rng": _rng_json(s.rng),
        "optimizer": _optimizer_json(s.optimizer),
        "history": {
            "columns": list(s.history.metrics),
            "stopped_early": bool(s.history.stopped_early),
            "best_epoch": s.history.best_epoch,
        },
        "early_stopping": [_early_stopping_json(es) for es in s.early_stopping],
        "settings": checkpoint.settings,
        "arrays": {
            name: {"bytes": len(raw), "sha256": archive.sha256(raw)}
            for name, raw in members.items()
        },
    }
    raw = archive.json_bytes(header)
    archive.check_writable(raw, CHECKPOINT_FILE, "save_checkpoint", check_header)
    total = len(raw) + sum(len(m) for m in members.values())
    if total > MAX_CHECKPOINT_BYTES or len(members["model.retroprop"]) > _MAX_MODEL_MEMBER:
        raise ParameterError(
            f"save_checkpoint: {total} bytes, more than a checkpoint holds "
            f"({MAX_CHECKPOINT_BYTES}; its model at most {_MAX_MODEL_MEMBER})"
        )
    return {"checkpoint.json": raw, **members}


def _state_arrays(s: TrainState) -> dict[str, bytes]:
    """The .npy members of a train state: weights, sample order, history, the optimizer's
    arrays and each early-stopping callback's best weights."""
    columns = list(s.history.metrics)
    table = np.array([s.history.metrics[c][: s.epoch] for c in columns], dtype=np.float64).T
    members = {
        "weights.npy": archive.npy_bytes(s.weights),
        "order.npy": archive.npy_bytes(np.asarray(s.order, dtype=np.int64)),
        "history.npy": archive.npy_bytes(table.reshape(s.epoch, len(columns))),
    }
    for key, value in s.optimizer.items():
        if isinstance(value, list):
            for i, a in enumerate(value):
                members[f"optimizer_{key}_{i}.npy"] = archive.npy_bytes(a)
    for j, es in enumerate(s.early_stopping):
        members[f"early_stopping_{j}.npy"] = archive.npy_bytes(es["best_weights"])
    return members


def _optimizer_json(optimizer: dict[str, Any]) -> dict[str, Any]:
    """The optimizer's numbers, and the keys of its arrays (stored as members)."""
    numbers: dict[str, float | str | None] = {}
    arrays: list[str] = []
    for key, value in optimizer.items():
        if isinstance(value, list):
            arrays.append(key)
        else:
            is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
            numbers[key] = None if value is None else int(value) if is_int else _number(value)
    return {"numbers": numbers, "arrays": arrays}


def _early_stopping_json(es: dict[str, Any]) -> dict[str, Any]:
    """The numbers of one early-stopping callback (its best weights are a member)."""
    return {
        "best": _number(es["best"]),
        "best_epoch": int(es["best_epoch"]),
        "wait": int(es["wait"]),
        "stopped": bool(es["stopped"]),
    }


def _rng_json(rng: dict[str, Any]) -> dict[str, Any]:
    """The PCG64 state, its 128-bit numbers as hex strings."""
    return {
        "bit_generator": rng["bit_generator"],
        "state": hex(rng["state"]["state"]),
        "inc": hex(rng["state"]["inc"]),
        "has_uint32": int(rng["has_uint32"]),
        "uinteger": int(rng["uinteger"]),
    }


# -- reading --------------------------------------------------------------------------------
def load_checkpoint(
    path: str | os.PathLike[str], check_settings: CheckSettings | None = None
) -> Checkpoint:
    """Read and validate a checkpoint written by :func:`save_checkpoint`.

    Args:
        path: the checkpoint file.
        check_settings: validates ``settings`` (those of the command that trains) as soon as
            the header is read, before any array: a :class:`~retroprop.data.schema.SchemaError`
            it raises refuses the file.

    Raises:
        CheckpointError: the file is missing, not a checkpoint, truncated, from a newer
            retroprop, invalid or tampered with; the message says which.
    """
    path = Path(path)
    try:
        with open_regular(path, CheckpointError, "checkpoint") as f:
            return read_checkpoint(f, path.name, check_settings)
    except OSError as exc:
        raise CheckpointError(
            f"{path.name}: cannot read the file ({exc.strerror or exc})"
        ) from None


def read_checkpoint(
    f: IO[bytes], name: str, check_settings: CheckSettings | None = None
) -> Checkpoint:
    """:func:`load_checkpoint` from an open binary file; ``name`` is used in messages."""

    def read(reader: ArchiveReader) -> Checkpoint:
        return _read_archive(reader, check_settings)

    return archive.read_archive(f, name, CHECKPOINT_FILE, read)


def _read_archive(reader: ArchiveReader, check_settings: CheckSettings | None) -> Checkpoint:
    """The checkpoint in an opened archive: header (all of it checked, settings included),
    the members it lists, the model, then the train state."""
    header = reader.read_header()
    check_header(header)
    if check_settings is not None:
        check_settings(header["settings"])
    members = _Members(reader, header)
    model = members.model()
    members.check_arrays(len(model.network.params()))
    epoch, best = header["epoch"], header["best"]
    return Checkpoint(
        model=model,
        state=_read_state(header, members, model.network.params(), epoch),
        epochs=header["epochs"],
        best_epoch=best["epoch"],
        monitor=best["monitor"],
        best_value=as_number(best["value"], f"{_P}.best.value"),
        settings=header["settings"],
    )


class _Members:
    """The members ``checkpoint.json`` lists, with their SHA-256; reads the arrays among them.

    The members must be exactly those the header implies: the model, weights, order, history,
    each listed optimizer array and each early-stopping callback's weights; nothing else.
    """

    def __init__(self, reader: ArchiveReader, header: dict[str, Any]) -> None:
        self.reader = reader
        declared: dict[str, Any] = header["arrays"]
        present = set(reader.members) - {"checkpoint.json"}
        self.listed = header["optimizer"]["arrays"]
        self.n_stoppers = len(header["early_stopping"])
        strange = sorted(m for m in present | set(declared) if not self._may_be(m))
        if strange:
            shown = ", ".join(repr(m[:200]) for m in strange[:5])
            reader.fail(f"unexpected member(s) {shown}; refused")
        if set(declared) != present:
            extra = sorted(present - set(declared))
            missing = sorted(set(declared) - present)
            reader.fail(
                f"the members do not match checkpoint.arrays (unexpected: "
                f"{', '.join(extra) or 'none'}; missing: {', '.join(missing) or 'none'}; "
                "truncated?)"
            )
        for member, entry in declared.items():
            if entry["bytes"] != reader.members[member].file_size:
                reader.fail(f"{member}: its size does not match checkpoint.arrays; refused")
        self.digests = {member: entry["sha256"] for member, entry in declared.items()}

    def _may_be(self, member: str) -> bool:
        """Whether ``member`` is a name a checkpoint of this header can have."""
        if member in _FIXED:
            return True
        match = _ARRAY.fullmatch(member)
        if match is None:
            return False
        kind, key, index = match.group("kind", "key", "index")
        if kind == "early_stopping":
            return key is None and int(index) < self.n_stoppers
        return key in self.listed

    def check_arrays(self, n_params: int) -> None:
        """Exactly the members the header implies, for a model of ``n_params`` arrays."""
        expected = set(_FIXED) | {f"early_stopping_{j}.npy" for j in range(self.n_stoppers)}
        expected |= {f"optimizer_{k}_{i}.npy" for k in self.listed for i in range(n_params)}
        if set(self.digests) != expected:
            wrong = sorted(set(self.digests) ^ expected)
            self.reader.fail(
                f"the members do not match the model and checkpoint.json "
                f"({', '.join(wrong[:5])}); refused"
            )

    def model(self) -> Model:
        """The model member: a complete model file, hashed as a whole, validated as such."""
        digest = self.digests["model.retroprop"]
        raw = self.reader.read_hashed("model.retroprop", digest, _MAX_MODEL_MEMBER)
        try:
            inner = cast(IO[bytes], BufferFile(raw))  # a binary file, as read_model reads
            return read_model(inner, f"{self.reader.name} (model.retroprop)")
        except ModelFileError as exc:
            raise CheckpointError(str(exc)) from None

    def array(self, member: str, shape: tuple[int, ...], dtype: np.dtype[Any]) -> NDArray[Any]:
        """The array ``member`` (listed in the header, checked by :meth:`check_arrays`)."""
        return self.reader.read_array(member, shape, dtype, self.digests[member])


def _read_state(
    header: dict[str, Any], members: _Members, params: list[NDArray[Any]], epoch: int
) -> TrainState:
    """The train state after ``epoch`` epochs; ``params`` are the model's parameter arrays,
    whose shapes and dtype the weights and optimizer arrays share."""
    n_params = int(sum(p.size for p in params))
    dtype = params[0].dtype
    n_train = header["n_train"]
    order = members.array("order.npy", (n_train,), np.dtype(np.int64))
    if not _is_order(order):
        members.reader.fail(f"order.npy is not an order of {n_train} samples; refused")
    return TrainState(
        epoch=epoch,
        weights=members.array("weights.npy", (n_params,), dtype),
        optimizer=_read_optimizer(header, members, params),
        rng=read_rng(header),
        order=order,
        history=_read_history(header, members, epoch),
        updates=header["updates"],
        elapsed=as_number(header["elapsed"], f"{_P}.elapsed"),
        stopped=header["stopped"],
        early_stopping=_read_early_stopping(header, members, (n_params,), dtype),
        engine=as_engine(header["engine"]),
    )


def _is_order(order: NDArray[np.int64]) -> bool:
    """Whether ``order`` holds every index of its length once (one bit per sample to check)."""
    n = len(order)
    if n == 0 or order.min() < 0 or order.max() >= n:
        return n == 0
    seen = np.zeros(n, dtype=bool)
    seen[order] = True
    return bool(seen.all())


def _read_history(header: dict[str, Any], members: _Members, epoch: int) -> History:
    """The history of ``epoch`` epochs: column names from the header, numbers from history.npy."""
    hist = header["history"]
    columns = hist["columns"]
    table = members.array("history.npy", (epoch, len(columns)), np.dtype(np.float64))
    metrics = {}
    for j, c in enumerate(columns):
        column = table[:, j].astype(np.int64) if c in ("epoch", "updates") else table[:, j]
        metrics[c] = column.tolist()
    return History(metrics, stopped_early=hist["stopped_early"], best_epoch=hist["best_epoch"])


def _read_optimizer(
    header: dict[str, Any], members: _Members, params: list[NDArray[Any]]
) -> dict[str, Any]:
    """The optimizer's state: its numbers from the header, its arrays (one per parameter
    array, of its shape and dtype) from the members."""
    opt = header["optimizer"]
    optimizer: dict[str, Any] = {}
    for key, value in opt["numbers"].items():
        is_int = isinstance(value, int) and not isinstance(value, bool)
        number = value if value is None or is_int else as_number(value, key)
        optimizer[key] = number
    for key in opt["arrays"]:
        optimizer[key] = [
            members.array(f"optimizer_{key}_{i}.npy", a.shape, a.dtype)
            for i, a in enumerate(params)
        ]
    return optimizer


def _read_early_stopping(
    header: dict[str, Any], members: _Members, shape: tuple[int, ...], dtype: np.dtype[Any]
) -> list[dict[str, Any]]:
    """Each early-stopping callback's numbers, and its best weights of ``shape``."""
    return [
        {
            "best": as_number(es["best"], "best"),
            "best_epoch": es["best_epoch"],
            "wait": es["wait"],
            "stopped": es["stopped"],
            "best_weights": members.array(f"early_stopping_{j}.npy", shape, dtype),
        }
        for j, es in enumerate(header["early_stopping"])
    ]
