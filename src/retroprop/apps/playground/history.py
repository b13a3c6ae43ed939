"""Undo and redo: snapshots of where the session stood before each change the user made.

What a playground user changes — a typed weight or bias, a step (one sample, one batch, one
epoch or generation), a stretch of play, a reset, new settings, a loaded CSV or state — is
undone as one move: the snapshot taken before it (:class:`Snapshot`: settings, CSV, weights,
optimizer state, generator, sample order and position, counters, curves, the GA's
population) is put back, so the next step after an undo is the step that was taken before.
A command that fails puts its snapshot back at once, so a failed change changes nothing.
The same snapshot is what a saved state holds (:mod:`.saved_state`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from retroprop.apps.playground.session import CsvData, Population, Session
from retroprop.apps.playground.settings import Settings
from retroprop.core.optimizers import State

__all__ = ["UNDO_DEPTH", "History", "Snapshot", "restore", "take"]

UNDO_DEPTH = 50
"""Changes that can be undone (the oldest are forgotten first)."""
UNDO_BYTES = 256 << 20
"""Memory the undo snapshots may hold together (a GA population of a big network is tens of
MB): past it the oldest are forgotten, the last one always kept."""


@dataclass(frozen=True)
class Snapshot:
    """Where a session stands: the settings and the CSV (which fix the data), the weights θ
    (D,), the optimizer state, the generator's state, the sample order (n,) and the position
    in the epoch, the counters, the curves and the GA's population. ``what`` names the
    change made after it (a key of the page's words, e.g. ``"pg_step_sample"``)."""

    settings: Settings
    csv: CsvData | None
    theta: NDArray[np.floating]
    state: State
    rng: dict[str, Any]
    order: NDArray[np.intp]
    position: int
    epoch: int
    updates: int
    elapsed: float
    curve: list[dict[str, float]]
    population: Population | None
    what: str = ""

    @property
    def nbytes(self) -> int:
        """Roughly the memory the snapshot holds: its arrays."""
        pop = self.population
        return _nbytes([self.theta, self.order, self.state, pop.Theta if pop else None])


def _nbytes(value: Any) -> int:
    """Bytes of the arrays in ``value`` (arrays, or lists, tuples and dicts of them)."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(v) for v in value)
    return 0


def take(session: Session, what: str = "") -> Snapshot:
    """A snapshot of the session (independent copies: later training leaves it alone)."""
    s = session
    return Snapshot(
        settings=s.settings, csv=s.csv, theta=s.network.get_flat().copy(),
        state=copy.deepcopy(s.state), rng=copy.deepcopy(dict(s.rng.bit_generator.state)),
        order=s.order.copy(), position=s.position, epoch=s.epoch, updates=s.updates,
        elapsed=s.elapsed, curve=list(s.curve),
        population=None if s.population is None else s.population.copy(), what=what,
    )  # fmt: skip


def restore(session: Session, snap: Snapshot) -> None:
    """Put the session back where ``snap`` stood (new data and network only when the settings
    or the CSV differ)."""
    s = session
    if snap.settings != s.settings or (snap.csv is not None and snap.csv is not s.csv):
        s.configure(snap.settings, snap.csv)
    s.network.set_flat(snap.theta)
    s.state = copy.deepcopy(snap.state)
    s.rng.bit_generator.state = copy.deepcopy(snap.rng)
    s.order = snap.order.copy()
    s.position, s.epoch, s.updates, s.elapsed = (
        snap.position,
        snap.epoch,
        snap.updates,
        snap.elapsed,
    )
    s.curve = list(snap.curve)
    s.population = None if snap.population is None else snap.population.copy()
    s.last_trace = None


@dataclass
class History:
    """The undo and redo stacks of one page's session."""

    undo: list[Snapshot] = field(default_factory=list)
    redo: list[Snapshot] = field(default_factory=list)

    @contextmanager
    def change(self, session: Session, what: str) -> Iterator[None]:
        """Make a change to ``session`` inside this block: undoable once it succeeds; if it
        raises, the session is put back as it was and the redo stack is kept."""
        before = take(session, what)
        try:
            yield
        except BaseException:
            restore(session, before)
            raise
        self.undo.append(before)
        del self.undo[:-UNDO_DEPTH]
        self.redo.clear()
        while len(self.undo) > 1 and sum(snap.nbytes for snap in self.undo) > UNDO_BYTES:
            del self.undo[0]

    def back(self, session: Session) -> bool:
        """Undo the last change; False when there is none."""
        return _move(session, self.undo, self.redo)

    def forward(self, session: Session) -> bool:
        """Redo the last undone change; False when there is none."""
        return _move(session, self.redo, self.undo)

    def labels(self) -> dict[str, str | None]:
        """What undo and redo would take back or make again (keys of the page's words)."""
        return {
            "undo_what": self.undo[-1].what if self.undo else None,
            "redo_what": self.redo[-1].what if self.redo else None,
        }


def _move(session: Session, source: list[Snapshot], target: list[Snapshot]) -> bool:
    """Restore the last snapshot of ``source`` and keep the present on ``target``."""
    if not source:
        return False
    snap = source.pop()
    target.append(take(session, snap.what))
    restore(session, snap)
    return True
