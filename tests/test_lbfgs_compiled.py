"""L-BFGS in ``rp.fit`` on the compiled engine: J and ∇J from one full-batch pass.

The compiled objective (:meth:`retroprop._fast.fullbatch.FullBatchTrainer.value_and_grad`)
against the NumPy reference ``Network.gradient`` at the same θ, to 1e-12 (float64) and 1e-5
(float32), for several activations, losses and weight decays; and the engine each ``engine``
setting gives the solver.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import retroprop as rp
from retroprop._fast import fullbatch
from retroprop._fast.engine import select_engine
from retroprop.train.solvers import LBFGS

TOL = {np.float64: 1e-12, np.float32: 1e-5}
COMBOS = [
    ([5, 9, 3], "tanh", "softmax", "categorical_cross_entropy"),
    ([5, 12, 7, 2], "sigmoid", "sigmoid", "binary_cross_entropy"),
    ([5, 20, 1], "relu", "identity", "squared_error"),
    ([5, 6, 3], "leaky_relu", "softmax", "absolute_error"),
]


def data(n_out: int, dtype: type, n: int = 80) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (n, 5))
    X[rng.random(X.shape) < 0.2] = 0.0
    if n_out == 1:
        Y = rng.uniform(-1, 1, (n, 1))
    else:
        Y = np.eye(n_out)[rng.integers(0, n_out, n)]
    return X.astype(dtype), Y.astype(dtype)


def network(combo: tuple[Any, ...], dtype: type) -> rp.Network:
    sizes, hidden, out, loss = combo
    return rp.Network.create(
        sizes, activation=hidden, output_activation=out, loss=loss, seed=5, dtype=dtype
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("combo", COMBOS, ids=[c[3] for c in COMBOS])
def test_compiled_objective_equals_numpy(combo: tuple[Any, ...], dtype: type) -> None:
    """J and ∇J at several θ (the start and random points), with and without weight decay."""
    X, Y = data(combo[0][-1], dtype)
    rng = np.random.default_rng(0)
    for weight_decay in (0.0, 1e-2):
        net, ref = network(combo, dtype), network(combo, dtype)
        fast = select_engine("numba", net, LBFGS(), X, Y, 1, weight_decay, 10)
        assert isinstance(fast, fullbatch.FullBatchTrainer)
        theta0 = net.get_flat().astype(np.float64)
        for theta in (theta0, theta0 + rng.normal(0, 0.5, theta0.shape)):
            J, grad = fast.value_and_grad(theta)
            ref.set_flat(theta)
            J_ref, grads = ref.gradient(X, Y, weight_decay)
            grad_ref = np.concatenate([g.ravel() for g in grads.flat()])
            assert grad.dtype == np.float64 and grad.shape == theta.shape
            assert abs(J - J_ref) <= TOL[dtype] * abs(J_ref)
            scale = np.max(np.abs(grad_ref))
            assert np.max(np.abs(grad - grad_ref)) <= TOL[dtype] * scale
            np.testing.assert_array_equal(net.get_flat(), theta.astype(dtype))  # θ taken


def test_fit_lbfgs_on_the_compiled_engine_follows_numpy() -> None:
    """The whole run: same iterations, the history and weights to rounding (float64)."""
    X, Y = data(3, np.float64)
    runs = []
    for engine in ("numba", "numpy"):
        net = network(COMBOS[0], np.float64)
        history = rp.fit(
            net, X, Y, optimizer="lbfgs", epochs=30, engine=engine, weight_decay=1e-3,
            validation_data=(X[:20], Y[:20]),
        )  # fmt: skip
        runs.append((net.get_flat(), history))
    (theta_f, h_f), (theta_r, h_r) = runs
    assert h_f.epochs == h_r.epochs == 30
    assert np.max(np.abs(theta_f - theta_r)) <= 1e-8 * np.max(np.abs(theta_r))
    for key in ("loss", "mse", "accuracy", "val_loss", "updates"):
        np.testing.assert_allclose(h_f[key], h_r[key], rtol=1e-9, err_msg=key)


def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    compiled = fullbatch.FullBatchTrainer.value_and_grad

    def value_and_grad(self: Any, theta: np.ndarray) -> Any:
        calls[0] += 1
        return compiled(self, theta)

    monkeypatch.setattr(fullbatch.FullBatchTrainer, "value_and_grad", value_and_grad)
    return calls


@pytest.mark.parametrize(
    ("engine", "n", "epochs", "compiled"),
    [
        ("numba", 20, 3, True),  # insisted on, however short
        ("numpy", 400, 100, False),  # never
        ("auto", 20, 3, False),  # too short to repay compiling (20 × 3 < AUTO_MIN_VISITS)
        ("auto", 400, 100, True),  # long enough
    ],
)
def test_engine_setting_is_honoured(
    engine: Any, n: int, epochs: int, compiled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counted(monkeypatch)
    X, Y = data(3, np.float64, n)
    rp.fit(network(COMBOS[0], np.float64), X, Y, optimizer="lbfgs", epochs=epochs, engine=engine)
    assert (calls[0] > 0) == compiled


def test_auto_leaves_wide_layers_to_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Layers wide enough for BLAS: NumPy's matrix products beat a pass sample by sample."""
    calls = counted(monkeypatch)
    rng = np.random.default_rng(0)
    X, Y = rng.random((1000, 64)), rng.random((1000, 64))
    net = rp.Network.create([64, 64, 64], activation="tanh", seed=0)
    rp.fit(net, X, Y, optimizer="lbfgs", epochs=30, engine="auto")
    assert calls[0] == 0


def test_the_genetic_algorithm_still_has_no_compiled_engine() -> None:
    X, Y = data(3, np.float64)
    with pytest.raises(ValueError, match="optimizer 'genetic'"):
        rp.fit(network(COMBOS[0], np.float64), X, Y, optimizer="genetic", engine="numba")
