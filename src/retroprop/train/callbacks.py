"""What the training loop records and who it tells: the history, the state to resume from,
callbacks and early stopping (:func:`retroprop.train.loop.fit` calls them after every epoch)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from retroprop.core.metrics import Logs
from retroprop.core.network import Network
from retroprop.core.optimizers import State
from retroprop.errors import ParameterError

Array = NDArray[np.floating]

__all__ = [
    "Callback",
    "EarlyStopping",
    "FunctionCallback",
    "History",
    "TrainState",
    "every_epoch",
    "wants_state",
]


# -- history and state --------------------------------------------------------------------
@dataclass
class History:
    """Per-epoch record of training.

    ``metrics`` maps a name to one value per epoch: ``loss`` (mean training loss, the
    objective without the L2 term), ``mse`` (mean over samples of E = ½ Σ (y − o)², the
    lecture's MSE), ``accuracy`` (classification only), the same with a ``val_`` prefix for
    the validation set, ``time`` (seconds since training began) and ``updates`` (weight
    updates so far).
    """

    metrics: dict[str, list[float]] = field(default_factory=dict)
    stopped_early: bool = False
    best_epoch: int | None = None

    def append(self, logs: Logs) -> None:
        for key, value in logs.items():
            self.metrics.setdefault(key, []).append(value)

    def __getitem__(self, key: str) -> list[float]:
        return self.metrics[key]

    def __contains__(self, key: object) -> bool:
        return key in self.metrics

    @property
    def epochs(self) -> int:
        return len(self.metrics.get("loss", []))

    def copy(self) -> History:
        metrics = {key: list(values) for key, values in self.metrics.items()}
        return History(metrics, self.stopped_early, self.best_epoch)


@dataclass
class TrainState:
    """Everything :func:`fit` needs to continue a run after ``epoch`` as if it never stopped.

    Attributes:
        epoch: epochs completed.
        weights: the parameters after that epoch, as :meth:`Network.get_flat` gives them.
        optimizer: the optimizer state (``opt.init`` layout: lists of arrays shaped like
            ``Network.params()``, and numbers).
        rng: ``bit_generator.state`` of the generator that shuffles the samples.
        order: the sample order of the last epoch (the next shuffle permutes it), (n_train,).
        history: the history so far.
        updates: weight updates so far.
        elapsed: seconds of training so far.
        stopped: a callback asked to stop after this epoch.
        early_stopping: ``EarlyStopping.state_dict()`` of each early-stopping callback.
        engine: the engine that trained, ``"numpy"`` or ``"numba"`` (a resumed run with
            ``engine="auto"`` keeps it: the engines agree to rounding, not bit for bit).
    """

    epoch: int
    weights: Array
    optimizer: State
    rng: dict[str, Any]
    order: NDArray[np.intp]
    history: History
    updates: int = 0
    elapsed: float = 0.0
    stopped: bool = False
    early_stopping: list[dict[str, Any]] = field(default_factory=list)
    engine: Literal["numpy", "numba"] = "numpy"


# -- callbacks -----------------------------------------------------------------------------
class Callback:
    """Hooks called by :func:`fit`. Override what you need.

    ``on_epoch_end`` may return True to stop training after this epoch.
    """

    network: Network | None = None

    def on_train_begin(self, network: Network) -> None:
        self.network = network

    def on_epoch_end(self, epoch: int, logs: Logs) -> bool | None:
        return None

    def on_train_end(self, history: History) -> None:
        return None

    def on_epoch_state(self, epoch: int, state: Callable[[], TrainState]) -> None:
        """After every callback's ``on_epoch_end``: ``state()`` builds the :class:`TrainState`
        to resume after this epoch (a copy, so call it only to keep it, e.g. in a checkpoint).

        Called by step optimizers only (not L-BFGS or the genetic algorithm).
        """
        return None


def every_epoch(cb: Callback) -> bool:
    """True when ``cb`` overrides :meth:`Callback.on_epoch_end` or
    :meth:`Callback.on_epoch_state` (the loop then returns to Python after every epoch)."""
    return type(cb).on_epoch_end is not Callback.on_epoch_end or wants_state(cb)


def wants_state(cb: Callback) -> bool:
    """True when ``cb`` overrides :meth:`Callback.on_epoch_state` (the loop then builds states)."""
    return type(cb).on_epoch_state is not Callback.on_epoch_state


class FunctionCallback(Callback):
    """A function ``f(epoch, logs)`` as a callback: its ``on_epoch_end``."""

    def __init__(self, fn: Callable[[int, Logs], bool | None]) -> None:
        self.fn = fn

    def on_epoch_end(self, epoch: int, logs: Logs) -> bool | None:
        return self.fn(epoch, logs)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    With ``restore_best_weights`` the network ends with the weights of its best epoch.
    ``monitor`` is a key of the epoch logs (``"val_loss"`` by default; :func:`fit` falls back to
    ``"loss"`` when there is no validation set). Lower is better, except for accuracies, where
    higher is better (they are compared negated, and ``best`` holds −accuracy).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 10,
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
    ) -> None:
        if patience < 1:
            raise ParameterError(f"patience must be a positive integer, got {patience}")
        if min_delta < 0:
            raise ParameterError(f"min_delta must be >= 0, got {min_delta}")
        self.monitor, self.patience = monitor, patience
        self.min_delta, self.restore_best_weights = min_delta, restore_best_weights

    def on_train_begin(self, network: Network) -> None:
        super().on_train_begin(network)
        self.best = np.inf
        self.best_epoch = 0
        self.best_weights = network.get_flat()
        self.wait = 0
        self.stopped = False

    def on_epoch_end(self, epoch: int, logs: Logs) -> bool | None:
        if self.monitor not in logs:
            raise ParameterError(
                f"EarlyStopping: monitor {self.monitor!r} not in logs {sorted(logs)}"
            )
        value = -logs[self.monitor] if "accuracy" in self.monitor else logs[self.monitor]
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            assert self.network is not None
            self.best_weights = self.network.get_flat()
            return None
        self.wait += 1
        self.stopped = self.wait >= self.patience
        return self.stopped

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs: best value and epoch, epochs waited, best weights."""
        return {
            "best": float(self.best),
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "stopped": self.stopped,
            "best_weights": self.best_weights.copy(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict` (after ``on_train_begin``)."""
        assert self.network is not None
        weights = np.asarray(state["best_weights"])
        if weights.shape != self.best_weights.shape:
            raise ParameterError(
                f"early stopping state: best_weights of shape {weights.shape}, expected "
                f"{self.best_weights.shape}"
            )
        self.best, self.best_epoch = float(state["best"]), int(state["best_epoch"])
        self.wait, self.stopped = int(state["wait"]), bool(state["stopped"])
        self.best_weights = weights.astype(self.best_weights.dtype)

    def on_train_end(self, history: History) -> None:
        history.stopped_early = self.stopped
        history.best_epoch = self.best_epoch
        if self.restore_best_weights and self.network is not None and self.best_epoch > 0:
            self.network.set_flat(self.best_weights)
