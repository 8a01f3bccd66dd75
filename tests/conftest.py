"""Shared fixtures: small scenarios built in code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import sim


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


@pytest.fixture
def make_scenario() -> Callable[..., sim.Scenario]:
    """Build a scenario from a small default (10 bayesian agents, complete graph,
    sequential) updated with nested tables."""

    def make(**tables: Any) -> sim.Scenario:
        base: dict[str, Any] = {"name": "test", "population": {"size": 10}}
        return sim.Scenario.from_dict(_merge(base, tables))

    return make
