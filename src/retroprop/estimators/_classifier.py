"""MLPClassifier: scikit-learn's, over the retroprop core."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import column_or_1d, validate_data

from retroprop.errors import ParameterError
from retroprop.estimators._base import BaseMLP
from retroprop.train.loop import Callback

Array = NDArray[np.floating]


class MLPClassifier(ClassifierMixin, BaseMLP):  # type: ignore[misc]
    """Multi-layer perceptron classifier: ``sklearn.neural_network.MLPClassifier``, in retroprop.

    Every scikit-learn parameter, default, fitted attribute, method, warning and error is the
    same (scikit-learn 1.9; see its documentation for each). With the same ``random_state``
    the initial weights, the sample order and the early-stopping split are scikit-learn's draw
    for draw, and the arithmetic is scikit-learn's (Adam in its "efficient" form too), so the
    weights and ``loss_curve_`` agree with scikit-learn's to rounding (tested to 1e-9).

    The default loss is log-loss with a softmax output (multi-class) or logistic outputs
    (binary, multi-label: pass a 2-D 0/1 indicator y). ``coefs_[i]`` has shape (n_in, n_out);
    :meth:`to_network` gives the same weights as a core :class:`~retroprop.core.network.Network`.

    retroprop's additions (keyword-only; the defaults keep scikit-learn's behaviour):

    Args:
        activation: also a list with one name per hidden layer, and ``"leaky_relu"``.
        solver: also ``"rprop+"``, ``"rprop-"``, ``"irprop+"``, ``"irprop-"``, ``"irprop-fann"``
            (full batch, Δ₀ = 0.1; ``learning_rate_init`` is not used), ``"quickprop"`` and
            ``"sarprop"`` (full batch, FANN's defaults) and ``"genetic"`` (the core's genetic
            algorithm, one generation per iteration).
        batch_size: ``1`` is true online learning (one update per sample), as in the lecture.
        loss: ``"log_loss"`` (default), ``"squared_error"`` (the lecture's E = ½ Σₖ (yₖ − oₖ)²,
            with logistic outputs) or ``"absolute_error"`` (logistic outputs).
        out_activation: override the output activation (e.g. ``"softmax"`` with squared error).
        class_weight: ``{label: weight}`` or ``"balanced"``; multiplies ``sample_weight``.
            Single-output targets only; ``"balanced"`` is refused by ``partial_fit``.
        callbacks: :class:`retroprop.Callback` objects or functions ``f(epoch, logs)`` called
            after every iteration; ``logs`` has ``loss``, ``learning_rate`` and, with early
            stopping, ``val_loss`` and ``val_score``. Returning True stops training.
        dropout: p in [0, 1), inverted dropout on the hidden layers' outputs during training
            (each kept with probability 1 − p and scaled by 1 / (1 − p), masks drawn from
            ``random_state``); not at prediction, scoring or early stopping's validation.
            ``loss_curve_`` is then the loss of the thinned networks. Step solvers only (not
            ``"lbfgs"`` or ``"genetic"``). 0 (default) is scikit-learn's training exactly.
        engine: ``"auto"`` (default), ``"numba"`` or ``"numpy"``: what runs the epochs of
            ``"sgd"`` and ``"adam"``. ``"numpy"`` is the reference loop; ``"numba"`` runs each
            epoch in one compiled call with the same arithmetic (equal to rounding: 1e-12
            relative in float64), and raises ValueError for what it cannot compile (sample or
            class weights, dropout, sparse X, other solvers); ``"auto"`` takes ``"numba"``
            when it applies and the call visits at least 20,000 samples (n_train ×
            ``max_iter``; n_train for ``partial_fit``) with batches too narrow for BLAS to
            win, so short runs don't pay for compiling (a few seconds, once per machine).

    Additional attributes: ``validation_loss_curve_`` (validation loss per iteration with
    early stopping, else None); ``loss_curve_`` and ``best_loss_`` for every solver.
    :meth:`trace_step` records one training step on given samples as a
    :class:`~retroprop.glassbox.trace.StepTrace` without changing the estimator.

    Example:
        >>> from retroprop import MLPClassifier
        >>> clf = MLPClassifier(hidden_layer_sizes=(10,), solver="lbfgs", random_state=0)
        >>> clf.fit([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0]).predict([[1, 0]])
        array([1])
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"log_loss", "squared_error", "absolute_error"})],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    _label_binarizer: LabelBinarizer
    classes_: NDArray[Any]

    def __init__(
        self,
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
        loss: str = "log_loss",
        out_activation: str | None = None,
        class_weight: dict[Any, float] | str | None = None,
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
        self.class_weight = class_weight

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPClassifier:
        """Fit the network to inputs X (n_samples, n_features) and labels y.

        y is (n_samples,) class labels, or a 2-D 0/1 indicator matrix for multi-label.
        ``sample_weight`` (n_samples,) weighs each sample's loss (and so its gradient).
        """
        self._validate_params()
        self._fit(X, y, sample_weight, incremental=False)
        return self

    @available_if(lambda est: est._check_solver())  # type: ignore[untyped-decorator]
    def partial_fit(
        self, X: Any, y: Any, sample_weight: Any = None, classes: Any = None
    ) -> MLPClassifier:
        """One iteration (epoch) over X, y, continuing from the current weights and optimizer.

        ``classes`` (all labels that will ever be seen) is required on the first call.
        """
        if not hasattr(self, "coefs_"):
            self._validate_params()
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        self._fit(X, y, sample_weight, incremental=True)
        return self

    def _validate_input(
        self, X: Any, y: Any, incremental: bool, reset: bool
    ) -> tuple[Any, NDArray[Any]]:
        if incremental and not reset:
            fast = self._validate_chunk(X, y)
            if fast is not None:
                return fast
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        # scikit-learn's table: (re)define classes_ on a fresh fit, else check compatibility.
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ParameterError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ParameterError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        return X, self._label_binarizer.transform(y).astype(bool)

    def _validate_chunk(self, X: Any, y: Any) -> tuple[Any, NDArray[Any]] | None:
        """The checks and encoding of :meth:`_validate_input` for the common ``partial_fit``
        chunk, without scikit-learn's general machinery (≈ 1 ms a call): X a finite 2-D float
        ndarray with the fitted number of features (fitted without feature names), y a 1-D
        ndarray of known labels of a binary or multiclass problem. Anything else (and every
        error) returns None, and the general path checks it and says what is wrong."""
        lb = getattr(self, "_label_binarizer", None)
        ok = (
            type(X) is np.ndarray and X.ndim == 2 and X.dtype in (np.float64, np.float32)
            and type(y) is np.ndarray and y.ndim == 1 and 0 < len(y) == len(X)
            and X.shape[1] == getattr(self, "n_features_in_", -1) and not self.warm_start
            and not hasattr(self, "feature_names_in_") and lb is not None
            and lb.y_type_ in ("binary", "multiclass") and lb.sparse_output is False
            and lb.neg_label == 0 and lb.pos_label == 1 and len(self.classes_) >= 2
            and y.dtype.kind in "iu" and self.classes_.dtype.kind in "iu"
        )  # fmt: skip
        if not ok or not np.isfinite(X).all():
            return None
        classes = self.classes_
        pos = np.minimum(np.searchsorted(classes, y), len(classes) - 1)
        if not np.array_equal(classes[pos], y):
            return None  # unknown labels: the general path raises its error
        if len(classes) == 2:
            return X, (pos == 1)[:, None]
        Y = np.zeros((len(y), len(classes)), dtype=bool)
        Y[np.arange(len(y)), pos] = True
        return X, Y

    def _sample_weight(self, sample_weight: Any, X: Any, Y: Any, incremental: bool) -> Any:
        sw = super()._sample_weight(sample_weight, X, Y, incremental)
        if self.class_weight is None:
            return sw
        if self._label_binarizer.y_type_.startswith("multilabel"):
            raise ParameterError("class_weight is not supported for multi-label targets")
        if incremental and self.class_weight == "balanced":
            raise ParameterError(
                "class_weight='balanced' is not supported for partial_fit: the class "
                "frequencies of one batch are not those of the data. Pass a dict, e.g. from "
                "sklearn.utils.class_weight.compute_class_weight on all the labels."
            )
        labels = self._label_binarizer.inverse_transform(Y)
        cw = compute_sample_weight(self.class_weight, labels).astype(X.dtype)
        return cw if sw is None else sw * cw

    def _encode_targets(self, y: Any) -> NDArray[Any]:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if not self._label_binarizer.y_type_.startswith("multilabel"):
            unknown = np.setdiff1d(unique_labels(y), self.classes_)
            if len(unknown):
                raise ParameterError(f"y has labels not in classes_ {self.classes_}: {unknown}")
        return np.asarray(self._label_binarizer.transform(y))

    def _default_out_activation(self) -> str:
        if self.loss == "log_loss" and self._label_binarizer.y_type_ == "multiclass":
            return "softmax"
        return "logistic"

    def _validation_targets(self, Y: NDArray[Any]) -> Any:
        return self._label_binarizer.inverse_transform(Y)

    def _score_output(self, O: Array, y: Any, sample_weight: Array | None) -> float:
        predicted = self._label_binarizer.inverse_transform(O.ravel() if O.shape[1] == 1 else O)
        return float(accuracy_score(y, predicted, sample_weight=sample_weight))

    # -- prediction ------------------------------------------------------------------------
    def predict(self, X: Any) -> NDArray[Any]:
        """Predicted labels (n_samples,), or a 0/1 indicator matrix for multi-label."""
        O = self._predict_output(X)
        return self._label_binarizer.inverse_transform(O.ravel() if self.n_outputs_ == 1 else O)

    def predict_proba(self, X: Any) -> Array:
        """Class probabilities (n_samples, n_classes), columns in the order of ``classes_``.

        Multi-class outputs that are not a softmax (e.g. logistic outputs trained with squared
        error) are clipped at 0 and normalised to sum to 1; multi-label outputs are the
        independent per-label probabilities.
        """
        O = self._predict_output(X)
        if self.out_activation_ not in ("logistic", "softmax"):
            O = np.clip(O, 0.0, 1.0)
        if self.n_outputs_ == 1:
            p = O.ravel()
            return np.vstack([1 - p, p]).T
        if self.out_activation_ != "softmax" and self._label_binarizer.y_type_ == "multiclass":
            total = O.sum(axis=1, keepdims=True)
            return np.where(total > 0, O / np.where(total > 0, total, 1.0), 1.0 / O.shape[1])
        return O

    def predict_log_proba(self, X: Any) -> Array:
        """log of :meth:`predict_proba`."""
        proba = self.predict_proba(X)
        return np.log(proba, out=proba)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
