"""The fast engine runs the same societies as the SimPy engine.

By design the fast engine replays the SimPy engine's schedule event for event, with the
same rule kernels and the same random streams, so the same seed must give the same run.
Each case below (together they cover every agent kind, every protocol, every latency
distribution, losses, both capacity policies and every stopping rule) is run on 1,000
seeds by both engines, and checked two ways:

* seed by seed, the summaries and time series are identical;
* as distributions, the summary metrics agree: a chi-square test on categorical
  outcomes and a two-sample Kolmogorov–Smirnov test on numeric ones, each required to
  have p > 0.001 (a false alarm rate of 1 in 1,000 per comparison were the engines
  only equal in distribution). ``test_distribution_check_has_power`` shows these tests
  reject an engine whose rule differs slightly.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import polars as pl
import pytest
from scipy import stats

import sim
from sim.errors import ScenarioError
from sim.fast import FastRun
from sim.fast import calendar as fast_calendar
from sim.fast import engine as fast_engine

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SEEDS = 1000
CATEGORICAL = ("majority_correct", "consensus", "cascade", "stop_reason", "truth")
NUMERIC = ("accuracy", "herding_rate", "brier", "messages_delivered", "events", "sim_time")

CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "bayesian, sequential, complete": ("cascade.toml", {"population.size": 8}),
    "bayesian, asynchronous, erdos_renyi, exponential latency": (
        "cascade.toml",
        {
            "population.size": 15,
            "network": {"topology": "erdos_renyi", "mean_degree": 4},
            "protocol": {"kind": "asynchronous", "wake_rate": 0.3},
            "channels.latency": {"dist": "exponential", "mean": 0.5},
            "stop.max_time": 6.0,
        },
    ),
    "social + bayesian, asynchronous, watts_strogatz, loss": (
        "network_herding.toml",
        {"population.size": 16, "stop.max_time": 3.0},
    ),
    "degroot, rounds, barabasi_albert": (
        "degroot.toml",
        {"population.size": 12, "protocol.rounds": 6},
    ),
    "degroot, asynchronous, constant latency": (
        "degroot.toml",
        {
            "population.size": 8,
            "population.groups.0.tolerance": 0.05,
            "protocol": {"kind": "asynchronous", "wake_rate": 0.5},
            "channels.latency": 0.3,
            "stop.max_time": 3.0,
        },
    ),
    "threshold, rounds, beta latency": (
        "degroot.toml",
        {
            "population.size": 12,
            "population.groups": [
                {"agent": "threshold", "threshold": {"dist": "uniform", "low": 0.3, "high": 0.7}}
            ],
            "channels.latency": {"dist": "beta", "a": 2, "b": 2},
            "protocol.rounds": 5,
        },
    ),
    "voter, asynchronous, consensus stop": ("voter.toml", {"population.size": 10}),
    "stubborn + social, sequential, uniform latency and loss": (
        "cascade.toml",
        {
            "population.size": 15,
            "population.groups": [
                {"agent": "social", "share": 0.7, "weight": 0.9},
                {"agent": "stubborn", "share": 0.3, "option": 0},
            ],
            "channels": {"latency": {"dist": "uniform", "low": 0.5, "high": 3.0}, "drop": 0.1},
            "protocol.interval": 0.5,
        },
    ),
    "social, asynchronous, capacity with queue": (
        "network_herding.toml",
        {
            "population.size": 12,
            "channels": {
                "latency": {"dist": "lognormal", "mu": -1, "sigma": 0.5},
                "capacity": 1,
                "overflow": "queue",
            },
            "stop.max_time": 2.0,
        },
    ),
    "social, rounds, capacity with drops, max_events": (
        "network_herding.toml",
        {
            "population.size": 20,
            "protocol": {"kind": "rounds", "rounds": 4},
            "channels": {"latency": {"dist": "exponential", "mean": 0.4}, "capacity": 1},
            "stop": {"max_events": 150},
        },
    ),
    # No wake-ups: the queue runs dry before max_time while messages are still due
    # after it (the fast engine never queues those).
    "social, asynchronous, messages due after max_time": (
        "network_herding.toml",
        {
            "population.size": 14,
            "channels": {"latency": {"dist": "exponential", "mean": 1.0}},
            "protocol": {"kind": "asynchronous", "wake_rate": 0.0},
            "stop": {"max_time": 1.5, "consensus": False},
        },
    ),
    "social, debate in turn, random order, everyone hears everyone": ("debate_herding.toml", {}),
    "bayesian, debate all at once, neighbours, exponential latency, log_odds": (
        "debate_herding.toml",
        {
            "population": {"size": 12, "groups": [{"agent": "bayesian"}]},
            "network": {"topology": "watts_strogatz", "k": 4, "p": 0.3},
            "protocol": {
                "kind": "debate",
                "speaking": "simultaneous",
                "visibility": "neighbours",
                "rounds": 3,
            },
            "channels.latency": {"dist": "exponential", "mean": 0.3},
            "institution": {"aggregation": "log_odds"},
        },
    ),
    "degroot + critic, debate in turn, confidence order, intervals, uniform latency": (
        "debate_herding.toml",
        {
            "world.options": 3,
            "population": {
                "size": 10,
                "groups": [
                    {"agent": "degroot", "share": 0.8, "self_weight": 0.6},
                    {"agent": "social", "share": 0.2, "role": "critic"},
                ],
            },
            "protocol": {"kind": "debate", "turn_interval": 0.2, "round_duration": 3.0},
            "channels.latency": {"dist": "uniform", "low": 0.0, "high": 0.5},
            "institution": {"speaking_order": "confidence", "aggregation": "confidence_weighted"},
        },
    ),
    "threshold + voter + stubborn, debate, devil's advocate, degree order, queue, loss": (
        "debate_herding.toml",
        {
            "population": {
                "size": 14,
                "groups": [
                    {"agent": "threshold", "share": 0.5},
                    {"agent": "voter", "share": 0.3},
                    {"agent": "stubborn", "share": 0.2, "role": "devils_advocate"},
                ],
            },
            "network": {"topology": "barabasi_albert", "m": 2},
            "protocol": {"kind": "debate", "visibility": "neighbours", "rounds": 3},
            "channels": {
                "latency": {"dist": "lognormal", "mu": -1, "sigma": 0.5},
                "capacity": 1,
                "overflow": "queue",
                "drop": 0.1,
            },
            "institution": {
                "speaking_order": "degree",
                "devils_advocate": True,
                "independence_first": True,
                "aggregation": "majority",
            },
        },
    ),
    "social, debate, beta latency, fixed order, stops at max_time": (
        "debate_herding.toml",
        {
            "population.size": 8,
            "channels.latency": {"dist": "beta", "a": 2, "b": 2},
            "protocol": {"kind": "debate", "rounds": 4, "turn_interval": 0.1},
            "institution": {"speaking_order": "fixed"},
            "stop.max_time": 3.5,
        },
    ),
    "five kinds and a critic, Delphi debate, devil's advocate": (
        "institutions.toml",
        {
            "world.options": 3,
            "population": {
                "size": 9,
                "groups": [
                    {"agent": "threshold", "share": 0.3},
                    {"agent": "voter", "share": 0.2},
                    {"agent": "bayesian", "share": 0.3},
                    {"agent": "degroot", "share": 0.1},
                    {"agent": "social", "share": 0.1, "role": "critic"},
                ],
            },
            "network": {"topology": "cycle"},
            "protocol": {"kind": "debate", "rounds": 3, "visibility": "neighbours"},
            "institution": {"delphi": True, "devils_advocate": True},
        },
    ),
    "confidence + stubborn, debate in turn, confidence order": (
        "debate_herding.toml",
        {
            "world.options": 3,
            "population": {
                "size": 10,
                "groups": [
                    {"agent": "confidence", "share": 0.8, "gap_slope": 8.0, "gap_offset": 0.05},
                    {"agent": "stubborn", "share": 0.2, "option": 0},
                ],
            },
            "channels.latency": {"dist": "exponential", "mean": 0.2},
            "institution": {"speaking_order": "confidence"},
        },
    ),
    "confidence + social, asynchronous, erdos_renyi, loss": (
        "network_herding.toml",
        {
            "population": {
                "size": 16,
                "groups": [
                    {
                        "agent": "confidence",
                        "share": 0.7,
                        "gap_slope": {"dist": "uniform", "low": 2.0, "high": 20.0},
                    },
                    {"agent": "social", "share": 0.3, "weight": 0.8},
                ],
            },
            "network": {"topology": "erdos_renyi", "mean_degree": 5},
            "stop.max_time": 3.0,
        },
    ),
    "dirichlet, debate all at once, independence first, cited evidence": (
        "debate_herding.toml",
        {
            "world.options": 3,
            "population": {
                "size": 9,
                "groups": [
                    {
                        "agent": "dirichlet",
                        "concentration": {"dist": "uniform", "low": 0.5, "high": 2.0},
                        "evidence_weight": 0.5,
                    }
                ],
            },
            "protocol": {"kind": "debate", "speaking": "simultaneous", "rounds": 3},
            "channels.latency": {"dist": "exponential", "mean": 0.4},
            "institution": {"independence_first": True},
        },
    ),
    "dirichlet + bayesian, rounds, uniform latency": (
        "cascade.toml",
        {
            "population": {
                "size": 10,
                "groups": [
                    {"agent": "dirichlet", "share": 0.6, "signal_weight": 1.5},
                    {"agent": "bayesian", "share": 0.4},
                ],
            },
            "protocol": {"kind": "rounds", "rounds": 4},
            "channels.latency": {"dist": "uniform", "low": 0.2, "high": 1.5},
        },
    ),
    "confidence + dirichlet, Delphi debate": (
        "institutions.toml",
        {
            "world.options": 3,
            "population": {
                "size": 8,
                "groups": [
                    {"agent": "confidence", "share": 0.5, "gap_slope": 5.0},
                    {"agent": "dirichlet", "share": 0.5, "evidence_weight": 1.0},
                ],
            },
            "protocol": {"kind": "debate", "rounds": 3},
            "institution": {"delphi": True},
        },
    ),
    "beta, bandit, known worse arm, cycle": ("zollman.toml", {"population.size": 6}),
    "beta, bandit, both arms uncertain, late and lost results, queued capacity": (
        "zollman.toml",
        {
            "population.size": 8,
            "network": {"topology": "erdos_renyi", "mean_degree": 3},
            "protocol.known_worse": False,
            "protocol.rounds": 40,
            "protocol.pulls": 3,
            "channels": {
                "latency": {"dist": "exponential", "mean": 0.7},
                "drop": 0.1,
                "capacity": 1,
                "overflow": "queue",
            },
        },
    ),
    "informed, hidden profile, experts, late and lost mentions": (
        "hidden_profile.toml",
        {
            "population.size": 6,
            "protocol.turns": 3,
            "protocol.specialization": "candidate",
            "protocol.expert_mention_probability": 0.5,
            "channels": {"latency": {"dist": "exponential", "mean": 0.6}, "drop": 0.1},
        },
    ),
    "informed, hidden profile, full information, prior, log-odds vote, sparse network": (
        "hidden_profile.toml",
        {
            "population": {
                "size": 5,
                "groups": [{"agent": "informed", "prior": [0.5, 0.3, 0.2]}],
            },
            "network": {"topology": "erdos_renyi", "mean_degree": 2},
            "protocol.full_information": True,
            "protocol.mention_probability": 0.3,
            "channels": {"latency": 0.4, "capacity": 1, "overflow": "queue"},
            "institution": {"aggregation": "log_odds"},
        },
    ),
    "worker, planner_worker, every stage checked, small staff, late and lost handoffs": (
        "planner_worker.toml",
        {
            "population.size": 8,
            "population.groups.0.share": 0.75,
            "population.groups.0.error_rate": {"dist": "uniform", "low": 0.05, "high": 0.3},
            "population.groups.1.share": 0.25,
            "protocol.work_time": {"dist": "exponential", "mean": 1.0},
            "protocol.verification_time": {"dist": "uniform", "low": 0.1, "high": 0.4},
            "channels": {"latency": {"dist": "exponential", "mean": 0.2}, "drop": 0.1},
        },
    ),
    "worker, planner_worker, root checked, lost results fail, queued capacity": (
        "planner_worker.toml",
        {
            "population.size": 6,
            "population.groups.0.share": 0.5,
            "population.groups.0.error_rate": 0.2,
            "population.groups.1.share": 0.5,
            "protocol": {
                "kind": "planner_worker",
                "depth": 2,
                "branching": 3,
                "verify": "final",
                "on_loss": "fail",
                "error_propagation": 0.5,
                "max_redos": 3,
                "work_time": {"dist": "lognormal", "mu": 0.0, "sigma": 0.5},
            },
            "channels": {
                "latency": {"dist": "beta", "a": 2, "b": 2},
                "drop": 0.05,
                "capacity": 1,
                "overflow": "queue",
            },
        },
    ),
    "worker, planner_worker, unchecked, capacity drops, stops at max_time": (
        "planner_worker.toml",
        {
            "population": {"size": 3, "groups": [{"agent": "worker", "error_rate": 0.1}]},
            "protocol": {
                "kind": "planner_worker",
                "depth": 2,
                "branching": 3,
                "loss_timeout": 0.7,
                "work_time": {"dist": "exponential", "mean": 1.0},
            },
            "channels": {"latency": 0.5, "capacity": 1},
            "stop.max_time": 9.0,
        },
    ),
    "social, asynchronous, zero latency, stalls": (
        "network_herding.toml",
        {
            "population.size": 12,
            "population.groups": [{"agent": "social", "weight": 3.0}],
            "channels": {"latency": 0.0},
            "protocol": {"kind": "asynchronous", "wake_rate": 0.0},
            "stop": {"max_stall_events": 300, "consensus": False},
        },
    ),
}


def _runs(name: str, engine: str, seeds: range = range(SEEDS)) -> list[sim.RunResult]:
    path, overrides = CASES[name]
    scenario = sim.load(SCENARIOS / path, {**overrides, "engine": engine})
    return [scenario.run(seed=seed) for seed in seeds]


def _table(results: list[sim.RunResult]) -> pl.DataFrame:
    return pl.DataFrame([r.summary for r in results]).drop("engine", "wall_seconds")


def _distributions_agree(a: pl.DataFrame, b: pl.DataFrame) -> dict[str, float]:
    """p-value of each comparison of the two samples' summary metrics."""
    p_values = {}
    for column in CATEGORICAL:
        x, y = a[column].cast(pl.String).fill_null("null"), b[column].cast(pl.String)
        y = y.fill_null("null")
        levels = sorted(set(x) | set(y))
        table = np.array([[(s == level).sum() for level in levels] for s in (x, y)])
        table = table[:, table.sum(axis=0) > 0]
        if table.shape[1] > 1:
            p_values[column] = float(stats.chi2_contingency(table).pvalue)
    for column in NUMERIC:
        x, y = a[column].drop_nulls().to_numpy(), b[column].drop_nulls().to_numpy()
        if len(x) and len(y):
            p_values[column] = float(stats.ks_2samp(x, y).pvalue)
    return p_values


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_engines_agree(name: str) -> None:
    fast, simpy = _runs(name, "fast"), _runs(name, "simpy")
    assert {r.summary["engine"] for r in fast} == {"fast"}
    assert {r.summary["engine"] for r in simpy} == {"simpy"}
    a, b = _table(fast), _table(simpy)
    for column, p in _distributions_agree(a, b).items():
        assert p > 1e-3, f"{column}: the engines' distributions differ (p = {p:.2g})"
    # Stronger, and what the design promises: the very same runs.
    for seed, (x, y) in enumerate(zip(fast, simpy, strict=True)):
        assert a.row(seed) == b.row(seed), f"seed {seed}"
        assert x.timeseries.equals(y.timeseries), f"seed {seed}"


def test_distribution_check_has_power() -> None:
    """The distribution tests tell apart engines whose social weight differs by 0.5."""
    path, overrides = CASES["social + bayesian, asynchronous, watts_strogatz, loss"]
    seeds = range(SEEDS)
    base = sim.load(SCENARIOS / path, {**overrides, "engine": "fast"})
    other = base.with_overrides({"population.groups.0.weight": 0.3})
    a = _table([base.run(seed=s) for s in seeds])
    b = _table([other.run(seed=s + 10_000) for s in seeds])
    assert min(_distributions_agree(a, b).values()) < 1e-3


def test_a_run_ends_at_max_time_though_its_last_messages_are_never_queued() -> None:
    for fast, simpy in zip(
        _runs("social, asynchronous, messages due after max_time", "fast", range(20)),
        _runs("social, asynchronous, messages due after max_time", "simpy", range(20)),
        strict=True,
    ):
        assert fast.summary["stop_reason"] == simpy.summary["stop_reason"] == "max_time"
        assert fast.summary["sim_time"] == simpy.summary["sim_time"] == 1.5
        assert fast.summary["messages_delivered"] == simpy.summary["messages_delivered"]
        assert fast.timeseries.equals(simpy.timeseries)


def _herding_on_the_fast_engine() -> sim.Scenario:
    path, overrides = CASES["social + bayesian, asynchronous, watts_strogatz, loss"]
    return sim.load(SCENARIOS / path, {**overrides, "engine": "fast"})


def _assert_same_run(got: sim.RunResult, expected: sim.RunResult) -> None:
    assert got.summary | {"wall_seconds": 0} == expected.summary | {"wall_seconds": 0}
    assert got.timeseries.equals(expected.timeseries)


def test_a_queue_reserved_smaller_grows_and_gives_the_same_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scenario = _herding_on_the_fast_engine()
    expected = scenario.run(seed=3)
    new, asked = fast_calendar.new, []

    def refuse_large(events: int, width: float) -> fast_calendar.Calendar:
        asked.append(events)
        if len(asked) == 1:
            raise MemoryError
        return new(8, width)  # far too small: the run must grow it

    monkeypatch.setattr(fast_calendar, "new", refuse_large)
    got = scenario.run(seed=3)
    assert asked[1] * 2 == asked[0]
    _assert_same_run(got, expected)


@pytest.mark.parametrize("network", ["made by the run", "given"])
def test_a_network_made_in_a_second_thread_gives_the_same_run(
    monkeypatch: pytest.MonkeyPatch, network: str
) -> None:
    """The network made (if the run makes it) and transposed in a second thread while
    the agents are made: the same run as made in turn."""
    scenario = _herding_on_the_fast_engine()
    given = scenario.adjacency(5) if network == "given" else None
    expected = FastRun(scenario.config, 5, adjacency=given)
    assert (expected.graph_seconds > 0) == (given is None)
    pools = []

    def counted(max_workers: int) -> ThreadPoolExecutor:
        pools.append(max_workers)
        return ThreadPoolExecutor(max_workers)

    monkeypatch.setattr(fast_engine, "_PARALLEL_ARCS", 0)  # every network, threaded
    monkeypatch.setattr(fast_engine, "_PARALLEL_AGENTS", 0)
    monkeypatch.setattr(fast_engine, "ThreadPoolExecutor", counted)
    got = FastRun(scenario.config, 5, adjacency=given)
    assert pools == [1]
    assert np.array_equal(got.adjacency.indices, expected.adjacency.indices)
    _assert_same_run(got.run(), expected.run())


def test_a_network_file_sets_the_population_on_the_fast_engine(tmp_path: Path) -> None:
    """Without ``population.size`` the network's file says how many agents there are:
    the fast engine reads it before making them, and runs what SimPy runs."""
    (tmp_path / "ring.edgelist").write_text("".join(f"{i} {(i + 1) % 9}\n" for i in range(9)))
    scenario = sim.Scenario.from_dict(
        {"network": {"topology": "file", "path": "ring.edgelist"}}, base_dir=tmp_path
    )
    assert scenario.config.population.size is None
    fast, simpy = (scenario.run(seed=2, engine=engine) for engine in ("fast", "simpy"))
    assert fast.summary["engine"] == "fast" and fast.summary["n_agents"] == 9
    assert fast.summary | {"wall_seconds": 0, "engine": ""} == simpy.summary | {
        "wall_seconds": 0,
        "engine": "",
    }


def test_a_bad_network_made_in_a_second_thread_is_reported_as_such(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An error making the network in the second thread reaches the caller as it would
    from the run's own thread."""
    made_in: list[str] = []

    def unreadable(*args: Any) -> None:
        made_in.append(threading.current_thread().name)
        raise ScenarioError("network.path: cannot read the file")

    monkeypatch.setattr(fast_engine, "_PARALLEL_AGENTS", 0)
    monkeypatch.setattr(fast_engine, "run_network", unreadable)
    with pytest.raises(ScenarioError, match="cannot read the file"):
        FastRun(_herding_on_the_fast_engine().config, 5)
    assert len(made_in) == 1 and made_in[0] != threading.current_thread().name


def test_every_stylized_kind_and_protocol_is_covered() -> None:
    kinds, protocols = set(), set()
    for path, overrides in CASES.values():
        config = sim.load(SCENARIOS / path, overrides).config
        kinds |= {g.agent for g in config.population.groups}
        protocols.add(config.protocol.kind)
    assert kinds == set(fast_engine.KIND_CODES)
    assert protocols == set(fast_engine.PROTOCOLS)


def test_auto_picks_the_fast_engine_and_says_so() -> None:
    scenario = sim.load(SCENARIOS / "cascade.toml")
    assert scenario.engine_for() == "fast"
    assert scenario.run(seed=1).summary["engine"] == "fast"
    assert scenario.run(seed=1, engine="simpy").summary["engine"] == "simpy"
    # The message log is SimPy's alone: auto falls back, fast refuses by name.
    assert scenario.run(seed=1, events=True).summary["engine"] == "simpy"
    with pytest.raises(ScenarioError, match=r"engine = 'fast' cannot run .*--events"):
        scenario.run(seed=1, events=True, engine="fast")
    # A message's code in the fast queue has room for 32,767 options.
    many = scenario.with_overrides({"world.options": 40_000})
    assert many.engine_for() == "simpy"
    with pytest.raises(ScenarioError, match=r"world.options = 40000 \(at most 32767\)"):
        many.run(seed=1, engine="fast")


def test_debate_outcomes_agree_and_are_set_only_when_the_debate_ends() -> None:
    finished = _runs("social, debate in turn, random order, everyone hears everyone", "fast")
    assert all(r.summary["initial_majority_correct"] is not None for r in finished)
    # Cut short by max_time (4 rounds of 8 speakers 0.1 apart cannot end by 3.5).
    cut = _runs("social, debate, beta latency, fixed order, stops at max_time", "fast", range(20))
    assert {r.summary["stop_reason"] for r in cut} == {"max_time"}
    assert all(r.summary["initial_majority_correct"] is None for r in cut)


def test_institutional_memory_is_the_same_on_both_engines(tmp_path: Path) -> None:
    """Episodes sharing a notebook: the same notebooks and summaries on both engines."""
    frames = {}
    for engine in ("fast", "simpy"):
        path = tmp_path / f"{engine}.json"
        scenario = sim.load(
            SCENARIOS / "institutional_memory.toml",
            {"engine": engine, "institution.memory.path": str(path)},
        )
        frames[engine] = scenario.episodes(40, seed=0).drop("engine", "wall_seconds")
    assert frames["fast"].equals(frames["simpy"])
    assert (tmp_path / "fast.json").read_text() == (tmp_path / "simpy.json").read_text()


def test_dirichlet_agents_under_asynchronous_wake_ups_run_on_simpy() -> None:
    # They count each (sender, sent time) once, and such agents may announce twice at
    # one instant: the fast engine keeps no record of what each has counted.
    scenario = sim.load(
        SCENARIOS / "network_herding.toml",
        {"population.groups": [{"agent": "dirichlet"}], "population.size": 20},
    )
    assert scenario.engine_for() == "simpy"
    with pytest.raises(ScenarioError, match=r"'dirichlet' under protocol.kind = 'asynchronous'"):
        scenario.run(seed=1, engine="fast")
    assert scenario.with_overrides({"protocol": {"kind": "rounds"}}).engine_for() == "fast"


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("zollman.toml", "beta"),
        ("hidden_profile.toml", "informed"),
        ("planner_worker.toml", "worker"),
    ],
)
def test_kinds_of_one_protocol_run_on_the_fast_engine_under_it_only(path: str, kind: str) -> None:
    made_for = sim.load(SCENARIOS / path)
    assert made_for.engine_for() == "fast"
    # Elsewhere they keep their prior's choice and learn nothing: SimPy runs that.
    scenario = made_for.with_overrides({"protocol": {"kind": "rounds"}})
    assert scenario.engine_for() == "simpy"
    with pytest.raises(ScenarioError, match=rf"'{kind}' under protocol.kind = 'rounds'"):
        scenario.run(seed=1, engine="fast")


def test_beta_agents_need_two_options_on_the_fast_engine_too() -> None:
    zollman = sim.load(SCENARIOS / "zollman.toml")
    # The two-arms rule is checked on the fast engine too, in the same words.
    with pytest.raises(ScenarioError, match=r"world.options must be 2, got 3"):
        zollman.with_overrides({"world.options": 3}).run(seed=1, engine="fast")


def test_fast_engine_is_byte_identical_for_a_seed(tmp_path: Path) -> None:
    scenario = sim.load(
        SCENARIOS / "network_herding.toml", {"population.size": 500, "engine": "fast"}
    )
    for folder in ("a", "b"):
        scenario.run(seed=4).write(tmp_path / folder, scenario.to_toml(seed=4))
    for name in ("timeseries.parquet", "scenario.toml"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    a = pl.read_parquet(tmp_path / "a" / "summary.parquet").drop("wall_seconds")
    b = pl.read_parquet(tmp_path / "b" / "summary.parquet").drop("wall_seconds")
    assert a.equals(b)
    assert a["engine"].to_list() == ["fast"]
    other = scenario.run(seed=5).timeseries
    assert not other.equals(pl.read_parquet(tmp_path / "a" / "timeseries.parquet"))


@pytest.mark.parametrize("kind", ["social", "bayesian", "informed"])
def test_beliefs_left_unnormalised_are_the_simpy_beliefs_to_the_bit(kind: str) -> None:
    """The fast engine normalises a social, Bayesian or informed agent's belief only
    when it is read; read at the end, every belief is the SimPy engine's, bit for bit,
    and a probability vector."""
    if kind == "informed":
        path, overrides = CASES["informed, hidden profile, experts, late and lost mentions"]
    else:
        path = "network_herding.toml"
        overrides = {"population.size": 300, "population.groups": [{"agent": kind}]}
    scenario = sim.load(SCENARIOS / path, overrides)
    society = scenario.build(2)
    society.run()
    fast = FastRun(scenario.config, seed=2)
    unsettled: list[int] = []  # beliefs left log posteriors, seen during the run

    def seen(events: int, now: float) -> None:
        unsettled.append(int(fast._agents.state["unsettled"].sum()))

    fast.run(progress=seen, chunk=25)
    assert max(unsettled) > 0
    beliefs = fast.beliefs  # (the result has read them already)
    assert not fast._agents.state["unsettled"].any()
    expected = np.array([agent.belief for agent in society.members])
    assert beliefs.tobytes() == expected.tobytes()
    assert np.allclose(beliefs.sum(axis=1), 1.0) and (beliefs >= 0).all()


def test_buffers_grow_and_progress_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """A long asynchronous run outgrows the initial buffers; the result is unchanged."""
    grew = []
    original = FastRun._grow

    def spy(self: FastRun) -> None:
        grew.append(int(self._counters[fast_engine.loop.C_NEED]))
        original(self)

    monkeypatch.setattr(FastRun, "_grow", spy)
    scenario = sim.load(SCENARIOS / "network_herding.toml", {"population.size": 200})
    reports: list[tuple[int, float]] = []
    run = FastRun(scenario.config, seed=2)
    result = run.run(progress=lambda events, now: reports.append((events, now)), chunk=500)
    assert grew, "the run never needed more room"
    assert len(reports) >= 2
    assert [e for e, _ in reports] == sorted(e for e, _ in reports)
    assert [t for _, t in reports] == sorted(t for _, t in reports)
    reference = scenario.run(seed=2, engine="simpy")
    assert _table([result]).equals(_table([reference]))
    assert result.timeseries.equals(reference.timeseries)


def test_announcements_are_kept_only_for_the_agents_that_read_them() -> None:
    """What an announcement carries besides its option (a DeGroot belief, a stated
    confidence, cited evidence) is stored only if some agent reads it: herding among
    social and Bayesian learners stores nothing, DeGroot agents one record each."""
    herding = FastRun(_herding_on_the_fast_engine().config, seed=1)
    herding.run()
    assert herding._counters[fast_engine.loop.C_ANNS] > 0
    assert len(herding._buffers.anns) == 0
    path, overrides = CASES["degroot, rounds, barabasi_albert"]
    degroot = FastRun(sim.load(SCENARIOS / path, overrides).config, seed=1)
    degroot.run()
    made = degroot._counters[fast_engine.loop.C_ANNS]
    assert len(degroot._buffers.anns) >= made > 0


@pytest.mark.parametrize("record", ["INARC", "FIRST"])
@pytest.mark.parametrize("count", [1, 3, 1_000_003])
def test_in_arc_records_start_on_a_cache_line(count: int, record: str) -> None:
    """Each 16-byte in-arc record (and a Bayesian's record of a sender's first
    announcement) lies within one cache line: the array starts on a line boundary (numpy
    alone starts large arrays 16 bytes past one), zeroed."""
    dtype = getattr(fast_engine.loop, record)
    records = fast_engine.zeros_on_cache_lines(count, dtype)
    assert records.shape == (count,)
    assert records.dtype == dtype
    assert dtype.itemsize == 16
    assert records.ctypes.data % 64 == 0
    assert not records.view(np.uint8).any()
    field = dtype.names[-1]
    records[field] = 1  # writable, and its own memory
    assert (records[field] == 1).all()


def test_an_agent_record_fills_two_cache_lines_at_most() -> None:
    """80 bytes: wherever a record starts (a multiple of 16 bytes), it spans two lines."""
    assert fast_engine.loop.AGENT.itemsize == 80


def test_each_bayesian_has_its_own_rows_of_first_announcements() -> None:
    """Bayesian receivers, and only they, have a record of each sender's first
    announcement: their in-arcs map one to one, in order, onto consecutive rows of
    ``Agents.firsts``, which has no row to spare. A directed network, so that in-degrees
    differ."""
    scenario = _herding_on_the_fast_engine()
    graph = nx.gnp_random_graph(300, 0.03, seed=5, directed=True)
    run = FastRun(scenario.config, seed=3, adjacency=graph)
    state, firsts = run._agents.state, run._agents.firsts
    in_ptr = run._net.in_ptr
    bayesian = state["kind"] == fast_engine.loop.BAYESIAN
    assert 0 < bayesian.sum() < len(state)
    rows = [
        np.arange(in_ptr[v], in_ptr[v + 1]) + state["first_shift"][v]
        for v in np.flatnonzero(bayesian)
    ]
    assert np.array_equal(np.concatenate(rows), np.arange(len(firsts)))
    assert len(firsts) == sum(graph.in_degree(v) for v in np.flatnonzero(bayesian))
    run.run()
    # After the run, a sender was heard on an in-arc exactly when its first announcement
    # was, and no later than the latest one heard.
    arcs = np.concatenate([np.arange(in_ptr[v], in_ptr[v + 1]) for v in np.flatnonzero(bayesian)])
    heard, first = run._arcs[arcs], firsts[np.concatenate(rows)]
    assert (heard["heard"] > 0).sum() > len(arcs) // 2
    assert np.array_equal(heard["heard"] > 0, first["option"] > 0)
    assert (first["time"] <= heard["heard_time"]).all()


def test_messages_waiting_for_a_busy_channel_reuse_their_records() -> None:
    """The record of a message waiting for a capacity-limited channel is free again once
    the message leaves: a long run uses about as many as ever wait at once, not one per
    wait. (Which messages waited is read from SimPy's message log: on a channel of
    capacity 1, those sent before the one ahead of them had arrived.)"""
    scenario = sim.load(
        SCENARIOS / "zollman.toml",
        {
            "network": {"topology": "complete"},
            "protocol.known_worse": False,
            "protocol.rounds": 300,
            "protocol.settle_sd": 1000.0,
            "channels": {
                "latency": {"dist": "exponential", "mean": 0.6},
                "capacity": 1,
                "overflow": "queue",
            },
        },
    )
    run = FastRun(scenario.config, seed=3)
    fast = run.run()
    simpy = scenario.run(seed=3, engine="simpy", events=True)
    assert simpy.events is not None
    ahead = pl.col("delivered_time").shift(1).over("sender", "receiver")
    log = simpy.events.sort("sender", "receiver", "message_id")
    waited = log.filter(pl.col("sent_time") < ahead).height
    used = int(run._counters[fast_engine.loop.C_WAITING])
    assert waited > 1000
    assert 0 < used < waited / 20
    assert _table([fast]).equals(_table([simpy]))


def test_networkx_graphs_are_accepted() -> None:
    graph = nx.karate_club_graph()
    scenario = sim.Scenario.from_dict({"population": {"size": 34}, "protocol": {"kind": "rounds"}})
    result = FastRun(scenario.config, seed=3, adjacency=graph).run()
    assert result.summary["n_agents"] == 34
    # Every undirected edge is two channels; one announcement per agent per round.
    assert result.summary["messages_sent"] == 2 * graph.number_of_edges() * 10
