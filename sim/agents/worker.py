"""Worker agents: members of an organisation that execute or check subtasks.

A ``worker`` group is staffed by one of two roles:

``role = "worker"``
    executes subtasks; each execution with correct inputs comes out wrong with
    probability ``error_rate`` (the worker's skill; a number or a distribution, drawn once
    per agent like ``signal_accuracy``).
``role = "verifier"``
    checks results; a wrong result is flagged with probability ``recall`` (a correct one
    is never flagged).

Which subtask they work on, and when, is the ``planner_worker`` protocol's business
(:mod:`sim.protocols.planner`); the agent holds its skill and its public state. Its
``choice`` says whether its latest output was right: the truth if its latest result
(worker) or verdict (verifier) was correct, the next option after the truth if not, so
the summary's ``accuracy`` is the share of members whose latest output was right. Under
any other protocol a worker holds what its own signal favours.

Skill lives in the population rather than in ``[protocol]`` so that it can differ
between members (a distribution, or several groups: juniors and seniors) like any other
individual trait.

Main entry points: :class:`WorkerAgent`, :class:`WorkerGroup`, :class:`Handoff`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from sim.agents.base import Announcement, GroupBase, Role, SocietyAgent
from sim.distributions import Quantity, check_support
from sim.rules import output_option


class WorkerGroup(GroupBase):
    """A group of ``worker`` agents (executors or verifiers)."""

    agent: Literal["worker"]
    role: Role = Field(
        "worker", description='"worker" executes subtasks; "verifier" checks results.'
    )

    @field_validator("role")
    @classmethod
    def _planner_role(cls, value: Role) -> Role:
        if value not in ("worker", "verifier"):
            raise ValueError(f"a worker's role is 'worker' or 'verifier', got {value!r}")
        return value

    error_rate: Quantity = Field(
        0.1,
        description="Workers: probability that one execution of a subtask with correct "
        "inputs comes out wrong.",
    )
    recall: Quantity = Field(
        0.9, description="Verifiers: probability that a wrong result is flagged."
    )

    @field_validator("error_rate", "recall")
    @classmethod
    def _skill_is_probability(cls, value: Quantity) -> Quantity:
        check_support(value, 0.0, 1.0, "a probability")
        return value

    def sampled_parameters(self) -> dict[str, Quantity]:
        if self.role == "worker":
            return {"error_rate": self.error_rate}
        return {"recall": self.recall}


@dataclass(frozen=True, slots=True)
class Handoff:
    """A message of the ``planner_worker`` protocol: an assignment, a submission for
    checking, a redo request or a report of a result, travelling between members.

    Attributes:
        sender: Member who sent it.
        option: The result as an option (the truth if ``correct``), for the event log.
        sent_time: When it was sent.
        correct: Whether the result it carries is right (True for messages that carry no
            result).
        kind: What it is (the protocol's code: assignment, submission, redo, report).
        subtask: The subtask it is about.
        arrive: Called with this handoff when it reaches its receiver.
    """

    sender: int
    option: int
    sent_time: float
    correct: bool
    kind: int
    subtask: int
    arrive: Callable[[Handoff], None]


class WorkerAgent(SocietyAgent):
    """A member who executes (``role = "worker"``) or checks (``"verifier"``) subtasks;
    see the module docstring."""

    kind = "worker"
    config_model = WorkerGroup

    def configure(self, params: dict[str, float], group_config: GroupBase) -> None:
        assert isinstance(group_config, WorkerGroup)
        self.role: Role = group_config.role
        self.error_rate = params.get("error_rate", 0.0)
        self.recall = params.get("recall", 0.0)

    def decide(self) -> bool:
        # Outside planner_worker a worker has no subtask: it holds what its signal favours.
        if self.choice is not None:
            return False
        return self._choose(self.log_prior + self.own_evidence(), self.signal)

    def receive(self, message: Announcement | Handoff) -> bool:
        """Take in a message; a handoff wakes whoever waits for it (never this agent's
        rule)."""
        if isinstance(message, Handoff):
            message.arrive(message)
            return False
        return super().receive(message)

    def record_output(self, correct: bool, truth: int) -> None:
        """Make ``choice`` say whether the latest output was right (see the module
        docstring); the belief is the point mass on it."""
        self.choice = output_option(correct, truth, self.options)
        self._belief = np.zeros(self.options)
        self._belief[self.choice] = 1.0
