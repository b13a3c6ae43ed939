"""MLPRegressor: scikit-learn's, over the retroprop core."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d, validate_data

from retroprop.estimators._base import BaseMLP
from retroprop.train.loop import Callback

Array = NDArray[np.floating]


class MLPRegressor(RegressorMixin, BaseMLP):  # type: ignore[misc]
    """Multi-layer perceptron regressor: ``sklearn.neural_network.MLPRegressor``, in retroprop.

    Every scikit-learn parameter (``loss`` first, as in scikit-learn 1.9), default, fitted
    attribute, method, warning and error is the same; see its documentation. The output is
    linear (identity) with the squared error ½ (y − o)², averaged over samples and outputs in
    ``loss_curve_``; ``loss="poisson"`` uses an exp output and half the Poisson deviance.
    Multi-output regression takes a 2-D y. With the same ``random_state`` the initial weights,
    sample order and early-stopping split are scikit-learn's, draw for draw.

    retroprop's additions (keyword-only; the defaults keep scikit-learn's behaviour):

    Args:
        loss: also ``"absolute_error"`` (Σₖ |yₖ − oₖ|, averaged over outputs in the curve).
        activation: also a list with one name per hidden layer, and ``"leaky_relu"``.
        solver: also ``"rprop+"``, ``"rprop-"``, ``"irprop+"``, ``"irprop-"``, ``"irprop-fann"``
            (full batch, Δ₀ = 0.1), ``"quickprop"`` and ``"sarprop"`` (full batch, FANN's
            defaults) and ``"genetic"``.
        batch_size: ``1`` is true online learning (one update per sample).
        out_activation: override the output activation (e.g. ``"logistic"`` for targets in
            (0, 1), as in the lecture).
        callbacks: :class:`retroprop.Callback` objects or functions ``f(epoch, logs)``;
            returning True stops training.
        dropout: p in [0, 1), inverted dropout on the hidden layers' outputs during training
            (kept with probability 1 − p, scaled by 1 / (1 − p), masks drawn from
            ``random_state``); not at prediction or scoring. Step solvers only. 0 (default) is
            scikit-learn's training exactly.
        engine: ``"auto"`` (default), ``"numba"`` or ``"numpy"``: what runs the epochs of
            ``"sgd"`` and ``"adam"``. ``"numpy"`` is the reference loop; ``"numba"`` runs each
            epoch in one compiled call with the same arithmetic (equal to rounding), and raises
            ValueError for what it cannot compile (sample weights, dropout, sparse X,
            ``loss="poisson"``, other solvers); ``"auto"`` takes ``"numba"`` when it applies
            and the call visits at least 20,000 samples (n_train × ``max_iter``; n_train for
            ``partial_fit``) with batches too narrow for BLAS to win.

    Additional attributes: ``validation_loss_curve_`` (with early stopping, else None);
    ``loss_curve_`` and ``best_loss_`` for every solver. :meth:`trace_step` records one
    training step on given samples as a :class:`~retroprop.glassbox.trace.StepTrace` without
    changing
    the estimator.

    Example:
        >>> import numpy as np
        >>> from retroprop import MLPRegressor
        >>> X = np.linspace(-1, 1, 50)[:, None]
        >>> y = X.ravel() ** 2
        >>> reg = MLPRegressor(hidden_layer_sizes=(20,), solver="lbfgs", random_state=0)
        >>> bool(reg.fit(X, y).score(X, y) > 0.99)
        True
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson", "absolute_error"})],
    }

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: Any = (100,),
        activation: str | Sequence[str] = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool | int = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int | float = 10,
        max_fun: int = 15000,
        out_activation: str | None = None,
        callbacks: Sequence[Callback | Callable[[int, dict[str, float]], bool | None]]
        | None = None,
        dropout: float = 0.0,
        engine: str = "auto",
    ) -> None:
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            loss=loss,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            out_activation=out_activation,
            callbacks=callbacks,
            dropout=dropout,
            engine=engine,
        )

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Fit the network to inputs X (n_samples, n_features) and targets y.

        y is (n_samples,) or (n_samples, n_outputs); ``sample_weight`` (n_samples,) weighs
        each sample's loss.
        """
        self._validate_params()
        self._fit(X, y, sample_weight, incremental=False)
        return self

    @available_if(lambda est: est._check_solver())  # type: ignore[untyped-decorator]
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One iteration (epoch) over X, y, continuing from the current weights and optimizer."""
        if not hasattr(self, "coefs_"):
            self._validate_params()
        self._fit(X, y, sample_weight, incremental=True)
        return self

    def _validate_input(
        self, X: Any, y: Any, incremental: bool, reset: bool
    ) -> tuple[Any, NDArray[Any]]:
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y.reshape(len(y), -1)

    def _encode_targets(self, y: Any) -> NDArray[Any]:
        y = np.asarray(y, dtype=float)
        return y.reshape(len(y), -1)

    def _default_out_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _score_output(self, O: Array, y: Any, sample_weight: Array | None) -> float:
        return float(r2_score(y, O, sample_weight=sample_weight))

    def predict(self, X: Any) -> Array:
        """Predicted targets, (n_samples,) for one output, else (n_samples, n_outputs)."""
        O = self._predict_output(X)
        return O.ravel() if O.shape[1] == 1 else O

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
