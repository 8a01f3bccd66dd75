"""Low-level tools for the compiled loop that numba does not offer as such.

**Borrowed arrays.** Numba counts references on every array a compiled function
receives, and inlined helpers are no exception: each array argument costs an atomic
increment and decrement per call. A delivery passes through a dozen helpers, and these
counts took a third to a half of the loop's time. :func:`borrowed` gives a view of an
array without a reference count (its meminfo is null, so numba's increments and
decrements become no-ops). The loop borrows every array it receives once, on entry;
the arrays stay alive because its caller holds them, and no borrowed view outlives the
call (the loop returns a status code only).

**Prefetching.** At a million agents the state a delivery touches (the receiver's
record and opinion row, the in-arc's record) is almost never in cache, and the loop's
long dependency chain keeps the processor from starting those loads early by itself.
The loop knows which events come next (a loaded bucket is sorted), so it asks for their
rows a few events ahead with LLVM's ``prefetch`` intrinsic, which numba does not
expose: every cache line of a row, since an agent's record (80 bytes) and opinion row
(112 bytes with two options) span two or three lines, and a line not asked for is a
full memory latency when the delivery reaches it (asking for every line rather than
the first made the loop of a 300,000-agent run about a sixth faster).

**Compiling without reference counts.** Borrowing makes the counts no-ops, but numba
still calls its runtime for each (for every array view a helper takes, too). In the
million-agent run those calls took 5 % of the profile themselves, and the calls cost
more than that: the run's opening burst, where they were densest, went from 10 % of
the profile to 4 % without them (the registers saved around each call, presumably).
The loop and the helpers it spends its time in are compiled with numba's runtime
turned off (:data:`lean`), so no such call is emitted at all. Such code cannot
allocate; numba compiles a function called from it the same way unless told otherwise,
so every other compiled helper of the loop is declared :data:`counted` (the runtime
on, numba's default), and whatever allocates stays there.

Main entry points: :func:`borrowed`, :func:`prefetch_row`, :func:`prefetch_rows`,
:data:`lean`, :data:`counted`.
"""

from __future__ import annotations

from typing import Any, cast

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

CACHE_LINE = 64
"""Bytes in a cache line (x86-64 and most ARM cores)."""


def _prefetch_lines(
    context: Any, builder: Any, arraytype: types.Array, array: Any, lo: Any, hi: Any
) -> None:
    """Emit a prefetch of every cache line that rows ``lo`` to ``hi - 1`` of ``array``
    span (``lo`` and ``hi`` are ``intp`` values); nothing when ``hi <= lo``."""
    data = context.make_array(arraytype)(context, builder, array)
    stride = cgutils.unpack_tuple(builder, data.strides)[0]
    base = builder.ptrtoint(data.data, stride.type)
    # A row's bytes: its items, which need not fill the stride (a field of structured
    # records, every other row).
    size = context.get_constant(
        types.intp, context.get_abi_sizeof(context.get_data_type(arraytype.dtype))
    )
    for extent in cgutils.unpack_tuple(builder, data.shape)[1:]:
        size = builder.mul(size, extent)
    byte_pointer = ir.IntType(8).as_pointer()
    i32 = ir.IntType(32)
    function = cgutils.get_or_insert_function(
        builder.module,
        ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]),
        "llvm.prefetch.p0",
    )
    with builder.if_then(builder.icmp_signed("<", lo, hi), likely=True):
        first_row = builder.add(base, builder.mul(lo, stride))
        last_row = builder.add(base, builder.mul(builder.sub(hi, lo.type(1)), stride))
        # A negative stride puts the last row first in memory.
        low = builder.select(builder.icmp_unsigned("<", first_row, last_row), first_row, last_row)
        high = builder.select(builder.icmp_unsigned("<", first_row, last_row), last_row, first_row)
        # Every line from the one holding the lowest row's first byte to the one
        # holding the highest row's last.
        start = builder.and_(low, low.type(-CACHE_LINE))
        end = builder.add(high, size)
        with cgutils.for_range_slice(builder, start, end, start.type(CACHE_LINE)) as (line, _):
            # Read access, high temporal locality, data cache.
            address = builder.inttoptr(line, byte_pointer)
            builder.call(function, [address, i32(0), i32(3), i32(1)])


def _prefetch_row(typingctx: Any, array: types.Type, row: types.Type) -> Any:
    if not isinstance(array, types.Array) or not isinstance(row, types.Integer):
        return None
    signature = types.void(array, row)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        lo = context.cast(builder, args[1], sig.args[1], types.intp)
        hi = builder.add(lo, lo.type(1))
        _prefetch_lines(context, builder, sig.args[0], args[0], lo, hi)
        return context.get_dummy_value()

    return signature, codegen


prefetch_row: Any = intrinsic(_prefetch_row)
"""``prefetch_row(array, row)`` in compiled code: hint that row ``row`` of ``array`` (any
dimensionality), every cache line it spans, will be read soon. Only a hint: it never
faults, whatever the row, and changes no value."""


def _prefetch_rows(typingctx: Any, array: types.Type, lo: types.Type, hi: types.Type) -> Any:
    if not isinstance(array, types.Array) or not all(
        isinstance(bound, types.Integer) for bound in (lo, hi)
    ):
        return None
    signature = types.void(array, lo, hi)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        lo = context.cast(builder, args[1], sig.args[1], types.intp)
        hi = context.cast(builder, args[2], sig.args[2], types.intp)
        _prefetch_lines(context, builder, sig.args[0], args[0], lo, hi)
        return context.get_dummy_value()

    return signature, codegen


prefetch_rows: Any = intrinsic(_prefetch_rows)
"""``prefetch_rows(array, lo, hi)`` in compiled code: hint that rows ``lo`` to ``hi - 1``
of ``array``, every cache line they span, will be read soon; nothing if ``hi <= lo``.
Only a hint, like :func:`prefetch_row`."""


def _borrowed(typingctx: Any, array: types.Type) -> Any:
    if not isinstance(array, types.Array):
        return None
    signature = array(array)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        view = context.make_array(sig.args[0])(context, builder, args[0])
        view.meminfo = cgutils.get_null_value(view.meminfo.type)
        return view._getvalue()

    return signature, codegen


borrowed: Any = intrinsic(_borrowed)
"""``borrowed(array)`` in compiled code: the same array without reference counting
(see the module docstring). Only for arrays that outlive every use of the view."""


lean: Any = cast(Any, njit)(cache=True, _nrt=False)
"""Decorator: compile (and cache) without numba's runtime: no reference counts, no
allocation (see the module docstring)."""

counted: Any = cast(Any, njit)(cache=True, _nrt=True)
"""Decorator: compile (and cache) with numba's runtime, even when called from
:data:`lean` code (which would otherwise compile it without)."""
