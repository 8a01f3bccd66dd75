"""What every task kind shares: its config base class and the instance agents are asked about.

A task config (one kind of the scenario's ``[task]`` table) is frozen data. For each run
it builds a :class:`TaskInstance` from the world the run has drawn: the number of options
K, the truth and the run's random stream. The instance is the words an LLM-backed agent
reads: the question, one label and one line per option, and each agent's private
evidence. Option ``k`` of the world is option ``k`` of the instance, so ``labels[truth]``
is always the correct answer.

Main entry points: :class:`TaskBase`, :class:`TaskInstance`, :func:`option_letters`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from string import ascii_uppercase

import numpy as np
from pydantic import BaseModel, ConfigDict


@dataclass(frozen=True)
class TaskInstance:
    """One task as posed to the agents of one run.

    Attributes:
        kind: The task kind (the ``kind`` key of its config).
        question: The question every agent is shown; complete and self-contained.
        labels: One short, distinct label per world option: the exact strings agents
            answer with.
        descriptions: One line per option, shown next to its label.
        truth: Index of the correct option; ``labels[truth]`` is the right answer.
    """

    kind: str
    question: str
    labels: tuple[str, ...]
    descriptions: tuple[str, ...]
    truth: int

    def __post_init__(self) -> None:
        assert len(self.labels) >= 2, "a task needs at least two options"
        assert len(set(self.labels)) == len(self.labels), f"labels repeat: {self.labels}"
        assert len(self.descriptions) == len(self.labels), "one description per option"
        assert 0 <= self.truth < len(self.labels), "the truth must be an option index"

    @property
    def options(self) -> int:
        """Number of options K."""
        return len(self.labels)

    @property
    def answer(self) -> str:
        """Label of the correct option."""
        return self.labels[self.truth]

    def evidence(self, agent: int, signal: int, accuracy: float) -> str:
        """An agent's private evidence, in words.

        Args:
            agent: The agent's index (0 to n - 1).
            signal: The agent's stylized private signal (an option index).
            accuracy: The probability that the agent's signal names the truth.

        Returns:
            The evidence text, or ``""`` when the task gives agents no private evidence
            (the base class gives none).
        """
        return ""


class TaskBase(BaseModel):
    """Base of every ``[task]`` kind: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str

    def instance(
        self,
        *,
        options: int,
        n: int,
        truth: int,
        rng: np.random.Generator,
        base_dir: Path | None,
    ) -> TaskInstance:
        """Pose the task for one run.

        Args:
            options: Number of options K of the world.
            n: Number of agents.
            truth: Index of the true option, drawn by the world.
            rng: The stream the instance draws from (the same state gives the same
                instance).
            base_dir: Folder that relative paths resolve against (the scenario file's
                folder); the current directory when ``None``.

        Returns:
            The instance, with ``truth`` as its correct option.

        Raises:
            ScenarioError: The task cannot be posed with ``options`` options (see
                :meth:`check`).
        """
        raise NotImplementedError

    def check(self, options: int, base_dir: Path | None) -> None:
        """Check, when a scenario is loaded, that the task can be posed with K options.

        Args:
            options: Number of options K of the world.
            base_dir: Folder that relative paths resolve against.

        Raises:
            ScenarioError: Naming the key (and file, row) that is wrong and why.
        """


def option_letters(options: int) -> tuple[str, ...]:
    """Letter labels for ``options`` options: A, B, ..., Z, AA, AB, ...

    Args:
        options: Number of options (at least 1).

    Returns:
        The labels, in option order.
    """
    labels = []
    for index in range(options):
        label = ""
        # Bijective base 26: 0 -> A, 25 -> Z, 26 -> AA.
        index += 1
        while index:
            index, digit = divmod(index - 1, 26)
            label = ascii_uppercase[digit] + label
        labels.append(label)
    return tuple(labels)


def percent(probability: float) -> str:
    """A probability as a percentage for prompts: 0.7 -> "70 %", 1/3 -> "33.3 %".

    A probability strictly between 0 and 1 never reads as "0 %" or "100 %".
    """
    text = f"{100 * probability:.1f}".rstrip("0").rstrip(".")
    if text in ("0", "100") and 0.0 < probability < 1.0:
        text = f"{100 * probability:.4g}"
    return f"{text} %"
