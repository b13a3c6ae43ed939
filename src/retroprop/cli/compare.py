"""``retroprop compare``: several training algorithms on one CSV file, side by side.

The table and the plot come from :mod:`retroprop.apps.compare_view`; the runs from
:func:`retroprop.apps.compare.compare` (same architecture, same initial weights, same wall-time
budget for every run). Preprocessing is fitted on the training rows only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from retroprop.apps.compare import MODES, SOLVERS
from retroprop.cli._common import CommandError, choice, console, warnings_on_stderr
from retroprop.train.registry import TRAINERS as OPTIMIZERS  # step rules and solvers

__all__ = ["compare"]


def compare(
    data: Annotated[
        Path,
        typer.Argument(metavar="DATA", help="CSV file.", exists=True, dir_okay=False),
    ],
    target: Annotated[str, typer.Option("--target", "-t", help="Column to predict.")],
    solvers: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME…",
            help="Algorithms, e.g. --solvers sgd rprop genetic [default: sgd momentum rprop "
            "adam lbfgs genetic; none when only --modes is given].",
        ),
    ] = None,
    hidden: Annotated[
        list[int] | None,
        typer.Option(metavar="N…", help="Neurons per hidden layer. [default: 10 5]"),
    ] = None,
    budget_seconds: Annotated[
        float, typer.Option(min=0.001, help="Wall time of each run, in seconds.")
    ] = 30.0,
    modes: Annotated[
        list[str] | None,
        typer.Option(
            metavar="MODE…",
            help="Also train --mode-solver online (batch size 1), minibatch "
            "(--minibatch-size) and/or batch (the whole training set).",
        ),
    ] = None,
    mode_solver: Annotated[str, typer.Option(help="Optimizer of the --modes runs.")] = "sgd",
    minibatch_size: Annotated[int, typer.Option(min=1, help="k of the minibatch mode.")] = 32,
    test_fraction: Annotated[
        float, typer.Option(min=0.0, max=0.9, help="Rows held out for testing.")
    ] = 0.2,
    target_loss: Annotated[
        float | None, typer.Option(help="Report the time until the training loss gets here.")
    ] = None,
    target_accuracy: Annotated[
        float | None,
        typer.Option(help="Report the time until the training accuracy gets here."),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of weights, split, order, GA.")] = 0,
    plot: Annotated[
        Path, typer.Option("--plot", "-o", help="PNG of loss against time and epochs.")
    ] = Path("compare.png"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Train one network with several algorithms from the same initial weights and compare.

    Every run gets the same architecture (sigmoid layers, the lecture's squared error), the same
    initial weights and the same wall-time budget. The table shows the final loss and accuracy
    on the training and the held-out rows, the epochs (iterations for lbfgs, generations for
    genetic), the weight updates, the wall time and the time to reach --target-loss (or
    --target-accuracy); the PNG shows the loss against time and against epochs.

    Example:

        retroprop compare iris.csv --target species --solvers sgd rprop genetic --hidden 10 5

        retroprop compare digits.csv --target digit --budget-seconds 10 --target-accuracy 0.9

        retroprop compare iris.csv --target species --modes online minibatch batch
    """
    from rich import box
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.table import Table as RichTable
    from sklearn.model_selection import train_test_split

    from retroprop.apps.compare import compare as run_comparison
    from retroprop.apps.compare_view import (
        TABLE_COLUMNS,
        format_table,
        plot_comparison,
        table_rows,
    )
    from retroprop.data.preprocessing import Preprocessor
    from retroprop.data.tabular import read_csv

    chosen = [choice("--solvers", s.lower(), tuple(OPTIMIZERS)) for s in solvers or []]
    if not chosen and not modes:
        chosen = list(SOLVERS)
    chosen_modes = [choice("--modes", m, MODES) for m in modes or []]
    choice("--mode-solver", mode_solver.lower(), tuple(OPTIMIZERS))
    if any(h < 1 for h in hidden or []):
        raise CommandError(f"--hidden: layer sizes must be positive, got {hidden}")
    if plot.is_dir():
        raise CommandError(f"--plot {plot}: is a folder; give a file name such as compare.png")
    with warnings_on_stderr():
        table = read_csv(data)
        prep, rows = Preprocessor.fit(table, target)
        classify = prep.target.kind == "classification"
        train_rows, test_rows = rows, rows[:0]
        if test_fraction > 0:
            labels = prep.class_index(table, rows) if classify else None
            try:
                train_rows, test_rows = train_test_split(
                    rows, test_size=test_fraction, random_state=seed, stratify=labels
                )
            except ValueError as exc:  # e.g. a class with a single row
                raise CommandError(f"--test-fraction {test_fraction}: {exc}") from None
        train = table.take(train_rows)
        prep, rows = Preprocessor.fit(train, target)  # refitted on the training rows only
        X, Y = prep.transform(train, rows), prep.encode_target(train, rows)
        X_test = Y_test = None
        if len(test_rows):
            test = table.take(test_rows)
            X_test, Y_test = prep.transform(test), prep.encode_target(test)
    n_runs = len(chosen) + len(chosen_modes)
    progress = Progress(
        TextColumn("{task.fields[run]:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(f"{budget_seconds:g} s per run"),
        console=console,
        disable=quiet or not console.is_terminal,
    )
    task = progress.add_task("compare", total=n_runs, run="")
    started: list[str] = []

    def on_run(label: str) -> None:
        progress.update(task, completed=len(started), run=label)
        started.append(label)

    with progress:
        result = run_comparison(
            X,
            Y,
            hidden=tuple(hidden) if hidden else (10, 5),
            solvers=chosen,
            budget_seconds=budget_seconds,
            X_test=X_test,
            Y_test=Y_test,
            target_loss=target_loss,
            target_accuracy=target_accuracy,
            seed=seed,
            output_activation=None if classify else "identity",
            modes=chosen_modes,
            mode_solver=mode_solver.lower(),
            minibatch_size=minibatch_size,
            on_run=on_run,
        )
        progress.update(task, completed=n_runs)
    titles = {"solvers": "Training algorithms", "modes": f"Update modes of {mode_solver}"}
    for part, title in titles.items():
        rows_of_part = table_rows(result, part)
        if not rows_of_part:
            continue
        title = f"{title}: {result.network}"
        if not console.is_terminal:  # a pipe or a file: plain text, never cut to 80 columns
            console.print(f"{title}\n{format_table(result, part)}\n", soft_wrap=True, markup=False)
            continue
        out = RichTable(title=title, box=box.SIMPLE_HEAD)
        if console.width >= 120:  # one row per run
            for c, name in enumerate(TABLE_COLUMNS):
                out.add_column(name, justify="left" if c == 0 else "right")
            for row in rows_of_part:
                out.add_row(*row)
        else:  # a narrow terminal: one column per run
            out.add_column("")
            for row in rows_of_part:
                out.add_column(row[0], justify="right")
            for c, name in enumerate(TABLE_COLUMNS[1:], start=1):
                out.add_row(name, *(row[c] for row in rows_of_part))
        console.print(out)
    console.print(
        f"{len(X)} training rows, {len(test_rows)} test rows; every run started from the same "
        f"weights (training loss {result.start_loss:.4g}). Loss: mean over the rows of "
        f"E = ½ Σ (y − o)²{'' if classify else ' of the standardised target'}. Epochs are "
        "iterations for lbfgs and generations for genetic.",
        highlight=False,
    )
    try:
        png = plot_comparison(result, plot)
    except OSError as exc:
        raise CommandError(f"--plot {plot}: cannot write the plot ({exc.strerror})") from None
    console.print(f"Plot written to {png.resolve()}", highlight=False, soft_wrap=True)
