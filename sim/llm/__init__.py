"""LLM transport: how LLM-backed agents' requests reach a model and come back.

Self-contained layer under the engine. The engine builds :class:`ChatRequest` values
(:func:`make_request`), hands every request that became ready at one simulation moment to
:meth:`LLMClient.complete_many`, and applies the :class:`ChatResult` values, which come
back in request order, in its own deterministic order. Everything else happens here:
concurrency and rate limits, retries, the structured-answer format and its one repair,
the content-addressed cache (record, replay, off), hard budgets per run and per sweep,
and the call trace.

Quick use::

    from sim.llm import LLMClient, LLMConfig, TraceContext, make_request, answer_instructions

    config = LLMConfig()                       # embedded local model, cache in .llm-cache
    with LLMClient.from_config(config) as client:
        prompt = "Is 7 prime? " + answer_instructions(["yes", "no"])
        request = make_request(config.backend, [("user", prompt)], options=["yes", "no"])
        [result] = client.complete_many([request], [TraceContext(run="r1", agent=0)])
        result.status, result.answer            # "ok", Answer(answer="yes", ...)
        client.trace.frame()                    # one row per call

Modules: :mod:`~sim.llm.config` (the ``[llm]`` table), :mod:`~sim.llm.requests`,
:mod:`~sim.llm.answers`, :mod:`~sim.llm.client`, :mod:`~sim.llm.cache`,
:mod:`~sim.llm.budget`, :mod:`~sim.llm.limits`, :mod:`~sim.llm.trace`,
:mod:`~sim.llm.local`.
"""

from sim.llm.answers import (
    Answer,
    Label,
    Message,
    answer_grammar,
    answer_instructions,
    answer_schema,
    parse_answer,
    repair_messages,
)
from sim.llm.budget import Budget, SweepLedger, Usage
from sim.llm.cache import CacheEntry, ResponseCache
from sim.llm.client import LLMClient
from sim.llm.config import (
    LOCAL_MODEL,
    BackendConfig,
    BudgetConfig,
    BudgetLimits,
    CacheConfig,
    LLMConfig,
    Price,
)
from sim.llm.local import LocalServer, default_model_path
from sim.llm.requests import (
    ChatRequest,
    ChatResult,
    Status,
    TraceContext,
    estimate_tokens,
    make_request,
)
from sim.llm.trace import TRACE_SCHEMA, Trace, TraceRow

__all__ = [
    "LOCAL_MODEL",
    "TRACE_SCHEMA",
    "Answer",
    "BackendConfig",
    "Budget",
    "BudgetConfig",
    "BudgetLimits",
    "CacheConfig",
    "CacheEntry",
    "ChatRequest",
    "ChatResult",
    "LLMClient",
    "LLMConfig",
    "Label",
    "LocalServer",
    "Message",
    "Price",
    "ResponseCache",
    "Status",
    "SweepLedger",
    "Trace",
    "TraceContext",
    "TraceRow",
    "Usage",
    "answer_grammar",
    "answer_instructions",
    "answer_schema",
    "default_model_path",
    "estimate_tokens",
    "make_request",
    "parse_answer",
    "repair_messages",
]
