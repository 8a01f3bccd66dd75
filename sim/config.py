"""The scenario configuration: one frozen pydantic model per table of a scenario file.

:class:`ScenarioConfig` is the validated, immutable description of a study. Building a
society from it (:class:`sim.society.Society`) turns this data into objects once. Every
table rejects unknown keys; cross-table rules (the truth must be one of the options, a
prior must have one entry per option, ...) are checked here so that errors name the key.

Tables: ``[world]`` (:class:`~sim.world.WorldConfig`), ``[population]``
(:class:`PopulationConfig`), ``[network]`` (:data:`~sim.network.NetworkConfig`),
``[channels]`` (:class:`~sim.channels.ChannelConfig`), ``[protocol]``
(:data:`~sim.protocols.ProtocolConfig`), ``[stop]`` (:class:`StopConfig`) and
``[record]`` (:class:`RecordConfig`), and the optional ``[institution]``
(:class:`~sim.institutions.InstitutionConfig`), ``[task]``
(:data:`~sim.tasks.TaskConfig`), ``[llm]`` (:class:`~sim.llm.config.LLMConfig`) and
``[sweep]`` (:class:`SweepConfig`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.agents import GroupConfig
from sim.agents.bayesian import BayesianGroup
from sim.agents.llm import LLMGroup
from sim.agents.stubborn import StubbornGroup
from sim.channels import ChannelConfig
from sim.institutions import InstitutionConfig
from sim.llm.config import LLMConfig
from sim.network import NetworkConfig
from sim.protocols import AsynchronousProtocol, ProtocolConfig, SequentialProtocol
from sim.tasks import TaskConfig
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
    max_stall_events: int | None = Field(
        None,
        ge=1,
        description="Stop (stop_reason 'stalled') after this many events at one instant "
        "(default: 100 per agent, at least 10,000).",
    )

    def stall_limit(self, n: int) -> int:
        """Events at one instant after which a run of ``n`` agents counts as stalled."""
        return self.max_stall_events or max(10_000, 100 * n)


class RecordConfig(BaseModel):
    """The ``[record]`` table: what is recorded."""

    model_config = _FROZEN

    interval: float = Field(1.0, gt=0.0, description="Time-series grid spacing.")


class SweepConfig(BaseModel):
    """The ``[sweep]`` table: the default sweep of ``sim sweep`` (flags override it).

    Axes combine as a cartesian product: every ``grid`` combination, times every row of the
    ``zip`` lists (varied together), times every ``sample`` point (a Latin hypercube over
    ``ranges``); each point is run ``replicates`` times.
    """

    model_config = _FROZEN

    replicates: int = Field(1, ge=1, description="Runs per parameter point.")
    grid: dict[str, list[Any]] = Field(
        default_factory=dict, description="Key path -> values; cartesian product."
    )
    zip: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="Key path -> values; lists of equal length varied together.",
    )
    sample: int | None = Field(None, ge=1, description="Latin-hypercube points over ``ranges``.")
    ranges: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="Key path -> [low, high] for ``sample``."
    )

    @model_validator(mode="after")
    def _consistent(self) -> SweepConfig:
        for table in ("grid", "zip"):
            for key, values in getattr(self, table).items():
                if not values:
                    raise ValueError(f"sweep.{table}.{key} needs at least one value")
        lengths = {len(v) for v in self.zip.values()}
        if len(lengths) > 1:
            raise ValueError(f"sweep.zip lists must have equal lengths, got {sorted(lengths)}")
        if (self.sample is None) != (not self.ranges):
            raise ValueError("sweep.sample and sweep.ranges go together")
        for key, (low, high) in self.ranges.items():
            if not low <= high:
                raise ValueError(f"sweep.ranges.{key}: low ({low}) must be <= high ({high})")
        keys = [*self.grid, *self.zip, *self.ranges]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            raise ValueError(f"a key is swept by two axes: {', '.join(repeated)}")
        return self

    @property
    def parameters(self) -> list[str]:
        """Swept key paths, in column order (grid, zip, sample)."""
        return [*self.grid, *self.zip, *self.ranges]


class ScenarioConfig(BaseModel):
    """A whole scenario, validated. See the README's scenario reference for every key."""

    model_config = _FROZEN

    name: str = Field("scenario", description="Name used in outputs.")
    description: str = Field("", description="What the scenario shows.")
    seed: int = Field(0, ge=0, description="Root seed of the run.")
    engine: Literal["auto", "simpy", "fast"] = Field(
        "auto",
        description="Which engine runs it: 'fast' (compiled) whenever it supports every part "
        "of the scenario under 'auto', else 'simpy'.",
    )
    world: WorldConfig = WorldConfig()
    population: PopulationConfig = PopulationConfig()
    network: NetworkConfig = Field(default_factory=lambda: _complete())
    channels: ChannelConfig = ChannelConfig()
    protocol: ProtocolConfig = SequentialProtocol()
    stop: StopConfig = StopConfig()
    record: RecordConfig = RecordConfig()
    institution: InstitutionConfig | None = Field(
        None, description="Aggregation rule and discussion rules (default: plurality, none)."
    )
    task: TaskConfig | None = Field(
        None, description='What LLM-backed agents are asked (default: the "urn" task).'
    )
    llm: LLMConfig | None = Field(
        None, description="Backend, cache, budget and prices of LLM-backed agents."
    )
    sweep: SweepConfig | None = None

    @property
    def has_llm_agents(self) -> bool:
        """Whether some population group is LLM-backed."""
        return any(isinstance(g, LLMGroup) for g in self.population.groups)

    def group_channels(self) -> list[ChannelConfig]:
        """The channel settings of each population group's messages (``[channels]`` with
        the group's overrides applied), in group order."""
        return [
            self.channels if g.channels is None else g.channels.apply_to(self.channels)
            for g in self.population.groups
        ]

    def observer_parameters(self, accuracy: Any) -> tuple[float, str]:
        """Signal accuracy and tie rule the cascade observer attributes to the agents.

        Args:
            accuracy: Every agent's signal accuracy.

        Returns:
            The population's accuracy if everyone has the same (then the observer shares
            the Bayesian agents' public beliefs), else its mean; and the first Bayesian
            group's tie rule (``"coin"`` if there is none).
        """
        shared = bool((accuracy == accuracy[0]).all())
        bayesian = [g for g in self.population.groups if isinstance(g, BayesianGroup)]
        return (
            float(accuracy[0] if shared else accuracy.mean()),
            bayesian[0].tie_rule if bayesian else "coin",
        )

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
        protocol.check_groups(self.population.groups)
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
