"""Software prefetching for the compiled loop.

At a million agents the state a delivery touches (the receiver's record and opinion
row, the in-arc's record) is almost never in cache, and the loop's long dependency
chain keeps the processor from starting those loads early by itself. The loop knows
which events come next (a loaded bucket is sorted), so it asks for their rows a few
events ahead with LLVM's ``prefetch`` intrinsic, which numba does not expose.

Main entry point: :func:`prefetch_row`.
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


def _prefetch_row(typingctx: Any, array: types.Type, row: types.Type) -> Any:
    if not isinstance(array, types.Array) or not isinstance(row, types.Integer):
        return None
    signature = types.void(array, row)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        data = context.make_array(sig.args[0])(context, builder, args[0])
        stride = cgutils.unpack_tuple(builder, data.strides)[0]
        offset = builder.mul(context.cast(builder, args[1], sig.args[1], types.intp), stride)
        address = builder.add(builder.ptrtoint(data.data, offset.type), offset)
        byte_pointer = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]),
            "llvm.prefetch.p0",
        )
        # Read access, high temporal locality, data cache.
        builder.call(function, [builder.inttoptr(address, byte_pointer), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return signature, codegen


prefetch_row: Any = intrinsic(_prefetch_row)
"""``prefetch_row(array, row)`` in compiled code: hint that row ``row`` of ``array`` (any
dimensionality) will be read soon. Only a hint: it never faults, whatever the row, and
changes no value."""
