"""The header of a checkpoint, ``checkpoint.json``: its complete check, shared by the reader
and the writer (:mod:`retroprop.files.checkpoint_file`).

Every key must be a known one, every number in its range (:mod:`retroprop.files.limits`),
every list and string bounded, before anything reads a member: a header cannot make the reader
allocate more than the file really holds, nor the writer write what the reader would refuse.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from retroprop.data.schema import SchemaError, as_dict, as_float, as_int, as_list, as_str, get
from retroprop.files.header_schema import as_sha256, check_keys, check_section
from retroprop.files.limits import (
    MAX_ARRAY_BYTES,
    MAX_CHECKPOINT_BYTES,
    MAX_COLUMNS,
    MAX_EPOCHS,
    MAX_HISTORY_VALUES,
    MAX_UPDATES,
)

__all__ = ["as_bool", "as_engine", "as_number", "check_header", "read_rng"]

_P = "checkpoint"
"""JSON path of ``checkpoint.json`` in messages."""
_KEYS = (
    "format", "format_version", "created", "epoch", "epochs", "updates", "elapsed", "stopped",
    "engine", "n_train", "best", "rng", "optimizer", "history", "early_stopping", "settings",
    "arrays",
)  # fmt: skip
_MAX_ROWS = MAX_ARRAY_BYTES // 8
"""Most training rows a checkpoint's sample order may hold (1 GiB of int64)."""
_KEY = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
"""A name of the optimizer's arrays (``m``, ``v``, ``velocity``, ``step_size``, …)."""
_U128 = 1 << 128


def check_header(header: dict[str, Any]) -> None:
    """Validate ``checkpoint.json`` completely, before any member is read: known keys only,
    every number in its range, every list and string bounded, the history no larger than a
    checkpoint holds. The writer runs it on what it writes.

    Raises:
        SchemaError: the first problem, with its JSON path.
    """
    check_keys(header, _P, _KEYS)
    as_str(header["created"], f"{_P}.created", 100)
    epoch = as_int(header["epoch"], f"{_P}.epoch", 0, MAX_EPOCHS)
    as_int(header["epochs"], f"{_P}.epochs", max(epoch, 1), MAX_EPOCHS)
    as_int(header["updates"], f"{_P}.updates", 0, MAX_UPDATES)
    as_number(header["elapsed"], f"{_P}.elapsed")
    as_bool(header["stopped"], f"{_P}.stopped")
    as_engine(header["engine"])
    as_int(header["n_train"], f"{_P}.n_train", 1, _MAX_ROWS)
    best = as_dict(header["best"], f"{_P}.best")
    check_keys(best, f"{_P}.best", ("epoch", "monitor", "value"))
    as_int(best["epoch"], f"{_P}.best.epoch", 0, epoch)
    as_str(best["monitor"], f"{_P}.best.monitor", 100)
    as_number(best["value"], f"{_P}.best.value")
    read_rng(header)
    _check_optimizer(header)
    _check_history(header, epoch)
    _check_early_stopping(header, epoch)
    check_section(header["settings"], f"{_P}.settings")
    for member, entry in as_dict(header["arrays"], f"{_P}.arrays").items():
        where = f"{_P}.arrays.{as_str(member, f'{_P}.arrays key', 100)}"
        entry = as_dict(entry, where)
        check_keys(entry, where, ("bytes", "sha256"))
        as_int(entry["bytes"], f"{where}.bytes", 0, MAX_CHECKPOINT_BYTES)
        as_sha256(entry["sha256"], f"{where}.sha256")


def _check_optimizer(header: dict[str, Any]) -> None:
    """``optimizer``: at most 16 numbers and 16 names of arrays, none both."""
    p = f"{_P}.optimizer"
    opt = as_dict(header["optimizer"], p)
    check_keys(opt, p, ("numbers", "arrays"))
    numbers = as_dict(opt["numbers"], f"{p}.numbers")
    if len(numbers) > 16:
        raise SchemaError(f"{p}.numbers: at most 16 entries allowed")
    for key, value in numbers.items():
        where = f"{p}.numbers.{as_str(key, f'{p}.numbers key', 100)}"
        if isinstance(value, int) and not isinstance(value, bool):
            as_int(value, where, -(2**62), 2**62)
        elif value is not None:
            as_number(value, where)
    listed = as_list(opt["arrays"], f"{p}.arrays", 16)
    for j, key in enumerate(listed):
        as_str(key, f"{p}.arrays[{j}]", 100)
        if not _KEY.fullmatch(key):
            raise SchemaError(f"{p}.arrays[{j}]: not a name of optimizer arrays: {key!r}")
        if key in numbers:
            raise SchemaError(f"{p}: {key!r} is both a number and arrays")
    if len(set(listed)) != len(listed):
        raise SchemaError(f"{p}.arrays: duplicate names")


def _check_history(header: dict[str, Any], epoch: int) -> None:
    """``history``: unique column names, at most as many numbers as a checkpoint holds."""
    p = f"{_P}.history"
    hist = as_dict(header["history"], p)
    check_keys(hist, p, ("columns", "stopped_early", "best_epoch"))
    names = as_list(hist["columns"], f"{p}.columns", MAX_COLUMNS)
    columns = [as_str(c, f"{p}.columns[{j}]", 100) for j, c in enumerate(names)]
    if len(set(columns)) != len(columns):
        raise SchemaError(f"{p}.columns: duplicate names")
    if epoch * max(len(columns), 1) > MAX_HISTORY_VALUES:
        raise SchemaError(
            f"{_P}.epoch: {epoch} epochs of {len(columns)} history columns, more than a "
            f"checkpoint holds ({MAX_HISTORY_VALUES} numbers)"
        )
    as_bool(hist["stopped_early"], f"{p}.stopped_early")
    if hist["best_epoch"] is not None:
        as_int(hist["best_epoch"], f"{p}.best_epoch", 0, epoch)


def _check_early_stopping(header: dict[str, Any], epoch: int) -> None:
    """``early_stopping``: at most 8 callbacks' numbers."""
    for j, es in enumerate(as_list(header["early_stopping"], f"{_P}.early_stopping", 8)):
        where = f"{_P}.early_stopping[{j}]"
        es = as_dict(es, where)
        check_keys(es, where, ("best", "best_epoch", "wait", "stopped"))
        as_number(es["best"], f"{where}.best")
        as_int(es["best_epoch"], f"{where}.best_epoch", 0, epoch)
        as_int(es["wait"], f"{where}.wait", 0, epoch)
        as_bool(es["stopped"], f"{where}.stopped")


def read_rng(header: dict[str, Any]) -> dict[str, Any]:
    """The shuffling generator's PCG64 state, as ``numpy.random.PCG64().state`` gives it."""
    p = f"{_P}.rng"
    rng = as_dict(get(header, "rng", _P), p)
    check_keys(rng, p, ("bit_generator", "state", "inc", "has_uint32", "uinteger"))
    if rng["bit_generator"] != "PCG64":
        got = as_str(rng["bit_generator"], f"{p}.bit_generator", 100)
        raise SchemaError(f"{p}.bit_generator: expected 'PCG64', got {got!r}")
    return {
        "bit_generator": "PCG64",
        "state": {"state": _as_u128(rng, "state"), "inc": _as_u128(rng, "inc")},
        "has_uint32": as_int(get(rng, "has_uint32", p), f"{p}.has_uint32", 0, 1),
        "uinteger": as_int(get(rng, "uinteger", p), f"{p}.uinteger", 0, 2**32 - 1),
    }


def as_number(value: Any, path: str) -> float:
    """A float, or one of the strings "inf", "-inf", "nan" the writer puts for those."""
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        return float(value)
    return as_float(value, path)


def as_bool(value: Any, path: str) -> bool:
    """A JSON true or false (not a number standing for one)."""
    if not isinstance(value, bool):
        raise SchemaError(f"{path}: expected true or false, got {type(value).__name__}")
    return value


def as_engine(value: Any) -> Literal["numpy", "numba"]:
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
