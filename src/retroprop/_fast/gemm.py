"""Training's matrix products C = α·A·B + β·C on a register-tiled kernel compiled for the host.

The wide-batch trainer (:mod:`.blas`) spends most of an epoch in three products per layer:
z = a·Wᵀ (forward), δ·W (the δ of the layer below) and δᵀ·a (the gradient). NumPy's and
SciPy's OpenBLAS pick their kernels by processor model (or ``OPENBLAS_CORETYPE``): on a
processor they run 256-bit (AVX2) code on, half of an AVX-512 core's multiply-add width is
idle. This kernel is the classic blocked product (Goto and van de Geijn, "Anatomy of
high-performance matrix multiplication", ACM TOMS 34(3), 2008):

- the inner kernel :func:`tile` keeps a ``ROWS`` × ``VECTORS``·w block of C (w = floats per
  vector register: 16 float32 or 8 float64 with 512-bit registers) in registers and, for each
  k, adds a column of A (broadcast) times a row of B (two vector loads): written as LLVM vector
  IR through numba's ``intrinsic``, so it does not depend on the auto-vectoriser;
- A and B are packed, ``DEPTH`` values of k at a time, into the order the tile reads (zeros pad
  the edges), so every load is contiguous whatever A's and B's strides: the transposed views
  aᵀ, δᵀ, Wᵀ of the trainer's row-major buffers cost nothing more than a plain product;
- one thread computes a range of C's columns: :class:`HostProducts` splits the columns between
  as many threads as BLAS may use (numba's ``nogil``).

The sums run in a different order from BLAS's, so results agree with BLAS to rounding (the
trainer's equivalence tests hold to 1e-12 in float64, 1e-5 in float32, as with BLAS).
"""

from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

ROWS, VECTORS = 12, 2
"""The register tile: 12 rows of C × 2 vectors (32 float32 or 16 float64 columns), 24 vector
accumulators. Measured on one Zen 5 core (K = 256, all in L1): 12 × 2 220 GFLOP/s in float32,
6 × 2 198, 4 × 4 206, 8 × 3 147; float64 99–106 for all of them."""

DEPTH = 256
"""Values of k per packed block: a packed panel of B (256 × 32 float32 = 32 KiB) stays in L1."""

HEIGHT = 120
"""Rows of A per block, a multiple of ROWS, when A's block of k is larger than CACHED_A: a block
(120 × DEPTH values, 240 KiB in float64) stays in L2 while B's panels pass over it, so that a
product of many rows (L-BFGS's whole data set: 60,000 rows) reads A from memory once per block
of k, not once per panel of B (its float64 forward product took 263 ms instead of 491)."""

CACHED_A = 1 << 20
"""Bytes of A's block of k (M × DEPTH values) up to which it is not split into row blocks: it
stays in L2 whole, and each panel of B is then read once (splitting the gradient's 256 rows
made it 1.4× slower)."""

REGISTER_BYTES = 64
"""Bytes of a vector register the tile is written for (AVX-512; other machines split it)."""


@intrinsic
def tile(
    typingctx: Any,
    a: Any, a_at: Any, sa_m: Any, sa_k: Any,
    b: Any, b_at: Any, sb_k: Any,
    c: Any, c_at: Any, ldc: Any,
    depth: Any, alpha: Any, beta: Any, keep: Any,
) -> Any:  # fmt: skip
    """One register tile: for r < ROWS, j < n_r (n_r = VECTORS · floats per register),
    s = Σ_{k<depth} a[a_at + r·sa_m + k·sa_k] · b[b_at + k·sb_k + j], then
    c[c_at + r·ldc + j] = α·s + β·c[…] if ``keep`` else α·s. a, b, c 1-d contiguous arrays of
    one float type; depth ≥ 1; the caller keeps every index in bounds."""
    sig = types.void(a, a_at, sa_m, sa_k, b, b_at, sb_k, c, c_at, ldc, depth, alpha, beta, keep)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        dtype = signature.args[0].dtype
        width = REGISTER_BYTES // (4 if dtype == types.float32 else 8)
        fty = context.get_value_type(dtype)
        vty = ir.VectorType(fty, width)
        i64 = ir.IntType(64)
        a_at, sa_m, sa_k, b_at, sb_k, c_at, ldc, depth = (
            context.cast(builder, args[i], signature.args[i], types.int64)
            for i in (1, 2, 3, 5, 6, 8, 9, 10)
        )
        pa, pb, pc = (
            context.make_array(signature.args[i])(context, builder, args[i]).data for i in (0, 4, 7)
        )
        alpha, beta = (context.cast(builder, args[i], signature.args[i], dtype) for i in (11, 12))
        keep = context.cast(builder, args[13], signature.args[13], types.boolean)
        bits = 32 if dtype == types.float32 else 64
        insert: Any = cgutils.get_or_insert_function  # untyped
        fma = insert(builder.module, ir.FunctionType(vty, [vty] * 3), f"llvm.fma.v{width}f{bits}")
        undef = ir.Constant(vty, ir.Undefined)
        spread = ir.Constant(ir.VectorType(ir.IntType(32), width), [0] * width)

        def const(n: int) -> Any:
            return ir.Constant(i64, n)

        def splat(x: Any) -> Any:
            x = builder.insert_element(undef, x, ir.Constant(ir.IntType(32), 0))
            return builder.shuffle_vector(x, undef, spread)

        def vector_at(base: Any, index: Any) -> Any:
            return builder.bitcast(builder.gep(base, [index]), vty.as_pointer())

        entry = builder.block
        loop = builder.append_basic_block("tile.k")
        done = builder.append_basic_block("tile.done")
        builder.branch(loop)
        builder.position_at_end(loop)
        k = builder.phi(i64)
        acc = [[builder.phi(vty) for _ in range(VECTORS)] for _ in range(ROWS)]
        k.add_incoming(const(0), entry)
        zero = ir.Constant(vty, [ir.Constant(fty, 0.0)] * width)
        for phi in (p for row in acc for p in row):
            phi.add_incoming(zero, entry)
        b_row = builder.add(b_at, builder.mul(k, sb_k))
        bv = [
            builder.load(vector_at(pb, builder.add(b_row, const(v * width))), align=4)
            for v in range(VECTORS)
        ]
        a_col = builder.add(a_at, builder.mul(k, sa_k))
        new = []
        for r in range(ROWS):
            x = splat(
                builder.load(builder.gep(pa, [builder.add(a_col, builder.mul(const(r), sa_m))]))
            )
            new.append([builder.call(fma, [x, bv[v], acc[r][v]]) for v in range(VECTORS)])
        k_next = builder.add(k, const(1))
        end = builder.block
        k.add_incoming(k_next, end)
        for r in range(ROWS):
            for v in range(VECTORS):
                acc[r][v].add_incoming(new[r][v], end)
        builder.cbranch(builder.icmp_signed("<", k_next, depth), loop, done)
        builder.position_at_end(done)
        va, vb = splat(alpha), splat(beta)
        for r in range(ROWS):
            row = builder.add(c_at, builder.mul(const(r), ldc))
            for v in range(VECTORS):
                ptr = vector_at(pc, builder.add(row, const(v * width)))
                scaled = builder.fmul(va, new[r][v])
                with builder.if_else(keep) as (then, otherwise):
                    with then:
                        kept = builder.call(fma, [vb, builder.load(ptr, align=4), scaled])
                        builder.store(kept, ptr, align=4)
                    with otherwise:
                        builder.store(scaled, ptr, align=4)
        return context.get_dummy_value()

    return sig, codegen


def source() -> str:
    """The generated module's text: ``product`` (compiled by a worker, see :mod:`.codegen`)."""
    return f'''import numpy as np
from numba import njit

from retroprop._fast.gemm import tile

ROWS, DEPTH, HEIGHT, CACHED_A = {ROWS}, {DEPTH}, {HEIGHT}, {CACHED_A}


@njit(cache=True, nogil=True, boundscheck=False)
def _pack(x, at, s_r, s_c, rows, cols, P, width):
    """P[c·width + r] = x[at + r·s_r + c·s_c] for r < rows, c < cols; 0 for rows ≤ r < width.
    (Unsigned indices: no test for negative ones, which Python's indexing would wrap.)"""
    for r in range(rows):
        src = np.uint64(at + r * s_r)
        for c in range(np.uint64(cols)):
            P[c * np.uint64(width) + np.uint64(r)] = x[src + c * np.uint64(s_c)]
    for r in range(rows, width):
        for c in range(np.uint64(cols)):
            P[c * np.uint64(width) + np.uint64(r)] = 0


@njit(cache=True, nogil=True, boundscheck=False)
def _edge(T, n_r, C, m0, p0, mc, nc, beta, keep):
    """C[m0 + r, p0 + j] = T[r·n_r + j] (+ β·C) on the valid part of an edge tile."""
    for r in range(mc):
        for j in range(nc):
            v = T[r * n_r + j]
            C[m0 + r, p0 + j] = v + beta * C[m0 + r, p0 + j] if keep else v


@njit(cache=True, nogil=True, boundscheck=False)
def product(a, sa_m, sa_k, b, sb_k, sb_n, K, C, alpha, beta, j0, j1, Ap, Bp, T):
    """C[:, j0:j1] = α·A·B[:, j0:j1] + β·C[:, j0:j1] (C not read if β = 0): A (M, K) =
    a[m·sa_m + k·sa_k], B (K, N) = b[k·sb_k + n·sb_n] (a, b 1-d), C (M, N) C-contiguous,
    K ≥ 1. Buffers: Ap (DEPTH·ROWS,), Bp (DEPTH·n_r·⌈(j1 − j0)/n_r⌉,), T (ROWS·n_r,), n_r the
    tile's columns."""
    M, N = C.shape
    n_r = T.shape[0] // ROWS
    c = C.reshape(-1)
    one = C.dtype.type(1)
    full = M - M % ROWS  # rows of whole tiles: A read in place; the rest packed once per block
    in_place = sb_n == 1  # B's rows are contiguous: its whole panels are read in place
    height = M if M * DEPTH * C.itemsize <= CACHED_A else HEIGHT
    for k0 in range(0, K, DEPTH):
        kc = min(DEPTH, K - k0)
        keep, bk = (beta != 0, beta) if k0 == 0 else (True, one)
        if full < M:
            _pack(a, full * sa_m + k0 * sa_k, sa_m, sa_k, M - full, kc, Ap, ROWS)
        for p0 in range(j0, j1, n_r):  # B's other panels, packed once for every row block
            nc = min(n_r, j1 - p0)
            if not (in_place and nc == n_r):
                at = (p0 - j0) // n_r * DEPTH * n_r
                _pack(b, k0 * sb_k + p0 * sb_n, sb_n, sb_k, nc, kc, Bp[at:], n_r)
        for i0 in range(0, M, height):  # a block of A's rows stays in cache across B's panels
            for p0 in range(j0, j1, n_r):
                nc = min(n_r, j1 - p0)
                if in_place and nc == n_r:
                    bb, b_at, b_k = b, k0 * sb_k + p0, sb_k
                else:
                    bb, b_at, b_k = Bp, (p0 - j0) // n_r * DEPTH * n_r, n_r
                for m0 in range(i0, min(i0 + height, M), ROWS):
                    mc = min(ROWS, M - m0)
                    if m0 < full:
                        aa, a_at, a_m, a_k = a, m0 * sa_m + k0 * sa_k, sa_m, sa_k
                    else:
                        aa, a_at, a_m, a_k = Ap, 0, 1, ROWS
                    if mc == ROWS and nc == n_r:
                        tile(aa, a_at, a_m, a_k, bb, b_at, b_k, c, m0 * N + p0, N, kc, alpha,
                             bk, keep)
                    else:
                        tile(aa, a_at, a_m, a_k, bb, b_at, b_k, T, 0, n_r, kc, alpha, bk, False)
                        _edge(T, n_r, C, m0, p0, mc, nc, bk, keep)
'''


MIN_WORK = 1 << 16
"""Fewest multiply-adds (M·N·K) of a product the kernel computes; smaller ones stay on BLAS."""

SPLIT_WORK = 1 << 24
"""Fewest multiply-adds of a float64 product split between threads (twice as many for float32,
whose products take half the time): handing a part to another thread and waiting for it cost
50–120 µs on this 2-core VM, so a product is split only when it takes ~0.3 ms on one thread
(MNIST-shaped first layer, one thread / two: float32 batch 128 0.24 / 0.23 ms, batch 200
0.37 / 0.29 ms, batch 512 1.03 / 0.59 ms; float64 batch 32 0.13 / 0.16 ms, batch 128
0.48 / 0.31 ms)."""


def _tile_columns(dtype: np.dtype[Any]) -> int:
    """n_r: the tile's columns, VECTORS registers of this float type."""
    return VECTORS * REGISTER_BYTES // dtype.itemsize


class HostProducts:
    """The wide-batch trainer's products on :func:`tile`: :meth:`ready` once per epoch (the
    kernel is compiled in the background meanwhile, BLAS serving until it is), then
    :meth:`product` for each product, which returns False for those it leaves to BLAS.

    Operands are given as (flat, s_row, s_col): a 1-d array and the element strides of the 2-d
    operand inside it, so that transposed views of the trainer's buffers cost nothing.
    """

    def __init__(self, dtype: Any) -> None:
        self.dtype = np.dtype(dtype)
        self._n_r = _tile_columns(self.dtype) if self.dtype.kind == "f" else 1
        self.on = False
        self.threads = 1
        self.calls = 0  # products computed by the kernel (tests read it)
        self._kernels: Any = None
        self._compiled = False
        self._buffers: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def _buffers_for(self, threads: int) -> None:
        """One set of packing buffers per thread."""
        n_r = _tile_columns(self.dtype)
        while len(self._buffers) < threads:
            self._buffers.append(
                (
                    np.zeros(DEPTH * ROWS, self.dtype),
                    np.zeros(DEPTH * n_r, self.dtype),
                    np.zeros(ROWS * n_r, self.dtype),
                )
            )

    def _room(self, N: int) -> None:
        """Packed panels of B for products of N columns (buffers only grow)."""
        size = DEPTH * -(-N // self._n_r) * self._n_r
        for i, (Ap, Bp, T) in enumerate(self._buffers):
            if len(Bp) < size:
                self._buffers[i] = (Ap, np.zeros(size, self.dtype), T)

    def ready(self, threads: int) -> bool:
        """Whether :meth:`product` runs the kernel in this epoch, on ``threads`` threads; asks
        for its compilation (in a worker process) the first time."""
        self.on = False
        if self.dtype not in (np.float32, np.float64):
            return False
        if not self._compiled:
            if self._kernels is None:
                from retroprop._fast import codegen

                try:
                    self._kernels = codegen.load_generated(("gemm",), source, ("product",))
                except OSError:  # nowhere to cache compiled code: BLAS
                    return False
            self._buffers_for(1)
            Ap, Bp, T = self._buffers[0]
            one = self.dtype.type(1)
            args = (Ap, 1, 1, Ap, 1, 1, 1, T.reshape(ROWS, -1), one, one, 0, 1, Ap, Bp, T)
            self._compiled = bool(self._kernels.ready({"product": args}))
        self.on = self._compiled
        self.threads = max(1, threads)
        self._buffers_for(self.threads)
        return self.on

    def product(
        self,
        A: tuple[np.ndarray, int, int],
        B: tuple[np.ndarray, int, int],
        C: np.ndarray,
        K: int,
        alpha: float,
        beta: float,
    ) -> bool:
        """C (M, N) = α·A·B + β·C with A (M, K) and B (K, N) given as (flat, s_row, s_col), C
        C-contiguous of the trainer's dtype (not read if β = 0); False: left to BLAS."""
        M, N = C.shape
        work = M * N * K
        if not self.on or work < MIN_WORK:
            return False
        self._room(N)
        scalar = self.dtype.type
        args = (A[0], A[1], A[2], B[0], B[1], B[2], K, C, scalar(alpha), scalar(beta))
        if self.threads == 1 or work * self.dtype.itemsize < SPLIT_WORK * 8 or N <= self._n_r:
            self._kernels.product(*args, 0, N, *self._buffers[0])
        else:
            self._split(args, N)
        self.calls += 1
        return True

    def _split(self, args: tuple[Any, ...], N: int) -> None:
        """The product's columns in ``threads`` ranges of whole tiles, one per thread (this
        thread computes the first)."""
        panels = -(-N // self._n_r)
        parts = min(self.threads, panels)
        cuts = [min(N, panels * i // parts * self._n_r) for i in range(parts)] + [N]
        run = self._kernels.product
        pool = self._executor()
        futures = [
            pool.submit(functools.partial(run, *args, cuts[i], cuts[i + 1], *self._buffers[i]))
            for i in range(1, parts)
        ]
        run(*args, cuts[0], cuts[1], *self._buffers[0])
        for future in futures:
            future.result()

    def _executor(self) -> ThreadPoolExecutor:
        """The process's helper threads (at least threads − 1 of them)."""
        return _pool(self.threads - 1)


_POOL: list[Any] = []  # [pid, pool]: one pool of helper threads per process, shared
_POOL_LOCK = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    """A pool of at least ``workers`` threads, shared by every trainer of this process: a
    trainer per fit must not leave threads behind, and a forked child starts its own."""
    with _POOL_LOCK:
        if not _POOL or _POOL[0] != os.getpid() or _POOL[1]._max_workers < workers:
            if _POOL and _POOL[0] == os.getpid():
                _POOL[1].shutdown(wait=False)
            _POOL[:] = [os.getpid(), ThreadPoolExecutor(workers, "retroprop-gemm")]
        pool: ThreadPoolExecutor = _POOL[1]
        return pool
