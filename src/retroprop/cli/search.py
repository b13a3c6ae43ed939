"""``retroprop search``: cross-validate architectures on a CSV file, keep the best model."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from retroprop.cli._common import CommandError, choice, console, warnings_on_stderr
from retroprop.cli._options import (
    CategoricalOpt,
    DropMissingOpt,
    IgnoreOpt,
    ImputeOpt,
    TaskOpt,
    missing_policy,
)
from retroprop.files.atomic import atomic_path

__all__ = ["print_search", "search"]


def _batch_size(value: str) -> int | str:
    if value == "auto":
        return value
    if not value.isdigit() or int(value) < 1:
        raise CommandError(f"--batch-size: expected a positive integer or 'auto', got {value!r}")
    return int(value)


def search(
    data: Annotated[
        Path, typer.Argument(metavar="DATA", help="CSV file.", exists=True, dir_okay=False)
    ],
    target: Annotated[str, typer.Option("--target", "-t", help="Column to predict.")],
    hidden: Annotated[
        list[str] | None,
        typer.Option(
            metavar="SIZES…",
            help='Architectures to compare, each quoted: --hidden "10" "10 5" "32 16" '
            "(0: no hidden layer). [default: 10]",
        ),
    ] = None,
    learning_rate: Annotated[
        list[float] | None,
        typer.Option("--learning-rate", "--lr", metavar="η…", help="η values. [default: 0.01]"),
    ] = None,
    activation: Annotated[
        list[str] | None,
        typer.Option(metavar="NAME…", help="Hidden activations to try. [default: sigmoid]"),
    ] = None,
    solver: Annotated[
        list[str] | None,
        typer.Option(metavar="NAME…", help="adam, sgd, lbfgs, rprop+, irprop-, … [default: adam]"),
    ] = None,
    alpha: Annotated[
        list[float] | None,
        typer.Option(metavar="α…", help="L2 penalties to try. [default: 0.0001]"),
    ] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the data (at most).")] = 200,
    batch_size: Annotated[str, typer.Option(help="Samples per update, or auto.")] = "32",
    cv: Annotated[int, typer.Option(min=2, help="Cross-validation folds.")] = 5,
    scoring: Annotated[
        str | None,
        typer.Option(help="scikit-learn scoring name [default: accuracy or r2]."),
    ] = None,
    n_jobs: Annotated[int, typer.Option(help="Parallel fits on this machine; -1: all cores.")] = -1,
    scheduler: Annotated[
        str | None,
        typer.Option(metavar="tcp://HOST:PORT", help="Run the fits on this Dask scheduler."),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of every fit and of the folds.")] = 0,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Best model file [default: DATA name].retroprop"),
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="PNG of score against network size.")] = None,
    results: Annotated[
        Path | None, typer.Option(metavar="FILE.json", help="Write every candidate as JSON.")
    ] = None,
    task: TaskOpt = "auto",
    drop_missing: DropMissingOpt = False,
    impute: ImputeOpt = None,
    categorical: CategoricalOpt = None,
    ignore: IgnoreOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or table.")] = False,
) -> None:
    """Find the best architecture by cross-validation and save it as a model file.

    Every combination of --hidden, --learning-rate, --activation, --solver and --alpha is
    scored on --cv folds (scikit-learn's GridSearchCV with retroprop's MLPClassifier or
    MLPRegressor; preprocessing as in train). Prints a ranked table (mean ± std of the score,
    fit times), refits the best on all rows and saves it. With --scheduler the fits run on a
    Dask cluster (pip install 'retroprop[dask]').

    Example:

        retroprop search digits.csv --target digit --hidden "10" "10 5" "32 16"
        --learning-rate 0.01 0.1 --cv 5 -o best.retroprop --plot search.png
    """
    from retroprop.apps.search import plot_search
    from retroprop.apps.search import search as run_search
    from retroprop.cli.train import _hidden
    from retroprop.estimators._base import HIDDEN_ACTIVATIONS, _solver_names
    from retroprop.files.model_file import save_model

    missing = missing_policy(drop_missing, impute)
    for name in activation or []:
        choice("--activation", name, tuple(sorted(HIDDEN_ACTIVATIONS)))
    for name in solver or []:
        choice("--solver", name, tuple(sorted(_solver_names())))
    output = output or Path(data.with_suffix(".retroprop").name)
    with warnings_on_stderr(), _progress(quiet):
        try:
            result = run_search(
                data,
                target,
                [_hidden([h]) for h in hidden or ["10"]],
                learning_rate=learning_rate or [0.01],
                activation=activation or ["sigmoid"],
                solver=solver or ["adam"],
                alpha=alpha or [0.0001],
                epochs=epochs,
                batch_size=_batch_size(batch_size),  # type: ignore[arg-type]
                cv=cv,
                scoring=scoring,
                n_jobs=n_jobs,
                scheduler=scheduler,
                seed=seed,
                task=choice("--task", task, ("auto", "classification", "regression")),  # type: ignore[arg-type]
                categorical=categorical or (),
                ignore=ignore or (),
                missing=missing,
            )
        except ImportError as exc:
            raise CommandError(str(exc)) from None
    assert result.model is not None
    try:
        save_model(output, result.model)
        if plot is not None:
            plot_search(result, plot, title=f"{data.name}: {result.scoring} against network size")
        if results is not None:
            with atomic_path(results) as tmp:
                tmp.write_text(json.dumps(result.to_json(), indent=1) + "\n", encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"{exc.filename}: cannot write ({exc.strerror or exc})") from None
    if not quiet:
        print_search(result)
        console.print(f"Best model written to {output}", highlight=False, soft_wrap=True)
        if plot is not None:
            console.print(f"Plot written to {plot}", highlight=False, soft_wrap=True)


@contextmanager
def _progress(quiet: bool) -> Iterator[Any]:
    """A spinner with the elapsed time while the fits run (off if quiet or not a terminal)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn("cross-validating"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet or not console.is_terminal,
    )
    progress.add_task("search", total=None)
    with progress:
        yield progress


def _fmt_param(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return " ".join(map(str, value)) or "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def print_search(result: Any) -> None:
    """The ranked table of a :class:`~retroprop.apps.search.SearchResult`, settings above it."""
    from rich.table import Table as RichTable

    from retroprop.apps.search import SHORT_NAMES

    cands: Sequence[Any] = result.candidates
    names = [k for k in cands[0].params if k != "hidden_layer_sizes"]
    varied = [k for k in names if len({repr(c.params[k]) for c in cands}) > 1]
    fixed = ", ".join(
        f"{SHORT_NAMES.get(k, k)} {_fmt_param(cands[0].params[k])}"
        for k in names
        if k not in varied
    )
    n_fits = len(cands) * result.cv
    console.print(
        f"{len(cands)} candidates × {result.cv} folds = {n_fits} fits ({result.task}, "
        f"{result.backend}) in {result.seconds:.1f} s; {fixed}",
        highlight=False,
        soft_wrap=True,
    )
    table = RichTable(title="Cross-validated search, best first", title_justify="left")
    for name in ("rank", "hidden", "parameters", *(SHORT_NAMES.get(k, k) for k in varied)):
        table.add_column(name, justify="right" if name != "hidden" else "left")
    table.add_column(f"{result.scoring} (mean ± std)", justify="right")
    table.add_column("fit time (s)", justify="right")
    for c in cands:
        score = (
            "failed" if c.mean_score != c.mean_score else f"{c.mean_score:.4f} ± {c.std_score:.4f}"
        )
        table.add_row(
            str(c.rank),
            _fmt_param(c.hidden),
            str(c.n_parameters),
            *(_fmt_param(c.params[k]) for k in varied),
            score,
            f"{c.mean_fit_time:.2f} ± {c.std_fit_time:.2f}",
            style="bold green" if c is cands[0] else None,
        )
    console.print(table, highlight=False)
