"""Protocols and stopping rules: who acts when, exactly."""

from __future__ import annotations

import polars as pl
import pytest


def test_sequential_every_agent_acts_once(make_scenario) -> None:  # type: ignore[no-untyped-def]
    result = make_scenario(population={"size": 12}).run(seed=1, events=True)
    summary = result.summary
    assert summary["messages_sent"] == 12 * 11
    assert summary["messages_delivered"] == 12 * 11
    assert summary["stop_reason"] == "completed"
    # One announcement per agent, one per unit of time from 0 to 11.
    assert summary["sim_time"] == 11.0
    assert result.timeseries["acted"].to_list() == list(range(1, 13))
    senders = result.events.group_by("sender").agg(pl.col("sent_time").n_unique())
    assert (senders["sent_time"] == 1).all()


def test_sequential_waits_for_messages_in_transit(make_scenario) -> None:  # type: ignore[no-untyped-def]
    """With latency 5 and turns 1 apart, each agent acts only once it has heard all
    earlier agents: turn k happens at time 5k."""
    scenario = make_scenario(population={"size": 6}, channels={"latency": 5.0})
    result = scenario.run(seed=3, events=True)
    times = result.events.group_by("sender").agg(pl.col("sent_time").first())
    assert sorted(times["sent_time"].to_list()) == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]
    events = result.events
    for sender, sent in times.iter_rows():
        earlier = events.filter(pl.col("receiver") == sender, pl.col("sent_time") < sent)
        assert (earlier["delivered_time"] <= sent).all()
        assert earlier.height == sorted(times["sent_time"].to_list()).index(sent)


def test_sequential_index_order(make_scenario) -> None:  # type: ignore[no-untyped-def]
    scenario = make_scenario(protocol={"kind": "sequential", "order": "index"})
    result = scenario.run(seed=3, events=True)
    first = result.events.group_by("sender").agg(pl.col("sent_time").first()).sort("sender")
    assert first["sent_time"].to_list() == [float(i) for i in range(10)]


def test_rounds_send_one_message_per_arc_per_round(make_scenario) -> None:  # type: ignore[no-untyped-def]
    scenario = make_scenario(
        population={"size": 8, "groups": [{"agent": "degroot"}]},
        network={"topology": "cycle"},
        protocol={"kind": "rounds", "rounds": 7},
    )
    summary = scenario.run(seed=0).summary
    assert summary["messages_sent"] == 7 * 16
    assert summary["sim_time"] == 7.0
    assert summary["cascade"] is None  # cascades are defined for the sequential protocol


def test_rounds_degroot_is_matrix_iteration(make_scenario) -> None:  # type: ignore[no-untyped-def]
    """After r rounds with instant delivery, beliefs are exactly T^r x(0)."""
    import numpy as np

    from analysis.theory import degroot_matrix

    scenario = make_scenario(
        population={"size": 9, "groups": [{"agent": "degroot", "self_weight": 0.25}]},
        network={"topology": "wheel"},
        protocol={"kind": "rounds", "rounds": 3},
    )
    start = scenario.build(seed=2)
    x0 = np.array([a.belief for a in start.members])
    end = scenario.build(seed=2)
    end.run()
    t = degroot_matrix(end.graph, 0.25)
    expected = np.linalg.matrix_power(t, 3) @ x0
    assert np.array([a.belief for a in end.members]) == pytest.approx(expected, abs=1e-12)


def test_asynchronous_stops_at_max_time(make_scenario) -> None:  # type: ignore[no-untyped-def]
    scenario = make_scenario(
        population={"size": 20, "groups": [{"agent": "social", "weight": 0.3}]},
        network={"topology": "cycle"},
        channels={"latency": {"dist": "exponential", "mean": 0.3}},
        protocol={"kind": "asynchronous", "wake_rate": 1.0},
        stop={"max_time": 12.5},
    )
    result = scenario.run(seed=1)
    assert result.summary["stop_reason"] == "max_time"
    assert result.summary["sim_time"] == 12.5
    # Grid rows at 0, 1, ..., 12 and a final row at 12.5.
    assert result.timeseries["time"].to_list() == [float(t) for t in range(13)] + [12.5]


def test_asynchronous_stops_after_max_events(make_scenario) -> None:  # type: ignore[no-untyped-def]
    scenario = make_scenario(
        population={"size": 20, "groups": [{"agent": "voter"}]},
        protocol={"kind": "asynchronous", "wake_rate": 1.0, "wake_on_message": False},
        stop={"max_events": 57},
    )
    summary = scenario.run(seed=1).summary
    assert summary["stop_reason"] == "max_events"
    assert summary["events"] == 57


def test_consensus_stop_rule(make_scenario) -> None:  # type: ignore[no-untyped-def]
    scenario = make_scenario(
        population={"size": 15, "groups": [{"agent": "voter"}]},
        protocol={"kind": "asynchronous", "wake_rate": 1.0, "wake_on_message": False},
        stop={"consensus": True, "max_time": 1e6},
    )
    result = scenario.run(seed=8)
    summary = result.summary
    assert summary["stop_reason"] == "consensus"
    assert summary["consensus"] is True
    assert summary["consensus_time"] == summary["sim_time"]
    assert summary["accuracy"] in (0.0, 1.0)
    assert summary["entropy_final"] == 0.0


def test_asynchronous_without_clocks_ends_when_quiet(make_scenario) -> None:  # type: ignore[no-untyped-def]
    scenario = make_scenario(
        population={"size": 10, "groups": [{"agent": "threshold", "threshold": 0.5}]},
        network={"topology": "cycle"},
        channels={"latency": 1.0},
        protocol={"kind": "asynchronous", "wake_rate": 0.0},
    )
    summary = scenario.run(seed=1).summary
    assert summary["stop_reason"] == "completed"
    assert summary["messages_sent"] == summary["messages_delivered"]


def test_step_advances_one_unit_of_time(make_scenario) -> None:  # type: ignore[no-untyped-def]
    society = make_scenario(population={"size": 5}).build(seed=1)
    society.step()
    assert society.env.now == 1.0
    assert society.recorder.acted == 2  # turns at t = 0 and t = 1
    for _ in range(10):
        society.step()
    assert society.finished
    assert society.recorder.acted == 5


def test_instant_oscillation_ends_as_stalled(make_scenario) -> None:  # type: ignore[no-untyped-def]
    """Conformists answering each other with zero latency flip forever at time 0; the run
    ends as 'stalled' after the configured number of events at one instant."""
    scenario = make_scenario(
        population={"size": 200, "groups": [{"agent": "social", "weight": 0.8}]},
        network={"topology": "watts_strogatz", "k": 6, "p": 0.1},
        protocol={"kind": "asynchronous", "wake_rate": 0.5},
        stop={"max_time": 30.0, "max_stall_events": 5000},
    )
    summary = scenario.run(seed=3).summary
    assert summary["stop_reason"] == "stalled"
    assert summary["sim_time"] == 0.0
    assert summary["events"] == 5001  # one more than allowed at one instant


def test_busy_instants_followed_by_progress_do_not_stall(make_scenario) -> None:  # type: ignore[no-untyped-def]
    """The stall count restarts whenever the clock advances: many events in total, few at
    any one instant, is a normal run."""
    scenario = make_scenario(
        population={"size": 30},
        protocol={"kind": "rounds", "rounds": 40},
        stop={"max_stall_events": 1000},
    )
    summary = scenario.run(seed=1).summary
    assert summary["events"] > 30 * 29 * 40
    assert summary["stop_reason"] == "completed"
