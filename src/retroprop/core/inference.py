"""Inference in blocks: what ``Network.predict`` runs (NumPy and BLAS only, nothing compiled).

``Network.forward`` is the readable reference and keeps every z and a of every layer, which
training needs. A prediction needs only the output: here the rows go through the network a
block at a time, each layer writes its activations into a buffer allocated once (z = a·Wᵀ by
``np.matmul(..., out=)``, then + b and f in place), and only the output array is new. The
arithmetic is the reference's, operation for operation, so results equal ``forward`` to
rounding (BLAS may order a dot product differently for a block than for the whole matrix).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from retroprop.core.activations import ACTIVATIONS, LEAKY_SLOPE, Activation
from retroprop.errors import ParameterError

Array = NDArray[np.floating]


class Layer(Protocol):
    """What inference reads of a layer (a :class:`~retroprop.core.network.Dense`): W (n_out,
    n_in), b (n_out,) and f. Named by shape, not imported, so that the network can import this
    module."""

    @property
    def W(self) -> Array: ...
    @property
    def b(self) -> Array: ...
    @property
    def activation(self) -> Activation: ...


class Layers(Protocol):
    """What inference reads of a network: its layers, first to last."""

    @property
    def layers(self) -> Sequence[Layer]: ...


CHUNK = 16384
"""Rows per block: big enough for BLAS to run at speed on every core (with two threads on a
loaded 2-core machine, 4,096-row blocks took 1.3–1.5× as long as 16,384 on the W2 network:
each product is a fork and join of the BLAS threads), small enough that a block's activations
are not a second copy of the data (for 784-256-128-10 in float32, 25 MB)."""


def activate(z: Array, activation: Activation) -> None:
    """o = f(z) in place on z (k, n); the built-in activations without a temporary array."""
    name = activation.name
    if ACTIVATIONS.get(name) is not activation:  # a user's own activation: call it
        z[...] = activation(z)
    elif name == "sigmoid":  # 1 / (1 + e^−z) with NumPy's vectorized exp (3× scipy's expit)
        np.negative(z, out=z)
        with np.errstate(over="ignore", under="ignore"):  # e^−z = inf or 0: outputs 0 or 1
            np.exp(z, out=z)
        z += 1
        np.reciprocal(z, out=z)
    elif name == "tanh":
        np.tanh(z, out=z)
    elif name == "relu":
        np.maximum(z, 0, out=z)
    elif name == "leaky_relu":
        np.multiply(z, LEAKY_SLOPE, out=z, where=~(z > 0))
    elif name == "softmax":  # max-shifted, as activations._softmax
        with np.errstate(over="ignore"):
            z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
    elif name != "identity":
        z[...] = activation(z)


def forward_block(layers: Sequence[Layer], X: Array, A: list[Array]) -> Array:
    """Forward pass of a block X (m, n₀) through ``layers`` into the buffers A[l] (at least m
    rows each).

    Returns:
        The output block, a view of A[-1] of shape (m, n_L).
    """
    m = len(X)
    a = X
    for layer, buf in zip(layers, A, strict=True):
        z = buf[:m]
        np.matmul(a, layer.W.T, out=z)
        z += layer.b
        activate(z, layer.activation)
        a = z
    return a


def predict(network: Layers, X: Array, chunk: int = CHUNK) -> Array:
    """Network output for X (n_samples, n₀) → (n_samples, n_L), block by block.

    X must already be a 2-D array in the network's dtype. NaN and infinity in X are errors,
    found without a pass over X: a non-finite input makes every net input of its row non-finite
    (∞·0 is NaN, and NaN spreads through sums), so the first neuron's net inputs are checked,
    and only a block where one of them is not finite (an input, or an overflow) is searched.

    Raises:
        ValueError: a value of X is NaN or infinite (the message names the first such row).
    """
    X = np.ascontiguousarray(X)
    first, rest = network.layers[0], network.layers[1:]
    dtype = first.W.dtype
    out = np.empty((len(X), network.layers[-1].W.shape[0]), dtype=dtype)
    rows = min(chunk, len(X))
    hidden = [np.empty((rows, layer.W.shape[0]), dtype=dtype) for layer in network.layers[:-1]]
    for s in range(0, len(X), chunk):
        block = X[s : s + chunk]
        m = len(block)
        targets = [*hidden, out[s : s + m]]  # each layer's output buffer for this block
        z = targets[0][:m]
        with np.errstate(invalid="ignore", over="ignore"):  # a bad input is reported below
            np.matmul(block, first.W.T, out=z)
        if not np.isfinite(z[:, 0]).all():
            _check_finite(block, s)
        z += first.b
        activate(z, first.activation)
        if rest:
            forward_block(rest, z, targets[1:])
    return out


def _check_finite(block: Array, start: int) -> None:
    finite = np.isfinite(block)
    if not finite.all():
        row = start + int(np.argwhere(~finite)[0][0])
        raise ParameterError(f"X: non-finite value (NaN or inf) in row {row}")
