"""Inference's matrix product z = a·Wᵀ + b, compiled for the machine it runs on.

``Network.predict`` (:mod:`retroprop.core.inference`) spends nearly all its time in the
products of its layers, on BLAS. NumPy's OpenBLAS picks its kernels by CPU model and falls
back to 256-bit (AVX2) code on processors it does not know, which leaves half of an AVX-512
machine idle; numba compiles for the host's own instruction set. Each zⱼ is a dot product of
a row of a (the inputs) with a row of W, both contiguous, so the kernel computes a 6 × 4 tile of
z at once: 24 sums in registers, each over the inputs, vectorised along i (the compiler may
reassociate the sums, which changes only the rounding: agreement with BLAS is to rounding, as
BLAS's own blocking is).

The kernel is generated text compiled by a worker process (:mod:`.codegen`, :mod:`.background`):
a prediction never waits for numba; until the machine code is in the cache it runs on BLAS.
:func:`register` hands :class:`Accelerator` to the core; each prediction thread runs the kernel
on its own rows (``nogil``), as many threads as BLAS is allowed (threadpoolctl's limits apply).
The BLAS trainer (:mod:`.blas`) runs its forward products on the same kernel when it trains on
one thread (:class:`TrainingProducts`).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

ROWS, COLS = 6, 4
"""A register tile: z for 6 rows of a and 4 rows of W (24 sums in registers; 6 × 4 and 4 × 6
ran 1.5× BLAS's CPU time on the W2 network's first layer, 4 × 4 1.3×)."""

L2_BYTES = 256 * 1024
"""Bytes of a's rows kept in cache while a tile of W's rows sweeps them."""

MIN_WORK = 1 << 24
"""Fewest multiply-adds (rows × Σ n_in·n_out) for which a prediction uses the kernel: below,
BLAS's call overhead is no matter, and no compile worker is started for a tiny prediction."""


def _tile_source(name: str, rows: int, cols: int) -> list[str]:
    """``name``: z[i0 : i0+rows, j0 : j0+cols] = a[i0 : i0+rows] · W[j0 : j0+cols]ᵀ + b[j0 :
    j0+cols], the rows × cols sums written out as locals."""
    R, C = range(rows), range(cols)
    return [
        "",
        "@njit(cache=True, nogil=True, fastmath=FAST, boundscheck=False)",
        f"def {name}(a, W, b, z, i0, j0):",
        *[f"    a{r} = a[i0 + {r}]" for r in R],
        *[f"    w{c} = W[j0 + {c}]" for c in C],
        *[f"    s{r}_{c} = a.dtype.type(0)" for r in R for c in C],
        "    for i in range(a.shape[1]):",
        *[f"        x{r} = a{r}[i]" for r in R],
        *[f"        v{c} = w{c}[i]" for c in C],
        *[f"        s{r}_{c} += x{r} * v{c}" for r in R for c in C],
        *[f"    z[i0 + {r}, j0 + {c}] = s{r}_{c} + b[j0 + {c}]" for r in R for c in C],
    ]


_AFFINE = f'''

@njit(cache=True, nogil=True, fastmath=FAST, boundscheck=False)
def affine(a, W, b, z):
    """z (n, m) = a (n, k) · W (m, k)ᵀ + b (m,): {ROWS} × {COLS} tiles, then the edges."""
    n, m = a.shape[0], W.shape[0]
    n_t, m_t = n - n % {ROWS}, m - m % {COLS}
    block = max({ROWS}, {L2_BYTES} // max(1, a.shape[1] * a.itemsize) // {ROWS} * {ROWS})
    for s in range(0, n_t, block):
        e = min(s + block, n_t)
        for j in range(0, m_t, {COLS}):
            for i in range(s, e, {ROWS}):
                _tile(a, W, b, z, i, j)
        for j in range(m_t, m):
            for i in range(s, e, {ROWS}):
                _column(a, W, b, z, i, j)
    for i in range(n_t, n):
        for j in range(0, m_t, {COLS}):
            _row(a, W, b, z, i, j)
        for j in range(m_t, m):
            _one(a, W, b, z, i, j)
'''


def source() -> str:
    """The kernel module's text: ``affine`` and its helpers."""
    header = [
        "from numba import njit",
        'FAST = {"reassoc", "contract"}  # vectorised sums; no assumptions about NaN or inf',
        "",
    ]
    tiles = [("_tile", ROWS, COLS), ("_column", ROWS, 1), ("_row", 1, COLS), ("_one", 1, 1)]
    return "\n".join([*header, *(line for t in tiles for line in _tile_source(*t)), _AFFINE])


@functools.cache
def _blas_threads() -> Any:
    """threadpoolctl's controllers of the loaded BLAS libraries (found once)."""
    from threadpoolctl import ThreadpoolController

    return [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]


class Accelerator:
    """What :func:`retroprop.core.inference.predict` asks of a compiled product."""

    _kernels: Any = None

    def threads(self) -> int:
        """Threads a prediction may use: BLAS's current limit (1 if there is no BLAS to ask)."""
        counts = [c.get_num_threads() for c in _blas_threads()]
        return max(1, min(counts)) if counts else 1

    def ready(self, X: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]]) -> bool:
        """True when the kernel can run now on X and these (W, b) (contiguous, one float
        type); otherwise a worker compiles it for the next prediction."""
        dtype = X.dtype
        if dtype not in (np.float32, np.float64) or not X.flags.c_contiguous:
            return False
        if any(W.dtype != dtype or b.dtype != dtype for W, b in layers):
            return False
        if len(X) * sum(W.size for W, _ in layers) < MIN_WORK:
            return False
        from retroprop._fast import codegen  # imports numba: only when a prediction is large

        try:
            self._kernels = codegen.load_generated(("dense",), source, ("affine",))
        except OSError:  # nowhere to cache compiled code: BLAS
            return False
        for l, (W, b) in enumerate(layers):  # a hidden layer's input is a buffer of ours
            a = X[:ROWS] if l == 0 else np.empty((ROWS, W.shape[1]), dtype)
            args = (a, W, b, np.empty((ROWS, len(W)), dtype))
            if not self._kernels.ready({"affine": args}):
                return False
        return True

    def affine(self, a: np.ndarray, W: np.ndarray, b: np.ndarray, z: np.ndarray) -> None:
        """z (n, m) = a (n, k) · W (m, k)ᵀ + b; a, W, b, z contiguous, of one float type."""
        self._kernels.affine(a, W, b, z)


def register() -> None:
    """Give the core's inference this accelerator."""
    from retroprop.core import inference

    inference.accelerate(Accelerator())


TRAIN_MIN_WORK = 1 << 20
"""Fewest multiply-adds (rows × n_in × n_out) of one training product for which the BLAS
trainer uses the kernel: below, a call costs about as much as the product."""

TRAIN_MIN_INPUTS = 128
"""Fewest inputs (n_in, the length of each sum) of a training product on the kernel: each tile
ends in 24 horizontal sums, which short sums do not amortise. On one thread the kernel took
1.8–2.0× BLAS's time with 64 inputs in float32 (1.1–1.2× in float64: digits' 64-100-10), 0.9–1.0×
with 128, 0.75–1.0× with 256 and 0.7× with 784 (batches of 128–512 rows; 0.85× with 784 in
float64)."""


def _gains(rows: int, n_in: int, n_out: int) -> bool:
    """Whether a training product of these sizes runs faster on the kernel than on BLAS."""
    return n_in >= TRAIN_MIN_INPUTS and rows * n_in * n_out >= TRAIN_MIN_WORK


class TrainingProducts:
    """The BLAS trainer's forward products z = a·Wᵀ on the kernel (:mod:`.blas`), when the
    trainer runs on one thread.

    On one thread the kernel took 0.7× BLAS's time per epoch's forward pass of the MNIST-shaped
    784-256-128-10 network (batch 128, float32), and the epoch 0.85×. With two threads it does
    not pay: split between Python threads, the product contends with the BLAS worker thread
    that spins on the other core after each of the batch's other products (gradient, δ·W), and
    the forward pass took 1.4× BLAS's two-thread time; the other products are slower on the
    kernel than on BLAS (sums over only the batch's rows: the kernel's 24 horizontal sums per
    tile are not amortised). So with more than one thread everything stays on BLAS.

    :meth:`ready` is asked once per epoch (the kernel is compiled in the background meanwhile,
    BLAS serving until it is); :meth:`affine` then computes the products large enough to gain
    and returns False for those it leaves to BLAS.
    """

    def __init__(self, dtype: Any, widest: int) -> None:
        self.dtype = np.dtype(dtype)
        self.zeros = np.zeros(widest, self.dtype)  # b = 0: the trainer adds b with f
        self.on = self._compiled = False
        self._kernels: Any = None
        self.calls = 0  # products computed by the kernel (tests read it)

    def ready(self, layers: list[tuple[int, int]], rows: int, threads: int) -> bool:
        """Whether :meth:`affine` runs the kernel in this epoch, for layers of (n_out, n_in),
        batches of ``rows`` rows and ``threads`` threads allowed; asks for its compilation."""
        self.on = False
        if threads != 1 or self.dtype not in (np.float32, np.float64):
            return False
        if not any(_gains(rows, n_in, n_out) for n_out, n_in in layers):
            return False
        if self._compiled:  # machine code, once loaded, stays
            self.on = True
            return True
        if self._kernels is None:
            from retroprop._fast import codegen

            try:
                self._kernels = codegen.load_generated(("dense",), source, ("affine",))
            except OSError:  # nowhere to cache compiled code: BLAS
                return False
        e = np.empty((ROWS, COLS), self.dtype)
        self.on = self._compiled = bool(
            self._kernels.ready({"affine": (e, e, self.zeros[:COLS], e[:, :ROWS])})
        )
        return self.on

    def affine(self, a: np.ndarray, W: np.ndarray, z: np.ndarray) -> bool:
        """z (m, n_out) = a (m, n_in) · W (n_out, n_in)ᵀ on the kernel if it gains (W and z
        C-contiguous, all of the trainer's dtype); False: the caller computes it on BLAS."""
        m, n_in = a.shape
        if not (self.on and _gains(m, n_in, len(W)) and a.flags.c_contiguous):
            return False
        self._kernels.affine(a, W, self.zeros[: len(W)], z)
        self.calls += 1
        return True
