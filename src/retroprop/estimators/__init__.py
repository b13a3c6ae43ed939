"""scikit-learn estimators over the retroprop core: drop-in ``MLPClassifier``, ``MLPRegressor``.

Change one import and everything keeps working — Pipeline, GridSearchCV, cross_val_score,
clone, pickling — then reach for what scikit-learn does not offer: per-layer activations,
other losses, the Rprop family, online updates, class weights, callbacks.
"""

from __future__ import annotations

from retroprop.estimators._base import HIDDEN_ACTIVATIONS
from retroprop.estimators._base import _solver_names as solver_names
from retroprop.estimators._classifier import MLPClassifier
from retroprop.estimators._regressor import MLPRegressor

__all__ = ["HIDDEN_ACTIVATIONS", "MLPClassifier", "MLPRegressor", "solver_names"]
