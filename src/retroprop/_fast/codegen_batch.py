"""A kernel generated for one architecture: the full-batch gradient pass, fully specialised.

The pass of :func:`.fullbatch.gradient_pass` (every sample forward and backward, summing
G = Σ δ xᵀ and the error sums), written out by :mod:`.codegen`'s generator for one (sizes,
activations, loss): sizes are constants, each layer's net inputs are locals, small loops are
unrolled, and the first layer visits the nonzero inputs only. The weights do not change during
the pass, so the backward sweep only reads them and adds to the sums (``codegen._backward``
with ``sums``); all of it — forward pass, output deltas, error sums, backward sweep — is
:mod:`.codegen`'s own code, and the arithmetic that of the
generic kernel (the same products, summed in the same order).

``epochs`` runs several epochs in one call (:mod:`.batch_chunks`): the step of
:func:`.fullbatch.full_batch_step` and this pass, epoch after epoch, for runs with nothing to
do between epochs.

Loaded like :mod:`.codegen`'s kernels (:func:`load`): source and machine
code cached per architecture and machine, compiled by a worker process (:mod:`.background`),
never in the training process; until then the generic pass serves, with the same bits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from retroprop._fast import codegen as C

__all__ = ["EPOCHS_ARGUMENTS", "load", "source"]

EPOCHS_ARGUMENTS = (
    "theta", "theta_prev", "sizes", "w_off", "b_off", "a_off", "acts", "act", "delta", "G",
    "m", "v", "s2", "t", "betas", "g", "U", "h", "hd", "flags", "log",
)  # fmt: skip
"""The arguments of ``epochs`` after those of ``gradient`` (``index`` there is ``orders``)."""

_VERSION = "7"  # bump when the generated code changes


def source(sizes: Sequence[int], acts: Sequence[int], loss: int) -> str:
    """Python source of ``gradient(P, I, V, Y, index, c, classify, out, W1, b1, …, GW1,
    GB1, …)``: the sums GWₗ += Σ xᵢ δⱼ and GBₗ += Σ δⱼ (same shapes as Wₗᵀ and bₗ, zeroed by
    the caller) over the samples X[index] in that order, and ``out`` = [Σ E, Σ ½‖y − o‖²,
    number right] of the weights as they are. X comes as compressed sparse rows (P, I, V): the
    first layer visits the nonzero inputs only.

    Samples go two at a time (:func:`_pairs`): both forward passes side by side, then each
    sample's sums in turn, so every sum gets its terms in the order of ``index``."""
    L = len(sizes) - 1
    params = ", ".join(f"W{l}, b{l}" for l in range(1, L + 1))
    sums = ", ".join(f"GW{l}, GB{l}" for l in range(1, L + 1))
    src = C._Source()
    src(0, "@njit(cache=True, nogil=True)")
    src(0, f"def gradient(P, I, V, Y, index, c, classify, out, {params}, {sums}):")
    C._constants(src)
    C._buffers(src, sizes)
    forward, rest = C._Source(), C._Source()
    C._forward(forward, 2, sizes, acts)
    C._tally(rest, 2, L, sizes[L], loss)
    C._output_delta(rest, 2, L, sizes[L], acts[L - 1], loss)
    C._backward(rest, 2, sizes, acts, sums=True)
    _pairs(src, forward.lines, rest.lines)
    _epochs(src, L)
    head = C._PRELUDE.format(sizes=list(sizes), acts=list(acts), loss=loss)
    version = f"# full-batch pass, version {_VERSION}\n"
    return head + version + _IMPORTS + "\n" + "\n".join(src.lines) + "\n"


def _pairs(src: C._Source, forward: list[str], rest: list[str]) -> None:
    """The loop over the samples: pairs (sample ``row``, then ``row_b``), then the last one
    if their number is odd. In a pair, the two forward passes interleave statement by
    statement (they share nothing: the CPU overlaps their latencies, exp's above all); then
    the rest of the first sample (its error sums, deltas and gradient sums), then the second's.
    Every sum thus adds its terms in sample order: the bits of one sample at a time.

    The second sample's code is the first's with every name it assigns (and the wide layers'
    buffers A, D) suffixed ``_b``."""
    local = {m.group(1) for line in forward + rest for m in _ASSIGNED.finditer(line)}
    names = re.compile(r"\b(" + "|".join(sorted(local | {"row"})) + r"|[AD]\d+)\b")

    def second(lines: list[str]) -> list[str]:
        return [names.sub(lambda m: m.group(1) + "_b", line) for line in lines]

    for line in [line for line in src.lines if re.match(r"\s+[AD]\d+ = np\.empty", line)]:
        src.lines.append(second([line])[0])  # the second sample's buffers
    src(1, "out[:] = 0.0")
    src(1, "n_pairs = len(index) - len(index) % 2")
    src(1, "for pair in range(0, n_pairs, 2):")
    src(2, "row = index[pair]")
    src(2, "row_b = index[pair + 1]")
    for first, other in zip(_statements(forward), _statements(second(forward)), strict=True):
        src.lines.extend(first + other)
    src.lines.extend(rest + second(rest))
    src(1, "for pair in range(n_pairs, len(index)):")
    src(2, "row = index[pair]")
    src.lines.extend(forward + rest)


_ASSIGNED = re.compile(r"^\s*(?:for\s+)?([A-Za-z_]\w*)\s*(?:=|\+=|-=|\*=|/=|\s+in\b)")
"""A name a generated line assigns (``x = …``, ``x += …``, ``for x in …``)."""


def _statements(lines: list[str]) -> list[list[str]]:
    """The lines grouped in statements of the sample loop's body: a line at its depth (two
    levels) with the deeper lines that follow it (a loop's body)."""
    groups: list[list[str]] = []
    for line in lines:
        top = line.startswith("        ") and not line.startswith("         ")
        if top or not groups:
            groups.append([line])
        else:
            groups[-1].append(line)
    return groups


_IMPORTS = """
from retroprop._fast.batch_chunks import after_pass, before_step
from retroprop._fast.fullbatch import full_batch_step
"""


def _epochs(src: C._Source, L: int) -> None:
    """``epochs(P, I, V, Y, orders, c, classify, out, W1, b1, …, GW1, GB1, …, theta,
    theta_prev, sizes, …)`` (:data:`EPOCHS_ARGUMENTS`): the epochs of
    :func:`.batch_chunks.full_batch_epochs` with this pass (the number run in ``flags[3]``)."""
    params = ", ".join(f"W{l}, b{l}" for l in range(1, L + 1))
    sums = ", ".join(f"GW{l}, GB{l}" for l in range(1, L + 1))
    src(0, "")
    src(0, "")
    src(0, "@njit(cache=True, nogil=True)")
    src(0, f"def epochs(P, I, V, Y, orders, c, classify, out, {params}, {sums},")
    src(1, f"{', '.join(EPOCHS_ARGUMENTS)}):")
    src(1, "layout = (sizes, w_off, b_off, a_off, acts)")
    src(1, "work = (act, delta, G)")
    src(1, "state = (m, v, s2)")
    src(1, "opt, running, track = flags[0], flags[1] != 0, flags[2] != 0")
    src(1, "flags[3] = len(orders)")
    src(1, "for e in range(len(orders)):")
    src(2, "index = orders[e]")
    src(2, "before_step(out, log, e, running, track, hd, len(index))")
    src(2, "theta_prev[:] = theta")
    src(2, "full_batch_step(theta, layout, work, opt, c, betas, t, state, g, U, h, hd, len(index))")
    src(2, f"gradient(P, I, V, Y, index, c, classify, out, {params}, {sums})")
    src(2, "if not after_pass(theta, out, log, e, running):")
    src(3, "flags[3] = e + 1")
    src(3, "return")


def load(sizes: Sequence[int], acts: Sequence[int], loss: int) -> C.Generated:
    """The generated pass for this architecture, ``gradient``, and ``epochs``, written and
    imported on demand (once per process and cache directory); importing compiles nothing.

    Raises:
        OSError: as :func:`.codegen.load_generated`.
    """
    key = ("batch", tuple(sizes), tuple(acts), loss)
    return C.load_generated(key, lambda: source(sizes, acts, loss), ["gradient", "epochs"])
