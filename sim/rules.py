"""The agents' rules and the metrics of a run, written once as compiled kernels.

Both engines call these functions: the SimPy engine from each agent's ``decide`` (see
:mod:`sim.agents`), the fast engine (:mod:`sim.fast`) from inside its compiled event loop.
So an agent rule, a tie-breaking convention or a metric cannot drift apart between the
engines: there is only one definition of each, and both engines feed it the same
numbers in the same order.

Kernels take plain arrays and scalars; "no option" is ``-1``, never ``None``. Random
choices draw from the ``numpy.random.Generator`` passed in (numba reproduces numpy's
generators bit for bit, so a draw made here equals the same draw made in Python).

Main entry points: :func:`choose`, :func:`signal_log_likelihood`, :func:`log_normalize`,
:func:`probabilities`, :func:`social_score`, :func:`degroot_average`,
:func:`threshold_candidates`, :func:`action_probabilities`, :func:`update_public_belief`,
:func:`cascade_action`, :func:`confidence_gap_choice`, :func:`critic_target`,
:func:`minority_options`, :func:`sample_option`, :func:`leading_arm`,
:func:`firmly_ahead`, :func:`execution_correct`, :func:`flagged`, :func:`output_option`,
:func:`entropy_bits`.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
from numba import njit

TIE_TOLERANCE = 1e-9
"""Scores closer than this are tied: an exact Bayesian tie (a signal that exactly offsets
the public evidence) must not be broken by rounding noise."""

_EPS = 1e-12  # signal accuracies are clipped to [_EPS, 1 - _EPS]

TIE_RULES: dict[str, int] = {"coin": 0, "own_signal": 1}
"""Code of each Bayesian tie rule, as the kernels take it."""


# ----------------------------------------------------------------------------- beliefs


@njit(cache=True)
def signal_log_likelihood_into(out: np.ndarray, signal: int, accuracy: float) -> None:
    """Write ``log P(signal | state)`` for every state into ``out``: ``log(p)`` for the
    signalled state and ``log((1 - p) / (K - 1))`` for each other one (``p`` clipped away
    from 0 and 1)."""
    acc = min(max(accuracy, _EPS), 1.0 - _EPS)
    other = math.log((1.0 - acc) / (len(out) - 1))
    for k in range(len(out)):
        out[k] = other
    out[signal] = math.log(acc)


@njit(cache=True)
def signal_log_likelihood(signal: int, accuracy: float, options: int) -> np.ndarray:
    """``log P(signal | state)`` for every state (see :func:`signal_log_likelihood_into`)."""
    out = np.empty(options)
    signal_log_likelihood_into(out, signal, accuracy)
    return out


@njit(cache=True, inline="always")
def _top(values: np.ndarray) -> float:
    """The largest value (NaN if any is NaN), as ``values.max()`` but inlined."""
    top = values[0]
    for value in values:
        if value > top or np.isnan(value):
            top = value
    return top


@njit(cache=True, inline="always")
def log_normalize_in_place(log_weights: np.ndarray) -> None:
    """Shift log-weights, in place, so that they are log-probabilities (log-sum-exp = 0)."""
    top = _top(log_weights)
    total = 0.0
    for value in log_weights:
        total += math.exp(value - top)
    shift = top + math.log(total)
    for k in range(len(log_weights)):
        log_weights[k] = log_weights[k] - shift


@njit(cache=True)
def log_normalize(log_weights: np.ndarray) -> np.ndarray:
    """Shift log-weights so that they are log-probabilities (log-sum-exp = 0)."""
    out = log_weights.astype(np.float64)
    log_normalize_in_place(out)
    return out


@njit(cache=True, inline="always")
def normalize_into(probabilities: np.ndarray, log_weights: np.ndarray) -> None:
    """Shift log-weights, in place, to log-probabilities (as :func:`log_normalize_in_place`,
    to the bit) and write the probability vector into ``probabilities``.

    The probabilities come from the exponentials the normalisation already takes,
    ``exp(w - max) / sum``: one ``exp`` per option rather than two, and no rounding of
    the logarithm carried into them.
    """
    top = _top(log_weights)
    total = 0.0
    for k in range(len(log_weights)):
        weight = math.exp(log_weights[k] - top)
        probabilities[k] = weight
        total += weight
    shift = top + math.log(total)
    for k in range(len(log_weights)):
        log_weights[k] = log_weights[k] - shift
        probabilities[k] = probabilities[k] / total


@njit(cache=True)
def probabilities(log_weights: np.ndarray) -> np.ndarray:
    """The probability vector of some log-weights (see :func:`normalize_into`)."""
    out = np.empty(len(log_weights))
    normalize_into(out, log_weights.astype(np.float64))
    return out


@cast(Any, njit)(cache=True, _nrt=True)
def draw_index(rng: np.random.Generator, n: int) -> int:
    """``rng.integers(0, n)``, the same draw, in a function of its own: numba's
    ``integers`` allocates, and the fast engine's loop, which inlines :func:`choose`,
    is compiled without reference counting (see :mod:`sim.fast.intrinsics`)."""
    return int(rng.integers(0, n))


@njit(cache=True, inline="always")
def choose(scores: np.ndarray, first: int, second: int, rng: np.random.Generator) -> int:
    """The option of highest score; ties go to ``first``, then ``second``, else uniform.

    Args:
        scores: One score per option.
        first: Preferred option if tied (``-1``: none), usually the current choice.
        second: Next preferred option if tied (``-1``: none), usually the own signal.
        rng: Drawn from (one integer) only when the tie is among other options.
    """
    threshold = _top(scores) - TIE_TOLERANCE
    tied = 0
    best = -1
    for k in range(len(scores)):
        if scores[k] >= threshold:
            tied += 1
            best = k
    if tied == 1:
        return best
    if first >= 0 and scores[first] >= threshold:
        return first
    if second >= 0 and scores[second] >= threshold:
        return second
    pick = draw_index(rng, tied)
    for k in range(len(scores)):
        if scores[k] >= threshold:
            if pick == 0:
                return k
            pick -= 1
    return best  # unreachable


# ------------------------------------------------------------------------------ rules


@njit(cache=True, inline="always")
def social_score(log_prior: float, own_evidence: float, count: float, weight: float) -> float:
    """Unnormalised log belief of a ``social`` agent in one option: prior, own signal,
    and ``weight`` of log-evidence for each neighbour currently announcing the option."""
    return log_prior + own_evidence + weight * count


@njit(cache=True)
def social_log_posterior(
    log_prior: np.ndarray, own_evidence: np.ndarray, counts: np.ndarray, weight: float
) -> np.ndarray:
    """:func:`social_score` of every option."""
    out = np.empty(len(log_prior))
    for k in range(len(out)):
        out[k] = social_score(log_prior[k], own_evidence[k], counts[k], weight)
    return out


@njit(cache=True)
def degroot_average(
    own: np.ndarray, neighbours: np.ndarray, trust: np.ndarray, self_weight: float
) -> np.ndarray:
    """One DeGroot update: ``self_weight * own + (1 - self_weight) * trust-weighted mean``.

    Args:
        own: The agent's belief, shape ``(K,)``.
        neighbours: Neighbours' beliefs, shape ``(m, K)``, in increasing sender order.
        trust: Non-negative trust in each neighbour, shape ``(m,)``.
        self_weight: Weight kept on ``own``.

    Returns:
        The new belief (``own`` itself when there is nobody to average with).
    """
    total = 0.0
    for j in range(len(trust)):
        total += trust[j]
    if len(trust) == 0 or total == 0.0:
        return own
    mixed = np.zeros(len(own))
    for j in range(len(trust)):
        for k in range(len(own)):
            mixed[k] += trust[j] * neighbours[j, k]
    return self_weight * own + (1.0 - self_weight) * mixed / total


@njit(cache=True)
def l1_distance(x: np.ndarray, y: np.ndarray) -> float:
    """``sum |x - y|``: how far a DeGroot belief moved since it was last announced."""
    out = 0.0
    for k in range(len(x)):
        out += abs(x[k] - y[k])
    return out


@njit(cache=True)
def threshold_candidates(counts: np.ndarray, threshold: float) -> np.ndarray:
    """Options announced by at least ``threshold`` of those heard, most announced first.

    Returns the options that pass and have the highest count (empty if nothing was heard
    or none passes).
    """
    total = 0
    for c in counts:
        total += c
    if total == 0:
        return np.empty(0, dtype=np.int64)
    best = -1
    for c in counts:
        if c >= threshold * total and c > best:
            best = c
    if best < 0:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(counts == best)


@njit(cache=True, inline="always")
def signal_terms(accuracy: float, options: int) -> tuple[float, float, float]:
    """What a Bayesian agent's signal of the given accuracy weighs, as the public-belief
    kernels take it: the probability of each wrong signal, and the logarithms of the
    right and of a wrong signal's probability (clipped away from 0). Computed once, it
    spares those kernels two logarithms per call."""
    wrong = (1.0 - accuracy) / (options - 1)
    return wrong, math.log(max(accuracy, _EPS)), math.log(max(wrong, _EPS))


@njit(cache=True, inline="always")
def action_probabilities_into(
    out: np.ndarray, posterior: np.ndarray, log_public: np.ndarray, accuracy: float, tie_rule: int
) -> None:
    """Write ``P[state, action]`` of a Bayesian agent acting on public belief
    ``log_public`` into ``out`` (``(K, K)``), using ``posterior`` (``K``) as scratch.

    The agent draws a signal of the given accuracy, forms its posterior and acts by the
    tie rule (:data:`TIE_RULES`); the result marginalises over its signal.
    """
    wrong, log_right, log_wrong = signal_terms(accuracy, len(log_public))
    action_probabilities_terms_into(
        out, posterior, log_public, accuracy, wrong, log_right, log_wrong, tie_rule
    )


@njit(cache=True, inline="always")
def action_probabilities_terms_into(
    out: np.ndarray,
    posterior: np.ndarray,
    log_public: np.ndarray,
    accuracy: float,
    wrong: float,
    log_right: float,
    log_wrong: float,
    tie_rule: int,
) -> None:
    """:func:`action_probabilities_into` given the signal's terms (:func:`signal_terms`)."""
    k = len(log_public)
    for state in range(k):
        for a in range(k):
            out[state, a] = 0.0
    for signal in range(k):
        for state in range(k):
            posterior[state] = log_public[state] + (log_right if state == signal else log_wrong)
        threshold = _top(posterior) - TIE_TOLERANCE
        tied = 0
        for a in range(k):
            if posterior[a] >= threshold:
                tied += 1
        follows = tie_rule == 1 and posterior[signal] >= threshold
        for state in range(k):
            p_signal = accuracy if state == signal else wrong
            if follows:
                out[state, signal] += p_signal
            else:
                for a in range(k):
                    if posterior[a] >= threshold:
                        out[state, a] += p_signal / tied


@njit(cache=True)
def action_probabilities(log_public: np.ndarray, accuracy: float, tie_rule: int) -> np.ndarray:
    """``P[state, action]`` of a Bayesian agent acting on public belief ``log_public``
    (see :func:`action_probabilities_into`)."""
    k = len(log_public)
    out = np.empty((k, k))
    action_probabilities_into(out, np.empty(k), log_public, accuracy, tie_rule)
    return out


@njit(cache=True, inline="always")
def update_public_belief_counts_into(
    out: np.ndarray,
    log_public: np.ndarray,
    counts: np.ndarray,
    accuracy: float,
    tie_rule: int,
    likelihood: np.ndarray,
    posterior: np.ndarray,
) -> None:
    """Write into ``out`` (not ``log_public`` itself) the public belief after
    ``counts[k]`` announcements of each option ``k``, all made at one moment on
    ``log_public``; ``likelihood`` (``(K, K)``) and ``posterior`` (``K``) are scratch.

    Announcements made at the same moment were made on the same public belief, so each
    multiplies in its likelihood under that belief. An action no Bayesian agent would take
    carries no information and is skipped. The log-likelihoods are added one announcement
    at a time in option order, so the rounding is the same however the announcements
    arrived.
    """
    wrong, log_right, log_wrong = signal_terms(accuracy, len(log_public))
    update_public_belief_counts_terms_into(
        out,
        log_public,
        counts,
        accuracy,
        wrong,
        log_right,
        log_wrong,
        tie_rule,
        likelihood,
        posterior,
    )


@njit(cache=True, inline="always")
def update_public_belief_counts_terms_into(
    out: np.ndarray,
    log_public: np.ndarray,
    counts: np.ndarray,
    accuracy: float,
    wrong: float,
    log_right: float,
    log_wrong: float,
    tie_rule: int,
    likelihood: np.ndarray,
    posterior: np.ndarray,
) -> None:
    """:func:`update_public_belief_counts_into` given the signal's terms
    (:func:`signal_terms`). An action's likelihood is most often exactly the right or a
    wrong signal's probability, whose logarithm the terms already hold (the same value to
    the bit: ``log`` of the same number)."""
    action_probabilities_terms_into(
        likelihood, posterior, log_public, accuracy, wrong, log_right, log_wrong, tie_rule
    )
    k = len(log_public)
    for state in range(k):
        out[state] = 0.0
    for option in range(len(counts)):
        times = int(counts[option])
        if times == 0:
            continue
        informative = True
        for state in range(k):
            if likelihood[state, option] <= 0.0:
                informative = False
        if informative:
            for state in range(k):
                value = likelihood[state, option]
                if value == accuracy and accuracy >= _EPS:
                    posterior[state] = log_right
                elif value == wrong and wrong >= _EPS:
                    posterior[state] = log_wrong
                else:
                    posterior[state] = math.log(value)
            for _ in range(times):
                for state in range(k):
                    out[state] += posterior[state]
    for state in range(k):
        out[state] = log_public[state] + out[state]
    log_normalize_in_place(out)


@njit(cache=True)
def update_public_belief_counts(
    log_public: np.ndarray, counts: np.ndarray, accuracy: float, tie_rule: int
) -> np.ndarray:
    """Public belief after ``counts[k]`` announcements of each option ``k``, all made at
    one moment on ``log_public`` (see :func:`update_public_belief_counts_into`)."""
    k = len(log_public)
    out = np.empty(k)
    update_public_belief_counts_into(
        out, log_public, counts, accuracy, tie_rule, np.empty((k, k)), np.empty(k)
    )
    return out


@njit(cache=True)
def update_public_belief(
    log_public: np.ndarray, options: np.ndarray, accuracy: float, tie_rule: int
) -> np.ndarray:
    """Public belief after announcements of ``options`` made at one moment on
    ``log_public`` (see :func:`update_public_belief_counts`)."""
    counts = np.zeros(len(log_public), dtype=np.int64)
    for option in options:
        counts[option] += 1
    return update_public_belief_counts(log_public, counts, accuracy, tie_rule)


@njit(cache=True)
def cascade_action(log_public: np.ndarray, accuracy: float, tie_rule: int) -> int:
    """The action every next agent takes whatever its signal, or ``-1`` if none.

    Under the ``coin`` rule an agent that would randomise for some signal is not in a
    cascade.
    """
    probs = action_probabilities(log_public, accuracy, tie_rule)
    found = -1
    for a in range(len(log_public)):
        certain = True
        for state in range(len(log_public)):
            if probs[state, a] < 1.0 - 1e-12:
                certain = False
        if certain:
            if found >= 0:
                return -1
            found = a
    return found


# ---------------------------------------------------------------------- confidence gap


@njit(cache=True)
def rival(held: int, counts: np.ndarray, stated: np.ndarray) -> int:
    """The rival option of the confidence-gap rule (``-1``: none): of the options other
    than ``held`` that some neighbour's latest announcement names, the most announced;
    ties go to the higher mean stated confidence, then to the lower index.

    Args:
        held: The agent's current option.
        counts: Neighbours' latest announcements naming each option.
        stated: Mean confidence stated for each option (``1/K`` where none was stated).
    """
    best, best_count, best_stated = -1, 0.0, -math.inf
    for option in range(len(counts)):
        count = float(counts[option])
        if option == held or count == 0.0:
            continue
        if count > best_count or (count == best_count and stated[option] > best_stated):
            best, best_count, best_stated = option, count, float(stated[option])
    return best


@njit(cache=True)
def switch_probability(gap: float, slope: float, offset: float) -> float:
    """``sigmoid(slope * (gap - offset))``, computed without overflow."""
    z = slope * (gap - offset)
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@njit(cache=True)
def confidence_gap_choice(
    held: int,
    counts: np.ndarray,
    stated: np.ndarray,
    own: float,
    slope: float,
    offset: float,
    rng: np.random.Generator,
) -> tuple[int, float]:
    """The confidence-gap rule: switch from ``held`` to the :func:`rival` with
    probability :func:`switch_probability` of the gap between the rival's stated
    confidence and one's ``own`` (one draw from ``rng``, only if there is a rival).

    Returns:
        The choice and the confidence the agent then states (the rival's if it switched).
    """
    other = rival(held, counts, stated)
    if other >= 0:
        p = switch_probability(stated[other] - own, slope, offset)
        if rng.random() < p:
            return other, float(stated[other])
    return held, own


@njit(cache=True)
def stated_belief_into(out: np.ndarray, choice: int, stated: float) -> None:
    """The belief of an agent stating confidence ``stated`` in ``choice``: that much on
    it, the rest spread evenly over the other options."""
    rest = (1.0 - stated) / (len(out) - 1)
    for k in range(len(out)):
        out[k] = rest
    out[choice] = stated


# ------------------------------------------------------------------------ debate roles


@njit(cache=True)
def critic_target(counts: np.ndarray, held: int) -> int:
    """The answer a critic argues: against the most announced option (its own answer
    ``held`` when nothing was heard), the most announced other one; ties go to the
    lower index.

    Args:
        counts: Neighbours' latest announcements naming each option.
        held: The critic's current answer.
    """
    majority = held
    for k in range(len(counts)):
        if counts[k] != 0:
            majority = int(np.argmax(counts))
            break
    target, best = -1, 0.0
    for k in range(len(counts)):
        count = -1.0 if k == majority else float(counts[k])
        if target < 0 or count > best:
            target, best = k, count
    return target


@njit(cache=True)
def minority_options(counts: np.ndarray) -> np.ndarray:
    """The answers a devil's advocate may be assigned: those given less often than the
    most given one (if all tie, every option but the first of them)."""
    top = counts.max()
    minority = np.flatnonzero(counts < top)
    if len(minority) == 0:
        minority = np.flatnonzero(np.arange(len(counts)) != np.argmax(counts))
    return minority


# ------------------------------------------------------------------------- Dirichlet


@njit(cache=True)
def dirichlet_mean_into(out: np.ndarray, alpha: np.ndarray) -> None:
    """The mean ``alpha / sum(alpha)`` of a Dirichlet belief (summed in index order)."""
    total = 0.0
    for k in range(len(alpha)):
        total += alpha[k]
    for k in range(len(alpha)):
        out[k] = alpha[k] / total


@njit(cache=True)
def sample_option(probabilities: np.ndarray, rng: np.random.Generator) -> int:
    """An option drawn with the given probabilities: one ``rng.random()``, the same draw
    and the same option as ``rng.choice(K, p=probabilities)``."""
    cdf = np.cumsum(probabilities)
    total = cdf[-1]
    for k in range(len(cdf)):
        cdf[k] /= total
    return int(np.searchsorted(cdf, rng.random(), side="right"))


# ------------------------------------------------------------------ two-armed bandit


@njit(cache=True)
def beta_mean(alpha: float, beta: float) -> float:
    """Mean of ``Beta(alpha, beta)``: the success rate a Beta credence expects."""
    return alpha / (alpha + beta)


@njit(cache=True)
def beta_sd(alpha: float, beta: float) -> float:
    """Standard deviation of ``Beta(alpha, beta)``."""
    total = alpha + beta
    return math.sqrt(alpha * beta / (total * total * (total + 1.0)))


@njit(cache=True)
def leading_arm(expected_0: float, expected_1: float) -> int:
    """The arm expected to succeed more often (``-1``: the two are tied, within
    :data:`TIE_TOLERANCE`)."""
    lead = expected_1 - expected_0
    if abs(lead) > TIE_TOLERANCE:
        return 1 if lead > 0.0 else 0
    return -1


@njit(cache=True)
def firmly_ahead(played: float, other: float, spread: float, settle_sd: float) -> bool:
    """Whether the arm an agent plays, expected to succeed at rate ``played`` with
    standard deviation ``spread``, beats the other arm's expected rate ``other`` by at
    least ``settle_sd`` standard deviations (the bandit's settling rule)."""
    return played - other >= settle_sd * spread


# ------------------------------------------------------------------- organisations


@njit(cache=True)
def execution_correct(
    error_rate: float, inputs_right: bool, propagation: float, rng: np.random.Generator
) -> bool:
    """One execution of a subtask (one draw): wrong with the worker's ``error_rate``
    ``e`` when its inputs are right, with ``q + (1 - q) e`` when one is wrong (``q``:
    ``propagation``)."""
    error = error_rate if inputs_right else propagation + (1.0 - propagation) * error_rate
    return rng.random() >= error


@njit(cache=True)
def flagged(correct: bool, recall: float, rng: np.random.Generator) -> bool:
    """Whether a check flags a result: a wrong one with probability ``recall`` (one
    draw), a right one never (no draw)."""
    return not correct and rng.random() < recall


@njit(cache=True)
def output_option(correct: bool, truth: int, options: int) -> int:
    """The option standing for an output: the truth if it is right, else the next
    option after it."""
    return truth if correct else (truth + 1) % options


# ---------------------------------------------------------------------------- metrics


@njit(cache=True)
def entropy_bits(counts: np.ndarray) -> float:
    """Shannon entropy (bits) of the distribution given by non-negative ``counts``
    (0.0 for an empty or one-option distribution)."""
    total = 0.0
    for c in counts:
        if c > 0:
            total += c
    if total <= 0.0:
        return 0.0
    out = 0.0
    for c in counts:
        if c > 0:
            share = c / total
            out -= share * math.log2(share)
    return out + 0.0
