"""Timed message channels between agents, on the SimPy clock.

Every message from A to B travels on the directed channel A→B:

* **latency**: it is delivered after a delay drawn from the channel's latency distribution
  (a number means a constant delay);
* **loss**: it is lost with probability ``drop`` (decided when it is sent; a lost message
  is logged as dropped at its send time with reason ``"loss"``);
* **capacity**: at most ``capacity`` messages may be in transit on one channel at once.
  What happens to a message sent on a full channel is the ``overflow`` policy:
  ``"drop"`` (default) discards it (logged as dropped, reason ``"capacity"``), like a
  router's tail drop; ``"queue"`` makes it wait, first in first out, until a message on
  that channel is delivered; its latency then starts.

Messages that fall due at the same simulated time are delivered in the order their
transit started (SimPy breaks ties between events by scheduling order): the order they
were sent, except that a queued message's transit starts when its slot frees. Runs are
therefore deterministic.

Settings are made for the whole network in ``[channels]`` and can be overridden per
population group (for the messages that group's members send).

Main entry points: :class:`ChannelConfig`, :class:`ChannelOverride`, :class:`Channels`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import polars as pl
import simpy
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sim.distributions import Constant, Distribution, check_support, sample


def _check_latency(value: float | Any) -> float | Any:
    check_support(value, 0.0, float("inf"), "a delay")
    return value


class ChannelConfig(BaseModel):
    """The ``[channels]`` table: how messages travel."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    latency: float | Distribution = Field(0.0, description="Delivery delay (simulated time).")
    drop: float = Field(0.0, ge=0.0, le=1.0, description="Probability a message is lost.")
    capacity: int | None = Field(
        None, ge=1, description="Most messages in transit per channel (default: unlimited)."
    )
    overflow: Literal["drop", "queue"] = Field(
        "drop", description="What a full channel does with a new message."
    )

    @field_validator("latency")
    @classmethod
    def _latency_ok(cls, value: float | Any) -> float | Any:
        return _check_latency(value)


class ChannelOverride(BaseModel):
    """Per-group overrides of :class:`ChannelConfig`; unset keys inherit ``[channels]``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    latency: float | Distribution | None = None
    drop: float | None = Field(None, ge=0.0, le=1.0)
    capacity: int | None = Field(None, ge=1)
    overflow: Literal["drop", "queue"] | None = None

    @field_validator("latency")
    @classmethod
    def _latency_ok(cls, value: float | Any | None) -> float | Any | None:
        return None if value is None else _check_latency(value)

    def apply_to(self, base: ChannelConfig) -> ChannelConfig:
        """The base configuration with this override's set keys replacing its own."""
        changes = {key: getattr(self, key) for key in self.model_fields_set}
        return base.model_copy(update={k: v for k, v in changes.items() if v is not None})


@dataclass(slots=True)
class Message:
    """One message in transit: an id, its endpoints, when it was sent, and its payload."""

    id: int
    sender: int
    receiver: int
    sent_time: float
    payload: Any
    latency: float


EVENT_SCHEMA: dict[str, pl.DataType] = {
    "message_id": pl.Int64(),
    "sender": pl.Int64(),
    "receiver": pl.Int64(),
    "sent_time": pl.Float64(),
    "delivered_time": pl.Float64(),
    "status": pl.String(),
    "reason": pl.String(),
    "option": pl.Int64(),
}
"""Columns of ``events.parquet``: one row per message (see the README)."""


class MessageLog:
    """Column store of resolved messages (delivered or dropped), for ``events.parquet``."""

    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = {
            "message_id": [],
            "sender": [],
            "receiver": [],
            "sent_time": [],
            "delivered_time": [],
            "status": [],
            "reason": [],
            "option": [],
        }

    def add(
        self, message: Message, delivered_time: float | None, status: str, reason: str | None
    ) -> None:
        """Append one message's fate."""
        cols = self.columns
        cols["message_id"].append(message.id)
        cols["sender"].append(message.sender)
        cols["receiver"].append(message.receiver)
        cols["sent_time"].append(message.sent_time)
        cols["delivered_time"].append(delivered_time)
        cols["status"].append(status)
        cols["reason"].append(reason)
        cols["option"].append(getattr(message.payload, "option", None))

    def frame(self) -> pl.DataFrame:
        """The log as a DataFrame, one row per message, ordered by ``message_id``."""
        return pl.DataFrame(self.columns, schema=EVENT_SCHEMA).sort("message_id")


class Channels:
    """All channels of a society: sends, delays, drops, capacities and the message log.

    Args:
        env: The SimPy environment (the clock).
        configs: The channel configuration that applies to each *sender*, indexed by agent.
        rng: The channels' random stream (latencies and losses).
        deliver: Called with each message when it arrives.
        log: Where resolved messages are written, or ``None`` not to keep them.
        halt: Asked between the messages of a broadcast delivered as one SimPy event
            (see :meth:`broadcast`) whether the run stops there.

    Attributes:
        extra_events: Messages delivered as part of another message's SimPy event; each
            counts as an event of the run.
    """

    def __init__(
        self,
        env: simpy.Environment,
        configs: Sequence[ChannelConfig],
        rng: np.random.Generator,
        deliver: Callable[[Message], None],
        log: MessageLog | None = None,
        halt: Callable[[], bool] = lambda: False,
    ) -> None:
        self.env = env
        self.configs = list(configs)
        self.rng = rng
        self._deliver = deliver
        self.halt = halt
        self.extra_events = 0
        self.log = log
        self.sent = 0
        self.delivered = 0
        self.dropped = 0
        self._next_id = 0
        self._in_transit: dict[tuple[int, int], int] = {}
        self._waiting: dict[tuple[int, int], deque[Message]] = {}
        self._pending: dict[int, int] = {}
        self._drained: dict[int, simpy.Event] = {}
        self._unresolved: dict[int, Message] = {}

    def broadcast(self, sender: int, receivers: np.ndarray, payload: Any) -> None:
        """Send ``payload`` from ``sender`` to every receiver (one message each).

        Latencies and losses for all receivers are drawn in one vectorised call, in the
        order of ``receivers``.
        """
        count = len(receivers)
        if count == 0:
            return
        config = self.configs[sender]
        latencies = sample(config.latency, self.rng, count)
        lost = self.rng.random(count) < config.drop if config.drop > 0 else None
        now = self.env.now
        # With one delay for all and no capacity, the messages of a broadcast fall due
        # together, consecutively in SimPy's queue: one event delivering them in send
        # order is the same schedule, at a fraction of the cost.
        together: list[Message] | None = (
            []
            if config.capacity is None and isinstance(config.latency, int | float | Constant)
            else None
        )
        for j in range(count):
            message = Message(
                self._next_id, sender, int(receivers[j]), now, payload, float(latencies[j])
            )
            self._next_id += 1
            self.sent += 1
            if lost is not None and lost[j]:
                self._drop(message, "loss")
            elif together is not None:
                self._enter(message)
                together.append(message)
            else:
                self._admit(message, config)
        if together:
            transit = self.env.timeout(together[0].latency, together)
            transit.callbacks.append(self._arrive_together)

    def _admit(self, message: Message, config: ChannelConfig) -> None:
        if config.capacity is not None:
            key = (message.sender, message.receiver)
            if self._in_transit.get(key, 0) >= config.capacity:
                if config.overflow == "drop":
                    self._drop(message, "capacity")
                    return
                self._enter(message)
                self._waiting.setdefault(key, deque()).append(message)
                return
            self._in_transit[key] = self._in_transit.get(key, 0) + 1
        self._enter(message)
        self._start(message)

    def _enter(self, message: Message) -> None:
        """Count a message as in transit to its receiver (queued or travelling)."""
        self._pending[message.receiver] = self._pending.get(message.receiver, 0) + 1
        if self.log is not None:
            self._unresolved[message.id] = message

    def _start(self, message: Message) -> None:
        transit = self.env.timeout(message.latency, message)
        transit.callbacks.append(self._arrive_one)

    def _arrive_one(self, event: simpy.Event) -> None:
        self._arrive(cast(Message, event.value))

    def _arrive_together(self, event: simpy.Event) -> None:
        messages = cast(list[Message], event.value)
        for j, message in enumerate(messages):
            if j > 0:
                # Each message counts as the event it would be on its own, and the run may
                # stop between two of them exactly as it could between separate events;
                # what is left then stays in transit.
                if self.halt():
                    return
                self.extra_events += 1
            self._arrive(message)

    def _arrive(self, message: Message) -> None:
        self.delivered += 1
        if self.log is not None:
            del self._unresolved[message.id]
            self.log.add(message, self.env.now, "delivered", None)
        if self.configs[message.sender].capacity is not None:
            key = (message.sender, message.receiver)
            queue = self._waiting.get(key)
            if queue:
                # The freed slot goes straight to the oldest waiting message.
                self._start(queue.popleft())
            else:
                self._in_transit[key] -= 1
        self._deliver(message)
        self._resolve_pending(message.receiver)

    def _drop(self, message: Message, reason: str) -> None:
        self.dropped += 1
        if self.log is not None:
            self.log.add(message, None, "dropped", reason)

    def _resolve_pending(self, receiver: int) -> None:
        left = self._pending[receiver] - 1
        self._pending[receiver] = left
        if left == 0 and receiver in self._drained:
            self._drained.pop(receiver).succeed()

    def drained(self, receiver: int) -> simpy.Event | None:
        """An event that fires once no message to ``receiver`` is in transit or waiting.

        Returns ``None`` when there is nothing in transit to it now.
        """
        if self._pending.get(receiver, 0) == 0:
            return None
        if receiver not in self._drained:
            self._drained[receiver] = self.env.event()
        return self._drained[receiver]

    @property
    def in_transit(self) -> int:
        """Messages sent but neither delivered nor dropped yet (including queued ones)."""
        return self.sent - self.delivered - self.dropped

    def close_log(self) -> None:
        """Write the messages still in transit at the end of the run to the log."""
        if self.log is None:
            return
        for message_id in sorted(self._unresolved):
            self.log.add(self._unresolved[message_id], None, "in_transit", None)
        self._unresolved.clear()
