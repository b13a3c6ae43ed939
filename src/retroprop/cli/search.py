"""``retroprop search``: cross-validate architectures on a CSV file, keep the best model.

The command checks the names it is given, runs :func:`retroprop.apps.search.search` behind a
spinner, writes the best model (and the plot and the JSON of every candidate, if asked for) and
prints the ranked table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple, NoReturn

import typer

from retroprop.cli import _options as opt
from retroprop.cli._common import CommandError, choice, console, warnings_on_stderr
from retroprop.cli._data_options import NO_DATA_OPTIONS, DataOptions, with_options
from retroprop.files.atomic import OutputRules, atomic_path, output_rules
from retroprop.views.i18n import command_words

if TYPE_CHECKING:
    from retroprop.apps.search import SearchResult

__all__ = ["print_search", "search"]


HiddenOpt = Annotated[
    list[str] | None,
    opt.values_option(
        "SIZES…",
        'Architectures to compare, each quoted: --hidden "10" "10 5" "32 16" '
        "(0: no hidden layer). [default: 10]",
    ),
]
LearningRateOpt = Annotated[
    list[float] | None, opt.learning_rate_option("η values. [default: 0.01]", metavar="η…")
]
ActivationOpt = Annotated[
    list[str] | None,
    opt.values_option("NAME…", "Hidden activations to try. [default: sigmoid]"),
]
SolverOpt = Annotated[
    list[str] | None,
    opt.values_option("NAME…", "adam, sgd, lbfgs, rprop+, irprop-, … [default: adam]"),
]
ScoringOpt = Annotated[
    str | None, typer.Option(help="scikit-learn scoring name [default: accuracy or r2].")
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(metavar="tcp://HOST:PORT", help="Run the fits on this Dask scheduler."),
]
SchedulerTimeoutOpt = Annotated[
    float,
    typer.Option(
        metavar="SECONDS",
        help="Wait this long for the scheduler to answer (connect, reconnect); at most 3600.",
    ),
]
ResultsOpt = Annotated[
    Path | None, typer.Option(metavar="FILE.json", help="Write every candidate as JSON.")
]
_NO_GRID: dict[str, Any] = {}
"""The default of ``search``'s ``grid`` (typer never sees it; see
:func:`~._data_options.with_options`)."""


def _grid_options(
    hidden: HiddenOpt = None,
    learning_rate: LearningRateOpt = None,
    activation: ActivationOpt = None,
    solver: SolverOpt = None,
    alpha: Annotated[
        list[float] | None, opt.values_option("α…", "L2 penalties to try. [default: 0.0001]")
    ] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the data (at most).")] = 200,
    batch_size: Annotated[str, typer.Option(help="Samples per update, or auto.")] = "32",
    cv: Annotated[int, typer.Option(min=2, help="Cross-validation folds.")] = 5,
    scoring: ScoringOpt = None,
    n_jobs: Annotated[int, typer.Option(help="Parallel fits on this machine; -1: all cores.")] = -1,
    scheduler: SchedulerOpt = None,
    scheduler_timeout: SchedulerTimeoutOpt = 10.0,
    seed: Annotated[int, opt.seed_option("Seed of every fit and of the folds.")] = 0,
) -> dict[str, Any]:
    """The candidates and how they are scored (the group ``search`` takes as ``grid``),
    checked: the keyword arguments of :func:`retroprop.apps.search.search` they set."""
    _check_names(activation or [], solver or [])
    _check_timeout(scheduler_timeout)
    return {
        "hidden": [opt.hidden_sizes([h]) for h in hidden or ["10"]],
        "learning_rate": learning_rate or [0.01],
        "activation": activation or ["sigmoid"],
        "solver": solver or ["adam"],
        "alpha": alpha or [0.0001],
        "epochs": epochs,
        "batch_size": opt.batch_size_value(batch_size, "auto"),
        "cv": cv,
        "scoring": scoring,
        "n_jobs": n_jobs,
        "scheduler": scheduler,
        "scheduler_timeout": scheduler_timeout,
        "seed": seed,
    }


@with_options(grid=_grid_options, data_options=DataOptions.from_options)
def search(
    data: opt.CsvArg,
    target: opt.TargetOpt,
    grid: dict[str, Any] = _NO_GRID,  # --hidden … --seed
    output: Annotated[
        Path | None, opt.output_option("Best model file [default: DATA name].retroprop")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="PNG of score against network size.")] = None,
    results: ResultsOpt = None,
    data_options: DataOptions = NO_DATA_OPTIONS,  # --task … --encoding
    force: opt.ForceOpt = False,
    quiet: Annotated[bool, opt.quiet_option("No progress or table.")] = False,
    lang: opt.LangOpt = None,
) -> None:
    """Find the best architecture by cross-validation and save it as a model file.

    Every combination of --hidden, --learning-rate, --activation, --solver and --alpha is
    scored on --cv folds (scikit-learn's GridSearchCV with retroprop's MLPClassifier or
    MLPRegressor; preprocessing as in train). Prints a ranked table (mean ± std of the score,
    fit times), refits the best on all rows and saves it. With --scheduler the fits run on a
    Dask cluster (pip install 'retroprop[dask]'); a lost worker's fits run again elsewhere, a
    lost scheduler ends the search with exit code 2, the finished candidates printed and
    written to --results.

    Example:

        retroprop search digits.csv --target digit --hidden "10" "10 5" "32 16"
        --learning-rate 0.01 0.1 --cv 5 -o best.retroprop --plot search.png
    """
    T = command_words(opt.lang_value("--lang", lang))
    opt.csv_not_model(data, "retroprop search DATA --target COLUMN")
    output = output or Path(data.with_suffix(".retroprop").name)
    rules = output_rules(force=force, inputs={"DATA": data})
    rules.check({"--output": output, "--plot": plot, "--results": results})
    lost = _Lost(rules, results, quiet, T)
    result = _run_search(data, target, grid, data_options, lost)
    with rules:
        title = f"{data.name}: {result.scoring} against network size"
        _write(result, output, plot, results, title=title)
    if not quiet:
        print_search(result, T)
        say = T["search_best_written"].format(path=output)
        console.print(say, highlight=False, soft_wrap=True)
        if plot is not None:
            console.print(T["plot_written"].format(path=plot), highlight=False, soft_wrap=True)


class _Lost(NamedTuple):
    """What a search lost with its scheduler needs: the output rules, ``--results`` (where
    the finished candidates go), ``--quiet`` and the command-line words of ``--lang``."""

    rules: OutputRules
    results: Path | None
    quiet: bool
    words: dict[str, str]


def _run_search(
    data: Path, target: str, grid: dict[str, Any], options: DataOptions, lost: _Lost
) -> SearchResult:
    """:func:`retroprop.apps.search.search` on the data file behind a spinner; its failures as
    one line each (a lost scheduler's after the finished candidates)."""
    from retroprop.apps.search import ClusterError, SearchLost
    from retroprop.apps.search import search as run_search
    from retroprop.data.fann import read_data

    with warnings_on_stderr(), _quiet_dask_logs(), _progress(lost.quiet, lost.words):
        try:
            table = read_data(data, encoding=options.encoding)
            return run_search(table, target, **grid, **options.preprocessing())
        except ImportError as exc:
            raise CommandError(str(exc)) from None
        except SearchLost as exc:
            with lost.rules:
                _report_lost(exc, lost.results, lost.quiet, lost.words)
        except ClusterError as exc:
            raise CommandError(f"--{exc}") from None


def _check_names(activations: Sequence[str], solvers: Sequence[str]) -> None:
    """Every --activation and --solver is one the estimators take."""
    from retroprop.estimators import HIDDEN_ACTIVATIONS, SOLVERS

    for name in activations:
        choice("--activation", name, tuple(sorted(HIDDEN_ACTIVATIONS)))
    for name in solvers:
        choice("--solver", name, tuple(sorted(SOLVERS)))


def _check_timeout(seconds: float) -> None:
    """--scheduler-timeout is a number of seconds in (0, 3600] (not NaN, not infinite)."""
    from retroprop.apps.search import MAX_CONNECT_TIMEOUT

    if not 0 < seconds <= MAX_CONNECT_TIMEOUT:
        raise CommandError(
            f"--scheduler-timeout: expected seconds in (0, {MAX_CONNECT_TIMEOUT:g}], got {seconds}"
        )


def _write(
    result: SearchResult, output: Path, plot: Path | None, results: Path | None, title: str
) -> None:
    """The best model file; the plot and the JSON of every candidate if asked for."""
    from retroprop.apps.search import plot_search
    from retroprop.files.model_file import save_model

    assert result.model is not None
    try:
        save_model(output, result.model)
        if plot is not None:
            plot_search(result, plot, title=title)
        if results is not None:
            with atomic_path(results) as tmp:
                tmp.write_text(json.dumps(result.to_json(), indent=1) + "\n", encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"{exc.filename}: cannot write ({exc.strerror or exc})") from None


def _report_lost(exc: Any, results: Path | None, quiet: bool, T: dict[str, str]) -> NoReturn:
    """The candidates that finished before the scheduler was lost: their table, and the JSON
    file if asked for; then the error (exit code 2) saying so."""
    partial = exc.partial
    message = f"--{exc}"
    if results is not None and partial.candidates:
        try:
            with atomic_path(results) as tmp:
                tmp.write_text(json.dumps(partial.to_json(), indent=1) + "\n", encoding="utf-8")
        except OSError as err:
            raise CommandError(
                f"{message}; {err.filename}: cannot write ({err.strerror})"
            ) from None
        message += f" (written to {results})"
    if partial.candidates and not quiet:
        print_search(partial, T)
    raise CommandError(f"{message}; no model written") from None


@contextmanager
def _quiet_dask_logs() -> Iterator[None]:
    """dask's own log lines (lost connections, reconnect attempts, tracebacks) off stderr while
    the search runs: the command reports what they mean in its one line."""
    import logging

    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(previous)


@contextmanager
def _progress(quiet: bool, T: dict[str, str]) -> Iterator[Any]:
    """A spinner with the elapsed time while the fits run (off if quiet or not a terminal)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn(T["search_progress"]),
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


def print_search(result: SearchResult, T: dict[str, str] | None = None) -> None:
    """The ranked table of a :class:`~retroprop.apps.search.SearchResult`, settings above it, in
    the language of the command-line words ``T`` (English by default)."""
    from rich.table import Table as RichTable

    from retroprop.apps.search import SHORT_NAMES, varied_params

    T = T or command_words("en")
    cands = result.candidates
    varied = varied_params(cands)
    console.print(_search_header(result, varied, T), highlight=False, soft_wrap=True)
    table = RichTable(title=T["search_title"], title_justify="left")
    for key in ("search_rank", "search_hidden", "search_parameters"):
        table.add_column(T[key], justify="left" if key == "search_hidden" else "right")
    for k in varied:
        table.add_column(SHORT_NAMES.get(k, k), justify="right")
    table.add_column(T["search_score"].format(scoring=result.scoring), justify="right")
    table.add_column(T["search_fit_time"], justify="right")
    for c in cands:
        failed = c.mean_score != c.mean_score
        score = T["search_failed"] if failed else f"{c.mean_score:.4f} ± {c.std_score:.4f}"
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


def _search_header(result: SearchResult, varied: Sequence[str], T: dict[str, str]) -> str:
    """The line above the table: candidates, folds, fits, task, where, time, fixed settings."""
    from retroprop.apps.search import SHORT_NAMES

    cands = result.candidates
    fixed = ", ".join(
        f"{SHORT_NAMES.get(k, k)} {_fmt_param(v)}"
        for k, v in cands[0].params.items()
        if k != "hidden_layer_sizes" and k not in varied
    )
    total = len(cands) + result.unfinished
    finished = T["search_finished"].format(total=total) if result.unfinished else ""
    return T["search_header"].format(
        n=len(cands), finished=finished, cv=result.cv, fits=len(cands) * result.cv,
        task=T.get(result.task, result.task), backend=result.backend, seconds=result.seconds,
        fixed=fixed,
    )  # fmt: skip
