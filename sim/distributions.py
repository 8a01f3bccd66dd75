"""Parameter distributions used in scenario files.

A scenario may give a number (``signal_accuracy = 0.7``) or a distribution
(``signal_accuracy = { dist = "beta", a = 7, b = 3 }``) wherever a quantity varies across
agents or messages: signal accuracy, social weight, channel latency. Each distribution is
a frozen pydantic model with a ``sample(rng, size)`` method and a ``support`` so that
validators can check, for instance, that a probability can never leave ``[0, 1]``.

Main entry points: :data:`Distribution` (the tagged union used in config models),
:func:`sample` (a number or a distribution, drawn ``size`` times) and
:func:`check_support` (used by config validators).
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Dist(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    dist: str

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` independent values."""
        raise NotImplementedError

    @property
    def support(self) -> tuple[float, float]:
        """Closed interval that contains every value the distribution can produce."""
        raise NotImplementedError

    @property
    def mean(self) -> float:
        """Expected value."""
        raise NotImplementedError


class Constant(_Dist):
    """Always ``value``."""

    dist: Literal["constant"] = "constant"
    value: float

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, float(self.value))

    @property
    def support(self) -> tuple[float, float]:
        return (self.value, self.value)

    @property
    def mean(self) -> float:
        return self.value


class Uniform(_Dist):
    """Uniform on ``[low, high]``."""

    dist: Literal["uniform"] = "uniform"
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, size)

    @property
    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2


class Exponential(_Dist):
    """Exponential with the given ``mean`` (rate ``1/mean``)."""

    dist: Literal["exponential"] = "exponential"
    mean_: float = Field(alias="mean", gt=0)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(self.mean_, size)

    @property
    def support(self) -> tuple[float, float]:
        return (0.0, math.inf)

    @property
    def mean(self) -> float:
        return self.mean_


class LogNormal(_Dist):
    """Log-normal: ``exp(X)`` with ``X ~ Normal(mu, sigma)`` (numpy's convention)."""

    dist: Literal["lognormal"] = "lognormal"
    mu: float
    sigma: float = Field(gt=0)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.lognormal(self.mu, self.sigma, size)

    @property
    def support(self) -> tuple[float, float]:
        return (0.0, math.inf)

    @property
    def mean(self) -> float:
        return math.exp(self.mu + self.sigma**2 / 2)


class Normal(_Dist):
    """Normal with mean ``mean`` and standard deviation ``sd``."""

    dist: Literal["normal"] = "normal"
    mean_: float = Field(alias="mean")
    sd: float = Field(gt=0)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.normal(self.mean_, self.sd, size)

    @property
    def support(self) -> tuple[float, float]:
        return (-math.inf, math.inf)

    @property
    def mean(self) -> float:
        return self.mean_


class Beta(_Dist):
    """Beta with shape parameters ``a`` and ``b`` (mean ``a / (a + b)``)."""

    dist: Literal["beta"] = "beta"
    a: float = Field(gt=0)
    b: float = Field(gt=0)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.beta(self.a, self.b, size)

    @property
    def support(self) -> tuple[float, float]:
        return (0.0, 1.0)

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)


Distribution = Annotated[
    Constant | Uniform | Exponential | LogNormal | Normal | Beta,
    Field(discriminator="dist"),
]
"""Any distribution, tagged by its ``dist`` key in scenario files."""

DIST_TAGS = ("constant", "uniform", "exponential", "lognormal", "normal", "beta")

Quantity = float | Distribution
"""A scenario value that is either a plain number or a distribution."""


def sample(value: float | _Dist, rng: np.random.Generator, size: int) -> np.ndarray:
    """Draw ``size`` values of a quantity (a number is repeated, no draw is made).

    Args:
        value: A plain number or a distribution model.
        rng: The generator to draw from.
        size: How many values.

    Returns:
        A float array of length ``size``.
    """
    if isinstance(value, _Dist):
        return value.sample(rng, size)
    return np.full(size, float(value))


def support(value: float | _Dist) -> tuple[float, float]:
    """The closed interval that contains every value of a quantity."""
    if isinstance(value, _Dist):
        return value.support
    return (float(value), float(value))


def mean(value: float | _Dist) -> float:
    """The expected value of a quantity."""
    if isinstance(value, _Dist):
        return value.mean
    return float(value)


def check_support(value: float | _Dist, low: float, high: float, what: str) -> None:
    """Raise ``ValueError`` unless every value of ``value`` lies in ``[low, high]``.

    Used inside pydantic validators, so the error lands on the right key path.

    Args:
        value: A plain number or a distribution.
        low: Smallest allowed value.
        high: Largest allowed value.
        what: What the quantity is, for the message (``"a probability"``).
    """
    lo, hi = support(value)
    if lo < low or hi > high:
        if isinstance(value, _Dist):
            raise ValueError(
                f"must be {what} in [{low:g}, {high:g}], but a {value.dist} distribution "
                f"can produce values in [{lo:g}, {hi:g}]"
            )
        raise ValueError(f"must be {what} in [{low:g}, {high:g}]")
