"""Weight initialisation, reproducible from a seed.

Each initializer is ``(rng, n_in, n_out, dtype) -> (W, b)`` with W of shape (n_out, n_in)
(row j holds the weights wⱼᵢ into neuron j) and b of shape (n_out,).

- ``"uniform"``: the lecture's small random weights, wⱼᵢ, bⱼ ~ U(−0.5, 0.5).
- ``"glorot"``: Glorot & Bengio (2010) uniform, limit √(6 / (n_in + n_out)); biases drawn from
  the same range, as scikit-learn's MLP does.
- ``"he"``: He et al. (2015) normal, std √(2 / n_in), biases zero; meant for ReLU layers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import DTypeLike, NDArray

from retroprop.errors import ParameterError

Array = NDArray[np.floating]
Initializer = Callable[[np.random.Generator, int, int, DTypeLike], tuple[Array, Array]]

__all__ = ["INITIALIZERS", "get_initializer"]


def uniform(
    rng: np.random.Generator, n_in: int, n_out: int, dtype: DTypeLike, scale: float = 0.5
) -> tuple[Array, Array]:
    """wⱼᵢ, bⱼ ~ U(−scale, scale): the lecture's "small random weights"."""
    W = rng.uniform(-scale, scale, size=(n_out, n_in)).astype(dtype)
    b = rng.uniform(-scale, scale, size=n_out).astype(dtype)
    return W, b


def glorot(
    rng: np.random.Generator, n_in: int, n_out: int, dtype: DTypeLike
) -> tuple[Array, Array]:
    """Glorot uniform: wⱼᵢ, bⱼ ~ U(−r, r), r = √(6 / (n_in + n_out))."""
    return uniform(rng, n_in, n_out, dtype, scale=float(np.sqrt(6.0 / (n_in + n_out))))


def he(rng: np.random.Generator, n_in: int, n_out: int, dtype: DTypeLike) -> tuple[Array, Array]:
    """He normal: wⱼᵢ ~ N(0, 2 / n_in), bⱼ = 0."""
    W = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in)).astype(dtype)
    return W, np.zeros(n_out, dtype=dtype)


INITIALIZERS: dict[str, Initializer] = {"uniform": uniform, "glorot": glorot, "he": he}
"""Registry of the built-in initializers by name."""


def get_initializer(init: str | Initializer) -> Initializer:
    """Look up an initializer by name (a callable is passed through).

    Raises:
        ValueError: the name is unknown; the message lists the valid names.
    """
    if callable(init):
        return init
    if init not in INITIALIZERS:
        raise ParameterError(f"unknown init {init!r}; valid names: {', '.join(INITIALIZERS)}")
    return INITIALIZERS[init]
