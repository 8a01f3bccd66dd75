"""The fast engine's event queue: a calendar queue ordered by (time, sequence number).

Every scheduled event (a message in transit or a protocol step) is one 32-byte record
(:data:`EVENT`) carrying everything its processing needs, so popping it touches no other
memory. Events are ordered by ``(time, seq)``, ``seq`` counting schedulings, which is how
SimPy orders its events (by time, then by event id): the fast engine processes events in
the order the SimPy engine does. The records do not store ``seq``: a bucket's chain is
already in scheduling order, so only the side heap below keeps it.

A binary heap over millions of messages in flight spends most of its time on cache
misses. A calendar queue (Brown 1988) avoids them: time is cut into buckets of equal
width, and an event is appended to its bucket in O(1) (a bucket is a chain of fixed-size
blocks, written sequentially). When the loop reaches a bucket, the bucket is copied into
:attr:`Calendar.current` in ``(time, seq)`` order: a stable sort on time of records
already in ``seq`` order (a counting sort into as many sub-intervals of the bucket as it
has events, then an insertion sort of each sub-interval: linear in the bucket's size
when times spread over it). Events are then taken from it in order. Events scheduled
into the bucket being processed go to a small binary heap (:attr:`Calendar.side`)
merged with it on ``(time, seq)`` (on a tie the bucket's event comes first: it was
scheduled before the bucket was loaded, the side heap's after). A window of
:data:`BUCKETS` consecutive buckets is kept; events beyond it wait in an overflow chain,
redistributed (with a bucket width fitted to their time span) when the window is used
up. Bucket width affects speed only, never the order.

All storage is preallocated; :func:`room` says whether the queue can absorb a number of
new events, :func:`peek` whether the next bucket fits, and :func:`grow` (in Python)
makes the room they ask for.

Main entry points: :func:`new`, :func:`schedule`, :func:`peek`, :func:`take`,
:func:`room`, :func:`grow`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from sim.fast.intrinsics import counted, lean, prefetch_row, prefetch_rows

EVENT = np.dtype(
    [
        ("time", np.float64),
        ("sent", np.float64),  # a message: its sending time
        ("code", np.int64),  # what the event is (the caller's encoding)
        ("receiver", np.int32),
        ("inarc", np.int32),  # a message: the receiver's in-arc it arrives on
    ]
)
"""One scheduled event (32 bytes: two to a cache line)."""

BLOCK = 64
"""Events per block of a bucket's chain."""
BUCKETS = 4096
"""Buckets in the window (a power of two)."""
OVERFLOW = BUCKETS
"""Row of the overflow chain in :attr:`Calendar.buckets`."""
HEAD, TAIL, COUNT = 0, 1, 2
"""Columns of :attr:`Calendar.buckets`: first block, last block, events."""

# Slots of Calendar.state.
(
    Q_SEQ,  # next sequence number
    Q_LO,  # index (time / width) of the window's first bucket
    Q_CUR,  # index of the bucket loaded into `current`
    Q_POS,  # next event of `current`
    Q_LEN,  # events in `current`
    Q_SIDE,  # events in the side heap
    Q_WINDOW,  # events in the window's buckets
    Q_FREE,  # first free block
    Q_FREE_N,  # free blocks
    Q_NEED_BLOCKS,  # room asked for by room() and peek()
    Q_NEED_SIDE,
    Q_NEED_CURRENT,
) = range(12)
N_STATE = 12

# What peek() finds.
SORTED, SIDE, EMPTY, SHORT = 0, 1, 2, 3

_MAX_INDEX = 2.0**62
_INSERTION_LIMIT = 64
"""Longest unsorted sub-interval of a bucket sorted by insertion (longer: merge sort)."""


class Calendar(NamedTuple):
    """The queue's storage."""

    slots: np.ndarray  # EVENT records, BLOCK per block
    block_next: np.ndarray  # next block of each block's chain (-1: last)
    buckets: np.ndarray  # (BUCKETS + 1, 3): HEAD, TAIL, COUNT per bucket; overflow last
    current: np.ndarray  # EVENT records of the bucket being processed, sorted
    work: np.ndarray  # int64 scratch of the sort (2 * len(current) + 2)
    side: np.ndarray  # EVENT records: heap of events scheduled into that bucket
    side_seq: np.ndarray  # their seq
    spare: np.ndarray  # two EVENT records: where schedule() assembles an event, and
    # where the sort holds one
    state: np.ndarray  # int64 Q_* slots
    width: np.ndarray  # [bucket width]


def new(events: int, width: float) -> Calendar:
    """An empty queue with room for about ``events`` events and the given bucket width
    (a guess at the time over which a few thousand events fall; see :func:`_rebuild`)."""
    if not width > 0.0 or not math.isfinite(width):
        raise ValueError(f"bucket width must be positive and finite, not {width}")
    blocks = events // BLOCK + 2 * BUCKETS + 4
    block_next = np.arange(1, blocks + 1, dtype=np.int64)
    block_next[-1] = -1
    buckets = np.zeros((BUCKETS + 1, 3), dtype=np.int64)
    buckets[:, HEAD] = buckets[:, TAIL] = -1
    state = np.zeros(N_STATE, dtype=np.int64)
    state[Q_SEQ] = 1  # SimPy's first event id after the environment's own
    state[Q_CUR] = -1
    state[Q_FREE] = 0
    state[Q_FREE_N] = blocks
    return Calendar(
        slots=np.empty(blocks * BLOCK, dtype=EVENT),
        block_next=block_next,
        buckets=buckets,
        current=np.empty(1024, dtype=EVENT),
        work=np.empty(2 * 1024 + 2, dtype=np.int64),
        side=np.empty(1024, dtype=EVENT),
        side_seq=np.empty(1024, dtype=np.int64),
        spare=np.empty(2, dtype=EVENT),
        state=state,
        width=np.array([float(width)]),
    )


def grow(q: Calendar) -> Calendar:
    """A queue holding the same events with the room last asked for."""
    state = q.state
    slots, block_next, current, work = q.slots, q.block_next, q.current, q.work
    side, side_seq = q.side, q.side_seq
    if state[Q_FREE_N] < state[Q_NEED_BLOCKS]:
        old = len(block_next)
        blocks = max(2 * old, old + int(state[Q_NEED_BLOCKS]))
        block_next = np.empty(blocks, dtype=np.int64)
        block_next[:old] = q.block_next
        block_next[old:-1] = np.arange(old + 1, blocks, dtype=np.int64)
        block_next[-1] = state[Q_FREE]
        slots = np.empty(blocks * BLOCK, dtype=EVENT)
        slots[: len(q.slots)] = q.slots
        state[Q_FREE] = old
        state[Q_FREE_N] += blocks - old
    if state[Q_NEED_SIDE] > len(side):
        size = max(2 * len(side), int(state[Q_NEED_SIDE]))
        side = np.empty(size, dtype=EVENT)
        side[: len(q.side)] = q.side
        side_seq = np.empty(size, dtype=np.int64)
        side_seq[: len(q.side_seq)] = q.side_seq
    if state[Q_NEED_CURRENT] > len(current):
        size = max(2 * len(current), int(state[Q_NEED_CURRENT]))
        current = np.empty(size, dtype=EVENT)
        current[: len(q.current)] = q.current
        work = np.empty(2 * size + 2, dtype=np.int64)
    state[Q_NEED_BLOCKS] = state[Q_NEED_SIDE] = state[Q_NEED_CURRENT] = 0
    return q._replace(
        slots=slots, block_next=block_next, current=current, work=work, side=side, side_seq=side_seq
    )


@njit(cache=True, inline="always")
def _before(t1: float, s1: int, t2: float, s2: int) -> bool:
    return t1 < t2 or (t1 == t2 and s1 < s2)


@njit(cache=True, inline="always")
def _index(q: Calendar, time: float) -> int:
    scaled = time / q.width[0]
    return int(scaled) if scaled < _MAX_INDEX else int(_MAX_INDEX)


@njit(cache=True, inline="always")
def _append(q: Calendar, row: int, e) -> None:
    """Append (a copy of) record ``e`` to bucket ``row``'s chain."""
    buckets = q.buckets
    count = buckets[row, COUNT]
    k = count % BLOCK
    if k == 0:  # the tail block is full (or there is none): chain a free block
        block = q.state[Q_FREE]
        q.state[Q_FREE] = q.block_next[block]
        q.state[Q_FREE_N] -= 1
        q.block_next[block] = -1
        if count == 0:
            buckets[row, HEAD] = block
        else:
            q.block_next[buckets[row, TAIL]] = block
        buckets[row, TAIL] = block
    q.slots[buckets[row, TAIL] * BLOCK + k] = e
    buckets[row, COUNT] = count + 1


@njit(cache=True, inline="always")
def _side_push(q: Calendar, e, seq: int) -> None:
    side, side_seq = q.side, q.side_seq
    pos = q.state[Q_SIDE]
    q.state[Q_SIDE] = pos + 1
    time = e.time
    while pos > 0:
        parent = (pos - 1) >> 1
        if not _before(time, seq, side[parent].time, side_seq[parent]):
            break
        side[pos] = side[parent]
        side_seq[pos] = side_seq[parent]
        pos = parent
    side[pos] = e
    side_seq[pos] = seq


@njit(cache=True, inline="always")
def _side_pop(q: Calendar) -> None:
    side, side_seq = q.side, q.side_seq
    size = q.state[Q_SIDE] - 1
    q.state[Q_SIDE] = size
    if size == 0:
        return
    time, seq = side[size].time, side_seq[size]
    pos = 0
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        right = child + 1
        if right < size and _before(
            side[right].time, side_seq[right], side[child].time, side_seq[child]
        ):
            child = right
        if not _before(side[child].time, side_seq[child], time, seq):
            break
        side[pos] = side[child]
        side_seq[pos] = side_seq[child]
        pos = child
    side[pos] = side[size]
    side_seq[pos] = seq


@njit(cache=True, inline="always")
def _place(q: Calendar, e, seq: int) -> None:
    """File record ``e``, scheduled ``seq``-th, where it belongs."""
    index = _index(q, e.time)
    state = q.state
    if index <= state[Q_CUR]:
        _side_push(q, e, seq)
    elif index < state[Q_LO] + BUCKETS:
        _append(q, index & (BUCKETS - 1), e)
        state[Q_WINDOW] += 1
    else:
        _append(q, OVERFLOW, e)


@njit(cache=True, inline="always")
def schedule(q: Calendar, time: float, code: int, receiver: int, inarc: int, sent: float) -> None:
    """Schedule an event at ``time`` (not before the last one taken), after every event
    already scheduled at that time."""
    spare = q.spare[0]
    spare.time = time
    spare.sent = sent
    spare.code = code
    spare.receiver = receiver
    spare.inarc = inarc
    seq = q.state[Q_SEQ]
    q.state[Q_SEQ] = seq + 1
    _place(q, spare, seq)


@lean
def _free_chain(q: Calendar, row: int) -> None:
    q.buckets[row, HEAD] = -1
    q.buckets[row, TAIL] = -1
    q.buckets[row, COUNT] = 0


@njit(cache=True, inline="always")
def _release(q: Calendar, block: int) -> int:
    """Put ``block`` back on the free list; return the block that followed it."""
    following = q.block_next[block]
    q.block_next[block] = q.state[Q_FREE]
    q.state[Q_FREE] = block
    q.state[Q_FREE_N] += 1
    return following


@njit(cache=True, inline="always")
def _prefetch_block(q: Calendar, block: int) -> None:
    """Ask for every line of ``block`` (a chain's next block, read while the one before
    it is processed: the blocks of a chain lie anywhere in memory) and for its link to
    the block after it; nothing if ``block`` is -1 (no next block)."""
    if block < 0:
        return
    prefetch_row(q.block_next, block)
    prefetch_rows(q.slots, block * BLOCK, (block + 1) * BLOCK)


@njit(cache=True, inline="always")
def _sort_run(q: Calendar, lo: int, hi: int) -> None:
    """Stable sort of ``current[lo:hi]`` on time (by insertion when the run is short,
    else by merge sort)."""
    current = q.current
    for i in range(lo + 1, hi):
        if current[i].time < current[i - 1].time:
            break
    else:
        return
    if hi - lo <= _INSERTION_LIMIT:
        for i in range(lo + 1, hi):
            time = current[i].time
            if current[i - 1].time <= time:
                continue
            q.spare[1] = current[i]
            j = i
            while j > lo and current[j - 1].time > time:
                current[j] = current[j - 1]
                j -= 1
            current[j] = q.spare[1]
        return
    _merge_sort_run(current, lo, hi)


@counted
def _merge_sort_run(current: np.ndarray, lo: int, hi: int) -> None:
    """Stable sort of ``current[lo:hi]`` on time by merge sort (it allocates, so it is
    kept out of :func:`_load`)."""
    run = current[lo:hi].copy()
    times = np.empty(hi - lo)
    for i in range(hi - lo):
        times[i] = run[i].time
    for i, k in enumerate(np.argsort(times, kind="mergesort")):
        current[lo + i] = run[k]


@lean
def _load(q: Calendar, index: int) -> None:
    """Copy bucket ``index`` into ``current`` in ``(time, seq)`` order and free its
    blocks.

    A counting sort on the sub-interval of the bucket each event falls in (as many
    sub-intervals as events; the chain is in seq order and a counting sort is stable),
    then each sub-interval sorted on time by :func:`_sort_run`."""
    row = index & (BUCKETS - 1)
    count = q.buckets[row, COUNT]
    head = q.buckets[row, HEAD]
    slots, current = q.slots, q.current
    keys = q.work[:count]
    starts = q.work[count : 2 * count + 1]
    starts[:] = 0
    width = q.width[0]
    low = index * width
    scale = count / width
    block, i = head, 0
    while i < count:
        take = min(BLOCK, count - i)
        base = block * BLOCK
        _prefetch_block(q, q.block_next[block])
        for j in range(take):
            s = int((slots[base + j].time - low) * scale)
            s = min(max(s, 0), count - 1)
            keys[i + j] = s
            starts[s + 1] += 1
        i += take
        block = q.block_next[block]
    for s in range(count):
        starts[s + 1] += starts[s]
    block, i = head, 0
    while i < count:
        take = min(BLOCK, count - i)
        base = block * BLOCK
        _prefetch_block(q, q.block_next[block])
        for j in range(take):
            s = keys[i + j]
            current[starts[s]] = slots[base + j]
            starts[s] += 1
        i += take
        block = _release(q, block)
    begin = 0
    for s in range(count):
        end = starts[s]
        if end - begin > 1:
            _sort_run(q, begin, end)
        begin = end
    _free_chain(q, row)
    q.state[Q_WINDOW] -= count
    q.state[Q_CUR] = index
    q.state[Q_POS] = 0
    q.state[Q_LEN] = count


@lean
def _rebuild(q: Calendar) -> None:
    """Start a new window at the earliest overflow event, with a bucket width that
    spreads the overflow's time span over half the window, and refile the overflow."""
    count = q.buckets[OVERFLOW, COUNT]
    head = q.buckets[OVERFLOW, HEAD]
    low, high = math.inf, -math.inf
    block, i = head, 0
    while i < count:
        take = min(BLOCK, count - i)
        for j in range(take):
            t = q.slots[block * BLOCK + j].time
            low = min(low, t)
            high = max(high, t)
        i += take
        block = q.block_next[block]
    if high > low:
        q.width[0] = max((high - low) / (BUCKETS // 2), high * 1e-12)
    q.state[Q_LO] = _index(q, low)
    q.state[Q_CUR] = q.state[Q_LO] - 1
    _free_chain(q, OVERFLOW)
    block, i = head, 0
    while i < count:
        take = min(BLOCK, count - i)
        for j in range(take):
            _place(q, q.slots[block * BLOCK + j], 0)  # never the side heap
        i += take
        block = _release(q, block)


@njit(cache=True, inline="always")
def peek(q: Calendar) -> tuple[int, float, int]:
    """Bring the earliest event forward and say where it is (:data:`SORTED` or
    :data:`SIDE`; with its time and code), that the queue is :data:`EMPTY`, or that
    it is :data:`SHORT` of room to bring it forward (nothing changed; :func:`grow`
    makes the room)."""
    state = q.state
    while True:
        pos = state[Q_POS]
        if pos < state[Q_LEN]:
            e = q.current[pos]
            # On a tie the bucket's event was scheduled first.
            if state[Q_SIDE] > 0 and q.side[0].time < e.time:
                return SIDE, q.side[0].time, q.side[0].code
            return SORTED, e.time, e.code
        if state[Q_SIDE] > 0:
            return SIDE, q.side[0].time, q.side[0].code
        if state[Q_WINDOW] == 0:
            if q.buckets[OVERFLOW, COUNT] == 0:
                return EMPTY, 0.0, 0
            # Refiling takes at most one new block per bucket before it frees any.
            if state[Q_FREE_N] < BUCKETS + 2:
                state[Q_NEED_BLOCKS] = BUCKETS + 2
                return SHORT, 0.0, 0
            _rebuild(q)
            continue
        index = state[Q_CUR] + 1
        while q.buckets[index & (BUCKETS - 1), COUNT] == 0:
            index += 1
        count = q.buckets[index & (BUCKETS - 1), COUNT]
        if count > len(q.current):
            state[Q_NEED_CURRENT] = count
            return SHORT, 0.0, 0
        _load(q, index)


@njit(cache=True, inline="always")
def take(q: Calendar, where: int) -> tuple[float, int, int, int, float]:
    """Remove the event :func:`peek` found at ``where``; return its time, code,
    receiver, in-arc and sending time."""
    if where == SORTED:
        e = q.current[q.state[Q_POS]]
        q.state[Q_POS] += 1
        return e.time, e.code, int(e.receiver), int(e.inarc), e.sent
    e = q.side[0]
    out = (e.time, e.code, int(e.receiver), int(e.inarc), e.sent)
    _side_pop(q)
    return out


@njit(cache=True, inline="always")
def upcoming(q: Calendar, ahead: int) -> tuple[int, int, float]:
    """Receiver, in-arc and sending time of the event ``ahead`` places after the next in
    the sorted bucket, ``(-1, -1, 0.0)`` if there is none (a hint for prefetching:
    side-heap events may come first)."""
    index = q.state[Q_POS] + ahead
    if index < q.state[Q_LEN]:
        e = q.current[index]
        return int(e.receiver), int(e.inarc), e.sent
    return -1, -1, 0.0


@njit(cache=True, inline="always")
def room(q: Calendar, events: int) -> bool:
    """Whether ``events`` more can be scheduled; if not, record what :func:`grow` must
    add."""
    blocks = events // BLOCK + min(events, BUCKETS + 1) + 2
    ok = True
    if q.state[Q_FREE_N] < blocks:
        q.state[Q_NEED_BLOCKS] = blocks
        ok = False
    if q.state[Q_SIDE] + events > len(q.side):
        q.state[Q_NEED_SIDE] = q.state[Q_SIDE] + events
        ok = False
    return ok


@njit(cache=True)
def pending(q: Calendar) -> int:
    """Events scheduled and not yet taken."""
    return (
        q.state[Q_LEN]
        - q.state[Q_POS]
        + q.state[Q_SIDE]
        + q.state[Q_WINDOW]
        + q.buckets[OVERFLOW, COUNT]
    )
