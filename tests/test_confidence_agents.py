"""Confidence-gap agents: the rival, the switching probability, and the rule in a society."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import sim
from sim.agents.base import Announcement
from sim.agents.confidence import ConfidenceAgent, rival, switch_probability


def test_rival_is_the_most_announced_other_option_then_the_most_confident() -> None:
    stated = np.array([0.5, 0.6, 0.9, 0.7])
    assert rival(0, np.array([5, 2, 2, 0]), stated) == 2  # tie on count: higher confidence
    assert rival(0, np.array([5, 3, 2, 0]), stated) == 1  # more announcements win
    assert rival(1, np.array([0, 4, 0, 0]), stated) == -1  # nobody disagrees
    assert rival(3, np.array([1, 1, 0, 0]), np.array([0.8, 0.8, 0.5, 0.5])) == 0  # then index


def test_switch_probability_is_a_logistic_in_the_gap() -> None:
    assert switch_probability(0.2, 10.0, 0.0) == pytest.approx(1 / (1 + math.exp(-2.0)))
    assert switch_probability(0.1, 10.0, 0.1) == pytest.approx(0.5)
    assert switch_probability(-1.0, 1000.0, 0.0) == pytest.approx(0.0, abs=1e-300)
    assert switch_probability(1.0, 1000.0, 0.0) == pytest.approx(1.0)


def lone_agent(slope: float, offset: float) -> ConfidenceAgent:
    scenario = sim.Scenario.from_dict(
        {
            "world": {"signal_accuracy": 0.7, "truth": 0},
            "population": {
                "size": 4,
                "groups": [{"agent": "confidence", "gap_slope": slope, "gap_offset": offset}],
            },
        }
    )
    agent = scenario.build(seed=1).members[0]
    assert isinstance(agent, ConfidenceAgent)
    other = 1 - agent.signal
    for sender in (1, 2, 3):
        agent.receive(Announcement(sender, other, 0.0, None, 0.95))
    return agent


@pytest.mark.parametrize(("offset", "switches"), [(0.0, True), (0.3, False)])
def test_a_sharp_rule_switches_exactly_when_the_gap_exceeds_the_offset(
    offset: float, switches: bool
) -> None:
    agent = lone_agent(slope=1000.0, offset=offset)  # own confidence 0.7, rival's 0.95
    agent.decide()
    assert (agent.choice != agent.signal) is switches
    assert agent.confidence == pytest.approx(0.95 if switches else 0.7)
    assert agent.belief[agent.choice] == pytest.approx(agent.confidence)


def test_a_flat_rule_switches_half_the_time() -> None:
    agent = lone_agent(slope=0.0, offset=0.0)
    trials = 4000
    switched = 0
    for _ in range(trials):
        agent.choice, agent._stated = None, agent.accuracy
        agent.decide()
        switched += agent.choice != agent.signal
    # Binomial(4000, 0.5): sd 0.0079; 0.03 is almost 4 sd.
    assert switched / trials == pytest.approx(0.5, abs=0.03)


def test_confident_zealots_convert_a_confidence_gap_society(
    make_scenario: Callable[..., sim.Scenario],
) -> None:
    """Rounds on a complete graph: stubborn agents (who state their belief, near 1 for a
    zealot with a fixed option) win over sharp confidence-gap agents, who state 0.7."""
    groups: list[dict[str, Any]] = [
        {"agent": "stubborn", "option": 1, "share": 0.2, "signal_accuracy": 0.999},
        {"agent": "confidence", "share": 0.8, "gap_slope": 1000.0},
    ]
    scenario = make_scenario(
        world={"truth": 1, "signal_accuracy": 0.7},
        population={"size": 20, "groups": groups},
        protocol={"kind": "rounds", "rounds": 4},
    )
    result = scenario.run(seed=3)
    assert result.summary["engine"] == "fast"
    assert result.summary["accuracy"] == 1.0
