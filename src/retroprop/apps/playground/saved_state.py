"""The saved state: everything needed to continue exactly where a session stands, as JSON.

Settings, the CSV, weights, optimizer state, generator, position in the epoch, counters,
curves and the GA's population (a :class:`~.history.Snapshot`), written by
:func:`state_dict` and restored exactly by :func:`load_state`. A CSV the page sent travels in
the state whole (at most :data:`MAX_CSV_BYTES`); the CSV named on the command line is named
with its SHA-256, since the server reads no other file. Version 1 files (no CSV, no
population) still load.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from numpy.typing import NDArray

from retroprop.apps.playground.history import Snapshot, restore, take
from retroprop.apps.playground.session import CsvData, Population, Session
from retroprop.apps.playground.settings import ProtocolError, settings_from_json
from retroprop.core.optimizers import State
from retroprop.data.tabular import read_csv_bytes
from retroprop.errors import RetropropError
from retroprop.files.network_file import loads_network, network_to_dict

__all__ = ["MAX_CSV_BYTES", "STATE_FORMAT", "csv_data", "load_state", "state_dict"]

STATE_FORMAT = "retroprop.playground"
MAX_CSV_BYTES = 8 << 20
"""Size of a CSV the page may send (it travels in the saved state, and over the socket)."""


def _arrays(state: dict[str, Any]) -> dict[str, Any]:
    """An optimizer state as JSON: lists of arrays become nested lists."""
    return {
        k: [a.tolist() for a in v]
        if isinstance(v, list)
        else float(v)
        if isinstance(v, (float, np.floating))
        else v
        for k, v in state.items()
    }


def csv_data(name: str, text: str) -> CsvData:
    """The CSV the page sent (a file the user chose, or one a saved state carries).

    Raises:
        ProtocolError: over :data:`MAX_CSV_BYTES`; DataError: not a usable CSV.
    """
    raw = text.encode("utf-8")
    if len(raw) > MAX_CSV_BYTES:
        raise ProtocolError(
            f"{name}: {_size(len(raw))}; the page takes CSV files of at most "
            f"{_size(MAX_CSV_BYTES)} (name a bigger file on the command line instead: "
            f"retroprop playground {name})"
        )
    return CsvData(read_csv_bytes(raw, name), text)


def _size(n: int) -> str:
    """A size in bytes as people read it: 812 B, 3.4 kB, 8.0 MB."""
    for unit, scale in (("MB", 2**20), ("kB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _csv_json(csv: CsvData | None) -> dict[str, Any] | None:
    """The CSV in a saved state: a file the page sent travels whole (its text); the command
    line's file is named and fingerprinted (the server reads no other file)."""
    if csv is None:
        return None
    t = csv.table
    out = {"source": t.source, "sha256": t.sha256}
    return {**out, "text": csv.text} if csv.text is not None else {**out, "encoding": csv.encoding}


def _population_json(pop: Population | None) -> dict[str, Any] | None:
    if pop is None:
        return None
    fitness = [float(f) if np.isfinite(f) else None for f in pop.fitness]  # −∞: overflowed
    return {"generation": pop.g, "Theta": pop.Theta.tolist(), "fitness": fitness,
            "rng": pop.rng.bit_generator.state}  # fmt: skip


def state_dict(session: Session) -> dict[str, Any]:
    """Everything needed to continue exactly where the session stands (JSON), its CSV included.

    Floats are written with Python's shortest round-trip form, so weights reload bit for bit.
    """
    snap = take(session)
    return {
        "format": STATE_FORMAT,
        "version": 2,
        "settings": snap.settings.to_json(),
        "csv": _csv_json(snap.csv if snap.settings.data == "csv" else None),
        "network": network_to_dict(session.network),
        "optimizer_state": _arrays(snap.state),
        "rng": snap.rng,
        "order": snap.order.tolist(),
        "position": snap.position,
        "epoch": snap.epoch,
        "updates": snap.updates,
        "elapsed": snap.elapsed,
        "curve": snap.curve,
        "population": _population_json(snap.population),
    }


def _optimizer_state(fresh: State, saved: Any) -> State:
    """The optimizer state from its JSON, checked against a fresh one's layout."""
    if not isinstance(saved, dict) or set(saved) != set(fresh):
        raise ProtocolError("state.optimizer_state: not the state of this optimizer")
    out: dict[str, Any] = {}
    for k, v in fresh.items():
        if isinstance(v, list):
            arrays = [np.asarray(a, dtype=np.float64) for a in saved[k]]
            if [a.shape for a in arrays] != [a.shape for a in v]:
                raise ProtocolError(f"state.optimizer_state.{k}: wrong shapes")
            out[k] = arrays
        else:
            out[k] = type(v)(saved[k]) if isinstance(v, (int, float)) else saved[k]
    return out


def _csv_of(saved: Any, session: Session, command_line: CsvData | None) -> CsvData | None:
    """The CSV a saved state names: its own text, or the command line's file (same digest)."""
    if saved is None:
        return None
    if not isinstance(saved, dict) or not isinstance(saved.get("source"), str):
        raise ProtocolError("state.csv: expected the CSV's source and text")
    source, sha = saved["source"], saved.get("sha256")
    for have in (session.csv, command_line):
        if have is not None and have.table.sha256 == sha and have.table.source == source:
            return have
    if isinstance(saved.get("text"), str):
        csv = csv_data(source, saved["text"])
        if csv.table.sha256 != sha:
            raise ProtocolError(f"state.csv: the text of {source} does not match its digest")
        return csv
    raise ProtocolError(
        f"state: saved on {source}, the CSV named on the command line then; start "
        f"retroprop playground {source} to reload it"
    )


def _population(saved: Any, D: int) -> Population | None:
    """The GA's population from its JSON: Θ (P, D), fitness (−∞ for null), generator."""
    if saved is None:
        return None
    Theta = np.asarray(saved["Theta"], dtype=np.float64)
    if Theta.ndim != 2 or Theta.shape[1] != D:
        raise ProtocolError("state.population: not a population of this network")
    fitness = np.array([-np.inf if f is None else f for f in saved["fitness"]], dtype=np.float64)
    rng = np.random.default_rng()
    rng.bit_generator.state = saved["rng"]
    return Population(Theta, fitness, rng, int(saved["generation"]))


def _order(session: Session, state: dict[str, Any]) -> tuple[NDArray[np.intp], int]:
    """The sample order and the position in the epoch, checked against the data."""
    order = np.asarray(state["order"], dtype=np.intp)
    if sorted(order.tolist()) != list(range(len(session.data.X))):
        raise ProtocolError("state.order: not an order of this data's samples")
    position = state["position"]
    if not isinstance(position, int) or not 0 <= position < max(len(order), 1):
        raise ProtocolError("state.position: out of range")
    return order, position


def _snapshot(session: Session, state: dict[str, Any], csv: CsvData | None) -> Snapshot:
    """The saved state as a snapshot of the session (configured to its settings already)."""
    net = loads_network(json.dumps(state["network"]), "state.network")
    if net.sizes != session.network.sizes:
        raise ProtocolError(f"state.network: {net!r} does not fit the data")
    opt = _optimizer_state(session.state, state["optimizer_state"]) if session.steps else {}
    order, position = _order(session, state)
    theta = net.get_flat()
    return Snapshot(
        settings=session.settings, csv=csv, theta=theta, state=opt, rng=state["rng"],
        order=order, position=position, epoch=int(state["epoch"]),
        updates=int(state["updates"]), elapsed=float(state.get("elapsed", 0.0)),
        curve=[dict(c) for c in state["curve"]],
        population=_population(state.get("population"), len(theta)),
    )  # fmt: skip


def load_state(session: Session, state: Any, command_line: CsvData | None = None) -> None:
    """Restore a :func:`state_dict` into the session: its CSV travels in it (a file the page
    sent) or is the file named on the command line (``command_line``, the same digest).

    Raises:
        ProtocolError, RetropropError: not a playground state, or one that does not fit.
    """
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise ProtocolError(f"state: not a {STATE_FORMAT} file")
    try:
        csv = _csv_of(state.get("csv"), session, command_line)
        session.configure(settings_from_json(state["settings"]), csv)
        restore(session, _snapshot(session, state, csv))
    except RetropropError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(f"state: missing or malformed field ({exc})") from None
