"""Social agents: every neighbour's announcement counts as an independent signal.

The agent's log belief is its log prior, plus the log-likelihood of its own signal, plus
``weight`` for each neighbour whose latest announcement names the option:

    log b(k) = log prior(k) + log P(signal | k) + weight * n_k

``weight = 0`` ignores others entirely; ``weight = log(p / (1 - p))`` treats a neighbour
as exactly as informative as a private signal of accuracy ``p`` (naive, "persuasion
bias" learning); large weights make a conformist. Ties keep the current choice, then the
own signal.

Main entry points: :class:`SocialAgent`, :func:`social_log_posterior`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sim.agents.base import GroupBase, SocietyAgent
from sim.distributions import Quantity
from sim.rules import social_log_posterior


class SocialGroup(GroupBase):
    """A group of ``social`` agents."""

    agent: Literal["social"]
    weight: Quantity = Field(1.0, description="Log-evidence per observed announcement.")

    def sampled_parameters(self) -> dict[str, Quantity]:
        return {"weight": self.weight}


class SocialAgent(SocietyAgent):
    """Counts announcements as signals of fixed weight; see the module docstring."""

    kind = "social"
    config_model = SocialGroup

    def configure(self, params: dict[str, float], group_config: GroupBase) -> None:
        self.weight = params["weight"]

    def decide(self) -> bool:
        posterior = social_log_posterior(
            self.log_prior, self.own_evidence(), self.heard_counts(), self.weight
        )
        self._set_belief(posterior)
        return self._choose(posterior, self.choice, self.signal)
