"""What happens in and after each epoch of :func:`~retroprop.train.loop.fit`: one weight
update (:func:`train_step`), the epochs of a step rule (:class:`StepRun`: shuffle the indices,
train batch by batch on NumPy or in one compiled call, and the :class:`TrainState` to resume
from), and the bookkeeping after every epoch (:class:`Epochs`: measure, check that the error
and the weights are finite, log, call back).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from retroprop._fast.engine import EpochTrainer
from retroprop.core.cascade import CascadeNetwork
from retroprop.core.metrics import Logs, add_sums, logs_from_sums
from retroprop.core.network import ForwardPass, Gradients, Network
from retroprop.core.optimizers import Optimizer, State, step_updates
from retroprop.errors import ParameterError
from retroprop.train.callbacks import Callback, EarlyStopping, History, TrainState, every_epoch
from retroprop.train.inputs import RunData
from retroprop.train.solvers import Solver
from retroprop.train.state import copy_state, restore

Array = NDArray[np.floating]
EpochLogs = Callable[[Network, Array, Array, str, bool], Logs]

__all__ = [
    "DivergenceError",
    "EpochLogs",
    "Epochs",
    "StepResult",
    "StepRun",
    "numpy_epoch_logs",
    "train_step",
]


SECONDS_PER_TERM = 2e-9
"""A generous guess at a full-batch epoch's seconds per sample and parameter (about 1 ns
measured on small networks), to size a run's first chunk of epochs."""
CHUNK_SECONDS = 0.02
"""What a chunk of epochs should take: short enough for Ctrl-C to answer at once."""
MAX_CHUNK_SAMPLES = 1 << 20
"""At most this many sample indices in a chunk's orders (8 MB)."""


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
    network: Network | CascadeNetwork,
    optimizer: Optimizer,
    state: State,
    X: Array,
    Y: Array,
    weight_decay: float = 0.0,
) -> StepResult:
    """Forward, backward and update on one batch; the weights change in place.

    X has shape (k, n_inputs) and Y (k, n_outputs). A cascade network (cascade-correlation's
    shortcut connections) steps the same way: all of its weights, frozen or not.

    Every δ is computed before any weight changes, so hidden deltas use the weights from
    before this step's update, as the generalized delta rule requires.
    """
    fp = network.forward(X)
    grads = network.backward(fp, Y, weight_decay)
    loss = network.loss.mean(np.asarray(Y, dtype=network.dtype).reshape(fp.output.shape), fp.output)
    if weight_decay:
        loss += 0.5 * weight_decay * sum(float(np.sum(ly.W**2)) for ly in network.layers)
    updates, state = step_updates(
        optimizer, grads.flat(), state, loss, network.params(), len(fp.output)
    )
    for p, u in zip(network.params(), updates, strict=True):
        p += u
    return StepResult(fp, grads, updates, loss, state)


def numpy_epoch_logs(
    network: Network | CascadeNetwork, X: Array, Y: Array, prefix: str, classify: bool
) -> Logs:
    """The NumPy path's epoch logs: ``loss``, ``mse`` (and ``accuracy``) of the network."""
    sums = np.zeros(3)
    add_sums(network.loss, Y, network.predict(X), classify, sums)
    return logs_from_sums(sums, len(X), prefix, classify)


# -- what happens after every epoch ---------------------------------------------------------
@dataclass
class Epochs:
    """The bookkeeping after every epoch: measure, check for divergence, log, call back.

    ``sums`` collects [Σ E, Σ ½‖y − o‖², number right] during an epoch when the training error
    is the running one; ``updates`` counts weight updates (a solver's iterations count one).
    """

    network: Network
    opt: Optimizer | Solver
    data: RunData
    measure: EpochLogs
    callbacks: list[Callback]
    history: History
    running: bool
    start: float
    updates: int = 0
    sums: NDArray[np.float64] = field(default_factory=lambda: np.zeros(3))
    last_good: Array = field(init=False)
    whole_run: bool = field(init=False)

    def __post_init__(self) -> None:
        self.last_good = self.network.get_flat()
        # once: isinstance on a Protocol costs tens of µs, as much as a small full-batch epoch
        self.whole_run = isinstance(self.opt, Solver)

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
        if math.isfinite(loss) and np.isfinite(theta).all():
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

    def record(self, first: int, rows: NDArray[np.float64], start: float, stop: float) -> None:
        """Log the epochs ``first``, ``first + 1``, … of a compiled chunk from their error sums
        ``rows`` (m, 3) (:meth:`logs`' numbers, divided alike), without calling back: the run
        has no callback that needs every epoch, and the kernel checked the errors and weights
        finite. The chunk ran in one call from ``start`` to ``stop`` (``perf_counter``), for
        these epochs and one more (:meth:`end` logs it): each epoch's ``time`` is its share."""
        m, n, d = len(rows), len(self.data.X), self.data
        if m == 0:
            return
        share = (stop - start) / (m + 1)
        columns = {
            "epoch": list(range(first, first + m)),
            "loss": (rows[:, 0] / n).tolist(),
            "mse": (rows[:, 1] / n).tolist(),
            **({"accuracy": (rows[:, 2] / n).tolist()} if d.classify else {}),
            "time": [start - self.start + share * (i + 1) for i in range(m)],
            "updates": list(range(self.updates + 1, self.updates + m + 1)),
        }
        self.updates += m
        for key, values in columns.items():
            self.history.metrics.setdefault(key, []).extend(values)

    def end(self, epoch: int) -> bool:
        """Log epoch ``epoch`` and call the callbacks; True when one of them asks to stop."""
        logs = self.logs(epoch)
        self.check_finite(epoch, logs["loss"])
        logs["time"] = time.perf_counter() - self.start
        # one L-BFGS iteration, or one GA generation, is one weight update
        logs["updates"] = epoch if self.whole_run else self.updates
        self.history.append(logs)
        # every callback sees every epoch, even after one asked to stop
        return any([bool(cb.on_epoch_end(epoch, logs)) for cb in self.callbacks])


# -- the epochs of a step rule --------------------------------------------------------------
@dataclass
class StepRun:
    """The epochs of a step rule: shuffle, train every batch (NumPy or compiled), end the
    epoch; and the :class:`TrainState` to resume from."""

    epochs: Epochs
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
        # epochs per compiled call when nothing between epochs needs Python (0: one per call)
        self.chunk = self._first_chunk() if self._chunkable() else 0

    def _first_chunk(self) -> int:
        """Epochs in the first compiled chunk: :data:`CHUNK_SECONDS` at a guessed
        :data:`SECONDS_PER_TERM` per sample and parameter (the next chunks are timed)."""
        n_params = sum(p.size for p in self.epochs.network.params())
        return self._chunk_of(len(self.index) * n_params * SECONDS_PER_TERM)

    def _chunkable(self) -> bool:
        """Whether epochs can run several per compiled call: a full-batch trainer that can,
        no validation set, no state wanted and no callback called after every epoch."""
        e = self.epochs
        return (
            getattr(self.fast, "chunkable", False) is True
            and e.data.validation is None
            and not self.wants_state
            and not any(every_epoch(cb) for cb in e.callbacks)
        )

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
        if e.running:  # the sums are read for the running error only
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

    def train_chunk(self, epochs: int) -> None:
        """Up to :attr:`chunk` epochs (not past ``epochs``) in one compiled call: the sample
        orders drawn first, as the epochs would draw them; all but the last epoch logged from
        the sums the kernel wrote (:meth:`Epochs.record`), the last ended as any epoch (measured,
        checked, logged). The epochs' times leave out the pass a run makes before its first
        step (as the median of per-epoch times would). The next chunk's size aims at
        :data:`CHUNK_SECONDS`."""
        e, fast = self.epochs, self.fast
        k = min(self.chunk, epochs - self.epoch)
        start = time.perf_counter()
        orders = fast.draw_orders(self.rng, self.index, k, self.shuffle)  # type: ignore[union-attr]
        log = np.zeros((k, 3))
        drawn = time.perf_counter()  # the run's first pass is not an epoch's time
        fast.prepare_epochs(orders[0], e.data.classify)  # type: ignore[union-attr]
        start += time.perf_counter() - drawn
        done, finite = fast.run_epochs(orders, log, e.data.classify, e.running)  # type: ignore[union-attr]
        stop = time.perf_counter()
        e.record(self.epoch + 1, log[: done - 1], start, stop)
        self.epoch += done
        e.updates += 1
        if e.running:
            e.sums[:] = log[done - 1]
        if not finite:  # end() restores the weights before the last epoch, and raises
            e.last_good = fast.weights_before_last_epoch()  # type: ignore[union-attr]
        self.stop = e.end(self.epoch)
        self.chunk = self._next_chunk(stop - start, done)

    def _next_chunk(self, seconds: float, done: int) -> int:
        """Epochs in the next chunk: :data:`CHUNK_SECONDS` at the pace of the last chunk
        (``done`` epochs in ``seconds``), at most :data:`MAX_CHUNK_SAMPLES` indices."""
        return self._chunk_of(max(seconds, 1e-9) / done)

    def _chunk_of(self, per_epoch: float) -> int:
        """:data:`CHUNK_SECONDS` of epochs of ``per_epoch`` seconds (1 to the index limit)."""
        limit = max(MAX_CHUNK_SAMPLES // len(self.index), 1)
        return int(min(max(CHUNK_SECONDS / per_epoch, 1), limit))

    def run(self, epochs: int) -> None:
        """Epochs after the current one up to ``epochs``, until a callback asks to stop."""
        while self.chunk and self.epoch < epochs and not self.stop:
            self.train_chunk(epochs)
        while self.epoch < epochs and not self.stop:
            self.epoch += 1
            self.train_epoch()
            self.stop = self.epochs.end(self.epoch)
            if self.wants_state:
                for cb in self.epochs.callbacks:
                    cb.on_epoch_state(self.epoch, self.snapshot)
