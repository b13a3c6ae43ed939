"""One family of errors for users' mistakes.

Every error that means "your input is wrong" — a bad parameter, a malformed CSV, a model or
network file that does not validate, a training run that diverged because of the settings — is a
:class:`RetropropError`. It subclasses :class:`ValueError`, so ``except ValueError`` keeps
working. The command line reports exactly these in one line with exit code 2; any other
exception is a bug of ours and exits with code 1 and an "internal error, please report" line.

May import: nothing (a leaf every package may use).
"""

from __future__ import annotations

__all__ = ["ParameterError", "RetropropError"]


class RetropropError(ValueError):
    """Base of every error caused by the user's input or settings (not by a bug of ours)."""


class ParameterError(RetropropError):
    """An argument or option out of its domain (names the parameter and what was expected)."""
