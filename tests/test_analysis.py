"""Reading sweep outputs, their statistics and figures, on a fabricated sweep.

The sweep folder is written here with the exact layout a sweep produces (manifest, run
chunks with typed columns, some failed runs, time series), from rows drawn with fixed
seeds; every expected number is recomputed from those rows in plain Python.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import plotly.io as pio
import polars as pl
import pytest
from scipy.stats import norm
from scipy.stats import t as student_t

from analysis.figures import (
    COLORS,
    label,
    metric_distribution,
    metric_vs_parameter,
    phase_diagram,
)
from analysis.results import ResultsError, load, load_manifest, load_timeseries
from analysis.stats import default_metrics, summarize, t_interval, wilson_interval
from sim.metrics import SUMMARY_SCHEMA

P = "world.signal_accuracy"
W = "population.groups.0.weight"
GRID: dict[str, list[Any]] = {P: [0.6, 0.7, 0.8], W: [0.5, 2.0]}
REPLICATES = 12
BOOKKEEPING_SCHEMA = {
    "run_id": pl.Int64(),
    "point_id": pl.Int64(),
    "replicate": pl.Int64(),
    "status": pl.String(),
    "error": pl.String(),
}


def fabricate_runs(
    grid: dict[str, list[Any]], replicates: int, seed: int = 0
) -> list[dict[str, Any]]:
    """One row per run, as a sweep writes it: every 7th run fails; the others draw their
    metrics around the signal accuracy (consensus time missing without consensus,
    herding rate missing in every 5th run)."""
    rng = np.random.default_rng(seed)
    rows = []
    run_id = 0
    for point_id, values in enumerate(itertools.product(*grid.values())):
        params = dict(zip(grid, values, strict=True))
        for replicate in range(replicates):
            row: dict[str, Any] = {
                "run_id": run_id,
                "point_id": point_id,
                "replicate": replicate,
                "status": "ok",
                "error": None,
                **params,
                **dict.fromkeys(SUMMARY_SCHEMA),
            }
            if run_id % 7 == 3:
                row |= {"status": "error", "error": "RuntimeError: agent exploded"}
            else:
                p = float(params.get(P, 0.7))
                accuracy = int(rng.binomial(20, p)) / 20
                consensus = bool(rng.random() < p - 0.2)
                row |= {
                    "scenario": "fabricated",
                    "seed": run_id,
                    "n_agents": 20,
                    "options": 2,
                    "truth": int(rng.integers(2)),
                    "accuracy": accuracy,
                    "majority_correct": accuracy > 0.5,
                    "consensus": consensus,
                    "consensus_time": float(rng.uniform(1, 20)) if consensus else None,
                    "cascade": str(
                        rng.choice(["correct", "wrong", "none"], p=[p, (1 - p) / 2, (1 - p) / 2])
                    ),
                    "cascade_onset": int(rng.integers(0, 6)),
                    "herding_rate": None if run_id % 5 == 0 else float(rng.uniform(0, 1 - p)),
                    "first_mover_lock_in": bool(rng.random() < 0.5),
                    "entropy_final": float(rng.uniform(0, 1)),
                    "brier": float(rng.uniform(0, 0.5)),
                    "messages_sent": 380,
                    "messages_delivered": 380,
                    "messages_dropped": 0,
                    "events": int(rng.integers(300, 500)),
                    "sim_time": 19.0,
                    "stop_reason": "completed",
                    "wall_seconds": 0.01,
                }
            rows.append(row)
            run_id += 1
    return rows


def _dtype(values: list[Any]) -> pl.DataType:
    kinds = {type(v) for v in values}
    if kinds == {bool}:
        return pl.Boolean()
    if kinds == {int}:
        return pl.Int64()
    if kinds <= {int, float}:
        return pl.Float64()
    return pl.String()


def write_sweep(
    folder: Path,
    grid: dict[str, list[Any]],
    rows: list[dict[str, Any]],
    *,
    replicates: int,
    chunks: int = 3,
    name: str = "fabricated-sweep",
    timeseries: bool = True,
) -> Path:
    """Write ``rows`` as a sweep folder: manifest, ``chunks`` run chunks, time series."""
    schema = BOOKKEEPING_SCHEMA | {k: _dtype(v) for k, v in grid.items()} | SUMMARY_SCHEMA
    (folder / "runs").mkdir(parents=True)
    for i, part in enumerate(np.array_split(np.arange(len(rows)), chunks)):
        chunk = pl.DataFrame([rows[j] for j in part], schema=schema, orient="row")
        chunk.write_parquet(folder / "runs" / f"chunk-{i:05d}.parquet")
    if timeseries:
        (folder / "timeseries").mkdir()
        for i, part in enumerate(np.array_split(np.arange(len(rows)), 2)):
            ids = [rows[j]["run_id"] for j in part if rows[j]["status"] == "ok"]
            pl.DataFrame(
                {
                    "run_id": pl.Series([r for r in ids for _ in range(3)], dtype=pl.Int32),
                    "time": [t for _ in ids for t in (0.0, 1.0, 2.0)],
                    "acted": [a for _ in ids for a in (1, 2, 3)],
                    "share_0": [0.05, 0.1, 0.15] * len(ids),
                    "share_1": [0.0, 0.0, 0.0] * len(ids),
                    "accuracy": [0.05, 0.1, 0.15] * len(ids),
                    "entropy": [0.0, 0.0, 0.0] * len(ids),
                }
            ).write_parquet(folder / "timeseries" / f"chunk-{i:05d}.parquet")
    manifest = {
        "name": name,
        "scenario": {
            "name": "cascade",
            "description": "BHW information cascade",
            "seed": 1,
            "world": {"options": 2, "truth": "random", "signal_accuracy": 0.7},
            "population": {"size": 20, "groups": [{"agent": "social", "weight": 1.0}]},
        },
        "parameters": list(grid),
        "axes": {"grid": grid, "zip": {}, "sample": None},
        "replicates": replicates,
        "runs": len(rows),
        "metrics": list(SUMMARY_SCHEMA),
        "created": "2026-01-02T03:04:05+00:00",
        "versions": {"societysim": "0.1.0", "python": "3.12.1", "numpy": np.__version__},
        "command": "sim sweep scenarios/cascade.toml --grid world.signal_accuracy=0.6,0.7,0.8",
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return fabricate_runs(GRID, REPLICATES)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory, rows: list[dict[str, Any]]) -> Path:
    return write_sweep(tmp_path_factory.mktemp("sweep"), GRID, rows, replicates=REPLICATES)


def _groups(rows: list[dict[str, Any]], keys: list[str]) -> dict[tuple[Any, ...], list[dict]]:
    groups: dict[tuple[Any, ...], list[dict]] = defaultdict(list)
    for row in rows:
        groups[tuple(row[k] for k in keys)].append(row)
    return dict(sorted(groups.items()))


def _ok(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["status"] == "ok"]


def _z(confidence: float) -> float:
    return float(norm.ppf(1 - (1 - confidence) / 2))


def _wilson_by_hand(k: int, n: int, confidence: float) -> tuple[float, float]:
    z = _z(confidence)
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


# --- results ------------------------------------------------------------------------------


def test_load_is_lazy_by_default_and_eager_on_request(
    sweep: Path, rows: list[dict[str, Any]]
) -> None:
    lazy = load(sweep)
    eager = load(sweep, lazy=False)
    assert isinstance(lazy, pl.LazyFrame)
    assert isinstance(eager, pl.DataFrame)
    assert len(list((sweep / "runs").glob("*.parquet"))) == 3
    assert eager.height == len(rows)
    assert eager.equals(lazy.collect())
    assert eager["run_id"].to_list() == [r["run_id"] for r in rows]
    assert eager["run_id"].is_unique().all()
    assert eager.schema[P] == pl.Float64
    assert eager.schema["status"] == pl.String
    for column, dtype in SUMMARY_SCHEMA.items():
        assert eager.schema[column] == dtype, column
    assert eager["accuracy"].to_list() == [r["accuracy"] for r in rows]


def test_load_accepts_a_string_path(sweep: Path) -> None:
    assert load(str(sweep), lazy=False).height == load(sweep).collect().height


def test_load_names_a_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ResultsError, match="not a sweep output") as info:
        load(missing)
    assert str(missing) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_load_says_a_folder_without_runs_is_not_a_sweep(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="no runs yet") as info:
        load(tmp_path)
    assert str(tmp_path) in str(info.value)
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / ".chunk-00000.parquet.tmp123").write_bytes(b"half written")
    with pytest.raises(ResultsError, match="no runs yet"):
        load(tmp_path, lazy=False)


def test_load_unifies_chunks_written_with_different_types(tmp_path: Path) -> None:
    # A chunk without failures may store ``error`` as Null, and a chunk whose parameter
    # values are whole numbers may store them as integers.
    (tmp_path / "runs").mkdir()
    pl.DataFrame({"run_id": [0], "status": ["ok"], "error": [None], P: [1]}).write_parquet(
        tmp_path / "runs" / "chunk-00000.parquet"
    )
    pl.DataFrame({"run_id": [1], "status": ["error"], "error": ["boom"], P: [0.5]}).write_parquet(
        tmp_path / "runs" / "chunk-00001.parquet"
    )
    runs = load(tmp_path, lazy=False)
    assert runs.schema["error"] == pl.String
    assert runs.schema[P] == pl.Float64
    assert runs[P].to_list() == [1.0, 0.5]
    assert runs["error"].to_list() == [None, "boom"]


def test_load_manifest(sweep: Path, tmp_path: Path) -> None:
    manifest = load_manifest(sweep)
    assert manifest["parameters"] == [P, W]
    assert manifest["axes"]["grid"][P] == GRID[P]
    assert manifest["runs"] == len(load(sweep, lazy=False))
    with pytest.raises(ResultsError, match=r"manifest\.json"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ResultsError, match="not valid JSON"):
        load_manifest(tmp_path)


def test_load_timeseries(sweep: Path, rows: list[dict[str, Any]], tmp_path: Path) -> None:
    lazy = load_timeseries(sweep)
    series = load_timeseries(sweep, lazy=False)
    assert isinstance(lazy, pl.LazyFrame)
    assert isinstance(series, pl.DataFrame)
    assert series.columns == [
        "run_id",
        "time",
        "acted",
        "share_0",
        "share_1",
        "accuracy",
        "entropy",
    ]
    assert series["run_id"].n_unique() == len(_ok(rows))
    assert series.schema["run_id"] == pl.Int64
    joined = series.join(load(sweep, lazy=False), on="run_id", suffix="_final")
    assert joined.height == series.height
    with pytest.raises(ResultsError, match="time series"):
        load_timeseries(tmp_path)


# --- intervals ----------------------------------------------------------------------------


@pytest.mark.parametrize(("k", "n", "confidence"), [(8, 10, 0.95), (3, 7, 0.9), (1, 40, 0.99)])
def test_wilson_interval_is_the_closed_form(k: int, n: int, confidence: float) -> None:
    low, high = wilson_interval(k, n, confidence)
    expected = _wilson_by_hand(k, n, confidence)
    assert low == pytest.approx(expected[0], abs=1e-12)
    assert high == pytest.approx(expected[1], abs=1e-12)


def test_wilson_interval_known_value() -> None:
    # Wilson (1927) for 8 of 10 at 95%, as tabulated by e.g. statsmodels.
    low, high = wilson_interval(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)


@pytest.mark.parametrize("n", [1, 10, 250])
def test_wilson_interval_edges(n: int) -> None:
    z2 = _z(0.95) ** 2
    assert wilson_interval(0, n) == (0.0, pytest.approx(z2 / (n + z2), abs=1e-12))
    assert wilson_interval(n, n) == (pytest.approx(n / (n + z2), abs=1e-12), 1.0)


@pytest.mark.parametrize(("k", "n", "confidence"), [(1, 0, 0.95), (-1, 5, 0.95), (6, 5, 0.95)])
def test_wilson_interval_rejects_impossible_counts(k: int, n: int, confidence: float) -> None:
    with pytest.raises(ValueError):
        wilson_interval(k, n, confidence)


def test_intervals_reject_a_bad_confidence() -> None:
    for confidence in (0.0, 1.0, 95.0):
        with pytest.raises(ValueError, match="confidence"):
            wilson_interval(1, 2, confidence)
        with pytest.raises(ValueError, match="confidence"):
            t_interval(0.0, 1.0, 5, confidence)


@pytest.mark.parametrize(
    ("mean", "sd", "n", "confidence"),
    [(0.7, 0.1, 12, 0.95), (-3.0, 2.5, 2, 0.9), (5, 0.3, 30, 0.99)],
)
def test_t_interval_matches_scipy(mean: float, sd: float, n: int, confidence: float) -> None:
    expected = student_t.interval(confidence, n - 1, loc=mean, scale=sd / math.sqrt(n))
    assert t_interval(mean, sd, n, confidence) == pytest.approx(expected, abs=1e-12)


def test_t_interval_needs_two_values() -> None:
    with pytest.raises(ValueError, match="n >= 2"):
        t_interval(1.0, 0.0, 1)


def test_t_interval_without_spread_is_a_point() -> None:
    assert t_interval(5.0, 0.0, 30) == (5.0, 5.0)


# --- summarize ----------------------------------------------------------------------------


def test_summarize_counts_runs_and_errors_per_group(sweep: Path, rows: list[dict]) -> None:
    summary = summarize(load(sweep), [P, W])
    groups = _groups(rows, [P, W])
    assert summary.select(P, W).rows() == list(groups)  # sorted by the grouping columns
    assert summary["n"].to_list() == [len(_ok(g)) for g in groups.values()]
    assert summary["errors"].to_list() == [len(g) - len(_ok(g)) for g in groups.values()]
    assert sum(summary["errors"]) == sum(r["status"] == "error" for r in rows) > 0


def test_summarize_numeric_metrics_get_exact_means_and_t_intervals(
    sweep: Path, rows: list[dict]
) -> None:
    summary = summarize(load(sweep, lazy=False), [P, W])
    for row, group in zip(
        summary.iter_rows(named=True), _groups(rows, [P, W]).values(), strict=True
    ):
        values = [r["accuracy"] for r in _ok(group)]
        mean, sd = float(np.mean(values)), float(np.std(values, ddof=1))
        assert row["accuracy_mean"] == pytest.approx(mean, abs=1e-12)
        assert row["accuracy_se"] == pytest.approx(sd / math.sqrt(len(values)), abs=1e-12)
        low, high = t_interval(mean, sd, len(values))
        assert (row["accuracy_low"], row["accuracy_high"]) == pytest.approx((low, high), abs=1e-12)
        assert row["accuracy_n"] == len(values)


def test_summarize_ignores_missing_values_per_metric(sweep: Path, rows: list[dict]) -> None:
    summary = summarize(load(sweep), [P, W])
    for row, group in zip(
        summary.iter_rows(named=True), _groups(rows, [P, W]).values(), strict=True
    ):
        for metric in ("herding_rate", "consensus_time"):
            values = [r[metric] for r in _ok(group) if r[metric] is not None]
            assert 0 < len(values) < row["n"]  # the fabricated runs miss some values
            assert row[f"{metric}_n"] == len(values)
            assert row[f"{metric}_mean"] == pytest.approx(np.mean(values), abs=1e-12)


def test_summarize_booleans_are_proportions_with_wilson_intervals(
    sweep: Path, rows: list[dict]
) -> None:
    summary = summarize(load(sweep), [P, W])
    for row, group in zip(
        summary.iter_rows(named=True), _groups(rows, [P, W]).values(), strict=True
    ):
        for metric in ("majority_correct", "consensus", "first_mover_lock_in"):
            k = sum(r[metric] for r in _ok(group))
            n = len(_ok(group))
            assert row[f"{metric}_mean"] == k / n
            assert row[f"{metric}_se"] == pytest.approx(math.sqrt(k / n * (1 - k / n) / n))
            assert (row[f"{metric}_low"], row[f"{metric}_high"]) == wilson_interval(k, n)


def test_summarize_expands_cascade_outcomes_into_proportions(sweep: Path, rows: list[dict]) -> None:
    summary = summarize(load(sweep), [P])
    assert "cascade_mean" not in summary.columns
    for row, group in zip(summary.iter_rows(named=True), _groups(rows, [P]).values(), strict=True):
        n = len(_ok(group))
        shares = 0.0
        for outcome in ("correct", "wrong", "none"):
            k = sum(r["cascade"] == outcome for r in _ok(group))
            assert row[f"cascade={outcome}_mean"] == k / n
            bounds = (row[f"cascade={outcome}_low"], row[f"cascade={outcome}_high"])
            assert bounds == wilson_interval(k, n)
            shares += row[f"cascade={outcome}_mean"]
        assert shares == pytest.approx(1.0)


def test_summarize_keeps_known_categories_never_seen() -> None:
    runs = pl.DataFrame({"g": [1, 1], "status": ["ok", "ok"], "cascade": ["none", "none"]})
    row = summarize(runs, "g", ["cascade"]).row(0, named=True)
    assert row["cascade=none_mean"] == 1.0
    assert row["cascade=correct_mean"] == 0.0
    assert row["cascade=correct_low"] == 0.0
    assert row["cascade=correct_high"] == pytest.approx(wilson_interval(0, 2)[1])


def test_summarize_default_metrics_leave_out_bookkeeping(sweep: Path) -> None:
    summary = summarize(load(sweep), [P])
    metrics = default_metrics(load(sweep).collect_schema().names())
    assert metrics[0] == "accuracy"
    for column in ("seed", "scenario", "stop_reason", "wall_seconds", "n_agents", "truth"):
        assert column not in metrics
        assert f"{column}_mean" not in summary.columns
    for column in ("accuracy_mean", "brier_high", "messages_sent_low", "sim_time_se"):
        assert column in summary.columns


def test_summarize_lazy_and_eager_agree(sweep: Path) -> None:
    assert summarize(load(sweep), [W]).equals(summarize(load(sweep, lazy=False), [W]))


def test_summarize_without_groups_gives_one_row(sweep: Path, rows: list[dict]) -> None:
    summary = summarize(load(sweep), [], ["accuracy", "consensus"])
    assert summary.columns[:2] == ["n", "errors"]
    assert summary.height == 1
    assert summary["n"][0] == len(_ok(rows))
    assert summary["accuracy_mean"][0] == pytest.approx(np.mean([r["accuracy"] for r in _ok(rows)]))


def test_summarize_group_of_failures_only_has_no_statistics() -> None:
    runs = pl.DataFrame(
        {
            "g": ["a", "a", "b"],
            "status": ["ok", "ok", "error"],
            "accuracy": [0.5, 1.0, None],
            "consensus": [True, False, None],
        }
    )
    summary = summarize(runs.lazy(), ["g"])
    failed = summary.row(1, named=True)
    assert (failed["g"], failed["n"], failed["errors"]) == ("b", 0, 1)
    assert failed["accuracy_mean"] is None and failed["consensus_low"] is None
    assert summary.row(0, named=True)["consensus_mean"] == 0.5


def test_summarize_a_single_run_has_no_t_interval() -> None:
    runs = pl.DataFrame({"g": [1, 1, 1, 2], "accuracy": [0.25, 0.5, 0.75, 0.25]})
    first, single = summarize(runs, "g").iter_rows(named=True)  # no status column: all ok
    assert (first["n"], first["errors"], first["accuracy_mean"]) == (3, 0, 0.5)
    assert (single["n"], single["accuracy_mean"]) == (1, 0.25)
    assert single["accuracy_low"] is None and single["accuracy_se"] is None


def test_summarize_names_missing_columns(sweep: Path) -> None:
    with pytest.raises(ValueError, match=r"world\.nonsense"):
        summarize(load(sweep), ["world.nonsense"])
    with pytest.raises(ValueError, match="happiness"):
        summarize(load(sweep), [P], ["happiness"])


# --- figures ------------------------------------------------------------------------------


def test_labels() -> None:
    assert label(P) == "signal accuracy p"
    assert label("accuracy") == "accuracy (share of agents right)"
    assert label("herding_rate") == "herding rate"
    assert label("sim_time") == "simulated time"
    assert label(W) == "social weight (group 0)"
    assert label("network.something_new") == "network.something_new"


def test_metric_vs_parameter_draws_means_and_band(sweep: Path) -> None:
    summary = summarize(load(sweep), [P])
    figure = metric_vs_parameter(summary, P, "accuracy")
    band, line = figure.data
    assert band.fill == "toself" and band.showlegend is False
    assert list(line.x) == GRID[P]
    assert list(line.y) == summary["accuracy_mean"].to_list()
    assert list(band.x) == GRID[P] + GRID[P][::-1]
    highs, lows = summary["accuracy_high"].to_list(), summary["accuracy_low"].to_list()
    assert list(band.y) == highs + lows[::-1]
    assert figure.layout.xaxis.title.text == "signal accuracy p"
    assert figure.layout.yaxis.title.text == "accuracy (share of agents right)"
    assert "accuracy" in figure.layout.title.text
    assert figure.layout.template == pio.templates["plotly_white"]


def test_metric_vs_parameter_one_line_per_colour(sweep: Path) -> None:
    summary = summarize(load(sweep), [P, W])
    figure = metric_vs_parameter(summary, P, "consensus", color=W, title="Consensus")
    lines = [t for t in figure.data if t.mode == "lines+markers"]
    assert [t.name for t in lines] == ["0.5", "2"]
    assert [t.line.color for t in lines] == list(COLORS[:2])
    for trace, weight in zip(lines, GRID[W], strict=True):
        part = summary.filter(pl.col(W) == weight).sort(P)
        assert list(trace.x) == GRID[P]
        assert list(trace.y) == part["consensus_mean"].to_list()
    assert len(figure.data) == 4
    assert figure.layout.title.text == "Consensus"
    assert figure.layout.legend.title.text == "social weight (group 0)"


def test_metric_vs_parameter_rejects_an_ambiguous_summary(sweep: Path) -> None:
    with pytest.raises(ValueError, match="summarize by exactly"):
        metric_vs_parameter(summarize(load(sweep), [P, W]), P, "accuracy")


def test_phase_diagram_is_a_heatmap_of_means(sweep: Path) -> None:
    summary = summarize(load(sweep), [P, W])
    figure = phase_diagram(summary, P, W, "accuracy")
    (heatmap,) = figure.data
    assert heatmap.type == "heatmap"
    assert list(heatmap.x) == GRID[P]
    assert list(heatmap.y) == GRID[W]
    for i, weight in enumerate(GRID[W]):
        for j, p in enumerate(GRID[P]):
            cell = summary.filter((pl.col(P) == p) & (pl.col(W) == weight))
            assert heatmap.z[i][j] == cell["accuracy_mean"][0]
    assert heatmap.colorbar.title.text == "accuracy (share of agents right)"
    assert (heatmap.zmin, heatmap.zmax) == (0.0, 1.0)
    assert figure.layout.xaxis.title.text == label(P)
    assert figure.layout.yaxis.title.text == label(W)
    with pytest.raises(ValueError, match="summarize by both"):
        phase_diagram(summarize(load(sweep), [P, W, "replicate"]), P, W, "accuracy")


def test_metric_distribution_boxes_hold_per_run_values(sweep: Path, rows: list[dict]) -> None:
    figure = metric_distribution(load(sweep), "accuracy", P)
    assert [t.type for t in figure.data] == ["box"] * 3
    for trace, (key, group) in zip(figure.data, _groups(rows, [P]).items(), strict=True):
        assert trace.name == f"{key[0]:g}"
        assert sorted(trace.y) == sorted(r["accuracy"] for r in _ok(group))


def test_metric_distribution_of_cascade_is_stacked_shares(sweep: Path, rows: list[dict]) -> None:
    figure = metric_distribution(load(sweep, lazy=False), "cascade", P)
    assert [t.name for t in figure.data] == ["correct", "wrong", "none"]
    assert figure.layout.barmode == "stack"
    groups = list(_groups(rows, [P]).values())
    for trace in figure.data:
        for share, group in zip(trace.y, groups, strict=True):
            ok = _ok(group)
            assert share == pytest.approx(sum(r["cascade"] == trace.name for r in ok) / len(ok))
    totals = np.sum([t.y for t in figure.data], axis=0)
    assert totals == pytest.approx([1.0] * 3)


def test_metric_distribution_over_all_runs(sweep: Path, rows: list[dict]) -> None:
    figure = metric_distribution(load(sweep), "herding_rate")
    (box,) = figure.data
    assert box.name == "all runs"
    assert len(box.y) == sum(r["herding_rate"] is not None for r in _ok(rows))
