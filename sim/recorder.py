"""What a run remembers as it goes: positions, announcements, and the time series.

The recorder keeps running counts (how many agents hold each option, how many
announcements contradicted the announcer's signal, when consensus was reached) so that
every quantity of the time series and most of the summary are O(1) to read.

The time series is sampled on a regular grid of simulated time (``[record] interval``).
The row at grid time ``t`` is the state after every event at times ``<= t``; rows are
written lazily, just before the state next changes, so sampling costs nothing while
nothing happens. A last row is written at the final time of the run.

Main entry point: :class:`Recorder`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl

from sim import rules
from sim.agents.bayesian import PublicBeliefs, cascade_action


class CascadeObserver:
    """An outside Bayesian who watches every agent's first announcement, in order.

    It interprets each announcement as BHW would (see :mod:`sim.agents.bayesian`) and says
    whether, at each moment, the public evidence is strong enough that the next agent
    would act the same whatever its signal: a cascade.

    Args:
        tree: The public beliefs for the prior, accuracy and tie rule it attributes to the
            agents (shared with the society's Bayesian agents when they match).
    """

    def __init__(self, tree: PublicBeliefs) -> None:
        self.tree = tree
        self.node = tree.ROOT
        self.onset: int | None = None
        self.count = 0

    def observe(self, option: int) -> None:
        """Take in the next agent's first announcement."""
        if self.onset is None and self.action() is not None:
            self.onset = self.count
        self.node = self.tree.step(self.node, (option,))
        self.count += 1

    def action(self) -> int | None:
        """The cascade action now, or ``None`` if the next agent's signal still matters."""
        return cascade_action(self.tree.belief(self.node), self.tree.accuracy, self.tree.tie_rule)


class Recorder:
    """Running state of a run, its time series, and its announcement statistics.

    Args:
        n_agents: Population size.
        options: Number of options K.
        truth: Index of the true option.
        interval: Time-series grid spacing (simulated time).
        observer: The cascade observer, or ``None`` when cascades are not defined for the
            protocol.
    """

    def __init__(
        self,
        n_agents: int,
        options: int,
        truth: int,
        interval: float,
        observer: CascadeObserver | None,
    ) -> None:
        self.n = n_agents
        self.options = options
        self.truth = truth
        self.interval = interval
        self.observer = observer
        self.counts = np.zeros(options, dtype=np.int64)
        self.acted = 0
        self.consensus_since: float | None = None
        self.announcements = 0
        self.herding = 0
        self.first_option: int | None = None
        self._announced: set[int] = set()
        self._next_sample = 0.0
        self._rows: list[tuple[float, ...]] = []

    # -- state changes -------------------------------------------------------------------

    def position(self, agent: int, old: int | None, new: int, now: float) -> None:
        """An agent's choice changed from ``old`` (``None``: first choice) to ``new``."""
        self._sample_until(now)
        if old is None:
            self.acted += 1
        else:
            self.counts[old] -= 1
        self.counts[new] += 1
        if self.counts[new] == self.n:
            self.consensus_since = now
        elif self.consensus_since is not None and self.counts.max() < self.n:
            self.consensus_since = None

    def announcement(self, agent: int, option: int, signal: int, now: float) -> None:
        """An agent broadcast ``option``; its private signal was ``signal``."""
        self.announcements += 1
        if option != signal:
            self.herding += 1
        if self.first_option is None:
            self.first_option = option
        if agent not in self._announced:
            self._announced.add(agent)
            if self.observer is not None:
                self.observer.observe(option)

    @property
    def consensus(self) -> bool:
        """Whether every agent currently holds the same option."""
        return self.consensus_since is not None

    # -- time series ---------------------------------------------------------------------

    def _sample_until(self, now: float) -> None:
        """Write grid rows for every grid time strictly before ``now``."""
        while self._next_sample < now:
            self._rows.append(self._row(self._next_sample))
            self._next_sample += self.interval

    def _row(self, time: float) -> tuple[float, ...]:
        # Plain Python on K numbers: far cheaper than numpy calls on tiny arrays.
        counts = self.counts.tolist()
        shares = [c / self.n for c in counts]
        entropy = rules.entropy_bits(self.counts)
        return (time, float(self.acted), *shares, shares[self.truth], entropy)

    def finish(self, now: float) -> None:
        """Write the remaining grid rows up to ``now`` and a final row at ``now``."""
        self._sample_until(math.nextafter(now, math.inf))
        if not self._rows or self._rows[-1][0] != now:
            self._rows.append(self._row(now))

    def timeseries(self) -> pl.DataFrame:
        """The time series: one row per grid time (and the final time); see
        :func:`timeseries_frame`."""
        return timeseries_frame(self._rows, self.options)


def timeseries_frame(rows: Sequence[Sequence[float]] | np.ndarray, options: int) -> pl.DataFrame:
    """The time series of a run from its rows (both engines write the same rows).

    Columns: ``time``, ``acted`` (agents that have chosen), ``share_<k>`` (fraction of all
    agents holding option k), ``accuracy`` (fraction holding the truth), ``entropy``
    (bits, of the distribution of choices among those who chose), ``distinct`` (number
    of different answers held: hypothesis diversity).
    """
    names = ["time", "acted", *[f"share_{k}" for k in range(options)], "accuracy", "entropy"]
    schema = {name: pl.Float64 for name in names}
    if isinstance(rows, np.ndarray):
        frame = pl.DataFrame(rows, schema=schema, orient="row")
    else:
        frame = pl.DataFrame(list(rows), schema=schema, orient="row")
    distinct = pl.sum_horizontal([pl.col(f"share_{k}") > 0 for k in range(options)])
    return frame.with_columns(
        pl.col("acted").cast(pl.Int64), distinct.cast(pl.Int64).alias("distinct")
    )
