"""Whole-run solvers: methods that take the whole training problem at once instead of one step
per batch (L-BFGS, the genetic algorithm), behind the small :class:`~.base.Solver` protocol.

:func:`retroprop.train.loop.fit` hands a solver the network and the data; the solver calls back
after every iteration (or generation) so that the loop logs it, runs the callbacks and checks
for divergence as it does after an epoch of a step rule.
"""

from __future__ import annotations

from retroprop.train.solvers.base import Problem, Solver
from retroprop.train.solvers.genetic import Genetic
from retroprop.train.solvers.lbfgs import LBFGS

SOLVERS: dict[str, type[Solver]] = {"lbfgs": LBFGS, "genetic": Genetic}
"""The whole-run solvers by name."""

__all__ = ["LBFGS", "SOLVERS", "Genetic", "Problem", "Solver"]
