"""What the page can download.

- the model (``.retroprop``, :mod:`retroprop.files.model_file`: network, preprocessing and
  settings, as ``retroprop train`` writes it);
- the network JSON (:func:`retroprop.files.network_file.network_to_dict`; ``retroprop
  explain`` reads it);
- the current step as the step-through page (:func:`retroprop.views.steppage.step_page`);
- a Python script that reproduces the run with ``rp.fit``;
- the whole state as JSON (:mod:`.saved_state`), which the page can load back.

Nothing is written on the server's disk: the page receives the bytes and saves them.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

from retroprop.apps.playground.saved_state import state_dict
from retroprop.apps.playground.session import Session
from retroprop.apps.playground.settings import ProtocolError
from retroprop.files.archive import write_archive
from retroprop.files.model import Model
from retroprop.files.model_file import model_members
from retroprop.files.network_file import network_to_dict
from retroprop.views.steppage import step_page

__all__ = ["export"]


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
        d, encoding = session.data, session.csv.encoding if session.csv else "utf-8"
        load = (
            f"table = rp.read_csv({d.source!r}, encoding={encoding!r})\n"
            f"target = {d.pre.target.name!r}"
        )
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
