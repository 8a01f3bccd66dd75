"""Parameter sweeps: design, determinism across executors, resume, errors, schema."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import sim
from sim.config import SweepConfig
from sim.sweep import SweepPlan, load_run, run_seed, sweep

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
CASCADE = SCENARIOS / "cascade.toml"


def _cascade(size: int = 8) -> sim.Scenario:
    return sim.load(CASCADE, {"population.size": size})


def _comparable(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.drop("wall_seconds").sort("run_id")


def test_plan_expands_grid_zip_and_sample() -> None:
    spec = SweepConfig(
        grid={"world.signal_accuracy": [0.6, 0.7], "population.size": [5, 10, 20]},
        zip={"world.options": [2, 3], "network.topology": ["complete", "cycle"]},
        sample=4,
        ranges={"channels.drop": (0.0, 0.2)},
        replicates=3,
    )
    plan = SweepPlan.from_spec(spec, base_seed=1)
    assert len(plan.points) == 2 * 3 * 2 * 4
    assert plan.total == len(plan.points) * 3
    assert plan.points[0]["world.signal_accuracy"] == 0.6
    assert {(p["world.options"], p["network.topology"]) for p in plan.points} == {
        (2, "complete"),
        (3, "cycle"),
    }
    run = plan.run(7)
    assert (run.point_id, run.replicate) == (2, 1)
    assert run.seed == run_seed(1, 7)
    assert len({r.seed for r in plan.runs()}) == plan.total


def test_latin_hypercube_has_one_point_per_stratum() -> None:
    spec = SweepConfig(sample=10, ranges={"a.b": (0.0, 1.0), "c.d": (10.0, 20.0)})
    points = SweepPlan.from_spec(spec, base_seed=3).points
    for key, (low, high) in spec.ranges.items():
        values = np.array([p[key] for p in points])
        strata = np.floor((values - low) / (high - low) * 10).astype(int)
        assert sorted(strata.tolist()) == list(range(10)), key
    again = SweepPlan.from_spec(spec, base_seed=3).points
    assert again == points, "the design is seeded from the scenario seed"


def test_run_seed_depends_on_base_seed_and_run_id_only() -> None:
    assert run_seed(1, 5) == run_seed(1, 5)
    assert run_seed(1, 5) != run_seed(2, 5)
    assert run_seed(1, 5) != run_seed(1, 6)
    assert 0 <= run_seed(123, 10**6) < 2**63


def test_sweep_rows_schema_and_values(tmp_path: Path) -> None:
    frame = sweep(
        _cascade(),
        out=tmp_path / "s",
        grid={"world.signal_accuracy": [0.6, 0.8], "network.topology": ["complete", "cycle"]},
        replicates=5,
    )
    assert frame.height == 20
    assert frame["run_id"].to_list() == list(range(20))
    assert frame.schema["world.signal_accuracy"] == pl.Float64
    assert frame.schema["network.topology"] == pl.String
    assert frame.schema["majority_correct"] == pl.Boolean
    assert (frame["status"] == "ok").all()
    assert frame["error"].null_count() == 20
    assert frame.filter(pl.col("run_id") == 7)["seed"].item() == run_seed(1, 7)
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["parameters"] == ["world.signal_accuracy", "network.topology"]
    assert manifest["runs"] == 20
    assert manifest["scenario"]["name"] == "cascade"
    assert "societysim" in manifest["versions"]
    # Each row is the run it says: repeat run 13 alone.
    scenario, seed = load_run(tmp_path / "s", 13)
    alone = scenario.run(seed=seed).summary
    row = frame.filter(pl.col("run_id") == 13).to_dicts()[0]
    for key in ("accuracy", "cascade", "herding_rate", "messages_sent", "seed"):
        assert row[key] == alone[key], key
    # Points nest in axis order: run 13 is point 2 = (0.8, "complete"), replicate 3.
    assert scenario.config.network.topology == "complete"
    assert scenario.config.world.signal_accuracy == 0.8


def test_results_do_not_depend_on_workers_or_executor(tmp_path: Path) -> None:
    axes = {"grid": {"world.signal_accuracy": [0.55, 0.7, 0.85]}, "replicates": 12}
    one = sweep(_cascade(), out=tmp_path / "one", workers=1, **axes)  # type: ignore[arg-type]
    two = sweep(_cascade(), out=tmp_path / "two", workers=2, **axes)  # type: ignore[arg-type]
    dask = sweep(
        _cascade(),
        out=tmp_path / "dask",
        workers=2,
        executor="dask",
        **axes,  # type: ignore[arg-type]
    )
    assert _comparable(one).equals(_comparable(two))
    assert _comparable(one).equals(_comparable(dask))


def test_failing_runs_become_error_rows(tmp_path: Path) -> None:
    scenario = sim.load(CASCADE, {"network.topology": "lattice", "network.k": 4})
    frame = sweep(scenario, out=tmp_path / "s", grid={"population.size": [8, 3, 6]}, replicates=2)
    assert frame.height == 6
    errors = frame.filter(pl.col("status") == "error")
    assert errors["population.size"].to_list() == [3, 3]
    assert errors["error"].str.contains("network.k").all()
    assert errors["accuracy"].null_count() == 2
    assert (frame.filter(pl.col("status") == "ok")["n_agents"].to_list()) == [8, 8, 6, 6]


def test_bad_axes_are_rejected_before_running(tmp_path: Path) -> None:
    with pytest.raises(sim.ScenarioError, match="signal_acuracy: unknown key"):
        sweep(_cascade(), out=tmp_path / "a", grid={"world.signal_acuracy": [0.6]})
    with pytest.raises(sim.ScenarioError, match="must be a probability"):
        sweep(_cascade(), out=tmp_path / "b", grid={"world.signal_accuracy": [0.6, 1.5]})
    with pytest.raises(sim.ScenarioError, match="equal lengths"):
        sweep(_cascade(), out=tmp_path / "c", zip={"a.b": [1, 2], "c.d": [1]})
    with pytest.raises(sim.ScenarioError, match="cannot sweep seed"):
        sweep(_cascade(), out=tmp_path / "d", grid={"seed": [1, 2]})
    assert not (tmp_path / "a").exists()


def test_folder_of_another_sweep_is_refused(tmp_path: Path) -> None:
    sweep(_cascade(), out=tmp_path / "s", grid={"world.signal_accuracy": [0.6]})
    with pytest.raises(sim.ScenarioError, match="holds a different sweep"):
        sweep(_cascade(), out=tmp_path / "s", grid={"world.signal_accuracy": [0.7]})


def test_rerun_of_a_complete_sweep_runs_nothing(tmp_path: Path) -> None:
    first = sweep(_cascade(), out=tmp_path / "s", replicates=6)
    parts = sorted((tmp_path / "s" / "runs").iterdir())
    again = sweep(_cascade(), out=tmp_path / "s", replicates=6)
    assert sorted((tmp_path / "s" / "runs").iterdir()) == parts
    assert first.equals(again)


def test_timeseries_are_written_per_run(tmp_path: Path) -> None:
    sweep(_cascade(), out=tmp_path / "s", replicates=3, timeseries=True)
    series = pl.read_parquet(tmp_path / "s" / "timeseries" / "*.parquet")
    assert sorted(series["run_id"].unique().to_list()) == [0, 1, 2]
    assert series.filter(pl.col("run_id") == 0).height == 8  # one row per turn


def test_sweep_table_in_scenario_file_and_flags_override(tmp_path: Path) -> None:
    text = CASCADE.read_text() + (
        '\n[sweep]\nreplicates = 2\ngrid = { "world.signal_accuracy" = [0.6, 0.7, 0.8] }\n'
    )
    (tmp_path / "s.toml").write_text(text)
    scenario = sim.load(tmp_path / "s.toml", {"population.size": 6})
    assert sweep(scenario, out=tmp_path / "a").height == 6
    assert sweep(scenario, out=tmp_path / "b", replicates=1).height == 3
    frame = sweep(scenario, out=tmp_path / "c", grid={"population.size": [4, 5]})
    assert frame.height == 4 and "world.signal_accuracy" not in frame.columns


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "sim", *args]


@pytest.mark.slow
def test_resume_after_kill_completes_exactly_once(tmp_path: Path) -> None:
    out = tmp_path / "s"
    command = _cli(
        "sweep", str(CASCADE), "--out", str(out), "--replicates", "600",
        "--grid", "world.signal_accuracy=0.6,0.7", "--workers", "2")  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if len(list((out / "runs").glob("part-*.parquet"))) >= 2:
            break
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    partial = pl.read_parquet(out / "runs" / "*.parquet")
    assert 0 < partial.height < 1200, "killed in the middle"
    finished = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    frame = pl.read_parquet(out / "runs" / "*.parquet")
    assert frame.height == 1200
    assert frame["run_id"].n_unique() == 1200
    assert sorted(frame["run_id"].to_list()) == list(range(1200))
    # The resumed dataset equals one computed without interruption (serially).
    clean = sweep(
        sim.load(CASCADE),
        out=tmp_path / "clean",
        grid={"world.signal_accuracy": [0.6, 0.7]},
        replicates=600,
    )
    assert _comparable(frame).equals(_comparable(clean))


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path: Path) -> None:
    out = tmp_path / "s"
    command = _cli(
        "sweep", str(CASCADE), "--out", str(out), "--replicates", "600", "--workers", "2"
    )
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list((out / "runs").glob("part-*.parquet")):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "run the same command again to resume" in stderr
    assert "Traceback" not in stderr
    saved = pl.read_parquet(out / "runs" / "*.parquet")
    assert 0 < saved.height < 600
    assert subprocess.run(command, capture_output=True, timeout=300).returncode == 0
    assert pl.read_parquet(out / "runs" / "*.parquet")["run_id"].sort().to_list() == list(
        range(600)
    )


def test_cli_sweep_and_run_from(tmp_path: Path) -> None:
    out = tmp_path / "s"
    done = subprocess.run(
        _cli("sweep", str(CASCADE), "--out", str(out), "--grid", "world.signal_accuracy=0.6,0.9",
             "--replicates", "3", "--set", "population.size=6"),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "6 runs" in done.stdout and "6 ok" in done.stdout
    rerun = subprocess.run(
        _cli("run", "--from", str(out), "--run-id", "4", "--out", str(tmp_path / "r")),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    row = pl.read_parquet(out / "runs" / "*.parquet").filter(pl.col("run_id") == 4)
    alone = pl.read_parquet(tmp_path / "r" / "summary.parquet")
    assert alone["seed"].item() == row["seed"].item()
    assert alone["accuracy"].item() == row["accuracy"].item()
    report = subprocess.run(_cli("report", str(out)), capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    html = (out / "report.html").read_text()
    assert "cascade" in html and "world.signal_accuracy" in html
    assert "<script src=" not in html.replace('<script src="data:', "")
    bad = subprocess.run(
        _cli("sweep", str(CASCADE), "--out", str(tmp_path / "x"), "--range", "world.options=2"),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "error: --range" in bad.stderr and "Traceback" not in bad.stderr
