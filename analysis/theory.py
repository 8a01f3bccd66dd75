"""Closed-form results from the theory the simulator borrows.

These are the numbers the stylized engine must reproduce (see ``shared/REFERENCES.md``
and the README's validation table). Each function is the formula, nothing more.

Main entry points: :func:`bhw_cascade_probabilities`, :func:`condorcet_majority`,
:func:`degroot_influence`, :func:`voter_absorption`, :func:`lone_bandit_survival`.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from math import comb

import networkx as nx
import numpy as np


def bhw_cascade_probabilities(p: float, n: int, tie_rule: str) -> dict[str, float]:
    """Probability of a correct, wrong or no cascade after ``n`` agents (BHW 1992).

    Binary state, equal prior, signals of accuracy ``p > 1/2``, every agent sees all
    earlier actions. Odd ``n`` gives the same as ``n - 1``.

    Args:
        p: Signal accuracy.
        n: Number of agents.
        tie_rule: ``"coin"`` (an indifferent agent randomizes) or ``"own_signal"``
            (it follows its signal).

    Returns:
        ``{"correct": ..., "wrong": ..., "none": ...}`` conditional on the truth.
    """
    half = n // 2
    if tie_rule == "coin":
        none = (p - p * p) ** half
        denominator = 2 * (1 - p + p * p)
        correct = p * (p + 1) * (1 - none) / denominator
        wrong = (p - 2) * (p - 1) * (1 - none) / denominator
    elif tie_rule == "own_signal":
        # The difference of revealed signals is a random walk absorbed at +-2.
        none = (2 * p * (1 - p)) ** half
        correct = p * p * (1 - none) / (p * p + (1 - p) ** 2)
        wrong = 1 - correct - none
    else:
        raise ValueError(f"unknown tie rule {tie_rule!r}")
    return {"correct": correct, "wrong": wrong, "none": none}


def condorcet_majority(p: float, n: int) -> float:
    """Probability that a strict majority of ``n`` independent voters, each right with
    probability ``p``, is right: ``sum_{k > n/2} C(n, k) p^k (1 - p)^(n - k)``."""
    return sum(comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n // 2 + 1, n + 1))


def degroot_matrix(graph: nx.DiGraph, self_weight: float) -> np.ndarray:
    """The row-stochastic DeGroot matrix ``T`` of agents averaging their in-neighbours.

    ``T[i, i] = self_weight`` and the rest of row ``i`` is spread over the agents ``i``
    observes (arcs ``j -> i``) in proportion to the arc weights (1 when absent). An agent
    who observes nobody keeps its belief.
    """
    n = graph.number_of_nodes()
    matrix = np.zeros((n, n))
    for i in range(n):
        sources = list(graph.predecessors(i))
        if not sources:
            matrix[i, i] = 1.0
            continue
        weights = np.array([graph.edges[j, i].get("weight", 1.0) for j in sources])
        matrix[i, i] = self_weight
        matrix[i, sources] += (1 - self_weight) * weights / weights.sum()
    return matrix


def degroot_influence(matrix: np.ndarray) -> np.ndarray:
    """Left unit eigenvector ``s`` of a row-stochastic matrix (``s T = s``, ``sum s = 1``).

    For a strongly connected, aperiodic ``T``, ``T^t x -> (s . x) 1`` (Golub & Jackson).
    """
    values, vectors = np.linalg.eig(matrix.T)
    s = np.real(vectors[:, np.argmin(np.abs(values - 1.0))])
    return s / s.sum()


def voter_absorption(initial: np.ndarray, degrees: np.ndarray) -> float:
    """Probability that the voter model ends on the option held by the agents in
    ``initial`` (a 0/1 array): their degree-weighted share (plain share if regular)."""
    return float(np.dot(initial, degrees) / degrees.sum())


def weighted_vote_accuracy(accuracies: Sequence[float], weights: Sequence[float]) -> float:
    """P(a weighted vote of independent binary voters picks the truth), ties counting half.

    Voter ``i`` is right with probability ``accuracies[i]`` and its vote weighs
    ``weights[i]``; the vote picks the side with more weight. Exact, by enumerating the
    ``2^n`` patterns of right and wrong voters (n up to about 20). Equal weights give the
    Condorcet majority; log-odds weights ``log(p / (1 - p))`` give the optimal rule of
    Nitzan & Paroush (1982).
    """
    p = np.asarray(accuracies, dtype=float)
    w = np.asarray(weights, dtype=float)
    n = len(p)
    total = 0.0
    for pattern in range(2**n):
        right = np.array([(pattern >> i) & 1 for i in range(n)], dtype=bool)
        probability = float(np.prod(np.where(right, p, 1.0 - p)))
        margin = w[right].sum() - w[~right].sum()
        total += probability * (1.0 if margin > 1e-12 else 0.5 if abs(margin) <= 1e-12 else 0.0)
    return total


def dirichlet_belief_in_truth(
    accuracy: float, concentration: float, signal_weight: float, options: int
) -> float:
    """Expected belief in the truth of a Dirichlet agent after its private signal:
    ``(concentration + signal_weight * accuracy) / (options * concentration +
    signal_weight)`` (the signal names the truth with probability ``accuracy``). Under
    debate with everyone hearing everyone this stays the average belief's expectation
    round after round (:mod:`sim.agents.dirichlet`)."""
    return (concentration + signal_weight * accuracy) / (options * concentration + signal_weight)


def item_surfacing(p: float, holders: int, turns: int = 1) -> float:
    """Probability that an item is mentioned at least once (Stasser & Titus 1987).

    Each of ``holders`` members mentions it with probability ``p`` in each of ``turns``
    turns, independently: ``1 - (1 - p)^(holders * turns)``.
    """
    return 1.0 - (1.0 - p) ** (holders * turns)


def planner_worker_outcome(
    depth: int,
    branching: int,
    error_rate: float,
    *,
    verify: str = "none",
    recall: float = 0.0,
    max_redos: int = 0,
    verification_cost: float = 0.0,
    error_propagation: float = 1.0,
) -> tuple[float, float]:
    """P(task success) and E[task cost] of the ``planner_worker`` protocol, exactly.

    A full ``branching``-ary task tree with leaves at ``depth``; every execution is wrong
    with probability ``e = error_rate`` given correct inputs, ``q + (1 - q) e`` given a
    wrong one (``q = error_propagation``). A verified stage redoes a result flagged with
    probability ``recall`` at most ``max_redos`` times, so it passes on a wrong result with
    probability ``f(x) = x (1 - r) Σ_{k<m} (x r)^k + (x r)^m x`` and executes
    ``g(x) = Σ_{k≤m} (x r)^k`` times on average, one check per execution (``f(x) = x``,
    ``g = 1`` unverified). Subtrees are disjoint, so a subtask's inputs are all right
    with probability ``A`` = the product of its parts' reliabilities, and the subtask is
    right with probability ``A (1 - f(e)) + (1 - A) (1 - f(q + (1 - q) e))``; with
    ``q = 1`` the task succeeds with the product over all subtasks of ``1 - f(e)``.

    Args:
        verify: ``"none"``, ``"every_stage"`` or ``"final"`` (the root only).
        recall, max_redos, verification_cost: The verifiers' recall, the redo limit and
            the work units per check.

    Returns:
        (probability that the root's result is right, expected work units).
    """
    e, q, r, m = error_rate, error_propagation, recall, max_redos

    def wrong_passed(x: float, verified: bool) -> float:
        if not verified:
            return x
        return x * (1 - r) * sum((x * r) ** k for k in range(m)) + (x * r) ** m * x

    def executions(x: float, verified: bool) -> float:
        return sum((x * r) ** k for k in range(m + 1)) if verified else 1.0

    reliability, cost = 1.0, 0.0  # of one subtree rooted at the current level
    for level in range(depth, -1, -1):
        verified = verify == "every_stage" or (verify == "final" and level == 0)
        inputs = reliability**branching if level < depth else 1.0
        below = branching * cost if level < depth else 0.0
        bad = q + (1 - q) * e
        right = inputs * (1 - wrong_passed(e, verified)) + (1 - inputs) * (
            1 - wrong_passed(bad, verified)
        )
        work = inputs * executions(e, verified) + (1 - inputs) * executions(bad, verified)
        cost = below + work * (1 + (verification_cost if verified else 0.0))
        reliability = right
    return reliability, cost


def lone_bandit_survival(
    rounds: int,
    pulls: int,
    prior_alpha: float,
    prior_beta: float,
    p_known: float,
    p_uncertain: float,
) -> float:
    """P(a lone myopic Beta–Bernoulli learner still plays the uncertain arm after ``rounds``).

    The two-armed bandit of Zollman's model with one agent and a known arm (Rosenstock,
    Bruner & O'Connor 2017): the agent plays the uncertain arm (rate ``p_uncertain``,
    prior credence ``Beta(prior_alpha, prior_beta)``) ``pulls`` times a round while its
    expected rate ``(alpha + s) / (alpha + beta + trials)`` is at least ``p_known`` (a tie
    keeps the arm it plays); once below, it plays the known arm, learns nothing more and
    never returns. Exact recursion over the number of successes, in rational arithmetic
    for the comparisons.

    Args:
        rounds: Rounds played (choices made after each).
        pulls: Trials per round.
        prior_alpha: Prior alpha of the uncertain arm.
        prior_beta: Prior beta of the uncertain arm.
        p_known: The known arm's rate.
        p_uncertain: The uncertain arm's true rate.
    """
    a, b, threshold = Fraction(prior_alpha), Fraction(prior_beta), Fraction(p_known)
    if a / (a + b) < threshold:
        return 0.0
    outcome = [comb(pulls, won) * p_uncertain**won * (1 - p_uncertain) ** (pulls - won)
               for won in range(pulls + 1)]  # fmt: skip
    alive = {0: 1.0}  # successes so far -> probability, over paths still on the arm
    for k in range(1, rounds + 1):
        step: dict[int, float] = {}
        for successes, probability in alive.items():
            for won, p in enumerate(outcome):
                total = successes + won
                if (a + total) / (a + b + k * pulls) >= threshold:
                    step[total] = step.get(total, 0.0) + probability * p
        alive = step
    return sum(alive.values())
