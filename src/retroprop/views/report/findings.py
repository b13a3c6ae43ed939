"""What a training history says about the health of the network, as data and in words.

The findings read the series that :class:`~retroprop.glassbox.recorder.Recorder` stored in the
history during training and the training error per epoch; they compute nothing about the
network. Each is a :class:`~retroprop.glassbox.diagnostics.Diagnostic` (0-based layer numbers, as in
:mod:`retroprop.glassbox.diagnostics`) whose ``step`` is the epoch it refers to;
:func:`finding_text`
puts it into English or Spanish with layers numbered from 1.

Codes:

- ``saturated_units``: after the last epoch, at least half of a hidden layer's outputs on
  the recorded sample are saturated (sigmoid, tanh). Output layers are left out: an output
  near 0 or 1 is what a classifier is trained to give.
- ``dead_units``: after the last epoch, some units of a hidden ReLU layer are dead (z ≤ 0 on
  every recorded sample).
- ``vanishing_delta`` / ``exploding_delta``: the median over the epochs of a hidden layer's
  mean |δ| divided by the output layer's is below 1/100 (above 100).
- ``oscillating_error``: the training error rose, by more than 1 % of its first value, in at
  least 3 epochs and in at least 10 % of them: the learning rate makes it oscillate.
- ``rising_error``: the training error after the last epoch is more than 10 % above the one
  after the first.
"""

from __future__ import annotations

import numpy as np

from retroprop.glassbox.diagnostics import DELTA_RATIO, Diagnostic
from retroprop.glassbox.equations import num
from retroprop.glassbox.recorder import history_key
from retroprop.train.loop import History
from retroprop.views.i18n import words

__all__ = ["diagnose_training", "finding_text", "oscillation"]

RISE = 0.01
"""An epoch counts as a rise of the error when it grows by more than this fraction of the
error after the first epoch (smaller wiggles are noise)."""
MIN_RISES = 3
"""At least this many rises, and at least :data:`RISE_SHARE` of the epochs, mean oscillation."""
RISE_SHARE = 0.1
SATURATED_SHARE = 0.5
"""A hidden layer with at least this share of saturated outputs is reported."""
RISING = 1.1
"""The error after the last epoch over the one after the first above which training is
reported as having made the network worse."""


def oscillation(errors: list[float]) -> int:
    """Number of epochs in which the error rose by more than ``RISE`` × the first error."""
    e = np.asarray(errors, dtype=np.float64)
    if len(e) < 2 or not np.all(np.isfinite(e)) or e[0] <= 0:
        return 0
    return int(np.sum(np.diff(e) > RISE * e[0]))


def _series(history: History, stat: str, l: int) -> list[float] | None:
    key = history_key(stat, l)
    return history[key] if key in history else None


def diagnose_training(history: History, n_layers: int) -> list[Diagnostic]:
    """Findings of a training run from its history (see the module docstring for the codes).

    Args:
        history: what :func:`retroprop.fit` returned (with a Recorder among its callbacks for
            the findings about units and δ).
        n_layers: number of layers of the network (hidden and output).
    """
    found: list[Diagnostic] = []
    epochs = history.epochs
    for l in range(n_layers - 1):  # hidden layers only, see the module docstring
        saturated, dead = _series(history, "saturated", l), _series(history, "dead", l)
        if saturated and saturated[-1] >= SATURATED_SHARE:
            found.append(Diagnostic("saturated_units", saturated[-1], l, None, epochs))
        if dead and dead[-1] > 0:
            found.append(Diagnostic("dead_units", dead[-1], l, None, epochs))
    out = _series(history, "mean_abs_delta", n_layers - 1)
    for l in range(n_layers - 1):
        hidden = _series(history, "mean_abs_delta", l)
        if out is None or hidden is None:
            continue
        o, h = np.asarray(out), np.asarray(hidden)
        usable = (o > 0) & np.isfinite(o) & np.isfinite(h)
        if not np.any(usable):
            continue
        ratio = float(np.median(h[usable] / o[usable]))
        if ratio < 1 / DELTA_RATIO:
            found.append(Diagnostic("vanishing_delta", ratio, l, None, epochs))
        elif ratio > DELTA_RATIO:
            found.append(Diagnostic("exploding_delta", ratio, l, None, epochs))
    if "mse" in history:
        errors = history["mse"]
        rises = oscillation(errors)
        if rises >= MIN_RISES and rises >= RISE_SHARE * (len(errors) - 1):
            found.append(Diagnostic("oscillating_error", float(rises), None, None, epochs))
        if len(errors) > 1 and errors[-1] > RISING * errors[0] > 0:
            found.append(Diagnostic("rising_error", errors[-1] / errors[0], None, None, epochs))
    return found


def finding_text(d: Diagnostic, lang: str = "en") -> str:
    """One finding of :func:`diagnose_training` in words; layers are numbered from 1."""
    template = words(lang)[f"report_{d.code}"]
    if d.code in ("saturated_units", "dead_units"):
        value = f"{100 * d.value:.3g} %"
    elif d.code == "oscillating_error":
        value = f"{d.value:.0f}"
    else:
        value = num(d.value)
    layer = None if d.layer is None else d.layer + 1
    return template.format(layer=layer, value=value, epochs=d.step)
