"""Debate: rounds in which agents state an answer with a confidence and revise.

The competition regime. A debate has an *opening* and ``rounds`` rounds of revision:

* **Opening.** Under ``[institution] independence_first`` every agent first commits
  privately to an answer from its own evidence, and all first answers are then heard at
  once. Otherwise agents open in turn (the institution's ``speaking_order``), each
  hearing everyone who spoke before it: the first speakers frame the debate.
* **Rounds.** With ``speaking = "in_turn"`` (default) agents speak one after another,
  each revising on everything heard so far (including earlier speakers of the same
  round) before it speaks; with ``"simultaneous"`` all revise on the previous round and
  then speak at once. Under ``[institution] delphi`` answers are private and
  simultaneous, and between rounds every agent hears only the anonymized distribution of
  answers (counts and mean confidence per option), never an individual message.

Who hears a speaker: everyone (``visibility = "all"``) or the speaker's out-neighbours in
the network (``"neighbours"``). An announcement carries the answer, the stated confidence
and, for stylized agents with ``cite_evidence``, the evidence cited (the speaker's own
signal); LLM agents add their message.

**Roles** (``role`` key of a population group, or ``[institution] devils_advocate``,
which appoints one random member): a ``critic`` argues against the current majority (it
announces the most announced other option); a ``devils_advocate`` is assigned a random
minority option after the opening and defends it to the end. Role players keep their own
private answer for the group's aggregation only if the institution says so; here what
they argue is their answer (they are counted as such), which is how they move debates.

Outcomes (:data:`~sim.metrics.OUTCOME_COLUMNS`): ``initial_majority_correct`` (the
plurality of opening answers is the truth: the vote a debate is compared with) and
``resolution_quality`` (of the agents who changed their answer, the share who ended on
the truth).

Main entry points: :class:`DebateProtocol`, :func:`debate`, :func:`debate_outcome`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from sim.agents.base import Announcement, SocietyAgent
from sim.institutions import InstitutionConfig
from sim.protocols.basic import Process, ProtocolBase
from sim.rules import critic_target, minority_options

if TYPE_CHECKING:
    from sim.society import Society

ANONYMOUS = -1
"""Sender id of Delphi feedback: receivers cannot tell who said what."""


class DebateProtocol(ProtocolBase):
    """``kind = "debate"``: an opening and rounds of revision; see the module docstring."""

    kind: Literal["debate"] = "debate"
    rounds: int = Field(3, ge=1, description="Rounds of revision after the opening.")
    speaking: Literal["in_turn", "simultaneous"] = Field(
        "in_turn", description="Agents speak one after another, or all at once each round."
    )
    visibility: Literal["all", "neighbours"] = Field(
        "all", description="Who hears a speaker: everyone, or its out-neighbours."
    )
    turn_interval: float = Field(
        0.0, ge=0.0, description="Simulated time between speakers (in turn)."
    )
    round_duration: float = Field(1.0, gt=0.0, description="Simulated time per round.")
    cite_evidence: bool = Field(
        True, description="Stylized agents cite their own signal with their answer."
    )


class _Debate:
    """The state of one debate (roles, opening answers) and its moves."""

    def __init__(self, society: Society, config: DebateProtocol) -> None:
        self.society = society
        self.config = config
        self.institution: InstitutionConfig = society.institution
        members = society.members
        n = len(members)
        self.everyone = np.arange(n)
        self.roles = [
            getattr(society.config.population.groups[agent.group], "role", "member")
            for agent in members
        ]
        if self.institution.devils_advocate:
            self.roles[int(society.protocol_rng.integers(n))] = "devils_advocate"
        self.defended: dict[int, int] = {}
        self.opening: np.ndarray = np.full(n, -1)

    # -- order and audience -------------------------------------------------------------

    def order(self) -> Iterator[SocietyAgent]:
        """Speakers of one round, in the institution's speaking order."""
        members = self.society.members
        rule = self.institution.speaking_order
        if rule == "fixed":
            return iter(members)
        if rule == "random":
            return (members[int(i)] for i in self.society.protocol_rng.permutation(len(members)))
        if rule == "degree":
            degree = [len(self.society.out_neighbors[a.index]) for a in members]
            return iter(sorted(members, key=lambda a: (-degree[a.index], a.index)))
        stated = [a.accuracy if a.confidence is None else a.confidence for a in members]
        return iter(sorted(members, key=lambda a: (-stated[a.index], a.index)))

    def audience(self, agent: SocietyAgent) -> np.ndarray:
        """Who hears ``agent`` (never itself)."""
        if self.config.visibility == "neighbours":
            return self.society.out_neighbors[agent.index]
        return self.everyone[self.everyone != agent.index]

    # -- moves ----------------------------------------------------------------------------

    def decide(self, agent: SocietyAgent) -> None:
        """Let ``agent`` revise (its role may fix what it argues); nothing is sent."""
        role = self.roles[agent.index]
        if role not in ("critic", "devils_advocate") or agent.deliberates:
            self.society.act(agent, announce=False)
            return
        old = agent.choice
        if old is None:  # a role player opens like everyone else, from its evidence
            self.society.act(agent, announce=False)
            return
        if role == "critic":
            target = critic_target(agent.heard_counts(), old)
        else:
            target = self.defended[agent.index]
        agent.choice = target
        self.society.record_decision(agent, old, announce=False)

    def speak(self, agent: SocietyAgent) -> None:
        """Announce ``agent``'s current answer to its audience."""
        if agent.choice is not None:
            self.society.announce(agent, self.audience(agent), self._cited(agent))

    def _cited(self, agent: SocietyAgent) -> int | None:
        return agent.signal if self.config.cite_evidence and not agent.deliberates else None

    def appoint_advocates(self) -> None:
        """After the opening: each devil's advocate takes a random minority answer."""
        counts = np.bincount(self.opening[self.opening >= 0], minlength=self._options())
        minority = minority_options(counts)
        for index, role in enumerate(self.roles):
            if role == "devils_advocate":
                self.defended[index] = int(self.society.protocol_rng.choice(minority))

    def delphi_feedback(self) -> None:
        """Replace what everyone has heard by the anonymized distribution of answers."""
        members = self.society.members
        answers = [a for a in members if a.choice is not None]
        now = float(self.society.env.now)
        for speaker in answers:  # answers go to the facilitator: they count as announced
            assert speaker.choice is not None
            self.society.recorder.announcement(speaker.index, speaker.choice, speaker.signal, now)
        for receiver in members:
            receiver.forget()
            for slot, speaker in enumerate(a for a in answers if a is not receiver):
                assert speaker.choice is not None
                receiver.receive(
                    Announcement(ANONYMOUS - slot, speaker.choice, now, None, speaker.confidence)
                )

    def _options(self) -> int:
        return self.society.world.options

    def finish(self) -> None:
        """Record the debate's outcome columns."""
        society = self.society
        society.outcome.update(
            debate_outcome(self.opening, society.choices(), society.world.truth, self._options())
        )


def debate_outcome(
    opening: np.ndarray, final: np.ndarray, truth: int, options: int
) -> dict[str, bool | float | None]:
    """The debate's outcome columns from the answers after the opening and at the end
    (``-1``: none), as either engine has them."""
    opened = opening >= 0
    counts = np.bincount(opening[opened], minlength=options)
    top = np.flatnonzero(counts == counts.max())
    changed = opened & (final != opening)
    return {
        "initial_majority_correct": bool(opened.any() and len(top) == 1 and top[0] == truth),
        "resolution_quality": float(np.mean(final[changed] == truth)) if changed.any() else None,
    }


def debate(society: Society, config: DebateProtocol) -> Process:
    """An opening and ``rounds`` rounds of revision (see the module docstring)."""
    env = society.env
    state = _Debate(society, config)
    delphi = state.institution.delphi
    simultaneous = delphi or config.speaking == "simultaneous"

    for round_ in range(config.rounds + 1):  # round 0 is the opening
        if round_ > 0:
            yield env.timeout(config.round_duration)
        if simultaneous or (round_ == 0 and state.institution.independence_first):
            yield from _at_once(society, state, delphi)
        else:
            yield from _in_turn(society, state, config)
        if round_ == 0:
            state.opening = society.choices()
            state.appoint_advocates()
    state.finish()


def _at_once(society: Society, state: _Debate, delphi: bool) -> Process:
    """One round in which everyone revises first and then all speak (or, under Delphi,
    hear the anonymized distribution of answers)."""
    for agent in society.members:
        state.decide(agent)
    settled = society.settled()
    if settled is not None:
        yield settled
    if delphi:
        state.delphi_feedback()
    else:
        for agent in society.members:
            state.speak(agent)


def _in_turn(society: Society, state: _Debate, config: DebateProtocol) -> Process:
    """One round of speakers in turn: each hears everything sent to it so far, revises
    and speaks."""
    for turn, agent in enumerate(state.order()):
        if turn > 0 and config.turn_interval > 0:
            yield society.env.timeout(config.turn_interval)
        drained = society.channels.drained(agent.index)
        if drained is not None:
            yield drained
        state.decide(agent)
        settled = society.settled()
        if settled is not None:
            yield settled
        state.speak(agent)
