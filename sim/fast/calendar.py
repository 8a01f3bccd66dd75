"""The fast engine's event queue: a calendar queue ordered by (time, sequence number).

Every scheduled event (a message in transit or a protocol step) is one record
(:data:`EVENT`) carrying everything its processing needs, so popping it touches no other
memory. Events are ordered by ``(time, seq)``, ``seq`` counting schedulings, which is how
SimPy orders its events (by time, then by event id): the fast engine processes events in
the order the SimPy engine does.

A binary heap over millions of messages in flight spends most of its time on cache
misses. A calendar queue (Brown 1988) avoids them: time is cut into buckets of equal
width, and an event is appended to its bucket in O(1) (a bucket is a chain of fixed-size
blocks, written sequentially). When the loop reaches a bucket, the bucket is copied into
:attr:`Calendar.current` and sorted once (a stable sort on time of records already in
``seq`` order); events are then taken from it in order. Events scheduled into the bucket
being processed go to a small binary heap (:attr:`Calendar.side`) merged with it on
``(time, seq)``. A window of :data:`BUCKETS` consecutive buckets is kept; events beyond it
wait in an overflow chain, redistributed (with a bucket width fitted to their time
span) when the window is used up. Bucket width affects speed only, never the order.

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

EVENT = np.dtype(
    [
        ("time", np.float64),
        ("seq", np.int64),
        ("sent", np.float64),  # a message: its sending time
        ("ref", np.int64),  # a message: its announcement (>= 0); else a protocol step (< 0)
        ("outarc", np.int64),  # a message on a capacity-limited channel: its arc, else -1
        ("inarc", np.int64),  # a message: the receiver's in-arc it arrives on
        ("receiver", np.int32),
        ("option", np.int32),
    ]
)
"""One scheduled event."""

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


class Calendar(NamedTuple):
    """The queue's storage."""

    slots: np.ndarray  # EVENT records, BLOCK per block
    block_next: np.ndarray  # next block of each block's chain (-1: last)
    buckets: np.ndarray  # (BUCKETS + 1, 3): HEAD, TAIL, COUNT per bucket; overflow last
    current: np.ndarray  # EVENT records of the bucket being processed, sorted
    side: np.ndarray  # EVENT records: heap of events scheduled into that bucket
    spare: np.ndarray  # one EVENT record, where schedule() assembles an event
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
        side=np.empty(1024, dtype=EVENT),
        spare=np.empty(1, dtype=EVENT),
        state=state,
        width=np.array([float(width)]),
    )


def grow(q: Calendar) -> Calendar:
    """A queue holding the same events with the room last asked for."""
    state = q.state
    slots, block_next, current, side = q.slots, q.block_next, q.current, q.side
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
        side = np.empty(max(2 * len(side), int(state[Q_NEED_SIDE])), dtype=EVENT)
        side[: len(q.side)] = q.side
    if state[Q_NEED_CURRENT] > len(current):
        current = np.empty(max(2 * len(current), int(state[Q_NEED_CURRENT])), dtype=EVENT)
        current[: len(q.current)] = q.current
    state[Q_NEED_BLOCKS] = state[Q_NEED_SIDE] = state[Q_NEED_CURRENT] = 0
    return q._replace(slots=slots, block_next=block_next, side=side, current=current)


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
def _side_push(q: Calendar, e) -> None:
    side = q.side
    pos = q.state[Q_SIDE]
    q.state[Q_SIDE] = pos + 1
    time, seq = e.time, e.seq
    while pos > 0:
        parent = (pos - 1) >> 1
        if not _before(time, seq, side[parent].time, side[parent].seq):
            break
        side[pos] = side[parent]
        pos = parent
    side[pos] = e


@njit(cache=True, inline="always")
def _side_pop(q: Calendar) -> None:
    side = q.side
    size = q.state[Q_SIDE] - 1
    q.state[Q_SIDE] = size
    if size == 0:
        return
    last = side[size]
    time, seq = last.time, last.seq
    pos = 0
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        right = child + 1
        if right < size and _before(
            side[right].time, side[right].seq, side[child].time, side[child].seq
        ):
            child = right
        if not _before(side[child].time, side[child].seq, time, seq):
            break
        side[pos] = side[child]
        pos = child
    side[pos] = side[size]


@njit(cache=True, inline="always")
def _place(q: Calendar, e) -> None:
    """File record ``e`` (its ``seq`` set) where it belongs."""
    index = _index(q, e.time)
    state = q.state
    if index <= state[Q_CUR]:
        _side_push(q, e)
    elif index < state[Q_LO] + BUCKETS:
        _append(q, index & (BUCKETS - 1), e)
        state[Q_WINDOW] += 1
    else:
        _append(q, OVERFLOW, e)


@njit(cache=True, inline="always")
def schedule(
    q: Calendar,
    time: float,
    ref: int,
    receiver: int,
    inarc: int,
    outarc: int,
    option: int,
    sent: float,
) -> None:
    """Schedule an event at ``time`` (not before the last one taken), after every event
    already scheduled at that time."""
    spare = q.spare[0]
    spare.time = time
    spare.seq = q.state[Q_SEQ]
    q.state[Q_SEQ] += 1
    spare.sent = sent
    spare.ref = ref
    spare.outarc = outarc
    spare.inarc = inarc
    spare.receiver = receiver
    spare.option = option
    _place(q, spare)


@njit(cache=True)
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


@njit(cache=True)
def _load(q: Calendar, index: int) -> None:
    """Copy bucket ``index`` into ``current`` in ``(time, seq)`` order and free its
    blocks."""
    row = index & (BUCKETS - 1)
    count = q.buckets[row, COUNT]
    slots = q.slots
    # Where each event sits, in chain (that is, seq) order, and its time.
    place = np.empty(count, dtype=np.int64)
    times = np.empty(count)
    block, i = q.buckets[row, HEAD], 0
    ordered = True
    while i < count:
        take = min(BLOCK, count - i)
        for j in range(take):
            place[i + j] = block * BLOCK + j
            times[i + j] = slots[block * BLOCK + j].time
            if i + j > 0 and times[i + j] < times[i + j - 1]:
                ordered = False
        i += take
        block = q.block_next[block]
    # A stable sort on time of events in seq order orders them by (time, seq).
    if ordered:
        for i in range(count):
            q.current[i] = slots[place[i]]
    else:
        order = np.argsort(times, kind="mergesort")
        for i in range(count):
            q.current[i] = slots[place[order[i]]]
    block, i = q.buckets[row, HEAD], 0
    while i < count:
        i += BLOCK
        block = _release(q, block)
    _free_chain(q, row)
    q.state[Q_WINDOW] -= count
    q.state[Q_CUR] = index
    q.state[Q_POS] = 0
    q.state[Q_LEN] = count


@njit(cache=True)
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
            _place(q, q.slots[block * BLOCK + j])
        i += take
        block = _release(q, block)


@njit(cache=True, inline="always")
def peek(q: Calendar) -> tuple[int, float, int]:
    """Bring the earliest event forward and say where it is (:data:`SORTED` or
    :data:`SIDE`; with its time and ``ref``), that the queue is :data:`EMPTY`, or that
    it is :data:`SHORT` of room to bring it forward (nothing changed; :func:`grow`
    makes the room)."""
    state = q.state
    while True:
        pos = state[Q_POS]
        if pos < state[Q_LEN]:
            e = q.current[pos]
            if state[Q_SIDE] > 0 and _before(q.side[0].time, q.side[0].seq, e.time, e.seq):
                return SIDE, q.side[0].time, q.side[0].ref
            return SORTED, e.time, e.ref
        if state[Q_SIDE] > 0:
            return SIDE, q.side[0].time, q.side[0].ref
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
def take(q: Calendar, where: int) -> tuple[float, int, int, int, int, int, float]:
    """Remove the event :func:`peek` found at ``where``; return its time, ``ref``,
    receiver, in-arc, out-arc, option and sending time."""
    if where == SORTED:
        e = q.current[q.state[Q_POS]]
        q.state[Q_POS] += 1
        return e.time, e.ref, int(e.receiver), e.inarc, e.outarc, int(e.option), e.sent
    e = q.side[0]
    out = (e.time, e.ref, int(e.receiver), e.inarc, e.outarc, int(e.option), e.sent)
    _side_pop(q)
    return out


@njit(cache=True, inline="always")
def upcoming(q: Calendar, ahead: int) -> tuple[int, int]:
    """Receiver and in-arc of the event ``ahead`` places after the next in the sorted
    bucket, ``(-1, -1)`` if there is none (a hint for prefetching: side-heap events
    may come first)."""
    index = q.state[Q_POS] + ahead
    if index < q.state[Q_LEN]:
        e = q.current[index]
        return int(e.receiver), e.inarc
    return -1, -1


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
