"""DeGroot agents: repeated averaging of neighbours' beliefs.

Announcements carry the sender's belief vector. On each update the agent replaces its
belief by a weighted average of its own and the latest beliefs heard from its neighbours:

    b_i <- self_weight * b_i + (1 - self_weight) * sum_j w_ij b_j / sum_j w_ij

with trust weights ``w_ij`` taken from the network's edge attribute ``weight`` (1 when
absent). Under the ``rounds`` protocol with instant delivery this is exactly
``x(t+1) = T x(t)`` with a row-stochastic ``T`` (DeGroot 1974), whose limit is
``(s · x(0)) 1`` for the left unit eigenvector ``s`` of ``T`` (Golub & Jackson 2010).
Its initial belief is its posterior after its own signal; it averages whenever it has
heard a belief (in the ``sequential`` protocol, once, over its predecessors' beliefs).
A neighbour announcing a choice without a belief (a non-DeGroot agent) is not averaged.
It announces its choice (the option of highest belief) but, since neighbours need its
belief, it re-broadcasts whenever the belief moved by more than ``tolerance`` (L1).

Main entry points: :class:`DeGrootAgent`, :func:`degroot_average`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from sim.agents.base import GroupBase, SocietyAgent
from sim.distributions import Quantity, check_support
from sim.rules import degroot_average, l1_distance


class DeGrootGroup(GroupBase):
    """A group of ``degroot`` agents."""

    agent: Literal["degroot"]
    self_weight: Quantity = Field(0.5, description="Weight on one's own current belief.")
    tolerance: float = Field(1e-3, ge=0.0, description="L1 belief change worth announcing.")

    @field_validator("self_weight")
    @classmethod
    def _self_weight_ok(cls, value: Quantity) -> Quantity:
        check_support(value, 0.0, 1.0, "a weight")
        return value

    def sampled_parameters(self) -> dict[str, Quantity]:
        return {"self_weight": self.self_weight}


class DeGrootAgent(SocietyAgent):
    """Averages neighbours' beliefs; see the module docstring."""

    kind = "degroot"
    config_model = DeGrootGroup
    shares_belief = True

    def configure(self, params: dict[str, float], group_config: GroupBase) -> None:
        assert isinstance(group_config, DeGrootGroup)
        self.self_weight = params["self_weight"]
        self.tolerance = group_config.tolerance
        self._announced: np.ndarray | None = None

    def decide(self) -> bool:
        shared = {j: m.belief for j, m in sorted(self.heard.items()) if m.belief is not None}
        if shared:
            trust = np.array([self.model.trust(j, self.index) for j in shared])
            stacked = np.vstack(list(shared.values()))
            self._belief = degroot_average(self._belief, stacked, trust, self.self_weight)
        changed = self._choose(self._belief, self.choice, self.signal)
        moved = (
            self._announced is None or l1_distance(self._belief, self._announced) > self.tolerance
        )
        if changed or moved:
            self._announced = self._belief
            return True
        return False
