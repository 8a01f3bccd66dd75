"""LLM-backed agents: a language model decides, from the same information a stylized agent has.

An ``llm`` agent sits in a population group like any other kind, under any protocol. When
the protocol lets it act, the society's :class:`~sim.deliberation.Deliberation` renders its
prompt (the group's templates, see :mod:`sim.prompts`) from the task's question, the
agent's private evidence and the latest announcements it has heard, and sends the request
together with every other request that became ready at the same simulated moment. The
answer (an option, a confidence and a short message) arrives ``latency`` simulated time
later; the agent then holds that option and announces it with its confidence and message.

An unusable reply, a failed request or one refused by the budget is an *abstention*: the
agent keeps its previous choice (none, on its first turn), the abstention is counted and
recorded, and the run goes on.

Its belief is ``confidence`` on the chosen option and the rest spread evenly over the
others (before its first answer: the posterior from its own signal, as a stylized agent).

Each group names a ``standin``: the stylized rule that replaces it in ``sim estimate``
(and that ``sim calibrate`` fits to its recorded decisions). The stand-in's sampled
parameters are drawn in real runs too, so both runs see the same random numbers.

Main entry points: :class:`LLMGroup`, :class:`LLMAgent`.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, field_validator

from sim.agents.base import GroupBase, SocietyAgent
from sim.agents.bayesian import BayesianGroup
from sim.agents.confidence import ConfidenceGroup
from sim.agents.degroot import DeGrootGroup
from sim.agents.social import SocialGroup
from sim.agents.stubborn import StubbornGroup
from sim.agents.threshold import ThresholdGroup
from sim.agents.voter import VoterGroup
from sim.distributions import Quantity, check_support
from sim.llm import ChatResult
from sim.prompts import DEFAULT_SYSTEM, DEFAULT_USER, check_template

StandinGroup = (
    BayesianGroup
    | SocialGroup
    | DeGrootGroup
    | ThresholdGroup
    | VoterGroup
    | StubbornGroup
    | ConfidenceGroup
)
"""The kinds that can stand in for an ``llm`` group: stylized rules that answer from the
same evidence and announcements (also members of :data:`sim.agents.GroupConfig`)."""

StandinConfig = Annotated[StandinGroup, Field(discriminator="agent")]
"""A stylized group configuration used as an ``llm`` group's stand-in (its ``share`` and
the keys every group has are taken from the ``llm`` group)."""


class LLMGroup(GroupBase):
    """A group of ``llm`` agents: prompts, persona, sampling overrides and stand-in."""

    agent: Literal["llm"]
    persona: str = Field(
        "", description="Instructions that set this group apart ({persona} in the templates)."
    )
    system: str = Field(DEFAULT_SYSTEM, description="System prompt template.")
    user: str = Field(DEFAULT_USER, description="User prompt template.")
    model: str | None = Field(None, description="Model for this group (default: llm.backend's).")
    temperature: float | None = Field(
        None, ge=0, le=2, description="Sampling temperature (default: llm.backend's)."
    )
    max_tokens: int | None = Field(
        None, ge=1, description="Completion token limit (default: llm.backend's)."
    )
    max_messages: int = Field(
        20, ge=0, description="Most neighbours' announcements shown in a prompt (latest first)."
    )
    latency: Quantity = Field(
        0.0, description="Simulated time from a request to its answer (a value or distribution)."
    )
    standin: StandinConfig = Field(
        SocialGroup(agent="social"),
        description="Stylized rule that stands in for this group in `sim estimate`.",
    )

    @field_validator("system", "user")
    @classmethod
    def _template(cls, value: str) -> str:
        return check_template(value)

    @field_validator("latency")
    @classmethod
    def _non_negative(cls, value: Quantity) -> Quantity:
        check_support(value, 0.0, float("inf"), "a duration")
        return value

    def sampled_parameters(self) -> dict[str, Quantity]:
        return self.standin.sampled_parameters()

    def standin_group(self) -> GroupBase:
        """The stand-in as a full group: its rule with this group's share, name, signal
        accuracy, prior and channels."""
        shared = {
            key: getattr(self, key) for key in ("share", "signal_accuracy", "prior", "channels")
        }
        return self.standin.model_copy(update=shared | {"name": self.name or "llm"})


class LLMAgent(SocietyAgent):
    """An agent whose decisions come from a language model; see the module docstring."""

    kind = "llm"
    config_model = LLMGroup
    deliberates = True
    reads_confidence = True

    def configure(self, params: dict[str, float], group_config: GroupBase) -> None:
        self._stated: float | None = None
        self._message: str | None = None
        self.asked = 0
        """Requests made for this agent so far."""
        self.abstentions = 0
        """Requests that gave no usable answer."""
        self.last_prompt: str | None = None
        self.last_response: str | None = None

    @property
    def confidence(self) -> float | None:
        return self._stated

    @property
    def message(self) -> str | None:
        return self._message

    def decide(self) -> bool:
        raise TypeError("an llm agent decides through the society's deliberation")

    def apply(self, result: ChatResult, labels: tuple[str, ...]) -> bool:
        """Take in the answer to this agent's request.

        Args:
            result: The request's outcome.
            labels: Option labels of the request, in option order.

        Returns:
            Whether the agent has something new to announce: a usable answer naming a
            different option than before (or its first).
        """
        self.last_response = result.text or result.error
        if result.answer is None:
            self.abstentions += 1
            return False
        previous = self.choice
        self.choice = labels.index(str(result.answer.answer))
        self._stated = float(result.answer.confidence)
        self._message = result.answer.message or None
        spread = (1.0 - self._stated) / (self.options - 1)
        belief = np.full(self.options, spread)
        belief[self.choice] = self._stated
        self._belief = belief
        return self.choice != previous
