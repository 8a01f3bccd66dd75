"""The ``sim`` command line.

``sim run`` runs one scenario and writes its outputs; ``sim validate`` reproduces the
theoretical results the engine is checked against and prints them side by side.

User errors (a bad scenario, a bad flag, a missing file) print one ``error:`` line per
problem and exit with status 2; they never show a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sim.errors import ScenarioError

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


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.", metavar="SCENARIO")],
    seed: Annotated[
        int | None, typer.Option(help="Root seed (default: the scenario's seed).", min=0)
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Override a value by key path, e.g. --set world.signal_accuracy=0.6 "
            "(repeatable; the value is read as TOML, bare words as strings).",
            metavar="KEY=VALUE",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: results/<name>/seed-<seed>)."),
    ] = None,
    events: Annotated[
        bool, typer.Option("--events", help="Also write events.parquet (every message).")
    ] = False,
) -> None:
    """Run one scenario; write summary.parquet, timeseries.parquet, scenario.toml
    (and events.parquet with --events) and print the summary.

    The same seed and scenario give byte-identical files, except for the wall_seconds
    column of the summary.
    """
    from sim.scenario import load, parse_override

    overrides = dict(parse_override(item) for item in set_ or [])
    loaded = load(scenario, overrides)
    run_seed = loaded.config.seed if seed is None else seed
    result = loaded.run(seed=run_seed, events=events)
    folder = out if out is not None else Path("results") / loaded.name / f"seed-{run_seed}"
    written = result.write(folder, loaded.to_toml(seed=run_seed))

    table = Table(title=f"{loaded.name} (seed {run_seed})", show_header=False)
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    for key, value in result.summary.items():
        table.add_row(key, _fmt(value))
    console.print(table)
    console.print(f"wrote {', '.join(p.name for p in written)} to {folder}")


@app.command()
def validate(
    runs: Annotated[
        int, typer.Option(help="Runs per case (more runs, tighter agreement).", min=10)
    ] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the first run of each case.", min=0)] = 0,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print a Markdown table (as in the README).")
    ] = False,
) -> None:
    """Reproduce the theory the engine is validated against (BHW cascades, Condorcet,
    DeGroot, voter model) and print simulated values next to the theoretical ones.
    """
    from analysis.validation import to_markdown, validation_table

    rows = validation_table(runs=runs, seed=seed, progress=errors)
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
    console.print(table, width=max(console.width, 110))


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
