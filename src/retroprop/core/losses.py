"""Loss functions as (value, gradient) pairs.

Every loss is defined **per sample**, summed over the output neurons, like the lecture's
E = ½ Σₖ (yₖ − oₖ)². The error of a network on a data set is the mean of the per-sample values;
for squared error the lecture calls that mean "MSE" (note the ½ and the sum over outputs: it is
not scikit-learn's ``mean_squared_error``, which averages over outputs and has no ½).

Matched pairs. For three (output activation, loss) pairs the chain rule collapses to
∂E/∂z = a − y, which is both cheaper and more stable than the general path
``activation.backprop(z, a, loss.gradient(y, a))``:

- identity + squared error,
- sigmoid + binary cross-entropy,
- softmax + categorical cross-entropy.

:func:`output_grad_z` takes the shortcut for exactly these pairs and the general chain rule
otherwise; tests check that both give the same numbers.

Arrays: y and a have shape (n_samples, n_outputs); values have shape (n_samples,).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from retroprop.core.activations import Activation
from retroprop.core.registry import lookup

Array = NDArray[np.floating]

__all__ = ["LOSSES", "LOSS_ALIASES", "MATCHED_PAIRS", "Loss", "get_loss", "output_grad_z"]


def _eps(a: Array) -> float:
    """Smallest probability used inside logs (clipping keeps log finite)."""
    return float(np.finfo(a.dtype).eps)


@dataclass(frozen=True)
class Loss:
    """One per-sample loss E(y, a) with its gradient ∂E/∂a.

    Attributes:
        name: registry name.
        value: (y, a) ↦ E per sample, shape (n_samples,).
        gradient: (y, a) ↦ ∂E/∂a, shape (n_samples, n_outputs).
    """

    name: str
    value: Callable[[Array, Array], Array]
    gradient: Callable[[Array, Array], Array]

    def mean(self, y: Array, a: Array) -> float:
        """Mean of the per-sample loss over the samples (the lecture's MSE for squared error)."""
        return float(np.mean(self.value(y, a)))

    def __repr__(self) -> str:
        return f"Loss({self.name!r})"


def _bce(y: Array, a: Array) -> Array:
    p = np.clip(a, _eps(a), 1.0 - _eps(a))
    return -np.sum(y * np.log(p) + (1.0 - y) * np.log1p(-p), axis=1)


def _bce_grad(y: Array, a: Array) -> Array:
    p = np.clip(a, _eps(a), 1.0 - _eps(a))
    return (p - y) / (p * (1.0 - p))


def _cce(y: Array, a: Array) -> Array:
    return -np.sum(y * np.log(np.clip(a, _eps(a), 1.0)), axis=1)


def _cce_grad(y: Array, a: Array) -> Array:
    return -y / np.clip(a, _eps(a), 1.0)


LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in (
        # E = ½ Σₖ (yₖ − oₖ)²,  ∂E/∂oₖ = oₖ − yₖ
        Loss("squared_error", lambda y, a: 0.5 * np.sum((y - a) ** 2, axis=1), lambda y, a: a - y),
        # E = −Σₖ [yₖ log oₖ + (1 − yₖ) log(1 − oₖ)]
        Loss("binary_cross_entropy", _bce, _bce_grad),
        # E = −Σₖ yₖ log oₖ
        Loss("categorical_cross_entropy", _cce, _cce_grad),
        # E = Σₖ |yₖ − oₖ|,  ∂E/∂oₖ = sign(oₖ − yₖ)  (0 at the kink)
        Loss(
            "absolute_error",
            lambda y, a: np.sum(np.abs(y - a), axis=1),
            lambda y, a: np.sign(a - y),
        ),
    )
}
"""Registry of the built-in losses by name."""

LOSS_ALIASES = {
    "mse": "squared_error",
    "squared": "squared_error",
    "log_loss": "binary_cross_entropy",
    "bce": "binary_cross_entropy",
    "cross_entropy": "categorical_cross_entropy",
    "cce": "categorical_cross_entropy",
    "mae": "absolute_error",
    "absolute": "absolute_error",
}
"""Other names accepted for registry names (short forms and scikit-learn's)."""

MATCHED_PAIRS = frozenset(
    {
        ("identity", "squared_error"),
        ("sigmoid", "binary_cross_entropy"),
        ("softmax", "categorical_cross_entropy"),
    }
)
"""(activation, loss) pairs for which ∂E/∂z = a − y exactly."""


def get_loss(loss: str | Loss) -> Loss:
    """Look up a loss by name (or pass a :class:`Loss` through).

    Raises:
        ValueError: the name is unknown; the message lists the valid names.
    """
    if isinstance(loss, Loss):
        return loss
    return lookup("loss", loss, LOSSES, LOSS_ALIASES)


def output_grad_z(
    loss: Loss, activation: Activation, z: Array, a: Array, y: Array, *, shortcut: bool = True
) -> Array:
    """∂E/∂z at the output layer, per sample.

    Uses the matched-pair shortcut ∂E/∂z = a − y when (activation, loss) is one of
    :data:`MATCHED_PAIRS` and ``shortcut`` is true; otherwise the general chain rule
    f′(z) ⊙ ∂E/∂a (or the softmax Jacobian-vector product).

    Args:
        loss, activation: the network's loss and output activation.
        z, a, y: net input, output and target, each (n_samples, n_outputs).

    Returns:
        ∂E/∂z, shape (n_samples, n_outputs). The lecture's output delta is its negative:
        δₖ = f′(zₖ)(yₖ − oₖ).
    """
    if shortcut and (activation.name, loss.name) in MATCHED_PAIRS:
        return a - y
    return activation.backprop(z, a, loss.gradient(y, a))


# -- scikit-learn's variants -----------------------------------------------------------------
def _poisson(y: Array, a: Array) -> Array:
    # xlogy(y, ·) is 0 where y = 0 (a count of zero has no log term). scipy.special is imported
    # on first use because importing it takes a quarter second.
    from scipy.special import xlogy

    out: Array = np.sum(xlogy(y, y / a) - y + a, axis=1)
    return out


LOSSES["poisson"] = Loss("poisson", _poisson, lambda y, a: 1.0 - y / a)
"""Half the Poisson deviance per sample, E = Σₖ [yₖ log(yₖ/oₖ) − yₖ + oₖ] for counts or rates
y ≥ 0 and predicted rates o > 0; ∂E/∂oₖ = 1 − yₖ/oₖ. With the ``exp`` output (the log link) the
chain rule gives ∂E/∂z = o ⊙ (1 − y/o) = o − y, scikit-learn's gradient; the pair is not among
:data:`MATCHED_PAIRS`, so the general path computes it (equal up to rounding)."""
