"""Confidence intervals, and per-group summaries of a sweep's runs.

A sweep repeats each parameter combination over many seeds; what one reads off it is, per
combination, the mean of each summary metric with a confidence interval. Yes/no metrics
(``majority_correct``, ``consensus``, ``first_mover_lock_in``) are proportions and get a
Wilson score interval, which stays inside [0, 1] and is honest near 0 and 1 where the
normal approximation is not. Numeric metrics get a Student t interval on the mean.
Categorical metrics (``cascade``: ``"correct"``, ``"wrong"``, ``"none"``) become one
proportion per category, column ``cascade=correct`` and so on.

Main entry points: :func:`summarize`, :func:`wilson_interval`, :func:`t_interval`,
:func:`default_metrics`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl
from scipy.stats import norm
from scipy.stats import t as student_t

from sim.metrics import SUMMARY_SCHEMA

NOT_METRICS = frozenset(
    {"scenario", "seed", "stop_reason", "wall_seconds", "n_agents", "options", "truth"}
)
"""Summary columns that identify or describe a run rather than measure its outcome."""

CATEGORIES: dict[str, tuple[str, ...]] = {"cascade": ("correct", "wrong", "none")}
"""Known categories of string metrics: always reported, even when a group never saw one."""

STATISTICS = ("mean", "se", "low", "high", "n")
"""Suffixes of the columns :func:`summarize` writes for each metric (``accuracy_mean``…)."""


def category_column(metric: str, category: str) -> str:
    """Name of the proportion of runs whose ``metric`` is ``category`` (``cascade=wrong``)."""
    return f"{metric}={category}"


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence}")


def _z(confidence: float) -> float:
    """Two-sided standard normal quantile: 1.959964… for 95%."""
    _check_confidence(confidence)
    return float(norm.ppf(0.5 + confidence / 2))


def _wilson(
    successes: np.ndarray, n: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score bounds, elementwise; NaN where ``n == 0``."""
    z = _z(confidence)
    k = successes.astype(float)
    m = n.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / m
        shrink = 1 + z * z / m
        centre = (p + z * z / (2 * m)) / shrink
        half = z / shrink * np.sqrt(p * (1 - p) / m + z * z / (4 * m * m))
    # At k = 0 (k = n) the lower (upper) bound is exactly 0 (1); rounding would leave
    # a stray 1e-17 there.
    low = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(k == m, 1.0, np.clip(centre + half, 0.0, 1.0))
    empty = m == 0
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def _t_half_width(sd: np.ndarray, n: np.ndarray, confidence: float) -> np.ndarray:
    """Half-width of the t interval on a mean, elementwise; NaN where ``n < 2``."""
    _check_confidence(confidence)
    m = n.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        quantile = student_t.ppf(0.5 + confidence / 2, np.where(m >= 2, m - 1, np.nan))
        return np.asarray(quantile * sd / np.sqrt(m), dtype=float)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion of ``successes`` out of ``n``.

    With ``p = k / n`` and ``z`` the two-sided normal quantile::

        (p + z²/2n ± z·sqrt(p(1 − p)/n + z²/4n²)) / (1 + z²/n)

    Args:
        successes: Number of successes ``k``, ``0 <= k <= n``.
        n: Number of trials, at least 1.
        confidence: Coverage, e.g. ``0.95``.

    Returns:
        ``(low, high)`` within [0, 1]; ``low`` is 0 when ``k = 0``, ``high`` 1 when ``k = n``.

    Raises:
        ValueError: ``n < 1``, ``k`` outside ``[0, n]``, or ``confidence`` outside (0, 1).
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n = {n}, got {successes}")
    low, high = _wilson(np.array([successes]), np.array([n]), confidence)
    return float(low[0]), float(high[0])


def t_interval(mean: float, sd: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Student t confidence interval for a population mean.

    ``mean ± t(1/2 + confidence/2; n − 1) · sd / sqrt(n)``.

    Args:
        mean: Sample mean.
        sd: Sample standard deviation (``n − 1`` denominator).
        n: Sample size, at least 2.
        confidence: Coverage, e.g. ``0.95``.

    Returns:
        ``(low, high)``.

    Raises:
        ValueError: ``n < 2`` (no spread to estimate), ``sd < 0``, or ``confidence``
            outside (0, 1).
    """
    if n < 2:
        raise ValueError(f"a t interval needs n >= 2, got {n}")
    if sd < 0 or math.isnan(sd):
        raise ValueError(f"sd must be non-negative, got {sd}")
    half = float(_t_half_width(np.array([sd]), np.array([n]), confidence)[0])
    return mean - half, mean + half


def default_metrics(columns: Iterable[str]) -> list[str]:
    """The summary metrics among ``columns``, in summary order, without bookkeeping.

    Identifiers and descriptions of a run (:data:`NOT_METRICS`: scenario, seed, stop
    reason, wall time, population size, options, truth) are left out.
    """
    present = set(columns)
    return [c for c in SUMMARY_SCHEMA if c in present and c not in NOT_METRICS]


def _kind(metric: str, dtype: pl.DataType) -> str:
    """``"proportion"``, ``"numeric"`` or ``"categorical"``, from the column type."""
    if dtype == pl.Boolean:
        return "proportion"
    if dtype.is_numeric():
        return "numeric"
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return "categorical"
    raise ValueError(f"metric {metric!r} has type {dtype}, which cannot be summarized")


def _categories(frame: pl.LazyFrame, ok: pl.Expr, metrics: list[str]) -> dict[str, list[str]]:
    """Known categories of each string metric, then any others seen, sorted."""
    if not metrics:
        return {}
    seen = (
        frame.filter(ok)
        .select(pl.col(m).cast(pl.String).unique().drop_nulls().implode() for m in metrics)
        .collect()
    )
    out = {}
    for m in metrics:
        known = list(CATEGORIES.get(m, ()))
        others = sorted(set(seen[m][0].to_list()) - set(known))
        out[m] = known + others
    return out


def _tmp(*parts: str) -> str:
    """Name of an intermediate aggregate; the prefix keeps it clear of real columns."""
    return "::".join(("__summarize", *parts))


def _aggregates(
    metric: str, kind: str, ok: pl.Expr, categories: list[str], is_float: bool
) -> list[pl.Expr]:
    value = pl.col(metric).filter(ok)
    if is_float:
        value = value.fill_nan(None)  # a NaN metric is a missing one
    if kind == "numeric":
        return [
            value.mean().alias(_tmp(metric, "mean")),
            value.std().alias(_tmp(metric, "sd")),
            value.count().alias(_tmp(metric, "n")),
        ]
    if kind == "proportion":
        return [value.sum().alias(_tmp(metric, "k")), value.count().alias(_tmp(metric, "n"))]
    text = value.cast(pl.String)
    return [
        *((text == c).sum().alias(_tmp(metric, "k", c)) for c in categories),
        text.count().alias(_tmp(metric, "n")),
    ]


def _statistic_columns(
    name: str, mean: np.ndarray, se: np.ndarray, low: np.ndarray, high: np.ndarray, n: np.ndarray
) -> list[pl.Series]:
    values = {"mean": mean, "se": se, "low": low, "high": high}
    columns = [
        pl.Series(f"{name}_{s}", v, dtype=pl.Float64, nan_to_null=True) for s, v in values.items()
    ]
    return [*columns, pl.Series(f"{name}_n", n, dtype=pl.Int64)]


def _proportion(name: str, k: np.ndarray, n: np.ndarray, confidence: float) -> list[pl.Series]:
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        se = np.sqrt(p * (1 - p) / n)
    low, high = _wilson(k, n, confidence)
    return _statistic_columns(name, p, se, low, high, n)


def _mean(
    name: str, mean: np.ndarray, sd: np.ndarray, n: np.ndarray, confidence: float
) -> list[pl.Series]:
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.where(n >= 2, sd / np.sqrt(n), np.nan)
    half = _t_half_width(sd, n, confidence)
    return _statistic_columns(name, mean, se, mean - half, mean + half, n)


def _array(frame: pl.DataFrame, column: str) -> np.ndarray:
    return frame[column].cast(pl.Float64).to_numpy()


def summarize(
    df: pl.DataFrame | pl.LazyFrame,
    by: str | Sequence[str],
    metrics: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> pl.DataFrame:
    """Mean and confidence interval of each metric per group of runs.

    Only runs with ``status == "ok"`` enter the statistics; the others are counted per
    group in ``errors`` (a frame without a ``status`` column is all ok). Null (and NaN)
    values of a metric are ignored for that metric alone.

    For every metric ``m`` the result has ``m_mean``, ``m_se`` (standard error),
    ``m_low``, ``m_high`` (confidence bounds) and ``m_n`` (runs with a value). Boolean
    metrics are proportions with a Wilson interval; numeric metrics get a t interval
    on the mean (null bounds with fewer than two values); string metrics are expanded
    into one proportion per category, named ``m=category`` (``cascade=correct_mean``),
    each out of the runs where ``m`` is not null.

    Args:
        df: Runs, e.g. from :func:`analysis.results.load` (lazy or not).
        by: Grouping columns, usually swept key paths; empty for one overall row.
        metrics: Metric columns; by default every summary metric present
            (:func:`default_metrics`) that is not a grouping column.
        confidence: Coverage of the intervals.

    Returns:
        One row per group, sorted by ``by``: the grouping columns, ``n`` (ok runs),
        ``errors`` (failed runs), then the statistics of each metric in turn.

    Raises:
        ValueError: A grouping or metric column is missing or of an unusable type, or
            ``confidence`` is outside (0, 1).
    """
    _check_confidence(confidence)
    keys = [by] if isinstance(by, str) else list(by)
    frame = df.lazy()
    schema = frame.collect_schema()
    chosen = (
        [m for m in default_metrics(schema.names()) if m not in keys]
        if metrics is None
        else list(metrics)
    )
    missing = [c for c in [*keys, *chosen] if c not in schema]
    if missing:
        raise ValueError(f"no column(s) {missing} to summarize (columns: {schema.names()})")

    # An all-null column read from Parquet may carry the Null type; give it its
    # documented one so it is summarized like the others (as all missing).
    untyped = [m for m in chosen if schema[m] == pl.Null]
    frame = frame.with_columns(pl.col(m).cast(SUMMARY_SCHEMA.get(m, pl.Float64())) for m in untyped)
    schema = frame.collect_schema()

    if "status" not in schema:
        # A column, not a literal: a literal would count once per group, not per row.
        frame = frame.with_columns(pl.lit("ok").alias("status"))
    ok = (pl.col("status") == "ok").fill_null(False)
    kinds = {m: _kind(m, schema[m]) for m in chosen}
    categories = _categories(frame, ok, [m for m in chosen if kinds[m] == "categorical"])
    aggregates = [ok.sum().alias("n"), (~ok).sum().alias("errors")]
    for m in chosen:
        aggregates += _aggregates(m, kinds[m], ok, categories.get(m, []), schema[m].is_float())
    grouped = (frame.group_by(keys).agg(aggregates) if keys else frame.select(aggregates)).collect()

    columns: list[pl.Series] = [
        *(grouped[k] for k in keys),
        grouped["n"].cast(pl.Int64),
        grouped["errors"].cast(pl.Int64),
    ]
    for m in chosen:
        n = grouped[_tmp(m, "n")].cast(pl.Int64).to_numpy()
        if kinds[m] == "numeric":
            mean, sd = _array(grouped, _tmp(m, "mean")), _array(grouped, _tmp(m, "sd"))
            columns += _mean(m, mean, sd, n, confidence)
        elif kinds[m] == "proportion":
            columns += _proportion(m, _array(grouped, _tmp(m, "k")), n, confidence)
        else:
            for c in categories[m]:
                k = _array(grouped, _tmp(m, "k", c))
                columns += _proportion(category_column(m, c), k, n, confidence)
    result = pl.DataFrame(columns)
    return result.sort(keys, nulls_last=True) if keys else result
