"""Bayesian agents: exact inference from a private signal and from observed actions.

The rule is that of Bikhchandani, Hirshleifer & Welch (1992), generalised to K options.
An agent treats each neighbour's *first* announcement as the action of a Bayesian agent
with the same prior, a signal of accuracy ``assumed_accuracy``, the same tie rule, and a
public belief equal to what the observer itself had learned from announcements sent
*before* that one. Announcements sent at the same moment are interpreted against the same
public belief (so simultaneous first announcements, as in round 0 of debate, count as
independent signals). Its posterior is that public belief times the likelihood of its own
signal; it announces the option with the highest posterior.

In the sequential protocol on a complete graph this is exactly BHW inference under common
knowledge of rationality. Elsewhere it is the standard bounded approximation: later
announcements of a neighbour are not re-interpreted (they mostly echo evidence already
counted), and on incomplete networks the observer does not model what its neighbours saw.

Tie rules for an indifferent agent: ``"coin"`` picks uniformly among the tied options;
``"own_signal"`` follows its signal when the signal is among them. An agent that has
already chosen keeps its choice while it remains among the best.

Main entry points: :class:`BayesianAgent`, :func:`action_probabilities`,
:func:`public_log_belief`, :class:`PublicBeliefs`, :func:`cascade_action`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from sim import rules
from sim.agents.base import Announcement, GroupBase, SocietyAgent
from sim.rules import TIE_RULES, log_normalize

TieRule = Literal["coin", "own_signal"]


class BayesianGroup(GroupBase):
    """A group of ``bayesian`` agents."""

    agent: Literal["bayesian"]
    tie_rule: TieRule = Field("coin", description="What an indifferent agent does.")
    assumed_accuracy: float | None = Field(
        None, description="Signal accuracy it attributes to others (default: its own)."
    )

    @field_validator("assumed_accuracy")
    @classmethod
    def _assumed_accuracy_ok(cls, value: float | None) -> float | None:
        if value is not None and not 0.0 < value < 1.0:
            raise ValueError(f"must be a probability in (0, 1), got {value}")
        return value


def action_probabilities(log_public: np.ndarray, accuracy: float, tie_rule: TieRule) -> np.ndarray:
    """``P[state, action]`` for a Bayesian agent acting on public belief ``log_public``.

    The agent draws a signal of the given accuracy, forms its posterior and acts by the
    tie rule; the result marginalises over its signal (see
    :func:`sim.rules.action_probabilities`).

    Returns:
        A ``(K, K)`` array whose row ``state`` is the distribution of the action.
    """
    return rules.action_probabilities(
        np.asarray(log_public, dtype=float), float(accuracy), TIE_RULES[tie_rule]
    )


def update_public_belief(
    log_public: np.ndarray, options: tuple[int, ...], accuracy: float, tie_rule: TieRule
) -> np.ndarray:
    """Public belief after announcements of (sorted) ``options`` made at one moment on
    ``log_public`` (see :func:`sim.rules.update_public_belief`)."""
    return rules.update_public_belief(
        log_public, np.array(options, dtype=np.int64), float(accuracy), TIE_RULES[tie_rule]
    )


def announcement_groups(announcements: Iterable[Announcement]) -> list[tuple[int, ...]]:
    """Options of the given announcements, grouped by sending time in time order.

    Within a group the options are sorted: their order carries no information.
    """
    groups: dict[float, list[int]] = {}
    for announcement in announcements:
        groups.setdefault(announcement.sent_time, []).append(announcement.option)
    return [tuple(sorted(groups[t])) for t in sorted(groups)]


class PublicBeliefs:
    """The public beliefs reachable from one prior, as a tree memoised over histories.

    Observers that share a prior, an attributed accuracy and a tie rule and have seen the
    same announcement groups hold the same public belief. In the sequential protocol on a
    complete graph every observer's history is a prefix of one history, so a society that
    shares one tree among its Bayesian agents computes each step once, not once per agent.

    Args:
        log_prior: Common log prior.
        accuracy: Signal accuracy attributed to the announcers.
        tie_rule: Tie rule attributed to the announcers.
    """

    ROOT = 0

    def __init__(self, log_prior: np.ndarray, accuracy: float, tie_rule: TieRule) -> None:
        self.accuracy = accuracy
        self.tie_rule: TieRule = tie_rule
        self._beliefs = [log_normalize(log_prior)]
        self._children: dict[tuple[int, tuple[int, ...]], int] = {}

    def step(self, node: int, options: tuple[int, ...]) -> int:
        """The node reached from ``node`` by one group of simultaneous announcements."""
        key = (node, options)
        child = self._children.get(key)
        if child is None:
            child = len(self._beliefs)
            self._beliefs.append(
                update_public_belief(self._beliefs[node], options, self.accuracy, self.tie_rule)
            )
            self._children[key] = child
        return child

    def node_after(self, groups: Iterable[tuple[int, ...]]) -> int:
        """The node reached from the root through ``groups``, in order."""
        node = self.ROOT
        for options in groups:
            node = self.step(node, options)
        return node

    def belief(self, node: int) -> np.ndarray:
        """Log public belief at ``node`` (normalised; do not modify)."""
        return self._beliefs[node]


def public_log_belief(
    log_prior: np.ndarray,
    announcements: Iterable[Announcement],
    accuracy: float,
    tie_rule: TieRule,
) -> np.ndarray:
    """Log public belief implied by first announcements (see the module docstring).

    Args:
        log_prior: Common log prior over the states.
        announcements: First announcements of distinct agents, in any order.
        accuracy: Signal accuracy attributed to the announcers.
        tie_rule: Tie rule attributed to the announcers.

    Returns:
        Normalised log belief over the states.
    """
    tree = PublicBeliefs(log_prior, accuracy, tie_rule)
    return tree.belief(tree.node_after(announcement_groups(announcements)))


def cascade_action(log_public: np.ndarray, accuracy: float, tie_rule: TieRule) -> int | None:
    """The action every next agent takes whatever its signal, or ``None`` if no cascade.

    Under ``"coin"`` an agent that would randomise for some signal is not in a cascade.
    """
    action = rules.cascade_action(
        np.asarray(log_public, dtype=float), float(accuracy), TIE_RULES[tie_rule]
    )
    return None if action < 0 else int(action)


class BayesianAgent(SocietyAgent):
    """Exact Bayesian learner (BHW); see the module docstring."""

    kind = "bayesian"
    config_model = BayesianGroup

    def configure(self, params: dict[str, float], group_config: GroupBase) -> None:
        assert isinstance(group_config, BayesianGroup)
        self.tie_rule: TieRule = group_config.tie_rule
        self.assumed_accuracy = group_config.assumed_accuracy or self.accuracy
        self.first_heard: dict[int, Announcement] = {}
        self._public: np.ndarray | None = None
        self._tree = self.model.public_beliefs(self.log_prior, self.assumed_accuracy, self.tie_rule)

    def receive(self, message: Announcement) -> bool:
        first = self.first_heard.get(message.sender)
        if first is None or message.sent_time < first.sent_time:
            self.first_heard[message.sender] = message
            self._public = None  # only a new first announcement changes the evidence
        return super().receive(message)

    def decide(self) -> bool:
        if self._public is None:
            groups = announcement_groups(self.first_heard.values())
            self._public = self._tree.belief(self._tree.node_after(groups))
        posterior = self._public + self.own_evidence()
        self._set_belief(posterior)
        # An agent that has chosen keeps its choice while tied; "own_signal" then prefers
        # the signal, "coin" randomizes.
        second = self.signal if self.tie_rule == "own_signal" else None
        return self._choose(posterior, self.choice, second)
