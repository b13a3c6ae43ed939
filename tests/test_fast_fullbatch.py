"""The compiled full-batch trainer (retroprop._fast.fullbatch) against the NumPy reference.

Every full-batch step rule (SGD, momentum, Adam, the Rprop family, Quickprop, SARPROP) with and
without weight decay, float64 and float32, several activations and losses: the weights and the
history agree to 1e-12 (float64) and 1e-5 (float32), as for the other compiled engines. Also:
the epoch's final-weights error comes from the step's own pass (no second pass), callbacks that
change the weights, running error, and resuming from a saved state.
"""

from __future__ import annotations

import numpy as np
import pytest

import retroprop as rp
from helpers import FANN_COMBO, beyond_fann_clip, kernel_data
from retroprop._fast import codegen, fullbatch
from retroprop._fast.engine import select_engine
from retroprop._fast.trainer import KernelTrainer
from retroprop.train.loop import Callback, TrainState, fit

TOL = {np.float64: 1e-12, np.float32: 1e-5}
SIZES = [5, 12, 9, 3]
COMBOS = [
    ("sigmoid", "sigmoid", "squared_error"),
    ("tanh", "softmax", "categorical_cross_entropy"),
    ("relu", "identity", "squared_error"),
    ("leaky_relu", "sigmoid", "binary_cross_entropy"),
    FANN_COMBO,
]
GENERATED = [*COMBOS[:2], FANN_COMBO]
"""The combinations the generated pass is compared on (each costs a compile per dtype)."""
RULES = [
    ("sgd", {"learning_rate": 0.5}),
    ("momentum", {"learning_rate": 0.1}),
    ("adam", {"learning_rate": 0.01}),
    ("rprop+", {}),
    ("rprop-", {}),
    ("irprop+", {}),
    ("irprop-", {"optimizer": rp.Rprop("irprop-", delta_min=0.0)}),  # FANN's Δ_min
    ("irprop-fann", {"optimizer": rp.Rprop("irprop-fann", delta_min=0.0)}),
    ("quickprop", {}),
    ("sarprop", {}),
]


def data(loss: str, dtype: type, n: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """The kernels' test data (:func:`helpers.kernel_data`) for SIZES."""
    return kernel_data(loss, dtype, SIZES, n)


def network(combo: tuple[str, str, str], dtype: type, sizes=SIZES) -> rp.Network:
    hidden, output, loss = combo
    return beyond_fann_clip(
        rp.Network.create(
            sizes, activation=hidden, output_activation=output, loss=loss, seed=1, dtype=dtype
        )
    )


def both(combo, dtype, sizes=SIZES, **settings):
    """(compiled net, its history, reference net, its history) for the same full-batch run."""
    X, Y = data(combo[2], dtype)
    out = []
    for engine in ("numba", "numpy"):
        net = network(combo, dtype, sizes)
        hist = fit(net, X, Y, batch_size="all", seed=0, engine=engine, **settings)
        out += [net, hist]
    return out


def assert_agree(fast, h_fast, ref, h_ref, tol: float) -> None:
    theta_f, theta_r = fast.get_flat(), ref.get_flat()
    assert np.max(np.abs(theta_f - theta_r)) / np.max(np.abs(theta_r)) <= tol
    assert h_fast.metrics.keys() == h_ref.metrics.keys()
    for key in h_ref.metrics:
        if key != "time":
            np.testing.assert_allclose(h_fast[key], h_ref[key], rtol=tol, atol=tol, err_msg=key)


@pytest.fixture
def generic(monkeypatch: pytest.MonkeyPatch) -> None:
    """The generic kernels' pass instead of the one generated for the architecture."""
    monkeypatch.setattr(codegen, "MAX_UNROLLED", 0)


@pytest.mark.usefixtures("generic")
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("combo", COMBOS, ids=["-".join(c) for c in COMBOS])
@pytest.mark.parametrize("rule", RULES, ids=[r[0] for r in RULES])
@pytest.mark.parametrize("weight_decay", [0.0, 1e-3], ids=["", "decay"])
def test_generic_full_batch_equals_numpy(combo, rule, dtype, weight_decay) -> None:
    check_rule(combo, rule, dtype, weight_decay)


# each generated pass compiles in seconds: two architectures (matched pairs and the chain rule
# through a hidden layer both ways are in the generic test) cover its code paths, and a third
# FANN's sigmoid (its clipped derivative is code of its own)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("combo", GENERATED, ids=["-".join(c) for c in GENERATED])
@pytest.mark.parametrize("rule", RULES, ids=[r[0] for r in RULES])
def test_generated_full_batch_equals_numpy(combo, rule, dtype) -> None:
    check_rule(combo, rule, dtype, 1e-3)


@pytest.mark.parametrize("rule", RULES[3:], ids=[r[0] for r in RULES[3:]])
def test_generated_pass_of_wide_layers_equals_numpy(rule) -> None:
    # hidden layers of 20 and 17 neurons: arrays and loops in the generated code, not locals
    check_rule(COMBOS[0], rule, np.float64, 1e-3, sizes=[5, 20, 17, 3])


def check_rule(combo, rule, dtype, weight_decay, sizes=SIZES) -> None:
    name, settings = rule
    # Quickprop's secant step divides by the change of slope: rounding grows fastest there
    epochs = 5 if name == "quickprop" else 12
    settings = {"optimizer": name, **settings}
    runs = both(combo, dtype, sizes, epochs=epochs, weight_decay=weight_decay, **settings)
    assert_agree(*runs, TOL[dtype])


def test_fann_sigmoid_runs_cross_the_clip() -> None:
    """The comparisons with FANN's sigmoid cover its clip: the network starts with hidden and
    output values beyond [0.01, 0.99], and training it with the plain sigmoid′ ends elsewhere
    (were every value inside, the two derivatives would be the same numbers)."""
    X, Y = data(FANN_COMBO[2], np.float64)
    net = network(FANN_COMBO, np.float64)
    for a in net.forward(X).a:
        assert 0 < np.mean((a < 0.01) | (a > 0.99)) < 0.95  # 10 %, 31 %, 1.3 %
    plain = net.copy()
    for layer in plain.layers:
        layer.activation = rp.get_activation("sigmoid")
    for run in (net, plain):
        fit(run, X, Y, batch_size="all", epochs=5, optimizer="irprop-fann", engine="numpy")
    assert np.max(np.abs(net.get_flat() - plain.get_flat())) > 1e-3


def test_full_batch_runs_on_the_full_batch_trainer() -> None:
    X, Y = data("squared_error", np.float64)
    net = network(COMBOS[0], np.float64)
    for name in ("irprop-", "quickprop", "sarprop", "sgd", "adam"):
        opt = rp.get_optimizer(name)
        fast = select_engine("numba", net, opt, X, Y, len(X), 0.0, 10)
        assert isinstance(fast, fullbatch.FullBatchTrainer)
        assert fast.generated is not None  # the pass generated for the architecture
        assert fast._batch_ready == {"gradient", "epochs"}  # compiled by a worker (conftest waits)
    with pytest.raises(ValueError, match="on mini-batches"):
        select_engine("numba", net, rp.get_optimizer("quickprop"), X, Y, 10, 0.0, 10)


def test_final_error_needs_no_second_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """The epoch's error of its final weights comes from the pass the step makes anyway: the
    generic evaluation is called for the validation set only, and the extra pass once."""
    calls = {"evaluate": 0, "pass": 0}
    evaluate, one_pass = KernelTrainer.epoch_logs, fullbatch.FullBatchTrainer._pass

    def counted_evaluate(self, *args):
        calls["evaluate"] += 1
        return evaluate(self, *args)

    def counted_pass(self, *args):
        calls["pass"] += 1
        return one_pass(self, *args)

    monkeypatch.setattr(KernelTrainer, "epoch_logs", counted_evaluate)
    monkeypatch.setattr(fullbatch.FullBatchTrainer, "_pass", counted_pass)
    X, Y = data("squared_error", np.float64)
    fit(network(COMBOS[0], np.float64), X, Y, optimizer="irprop-", batch_size="all",
        epochs=7, engine="numba", validation_data=(X[:10], Y[:10]))  # fmt: skip
    assert calls == {"evaluate": 7, "pass": 1}


def test_running_error_is_the_error_before_the_step() -> None:
    # full batch: epoch e's running error is the final error of epoch e − 1
    X, Y = data("squared_error", np.float64)
    hists = []
    for train_error, engine in (("running", "numba"), ("final", "numba"), ("running", "numpy")):
        hists.append(
            fit(network(COMBOS[0], np.float64), X, Y, optimizer="irprop+", batch_size="all",
                epochs=6, engine=engine, train_error=train_error)
        )  # fmt: skip
    running, final, reference = hists
    np.testing.assert_allclose(running["loss"][1:], final["loss"][:-1], rtol=1e-12)
    np.testing.assert_allclose(running["loss"], reference["loss"], rtol=1e-12)


class Halve(Callback):
    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool | None:
        assert self.network is not None
        if epoch == 2:
            self.network.set_flat(0.5 * self.network.get_flat())
        return None


@pytest.mark.parametrize("name", ["irprop+", "quickprop", "sarprop"])
def test_callbacks_may_change_the_weights(name: str) -> None:
    runs = both(COMBOS[0], np.float64, optimizer=name, epochs=5, callbacks=[Halve()])
    assert_agree(*runs, 1e-12)


class Keep(Callback):
    def __init__(self, at: int) -> None:
        super().__init__()
        self.at, self.state = at, None

    def on_epoch_state(self, epoch, state) -> None:
        if epoch == self.at:
            self.state = state()


@pytest.mark.parametrize("name", ["rprop+", "irprop+", "quickprop", "sarprop"])
@pytest.mark.parametrize("resume_on", ["numba", "numpy"])
def test_resumed_runs_continue_exactly(name: str, resume_on: str) -> None:
    """Save after epoch 3 of a compiled run, continue on either engine: the uninterrupted
    run's weights (the compiled state converts to the reference's form and back)."""
    X, Y = data("squared_error", np.float64)
    whole = network(COMBOS[0], np.float64)
    fit(whole, X, Y, optimizer=name, batch_size="all", epochs=6, seed=0, engine="numba")
    keep = Keep(3)
    first = network(COMBOS[0], np.float64)
    fit(first, X, Y, optimizer=name, batch_size="all", epochs=3, seed=0, engine="numba",
        callbacks=[keep])  # fmt: skip
    assert isinstance(keep.state, TrainState)
    second = network(COMBOS[0], np.float64)
    fit(second, X, Y, optimizer=name, batch_size="all", epochs=6, seed=0, engine=resume_on,
        initial_state=keep.state)  # fmt: skip
    theta, ref = second.get_flat(), whole.get_flat()
    assert np.max(np.abs(theta - ref)) / np.max(np.abs(ref)) <= 1e-12
