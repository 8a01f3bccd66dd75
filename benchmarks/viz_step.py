"""How fast the visualizer draws: network layouts and one Step at 2,000 agents.

Measures, in this process (no browser): the layout of a 2,000-node ring and of a
100,000-node ring (drawn as a connected 2,000-node sample), and the median over 5 clicks
of the Step button on a 2,000-agent Watts–Strogatz society rendered by Solara, minus the
simulation's own share of the step (what the server spends redrawing the page). The
browser's share (click to updated charts, about 0.36 s when measured with Playwright) is
not included.

Usage::

    .venv/bin/python benchmarks/viz_step.py
"""

from __future__ import annotations

import time

import ipyvuetify as v
import numpy as np
import solara
from rich.console import Console
from rich.table import Table

import sim
from sim.viz.components import Visualizer
from sim.viz.layout import draw_network
from sim.viz.session import LiveRun


def ring(n: int, k: int) -> list[np.ndarray]:
    """Out-neighbours of a ring lattice with ``k`` neighbours per node."""
    offsets = [d for d in range(1, k // 2 + 1)] + [-d for d in range(1, k // 2 + 1)]
    return [np.array(sorted((i + d) % n for d in offsets)) for i in range(n)]


def seconds(action: object) -> float:
    started = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - started


def step_render_seconds(agents: int, clicks: int = 5) -> float:
    """Median server time of one Step, simulation excluded."""
    scenario = sim.Scenario.from_dict(
        {
            "population": {"size": agents, "groups": [{"agent": "social", "weight": 0.8}]},
            "network": {"topology": "watts_strogatz", "k": 6, "p": 0.05},
            "protocol": {"kind": "sequential", "interval": 0.02},
        }
    )
    run = LiveRun(scenario)
    _, rc = solara.render(Visualizer(run), handle_error=False)
    try:
        button = rc.find(v.Btn, children=["Step"]).widget
        times = []
        for _ in range(clicks):
            started = time.perf_counter()
            button.click()
            times.append(time.perf_counter() - started - run.step_seconds)
        return float(np.median(times))
    finally:
        rc.close()


def main() -> None:
    table = Table(title="Visualizer drawing times (server side)")
    table.add_column("what")
    table.add_column("seconds", justify="right")
    table.add_row("layout, 2,000-node ring", f"{seconds(lambda: draw_network(ring(2000, 4))):.3f}")
    table.add_row(
        "layout, 100,000-node ring (2,000-node sample)",
        f"{seconds(lambda: draw_network(ring(100_000, 10))):.3f}",
    )
    table.add_row("one Step at 2,000 agents (median of 5)", f"{step_render_seconds(2000):.3f}")
    Console().print(table)


if __name__ == "__main__":
    main()
