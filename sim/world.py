"""The world: K options, a hidden truth and the agents' private signals.

Each agent receives one private signal. With probability equal to its
``signal_accuracy`` the signal names the truth; otherwise it names one of the other
``K - 1`` options uniformly at random. This is the symmetric signal structure of
Bikhchandani, Hirshleifer & Welch (1992) generalised to K options, so the likelihood of a
signal depends only on whether it names the state.

Main entry points: :class:`World`, :func:`draw_signals`, :func:`signal_log_likelihood`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sim.distributions import Quantity, check_support
from sim.rules import log_normalize, probabilities, signal_log_likelihood

__all__ = [
    "World",
    "WorldConfig",
    "draw_signals",
    "log_normalize",
    "probabilities",
    "signal_log_likelihood",
]

# Probabilities are clipped this far from 0 and 1 before taking logs, so a perfectly
# accurate signal gives a large finite log-likelihood ratio instead of -inf arithmetic.


class WorldConfig(BaseModel):
    """The ``[world]`` table of a scenario."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    options: int = Field(2, ge=2, description="Number of options K (the truth is one of them).")
    truth: int | Literal["random"] = Field(
        "random", description='Index of the true option, or "random" (uniform per run).'
    )
    signal_accuracy: Quantity = Field(
        0.7, description="Probability that a private signal names the truth."
    )

    @field_validator("signal_accuracy")
    @classmethod
    def _probability(cls, value: Quantity) -> Quantity:
        check_support(value, 0.0, 1.0, "a probability")
        return value

    @field_validator("truth")
    @classmethod
    def _non_negative(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 0:
            raise ValueError(f"must be an option index >= 0 or 'random', got {value}")
        return value


@dataclass(frozen=True)
class World:
    """One realisation of the world for a run.

    Attributes:
        options: Number of options K.
        truth: Index of the true option.
        signals: Private signal of each agent, shape ``(n,)``.
        accuracy: Signal accuracy of each agent, shape ``(n,)``.
    """

    options: int
    truth: int
    signals: np.ndarray
    accuracy: np.ndarray


def draw_signals(
    truth: int, accuracy: np.ndarray, options: int, rng: np.random.Generator
) -> np.ndarray:
    """Draw one private signal per agent.

    Args:
        truth: Index of the true option.
        accuracy: Per-agent probability that the signal is the truth.
        options: Number of options K.
        rng: The world's stream.

    Returns:
        Integer array of signals, one per agent.
    """
    n = len(accuracy)
    correct = rng.random(n) < accuracy
    # A wrong signal is uniform over the K - 1 other options.
    wrong = (truth + 1 + rng.integers(0, options - 1, size=n)) % options
    return np.where(correct, truth, wrong).astype(np.int64)
