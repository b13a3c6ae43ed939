"""``retroprop train``: a model from a CSV file, through :func:`retroprop.fit`.

:func:`train_table` is the whole recipe and usable from Python: fit the preprocessing, build
the network, hold out a validation set, train, measure, and bundle a
:class:`~retroprop.files.model_file.Model`. The command adds the options, a progress bar and a
summary.

Defaults: sigmoid hidden layers (one of 10 neurons); for classification a softmax output with
categorical cross-entropy (sigmoid outputs with ``--loss squared_error``, the lecture's); for
regression an identity output with squared error on the standardised target; Adam with η = 0.01
on mini-batches of 32 for 200 epochs; 10 % of the rows held out for validation.

Interruption: SIGINT (Ctrl-C) or SIGTERM during training writes a checkpoint at the end of the
running epoch (:mod:`retroprop.files.checkpoint`) and exits with 128 + the signal number (130, 143);
``--resume`` continues it to the weights the uninterrupted run would have reached.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
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
from retroprop.cli._resume import SignalGuard, interrupted_message, resumed_settings
from retroprop.core.activations import get_activation
from retroprop.core.losses import get_loss
from retroprop.core.network import Network
from retroprop.data.preprocessing import Missing, Preprocessor, Task
from retroprop.data.tabular import Table, read_csv
from retroprop.files.checkpoint_file import Checkpoint, load_checkpoint
from retroprop.files.checkpointer import Checkpointer, TrainingInterrupted
from retroprop.files.model import Model
from retroprop.files.model_file import save_model
from retroprop.train.loop import Callback, DivergenceError, EarlyStopping, History, fit
from retroprop.train.registry import TRAINERS as OPTIMIZERS  # step rules and solvers
from retroprop.train.registry import get_optimizer

__all__ = ["TrainResult", "TrainSettings", "train", "train_table"]

_CLASSIFICATION_LOSSES = ("binary_cross_entropy", "categorical_cross_entropy")


@dataclass
class TrainSettings:
    """Everything ``retroprop train`` can set; stored in the model file under ``training``."""

    target: str
    hidden: tuple[int, ...] = (10,)
    activation: tuple[str, ...] = ("sigmoid",)
    output_activation: str | None = None
    loss: str | None = None
    solver: str = "adam"
    learning_rate: float | None = None
    batch_size: int | Literal["all"] = 32
    epochs: int = 200
    seed: int = 0
    validation_fraction: float = 0.1
    early_stopping: bool = False
    patience: int = 10
    weight_decay: float = 0.0
    task: Task = "auto"
    missing: Missing = "error"
    categorical: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    init: str = "glorot"
    dtype: str = "float64"
    engine: Literal["auto", "numba", "numpy"] = "auto"
    train_error: Literal["final", "running"] = "final"


@dataclass
class TrainResult:
    """The trained model and its history; ``n_train`` / ``n_validation`` rows used."""

    model: Model
    history: History
    n_train: int
    n_validation: int
    metrics: dict[str, Any] = field(default_factory=dict)
    recorded: tuple[np.ndarray, np.ndarray] | None = None
    """The training rows (X, Y) when ``train_table(record=True)``: what the report needs."""


def _output(kind: str, s: TrainSettings) -> tuple[str, str]:
    """(output activation, loss) for the task, from the settings or the defaults."""
    if kind == "classification":
        loss = get_loss(s.loss or "categorical_cross_entropy").name
        default = "softmax" if loss == "categorical_cross_entropy" else "sigmoid"
    else:
        loss = get_loss(s.loss or "squared_error").name
        if loss in _CLASSIFICATION_LOSSES:
            raise CommandError(f"--loss {loss} needs class targets, but the task is regression")
        default = "identity"
    return s.output_activation or default, loss


def _split(
    X: np.ndarray, Y: np.ndarray, s: TrainSettings, classify: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out ``validation_fraction`` of the rows, drawn from each class in proportion.

    Every class keeps at least one training row. (numpy rather than scikit-learn's
    ``train_test_split``, whose import alone takes longer than training a small network.)
    """
    rng = np.random.default_rng(s.seed)
    labels = np.argmax(Y, axis=1) if classify else np.zeros(len(Y), dtype=np.intp)
    held: list[np.ndarray] = []
    for k in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == k))
        held.append(idx[: min(round(s.validation_fraction * len(idx)), len(idx) - 1)])
    val = np.sort(np.concatenate(held))
    train = np.setdiff1d(np.arange(len(X)), val)
    return X[train], Y[train], X[val], Y[val]


def _scores(model: Model, X: np.ndarray, Y: np.ndarray, prefix: str) -> dict[str, float]:
    """Loss and accuracy (classification) or R² in the target's units (regression)."""
    if not len(X):
        return {}
    net, target = model.network, model.preprocessor.target
    O = net.predict(X)
    out = {f"{prefix}_loss": net.loss.mean(Y.astype(O.dtype), O)}
    if target.kind == "classification":
        out[f"{prefix}_accuracy"] = float(np.mean(O.argmax(axis=1) == Y.argmax(axis=1)))
    elif len(X) > 1:
        y, o = Y[:, 0], O[:, 0].astype(np.float64)
        ss_tot = float(np.sum((y - y.mean()) ** 2))
        if ss_tot > 0:  # R² is the same in standardised and original units
            out[f"{prefix}_r2"] = 1.0 - float(np.sum((y - o) ** 2)) / ss_tot
    return out


def train_table(
    table: Table,
    settings: TrainSettings,
    callbacks: Sequence[Callback] = (),
    *,
    resume: Checkpoint | None = None,
    record: bool = False,
) -> TrainResult:
    """Fit preprocessing and network on ``table``; the model remembers how it was made.

    A :class:`~retroprop.files.checkpointer.Checkpointer` among the callbacks is started with the
    model
    being trained. ``resume`` continues the run saved in a checkpoint (same data and settings:
    the result is the uninterrupted run's). ``record`` adds a
    :class:`~retroprop.views.report.Recorder` (mean |δ| and saturated or dead units per epoch, for
    the training report) and keeps the training rows in the result.

    Raises:
        DataError: the table cannot be used (see
        :class:`~retroprop.data.preprocessing.Preprocessor`).
        ValueError: an invalid setting, named in the message.
        DivergenceError: training diverged (nothing is returned).
    """
    s = settings
    if len(s.activation) not in (1, len(s.hidden)):
        raise CommandError(
            f"--activation: give one activation or one per hidden layer ({len(s.hidden)}), "
            f"got {len(s.activation)}"
        )
    eta = 0.01 if s.learning_rate is None and s.solver == "adam" else s.learning_rate
    pre, rows = Preprocessor.fit(
        table, s.target, task=s.task, categorical=s.categorical, ignore=s.ignore, missing=s.missing
    )
    X = pre.transform(table, rows, missing="mean" if s.missing == "mean" else "error")
    Y = pre.encode_target(table, rows)
    out_activation, loss = _output(pre.target.kind, s)
    hidden_acts = list(s.activation) * (len(s.hidden) if len(s.activation) == 1 else 1)
    network = Network.create(
        [pre.n_inputs, *s.hidden, pre.n_outputs],
        activation=[*hidden_acts[: len(s.hidden)], out_activation],
        loss=loss,
        init=s.init,
        seed=s.seed,
        dtype=s.dtype,
    )
    classify = pre.target.kind == "classification"
    Xt, Yt, Xv, Yv = _split(X, Y, s, classify)
    del X, Y  # the split copied them: keep one copy of the inputs in memory, not two
    training = asdict(s)
    optimizer = get_optimizer(s.solver, **({} if eta is None else {"learning_rate": eta}))
    training["learning_rate"] = getattr(optimizer, "learning_rate", None)
    training.update(output_activation=out_activation, loss=loss, task=pre.target.kind)
    data = {"source": table.source, "sha256": table.sha256, "rows": table.n_rows}
    model = Model(network, pre, training=training, data={**data, "rows_used": len(rows)})
    if resume is not None:
        if resume.model.data.get("sha256") != table.sha256 or resume.model.preprocessor != pre:
            raise CommandError(
                f"{table.source}: not the data the checkpoint was trained on (its SHA-256 "
                f"or columns differ); resume with the same file"
            )
    for cb in callbacks:
        if isinstance(cb, Checkpointer):
            cb.start(model, s.epochs, resume)
    if record:
        from retroprop.views.report import Recorder

        callbacks = [*callbacks, Recorder(Xt, Yt, seed=s.seed)]
    history = fit(
        network,
        Xt,
        Yt,
        optimizer=s.solver,
        learning_rate=eta,
        epochs=s.epochs,
        batch_size=s.batch_size,
        seed=s.seed,
        weight_decay=s.weight_decay,
        validation_data=(Xv, Yv) if len(Xv) else None,
        early_stopping=EarlyStopping(patience=s.patience) if s.early_stopping else False,
        callbacks=callbacks,
        engine=s.engine,
        initial_state=None if resume is None else resume.state,
        train_error=s.train_error,
    )
    metrics: dict[str, Any] = {
        "epochs": history.epochs,
        "stopped_early": history.stopped_early,
        "best_epoch": history.best_epoch,
        "seconds": history["time"][-1] if "time" in history else None,
        "n_train": len(Xt),
        "n_validation": len(Xv),
        **_scores(model, Xt, Yt, "train"),
        **_scores(model, Xv, Yv, "validation"),
    }
    model.metrics = metrics
    recorded = (Xt, Yt) if record else None
    return TrainResult(model, history, len(Xt), len(Xv), metrics, recorded)


# -- the command ----------------------------------------------------------------------------
def _hidden(values: Sequence[str]) -> tuple[int, ...]:
    sizes = [tok for v in values for tok in re.split(r"[,\s]+", v.strip()) if tok]
    if not all(tok.isdigit() for tok in sizes):
        raise CommandError(f"--hidden: expected layer sizes such as 10 5, got {' '.join(values)}")
    out = tuple(int(tok) for tok in sizes)
    if out == (0,):
        return ()  # no hidden layer: a single-layer perceptron
    if not out or min(out) < 1 or max(out) > 100_000:
        raise CommandError(f"--hidden: layer sizes must be between 1 and 100000, got {out}")
    return out


def _check_names(option: str, lookup: Callable[[str], object], names: Sequence[str]) -> None:
    for name in names:
        try:
            lookup(name)
        except ValueError as exc:
            raise CommandError(f"{option}: {exc}") from None


def _batch_size(value: str) -> int | Literal["all"]:
    if value == "all":
        return "all"
    if not value.isdigit() or int(value) < 1:
        raise CommandError(f"--batch-size: expected a positive integer or 'all', got {value!r}")
    return int(value)


def train(
    data: Annotated[
        Path,
        typer.Argument(metavar="DATA", help="CSV file.", exists=True, dir_okay=False),
    ],
    target: Annotated[
        str | None, typer.Option("--target", "-t", help="Column to predict (required).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Model file to write [default: DATA name].retroprop"),
    ] = None,
    hidden: Annotated[
        list[str] | None,
        typer.Option(
            metavar="N…",
            help="Neurons per hidden layer, e.g. --hidden 10 5 (0: none). [default: 10]",
        ),
    ] = None,
    activation: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME…", help="Hidden activation, one or one per layer: sigmoid, tanh, relu, …"
        ),
    ] = None,
    output_activation: Annotated[
        str | None, typer.Option(help="Output activation [default: from task and loss].")
    ] = None,
    loss: Annotated[
        str | None,
        typer.Option(help="categorical_cross_entropy, squared_error, binary_cross_entropy, …"),
    ] = None,
    solver: Annotated[
        str, typer.Option(help="sgd, momentum, nesterov, adam, rprop+, rprop-, irprop+, …")
    ] = "adam",
    batch_size: Annotated[str, typer.Option(help="1 (online), k, or all (full batch).")] = "32",
    epochs: Annotated[
        int | None, typer.Option(min=1, help="Passes over the data (at most). [default: 200]")
    ] = None,
    learning_rate: Annotated[
        float | None,
        typer.Option(
            "--learning-rate", "--lr", help="η [default: 0.01 for adam, else the solver's]."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of weights, order and split.")] = 0,
    validation_fraction: Annotated[
        float, typer.Option(min=0.0, max=0.9, help="Rows held out for validation.")
    ] = 0.1,
    early_stopping: Annotated[
        bool, typer.Option(help="Stop when the validation loss stops improving.")
    ] = False,
    patience: Annotated[int, typer.Option(min=1, help="Epochs without improvement.")] = 10,
    weight_decay: Annotated[float, typer.Option(min=0.0, help="L2 penalty λ.")] = 0.0,
    task: TaskOpt = "auto",
    drop_missing: DropMissingOpt = False,
    impute: ImputeOpt = None,
    categorical: CategoricalOpt = None,
    ignore: IgnoreOpt = None,
    dtype: Annotated[str, typer.Option(help="float64 or float32.")] = "float64",
    engine: Annotated[
        str, typer.Option(help="auto (compiled when it applies), numba or numpy.")
    ] = "auto",
    train_error: Annotated[
        str,
        typer.Option(
            help="final: the training error of each epoch's final weights (one more pass "
            "over the data); running: the mean error met during the epoch (faster)."
        ),
    ] = "final",
    checkpoint_every: Annotated[
        int | None,
        typer.Option(min=1, metavar="N", help="Write a checkpoint every N epochs."),
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="Checkpoint file [default: the model file's name].checkpoint"),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            metavar="CHECKPOINT",
            help="Continue the run saved in a checkpoint (same data and settings).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            metavar="REPORT.html",
            help="Also write a self-contained HTML training report (figures, diagnostics).",
            dir_okay=False,
        ),
    ] = None,
    report_lang: Annotated[str, typer.Option(help="Language of the report: en or es.")] = "en",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")] = False,
) -> None:
    """Train a network on a CSV file and save it as a model file.

    Numeric columns are standardised, text columns one-hot encoded, the target's classes
    encoded (or a numeric target standardised for regression); all of it is saved in the model.
    Delimiter (, ; tab), header and decimal comma are detected.

    Ctrl-C (or SIGTERM) writes a checkpoint at the end of the running epoch and exits (code
    130, or 143); --resume CHECKPOINT continues to the weights of an uninterrupted run.

    Example:

        retroprop train iris.csv --target species --hidden 10 5 --epochs 300 -o iris.retroprop

        retroprop train moons.csv --target label --report report.html --report-lang es
    """
    from retroprop.cli._render import print_training_summary, training_progress

    missing = missing_policy(drop_missing, impute)
    if target is None and resume is None:
        raise CommandError("Missing option '--target' / '-t': the column to predict")
    _check_names("--activation", get_activation, activation or [])
    _check_names(
        "--output-activation", get_activation, [output_activation] if output_activation else []
    )
    _check_names("--loss", get_loss, [loss] if loss else [])
    settings = TrainSettings(
        target=target or "",
        hidden=_hidden(hidden or ["10"]),
        activation=tuple(activation or ["sigmoid"]),
        output_activation=output_activation,
        loss=loss,
        solver=choice("--solver", solver.lower(), tuple(OPTIMIZERS)),
        learning_rate=learning_rate,
        batch_size=_batch_size(batch_size),
        epochs=epochs or 200,
        seed=seed,
        validation_fraction=validation_fraction,
        early_stopping=early_stopping,
        patience=patience,
        weight_decay=weight_decay,
        task=choice("--task", task, ("auto", "classification", "regression")),  # type: ignore[arg-type]
        missing=missing,
        categorical=tuple(categorical or ()),
        ignore=tuple(ignore or ()),
        dtype=choice("--dtype", dtype, ("float64", "float32")),
        engine=choice("--engine", engine, ("auto", "numba", "numpy")),  # type: ignore[arg-type]
        train_error=choice("--train-error", train_error, ("final", "running")),  # type: ignore[arg-type]
    )
    choice("--report-lang", report_lang, ("en", "es"))
    resumed = None
    if resume is not None:
        resumed = load_checkpoint(resume)
        settings = resumed_settings(resumed, resume, settings, epochs)
    output = output or Path(data.with_suffix(".retroprop").name)
    checkpoint = checkpoint or output.with_suffix(".checkpoint")
    steps = settings.solver not in ("lbfgs", "genetic")  # a step optimizer's state can be saved
    if not steps and settings.train_error == "running":
        raise CommandError(
            f"--train-error running: --solver {settings.solver} has no running error (it "
            "measures each iteration's final weights); use --train-error final"
        )
    if not steps and (checkpoint_every or resume):
        option = "--resume" if resume else "--checkpoint-every"
        raise CommandError(f"{option}: --solver {settings.solver} runs cannot be checkpointed")
    checkpointer = Checkpointer(checkpoint, checkpoint_every, asdict(settings)) if steps else None
    why_not = "" if steps else f" (--solver {settings.solver} runs cannot be checkpointed)"
    with warnings_on_stderr(), SignalGuard(checkpointer, why_not) as guard:
        table = read_csv(data)
        with training_progress(settings.epochs, quiet) as callback:
            guard.phase = "training"
            try:
                extra = [] if checkpointer is None else [checkpointer]
                result = train_table(
                    table, settings, [callback, *extra], resume=resumed, record=report is not None
                )
            except DivergenceError as exc:
                raise CommandError(f"{exc} No model was written.") from None
            except TrainingInterrupted as exc:
                raise interrupted_message(exc, data) from None
            except OSError as exc:  # a checkpoint could not be written
                raise CommandError(
                    f"{exc.filename or checkpoint}: cannot write ({exc.strerror or exc})"
                ) from None
        guard.phase = "saving"
        try:
            save_model(output, result.model)
        except OSError as exc:
            raise CommandError(
                f"{output}: cannot write the model ({exc.strerror or exc})"
            ) from None
        if report is not None and result.recorded is not None:
            from retroprop.views.report import write_report

            try:
                write_report(
                    report,
                    result.model.network,
                    result.history,
                    *result.recorded,
                    lang=report_lang,
                    title=f"{data.name} → {settings.target}",
                )
            except OSError as exc:
                raise CommandError(
                    f"{report}: cannot write the report ({exc.strerror or exc})"
                ) from None
    if not quiet:
        print_training_summary(result, table, output)
        if report is not None:
            console.print(f"Report written to {report.resolve()}", soft_wrap=True)
