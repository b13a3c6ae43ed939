"""The compiled product of inference (retroprop._fast.dense) against hand-worked numbers, NumPy's
product and the reference forward pass; the rows split between threads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import retroprop as rp
from retroprop._fast import codegen, dense
from retroprop.core import inference
from retroprop.errors import ParameterError

Affine = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _compiled_affine() -> Affine:
    """z = a·Wᵀ + b by the generated kernel (compiled first: conftest waits for the worker)."""
    kernels = codegen.load_generated(("dense",), dense.source, ("affine",))

    def affine(a: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
        z = np.empty((len(a), len(W)), a.dtype)
        assert kernels.ready({"affine": (a, W, b, z)}) == {"affine"}
        kernels.affine(a, W, b, z)
        return z

    return affine


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Every prediction of any size may use the kernel; the list counts its calls."""
    monkeypatch.setattr(dense, "MIN_WORK", 0)
    fast = dense.Accelerator()
    counted: list[int] = []
    affine = fast.affine

    def counting(*args: Any) -> None:
        counted.append(len(args[0]))
        affine(*args)

    monkeypatch.setattr(fast, "affine", counting)
    before = inference._ACCELERATOR[:]
    inference.accelerate(fast)
    yield counted
    inference._ACCELERATOR[:] = before


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_hand_worked_product(dtype: type) -> None:
    a = np.array([[1.0, 2.0], [3.0, 4.0]], dtype)
    W = np.array([[0.5, -1.0], [2.0, 0.25]], dtype)  # two neurons, one row of weights each
    b = np.array([0.125, -0.25], dtype)
    # z₀₀ = 1·0.5 + 2·(−1) + 0.125 = −1.375   z₀₁ = 1·2 + 2·0.25 − 0.25 = 2.25
    # z₁₀ = 3·0.5 + 4·(−1) + 0.125 = −2.375   z₁₁ = 3·2 + 4·0.25 − 0.25 = 6.75
    z = _compiled_affine()(a, W, b)
    np.testing.assert_array_equal(z, np.array([[-1.375, 2.25], [-2.375, 6.75]], dtype))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_every_tile_and_edge_equals_numpy(dtype: type) -> None:
    """Rows and neurons that are and are not multiples of the 6 × 4 tile, inputs of any width."""
    affine = _compiled_affine()
    rng = np.random.default_rng(0)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for n in (1, 5, 6, 7, 13, 100, 700):
        for m in (1, 3, 4, 5, 10):
            for k in (1, 7, 33, 300):
                a, W, b = (rng.normal(size=s).astype(dtype) for s in [(n, k), (m, k), (m,)])
                want = a.astype(np.float64) @ W.T.astype(np.float64) + b
                np.testing.assert_allclose(affine(a, W, b), want, rtol=tol, atol=tol * k)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(
    "hidden, output", [("relu", "softmax"), ("sigmoid", "identity"), ("tanh", "sigmoid")]
)
def test_predict_on_the_kernel_equals_forward(
    calls: list[int], hidden: str, output: str, dtype: type, threads: int
) -> None:
    net = rp.Network.create(
        [9, 30, 7, 3], activation=hidden, output_activation=output, seed=0, dtype=dtype
    )
    X = np.random.default_rng(1).normal(size=(2 * inference.BLOCK + 77, 9)).astype(dtype)
    with threadpool_limits(threads):
        got = net.predict(X)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(got, net.forward(X).output, rtol=tol, atol=tol)
    assert sum(calls) == 3 * len(X)  # every row through the kernel, in each of the 3 layers
    assert max(calls) <= inference.BLOCK


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_estimator_predictions_on_the_kernel(calls: list[int]) -> None:
    X, y = np.random.default_rng(2).normal(size=(3000, 6)), np.arange(3000) % 3
    est = rp.MLPClassifier(hidden_layer_sizes=(12,), max_iter=5, random_state=0).fit(X, y)
    proba = est.predict_proba(X)
    assert calls  # the kernel ran
    inference._ACCELERATOR.clear()
    np.testing.assert_allclose(proba, est.predict_proba(X), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(est.predict(X), est.classes_[proba.argmax(1)])


@pytest.mark.parametrize("bad", [[500, 2100], [2100, 2900]])
def test_the_first_non_finite_row_is_named_whichever_thread_finds_it(
    calls: list[int], bad: list[int]
) -> None:
    net = rp.Network.create([4, 8, 2], seed=0)
    X = np.ones((3000, 4))
    X[bad[0], 1], X[bad[1], 3] = np.nan, np.inf
    with threadpool_limits(2), pytest.raises(ParameterError, match=f"row {bad[0]}$"):
        net.predict(X)


def test_small_predictions_stay_on_blas() -> None:
    """Below MIN_WORK multiply-adds the kernel is not asked for (nor compiled)."""
    net = rp.Network.create([64, 10, 10], seed=0)
    X = np.zeros((100, 64))
    params = [(layer.W, layer.b) for layer in net.layers]
    assert not dense.Accelerator().ready(X, params)
    assert not dense.Accelerator().ready(X.astype(np.float32), params)  # nor mixed types


def test_threads_follow_blas_limits() -> None:
    with threadpool_limits(1):
        assert dense.Accelerator().threads() == 1
