"""The multilayer perceptron: dense layers, forward pass and backpropagation.

Notation (the lecture's): layer l receives x (the activations of the previous layer, or the
input), computes the net input z = W x + b and the output a = f(z). Weight matrices are stored
as W[j, i] = wⱼᵢ, shape (n_out, n_in): one row per neuron, one column per input. Arrays of
samples are row-major: x has shape (n_samples, n_in), so z = x Wᵀ + b.

Backpropagation uses the lecture's sign for δ (the error signal that is *added* to weights):

    output layer   δₖ = f′(zₖ) (yₖ − oₖ)          = oₖ(1 − oₖ)(yₖ − oₖ) for sigmoid + squared error
    hidden layer   δⱼ = f′(zⱼ) Σₖ δₖ wₖⱼ          (with the weights *before* this step's update)
    gradient       ∂E/∂wⱼᵢ = −δⱼ xᵢ,  ∂E/∂bⱼ = −δⱼ

so the delta rule Δwⱼᵢ = η δⱼ xᵢ is plain gradient descent w ← w − η ∂E/∂w. For a batch of
samples the gradient is the mean of the per-sample gradients (so η means the same thing for every
batch size); with one sample it is exactly the lecture's per-sample update.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import DTypeLike, NDArray

from retroprop.core.activations import Activation, get_activation
from retroprop.core.inference import predict as predict_blocked
from retroprop.core.initializers import Initializer, get_initializer
from retroprop.core.losses import Loss, get_loss, output_grad_z
from retroprop.errors import ParameterError

Array = NDArray[np.floating]

__all__ = ["Dense", "ForwardPass", "Gradients", "Network", "get_flat", "set_flat"]


def get_flat(params: Sequence[Array]) -> Array:
    """Parameter arrays in one vector, in order, each row-major."""
    return np.concatenate([p.ravel() for p in params])


def set_flat(params: Sequence[Array], theta: Array) -> None:
    """Overwrite the arrays in place from one vector made by :func:`get_flat`."""
    n = sum(p.size for p in params)
    if theta.shape != (n,):
        raise ParameterError(f"theta: expected shape ({n},), got {theta.shape}")
    start = 0
    for p in params:
        p[...] = theta[start : start + p.size].reshape(p.shape)
        start += p.size


@dataclass
class Dense:
    """A fully connected layer: z = x Wᵀ + b, a = f(z).

    Attributes:
        W: weights wⱼᵢ, shape (n_out, n_in).
        b: biases bⱼ, shape (n_out,).
        activation: f, an :class:`~retroprop.core.activations.Activation`.
    """

    W: Array
    b: Array
    activation: Activation

    @property
    def n_in(self) -> int:
        """Inputs xᵢ of the layer: the columns of W."""
        return int(self.W.shape[1])

    @property
    def n_out(self) -> int:
        """Neurons of the layer: the rows of W (one bias bⱼ each)."""
        return len(self.W)


@dataclass
class ForwardPass:
    """Everything the forward pass computed, kept for backpropagation and for traces.

    Attributes:
        x: the input, shape (n_samples, n_in).
        z: net input of each layer, z[l] of shape (n_samples, n_out of layer l).
        a: output of each layer, same shapes as z; a[-1] is the network's output o.
    """

    x: Array
    z: list[Array] = field(default_factory=list)
    a: list[Array] = field(default_factory=list)

    @property
    def output(self) -> Array:
        """The network's output o, shape (n_samples, n_outputs)."""
        return self.a[-1]

    def layer_input(self, l: int) -> Array:
        """The input x of layer l: the network input for l = 0, else a[l − 1]."""
        return self.x if l == 0 else self.a[l - 1]


@dataclass
class Gradients:
    """Result of backpropagation for a batch.

    Attributes:
        delta: δ of each layer in the lecture's sign (δ = −∂E/∂z), per sample,
            delta[l] of shape (n_samples, n_out of layer l).
        dW: ∂J/∂W of each layer, mean over the batch plus weight decay, shape (n_out, n_in).
        db: ∂J/∂b of each layer, shape (n_out,).
    """

    delta: list[Array]
    dW: list[Array]
    db: list[Array]

    def flat(self) -> list[Array]:
        """Gradients in the order of :meth:`Network.params`: [dW₁, db₁, dW₂, db₂, …]."""
        return [g for pair in zip(self.dW, self.db, strict=True) for g in pair]


class _Layered(Protocol):
    @property
    def layers(self) -> Sequence[Dense]: ...

    def params(self) -> list[Array]: ...


class LayerParams:
    """``params``, ``get_flat`` and ``set_flat`` of a network made of :class:`Dense` layers
    (its ``layers``, in order): shared by :class:`Network` and the cascade network."""

    def params(self: _Layered) -> list[Array]:
        """The parameter arrays themselves (not copies): [W₁, b₁, W₂, b₂, …], layer by layer."""
        return [p for layer in self.layers for p in (layer.W, layer.b)]

    def get_flat(self: _Layered) -> Array:
        """All parameters in one vector, in the order of :meth:`params` (each row-major)."""
        return get_flat(self.params())

    def set_flat(self: _Layered, theta: Array) -> None:
        """Overwrite all parameters in place from one vector made by :meth:`get_flat`."""
        set_flat(self.params(), theta)


class Network(LayerParams):
    """A multilayer perceptron: a stack of :class:`Dense` layers and a loss.

    Build one from layer sizes with :meth:`Network.create`, or from explicit weights by passing
    layers. ``repr`` shows the structure, e.g. ``Network(64 → 10 sigmoid → 5 sigmoid →
    10 sigmoid, squared_error)``.
    """

    def __init__(self, layers: Sequence[Dense], loss: str | Loss = "squared_error") -> None:
        if not layers:
            raise ParameterError("layers: a network needs at least one layer")
        for l, layer in enumerate(layers):
            if not (isinstance(layer.W, np.ndarray) and isinstance(layer.b, np.ndarray)):
                raise ParameterError(
                    f"layers[{l}]: weights and biases must be NumPy arrays, got "
                    f"{type(layer.W).__name__} and {type(layer.b).__name__}"
                )
            if layer.W.ndim != 2 or layer.b.shape != (layer.n_out,):
                raise ParameterError(
                    f"layers[{l}]: weights must be (n_out, n_in) and biases (n_out,), "
                    f"got {layer.W.shape} and {layer.b.shape}"
                )
            if l > 0 and layer.n_in != layers[l - 1].n_out:
                raise ParameterError(
                    f"layers[{l}]: expects {layer.n_in} inputs but layers[{l - 1}] has "
                    f"{layers[l - 1].n_out} neurons"
                )
            dtypes = {layer.W.dtype, layer.b.dtype, layers[0].W.dtype}
            if len(dtypes) != 1 or layer.W.dtype not in (np.float32, np.float64):
                raise ParameterError(
                    f"layers[{l}]: weights and biases must all be float32 or all float64, "
                    f"got {layer.W.dtype} and {layer.b.dtype} (first layer: {layers[0].W.dtype})"
                )
            if layer.activation.output_only and l != len(layers) - 1:
                raise ParameterError(
                    f"layers[{l}]: {layer.activation.name} is only for the output layer"
                )
        self.layers = list(layers)
        self.loss = get_loss(loss)

    @classmethod
    def create(
        cls,
        sizes: Sequence[int],
        activation: str | Activation | Sequence[str | Activation] = "sigmoid",
        output_activation: str | Activation | None = None,
        loss: str | Loss = "squared_error",
        init: str | Initializer = "uniform",
        seed: int | np.random.Generator | None = None,
        dtype: DTypeLike = np.float64,
    ) -> Network:
        """Build a network with random weights.

        Args:
            sizes: neurons per layer, input first: ``[64, 10, 5, 10]`` is the lecture's digit
                network (64 inputs, hidden layers of 10 and 5, 10 outputs).
            activation: one activation for every layer, or one per layer after the input
                (``len(sizes) − 1`` of them).
            output_activation: overrides the last layer's activation.
            loss: name or :class:`~retroprop.core.losses.Loss`.
            init: ``"uniform"`` (the lecture's), ``"glorot"``, ``"he"`` or a callable.
            seed: seed or generator; the same seed gives the same weights bit for bit.
            dtype: float64 (default) or float32.
        """
        if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in sizes):
            raise ParameterError(f"sizes: expected whole numbers of neurons, got {list(sizes)}")
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ParameterError(f"sizes: need at least 2 positive layer sizes, got {sizes}")
        n_layers = len(sizes) - 1
        if isinstance(activation, (str, Activation)):
            acts = [activation] * n_layers
        else:
            acts = list(activation)
            if len(acts) != n_layers:
                raise ParameterError(
                    f"activation: expected 1 or {n_layers} activations (one per layer after the "
                    f"input), got {len(acts)}"
                )
        if output_activation is not None:
            acts[-1] = output_activation
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ParameterError(f"dtype: expected float32 or float64, got {dtype}")
        rng = np.random.default_rng(seed)
        initializer = get_initializer(init)
        layers = []
        for n_in, n_out, act in zip(sizes[:-1], sizes[1:], acts, strict=True):
            W, b = initializer(rng, n_in, n_out, dtype)
            layers.append(Dense(W, b, get_activation(act)))
        return cls(layers, loss)

    # -- structure -------------------------------------------------------------------------
    @property
    def sizes(self) -> list[int]:
        """Neurons per layer, input first."""
        return [self.layers[0].n_in] + [layer.n_out for layer in self.layers]

    @property
    def dtype(self) -> np.dtype[np.floating]:
        return self.layers[0].W.dtype

    def copy(self) -> Network:
        """A deep copy (weights copied, activations and loss shared)."""
        layers = [Dense(ly.W.copy(), ly.b.copy(), ly.activation) for ly in self.layers]
        return Network(layers, self.loss)

    def __repr__(self) -> str:
        parts = [str(self.layers[0].n_in)]
        parts += [f"{ly.n_out} {ly.activation.name}" for ly in self.layers]
        return f"Network({' → '.join(parts)}, {self.loss.name})"

    # -- the math --------------------------------------------------------------------------
    def _as_input(self, X: Array) -> Array:
        try:
            X = np.asarray(X, dtype=self.dtype)
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"X: expected numbers ({exc})") from None
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.layers[0].n_in:
            raise ParameterError(
                f"X: expected shape (n_samples, {self.layers[0].n_in}), got {np.shape(X)}"
            )
        return X

    def forward(self, X: Array) -> ForwardPass:
        """Forward pass: zⱼ = Σᵢ wⱼᵢ xᵢ + bⱼ, oⱼ = f(zⱼ), layer by layer.

        Args:
            X: inputs, shape (n_samples, n_inputs) (a single sample (n_inputs,) is accepted).

        Returns:
            A :class:`ForwardPass` with z and a of every layer.
        """
        fp = ForwardPass(self._as_input(X))
        a = fp.x
        for layer in self.layers:
            z = a @ layer.W.T + layer.b
            a = layer.activation(z)
            fp.z.append(z)
            fp.a.append(a)
        return fp

    def predict(self, X: Array) -> Array:
        """Network output o for inputs X (n_samples, n_inputs) → (n_samples, n_outputs).

        Raises:
            ValueError: X has the wrong shape or a NaN or infinite value (named by row).
        """
        return predict_blocked(self, self._as_input(X))  # forward's output, block by block

    def error(self, X: Array, Y: Array) -> float:
        """Mean over samples of the per-sample loss (the lecture's MSE for squared error)."""
        o = self.predict(X)  # (n_samples, n_outputs), also for a single sample vector X
        return self.loss.mean(self._as_target(Y, len(o)), o)

    def _as_target(self, Y: Array, n: int) -> Array:
        Y = np.asarray(Y, dtype=self.dtype)
        if Y.ndim == 1:
            Y = Y[None, :] if n == 1 and Y.shape[0] == self.layers[-1].n_out else Y[:, None]
        if Y.shape != (n, self.layers[-1].n_out):
            raise ParameterError(
                f"Y: expected shape ({n}, {self.layers[-1].n_out}), got {np.shape(Y)}"
            )
        return Y

    def backward(
        self, fp: ForwardPass, Y: Array, weight_decay: float = 0.0, *, shortcut: bool = True
    ) -> Gradients:
        """Backpropagation of the error of one batch.

        Computes δ layer by layer from the output back to the first hidden layer, then the
        gradient of J = mean over the batch of E + (λ/2) Σ‖W‖² (biases are not decayed).

        Args:
            fp: the forward pass of the batch (its weights must still be the current ones).
            Y: targets, shape (n_samples, n_outputs).
            weight_decay: λ, the L2 penalty.
            shortcut: use ∂E/∂z = a − y for matched (activation, loss) pairs; False forces the
                general chain rule (for testing that both agree).

        Returns:
            :class:`Gradients` with δ (lecture's sign) and ∂J/∂W, ∂J/∂b per layer.
        """
        Y = self._as_target(Y, len(fp.x))
        n = len(fp.x)
        L = len(self.layers)
        delta: list[Array] = [fp.a[0]] * L  # placeholders, every entry is overwritten below
        out = self.layers[-1]
        delta[-1] = -output_grad_z(
            self.loss, out.activation, fp.z[-1], fp.a[-1], Y, shortcut=shortcut
        )
        for l in range(L - 2, -1, -1):
            layer, above = self.layers[l], self.layers[l + 1]
            # δⱼ = f′(zⱼ) Σₖ δₖ wₖⱼ  — Σₖ δₖ wₖⱼ for all j at once is δ_above @ W_above.
            delta[l] = layer.activation.backprop(fp.z[l], fp.a[l], delta[l + 1] @ above.W)
        dW = []
        db = []
        for l, layer in enumerate(self.layers):
            # ∂E/∂wⱼᵢ = −δⱼ xᵢ, averaged over the batch.
            g = -(delta[l].T @ fp.layer_input(l)) / n
            if weight_decay:
                g += weight_decay * layer.W
            dW.append(g)
            db.append(-delta[l].sum(axis=0) / n)
        return Gradients(delta, dW, db)

    def gradient(self, X: Array, Y: Array, weight_decay: float = 0.0) -> tuple[float, Gradients]:
        """Objective J (mean loss + L2 term) and its gradients for inputs X and targets Y."""
        fp = self.forward(X)
        Yt = self._as_target(Y, len(fp.x))
        J = self.loss.mean(Yt, fp.output)
        if weight_decay:
            J += 0.5 * weight_decay * sum(float(np.sum(ly.W**2)) for ly in self.layers)
        return J, self.backward(fp, Yt, weight_decay)
