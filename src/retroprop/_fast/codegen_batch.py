"""A kernel generated for one architecture: the full-batch gradient pass, fully specialised.

The pass of :func:`.fullbatch.gradient_pass` (every sample forward and backward, summing
G = Σ δ xᵀ and the error sums), written out by :mod:`.codegen`'s generator for one (sizes,
activations, loss): sizes are constants, each layer's net inputs are locals, small loops are
unrolled, and the first layer visits the nonzero inputs only. The weights do not change during
the pass, so the backward sweep only reads them and adds to the sums (``codegen._backward``
with ``sums``); all of it — forward pass, output deltas, error sums, backward sweep — is
:mod:`.codegen`'s own code, and the arithmetic that of the
generic kernel (the same products, summed in the same order).

Loaded like :mod:`.codegen`'s kernels (:func:`load`): source and machine
code cached per architecture and machine, compiled by a worker process (:mod:`.background`),
never in the training process; until then the generic pass serves, with the same bits.
"""

from __future__ import annotations

from collections.abc import Sequence

from retroprop._fast import codegen as C

__all__ = ["load", "source"]

_VERSION = "5"  # bump when the generated code changes


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
    version = f"# full-batch pass, version {_VERSION}\n"
    return head + version + "\n" + "\n".join(src.lines) + "\n"


def load(sizes: Sequence[int], acts: Sequence[int], loss: int) -> C.Generated:
    """The generated pass for this architecture, ``gradient``, written and imported on demand
    (once per process and cache directory); importing compiles nothing.

    Raises:
        OSError: as :func:`.codegen.load_generated`.
    """
    key = ("batch", tuple(sizes), tuple(acts), loss)
    return C.load_generated(key, lambda: source(sizes, acts, loss), ["gradient"])
