"""Looking a name up in a registry (activations, losses): one rule and one error message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from retroprop.errors import ParameterError

T = TypeVar("T")

__all__ = ["lookup"]


def lookup(what: str, name: str, registry: Mapping[str, T], aliases: Mapping[str, str]) -> T:
    """``registry[name]``, where ``name`` may be one of the ``aliases`` of a registry name.

    Raises:
        ParameterError: the name is unknown; the message names ``what`` and lists the valid
            names (registry names and aliases, sorted).
    """
    key = aliases.get(name, name)
    if key not in registry:
        valid = ", ".join(sorted([*registry, *aliases]))
        raise ParameterError(f"unknown {what} {name!r}; valid names: {valid}")
    return registry[key]
