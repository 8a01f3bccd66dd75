"""Drawing a population: which group each agent belongs to, and its own parameters.

Groups are given shares; :func:`group_sizes` turns them into exact counts, which are
laid over the nodes in order (``placement = "block"``) or in random order
(``"random"``). Every agent then draws its own signal accuracy and the group's
per-agent parameters (a number is copied, a distribution sampled), all from the
population's random stream, group by group.

:func:`draw_members` draws a run's population and world from its streams: the one place
both engines get their agents from, so that the same seed gives them the same society.

Main entry points: :func:`draw_members`, :func:`draw_population`, :class:`Population`,
:func:`group_sizes`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.agents import GroupConfig
from sim.distributions import Quantity, sample
from sim.streams import Component, Streams
from sim.world import World, draw_signals

if TYPE_CHECKING:
    from sim.config import ScenarioConfig


def group_sizes(shares: Sequence[float], n: int) -> list[int]:
    """Split ``n`` agents by ``shares`` with the largest-remainder method (exact total).

    Ties in the remainders go to the earlier group, so the split is deterministic.
    """
    quotas = [share * n for share in shares]
    sizes = [math.floor(q) for q in quotas]
    order = sorted(range(len(shares)), key=lambda g: (-(quotas[g] - sizes[g]), g))
    for g in order[: n - sum(sizes)]:
        sizes[g] += 1
    return sizes


@dataclass(frozen=True)
class Population:
    """Who is who.

    Attributes:
        group: Group index of each agent, shape ``(n,)``.
        accuracy: Signal accuracy of each agent, shape ``(n,)``.
        params: Sampled parameters by name: one value per agent (NaN for agents whose
            group does not have that parameter).
    """

    group: np.ndarray
    accuracy: np.ndarray
    params: dict[str, np.ndarray]

    def of(self, index: int) -> dict[str, float]:
        """The sampled parameters of one agent, by name."""
        return {
            name: float(values[index])
            for name, values in self.params.items()
            if not np.isnan(values[index])
        }


def draw_population(
    groups: Sequence[GroupConfig],
    n: int,
    world_accuracy: Quantity,
    placement: str,
    rng: np.random.Generator,
) -> Population:
    """Assign ``n`` agents to groups and draw their parameters.

    Args:
        groups: The population groups (shares summing to 1).
        n: Population size.
        world_accuracy: ``world.signal_accuracy``, used by groups that do not set theirs.
        placement: ``"random"`` or ``"block"``.
        rng: The population's stream.
    """
    sizes = group_sizes([g.share for g in groups], n)
    group_of = np.repeat(np.arange(len(groups), dtype=np.int64), sizes)
    if placement == "random":
        group_of = rng.permutation(group_of)
    accuracy = np.empty(n)
    params: dict[str, np.ndarray] = {}
    for g, group in enumerate(groups):
        members = np.flatnonzero(group_of == g)
        own = group.signal_accuracy
        accuracy[members] = sample(world_accuracy if own is None else own, rng, len(members))
        for name, value in group.sampled_parameters().items():
            column = params.setdefault(name, np.full(n, np.nan))
            column[members] = sample(value, rng, len(members))
    return Population(group_of, accuracy, params)


def draw_members(config: ScenarioConfig, n: int, streams: Streams) -> tuple[Population, World]:
    """The population (groups and per-agent parameters) and the world (truth and private
    signals) of a run of ``n`` agents, from the run's population and world streams."""
    population = draw_population(
        config.population.groups,
        n,
        config.world.signal_accuracy,
        config.population.placement,
        streams.generator(Component.POPULATION),
    )
    world_rng = streams.generator(Component.WORLD)
    options = config.world.options
    truth = (
        int(world_rng.integers(options)) if config.world.truth == "random" else config.world.truth
    )
    signals = draw_signals(truth, population.accuracy, options, world_rng)
    return population, World(options, truth, signals, population.accuracy)
