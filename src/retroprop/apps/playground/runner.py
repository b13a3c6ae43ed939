"""Playing: training runs in a worker thread while the page watches.

The thread hands the session's state to :func:`~retroprop.train.loop.fit` (compiled when the
engine applies to the network and optimizer) and a callback that, after every epoch, records
the measurements, copies the weights into :attr:`Runner.latest` and tells the server that a
new picture exists. The server sends the latest picture when it can: frames are dropped,
steps never are. Pausing asks the callback to stop at the end of the epoch and takes the
:class:`~retroprop.train.loop.TrainState` back into the session. The genetic algorithm plays
generation by generation on the session's own population, so pausing and playing again
continue the same run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from retroprop._fast.engine import unsupported
from retroprop.apps.playground.session import Session
from retroprop.train.loop import Callback, DivergenceError, TrainState, fit
from retroprop.train.solvers import Genetic

__all__ = ["Runner"]

CHUNK = 20_000
"""Epochs one ``fit`` call runs before the thread hands over to a new one (so that ``fit``'s
own history stays small however long the page plays)."""


class _Watch(Callback):
    """After every epoch: record, publish the weights, and stop when asked to."""

    def __init__(self, runner: Runner, until: int) -> None:
        self.runner, self.until = runner, until
        self.final: TrainState | None = None

    def _stopping(self, epoch: int) -> bool:
        return self.runner.stop_requested.is_set() or epoch >= self.until

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
        s = self.runner.session
        s.epoch, s.updates = epoch, int(logs.get("updates", s.updates))
        s.end_epoch(logs)
        self.runner.publish(s.network.get_flat())
        return self._stopping(epoch)

    def on_epoch_state(self, epoch: int, snapshot: Callable[[], TrainState]) -> None:
        if self._stopping(epoch):
            self.final = snapshot()


class Runner:
    """The worker thread of one session, and the latest weights it produced.

    ``notify`` is called (from the worker thread) after every epoch; the server uses it to
    wake its sender. ``error`` holds the message of a run that diverged.
    """

    def __init__(self, session: Session, notify: Callable[[], None]) -> None:
        self.session, self.notify = session, notify
        self.stop_requested = threading.Event()
        self.thread: threading.Thread | None = None
        self.latest: NDArray[np.floating] | None = None
        self.error: str | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def publish(self, theta: NDArray[np.floating]) -> None:
        """Keep the weights after an epoch and wake the server (from the worker thread)."""
        self.latest = theta
        self.notify()

    def play(self) -> None:
        """Start training in the worker thread (no-op while it runs)."""
        if self.running:
            return
        self.stop_requested.clear()
        self.error = None
        self.thread = threading.Thread(target=self._run, name="retroprop-playground", daemon=True)
        self.thread.start()

    def pause(self) -> None:
        """Stop at the end of the current epoch and wait until the session has its state."""
        self.stop_requested.set()
        if self.thread is not None:
            self.thread.join()
        self.thread = None
        self.latest = None

    def _run(self) -> None:
        try:
            while not self.stop_requested.is_set():
                if self.session.steps:
                    self._fit_chunk()
                elif isinstance(self.session.optimizer, Genetic):
                    self._generations()
                else:
                    self.session.solver_epochs(CHUNK, [self._solver_watch])
        except (DivergenceError, ValueError) as exc:
            self.error = str(exc)
        finally:
            self.notify()

    def _generations(self) -> None:
        """The GA, one generation at a time on the session's population (which pausing keeps,
        so playing again continues the same run), publishing each."""
        s = self.session
        while not self.stop_requested.is_set():
            s.step("epoch")
            self.publish(s.network.get_flat())

    def _solver_watch(self, epoch: int, logs: dict[str, Any]) -> bool:
        """The callback of a whole-run solver's generations or iterations."""
        self.publish(self.session.network.get_flat())
        return self.stop_requested.is_set()

    def _fit_chunk(self) -> None:
        """Up to :data:`CHUNK` epochs of ``fit`` from the session's state, then back into it."""
        s = self.session
        s.finish_epoch()
        self.publish(s.network.get_flat())
        ts = s.train_state()
        compiled = not unsupported(s.network, s.optimizer)
        ts = replace(ts, engine="numba" if compiled else "numpy")
        watch = _Watch(self, ts.epoch + CHUNK)
        d = s.data
        fit(
            s.network, d.X, d.Y, optimizer=s.optimizer, epochs=ts.epoch + CHUNK,
            batch_size=s.settings.batch_size, seed=s.settings.seed,  # type: ignore[arg-type]
            weight_decay=s.settings.weight_decay,
            validation_data=(d.X_test, d.Y_test) if len(d.X_test) else None,
            callbacks=[watch], engine="auto", initial_state=ts,
        )  # fmt: skip
        if watch.final is not None:
            s.resume_from(watch.final)
