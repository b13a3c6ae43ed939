"""``retroprop train``: a model from a CSV file, through :func:`retroprop.fit`.

The command checks its options into a :class:`TrainSettings` and its output files against the
rules of :mod:`retroprop.files.atomic` (before any long work), reads the CSV file, trains with
:func:`train_table` (the whole recipe, usable from Python; see :mod:`._training`) behind a
progress bar, writes the model file (and, if asked, the HTML training report) and prints a
summary.

Interruption: SIGINT (Ctrl-C) or SIGTERM during training writes a checkpoint at the end of the
running epoch (:mod:`retroprop.files.checkpointer`) and exits with 128 + the signal number (130,
143); ``--resume`` continues it to the weights the uninterrupted run would have reached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import typer

from retroprop.cli._common import CommandError, choice, console, warnings_on_stderr
from retroprop.cli._data_options import NO_DATA_OPTIONS, DataOptions, with_options
from retroprop.cli._growing import grow_table
from retroprop.cli._options import (
    CsvArg,
    ForceOpt,
    LangOpt,
    batch_size_value,
    csv_not_model,
    declared_target,
    file_option,
    finite_number,
    hidden_sizes,
    lang_value,
    learning_rate_option,
    output_option,
    quiet_option,
    seed_option,
    values_option,
)
from retroprop.cli._render import print_training_summary, training_progress
from retroprop.cli._resume import (
    SignalGuard,
    interrupted_message,
    output_setting,
    resumed_output,
    resumed_settings,
)
from retroprop.cli._settings import check_checkpoint_settings, check_settings
from retroprop.cli._training import (
    TrainResult,
    TrainSettings,
    target_names,
    target_setting,
    train_table,
)
from retroprop.core.optimizers import FULL_BATCH_RULES
from retroprop.data.fann import read_data
from retroprop.data.tabular import Table
from retroprop.files.atomic import OutputPathError, OutputRules, output_rules, same_file
from retroprop.files.checkpoint_file import Checkpoint, load_checkpoint
from retroprop.files.checkpointer import Checkpointer, TrainingInterrupted
from retroprop.files.limits import MAX_EPOCHS
from retroprop.files.model_file import save_model
from retroprop.train.loop import DivergenceError
from retroprop.train.registry import TRAINERS as OPTIMIZERS  # step rules and solvers
from retroprop.views.i18n import command_words

__all__ = ["TrainResult", "TrainSettings", "train", "train_table"]

# -- the options ----------------------------------------------------------------------------
TargetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--target",
        "-t",
        help="Column to predict (required, but for a FANN file's targets); repeat it for "
        "several numeric columns (multi-output regression).",
    ),
]
HiddenOpt = Annotated[
    list[str] | None,
    values_option("N…", "Neurons per hidden layer, e.g. --hidden 10 5 (0: none). [default: 10]"),
]
ActivationOpt = Annotated[
    list[str] | None,
    values_option("NAME…", "Hidden activation, one or one per layer: sigmoid, tanh, relu, …"),
]
OutputActivationOpt = Annotated[
    str | None, typer.Option(help="Output activation [default: from task and loss].")
]
LossOpt = Annotated[
    str | None,
    typer.Option(help="categorical_cross_entropy, squared_error, binary_cross_entropy, …"),
]
SolverOpt = Annotated[
    str, typer.Option(help="sgd, momentum, nesterov, adam, rprop+, irprop-, quickprop, sarprop, …")
]
BatchSizeOpt = Annotated[
    str | None,
    typer.Option(
        help="1 (online), k, or all (full batch). [default: all for the full-batch solvers "
        "(rprop+, …, quickprop, sarprop), else 32]",
        show_default=False,
    ),
]
EpochsOpt = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=MAX_EPOCHS,
        help=f"Passes over the data (at most; 1 to {MAX_EPOCHS}). [default: 200]",
    ),
]
LearningRateOpt = Annotated[
    float | None, learning_rate_option("η [default: 0.01 for adam, else the solver's].")
]
ValidationOpt = Annotated[
    float, typer.Option(min=0.0, max=0.9, help="Rows held out for validation.")
]
TestFractionOpt = Annotated[
    float,
    typer.Option(
        min=0.0,
        max=0.9,
        help="Rows held out for testing, before anything is fitted (stratified, seeded).",
    ),
]
EarlyStoppingOpt = Annotated[
    bool, typer.Option(help="Stop when the validation loss stops improving.")
]
EngineOpt = Annotated[str, typer.Option(help="auto (compiled when it applies), numba or numpy.")]
TrainErrorOpt = Annotated[
    str,
    typer.Option(
        help="final: the training error of each epoch's final weights (one more pass "
        "over the data); running: the mean error met during the epoch (faster)."
    ),
]
CheckpointEveryOpt = Annotated[
    int | None, typer.Option(min=1, metavar="N", help="Write a checkpoint every N epochs.")
]
CheckpointOpt = Annotated[
    Path | None,
    typer.Option(help="Checkpoint file [default: the model file's name].checkpoint"),
]
ResumeOpt = Annotated[
    Path | None,
    file_option(
        "CHECKPOINT", "Continue the run saved in a checkpoint (same data and settings).", True
    ),
]
GrowOpt = Annotated[
    bool,
    typer.Option(
        "--grow",
        help="Grow the hidden layer by cascade-correlation (FANN's Cascade2) instead of --hidden.",
    ),
]
MaxHiddenOpt = Annotated[
    int | None,
    typer.Option(min=0, max=100_000, metavar="N", help="With --grow: most neurons. [default: 30]"),
]
ReportOpt = Annotated[
    Path | None,
    file_option(
        "REPORT.html", "Also write a self-contained HTML training report (figures, diagnostics)."
    ),
]


PatienceOpt = Annotated[
    int, typer.Option(min=1, max=MAX_EPOCHS, help="Epochs without improvement.")
]
WeightDecayOpt = Annotated[float, typer.Option(min=0.0, help="L2 penalty λ.")]
DtypeOpt = Annotated[str, typer.Option(help="float64 or float32.")]
ReportLangOpt = Annotated[
    str | None,
    typer.Option(metavar="en|es", help="Language of the report [default: that of --lang]."),
]


class _Settings(NamedTuple):
    """What the settings options give: :class:`TrainSettings`'s fields but the target, the
    CSV file's encoding, and ``--epochs`` as given (None: not given; a resumed run keeps the
    checkpoint's then)."""

    fields: dict[str, Any]
    encoding: str = "utf-8"
    epochs: int | None = None


def _default_batch(solver: str) -> str:
    """The full batch for the rules made for it (Rprop, Quickprop, SARPROP), else 32."""
    return "all" if solver.lower() in FULL_BATCH_RULES else "32"


@with_options(data_options=DataOptions.from_options)
def _settings_options(
    hidden: HiddenOpt = None,
    grow: GrowOpt = False,
    max_hidden: MaxHiddenOpt = None,
    activation: ActivationOpt = None,
    output_activation: OutputActivationOpt = None,
    loss: LossOpt = None,
    solver: SolverOpt = "adam",
    batch_size: BatchSizeOpt = None,
    epochs: EpochsOpt = None,
    learning_rate: LearningRateOpt = None,
    seed: Annotated[int, seed_option("Seed of weights, order and split.")] = 0,
    validation_fraction: ValidationOpt = 0.1,
    test_fraction: TestFractionOpt = 0.0,
    early_stopping: EarlyStoppingOpt = False,
    patience: PatienceOpt = 10,
    weight_decay: WeightDecayOpt = 0.0,
    data_options: DataOptions = NO_DATA_OPTIONS,  # --task … --encoding
    dtype: DtypeOpt = "float64",
    engine: EngineOpt = "auto",
    train_error: TrainErrorOpt = "final",
) -> _Settings:
    """The options that become the run's :class:`TrainSettings` (the group ``train`` takes as
    ``settings``), each checked on its own; together by :func:`~._settings.check_settings`."""
    _check_growth(grow, max_hidden, hidden)
    fields = {
        "hidden": hidden_sizes(hidden or ["10"]),
        "activation": tuple(activation or ["sigmoid"]),
        "output_activation": output_activation,
        "loss": loss,
        "solver": choice("--solver", solver.lower(), tuple(OPTIMIZERS)),
        "learning_rate": learning_rate,
        "batch_size": batch_size_value(batch_size or _default_batch(solver), "all"),
        "epochs": epochs or 200,
        "seed": seed,
        "validation_fraction": validation_fraction,
        "test_fraction": test_fraction,
        "early_stopping": early_stopping,
        "patience": patience,
        "weight_decay": finite_number("--weight-decay", weight_decay),
        **data_options.preprocessing(),
        "dtype": choice("--dtype", dtype, ("float64", "float32")),
        "engine": choice("--engine", engine, ("auto", "numba", "numpy")),
        "train_error": choice("--train-error", train_error, ("final", "running")),
        "grow": grow,
        "max_hidden": 30 if max_hidden is None else max_hidden,
    }
    return _Settings(fields, data_options.encoding, epochs)


_NO_SETTINGS = _Settings({})
"""The default of ``train``'s ``settings`` (typer never sees it; see
:func:`~._data_options.with_options`)."""


class _Checkpointing(NamedTuple):
    """``--checkpoint-every``, ``--checkpoint`` and ``--resume`` as given (a group of ``train``'s
    options: see :func:`~._data_options.with_options`)."""

    checkpoint_every: CheckpointEveryOpt = None
    checkpoint: CheckpointOpt = None
    resume: ResumeOpt = None


_NO_CHECKPOINTING = _Checkpointing()
"""The default of ``train``'s ``checkpointing`` (typer never sees it)."""


# -- the command ----------------------------------------------------------------------------
@with_options(settings=_settings_options, checkpointing=_Checkpointing)
def train(
    data: CsvArg,
    target: TargetOpt = None,
    output: Annotated[
        Path | None, output_option("Model file to write [default: DATA name].retroprop")
    ] = None,
    settings: _Settings = _NO_SETTINGS,  # --hidden … --train-error
    checkpointing: _Checkpointing = _NO_CHECKPOINTING,  # --checkpoint-every … --resume
    report: ReportOpt = None,
    report_lang: ReportLangOpt = None,
    force: ForceOpt = False,
    quiet: Annotated[bool, quiet_option("No progress or summary.")] = False,
    lang: LangOpt = None,
) -> None:
    """Train a network on a CSV file and save it as a model file.

    Numeric columns are standardised, text columns one-hot encoded, the target's classes
    encoded (or a numeric target standardised for regression); all of it is saved in the model.
    Delimiter (, ; tab), header and decimal comma are detected.

    Ctrl-C (or SIGTERM) writes a checkpoint at the end of the running epoch and exits (code
    130, or 143) and prints the command that continues it; --resume CHECKPOINT continues to
    the weights of an uninterrupted run and writes the model file that run was to write (-o
    names another).

    Files that exist are not replaced without --force (the data file and the resumed
    checkpoint never are); missing folders are created; all of it is checked before training.

    Example:

        retroprop train iris.csv --target species --hidden 10 5 --epochs 300 -o iris.retroprop

        retroprop train moons.csv --target label --report report.html --lang es

        retroprop train parity8.train --grow --max-hidden 10 --report growth.html
    """
    csv_not_model(data, "retroprop train DATA --target COLUMN")
    lang = lang_value("--lang", lang)
    langs = _Langs(lang, lang if report_lang is None else lang_value("--report-lang", report_lang))
    run = TrainSettings(target=target_setting(target or ()), **settings.fields)
    check_settings(run)
    every, checkpoint, resume = checkpointing
    files = _Files(output, checkpoint, every, resume, report, force)
    plan = _plan(data, run, settings.epochs, files)
    again = _continue_options(plan.output, files, langs, settings.encoding)
    table, result = _run(data, plan, settings.encoding, again, report, langs, quiet)
    if not quiet:
        print_training_summary(result, table, plan.output, lang)
        if report is not None:
            written = command_words(lang)["report_written"].format(path=report.resolve())
            console.print(written, soft_wrap=True)


# -- its steps ------------------------------------------------------------------------------
class _Plan(NamedTuple):
    """What a run writes and continues, all checked before it reads the data: its settings
    (a resumed run's are the checkpoint's), the checkpoint it continues, the model file, the
    checkpoint file and its checkpointer (None for a whole-run solver), the output rules."""

    settings: TrainSettings
    resumed: Checkpoint | None
    output: Path
    checkpoint: Path
    checkpointer: Checkpointer | None
    rules: OutputRules


class _Files(NamedTuple):
    """The file options as given: ``-o``, ``--checkpoint``, ``--checkpoint-every``,
    ``--resume``, ``--report``, ``--force``."""

    output: Path | None
    checkpoint: Path | None
    every: int | None
    resume: Path | None
    report: Path | None
    force: bool


def _plan(data: Path, settings: TrainSettings, epochs: int | None, files: _Files) -> _Plan:
    """The checkpoint to continue (``--resume``: its settings, with ``epochs`` if given, and
    its ``-o`` unless another is given), the files to write, each checked against the output
    rules."""
    resumed, resume, output = None, files.resume, files.output
    if resume is not None:
        resumed = load_checkpoint(resume, check_settings=check_checkpoint_settings)
        settings = resumed_settings(resumed, resume, settings, epochs)
        output = output or resumed_output(resumed)  # the -o of the run it continues
    output = output or Path(data.with_suffix(".retroprop").name)
    # (an output without a name, "." or "/", is a folder: rules.check refuses it below)
    checkpoint = files.checkpoint or _default_checkpoint(output)
    checkpointer = _checkpointer(settings, checkpoint, files.every, resume, output)
    rules = output_rules(force=files.force, inputs={"DATA": data, "--resume": resume})
    if resume is not None and same_file(checkpoint, resume):
        rules.claim(checkpoint)  # a resumed run goes on rewriting the checkpoint it continues
    outputs = {"--output": output, "--checkpoint": checkpoint, "--report": files.report}
    rules.check(outputs if checkpointer else {**outputs, "--checkpoint": None})
    return _Plan(settings, resumed, output, checkpoint, checkpointer, rules)


class _Langs(NamedTuple):
    """The languages, resolved: ``--lang`` (what the command prints) and ``--report-lang``
    (the report's; that of ``--lang`` by default)."""

    lang: str
    report: str


def _run(
    data: Path,
    plan: _Plan,
    encoding: str,
    again: Sequence[str | Path],
    report: Path | None,
    langs: _Langs,
    quiet: bool,
) -> tuple[Table, TrainResult]:
    """Read the data (CSV or FANN, in ``encoding`` if CSV), train and write the model (and the
    report), a signal meanwhile answered as :class:`~._resume.SignalGuard` says; ``again``:
    the options that continue an interrupted run."""
    settings, checkpointer = plan.settings, plan.checkpointer
    why_not = "" if checkpointer else f" ({_run_kind(settings)} runs cannot be checkpointed)"
    with plan.rules, warnings_on_stderr(), SignalGuard(checkpointer, why_not) as guard:
        table = read_data(data, encoding=encoding)
        settings = _declared_target(settings, table)
        if checkpointer is not None:  # with the target the file declares
            checkpointer.settings = {**checkpointer.settings, **asdict(settings)}
        guard.phase = "training"
        speech = (quiet, langs.lang)
        result = _train(
            table,
            settings,
            checkpointer,
            plan.checkpoint,
            plan.resumed,
            report,
            speech,
            data,
            again,
        )
        guard.phase = "saving"
        title = f"{data.name} → {', '.join(target_names(settings.target))}"
        _write(plan.output, result, report, langs.report, title=title)
    return table, result


def _run_kind(settings: TrainSettings) -> str:
    """What trains, as the options say it: ``--grow`` or ``--solver NAME``."""
    return "--grow" if settings.grow else f"--solver {settings.solver}"


def _check_growth(grow: bool, max_hidden: int | None, hidden: list[str] | None) -> None:
    """``--max-hidden`` goes with ``--grow``, and ``--hidden`` does not."""
    if max_hidden is not None and not grow:
        raise CommandError("--max-hidden: only with --grow (cascade-correlation)")
    if grow and hidden:
        raise CommandError("--hidden and --grow: choose one (--grow builds the hidden layer)")


def _declared_target(settings: TrainSettings, table: Table) -> TrainSettings:
    """The settings with the targets the file declares (a FANN data file's target columns:
    one, or all its regression outputs ``y1 … yk``) when ``--target`` is not given, and the
    file's other target columns left out (a FANN file's outputs not named by ``--target``)."""
    target = settings.target
    if not target:
        several = len(table.targets) > 1 and "class" not in table.targets
        target = target_setting(table.targets) if several else declared_target(None, table.targets)
    others = [
        t for t in table.targets if t not in target_names(target) and t not in settings.ignore
    ]
    return replace(settings, target=target, ignore=(*settings.ignore, *others))


def _default_checkpoint(output: Path) -> Path:
    """The model file's name with ``.checkpoint`` (a folder-like output stays as it is, for
    the output rules to refuse)."""
    return output.with_suffix(".checkpoint") if output.name else output


def _checkpointer(
    settings: TrainSettings, path: Path, every: int | None, resume: Path | None, output: Path
) -> Checkpointer | None:
    """The checkpointer of a step optimizer's run; None for whole-run solvers (L-BFGS, the
    genetic algorithm) and cascade-correlation (``--grow``), whose state cannot be saved, and
    for which the options that need it (``--checkpoint-every``, ``--resume``, ``--train-error
    running``) are errors.

    The checkpoint stores the settings and the model file the run writes (absolute), which a
    resumed run writes in its turn (see :func:`~._resume.resumed_output`)."""
    if settings.solver not in ("lbfgs", "genetic") and not settings.grow:
        return Checkpointer(path, every, {**asdict(settings), **output_setting(output)})
    run = _run_kind(settings)
    if settings.train_error == "running":
        raise CommandError(
            f"--train-error running: {run} has no running error (it measures each "
            "step's final weights); use --train-error final"
        )
    if every or resume:
        option = "--resume" if resume else "--checkpoint-every"
        raise CommandError(f"{option}: {run} runs cannot be checkpointed")
    return None


def _continue_options(
    output: Path, files: _Files, langs: _Langs, encoding: str
) -> list[str | Path]:
    """The options besides ``--resume`` that a resumed run needs to finish this one as asked
    (a checkpoint holds the settings, not these): the same model file, checkpoints as often,
    the report (in its language), ``--force``, the CSV file's encoding."""
    options: list[str | Path] = ["-o", output]
    if files.every is not None:
        options += ["--checkpoint-every", str(files.every)]
    if files.report is not None:
        options += ["--report", files.report, "--report-lang", langs.report]
    if files.force:
        options.append("--force")
    if encoding != "utf-8":
        options += ["--encoding", encoding]
    return options


def _train(
    table: Table,
    settings: TrainSettings,
    checkpointer: Checkpointer | None,
    checkpoint: Path,
    resumed: Checkpoint | None,
    report: Path | None,
    speech: tuple[bool, str],
    data: Path,
    again: Sequence[str | Path],
) -> TrainResult:
    """:func:`train_table` (or :func:`grow_table`) behind the progress bar (``speech``: quiet
    or not, and the language); its failures as one line each (an interruption's says how to
    continue: ``again`` are the options besides the data and ``--resume``)."""
    quiet, lang = speech
    total = settings.max_hidden if settings.grow else settings.epochs
    with training_progress(total, quiet, lang) as callback:
        extra = [] if checkpointer is None else [checkpointer]
        try:
            if settings.grow:
                return grow_table(table, settings, [callback], record=report is not None)
            return train_table(
                table, settings, [callback, *extra], resume=resumed, record=report is not None
            )
        except DivergenceError as exc:
            raise CommandError(f"{exc} No model was written.") from None
        except TrainingInterrupted as exc:
            raise interrupted_message(exc, data, again) from None
        except OSError as exc:  # a checkpoint could not be written
            raise CommandError(
                f"{exc.filename or checkpoint}: cannot write ({exc.strerror or exc})"
            ) from None


def _write(
    output: Path, result: TrainResult, report: Path | None, report_lang: str, title: str
) -> None:
    """The model file, and the HTML training report if one was asked for."""
    try:
        save_model(output, result.model)
    except OutputPathError as exc:  # a file appeared under that name while we trained
        raise OutputPathError(f"{exc}; the model was not written") from None
    except OSError as exc:
        raise CommandError(f"{output}: cannot write the model ({exc.strerror or exc})") from None
    if report is None or result.recorded is None:
        return
    from retroprop.views.report import write_report

    try:
        test = result.test or (None, None)
        target = result.model.preprocessor.target
        write_report(
            report,
            result.model.network,
            result.history,
            *result.recorded,
            *test,
            lang=report_lang,
            title=title,
            validation=result.validation,
            class_names=target.classes if target.kind == "classification" else None,
        )
    except OSError as exc:
        raise CommandError(f"{report}: cannot write the report ({exc.strerror or exc})") from None
