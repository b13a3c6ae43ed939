"""The compiled engine (retroprop._fast) against the NumPy reference loop of training.fit.

Agreement is measured on the whole parameter vector θ: max|θ_fast − θ_ref| / max|θ_ref|, at most
1e-12 in float64 and 1e-5 in float32, after one epoch and after several; the history (loss, mse,
accuracy, updates) agrees to the same tolerance. The two differ only in rounding (the order of
the terms in sums), so the settings are ones where training is not chaotic: with momentum 0.9
and η = 0.1 online, a float32 rounding difference grows to 1e-3 within 120 steps, in either
engine, because the trajectory itself is unstable there.

Two kernels are covered: the generic one (any architecture; every activation × loss ×
optimizer × batch size × weight decay) and the one generated for a small architecture (online
SGD and the epoch logs; each activation and loss at least once). Compiling takes a few seconds
the first time on a machine; numba caches the result.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import retroprop as rp
from helpers import COMBINATIONS, FANN_COMBO, FEW_COMBINATIONS, beyond_fann_clip, kernel_data
from retroprop._fast import codegen as _codegen
from retroprop._fast import engine as _fast
from retroprop.core.activations import Activation
from retroprop.core.losses import Loss
from retroprop.train.loop import Callback, DivergenceError, EarlyStopping, fit, train_step

TOL = {np.float64: 1e-12, np.float32: 1e-5}
SIZES = [5, 20, 16, 3]  # 20 × 16 weights loop over their inputs in the generated kernel

OPTIMIZERS = [
    ("sgd", {"learning_rate": 0.3}),
    ("momentum", {"learning_rate": 0.02}),
    ("nesterov", {"learning_rate": 0.02}),
    ("adam", {"learning_rate": 0.01}),
]


def data(loss: str, dtype: type, n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The kernels' test data (:func:`helpers.kernel_data`) for SIZES."""
    return kernel_data(loss, dtype, SIZES, n, seed)


def network(hidden: str, output: str, loss: str, dtype: type) -> rp.Network:
    return beyond_fann_clip(
        rp.Network.create(
            SIZES, activation=hidden, output_activation=output, loss=loss, seed=1, dtype=dtype
        )
    )


def distance(a: rp.Network, b: rp.Network) -> float:
    """max|θ_a − θ_b| / max|θ_b|."""
    theta_a, theta_b = a.get_flat(), b.get_flat()
    return float(np.max(np.abs(theta_a - theta_b)) / np.max(np.abs(theta_b)))


def assert_same_history(fast: rp.History, ref: rp.History, tol: float) -> None:
    assert fast.metrics.keys() == ref.metrics.keys()
    for key in ref.metrics:
        if key == "time":
            continue
        np.testing.assert_allclose(fast[key], ref[key], rtol=tol, atol=tol, err_msg=key)


def compare(
    hidden: str,
    output: str,
    loss: str,
    dtype: type,
    epochs: int,
    **settings: object,
) -> None:
    """Train two copies of one network, compiled and reference; assert they agree.

    Absolute error trains with a tenth of the learning rate: its gradient sign(a − y) does not
    shrink near the target, so large steps hop across y and a last-bit difference in a − y can
    flip a sign.
    """
    if loss == "absolute_error":
        settings = {**settings, "learning_rate": 0.1 * settings["learning_rate"]}  # type: ignore[operator]
    X, Y = data(loss, dtype)
    fast, ref = network(hidden, output, loss, dtype), network(hidden, output, loss, dtype)
    h_fast = fit(fast, X, Y, epochs=epochs, seed=0, engine="numba", **settings)  # type: ignore[arg-type]
    h_ref = fit(ref, X, Y, epochs=epochs, seed=0, engine="numpy", **settings)  # type: ignore[arg-type]
    tol = TOL[dtype]
    assert distance(fast, ref) <= tol
    assert_same_history(h_fast, h_ref, tol)


@pytest.fixture
def generic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use the generic kernel (the generated one is for narrow layers only)."""
    monkeypatch.setattr(_codegen, "MAX_UNROLLED", 0)


# -- equality with the reference -----------------------------------------------------------


EVERY_DTYPE = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
EVERY_COMBO = pytest.mark.parametrize(
    "combo", COMBINATIONS, ids=["-".join(c) for c in COMBINATIONS]
)
EVERY_OPTIMIZER = pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])


def compare_runs(
    combo: tuple[str, str, str],
    optimizer: tuple[str, dict[str, float]],
    dtype: type,
    runs: list[tuple[int | str, float]],
) -> None:
    """:func:`compare` for 3 epochs with each (batch_size, weight_decay) of ``runs``."""
    name, settings = optimizer
    for batch_size, weight_decay in runs:
        compare(
            *combo,
            dtype,
            epochs=3,
            optimizer=name,
            batch_size=batch_size,
            weight_decay=weight_decay,
            **settings,
        )


@pytest.mark.usefixtures("generic")
@EVERY_DTYPE
@EVERY_COMBO
@EVERY_OPTIMIZER
def test_generic_kernel_equals_numpy(
    combo: tuple[str, str, str], optimizer: tuple[str, dict[str, float]], dtype: type
) -> None:
    compare_runs(combo, optimizer, dtype, [(1, 0.0), (7, 0.0), (1, 1e-3), ("all", 1e-3)])


# Each generated kernel compiles in seconds, so the five FEW_COMBINATIONS cover them (and
# FANN's sigmoid, whose derivative is code of its own).
GENERATED = [*FEW_COMBINATIONS, FANN_COMBO]


@pytest.mark.parametrize(
    ("combo", "dtype"),
    [*((c, np.float64) for c in GENERATED), (FEW_COMBINATIONS[0], np.float32)],
    ids=[*("-".join(c) for c in GENERATED), "-".join(FEW_COMBINATIONS[0]) + "-f32"],
)
def test_generated_kernel_equals_numpy(combo: tuple[str, str, str], dtype: type) -> None:
    for epochs in (1, 4):
        compare(*combo, dtype, epochs=epochs, optimizer="sgd", learning_rate=0.3)


@EVERY_DTYPE
@EVERY_COMBO
@EVERY_OPTIMIZER
def test_blas_trainer_equals_numpy(
    combo: tuple[str, str, str],
    optimizer: tuple[str, dict[str, float]],
    dtype: type,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Mini-batches on BLAS (what wide layers get), forced here for a small network."""
    monkeypatch.setattr(_fast, "BLAS_MIN_MACS", 0)
    compare_runs(combo, optimizer, dtype, [(7, 0.0), ("all", 1e-3)])


def test_blas_epoch_of_small_products_runs_on_one_blas_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An epoch whose products all stay under SMALL_GEMM multiply-adds runs with one BLAS
    thread (the fork and join of the threads cost more than they save); a wide one keeps the
    library's threads when its products are on BLAS (the host kernel, which also limits BLAS
    to one thread, refused here: tests/test_training_gemm.py). Seen from inside the epoch: the
    BLAS threads when a batch is gathered."""
    from threadpoolctl import threadpool_info

    from retroprop._fast import blas as _blas
    from retroprop._fast import gemm

    monkeypatch.setattr(gemm.HostProducts, "ready", lambda self, threads: False)

    seen: list[int] = []
    gather = _blas.B.gather

    def spy(X: np.ndarray, index: np.ndarray, out: np.ndarray) -> None:
        seen.append(
            max(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")
        )
        gather(X, index, out)

    monkeypatch.setattr(_blas.B, "gather", spy)
    X, Y = data("squared_error", np.float64)
    for small_gemm, expected in ((1 << 62, 1), (0, None)):
        monkeypatch.setattr(_blas, "SMALL_GEMM", small_gemm)
        seen.clear()
        net = network(*COMBINATIONS[0], np.float64)
        run = _fast.TrainingRun(net, rp.SGD(learning_rate=0.1), X, Y, batch_size=8)
        _blas.BlasTrainer(run).run_epoch(np.arange(len(X)))
        outside = max(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")
        assert set(seen) == {expected or outside}


def test_generated_kernel_also_logs_other_optimizers() -> None:
    """Momentum trains in the generic kernel; its epoch logs come from the generated one."""
    compare(*COMBINATIONS[0], np.float64, epochs=2, optimizer="adam", learning_rate=0.01)


def test_validation_logs_and_shuffle_off_agree() -> None:
    X, Y = data("squared_error", np.float64)
    Xv, Yv = data("squared_error", np.float64, n=15, seed=5)
    nets = [network(*COMBINATIONS[0], np.float64) for _ in range(2)]
    hist = [
        fit(net, X, Y, epochs=3, shuffle=False, validation_data=(Xv, Yv), engine=engine)
        for net, engine in zip(nets, ["numba", "numpy"], strict=True)
    ]
    assert "val_loss" in hist[0]
    assert_same_history(hist[0], hist[1], 1e-12)
    assert distance(nets[0], nets[1]) <= 1e-12


def test_one_epoch_by_hand_matches_train_step() -> None:
    """The trainer object alone, against train_step in the same sample order."""
    X, Y = data("squared_error", np.float64)
    fast, ref = network(*COMBINATIONS[0], np.float64), network(*COMBINATIONS[0], np.float64)
    opt = rp.Momentum(learning_rate=0.05, momentum=0.9, nesterov=True)
    trainer = _fast.make_trainer(_fast.TrainingRun(fast, opt, X, Y, batch_size=4, weight_decay=0.0))
    order = np.random.default_rng(3).permutation(len(X))
    assert trainer.run_epoch(order) == 10  # ⌈40 / 4⌉ updates
    state = opt.init(ref.params())
    for s in range(0, len(X), 4):
        state = train_step(ref, opt, state, X[order[s : s + 4]], Y[order[s : s + 4]]).state
    assert distance(fast, ref) <= 1e-12
    for v_fast, v_ref in zip(trainer.optimizer_state()["velocity"], state["velocity"], strict=True):
        np.testing.assert_allclose(v_fast, v_ref, rtol=1e-12, atol=1e-15)


# -- choosing the engine -------------------------------------------------------------------


def test_auto_compiles_only_when_it_pays(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[object] = []
    real = _fast.make_trainer

    def spy(*args: object, **kwargs: object) -> object:
        made.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_fast, "make_trainer", spy)
    X, Y = data("squared_error", np.float64)
    fit(network(*COMBINATIONS[0], np.float64), X, Y, epochs=2)  # 80 visits: not worth compiling
    assert made == []
    monkeypatch.setattr(_fast, "AUTO_MIN_VISITS", 50)
    fit(network(*COMBINATIONS[0], np.float64), X, Y, epochs=2)  # long enough
    assert len(made) == 1
    fit(network(*COMBINATIONS[0], np.float64), X, Y, epochs=2, engine="numpy")
    assert len(made) == 1
    fit(network(*COMBINATIONS[0], np.float64), X, Y, epochs=2, optimizer="irprop+", batch_size=8)
    assert len(made) == 1  # Rprop on mini-batches: NumPy
    fit(
        network(*COMBINATIONS[0], np.float64), X, Y, epochs=2, optimizer="irprop+", batch_size="all"
    )
    assert len(made) == 2  # Rprop on the full batch: compiled


def custom_network(what: str) -> rp.Network:
    net = network(*COMBINATIONS[0], np.float64)
    if what == "activation":
        swish = Activation("swish", lambda z: z / (1 + np.exp(-z)), lambda z, a: np.ones_like(z))
        net.layers[0].activation = swish
    elif what == "loss":
        net.loss = Loss(
            "half_se", lambda y, a: 0.5 * np.sum((y - a) ** 2, axis=1), lambda y, a: a - y
        )
    return net


@pytest.mark.parametrize(
    ("what", "optimizer", "message"),
    [
        ("activation", "sgd", "layers\\[0\\]: custom activation 'swish'"),
        ("loss", "sgd", "custom loss 'half_se'"),
        ("nothing", "irprop+", "optimizer 'irprop\\+'"),
        ("nothing", "genetic", "optimizer 'genetic'"),
    ],
)
def test_numba_engine_names_what_it_cannot_do(what: str, optimizer: str, message: str) -> None:
    X, Y = data("squared_error", np.float64)
    with pytest.raises(ValueError, match=message):
        fit(custom_network(what), X, Y, epochs=1, optimizer=optimizer, engine="numba")
    # "auto" falls back to the NumPy loop, which trains the same network
    fit(custom_network(what), X, Y, epochs=1, optimizer=optimizer, engine="auto")


def test_unknown_engine_is_a_value_error() -> None:
    X, Y = data("squared_error", np.float64)
    with pytest.raises(ValueError, match="engine must be one of auto, numba, numpy"):
        fit(network(*COMBINATIONS[0], np.float64), X, Y, engine="cuda")  # type: ignore[arg-type]


# -- the loop around the kernel: callbacks, early stopping, divergence ---------------------


def test_callbacks_see_every_epoch_and_may_change_the_weights() -> None:
    """A callback that halves the weights after epoch 1 acts on the next compiled epoch."""

    class Shrink(Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool | None:
            assert self.network is not None
            if epoch == 1:
                self.network.set_flat(0.5 * self.network.get_flat())
            return epoch == 3  # stop after three epochs

    X, Y = data("squared_error", np.float64)
    nets = [network(*COMBINATIONS[0], np.float64) for _ in range(2)]
    hist = [
        fit(net, X, Y, epochs=10, seed=2, engine=engine, callbacks=[Shrink()])
        for net, engine in zip(nets, ["numba", "numpy"], strict=True)
    ]
    assert hist[0].epochs == hist[1].epochs == 3
    assert distance(nets[0], nets[1]) <= 1e-12
    assert_same_history(hist[0], hist[1], 1e-12)


def test_early_stopping_restores_the_best_weights() -> None:
    X, Y = data("squared_error", np.float64)
    nets = [network(*COMBINATIONS[0], np.float64) for _ in range(2)]
    for net, engine in zip(nets, ["numba", "numpy"], strict=True):
        stopper = EarlyStopping(monitor="loss", patience=2)
        fit(net, X, Y, epochs=30, learning_rate=3.0, seed=0, engine=engine, early_stopping=stopper)
    assert distance(nets[0], nets[1]) <= 1e-12


def test_divergence_is_caught_and_the_last_finite_weights_restored() -> None:
    X, Y = data("squared_error", np.float64)
    X = X * 1e3
    net = network(*FEW_COMBINATIONS[2], np.float64)  # relu, identity: linear enough to blow up
    seen = [net.get_flat()]  # the weights after each finished epoch, initial ones first
    with pytest.raises(DivergenceError, match="diverged in epoch"):
        record = [lambda epoch, logs: seen.append(net.get_flat())]
        fit(net, X, Y, epochs=50, learning_rate=0.5, engine="numba", callbacks=record)
    np.testing.assert_array_equal(net.get_flat(), seen[-1])


def test_sparse_rows_round_trip() -> None:
    X = np.array([[0.0, 2.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 3.0]])
    P, I, V = _codegen.sparse_rows(X)
    assert P.tolist() == [0, 1, 1, 3]
    assert I.tolist() == [1, 0, 2]
    assert V.tolist() == [2.0, 1.0, 3.0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparse_rows_match_numpy_nonzero(dtype: type) -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 17)).astype(dtype)
    X[rng.random(X.shape) < 0.6] = 0.0
    X[5, 3] = np.nan  # NaN is not zero: it must reach the kernel and spread
    P, I, V = _codegen.sparse_rows(X)
    rows, cols = np.nonzero(X)
    assert P.tolist() == [0, *np.cumsum(np.bincount(rows, minlength=len(X))).tolist()]
    np.testing.assert_array_equal(I, cols)
    np.testing.assert_array_equal(V, X[rows, cols])
    assert V.dtype == dtype


def test_empty_cache_dir_is_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``RETROPROP_CACHE_DIR=""`` once wrote generated kernel code into the folder the command
    ran in, and imported it from there: empty means unset, so nothing appears in that folder."""
    monkeypatch.setenv("RETROPROP_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")  # ignored, as the XDG specification says
    assert _codegen.cache_dir() == Path.home() / ".cache" / "retroprop"
    rng = np.random.default_rng(0)
    data = tmp_path / "data.csv"
    rows = [f"{a:.4f},{b:.4f},{a + b:.4f}" for a, b in rng.random((40, 2))]
    data.write_text("a,b,y\n" + "\n".join(rows) + "\n", encoding="utf-8")
    here = tmp_path / "here"
    here.mkdir()
    env = {**os.environ, "RETROPROP_CACHE_DIR": ""}
    env.pop("XDG_CACHE_HOME", None)
    model = tmp_path / "m.retroprop"
    command = ["train", str(data), "-t", "y", "-o", str(model), "--epochs", "2", "--quiet"]
    result = subprocess.run(
        [sys.executable, "-m", "retroprop", *command, "--engine", "numba"],
        cwd=here,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert model.exists()
    assert list(here.iterdir()) == []


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_cross_entropy_skips_zero_targets_with_the_same_bits(dtype: type) -> None:
    """The kernels' categorical cross-entropy takes the log of the target classes only (y log p
    is 0 where y = 0, p being clipped away from 0): E has the bits of the sum over every class,
    matches the NumPy loss to its rounding (its log and the compiled one may differ by an ulp),
    and a NaN output still gives NaN."""
    import math

    from numba import njit

    from retroprop._fast import constants as K
    from retroprop._fast.kernels import sample_loss
    from retroprop._fast.trainer import scalar_slots
    from retroprop.core.losses import get_loss
    from retroprop.core.optimizers import SGD

    @njit
    def every_class(a, Y, r, c):  # type: ignore[no-untyped-def]
        e = c[K.C_ZERO]
        for k in range(a.shape[0]):
            e += Y[r, k] * math.log(min(max(a[k], c[K.C_P_LO]), c[K.C_ONE]))
        return -e

    net = rp.Network.create([3, 4], output_activation="softmax", loss="cce", dtype=dtype, seed=0)
    c, _, _ = scalar_slots(net, SGD(learning_rate=0.1), 0.0)
    rng = np.random.default_rng(0)
    A = rng.dirichlet(np.ones(4), 50).astype(dtype)
    A[0] = [1.0, 0.0, 0.0, 0.0]  # a probability of 0 and one of 1: the clipped logs
    one_hot = np.eye(4, dtype=dtype)[rng.integers(0, 4, 50)]
    soft = rng.dirichlet(np.ones(4), 50).astype(dtype)
    soft[1, 2] = 0.0  # a soft target with a zero class
    for Y in (one_hot, soft):
        got = np.array([sample_loss(A[r], 0, 4, Y, r, K.CCE, c) for r in range(50)], dtype=dtype)
        summed = np.array([every_class(A[r], Y, r, c) for r in range(50)], dtype=dtype)
        assert np.array_equal(got, summed)
        cce = get_loss("categorical_cross_entropy").value(Y, A)
        np.testing.assert_allclose(got, cce, rtol=4 * np.finfo(dtype).eps, atol=0)
    A[1, 2] = np.nan  # not the target class of row 1
    Y = np.eye(4, dtype=dtype)[[0, 0]]
    assert np.isnan(sample_loss(A[1], 0, 4, Y, 1, K.CCE, c))
