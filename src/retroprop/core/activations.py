"""Activation functions as (value, derivative) pairs.

A neuron j computes its net input zⱼ = Σᵢ wⱼᵢ xᵢ + bⱼ and its output oⱼ = f(zⱼ). Backpropagation
needs f′(zⱼ); for most activations it is cheaper to compute from the output a = f(z) than from
z (sigmoid′ = a(1 − a), tanh′ = 1 − a²), so every derivative receives both.

Softmax is not element-wise: its Jacobian couples all outputs of the layer. It therefore
exposes :meth:`Activation.backprop` (a Jacobian-vector product) rather than an element-wise
derivative, and may only be used in the output layer.

All functions take and return arrays of shape (n_samples, n_neurons).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from retroprop.core.registry import lookup

Array = NDArray[np.floating]

__all__ = [
    "ACTIVATIONS",
    "ACTIVATION_ALIASES",
    "FANN_CLIP",
    "LEAKY_SLOPE",
    "Activation",
    "get_activation",
]


@dataclass(frozen=True)
class Activation:
    """One activation function f with its derivative.

    Attributes:
        name: registry name (``"sigmoid"``, ``"tanh"``, …).
        value: z ↦ f(z), element-wise on (n_samples, n_neurons).
        derivative: (z, a) ↦ f′(z) element-wise, where a = f(z); ``None`` for softmax, whose
            Jacobian is not diagonal.
        output_only: True when the activation is only meaningful in the output layer.
    """

    name: str
    value: Callable[[Array], Array]
    derivative: Callable[[Array, Array], Array] | None
    output_only: bool = False

    def __call__(self, z: Array) -> Array:
        return self.value(z)

    def backprop(self, z: Array, a: Array, grad_a: Array) -> Array:
        """Chain rule through the activation: ∂E/∂z from ∂E/∂a.

        For an element-wise f this is f′(z) ⊙ ∂E/∂a. For softmax, with s = softmax(z),
        ∂E/∂zₖ = sₖ (∂E/∂aₖ − Σₘ sₘ ∂E/∂aₘ).

        Args:
            z: net input, shape (n_samples, n_neurons).
            a: f(z), same shape.
            grad_a: ∂E/∂a, same shape.

        Returns:
            ∂E/∂z, shape (n_samples, n_neurons).
        """
        if self.derivative is None:  # softmax
            return a * (grad_a - np.sum(grad_a * a, axis=1, keepdims=True))
        return self.derivative(z, a) * grad_a

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


def _sigmoid(z: Array) -> Array:
    # scipy's expit is one stable ufunc (no overflow for large |z|, float32 stays float32).
    # It is imported on first use because importing scipy.special takes a quarter second.
    from scipy.special import expit

    out: Array = expit(z)
    return out


def _softmax(z: Array) -> Array:
    # Max-shifted so that exp never overflows; the shift cancels in the ratio. z − max ≤ 0, so the
    # subtraction can only overflow towards −inf (when z spans more than the dtype's range), and
    # e^(−inf) = 0 is then the right answer: silence that one warning.
    with np.errstate(over="ignore"):
        shifted = z - np.max(z, axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=1, keepdims=True)


def _gaussian(z: Array) -> Array:
    # z² overflows to inf for |z| > 1.3e154 (float64), and e^(−inf) = 0 is then the answer.
    with np.errstate(over="ignore"):
        out: Array = np.exp(-(z * z))
    return out


LEAKY_SLOPE = 0.01
"""Slope of leaky ReLU for z < 0."""

FANN_CLIP = (float(np.float32(0.01)), float(np.float32(0.99)))
"""The interval FANN 2.2 clips a sigmoid output to before its derivative
(``fann_activation_derived``: ``fann_clip(value, 0.01f, 0.99f)``). FANN writes the bounds as C
floats, so they are 0.01 and 0.99 rounded to float32 (0.009999999776…, 0.990000009536…): the
same bits as FANN's in float32 and in float64."""


def _sigmoid_fann_derivative(z: Array, a: Array) -> Array:
    # FANN's sigmoid′ = c(1 − c) with c = clip(a, 0.01, 0.99): it never falls below 0.0099, so
    # a saturated unit still learns (as Fahlman's flat-spot offset); inside the clip it is a(1 − a).
    c = np.clip(a, *FANN_CLIP)
    out: Array = c * (1.0 - c)
    return out


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        # sigmoid′(z) = a(1 − a): the lecture's o(1 − o).
        Activation("sigmoid", _sigmoid, lambda z, a: a * (1.0 - a)),
        # FANN's FANN_SIGMOID (steepness ½): the same values, its clipped derivative.
        Activation("sigmoid_fann", _sigmoid, _sigmoid_fann_derivative),
        Activation("tanh", np.tanh, lambda z, a: 1.0 - a * a),
        Activation("relu", lambda z: np.maximum(z, 0.0), lambda z, a: (z > 0).astype(z.dtype)),
        Activation(
            "leaky_relu",
            lambda z: np.where(z > 0, z, LEAKY_SLOPE * z),
            lambda z, a: np.where(z > 0, 1.0, LEAKY_SLOPE).astype(z.dtype),
        ),
        Activation("identity", lambda z: z.copy(), lambda z, a: np.ones_like(z)),
        Activation("softmax", _softmax, None, output_only=True),
        # The periodic and radial units of FANN's cascade candidates (its SIN_SYMMETRIC,
        # COS_SYMMETRIC and GAUSSIAN): one cos unit on Σ xᵢ is the parity of binary inputs.
        Activation("sin", np.sin, lambda z, a: np.cos(z)),
        Activation("cos", np.cos, lambda z, a: -np.sin(z)),
        # gaussian′(z) = −2z e^(−z²) = −2 z a, as (−2a)·z: a = 0 wherever z² would overflow
        Activation("gaussian", _gaussian, lambda z, a: (-2.0 * a) * z),
    )
}
"""Registry of the built-in activations by name."""

ACTIVATION_ALIASES = {"logistic": "sigmoid", "linear": "identity", "leaky": "leaky_relu"}
"""Other names accepted for registry names (scikit-learn's ``"logistic"`` is sigmoid)."""


def get_activation(activation: str | Activation) -> Activation:
    """Look up an activation by name (or pass an :class:`Activation` through).

    Accepts scikit-learn's names too (``"logistic"`` for sigmoid).

    Raises:
        ValueError: the name is unknown; the message lists the valid names.
    """
    if isinstance(activation, Activation):
        return activation
    return lookup("activation", activation, ACTIVATIONS, ACTIVATION_ALIASES)


# -- scikit-learn's variants -----------------------------------------------------------------
ACTIVATIONS["exp"] = Activation("exp", np.exp, lambda z, a: a, output_only=True)
"""exp(z), the inverse of the log link of the Poisson loss (scikit-learn's ``out_activation_``
for ``loss="poisson"``); exp′(z) = exp(z) = a, so the derivative is the output itself. Output
layer only: it is a link function mapping z to a positive rate, not a feature transform (stacked
in hidden layers it overflows quickly)."""
