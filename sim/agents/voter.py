"""Voter agents: copy the announcement of a random neighbour.

On each update the agent picks one neighbour uniformly among those it has heard from and
adopts that neighbour's latest announcement; before it has heard anyone it holds the
option its own signal favours. With Poisson wake-ups (``asynchronous`` protocol, ``wake_on_message =
false``) this is the classical voter model: on a connected graph the probability that the
society ends on an option equals that option's initial (degree-weighted, on irregular
graphs) share. Its belief is the point mass on its choice.

Main entry point: :class:`VoterAgent`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from sim.agents.base import GroupBase, SocietyAgent


class VoterGroup(GroupBase):
    """A group of ``voter`` agents."""

    agent: Literal["voter"]


class VoterAgent(SocietyAgent):
    """Copies a uniformly chosen neighbour; see the module docstring."""

    kind = "voter"
    config_model = VoterGroup

    def decide(self) -> bool:
        previous = self.choice
        if self.heard:
            senders = sorted(self.heard)
            self.choice = self.heard[senders[self.agent_rng.integers(0, len(senders))]].option
        elif previous is None:
            self._choose(self.log_prior + self.own_evidence(), self.signal)
        self._belief = np.eye(self.options)[self.choice]
        return self.choice != previous
