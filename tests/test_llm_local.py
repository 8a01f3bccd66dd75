"""The embedded local backend with its real model (SmolLM2-135M through xllamacpp).

Marked ``llm`` so it can be selected or deselected (``-m llm``, ``-m "not llm"``); it runs
by default. One server is started for the module; the requests are few and short (the model
answers near chance: the test checks the path, not the answers).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import polars as pl
import pytest

import sim
from sim.llm import (
    BackendConfig,
    Budget,
    CacheConfig,
    LLMClient,
    LocalServer,
    ResponseCache,
    Trace,
    TraceContext,
    answer_instructions,
    make_request,
)

pytestmark = pytest.mark.llm

OPTIONS = ("A", "B")
QUESTIONS = ["Is 7 a prime number?", "Is the sun cold?", "Is water wet?", "Is 10 odd?"]


@pytest.fixture(scope="module")
def local_server() -> Iterator[LocalServer]:
    with LocalServer() as server:
        yield server


def ask(question: str) -> list[tuple[str, str]]:
    return [
        ("system", "You answer yes/no questions. A means yes, B means no."),
        ("user", f"{question} {answer_instructions(OPTIONS)}"),
    ]


def test_local_server_serves_the_openai_api_on_loopback(local_server: LocalServer) -> None:
    assert local_server.base_url.startswith("http://127.0.0.1:")
    assert local_server.startup_s is not None and local_server.startup_s < 30
    models = httpx.get(f"{local_server.base_url}/models", timeout=10).json()
    names = {entry.get("id") or entry.get("name") for entry in models.get("data", [])}
    assert "smollm2-135m-instruct-q4_1" in names


def test_local_model_answers_in_the_structured_format_then_replays_from_cache(
    local_server: LocalServer, tmp_path: Path
) -> None:
    backend = BackendConfig(kind="local", max_tokens=48, temperature=0.7, timeout_s=60)
    requests = [
        make_request(backend, ask(q), options=OPTIONS, sample_index=i)
        for i, q in enumerate(QUESTIONS)
    ]
    contexts = [TraceContext(run="local", agent=i, time=0.0) for i in range(len(requests))]
    cache = ResponseCache(CacheConfig(path=tmp_path))
    trace = Trace()
    with LLMClient(backend, cache, Budget(), trace, server=local_server) as client:
        started = time.perf_counter()
        first = client.complete_many(requests, contexts)
        elapsed = time.perf_counter() - started
        sent = client.requests_sent
        second = client.complete_many(requests, contexts)
        assert client.requests_sent == sent  # zero requests the second time
    # The grammar makes every reply a well-formed answer: no repair, no abstention.
    assert [r.status for r in first] == ["ok"] * len(QUESTIONS), [r.text for r in first]
    assert not any(r.repaired for r in first) and sent == len(QUESTIONS)
    for result in first:
        assert result.answer is not None and result.answer.answer in OPTIONS
        assert 0.0 <= result.answer.confidence <= 1.0
        assert not result.tokens_estimated and 0 < result.completion_tokens <= 48
    assert all(r.cache_hit for r in second)
    assert [(r.text, r.answer) for r in second] == [(r.text, r.answer) for r in first]
    assert trace.frame().height == 2 * len(QUESTIONS)
    assert local_server.running
    print(f"\nlocal model: {len(QUESTIONS)} requests in {elapsed:.2f} s")


@pytest.mark.parametrize("structured", ["json_schema", "response_format"])
def test_local_server_accepts_the_other_structured_modes(
    local_server: LocalServer, tmp_path: Path, structured: str
) -> None:
    backend = BackendConfig(kind="local", max_tokens=48, structured=structured)  # type: ignore[arg-type]
    request = make_request(backend, ask(QUESTIONS[0]), options=OPTIONS)
    cache = ResponseCache(CacheConfig(mode="off", path=tmp_path))
    with LLMClient(backend, cache, Budget(), server=local_server) as client:
        result = client.complete(request)
    # A schema-constrained reply can still run past max_tokens (the message is unbounded
    # here); then the lenient parser or the repair reads it.
    assert result.status == "ok", result.text
    assert result.answer is not None and result.answer.answer in OPTIONS


def test_client_starts_and_stops_its_own_local_server(tmp_path: Path) -> None:
    backend = BackendConfig(kind="local", max_tokens=16)
    request = make_request(backend, [("user", "Say hi.")])
    with LLMClient(backend, ResponseCache(CacheConfig(path=tmp_path)), Budget()) as client:
        result = client.complete(request)
        server = client._server
        assert server is not None and server.running
        address = server.base_url
    assert result.ok and result.text
    assert not server.running
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{address}/models", timeout=2)


ROOT = Path(__file__).resolve().parent.parent
SIM = [sys.executable, "-m", "sim"]


def test_llm_debate_runs_end_to_end_then_replays_from_the_cache(tmp_path: Path) -> None:
    """The shipped debate scenario on the real local model (one round, 8 calls), then the
    same command again: served entirely from the cache, zero requests, identical files."""
    scenario = str(ROOT / "scenarios" / "llm_debate.toml")
    settings = ["--set", f"llm.cache.path={tmp_path / 'cache'}", "--set", "protocol.rounds=1"]
    outputs = []
    for name in ("first", "second"):
        out = tmp_path / name
        done = subprocess.run(
            [*SIM, "run", scenario, *settings, "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(out)
    first, second = outputs
    summary = pl.read_parquet(first / "summary.parquet")
    assert summary["llm_calls"].item() == 8  # 4 agents: a first answer, one revision
    assert summary["stop_reason"].item() == "completed"
    trace = pl.read_parquet(first / "trace.parquet")
    assert trace.filter(pl.col("decision")).height == 8
    assert (trace["attempts"] > 0).sum() >= 8 and not trace["cache_hit"].any()
    replayed = pl.read_parquet(second / "trace.parquet")
    assert replayed["cache_hit"].all() and (replayed["attempts"] == 0).all()
    for name in ("timeseries.parquet", "scenario.toml"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    volatile = ["latency_s", "cache_hit", "attempts"]
    assert trace.drop(volatile).equals(replayed.drop(volatile))
    assert summary.drop("wall_seconds").equals(
        pl.read_parquet(second / "summary.parquet").drop("wall_seconds")
    )
    # The estimate, made without a model, counts the same calls on the same seed.
    estimate = subprocess.run(
        [*SIM, "estimate", scenario, *settings], capture_output=True, text=True, timeout=120
    )
    assert estimate.returncode == 0, estimate.stderr
    assert re.search(r"calls\s+│?\s*8\b", estimate.stdout), estimate.stdout
    # Calibration reads the real trace and writes groups that validate.
    calibrated = tmp_path / "calibrated.toml"
    fitted = subprocess.run(
        [*SIM, "calibrate", str(first / "trace.parquet"), "--out", str(calibrated)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert fitted.returncode == 0, fitted.stderr
    groups = tomllib.loads(calibrated.read_text())["population"]["groups"]
    assert {g["name"] for g in groups} == {"careful", "agreeable"}
    sim.Scenario.from_dict({"population": {"size": 4, "groups": groups}})
