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

Loading trusts nothing: the model part is validated by
:func:`~retroprop.files.model_file.read_model`;
every other array's shape and dtype follow from the model's architecture and the JSON numbers,
are checked before any data is read, and their bytes must match the SHA-256 in
``checkpoint.json`` (the zip and array checks are :mod:`retroprop.files.archive`'s, shared with
model files). Any problem raises :class:`CheckpointError` (a
:class:`~retroprop.files.model_file.ModelFileError`).

:class:`~retroprop.files.checkpointer.Checkpointer` is the callback that writes them during
:func:`retroprop.fit`.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
from numpy.typing import NDArray

from retroprop.data.schema import SchemaError, as_dict, as_float, as_int, as_list, as_str, get
from retroprop.files import archive
from retroprop.files.archive import ArchiveFormat, ArchiveReader
from retroprop.files.model import Model
from retroprop.files.model_file import ModelFileError, model_members, read_model
from retroprop.train.loop import History, TrainState

__all__ = [
    "CHECKPOINT_FILE",
    "FORMAT",
    "FORMAT_VERSION",
    "Checkpoint",
    "CheckpointError",
    "checkpoint_members",
    "load_checkpoint",
    "read_checkpoint",
    "save_checkpoint",
]

FORMAT = "retroprop.checkpoint"
FORMAT_VERSION = 1
"""The checkpoint format version this retroprop writes (readers accept 1 to this)."""
MAX_COLUMNS = 64
"""Most history columns accepted (loss, mse, accuracy, their val_ twins, time, …)."""
_MAX_ROWS = archive.MAX_ARRAY_BYTES // 8
_U128 = 1 << 128
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
    return {"checkpoint.json": archive.json_bytes(header), **members}


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
def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read and validate a checkpoint written by :func:`save_checkpoint`.

    Raises:
        CheckpointError: the file is missing, not a checkpoint, truncated, from a newer
            retroprop, invalid or tampered with; the message says which.
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            return read_checkpoint(f, path.name)
    except OSError as exc:
        raise CheckpointError(
            f"{path.name}: cannot read the file ({exc.strerror or exc})"
        ) from None


def read_checkpoint(f: IO[bytes], name: str) -> Checkpoint:
    """:func:`load_checkpoint` from an open binary file; ``name`` is used in messages."""

    return archive.read_archive(f, name, CHECKPOINT_FILE, _read_archive)


class _Members:
    """The members ``checkpoint.json`` lists, with their SHA-256; reads the arrays among them."""

    def __init__(self, reader: ArchiveReader, header: dict[str, Any]) -> None:
        self.reader = reader
        declared = as_dict(get(header, "arrays", _P), f"{_P}.arrays")
        present = set(reader.members) - {"checkpoint.json"}
        if set(declared) != present:
            extra = sorted(present - set(declared))
            missing = sorted(set(declared) - present)
            reader.fail(
                f"the members do not match checkpoint.arrays (unexpected: "
                f"{', '.join(extra) or 'none'}; missing: {', '.join(missing) or 'none'}; "
                "truncated?)"
            )
        self.digests: dict[str, str] = {}
        for member, entry in declared.items():
            where = f"{_P}.arrays.{member}"
            self.digests[member] = as_str(get(as_dict(entry, where), "sha256", where), "sha256", 64)

    def model(self) -> Model:
        """The model member: a complete model file, hashed as a whole, validated as such."""
        limit = archive.MAX_HEADER_BYTES + 2 * archive.MAX_ARRAY_BYTES
        raw = self.reader.read_bounded("model.retroprop", limit)
        self.reader.check_digest(raw, self.digests["model.retroprop"], "model.retroprop")
        try:
            return read_model(io.BytesIO(raw), f"{self.reader.name} (model.retroprop)")
        except ModelFileError as exc:
            raise CheckpointError(str(exc)) from None

    def array(self, member: str, shape: tuple[int, ...], dtype: np.dtype[Any]) -> NDArray[Any]:
        """The array ``member`` (listed in the header, else the archive is truncated)."""
        if member not in self.digests:
            self.reader.fail(f"missing array {member} (truncated?)")
        return self.reader.read_array(member, shape, dtype, self.digests[member])


def _read_archive(reader: ArchiveReader) -> Checkpoint:
    """The checkpoint in an opened archive: header, model, then the train state."""
    header = reader.read_header()
    members = _Members(reader, header)
    model = members.model()
    epoch = as_int(get(header, "epoch", _P), f"{_P}.epoch", 0, 10**9)
    best = as_dict(get(header, "best", _P), f"{_P}.best")
    return Checkpoint(
        model=model,
        state=_read_state(header, members, model.network.params(), epoch),
        epochs=as_int(get(header, "epochs", _P), f"{_P}.epochs", max(epoch, 1), 10**9),
        best_epoch=as_int(get(best, "epoch", f"{_P}.best"), f"{_P}.best.epoch", 0, epoch),
        monitor=as_str(get(best, "monitor", f"{_P}.best"), f"{_P}.best.monitor", 100),
        best_value=_as_number(get(best, "value", f"{_P}.best"), f"{_P}.best.value"),
        settings=as_dict(get(header, "settings", _P), f"{_P}.settings"),
    )


def _read_state(
    header: dict[str, Any], members: _Members, params: list[NDArray[Any]], epoch: int
) -> TrainState:
    """The train state after ``epoch`` epochs; ``params`` are the model's parameter arrays,
    whose shapes and dtype the weights and optimizer arrays share."""
    n_params = int(sum(p.size for p in params))
    dtype = params[0].dtype
    n_train = as_int(get(header, "n_train", _P), f"{_P}.n_train", 1, _MAX_ROWS)
    order = members.array("order.npy", (n_train,), np.dtype(np.int64))
    if not np.array_equal(np.sort(order), np.arange(n_train)):
        members.reader.fail(f"order.npy is not an order of {n_train} samples; refused")
    return TrainState(
        epoch=epoch,
        weights=members.array("weights.npy", (n_params,), dtype),
        optimizer=_read_optimizer(header, members, params),
        rng=_read_rng(header),
        order=order,
        history=_read_history(header, members, epoch),
        updates=as_int(get(header, "updates", _P), f"{_P}.updates", 0, 2**62),
        elapsed=_as_number(get(header, "elapsed", _P), f"{_P}.elapsed"),
        stopped=_as_bool(get(header, "stopped", _P), f"{_P}.stopped"),
        early_stopping=_read_early_stopping(header, members, (n_params,), dtype, epoch),
        engine=_as_engine(get(header, "engine", _P)),
    )


def _read_history(header: dict[str, Any], members: _Members, epoch: int) -> History:
    """The history of ``epoch`` epochs: column names from the header, numbers from history.npy."""
    p = f"{_P}.history"
    hist = as_dict(get(header, "history", _P), p)
    names = as_list(get(hist, "columns", p), f"{p}.columns", MAX_COLUMNS)
    columns = [as_str(c, f"{p}.columns[{j}]", 100) for j, c in enumerate(names)]
    if len(set(columns)) != len(columns):
        raise SchemaError(f"{p}.columns: duplicate names")
    if epoch * max(len(columns), 1) > _MAX_ROWS:
        raise SchemaError(f"{_P}.epoch: {epoch} epochs of history, more than this reader accepts")
    table = members.array("history.npy", (epoch, len(columns)), np.dtype(np.float64))
    best_epoch = hist.get("best_epoch")
    return History(
        {
            c: [int(v) if c in ("epoch", "updates") else float(v) for v in table[:, j]]
            for j, c in enumerate(columns)
        },
        stopped_early=_as_bool(get(hist, "stopped_early", p), f"{p}.stopped_early"),
        best_epoch=None if best_epoch is None else as_int(best_epoch, f"{p}.best_epoch", 0, epoch),
    )


def _read_optimizer(
    header: dict[str, Any], members: _Members, params: list[NDArray[Any]]
) -> dict[str, Any]:
    """The optimizer's state: its numbers from the header, its arrays (one per parameter
    array, of its shape and dtype) from the members."""
    p = f"{_P}.optimizer"
    opt = as_dict(get(header, "optimizer", _P), p)
    numbers = as_dict(get(opt, "numbers", p), f"{p}.numbers")
    listed = as_list(get(opt, "arrays", p), f"{p}.arrays", 16)
    if len(numbers) > 16:
        raise SchemaError(f"{p}.numbers: at most 16 entries allowed")
    optimizer: dict[str, Any] = {}
    for key, value in numbers.items():
        where = f"{p}.numbers.{key}"
        if value is None:
            optimizer[key] = None
        elif isinstance(value, int) and not isinstance(value, bool):
            optimizer[key] = as_int(value, where, -(2**62), 2**62)
        else:
            optimizer[key] = _as_number(value, where)
    for key in listed:
        key = as_str(key, f"{p}.arrays[]", 100)
        if key in optimizer:
            raise SchemaError(f"{p}: {key!r} is both a number and arrays")
        optimizer[key] = [
            members.array(f"optimizer_{key}_{i}.npy", a.shape, a.dtype)
            for i, a in enumerate(params)
        ]
    return optimizer


def _read_early_stopping(
    header: dict[str, Any],
    members: _Members,
    shape: tuple[int, ...],
    dtype: np.dtype[Any],
    epoch: int,
) -> list[dict[str, Any]]:
    """Each early-stopping callback's numbers, and its best weights of ``shape``."""
    stoppers = []
    for j, es in enumerate(as_list(get(header, "early_stopping", _P), f"{_P}.early_stopping", 8)):
        where = f"{_P}.early_stopping[{j}]"
        es = as_dict(es, where)
        stoppers.append(
            {
                "best": _as_number(get(es, "best", where), f"{where}.best"),
                "best_epoch": as_int(get(es, "best_epoch", where), f"{where}.best_epoch", 0, epoch),
                "wait": as_int(get(es, "wait", where), f"{where}.wait", 0, epoch),
                "stopped": _as_bool(get(es, "stopped", where), f"{where}.stopped"),
                "best_weights": members.array(f"early_stopping_{j}.npy", shape, dtype),
            }
        )
    return stoppers


def _read_rng(header: dict[str, Any]) -> dict[str, Any]:
    """The shuffling generator's PCG64 state, as ``numpy.random.PCG64().state`` gives it."""
    p = f"{_P}.rng"
    rng = as_dict(get(header, "rng", _P), p)
    if rng.get("bit_generator") != "PCG64":
        raise SchemaError(f"{p}.bit_generator: expected 'PCG64', got {rng.get('bit_generator')!r}")
    return {
        "bit_generator": "PCG64",
        "state": {"state": _as_u128(rng, "state"), "inc": _as_u128(rng, "inc")},
        "has_uint32": as_int(get(rng, "has_uint32", p), f"{p}.has_uint32", 0, 1),
        "uinteger": as_int(get(rng, "uinteger", p), f"{p}.uinteger", 0, 2**32 - 1),
    }


def _as_number(value: Any, path: str) -> float:
    """A float, or one of the strings "inf", "-inf", "nan" that :func:`_number` writes."""
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        return float(value)
    return as_float(value, path)


def _as_bool(value: Any, path: str) -> bool:
    """A JSON true or false (not a number standing for one)."""
    if not isinstance(value, bool):
        raise SchemaError(f"{path}: expected true or false, got {type(value).__name__}")
    return value


def _as_engine(value: Any) -> Literal["numpy", "numba"]:
    """The engine a run trained with: ``"numpy"`` or ``"numba"``."""
    if value == "numpy" or value == "numba":
        return value
    raise SchemaError(f"checkpoint.engine: expected 'numpy' or 'numba', got {value!r}")


def _as_u128(rng: dict[str, Any], key: str) -> int:
    """A 128-bit unsigned number of the PCG64 state, from its hex string."""
    text = as_str(get(rng, key, "checkpoint.rng"), f"checkpoint.rng.{key}", 40)
    try:
        value = int(text, 16)
    except ValueError:
        raise SchemaError(f"checkpoint.rng.{key}: expected a hexadecimal number") from None
    if not 0 <= value < _U128:
        raise SchemaError(f"checkpoint.rng.{key}: out of range for PCG64")
    return value
