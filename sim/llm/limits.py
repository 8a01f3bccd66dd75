"""Rate limiting for concurrent requests: token buckets for requests and tokens per minute.

Each limit is a bucket that refills continuously at ``limit / 60`` per second and holds
at most one second's worth (at least one request), so traffic is paced evenly rather than
sent as a burst of a whole minute's allowance (providers enforce their per-minute limits
over short windows). A request takes its cost from every bucket at once; one that costs
more than a bucket holds waits for a full bucket and leaves it in debt, so the long-run
rate is exact even for large requests. Concurrency is bounded separately by an
``asyncio.Semaphore`` in the client.

Main entry point: :class:`RateLimiter`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class TokenBucket:
    """A continuously refilling bucket that may go into debt.

    Args:
        per_minute: Refill rate.
        clock: Monotonic clock in seconds.
    """

    def __init__(self, per_minute: float, clock: Callable[[], float]) -> None:
        if per_minute <= 0:
            raise ValueError("a rate limit must be positive")
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self._clock = clock
        self._level = self.capacity
        self._updated = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._level = min(self.capacity, self._level + (now - self._updated) * self.rate)
        self._updated = now

    def wait_time(self, amount: float) -> float:
        """Seconds until ``amount`` can be taken (0 when it can be now)."""
        self._refill()
        missing = min(amount, self.capacity) - self._level
        return max(0.0, missing / self.rate)

    def take(self, amount: float) -> None:
        """Take ``amount`` (the level may go negative)."""
        self._refill()
        self._level -= amount

    def give_back(self, amount: float) -> None:
        """Return an unused part of what was taken."""
        self._refill()
        self._level = min(self.capacity, self._level + amount)


class RateLimiter:
    """Requests-per-minute and tokens-per-minute limits for an asyncio client.

    Args:
        requests_per_minute: Limit on requests (None: none).
        tokens_per_minute: Limit on tokens (None: none).
        clock: Monotonic clock (seconds); injectable for tests.
        sleep: Async sleep; injectable for tests.
    """

    def __init__(
        self,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._requests = TokenBucket(requests_per_minute, clock) if requests_per_minute else None
        self._tokens = TokenBucket(tokens_per_minute, clock) if tokens_per_minute else None
        self._sleep = sleep

    async def acquire(self, tokens: int) -> None:
        """Wait until one request of up to ``tokens`` tokens may be sent, and count it."""
        while True:
            wait = 0.0
            if self._requests is not None:
                wait = max(wait, self._requests.wait_time(1))
            if self._tokens is not None:
                wait = max(wait, self._tokens.wait_time(tokens))
            if wait <= 0.0:
                break
            await self._sleep(wait)
        # No await between the check and the take: asyncio cannot interleave another task.
        if self._requests is not None:
            self._requests.take(1)
        if self._tokens is not None:
            self._tokens.take(tokens)

    def refund(self, tokens: int) -> None:
        """Return tokens reserved by :meth:`acquire` but not used."""
        if self._tokens is not None and tokens > 0:
            self._tokens.give_back(tokens)
