"""A kernel generated for one architecture: the full-batch gradient pass, fully specialised.

The pass of :func:`.fullbatch.gradient_pass` (every sample forward and backward, summing
G = Σ δ xᵀ and the error sums), written out by :mod:`.codegen`'s generator for one (sizes,
activations, loss): sizes are constants, each layer's net inputs are locals, small loops are
unrolled, and the first layer visits the nonzero inputs only. The weights do not change during
the pass, so the backward sweep only reads them and adds to the sums (``codegen._backward``
with ``sums``); all of it — forward pass, output deltas, error sums, backward sweep — is
:mod:`.codegen`'s own code, and the arithmetic that of the
generic kernel (the same products, summed in the same order).

Cached like :mod:`.codegen`'s kernels (source and machine code per architecture, per machine).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from retroprop._fast import codegen as C

__all__ = ["load_gradient", "source"]

_VERSION = "4"  # bump when the generated code changes


def source(sizes: Sequence[int], acts: Sequence[int], loss: int) -> str:
    """Python source of ``gradient(P, I, V, Y, index, c, classify, out, W1, b1, …, GW1,
    GB1, …)``: the sums GWₗ += Σ xᵢ δⱼ and GBₗ += Σ δⱼ (same shapes as Wₗᵀ and bₗ, zeroed by
    the caller) over the samples X[index] in that order, and ``out`` = [Σ E, Σ ½‖y − o‖²,
    number right] of the weights as they are. X comes as compressed sparse rows (P, I, V): the
    first layer visits the nonzero inputs only."""
    L = len(sizes) - 1
    params = ", ".join(f"W{l}, b{l}" for l in range(1, L + 1))
    sums = ", ".join(f"GW{l}, GB{l}" for l in range(1, L + 1))
    src = C._Source()
    src(0, "@njit(cache=True)")
    src(0, f"def gradient(P, I, V, Y, index, c, classify, out, {params}, {sums}):")
    C._constants(src)
    C._buffers(src, sizes)
    src(1, "out[:] = 0.0")
    src(1, "for s in range(len(index)):")
    src(2, "row = index[s]")
    C._forward(src, 2, sizes, acts)
    C._tally(src, 2, L, sizes[L], loss)
    C._output_delta(src, 2, L, sizes[L], acts[L - 1], loss)
    C._backward(src, 2, sizes, acts, sums=True)
    head = C._PRELUDE.format(sizes=list(sizes), acts=list(acts), loss=loss)
    return head + "\n" + "\n".join(src.lines) + "\n"


_LOADED: dict[tuple[Any, ...], Callable[..., Any]] = {}


def load_gradient(sizes: Sequence[int], acts: Sequence[int], loss: int) -> Callable[..., Any]:
    """The generated gradient pass for this architecture (written, imported and compiled on
    demand, once per process and cache directory).

    Raises:
        OSError: the cache directory is not writable (or not private).
    """
    key = (tuple(sizes), tuple(acts), loss, C.cache_dir())
    if key not in _LOADED:
        text = source(sizes, acts, loss)
        name = C._module_name(_VERSION + "batch" + text)
        if name not in sys.modules:
            folder = C.cache_dir()
            C._check_private(folder)
            path = folder / f"{name}.py"
            _write_once(path, text)
            spec = importlib.util.spec_from_file_location(name, path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            sys.modules[name] = module
        _LOADED[key] = sys.modules[name].gradient
    return _LOADED[key]


def _write_once(path: Path, text: str) -> None:
    """Write the source atomically (a concurrent reader sees old or new, never half)."""
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
