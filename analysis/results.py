"""Reading the output folder of a parameter sweep.

A sweep writes one folder: ``manifest.json`` (what was swept, how, with which versions),
``runs/*.parquet`` (chunks of one row per run: ``run_id``, ``point_id``, ``replicate``,
``status``, ``error``, one column per swept key path, then every summary column) and,
optionally, ``timeseries/*.parquet`` (``run_id`` plus the time-series columns). This
module turns that folder back into polars frames, lazily by default so that a large sweep
is filtered and aggregated before anything is read.

Main entry points: :func:`load`, :func:`load_manifest`, :func:`load_timeseries`,
:class:`ResultsError`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, overload

import polars as pl

MANIFEST = "manifest.json"
RUNS = "runs"
TIMESERIES = "timeseries"


class ResultsError(ValueError):
    """A folder that cannot be read as a sweep output.

    The message names the folder and says what is missing (the folder itself, its
    manifest, or its run chunks).
    """


def _chunks(sweep_dir: Path, sub: str, what: str) -> list[Path]:
    """The Parquet chunks of ``sweep_dir/sub``, in name order, or a clear error."""
    if not sweep_dir.is_dir():
        raise ResultsError(f"{sweep_dir}: not a sweep output (no such folder)")
    folder = sweep_dir / sub
    if not folder.is_dir():
        raise ResultsError(
            f"{sweep_dir}: not a sweep output, or it has no {what} yet (no {sub}/ folder)"
        )
    # Hidden files are temporaries of a writer still at work (atomic renames).
    files = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))
    if not files:
        raise ResultsError(
            f"{sweep_dir}: the sweep has no {what} yet ({sub}/ has no .parquet files)"
        )
    return files


def _common_schema(files: list[Path]) -> pl.Schema:
    """The schema all chunks fit: each column with the supertype of its types.

    Chunks are written independently, so a column that is all null in one chunk may be
    stored there as ``Null``, or a parameter whose values in one chunk happen to be
    whole numbers as ``Int64``. Only the file footers are read.
    """
    empties = [pl.DataFrame(schema=pl.read_parquet_schema(f)) for f in files]
    return pl.concat(empties, how="diagonal_relaxed").schema


def _scan(files: list[Path]) -> pl.LazyFrame:
    return pl.scan_parquet(
        files,
        schema=_common_schema(files),
        # A chunk without a column (e.g. ``share_2`` when the number of options was
        # swept) gets it as nulls.
        missing_columns="insert",
        cast_options=pl.ScanCastOptions(
            integer_cast=["upcast", "allow-float"], float_cast="upcast"
        ),
    )


@overload
def load(path: str | Path, *, lazy: Literal[True] = ...) -> pl.LazyFrame: ...
@overload
def load(path: str | Path, *, lazy: Literal[False]) -> pl.DataFrame: ...
@overload
def load(path: str | Path, *, lazy: bool) -> pl.LazyFrame | pl.DataFrame: ...
def load(path: str | Path, *, lazy: bool = True) -> pl.LazyFrame | pl.DataFrame:
    """The runs of a sweep: one row per run, every chunk of ``runs/`` together.

    Args:
        path: The sweep folder (the one holding ``manifest.json`` and ``runs/``).
        lazy: Return a ``LazyFrame`` (nothing is read until it is collected); ``False``
            reads everything into a ``DataFrame``.

    Returns:
        Columns ``run_id``, ``point_id``, ``replicate``, ``status`` (``"ok"`` or
        ``"error"``), ``error``, one per swept key path, then the summary columns (null
        on error rows), in the order of the chunks' file names.

    Raises:
        ResultsError: The folder does not exist, is not a sweep output, or has no run
            chunks yet.
    """
    frame = _scan(_chunks(Path(path), RUNS, "runs"))
    return frame if lazy else frame.collect()


def load_timeseries(path: str | Path, lazy: bool = True) -> pl.LazyFrame | pl.DataFrame:
    """The time series of a sweep's runs, when the sweep recorded them.

    Args:
        path: The sweep folder.
        lazy: Return a ``LazyFrame``; ``False`` collects.

    Returns:
        ``run_id`` (join it with :func:`load`) and the time-series columns ``time``,
        ``acted``, ``share_<k>``, ``accuracy``, ``entropy``. A ``share_<k>`` column is
        null for runs with fewer than ``k + 1`` options.

    Raises:
        ResultsError: The folder does not exist or holds no time series.
    """
    frame = _scan(_chunks(Path(path), TIMESERIES, "time series"))
    # Same key type as the runs, so that the two join whatever integer width was written.
    frame = frame.with_columns(pl.col("run_id").cast(pl.Int64))
    return frame if lazy else frame.collect()


def load_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a sweep: its name, resolved scenario, axes, replicates, versions.

    Args:
        path: The sweep folder.

    Raises:
        ResultsError: There is no readable ``manifest.json`` holding a JSON object.
    """
    folder = Path(path)
    file = folder / MANIFEST
    if not file.is_file():
        if not folder.is_dir():
            raise ResultsError(f"{folder}: not a sweep output (no such folder)")
        raise ResultsError(f"{folder}: not a sweep output (no {MANIFEST})")
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{file}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise ResultsError(f"{file}: expected a JSON object, got {type(manifest).__name__}")
    return manifest
