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
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from retroprop.glassbox.trace import StepTrace

__all__ = ["Diagnostic", "diagnose", "diagnose_steps"]

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


def diagnose(trace: StepTrace) -> list[Diagnostic]:
    """Findings of one step: saturated and dead units, vanishing or exploding δ, error up."""
    found: list[Diagnostic] = []
    step = trace.step
    for l, ly in enumerate(trace.layers):
        a, z = ly.a, ly.z
        if ly.activation == "sigmoid":
            saturated = np.all((a < SATURATION) | (a > 1 - SATURATION), axis=0)
        elif ly.activation == "tanh":
            saturated = np.all(np.abs(a) > 1 - SATURATION, axis=0)
        else:
            saturated = np.zeros(ly.n_out, dtype=bool)
        for j in np.flatnonzero(saturated):
            found.append(Diagnostic("saturated", float(np.mean(a[:, j])), l, int(j), step))
        if ly.activation == "relu":
            for j in np.flatnonzero(np.all(z <= 0, axis=0)):
                found.append(Diagnostic("dead", float(np.max(z[:, j])), l, int(j), step))
    out = float(np.mean(np.abs(trace.layers[-1].delta)))
    if out > 0 and np.isfinite(out):
        for l, ly in enumerate(trace.layers[:-1]):
            ratio = float(np.mean(np.abs(ly.delta))) / out
            if ratio < 1 / DELTA_RATIO:
                found.append(Diagnostic("vanishing", ratio, l, None, step))
            elif ratio > DELTA_RATIO:
                found.append(Diagnostic("exploding", ratio, l, None, step))
    change = trace.error_after - trace.error_before
    if change > 0:
        found.append(Diagnostic("error_increased", change, None, None, step))
    return found


def diagnose_steps(traces: Sequence[StepTrace]) -> list[Diagnostic]:
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
