"""``retroprop demo``: the lecture's digits network, trained online, with its learning curve.

The command checks its options, trains :func:`retroprop.apps.demo.run_demo` behind a progress
bar with one line per epoch, prints the test accuracy and the confusion matrix, and writes the
learning curve as a PNG.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from retroprop.cli._common import CommandError, console
from retroprop.cli._options import (
    ForceOpt,
    LangOpt,
    lang_value,
    learning_rate_option,
    quiet_option,
    seed_option,
)
from retroprop.cli._render import loss_text
from retroprop.files.atomic import output_rules
from retroprop.views.i18n import command_words

if TYPE_CHECKING:
    from retroprop.apps.demo import DemoResult
    from retroprop.train.loop import Callback

__all__ = ["demo"]


def demo(
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the training set.")] = 50,
    learning_rate: Annotated[float, learning_rate_option("η of the delta rule (> 0).")] = 0.3,
    seed: Annotated[int, seed_option("Seed of the initial weights and sample order.")] = 0,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Folder for the learning-curve PNG.")
    ] = Path("."),
    force: ForceOpt = False,
    quiet: Annotated[bool, quiet_option("No progress bar or epoch lines.")] = False,
    lang: LangOpt = None,
) -> None:
    """Train the lecture's network on handwritten digits and show how it learns.

    The network has 64 inputs (8×8 pixels), hidden layers of 10 and 5 sigmoid neurons and 10
    sigmoid outputs; it learns with per-sample squared error E = ½ Σ (y − o)² and online
    updates Δw = η δ x after every sample. Data: scikit-learn's bundled digits, scaled to
    [0, 1], a fixed stratified split (80 % training, of which 10 % validation; 20 % test).
    The PNG replaces a learning_curve.png that retroprop drew (run it again in the same
    folder); any other file of that name only with --force.

    Example:

        retroprop demo --epochs 30 --learning-rate 0.5 --seed 1 -o results/

        retroprop demo --lang es
    """
    from retroprop.apps.demo import HIDDEN, run_demo

    lang = lang_value("--lang", lang)
    T = command_words(lang)
    _check_options(learning_rate, output_dir)
    rules = output_rules(force=force)
    rules.check({"--output-dir": output_dir / "learning_curve.png"})
    hidden = " → ".join(map(str, HIDDEN))
    console.print(
        T["demo_header"].format(hidden=hidden, eta=learning_rate, epochs=epochs, seed=seed),
        soft_wrap=True,
        markup=True,
    )
    with _epoch_progress(epochs, quiet, T) as report:
        result = run_demo(epochs, learning_rate, seed, callbacks=[report])
    _print_result(result, T)
    with rules:
        _write_learning_curve(result, output_dir, T, lang)


def _check_options(learning_rate: float, output_dir: Path) -> None:
    """A positive η and an output folder that is a folder (or does not exist yet)."""
    if not learning_rate > 0:
        raise CommandError(f"--learning-rate must be a positive number, got {learning_rate}")
    if output_dir.exists() and not output_dir.is_dir():
        raise CommandError(f"--output-dir {output_dir}: exists and is not a folder")


@contextmanager
def _epoch_progress(epochs: int, quiet: bool, T: dict[str, str]) -> Iterator[Callback]:
    """A callback driving a progress bar with the training MSE and printing one line per epoch
    (train MSE, validation MSE and accuracy); silent if ``quiet``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from retroprop.cli._render import CompileNotice
    from retroprop.train.loop import Logs

    progress = Progress(
        TextColumn(T["training"]),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(T["mse"] + " {task.fields[mse]}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet or not console.is_terminal,
    )
    task = progress.add_task("train", total=epochs, mse="…")

    class Report(CompileNotice):
        def on_epoch_end(self, epoch: int, logs: Logs) -> bool | None:
            super().on_epoch_end(epoch, logs)
            progress.update(task, advance=1, mse=loss_text(logs["mse"]))
            if not quiet:
                progress.console.print(
                    T["demo_epoch"].format(
                        epoch=epoch,
                        epochs=epochs,
                        mse=logs["mse"],
                        val_mse=logs["val_mse"],
                        val_accuracy=logs["val_accuracy"],
                    ),
                    highlight=False,
                    soft_wrap=True,
                )
            return None

    def say(text: str) -> None:
        if not quiet:
            progress.console.print(text, style="dim", highlight=False, soft_wrap=True)

    with progress:
        yield Report(say, text=T["compiling"])


def _print_result(result: DemoResult, T: dict[str, str]) -> None:
    """The sizes of the split, the epoch kept, the test accuracy and the confusion matrix."""
    from retroprop.cli._render import confusion_table

    console.print(
        T["demo_result"].format(**vars(result), accuracy=result.test_accuracy),
        soft_wrap=True,
        markup=True,
    )
    title = T["demo_confusion"]
    console.print(confusion_table(title, range(10), result.confusion, title_justify="center"))


def _write_learning_curve(
    result: DemoResult, output_dir: Path, T: dict[str, str], lang: str
) -> None:
    """``learning_curve.png`` in ``output_dir``: training and validation MSE per epoch, its
    axes in ``lang``."""
    from retroprop.views.plots import plot_learning_curve

    try:
        png = plot_learning_curve(
            result.history, output_dir / "learning_curve.png", T["demo_curve_title"], lang
        )
    except OSError as exc:
        raise CommandError(
            f"--output-dir {output_dir}: cannot write the plot ({exc.strerror})"
        ) from None
    console.print(T["demo_curve_written"].format(path=png.resolve()), soft_wrap=True)
