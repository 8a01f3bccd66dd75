"""The HTML report of a sweep: self-contained, offline, and holding the sweep's numbers.

Sweeps are fabricated here with the exact folder layout a sweep writes (manifest, typed
run chunks, failed runs) and fixed seeds.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from plotly.offline import get_plotlyjs

from analysis.collective import group_calibration
from analysis.report import KEY_METRICS, build_report, choose_figures, scenario_toml
from analysis.results import ResultsError, load
from analysis.stats import summarize
from sim.metrics import SUMMARY_SCHEMA

P = "world.signal_accuracy"
N = "population.size"
SCHEMA = {
    "run_id": pl.Int64(),
    "point_id": pl.Int64(),
    "replicate": pl.Int64(),
    "status": pl.String(),
    "error": pl.String(),
}
SCENARIO = {
    "name": "cascade",
    "description": "BHW information cascade: sequential Bayesian agents",
    "seed": 1,
    "world": {"options": 2, "truth": "random", "signal_accuracy": 0.7},
    "population": {"size": 20, "groups": [{"agent": "bayesian", "share": 1.0}]},
    "protocol": {"kind": "sequential", "interval": 1.0, "order": "random"},
}


def make_sweep(
    folder: Path,
    grid: dict[str, list[Any]],
    replicates: int = 8,
    *,
    scenario: dict[str, Any] | None = None,
    command: str = "sim sweep scenarios/cascade.toml",
) -> Path:
    """A sweep folder over ``grid``: two run chunks, every 9th run failed."""
    rng = np.random.default_rng(7)
    rows = []
    for point_id, values in enumerate(itertools.product(*grid.values())):
        params = dict(zip(grid, values, strict=True))
        for replicate in range(replicates):
            run_id = len(rows)
            row = {"run_id": run_id, "point_id": point_id, "replicate": replicate}
            row |= {"status": "ok", "error": None, **params, **dict.fromkeys(SUMMARY_SCHEMA)}
            if run_id % 9 == 4:
                row |= {"status": "error", "error": "ValueError: <bad> & worse"}
            else:
                p = float(params.get(P, 0.7))
                accuracy = int(rng.binomial(20, p)) / 20
                row |= {
                    "scenario": "cascade",
                    "seed": run_id,
                    "n_agents": int(params.get(N, 20)),
                    "options": 2,
                    "truth": 0,
                    "accuracy": accuracy,
                    "majority_correct": accuracy > 0.5,
                    "consensus": bool(rng.random() < p - 0.2),
                    "cascade": str(rng.choice(["correct", "wrong", "none"], p=[p, 1 - p, 0.0])),
                    "herding_rate": float(rng.uniform(0, 1 - p)),
                    "first_mover_lock_in": bool(rng.random() < 0.5),
                    "entropy_final": float(rng.uniform(0, 1)),
                    "brier": float(rng.uniform(0, 0.5)),
                    "group_choice": 0 if accuracy > 0.5 else 1,
                    "group_correct": accuracy > 0.5,
                    "group_confidence": max(accuracy, 1 - accuracy),
                    "events": 400,
                    "sim_time": 19.0,
                    "stop_reason": "completed",
                    "wall_seconds": 0.01,
                }
            rows.append(row)
    types = {k: pl.Float64() if isinstance(v[0], float) else pl.Int64() for k, v in grid.items()}
    schema = SCHEMA | types | SUMMARY_SCHEMA
    (folder / "runs").mkdir(parents=True)
    half = len(rows) // 2
    for i, part in enumerate((rows[:half], rows[half:])):
        frame = pl.DataFrame(part, schema=schema, orient="row")
        frame.write_parquet(folder / "runs" / f"chunk-{i:05d}.parquet")
    manifest = {
        "name": "accuracy-sweep",
        "scenario": SCENARIO if scenario is None else scenario,
        "parameters": list(grid),
        "axes": {"grid": grid, "zip": {}, "sample": None},
        "replicates": replicates,
        "runs": len(rows),
        "metrics": list(SUMMARY_SCHEMA),
        "created": "2026-03-04T05:06:07+00:00",
        "versions": {"societysim": "0.1.0", "python": "3.12.1", "polars": pl.__version__},
        "command": command,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def one_parameter(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    sweep = make_sweep(tmp_path_factory.mktemp("one"), {P: [0.55, 0.65, 0.75, 0.85]})
    report = build_report(sweep)
    return sweep, report.read_text(encoding="utf-8")


def _figure_count(html: str) -> int:
    return html.count("Plotly.newPlot(")


def _figure_data(html: str) -> list[list[dict[str, Any]]]:
    """The traces of each figure, read back from the JSON of its ``Plotly.newPlot`` call."""
    decoder = json.JSONDecoder()
    figures = []
    for call in re.finditer(r'Plotly\.newPlot\(\s*"figure-\d+",\s*', html):
        traces, _ = decoder.raw_decode(html, call.end())
        figures.append(traces)
    return figures


def test_report_is_written_into_the_sweep_folder(one_parameter: tuple[Path, str]) -> None:
    sweep, html = one_parameter
    assert (sweep / "report.html").is_file()
    assert html.startswith("<!DOCTYPE html>")
    assert html.rstrip().endswith("</html>")


def test_report_opens_offline(one_parameter: tuple[Path, str]) -> None:
    _, html = one_parameter
    remote = re.compile(r"<(script|link)\b[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//", re.I)
    assert not remote.search(html)
    assert html.count(get_plotlyjs()) == 1  # the bundle, inline, once


def test_report_figures_hold_the_summary_numbers(one_parameter: tuple[Path, str]) -> None:
    sweep, html = one_parameter
    # Key metrics against the parameter (band, then line), then the cascade outcomes.
    figures = _figure_data(html)
    assert _figure_count(html) == len(figures) == 5
    assert [[t["type"] for t in f] for f in figures] == [["scatter"] * 2] * 4 + [["bar"] * 3]
    summary = summarize(load(sweep), [P])
    for metric, (band, line) in zip(KEY_METRICS, figures[:4], strict=True):
        assert line["x"] == [0.55, 0.65, 0.75, 0.85]
        assert line["y"] == summary[f"{metric}_mean"].to_list()
        highs, lows = summary[f"{metric}_high"].to_list(), summary[f"{metric}_low"].to_list()
        assert band["y"] == highs + lows[::-1]
        for value in summary[f"{metric}_mean"]:
            assert json.dumps(value) in html
    assert [t["name"] for t in figures[4]] == ["correct", "wrong", "none"]


def test_report_tables_the_summary(one_parameter: tuple[Path, str]) -> None:
    sweep, html = one_parameter
    summary = summarize(load(sweep), [P])
    table = html[html.index("<h2>Summary per parameter combination</h2>") :]
    assert "<th>accuracy (share of agents right)</th>" in table
    assert "<th>P(wrong cascade)</th>" in table
    for row in summary.iter_rows(named=True):
        low, mean, high = row["accuracy_low"], row["accuracy_mean"], row["accuracy_high"]
        assert f"<td>{row[P]:g}</td>" in table
        assert f"{mean:.3f} [{low:.3f}, {high:.3f}]" in table
        assert f'<td class="num">{row["n"]}</td><td class="num">{row["errors"]}</td>' in table


def test_report_scores_the_group_confidence(one_parameter: tuple[Path, str]) -> None:
    sweep, html = one_parameter
    table = html[html.index("<h2>Group decision and its calibration</h2>") :]
    runs = load(sweep).filter(pl.col("status") == "ok")
    expected = group_calibration(runs, by=[P])
    assert len(expected) == 4
    for row in expected.iter_rows(named=True):
        assert f"<td>{row[P]:g}</td>" in table
        assert f'<td class="num">{row["brier"]:.4g}</td>' in table
        assert f'<td class="num">{row["ece"]:.4g}</td>' in table


def test_report_describes_scenario_axes_and_provenance(one_parameter: tuple[Path, str]) -> None:
    sweep, html = one_parameter
    runs = load(sweep, lazy=False)
    failed = runs.filter(pl.col("status") == "error").height
    assert "<h1>Sweep accuracy-sweep</h1>" in html
    assert "<strong>cascade</strong>" in html
    assert SCENARIO["description"] in html
    assert "<td>grid</td><td>world.signal_accuracy</td><td>0.55, 0.65, 0.75, 0.85</td>" in html
    assert "8 replicate(s) per point" in html
    assert "[world]" in html and "signal_accuracy = 0.7" in html
    assert "2026-03-04T05:06:07+00:00" in html
    assert f"<td>version of polars</td><td>{pl.__version__}</td>" in html
    assert "<pre>sim sweep scenarios/cascade.toml</pre>" in html
    assert f"<td>failed</td><td>{failed}</td>" in html and failed > 0
    assert f'<td>ValueError: &lt;bad&gt; &amp; worse</td><td class="num">{failed}</td>' in html


def test_report_escapes_what_it_quotes(tmp_path: Path) -> None:
    scenario = SCENARIO | {"name": "<script>alert(1)</script>", "description": "a & b"}
    sweep = make_sweep(tmp_path, {P: [0.6, 0.7]}, 3, scenario=scenario, command="sim <x> & y")
    html = build_report(sweep).read_text(encoding="utf-8")
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a &amp; b" in html
    assert "sim &lt;x&gt; &amp; y" in html
    assert "ValueError: <bad>" not in html


def test_report_of_two_parameters_has_a_phase_diagram(tmp_path: Path) -> None:
    sweep = make_sweep(tmp_path / "sweep", {P: [0.6, 0.7, 0.8], N: [10, 30]}, 4)
    out = build_report(sweep, tmp_path / "elsewhere" / "two.html")
    assert out == tmp_path / "elsewhere" / "two.html"
    assert not (sweep / "report.html").exists()
    html = out.read_text(encoding="utf-8")
    assert html.count(get_plotlyjs()) == 1
    figures = _figure_data(html)
    assert len(figures) == 1 + 4 + 1
    (heatmap,) = figures[0]
    assert heatmap["type"] == "heatmap"
    assert (heatmap["x"], heatmap["y"]) == ([0.6, 0.7, 0.8], [10, 30])
    summary = summarize(load(sweep), [P, N])
    means = summary.sort(N, P)["accuracy_mean"].to_list()
    assert heatmap["z"] == [means[:3], means[3:]]
    # Accuracy against p, one line (after its band) per population size.
    assert [t["name"] for t in figures[1][1::2]] == ["10", "30"]
    assert "population size n" in html  # the lines' colour legend


def test_figures_follow_the_axes(tmp_path: Path) -> None:
    one = load(make_sweep(tmp_path / "one", {P: [0.6, 0.8]}, 3), lazy=False)
    two = load(make_sweep(tmp_path / "two", {P: [0.6, 0.8], N: [10, 30]}, 3), lazy=False)
    none = load(make_sweep(tmp_path / "none", {}, 6), lazy=False)

    def kinds(runs: pl.DataFrame, parameters: list[str]) -> list[str]:
        return [item.figure.data[0].type for item in choose_figures(runs, parameters)]

    assert kinds(one, [P]) == ["scatter"] * 4 + ["bar"]
    assert kinds(two, [P, N]) == ["heatmap"] + ["scatter"] * 4 + ["bar"]
    assert kinds(none, []) == ["box", "bar", "box", "bar", "bar"]
    # A parameter that takes one value is not an axis to plot against.
    constant = two.filter(pl.col(N) == 10)
    assert kinds(constant, [P, N]) == kinds(one, [P])


def test_report_without_swept_parameters_shows_distributions(tmp_path: Path) -> None:
    sweep = make_sweep(tmp_path, {}, 10)
    html = build_report(sweep).read_text(encoding="utf-8")
    assert "No parameter was swept" in html
    kinds = [[t["type"] for t in f] for f in _figure_data(html)]
    assert kinds == [["box"], ["bar"] * 2, ["box"], ["bar"] * 2, ["bar"] * 3]
    assert "<h2>Summary over all runs</h2>" in html


def test_report_of_a_folder_that_is_not_a_sweep(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="not a sweep output"):
        build_report(tmp_path / "missing")
    with pytest.raises(ResultsError, match=r"manifest\.json"):
        build_report(tmp_path)


def test_scenario_toml_leaves_out_nulls() -> None:
    text = scenario_toml({"name": "x", "stop": {"max_time": None, "consensus": False}})
    assert text == 'name = "x"\n\n[stop]\nconsensus = false\n'
