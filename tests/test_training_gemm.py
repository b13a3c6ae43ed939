"""The wide-batch trainer's products on the host-compiled kernel (retroprop._fast.gemm): the
product itself against NumPy for every operand layout the trainer uses, edge tiles, blocks of
k, α and β, one and two threads; then whole fits (sgd, Nesterov, adam, lbfgs; float64 and
float32) with every product on the kernel against the same fits on BLAS and on the NumPy loop.

The kernel sums in another order than BLAS, so agreement is to rounding: products to
max|a − b| / max|b| ≤ 1e-13 (float64) / 1e-5 (float32); fits to 1e-12 / 1e-5 as
tests/test_estimators_compiled.py, whose small settings (training not chaotic) these reuse.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from retroprop._fast import blas as _blas
from retroprop._fast import dense, gemm
from retroprop._fast.blas import columns, rows
from retroprop.estimators import _compiled
from test_estimators_compiled import WIDE, assert_same, data, make, trainer_of
from test_training_dense import core_fit_agrees, lbfgs_agrees

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
PRODUCT_TOL = {np.float64: 1e-13, np.float32: 1e-5}


def host(dtype: Any, threads: int) -> gemm.HostProducts:
    products = gemm.HostProducts(dtype)
    assert products.ready(threads)  # conftest: compiles now (background.WAIT)
    return products


def operand(x: np.ndarray, transposed: bool) -> tuple[tuple[np.ndarray, int, int], np.ndarray]:
    """x or xᵀ as the kernel's operand, and the matrix it stands for."""
    return (columns(x), x.T) if transposed else (rows(x), x)


# (M, N, K): one element; whole tiles; edges in rows, columns and blocks of k (DEPTH = 256);
# fewer rows than a tile; a depth of 1; a long depth with few columns; several blocks of rows
# (HEIGHT = 120 once A's block of k passes CACHED_A), the last one partial
SHAPES = [(1, 1, 1), (12, 32, 1), (24, 64, 256), (13, 33, 257), (50, 70, 600), (5, 100, 7),
          (100, 5, 3), (37, 129, 40), (1100, 40, 300), (1500, 33, 9)]  # fmt: skip


@DTYPES
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("layout", ["NN", "NT", "TN"])
@pytest.mark.parametrize("threads", [1, 2])
def test_product_equals_numpy(
    monkeypatch: pytest.MonkeyPatch, dtype: type, shape: tuple[int, int, int], layout: str,
    threads: int,
) -> None:  # fmt: skip
    """C = α·A·B + β·C with A, B given in place or transposed (the trainer's z = a·Wᵀ, δ·W and
    δᵀ·a): β = 0 never reads C (NaN there stays out), β ≠ 0 scales it, α scales the sum."""
    monkeypatch.setattr(gemm, "MIN_WORK", 0)
    monkeypatch.setattr(gemm, "SPLIT_WORK", 0)  # two threads split even the small products
    M, N, K = shape
    rng = np.random.default_rng(M * N + K)
    a_t, b_t = layout[0] == "T", layout[1] == "T"
    a = rng.standard_normal((K, M) if a_t else (M, K)).astype(dtype)
    b = rng.standard_normal((N, K) if b_t else (K, N)).astype(dtype)
    (A, A_), (B, B_) = operand(a, a_t), operand(b, b_t)
    products = host(dtype, threads)
    want = A_.astype(np.float64) @ B_.astype(np.float64)
    for alpha, beta in [(1.0, 0.0), (0.5, 1.0), (-2.0, -0.25)]:
        C0 = rng.standard_normal((M, N)).astype(dtype)
        C = np.full((M, N), np.nan, dtype) if beta == 0 else C0.copy()
        assert products.product(A, B, C, K, alpha, beta)
        expected = alpha * want + (beta * C0 if beta else 0)
        scale = max(np.abs(expected).max(), 1e-30)
        assert np.abs(C - expected).max() / scale <= PRODUCT_TOL[dtype], (alpha, beta)


def test_small_products_other_dtypes_and_no_compiler_stay_on_blas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    products = host(np.float64, 1)
    x = np.ones((4, 4))
    assert not products.product(rows(x), rows(x), np.empty((4, 4)), 4, 1.0, 0.0)  # < MIN_WORK
    assert not gemm.HostProducts(np.float16).ready(1)
    from retroprop._fast import codegen

    def refused(*args: Any) -> None:
        raise OSError("numba's compiler is disabled (NUMBA_DISABLE_JIT)")

    monkeypatch.setattr(codegen, "load_generated", refused)
    assert not gemm.HostProducts(np.float32).ready(1)


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def kernel_calls(monkeypatch: pytest.MonkeyPatch, request: Any) -> Iterator[list[tuple[int, ...]]]:
    """Products of any size run on the host kernel (on 1 or 2 threads, split at any size);
    the list gets (M, N, K) of each product the kernel computed."""
    monkeypatch.setattr(gemm, "MIN_WORK", 0)
    monkeypatch.setattr(gemm, "SPLIT_WORK", 0)
    monkeypatch.setattr(_blas, "TRANSPOSE_BATCHES", 0)  # the first layer transposed in any epoch
    calls: list[tuple[int, ...]] = []
    product = gemm.HostProducts.product

    def counted(self: gemm.HostProducts, A: Any, B: Any, C: Any, K: int, *rest: Any) -> bool:
        ran = product(self, A, B, C, K, *rest)
        if ran:
            calls.append((*C.shape, K))
        return ran

    monkeypatch.setattr(gemm.HostProducts, "product", counted)
    with threadpool_limits(request.param):
        yield calls


def on_blas(kind: str, X: np.ndarray, y: np.ndarray, **settings: Any) -> Any:
    """The same fit with both compiled products refused (the BLAS path)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gemm, "MIN_WORK", 1 << 62)
        patch.setattr(dense, "TRAIN_MIN_WORK", 1 << 62)
        return make(kind, "numba", **settings).fit(X, y)


SOLVERS = {
    "sgd": {"solver": "sgd", "learning_rate_init": 0.002, "momentum": 0.0, "batch_size": 32},
    "nesterov": {"solver": "sgd", "learning_rate_init": 0.002, "batch_size": 32},
    "adam": {"solver": "adam", "learning_rate_init": 0.002, "batch_size": "auto"},
}


@DTYPES
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_epochs_on_the_kernel_equal_blas_and_numpy(
    kernel_calls: list[tuple[int, ...]], kind: str, solver: str, dtype: type
) -> None:
    X, y = data(kind, dtype)
    settings = {**WIDE, **SOLVERS[solver], "alpha": 1e-3}
    fast = make(kind, "numba", **settings).fit(X, y)
    assert trainer_of(fast) == "BlasObjectiveTrainer"
    batches = -(-len(X) // (32 if settings["batch_size"] == 32 else len(X)))
    # per batch: 3 forward, 3 gradient and 2 δ products (the input layer needs no δ)
    assert len(kernel_calls) == 8 * batches * fast.n_iter_
    kernel_calls.clear()
    assert_same(fast, on_blas(kind, X, y, **settings), dtype)
    assert not kernel_calls
    assert_same(fast, make(kind, "numpy", **settings).fit(X, y), dtype)


@DTYPES
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_lbfgs_on_the_kernel_equals_blas_and_numpy(
    kernel_calls: list[tuple[int, ...]], kind: str, dtype: type
) -> None:
    """L-BFGS's objective and gradient over the whole set, every product on the kernel."""
    rows, max_iter = lbfgs_agrees(kind, dtype, on_blas)
    assert len(kernel_calls) >= 8 * max_iter and {rows} <= {c[0] for c in kernel_calls}


@DTYPES
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_core_fit_on_the_kernel_equals_numpy(
    kernel_calls: list[tuple[int, ...]], monkeypatch: pytest.MonkeyPatch, optimizer: str,
    dtype: type,
) -> None:  # fmt: skip
    """``fit`` on the BLAS trainer: plain SGD adds (η/m)·Σ δ xᵀ into W inside the product
    (β = 1), the epoch logs' forward pass runs on the kernel too."""
    core_fit_agrees(monkeypatch, optimizer, dtype)
    assert {8, 2, 50} <= {c[0] for c in kernel_calls}  # batches, the last one, the logs


def test_the_kernel_brings_its_threads_and_blas_gets_one() -> None:
    """While the kernel computes an epoch's products, BLAS is limited to one thread (its idle
    pool would spin beside the kernel's threads); the kernel gets BLAS's limit of before."""
    X, y = data("classifier", np.float64)
    est = make("classifier", "numba", **WIDE, **SOLVERS["adam"])
    est.fit(X, y)
    with threadpool_limits(2):
        trainer = _blas.BlasTrainer.__new__(_blas.BlasTrainer)
        trainer.host, trainer.small = gemm.HostProducts(np.float64), False
        with trainer.blas_context():
            assert trainer.host.on and trainer.host.threads == 2
            assert _blas.blas_threads() == 1
        assert _blas.blas_threads() == 2


def test_trainers_share_one_pool_of_helper_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fit per trainer must not leave threads behind: every HostProducts of the process
    splits its products on one shared pool."""
    import threading

    monkeypatch.setattr(gemm, "SPLIT_WORK", 0)
    x = np.ones((64, 64))
    for _ in range(5):
        products = host(np.float64, 2)
        assert products.product(rows(x), rows(x), np.empty((64, 64)), 64, 1.0, 0.0)
    helpers = [t for t in threading.enumerate() if t.name.startswith("retroprop-gemm")]
    assert len(helpers) == 1


@DTYPES
@pytest.mark.parametrize("solver", SOLVERS)
def test_the_first_layer_trains_transposed_on_the_kernel(
    kernel_calls: list[tuple[int, ...]], solver: str, dtype: type
) -> None:
    """During an epoch on the kernel the first layer's buffers hold Wᵀ: its gradient is
    computed as Gᵀ = xᵀ·δ, (n₀, n₁), never as δᵀ·x, and the fit is the NumPy loop's, with
    ``coefs_`` in their usual layout."""
    X, y = data("classifier", dtype)
    settings = {**WIDE, **SOLVERS[solver], "alpha": 1e-3}
    fast = make("classifier", "numba", **settings).fit(X, y)
    m = 32 if settings["batch_size"] == 32 else len(X)
    assert (6, 64, m) in kernel_calls and (64, 6, m) not in kernel_calls
    assert_same(fast, make("classifier", "numpy", **settings).fit(X, y), dtype)


@pytest.mark.parametrize("solver", SOLVERS)
def test_short_epochs_keep_the_first_layer_as_it_is(
    kernel_calls: list[tuple[int, ...]], monkeypatch: pytest.MonkeyPatch, solver: str
) -> None:
    """Under TRANSPOSE_BATCHES batches per array transposed (sgd: W; Nesterov: W, m; Adam: W,
    m, v) the epoch leaves the first layer in its layout: a one-batch ``partial_fit`` does not
    pay for the transpositions."""
    monkeypatch.setattr(_blas, "TRANSPOSE_BATCHES", 4)
    monkeypatch.setattr(_compiled, "BLAS_MIN_MACS", 0)  # batches of 5 on BLAS
    X, y = data("classifier", np.float64)
    settings = {**WIDE, **SOLVERS[solver], "batch_size": 5}  # 12 batches an epoch
    fast = make("classifier", "numba", **settings).fit(X, y)
    trainer = fast._compiled_trainer[2]
    assert isinstance(trainer, _blas.BlasTrainer)
    arrays = 1 + bool(trainer.m) + bool(trainer.v)
    assert ((6, 64, 5) in kernel_calls) == (12 >= 4 * arrays)
    kernel_calls.clear()
    fast.partial_fit(X[:5], y[:5])  # one batch
    assert kernel_calls and (6, 64, 5) not in kernel_calls


@pytest.fixture
def first_layer_on_blas(
    kernel_calls: list[tuple[int, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel declines the first layer's products (K = 6 inputs forward, Gᵀ of 6 rows), so
    the transposed layer's products run on BLAS."""
    product = gemm.HostProducts.product

    def declines(self: gemm.HostProducts, A: Any, B: Any, C: Any, K: int, *rest: Any) -> bool:
        return K != 6 and C.shape[0] != 6 and product(self, A, B, C, K, *rest)

    monkeypatch.setattr(gemm.HostProducts, "product", declines)


@DTYPES
@pytest.mark.parametrize("solver", SOLVERS)
def test_the_transposed_first_layer_on_blas_is_the_same_fit(
    first_layer_on_blas: None, solver: str, dtype: type
) -> None:
    X, y = data("regressor", dtype)
    settings = {**WIDE, **SOLVERS[solver], "alpha": 1e-3}
    fast = make("regressor", "numba", **settings).fit(X, y)
    assert_same(fast, make("regressor", "numpy", **settings).fit(X, y), dtype)


@DTYPES
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_core_fit_with_the_transposed_first_layer_on_blas(
    first_layer_on_blas: None, monkeypatch: pytest.MonkeyPatch, optimizer: str, dtype: type
) -> None:
    """Plain SGD adds (η/m)·xᵀ·δ into the transposed W₁ inside BLAS's product (β = 1)."""
    core_fit_agrees(monkeypatch, optimizer, dtype)


def test_an_epoch_that_fails_puts_the_first_layer_back(
    kernel_calls: list[tuple[int, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """However an epoch ends, the first layer's W and optimizer state are back in their
    layout (here an error in the first batch, before any step: they are as they were)."""
    X, y = data("classifier", np.float64)
    est = make("classifier", "numba", **WIDE, **SOLVERS["adam"]).fit(X, y)
    trainer = est._compiled_trainer[2]
    W = trainer.network.layers[0].W
    before = [a.copy() for a in (W, trainer.m[0], trainer.v[0])]
    seen = []

    def fails(self: Any, *args: Any) -> None:
        seen.append((self.transposed, W.reshape(-1).copy()))
        raise RuntimeError("stopped")

    monkeypatch.setattr(_blas.BlasTrainer, "_backprop", fails)
    with pytest.raises(RuntimeError, match="stopped"):
        trainer.run_objective_epoch(np.arange(len(X)), 0.002)
    assert seen[0][0] and np.array_equal(seen[0][1], before[0].T.reshape(-1))
    assert not trainer.transposed
    for now, then in zip((W, trainer.m[0], trainer.v[0]), before, strict=True):
        assert now.shape == then.shape and np.array_equal(now, then)
