"""Where the fast engine's loop spends its time: a ``perf`` profile of one run.

Runs ``scenarios/herding_1m.toml`` on the fast engine in this process and samples the
run alone (not the imports, the compile or the build) with ``perf record``. numba's
compiled functions have no symbols ``perf`` can see, so before the report this writes
the map ``perf`` reads for code generated at run time (``/tmp/perf-<pid>.map``): each
function numba's JIT engine defined, at the address it was loaded to. Functions inlined
into the loop (a delivery's helpers) count as the loop. Reading numba's JIT engine uses
its internals (``codegen()._engine``, as of numba 0.68): a benchmark tool, not the
engine.

``--annotate NAME`` goes down to instructions: it copies the machine code of the
compiled function whose name contains ``NAME`` (``run_loop``, ``_load``...) out of this
process, disassembles it with ``objdump`` and lists the instructions taking the most
samples, each with the instructions before it. A sample falls on the instruction
*after* the one that stalled (a load waiting on memory shows as the instruction that
follows it).

Usage (Linux, with ``perf`` installed; ``kernel.perf_event_paranoid`` at most 2;
``objdump`` from binutils for ``--annotate``)::

    .venv/bin/python benchmarks/profile_loop.py [--size 1000000] [--top 20] [--annotate run_loop]
"""

from __future__ import annotations

import argparse
import ctypes
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


def compiled_functions() -> list[tuple[int, int, str]]:
    """``(address, size, symbol)`` of each function numba's JIT engine has loaded, by
    address. A function's size is taken as the gap to the next one."""
    from numba.core.registry import cpu_target

    engine = cpu_target.target_context.codegen()._engine
    found = []
    for name in engine._defined_symbols:
        address = engine.get_function_address(name)
        if address:
            found.append((address, name))
    found.sort()
    out = []
    for i, (address, name) in enumerate(found):
        following = found[i + 1][0] if i + 1 < len(found) else address + 4096
        out.append((address, min(following - address, 1 << 20), name))
    return out


def write_perf_map(pid: int) -> int:
    """Write ``/tmp/perf-<pid>.map`` for the compiled functions numba has loaded; return
    how many it lists."""
    functions = compiled_functions()
    with open(f"/tmp/perf-{pid}.map", "w") as out:
        for address, size, name in functions:
            out.write(f"{address:x} {size:x} {name}\n")
    return len(functions)


def annotate(data: Path, name: str, top: int, context: int = 6) -> str:
    """The ``top`` instructions of the compiled function whose name contains ``name``
    (the one taking the most samples) with the most samples in ``data``, each after
    the ``context`` instructions before it."""
    samples: dict[int, int] = {}
    script = subprocess.run(
        ["perf", "script", "-i", str(data), "-F", "ip"], capture_output=True, text=True, check=True
    ).stdout
    for ip in script.split():
        address = int(ip, 16)
        samples[address] = samples.get(address, 0) + 1
    candidates = [
        (sum(n for ip, n in samples.items() if address <= ip < address + size), address, size)
        for address, size, symbol in compiled_functions()
        if name in readable(symbol) and "cpython" not in symbol
    ]
    if not candidates:
        return f"no compiled function named like {name!r}"
    taken, address, size = max(candidates)
    with tempfile.TemporaryDirectory() as tmp:
        code = Path(tmp) / "code.bin"
        code.write_bytes(ctypes.string_at(address, size))
        listing = subprocess.run(
            [
                "objdump",
                "-D",
                "-b",
                "binary",
                "-m",
                "i386:x86-64",
                f"--adjust-vma={address}",
                str(code),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    lines: list[tuple[int, str]] = []
    for line in listing.splitlines():
        where, _, instruction = line.partition(":")
        try:
            lines.append((int(where.strip(), 16), instruction.strip()))
        except ValueError:
            continue
    total = sum(samples.values())
    report = [f"{name}: {taken:,} of {total:,} samples, {size:,} bytes at {address:#x}"]
    ranked = sorted(range(len(lines)), key=lambda i: -samples.get(lines[i][0], 0))
    for i in ranked[:top]:
        report.append("")
        for ip, instruction in lines[max(i - context, 0) : i + 1]:
            count = samples.get(ip, 0)
            report.append(f"{count:>7} {ip - address:>#7x}  {instruction}")
    return "\n".join(report)


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
    parser.add_argument(
        "--annotate", metavar="NAME", help="list the hottest instructions of this function"
    )
    args = parser.parse_args()
    if shutil.which("perf") is None:
        sys.exit("error: perf is not installed (Debian: apt-get install linux-perf)")
    if args.annotate and shutil.which("objdump") is None:
        sys.exit("error: objdump is not installed (Debian: apt-get install binutils)")

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
        hottest = annotate(data, args.annotate, args.top) if args.annotate else ""
    print(f"{args.size:,} agents: {summary['messages_delivered']:,} deliveries in {seconds:.2f} s")
    rows = [line for line in report.splitlines() if line.strip() and not line.startswith("#")]
    for line in rows[: args.top]:
        share, _, symbol = line.split(maxsplit=2)
        print(f"{share:>8}  {readable(symbol)}")
    if hottest:
        print()
        print(hottest)


if __name__ == "__main__":
    main()
