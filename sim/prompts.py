"""Prompt templates: what an LLM-backed agent is told, in words.

A template is text with named variables in braces, as in :meth:`str.format`
(``{question}``; write ``{{`` and ``}}`` for literal braces). Each ``llm`` population group
has a ``system`` and a ``user`` template (defaults below) and a ``persona``. The variables
(:data:`VARIABLES`) hold exactly what a stylized agent in the same place would know: the
task's question and options, the agent's private evidence, and the latest announcement of
each neighbour that reached it.

The answer format (:func:`sim.llm.answers.answer_instructions`) is the value of
``{format}``; a user template that does not place it gets it appended, so every prompt
asks for the structured answer.

Main entry points: :data:`VARIABLES`, :func:`check_template`, :func:`render`.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping

from sim.agents.base import Announcement
from sim.llm.answers import answer_instructions

VARIABLES: dict[str, str] = {
    "question": "The task's question.",
    "options": 'One line per option: "label: description".',
    "labels": 'The option labels, comma-separated ("A, B").',
    "evidence": "The agent's private evidence in words (a line saying it has none).",
    "messages": "What the agent's neighbours said last, one line each (or that nobody has).",
    "previous": "The agent's own previous answer and confidence (empty on its first turn).",
    "round": "How many times the agent has been asked, this time included (1, 2, ...).",
    "time": "Simulated time of the request.",
    "agent": "The agent's id.",
    "n_agents": "Number of agents in the society.",
    "neighbours": "Number of agents the agent hears from.",
    "persona": "The group's persona text.",
    "memory": "The institution's notebook: members' track records from earlier episodes "
    "(empty without [institution.memory] or under anonymity).",
    "format": "The answer-format instruction (appended when the template omits it).",
}
"""Template variables and what each holds."""

DEFAULT_SYSTEM = (
    "You are one of {n_agents} agents who answer a question together, each from their own "
    "evidence and what the others say. {persona}"
)
"""Default system template of an ``llm`` group."""

DEFAULT_USER = (
    "{question}\n\nOptions:\n{options}\n\nYour private evidence: {evidence}\n\n"
    "{messages}\n{previous}\n{format}"
)
"""Default user template of an ``llm`` group."""


def template_variables(template: str) -> set[str]:
    """The variable names used in ``template``.

    Raises:
        ValueError: The template is malformed (an unmatched brace) or uses positional or
            indexed fields.
    """
    names = set()
    for _, field, _, _ in string.Formatter().parse(template):
        if field is None:
            continue
        if not field.isidentifier():
            raise ValueError(f"{{{field}}} is not a variable name; write {{{{ for a literal brace")
        names.add(field)
    return names


def check_template(template: str) -> str:
    """Validate a template: well-formed and using only :data:`VARIABLES`.

    Returns:
        The template unchanged.

    Raises:
        ValueError: Naming the unknown variable and listing the known ones.
    """
    unknown = sorted(template_variables(template) - set(VARIABLES))
    if unknown:
        raise ValueError(
            f"unknown template variable {{{unknown[0]}}}; known: "
            + ", ".join(f"{{{name}}}" for name in VARIABLES)
        )
    return template


def describe_messages(
    heard: Iterable[Announcement], labels: tuple[str, ...], limit: int, anonymous: bool = False
) -> str:
    """The ``{messages}`` text: the latest announcement of each neighbour, most recent last.

    Args:
        heard: The latest announcement of each neighbour.
        labels: Option labels.
        limit: Most announcements shown (the most recent ones).
        anonymous: Hide who said what (``[institution] anonymity``, Delphi feedback).
    """
    latest = sorted(heard, key=lambda a: (a.sent_time, a.sender))[-limit:] if limit else []
    if not latest:
        return "Nobody has told you their answer yet."
    lines = ["What others answered most recently:"]
    for a in latest:
        who = "Someone" if anonymous or a.sender < 0 else f"Agent {a.sender}"
        line = f"- {who} answered {labels[a.option]}"
        if a.confidence is not None:
            line += f" (confidence {a.confidence:.2f})"
        if a.text:
            line += f': "{a.text}"'
        lines.append(line)
    return "\n".join(lines)


def describe_previous(choice: int | None, confidence: float | None, labels: tuple[str, ...]) -> str:
    """The ``{previous}`` text."""
    if choice is None:
        return ""
    stated = "" if confidence is None else f" with confidence {confidence:.2f}"
    return f"Your previous answer was {labels[choice]}{stated}.\n"


def render(
    system: str, user: str, labels: tuple[str, ...], values: Mapping[str, object]
) -> tuple[str, str]:
    """Fill both templates.

    Args:
        system: System template.
        user: User template.
        labels: The option labels (they give ``{labels}`` and ``{format}``).
        values: A value for every other name in :data:`VARIABLES`.

    Returns:
        The system and user messages.
    """
    filled = {**values, "labels": ", ".join(labels), "format": answer_instructions(labels)}
    if "format" not in template_variables(user):
        user = user.rstrip() + "\n\n{format}"
    return system.format_map(filled).strip(), user.format_map(filled).strip()
