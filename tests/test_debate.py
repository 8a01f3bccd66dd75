"""The debate protocol, roles, institutions, Dirichlet agents and institutional memory."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sim
from sim.errors import ScenarioError
from sim.institutions import group_decision
from sim.memory import Notebook


def debate(**tables: Any) -> sim.Scenario:
    data: dict[str, Any] = {
        "world": {"options": 2, "signal_accuracy": {"dist": "uniform", "low": 0.55, "high": 0.9}},
        "population": {"size": 7, "groups": [{"agent": "social", "weight": 1.0}]},
        "protocol": {"kind": "debate", "rounds": 2},
    }
    for key, value in tables.items():
        data[key] = {**data.get(key, {}), **value}
    return sim.Scenario.from_dict(data)


def test_every_agent_speaks_once_in_the_opening_and_each_round() -> None:
    summary = debate().run(seed=1).summary
    # 7 speakers x (opening + 2 rounds), each heard by the 6 others.
    assert summary["messages_sent"] == 7 * 3 * 6
    assert summary["engine"] == "fast"
    assert summary["initial_majority_correct"] is not None


def test_neighbour_visibility_sends_along_the_network_only() -> None:
    run = debate(network={"topology": "cycle"}, protocol={"visibility": "neighbours"})
    assert run.run(seed=1).summary["messages_sent"] == 7 * 3 * 2


def test_independence_first_opens_with_everyone_on_their_own_evidence() -> None:
    society = debate(institution={"independence_first": True}).build(seed=4)
    society.advance(until=0.5)  # the opening is over, no round yet
    assert [a.choice for a in society.members] == [a.signal for a in society.members]
    # Without it, later speakers in the opening hear earlier ones and some follow them.
    herded = 0
    for seed in range(40):
        society = debate().build(seed=seed)
        society.advance(until=0.5)
        herded += sum(a.choice != a.signal for a in society.members)
    assert herded > 0


def test_confidence_order_lets_the_best_informed_speak_first() -> None:
    run = debate(institution={"speaking_order": "confidence"})
    society = run.build(seed=3, record_events=True)
    result = society.run()
    assert result.events is not None
    first_sender = result.events.sort("sent_time", maintain_order=True)["sender"][0]
    assert first_sender == int(np.argmax([a.accuracy for a in society.members]))


def test_degree_order_lets_the_best_connected_speak_first() -> None:
    run = debate(network={"topology": "star"}, institution={"speaking_order": "degree"})
    result = run.run(seed=3, events=True)
    assert result.events is not None
    assert result.events["sender"][0] == 0  # the hub


def test_a_devils_advocate_defends_a_minority_answer_to_the_end() -> None:
    run = debate(institution={"devils_advocate": True}, protocol={"rounds": 3})
    for seed in range(20):
        society = run.build(seed=seed)
        society.advance(until=0.5)
        opening = society.choices()
        society.run()
        protocol_state = [a for a in society.members if a.choice != society.choices()[0]]
        final = society.choices()
        counts = np.bincount(opening, minlength=2)
        if counts.min() == 0:
            continue  # unanimous opening: the advocate takes the other answer
        # The advocate ends on a minority answer of the opening, whatever others do.
        minority = int(np.argmin(counts))
        assert minority in final.tolist(), (seed, opening, final, protocol_state)


def test_a_critic_argues_against_the_majority() -> None:
    groups = [
        {"agent": "stubborn", "option": 1, "share": 6 / 7},
        {"agent": "social", "share": 1 / 7, "role": "critic"},
    ]
    society = debate(population={"groups": groups}, world={"truth": 1}).build(seed=2)
    society.run()
    critic = next(a for a in society.members if a.group == 1)
    assert critic.choice == 0  # everyone else says 1


def test_delphi_feedback_is_anonymous_and_complete() -> None:
    society = debate(institution={"delphi": True}).build(seed=5)
    society.advance(until=0.5)
    answers = society.choices()
    for agent in society.members:
        assert all(sender < 0 for sender in agent.heard)
        expected = np.bincount(np.delete(answers, agent.index), minlength=2)
        assert agent.heard_counts().tolist() == expected.tolist()
    assert society.run().summary["messages_sent"] == 0


def test_debate_outcome_columns_by_hand() -> None:
    """Stubborn zealots for 1 and own-signal agents: nobody changes (resolution quality
    undefined), and the opening vote is the final vote."""
    groups = [{"agent": "social", "weight": 0.0}]
    summary = debate(population={"groups": groups}).run(seed=8).summary
    assert summary["resolution_quality"] is None
    assert summary["initial_majority_correct"] == summary["group_correct"]


def test_resolution_quality_counts_changes_toward_the_truth() -> None:
    """Zealots hold the truth; conformists who open on a wrong signal all come round to
    it, so every change is toward the truth."""
    groups = [
        {"agent": "stubborn", "option": 1, "share": 4 / 7},
        {"agent": "social", "weight": 5.0, "share": 3 / 7},
    ]
    run = debate(
        population={"groups": groups},
        world={"truth": 1, "signal_accuracy": 0.6},
        institution={"independence_first": True},
    )
    qualities = [run.run(seed=seed).summary["resolution_quality"] for seed in range(20)]
    assert set(qualities) <= {None, 1.0}
    assert qualities.count(1.0) >= 5  # a wrong signal among 3 agents: P = 1 - 0.6^3 = 0.78


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("plurality", (1, 3 / 5)),
        ("majority", (1, 3 / 5)),
        ("confidence_weighted", (0, 1.8 / (1.8 + 1.5))),
        ("log_odds", (0, None)),
    ],
)
def test_aggregation_rules_by_hand(rule: str, expected: tuple[int, float | None]) -> None:
    choices = np.array([0, 0, 1, 1, 1])
    confidences = np.array([0.9, 0.9, 0.5, 0.5, 0.5])
    beliefs = np.array(
        [[c, 1 - c] if k == 0 else [1 - c, c] for k, c in zip(choices, confidences, strict=True)]
    )
    decision, confidence = group_decision(choices, beliefs, confidences, rule)  # type: ignore[arg-type]
    assert decision == expected[0]
    if expected[1] is not None:
        assert confidence == pytest.approx(expected[1])
    else:  # pooled log-odds: 2 log 9 for 0 against 3 log 1 for 1
        assert confidence == pytest.approx(81 / 82)


def test_majority_needs_more_than_half_and_ties_decide_nothing() -> None:
    beliefs = np.full((4, 3), 1 / 3)
    nan = np.full(4, np.nan)
    assert group_decision(np.array([0, 0, 1, 2]), beliefs, nan, "majority") == (None, None)
    assert group_decision(np.array([0, 0, 1, 2]), beliefs, nan, "plurality") == (0, 0.5)
    assert group_decision(np.array([0, 0, 1, 1]), beliefs, nan, "plurality") == (None, None)


def test_reputation_weights_can_overrule_the_majority() -> None:
    beliefs = np.full((5, 2), 0.5)
    weights = np.array([math.log(9), 0.1, 0.1, 0.1, 0.1])
    decision, _ = group_decision(
        np.array([0, 1, 1, 1, 1]), beliefs, np.full(5, np.nan), "reputation", weights
    )
    assert decision == 0
    decision, _ = group_decision(
        np.array([0, 1, 1, 1, 1]), beliefs, np.full(5, np.nan), "reputation"
    )
    assert decision == 1  # no records: plurality


def memory_study(path: Path, **institution: Any) -> sim.Scenario:
    return sim.load(
        Path(__file__).resolve().parent.parent / "scenarios" / "institutional_memory.toml",
        {
            "institution.memory.path": str(path),
            **{f"institution.{k}": v for k, v in institution.items()},
        },
    )


def test_the_notebook_is_written_and_read_by_a_later_run(tmp_path: Path) -> None:
    path = tmp_path / "notebook.json"
    memory_study(path).run(seed=1)
    data = json.loads(path.read_text())
    assert data["episodes"] == 1 and len(data["members"]) == 9
    # A new scenario object (as a later process would) reads what the first one wrote.
    later = memory_study(path).build(seed=2)
    assert later.reputations is not None and later.notebook is not None
    assert later.notebook.episodes == 1
    assert later.reputations.shape == (9,)
    # Under anonymity nobody's record is used.
    assert memory_study(path, anonymity=True).build(seed=2).reputations is None


def test_memory_learns_who_the_experts_are(tmp_path: Path) -> None:
    episodes = memory_study(tmp_path / "notebook.json").episodes(120, seed=0)
    notebook = Notebook.load(tmp_path / "notebook.json")
    assert notebook.episodes == 120 and episodes.height == 120
    reliability = notebook.reliability(9)
    # Beta posterior means after 120 answers: experts near 0.85, novices near 0.55
    # (binomial sd about 0.033 and 0.045; 0.12 is well over 2.5 sd).
    assert reliability[:3] == pytest.approx([0.85] * 3, abs=0.12)
    assert reliability[3:] == pytest.approx([0.55] * 6, abs=0.15)
    assert reliability[:3].min() > reliability[3:].max()


def test_a_corrupt_notebook_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notebook.json"
    path.write_text("[1, 2]")
    with pytest.raises(ScenarioError, match="not a notebook"):
        memory_study(path).run(seed=1)


def test_dirichlet_agents_count_each_announcement_once_and_sample_their_belief() -> None:
    run = debate(
        population={"groups": [{"agent": "dirichlet", "concentration": 1.0, "signal_weight": 2.0}]},
        protocol={"speaking": "simultaneous", "rounds": 2},
    )
    society = run.build(seed=3)
    society.run()
    for agent in society.members:
        # 1 per option + 2 for the signal + 6 answers heard in each of 2 rounds.
        assert agent.alpha.sum() == pytest.approx(2 + 2 + 12)
        assert agent.belief == pytest.approx(agent.alpha / agent.alpha.sum())


def test_dirichlet_answers_are_draws_from_the_belief() -> None:
    run = debate(
        population={
            "size": 7,
            "groups": [{"agent": "dirichlet", "concentration": 1.0, "signal_weight": 2.0}],
        },
        protocol={"speaking": "simultaneous", "rounds": 1},
        world={"signal_accuracy": 0.7},
    )
    agreed = total = 0
    for seed in range(300):
        society = run.build(seed=seed)
        society.advance(until=0.5)
        agreed += sum(a.choice == a.signal for a in society.members)
        total += len(society.members)
    # Opening belief in the own signal's option is 3/4: answers agree with the signal
    # with probability 0.75 (binomial sd over 2100 draws: 0.0094).
    assert agreed / total == pytest.approx(0.75, abs=0.04)
