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

This is the rule ``sim calibrate`` fits as its ``confidence`` model
(:class:`analysis.calibration.ConfidenceGapModel`); a test holds the two to the same
probabilities.

Main entry points: :class:`ConfidenceAgent`, :class:`ConfidenceGroup`, :func:`rival`.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field

from sim.agents.base import GroupBase, SocietyAgent
from sim.distributions import Quantity


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


def rival(held: int, counts: np.ndarray, stated: np.ndarray) -> int:
    """The rival option of the rule (``-1``: none).

    Args:
        held: The agent's current option.
        counts: Neighbours' latest announcements naming each option.
        stated: Mean confidence stated for each option (``1/K`` where none was stated).
    """
    best, best_count, best_stated = -1, 0, -math.inf
    for option in range(len(counts)):
        if option == held or counts[option] == 0:
            continue
        if counts[option] > best_count or (
            counts[option] == best_count and stated[option] > best_stated
        ):
            best, best_count, best_stated = option, int(counts[option]), float(stated[option])
    return best


def switch_probability(gap: float, slope: float, offset: float) -> float:
    """``sigmoid(slope * (gap - offset))``, computed without overflow."""
    z = slope * (gap - offset)
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


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
        stated = self.stated_confidences()
        other = rival(held, self.heard_counts(), stated)
        choice = held
        if other >= 0:
            p = switch_probability(stated[other] - self._stated, self.gap_slope, self.gap_offset)
            if self.agent_rng.random() < p:
                choice, self._stated = other, float(stated[other])
        self.choice = choice
        belief = np.full(self.options, (1.0 - self._stated) / (self.options - 1))
        belief[choice] = self._stated
        self._belief = belief
        return choice != previous
