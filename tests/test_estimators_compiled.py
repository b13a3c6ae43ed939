"""The estimators' compiled epoch loop (engine="numba") against their NumPy loop (engine="numpy").

Agreement: coefs_ and intercepts_ to max|a − b| / max|b| ≤ 1e-12 in float64 and 1e-5 in float32,
loss_curve_ entry by entry to the same relative tolerance, the same n_iter_. The engines differ
only in rounding (the order of terms inside dot products), so the settings are ones where
training is not chaotic (small learning rates; see the note at the top of test_fast.py: online
SGD at η = 0.3 on digits already turns a last-bit difference into a different run within a few
epochs, in either engine).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from helpers import count_constructions
from retroprop import MLPClassifier, MLPRegressor
from retroprop._fast import codegen as _codegen
from retroprop._fast import objective as _objective
from retroprop._fast import objective_blas as _objective_blas
from retroprop.estimators._base import BaseMLP

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TOL = {np.float64: 1e-12, np.float32: 1e-5}
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
KINDS = pytest.mark.parametrize("kind", ["classifier", "regressor"])
BATCHES = pytest.mark.parametrize("batch_size", [1, 7, "auto"])
ALPHAS = pytest.mark.parametrize("alpha", [0.0, 1e-4])

# (momentum, nesterovs_momentum, learning_rate schedule, extra settings): plain SGD, classic
# momentum with invscaling, Nesterov with 'adaptive' made to divide η (tol=1 never improves).
SGD_VARIANTS = {
    "plain": {"momentum": 0.0, "learning_rate": "constant"},
    "classic-invscaling": {
        "momentum": 0.9,
        "nesterovs_momentum": False,
        "learning_rate": "invscaling",
        "learning_rate_init": 0.05,
    },
    "nesterov-adaptive": {
        "momentum": 0.9,
        "nesterovs_momentum": True,
        "learning_rate": "adaptive",
        "tol": 1.0,
        "n_iter_no_change": 1,
    },
}


def data(kind: str, dtype: type, n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Inputs in [−1, 1] (a fifth exact zeros, which the kernels skip); three classes, or two
    regression targets (so squared error is averaged over outputs in loss_curve_)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 6))
    X[rng.random(X.shape) < 0.2] = 0.0
    if kind == "classifier":
        y = rng.integers(0, 3, n)
    else:
        y = np.column_stack([np.sin(X[:, 0]) + X[:, 1], X[:, 2] * X[:, 3]])
    return X.astype(dtype), y


def make(kind: str, engine: str, **settings: Any) -> BaseMLP:
    base: dict[str, Any] = {
        "hidden_layer_sizes": (8, 5),
        "activation": "tanh",
        "solver": "sgd",
        "learning_rate_init": 0.02,
        "max_iter": 4,
        "random_state": 0,
        "engine": engine,
    }
    base.update(settings)
    return MLPClassifier(**base) if kind == "classifier" else MLPRegressor(**base)


def distance(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """max over the arrays of max|a − b| / max|b|."""
    return max(float(np.max(np.abs(p - q)) / np.max(np.abs(q))) for p, q in zip(a, b, strict=True))


def assert_same(fast: BaseMLP, ref: BaseMLP, dtype: type) -> None:
    tol = TOL[dtype]
    assert fast.coefs_[0].dtype == ref.coefs_[0].dtype == dtype
    assert fast.n_iter_ == ref.n_iter_
    assert fast.t_ == ref.t_
    assert distance(fast.coefs_, ref.coefs_) <= tol
    assert distance(fast.intercepts_, ref.intercepts_) <= tol
    np.testing.assert_allclose(fast.loss_curve_, ref.loss_curve_, rtol=tol, atol=0)
    if ref.best_loss_ is not None:
        assert fast.best_loss_ == pytest.approx(ref.best_loss_, rel=tol)


def fit_both(kind: str, dtype: type, **settings: Any) -> tuple[BaseMLP, BaseMLP]:
    X, y = data(kind, dtype)
    return make(kind, "numba", **settings).fit(X, y), make(kind, "numpy", **settings).fit(X, y)


# -- equality with the NumPy loop ------------------------------------------------------------


@DTYPES
@ALPHAS
@BATCHES
@pytest.mark.parametrize("variant", SGD_VARIANTS, ids=list(SGD_VARIANTS))
@KINDS
def test_sgd_equals_numpy(
    kind: str, variant: str, batch_size: int | str, alpha: float, dtype: type
) -> None:
    settings = {**SGD_VARIANTS[variant], "batch_size": batch_size, "alpha": alpha}
    fast, ref = fit_both(kind, dtype, **settings)
    assert_same(fast, ref, dtype)
    if variant == "nesterov-adaptive":  # η was divided by 5 on the way, in both
        assert fast._optimizer.learning_rate == ref._optimizer.learning_rate < 0.02


@DTYPES
@ALPHAS
@BATCHES
@KINDS
def test_adam_equals_numpy(kind: str, batch_size: int | str, alpha: float, dtype: type) -> None:
    fast, ref = fit_both(
        kind, dtype, solver="adam", learning_rate_init=0.01, batch_size=batch_size, alpha=alpha
    )
    assert_same(fast, ref, dtype)
    k = 60 if batch_size == "auto" else int(batch_size)  # 'auto': min(200, n)
    assert fast._optimizer_state["t"] == ref._optimizer_state["t"] == 4 * -(-60 // k)


@DTYPES
@KINDS
def test_online_plain_sgd_runs_the_generated_kernel(
    kind: str, dtype: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    """batch_size=1, momentum 0, alpha 0: the kernel generated for the architecture, which
    keeps no velocity (it is multiplied by 0); NumPy partial_fit continues its run."""
    loaded: list[tuple[int, ...]] = []
    load = _codegen.load
    monkeypatch.setattr(_codegen, "load", lambda sizes, *a: loaded.append(sizes) or load(sizes, *a))
    settings = {"batch_size": 1, "momentum": 0.0, "alpha": 0.0, "nesterovs_momentum": False}
    fast, ref = fit_both(kind, dtype, **settings)
    assert loaded == [[6, 8, 5, 3 if kind == "classifier" else 2]]
    assert_same(fast, ref, dtype)
    X, y = data(kind, dtype, seed=1)
    for est in (fast.set_params(engine="numpy"), ref):
        est.partial_fit(X, y)
    assert_same(fast, ref, dtype)


@pytest.mark.parametrize(
    "settings",
    [
        {"activation": "logistic", "loss": "squared_error"},  # logistic outputs, chain rule
        {"activation": "relu", "loss": "absolute_error", "learning_rate_init": 0.002},
        {"activation": ["identity", "leaky_relu"]},
    ],
    ids=["logistic-squared", "relu-absolute", "per-layer"],
)
def test_other_activations_and_losses(settings: dict[str, Any]) -> None:
    X, y = data("classifier", np.float64)
    y = np.column_stack([y == 0, y == 2]).astype(int)  # multi-label: sigmoid outputs
    fast = make("classifier", "numba", batch_size=5, **settings).fit(X, y)
    ref = make("classifier", "numpy", batch_size=5, **settings).fit(X, y)
    assert_same(fast, ref, np.float64)


def test_binary_and_no_shuffle() -> None:
    X, y = data("classifier", np.float64)
    y = y == 1  # one logistic output, binary cross-entropy
    fast = make("classifier", "numba", shuffle=False, batch_size=3).fit(X, y)
    ref = make("classifier", "numpy", shuffle=False, batch_size=3).fit(X, y)
    assert_same(fast, ref, np.float64)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@KINDS
def test_optimizer_state_is_the_numpy_loops(kind: str, solver: str) -> None:
    fast, ref = fit_both(kind, np.float64, solver=solver, batch_size=7, alpha=1e-4)
    state_fast, state_ref = fast._optimizer_state, ref._optimizer_state
    assert state_fast.keys() == state_ref.keys()
    for key, value in state_ref.items():
        if isinstance(value, list):
            assert [a.shape for a in state_fast[key]] == [a.shape for a in value]
            assert distance(state_fast[key], value) <= 1e-12
        else:
            assert state_fast[key] == value


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@KINDS
def test_early_stopping_equals_numpy(kind: str, solver: str) -> None:
    settings = {
        "solver": solver,
        "batch_size": 4,
        "early_stopping": True,
        "validation_fraction": 0.2,
        "n_iter_no_change": 3,
        "max_iter": 12,
        "learning_rate_init": 0.01,
    }
    fast, ref = fit_both(kind, np.float64, **settings)
    assert_same(fast, ref, np.float64)  # the best weights, restored
    assert ref.validation_scores_ is not None
    assert fast.validation_scores_ == pytest.approx(ref.validation_scores_, rel=1e-12)
    assert np.argmax(fast.validation_scores_) == np.argmax(ref.validation_scores_)
    assert fast.best_validation_score_ == pytest.approx(ref.best_validation_score_, rel=1e-12)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@KINDS
def test_partial_fit_sequences_agree(kind: str, solver: str) -> None:
    """numba throughout, and NumPy fit → numba partial_fit → NumPy partial_fit, against NumPy
    throughout: the optimizer state crosses engines (velocity, or Adam's m, v, t)."""
    X, y = data(kind, np.float64)
    extra = {"classes": np.unique(y)} if kind == "classifier" else {}
    settings = {"solver": solver, "batch_size": 7, "alpha": 1e-4, "learning_rate_init": 0.01}
    ref = make(kind, "numpy", **settings)
    fast = make(kind, "numba", **settings)
    mixed = make(kind, "numpy", **settings)
    for est in (ref, fast, mixed):
        est.fit(X, y)
    for step in range(4):
        part = slice(15 * step, 15 * step + 30)
        mixed.set_params(engine="numba" if step % 2 == 0 else "numpy")
        for est in (ref, fast, mixed):
            est.partial_fit(X[part], y[part], **extra)
    assert len(ref.loss_curve_) == 4 + 4
    assert_same(fast, ref, np.float64)
    assert_same(mixed, ref, np.float64)


def test_warm_start_continues_across_engines() -> None:
    X, y = data("regressor", np.float64)
    settings = {"solver": "sgd", "batch_size": 7, "momentum": 0.9, "warm_start": True}
    ref = make("regressor", "numpy", **settings)
    mixed = make("regressor", "numpy", **settings)
    ref.fit(X, y)
    ref.fit(X, y)
    mixed.fit(X, y)
    mixed.set_params(engine="numba").fit(X, y)
    assert_same(mixed, ref, np.float64)


# -- wide batches on BLAS, and L-BFGS ---------------------------------------------------------

WIDE = {"hidden_layer_sizes": (64, 32)}  # 6·64 + 64·32 + 32·3 = 2,528 multiply-adds a sample
# batch regimes on these layers: 1 and 7 run sample by sample (7 · 2,528 < BLAS_MIN_MACS), 32,
# "auto" (min(200, 60) = 60) and the full batch (60) on BLAS
REGIMES = pytest.mark.parametrize("batch_size", [1, 7, 32, "auto", 60])


def trainer_of(est: BaseMLP) -> str:
    """The name of the compiled trainer the last fit kept ('' for the NumPy loop)."""
    kept = getattr(est, "_compiled_trainer", None)
    return "" if kept is None else type(kept[2]).__name__


def expected_trainer(batch_size: int | str) -> str:
    return "ObjectiveTrainer" if batch_size in (1, 7) else "BlasObjectiveTrainer"


@DTYPES
@REGIMES
@pytest.mark.parametrize("variant", SGD_VARIANTS, ids=list(SGD_VARIANTS))
@KINDS
def test_sgd_equals_numpy_in_every_batch_regime(
    kind: str, variant: str, batch_size: int | str, dtype: type
) -> None:
    settings = {**SGD_VARIANTS[variant], **WIDE, "batch_size": batch_size, "alpha": 1e-3}
    settings["learning_rate_init"] = 0.002  # wider layers: smaller steps stay out of chaos
    fast, ref = fit_both(kind, dtype, **settings)
    assert trainer_of(fast) == expected_trainer(batch_size)
    assert_same(fast, ref, dtype)


@DTYPES
@REGIMES
@KINDS
def test_adam_equals_numpy_in_every_batch_regime(
    kind: str, batch_size: int | str, dtype: type
) -> None:
    settings = {**WIDE, "solver": "adam", "learning_rate_init": 0.002, "batch_size": batch_size}
    fast, ref = fit_both(kind, dtype, alpha=1e-3, **settings)
    assert trainer_of(fast) == expected_trainer(batch_size)
    assert_same(fast, ref, dtype)
    assert fast._optimizer_state["t"] == ref._optimizer_state["t"]


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@KINDS
def test_blas_partial_fit_and_early_stopping_agree(kind: str, solver: str) -> None:
    """BLAS epochs continue NumPy's and the other way round (the optimizer state crosses), and
    early stopping keeps the same best weights and validation scores."""
    X, y = data(kind, np.float64)
    extra = {"classes": np.unique(y)} if kind == "classifier" else {}
    settings = {**WIDE, "solver": solver, "batch_size": 20, "learning_rate_init": 0.005}
    ref, mixed = make(kind, "numpy", **settings), make(kind, "numpy", **settings)
    for step in range(4):
        part = slice(10 * step, 10 * step + 40)
        mixed.set_params(engine="numba" if step % 2 == 0 else "numpy")
        for est in (ref, mixed):
            est.partial_fit(X[part], y[part], **extra)
    assert_same(mixed, ref, np.float64)
    stopping = {**settings, "early_stopping": True, "n_iter_no_change": 2, "max_iter": 10}
    fast, ref = fit_both(kind, np.float64, **stopping)
    assert trainer_of(fast) == "BlasObjectiveTrainer"
    assert_same(fast, ref, np.float64)
    assert fast.validation_scores_ == pytest.approx(ref.validation_scores_, rel=1e-12)


def test_blas_trainer_is_reused_by_partial_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    built = count_constructions(monkeypatch, _objective_blas.BlasObjectiveTrainer)
    X, y = data("classifier", np.float64)
    est = make("classifier", "auto", **WIDE, batch_size=20)
    for step in range(3):
        part = slice(20 * step, 20 * step + 20)
        est.partial_fit(X[part], y[part], classes=[0, 1, 2])
    assert built == [1]


@DTYPES
@pytest.mark.parametrize("alpha", [0.0, 1e-3])
@KINDS
def test_lbfgs_equals_numpy(kind: str, alpha: float, dtype: type) -> None:
    """L-BFGS with its objective and gradient on BLAS: the same iterates, losses, n_iter_.

    In float32 the line searches amplify the last-bit differences of the gradient (GEMM order)
    to ~1e-5 within 12 iterations on this problem; 8 stay at ~1e-7.
    """
    max_iter = 15 if dtype == np.float64 else 8
    calls: list[int] = []
    value_and_grad = _objective_blas.BlasObjectiveTrainer.value_and_grad

    def counted(self: Any, theta: np.ndarray) -> Any:
        calls.append(1)
        return value_and_grad(self, theta)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_objective_blas.BlasObjectiveTrainer, "value_and_grad", counted)
        fast, ref = fit_both(kind, dtype, **WIDE, solver="lbfgs", alpha=alpha, max_iter=max_iter)
    assert len(calls) >= max_iter
    assert_same(fast, ref, dtype)
    assert fast.loss_ == pytest.approx(ref.loss_, rel=TOL[dtype])


FULL_BATCH = ["rprop+", "rprop-", "irprop+", "irprop-", "irprop-fann", "quickprop", "sarprop"]


@pytest.fixture
def whole_set_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the evaluations of the whole set's objective on BLAS."""
    calls: list[int] = []
    value_and_grad = _objective_blas.BlasObjectiveTrainer.value_and_grad

    def counted(self: Any, theta: np.ndarray) -> Any:
        calls.append(1)
        return value_and_grad(self, theta)

    monkeypatch.setattr(_objective_blas.BlasObjectiveTrainer, "value_and_grad", counted)
    return calls


@DTYPES
@pytest.mark.parametrize("alpha", [0.0, 1e-3])
@pytest.mark.parametrize("solver", FULL_BATCH)
@KINDS
def test_full_batch_rules_equal_numpy(
    kind: str, solver: str, alpha: float, dtype: type, whole_set_calls: list[int]
) -> None:
    """The Rprop family, Quickprop and SARPROP take their one step per epoch from the whole
    set's gradient on BLAS: the same weights, loss_curve_, n_iter_ and t_ as the NumPy loop.

    Logistic hidden units: with tanh, Quickprop and SARPROP (FANN's defaults) diverge on the
    regression targets in either engine, and then any last-bit difference grows. Quickprop's
    secant step Δw′·s / (s′ − s) amplifies last-bit differences of the gradient (GEMM order)
    anyway: 6 epochs stay at ~3e-7 in float32 on these problems; the regressor reaches 1.1e-4
    at 8 without weight decay (in float64 4e-12 at 20 epochs with tanh).
    """
    settings = {**WIDE, "activation": "logistic", "solver": solver, "alpha": alpha}
    epochs = 6 if solver == "quickprop" else 20
    fast, ref = fit_both(kind, dtype, **settings, max_iter=epochs)
    assert len(whole_set_calls) == fast.n_iter_ > 0
    assert_same(fast, ref, dtype)
    assert fast.loss_ == pytest.approx(ref.loss_, rel=TOL[dtype])


@pytest.mark.parametrize("solver", ["irprop-", "quickprop", "sarprop"])
@KINDS
def test_full_batch_partial_fit_and_early_stopping_agree(
    kind: str, solver: str, whole_set_calls: list[int]
) -> None:
    """partial_fit (one full-batch step per call, on each call's data, the rule's state kept
    between calls) and early stopping (validation scores, best weights) as in the NumPy loop."""
    X, y = data(kind, np.float64)
    extra = {"classes": [0, 1, 2]} if kind == "classifier" else {}
    settings = {**WIDE, "activation": "logistic", "solver": solver}
    fast, ref = make(kind, "numba", **settings), make(kind, "numpy", **settings)
    for step in range(4):
        part = slice(10 * step, 10 * step + 40)
        for est in (fast, ref):
            est.partial_fit(X[part], y[part], **extra)
    assert len(whole_set_calls) == 4
    assert_same(fast, ref, np.float64)
    stopping = {**settings, "early_stopping": True, "n_iter_no_change": 3, "max_iter": 8,
                "tol": 1e-3}  # fmt: skip
    fast, ref = fit_both(kind, np.float64, **stopping)
    assert len(whole_set_calls) == 4 + fast.n_iter_
    assert_same(fast, ref, np.float64)
    assert fast.validation_scores_ == pytest.approx(ref.validation_scores_, rel=1e-12)


def test_auto_takes_blas_for_wide_full_batches_only(whole_set_calls: list[int]) -> None:
    """ "auto": the whole set's gradient on BLAS when the full batch is wide (n × Σ n_in·n_out ≥
    BLAS_MIN_MACS), else the NumPy loop; sample weights keep the NumPy loop."""
    X, y = data("classifier", np.float64)
    make("classifier", "auto", hidden_layer_sizes=(4,), solver="irprop-").fit(X, y)  # 60 · 36
    assert whole_set_calls == []
    make("classifier", "auto", **WIDE, solver="irprop-").fit(X, y, sample_weight=np.ones(60))
    assert whole_set_calls == []
    est = make("classifier", "auto", **WIDE, solver="irprop-").fit(X, y)  # 60 · 2,528
    assert len(whole_set_calls) == est.n_iter_ == 4


# -- when the compiled loop runs -------------------------------------------------------------


@pytest.fixture
def compiled_epochs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the epochs the compiled loop runs."""
    calls: list[int] = []
    run = _objective.ObjectiveTrainer.run_objective_epoch

    def counted(self: Any, index: Any, learning_rate: float) -> float:
        calls.append(len(index))
        return run(self, index, learning_rate)

    monkeypatch.setattr(_objective.ObjectiveTrainer, "run_objective_epoch", counted)
    return calls


def test_auto_picks_numba_for_long_runs_only(compiled_epochs: list[int]) -> None:
    X, y = data("classifier", np.float64)  # 60 samples: AUTO_MIN_VISITS = 20,000 visits
    stop_after_2 = [lambda epoch, logs: epoch >= 2]
    make("classifier", "auto", max_iter=300, callbacks=stop_after_2).fit(X, y)  # 18,000
    assert compiled_epochs == []
    make("classifier", "auto", max_iter=400, callbacks=stop_after_2).fit(X, y)  # 24,000
    assert compiled_epochs == [60, 60]
    est = make("classifier", "auto", max_iter=400)
    est.partial_fit(X, y, classes=[0, 1, 2])  # one epoch of 60 visits
    assert compiled_epochs == [60, 60]
    make("classifier", "numpy", max_iter=400, callbacks=stop_after_2).fit(X, y)
    assert compiled_epochs == [60, 60]


def test_auto_takes_blas_for_wide_batches_even_in_short_runs(compiled_epochs: list[int]) -> None:
    X, y = data("classifier", np.float64)
    stop = [lambda epoch, logs: True]
    # 60 × (6·400 + 400·3) = 216,000 multiply-adds per batch ≥ BLAS_MIN_MACS: BLAS, although
    # the run is short (the kernel's rule, AUTO_MIN_VISITS, is for sample-by-sample runs)
    wide = make("classifier", "auto", hidden_layer_sizes=(400,), max_iter=2, callbacks=stop)
    wide.fit(X, y)
    assert compiled_epochs == []
    assert trainer_of(wide) == "BlasObjectiveTrainer"
    # online, the same layers: numba
    wide_online = make(
        "classifier", "auto", hidden_layer_sizes=(400,), batch_size=1, max_iter=400, callbacks=stop
    )
    wide_online.fit(X, y)
    assert compiled_epochs == [60]


def test_auto_keeps_numpy_for_what_numba_refuses(compiled_epochs: list[int]) -> None:
    X, y = data("classifier", np.float64)
    stop = [lambda epoch, logs: True]
    make("classifier", "auto", max_iter=400, callbacks=stop).fit(X, y, sample_weight=np.ones(60))
    make("classifier", "auto", max_iter=400, callbacks=stop, dropout=0.2).fit(X, y)
    make("classifier", "auto", max_iter=400, callbacks=stop).fit(sp.csr_matrix(X), y)
    assert compiled_epochs == []


@pytest.mark.parametrize(
    ("settings", "fit_kwargs", "sparse", "phrase"),
    [
        ({}, {"sample_weight": np.ones(60)}, False, "sample_weight"),
        ({"class_weight": "balanced"}, {}, False, "class_weight"),
        ({"dropout": 0.1}, {}, False, "dropout=0.1"),
        ({}, {}, True, "sparse X"),
        ({"solver": "genetic"}, {}, False, "solver='genetic'"),
        ({"solver": "lbfgs"}, {"sample_weight": np.ones(60)}, False, "sample_weight"),
        ({"solver": "rprop+", "dropout": 0.1}, {}, False, "dropout=0.1"),
    ],
    ids=[
        "sample_weight",
        "class_weight",
        "dropout",
        "sparse",
        "genetic",
        "lbfgs-weights",
        "rprop-dropout",
    ],
)
def test_numba_refuses_with_reason(
    settings: dict[str, Any], fit_kwargs: dict[str, Any], sparse: bool, phrase: str
) -> None:
    X, y = data("classifier", np.float64)
    est = make("classifier", "numba", **settings)
    with pytest.raises(ValueError, match="engine='numba' does not support") as info:
        est.fit(sp.csr_matrix(X) if sparse else X, y, **fit_kwargs)
    assert phrase in str(info.value)


def test_numba_refuses_poisson() -> None:
    X, y = data("regressor", np.float64)
    est = make("regressor", "numba", loss="poisson")
    with pytest.raises(ValueError, match=r"engine='numba' does not support.*poisson"):
        est.fit(X, np.abs(y[:, 0]))


@pytest.mark.parametrize("engine", ["fast", "NUMBA", None])
def test_bad_engine(engine: Any) -> None:
    X, y = data("classifier", np.float64)
    with pytest.raises(ValueError, match="'engine' parameter"):
        make("classifier", engine).fit(X, y)


def test_engine_is_a_parameter() -> None:
    est = MLPRegressor(engine="numba")
    assert est.get_params()["engine"] == "numba"
    assert MLPClassifier().engine == "auto"


def test_epoch_shuffle_is_scikit_learns() -> None:
    """The epoch loop's fast shuffle draws what ``sklearn.utils.shuffle`` draws, call after
    call, from the same RandomState (so the sample order matches scikit-learn's MLP)."""
    from sklearn.utils import shuffle

    from retroprop.estimators._solvers import shuffled

    ours, theirs = np.random.RandomState(3), np.random.RandomState(3)
    a = b = np.arange(37)
    for _ in range(5):
        a, b = shuffled(a, ours), shuffle(b, random_state=theirs)
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, np.arange(37))
