"""Compiled accelerators for the training loop, checked against the NumPy reference.

:func:`make_trainer` looks at a network, an optimizer and a batch size and returns an object
whose ``run_epoch(index)`` does what the NumPy loop of :func:`retroprop.train.loop.fit` does for
one epoch (same sample order, same arithmetic, equal to rounding), or explains why it cannot:

- small layers (online and small mini-batches): one numba kernel call per epoch that visits
  the samples in the shuffled order with preallocated buffers (:mod:`._kernels`); for online
  SGD on layers of at most 64 neurons, and for every epoch's logs, a kernel generated for the
  architecture, with sizes and formulas written out (:mod:`._codegen`);
- large layers with mini-batches: BLAS matrix products into preallocated buffers
  (:mod:`._blas`);
- the scikit-learn estimators' epochs (their per-batch objective and Adam form):
  :mod:`._objective`, chosen by :mod:`retroprop.estimators._compiled`.

:func:`select_engine` decides for :func:`~retroprop.train.loop.fit` (``engine="auto"``).

Supported: the built-in activations and losses (the registry objects themselves, not custom
ones) and the optimizers SGD, momentum (classic and Nesterov) and Adam, with weight decay.
Rprop and L-BFGS stay on the NumPy path.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from retroprop.core.activations import ACTIVATIONS
from retroprop.core.losses import LOSSES
from retroprop.core.network import Network
from retroprop.core.optimizers import SGD, Adam, Momentum
from retroprop.errors import ParameterError

Array = NDArray[np.floating]

__all__ = [
    "ENGINES",
    "EpochTrainer",
    "make_trainer",
    "predict",
    "select_engine",
    "unsupported",
    "unsupported_network",
]

ENGINES = ("auto", "numba", "numpy")

AUTO_MIN_VISITS = 20_000
"""Shortest run (n_samples × epochs) for which ``engine="auto"`` uses the numba kernels.

The choice depends only on the run, never on what happens to be compiled already, so the same
call with the same seed gives the same weights bit for bit on every run."""

BLAS_MIN_MACS = 1 << 21
"""Multiply-adds per batch (batch size × Σ n_in·n_out) from which mini-batches go to BLAS: the
matrix products then outweigh the Python calls around them (≈ 20 per batch)."""

ACT_CODES = {"identity": 0, "sigmoid": 1, "tanh": 2, "relu": 3, "leaky_relu": 4, "softmax": 5}
LOSS_CODES = {
    "squared_error": 0,
    "binary_cross_entropy": 1,
    "categorical_cross_entropy": 2,
    "absolute_error": 3,
}


class EpochTrainer(Protocol):
    """What :func:`retroprop.train.loop.fit` needs from a compiled engine."""

    def run_epoch(
        self,
        index: NDArray[np.intp],
        tally: NDArray[np.float64] | None = None,
        classify: bool = False,
    ) -> int:
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


def unsupported(network: Network, optimizer: object) -> list[str]:
    """What keeps the compiled engine from training this network with this optimizer.

    Returns:
        One phrase per obstacle (empty when the compiled engine applies).
    """
    reasons = unsupported_network(network)
    if type(optimizer) not in (SGD, Momentum, Adam):
        name = getattr(optimizer, "name", type(optimizer).__name__)
        reasons.append(f"optimizer {name!r} (compiled: sgd, momentum, nesterov, adam)")
    return reasons


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
    if LOSSES.get(network.loss.name) is not network.loss:
        reasons.append(f"custom loss {network.loss.name!r}")
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
    the compiler's one-off cost (a few seconds per machine and architecture, then cached)
    would not pay. The rule looks only at the run, so results are reproducible bit for bit.

    Raises:
        ValueError: unknown engine, or ``"numba"`` for something it does not support (the
            message names it).
    """
    if engine not in ENGINES:
        raise ParameterError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "numpy":
        return None
    reasons = unsupported(network, optimizer)
    if reasons:
        if engine == "numba":
            raise ParameterError(
                "engine='numba' does not support " + "; ".join(reasons) + " (use engine='auto' "
                "or 'numpy' for the NumPy path)"
            )
        return None
    if engine == "auto" and not uses_blas(network, batch_size):
        visits = len(X) * epochs
        if visits < AUTO_MIN_VISITS:
            return None
    return make_trainer(network, optimizer, X, Y, batch_size, weight_decay)


def uses_blas(network: Network, batch_size: int) -> bool:
    """True when a batch is big enough (:data:`BLAS_MIN_MACS`) for the BLAS trainer."""
    macs = sum(layer.n_in * layer.n_out for layer in network.layers)
    return batch_size > 1 and batch_size * macs >= BLAS_MIN_MACS


def make_trainer(
    network: Network,
    optimizer: Any,
    X: Array,
    Y: Array,
    batch_size: int,
    weight_decay: float,
) -> EpochTrainer:
    """The compiled engine for this training run (check :func:`unsupported` first)."""
    if uses_blas(network, batch_size):
        from retroprop._fast._blas import BlasTrainer

        return BlasTrainer(network, optimizer, X, Y, batch_size, weight_decay)
    from retroprop._fast._trainer import KernelTrainer

    return KernelTrainer(network, optimizer, X, Y, batch_size, weight_decay)


def predict(network: Network, X: Array) -> Array:
    """Network output for X (n_samples, n₀) → (n_samples, n_L), in cache-sized blocks: what
    ``network.predict(X)`` runs (:mod:`retroprop.core.inference`)."""
    return network.predict(X)


def layer_offsets(sizes: Sequence[int]) -> tuple[NDArray[np.int64], ...]:
    """Offsets of Wₗ and bₗ in the flat parameter vector and of each layer's output in ``act``.

    Returns:
        (sizes, w_off, b_off, a_off) as int64 arrays of lengths L + 1, L, L, L + 1.
    """
    w_off, b_off, a_off = [], [], [0]
    p = 0
    for n_in, n_out in itertools.pairwise(sizes):
        w_off.append(p)
        b_off.append(p + n_in * n_out)
        p += n_in * n_out + n_out
    for n in sizes[:-1]:
        a_off.append(a_off[-1] + n)
    return tuple(np.asarray(v, dtype=np.int64) for v in (sizes, w_off, b_off, a_off))


def cache_dir() -> Path:
    """The folder where generated kernels and their compiled code are cached (see
    :mod:`._codegen`; imported on use, since it imports numba)."""
    from retroprop._fast._codegen import cache_dir as folder

    return folder()
