"""The numbers the compiled engine and its host side share: codes and slots, in one leaf.

Codes are plain integers, so that one compiled kernel serves every network (branches on them
sit outside the loops over neurons):

- activation: 0 identity, 1 sigmoid, 2 tanh, 3 relu, 4 leaky_relu, 5 softmax, 6 sigmoid_fann
  (:data:`ACT_CODES` maps the registry's names to them);
- loss: 0 squared_error, 1 binary_cross_entropy, 2 categorical_cross_entropy, 3 absolute_error
  (:data:`LOSS_CODES`);
- optimizer: 0 SGD, 1 momentum, 2 Nesterov momentum, 3 Adam (Algorithm 1 of Kingma & Ba),
  4 Adam in scikit-learn's form (the estimators' epochs only).

Scalars travel to the kernels in one array ``c`` (the network's dtype, so float32 stays
float32 as in NumPy, where Python floats are weak scalars); the ``C_*`` constants name its
slots. :func:`layer_offsets` lays out the flat parameter vector θ and the activations buffer.

This module imports nothing of :mod:`retroprop._fast`: every other module of the package may
import it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

IDENTITY, SIGMOID, TANH, RELU, LEAKY_RELU, SOFTMAX, SIGMOID_FANN = range(7)
SQUARED, BCE, CCE, ABSOLUTE = range(4)
SGD, MOMENTUM, NESTEROV, ADAM, SKLEARN_ADAM = range(5)
RPROP_PLUS, RPROP_MINUS, IRPROP_PLUS, IRPROP_MINUS, QUICKPROP, SARPROP = range(5, 11)
IRPROP_FANN = 11

RULE_CODES = {
    "rprop+": RPROP_PLUS,
    "rprop-": RPROP_MINUS,
    "irprop+": IRPROP_PLUS,
    "irprop-": IRPROP_MINUS,
    "irprop-fann": IRPROP_FANN,
    "quickprop": QUICKPROP,
    "sarprop": SARPROP,
}
"""Code of each full-batch step rule by its ``name`` (:mod:`.fullbatch`)."""

(H_ETA_PLUS, H_ETA_MINUS, H_DELTA_MAX, H_DELTA_MIN, H_ETA, H_MU, H_SHRINK) = range(7)
(H_DECAY, H_LIMIT, H_SMALL, H_THRESHOLD, H_FLOOR) = range(7, 12)
N_HYPER = 12
"""Slots of the full-batch rules' settings ``h`` (the network's dtype): Rprop's η⁺, η⁻,
Δ_max, Δ_min (and the floor 10⁻⁴ on the previous step size of FANN's iRprop⁻); Quickprop's η,
μ, μ/(1 + μ), decay/n, weight limit and smallest trusted step (0.001); SARPROP's annealed
decay/n and step-error threshold of the epoch (set before each step)."""

ACT_CODES = {
    "identity": IDENTITY,
    "sigmoid": SIGMOID,
    "tanh": TANH,
    "relu": RELU,
    "leaky_relu": LEAKY_RELU,
    "softmax": SOFTMAX,
    "sigmoid_fann": SIGMOID_FANN,
}
"""Activation code by registry name (:data:`retroprop.core.activations.ACTIVATIONS`)."""

LOSS_CODES = {
    "squared_error": SQUARED,
    "binary_cross_entropy": BCE,
    "categorical_cross_entropy": CCE,
    "absolute_error": ABSOLUTE,
}
"""Loss code by registry name (:data:`retroprop.core.losses.LOSSES`)."""

MATCHED_CODES = ((IDENTITY, SQUARED), (SIGMOID, BCE), (SOFTMAX, CCE))
"""(activation, loss) codes of the matched pairs, for which ∂E/∂z = a − y
(:data:`retroprop.core.losses.MATCHED_PAIRS`)."""

(C_ONE, C_ZERO, C_HALF, C_LEAK, C_P_LO, C_P_HI, C_ETA, C_NEG_ETA, C_MU, C_WD) = range(10)
(C_B1, C_B2, C_1MB1, C_1MB2, C_ADAM_EPS, C_N, C_BC1, C_BC2) = range(10, 18)
(C_CLIP_LO, C_CLIP_HI) = range(18, 20)
N_CONSTANTS = 20
"""Slots of the kernels' scalars ``c``: one, zero, ½, leaky ReLU's slope, the clip of
probabilities, η, −η, μ, weight decay; Adam's β₁, β₂, 1 − β₁, 1 − β₂, ε, the batch size and the
bias corrections; the interval FANN's sigmoid derivative clips the output to
(:data:`retroprop.core.activations.FANN_CLIP`)."""


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
