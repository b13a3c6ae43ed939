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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from retroprop._fast import select_engine
from retroprop.core.network import ForwardPass, Gradients, Network
from retroprop.core.optimizers import LBFGS, Optimizer, State, get_optimizer
from retroprop.errors import ParameterError
from retroprop.train.callbacks import (
    Callback,
    EarlyStopping,
    History,
    TrainState,
    _FunctionCallback,
    _wants_state,
    accuracy,
    add_sums,
    is_classification,
    logs_from_sums,
)
from retroprop.train.genetic import Genetic, evolve
from retroprop.train.state import checked_weights, copy_state, restore

Array = NDArray[np.floating]
Logs = dict[str, float]
BatchSize = int | Literal["all"]

__all__ = [
    "Callback",
    "DivergenceError",
    "EarlyStopping",
    "History",
    "StepResult",
    "TrainState",
    "accuracy",
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


# -- the loop ------------------------------------------------------------------------------
def _as_arrays(network: Network, X: Any, Y: Any, what: str) -> tuple[Array, Array]:
    X = np.asarray(X, dtype=network.dtype)
    Y = np.asarray(Y, dtype=network.dtype)
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


def _epoch_logs(network: Network, X: Array, Y: Array, prefix: str, classify: bool) -> Logs:
    sums = np.zeros(3)
    add_sums(network.loss, Y, network.predict(X), classify, sums)
    return logs_from_sums(sums, len(X), prefix, classify)


def fit(
    network: Network,
    X: Any,
    Y: Any,
    *,
    optimizer: str | Optimizer | LBFGS | Genetic = "sgd",
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
            (the GA's fitness batch is :attr:`Genetic.batch_size`).
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
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ParameterError(f"epochs must be a positive integer, got {epochs!r}")
    if not weight_decay >= 0:  # also catches NaN
        raise ParameterError(f"weight_decay must be >= 0, got {weight_decay}")
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
    running = train_error == "running"
    if running and isinstance(opt, (LBFGS, Genetic)):
        raise ParameterError(
            f"train_error='running' needs a step optimizer; {opt.name} measures the training "
            "error of each iteration's final weights (train_error='final')"
        )
    if initial_state is not None and isinstance(opt, (LBFGS, Genetic)):
        raise ParameterError(
            f"initial_state: a {opt.name} run cannot be resumed (step optimizers can)"
        )
    X, Y = _as_arrays(network, X, Y, "training")
    classify = is_classification(Y)
    if validation_data is not None and validation_fraction:
        raise ParameterError("give validation_data or validation_fraction, not both")
    if validation_data is None and validation_fraction:
        X, Y, validation_data = _split(X, Y, validation_fraction, seed, classify)
    if validation_data is not None:
        validation_data = _as_arrays(network, *validation_data, "validation")
    n = len(X)
    if batch_size == "all":
        batch_size = n
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ParameterError(f"batch_size must be a positive integer or 'all', got {batch_size!r}")
    k = min(int(batch_size), n)
    if initial_state is not None and engine == "auto":
        # "auto" weighs the run's length and the compile cache; a resumed run must keep the
        # engine it started on, whose rounding it continues
        engine = initial_state.engine
    fast = select_engine(engine, network, opt, X, Y, k, weight_decay, int(epochs))

    cbs = [cb if isinstance(cb, Callback) else _FunctionCallback(cb) for cb in callbacks]
    if early_stopping:
        es = early_stopping if isinstance(early_stopping, EarlyStopping) else EarlyStopping()
        if validation_data is None and es.monitor in ("val_loss", "val_mse", "val_accuracy"):
            # no validation set: watch the training error instead, on a copy so that the
            # caller's object keeps its setting for a later fit that has validation data
            es = copy.copy(es)
            es.monitor = es.monitor[4:]
        cbs.append(es)
    wants_state = any(_wants_state(cb) for cb in cbs)
    resumable = wants_state or initial_state is not None
    if resumable and fast is not None and not hasattr(fast, "optimizer_state"):
        if engine == "numba":
            raise ParameterError(
                "engine='numba': this compiled engine cannot save or restore its optimizer "
                "state, so the run cannot be resumed; use engine='numpy'"
            )
        fast = None  # the NumPy loop's state is plain arrays: it can be saved and restored
    epoch_logs = _epoch_logs if fast is None else fast.epoch_logs
    history = History() if initial_state is None else initial_state.history.copy()
    for cb in cbs:
        cb.on_train_begin(network)
    stoppers = [cb for cb in cbs if isinstance(cb, EarlyStopping)]
    start = time.perf_counter() - (0.0 if initial_state is None else initial_state.elapsed)
    updates = 0 if initial_state is None else initial_state.updates
    if initial_state is not None:
        network.set_flat(checked_weights(network, initial_state.weights))
        if len(initial_state.early_stopping) != len(stoppers):
            raise ParameterError(
                f"initial_state: {len(initial_state.early_stopping)} early-stopping states for "
                f"{len(stoppers)} EarlyStopping callbacks"
            )
        for es_cb, es_state in zip(stoppers, initial_state.early_stopping, strict=True):
            es_cb.load_state_dict(es_state)
    last_good = network.get_flat()

    sums = np.zeros(3)  # [Σ E, Σ ½‖y − o‖², number right] of the epoch, when running

    def end_epoch(epoch: int) -> bool:
        nonlocal last_good
        if running:
            logs: Logs = {"epoch": epoch, **logs_from_sums(sums, n, "", classify)}
        else:
            logs = {"epoch": epoch, **epoch_logs(network, X, Y, "", classify)}
        if validation_data is not None:
            logs.update(epoch_logs(network, *validation_data, "val_", classify))
        theta = network.get_flat()
        if not (np.isfinite(logs["loss"]) and np.all(np.isfinite(theta))):
            network.set_flat(last_good)
            raise DivergenceError(
                f"training diverged in epoch {epoch}: the error became {logs['loss']}; the "
                f"weights of epoch {epoch - 1} were restored. Try a lower learning rate (now "
                f"{opt.learning_rate:g}), scaling the inputs, or a loss that suits the output "
                f"activation ({network.layers[-1].activation.name} with {network.loss.name})."
            )
        last_good = theta
        logs["time"] = time.perf_counter() - start
        # one L-BFGS iteration, or one GA generation, is one weight update
        logs["updates"] = epoch if isinstance(opt, (LBFGS, Genetic)) else updates
        history.append(logs)
        # every callback sees every epoch, even after one asked to stop
        return any([bool(cb.on_epoch_end(epoch, logs)) for cb in cbs])

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if isinstance(opt, LBFGS):
            _fit_lbfgs(network, opt, X, Y, epochs, weight_decay, end_epoch)
        elif isinstance(opt, Genetic):
            evolve(network, opt, X, Y, epochs, end_epoch, weight_decay=weight_decay, seed=seed)
        else:
            rng = np.random.default_rng(seed)
            index = np.arange(n)
            state = opt.init(network.params())
            first, stop = 1, False
            if initial_state is not None:
                state = restore(initial_state, state, network.params(), rng, index, fast)
                first, stop = initial_state.epoch + 1, initial_state.stopped
                if first > epochs + 1:
                    done = initial_state.epoch
                    raise ParameterError(f"initial_state: {done} epochs done, more than {epochs=}")

            def snapshot() -> TrainState:
                return TrainState(
                    epoch=epoch,
                    weights=network.get_flat(),
                    optimizer=copy_state(state) if fast is None else fast.optimizer_state(),
                    rng=dict(rng.bit_generator.state),
                    order=index.copy(),
                    history=history.copy(),
                    updates=updates,
                    elapsed=time.perf_counter() - start,
                    stopped=stop,
                    early_stopping=[es_cb.state_dict() for es_cb in stoppers],
                    engine="numpy" if fast is None else "numba",
                )

            for epoch in range(first, epochs + 1):
                if stop:
                    break
                if shuffle:
                    rng.shuffle(index)
                sums[:] = 0.0
                if fast is not None:  # one compiled call per epoch, same order and arithmetic
                    updates += fast.run_epoch(index, sums if running else None, classify)
                else:
                    for s in range(0, n, k):
                        batch = index[s : s + k]
                        Yb = Y[batch]
                        step = train_step(network, opt, state, X[batch], Yb, weight_decay)
                        state = step.state
                        updates += 1
                        if running:
                            add_sums(network.loss, Yb, step.forward.output, classify, sums)
                stop = end_epoch(epoch)
                if wants_state:
                    for cb in cbs:
                        cb.on_epoch_state(epoch, snapshot)
    for cb in cbs:
        cb.on_train_end(history)
    return history


def _fit_lbfgs(
    network: Network,
    opt: LBFGS,
    X: Array,
    Y: Array,
    epochs: int,
    weight_decay: float,
    end_epoch: Callable[[int], bool],
) -> None:
    """Full-batch training with scipy's L-BFGS-B; one iteration counts as one epoch."""
    from scipy.optimize import minimize

    def objective(theta: Array) -> tuple[float, Array]:
        network.set_flat(theta)
        J, grads = network.gradient(X, Y, weight_decay)
        return J, np.concatenate([g.ravel() for g in grads.flat()]).astype(np.float64)

    iteration = 0

    def callback(intermediate_result: Any) -> None:
        nonlocal iteration
        iteration += 1
        network.set_flat(intermediate_result.x.astype(network.dtype))
        if end_epoch(iteration):
            raise StopIteration

    result = minimize(
        objective,
        network.get_flat().astype(np.float64),
        jac=True,
        method="L-BFGS-B",
        callback=callback,
        options={"maxiter": epochs, "maxfun": opt.max_fun, "gtol": opt.tol, "maxcor": opt.memory},
    )
    network.set_flat(result.x.astype(network.dtype))


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
