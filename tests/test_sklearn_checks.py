"""scikit-learn's own estimator checks, with no list of expected failures.

The first two instances are scikit-learn's MLPs as a drop-in (default settings); the other two
use retroprop's additions (per-layer activations, Rprop solvers, absolute error).
"""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from retroprop import MLPClassifier, MLPRegressor

# max_iter=100 keeps the checks quick, as scikit-learn does for its own MLP; training that
# stops at max_iter warns with ConvergenceWarning, which the checks allow.
ESTIMATORS = [
    MLPClassifier(max_iter=100),
    MLPRegressor(max_iter=100),
    MLPClassifier((10, 5), activation=["tanh", "relu"], solver="irprop+", max_iter=100),
    MLPRegressor(
        "absolute_error", (10, 5), activation=["tanh", "relu"], solver="rprop+", max_iter=100
    ),
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
