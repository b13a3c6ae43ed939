"""Kernels generated for one kind of network: online SGD and the epoch logs, written out.

The generic kernels of :mod:`.kernels` take the activation and loss codes as data, call a
function per layer and branch on the codes inside it. For online training (where every sample
is one pass), this module writes the Python source of a kernel for one (activations, loss):
the activation and loss formulas are written out, with one loop per layer over arrays of that
layer's outputs and δ, which the compiler vectorizes. The layer sizes are *not* written in:
they are read from the weight arrays, so one compiled kernel serves every network with the same
activations and loss (e.g. sigmoid hidden layers with softmax and cross-entropy, whatever the
widths and the number of inputs). The arithmetic is exactly that of the generic kernel (and so
of the NumPy reference, to rounding); only the bookkeeping disappears.

The source goes to a cache directory (``$RETROPROP_CACHE_DIR``, else
``$XDG_CACHE_HOME/retroprop`` or ``~/.cache/retroprop``) under a name derived from its
contents, and numba caches the machine code beside it, so each kind of network is compiled once
per machine (new widths or a new data set reuse it). When no directory is writable, callers
fall back to the generic kernels.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from retroprop._fast import constants as K
from retroprop._fast.kernels import count_nonzero_rows, fill_sparse_rows

MAX_UNROLLED = 64
"""Widest output layer that takes the generated kernels; wider outputs use the generic ones
(a limit of the first generated kernels, which unrolled the output layer, kept so that the same
networks take the same kernels, and so get the same numbers, as before)."""

_VERSION = "9"  # bump when the generated code changes


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
    """True when the output layer is narrow enough (:data:`MAX_UNROLLED`); hidden layers of any
    width are fine."""
    return sizes[-1] <= MAX_UNROLLED


def _activation(code: int, z: str) -> str:
    return {
        K.IDENTITY: z,
        K.SIGMOID: f"one / (one + math.exp(-({z})))",
        K.TANH: f"math.tanh({z})",
        K.RELU: f"_relu({z}, zero)",
        K.LEAKY_RELU: f"_leaky({z}, zero, leak)",
    }[code]


def _derivative(code: int, a: str) -> str:
    return {
        K.IDENTITY: "one",
        K.SIGMOID: f"({a} * (one - {a}))",
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


def _forward(src: _Source, d: int, acts: Sequence[int]) -> None:
    """Each layer l into A{l}: zⱼ = Σᵢ wⱼᵢ xᵢ (in the order of i), then oⱼ = f(zⱼ + bⱼ).

    Layer 1 reads the nonzero inputs of the row only (adding 0 changes nothing).
    """
    for l in range(1, len(acts) + 1):
        code = acts[l - 1]
        src(d, f"for j in range(n{l}):")
        src(d + 1, f"A{l}[j] = zero")
        if l == 1:
            src(d, "for q in range(P[row], P[row + 1]):")
            src(d + 1, "i = I[q]")
            src(d + 1, "xi = V[q]")
        else:
            src(d, f"for i in range(n{l - 1}):")
            src(d + 1, f"xi = A{l - 1}[i]")
        src(d + 1, f"r = i * n{l}")
        src(d + 1, f"for j in range(n{l}):")
        src(d + 2, f"A{l}[j] += F{l}[r + j] * xi")
        if code == K.SOFTMAX:  # max-shifted, as activations._softmax
            src(d, f"for j in range(n{l}):")
            src(d + 1, f"A{l}[j] = A{l}[j] + b{l}[j]")
            src(d, f"m = A{l}[0]")
            src(d, f"for j in range(1, n{l}):")
            src(d + 1, f"m = max(m, A{l}[j])")
            src(d, "s = zero")
            src(d, f"for j in range(n{l}):")
            src(d + 1, f"A{l}[j] = math.exp(A{l}[j] - m)")
            src(d + 1, f"s += A{l}[j]")
            src(d, f"for j in range(n{l}):")
            src(d + 1, f"A{l}[j] = A{l}[j] / s")
        else:
            src(d, f"for j in range(n{l}):")
            src(d + 1, f"A{l}[j] = " + _activation(code, f"A{l}[j] + b{l}[j]"))


def _output_delta(src: _Source, d: int, L: int, act: int, loss: int) -> None:
    """Output deltas D{L}[k] = −∂E/∂zₖ (matched pairs: −(a − y))."""
    a, y = f"A{L}[k]", "Y[row, k]"
    src(d, f"for k in range(n{L}):")
    if (act, loss) in K.MATCHED_CODES:
        src(d + 1, f"D{L}[k] = -({a} - {y})")
    elif act == K.SOFTMAX:  # ∂E/∂zₖ = sₖ (gₖ − Σₘ gₘ sₘ), g = ∂E/∂a held in D meanwhile
        src(d + 1, f"D{L}[k] = " + _loss_grad(loss, y, a))
        src(d, "s = zero")
        src(d, f"for k in range(n{L}):")
        src(d + 1, f"s += D{L}[k] * {a}")
        src(d, f"for k in range(n{L}):")
        src(d + 1, f"D{L}[k] = -({a} * (D{L}[k] - s))")
    else:
        src(d + 1, f"D{L}[k] = -({_derivative(act, a)} * {_loss_grad(loss, y, a)})")


def _backward(src: _Source, d: int, acts: Sequence[int]) -> None:
    """Top layer down: hidden δ from each row of Wᵀ before the row is updated."""
    for l in range(len(acts), 0, -1):
        # Δwⱼᵢ = −η · −(δⱼ xᵢ), rounded as the reference rounds it (δⱼ xᵢ first, then times
        # η): (η xᵢ) δⱼ would save a product but differ in the last bit of every step, which
        # online SGD accumulates (issue 14: 1e-11 after one epoch on wine, 1e-9 after 40).
        if l == 1:  # nonzero inputs only: δⱼ·0 changes nothing
            src(d, "for q in range(P[row], P[row + 1]):")
            src(d + 1, "i = I[q]")
            src(d + 1, "xi = V[q]")
            src(d + 1, f"r = i * n{l}")
        else:  # the forward pass left A{l-1} filled
            src(d, f"for i in range(n{l - 1}):")
            src(d + 1, f"xi = A{l - 1}[i]")
            src(d + 1, f"r = i * n{l}")
            src(d + 1, "e = zero")
            src(d + 1, f"for j in range(n{l}):")
            src(d + 2, f"e += D{l}[j] * F{l}[r + j]")
            src(d + 1, f"D{l - 1}[i] = {_derivative(acts[l - 2], 'xi')} * e")
        src(d + 1, f"for j in range(n{l}):")
        src(d + 2, f"F{l}[r + j] = F{l}[r + j] + neg_eta * -(D{l}[j] * xi)")
        src(d, f"for j in range(n{l}):")
        src(d + 1, f"b{l}[j] = b{l}[j] + neg_eta * -D{l}[j]")


_PRELUDE = '''"""Generated by retroprop._fast.codegen.

Activation codes {acts}, loss code {loss}; any layer sizes.
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


def _sample_loss(src: _Source, d: int, L: int, loss: int) -> None:
    """The sample's loss E into ``e`` (as ``losses.py``), and Σ (y − o)² into ``sq``."""
    y, a = "Y[row, k]", f"A{L}[k]"
    src(d, "e = zero")
    src(d, "sq = zero")
    src(d, f"for k in range(n{L}):")
    if loss == K.BCE:
        src(d + 1, f"p = min(max({a}, p_lo), p_hi)")
        src(d + 1, f"e += {y} * math.log(p) + (one - {y}) * math.log1p(-p)")
    elif loss == K.CCE:
        src(d + 1, f"e += {y} * math.log(min(max({a}, p_lo), one))")
    elif loss == K.ABSOLUTE:
        src(d + 1, f"e += abs({y} - {a})")
    src(d + 1, f"sq += ({y} - {a}) * ({y} - {a})")
    src(
        d, {K.SQUARED: "e = half * sq", K.BCE: "e = -e", K.CCE: "e = -e", K.ABSOLUTE: "e = e"}[loss]
    )


def _constants(src: _Source) -> None:
    names = ["one", "zero", "half", "leak", "p_lo", "p_hi", "eta", "neg_eta"]
    slots = [K.C_ONE, K.C_ZERO, K.C_HALF, K.C_LEAK, K.C_P_LO, K.C_P_HI, K.C_ETA, K.C_NEG_ETA]
    for name, slot in zip(names, slots, strict=True):
        src(1, f"{name} = c[{slot}]")


def _buffers(src: _Source, L: int) -> None:
    """Each layer's size n{l} (from its bias), its outputs A{l}, its deltas D{l} and its Wᵀ
    as one vector F{l} (row i at i·n{l})."""
    for l in range(1, L + 1):
        src(1, f"n{l} = b{l}.shape[0]")
        src(1, f"A{l} = np.empty(n{l}, dtype=c.dtype)")
        src(1, f"D{l} = np.empty(n{l}, dtype=c.dtype)")
        src(1, f"F{l} = W{l}.reshape(W{l}.size)  # Wᵀ row after row (a view: C order)")


def _tally(src: _Source, d: int, L: int, loss: int) -> None:
    """out += [E, ½‖y − o‖², 1 if right] of the sample in row ``row`` (as ``kernels.tally_sample``);
    the accuracy only when ``classify``."""
    _sample_loss(src, d, L, loss)
    src(d, "out[0] += e")
    src(d, "out[1] += half * sq")
    src(d, "if classify:")
    src(d + 1, f"if n{L} == 1:")
    src(d + 2, f"out[2] += (A{L}[0] >= half) == (Y[row, 0] == one)")
    src(d + 1, "else:")
    src(d + 2, "ka = 0")
    src(d + 2, "ky = 0")
    src(d + 2, f"for k in range(1, n{L}):")
    src(d + 3, f"if A{L}[k] > A{L}[ka]:")
    src(d + 4, "ka = k")
    src(d + 3, "if Y[row, k] > Y[row, ky]:")
    src(d + 4, "ky = k")
    src(d + 2, "out[2] += ka == ky")


def source(acts: Sequence[int], loss: int) -> str:
    """Python source of ``train(P, I, V, Y, index, c, *params)``, ``train_tallied(P, I, V, Y,
    index, c, classify, out, *params)`` and ``evaluate(P, I, V, Y, c, classify, out,
    *params)`` for the networks with these activation codes (one per layer) and loss code.

    (P, I, V) is the input matrix X in compressed sparse rows (:func:`sparse_rows`), so the first
    layer touches the nonzero inputs only. ``params`` are W₁ᵀ, b₁, W₂ᵀ, b₂, … (each Wᵀ of
    shape (n_in, n_out), as in :mod:`.kernels`), which give the layer sizes. ``train`` is one
    epoch of online SGD without weight decay, in place; ``train_tallied`` the same, adding to
    ``out`` [Σ E, Σ ½‖y − o‖², number right] of every sample before its update (the running
    epoch logs, and the estimators' ``loss_curve_``); ``evaluate`` sets ``out`` to those sums
    over all samples of X with the weights as they are.
    """
    L = len(acts)
    params = ", ".join(f"W{l}, b{l}" for l in range(1, L + 1))
    src = _Source()
    for name, args, tallied in (
        ("train", "index, c", False),
        ("train_tallied", "index, c, classify, out", True),
    ):
        src(0, "@njit(cache=True)")
        src(0, f"def {name}(P, I, V, Y, {args}, {params}):")
        _constants(src)
        _buffers(src, L)
        src(1, "for s in range(len(index)):")
        src(2, "row = index[s]")
        _forward(src, 2, acts)
        if tallied:
            _tally(src, 2, L, loss)
        _output_delta(src, 2, L, acts[L - 1], loss)
        _backward(src, 2, acts)
        src(0, "")
        src(0, "")
    src(0, "@njit(cache=True)")
    src(0, f"def evaluate(P, I, V, Y, c, classify, out, {params}):")
    _constants(src)
    _buffers(src, L)
    src(1, "out[:] = 0.0")
    src(1, "for row in range(Y.shape[0]):")
    _forward(src, 2, acts)
    _tally(src, 2, L, loss)
    body = "\n".join(src.lines) + "\n"
    head = _PRELUDE.format(acts=list(acts), loss=loss)
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
    return "retroprop_kernel_" + hashlib.sha1((_VERSION + text).encode()).hexdigest()[:16]


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


class Generated(NamedTuple):
    """The kernels generated for one (activations, loss) (signatures in :func:`source`)."""

    train: Callable[..., Any]
    evaluate: Callable[..., Any]
    train_tallied: Callable[..., Any]


_Key = tuple[tuple[int, ...], int, Path]
_LOADED: dict[_Key, Generated] = {}


def load(sizes: Sequence[int], acts: Sequence[int], loss: int) -> Generated:
    """The generated kernels for networks with these activations and loss, written and imported
    on demand (once per process and cache directory). ``sizes`` choose nothing: one kernel
    serves every width.

    Raises:
        OSError: the cache directory is not writable.
    """
    key = (tuple(int(a) for a in acts), int(loss), cache_dir())
    if key not in _LOADED:
        _LOADED[key] = _load(key[0], key[1])
    return _LOADED[key]


def _load(acts: Sequence[int], loss: int) -> Generated:
    text = source(acts, loss)
    name = _module_name(text)
    if name in sys.modules:
        module = sys.modules[name]
    else:
        folder = cache_dir()
        _check_private(folder)
        path = folder / f"{name}.py"
        if not path.exists() or path.read_text() != text:
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(text)
            os.replace(tmp, path)  # atomic: a concurrent reader sees old or new, never half
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return Generated(module.train, module.evaluate, module.train_tallied)
