"""The one training loop. The update mode is only the batch size:

- ``batch_size=1``: online, the lecture's default: weights change after every sample;
- ``batch_size=k``: mini-batch: after every k samples, with the mean gradient of the k;
- ``batch_size="all"``: full batch: once per epoch, with the mean gradient of the whole set.

Samples are visited in an order drawn by a seeded generator (indices are shuffled, not data),
so the same seed gives the same weights bit for bit. After every epoch the loop measures the
training and validation error, checks that weights and error are finite, and calls the
callbacks; early stopping is one of them.

A run can be stopped and resumed to the same weights, bit for bit: a callback that overrides
:meth:`Callback.on_epoch_state` receives, after every epoch, a function that builds the
:class:`TrainState` (weights, optimizer state, generator state, sample order, history), and
``fit(..., initial_state=state)`` continues from it as if the run had never stopped.
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from retroprop._fast.engine import EpochTrainer, select_engine
from retroprop.core.metrics import Logs, accuracy, add_sums, is_classification, logs_from_sums
from retroprop.core.network import ForwardPass, Gradients, Network
from retroprop.core.optimizers import Optimizer, State
from retroprop.errors import ParameterError
from retroprop.train.callbacks import (
    Callback,
    EarlyStopping,
    FunctionCallback,
    History,
    TrainState,
    wants_state,
)
from retroprop.train.registry import get_optimizer
from retroprop.train.solvers import Problem, Solver
from retroprop.train.state import checked_weights, copy_state, restore

Array = NDArray[np.floating]
BatchSize = int | Literal["all"]
EpochLogs = Callable[[Network, Array, Array, str, bool], Logs]

__all__ = [
    "Callback",
    "DivergenceError",
    "EarlyStopping",
    "History",
    "Logs",
    "StepResult",
    "TrainState",
    "accuracy",
    "as_arrays",
    "fit",
    "is_classification",
    "train_step",
]


class DivergenceError(RuntimeError):
    """Training produced a non-finite error or weights; the last finite weights are restored."""


@dataclass
class StepResult:
    """One weight update, as training really took it (the material for a trace).

    Attributes:
        forward: the forward pass of the batch, with the weights before the update.
        gradients: δ per layer (lecture's sign) and ∂J/∂W, ∂J/∂b.
        updates: Δw added to each parameter, in the order of ``Network.params()``.
        loss: J of the batch before the update (mean loss + L2 term).
        state: the optimizer state after the update.
    """

    forward: ForwardPass
    gradients: Gradients
    updates: list[Array]
    loss: float
    state: State


def train_step(
    network: Network,
    optimizer: Optimizer,
    state: State,
    X: Array,
    Y: Array,
    weight_decay: float = 0.0,
) -> StepResult:
    """Forward, backward and update on one batch; the weights change in place.

    X has shape (k, n_inputs) and Y (k, n_outputs).

    Every δ is computed before any weight changes, so hidden deltas use the weights from
    before this step's update, as the generalized delta rule requires.
    """
    fp = network.forward(X)
    grads = network.backward(fp, Y, weight_decay)
    loss = network.loss.mean(np.asarray(Y, dtype=network.dtype).reshape(fp.output.shape), fp.output)
    if weight_decay:
        loss += 0.5 * weight_decay * sum(float(np.sum(ly.W**2)) for ly in network.layers)
    updates, state = optimizer.update(grads.flat(), state, loss)
    for p, u in zip(network.params(), updates, strict=True):
        p += u
    return StepResult(fp, grads, updates, loss, state)


# -- the data ------------------------------------------------------------------------------
def as_arrays(network: Network, X: Any, Y: Any, what: str) -> tuple[Array, Array]:
    """X (n, n_inputs) and Y (n, n_outputs) as arrays of the network's dtype, checked.

    A 1-D Y is one output per sample. ``what`` names the data in error messages
    (``"training"``, ``"validation"``, …).

    Raises:
        ParameterError: not real numbers (complex, text, a sparse matrix), wrong shapes, no
        samples, or a NaN or infinite value (named by row).
    """
    X = _real_array(X, network.dtype, f"{what} X")
    Y = _real_array(Y, network.dtype, f"{what} Y")
    if Y.ndim == 1:
        Y = Y[:, None]
    if X.ndim != 2 or X.shape[1] != network.sizes[0]:
        raise ParameterError(
            f"{what} X: expected shape (n_samples, {network.sizes[0]}), got {X.shape}"
        )
    if Y.ndim != 2 or Y.shape != (len(X), network.sizes[-1]):
        raise ParameterError(
            f"{what} Y: expected shape ({len(X)}, {network.sizes[-1]}), got {Y.shape}"
        )
    if len(X) == 0:
        raise ParameterError(f"{what} X: no samples")
    for name, arr in (("X", X), ("Y", Y)):
        if not np.all(np.isfinite(arr)):
            row = int(np.argwhere(~np.isfinite(arr))[0][0])
            raise ParameterError(f"{what} {name}: non-finite value (NaN or inf) in row {row}")
    return X, Y


def _real_array(values: Any, dtype: np.dtype[Any], name: str) -> Array:
    """``values`` as a dense array of ``dtype``; anything that is not real numbers is a
    :class:`ParameterError` naming it (NumPy would drop an imaginary part with a mere warning,
    and say "setting an array element with a sequence" of a sparse matrix)."""
    sparse = sys.modules.get("scipy.sparse")  # not imported: then values cannot be sparse
    if sparse is not None and sparse.issparse(values):
        raise ParameterError(
            f"{name}: a scipy sparse matrix; fit takes dense arrays (pass .toarray(), or use "
            "MLPClassifier / MLPRegressor, which accept sparse input)"
        )
    if np.iscomplexobj(values):
        raise ParameterError(
            f"{name}: complex numbers (dtype {np.asarray(values).dtype}); expected real numbers"
        )
    try:
        return np.asarray(values, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name}: expected real numbers ({exc})") from None


@dataclass
class _Data:
    """The checked training data of a run, its validation set and its batch size k ≤ n."""

    X: Array
    Y: Array
    validation: tuple[Array, Array] | None
    classify: bool
    k: int


def _prepare_data(
    network: Network,
    X: Any,
    Y: Any,
    validation: tuple[Any, Any] | None,
    fraction: float,
    seed: int | None,
    batch_size: BatchSize,
) -> _Data:
    """Check the data, hold out the validation fraction if asked, and resolve the batch size."""
    X, Y = as_arrays(network, X, Y, "training")
    classify = is_classification(Y)
    if validation is not None and fraction:
        raise ParameterError("give validation_data or validation_fraction, not both")
    if validation is None and fraction:
        X, Y, validation = _split(X, Y, fraction, seed, classify)
    if validation is not None:
        validation = as_arrays(network, *validation, "validation")
    if batch_size == "all":
        batch_size = len(X)
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ParameterError(f"batch_size must be a positive integer or 'all', got {batch_size!r}")
    return _Data(X, Y, validation, classify, min(int(batch_size), len(X)))


def _epoch_logs(network: Network, X: Array, Y: Array, prefix: str, classify: bool) -> Logs:
    """The NumPy path's epoch logs: ``loss``, ``mse`` (and ``accuracy``) of the network."""
    sums = np.zeros(3)
    add_sums(network.loss, Y, network.predict(X), classify, sums)
    return logs_from_sums(sums, len(X), prefix, classify)


# -- the settings ---------------------------------------------------------------------------
def _check_settings(
    opt: Optimizer | Solver,
    epochs: int,
    weight_decay: float,
    seed: int | None,
    callbacks: Sequence[object],
    train_error: str,
    initial_state: TrainState | None,
) -> None:
    """Reject invalid settings of :func:`fit` with a message that names the parameter."""
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ParameterError(f"epochs must be a positive integer, got {epochs!r}")
    if not (isinstance(weight_decay, (int, float, np.number)) and 0 <= weight_decay < np.inf):
        raise ParameterError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
    if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ParameterError(f"seed must be None or a non-negative integer, got {seed!r}")
    for j, cb in enumerate(callbacks):
        if not (isinstance(cb, Callback) or callable(cb)):
            raise ParameterError(
                f"callbacks[{j}]: expected a Callback or a function f(epoch, logs), "
                f"got {type(cb).__name__}"
            )
    if train_error not in ("final", "running"):
        raise ParameterError(f"train_error must be 'final' or 'running', got {train_error!r}")
    if train_error == "running" and isinstance(opt, Solver):
        raise ParameterError(
            f"train_error='running' needs a step optimizer; {opt.name} measures the training "
            "error of each iteration's final weights (train_error='final')"
        )
    if initial_state is not None and isinstance(opt, Solver):
        raise ParameterError(
            f"initial_state: a {opt.name} run cannot be resumed (step optimizers can)"
        )


def _callbacks(
    callbacks: Sequence[Callback | Callable[[int, Logs], bool | None]],
    early_stopping: bool | EarlyStopping,
    has_validation: bool,
) -> list[Callback]:
    """The run's callbacks as :class:`Callback` objects, early stopping last."""
    cbs = [cb if isinstance(cb, Callback) else FunctionCallback(cb) for cb in callbacks]
    if early_stopping:
        es = early_stopping if isinstance(early_stopping, EarlyStopping) else EarlyStopping()
        if not has_validation and es.monitor in ("val_loss", "val_mse", "val_accuracy"):
            # no validation set: watch the training error instead, on a copy so that the
            # caller's object keeps its setting for a later fit that has validation data
            es = copy.copy(es)
            es.monitor = es.monitor[4:]
        cbs.append(es)
    return cbs


def _choose_engine(
    engine: str,
    network: Network,
    opt: Optimizer | Solver,
    data: _Data,
    weight_decay: float,
    epochs: int,
    initial_state: TrainState | None,
    resumable: bool,
) -> EpochTrainer | None:
    """The compiled engine for a step rule's run, or None for the NumPy loop.

    Solvers always run on NumPy (``engine="numba"`` says so in an error)."""
    if initial_state is not None and engine == "auto":
        # "auto" weighs the run's length and the compile cache; a resumed run must keep the
        # engine it started on, whose rounding it continues
        engine = initial_state.engine
    fast = select_engine(engine, network, opt, data.X, data.Y, data.k, weight_decay, epochs)
    if resumable and fast is not None and not hasattr(fast, "optimizer_state"):
        if engine == "numba":
            raise ParameterError(
                "engine='numba': this compiled engine cannot save or restore its optimizer "
                "state, so the run cannot be resumed; use engine='numpy'"
            )
        return None  # the NumPy loop's state is plain arrays: it can be saved and restored
    return fast


# -- what happens after every epoch ---------------------------------------------------------
@dataclass
class _Epochs:
    """The bookkeeping after every epoch: measure, check for divergence, log, call back.

    ``sums`` collects [Σ E, Σ ½‖y − o‖², number right] during an epoch when the training error
    is the running one; ``updates`` counts weight updates (a solver's iterations count one).
    """

    network: Network
    opt: Optimizer | Solver
    data: _Data
    measure: EpochLogs
    callbacks: list[Callback]
    history: History
    running: bool
    start: float
    updates: int = 0
    sums: NDArray[np.float64] = field(default_factory=lambda: np.zeros(3))
    last_good: Array = field(init=False)

    def __post_init__(self) -> None:
        self.last_good = self.network.get_flat()

    def logs(self, epoch: int) -> Logs:
        """The epoch's training (and validation) measurements."""
        d = self.data
        if self.running:
            logs: Logs = {"epoch": epoch, **logs_from_sums(self.sums, len(d.X), "", d.classify)}
        else:
            logs = {"epoch": epoch, **self.measure(self.network, d.X, d.Y, "", d.classify)}
        if d.validation is not None:
            logs.update(self.measure(self.network, *d.validation, "val_", d.classify))
        return logs

    def check_finite(self, epoch: int, loss: float) -> None:
        """Keep the weights if they and the error are finite; else restore the last finite
        ones and raise :class:`DivergenceError`."""
        theta = self.network.get_flat()
        if np.isfinite(loss) and np.all(np.isfinite(theta)):
            self.last_good = theta
            return
        self.network.set_flat(self.last_good)
        eta = getattr(self.opt, "learning_rate", None)
        lower = "" if eta is None else f"a lower learning rate (now {eta:g}), "
        out = self.network.layers[-1].activation.name
        raise DivergenceError(
            f"training diverged in epoch {epoch}: the error became {loss}; the weights of "
            f"epoch {epoch - 1} were restored. Try {lower}scaling the inputs, or a loss that "
            f"suits the output activation ({out} with {self.network.loss.name})."
        )

    def end(self, epoch: int) -> bool:
        """Log epoch ``epoch`` and call the callbacks; True when one of them asks to stop."""
        logs = self.logs(epoch)
        self.check_finite(epoch, logs["loss"])
        logs["time"] = time.perf_counter() - self.start
        # one L-BFGS iteration, or one GA generation, is one weight update
        logs["updates"] = epoch if isinstance(self.opt, Solver) else self.updates
        self.history.append(logs)
        # every callback sees every epoch, even after one asked to stop
        return any([bool(cb.on_epoch_end(epoch, logs)) for cb in self.callbacks])


# -- the epochs of a step rule --------------------------------------------------------------
@dataclass
class _StepRun:
    """The epochs of a step rule: shuffle, train every batch (NumPy or compiled), end the
    epoch; and the :class:`TrainState` to resume from."""

    epochs: _Epochs
    opt: Optimizer
    fast: EpochTrainer | None
    shuffle: bool
    seed: int | None
    weight_decay: float
    stoppers: list[EarlyStopping]
    wants_state: bool
    engine: Literal["numpy", "numba"] = field(init=False)

    def __post_init__(self) -> None:
        self.engine = "numpy" if self.fast is None else "numba"
        self.rng = np.random.default_rng(self.seed)
        self.index = np.arange(len(self.epochs.data.X))
        self.state = self.opt.init(self.epochs.network.params())
        self.epoch, self.stop = 0, False

    def resume(self, ts: TrainState, epochs: int) -> None:
        """Continue from ``ts``: generator, sample order, optimizer state, epoch, stop flag."""
        params = self.epochs.network.params()
        self.state = restore(ts, self.state, params, self.rng, self.index, self.fast)
        self.epoch, self.stop = ts.epoch, ts.stopped
        if ts.epoch > epochs:
            raise ParameterError(f"initial_state: {ts.epoch} epochs done, more than {epochs=}")

    def snapshot(self) -> TrainState:
        """The state to resume after the current epoch (copies)."""
        e = self.epochs
        optimizer = copy_state(self.state) if self.fast is None else self.fast.optimizer_state()
        return TrainState(
            epoch=self.epoch,
            weights=e.network.get_flat(),
            optimizer=optimizer,
            rng=dict(self.rng.bit_generator.state),
            order=self.index.copy(),
            history=e.history.copy(),
            updates=e.updates,
            elapsed=time.perf_counter() - e.start,
            stopped=self.stop,
            early_stopping=[es.state_dict() for es in self.stoppers],
            engine=self.engine,
        )

    def train_epoch(self) -> None:
        """One pass over the samples in the (shuffled) order, batch by batch."""
        e, d = self.epochs, self.epochs.data
        if self.shuffle:
            self.rng.shuffle(self.index)
        e.sums[:] = 0.0
        if self.fast is not None:  # one compiled call per epoch, same order and arithmetic
            e.updates += self.fast.run_epoch(self.index, e.sums if e.running else None, d.classify)
            return
        for s in range(0, len(self.index), d.k):
            batch = self.index[s : s + d.k]
            Yb = d.Y[batch]
            step = train_step(e.network, self.opt, self.state, d.X[batch], Yb, self.weight_decay)
            self.state = step.state
            e.updates += 1
            if e.running:
                add_sums(e.network.loss, Yb, step.forward.output, d.classify, e.sums)

    def run(self, epochs: int) -> None:
        """Epochs after the current one up to ``epochs``, until a callback asks to stop."""
        while self.epoch < epochs and not self.stop:
            self.epoch += 1
            self.train_epoch()
            self.stop = self.epochs.end(self.epoch)
            if self.wants_state:
                for cb in self.epochs.callbacks:
                    cb.on_epoch_state(self.epoch, self.snapshot)


# -- fit ------------------------------------------------------------------------------------
def fit(
    network: Network,
    X: Any,
    Y: Any,
    *,
    optimizer: str | Optimizer | Solver = "sgd",
    learning_rate: float | None = None,
    epochs: int = 100,
    batch_size: BatchSize = 1,
    shuffle: bool = True,
    seed: int | None = None,
    weight_decay: float = 0.0,
    validation_data: tuple[Any, Any] | None = None,
    validation_fraction: float = 0.0,
    early_stopping: bool | EarlyStopping = False,
    callbacks: Sequence[Callback | Callable[[int, Logs], bool | None]] = (),
    engine: Literal["auto", "numba", "numpy"] = "auto",
    initial_state: TrainState | None = None,
    train_error: Literal["final", "running"] = "final",
) -> History:
    """Train ``network`` in place by backpropagation.

    Args:
        network: the network to train (its weights change in place).
        X: inputs, shape (n_samples, n_inputs).
        Y: targets, shape (n_samples, n_outputs) (or (n_samples,) for one output).
        optimizer: a name (``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adam"``,
            ``"rprop+"``, ``"rprop-"``, ``"irprop+"``, ``"irprop-"``, ``"lbfgs"``,
            ``"genetic"``) or object. L-BFGS and the genetic algorithm ignore ``batch_size``
            (the GA's fitness batch is :attr:`~retroprop.train.solvers.Genetic.batch_size`).
        learning_rate: η for an optimizer given by name (its default otherwise).
        epochs: passes over the training set (iterations for L-BFGS, generations for the GA).
        batch_size: 1 (online), k (mini-batch) or ``"all"`` (full batch).
        shuffle: visit samples in a new random order every epoch.
        seed: seeds the sample order and the validation split.
        weight_decay: λ of the L2 penalty (λ/2) Σ‖W‖².
        validation_data: (X_val, Y_val) to measure after every epoch.
        validation_fraction: or hold out this fraction of (X, Y) (stratified for classes).
        early_stopping: True, or an :class:`EarlyStopping` with its settings.
        callbacks: :class:`Callback` objects or functions ``f(epoch, logs)``.
        engine: ``"numpy"`` runs this module's loop (the reference); ``"numba"`` the compiled
            kernels of :mod:`retroprop._fast` (same sample order, equal to rounding; built-in
            activations and losses, SGD/momentum/Nesterov/Adam); ``"auto"`` the compiled one
            when it applies and the run is long enough to repay compiling it (n_samples ×
            epochs ≥ 20,000; compiled code is cached per machine).
        initial_state: continue a run from this :class:`TrainState` (from a callback's
            :meth:`~Callback.on_epoch_state`): with the same data and settings the result is
            the one of the uninterrupted run, bit for bit (with ``engine="auto"`` the run keeps
            the engine it started on). Step optimizers only.
        train_error: how each epoch's training ``loss``, ``mse`` and ``accuracy`` are measured.
            ``"final"``: on the whole training set with the epoch's final weights (the
            lecture's MSE; one more forward pass over the set per epoch). ``"running"``: the
            mean over the epoch of each sample's error as training met it, before its update
            (what FANN, scikit-learn and Keras report; it saves that pass, and lags the
            weights by up to an epoch). Step optimizers only (L-BFGS and the GA evaluate
            the final weights). Validation logs are always measured at the end of the epoch.

    Returns:
        The :class:`History` of the run.

    Raises:
        ValueError: bad shapes, non-finite data, or an invalid setting (named in the message).
        DivergenceError: the error or the weights became non-finite; the weights of the last
            finite epoch are restored.
    """
    opt = get_optimizer(
        optimizer, **({} if learning_rate is None else {"learning_rate": learning_rate})
    )
    _check_settings(opt, epochs, weight_decay, seed, callbacks, train_error, initial_state)
    data = _prepare_data(network, X, Y, validation_data, validation_fraction, seed, batch_size)
    cbs = _callbacks(callbacks, early_stopping, data.validation is not None)
    state_wanted = any(wants_state(cb) for cb in cbs)
    fast = _choose_engine(
        engine, network, opt, data, weight_decay, int(epochs), initial_state,
        resumable=state_wanted or initial_state is not None,
    )  # fmt: skip
    history = History() if initial_state is None else initial_state.history.copy()
    for cb in cbs:
        cb.on_train_begin(network)
    stoppers = [cb for cb in cbs if isinstance(cb, EarlyStopping)]
    if initial_state is not None:
        _resume_weights(network, initial_state, stoppers)
    elapsed = 0.0 if initial_state is None else initial_state.elapsed
    bookkeeping = _Epochs(
        network, opt, data, _epoch_logs if fast is None else fast.epoch_logs, cbs, history,
        running=train_error == "running", start=time.perf_counter() - elapsed,
        updates=0 if initial_state is None else initial_state.updates,
    )  # fmt: skip
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if isinstance(opt, Solver):
            problem = Problem(network, data.X, data.Y, int(epochs), weight_decay, seed)
            opt.run(problem, bookkeeping.end)
        else:
            run = _StepRun(
                bookkeeping, opt, fast, shuffle, seed, weight_decay, stoppers, state_wanted
            )
            if initial_state is not None:
                run.resume(initial_state, epochs)
            run.run(epochs)
    for cb in cbs:
        cb.on_train_end(history)
    return history


def _resume_weights(network: Network, ts: TrainState, stoppers: list[EarlyStopping]) -> None:
    """Put the weights and the early-stopping states of ``ts`` in place."""
    network.set_flat(checked_weights(network, ts.weights))
    if len(ts.early_stopping) != len(stoppers):
        raise ParameterError(
            f"initial_state: {len(ts.early_stopping)} early-stopping states for "
            f"{len(stoppers)} EarlyStopping callbacks"
        )
    for es_cb, es_state in zip(stoppers, ts.early_stopping, strict=True):
        es_cb.load_state_dict(es_state)


def _split(
    X: Array, Y: Array, fraction: float, seed: int | None, classify: bool
) -> tuple[Array, Array, tuple[Array, Array]]:
    """Hold out ``fraction`` of the samples for validation (stratified for classification)."""
    from sklearn.model_selection import train_test_split

    if not 0 < fraction < 1:
        raise ParameterError(f"validation_fraction must be in (0, 1), got {fraction}")
    labels = None
    if classify:
        labels = Y[:, 0] if Y.shape[1] == 1 else np.argmax(Y, axis=1)
        if np.min(np.bincount(labels.astype(np.int64))) < 2:
            labels = None  # too few samples of some class to stratify
    try:
        Xt, Xv, Yt, Yv = train_test_split(
            X, Y, test_size=fraction, random_state=seed, stratify=labels
        )
    except ValueError as exc:
        raise ParameterError(f"validation_fraction={fraction}: {exc}") from None
    return Xt, Yt, (Xv, Yv)
