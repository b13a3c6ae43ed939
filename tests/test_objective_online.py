"""The estimators' online kernel (batch_size=1, momentum, weight decay or Adam) against the
batch kernel it replaces for k = 1, and the floating-point mode it sets.

The fused kernel steps every row of Wᵀ from δⱼ xᵢ during the backward sweep instead of summing
the gradient into G and stepping in a second pass; the arithmetic of each parameter is the
same, so weights and optimizer state must agree bit for bit, and the reported losses to the
rounding of Σ‖W‖² (summed in another order).
"""

from __future__ import annotations

import numpy as np
import pytest

from retroprop import MLPClassifier
from retroprop._fast import constants as C
from retroprop._fast.objective import train_epoch_objective
from retroprop._fast.objective_online import train_online_objective

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def trainer(solver: str, dtype: type, hidden: tuple[int, ...], **settings: object) -> object:
    """A fitted estimator's compiled trainer (two hidden layers, some inputs exactly 0)."""
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (50, 7))
    X[rng.random(X.shape) < 0.3] = 0.0
    y = rng.integers(0, 3, 50)
    est = MLPClassifier(
        hidden_layer_sizes=hidden, solver=solver, batch_size=1, max_iter=2, random_state=0,
        engine="numba", learning_rate_init=0.01, **settings,
    )  # fmt: skip
    est.fit(X.astype(dtype), y)
    return est._compiled_trainer[2]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(
    "solver, settings",
    [
        ("sgd", {"momentum": 0.9, "nesterovs_momentum": True, "activation": "relu"}),
        ("sgd", {"momentum": 0.5, "nesterovs_momentum": False, "activation": "tanh"}),
        ("sgd", {"momentum": 0.0, "alpha": 1e-3, "activation": "logistic"}),
        ("adam", {"activation": "relu"}),
    ],
    ids=["nesterov", "classic", "decay-only", "adam"],
)
@pytest.mark.parametrize("alpha", [0.0, 1e-2])
# layers under 16 wide are summed 8, 2 and 1 units at a time in the forward pass, wider ones
# four rows of Wᵀ per sweep, then a row at a time: (20, 11) has both, and 11 = 8 + 2 + 1;
# (24, 18) sums a wide layer over the hidden units (up to 24 = 6 × 4 inputs ≠ 0, and the rest)
@pytest.mark.parametrize(
    "hidden", [(9, 6), (20, 11), (24, 18)], ids=["narrow", "wide", "wide-hidden"]
)
def test_fused_online_epoch_equals_the_batch_kernel(
    solver: str, settings: dict[str, object], alpha: float, dtype: type, hidden: tuple[int, ...]
) -> None:
    settings = {"alpha": alpha, **settings}
    tr = trainer(solver, dtype, hidden, **settings)
    index = np.random.default_rng(2).permutation(len(tr.X))
    alpha = float(settings["alpha"])
    runs = []
    for epoch in (train_epoch_objective, train_online_objective):
        state = [a.copy() for a in (tr.theta, tr.m, tr.v, tr.t)]
        c = tr.c.copy()
        c[C.C_ETA], c[C.C_NEG_ETA] = 0.01, -0.01
        theta, m, v, t = state
        total = epoch(
            theta, tr.X, tr.Y, index, 1, tr.layout, tr.loss_code, tr.opt, c, tr.betas,
            m, v, t, tr.work, alpha, 1.0, 0.01,
        )  # fmt: skip
        runs.append((total, state))
    (ref_total, ref), (fast_total, fast) = runs
    for a, b in zip(fast, ref, strict=True):
        np.testing.assert_array_equal(a, b)
    # Σ‖W‖² of float32 weights: squared exactly (in float64) here, rounded to float32 there
    assert fast_total == pytest.approx(ref_total, rel=1e-13 if dtype == np.float64 else 1e-9)
    assert not np.array_equal(ref[0], tr.theta)  # the epoch did train


def test_subnormals_are_back_after_training() -> None:
    """The kernel flushes subnormals to 0 while it runs only (MXCSR restored)."""
    tiny = np.float64(np.finfo(np.float64).tiny)
    tr = trainer("adam", np.float64, (9, 6))
    assert tiny / 4 > 0.0
    train_online_objective(
        tr.theta, tr.X, tr.Y, np.arange(len(tr.X)), 1, tr.layout, tr.loss_code, tr.opt,
        tr.c, tr.betas, tr.m, tr.v, tr.t, tr.work, 1e-4, 1.0, 0.001,
    )  # fmt: skip
    assert tiny / 4 > 0.0
    assert np.float32(np.finfo(np.float32).tiny) / np.float32(4) > 0.0
