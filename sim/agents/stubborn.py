"""Stubborn agents (zealots): they never change their announcement.

``option = "signal"`` (default) makes the agent hold to its own signal; an integer makes
it a zealot for that option whatever its signal. Its belief is the point mass on its
choice.

Main entry point: :class:`StubbornAgent`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from sim.agents.base import GroupBase, SocietyAgent


class StubbornGroup(GroupBase):
    """A group of ``stubborn`` agents."""

    agent: Literal["stubborn"]
    option: int | Literal["signal"] = Field(
        "signal", description='The option held forever, or "signal" for one\'s own signal.'
    )


class StubbornAgent(SocietyAgent):
    """Never changes; see the module docstring."""

    kind = "stubborn"
    config_model = StubbornGroup

    def configure(self, params: dict[str, float], group_config: GroupBase) -> None:
        assert isinstance(group_config, StubbornGroup)
        self.held = self.signal if group_config.option == "signal" else group_config.option

    def decide(self) -> bool:
        if self.choice is not None:
            return False
        self.choice = self.held
        self._belief = np.eye(self.options)[self.held]
        return True
