"""Calibrating stylized stand-ins to the recorded decisions of LLM-backed agents.

A small study with real ``llm`` agents records every decision in a trace file; this module
fits the parameters of stylized rules to those decisions by maximum likelihood, so that
large studies can run on calibrated stand-ins instead. Each rule is made stochastic by a
*trembling hand*: the agent follows its rule, except that with probability ``epsilon`` it
picks an option uniformly at random,

    P(choice = k) = (1 - epsilon) * r_k + epsilon / K,

where ``r`` is the rule's choice (a point mass; exact ties of the rule's scores split
evenly over the options the engine's tie-breaking leaves). Models (:data:`MODELS`):

* ``social`` (:mod:`sim.agents.social`): parameter ``weight`` >= 0;
* ``threshold`` (:mod:`sim.agents.threshold`): parameter ``threshold`` in (0, 1];
* ``confidence``: confidence-gap switching (see :class:`ConfidenceGapModel`), a proposed
  agent kind with parameters ``gap_slope`` and ``gap_offset``;

and two baselines (:data:`BASELINES`): ``own_signal`` (always the private signal) and
``majority`` (the most announced option). The rules' likelihoods are piecewise constant
in ``weight`` and ``threshold``, so these are profiled exactly over the cells between the
points where some decision changes (``epsilon`` at its best in each cell: in closed
form, or by bisection where the rule splits ties); the
``confidence`` model is smooth and fitted by truncated Newton.

Whole runs are held out for testing (or agents, when the traces hold a single run); each
group of agents is fitted on its own.

Main entry points: :func:`decision_frame`, :func:`calibrate`, :class:`Calibration`,
:class:`ModelFit`, :data:`MODELS`, :data:`BASELINES`.
"""

from __future__ import annotations

import functools
import glob
import json
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import polars as pl
from scipy.optimize import minimize
from scipy.special import expit

from sim.deliberation import DECISION_SCHEMA
from sim.errors import ScenarioError
from sim.llm.trace import TRACE_SCHEMA
from sim.rules import TIE_TOLERANCE, signal_log_likelihood

DECISION_COLUMNS: dict[str, pl.DataType] = {
    "run": TRACE_SCHEMA["run"],
    "agent": TRACE_SCHEMA["agent"],
    "sim_time": TRACE_SCHEMA["sim_time"],
    **DECISION_SCHEMA,
    "confidence": TRACE_SCHEMA["confidence"],
}
"""Trace columns calibration reads, with the types they are cast to: where the decision
was made (the call trace's columns) and what the agent knew and chose (the decision
columns a run adds, :data:`sim.deliberation.DECISION_SCHEMA`)."""

DEFAULT_GROUP = "llm"
"""Group name given to decision rows whose ``group`` is null (an ``llm`` group's default)."""

EPSILON_RANGE = (1e-6, 1.0)
"""Bounds of the fitted trembling-hand error probability."""

MAX_BREAKPOINTS = 1000
"""Most breakpoints a profiled parameter is evaluated at; beyond this (many distinct
signal accuracies) the breakpoints are thinned to their quantiles and the profile is
approximate between them."""


# ------------------------------------------------------------------------------ input


def _expand(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """The trace files ``paths`` name (globs expanded, in order, each once)."""
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    files: list[Path] = []
    for item in items:
        text = str(item)
        if any(c in text for c in "*?["):
            matched = sorted(glob.glob(text))
            if not matched:
                raise ScenarioError(f"{text}: no trace files match this pattern")
            files.extend(Path(m) for m in matched)
        else:
            if not Path(text).is_file():
                raise ScenarioError(f"{text}: trace file not found")
            files.append(Path(text))
    if not files:
        raise ScenarioError("no trace files given")
    return list(dict.fromkeys(files))


def _read_decisions(path: Path) -> pl.DataFrame:
    """The decision rows of one trace file, checked against the decision-row contract."""
    try:
        schema = pl.read_parquet_schema(path)
    except Exception as error:  # polars raises several types for an unreadable file
        raise ScenarioError(f"{path}: not a readable Parquet trace ({error})") from error
    missing = [name for name in DECISION_COLUMNS if name not in schema]
    if missing:
        raise ScenarioError(
            f"{path}: the trace has no column {', '.join(repr(m) for m in missing)}; "
            "calibration needs the decision rows the engine records for llm agents"
        )
    try:
        frame = (
            pl.read_parquet(path, columns=list(DECISION_COLUMNS))
            .with_columns(pl.col(n).cast(t) for n, t in DECISION_COLUMNS.items())
            .filter(pl.col("decision").fill_null(False))
        )
    except pl.exceptions.PolarsError as error:
        raise ScenarioError(f"{path}: decision columns of unexpected types ({error})") from error
    _check_rows(path, frame)
    return frame.with_columns(
        pl.col("group").fill_null(DEFAULT_GROUP), pl.lit(str(path)).alias("trace")
    )


def _check_rows(path: Path, frame: pl.DataFrame) -> None:
    """Raise a ScenarioError naming the first way the rows break the contract."""
    k = pl.col("options")
    in_range = {
        "run": pl.col("run").is_not_null(),
        "agent": pl.col("agent").is_not_null(),
        "options": k >= 2,
        "signal": pl.col("signal").is_between(0, k - 1),
        "accuracy": pl.col("accuracy").is_between(0.0, 1.0),
        "previous": pl.col("previous").is_null() | pl.col("previous").is_between(0, k - 1),
        "choice": pl.col("choice").is_null() | pl.col("choice").is_between(0, k - 1),
        "heard": (pl.col("heard").list.drop_nulls().list.len() == k)
        & (pl.col("heard").list.min() >= 0),
        "heard_confidence": pl.col("heard_confidence").list.len() == k,
    }
    for name, valid in in_range.items():
        bad = frame.filter(~valid.fill_null(False)).height
        if bad:
            raise ScenarioError(
                f"{path}: {bad} decision row(s) with an invalid {name!r} "
                "(run and agent set; options >= 2; signal, previous, choice in "
                "0..options-1; accuracy in [0, 1]; heard (counts >= 0) and heard_confidence of "
                "length options)"
            )


def decision_frame(paths: str | Path | Iterable[str | Path]) -> pl.DataFrame:
    """The decision rows of one or more trace files.

    Args:
        paths: Trace file(s); glob patterns are expanded.

    Returns:
        One row per decision (``decision`` true), the columns of
        :data:`DECISION_COLUMNS` plus ``trace`` (the file it came from); a null ``group``
        becomes :data:`DEFAULT_GROUP`. Abstentions (``choice`` null) are kept.

    Raises:
        ScenarioError: A file is missing or unreadable, lacks a required column, has rows
            that break the contract, or no file has any decision row.
    """
    files = _expand(paths)
    frame = pl.concat([_read_decisions(path) for path in files])
    if frame.height == 0:
        raise ScenarioError(
            f"{', '.join(map(str, files))}: no decision rows (decision = true) to calibrate on"
        )
    return frame


@dataclass(frozen=True)
class Decisions:
    """The non-abstaining decisions of one group, as arrays (one row per decision).

    Attributes:
        options: Number of options ``K``.
        signal: Private signal, ``(n,)``.
        accuracy: Signal accuracy, ``(n,)``.
        previous: Choice before the decision, ``-1`` on a first decision, ``(n,)``.
        previous_confidence: Its stated confidence, NaN when none, ``(n,)``.
        heard: Announcements heard naming each option, ``(n, K)``.
        heard_confidence: Their mean stated confidence, NaN where none, ``(n, K)``.
        choice: The decision, ``(n,)``.
    """

    options: int
    signal: np.ndarray
    accuracy: np.ndarray
    previous: np.ndarray
    previous_confidence: np.ndarray
    heard: np.ndarray
    heard_confidence: np.ndarray
    choice: np.ndarray

    @classmethod
    def from_frame(cls, frame: pl.DataFrame) -> Decisions:
        """Arrays of decision rows that all have the same number of options and a choice."""
        options = frame["options"].unique().to_list()
        assert len(options) == 1 and frame["choice"].null_count() == 0
        k = int(options[0])
        return cls(
            options=k,
            signal=frame["signal"].to_numpy().astype(np.int64),
            accuracy=frame["accuracy"].to_numpy().astype(float),
            previous=frame["previous"].fill_null(-1).to_numpy().astype(np.int64),
            previous_confidence=frame["previous_confidence"].to_numpy().astype(float),
            heard=np.array(frame["heard"].to_list(), dtype=np.int64).reshape(-1, k),
            heard_confidence=np.array(frame["heard_confidence"].to_list(), dtype=float).reshape(
                -1, k
            ),
            choice=frame["choice"].to_numpy().astype(np.int64),
        )

    def __len__(self) -> int:
        return len(self.choice)

    @functools.cached_property
    def own_evidence(self) -> np.ndarray:
        """``log(1/K) + log P(signal | k)``: a uniform prior plus the own signal, ``(n, K)``,
        computed by the engine's own kernel."""
        prior = math.log(1.0 / self.options)
        return np.array(
            [
                prior + signal_log_likelihood(int(s), float(q), self.options)
                for s, q in zip(self.signal, self.accuracy, strict=True)
            ]
        ).reshape(-1, self.options)


# ------------------------------------------------------------------------------ models


@dataclass(frozen=True)
class Fit:
    """A model's fitted parameters.

    Attributes:
        params: Rule parameters by name.
        epsilon: Trembling-hand error probability.
        intervals: For profiled parameters, the range of values that fit equally well.
    """

    params: dict[str, float]
    epsilon: float
    intervals: dict[str, tuple[float, float]]


def _one_hot(index: np.ndarray, options: int) -> np.ndarray:
    return np.eye(options)[index]


def tie_shares(scores: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Probability of each option under :func:`sim.rules.choose`, decision by decision.

    The highest score wins; ties (within ``TIE_TOLERANCE``) go to ``first``, then
    ``second`` (``-1``: none), else are split evenly.

    Args:
        scores: ``(..., n, K)`` scores (leading axes: several parameter values at once).
        first: ``(n,)`` preferred option on a tie.
        second: ``(n,)`` next preferred option.

    Returns:
        ``(..., n, K)`` probabilities.
    """
    options = scores.shape[-1]
    rows = np.arange(scores.shape[-2])
    # Elementwise over the (few) options: much faster than reducing a short last axis.
    top = functools.reduce(np.maximum, [scores[..., k] for k in range(options)])
    tied = scores >= top[..., None] - TIE_TOLERANCE
    count = functools.reduce(np.add, [tied[..., k].astype(np.int64) for k in range(options)])
    several = count > 1
    by_first = several & (first >= 0) & tied[..., rows, np.maximum(first, 0)]
    by_second = several & ~by_first & (second >= 0) & tied[..., rows, np.maximum(second, 0)]
    out = tied / count[..., None]
    out = np.where(by_second[..., None], _one_hot(second, options), out)
    return np.where(by_first[..., None], _one_hot(first, options), out)


def _chosen(shares: np.ndarray, choice: np.ndarray) -> np.ndarray:
    """``(..., n)``: the rule's probability of each decision's actual choice."""
    return shares[..., np.arange(len(choice)), choice]


def _share_levels(options: int) -> np.ndarray:
    """The values a rule's share can take: 0, 1 and 1/j for a tie split j ways."""
    return np.array([0.0, *(1.0 / j for j in range(1, options + 1))])


def _level_counts(chosen: np.ndarray, options: int) -> np.ndarray:
    """``(C, levels)``: how many decisions of each row of ``chosen`` ``(C, n)`` the rule
    gave each share of :func:`_share_levels` (shares are exactly those floats)."""
    counts = (chosen[..., None] == _share_levels(options)).sum(axis=-2)
    assert (counts.sum(axis=-1) == chosen.shape[-1]).all()
    return counts


def _epsilon(counts: np.ndarray, options: int) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood ``epsilon`` and the log-likelihood there, for each row of level
    counts (:func:`_level_counts`).

    ``K / (K - 1)`` times the share of decisions off the rule when the rule never splits a
    tie; otherwise the root of the derivative of the log-likelihood, found by bisection
    (the log-likelihood is concave in ``epsilon``: a sum of logs of linear functions).
    """
    levels = _share_levels(options)
    low, high = EPSILON_RANGE

    def prob(epsilon: np.ndarray) -> np.ndarray:
        return (1.0 - epsilon[:, None]) * levels + epsilon[:, None] / options

    def slope(epsilon: np.ndarray) -> np.ndarray:
        return (counts * (1.0 / options - levels) / prob(epsilon)).sum(axis=1)

    lo, hi = np.full(len(counts), low), np.full(len(counts), high)
    for _ in range(60):
        mid = (lo + hi) / 2
        rising = slope(mid) > 0.0
        lo, hi = np.where(rising, mid, lo), np.where(rising, hi, mid)
    root = np.where(slope(lo) <= 0.0, low, np.where(slope(hi) >= 0.0, high, (lo + hi) / 2))
    off = counts[:, 0] / counts.sum(axis=1)
    closed = np.clip(options / (options - 1) * off, low, high)
    epsilon = np.where(counts[:, 2:].sum(axis=1) > 0, root, closed)
    return epsilon, (counts * np.log(prob(epsilon))).sum(axis=1)


class ChoiceModel(ABC):
    """A stochastic choice rule: fitted to decisions, then gives choice probabilities."""

    name: ClassVar[str]
    parameters: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def fit(self, data: Decisions) -> Fit:
        """Maximum-likelihood parameters on ``data``."""

    @abstractmethod
    def probabilities(self, data: Decisions, fit: Fit) -> np.ndarray:
        """``(n, K)`` probability of each option at each decision."""


class TremblingHandModel(ChoiceModel):
    """A deterministic rule without parameters, plus trembling-hand errors."""

    @abstractmethod
    def shares(self, data: Decisions, params: dict[str, float]) -> np.ndarray:
        """``(n, K)`` probability of each option under the rule (1 on its choice; a tie the
        engine breaks at random split evenly)."""

    def probabilities(self, data: Decisions, fit: Fit) -> np.ndarray:
        shares = self.shares(data, fit.params)
        return (1.0 - fit.epsilon) * shares + fit.epsilon / data.options

    def fit(self, data: Decisions) -> Fit:
        chosen = _chosen(self.shares(data, {}), data.choice)
        epsilon, _ = _epsilon(_level_counts(chosen[None], data.options), data.options)
        return Fit({}, float(epsilon[0]), {})


class ProfiledModel(TremblingHandModel):
    """A deterministic rule with one parameter, plus trembling-hand errors.

    The rule's choices change only at breakpoints of the parameter, so the likelihood is
    profiled exactly: once in each *cell* (a breakpoint, or an open range between two),
    with ``epsilon`` at its maximum for that cell.
    """

    BATCH = 4_000_000
    """Most scores computed at once (cells x decisions x options)."""

    @abstractmethod
    def batch_shares(self, data: Decisions, values: np.ndarray) -> np.ndarray:
        """``(C, n, K)``: :meth:`shares` for each of ``C`` parameter values."""

    @abstractmethod
    def cells(self, data: Decisions) -> list[tuple[float, float, float]]:
        """``(low, high, value)`` of each range of the parameter over which the rule makes
        the same choices on ``data`` (``value`` inside it), in increasing order."""

    def shares(self, data: Decisions, params: dict[str, float]) -> np.ndarray:
        (name,) = self.parameters
        return self.batch_shares(data, np.array([params[name]]))[0]

    def fit(self, data: Decisions) -> Fit:
        (name,) = self.parameters
        cells = self.cells(data)
        values = np.array([value for _, _, value in cells])
        step = max(1, self.BATCH // (len(data) * data.options))
        loglik = np.concatenate(
            [
                _epsilon(
                    _level_counts(
                        _chosen(self.batch_shares(data, values[i : i + step]), data.choice),
                        data.options,
                    ),
                    data.options,
                )[1]
                for i in range(0, len(values), step)
            ]
        )
        # The best cell and its neighbours that fit as well form the reported interval.
        top = int(np.argmax(loglik))
        level = loglik >= loglik[top] - 1e-9 * max(1.0, abs(loglik[top]))
        start, end = top, top
        while start > 0 and level[start - 1]:
            start -= 1
        while end + 1 < len(cells) and level[end + 1]:
            end += 1
        best = cells[start : end + 1]
        # Prefer a value strictly inside a range over a breakpoint, where the rule ties.
        inside = [cell for cell in best if cell[0] < cell[1]] or best
        value = inside[len(inside) // 2][2]
        chosen = _chosen(self.shares(data, {name: value}), data.choice)
        epsilon, _ = _epsilon(_level_counts(chosen[None], data.options), data.options)
        return Fit({name: value}, float(epsilon[0]), {name: (best[0][0], best[-1][1])})


def _thin(points: np.ndarray) -> np.ndarray:
    """At most :data:`MAX_BREAKPOINTS` of the sorted ``points`` (quantiles beyond that)."""
    if len(points) <= MAX_BREAKPOINTS:
        return points
    return np.unique(np.quantile(points, np.linspace(0.0, 1.0, MAX_BREAKPOINTS)))


class SocialModel(ProfiledModel):
    """The ``social`` rule: the highest of ``log prior + log P(signal | k) + weight * n_k``
    (uniform prior; ties keep the previous choice, then the own signal, else split)."""

    name = "social"
    parameters = ("weight",)

    def batch_shares(self, data: Decisions, values: np.ndarray) -> np.ndarray:
        # Same arithmetic as sim.rules.social_log_posterior, so ties are the engine's ties.
        scores = data.own_evidence + values[:, None, None] * data.heard
        return tie_shares(scores, data.previous, data.signal)

    def cells(self, data: Decisions) -> list[tuple[float, float, float]]:
        """Breakpoints are the weights at which two options' scores cross:
        ``(a_j - a_k) / (n_k - n_j)``; each is a cell of its own (scores tie there), and so
        is each open range between them."""
        evidence = data.own_evidence
        gain = data.heard[:, None, :] - data.heard[:, :, None]
        loss = evidence[:, :, None] - evidence[:, None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            crossing = loss / gain
        crossing = crossing[(gain > 0) & np.isfinite(crossing) & (crossing > 0)]
        points = _thin(np.unique(np.round(crossing, 12)))
        cells: list[tuple[float, float, float]] = [(0.0, 0.0, 0.0)]
        low = 0.0
        for point in map(float, points):
            cells.append((low, point, (low + point) / 2))
            cells.append((point, point, point))
            low = point
        cells.append((low, math.inf, 2 * low if low > 0 else 1.0))
        return cells


class ThresholdModel(ProfiledModel):
    """The ``threshold`` rule, as :class:`sim.agents.threshold.ThresholdAgent` applies it:
    if the most announced option has a share of at least ``threshold`` of what was heard,
    adopt it (ties keep the previous choice, else split); otherwise keep the previous
    choice, or on a first decision take the own signal's best option."""

    name = "threshold"
    parameters = ("threshold",)

    def batch_shares(self, data: Decisions, values: np.ndarray) -> np.ndarray:
        counts = data.heard
        total = counts.sum(axis=1)
        top = counts.max(axis=1)
        none = np.full(len(data), -1)
        adopted = tie_shares(np.where(counts == top[:, None], 0.0, -np.inf), data.previous, none)
        first = data.previous < 0
        held = np.where(
            first[:, None],
            tie_shares(data.own_evidence, data.signal, none),
            _one_hot(np.maximum(data.previous, 0), data.options),
        )
        # sim.rules.threshold_candidates: count >= threshold * total, in that arithmetic.
        adopt = (total > 0) & (top >= values[:, None] * total)
        return np.where(adopt[..., None], adopted, held)

    def cells(self, data: Decisions) -> list[tuple[float, float, float]]:
        """A threshold only matters through which top shares reach it: ``threshold`` in
        ``(s_i, s_{i+1}]`` for consecutive observed top shares acts the same."""
        total = data.heard.sum(axis=1)
        heard = total > 0
        shares = np.unique(data.heard.max(axis=1)[heard] / total[heard])
        points = [float(s) for s in _thin(shares)]
        if not points or points[-1] < 1.0:
            points.append(1.0)
        cells = []
        low = 0.0
        for point in points:
            cells.append((low, point, (low + point) / 2))
            low = point
        return cells


class OwnSignalModel(TremblingHandModel):
    """Baseline: always the option the private signal names."""

    name = "own_signal"

    def shares(self, data: Decisions, params: dict[str, float]) -> np.ndarray:
        return _one_hot(data.signal, data.options)


class MajorityModel(TremblingHandModel):
    """Baseline: the most announced option (ties keep the previous choice, then the own
    signal, else split); the own signal when nothing was heard."""

    name = "majority"

    def shares(self, data: Decisions, params: dict[str, float]) -> np.ndarray:
        out = tie_shares(data.heard.astype(float), data.previous, data.signal)
        silent = data.heard.sum(axis=1) == 0
        out[silent] = _one_hot(data.signal[silent], data.options)
        return out


@dataclass(frozen=True)
class _Gap:
    """What the confidence-gap rule looks at in each decision."""

    held: np.ndarray  # p: previous choice, or the own signal on a first decision
    rival: np.ndarray  # m: the most announced other option, -1 if none was heard
    gap: np.ndarray  # c_m - c (0 where there is no rival)


class ConfidenceGapModel(ChoiceModel):
    """Confidence-gap switching (after Cho, Guntuku & Ungar 2025: LLM agents switch when
    peers sound more confident than they are).

    At each decision let

    * ``p`` be the agent's previous choice (its own signal on a first decision) and ``c``
      its stated confidence in it (its signal accuracy when none was stated);
    * ``m`` the *rival*: of the options other than ``p`` that some neighbour's latest
      announcement names, the most announced one (ties: the higher mean stated confidence,
      then the lower index), and ``c_m`` the mean confidence stated for it (``1/K`` if
      none was stated).

    The rule switches to ``m`` with probability ``sigmoid(gap_slope * (c_m - c -
    gap_offset))`` and otherwise keeps ``p``; with no rival it keeps ``p``. Like the other
    models it trembles: ``P(k) = (1 - epsilon) r_k + epsilon / K``, so a choice that is
    neither ``p`` nor ``m`` has probability ``epsilon / K`` (the fitted floor).
    ``gap_slope`` is in [0, 1000], ``gap_offset`` in [-2, 2] (confidences are in [0, 1]);
    all three are fitted jointly by truncated Newton (TNC) from a few fixed starting points.
    """

    name = "confidence"
    parameters = ("gap_slope", "gap_offset")
    bounds: ClassVar[list[tuple[float, float]]] = [(0.0, 1000.0), (-2.0, 2.0), EPSILON_RANGE]
    starts: ClassVar[tuple[tuple[float, float, float], ...]] = (
        (1.0, 0.0, 0.1),
        (10.0, 0.0, 0.1),
        (50.0, 0.0, 0.1),
    )

    @staticmethod
    def features(data: Decisions) -> _Gap:
        """The held option, the rival and the confidence gap of each decision."""
        rows = np.arange(len(data))
        held = np.where(data.previous >= 0, data.previous, data.signal)
        own = np.where(np.isnan(data.previous_confidence), data.accuracy, data.previous_confidence)
        stated = np.where(
            np.isnan(data.heard_confidence), 1.0 / data.options, data.heard_confidence
        )
        others = data.heard.astype(float)
        others[rows, held] = -1.0
        top = others.max(axis=1)
        # Among the most announced others, the highest confidence, then the lowest index.
        candidates = (others == top[:, None]) & (top[:, None] > 0)
        rival = np.argmax(np.where(candidates, stated, -np.inf), axis=1)
        rival = np.where(top > 0, rival, -1)
        gap = np.where(rival >= 0, stated[rows, np.maximum(rival, 0)] - own, 0.0)
        return _Gap(held, rival, gap)

    @staticmethod
    def _rule(gap: _Gap, slope: float, offset: float) -> tuple[np.ndarray, np.ndarray]:
        """Probability of switching to the rival, and its derivative in ``z``."""
        z = slope * (gap.gap - offset)
        switch = np.where(gap.rival >= 0, expit(z), 0.0)
        return switch, switch * expit(-z)

    def _negative_log_likelihood(
        self, x: np.ndarray, gap: _Gap, choice: np.ndarray, options: int
    ) -> tuple[float, np.ndarray]:
        slope, offset, epsilon = (float(v) for v in x)
        switch, slope_z = self._rule(gap, slope, offset)
        kept = choice == gap.held
        switched = (choice == gap.rival) & (gap.rival >= 0)
        rule = np.where(kept, 1.0 - switch, np.where(switched, switch, 0.0))
        prob = (1.0 - epsilon) * rule + epsilon / options
        d_rule_dz = np.where(kept, -slope_z, np.where(switched, slope_z, 0.0))
        d_slope = (1.0 - epsilon) * d_rule_dz * (gap.gap - offset)
        d_offset = -(1.0 - epsilon) * d_rule_dz * slope
        d_epsilon = 1.0 / options - rule
        grad = np.array([(d / prob).sum() for d in (d_slope, d_offset, d_epsilon)])
        return -float(np.log(prob).sum()), -grad

    def fit(self, data: Decisions) -> Fit:
        gap = self.features(data)
        best = None
        for start in self.starts:
            result = minimize(
                self._negative_log_likelihood,
                np.array(start),
                args=(gap, data.choice, data.options),
                jac=True,
                # TNC uses no BLAS: L-BFGS-B was several times slower next to polars' threads.
                method="TNC",
                bounds=self.bounds,
            )
            if best is None or result.fun < best.fun:
                best = result
        assert best is not None
        slope, offset, epsilon = (float(v) for v in best.x)
        return Fit({"gap_slope": slope, "gap_offset": offset}, epsilon, {})

    def probabilities(self, data: Decisions, fit: Fit) -> np.ndarray:
        gap = self.features(data)
        switch, _ = self._rule(gap, fit.params["gap_slope"], fit.params["gap_offset"])
        rows = np.arange(len(data))
        out = np.full((len(data), data.options), fit.epsilon / data.options)
        out[rows, gap.held] += (1.0 - fit.epsilon) * (1.0 - switch)
        has = gap.rival >= 0
        out[rows[has], gap.rival[has]] += (1.0 - fit.epsilon) * switch[has]
        return out


MODELS: dict[str, ChoiceModel] = {
    m.name: m for m in (SocialModel(), ThresholdModel(), ConfidenceGapModel())
}
"""The stand-in rules calibration can fit, by name."""

BASELINES: dict[str, ChoiceModel] = {m.name: m for m in (OwnSignalModel(), MajorityModel())}
"""Reference rules every calibration also fits and reports."""


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class ModelFit:
    """One model fitted to one group, and how well it predicts held-out decisions.

    Attributes:
        model: Model name (a key of :data:`MODELS` or :data:`BASELINES`).
        baseline: Whether it is a baseline.
        params: Fitted rule parameters.
        intervals: Range of each profiled parameter that fits the training set as well.
        epsilon: Fitted trembling-hand error probability.
        train_loglik: Log-likelihood of the training decisions (nats).
        train_decisions: Number of training decisions.
        test_logloss: Mean negative log-likelihood of a held-out decision (nats).
        test_accuracy: Share of held-out decisions the rule's most likely option matches.
        test_decisions: Number of held-out decisions.
    """

    model: str
    baseline: bool
    params: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    epsilon: float
    train_loglik: float
    train_decisions: int
    test_logloss: float
    test_accuracy: float
    test_decisions: int

    def describe_params(self) -> str:
        """The parameters as ``name=value [low, high]`` text."""
        parts = []
        for name, value in self.params.items():
            text = f"{name}={value:.4g}"
            if name in self.intervals:
                low, high = self.intervals[name]
                text += f" [{low:.4g}, {high:.4g}]"
            parts.append(text)
        return ", ".join(parts) or "-"


TABLE_SCHEMA: dict[str, pl.DataType] = {
    "group": pl.String(),
    "model": pl.String(),
    "baseline": pl.Boolean(),
    "parameters": pl.String(),
    "epsilon": pl.Float64(),
    "train_loglik": pl.Float64(),
    "train_decisions": pl.Int64(),
    "test_logloss": pl.Float64(),
    "test_accuracy": pl.Float64(),
    "test_decisions": pl.Int64(),
}
"""Columns of :meth:`Calibration.table`."""


def _toml_number(value: float) -> str:
    return repr(float(f"{value:.6g}"))


@dataclass(frozen=True)
class Calibration:
    """The calibration of one group's stand-ins to its recorded decisions.

    Attributes:
        group: Group name in the traces.
        traces: The trace files read.
        options: Number of options.
        decisions: Decisions fitted and tested (abstentions excluded).
        abstentions: Decisions without a choice (not fitted).
        split: ``"run"`` or ``"agent"``: what was held out.
        train_units: Runs (or agents) fitted on.
        test_units: Runs (or agents) held out.
        holdout: Fraction of units asked to be held out.
        seed: Seed of the split.
        fits: Every model's fit, best held-out log-loss first.
        agents: Agents of the group per run, on average.
    """

    group: str
    traces: tuple[str, ...]
    options: int
    decisions: int
    abstentions: int
    split: str
    train_units: int
    test_units: int
    holdout: float
    seed: int
    fits: tuple[ModelFit, ...]
    agents: float = 0.0

    def table(self) -> pl.DataFrame:
        """One row per model (baselines included), best held-out log-loss first."""
        rows = [
            {
                "group": self.group,
                "model": f.model,
                "baseline": f.baseline,
                "parameters": f.describe_params(),
                "epsilon": f.epsilon,
                "train_loglik": f.train_loglik,
                "train_decisions": f.train_decisions,
                "test_logloss": f.test_logloss,
                "test_accuracy": f.test_accuracy,
                "test_decisions": f.test_decisions,
            }
            for f in self.fits
        ]
        return pl.DataFrame(rows, schema=TABLE_SCHEMA)

    @property
    def best(self) -> ModelFit:
        """The non-baseline model with the lowest held-out log-loss."""
        rules = [f for f in self.fits if not f.baseline]
        if not rules:
            raise ValueError("no stand-in model was fitted (only baselines)")
        return rules[0]

    def _provenance(self) -> list[str]:
        unit = "runs" if self.split == "run" else "agents (a single run: split by agent)"
        return [
            f"from {len(self.traces)} trace file(s): {', '.join(self.traces)}",
            f"group {self.group!r}: {self.decisions} decisions over {self.options} options "
            f"({self.abstentions} abstentions not fitted)",
            f"fitted on {self.train_units} {unit}, tested on {self.test_units} held out "
            f"(holdout {self.holdout:g}, seed {self.seed})",
        ]

    def population_toml(self, group_name: str | None = None) -> str:
        """A ``[[population.groups]]`` entry running the best stand-in, with comments on
        where it came from.

        Args:
            group_name: The entry's ``name`` (default: the group's name in the traces).
        """
        best = self.best
        losses = " | ".join(f"{f.model} {f.test_logloss:.4f}" for f in self.fits)
        comments = [
            f"Calibrated stand-in ({best.model}) by maximum likelihood, " + self._provenance()[0],
            *self._provenance()[1:],
            f"held-out log-loss, nats per decision: {losses}",
            f"held-out accuracy of {best.model}: {best.test_accuracy:.3f}; trembling-hand "
            f"error epsilon = {best.epsilon:.4f} (not part of the stand-in's rule)",
        ]
        for name, (low, high) in best.intervals.items():
            comments.append(f"any {name} in [{low:.6g}, {high:.6g}] fits the training set as well")
        lines = [f"# {line}" for line in comments]
        lines += [
            "[[population.groups]]",
            f"agent = {json.dumps(best.model)}",
            f"name = {json.dumps(group_name or self.group)}",
            *(f"{name} = {_toml_number(v)}" for name, v in best.params.items()),
            "# share = ...  (this group's share of the population; default 1)",
        ]
        return "\n".join(lines) + "\n"

    def to_text(self) -> str:
        """A plain-text report: provenance, then the table."""
        header = (
            "model",
            "parameters",
            "epsilon",
            "train loglik",
            "test logloss",
            "test accuracy",
            "test n",
        )
        rows = [
            (
                f.model + (" (baseline)" if f.baseline else ""),
                f.describe_params(),
                f"{f.epsilon:.4f}",
                f"{f.train_loglik:.2f}",
                f"{f.test_logloss:.4f}",
                f"{f.test_accuracy:.3f}",
                str(f.test_decisions),
            )
            for f in self.fits
        ]
        widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]

        def line(cells: Sequence[str]) -> str:
            return "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()

        return "\n".join(
            [
                f"Calibration of group {self.group!r}",
                *(f"  {text}" for text in self._provenance()),
                f"  best stand-in: {self.best.model} ({self.best.describe_params()})",
                "",
                line(header),
                line(["-" * w for w in widths]),
                *(line(r) for r in rows),
            ]
        )


# ------------------------------------------------------------------------------ fitting


def _split(frame: pl.DataFrame, holdout: float, seed: int) -> tuple[np.ndarray, str, int, int]:
    """Which rows are held out (boolean mask), by run or (one run only) by agent."""
    runs = frame.select(pl.concat_str("trace", pl.lit("\x00"), "run").alias("unit"))["unit"]
    split = "run"
    units = runs
    if runs.n_unique() < 2:
        split, units = "agent", frame["agent"].cast(pl.String)
    names = sorted(units.unique().to_list())
    if len(names) < 2:
        raise ScenarioError(
            f"group {frame['group'][0]!r}: all its decisions come from one agent in one "
            "run; calibration needs at least two runs (or agents) to hold some out"
        )
    held = min(len(names) - 1, max(1, round(holdout * len(names))))
    order = np.random.default_rng(seed).permutation(len(names))
    test = {names[i] for i in order[:held]}
    mask = units.is_in(sorted(test)).to_numpy()
    return mask, split, len(names) - held, held


def _fit_model(model: ChoiceModel, train: Decisions, test: Decisions, baseline: bool) -> ModelFit:
    fit = model.fit(train)
    train_p = model.probabilities(train, fit)
    test_p = model.probabilities(test, fit)
    rows = np.arange(len(test))
    return ModelFit(
        model=model.name,
        baseline=baseline,
        params=fit.params,
        intervals=fit.intervals,
        epsilon=fit.epsilon,
        train_loglik=float(np.log(train_p[np.arange(len(train)), train.choice]).sum()),
        train_decisions=len(train),
        test_logloss=float(-np.log(test_p[rows, test.choice]).mean()),
        test_accuracy=float(np.mean(np.argmax(test_p, axis=1) == test.choice)),
        test_decisions=len(test),
    )


def _check_arguments(holdout: float, models: Sequence[str]) -> None:
    if not models:
        raise ScenarioError("no stand-in model to calibrate; known: " + ", ".join(MODELS))
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ScenarioError(
            f"unknown calibration model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}"
        )
    if not 0.0 < holdout < 1.0:
        raise ScenarioError(f"holdout must be a fraction between 0 and 1, got {holdout}")


def calibrate_group(
    frame: pl.DataFrame,
    holdout: float = 0.3,
    seed: int = 0,
    models: Sequence[str] = tuple(MODELS),
) -> Calibration:
    """Fit every model to the decision rows of one group.

    Args:
        frame: Decision rows of one group (as :func:`decision_frame` returns them).
        holdout: Fraction of runs (or agents) held out for testing, in (0, 1).
        seed: Seed of the held-out draw.
        models: Names of the models to fit (keys of :data:`MODELS`); baselines always are.
    """
    groups = frame["group"].unique().to_list()
    if len(groups) != 1:
        raise ValueError(f"calibrate_group takes the rows of one group, got {groups}")
    group = str(groups[0])
    _check_arguments(holdout, models)
    options = sorted(frame["options"].unique().to_list())
    if len(options) > 1:
        raise ScenarioError(
            f"group {group!r}: decisions with different numbers of options {options}; "
            "calibrate traces of different tasks separately"
        )
    answered = frame.filter(pl.col("choice").is_not_null())
    if answered.height == 0:
        raise ScenarioError(f"group {group!r}: every decision is an abstention")
    held_out, split, train_units, test_units = _split(answered, holdout, seed)
    train = Decisions.from_frame(answered.filter(~pl.Series(held_out)))
    test = Decisions.from_frame(answered.filter(pl.Series(held_out)))
    fits = [_fit_model(MODELS[name], train, test, False) for name in models]
    fits += [_fit_model(model, train, test, True) for model in BASELINES.values()]
    fits.sort(key=lambda f: (f.test_logloss, f.model))
    return Calibration(
        group=group,
        traces=tuple(frame["trace"].unique(maintain_order=True).to_list()),
        options=int(options[0]),
        decisions=answered.height,
        abstentions=frame.height - answered.height,
        split=split,
        train_units=train_units,
        test_units=test_units,
        holdout=holdout,
        seed=seed,
        fits=tuple(fits),
        agents=frame.select(pl.struct("trace", "run", "agent").n_unique()).item()
        / frame.select(pl.struct("trace", "run").n_unique()).item(),
    )


def calibrate(
    paths: str | Path | Iterable[str | Path],
    holdout: float = 0.3,
    seed: int = 0,
    models: Sequence[str] = tuple(MODELS),
) -> list[Calibration]:
    """Fit stand-in rules to the LLM decisions recorded in trace files, group by group.

    Args:
        paths: Trace file(s); glob patterns are expanded.
        holdout: Fraction of runs held out for testing (of agents, if there is one run).
        seed: Seed of the held-out draw (the split is deterministic given it).
        models: Stand-in models to fit (keys of :data:`MODELS`); the baselines
            (:data:`BASELINES`) are always fitted too.

    Returns:
        One :class:`Calibration` per group, in group-name order.

    Raises:
        ScenarioError: Unreadable or incomplete traces, no decisions, an unknown model,
            a bad ``holdout``, or a group that cannot be split.
    """
    _check_arguments(holdout, models)
    frame = decision_frame(paths)
    return [
        calibrate_group(frame.filter(pl.col("group") == group), holdout, seed, models)
        for group in sorted(frame["group"].unique().to_list())
    ]
