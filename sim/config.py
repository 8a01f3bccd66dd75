"""The scenario configuration: one frozen pydantic model per table of a scenario file.

:class:`ScenarioConfig` is the validated, immutable description of a study. Building a
society from it (:class:`sim.society.Society`) turns this data into objects once. Every
table rejects unknown keys; cross-table rules (the truth must be one of the options, a
prior must have one entry per option, ...) are checked here so that errors name the key.

Tables: ``[world]`` (:class:`~sim.world.WorldConfig`), ``[population]``
(:class:`PopulationConfig`), ``[network]`` (:data:`~sim.network.NetworkConfig`),
``[channels]`` (:class:`~sim.channels.ChannelConfig`), ``[protocol]``
(:data:`~sim.protocols.ProtocolConfig`), ``[stop]`` (:class:`StopConfig`) and
``[record]`` (:class:`RecordConfig`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.agents import GroupConfig
from sim.agents.bayesian import BayesianGroup
from sim.agents.stubborn import StubbornGroup
from sim.channels import ChannelConfig
from sim.network import NetworkConfig
from sim.protocols import AsynchronousProtocol, ProtocolConfig, SequentialProtocol
from sim.world import WorldConfig

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class PopulationConfig(BaseModel):
    """The ``[population]`` table: how many agents, and which kinds in which shares."""

    model_config = _FROZEN

    size: int | None = Field(
        None, ge=1, description="Number of agents (default: the node count of a network file)."
    )
    groups: tuple[GroupConfig, ...] = Field(
        (BayesianGroup(agent="bayesian"),), description="Population groups."
    )
    placement: Literal["random", "block"] = Field(
        "random",
        description='"random": groups are scattered over the nodes; "block": in order.',
    )

    @model_validator(mode="after")
    def _shares_sum_to_one(self) -> PopulationConfig:
        total = sum(group.share for group in self.groups)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"the groups' shares must sum to 1, they sum to {total:g}")
        return self


class StopConfig(BaseModel):
    """The ``[stop]`` table: when a run ends besides protocol completion."""

    model_config = _FROZEN

    max_time: float | None = Field(None, gt=0.0, description="Stop at this simulated time.")
    max_events: int | None = Field(None, ge=1, description="Stop after this many events.")
    consensus: bool = Field(False, description="Stop as soon as every agent agrees.")


class RecordConfig(BaseModel):
    """The ``[record]`` table: what is recorded."""

    model_config = _FROZEN

    interval: float = Field(1.0, gt=0.0, description="Time-series grid spacing.")


class ScenarioConfig(BaseModel):
    """A whole scenario, validated. See the README's scenario reference for every key."""

    model_config = _FROZEN

    name: str = Field("scenario", description="Name used in outputs.")
    description: str = Field("", description="What the scenario shows.")
    seed: int = Field(0, ge=0, description="Root seed of the run.")
    world: WorldConfig = WorldConfig()
    population: PopulationConfig = PopulationConfig()
    network: NetworkConfig = Field(default_factory=lambda: _complete())
    channels: ChannelConfig = ChannelConfig()
    protocol: ProtocolConfig = SequentialProtocol()
    stop: StopConfig = StopConfig()
    record: RecordConfig = RecordConfig()

    @model_validator(mode="after")
    def _consistent(self) -> ScenarioConfig:
        k = self.world.options
        if isinstance(self.world.truth, int) and self.world.truth >= k:
            raise ValueError(f"world.truth must be an option index below {k}")
        for i, group in enumerate(self.population.groups):
            if group.prior is not None and len(group.prior) != k:
                raise ValueError(
                    f"population.groups.{i}.prior has {len(group.prior)} entries, "
                    f"world.options is {k}"
                )
            if (
                isinstance(group, StubbornGroup)
                and isinstance(group.option, int)
                and not 0 <= group.option < k
            ):
                raise ValueError(f"population.groups.{i}.option must be an option index below {k}")
        if self.population.size is None and self.network.topology != "file":
            raise ValueError("population.size is required (unless network.topology is 'file')")
        protocol = self.protocol
        if (
            isinstance(protocol, AsynchronousProtocol)
            and protocol.wake_rate > 0
            and self.stop.max_time is None
            and self.stop.max_events is None
        ):
            raise ValueError(
                "protocol 'asynchronous' with wake_rate > 0 never ends by itself: "
                "set stop.max_time or stop.max_events"
            )
        return self


def _complete() -> NetworkConfig:
    from sim.network import CompleteNetwork

    return CompleteNetwork(topology="complete")
