"""What the server sends the page: plain JSON objects ("frames"), each with a ``type``.

- ``data``: the points (training and test, in the map's plane), what the inputs and outputs
  are, the plane's axes; sent when the data or the network change;
- ``frame``: the live picture — the decision map (≥ 100 × 100 cells, from the blocked
  ``predict``), a small map per hidden neuron, the weights, the current measurements, the
  curves and the confusion matrices;
- ``step``: one traced step (its JSON is ``retroprop explain``'s) with the walk through it;
- ``file``, ``error``, ``catalog``, ``settings``: see :mod:`.server`.

Maps travel as base64 bytes (one byte per cell) to keep a frame small at 20+ frames/s.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
from numpy.typing import NDArray

from retroprop.apps.playground.data import Plane, Prepared
from retroprop.apps.playground.session import Session, measure
from retroprop.core.network import Network
from retroprop.glassbox.trace import StepTrace
from retroprop.views.steppage import step_walk

Array = NDArray[np.floating]

__all__ = [
    "MAP_SIZE",
    "NEURON_MAP_SIZE",
    "curve",
    "data_frame",
    "frame_text",
    "live_frame",
    "picture_frame",
    "step_frame",
]

MAP_SIZE = 100
"""Cells per side of the decision map."""
NEURON_MAP_SIZE = 24
"""Cells per side of each hidden neuron's small map."""
CURVE_POINTS = 300
"""Points per curve sent to the page (the curve is thinned evenly to this many)."""
MAX_POINTS = 2000
"""Training (and test) points drawn on the map."""


def _bytes(values: Array, lo: float, hi: float) -> str:
    """Values quantised to 0…255 over [lo, hi], as base64 text."""
    scaled = (values - lo) / ((hi - lo) or 1.0)
    q = np.clip(np.nan_to_num(scaled, nan=0.5) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def _labels(session: Session, Y: Array) -> list[float]:
    """Each row's class index, or its standardised target value."""
    return (Y.argmax(axis=1) if session.data.classify else Y[:, 0]).tolist()


def data_frame(session: Session, plane: Plane) -> dict[str, Any]:
    """The data and the shape of things: sent after every change of data or network."""
    d = session.data
    n = min(len(d.X), MAX_POINTS)
    return {
        "type": "data",
        "source": d.source,
        "task": d.pre.target.kind,
        "inputs": list(d.input_names),
        "outputs": list(d.output_names),
        "target": d.pre.target.name,
        "columns": session.table.names if session.settings.data == "csv" else [],
        "sizes": session.network.sizes,
        "activations": [ly.activation.name for ly in session.network.layers],
        "loss": session.network.loss.name,
        "optimizer": session.optimizer.name,
        "steps": session.steps,
        "n_train": len(d.X),
        "n_test": len(d.X_test),
        "plane": {"labels": list(plane.labels), "s": plane.s_range, "t": plane.t_range},
        "train": {"st": plane.project(d.X[:n]).tolist(), "y": _labels(session, d.Y[:n])},
        "test": {
            "st": plane.project(d.X_test[:MAX_POINTS]).tolist(),
            "y": _labels(session, d.Y_test[:MAX_POINTS]),
        },
        "y_range": _y_range(d),
        "notes": list(d.notes),
        "settings": session.settings.to_json(),
    }


def _y_range(data: Prepared) -> list[float]:
    """The span of the standardised targets (a regression map's colour scale)."""
    Y = data.Y
    return [float(Y.min()), float(Y.max())] if len(Y) else [0.0, 1.0]


def _decision_map(data: Prepared, net: Network, plane: Plane) -> dict[str, Any]:
    """The output over the plane: class and confidence per cell, or the value."""
    O = net.predict(plane.grid(MAP_SIZE))  # blocked inference, (n², n_outputs)
    if data.classify:
        total = O.sum(axis=1) if net.layers[-1].activation.name != "softmax" else 1.0
        share = O.max(axis=1) / np.where(np.abs(total) > 0, total, 1.0)
        return {
            "n": MAP_SIZE,
            "cls": base64.b64encode(O.argmax(axis=1).astype(np.uint8).tobytes()).decode(),
            "conf": _bytes(np.clip(share, 0.0, 1.0), 0.0, 1.0),
        }
    lo, hi = _y_range(data)
    return {"n": MAP_SIZE, "value": _bytes(O[:, 0], lo, hi), "range": [lo, hi]}


def _neuron_maps(net: Network, plane: Plane) -> list[list[dict[str, Any]]]:
    """Per hidden layer, per neuron: its activation over the plane, quantised, and its span."""
    fp = net.forward(plane.grid(NEURON_MAP_SIZE))
    out = []
    for a in fp.a[:-1]:
        lo, hi = a.min(axis=0), a.max(axis=0)
        out.append(
            [
                {"map": _bytes(a[:, j], lo[j], hi[j]), "lo": lo[j], "hi": hi[j]}
                for j in range(a.shape[1])
            ]
        )
    return out


def _confusion(net: Network, X: Array, Y: Array) -> list[list[int]]:
    """Counts of (true class, predicted class), k × k."""
    k = Y.shape[1]
    if not len(X):
        return []
    M = np.zeros((k, k), dtype=np.int64)
    np.add.at(M, (Y.argmax(axis=1), net.predict(X).argmax(axis=1)), 1)
    return M.tolist()


def curve(session: Session) -> dict[str, list[float | None]]:
    """The curves, thinned to :data:`CURVE_POINTS`: epoch, loss, MSE, accuracy or R²."""
    points = list(session.curve)
    if len(points) > CURVE_POINTS:
        pick = np.unique(np.linspace(0, len(points) - 1, CURVE_POINTS).round().astype(int))
        points = [points[i] for i in pick]
    keys = ["epoch", "loss", "mse", "val_loss", "val_mse"]
    keys += ["accuracy", "val_accuracy"] if session.data.classify else ["r2", "val_r2"]
    return {k: [c.get(k) for c in points] for k in keys}


def live_frame(
    session: Session, plane: Plane, net: Network, status: dict[str, Any]
) -> dict[str, Any]:
    """The live picture of ``net`` (the session's network, or a copy of its weights taken
    while training runs) with the session's curves and ``status`` (epoch, running, …)."""
    return picture_frame(session.data, plane, net, status, curve(session))


def picture_frame(
    data: Prepared,
    plane: Plane,
    net: Network,
    status: dict[str, Any],
    curves: dict[str, list[float | None]],
) -> dict[str, Any]:
    """:func:`live_frame` from its parts: what the frame process (:mod:`.framer`) receives."""
    frame: dict[str, Any] = {
        "type": "frame",
        **status,
        "map": _decision_map(data, net, plane),
        "neurons": _neuron_maps(net, plane),
        "weights": [{"W": ly.W.tolist(), "b": ly.b.tolist()} for ly in net.layers],
        "train": measure(net, data.X, data.Y, data.classify, ""),
        "test": measure(net, data.X_test, data.Y_test, data.classify, ""),
        "curve": curves,
    }
    if data.classify:
        frame["confusion"] = {
            "train": _confusion(net, data.X, data.Y),
            "test": _confusion(net, data.X_test, data.Y_test),
        }
    return frame


def frame_text(frame: dict[str, Any]) -> str:
    """A frame as the socket carries it: JSON text (NumPy scalars as numbers, no NaN)."""
    return json.dumps(frame, allow_nan=False, default=_plain)


def _plain(value: Any) -> Any:
    """JSON for NumPy scalars (``json.dumps``'s ``default``)."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _per_sample_gradients(trace: StepTrace) -> list[dict[str, Any]] | None:
    """For a batch: per layer the per-sample ∂E/∂w = −δⱼ xᵢ (B, n_out, n_in) that the step
    averaged; None for one sample."""
    if trace.batch_size == 1:
        return None
    return [
        {"grad_weights": (-ly.delta[:, :, None] * ly.x[:, None, :]).tolist(),
         "grad_biases": (-ly.delta).tolist()}
        for ly in trace.layers
    ]  # fmt: skip


def step_frame(trace: StepTrace) -> dict[str, Any]:
    """One traced step: the trace's JSON (``retroprop explain``'s), the walk through it and,
    for a batch, the per-sample gradients whose mean was applied."""
    return {
        "type": "step",
        "trace": trace.to_dict(),
        "walk": step_walk([trace]),
        "per_sample": _per_sample_gradients(trace),
    }
