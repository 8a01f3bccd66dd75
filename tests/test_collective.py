"""Brier score and expected calibration error of group confidence over runs."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import sim
from analysis.collective import group_calibration, reliability_table


def test_brier_and_ece_by_hand() -> None:
    frame = pl.DataFrame(
        {
            "point": [0, 0, 0, 0, 1, 1],
            "group_confidence": [0.9, 0.9, 0.6, None, 0.5, 0.5],
            "group_correct": [True, False, True, False, True, False],
        }
    )
    table = group_calibration(frame, by=["point"]).sort("point")
    first, second = table.row(0, named=True), table.row(1, named=True)
    assert first["runs"] == 4 and first["undecided"] == 1
    assert first["brier"] == pytest.approx((0.01 + 0.81 + 0.16) / 3)
    # Bins: 0.9 (2 runs, half right: gap 0.4) and 0.6 (1 run, right: gap 0.4).
    assert first["ece"] == pytest.approx(0.4)
    assert second["brier"] == pytest.approx(0.25) and second["ece"] == pytest.approx(0.0)


def test_a_calibrated_forecaster_has_small_ece() -> None:
    rng = np.random.default_rng(3)
    confidence = rng.uniform(0.5, 1.0, 20_000)
    correct = rng.random(20_000) < confidence
    frame = pl.DataFrame({"group_confidence": confidence, "group_correct": correct})
    (row,) = group_calibration(frame).iter_rows(named=True)
    # Sampling error per bin about sqrt(0.2/2000) = 0.01; ECE of a calibrated source
    # stays well under 0.02, an overconfident one (right half as often) far above.
    assert row["ece"] < 0.02
    overconfident = frame.with_columns(pl.col("group_correct") & (pl.lit(rng.random(20_000)) < 0.5))
    (bad,) = group_calibration(overconfident).iter_rows(named=True)
    assert bad["ece"] > 0.3
    assert reliability_table(frame)["runs"].sum() == 20_000


def test_group_confidence_of_simulated_runs_can_be_scored() -> None:
    scenario = sim.Scenario.from_dict(
        {"population": {"size": 11}, "protocol": {"kind": "rounds", "rounds": 1}}
    )
    rows = pl.concat([scenario.run(seed=s).summary_frame() for s in range(40)])
    (row,) = group_calibration(rows).iter_rows(named=True)
    assert row["runs"] == 40 and 0.0 <= row["brier"] <= 1.0 and 0.0 <= row["ece"] <= 1.0
