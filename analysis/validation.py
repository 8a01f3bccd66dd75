"""Reproduce the theory the engine is validated against, from the shipped scenarios.

Each case runs a scenario of ``scenarios/`` (with a few overrides) over many seeds and
sets the simulated frequency next to the closed form of :mod:`analysis.theory`:

* information cascades (Bikhchandani, Hirshleifer & Welch 1992), both tie rules;
* the Condorcet jury theorem;
* DeGroot consensus equal to the influence-weighted average of initial beliefs;
* voter-model absorption equal to the (degree-weighted) initial share;
* hidden profiles (Stasser & Titus 1985, 1987): items surface with probability
  ``1 - (1 - p)^n``, and groups miss the best option unless given every item.
* planner–worker task success (and cost) equal to the product of stage reliabilities.
* a lone bandit learner's chance of staying on the better arm (exact recursion);
* the Zollman effect: on a hard bandit problem the cycle reaches the better arm more
  often than the complete graph, which converges faster.

``sim validate`` prints the table; the test suite asserts every row; the README shows it.

Main entry points: :func:`validation_table`, :class:`ValidationRow`, :func:`cases`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np

import sim
from analysis.theory import (
    bhw_cascade_probabilities,
    condorcet_majority,
    degroot_influence,
    degroot_matrix,
    dirichlet_belief_in_truth,
    item_surfacing,
    lone_bandit_survival,
    planner_worker_outcome,
    voter_absorption,
    weighted_vote_accuracy,
)
from sim.agents.informed import InformedAgent
from sim.agents.worker import WorkerGroup
from sim.fast import FastRun
from sim.protocols import HiddenProfileProtocol, PlannerWorkerProtocol
from sim.tasks import HiddenProfileTask

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


@dataclass(frozen=True)
class ValidationRow:
    """One quantity: its theoretical value next to the simulated one.

    ``std_error`` is the Monte Carlo standard error of ``simulated`` (0 for a
    deterministic comparison) and ``z`` the deviation in standard errors (for a
    deterministic comparison, the absolute deviation).

    Most rows compare with a value (``relation = "="``). A qualitative result (one
    arrangement beats another) is a row with ``relation = ">"`` or ``"<"``: theory is the
    bound (usually 0 for a difference) and ``z`` how many standard errors ``simulated``
    lies on the right side of it (negative: on the wrong side).
    """

    result: str
    case: str
    quantity: str
    theory: float
    simulated: float
    std_error: float
    relation: Literal["=", ">", "<"] = "="

    @property
    def z(self) -> float:
        """Deviation from theory in standard errors (absolute deviation if exact); for an
        inequality, the margin by which it holds, in standard errors."""
        if self.relation == "=":
            deviation = abs(self.simulated - self.theory)
        else:
            sign = 1.0 if self.relation == ">" else -1.0
            deviation = sign * (self.simulated - self.theory)
        return deviation / self.std_error if self.std_error > 0 else deviation

    @property
    def holds(self) -> bool:
        """Whether the row agrees with theory: within 4 standard errors for a value
        (1e-6 for an exact comparison), at least 2 standard errors on the right side
        for an inequality."""
        if self.relation != "=":
            return self.z > 2.0
        return self.z < (4.0 if self.std_error > 0 else 1e-6)


def _frequency(hits: list[bool]) -> tuple[float, float]:
    """Frequency and its standard error, from the theoretical-free binomial estimate."""
    n = len(hits)
    f = sum(hits) / n
    # Floor the variance so a frequency of exactly 0 or 1 still has a finite z.
    return f, max(float(np.sqrt(f * (1 - f) / n)), 0.5 / n)


@dataclass(frozen=True)
class Case:
    """A validation case: a scenario, overrides, and how to compare runs with theory."""

    result: str
    case: str
    scenario: str
    overrides: dict[str, Any]
    compare: Callable[[sim.Scenario, int, int], list[ValidationRow]]
    engines: tuple[str, ...] = ("simpy", "fast")
    """Engines that can run the case (the fast engine runs the stylized foundation)."""

    def load(self, engine: str = "auto") -> sim.Scenario:
        """The case's scenario with its overrides, run by ``engine``."""
        return sim.load(SCENARIOS / self.scenario, {**self.overrides, "engine": engine})


def _final_beliefs(scenario: sim.Scenario, seed: int) -> tuple[np.ndarray, dict[str, Any]]:
    """Run one seed on the scenario's engine: final beliefs ``(n, K)`` and the summary."""
    if scenario.engine_for() == "fast":
        run = FastRun(scenario.config, seed, base_dir=scenario.base_dir)
        summary = run.run().summary
        return run.beliefs, summary
    society = scenario.build(seed)
    summary = society.run().summary
    return np.vstack([agent.belief for agent in society.members]), summary


def _bhw(result: str, case: str, p: float, n: int, tie: str) -> Case:
    def compare(scenario: sim.Scenario, runs: int, seed: int) -> list[ValidationRow]:
        outcomes = [scenario.run(seed=seed + i).summary["cascade"] for i in range(runs)]
        theory = bhw_cascade_probabilities(p, n, tie)
        rows = []
        for outcome in ("correct", "wrong", "none"):
            f, se = _frequency([o == outcome for o in outcomes])
            label = "P(no cascade)" if outcome == "none" else f"P({outcome} cascade)"
            rows.append(ValidationRow(result, case, label, theory[outcome], f, se))
        return rows

    overrides = {
        "world.signal_accuracy": p,
        "population.size": n,
        "population.groups.0.tie_rule": tie,
    }
    return Case(result, case, "cascade.toml", overrides, compare)


def _condorcet(p: float, n: int) -> Case:
    def compare(scenario: sim.Scenario, runs: int, seed: int) -> list[ValidationRow]:
        hits = [scenario.run(seed=seed + i).summary["majority_correct"] for i in range(runs)]
        f, se = _frequency(hits)
        return [
            ValidationRow(
                "Condorcet jury", f"n={n}, p={p}", "P(majority correct)",
                condorcet_majority(p, n), f, se,
            )
        ]  # fmt: skip

    overrides = {"world.signal_accuracy": p, "population.size": n}
    return Case("Condorcet jury", f"n={n}, p={p}", "condorcet.toml", overrides, compare)


def _degroot() -> Case:
    def compare(scenario: sim.Scenario, runs: int, seed: int) -> list[ValidationRow]:
        # The initial state from a SimPy build: both engines start from the same one.
        society = scenario.build(seed)
        initial = np.array([agent.belief[0] for agent in society.members])
        self_weight = society.members[0].self_weight
        s = degroot_influence(degroot_matrix(society.graph, self_weight))
        final = _final_beliefs(scenario, seed)[0][:, 0]
        return [
            ValidationRow(
                "DeGroot consensus", "Barabási–Albert n=50", "consensus belief (max over agents)",
                float(s @ initial), float(final[np.argmax(np.abs(final - s @ initial))]), 0.0,
            )
        ]  # fmt: skip

    return Case("DeGroot consensus", "Barabási–Albert n=50", "degroot.toml", {}, compare)


def _voter(topology: str, n: int) -> Case:
    """Voter model; on the star the hub alone starts with the truth."""
    star = topology == "star"

    def compare(scenario: sim.Scenario, runs: int, seed: int) -> list[ValidationRow]:
        hits, theory = [], []
        for i in range(runs):
            society = scenario.build(seed + i)
            society.advance(until=0.0)  # everyone's initial choice, nothing more
            initial = (society.choices() == society.world.truth).astype(float)
            degrees = np.array([d for _, d in society.graph.in_degree()], dtype=float)
            theory.append(voter_absorption(initial, degrees))
            summary = _final_beliefs(scenario, seed + i)[1]
            assert summary["consensus"], "voter run ended without consensus"
            hits.append(summary["accuracy"] == 1.0)
        f, se = _frequency(hits)
        return [
            ValidationRow(
                "Voter model", case, "P(absorbed in truth)", float(np.mean(theory)), f, se
            )
        ]

    overrides: dict[str, Any] = {"population.size": n, "network.topology": topology}
    if star:
        # The hub (block placement puts group 0 first) has a perfect signal; the leaves
        # have worthless signals and a prior for the wrong option, so they start wrong:
        # plain share of the truth 1/n, degree-weighted share 1/2.
        overrides |= {
            "world.truth": 0,
            "population.placement": "block",
            "population.groups": [
                {"agent": "voter", "share": 1 / n, "signal_accuracy": 1.0},
                {
                    "agent": "voter",
                    "share": 1 - 1 / n,
                    "signal_accuracy": 0.5,
                    "prior": [0.1, 0.9],
                },
            ],
        }
        case = f"star n={n}, hub alone right"
    else:
        case = f"{topology} n={n}, p=0.6"
    return Case("Voter model", case, "voter.toml", overrides, compare)


def _difference(
    result: str, case: str, quantity: str, first: list[bool], second: list[bool]
) -> ValidationRow:
    """The row "frequency in ``first`` minus frequency in ``second`` > 0"."""
    f1, se1 = _frequency(first)
    f2, se2 = _frequency(second)
    return ValidationRow(result, case, quantity, 0.0, f1 - f2, float(np.hypot(se1, se2)), ">")


REGIME_RUNS = 400
"""Runs per arrangement in the cases that compare several arrangements (fewer than the
table's runs, so that each such case stays quick; their rows are inequalities)."""


def _debate_martingale() -> Case:
    result, case = "Debate or vote", "Dirichlet agents, n=9, 2 rounds"

    def compare(scenario: sim.Scenario, runs: int, seed: int) -> list[ValidationRow]:
        runs = min(runs, 1000)
        q = 0.725  # mean of the uniform(0.55, 0.9) signal accuracy
        theory = dirichlet_belief_in_truth(q, 1.0, 2.0, 2)
        opening, final = [], []
        for i in range(runs):
            society = scenario.build(seed + i)
            truth = society.world.truth
            opening.append(np.mean([a.belief[truth] for a in society.members]))
            society.run()
            final.append(np.mean([a.belief[truth] for a in society.members]))
        rows = []
        for label, values in (("opening", opening), ("after 2 rounds", final)):
            rows.append(
                ValidationRow(
                    result,
                    case,
                    f"E[mean belief in truth], {label}",
                    theory,
                    float(np.mean(values)),
                    float(np.std(values) / np.sqrt(runs)),
                )
            )
        return rows

    overrides = {
        "population.groups": [{"agent": "dirichlet", "concentration": 1.0, "signal_weight": 2.0}],
        "protocol.speaking": "simultaneous",
        "institution.independence_first": True,
    }
    return Case(result, case, "debate_herding.toml", overrides, compare, ("simpy",))


def _variants(
    scenario: sim.Scenario, runs: int, seed: int, variants: dict[str, dict[str, Any]], column: str
) -> dict[str, list[bool]]:
    """``column`` of ``runs`` runs of the scenario under each set of overrides."""
    return {
        name: [
            bool(scenario.with_overrides(overrides).run(seed=seed + i).summary[column])
            for i in range(runs)
        ]
        for name, overrides in variants.items()
    }


def _debate_herding() -> Case:
    result, case = "Debate herding", "social agents, n=9, in turn"

    def compare(scenario: sim.Scenario, runs: int, seed: int) -> list[ValidationRow]:
        runs = min(runs, REGIME_RUNS)
        lock = _variants(
            scenario,
            runs,
            seed,
            {w: {"population.groups.0.weight": float(w)} for w in ("3", "0.5")},
            "first_mover_lock_in",
        )
        order = _variants(
            scenario,
            runs,
            seed,
            {o: {"institution.speaking_order": o} for o in ("confidence", "random")},
            "group_correct",
        )
        return [
            _difference(result, case, "P(lock-in), weight 3 − weight 0.5", lock["3"], lock["0.5"]),
            _difference(
                result,
                case,
                "P(group right), most confident first − random order",
                order["confidence"],
                order["random"],
            ),
        ]

    return Case(result, case, "debate_herding.toml", {}, compare, ("simpy",))


def _institutions() -> Case:
    result, case = "Institutions", "herding-prone debate, n=9"

    def compare(scenario: sim.Scenario, runs: int, seed: int) -> list[ValidationRow]:
        runs = min(runs, REGIME_RUNS)
        right = _variants(
            scenario,
            runs,
            seed,
            {
                "default": {},
                "independence first": {"institution.independence_first": True},
                "Delphi": {"institution.delphi": True},
            },
            "group_correct",
        )
        return [
            _difference(
                result, case, f"P(group right), {name} − default", right[name], right["default"]
            )
            for name in ("independence first", "Delphi")
        ]

    return Case(result, case, "institutions.toml", {}, compare, ("simpy",))


def _memory() -> Case:
    result, case = "Institutional memory", "3 experts (0.85), 6 novices (0.55)"

    def compare(scenario: sim.Scenario, runs: int, seed: int) -> list[ValidationRow]:
        runs = min(runs, REGIME_RUNS)
        accuracies = [0.85] * 3 + [0.55] * 6
        with tempfile.TemporaryDirectory() as folder:
            notebook = str(Path(folder) / "notebook.json")
            blank = scenario.with_overrides(
                {"institution.memory.path": notebook, "institution.memory.read": False}
            )
            forgetful = [
                bool(blank.run(seed=seed + i).summary["group_correct"]) for i in range(runs)
            ]
            keeping = scenario.with_overrides({"institution.memory.path": notebook})
            episodes = keeping.episodes(runs + 100, seed)["group_correct"].to_list()[100:]
        f, se = _frequency(forgetful)
        return [
            ValidationRow(
                result,
                case,
                "P(group right) without memory (majority)",
                weighted_vote_accuracy(accuracies, [1.0] * 9),
                f,
                se,
            ),
            _difference(
                result,
                case,
                "P(group right), with memory (after 100 episodes) − without",
                [bool(e) for e in episodes],
                forgetful,
            ),
        ]

    return Case(result, case, "institutional_memory.toml", {}, compare, ("simpy",))


def _summaries(scenario: sim.Scenario, runs: int, seed: int) -> list[dict[str, Any]]:
    """Summary rows of ``runs`` runs on the scenario's engine (on SimPy, without
    building time series)."""
    if scenario.engine_for() == "fast":
        return [scenario.run(seed=seed + i).summary for i in range(runs)]
    rows = []
    for i in range(runs):
        society = scenario.build(seed + i)
        society.advance()
        rows.append(society.summary())
    return rows


def _hidden_profile_mentions() -> Case:
    """One discussion turn: the share of items held by n members that are mentioned."""
    result, case = "Hidden profile", "one turn, p=0.3, 4 members"

    def compare(scenario: sim.Scenario, runs: int, seed: int) -> list[ValidationRow]:
        protocol = scenario.config.protocol
        assert isinstance(protocol, HiddenProfileProtocol) and protocol.turns == 1
        n = scenario.config.population.size
        assert n is not None
        hits: dict[int, list[bool]] = {1: [], n: []}
        for i in range(runs):
            society = scenario.build(seed + i)
            society.advance()
            members = cast(list[InformedAgent], society.members)
            # On a complete graph without loss an item was mentioned iff someone heard it.
            heard = set().union(*(agent.mentions_heard for agent in members))
            for item in {j for agent in members for j in agent.held}:
                holders = sum(item in agent.held for agent in members)
                hits[holders].append(item in heard)
        rows = []
        for holders, outcomes in hits.items():
            f, se = _frequency(outcomes)
            theory = item_surfacing(protocol.mention_probability, holders)
            quantity = f"P(item held by {holders} mentioned)"
            rows.append(ValidationRow(result, case, quantity, theory, f, se))
        return rows

    overrides = {"protocol.turns": 1, "protocol.mention_probability": 0.3}
    return Case(result, case, "hidden_profile.toml", overrides, compare, engines=("simpy",))


def _hidden_profile_accuracy() -> Case:
    """The shipped scenario against its full-information control."""
    result, case = "Hidden profile", "4 members, 2 turns, p=0.2"

    def compare(scenario: sim.Scenario, runs: int, seed: int) -> list[ValidationRow]:
        protocol = scenario.config.protocol
        assert isinstance(protocol, HiddenProfileProtocol)
        hidden = _summaries(scenario, runs, seed)
        full = _summaries(scenario.with_overrides({"protocol.full_information": True}), runs, seed)
        # Every unshared item has one holder: it surfaces with 1 - (1 - p)^turns, items
        # independently, so the pooled share is a binomial frequency over all items.
        task = scenario.config.task
        assert task is None or isinstance(task, HiddenProfileTask)
        trials = runs * (task or HiddenProfileTask()).unshared_items
        surfaced = float(np.mean([row["items_surfaced"] for row in hidden]))
        se_surfaced = float(np.sqrt(surfaced * (1 - surfaced) / trials))
        f_hidden, se_hidden = _frequency([row["group_correct"] for row in hidden])
        f_full, se_full = _frequency([row["group_correct"] for row in full])
        return [
            ValidationRow(
                result, case, "share of unshared items surfaced",
                item_surfacing(protocol.mention_probability, 1, protocol.turns),
                surfaced, se_surfaced,
            ),
            ValidationRow(
                result, case, "P(group correct): full information − hidden profile",
                0.0, f_full - f_hidden, float(np.hypot(se_full, se_hidden)), ">",
            ),
        ]  # fmt: skip

    return Case(result, case, "hidden_profile.toml", {}, compare)


def _planner_worker(depth: int, verify: str) -> Case:
    """Planner–worker hierarchy of ``depth`` levels: P(task success), and with verifiers
    E[task cost], against the exact closed form."""
    checks = "no checks" if verify == "none" else "verified every stage"
    case = f"binary tree, depth {depth}, {checks}"

    def compare(scenario: sim.Scenario, runs: int, seed: int) -> list[ValidationRow]:
        protocol, groups = scenario.config.protocol, scenario.config.population.groups
        assert isinstance(protocol, PlannerWorkerProtocol)
        workers, verifiers = (g for g in groups if isinstance(g, WorkerGroup))
        assert isinstance(workers.error_rate, float) and isinstance(verifiers.recall, float)
        success, cost = planner_worker_outcome(
            protocol.depth, protocol.branching, workers.error_rate, verify=protocol.verify,
            recall=verifiers.recall, max_redos=protocol.max_redos,
            verification_cost=protocol.verification_cost,
        )  # fmt: skip
        outcomes = _summaries(scenario, runs, seed)
        f, se = _frequency([o["task_success"] for o in outcomes])
        rows = [ValidationRow("Planner–worker", case, "P(task success)", success, f, se)]
        if verify != "none":  # unverified, the cost is the number of subtasks exactly
            spent = np.array([o["task_cost"] for o in outcomes])
            rows.append(
                ValidationRow(
                    "Planner–worker", case, "E[task cost]", cost, float(spent.mean()),
                    float(spent.std(ddof=1) / np.sqrt(runs)),
                )
            )  # fmt: skip
        return rows

    overrides = {"protocol.depth": depth, "protocol.verify": verify}
    return Case("Planner–worker", case, "planner_worker.toml", overrides, compare)


def planner_worker_cases() -> list[Case]:
    """Task success against depth 1–3, without and with verification."""
    return [
        _planner_worker(depth, verify) for verify in ("none", "every_stage") for depth in (1, 2, 3)
    ]


def _zollman() -> Case:
    """Zollman (2007, 2010): cycle against complete graph on a hard two-armed bandit.

    Half of the runs go to each network (same seeds), so the case costs what one
    network's ``runs`` would.
    """
    result, case = "Zollman effect", "n=6, ε=0.1, 5 pulls, known worse arm"

    def compare(scenario: sim.Scenario, runs: int, seed: int) -> list[ValidationRow]:
        outcomes = {}
        for topology in ("cycle", "complete"):
            network = scenario.with_overrides({"network.topology": topology})
            summaries = _summaries(network, max(runs // 2, 2), seed)
            assert all(s["consensus"] for s in summaries), "a bandit run did not settle"
            better = np.array([s["accuracy"] == 1.0 for s in summaries], dtype=float)
            rounds = np.array([s["consensus_time"] for s in summaries], dtype=float)
            outcomes[topology] = (better, rounds)

        def difference(column: int) -> tuple[float, float]:
            cycle, complete = outcomes["cycle"][column], outcomes["complete"][column]
            se = np.sqrt(cycle.var(ddof=1) / len(cycle) + complete.var(ddof=1) / len(complete))
            return float(cycle.mean() - complete.mean()), float(se)

        reliability, reliability_se = difference(0)
        slowness, slowness_se = difference(1)
        return [
            ValidationRow(
                result, case, "P(better arm): cycle − complete", 0.0, reliability,
                reliability_se, ">",
            ),
            ValidationRow(
                result, case, "mean rounds to consensus: cycle − complete", 0.0, slowness,
                slowness_se, ">",
            ),
        ]  # fmt: skip

    return Case(result, case, "zollman.toml", {}, compare)


def _lone_bandit() -> Case:
    """One ``beta`` agent against a known arm: P(still on the better arm), exactly."""
    rounds, prior, p_known, epsilon = 10, 8.0, 0.47, 0.13
    result, case = "Bandit learner", "alone, Beta(8, 8) prior, 0.47 known vs 0.6, 10 rounds"

    def compare(scenario: sim.Scenario, runs: int, seed: int) -> list[ValidationRow]:
        hits = [row["accuracy"] == 1.0 for row in _summaries(scenario, runs, seed)]
        f, se = _frequency(hits)
        theory = lone_bandit_survival(rounds, 1, prior, prior, p_known, p_known + epsilon)
        return [ValidationRow(result, case, "P(still on the better arm)", theory, f, se)]

    overrides = {
        "population.size": 1,
        "population.groups.0.prior_alpha": prior,
        "population.groups.0.prior_beta": prior,
        "network.topology": "empty",
        "protocol.rounds": rounds,
        "protocol.pulls": 1,
        "protocol.p_worse": p_known,
        "protocol.epsilon": epsilon,
        "protocol.settle_sd": 1e9,  # never settled on the uncertain arm: play every round
    }
    return Case(result, case, "zollman.toml", overrides, compare)


def cases() -> list[Case]:
    """Every validation case, in the order of the README's table."""
    return [
        _bhw("BHW cascade", "coin, p=0.6, n=6", 0.6, 6, "coin"),
        _bhw("BHW cascade", "coin, p=0.7, n=10", 0.7, 10, "coin"),
        _bhw("BHW cascade", "own signal, p=0.6, n=6", 0.6, 6, "own_signal"),
        _bhw("BHW cascade", "own signal, p=0.7, n=10", 0.7, 10, "own_signal"),
        _condorcet(0.6, 11),
        _condorcet(0.55, 25),
        _degroot(),
        _voter("complete", 20),
        _voter("star", 10),
        _debate_martingale(),
        _debate_herding(),
        _institutions(),
        _memory(),
        _hidden_profile_mentions(),
        _hidden_profile_accuracy(),
        *planner_worker_cases(),
        _lone_bandit(),
        _zollman(),
    ]


def to_markdown(rows: list[ValidationRow]) -> str:
    """The rows as a Markdown table (the README's validation table)."""
    lines = [
        "| result | case | quantity | theory | simulated | std. error | \\|z\\| |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        exact = row.std_error == 0
        se = "exact" if exact else f"{row.std_error:.4f}"
        z = f"{row.z:.1e}" if exact else f"{row.z:.2f}"
        theory = f"{row.theory:.4f}" if row.relation == "=" else f"{row.relation} {row.theory:.4f}"
        lines.append(
            f"| {row.result} | {row.case} | {row.quantity} | {theory} | "
            f"{row.simulated:.4f} | {se} | {z} |"
        )
    return "\n".join(lines)


def run_cases(
    selected: list[Case], runs: int, seed: int, engine: str = "auto"
) -> Iterator[ValidationRow]:
    """Run cases on ``engine`` (``"auto"``, ``"simpy"`` or ``"fast"``) and yield their rows."""
    for case in selected:
        chosen = engine if engine == "auto" or engine in case.engines else case.engines[0]
        yield from case.compare(case.load(chosen), runs, seed)


def validation_table(
    runs: int = 2000, seed: int = 0, progress: Any = None, engine: str = "auto"
) -> list[ValidationRow]:
    """Run every case and return the table rows.

    Args:
        runs: Runs per stochastic case.
        seed: Seed of the first run of each case (runs use ``seed, seed + 1, ...``).
        progress: A ``rich`` console to show progress on, or ``None``.
        engine: Which engine runs the cases (``"auto"``: the fast one, which runs them all).
    """
    rows: list[ValidationRow] = []
    selected = cases()
    if progress is None:
        return list(run_cases(selected, runs, seed, engine))
    from rich.progress import Progress

    with Progress(console=progress, transient=True) as bar:
        task = bar.add_task("validating", total=len(selected))
        for case in selected:
            bar.update(task, description=f"{case.result}: {case.case}")
            rows.extend(run_cases([case], runs, seed, engine))
            bar.advance(task)
    return rows
