"""The training recorder's per-layer shares, at the thresholds the step diagnostics use."""

from __future__ import annotations

import numpy as np

from retroprop.glassbox.recorder import dead_fraction, saturated_fraction

EPS = 1e-9


def test_saturated_share_counts_outputs_beyond_0_02_from_either_end() -> None:
    # 8 (sample, unit) pairs, 4 of them strictly beyond the threshold
    a = np.array([[0.02, 0.98, 0.02 - EPS, 0.98 + EPS], [0.5, 0.02 + EPS, 0.0, 0.98 - EPS]])
    assert saturated_fraction("sigmoid", a) == 3 / 8
    t = np.array([[0.98, -0.98, 0.98 + EPS, -0.98 - EPS]])
    assert saturated_fraction("tanh", t) == 2 / 4
    assert saturated_fraction("relu", a) is None


def test_dead_fraction_counts_z_exactly_zero_as_dead() -> None:
    # unit 1: z = 0 on both samples (dead); unit 2: 0 then −ε (dead); unit 3: ε once (alive)
    z = np.array([[0.0, 0.0, EPS], [0.0, -EPS, 0.0]])
    assert dead_fraction("relu", z) == 2 / 3
    assert dead_fraction("sigmoid", z) is None
