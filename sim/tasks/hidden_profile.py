"""``kind = "hidden_profile"``: a group choice whose best option shows only when pooled.

Stasser & Titus (1985, "Pooling of unshared information in group decision making:
Biased information sampling during discussion", *Journal of Personality and Social
Psychology* 48(6)) gave each member of a group facts about candidates for a post. Facts
favouring an inferior candidate were given to everyone (shared); facts favouring the
best candidate were spread over the members, one member each (unshared). Only by pooling
the unshared facts can the group see the best candidate; groups mostly discussed what
they all knew and chose the inferior one.

This task builds such a profile from generated facts. The options are candidates A, B,
C, ...; each fact (an *item*) bears on one candidate and is positive or negative, with
valence +1 or -1. A set of items favours the candidate with the highest net score (its
positive items minus its negative items), if exactly one candidate has it. A *decoy* is
drawn among the wrong options, and

* ``shared_items`` items are held by every member: positive items about the decoy and
  ``negative_items // 2`` negative items about the truth;
* ``unshared_items`` items are held by one member each: positive items about the truth
  and the other ``negative_items - negative_items // 2`` negative items about the decoy;
* each other candidate has ``other_items`` shared items, at least as many negative as
  positive, so its score is 0 or -1.

So the shared items alone favour the decoy (net ``S - negative_items // 2 >= 1``
against at most 0) and the full set favours the truth (net ``U - negative_items``
against ``S - negative_items`` for the decoy and at most 0 for the others), which the
model's validator makes hold with ``unshared_items > shared_items``, ``negative_items <
unshared_items`` and ``negative_items // 2 < shared_items``; the builder asserts both.
Unshared items go to members round-robin over a random order of the members: with fewer
members than unshared items some hold several, with more some hold only shared items. A
member's own view (shared items and its unshared ones) is not guaranteed to favour the
decoy. An agent's evidence lists the facts it holds; the stylized signal is not used.

Main entry points: :class:`HiddenProfileTask`, :class:`HiddenProfileInstance`,
:class:`ProfileItem`, :func:`profile_scores`, :func:`favoured_option`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from sim.errors import ScenarioError
from sim.tasks.base import TaskBase, TaskInstance, option_letters

# Facts read "Candidate B <phrase>."; every phrase is used at most once per instance.
STRENGTHS = (
    "resolved a supplier dispute that had stalled for months",
    "brought a delayed product launch back on schedule",
    "is praised by former colleagues as a patient mentor",
    "cut the costs of their previous department by a fifth without layoffs",
    "speaks the language of our largest client fluently",
    "built a reporting system that their former employer still uses",
    "has kept each of their last five projects within budget",
    "led a team through a difficult merger without losing a single member",
    "volunteered to train new hires in their previous job",
    "won an industry award for a safety programme they designed",
    "is known for giving clear and timely feedback",
    "saved a contract that a major client had threatened to cancel",
    "holds a professional certification in project management",
    "turned around an underperforming regional office within a year",
    "has repeatedly been asked back by former clients",
    "handled a data breach calmly and kept customers informed throughout",
    "wrote the onboarding guide used across their last company",
    "has worked with every department the team depends on",
    "introduced a scheduling change that reduced overtime by a third",
    "is described by every reference as scrupulously honest",
    "won back a key account after a costly shipping error",
    "has never missed a regulatory filing deadline",
    "organised a cross-office workshop that produced two new products",
    "learns new software quickly, according to three references",
    "ended a long-running conflict between two senior engineers",
    "raised their team's satisfaction scores in each of the last three years",
    "successfully managed a project twice the size of this one",
    "is well regarded by the unions they have negotiated with",
    "spotted an accounting error that spared their employer a large fine",
    "stays calm under pressure, according to every reference",
    "mentored two junior colleagues who were later promoted",
    "delivered a software migration without any downtime",
)

WEAKNESSES = (
    "missed several major deadlines on their last project",
    "was reprimanded for taking credit for a colleague's work",
    "has been late to many important client meetings",
    "left each of their last two jobs after less than a year",
    "overspent their last budget by nearly half",
    "is described by former colleagues as dismissive in meetings",
    "lost an important client by leaving a complaint unanswered",
    "has never managed more than three people",
    "failed a required compliance audit last year",
    "was criticised for ignoring safety warnings",
    "often changes priorities without telling the team",
    "has had two formal complaints filed about their conduct",
    "struggles to explain technical decisions to non-specialists",
    "presented inaccurate figures at a board meeting",
    "has had high staff turnover in every team they led",
    "refused to share information with other departments",
    "let a required professional certification lapse",
    "caused a product recall by skipping final testing",
    "frequently cancels their one-to-one meetings with staff",
    "made a hiring decision that had to be reversed within weeks",
    "publicly blamed junior staff for their own planning error",
    "leaves emails unanswered for days at a time, according to references",
    "signed a vendor contract without reading its penalty clauses",
    "refused to adopt the tools the rest of the company uses",
    "abandoned a half-finished project when a new role came up",
    "promised a major client a delivery date the team could not meet",
    "has a reputation for micromanaging experienced staff",
    "overlooked a security flaw that was later exploited",
    "was called unreliable by a former manager",
    "overran the agreed timeline on each of their last four projects",
    "dismissed customer feedback that predicted a failed launch",
    "was asked to leave a partner's site after an argument with its staff",
)


@dataclass(frozen=True)
class ProfileItem:
    """One fact of a hidden profile.

    Attributes:
        text: The fact as agents read it ("Candidate B resolved ...").
        option: The candidate (option index) it bears on.
        valence: +1 for a strength, -1 for a weakness.
        shared: Whether every member holds it.
        holders: Indices of the agents who hold it.
    """

    text: str
    option: int
    valence: int
    shared: bool
    holders: tuple[int, ...]


def profile_scores(items: Iterable[ProfileItem], options: int) -> list[int]:
    """Net score of each candidate over ``items``: its strengths minus its weaknesses.

    Args:
        items: The items counted.
        options: Number of candidates K.

    Returns:
        One score per candidate, in option order.
    """
    scores = [0] * options
    for item in items:
        scores[item.option] += item.valence
    return scores


def favoured_option(items: Iterable[ProfileItem], options: int) -> int | None:
    """The candidate a set of items favours: the unique highest net score.

    Args:
        items: The items counted.
        options: Number of candidates K.

    Returns:
        The option index, or ``None`` if several candidates share the highest score.
    """
    scores = profile_scores(items, options)
    best = max(scores)
    return scores.index(best) if scores.count(best) == 1 else None


@dataclass(frozen=True)
class HiddenProfileInstance(TaskInstance):
    """A hidden profile: the items, who holds each, and the decoy the shared items favour.

    Attributes:
        items: Every item, in a random order (shared and unshared interleaved).
        decoy: The wrong candidate the shared items favour.
        members: Number of agents n.
    """

    items: tuple[ProfileItem, ...] = ()
    decoy: int = 0
    members: int = 0

    def held_by(self, agent: int) -> tuple[ProfileItem, ...]:
        """The items an agent holds, in :attr:`items` order."""
        return tuple(item for item in self.items if agent in item.holders)

    def scores(self, items: Iterable[ProfileItem] | None = None) -> list[int]:
        """Net score of each candidate over ``items`` (default: every item)."""
        return profile_scores(self.items if items is None else items, self.options)

    def favoured(self, items: Iterable[ProfileItem] | None = None) -> int | None:
        """The candidate ``items`` (default: every item) favour, ``None`` on a tie."""
        return favoured_option(self.items if items is None else items, self.options)

    def evidence(self, agent: int, signal: int, accuracy: float) -> str:
        """The facts the agent holds, one per line (the signal is not used).

        Args:
            agent: The agent's index.
            signal: Unused.
            accuracy: Unused.

        Returns:
            The list of facts.
        """
        assert 0 <= agent < self.members, f"agent {agent} is not one of {self.members}"
        facts = "\n".join(f"- {item.text}" for item in self.held_by(agent))
        return f"You know these facts about the candidates:\n{facts}"


class HiddenProfileTask(TaskBase):
    """``kind = "hidden_profile"``: choose a candidate from facts spread over the group."""

    kind: Literal["hidden_profile"] = Field(
        "hidden_profile", description="A hidden-profile group decision (Stasser & Titus 1985)."
    )
    shared_items: int = Field(
        4,
        ge=1,
        description="Items about the decoy and the truth held by every member; they favour "
        "the decoy.",
    )
    unshared_items: int = Field(
        8,
        ge=1,
        description="Items held by one member each; they favour the truth. Must exceed "
        "shared_items.",
    )
    negative_items: int = Field(
        4,
        ge=0,
        description="How many of those items are weaknesses: half (rounded down) shared "
        "ones about the truth, the rest unshared ones about the decoy.",
    )
    other_items: int = Field(
        2,
        ge=0,
        description="Shared items about each other candidate (world.options > 2), at least "
        "half of them weaknesses.",
    )
    post: str = Field(
        "lead a new project team", description="What the candidates are candidates for."
    )

    @model_validator(mode="after")
    def _hidden(self) -> HiddenProfileTask:
        s, u, neg = self.shared_items, self.unshared_items, self.negative_items
        if u <= s:
            raise ValueError(
                f"unshared_items ({u}) must exceed shared_items ({s}) for the pooled items "
                "to favour the truth"
            )
        if neg >= u:
            raise ValueError(f"negative_items ({neg}) must be below unshared_items ({u})")
        if neg // 2 >= s:
            raise ValueError(
                f"negative_items // 2 ({neg // 2}) must be below shared_items ({s}) for the "
                "shared items to favour the decoy"
            )
        return self

    def _counts(self, options: int) -> tuple[int, int]:
        """Strengths and weaknesses an instance with ``options`` candidates needs."""
        others = options - 2
        strengths = self.shared_items + self.unshared_items - self.negative_items
        weaknesses = self.negative_items + others * (self.other_items - self.other_items // 2)
        return strengths + others * (self.other_items // 2), weaknesses

    def check(self, options: int, base_dir: Path | None) -> None:
        strengths, weaknesses = self._counts(options)
        if strengths > len(STRENGTHS) or weaknesses > len(WEAKNESSES):
            raise ScenarioError(
                f"task: a hidden profile with {options} candidates needs {strengths} "
                f"strengths and {weaknesses} weaknesses; there are {len(STRENGTHS)} and "
                f"{len(WEAKNESSES)} distinct ones: lower the item counts"
            )

    def instance(
        self,
        *,
        options: int,
        n: int,
        truth: int,
        rng: np.random.Generator,
        base_dir: Path | None,
    ) -> HiddenProfileInstance:
        self.check(options, base_dir)
        assert n >= 1, "a hidden profile needs at least one member"
        wrong = [k for k in range(options) if k != truth]
        decoy = wrong[int(rng.integers(len(wrong)))]
        shared_negative = self.negative_items // 2
        unshared_negative = self.negative_items - shared_negative
        # (option, valence) of each item; shared items first, then unshared ones.
        shared = [(decoy, 1)] * (self.shared_items - shared_negative)
        shared += [(truth, -1)] * shared_negative
        for other in wrong:
            if other != decoy:
                positive = self.other_items // 2
                shared += [(other, 1)] * positive + [(other, -1)] * (self.other_items - positive)
        unshared = [(truth, 1)] * (self.unshared_items - unshared_negative)
        unshared += [(decoy, -1)] * unshared_negative
        unshared = [unshared[int(i)] for i in rng.permutation(len(unshared))]
        members = [int(i) for i in rng.permutation(n)]
        holders = [tuple(range(n))] * len(shared) + [
            (members[j % n],) for j in range(len(unshared))
        ]
        phrases = {
            1: iter(STRENGTHS[int(i)] for i in rng.permutation(len(STRENGTHS))),
            -1: iter(WEAKNESSES[int(i)] for i in rng.permutation(len(WEAKNESSES))),
        }
        labels = option_letters(options)
        built = [
            ProfileItem(
                text=f"Candidate {labels[option]} {next(phrases[valence])}.",
                option=option,
                valence=valence,
                shared=j < len(shared),
                holders=holders[j],
            )
            for j, (option, valence) in enumerate(shared + unshared)
        ]
        items = tuple(built[int(i)] for i in rng.permutation(len(built)))
        profile = HiddenProfileInstance(
            kind=self.kind,
            question=(
                f"Your group must choose one of {options} candidates, "
                f"{', '.join(labels[:-1])} or {labels[-1]}, to {self.post}. Each member "
                "has read some facts about the candidates; members may know different "
                "facts. Every fact counts equally: the best candidate is the one whose "
                "strengths most outnumber their weaknesses over all the facts known to the "
                "group. Which candidate should the group choose?"
            ),
            labels=labels,
            descriptions=tuple(f"Candidate {label}" for label in labels),
            truth=truth,
            items=items,
            decoy=decoy,
            members=n,
        )
        assert profile.favoured([i for i in items if i.shared]) == decoy
        assert profile.favoured() == truth
        return profile
