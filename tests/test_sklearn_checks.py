"""scikit-learn's own estimator checks, with no list of expected failures.

The first two instances are scikit-learn's MLPs as a drop-in (default settings); the others
use retroprop's additions (per-layer activations, Rprop solvers, absolute error). Those pass
every check. The dropout estimators are checked separately: they pass every check but the two
sample-weight equivalence checks, which no dropout can pass (see DROPOUT_XFAIL).
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


# Dropout draws one mask per row: a row repeated twice gets two independent masks, the same row
# with weight 2 gets one, so the two fits differ (as for any per-sample stochastic training;
# scikit-learn lists the same checks as expected failures for its SGD estimators).
DROPOUT_XFAIL = {
    check: "dropout's per-row masks: a weight of 2 is not a repeated row"
    for check in (
        "check_sample_weight_equivalence_on_dense_data",
        "check_sample_weight_equivalence_on_sparse_data",
    )
}
DROPOUT_ESTIMATORS = [
    MLPClassifier(dropout=0.2, max_iter=100),
    MLPRegressor(dropout=0.2, solver="sgd", max_iter=100),
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(DROPOUT_ESTIMATORS, expected_failed_checks=lambda est: DROPOUT_XFAIL)
def test_sklearn_estimator_checks_with_dropout(estimator, check):
    check(estimator)
