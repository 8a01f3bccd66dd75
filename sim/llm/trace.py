"""The call trace: one row per LLM call, written to Parquet.

A request that needed the repair has two rows, ``call = "answer"`` then ``call =
"repair"`` (same ``request_key``); its outcome is the status of its last row. Rows are in
request order (not in network completion order), so a trace is deterministic except for
``latency_s``, ``cache_hit`` and ``attempts``. Columns (:data:`TRACE_SCHEMA`):

=================  ========  ===========================================================
column             type      meaning
=================  ========  ===========================================================
run                String    run identifier (:class:`~sim.llm.requests.TraceContext`)
agent              Int64     agent id (null: not an agent's call)
sim_time           Float64   simulation time the request became ready
call               String    ``"answer"`` or ``"repair"``
key                String    cache key of this call (SHA-256 of model, messages, sampling,
                             sample index, options)
request_key        String    key of the engine's request (differs from key on a repair)
model              String    model name
sample_index       Int64     sample index of the request
prompt             String    the conversation (null when text is not kept)
response           String    the reply (null when text is not kept or there was none)
answer             String    parsed answer label as text (null: none)
confidence         Float64   parsed confidence (null: none)
status             String    this call: ``ok``, ``abstain`` (reply unusable), ``failed``,
                             ``budget`` (not sent)
prompt_tokens      Int64     prompt tokens (server usage, else estimate)
completion_tokens  Int64     completion tokens
tokens_estimated   Boolean   counts are estimates (no usage from the server)
cost_usd           Float64   cost from the price table
latency_s          Float64   wall seconds from first attempt to reply (0 for a cache hit)
cache_hit          Boolean   served from the cache
attempts           Int64     HTTP attempts (0 for a cache hit or a refused call)
error              String    what went wrong (null when nothing did)
=================  ========  ===========================================================

Main entry points: :class:`Trace`, :class:`TraceRow`, :data:`TRACE_SCHEMA`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sim.results import write_atomic

TRACE_SCHEMA: dict[str, pl.DataType] = {
    "run": pl.String(),
    "agent": pl.Int64(),
    "sim_time": pl.Float64(),
    "call": pl.String(),
    "key": pl.String(),
    "request_key": pl.String(),
    "model": pl.String(),
    "sample_index": pl.Int64(),
    "prompt": pl.String(),
    "response": pl.String(),
    "answer": pl.String(),
    "confidence": pl.Float64(),
    "status": pl.String(),
    "prompt_tokens": pl.Int64(),
    "completion_tokens": pl.Int64(),
    "tokens_estimated": pl.Boolean(),
    "cost_usd": pl.Float64(),
    "latency_s": pl.Float64(),
    "cache_hit": pl.Boolean(),
    "attempts": pl.Int64(),
    "error": pl.String(),
}
"""Column names and types of a trace, in order."""


@dataclass(frozen=True, slots=True)
class TraceRow:
    """One call; fields as in :data:`TRACE_SCHEMA`."""

    run: str
    agent: int | None
    sim_time: float
    call: str
    key: str
    request_key: str
    model: str
    sample_index: int
    prompt: str | None
    response: str | None
    answer: str | None
    confidence: float | None
    status: str
    prompt_tokens: int
    completion_tokens: int
    tokens_estimated: bool
    cost_usd: float
    latency_s: float
    cache_hit: bool
    attempts: int
    error: str | None


assert [field.name for field in dataclasses.fields(TraceRow)] == list(TRACE_SCHEMA)


class Trace:
    """Collects the trace rows of a run (or several) in memory.

    Args:
        include_text: Keep prompt and response text (else those columns are null).
    """

    def __init__(self, include_text: bool = True) -> None:
        self.include_text = include_text
        self._rows: list[TraceRow] = []

    def append(self, row: TraceRow) -> None:
        """Add one row (text dropped when ``include_text`` is off)."""
        if not self.include_text:
            row = dataclasses.replace(row, prompt=None, response=None)
        self._rows.append(row)

    def __len__(self) -> int:
        return len(self._rows)

    def frame(self) -> pl.DataFrame:
        """The rows as a DataFrame with :data:`TRACE_SCHEMA`."""
        columns = {name: [getattr(row, name) for row in self._rows] for name in TRACE_SCHEMA}
        return pl.DataFrame(columns, schema=TRACE_SCHEMA)

    def write_parquet(self, path: Path) -> None:
        """Write the rows to a Parquet file, atomically (zstd, no statistics, so the bytes
        depend only on the rows)."""
        frame = self.frame()
        write_atomic(
            Path(path),
            lambda tmp: frame.write_parquet(tmp, statistics=False, compression="zstd"),
        )
