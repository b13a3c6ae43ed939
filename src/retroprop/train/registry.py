"""Every way :func:`~retroprop.train.loop.fit` can train, by name: the step rules of
:mod:`retroprop.core.optimizers` and the whole-run solvers of :mod:`retroprop.train.solvers`.

The core knows step rules only; this is the one lookup that knows both (``rp.get_optimizer``).
"""

from __future__ import annotations

from typing import Any, TypeVar, cast, overload

from retroprop.core import optimizers
from retroprop.core.optimizers import OPTIMIZERS, Optimizer, build
from retroprop.errors import ParameterError
from retroprop.train.solvers import LBFGS, SOLVERS, Genetic, Solver

__all__ = ["TRAINERS", "get_optimizer"]

TRAINERS: dict[str, type] = {**OPTIMIZERS, **SOLVERS}
"""Every name :func:`get_optimizer` and ``fit(optimizer=…)`` accept: step rules, then solvers."""


Method = TypeVar("Method", bound=Optimizer | Solver)


@overload
def get_optimizer(optimizer: str, **kwargs: Any) -> Optimizer | LBFGS | Genetic: ...
@overload
def get_optimizer(optimizer: Method, **kwargs: Any) -> Method: ...
def get_optimizer(optimizer: str | Optimizer | Solver, **kwargs: Any) -> Optimizer | Solver:
    """Build a step rule or a whole-run solver from its name and settings (an object is passed
    through).

    ``"nesterov"`` is momentum with ``nesterov=True``; ``"rprop+"``, ``"rprop-"``,
    ``"irprop+"``, ``"irprop-"``, ``"irprop-fann"`` select the Rprop variant (``"rprop"`` means
    iRprop⁺);
    ``"lbfgs"`` and ``"genetic"`` are the solvers.

    Raises:
        ValueError: unknown name (the message lists the valid ones) or invalid setting.
    """
    if isinstance(optimizer, str):
        name = optimizer.lower()
        if name in SOLVERS:
            solver: Solver = build(SOLVERS[name], name, kwargs)
            return solver
        if name not in OPTIMIZERS:
            valid = ", ".join(TRAINERS)
            raise ParameterError(f"unknown optimizer {optimizer!r}; valid names: {valid}")
    # a step rule's name, or an object (passed through, as the core's lookup does)
    return optimizers.get_optimizer(cast(Optimizer, optimizer), **kwargs)
