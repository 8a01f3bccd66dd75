"""Dirichlet agents: answers sampled from a Dirichlet belief that counts what others say.

The Bayesian stand-in of Choi, Zhu & Li (2025, "Debate or Vote", arXiv 2508.17536). An
agent holds Dirichlet parameters ``alpha`` over the K options: ``concentration`` on each
option, plus ``signal_weight`` on the option its private signal names. Its belief is the
Dirichlet mean ``alpha / sum(alpha)``. When it speaks it *samples* its answer from that
belief (so its answer is a draw of what it thinks, as an LLM's sampled reply is) and
states the belief in that answer as its confidence. When it revises, every announcement
heard since its last revision adds 1 to ``alpha`` of the option announced (and
``evidence_weight`` to the option the speaker's cited evidence names).

Because answers are drawn from beliefs, a neighbour's answer is on average the neighbour's
belief: when everyone hears everyone and revises on the same number of answers, the
average belief in the truth is a martingale over rounds (a Pólya urn). Debate then
cannot raise the expected belief in the truth; whatever it gains over the opening vote
comes from aggregation (Choi, Zhu & Li's result, reproduced in ``debate_herding.toml``).

Main entry points: :class:`DirichletAgent`, :class:`DirichletGroup`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from sim.agents.base import Announcement, GroupBase, SocietyAgent
from sim.distributions import Quantity, check_support
from sim.rules import dirichlet_mean_into, sample_option


class DirichletGroup(GroupBase):
    """A group of ``dirichlet`` agents."""

    agent: Literal["dirichlet"]
    concentration: Quantity = Field(1.0, description="Prior Dirichlet count on each option (> 0).")
    signal_weight: Quantity = Field(
        2.0, description="Dirichlet count added to the option the private signal names (>= 0)."
    )
    evidence_weight: Quantity = Field(
        0.0, description="Count added to the option a heard speaker's cited evidence names."
    )

    @field_validator("concentration")
    @classmethod
    def _positive(cls, value: Quantity) -> Quantity:
        check_support(value, 1e-12, float("inf"), "a positive count")
        return value

    @field_validator("signal_weight", "evidence_weight")
    @classmethod
    def _non_negative(cls, value: Quantity) -> Quantity:
        check_support(value, 0.0, float("inf"), "a non-negative count")
        return value

    def sampled_parameters(self) -> dict[str, Quantity]:
        return {
            "concentration": self.concentration,
            "signal_weight": self.signal_weight,
            "evidence_weight": self.evidence_weight,
        }


class DirichletAgent(SocietyAgent):
    """Samples its answer from a Dirichlet belief; see the module docstring."""

    kind = "dirichlet"
    config_model = DirichletGroup
    reads_confidence = False

    def configure(self, params: dict[str, float], group_config: GroupBase) -> None:
        self.alpha = np.full(self.options, params["concentration"])
        self.alpha[self.signal] += params["signal_weight"]
        self.evidence_weight = params["evidence_weight"]
        self._counted: set[tuple[int, float]] = set()
        self._pending: list[Announcement] = []
        self._belief = np.empty(self.options)
        dirichlet_mean_into(self._belief, self.alpha)

    @property
    def confidence(self) -> float | None:
        return None if self.choice is None else float(self._belief[self.choice])

    def receive(self, message: Announcement) -> bool:
        fresh = super().receive(message)
        key = (message.sender, message.sent_time)
        if key not in self._counted:  # every announcement counts once, even a late one
            self._counted.add(key)
            self._pending.append(message)
        return fresh

    def decide(self) -> bool:
        for message in self._pending:
            self.alpha[message.option] += 1.0
            if message.evidence is not None and self.evidence_weight:
                self.alpha[message.evidence] += self.evidence_weight
        self._pending.clear()
        self._belief = np.empty(self.options)
        dirichlet_mean_into(self._belief, self.alpha)
        previous = self.choice
        self.choice = sample_option(self._belief, self.agent_rng)
        return self.choice != previous
