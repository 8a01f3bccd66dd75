"""The engine benchmark's single measurement (``benchmarks/engines.py --one``).

Timings are not asserted (they are the benchmark's to report); what is: the line it
prints parses, its parts add up, and both engines deliver the same messages for the
benchmark's seed, the figure its table compares side by side.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "engines.py"


def _one(engine: str, size: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(BENCHMARK), "--one", engine, str(size)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def measured() -> dict[str, dict[str, Any]]:
    return {engine: _one(engine, 400) for engine in ("fast", "simpy")}


@pytest.mark.parametrize("engine", ["fast", "simpy"])
def test_one_measurement_adds_up(measured: dict[str, dict[str, Any]], engine: str) -> None:
    row = measured[engine]
    assert row["engine"] == engine
    assert row["agents"] == 400
    assert 0.0 <= row["graph_s"] <= row["build_s"] <= row["wall_s"]
    assert 0.0 < row["run_s"] <= row["wall_s"]
    assert row["build_s"] + row["run_s"] <= row["wall_s"]
    assert 0 < row["delivered"] <= row["sent"]
    assert row["peak_mib"] > 0.0


def test_engines_deliver_the_same_messages(measured: dict[str, dict[str, Any]]) -> None:
    fast, simpy = measured["fast"], measured["simpy"]
    assert (fast["delivered"], fast["sent"]) == (simpy["delivered"], simpy["sent"])
    assert fast["baseline_per_s"] > 0.0
    assert "baseline_per_s" not in simpy
