"""Checkpointing a training run: the callback that writes checkpoints, and stops on request.

:class:`Checkpointer` writes :mod:`retroprop.files.checkpoint_file` checkpoints during
:func:`retroprop.fit`: every few epochs, and when asked to stop (``retroprop train`` asks on
SIGINT and SIGTERM), after which it raises :class:`TrainingInterrupted`. A run continues from a
checkpoint with ``fit(..., initial_state=load_checkpoint(path).state)``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from numpy.typing import NDArray

from retroprop.core.network import Network
from retroprop.errors import ParameterError
from retroprop.files.checkpoint_file import Checkpoint, save_checkpoint
from retroprop.files.model import Model
from retroprop.train.loop import Callback, Logs, TrainState

__all__ = ["Checkpointer", "TrainingInterrupted"]


class TrainingInterrupted(Exception):
    """Raised by :class:`Checkpointer` after it saved the checkpoint a stop request asked for.

    Attributes:
        signum: the signal that asked (``signal.SIGINT``, ``signal.SIGTERM``), if any.
        checkpoint: the checkpoint written.
        path: where.
    """

    def __init__(self, signum: int | None, checkpoint: Checkpoint, path: Path) -> None:
        super().__init__(f"training stopped after epoch {checkpoint.state.epoch}; saved {path}")
        self.signum, self.checkpoint, self.path = signum, checkpoint, path


class Checkpointer(Callback):
    """Writes checkpoints of a run to ``path``: every ``every`` epochs, and on a stop request.

    It follows the best epoch (lowest ``val_loss``, or ``loss`` without a validation set) and
    puts its weights in the checkpoint's model. :meth:`request_stop` (safe to call from a
    signal handler) makes it write a checkpoint at the end of the running epoch and raise
    :class:`TrainingInterrupted`, so the run can be resumed from exactly there.

    Call :meth:`start` with the model before training.

    Args:
        path: the checkpoint file (written atomically, replaced each time).
        every: write every this many epochs (None: only on a stop request).
        settings: stored in every checkpoint as :attr:`Checkpoint.settings`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        every: int | None = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        if every is not None and every < 1:
            raise ParameterError(f"every must be a positive number of epochs, got {every}")
        self.path, self.every, self.settings = Path(path), every, dict(settings or {})
        self.stop_signal: int | None = None
        self.stop_requested = False
        self.saved: Checkpoint | None = None
        self.model: Model | None = None
        self.epochs = self.start_epoch = self.best_epoch = 0
        self.monitor: str | None = None
        self.best_value = math.inf
        self.best_weights: NDArray[Any] | None = None

    def start(self, model: Model, epochs: int, resume: Checkpoint | None = None) -> None:
        """Checkpoint the training of ``model`` (whose network :func:`~retroprop.fit` trains),
        asked for ``epochs`` epochs, continuing the best-epoch record of ``resume``."""
        self.model, self.epochs = model, epochs
        self.start_epoch = resume.state.epoch if resume else 0
        self.monitor = resume.monitor if resume else None
        self.best_epoch = resume.best_epoch if resume else 0
        self.best_value = resume.best_value if resume else math.inf
        self.best_weights = resume.model.network.get_flat() if resume else None

    def request_stop(self, signum: int | None = None) -> None:
        """Save and stop at the end of the running epoch."""
        self.stop_signal, self.stop_requested = signum, True

    def on_train_begin(self, network: Network) -> None:
        super().on_train_begin(network)
        if self.best_weights is None:
            self.best_weights = network.get_flat()

    def on_epoch_end(self, epoch: int, logs: Logs) -> bool | None:
        self.monitor = self.monitor or ("val_loss" if "val_loss" in logs else "loss")
        if logs[self.monitor] < self.best_value:
            assert self.network is not None
            self.best_epoch, self.best_value = epoch, logs[self.monitor]
            self.best_weights = self.network.get_flat()
        return None

    def on_epoch_state(self, epoch: int, state: Callable[[], TrainState]) -> None:
        due = self.every is not None and epoch % self.every == 0
        if due or self.stop_requested:
            self.saved = self.save(state())
        if self.stop_requested:
            assert self.saved is not None
            raise TrainingInterrupted(self.stop_signal, self.saved, self.path)

    def save(self, state: TrainState) -> Checkpoint:
        """Write a checkpoint of ``state`` with the best weights so far; return it."""
        assert self.best_weights is not None and self.model is not None
        network = self.model.network.copy()
        network.set_flat(self.best_weights)
        model = replace(self.model, network=network)
        checkpoint = Checkpoint(
            model,
            state,
            self.epochs,
            self.best_epoch,
            self.monitor or "loss",
            self.best_value,
            self.settings,
        )
        save_checkpoint(self.path, checkpoint)
        return checkpoint
