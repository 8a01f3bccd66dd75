"""The fast engine against the SimPy engine and a minimal compiled event loop.

For each population size, runs ``scenarios/herding_1m.toml`` (the ``network_herding``
study: Watts–Strogatz with mean degree 10, exponential latencies, losses, asynchronous
social and Bayesian learners; half a unit of simulated time) on the fast
engine and, where it finishes within a minute, on the SimPy engine, each in a fresh
child process, and prints:

* wall time (graph construction included, interpreter start and imports not), the
  time spent making the network (on the fast engine, a large run makes it on a second
  core while its agents are made; on SimPy, the same network is made again apart,
  after the run), messages delivered, deliveries per second and the process's peak
  resident memory;
* the fast/SimPy ratio of deliveries per second, measured side by side in this run;
* the deliveries per second of a *minimal compiled loop* doing the same message traffic:
  a numba binary heap with one entry per message, in which every agent broadcasts at
  time 0 and each delivery makes its receiver broadcast again with the probability that
  reproduces the real run's number of broadcasts. Like the fast engine, it never queues
  a message due after the run's ``max_time``. It applies no rule, records nothing and
  checks no stopping rule: a baseline for an event loop, not a simulator.

Usage::

    .venv/bin/python benchmarks/engines.py [--sizes 1000,10000,20000,100000,1000000]

One measurement alone, in this process (what each child process runs)::

    .venv/bin/python benchmarks/engines.py --one fast 1000000

prints one JSON line: ``wall_s`` (as in the table), of it ``build_s`` (the network and
the agents' arrays) and ``run_s`` (the event loop); ``graph_s`` (the network alone: on
the fast engine its share of the build, made alongside the agents; on SimPy the same
network made again apart); ``delivered``, ``sent``, ``peak_mib`` and, on the fast
engine, ``baseline_per_s`` (the minimal loop's deliveries per second).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "herding_1m.toml"
SIMPY_LIMIT_S = 60.0
SEED = 7


@njit(cache=True)
def _baseline_loop(
    indptr: np.ndarray,
    indices: np.ndarray,
    again: float,
    mean: float,
    horizon: float,
    rng: np.random.Generator,
    limit: int,
) -> int:
    """Deliveries made by a per-message binary-heap loop (see the module docstring)."""
    capacity = len(indices) + 1024
    times = np.empty(capacity)
    receivers = np.empty(capacity, dtype=np.int64)
    size = 0
    n = len(indptr) - 1
    delivered = 0
    for u in range(n + 1):
        if u < n:
            sender, now = u, 0.0
        else:
            sender = -1
        while True:
            if sender >= 0:
                for e in range(indptr[sender], indptr[sender + 1]):
                    t = now + rng.exponential(mean)
                    if t > horizon:
                        continue
                    if size == len(times):
                        times = np.concatenate((times, np.empty(len(times))))
                        receivers = np.concatenate((receivers, np.empty(len(receivers), np.int64)))
                    pos = size
                    size += 1
                    while pos > 0 and times[(pos - 1) // 2] > t:
                        times[pos] = times[(pos - 1) // 2]
                        receivers[pos] = receivers[(pos - 1) // 2]
                        pos = (pos - 1) // 2
                    times[pos] = t
                    receivers[pos] = indices[e]
                sender = -1
            if u < n or size == 0 or delivered >= limit:
                break
            # Pop the earliest message and deliver it.
            now, receiver = times[0], receivers[0]
            size -= 1
            t, r = times[size], receivers[size]
            pos = 0
            while True:
                child = 2 * pos + 1
                if child >= size:
                    break
                if child + 1 < size and times[child + 1] < times[child]:
                    child += 1
                if times[child] >= t:
                    break
                times[pos], receivers[pos] = times[child], receivers[child]
                pos = child
            times[pos], receivers[pos] = t, r
            delivered += 1
            if rng.random() < again:
                sender = receiver
    return delivered


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one(engine: str, size: int) -> dict[str, Any]:
    """Measure one run in this process (called in a child process)."""
    import sim
    from sim.fast import FastRun

    if engine == "fast":  # load the compiled loop outside the timing
        FastRun(sim.load(SCENARIO, {"population.size": 50}).config, seed=0).run()
    started = time.perf_counter()
    scenario = sim.load(SCENARIO, {"population.size": size, "engine": engine})
    if engine == "fast":
        # The run makes its network itself, as `sim run` does (a large run on a second
        # core while its agents are made).
        run = FastRun(scenario.config, SEED)
        build_s = run.build_seconds
        summary = run.run().summary
        wall = time.perf_counter() - started
        graph_s, adjacency = run.graph_seconds, run.adjacency
    else:
        building = time.perf_counter()
        society = scenario.build(SEED)  # its network included
        build_s = time.perf_counter() - building
        summary = society.run().summary
        wall = time.perf_counter() - started
        again = time.perf_counter()
        scenario.adjacency(SEED)  # the same network, timed apart
        graph_s = time.perf_counter() - again
    out = {
        "engine": engine,
        "agents": size,
        "wall_s": wall,
        "build_s": build_s,
        "graph_s": graph_s,
        "delivered": summary["messages_delivered"],
        "sent": summary["messages_sent"],
        "run_s": summary["wall_seconds"],
        "peak_mib": _peak_mib(),
    }
    if engine == "fast":
        # The same traffic through the minimal loop: as many broadcasts per delivery.
        broadcasts = float(run._counters[run_loop_counter()])
        again = max(broadcasts - size, 0.0) / max(summary["messages_delivered"], 1)
        indptr = np.asarray(adjacency.indptr)
        indices = np.asarray(adjacency.indices)
        horizon = scenario.config.stop.max_time or np.inf
        warm = np.random.default_rng(1)
        _baseline_loop(indptr[:3], indices[: indptr[2]], 0.0, 0.5, horizon, warm, 10)
        t0 = time.perf_counter()
        rng = np.random.default_rng(SEED)
        delivered = summary["messages_delivered"]
        base = _baseline_loop(indptr, indices, again, 0.5, horizon, rng, delivered)
        out["baseline_per_s"] = base / (time.perf_counter() - t0)
    return out


def run_loop_counter() -> int:
    """Slot of the announcement counter in the fast engine's counters."""
    from sim.fast import loop

    return loop.C_ANNOUNCEMENTS


def measure(engine: str, size: int) -> dict[str, Any] | None:
    """One measurement in a fresh process (``None``: SimPy over its time limit)."""
    command = [sys.executable, __file__, "--one", engine, str(size)]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=True,
            timeout=SIMPY_LIMIT_S * 3 if engine == "simpy" else None,
        )
    except subprocess.TimeoutExpired:
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if engine == "simpy" and result["wall_s"] > SIMPY_LIMIT_S * 3:
        return None
    return result


def main() -> None:
    """Measure every size on both engines and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,20000,100000,1000000")
    parser.add_argument(
        "--one",
        nargs=2,
        metavar=("ENGINE", "SIZE"),
        help="measure one run here and print it as JSON (fast or simpy, agents)",
    )
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]))))
        return
    console = Console(width=max(Console().width, 160))
    table = Table(title="herding_1m at several sizes (Watts–Strogatz, mean degree 10), seed 7")
    for column in (
        "agents",
        "engine",
        "wall s",
        "graph s",
        "delivered",
        "deliveries/s",
        "peak MiB",
        "fast/SimPy",
        "minimal loop/s",
        "fast/minimal",
    ):
        table.add_column(column, justify="right")
    simpy_rate: float | None = None
    for size in (int(s) for s in args.sizes.split(",")):
        rows = {"fast": measure("fast", size)}
        # SimPy only where it can finish within the limit (it runs ~20k deliveries/s).
        rows["simpy"] = measure("simpy", size) if size <= 20_000 else None
        simpy_rate = None
        if rows["simpy"] is not None:
            simpy_rate = rows["simpy"]["delivered"] / rows["simpy"]["wall_s"]
        for engine in ("fast", "simpy"):
            row = rows[engine]
            if row is None:
                table.add_row(f"{size:,}", engine, f"> {SIMPY_LIMIT_S:.0f} (not run)", *[""] * 7)
                continue
            rate = row["delivered"] / row["wall_s"]
            ratio = f"{rate / simpy_rate:.0f}×" if engine == "fast" and simpy_rate else ""
            baseline = row.get("baseline_per_s")
            table.add_row(
                f"{size:,}",
                engine,
                f"{row['wall_s']:.2f}",
                f"{row['graph_s']:.2f}",
                f"{row['delivered']:,}",
                f"{rate:,.0f}",
                f"{row['peak_mib']:,.0f}",
                ratio,
                f"{baseline:,.0f}" if baseline else "",
                f"{row['delivered'] / row['run_s'] / baseline:.2f}" if baseline else "",
            )
        console.print(f"measured {size:,} agents", style="dim")
    console.print(table)
    console.print(
        "deliveries/s = delivered / wall (graph included); fast/minimal compares the "
        "event loops alone (delivered / run time, graph excluded)."
    )


if __name__ == "__main__":
    main()
