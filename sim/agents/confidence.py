"""Confidence-gap agents: switch when a rival answer sounds more confident than oneself.

A stylized conformity rule for debates, after the observation that LLM agents give in to
peers who *sound* sure (Cho, Guntuku & Ungar 2025). Switching depends on the gap between
the agent's own stated confidence and the confidence its peers state, not only on how
many of them there are. At each update let

* ``p`` be the agent's current choice (the option its signal names, at its first
  update) and ``c`` its stated confidence (its signal accuracy until it switches);
* ``m`` the *rival*: among the options other than ``p`` that some neighbour's latest
  announcement names, the most announced one (ties: the higher mean stated confidence,
  then the lower index), and ``c_m`` the mean confidence stated for it (``1/K`` for
  announcements that state none).

With no rival the agent keeps ``p``. Otherwise it switches to ``m`` with probability
``sigmoid(gap_slope * (c_m - c - gap_offset))``, drawn from the agents' stream, and then
states ``c_m`` itself (it was persuaded by that confidence); otherwise it keeps ``p`` and
``c``. Its belief is ``c`` on its choice and the rest spread evenly. ``gap_slope = 0``
flips a fair coin whenever a rival exists; a large ``gap_slope`` switches exactly when
the rival's confidence exceeds one's own by more than ``gap_offset``.

The rule is written once in :mod:`sim.rules` (:func:`~sim.rules.confidence_gap_choice`),
which the fast engine calls too. This is the rule ``sim calibrate`` fits as its ``confidence`` model
(:class:`analysis.calibration.ConfidenceGapModel`); a test holds the two to the same
probabilities.

Main entry points: :class:`ConfidenceAgent`, :class:`ConfidenceGroup`, :func:`rival`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from sim.agents.base import GroupBase, SocietyAgent
from sim.distributions import Quantity
from sim.rules import confidence_gap_choice, rival, stated_belief_into, switch_probability

__all__ = ["ConfidenceAgent", "ConfidenceGroup", "rival", "switch_probability"]


class ConfidenceGroup(GroupBase):
    """A group of ``confidence`` agents."""

    agent: Literal["confidence"]
    gap_slope: Quantity = Field(
        10.0, description="How sharply switching follows the confidence gap (>= 0)."
    )
    gap_offset: Quantity = Field(
        0.0, description="Confidence gap at which switching is a coin flip."
    )

    def sampled_parameters(self) -> dict[str, Quantity]:
        return {"gap_slope": self.gap_slope, "gap_offset": self.gap_offset}


class ConfidenceAgent(SocietyAgent):
    """Switches toward confident rivals; see the module docstring."""

    kind = "confidence"
    config_model = ConfidenceGroup
    reads_confidence = True

    def configure(self, params: dict[str, float], group_config: GroupBase) -> None:
        self.gap_slope = params["gap_slope"]
        self.gap_offset = params["gap_offset"]
        self._stated = self.accuracy

    @property
    def confidence(self) -> float | None:
        return None if self.choice is None else self._stated

    def stated_confidences(self) -> np.ndarray:
        """Mean confidence stated for each option by the neighbours naming it (``1/K``
        for announcements without one, and where nobody names the option)."""
        return np.nan_to_num(self.heard_confidence(), nan=1.0 / self.options)

    def decide(self) -> bool:
        previous = self.choice
        held = self.signal if previous is None else previous
        choice, self._stated = confidence_gap_choice(
            held,
            self.heard_counts(),
            self.stated_confidences(),
            self._stated,
            self.gap_slope,
            self.gap_offset,
            self.agent_rng,
        )
        self.choice = choice
        belief = np.empty(self.options)
        stated_belief_into(belief, choice, self._stated)
        self._belief = belief
        return choice != previous
