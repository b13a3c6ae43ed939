"""L-BFGS: a quasi-Newton method on the whole training set, through SciPy.

Liu & Nocedal (1989), "On the limited memory BFGS method for large scale optimization".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from retroprop.errors import ParameterError
from retroprop.train.solvers.base import EndEpoch, Objective, Problem

Array = NDArray[np.floating]

__all__ = ["LBFGS"]


@dataclass
class LBFGS:
    """Limited-memory BFGS through :func:`scipy.optimize.minimize` (method ``"L-BFGS-B"``).

    A full-batch method: each iteration evaluates J and ∇J on the whole training set; one
    iteration counts as one epoch.

    Attributes:
        max_fun: maximum number of function evaluations (scikit-learn's ``max_fun``).
        tol: stopping tolerance on J and on the projected gradient.
        memory: number of correction pairs kept (scipy's ``maxcor``).
    """

    max_fun: int = 15000
    tol: float = 1e-4
    memory: int = 10
    name: str = "lbfgs"
    needs_objective: ClassVar[bool] = True
    """Only J and ∇J on the whole set: the compiled engine gives them (``fit``'s ``engine``)."""

    def __post_init__(self) -> None:
        if self.max_fun < 1:
            raise ParameterError(f"max_fun must be a positive integer, got {self.max_fun}")
        if self.tol < 0:
            raise ParameterError(f"tol must be >= 0, got {self.tol}")

    def run(self, problem: Problem, end_epoch: EndEpoch) -> None:
        """Minimise J = mean loss + (λ/2) Σ‖W‖² over the flat weights θ (no seed: L-BFGS is
        deterministic); J and ∇J from ``problem.objective`` (the compiled engine's), else
        from NumPy."""
        from scipy.optimize import minimize

        network = problem.network
        objective = problem.objective or numpy_objective(problem)

        iteration = 0

        def callback(intermediate_result: Any) -> None:
            nonlocal iteration
            iteration += 1
            network.set_flat(intermediate_result.x.astype(network.dtype))
            if end_epoch(iteration):
                raise StopIteration

        options = {"maxiter": problem.epochs, "maxfun": self.max_fun, "gtol": self.tol}
        result = minimize(
            objective,
            network.get_flat().astype(np.float64),
            jac=True,
            method="L-BFGS-B",
            callback=callback,
            options={**options, "maxcor": self.memory},
        )
        network.set_flat(result.x.astype(network.dtype))


def numpy_objective(problem: Problem) -> Objective:
    """θ ↦ (J, ∂J/∂θ) by the NumPy reference, ``Network.gradient`` (the network takes θ)."""
    network, X, Y, weight_decay = problem.network, problem.X, problem.Y, problem.weight_decay

    def objective(theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        network.set_flat(theta)
        J, grads = network.gradient(X, Y, weight_decay)
        return J, np.concatenate([g.ravel() for g in grads.flat()]).astype(np.float64)

    return objective
