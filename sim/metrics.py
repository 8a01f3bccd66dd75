"""Summary metrics of a run: one named value per column of ``summary.parquet``.

Each metric is a small pure function of final choices, beliefs and counts, so that it can
be tested on its own and reused by any engine. :data:`SUMMARY_SCHEMA` fixes the column
order and types of the summary row (a column's meaning and type never change silently;
the README documents each one).

Main entry points: :func:`accuracy`, :func:`plurality`, :func:`entropy_bits`,
:func:`brier`, :data:`SUMMARY_SCHEMA`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import polars as pl

from sim import rules
from sim.institutions import Aggregation, group_decision


def entropy_bits(counts: Sequence[float] | np.ndarray) -> float:
    """Shannon entropy (bits) of the distribution given by non-negative ``counts``.

    Returns 0.0 for an empty or single-option distribution (the kernel is
    :func:`sim.rules.entropy_bits`, which both engines call).
    """
    return float(rules.entropy_bits(np.asarray(counts, dtype=np.float64)))


def accuracy(choices: np.ndarray, truth: int) -> float:
    """Share of agents whose final choice is the truth (``-1``, no choice, counts as wrong)."""
    return float(np.mean(choices == truth))


def plurality(choices: np.ndarray, options: int) -> int | None:
    """The option held by strictly more agents than any other, or ``None`` on a tie."""
    counts = np.bincount(choices[choices >= 0], minlength=options)
    best = np.flatnonzero(counts == counts.max())
    return int(best[0]) if len(best) == 1 and counts.max() > 0 else None


def brier(beliefs: np.ndarray, truth: int) -> float:
    """Mean over agents of the multi-class Brier score ``sum_k (b_k - [k = truth])^2``.

    Args:
        beliefs: ``(n, K)`` array of belief vectors.
        truth: Index of the true option.
    """
    target = np.zeros(beliefs.shape[1])
    target[truth] = 1.0
    return float(np.mean(np.sum((beliefs - target) ** 2, axis=1)))


SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "scenario": pl.String(),
    "seed": pl.Int64(),
    "n_agents": pl.Int64(),
    "options": pl.Int64(),
    "truth": pl.Int64(),
    "accuracy": pl.Float64(),
    "majority_correct": pl.Boolean(),
    "consensus": pl.Boolean(),
    "consensus_time": pl.Float64(),
    "cascade": pl.String(),
    "cascade_onset": pl.Int64(),
    "herding_rate": pl.Float64(),
    "first_mover_lock_in": pl.Boolean(),
    "entropy_final": pl.Float64(),
    "brier": pl.Float64(),
    "group_choice": pl.Int64(),
    "group_correct": pl.Boolean(),
    "group_confidence": pl.Float64(),
    "distinct_answers": pl.Int64(),
    "initial_majority_correct": pl.Boolean(),
    "resolution_quality": pl.Float64(),
    "items_surfaced": pl.Float64(),
    "full_information_match": pl.Boolean(),
    "task_success": pl.Boolean(),
    "task_cost": pl.Float64(),
    "messages_sent": pl.Int64(),
    "messages_delivered": pl.Int64(),
    "messages_dropped": pl.Int64(),
    "events": pl.Int64(),
    "sim_time": pl.Float64(),
    "stop_reason": pl.String(),
    "llm_calls": pl.Int64(),
    "llm_abstentions": pl.Int64(),
    "llm_failures": pl.Int64(),
    "llm_tokens": pl.Int64(),
    "llm_cost_usd": pl.Float64(),
    "engine": pl.String(),
    "wall_seconds": pl.Float64(),
}
"""Columns of the summary row, in order, with their types."""

OUTCOME_COLUMNS = (
    "initial_majority_correct",
    "resolution_quality",
    "items_surfaced",
    "full_information_match",
    "task_success",
    "task_cost",
)
"""Summary columns that only some protocols define (they fill them through
``Society.outcome``); null in runs of the others."""


def summary_row(
    *,
    scenario: str,
    seed: int,
    choices: np.ndarray,
    beliefs: np.ndarray,
    truth: int,
    consensus_time: float | None,
    cascade_action: int | Literal["undefined"] | None,
    cascade_onset: int | None,
    announcements: int,
    herding: int,
    first_option: int | None,
    sent: int,
    delivered: int,
    dropped: int,
    events: int,
    sim_time: float,
    stop_reason: str | None,
    engine: str,
    wall_seconds: float,
    llm_calls: int = 0,
    llm_abstentions: int = 0,
    llm_failures: int = 0,
    llm_tokens: int = 0,
    llm_cost_usd: float = 0.0,
    aggregation: Aggregation = "plurality",
    confidences: np.ndarray | None = None,
    outcome: Mapping[str, Any] | None = None,
    weights: np.ndarray | None = None,
) -> dict[str, Any]:
    """The summary row of a run, from what either engine has at its end.

    Args:
        choices: Final choice per agent (``-1``: none).
        beliefs: ``(n, K)`` final beliefs.
        cascade_action: The cascade observer's action at the end (``None``: no cascade),
            or ``"undefined"`` when the protocol has no observer.
        first_option: Option of the first announcement of the run.
        llm_calls: Requests of LLM-backed agents answered (the ``llm_*`` counts are 0 in
            runs without such agents).
        aggregation: The institution's aggregation rule (see
            :func:`sim.institutions.group_decision`).
        confidences: Each agent's stated confidence (NaN or None: its belief in its answer).
        outcome: Values of :data:`OUTCOME_COLUMNS` the protocol defines.
        weights: Members' vote weights for the ``reputation`` rule.

    Returns:
        One value per column of :data:`SUMMARY_SCHEMA`, in order.
    """
    options = beliefs.shape[1]
    winner = plurality(choices, options)
    stated = np.full(len(choices), np.nan) if confidences is None else confidences
    group, group_confidence = group_decision(choices, beliefs, stated, aggregation, weights)
    extra = dict(outcome or {})
    unknown = set(extra) - set(OUTCOME_COLUMNS)
    assert not unknown, f"not outcome columns: {sorted(unknown)}"
    cascade: str | None = None
    if cascade_action != "undefined":
        cascade = (
            "none" if cascade_action is None else "correct" if cascade_action == truth else "wrong"
        )
    row: dict[str, Any] = {
        "scenario": scenario,
        "seed": seed,
        "n_agents": len(choices),
        "options": options,
        "truth": truth,
        "accuracy": accuracy(choices, truth),
        "majority_correct": winner == truth,
        "consensus": consensus_time is not None,
        "consensus_time": consensus_time,
        "cascade": cascade,
        "cascade_onset": cascade_onset,
        "herding_rate": herding / announcements if announcements else None,
        "first_mover_lock_in": first_option is not None and winner == first_option,
        "entropy_final": entropy_bits(np.bincount(choices[choices >= 0])),
        "brier": brier(beliefs, truth),
        "group_choice": group,
        "group_correct": group == truth,
        "group_confidence": group_confidence,
        "distinct_answers": len(np.unique(choices[choices >= 0])),
        **{column: extra.get(column) for column in OUTCOME_COLUMNS},
        "messages_sent": sent,
        "messages_delivered": delivered,
        "messages_dropped": dropped,
        "events": events,
        "sim_time": sim_time,
        "stop_reason": stop_reason,
        "llm_calls": llm_calls,
        "llm_abstentions": llm_abstentions,
        "llm_failures": llm_failures,
        "llm_tokens": llm_tokens,
        "llm_cost_usd": llm_cost_usd,
        "engine": engine,
        "wall_seconds": wall_seconds,
    }
    assert list(row) == list(SUMMARY_SCHEMA)
    return row
