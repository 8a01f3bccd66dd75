"""``kind = "urn"``: the stylized cascade world told as an urn experiment.

The information-cascade experiments of Anderson & Holt (1997, "Information Cascades in
the Laboratory", *American Economic Review* 87(5)) told subjects that one of two urns
had been chosen by a coin flip, that urn A held mostly light balls and urn B mostly dark
ones, and let each subject privately draw one ball before guessing the urn in turn. This
task tells the world of :mod:`sim.world` the same way for K options: K urns labelled A,
B, C, ...; urn ``k`` holds mostly balls of colour ``k``; the chosen urn is the truth; an
agent's draw is its private signal, whose colour is the chosen urn's own colour with
probability ``signal_accuracy`` and otherwise one of the other K - 1 colours, each equally
likely. Each agent is told the reliability of its own draw, so heterogeneous accuracies
are told truthfully.

Main entry points: :class:`UrnTask`, :class:`UrnInstance`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from sim.errors import ScenarioError
from sim.tasks.base import TaskBase, TaskInstance, option_letters, percent

DEFAULT_COLOURS = ("red", "blue", "green", "yellow", "purple", "orange", "black", "white")


@dataclass(frozen=True)
class UrnInstance(TaskInstance):
    """An urn experiment; ``colours[k]`` is the majority colour of urn ``k``."""

    colours: tuple[str, ...] = ()

    def evidence(self, agent: int, signal: int, accuracy: float) -> str:
        """The colour of the agent's ball and how reliable a draw is.

        Args:
            agent: The agent's index (unused: every draw is told the same way).
            signal: The option the agent's signal names: it drew a ball of that colour.
            accuracy: Probability that a draw shows the chosen urn's own colour.

        Returns:
            One paragraph, with the probabilities as percentages.
        """
        others = self.options - 1
        wrong = percent((1.0 - accuracy) / others)
        if others == 1:
            otherwise = f"otherwise it shows the other colour ({wrong})"
        else:
            otherwise = f"otherwise it shows one of the other {others} colours, {wrong} each"
        return (
            f"You privately drew one ball from the chosen urn, and it is {self.colours[signal]}. "
            f"A draw shows the chosen urn's own colour with probability {percent(accuracy)}; "
            f"{otherwise}."
        )


class UrnTask(TaskBase):
    """``kind = "urn"``: guess which urn was chosen from one privately drawn ball."""

    kind: Literal["urn"] = Field("urn", description="An urn experiment (Anderson & Holt).")
    colours: tuple[str, ...] = Field(
        DEFAULT_COLOURS,
        description="Majority colour of each urn, in option order (at least world.options).",
    )

    @field_validator("colours")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        value = tuple(colour.strip() for colour in value)
        if any(not colour for colour in value):
            raise ValueError("colours must be non-empty")
        if len(set(value)) != len(value):
            raise ValueError(f"colours must be distinct, got {list(value)}")
        return value

    def check(self, options: int, base_dir: Path | None) -> None:
        if len(self.colours) < options:
            raise ScenarioError(
                f"task.colours has {len(self.colours)} colours, world.options is {options}: "
                f"give at least {options}"
            )

    def instance(
        self,
        *,
        options: int,
        n: int,
        truth: int,
        rng: np.random.Generator,
        base_dir: Path | None,
    ) -> UrnInstance:
        self.check(options, base_dir)
        labels = option_letters(options)
        colours = self.colours[:options]
        holds = [
            f"urn {label} mostly {colour} balls"
            for label, colour in zip(labels, colours, strict=True)
        ]
        holds[0] = holds[0].replace("urn", "Urn", 1).replace("mostly", "holds mostly", 1)
        question = (
            f"There are {options} urns, labelled {_enumerate(labels)}. {_enumerate(holds)}. "
            "One urn was chosen at random, each equally likely, and every participant "
            "privately drew one ball from it. Which urn was chosen?"
        )
        return UrnInstance(
            kind=self.kind,
            question=question,
            labels=labels,
            descriptions=tuple(f"mostly {colour} balls" for colour in colours),
            truth=truth,
            colours=colours,
        )


def _enumerate(items: tuple[str, ...] | list[str]) -> str:
    """``a, b and c``."""
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else items[0]
