"""What the commands share: the one console pair (stdout, stderr), warnings on stderr, the
error type of bad command-line input, the signal stop."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console

from retroprop.errors import RetropropError

console = Console()
err = Console(stderr=True, soft_wrap=True)


class CommandError(RetropropError):
    """Bad input noticed by a command (an option out of range, …): one line, exit code 2."""


class Interrupted(BaseException):
    """A signal (Ctrl-C, SIGTERM) ended a command: one line, exit code 128 + signal number.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` on the way up
    mistakes it for a failure of the work it interrupted.
    """

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@contextmanager
def warnings_on_stderr() -> Iterator[None]:
    """Show library warnings (constant columns, ignored columns, …) as one stderr line each."""

    def show(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        err.print(f"retroprop: warning: {message}", highlight=False, markup=False)

    with warnings.catch_warnings():
        warnings.simplefilter("always", UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.showwarning = show
        yield


def choice(option: str, value: str, valid: tuple[str, ...]) -> str:
    """``value`` if it is one of ``valid``, else a :class:`CommandError` listing them."""
    if value not in valid:
        raise CommandError(f"{option}: invalid value {value!r}; valid: {', '.join(valid)}")
    return value
