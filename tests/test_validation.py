"""The engine reproduces the theory it borrows (the README's validation table).

Each case runs a shipped scenario over many fixed seeds, on every engine that can run it.
A stochastic row passes when the simulated frequency lies within 4 Monte Carlo standard
errors of the closed form (with 1,500 runs, the standard error of a frequency near 0.5 is
0.013); a deterministic row (DeGroot) must match to 1e-6; an inequality row (one
arrangement beats another) must hold by at least 2 standard errors.
"""

from __future__ import annotations

import pytest

from analysis.theory import bhw_cascade_probabilities, condorcet_majority
from analysis.validation import cases, run_cases

RUNS = 1500


@pytest.mark.slow
@pytest.mark.parametrize(
    ("case", "engine"),
    [(case, engine) for case in cases() for engine in case.engines],
    ids=lambda value: value if isinstance(value, str) else f"{value.result}: {value.case}",
)
def test_case_matches_theory(case, engine) -> None:  # type: ignore[no-untyped-def]
    rows = list(run_cases([case], RUNS, seed=1000, engine=engine))
    assert rows
    for row in rows:
        assert row.holds, row


def test_bhw_closed_forms_sum_to_one_and_match_hand_values() -> None:
    for tie in ("coin", "own_signal"):
        for p in (0.55, 0.7, 0.9):
            for n in (2, 3, 10):
                probs = bhw_cascade_probabilities(p, n, tie)
                assert sum(probs.values()) == pytest.approx(1.0)
    # Two agents, coin rule: no cascade iff signals differ and the second flips its coin
    # towards its own signal: 2 p (1 - p) / 2.
    assert bhw_cascade_probabilities(0.7, 2, "coin")["none"] == pytest.approx(0.21)
    # Own-signal rule: the walk is absorbed at +-2 unless signals alternate.
    assert bhw_cascade_probabilities(0.7, 2, "own_signal")["none"] == pytest.approx(0.42)


def test_condorcet_hand_values() -> None:
    assert condorcet_majority(0.6, 1) == pytest.approx(0.6)
    assert condorcet_majority(0.6, 3) == pytest.approx(0.6**3 + 3 * 0.6**2 * 0.4)


def test_wrong_tie_rule_is_detected() -> None:
    """The test above has power: simulating 'coin' agents against the 'own_signal'
    closed form fails by far."""
    coin = next(c for c in cases() if c.case == "coin, p=0.6, n=6")
    rows = list(run_cases([coin], 600, seed=0))
    wrong_theory = bhw_cascade_probabilities(0.6, 6, "own_signal")["none"]
    none_row = next(r for r in rows if r.quantity == "P(no cascade)")
    assert abs(none_row.simulated - wrong_theory) / none_row.std_error > 10
