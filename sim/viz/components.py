"""The visualizer page, as Solara components.

:func:`Visualizer` lays out, for one :class:`~sim.viz.session.LiveRun`:

* **Run** controls: Step, Play/Pause with a speed slider, Reset, the seed, and the run's
  status (time, agents who acted, why it stopped, how long the last step took);
* **Parameters**: a control for each of the scenario's main values (see
  :mod:`sim.viz.parameters`); a change rebuilds the run at time 0;
* the **network** (:func:`NetworkView`), coloured by announcement, with a note when only a
  sample is drawn; clicking an agent selects it;
* live **charts** of the shares, accuracy and entropy over simulated time
  (:func:`ChartsView`) and the run's **summary** metrics (:func:`SummaryView`);
* the selected **agent** (:func:`AgentView`): its signal, belief and choice, and the last
  prompt and response of agents that have them (LLM-backed agents).

Why not Mesa's ``SolaraViz``: its controller rebuilds a model by calling the model class
with the parameter values as keyword arguments (plus Mesa's own ``scenario`` object),
which fits neither a society built from a validated scenario, where a bad value must show
its message instead of raising inside the page, nor parameters that are key paths; its
parameter panel shows sliders without their values; its space and plot components need
a Mesa space and ``DataCollector``, lay networks out with spring layout (seconds at a few
thousand nodes) and redraw whole figures every step. The page uses Plotly
``FigureWidget`` objects instead, updated in place: a step sends the agents' new choices as
small integers and the charts' new points, not the network.

The play loop runs in a thread (``solara.use_thread``) and steps the run as fast as the
speed allows; every change bumps a version number that the components redraw from.

Main entry points: :func:`Visualizer` and its parts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, cast

import plotly.graph_objects as go
import solara

from sim.errors import ScenarioError
from sim.viz.figures import (
    CHARTS_SIZE,
    NETWORK_SIZE,
    NETWORK_TRACE,
    SELECTED_TRACE,
    chart_series,
    charts_figure,
    choice_marker,
    network_figure,
)
from sim.viz.parameters import Parameter
from sim.viz.session import Frame, LiveRun

DEFAULT_SPEED = 4
"""Steps per second while playing (each step is one unit of simulated time)."""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value is None else str(value)


def _text(text: str, style: str = "body-2") -> None:
    """A line of text (escaped by the front end; Markdown would fetch KaTeX from a CDN)."""
    solara.v.Html(tag="div", children=[text], class_=f"text-{style}")


def _replace_figure(widget: go.FigureWidget, figure: go.Figure) -> None:
    """Swap every trace and the layout of a live widget (as solara's FigurePlotly does)."""
    widget.layout = figure.layout
    old = len(widget.data)
    widget.add_traces(figure.data)
    widget.data = widget.data[old:]


@solara.component
def NetworkView(
    frame: Frame, selected: int | None, on_select: Callable[[int], None]
) -> solara.Element:
    """The network, drawn once per society and recoloured at every step.

    Args:
        frame: The snapshot to show.
        selected: The selected agent, ringed if it is drawn.
        on_select: Called with an agent's index when the agent is clicked.
    """
    scene = frame.scene

    def on_points(data: dict[str, Any] | None) -> None:
        if not data or data.get("event_type") != "plotly_click":
            return
        points = data.get("points") or {}
        for trace, point in zip(
            points.get("trace_indexes", []), points.get("point_indexes", []), strict=False
        ):
            if trace == NETWORK_TRACE:
                on_select(int(scene.drawing.nodes[point]))
                return

    element = go.FigureWidget.element(on__js2py_pointsCallback=on_points)

    def draw() -> None:
        figure = network_figure(
            scene.drawing,
            scene.kinds,
            scene.labels,
            frame.drawn_choices,
            scene.options,
            scene.truth,
            scene.scenario_kinds,
        )
        _replace_figure(solara.get_widget(element), figure)

    def recolor() -> None:
        widget = cast(go.FigureWidget, solara.get_widget(element))
        if len(widget.data) > NETWORK_TRACE:
            marker = choice_marker(frame.drawn_choices, scene.options)
            widget.data[NETWORK_TRACE].marker.color = marker["color"]

    def ring() -> None:
        widget = cast(go.FigureWidget, solara.get_widget(element))
        if len(widget.data) <= SELECTED_TRACE:
            return
        drawn = scene.drawing.nodes == (-1 if selected is None else selected)
        points = scene.drawing.positions[drawn]
        with widget.batch_update():
            widget.data[SELECTED_TRACE].x = points[:, 0]
            widget.data[SELECTED_TRACE].y = points[:, 1]

    solara.use_effect(draw, [scene.build])
    solara.use_effect(recolor, [frame.version])
    solara.use_effect(ring, [scene.build, selected])
    return element


@solara.component
def ChartsView(frame: Frame) -> solara.Element:
    """Shares of each option, agents who acted, accuracy and entropy over simulated time,
    for the whole population."""
    scene = frame.scene
    element = go.FigureWidget.element()

    def draw() -> None:
        _replace_figure(solara.get_widget(element), charts_figure(scene.options, scene.truth))

    def update() -> None:
        widget = cast(go.FigureWidget, solara.get_widget(element))
        times = frame.timeseries["time"].to_numpy()
        series = chart_series(frame.timeseries, scene.options, scene.n_agents)
        with widget.batch_update():
            for trace, values in zip(widget.data, series, strict=False):
                trace.x = times
                trace.y = values

    solara.use_effect(draw, [scene.build])
    solara.use_effect(update, [frame.version])
    return element


@solara.component
def SummaryView(frame: Frame) -> None:
    """The run's summary metrics so far (the columns of ``summary.parquet``)."""
    cells = [
        solara.v.Html(
            tag="tr",
            children=[
                solara.v.Html(tag="td", children=[key]),
                solara.v.Html(tag="td", children=[_fmt(value)], class_="text-right"),
            ],
        )
        for key, value in frame.summary.items()
    ]
    with solara.Card("Summary of the current run", classes=["sim-summary"]):
        solara.v.SimpleTable(dense=True, children=[solara.v.Html(tag="tbody", children=cells)])


def _preformatted(text: str) -> None:
    # Text children are escaped by the front end: a response holding markup shows as text.
    solara.v.Html(
        tag="pre",
        children=[text],
        style_="white-space: pre-wrap; max-height: 18em; overflow-y: auto; "
        "background: #f6f6f6; padding: 0.5em; font-size: 0.85em;",
    )


@solara.component
def AgentView(
    run: LiveRun, frame: Frame, selected: int | None, on_select: Callable[[int | None], None]
) -> None:
    """The selected agent: kind, group, signal, belief, choice, and for agents that have
    them (LLM-backed ones) the last prompt and response."""
    with solara.Card("Agent", classes=["sim-agent"]):
        solara.InputInt(
            "agent number",
            value=selected,
            on_value=on_select,
            optional=True,
            continuous_update=False,
        )
        if selected is None:
            solara.Text("Click an agent in the network, or type its number.")
            return
        try:
            agent = run.agent(selected)
        except IndexError as exc:
            solara.Error(str(exc))
            return
        belief = ", ".join(f"{b:.3f}" for b in agent.belief)
        choice = "not yet acted" if agent.choice is None else f"option {agent.choice}"
        _text(f"agent {agent.index} · {agent.kind} ({agent.group})", "subtitle-2")
        _text(f"signal: option {agent.signal} (accuracy {agent.accuracy:.3g})")
        _text(f"announces: {choice} · the truth is option {frame.scene.truth}")
        _text(f"belief: [{belief}] · has heard {agent.heard} neighbours")
        if agent.prompt is not None or agent.response is not None:
            _text("Last prompt", "subtitle-2")
            _preformatted(agent.prompt or "")
            _text("Last response", "subtitle-2")
            _preformatted(agent.response or "")


@solara.component
def RunControls(
    run: LiveRun,
    frame: Frame,
    playing: bool,
    on_playing: Callable[[bool], None],
    speed: int,
    on_speed: Callable[[int], None],
    refresh: Callable[[], None],
) -> None:
    """Step, Play/Pause, speed, Reset and seed, with the run's status."""

    def step() -> None:
        run.step()
        refresh()

    def reset() -> None:
        on_playing(False)
        run.reset()
        refresh()

    def reseed(seed: int | None) -> None:
        if seed is not None and seed >= 0:
            run.set_seed(seed)
            refresh()

    scenario = run.scenario
    with solara.Card("Run", classes=["sim-run"]):
        _text(scenario.name, "subtitle-1")
        _text(scenario.config.description, "caption")
        with solara.Row():
            solara.Button(
                "Step", on_click=step, disabled=playing or frame.finished, color="primary"
            )
            solara.Button(
                "Pause" if playing else "Play",
                on_click=lambda: on_playing(not playing),
                disabled=frame.finished and not playing,
                color="primary",
            )
            solara.Button("Reset", on_click=reset)
        solara.SliderInt("speed (steps per second)", value=speed, on_value=on_speed, min=1, max=20)
        solara.InputInt("seed", value=run.seed, on_value=reseed, continuous_update=False)
        n = frame.scene.n_agents
        status = f"time {frame.time:g} · {frame.acted:,} of {n:,} agents have acted"
        if frame.finished:
            status += f" · finished ({frame.stop_reason})"
        _text(status)
        if frame.step_seconds:
            solara.Text(f"last step simulated in {frame.step_seconds * 1000:.0f} ms")


@solara.component
def ParameterInput(parameter: Parameter, on_change: Callable[[str, Any], None]) -> None:
    """One control: a slider (with its value shown), a switch or a drop-down."""

    def set_value(value: Any) -> None:
        if value is not None and value != parameter.value:
            on_change(parameter.key, value)

    with solara.v.Html(tag="div", class_="sim-parameter", attributes={"data-key": parameter.key}):
        if parameter.kind == "bool":
            solara.Switch(label=parameter.label, value=bool(parameter.value), on_value=set_value)
        elif parameter.kind == "choice":
            solara.Select(
                parameter.label,
                values=list(parameter.choices),
                value=parameter.value,
                on_value=set_value,
                dense=True,
            )
        else:
            _text(f"{parameter.label}: {parameter.value:g}", "caption")
            _slider(parameter, set_value)


def _slider(parameter: Parameter, on_value: Callable[[Any], None]) -> None:
    low, high, step = parameter.low or 0.0, parameter.high or 1.0, parameter.step or 0.01
    if parameter.kind == "int":
        solara.SliderInt(
            "",
            value=int(parameter.value),
            min=int(low),
            max=int(high),
            step=max(1, int(step)),
            on_value=on_value,
            thumb_label=False,
        )
    else:
        solara.SliderFloat(
            "",
            value=float(parameter.value),
            min=low,
            max=high,
            step=step,
            on_value=on_value,
            thumb_label=False,
        )


@solara.component
def ParameterControls(
    run: LiveRun,
    build: int,
    problem: str | None,
    on_change: Callable[[str, Any], None],
    on_restore: Callable[[], None],
) -> None:
    """A control per scenario parameter; a change rebuilds the run at time 0."""
    parameters = solara.use_memo(run.parameters, [build])
    with solara.Card("Parameters", classes=["sim-parameters"]):
        _text("A change restarts the run at time 0.", "caption")
        with solara.Column(gap="2px").key(f"inputs-{build}"):
            for parameter in parameters:
                ParameterInput(parameter, on_change).key(parameter.key)
        if problem:
            solara.Error(problem, classes=["sim-parameter-error"])
        if run.overrides:
            _text("changed: " + ", ".join(run.overrides), "caption")
            solara.Button("Restore the scenario's values", on_click=on_restore, text=True)


@solara.component
def Visualizer(run: LiveRun) -> None:
    """The whole page for one run (see the module docstring)."""
    version, set_version = solara.use_state(run.version)
    playing, set_playing = solara.use_state(False)
    speed, set_speed = solara.use_state(DEFAULT_SPEED)
    selected, set_selected = solara.use_state(cast(int | None, None))
    problem, set_problem = solara.use_state(cast(str | None, None))
    frame = solara.use_memo(run.frame, [version])

    def refresh() -> None:
        set_version(run.version)

    def rebuild(action: Callable[[], None]) -> None:
        try:
            action()
            set_problem(None)
        except ScenarioError as exc:
            set_problem(str(exc))
        refresh()

    def change(key: str, value: Any) -> None:
        rebuild(lambda: run.set_parameter(key, value))

    def restore() -> None:
        rebuild(run.restore_parameters)

    def play(cancel: threading.Event) -> None:
        if not playing:
            return
        while not cancel.is_set():
            started = time.perf_counter()
            run.step()
            refresh()
            if run.finished:
                set_playing(False)
                return
            cancel.wait(max(0.0, 1.0 / speed - (time.perf_counter() - started)))

    # intrusive_cancel=False: the default traces every line of the loop to cancel it.
    solara.use_thread(play, dependencies=[playing, speed], intrusive_cancel=False)

    solara.Title(f"{run.scenario.name} · sim viz")
    # Wrapping rows of fixed-width panels: the figures have fixed sizes (see figures.py).
    wrap = {"flex-wrap": "wrap", "align-items": "flex-start", "gap": "12px"}
    with solara.Row(style=wrap):
        with solara.Column(style={"width": "340px"}):
            RunControls(run, frame, playing, set_playing, speed, set_speed, refresh)
            ParameterControls(run, frame.build, problem, change, restore)
        with solara.Column(style={"flex": "1", "min-width": f"{NETWORK_SIZE[0]}px"}):
            note = frame.scene.drawing.note()
            if note:
                solara.Info(note, classes=["sim-sample-note"])
            with solara.Row(style=wrap):
                NetworkView(frame, selected, set_selected)
                ChartsView(frame)
            with solara.Row(style=wrap):
                with solara.Column(style={"width": f"{NETWORK_SIZE[0]}px"}):
                    SummaryView(frame)
                with solara.Column(style={"width": f"{CHARTS_SIZE[0]}px"}):
                    AgentView(run, frame, selected, set_selected)
