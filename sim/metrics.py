"""Summary metrics of a run: one named value per column of ``summary.parquet``.

Each metric is a small pure function of final choices, beliefs and counts, so that it can
be tested on its own and reused by any engine. :data:`SUMMARY_SCHEMA` fixes the column
order and types of the summary row (a column's meaning and type never change silently;
the README documents each one).

Main entry points: :func:`accuracy`, :func:`plurality`, :func:`entropy_bits`,
:func:`brier`, :data:`SUMMARY_SCHEMA`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl


def entropy_bits(counts: Sequence[float] | np.ndarray) -> float:
    """Shannon entropy (bits) of the distribution given by non-negative ``counts``.

    Returns 0.0 for an empty or single-option distribution.
    """
    values = [float(c) for c in counts if c > 0]
    total = sum(values)
    if total <= 0:
        return 0.0
    return -sum(c / total * math.log2(c / total) for c in values) + 0.0


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
    "messages_sent": pl.Int64(),
    "messages_delivered": pl.Int64(),
    "messages_dropped": pl.Int64(),
    "events": pl.Int64(),
    "sim_time": pl.Float64(),
    "stop_reason": pl.String(),
    "wall_seconds": pl.Float64(),
}
"""Columns of the summary row, in order, with their types."""
