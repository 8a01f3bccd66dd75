"""The ``bandit`` protocol and ``beta`` agents (Zollman's epistemic networks).

Exact checks where the answer is exact (Beta–Bernoulli updates, evidence conservation
under latency and loss, the settling rule, closed forms of P(X > Y)); one statistical
check against a dynamic-programming closed form for a lone agent. The Zollman effect
itself (cycle against complete graph) is a validation case (``tests/test_validation.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import integrate, stats

import sim
from analysis.theory import lone_bandit_survival
from sim.agents.beta import BetaAgent, TrialResult, probability_greater
from sim.errors import ScenarioError

ZOLLMAN = Path(__file__).resolve().parent.parent / "scenarios" / "zollman.toml"

NEVER = 1e9
"""A ``settle_sd`` no credence about an uncertain arm can meet: runs go to ``rounds``
unless everyone plays the known arm."""


def bandit_scenario(**protocol: Any) -> Callable[..., sim.Scenario]:
    def make(**tables: Any) -> sim.Scenario:
        data: dict[str, Any] = {
            "name": "bandit-test",
            "population": {"size": 4, "groups": [{"agent": "beta"}]},
            "network": {"topology": "complete"},
            "protocol": {"kind": "bandit", "known_worse": True, **protocol},
        }
        data.update(tables)
        return sim.Scenario.from_dict(data)

    return make


def players(society: sim.Society) -> list[BetaAgent]:
    agents = [agent for agent in society.members if isinstance(agent, BetaAgent)]
    assert len(agents) == len(society.members)
    return agents


# -- P(X > Y) --------------------------------------------------------------------------


def test_probability_greater_matches_closed_forms() -> None:
    # X ~ Beta(a, 1), Y uniform: P(X > Y) = E[X] = a / (a + 1).
    for a in (0.5, 1.0, 2.0, 7.5):
        assert probability_greater(a, 1.0, 1.0, 1.0) == pytest.approx(a / (a + 1), abs=1e-5)
    assert probability_greater(3.3, 3.3, 3.3, 3.3) == pytest.approx(0.5, abs=1e-9)
    # Complementary events (ties have probability 0).
    assert probability_greater(2.5, 7.0, 40.0, 90.0) + probability_greater(
        40.0, 90.0, 2.5, 7.0
    ) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize(
    "params",
    [
        (0.3, 0.2, 3.0, 3.0),
        (300.0, 280.0, 2.5, 1.1),
        (500.0, 500.0, 510.0, 490.0),
        (0.01, 3.9, 0.5, 0.5),
    ],
)
def test_probability_greater_matches_quadrature(params: tuple[float, ...]) -> None:
    """Against adaptive quadrature of the density times the CDF: within 1e-3 (the
    documented error), including a parameter far below 1 (mass piled at 0)."""
    a, b, c, d = params
    reference = integrate.quad(
        lambda x: stats.beta.pdf(x, a, b) * stats.beta.cdf(x, c, d),
        0.0,
        1.0,
        points=[a / (a + b)],
        limit=500,
    )[0]
    assert probability_greater(a, b, c, d) == pytest.approx(reference, abs=1e-3)


# -- the agent -------------------------------------------------------------------------


def test_beta_agent_updates_conjugately_and_counts_a_result_once() -> None:
    make = bandit_scenario()
    society = make(
        population={
            "size": 2,
            "groups": [{"agent": "beta", "prior_alpha": 2.0, "prior_beta": 3.0}],
        }
    ).build(seed=0)
    agent = players(society)[0]
    assert agent.alpha == [2.0, 2.0] and agent.beta == [3.0, 3.0]
    result = TrialResult(sender=1, round=4, option=1, successes=3, trials=5)
    assert agent.receive(result) is False
    assert agent.receive(result) is False  # delivered twice: counted once
    assert agent.alpha == [2.0, 5.0] and agent.beta == [3.0, 5.0]
    assert agent.results_received == [0, 1]
    agent.receive(TrialResult(sender=1, round=5, option=1, successes=0, trials=5))
    assert agent.beta[1] == 10.0
    assert agent.expected_rate(1) == pytest.approx(5.0 / 15.0)
    agent.know(0, 0.5)
    agent.receive(TrialResult(sender=1, round=6, option=0, successes=5, trials=5))
    assert agent.expected_rate(0) == 0.5  # a known arm learns nothing
    assert agent.rate_sd(0) == 0.0
    # Beta(5, 10) against a known 0.5: P(rate > 0.5) = 1 - I_0.5(5, 10).
    assert agent.belief[1] == pytest.approx(1.0 - stats.beta.cdf(0.5, 5.0, 10.0), abs=1e-12)
    assert agent.belief.sum() == pytest.approx(1.0)


def test_beta_agent_plays_the_arm_of_higher_expected_rate() -> None:
    society = bandit_scenario()(
        population={
            "size": 1,
            "groups": [{"agent": "beta", "prior_alpha": 1.0, "prior_beta": 1.0}],
        }
    ).build(seed=0)
    agent = players(society)[0]
    agent.observe(0, 1, 1)  # arm 0: Beta(2, 1), mean 2/3 > 1/2
    assert agent.decide() is True and agent.choice == 0
    agent.observe(1, 3, 3)  # arm 1: Beta(4, 1), mean 4/5
    assert agent.decide() is True and agent.choice == 1
    assert agent.decide() is False


# -- the protocol ----------------------------------------------------------------------


def test_lone_bandit_survival_hand_values() -> None:
    # One pull from Beta(1, 1): a success (mean 2/3) stays above 0.45, a failure (1/3)
    # leaves for good.
    assert lone_bandit_survival(1, 1, 1.0, 1.0, 0.45, 0.6) == pytest.approx(0.6)
    # Two pulls: only two failures (mean 1/4) leave; one success gives 1/2 >= 0.45.
    assert lone_bandit_survival(1, 2, 1.0, 1.0, 0.45, 0.6) == pytest.approx(1 - 0.4**2)
    # Two rounds of one pull: stays iff the first pull succeeds (then 2/3, then 3/4 or
    # 2/4 both >= 0.45).
    assert lone_bandit_survival(2, 1, 1.0, 1.0, 0.45, 0.6) == pytest.approx(0.6)
    assert lone_bandit_survival(5, 1, 1.0, 1.0, 0.6, 0.9) == 0.0  # never starts on it


@pytest.mark.parametrize("engine", ["simpy", "fast"])
def test_lone_agent_matches_dynamic_programming(engine: str) -> None:
    """One agent, prior Beta(8, 8), one pull per round, known worse arm 0.47, better
    0.6: P(still on the better arm after 10 rounds) = 0.664 from the exact recursion.
    800 seeds: standard error about 0.017; 4 of them is the tolerance (a false alarm
    about once in 16,000 runs of the suite, but the seeds are fixed), and counting one's
    own result twice (0.423) would be off by 14 (asserted: more than 8)."""
    rounds, prior, p_worse, epsilon = 10, 8, 0.47, 0.13
    theory = lone_bandit_survival(rounds, 1, prior, prior, p_worse, p_worse + epsilon)
    scenario = bandit_scenario(
        rounds=rounds, pulls=1, p_worse=p_worse, epsilon=epsilon, settle_sd=NEVER
    )(
        population={
            "size": 1,
            "groups": [{"agent": "beta", "prior_alpha": prior, "prior_beta": prior}],
        },
        network={"topology": "empty"},
    )
    runs = 800
    hits = [
        scenario.run(seed=seed, engine=engine).summary["accuracy"] == 1.0 for seed in range(runs)
    ]
    se = np.sqrt(theory * (1 - theory) / runs)
    assert abs(np.mean(hits) - theory) < 4 * se
    # Counting every result twice is the same as halving the prior.
    doubled = lone_bandit_survival(rounds, 1, prior / 2, prior / 2, p_worse, p_worse + epsilon)
    assert abs(doubled - theory) > 8 * se  # the test has power against double counting


@pytest.mark.parametrize("latency", [0.0, 2.5])
def test_every_result_counts_exactly_once_despite_latency_and_loss(latency: float) -> None:
    """Evidence is conserved: summed over agents, the trials added to the credences about
    the uncertain arm are ``pulls`` times (own plays + results delivered), with every
    result either delivered or lost by the end. Latency 2.5 > round_duration makes
    results arrive rounds late, some after the last round."""
    pulls, n = 3, 4
    scenario = bandit_scenario(rounds=15, pulls=pulls, epsilon=0.1, settle_sd=NEVER)(
        population={"size": n, "groups": [{"agent": "beta"}]},
        channels={"latency": latency, "drop": 0.3},
    )
    for seed in range(5):
        society = scenario.build(seed)
        agents = players(society)
        arm = society.world.truth  # the uncertain arm
        prior = sum(a.alpha[arm] + a.beta[arm] for a in agents)
        society.advance()
        summary = society.summary()
        assert summary["stop_reason"] == "completed"
        sent, delivered = summary["messages_sent"], summary["messages_delivered"]
        assert delivered + summary["messages_dropped"] == sent
        plays = sent // (n - 1)  # each play is broadcast to the n - 1 others
        added = sum(a.alpha[arm] + a.beta[arm] for a in agents) - prior
        assert added == pytest.approx(pulls * (plays + delivered))
        assert sum(a.results_received[arm] for a in agents) == delivered


def test_shipped_scenario_settles_by_the_rule() -> None:
    """Every run of the shipped scenario ends settled: on the known arm at once (nothing
    can change any more), on the better arm with every agent's expected rate a standard
    deviation above 0.5."""
    scenario = sim.load(ZOLLMAN)
    outcomes = set()
    for seed in range(40):
        society = scenario.build(seed)
        society.advance()
        summary = society.summary()
        assert summary["stop_reason"] == "completed" and summary["consensus"]
        arm = society.world.truth
        if summary["accuracy"] == 0.0:
            assert summary["sim_time"] == summary["consensus_time"]
        else:
            assert summary["accuracy"] == 1.0
            for agent in players(society):
                assert agent.expected_rate(arm) - agent.rate_sd(arm) >= 0.5
        assert summary["herding_rate"] is None
        outcomes.add(summary["accuracy"])
    assert outcomes == {0.0, 1.0}  # both ends occur on this hard problem


def test_same_seed_same_run_and_seeds_differ() -> None:
    scenario = sim.load(ZOLLMAN, {"protocol.known_worse": False, "protocol.rounds": 40})

    def summary(seed: int) -> dict[str, Any]:
        row = dict(scenario.run(seed=seed).summary)
        row.pop("wall_seconds")
        return row

    assert summary(3) == summary(3)
    assert summary(3) != summary(4)


def test_both_arms_uncertain_runs_and_reports_beliefs() -> None:
    """Zollman's own setting: results of both arms are shared, beliefs are P(better)."""
    scenario = sim.load(ZOLLMAN, {"protocol.known_worse": False, "protocol.rounds": 30})
    society = scenario.build(2)
    society.advance()
    beliefs = np.vstack([agent.belief for agent in society.members])
    assert np.allclose(beliefs.sum(axis=1), 1.0)
    for agent in players(society):
        expected = probability_greater(agent.alpha[1], agent.beta[1], agent.alpha[0], agent.beta[0])
        assert agent.belief[1] == pytest.approx(expected)


# -- errors a user can make ------------------------------------------------------------


def test_rate_above_one_is_rejected() -> None:
    with pytest.raises(ScenarioError, match="protocol"):
        bandit_scenario(p_worse=0.7, epsilon=0.4)()


@pytest.mark.parametrize("value", [0.0, -1.0, {"dist": "normal", "mean": 1.0, "sd": 1.0}])
def test_bad_prior_is_rejected(value: Any) -> None:
    with pytest.raises(ScenarioError, match="prior_alpha"):
        bandit_scenario()(
            population={"size": 3, "groups": [{"agent": "beta", "prior_alpha": value}]}
        )


def test_bandit_needs_beta_agents() -> None:
    with pytest.raises(ScenarioError, match=r"population\.groups\.0\.agent = 'voter'"):
        bandit_scenario()(population={"size": 3, "groups": [{"agent": "voter"}]})


def test_beta_agents_need_two_options() -> None:
    scenario = bandit_scenario()(world={"options": 3})
    with pytest.raises(ScenarioError, match=r"world\.options"):
        scenario.build(seed=0)
