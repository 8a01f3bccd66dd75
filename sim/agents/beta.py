"""Beta agents: myopic Bayesian players of a two-armed Bernoulli bandit (Zollman 2007, 2010).

Each agent holds an independent Beta credence ``Beta(alpha_k, beta_k)`` about the success
rate of each arm ``k`` (the two options of the world). Its prior parameters are drawn per
agent and per arm from the group's ``prior_alpha`` and ``prior_beta`` (Zollman draws both
uniformly from (0, 4]). It plays the arm of highest expected success rate
``alpha_k / (alpha_k + beta_k)`` (myopic, greedy: no exploration), keeping its current arm
on a tie. A result "``s`` successes in ``t`` trials of arm ``k``", its own or a
neighbour's, is conjugate evidence: ``alpha_k += s``, ``beta_k += t - s``. An arm whose rate
the protocol declares known (``known_worse``, the variant of Rosenstock, Bruner & O'Connor
2017) has that rate as its value and is never updated.

Results reach an agent as :class:`TrialResult` messages over the channels (the ``bandit``
protocol, :mod:`sim.protocols.bandit`, runs the experiments and sends them); each result is
counted exactly once, however late it arrives (a duplicate ``(sender, round)`` is ignored).
Announcements of other protocols are ignored: a ``beta`` agent learns from data only.

``belief`` is the agent's probability that each arm is the better one, ``P(p_k > p_other)``
under its independent Beta credences (for a known arm, the credence of the other arm
against the known rate), so the summary's ``brier`` scores how well the community knows
which arm is better. It is computed when read (the run's end), not at every update.

The rules (the expected rates and their spread, the choice of arm, the settling rule of
:mod:`sim.protocols.bandit`) are kernels of :mod:`sim.rules`, shared with the fast engine.

Main entry points: :class:`BetaAgent`, :class:`BetaGroup`, :class:`TrialResult`,
:func:`probability_greater`, :func:`probabilities_better`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field, field_validator
from scipy.special import betainc

from sim.agents.base import GroupBase, SocietyAgent
from sim.distributions import Quantity, Uniform, check_support
from sim.errors import ScenarioError
from sim.rules import beta_mean, beta_sd, leading_arm

ARMS = 2
"""A ``beta`` agent plays a two-armed bandit: ``world.options`` must be 2."""

SMALLEST_PARAMETER = 1e-9
"""Prior draws are floored here, so a uniform on [0, 4] gives Zollman's (0, 4]."""

_GRID = 513
"""Edges of the grid on which :func:`probability_greater` integrates."""

_ENDS = np.geomspace(1e-14, 1e-3, 60)
"""Extra edges this close to the grid's ends: a parameter below 1 piles mass there."""

_BULK_SD = 12.0
"""Half-width of that grid, in standard deviations of the narrower credence."""


class BetaGroup(GroupBase):
    """A group of ``beta`` agents."""

    agent: Literal["beta"]
    prior_alpha: Quantity = Field(
        Uniform(low=0.0, high=4.0),
        description="Prior alpha (pseudo-successes) of each arm's Beta credence, drawn per "
        "agent and arm (default: uniform on (0, 4], as Zollman).",
    )
    prior_beta: Quantity = Field(
        Uniform(low=0.0, high=4.0),
        description="Prior beta (pseudo-failures) of each arm's Beta credence, drawn per "
        "agent and arm (default: uniform on (0, 4], as Zollman).",
    )

    @field_validator("prior_alpha", "prior_beta")
    @classmethod
    def _positive(cls, value: Quantity) -> Quantity:
        check_support(value, 0.0, math.inf, "a Beta parameter")
        if isinstance(value, int | float) and value <= 0:
            raise ValueError(f"must be a Beta parameter > 0, got {value:g}")
        return value

    def sampled_parameters(self) -> dict[str, Quantity]:
        return {
            "prior_alpha_0": self.prior_alpha,
            "prior_alpha_1": self.prior_alpha,
            "prior_beta_0": self.prior_beta,
            "prior_beta_1": self.prior_beta,
        }


@dataclass(frozen=True, slots=True)
class TrialResult:
    """One round's experiment of one agent: ``successes`` in ``trials`` pulls of ``option``."""

    sender: int
    round: int
    option: int
    successes: int
    trials: int


def probability_greater(a: float, b: float, c: float, d: float) -> float:
    """``P(X > Y)`` for independent ``X ~ Beta(a, b)`` and ``Y ~ Beta(c, d)``.

    Computed as ``E[F_Y(X)]`` (or ``1 - E[F_X(Y)]`` when ``Y`` is the narrower credence)
    over a grid laid on the narrower credence's bulk (its mean plus or minus
    :data:`_BULK_SD` standard deviations, within [0, 1]): its CDF gives each cell's mass,
    which stays bounded where a density with a parameter below 1 does not, and the other
    CDF is read at the cells' midpoints. The mass outside the bulk is below 1e-6 for any
    credence whose bulk is not the whole interval. Tested against closed forms and Monte
    Carlo (``tests/test_bandit.py``): error below 1e-3.
    """
    if beta_sd(a, b) > beta_sd(c, d):
        return 1.0 - probability_greater(c, d, a, b)
    mean, sd = beta_mean(a, b), beta_sd(a, b)
    low, high = max(mean - _BULK_SD * sd, 0.0), min(mean + _BULK_SD * sd, 1.0)
    edges = np.unique(np.concatenate((np.linspace(low, high, _GRID), low + _ENDS, high - _ENDS)))
    cdf = betainc(a, b, edges)
    middle = np.concatenate(([edges[0] / 2], (edges[1:] + edges[:-1]) / 2, [(1 + edges[-1]) / 2]))
    mass = np.diff(np.concatenate(([0.0], cdf, [1.0])))
    return float(np.clip(mass @ betainc(c, d, middle), 0.0, 1.0))


def probabilities_better(
    alpha: Sequence[float], beta: Sequence[float], known: Mapping[int, float]
) -> np.ndarray:
    """``[P(arm 0 is better), P(arm 1 is better)]`` under independent Beta credences
    ``Beta(alpha[k], beta[k])`` about each arm, or the rate of an arm in ``known``."""
    if known.keys() == {0, 1}:
        rates = [known[0], known[1]]
        better = 0.5 if rates[0] == rates[1] else float(rates[1] > rates[0])
    elif 0 in known:
        better = 1.0 - float(betainc(alpha[1], beta[1], known[0]))
    elif 1 in known:
        better = float(betainc(alpha[0], beta[0], known[1]))
    else:
        better = probability_greater(alpha[1], beta[1], alpha[0], beta[0])
    return np.array([1.0 - better, better])


def check_arms(options: int) -> None:
    """Raise :class:`ScenarioError` unless the world has the bandit's two options."""
    if options != ARMS:
        raise ScenarioError(
            f"agent 'beta' plays a two-armed bandit: world.options must be {ARMS}, got {options}"
        )


class BetaAgent(SocietyAgent):
    """Myopic Beta-Bernoulli bandit player; see the module docstring."""

    kind = "beta"
    config_model = BetaGroup

    def configure(self, params: dict[str, float], group_config: GroupBase) -> None:
        assert isinstance(group_config, BetaGroup)
        check_arms(self.options)
        self.alpha = [max(params[f"prior_alpha_{k}"], SMALLEST_PARAMETER) for k in range(ARMS)]
        self.beta = [max(params[f"prior_beta_{k}"], SMALLEST_PARAMETER) for k in range(ARMS)]
        self.known: dict[int, float] = {}
        """Arms whose success rate the agent knows, with that rate."""
        self.results_received = [0] * ARMS
        """Neighbours' results taken in, per arm."""
        self._counted: set[tuple[int, int]] = set()
        self._belief_now: np.ndarray | None = None

    # -- credences -----------------------------------------------------------------------

    def know(self, option: int, rate: float) -> None:
        """Make the success rate of arm ``option`` known to the agent."""
        self.known[option] = rate
        self._belief_now = None

    def expected_rate(self, option: int) -> float:
        """Expected success rate of arm ``option`` under the agent's credence."""
        if option in self.known:
            return self.known[option]
        return beta_mean(self.alpha[option], self.beta[option])

    def rate_sd(self, option: int) -> float:
        """Standard deviation of the agent's credence about arm ``option`` (0 if known)."""
        if option in self.known:
            return 0.0
        return beta_sd(self.alpha[option], self.beta[option])

    def observe(self, option: int, successes: int, trials: int) -> None:
        """Bayesian update on ``successes`` in ``trials`` pulls of arm ``option``."""
        if option not in self.known:
            self.alpha[option] += successes
            self.beta[option] += trials - successes
            self._belief_now = None

    def receive(self, message: object) -> bool:
        """Take in a neighbour's :class:`TrialResult` once; other messages are ignored.

        Returns:
            False: results change credences, and the protocol decides when agents act.
        """
        if isinstance(message, TrialResult):
            key = (message.sender, message.round)
            if key not in self._counted:
                self._counted.add(key)
                self.observe(message.option, message.successes, message.trials)
                self.results_received[message.option] += 1
        return False

    # -- acting --------------------------------------------------------------------------

    def decide(self) -> bool:
        # The arm expected to succeed more often; a tie keeps the current arm, else a
        # coin from the agents' stream.
        previous = self.choice
        arm = leading_arm(self.expected_rate(0), self.expected_rate(1))
        if arm >= 0:
            self.choice = arm
        elif previous is None:
            self.choice = int(self.model.agents_rng.integers(ARMS))
        return self.choice != previous

    @property
    def belief(self) -> np.ndarray:
        """``[P(arm 0 is better), P(arm 1 is better)]`` under the agent's credences."""
        if self._belief_now is None:
            self._belief_now = probabilities_better(self.alpha, self.beta, self.known)
        return self._belief_now

    @property
    def confidence(self) -> float | None:
        return None if self.choice is None else float(self.belief[self.choice])
