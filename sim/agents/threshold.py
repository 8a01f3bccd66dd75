"""Threshold agents: adopt an option once enough of what they hear favours it.

On each update, if at least a
fraction ``threshold`` of its neighbours' latest announcements name some option, it adopts
the most announced such option (ties keep the current choice). Until that happens it
holds the option its own signal favours. Majority rule is
``threshold = 0.5``; ``threshold = 1`` needs unanimity of what was heard. Its belief is the
point mass on its choice.

Main entry points: :class:`ThresholdAgent`, :func:`threshold_candidates`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from sim.agents.base import GroupBase, SocietyAgent
from sim.distributions import Quantity, check_support
from sim.rules import threshold_candidates


class ThresholdGroup(GroupBase):
    """A group of ``threshold`` agents."""

    agent: Literal["threshold"]
    threshold: Quantity = Field(0.5, description="Fraction of announcements needed to adopt.")

    @field_validator("threshold")
    @classmethod
    def _fraction(cls, value: Quantity) -> Quantity:
        check_support(value, 0.0, 1.0, "a fraction")
        return value

    def sampled_parameters(self) -> dict[str, Quantity]:
        return {"threshold": self.threshold}


class ThresholdAgent(SocietyAgent):
    """Adopts what a large enough share of neighbours announce; see the module docstring."""

    kind = "threshold"
    config_model = ThresholdGroup

    def configure(self, params: dict[str, float], group_config: GroupBase) -> None:
        self.threshold = params["threshold"]

    def decide(self) -> bool:
        candidates = threshold_candidates(self.heard_counts(), self.threshold)
        if len(candidates) > 0:
            changed = self._choose_from(candidates)
        elif self.choice is None:
            changed = self._choose(self.log_prior + self.own_evidence(), self.signal)
        else:
            return False
        self._belief = np.eye(self.options)[self.choice]
        return changed

    def _choose_from(self, candidates: np.ndarray) -> bool:
        scores = np.full(self.options, -np.inf)
        scores[candidates] = 0.0
        return self._choose(scores, self.choice)
