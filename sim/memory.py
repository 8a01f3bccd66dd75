"""Institutional memory: a notebook the society keeps across episodes, on disk.

A run is one *episode*. With ``[institution.memory]``, the society reads the notebook a
previous episode left (``read``) and, when the episode ends and the truth is revealed,
writes into it each member's final answer and whether it was right (``write``). Members
are identified by their index, so a study of memory keeps the same members from episode
to episode (fixed group accuracies, ``population.placement = "block"``).

What the notebook is used for:

* the ``reputation`` aggregation rule weighs each member's vote by the log-odds of its
  recorded accuracy, ``log(r / (1 - r))`` with ``r = (right + 1) / (answered + 2)``:
  the optimal weights of Nitzan & Paroush (1982) once the records are long, equal weights
  (plurality) with an empty notebook; under ``anonymity`` nobody's record is used;
* LLM agents read the track records in their prompt (the ``{memory}`` template variable).

:meth:`sim.scenario.Scenario.episodes` runs a sequence of episodes that share a notebook
and reports how the society improves.

Main entry points: :class:`MemoryConfig`, :class:`Notebook`, :class:`Episode`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from sim.errors import ScenarioError

FORMAT = 1


class MemoryConfig(BaseModel):
    """The ``[institution.memory]`` table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: Path = Field(
        Path("notebook.json"), description="Notebook file (relative to the working folder)."
    )
    read: bool = Field(True, description="Start from the notebook an earlier episode wrote.")
    write: bool = Field(True, description="Record this episode's answers when it ends.")


@dataclass
class Notebook:
    """Members' track records over the episodes so far.

    Attributes:
        episodes: Episodes recorded.
        answered: Per member index, episodes in which it held an answer at the end.
        right: Per member index, how many of those answers were the truth.
    """

    episodes: int = 0
    answered: dict[int, int] = field(default_factory=dict)
    right: dict[int, int] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Notebook:
        """The notebook at ``path`` (empty if there is none yet).

        Raises:
            ScenarioError: The file is not a notebook.
        """
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
            members = data["members"]
            return cls(
                episodes=int(data["episodes"]),
                answered={int(k): int(v["answered"]) for k, v in members.items()},
                right={int(k): int(v["right"]) for k, v in members.items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ScenarioError(
                f"institution.memory.path {path} is not a notebook this version can read "
                f"({exc}); delete it or point the path elsewhere"
            ) from None

    def record(self, choices: np.ndarray, truth: int) -> None:
        """Add one episode: each member's final answer (``-1``: none) and the truth."""
        self.episodes += 1
        for member, choice in enumerate(choices.tolist()):
            if choice < 0:
                continue
            self.answered[member] = self.answered.get(member, 0) + 1
            self.right[member] = self.right.get(member, 0) + int(choice == truth)

    def save(self, path: Path) -> None:
        """Write the notebook atomically (a crash never leaves half a notebook)."""
        from sim.results import write_atomic  # results -> metrics -> institutions -> here

        members = {
            str(m): {"answered": self.answered[m], "right": self.right.get(m, 0)}
            for m in sorted(self.answered)
        }
        text = json.dumps(
            {"format": FORMAT, "episodes": self.episodes, "members": members}, indent=1
        )
        write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"))

    def reliability(self, n: int) -> np.ndarray:
        """Each member's estimated accuracy, ``(right + 1) / (answered + 2)``."""
        return np.array(
            [(self.right.get(m, 0) + 1) / (self.answered.get(m, 0) + 2) for m in range(n)]
        )

    def weights(self, n: int) -> np.ndarray:
        """Each member's vote weight for the ``reputation`` rule: the log-odds of its
        estimated accuracy (0 for a member with no record)."""
        r = self.reliability(n)
        return np.log(r / (1.0 - r))

    def describe(self, n: int) -> str:
        """The track records in words (for prompts)."""
        if not self.episodes:
            return "No earlier episodes are on record."
        lines = [f"Track records from {self.episodes} earlier episodes:"]
        for member in range(n):
            answered = self.answered.get(member, 0)
            if answered:
                lines.append(f"- Agent {member}: right {self.right.get(member, 0)} of {answered}")
        return "\n".join(lines)


class Episode:
    """One episode's use of the notebook, the same on either engine: read when the
    episode begins, written (once) when it ends.

    Args:
        memory: The ``[institution.memory]`` table (None: no memory).
        anonymity: The institution hides identities (no member's record is used).
        n: Members of the society.

    Attributes:
        notebook: The notebook as read when the episode began (None: not read).
        reputations: Members' vote weights for the ``reputation`` rule (None: no
            records are used).
    """

    def __init__(self, memory: MemoryConfig | None, anonymity: bool, n: int) -> None:
        self.memory = memory
        self.notebook = None if memory is None or not memory.read else Notebook.load(memory.path)
        self.reputations = None if self.notebook is None or anonymity else self.notebook.weights(n)
        self._recorded = False

    def end(self, choices: np.ndarray, truth: int) -> None:
        """Record the finished episode in the notebook, if the memory writes (once)."""
        memory = self.memory
        if memory is None or not memory.write or self._recorded:
            return
        # The notebook read when the episode began (its reputations are already taken).
        notebook = self.notebook if self.notebook is not None else Notebook()
        notebook.record(choices, truth)
        notebook.save(memory.path)
        self._recorded = True
