"""Tests for retroprop.apps.compare and retroprop.apps.compare_view: every solver runs from the
same θ₀
under the same budget, the update modes mean what they say, and the table and plot are made."""

from __future__ import annotations

import math

import numpy as np
import pytest

import retroprop as rp
from retroprop.apps.compare import MODES, SOLVERS, ComparisonResult, compare
from retroprop.apps.compare_view import TABLE_COLUMNS, format_table, plot_comparison, table_rows
from retroprop.errors import ParameterError

BUDGET = 0.15


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
    )


def test_every_solver_and_mode_runs(result) -> None:
    assert list(result.solvers) == list(SOLVERS)
    assert list(result.modes) == list(MODES)
    for r in [*result.solvers.values(), *result.modes.values()]:
        assert r.error is None
        assert r.epochs >= 1 and r.history.epochs == r.epochs
        assert r.updates == r.history["updates"][-1] >= r.epochs
        assert 0 < r.seconds < BUDGET + 2.0  # one epoch past the budget at most, plus set-up
        assert r.train_accuracy is not None and r.test_accuracy == r.train_accuracy
        assert r.test_loss == pytest.approx(r.train_loss, abs=1e-12)
        assert r.history["loss"][-1] == pytest.approx(r.train_loss, abs=1e-12)


def test_each_run_stops_at_the_first_epoch_past_the_budget(result) -> None:
    for r in result.solvers.values():
        times = r.history["time"]
        assert times[-1] >= BUDGET or r.optimizer == "lbfgs"  # L-BFGS may converge first
        assert all(t < BUDGET for t in times[:-1])


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


def test_regression_targets_have_no_accuracy() -> None:
    X = np.linspace(0, 1, 8)[:, None]
    r = compare(X, 0.5 * X[:, 0], hidden=(2,), solvers=("adam",), budget_seconds=0.02)
    assert r.solvers["adam"].train_accuracy is None and r.solvers["adam"].test_loss is None
    assert table_rows(r)[0][TABLE_COLUMNS.index("train acc")] == "—"


def test_settings_override_the_defaults() -> None:
    data = rp.datasets.xor()
    r = compare(
        data.X,
        data.y,
        hidden=(2,),
        solvers=("sgd", "genetic"),
        budget_seconds=0.02,
        settings={"sgd": {"learning_rate": 0.05, "batch_size": 2}, "genetic": {"batch_size": 2}},
    )
    assert (r.solvers["sgd"].learning_rate, r.solvers["sgd"].batch_size) == (0.05, 2)
    assert r.solvers["genetic"].batch_size == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"solvers": ("sgd", "quickprop")}, "quickprop"),
        ({"modes": ("online", "daily")}, "modes"),
        ({"budget_seconds": 0}, "budget_seconds"),
        ({"budget_seconds": math.nan}, "budget_seconds"),
        ({"X_test": [[0.0, 1.0]]}, "Y_test"),
        ({"X_test": [[0.0, 1.0, 2.0]], "Y_test": [1.0]}, "X"),
        ({"settings": {"genetic": {"population_size": 1}}}, "population_size"),
        ({"settings": {"sgd": {"learning_rate": -1.0}}}, "learning_rate"),
    ],
)
def test_bad_arguments_fail_before_any_training(kwargs, match) -> None:
    data = rp.datasets.xor()
    with pytest.raises(ValueError, match=match):
        compare(data.X, data.y, **{"budget_seconds": 100.0, **kwargs})
