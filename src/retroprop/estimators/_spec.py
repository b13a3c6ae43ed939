"""What the estimators' modules share: the names they accept, and the estimator as training sees it.

A leaf of the package: :mod:`._base` (the estimator) imports :mod:`._solvers` and
:mod:`._compiled` (its training), and all three import this module, never each other backwards.
The name lists derive from the core registries; only scikit-learn's own vocabulary is written
here (its solver names, and ``"logistic"`` for the core's sigmoid).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from retroprop.core.activations import ACTIVATIONS
from retroprop.core.network import Network
from retroprop.core.optimizers import FULL_BATCH_RULES, Optimizer
from retroprop.train.loop import Callback

Array = NDArray[np.floating]

SKLEARN_NAMES = {"sigmoid": "logistic"}
"""scikit-learn's names for core activations (what ``out_activation_`` reports)."""

HIDDEN_ACTIVATIONS = frozenset(
    {name for name, act in ACTIVATIONS.items() if not act.output_only} | {*SKLEARN_NAMES.values()}
)
"""Hidden-layer activations: the core's (scikit-learn's four plus ``sigmoid``, ``leaky_relu``)
under their names and scikit-learn's ``"logistic"``."""

OUT_ACTIVATIONS = frozenset(ACTIVATIONS) | HIDDEN_ACTIVATIONS
"""Output activations: every core activation (with ``softmax`` and the Poisson ``exp``)."""

STEP_RULES = {
    "sgd": "momentum",
    "adam": "adam_sklearn",
    **{v: v for v in FULL_BATCH_RULES if v != "rprop"},
}
"""Solvers that take gradient steps in the epoch loop (and so offer ``partial_fit``), each with
the name of its core step rule in :data:`~retroprop.core.optimizers.OPTIMIZERS`: scikit-learn's
``"sgd"`` is momentum (plain SGD at momentum 0), its ``"adam"`` the efficient form; the
full-batch rules (Rprop family, FANN's Quickprop and SARPROP) always train on the whole set."""

STEP_SOLVERS = frozenset(STEP_RULES)

WHOLE_RUN_SOLVERS = frozenset({"lbfgs", "genetic"})
"""Solvers that take the whole training problem at once (scipy's L-BFGS-B, the core's GA)."""

SOLVERS = STEP_SOLVERS | WHOLE_RUN_SOLVERS
"""Every ``solver`` the estimators accept."""

FULL_BATCH_SOLVERS = frozenset(STEP_RULES) - {"sgd", "adam"}
"""The step solvers that take one step per epoch from the whole training set's gradient."""

COMPILED_SOLVERS = ("sgd", "adam", "lbfgs", *sorted(FULL_BATCH_SOLVERS))
"""Solvers the compiled engines can run (:mod:`._compiled`): the epochs of 'sgd' and 'adam',
and the whole training set's objective and gradient for L-BFGS and the full-batch rules."""


class MLPState(Protocol):
    """The estimator as :mod:`._solvers` and :mod:`._compiled` use it: parameters, fitted state,
    and the few hooks of :class:`~._base.BaseMLP` (a protocol, so that they need not import it).
    """

    # parameters (scikit-learn's names and meanings)
    solver: str
    alpha: float
    batch_size: int | str
    learning_rate: str
    learning_rate_init: float
    power_t: float
    max_iter: int
    shuffle: bool
    tol: float
    verbose: bool | int
    early_stopping: bool
    validation_fraction: float
    n_iter_no_change: int | float
    max_fun: int
    callbacks: Sequence[Callback | Callable[[int, dict[str, float]], bool | None]] | None
    dropout: float
    engine: str
    # fitted state
    coefs_: list[Array]
    intercepts_: list[Array]
    n_outputs_: int
    n_iter_: int
    t_: int
    loss_: float
    loss_curve_: list[float]
    best_loss_: float | None
    validation_scores_: list[float] | None
    validation_loss_curve_: list[float] | None
    best_validation_score_: float | None
    _best_coefs: list[Array]
    _best_intercepts: list[Array]
    _random_state: np.random.RandomState
    _optimizer: Optimizer
    _optimizer_state: dict[str, Any]
    _no_improvement_count: int
    _partial_visits: int  # samples seen by partial_fit since the last fit (engine="auto")
    _compiled_trainer: tuple[Any, list[Any], Any]  # (key, what it keeps alive, trainer)

    def _network(self) -> Network:
        """A core Network whose weights are views of ``coefs_`` and ``intercepts_``."""
        ...

    def _make_optimizer(self) -> Optimizer:
        """The core step rule of ``solver``."""
        ...

    def _loss_scale(self) -> float:
        """Factor from the core's loss to the reported ``loss_curve_``."""
        ...

    def _validation_targets(self, Y: NDArray[Any]) -> Any:
        """Targets for ``_score_output`` from the 2-D training targets."""
        ...

    def _score_output(self, O: Array, y: Any, sample_weight: Array | None) -> float:
        """Score (accuracy or R²) of network outputs O against the targets y."""
        ...
