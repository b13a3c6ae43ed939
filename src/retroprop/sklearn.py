"""scikit-learn adapters: :class:`MLPClassifier` and :class:`MLPRegressor` (see
:mod:`retroprop.estimators`). Importing this module imports scikit-learn."""

from __future__ import annotations

from retroprop.estimators import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
