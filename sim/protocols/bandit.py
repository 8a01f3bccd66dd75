"""The ``bandit`` protocol: epistemic networks of Zollman (2007, 2010).

Zollman, "The communication structure of epistemic communities", Philosophy of Science
74(5):574–587 (2007); "The epistemic benefit of transient diversity", Erkenntnis
72:17–35 (2010); after the two-armed bandit model of Bala & Goyal (1998).

The two options of the world are two arms (methods). The better arm, the world's
``truth``, succeeds with probability ``p_worse + epsilon``, the other with ``p_worse``.
Every agent is a ``beta`` agent (:mod:`sim.agents.beta`): it holds a Beta credence about
each arm and plays the arm it expects to succeed more often. Each round (of length
``round_duration``):

1. every agent plays its arm ``pulls`` times (Bernoulli trials drawn from the protocol's
   stream, in agent order), updates on its own result, and sends the result
   (arm, successes, trials) to its out-neighbours over the channels, with their latency
   and loss;
2. at the end of the round every agent re-chooses its arm from what it has received so far.
   A result that arrives late is taken in when it arrives (exactly once) and counts from
   the next choice on; results still in transit when the protocol ends are delivered
   too (they move credences and ``belief``, but nobody chooses again).

An arm nobody plays produces no evidence: if everyone abandons the better arm, nobody
learns that it is better, and the community can lock into the worse one. Sparse networks
slow the spread of early bad luck, keep some agents on the better arm longer, and so
converge on it more often, more slowly: the Zollman effect, strongest on hard problems
(small ``epsilon``, few ``pulls``, few agents).

``known_worse = true`` is the variant of Rosenstock, Bruner & O'Connor (2017, Phil. Sci.
84(2):234–252): every agent knows the worse arm's rate ``p_worse`` (it learns nothing from
playing it, and such results are not sent), so a community that abandons the uncertain
arm is locked in for good.

The protocol ends when the community has *settled* (checked after each round's choices),
or after ``rounds`` rounds. Settled: every agent plays the same arm, no result about the
other arm is still in transit, and every agent expects the arm it plays to beat its
expectation of the other by at least ``settle_sd`` standard deviations of its credence
about the played arm. Nobody then produces evidence about the other arm, whose expected
rate is frozen, and the played arm's expected rate can move by ``settle_sd`` standard
deviations only with small probability, so a choice is unlikely to change again (with a
known worse arm, consensus on it is exactly absorbing: its standard deviation is 0).
``stop.consensus`` stops at the first consensus instead.

Outputs: ``accuracy`` is the share of agents playing the better arm, ``consensus`` whether
everyone plays one arm at the end and ``consensus_time`` when that began (with
``round_duration = 1``, the round), ``group_correct`` whether the group's arm (under the
institution's aggregation) is the better one; ``herding_rate`` is null (nothing is
announced). ``belief`` of an agent is its probability that each arm is the better one.

Main entry points: :func:`bandit`, :class:`BanditProtocol`, :func:`settled`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from sim.agents.beta import ARMS, BetaAgent, TrialResult
from sim.errors import ScenarioError
from sim.protocols.basic import Process, ProtocolBase
from sim.rules import firmly_ahead

if TYPE_CHECKING:
    from sim.society import Society


class BanditProtocol(ProtocolBase):
    """``kind = "bandit"``: agents play a two-armed bandit and share results (Zollman)."""

    kind: Literal["bandit"] = "bandit"
    agent_kinds: ClassVar[frozenset[str] | None] = frozenset({"beta"})
    rounds: int = Field(1000, ge=1, description="Most rounds played (ends earlier if settled).")
    pulls: int = Field(10, ge=1, description="Trials of its arm each agent makes per round.")
    p_worse: float = Field(0.5, gt=0.0, lt=1.0, description="Success rate of the worse arm.")
    epsilon: float = Field(
        0.05, gt=0.0, lt=1.0, description="The better arm (the truth) succeeds with p_worse + this."
    )
    known_worse: bool = Field(
        False,
        description="Agents know the worse arm's rate (Rosenstock et al. 2017); "
        "false: both arms uncertain (Zollman).",
    )
    settle_sd: float = Field(
        2.0,
        ge=0.0,
        description="Settled when all play one arm that each expects to beat the other by "
        "this many standard deviations of its credence.",
    )
    round_duration: float = Field(1.0, gt=0.0, description="Simulated time per round.")

    @model_validator(mode="after")
    def _rate_below_one(self) -> BanditProtocol:
        if self.p_worse + self.epsilon > 1.0:
            raise ValueError(
                f"p_worse + epsilon is the better arm's success rate and must be <= 1, "
                f"got {self.p_worse:g} + {self.epsilon:g}"
            )
        return self


def _players(society: Society) -> list[BetaAgent]:
    """The members as ``beta`` agents (the only kind that can play)."""
    players = []
    for agent in society.members:
        if not isinstance(agent, BetaAgent):
            raise ScenarioError(
                f"protocol 'bandit' needs agent = 'beta' in every population group; "
                f"population.groups.{agent.group}.agent is {type(agent).kind!r}"
            )
        players.append(agent)
    return players


def settled(players: list[BetaAgent], settle_sd: float, in_transit: list[int]) -> bool:
    """Whether the community has settled (see the module docstring).

    Args:
        players: The agents.
        settle_sd: Lead required, in standard deviations of the credence in the played arm.
        in_transit: Results about each arm sent and not yet delivered or lost.
    """
    arm = players[0].choice
    if arm is None or in_transit[1 - arm] > 0:
        return False
    for agent in players:
        if agent.choice != arm:
            return False
        played, other = agent.expected_rate(arm), agent.expected_rate(1 - arm)
        if not firmly_ahead(played, other, agent.rate_sd(arm), settle_sd):
            return False
    return True


def bandit(society: Society, config: BanditProtocol) -> Process:
    """Rounds of experiments and shared results (see the module docstring)."""
    env, rng, channels = society.env, society.protocol_rng, society.channels
    players = _players(society)
    better = society.world.truth
    rates = np.full(ARMS, config.p_worse)
    rates[better] += config.epsilon
    informative = np.ones(ARMS, dtype=bool)
    if config.known_worse:
        for agent in players:
            agent.know(1 - better, config.p_worse)
        informative[1 - better] = False
    sent_about = [0] * ARMS  # results sent and not lost, per arm
    for agent in players:
        society.act(agent, announce=False)

    for round_index in range(config.rounds):
        arms = np.array([agent.choice for agent in players])
        successes = rng.binomial(config.pulls, rates[arms])
        for agent, arm, won in zip(players, arms.tolist(), successes.tolist(), strict=True):
            agent.observe(arm, won, config.pulls)
            if informative[arm]:
                before = channels.sent - channels.dropped
                result = TrialResult(agent.index, round_index, arm, won, config.pulls)
                channels.broadcast(agent.index, society.out_neighbors[agent.index], result)
                sent_about[arm] += channels.sent - channels.dropped - before
        yield env.timeout(config.round_duration)
        for agent in players:
            society.act(agent, announce=False)
        received = [sum(a.results_received[k] for a in players) for k in range(ARMS)]
        in_transit = [sent_about[k] - received[k] for k in range(ARMS)]
        if settled(players, config.settle_sd, in_transit):
            return
