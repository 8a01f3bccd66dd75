"""Summary metrics: exact values on hand-checkable inputs and tiny societies."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.metrics import SUMMARY_SCHEMA, accuracy, brier, entropy_bits, plurality


def test_entropy_bits() -> None:
    assert entropy_bits(np.array([5, 5])) == 1.0
    assert entropy_bits(np.array([7])) == 0.0
    assert entropy_bits(np.array([])) == 0.0
    assert entropy_bits(np.array([1, 1, 1, 1])) == 2.0
    assert entropy_bits(np.array([3, 1])) == pytest.approx(-(0.75 * math.log2(0.75) + 0.25 * -2))


def test_accuracy_counts_agents_without_choice_as_wrong() -> None:
    assert accuracy(np.array([1, 1, 0, -1]), 1) == 0.5


def test_plurality_requires_a_strict_winner() -> None:
    assert plurality(np.array([0, 1, 1, 2]), 3) == 1
    assert plurality(np.array([0, 1]), 2) is None
    assert plurality(np.array([-1, -1]), 2) is None


def test_brier_score() -> None:
    beliefs = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    assert brier(beliefs, 0) == pytest.approx((0 + 0.5 + 2) / 3)


def test_summary_row_has_documented_columns_and_types(make_scenario) -> None:  # type: ignore[no-untyped-def]
    result = make_scenario().run(seed=2)
    frame = result.summary_frame()
    assert frame.columns == list(SUMMARY_SCHEMA)
    assert dict(frame.schema) == SUMMARY_SCHEMA


def test_herding_and_first_mover_in_a_zealot_society(make_scenario) -> None:  # type: ignore[no-untyped-def]
    """Stubborn zealots for option 1 announce against their signal exactly when the
    signal is 0; the first announcement is 1, the plurality is 1."""
    scenario = make_scenario(
        population={"size": 40, "groups": [{"agent": "stubborn", "option": 1}]},
        world={"truth": 0, "signal_accuracy": 0.7},
    )
    society = scenario.build(seed=3)
    summary = society.run().summary
    against = float(np.mean(society.world.signals != 1))
    assert summary["herding_rate"] == pytest.approx(against)
    assert summary["first_mover_lock_in"] is True
    assert summary["majority_correct"] is False
    assert summary["accuracy"] == 0.0
    assert summary["consensus"] is True
    assert summary["entropy_final"] == 0.0
    assert summary["brier"] == pytest.approx(2.0)


def test_cascade_onset_is_first_agent_acting_in_a_cascade(make_scenario) -> None:  # type: ignore[no-untyped-def]
    scenario = make_scenario(
        population={"size": 12, "groups": [{"agent": "bayesian", "tie_rule": "own_signal"}]},
        protocol={"kind": "sequential", "order": "index"},
        world={"signal_accuracy": 0.6},
    )
    for seed in range(30):
        society = scenario.build(seed=seed)
        summary = society.run().summary
        signals = society.world.signals
        # Own-signal rule: before the cascade every agent reveals its signal, so the
        # cascade starts after the first time the signal difference reaches +-2.
        diff, onset = 0, None
        for i, s in enumerate(signals):
            if abs(diff) == 2:
                onset = i
                break
            diff += 1 if s == 0 else -1
        assert summary["cascade_onset"] == onset, seed
        if abs(diff) < 2:
            expected = "none"
        else:
            expected = "correct" if (diff > 0) == (society.world.truth == 0) else "wrong"
        assert summary["cascade"] == expected, seed


def test_timeseries_rows_reflect_state_after_each_time(make_scenario) -> None:  # type: ignore[no-untyped-def]
    result = make_scenario(
        population={"size": 4, "groups": [{"agent": "stubborn", "option": 0}]},
        world={"truth": 0},
        protocol={"kind": "sequential", "order": "index", "interval": 2.0},
        record={"interval": 1.0},
    ).run(seed=0)
    ts = result.timeseries
    assert ts["time"].to_list() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert ts["acted"].to_list() == [1, 1, 2, 2, 3, 3, 4]
    assert ts["accuracy"].to_list() == [0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1.0]
    assert ts["entropy"].to_list() == [0.0] * 7
