"""What every agent kind shares: its group configuration, messages, and the agent base class.

An agent holds a private signal, a belief (a probability vector over the world's options)
and a current ``choice`` (its public announcement, ``None`` before it first acts). It
remembers the latest announcement it has heard from each neighbour. Subclasses implement
one rule in :meth:`SocietyAgent.decide`; the society decides *when* an agent decides and
broadcasts (that is the protocol's job), never the agent itself.

Main entry points: :class:`SocietyAgent`, :class:`GroupBase`, :class:`Announcement`,
:func:`tied_best`, :func:`break_tie`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import mesa
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sim.channels import ChannelOverride
from sim.distributions import Quantity, check_support
from sim.streams import Streams
from sim.world import log_normalize, probabilities, signal_log_likelihood

if TYPE_CHECKING:
    from sim.society import Society

# Scores closer than this are treated as tied: exact Bayesian ties (an agent whose signal
# exactly offsets the public evidence) must not be broken by rounding noise.
TIE_TOLERANCE = 1e-9


class GroupBase(BaseModel):
    """Keys every ``[[population.groups]]`` entry accepts, whatever its agent kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent: str
    share: float = Field(1.0, gt=0.0, le=1.0, description="Fraction of the population.")
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
    """What an agent broadcasts: its choice and, for belief-sharing rules, its belief."""

    sender: int
    option: int
    sent_time: float
    belief: np.ndarray | None = None


def tied_best(scores: np.ndarray) -> np.ndarray:
    """Indices whose score is within :data:`TIE_TOLERANCE` of the maximum."""
    return np.flatnonzero(scores >= np.max(scores) - TIE_TOLERANCE)


def break_tie(
    candidates: np.ndarray, preferred: Sequence[int | None], rng: np.random.Generator
) -> int:
    """Pick one of ``candidates``: the first preferred option among them, else uniformly.

    Args:
        candidates: Tied options (non-empty).
        preferred: Options to keep if tied, in order of preference (``None`` is skipped).
        rng: The agent's own stream, used only when no preferred option is tied.
    """
    if len(candidates) == 1:
        return int(candidates[0])
    for option in preferred:
        if option is not None and option in candidates:
            return int(option)
    return int(candidates[rng.integers(len(candidates))])


class SocietyAgent(mesa.Agent):
    """Base class of all agents in a :class:`~sim.society.Society`.

    Args:
        model: The society.
        index: Position of the agent in the society (node of the network), 0..n-1.
        group: Index of the agent's population group.
        signal: The agent's private signal.
        accuracy: Accuracy of that signal.
        log_prior: Log prior over the options.
        streams: The run's streams; the agent's own stream (``agent_rng``; Mesa's ``rng`` is
            the model's) is derived from them on first use.
        params: The agent's own values of the group's sampled parameters.
        group_config: The group's configuration.
    """

    kind: ClassVar[str]
    config_model: ClassVar[type[GroupBase]]
    shares_belief: ClassVar[bool] = False
    """Whether announcements carry the belief vector (DeGroot-style averaging)."""

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
        self._rng: np.random.Generator | None = None
        self.options = len(log_prior)
        self.choice: int | None = None
        self.heard: dict[int, Announcement] = {}
        self._counts = np.zeros(self.options, dtype=np.int64)
        self._belief = probabilities(log_prior + self.own_evidence())
        self.configure(params, group_config)

    def configure(self, params: dict[str, float], group_config: GroupBase) -> None:
        """Store kind-specific parameters. Subclasses override it."""

    @property
    def agent_rng(self) -> np.random.Generator:
        """The agent's own random stream (tie-breaking, random choices)."""
        if self._rng is None:
            # Created on first use: most agents of most runs never draw a number.
            self._rng = self._streams.agent(self.index)
        return self._rng

    @property
    def belief(self) -> np.ndarray:
        """Current belief: a probability vector over the options."""
        return self._belief

    def own_evidence(self) -> np.ndarray:
        """Log-likelihood of the agent's own signal for each state."""
        return signal_log_likelihood(self.signal, self.accuracy, self.options)

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

    def _set_belief(self, log_posterior: np.ndarray) -> np.ndarray:
        log_posterior = log_normalize(log_posterior)
        self._belief = np.exp(log_posterior)
        return log_posterior

    def _choose(self, scores: np.ndarray, preferred: Sequence[int | None]) -> bool:
        """Set ``choice`` to the best of ``scores``; ties keep ``preferred`` options."""
        previous = self.choice
        candidates = tied_best(scores)
        # The agent's stream is only created (and drawn from) for a real tie.
        self.choice = (
            int(candidates[0])
            if len(candidates) == 1
            else break_tie(candidates, preferred, self.agent_rng)
        )
        return self.choice != previous

    def __repr__(self) -> str:
        return f"{type(self).__name__}(index={self.index}, choice={self.choice})"
