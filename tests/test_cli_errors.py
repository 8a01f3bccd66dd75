"""Tests for the ``sim run`` command line: user errors and the files a valid run writes.

Every case runs the real CLI as a subprocess (``python -m sim run ...``). Starting the
interpreter and importing the engine costs about two seconds of CPU per call, so all the
calls of this module are started together, on a pool as wide as the machine, when the
module's first test asks for them; each test then checks its own call.

A scenario error must exit with status 2, print no traceback and nothing on stdout, print
only lines starting with ``error:``, name the scenario file and the key path, say what
was expected, and write no output files.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest

import sim


@dataclass(frozen=True)
class Case:
    """One CLI call.

    Attributes:
        toml: Scenario text written to ``scenario.toml`` in the case's folder, or ``None``
            to pass a scenario path that does not exist.
        args: Arguments after the scenario path.
        lines: For a scenario error, the fragments each ``error:`` line must contain,
            one tuple per expected line (the scenario path is checked separately).
        out: Output folder, relative to the case's folder (also the call's cwd).
        pass_out: Pass ``--out`` (otherwise ``out`` is where the CLI's default puts it).
    """

    toml: str | None
    args: tuple[str, ...] = ()
    lines: tuple[tuple[str, ...], ...] = field(default_factory=tuple)
    out: str = "out"
    pass_out: bool = True


SMALL = """\
[population]
size = 6
"""

# Valid scenario with groups, distributions and a per-group channel override, so that
# the scenario.toml round trip covers aliases, tuples and nested tables.
VALID = """\
name = "cli-check"
seed = 3

[world]
options = 3
signal_accuracy = { dist = "uniform", low = 0.6, high = 0.9 }

[population]
size = 8

[[population.groups]]
agent = "bayesian"
share = 0.5
tie_rule = "own_signal"
prior = [0.2, 0.3, 0.5]

[[population.groups]]
agent = "social"
share = 0.5
weight = { dist = "exponential", mean = 1.5 }
channels = { drop = 0.25, latency = { dist = "lognormal", mu = -1.0, sigma = 0.5 } }

[network]
topology = "watts_strogatz"
k = 4
p = 0.2

[channels]
latency = { dist = "exponential", mean = 0.3 }
capacity = 2
overflow = "queue"

[protocol]
kind = "rounds"
rounds = 3
round_duration = 0.5
"""

SCENARIO_ERRORS: dict[str, Case] = {
    "missing-population-size": Case(
        '[network]\ntopology = "cycle"\n',
        lines=(("population.size", "required"),),
    ),
    # Field-level problems are all reported at once, one line each, so they share a file
    # (each CLI call costs ~2 s of interpreter start-up).
    "validation-errors": Case(
        'colour = "red"\n'
        '[world]\noptions = "two"\nsignal_accuracy = 1.5\n'
        "[population]\nsize = 6\n"
        '[[population.groups]]\nagent = "bayesian"\nshare = 0.5\ntie_rul = "coin"\n'
        '[[population.groups]]\nagent = "oracle"\nshare = 0.5\n'
        "[channels]\ndrop = -0.1\n",
        lines=(
            (": colour: ", "unknown key"),
            (": world.options: ", "valid integer", "'two'"),
            (": world.signal_accuracy: ", "probability in [0, 1]", "1.5"),
            (": population.groups.0.tie_rul: ", "unknown key"),
            (": population.groups.1.agent: ", "'oracle'", "'bayesian'", "'voter'"),
            (": channels.drop: ", "greater than or equal to 0", "-0.1"),
        ),
    ),
    "lattice-odd-k": Case(
        SMALL + '[network]\ntopology = "lattice"\nk = 3\n',
        lines=(("network.k", "3", "even"),),
    ),
    "regular-odd-degree-sum": Case(
        '[population]\nsize = 5\n[network]\ntopology = "regular"\ndegree = 3\n',
        lines=(("network.degree", "population.size * degree must be even", "5 * 3"),),
    ),
    "barabasi-albert-m-too-large": Case(
        '[population]\nsize = 5\n[network]\ntopology = "barabasi_albert"\nm = 5\n',
        lines=(("network.m", "less than population.size = 5"),),
    ),
    "network-file-missing": Case(
        '[network]\ntopology = "file"\npath = "nowhere.edgelist"\n',
        lines=(("network.path", "nowhere.edgelist", "file not found"),),
    ),
    "invalid-toml": Case(
        "[population\nsize = 6\n",
        lines=(("not valid TOML", "line 1"),),
    ),
    "scenario-file-missing": Case(
        None,
        lines=(("scenario file not found",),),
    ),
    "set-without-equals": Case(
        SMALL,
        args=("--set", "world.options"),
        lines=(("--set", "world.options", "expected KEY.PATH=VALUE"),),
    ),
}

VALID_CALLS: dict[str, Case] = {
    # Explicit seed, an override and --out; no --events.
    "valid-out": Case(VALID, args=("--seed", "7", "--set", "world.signal_accuracy=0.8")),
    # Scenario seed and the default folder results/<name>/seed-<seed> under the cwd.
    "valid-events": Case(VALID, args=("--events",), out="results/cli-check/seed-3", pass_out=False),
}

BAD_FLAG = Case(SMALL, args=("--no-such-flag",))

ALL_CASES: dict[str, Case] = {**SCENARIO_ERRORS, **VALID_CALLS, "bad-flag": BAD_FLAG}


@dataclass(frozen=True)
class Call:
    """A finished CLI call and where it ran."""

    folder: Path
    scenario: Path
    out: Path
    returncode: int
    stdout: str
    stderr: str


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("FORCE_COLOR", None)
    # Plain text, and a narrow terminal so that a wrapped line would be caught.
    env.update(NO_COLOR="1", TERM="dumb", COLUMNS="60")
    return env


def _run(folder: Path, case: Case) -> Call:
    folder.mkdir(parents=True)
    scenario = folder / "scenario.toml"
    if case.toml is not None:
        scenario.write_text(case.toml, encoding="utf-8")
    out = folder / case.out
    args = [sys.executable, "-m", "sim", "run", str(scenario), *case.args]
    if case.pass_out:
        args += ["--out", str(out)]
    done = subprocess.run(
        args,
        cwd=folder,
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=120,
        check=False,
    )
    return Call(folder, scenario, out, done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def calls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[Call]]]:
    """Every CLI call of this module, started at once; tests wait for their own."""
    root = tmp_path_factory.mktemp("cli")
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {name: pool.submit(_run, root / name, case) for name, case in ALL_CASES.items()}
        yield futures
        for future in futures.values():
            future.cancel()


# ----------------------------------------------------------------------- user errors


@pytest.mark.parametrize("name", sorted(SCENARIO_ERRORS))
def test_scenario_error_is_reported_without_traceback(
    name: str, calls: dict[str, Future[Call]]
) -> None:
    case, call = SCENARIO_ERRORS[name], calls[name].result()

    assert call.returncode == 2, call.stderr
    assert "Traceback" not in call.stderr
    assert call.stdout == ""
    lines = call.stderr.splitlines()
    assert len(lines) == len(case.lines), call.stderr
    for line in lines:
        assert line.startswith("error: "), line
        if name != "set-without-equals":
            assert str(call.scenario) in line, f"the scenario file is not named: {line}"
    # One line per problem, in whatever order the validator reports them.
    for fragments in case.lines:
        matching = [line for line in lines if all(f in line for f in fragments)]
        assert len(matching) == 1, f"no single line has all of {fragments}:\n{call.stderr}"
    assert not call.out.exists(), "a failed run must not write outputs"


def test_unknown_command_line_flag_is_a_usage_error(calls: dict[str, Future[Call]]) -> None:
    call = calls["bad-flag"].result()
    assert call.returncode == 2
    assert "Traceback" not in call.stderr
    assert "No such option: --no-such-flag" in call.stderr
    assert not call.out.exists()


# ------------------------------------------------------------------------ valid runs


def test_valid_run_prints_summary_and_writes_outputs(calls: dict[str, Future[Call]]) -> None:
    call = calls["valid-out"].result()
    assert call.returncode == 0, call.stderr
    assert "Traceback" not in call.stderr
    assert "cli-check (seed 7)" in call.stdout
    for column in ("accuracy", "messages_sent", "messages_delivered", "stop_reason"):
        assert column in call.stdout
    assert sorted(p.name for p in call.out.iterdir()) == [
        "scenario.toml",
        "summary.parquet",
        "timeseries.parquet",
    ]

    summary = pl.read_parquet(call.out / "summary.parquet")
    assert summary.height == 1
    assert summary["seed"].item() == 7
    assert summary["n_agents"].item() == 8
    assert summary["stop_reason"].item() == "completed"
    assert str(summary["messages_sent"].item()) in call.stdout

    # The files hold what the Python API computes for the same scenario and seed.
    expected = sim.load(call.scenario, {"world.signal_accuracy": 0.8}).run(seed=7)
    assert summary.drop("wall_seconds").equals(expected.summary_frame().drop("wall_seconds"))
    assert pl.read_parquet(call.out / "timeseries.parquet").equals(expected.timeseries)


def test_events_flag_adds_events_parquet(calls: dict[str, Future[Call]]) -> None:
    call = calls["valid-events"].result()
    assert call.returncode == 0, call.stderr
    assert "cli-check (seed 3)" in call.stdout
    assert sorted(p.name for p in call.out.iterdir()) == [
        "events.parquet",
        "scenario.toml",
        "summary.parquet",
        "timeseries.parquet",
    ]
    events = pl.read_parquet(call.out / "events.parquet")
    summary = pl.read_parquet(call.out / "summary.parquet")
    assert events.height == summary["messages_sent"].item() > 0
    assert events.equals(sim.load(call.scenario).run(seed=3, events=True).events)


@pytest.mark.parametrize(
    ("name", "seed", "overrides"),
    [
        ("valid-out", 7, {"world.signal_accuracy": 0.8}),
        ("valid-events", 3, {}),
    ],
)
def test_written_scenario_loads_back_to_the_same_config(
    name: str, seed: int, overrides: dict[str, float], calls: dict[str, Future[Call]]
) -> None:
    call = calls[name].result()
    assert call.returncode == 0, call.stderr
    written = sim.load(call.out / "scenario.toml")
    original = sim.load(call.scenario, {**overrides, "seed": seed})
    assert written.config.seed == seed
    assert written.config == original.config
