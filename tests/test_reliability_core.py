"""Reliability of the core: numbers that stay finite, errors that say what is wrong, resumable
training.

1. Sigmoid, tanh and softmax with the cross-entropies (and squared error) stay finite and
   warning-free for net inputs of ±1e4 and the float32/float64 extremes, forward and backward
   (loss gradients, the shortcut and the general chain rule, whole-network backpropagation),
   in both dtypes. (test_activations.py and test_losses.py check the pieces one by one.)
2. The API refuses wrong shapes, non-finite inputs, inconsistent layers, unknown names (listing
   the valid ones) and invalid hyper-parameters with a ValueError naming the parameter.
3. ``fit(initial_state=…)`` continues a run to the same weights, bit for bit, for every step
   optimizer, on the NumPy and the compiled engine; a state that does not fit is refused.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.sparse

import retroprop as rp
from retroprop.core.activations import ACTIVATIONS
from retroprop.core.losses import LOSSES, output_grad_z
from retroprop.train.loop import Callback, TrainState

DTYPES = [np.float32, np.float64]


def extremes(dtype: type) -> np.ndarray:
    big, tiny = float(np.finfo(dtype).max), float(np.finfo(dtype).tiny)
    return np.array(
        [[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, 1e4], [big, -big, 0.0],
         [big, big, big], [-big, -big, -big], [tiny, -tiny, 1e4], [-1e4, 1e4, -big]],
        dtype=dtype,
    )  # fmt: skip


def strict() -> Any:
    """Overflow, invalid operations and division by zero raise; so does any warning."""
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("error")
    return ctx, np.errstate(over="raise", invalid="raise", divide="raise")


PAIRS = [
    (act, loss)
    for act in ("sigmoid", "tanh", "softmax", "identity")
    for loss in ("binary_cross_entropy", "categorical_cross_entropy", "squared_error")
    if not (act == "identity" and loss == "squared_error")  # (y − z)² of 1e308 is inf, rightly
]


# ============================================================================================
# 1. Numerical robustness
# ============================================================================================
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("act_name", "loss_name"), PAIRS)
def test_outputs_losses_and_gradients_stay_finite_at_extremes(
    dtype: type, act_name: str, loss_name: str
) -> None:
    act, loss = ACTIVATIONS[act_name], LOSSES[loss_name]
    z = extremes(dtype)
    y = np.zeros_like(z)
    y[:, 0] = 1  # one-hot targets (also valid 0/1 targets for binary cross-entropy)
    ctx, errstate = strict()
    try:
        with errstate:
            a = act(z)
            value = loss.value(y, a)
            grad_a = loss.gradient(y, a)
            general = output_grad_z(loss, act, z, a, y, shortcut=False)
            shortcut = output_grad_z(loss, act, z, a, y, shortcut=True)
    finally:
        ctx.__exit__(None, None, None)
    for name, arr in (("a", a), ("E", value), ("dE/da", grad_a), ("dE/dz", general),
                      ("dE/dz shortcut", shortcut)):  # fmt: skip
        assert arr.dtype == dtype, name
        assert np.all(np.isfinite(arr)), (name, arr)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden", ["sigmoid", "tanh"])
@pytest.mark.parametrize(
    ("out", "loss"),
    [("sigmoid", "bce"), ("softmax", "cce"), ("sigmoid", "squared_error"), ("tanh", "bce")],
)
def test_saturated_network_backpropagates_finite_gradients(
    dtype: type, hidden: str, out: str, loss: str
) -> None:
    """Weights so large that every net input is about ±1e4: forward, backward and one step."""
    net = rp.Network.create([3, 4, 3], activation=[hidden, out], loss=loss, seed=0, dtype=dtype)
    for layer in net.layers:
        layer.W[...] = np.sign(layer.W) * 2500
    X = np.array([[1.0, -1.0, 1.0], [-1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], dtype=dtype)
    Y = np.eye(3, dtype=dtype)
    ctx, errstate = strict()
    try:
        with errstate:
            fp = net.forward(X)
            assert np.max(np.abs(fp.z[0])) > 1e3  # saturated indeed
            grads = net.backward(fp, Y)
            J, _ = net.gradient(X, Y)
            step = rp.train_step(net, rp.get_optimizer("sgd"), {}, X, Y)  # type: ignore[arg-type]
    finally:
        ctx.__exit__(None, None, None)
    assert np.isfinite(J) and np.isfinite(step.loss)
    for g in [*grads.flat(), *step.updates, *net.params()]:
        assert g.dtype == dtype and np.all(np.isfinite(g))


def test_training_on_extreme_but_finite_inputs_stays_finite_or_says_it_diverged() -> None:
    X = np.array([[1e4, -1e4], [-1e4, 1e4], [1e4, 1e4], [-1e4, -1e4]])
    Y = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    for dtype in DTYPES:
        net = rp.Network.create([2, 3, 2], output_activation="softmax", loss="cce", seed=0,
                                dtype=dtype)  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            history = rp.fit(net, X, Y, optimizer="adam", epochs=20, seed=0, engine="numpy")
        assert np.all(np.isfinite(history["loss"])) and np.all(np.isfinite(net.get_flat()))


# ============================================================================================
# 2. API errors
# ============================================================================================
NET = rp.Network.create([2, 3, 1], seed=0)
X4, Y4 = np.zeros((4, 2)), np.zeros(4)
SIGMOID = rp.get_activation("sigmoid")


def _fit(**kwargs: Any) -> Callable[[], Any]:
    return lambda: rp.fit(NET.copy(), X4, Y4, epochs=1, **kwargs)


API_ERRORS: list[tuple[str, Callable[[], Any], str]] = [
    # wrong shapes
    (
        "fit X",
        lambda: rp.fit(NET.copy(), np.zeros((4, 3)), Y4),
        r"training X: expected shape \(n_samples, 2\), got \(4, 3\)",
    ),
    ("fit Y", lambda: rp.fit(NET.copy(), X4, np.zeros(3)), r"training Y: expected shape \(4, 1\)"),
    (
        "fit empty",
        lambda: rp.fit(NET.copy(), np.zeros((0, 2)), np.zeros(0)),
        "training X: no samples",
    ),
    (
        "validation",
        _fit(validation_data=(np.zeros((2, 5)), np.zeros(2))),
        "validation X: expected shape",
    ),
    (
        "predict",
        lambda: NET.predict(np.zeros((3, 5))),
        r"X: expected shape \(n_samples, 2\), got \(3, 5\)",
    ),
    ("predict text", lambda: NET.predict([["a", "b"]]), "X: expected numbers"),
    ("error Y", lambda: NET.error(X4, np.zeros((4, 3))), r"Y: expected shape \(4, 1\)"),
    ("set_flat", lambda: NET.copy().set_flat(np.zeros(3)), r"theta: expected shape \(13,\)"),
    # non-finite inputs
    (
        "fit NaN X",
        lambda: rp.fit(NET.copy(), [[0, 0], [np.nan, 1]], [0, 1]),
        r"training X: non-finite value \(NaN or inf\) in row 1",
    ),
    (
        "fit inf Y",
        lambda: rp.fit(NET.copy(), X4, [0, 0, np.inf, 0]),
        "training Y: non-finite value .* in row 2",
    ),
    (
        "predict NaN",
        lambda: NET.predict([[0, 0], [0, 0], [np.inf, 0]]),
        "X: non-finite value .* in row 2",
    ),
    # inconsistent layers
    (
        "layer sizes",
        lambda: rp.Network(
            [
                rp.Dense(np.zeros((3, 2)), np.zeros(3), SIGMOID),
                rp.Dense(np.zeros((1, 4)), np.zeros(1), SIGMOID),
            ]
        ),
        r"layers\[1\]: expects 4 inputs but layers\[0\] has 3 neurons",
    ),
    (
        "bias shape",
        lambda: rp.Network([rp.Dense(np.zeros((3, 2)), np.zeros(2), SIGMOID)]),
        r"layers\[0\]: weights must be \(n_out, n_in\) and biases \(n_out,\)",
    ),
    (
        "mixed dtypes",
        lambda: rp.Network([rp.Dense(np.zeros((3, 2)), np.zeros(3, np.float32), SIGMOID)]),
        "must all be float32 or all float64",
    ),
    ("lists", lambda: rp.Network([rp.Dense([[1.0, 2.0]], [0.0], SIGMOID)]), "must be NumPy arrays"),  # type: ignore[arg-type]
    (
        "softmax hidden",
        lambda: rp.Network.create([2, 3, 1], activation=["softmax", "sigmoid"]),
        "softmax is only for the output layer",
    ),
    ("sizes", lambda: rp.Network.create([2, 0, 1]), "need at least 2 positive layer sizes"),
    ("fractional size", lambda: rp.Network.create([2, 1.5, 1]), "whole numbers of neurons"),  # type: ignore[list-item]
    (
        "activations count",
        lambda: rp.Network.create([2, 3, 1], activation=["tanh"] * 3),
        "expected 1 or 2 activations",
    ),
    # unknown names, with the valid ones listed
    (
        "activation",
        lambda: rp.Network.create([2, 1], activation="relu6"),
        "unknown activation 'relu6'; valid names: .*sigmoid.*tanh",
    ),
    (
        "loss",
        lambda: rp.Network.create([2, 1], loss="hinge"),
        "unknown loss 'hinge'; valid names: .*binary_cross_entropy.*squared_error",
    ),
    (
        "solver",
        _fit(optimizer="newton"),
        "unknown optimizer 'newton'; valid names: sgd, momentum, nesterov, adam, .*, genetic",
    ),
    (
        "init",
        lambda: rp.Network.create([2, 1], init="zeros"),
        "unknown init 'zeros'; valid names: uniform, glorot, he",
    ),
    ("engine", _fit(engine="gpu"), "engine must be one of auto, numba, numpy, got 'gpu'"),
    (
        "dtype",
        lambda: rp.Network.create([2, 1], dtype="float16"),
        "dtype: expected float32 or float64",
    ),
    (
        "rprop variant",
        lambda: rp.Rprop(variant="rprop*"),
        "unknown Rprop variant 'rprop\\*'; valid: rprop\\+",
    ),
    # invalid hyper-parameters
    (
        "negative η",
        _fit(learning_rate=-0.1),
        "learning_rate must be a finite positive number, got -0.1",
    ),
    (
        "NaN η",
        _fit(learning_rate=float("nan")),
        "learning_rate must be a finite positive number, got nan",
    ),
    ("epochs", lambda: rp.fit(NET.copy(), X4, Y4, epochs=0), "epochs must be a positive integer"),
    (
        "fractional epochs",
        lambda: rp.fit(NET.copy(), X4, Y4, epochs=2.5),
        "epochs must be a positive integer, got 2.5",
    ),  # type: ignore[arg-type]
    ("batch size", _fit(batch_size=0), "batch_size must be a positive integer or 'all', got 0"),
    (
        "weight decay",
        _fit(weight_decay=-1.0),
        "weight_decay must be a finite number >= 0, got -1.0",
    ),
    (  # once "training diverged … try a lower learning rate"
        "infinite weight decay",
        _fit(weight_decay=float("inf")),
        "weight_decay must be a finite number >= 0, got inf",
    ),
    (  # once accepted, the imaginary part dropped with a mere ComplexWarning
        "complex X",
        lambda: rp.fit(NET.copy(), X4 + 1j, Y4),
        r"training X: complex numbers \(dtype complex128\); expected real numbers",
    ),
    (  # once "setting an array element with a sequence"
        "sparse X",
        lambda: rp.fit(NET.copy(), scipy.sparse.csr_matrix(X4), Y4),
        "training X: a scipy sparse matrix; fit takes dense arrays",
    ),
    (
        "text Y",
        lambda: rp.fit(NET.copy(), X4, ["a"] * 4),
        "training Y: expected real numbers",
    ),
    (
        "validation fraction",
        _fit(validation_fraction=1.5),
        r"validation_fraction must be in \(0, 1\), got 1.5",
    ),
    ("seed", _fit(seed=-1), "seed must be None or a non-negative integer, got -1"),
    ("callback", _fit(callbacks=[3]), r"callbacks\[0\]: expected a Callback or a function"),  # type: ignore[list-item]
    (
        "momentum",
        lambda: rp.get_optimizer("momentum", momentum=1.0),
        r"momentum must be in \[0, 1\), got 1.0",
    ),
    ("β₂", lambda: rp.get_optimizer("adam", beta_2=1.0), r"beta_2 must be in \[0, 1\)"),
    (
        "setting for another solver",
        lambda: rp.get_optimizer("sgd", momentum=0.9),
        "optimizer 'sgd': .*momentum",
    ),
    (
        "Rprop factors",
        lambda: rp.get_optimizer("irprop+", eta_plus=0.9),
        "0 < eta_minus < 1 < eta_plus",
    ),
    (
        "patience",
        lambda: rp.EarlyStopping(patience=0),
        "patience must be a positive integer, got 0",
    ),
    (
        "monitor",
        _fit(early_stopping=rp.EarlyStopping(monitor="val_acc")),
        r"monitor '(val_)?acc' not in logs",
    ),
    (
        "genetic population",
        lambda: rp.get_optimizer("genetic", population_size=1),
        "population_size must be an integer >= 2",
    ),
    ("lbfgs tol", lambda: rp.get_optimizer("lbfgs", tol=-1), "tol must be >= 0"),
]


@pytest.mark.parametrize(("what", "call", "message"), API_ERRORS, ids=[e[0] for e in API_ERRORS])
def test_api_errors_name_the_problem(what: str, call: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


# ============================================================================================
# 3. Resuming a run
# ============================================================================================
class Keep(Callback):
    def __init__(self, at: int) -> None:
        self.at, self.state = at, None

    def on_epoch_state(self, epoch: int, state: Callable[[], TrainState]) -> None:
        if epoch == self.at:
            self.state = state()  # type: ignore[assignment]


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    return X, np.eye(3)[(X[:, 0] > 0).astype(int) + (X[:, 1] > 1).astype(int)]


RUNS = [
    (opt, batch, engine, dtype)
    for opt in ("sgd", "momentum", "nesterov", "adam", "rprop+", "irprop+")
    for batch in (1, 8)
    for engine in ("numpy", "numba")
    for dtype in ("float64", "float32")
    if not (opt.endswith("prop+") and (engine == "numba" or batch == 1))
]


@pytest.mark.parametrize(("opt", "batch", "engine", "dtype"), RUNS)
def test_resumed_run_equals_the_uninterrupted_one(
    opt: str, batch: int, engine: str, dtype: str
) -> None:
    if engine == "numba":
        pytest.importorskip("numba")
    X, Y = data()

    def run(initial_state: TrainState | None = None, keep: Callback | None = None) -> Any:
        net = rp.Network.create([4, 5, 3], activation=["tanh", "softmax"], loss="cce", seed=1,
                                dtype=dtype)  # fmt: skip
        history = rp.fit(
            net, X, Y, optimizer=opt, epochs=12, batch_size=batch, seed=7,
            validation_fraction=0.2, early_stopping=rp.EarlyStopping(patience=50), engine=engine,
            callbacks=[] if keep is None else [keep], initial_state=initial_state,
        )  # fmt: skip
        return net.get_flat(), history

    keep = Keep(5)
    whole, history = run(keep=keep)
    assert keep.state is not None and keep.state.epoch == 5
    resumed, history2 = run(initial_state=keep.state)
    np.testing.assert_array_equal(resumed, whole)
    for key in history.metrics:
        if key != "time":
            assert history[key] == history2[key], key


def test_a_state_that_does_not_fit_is_refused() -> None:
    X, Y = data()
    net = rp.Network.create([4, 5, 3], seed=1)
    keep = Keep(2)
    rp.fit(net, X, Y, optimizer="adam", epochs=3, seed=0, callbacks=[keep], engine="numpy")
    state = keep.state
    assert state is not None
    fresh = rp.Network.create([4, 5, 3], seed=1)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"optimizer": "lbfgs"}, "a lbfgs run cannot be resumed"),
        ({"optimizer": "sgd"}, r"keys \['m', 'm_hat', 't', 'v', 'v_hat'\], expected \[\]"),
        ({"epochs": 1}, "2 epochs done, more than epochs=1"),
        ({"X": X[:50], "Y": Y[:50]}, "order: expected an order of the 50 training samples"),
    ]  # fmt: skip
    for change, message in cases:
        kwargs: dict[str, Any] = {"optimizer": "adam", "epochs": 3, "seed": 0, **change}
        Xc, Yc = kwargs.pop("X", X), kwargs.pop("Y", Y)
        with pytest.raises(ValueError, match=message):
            rp.fit(fresh, Xc, Yc, initial_state=state, **kwargs)
    bad_weights = TrainState(**{**vars(state), "weights": state.weights[:-1]})
    with pytest.raises(ValueError, match=r"initial_state\.weights: expected 43 finite float64"):
        rp.fit(fresh, X, Y, optimizer="adam", epochs=3, initial_state=bad_weights)
    bad_rng = TrainState(**{**vars(state), "rng": {"bit_generator": "MT19937"}})
    with pytest.raises(ValueError, match=r"initial_state\.rng: not a PCG64 generator state"):
        rp.fit(fresh, X, Y, optimizer="adam", epochs=3, initial_state=bad_rng)
    with pytest.raises(ValueError, match="1 early-stopping states for 0"):
        rp.fit(fresh, X, Y, optimizer="adam", epochs=3, initial_state=TrainState(
            **{**vars(state), "early_stopping": [{}]}))  # fmt: skip


def test_auto_engine_resumes_on_the_engine_the_run_started_on() -> None:
    """``engine="auto"`` weighs the run's length; a resumed run must not switch engines."""
    pytest.importorskip("numba")
    X, Y = data()

    def run(engine: str, state: TrainState | None = None, keep: Keep | None = None) -> Any:
        net = rp.Network.create([4, 5, 3], activation=["tanh", "softmax"], loss="cce", seed=1)
        rp.fit(net, X, Y, optimizer="adam", epochs=8, batch_size=4, seed=7, engine=engine,
               callbacks=[keep] if keep else [], initial_state=state)  # fmt: skip
        return net.get_flat()

    keep = Keep(3)
    whole = run("numba", keep=keep)
    assert keep.state is not None and keep.state.engine == "numba"
    np.testing.assert_array_equal(run("auto", keep.state), whole)
    assert run("numpy", keep.state).shape == whole.shape  # an explicit engine is obeyed
