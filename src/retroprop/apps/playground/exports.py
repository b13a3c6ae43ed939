"""What the page can download, and the saved state it can load back.

- the model (``.retroprop``, :mod:`retroprop.files.model_file`: network, preprocessing and
  settings, as ``retroprop train`` writes it);
- the network JSON (:func:`retroprop.files.network_file.network_to_dict`; ``retroprop
  explain`` reads it);
- the current step as the step-through page (:func:`retroprop.views.steppage.step_page`);
- a Python script that reproduces the run with ``rp.fit``;
- the whole state (settings, weights, optimizer state, generator, position in the epoch,
  curves) as JSON, which :func:`load_state` restores exactly.

Nothing is written on the server's disk: the page receives the bytes and saves them.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import numpy as np

from retroprop.apps.playground.session import Session
from retroprop.apps.playground.settings import ProtocolError, settings_from_json
from retroprop.files.archive import write_archive
from retroprop.files.model import Model
from retroprop.files.model_file import model_members
from retroprop.files.network_file import loads_network, network_to_dict
from retroprop.views.steppage import step_page

__all__ = ["STATE_FORMAT", "export", "load_state", "state_dict"]

STATE_FORMAT = "retroprop.playground"


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


def state_dict(session: Session) -> dict[str, Any]:
    """Everything needed to continue exactly where the session stands (JSON).

    Floats are written with Python's shortest round-trip form, so weights reload bit for bit.
    """
    return {
        "format": STATE_FORMAT,
        "version": 1,
        "settings": session.settings.to_json(),
        "network": network_to_dict(session.network),
        "optimizer_state": _arrays(session.state),
        "rng": session.rng.bit_generator.state,
        "order": session.order.tolist(),
        "position": session.position,
        "epoch": session.epoch,
        "updates": session.updates,
        "curve": session.curve,
    }


def _restore_optimizer(session: Session, saved: Any) -> None:
    """The optimizer state from its JSON, checked against a fresh one's layout."""
    fresh = session.state
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
    session.state = out


def _restore_position(session: Session, state: dict[str, Any]) -> None:
    """Generator, sample order, position in the epoch, counters and curves."""
    order = np.asarray(state["order"], dtype=np.intp)
    if sorted(order.tolist()) != list(range(len(session.data.X))):
        raise ProtocolError("state.order: not an order of this data's samples")
    position = state["position"]
    if not isinstance(position, int) or not 0 <= position < max(len(order), 1):
        raise ProtocolError("state.position: out of range")
    session.rng.bit_generator.state = state["rng"]
    session.order, session.position = order, position
    session.epoch, session.updates = int(state["epoch"]), int(state["updates"])
    session.curve = [dict(c) for c in state["curve"]]


def load_state(session: Session, state: Any) -> None:
    """Restore a :func:`state_dict` into the session (its data must be available: built-in,
    or the CSV the session already has).

    Raises:
        ProtocolError, RetropropError: not a playground state, or one that does not fit.
    """
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise ProtocolError(f"state: not a {STATE_FORMAT} file")
    try:
        session.configure(settings_from_json(state["settings"]))
        net = loads_network(json.dumps(state["network"]), "state.network")
        if net.sizes != session.network.sizes:
            raise ProtocolError(f"state.network: {net!r} does not fit the data")
        session.network.set_flat(net.get_flat())
        if session.steps:
            _restore_optimizer(session, state["optimizer_state"])
        _restore_position(session, state)
    except (KeyError, TypeError) as exc:
        raise ProtocolError(f"state: missing or malformed field ({exc})") from None


def _model_bytes(session: Session) -> bytes:
    """The session's network as a model file (bytes), with its preprocessing and settings."""
    d, s = session.data, session.settings
    training = {**s.to_json(), "task": d.pre.target.kind, "epochs": session.epoch}
    training.update(output_activation=session.network.layers[-1].activation.name)
    training.update(loss=session.network.loss.name)
    model = Model(
        session.network.copy(), d.pre, training=training,
        data={"source": d.source, "sha256": d.sha256, "rows": len(d.X) + len(d.X_test)},
        metrics={"epochs": session.epoch, **session.measure(d.X, d.Y, "train_")},
    )  # fmt: skip
    buffer = io.BytesIO()
    write_archive(buffer, model_members(model))
    return buffer.getvalue()


SCRIPT = '''"""Reproduces the playground's run with retroprop.fit ({source}, {epochs} epochs)."""
import json

import retroprop as rp
from retroprop.apps.playground.data import builtin_table, prepare

{load}
d = prepare(table, target, test_fraction={test_fraction!r}, seed={seed!r})
net = rp.Network.create({sizes!r}, activation={activations!r}, loss={loss!r},
                        init={init!r}, seed={seed!r})
history = rp.fit(net, d.X, d.Y, optimizer=rp.get_optimizer({solver!r}, **{params!r}),
                 epochs={epochs!r}, batch_size={batch_size!r}, seed={seed!r},
                 weight_decay={weight_decay!r},
                 validation_data=(d.X_test, d.Y_test) if len(d.X_test) else None)
print("training loss after the last epoch:", history["loss"][-1])
print(json.dumps(net.get_flat().tolist()))  # the weights, as the playground has them
'''


def _script(session: Session) -> str:
    """A short Python script that trains the same network on the same data with ``rp.fit``."""
    from retroprop.apps.playground.settings import optimizer_kwargs

    s, net = session.settings, session.network
    if s.data == "csv":
        d = session.data
        load = f"table, target = rp.read_csv({d.source!r}), {d.pre.target.name!r}"
    else:
        load = (
            f"table, target = builtin_table({s.data!r}, noise={s.noise!r}, "
            f"n_samples={s.n_samples!r}, seed={s.seed!r})"
        )
    return SCRIPT.format(
        source=session.data.source.replace('"', "'"), load=load,
        sizes=net.sizes, activations=[ly.activation.name for ly in net.layers],
        loss=net.loss.name, init=s.init, solver=s.solver,
        params=optimizer_kwargs(s.solver, s.learning_rate, s.solver_params or {}),
        epochs=max(session.epoch, 1), batch_size=s.batch_size, seed=s.seed,
        weight_decay=s.weight_decay, test_fraction=s.test_fraction,
    )  # fmt: skip


def export(session: Session, kind: str, lang: str) -> dict[str, Any]:
    """The ``file`` frame of one export: its name, type and content (base64 for bytes)."""
    stem = f"playground-{session.data.source}".replace("/", "_")
    if kind == "model":
        return _file(f"{stem}.retroprop", "application/zip", _model_bytes(session))
    if kind == "network":
        text = json.dumps(network_to_dict(session.network), indent=2)
        return _file(f"{stem}-network.json", "application/json", text.encode())
    if kind == "state":
        text = json.dumps(state_dict(session), allow_nan=False)
        return _file(f"{stem}-state.json", "application/json", text.encode())
    if kind == "script":
        return _file(f"{stem}.py", "text/x-python", _script(session).encode())
    if kind == "step_page":
        if session.last_trace is None:
            raise ProtocolError("export: no traced step yet (step one sample or batch first)")
        page = step_page([session.last_trace], lang)
        return _file(f"{stem}-step.html", "text/html", page.encode())
    raise ProtocolError(
        f"export: expected model, network, state, script or step_page, got {kind!r}"
    )


def _file(name: str, mime: str, raw: bytes) -> dict[str, Any]:
    return {"type": "file", "name": name, "mime": mime, "base64": base64.b64encode(raw).decode()}
