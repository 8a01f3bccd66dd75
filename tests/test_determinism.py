"""Same seed and scenario: identical output bytes; different seeds: different outputs."""

from __future__ import annotations

from pathlib import Path

import polars as pl

import sim

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def _write(scenario: sim.Scenario, seed: int, out: Path) -> None:
    result = scenario.run(seed=seed, events=True)
    result.write(out, scenario.to_toml(seed=seed))


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    scenario = sim.load(SCENARIOS / "network_herding.toml", {"population.size": 300})
    _write(scenario, 11, tmp_path / "a")
    _write(scenario, 11, tmp_path / "b")
    for name in ("timeseries.parquet", "events.parquet", "scenario.toml"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    a = pl.read_parquet(tmp_path / "a" / "summary.parquet").drop("wall_seconds")
    b = pl.read_parquet(tmp_path / "b" / "summary.parquet").drop("wall_seconds")
    assert a.equals(b)


def test_different_seeds_differ(tmp_path: Path) -> None:
    scenario = sim.load(SCENARIOS / "network_herding.toml", {"population.size": 300})
    _write(scenario, 1, tmp_path / "a")
    _write(scenario, 2, tmp_path / "b")
    a = pl.read_parquet(tmp_path / "a" / "events.parquet")
    b = pl.read_parquet(tmp_path / "b" / "events.parquet")
    assert not a.equals(b)


def test_resolved_scenario_reproduces_the_run(tmp_path: Path) -> None:
    scenario = sim.load(SCENARIOS / "cascade.toml", {"world.signal_accuracy": 0.65})
    original = scenario.run(seed=5)
    (tmp_path / "scenario.toml").write_text(scenario.to_toml(seed=5))
    again = sim.load(tmp_path / "scenario.toml")
    assert again.config == scenario.config.model_copy(update={"seed": 5})
    repeat = again.run()
    drop = {"wall_seconds"}
    assert {k: v for k, v in repeat.summary.items() if k not in drop} == {
        k: v for k, v in original.summary.items() if k not in drop
    }
    assert repeat.timeseries.equals(original.timeseries)


def test_streams_are_independent_of_population_size() -> None:
    """Adding agents does not change the stream of an existing agent or the truth."""
    small = sim.load(SCENARIOS / "cascade.toml", {"population.size": 10}).build(seed=3)
    large = sim.load(SCENARIOS / "cascade.toml", {"population.size": 40}).build(seed=3)
    assert small.world.truth == large.world.truth
    assert small.agents_rng.random() == large.agents_rng.random()
