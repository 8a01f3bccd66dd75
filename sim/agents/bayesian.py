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
:func:`public_log_belief`, :func:`cascade_action`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from sim.agents.base import Announcement, GroupBase, SocietyAgent, tied_best
from sim.world import log_normalize, signal_log_likelihood

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
    tie rule; the result marginalises over its signal.

    Args:
        log_public: Log public belief over the K states (need not be normalised).
        accuracy: Accuracy of the acting agent's signal.
        tie_rule: ``"coin"`` or ``"own_signal"``.

    Returns:
        A ``(K, K)`` array whose row ``state`` is the distribution of the action.
    """
    k = len(log_public)
    action_given_signal = np.zeros((k, k))  # [signal, action]
    for s in range(k):
        best = tied_best(log_public + signal_log_likelihood(s, accuracy, k))
        if tie_rule == "own_signal" and s in best:
            action_given_signal[s, s] = 1.0
        else:
            action_given_signal[s, best] = 1.0 / len(best)
    signal_given_state = np.full((k, k), (1.0 - accuracy) / (k - 1))
    np.fill_diagonal(signal_given_state, accuracy)
    return signal_given_state @ action_given_signal


def public_log_belief(
    log_prior: np.ndarray,
    announcements: list[Announcement],
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
    belief = log_normalize(log_prior)
    ordered = sorted(announcements, key=lambda a: (a.sent_time, a.sender))
    i = 0
    while i < len(ordered):
        # Announcements made at the same moment were made on the same public belief.
        j = i
        while j < len(ordered) and ordered[j].sent_time == ordered[i].sent_time:
            j += 1
        likelihood = action_probabilities(belief, accuracy, tie_rule)
        update = np.zeros_like(belief)
        for announcement in ordered[i:j]:
            column = likelihood[:, announcement.option]
            # An action no Bayesian agent would take carries no information.
            if np.all(column > 0):
                update += np.log(column)
        belief = log_normalize(belief + update)
        i = j
    return belief


def cascade_action(log_public: np.ndarray, accuracy: float, tie_rule: TieRule) -> int | None:
    """The action every next agent takes whatever its signal, or ``None`` if no cascade.

    Under ``"coin"`` an agent that would randomise for some signal is not in a cascade.
    """
    certain = action_probabilities(log_public, accuracy, tie_rule) >= 1.0 - 1e-12
    actions = np.flatnonzero(np.all(certain, axis=0))
    return int(actions[0]) if len(actions) == 1 else None


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

    def receive(self, message: Announcement) -> bool:
        first = self.first_heard.get(message.sender)
        if first is None or message.sent_time < first.sent_time:
            self.first_heard[message.sender] = message
            self._public = None  # only a new first announcement changes the evidence
        return super().receive(message)

    def decide(self) -> bool:
        if self._public is None:
            self._public = public_log_belief(
                self.log_prior,
                list(self.first_heard.values()),
                self.assumed_accuracy,
                self.tie_rule,
            )
        posterior = self._set_belief(self._public + self.own_evidence())
        # An agent that has chosen keeps its choice while tied; "own_signal" then prefers
        # the signal, "coin" randomizes.
        preferred = [self.choice, self.signal] if self.tie_rule == "own_signal" else [self.choice]
        return self._choose(posterior, preferred)
