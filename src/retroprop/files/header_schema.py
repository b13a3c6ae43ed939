"""Strict checks of the JSON headers of model files and checkpoints, shared by their readers
and writers.

A header is cheap to send and can be costly to use: a list of a million entries costs little
on disk and minutes to print. So every key of a header must be a known one, every value of
the expected type, and every list, object and string bounded (:mod:`retroprop.files.limits`)
*before* anything iterates over it. The free-form sections (a model's ``training``,
``metrics``, ``data``; a checkpoint's ``settings``) are flat: names to numbers, strings,
booleans, nulls or lists of those. The writers run the same checks on what they are about to
write, so a file retroprop writes is one it reads.
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import Collection, Mapping
from typing import Any

from retroprop.data.schema import SchemaError, as_dict, as_list, as_str
from retroprop.files.limits import (
    MAX_LIST,
    MAX_NAME,
    MAX_SECTION_BYTES,
    MAX_SECTION_KEYS,
    MAX_TEXT,
    MAX_VERSIONS,
)

__all__ = ["as_sha256", "check_keys", "check_section", "check_versions"]

_HEX = frozenset(string.hexdigits.lower())


def check_keys(
    obj: Mapping[str, Any], path: str, required: Collection[str], optional: Collection[str] = ()
) -> None:
    """``obj`` has every ``required`` key and no key but those and the ``optional`` ones."""
    unknown = [k for k in obj if k not in required and k not in optional]
    if unknown:
        shown = ", ".join(repr(k[:MAX_NAME]) for k in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise SchemaError(f"{path}: unknown key(s) {shown}{more}; refused")
    for key in required:
        if key not in obj:
            raise SchemaError(f"{path}.{key}: missing")


def as_sha256(value: Any, path: str) -> str:
    """``value`` if it is a SHA-256 in lower-case hex (64 digits)."""
    text = as_str(value, path, 64)
    if len(text) != 64 or not set(text) <= _HEX:
        raise SchemaError(f"{path}: expected a SHA-256 (64 hexadecimal digits)")
    return text


def _scalar(value: Any, path: str) -> None:
    if value is None or isinstance(value, (bool, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SchemaError(f"{path}: expected a finite number")
        return
    if isinstance(value, str):
        as_str(value, path, MAX_TEXT)
        return
    raise SchemaError(
        f"{path}: expected a number, a string, true, false or null, got {type(value).__name__}"
    )


def check_section(value: Any, path: str) -> dict[str, Any]:
    """A flat JSON object: at most :data:`~retroprop.files.limits.MAX_SECTION_KEYS` names of at
    most :data:`~retroprop.files.limits.MAX_NAME` characters, each to a number, a string, a
    boolean, null or a list of at most :data:`~retroprop.files.limits.MAX_LIST` of those; at
    most :data:`~retroprop.files.limits.MAX_SECTION_BYTES` as JSON in all."""
    section = as_dict(value, path)
    if len(section) > MAX_SECTION_KEYS:
        raise SchemaError(f"{path}: at most {MAX_SECTION_KEYS} entries allowed, got {len(section)}")
    for key, item in section.items():
        where = f"{path}.{as_str(key, f'{path} key', MAX_NAME)}"
        if isinstance(item, list):
            for j, v in enumerate(as_list(item, where, MAX_LIST)):
                _scalar(v, f"{where}[{j}]")
        else:
            _scalar(item, where)
    size = len(json.dumps(section, ensure_ascii=False).encode("utf-8"))
    if size > MAX_SECTION_BYTES:
        raise SchemaError(f"{path}: {size} bytes of JSON, at most {MAX_SECTION_BYTES} allowed")
    return section


def check_versions(value: Any, path: str) -> dict[str, str]:
    """Library names to version strings: at most :data:`~retroprop.files.limits.MAX_VERSIONS`
    of them, each string at most :data:`~retroprop.files.limits.MAX_NAME` characters."""
    versions = as_dict(value, path)
    if len(versions) > MAX_VERSIONS:
        raise SchemaError(f"{path}: at most {MAX_VERSIONS} entries allowed, got {len(versions)}")
    for key, v in versions.items():
        as_str(v, f"{path}.{as_str(key, f'{path} key', MAX_NAME)}", MAX_NAME)
    return versions
