"""Tests for retroprop.core.metrics: accuracy, the right-answer count and the epoch sums."""

from __future__ import annotations

import numpy as np
import pytest

import retroprop as rp
from retroprop.core.losses import LOSSES
from retroprop.core.metrics import (
    accuracy,
    add_sums,
    count_right,
    is_classification,
    logs_from_sums,
)


def test_is_classification_wants_0_1_one_hot_rows_or_one_column() -> None:
    assert is_classification(np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert is_classification(np.array([[0.0], [1.0], [1.0]]))
    assert not is_classification(np.array([[1.0, 1.0], [0.0, 1.0]]))  # two hot
    assert not is_classification(np.array([[0.5], [1.0]]))  # not 0/1
    assert not is_classification(np.array([[0.0, 0.0]]))  # no class


def test_accuracy_on_one_hot_targets_is_argmax() -> None:
    Y = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0]], dtype=float)
    O = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8], [0.2, 0.5, 0.3]])
    # rows 0, 2, 3 right; row 1 picks class 0 for class 1
    assert count_right(Y, O) == 3
    assert accuracy(Y, O) == 0.75


def test_accuracy_on_one_output_is_o_at_least_one_half() -> None:
    Y = np.array([[1.0], [0.0], [1.0], [0.0]])
    O = np.array([[0.5], [0.49], [0.2], [0.51]])
    # 0.5 counts as class 1 (right), 0.49 as 0 (right), 0.2 as 0 (wrong), 0.51 as 1 (wrong)
    assert count_right(Y, O) == 2
    assert accuracy(Y, O) == 0.5
    assert rp.accuracy is accuracy  # the public name


def test_add_sums_against_a_hand_computation() -> None:
    """Squared error, two samples of two outputs:
    E₁ = ½((1 − 0.8)² + (0 − 0.4)²) = ½(0.04 + 0.16) = 0.10
    E₂ = ½((0 − 0.3)² + (1 − 0.6)²) = ½(0.09 + 0.16) = 0.125
    both classified right (argmax 0, then 1)."""
    Y = np.array([[1.0, 0.0], [0.0, 1.0]])
    O = np.array([[0.8, 0.4], [0.3, 0.6]])
    sums = np.zeros(3)
    add_sums(LOSSES["squared_error"], Y, O, True, sums)
    np.testing.assert_allclose(sums, [0.225, 0.225, 2.0], rtol=1e-15)
    add_sums(LOSSES["squared_error"], Y[:1], O[:1], False, sums)  # adds, and no count
    np.testing.assert_allclose(sums, [0.325, 0.325, 2.0], rtol=1e-15)


def test_add_sums_keeps_the_loss_apart_from_the_lectures_mse() -> None:
    """Absolute error: Σ E = |1 − 0.8| + |0 − 0.4| = 0.6, while Σ ½‖y − o‖² = 0.10."""
    sums = np.zeros(3)
    add_sums(LOSSES["absolute_error"], np.array([[1.0, 0.0]]), np.array([[0.8, 0.4]]), False, sums)
    np.testing.assert_allclose(sums, [0.6, 0.1, 0.0], rtol=1e-15)


@pytest.mark.parametrize("classify", [True, False])
def test_logs_from_sums_are_means_with_prefixed_keys(classify: bool) -> None:
    logs = logs_from_sums(np.array([0.3, 0.2, 3.0]), 4, "val_", classify)
    expected = {"val_loss": 0.075, "val_mse": 0.05} | ({"val_accuracy": 0.75} if classify else {})
    assert logs == pytest.approx(expected, rel=1e-15)
    assert logs.keys() == expected.keys()


def test_the_sums_give_the_networks_error_and_accuracy() -> None:
    """The epoch logs of a network equal its error and accuracy measured directly."""
    rng = np.random.default_rng(0)
    net = rp.Network.create([3, 4, 2], output_activation="softmax", seed=0)
    X = rng.normal(size=(20, 3))
    Y = np.eye(2)[rng.integers(0, 2, 20)]
    O = net.predict(X)
    sums = np.zeros(3)
    add_sums(net.loss, Y, O, True, sums)
    logs = logs_from_sums(sums, len(X), "", True)
    assert logs["loss"] == pytest.approx(net.error(X, Y), rel=1e-12)
    assert logs["accuracy"] == accuracy(Y, O)
