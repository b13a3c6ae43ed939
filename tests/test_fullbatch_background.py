"""Issue 14 item 9 for the full batch: the pass generated per architecture never waits.

The full-batch gradient pass generated for an architecture (:mod:`retroprop._fast.codegen_batch`)
is compiled by a worker process, as the online kernels are
(``tests/test_background_compile.py``); the generic pass (:func:`.fullbatch.gradient_pass`)
trains meanwhile, and the run moves to the generated one at an epoch boundary. Both round
every operation alike, so which one ran which epoch changes no bit: checked for every step
rule, several architectures, activations and losses, float64 and float32.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import retroprop as rp
from helpers import without_waiting
from retroprop._fast import background, fullbatch
from retroprop._fast.fullbatch import FullBatchTrainer
from retroprop._fast.run import TrainingRun
from retroprop.core.optimizers import Rprop
from test_background_compile import WaitForCompile

# matched pairs and the chain rule, every activation and loss, wide hidden layers (arrays and
# loops in the generated code) and unrolled ones, two and three layers, both dtypes
N_INPUTS = 6


def arch(widths: tuple[int, ...], act: str, out: str, loss: str, dtype: type) -> tuple[Any, ...]:
    """(sizes, hidden activation, output activation, loss, dtype): ``widths`` after the inputs."""
    return [N_INPUTS, *widths], act, out, loss, dtype


ARCHITECTURES = [
    arch((10, 5, 3), "sigmoid", "softmax", "categorical_cross_entropy", np.float64),
    arch((20, 3), "relu", "identity", "squared_error", np.float32),
    arch((7, 1), "tanh", "sigmoid", "binary_cross_entropy", np.float64),
    arch((18, 3), "leaky_relu", "softmax", "absolute_error", np.float32),
    arch((4, 4, 2), "identity", "tanh", "squared_error", np.float64),
]
IDS = [f"{a[1]}-{a[2]}-{a[3]}-{a[4].__name__}" for a in ARCHITECTURES]
RULES = ["sgd", "momentum", "nesterov", "adam", "rprop+", "rprop-", "irprop+", "irprop-",
         "irprop-fann", "quickprop", "sarprop"]  # fmt: skip


def data(n_out: int, dtype: type, n: int = 70) -> tuple[np.ndarray, np.ndarray]:
    """Inputs with a quarter zeros (the generated pass visits the nonzero inputs only)."""
    rng = np.random.default_rng(4)
    X = rng.uniform(-1.5, 1.5, (n, N_INPUTS))
    X[rng.random(X.shape) < 0.25] = 0.0
    Y = np.eye(n_out)[rng.integers(0, n_out, n)] if n_out > 1 else rng.integers(0, 2, (n, 1))
    return X.astype(dtype), Y.astype(dtype)


def optimizer(name: str) -> Any:
    if name == "nesterov":
        return rp.Momentum(0.05, momentum=0.9, nesterov=True)
    return rp.get_optimizer(name)


def make_trainer(
    arch: tuple[Any, ...], rule: str, generated: bool, weight_decay: float = 0.0
) -> FullBatchTrainer:
    sizes, act, out, loss, dtype = arch
    X, Y = data(sizes[-1], dtype)
    net = rp.Network.create(
        sizes, activation=act, output_activation=out, loss=loss, seed=2, dtype=dtype
    )
    run = TrainingRun(net, optimizer(rule), X, Y, len(X), weight_decay)
    return FullBatchTrainer(run, generated=generated)


def train(trainer: FullBatchTrainer, epochs: int, start: int = 0) -> list[Any]:
    """Epochs alternately with and without the running tally and accuracy; returns the tallies,
    the epoch logs and θ after each epoch."""
    seen: list[Any] = []
    index = np.arange(len(trainer.X))
    for e in range(start, start + epochs):
        tally = np.zeros(3) if e % 2 else None
        trainer.run_epoch(index, tally, classify=e % 3 == 1)
        logs = trainer.epoch_logs(trainer.network, trainer.X, trainer.Y, "", e % 3 == 1)
        seen += [None if tally is None else tally.tolist(), logs, trainer.theta.tobytes()]
    return seen


@pytest.mark.parametrize("arch", ARCHITECTURES, ids=IDS)
def test_generated_and_generic_passes_give_the_same_bits(arch: tuple[Any, ...]) -> None:
    """Every rule, with and without weight decay: every epoch's θ, tallies and logs."""
    for rule in RULES:
        for weight_decay in (0.0, 1e-3):
            fast = make_trainer(arch, rule, True, weight_decay)
            assert fast._batch_ready == {"gradient", "epochs"}  # compiled (the conftest waits)
            generic = make_trainer(arch, rule, False, weight_decay)
            assert generic.generated is None
            assert train(fast, 6) == train(generic, 6), (rule, weight_decay)


@pytest.fixture
def no_waiting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """What users get (no waiting, a fresh cache); returns the generic epoch count."""
    return without_waiting(tmp_path, monkeypatch, fullbatch, "full_batch_epoch")


def test_a_new_architecture_trains_at_once_then_swaps_at_an_epoch_boundary(
    no_waiting: Callable[[], int],
) -> None:
    arch = ([6, 11, 3], "tanh", "softmax", "categorical_cross_entropy", np.float64)
    fast = make_trainer(arch, "irprop+", True)
    assert fast._batch_ready == set()  # nothing compiled: a worker compiles meanwhile
    pids = background.workers()
    assert len(pids) == 1
    seen = train(fast, 3)
    assert no_waiting() == 3
    assert background.wait(timeout=900)
    seen += train(fast, 4, start=3)
    assert no_waiting() == 3  # the last four epochs ran the generated pass
    assert fast._batch_ready == {"gradient"}  # "epochs" is asked for by run_epochs only
    if sys.platform == "linux":  # the worker exited and was reaped
        assert not Path(f"/proc/{pids[0]}").exists()
    generic = make_trainer(arch, "irprop+", False)
    assert train(generic, 7) == seen
    compiled = make_trainer(arch, "irprop+", True)  # from the cache: no worker
    assert compiled._batch_ready == {"gradient", "epochs"}
    assert background.workers() == []
    assert train(compiled, 7) == seen


@pytest.mark.parametrize("trouble", ["fails", "cannot start"])
def test_a_failed_compile_leaves_the_generic_pass(
    trouble: str, no_waiting: Callable[[], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run goes on with the generic pass (same bits), never an error."""
    arch = ([6, 13, 2], "sigmoid", "sigmoid", "squared_error", np.float64)
    with monkeypatch.context() as patch:
        patch.setattr(sys, "executable", "/bin/false" if trouble == "fails" else "/nonexistent")
        fast = make_trainer(arch, "quickprop", True)
    assert background.wait(timeout=900)
    seen = train(fast, 4)
    assert no_waiting() == 4
    assert fast._batch_ready == set()
    assert train(make_trainer(arch, "quickprop", False), 4) == seen


def test_fit_gives_the_same_history_whichever_pass_ran_which_epoch(
    no_waiting: Callable[[], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fit(batch_size="all")`` end to end with validation logs: swapped after epoch 2, against
    a run on the generated pass from the start and one on the generic pass only."""
    from retroprop._fast import codegen

    X, Y = data(1, np.float32, 90)
    runs = {}
    for name in ("swapped", "generated", "generic"):
        with monkeypatch.context() as patch:
            if name == "generic":
                patch.setattr(codegen, "MAX_UNROLLED", 0)  # no generated kernel at all
            net = rp.Network.create(
                [6, 9, 1], activation="tanh", output_activation="sigmoid",
                loss="binary_cross_entropy", seed=0, dtype=np.float32,
            )  # fmt: skip
            before = no_waiting()
            history = rp.fit(
                net, X[:70], Y[:70], epochs=6, batch_size="all", engine="numba", seed=0,
                optimizer=Rprop("irprop-"), validation_data=(X[70:], Y[70:]),
                callbacks=[WaitForCompile(2)] if name == "swapped" else [],
            )  # fmt: skip
        logs = {key: v for key, v in history.metrics.items() if key != "time"}
        runs[name] = (net.get_flat().tobytes(), logs, no_waiting() - before)
    assert [runs[name][2] for name in ("swapped", "generated", "generic")] == [2, 0, 6]
    for name in ("generated", "generic"):
        assert runs[name][:2] == runs["swapped"][:2]
