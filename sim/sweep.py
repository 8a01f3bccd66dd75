"""Parameter sweeps: many runs of one scenario, written safely to a Parquet dataset.

A sweep varies key paths of a scenario over a design (grid, zipped lists, Latin
hypercube), runs each point ``replicates`` times, and writes one row per run.

Layout of the output folder::

    DIR/manifest.json            the resolved scenario, the axes, versions, the command
    DIR/runs/part-*.parquet      one row per run (written chunk by chunk)
    DIR/timeseries/part-*.parquet  per-run time series (with ``timeseries=True``)
    DIR/traces/part-*.parquet    LLM call traces (runs with LLM-backed agents; ``run_id``
                                 first, then the columns of a run's ``trace.parquet``)
    DIR/llm-ledger.json          what the sweep's LLM calls spent (``[llm.budget.sweep]``)

Guarantees:

* **Deterministic.** Run ``k``'s seed is derived from the scenario seed and ``k`` alone
  (:func:`run_seed`), so results do not depend on the number of workers or the executor,
  and any run can be repeated by itself (``sim run --from DIR --run-id K``).
* **Safe.** Each finished batch of runs is written as a new chunk through an atomic
  rename; nothing already written is ever rewritten. An interrupted sweep (Ctrl-C, a
  killed process, a crashed worker) loses at most the runs in flight, and running the
  same sweep again runs only what is missing. A run that raises becomes a row with
  ``status = "error"`` and the message, and the sweep goes on.

Main entry points: :func:`sweep`, :class:`SweepPlan`, :func:`run_seed`, :func:`load_run`.
"""

from __future__ import annotations

import itertools
import json
import math
import platform
import signal
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from pydantic import ValidationError

from sim.config import ScenarioConfig, SweepConfig
from sim.errors import ScenarioError
from sim.metrics import SUMMARY_SCHEMA
from sim.results import RunResult, write_atomic
from sim.scenario import Scenario, apply_overrides, format_validation_error
from sim.streams import Component

RUN_COLUMNS: dict[str, pl.DataType] = {
    "run_id": pl.Int64(),
    "point_id": pl.Int64(),
    "replicate": pl.Int64(),
    "status": pl.String(),
    "error": pl.String(),
}
"""Bookkeeping columns that come first in every row, before the swept parameters."""

_UNSWEEPABLE = {"seed", "name", "description", "sweep"}


def run_seed(base_seed: int, run_id: int) -> int:
    """Seed of run ``run_id`` of a sweep of a scenario with seed ``base_seed``.

    A hash of both (``numpy.random.SeedSequence``), so different base seeds give
    unrelated run seeds, and a run's seed never depends on the others.
    """
    state = np.random.SeedSequence(base_seed, spawn_key=(int(Component.SWEEP), run_id))
    return int(state.generate_state(1, np.uint64)[0] >> np.uint64(1))


@dataclass(frozen=True)
class PlannedRun:
    """One run of a sweep: its id, parameter point, replicate index and seed."""

    run_id: int
    point_id: int
    replicate: int
    seed: int


@dataclass(frozen=True)
class SweepPlan:
    """The runs of a sweep: parameter points times replicates.

    Attributes:
        spec: The sweep axes.
        points: Parameter values (key path -> value) of each point, in point order.
        base_seed: The scenario's seed, from which every run's seed is derived.
    """

    spec: SweepConfig
    points: list[dict[str, Any]]
    base_seed: int

    @classmethod
    def from_spec(cls, spec: SweepConfig, base_seed: int) -> SweepPlan:
        """Expand the axes into points (grid × zip × sample, in that nesting order)."""
        grid = list(itertools.product(*spec.grid.values()))
        zipped = list(zip(*spec.zip.values(), strict=True)) or [()]
        sampled: list[tuple[float, ...]] = [()]
        if spec.sample is not None:
            from scipy.stats import qmc

            # The design is seeded from the scenario seed: the same sweep, the same points.
            rng = np.random.default_rng(
                np.random.SeedSequence(base_seed, spawn_key=(int(Component.SWEEP), -1 % 2**32))
            )
            unit = qmc.LatinHypercube(d=len(spec.ranges), rng=rng).random(spec.sample)
            lows = [low for low, _ in spec.ranges.values()]
            highs = [high for _, high in spec.ranges.values()]
            scaled = unit * (np.array(highs) - np.array(lows)) + np.array(lows)
            sampled = [tuple(float(v) for v in row) for row in scaled]
        points = [
            dict(zip(spec.parameters, (*g, *z, *s), strict=True))
            for g in grid
            for z in zipped
            for s in sampled
        ]
        return cls(spec, points, base_seed)

    @property
    def total(self) -> int:
        """Number of runs."""
        return len(self.points) * self.spec.replicates

    def run(self, run_id: int) -> PlannedRun:
        """The planned run with this id (``point_id * replicates + replicate``)."""
        if not 0 <= run_id < self.total:
            raise ScenarioError(f"run id {run_id} is not in this sweep (0..{self.total - 1})")
        point, replicate = divmod(run_id, self.spec.replicates)
        return PlannedRun(run_id, point, replicate, run_seed(self.base_seed, run_id))

    def runs(self) -> Iterator[PlannedRun]:
        """Every planned run, in run-id order."""
        return (self.run(k) for k in range(self.total))


def parameter_types(plan: SweepPlan) -> dict[str, pl.DataType]:
    """The column type of each swept parameter, from all the values it takes."""
    types: dict[str, pl.DataType] = {}
    for key in plan.spec.parameters:
        values = [point[key] for point in plan.points]
        if all(isinstance(v, bool) for v in values):
            types[key] = pl.Boolean()
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            types[key] = pl.Int64()
        elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            types[key] = pl.Float64()
        else:
            types[key] = pl.String()  # strings, and tables/lists as JSON text
    return types


def _column_value(value: Any, dtype: pl.DataType) -> Any:
    if isinstance(dtype, pl.String) and not isinstance(value, str):
        return json.dumps(value, sort_keys=True)
    if isinstance(dtype, pl.Float64):
        return float(value)
    return value


def run_schema(types: Mapping[str, pl.DataType]) -> dict[str, pl.DataType]:
    """Columns of ``runs/*.parquet``: bookkeeping, swept parameters, summary metrics."""
    return {**RUN_COLUMNS, **types, **SUMMARY_SCHEMA}


# --------------------------------------------------------------------------- workers


@dataclass(frozen=True)
class Batch:
    """A unit of work sent to a worker: runs and what is needed to build them."""

    scenario: dict[str, Any]
    base_dir: str | None
    points: dict[int, dict[str, Any]]
    runs: list[PlannedRun]
    types: dict[str, pl.DataType]
    timeseries: bool
    ledger: str | None = None
    """The sweep's LLM budget ledger file (shared by every worker)."""


@dataclass(frozen=True)
class BatchResult:
    """What a worker sends back: the run rows, the time series if asked, and the LLM
    call traces of runs that made calls."""

    runs: pl.DataFrame
    timeseries: pl.DataFrame | None
    traces: pl.DataFrame | None = None


def run_batch(batch: Batch) -> BatchResult:
    """Run a batch of planned runs; a run that raises becomes an error row.

    This is the function workers execute (any process; it only needs ``sim``).
    """
    base_dir = Path(batch.base_dir) if batch.base_dir is not None else None
    scenarios: dict[int, Scenario | str] = {}
    rows: list[dict[str, Any]] = []
    series: list[pl.DataFrame] = []
    traces: list[pl.DataFrame] = []
    for planned in batch.runs:
        point = batch.points[planned.point_id]
        if planned.point_id not in scenarios:
            try:
                scenarios[planned.point_id] = Scenario.from_dict(
                    batch.scenario, point, base_dir=base_dir, source="sweep point"
                )
            except ScenarioError as exc:
                scenarios[planned.point_id] = str(exc)
        scenario = scenarios[planned.point_id]
        row: dict[str, Any] = {
            "run_id": planned.run_id,
            "point_id": planned.point_id,
            "replicate": planned.replicate,
            "status": "ok",
            "error": None,
        }
        row |= {k: _column_value(point[k], t) for k, t in batch.types.items()}
        try:
            if isinstance(scenario, str):
                raise ScenarioError(scenario)
            result = _run_one(scenario, planned.seed, batch.ledger)
            row |= result.summary
            run_id = pl.lit(planned.run_id, dtype=pl.Int64).alias("run_id")
            if batch.timeseries:
                series.append(result.timeseries.select(run_id, pl.all()))
            if result.trace is not None:
                traces.append(result.trace.select(run_id, pl.all()))
        except Exception as exc:  # a failing run must not stop the sweep
            row |= dict.fromkeys(SUMMARY_SCHEMA) | {"seed": planned.seed}
            row |= {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
        rows.append(row)
    frame = pl.DataFrame(rows, schema=run_schema(batch.types), orient="row")
    timeseries = pl.concat(series, how="diagonal") if series else None
    return BatchResult(frame, timeseries, pl.concat(traces) if traces else None)


def _run_one(scenario: Scenario, seed: int, ledger: str | None) -> RunResult:
    """One run of a sweep; LLM-backed agents share the sweep's budget ledger."""
    if not scenario.config.has_llm_agents:
        return scenario.run(seed=seed)
    from sim.llm import LLMClient, LLMConfig

    with LLMClient.from_config(scenario.config.llm or LLMConfig(), ledger_path=ledger) as client:
        return scenario.run(seed=seed, llm_client=client)


def _ignore_sigint() -> None:
    # Ctrl-C is the main process's to handle: it stops handing out work and says how to
    # resume; workers finish (or are ended with) their batch quietly.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_serially(
    batches: Sequence[Batch], workers: int, scheduler: str | None
) -> Iterator[BatchResult]:
    for batch in batches:
        yield run_batch(batch)


def _run_in_processes(
    batches: Sequence[Batch], workers: int, scheduler: str | None
) -> Iterator[BatchResult]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # forkserver: no fork of a process whose libraries (polars) run threads; preloading
    # sim makes each worker start fast.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["sim"])
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_ignore_sigint)
    try:
        futures = [pool.submit(run_batch, batch) for batch in batches]
        for future in as_completed(futures):
            yield future.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _run_on_dask(
    batches: Sequence[Batch], workers: int, scheduler: str | None
) -> Iterator[BatchResult]:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise ScenarioError(
            "--executor dask needs dask.distributed: pip install 'societysim[dask]'"
        ) from exc
    import logging

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as exc:
            raise ScenarioError(
                f"cannot reach the Dask scheduler at {scheduler}: {exc}; start one with "
                "'dask scheduler' or leave out --scheduler for a local cluster"
            ) from exc
    try:
        futures = [client.submit(run_batch, batch, pure=False) for batch in batches]
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


EXECUTORS: dict[str, Callable[[Sequence[Batch], int, str | None], Iterator[BatchResult]]] = {
    "serial": _run_serially,
    "local": _run_in_processes,
    "dask": _run_on_dask,
}
"""How batches are run: in this process, in a local process pool, or on Dask."""


# --------------------------------------------------------------------------- storage


class SweepStore:
    """The output folder of a sweep: manifest, run chunks and time-series chunks.

    Args:
        root: The folder (created if missing).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runs_dir = root / "runs"
        self.timeseries_dir = root / "timeseries"
        self.traces_dir = root / "traces"
        self.ledger_path = root / "llm-ledger.json"

    @property
    def manifest_path(self) -> Path:
        """Where the manifest lives."""
        return self.root / "manifest.json"

    def open(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Start or resume: write the manifest, or check that the existing one matches.

        Returns:
            The manifest in force (the existing one when resuming).

        Raises:
            ScenarioError: The folder holds a different sweep.
        """
        if self.root.exists() and not self.root.is_dir():
            raise ScenarioError(f"--out {self.root} exists and is not a folder")
        if self.manifest_path.exists():
            existing: dict[str, Any] = json.loads(self.manifest_path.read_text())
            for key in ("scenario", "axes", "replicates"):
                if _canonical(existing.get(key)) != _canonical(manifest[key]):
                    raise ScenarioError(
                        f"{self.root} holds a different sweep (its {key} differs); "
                        "give another --out folder, or delete this one to start over"
                    )
            self._remove_orphans()
            return existing
        if self.root.exists() and any(self.root.iterdir()):
            raise ScenarioError(
                f"{self.root} is not empty and has no manifest.json: not a sweep folder; "
                "give another --out folder"
            )
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        # Key order is meaningful (it fixes the order of the points): never sort it.
        text = json.dumps(manifest, indent=2)
        write_atomic(self.manifest_path, lambda p: p.write_text(text))
        return manifest

    def _remove_orphans(self) -> None:
        # Time-series and trace chunks are written before their run chunk (which commits the
        # batch); one without a run chunk belongs to a batch that was cut short.
        for folder in (self.runs_dir, self.timeseries_dir, self.traces_dir):
            for stale in folder.glob(".*.tmp"):
                stale.unlink()  # a write cut short by the interruption
        committed = {p.name for p in self.runs_dir.glob("part-*.parquet")}
        for folder in (self.timeseries_dir, self.traces_dir):
            for part in folder.glob("part-*.parquet"):
                if part.name not in committed:
                    part.unlink()

    def done(self) -> set[int]:
        """Ids of the runs already written (ok or error)."""
        parts = sorted(self.runs_dir.glob("part-*.parquet"))
        if not parts:
            return set()
        ids = pl.scan_parquet(parts).select("run_id").collect()["run_id"]
        return set(ids.to_list())

    def write(self, result: BatchResult) -> None:
        """Add one batch's chunk(s), each by atomic rename."""
        ids = result.runs["run_id"]
        first, last = int(ids.min()), int(ids.max())  # type: ignore[arg-type]
        name = f"part-{first:09d}-{last:09d}-{uuid.uuid4().hex[:8]}.parquet"
        if result.timeseries is not None:
            frame = result.timeseries
            write_atomic(self.timeseries_dir / name, lambda p: frame.write_parquet(p))
        if result.traces is not None:
            traces = result.traces
            write_atomic(self.traces_dir / name, lambda p: traces.write_parquet(p))
        write_atomic(self.runs_dir / name, lambda p: result.runs.write_parquet(p))

    def read(self) -> pl.DataFrame:
        """Every run written so far, ordered by run id."""
        parts = sorted(self.runs_dir.glob("part-*.parquet"))
        if not parts:
            return pl.DataFrame()
        return pl.read_parquet(parts).sort("run_id")


def _canonical(value: Any) -> str:
    return json.dumps(value, default=str)


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("societysim", "numpy", "polars", "pyarrow", "simpy", "mesa", "networkx"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


# --------------------------------------------------------------------------- the sweep


def resolve_spec(
    base: SweepConfig | None,
    *,
    grid: Mapping[str, Sequence[Any]] | None = None,
    zip: Mapping[str, Sequence[Any]] | None = None,
    sample: int | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    replicates: int | None = None,
) -> SweepConfig:
    """The sweep to run: the scenario's ``[sweep]`` table with the given parts replaced.

    Each given part (``grid``, ``zip``, ``sample`` with ``ranges``, ``replicates``)
    replaces the table's own entirely.

    Raises:
        ScenarioError: The combined axes are inconsistent.
    """
    data = (base or SweepConfig()).model_dump()
    if grid:
        data["grid"] = {k: list(v) for k, v in grid.items()}
    if zip:
        data["zip"] = {k: list(v) for k, v in zip.items()}
    if sample is not None or ranges:
        data["sample"], data["ranges"] = sample, dict(ranges or {})
    if replicates is not None:
        data["replicates"] = replicates
    try:
        return SweepConfig.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc, "sweep")) from None


def _check_points(scenario: dict[str, Any], plan: SweepPlan, source: str) -> None:
    """Reject a sweep whose points are not valid scenarios (typo in a key, bad value)."""
    bad = [k for k in plan.spec.parameters if k.split(".")[0] in _UNSWEEPABLE]
    if bad:
        raise ScenarioError(
            f"cannot sweep {', '.join(bad)}: each run's seed is derived from the scenario "
            "seed and the run id; use replicates for repeated runs"
        )
    for point_id, point in enumerate(plan.points):
        try:
            ScenarioConfig.model_validate(apply_overrides(scenario, point))
        except ValidationError as exc:
            where = ", ".join(f"{k}={v!r}" for k, v in point.items())
            raise ScenarioError(
                format_validation_error(exc, f"{source} (sweep point {point_id}: {where})")
            ) from None


def plan_batches(
    todo: list[PlannedRun],
    workers: int,
    scenario: Scenario,
    plan: SweepPlan,
    types: dict[str, pl.DataType],
    timeseries: bool,
    ledger: str | None = None,
) -> list[Batch]:
    """Cut the runs to do into batches: several per worker, none too large, so progress
    is smooth and an interruption loses little."""
    size = max(1, min(250, math.ceil(len(todo) / (max(workers, 1) * 8))))
    data = scenario.to_dict()
    base_dir = None if scenario.base_dir is None else str(scenario.base_dir)
    batches = []
    for start in range(0, len(todo), size):
        runs = todo[start : start + size]
        points = {r.point_id: plan.points[r.point_id] for r in runs}
        batches.append(Batch(data, base_dir, points, runs, types, timeseries, ledger))
    return batches


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; what was finished is saved.

    Attributes:
        done: Runs written so far.
        total: Runs in the sweep.
        out: The output folder.
    """

    def __init__(self, done: int, total: int, out: Path) -> None:
        super().__init__(f"interrupted: {done} of {total} runs saved in {out}")
        self.done, self.total, self.out = done, total, out


def sweep(
    scenario: Scenario,
    *,
    out: str | Path,
    grid: Mapping[str, Sequence[Any]] | None = None,
    zip: Mapping[str, Sequence[Any]] | None = None,
    sample: int | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    replicates: int | None = None,
    workers: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    timeseries: bool = False,
    progress: Any = None,
    command: str | None = None,
) -> pl.DataFrame:
    """Run a parameter sweep and return all its rows (resuming if ``out`` has some).

    Args:
        scenario: The scenario to sweep.
        out: Output folder (see the module docstring for its layout).
        grid: Key path -> values, combined as a cartesian product.
        zip: Key path -> values of equal length, varied together.
        sample: Number of Latin-hypercube points over ``ranges``.
        ranges: Key path -> (low, high) for ``sample``.
        replicates: Runs per point (default: the ``[sweep]`` table's, else 1).
        workers: Worker processes (``executor="local"``) or local Dask workers.
        executor: ``"local"`` (a process pool; in this process when ``workers == 1``),
            ``"dask"`` (a ``dask.distributed`` cluster) or ``"serial"``.
        scheduler: Address of an existing Dask scheduler (default: a local cluster on
            127.0.0.1).
        timeseries: Also write each run's time series.
        progress: A ``rich`` console for a progress bar, or ``None``.
        command: The command line, recorded in the manifest.

    Returns:
        One row per run, ordered by ``run_id``: bookkeeping, swept parameters, metrics.

    Raises:
        ScenarioError: Bad axes, an invalid point, or an output folder holding another
            sweep.
        SweepInterrupted: Ctrl-C; finished runs are saved and a re-run resumes.
    """
    if executor not in EXECUTORS:
        raise ScenarioError(f"unknown executor {executor!r}: use one of {', '.join(EXECUTORS)}")
    if workers < 1:
        raise ScenarioError(f"--workers must be at least 1, got {workers}")
    spec = resolve_spec(
        scenario.config.sweep,
        grid=grid,
        zip=zip,
        sample=sample,
        ranges=ranges,
        replicates=replicates,
    )
    plan = SweepPlan.from_spec(spec, scenario.config.seed)
    data = scenario.to_dict()
    _check_points(data, plan, scenario.source)
    types = parameter_types(plan)
    store = SweepStore(Path(out))
    store.open(
        {
            "name": scenario.name,
            "scenario": data,
            "parameters": spec.parameters,
            "axes": {
                "grid": spec.grid,
                "zip": spec.zip,
                "sample": None
                if spec.sample is None
                else {"n": spec.sample, "ranges": {k: list(v) for k, v in spec.ranges.items()}},
            },
            "replicates": spec.replicates,
            "runs": plan.total,
            "metrics": list(SUMMARY_SCHEMA),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "versions": _versions(),
            "command": command or "sim.sweep(...)",
        }
    )
    done = store.done()
    todo = [run for run in plan.runs() if run.run_id not in done]
    if executor == "local" and workers == 1:
        executor = "serial"
    ledger = str(store.ledger_path) if scenario.config.has_llm_agents else None
    batches = plan_batches(todo, workers, scenario, plan, types, timeseries, ledger)
    bar = _progress(progress, plan.total, len(done))
    try:
        for result in EXECUTORS[executor](batches, workers, scheduler):
            store.write(result)
            if bar is not None:
                bar.advance(result.runs.height)
    except KeyboardInterrupt:
        raise SweepInterrupted(len(store.done()), plan.total, store.root) from None
    finally:
        if bar is not None:
            bar.close()
    return store.read()


class _Bar:
    """A rich progress bar with rate and ETA."""

    def __init__(self, console: Any, total: int, completed: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("sweep"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
        )
        self._task = self._progress.add_task("sweep", total=total, completed=completed, rate="")
        self._start = time.perf_counter()
        self._new = 0
        self._progress.start()

    def advance(self, count: int) -> None:
        self._new += count
        rate = self._new / max(time.perf_counter() - self._start, 1e-9)
        self._progress.update(self._task, advance=count, rate=f"{rate:,.0f} runs/s")

    def close(self) -> None:
        self._progress.stop()


def _progress(console: Any, total: int, completed: int) -> _Bar | None:
    return None if console is None else _Bar(console, total, completed)


def load_run(folder: str | Path, run_id: int) -> tuple[Scenario, int]:
    """The scenario (with the run's parameter values) and seed of one run of a sweep.

    Raises:
        ScenarioError: ``folder`` is not a sweep output, or has no such run.
    """
    manifest_path = Path(folder) / "manifest.json"
    if not manifest_path.exists():
        raise ScenarioError(f"{folder} is not a sweep output folder (no manifest.json)")
    manifest = json.loads(manifest_path.read_text())
    axes = manifest["axes"]
    sample = axes.get("sample") or {}
    spec = SweepConfig(
        replicates=manifest["replicates"],
        grid=axes["grid"],
        zip=axes["zip"],
        sample=sample.get("n"),
        ranges={k: tuple(v) for k, v in sample.get("ranges", {}).items()},
    )
    plan = SweepPlan.from_spec(spec, manifest["scenario"]["seed"])
    planned = plan.run(run_id)
    scenario = Scenario.from_dict(
        manifest["scenario"], plan.points[planned.point_id], source=str(manifest_path)
    )
    return scenario, planned.seed
