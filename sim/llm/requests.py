"""What the engine asks (:class:`ChatRequest`) and what it gets back (:class:`ChatResult`).

A request is a frozen value: the conversation, the model, the sampling parameters, the
sample index (which of several samples of the same prompt this is) and, for a structured
answer, the option labels. :meth:`ChatRequest.key` is its content address in the response
cache: a SHA-256 of canonical JSON of exactly these fields, so equal requests share an
entry and any change in what is asked makes a new one. Credentials are never part of a
request.

Main entry points: :class:`ChatRequest`, :func:`make_request`, :class:`ChatResult`,
:class:`TraceContext`, :func:`estimate_tokens`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sim.llm.answers import Answer, Label, Message
from sim.llm.config import BackendConfig

__all__ = [
    "ChatRequest",
    "ChatResult",
    "Label",
    "Message",
    "Status",
    "TraceContext",
    "estimate_tokens",
    "make_request",
]

KEY_VERSION = 1
"""Bumped whenever the meaning of a cache key changes (old entries are then not found)."""

ROLES = frozenset({"system", "user", "assistant"})

Status = Literal["ok", "abstain", "failed", "budget"]
"""``ok``: a usable reply; ``abstain``: a reply without a usable answer (after the repair);
``failed``: no reply (retries exhausted or a non-retryable HTTP error); ``budget``: not sent
because it could exceed a budget."""


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat completion request.

    Attributes:
        messages: The conversation, ``(role, content)`` pairs.
        model: Model name sent to the server.
        temperature: Sampling temperature.
        max_tokens: Maximum completion tokens.
        top_p: Nucleus sampling mass.
        seed: Sampling seed (None: not sent).
        sample_index: Which sample of this prompt (distinct cache entries for repeated
            samples of one prompt).
        options: Option labels of a structured answer; None for a free-text reply.
        constrain: Ask the server to enforce the answer format (schema or grammar);
            ignored for free text.
    """

    messages: tuple[Message, ...]
    model: str
    temperature: float = 0.7
    max_tokens: int = 64
    top_p: float = 1.0
    seed: int | None = None
    sample_index: int = 0
    options: tuple[Label, ...] | None = None
    constrain: bool = True

    def __post_init__(self) -> None:
        if not self.messages:
            raise ValueError("a request needs at least one message")
        for message in self.messages:
            if len(message) != 2 or message[0] not in ROLES or not isinstance(message[1], str):
                raise ValueError(f"a message is (role, text) with role in {sorted(ROLES)}")
        if self.max_tokens < 1:
            raise ValueError("max_tokens must be >= 1")
        if self.options is not None and not self.options:
            raise ValueError("options, when given, must not be empty")

    def key(self) -> str:
        """The cache key: SHA-256 (hex) of the canonical JSON of every field."""
        payload = {
            "v": KEY_VERSION,
            "model": self.model,
            "messages": [list(message) for message in self.messages],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "top_p": self.top_p,
            "seed": self.seed,
            "sample_index": self.sample_index,
            "options": None if self.options is None else list(self.options),
            "constrain": self.constrain if self.options is not None else False,
        }
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def prompt_text(self) -> str:
        """The conversation as text, one ``role: content`` block per message (for traces)."""
        return "\n\n".join(f"{role}: {content}" for role, content in self.messages)


def make_request(
    backend: BackendConfig,
    messages: Sequence[Message],
    *,
    options: Sequence[Label] | None = None,
    sample_index: int = 0,
) -> ChatRequest:
    """A request with the backend's model and sampling parameters.

    Args:
        backend: Supplies model, temperature, max_tokens, top_p and seed.
        messages: The conversation.
        options: Option labels of a structured answer (None: free text).
        sample_index: Which sample of this prompt; also offsets the seed, so samples of
            the same prompt differ.

    Returns:
        The request.
    """
    return ChatRequest(
        messages=tuple((role, content) for role, content in messages),
        model=backend.model,
        temperature=backend.temperature,
        max_tokens=backend.max_tokens,
        top_p=backend.top_p,
        seed=None if backend.seed is None else backend.seed + sample_index,
        sample_index=sample_index,
        options=None if options is None else tuple(options),
        constrain=backend.structured_mode() != "none",
    )


def estimate_tokens(text: str) -> int:
    """Conservative token count of a text: one token per 3 characters, rounded up.

    English text runs about 4 characters per token in GPT and Llama tokenizers, so this
    overestimates, which is what a budget check wants. Used for budget and rate-limit
    checks before sending, and as the count when a server reports no ``usage``.
    """
    return math.ceil(len(text) / 3)


def estimate_prompt_tokens(messages: Sequence[Message]) -> int:
    """Conservative prompt token count: :func:`estimate_tokens` of each message's text,
    plus 8 per message and 16 per request for the chat template's markup."""
    return 16 + sum(8 + estimate_tokens(content) for _, content in messages)


@dataclass(frozen=True, slots=True)
class TraceContext:
    """Where a request comes from, for the call trace.

    Attributes:
        run: Run identifier.
        agent: Agent id (None for a call not made by one agent).
        time: Simulation time at which the request became ready.
    """

    run: str = ""
    agent: int | None = None
    time: float = 0.0


@dataclass(frozen=True, slots=True)
class ChatResult:
    """The outcome of one request, repair included.

    Attributes:
        text: The last reply text ("" when there was none).
        answer: The parsed answer (structured requests with status ``ok``), else None.
        status: ``ok``, ``abstain``, ``failed`` or ``budget`` (see :data:`Status`).
        prompt_tokens: Prompt tokens over the request and its repair.
        completion_tokens: Completion tokens over the request and its repair.
        tokens_estimated: True when a count is an estimate (the server sent no usage).
        cost_usd: Cost from the price table (0 for a model without a price).
        latency_s: Wall time from the first attempt to the last reply (0 for a cache hit).
        attempts: HTTP attempts made (0 when everything came from the cache).
        cache_hit: Every reply came from the cache.
        repaired: The answer needed the repair request.
        error: What went wrong (None for ``ok``); never contains credentials.
        key: Cache key of the request.
    """

    text: str
    answer: Answer | None
    status: Status
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens_estimated: bool = False
    cost_usd: float = 0.0
    latency_s: float = 0.0
    attempts: int = 0
    cache_hit: bool = False
    repaired: bool = False
    error: str | None = None
    key: str = ""

    @property
    def ok(self) -> bool:
        """True when the request produced a usable reply."""
        return self.status == "ok"
