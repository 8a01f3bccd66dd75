"""What every agent kind shares: its group configuration, messages, and the agent base class.

An agent holds a private signal, a belief (a probability vector over the world's options)
and a current ``choice`` (its public announcement, ``None`` before it first acts). It
remembers the latest announcement it has heard from each neighbour. Subclasses implement
one rule in :meth:`SocietyAgent.decide`; the society decides *when* an agent decides and
broadcasts (that is the protocol's job), never the agent itself.

Main entry points: :class:`SocietyAgent`, :class:`GroupBase`, :class:`Announcement`,
and the rules' kernels in :mod:`sim.rules`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

import mesa
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sim.channels import ChannelOverride
from sim.distributions import Quantity, check_support
from sim.rules import choose, probabilities, signal_log_likelihood
from sim.streams import Streams

if TYPE_CHECKING:
    from sim.society import Society


Role = Literal["member", "critic", "devils_advocate", "worker", "verifier"]
"""A group's ``role``: debate roles (member, critic, devil's advocate) and planner-worker
roles (worker, verifier)."""


class GroupBase(BaseModel):
    """Keys every ``[[population.groups]]`` entry accepts, whatever its agent kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent: str
    share: float = Field(1.0, gt=0.0, le=1.0, description="Fraction of the population.")
    role: Role = Field(
        "member",
        description="Role in the protocol: in a debate a critic argues against the current "
        "majority and a devil's advocate defends a random minority answer (see "
        "sim.protocols.debate); worker and verifier are the planner_worker roles of "
        "worker agents (see sim.agents.worker).",
    )
    name: str | None = Field(None, description="Label used in outputs (default: the kind).")
    signal_accuracy: Quantity | None = Field(
        None, description="Overrides world.signal_accuracy for this group."
    )
    prior: tuple[float, ...] | None = Field(
        None, description="Prior over the options (default uniform); must sum to 1."
    )
    channels: ChannelOverride | None = Field(
        None, description="Overrides [channels] for messages this group's members send."
    )

    @field_validator("signal_accuracy")
    @classmethod
    def _probability(cls, value: Quantity | None) -> Quantity | None:
        if value is not None:
            check_support(value, 0.0, 1.0, "a probability")
        return value

    @field_validator("prior")
    @classmethod
    def _distribution(cls, value: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if value is not None:
            if any(p <= 0 for p in value):
                raise ValueError("every prior probability must be > 0")
            if abs(sum(value) - 1.0) > 1e-6:
                raise ValueError(f"must sum to 1, sums to {sum(value):g}")
        return value

    def sampled_parameters(self) -> dict[str, Quantity]:
        """Per-agent parameters of this kind that may be given as distributions."""
        return {}


@dataclass(frozen=True, slots=True)
class Announcement:
    """What an agent broadcasts: its choice and, for belief-sharing rules, its belief.

    ``confidence`` (the stated probability that ``option`` is right) and ``text`` (a short
    message) are filled in by agents that state them; ``evidence`` is the option the
    speaker's private signal names, when it cites it (debates). Rules that do not use
    them ignore them.
    """

    sender: int
    option: int
    sent_time: float
    belief: np.ndarray | None = None
    confidence: float | None = None
    text: str | None = None
    evidence: int | None = None


class SocietyAgent(mesa.Agent):
    """Base class of all agents in a :class:`~sim.society.Society`.

    Args:
        model: The society.
        index: Position of the agent in the society (node of the network), 0..n-1.
        group: Index of the agent's population group.
        signal: The agent's private signal.
        accuracy: Accuracy of that signal.
        log_prior: Log prior over the options.
        streams: The run's streams (kept for subclasses that need a stream of their own).
        params: The agent's own values of the group's sampled parameters.
        group_config: The group's configuration.
    """

    kind: ClassVar[str]
    config_model: ClassVar[type[GroupBase]]
    shares_belief: ClassVar[bool] = False
    """Whether announcements carry the belief vector (DeGroot-style averaging)."""
    reads_confidence: ClassVar[bool] = False
    """Whether the rule reads the confidence others state (announcements then carry it)."""
    deliberates: ClassVar[bool] = False
    """Whether the agent's decisions take time and go through the society's
    :class:`~sim.deliberation.Deliberation` (LLM-backed agents) instead of :meth:`decide`."""

    model: Society

    def __init__(
        self,
        model: Society,
        index: int,
        group: int,
        signal: int,
        accuracy: float,
        log_prior: np.ndarray,
        streams: Streams,
        params: dict[str, float],
        group_config: GroupBase,
    ) -> None:
        super().__init__(model)
        self.index = index
        self.group = group
        self.signal = int(signal)
        self.accuracy = float(accuracy)
        self.log_prior = log_prior
        self._streams = streams
        self.options = len(log_prior)
        self.choice: int | None = None
        self.heard: dict[int, Announcement] = {}
        self._counts = np.zeros(self.options, dtype=np.int64)
        self._own_evidence = signal_log_likelihood(self.signal, self.accuracy, self.options)
        self._belief = probabilities(log_prior + self._own_evidence)
        self.configure(params, group_config)

    def configure(self, params: dict[str, float], group_config: GroupBase) -> None:
        """Store kind-specific parameters. Subclasses override it."""

    @property
    def agent_rng(self) -> np.random.Generator:
        """The stream of the agents' random choices (tie-breaking, picking a neighbour).

        One stream shared by all agents, drawn from in event order: the fast engine draws
        from the same stream in the same order, so both engines make the same choices.
        """
        return self.model.agents_rng

    @property
    def belief(self) -> np.ndarray:
        """Current belief: a probability vector over the options."""
        return self._belief

    @property
    def confidence(self) -> float | None:
        """Stated probability that the current choice is right (None before choosing).

        For stylized rules, the belief in the chosen option."""
        return None if self.choice is None else float(self._belief[self.choice])

    @property
    def message(self) -> str | None:
        """Text sent along with announcements (None: the agent says nothing in words)."""
        return None

    def own_evidence(self) -> np.ndarray:
        """Log-likelihood of the agent's own signal for each state (do not modify)."""
        return self._own_evidence

    def receive(self, message: Announcement) -> bool:
        """Take in an announcement delivered by a channel.

        Channels may reorder messages (random latencies), so an announcement older than
        the one already heard from the same sender is ignored, as a receiver numbering
        messages would.

        Returns:
            Whether the announcement was newer than what was heard before.
        """
        previous = self.heard.get(message.sender)
        if previous is not None:
            if message.sent_time < previous.sent_time:
                return False
            self._counts[previous.option] -= 1
        self.heard[message.sender] = message
        self._counts[message.option] += 1
        return True

    def forget(self) -> None:
        """Forget every announcement heard (Delphi feedback replaces them)."""
        self.heard.clear()
        self._counts[:] = 0

    def heard_confidence(self) -> np.ndarray:
        """Mean confidence stated for each option by the neighbours whose latest
        announcement names it (``1/K`` for an announcement that states none); NaN for an
        option nobody names."""
        totals = np.zeros(self.options)
        for sender in sorted(self.heard):  # summed in a fixed order: the senders'
            stated = self.heard[sender].confidence
            option = self.heard[sender].option
            totals[option] += 1.0 / self.options if stated is None else stated
        counts = self._counts
        return np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)

    def heard_counts(self) -> np.ndarray:
        """How many neighbours' latest announcements name each option (do not modify)."""
        return self._counts

    def decide(self) -> bool:
        """Apply the agent's rule to what it has heard; update ``belief`` and ``choice``.

        Returns:
            Whether the agent has something new to announce (by default: its choice changed,
            or it is choosing for the first time).
        """
        raise NotImplementedError

    def _set_belief(self, log_posterior: np.ndarray) -> None:
        """Set ``belief`` from an unnormalised log posterior (left as it is).

        The rules choose on the unnormalised log posterior: normalising shifts every
        option's score alike, so it cannot change which is best, and the fast engine
        normalises a belief only when it is read."""
        self._belief = probabilities(log_posterior)

    def _choose(self, scores: np.ndarray, first: int | None, second: int | None = None) -> bool:
        """Set ``choice`` to the best of ``scores``; ties keep ``first``, then ``second``
        (see :func:`sim.rules.choose`)."""
        previous = self.choice
        self.choice = choose(
            scores,
            -1 if first is None else first,
            -1 if second is None else second,
            self.model.agents_rng,
        )
        return self.choice != previous

    def __repr__(self) -> str:
        return f"{type(self).__name__}(index={self.index}, choice={self.choice})"
