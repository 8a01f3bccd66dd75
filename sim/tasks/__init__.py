"""Tasks: what LLM-backed agents are asked about, in words consistent with the world.

The world (:mod:`sim.world`) draws a truth among K options and each agent's stylized
private signal. A task turns that world into a question, K labelled options and each
agent's private evidence, with the world's option ``k`` as the task's option ``k``.

====================  ================================================================
``kind``              task
====================  ================================================================
urn                   which urn was chosen, from one drawn ball (Anderson & Holt 1997)
arithmetic            the value of a random expression (Du et al. 2023)
questions             multiple-choice questions from a JSONL, CSV or Parquet file
hidden_profile        a candidate choice from facts spread over the group (Stasser &
                      Titus 1985)
====================  ================================================================

To add a kind, write a module with a config model (subclass of
:class:`~sim.tasks.base.TaskBase` with a ``kind`` literal, ``instance`` and, if the task
can fail for some K or needs a file, ``check``) and add it to :data:`TASK_KINDS` and
:data:`TaskConfig`.

Main entry points: :data:`TaskConfig` (the tagged union used by the ``[task]`` table),
:class:`TaskInstance`, :data:`TASK_KINDS`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sim.tasks.arithmetic import ArithmeticInstance, ArithmeticTask
from sim.tasks.base import TaskBase, TaskInstance, option_letters
from sim.tasks.hidden_profile import (
    HiddenProfileInstance,
    HiddenProfileTask,
    ProfileItem,
    favoured_option,
    profile_scores,
)
from sim.tasks.questions import Question, QuestionInstance, QuestionSetTask, read_questions
from sim.tasks.urn import UrnInstance, UrnTask

TaskConfig = Annotated[
    UrnTask | ArithmeticTask | QuestionSetTask | HiddenProfileTask, Field(discriminator="kind")
]
"""The ``[task]`` table, tagged by its ``kind`` key."""

TASK_KINDS: dict[str, type[TaskBase]] = {
    cls.model_fields["kind"].default: cls
    for cls in (UrnTask, ArithmeticTask, QuestionSetTask, HiddenProfileTask)
}
"""Task config classes by the ``kind`` name used in scenario files."""

__all__ = [
    "TASK_KINDS",
    "ArithmeticInstance",
    "ArithmeticTask",
    "HiddenProfileInstance",
    "HiddenProfileTask",
    "ProfileItem",
    "Question",
    "QuestionInstance",
    "QuestionSetTask",
    "TaskBase",
    "TaskConfig",
    "TaskInstance",
    "UrnInstance",
    "UrnTask",
    "favoured_option",
    "option_letters",
    "profile_scores",
    "read_questions",
]
