"""Training algorithms side by side: same network, same initial weights, same time budget.

:func:`compare` builds one network, then trains a copy of it (``net.copy()``, so every solver
starts from exactly the same θ₀) with each algorithm until the wall-time budget is spent.
Only training counts against the budget. Before its clock starts, every run warms up: one
epoch on its first batch (the same network, dtype, loss, optimizer, batch size and engine as
the timed run), and waits for the kernel generated for the architecture (which other commands
let compile in the background while the generic kernels train), so the one-time costs —
compiling the numba kernels, loading them from the cache, lazy imports — are paid outside the
budget, and every timed run uses the kernel it will use from then on. The clock is read at
the end of every epoch (every iteration for L-BFGS, every generation for the genetic
algorithm): after t seconds, with the last epoch d seconds long, the run stops when
t + d/2 ≥ budget, that is at the epoch end nearest the budget. A run so ends within half an
epoch of its budget, before or after it, and does not start a long epoch that would mostly fall
past it; only a first epoch longer than the whole budget overruns it by more. ``seconds`` is
the time the run really took, warm-up excluded.

Regression runs also report R² and the mean absolute error (scikit-learn's ``r2_score`` and
``mean_absolute_error``), in the target's own units when ``decode_target`` maps the network's
outputs back to them (the CLI passes the preprocessing's ``decode``).

Default settings per solver (:data:`SOLVER_DEFAULTS`), chosen for sigmoid networks with the
lecture's squared error on inputs scaled to [0, 1]:

=========  ==========  ===================================================================
solver     batch size  settings
=========  ==========  ===================================================================
sgd        1 (online)  η = 0.5, the lecture's per-sample delta rule
momentum   1 (online)  η = 0.1, α = 0.9 (effective step η / (1 − α) = 1)
rprop      all         iRprop⁺, Δ₀ = 0.1 (Rprop needs the full-batch gradient's sign)
adam       32          η = 0.01 (the paper's 0.001 is slow for saturating sigmoids)
lbfgs      all         scipy's L-BFGS-B with tol = 0, so it runs until the budget (or
                       until scipy's relative-reduction test says it has converged)
genetic    —           :class:`~retroprop.train.solvers.Genetic` defaults (P = 100, fitness on all)
=========  ==========  ===================================================================

``settings`` overrides these per solver name: ``batch_size``, ``shuffle``, ``weight_decay`` and
``engine`` go to fit(), the rest to the optimizer, e.g.
``{"sgd": {"learning_rate": 0.1}, "genetic": {"population_size": 50}}``. ``clock`` measures
every budget and time of the result (a test can pass a simulated clock).

``grow=True`` adds a cascade-correlation run (:mod:`retroprop.apps.compare_growth`): a network
grown one hidden neuron at a time, its training and test error against the number of neurons.

The ``modes`` comparison trains one optimizer with batch size 1 (online), k (mini-batch) and
all (full batch) with the same η — the lecture's "per sample or per whole set?" question.

:mod:`retroprop.apps.compare_view` turns a :class:`ComparisonResult` into table rows and one plot.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from retroprop._fast.engine import compiled_allowed, unsupported, wait_for_compiles
from retroprop.apps.compare_growth import Growth
from retroprop.apps.compare_growth import grow as grow_network
from retroprop.core.network import Network
from retroprop.core.optimizers import FULL_BATCH_RULES, Optimizer
from retroprop.errors import ParameterError
from retroprop.train.callbacks import FunctionCallback
from retroprop.train.loop import (
    Callback,
    DivergenceError,
    History,
    Logs,
    accuracy,
    fit,
    is_classification,
)
from retroprop.train.registry import get_optimizer
from retroprop.train.solvers import LBFGS, Genetic

Array = NDArray[np.floating]
Clock = Callable[[], float]
"""A function returning seconds since some fixed point (:func:`time.perf_counter`)."""

__all__ = [
    "MODES",
    "SOLVERS",
    "SOLVER_DEFAULTS",
    "ComparisonResult",
    "SolverResult",
    "compare",
]

SOLVERS = ("sgd", "momentum", "rprop", "adam", "lbfgs", "genetic")
MODES = ("online", "minibatch", "batch")
SOLVER_DEFAULTS: dict[str, dict[str, Any]] = {
    "sgd": {"learning_rate": 0.5, "batch_size": 1},
    "momentum": {"learning_rate": 0.1, "batch_size": 1},
    "nesterov": {"learning_rate": 0.1, "batch_size": 1},
    "rprop": {"batch_size": "all"},
    "adam": {"learning_rate": 0.01, "batch_size": 32},
    "lbfgs": {"tol": 0.0, "max_fun": 10**9},
    "genetic": {},
}
"""fit() settings per solver name; other names of ``OPTIMIZERS`` use mini-batches of 32, or the
full batch for the rules made for it (``FULL_BATCH_RULES``: the Rprops, quickprop, sarprop)."""


@dataclass
class SolverResult:
    """One training run of a comparison.

    Attributes:
        label: the solver's name, or the mode (``"online"``, …) in a modes comparison.
        optimizer: the optimizer that was run.
        batch_size: its batch size.
        learning_rate: its η (None for L-BFGS and the GA).
        start_loss: training loss at the weights the run started from (the same θ₀ for all).
        train_loss: training loss at the end.
        train_accuracy: training accuracy at the end (None for regression).
        test_loss: test loss at the end (None without a test set).
        test_accuracy: test accuracy at the end (None for regression or without a test set).
        epochs: epochs run (L-BFGS iterations, GA generations).
        updates: weight updates (one per batch; per iteration or generation for L-BFGS and GA).
        seconds: wall time of the run (without its warm-up).
        time_to_target: seconds until the training loss first reached ``target_loss``.
        time_to_accuracy: seconds until the training accuracy first reached ``target_accuracy``.
        history: per-epoch logs (``loss``, ``mse``, ``accuracy``, ``time``, ``updates``, …);
            ``time`` is the seconds since the run's start.
        error: the message if training diverged (the metrics are then of the last finite epoch).
        train_r2: R² on the training set at the end (regression only, else None).
        train_mae: mean absolute error on the training set at the end, in the target's units
            (regression only, else None).
        test_r2: R² on the test set at the end (None for classification or without one).
        test_mae: mean absolute error on the test set at the end (None for classification
            or without one).
    """

    label: str
    optimizer: str
    batch_size: int | str
    learning_rate: float | None
    start_loss: float
    train_loss: float
    train_accuracy: float | None
    test_loss: float | None
    test_accuracy: float | None
    epochs: int
    updates: int
    seconds: float
    time_to_target: float | None
    time_to_accuracy: float | None
    history: History
    error: str | None = None
    train_r2: float | None = None
    train_mae: float | None = None
    test_r2: float | None = None
    test_mae: float | None = None


@dataclass
class ComparisonResult:
    """All runs of :func:`compare`: ``solvers`` and ``modes`` map a label to its result.

    ``network`` is the architecture's repr, ``initial_weights`` the θ₀ every run started from
    and ``start_loss`` the training loss there; ``task`` says which metrics the runs have
    (accuracy for classification, R² and MAE for regression); ``growth`` is the
    cascade-correlation run (``grow=True``), error against the number of hidden neurons.
    """

    solvers: dict[str, SolverResult]
    modes: dict[str, SolverResult]
    network: str
    initial_weights: Array
    start_loss: float
    budget_seconds: float
    target_loss: float | None
    target_accuracy: float | None
    task: Literal["classification", "regression"] = "classification"
    growth: Growth | None = None


class _Budget(Callback):
    """Stops the run at the epoch end nearest its budget, on the comparison's clock.

    At every epoch end, t = seconds since ``start`` and d = the epoch's length (the first
    epoch's includes fit's set-up); the run stops when t + d/2 ≥ budget. Keeps the logs, with
    ``time`` = t, even if training diverges.
    """

    def __init__(self, budget_seconds: float, clock: Clock, start: float) -> None:
        self.budget, self.clock, self.start = budget_seconds, clock, start
        self.history = History()
        self.last = 0.0

    def on_epoch_end(self, epoch: int, logs: Logs) -> bool | None:
        t = self.clock() - self.start
        d, self.last = t - self.last, t
        self.history.append({**logs, "time": t})
        return t + d / 2 >= self.budget


def _time_to(history: History, key: str, target: float | None, below: bool) -> float | None:
    """Seconds until ``key`` first reached ``target`` (at or below it if ``below``), or None."""
    if target is None or key not in history:
        return None
    for value, t in zip(history[key], history["time"], strict=True):
        if (value <= target) if below else (value >= target):
            return t
    return None


_FIT_KEYS = ("batch_size", "shuffle", "weight_decay", "engine")


_Plan = tuple[Optimizer | LBFGS | Genetic, dict[str, Any]]
"""One run's optimizer object and its other fit() settings."""


_Data = tuple[Array, Array, Array | None, Array | None]
"""The training inputs and targets, then the test ones (or None, None)."""


def _plan(name: str, overrides: Mapping[str, Any]) -> _Plan:
    """The optimizer object and the other fit() settings of one solver (validated now)."""
    full = name.lower() in FULL_BATCH_RULES
    default = SOLVER_DEFAULTS.get(name.lower(), {"batch_size": "all" if full else 32})
    chosen = {**default, **overrides}
    # the GA's batch_size is its own setting (the fitness batch); fit() ignores it for the GA
    fit_keys = [k for k in _FIT_KEYS if not (k == "batch_size" and name.lower() == "genetic")]
    opt = get_optimizer(name, **{k: v for k, v in chosen.items() if k not in fit_keys})
    return opt, {k: v for k, v in chosen.items() if k in fit_keys}


def _engine(net0: Network, plan: _Plan) -> _Plan:
    """The plan with its engine decided: ``"numba"`` or ``"numpy"`` for a step rule.

    ``engine="auto"`` takes the compiled engine whenever it applies to a run as long as a
    budgeted one (see :func:`retroprop._fast.engine.select_engine`); naming the choice lets the
    warm-up compile exactly what the timed run will use. Solvers run on NumPy: left as planned.

    Raises:
        ParameterError: an unknown engine, or ``"numba"`` where it does not apply (checked
            before any run trains).
    """
    opt, kwargs = plan
    full = kwargs.get("batch_size") == "all"
    compiled = compiled_allowed(
        kwargs.get("engine", "auto"), lambda: unsupported(net0, opt, full_batch=full)
    )
    if not isinstance(opt, Optimizer):
        return plan
    return opt, {**kwargs, "engine": "numba" if compiled else "numpy"}


def _warm_up(net0: Network, plan: _Plan, X: Array, Y: Array, seed: int) -> None:
    """One untimed epoch on the first batch with the timed run's settings and engine, then the
    wait for the kernel generated for the architecture, so compiling (or loading the compiled
    kernels) and lazy imports happen before the clock runs.

    The batch has the run's batch size (all rows for ``"all"``): the engine's path depends on
    it (online SGD has kernels of its own, wide batches go to BLAS). Solvers take two rows.
    """
    opt, kwargs = plan
    rows = 2
    if isinstance(opt, Optimizer):
        k = kwargs.get("batch_size", 1)
        rows = len(X) if k == "all" else max(int(k), 2)
    try:
        # a callback after every epoch, as the timed run's budget: the same compiled path (a
        # run without one takes its epochs several per compiled call, another kernel)
        fit(net0.copy(), X[:rows], Y[:rows], optimizer=opt, epochs=1, seed=seed,
            callbacks=[FunctionCallback(lambda epoch, logs: None)], **kwargs)  # fmt: skip
    except DivergenceError:
        pass  # the timed run will report it
    wait_for_compiles()  # a new architecture's own kernel (nothing to wait for once cached)


def _regression_scores(
    Y: Array, O: Array, decode: Callable[[Array], Array] | None
) -> tuple[float | None, float | None]:
    """R² and the mean absolute error of outputs O for targets Y (n, n_outputs), in the
    target's units (``decode`` maps both there); None where they are undefined (fewer than
    two rows, or non-finite outputs)."""
    from sklearn.metrics import mean_absolute_error, r2_score

    y, o = (Y, O) if decode is None else (decode(Y), decode(O))
    if len(Y) < 2 or not np.all(np.isfinite(o)):
        return None, None
    return float(r2_score(y, o)), float(mean_absolute_error(y, o))


def _run(
    net0: Network,
    label: str,
    plan: _Plan,
    data: _Data,
    budget_seconds: float,
    seed: int,
    clock: Clock,
    decode: Callable[[Array], Array] | None,
) -> SolverResult:
    X, Y, X_test, Y_test = data
    _warm_up(net0, plan, X, Y, seed)
    opt, kwargs = plan
    net = net0.copy()
    start = clock()
    budget = _Budget(budget_seconds, clock, start)
    error = None
    try:
        fit(net, X, Y, optimizer=opt, epochs=10**9, seed=seed, callbacks=[budget], **kwargs)
    except DivergenceError as exc:
        error = str(exc)
    seconds = clock() - start
    classify = is_classification(Y)
    O = net.predict(X)
    scores: dict[str, float | None] = {}
    if not classify:
        scores["train_r2"], scores["train_mae"] = _regression_scores(Y, O, decode)
    test_loss = test_accuracy = None
    if X_test is not None and Y_test is not None:
        O_test = net.predict(X_test)
        test_loss = net.loss.mean(Y_test, O_test)
        test_accuracy = accuracy(Y_test, O_test) if classify else None
        if not classify:
            scores["test_r2"], scores["test_mae"] = _regression_scores(Y_test, O_test, decode)
    h = budget.history
    if isinstance(opt, Genetic):
        batch_size, eta = opt.batch_size, None
    elif isinstance(opt, LBFGS):
        batch_size, eta = "all", None
    else:
        batch_size, eta = kwargs.get("batch_size", 1), opt.learning_rate
    return SolverResult(
        label=label,
        optimizer=opt.name,
        batch_size=batch_size,
        learning_rate=eta,
        start_loss=net0.error(X, Y),
        train_loss=net.loss.mean(Y, O),
        train_accuracy=accuracy(Y, O) if classify else None,
        test_loss=test_loss,
        test_accuracy=test_accuracy,
        epochs=h.epochs,
        updates=int(h["updates"][-1]) if h.epochs else 0,
        seconds=seconds,
        time_to_target=None,
        time_to_accuracy=None,
        history=h,
        error=error,
        **scores,
    )


def compare(
    X: Any,
    Y: Any,
    *,
    hidden: Sequence[int] = (10, 5),
    solvers: Sequence[str] = SOLVERS,
    budget_seconds: float = 30.0,
    X_test: Any = None,
    Y_test: Any = None,
    target_loss: float | None = None,
    target_accuracy: float | None = None,
    seed: int = 0,
    activation: str = "sigmoid",
    output_activation: str | None = None,
    loss: str = "squared_error",
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    modes: Sequence[str] = (),
    mode_solver: str = "sgd",
    minibatch_size: int = 32,
    on_run: Callable[[str], None] | None = None,
    decode_target: Callable[[Array], Array] | None = None,
    clock: Clock = time.perf_counter,
    grow: bool = False,
    max_hidden: int = 30,
) -> ComparisonResult:
    """Train the same architecture from the same initial weights with each solver; return a
    :class:`ComparisonResult`.

    Args:
        X: training inputs, shape (n, n_inputs); Y: targets, shape (n, n_outputs) (one-hot
            rows or a 0/1 column for classification).
        hidden: hidden layer sizes; the network is n_inputs → hidden… → n_outputs.
        solvers: names accepted by :func:`retroprop.get_optimizer` (see :data:`SOLVERS`).
        budget_seconds: wall-time budget of each run (its training only: see the module's
            docstring for the warm-up before it and the rule that ends it).
        X_test: optional test inputs for the final test loss and accuracy; Y_test: their targets.
        target_loss: report the time until the training loss first reaches this value.
        target_accuracy: report the time until the training accuracy first reaches this value.
        seed: seeds the initial weights (one θ₀ for all), sample orders and the GA.
        activation: of the hidden layers (as in ``Network.create``).
        output_activation: of the output layer; loss: of the network (as in ``Network.create``).
        settings: per solver name, settings overriding :data:`SOLVER_DEFAULTS` (see the module's
            docstring).
        modes: any of ``"online"``, ``"minibatch"``, ``"batch"``: also train ``mode_solver``
            with batch size 1, ``minibatch_size`` and all.
        on_run: called with each run's label before it starts (for a progress display).
        decode_target: for regression, maps targets and outputs (n, n_outputs) to the target's
            units for R² and MAE (e.g. ``Preprocessor.decode``); default: used as they are.
        clock: the time in seconds (default :func:`time.perf_counter`; see the module's docstring).
        grow: also grow a network by cascade-correlation (:mod:`.compare_growth`), at most
            ``max_hidden`` neurons, within the same budget, after the other runs.

    Raises:
        ValueError: unknown solver or mode, bad budget or shapes (named in the message).
    """
    budget = _checked_budget(budget_seconds)
    plans, mode_plans = _plans(solvers, modes, mode_solver, minibatch_size, settings or {})
    data = _data(X, Y, X_test, Y_test)
    net0 = _initial_network(data, hidden, activation, output_activation, loss, seed)
    run = partial(
        _run, net0, data=data, budget_seconds=budget, seed=seed, clock=clock, decode=decode_target
    )
    runs, mode_runs = _run_all(net0, plans, mode_plans, run, on_run)
    result = _result(net0, data[:2], runs, mode_runs, budget, target_loss, target_accuracy)
    if grow:
        if on_run is not None:
            on_run("cascade")
        result.growth = grow_network(
            data, budget_seconds=budget, max_hidden=max_hidden, seed=seed, clock=clock,
            output_activation=net0.layers[-1].activation.name,
        )  # fmt: skip
    return result


def _checked_budget(budget_seconds: float) -> float:
    """The budget as a float, once it is known to be a positive number of seconds."""
    if not (np.isfinite(budget_seconds) and budget_seconds > 0):
        raise ParameterError(f"budget_seconds must be a positive number, got {budget_seconds!r}")
    return float(budget_seconds)


def _data(X: Any, Y: Any, X_test: Any, Y_test: Any) -> _Data:
    """Inputs and targets as float64 arrays, targets as columns; a test set needs both."""
    X, Y = np.asarray(X, dtype=np.float64), _targets(Y)
    if (X_test is None) != (Y_test is None):
        raise ParameterError("X_test, Y_test: give both or neither")
    if X_test is None:
        return X, Y, None, None
    return X, Y, np.asarray(X_test, dtype=np.float64), _targets(Y_test)


def _initial_network(
    data: _Data,
    hidden: Sequence[int],
    activation: str,
    output_activation: str | None,
    loss: str,
    seed: int,
) -> Network:
    """The network every run starts from (θ₀ drawn from ``seed``), checked against the test
    set's shapes now rather than after the training."""
    X, Y, X_test, Y_test = data
    net0 = Network.create(
        [X.shape[1], *hidden, Y.shape[1]],
        activation=activation,
        output_activation=output_activation,
        loss=loss,
        seed=seed,
    )
    if X_test is not None and Y_test is not None:
        net0.error(X_test, Y_test)
    return net0


def _run_all(
    net0: Network,
    plans: dict[str, _Plan],
    mode_plans: dict[str, _Plan],
    run: Callable[[str, _Plan], SolverResult],
    on_run: Callable[[str], None] | None,
) -> tuple[dict[str, SolverResult], dict[str, SolverResult]]:
    """Every solver's run, then every mode's (``run(label, plan)``, each from a copy of
    ``net0``), with ``on_run(label)`` before each; the engines are decided for all of them
    before any trains."""
    plans = {name: _engine(net0, plan) for name, plan in plans.items()}
    mode_plans = {mode: _engine(net0, plan) for mode, plan in mode_plans.items()}

    def announced(label: str, plan: _Plan) -> SolverResult:
        if on_run is not None:
            on_run(label)
        return run(label, plan)

    runs = {name: announced(name, plan) for name, plan in plans.items()}
    return runs, {mode: announced(mode, plan) for mode, plan in mode_plans.items()}


def _result(
    net0: Network,
    train: tuple[Array, Array],
    runs: dict[str, SolverResult],
    mode_runs: dict[str, SolverResult],
    budget: float,
    target_loss: float | None,
    target_accuracy: float | None,
) -> ComparisonResult:
    """The comparison's result, with every run's time to the targets filled in."""
    X, Y = train
    for r in [*runs.values(), *mode_runs.values()]:
        r.time_to_target = _time_to(r.history, "loss", target_loss, below=True)
        r.time_to_accuracy = _time_to(r.history, "accuracy", target_accuracy, below=False)
    return ComparisonResult(
        solvers=runs,
        modes=mode_runs,
        network=repr(net0),
        initial_weights=net0.get_flat(),
        start_loss=net0.error(X, Y),
        budget_seconds=budget,
        target_loss=target_loss,
        target_accuracy=target_accuracy,
        task="classification" if is_classification(Y) else "regression",
    )


def _plans(
    solvers: Sequence[str],
    modes: Sequence[str],
    mode_solver: str,
    minibatch_size: int,
    overrides: Mapping[str, Mapping[str, Any]],
) -> tuple[dict[str, _Plan], dict[str, _Plan]]:
    """The plan of every solver run and of every mode run (``mode_solver`` with batch size 1,
    ``minibatch_size`` or all), validated before anything trains."""
    for mode in modes:
        if mode not in MODES:
            raise ParameterError(f"modes: unknown mode {mode!r}; valid: {', '.join(MODES)}")
    plans = {name: _plan(name, overrides.get(name, {})) for name in solvers}
    mode_batch: dict[str, int | str] = {"online": 1, "minibatch": minibatch_size, "batch": "all"}
    mode_plans = {
        mode: _plan(mode_solver, {**overrides.get(mode_solver, {}), "batch_size": mode_batch[mode]})
        for mode in modes
    }
    return plans, mode_plans


def _targets(Y: Any) -> Array:
    """Targets as float64, (n, n_outputs): a vector of n targets becomes one column."""
    Y = np.asarray(Y, dtype=np.float64)
    return Y[:, None] if Y.ndim == 1 else Y
