"""Kernels generated for one architecture: online SGD and the epoch logs, fully specialised.

The generic kernels of :mod:`.kernels` take the layer sizes and activation codes as data, so
every inner loop has a trip count and a branch the compiler cannot see through. For the small
networks where online training is fastest, this module writes the Python source of a kernel for
one (sizes, activations, loss): sizes become constants, the activation and loss formulas are
written out, each layer's net inputs z₁ … z_n are scalar locals (registers), and the loops over
the neurons of a layer are unrolled. The arithmetic is exactly that of the generic kernel (and
so of the NumPy reference, to rounding); only the bookkeeping disappears.

The source goes to a cache directory (``$RETROPROP_CACHE_DIR``, else
``$XDG_CACHE_HOME/retroprop`` or ``~/.cache/retroprop``) under a name derived from its
contents, and numba caches the machine code beside it, so each architecture is compiled once
per machine, by a worker process (:mod:`.background`): the training process never compiles a
generated kernel, it runs the generic ones until the generated one is in the cache. The online
step is rounded as the generic kernel rounds it (Δw = (η xᵢ) δⱼ), so that the two give the same
numbers bit for bit. When no directory is writable, callers keep the generic kernels.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from retroprop._fast import background
from retroprop._fast import constants as K
from retroprop._fast.kernels import count_nonzero_rows, fill_sparse_rows

MAX_UNROLLED = 64
"""Widest output layer (always unrolled); networks with wider outputs use the generic kernels."""

UNROLL_INPUTS = 256
"""Largest hidden-to-next weight matrix whose inputs are unrolled too (else a loop over i)."""

UNROLL_OUTPUTS = 16
"""Widest hidden layer kept in one local variable per neuron; wider ones use arrays and loops."""

_VERSION = "8"  # bump when the generated code changes


@functools.cache
def engine_fingerprint() -> str:
    """A digest of the compiled engine's own source (every module of this package) and of
    numba's and NumPy's versions.

    A generated module imports compiled functions from this package (the full-batch step, the
    update rules), and numba's cache keeps the machine code of the whole call tree while
    checking only the generated file's own time stamp: after an upgrade, or in another
    checkout sharing the cache directory, it would run the old update rules. The digest is part
    of every generated module's name, so a changed engine writes and compiles new modules.
    """
    return source_digest(Path(__file__).parent)


def source_digest(folder: Path) -> str:
    """SHA-1 of numba's and NumPy's versions and of every ``*.py`` in ``folder`` (names and
    contents, in name order)."""
    import numba
    import numpy

    digest = hashlib.sha1(f"{numba.__version__} {numpy.__version__}".encode())
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_dir() -> Path:
    """Where generated kernels and their compiled code live.

    An empty ``RETROPROP_CACHE_DIR`` counts as unset (``Path("")`` would be the current folder,
    and code would be written and imported from wherever the command runs); a relative
    ``XDG_CACHE_HOME`` is ignored, as the XDG specification says.
    """
    if os.environ.get("RETROPROP_CACHE_DIR"):
        return Path(os.environ["RETROPROP_CACHE_DIR"])
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = xdg if os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "retroprop"


def applies(sizes: Sequence[int]) -> bool:
    """True when the output layer is narrow enough to unroll (hidden layers of any width are
    fine: wide ones become loops over arrays)."""
    return sizes[-1] <= MAX_UNROLLED


def _activation(code: int, z: str) -> str:
    return {
        K.IDENTITY: z,
        K.SIGMOID: f"one / (one + math.exp(-({z})))",
        K.SIGMOID_FANN: f"one / (one + math.exp(-({z})))",
        K.TANH: f"math.tanh({z})",
        K.RELU: f"_relu({z}, zero)",
        K.LEAKY_RELU: f"_leaky({z}, zero, leak)",
    }[code]


def _derivative(code: int, a: str) -> str:
    return {
        K.IDENTITY: "one",
        K.SIGMOID: f"({a} * (one - {a}))",
        K.SIGMOID_FANN: f"_fann_sigmoid_derivative({a}, one, clip_lo, clip_hi)",
        K.TANH: f"(one - {a} * {a})",
        K.RELU: f"(one if {a} > zero else zero)",
        K.LEAKY_RELU: f"(one if {a} > zero else leak)",
    }[code]


def _loss_grad(code: int, y: str, a: str) -> str:
    return {
        K.SQUARED: f"({a} - {y})",
        K.BCE: f"_bce_grad({y}, {a}, one, p_lo, p_hi)",
        K.CCE: f"(-{y} / min(max({a}, p_lo), one))",
        K.ABSOLUTE: f"_sign({a} - {y}, one, zero)",
    }[code]


class _Source:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)


def _wide(sizes: Sequence[int], l: int) -> bool:
    """Hidden layer l is wide: its neurons live in arrays A{l}, D{l} and loops run over them
    (which the compiler vectorizes), instead of one local variable per neuron."""
    return 0 < l < len(sizes) - 1 and sizes[l] > UNROLL_OUTPUTS


def _unrolled(sizes: Sequence[int], l: int) -> bool:
    """Layer l > 1 reads its inputs as locals a{l-1}_i, with no loop at all."""
    return l > 1 and not _wide(sizes, l - 1) and sizes[l - 1] * sizes[l] <= UNROLL_INPUTS


def _input_loop(src: _Source, d: int, sizes: Sequence[int], l: int) -> None:
    """``for`` over the inputs xi of layer l: nonzero inputs of X (layer 1), or A{l-1}."""
    if l == 1:  # the nonzero inputs of this row only: adding 0 changes nothing
        src(d, "for q in range(P[row], P[row + 1]):")
        src(d + 1, "i = I[q]")
        src(d + 1, "xi = V[q]")
    else:
        if not _wide(sizes, l - 1):
            for i in range(sizes[l - 1]):
                src(d, f"A{l - 1}[{i}] = a{l - 1}_{i}")
        src(d, f"for i in range({sizes[l - 1]}):")
        src(d + 1, f"xi = A{l - 1}[i]")


def _forward(src: _Source, d: int, sizes: Sequence[int], acts: Sequence[int]) -> None:
    """Net inputs and outputs per layer: locals z{j}, a{l}_{j}, or arrays A{l} (wide)."""
    for l in range(1, len(sizes)):
        n_in, n_out = sizes[l - 1], sizes[l]
        code = acts[l - 1]
        if _wide(sizes, l):
            src(d, f"for j in range({n_out}):")
            src(d + 1, f"A{l}[j] = zero")
            _input_loop(src, d, sizes, l)
            src(d + 1, f"for j in range({n_out}):")
            src(d + 2, f"A{l}[j] += W{l}[i, j] * xi")
            src(d, f"for j in range({n_out}):")
            src(d + 1, f"A{l}[j] = " + _activation(code, f"A{l}[j] + b{l}[j]"))
            continue
        for j in range(n_out):
            src(d, f"z{j} = zero")
        if _unrolled(sizes, l):
            for i in range(n_in):
                for j in range(n_out):
                    src(d, f"z{j} += W{l}[{i}, {j}] * a{l - 1}_{i}")
        else:
            _input_loop(src, d, sizes, l)
            for j in range(n_out):
                src(d + 1, f"z{j} += W{l}[i, {j}] * xi")
        if code == K.SOFTMAX:
            for j in range(n_out):
                src(d, f"z{j} = z{j} + b{l}[{j}]")
            zs = ", ".join(f"z{j}" for j in range(n_out))
            src(d, f"m = max({zs})" if n_out > 1 else "m = z0")
            src(d, "s = zero")
            for j in range(n_out):
                src(d, f"a{l}_{j} = math.exp(z{j} - m)")
                src(d, f"s += a{l}_{j}")
            for j in range(n_out):
                src(d, f"a{l}_{j} = a{l}_{j} / s")
        else:
            for j in range(n_out):
                src(d, f"a{l}_{j} = " + _activation(code, f"z{j} + b{l}[{j}]"))


def _output_delta(src: _Source, d: int, L: int, n: int, act: int, loss: int) -> None:
    """Output deltas d{L}_k = −∂E/∂zₖ (matched pairs: −(a − y))."""
    matched = (act, loss) in K.MATCHED_CODES
    if matched:
        for k in range(n):
            src(d, f"d{L}_{k} = -(a{L}_{k} - Y[row, {k}])")
    elif act == K.SOFTMAX:
        src(d, "s = zero")
        for k in range(n):
            src(d, f"g{k} = " + _loss_grad(loss, f"Y[row, {k}]", f"a{L}_{k}"))
            src(d, f"s += g{k} * a{L}_{k}")
        for k in range(n):
            src(d, f"d{L}_{k} = -(a{L}_{k} * (g{k} - s))")
    else:
        for k in range(n):
            a = f"a{L}_{k}"
            grad = _loss_grad(loss, f"Y[row, {k}]", a)
            src(d, f"d{L}_{k} = -({_derivative(act, a)} * {grad})")


def _backward(
    src: _Source, d: int, sizes: Sequence[int], acts: Sequence[int], sums: bool = False
) -> None:
    """Top layer down: hidden δ from each row of Wᵀ before the row is updated.

    ``sums``: instead of the online step, add xᵢ δⱼ to GWₗ[i, j] and δⱼ to GBₗ[j] (the full
    batch's gradient sums; the weights are only read)."""
    eta = "" if sums else "eta * "
    for l in range(len(sizes) - 1, 0, -1):
        n_in, n_out = sizes[l - 1], sizes[l]
        wide = _wide(sizes, l)  # δ of this layer in D{l}[j], else in locals d{l}_{j}
        T = f"GW{l}" if sums else f"W{l}"  # the array each row's products are added to
        # Δwⱼᵢ = η δⱼ xᵢ, computed as (η xᵢ) δⱼ: one product per weight, as the generic
        # kernel's fused step (the NumPy reference rounds δⱼ xᵢ first: a last-bit difference,
        # like BLAS's sum orders).
        if _unrolled(sizes, l):
            for i in range(n_in):
                e = " + ".join(f"d{l}_{j} * W{l}[{i}, {j}]" for j in range(n_out))
                src(d, f"e = zero + {e}")
                src(d, f"d{l - 1}_{i} = {_derivative(acts[l - 2], f'a{l - 1}_{i}')} * e")
                src(d, f"u = {eta}a{l - 1}_{i}")
                for j in range(n_out):
                    src(d, f"{T}[{i}, {j}] = {T}[{i}, {j}] + u * d{l}_{j}")
        else:
            if l == 1:  # nonzero inputs only: δⱼ·0 changes nothing
                src(d, "for q in range(P[row], P[row + 1]):")
                src(d + 1, "i = I[q]")
                src(d + 1, f"u = {eta}V[q]")
            else:  # the forward pass left A{l-1} filled
                src(d, f"for i in range({n_in}):")
                src(d + 1, f"xi = A{l - 1}[i]")
                if wide:
                    src(d + 1, "e = zero")
                    src(d + 1, f"for j in range({n_out}):")
                    src(d + 2, f"e += D{l}[j] * W{l}[i, j]")
                else:
                    e = " + ".join(f"d{l}_{j} * W{l}[i, {j}]" for j in range(n_out))
                    src(d + 1, f"e = zero + {e}")
                src(d + 1, f"D{l - 1}[i] = {_derivative(acts[l - 2], 'xi')} * e")
                src(d + 1, f"u = {eta}xi")
            if wide:
                src(d + 1, f"for j in range({n_out}):")
                src(d + 2, f"{T}[i, j] = {T}[i, j] + u * D{l}[j]")
            else:
                for j in range(n_out):
                    src(d + 1, f"{T}[i, {j}] = {T}[i, {j}] + u * d{l}_{j}")
            if l > 1 and not _wide(sizes, l - 1):
                for i in range(n_in):
                    src(d, f"d{l - 1}_{i} = D{l - 1}[{i}]")
        bias = [(f"GB{l}[{{j}}]", "{D}") if sums else (f"b{l}[{{j}}]", "neg_eta * -{D}")][0]
        if wide:
            src(d, f"for j in range({n_out}):")
            target, step = bias[0].format(j="j"), bias[1].format(D=f"D{l}[j]")
            src(d + 1, f"{target} = {target} + {step}")
        else:
            for j in range(n_out):
                target, step = bias[0].format(j=j), bias[1].format(D=f"d{l}_{j}")
                src(d, f"{target} = {target} + {step}")


_PRELUDE = '''"""Generated by retroprop._fast.codegen.

Sizes {sizes}, activation codes {acts}, loss code {loss}.
"""

import math

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _relu(z, zero):
    return zero if z <= zero else z


@njit(cache=True, inline="always")
def _leaky(z, zero, leak):
    return z if z > zero else leak * z


@njit(cache=True, inline="always")
def _fann_sigmoid_derivative(a, one, lo, hi):
    p = min(max(a, lo), hi)
    return p * (one - p)


@njit(cache=True, inline="always")
def _bce_grad(y, a, one, p_lo, p_hi):
    p = min(max(a, p_lo), p_hi)
    return (p - y) / (p * (one - p))


@njit(cache=True, inline="always")
def _sign(d, one, zero):
    if d > zero:
        return one
    if d < zero:
        return -one
    return d

'''


def _sample_loss(src: _Source, d: int, L: int, n: int, loss: int) -> None:
    """The sample's loss E into ``e`` (as ``losses.py``), and Σ (y − o)² into ``sq``."""
    src(d, "e = zero")
    src(d, "sq = zero")
    for k in range(n):
        y, a = f"Y[row, {k}]", f"a{L}_{k}"
        if loss == K.BCE:
            src(d, f"p = min(max({a}, p_lo), p_hi)")
            src(d, f"e += {y} * math.log(p) + (one - {y}) * math.log1p(-p)")
        elif loss == K.CCE:  # y log p = 0 for y = 0 (log p finite): as kernels.sample_loss
            src(d, f"if {y} != zero or {a} != {a}:")
            src(d + 1, f"e += {y} * math.log(min(max({a}, p_lo), one))")
        elif loss == K.ABSOLUTE:
            src(d, f"e += abs({y} - {a})")
        src(d, f"sq += ({y} - {a}) * ({y} - {a})")
    src(
        d, {K.SQUARED: "e = half * sq", K.BCE: "e = -e", K.CCE: "e = -e", K.ABSOLUTE: "e = e"}[loss]
    )


def _constants(src: _Source) -> None:
    names = ["one", "zero", "half", "leak", "p_lo", "p_hi", "eta", "neg_eta", "clip_lo", "clip_hi"]
    slots = [K.C_ONE, K.C_ZERO, K.C_HALF, K.C_LEAK, K.C_P_LO, K.C_P_HI, K.C_ETA, K.C_NEG_ETA]
    slots += [K.C_CLIP_LO, K.C_CLIP_HI]
    for name, slot in zip(names, slots, strict=True):
        src(1, f"{name} = c[{slot}]")


def _buffers(src: _Source, sizes: Sequence[int]) -> None:
    for l in range(1, len(sizes) - 1):  # hidden layers whose inputs are looped over
        src(1, f"A{l} = np.empty({sizes[l]}, dtype=c.dtype)")
        src(1, f"D{l} = np.empty({sizes[l]}, dtype=c.dtype)")


def _tally(src: _Source, d: int, L: int, n: int, loss: int) -> None:
    """out += [E, ½‖y − o‖², 1 if right] of the sample in row ``row`` (as ``kernels.tally_sample``);
    the accuracy only when ``classify``."""
    _sample_loss(src, d, L, n, loss)
    src(d, "out[0] += e")
    src(d, "out[1] += half * sq")
    src(d, "if classify:")
    if n == 1:
        src(d + 1, f"out[2] += (a{L}_0 >= half) == (Y[row, 0] == one)")
        return
    src(d + 1, "ka = 0")
    src(d + 1, "ky = 0")
    src(d + 1, f"top = a{L}_0")
    for k in range(1, n):
        src(d + 1, f"if a{L}_{k} > top:")
        src(d + 2, f"ka = {k}")
        src(d + 2, f"top = a{L}_{k}")
        src(d + 1, f"if Y[row, {k}] > Y[row, ky]:")
        src(d + 2, f"ky = {k}")
    src(d + 1, "out[2] += ka == ky")


def source(sizes: Sequence[int], acts: Sequence[int], loss: int) -> str:
    """Python source of ``train(P, I, V, Y, index, c, *params)``, ``train_tallied(P, I, V, Y,
    index, c, classify, out, *params)`` and ``evaluate(P, I, V, Y, c, classify, out,
    *params)``.

    (P, I, V) is the input matrix X in compressed sparse rows (:func:`sparse_rows`), so the first
    layer touches the nonzero inputs only. ``params`` are W₁ᵀ, b₁, W₂ᵀ, b₂, … (each Wᵀ of
    shape (n_in, n_out), as in :mod:`.kernels`). ``train`` is one epoch of online SGD without
    weight decay, in place; ``train_tallied`` the same, adding to ``out`` [Σ E, Σ ½‖y − o‖²,
    number right] of every sample before its update (the running epoch logs, and the
    estimators' ``loss_curve_``); ``evaluate`` sets ``out`` to those sums over all samples of
    X with the weights as they are.
    """
    L = len(sizes) - 1
    params = ", ".join(f"W{l}, b{l}" for l in range(1, L + 1))
    n = sizes[L]
    src = _Source()
    for name, args, tallied in (
        ("train", "index, c", False),
        ("train_tallied", "index, c, classify, out", True),
    ):
        src(0, "@njit(cache=True, nogil=True)")
        src(0, f"def {name}(P, I, V, Y, {args}, {params}):")
        _constants(src)
        _buffers(src, sizes)
        src(1, "for s in range(len(index)):")
        src(2, "row = index[s]")
        _forward(src, 2, sizes, acts)
        if tallied:
            _tally(src, 2, L, n, loss)
        _output_delta(src, 2, L, n, acts[L - 1], loss)
        _backward(src, 2, sizes, acts)
        src(0, "")
        src(0, "")
    src(0, "@njit(cache=True, nogil=True)")
    src(0, f"def evaluate(P, I, V, Y, c, classify, out, {params}):")
    _constants(src)
    _buffers(src, sizes)
    src(1, "out[:] = 0.0")
    src(1, "for row in range(Y.shape[0]):")
    _forward(src, 2, sizes, acts)
    _tally(src, 2, L, n, loss)
    body = "\n".join(src.lines) + "\n"
    head = _PRELUDE.format(sizes=list(sizes), acts=list(acts), loss=loss)
    return head + "\n" + body


def sparse_rows(X: Any) -> tuple[Any, Any, Any]:
    """X (n_samples, n_in) as compressed sparse rows: row r has inputs I[P[r]:P[r + 1]] with
    values V[P[r]:P[r + 1]] (in column order; NaN counts as nonzero)."""
    import numpy as np

    X = np.ascontiguousarray(X)
    P = np.zeros(len(X) + 1, dtype=np.int64)
    nnz = count_nonzero_rows(X, P)
    I = np.empty(nnz, dtype=np.int64)
    V = np.empty(nnz, dtype=X.dtype)
    fill_sparse_rows(X, P, I, V)
    return P, I, V


def _module_name(text: str) -> str:
    """``retroprop_kernel_<engine>_<text>``: the engine's digest first, so that modules of
    other engines can be told apart (:func:`_prune`)."""
    engine = engine_fingerprint()
    key = _VERSION + engine + text
    return f"{_PREFIX}{engine[:8]}_" + hashlib.sha1(key.encode()).hexdigest()[:16]


_PREFIX = "retroprop_kernel_"
PRUNE_AFTER_DAYS = 30
"""Generated modules of another engine (an older install, another checkout) are deleted from
the cache directory once their source is this many days old."""


def _prune(folder: Path, now: float) -> list[str]:
    """Delete the files of generated modules of other engines whose source is older than
    :data:`PRUNE_AFTER_DAYS` (source, lock, log, numba's index and machine code); returns the
    module names deleted. Modules of this engine are never touched; a file that vanishes or
    cannot be deleted meanwhile is left to the next run."""
    mine = _PREFIX + engine_fingerprint()[:8] + "_"
    stale = [
        path.stem
        for path in folder.glob(_PREFIX + "*.py")
        if not path.stem.startswith(mine) and _age_days(path, now) > PRUNE_AFTER_DAYS
    ]
    for stem in stale:
        for path in [*folder.glob(stem + ".*"), *(folder / "__pycache__").glob(stem + ".*")]:
            with contextlib.suppress(OSError):
                path.unlink()
    return stale


def _age_days(path: Path, now: float) -> float:
    """Days since ``path`` was last written (0 when it is gone: nothing to delete)."""
    try:
        return (now - path.stat().st_mtime) / 86400.0
    except OSError:
        return 0.0


def _check_private(folder: Path) -> None:
    """Create ``folder`` for this user only; refuse one that others may write to.

    The folder holds Python source that is imported, and numba's cache (whose index is a
    pickle): whoever can write there can run code in this process.

    Raises:
        OSError: the folder cannot be created, or is not this user's or is writable by others.
    """
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix":
        st = folder.stat()
        if st.st_uid != os.getuid() or st.st_mode & 0o022:
            raise OSError(f"{folder}: others may write here; kernels are not cached there")


class Generated:
    """The kernels generated for one architecture, which never compile in this process: by
    default ``train``, ``train_tallied`` and ``evaluate`` (signatures in :func:`source`);
    :mod:`.codegen_batch`'s ``gradient`` for the full batch.

    Call a function only after :meth:`ready` has named it for arguments of these types: its
    machine code then comes from numba's cache, compiled by a worker process
    (:mod:`.background`) while the generic kernels, which give the same numbers bit for bit,
    train. A call with types nothing was compiled for raises ``TypeError`` instead of compiling.
    """

    FUNCTIONS = ("train", "train_tallied", "evaluate")

    train: Callable[..., Any]
    train_tallied: Callable[..., Any]
    evaluate: Callable[..., Any]
    gradient: Callable[..., Any]

    def __init__(self, module: Any, path: Path, functions: Sequence[str] = FUNCTIONS) -> None:
        self.module, self.path = module, path
        for name in functions:  # numba's disable_compile() wants a signature first
            dispatcher = getattr(module, name)
            dispatcher._can_compile = False
            setattr(self, name, dispatcher)

    def ready(self, calls: Mapping[str, Sequence[Any]]) -> set[str]:
        """The names in ``calls`` (name → its arguments) that can run now without compiling;
        the others are compiled in the background (:func:`.background.ready`)."""
        return background.ready(self.module, self.path, calls)


def run_generated(kernels: Generated, ready: set[str], name: str, args: Sequence[Any]) -> bool:
    """Run ``kernels``' function ``name`` on ``args`` if its machine code is ready (it can
    become ready between two calls: an epoch boundary); returns whether it ran. ``ready`` holds
    the names known ready, and is updated in place."""
    if name not in ready:
        ready |= kernels.ready({name: args})
        if name not in ready:
            return False
    try:
        getattr(kernels, name)(*args)
    except TypeError:  # types it was not compiled for (it never started): ask for them
        ready.discard(name)
        return False
    return True


_Key = tuple[Any, ...]
_LOADED: dict[_Key, Generated] = {}
_PRUNED: list[list[str]] = []  # once per process: what _prune deleted


def load(sizes: Sequence[int], acts: Sequence[int], loss: int) -> Generated:
    """The online kernels generated for this architecture (:func:`source`), written and
    imported on demand (once per process and cache directory); importing compiles nothing.

    Raises:
        OSError: as :func:`load_generated`.
    """
    key = ("epoch", tuple(sizes), tuple(acts), loss)
    return load_generated(key, lambda: source(sizes, acts, loss), Generated.FUNCTIONS)


def load_generated(key: _Key, text: Callable[[], str], functions: Sequence[str]) -> Generated:
    """The generated module ``text()`` (made only the first time ``key`` is asked for, per
    cache directory), with its ``functions``.

    Raises:
        OSError: the cache directory is not writable (or numba has nowhere to cache, or its
            compiler is off: ``NUMBA_DISABLE_JIT``).
    """
    from numba.core import config

    if getattr(config, "DISABLE_JIT", False):  # set by numba from the environment
        raise OSError("numba's compiler is disabled (NUMBA_DISABLE_JIT)")
    where = (*key, cache_dir())
    if where not in _LOADED:
        _LOADED[where] = _load(text(), functions)
    return _LOADED[where]


def _load(text: str, functions: Sequence[str]) -> Generated:
    """Write ``text`` to the cache directory under a name derived from it, and import it."""
    name = _module_name(text)
    folder = cache_dir()
    path = folder / f"{name}.py"
    if name in sys.modules:
        return Generated(sys.modules[name], path, functions)
    _check_private(folder)
    if not path.exists() or path.read_text() != text:
        if not _PRUNED:
            _PRUNED.append(_prune(folder, time.time()))
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)  # atomic: a concurrent reader sees old or new, never half
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except RuntimeError as error:  # numba: "cannot cache function …: no locator available"
        raise OSError(str(error)) from error
    sys.modules[name] = module
    return Generated(module, path, functions)
