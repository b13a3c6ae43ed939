"""The candidates of cascade-correlation (:mod:`retroprop.train.cascade`): FANN 2.2's pool
of activations, its iRprop⁻ and its stopping rule, and the training of a pool on the residual.

FANN's pool (``cascade_activation_functions``) has ten activations; eight are here:
retroprop's sigmoid, tanh, Gaussian, sine and cosine (FANN's SIGMOID, SIGMOID_SYMMETRIC,
GAUSSIAN, SIN_SYMMETRIC, COS_SYMMETRIC) and three affine images of them, trained as FANN trains
them and installed as the activation they are an image of (:data:`AFFINE_CANDIDATES`). FANN's
Elliot pair is not in retroprop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from retroprop.core.activations import get_activation
from retroprop.core.cascade import CascadeNetwork
from retroprop.core.network import Dense
from retroprop.core.optimizers import Rprop

Array = NDArray[np.floating]

__all__ = [
    "AFFINE_CANDIDATES",
    "CANDIDATE_ACTIVATIONS",
    "Settings",
    "Stagnation",
    "candidate_kind",
    "fann_rprop",
    "train_candidates",
]  # fmt: skip

CANDIDATE_ACTIVATIONS = (
    "sigmoid", "tanh", "gaussian", "gaussian_symmetric", "sin", "cos", "sin01", "cos01",
)  # fmt: skip
"""The default candidate activations: FANN 2.2's list (``cascade_activation_functions``) less
its Elliot pair, which retroprop does not have. FANN's names are ours where both have the unit
(FANN's symmetric sigmoid, sine and cosine are ``tanh``, ``sin``, ``cos``); the others are
:data:`AFFINE_CANDIDATES`."""


class _Kind(NamedTuple):
    """A candidate activation: the unit f (an activation name), its gain c (W = c·s·w) and
    its affine image α·f + β, the candidate's value."""

    activation: str
    gain: float = 1.0
    alpha: float = 1.0
    beta: float = 0.0


AFFINE_CANDIDATES = {
    "gaussian_symmetric": _Kind("gaussian", alpha=2.0, beta=-1.0),  # 2e^(−t²) − 1
    "sin01": _Kind("sin", alpha=0.5, beta=0.5),  # FANN's SIN: (sin t + 1)/2
    "cos01": _Kind("cos", alpha=0.5, beta=0.5),  # FANN's COS: (cos t + 1)/2
}
"""FANN's candidates that are affine images α·f(t) + β of an activation f retroprop has. A
candidate trains as α·f + β; once installed, the unit is f and α, β are folded into the weights
that read it (the output layer's: v·(α f + β) = (α v)·f + β v, β v going into its bias), so
the network computes the same function with an activation of the registry."""


def candidate_kind(name: str) -> _Kind:
    """The candidate kind of an activation name (:data:`AFFINE_CANDIDATES` or the registry's;
    FANN's sigmoid 1/(1 + e^(−2st)) has the gain 2)."""
    return AFFINE_CANDIDATES.get(name) or _Kind(name, gain=2.0 if name == "sigmoid" else 1.0)


@dataclass(frozen=True)
class Settings:
    """cascade_fit's settings (its Args say what each one is)."""

    max_hidden: int
    target_error: float
    bit_fail_limit: float | None
    activations: tuple[str, ...]
    steepnesses: tuple[float, ...]
    groups: int
    max_out_epochs: int
    min_out_epochs: int
    max_cand_epochs: int
    min_cand_epochs: int
    change_fraction: float
    stagnation_epochs: int
    weight_multiplier: float


@dataclass
class Stagnation:
    """FANN's stopping rule: a value must move by ``change_fraction`` within
    ``stagnation_epochs`` epochs (after the minimum number of epochs)."""

    s: Settings
    minimise: bool
    best: float | None = None
    deadline: int = 0

    def stalled(self, value: float, epoch: int, min_epochs: int) -> bool:
        f = self.s.change_fraction
        better = self.best is None or (
            value < self.best * (1 - f) if self.minimise else value > self.best * (1 + f)
        )
        worse = self.best is not None and (
            value > self.best * (1 + f) if self.minimise else value < self.best * (1 - f)
        )
        if better or worse:
            self.best, self.deadline = value, epoch + self.s.stagnation_epochs
        return epoch >= self.deadline and epoch >= min_epochs


def fann_rprop() -> Rprop:
    """iRprop⁻ as FANN 2.2 computes it (``fann_update_weights_irpropm``): the core's
    ``Rprop("irprop-fann")`` with FANN's defaults (η⁺ 1.2, η⁻ 0.5, Δ₀ 0.1, Δ_min 0, Δ_max 50),
    which cascade training uses for the outputs and the candidates as FANN does. FANN also
    clips weights to ±1500, which these networks never reach."""
    return Rprop("irprop-fann", learning_rate=0.1, delta_min=0.0, delta_max=50.0)


# -- the pool -------------------------------------------------------------------------
@dataclass
class _Pool:
    """The candidates' parameters, one row each: w (C, m), b (C,), v (C, k); their kinds
    (activation names, grouped), gains c·s (C,) and affine images α, β (C,)."""

    w: Array
    b: Array
    v: Array
    names: list[str]
    gain: Array
    alpha: Array
    beta: Array

    def outputs(self, H: Array) -> tuple[Array, Array, Array]:
        """(z, f(z), h = α f(z) + β) of every candidate on the columns H: (n, C) each."""
        z = (H @ self.w.T + self.b) * self.gain
        a = np.empty_like(z)
        for name, cols in self._groups():
            a[:, cols] = get_activation(name)(z[:, cols])
        return z, a, self.alpha * a + self.beta

    def derivative(self, z: Array, a: Array) -> Array:
        """dh/dz = α f′(z), (n, C)."""
        d = np.empty_like(z)
        for name, cols in self._groups():
            activation = get_activation(name)
            assert activation.derivative is not None
            d[:, cols] = activation.derivative(z[:, cols], a[:, cols])
        return self.alpha * d

    def _groups(self) -> list[tuple[str, list[int]]]:
        """Each activation f with the candidates (columns) that use it."""
        names = [candidate_kind(n).activation for n in self.names]
        return [(f, [c for c, n in enumerate(names) if n == f]) for f in dict.fromkeys(names)]


def _pool(net: CascadeNetwork, s: Settings, rng: np.random.Generator) -> _Pool:
    """FANN's candidates: every activation × steepness × group, weights in [0, r] (bias ±r)."""
    m, k = net.output.n_in, net.output.n_out
    n = net.n_hidden + 1  # FANN counts the bias neuron among the hidden ones here
    r = float(np.clip(2.0 * (0.7 * n) ** (1.0 / net.n_inputs), 0.5, 8.0))
    pairs = [(a, st) for a in s.activations for st in s.steepnesses for _ in range(s.groups)]
    kinds = [candidate_kind(a) for a, _ in pairs]
    C = len(pairs)
    return _Pool(
        w=rng.uniform(0.0, r, (C, m)),
        b=rng.uniform(-r, r, C),
        v=rng.uniform(0.0, r, (C, k)),
        names=[a for a, _ in pairs],
        gain=np.array([kind.gain * st for kind, (_, st) in zip(kinds, pairs, strict=True)]),
        alpha=np.array([kind.alpha for kind in kinds]),
        beta=np.array([kind.beta for kind in kinds]),
    )


def train_candidates(
    net: CascadeNetwork, H: Array, E: Array, s: Settings, rng: np.random.Generator
) -> tuple[Dense, Array, Array, int]:
    """Train the pool on the residual E = y − o (n, k) of the columns H (n, m). Returns the
    best candidate as a unit f (input weights with its gain folded in), the output layer's
    weights v (k, 1) and bias change (k,) that read f (α v and β v: the candidate's affine
    image folded in), and the epochs spent."""
    sse = float(np.sum(E * E))
    pool = _pool(net, s, rng)
    rule = fann_rprop()
    state = rule.init([pool.w, pool.b, pool.v])
    tracker = Stagnation(s, minimise=False)
    epoch = 0
    for epoch in range(s.max_cand_epochs):
        z, a, h = pool.outputs(H)
        R = h[:, :, None] * pool.v[None, :, :] - E[:, None, :]  # (n, C, k): v h − e
        score = sse - np.sum(R * R, axis=(0, 2))  # (C,)
        if tracker.stalled(float(score.max()), epoch, s.min_cand_epochs):
            break
        dh = 2.0 * np.einsum("nck,ck->nc", R, pool.v) * pool.derivative(z, a) * pool.gain
        grads = [dh.T @ H, dh.sum(axis=0), 2.0 * np.einsum("nck,nc->ck", R, h)]
        updates, state = rule.update(grads, state)
        pool.w += updates[0]
        pool.b += updates[1]
        pool.v += updates[2]
    _, _, h = pool.outputs(H)
    R = h[:, :, None] * pool.v[None, :, :] - E[:, None, :]
    c = int(np.argmax(sse - np.sum(R * R, axis=(0, 2))))
    unit = Dense(
        (pool.w[c] * pool.gain[c])[None, :],
        np.array([pool.b[c] * pool.gain[c]]),
        get_activation(candidate_kind(pool.names[c]).activation),
    )
    return unit, (pool.alpha[c] * pool.v[c])[:, None], pool.beta[c] * pool.v[c], epoch + 1
