"""Tests for retroprop.apps.compare and retroprop.apps.compare_view: every solver runs from the
same θ₀ under the same budget, the update modes mean what they say, and the table and plot are
made.

No test depends on the machine's speed: the runs are timed by a simulated clock
(:class:`TickingClock`), so how many epochs fit in a budget is known exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, r2_score

import retroprop as rp
from retroprop._fast.fullbatch import FullBatchTrainer
from retroprop._fast.trainer import KernelTrainer
from retroprop.apps.compare import MODES, SOLVERS, ComparisonResult, compare
from retroprop.apps.compare_growth import grow
from retroprop.apps.compare_view import (
    REGRESSION_COLUMNS,
    TABLE_COLUMNS,
    _legend_scores,
    format_growth,
    format_table,
    growth_note,
    growth_rows,
    plot_comparison,
    table_columns,
    table_rows,
)
from retroprop.errors import ParameterError

BUDGET = 1.0
TICK = 1 / 64  # a binary fraction: the simulated times add up exactly


class TickingClock:
    """A simulated clock: every reading advances it by ``tick`` seconds. ``compare`` reads it
    once when a run starts, once per epoch end and once when the run ends, so with a budget
    of B every run does exactly B / tick epochs. ``now`` can also be moved by hand."""

    def __init__(self, tick: float = TICK) -> None:
        self.now, self.tick = 0.0, tick

    def __call__(self) -> float:
        t = self.now
        self.now += self.tick
        return t


@pytest.fixture(scope="module")
def result() -> ComparisonResult:
    """XOR with a 2-3-1 network; the test set is the training set (4 patterns are all there is)."""
    data = rp.datasets.xor()
    return compare(
        data.X,
        data.y,
        hidden=(3,),
        budget_seconds=BUDGET,
        X_test=data.X,
        Y_test=data.y,
        target_loss=0.1,
        seed=2,
        modes=MODES,
        minibatch_size=3,
        clock=TickingClock(),
    )


def test_every_solver_and_mode_runs(result) -> None:
    assert list(result.solvers) == list(SOLVERS)
    assert list(result.modes) == list(MODES)
    for r in [*result.solvers.values(), *result.modes.values()]:
        assert r.error is None
        assert r.epochs >= 1 and r.history.epochs == r.epochs
        assert r.updates == r.history["updates"][-1] >= r.epochs
        assert r.history["time"][-1] < r.seconds <= BUDGET + 2 * TICK  # the real time used
        assert r.train_accuracy is not None and r.test_accuracy == r.train_accuracy
        assert r.test_loss == pytest.approx(r.train_loss, abs=1e-12)
        assert r.history["loss"][-1] == pytest.approx(r.train_loss, abs=1e-12)


def _stopped_at_the_epoch_end_nearest_the_budget(times: list[float], budget: float) -> bool:
    """t + d/2 ≥ budget at the last epoch end (d = that epoch's length), and at no earlier one."""
    ends = np.array(times)
    half = np.diff(ends, prepend=0.0) / 2
    return bool(ends[-1] + half[-1] >= budget and np.all(ends[:-1] + half[:-1] < budget))


def test_each_run_stops_at_the_epoch_end_nearest_the_budget(result) -> None:
    for r in [*result.solvers.values(), *result.modes.values()]:
        if r.optimizer == "lbfgs" and r.history["time"][-1] < BUDGET - TICK:
            continue  # L-BFGS may converge first
        assert _stopped_at_the_epoch_end_nearest_the_budget(r.history["time"], BUDGET), r.label
        assert r.epochs == BUDGET / TICK  # one clock reading per epoch: 64 epochs, all of them


@pytest.mark.parametrize(
    ("tick", "epochs"),
    [
        (0.25, 4),  # ends at 1.0: on time
        (0.625, 2),  # ends at 1.25 rather than 0.625: 0.25 late is nearer than 0.375 early
        (0.75, 1),  # ends at 0.75: a second epoch would end at 1.5, half an epoch late
        (3.0, 1),  # one epoch longer than the whole budget: the only overrun by more
    ],
)
def test_a_long_epoch_is_not_started_when_it_would_end_far_past_the_budget(
    tick: float, epochs: int
) -> None:
    data = rp.datasets.xor()
    r = compare(
        data.X, data.y, hidden=(2,), solvers=("rprop",), budget_seconds=1.0,
        clock=TickingClock(tick),
    ).solvers["rprop"]  # fmt: skip
    assert r.epochs == epochs
    assert r.history["time"] == [tick * e for e in range(1, epochs + 1)]
    assert r.seconds == tick * (epochs + 1)  # the reading after the run: the real time used
    assert abs(r.history["time"][-1] - 1.0) <= tick / 2 or epochs == 1


def test_compiling_is_not_charged_to_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """A simulated compile that takes 1000 s at the first use of the compiled kernels for an
    architecture (network, optimizer, batch size), as numba compiles on first call, happens
    in the warm-up: every run still gets all its epochs."""
    data = rp.datasets.xor()
    runs: dict[str, Any] = {
        "hidden": (3,), "solvers": ("sgd", "momentum", "adam"), "budget_seconds": BUDGET,
        "modes": ("online", "batch"), "mode_solver": "adam", "seed": 1,
    }  # fmt: skip
    free = compare(data.X, data.y, **runs, clock=TickingClock())
    clock, compiled = TickingClock(), set()

    def compiles_on_first_use(method: Callable[..., Any]) -> Callable[..., Any]:
        def first_call_compiles(self: KernelTrainer, *args: Any, **kwargs: Any) -> Any:
            key = (method.__name__, tuple(self.network.sizes), self.opt, self.k)
            if key not in compiled:
                compiled.add(key)
                clock.now += 1000.0
            return method(self, *args, **kwargs)

        return first_call_compiles

    for trainer in (KernelTrainer, FullBatchTrainer):  # mini-batches and online; full batch
        for name in ("run_epoch", "epoch_logs"):
            monkeypatch.setattr(trainer, name, compiles_on_first_use(trainer.__dict__[name]))
    slow = compare(data.X, data.y, **runs, clock=clock)
    # sgd, momentum, adam (k = 4), adam online (k = 1), adam batch (k = 4 again): 4 kernels
    assert {key[2:] for key in compiled} == {(0, 1), (1, 1), (3, 4), (3, 1)}
    assert clock.now >= 1000.0 * len(compiled)
    for part in ("solvers", "modes"):
        for label, r in getattr(slow, part).items():
            r0 = getattr(free, part)[label]
            assert r.epochs == r0.epochs == BUDGET / TICK, label
            assert r.history["time"] == r0.history["time"] and r.seconds == r0.seconds
            np.testing.assert_array_equal(r.history["loss"], r0.history["loss"])


def test_all_solvers_start_from_the_same_weights(result) -> None:
    data = rp.datasets.xor()
    net0 = rp.Network.create([2, 3, 1], seed=2)
    np.testing.assert_array_equal(result.initial_weights, net0.get_flat())
    starts = {r.start_loss for r in [*result.solvers.values(), *result.modes.values()]}
    assert starts == {net0.error(data.X, data.y)} == {result.start_loss}


def test_modes_are_batch_sizes_one_k_and_all(result) -> None:
    online, minibatch, batch = (result.modes[m] for m in MODES)
    assert (online.batch_size, minibatch.batch_size, batch.batch_size) == (1, 3, "all")
    assert {online.optimizer, minibatch.optimizer, batch.optimizer} == {"sgd"}
    # updates per epoch: n = 4 samples → 4 online, ⌈4 / 3⌉ = 2 mini-batches, 1 full batch
    assert online.updates == 4 * online.epochs
    assert minibatch.updates == 2 * minibatch.epochs
    assert batch.updates == batch.epochs


def test_time_to_target_is_the_first_time_the_loss_got_there(result) -> None:
    for r in result.solvers.values():
        h = r.history
        reached = [t for loss, t in zip(h["loss"], h["time"], strict=True) if loss <= 0.1]
        assert r.time_to_target == (reached[0] if reached else None)
        assert r.time_to_accuracy is None  # no target accuracy was asked for


def test_table_rows_are_data_and_the_text_table_aligns(result) -> None:
    assert result.task == "classification" and table_columns(result) == TABLE_COLUMNS
    rows = table_rows(result)
    assert [row[0] for row in rows] == list(SOLVERS)
    assert all(len(row) == len(TABLE_COLUMNS) for row in rows)
    assert rows[SOLVERS.index("genetic")][2] == "—"  # no learning rate for the GA
    text = format_table(result, "modes")
    lines = text.splitlines()
    assert lines[0].startswith("solver") and len(lines) == 2 + len(MODES)
    assert len({len(line) for line in lines[:2]}) == 1
    with pytest.raises(ParameterError, match="'solvers' or 'modes'"):
        table_rows(result, "solver")


def test_plot_is_one_png(result, tmp_path) -> None:
    path = plot_comparison(result, tmp_path / "plots" / "compare.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in path.parent.iterdir()] == ["compare.png"]  # no temporary left


def test_regression_runs_report_r2_and_mae_in_the_target_units() -> None:
    """The same runs (a simulated clock makes them identical) measured on the standardised
    target and in its units (y = 3 + 100 x): R² is the same, the MAE 100 times larger."""
    X = np.linspace(0, 1, 12)[:, None]
    y = 3.0 + 100.0 * X[:, 0]
    mean, scale = y.mean(), y.std()
    Y = (y - mean) / scale
    settings: dict[str, Any] = {
        "hidden": (2,), "solvers": ("adam", "lbfgs"), "budget_seconds": 0.25,
        "X_test": X[::3], "Y_test": Y[::3], "output_activation": "identity",
    }  # fmt: skip
    units = compare(
        X, Y, **settings, decode_target=lambda O: O * scale + mean, clock=TickingClock()
    )
    standard = compare(X, Y, **settings, clock=TickingClock())
    assert units.task == "regression" and table_columns(units) == REGRESSION_COLUMNS
    for name, r in units.solvers.items():
        s = standard.solvers[name]
        assert r.train_accuracy is None and r.test_accuracy is None
        assert r.train_loss == s.train_loss  # the same run
        for r2, mae, r2_s, mae_s in [
            (r.train_r2, r.train_mae, s.train_r2, s.train_mae),
            (r.test_r2, r.test_mae, s.test_r2, s.test_mae),
        ]:
            assert r2 is not None and mae is not None and mae_s is not None
            assert r2 == pytest.approx(r2_s, abs=1e-12)
            assert mae == pytest.approx(scale * mae_s, rel=1e-12)
    row = table_rows(units)[0]
    cells = dict(zip(REGRESSION_COLUMNS, row, strict=True))
    assert cells["train R²"] == format(units.solvers["adam"].train_r2, ".3f")
    assert cells["test MAE"] == format(units.solvers["adam"].test_mae, ".4g")
    assert "—" not in [cells[c] for c in ("train R²", "train MAE", "test R²", "test MAE")]
    header = format_table(units).splitlines()[0]
    assert "train R²" in header and "test MAE" in header and "acc" not in header
    assert _legend_scores(units.solvers["adam"]).startswith(" (test R² ")


def test_regression_scores_are_scikit_learns(monkeypatch: pytest.MonkeyPatch) -> None:
    """R² and MAE are sklearn.metrics' on the decoded targets and outputs."""
    seen: list[tuple[Any, Any]] = []

    def decode(O: Any) -> Any:
        seen.append(O)
        return 10.0 * O[:, 0] + 1.0

    X = np.linspace(0, 1, 8)[:, None]
    r = compare(
        X, X[:, 0] - 0.5, hidden=(2,), solvers=("adam",), budget_seconds=0.25,
        output_activation="identity", decode_target=decode, clock=TickingClock(),
    ).solvers["adam"]  # fmt: skip
    y, o = (10.0 * v[:, 0] + 1.0 for v in seen[-2:])
    assert r.train_r2 == r2_score(y, o) and r.train_mae == mean_absolute_error(y, o)
    assert r.test_r2 is None and r.test_mae is None  # no test set


def test_classification_runs_have_no_regression_scores(result) -> None:
    for r in result.solvers.values():
        assert (r.train_r2, r.train_mae, r.test_r2, r.test_mae) == (None,) * 4
        assert _legend_scores(r) == ""


def test_settings_override_the_defaults() -> None:
    data = rp.datasets.xor()
    r = compare(
        data.X,
        data.y,
        hidden=(2,),
        solvers=("sgd", "genetic"),
        budget_seconds=0.1,
        clock=TickingClock(),
        settings={"sgd": {"learning_rate": 0.05, "batch_size": 2}, "genetic": {"batch_size": 2}},
    )
    assert (r.solvers["sgd"].learning_rate, r.solvers["sgd"].batch_size) == (0.05, 2)
    assert r.solvers["genetic"].batch_size == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"solvers": ("sgd", "delta_bar_delta")}, "delta_bar_delta"),
        ({"modes": ("online", "daily")}, "modes"),
        ({"budget_seconds": 0}, "budget_seconds"),
        ({"budget_seconds": math.nan}, "budget_seconds"),
        ({"X_test": [[0.0, 1.0]]}, "Y_test"),
        ({"X_test": [[0.0, 1.0, 2.0]], "Y_test": [1.0]}, "X"),
        ({"settings": {"genetic": {"population_size": 1}}}, "population_size"),
        ({"settings": {"sgd": {"learning_rate": -1.0}}}, "learning_rate"),
        ({"settings": {"rprop": {"engine": "numba", "batch_size": 8}}}, "on mini-batches"),
        ({"settings": {"genetic": {"engine": "warp"}}}, "engine must be one of"),
        ({"settings": {"genetic": {"engine": "numba"}}}, "engine='numba' does not support"),
    ],
)
def test_bad_arguments_fail_before_any_training(kwargs, match) -> None:
    data = rp.datasets.xor()
    with pytest.raises(ValueError, match=match):
        compare(data.X, data.y, **{"budget_seconds": 100.0, **kwargs})


# -- the cascade-correlation run (grow=True) ---------------------------------------------------
def fann_arrays(name: str) -> tuple[np.ndarray, np.ndarray]:
    table = rp.read_fann(Path(__file__).parent / "data" / "fann" / name)
    X = np.column_stack([c.values for c in table.columns if c.name.startswith("x")])
    return X, np.column_stack([table.column(t).values for t in table.targets])


def test_growth_stops_at_the_step_end_nearest_the_budget() -> None:
    """A clock ticking 1 s per reading, budget 3.2 s: read at the start (0), then after each
    step: 1 + (1 − 0)/2 = 1.5, 2 + 0.5 = 2.5, 3 + 0.5 = 3.5 ≥ 3.2, so the growth stops after
    the third step (0, 1 and 2 neurons), the budget the reason (two-spirals needs ~20)."""
    X, Y = fann_arrays("two-spiral.train")
    growth = grow((X, Y, None, None), budget_seconds=3.2, max_hidden=30, seed=0,
                  output_activation="sigmoid", clock=TickingClock(1.0))  # fmt: skip
    assert [step.n_hidden for step in growth.steps] == [0, 1, 2]
    assert growth.budget_reached and growth.n_hidden == 2
    assert growth.seconds == 4.0  # and one last reading
    assert growth.network.startswith("CascadeNetwork(2 → 2 cascaded")


def test_compare_grows_a_network_beside_the_solvers() -> None:
    """grow=True: one row per number of neurons, the test rows' error recorded at each; parity-8
    ends at one neuron with every training and test row right (the stop rule, not the budget)."""
    X, Y = fann_arrays("parity8.train")
    Xt, Yt = fann_arrays("parity8.test")
    got = compare(X, Y, hidden=(4,), solvers=("rprop",), budget_seconds=BUDGET, X_test=Xt,
                  Y_test=Yt, grow=True, clock=TickingClock(), seed=1)  # fmt: skip
    assert got.growth is not None and not got.growth.budget_reached
    rows = growth_rows(got)
    assert [row[0] for row in rows] == ["0", "1"] and rows[1][1] in ("sin", "cos")
    assert rows[1][3] == "1.000" and rows[1][5] == "1.000"  # train acc, test acc
    assert float(rows[1][4]) < float(rows[0][4])  # the test loss fell with the neuron
    assert format_growth(got, "es").splitlines()[0].split()[:2] == ["ocultas", "instalada"]
    assert "1 neurona(s)" in growth_note(got, "es")
    assert growth_rows(compare(X, Y, hidden=(4,), solvers=("rprop",), budget_seconds=BUDGET,
                               clock=TickingClock())) == []  # fmt: skip
