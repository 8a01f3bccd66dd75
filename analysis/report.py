"""A self-contained HTML report of a sweep: what was run, what came out, how to repeat it.

:func:`build_report` reads a sweep folder (see :mod:`analysis.results`) and writes one
HTML file that opens offline (plotly.js is embedded once, nothing is fetched): the
scenario, the sweep's axes, figures chosen from the axes (:func:`choose_figures`), a
table of per-group means with confidence intervals, the resolved scenario as TOML and
the provenance (versions, command, runs and failures).

Main entry points: :func:`build_report`, :func:`render`, :func:`choose_figures`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import polars as pl
import tomli_w

from analysis.collective import group_calibration
from analysis.figures import label, metric_distribution, metric_vs_parameter, phase_diagram
from analysis.results import load, load_manifest
from analysis.stats import CATEGORIES, category_column, summarize
from sim.metrics import SUMMARY_SCHEMA
from sim.results import write_atomic

KEY_METRICS = ("accuracy", "majority_correct", "herding_rate", "consensus")
"""The outcomes every report shows: is the society right, does its majority get it, how
much do agents herd, do they agree."""

BOOKKEEPING = ("run_id", "point_id", "replicate", "status", "error")
"""Columns of a sweep's runs that are neither parameters nor summary metrics."""

MAX_LISTED_VALUES = 12
"""Values of an axis listed in full; longer axes are shortened."""

CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       max-width: 1100px; margin: 2rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.7rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
.subtitle { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.9rem; }
th, td { padding: 0.25rem 0.7rem; border-bottom: 1px solid #e4e4e4; text-align: left;
         vertical-align: top; }
th { background: #f6f6f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.scroll { max-height: 32rem; overflow: auto; }
pre { background: #f6f8fa; padding: 0.8rem; overflow-x: auto; font-size: 0.85rem; }
figure { margin: 1.5rem 0; }
figcaption { color: #555; font-size: 0.9rem; }
.error { color: #b00020; }
"""


@dataclass(frozen=True)
class ReportFigure:
    """A figure of the report and the sentence under it."""

    figure: go.Figure
    caption: str


def _has_values(summary: pl.DataFrame, metric: str) -> bool:
    column = f"{metric}_mean"
    return column in summary.columns and summary[column].drop_nulls().len() > 0


def _varying(runs: pl.DataFrame, parameters: Sequence[str]) -> list[str]:
    """The parameters that take more than one value among the runs."""
    return [p for p in parameters if runs[p].n_unique() > 1]


def _pooled(shown: Sequence[str], varying: Sequence[str]) -> str:
    others = [label(p) for p in varying if p not in shown]
    return f" Runs pooled over {', '.join(others)}." if others else ""


def choose_figures(runs: pl.DataFrame, parameters: Sequence[str]) -> list[ReportFigure]:
    """The report's figures, chosen from the parameters that vary and the metrics present.

    * No varying parameter: the distribution of each key metric over all runs.
    * One: each key metric against it, with its confidence band, then the distribution
      of ``cascade`` outcomes per value when runs have one.
    * Two or more: a phase diagram of accuracy over the first two, each key metric
      against the first with the second as colour (pooled over any others), then the
      ``cascade`` outcomes per value of the first.

    Args:
        runs: Per-run frame (:func:`analysis.results.load`).
        parameters: Swept key paths, in the manifest's order.
    """
    varying = _varying(runs, parameters)
    metrics = [m for m in (*KEY_METRICS, "cascade") if m in runs.columns]
    figures: list[ReportFigure] = []
    if not varying:
        ok = runs.filter(pl.col("status") == "ok")
        for m in metrics:
            if ok[m].drop_nulls().len() > 0:
                caption = f"Distribution of {label(m)} over the successful runs."
                figures.append(ReportFigure(metric_distribution(runs, m), caption))
        return figures

    shown = varying[:2]
    summary = summarize(runs, shown, metrics)
    pooled = _pooled(shown, varying)
    if len(shown) == 2 and _has_values(summary, "accuracy"):
        x, y = shown
        figures.append(
            ReportFigure(
                phase_diagram(summary, x, y, "accuracy"),
                f"Mean accuracy for each combination of {label(x)} and {label(y)}.{pooled}",
            )
        )
    color = shown[1] if len(shown) == 2 else None
    lines = f", one line per value of {label(color)}" if color else ""
    for m in KEY_METRICS:
        if _has_values(summary, m):
            band = "Wilson score" if runs.schema[m] == pl.Boolean else "t"
            caption = f"Mean {label(m)} with its 95% {band} interval (band){lines}.{pooled}"
            figures.append(
                ReportFigure(metric_vs_parameter(summary, shown[0], m, color=color), caption)
            )
    if "cascade" in metrics and runs["cascade"].drop_nulls().len() > 0:
        caption = f"Share of runs ending in each cascade outcome, per {label(shown[0])}."
        caption += _pooled(shown[:1], varying)
        figures.append(ReportFigure(metric_distribution(runs, "cascade", shown[0]), caption))
    return figures


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _interval(row: dict[str, Any], metric: str) -> str:
    mean, low, high = (row.get(f"{metric}_{s}") for s in ("mean", "low", "high"))
    if mean is None:
        return "–"
    if low is None or high is None:
        return f"{mean:.3f}"
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 0) -> str:
    """An HTML table; every cell is escaped. Columns from ``numeric_from`` are numbers;
    an empty ``header`` gives a table without a head row."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    thead = f"<thead><tr>{head}</tr></thead>" if header else ""
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{escape(c)}</td>' if i >= numeric_from else f"<td>{escape(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table>{thead}<tbody>{body}</tbody></table>"


def summary_table(summary: pl.DataFrame, parameters: Sequence[str]) -> str:
    """Per-group table: parameters, ok and failed runs, mean [95% interval] of the key
    metrics and of each cascade outcome present in ``summary``."""
    metrics = [m for m in KEY_METRICS if f"{m}_mean" in summary.columns]
    metrics += [
        category_column(m, c)
        for m, categories in CATEGORIES.items()
        for c in categories
        if f"{category_column(m, c)}_mean" in summary.columns
        and _has_values(summary, category_column(m, c))
    ]
    header = [*parameters, "runs", "errors", *(label(m) for m in metrics)]
    rows = [
        [
            *(_cell(row[p]) for p in parameters),
            str(row["n"]),
            str(row["errors"]),
            *(_interval(row, m) for m in metrics),
        ]
        for row in summary.iter_rows(named=True)
    ]
    return _table(header, rows, numeric_from=len(parameters))


def calibration_table(runs: pl.DataFrame, parameters: Sequence[str]) -> str | None:
    """Per-group table of the group's decision: accuracy, mean confidence, Brier score and
    expected calibration error of ``group_confidence`` (see :mod:`analysis.collective`);
    None when the runs have no group confidence."""
    if "group_confidence" not in runs.columns:
        return None
    ok = runs.filter(pl.col("status") == "ok")
    if ok["group_confidence"].drop_nulls().len() == 0:
        return None
    table = group_calibration(ok, by=parameters).sort(list(parameters) or "runs")
    columns = ("runs", "undecided", "accuracy", "confidence", "brier", "ece")
    header = [*parameters, "runs", "no decision", "group right", "confidence", "Brier", "ECE"]
    rows = [
        [*(_cell(row[p]) for p in parameters), *(_cell(row[c]) for c in columns)]
        for row in table.iter_rows(named=True)
    ]
    return _table(header, rows, numeric_from=len(parameters))


def _values(values: Sequence[Any]) -> str:
    shown = ", ".join(_cell(v) for v in values[:MAX_LISTED_VALUES])
    if len(values) > MAX_LISTED_VALUES:
        shown += f", … ({len(values)} values)"
    return shown


def axes_table(manifest: dict[str, Any]) -> str:
    """The sweep's axes: grid (every combination), zip (values in lock-step) and
    random samples, one row per key path."""
    axes = manifest.get("axes") or {}
    rows = [["grid", key, _values(v)] for key, v in (axes.get("grid") or {}).items()]
    rows += [["zip", key, _values(v)] for key, v in (axes.get("zip") or {}).items()]
    sample = axes.get("sample") or {}
    rows += [
        ["sample", key, f"{sample.get('n', '?')} draws in [{_cell(lo)}, {_cell(hi)}]"]
        for key, (lo, hi) in (sample.get("ranges") or {}).items()
    ]
    if not rows:
        return "<p>No parameter was swept: every run repeats the scenario.</p>"
    return _table(["axis", "parameter", "values"], rows, numeric_from=3)


def _without_nulls(value: Any) -> Any:
    """``value`` without ``None`` entries, which TOML cannot express."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value if v is not None]
    return value


def scenario_toml(scenario: dict[str, Any]) -> str:
    """The resolved scenario as TOML (JSON if it holds something TOML cannot say)."""
    try:
        return tomli_w.dumps(_without_nulls(scenario))
    except (TypeError, ValueError):
        return json.dumps(scenario, indent=2, default=str)


def provenance(manifest: dict[str, Any], runs: pl.DataFrame) -> str:
    """When, with what and how the sweep was run, and how many runs failed (with the
    most frequent error messages)."""
    ok = runs.filter(pl.col("status") == "ok").height
    failed = runs.height - ok
    facts = [
        ["created", str(manifest.get("created", "–"))],
        ["runs", f"{runs.height} found ({manifest.get('runs', '?')} planned)"],
        ["succeeded", str(ok)],
        ["failed", str(failed)],
        ["replicates per point", str(manifest.get("replicates", "–"))],
    ]
    facts += [[f"version of {k}", str(v)] for k, v in (manifest.get("versions") or {}).items()]
    html = _table([], facts, numeric_from=2)
    command = manifest.get("command")
    if command:
        html += f"<p>Command:</p><pre>{escape(str(command))}</pre>"
    if failed:
        errors = (
            runs.filter(pl.col("status") != "ok")
            .group_by("error")
            .len()
            .sort(["len", "error"], descending=[True, False], nulls_last=True)
            .head(5)
        )
        rows = [[_cell(e), str(n)] for e, n in errors.iter_rows()]
        html += '<p class="error">Most frequent errors:</p>'
        html += _table(["error", "runs"], rows, numeric_from=1)
    return html


def _parameters(manifest: dict[str, Any], runs: pl.DataFrame) -> list[str]:
    """Swept key paths: the manifest's list, or failing that every column of the runs
    that is neither bookkeeping nor a summary metric."""
    declared = manifest.get("parameters")
    if declared is None:
        declared = [c for c in runs.columns if c not in BOOKKEEPING and c not in SUMMARY_SCHEMA]
    return [p for p in declared if p in runs.columns]


def _figure_html(figures: Sequence[ReportFigure]) -> str:
    parts = []
    for i, item in enumerate(figures):
        # plotly.js goes inline with the first figure only; the others reuse it.
        div = item.figure.to_html(
            full_html=False,
            include_plotlyjs=i == 0,
            div_id=f"figure-{i + 1}",
            default_height="480px",
            config={"displaylogo": False, "responsive": True},
        )
        caption = f"<figcaption>Figure {i + 1}. {escape(item.caption)}</figcaption>"
        parts.append(f"<figure>{div}{caption}</figure>")
    return "\n".join(parts) or "<p>No metric with values to plot.</p>"


def render(manifest: dict[str, Any], runs: pl.DataFrame) -> str:
    """The report's HTML, from a sweep's manifest and its runs.

    Args:
        manifest: As read by :func:`analysis.results.load_manifest`.
        runs: All runs, as read by :func:`analysis.results.load` (collected).
    """
    scenario = manifest.get("scenario") or {}
    name = str(manifest.get("name") or scenario.get("name") or "sweep")
    parameters = _parameters(manifest, runs)
    summary = summarize(runs, parameters)
    description = scenario.get("description")
    subtitle = f"Scenario <strong>{escape(str(scenario.get('name', '–')))}</strong>"
    if description:
        subtitle += f": {escape(str(description))}"
    replicates = manifest.get("replicates", "–")
    sections = [
        f"<h1>Sweep {escape(name)}</h1>",
        f'<p class="subtitle">{subtitle}</p>',
        "<h2>Sweep</h2>",
        f"<p>{len(parameters)} swept parameter(s), {escape(str(replicates))} replicate(s) "
        f"per point, {runs.height} runs.</p>",
        axes_table(manifest),
        "<h2>Results</h2>",
        _figure_html(choose_figures(runs, parameters)),
        f"<h2>Summary {'per parameter combination' if parameters else 'over all runs'}</h2>",
        "<p>Mean [95% confidence interval] over successful runs: Wilson score interval "
        "for proportions, t interval for means.</p>",
        f'<div class="scroll">{summary_table(summary, parameters)}</div>',
        *_calibration_section(runs, parameters),
        "<h2>Resolved scenario</h2>",
        f"<pre>{escape(scenario_toml(scenario))}</pre>",
        "<h2>Provenance</h2>",
        provenance(manifest, runs),
    ]
    body = "\n".join(sections)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Sweep {escape(name)}</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def _calibration_section(runs: pl.DataFrame, parameters: Sequence[str]) -> list[str]:
    table = calibration_table(runs, parameters)
    if table is None:
        return []
    return [
        "<h2>Group decision and its calibration</h2>",
        "<p>The group's decision under the institution's aggregation rule: how often it is "
        "right, how sure the group is (<code>group_confidence</code>), the Brier score of "
        "that confidence and its expected calibration error (10 equal-width bins). Runs "
        "in which the rule decided nothing are counted apart.</p>",
        f'<div class="scroll">{table}</div>',
    ]


def build_report(sweep_dir: str | Path, out: Path | None = None) -> Path:
    """Write the HTML report of a sweep.

    Args:
        sweep_dir: The sweep folder (``manifest.json``, ``runs/``).
        out: Where to write; by default ``sweep_dir/report.html``.

    Returns:
        The path written.

    Raises:
        ResultsError: The folder is not a sweep output or has no runs yet.
    """
    sweep_dir = Path(sweep_dir)
    manifest = load_manifest(sweep_dir)
    runs = load(sweep_dir, lazy=False)
    html = render(manifest, runs)
    target = sweep_dir / "report.html" if out is None else Path(out)

    def write(path: Path) -> None:
        path.write_text(html, encoding="utf-8")

    # Through a temporary name: a browser reloading the report never sees half of it.
    write_atomic(target, write)
    return target
