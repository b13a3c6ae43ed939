"""Several full-batch epochs per compiled call (retroprop._fast.batch_chunks).

A ``fit(batch_size="all")`` on the compiled engine with nothing to do between epochs (no
callback with a per-epoch hook, no validation set, no state wanted) runs its epochs in chunks,
one compiled call each. Everything must be as if the epochs had run one call each: weights,
optimizer state and history (all but ``time``) bit for bit, for every rule, both dtypes, the
generated and the generic pass, running and final training error, with and without shuffling,
across chunk boundaries, on divergence and when a chunked run resumes a saved one. The NumPy
reference agrees to 1e-12 / 1e-5 as before (``test_fast_fullbatch.py``, whose runs without
callbacks now take this path).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import retroprop as rp
from retroprop._fast import batch_chunks, codegen
from retroprop._fast.batch_chunks import ChunkedTrainer
from retroprop._fast.fullbatch import FullBatchTrainer
from retroprop._fast.run import TrainingRun
from retroprop.train import epochs as train_epochs
from retroprop.train.loop import Callback, DivergenceError, EarlyStopping, TrainState, fit
from test_fast_fullbatch import COMBOS, GENERATED, RULES, TOL, data, network
from test_fullbatch_background import ARCHITECTURES
from test_fullbatch_background import data as arch_data
from test_fullbatch_background import optimizer as arch_optimizer


class EveryEpoch(Callback):
    """A callback after every epoch that does nothing: the loop returns to Python each time."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool | None:
        return None


class Keep(Callback):
    """Keeps the state after epoch ``at``."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at, self.state = at, None

    def on_epoch_state(self, epoch: int, state: Any) -> None:
        if epoch == self.at:
            self.state = state()


def count_chunks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that gets the size of every chunk :meth:`ChunkedTrainer.run_epochs` is asked
    for from now on."""
    sizes: list[int] = []
    run_epochs = ChunkedTrainer.run_epochs

    def counted(self: ChunkedTrainer, orders: Any, *args: Any) -> Any:
        sizes.append(len(orders))
        return run_epochs(self, orders, *args)

    monkeypatch.setattr(ChunkedTrainer, "run_epochs", counted)
    return sizes


@pytest.fixture
def chunks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The chunk sizes (:func:`count_chunks`), small ones: a first guess of 3 epochs, then 2
    (several boundaries in a short run)."""
    sizes = count_chunks(monkeypatch)
    monkeypatch.setattr(train_epochs.StepRun, "_first_chunk", lambda self: 3)
    monkeypatch.setattr(train_epochs.StepRun, "_next_chunk", lambda self, seconds, done: 2)
    return sizes


def run(combo, dtype, callbacks=(), **settings):  # type: ignore[no-untyped-def]
    """(weights, history without ``time``) of a compiled full-batch run."""
    X, Y = data(combo[2], dtype)
    net = network(combo, dtype)
    settings = {"seed": 0, "epochs": 9, **settings}
    history = fit(net, X, Y, batch_size="all", engine="numba", callbacks=list(callbacks),
                  **settings)  # fmt: skip
    return net.get_flat().tobytes(), {k: v for k, v in history.metrics.items() if k != "time"}


def rule_settings(rule: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    name, settings = rule
    return {"optimizer": name, **settings}


@pytest.mark.parametrize("combo", GENERATED, ids=lambda c: "-".join(c))
@pytest.mark.parametrize("rule", RULES, ids=[r[0] for r in RULES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_chunks_give_the_bits_of_one_call_per_epoch(combo, rule, dtype, chunks) -> None:
    """Every rule (SARPROP and the Rprops with weight decay run one call per epoch anyway),
    with weight decay, running error and no shuffling in turn."""
    for extra in ({}, {"weight_decay": 1e-3}, {"train_error": "running"}, {"shuffle": False}):
        settings = {**rule_settings(rule), **extra}
        chunks.clear()
        chunked = run(combo, dtype, **settings)
        chunkable = rule[0] != "sarprop" and not ("rprop" in rule[0] and "weight_decay" in extra)
        assert chunks == ([3, 2, 2, 2] if chunkable else []), (rule, extra)
        assert run(combo, dtype, [EveryEpoch()], **settings) == chunked, (rule, extra)


@pytest.mark.parametrize("rule", ["irprop+", "quickprop", "adam"])
def test_the_generic_chunks_give_the_same_bits(rule, chunks, monkeypatch) -> None:
    """Where no pass is generated (or not yet compiled): :func:`full_batch_epochs`."""
    generated = run(COMBOS[0], np.float64, optimizer=rule)
    monkeypatch.setattr(codegen, "MAX_UNROLLED", 0)
    chunks.clear()
    assert run(COMBOS[0], np.float64, optimizer=rule) == generated
    assert chunks == [3, 2, 2, 2]


def test_only_runs_with_nothing_between_epochs_are_chunked(chunks) -> None:
    X, Y = data("squared_error", np.float64)

    class Begins(Callback):  # no per-epoch hook: chunks are fine
        def on_train_begin(self, network: rp.Network) -> None:
            super().on_train_begin(network)

    cases = {
        "plain": ({}, True),
        "train-begin callback": ({"callbacks": [Begins()]}, True),
        "epoch-end callback": ({"callbacks": [EveryEpoch()]}, False),
        "function callback": ({"callbacks": [lambda epoch, logs: None]}, False),
        "state wanted": ({"callbacks": [Keep(2)]}, False),
        "early stopping": ({"early_stopping": True}, False),
        "validation": ({"validation_data": (X[:10], Y[:10])}, False),
        "sarprop": ({"optimizer": "sarprop"}, False),
        "rprop with weight decay": ({"weight_decay": 1e-3}, False),
    }
    for name, (extra, chunked) in cases.items():
        chunks.clear()
        settings = {"optimizer": "irprop-", **extra}
        fit(network(COMBOS[0], np.float64), X, Y, batch_size="all", engine="numba", epochs=5,
            **settings)  # fmt: skip
        assert bool(chunks) == chunked, name


def test_a_callback_stops_at_its_epoch() -> None:
    """A stop asked at epoch 7 (a per-epoch run) leaves the weights and history of a chunked
    run of 7 epochs; early stopping stops at the same epoch as on the reference."""
    stop = run(COMBOS[0], np.float64, [lambda epoch, logs: epoch == 7], optimizer="quickprop",
               epochs=50)  # fmt: skip
    assert stop == run(COMBOS[0], np.float64, optimizer="quickprop", epochs=7)
    assert len(stop[1]["loss"]) == 7
    X, Y = data("squared_error", np.float64)
    stopped = []
    for engine in ("numba", "numpy"):
        es = EarlyStopping(monitor="loss", patience=2, min_delta=1e-2)
        net = network(COMBOS[0], np.float64)
        history = fit(net, X, Y, optimizer="irprop-", batch_size="all", epochs=200, seed=0,
                      engine=engine, early_stopping=es)  # fmt: skip
        stopped.append(history.epochs)
    assert stopped[0] == stopped[1] < 200


@pytest.mark.parametrize("rule", ["irprop+", "quickprop", "momentum"])
def test_a_chunked_run_resumes_a_saved_one_as_before(rule, chunks) -> None:
    """Saved after epoch 4, continued in chunks: the run continued one call per epoch, bit for
    bit; for iRprop⁺ also the uninterrupted run (Quickprop's and momentum's resumed runs differ
    from it in the last bits on either path, within the engines' 1e-12)."""
    X, Y = data(COMBOS[1][2], np.float64)
    keep = Keep(4)
    first = network(COMBOS[1], np.float64)
    fit(first, X, Y, optimizer=rule, batch_size="all", epochs=4, seed=0, engine="numba",
        callbacks=[keep])  # fmt: skip
    assert isinstance(keep.state, TrainState)
    resumed = []
    for callbacks in ([], [EveryEpoch()]):
        chunks.clear()
        net = network(COMBOS[1], np.float64)
        history = fit(net, X, Y, optimizer=rule, batch_size="all", epochs=12, seed=0,
                      engine="numba", initial_state=keep.state, callbacks=callbacks)  # fmt: skip
        assert chunks == ([3, 2, 2, 1] if not callbacks else [])
        metrics = {k: v for k, v in history.metrics.items() if k != "time"}
        resumed.append((net.get_flat().tobytes(), metrics))
    assert resumed[0] == resumed[1]
    whole = run(COMBOS[1], np.float64, optimizer=rule, epochs=12)
    if rule == "irprop+":
        assert resumed[0] == whole
    theta, ref = (np.frombuffer(r[0]) for r in (resumed[0], whole))
    assert np.max(np.abs(theta - ref)) / np.max(np.abs(ref)) <= 1e-12


def test_divergence_in_a_chunk_stops_at_the_same_epoch(chunks) -> None:
    """η far too large: the chunk stops at the epoch whose error overflows, and the run raises
    there with the weights of the epoch before, as one call per epoch does."""
    X, Y = data("squared_error", np.float64)
    X = X * 1e3
    outcomes = []
    for callbacks in ([], [EveryEpoch()]):
        net = rp.Network.create([5, 12, 9, 3], activation="relu", output_activation="identity",
                                seed=1)  # fmt: skip
        with pytest.raises(DivergenceError) as error:
            fit(net, X, Y, optimizer=rp.SGD(1e3), batch_size="all", epochs=60, seed=0,
                engine="numba", callbacks=callbacks)  # fmt: skip
        assert np.isfinite(net.get_flat()).all()
        outcomes.append((str(error.value), net.get_flat().tobytes()))
    assert chunks  # the first run was chunked
    assert outcomes[0] == outcomes[1]


def test_history_time_grows_within_a_chunk(chunks) -> None:
    X, Y = data("squared_error", np.float64)
    history = fit(network(COMBOS[0], np.float64), X, Y, optimizer="irprop-",
                  batch_size="all", epochs=9, engine="numba")  # fmt: skip
    assert history.epochs == 9 and history["epoch"] == list(range(1, 10))
    assert history["updates"] == list(range(1, 10))
    assert np.all(np.diff(history["time"]) > 0) and history["time"][0] > 0


def test_the_drawn_orders_are_numpys_shuffles() -> None:
    """The compiled shuffles draw NumPy's numbers and leave the generator where NumPy's
    would (numba's private ``random_interval``: a numba that changes it fails here)."""
    for n in (1, 2, 7, 193, 1000):
        mine, ref = np.random.default_rng(n), np.random.default_rng(n)
        index, expected = np.arange(n), np.arange(n)
        orders = np.empty((5, n), dtype=np.intp)
        batch_chunks.draw_orders(mine, index, orders)
        for row in orders:
            ref.shuffle(expected)
            assert np.array_equal(row, expected)
        assert np.array_equal(index, expected)
        assert mine.bit_generator.state == ref.bit_generator.state
        assert mine.random() == ref.random()


def test_chunk_sizes_aim_at_a_few_milliseconds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first chunk from the guessed cost, the next from the measured one; never more than
    MAX_CHUNK_SAMPLES sample indices."""
    sizes = count_chunks(monkeypatch)
    monkeypatch.setattr(train_epochs, "MAX_CHUNK_SAMPLES", 50 * 7)
    X, Y = data("squared_error", np.float64)  # 50 samples: at most 7 epochs per chunk
    fit(network(COMBOS[0], np.float64), X, Y, optimizer="irprop-", batch_size="all",
        epochs=30, engine="numba")  # fmt: skip
    assert sum(sizes) == 30 and max(sizes) <= 7 and sizes[0] == 7


def test_equal_to_numpy_in_chunks(chunks) -> None:
    """The chunked run against the NumPy reference (the tolerance of the compiled engines)."""
    for dtype in (np.float64, np.float32):
        X, Y = data("squared_error", dtype)
        nets = []
        for engine in ("numba", "numpy"):
            net = network(COMBOS[0], dtype)
            fit(net, X, Y, optimizer="irprop-", batch_size="all", epochs=9, seed=0,
                engine=engine)  # fmt: skip
            nets.append(net.get_flat())
        assert np.max(np.abs(nets[0] - nets[1])) / np.max(np.abs(nets[1])) <= TOL[dtype]


@pytest.mark.parametrize("n", [1, 2, 71])
def test_the_pass_by_pairs_gives_the_bits_of_one_sample_at_a_time(n: int) -> None:
    """The generated pass takes samples two at a time (the last alone when their number is
    odd): the generic pass's bits, every epoch, for several architectures and rules."""
    for sizes, act, out, loss, dtype in ARCHITECTURES:
        X, Y = arch_data(sizes[-1], dtype, n)
        seen = []
        for generated in (True, False):
            net = rp.Network.create(
                sizes, activation=act, output_activation=out, loss=loss, seed=2, dtype=dtype
            )
            run = TrainingRun(net, arch_optimizer("irprop+"), X, Y, len(X), 0.0)
            trainer = FullBatchTrainer(run, generated=generated)
            assert ("gradient" in trainer._batch_ready) == generated  # compiled (conftest)
            thetas = []
            for e in range(4):
                trainer.run_epoch(np.arange(n)[::-1].copy(), classify=e % 2 == 1)
                thetas.append((trainer.theta.tobytes(), trainer.sums.tobytes()))
            seen.append(thetas)
        assert seen[0] == seen[1], (sizes, act, out, loss)
