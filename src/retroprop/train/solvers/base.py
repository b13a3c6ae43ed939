"""The protocol every whole-run solver implements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from retroprop.core.network import Network

Array = NDArray[np.floating]
EndEpoch = Callable[[int], bool]
"""Called by a solver after iteration (epoch) e = 1, 2, … with its current weights in the
network; returns True to stop (the loop's logging, callbacks and divergence check)."""

Objective = Callable[[NDArray[np.float64]], tuple[float, NDArray[np.float64]]]
"""θ ↦ (J, ∂J/∂θ), float64 in and out."""

__all__ = ["EndEpoch", "Objective", "Problem", "Solver"]


@dataclass(frozen=True)
class Problem:
    """A training run as a solver receives it (the data already checked by the loop).

    Attributes:
        network: trained in place; its weights are the starting point.
        X: inputs, (n, n_inputs); Y: targets, (n, n_outputs), in the network's dtype.
        epochs: at most this many iterations (generations for the GA).
        weight_decay: λ of the L2 term (λ/2) Σ‖W‖² in J.
        seed: the same seed gives the same result bit for bit.
        objective: θ ↦ (J, ∂J/∂θ) on the whole training set (θ as ``Network.get_flat``,
            float64) on the compiled engine, for the solvers that use it (L-BFGS); None: the
            NumPy reference, ``Network.gradient``.
    """

    network: Network
    X: Array
    Y: Array
    epochs: int
    weight_decay: float = 0.0
    seed: int | None = None
    objective: Objective | None = None


@runtime_checkable
class Solver(Protocol):
    """A method that trains the whole run itself (L-BFGS, the genetic algorithm).

    Solvers ignore ``batch_size``; their runs cannot be resumed from a train state and their
    training error is measured with each iteration's final weights.
    """

    name: str

    def run(self, problem: Problem, end_epoch: EndEpoch) -> None:
        """Train ``problem.network`` in place for at most ``problem.epochs`` iterations,
        calling ``end_epoch`` after each one."""
        ...
