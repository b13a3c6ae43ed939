"""What a training run measures: accuracy and the sums behind every epoch's logs.

An epoch's logs are means over samples (``loss``, the lecture's ``mse`` = mean of
E = ½ Σₖ (yₖ − oₖ)², and ``accuracy`` for classification). Every engine — the NumPy loop, the
numba kernels, the BLAS trainer — adds the same three sums per sample with :func:`add_sums` (or
its compiled twin) and turns them into logs with :func:`logs_from_sums`, so the numbers mean the
same thing whichever engine trained.

Arrays: targets Y and outputs O have shape (n_samples, n_outputs).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from retroprop.core.losses import Loss

Array = NDArray[np.floating]
Logs = dict[str, float]
"""One epoch's measurements by name (``loss``, ``mse``, ``accuracy``, ``val_loss``, …)."""

__all__ = ["Logs", "accuracy", "add_sums", "count_right", "is_classification", "logs_from_sums"]


def is_classification(Y: Array) -> bool:
    """True for 0/1 targets that are one-hot rows or a single column (n_samples, n_outputs)."""
    if not np.all((Y == 0) | (Y == 1)):
        return False
    return bool(Y.shape[1] == 1 or np.all(Y.sum(axis=1) == 1))


def accuracy(Y: Array, O: Array) -> float:
    """Fraction of samples classified right: argmax for one-hot targets, o ≥ 0.5 for one column.

    Args:
        Y: 0/1 targets, (n_samples, n_outputs); O: network outputs, same shape.
    """
    return count_right(Y, O) / len(Y)


def count_right(Y: Array, O: Array) -> int:
    """How many rows are classified right (the rule of :func:`accuracy`)."""
    if Y.shape[1] == 1:
        return int(np.sum((O[:, 0] >= 0.5) == (Y[:, 0] == 1)))
    return int(np.sum(np.argmax(O, axis=1) == np.argmax(Y, axis=1)))


def add_sums(loss: Loss, Y: Array, O: Array, classify: bool, sums: NDArray[np.float64]) -> None:
    """sums += [Σ E, Σ ½‖y − o‖², number right] of these samples: the material of the epoch logs.

    Args:
        loss: the network's loss (E per sample, as ``loss.value``).
        Y: targets, (m, n_outputs); O: network outputs, same shape.
        classify: count the samples classified right (as :func:`accuracy`), else leave sums[2].
        sums: (3,) float64, added to in place.
    """
    sums[0] += float(np.sum(loss.value(Y, O)))
    sums[1] += float(np.sum(0.5 * np.sum((Y - O) ** 2, axis=1)))
    if classify:
        sums[2] += count_right(Y, O)


def logs_from_sums(sums: NDArray[np.float64], n: int, prefix: str, classify: bool) -> Logs:
    """``loss``, ``mse`` (and ``accuracy``) from the sums of :func:`add_sums` over n samples,
    each key prefixed (``""``, ``"val_"``)."""
    logs = {f"{prefix}loss": float(sums[0] / n), f"{prefix}mse": float(sums[1] / n)}
    if classify:
        logs[f"{prefix}accuracy"] = float(sums[2] / n)
    return logs
