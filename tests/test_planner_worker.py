"""The ``planner_worker`` protocol: exact costs, messages and makespans where the run is
deterministic (on both engines), the closed form of task success where it is random.

Statistical tests run fixed seeds and accept a frequency within 4 binomial standard
errors of the closed form: a correct model fails that with probability below 1e-4, while
the alternatives each test names (no verification, no propagation, ...) lie at least
five standard errors further away at the sample sizes used, so a wrong model fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sim
from analysis.theory import planner_worker_outcome
from sim.agents.worker import WorkerAgent
from sim.errors import ScenarioError
from sim.protocols.planner import subtask_count


def organisation(
    *,
    workers: int,
    verifiers: int = 0,
    error_rate: Any = 0.1,
    recall: float = 0.8,
    channels: dict[str, Any] | None = None,
    **protocol: Any,
) -> sim.Scenario:
    """A planner_worker scenario: ``workers`` then ``verifiers`` (block placement)."""
    size = workers + verifiers
    groups: list[dict[str, Any]] = [
        {"agent": "worker", "share": workers / size, "error_rate": error_rate}
    ]
    if verifiers:
        groups.append(
            {"agent": "worker", "role": "verifier", "share": verifiers / size, "recall": recall}
        )
    return sim.Scenario.from_dict(
        {
            "name": "organisation",
            "population": {"size": size, "placement": "block", "groups": groups},
            "network": {"topology": "empty"},
            "channels": channels or {},
            "protocol": {"kind": "planner_worker", **protocol},
        }
    )


ENGINES = ("simpy", "fast")


def outcomes(
    scenario: sim.Scenario, runs: int, seed: int = 0, engine: str = "simpy"
) -> list[dict[str, Any]]:
    """Each run's summary row."""
    if engine == "fast":
        return [scenario.run(seed=seed + i, engine="fast").summary for i in range(runs)]
    rows = []
    for i in range(runs):  # built and run directly: the time series is not needed
        society = scenario.build(seed + i)
        society.advance()
        rows.append(society.summary())
    return rows


def assert_frequency(hits: list[bool], theory: float) -> None:
    n = len(hits)
    se = np.sqrt(theory * (1 - theory) / n)
    assert abs(np.mean(hits) - theory) < 4 * se, (np.mean(hits), theory, se)


# -- the task tree and the closed form -----------------------------------------------------


def test_subtask_count() -> None:
    assert subtask_count(0, 2) == 1
    assert subtask_count(4, 1) == 5  # a chain
    assert subtask_count(3, 2) == 15
    assert subtask_count(2, 3) == 13


def test_closed_form_hand_values() -> None:
    e, r = 0.2, 0.75
    # Unverified, errors propagate: the product of the subtasks' reliabilities.
    assert planner_worker_outcome(0, 2, e) == pytest.approx((1 - e, 1.0))
    assert planner_worker_outcome(3, 1, e) == pytest.approx((0.8**4, 4.0))
    assert planner_worker_outcome(2, 2, e)[0] == pytest.approx(0.8**7)
    # One verified stage, one redo: wrong passed on = e(1 - r) + (e r) e; executions 1 + e r.
    success, cost = planner_worker_outcome(
        0, 2, e, verify="every_stage", recall=r, max_redos=1, verification_cost=0.5
    )
    assert success == pytest.approx(1 - (e * (1 - r) + e * r * e))
    assert cost == pytest.approx((1 + e * r) * 1.5)
    # Unlimited redos: e(1 - r) / (1 - e r).
    many = planner_worker_outcome(0, 2, e, verify="every_stage", recall=r, max_redos=200)
    assert many[0] == pytest.approx(1 - e * (1 - r) / (1 - e * r))
    # Verified subtask, errors propagating: its reliability enters the product.
    stage = 1 - (e * (1 - r) + e * r * e)
    assert planner_worker_outcome(2, 2, e, verify="every_stage", recall=r, max_redos=1)[
        0
    ] == pytest.approx(stage**7)
    # Only the root verified: a wrong input is flagged and redone in vain.
    final = planner_worker_outcome(
        1, 2, e, verify="final", recall=r, max_redos=1, verification_cost=1.0
    )
    assert final[0] == pytest.approx(0.8**2 * stage)
    inputs = 0.8**2
    assert final[1] == pytest.approx(2 + (inputs * (1 + e * r) + (1 - inputs) * (1 + r)) * 2)
    # No propagation: only the root's own execution matters.
    assert planner_worker_outcome(3, 2, e, error_propagation=0.0)[0] == pytest.approx(1 - e)


# -- deterministic runs: exact values ------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_perfect_chain_has_exact_cost_messages_and_makespan(engine: str) -> None:
    # Depth 3 chain, latency 0.25, work 1: 3 assignments down, 4 executions, 3 reports up.
    plain = organisation(
        workers=4, error_rate=0.0, channels={"latency": 0.25}, depth=3, branching=1
    ).run(seed=0, engine=engine)
    s = plain.summary
    assert (s["task_success"], s["task_cost"], s["accuracy"]) == (True, 4.0, 1.0)
    assert s["messages_sent"] == s["messages_delivered"] == 6
    assert s["sim_time"] == pytest.approx(2 * 3 * 0.25 + 4 * 1.0)
    assert (s["engine"], s["stop_reason"]) == (engine, "completed")
    # Events: the start, 6 deliveries, 4 executions, the root's acceptance, the end.
    assert s["events"] == 1 + 6 + 4 + 2
    # Every stage checked: each result goes worker -> verifier -> next worker.
    checked = organisation(
        workers=4,
        verifiers=1,
        error_rate=0.0,
        channels={"latency": 0.25},
        depth=3,
        branching=1,
        verify="every_stage",
        verification_time=0.5,
        verification_cost=0.5,
    ).run(seed=0, engine=engine)
    s = checked.summary
    assert (s["task_success"], s["task_cost"], s["accuracy"]) == (True, 6.0, 1.0)
    assert s["messages_sent"] == 3 + 4 + 3
    assert s["sim_time"] == pytest.approx(2 * 3 * 0.25 + 4 * (1.0 + 0.25 + 0.5))


@pytest.mark.parametrize("engine", ENGINES)
def test_failing_workers_are_redone_to_the_limit(engine: str) -> None:
    # Every execution wrong, every wrong result flagged: each of the 3 subtasks runs
    # max_redos + 1 = 3 times, each run checked at 0.5.
    result = organisation(
        workers=3,
        verifiers=1,
        error_rate=1.0,
        recall=1.0,
        depth=1,
        verify="every_stage",
        max_redos=2,
        verification_cost=0.5,
    ).run(seed=0, engine=engine)
    s = result.summary
    assert s["task_success"] is False
    assert s["task_cost"] == 3 * 3 * 1.5
    # Workers' last outputs were wrong; the verifier's last verdict was right.
    assert s["accuracy"] == pytest.approx(1 / 4)
    # 2 assignments; per subtask 3 submissions and 2 redo requests; 2 reports up.
    assert s["messages_sent"] == 2 + 3 * (3 + 2) + 2


@pytest.mark.parametrize("engine", ENGINES)
def test_final_verification_checks_only_the_root(engine: str) -> None:
    s = (
        organisation(
            workers=3, verifiers=1, error_rate=1.0, recall=1.0, depth=1, verify="final", max_redos=2
        )
        .run(seed=0, engine=engine)
        .summary
    )
    assert s["task_cost"] == 2 + 3 * 1.5  # 2 unchecked parts, the root 3 times and checked


@pytest.mark.parametrize("engine", ENGINES)
def test_a_small_staff_queues_the_work(engine: str) -> None:
    # 7 subtasks of one unit each: with 7 workers the three levels run in parallel; one
    # worker does them one after another.
    spread = organisation(workers=7, error_rate=0.0, depth=2).run(seed=0, engine=engine).summary
    alone = organisation(workers=1, error_rate=0.0, depth=2).run(seed=0, engine=engine).summary
    assert spread["sim_time"] == pytest.approx(3.0)
    assert alone["sim_time"] == pytest.approx(7.0)
    assert alone["task_cost"] == spread["task_cost"] == 7.0


@pytest.mark.parametrize("engine", ENGINES)
def test_same_seed_same_run(engine: str) -> None:
    scenario = organisation(
        workers=5,
        verifiers=2,
        error_rate={"dist": "uniform", "low": 0.0, "high": 0.3},
        channels={"latency": {"dist": "exponential", "mean": 0.2}, "drop": 0.1},
        depth=2,
        verify="every_stage",
        work_time={"dist": "exponential", "mean": 1.0},
    )
    first, again = scenario.run(seed=4, engine=engine), scenario.run(seed=4, engine=engine)
    assert first.timeseries.equals(again.timeseries)
    first, again = first.summary, again.summary
    first.pop("wall_seconds"), again.pop("wall_seconds")
    assert first == again
    assert first["messages_sent"] == first["messages_delivered"] + first["messages_dropped"]


def test_error_rates_are_drawn_per_worker() -> None:
    society = organisation(
        workers=6, verifiers=2, error_rate={"dist": "uniform", "low": 0.1, "high": 0.3}
    ).build(seed=0)
    members = [m for m in society.members if isinstance(m, WorkerAgent)]
    rates = {m.error_rate for m in members if m.role == "worker"}
    assert len(rates) == 6 and all(0.1 <= r <= 0.3 for r in rates)
    assert {m.recall for m in members if m.role == "verifier"} == {0.8}


# -- random runs: the closed form ------------------------------------------------------------


@pytest.mark.parametrize(
    ("protocol", "verifiers"),
    [
        # 0.9^7 = 0.48 (SE 0.025); 17 SE from 0.9, the success if errors did not propagate.
        ({"depth": 2}, 0),
        # Verified, r = 0.8, one redo: 0.972^7 = 0.82; 17 SE from the unverified 0.48.
        ({"depth": 2, "verify": "every_stage", "max_redos": 1}, 2),
        # Half the wrong inputs absorbed: 0.75; 12 SE from q = 1 (0.48), 7 from q = 0 (0.9).
        ({"depth": 2, "error_propagation": 0.5}, 0),
    ],
)
@pytest.mark.parametrize("engine", ENGINES)
def test_task_success_matches_closed_form(
    protocol: dict[str, Any], verifiers: int, engine: str
) -> None:
    scenario = organisation(workers=7, verifiers=verifiers, **protocol)
    rows = outcomes(scenario, 400, seed=100, engine=engine)
    success, cost = planner_worker_outcome(
        protocol["depth"],
        2,
        0.1,
        verify=protocol.get("verify", "none"),
        recall=0.8,
        max_redos=protocol.get("max_redos", 2),
        verification_cost=0.5,
        error_propagation=protocol.get("error_propagation", 1.0),
    )
    assert_frequency([row["task_success"] for row in rows], success)
    costs = np.array([row["task_cost"] for row in rows])
    # The mean cost within 4 standard errors of the mean (exact when unverified: 7).
    assert abs(costs.mean() - cost) <= 4 * costs.std(ddof=1) / np.sqrt(len(costs)) + 1e-12


@pytest.mark.parametrize("engine", ENGINES)
def test_lost_results_fail_the_task_or_are_resent(engine: str) -> None:
    # A chain of 3 perfect workers; each of the 2 reports up is lost with probability 0.3
    # (assignments are always resent). "fail": success (0.7)^2 = 0.49; "resend": always.
    lossy = {"drop": 0.3, "latency": 0.1}
    fail = organisation(
        workers=3, error_rate=0.0, channels=lossy, depth=2, branching=1, on_loss="fail"
    )
    assert_frequency([row["task_success"] for row in outcomes(fail, 300, engine=engine)], 0.49)
    resend = organisation(workers=3, error_rate=0.0, channels=lossy, depth=2, branching=1)
    rows = outcomes(resend, 30, engine=engine)
    assert all(row["task_success"] for row in rows)
    assert sum(row["messages_dropped"] for row in rows) > 0
    # A lost message costs loss_timeout (1.0) before it is resent.
    assert max(row["sim_time"] for row in rows) > 4 * 0.1 + 3 * 1.0 + 1.0


# -- the shipped scenario and user errors ----------------------------------------------------


def test_shipped_scenario_runs_on_the_fast_engine() -> None:
    scenario = sim.load(Path(__file__).resolve().parent.parent / "scenarios/planner_worker.toml")
    assert scenario.engine_for() == "fast"
    s = scenario.run().summary
    assert s["task_success"] is not None and s["task_cost"] >= 15 * 1.5
    assert s["stop_reason"] == "completed"


def test_workers_under_other_protocols_hold_their_signal() -> None:
    scenario = sim.Scenario.from_dict(
        {"population": {"size": 4, "groups": [{"agent": "worker"}]}, "protocol": {"kind": "rounds"}}
    )
    society = scenario.build(seed=0)
    society.run()
    assert [m.choice for m in society.members] == [m.signal for m in society.members]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"population": {"size": 3}}, "population.groups.0.agent"),
        ({"protocol": {"kind": "planner_worker", "verify": "final"}}, "protocol.verify"),
        ({"channels": {"drop": 1.0}}, "channels.drop"),
    ],
)
@pytest.mark.parametrize("engine", ENGINES)
def test_impossible_organisations_are_refused(
    change: dict[str, Any], message: str, engine: str
) -> None:
    data: dict[str, Any] = {
        "population": {"size": 3, "groups": [{"agent": "worker"}]},
        "protocol": {"kind": "planner_worker"},
    }
    data.update(change)
    with pytest.raises(ScenarioError, match=message.replace(".", r"\.")):
        sim.Scenario.from_dict(data).run(seed=0, engine=engine)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("protocol.depth", -1),
        ("protocol.branching", 0),
        ("protocol.depth", 40),
        ("protocol.verify", "sometimes"),
        ("protocol.work_time", -1.0),
        ("population.groups.0.error_rate", 1.5),
    ],
)
def test_bad_values_name_the_key(key: str, value: Any) -> None:
    data = {
        "population": {"size": 3, "groups": [{"agent": "worker"}]},
        "protocol": {"kind": "planner_worker"},
    }
    with pytest.raises(ScenarioError, match=key.split(".")[-1]):
        sim.Scenario.from_dict(data, {key: value})
