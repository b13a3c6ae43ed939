"""Networks with shortcut connections: the cascade architecture (Fahlman & Lebiere 1990).

Every hidden unit receives the network's inputs *and* the outputs of every hidden unit installed
before it; the output layer receives the inputs and every hidden unit. Keeping the columns side
by side, h = [x | a₁ | a₂ | … ], unit k reads the first n_in + k columns (its own row of weights
is that long) and the output layer reads them all:

    zₖ = Σᵢ wₖᵢ hᵢ + bₖ   (i < n_in + k),   aₖ = fₖ(zₖ),   appended to h
    o  = f(W_out h + b_out)

Backpropagation is the lecture's with one more sum: a unit's δ collects the δ of *every* unit
that reads it (the output layer and every later hidden unit), δₖ = fₖ′(zₖ) Σ_{m reads k} δₘ wₘₖ.
Walking the units from the last to the first, each adds δₘ Wₘ to the error signal of the
columns it reads, so when unit k is reached its column holds that whole sum.

Why a type of its own rather than a flag on :class:`~retroprop.core.network.Network`: a layered
network's layer l reads exactly layer l − 1, and the compiled kernels, the scikit-learn
estimators (``coefs_``), the step trace and the model file all rely on it. A
:class:`CascadeNetwork` shares the activations, losses and the :class:`Dense` block (a unit is a
``Dense`` of width 1, or several units installed together) and offers the same
``forward``/``backward``/``predict``/``error`` with the same shapes, so the code that only needs
those (Model, predict, evaluate, the whole-run solvers) takes either, and the code that needs
layers stays simple and refuses it by type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike, NDArray

from retroprop.core.activations import Activation, get_activation
from retroprop.core.losses import Loss, get_loss, output_grad_z
from retroprop.core.network import Dense, ForwardPass, Gradients, LayerParams
from retroprop.errors import ParameterError

Array = NDArray[np.floating]

__all__ = ["CascadeNetwork", "CascadePass"]


@dataclass
class CascadePass(ForwardPass):
    """A cascade's forward pass: z and a of every unit block then the output layer, and h.

    Attributes:
        h: the columns [x | a₁ | a₂ | …], shape (n_samples, n_inputs + n_hidden).
    """

    h: Array | None = None

    def layer_input(self, l: int) -> Array:
        """What block l reads: the first ``n_in`` columns of h (all of them for the output)."""
        assert self.h is not None
        width = self.h.shape[1] if l == len(self.a) - 1 else self._widths[l]
        return self.h[:, :width]

    _widths: tuple[int, ...] = ()


class CascadeNetwork(LayerParams):
    """Hidden units in cascade (each reads all inputs and earlier units) and an output layer
    reading everything. ``layers`` is the hidden blocks then the output layer.

    ``repr``: ``CascadeNetwork(8 → 2 cascaded [cos, sigmoid] → 1 sigmoid, squared_error)``.
    """

    def __init__(
        self, hidden: Sequence[Dense], output: Dense, loss: str | Loss = "squared_error"
    ) -> None:
        n_inputs = output.n_in - sum(unit.n_out for unit in hidden)
        width = n_inputs
        for k, unit in enumerate([*hidden, output]):
            what = "output" if k == len(hidden) else f"hidden[{k}]"
            if unit.W.shape != (unit.n_out, width) or unit.b.shape != (unit.n_out,):
                raise ParameterError(
                    f"{what}: a cascade block reads the {width} columns before it (inputs and "
                    f"earlier units); got weights {unit.W.shape} and biases {unit.b.shape}"
                )
            if unit.activation.output_only and k < len(hidden):
                raise ParameterError(f"{what}: {unit.activation.name} is only for the output")
            width += unit.n_out
        if n_inputs < 1:
            raise ParameterError("output: a cascade needs at least one input")
        self.hidden, self.output = list(hidden), output
        self.loss = get_loss(loss)

    @classmethod
    def create(
        cls,
        n_inputs: int,
        n_outputs: int,
        output_activation: str | Activation = "sigmoid",
        loss: str | Loss = "squared_error",
        seed: int | np.random.Generator | None = None,
        dtype: DTypeLike = np.float64,
    ) -> CascadeNetwork:
        """A cascade without hidden units: outputs connected to the inputs, weights uniform in
        [−0.5, 0.5] (the lecture's initialisation)."""
        rng = np.random.default_rng(seed)
        W = rng.uniform(-0.5, 0.5, (n_outputs, n_inputs)).astype(dtype)
        b = rng.uniform(-0.5, 0.5, n_outputs).astype(dtype)
        return cls([], Dense(W, b, get_activation(output_activation)), loss)

    # -- structure -------------------------------------------------------------------------
    @property
    def layers(self) -> list[Dense]:
        """The hidden blocks in the order they were installed, then the output layer."""
        return [*self.hidden, self.output]

    @property
    def n_inputs(self) -> int:
        return self.output.n_in - self.n_hidden

    @property
    def n_hidden(self) -> int:
        return sum(unit.n_out for unit in self.hidden)

    @property
    def sizes(self) -> list[int]:
        """Neurons per block, input first (as :attr:`Network.sizes`)."""
        return [self.n_inputs] + [unit.n_out for unit in self.layers]

    @property
    def dtype(self) -> np.dtype[np.floating]:
        return self.output.W.dtype

    def error_signal(self, l: int, delta: Sequence[Array], W: Sequence[Array]) -> Array:
        """Σₘ δₘ wₘⱼ over the blocks m that read hidden block l's outputs, (n, width of l):
        the later blocks and the output layer (``W``: the weights to use, e.g. before a step)."""
        start = self.n_inputs + sum(u.n_out for u in self.hidden[:l])
        cols = slice(start, start + self.hidden[l].n_out)
        return sum((delta[m] @ W[m][:, cols] for m in range(l + 1, len(W))), start=0.0 * delta[l])

    def copy(self) -> CascadeNetwork:
        """A deep copy (weights copied, activations and loss shared)."""
        blocks = [Dense(u.W.copy(), u.b.copy(), u.activation) for u in self.layers]
        return CascadeNetwork(blocks[:-1], blocks[-1], self.loss)

    def install(self, unit: Dense, v: Array) -> None:
        """Add a hidden block reading every current column, and give the output layer its
        weights ``v`` (n_outputs, unit.n_out) from the new units."""
        if unit.W.shape[1] != self.output.n_in:
            raise ParameterError(
                f"unit: expected weights over {self.output.n_in} columns, got {unit.W.shape}"
            )
        W = np.concatenate([self.output.W, np.asarray(v, self.dtype).reshape(-1, unit.n_out)], 1)
        self.hidden.append(unit)
        self.output = Dense(W, self.output.b, self.output.activation)

    def __repr__(self) -> str:
        names = ", ".join(u.activation.name for u in self.hidden for _ in range(u.n_out))
        middle = f" → {self.n_hidden} cascaded [{names}]" if self.hidden else ""
        out = f"{self.output.n_out} {self.output.activation.name}"
        return f"CascadeNetwork({self.n_inputs}{middle} → {out}, {self.loss.name})"

    # -- the math --------------------------------------------------------------------------
    def _as_input(self, X: Array) -> Array:
        X = np.asarray(X, dtype=self.dtype)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ParameterError(f"X: expected shape (n_samples, {self.n_inputs}), got {X.shape}")
        return X

    def forward(self, X: Array) -> CascadePass:
        """zₖ and aₖ of every block, h = [x | a₁ | …] and the output (module docstring).

        Args:
            X: inputs, shape (n_samples, n_inputs).
        """
        x = self._as_input(X)
        h = np.empty((len(x), self.output.n_in), dtype=self.dtype)
        h[:, : self.n_inputs] = x
        fp = CascadePass(x, h=h, _widths=tuple(u.n_in for u in self.hidden))
        width = self.n_inputs
        for unit in self.layers:
            z = h[:, : unit.n_in] @ unit.W.T + unit.b
            a = unit.activation(z)
            fp.z.append(z)
            fp.a.append(a)
            if unit is not self.output:
                h[:, width : width + unit.n_out] = a
                width += unit.n_out
        return fp

    def predict(self, X: Array) -> Array:
        """Output o for inputs X (n_samples, n_inputs) → (n_samples, n_outputs)."""
        return self.forward(X).output

    def error(self, X: Array, Y: Array) -> float:
        """Mean over samples of the per-sample loss."""
        Y = np.asarray(Y, dtype=self.dtype).reshape(len(np.atleast_2d(X)), -1)
        return self.loss.mean(Y, self.predict(X))

    def backward(self, fp: ForwardPass, Y: Array, weight_decay: float = 0.0) -> Gradients:
        """δ of every block (lecture's sign) and ∂J/∂W, ∂J/∂b, J = mean E + (λ/2) Σ‖W‖².

        Args:
            fp: the forward pass of the batch (a :class:`CascadePass`); Y: targets
                (n_samples, n_outputs).
        """
        if not isinstance(fp, CascadePass) or fp.h is None:
            raise ParameterError("fp: expected the CascadePass of this network's forward()")
        Y = np.asarray(Y, dtype=self.dtype).reshape(fp.output.shape)
        n = len(fp.x)
        blocks = self.layers
        signal = np.zeros_like(fp.h)  # Σₘ δₘ wₘ· over the blocks m that read each column
        delta: list[Array] = [fp.a[0]] * len(blocks)  # every entry is overwritten below
        out = len(blocks) - 1
        delta[out] = -output_grad_z(self.loss, self.output.activation, fp.z[-1], fp.a[-1], Y)
        start = self.output.n_in
        for l in range(out, -1, -1):
            unit = blocks[l]
            if l < out:
                start -= unit.n_out
                columns = signal[:, start : start + unit.n_out]
                delta[l] = unit.activation.backprop(fp.z[l], fp.a[l], columns)
            signal[:, : unit.n_in] += delta[l] @ unit.W
        pairs = zip(delta, blocks, strict=True)
        dW = [-(d.T @ fp.h[:, : u.n_in]) / n + weight_decay * u.W for d, u in pairs]
        db = [-d.sum(axis=0) / n for d in delta]
        return Gradients(delta, dW, db)
