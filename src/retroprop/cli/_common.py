"""What the commands share: the one console pair (stdout, stderr), warnings on stderr, the
error type of bad command-line input, the signal stop.

The consoles read no rich markup unless a call asks for it, and show every control character
of a string as its escape (:func:`retroprop.views.terminal.visible`): class labels, column
names and file names reach them in messages, tables and titles, and must print as written.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.text import Text

from retroprop.errors import RetropropError
from retroprop.views.terminal import visible


class Terminal(Console):
    """A rich console for text that holds users' strings: no markup or emoji codes unless a
    call asks for them, and every string it renders (a message, a table cell, a title) with its
    control characters shown as escapes, so an ANSI sequence in a CSV header is printed, not
    obeyed.

    Rich objects built elsewhere (:class:`~rich.text.Text`) do not pass through here: build
    them with :func:`retroprop.views.terminal.plain`.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**{"markup": False, "emoji": False, **kwargs})

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(visible(text, lines=True), **kwargs)


console = Terminal()
err = Terminal(stderr=True, soft_wrap=True)


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
        err.print(f"retroprop: warning: {visible(message)}", highlight=False)

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
