"""The shared base of :class:`MLPClassifier` and :class:`MLPRegressor`.

The estimators keep scikit-learn's fitted state — ``coefs_[i]`` of shape (n_in, n_out) and
``intercepts_[i]`` — and build a core :class:`~retroprop.core.network.Network` on top of those very
arrays whenever they compute: layer i gets ``W = coefs_[i].T``, a *view* in the core's
(n_out, n_in) orientation. Training updates the views in place, so ``coefs_`` is always the
truth, and weights set by hand (as scikit-learn's own tests do) are used as they are.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from itertools import pairwise
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from retroprop.core.activations import get_activation
from retroprop.core.losses import Loss, get_loss
from retroprop.core.network import Dense, Network
from retroprop.core.optimizers import SGD, Optimizer, get_optimizer
from retroprop.errors import ParameterError
from retroprop.estimators import _compiled, _solvers
from retroprop.estimators._spec import (
    HIDDEN_ACTIVATIONS,
    OUT_ACTIVATIONS,
    SKLEARN_NAMES,
    SOLVERS,
    STEP_RULES,
    STEP_SOLVERS,
    MLPState,
)
from retroprop.glassbox.trace import StepTrace
from retroprop.glassbox.trace import trace_step as _trace_step
from retroprop.train.loop import Callback

Array = NDArray[np.floating]

__all__ = ["HIDDEN_ACTIVATIONS", "BaseMLP"]


def _solver_names() -> set[str]:
    """The accepted ``solver`` names; kept for former callers, use :data:`~._spec.SOLVERS`."""
    return set(SOLVERS)


class BaseMLP(BaseEstimator, MLPState, ABC):  # type: ignore[misc]
    """What the classifier and the regressor share: parameters, initialisation, training.

    Subclasses define ``_validate_input`` (targets to a 2-D float array), ``_default_loss``,
    ``_default_out_activation``, ``_score_output`` (validation score from network outputs).
    It implements :class:`~._spec.MLPState`, what the training code (:mod:`._solvers`,
    :mod:`._compiled`) uses of an estimator, and takes the declarations of its fitted state
    from there.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS)), list, tuple],
        "solver": [StrOptions(set(SOLVERS))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        # scikit-learn allows momentum = 1 (no decay at all); the core's Momentum refuses it.
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "out_activation": [StrOptions(set(OUT_ACTIVATIONS)), None],
        "callbacks": [list, tuple, None],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "engine": [StrOptions({"auto", "numba", "numpy"})],
    }

    # Fitted state, declared for the type checker (set in fit); the rest is in MLPState, but
    # what may be None is declared again: mypy would type it by its first assignment here.
    out_activation_: str
    n_layers_: int
    best_loss_: float | None
    validation_scores_: list[float] | None
    validation_loss_curve_: list[float] | None
    best_validation_score_: float | None

    @abstractmethod
    def __init__(
        self,
        hidden_layer_sizes: Any,
        activation: str | Sequence[str],
        solver: str,
        alpha: float,
        batch_size: int | str,
        learning_rate: str,
        learning_rate_init: float,
        power_t: float,
        max_iter: int,
        loss: str,
        shuffle: bool,
        random_state: Any,
        tol: float,
        verbose: bool | int,
        warm_start: bool,
        momentum: float,
        nesterovs_momentum: bool,
        early_stopping: bool,
        validation_fraction: float,
        beta_1: float,
        beta_2: float,
        epsilon: float,
        n_iter_no_change: int | float,
        max_fun: int,
        out_activation: str | None,
        callbacks: Sequence[Callback | Callable[[int, dict[str, float]], bool | None]] | None,
        dropout: float = 0.0,
        engine: str = "auto",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.loss = loss
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.out_activation = out_activation
        self.callbacks = callbacks
        self.dropout = dropout
        self.engine = engine

    # -- subclass hooks --------------------------------------------------------------------
    @abstractmethod
    def _validate_input(
        self, X: Any, y: Any, incremental: bool, reset: bool
    ) -> tuple[Any, NDArray[Any]]:
        """Validated X and the targets as a 2-D array (n_samples, n_outputs)."""

    @abstractmethod
    def _default_out_activation(self) -> str:
        """scikit-learn's output activation for this problem (after ``_validate_input``)."""

    @abstractmethod
    def _score_output(self, O: Array, y: Any, sample_weight: Array | None) -> float:
        """Score (accuracy or R²) of network outputs O against the targets y."""

    @abstractmethod
    def _encode_targets(self, y: Any) -> NDArray[Any]:
        """y (n targets) as fit encodes it, 2-D (n, n_outputs), without changing the estimator."""

    def _validation_targets(self, Y: NDArray[Any]) -> Any:
        """Targets for ``_score_output`` from the 2-D training targets (labels for classes)."""
        return Y

    # -- structure -------------------------------------------------------------------------
    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if any(s <= 0 for s in sizes):
            raise ParameterError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(s) for s in sizes]

    def _hidden_activations(self, n_hidden: int) -> list[str]:
        """One activation name per hidden layer (``activation`` may be a string or a list)."""
        if isinstance(self.activation, str):
            return [self.activation] * n_hidden
        names = list(self.activation)
        if len(names) != n_hidden:
            raise ParameterError(
                f"activation: got a list of {len(names)} activations for {n_hidden} hidden "
                f"layers; give one per hidden layer (hidden_layer_sizes) or a single name"
            )
        for name in names:
            if name not in HIDDEN_ACTIVATIONS:
                raise ParameterError(
                    f"activation: unknown activation {name!r} in the list; "
                    f"valid: {', '.join(sorted(HIDDEN_ACTIVATIONS))}"
                )
        return names

    def _core_loss(self) -> Loss:
        """The core loss for ``self.loss`` and the fitted output activation."""
        if self.loss == "log_loss":
            multiclass = self.out_activation_ == "softmax"
            return get_loss("categorical_cross_entropy" if multiclass else "binary_cross_entropy")
        return get_loss(self.loss)

    def _loss_scale(self) -> float:
        """scikit-learn averages squared error over the outputs; the core sums over them.

        ``loss_curve_`` reports the core's loss times this factor (the L2 term is not scaled).
        Gradients are the core's, as in scikit-learn (its δ at the output is a − y).
        """
        return 1.0 / self.n_outputs_ if self.loss in ("squared_error", "absolute_error") else 1.0

    def _network(self) -> Network:
        """A core Network whose weight matrices are views of ``coefs_`` (transposed)."""
        n_hidden = len(self.coefs_) - 1
        names = [*self._hidden_activations(n_hidden), self.out_activation_]
        acts = [get_activation(name) for name in names]
        layers = [
            Dense(np.asarray(W).T, np.asarray(b), act)
            for W, b, act in zip(self.coefs_, self.intercepts_, acts, strict=True)
        ]
        return Network(layers, self._core_loss())

    def to_network(self) -> Network:
        """The fitted network as a core :class:`~retroprop.core.network.Network`.

        Its weights are views of ``coefs_`` and ``intercepts_``: changing one changes the other.
        Use it to trace a step, export the weights, or train further with :func:`retroprop.fit`.
        """
        check_is_fitted(self)
        return self._network()

    def trace_step(self, X: Any, y: Any) -> StepTrace:
        """The glass-box :class:`~retroprop.glassbox.trace.StepTrace` of one training step on X, y.

        The step is taken on a copy of the fitted network (:meth:`to_network`), so the
        estimator is not changed. X is one mini-batch (n_samples, n_features) — one step on all
        of it — or a single sample (n_features,) with its single target. y is encoded as
        ``fit`` encodes it (class labels → one-hot rows, or one 0/1 column for two classes;
        regression targets as they are), and the weight decay is ``alpha / n_samples``, the
        L2 term of the training loop. The update rule is the solver's, from a fresh optimizer
        state: ``"sgd"`` → SGD with ``learning_rate_init`` (Momentum with ``momentum`` and
        ``nesterovs_momentum`` when ``momentum > 0``), ``"adam"`` → Adam with
        ``learning_rate_init``, ``beta_1``, ``beta_2``, ``epsilon`` (in scikit-learn's form,
        as in training), the Rprops → Rprop of that variant. ``dropout`` is not applied: the
        trace is of the full network's step.

        Raises:
            sklearn.exceptions.NotFittedError: before ``fit``.
            ValueError: for ``solver="lbfgs"`` or ``"genetic"`` (not step solvers: only the
                step solvers can be traced), or X, y of the wrong shape or unknown labels.
        """
        check_is_fitted(self)
        if self.solver not in STEP_SOLVERS:
            raise ParameterError(
                f"trace_step: solver={self.solver!r} takes no gradient steps; only the step "
                f"solvers ({', '.join(sorted(STEP_SOLVERS))}) can be traced"
            )
        single = not sp.issparse(X) and np.ndim(X) == 1
        if single:
            X, y = [X], [y]
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        X = X.toarray() if sp.issparse(X) else X
        dtype = self.coefs_[0].dtype
        Y = self._encode_targets(y).astype(dtype)
        if len(Y) != len(X):
            raise ParameterError(f"trace_step: X has {len(X)} samples but y has {len(Y)} targets")
        net = self.to_network().copy()
        trace, _ = _trace_step(
            net, X.astype(dtype, copy=False), Y, self._trace_optimizer(),
            weight_decay=float(self.alpha) / len(X),
        )  # fmt: skip
        return trace

    def _trace_optimizer(self) -> Optimizer:
        """The core step rule of ``solver`` for :meth:`trace_step` (plain SGD at momentum 0)."""
        if self.solver == "sgd" and self.momentum == 0:
            return SGD(learning_rate=float(self.learning_rate_init))
        return self._make_optimizer()

    def _forward(self, X: Any) -> Array:
        """Network outputs (n_samples, n_outputs) for validated X (sparse is densified)."""
        return self._network().predict(X.toarray() if sp.issparse(X) else X)

    def _predict_output(self, X: Any) -> Array:
        """Network outputs for X, validated as scikit-learn does except for NaN and infinity:
        ``Network.predict`` finds those without a pass over X (a 60,000 × 784 X took 20–60 ms
        to check, ~5 % of a W2 prediction) and raises a ValueError naming the row."""
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse=["csr", "csc"], reset=False, ensure_all_finite=False
        )
        return self._forward(X)

    def __getstate__(self) -> dict[str, Any]:
        """The estimator's state for pickling and copying, without the compiled trainer kept
        between ``partial_fit`` calls (it holds compiled code and is rebuilt on demand)."""
        state = dict(super().__getstate__())
        state.pop("_compiled_trainer", None)
        return state

    # -- fitting ---------------------------------------------------------------------------
    def _fit(
        self, X: Any, y: Any, sample_weight: Any = None, *, incremental: bool = False
    ) -> BaseMLP:
        """scikit-learn's ``_fit``: (re)initialise if needed, then run the solver."""
        if self.dropout and self.solver not in STEP_SOLVERS:
            raise ParameterError(
                f"dropout={self.dropout} is not supported by solver={self.solver!r}; use one of "
                f"the step solvers {', '.join(sorted(STEP_SOLVERS))} or dropout=0"
            )
        _compiled.check_solver(self)
        hidden = self._hidden_sizes()
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        sw = self._sample_weight(sample_weight, X, Y, incremental)
        if self.loss == "poisson" and np.any(Y < 0):
            raise ParameterError("loss='poisson' requires non-negative targets y (counts, rates).")
        layer_units = [X.shape[1], *hidden, Y.shape[1]]
        self._hidden_activations(len(hidden))  # a list of the wrong length fails here
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(Y, layer_units, X.dtype)
        else:
            self._check_warm_shapes(layer_units)
        Y = Y.astype(self.coefs_[0].dtype)
        if self.solver == "lbfgs":
            _solvers.fit_lbfgs(self, X, Y, sw)
        elif self.solver == "genetic":
            _solvers.fit_genetic(self, X, Y, sw)
        else:
            _solvers.fit_epochs(self, X, Y, sw, incremental)
        params = [*self.coefs_, *self.intercepts_]
        if not all(np.isfinite(p).all() for p in params):
            # scikit-learn's error, type included: cross-validation's reports of failed fits
            # quote the type ("All the 3 fits failed: ValueError: …")
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain large"
                " values and need to be preprocessed."
            )
        return self

    def _sample_weight(self, sample_weight: Any, X: Any, Y: Any, incremental: bool) -> Any:
        """Validated sample weights (n_samples,) or None; the classifier adds class weights."""
        from sklearn.utils.validation import _check_sample_weight

        if sample_weight is None:
            return None
        sw = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        if not np.sum(sw) > 0:
            raise ParameterError(f"sample_weight must have a positive sum, got {np.sum(sw)}")
        return sw

    def _check_warm_shapes(self, layer_units: list[int]) -> None:
        shapes = [c.shape for c in self.coefs_]
        if shapes != list(pairwise(layer_units)):
            have = [shapes[0][0], *[s[1] for s in shapes]]
            raise ParameterError(
                f"warm_start/partial_fit: the fitted network has layer sizes {have} but the "
                f"data and hidden_layer_sizes need {layer_units}; set warm_start=False to "
                f"start afresh"
            )

    def _initialize(self, Y: NDArray[Any], layer_units: list[int], dtype: Any) -> None:
        """scikit-learn's ``_initialize``: attributes, output activation and Glorot weights."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(layer_units)
        out = self.out_activation or self._default_out_activation()
        self.out_activation_ = SKLEARN_NAMES.get(out, out)
        if self.out_activation_ == "softmax" and self.n_outputs_ < 2:
            raise ParameterError("out_activation='softmax' needs at least two output columns")
        if self.loss == "log_loss" and self.out_activation_ not in ("logistic", "softmax"):
            raise ParameterError(
                f"loss='log_loss' needs probabilities: out_activation must be 'logistic' or "
                f"'softmax', got {self.out_activation_!r}"
            )
        # scikit-learn's factor 2 when the activation is logistic: here per weight matrix, by
        # the activation of the hidden layer it feeds (the output's: by the last hidden one)
        hidden = self._hidden_activations(len(layer_units) - 2) or [str(self.activation)]
        self.coefs_, self.intercepts_ = [], []
        for i, (fan_in, fan_out) in enumerate(pairwise(layer_units)):
            logistic = hidden[min(i, len(hidden) - 1)] in ("logistic", "sigmoid", "sigmoid_fann")
            W, b = self._init_coef(fan_in, fan_out, dtype, logistic)
            self.coefs_.append(W)
            self.intercepts_.append(b)
        self._best_coefs = [c.copy() for c in self.coefs_]
        self._best_intercepts = [b.copy() for b in self.intercepts_]
        self.loss_curve_ = []
        self._no_improvement_count = 0
        if self.early_stopping and self.solver != "lbfgs":
            self.validation_scores_ = []
            self.validation_loss_curve_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.validation_loss_curve_ = None
            self.best_validation_score_ = None

    def _init_coef(
        self, fan_in: int, fan_out: int, dtype: Any, logistic: bool
    ) -> tuple[Array, Array]:
        """Glorot uniform, bound √(6 / (fan_in + fan_out)) (factor 2 for logistic layers).

        The same draws from the same RandomState as scikit-learn's ``_init_coef``, so the same
        ``random_state`` gives scikit-learn's initial weights bit for bit.
        """
        bound = np.sqrt((2.0 if logistic else 6.0) / (fan_in + fan_out))
        W = self._random_state.uniform(-bound, bound, (fan_in, fan_out))
        b = self._random_state.uniform(-bound, bound, fan_out)
        return W.astype(dtype, copy=False), b.astype(dtype, copy=False)

    def _make_optimizer(self) -> Optimizer:
        """The core step rule of ``solver`` (:data:`~._spec.STEP_RULES`) with its settings.

        'sgd' gets its learning_rate changed per epoch ('invscaling', 'adaptive'); the Rprops
        start from the core's Δ₀, as their step sizes adapt on their own.
        """
        eta = float(self.learning_rate_init)
        settings: dict[str, Any] = {}
        if self.solver == "sgd":
            settings = {
                "learning_rate": eta,
                "momentum": float(self.momentum),
                "nesterov": bool(self.nesterovs_momentum),
            }
        elif self.solver == "adam":
            settings = {
                "learning_rate": eta,
                "beta_1": float(self.beta_1),
                "beta_2": float(self.beta_2),
                "epsilon": float(self.epsilon),
            }
        optimizer = get_optimizer(STEP_RULES[self.solver], **settings)
        assert isinstance(optimizer, Optimizer)  # STEP_RULES names step rules only
        return optimizer

    def _check_solver(self) -> bool:
        if self.solver not in STEP_SOLVERS:
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} is "
                "not stochastic."
            )
        return True

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
