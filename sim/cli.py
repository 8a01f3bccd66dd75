"""The ``sim`` command line.

``sim run`` runs one scenario and writes its outputs; ``sim validate`` reproduces the
theoretical results the engine is checked against and prints them side by side.

User errors (a bad scenario, a bad flag, a missing file) print one ``error:`` line per
problem and exit with status 2; they never show a traceback.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sim.errors import ScenarioError
from sim.llm.config import LLMConfig
from sim.results import write_atomic

app = typer.Typer(
    name="sim",
    help="Discrete-event simulation of agent societies: herding, cascades, collective judgement.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
console = Console()
errors = Console(stderr=True, soft_wrap=True)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "null" if value is None else str(value)


SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a value by key path, e.g. --set world.signal_accuracy=0.6 "
        "(repeatable; the value is read as TOML, bare words as strings).",
        metavar="KEY=VALUE",
    ),
]


EngineOption = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="auto (default: the fast compiled engine when it supports the scenario), "
        "simpy or fast. Overrides the scenario's engine key.",
        metavar="ENGINE",
    ),
]


def _engine_override(engine: str | None) -> dict[str, Any]:
    if engine is None:
        return {}
    if engine not in ("auto", "simpy", "fast"):
        raise ScenarioError(f"--engine {engine!r}: expected auto, simpy or fast")
    return {"engine": engine}


class _RunProgress:
    """A progress line for one long run (events and simulated time), on a terminal."""

    def __init__(self, max_time: float | None) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.max_time = max_time
        columns: list[Any] = [TextColumn("[bold]running")]
        if max_time is not None:
            columns.append(BarColumn())
        columns += [TextColumn("{task.fields[detail]}"), TimeElapsedColumn()]
        self.bar = Progress(*columns, console=errors, transient=True)
        self.task = self.bar.add_task("run", total=max_time, detail="")

    def __call__(self, events: int, now: float) -> None:
        self.bar.update(self.task, completed=now, detail=f"{events:,} events, t = {now:.4g}")

    def __enter__(self) -> _RunProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()


@app.command()
def run(
    scenario: Annotated[
        Path | None,
        typer.Argument(help="Scenario TOML file (or use --from).", metavar="SCENARIO"),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Root seed (default: the scenario's seed).", min=0)
    ] = None,
    set_: SetOption = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: results/<name>/seed-<seed>)."),
    ] = None,
    events: Annotated[
        bool, typer.Option("--events", help="Also write events.parquet (every message).")
    ] = False,
    from_: Annotated[
        Path | None,
        typer.Option("--from", help="Repeat one run of this sweep folder (with --run-id)."),
    ] = None,
    run_id: Annotated[
        int | None, typer.Option("--run-id", help="Which run of the --from sweep.", min=0)
    ] = None,
    engine: EngineOption = None,
) -> None:
    """Run one scenario; write summary.parquet, timeseries.parquet, scenario.toml
    (and events.parquet with --events) and print the summary.

    The same seed and scenario give byte-identical files, except for the wall_seconds
    column of the summary.
    """
    from sim.scenario import load, parse_override

    overrides = dict(parse_override(item) for item in set_ or [])
    overrides.update(_engine_override(engine))
    if from_ is not None:
        if run_id is None or scenario is not None:
            raise ScenarioError("--from DIR needs --run-id K and no SCENARIO argument")
        from sim.sweep import load_run

        loaded, swept_seed = load_run(from_, run_id)
        if overrides:
            loaded = loaded.with_overrides(overrides)
        seed = swept_seed if seed is None else seed
    elif scenario is None:
        raise ScenarioError("give a SCENARIO file, or --from DIR --run-id K")
    elif run_id is not None:
        raise ScenarioError("--run-id goes with --from DIR")
    else:
        loaded = load(scenario, overrides)
    run_seed = loaded.config.seed if seed is None else seed
    if errors.is_terminal:
        with _RunProgress(loaded.config.stop.max_time) as progress:
            result = loaded.run(seed=run_seed, events=events, progress=progress)
    else:
        result = loaded.run(seed=run_seed, events=events)
    folder = out if out is not None else Path("results") / loaded.name / f"seed-{run_seed}"
    written = result.write(folder, loaded.to_toml(seed=run_seed))

    table = Table(title=f"{loaded.name} (seed {run_seed})", show_header=False)
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    for key, value in result.summary.items():
        table.add_row(key, _fmt(value))
    console.print(table)
    if result.trace is not None:
        console.print(_llm_line(result.trace, result.summary), markup=False)
    console.print(f"wrote {', '.join(p.name for p in written)} to {folder}")


def _llm_line(trace: Any, summary: dict[str, Any]) -> str:
    """One line on a run's LLM calls: answered, from the cache, sent, and a budget stop."""
    cached = int(trace["cache_hit"].sum())
    sent = int((trace["attempts"] > 0).sum())
    line = (
        f"LLM: {summary['llm_calls']} calls ({cached} answered from the cache, {sent} sent), "
        f"{summary['llm_abstentions']} abstentions, {summary['llm_failures']} failures, "
        f"{summary['llm_tokens']:,} tokens, ${summary['llm_cost_usd']:.4f}"
    )
    if summary["stop_reason"] == "budget":
        line += "; stopped by the LLM budget (results so far are written)"
    return line


@app.command()
def episodes(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.", metavar="SCENARIO")],
    count: Annotated[int, typer.Option(help="Episodes to run in sequence.", min=1)],
    out: Annotated[Path, typer.Option(help="Parquet file for one summary row per episode.")],
    seed: Annotated[
        int | None, typer.Option(help="Seed of the first episode (default: the scenario's).")
    ] = None,
    set_: SetOption = None,
) -> None:
    """Run a sequence of episodes (seeds seed, seed+1, ...). With [institution.memory],
    each episode reads the notebook the previous one wrote, so the rows show how the
    society improves with memory (compare a run with memory.read = false)."""
    import polars as pl

    from sim.scenario import load, parse_override

    loaded = load(scenario, dict(parse_override(item) for item in set_ or []))
    frame = loaded.episodes(count, seed)
    write_atomic(out, lambda p: frame.write_parquet(p, statistics=False, compression="zstd"))
    half = max(1, count // 2)
    correct = frame["group_correct"].cast(pl.Float64).to_numpy()
    early, late = float(correct[:half].mean()), float(correct[half:].mean() if count > 1 else 0)
    console.print(
        f"{count} episodes: group accuracy {early:.3f} in the first {half}, "
        f"{late:.3f} in the rest; wrote {out}",
        markup=False,
    )


@app.command()
def estimate(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.", metavar="SCENARIO")],
    seed: Annotated[
        int | None, typer.Option(help="Root seed (default: the scenario's seed).", min=0)
    ] = None,
    runs: Annotated[
        int, typer.Option(help="Runs to estimate (seeds seed, seed+1, ...).", min=1)
    ] = 1,
    set_: SetOption = None,
) -> None:
    """Estimate what an LLM scenario would cost before spending anything: each LLM agent
    is replaced by its stand-in rule; calls, prompt and completion tokens, cost at the
    [llm.prices] and wall time at the backend's concurrency and expected_latency_s are
    counted. No request is sent."""
    from sim.scenario import load, parse_override

    loaded = load(scenario, dict(parse_override(item) for item in set_ or []))
    first = loaded.config.seed if seed is None else seed
    spent = [loaded.estimate(first + k) for k in range(runs)]
    backend = (loaded.config.llm or LLMConfig()).backend
    costs = [s.cost_usd for s in spent]
    title = f"{loaded.name}: LLM estimate for {runs} run{'s' if runs > 1 else ''} from seed {first}"
    table = Table(title=title, show_header=False)
    table.add_column("quantity", style="bold")
    table.add_column("value", justify="right")
    groups: dict[str, int] = {}
    for s in spent:
        for name, count in s.by_group.items():
            groups[name] = groups.get(name, 0) + count
    table.add_row("calls", f"{sum(s.calls for s in spent):,}")
    for name, count in groups.items():
        table.add_row(f"  group {name}", f"{count:,}")
    table.add_row("prompt tokens (estimate)", f"{sum(s.prompt_tokens for s in spent):,}")
    table.add_row("completion tokens (at most)", f"{sum(s.completion_tokens for s in spent):,}")
    table.add_row(
        "cost (USD, at most)",
        "no price in [llm.prices]" if None in costs else f"{sum(c or 0.0 for c in costs):.4f}",
    )
    table.add_row(
        "wall time",
        f"{sum(s.wall_seconds for s in spent):.1f} s at concurrency {backend.concurrency} "
        f"and {backend.expected_latency_s:g} s per call",
    )
    table.add_row("batches (moments with calls)", f"{sum(s.batches for s in spent):,}")
    console.print(table)


def _axis(text: str, option: str) -> tuple[str, list[Any]]:
    """``key.path=v1,v2,...`` -> (key path, typed values)."""
    from sim.scenario import parse_override

    key, raw = parse_override(text)
    if not isinstance(raw, str) and not isinstance(raw, list):
        raw = str(raw)
    values = raw if isinstance(raw, list) else [parse_override(f"v={v}")[1] for v in raw.split(",")]
    if not values or any(v == "" for v in values):
        raise ScenarioError(
            f"{option} {text!r}: expected KEY.PATH=V1,V2,... e.g. world.options=2,3"
        )
    return key, values


def _range(text: str) -> tuple[str, tuple[float, float]]:
    """``key.path=lo:hi`` -> (key path, (lo, hi))."""
    key, _, raw = text.partition("=")
    low, sep, high = raw.partition(":")
    try:
        if not sep:
            raise ValueError
        return key.strip(), (float(low), float(high))
    except ValueError:
        raise ScenarioError(
            f"--range {text!r}: expected KEY.PATH=LOW:HIGH, e.g. world.signal_accuracy=0.5:0.9"
        ) from None


@app.command()
def sweep(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.", metavar="SCENARIO")],
    out: Annotated[Path, typer.Option(help="Output folder (resumed if it holds this sweep).")],
    grid: Annotated[
        list[str] | None,
        typer.Option(
            help="Axis KEY.PATH=V1,V2,... (repeatable; axes combine as a cartesian product).",
            metavar="KEY=V1,V2",
        ),
    ] = None,
    zip_: Annotated[
        list[str] | None,
        typer.Option(
            "--zip",
            help="Axis KEY.PATH=V1,V2,... varied together with the other --zip axes "
            "(equal lengths).",
            metavar="KEY=V1,V2",
        ),
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option(help="Latin-hypercube points over the --range axes.", min=1),
    ] = None,
    range_: Annotated[
        list[str] | None,
        typer.Option("--range", help="Axis KEY.PATH=LOW:HIGH for --sample.", metavar="KEY=LO:HI"),
    ] = None,
    replicates: Annotated[
        int | None, typer.Option(help="Runs per point (default: [sweep] table, else 1).", min=1)
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
    executor: Annotated[
        str, typer.Option(help="local (process pool) or dask.", metavar="local|dask")
    ] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address (default: a local cluster on 127.0.0.1)."),
    ] = None,
    timeseries: Annotated[
        bool, typer.Option("--timeseries", help="Also write each run's time series.")
    ] = False,
    set_: SetOption = None,
    engine: EngineOption = None,
) -> None:
    """Run a parameter sweep: one row per run in OUT/runs/*.parquet, plus OUT/manifest.json.

    Axes given here replace the scenario's [sweep] table's. Seeds are derived from the
    scenario seed and the run id, so results do not depend on --workers or --executor.
    Interrupted? Run the same command again: only missing runs are run.
    """
    from sim.scenario import load, parse_override
    from sim.sweep import SweepInterrupted
    from sim.sweep import sweep as run_sweep

    if executor not in ("local", "dask"):
        raise ScenarioError(f"--executor {executor!r}: use local or dask")
    overrides = dict(parse_override(item) for item in set_ or [])
    overrides.update(_engine_override(engine))
    loaded = load(scenario, overrides)
    started = time.perf_counter()
    try:
        frame = run_sweep(
            loaded,
            out=out,
            grid=dict(_axis(a, "--grid") for a in grid or []),
            zip=dict(_axis(a, "--zip") for a in zip_ or []),
            sample=sample,
            ranges=dict(_range(r) for r in range_ or []),
            replicates=replicates,
            workers=workers,
            executor=executor,
            scheduler=scheduler,
            timeseries=timeseries,
            progress=errors,
            command=" ".join(["sim", *sys.argv[1:]]),
        )
    except SweepInterrupted as stop:
        errors.print(
            f"interrupted: {stop.done} of {stop.total} runs are saved in {stop.out}; "
            "run the same command again to resume",
            markup=False,
        )
        raise typer.Exit(130) from None
    elapsed = time.perf_counter() - started
    ok = int((frame["status"] == "ok").sum())
    failed = frame.height - ok
    console.print(
        f"{frame.height} runs in {out} ({ok} ok, {failed} error"
        f"{'' if failed == 1 else 's'}); this session: {elapsed:.1f} s",
        markup=False,
    )
    if failed:
        first = frame.filter(frame["status"] == "error")["error"][0]
        console.print(f"first error: {first}", markup=False)


@app.command()
def calibrate(
    traces: Annotated[
        list[str],
        typer.Argument(help="trace.parquet files of LLM runs (globs allowed).", metavar="TRACE..."),
    ],
    out: Annotated[Path, typer.Option(help="TOML file to write the calibrated groups to.")],
    holdout: Annotated[
        float, typer.Option(help="Share of runs held out to score the models.", min=0, max=1)
    ] = 0.3,
    seed: Annotated[int, typer.Option(help="Seed of the held-out split.", min=0)] = 0,
    models: Annotated[
        str, typer.Option(help="Stand-in rules to fit, comma-separated.")
    ] = "social,threshold,confidence",
) -> None:
    """Fit stand-in rules (social weight, threshold, confidence-gap switching) by maximum
    likelihood to the decisions of the LLM agents in TRACE files, print held-out log-loss
    against always-own-signal and always-majority baselines, and write the best rule of
    each group as [[population.groups]] entries."""
    from analysis.calibration import calibrate as fit

    calibrations = fit(
        traces, holdout=holdout, seed=seed, models=[m.strip() for m in models.split(",")]
    )
    agents = {c.group: c.agents for c in calibrations}
    total = sum(agents.values())
    parts = []
    for calibration in calibrations:
        console.print(calibration.to_text(), markup=False, highlight=False, soft_wrap=True)
        text = calibration.population_toml()
        if len(calibrations) > 1:  # shares in proportion to the groups' agents
            share = agents[calibration.group] / total
            text = text.replace(
                "# share = ...  (this group's share of the population; default 1)",
                f"share = {share:.6g}  # its agents' share in the traces",
            )
        parts.append(text)
    header = f"# Written by: sim calibrate {' '.join(traces)}\n\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(header + "\n".join(parts), encoding="utf-8")
    console.print(f"wrote {out}", markup=False)


@app.command()
def report(
    folder: Annotated[Path, typer.Argument(help="A sweep output folder.", metavar="DIR")],
    out: Annotated[
        Path | None, typer.Option(help="HTML file to write (default: DIR/report.html).")
    ] = None,
) -> None:
    """Write a self-contained HTML report of a sweep (opens offline): scenario, axes,
    figures chosen from the axes, per-group summaries with confidence intervals,
    provenance."""
    from analysis.report import build_report
    from analysis.results import ResultsError

    try:
        written = build_report(folder, out)
    except ResultsError as exc:
        raise ScenarioError(str(exc)) from None
    console.print(f"wrote {written}", markup=False)


@app.command()
def viz(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.", metavar="SCENARIO")],
    set_: SetOption = None,
    seed: Annotated[
        int | None, typer.Option(help="Root seed (default: the scenario's seed).", min=0)
    ] = None,
    port: Annotated[
        int, typer.Option(help="Port to listen on (0: any free port).", min=0, max=65535)
    ] = 8765,
    host: Annotated[
        str,
        typer.Option(help="Interface to listen on; the default is this machine only."),
    ] = "127.0.0.1",
) -> None:
    """Start the interactive visualizer of a scenario in the browser: the network
    coloured by announcement, live charts, step/play/reset and parameter controls.

    Prints the page's URL; Ctrl-C stops the server.
    """
    from sim.scenario import parse_override
    from sim.viz.server import serve

    overrides = dict(parse_override(item) for item in set_ or [])

    def announce(url: str) -> None:
        console.print(f"Visualizer running at {url} (Ctrl-C to stop)", markup=False)
        sys.stdout.flush()

    try:
        serve(scenario, overrides, seed=seed, host=host, port=port, announce=announce)
    except KeyboardInterrupt:
        console.print("visualizer stopped", markup=False)


@app.command()
def validate(
    runs: Annotated[
        int, typer.Option(help="Runs per case (more runs, tighter agreement).", min=10)
    ] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the first run of each case.", min=0)] = 0,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print a Markdown table (as in the README).")
    ] = False,
    engine: EngineOption = None,
) -> None:
    """Reproduce the theory the engine is validated against (BHW cascades, Condorcet,
    DeGroot, voter model) and print simulated values next to the theoretical ones.
    """
    from analysis.validation import to_markdown, validation_table

    chosen = _engine_override(engine).get("engine", "auto")
    rows = validation_table(runs=runs, seed=seed, progress=errors, engine=chosen)
    if markdown:
        console.print(to_markdown(rows), markup=False, highlight=False, soft_wrap=True)
        return
    table = Table(title=f"Theory vs simulation ({runs} runs per case)")
    for column in ("result", "case", "quantity", "theory", "simulated", "std. error", "|z|"):
        table.add_column(column, justify="left" if column in ("result", "case") else "right")
    for row in rows:
        table.add_row(
            row.result,
            row.case,
            row.quantity,
            f"{row.theory:.4f}",
            f"{row.simulated:.4f}",
            "exact" if row.std_error == 0 else f"{row.std_error:.4f}",
            f"{row.z:.1e}" if row.std_error == 0 else f"{row.z:.2f}",
        )
    # Wide enough for one line per row, even when stdout is not a terminal (make demo).
    Console(width=max(console.width, 120)).print(table)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``sim`` console script."""
    try:
        app(args=argv, standalone_mode=True)
    except ScenarioError as exc:
        for line in str(exc).splitlines():
            errors.print(f"[bold red]error:[/] {escape(line)}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        errors.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
