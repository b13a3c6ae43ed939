"""The cascade-correlation run of a comparison (``retroprop compare --grow``): how many hidden
neurons the data needs, beside the fixed architectures the solvers train.

:func:`grow` runs :func:`~retroprop.train.cascade.cascade_fit` (FANN's Cascade2, its defaults:
squared error, the outputs' activation the comparison's) on the comparison's training rows,
recording the test rows' error after every neuron; that history, training and test loss
against the number of hidden neurons, is the comparison's answer to "how many hidden
neurons?". The growth stops where ``cascade_fit`` stops (every training output within FANN's
bit-fail limit of its target, or ``max_hidden`` neurons) or at the comparison's wall-time
budget, by the solvers' rule: after t seconds, with the last step d seconds long, when
t + d/2 ≥ budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from retroprop.train.cascade import CascadeStep, cascade_fit

__all__ = ["Growth", "grow"]


@dataclass
class Growth:
    """A cascade-correlation run.

    Attributes:
        network: the grown network's repr.
        steps: one per number of hidden neurons (0, 1, …), the network after its outputs were
            trained: ``logs`` has ``loss`` and ``accuracy`` (classification) of the training
            rows and ``val_loss``, ``val_accuracy`` of the test rows (when there are some).
        seconds: wall time of the run.
        budget_reached: whether the budget ended the growth (not the stop rule or
            ``max_hidden``).
    """

    network: str
    steps: list[CascadeStep] = field(default_factory=list)
    seconds: float = 0.0
    budget_reached: bool = False

    @property
    def n_hidden(self) -> int:
        """Neurons grown."""
        return self.steps[-1].n_hidden if self.steps else 0


def grow(
    data: tuple[Any, Any, Any, Any],
    *,
    budget_seconds: float,
    max_hidden: int,
    seed: int,
    output_activation: str,
    clock: Callable[[], float] = time.perf_counter,
) -> Growth:
    """Grow a cascade network on ``data`` = (X, Y, X_test, Y_test) (the test pair may be
    None; shapes as :func:`~retroprop.apps.compare.compare` takes them) within the budget.
    """
    X, Y, X_test, Y_test = data
    start = clock()
    budget_reached = False
    last = start

    def on_step(step: CascadeStep) -> bool:
        nonlocal budget_reached, last
        now = clock()
        budget_reached = (now - start) + (now - last) / 2 >= budget_seconds
        last = now
        return budget_reached

    result = cascade_fit(
        X, Y, max_hidden=max_hidden, output_activation=output_activation,
        validation=None if X_test is None else (X_test, Y_test), seed=seed, callback=on_step,
    )  # fmt: skip
    final = result.history[-1]
    by_budget = budget_reached and final.n_hidden < max_hidden and final.bit_fail > 0
    return Growth(repr(result.network), result.history, clock() - start, by_budget)
