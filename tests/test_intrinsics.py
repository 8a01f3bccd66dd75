"""The fast loop's low-level tools (sim.fast.intrinsics): hints and views that must never
change what the loop computes."""

from __future__ import annotations

import ctypes
import mmap

import numpy as np
import pytest
from numba import njit

from sim.fast import loop
from sim.fast.intrinsics import CACHE_LINE, borrowed, prefetch_row, prefetch_rows


@njit(cache=False)
def _prefetch_every_row(array: np.ndarray) -> int:
    for row in range(array.shape[0]):
        prefetch_row(array, row)
    return array.shape[0]


@njit(cache=False)
def _prefetch_ranges(array: np.ndarray, step: int) -> int:
    """Prefetch rows [lo, lo + step) for every lo, past both ends too, and empty and
    reversed ranges; the number of calls."""
    n = array.shape[0]
    calls = 0
    for lo in range(0, n, step):
        prefetch_rows(array, lo, min(lo + step, n))
        prefetch_rows(array, lo, lo)  # empty
        prefetch_rows(array, lo + step, lo)  # reversed: nothing
        calls += 3
    prefetch_rows(array, 0, n)
    return calls + 1


@njit(cache=False)
def _borrowed_sum(array: np.ndarray) -> float:
    view = borrowed(array)
    view[0] += 0.0
    return view.sum()


@pytest.mark.parametrize(
    "array",
    [
        np.arange(1000, dtype=np.int32),
        np.zeros(777, dtype=loop.AGENT),  # 80-byte records: two lines each, mostly
        np.arange(2 * 1001 * loop.PLANES, dtype=np.float64).reshape(1001, loop.PLANES, 2),
        np.arange(64.0)[::-1],  # a negative stride
        np.arange(64.0)[::5],  # rows 40 bytes apart: a stride wider than a row
    ],
    ids=["int32", "agent-records", "opinion-rows", "reversed", "strided"],
)
def test_prefetching_every_row_changes_nothing(array: np.ndarray) -> None:
    before = array.copy()
    assert _prefetch_every_row(array) == len(array)
    assert array.tobytes() == before.tobytes()


@pytest.mark.parametrize(
    "array",
    [
        np.arange(1000, dtype=np.int32),
        np.zeros(777, dtype=loop.AGENT),
        np.zeros(301, dtype=loop.INARC),
        np.arange(64.0)[::-1],
        np.arange(64.0)[::5],
    ],
    ids=["int32", "agent-records", "inarc-records", "reversed", "strided"],
)
@pytest.mark.parametrize("step", [1, 7, 64])
def test_prefetching_ranges_of_rows_changes_nothing(array: np.ndarray, step: int) -> None:
    before = array.copy()
    assert _prefetch_ranges(array, step) == 3 * len(range(0, len(array), step)) + 1
    assert array.tobytes() == before.tobytes()


@njit(cache=False)
def _prefetch_tail(array: np.ndarray) -> int:
    n = array.shape[0]
    for lo in range(n):
        prefetch_rows(array, lo, n)
    return n


def test_prefetching_the_last_rows_before_an_unmapped_page_does_not_fault() -> None:
    # An array ending exactly where readable memory ends: a load one byte past the last
    # row would crash the process; a prefetch of every line the rows span must not.
    page = mmap.PAGESIZE
    memory = mmap.mmap(-1, 2 * page, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    guarded = np.frombuffer(memory, dtype=np.uint8)
    libc = ctypes.CDLL(None, use_errno=True)
    address = guarded.ctypes.data + page
    assert libc.mprotect(ctypes.c_void_p(address), ctypes.c_size_t(page), 0) == 0
    records = 3 * CACHE_LINE // loop.AGENT.itemsize
    tail = guarded[page - records * loop.AGENT.itemsize : page].view(loop.AGENT)
    assert _prefetch_every_row(tail) == records
    # The same rows as ranges, each ending at the last row (a record not starting on a
    # line, so the range's last line is one the rows only partly fill).
    assert _prefetch_tail(tail) == records
    assert _prefetch_tail(guarded[1:page].view(np.uint8)) == page - 1
    libc.mprotect(ctypes.c_void_p(address), ctypes.c_size_t(page), 3)
    del tail, guarded
    memory.close()


def test_a_borrowed_view_is_the_array() -> None:
    array = np.arange(10.0)
    assert _borrowed_sum(array) == 45.0
