"""Informed agents: they judge the candidates by the evidence items they know.

The stylized member of a hidden-profile group (Stasser & Titus 1985, 1987; see
:mod:`sim.protocols.hidden_profile`). The agent knows a set of evidence items, each
bearing on one candidate (option) with valence +1 (a strength) or -1 (a weakness): the
items it holds before discussion and the items it hears mentioned. Each item counts
once, however often it is mentioned. Its score of candidate ``k`` is the net valence of
the known items about ``k``,

    score(k) = sum over known items i about k of valence(i),

and it chooses the best-scoring candidate; ties keep its current choice, then go to the
unique favourite of its prior, then are broken with the agents' stream. Its belief is
``prior(k) * exp(score(k))``, normalised (an item is worth one nat of evidence), which
the ``log_odds`` aggregation and the Brier score read. The private signal of the world
is not used: the items are the agent's evidence.

Mentions reach the agent as :class:`Mention` messages over the channels; announcements
of other agents' choices are remembered (as by every kind) but do not move it. Under
protocols other than ``hidden_profile`` it knows no item and keeps its prior's
favourite (or a random option under a uniform prior).

Main entry points: :class:`InformedAgent`, :class:`Mention`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from sim.agents.base import GroupBase, SocietyAgent


class InformedGroup(GroupBase):
    """A group of ``informed`` agents (no keys beyond those every group has)."""

    agent: Literal["informed"]


@dataclass(frozen=True, slots=True)
class Mention:
    """A discussion message: ``sender`` mentions evidence item ``item``.

    The message carries the item's content (the candidate it bears on and its valence),
    as mentioning a fact tells its content; ``option`` is what the message log records.
    """

    sender: int
    item: int
    option: int
    valence: int
    sent_time: float


class InformedAgent(SocietyAgent):
    """Scores candidates by the net valence of known items; see the module docstring.

    Attributes:
        held: The items the agent held before discussion (and may mention), in order.
        known: Every item it knows (held or heard).
        mentions_heard: How many mentions of each item have reached it.
        domain: The candidates its expert role covers (set by the protocol).
    """

    kind = "informed"
    config_model = InformedGroup

    def configure(self, params: dict[str, float], group_config: GroupBase) -> None:
        self.scores = np.zeros(self.options)
        self.held: list[int] = []
        self.known: set[int] = set()
        self.mentions_heard: dict[int, int] = {}
        self.domain: frozenset[int] = frozenset()
        self._learnt = True  # whether an item was learnt since the last decision
        favourites = np.flatnonzero(self.log_prior == self.log_prior.max())
        self._prior_favourite = int(favourites[0]) if len(favourites) == 1 else None

    def hold(self, item: int, option: int, valence: int) -> None:
        """Give the agent an item before discussion: it knows it and may mention it."""
        self.held.append(item)
        self._learn(item, option, valence)

    def _learn(self, item: int, option: int, valence: int) -> bool:
        if item in self.known:
            return False
        self.known.add(item)
        self.scores[option] += valence
        self._learnt = True
        return True

    def receive(self, message: Any) -> bool:
        """Take in a message: a :class:`Mention` adds its item if new (returns whether it
        was); an announcement is remembered as by every kind."""
        if isinstance(message, Mention):
            self.mentions_heard[message.item] = self.mentions_heard.get(message.item, 0) + 1
            return self._learn(message.item, message.option, message.valence)
        return super().receive(message)

    def decide(self) -> bool:
        if not self._learnt and self.choice is not None:
            return False  # nothing new: same scores, and ties keep the current choice
        self._learnt = False
        self._set_belief(self.log_prior + self.scores)
        return self._choose(self.scores, self.choice, self._prior_favourite)
