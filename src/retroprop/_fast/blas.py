"""Mini-batch training and inference on BLAS, for layers wide enough that matrix products rule.

The arithmetic is the reference's (``Network.forward``/``backward``, the optimizers), batch by
batch, but every array lives in a buffer allocated once per run: the batch is gathered into a
buffer, the sample order is shuffled as indices (the training data is never copied), and each
element-wise step (bias and activation, output δ, f′ ⊙ δ, the bias update) is one compiled pass
(:mod:`.batch`). Plain SGD without weight decay adds (η/m)·Σₛ δₛ xₛᵀ straight into W inside
the GEMM (β = 1), so the gradient never exists as an array; the other optimizers get the sums
in a buffer and take the element-wise step of the generic numba kernel
(:func:`.kernels.apply_step`).

The matrix products run on the kernel compiled for the host (:mod:`.gemm`: register tiles
written as AVX-512 vector code, on as many threads as BLAS may use), once numba has compiled it
in the background, for every product of at least :data:`.gemm.MIN_WORK` multiply-adds; BLAS
is then limited to one thread for the epoch (its idle pool would spin beside the kernel's
threads). The kernel took 0.5–0.6× OpenBLAS's time per product of the MNIST-shaped network on
one thread of this AVX-512 machine, whose OpenBLAS runs AVX2 code (``OPENBLAS_CORETYPE=Haswell``
here). Until it is compiled, and for small products, SciPy's BLAS (``scipy.linalg.blas.?gemm``)
writes into the buffers in place, and so does every other BLAS call of a batch (``?dot``, never
``np.dot``): one library, so one pool of BLAS threads is busy while training (with the forward
products z = a·Wᵀ on the older dot-product kernel when the epoch runs on one thread,
:class:`.dense.TrainingProducts`). NumPy links its own OpenBLAS, with its own threads, which
spin for a while after each call: one ``np.dot`` per batch between SciPy's GEMMs kept three busy
threads on a 2-core machine and made a 784-256-128-10 epoch 4-6× slower on a loaded machine.
An epoch whose products are all small (:data:`SMALL_GEMM`) runs with one BLAS thread.

Shapes: a batch of k samples; layer l has A[l], D[l] of shape (k, n_l); Wₗ is (n_out, n_in)
as in the network, except the first layer's during an epoch on the host kernel: its buffer then
holds W₁ᵀ (n₀ rows of n₁), its optimizer state likewise, and its gradient is written in that
layout (:meth:`BlasTrainer.first_layer_transposed`). BLAS is column-major: a C-contiguous array
M (r, s) is the Fortran array Mᵀ (s, r), a free view, so Z = a·Wᵀ is computed as Zᵀ = W·aᵀ,
and so on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import cache
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.typing import NDArray

from retroprop._fast import batch as B
from retroprop._fast import constants as K
from retroprop._fast import dense, gemm
from retroprop._fast.constants import ACT_CODES
from retroprop._fast.gemm import HostProducts
from retroprop._fast.kernels import apply_step
from retroprop._fast.run import Order, Tally, TrainingRun
from retroprop._fast.trainer import CompiledTrainer, numpy_state
from retroprop.core.losses import MATCHED_PAIRS, output_grad_z
from retroprop.core.metrics import add_sums, logs_from_sums
from retroprop.core.network import Network
from retroprop.errors import ParameterError

Array = NDArray[np.floating]

CHUNK = 16384
"""Rows per block of the epoch logs (a forward pass over a whole data set)."""


SMALL_GEMM = 1 << 22
"""Multiply-adds (m·n_in·n_out) of the largest product of a batch under which its epoch runs
with one BLAS thread. OpenBLAS splits a product over its threads from m·n·k = 2¹⁸ on; below
~2²² the fork and join cost more than they save, and on a loaded machine far more (a 100 × 64
· 64 × 100 product of a 100-row ``partial_fit`` took 1–20 ms with two threads on a busy
2-core machine, where one thread needs ~10 µs)."""


TRANSPOSE_BATCHES = 4
"""Fewest batches of an epoch per array transposed (W; m for momentum; m, v for Adam) for the
first layer to be held transposed: transposing one array there and back costs about as much as
packing W for one to two batches (784 × 256: 75–100 µs each way, a packing ~58 µs), so a
``partial_fit`` call of one batch does not pay for it."""


@cache
def _blas_controller() -> Any:
    """threadpoolctl's controller of the BLAS libraries loaded now (built once: ~15 ms)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def blas_threads() -> int:
    """Threads the loaded BLAS libraries may use now (the least of their limits; 1 if none)."""
    counts = [c.num_threads for c in _blas_controller().lib_controllers if c.user_api == "blas"]
    return max(1, min(counts)) if counts else 1


def one_blas_thread() -> AbstractContextManager[Any]:
    """Limit every BLAS library to one thread until the block ends (~30 µs in and out)."""
    limit: AbstractContextManager[Any] = _blas_controller().limit(limits=1, user_api="blas")
    return limit


def gemm_for(dtype: Any) -> Callable[..., Array]:
    """SciPy's ``sgemm`` or ``dgemm``: c ← α·op(a)·op(b) + β·c on Fortran-ordered arrays."""
    from scipy.linalg.blas import get_blas_funcs

    gemm: Callable[..., Array] = get_blas_funcs("gemm", dtype=np.dtype(dtype))
    return gemm


def dot_for(dtype: Any) -> Callable[[Array, Array], Any]:
    """SciPy's ``sdot`` or ``ddot`` (x · y of two 1-D arrays, in their dtype), the dot product
    of the library of :func:`gemm_for` (see the module docstring: not NumPy's)."""
    from scipy.linalg.blas import get_blas_funcs

    dot: Callable[[Array, Array], Any] = get_blas_funcs("dot", dtype=np.dtype(dtype))
    return dot


def rows(x: Array) -> tuple[Array, int, int]:
    """x (m, n), C-contiguous, as an operand of :meth:`BlasTrainer.product`."""
    return x.reshape(-1), x.shape[1], 1


def columns(x: Array) -> tuple[Array, int, int]:
    """xᵀ (n, m) of x (m, n), C-contiguous, as an operand of :meth:`BlasTrainer.product`."""
    return x.reshape(-1), 1, x.shape[1]


def _check_contiguous(network: Network) -> None:
    """The GEMMs read and write W and b in place: they must be C-contiguous arrays."""
    for l, layer in enumerate(network.layers, start=1):
        for name, p in (("W", layer.W), ("b", layer.b)):
            if not p.flags.c_contiguous or not p.flags.writeable:
                raise ParameterError(
                    f"layer {l}: {name} must be a writeable C-contiguous array for the BLAS "
                    "engine (use engine='numpy', or np.ascontiguousarray)"
                )


class BlasTrainer(CompiledTrainer):
    """One epoch per call of mini-batch training on BLAS with preallocated buffers."""

    def __init__(self, run: TrainingRun) -> None:
        _check_contiguous(run.network)
        super().__init__(run)
        network, k, dtype = self.network, self.k, self.network.dtype
        self.gemm = gemm_for(dtype)
        self.small = max(k * a * b for a, b in pairwise(network.sizes)) < SMALL_GEMM
        # plain SGD without decay: W += (η/m) Σ δ xᵀ inside the GEMM, b by a compiled pass
        self.fused = self.opt == K.SGD and self.weight_decay == 0
        self.codes = [ACT_CODES[layer.activation.name] for layer in network.layers]
        self.matched = (network.layers[-1].activation.name, network.loss.name) in MATCHED_PAIRS
        self.xb = np.empty((k, network.sizes[0]), dtype=dtype)
        self.yb = np.empty((k, network.sizes[-1]), dtype=dtype)
        self.A = [np.empty((k, n), dtype=dtype) for n in network.sizes[1:]]
        self.D = [np.empty((k, n), dtype=dtype) for n in network.sizes[1:]]
        self.acc = np.empty(max(network.sizes[1:]), dtype=dtype)
        shapes = [p.shape for p in network.params()]
        self.G = [] if self.fused else [np.zeros(s, dtype=dtype) for s in shapes]
        self.m = [np.zeros(s, dtype=dtype) for s in shapes] if self.opt != K.SGD else []
        self.v = [np.zeros(s, dtype=dtype) for s in shapes] if self.opt == K.ADAM else []
        self.t = 0
        self.products = dense.TrainingProducts(dtype, max(network.sizes[1:]))
        self.host = HostProducts(dtype)
        self.logs_A = [
            np.empty((min(CHUNK, len(self.X)), n), dtype=dtype) for n in network.sizes[1:]
        ]
        self.transposed = False  # the first layer's buffers hold W₁ᵀ (this epoch)

    def run_epoch(self, index: Order, tally: Tally | None = None, classify: bool = False) -> int:
        """One epoch: as :meth:`retroprop._fast.engine.EpochTrainer.run_epoch`."""
        _check_contiguous(self.network)  # a callback may have replaced a weight array
        n, k = len(index), self.k
        with self.blas_context():
            self.products_ready(k)
            with self.first_layer_transposed(-(-n // k)):
                for s in range(0, n, k):
                    self._step(index[s : s + k], tally, classify)
        return -(-n // k)

    @contextmanager
    def first_layer_transposed(self, batches: int) -> Iterator[None]:
        """For an epoch of ``batches`` batches on the host kernel, the first layer's W, m and v
        buffers hold their transposes (n₀ rows of n₁), put back on leaving however the epoch
        ends; its gradient buffer G is scratch, written in that layout by each batch.

        Its forward product z = x·Wᵀ then reads Wᵀ's rows in place instead of packing W for
        each batch, and its gradient is computed as xᵀ·δ, as fast as δᵀ·x; it has no δ to send
        below, the one product that wants W's rows (784-256, batch 128, one thread: 290 → 232
        µs a forward product in float32, 538 → 478 in float64; batch 32: 130 → 77 µs). The
        step is element-wise, so it does not mind the order. Only when every product of the
        layer runs on the kernel (≥ :data:`.gemm.MIN_WORK` multiply-adds for one row) and the
        epoch has batches enough to repay the two transpositions of each array
        (:data:`TRANSPOSE_BATCHES`)."""
        W = self.network.layers[0].W
        arrays = [W] + [state[0] for state in (self.m, self.v) if state]
        enough = batches >= TRANSPOSE_BATCHES * len(arrays)
        if not (self.host.on and W.size >= gemm.MIN_WORK and enough):
            yield
            return
        for a in arrays:
            a.reshape(-1)[:] = a.T.reshape(-1)  # (n₁, n₀) → n₀ rows of n₁ (a.T is a copy)
        self.transposed = True
        try:
            yield
        finally:
            self.transposed = False
            for a in arrays:
                a.reshape(-1)[:] = a.reshape(a.shape[::-1]).T.reshape(-1)

    def blas_context(self) -> AbstractContextManager[Any]:
        """Readies the host kernel (:class:`.gemm.HostProducts`) on as many threads as BLAS
        may use now, and limits BLAS to one thread while its products run: when the kernel
        computes them (it brings its own threads, and OpenBLAS's idle pool spins beside them)
        and when every product is small (:data:`SMALL_GEMM`)."""
        host = self.host.ready(blas_threads())
        return one_blas_thread() if self.small or host else nullcontext()

    def product(
        self, A: tuple[Array, int, int], B: tuple[Array, int, int], C: Array, K: int,
        beta: float = 0.0, alpha: float = 1.0,
    ) -> bool:  # fmt: skip
        """C = α·A·B + β·C on the host kernel if it runs this epoch (see :meth:`blas_context`);
        False: the caller computes it on BLAS. A, B as (flat, s_row, s_col): :func:`rows`,
        :func:`columns`."""
        return self.host.product(A, B, C, K, alpha, beta)

    def gradient_product(self, a_in: Array, delta: Array, G: Array, alpha: float = 1.0,
                         beta: float = 0.0, first: bool = False) -> None:  # fmt: skip
        """G (n_out, n_in) = α·δᵀ·a + β·G = α·Σ δ xᵀ + β·G over the rows of a (m, n_in) and
        δ (m, n_out), on the host kernel or BLAS. ``first``: G is the first layer's, whose
        buffer holds Gᵀ while :attr:`transposed` (Gᵀ = α·aᵀ·δ + β·Gᵀ)."""
        if first and self.transposed:
            GT = G.reshape(G.shape[::-1])
            on_host = a_in.flags.c_contiguous and delta.flags.c_contiguous
            if not (
                on_host and self.product(columns(a_in), rows(delta), GT, len(delta), beta, alpha)
            ):
                self.gemm(alpha, delta.T, a_in.T, beta=beta, c=GT.T, trans_b=1, overwrite_c=1)
            return
        if not (
            a_in.flags.c_contiguous
            and self.product(columns(delta), rows(a_in), G, len(delta), beta, alpha)
        ):
            self.gemm(alpha, a_in.T, delta.T, beta=beta, c=G.T, trans_b=1, overwrite_c=1)

    def products_ready(self, rows: int) -> bool:
        """Whether this epoch's forward products of ``rows`` rows run on the compiled kernel
        (:class:`.dense.TrainingProducts`), on as many threads as BLAS may use now."""
        shapes = [layer.W.shape for layer in self.network.layers]
        return self.products.ready(shapes, rows, blas_threads())

    def _forward(self, X: Array, A: list[Array]) -> Array:
        """Forward pass of a block X (m, n₀) into the buffers A[l] (at least m rows each, all
        C-contiguous, in the network's dtype).

        Returns:
            The output block, a view of shape (m, n_L).
        """
        m = len(X)
        a = X
        for l, (layer, code, buf) in enumerate(
            zip(self.network.layers, self.codes, A, strict=True)
        ):
            z = buf[:m]
            if l == 0 and self.transposed:  # the buffer holds Wᵀ (n_in, n_out): its rows
                WT = layer.W.reshape(layer.W.shape[::-1])
                if not (a.flags.c_contiguous and self.product(rows(a), rows(WT), z, len(WT))):
                    self.gemm(1.0, WT.T, a.T, beta=0.0, c=z.T, overwrite_c=1)
            else:
                host = a.flags.c_contiguous and self.product(
                    rows(a), columns(layer.W), z, a.shape[1]
                )
                if not host and not self.products.affine(a, layer.W, z):  # zᵀ = W aᵀ
                    self.gemm(1.0, layer.W.T, a.T, beta=0.0, c=z.T, trans_a=1, overwrite_c=1)
            B.bias_activate(z, layer.b, code, self.c)
            a = z
        return a

    def _step(
        self, batch: NDArray[np.intp], tally: NDArray[np.float64] | None, classify: bool
    ) -> None:
        m = len(batch)
        x, y = self.xb[:m], self.yb[:m]
        B.gather(self.X, batch, x)
        B.gather(self.Y, batch, y)
        A = [a[:m] for a in self.A]
        D = [d[:m] for d in self.D]
        self._backprop(x, y, A, D, tally, classify)
        self._optimizer_step(x, A, D, m)

    def _backprop(
        self,
        x: Array,
        y: Array,
        A: list[Array],
        D: list[Array],
        tally: NDArray[np.float64] | None,
        classify: bool,
    ) -> None:
        """Forward and backward pass of the rows x (m, n₀) with targets y (m, n_L): A[l] and
        D[l] (m, n_l each) get every layer's outputs and δ = −∂E/∂z; ``tally`` += the rows'
        sums (before any update). Also the full-batch pass, on x = the data itself."""
        net, gemm = self.network, self.gemm
        self._forward(x, A)
        if tally is not None:
            B.tally(y, A[-1], self.loss_code, classify, self.c, tally)
        if self.matched:
            B.matched_delta(y, A[-1], D[-1])  # δ = −(a − y)
        else:
            out = net.layers[-1]
            np.negative(output_grad_z(net.loss, out.activation, A[-1], A[-1], y), out=D[-1])
        for l in range(len(net.layers) - 1, 0, -1):
            # δ (layer below) = f′ ⊙ (δ W), from the weights before this step's update:
            # (δ W)ᵀ = Wᵀ δᵀ
            W = net.layers[l].W
            if not self.product(rows(D[l]), rows(W), D[l - 1], len(W)):
                gemm(1.0, W.T, D[l].T, beta=0.0, c=D[l - 1].T, overwrite_c=1)
            if self.codes[l - 1] != ACT_CODES["identity"]:
                B.times_derivative(D[l - 1], A[l - 1], self.codes[l - 1], self.c)

    def _optimizer_step(self, x: Array, A: list[Array], D: list[Array], m: int) -> None:
        c = self.c
        c[K.C_N] = m
        if self.opt == K.ADAM:
            self.t += 1
            c[K.C_BC1] = 1.0 - self.betas[0] ** self.t
            c[K.C_BC2] = 1.0 - self.betas[1] ** self.t
        decay = self.weight_decay != 0
        for l, layer in enumerate(self.network.layers):
            a_in = x if l == 0 else A[l - 1]
            if self.fused:  # Wᵀ ← Wᵀ + (η/m) aᵀ δ: the SGD step −η·(−Σ δ xᵀ / m), in the GEMM
                self.gradient_product(a_in, D[l], layer.W, float(c[K.C_ETA]) / m, 1.0, first=l == 0)
                B.bias_sgd(layer.b, D[l], self.acc, c)
                continue
            GW, Gb = self.G[2 * l], self.G[2 * l + 1]
            self.gradient_product(a_in, D[l], GW, first=l == 0)  # Σ δ xᵀ
            D[l].sum(axis=0, out=Gb)  # the kernel takes g = −G/k (+ λW)
            for p, G, i, dec in ((layer.W, GW, 2 * l, decay), (layer.b, Gb, 2 * l + 1, False)):
                m_i = self.m[i].ravel() if self.m else G.ravel()  # SGD: no state (unused)
                v_i = self.v[i].ravel() if self.v else m_i
                apply_step(p.ravel(), G.ravel(), 0, p.size, dec, self.opt, c, m_i, v_i)

    def epoch_logs(
        self, network: Network, X: Array, Y: Array, prefix: str, classify: bool
    ) -> dict[str, float]:
        """The reference's epoch logs, from a blocked forward pass with reused buffers."""
        sums = np.zeros(3)
        for s in range(0, len(X), CHUNK):
            xs, ys = X[s : s + CHUNK], Y[s : s + CHUNK]
            rows = len(xs)
            bufs = self.logs_A if rows <= len(self.logs_A[0]) else None
            if bufs is None:
                bufs = [np.empty((rows, n), dtype=network.dtype) for n in network.sizes[1:]]
            add_sums(network.loss, ys, self._forward(xs, bufs), classify, sums)
        return logs_from_sums(sums, len(X), prefix, classify)

    def optimizer_state(self) -> dict[str, Any]:
        """The optimizer state in the form of the optimizer's ``init``/``update`` (copies)."""
        m, v = [a.copy() for a in self.m], [a.copy() for a in self.v]
        return numpy_state(self.opt, m, v, self.t, self.betas)

    def set_optimizer_state(self, state: dict[str, Any]) -> None:
        """Resume from a state made by the NumPy loop or by :meth:`optimizer_state`."""
        if self.opt in (K.MOMENTUM, K.NESTEROV):
            for dst, src in zip(self.m, state["velocity"], strict=True):
                dst[...] = src
        elif self.opt == K.ADAM:
            for dst, src in zip(self.m + self.v, state["m"] + state["v"], strict=True):
                dst[...] = src
            self.t = int(state["t"])
