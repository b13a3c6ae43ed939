"""The ``retroprop`` command: a thin typer + rich layer over the library.

Exit codes: 0 done; 2 for a user's mistake (a :class:`~retroprop.errors.RetropropError`, or an
option click rejects) or a limit of the machine (out of memory, a full disk, standard output
that cannot be written), reported in one line on stderr; 1 for anything else, which is a bug of
ours and says so; 128 + n when signal n stopped the command (130 for Ctrl-C).
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Annotated, Any

import typer

from retroprop._version import __version__
from retroprop.cli._common import Interrupted, console, err
from retroprop.cli._values import expand_multi_values
from retroprop.cli.apply import evaluate, predict
from retroprop.cli.compare import compare
from retroprop.cli.demo import demo
from retroprop.cli.explain import ExplainCommand, explain
from retroprop.cli.export import export, import_fann
from retroprop.cli.playground import playground
from retroprop.cli.search import search
from retroprop.cli.show import info
from retroprop.cli.train import train
from retroprop.errors import RetropropError, command_line_spelling
from retroprop.views.terminal import visible

__all__ = ["app", "main"]

app = typer.Typer(
    name="retroprop",
    help="Multilayer perceptrons trained by backpropagation, as the lecture explains them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    # the command list shows each command's first sentence whole up to 120 columns (click's
    # default, 80, cut the longer ones with "…" even on a wide terminal)
    context_settings={"max_content_width": 120},
)


def _print_version(asked: bool) -> None:
    if asked:
        console.print(f"retroprop {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Show retroprop's version and exit (`retroprop info`: its libraries' too).",
        ),
    ] = False,
) -> None:
    """retroprop: multilayer perceptrons trained by backpropagation."""


app.command()(demo)
app.command()(info)
app.command()(train)
app.command()(predict)
app.command()(evaluate)
app.command(cls=ExplainCommand)(explain)
app.command()(search)
app.command()(export)
app.command()(compare)
app.command()(playground)
app.command("import-fann")(import_fann)


def _say(line: str) -> None:
    """One line on stderr, printed as it is (no rich markup or highlighting), any control
    character in it (from a file name or a column name) shown as its escape."""
    err.print(visible(line), highlight=False)


def _click_exit(command: Any, exc: Exception) -> int | None:
    """The exit code of one of click's own exceptions (after printing it), or None.

    typer ships its own copy of click, so click's exceptions are recognised by their interface
    (``format_message``, ``exit_code``) and class name rather than imported; ``command`` is
    the app as a click command.
    """
    kind = type(exc).__name__
    if kind == "NoArgsIsHelpError":  # plain ``retroprop``: the help, and success
        context = typer.Context(command, info_name="retroprop")
        console.print(command.get_help(context), highlight=False)
        return 0
    if kind == "Abort":
        err.print("retroprop: interrupted", highlight=False)
        return 130
    if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # a usage error
        _say(f"retroprop: error: {exc.format_message()}")
        return 2
    return None


_MACHINE_LIMITS = {
    errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS, errno.ENOMEM,
    errno.EMFILE, errno.ENFILE, errno.EACCES, errno.EPERM,
}  # fmt: skip
"""Errors of the machine, not of retroprop: a full disk or quota, no memory, no permission."""


def _machine_limit(exc: OSError) -> str:
    """The line for ``exc``: its file, if it names one (every file retroprop writes does, see
    :func:`~retroprop.files.atomic.atomic_path`); else a write that failed is one to standard
    output, which is then pointed at /dev/null so the interpreter's last flush stays quiet."""
    if exc.filename is not None:
        return f"retroprop: error: {exc.filename}: {exc.strerror}"
    if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO):
        return f"retroprop: error: {exc.strerror}"
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass  # not a real file descriptor (tests capture stdout): nothing is flushed later
    return f"retroprop: error: cannot write to standard output: {exc.strerror}"


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default: the process's arguments) and return the exit code.

    A :class:`~retroprop.errors.RetropropError` is the user's mistake: one line and 2; so is a
    limit of the machine (:class:`MemoryError`, an :class:`OSError` in
    :data:`_MACHINE_LIMITS`). Any other exception is a bug of ours: one line asking for a
    report, and 1.
    """
    command = typer.main.get_command(app)
    args = expand_multi_values(sys.argv[1:] if argv is None else argv)
    try:
        with command_line_spelling():
            command.main(args=args, prog_name="retroprop", standalone_mode=False)
        sys.stdout.flush()  # now, where a full disk is reported, not at the interpreter's exit
    except RetropropError as exc:
        _say(f"retroprop: error: {exc}")
        return 2
    except MemoryError:
        _say(
            "retroprop: error: out of memory: this machine cannot hold what the command needs "
            "(use less data, a smaller network or a smaller batch)"
        )
        return 2
    except KeyboardInterrupt:
        err.print("retroprop: interrupted", highlight=False)
        return 130
    except Interrupted as exc:  # a signal, handled by the command (train saves a checkpoint)
        _say(f"retroprop: {exc}")
        return exc.exit_code
    except Exception as exc:
        if isinstance(exc, OSError) and exc.errno in _MACHINE_LIMITS:
            _say(_machine_limit(exc))
            return 2
        code = _click_exit(command, exc)
        if code is not None:
            return code
        _say(f"retroprop: internal error (a bug — please report it): {type(exc).__name__}: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
