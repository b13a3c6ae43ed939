"""Inference in blocks: what ``Network.predict`` runs.

``Network.forward`` is the readable reference and keeps every z and a of every layer, which
training needs. A prediction needs only the output: here the rows go through the network a
block at a time, each layer writes its activations into a buffer allocated once (z = a·Wᵀ + b
by ``np.matmul(..., out=)`` and + b, then f in place), and only the output array is new. The
arithmetic is the reference's, operation for operation, so results equal ``forward`` to
rounding (BLAS may order a dot product differently for a block than for the whole matrix).

The core compiles nothing, but a faster z = a·Wᵀ + b can be handed to :func:`accelerate`
(``retroprop._fast`` does, with a kernel compiled for the host's instruction set: OpenBLAS
runs 256-bit code on processors it does not know, half of an AVX-512 core). The rows are then
split between the threads BLAS is allowed, each running its own blocks of :data:`BLOCK` rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
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
    elif name in ("sigmoid", "sigmoid_fann"):  # 1 / (1 + e^−z), NumPy's exp (3× scipy's expit)
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


class Accelerator(Protocol):
    """A compiled z = a·Wᵀ + b that a faster package (``retroprop._fast``, which the core may
    not import) hands to :func:`accelerate`."""

    def threads(self) -> int:
        """Threads a prediction may run on (each with its own rows)."""
        ...

    def ready(self, X: Array, layers: list[tuple[Array, Array]]) -> bool:
        """Whether :meth:`affine` can run now on X and these (W, b), all C-contiguous."""
        ...

    def affine(self, a: Array, W: Array, b: Array, z: Array) -> None:
        """z (m, n_out) = a (m, n_in) · W (n_out, n_in)ᵀ + b (n_out,), into z."""
        ...


_ACCELERATOR: list[Accelerator] = []

BLOCK = 1024
"""Rows per block with a compiled product: a block's activations stay in the core's own cache
(784-256-128-10 in float32: 1.5 MB), and there are no BLAS threads to fork and join."""

Product = Callable[[int, Array, Array], None]
"""``product(l, a, z)``: z = a·W_lᵀ + b_l for layer l, into z."""


def accelerate(accelerator: Accelerator | None) -> None:
    """Use ``accelerator``'s product in every later :func:`predict` it is ready for (None:
    BLAS only)."""
    _ACCELERATOR[:] = [] if accelerator is None else [accelerator]


def predict(network: Layers, X: Array, chunk: int = CHUNK) -> Array:
    """Network output for X (n_samples, n₀) → (n_samples, n_L), block by block.

    X must already be a 2-D array in the network's dtype. NaN and infinity in X are errors,
    found without a pass over X: a non-finite input makes every net input of its row non-finite
    (∞·0 is NaN, and NaN spreads through sums), so the first neuron's net inputs are checked,
    and only a block where one of them is not finite (an input, or an overflow) is searched.
    With an :func:`accelerate`-d product that is ready, the rows are split between its threads
    (blocks of :data:`BLOCK` rows); else BLAS computes blocks of ``chunk`` rows.

    Raises:
        ValueError: a value of X is NaN or infinite (the message names the first such row).
    """
    X = np.ascontiguousarray(X)
    layers = network.layers
    out = np.empty((len(X), layers[-1].W.shape[0]), dtype=layers[0].W.dtype)
    if _ACCELERATOR:
        fast = _ACCELERATOR[0]
        params = [(np.ascontiguousarray(la.W), np.ascontiguousarray(la.b)) for la in layers]
        if fast.ready(X, params):
            _threaded(layers, X, out, fast, params)
            return out

    def blas(l: int, a: Array, z: Array) -> None:
        np.matmul(a, layers[l].W.T, out=z)
        z += layers[l].b

    _rows(layers, X, out, 0, chunk, blas)
    return out


def _threaded(
    layers: Sequence[Layer],
    X: Array,
    out: Array,
    fast: Accelerator,
    params: list[tuple[Array, Array]],
) -> None:
    """:func:`_rows` with ``fast``'s product, the rows split evenly between its threads (the
    kernel releases the GIL); the first part's error is the one raised."""

    def product(l: int, a: Array, z: Array) -> None:
        fast.affine(a, *params[l], z)

    parts = max(1, min(fast.threads(), len(X) // BLOCK))
    edges = [len(X) * p // parts for p in range(parts + 1)]
    spans = list(itertools.pairwise(edges))
    if parts == 1:
        _rows(layers, X, out, 0, BLOCK, product)
        return
    with ThreadPoolExecutor(parts) as pool:
        jobs = [pool.submit(_rows, layers, X[s:e], out[s:e], s, BLOCK, product) for s, e in spans]
        for job in jobs:
            job.result()


def _rows(
    layers: Sequence[Layer], X: Array, out: Array, start: int, chunk: int, product: Product
) -> None:
    """out = the network's output for X, ``chunk`` rows at a time through every layer, each
    layer's z = a·Wᵀ + b by ``product`` into a buffer allocated once, then f in place. X's
    rows start at row ``start`` of the caller's (for error messages)."""
    dtype = out.dtype
    rows = min(chunk, len(X))
    hidden = [np.empty((rows, layer.W.shape[0]), dtype=dtype) for layer in layers[:-1]]
    for s in range(0, len(X), chunk):
        block = X[s : s + chunk]
        m = len(block)
        targets = [*hidden, out[s : s + m]]  # each layer's output buffer for this block
        a = block
        for l, (layer, buf) in enumerate(zip(layers, targets, strict=True)):
            z = buf[:m]
            if l > 0:
                product(l, a, z)
            else:
                with np.errstate(invalid="ignore", over="ignore"):  # a bad input: see below
                    product(l, a, z)
                if not np.isfinite(z[:, 0]).all():
                    _check_finite(block, start + s)
            activate(z, layer.activation)
            a = z


def _check_finite(block: Array, start: int) -> None:
    finite = np.isfinite(block)
    if not finite.all():
        row = start + int(np.argwhere(~finite)[0][0])
        raise ParameterError(f"X: non-finite value (NaN or inf) in row {row}")
