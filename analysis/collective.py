"""Calibration of a group's confidence over many runs: Brier score and ECE.

A group that says it is 80 % sure should be right 80 % of the time. Each run's summary
has the group's decision (``group_choice``), whether it was right (``group_correct``) and
how sure the group was (``group_confidence``: the winner's vote share, its share of
stated confidence, or the pooled posterior, depending on the institution's aggregation
rule). Over the runs of a sweep, per parameter point:

* the **Brier score** of the group's confidence, ``mean((confidence - correct)^2)`` (0 is
  perfect; always saying 0.5 scores 0.25);
* the **expected calibration error** (ECE): runs are binned by confidence (equal-width
  bins over [0, 1]); ECE is the run-weighted mean over bins of ``|mean confidence -
  share correct|``.

Runs without a decision (a tie, no majority) have no confidence and are left out; their
number is reported.

Main entry points: :func:`group_calibration`, :func:`reliability_table`.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl


def _decided(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("group_confidence").is_not_null())


def reliability_table(frame: pl.DataFrame, bins: int = 10) -> pl.DataFrame:
    """Runs binned by the group's confidence: per bin, runs, mean confidence and share
    correct (the data of a reliability diagram).

    Args:
        frame: Run rows with ``group_confidence`` and ``group_correct``.
        bins: Equal-width bins over [0, 1].
    """
    decided = _decided(frame)
    index = (pl.col("group_confidence") * bins).floor().clip(0, bins - 1).cast(pl.Int64)
    return (
        decided.group_by(index.alias("bin"))
        .agg(
            pl.len().alias("runs"),
            pl.col("group_confidence").mean().alias("confidence"),
            pl.col("group_correct").cast(pl.Float64).mean().alias("correct"),
        )
        .sort("bin")
    )


def group_calibration(
    frame: pl.DataFrame | pl.LazyFrame, by: Sequence[str] = (), bins: int = 10
) -> pl.DataFrame:
    """Brier score and ECE of the group's confidence, per parameter point.

    Args:
        frame: Run rows (a sweep's ``runs``, e.g. from :func:`analysis.load`, or
            ``sim episodes`` output).
        by: Columns that identify a parameter point (none: all runs together).
        bins: Bins of the ECE.

    Returns:
        One row per point: ``runs``, ``undecided`` (runs without a decision),
        ``accuracy`` (share of decided runs right), ``confidence`` (mean), ``brier``,
        ``ece``.
    """
    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect()
    keys = list(by)
    groups = frame.partition_by(keys, as_dict=True) if keys else {(): frame}
    rows = []
    for key, part in groups.items():
        decided = _decided(part)
        correct = decided["group_correct"].cast(pl.Float64)
        confidence = decided["group_confidence"]
        table = reliability_table(decided, bins)
        n = decided.height
        ece = (
            float(((table["confidence"] - table["correct"]).abs() * table["runs"]).sum() / n)
            if n
            else None
        )
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "runs": part.height,
                "undecided": part.height - n,
                "accuracy": float(correct.mean()) if n else None,  # type: ignore[arg-type]
                "confidence": float(confidence.mean()) if n else None,  # type: ignore[arg-type]
                "brier": float(((confidence - correct) ** 2).mean()) if n else None,  # type: ignore[arg-type]
                "ece": ece,
            }
        )
    return pl.DataFrame(rows)
