"""Plotly figures of a sweep: how an outcome moves with the parameters swept.

Each function takes the per-group summary of :func:`analysis.stats.summarize` (or, for
distributions, the per-run frame of :func:`analysis.results.load`) and returns a
``plotly.graph_objects.Figure`` with human axis labels (:func:`label`), a colour-blind
safe palette and the ``plotly_white`` template. Data go into the figures as plain lists
so that their JSON (and a report's HTML) holds the numbers themselves.

Main entry points: :func:`metric_vs_parameter`, :func:`phase_diagram`,
:func:`metric_distribution`, :func:`label`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
import polars as pl

from analysis.stats import CATEGORIES, category_column

TEMPLATE = "plotly_white"

# Okabe & Ito's palette: distinguishable with every common colour-vision deficiency.
# Yellow comes last; it is faint on white.
COLORS = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442",
)  # fmt: skip

LABELS: dict[str, str] = {
    # Parameters (key paths of a scenario); group keys are matched without their index.
    "seed": "root seed",
    "world.signal_accuracy": "signal accuracy p",
    "world.options": "options K",
    "world.truth": "true option",
    "population.size": "population size n",
    "population.placement": "placement",
    "signal_accuracy": "signal accuracy p",
    "share": "share of the population",
    "weight": "social weight",
    "self_weight": "DeGroot self-weight",
    "threshold": "adoption threshold",
    "tie_rule": "tie rule",
    "assumed_accuracy": "assumed accuracy of others",
    "network.topology": "network topology",
    "network.k": "ring neighbours k",
    "network.p": "link / rewiring probability p",
    "network.mean_degree": "mean degree",
    "network.degree": "degree",
    "network.m": "links per new node m",
    "network.p_in": "link probability within blocks",
    "network.p_out": "link probability across blocks",
    "channels.latency": "latency (simulated time)",
    "channels.drop": "message loss probability",
    "channels.capacity": "channel capacity (messages)",
    "protocol.kind": "protocol",
    "protocol.interval": "time between turns (simulated time)",
    "protocol.wake_rate": "wake rate (per unit of simulated time)",
    "protocol.rounds": "rounds",
    "protocol.round_duration": "round duration (simulated time)",
    "stop.max_time": "time limit (simulated time)",
    # Summary metrics.
    "n_agents": "agents",
    "options": "options K",
    "accuracy": "accuracy (share of agents right)",
    "majority_correct": "P(majority correct)",
    "consensus": "P(consensus)",
    "consensus_time": "consensus time (simulated time)",
    "cascade": "cascade",
    "cascade=correct": "P(correct cascade)",
    "cascade=wrong": "P(wrong cascade)",
    "cascade=none": "P(no cascade)",
    "cascade_onset": "cascade onset (position in acting order)",
    "herding_rate": "herding rate",
    "first_mover_lock_in": "P(first-mover lock-in)",
    "entropy_final": "final entropy (bits)",
    "brier": "Brier score",
    "messages_sent": "messages sent",
    "messages_delivered": "messages delivered",
    "messages_dropped": "messages dropped",
    "events": "events processed",
    "sim_time": "simulated time",
    "wall_seconds": "wall-clock time (s)",
}
"""Human labels of known key paths and metrics; anything else is shown as it is named."""

# Metrics bounded by [0, 1]: their axes show the whole range, so that figures compare.
UNIT_INTERVAL = frozenset(
    {"accuracy", "majority_correct", "consensus", "herding_rate", "first_mover_lock_in"}
    | {category_column(m, c) for m, cats in CATEGORIES.items() for c in cats}
)


def label(name: str) -> str:
    """Human label of a key path or metric (``world.signal_accuracy`` → ``signal accuracy p``).

    A group's key (``population.groups.0.weight``) is labelled by its key and the group
    (``social weight (group 0)``); an unknown name is returned unchanged.
    """
    if name in LABELS:
        return LABELS[name]
    parts = name.split(".")
    if len(parts) >= 4 and parts[:2] == ["population", "groups"] and parts[2].isdigit():
        key = ".".join(parts[3:])
        return f"{LABELS.get(key, key)} (group {parts[2]})"
    return name


def _format(value: Any) -> str:
    """A parameter value as a legend or category label: ``0.6``, ``20``, ``cycle``."""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _axis_values(series: pl.Series) -> list[Any]:
    # Plotly reads True/False as 1/0; as text they stay categories.
    return [_format(v) for v in series] if series.dtype == pl.Boolean else series.to_list()


def _rgba(color: str, alpha: float) -> str:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"


def _layout(figure: go.Figure, title: str, x_title: str, y_title: str, metric: str) -> None:
    figure.update_layout(
        template=TEMPLATE,
        colorway=list(COLORS),
        title={"text": title},
        xaxis_title=x_title,
        yaxis_title=y_title,
        hovermode="closest",
    )
    if metric in UNIT_INTERVAL:
        figure.update_yaxes(range=[-0.02, 1.02])


def _require(frame: pl.DataFrame, columns: Sequence[str], hint: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"no column(s) {missing} in the frame; {hint}")


def metric_vs_parameter(
    summary: pl.DataFrame,
    x: str,
    metric: str,
    color: str | None = None,
    title: str | None = None,
) -> go.Figure:
    """A metric's mean against one parameter, with its confidence band.

    One line with markers per value of ``color`` (or a single line), over a shaded band
    from ``<metric>_low`` to ``<metric>_high``. Groups whose bounds are null (one run)
    show the mean without a band there.

    Args:
        summary: Per-group summary from :func:`analysis.stats.summarize`, grouped by
            ``x`` (and ``color``) only.
        x: Parameter on the horizontal axis.
        metric: Metric (``accuracy``, ``cascade=wrong``…), read from its ``_mean``,
            ``_low`` and ``_high`` columns.
        color: Parameter distinguishing the lines, or ``None``.
        title: Figure title; by default "<metric> vs <parameter>".

    Returns:
        For each line, a band trace (``fill="toself"``, no legend entry) and then the
        line trace, in the order of the sorted ``color`` values.
    """
    mean, low, high = (f"{metric}_{s}" for s in ("mean", "low", "high"))
    keys = [x] if color is None else [x, color]
    _require(summary, [*keys, mean, low, high], "pass a summary from analysis.stats.summarize")
    if summary.select(keys).is_duplicated().any():
        raise ValueError(
            f"several summary rows share a value of {keys}: summarize by exactly {keys}"
        )
    figure = go.Figure()
    groups = (
        [(None, summary)]
        if color is None
        else [(key[0], part) for key, part in summary.group_by(color, maintain_order=True)]
    )
    groups.sort(key=lambda group: (group[0] is None, group[0]))
    for i, (value, part) in enumerate(groups):
        part = part.sort(x)
        hue = COLORS[i % len(COLORS)]
        name = label(metric) if value is None else _format(value)
        banded = part.filter(pl.col(low).is_not_null() & pl.col(high).is_not_null())
        band_x = _axis_values(banded[x])
        figure.add_trace(
            go.Scatter(
                x=band_x + band_x[::-1],
                y=banded[high].to_list() + banded[low].to_list()[::-1],
                fill="toself",
                fillcolor=_rgba(hue, 0.18),
                mode="lines",  # plotly's default adds markers on short traces
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                legendgroup=name,
                name=f"{name} (confidence band)",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=_axis_values(part[x]),
                y=part[mean].to_list(),
                mode="lines+markers",
                line={"color": hue, "width": 2},
                marker={"size": 7},
                name=name,
                legendgroup=name,
                customdata=list(zip(part[low].to_list(), part[high].to_list(), strict=True)),
                hovertemplate=(
                    f"{label(x)} = %{{x}}<br>{label(metric)} = %{{y:.3f}}"
                    "<br>interval [%{customdata[0]:.3f}, %{customdata[1]:.3f}]<extra></extra>"
                ),
            )
        )
    default = f"{label(metric)} vs {label(x)}"
    if color is not None:
        default += f", by {label(color)}"
    _layout(figure, title or default, label(x), label(metric), metric)
    figure.update_layout(showlegend=color is not None, legend_title_text=label(color or ""))
    return figure


def phase_diagram(
    summary: pl.DataFrame, x: str, y: str, metric: str, title: str | None = None
) -> go.Figure:
    """Heatmap of a metric's mean over two parameters: where the society's behaviour
    changes regime.

    Args:
        summary: Per-group summary from :func:`analysis.stats.summarize`, grouped by
            exactly ``[x, y]``.
        x: Parameter on the horizontal axis.
        y: Parameter on the vertical axis.
        metric: Metric whose ``_mean`` colours the cells (``_low``/``_high`` are shown
            on hover when present).
        title: Figure title; by default "<metric> over <x> and <y>".

    Returns:
        One ``Heatmap`` trace; ``z[i][j]`` is the mean at ``y = ys[i]``, ``x = xs[j]``
        (sorted values), ``None`` where the combination was not run.
    """
    mean, low, high = (f"{metric}_{s}" for s in ("mean", "low", "high"))
    _require(summary, [x, y, mean], "pass a summary from analysis.stats.summarize")
    if summary.select(x, y).is_duplicated().any():
        raise ValueError(f"several summary rows share a value of ({x}, {y}): summarize by both")
    xs = summary[x].unique().sort().to_list()
    ys = summary[y].unique().sort().to_list()
    cells = {(r[x], r[y]): r for r in summary.iter_rows(named=True)}
    bounded = low in summary.columns and high in summary.columns

    def cell(xv: Any, yv: Any, column: str) -> Any:
        row = cells.get((xv, yv))
        return None if row is None else row[column]

    z = [[cell(xv, yv, mean) for xv in xs] for yv in ys]
    heatmap = go.Heatmap(
        x=_axis_values(pl.Series(xs)),
        y=_axis_values(pl.Series(ys)),
        z=z,
        colorscale="Viridis",
        colorbar={"title": {"text": label(metric), "side": "right"}},
        hoverongaps=False,
        hovertemplate=f"{label(x)} = %{{x}}<br>{label(y)} = %{{y}}<br>{label(metric)} = %{{z:.3f}}"
        + ("<br>interval [%{customdata[0]:.3f}, %{customdata[1]:.3f}]" if bounded else "")
        + "<extra></extra>",
    )
    if bounded:
        heatmap.customdata = [[[cell(xv, yv, low), cell(xv, yv, high)] for xv in xs] for yv in ys]
    if metric in UNIT_INTERVAL:
        heatmap.update(zmin=0.0, zmax=1.0)
    figure = go.Figure(heatmap)
    title = title or f"{label(metric)} over {label(x)} and {label(y)}"
    figure.update_layout(template=TEMPLATE, title={"text": title})
    # A swept grid is a set of settings, not a continuum: one equal cell per value (a
    # numeric axis would stretch cells by the gaps between values).
    figure.update_xaxes(title_text=label(x), type="category" if len(xs) <= 30 else None)
    figure.update_yaxes(title_text=label(y), type="category" if len(ys) <= 30 else None)
    return figure


def _group_labels(frame: pl.DataFrame, by: list[str]) -> pl.Series:
    """One label per row naming its group: ``0.6``, or ``world.options=3, network.p=0.1``."""
    if not by:
        return pl.Series("group", ["all runs"] * frame.height)
    if len(by) == 1:
        return pl.Series("group", [_format(v) for v in frame[by[0]]])
    rows = frame.select(by).iter_rows()
    return pl.Series(
        "group", [", ".join(f"{k}={_format(v)}" for k, v in zip(by, r, strict=True)) for r in rows]
    )


def metric_distribution(
    df: pl.DataFrame | pl.LazyFrame,
    metric: str,
    by: str | Sequence[str] | None = None,
    title: str | None = None,
) -> go.Figure:
    """The spread of a metric's per-run values in each group.

    A numeric metric gets one box per group (mean and standard deviation marked). A
    string or Boolean metric (``cascade``, ``consensus``) gets one stacked bar per group,
    split into the share of runs in each category (known categories, such as the three
    cascade outcomes or true and false, even when no run had them). Only runs with
    ``status == "ok"`` (when there is a status column) and a value are counted.

    Args:
        df: Per-run frame, e.g. from :func:`analysis.results.load`.
        metric: Summary column.
        by: Grouping column(s), or ``None`` for all runs together.
        title: Figure title; by default "<metric> by <group>".

    Returns:
        Box traces (one per group, named by the group's value) or bar traces (one per
        category, x = groups, y = share of the group's runs).
    """
    keys = [] if by is None else [by] if isinstance(by, str) else list(by)
    frame = df.lazy()
    schema = frame.collect_schema()
    missing = [c for c in [*keys, metric] if c not in schema]
    if missing:
        raise ValueError(f"no column(s) {missing} in the runs (columns: {schema.names()})")
    if "status" in schema:
        frame = frame.filter(pl.col("status") == "ok")
    runs = frame.select(*keys, metric).drop_nulls(metric).collect()
    runs = runs.sort(keys, nulls_last=True) if keys else runs
    runs = runs.with_columns(_group_labels(runs, keys))
    groups = runs["group"].unique(maintain_order=True).to_list()
    figure = go.Figure()
    numeric = schema[metric].is_numeric()
    if numeric:
        for i, group in enumerate(groups):
            values = runs.filter(pl.col("group") == group)[metric].to_list()
            figure.add_trace(
                go.Box(
                    y=values,
                    name=group,
                    boxmean="sd",
                    boxpoints="outliers",
                    marker={"color": COLORS[i % len(COLORS)]},
                    showlegend=False,
                )
            )
    else:
        text = runs.with_columns(pl.col(metric).cast(pl.String))
        # Known categories are always drawn: a zero share is a finding too.
        known = ("true", "false") if schema[metric] == pl.Boolean else CATEGORIES.get(metric, ())
        categories = [*known, *sorted(set(text[metric].to_list()) - set(known))]
        totals = text.group_by("group").len()
        for i, category in enumerate(categories):
            counts = (
                text.filter(pl.col(metric) == category)
                .group_by("group")
                .len()
                .join(totals, on="group", suffix="_all")
            )
            share = dict(zip(counts["group"], counts["len"] / counts["len_all"], strict=True))
            figure.add_trace(
                go.Bar(
                    x=groups,
                    y=[share.get(g, 0.0) for g in groups],
                    name=category,
                    marker={"color": COLORS[i % len(COLORS)]},
                    hovertemplate=f"%{{x}}<br>{category}: %{{y:.3f}}<extra></extra>",
                )
            )
        figure.update_layout(barmode="stack", legend_title_text=label(metric))
    group_title = ", ".join(label(k) for k in keys) if keys else ""
    default = f"{label(metric)} by {group_title}" if keys else f"{label(metric)} over all runs"
    y_title = label(metric) if numeric else "share of runs"
    _layout(figure, title or default, group_title, y_title, metric)
    if not numeric:
        figure.update_yaxes(range=[0, 1.0])
    # Group labels are categories even when they look like numbers.
    figure.update_xaxes(type="category")
    return figure
