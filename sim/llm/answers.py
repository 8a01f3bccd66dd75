"""Structured answers: what an LLM-backed agent is asked to reply, and reading the reply.

An answer is a JSON object ``{"answer": <one of the options>, "confidence": <0..1>,
"message": <short text>}``. This module builds the constraints that make a server produce
one (:func:`answer_schema` for ``response_format``/``json_schema``, :func:`answer_grammar`
for a llama.cpp GBNF ``grammar``), the instruction text (:func:`answer_instructions`), reads
replies robustly (:func:`parse_answer`) and builds the one repair prompt
(:func:`repair_messages`) sent when a reply cannot be read.

Main entry points: :class:`Answer`, :func:`parse_answer`, :func:`answer_schema`,
:func:`answer_grammar`, :func:`repair_messages`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

Label = int | str
"""An option label: an index (``0``, ``1``, ...) or a name (``"A"``, ``"yes"``)."""

Message = tuple[str, str]
"""One chat message: ``(role, content)`` with role ``"system"``, ``"user"`` or ``"assistant"``."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A parsed structured answer.

    Attributes:
        answer: The chosen option, one of the request's option labels (with its type).
        confidence: Stated probability that the answer is right, in [0, 1].
        message: What the agent says to others (may be empty).
    """

    answer: Label
    confidence: float
    message: str

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must lie in [0, 1], got {self.confidence}")


def answer_schema(options: Sequence[Label]) -> dict[str, Any]:
    """JSON schema of an answer over ``options``.

    Only keywords that OpenAI's strict structured outputs accept (types, ``enum``,
    ``required``, ``additionalProperties``), so one schema serves every server; ranges are
    checked by :func:`parse_answer`.

    Args:
        options: The option labels (at least one).

    Returns:
        The schema as a dict.
    """
    labels = _check_options(options)
    answer: dict[str, Any] = {"enum": list(labels)}
    if all(isinstance(label, int) for label in labels):
        answer["type"] = "integer"
    elif all(isinstance(label, str) for label in labels):
        answer["type"] = "string"
    return {
        "type": "object",
        "properties": {
            "answer": answer,
            "confidence": {
                "type": "number",
                "description": "Probability between 0 and 1 that the answer is right.",
            },
            "message": {"type": "string", "description": "A short message to the others."},
        },
        "required": ["answer", "confidence", "message"],
        "additionalProperties": False,
    }


def answer_grammar(options: Sequence[Label], max_message_chars: int = 200) -> str:
    """A GBNF grammar (llama.cpp) that admits exactly the well-formed answers.

    Confidence is a decimal in [0, 1] with at most three decimals, the message a JSON
    string of at most ``max_message_chars`` characters, so a reply fits a small
    ``max_tokens`` and is never cut off mid-object.

    Args:
        options: The option labels.
        max_message_chars: Longest message, in characters (0: always empty).

    Returns:
        The grammar text, for the ``grammar`` field of a llama.cpp request.
    """
    labels = _check_options(options)
    if max_message_chars < 0:
        raise ValueError("max_message_chars must be >= 0")
    choices = " | ".join(_gbnf_literal(json.dumps(label)) for label in labels)
    return "\n".join(
        [
            'root ::= "{" ws "\\"answer\\":" ws answer "," ws "\\"confidence\\":" ws confidence'
            ' "," ws "\\"message\\":" ws message ws "}"',
            f"answer ::= {choices}",
            'confidence ::= "0" ("." [0-9]{1,3})? | "1" ("." "0"{1,3})?',
            f'message ::= "\\"" char{{0,{max_message_chars}}} "\\""',
            'char ::= [^"\\\\\\x7F\\x00-\\x1F] | "\\\\" ["\\\\/bfnrt]',
            "ws ::= [ \\n]{0,2}",
            "",
        ]
    )


def answer_instructions(options: Sequence[Label]) -> str:
    """The instruction that asks for an answer over ``options`` (for prompts and repairs)."""
    labels = ", ".join(json.dumps(label) for label in _check_options(options))
    return (
        'Reply with only a JSON object of the form {"answer": ..., "confidence": ..., '
        f'"message": ...}} where "answer" is one of {labels}, "confidence" is a number '
        'between 0 and 1 (how likely your answer is right) and "message" is one short '
        "sentence."
    )


def repair_messages(
    messages: Sequence[Message], reply: str, options: Sequence[Label]
) -> tuple[Message, ...]:
    """The conversation for the one repair attempt after an unreadable reply.

    Args:
        messages: The original conversation.
        reply: The reply that could not be read.
        options: The option labels.

    Returns:
        The original messages, the bad reply as the assistant's turn, and a user turn
        that restates the required format.
    """
    return (
        *messages,
        ("assistant", reply),
        ("user", "Your reply could not be read. " + answer_instructions(options)),
    )


def parse_answer(text: str, options: Sequence[Label]) -> Answer | None:
    """Read an answer from a reply, as leniently as is safe.

    Tried in order: the whole text as JSON; JSON objects inside code fences or prose;
    then ``answer: X`` / ``confidence: Y`` / ``message: "..."`` fields found by regular
    expressions (this also reads a JSON object cut off after its confidence).

    The answer must name one of ``options``: exactly, else as a number for integer
    labels (``"2"``, ``2.0``), else case-insensitively when that is unambiguous. The
    confidence must be a number in [0, 1]; ``"85%"`` and values in (1, 100] are read as
    percentages. The message is optional (empty when missing). Anything else is
    unusable.

    Args:
        text: The reply.
        options: The option labels.

    Returns:
        The answer, or None when the reply holds no usable one.
    """
    labels = _check_options(options)
    complete_object = False
    for candidate in _json_objects(text):
        answer = _from_mapping(candidate, labels)
        if answer is not None:
            return answer
        keys = {str(key).strip().lower() for key in candidate}
        complete_object = complete_object or {"answer", "confidence"} <= keys
    # A well-formed object with bad values is unusable; the field search is for replies
    # that are not JSON (prose, cut-off objects) and would only misread it.
    return None if complete_object else _from_fields(text, labels)


def _check_options(options: Sequence[Label]) -> tuple[Label, ...]:
    labels = tuple(options)
    if not labels:
        raise ValueError("an answer needs at least one option")
    for label in labels:
        if isinstance(label, bool) or not isinstance(label, int | str):
            raise ValueError(f"option labels are ints or strings, got {label!r}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"option labels repeat: {labels}")
    return labels


def _gbnf_literal(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def _json_objects(text: str) -> Iterator[dict[str, Any]]:
    stripped = text.strip()
    try:
        whole = json.loads(stripped)
    except ValueError:
        pass
    else:
        if isinstance(whole, dict):
            yield whole
    for block in _FENCE.findall(text):
        try:
            fenced = json.loads(block)
        except ValueError:
            continue
        if isinstance(fenced, dict):
            yield fenced
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            embedded, _ = decoder.raw_decode(text, start)
        except ValueError:
            pass
        else:
            if isinstance(embedded, dict):
                yield embedded
        start = text.find("{", start + 1)


def _from_mapping(obj: dict[str, Any], labels: tuple[Label, ...]) -> Answer | None:
    fields = {str(key).strip().lower(): value for key, value in obj.items()}
    if "answer" not in fields or "confidence" not in fields:
        return None
    label = _match_label(fields["answer"], labels)
    confidence = _confidence(fields["confidence"])
    if label is None or confidence is None:
        return None
    message = fields.get("message", "")
    if message is None:
        message = ""
    return Answer(label, confidence, message if isinstance(message, str) else json.dumps(message))


def _match_label(value: Any, labels: tuple[Label, ...]) -> Label | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int | str) and value in labels:
        return value
    text = str(value).strip().strip("\"'`*()[]{}.:;, ")
    text = re.sub(r"^(?:option|answer|choice)\s+", "", text, flags=re.IGNORECASE)
    for label in labels:
        if isinstance(label, int) and re.fullmatch(r"[+-]?\d+(?:\.0*)?", text):
            if int(float(text)) == label:
                return label
        elif isinstance(label, str) and text == label:
            return label
    folded = [label for label in labels if str(label).casefold() == text.casefold()]
    return folded[0] if len(folded) == 1 else None


def _confidence(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    percent = False
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%"):
            percent, text = True, text[:-1].strip()
        try:
            number = float(text)
        except ValueError:
            return None
    elif isinstance(value, int | float):
        number = float(value)
    else:
        return None
    if not math.isfinite(number):
        return None
    if percent or 1.0 < number <= 100.0:
        number /= 100.0
    return number if 0.0 <= number <= 1.0 else None


_KEY = r"[\"']?{name}[\"']?\s*[:=]\s*"
_ANSWER_FIELD = re.compile(
    _KEY.format(name="answer") + r"(\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^\s,}\]]+)", re.IGNORECASE
)
_CONFIDENCE_FIELD = re.compile(
    _KEY.format(name="confidence") + r"[\"']?\s*([0-9]*\.?[0-9]+)(?![0-9eE.])\s*(%?)", re.IGNORECASE
)
_MESSAGE_FIELD = re.compile(_KEY.format(name="message") + r"\"((?:[^\"\\]|\\.)*)", re.IGNORECASE)


def _from_fields(text: str, labels: tuple[Label, ...]) -> Answer | None:
    answer_match = _ANSWER_FIELD.search(text)
    confidence_match = _CONFIDENCE_FIELD.search(text)
    if answer_match is None or confidence_match is None:
        return None
    raw = answer_match.group(1)
    if raw.startswith('"'):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = raw.strip('"')
    label = _match_label(raw, labels)
    confidence = _confidence(confidence_match.group(1) + confidence_match.group(2))
    if label is None or confidence is None:
        return None
    message = ""
    message_match = _MESSAGE_FIELD.search(text)
    if message_match is not None:
        try:
            message = json.loads(f'"{message_match.group(1)}"')
        except ValueError:
            message = message_match.group(1)
    return Answer(label, confidence, message)
