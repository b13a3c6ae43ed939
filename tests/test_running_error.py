"""``fit(train_error="running")``: each epoch's training logs are the mean of every sample's
error as training met it, before its (batch's) update, on every engine.

The reference is written out here from :func:`train_step` (the NumPy loop's own step), so the
definition is checked, not only the agreement of the engines; the compiled engines (generated
kernel, generic kernel, BLAS trainer) agree with the NumPy loop to 1e-12 (float64) and 1e-5
(float32), and the weights are exactly those of ``train_error="final"``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import retroprop as rp
from retroprop._fast import codegen as _codegen
from retroprop._fast import engine as _fast
from retroprop.train.loop import fit, is_classification, train_step
from retroprop.train.registry import get_optimizer

TOL = {np.float64: 1e-12, np.float32: 1e-5}
SIZES = [5, 7, 4, 3]


def data(loss: str, dtype: type, n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, SIZES[0]))
    X[rng.random(X.shape) < 0.3] = 0.0  # the kernels skip zero inputs
    if "entropy" in loss:
        Y = np.eye(SIZES[-1])[rng.integers(0, SIZES[-1], n)]
    else:
        Y = rng.uniform(0.1, 0.9, (n, SIZES[-1]))
    return X.astype(dtype), Y.astype(dtype)


def network(output: str, loss: str, dtype: type, sizes: list[int] = SIZES) -> rp.Network:
    return rp.Network.create(
        sizes, activation="tanh", output_activation=output, loss=loss, seed=1, dtype=dtype
    )


def by_hand(
    net: rp.Network, X: np.ndarray, Y: np.ndarray, epochs: int, k: int, optimizer: str, eta: float
) -> list[dict[str, float]]:
    """The definition: the same order as ``fit`` (seed 0), E of each sample before its batch's
    update, averaged over the epoch."""
    opt = get_optimizer(optimizer, learning_rate=eta)
    state = opt.init(net.params())
    rng = np.random.default_rng(0)
    index = np.arange(len(X))
    classify = is_classification(Y)
    logs = []
    for _ in range(epochs):
        rng.shuffle(index)
        E, sq, right = [], [], 0
        for s in range(0, len(X), k):
            batch = index[s : s + k]
            step = train_step(net, opt, state, X[batch], Y[batch])
            state = step.state
            O = step.forward.output
            E += list(net.loss.value(Y[batch], O))
            sq += list(0.5 * np.sum((Y[batch] - O) ** 2, axis=1))
            right += int(np.sum(np.argmax(O, axis=1) == np.argmax(Y[batch], axis=1)))
        entry = {"loss": float(np.mean(E)), "mse": float(np.mean(sq))}
        if classify:
            entry["accuracy"] = right / len(X)
        logs.append(entry)
    return logs


@pytest.mark.parametrize(
    ("output", "loss"),
    [("sigmoid", "squared_error"), ("softmax", "categorical_cross_entropy")],
)
@pytest.mark.parametrize("k", [1, 6])
def test_numpy_loop_is_the_definition(output: str, loss: str, k: int) -> None:
    X, Y = data(loss, np.float64)
    ref = network(output, loss, np.float64)
    expected = by_hand(ref, X, Y, 3, k, "momentum", 0.05)
    net = network(output, loss, np.float64)
    hist = fit(
        net, X, Y, epochs=3, batch_size=k, optimizer="momentum", learning_rate=0.05, seed=0,
        engine="numpy", train_error="running",
    )  # fmt: skip
    for key in expected[0]:
        np.testing.assert_allclose(hist[key], [e[key] for e in expected], rtol=1e-14, atol=0)
    np.testing.assert_array_equal(net.get_flat(), ref.get_flat())
    if loss == "categorical_cross_entropy":
        assert "accuracy" in hist and hist["accuracy"][-1] > 0


# (output activation, loss, optimizer, learning rate, batch size, weight decay)
CASES = [
    ("sigmoid", "squared_error", "sgd", 0.3, 1, 0.0),  # the generated kernel
    ("softmax", "categorical_cross_entropy", "sgd", 0.3, 1, 0.0),  # generated, accuracy
    ("sigmoid", "binary_cross_entropy", "sgd", 0.3, 1, 0.0),  # generated, non-one-hot 0/1
    ("identity", "squared_error", "momentum", 0.02, 1, 1e-3),  # generic, regression
    ("softmax", "categorical_cross_entropy", "adam", 0.01, 7, 0.0),  # generic, mini-batch
    ("tanh", "absolute_error", "nesterov", 0.002, "all", 1e-3),  # generic, full batch
]


def _compare(case: tuple[Any, ...], dtype: type, sizes: list[int] = SIZES) -> None:
    output, loss, optimizer, eta, k, wd = case
    X, Y = data(loss, dtype)
    if loss == "binary_cross_entropy":
        Y = (Y > 0.5).astype(dtype)
    settings: dict[str, Any] = dict(
        epochs=3, optimizer=optimizer, learning_rate=eta, batch_size=k, weight_decay=wd, seed=0
    )
    fast, ref, final = (network(output, loss, dtype, sizes) for _ in range(3))
    h_fast = fit(fast, X, Y, engine="numba", train_error="running", **settings)
    h_ref = fit(ref, X, Y, engine="numpy", train_error="running", **settings)
    fit(final, X, Y, engine="numba", train_error="final", **settings)
    tol = TOL[dtype]
    assert h_fast.metrics.keys() == h_ref.metrics.keys()
    for key in h_ref.metrics:
        if key != "time":
            np.testing.assert_allclose(h_fast[key], h_ref[key], rtol=tol, atol=tol, err_msg=key)
    theta = ref.get_flat()
    assert np.max(np.abs(fast.get_flat() - theta)) <= tol * np.max(np.abs(theta))
    np.testing.assert_array_equal(fast.get_flat(), final.get_flat())  # tallying changes nothing


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", CASES, ids=[f"{c[1]}-{c[2]}-k{c[4]}" for c in CASES])
def test_compiled_kernels_agree_with_numpy(case: tuple[Any, ...], dtype: type) -> None:
    _compare(case, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", CASES[:3], ids=[c[1] for c in CASES[:3]])
def test_generic_kernel_online_agrees_with_numpy(
    case: tuple[Any, ...], dtype: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_codegen, "MAX_UNROLLED", 0)  # no generated kernel
    _compare(case, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", CASES[3:], ids=[f"{c[1]}-{c[2]}" for c in CASES[3:]])
def test_blas_trainer_agrees_with_numpy(
    case: tuple[Any, ...], dtype: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_fast, "BLAS_MIN_MACS", 0)
    if case[4] == 1:
        case = (*case[:4], 5, case[5])  # BLAS trains mini-batches only
    _compare(case, dtype)


def test_running_differs_from_final_and_validation_stays_final() -> None:
    X, Y = data("squared_error", np.float64)
    Xv, Yv = data("squared_error", np.float64, n=15, seed=5)
    runs = {}
    for mode in ("final", "running"):
        net = network("sigmoid", "squared_error", np.float64)
        runs[mode] = fit(
            net, X, Y, epochs=4, learning_rate=0.5, seed=0, validation_data=(Xv, Yv),
            engine="numba", train_error=mode,
        )  # fmt: skip
    # the first epoch's running error is that of weights still moving from their start
    assert runs["running"]["loss"][0] != pytest.approx(runs["final"]["loss"][0], rel=1e-6)
    np.testing.assert_array_equal(runs["running"]["val_loss"], runs["final"]["val_loss"])


def test_digits_running_error_reaches_the_lecture_accuracy() -> None:
    """Online training on digits: the running accuracy climbs with the final one."""
    d = rp.datasets.load_digits()
    net = rp.Network.create([64, 10, 5, 10], seed=0)
    hist = fit(net, d.X, d.y, epochs=30, learning_rate=0.3, seed=0, train_error="running")
    assert hist["accuracy"][0] < hist["accuracy"][-1]
    assert hist["accuracy"][-1] > 0.9
    assert hist["mse"][-1] < hist["mse"][0]


@pytest.mark.parametrize("optimizer", ["lbfgs", "genetic"])
def test_running_needs_a_step_optimizer(optimizer: str) -> None:
    X, Y = data("squared_error", np.float64)
    net = network("sigmoid", "squared_error", np.float64)
    with pytest.raises(ValueError, match="train_error='running' needs a step optimizer"):
        fit(net, X, Y, epochs=2, optimizer=optimizer, train_error="running")


def test_unknown_train_error_is_named() -> None:
    X, Y = data("squared_error", np.float64)
    net = network("sigmoid", "squared_error", np.float64)
    with pytest.raises(ValueError, match="train_error must be 'final' or 'running'"):
        fit(net, X, Y, epochs=1, train_error="mean")  # type: ignore[arg-type]
