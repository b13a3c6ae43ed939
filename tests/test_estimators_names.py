"""The estimators' name lists come from the core registries, and so do their exp, Poisson and Adam.

Also: the compiled engine, which has kernel codes only for some registry entries, falls back to
NumPy (``engine="auto"``) or refuses (``engine="numba"``) for the others, such as exp and Poisson.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import retroprop as rp
from retroprop import estimators
from retroprop._fast.engine import select_engine, unsupported_network
from retroprop.core.activations import ACTIVATIONS
from retroprop.core.losses import LOSSES
from retroprop.core.optimizers import OPTIMIZERS, RPROP_VARIANTS, SGD, ScikitLearnAdam
from retroprop.estimators import HIDDEN_ACTIVATIONS, SOLVERS, MLPClassifier, MLPRegressor


def test_public_name_lists_are_the_accepted_values() -> None:
    # the same lists as before they were derived (scikit-learn's names plus retroprop's)
    assert HIDDEN_ACTIVATIONS == {
        *("identity", "logistic", "sigmoid", "tanh", "relu", "leaky_relu"),
        *("sin", "cos", "gaussian"),  # FANN's cascade candidates' periodic and radial units
        "sigmoid_fann",  # the logistic with FANN's clipped derivative
    }
    assert SOLVERS == {"sgd", "adam", "lbfgs", "genetic", *RPROP_VARIANTS, "quickprop", "sarprop"}
    assert {"HIDDEN_ACTIVATIONS", "SOLVERS"} <= set(estimators.__all__)
    # every hidden activation but scikit-learn's alias is a registry entry for hidden layers
    for name in HIDDEN_ACTIVATIONS - {"logistic"}:
        assert not ACTIVATIONS[name].output_only


def test_former_private_names_still_answer() -> None:
    from retroprop.estimators import _base

    assert _base.HIDDEN_ACTIVATIONS is HIDDEN_ACTIVATIONS
    assert _base._solver_names() == set(SOLVERS)


@pytest.mark.parametrize("name", sorted(HIDDEN_ACTIVATIONS))
def test_every_hidden_activation_is_accepted(name: str) -> None:
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((3,), activation=name, max_iter=2, random_state=0).fit(X, y)
    act = clf.to_network().layers[0].activation
    assert act is rp.get_activation(name)


def test_unknown_activation_is_refused_like_scikit_learn() -> None:
    X, y = np.zeros((4, 2)), [0, 1, 0, 1]
    with pytest.raises(ValueError, match="'activation' parameter"):
        MLPClassifier(activation="exp").fit(X, y)  # exp is an output activation only
    with pytest.raises(ValueError, match="unknown activation 'exp'"):
        MLPClassifier((2, 2), activation=["tanh", "exp"]).fit(X, y)


def test_poisson_regressor_uses_the_registry_exp_and_poisson() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 2))
    y = rng.poisson(np.exp(0.5 * X[:, 0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = MLPRegressor(hidden_layer_sizes=(4,), loss="poisson", max_iter=5, random_state=0)
        reg.fit(X, y)
    net = reg.to_network()
    assert reg.out_activation_ == "exp"
    assert net.layers[-1].activation is ACTIVATIONS["exp"]
    assert net.loss is LOSSES["poisson"]


@pytest.mark.parametrize(
    ("solver", "settings", "expected"),
    [
        ("adam", {"beta_1": 0.5}, ScikitLearnAdam),
        ("sgd", {"momentum": 0.0}, OPTIMIZERS["momentum"]),
        ("irprop-", {}, OPTIMIZERS["irprop-"]),
    ],
)
def test_step_solvers_are_core_step_rules(solver: str, settings: dict, expected: type) -> None:
    X, y = np.random.default_rng(2).normal(size=(20, 3)), np.arange(20) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((3,), solver=solver, max_iter=2, random_state=0, **settings)
        clf.fit(X, y)
    assert type(clf._optimizer) is expected
    if solver == "adam":
        assert clf._optimizer.beta_1 == 0.5
    if solver == "irprop-":
        assert clf._optimizer.variant == "irprop-"


# -- the compiled engine and registry entries without a kernel code ----------------------------
def _poisson_network() -> rp.Network:
    return rp.Network.create([2, 3, 1], "tanh", output_activation="exp", loss="poisson", seed=0)


def test_compiled_engine_names_exp_and_poisson_as_obstacles() -> None:
    reasons = unsupported_network(_poisson_network())
    assert any("'exp'" in r for r in reasons) and any("'poisson'" in r for r in reasons)
    assert not unsupported_network(rp.Network.create([2, 3, 1], seed=0))


def test_auto_falls_back_to_numpy_and_numba_refuses() -> None:
    net = _poisson_network()
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(40, 2)), rng.poisson(1.0, size=(40, 1)).astype(float)
    opt = SGD(0.01)
    # a run long enough that "auto" would pick the kernels if it could
    assert select_engine("auto", net, opt, X, Y, 1, 0.0, 10_000) is None
    with pytest.raises(ValueError, match=r"engine=.numba. does not support.*exp.*poisson"):
        select_engine("numba", net, opt, X, Y, 1, 0.0, 10_000)
    auto = net.copy()
    rp.fit(auto, X, Y, optimizer="sgd", learning_rate=0.01, epochs=600, seed=0, engine="auto")
    reference = net.copy()
    rp.fit(reference, X, Y, optimizer="sgd", learning_rate=0.01, epochs=600, seed=0, engine="numpy")
    np.testing.assert_array_equal(auto.get_flat(), reference.get_flat())
