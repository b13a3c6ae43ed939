"""The estimators' training on the compiled engines: ``engine="numba"`` (or ``"auto"``).

:func:`~._solvers.fit_epochs` is scikit-learn's ``_fit_stochastic`` in NumPy, the reference.
For the step solvers ``"sgd"`` and ``"adam"`` the batches of one epoch can instead run in one
call of a compiled trainer, with the same arithmetic:

- the sample order is the one the Python loop draws (``shuffle`` with the estimator's
  RandomState), passed to the trainer as the index; batches of k, the last one smaller;
- per batch of m samples, with the weights before its update: J = mean E + ½ (α/m) Σ‖W‖², the
  gradient with (α/m) W for the weights only, and the reported loss (mean E)·scale + the L2
  term, accumulated times m (``loss_curve_`` gets Σ / n, as in the NumPy loop);
- ``"sgd"`` is the core's momentum (classic or Nesterov; momentum 0 is plain SGD) whose η the
  Python side sets before every epoch (``invscaling``, ``adaptive``); ``"adam"`` is
  :class:`~retroprop.core.optimizers.ScikitLearnAdam` (kernel code ``SKLEARN_ADAM``).

Two trainers, chosen by the width of a batch (:func:`epoch_kernel`): online and small batches
run sample by sample in one numba kernel (:class:`retroprop._fast.objective.ObjectiveTrainer`),
wide batches on BLAS matrix products with compiled element-wise passes
(:class:`retroprop._fast.objective_blas.BlasObjectiveTrainer`). The objective and gradient over
the whole training set run on the BLAS one too (:func:`whole_set_objective`): every L-BFGS
evaluation, and the one step per epoch of the full-batch rules (the Rprop family, Quickprop,
SARPROP), whose update itself is the core optimizer's. This module decides (importing numba
only when a compiled trainer runs).

Everything between epochs stays in Python (:class:`~._solvers._Epochs`: early stopping,
``n_iter_no_change``, verbose output, callbacks, warnings). After every epoch the weights go
back into ``coefs_``/``intercepts_`` and the optimizer state into ``_optimizer_state`` in the
core optimizer's form, so either engine can continue the other's run (``warm_start``,
``partial_fit``). The engines agree to rounding (the order of terms in dot products).

Not compiled (the NumPy loop runs them): sample or class weights, dropout, sparse X, the GA,
and losses or activations without a kernel code (``loss="poisson"`` and its ``exp`` output).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from retroprop._fast.engine import (
    AUTO_MIN_VISITS,
    TrainingRun,
    compiled_allowed,
    unsupported_network,
)
from retroprop.core.network import Network
from retroprop.core.optimizers import SGD, ScikitLearnAdam
from retroprop.errors import ParameterError
from retroprop.estimators._spec import COMPILED_SOLVERS, MLPState

if TYPE_CHECKING:
    from retroprop._fast.objective import ObjectiveTrainer
    from retroprop._fast.objective_blas import BlasObjectiveTrainer

    EpochKernel = ObjectiveTrainer | BlasObjectiveTrainer

Array = NDArray[np.floating]

_COMPILED = ", ".join(repr(solver) for solver in COMPILED_SOLVERS)

BLAS_MIN_MACS = 1 << 15
"""Multiply-adds per batch (k × Σ n_in·n_out, k > 1) from which the estimators' batches go to
BLAS (:class:`retroprop._fast.objective_blas.BlasObjectiveTrainer`) instead of the
sample-by-sample kernel. Measured on digits (1,437 × 64, one thread): the two are even for
hidden (100,) at k = 4 (29.6k) and for hidden (10,) near k = 24 (18k); BLAS is 3× faster for
hidden (100,) at k = 16 and 2× for hidden (10,) at k = 200."""


def check_solver(est: MLPState) -> None:
    """Fail fast, before any initialisation, on ``engine="numba"`` with a solver it lacks.

    Raises:
        ValueError: ``engine="numba"`` with a solver other than ``"sgd"`` or ``"adam"``.
    """
    if est.engine == "numba" and est.solver not in COMPILED_SOLVERS:
        raise ParameterError(
            f"engine='numba' does not support solver={est.solver!r} (compiled: {_COMPILED}; "
            "use engine='auto' or 'numpy')"
        )


def obstacles(est: MLPState, net: Network, X: Any, sw: Array | None) -> list[str]:
    """What keeps the compiled epoch loop from training this run (empty when it applies)."""
    reasons = []
    if est.solver not in COMPILED_SOLVERS:
        reasons.append(f"solver={est.solver!r} (compiled: {_COMPILED})")
    if sw is not None:
        reasons.append("sample_weight or class_weight")
    if est.dropout:
        reasons.append(f"dropout={est.dropout}")
    if sp.issparse(X):
        reasons.append("sparse X")
    return reasons + unsupported_network(net)


def epoch_kernel(
    est: MLPState,
    net: Network,
    X: Any,
    Y: Array,
    sw: Array | None,
    batch_size: int,
    visits: int,
) -> EpochKernel | None:
    """The compiled epoch loop for this run of :func:`~._solvers.fit_epochs`, or None (NumPy).

    ``est.engine``: ``"numpy"`` keeps the reference loop; ``"numba"`` insists on a compiled
    engine; ``"auto"`` takes one when it applies. Wide batches (k > 1 and k × Σ n_in·n_out ≥
    :data:`BLAS_MIN_MACS`) run on BLAS, always (there is nothing to compile per architecture);
    online and small batches on the sample-by-sample kernel, for ``"auto"`` once ``visits``
    reaches :data:`retroprop._fast.engine.AUTO_MIN_VISITS` samples, the rule of
    :func:`retroprop.fit` (``fit``: n_train × ``max_iter``, the most it can run;
    ``partial_fit``: the samples of this call and of the calls before it since the weights
    were initialised, so that a stream of small chunks moves to the compiled engine once it
    has seen enough). The rule looks only at the calls, so the same calls give the same
    numbers bit for bit every time.

    The trainer is kept on the estimator and reused by the next call when the weights, the
    optimizer and the settings are the same ones (successive ``partial_fit`` calls): only the
    data and the optimizer state are set anew.

    Raises:
        ValueError: an unknown ``engine``, or ``engine="numba"`` for a run it cannot train
            (the message says why).
    """
    engine = est.engine
    if not compiled_allowed(engine, lambda: obstacles(est, net, X, sw)):
        return None
    wide = batch_size > 1 and batch_size * _macs(net) >= BLAS_MIN_MACS
    if engine == "auto" and not wide and visits < AUTO_MIN_VISITS:
        return None
    key = _trainer_key(est, batch_size)
    cached = getattr(est, "_compiled_trainer", None)
    if cached is not None and cached[0] == key:
        trainer: EpochKernel = cached[2]
        trainer.reuse(X, Y)
    else:
        trainer = _new_trainer(est, TrainingRun(net, est._optimizer, X, Y, batch_size), wide)
        # the arrays and the optimizer are kept alive with the key, so their ids stay theirs
        est._compiled_trainer = (key, [*est.coefs_, *est.intercepts_, est._optimizer], trainer)
    trainer.set_optimizer_state(est._optimizer_state)
    return trainer


def _macs(net: Network) -> int:
    """Multiply-adds of one sample's forward pass, Σ n_in·n_out."""
    return sum(layer.n_in * layer.n_out for layer in net.layers)


def _new_trainer(est: MLPState, run: TrainingRun, wide: bool) -> EpochKernel:
    """The BLAS trainer (``wide``) or the sample-by-sample kernel's, with the estimator's α,
    loss scale and Adam form (importing numba only now)."""
    sklearn_adam = isinstance(est._optimizer, ScikitLearnAdam)
    if wide:
        from retroprop._fast.objective_blas import BlasObjectiveTrainer

        return BlasObjectiveTrainer(
            run, float(est.alpha), est._loss_scale(), sklearn_adam=sklearn_adam
        )
    from retroprop._fast.objective import ObjectiveTrainer

    return ObjectiveTrainer(run, float(est.alpha), est._loss_scale(), sklearn_adam=sklearn_adam)


def whole_set_objective(
    est: MLPState, net: Network, X: Any, Y: Array, sw: Array | None
) -> Callable[[NDArray[np.float64]], tuple[float, float, NDArray[np.float64]]] | None:
    """The objective over the whole training set on BLAS, or None (NumPy): for L-BFGS
    (:func:`~._solvers.fit_lbfgs`) and for the full-batch rules, whose one step per epoch
    comes from it (the Rprop family, Quickprop, SARPROP: :class:`~._solvers._EpochSteps`).

    θ ↦ (J, reported loss, ∂J/∂θ) over the whole training set, computed as
    :func:`~._solvers.objective` computes it, through buffers allocated once for the run.
    ``"auto"`` takes it when the run allows it and the full batch is wide (n × Σ n_in·n_out ≥
    :data:`BLAS_MIN_MACS`); ``"numba"`` whenever the run allows it.

    Raises:
        ValueError: ``engine="numba"`` for a run it cannot train (the message says why).
    """
    if not compiled_allowed(est.engine, lambda: obstacles(est, net, X, sw)):
        return None
    if est.engine == "auto" and X.shape[0] * _macs(net) < BLAS_MIN_MACS:
        return None
    from retroprop._fast.objective_blas import BlasObjectiveTrainer

    run = TrainingRun(net, SGD(learning_rate=1.0), X, Y, X.shape[0])  # the optimizer is unused
    trainer = BlasObjectiveTrainer(run, float(est.alpha), est._loss_scale(), sklearn_adam=False)
    return trainer.value_and_grad


def _trainer_key(est: MLPState, batch_size: int) -> tuple[Any, ...]:
    """What a compiled trainer was built for: the weight arrays themselves (by identity), the
    optimizer object and every setting the trainer's constants come from."""
    opt = est._optimizer
    arrays = tuple(id(a) for a in (*est.coefs_, *est.intercepts_))
    settings = (
        type(opt).__name__, getattr(opt, "momentum", None), getattr(opt, "nesterov", None),
        getattr(opt, "beta_1", None), getattr(opt, "beta_2", None),
        getattr(opt, "epsilon", None),
    )  # fmt: skip
    return (arrays, id(opt), settings, batch_size, float(est.alpha), est._loss_scale())
