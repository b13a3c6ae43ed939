"""Issue 14 item 9: a new architecture never waits for its kernel to compile.

The kernel generated for an architecture (:mod:`retroprop._fast.codegen`) is compiled by a
worker process (:mod:`retroprop._fast.background`) while the generic kernels, compiled once per
machine, train; the run moves to the generated kernel at an epoch boundary once it is compiled.
Both kernels round every operation alike, so which one ran which epoch changes no bit. Most
tests here turn off the conftest fixture that makes runs wait for the generated kernel.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_wine

import retroprop as rp
from helpers import without_waiting
from retroprop._fast import background
from retroprop._fast import trainer as _trainer
from retroprop._fast.run import TrainingRun
from retroprop._fast.trainer import KernelTrainer
from retroprop.core.optimizers import SGD

# Each architecture compiles in seconds; these cover every activation and loss, the matched
# pairs and the chain rule (softmax with absolute error), wide hidden layers (arrays and loops)
# and unrolled ones, two and three layers, float64 and float32.
ARCHITECTURES = [
    ([13, 10, 5, 3], "sigmoid", "softmax", "categorical_cross_entropy", np.float64),
    ([13, 20, 3], "relu", "identity", "squared_error", np.float32),
    ([13, 6, 1], "tanh", "sigmoid", "binary_cross_entropy", np.float64),
    ([13, 7, 3], "leaky_relu", "softmax", "absolute_error", np.float32),
    ([13, 4, 4, 3], "identity", "tanh", "squared_error", np.float64),
]


def wine(n_out: int, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """Standardised wine with a fifth of the inputs set to 0 (the kernels skip zero inputs)."""
    X, y = load_wine(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    X[X < -0.8] = 0.0
    Y = np.eye(3)[y] if n_out == 3 else (y == 1).astype(float)[:, None]
    return X.astype(dtype), Y.astype(dtype)


def network(sizes: list[int], act: str, out: str, loss: str, dtype: type) -> rp.Network:
    return rp.Network.create(
        sizes, activation=act, output_activation=out, loss=loss, seed=3, dtype=dtype
    )


def make_trainer(arch: tuple[Any, ...], generated: bool, eta: float = 0.1) -> KernelTrainer:
    sizes, act, out, loss, dtype = arch
    X, Y = wine(sizes[-1], dtype)
    return KernelTrainer(
        TrainingRun(network(sizes, act, out, loss, dtype), SGD(eta), X, Y, 1), generated=generated
    )


def orders(epochs: int) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.permutation(178) for _ in range(epochs)]


def assert_same_bits(a: rp.Network, b: rp.Network) -> None:
    for p, q in zip(a.params(), b.params(), strict=True):
        np.testing.assert_array_equal(p, q)


def train(trainer: KernelTrainer, epochs: list[np.ndarray]) -> list[Any]:
    """Epochs alternately with and without the running tally; returns tallies and logs."""
    seen: list[Any] = []
    for e, index in enumerate(epochs):
        tally = np.zeros(3) if e % 2 else None
        trainer.run_epoch(index, tally, classify=True)
        seen.append(None if tally is None else tally.tolist())
        seen.append(trainer.epoch_logs(trainer.network, trainer.X, trainer.Y, "", True))
    return seen


@pytest.fixture
def no_waiting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """What users get (no waiting, a fresh cache); returns the generic epoch count."""
    return without_waiting(tmp_path, monkeypatch, _trainer, "train_epoch")


@pytest.mark.parametrize(
    "arch", ARCHITECTURES, ids=[f"{a[1]}-{a[2]}-{a[3]}-{a[4].__name__}" for a in ARCHITECTURES]
)
def test_generated_and_generic_kernels_give_the_same_bits(arch: tuple[Any, ...]) -> None:
    """Every epoch's weights, running tallies and epoch logs, bit for bit."""
    fast, generic = make_trainer(arch, True), make_trainer(arch, False)
    assert fast._ready == {"train", "train_tallied", "evaluate"}  # compiled (conftest waits)
    assert generic.special is None
    epochs = orders(4)
    assert train(fast, epochs) == train(generic, epochs)
    assert_same_bits(fast.network, generic.network)


def test_a_new_architecture_trains_at_once_then_swaps_at_an_epoch_boundary(
    no_waiting: Callable[[], int],
) -> None:
    arch = ([13, 11, 3], "sigmoid", "softmax", "categorical_cross_entropy", np.float64)
    epochs = orders(5)
    fast = make_trainer(arch, True)
    assert fast._ready == set()  # nothing compiled: a worker compiles while the generic trains
    pids = background.workers()
    assert len(pids) == 1
    seen = train(fast, epochs[:2])
    assert no_waiting() == 2
    assert background.wait(timeout=900)
    seen += train(fast, epochs[2:])
    assert no_waiting() == 2  # the last three epochs ran the generated kernel
    assert fast._ready == {"train", "train_tallied", "evaluate"}
    if sys.platform == "linux":  # the worker exited and was reaped: no zombie either
        assert not Path(f"/proc/{pids[0]}").exists()
    generic = make_trainer(arch, False)
    assert train(generic, epochs) == seen
    assert_same_bits(fast.network, generic.network)
    compiled = make_trainer(arch, True)  # from the cache: no worker, generated from epoch 1
    assert compiled._ready == {"train", "train_tallied", "evaluate"}
    assert background.workers() == []
    assert train(compiled, epochs) == seen
    assert_same_bits(compiled.network, generic.network)


class WaitForCompile(rp.Callback):
    """Waits for the compile workers at the end of one epoch, so that the run swaps there."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool | None:
        if epoch == self.epoch:
            assert background.wait(timeout=900)
        return None


def test_fit_gives_the_same_history_whichever_kernel_ran_which_epoch(
    no_waiting: Callable[[], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fit`` end to end, with validation logs: swapped after epoch 2, against a run on the
    generated kernel from the start (the compile is cached by then) and on the generic one."""
    from retroprop._fast import codegen

    sizes, dtype = [13, 9, 2, 1], np.float32
    X, Y = wine(1, dtype)
    runs = {}
    for name in ("swapped", "generated", "generic"):
        with monkeypatch.context() as patch:
            if name == "generic":
                patch.setattr(codegen, "MAX_UNROLLED", 0)  # no generated kernel at all
            net = network(sizes, "tanh", "sigmoid", "binary_cross_entropy", dtype)
            before = no_waiting()
            history = rp.fit(
                net, X[:140], Y[:140], epochs=6, learning_rate=0.2, seed=0, engine="numba",
                validation_data=(X[140:], Y[140:]),
                callbacks=[WaitForCompile(2)] if name == "swapped" else [],
            )  # fmt: skip
        logs = {key: v for key, v in history.metrics.items() if key != "time"}
        runs[name] = (net, logs, no_waiting() - before)
    assert [runs[name][2] for name in ("swapped", "generated", "generic")] == [2, 0, 6]
    for name in ("generated", "generic"):
        assert runs[name][1] == runs["swapped"][1]
        assert_same_bits(runs[name][0], runs["swapped"][0])


@pytest.mark.parametrize("trouble", ["fails", "cannot start", "killed"])
def test_a_failed_compile_leaves_the_generic_kernel_and_the_cache_sound(
    trouble: str, no_waiting: Callable[[], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run goes on with the generic kernel (same bits), never an error; a later process
    compiles the kernel into the same cache."""
    hidden = {"fails": 12, "cannot start": 14, "killed": 15}[trouble]
    arch = ([13, hidden, 3], "relu", "softmax", "categorical_cross_entropy", np.float64)
    epochs = orders(3)
    with monkeypatch.context() as patch:
        if trouble == "fails":
            patch.setattr(sys, "executable", "/bin/false")
        elif trouble == "cannot start":
            patch.setattr(sys, "executable", "/nonexistent/python")
        fast = make_trainer(arch, True)
    if trouble == "killed":
        (pid,) = background.workers()
        time.sleep(2.0)  # importing numba, or compiling: either way it dies unfinished
        os.kill(pid, signal.SIGKILL)
    assert background.wait(timeout=900)
    seen = train(fast, epochs)
    assert no_waiting() == 3
    assert fast._ready == set()
    generic = make_trainer(arch, False)
    assert train(generic, epochs) == seen
    assert_same_bits(fast.network, generic.network)
    # A new process (here: this one, forgetting its workers) compiles it into the same cache.
    monkeypatch.setattr(background, "WAIT", True)
    monkeypatch.setattr(background, "_JOBS", {})
    monkeypatch.setattr(background, "_LOOKED", set())
    again = make_trainer(arch, True)
    assert again._ready == {"train", "train_tallied", "evaluate"}


def test_the_estimators_online_sgd_gives_the_same_numbers_on_either_kernel(
    no_waiting: Callable[[], int],
) -> None:
    """``MLPClassifier`` online plain SGD: trained on the generic kernel while the generated one
    compiles, then on the generated one: the same weights and ``loss_curve_`` bit for bit."""
    X, y = load_wine(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    settings: dict[str, Any] = {
        "hidden_layer_sizes": (17,), "solver": "sgd", "batch_size": 1, "momentum": 0.0,
        "alpha": 0.0, "learning_rate_init": 0.05, "max_iter": 4, "engine": "numba",
        "random_state": 0,
    }  # fmt: skip
    with pytest.warns(Warning, match="Maximum iterations"):
        first = rp.MLPClassifier(**settings).fit(X, y)
    assert first._compiled_trainer[2]._ready == set()  # the worker compiles meanwhile
    assert background.wait(timeout=900)
    with pytest.warns(Warning, match="Maximum iterations"):
        second = rp.MLPClassifier(**settings).fit(X, y)
    assert second._compiled_trainer[2]._ready == {"train_tallied"}
    assert first.loss_curve_ == second.loss_curve_
    weights = [[*est.coefs_, *est.intercepts_] for est in (first, second)]
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)


CONCURRENT = """
import sys
import numpy as np
import retroprop as rp
from retroprop._fast import background
rng = np.random.default_rng(0)
X = rng.random((300, 6))
Y = np.column_stack([X.sum(1) > 3, X[:, 0] > 0.5]).astype(float)
net = rp.Network.create([6, 19, 2], seed=0)
rp.fit(net, X, Y, epochs=3, learning_rate=0.1, seed=0, engine="numba")
assert background.wait(timeout=900)
print(np.concatenate([p.ravel() for p in net.params()]).tobytes().hex())
"""


def test_concurrent_runs_compile_a_new_architecture_once(tmp_path: Path) -> None:
    """Two processes training the same new architecture at once: one compile (the workers take
    turns; the later one finds the kernel cached), the same weights, a sound cache."""
    cache = tmp_path / "cache"
    env = {**os.environ, "RETROPROP_CACHE_DIR": str(cache)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT], env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=900)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    assert outputs[0] == outputs[1]
    (log,) = cache.glob("*.log")
    lines = log.read_text().splitlines()
    assert sum(": compiled" in line for line in lines) == 3, lines  # train, tallied, evaluate
    assert all(": compiled" in line or "found in the cache" in line for line in lines), lines
    # a third run loads all three from the cache and starts no worker
    check = CONCURRENT.replace("assert background.wait(timeout=900)", "assert not background._JOBS")
    third = subprocess.run(
        [sys.executable, "-c", check], env=env, capture_output=True, text=True, timeout=900
    )
    assert third.returncode == 0, third.stderr
    assert third.stdout == outputs[0]


def test_no_writable_cache_directory_trains_on_the_generic_kernels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setenv("RETROPROP_CACHE_DIR", str(blocker / "cache"))  # cannot be created
    monkeypatch.setattr(background, "WAIT", False)
    arch = ([13, 10, 5, 3], "tanh", "softmax", "categorical_cross_entropy", np.float64)
    fast, generic = make_trainer(arch, True), make_trainer(arch, False)
    assert fast.special is None and background.workers() == []  # (a kernel new to the process)
    epochs = orders(2)
    assert train(fast, epochs) == train(generic, epochs)


def test_a_changed_engine_names_its_generated_modules_anew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Generated modules import the engine's compiled functions, and numba's cache checks only
    the generated file's stamp: a checkout or upgrade with other engine source sharing the cache
    directory must get modules of its own, never the old machine code."""
    from retroprop._fast import codegen

    engine = Path(codegen.__file__).parent
    copy = tmp_path / "engine"
    copy.mkdir()
    for path in engine.glob("*.py"):
        (copy / path.name).write_bytes(path.read_bytes())
    assert codegen.source_digest(copy) == codegen.engine_fingerprint()
    with (copy / "fullbatch.py").open("a") as file:
        file.write("\n# one changed line\n")
    changed = codegen.source_digest(copy)
    assert changed != codegen.engine_fingerprint()
    text = codegen.source([2, 3, 1], [1, 1], 0)
    before = codegen._module_name(text)
    monkeypatch.setattr(codegen, "engine_fingerprint", lambda: changed)
    assert codegen._module_name(text) != before


def test_modules_of_other_engines_are_pruned_after_a_month_and_ours_never(
    tmp_path: Path,
) -> None:
    """Every engine change names new modules: the old ones' files (source, lock, log, numba's
    index and machine code) go once a month old; this engine's, and young ones, stay."""
    from retroprop._fast import codegen

    cache = tmp_path / "cache"
    (cache / "__pycache__").mkdir(parents=True)
    mine = codegen._module_name("anything")
    old_other, young_other = "retroprop_kernel_00000000_aaaa", "retroprop_kernel_00000000_bbbb"
    now = time.time()
    for stem in (mine, old_other, young_other):
        for path in (cache / f"{stem}.py", cache / f"{stem}.lock", cache / f"{stem}.log"):
            path.write_text("x")
        (cache / "__pycache__" / f"{stem}.train-9.py311.nbi").write_text("x")
    unrelated = cache / "notes.txt"
    unrelated.write_text("not a kernel")
    month = (codegen.PRUNE_AFTER_DAYS + 1) * 86400.0
    for stem in (mine, old_other):
        os.utime(cache / f"{stem}.py", (now - month, now - month))
    assert codegen._prune(cache, now) == [old_other]
    left = sorted(p.name for p in cache.rglob("*") if p.is_file())
    assert not [name for name in left if old_other in name]
    assert len([name for name in left if mine in name]) == 4
    assert len([name for name in left if young_other in name]) == 4
    assert unrelated.exists()
