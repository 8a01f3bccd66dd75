"""The LLM client against a fault-injecting loopback server: ordering, concurrency, retries,
repair, abstention, cache, budgets, secrecy and the trace."""

from __future__ import annotations

import asyncio
import dataclasses
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from llm_fault_server import FaultServer, Reply, default_answer, fault_server  # noqa: F401

from sim.errors import ScenarioError
from sim.llm import (
    TRACE_SCHEMA,
    BackendConfig,
    Budget,
    BudgetConfig,
    BudgetLimits,
    CacheConfig,
    ChatRequest,
    ChatResult,
    LLMClient,
    Price,
    ResponseCache,
    Trace,
    TraceContext,
    make_request,
)
from sim.llm.client import _retry_after, redact

AB = ("A", "B")
FAKE_KEY = "sk-test-Zq81SECRETvalue0042xyz"


def backend_for(server: FaultServer, **changes: Any) -> BackendConfig:
    settings: dict[str, Any] = {
        "kind": "openai",
        "base_url": server.base_url,
        "model": "fake-model",
        "timeout_s": 2.0,
        "max_retries": 2,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
    }
    settings.update(changes)
    return BackendConfig(**settings)


@dataclasses.dataclass
class Harness:
    """A client with a recorded (fake) sleep, and the pieces around it."""

    client: LLMClient
    trace: Trace
    sleeps: list[float]


def make_client(
    backend: BackendConfig,
    cache_dir: Path,
    *,
    mode: str = "record",
    budget: Budget | None = None,
    real_sleep: bool = False,
) -> Harness:
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    trace = Trace()
    client = LLMClient(
        backend,
        ResponseCache(CacheConfig(mode=mode, path=cache_dir)),  # type: ignore[arg-type]
        budget or Budget(),
        trace,
        sleep=None if real_sleep else fake_sleep,
    )
    return Harness(client, trace, sleeps)


@pytest.fixture
def harness(fault_server: FaultServer, tmp_path: Path) -> Iterator[Harness]:  # noqa: F811
    made = make_client(backend_for(fault_server), tmp_path / "cache")
    yield made
    made.client.close()


def ask(backend: BackendConfig, prompt: str, **kw: Any) -> ChatRequest:
    return make_request(backend, [("system", "be brief"), ("user", prompt)], options=AB, **kw)


def contexts(n: int) -> list[TraceContext]:
    return [TraceContext(run="r1", agent=i, time=2.5) for i in range(n)]


def deterministic(result: ChatResult) -> ChatResult:
    """A result without its timing and provenance fields (latency, attempts, cache hit)."""
    return dataclasses.replace(result, latency_s=0.0, attempts=0, cache_hit=False)


# -- ordering and concurrency ------------------------------------------------------------


def test_results_come_back_in_request_order_when_replies_arrive_in_reverse(
    fault_server: FaultServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    backend = backend_for(fault_server, concurrency=8)
    prompts = [f"question {i}" for i in range(6)]
    for i, prompt in enumerate(prompts):
        fault_server.script(prompt, Reply(delay_s=0.05 * (6 - i)))
    with make_client(backend, tmp_path).client as client:
        results = client.complete_many([ask(backend, p) for p in prompts], contexts(6))
    assert [r.status for r in results] == ["ok"] * 6
    assert [r.answer.message for r in results if r.answer] == prompts
    # The first request was answered last: completion order was the reverse.
    latencies = [r.latency_s for r in results]
    assert latencies == sorted(latencies, reverse=True)
    assert latencies[0] > latencies[-1] + 0.15


def test_concurrency_limit_bounds_requests_in_flight(
    fault_server: FaultServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    backend = backend_for(fault_server, concurrency=3)
    fault_server.default = Reply(delay_s=0.1)
    with make_client(backend, tmp_path).client as client:
        started = time.perf_counter()
        results = client.complete_many([ask(backend, f"q{i}") for i in range(12)])
        elapsed = time.perf_counter() - started
    assert all(r.ok for r in results)
    assert fault_server.max_in_flight == 3
    assert fault_server.chat_requests == 12
    assert elapsed >= 0.4 - 0.02  # 12 calls of 0.1 s, 3 at a time: 4 waves


def test_requests_per_minute_paces_attempts(
    fault_server: FaultServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    # 1200 per minute = 20 per second with a burst of 20: 30 calls need at least 0.5 s.
    backend = backend_for(fault_server, concurrency=16, requests_per_minute=1200)
    harness = make_client(backend, tmp_path, real_sleep=True)
    with harness.client as client:
        started = time.perf_counter()
        results = client.complete_many([ask(backend, f"q{i}") for i in range(30)])
        elapsed = time.perf_counter() - started
    assert all(r.ok for r in results)
    assert 0.45 <= elapsed < 5.0


# -- retries -------------------------------------------------------------------------------


def test_retry_after_is_honoured(harness: Harness, fault_server: FaultServer) -> None:  # noqa: F811
    backend = harness.client.backend
    fault_server.script("slow down", Reply(status=429, headers={"Retry-After": "1.5"}), Reply())
    fault_server.script("busy", Reply(status=503, headers={"retry-after-ms": "700"}), Reply())
    results = harness.client.complete_many([ask(backend, "slow down"), ask(backend, "busy")])
    assert [r.status for r in results] == ["ok", "ok"]
    assert [r.attempts for r in results] == [2, 2]
    assert sorted(harness.sleeps) == [0.7, 1.5]  # backoff alone would be <= 0.01 s


def test_retry_after_real_wait_is_bounded(
    fault_server: FaultServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    backend = backend_for(fault_server)
    fault_server.script("wait", Reply(status=429, headers={"Retry-After": "1"}), Reply())
    with make_client(backend, tmp_path, real_sleep=True).client as client:
        started = time.perf_counter()
        result = client.complete(ask(backend, "wait"))
        elapsed = time.perf_counter() - started
    assert result.ok and result.attempts == 2
    assert 1.0 <= elapsed < 3.0


def test_retry_after_header_forms() -> None:
    assert _retry_after(httpx.Headers({"Retry-After": "3"})) == 3.0
    assert _retry_after(httpx.Headers({"retry-after-ms": "250"})) == 0.25
    assert _retry_after(httpx.Headers({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert _retry_after(httpx.Headers({"Retry-After": "soon"})) is None
    assert _retry_after(httpx.Headers({})) is None


def test_server_errors_are_retried_with_growing_jittered_backoff(
    fault_server: FaultServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    backend = backend_for(fault_server, max_retries=4, backoff_base_s=0.1, backoff_max_s=0.3)
    fault_server.script(
        "flaky", Reply(status=500), Reply(status=502), Reply(status=503), Reply(status=504), Reply()
    )
    harness = make_client(backend, tmp_path)
    with harness.client as client:
        result = client.complete(ask(backend, "flaky"))
    assert result.ok and result.attempts == 5
    ceilings = [0.1, 0.2, 0.3, 0.3]  # base * 2^k, capped
    assert len(harness.sleeps) == 4
    for delay, ceiling in zip(harness.sleeps, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling


def test_failure_after_max_retries_is_a_result_not_an_exception(
    harness: Harness,
    fault_server: FaultServer,  # noqa: F811
) -> None:
    backend = harness.client.backend
    fault_server.script("doomed", *[Reply(status=500, error="boom")] * 3)
    fault_server.script("bad request", Reply(status=400, error="context too long"))
    results = harness.client.complete_many([ask(backend, "doomed"), ask(backend, "bad request")])
    doomed, bad = results
    assert doomed.status == "failed" and doomed.answer is None
    assert doomed.attempts == 3 and "HTTP 500: boom" in (doomed.error or "")
    assert "after 3 attempts" in (doomed.error or "")
    assert bad.status == "failed" and bad.attempts == 1  # a 400 is not retried
    assert bad.error == "HTTP 400: context too long (not retried)"
    assert fault_server.chat_requests == 4
    assert harness.trace.frame()["status"].to_list() == ["failed", "failed"]


def test_timeouts_are_retried_and_then_fail(
    fault_server: FaultServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    backend = backend_for(fault_server, timeout_s=0.2, max_retries=1)
    fault_server.script("hang then answer", Reply(delay_s=2.0), Reply())
    fault_server.script("hang", Reply(delay_s=2.0), Reply(delay_s=2.0))
    with make_client(backend, tmp_path).client as client:
        started = time.perf_counter()
        recovered, hung = client.complete_many(
            [ask(backend, "hang then answer"), ask(backend, "hang")]
        )
        elapsed = time.perf_counter() - started
    assert recovered.ok and recovered.attempts == 2
    assert hung.status == "failed" and "timed out after 0.2 s" in (hung.error or "")
    assert elapsed < 1.9  # without the timeout, the 2 s hang alone would exceed it


def test_malformed_bodies_and_dropped_connections_are_retried(
    harness: Harness,
    fault_server: FaultServer,  # noqa: F811
) -> None:
    backend = harness.client.backend
    fault_server.script("garbled", Reply(body=b'{"choices": [ {"mess'), Reply())
    fault_server.script("no choices", Reply(body=b'{"object": "error"}'), Reply())
    fault_server.script("dropped", Reply(drop=True), Reply())
    results = harness.client.complete_many(
        [ask(backend, "garbled"), ask(backend, "no choices"), ask(backend, "dropped")]
    )
    assert [r.status for r in results] == ["ok", "ok", "ok"]
    assert [r.attempts for r in results] == [2, 2, 2]


def test_connection_refused_after_start_becomes_failed(
    fault_server: FaultServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    backend = backend_for(fault_server)
    with make_client(backend, tmp_path).client as client:
        assert client.complete(ask(backend, "before")).ok
        fault_server.stop()
        result = client.complete(ask(backend, "after"))
    assert result.status == "failed"
    assert "connection error" in (result.error or "") and result.attempts == 3


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_at_start_is_a_clear_scenario_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    backend = BackendConfig(
        kind="openai", base_url=url, model="m", max_retries=1, backoff_base_s=0.01
    )
    with (
        make_client(backend, tmp_path).client as client,
        pytest.raises(ScenarioError, match="cannot reach the LLM server") as error,
    ):
        client.complete(ask(backend, "anyone?"))
    assert url in str(error.value) and "base_url" in str(error.value)


# -- answers: repair and abstention ---------------------------------------------------------


def test_unreadable_answer_gets_one_repair(harness: Harness, fault_server: FaultServer) -> None:  # noqa: F811
    backend = harness.client.backend
    good = '{"answer": "B", "confidence": 0.6, "message": "fixed"}'
    fault_server.script("vague", Reply(text="Hmm, probably the second one?"), Reply(text=good))
    result = harness.client.complete(ask(backend, "vague"), TraceContext("r", 4, 1.0))
    assert result.status == "ok" and result.repaired
    assert result.answer is not None and (result.answer.answer, result.answer.message) == (
        "B",
        "fixed",
    )
    assert result.attempts == 2 and fault_server.chat_requests == 2
    repair = fault_server.chat_bodies[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": "Hmm, probably the second one?"}
    assert repair[-1]["role"] == "user" and "could not be read" in repair[-1]["content"]
    frame = harness.trace.frame()
    assert frame["call"].to_list() == ["answer", "repair"]
    assert frame["status"].to_list() == ["abstain", "ok"]
    assert frame["agent"].to_list() == [4, 4]


def test_cut_off_answer_is_read_without_repair(harness: Harness, fault_server: FaultServer) -> None:  # noqa: F811
    fault_server.script(
        "cut", Reply(text='{"answer": "B", "confidence": 0.8, "message": "because the sig')
    )
    result = harness.client.complete(ask(harness.client.backend, "cut"))
    assert result.ok and not result.repaired and fault_server.chat_requests == 1
    assert result.answer is not None and result.answer.message == "because the sig"


def test_unusable_answers_become_counted_abstentions(
    harness: Harness,
    fault_server: FaultServer,  # noqa: F811
) -> None:
    backend = harness.client.backend
    invalid = '{"answer": "C", "confidence": 0.9, "message": "not an option"}'
    fault_server.script("hopeless", Reply(text=invalid), Reply(text="still no"))
    fault_server.script("fine", Reply())
    hopeless, fine = harness.client.complete_many([ask(backend, "hopeless"), ask(backend, "fine")])
    assert hopeless.status == "abstain" and hopeless.answer is None and hopeless.repaired
    assert hopeless.text == "still no" and "no usable answer" in (hopeless.error or "")
    assert fine.ok
    frame = harness.trace.frame()
    outcomes = frame.group_by("request_key", maintain_order=True).agg(pl.col("status").last())
    assert outcomes["status"].to_list() == ["abstain", "ok"]


def test_free_text_requests_are_not_parsed(harness: Harness, fault_server: FaultServer) -> None:  # noqa: F811
    fault_server.script("chat", Reply(text="Hello there."))
    request = make_request(harness.client.backend, [("user", "chat")])
    result = harness.client.complete(request)
    assert result.ok and result.answer is None and result.text == "Hello there."
    assert "response_format" not in fault_server.chat_bodies[0]


def test_structured_requests_carry_the_schema(harness: Harness, fault_server: FaultServer) -> None:  # noqa: F811
    harness.client.complete(ask(harness.client.backend, "q", sample_index=3))
    body = fault_server.chat_bodies[0]
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["answer"]["enum"] == ["A", "B"]
    assert (body["model"], body["seed"], body["max_tokens"]) == ("fake-model", 3, 64)


def test_missing_usage_is_estimated_and_flagged(
    harness: Harness,
    fault_server: FaultServer,  # noqa: F811
) -> None:
    fault_server.script("no usage", Reply(usage=False))
    result = harness.client.complete(ask(harness.client.backend, "no usage"))
    assert result.ok and result.tokens_estimated
    text = default_answer("no usage")
    assert result.completion_tokens == -(-len(text) // 3)
    prompt_chars = [len("be brief"), len("no usage")]
    assert result.prompt_tokens == 16 + sum(8 + -(-n // 3) for n in prompt_chars)


# -- cache ------------------------------------------------------------------------------------


def script_mixed_workload(server: FaultServer) -> list[str]:
    prompts = [f"item {i}" for i in range(5)]
    server.script("item 1", Reply(text="unsure"), Reply(text='{"answer":"B","confidence":0.4}'))
    server.script("item 2", Reply(usage=False))
    server.script("item 3", Reply(status=500), Reply(delay_s=0.05))
    server.script("item 4", Reply(text="no idea"), Reply(text="none"))
    return prompts


def test_record_then_replay_makes_zero_requests_and_identical_results(
    fault_server: FaultServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    backend = backend_for(fault_server)
    prompts = script_mixed_workload(fault_server)
    requests = [ask(backend, p) for p in prompts]
    recorded = make_client(backend, tmp_path / "cache")
    with recorded.client as client:
        first = client.complete_many(requests, contexts(5))
    sent = fault_server.chat_requests
    assert [r.status for r in first] == ["ok", "ok", "ok", "ok", "abstain"]
    assert sent == 1 + 2 + 1 + 2 + 2

    rerun = make_client(backend, tmp_path / "cache")  # record mode: every call is a hit
    replay_backend = BackendConfig(kind="replay", model="fake-model")
    replay = make_client(replay_backend, tmp_path / "cache", mode="replay")
    outputs = []
    for harness in (rerun, replay):
        with harness.client as client:
            again = client.complete_many(requests, contexts(5))
        assert all(r.cache_hit and r.attempts == 0 for r in again)
        assert [deterministic(r) for r in again] == [deterministic(r) for r in first]
        outputs.append(harness.trace)
    assert fault_server.chat_requests == sent  # zero new requests

    timing = ["latency_s", "cache_hit", "attempts"]
    paths = []
    for name, trace in zip(
        ["recorded", "rerun", "replay"], [recorded.trace, *outputs], strict=True
    ):
        path = tmp_path / f"{name}.parquet"
        pl.DataFrame(trace.frame().drop(timing)).write_parquet(path, statistics=False)
        paths.append(path.read_bytes())
    assert paths[0] == paths[1] == paths[2]


def test_replay_miss_is_a_clear_scenario_error(tmp_path: Path) -> None:
    backend = BackendConfig(kind="replay", model="fake-model")
    with (
        make_client(backend, tmp_path / "empty", mode="replay").client as client,
        pytest.raises(ScenarioError, match="no cached reply") as error,
    ):
        client.complete(ask(backend, "never recorded"))
    message = str(error.value)
    assert "fake-model" in message and 'llm.cache.mode = "record"' in message
    assert str(tmp_path / "empty") in message


def test_recorded_failures_replay_as_failures_but_are_resent_when_recording(
    fault_server: FaultServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    backend = backend_for(fault_server, max_retries=0)
    fault_server.script("down", Reply(status=503), Reply())
    with make_client(backend, tmp_path).client as client:
        assert client.complete(ask(backend, "down")).status == "failed"
    replay_backend = BackendConfig(kind="replay", model="fake-model", max_retries=0)
    with make_client(replay_backend, tmp_path, mode="replay").client as client:
        replayed = client.complete(ask(replay_backend, "down"))
    assert (
        replayed.status == "failed" and replayed.cache_hit and "HTTP 503" in (replayed.error or "")
    )
    with make_client(backend, tmp_path).client as client:
        assert client.complete(ask(backend, "down")).ok  # sent again, and now it worked
    assert fault_server.chat_requests == 2


def test_cache_off_always_sends_and_stores_nothing(
    fault_server: FaultServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    backend = backend_for(fault_server)
    with make_client(backend, tmp_path / "c", mode="off").client as client:
        client.complete(ask(backend, "q"))
        client.complete(ask(backend, "q"))
    assert fault_server.chat_requests == 2
    assert not (tmp_path / "c").exists()


# -- budgets ----------------------------------------------------------------------------------


def test_run_budget_refuses_before_sending(
    fault_server: FaultServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    backend = backend_for(fault_server)
    budget = Budget(BudgetConfig(run=BudgetLimits(max_requests=3)))
    with make_client(backend, tmp_path, budget=budget).client as client:
        results = client.complete_many([ask(backend, f"q{i}") for i in range(5)])
    assert [r.status for r in results] == ["ok", "ok", "ok", "budget", "budget"]
    assert fault_server.chat_requests == 3
    assert budget.used.requests == 3
    error = results[3].error or ""
    assert "run budget exhausted: max_requests = 3" in error
    assert "spent 0 requests" in error and "in flight 3 requests" in error  # decided up front
    assert budget.used.requests == 3


def test_token_and_cost_budgets_use_the_worst_case(
    fault_server: FaultServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    backend = backend_for(fault_server, max_tokens=100)
    request = ask(backend, "q0")
    worst = Budget().worst_case(request)
    # Room for two worst cases: the third is refused although actual usage is far lower.
    budget = Budget(BudgetConfig(run=BudgetLimits(max_tokens=2 * worst.tokens + 10)))
    with make_client(backend, tmp_path, budget=budget).client as client:
        results = client.complete_many([ask(backend, f"q{i}") for i in range(3)])
    assert [r.status for r in results] == ["ok", "ok", "budget"]
    assert budget.used.tokens == results[0].prompt_tokens * 2 + results[0].completion_tokens * 2

    price = Price(prompt_usd_per_million=1000.0, completion_usd_per_million=2000.0)
    limit = price.cost(worst.tokens - 100, 100) * 1.5
    priced = Budget(BudgetConfig(run=BudgetLimits(max_cost_usd=limit)), {"fake-model": price})
    with make_client(backend, tmp_path / "c2", budget=priced).client as client:
        results = client.complete_many([ask(backend, f"p{i}") for i in range(3)])
    assert [r.status for r in results] == ["ok", "budget", "budget"]
    assert "max_cost_usd" in (results[1].error or "")
    assert results[0].cost_usd == pytest.approx(
        price.cost(results[0].prompt_tokens, results[0].completion_tokens)
    )


def test_cost_limit_without_a_price_is_a_scenario_error(
    fault_server: FaultServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    backend = backend_for(fault_server)
    budget = Budget(BudgetConfig(sweep=BudgetLimits(max_cost_usd=1.0)))
    with (
        make_client(backend, tmp_path, budget=budget).client as client,
        pytest.raises(ScenarioError, match='no price for model "fake-model"'),
    ):
        client.complete(ask(backend, "q"))
    assert fault_server.chat_requests == 0


@pytest.mark.parametrize("limit", ["max_requests", "max_tokens"])
def test_run_budget_decisions_are_the_same_when_replayed(
    fault_server: FaultServer,  # noqa: F811
    tmp_path: Path,
    limit: str,
) -> None:
    # Cache hits count against the run budget, and within a batch every decision is taken
    # on worst cases before anything is sent, so a warm cache changes nothing.
    backend = backend_for(fault_server)
    requests = [ask(backend, f"q{i}") for i in range(3)]
    worst = Budget().worst_case(requests[0])
    value = 2 if limit == "max_requests" else 2 * worst.tokens + 10
    limits = BudgetConfig(run=BudgetLimits(**{limit: value}))
    with make_client(backend, tmp_path, budget=Budget(limits)).client as client:
        first = client.complete_many(requests)
    replay_backend = BackendConfig(kind="replay", model="fake-model")
    with make_client(replay_backend, tmp_path, budget=Budget(limits)).client as client:
        second = client.complete_many(requests)  # a miss would raise
    assert [r.status for r in first] == [r.status for r in second] == ["ok", "ok", "budget"]
    assert fault_server.chat_requests == 2


def test_identical_requests_in_a_batch_are_sent_once(
    fault_server: FaultServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    backend = backend_for(fault_server)
    requests = [ask(backend, "same"), ask(backend, "other"), ask(backend, "same")]
    budget = Budget()
    with make_client(backend, tmp_path, budget=budget).client as client:
        results = client.complete_many(requests)
    assert fault_server.chat_requests == 2
    assert results[2].text == results[0].text and results[2].ok
    assert (results[0].cache_hit, results[2].cache_hit) == (False, True)
    assert budget.used.requests == 3  # as a replay would count it
    assert budget.sweep_spent().requests == 2  # what was really sent


def test_complete_many_works_inside_a_running_event_loop(
    harness: Harness,
    fault_server: FaultServer,  # noqa: F811
) -> None:
    async def notebook_cell() -> ChatResult:
        return harness.client.complete(ask(harness.client.backend, "from a loop"))

    assert asyncio.run(notebook_cell()).ok
    assert harness.client.complete(ask(harness.client.backend, "and after")).ok


# -- secrets ----------------------------------------------------------------------------------


def test_api_key_never_reaches_cache_trace_or_errors(
    fault_server: FaultServer,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SIM_TEST_LLM_KEY", FAKE_KEY)
    backend = backend_for(fault_server, api_key_env="SIM_TEST_LLM_KEY", max_retries=1)
    masked = FAKE_KEY[:10] + "*****" + FAKE_KEY[-4:]
    fault_server.script("echo", *[Reply(status=500, echo_auth=True)] * 2)
    fault_server.script("masked", Reply(status=401, error=f"Incorrect API key provided: {masked}"))
    fault_server.script("422", Reply(status=422, error=f"bad request from key {masked}"))
    fault_server.script("ok", Reply())
    harness = make_client(backend, tmp_path / "cache")
    with harness.client as client:
        results = client.complete_many([ask(backend, p) for p in ("echo", "masked", "422", "ok")])
    assert [r.status for r in results] == ["failed", "failed", "failed", "ok"]
    # The key was really sent...
    assert f"Bearer {FAKE_KEY}" in fault_server.auth_headers
    # ...and is nowhere in what the client produced.
    errors = " ".join(r.error or "" for r in results)
    assert "[redacted]" in errors and "SIM_TEST_LLM_KEY" in errors
    harness.trace.write_parquet(tmp_path / "trace.parquet")
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) >= 5
    blobs = [errors.encode(), repr(results).encode(), repr(harness.client.__dict__).encode()]
    blobs += [p.read_bytes() for p in files]
    for fragment in (FAKE_KEY, "Zq81SECRET", "0042xyz", masked):
        assert not any(fragment.encode() in blob for blob in blobs), fragment


def test_redact_removes_the_key_and_partial_echoes() -> None:
    text = f"key {FAKE_KEY} or sk-test-Zq8***xyz or 'SECRETvalue' but not secretary"
    cleaned = redact(text, FAKE_KEY)
    assert FAKE_KEY not in cleaned and "SECRETvalue" not in cleaned and "Zq8" not in cleaned
    assert cleaned.endswith("but not secretary")


def test_missing_key_variable_is_a_scenario_error_naming_it(
    fault_server: FaultServer,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SIM_TEST_NO_SUCH_KEY", raising=False)
    backend = backend_for(fault_server, api_key_env="SIM_TEST_NO_SUCH_KEY")
    with (
        make_client(backend, tmp_path).client as client,
        pytest.raises(ScenarioError, match="SIM_TEST_NO_SUCH_KEY, which is not set"),
    ):
        client.complete(ask(backend, "q"))
    assert fault_server.chat_requests == 0


class _Unauthorized(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_server_that_wants_a_key_is_reported_at_start(tmp_path: Path) -> None:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Unauthorized)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        backend = BackendConfig(kind="openai", base_url=url, model="m")
        with (
            make_client(backend, tmp_path).client as client,
            pytest.raises(ScenarioError, match=r"wants an API key.*api_key_env"),
        ):
            client.complete(ask(backend, "q"))
    finally:
        httpd.shutdown()
        httpd.server_close()


# -- trace ------------------------------------------------------------------------------------


def test_trace_parquet_has_the_documented_schema(
    harness: Harness,
    fault_server: FaultServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    backend = harness.client.backend
    fault_server.script("q1", Reply(text="eh"), Reply())
    harness.client.complete_many([ask(backend, "q0"), ask(backend, "q1")], contexts(2))
    path = tmp_path / "trace.parquet"
    harness.trace.write_parquet(path)
    frame = pl.read_parquet(path)
    assert frame.schema == pl.Schema(TRACE_SCHEMA)
    assert frame.height == 3
    assert frame["call"].to_list() == ["answer", "answer", "repair"]
    assert frame["agent"].to_list() == [0, 1, 1]
    assert frame["sim_time"].to_list() == [2.5] * 3
    assert frame["answer"].to_list() == ["A", None, "A"]
    assert frame["prompt"][0] == "system: be brief\n\nuser: q0"
    assert json.loads(frame["response"][0])["message"] == "q0"
    assert frame["key"][0] == ask(backend, "q0").key()
    without_text = Trace(include_text=False)
    for row in harness.trace._rows:
        without_text.append(row)
    assert without_text.frame()["prompt"].null_count() == 3
