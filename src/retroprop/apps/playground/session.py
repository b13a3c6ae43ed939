"""One playground session: the data, the network and where training stands.

Training follows :func:`~retroprop.train.loop.fit` exactly: the same seeded generator
shuffles the sample indices at the start of every epoch, batches of ``batch_size`` follow one
another in that order, and the optimizer state carries over. A step (one sample, one batch)
takes the next samples of the current epoch through the glass box
(:func:`~retroprop.glassbox.trace.trace_step`, the very step training takes); playing hands
the same state to ``fit`` as a :class:`~retroprop.train.loop.TrainState` (compiled when the
engine applies) and takes it back when paused, so stepping and playing mix freely and a run
from a seed is the run ``fit`` makes from it.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from retroprop.apps.playground.data import Prepared, builtin_table, prepare, variance
from retroprop.apps.playground.settings import ProtocolError, Settings, optimizer_kwargs
from retroprop.core.metrics import add_sums, logs_from_sums
from retroprop.core.network import Network
from retroprop.core.optimizers import Optimizer, State
from retroprop.data.tabular import Table
from retroprop.glassbox.trace import StepTrace, trace_step
from retroprop.train.loop import History, TrainState, train_step
from retroprop.train.registry import get_optimizer
from retroprop.train.solvers import Genetic, Solver
from retroprop.train.solvers.genetic import initial_population, next_generation, population_loss

Array = NDArray[np.floating]

__all__ = ["CsvData", "Population", "Session", "measure", "network_for"]

MAX_CURVE = 2000
"""Epochs the curves keep; a longer run keeps every other one, then every fourth, …"""


def network_for(data: Prepared, s: Settings) -> Network:
    """The untrained network for the data: inputs → hidden layers → outputs, with the output
    activation and loss ``retroprop train`` would choose unless the settings say otherwise
    (softmax + cross-entropy for classes, identity + squared error for a number)."""
    if data.classify:
        loss = s.loss or "categorical_cross_entropy"
        default = "softmax" if loss == "categorical_cross_entropy" else "sigmoid"
    else:
        loss, default = s.loss or "squared_error", "identity"
    sizes = [data.X.shape[1], *s.hidden, data.Y.shape[1]]
    return Network.create(
        sizes,
        activation=[*s.activations, s.output_activation or default],
        loss=loss,
        init=s.init,
        seed=s.seed,
    )


def measure(net: Network, X: Array, Y: Array, classify: bool, prefix: str) -> dict[str, float]:
    """Loss, the lecture's MSE (mean ½‖y − o‖²) and accuracy (classes) or R² (a number) of
    ``net`` on (X, Y); keys prefixed (``""`` or ``"val_"``)."""
    if not len(X):
        return {}
    sums = np.zeros(3)
    add_sums(net.loss, Y, net.predict(X), classify, sums)
    logs = logs_from_sums(sums, len(X), prefix, classify)
    return {**logs, **r2(logs, variance(Y), prefix, not classify)}


def r2(logs: dict[str, float], var: float, prefix: str, regression: bool) -> dict[str, float]:
    """R² = 1 − Σ(y − o)² / Σ(y − ȳ)², read off the MSE log (mean ½(y − o)²) for one output
    whose targets have variance ``var``."""
    if not regression or var == 0.0 or f"{prefix}mse" not in logs:
        return {}
    return {f"{prefix}r2": 1.0 - 2.0 * logs[f"{prefix}mse"] / var}


@dataclass
class Population:
    """The genetic algorithm's population between generation steps: Θ (P, D), its fitness
    −J (P,), its generator and the generation number."""

    Theta: Array
    fitness: Array
    rng: np.random.Generator
    g: int = 0

    def copy(self) -> Population:
        """An independent copy (the generator too: the copy evolves as the original would)."""
        return Population(self.Theta.copy(), self.fitness.copy(), copy.deepcopy(self.rng), self.g)

    def summary(self, bars: int = 200) -> dict[str, Any]:
        """For the page's chart: the generation and the errors J of at most ``bars``
        individuals, best first (evenly picked; an overflowing individual: None)."""
        J = np.sort(-self.fitness)
        if len(J) > bars:
            J = J[np.linspace(0, len(J) - 1, bars).round().astype(int)]
        losses = [float(j) if np.isfinite(j) else None for j in J]
        return {"generation": self.g, "size": len(self.fitness), "losses": losses}


@dataclass(frozen=True)
class CsvData:
    """The user's CSV: its table, and where it came from — the file named on the command line
    (read with ``encoding``; ``text`` is None: the server has the file) or a file the page sent
    (its ``text``, which a saved state carries so that it reloads anywhere)."""

    table: Table
    text: str | None = None
    encoding: str = "utf-8"


@dataclass
class Session:
    """Data, network, optimizer and the position of training in the current epoch.

    ``order`` is the sample order of the current (or last) epoch; ``position`` how many of its
    samples this epoch has trained on (0: the epoch is done, the next step shuffles anew).
    ``curve`` holds one entry of measurements per finished epoch.
    """

    settings: Settings
    data: Prepared
    table: Table
    csv: CsvData | None = None
    network: Network = field(init=False)
    optimizer: Optimizer | Solver = field(init=False)
    state: State = field(init=False)
    rng: np.random.Generator = field(init=False)
    order: NDArray[np.intp] = field(init=False)
    position: int = 0
    epoch: int = 0
    updates: int = 0
    elapsed: float = 0.0
    curve: list[dict[str, float]] = field(default_factory=list)
    last_trace: StepTrace | None = None
    population: Population | None = None

    def __post_init__(self) -> None:
        self.reset()

    # -- setting up ------------------------------------------------------------------------
    @classmethod
    def start(cls, settings: Settings, csv: CsvData | None = None) -> Session:
        """A session on the settings' data (``csv``: the user's CSV, for ``data="csv"``)."""
        table = _table(settings, csv)
        return cls(settings, _prepared(settings, table), table, csv)

    def configure(self, settings: Settings, csv: CsvData | None = None) -> None:
        """New settings (and a new CSV, if given): new data when the data changed, a new network
        always. The session keeps its CSV when the settings choose a built-in data set."""
        old = (self.settings, self.data, self.table, self.csv)
        csv = csv or self.csv
        if settings.data_key() != self.settings.data_key() or csv is not self.csv:
            table = _table(settings, csv)
            self.data, self.table = _prepared(settings, table), table
        self.settings, self.csv = settings, csv
        try:
            self.reset()
        except Exception:  # a network these settings cannot build: keep the old one
            self.settings, self.data, self.table, self.csv = old
            self.reset()
            raise

    def reset(self) -> None:
        """Fresh weights from the seed; the optimizer, the generator and the curves start over."""
        s = self.settings
        self.network = network_for(self.data, s)
        params = optimizer_kwargs(s.solver, s.learning_rate, s.solver_params or {})
        self.optimizer = get_optimizer(s.solver, **params)
        opt = self.optimizer
        self.state = opt.init(self.network.params()) if isinstance(opt, Optimizer) else {}
        self.rng = np.random.default_rng(s.seed)
        self.order = np.arange(len(self.data.X))
        self.position = self.epoch = self.updates = 0
        self.elapsed = 0.0
        self.curve = []
        self.last_trace = None
        self.population = None

    @property
    def steps(self) -> bool:
        """Whether the solver is a step rule (not L-BFGS or the genetic algorithm)."""
        return isinstance(self.optimizer, Optimizer)

    @property
    def k(self) -> int:
        """Samples per batch (``"all"``: the whole training set)."""
        b = self.settings.batch_size
        return len(self.data.X) if b == "all" else min(int(b), len(self.data.X))

    # -- measuring -------------------------------------------------------------------------
    def measure(self, X: Array, Y: Array, prefix: str) -> dict[str, float]:
        """:func:`measure` of the session's network."""
        return measure(self.network, X, Y, self.data.classify, prefix)

    def end_epoch(self, logs: dict[str, float] | None = None) -> None:
        """Record the finished epoch: ``fit``'s logs, or measured now after manual steps."""
        d = self.data
        if logs is None:
            logs = {**self.measure(d.X, d.Y, ""), **self.measure(d.X_test, d.Y_test, "val_")}
        else:
            regression, (var, var_test) = not d.classify, d.variances
            logs = {
                **logs,
                **r2(logs, var, "", regression),
                **r2(logs, var_test, "val_", regression),
            }
        self.curve.append({**{k: float(v) for k, v in logs.items()}, "epoch": self.epoch})
        if len(self.curve) > MAX_CURVE:  # keep every other epoch: a long run stays drawable
            self.curve[:] = [*self.curve[:-1:2], self.curve[-1]]

    # -- stepping --------------------------------------------------------------------------
    def _next_batch(self, k: int) -> NDArray[np.intp]:
        """The next ≤ k samples of the epoch, starting a new epoch (a new shuffle) if needed."""
        if self.position == 0:
            self.rng.shuffle(self.order)
            self.epoch += 1
        batch = self.order[self.position : self.position + k]
        self.position += len(batch)
        return batch

    def _after_batch(self) -> None:
        self.updates += 1
        if self.position >= len(self.order):
            self.position = 0
            self.end_epoch()

    def step(self, unit: str) -> StepTrace | None:
        """Train one ``"sample"``, one ``"batch"`` or the rest of one ``"epoch"``.

        A sample or batch step is traced (returned); an epoch is not. A whole-run solver
        (L-BFGS, GA) only takes epochs (one iteration or generation).
        """
        if unit not in ("sample", "batch", "epoch"):
            raise ProtocolError(f"step: expected sample, batch or epoch, got {unit!r}")
        started = time.perf_counter()
        try:
            if not self.steps:
                if unit != "epoch":
                    raise ProtocolError(
                        f"step: {self.optimizer.name} trains whole generations or iterations; "
                        "step one epoch"
                    )
                self.whole_run_epoch()
                return None
            if unit == "epoch":
                self._rest_of_epoch()
                return None
            return self._traced(1 if unit == "sample" else self.k)
        finally:
            self.elapsed += time.perf_counter() - started

    def whole_run_epoch(self) -> None:
        """One generation of the GA or one iteration of L-BFGS."""
        if isinstance(self.optimizer, Genetic):
            self.generation()
        else:
            self.solver_epochs(1)

    def _traced(self, k: int) -> StepTrace:
        """One update on the next k samples, through the glass box."""
        assert isinstance(self.optimizer, Optimizer)
        d = self.data
        batch = self._next_batch(k)
        trace, self.state = trace_step(
            self.network, d.X[batch], d.Y[batch], self.optimizer, state=self.state,
            weight_decay=self.settings.weight_decay, step=self.updates + 1,
            input_names=d.input_names, output_names=d.output_names,
        )  # fmt: skip
        self._after_batch()
        self.last_trace = trace
        return trace

    def _rest_of_epoch(self) -> None:
        """The remaining batches of the current epoch (a whole one if none has started)."""
        assert isinstance(self.optimizer, Optimizer)
        d = self.data
        while True:
            batch = self._next_batch(self.k)
            result = train_step(
                self.network, self.optimizer, self.state, d.X[batch], d.Y[batch],
                self.settings.weight_decay,
            )  # fmt: skip
            self.state = result.state
            self._after_batch()
            if self.position == 0:
                return

    def _fitness(self, Theta: Array) -> Array:
        """−J of every individual on the training set (an overflowing one: −∞)."""
        d = self.data
        J = population_loss(self.network, Theta, d.X, d.Y, self.settings.weight_decay)
        return np.where(np.isfinite(J), -J, -np.inf)

    def generation(self) -> Array:
        """One generation of the genetic algorithm, keeping the population for the next step
        (the network becomes the best individual). Returns the population's losses J (P,).

        The same operators as :func:`retroprop.train.solvers.genetic.evolve`, one generation
        at a time, whether stepped or played: the population lives on across steps, play and
        pause. It starts around the current weights at the first generation, and again when
        the network is no longer its best individual (after a weight was typed in).
        """
        ga = self.optimizer
        assert isinstance(ga, Genetic)
        pop = self.population
        theta = self.network.get_flat()
        if pop is None or not np.array_equal(pop.Theta[int(np.argmax(pop.fitness))], theta):
            rng = np.random.default_rng(self.settings.seed + self.epoch)
            Theta = initial_population(theta, ga, rng)
            pop = Population(Theta, self._fitness(Theta), rng)
        pop.g += 1
        pop.Theta = next_generation(pop.Theta, pop.fitness, ga, ga.sigma(pop.g), pop.rng)
        pop.fitness = self._fitness(pop.Theta)
        self.network.set_flat(pop.Theta[int(np.argmax(pop.fitness))])
        self.population = pop
        self.epoch += 1
        self.updates += 1
        self.end_epoch()
        return -pop.fitness

    def solver_epochs(self, epochs: int, callbacks: Any = ()) -> None:
        """Run L-BFGS for ``epochs`` more iterations from the current weights (``fit`` with
        the solver; the GA goes generation by generation, :meth:`generation`)."""
        from retroprop.train.loop import fit

        d = self.data
        start = self.epoch

        def record(epoch: int, logs: dict[str, float]) -> None:
            self.epoch = start + epoch
            self.updates += 1
            self.end_epoch(logs)

        fit(
            self.network, d.X, d.Y, optimizer=self.optimizer, epochs=epochs,
            seed=self.settings.seed + start, weight_decay=self.settings.weight_decay,
            validation_data=(d.X_test, d.Y_test) if len(d.X_test) else None,
            callbacks=[record, *callbacks],
        )  # fmt: skip

    # -- handing the run to fit and back ---------------------------------------------------
    def train_state(self) -> TrainState:
        """Where training stands, for ``fit(initial_state=…)`` (at an epoch's end)."""
        assert self.position == 0
        return TrainState(
            epoch=self.epoch,
            weights=self.network.get_flat(),
            optimizer=self.state,
            rng=dict(self.rng.bit_generator.state),
            order=self.order.copy(),
            history=History(),
            updates=self.updates,
            elapsed=self.elapsed,
        )

    def resume_from(self, ts: TrainState) -> None:
        """Take back the state ``fit`` stopped at."""
        self.network.set_flat(ts.weights)
        self.state = ts.optimizer
        self.rng.bit_generator.state = ts.rng
        self.order = ts.order.copy()
        self.epoch, self.updates, self.elapsed = ts.epoch, ts.updates, ts.elapsed

    def finish_epoch(self) -> None:
        """End a started epoch with its remaining batches (before ``fit`` takes over)."""
        if self.steps and self.position:
            self._rest_of_epoch()

    # -- touching the network --------------------------------------------------------------
    def set_param(self, layer: Any, kind: Any, j: Any, i: Any, value: Any) -> None:
        """Type a new value for wⱼᵢ (``kind="w"``) or bⱼ (``"b"``) of layer ``layer`` (the
        arguments come from the page as they are, and are checked here)."""
        ly = self._layer(layer)
        arr = ly.W if kind == "w" else ly.b if kind == "b" else None
        if arr is None:
            raise ProtocolError(f"edit: kind must be 'w' or 'b', got {kind!r}")
        index = (j, i) if kind == "w" else (j,)
        if not all(
            isinstance(n, int) and 0 <= n < size for n, size in zip(index, arr.shape, strict=True)
        ):
            raise ProtocolError(f"edit: no {kind}{index} in layer {layer} of shape {arr.shape}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            raise ProtocolError(f"edit: expected a finite number, got {value!r}")
        arr[index] = value

    def _layer(self, layer: Any) -> Any:
        if not isinstance(layer, int) or not 0 <= layer < len(self.network.layers):
            raise ProtocolError(f"edit: no layer {layer!r}")
        return self.network.layers[layer]


def _table(settings: Settings, csv: CsvData | None) -> Table:
    """The table of the settings' data: a built-in data set, or the CSV's table."""
    if settings.data == "csv":
        if csv is None:
            raise ProtocolError("data: csv needs a CSV file (on the command line, or load one)")
        return csv.table
    return builtin_table(settings.data, settings.noise, settings.n_samples, settings.seed)[0]


def _prepared(settings: Settings, table: Table) -> Prepared:
    """The table preprocessed, with the settings' target (CSV: the last column by default)."""
    if settings.data == "csv":
        target = settings.target or table.names[-1]
        if target not in table:
            raise ProtocolError(f"target: the data have no column {target!r}")
    else:
        target = "y" if settings.data in ("plane", "sine") else "class"
    return prepare(table, target, settings.test_fraction, settings.seed)
