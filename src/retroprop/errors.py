"""One family of errors for users' mistakes.

Every error that means "your input is wrong" — a bad parameter, a malformed CSV, a model or
network file that does not validate, a training run that diverged because of the settings — is a
:class:`RetropropError`. It subclasses :class:`ValueError`, so ``except ValueError`` keeps
working. The command line reports exactly these in one line with exit code 2; any other
exception is a bug of ours and exits with code 1 and an "internal error, please report" line.

Messages that suggest an option name it as the caller writes it: the Python keyword
(``missing="mean"``) for library callers, the flag (``--impute mean``) when the command line runs
(:func:`spelled`, :func:`command_line_spelling`).

May import: nothing (a leaf every package may use).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ParameterError", "RetropropError", "command_line_spelling", "spelled"]

_command_line = False


class RetropropError(ValueError):
    """Base of every error caused by the user's input or settings (not by a bug of ours)."""


class ParameterError(RetropropError):
    """An argument or option out of its domain (names the parameter and what was expected)."""


def spelled(python: str, cli: str) -> str:
    """An option as a message should name it: ``python`` (``missing="mean"``) for library
    callers, ``cli`` (``--impute mean``) while :func:`command_line_spelling` is on."""
    return cli if _command_line else python


@contextmanager
def command_line_spelling() -> Iterator[None]:
    """While active, :func:`spelled` names options as command-line flags (the CLI's ``main``)."""
    global _command_line
    before, _command_line = _command_line, True
    try:
        yield
    finally:
        _command_line = before
