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
``checkpoint.json``. Any problem raises :class:`CheckpointError` (a
:class:`~retroprop.files.model_file.ModelFileError`).

:class:`~retroprop.files.checkpoint.Checkpointer` is the callback that writes them during
:func:`retroprop.fit`.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
from numpy.typing import NDArray

from retroprop.data.schema import (
    SchemaError,
    as_dict,
    as_float,
    as_int,
    as_list,
    as_str,
    get,
    strict_json,
)
from retroprop.files.atomic import atomic_path
from retroprop.files.model import Model
from retroprop.files.model_file import (
    MAX_ARRAY_BYTES,
    MAX_HEADER_BYTES,
    ModelFileError,
    _read_array,
    _read_bounded,
    model_members,
    read_model,
    write_zip,
)
from retroprop.train.loop import History, TrainState

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Checkpoint",
    "CheckpointError",
    "load_checkpoint",
    "read_checkpoint",
    "save_checkpoint",
]

FORMAT = "retroprop.checkpoint"
FORMAT_VERSION = 1
"""The checkpoint format version this retroprop writes (readers accept 1 to this)."""
MAX_COLUMNS = 64
"""Most history columns accepted (loss, mse, accuracy, their val_ twins, time, …)."""
_MAX_ROWS = MAX_ARRAY_BYTES // 8
_U128 = 1 << 128


class CheckpointError(ModelFileError):
    """A checkpoint cannot be read: not a checkpoint, truncated, too new, invalid or tampered."""


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


def _npy(arr: NDArray[Any]) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def save_checkpoint(path: str | os.PathLike[str], checkpoint: Checkpoint) -> Path:
    """Write ``checkpoint`` to ``path`` atomically (a temporary file renamed into place)."""
    s = checkpoint.state
    model_bytes = io.BytesIO()
    write_zip(model_bytes, model_members(checkpoint.model))
    columns = list(s.history.metrics)
    table = np.array([s.history.metrics[c][: s.epoch] for c in columns], dtype=np.float64).T
    members: dict[str, bytes] = {
        "model.retroprop": model_bytes.getvalue(),
        "weights.npy": _npy(s.weights),
        "order.npy": _npy(np.asarray(s.order, dtype=np.int64)),
        "history.npy": _npy(table.reshape(s.epoch, len(columns))),
    }
    numbers: dict[str, float | str | None] = {}
    arrays: list[str] = []
    for key, value in s.optimizer.items():
        if isinstance(value, list):
            arrays.append(key)
            for i, a in enumerate(value):
                members[f"optimizer_{key}_{i}.npy"] = _npy(a)
        else:
            is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
            numbers[key] = None if value is None else int(value) if is_int else _number(value)
    stoppers = []
    for j, es in enumerate(s.early_stopping):
        members[f"early_stopping_{j}.npy"] = _npy(es["best_weights"])
        stoppers.append(
            {
                "best": _number(es["best"]),
                "best_epoch": int(es["best_epoch"]),
                "wait": int(es["wait"]),
                "stopped": bool(es["stopped"]),
            }
        )
    rng = s.rng
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
        "rng": {
            "bit_generator": rng["bit_generator"],
            "state": hex(rng["state"]["state"]),
            "inc": hex(rng["state"]["inc"]),
            "has_uint32": int(rng["has_uint32"]),
            "uinteger": int(rng["uinteger"]),
        },
        "optimizer": {"numbers": numbers, "arrays": arrays},
        "history": {
            "columns": columns,
            "stopped_early": bool(s.history.stopped_early),
            "best_epoch": s.history.best_epoch,
        },
        "early_stopping": stoppers,
        "settings": checkpoint.settings,
        "arrays": {
            name: {"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
            for name, raw in members.items()
        },
    }
    text = json.dumps(header, indent=1, ensure_ascii=False, allow_nan=False)
    target = Path(path)
    with atomic_path(target) as tmp:
        write_zip(tmp, {"checkpoint.json": text.encode("utf-8"), **members})
    return target


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
    try:
        if not zipfile.is_zipfile(f):
            raise CheckpointError(f"{name}: not a retroprop checkpoint (not a zip archive)")
        with zipfile.ZipFile(f) as z:
            return _read_archive(z, name)
    except CheckpointError:
        raise
    except ModelFileError as exc:
        raise CheckpointError(str(exc)) from None
    except SchemaError as exc:
        raise CheckpointError(f"{name}: invalid checkpoint.json: {exc}") from None
    except NotImplementedError as exc:  # zipfile: a newer zip version, patched data, …
        raise CheckpointError(f"{name}: unsupported zip archive ({exc}); refused") from None
    except Exception as exc:  # zlib.error, EOFError, … from a damaged archive
        kind = type(exc).__name__
        raise CheckpointError(f"{name}: damaged checkpoint ({kind}: {exc})") from None


def _as_number(value: Any, path: str) -> float:
    """A float, or one of the strings "inf", "-inf", "nan" that :func:`_number` writes."""
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        return float(value)
    return as_float(value, path)


def _as_bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise SchemaError(f"{path}: expected true or false, got {type(value).__name__}")
    return value


def _read_header(z: zipfile.ZipFile, name: str) -> dict[str, Any]:
    infos = {i.filename: i for i in z.infolist()}
    if len(infos) != len(z.infolist()):
        raise CheckpointError(f"{name}: the archive has duplicate members; refused")
    if "checkpoint.json" not in infos:
        raise CheckpointError(f"{name}: not a retroprop checkpoint (no checkpoint.json)")
    for info in infos.values():  # before reading any member
        if info.flag_bits & 0x61 or info.compress_type not in (
            zipfile.ZIP_STORED,
            zipfile.ZIP_DEFLATED,
        ):
            raise CheckpointError(
                f"{name}: member {info.filename!r} is encrypted or compressed in an unsupported way"
            )
    raw = _read_bounded(z, infos["checkpoint.json"], MAX_HEADER_BYTES, name)
    try:
        header = strict_json(raw)
    except ValueError:
        raise CheckpointError(f"{name}: checkpoint.json is not valid JSON; refused") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{name}: not a retroprop checkpoint (format is not {FORMAT!r})")
    version = get(header, "format_version", "checkpoint")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise CheckpointError(
            f"{name}: written by a newer retroprop (checkpoint format version {version}; this "
            f"one reads versions 1 to {FORMAT_VERSION}); upgrade retroprop to resume it"
        )
    as_int(version, "checkpoint.format_version", 1, FORMAT_VERSION)
    return header


def _read_archive(z: zipfile.ZipFile, name: str) -> Checkpoint:
    header = _read_header(z, name)
    infos = {i.filename: i for i in z.infolist()}
    p = "checkpoint"
    declared = as_dict(get(header, "arrays", p), f"{p}.arrays")
    if set(declared) != set(infos) - {"checkpoint.json"}:
        extra = sorted(set(infos) - set(declared) - {"checkpoint.json"})
        missing = sorted(set(declared) - set(infos))
        raise CheckpointError(
            f"{name}: the members do not match checkpoint.arrays (unexpected: "
            f"{', '.join(extra) or 'none'}; missing: {', '.join(missing) or 'none'}; truncated?)"
        )
    digests = {}
    for member, entry in declared.items():
        entry = as_dict(entry, f"{p}.arrays.{member}")
        digests[member] = as_str(get(entry, "sha256", f"{p}.arrays.{member}"), "sha256", 64)

    # the model: a complete model file, validated as such, then hashed as a whole
    model_limit = MAX_HEADER_BYTES + 2 * MAX_ARRAY_BYTES
    model_raw = _read_bounded(z, infos["model.retroprop"], model_limit, name)
    _check_digest(model_raw, digests["model.retroprop"], name, "model.retroprop")
    model = read_model(io.BytesIO(model_raw), f"{name} (model.retroprop)")
    net = model.network
    n_params = int(sum(p_.size for p_ in net.params()))
    dtype = net.dtype

    epoch = as_int(get(header, "epoch", p), f"{p}.epoch", 0, 10**9)
    epochs = as_int(get(header, "epochs", p), f"{p}.epochs", max(epoch, 1), 10**9)
    n_train = as_int(get(header, "n_train", p), f"{p}.n_train", 1, _MAX_ROWS)
    hist = as_dict(get(header, "history", p), f"{p}.history")
    columns = [
        as_str(c, f"{p}.history.columns[{j}]", 100)
        for j, c in enumerate(
            as_list(get(hist, "columns", f"{p}.history"), f"{p}.history.columns", MAX_COLUMNS)
        )
    ]
    if len(set(columns)) != len(columns):
        raise SchemaError(f"{p}.history.columns: duplicate names")
    if epoch * max(len(columns), 1) > _MAX_ROWS:
        raise SchemaError(f"{p}.epoch: {epoch} epochs of history, more than this reader accepts")

    def array(member: str, shape: tuple[int, ...], kind: np.dtype[Any]) -> NDArray[Any]:
        if member not in infos:
            raise CheckpointError(f"{name}: missing array {member} (truncated?)")
        return _read_array(z, infos[member], shape, kind, digests[member], name)

    weights = array("weights.npy", (n_params,), dtype)
    order = array("order.npy", (n_train,), np.dtype(np.int64))
    if not np.array_equal(np.sort(order), np.arange(n_train)):
        raise CheckpointError(f"{name}: order.npy is not an order of {n_train} samples; refused")
    table = array("history.npy", (epoch, len(columns)), np.dtype(np.float64))
    history = History(
        {
            c: [int(v) if c in ("epoch", "updates") else float(v) for v in table[:, j]]
            for j, c in enumerate(columns)
        },
        stopped_early=_as_bool(
            get(hist, "stopped_early", f"{p}.history"), f"{p}.history.stopped_early"
        ),
        best_epoch=None
        if hist.get("best_epoch") is None
        else as_int(hist["best_epoch"], f"{p}.history.best_epoch", 0, epoch),
    )

    opt = as_dict(get(header, "optimizer", p), f"{p}.optimizer")
    numbers = as_dict(get(opt, "numbers", f"{p}.optimizer"), f"{p}.optimizer.numbers")
    listed = as_list(get(opt, "arrays", f"{p}.optimizer"), f"{p}.optimizer.arrays", 16)
    if len(numbers) > 16:
        raise SchemaError(f"{p}.optimizer.numbers: at most 16 entries allowed")
    optimizer: dict[str, Any] = {}
    for key, value in numbers.items():
        where = f"{p}.optimizer.numbers.{key}"
        if value is None:
            optimizer[key] = None
        elif isinstance(value, int) and not isinstance(value, bool):
            optimizer[key] = as_int(value, where, -(2**62), 2**62)
        else:
            optimizer[key] = _as_number(value, where)
    shapes = [p_.shape for p_ in net.params()]
    for key in listed:
        key = as_str(key, f"{p}.optimizer.arrays[]", 100)
        if key in optimizer:
            raise SchemaError(f"{p}.optimizer: {key!r} is both a number and arrays")
        optimizer[key] = [
            array(f"optimizer_{key}_{i}.npy", shape, dtype) for i, shape in enumerate(shapes)
        ]

    stoppers = []
    for j, es in enumerate(as_list(get(header, "early_stopping", p), f"{p}.early_stopping", 8)):
        where = f"{p}.early_stopping[{j}]"
        es = as_dict(es, where)
        stoppers.append(
            {
                "best": _as_number(get(es, "best", where), f"{where}.best"),
                "best_epoch": as_int(get(es, "best_epoch", where), f"{where}.best_epoch", 0, epoch),
                "wait": as_int(get(es, "wait", where), f"{where}.wait", 0, epoch),
                "stopped": _as_bool(get(es, "stopped", where), f"{where}.stopped"),
                "best_weights": array(f"early_stopping_{j}.npy", (n_params,), dtype),
            }
        )

    rng = as_dict(get(header, "rng", p), f"{p}.rng")
    if rng.get("bit_generator") != "PCG64":
        raise SchemaError(
            f"{p}.rng.bit_generator: expected 'PCG64', got {rng.get('bit_generator')!r}"
        )
    rng_state = {
        "bit_generator": "PCG64",
        "state": {"state": _as_u128(rng, "state"), "inc": _as_u128(rng, "inc")},
        "has_uint32": as_int(get(rng, "has_uint32", f"{p}.rng"), f"{p}.rng.has_uint32", 0, 1),
        "uinteger": as_int(get(rng, "uinteger", f"{p}.rng"), f"{p}.rng.uinteger", 0, 2**32 - 1),
    }
    best = as_dict(get(header, "best", p), f"{p}.best")
    state = TrainState(
        epoch=epoch,
        weights=weights,
        optimizer=optimizer,
        rng=rng_state,
        order=order,
        history=history,
        updates=as_int(get(header, "updates", p), f"{p}.updates", 0, 2**62),
        elapsed=_as_number(get(header, "elapsed", p), f"{p}.elapsed"),
        stopped=_as_bool(get(header, "stopped", p), f"{p}.stopped"),
        early_stopping=stoppers,
        engine=_as_engine(get(header, "engine", p)),
    )
    return Checkpoint(
        model=model,
        state=state,
        epochs=epochs,
        best_epoch=as_int(get(best, "epoch", f"{p}.best"), f"{p}.best.epoch", 0, epoch),
        monitor=as_str(get(best, "monitor", f"{p}.best"), f"{p}.best.monitor", 100),
        best_value=_as_number(get(best, "value", f"{p}.best"), f"{p}.best.value"),
        settings=as_dict(get(header, "settings", p), f"{p}.settings"),
    )


def _as_engine(value: Any) -> Literal["numpy", "numba"]:
    if value == "numpy" or value == "numba":
        return value
    raise SchemaError(f"checkpoint.engine: expected 'numpy' or 'numba', got {value!r}")


def _as_u128(rng: dict[str, Any], key: str) -> int:
    text = as_str(get(rng, key, "checkpoint.rng"), f"checkpoint.rng.{key}", 40)
    try:
        value = int(text, 16)
    except ValueError:
        raise SchemaError(f"checkpoint.rng.{key}: expected a hexadecimal number") from None
    if not 0 <= value < _U128:
        raise SchemaError(f"checkpoint.rng.{key}: out of range for PCG64")
    return value


def _check_digest(raw: bytes, digest: str, name: str, member: str) -> None:
    if hashlib.sha256(raw).hexdigest() != digest:
        raise CheckpointError(
            f"{name}: {member}: SHA-256 does not match checkpoint.json (damaged or tampered "
            "with); refused"
        )
