"""Subnormal numbers flushed to zero inside a kernel, for the kernel's duration only.

Online Adam drives parameters whose gradient is (nearly) zero — the weights out of inputs that
are always 0 under weight decay, the biases of dead ReLU units, their moments — geometrically
towards 0, and after a few thousand samples into the subnormal range (below 2.2e-308 in
float64, 1.2e-38 in float32; momentum's velocity does the same). Arithmetic on subnormals is
microcoded on x86: on digits (64-100-10, online Adam) the epochs grew from 10 to 17 ms (float64)
and to 40 ms (float32) within 15 epochs. With FTZ and DAZ set in MXCSR such numbers read and
are written as 0: a change below 1e-307 (float64) or 1e-37 (float32), far under any value
that can affect a weight of normal size, so the results agree with the NumPy loop as before.

:func:`flush_subnormals` sets the two bits and returns the previous MXCSR, which
:func:`restore` puts back before the kernel returns (Python and NumPy never see the mode). On
other machines both do nothing.
"""

from __future__ import annotations

import platform
from typing import Any

from llvmlite import ir  # type: ignore[import-untyped]
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

X86 = platform.machine().lower() in ("x86_64", "amd64")
FTZ_DAZ = 0x8040  # MXCSR bits 15 (flush to zero) and 6 (denormals are zero)


def _mxcsr_call(builder: Any, name: str, pointer: Any) -> None:
    """Call LLVM's ``llvm.x86.sse.stmxcsr`` or ``ldmxcsr`` on a 32-bit slot."""
    i8p = ir.PointerType(ir.IntType(8))
    fnty = ir.FunctionType(ir.VoidType(), [i8p])
    fn = cgutils.get_or_insert_function(builder.module, fnty, name)  # type: ignore[no-untyped-call]
    builder.call(fn, [builder.bitcast(pointer, i8p)])


def _flush_subnormals(typingctx: Any) -> Any:
    """Set FTZ and DAZ; returns the MXCSR before (uint32; 0 where there is none)."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        if not X86:
            return ir.Constant(ir.IntType(32), 0)
        slot = cgutils.alloca_once(builder, ir.IntType(32))  # type: ignore[no-untyped-call]
        _mxcsr_call(builder, "llvm.x86.sse.stmxcsr", slot)
        before = builder.load(slot)
        builder.store(builder.or_(before, ir.Constant(ir.IntType(32), FTZ_DAZ)), slot)
        _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", slot)
        return before

    return types.uint32(), codegen


flush_subnormals: Any = intrinsic(_flush_subnormals)


def _restore(typingctx: Any, before: Any) -> Any:
    """Put back the MXCSR that :func:`flush_subnormals` returned."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        if X86:
            slot = cgutils.alloca_once_value(builder, args[0])  # type: ignore[no-untyped-call]
            _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", slot)
        return context.get_dummy_value()

    return types.void(types.uint32), codegen


restore: Any = intrinsic(_restore)
