"""The hidden-profile protocol and informed agents (Stasser & Titus 1985, 1987)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

import sim
from analysis.theory import item_surfacing
from sim.agents import AGENT_KINDS
from sim.agents.informed import InformedAgent, Mention
from sim.errors import ScenarioError
from sim.protocols import PROTOCOLS, HiddenProfileProtocol
from sim.protocols.hidden_profile import deal_by_candidate, draw_profile
from sim.streams import Component, Streams
from sim.tasks import HiddenProfileTask

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "hidden_profile.toml"


def load(**overrides: Any) -> sim.Scenario:
    return sim.load(SCENARIO, {key.replace("__", "."): v for key, v in overrides.items()})


def finished(scenario: sim.Scenario, seed: int) -> tuple[sim.Society, dict[str, Any]]:
    society = scenario.build(seed)
    society.advance()
    return society, society.summary()


def members(society: sim.Society) -> list[InformedAgent]:
    return cast(list[InformedAgent], society.members)


def own_favourite(society: sim.Society, agent: InformedAgent) -> int | None:
    """The candidate an agent's pre-discussion items favour (None on a tie)."""
    profile = draw_profile(society)
    return profile.favoured(profile.items[j] for j in agent.held)


def test_registered_and_every_key_described() -> None:
    assert PROTOCOLS["hidden_profile"].__name__ == "hidden_profile"
    assert AGENT_KINDS["informed"] is InformedAgent
    for name, field in HiddenProfileProtocol.model_fields.items():
        assert name == "kind" or field.description, name


def test_members_hold_the_task_profile_drawn_from_the_task_stream() -> None:
    """The profile is the one LLM-backed agents would be given for this seed."""
    society = load().build(7)
    profile = HiddenProfileTask().instance(
        options=3, n=4, truth=society.world.truth,
        rng=Streams(7).generator(Component.TASK), base_dir=None,
    )  # fmt: skip
    society.advance()
    for agent in members(society):
        assert [profile.items[j] for j in agent.held] == list(profile.held_by(agent.index))


def test_without_discussion_members_keep_their_own_view() -> None:
    for seed in range(10):
        society, summary = finished(load(protocol__turns=0), seed)
        assert summary["messages_sent"] == 0
        assert summary["items_surfaced"] == 0.0
        for agent in members(society):
            favourite = own_favourite(society, agent)
            if favourite is not None:
                assert agent.choice == favourite


def test_everyone_speaking_pools_every_item() -> None:
    """p = 1 on a complete graph without delay: one turn surfaces everything, everyone
    then knows every item and picks the truth. Each member mentions each item it holds
    once, to the 3 others: (6 shared items x 4 holders + 8 unshared) x 3 messages."""
    for seed in range(5):
        society, summary = finished(
            load(protocol__turns=1, protocol__mention_probability=1.0), seed
        )
        assert summary["messages_sent"] == (6 * 4 + 8) * 3
        assert summary["items_surfaced"] == 1.0
        assert summary["accuracy"] == 1.0
        assert summary["group_correct"] and summary["full_information_match"]
        assert all(len(agent.known) == 14 for agent in members(society))


def test_silence_changes_nothing() -> None:
    for seed in range(5):
        silent = finished(load(protocol__mention_probability=0.0), seed)[1]
        before = finished(load(protocol__turns=0), seed)[1]
        assert silent["messages_sent"] == 0
        assert silent["group_choice"] == before["group_choice"]
        assert silent["accuracy"] == before["accuracy"]


def test_mentions_that_arrive_after_the_decision_do_not_count() -> None:
    """Latency beyond the discussion's end: items surface but reach nobody in time."""
    for seed in range(5):
        late = load(protocol__mention_probability=1.0, channels__latency=10.0)
        society, summary = finished(late, seed)
        assert summary["items_surfaced"] == 1.0
        assert summary["messages_delivered"] == summary["messages_sent"] > 0
        before = finished(load(protocol__turns=0), seed)[1]
        assert summary["group_choice"] == before["group_choice"]
        # The items did arrive, after the last update: agents know them but did not act.
        assert all(len(agent.known) == 14 for agent in members(society))


def test_mentions_travel_only_along_the_network() -> None:
    society, summary = finished(
        load(protocol__mention_probability=1.0, network__topology="empty"), 3
    )
    assert summary["messages_sent"] == 0
    assert summary["items_surfaced"] == 1.0  # spoken, but nobody was listening
    assert all(agent.known == set(agent.held) for agent in members(society))


def test_full_information_control_always_finds_the_truth() -> None:
    for seed in range(20):
        society, summary = finished(load(protocol__full_information=True), seed)
        assert all(len(agent.held) == 14 for agent in members(society))
        assert summary["accuracy"] == 1.0 and summary["group_correct"]
        assert summary["full_information_match"]


def test_same_seed_same_run() -> None:
    first = load().run(seed=11).summary
    second = load().run(seed=11).summary
    first.pop("wall_seconds"), second.pop("wall_seconds")
    assert first == second


def test_an_item_counts_once_however_often_it_is_heard() -> None:
    society = load(protocol__turns=0).build(0)
    society.advance()
    agent = members(society)[0]
    scores = agent.scores.copy()
    new = next(j for j in range(14) if j not in agent.known)
    item = draw_profile(society).items[new]
    for _ in range(3):
        agent.receive(Mention(1, new, item.option, item.valence, 0.0))
    assert agent.mentions_heard[new] == 3
    expected = scores.copy()
    expected[item.option] += item.valence
    assert np.array_equal(agent.scores, expected)


def test_ties_keep_the_current_choice() -> None:
    society = load(protocol__turns=0).build(0)
    society.advance()
    agent = members(society)[0]
    held = agent.choice
    assert held is not None
    other = (held + 1) % 3
    # Raise a rival exactly to the current choice's score: a tie, so no change.
    agent._learn(100, other, int(agent.scores[held] - agent.scores[other]))
    assert agent.decide() is False and agent.choice == held


def test_dealing_by_candidate_gives_each_member_one_candidate() -> None:
    """8 unshared items (6 strengths of the truth, 2 weaknesses of the decoy) over 4
    members, in proportion: 3 truth experts holding 2 items each, 1 decoy expert."""
    for seed in range(10):
        society = load(protocol__specialization="candidate").build(seed)
        profile = draw_profile(society)
        holders = deal_by_candidate(profile, np.random.default_rng(seed))
        per_member: dict[int, list[int]] = {}
        for item, who in zip(profile.items, holders, strict=True):
            if item.shared:
                assert who == item.holders
            else:
                assert len(who) == 1
                per_member.setdefault(who[0], []).append(item.option)
        domains = sorted((len(set(o)), o[0], len(o)) for o in per_member.values())
        truth, decoy = profile.truth, profile.decoy
        assert domains == sorted([(1, truth, 2)] * 3 + [(1, decoy, 2)])


def test_experts_speaking_to_their_domain_surface_every_unshared_item() -> None:
    """Only experts speak (p = 0, expert p = 1): every unshared item is about its
    holder's domain, so all surface in the first turn; shared items about the truth and
    the decoy are spoken too, those about the third candidate by nobody."""
    scenario = load(
        protocol__specialization="candidate",
        protocol__mention_probability=0.0,
        protocol__expert_mention_probability=1.0,
        protocol__turns=1,
    )
    for seed in range(5):
        society, summary = finished(scenario, seed)
        assert summary["items_surfaced"] == 1.0
        assert summary["group_correct"]
        assert all(len(agent.domain) == 1 for agent in members(society))


def test_wrong_agents_or_task_are_named() -> None:
    with pytest.raises(ScenarioError, match=r"population\.groups\.0\.agent = 'bayesian'"):
        load(**{"population__groups": [{"agent": "bayesian"}]})  # refused at load
    with pytest.raises(ScenarioError, match=r"task\.kind = 'urn'"):
        load(**{"task": {"kind": "urn"}}).run(seed=0)
    with pytest.raises(ScenarioError, match=r"protocol\.mention_probability"):
        load(protocol__mention_probability=1.5)


def test_one_turn_mention_frequency_matches_the_sampling_model() -> None:
    """400 runs, p = 0.3: 3,200 single-holder items (SE 0.008) and 2,400 items held by
    all four (SE 0.009); 4 SE bands around 0.3 and 1 - 0.7^4 = 0.760 exclude the
    neighbouring models "p regardless of holders" and "1 - 0.7^3" by far."""
    scenario = load(protocol__turns=1, protocol__mention_probability=0.3)
    hits: dict[int, list[bool]] = {1: [], 4: []}
    for seed in range(400):
        society = finished(scenario, seed)[0]
        heard = set().union(*(agent.mentions_heard for agent in members(society)))
        for item in range(14):
            holders = sum(item in agent.held for agent in members(society))
            hits[holders].append(item in heard)
    for holders, outcomes in hits.items():
        f, theory = float(np.mean(outcomes)), item_surfacing(0.3, holders)
        assert abs(f - theory) < 4 * np.sqrt(theory * (1 - theory) / len(outcomes)), holders


def test_hidden_profiles_are_mostly_missed() -> None:
    """200 runs of the shipped scenario: unshared items surface at 1 - 0.8^2 = 0.36
    (1,600 items, SE 0.012, 4 SE band) and the group finds the truth far less often than
    with full information (always): about 0.28 (SE 0.032), so below 0.45 by 5 SE."""
    rows = [finished(load(), seed)[1] for seed in range(200)]
    surfaced = np.mean([row["items_surfaced"] for row in rows])
    assert abs(surfaced - item_surfacing(0.2, 1, 2)) < 4 * np.sqrt(0.36 * 0.64 / 1600)
    assert np.mean([row["group_correct"] for row in rows]) < 0.45
    assert all(row["full_information_match"] == row["group_correct"] for row in rows)


def test_item_surfacing_hand_values() -> None:
    assert item_surfacing(0.3, 1) == pytest.approx(0.3)
    assert item_surfacing(0.3, 4) == pytest.approx(1 - 0.7**4)
    assert item_surfacing(0.2, 1, 2) == pytest.approx(0.36)


def test_validation_cases_compare_with_the_closed_forms() -> None:
    """The cases `sim validate` runs (the slow test asserts them at 1,500 runs): their
    theory column is the sampling model's, computed from the scenario's own keys."""
    from analysis.validation import cases, run_cases

    selected = [case for case in cases() if case.result == "Hidden profile"]
    # Mentions per item are read from SimPy's agents; the summary columns from either.
    assert [case.engines for case in selected] == [("simpy",), ("simpy", "fast")]
    rows = list(run_cases(selected, 30, seed=0))
    assert [(row.theory, row.relation) for row in rows] == [
        (pytest.approx(0.3), "="),
        (pytest.approx(1 - 0.7**4), "="),
        (pytest.approx(0.36), "="),
        (0.0, ">"),
    ]
    assert rows[3].simulated > 0.4  # full information always right, hidden mostly not
