"""What a traced step says about the health of the network, as data.

Each finding is a :class:`Diagnostic` with a code; the views put it into words (English or
Spanish) and the JSON trace carries it as is. Layer and neuron numbers are 0-based here, as
positions in ``StepTrace.layers`` and in a layer's arrays; views show them 1-based, like the
lecture's subscripts.

Codes:

- ``saturated``: a sigmoid unit with o < 0.02 or o > 0.98 (tanh: |o| > 0.98) on every sample of
  the batch. Its derivative f′(z) is nearly 0, so its δ and its weight changes are tiny.
- ``dead``: a ReLU unit with z ≤ 0 on every sample: o = 0 and f′(z) = 0, it does not learn.
- ``vanishing`` / ``exploding``: the mean |δ| of a hidden layer is below 1/100 (above 100 times)
  the mean |δ| of the output layer.
- ``error_increased``: the step made the error E on its own samples larger; η may be too big.
- ``oscillating`` (over several steps): the error went up and down at least twice in a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from retroprop.glassbox.records import Array, StepRecord

__all__ = ["Diagnostic", "dead_units", "diagnose", "diagnose_steps", "flat_outputs"]

SATURATION = 0.02
"""A sigmoid output closer than this to 0 or 1 counts as saturated (tanh: to −1 or 1)."""
DELTA_RATIO = 100.0
"""A hidden layer's mean |δ| this many times smaller (larger) than the output's is vanishing
(exploding)."""


@dataclass(frozen=True)
class Diagnostic:
    """One finding about a traced step.

    Attributes:
        code: what was found (see the module docstring).
        value: the number behind it: o for ``saturated``, max z for ``dead``, the |δ| ratio
            for ``vanishing``/``exploding``, E after − E before for ``error_increased``, the
            number of direction changes for ``oscillating``.
        layer: 0-based layer index, or None when the finding is about the whole network.
        neuron: 0-based neuron index in the layer, or None.
        step: the step number (for findings over several steps: the last one).
    """

    code: str
    value: float
    layer: int | None = None
    neuron: int | None = None
    step: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def flat_outputs(activation: str, a: Array) -> NDArray[np.bool_] | None:
    """Where a layer's outputs are in the flat part of f, (n, n_out); None if f cannot saturate.

    Sigmoid: o < 0.02 or o > 0.98; tanh: |o| > 0.98 (:data:`SATURATION`). There f′(z) is
    nearly 0. Not ``sigmoid_fann``: FANN's clipped derivative never falls below 0.0099, a
    saturated unit keeps learning. Shared by the step diagnostics and the training
    :mod:`~retroprop.glassbox.recorder`.

    Args:
        activation: the layer's activation name.
        a: its outputs o, (n_samples, n_units).
    """
    if activation == "sigmoid":
        return (a < SATURATION) | (a > 1 - SATURATION)
    if activation == "tanh":
        return np.abs(a) > 1 - SATURATION
    return None


def dead_units(activation: str, z: Array) -> NDArray[np.bool_] | None:
    """Which units of a ReLU layer are dead, (n_units,): z ≤ 0 on every sample; None if not ReLU.

    At z = 0 ReLU's output is 0 and its derivative is taken as 0, so z = 0 counts as dead.

    Args:
        activation: the layer's activation name.
        z: its net inputs, (n_samples, n_units).
    """
    if activation != "relu":
        return None
    dead: NDArray[np.bool_] = np.all(z <= 0, axis=0)
    return dead


def _unit_findings(trace: StepRecord) -> list[Diagnostic]:
    """Saturated units (flat on every sample of the batch) and dead ReLU units, layer by layer."""
    found: list[Diagnostic] = []
    for l, ly in enumerate(trace.layers):
        flat = flat_outputs(ly.activation, ly.a)
        if flat is not None:
            for j in np.flatnonzero(np.all(flat, axis=0)):
                o = float(np.mean(ly.a[:, j]))
                found.append(Diagnostic("saturated", o, l, int(j), trace.step))
        dead = dead_units(ly.activation, ly.z)
        if dead is not None:
            for j in np.flatnonzero(dead):
                z_max = float(np.max(ly.z[:, j]))
                found.append(Diagnostic("dead", z_max, l, int(j), trace.step))
    return found


def _delta_findings(trace: StepRecord) -> list[Diagnostic]:
    """Hidden layers whose mean |δ| is :data:`DELTA_RATIO` times below (above) the output's."""
    out = float(np.mean(np.abs(trace.layers[-1].delta)))
    if not (out > 0 and np.isfinite(out)):
        return []
    found: list[Diagnostic] = []
    for l, ly in enumerate(trace.layers[:-1]):
        ratio = float(np.mean(np.abs(ly.delta))) / out
        if ratio < 1 / DELTA_RATIO:
            found.append(Diagnostic("vanishing", ratio, l, None, trace.step))
        elif ratio > DELTA_RATIO:
            found.append(Diagnostic("exploding", ratio, l, None, trace.step))
    return found


def diagnose(trace: StepRecord) -> list[Diagnostic]:
    """Findings of one step: saturated and dead units, vanishing or exploding δ, error up."""
    found = _unit_findings(trace) + _delta_findings(trace)
    change = trace.error_after - trace.error_before
    if change > 0:
        found.append(Diagnostic("error_increased", change, None, None, trace.step))
    return found


def diagnose_steps(traces: Sequence[StepRecord]) -> list[Diagnostic]:
    """Findings over consecutive steps on the same samples: an oscillating error.

    The errors E₀ (before the first step), E₁, … E_N (after each step) oscillate when the sign
    of Eₜ₊₁ − Eₜ changes at least twice.
    """
    if len(traces) < 3:
        return []
    errors = [traces[0].error_before] + [t.error_after for t in traces]
    signs = np.sign(np.diff(errors))
    signs = signs[signs != 0]
    changes = int(np.sum(signs[1:] != signs[:-1]))
    if changes >= 2:
        return [Diagnostic("oscillating", float(changes), None, None, traces[-1].step)]
    return []
