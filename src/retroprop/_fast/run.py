"""What every compiled trainer is built from: one training run's network, optimizer, data and
settings, gathered once by :func:`~.engine.select_engine` (or the estimators) and passed whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from retroprop.core.network import Network

Array = NDArray[np.floating]
Order = NDArray[np.intp]
"""A sample order: the indices of one epoch's samples, in the order they are visited."""
Tally = NDArray[np.float64]
"""(3,) sums an epoch adds to: [Σ E, Σ ½‖y − o‖², number right]."""

__all__ = ["Order", "Tally", "TrainingRun"]


@dataclass
class TrainingRun:
    """One run of a compiled engine.

    Attributes:
        network: trained in place.
        optimizer: the step rule (:class:`~retroprop.core.optimizers.SGD`, ``Momentum`` or
            ``Adam``); its settings fill the kernels' scalar slots.
        X: training inputs (n, n₀), made C-contiguous in the network's dtype (no copy when
            they already are, as :func:`retroprop.train.loop.fit` passes them).
        Y: training targets (n, n_L), likewise.
        batch_size: k, samples per update (the last batch of an epoch may be smaller).
        weight_decay: λ of the L2 penalty (λ/2) Σ‖W‖².
        given: the X and Y as given (before they were made contiguous), so that a trainer can
            recognise its training set when asked for the logs of the arrays the caller holds.
    """

    network: Network
    optimizer: Any
    X: Array
    Y: Array
    batch_size: int
    weight_decay: float = 0.0

    given: tuple[Any, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.given = (self.X, self.Y)
        self.X = np.ascontiguousarray(self.X, dtype=self.network.dtype)
        self.Y = np.ascontiguousarray(self.Y, dtype=self.network.dtype)
