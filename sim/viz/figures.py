"""Plotly figures of the visualizer: the network and the live time series.

Colours say what an agent announces relative to the truth, so a cascade reads at a glance:
the true option is always green, the wrong ones red, orange, purple, ...; agents who have
not acted yet are light grey. Marker shapes tell the agent kinds apart. The same colours
are used for the options' lines in the charts.

The figures are built once per society (:func:`network_figure`, :func:`charts_figure`);
each step then only changes the node colours (:func:`choice_marker`: the agents' choices
as small integers on a stepped colour scale) and the charts' data
(:func:`chart_series`), so the browser receives a few kilobytes per step, not the network.

Main entry points: :func:`option_colors`, :func:`choice_marker`, :func:`network_figure`,
:func:`links_image`, :func:`charts_figure`, :func:`chart_series`.
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from sim.viz.layout import NetworkDrawing

TRUTH_COLOR = "#2ca02c"
WRONG_COLORS = ("#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#1f77b4")
NOT_ACTED_COLOR = "#c8c8c8"
KIND_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "star", "pentagon", "hexagon")
"""Marker symbols, given to agent kinds in the order they first appear in the scenario."""

NETWORK_SIZE = (640, 600)
CHARTS_SIZE = (520, 600)
"""Figure sizes in pixels. Fixed, because Plotly's widget measures its container before the
page has laid it out and would fall back to 700 pixels, overflowing a narrower column."""

VECTOR_LINKS = 1000
"""Networks with more drawn links than this get their links as one background picture
(see :func:`links_image`) instead of a line trace."""

LINK_GREY = 110

NETWORK_TRACE = 1
"""Index of the agents' trace in :func:`network_figure` (trace 0 holds the links)."""

SELECTED_TRACE = 2
"""Index of the trace that rings the selected agent (empty when none is)."""


def option_colors(options: int, truth: int) -> list[str]:
    """Colour of each option: green for the truth, distinct other colours for the others."""
    wrong = iter(WRONG_COLORS * (1 + options // len(WRONG_COLORS)))
    return [TRUTH_COLOR if k == truth else next(wrong) for k in range(options)]


def option_label(option: int, truth: int) -> str:
    """Legend text of an option."""
    return f"option {option} (truth)" if option == truth else f"option {option}"


def choice_colorscale(colors: Sequence[str]) -> list[tuple[float, str]]:
    """A stepped colour scale that maps a choice code (``-1`` to ``K-1``, with ``cmin =
    -1.5`` and ``cmax = K - 0.5``) to its colour: nodes are coloured by sending their
    choices as numbers, which Plotly validates and transmits far faster than colour
    names."""
    steps = [NOT_ACTED_COLOR, *colors]
    scale: list[tuple[float, str]] = []
    for i, color in enumerate(steps):
        scale += [(i / len(steps), color), ((i + 1) / len(steps), color)]
    return scale


def choice_marker(choices: np.ndarray, options: int) -> dict[str, object]:
    """The marker properties that colour agents by ``choices`` (see
    :func:`choice_colorscale`); only ``color`` changes from step to step."""
    return {"color": choices.astype(np.int8), "cmin": -1.5, "cmax": options - 0.5}


def kind_symbols(kinds: Sequence[str]) -> dict[str, str]:
    """A marker symbol for each distinct kind, in order of first appearance."""
    distinct = list(dict.fromkeys(kinds))
    return {kind: KIND_SYMBOLS[i % len(KIND_SYMBOLS)] for i, kind in enumerate(distinct)}


def _marker_size(count: int) -> float:
    if count <= 50:
        return 14
    if count <= 300:
        return 9
    if count <= 1000:
        return 6.5
    return 5


def _png(rgba: np.ndarray) -> bytes:
    """PNG bytes of an ``(h, w, 4)`` uint8 RGBA image (no filtering, fast compression)."""
    height, width, _ = rgba.shape
    rows = np.concatenate([np.zeros((height, 1), np.uint8), rgba.reshape(height, width * 4)], 1)

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 1))
        + chunk(b"IEND", b"")
    )


def links_image(
    drawing: NetworkDrawing, bounds: tuple[float, float, float, float], width: int = 800
) -> str:
    """The drawing's links as a PNG data URI covering ``bounds`` (x0, x1, y0, y1).

    Thousands of SVG line segments make the browser repaint slowly at every step (the
    colours change, the links do not): as one picture under the agents they cost nothing
    after the first draw. Each link is sampled once per pixel along its length; overlaps
    darken.
    """
    x0, x1, y0, y1 = bounds
    height = max(1, round(width * (y1 - y0) / (x1 - x0)))
    scale = np.array([(width - 1) / (x1 - x0), (height - 1) / (y1 - y0)])

    def pixels(points: np.ndarray) -> np.ndarray:  # row 0 at the top
        return (np.column_stack([points[:, 0] - x0, y1 - points[:, 1]])) * scale

    a = pixels(drawing.positions[drawing.links[:, 0]])
    b = pixels(drawing.positions[drawing.links[:, 1]])
    samples = np.ceil(np.abs(b - a).max(axis=1)).astype(np.int64) + 1
    link = np.repeat(np.arange(len(a)), samples)
    offset = np.arange(samples.sum()) - np.repeat(np.cumsum(samples) - samples, samples)
    t = offset / np.repeat(np.maximum(samples - 1, 1), samples)
    along = np.rint(a[link] + (b[link] - a[link]) * t[:, None]).astype(np.int64)
    px = np.clip(along[:, 0], 0, width - 1)
    py = np.clip(along[:, 1], 0, height - 1)
    hits = np.bincount(py * width + px, minlength=width * height).reshape(height, width)
    rgba = np.zeros((height, width, 4), np.uint8)
    rgba[..., :3] = LINK_GREY
    rgba[..., 3] = np.minimum(160, hits * 45)
    return "data:image/png;base64," + base64.b64encode(_png(rgba)).decode("ascii")


def network_figure(
    drawing: NetworkDrawing,
    kinds: Sequence[str],
    labels: Sequence[str],
    choices: np.ndarray,
    options: int,
    truth: int,
    scenario_kinds: Sequence[str],
) -> go.Figure:
    """The network: links, agents coloured by announcement, shaped by kind.

    Args:
        drawing: What to draw and where.
        kinds: Agent kind of each drawn agent.
        labels: Hover text of each drawn agent.
        choices: Current choice of each drawn agent (``-1``: not yet acted).
        options: Number of options K.
        truth: The true option.
        scenario_kinds: The scenario's agent kinds, in group order (fixes the symbols
            and the legend).

    Returns:
        A figure whose trace :data:`NETWORK_TRACE` holds the agents (``customdata``: agent
        index) and trace :data:`SELECTED_TRACE` the ring around the selected agent; the
        legend is drawn by marker-only traces without data.
    """
    colors = option_colors(options, truth)
    symbols = kind_symbols(scenario_kinds)
    pos = drawing.positions
    ends = drawing.links
    pad = 0.04
    x0, x1 = float(pos[:, 0].min()) - pad, float(pos[:, 0].max()) + pad
    y0, y1 = float(pos[:, 1].min()) - pad, float(pos[:, 1].max()) + pad
    raster = len(ends) > VECTOR_LINKS
    link_x: list[float | None] = []
    link_y: list[float | None] = []
    if len(ends) and not raster:
        xs = np.column_stack([pos[ends[:, 0], 0], pos[ends[:, 1], 0], np.full(len(ends), np.nan)])
        ys = np.column_stack([pos[ends[:, 0], 1], pos[ends[:, 1], 1], np.full(len(ends), np.nan)])
        # None, not NaN, breaks a plotly line in every serialization.
        link_x = [None if np.isnan(v) else float(v) for v in xs.ravel()]
        link_y = [None if np.isnan(v) else float(v) for v in ys.ravel()]
    size = _marker_size(len(drawing.nodes))
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=link_x,
            y=link_y,
            mode="lines",
            line={"width": 0.6, "color": f"rgba({LINK_GREY}, {LINK_GREY}, {LINK_GREY}, 0.35)"},
            hoverinfo="skip",
            showlegend=False,
            name="links",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=pos[:, 0],
            y=pos[:, 1],
            mode="markers",
            name="agents",
            marker={
                "size": size,
                **choice_marker(choices, options),
                "colorscale": choice_colorscale(colors),
                "showscale": False,
                "symbol": [symbols[k] for k in kinds],
                "line": {"width": 0.6 if size > 6 else 0.0, "color": "#333333"},
            },
            customdata=drawing.nodes,
            text=list(labels),
            hovertemplate="%{text}<extra></extra>",
            showlegend=False,
        )
    )
    figure.add_trace(
        go.Scatter(
            x=[],
            y=[],
            mode="markers",
            name="selected",
            marker={
                "size": size + 12,
                "symbol": "circle-open",
                "color": "#000000",
                "line": {"width": 2.5},
            },
            hoverinfo="skip",
            showlegend=False,
        )
    )
    for option in range(options):
        figure.add_trace(_legend_entry(option_label(option, truth), colors[option], "circle"))
    figure.add_trace(_legend_entry("not yet acted", NOT_ACTED_COLOR, "circle"))
    for kind, symbol in symbols.items():
        figure.add_trace(_legend_entry(kind, "#666666", symbol))
    hidden = {"visible": False, "fixedrange": False}
    if raster:
        figure.add_layout_image(
            source=links_image(drawing, (x0, x1, y0, y1)),
            xref="x",
            yref="y",
            x=x0,
            y=y1,
            sizex=x1 - x0,
            sizey=y1 - y0,
            xanchor="left",
            yanchor="top",
            sizing="stretch",
            layer="below",
        )
    figure.update_layout(
        xaxis={**hidden, "range": [x0, x1]},
        yaxis={**hidden, "range": [y0, y1], "scaleanchor": "x", "scaleratio": 1},
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        autosize=False,
        width=NETWORK_SIZE[0],
        height=NETWORK_SIZE[1],
        plot_bgcolor="white",
        paper_bgcolor="white",
        legend={"orientation": "h", "yanchor": "top", "y": -0.01, "x": 0.0},
        hovermode="closest",
        clickmode="event",
        dragmode="pan",
        uirevision="network",
        meta="network",
    )
    return figure


def _legend_entry(name: str, color: str, symbol: str) -> go.Scatter:
    return go.Scatter(
        x=[None],
        y=[None],
        mode="markers",
        marker={"size": 10, "color": color, "symbol": symbol},
        name=name,
        hoverinfo="skip",
    )


def charts_figure(options: int, truth: int) -> go.Figure:
    """Empty live charts: shares, acted and accuracy over time (top), entropy (bottom).

    Trace order matches :func:`chart_series`.
    """
    colors = option_colors(options, truth)
    figure = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.66, 0.34],
        vertical_spacing=0.1,
        subplot_titles=("Share of all agents", "Entropy of choices (bits)"),
    )
    for option in range(options):
        figure.add_trace(
            go.Scatter(
                x=[],
                y=[],
                mode="lines",
                name=option_label(option, truth),
                line={"color": colors[option]},
            ),
            row=1,
            col=1,
        )
    figure.add_trace(
        go.Scatter(
            x=[], y=[], mode="lines", name="acted", line={"color": "#999999", "dash": "dot"}
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Scatter(
            x=[], y=[], mode="lines", name="accuracy", line={"color": "#000000", "dash": "dash"}
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Scatter(
            x=[], y=[], mode="lines", name="entropy", line={"color": "#555555"}, showlegend=False
        ),
        row=2,
        col=1,
    )
    figure.update_yaxes(range=[0, 1.02], row=1, col=1)
    figure.update_yaxes(range=[0, max(1.0, float(np.log2(options))) * 1.02], row=2, col=1)
    figure.update_xaxes(title_text="simulated time", row=2, col=1)
    figure.update_layout(
        autosize=False,
        width=CHARTS_SIZE[0],
        height=CHARTS_SIZE[1],
        margin={"l": 50, "r": 10, "t": 70, "b": 40},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.08, "x": 0.0},
        plot_bgcolor="white",
        uirevision="charts",
        meta="charts",
    )
    figure.update_xaxes(gridcolor="#eeeeee", zeroline=False)
    figure.update_yaxes(gridcolor="#eeeeee", zeroline=False)
    return figure


def chart_series(timeseries: pl.DataFrame, options: int, n_agents: int) -> list[np.ndarray]:
    """The y values of each trace of :func:`charts_figure`, in trace order (the x values
    are the ``time`` column for all of them)."""
    series = [timeseries[f"share_{k}"].to_numpy() for k in range(options)]
    series.append(timeseries["acted"].to_numpy() / max(n_agents, 1))
    series.append(timeseries["accuracy"].to_numpy())
    series.append(timeseries["entropy"].to_numpy())
    return series
