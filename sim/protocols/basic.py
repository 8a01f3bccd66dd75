"""The three basic protocols: sequential turns, asynchronous wake-ups, synchronous rounds.

``sequential``
    Every agent acts exactly once, in a random order (or index order). Agent ``i`` acts
    ``interval`` after the previous one, and never before every message addressed to it is
    delivered or dropped, so it has heard every neighbour who acted before it. On a
    complete graph with zero latency this is the Bikhchandani–Hirshleifer–Welch setting.

``asynchronous``
    At time 0 every agent forms a choice from its own signal and announces it. Agents then
    wake on independent Poisson clocks of rate ``wake_rate`` and, if ``wake_on_message``,
    whenever a message reaches them; on waking they apply their rule and announce if
    their rule says so (usually: if their choice changed). Messages travel with latency.

``rounds``
    Synchronous rounds, as in debate or DeGroot averaging: at the start of each round every
    agent announces; at its end (``round_duration`` later) every agent updates on the latest
    messages it has received. ``rounds`` rounds are played; an agent's final choice is the
    one after the last update.

LLM-backed agents' decisions take simulated time (their group's ``latency``):
``sequential`` gives the next turn only after the answer is in, and each ``rounds`` round
announces once every answer of the previous update is in; under ``asynchronous`` an agent
keeps its old choice until its answer arrives.

Main entry points: :func:`sequential`, :func:`asynchronous`, :func:`rounds` and their
configs.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import simpy
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from sim.society import Society


class ProtocolBase(BaseModel):
    """Base of every ``[protocol]`` kind: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent_kinds: ClassVar[frozenset[str] | None] = None
    """The agent kinds this protocol can drive (None: any)."""

    def check_groups(self, groups: Sequence[BaseModel]) -> None:
        """Check, when a scenario is loaded, that the population suits this protocol.

        Raises:
            ValueError: Naming the group key that does not fit.
        """
        if self.agent_kinds is None:
            return
        for i, group in enumerate(groups):
            agent = getattr(group, "agent", None)
            if agent not in self.agent_kinds:
                expected = " or ".join(repr(k) for k in sorted(self.agent_kinds))
                raise ValueError(
                    f"protocol.kind = {getattr(self, 'kind', '?')!r} needs {expected} agents: "
                    f"population.groups.{i}.agent = {agent!r}"
                )


class SequentialProtocol(ProtocolBase):
    """``kind = "sequential"``: each agent acts once, in turn."""

    kind: Literal["sequential"] = "sequential"
    interval: float = Field(1.0, ge=0.0, description="Simulated time between turns.")
    order: Literal["random", "index"] = Field("random", description="Turn order.")


class AsynchronousProtocol(ProtocolBase):
    """``kind = "asynchronous"``: Poisson wake-ups and/or wake on message."""

    kind: Literal["asynchronous"] = "asynchronous"
    wake_rate: float = Field(1.0, ge=0.0, description="Wake-ups per agent per unit time.")
    wake_on_message: bool = Field(True, description="Update whenever a message arrives.")


class RoundsProtocol(ProtocolBase):
    """``kind = "rounds"``: synchronous announce–deliver–update rounds."""

    kind: Literal["rounds"] = "rounds"
    rounds: int = Field(10, ge=1, description="Number of rounds.")
    round_duration: float = Field(1.0, gt=0.0, description="Simulated time per round.")


Process = Generator[simpy.Event, Any, None]


def sequential(society: Society, config: SequentialProtocol) -> Process:
    """Each agent acts once, after hearing every earlier neighbour (see module docstring)."""
    env = society.env
    n = len(society.members)
    rng = society.protocol_rng
    order = rng.permutation(n) if config.order == "random" else range(n)
    for turn, index in enumerate(order):
        if turn > 0 and config.interval > 0:
            yield env.timeout(config.interval)
        drained = society.channels.drained(int(index))
        if drained is not None:
            yield drained
        society.act(society.members[int(index)])
        settled = society.settled()  # an LLM-backed agent's answer takes time
        if settled is not None:
            yield settled


def asynchronous(society: Society, config: AsynchronousProtocol) -> Process:
    """Initial announcements, then Poisson wake-ups (see module docstring)."""
    env = society.env
    members = society.members
    for agent in members:
        society.act(agent)
    if config.wake_rate == 0:
        return
    rng = society.protocol_rng
    # The superposition of n independent Poisson clocks of rate r is one clock of rate
    # n * r whose ticks go to a uniformly chosen agent: same law, one process.
    mean_gap = 1.0 / (len(members) * config.wake_rate)
    while True:
        yield env.timeout(rng.exponential(mean_gap))
        society.act(members[int(rng.integers(len(members)))])


def rounds(society: Society, config: RoundsProtocol) -> Process:
    """Synchronous rounds of announce, deliver, update (see module docstring)."""
    env = society.env
    members = society.members
    for agent in members:
        society.act(agent, announce=False)
    for _ in range(config.rounds):
        settled = society.settled()  # LLM-backed agents' answers take time
        if settled is not None:
            yield settled
        for agent in members:
            if agent.choice is not None:  # an LLM agent that abstained has nothing to say
                society.announce(agent)
        yield env.timeout(config.round_duration)
        # Updates only read messages already delivered, so updating in index order is
        # the same as updating everyone at once.
        for agent in members:
            society.act(agent, announce=False)


def wakes_on_message(config: BaseModel) -> bool:
    """Whether agents under this protocol update as soon as a message reaches them."""
    return isinstance(config, AsynchronousProtocol) and config.wake_on_message
