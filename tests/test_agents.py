"""Agent rules as pure functions, and each kind's behaviour in a tiny society."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import rules
from sim.agents.base import Announcement
from sim.agents.bayesian import action_probabilities, cascade_action, public_log_belief
from sim.rules import (
    choose,
    degroot_average,
    log_normalize_in_place,
    normalize_into,
    signal_log_likelihood,
    social_log_posterior,
    threshold_candidates,
)
from sim.world import draw_signals

UNIFORM2 = np.log([0.5, 0.5])


def test_signal_likelihood_is_symmetric_over_wrong_options() -> None:
    ll = signal_log_likelihood(1, 0.7, 3)
    assert np.allclose(np.exp(ll), [0.15, 0.7, 0.15])


def test_signals_are_correct_with_their_accuracy() -> None:
    rng = np.random.default_rng(5)
    signals = draw_signals(2, np.full(200_000, 0.6), 4, rng)
    share = np.bincount(signals, minlength=4) / len(signals)
    # Right: 0.6; each of the three wrong options: 0.4 / 3. Binomial sd < 0.0012.
    assert share[2] == pytest.approx(0.6, abs=0.005)
    assert share[[0, 1, 3]] == pytest.approx([0.4 / 3] * 3, abs=0.005)


def test_first_bayesian_action_reveals_the_signal() -> None:
    p = 0.7
    probs = action_probabilities(UNIFORM2, p, "coin")
    assert probs == pytest.approx(np.array([[p, 1 - p], [1 - p, p]]))


def test_coin_tie_rule_randomizes_when_signal_offsets_public_evidence() -> None:
    p = 0.7
    public = np.log([p, 1 - p])  # one informative action for option 0
    probs = action_probabilities(public, p, "coin")
    # Signal 0: act 0; signal 1: indifferent, coin. P(0 | state 0) = p + (1 - p) / 2.
    assert probs[0, 0] == pytest.approx(p + (1 - p) / 2)
    assert probs[1, 0] == pytest.approx((1 - p) + p / 2)
    own = action_probabilities(public, p, "own_signal")
    assert own == pytest.approx(np.array([[p, 1 - p], [1 - p, p]]))


def test_cascade_starts_after_two_net_actions_under_own_signal() -> None:
    p = 0.6
    one = public_log_belief(UNIFORM2, [Announcement(0, 0, 0.0)], p, "own_signal")
    assert cascade_action(one, p, "own_signal") is None
    two = public_log_belief(
        UNIFORM2, [Announcement(0, 0, 0.0), Announcement(1, 0, 1.0)], p, "own_signal"
    )
    assert cascade_action(two, p, "own_signal") == 0
    # Under the coin rule one action is not a cascade either (the next agent may flip).
    one_coin = public_log_belief(UNIFORM2, [Announcement(0, 0, 0.0)], p, "coin")
    assert cascade_action(one_coin, p, "coin") is None


def test_simultaneous_announcements_count_as_independent_signals() -> None:
    p = 0.7
    same_time = [Announcement(i, 0, 0.0) for i in range(3)]
    belief = public_log_belief(UNIFORM2, same_time, p, "coin")
    # Three revealed signals: log-odds 3 * log(p / (1 - p)).
    assert belief[0] - belief[1] == pytest.approx(3 * math.log(p / (1 - p)))
    # In sequence the third action is uninformative (cascade after two).
    in_turn = [Announcement(i, 0, float(i)) for i in range(3)]
    sequential = public_log_belief(UNIFORM2, in_turn, p, "own_signal")
    assert sequential[0] - sequential[1] == pytest.approx(2 * math.log(p / (1 - p)))


def test_action_no_bayesian_would_take_is_ignored() -> None:
    p = 0.6
    cascade = [Announcement(0, 0, 0.0), Announcement(1, 0, 1.0)]
    before = public_log_belief(UNIFORM2, cascade, p, "own_signal")
    after = public_log_belief(UNIFORM2, [*cascade, Announcement(2, 1, 2.0)], p, "own_signal")
    assert after == pytest.approx(before)


def test_social_posterior_adds_weight_per_announcement() -> None:
    own = signal_log_likelihood(0, 0.6, 2)
    posterior = social_log_posterior(UNIFORM2, own, np.array([1, 3]), 0.5)
    assert posterior[1] - posterior[0] == pytest.approx(2 * 0.5 - math.log(0.6 / 0.4))


def test_both_normalisations_agree_to_the_bit() -> None:
    """``log_normalize_in_place`` is ``normalize_into`` without keeping the exponentials
    (where it is called there is no row to keep them in): the log-probabilities of the
    two must be the same numbers, or a Bayesian's public belief would depend on which
    path computed it."""
    rng = np.random.default_rng(5)
    for trial in range(2000):
        k = int(rng.integers(2, 9))
        weights = rng.normal(0.0, 30.0, k) * rng.random()
        if trial % 7 == 0:
            weights[int(rng.integers(k))] = -math.inf  # an option ruled out
        alone = weights.copy()
        log_normalize_in_place(alone)
        kept, probabilities = weights.copy(), np.empty(k)
        normalize_into(probabilities, kept)
        assert alone.tobytes() == kept.tobytes()
        assert probabilities.sum() == pytest.approx(1.0)
        assert np.allclose(probabilities, np.exp(alone))


def _public_update_with_every_log(
    log_public: np.ndarray, counts: np.ndarray, accuracy: float, tie_rule: int
) -> np.ndarray:
    """The public-belief update as first written: the logarithm of every likelihood taken
    afresh (``math.log`` is the C library's, as in compiled code)."""
    likelihood = rules.action_probabilities(log_public, accuracy, tie_rule)
    k = len(log_public)
    out = np.zeros(k)
    for option in range(k):
        if counts[option] == 0 or not (likelihood[:, option] > 0.0).all():
            continue
        logs = [math.log(likelihood[state, option]) for state in range(k)]
        for _ in range(int(counts[option])):
            for state in range(k):
                out[state] += logs[state]
    out = log_public + out
    log_normalize_in_place(out)
    return out


def test_public_update_reuses_the_signal_logs_to_the_bit() -> None:
    """The kernel takes the logarithms of a right and a wrong signal once
    (``signal_terms``) and reuses them for likelihoods equal to those probabilities: the
    public beliefs must be the very numbers the plain computation gives, on both tie
    rules, in and out of cascades, at exact ties and at degenerate accuracies."""
    rng = np.random.default_rng(11)
    accuracies = [0.5, 0.55, 0.6, 0.7, 0.9, 0.999, 1.0, 1e-13, 0.0]
    for trial in range(3000):
        k = int(rng.integers(2, 5))
        accuracy = accuracies[trial % len(accuracies)]
        if trial % 3 == 0:  # public beliefs reached by earlier updates: exact ties included
            log_public = np.log(np.full(k, 1.0 / k))
            for _ in range(int(rng.integers(0, 4))):
                earlier = rng.integers(0, 3, k).astype(np.float64)
                log_public = rules.update_public_belief_counts(
                    log_public, earlier, accuracy, trial % 2
                )
        else:
            log_public = rng.normal(0.0, 2.0, k)
            log_normalize_in_place(log_public)
        counts = rng.integers(0, 4, k).astype(np.float64)
        for tie_rule in (0, 1):
            got = rules.update_public_belief_counts(log_public, counts, accuracy, tie_rule)
            expected = _public_update_with_every_log(log_public, counts, accuracy, tie_rule)
            assert got.tobytes() == expected.tobytes(), (trial, accuracy, tie_rule)


def test_threshold_candidates() -> None:
    assert threshold_candidates(np.array([0, 0]), 0.5).tolist() == []
    assert threshold_candidates(np.array([3, 1]), 0.5).tolist() == [0]
    assert threshold_candidates(np.array([2, 2]), 0.5).tolist() == [0, 1]
    assert threshold_candidates(np.array([3, 1]), 0.8).tolist() == []
    assert threshold_candidates(np.array([1, 2, 1]), 0.25).tolist() == [1]


def test_degroot_average_matches_formula() -> None:
    own = np.array([1.0, 0.0])
    neighbours = np.array([[0.0, 1.0], [0.5, 0.5]])
    out = degroot_average(own, neighbours, np.array([1.0, 3.0]), 0.2)
    expected = 0.2 * own + 0.8 * (0.25 * neighbours[0] + 0.75 * neighbours[1])
    assert out == pytest.approx(expected)
    assert degroot_average(own, np.empty((0, 2)), np.empty(0), 0.2) is own


def test_ties_prefer_listed_options_then_draw_uniformly() -> None:
    rng = np.random.default_rng(0)
    tied = np.array([1.0, 1.0 + 1e-12, 0.5])
    assert choose(np.array([1.0, 1.1, 0.5]), 0, 2, rng) == 1  # no tie: the best
    assert choose(tied, -1, 1, rng) == 1
    assert choose(tied, 2, 0, rng) == 0  # 2 is not among the tied, 0 is
    before = rng.bit_generator.state
    choose(tied, 1, -1, rng)
    assert rng.bit_generator.state == before  # a preferred option settles it: no draw
    draws = [choose(tied, 2, -1, rng) for _ in range(4000)]
    # Uniform over the two tied options: mean 0.5, standard error 0.0079.
    assert np.mean(draws) == pytest.approx(0.5, abs=0.03)
    # The draw is the k-th tied option for k = integers(0, number tied), as in numpy.
    twin = np.random.default_rng(7)
    expected = [int(np.flatnonzero(np.ones(3))[twin.integers(0, 3)]) for _ in range(20)]
    rng = np.random.default_rng(7)
    assert [choose(np.zeros(3), -1, -1, rng) for _ in range(20)] == expected


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        ({"agent": "stubborn", "option": 1}, "all_one"),
        ({"agent": "social", "weight": 0.0}, "own_signal"),
    ],
)
def test_stubborn_and_independent_agents_keep_their_position(make_scenario, group, expected):  # type: ignore[no-untyped-def]
    scenario = make_scenario(population={"size": 30, "groups": [group]})
    society = scenario.build(seed=4)
    society.run()
    choices = society.choices()
    if expected == "all_one":
        assert (choices == 1).all()
    else:
        assert (choices == society.world.signals).all()


def test_voter_copies_a_neighbour(make_scenario) -> None:  # type: ignore[no-untyped-def]
    # Sequential voters on a cycle: each copies one of the neighbours who acted before it,
    # or its own signal when none did; every final choice is thus someone's signal.
    scenario = make_scenario(
        population={"size": 30, "groups": [{"agent": "voter"}]}, network={"topology": "cycle"}
    )
    society = scenario.build(seed=2)
    society.run()
    order_first = [a for a in society.members if not a.heard]
    for agent in order_first:
        assert agent.choice == agent.signal
    for agent in society.members:
        if agent.heard:
            assert agent.choice in {m.option for m in agent.heard.values()}


def test_threshold_adopts_majority_of_predecessors(make_scenario) -> None:  # type: ignore[no-untyped-def]
    scenario = make_scenario(
        population={"size": 25, "groups": [{"agent": "threshold", "threshold": 0.5}]}
    )
    society = scenario.build(seed=9)
    society.run()
    for agent in society.members:
        counts = agent.heard_counts()
        if counts.sum() and counts.max() > counts.min():
            assert agent.choice == int(np.argmax(counts))
