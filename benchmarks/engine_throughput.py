"""Throughput of the SimPy engine on the network-herding study.

Runs ``scenarios/network_herding.toml`` at several population sizes and prints, for
each, the wall time, messages delivered, deliveries per second and events per second.
All sizes run in the same process, one after the other, so their ratios are comparable
even on a noisy machine; absolute numbers are not a test.

Usage::

    .venv/bin/python benchmarks/engine_throughput.py [--sizes 300,1000,3000] [--seed 7]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

import sim

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "network_herding.toml"


def measure(size: int, seed: int) -> dict[str, float]:
    """Build and run the scenario with ``size`` agents; return timings and counts."""
    scenario = sim.load(SCENARIO, {"population.size": size})
    started = time.perf_counter()
    society = scenario.build(seed)
    built = time.perf_counter()
    summary = society.run().summary
    finished = time.perf_counter()
    run_seconds = finished - built
    return {
        "agents": size,
        "build_s": built - started,
        "run_s": run_seconds,
        "delivered": summary["messages_delivered"],
        "deliveries_per_s": summary["messages_delivered"] / run_seconds,
        "events_per_s": summary["events"] / run_seconds,
    }


def main() -> None:
    """Measure every size and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="300,1000,3000")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rows = [measure(int(size), args.seed) for size in args.sizes.split(",")]
    table = Table(title="SimPy engine on network_herding (mean degree 10)")
    for column in ("agents", "build s", "run s", "delivered", "deliveries/s", "events/s"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            f"{row['agents']:,}",
            f"{row['build_s']:.2f}",
            f"{row['run_s']:.2f}",
            f"{row['delivered']:,}",
            f"{row['deliveries_per_s']:,.0f}",
            f"{row['events_per_s']:,.0f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
