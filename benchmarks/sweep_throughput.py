"""Sweep throughput: runs per second for a small and a larger scenario, 1 and 2 workers.

Each configuration sweeps into a fresh temporary folder (nothing is resumed), one after
the other in this process, so the ratios (2 workers / 1 worker) are measured side by
side. Absolute numbers depend on the machine and its load; they are not a test.

Usage::

    .venv/bin/python benchmarks/sweep_throughput.py [--runs 10000] [--large-runs 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

import sim
from sim.sweep import sweep

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def measure(scenario: sim.Scenario, runs: int, workers: int, executor: str) -> float:
    """Seconds to sweep ``runs`` replicates of ``scenario``."""
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        frame = sweep(
            scenario, out=Path(folder) / "s", replicates=runs, workers=workers, executor=executor
        )
        elapsed = time.perf_counter() - started
    assert frame.height == runs and (frame["status"] == "ok").all()
    return elapsed


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="runs of the small case")
    parser.add_argument("--large-runs", type=int, default=200, help="runs of the large case")
    args = parser.parse_args()
    cases = [
        ("cascade, 20 agents", sim.load(SCENARIOS / "cascade.toml"), args.runs),
        (
            "network_herding, 300 agents",
            sim.load(SCENARIOS / "network_herding.toml", {"population.size": 300}),
            args.large_runs,
        ),
    ]
    table = Table(title="sim sweep throughput")
    for column in ("scenario", "runs", "executor", "workers", "seconds", "runs/s", "vs 1 worker"):
        table.add_column(column, justify="right")
    for name, scenario, runs in cases:
        single = None
        for executor, workers in (("local", 1), ("local", 2), ("dask", 2)):
            seconds = measure(scenario, runs, workers, executor)
            single = single or seconds
            table.add_row(
                name, f"{runs:,}", executor, str(workers), f"{seconds:.1f}",
                f"{runs / seconds:,.0f}", f"{single / seconds:.2f}x",
            )  # fmt: skip
    Console().print(table)


if __name__ == "__main__":
    main()
