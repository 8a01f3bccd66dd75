"""The fast engine's calendar queue gives events in exactly a binary heap's order.

The queue must hand events out by ``(time, seq)``, ``seq`` counting schedulings, or the
fast engine would stop replaying the SimPy engine's schedule. These tests drive the
queue and ``heapq`` with the same random interleaving of schedulings and removals, and
compare every event taken. Latencies mix zero (events at the current time, which go to
the side heap), small and large exponentials (events beyond the window, which go to
the overflow chain and are refiled) and ties (integer times); bucket widths range over
six orders of magnitude, from far too fine to far too coarse.
"""

from __future__ import annotations

import heapq

import numpy as np
import pytest

from sim.fast import calendar


def _take_next(q: calendar.Calendar) -> tuple[calendar.Calendar, tuple[float, int]]:
    while True:
        where, time, ref = calendar.peek(q)
        if where != calendar.SHORT:
            break
        q = calendar.grow(q)
    assert where in (calendar.SORTED, calendar.SIDE)
    taken = calendar.take(q, where)
    assert (taken[0], taken[1]) == (time, ref)
    return q, (time, ref)


@pytest.mark.parametrize("width", [1e-4, 1e-2, 1.0, 100.0])
@pytest.mark.parametrize("seed", range(5))
def test_events_come_out_in_time_then_scheduling_order(width: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    q = calendar.new(64, width)
    reference: list[tuple[float, int]] = []
    now, seq, taken = 0.0, 1, 0
    for _ in range(4000):
        if reference and rng.random() < 0.45:
            q, got = _take_next(q)
            assert got == heapq.heappop(reference)
            now = got[0]
            taken += 1
        else:
            burst = int(rng.integers(1, 60))
            if not calendar.room(q, burst):
                q = calendar.grow(q)
            for _ in range(burst):
                kind = rng.integers(0, 4)
                delay = (0.0, rng.exponential(0.5), float(rng.integers(0, 3)), rng.exponential(80))[
                    kind
                ]
                # The event's reference is its sequence number, so ties are checked too.
                calendar.schedule(q, now + delay, seq, 0, 0, now)
                heapq.heappush(reference, (now + delay, seq))
                seq += 1
        assert calendar.pending(q) == len(reference)
    while reference:
        q, got = _take_next(q)
        assert got == heapq.heappop(reference)
    assert calendar.peek(q)[0] == calendar.EMPTY
    assert taken > 1000


def test_an_event_carries_its_message() -> None:
    q = calendar.new(8, 0.1)
    calendar.schedule(q, 2.5, 7, receiver=3, inarc=11, sent=2.0)
    assert calendar.peek(q) == (calendar.SORTED, 2.5, 7)
    assert calendar.take(q, calendar.SORTED) == (2.5, 7, 3, 11, 2.0)
    assert calendar.EVENT.itemsize == 32


def test_a_bucket_larger_than_the_buffer_asks_for_room() -> None:
    q = calendar.new(8, 1.0)
    assert not calendar.room(q, 5000)
    q = calendar.grow(q)
    for i in range(5000):
        calendar.schedule(q, 0.5, i, 0, 0, 0.0)  # all in one bucket
    assert calendar.peek(q)[0] == calendar.SHORT
    q = calendar.grow(q)
    assert [calendar.take(q, calendar.peek(q)[0])[1] for _ in range(5000)] == list(range(5000))


def test_width_must_be_positive() -> None:
    with pytest.raises(ValueError, match="bucket width"):
        calendar.new(8, 0.0)


@pytest.mark.parametrize("spread", [0.0, 1e-9, 1e-3, 1.0])
def test_a_bucket_is_sorted_whatever_its_times(spread: float) -> None:
    # One bucket of 3000 events: all at one time, clustered in a sliver of the bucket
    # (so one sub-interval of the counting sort holds hundreds, merge-sorted), or spread
    # over it (mostly one per sub-interval, insertion-sorted); times drawn from few
    # values so that ties are many.
    rng = np.random.default_rng(int(spread * 1e9) + 1)
    q = calendar.new(4000, 1.0)
    times = 0.25 + spread * rng.integers(0, 500, size=3000) / 500
    for seq, time in enumerate(times):
        calendar.schedule(q, float(time), seq, 0, 0, 0.0)
    while calendar.peek(q)[0] == calendar.SHORT:
        q = calendar.grow(q)
    got = [calendar.take(q, calendar.peek(q)[0])[:2] for _ in range(3000)]
    assert got == sorted((float(t), seq) for seq, t in enumerate(times))
