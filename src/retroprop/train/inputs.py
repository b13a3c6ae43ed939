"""What a run of :func:`~retroprop.train.loop.fit` starts from, checked: the training data as
arrays of the network's dtype (:func:`as_arrays`), the validation set (given, or held out by
:func:`split_validation`), the batch size resolved against the number of samples
(:func:`prepare_data`), the settings (:func:`check_settings`) and the callbacks
(:func:`make_callbacks`). Every error names the parameter, the data or the row.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from retroprop.core.cascade import CascadeNetwork
from retroprop.core.metrics import Logs, is_classification
from retroprop.core.network import Network
from retroprop.core.optimizers import Optimizer
from retroprop.errors import ParameterError
from retroprop.train.callbacks import Callback, EarlyStopping, FunctionCallback, TrainState
from retroprop.train.solvers import Solver

Array = NDArray[np.floating]
BatchSize = int | Literal["all"]

__all__ = [
    "BatchSize",
    "RunData",
    "as_arrays",
    "check_settings",
    "make_callbacks",
    "prepare_data",
    "split_validation",
]


def as_arrays(network: Network | CascadeNetwork, X: Any, Y: Any, what: str) -> tuple[Array, Array]:
    """X (n, n_inputs) and Y (n, n_outputs) as arrays of the network's dtype, checked.

    A 1-D Y is one output per sample. ``what`` names the data in error messages
    (``"training"``, ``"validation"``, …).

    Raises:
        ParameterError: not real numbers (complex, text, a sparse matrix), wrong shapes, no
        samples, or a NaN or infinite value (named by row).
    """
    X = _real_array(X, network.dtype, f"{what} X")
    Y = _real_array(Y, network.dtype, f"{what} Y")
    if Y.ndim == 1:
        Y = Y[:, None]
    if X.ndim != 2 or X.shape[1] != network.sizes[0]:
        raise ParameterError(
            f"{what} X: expected shape (n_samples, {network.sizes[0]}), got {X.shape}"
        )
    if Y.ndim != 2 or Y.shape != (len(X), network.sizes[-1]):
        raise ParameterError(
            f"{what} Y: expected shape ({len(X)}, {network.sizes[-1]}), got {Y.shape}"
        )
    if len(X) == 0:
        raise ParameterError(f"{what} X: no samples")
    for name, arr in (("X", X), ("Y", Y)):
        if not np.all(np.isfinite(arr)):
            row = int(np.argwhere(~np.isfinite(arr))[0][0])
            raise ParameterError(f"{what} {name}: non-finite value (NaN or inf) in row {row}")
    return X, Y


def _real_array(values: Any, dtype: np.dtype[Any], name: str) -> Array:
    """``values`` as a dense array of ``dtype``; anything that is not real numbers is a
    :class:`ParameterError` naming it (NumPy would drop an imaginary part with a mere warning,
    and say "setting an array element with a sequence" of a sparse matrix)."""
    sparse = sys.modules.get("scipy.sparse")  # not imported: then values cannot be sparse
    if sparse is not None and sparse.issparse(values):
        raise ParameterError(
            f"{name}: a scipy sparse matrix; fit takes dense arrays (pass .toarray(), or use "
            "MLPClassifier / MLPRegressor, which accept sparse input)"
        )
    if np.iscomplexobj(values):
        raise ParameterError(
            f"{name}: complex numbers (dtype {np.asarray(values).dtype}); expected real numbers"
        )
    try:
        return np.asarray(values, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name}: expected real numbers ({exc})") from None


@dataclass
class RunData:
    """The checked training data of a run, its validation set and its batch size k ≤ n."""

    X: Array
    Y: Array
    validation: tuple[Array, Array] | None
    classify: bool
    k: int


def prepare_data(
    network: Network,
    X: Any,
    Y: Any,
    validation: tuple[Any, Any] | None,
    fraction: float,
    seed: int | None,
    batch_size: BatchSize,
) -> RunData:
    """Check the data, hold out the validation fraction if asked, and resolve the batch size."""
    X, Y = as_arrays(network, X, Y, "training")
    classify = is_classification(Y)
    if validation is not None and fraction:
        raise ParameterError("give validation_data or validation_fraction, not both")
    if validation is None and fraction:
        X, Y, validation = split_validation(X, Y, fraction, seed, classify)
    if validation is not None:
        validation = as_arrays(network, *validation, "validation")
    if batch_size == "all":
        batch_size = len(X)
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ParameterError(f"batch_size must be a positive integer or 'all', got {batch_size!r}")
    return RunData(X, Y, validation, classify, min(int(batch_size), len(X)))


def split_validation(
    X: Array, Y: Array, fraction: float, seed: int | None, classify: bool
) -> tuple[Array, Array, tuple[Array, Array]]:
    """Hold out ``fraction`` of the samples for validation (stratified for classification)."""
    from sklearn.model_selection import train_test_split

    if not 0 < fraction < 1:
        raise ParameterError(f"validation_fraction must be in (0, 1), got {fraction}")
    labels = None
    if classify:
        labels = Y[:, 0] if Y.shape[1] == 1 else np.argmax(Y, axis=1)
        if np.min(np.bincount(labels.astype(np.int64))) < 2:
            labels = None  # too few samples of some class to stratify
    try:
        Xt, Xv, Yt, Yv = train_test_split(
            X, Y, test_size=fraction, random_state=seed, stratify=labels
        )
    except ValueError as exc:
        raise ParameterError(f"validation_fraction={fraction}: {exc}") from None
    return Xt, Yt, (Xv, Yv)


def check_settings(
    opt: Optimizer | Solver,
    epochs: int,
    weight_decay: float,
    seed: int | None,
    callbacks: Sequence[object],
    train_error: str,
    initial_state: TrainState | None,
) -> None:
    """Reject invalid settings of :func:`fit` with a message that names the parameter."""
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ParameterError(f"epochs must be a positive integer, got {epochs!r}")
    if not (isinstance(weight_decay, (int, float, np.number)) and 0 <= weight_decay < np.inf):
        raise ParameterError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
    if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ParameterError(f"seed must be None or a non-negative integer, got {seed!r}")
    for j, cb in enumerate(callbacks):
        if not (isinstance(cb, Callback) or callable(cb)):
            raise ParameterError(
                f"callbacks[{j}]: expected a Callback or a function f(epoch, logs), "
                f"got {type(cb).__name__}"
            )
    if train_error not in ("final", "running"):
        raise ParameterError(f"train_error must be 'final' or 'running', got {train_error!r}")
    if train_error == "running" and isinstance(opt, Solver):
        raise ParameterError(
            f"train_error='running' needs a step optimizer; {opt.name} measures the training "
            "error of each iteration's final weights (train_error='final')"
        )
    if initial_state is not None and isinstance(opt, Solver):
        raise ParameterError(
            f"initial_state: a {opt.name} run cannot be resumed (step optimizers can)"
        )


def make_callbacks(
    callbacks: Sequence[Callback | Callable[[int, Logs], bool | None]],
    early_stopping: bool | EarlyStopping,
    has_validation: bool,
) -> list[Callback]:
    """The run's callbacks as :class:`Callback` objects, early stopping last."""
    cbs = [cb if isinstance(cb, Callback) else FunctionCallback(cb) for cb in callbacks]
    if early_stopping:
        es = early_stopping if isinstance(early_stopping, EarlyStopping) else EarlyStopping()
        if not has_validation and es.monitor in ("val_loss", "val_mse", "val_accuracy"):
            # no validation set: watch the training error instead, on a copy so that the
            # caller's object keeps its setting for a later fit that has validation data
            es = copy.copy(es)
            es.monitor = es.monitor[4:]
        cbs.append(es)
    return cbs
