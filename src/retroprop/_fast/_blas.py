"""Mini-batch training and inference on BLAS, for layers wide enough that matrix products rule.

The arithmetic is the reference's (``Network.forward``/``backward``, the optimizers), batch by
batch, but every array lives in a buffer allocated once per run: the batch is gathered with
``np.take(..., out=)``, activations and deltas are computed in place, and the sample order is
shuffled as indices (the training data is never copied). The gradient sums Σₛ δₛ xₛᵀ go to a
buffer by one GEMM per layer, and the optimizer's element-wise step is the one of the generic
numba kernel (:func:`._kernels._apply`: one pass over the weights, the same arithmetic as the
numba path). All matrix products go through NumPy's BLAS, so one thread pool serves them.

Shapes: a batch of k samples; layer l has A[l], D[l] of shape (k, n_l); Wₗ is (n_out, n_in)
as in the network (its transpose, a free view, is what Fortran BLAS sees as a column-major
matrix).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..activations import LEAKY_SLOPE
from ..losses import MATCHED_PAIRS
from ..network import Network
from . import ACT_CODES

Array = NDArray[np.floating]

CHUNK = 16384
"""Rows per block in inference: big enough for BLAS to run at speed on every core, small
enough that the activations of a block are not a second copy of the data."""


def _activate(A: Array, name: str) -> None:
    """o = f(z) in place on A (k, n), which holds z."""
    if name == "sigmoid":
        from scipy.special import expit

        expit(A, out=A)
    elif name == "tanh":
        np.tanh(A, out=A)
    elif name == "relu":
        np.maximum(A, 0, out=A)
    elif name == "leaky_relu":
        np.multiply(A, LEAKY_SLOPE, out=A, where=~(A > 0))
    elif name == "softmax":  # max-shifted, as activations._softmax
        with np.errstate(over="ignore"):
            A -= A.max(axis=1, keepdims=True)
        np.exp(A, out=A)
        A /= A.sum(axis=1, keepdims=True)


def _times_derivative(D: Array, A: Array, T: Array, name: str) -> None:
    """D ← f′(z) ⊙ D in place, f′ from the outputs A (T is scratch of the same shape)."""
    if name == "sigmoid":  # a(1 − a)
        np.subtract(1, A, out=T)
        T *= A
        D *= T
    elif name == "tanh":  # 1 − a²
        np.multiply(A, A, out=T)
        np.subtract(1, T, out=T)
        D *= T
    elif name == "relu":
        np.multiply(D, 0, out=D, where=~(A > 0))
    elif name == "leaky_relu":
        np.multiply(D, LEAKY_SLOPE, out=D, where=~(A > 0))


def forward_into(network: Network, X: Array, A: list[Array]) -> Array:
    """Forward pass of a block X (m, n₀) into the buffers A[l] (at least m rows each).

    Returns:
        The output block, a view of shape (m, n_L).
    """
    m = len(X)
    a = X
    for layer, buf in zip(network.layers, A, strict=True):
        z = buf[:m]
        np.matmul(a, layer.W.T, out=z)
        z += layer.b
        _activate(z, layer.activation.name)
        a = z
    return a


def predict(network: Network, X: Array, chunk: int = CHUNK) -> Array:
    """Network output for X (n_samples, n₀) → (n_samples, n_L), block by block.

    Same arithmetic as ``Network.predict`` (to rounding); the intermediate activations of a
    block of ``chunk`` rows stay in cache, and only the output array is allocated.
    """
    X = np.ascontiguousarray(X, dtype=network.dtype)
    out = np.empty((len(X), network.sizes[-1]), dtype=network.dtype)
    rows = min(chunk, len(X))
    A = [np.empty((rows, n), dtype=network.dtype) for n in network.sizes[1:-1]]
    for s in range(0, len(X), chunk):
        forward_into(network, X[s : s + chunk], [*A, out[s : s + chunk]])
    return out


class BlasTrainer:
    """One epoch per call of mini-batch training on BLAS with preallocated buffers."""

    def __init__(
        self,
        network: Network,
        optimizer: Any,
        X: Array,
        Y: Array,
        batch_size: int,
        weight_decay: float,
    ) -> None:
        from . import _kernels as K
        from ._trainer import constants

        self.network = network
        self.X, self.Y = np.ascontiguousarray(X), np.ascontiguousarray(Y)
        self.k = batch_size
        dtype = network.dtype
        self.c, self.betas, self.opt = constants(network, optimizer, weight_decay)
        self.weight_decay = weight_decay
        k = batch_size
        self.xb = np.empty((k, network.sizes[0]), dtype=dtype)
        self.yb = np.empty((k, network.sizes[-1]), dtype=dtype)
        self.A = [np.empty((k, n), dtype=dtype) for n in network.sizes[1:]]
        self.D = [np.empty((k, n), dtype=dtype) for n in network.sizes[1:]]
        self.T = [np.empty((k, n), dtype=dtype) for n in network.sizes[1:]]
        shapes = [p.shape for p in network.params()]
        self.G = [np.zeros(s, dtype=dtype) for s in shapes]
        self.m = [np.zeros(s, dtype=dtype) for s in shapes] if self.opt != K.SGD else []
        self.v = [np.zeros(s, dtype=dtype) for s in shapes] if self.opt == K.ADAM else []
        self.t = 0
        self._apply = K._apply
        self._times = K.times_derivative
        self.logs_A = [np.empty((min(CHUNK, len(X)), n), dtype=dtype) for n in network.sizes[1:]]

    def run_epoch(self, index: NDArray[np.intp]) -> int:
        n, k = len(index), self.k
        for s in range(0, n, k):
            self._step(index[s : s + k])
        return -(-n // k)

    def _step(self, batch: NDArray[np.intp]) -> None:
        net = self.network
        m = len(batch)
        x = np.take(self.X, batch, axis=0, out=self.xb[:m])
        y = np.take(self.Y, batch, axis=0, out=self.yb[:m])
        A = [a[:m] for a in self.A]
        D = [d[:m] for d in self.D]
        forward_into(net, x, A)
        out = net.layers[-1]
        if (out.activation.name, net.loss.name) in MATCHED_PAIRS:
            np.subtract(y, A[-1], out=D[-1])  # δ = −(a − y)
        else:
            from ..losses import output_grad_z

            np.negative(output_grad_z(net.loss, out.activation, A[-1], A[-1], y), out=D[-1])
        for l in range(len(net.layers) - 1, 0, -1):
            # δ (layer below) = f′ ⊙ (δ W), from the weights before this step's update
            np.matmul(D[l], net.layers[l].W, out=D[l - 1])
            below = net.layers[l - 1].activation.name
            if below in ("relu", "leaky_relu"):  # one pass instead of a mask and a product
                self._times(D[l - 1], A[l - 1], ACT_CODES[below], self.c)
            else:
                _times_derivative(D[l - 1], A[l - 1], self.T[l - 1][:m], below)
        self._optimizer_step(x, A, D, m)

    def _optimizer_step(self, x: Array, A: list[Array], D: list[Array], m: int) -> None:
        from . import _kernels as K

        c = self.c
        c[K.C_N] = m
        if self.opt == K.ADAM:
            self.t += 1
            c[K.C_BC1] = 1.0 - self.betas[0] ** self.t
            c[K.C_BC2] = 1.0 - self.betas[1] ** self.t
        decay = self.weight_decay != 0
        for l, layer in enumerate(self.network.layers):
            a_in = x if l == 0 else A[l - 1]
            GW, Gb = self.G[2 * l], self.G[2 * l + 1]
            np.matmul(D[l].T, a_in, out=GW)  # Σ δ xᵀ; the kernel takes g = −G/k (+ λW)
            D[l].sum(axis=0, out=Gb)
            for p, G, i, dec in ((layer.W, GW, 2 * l, decay), (layer.b, Gb, 2 * l + 1, False)):
                m_i = self.m[i].ravel() if self.m else G.ravel()  # SGD: no state (unused)
                v_i = self.v[i].ravel() if self.v else m_i
                self._apply(p.ravel(), G.ravel(), 0, p.size, dec, self.opt, c, m_i, v_i)

    def epoch_logs(
        self, network: Network, X: Array, Y: Array, prefix: str, classify: bool
    ) -> dict[str, float]:
        """The reference's epoch logs, from a blocked forward pass with reused buffers."""
        loss_sum = mse_sum = 0.0
        right = 0
        for s in range(0, len(X), CHUNK):
            xs, ys = X[s : s + CHUNK], Y[s : s + CHUNK]
            rows = len(xs)
            bufs = self.logs_A if rows <= len(self.logs_A[0]) else None
            if bufs is None:
                bufs = [np.empty((rows, n), dtype=network.dtype) for n in network.sizes[1:]]
            o = forward_into(network, xs, bufs)
            loss_sum += float(np.sum(network.loss.value(ys, o)))
            mse_sum += float(np.sum(0.5 * np.sum((ys - o) ** 2, axis=1)))
            if classify and ys.shape[1] == 1:
                right += int(np.sum((o[:, 0] >= 0.5) == (ys[:, 0] == 1)))
            elif classify:
                right += int(np.sum(np.argmax(o, axis=1) == np.argmax(ys, axis=1)))
        n = len(X)
        logs = {f"{prefix}loss": loss_sum / n, f"{prefix}mse": mse_sum / n}
        if classify:
            logs[f"{prefix}accuracy"] = right / n
        return logs

    def optimizer_state(self) -> dict[str, Any]:
        """The optimizer state in the form of the optimizer's ``init``/``update`` (copies)."""
        from . import _kernels as K

        if self.opt == K.SGD:
            return {}
        if self.opt in (K.MOMENTUM, K.NESTEROV):
            return {"velocity": [a.copy() for a in self.m]}
        m, v = [a.copy() for a in self.m], [a.copy() for a in self.v]
        if self.t == 0:
            return {"t": 0, "m": m, "v": v, "m_hat": None, "v_hat": None}
        b1, b2 = self.betas
        return {
            "t": self.t,
            "m": m,
            "v": v,
            "m_hat": [a / (1 - b1**self.t) for a in m],
            "v_hat": [a / (1 - b2**self.t) for a in v],
        }

    def set_optimizer_state(self, state: dict[str, Any]) -> None:
        from . import _kernels as K

        if self.opt in (K.MOMENTUM, K.NESTEROV):
            for dst, src in zip(self.m, state["velocity"], strict=True):
                dst[...] = src
        elif self.opt == K.ADAM:
            for dst, src in zip(self.m + self.v, state["m"] + state["v"], strict=True):
                dst[...] = src
            self.t = int(state["t"])
