"""Scenario loading, validation messages, overrides and the Python API."""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from sim.scenario import apply_overrides, parse_override

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_scenario_loads_and_has_a_header(path: Path) -> None:
    scenario = sim.load(path)
    assert scenario.name == path.stem
    assert path.read_text().startswith("#"), "each scenario starts with a header comment"


def test_load_with_overrides_returns_runnable_scenario() -> None:
    scenario = sim.load(SCENARIOS / "cascade.toml", overrides={"world.signal_accuracy": 0.6})
    assert scenario.config.world.signal_accuracy == 0.6
    result = scenario.run(seed=1)
    assert result.summary["seed"] == 1
    assert result.summary["n_agents"] == 20
    assert result.events is None
    assert result.timeseries.columns == [
        "time", "acted", "share_0", "share_1", "accuracy", "entropy", "distinct",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("world.signal_accuracy=0.6", "world.signal_accuracy", 0.6),
        ("population.size = 30", "population.size", 30),
        ("network.topology=cycle", "network.topology", "cycle"),
        ('network.topology="cycle"', "network.topology", "cycle"),
        ("stop.consensus=true", "stop.consensus", True),
        ("population.groups.0.prior=[0.2, 0.8]", "population.groups.0.prior", [0.2, 0.8]),
        (
            'world.signal_accuracy={ dist = "uniform", low = 0.6, high = 0.8 }',
            "world.signal_accuracy",
            {"dist": "uniform", "low": 0.6, "high": 0.8},
        ),
    ],
)
def test_parse_override_reads_toml_values(text: str, key: str, value: object) -> None:
    assert parse_override(text) == (key, value)


def test_override_paths_index_lists_and_reject_bad_paths() -> None:
    data = {"population": {"groups": [{"agent": "social"}]}, "name": "x"}
    out = apply_overrides(data, {"population.groups.0.weight": 2.0, "world.options": 3})
    assert out["population"]["groups"][0]["weight"] == 2.0
    assert out["world"] == {"options": 3}
    assert "weight" not in data["population"]["groups"][0], "input left untouched"
    with pytest.raises(sim.ScenarioError, match="index below 1"):
        apply_overrides(data, {"population.groups.3.weight": 1.0})
    with pytest.raises(sim.ScenarioError, match="name is a value"):
        apply_overrides(data, {"name.first": "y"})


def test_override_is_type_checked_like_the_file() -> None:
    with pytest.raises(sim.ScenarioError) as info:
        sim.load(SCENARIOS / "cascade.toml", {"population.groups.0.tie_rule": "dice"})
    message = str(info.value)
    assert "cascade.toml: population.groups.0.tie_rule:" in message
    assert "'coin' or 'own_signal'" in message


@pytest.mark.parametrize(
    ("tables", "fragment"),
    [
        ({"world": {"options": 1}}, "world.options: Input should be greater than or equal to 2"),
        ({"world": {"truth": 2}}, "world.truth must be an option index below 2"),
        ({"world": {"signal_accuracy": {"dist": "uniform", "low": 0.5, "high": 1.2}}},
         "world.signal_accuracy: must be a probability in [0, 1]"),
        ({"population": {"size": 0}}, "population.size: Input should be greater than or equal"),
        ({"population": {"groups": [{"agent": "social", "share": 0.5}]}},
         "shares must sum to 1"),
        ({"population": {"groups": [{"agent": "bayesian", "prior": [0.5, 0.6]}]}},
         "population.groups.0.prior: must sum to 1"),
        ({"population": {"groups": [{"agent": "bayesian", "prior": [1.0]}]}},
         "population.groups.0.prior has 1 entries"),
        ({"population": {"groups": [{"agent": "stubborn", "option": 5}]}},
         "population.groups.0.option must be an option index below 2"),
        ({"population": {"groups": [{"agent": "threshold", "threshold": 1.5}]}},
         "population.groups.0.threshold: must be a fraction in [0, 1]"),
        ({"population": {"groups": [{"agent": "social", "tie_rule": "coin"}]}},
         "population.groups.0.tie_rule: unknown key"),
        ({"channels": {"latency": -1.0}}, "channels.latency: must be a delay in [0, inf]"),
        ({"channels": {"latency": {"dist": "normal", "mean": 1, "sd": 1}}},
         "channels.latency: must be a delay"),
        ({"protocol": {"kind": "asynchronous"}}, "never ends by itself"),
        ({"protocol": {"kind": "gossip"}}, "protocol.kind: Input tag 'gossip'"),
        ({"network": {"topology": "lattice", "k": 4, "p": 0.1}}, "network.p: unknown key"),
        ({"network": {"topology": "regular", "degree": 3}, "population": {"size": 5}},
         "network.degree"),
    ],
)  # fmt: skip
def test_validation_messages_name_key_path(tables: dict, fragment: str) -> None:
    data = {"population": {"size": 10}} | tables
    if "population" in tables:
        data["population"] = {"size": 10} | tables["population"]
    with pytest.raises(sim.ScenarioError) as info:
        sim.Scenario.from_dict(data, source="test.toml")
    assert fragment in str(info.value)
    assert str(info.value).startswith("test.toml: ")


def test_population_size_defaults_to_network_file(tmp_path: Path) -> None:
    (tmp_path / "net.edgelist").write_text("a b\nb c\nc d\n")
    (tmp_path / "s.toml").write_text('[network]\ntopology = "file"\npath = "net.edgelist"\n')
    scenario = sim.load(tmp_path / "s.toml")
    assert scenario.run(seed=0).summary["n_agents"] == 4
    resolved = scenario.to_dict()
    assert resolved["network"]["path"] == str(tmp_path / "net.edgelist")


def test_groups_get_their_shares_and_parameters(make_scenario) -> None:  # type: ignore[no-untyped-def]
    scenario = make_scenario(
        population={
            "size": 100,
            "groups": [
                {
                    "agent": "social",
                    "share": 0.25,
                    "weight": {"dist": "uniform", "low": 1, "high": 2},
                },
                {"agent": "bayesian", "share": 0.75, "signal_accuracy": 0.9},
            ],
        }
    )
    society = scenario.build(seed=1)
    kinds = [a.kind for a in society.members]
    assert kinds.count("social") == 25
    weights = [a.weight for a in society.members if a.kind == "social"]  # type: ignore[attr-defined]
    assert all(1 <= w <= 2 for w in weights) and len(set(weights)) == 25
    assert all(a.accuracy == 0.9 for a in society.members if a.kind == "bayesian")
    assert kinds[:25] != ["social"] * 25, "random placement scatters the groups"


def test_group_sizes_largest_remainder() -> None:
    from sim.population import group_sizes

    assert group_sizes([1 / 3, 1 / 3, 1 / 3], 10) == [4, 3, 3]
    assert group_sizes([0.5, 0.5], 7) == [4, 3]
    assert sum(group_sizes([0.1] * 10, 99)) == 99
