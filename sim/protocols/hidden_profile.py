"""``hidden_profile``: group discussion of distributed evidence (Stasser & Titus 1985, 1987).

Stasser & Titus (1985, JPSP 48:1467–1478) gave four-person groups facts about three
candidates: the facts every member held (shared) favoured an inferior candidate, the
facts held by one member each (unshared) tipped the full set towards the best one. Groups
discussed mostly what they all knew and chose the inferior candidate; groups given every
fact chose the best. Their information-sampling model (Stasser & Titus 1987, JPSP
53:81–93) explains why: if each holder of an item mentions it with probability ``p``, an
item held by ``n`` members surfaces with probability ``1 - (1 - p)^n``, so shared items
dominate discussion.

The profile is the ``[task]`` table's when ``task.kind = "hidden_profile"`` (otherwise
:class:`~sim.tasks.hidden_profile.HiddenProfileTask`'s defaults), drawn from the task's
stream exactly as LLM-backed agents' task is, so a run with the same seed sees the same
profile whoever the members are. Each member is an ``informed`` agent
(:mod:`sim.agents.informed`) that starts with the items it holds, counts every item it
learns once, and chooses the candidate with the best net valence.

Discussion: ``turns`` turns, ``turn_duration`` apart. At the start of a turn each member,
for each item it held before discussion, mentions it with probability
``mention_probability`` (independently; the protocol's stream, drawn member by member in
index order, items in profile order); a mention is a :class:`~sim.agents.informed.Mention`
broadcast to the member's out-neighbours over the channels, so latency, loss and the
network decide who hears it. Items learnt in discussion are not mentioned again by their
hearers (sampling is over pre-discussion holdings, as in the model). At the end of each
turn every member updates on what has reached it; the last update gives the final
choices, and the institution's aggregation rule the group's decision (mentions still in
transit then arrive too late). Members first choose from their own items (pre-discussion
preferences) at time 0.

Role specialization (expert roles, after Stasser, Stewart & Wittenbaum 1995, JESP
31:244–265): a member's *domain* is the set of candidates its unshared items bear on.
With ``specialization = "candidate"`` the unshared items are dealt by candidate, so that
every member's unshared items bear on one candidate only: the members (in a random order
from the protocol's stream) are split over the candidates that unshared items bear on,
in proportion to their item counts (largest remainder, at least one member each when
there are enough), and each candidate's items go round-robin to its members. A member
mentions items about its domain with probability ``expert_mention_probability`` (default:
``mention_probability``), the experts' readiness to speak to their field.

``full_information = true`` is the control condition: every item is held by every member
(the member's domain still comes from the dealing).

Summary columns: ``items_surfaced``, the share of the profile's unshared items mentioned
at least once (under full information: of those the profile would have dealt to one
member), and ``full_information_match``, whether the group's decision is the candidate
the whole item set favours (the truth). Both are set after every update.

Main entry points: :class:`HiddenProfileProtocol`, :func:`hidden_profile`,
:func:`draw_profile`, :func:`deal_by_candidate`, :func:`deal`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import Field

from sim.agents.informed import InformedAgent, Mention
from sim.errors import ScenarioError
from sim.institutions import Aggregation, group_decision
from sim.protocols.basic import Process, ProtocolBase
from sim.streams import Component, Streams
from sim.tasks.hidden_profile import HiddenProfileInstance, HiddenProfileTask

if TYPE_CHECKING:
    from sim.config import ScenarioConfig
    from sim.society import Society


class HiddenProfileProtocol(ProtocolBase):
    """``kind = "hidden_profile"``: turns of information sampling, then a group decision."""

    kind: Literal["hidden_profile"] = "hidden_profile"
    agent_kinds: ClassVar[frozenset[str] | None] = frozenset({"informed"})
    turns: int = Field(2, ge=0, description="Discussion turns (0: pre-discussion choices).")
    turn_duration: float = Field(1.0, gt=0.0, description="Simulated time per turn.")
    mention_probability: float = Field(
        0.2,
        ge=0.0,
        le=1.0,
        description="Probability that a holder mentions an item it holds in a turn.",
    )
    full_information: bool = Field(
        False, description="Control condition: every item is held by every member."
    )
    specialization: Literal["none", "candidate"] = Field(
        "none",
        description='"candidate": unshared items are dealt by candidate, so each member\'s '
        'unshared items bear on one candidate (its domain); "none": as the task deals them.',
    )
    expert_mention_probability: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Mention probability of items about the member's domain (default: "
        "mention_probability).",
    )


def draw_profile(society: Society) -> HiddenProfileInstance:
    """The society's hidden profile: the ``[task]`` table's (default task if absent),
    drawn from the task stream as for LLM-backed agents.

    Raises:
        ScenarioError: ``[task]`` is of another kind.
    """
    world = society.world
    return profile_of(
        society.config, world.options, len(society.members), world.truth, society.seed
    )


def profile_of(
    config: ScenarioConfig, options: int, n: int, truth: int, seed: int
) -> HiddenProfileInstance:
    """The hidden profile of a run of ``config`` with ``seed`` (see :func:`draw_profile`)."""
    task = config.task
    if task is None:
        task = HiddenProfileTask()
    if not isinstance(task, HiddenProfileTask):
        raise ScenarioError(
            f"task.kind = {task.kind!r}: protocol 'hidden_profile' needs task.kind = "
            "'hidden_profile' (or no [task] table)"
        )
    return task.instance(
        options=options,
        n=n,
        truth=truth,
        rng=Streams(seed).generator(Component.TASK),
        base_dir=None,
    )


def deal_by_candidate(
    profile: HiddenProfileInstance, rng: np.random.Generator
) -> list[tuple[int, ...]]:
    """Holders of each item when unshared items are dealt by candidate (see the module
    docstring); shared items keep every member.

    Args:
        profile: The hidden profile.
        rng: Draws the order of the members (one permutation).

    Returns:
        The holders of each item, in profile order.
    """
    n = profile.members
    unshared = [j for j, item in enumerate(profile.items) if not item.shared]
    candidates = sorted({profile.items[j].option for j in unshared})
    counts = np.array([sum(profile.items[j].option == c for j in unshared) for c in candidates])
    quotas = n * counts / counts.sum()
    sizes = np.floor(quotas).astype(int)
    for k in np.argsort(-(quotas - sizes), kind="stable")[: n - sizes.sum()]:
        sizes[k] += 1
    for k in np.flatnonzero(sizes == 0):  # every candidate gets a member if there are enough
        donor = int(np.argmax(sizes))
        if sizes[donor] > 1:
            sizes[donor] -= 1
            sizes[k] += 1
    order = [int(i) for i in rng.permutation(n)]
    holders = [item.holders for item in profile.items]
    start = 0
    for candidate, size in zip(candidates, sizes, strict=True):
        # With fewer members than candidates a candidate may get no block of its own;
        # then every member shares its items.
        block = order[start : start + size] or order
        start += size
        about = [j for j in unshared if profile.items[j].option == candidate]
        for m, j in enumerate(about):
            holders[j] = (block[m % len(block)],)
    return holders


@dataclass(frozen=True)
class Holdings:
    """What each member holds before discussion and how readily it mentions each item.

    Attributes:
        items: Per member, the items it holds, in profile order.
        chances: Per member, the probability that it mentions each of those items in a
            turn.
        domains: Per member, the candidates its unshared items bear on.
    """

    items: list[list[int]]
    chances: list[list[float]]
    domains: list[frozenset[int]]


def deal(
    profile: HiddenProfileInstance, config: HiddenProfileProtocol, rng: np.random.Generator
) -> Holdings:
    """Deal the profile's items to the members (by candidate under ``specialization =
    "candidate"``, drawing one permutation from ``rng``; every item to everyone under
    ``full_information``) and give each holding its mention probability."""
    n = profile.members
    dealt = (
        deal_by_candidate(profile, rng)
        if config.specialization == "candidate"
        else [item.holders for item in profile.items]
    )
    items: list[list[int]] = [[] for _ in range(n)]
    domains: list[set[int]] = [set() for _ in range(n)]
    for j, item in enumerate(profile.items):
        for i in range(n) if config.full_information else dealt[j]:
            items[i].append(j)
        if not item.shared:
            for i in dealt[j]:
                domains[i].add(item.option)
    expert = config.mention_probability
    if config.expert_mention_probability is not None:
        expert = config.expert_mention_probability
    chances = [
        [
            expert if profile.items[j].option in domains[i] else config.mention_probability
            for j in items[i]
        ]
        for i in range(n)
    ]
    return Holdings(items, chances, [frozenset(d) for d in domains])


def discussion_outcome(
    profile: HiddenProfileInstance,
    choices: np.ndarray,
    beliefs: np.ndarray,
    aggregation: Aggregation,
    surfaced: int,
) -> dict[str, float | bool]:
    """The summary columns after an update: the share of unshared items ``surfaced``
    and whether the group's decision (each member stating its belief in its choice) is
    the candidate the whole profile favours."""
    held = choices >= 0
    confidences = np.full(len(choices), np.nan)
    confidences[held] = beliefs[held, choices[held]]
    group, _ = group_decision(choices, beliefs, confidences, aggregation)
    unshared = sum(not item.shared for item in profile.items)
    return {
        "items_surfaced": surfaced / unshared,
        "full_information_match": group == profile.favoured(),
    }


def _informed(society: Society) -> list[InformedAgent]:
    for agent in society.members:
        if not isinstance(agent, InformedAgent):
            raise ScenarioError(
                f"population.groups.{agent.group}.agent = {agent.kind!r}: protocol "
                "'hidden_profile' needs agents of kind 'informed'"
            )
    return [agent for agent in society.members if isinstance(agent, InformedAgent)]


def hidden_profile(society: Society, config: HiddenProfileProtocol) -> Process:
    """Information sampling over ``turns`` turns (see the module docstring)."""
    members = _informed(society)
    profile = draw_profile(society)
    rng = society.protocol_rng
    holdings = deal(profile, config, rng)
    for agent, held, domain in zip(members, holdings.items, holdings.domains, strict=True):
        for j in held:
            agent.hold(j, profile.items[j].option, profile.items[j].valence)
        agent.domain = domain
    # (speaker, item, probability) in drawing order: members by index, items in order.
    chances = [
        (agent, j, p)
        for agent, held, odds in zip(members, holdings.items, holdings.chances, strict=True)
        for j, p in zip(held, odds, strict=True)
    ]
    unshared = {j for j, item in enumerate(profile.items) if not item.shared}
    surfaced: set[int] = set()

    def update() -> None:
        for agent in members:
            society.act(agent, announce=False)
        society.outcome |= discussion_outcome(
            profile,
            society.choices(),
            np.vstack([agent.belief for agent in members]),
            society.institution.aggregation,
            len(surfaced & unshared),
        )

    update()
    env, channels = society.env, society.channels
    for _ in range(config.turns):
        draws = rng.random(len(chances))
        for (agent, j, p), u in zip(chances, draws, strict=True):
            if u < p:
                surfaced.add(j)
                item = profile.items[j]
                mention = Mention(agent.index, j, item.option, item.valence, env.now)
                channels.broadcast(agent.index, society.out_neighbors[agent.index], mention)
        yield env.timeout(config.turn_duration)
        update()
