"""The recipe of ``retroprop train``, usable from Python: :func:`train_table`.

Fit the preprocessing, build the network, hold out a validation set, train, measure, and bundle
a :class:`~retroprop.files.model.Model` that remembers how it was made.

Defaults: sigmoid hidden layers (one of 10 neurons); for classification a softmax output with
categorical cross-entropy (sigmoid outputs with ``--loss squared_error``, the lecture's); for
regression an identity output with squared error on the standardised target; Adam with η = 0.01
on mini-batches of 32 for 200 epochs; 10 % of the rows held out for validation. With
``test_fraction`` a test set is held out first, before the preprocessing is fitted: the model
never sees those rows, and its scores on them are stored with the others.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from retroprop.cli._common import CommandError
from retroprop.cli._test_set import Data, hold_out_test, test_data
from retroprop.core.cascade import CascadeNetwork
from retroprop.core.losses import get_loss
from retroprop.core.network import Network
from retroprop.core.optimizers import FULL_BATCH_RULES, Rprop
from retroprop.data.preprocessing import Missing, Preprocessor, Task
from retroprop.data.tabular import Table
from retroprop.files.checkpoint_file import Checkpoint
from retroprop.files.checkpointer import Checkpointer
from retroprop.files.limits import MAX_ARRAY_BYTES
from retroprop.files.model import Model
from retroprop.train.loop import Callback, EarlyStopping, History, fit
from retroprop.train.registry import get_optimizer

__all__ = ["TrainResult", "TrainSettings", "train_table"]

_CLASSIFICATION_LOSSES = ("binary_cross_entropy", "categorical_cross_entropy")

Array = np.ndarray
Split = tuple[Array, Array, Array, Array]
"""Training inputs and targets, then validation inputs and targets: (Xt, Yt, Xv, Yv)."""


def target_setting(names: Sequence[str]) -> str | tuple[str, ...]:
    """The ``target`` setting of ``--target`` options: one name (as every model file before
    multi-output regression holds it), several as a tuple, none as ``""``."""
    names = tuple(names)
    return names[0] if len(names) == 1 else (names or "")


def target_names(target: str | tuple[str, ...]) -> tuple[str, ...]:
    """The target columns a ``target`` setting names."""
    return (target,) if isinstance(target, str) else target


@dataclass
class TrainSettings:
    """Everything ``retroprop train`` can set; stored in the model file under ``training``."""

    target: str | tuple[str, ...]
    """The column to predict, or several numeric columns (multi-output regression)."""
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
    test_fraction: float = 0.0
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
    grow: bool = False
    """Cascade-correlation (:func:`~retroprop.cascade_fit`) instead of the ``hidden`` layers."""
    max_hidden: int = 30
    """The most neurons cascade-correlation installs."""

    @property
    def eta(self) -> float | None:
        """η for the solver: the given one, 0.01 for Adam, else None (the solver's default)."""
        return 0.01 if self.learning_rate is None and self.solver == "adam" else self.learning_rate


@dataclass
class TrainResult:
    """The trained model and its history; ``n_train`` / ``n_validation`` / ``n_test`` rows."""

    model: Model
    history: History
    n_train: int
    n_validation: int
    metrics: dict[str, Any] = field(default_factory=dict)
    recorded: tuple[np.ndarray, np.ndarray] | None = None
    """The training rows (X, Y) when ``train_table(record=True)``: what the report needs."""
    n_test: int = 0
    validation: Data | None = None
    """The validation rows (X, Y) when recording and there are some (for the report)."""
    test: Data | None = None
    """The held-out test rows (X, Y) when recording and there are some (for the report)."""


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
    model being trained. ``resume`` continues the run saved in a checkpoint (same data and
    settings: the result is the uninterrupted run's). ``record`` adds a
    :class:`~retroprop.views.report.Recorder` (mean |δ| and saturated or dead units per epoch, for
    the training report) and keeps the training rows in the result.

    Raises:
        DataError: the table cannot be used (see
        :class:`~retroprop.data.preprocessing.Preprocessor`).
        RetropropError: an invalid setting, named in the message.
        DivergenceError: training diverged (nothing is returned).
    """
    s = settings
    if s.grow:
        raise CommandError("train_table: settings.grow: use retroprop.cli._growing.grow_table")
    _check_activations(s)
    fitting, held_out = hold_out_test(table, s)
    pre, rows = Preprocessor.fit(
        fitting,
        target_names(s.target),
        task=s.task,
        categorical=s.categorical,
        ignore=s.ignore,
        missing=s.missing,
    )
    if resume is not None:
        _check_resume(resume, table, pre)
    _check_size(pre, s)
    split = _split(pre, fitting, rows, s)
    test = None if held_out is None else test_data(pre, held_out, s)
    n_test = 0 if test is None else len(test[0])
    output = _output(pre.target.kind, s)
    network = _network(pre, output, s)
    model = _untrained_model(network, output, pre, table, len(rows) + n_test, s)
    for cb in callbacks:
        if isinstance(cb, Checkpointer):
            cb.start(model, s.epochs, resume)
    history, start = _fit_watched(network, split, s, callbacks, resume, record)
    _warn_rising_loss(start, history, model)
    model.metrics = _metrics(model, history, split, test)
    return _result(model, history, split, test, record)


def _result(
    model: Model, history: History, split: Split, test: Data | None, record: bool
) -> TrainResult:
    """The :class:`TrainResult` of a run, with the rows the report needs when recording."""
    Xt, Yt, Xv, Yv = split
    n_test = 0 if test is None else len(test[0])
    if not record:
        return TrainResult(model, history, len(Xt), len(Xv), model.metrics, n_test=n_test)
    validation = (Xv, Yv) if len(Xv) else None
    return TrainResult(
        model, history, len(Xt), len(Xv), model.metrics, (Xt, Yt), n_test, validation, test
    )


RISEN = 1.5
"""A run whose last training loss is above this many times the untrained network's is warned
about (the learning rate is too large for the problem)."""


def _warn_minibatch_rprop(s: TrainSettings, n_train: int) -> None:
    """The rules made for the full batch (:data:`~retroprop.core.optimizers.FULL_BATCH_RULES`:
    Rprop adapts each step size to the sign of successive full gradients, Quickprop and SARPROP
    follow them too) on mini-batches, whose gradient changes with the batch drawn: a warning."""
    if s.solver.lower() not in FULL_BATCH_RULES or s.batch_size == "all" or s.batch_size >= n_train:
        return
    rprop = isinstance(get_optimizer(s.solver), Rprop)
    name, how = ("Rprop", "step sizes follow the sign of") if rprop else (s.solver, "steps follow")
    warnings.warn(
        f"--solver {s.solver} on mini-batches of {s.batch_size} rows: {name} is a full-batch "
        f"method (its {how} successive gradients of the whole training set); use --batch-size all",
        UserWarning,
        stacklevel=3,
    )


def _fit_watched(
    network: Network,
    split: Split,
    s: TrainSettings,
    callbacks: Sequence[Callback],
    resume: Checkpoint | None,
    record: bool,
) -> tuple[History, float | None]:
    """:func:`_fit`, with a warning for Rprop on mini-batches and, if ``record``, the report's
    :class:`~retroprop.views.report.Recorder`; also the untrained network's loss (for
    :func:`_warn_rising_loss`; None for a resumed run)."""
    Xt, Yt = split[0], split[1]
    _warn_minibatch_rprop(s, len(Xt))
    start = None if resume is not None else _untrained_loss(network, Xt, Yt)
    if record:
        from retroprop.views.report import Recorder

        callbacks = [*callbacks, Recorder(Xt, Yt, seed=s.seed)]
    return _fit(network, split, s, callbacks, resume), start


def _untrained_loss(network: Network, X: Any, Y: Any) -> float:
    """The network's loss on the training rows ``X`` (n, inputs), ``Y`` (n, outputs) before
    the first update: what :func:`_warn_rising_loss` compares the last epoch's with."""
    return float(network.loss.mean(Y.astype(network.dtype), network.predict(X)))


def _warn_rising_loss(start: float | None, history: History, model: Model) -> None:
    """A run that ends far above the loss it started from (not diverged to ∞, which
    :func:`fit` reports as an error) says so: the learning rate is too large."""
    if start is None or not history.epochs:
        return
    end = history["loss"][-1]
    if end > RISEN * start:
        eta = model.training.get("learning_rate")
        warnings.warn(
            f"the training loss ended at {end:.4g}, {end / start:.3g} times the untrained "
            f"network's {start:.4g}: the learning rate (η = {eta}) is probably too large; "
            f"try a smaller --learning-rate",
            UserWarning,
            stacklevel=3,
        )


def _check_activations(s: TrainSettings) -> None:
    """One hidden activation for all layers, or one per hidden layer."""
    if len(s.activation) not in (1, len(s.hidden)):
        raise CommandError(
            f"--activation: give one activation or one per hidden layer ({len(s.hidden)}), "
            f"got {len(s.activation)}"
        )


def _check_size(pre: Preprocessor, s: TrainSettings) -> None:
    """The network fits in a model file (:data:`~retroprop.files.limits.MAX_ARRAY_BYTES` of
    parameters): checked before it is built, so a run never trains what it cannot save."""
    sizes = [pre.n_inputs, *s.hidden, pre.n_outputs]
    n_params = sum((n_in + 1) * n_out for n_in, n_out in itertools.pairwise(sizes))
    if n_params * np.dtype(s.dtype).itemsize > MAX_ARRAY_BYTES:
        raise CommandError(
            f"--hidden: a network of {n_params} {s.dtype} parameters ({' → '.join(map(str, sizes))}"
            f") is more than a model file holds ({MAX_ARRAY_BYTES} bytes); use smaller layers"
        )


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


def _network(pre: Preprocessor, output: tuple[str, str], s: TrainSettings) -> Network:
    """The untrained network: the preprocessed inputs → the hidden layers → the outputs, with
    ``output`` = (output activation, loss)."""
    out_activation, loss = output
    hidden_acts = list(s.activation) * (len(s.hidden) if len(s.activation) == 1 else 1)
    return Network.create(
        [pre.n_inputs, *s.hidden, pre.n_outputs],
        activation=[*hidden_acts[: len(s.hidden)], out_activation],
        loss=loss,
        init=s.init,
        seed=s.seed,
        dtype=s.dtype,
    )


def _split(pre: Preprocessor, table: Table, rows: Array, s: TrainSettings) -> Split:
    """The encoded rows, with ``validation_fraction`` of them held out, drawn from each class in
    proportion.

    Every class keeps at least one training row. (numpy rather than scikit-learn's
    ``train_test_split``, whose import alone takes longer than training a small network.) The
    inputs of the two parts are encoded separately, so that the encoded data exist once in
    memory, not twice.
    """
    rng = np.random.default_rng(s.seed)
    classify = pre.target.kind == "classification"
    labels = pre.class_index(table, rows) if classify else np.zeros(len(rows), dtype=np.intp)
    held: list[np.ndarray] = []
    for k in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == k))
        held.append(idx[: min(round(s.validation_fraction * len(idx)), len(idx) - 1)])
    val = np.sort(np.concatenate(held))
    train = np.setdiff1d(np.arange(len(rows)), val)
    missing: Missing = "mean" if s.missing == "mean" else "error"
    Xt = pre.transform(table, rows[train], missing=missing)
    Xv = pre.transform(table, rows[val], missing=missing)
    return Xt, pre.encode_target(table, rows[train]), Xv, pre.encode_target(table, rows[val])


def _untrained_model(
    network: Network | CascadeNetwork,
    output: tuple[str, str],
    pre: Preprocessor,
    table: Table,
    rows_used: int,
    s: TrainSettings,
) -> Model:
    """The model around ``network``: preprocessing, the settings as trained (the solver's η,
    the output activation and loss chosen, the task) and where the data came from."""
    training = asdict(s)
    optimizer = get_optimizer(s.solver, **({} if s.eta is None else {"learning_rate": s.eta}))
    training["learning_rate"] = getattr(optimizer, "learning_rate", None)
    out_activation, loss = output
    training.update(output_activation=out_activation, loss=loss, task=pre.target.kind)
    data = {"source": table.source, "sha256": table.sha256, "rows": table.n_rows}
    return Model(network, pre, training=training, data={**data, "rows_used": rows_used})


def _check_resume(resume: Checkpoint, table: Table, pre: Preprocessor) -> None:
    """A checkpoint continues only on the data it was trained on (same hash and columns)."""
    if resume.model.data.get("sha256") != table.sha256 or resume.model.preprocessor != pre:
        raise CommandError(
            f"{table.source}: not the data the checkpoint was trained on (its SHA-256 "
            f"or columns differ); resume with the same file"
        )


def _fit(
    network: Network,
    split: Split,
    s: TrainSettings,
    callbacks: Sequence[Callback],
    resume: Checkpoint | None,
) -> History:
    """Train ``network`` in place with the settings (from the checkpoint's state if resuming)."""
    Xt, Yt, Xv, Yv = split
    return fit(
        network,
        Xt,
        Yt,
        optimizer=s.solver,
        learning_rate=s.eta,
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


def _metrics(
    model: Model, history: History, split: Split, test: Data | None = None
) -> dict[str, Any]:
    """What the model file records of the run: epochs, time, rows, and the final scores on the
    training, validation and (if held out) test rows."""
    Xt, Yt, Xv, Yv = split
    tested = {} if test is None else {"n_test": len(test[0]), **_scores(model, *test, "test")}
    return {
        "epochs": history.epochs,
        "stopped_early": history.stopped_early,
        "best_epoch": history.best_epoch,
        "seconds": history["time"][-1] if "time" in history else None,
        "n_train": len(Xt),
        "n_validation": len(Xv),
        **_scores(model, Xt, Yt, "train"),
        **_scores(model, Xv, Yv, "validation"),
        **tested,
    }


def _scores(model: Model, X: Array, Y: Array, prefix: str) -> dict[str, float]:
    """Loss and accuracy (classification), or R² and the mean absolute error in the target's
    units (regression)."""
    if not len(X):
        return {}
    net, target = model.network, model.preprocessor.target
    O = net.predict(X)
    out = {f"{prefix}_loss": net.loss.mean(Y.astype(O.dtype), O)}
    if target.kind == "classification":
        out[f"{prefix}_accuracy"] = float(np.mean(O.argmax(axis=1) == Y.argmax(axis=1)))
        return out
    Y, O = Y.astype(np.float64), O.astype(np.float64)
    if len(X) > 1:  # R² is the same in standardised and original units
        ss_tot = np.sum((Y - Y.mean(axis=0)) ** 2, axis=0)
        if np.all(ss_tot > 0):  # the mean over targets (scikit-learn's "uniform_average")
            out[f"{prefix}_r2"] = float(np.mean(1.0 - np.sum((Y - O) ** 2, axis=0) / ss_tot))
    mae = np.mean(np.abs(Y - O), axis=0) * target.scales  # |Δ| in target units
    out[f"{prefix}_mae"] = float(np.mean(mae))
    return out
