"""The one training loop. The update mode is only the batch size:

- ``batch_size=1``: online, the lecture's default: weights change after every sample;
- ``batch_size=k``: mini-batch: after every k samples, with the mean gradient of the k;
- ``batch_size="all"``: full batch: once per epoch, with the mean gradient of the whole set.

Samples are visited in an order drawn by a seeded generator (indices are shuffled, not data),
so the same seed gives the same weights bit for bit. After every epoch the loop measures the
training and validation error, checks that weights and error are finite, and calls the
callbacks; early stopping is one of them.

**Resuming.** A run can be stopped and resumed to the same weights, bit for bit: a callback
that overrides :meth:`Callback.on_epoch_state` receives, after every epoch, a function that
builds the :class:`TrainState` (weights, optimizer state, generator state, sample order,
history), and ``fit(..., initial_state=state)`` continues from it as if the run had never
stopped (with the same data and settings; with ``engine="auto"`` the run keeps the engine it
started on). Step optimizers only.

**Engines.** ``engine="numpy"`` runs this module's loop (the reference); ``"numba"`` the
compiled kernels of :mod:`retroprop._fast` (same sample order, equal to rounding; built-in
activations and losses, SGD/momentum/Nesterov/Adam, and with ``batch_size="all"`` also the
Rprop family, Quickprop and SARPROP; L-BFGS's J and ∇J from the full-batch pass);
``"auto"`` the compiled one when it
applies and the run is long enough to repay compiling it (n_samples × epochs ≥ 20,000;
compiled code is cached per machine). A compiled full-batch run with nothing to do between
epochs (no callback overriding ``on_epoch_end`` or ``on_epoch_state``, no validation set) runs
its epochs several per compiled call, about 20 ms each: the same weights and history, bit for
bit, each epoch's ``time`` its share of the call.

**Training error.** ``train_error`` says how each epoch's training ``loss``, ``mse`` and
``accuracy`` are measured. ``"final"``: on the whole training set with the epoch's final
weights (the lecture's MSE; one more forward pass over the set per epoch — except for full
batches on the compiled engine, where the pass that computes the next step's gradient gives it:
the error of the weights after the step is that of the weights before the next one).
``"running"``: the
mean over the epoch of each sample's error as training met it, before its update (what FANN,
scikit-learn and Keras report; it saves that pass, and lags the weights by up to an epoch).
Step optimizers only (L-BFGS and the GA evaluate the final weights). Validation logs are
always measured at the end of the epoch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from retroprop._fast.engine import EpochTrainer, select_engine
from retroprop.core.metrics import Logs, accuracy, is_classification
from retroprop.core.network import Network
from retroprop.core.optimizers import Optimizer
from retroprop.errors import ParameterError
from retroprop.train.callbacks import (
    Callback,
    EarlyStopping,
    History,
    TrainState,
    wants_state,
)
from retroprop.train.epochs import (
    DivergenceError,
    Epochs,
    StepResult,
    StepRun,
    numpy_epoch_logs,
    train_step,
)
from retroprop.train.inputs import (
    BatchSize,
    RunData,
    as_arrays,
    check_settings,
    make_callbacks,
    prepare_data,
)
from retroprop.train.registry import get_optimizer
from retroprop.train.solvers import Problem, Solver
from retroprop.train.state import checked_weights

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


def _choose_engine(
    engine: str,
    network: Network,
    opt: Optimizer | Solver,
    data: RunData,
    weight_decay: float,
    epochs: int,
    initial_state: TrainState | None,
    resumable: bool,
) -> EpochTrainer | None:
    """The compiled engine for a step rule's run, or None for the NumPy loop.

    L-BFGS gets the full-batch trainer for its J and ∇J; the GA runs on NumPy
    (``engine="numba"`` says so in an error)."""
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
    """Train ``network`` in place by backpropagation; return the run's :class:`History`.

    Args:
        network: the network to train (its weights change in place).
        X: inputs, shape (n_samples, n_inputs).
        Y: targets, shape (n_samples, n_outputs) (or (n_samples,) for one output).
        optimizer: a name of :data:`~retroprop.train.registry.TRAINERS` or an object; the
            solvers (L-BFGS, the GA) ignore ``batch_size``.
        learning_rate: η for an optimizer given by name (its default otherwise).
        epochs: passes over the training set (iterations for L-BFGS, generations for the GA).
        batch_size: 1 (online), k (mini-batch) or ``"all"`` (full batch); a batch's gradient is
            the *mean* over its samples, not the sum (as in scikit-learn, Keras, PyTorch).
        shuffle: visit samples in a new random order every epoch.
        seed: seeds the sample order and the validation split.
        weight_decay: λ of the L2 penalty (λ/2) Σ‖W‖².
        validation_data: (X_val, Y_val) to measure after every epoch.
        validation_fraction: or hold out this fraction of (X, Y) (stratified for classes).
        early_stopping: True, or an :class:`EarlyStopping` with its settings.
        callbacks: :class:`Callback` objects or functions ``f(epoch, logs)``.
        engine: ``"numpy"``, ``"numba"`` or ``"auto"`` (*Engines* in the module docstring).
        initial_state: continue a run from this :class:`TrainState` (*Resuming* above).
        train_error: ``"final"`` or ``"running"`` (*Training error* in the module docstring).

    Raises:
        ValueError: bad shapes, non-finite data, or an invalid setting (named in the message).
        DivergenceError: the error or the weights became non-finite (last finite ones restored).
    """
    opt = get_optimizer(
        optimizer, **({} if learning_rate is None else {"learning_rate": learning_rate})
    )
    check_settings(opt, epochs, weight_decay, seed, callbacks, train_error, initial_state)
    data = prepare_data(network, X, Y, validation_data, validation_fraction, seed, batch_size)
    cbs = make_callbacks(callbacks, early_stopping, data.validation is not None)
    state_wanted = any(wants_state(cb) for cb in cbs)
    fast = _choose_engine(
        engine, network, opt, data, weight_decay, int(epochs), initial_state,
        resumable=state_wanted or initial_state is not None,
    )  # fmt: skip
    bookkeeping = _begin(network, opt, data, fast, cbs, train_error, initial_state)
    return _epoch_loop(bookkeeping, fast, epochs, shuffle, seed, weight_decay, initial_state)


def _begin(
    network: Network,
    opt: Optimizer | Solver,
    data: RunData,
    fast: EpochTrainer | None,
    cbs: list[Callback],
    train_error: Literal["final", "running"],
    initial_state: TrainState | None,
) -> Epochs:
    """Start the run: a new history (or the resumed one), the callbacks' ``on_train_begin``,
    the resumed weights, and the per-epoch bookkeeping with the clock at the time spent."""
    history = History() if initial_state is None else initial_state.history.copy()
    for cb in cbs:
        cb.on_train_begin(network)
    if initial_state is not None:
        _resume_weights(network, initial_state, _stoppers(cbs))
    elapsed = 0.0 if initial_state is None else initial_state.elapsed
    return Epochs(
        network, opt, data, numpy_epoch_logs if fast is None else fast.epoch_logs, cbs, history,
        running=train_error == "running", start=time.perf_counter() - elapsed,
        updates=0 if initial_state is None else initial_state.updates,
    )  # fmt: skip


def _epoch_loop(
    bookkeeping: Epochs,
    fast: EpochTrainer | None,
    epochs: int,
    shuffle: bool,
    seed: int | None,
    weight_decay: float,
    initial_state: TrainState | None,
) -> History:
    """Run the epochs, a solver's whole run or a step rule's epochs (resumed if asked), then
    the callbacks' ``on_train_end``; return the history.

    Overflow in the weights is not a warning here: :meth:`Epochs.check_finite` turns it into
    a :class:`DivergenceError` at the end of the epoch."""
    opt, network, data = bookkeeping.opt, bookkeeping.network, bookkeeping.data
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if isinstance(opt, Solver):
            objective = getattr(fast, "value_and_grad", None)  # the compiled J and ∇J
            problem = Problem(network, data.X, data.Y, int(epochs), weight_decay, seed, objective)
            opt.run(problem, bookkeeping.end)
        else:
            cbs = bookkeeping.callbacks
            state_wanted = any(wants_state(cb) for cb in cbs)
            run = StepRun(
                bookkeeping, opt, fast, shuffle, seed, weight_decay, _stoppers(cbs), state_wanted
            )
            if initial_state is not None:
                run.resume(initial_state, epochs)
            run.run(epochs)
    for cb in bookkeeping.callbacks:
        cb.on_train_end(bookkeeping.history)
    return bookkeeping.history


def _stoppers(cbs: list[Callback]) -> list[EarlyStopping]:
    """The early-stopping callbacks, in order (their states are saved and resumed)."""
    return [cb for cb in cbs if isinstance(cb, EarlyStopping)]


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
