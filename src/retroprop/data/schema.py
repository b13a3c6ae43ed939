"""Small checks for JSON read from files we do not trust; errors carry the JSON path."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from retroprop.errors import RetropropError

__all__ = [
    "SchemaError",
    "as_dict",
    "as_float",
    "as_int",
    "as_list",
    "as_str",
    "get",
    "strict_json",
]


class SchemaError(RetropropError):
    """A JSON value is missing or not what was expected; the message starts with its path."""


def get(obj: Mapping[str, Any], key: str, path: str) -> Any:
    """obj[key], or a :class:`SchemaError` naming ``path.key``."""
    if key not in obj:
        raise SchemaError(f"{path}.{key}: missing")
    return obj[key]


def as_dict(value: Any, path: str) -> dict[str, Any]:
    """``value`` if it is a JSON object."""
    if not isinstance(value, dict):
        raise SchemaError(f"{path}: expected an object, got {type(value).__name__}")
    return value


def as_list(value: Any, path: str, max_len: int) -> list[Any]:
    """``value`` if it is a JSON list of at most ``max_len`` entries."""
    if not isinstance(value, list):
        raise SchemaError(f"{path}: expected a list, got {type(value).__name__}")
    if len(value) > max_len:
        raise SchemaError(f"{path}: at most {max_len} entries allowed, got {len(value)}")
    return value


def as_str(value: Any, path: str, max_len: int = 10_000) -> str:
    """``value`` if it is a string of at most ``max_len`` characters."""
    if not isinstance(value, str):
        raise SchemaError(f"{path}: expected a string, got {type(value).__name__}")
    if len(value) > max_len:
        raise SchemaError(f"{path}: string longer than {max_len} characters")
    return value


def as_int(value: Any, path: str, lo: int, hi: int) -> int:
    """``value`` if it is an integer (not a boolean) in [lo, hi]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemaError(f"{path}: expected an integer, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise SchemaError(f"{path}: expected an integer in [{lo}, {hi}], got {value}")
    return value


def as_float(value: Any, path: str, *, positive: bool = False) -> float:
    """``value`` as a float if it is a finite number (and > 0 when ``positive``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SchemaError(f"{path}: expected a number, got {type(value).__name__}")
    if not math.isfinite(value) or (positive and value <= 0):
        raise SchemaError(f"{path}: expected a {'positive ' if positive else ''}finite number")
    return float(value)


MAX_INT_DIGITS = 400
"""Longest integer a JSON header may hold (a count or a size needs a few digits)."""


def strict_json(raw: bytes) -> Any:
    """The JSON value in ``raw`` (UTF-8), refusing NaN and ±Infinity (which JSON lacks).

    Raises:
        SchemaError: not UTF-8, not JSON, a non-finite constant, an integer of more than
            :data:`MAX_INT_DIGITS` digits, or nested too deeply.
    """

    def no_constants(token: str) -> None:
        raise ValueError(f"{token} is not allowed")

    def bounded_int(token: str) -> int:
        # Python refuses to convert more than 4300 digits, with a hint about
        # sys.set_int_max_str_digits() that means nothing to the file's author; no count or
        # size in our files needs more than a few digits.
        digits = len(token.lstrip("-"))
        if digits > MAX_INT_DIGITS:
            raise ValueError(f"an integer of {digits} digits (at most {MAX_INT_DIGITS})")
        return int(token)

    try:
        return json.loads(raw.decode("utf-8"), parse_constant=no_constants, parse_int=bounded_int)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SchemaError(str(exc)) from None
