"""LLM-backed agents inside runs, against the fault-injecting server on loopback.

The server answers by a ``responder`` that reads the prompt, so each test states what the
"model" does. Checked here: requests of one simulated moment go out together and their
answers are applied in agent order whatever order the network returns them in; prompts
carry the agent's evidence and what its neighbours said; failures and unusable replies
become counted abstentions; budgets stop a run cleanly; a cached run makes no request and
writes the same outputs; ``sim estimate`` counts exactly the calls the real run makes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from llm_fault_server import FaultServer, Reply

import sim
from sim.errors import ScenarioError
from sim.scenario import Scenario

# Volatile by nature: wall-clock and whether the cache was warm.
WALL_COLUMNS = {"wall_seconds"}
TRACE_VOLATILE = {"latency_s", "cache_hit", "attempts"}
AGENT = re.compile(r"You are agent (\d+)\.")


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as running:
        yield running


def answer(option: str, confidence: float = 0.8, message: str = "") -> Reply:
    text = json.dumps({"answer": option, "confidence": confidence, "message": message})
    return Reply(text=text)


def scenario(
    server: FaultServer,
    tmp_path: Path,
    *,
    size: int = 4,
    protocol: dict[str, Any] | None = None,
    groups: list[dict[str, Any]] | None = None,
    llm: dict[str, Any] | None = None,
    seed: int = 3,
    stop: dict[str, Any] | None = None,
) -> Scenario:
    llm_table: dict[str, Any] = {
        "backend": {
            "kind": "openai",
            "base_url": server.base_url,
            "model": "fake",
            "max_retries": 0,
            "timeout_s": 5,
            "concurrency": 8,
        },
        "cache": {"path": str(tmp_path / "cache")},
    }
    for key, value in (llm or {}).items():
        llm_table[key] = llm_table.get(key, {}) | value if isinstance(value, dict) else value
    return Scenario.from_dict(
        {
            "name": "llm_test",
            "seed": seed,
            "world": {"options": 2, "signal_accuracy": 0.7},
            "population": {
                "size": size,
                "groups": groups
                or [{"agent": "llm", "user": "You are agent {agent}.\n{evidence}\n{messages}"}],
            },
            "network": {"topology": "complete"},
            "channels": {"latency": 0.0},
            "protocol": protocol or {"kind": "rounds", "rounds": 2},
            "llm": llm_table,
            "stop": stop or {},
        }
    )


def agent_of(prompt: str) -> int:
    found = AGENT.search(prompt)
    assert found, prompt
    return int(found.group(1))


def test_llm_agents_decide_through_the_server(server: FaultServer, tmp_path: Path) -> None:
    server.responder = lambda prompt: answer("B", 0.9, f"agent {agent_of(prompt)} says B")
    result = scenario(server, tmp_path).run()
    summary = result.summary
    # Every agent is asked once at the start and once after each of the 2 rounds.
    assert summary["llm_calls"] == 4 * 3 == server.chat_requests
    assert summary["llm_abstentions"] == summary["llm_failures"] == 0
    assert summary["accuracy"] == (1.0 if summary["truth"] == 1 else 0.0)
    assert summary["stop_reason"] == "completed"
    trace = result.trace
    assert trace is not None and trace.height == 12
    assert trace["decision"].all() and (trace["choice"] == 1).all()
    assert (trace["confidence"] == 0.9).all()
    # What each agent knew: heard counts are 0 at the start, then the 3 others said B.
    first, later = trace.filter(pl.col("sim_time") == 0), trace.filter(pl.col("sim_time") > 0)
    assert first["heard"].to_list() == [[0, 0]] * 4
    assert later["heard"].to_list() == [[0, 3]] * 8
    assert later["heard_confidence"].to_list() == [[None, 0.9]] * 8
    assert first["previous"].is_null().all() and (later["previous"] == 1).all()


def test_prompts_carry_evidence_and_what_neighbours_said(
    server: FaultServer, tmp_path: Path
) -> None:
    server.responder = lambda prompt: answer(
        "A" if agent_of(prompt) % 2 else "B", 0.75, f"hello from {agent_of(prompt)}"
    )
    run = scenario(server, tmp_path, size=3, protocol={"kind": "rounds", "rounds": 1})
    society = run.build()
    society.run()
    prompts = [
        next(m["content"] for m in body["messages"] if m["role"] == "user")
        for body in server.chat_bodies
    ]
    assert len(prompts) == 6
    colours = ("red", "blue")
    for prompt in prompts[:3]:
        agent = society.members[agent_of(prompt)]
        assert f"{colours[agent.signal]}" in prompt.lower()
        assert "Nobody has told you their answer yet." in prompt
    second = next(p for p in prompts[3:] if agent_of(p) == 0)
    assert 'Agent 1 answered A (confidence 0.75): "hello from 1"' in second
    assert 'Agent 2 answered B (confidence 0.75): "hello from 2"' in second
    assert "Agent 0 answered" not in second
    system = server.chat_bodies[0]["messages"][0]
    assert system["role"] == "system" and "one of 3 agents" in system["content"]


def test_a_moment_is_sent_at_once_and_applied_in_agent_order(
    server: FaultServer, tmp_path: Path
) -> None:
    # Agent 0 answers last over the network; outputs must not depend on it.
    def slow_first(prompt: str) -> Reply:
        agent = agent_of(prompt)
        text = json.dumps({"answer": "AB"[agent % 2], "confidence": 0.6, "message": ""})
        return Reply(text=text, delay_s=0.4 if agent == 0 else 0.2)

    server.responder = slow_first
    slow = scenario(server, tmp_path / "slow").run()
    assert server.max_in_flight == 4  # the four requests of a moment overlap
    server.responder = lambda p: answer("AB"[agent_of(p) % 2], 0.6)
    quick = scenario(server, tmp_path / "quick").run()
    assert slow.timeseries.equals(quick.timeseries)
    assert {k: v for k, v in slow.summary.items() if k not in WALL_COLUMNS} == {
        k: v for k, v in quick.summary.items() if k not in WALL_COLUMNS
    }
    assert slow.trace is not None and quick.trace is not None
    assert slow.trace["agent"].to_list() == [0, 1, 2, 3] * 3


def test_failures_and_unusable_replies_are_counted_abstentions(
    server: FaultServer, tmp_path: Path
) -> None:
    def faulty(prompt: str) -> Reply:
        agent = agent_of(prompt)
        if agent == 1:
            return Reply(status=500)
        if agent == 2:
            return Reply(text="I would rather not say.")  # unusable, and so is the repair
        return answer("A", 0.7)

    server.responder = faulty
    result = scenario(server, tmp_path).run()
    summary = result.summary
    assert summary["stop_reason"] == "completed"
    assert summary["llm_calls"] == 12
    assert summary["llm_failures"] == 3 and summary["llm_abstentions"] == 3
    trace = result.trace
    assert trace is not None
    decisions = trace.filter(pl.col("decision"))
    assert decisions.height == 12
    by_agent = decisions.group_by("agent").agg(pl.col("choice").null_count()).sort("agent")
    assert by_agent["choice"].to_list() == [0, 3, 3, 0]
    assert trace.filter(pl.col("call") == "repair")["agent"].to_list() == [2, 2, 2]
    failed = trace.filter((pl.col("agent") == 1) & pl.col("decision"))
    assert (failed["status"] == "failed").all() and failed["error"].is_not_null().all()
    # An agent that never answered holds no choice; the others do.
    assert result.summary["accuracy"] <= 0.5


def test_budget_stops_the_run_and_keeps_what_was_done(server: FaultServer, tmp_path: Path) -> None:
    server.responder = lambda p: answer("A")
    run = scenario(server, tmp_path, llm={"budget": {"run": {"max_requests": 6}}})
    result = run.run()
    summary = result.summary
    assert summary["stop_reason"] == "budget"
    assert summary["llm_calls"] == 6 == server.chat_requests
    assert summary["sim_time"] == 1.0  # stopped when the second round's update was refused
    trace = result.trace
    assert trace is not None
    assert trace["status"].to_list() == ["ok"] * 6 + ["budget"] * 2
    written = result.write(tmp_path / "out", run.to_toml())
    assert {p.name for p in written} >= {"summary.parquet", "timeseries.parquet", "trace.parquet"}


def test_a_cached_run_sends_nothing_and_writes_the_same_outputs(
    server: FaultServer, tmp_path: Path
) -> None:
    server.responder = lambda p: answer("AB"[agent_of(p) % 2], 0.66, "same")
    run = scenario(server, tmp_path)
    first = run.run()
    first.write(tmp_path / "first", run.to_toml())
    sent = server.chat_requests
    second = run.run()
    second.write(tmp_path / "second", run.to_toml())
    assert server.chat_requests == sent  # zero requests the second time
    assert second.trace is not None and second.trace["cache_hit"].all()
    assert (tmp_path / "first" / "timeseries.parquet").read_bytes() == (
        tmp_path / "second" / "timeseries.parquet"
    ).read_bytes()
    for name, volatile in (("summary", WALL_COLUMNS), ("trace", TRACE_VOLATILE)):
        a = pl.read_parquet(tmp_path / "first" / f"{name}.parquet").drop(volatile)
        b = pl.read_parquet(tmp_path / "second" / f"{name}.parquet").drop(volatile)
        assert a.equals(b), name
    # Replay mode answers from the same cache with no server at all.
    replay = scenario(server, tmp_path, llm={"backend": {"kind": "replay"}})
    assert replay.run().timeseries.equals(first.timeseries)
    missing = scenario(server, tmp_path, llm={"backend": {"kind": "replay"}}, seed=99)
    with pytest.raises(ScenarioError, match="replay"):
        missing.run()


@pytest.mark.parametrize(
    "protocol",
    [
        {"kind": "rounds", "rounds": 3},
        {"kind": "sequential", "order": "random"},
        {"kind": "asynchronous", "wake_rate": 0.5, "wake_on_message": False},
    ],
    ids=["rounds", "sequential", "asynchronous"],
)
def test_estimate_counts_exactly_the_calls_of_the_real_run(
    server: FaultServer, tmp_path: Path, protocol: dict[str, Any]
) -> None:
    server.responder = lambda p: answer("AB"[len(p) % 2], 0.7)
    groups = [
        {
            "agent": "llm",
            "share": 0.5,
            "latency": {"dist": "exponential", "mean": 0.4},
            "user": "You are agent {agent}.\n{evidence}\n{messages}",
        },
        {"agent": "bayesian", "share": 0.5},
    ]
    stop = {"max_time": 4.0} if protocol["kind"] == "asynchronous" else None
    run = scenario(server, tmp_path, size=6, protocol=protocol, groups=groups, stop=stop)
    estimate = run.estimate()
    real = run.run()
    assert estimate.calls == real.summary["llm_calls"] > 0
    assert estimate.prompt_tokens >= 0.5 * sum(
        real.trace["prompt_tokens"]  # type: ignore[index]
    )
    assert estimate.completion_tokens == 64 * estimate.calls


def test_llm_agents_take_simulated_time_in_sequential_turns(
    server: FaultServer, tmp_path: Path
) -> None:
    server.responder = lambda p: answer("A")
    groups = [{"agent": "llm", "latency": 2.0, "user": "You are agent {agent}. {messages}"}]
    run = scenario(
        server, tmp_path, size=3, groups=groups, protocol={"kind": "sequential", "interval": 1.0}
    )
    result = run.run()
    # Three turns of 2 time units each, one unit apart: 2 + (1 + 2) + (1 + 2).
    assert result.summary["sim_time"] == 8.0
    assert result.summary["llm_calls"] == 3


def test_template_with_an_unknown_variable_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"population\.groups\.0\.user.*\{colour\}"):
        Scenario.from_dict(
            {
                "population": {"size": 2, "groups": [{"agent": "llm", "user": "Hi {colour}"}]},
            }
        )


def test_estimate_of_a_scenario_without_llm_agents_is_an_error() -> None:
    with pytest.raises(ScenarioError, match="agent = 'llm'"):
        Scenario.from_dict({"population": {"size": 3}}).estimate()


FAULTS = {
    "429 with Retry-After": Reply(status=429, headers={"Retry-After": "0"}),
    "500": Reply(status=500),
    "timeout": Reply(delay_s=3.0),
    "malformed JSON body": Reply(body=b'{"choices": [{"message": '),
    "truncated answer": Reply(text='{"answer": "A", "confid'),
    "dropped connection": Reply(drop=True),
}


@pytest.mark.parametrize("fault", list(FAULTS), ids=list(FAULTS))
@pytest.mark.parametrize("persistent", [False, True], ids=["once", "always"])
def test_faults_are_retried_or_recorded_and_the_run_completes(
    server: FaultServer, tmp_path: Path, fault: str, persistent: bool
) -> None:
    """Agent 1's requests meet the fault once (the retry or repair succeeds) or every
    time (it abstains); either way the run completes and the trace says what happened."""
    faulted: set[int] = set()

    def respond(prompt: str) -> Reply:
        agent = agent_of(prompt)
        first_time = prompt not in faulted
        if agent == 1 and (persistent or first_time):
            faulted.add(prompt)
            return FAULTS[fault]
        return answer("B", 0.8)

    server.responder = respond
    run = scenario(
        server,
        tmp_path,
        llm={"backend": {"max_retries": 1, "timeout_s": 1.0, "backoff_base_s": 0.01}},
        protocol={"kind": "rounds", "rounds": 1},
    )
    result = run.run()
    summary = result.summary
    assert summary["stop_reason"] == "completed"
    assert summary["llm_calls"] == 8
    trace = result.trace
    assert trace is not None
    mine = trace.filter((pl.col("agent") == 1) & pl.col("decision"))
    others = trace.filter((pl.col("agent") != 1) & pl.col("decision"))
    assert (others["choice"] == 1).all() and (others["status"] == "ok").all()
    if not persistent:
        assert (mine["choice"] == 1).all()
        assert summary["llm_failures"] == summary["llm_abstentions"] == 0
    else:
        assert mine["choice"].is_null().all()
        assert summary["llm_failures"] + summary["llm_abstentions"] == 2
        assert mine["error"].is_not_null().all()


def test_an_unreachable_server_is_one_clear_error(tmp_path: Path) -> None:
    with FaultServer() as stopped:
        address = stopped.base_url
    run = Scenario.from_dict(
        {
            "population": {"size": 2, "groups": [{"agent": "llm"}]},
            "llm": {
                "backend": {
                    "kind": "openai",
                    "base_url": address,
                    "model": "m",
                    "max_retries": 0,
                    "timeout_s": 2,
                },
                "cache": {"path": str(tmp_path)},
            },
        }
    )
    with pytest.raises(ScenarioError, match="cannot reach the LLM server"):
        run.run()


def test_calibrate_writes_groups_a_scenario_can_use(server: FaultServer, tmp_path: Path) -> None:
    """Two LLM groups: one always follows its own evidence, one always the majority heard.
    `sim calibrate` on the run's trace picks a rule per group that reproduces that and
    writes groups that validate and run."""
    import tomllib

    from sim.cli import main

    def respond(prompt: str) -> Reply:
        own = "A" if "it is red" in prompt else "B"
        if "follower" not in prompt:
            return answer(own, 0.9)
        counts = {label: prompt.count(f"answered {label}") for label in "AB"}
        if counts["A"] == counts["B"]:
            return answer(own, 0.6)
        return answer(max(counts, key=lambda label: counts[label]), 0.6)

    server.responder = respond
    user = "You are agent {agent}, a {persona}.\n{evidence}\n{messages}"
    groups = [
        {"agent": "llm", "share": 0.5, "name": "loner", "persona": "loner", "user": user},
        {"agent": "llm", "share": 0.5, "name": "follower", "persona": "follower", "user": user},
    ]
    run = scenario(
        server, tmp_path, size=10, groups=groups, protocol={"kind": "rounds", "rounds": 3}
    )
    traces = []
    for seed in range(6):
        result = run.run(seed=seed)
        result.write(tmp_path / f"run{seed}", run.to_toml(seed))
        traces.append(str(tmp_path / f"run{seed}" / "trace.parquet"))
    out = tmp_path / "calibrated.toml"
    with pytest.raises(SystemExit) as exit_info:
        main(["calibrate", *traces, "--out", str(out)])
    assert exit_info.value.code in (0, None)
    fitted = tomllib.loads(out.read_text())["population"]["groups"]
    by_name = {g["name"]: g for g in fitted}
    # The loner ignores others (a social weight near 0); the follower goes with the
    # majority of what it hears (any weight large enough to outweigh its own evidence).
    loner, follower = by_name["loner"], by_name["follower"]
    assert loner["agent"] == follower["agent"] == "social"
    assert loner["weight"] < 0.1 < 0.25 < follower["weight"]
    assert sum(g["share"] for g in fitted) == pytest.approx(1.0)
    stylized = Scenario.from_dict({"population": {"size": 10, "groups": fitted}})
    assert stylized.run(seed=1).summary["n_agents"] == 10


def test_a_sweep_writes_traces_and_holds_the_sweep_budget(
    server: FaultServer, tmp_path: Path
) -> None:
    """Four runs of 4 agents x 3 decisions would make 48 calls; the sweep budget allows
    20. Every run's trace is written with its run id, and the sweep never sends more
    than the budget."""
    server.responder = lambda p: answer("A", 0.7)
    run = scenario(server, tmp_path, llm={"budget": {"sweep": {"max_requests": 20}}})
    out = tmp_path / "sweep"
    frame = sim.sweep(run, out=out, grid={"world.signal_accuracy": [0.6, 0.8]}, replicates=2)
    assert frame.height == 4 and (frame["status"] == "ok").all()
    assert server.chat_requests <= 20
    assert frame["llm_calls"].sum() == server.chat_requests
    assert (frame["stop_reason"] == "budget").sum() >= 2
    traces = pl.read_parquet(sorted((out / "traces").glob("part-*.parquet")))
    assert traces.columns[0] == "run_id"
    assert sorted(traces["run_id"].unique().to_list()) == [0, 1, 2, 3]
    ledger = json.loads((out / "llm-ledger.json").read_text())
    assert ledger


def test_a_shared_client_gives_each_run_its_own_trace(server: FaultServer, tmp_path: Path) -> None:
    from sim.llm import LLMClient

    server.responder = lambda p: answer("A", 0.7)
    run = scenario(server, tmp_path)
    assert run.config.llm is not None
    with LLMClient.from_config(run.config.llm) as client:
        first = run.run(seed=1, llm_client=client)
        second = run.run(seed=2, llm_client=client)
    assert first.trace is not None and second.trace is not None
    assert first.trace.height == second.trace.height == 12
    assert (second.trace["run"] == "llm_test:2").all()
