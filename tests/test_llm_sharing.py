"""State shared between processes: the response cache and the sweep budget ledger; and the
rate limiter's pacing on a fake clock."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from multiprocessing.pool import Pool
from pathlib import Path

import pytest
from llm_fault_server import FaultServer, fault_server  # noqa: F401

from sim.errors import ScenarioError
from sim.llm import (
    BackendConfig,
    Budget,
    BudgetConfig,
    BudgetLimits,
    CacheConfig,
    CacheEntry,
    ChatRequest,
    LLMClient,
    ResponseCache,
    SweepLedger,
    Usage,
    make_request,
)
from sim.llm.limits import RateLimiter


@pytest.fixture(scope="module")
def workers() -> Iterator[Pool]:
    """Two fresh worker processes (spawned: nothing inherited), shared by this module's
    tests because each pays for importing the package."""
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        yield pool


def _request(prompt: str) -> ChatRequest:
    return ChatRequest(messages=(("user", prompt),), model="m", options=("A", "B"))


def _barrier(folder: Path, me: int, parties: int = 2) -> None:
    """Wait until every party has reached this point (a file each), so that the two
    workers really run at the same time."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"ready-{me}").touch()
    deadline = time.monotonic() + 60
    while len(list(folder.glob("ready-*"))) < parties:
        assert time.monotonic() < deadline, "the other worker never started"
        time.sleep(0.005)


def _write_entries(root: str, writer: int, rounds: int) -> tuple[int, float, float]:
    """Write shared and own keys with large texts, reading shared keys back in between;
    return the number of damaged reads seen, and when writing started and ended."""
    cache = ResponseCache(CacheConfig(path=Path(root) / "cache"))
    damaged = 0
    _barrier(Path(root) / "barrier", writer)
    started = time.time()
    for i in range(rounds):
        shared = _request(f"shared {i % 20}")
        text = f"writer {writer} round {i} " + "x" * 20_000
        cache.put(shared, CacheEntry(text, 10, 20))
        cache.put(_request(f"own {writer} {i}"), CacheEntry(f"writer {writer}", 1, 2))
        path = cache.path_for(_request(f"shared {(i * 7) % 20}").key())
        if path.exists():
            try:
                data = json.loads(path.read_bytes())
                damaged += not data["text"].endswith("x" * 20_000)
            except ValueError:
                damaged += 1
    return damaged, started, time.time()


def test_two_processes_writing_the_cache_never_corrupt_it(workers: Pool, tmp_path: Path) -> None:
    rounds = 400
    (damaged0, start0, end0), (damaged1, start1, end1) = workers.starmap(
        _write_entries, [(str(tmp_path), 0, rounds), (str(tmp_path), 1, rounds)]
    )
    assert (damaged0, damaged1) == (0, 0)
    assert max(start0, start1) < min(end0, end1)  # the writers overlapped
    cache = ResponseCache(CacheConfig(path=tmp_path / "cache"))
    assert len(cache) == 20 + 2 * rounds
    assert not list(tmp_path.rglob("*.tmp"))
    for i in range(20):
        entry = cache.get(_request(f"shared {i}").key())
        assert entry is not None and entry.text.startswith("writer ")
        assert entry.text.endswith("x" * 20_000) and (
            entry.prompt_tokens,
            entry.completion_tokens,
        ) == (10, 20)
    for writer in (0, 1):
        for i in range(rounds):
            entry = cache.get(_request(f"own {writer} {i}").key())
            assert entry is not None and entry.text == f"writer {writer}"


def test_damaged_cache_file_is_a_miss_and_gets_rewritten(tmp_path: Path) -> None:
    cache = ResponseCache(CacheConfig(path=tmp_path))
    request = _request("q")
    path = cache.path_for(request.key())
    path.parent.mkdir(parents=True)
    path.write_text('{"text": "cut o')
    assert cache.get(request.key()) is None
    cache.put(request, CacheEntry("whole", 1, 1))
    assert cache.get(request.key()) == CacheEntry("whole", 1, 1)


def test_recorded_failure_never_replaces_a_recorded_reply(tmp_path: Path) -> None:
    cache = ResponseCache(CacheConfig(path=tmp_path))
    request = _request("q")
    cache.put(request, CacheEntry("reply", 1, 1))
    cache.put(request, CacheEntry("", 0, 0, error="HTTP 500"))
    assert cache.get(request.key()) == CacheEntry("reply", 1, 1)


def _spend_under_ledger(base_url: str, ledger: str, worker: int, calls: int) -> list[str]:
    backend = BackendConfig(
        kind="openai", base_url=base_url, model="m", concurrency=4, backoff_base_s=0.01
    )
    budget = Budget(BudgetConfig(sweep=BudgetLimits(max_requests=20)), ledger_path=Path(ledger))
    cache = ResponseCache(CacheConfig(mode="off"))
    statuses: list[str] = []
    _barrier(Path(ledger).parent / "barrier", worker)
    with LLMClient(backend, cache, budget) as client:
        for start in range(0, calls, 5):  # several batches, interleaved with the other worker
            batch = [
                make_request(backend, [("user", f"w{worker} q{i}")], options=["A", "B"])
                for i in range(start, start + 5)
            ]
            statuses += [result.status for result in client.complete_many(batch)]
    return statuses


def test_sweep_ledger_holds_the_limit_across_two_processes(
    workers: Pool,
    fault_server: FaultServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    ledger = tmp_path / "sweep" / "llm-ledger.json"
    outcomes = workers.starmap(
        _spend_under_ledger,
        [(fault_server.base_url, str(ledger), w, 15) for w in (0, 1)],
    )
    statuses = [status for worker in outcomes for status in worker]
    assert statuses.count("ok") == 20 and statuses.count("budget") == 10
    assert all(worker.count("ok") >= 5 for worker in outcomes)  # both really took part
    assert fault_server.chat_requests == 20
    state = json.loads(ledger.read_text())
    assert state["spent"]["requests"] == 20 and state["reserved"] == {}
    assert SweepLedger(ledger, BudgetLimits()).spent().requests == 20


def test_ledger_drops_reservations_of_dead_processes(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(finished.stdout)
    ledger = tmp_path / "ledger.json"
    ledger.write_text(
        json.dumps(
            {
                "spent": Usage(3, 30, 0.0).to_dict(),
                "reserved": {str(dead_pid): Usage(5, 500, 0.0).to_dict()},
            }
        )
    )
    shared = SweepLedger(ledger, BudgetLimits(max_requests=5))
    assert shared.reserve(Usage(2, 10, 0.0)) is None  # 3 spent + 2: fits once the dead go
    assert shared.reserve(Usage(1, 10, 0.0)) is not None
    state = json.loads(ledger.read_text())
    assert set(state["reserved"]) == {str(os.getpid())}
    shared.settle(Usage(2, 10, 0.0), Usage(2, 8, 0.0))
    assert shared.spent() == Usage(5, 38, 0.0)


def test_damaged_ledger_is_a_scenario_error(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.json"
    ledger.write_text("{")
    with pytest.raises(ScenarioError, match="ledger"):
        SweepLedger(ledger, BudgetLimits()).spent()


def test_rate_limiter_paces_requests_and_tokens_on_a_fake_clock() -> None:
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    async def run(limiter: RateLimiter, costs: list[int]) -> list[float]:
        times = []
        for tokens in costs:
            await limiter.acquire(tokens)
            times.append(now[0])
        return times

    # 120 requests per minute: 2 per second, a burst of 2.
    limiter = RateLimiter(120, None, clock=lambda: now[0], sleep=sleep)
    assert asyncio.run(run(limiter, [1] * 6)) == pytest.approx([0, 0, 0.5, 1.0, 1.5, 2.0])

    # 600 tokens per minute = 10 per second, bucket of 10: a 30-token call leaves a debt.
    now[0] = 0.0
    limiter = RateLimiter(None, 600, clock=lambda: now[0], sleep=sleep)
    assert asyncio.run(run(limiter, [30, 5, 5])) == pytest.approx([0, 2.5, 3.0])
    limiter.refund(20)  # unused tokens come back (up to the bucket's size)
    assert asyncio.run(run(limiter, [10])) == pytest.approx([3.0])
