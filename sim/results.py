"""The result of one run, and how it is written to disk.

A :class:`RunResult` holds the summary row (a dict whose keys are
:data:`~sim.metrics.SUMMARY_SCHEMA`), the time series and, when requested, the message
events, as polars DataFrames. :meth:`RunResult.write` stores them as Parquet next to the
fully resolved scenario, so that a run can be repeated exactly.

Main entry points: :class:`RunResult`, :func:`write_atomic`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from sim.metrics import SUMMARY_SCHEMA

if TYPE_CHECKING:
    from sim.config import ScenarioConfig


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write a file through a temporary name and rename it into place.

    A reader (or a crash) never sees a half-written file.

    Args:
        path: Final location.
        write: Writes the content to the path it is given.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique hidden name in the same folder (so the rename is atomic); created by the
    # writer itself, so the file gets the usual permissions.
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_parquet(frame: pl.DataFrame) -> Callable[[Path], None]:
    # Statistics off and one row group: the file's bytes depend only on the data.
    return lambda p: frame.write_parquet(p, statistics=False, compression="zstd")


@dataclass(frozen=True)
class RunResult:
    """What one run produced.

    Attributes:
        summary: One value per summary column (see the README's output reference).
        timeseries: Shares of each option, accuracy and entropy over simulated time.
        events: Every message (sent, delivered or dropped), or ``None`` if not recorded.
        config: The scenario that was run (its ``seed`` is the run's seed).
        trace: One row per LLM call with what the agent knew and chose (see
            :mod:`sim.llm.trace` and :data:`sim.deliberation.DECISION_SCHEMA`), or
            ``None`` when the run made no LLM call.
    """

    summary: dict[str, Any]
    timeseries: pl.DataFrame
    events: pl.DataFrame | None
    config: ScenarioConfig
    trace: pl.DataFrame | None = None

    def summary_frame(self) -> pl.DataFrame:
        """The summary as a one-row DataFrame with the documented column types."""
        return pl.DataFrame([self.summary], schema=SUMMARY_SCHEMA)

    def write(self, out: Path, scenario_toml: str) -> list[Path]:
        """Write ``summary.parquet``, ``timeseries.parquet``, ``scenario.toml`` and, when
        events were recorded, ``events.parquet``, and when LLM calls were made,
        ``trace.parquet``, into folder ``out``.

        Args:
            out: Output folder (created if missing).
            scenario_toml: The resolved scenario, as TOML text.

        Returns:
            The paths written.
        """
        files = {
            "summary.parquet": _write_parquet(self.summary_frame()),
            "timeseries.parquet": _write_parquet(self.timeseries),
            "scenario.toml": lambda p: p.write_text(scenario_toml, encoding="utf-8"),
        }
        if self.events is not None:
            files["events.parquet"] = _write_parquet(self.events)
        if self.trace is not None:
            files["trace.parquet"] = _write_parquet(self.trace)
        written = []
        for name, write in files.items():
            write_atomic(out / name, write)
            written.append(out / name)
        return written
