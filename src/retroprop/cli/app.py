"""The ``retroprop`` command: a thin typer + rich layer over the library.

Bad input prints one line on stderr and exits with code 2; an internal failure exits with 1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from retroprop import __version__
from retroprop.cli._common import Interrupted
from retroprop.cli._values import expand_multi_values
from retroprop.cli.apply import evaluate, predict
from retroprop.cli.compare import compare
from retroprop.cli.explain import ExplainCommand, explain
from retroprop.cli.export import export
from retroprop.cli.search import search
from retroprop.cli.train import train

app = typer.Typer(
    name="retroprop",
    help="Multilayer perceptrons trained by backpropagation, as the lecture explains them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
console = Console()
err = Console(stderr=True, soft_wrap=True)


class UserError(Exception):
    """Bad input from the user: reported in one line, exit code 2."""


@app.callback()
def _root() -> None:
    """retroprop: multilayer perceptrons trained by backpropagation."""


@app.command()
def demo(
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the training set.")] = 50,
    learning_rate: Annotated[
        float, typer.Option("--learning-rate", "--lr", help="η of the delta rule (> 0).")
    ] = 0.3,
    seed: Annotated[
        int, typer.Option(min=0, help="Seed of the initial weights and sample order.")
    ] = 0,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Folder for the learning-curve PNG.")
    ] = Path("."),
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar or epoch lines.")
    ] = False,
) -> None:
    """Train the lecture's network on handwritten digits and show how it learns.

    The network has 64 inputs (8×8 pixels), hidden layers of 10 and 5 sigmoid neurons and 10
    sigmoid outputs; it learns with per-sample squared error E = ½ Σ (y − o)² and online
    updates Δw = η δ x after every sample. Data: scikit-learn's bundled digits, scaled to
    [0, 1], a fixed stratified split (80 % training, of which 10 % validation; 20 % test).

    Example:

        retroprop demo --epochs 30 --learning-rate 0.5 --seed 1 -o results/
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from retroprop.apps.demo import HIDDEN, run_demo
    from retroprop.cli._render import CompileNotice
    from retroprop.train.loop import Logs
    from retroprop.views.plots import plot_learning_curve

    if not learning_rate > 0:
        raise UserError(f"--learning-rate must be a positive number, got {learning_rate}")
    if output_dir.exists() and not output_dir.is_dir():
        raise UserError(f"--output-dir {output_dir}: exists and is not a folder")
    console.print(
        f"[bold]retroprop demo[/]: 64 → {' → '.join(map(str, HIDDEN))} → 10 sigmoid, "
        f"squared error, online updates, η = {learning_rate}, {epochs} epochs, seed {seed}",
        soft_wrap=True,
    )
    progress = Progress(
        TextColumn("training"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("MSE {task.fields[mse]}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet or not console.is_terminal,
    )
    task = progress.add_task("train", total=epochs, mse="…")

    class Report(CompileNotice):
        def on_epoch_end(self, epoch: int, logs: Logs) -> bool | None:
            super().on_epoch_end(epoch, logs)
            progress.update(task, advance=1, mse=f"{logs['mse']:.4f}")
            if not quiet:
                progress.console.print(
                    f"epoch {epoch:>3}/{epochs}  train MSE {logs['mse']:.5f}  "
                    f"validation MSE {logs['val_mse']:.5f}  validation accuracy "
                    f"{logs['val_accuracy']:.3f}",
                    highlight=False,
                    soft_wrap=True,
                )
            return None

    def say(text: str) -> None:
        if not quiet:
            progress.console.print(text, style="dim", highlight=False, soft_wrap=True)

    with progress:
        result = run_demo(epochs, learning_rate, seed, callbacks=[Report(say)])

    console.print(
        f"\nTrained on {result.n_train} images ({result.n_validation} validation) in "
        f"{result.seconds:.1f} s; kept the weights of epoch {result.best_epoch} (lowest "
        f"validation MSE). [bold]Test accuracy: {result.test_accuracy:.3f}[/] on "
        f"{result.n_test} unseen images.",
        soft_wrap=True,
    )
    table = Table(title="Confusion matrix (rows: true digit, columns: predicted)")
    table.add_column("", style="bold")
    for d in range(10):
        table.add_column(str(d), justify="right")
    for t in range(10):
        cells = [
            f"[green]{n}[/]" if t == p else (f"[red]{n}[/]" if n else "·")
            for p, n in enumerate(result.confusion[t])
        ]
        table.add_row(str(t), *cells)
    console.print(table)
    try:
        png = plot_learning_curve(
            result.history, output_dir / "learning_curve.png", title="Digits 64-10-5-10, online"
        )
    except OSError as exc:
        raise UserError(
            f"--output-dir {output_dir}: cannot write the plot ({exc.strerror})"
        ) from None
    console.print(f"Learning curve written to {png.resolve()}", soft_wrap=True)


@app.command()
def info(
    model: Annotated[
        Path | None,
        typer.Argument(
            metavar="MODEL", help="A model file to describe.", exists=True, dir_okay=False
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Describe the model as JSON.")] = False,
) -> None:
    """Show the versions of retroprop and its libraries, or what a model file holds.

    With MODEL: architecture, preprocessing, training settings, metrics, the SHA-256 of the
    training data and the library versions it was trained with.

    Example:

        retroprop info iris.retroprop
    """
    if model is not None:
        from retroprop.cli.show import show_model

        show_model(model, as_json)
        return
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    libs = ", ".join(
        f"{name} {installed(name)}"
        for name in ("numpy", "scipy", "scikit-learn", "numba", "matplotlib", "rich", "typer")
    )
    console.print(f"retroprop {__version__} ({libs}; Python {sys.version.split()[0]})")


app.command()(train)
app.command()(predict)
app.command()(evaluate)
app.command(cls=ExplainCommand)(explain)
app.command()(search)
app.command()(export)
app.command()(compare)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning bad input into one line on stderr and exit code 2."""
    command = typer.main.get_command(app)
    args = expand_multi_values(sys.argv[1:] if argv is None else argv)
    try:
        command.main(args=args, prog_name="retroprop", standalone_mode=False)
    except (UserError, ValueError) as exc:
        err.print(f"retroprop: error: {exc}", highlight=False, markup=False)
        return 2
    except KeyboardInterrupt:
        err.print("retroprop: interrupted", highlight=False)
        return 130
    except Interrupted as exc:  # a signal, handled by the command (train saves a checkpoint)
        err.print(f"retroprop: {exc}", highlight=False, markup=False)
        return exc.exit_code
    except Exception as exc:
        # typer ships its own copy of click, so click's exceptions are recognised by their
        # interface (format_message, exit_code) rather than imported.
        kind = type(exc).__name__
        if kind == "NoArgsIsHelpError":
            console.print(
                command.get_help(typer.Context(command, info_name="retroprop")), highlight=False
            )
            return 0
        if kind == "Abort":
            err.print("retroprop: interrupted", highlight=False)
            return 130
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            err.print(f"retroprop: error: {exc.format_message()}", highlight=False, markup=False)
            return 2
        err.print(f"retroprop: internal error: {kind}: {exc}", highlight=False, markup=False)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
