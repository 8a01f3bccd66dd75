"""Tests for the interactive visualizer (``sim viz``): the network drawing, the generated
parameter controls, the live run behind the page, the page itself rendered by Solara in
this process (no browser), and the command's start, errors and Ctrl-C.

The real-browser test is ``tests/test_viz_browser.py``.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ipyvuetify as v
import numpy as np
import plotly.graph_objects as go
import polars as pl
import pytest
import solara

import sim
from sim.errors import ScenarioError
from sim.network import TOPOLOGIES
from sim.viz.components import Visualizer
from sim.viz.figures import NETWORK_TRACE, VECTOR_LINKS, network_figure, option_colors
from sim.viz.layout import draw_network, sample_nodes, symmetric_adjacency
from sim.viz.parameters import TOPOLOGY_KEY, change, scenario_parameters, with_change
from sim.viz.session import LiveRun, live_timeseries

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def ring(n: int, k: int = 2) -> list[np.ndarray]:
    """Out-neighbour lists of a ring lattice (each node linked to k/2 on each side)."""
    index = np.arange(n)
    offsets = [d for d in range(-(k // 2), k // 2 + 1) if d]
    return [np.sort((i + np.array(offsets)) % n) for i in index]


def small_scenario(**extra: Any) -> sim.Scenario:
    """Asynchronous social learners on a small-world graph: every agent announces at time
    0, then conformity spreads; cheap to step."""
    data: dict[str, Any] = {
        "name": "viz-test",
        "seed": 5,
        "world": {"signal_accuracy": 0.6},
        "population": {
            "size": 120,
            "groups": [
                {"name": "conformists", "agent": "social", "share": 0.9, "weight": 0.8},
                {"name": "zealots", "agent": "stubborn", "share": 0.1},
            ],
        },
        "network": {"topology": "watts_strogatz", "k": 6, "p": 0.1},
        "channels": {"latency": {"dist": "exponential", "mean": 0.5}},
        "protocol": {"kind": "asynchronous", "wake_rate": 0.3},
        "stop": {"max_time": 30.0},
    }
    data.update(extra)
    return sim.Scenario.from_dict(data)


# --------------------------------------------------------------------------- layout


def test_ring_of_2000_is_laid_out_whole_with_neighbours_close() -> None:
    """(Layout time is measured by ``python benchmarks/viz_step.py``.)"""
    neighbours = ring(2000, 4)
    drawing = draw_network(neighbours)
    assert not drawing.sampled and drawing.note() is None
    assert list(drawing.nodes) == list(range(2000))
    assert drawing.positions.shape == (2000, 2)
    assert np.all(np.isfinite(drawing.positions))
    assert drawing.positions.min() >= -0.05 and drawing.positions.max() <= 1.05
    assert drawing.n_links == len(drawing.links) == 4000  # an arc pair is one link
    pos = drawing.positions
    link_length = np.linalg.norm(pos[drawing.links[:, 0]] - pos[drawing.links[:, 1]], axis=1)
    rng = np.random.default_rng(0)
    pairs = rng.integers(2000, size=(4000, 2))
    random_length = np.linalg.norm(pos[pairs[:, 0]] - pos[pairs[:, 1]], axis=1)
    # A layout worth looking at puts linked agents far closer than random pairs.
    assert link_length.mean() < random_length.mean() / 5


def test_layout_is_deterministic() -> None:
    first = draw_network(ring(300, 4))
    second = draw_network(ring(300, 4))
    assert np.array_equal(first.positions, second.positions)


def test_large_population_is_drawn_as_a_connected_sample_with_a_note() -> None:
    neighbours = ring(100_000, 10)
    drawing = draw_network(neighbours)
    assert drawing.sampled and drawing.n_agents == 100_000
    assert len(drawing.nodes) == 2000 and 0 in drawing.nodes
    note = drawing.note()
    assert note is not None and "2,000 of 100,000 agents" in note
    assert "charts and metrics cover everyone" in note
    # A breadth-first ball of a ring lattice is one arc of the ring: the nodes nearest to 0
    # on both sides, every one linked to the sample.
    ring_distance = np.minimum(drawing.nodes, 100_000 - drawing.nodes)
    assert ring_distance.max() <= 1000 + 5
    assert drawing.n_links > 2000 * 4


def test_sample_continues_in_the_next_component() -> None:
    # Two separate triangles and isolated nodes: the sample takes whole components in order.
    neighbours = [np.array(a) for a in ([1, 2], [0, 2], [0, 1], [4, 5], [3, 5], [3, 4])]
    neighbours += [np.array([], dtype=np.int64)] * 4
    nodes = sample_nodes(symmetric_adjacency(neighbours), 7)
    assert list(nodes) == [0, 1, 2, 3, 4, 5, 6]


def test_dense_graphs_are_circles_and_empty_ones_grids() -> None:
    complete = [np.array([j for j in range(12) if j != i]) for i in range(12)]
    circle = draw_network(complete).positions
    radius = np.linalg.norm(circle - circle.mean(axis=0), axis=1)
    assert np.allclose(radius, radius[0])
    empty = draw_network([np.array([], dtype=np.int64)] * 9)
    assert len(empty.links) == 0
    assert len({tuple(p) for p in np.round(empty.positions, 6)}) == 9


def test_links_beyond_the_cap_are_sampled_and_noted() -> None:
    complete = [np.array([j for j in range(80) if j != i]) for i in range(80)]
    drawing = draw_network(complete, max_links=500)
    assert len(drawing.links) == 500 and drawing.n_links == 80 * 79 // 2
    assert drawing.note() == f"500 of {80 * 79 // 2:,} links drawn."


def test_many_links_become_one_background_picture() -> None:
    few = draw_network(ring(100, 4))
    figure = network_figure(few, ["voter"] * 100, [""] * 100, np.full(100, -1), 2, 0, ["voter"])
    assert len(figure.layout.images) == 0
    assert sum(x is None for x in figure.data[0].x) == len(few.links)  # one line each
    many = draw_network(ring(2000, 4))
    assert len(many.links) > VECTOR_LINKS
    figure = network_figure(many, ["voter"] * 2000, [""] * 2000, np.full(2000, -1), 2, 0, ["voter"])
    assert len(figure.data[0].x) == 0
    (image,) = figure.layout.images
    assert image.source.startswith("data:image/png;base64,")
    x_range, y_range = figure.layout.xaxis.range, figure.layout.yaxis.range
    assert (image.x, image.y) == (x_range[0], y_range[1])  # covers the plotted area
    assert image.sizex == pytest.approx(x_range[1] - x_range[0])
    png = base64.b64decode(image.source.split(",", 1)[1])
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) < 400_000


# ----------------------------------------------------------------------- parameters


def test_controls_are_generated_from_the_scenario() -> None:
    scenario = sim.load(SCENARIOS / "network_herding.toml")
    params = {p.key: p for p in scenario_parameters(scenario)}
    assert params["world.signal_accuracy"].kind == "float"
    assert (params["world.signal_accuracy"].low, params["world.signal_accuracy"].high) == (0, 1)
    assert params["world.signal_accuracy"].value == 0.6
    assert params["population.groups.0.weight"].value == 0.8
    assert params["population.groups.0.weight"].label == "conformists · weight"
    assert params["population.size"].kind == "int" and params["population.size"].value == 3000
    assert params["network.k"].kind == "int" and params["network.k"].low == 2
    assert params["network.p"].value == 0.1
    assert params["channels.latency.mean"].value == 0.5
    assert params["channels.latency.mean"].low > 0  # an exponential mean must be > 0
    assert params[TOPOLOGY_KEY].value == "watts_strogatz"
    assert "file" not in params[TOPOLOGY_KEY].choices
    assert set(params[TOPOLOGY_KEY].choices) == set(TOPOLOGIES) - {"file"}
    assert params["protocol.wake_on_message"].kind == "bool"
    assert params["stop.consensus"].kind == "bool" and params["stop.consensus"].value is True
    assert params["population.groups.1.tie_rule"].choices == ("coin", "own_signal")
    for identity in ("name", "seed", "population.groups.0.share", "stop.max_time"):
        assert identity not in params


def test_every_topology_choice_gives_a_valid_scenario() -> None:
    scenario = small_scenario()
    (topology,) = [p for p in scenario_parameters(scenario) if p.key == TOPOLOGY_KEY]
    for choice in topology.choices:
        overrides = change(scenario, {}, TOPOLOGY_KEY, choice)
        changed = scenario.with_overrides(overrides)
        assert changed.config.network.topology == choice
        society = changed.build(1)
        assert len(society.members) == 120
        # ... and back again keeps what the two topologies share.
        back = change(changed, overrides, TOPOLOGY_KEY, "watts_strogatz")
        assert scenario.with_overrides(back).config.network.topology == "watts_strogatz"


def test_a_replaced_table_forgets_changes_inside_it() -> None:
    overrides = with_change({"network.k": 8, "world.options": 3}, "network", {"topology": "star"})
    assert overrides == {"world.options": 3, "network": {"topology": "star"}}
    assert with_change(overrides, "network.directed", True)["network.directed"] is True


# ------------------------------------------------------------------------- live run


def test_the_page_run_is_the_scenario_run_for_the_same_seed() -> None:
    scenario = small_scenario()
    run = LiveRun(scenario, seed=11)
    reference = scenario.build(11)
    for _ in range(6):
        run.step()
        reference.step()
    assert np.array_equal(run.society.choices(), reference.choices())
    assert run.society.world.truth == reference.world.truth
    ours = {k: v for k, v in run.frame().summary.items() if k != "wall_seconds"}
    theirs = {k: v for k, v in reference.summary().items() if k != "wall_seconds"}
    assert ours == theirs
    assert live_timeseries(run.society).equals(live_timeseries(reference))


def test_live_timeseries_is_what_the_recorder_writes_once_the_run_moves_on() -> None:
    scenario = small_scenario(protocol={"kind": "sequential", "interval": 0.3})
    society = scenario.build(2)
    for _ in range(7):
        society.step()
    live = live_timeseries(society)
    assert live["time"].to_list() == [float(t) for t in range(8)]
    society.advance()  # to the end: the recorder writes the rows it held back
    later = society.recorder.timeseries().filter(pl.col("time") <= 7.0)
    assert live.equals(later)


def test_live_timeseries_ends_at_the_current_time_with_current_shares() -> None:
    run = LiveRun(small_scenario())
    for _ in range(3):
        run.step()
    series = run.frame().timeseries
    society = run.society
    assert series["time"][-1] == society.env.now == 3.0
    choices = society.choices()
    for k in range(society.world.options):
        assert series[f"share_{k}"][-1] == pytest.approx(np.mean(choices == k))
    assert series["acted"][-1] == np.sum(choices >= 0)


def test_parameter_change_rebuilds_with_the_new_value_at_time_zero() -> None:
    run = LiveRun(small_scenario())
    run.step()
    drawing = run.scene.drawing
    run.set_parameter("world.signal_accuracy", 0.9)
    assert run.society.config.world.signal_accuracy == 0.9
    assert run.society.env.now == 0 and run.frame().acted == 0
    assert run.overrides == {"world.signal_accuracy": 0.9}
    assert run.scene.drawing is drawing  # same network: the layout is reused
    run.set_parameter("population.size", 60)
    assert len(run.society.members) == 60 and run.scene.n_agents == 60
    assert len(run.scene.drawing.nodes) == 60
    run.set_parameter(TOPOLOGY_KEY, "star")
    assert run.society.config.network.topology == "star"
    assert run.society.config.world.signal_accuracy == 0.9  # earlier changes stay
    run.restore_parameters()
    assert run.overrides == {} and run.society.config.network.topology == "watts_strogatz"


def test_invalid_parameter_is_refused_and_the_run_is_kept() -> None:
    run = LiveRun(small_scenario())
    run.step()
    society = run.society
    with pytest.raises(ScenarioError, match="network"):
        run.set_parameter("network.k", 7)  # odd: no ring lattice
    assert run.society is society and run.overrides == {}
    assert run.society.env.now == 1.0


def test_reset_returns_to_time_zero_with_the_same_start() -> None:
    run = LiveRun(small_scenario())
    start = run.society.world.signals.copy()
    build = run.scene.build
    for _ in range(4):
        run.step()
    run.reset()
    assert run.society.env.now == 0 and run.frame().acted == 0
    assert run.scene.build == build + 1
    assert np.array_equal(run.society.world.signals, start)
    run.set_seed(99)
    assert run.society.seed == 99


def test_agent_details_show_prompt_and_response_when_the_agent_has_them() -> None:
    run = LiveRun(small_scenario())
    plain = run.agent(4)
    assert plain.prompt is None and plain.response is None
    agent = run.society.members[4]
    agent.last_prompt = "You are agent 4. Your signal says A."  # type: ignore[attr-defined]
    agent.last_response = '{"choice": 0}'  # type: ignore[attr-defined]
    details = run.agent(4)
    assert details.prompt == "You are agent 4. Your signal says A."
    assert details.response == '{"choice": 0}'
    assert details.kind == agent.kind and details.group in ("conformists", "zealots")
    with pytest.raises(IndexError):
        run.agent(120)


# ------------------------------------------------------------------------ the page


class Page:
    """The visualizer rendered in this process, with handles on its widgets."""

    def __init__(self, run: LiveRun) -> None:
        self.run = run
        self.box, self.rc = solara.render(Visualizer(run), handle_error=False)

    def figure(self, meta: str) -> go.FigureWidget:
        figures = [f for f in self.rc.find(go.FigureWidget).widgets if f.layout.meta == meta]
        assert len(figures) == 1
        return figures[0]

    def colors(self) -> np.ndarray:
        return np.array(self.figure("network").data[NETWORK_TRACE].marker.color)

    def times(self) -> list[float]:
        return list(self.figure("charts").data[0].x)

    def button(self, label: str) -> v.Btn:
        return self.rc.find(v.Btn, children=[label]).widget

    def texts(self) -> list[str]:
        """Every text shown on the page, in order (the finder stops at matches, so the
        widget tree is walked here)."""
        found: list[str] = []

        def walk(node: Any) -> None:
            for child in getattr(node, "children", None) or []:
                if isinstance(child, str):
                    found.append(child)
                else:
                    walk(child)

        walk(self.box)
        return found

    def control(self, key: str, widget: type) -> Any:
        return self.rc.find(v.Html, attributes={"data-key": key}).find(widget).widget


@pytest.fixture
def page() -> Iterator[Page]:
    rendered = Page(LiveRun(small_scenario()))
    yield rendered
    rendered.rc.close()


def test_page_shows_network_and_charts_and_steps_change_them(page: Page) -> None:
    network = page.figure("network")
    assert len(network.data[NETWORK_TRACE].x) == 120
    assert set(page.colors()) == {-1}  # nobody has acted before the first step
    legend = [t.name for t in network.data if t.showlegend is not False]
    truth = page.run.society.world.truth
    assert f"option {truth} (truth)" in legend and "not yet acted" in legend
    assert {"social", "stubborn"} <= set(legend)
    symbols = set(network.data[NETWORK_TRACE].marker.symbol)
    assert len(symbols) == 2  # one marker shape per agent kind
    # The colour scale maps each choice to its option's colour, truth in green.
    scale = dict((color, pos) for pos, color in network.data[NETWORK_TRACE].marker.colorscale)
    assert option_colors(2, truth)[truth] in scale
    history = []
    for _ in range(4):
        page.button("Step").click()
        history.append(page.colors())
    assert page.run.society.env.now == 4.0
    assert np.all(history[0] >= 0)  # everyone announced at time 0
    assert any(not np.array_equal(history[0], later) for later in history[1:])
    assert np.array_equal(history[-1], page.run.society.choices())
    assert page.times() == [0.0, 1.0, 2.0, 3.0, 4.0]
    shares = page.figure("charts").data[truth].y
    assert shares[-1] == pytest.approx(np.mean(page.run.society.choices() == truth))
    assert any("time 4 · 120 of 120 agents have acted" in t for t in page.texts())


def test_summary_table_shows_the_current_metrics(page: Page) -> None:
    page.button("Step").click()
    summary = page.run.society.summary()
    cells = page.texts()
    assert "accuracy" in cells and f"{summary['accuracy']:.4g}" in cells
    assert "messages_sent" in cells and str(summary["messages_sent"]) in cells


def test_reset_button_returns_to_time_zero(page: Page) -> None:
    for _ in range(3):
        page.button("Step").click()
    page.button("Reset").click()
    assert page.run.society.env.now == 0
    assert set(page.colors()) == {-1}
    assert page.times() in ([], [0.0])


def test_parameter_control_rebuilds_the_model(page: Page) -> None:
    page.button("Step").click()
    slider = page.control("world.signal_accuracy", v.Slider)
    slider.v_model = 0.85
    assert page.run.society.config.world.signal_accuracy == 0.85
    assert page.run.society.env.now == 0
    assert any("world · signal accuracy: 0.85" in t for t in page.texts())
    topology = page.control(TOPOLOGY_KEY, v.Select)
    topology.v_model = "lattice"
    assert page.run.society.config.network.topology == "lattice"
    # The lattice keeps k = 6 from the small world: every agent has 6 neighbours.
    assert {len(a) for a in page.run.society.out_neighbors} == {6}
    assert "network.p" not in [p.key for p in page.run.parameters()]


def test_invalid_parameter_shows_the_message_and_keeps_the_run(page: Page) -> None:
    page.button("Step").click()
    page.control("network.k", v.Slider).v_model = 7
    errors = page.rc.find(v.Alert, type="error")
    assert "network" in str(errors.widget.children)
    assert page.run.society.env.now == 1.0


def test_clicking_an_agent_shows_it_and_its_prompt(page: Page) -> None:
    agent = page.run.society.members[7]
    agent.last_prompt = "Neighbours say B. Your signal says A. Answer A or B."  # type: ignore[attr-defined]
    agent.last_response = "A <because> my signal"  # type: ignore[attr-defined]
    network = page.figure("network")
    drawn = list(network.data[NETWORK_TRACE].customdata)
    network._js2py_pointsCallback = {
        "event_type": "plotly_click",
        "points": {
            "trace_indexes": [NETWORK_TRACE],
            "point_indexes": [drawn.index(7)],
            "xs": [0.5],
            "ys": [0.5],
        },
        "device_state": {},
        "selector": None,
    }
    texts = page.texts()
    assert any(t.startswith("agent 7 · ") for t in texts)
    assert "Neighbours say B. Your signal says A. Answer A or B." in texts
    assert "A <because> my signal" in texts  # shown as text, not markup
    # Typing another number selects another agent, which has no prompt.
    field = page.rc.find(v.TextField, label="agent number").widget
    field.v_model = "3"
    field.fire_event("keyup.enter", None)  # the number is taken on Enter or leaving the box
    texts = page.texts()
    assert any(t.startswith("agent 3 · ") for t in texts)
    assert "Last prompt" not in texts


def test_play_steps_until_paused(page: Page) -> None:
    page.rc.find(v.Slider).widgets[0].v_model = 20  # speed: 20 steps per second
    page.button("Play").click()
    deadline = time.monotonic() + 20
    while page.run.society.env.now < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    page.button("Pause").click()
    paused_at = page.run.society.env.now
    assert paused_at >= 3
    time.sleep(0.5)
    assert page.run.society.env.now <= paused_at + 1  # at most the step under way


def test_large_population_page_shows_the_sampling_note() -> None:
    run = LiveRun(small_scenario(), max_nodes=50)
    page = Page(run)
    try:
        notes = page.rc.find(v.Alert, type="info")
        assert "Showing 50 of 120 agents" in str(notes.widget.children)
        assert len(page.figure("network").data[NETWORK_TRACE].x) == 50
        page.button("Step").click()
        # The charts cover everyone, not the drawn sample.
        truth = run.society.world.truth
        whole = np.mean(run.society.choices() == truth)
        assert page.figure("charts").data[truth].y[-1] == pytest.approx(whole)
    finally:
        page.rc.close()


def test_one_step_at_2000_agents_shows_every_agent() -> None:
    """A step of a 2,000-agent run redraws every agent's colour (how long it takes is a
    benchmark, not a test: ``python benchmarks/viz_step.py``)."""
    scenario = sim.Scenario.from_dict(
        {
            "population": {
                "size": 2000,
                "groups": [
                    {"agent": "social", "share": 0.9, "weight": 0.8},
                    {"agent": "stubborn", "share": 0.1},
                ],
            },
            "network": {"topology": "watts_strogatz", "k": 6, "p": 0.05},
            "protocol": {"kind": "sequential", "interval": 0.02},
        }
    )
    run = LiveRun(scenario)
    page = Page(run)
    try:
        assert len(page.figure("network").data[NETWORK_TRACE].x) == 2000
        for _ in range(5):
            page.button("Step").click()
        # 50 turns per unit of time, all shown
        assert np.array_equal(page.colors(), run.society.choices())
        assert 240 <= np.sum(page.colors() >= 0) <= 260
    finally:
        page.rc.close()


# ---------------------------------------------------------------------- the command


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", "viz", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def assert_user_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines and all(line.startswith("error:") for line in lines), lines
    for fragment in fragments:
        assert fragment in result.stderr


def test_missing_scenario_is_a_user_error() -> None:
    assert_user_error(run_cli("no-such-scenario.toml"), "no-such-scenario.toml", "not found")


def test_bad_override_is_a_user_error() -> None:
    result = run_cli(str(SCENARIOS / "cascade.toml"), "--set", "world.signal_accuracy=2")
    assert_user_error(result, "world.signal_accuracy")
    assert_user_error(run_cli(str(SCENARIOS / "cascade.toml"), "--set", "nokey"), "--set")


def test_port_in_use_is_a_user_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = run_cli(str(SCENARIOS / "cascade.toml"), "--port", str(port))
    assert_user_error(result, f"127.0.0.1:{port}", "--port")


def test_server_serves_the_page_on_loopback_and_stops_cleanly_on_ctrl_c() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sim", "viz", str(SCENARIOS / "cascade.toml"), "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("Visualizer running at http://127.0.0.1:"), line
        assert line.rstrip().endswith("(Ctrl-C to stop)")
        url = line.split()[3]
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    html = response.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert "solara" in html.lower()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
        assert process.returncode == 0, err
        assert "Traceback" not in err
        assert "visualizer stopped" in out
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
