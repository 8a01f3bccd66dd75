"""Where the fast engine's loop spends its time: a ``perf`` profile of one run.

Runs ``scenarios/herding_1m.toml`` on the fast engine in this process and samples the
run alone (not the imports, the compile or the build) with ``perf record``. numba's
compiled functions have no symbols ``perf`` can see, so before the report this writes
the map ``perf`` reads for code generated at run time (``/tmp/perf-<pid>.map``): each
function numba's JIT engine defined, at the address it was loaded to. Functions inlined
into the loop (a delivery's helpers) count as the loop. Reading numba's JIT engine uses
its internals (``codegen()._engine``, as of numba 0.68): a benchmark tool, not the
engine.

Usage (Linux, with ``perf`` installed; ``kernel.perf_event_paranoid`` at most 2)::

    .venv/bin/python benchmarks/profile_loop.py [--size 1000000] [--top 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "herding_1m.toml"
SEED = 7


def write_perf_map(pid: int) -> int:
    """Write ``/tmp/perf-<pid>.map`` for the compiled functions numba has loaded; return
    how many it lists. A function's size is taken as the gap to the next one."""
    from numba.core.registry import cpu_target

    engine = cpu_target.target_context.codegen()._engine
    found = []
    for name in engine._defined_symbols:
        address = engine.get_function_address(name)
        if address:
            found.append((address, name))
    found.sort()
    with open(f"/tmp/perf-{pid}.map", "w") as out:
        for i, (address, name) in enumerate(found):
            following = found[i + 1][0] if i + 1 < len(found) else address + 4096
            out.write(f"{address:x} {min(following - address, 1 << 20):x} {name}\n")
    return len(found)


def readable(symbol: str) -> str:
    """``sim.fast.loop.run_loop`` for numba's mangled ``_ZN3sim4fast4loop8run_loopB...``
    (its length-prefixed name parts); any other symbol as it is."""
    if not symbol.startswith("_ZN"):
        return symbol
    parts, rest = [], symbol[3:]
    while rest[:1].isdigit():
        digits = len(rest) - len(rest.lstrip("0123456789"))
        length = int(rest[:digits])
        parts.append(rest[digits : digits + length])
        rest = rest[digits + length :]
    return ".".join(parts) or symbol


def main() -> None:
    """Profile one run and print the functions taking the most samples."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="agents")
    parser.add_argument("--top", type=int, default=20, help="functions to list")
    args = parser.parse_args()
    if shutil.which("perf") is None:
        sys.exit("error: perf is not installed (Debian: apt-get install linux-perf)")

    import sim
    from sim.fast import FastRun

    FastRun(sim.load(SCENARIO, {"population.size": 50}).config, seed=0).run()  # compile
    scenario = sim.load(SCENARIO, {"population.size": args.size, "engine": "fast"})
    run = FastRun(scenario.config, SEED, adjacency=scenario.adjacency(SEED))
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "perf.data"
        command = ["perf", "record", "-F", "1999", "-o", str(data), "-p", str(os.getpid())]
        recorder = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        time.sleep(0.5)  # let perf attach
        started = time.perf_counter()
        summary = run.run().summary
        seconds = time.perf_counter() - started
        recorder.send_signal(signal.SIGINT)
        recorder.wait()
        write_perf_map(os.getpid())
        report = subprocess.run(
            ["perf", "report", "-i", str(data), "--sort", "sym", "--stdio"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    print(f"{args.size:,} agents: {summary['messages_delivered']:,} deliveries in {seconds:.2f} s")
    rows = [line for line in report.splitlines() if line.strip() and not line.startswith("#")]
    for line in rows[: args.top]:
        share, _, symbol = line.split(maxsplit=2)
        print(f"{share:>8}  {readable(symbol)}")


if __name__ == "__main__":
    main()
