"""Choosing the compiled engine for a run of :func:`retroprop.train.loop.fit`, and what it
must do (:class:`EpochTrainer`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from retroprop._fast.constants import ACT_CODES, LOSS_CODES
from retroprop._fast.run import Order, Tally, TrainingRun
from retroprop.core.activations import ACTIVATIONS
from retroprop.core.losses import LOSSES
from retroprop.core.network import Network
from retroprop.core.optimizers import SGD, Adam, Momentum, Quickprop, Rprop, Sarprop
from retroprop.errors import ParameterError

Array = NDArray[np.floating]

__all__ = [
    "ENGINES",
    "EpochTrainer",
    "TrainingRun",
    "compiled_allowed",
    "make_trainer",
    "needs_objective",
    "select_engine",
    "unsupported",
    "unsupported_network",
    "wait_for_compiles",
]

ENGINES = ("auto", "numba", "numpy")

AUTO_MIN_VISITS = 20_000
"""Shortest run (n_samples × epochs) for which ``engine="auto"`` uses the numba kernels.

The choice depends only on the run, never on what happens to be compiled already, so the same
call with the same seed gives the same weights bit for bit on every run."""

BLAS_MIN_MACS = 1 << 21
"""Multiply-adds per batch (batch size × Σ n_in·n_out) from which mini-batches go to BLAS: the
matrix products then outweigh the Python calls around them (≈ 20 per batch)."""


class EpochTrainer(Protocol):
    """What :func:`retroprop.train.loop.fit` needs from a compiled engine."""

    def run_epoch(self, index: Order, tally: Tally | None = None, classify: bool = False) -> int:
        """Train one epoch in the sample order ``index``; returns the number of updates.

        ``tally`` (3,) float64, if given, gets += [Σ E, Σ ½‖y − o‖², number right (when
        ``classify``)] of every sample, measured before its batch's update.
        """
        ...

    def epoch_logs(
        self, network: Network, X: Array, Y: Array, prefix: str, classify: bool
    ) -> dict[str, float]:
        """``loss``, ``mse`` (and ``accuracy``) of the network on (X, Y), keys prefixed."""
        ...

    def optimizer_state(self) -> dict[str, Any]:
        """The optimizer state, in the form the NumPy loop keeps (for resuming a run)."""
        ...

    def set_optimizer_state(self, state: dict[str, Any]) -> None:
        """Continue from a state in the form the NumPy loop keeps."""
        ...


def unsupported(network: Network, optimizer: object, full_batch: bool = False) -> list[str]:
    """What keeps the compiled engine from training this network with this optimizer.

    ``full_batch``: the batch is the whole training set, where the full-batch rules (the Rprop
    family, Quickprop, SARPROP) are compiled too.

    Returns:
        One phrase per obstacle (empty when the compiled engine applies).
    """
    reasons = unsupported_network(network)
    name = getattr(optimizer, "name", type(optimizer).__name__)
    if needs_objective(optimizer):
        return reasons  # J and ∇J on the whole set: the full-batch pass
    if type(optimizer) in (Rprop, Quickprop, Sarprop):
        if not full_batch:
            reasons.append(f"optimizer {name!r} on mini-batches (compiled: full batch only)")
    elif type(optimizer) not in (SGD, Momentum, Adam):
        reasons.append(
            f"optimizer {name!r} (compiled: sgd, momentum, nesterov, adam; with the full batch "
            "also rprop+, rprop-, irprop+, irprop-, irprop-fann, quickprop, sarprop)"
        )
    return reasons


def needs_objective(optimizer: object) -> bool:
    """Whether ``optimizer`` is a whole-run solver that asks only for J(θ) and ∇J(θ) on the
    whole training set (L-BFGS: ``needs_objective = True``); the compiled engine gives both
    from one full-batch pass (:meth:`.fullbatch.FullBatchTrainer.value_and_grad`)."""
    return getattr(optimizer, "needs_objective", False) is True


def unsupported_network(network: Network) -> list[str]:
    """What keeps the kernels from computing this network: custom activations or loss.

    Returns:
        One phrase per obstacle (empty when the kernels have codes for all of it).
    """
    reasons = []
    for l, layer in enumerate(network.layers):
        act = layer.activation
        if ACTIVATIONS.get(act.name) is not act:
            reasons.append(f"layers[{l}]: custom activation {act.name!r}")
        elif act.name not in ACT_CODES:
            reasons.append(f"layers[{l}]: activation {act.name!r} (no kernel code)")
    if LOSSES.get(network.loss.name) is not network.loss:
        reasons.append(f"custom loss {network.loss.name!r}")
    elif network.loss.name not in LOSS_CODES:
        reasons.append(f"loss {network.loss.name!r} (no kernel code)")
    return reasons


def select_engine(
    engine: str,
    network: Network,
    optimizer: object,
    X: Array,
    Y: Array,
    batch_size: int,
    weight_decay: float,
    epochs: int,
) -> EpochTrainer | None:
    """The compiled engine for a run of :func:`~retroprop.train.loop.fit`, or None for NumPy.

    ``"numba"`` insists on the compiled engine, ``"numpy"`` keeps the reference loop, and
    ``"auto"`` takes the compiled engine when it supports the network and the optimizer, and
    either the batches are wide enough for BLAS or the run visits at least
    :data:`AUTO_MIN_VISITS` samples (n_samples × epochs); shorter runs stay on NumPy, where
    the compiler's one-off cost (a few seconds once per machine, then cached; a new
    architecture's own kernel compiles in the background) would not pay. The rule looks only
    at the run, so results are reproducible bit for bit. A solver that needs only J and ∇J
    (:func:`needs_objective`: L-BFGS) gets the full-batch trainer, whose pass gives both; with
    ``"auto"`` when its layers are too narrow for BLAS and the run that long (iterations as
    epochs).

    Raises:
        ValueError: unknown engine, or ``"numba"`` for something it does not support (the
            message names it).
    """
    full_batch = batch_size >= len(X)
    if not compiled_allowed(engine, lambda: unsupported(network, optimizer, full_batch)):
        return None
    if needs_objective(optimizer):  # "auto": wide layers are NumPy's (BLAS), as long runs
        if engine == "auto" and (uses_blas(network, len(X)) or len(X) * epochs < AUTO_MIN_VISITS):
            return None
        batch_size = len(X)
    elif engine == "auto" and not uses_blas(network, batch_size):
        visits = len(X) * epochs
        if visits < AUTO_MIN_VISITS:
            return None
    return make_trainer(TrainingRun(network, optimizer, X, Y, batch_size, weight_decay))


def compiled_allowed(engine: str, obstacles: Callable[[], list[str]]) -> bool:
    """Whether ``engine`` lets a compiled engine train this run, given what keeps it from it.

    ``"numpy"`` → False; ``"auto"`` → True when ``obstacles()`` finds nothing; ``"numba"`` →
    True, or an error naming the obstacles. Shared by :func:`select_engine` and the estimators.

    Raises:
        ValueError: unknown engine, or ``"numba"`` with obstacles (the message names them).
    """
    if engine not in ENGINES:
        raise ParameterError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "numpy":
        return False
    reasons = obstacles()
    if reasons and engine == "numba":
        raise ParameterError(
            "engine='numba' does not support " + "; ".join(reasons) + " (use engine='auto' "
            "or 'numpy' for the NumPy path)"
        )
    return not reasons


def uses_blas(network: Network, batch_size: int) -> bool:
    """True when a batch is big enough (:data:`BLAS_MIN_MACS`) for the BLAS trainer."""
    macs = sum(layer.n_in * layer.n_out for layer in network.layers)
    return batch_size > 1 and batch_size * macs >= BLAS_MIN_MACS


def make_trainer(run: TrainingRun) -> EpochTrainer:
    """The compiled engine for this training run (check :func:`unsupported` first): full
    batches on the full-batch trainer (unless SGD, momentum or Adam on layers wide enough for
    BLAS), mini-batches on BLAS or the per-sample kernels."""
    full_batch = run.batch_size >= len(run.X)
    rule = type(run.optimizer) in (Rprop, Quickprop, Sarprop)
    if needs_objective(run.optimizer):  # no step of its own: SGD's slots stand in
        run = replace(run, optimizer=SGD(learning_rate=1.0))
        rule = True
    if full_batch and (rule or not uses_blas(run.network, run.batch_size)):
        from retroprop._fast.batch_chunks import ChunkedTrainer

        return ChunkedTrainer(run)
    if uses_blas(run.network, run.batch_size):
        from retroprop._fast.blas import BlasTrainer

        return BlasTrainer(run)
    from retroprop._fast.trainer import KernelTrainer

    return KernelTrainer(run)


def wait_for_compiles(timeout: float | None = None) -> bool:
    """Wait until the kernels generated for the architectures this process trained are
    compiled (in the background: :mod:`.background`), for runs that time the compiled engine
    (``compare``); True when every compile worker has exited (done, or failed: the generic
    kernels then stay)."""
    from retroprop._fast import background

    return background.wait(timeout)
