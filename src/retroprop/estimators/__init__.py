"""scikit-learn estimators over the retroprop core: drop-in ``MLPClassifier``, ``MLPRegressor``.

Change one import and everything keeps working — Pipeline, GridSearchCV, cross_val_score,
clone, pickling — then reach for what scikit-learn does not offer: per-layer activations,
other losses, the Rprop family, online updates, class weights, callbacks.

Also public, for the CLI and other callers: the names the estimators accept,
:data:`HIDDEN_ACTIVATIONS` (``activation``) and :data:`SOLVERS` (``solver``), derived from the
core registries.

May import: core, train, _fast, glassbox (and scikit-learn).
"""

from __future__ import annotations

from retroprop.estimators._classifier import MLPClassifier
from retroprop.estimators._regressor import MLPRegressor
from retroprop.estimators._spec import HIDDEN_ACTIVATIONS, SOLVERS

__all__ = ["HIDDEN_ACTIVATIONS", "SOLVERS", "MLPClassifier", "MLPRegressor"]
