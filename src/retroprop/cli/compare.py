"""``retroprop compare``: several training algorithms on one CSV file, side by side.

The table and the plot come from :mod:`retroprop.apps.compare_view`; the runs from
:func:`retroprop.apps.compare.compare` (same architecture, same initial weights, same wall-time
budget for every run). The data options are ``train``'s (``--task``, ``--drop-missing``,
``--impute``, ``--categorical``, ``--ignore``, ``--encoding``: one group,
:class:`~._data_options.DataOptions`), applied the same way; preprocessing is fitted on the
training rows only.

The command checks its options, reads and splits the CSV file, runs every solver (and update
mode) behind a progress bar, prints the tables and a note on what they show, and writes the plot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import typer

from retroprop.apps.compare import MODES, SOLVERS, ComparisonResult
from retroprop.cli._common import CommandError, choice, console, warnings_on_stderr
from retroprop.cli._data_options import NO_DATA_OPTIONS, DataOptions, with_options
from retroprop.cli._options import (
    CsvArg,
    ForceOpt,
    LangOpt,
    OptionalTargetOpt,
    csv_not_model,
    declared_target,
    lang_value,
    quiet_option,
    seed_option,
    values_option,
)
from retroprop.files.atomic import output_rules
from retroprop.train.registry import TRAINERS as OPTIMIZERS  # step rules and solvers
from retroprop.views.i18n import command_words

__all__ = ["compare"]


SolversOpt = Annotated[
    list[str] | None,
    values_option(
        "NAME…",
        "Algorithms, e.g. --solvers sgd rprop genetic [default: sgd momentum rprop "
        "adam lbfgs genetic; none when only --modes is given].",
    ),
]
HiddenOpt = Annotated[
    list[int] | None, values_option("N…", "Neurons per hidden layer. [default: 10 5]")
]
BudgetOpt = Annotated[float, typer.Option(min=0.001, help="Wall time of each run, in seconds.")]
ModesOpt = Annotated[
    list[str] | None,
    values_option(
        "MODE…",
        "Also train --mode-solver online (batch size 1), minibatch "
        "(--minibatch-size) and/or batch (the whole training set).",
    ),
]
TestFractionOpt = Annotated[
    float, typer.Option(min=0.0, max=0.9, help="Rows held out for testing.")
]
TargetLossOpt = Annotated[
    float | None, typer.Option(help="Report the time until the training loss gets here.")
]
TargetAccuracyOpt = Annotated[
    float | None, typer.Option(help="Report the time until the training accuracy gets here.")
]
PlotOpt = Annotated[Path, typer.Option("--plot", "-o", help="PNG of loss against time and epochs.")]
GrowOpt = Annotated[
    bool,
    typer.Option(
        "--grow",
        help="Also grow a network by cascade-correlation (FANN's Cascade2): its error against "
        "the number of hidden neurons.",
    ),
]
MaxHiddenOpt = Annotated[
    int | None,
    typer.Option(min=0, max=100_000, metavar="N", help="With --grow: most neurons. [default: 30]"),
]


class _Data(NamedTuple):
    """The encoded training rows and the held-out test rows (None without a test set);
    ``decode`` maps targets and outputs back to the target's units."""

    X: Any
    Y: Any
    X_test: Any
    Y_test: Any
    classify: bool
    decode: Callable[[Any], Any]


@with_options(data_options=DataOptions.from_options)
def compare(
    data: CsvArg,
    target: OptionalTargetOpt = None,
    solvers: SolversOpt = None,
    hidden: HiddenOpt = None,
    budget_seconds: BudgetOpt = 30.0,
    modes: ModesOpt = None,
    mode_solver: Annotated[str, typer.Option(help="Optimizer of the --modes runs.")] = "sgd",
    minibatch_size: Annotated[int, typer.Option(min=1, help="k of the minibatch mode.")] = 32,
    test_fraction: TestFractionOpt = 0.2,
    data_options: DataOptions = NO_DATA_OPTIONS,  # --task … --encoding
    target_loss: TargetLossOpt = None,
    target_accuracy: TargetAccuracyOpt = None,
    seed: Annotated[int, seed_option("Seed of weights, split, order, GA.")] = 0,
    plot: PlotOpt = Path("compare.png"),
    grow: GrowOpt = False,
    max_hidden: MaxHiddenOpt = None,
    force: ForceOpt = False,
    quiet: Annotated[bool, quiet_option("No progress bar.")] = False,
    lang: LangOpt = None,
) -> None:
    """Train one network with several algorithms from the same initial weights and compare.

    Every run gets the same architecture (sigmoid layers, the lecture's squared error), the same
    initial weights and the same wall-time budget. The table shows the final loss and accuracy
    on the training and the held-out rows, the epochs (iterations for lbfgs, generations for
    genetic), the weight updates, the wall time and the time to reach --target-loss (or
    --target-accuracy); for regression R² and the mean absolute error instead of the
    accuracy. The PNG shows the loss against time and against epochs. Compiling happens
    before a run's clock starts; the data options are train's. --grow adds a network grown by
    cascade-correlation within the same budget: a table and a plot of its training and test
    error against the number of hidden neurons.

    Example:

        retroprop compare iris.csv --target species --solvers sgd rprop genetic --hidden 10 5

        retroprop compare digits.csv --target digit --budget-seconds 10 --target-accuracy 0.9

        retroprop compare iris.csv --target species --modes online minibatch batch

        retroprop compare penguins.csv --target species --impute mean --ignore id

        retroprop compare parity8.train --grow --solvers rprop --hidden 8
    """
    lang = lang_value("--lang", lang)
    runs = _runs(solvers, modes, mode_solver, minibatch_size, hidden, (grow, max_hidden))
    if plot.is_dir():
        raise CommandError(f"--plot {plot}: is a folder; give a file name such as compare.png")
    rules = output_rules(force=force, inputs={"DATA": data})
    rules.check({"--plot": plot})  # a PNG drawn by retroprop is replaced without --force
    csv_not_model(data, "retroprop compare DATA --target COLUMN")
    rows = _read(data, target, test_fraction, seed, data_options)
    goals = _Goals(budget_seconds, target_loss, target_accuracy)
    result = _run_all(rows, runs, goals, seed, (quiet, lang))
    _print_tables(result, mode_solver, lang)
    _print_note(result, rows, lang)
    with rules:
        _write_plot(result, plot, lang)


class _Runs(NamedTuple):
    """The runs to compare, checked: the solvers; the update modes, their optimizer and the
    k of the minibatch mode; the hidden layers of every run; whether to grow a cascade network
    too, and its most neurons."""

    solvers: list[str]
    modes: list[str]
    mode_solver: str
    minibatch_size: int
    hidden: tuple[int, ...]
    grow: bool = False
    max_hidden: int = 30


class _Goals(NamedTuple):
    """Each run's wall-time budget, and the loss and accuracy whose time is reported."""

    budget_seconds: float
    target_loss: float | None
    target_accuracy: float | None


def _runs(
    solvers: list[str] | None,
    modes: list[str] | None,
    mode_solver: str,
    minibatch_size: int,
    hidden: list[int] | None,
    growth: tuple[bool, int | None] = (False, None),
) -> _Runs:
    """The solvers and the modes to run, checked against the registries (the default solvers
    when neither is given); ``--mode-solver``, ``--hidden`` and (``growth``) ``--grow``
    ``--max-hidden`` checked too."""
    grow, max_hidden = growth
    if max_hidden is not None and not grow:
        raise CommandError("--max-hidden: only with --grow (cascade-correlation)")
    chosen = [choice("--solvers", s.lower(), tuple(OPTIMIZERS)) for s in solvers or []]
    if not chosen and not modes:
        chosen = list(SOLVERS)
    chosen_modes = [choice("--modes", m, MODES) for m in modes or []]
    mode_solver = choice("--mode-solver", mode_solver.lower(), tuple(OPTIMIZERS))
    if any(h < 1 for h in hidden or []):
        raise CommandError(f"--hidden: layer sizes must be positive, got {hidden}")
    return _Runs(
        chosen, chosen_modes, mode_solver, minibatch_size, tuple(hidden or (10, 5)), grow,
        30 if max_hidden is None else max_hidden,
    )  # fmt: skip


def _run_all(
    rows: _Data, runs: _Runs, goals: _Goals, seed: int, speech: tuple[bool, str]
) -> ComparisonResult:
    """Every run of :func:`retroprop.apps.compare.compare` on the training rows (scored on
    the test rows too), behind a progress bar (``speech``: whether to be quiet, the language)."""
    from retroprop.apps.compare import compare as run_comparison

    quiet, lang = speech
    n_runs = len(runs.solvers) + len(runs.modes) + runs.grow
    per_run = command_words(lang)["compare_per_run"].format(budget=goals.budget_seconds)
    with _run_progress(n_runs, per_run, quiet) as on_run:
        return run_comparison(
            rows.X,
            rows.Y,
            hidden=runs.hidden,
            solvers=runs.solvers,
            X_test=rows.X_test,
            Y_test=rows.Y_test,
            **goals._asdict(),
            seed=seed,
            output_activation=None if rows.classify else "identity",
            modes=runs.modes,
            mode_solver=runs.mode_solver,
            minibatch_size=runs.minibatch_size,
            on_run=on_run,
            decode_target=rows.decode,
            grow=runs.grow,
            max_hidden=runs.max_hidden,
        )


def _read(
    data: Path, target: str | None, test_fraction: float, seed: int, options: DataOptions
) -> _Data:
    """The data file, split into training and test rows (stratified for classification), then
    encoded with preprocessing fitted on the training rows only, with ``train``'s options:
    rows with a missing value skipped (``drop``) or filled from the training rows (``mean``).
    The target is ``--target``, or a FANN file's one output column; a FANN file's other output
    columns are left out, as ``train`` leaves them.
    """
    from sklearn.model_selection import train_test_split

    from retroprop.data.fann import read_data
    from retroprop.data.preprocessing import Missing, Preprocessor

    fill: Missing = "mean" if options.missing == "mean" else "error"
    with warnings_on_stderr():
        table = read_data(data, encoding=options.encoding)
        target = declared_target(target, table.targets)
        fitting = options.preprocessing()
        fitting["ignore"] = (*fitting["ignore"], *(t for t in table.targets if t != target))
        prep, rows = Preprocessor.fit(table, target, **fitting)
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
        # refitted on the training rows only
        prep, rows = Preprocessor.fit(train, target, **fitting)
        X, Y = prep.transform(train, rows, missing=fill), prep.encode_target(train, rows)
        X_test = Y_test = None
        if len(test_rows):
            test = table.take(test_rows)
            X_test, Y_test = prep.transform(test, missing=fill), prep.encode_target(test)
    return _Data(X, Y, X_test, Y_test, classify, prep.decode)


@contextmanager
def _run_progress(n_runs: int, per_run: str, quiet: bool) -> Iterator[Callable[[str], None]]:
    """A progress bar over the runs, ``per_run`` (the budget) beside it (off if quiet or not a
    terminal); yields the ``on_run`` hook that moves it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    progress = Progress(
        TextColumn("{task.fields[run]:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(per_run),
        console=console,
        disable=quiet or not console.is_terminal,
    )
    task = progress.add_task("compare", total=n_runs, run="")
    started: list[str] = []

    def on_run(label: str) -> None:
        progress.update(task, completed=len(started), run=label)
        started.append(label)

    with progress:
        yield on_run
        progress.update(task, completed=n_runs)


def _print_tables(result: ComparisonResult, mode_solver: str, lang: str = "en") -> None:
    """One table for the solvers, one for the update modes and one for the cascade-correlation
    run (those that ran), in ``lang``."""
    from retroprop.apps.compare_view import (
        format_growth,
        format_table,
        growth_columns,
        growth_rows,
        table_columns,
        table_rows,
    )

    T = command_words(lang)
    columns = table_columns(result, lang)
    modes = T["compare_modes"].format(solver=mode_solver)
    tables = [
        (f"{T['compare_solvers']}: {result.network}", columns,
         table_rows(result, "solvers", lang), lambda: format_table(result, "solvers", lang)),
        (f"{modes}: {result.network}", columns,
         table_rows(result, "modes", lang), lambda: format_table(result, "modes", lang)),
        (T["compare_growth"], growth_columns(lang), growth_rows(result),
         lambda: format_growth(result, lang)),
    ]  # fmt: skip
    for title, header, rows, text in tables:
        if rows:
            _print_table(title, header, rows, text)


def _print_table(
    title: str, columns: tuple[str, ...], rows: list[list[str]], text: Callable[[], str]
) -> None:
    """A table of rows of strings: a row per run on a wide terminal, a column per run on a
    narrow one, ``text()`` (plain, never cut to 80 columns) into a pipe or a file."""
    from rich import box
    from rich.table import Table as RichTable

    if not console.is_terminal:
        console.print(f"{title}\n{text()}\n", soft_wrap=True, markup=False)
        return
    out = RichTable(title=title, box=box.SIMPLE_HEAD)
    if console.width >= 120:  # one row per run
        for c, name in enumerate(columns):
            out.add_column(name, justify="left" if c == 0 else "right")
        for row in rows:
            out.add_row(*row)
    else:  # a narrow terminal: one column per run
        out.add_column("")
        for row in rows:
            out.add_column(row[0], justify="right")
        for c, name in enumerate(columns[1:], start=1):
            out.add_row(name, *(row[c] for row in rows))
    console.print(out)


def _print_note(result: ComparisonResult, rows: _Data, lang: str = "en") -> None:
    """The rows used, the common start, and what "loss" and "epochs" mean in the tables."""
    T = command_words(lang)
    n_test = 0 if rows.X_test is None else len(rows.X_test)
    note = T["compare_note"].format(
        n_train=len(rows.X), n_test=n_test, start_loss=result.start_loss,
        regression="" if rows.classify else T["compare_regression_note"],
    )  # fmt: skip
    console.print(note, highlight=False)
    if result.growth is not None:
        from retroprop.apps.compare_view import growth_note

        console.print(growth_note(result, lang), highlight=False, soft_wrap=True)


def _write_plot(result: ComparisonResult, plot: Path, lang: str = "en") -> None:
    """The PNG of the loss against time and against epochs."""
    from retroprop.apps.compare_view import plot_comparison

    try:
        png = plot_comparison(result, plot, lang=lang)
    except OSError as exc:
        raise CommandError(f"--plot {plot}: cannot write the plot ({exc.strerror})") from None
    written = command_words(lang)["plot_written"].format(path=png.resolve())
    console.print(written, highlight=False, soft_wrap=True)
