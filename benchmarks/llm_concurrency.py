"""LLM client concurrency: throughput against a loopback server with a fixed latency.

The server (``tests/llm_fault_server.py``, a thread per connection on 127.0.0.1, in its own
process so that its threads do not compete with the client for the GIL) answers every
chat request after a fixed delay (100 ms by default). For each concurrency limit C
the client sends N distinct requests in one ``complete_many`` batch (cache off, no rate
limit) and we compare the time with the ideal ``N / C * latency``: the ratio
ideal / measured is the fraction of the ideal throughput achieved (1.0 = no overhead).
C = 1 sends fewer calls (50 by default) and its time is extrapolated linearly to N,
which is exact for sequential calls. Client and server share this machine's cores, so at
high C the ratio measures their CPU cost per call, not the network.

The last two columns measure the same through the engine: a society of N ``llm`` agents
(asynchronous protocol, every agent decides once at time 0, no network) run with that
concurrency, so the time includes building the society, rendering N prompts, the batch
and applying the answers; ``engine / ideal`` is the achieved fraction of the ideal.

Usage::

    .venv/bin/python benchmarks/llm_concurrency.py [--calls 1000] [--latency 0.1]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

import sim
from sim.llm import BackendConfig, Budget, CacheConfig, LLMClient, ResponseCache, make_request

SERVER = Path(__file__).resolve().parent.parent / "tests" / "llm_fault_server.py"


def measure(base_url: str, concurrency: int, calls: int) -> tuple[float, int]:
    """Seconds for ``calls`` requests at ``concurrency``, and how many came back ok."""
    backend = BackendConfig(
        kind="openai", base_url=base_url, model="bench", concurrency=concurrency
    )
    with tempfile.TemporaryDirectory() as folder:
        cache = ResponseCache(CacheConfig(mode="off", path=Path(folder)))
        with LLMClient(backend, cache, Budget()) as client:
            # Connect (and check the server) outside the timed part.
            client.complete(make_request(backend, [("user", "warm up")], options=["A", "B"]))
            requests = [
                make_request(backend, [("user", f"call {i}")], options=["A", "B"])
                for i in range(calls)
            ]
            started = time.perf_counter()
            results = client.complete_many(requests)
            elapsed = time.perf_counter() - started
    return elapsed, sum(result.ok for result in results)


def measure_society(base_url: str, concurrency: int, agents: int) -> float:
    """Seconds for a run of ``agents`` LLM agents that each decide once at time 0."""
    with tempfile.TemporaryDirectory() as folder:
        scenario = sim.Scenario.from_dict(
            {
                "population": {"size": agents, "groups": [{"agent": "llm"}]},
                "network": {"topology": "empty"},
                "protocol": {"kind": "asynchronous", "wake_rate": 0, "wake_on_message": False},
                "llm": {
                    "backend": {
                        "kind": "openai",
                        "base_url": base_url,
                        "model": "bench",
                        "concurrency": concurrency,
                    },
                    "cache": {"mode": "off", "path": folder},
                },
            }
        )
        assert scenario.config.llm is not None
        with LLMClient.from_config(scenario.config.llm) as client:
            backend = scenario.config.llm.backend
            client.complete(make_request(backend, [("user", "warm up")], options=["A", "B"]))
            started = time.perf_counter()
            result = scenario.run(seed=1, llm_client=client)
            elapsed = time.perf_counter() - started
    assert result.summary["llm_calls"] == agents, result.summary
    return elapsed


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per concurrency level")
    parser.add_argument("--sequential-calls", type=int, default=50, help="calls at C = 1")
    parser.add_argument("--latency", type=float, default=0.1, help="server latency, seconds")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 4, 16, 64])
    args = parser.parse_args()
    table = Table(title=f"LLM client throughput, {args.latency * 1000:g} ms server latency")
    for column in (
        "C",
        "calls",
        "seconds",
        "calls/s",
        "ideal s",
        "achieved / ideal",
        "max in flight",
        "engine s",
        "engine / ideal",
    ):
        table.add_column(column, justify="right")
    server = subprocess.Popen(
        [sys.executable, str(SERVER), str(args.latency)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        root = base_url.removesuffix("/v1")
        for concurrency in args.levels:
            calls = args.sequential_calls if concurrency == 1 else args.calls
            httpx.get(f"{root}/_reset")
            elapsed, ok = measure(base_url, concurrency, calls)
            in_flight = httpx.get(f"{root}/_stats").json()["max_in_flight"]
            assert ok == calls, f"{calls - ok} calls failed"
            scale = args.calls / calls
            ideal = args.calls / concurrency * args.latency
            label = f"{elapsed:.2f}" if scale == 1 else f"{elapsed:.2f} x {scale:g}"
            engine = ("-", "-")
            if concurrency > 1:
                through = measure_society(base_url, concurrency, args.calls)
                engine = (f"{through:.2f}", f"{ideal / through:.2f}")
            table.add_row(
                str(concurrency), f"{calls:,}", label, f"{calls / elapsed:,.1f}",
                f"{ideal:.2f}", f"{ideal / (elapsed * scale):.2f}", str(in_flight), *engine,
            )  # fmt: skip
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)
    Console().print(table)


if __name__ == "__main__":
    main()
