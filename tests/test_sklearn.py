"""Tests for retroprop's scikit-learn estimators (retroprop.estimators).

The estimators follow scikit-learn's MLP draw for draw (same initial weights, sample order and
validation split for the same random_state), so many tests compare with scikit-learn's own
MLPClassifier/MLPRegressor run on the spot; the others check the core underneath (predictions
are the core Network's forward pass, the loss is the core's loss) and retroprop's additions.
scikit-learn's estimator checks are in test_sklearn_checks.py.
"""

from __future__ import annotations

import doctest
import inspect
import pickle
import subprocess
import sys
import warnings
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from sklearn import neural_network as skl
from sklearn.base import clone
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    make_classification,
    make_friedman1,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import retroprop as rp
from retroprop import MLPClassifier, MLPRegressor
from retroprop.core.optimizers import SGD
from retroprop.estimators import _classifier, _regressor
from retroprop.estimators._solvers import objective
from retroprop.train.loop import EarlyStopping

quiet = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def iris() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def regression(n_targets: int = 1) -> tuple[np.ndarray, np.ndarray]:
    X, y = make_regression(n_samples=60, n_features=4, n_targets=n_targets, random_state=0)
    return X, y / np.std(y, axis=0)


# -- the package ---------------------------------------------------------------------------
def test_import_retroprop_does_not_import_sklearn() -> None:
    code = (
        "import sys, retroprop\n"
        "assert 'sklearn' not in sys.modules, 'import retroprop imported scikit-learn'\n"
        "from retroprop import MLPClassifier, MLPRegressor\n"
        "assert 'sklearn' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_same_classes_from_every_import_path() -> None:
    from retroprop import sklearn as adapters

    assert (
        (adapters.MLPClassifier, adapters.MLPRegressor)
        == (rp.MLPClassifier, rp.MLPRegressor)
        == (MLPClassifier, MLPRegressor)
    )


@pytest.mark.parametrize("module", [_classifier, _regressor])
def test_docstring_examples(module: object) -> None:
    assert doctest.testmod(module).failed == 0  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "ours, theirs", [(MLPClassifier, skl.MLPClassifier), (MLPRegressor, skl.MLPRegressor)]
)
def test_same_parameters_and_defaults_as_sklearn(ours: type, theirs: type) -> None:
    extensions = {"loss", "out_activation", "class_weight", "callbacks", "dropout", "engine"}
    mine, sk = ours().get_params(), theirs().get_params()
    assert set(sk) <= set(mine) and set(mine) - set(sk) <= extensions
    assert {k: mine[k] for k in sk} == sk
    # the positional parameters are scikit-learn's too (MLPRegressor's first one is loss)
    assert positional(ours) == positional(theirs)


def positional(cls: type) -> list[str]:
    params = inspect.signature(cls).parameters.values()
    return [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]


# -- the worked example: scikit-learn's test_fit, with its arithmetic -----------------------
def test_hand_worked_step() -> None:
    """One SGD step of a 3-2-1 logistic network with L2, scikit-learn's own worked example."""
    X, y = np.array([[0.6, 0.8, 0.7]]), np.array([0])
    mlp = MLPClassifier(
        solver="sgd", learning_rate_init=0.1, alpha=0.1, activation="logistic",
        random_state=1, max_iter=1, hidden_layer_sizes=2, momentum=0,
    )  # fmt: skip
    mlp.partial_fit(X, y, classes=[0, 1])  # builds the network, then we set its weights
    mlp.coefs_[0][...] = [[0.1, 0.2], [0.3, 0.1], [0.5, 0]]
    mlp.coefs_[1][...] = [[0.1], [0.2]]
    mlp.intercepts_[0][...] = [0.1, 0.1]
    mlp.intercepts_[1][...] = [1.0]
    mlp.partial_fit(X, y)
    # h = σ(x W₁ + b₁) = σ([0.6·0.1 + 0.8·0.3 + 0.7·0.5 + 0.1, 0.6·0.2 + 0.8·0.1 + 0.1])
    #   = [0.679179, 0.574443];  o = σ(h W₂ + b₂) = σ(0.0679 + 0.1149 + 1) = 0.765433
    # output δ (scikit-learn's sign, ∂E/∂z) = o − y = 0.765433
    # hidden δ = h(1 − h) · δ_out · W₂ = [0.016680, 0.037430]
    # ∂J/∂W₁ = xᵀ δ + α W₁, ∂J/∂W₂ = hᵀ δ_out + α W₂ (one sample: no division)
    # W ← W − 0.1 ∂J/∂W,  b ← b − 0.1 δ
    assert_allclose(
        mlp.coefs_[0],
        [[0.098, 0.195756], [0.2956664, 0.096008], [0.4939998, -0.002244]],
        atol=1e-3,
    )
    assert_allclose(mlp.coefs_[1], [[0.04706], [0.154089]], atol=1e-3)
    assert_allclose(mlp.intercepts_[0], [0.098333, 0.09626], atol=1e-3)
    assert_allclose(mlp.intercepts_[1], [0.9235], atol=1e-3)
    # h = [0.677, 0.572], o = σ(0.677·0.04706 + 0.572·0.154089 + 0.9235) = σ(1.043) = 0.739
    assert mlp.predict_proba(X)[0, 1] == pytest.approx(0.739, abs=1e-3)


# -- the core underneath -------------------------------------------------------------------
@quiet
def test_attribute_shapes_and_orientation() -> None:
    X, y = iris()
    clf = MLPClassifier(hidden_layer_sizes=(7, 5), max_iter=5, random_state=0).fit(X, y)
    assert [c.shape for c in clf.coefs_] == [(4, 7), (7, 5), (5, 3)]
    assert [b.shape for b in clf.intercepts_] == [(7,), (5,), (3,)]
    assert (clf.n_layers_, clf.n_outputs_, clf.n_features_in_) == (4, 3, 4)
    assert clf.out_activation_ == "softmax" and list(clf.classes_) == [0, 1, 2]
    assert clf.n_iter_ == 5 == len(clf.loss_curve_) and clf.t_ == 5 * len(X)
    net = clf.to_network()
    assert repr(net) == "Network(4 → 7 relu → 5 relu → 3 softmax, categorical_cross_entropy)"
    for layer, W, b in zip(net.layers, clf.coefs_, clf.intercepts_, strict=True):
        assert layer.W.shape == W.T.shape and np.shares_memory(layer.W, W)
        assert layer.b is b


@quiet
def test_predictions_are_the_core_forward_pass() -> None:
    X, y = iris()
    clf = MLPClassifier(hidden_layer_sizes=(6,), max_iter=20, random_state=0).fit(X, y)
    net = clf.to_network()
    assert_array_equal(clf.predict_proba(X), net.predict(X))
    assert_array_equal(clf.predict(X), np.argmax(net.predict(X), axis=1))
    X, Y = regression(n_targets=2)
    reg = MLPRegressor(hidden_layer_sizes=(6,), max_iter=20, random_state=0).fit(X, Y)
    assert_array_equal(reg.predict(X), reg.to_network().predict(X))


@quiet
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_weighted_gradient_matches_finite_differences(Estimator: type) -> None:
    """The sample-weighted objective's gradient (weighted δ in every layer) is exact."""
    X, y = iris()
    est = Estimator(hidden_layer_sizes=(4,), activation="tanh", max_iter=2, random_state=0)
    Y = np.eye(3)[y] if Estimator is MLPClassifier else np.c_[y, X[:, 0]]
    est.fit(X, Y if Estimator is MLPRegressor else y)
    net = est.to_network()
    sw = np.random.default_rng(0).uniform(0, 2, len(X))

    def J(theta: np.ndarray) -> float:
        net.set_flat(theta)
        return objective(net, X, Y, sw, 0.3, 1.0, mean_weight=0.8)[0]

    theta = net.get_flat()
    grad = np.concatenate([g.ravel() for g in objective(net, X, Y, sw, 0.3, 1.0, 0.8)[2]])
    eps = 1e-6
    fd = [(J(theta + eps * e) - J(theta - eps * e)) / (2 * eps) for e in np.eye(len(theta))]
    assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("n_targets", [1, 3])
def test_loss_curve_is_the_core_loss_scaled_like_sklearn(n_targets: int) -> None:
    """loss_curve_ = core loss (½ Σₖ per sample) / n_outputs + ½ α Σ‖W‖² / n, before the step."""
    X, Y = regression(n_targets)
    alpha = 0.5
    reg = MLPRegressor(hidden_layer_sizes=(5,), solver="sgd", alpha=alpha, batch_size=len(X))
    reg.set_params(random_state=0).partial_fit(X, Y)
    before = reg.to_network().copy()
    reg.partial_fit(X, Y)  # one full-batch step: its loss is measured before the update
    l2 = 0.5 * alpha * sum(float(np.sum(ly.W**2)) for ly in before.layers) / len(X)
    assert reg.loss_curve_[-1] == pytest.approx(before.error(X, Y) / n_targets + l2, rel=1e-12)


def test_online_training_equals_the_core_loop() -> None:
    """batch_size=1 is true online learning: the same weights as retroprop.fit, sample by sample."""
    X, y = regression()
    y = (y - y.min()) / np.ptp(y)  # targets in [0, 1] for a logistic output, as in the lecture
    reg = MLPRegressor(
        hidden_layer_sizes=(4,), activation="logistic", out_activation="logistic",
        solver="sgd", momentum=0, alpha=0, learning_rate_init=0.5, batch_size=1,
        shuffle=False, random_state=0, max_iter=1,
    )  # fmt: skip
    reg.partial_fit(X, y)
    net = reg.to_network().copy()
    for _ in range(3):
        reg.partial_fit(X, y)
    rp.fit(net, X, y, optimizer=SGD(0.5), batch_size=1, shuffle=False, epochs=3)
    assert_allclose(reg.to_network().get_flat(), net.get_flat(), rtol=1e-10, atol=1e-12)


@quiet
@pytest.mark.parametrize(
    "params",
    [
        dict(solver="sgd"),
        dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.1),
        dict(solver="sgd", nesterovs_momentum=False, batch_size=16),
        dict(solver="adam", batch_size=32),
        dict(solver="adam", early_stopping=True),
        dict(solver="lbfgs"),
    ],
    ids=repr,
)
def test_same_numbers_as_sklearn_for_the_same_random_state(params: dict[str, object]) -> None:
    X, y = iris()
    kw = dict(hidden_layer_sizes=(8,), random_state=3, max_iter=15, **params)
    theirs = skl.MLPClassifier(**kw).fit(X, y)
    ours = MLPClassifier(**kw).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_
    for mine, sk in zip(
        ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True
    ):
        assert_allclose(mine, sk, rtol=1e-9, atol=1e-12)
    if params["solver"] != "lbfgs":
        assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    if params.get("early_stopping"):
        assert_allclose(ours.validation_scores_, theirs.validation_scores_)


@pytest.mark.slow
@pytest.mark.parametrize(
    "load, reference, max_iter",
    # REFERENCES.md: scikit-learn 1.9.1, (100,) adam, 10 seeds, standardized inputs
    [
        (load_iris, (0.868, 1.0), 200),
        (load_digits, (0.971, 0.982), 60),
        (load_breast_cancer, (0.958, 1.0), 200),
    ],
    ids=["iris", "digits", "breast_cancer"],
)
def test_accuracy_comparable_to_sklearn(
    load: Any, reference: tuple[float, float], max_iter: int
) -> None:
    """scikit-learn's defaults reach its test accuracy (measured in REFERENCES.md).

    On digits max_iter=60 instead of 200 keeps the test quick: there training stops by itself
    after 145 iterations at 0.978; after 60 it is at 0.976 (scikit-learn's MLP: the same).
    """
    X, y = load(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(random_state=0, max_iter=max_iter).fit(
            scaler.transform(X_train), y_train
        )
    assert reference[0] - 0.02 <= clf.score(scaler.transform(X_test), y_test) <= reference[1]


@quiet
@pytest.mark.parametrize(
    "params", [dict(solver="adam"), dict(solver="lbfgs", max_iter=60)], ids=repr
)
def test_regression_score_comparable_to_sklearn(params: dict[str, Any]) -> None:
    X, y = make_friedman1(n_samples=500, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    mean, std = y_train.mean(), y_train.std()
    y_train, y_test = (y_train - mean) / std, (y_test - mean) / std
    scores = [
        Estimator(random_state=0, **params).fit(X_train, y_train).score(X_test, y_test)
        for Estimator in (MLPRegressor, skl.MLPRegressor)
    ]
    assert scores[0] > 0.9 and abs(scores[0] - scores[1]) < 0.02


# -- scikit-learn's behaviour --------------------------------------------------------------
def test_partial_fit_is_incremental_and_keeps_the_optimizer_state() -> None:
    X, y = iris()
    kw = dict(hidden_layer_sizes=(5,), batch_size=len(X), random_state=0)  # full batch
    fitted = MLPClassifier(max_iter=4, **kw)
    with pytest.warns(ConvergenceWarning):
        fitted.fit(X, y)
    stepped = MLPClassifier(**kw)
    for i in range(4):
        stepped.partial_fit(X, y, classes=[0, 1, 2])
        assert len(stepped.loss_curve_) == i + 1 and stepped.t_ == (i + 1) * len(X)
    assert stepped.n_iter_ == 1  # as in scikit-learn: iterations of the last call
    assert stepped._optimizer_state["t"] == 4  # Adam kept its moments across calls
    assert_allclose(stepped.loss_curve_, fitted.loss_curve_, rtol=1e-12)
    assert_allclose(stepped.predict_proba(X), fitted.predict_proba(X), rtol=1e-10)


def test_partial_fit_needs_classes_and_a_stochastic_solver() -> None:
    X, y = iris()
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier().partial_fit(X, y)
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")
    assert hasattr(MLPRegressor(solver="irprop+"), "partial_fit")


@quiet
def test_warm_start_continues_and_cold_start_restarts() -> None:
    X, y = iris()
    clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, warm_start=True, random_state=0)
    clf.fit(X, y)
    first = clf.loss_curve_[-1]
    clf.fit(X, y)
    assert len(clf.loss_curve_) == 10 and clf.n_iter_ == 5 and clf.loss_curve_[5] < first
    clf.set_params(warm_start=False).fit(X, y)
    assert len(clf.loss_curve_) == 5 and clf.loss_curve_[0] > first
    clf.set_params(warm_start=True, hidden_layer_sizes=(6,))
    with pytest.raises(ValueError, match="warm_start"):
        clf.fit(X, y)


@quiet
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_early_stopping_records_validation(Estimator: type) -> None:
    X, y = iris()
    est = Estimator(hidden_layer_sizes=(5,), early_stopping=True, random_state=0, max_iter=30)
    est.fit(X, y)
    assert len(est.validation_scores_) == len(est.validation_loss_curve_) == est.n_iter_
    assert est.best_validation_score_ == max(est.validation_scores_)
    assert est.best_loss_ is None and all(np.isfinite(est.validation_loss_curve_))
    est.set_params(early_stopping=False).fit(X, y)
    assert est.validation_scores_ is est.validation_loss_curve_ is None
    assert est.best_validation_score_ is None and est.best_loss_ == min(est.loss_curve_)


def test_early_stopping_keeps_the_best_weights() -> None:
    X, y = regression()
    seen: list[list[np.ndarray]] = []
    reg = MLPRegressor(
        hidden_layer_sizes=(5,), early_stopping=True, solver="sgd", learning_rate_init=0.05,
        random_state=0, max_iter=40, n_iter_no_change=5,
        callbacks=[lambda epoch, logs: seen.append([c.copy() for c in reg.coefs_])],
    )  # fmt: skip
    reg.fit(X, y)
    best = int(np.argmax(reg.validation_scores_))
    assert best < reg.n_iter_ - 1  # stopped after the best epoch …
    for c, kept in zip(reg.coefs_, seen[best], strict=True):  # … and went back to it
        assert_array_equal(c, kept)


def test_convergence_warning() -> None:
    X, y = iris()
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        MLPClassifier(max_iter=3).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        MLPClassifier(solver="lbfgs", max_iter=3).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        MLPClassifier(max_iter=500, tol=0.5, random_state=0).fit(X, y)  # converged: silent


@quiet
def test_pandas_feature_names() -> None:
    pd = pytest.importorskip("pandas")
    X, y = iris()
    df = pd.DataFrame(X, columns=["sepal_l", "sepal_w", "petal_l", "petal_w"])
    clf = MLPClassifier(solver="lbfgs", max_iter=50, random_state=0).fit(df, pd.Series(y))
    assert list(clf.feature_names_in_) == list(df.columns)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict(df)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        clf.predict(X)
    with pytest.raises(ValueError, match="feature names should match"):
        clf.predict(df.rename(columns={"petal_w": "petal_width"}))
    reg = MLPRegressor(early_stopping=True, max_iter=5).fit(df, pd.Series(y, dtype=float))
    assert list(reg.feature_names_in_) == list(df.columns)


def test_multilabel_classification() -> None:
    X, Y = make_multilabel_classification(n_samples=60, n_classes=4, random_state=0)
    clf = MLPClassifier((30,), solver="lbfgs", max_iter=300, random_state=0).fit(X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 4
    assert clf.predict(X).shape == Y.shape and clf.score(X, Y) > 0.9
    proba = clf.predict_proba(X)
    assert proba.shape == Y.shape and not np.allclose(proba.sum(axis=1), 1)
    assert_array_equal(proba > 0.5, clf.predict(X))


@quiet
def test_multi_output_regression() -> None:
    X, Y = regression(n_targets=3)
    reg = MLPRegressor(hidden_layer_sizes=(20,), solver="lbfgs", max_iter=500, random_state=0)
    reg.fit(X, Y)
    assert reg.n_outputs_ == 3 and reg.predict(X).shape == Y.shape
    assert reg.score(X, Y) > 0.95


# -- sample weights and class weights ------------------------------------------------------
def test_sample_weight_is_repetition_and_zero_is_removal() -> None:
    X, y = regression()
    sw = np.random.default_rng(0).integers(0, 3, len(X))
    kw = dict(hidden_layer_sizes=(5,), solver="lbfgs", random_state=0, max_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = MLPRegressor(**kw).fit(X, y, sample_weight=sw)
        repeated = MLPRegressor(**kw).fit(np.repeat(X, sw, axis=0), np.repeat(y, sw))
    assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-6, atol=1e-8)


@quiet
def test_sample_weight_in_mini_batches() -> None:
    """A batch is normalised by k times the data's mean weight: constant weights change
    nothing but the L2 term (α / Σᵢ sᵢ, as in scikit-learn; here α = 0), and weights still count
    online (scikit-learn's per-batch normalisation would cancel them at batch_size=1)."""
    X, y = iris()
    kw = dict(hidden_layer_sizes=(5,), solver="sgd", alpha=0.0, batch_size=1, max_iter=3)
    kw.update(random_state=0)
    plain = MLPClassifier(**kw).fit(X, y)
    assert_allclose(
        MLPClassifier(**kw).fit(X, y, sample_weight=np.full(len(X), 2.5)).coefs_[0],
        plain.coefs_[0],
    )
    weighted = MLPClassifier(**kw).fit(X, y, sample_weight=np.where(y == 0, 5.0, 1.0))
    assert not np.allclose(weighted.coefs_[0], plain.coefs_[0])


@quiet
def test_class_weight() -> None:
    X, y = make_classification(n_samples=200, weights=[0.9], flip_y=0.05, random_state=0)
    kw = dict(hidden_layer_sizes=(5,), max_iter=30, random_state=0)
    plain = MLPClassifier(**kw).fit(X, y)
    balanced = MLPClassifier(class_weight="balanced", **kw).fit(X, y)
    assert not np.allclose(plain.coefs_[0], balanced.coefs_[0])
    recall = [np.mean(m.predict(X)[y == 1] == 1) for m in (plain, balanced)]
    assert recall[1] > recall[0]  # the rare class gains
    # a dict of class weights is a per-class sample weight
    by_dict = MLPClassifier(class_weight={0: 1.0, 1: 3.0}, **kw).fit(X, y)
    by_sw = MLPClassifier(**kw).fit(X, y, sample_weight=np.where(y == 1, 3.0, 1.0))
    assert_allclose(by_dict.coefs_[0], by_sw.coefs_[0])
    with pytest.raises(ValueError, match="partial_fit"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1])
    X, Y = make_multilabel_classification(n_samples=20, random_state=0)
    with pytest.raises(ValueError, match="multi-label"):
        MLPClassifier(class_weight="balanced").fit(X, Y)


# -- retroprop's additions -----------------------------------------------------------------
@quiet
def test_per_layer_activations() -> None:
    X, y = iris()
    clf = MLPClassifier((6, 4), activation=["tanh", "logistic"], solver="lbfgs", random_state=0)
    clf.fit(X, y)
    names = [ly.activation.name for ly in clf.to_network().layers]
    assert names == ["tanh", "sigmoid", "softmax"] and clf.score(X, y) > 0.95
    with pytest.raises(ValueError, match="one per hidden layer"):
        MLPClassifier((6, 4), activation=["tanh"]).fit(X, y)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        MLPClassifier((6,), activation=["swish"]).fit(X, y)


@quiet
def test_batch_size_one_is_online() -> None:
    X, y = iris()
    clf = MLPClassifier((5,), batch_size=1, max_iter=2, random_state=0).fit(X, y)
    assert clf._optimizer_state["t"] == 2 * len(X)  # one Adam step per sample


@pytest.mark.parametrize("solver", ["rprop+", "rprop-", "irprop+", "irprop-", "irprop-fann"])
def test_rprop_solvers_train_full_batch(solver: str) -> None:
    X, y = iris()
    clf = MLPClassifier((10,), solver=solver, batch_size=7, max_iter=300, random_state=0)
    steps: list[float] = []
    clf.set_params(callbacks=[lambda epoch, logs: steps.append(logs["loss"])])
    clf.fit(X, y)
    assert clf._optimizer.variant == solver and clf.score(X, y) > 0.95
    assert len(steps) == clf.n_iter_ and steps[-1] < steps[0]


@quiet
@pytest.mark.parametrize("loss", ["squared_error", "absolute_error"])
def test_classifier_losses(loss: str) -> None:
    X, y = iris()
    clf = MLPClassifier((8,), loss=loss, solver="lbfgs", max_iter=300, random_state=0).fit(X, y)
    assert clf.out_activation_ == "logistic" and clf.to_network().loss.name == loss
    assert clf.score(X, y) > 0.9
    assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)
    assert_array_equal(np.argmax(clf.predict_proba(X), axis=1), clf.predict(X))


def test_out_activation_and_loss_checks() -> None:
    X, y = iris()
    clf = MLPClassifier(loss="squared_error", out_activation="softmax", max_iter=3)
    with pytest.warns(ConvergenceWarning):
        assert clf.fit(X, y).out_activation_ == "softmax"
    with pytest.raises(ValueError, match="log_loss"):
        MLPClassifier(out_activation="identity").fit(X, y)
    with pytest.raises(ValueError, match="softmax"):
        MLPClassifier(out_activation="softmax").fit(X, y == 1)
    with pytest.raises(ValueError, match="solver"):
        MLPClassifier(solver="delta_bar_delta").fit(X, y)


@quiet
def test_regressor_losses() -> None:
    X, y = regression()
    reg = MLPRegressor("absolute_error", (10,), solver="lbfgs", random_state=0, max_iter=150)
    assert reg.fit(X, y).score(X, y) > 0.9
    counts = np.random.default_rng(0).poisson(np.exp(X[:, 0] / 3))
    poisson = MLPRegressor("poisson", (5,), solver="lbfgs", random_state=0).fit(X, counts)
    assert poisson.out_activation_ == "exp" and np.all(poisson.predict(X) > 0)
    with pytest.raises(ValueError, match="non-negative"):
        MLPRegressor("poisson").fit(X, y - 10)


@quiet
def test_callbacks() -> None:
    X, y = iris()
    logs_seen: list[dict[str, float]] = []

    def stop_at_three(epoch: int, logs: dict[str, float]) -> bool:
        logs_seen.append(dict(logs))
        return epoch == 3

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # stopped by us: no warning
        clf = MLPClassifier((5,), callbacks=[stop_at_three], random_state=0).fit(X, y)
    assert clf.n_iter_ == 3 and len(logs_seen) == 3
    assert logs_seen[0]["loss"] == clf.loss_curve_[0] and logs_seen[0]["learning_rate"] == 0.001
    # a core callback object: retroprop's EarlyStopping on the training loss
    es = EarlyStopping(monitor="loss", patience=2, min_delta=10.0)
    clf = MLPClassifier((5,), callbacks=[es], random_state=0).fit(X, y)
    assert clf.n_iter_ == 3 and es.stopped
    es2 = MLPClassifier((5,), early_stopping=True, callbacks=[stop_at_three], random_state=0)
    logs_seen.clear()
    es2.fit(X, y)
    assert {"val_loss", "val_score"} <= set(logs_seen[-1])


def test_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    X, y = iris()
    with pytest.warns(ConvergenceWarning):
        MLPClassifier((3,), solver="sgd", max_iter=2, verbose=True).fit(X, y)
    out = capsys.readouterr().out
    assert "Iteration 1, loss = " in out and "Iteration 2, loss = " in out


def test_genetic_solver() -> None:
    if "genetic" not in rp.estimators._base._solver_names():
        pytest.skip("retroprop.train.genetic is not available")
    X, y = iris()
    clf = MLPClassifier((5,), solver="genetic", max_iter=40, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.score(X, y) > 0.8 and len(clf.loss_curve_) == clf.n_iter_
    with pytest.raises(ValueError, match="genetic"):
        clf.fit(X, y, sample_weight=np.ones(len(X)))


# -- in scikit-learn's machinery -----------------------------------------------------------
@quiet
def test_pipeline_grid_search_cross_val_score_clone() -> None:
    X, y = iris()
    pipe = make_pipeline(StandardScaler(), MLPClassifier(solver="lbfgs", max_iter=100))
    grid = GridSearchCV(
        pipe, {"mlpclassifier__hidden_layer_sizes": [(3,), (10,)], "mlpclassifier__alpha": [1e-4]},
        cv=3,
    )  # fmt: skip
    grid.fit(X, y)
    assert grid.best_score_ > 0.9 and len(grid.cv_results_["params"]) == 2
    reg = MLPRegressor(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=100, random_state=0)
    scores = cross_val_score(reg, *regression(), cv=3)
    assert scores.mean() > 0.9
    fitted = MLPClassifier(max_iter=5, random_state=0).fit(X, y)
    twin = clone(fitted)
    assert twin.get_params() == fitted.get_params() and not hasattr(twin, "coefs_")


@quiet
def test_sparse_input_equals_dense() -> None:
    X, y = iris()
    kw = dict(hidden_layer_sizes=(5,), max_iter=10, random_state=0)
    dense = MLPClassifier(**kw).fit(X, y)
    sparse_fit = MLPClassifier(**kw).fit(sparse.csr_matrix(X), y)
    assert_allclose(sparse_fit.predict_proba(sparse.csc_matrix(X)), dense.predict_proba(X))


@quiet
def test_pickle_round_trip_then_partial_fit() -> None:
    X, y = regression()
    reg = MLPRegressor(hidden_layer_sizes=(5,), max_iter=10, random_state=0).fit(X, y)
    copy = pickle.loads(pickle.dumps(reg))
    assert_array_equal(copy.predict(X), reg.predict(X))
    copy.partial_fit(X, y)
    reg.partial_fit(X, y)
    assert_array_equal(copy.predict(X), reg.predict(X))


# -- scikit-learn's own MLP tests, run on retroprop's estimators ----------------------------
SKLEARN_TESTS = [
    "test_alpha",
    "test_partial_fit_classes_error",
    "test_partial_fit_unseen_classes",
    "test_partial_fit_errors",
    "test_nonfinite_params",
    "test_predict_proba_binary",
    "test_predict_proba_multiclass",
    "test_shuffle",
    "test_tolerance",
    "test_adaptive_learning_rate",
    "test_learning_rate_warmstart",
    "test_n_iter_no_change",
    "test_early_stopping_stratified",
    "test_mlp_early_stopping_string_labels",
    "test_mlp_classifier_dtypes_casting",
    "test_mlp_diverging_loss",
    "test_mlp_sample_weight_with_early_stopping",
    "test_minimum_input_sample_size",
]
SKLEARN_ESTIMATOR_TESTS = [
    "test_early_stopping",
    "test_warm_start_full_iteration",
    "test_mlp_warm_start_with_early_stopping",
    "test_mlp_partial_fit_after_fit",
    "test_preserve_feature_names",
]


def sklearn_test_module(monkeypatch: pytest.MonkeyPatch) -> object:
    module = pytest.importorskip("sklearn.neural_network.tests.test_mlp")
    monkeypatch.setattr(module, "MLPClassifier", MLPClassifier)
    monkeypatch.setattr(module, "MLPRegressor", MLPRegressor)
    return module


@pytest.mark.parametrize("name", SKLEARN_TESTS)
def test_sklearn_own_tests(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    getattr(sklearn_test_module(monkeypatch), name)()


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("name", SKLEARN_ESTIMATOR_TESTS)
def test_sklearn_own_estimator_tests(
    name: str, Estimator: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    test = getattr(sklearn_test_module(monkeypatch), name)
    if name == "test_preserve_feature_names":
        pytest.importorskip("pandas")
        test(Estimator=Estimator)
    else:
        test(MLPEstimator=Estimator)


# -- issue 5: trace_step and dropout -------------------------------------------------------
def _encoded(Estimator: type, y: np.ndarray) -> np.ndarray:
    return np.eye(3)[y] if Estimator is MLPClassifier else y[:, None]


@quiet
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_trace_step_is_one_sgd_step_and_leaves_the_estimator_alone(Estimator: type) -> None:
    X, y = iris()
    est = Estimator(
        hidden_layer_sizes=(5, 4), activation="tanh", solver="sgd", momentum=0,
        learning_rate_init=0.05, alpha=0.3, max_iter=3, random_state=0,
    ).fit(X, y)  # fmt: skip
    coefs = [c.copy() for c in est.coefs_]
    intercepts = [b.copy() for b in est.intercepts_]
    state = (est.n_iter_, est.t_, list(est.loss_curve_), est._random_state.get_state()[1].copy())
    predictions = est.predict(X)

    trace = est.trace_step(X[:7], y[:7])

    # the estimator is unchanged
    for c, c0 in zip(est.coefs_, coefs, strict=True):
        assert_array_equal(c, c0)
    for b, b0 in zip(est.intercepts_, intercepts, strict=True):
        assert_array_equal(b, b0)
    assert (est.n_iter_, est.t_, est.loss_curve_) == state[:3]
    assert_array_equal(est._random_state.get_state()[1], state[3])
    assert_array_equal(est.predict(X), predictions)
    # the trace is one plain SGD step with the estimator's encoding and weight decay
    assert trace.optimizer == "sgd" and trace.learning_rate == 0.05
    assert trace.weight_decay == pytest.approx(0.3 / 7)
    Y = _encoded(Estimator, y[:7])
    assert_array_equal(trace.y, Y)
    net = est.to_network().copy()
    g = net.backward(net.forward(X[:7]), Y, 0.3 / 7)
    for l, layer in enumerate(trace.layers):
        assert_array_equal(layer.W_before, coefs[l].T)
        assert_array_equal(layer.b_before, intercepts[l])
        assert_allclose(layer.W_after, coefs[l].T - 0.05 * g.dW[l], rtol=1e-12, atol=1e-15)
        assert_allclose(layer.b_after, intercepts[l] - 0.05 * g.db[l], rtol=1e-12, atol=1e-15)


@quiet
def test_trace_step_single_sample_binary_labels_and_solvers() -> None:
    X, y = iris()
    # one sample, two classes: one 0/1 column as fit encodes it
    clf = MLPClassifier((3,), max_iter=2, random_state=0).fit(X, y == 2)
    trace = clf.trace_step(X[120], True)
    assert trace.batch_size == 1 and trace.y.tolist() == [[1.0]]
    with pytest.raises(ValueError, match="labels not in classes_"):
        clf.trace_step(X[:2], ["a", "b"])
    # the solver's update rule
    settings = {"solver": "sgd", "momentum": 0.8, "nesterovs_momentum": False}
    trace = clf.set_params(**settings).trace_step(X[:3], [True, False, True])
    assert trace.optimizer == "momentum" and trace.optimizer_settings["momentum"] == 0.8
    assert trace.layers[0].momentum_term is not None
    trace = clf.set_params(solver="adam", beta_1=0.5).trace_step(X[:3], [True, False, True])
    assert trace.optimizer == "adam" and trace.optimizer_settings["beta_1"] == 0.5
    trace = clf.set_params(solver="irprop-").trace_step(X[:3], [True, False, True])
    assert trace.optimizer == "irprop-"
    with pytest.raises(ValueError, match="only the step solvers"):
        clf.set_params(solver="lbfgs").trace_step(X[:3], [True, False, True])


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_trace_step_needs_a_fitted_estimator(Estimator: type) -> None:
    from sklearn.exceptions import NotFittedError

    X, y = iris()
    with pytest.raises(NotFittedError):
        Estimator().trace_step(X[:2], y[:2])


@quiet
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_dropout_zero_is_the_unchanged_code_path(
    Estimator: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retroprop.estimators import _solvers

    def fail(*args: object) -> None:
        raise AssertionError("dropout=0 must not use the masked objective")

    monkeypatch.setattr(_solvers, "_masked_objective", fail)
    X, y = iris()
    a = Estimator(hidden_layer_sizes=(6,), max_iter=15, random_state=0).fit(X, y)
    b = Estimator(hidden_layer_sizes=(6,), max_iter=15, random_state=0, dropout=0.0).fit(X, y)
    for ca, cb in zip([*a.coefs_, *a.intercepts_], [*b.coefs_, *b.intercepts_], strict=True):
        assert_array_equal(ca, cb)
    assert a.loss_curve_ == b.loss_curve_


@quiet
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_dropout_changes_training_reproducibly_and_not_predictions(Estimator: type) -> None:
    X, y = iris()
    params: dict[str, Any] = {"hidden_layer_sizes": (8, 6), "max_iter": 15, "random_state": 0}
    plain = Estimator(**params).fit(X, y)
    a = Estimator(dropout=0.3, **params).fit(X, y)
    b = Estimator(dropout=0.3, **params).fit(X, y)
    assert not np.array_equal(a.coefs_[0], plain.coefs_[0])
    for ca, cb in zip([*a.coefs_, *a.intercepts_], [*b.coefs_, *b.intercepts_], strict=True):
        assert_array_equal(ca, cb)
    assert a.loss_curve_ == b.loss_curve_
    # no dropout at prediction: deterministic, and the plain forward pass of the network
    assert_array_equal(a.predict(X), a.predict(X))
    out = a.to_network().predict(X)
    expected = np.argmax(out, axis=1) if Estimator is MLPClassifier else out.ravel()
    assert_array_equal(a.predict(X), expected)
    assert a.score(X, y) == a.score(X, y)
    # early stopping's validation score is that of the unmasked network
    es = Estimator(dropout=0.3, early_stopping=True, **params).fit(X, y)
    assert es.validation_scores_ is not None and len(es.validation_scores_) == es.n_iter_


@quiet
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_dropout_gradient_matches_finite_differences(Estimator: type, weighted: bool) -> None:
    """For a fixed mask, ∂J/∂θ of the thinned network is exact."""
    from retroprop.estimators._solvers import dropout_masks

    X, y = iris()
    X, y = X[::5], y[::5]
    est = Estimator(
        hidden_layer_sizes=(5, 4), activation="tanh", dropout=0.5, max_iter=2, random_state=0
    ).fit(X, y)
    net = est.to_network().copy()
    Y = _encoded(Estimator, y)
    masks = dropout_masks(est, net, len(X))
    assert masks is not None and [m.shape for m in masks] == [(len(X), 5), (len(X), 4)]
    assert all(set(np.unique(m)) == {0.0, 2.0} for m in masks)
    sw = np.random.default_rng(0).uniform(0, 2, len(X)) if weighted else None

    def J(theta: np.ndarray) -> float:
        net.set_flat(theta)
        return objective(net, X, Y, sw, 0.3, 1.0, 0.8, masks)[0]

    theta = net.get_flat()
    grad = np.concatenate([g.ravel() for g in objective(net, X, Y, sw, 0.3, 1.0, 0.8, masks)[2]])
    eps = 1e-6
    fd = [(J(theta + eps * e) - J(theta - eps * e)) / (2 * eps) for e in np.eye(len(theta))]
    assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)
    # all-ones masks give the unmasked objective
    ones = [np.ones_like(m) for m in masks]
    net.set_flat(theta)
    full, masked = (
        objective(net, X, Y, sw, 0.3, 1.0, 0.8),
        objective(net, X, Y, sw, 0.3, 1.0, 0.8, ones),
    )
    assert masked[0] == pytest.approx(full[0], rel=1e-12)
    for g1, g2 in zip(full[2], masked[2], strict=True):
        assert_allclose(g1, g2, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dropout", [-0.1, 1.0, 1.5, "0.2"])
def test_invalid_dropout(dropout: object) -> None:
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = iris()
    with pytest.raises(InvalidParameterError, match="dropout"):
        MLPClassifier(dropout=dropout, max_iter=1).fit(X, y)


@pytest.mark.parametrize("solver", ["lbfgs", "genetic"])
def test_dropout_needs_a_step_solver(solver: str) -> None:
    X, y = iris()
    with pytest.raises(ValueError, match=r"dropout=0\.2 is not supported"):
        MLPRegressor(solver=solver, dropout=0.2, max_iter=1).fit(X, y)
