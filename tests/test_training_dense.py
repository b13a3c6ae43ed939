"""The BLAS trainer's forward products on the compiled dense kernel (retroprop._fast.dense's
TrainingProducts, used when training runs on one thread) against the same trainer on BLAS and
against the NumPy loop: sgd, adam and lbfgs in both dtypes, the core ``fit`` too.

The kernel sums in another order than BLAS, so agreement is to rounding: coefs_ and intercepts_
to max|a − b| / max|b| ≤ 1e-12 in float64 and 1e-5 in float32, as tests/test_estimators_compiled.py
(whose small settings, where training is not chaotic, these reuse). The products of these small
networks are under the kernel's threshold, which the fixture lowers to 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from scipy.linalg import blas as _scipy_blas  # loaded before threadpool_limits: it limits it too
from threadpoolctl import threadpool_limits

import retroprop as rp
from retroprop._fast import blas as _blas
from retroprop._fast import dense, gemm
from retroprop._fast import engine as _engine
from retroprop.estimators._base import BaseMLP
from retroprop.train.loop import fit
from test_estimators_compiled import TOL, WIDE, assert_same, data, make, trainer_of

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
assert _scipy_blas.get_blas_funcs  # the import above is for its side effect

DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
SOLVERS = {
    "sgd": {"solver": "sgd", "learning_rate_init": 0.002, "momentum": 0.0, "batch_size": 32},
    "nesterov": {"solver": "sgd", "learning_rate_init": 0.002, "batch_size": 32},
    "adam": {"solver": "adam", "learning_rate_init": 0.002, "batch_size": "auto"},
}


@pytest.fixture
def kernel_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Products of any size may run on the kernel, on one BLAS thread; the list gets the rows
    of each product the kernel computed."""
    monkeypatch.setattr(dense, "TRAIN_MIN_WORK", 0)
    monkeypatch.setattr(dense, "TRAIN_MIN_INPUTS", 0)
    monkeypatch.setattr(gemm, "MIN_WORK", 1 << 62)  # the products the host kernel leaves
    calls: list[int] = []
    affine = dense.TrainingProducts.affine

    def counted(self: dense.TrainingProducts, a: np.ndarray, W: np.ndarray, z: np.ndarray) -> bool:
        ran = affine(self, a, W, z)
        if ran:
            calls.append(len(a))
        return ran

    monkeypatch.setattr(dense.TrainingProducts, "affine", counted)
    with threadpool_limits(1):
        yield calls


def on_blas(kind: str, X: np.ndarray, y: np.ndarray, **settings: Any) -> BaseMLP:
    """The same fit with the kernel refused (the BLAS path)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dense, "TRAIN_MIN_WORK", 1 << 62)
        return make(kind, "numba", **settings).fit(X, y)


@DTYPES
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_epochs_on_the_kernel_equal_blas_and_numpy(
    kernel_calls: list[int], kind: str, solver: str, dtype: type
) -> None:
    X, y = data(kind, dtype)
    settings = {**WIDE, **SOLVERS[solver], "alpha": 1e-3}
    fast = make(kind, "numba", **settings).fit(X, y)
    assert trainer_of(fast) == "BlasObjectiveTrainer"
    batch = 32 if settings["batch_size"] == 32 else len(X)
    assert kernel_calls and max(kernel_calls) == batch  # every layer's product, every batch
    # 3 layers per batch, ⌈60 / batch⌉ batches per epoch
    assert len(kernel_calls) == 3 * -(-len(X) // batch) * fast.n_iter_
    kernel_calls.clear()
    blas = on_blas(kind, X, y, **settings)
    assert not kernel_calls
    assert_same(fast, blas, dtype)
    assert_same(fast, make(kind, "numpy", **settings).fit(X, y), dtype)


def lbfgs_agrees(kind: str, dtype: type, blas: Callable[..., BaseMLP]) -> tuple[int, int]:
    """L-BFGS on the compiled products the caller's fixture allows, equal to ``blas`` (the same
    fit with them refused) and to the NumPy loop; returns (rows, max_iter) for the caller's
    count of kernel calls (neither reference fit adds any)."""
    X, y = data(kind, dtype)
    max_iter = 15 if dtype == np.float64 else 8  # see test_lbfgs_equals_numpy
    settings = {**WIDE, "solver": "lbfgs", "alpha": 1e-3, "max_iter": max_iter}
    fast = make(kind, "numba", **settings).fit(X, y)
    assert_same(fast, blas(kind, X, y, **settings), dtype)
    ref = make(kind, "numpy", **settings).fit(X, y)
    assert_same(fast, ref, dtype)
    assert fast.loss_ == pytest.approx(ref.loss_, rel=TOL[dtype])
    return len(X), max_iter


@DTYPES
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_lbfgs_on_the_kernel_equals_blas_and_numpy(
    kernel_calls: list[int], kind: str, dtype: type
) -> None:
    """L-BFGS's objective and gradient over the whole set: its forward pass on the kernel."""
    rows, max_iter = lbfgs_agrees(kind, dtype, on_blas)
    assert len(kernel_calls) >= 3 * max_iter and set(kernel_calls) == {rows}


def core_fit_agrees(monkeypatch: pytest.MonkeyPatch, optimizer: str, dtype: type) -> None:
    """``fit`` with mini-batches of 8 (the last one of 2) on the BLAS trainer and its epoch logs
    (a forward pass of all 50 rows), on the compiled products the caller's fixture allows,
    equal to the NumPy loop."""
    monkeypatch.setattr(_engine, "BLAS_MIN_MACS", 0)
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (50, 6)).astype(dtype)
    Y = np.eye(3, dtype=dtype)[rng.integers(0, 3, 50)]
    nets = [rp.Network.create([6, 24, 12, 3], seed=2, dtype=dtype) for _ in range(2)]
    lr = 0.05 if optimizer == "sgd" else 0.005
    settings: dict[str, Any] = {"epochs": 3, "batch_size": 8, "seed": 0, "learning_rate": lr}
    h_fast = fit(nets[0], X, Y, engine="numba", optimizer=optimizer, **settings)
    h_ref = fit(nets[1], X, Y, engine="numpy", optimizer=optimizer, **settings)
    theta, ref = nets[0].get_flat(), nets[1].get_flat()
    assert np.max(np.abs(theta - ref)) / np.max(np.abs(ref)) <= TOL[dtype]
    np.testing.assert_allclose(h_fast["loss"], h_ref["loss"], rtol=TOL[dtype])


@DTYPES
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_core_fit_on_the_kernel_equals_numpy(
    kernel_calls: list[int], monkeypatch: pytest.MonkeyPatch, optimizer: str, dtype: type
) -> None:
    """``fit`` with mini-batches on the BLAS trainer, its epoch logs (a forward pass of the
    whole set) on the kernel too."""
    core_fit_agrees(monkeypatch, optimizer, dtype)
    assert set(kernel_calls) >= {8, 2, 50}  # full batches, the last one, the epoch logs


def test_two_threads_short_sums_and_other_dtypes_stay_on_blas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With more than one thread the kernel does not pay (see TrainingProducts); nor is it
    asked for products under TRAIN_MIN_WORK or of fewer inputs than TRAIN_MIN_INPUTS (digits'
    64-100-10 network), nor for float16."""
    products = dense.TrainingProducts(np.float64, 16)
    layers = [(16, 600), (4, 16)]
    assert not products.ready(layers, 128, threads=2)
    assert not products.ready([(100, 64), (10, 100)], 1437, threads=1)
    assert not dense.TrainingProducts(np.float16, 16).ready(layers, 128, threads=1)
    monkeypatch.setattr(dense, "TRAIN_MIN_WORK", 128 * 600 * 16 + 1)
    assert not products.ready(layers, 128, threads=1)
    assert not products.affine(np.zeros((128, 600)), np.zeros((16, 600)), np.zeros((128, 16)))


def test_threads_read_from_blas() -> None:
    with threadpool_limits(1):
        assert _blas.blas_threads() == 1


def test_without_compiled_code_the_epochs_run_on_blas(
    kernel_calls: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nowhere to cache machine code (or NUMBA_DISABLE_JIT): codegen raises OSError, BLAS
    serves every product, and the result is the BLAS path's, bit for bit."""
    from retroprop._fast import codegen

    X, y = data("classifier", np.float64)
    settings = {**WIDE, **SOLVERS["adam"]}
    blas = on_blas("classifier", X, y, **settings)

    def refused(*args: Any) -> None:
        raise OSError("numba's compiler is disabled (NUMBA_DISABLE_JIT)")

    monkeypatch.setattr(codegen, "load_generated", refused)
    fallback = make("classifier", "numba", **settings).fit(X, y)
    assert not kernel_calls
    got, want = fallback.coefs_ + fallback.intercepts_, blas.coefs_ + blas.intercepts_
    for p, q in zip(got, want, strict=True):
        np.testing.assert_array_equal(p, q)
