"""A run being watched: the society, its drawing, and what the page shows of it.

:class:`LiveRun` is what one browser tab of ``sim viz`` drives. It holds a scenario (the one
given on the command line, plus the changes made with the page's controls), a seed, the
:class:`~sim.society.Society` built from them (exactly ``scenario.build(seed)``, so a run
watched on the page is the run ``sim run`` makes), and the network drawing. The page steps
it, resets it, changes its parameters, and reads consistent snapshots (:class:`Frame`) to
draw. A play loop steps it from a background thread while the page reads it, so every
method takes the run's lock.

The drawing depends only on the network, so it is computed once per distinct network
(identified by a hash of its arcs) and reused by resets and by parameter changes that leave
the network alone.

Main entry points: :class:`LiveRun`, :class:`Frame`, :class:`Scene`, :class:`AgentDetails`,
:func:`live_timeseries`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from sim.metrics import entropy_bits
from sim.scenario import Scenario
from sim.society import Society
from sim.viz.layout import MAX_DRAWN_NODES, NetworkDrawing, draw_network
from sim.viz.parameters import Parameter, change, scenario_parameters

_DRAWINGS_KEPT = 4


@dataclass(frozen=True)
class Scene:
    """What stays fixed while one society runs: its drawing and its cast.

    Attributes:
        build: Increases with every rebuild (reset, parameter or seed change).
        drawing: The network drawing.
        kinds: Agent kind of each drawn agent.
        labels: Hover text of each drawn agent.
        scenario_kinds: Agent kind of each population group.
        options: Number of options K.
        truth: The true option.
        n_agents: Population size.
    """

    build: int
    drawing: NetworkDrawing
    kinds: list[str]
    labels: list[str]
    scenario_kinds: list[str]
    options: int
    truth: int
    n_agents: int


@dataclass(frozen=True)
class Frame:
    """A consistent snapshot of a run, for one redraw of the page.

    Attributes:
        version: Increases with every change of the run (a step, a reset, a rebuild).
        scene: The society's fixed part.
        time: Simulated time.
        drawn_choices: Current choice of each drawn agent (``-1``: not yet acted), in
            the order of the drawing's ``nodes``.
        acted: Agents who have chosen, in the whole population.
        finished: Whether the run has ended.
        stop_reason: Why it ended (``None`` while it runs).
        timeseries: :func:`live_timeseries` of the whole population.
        summary: The society's summary row so far.
        step_seconds: Wall-clock seconds of the last step's simulation.
    """

    version: int
    scene: Scene
    time: float
    drawn_choices: np.ndarray
    acted: int
    finished: bool
    stop_reason: str | None
    timeseries: pl.DataFrame
    summary: dict[str, Any]
    step_seconds: float

    @property
    def build(self) -> int:
        """The society's build number (see :class:`Scene`)."""
        return self.scene.build


@dataclass(frozen=True)
class AgentDetails:
    """What the page shows about one selected agent.

    ``prompt`` and ``response`` are the agent's ``last_prompt`` and ``last_response``
    attributes, which LLM-backed agents carry; ``None`` for agents without them.
    """

    index: int
    kind: str
    group: str
    signal: int
    accuracy: float
    choice: int | None
    belief: tuple[float, ...]
    heard: int
    prompt: str | None
    response: str | None


def live_timeseries(society: Society) -> pl.DataFrame:
    """The society's time series so far, up to and including the current time.

    The recorder writes the grid rows since the last change only when the state next
    changes (or the run ends); until then they all hold the current state. The page wants
    the present, so those rows and a row at the current time are added from the
    recorder's running counts: the result is what ``timeseries()`` will hold for these
    times once the run moves on (same columns).
    """
    frame = society.recorder.timeseries()
    now = float(society.env.now)
    recorder = society.recorder
    times: list[float] = []
    grid = frame["time"][-1] + recorder.interval if frame.height else 0.0
    while grid < now:  # accumulated as the recorder does, to get the same floats
        times.append(grid)
        grid += recorder.interval
    if not frame.height or frame["time"][-1] < now:
        times.append(now)
    if not times:
        return frame
    counts = recorder.counts.tolist()
    shares = [c / recorder.n for c in counts]
    state: dict[str, Any] = {"acted": recorder.acted}
    state.update({f"share_{k}": share for k, share in enumerate(shares)})
    state["accuracy"] = shares[recorder.truth]
    state["entropy"] = entropy_bits(counts)
    state["distinct"] = sum(1 for c in counts if c > 0)
    rows = [{"time": t, **state} for t in times]
    return pl.concat([frame, pl.DataFrame(rows, schema=frame.schema)])


def _network_key(out_neighbors: Sequence[np.ndarray]) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.fromiter((len(a) for a in out_neighbors), dtype=np.int64).tobytes())
    for arcs in out_neighbors:
        digest.update(np.asarray(arcs, dtype=np.int64).tobytes())
    return digest.digest()


class LiveRun:
    """A scenario run step by step under the page's controls.

    Args:
        scenario: The scenario as given (``sim.load(path, overrides)``).
        seed: Root seed (default: the scenario's).
        max_nodes: Populations larger than this are drawn as a sample.

    Attributes:
        base: The scenario as given; the page's changes are :attr:`overrides` on top.
        overrides: Key path → value changed with the page's controls.
        seed: The root seed of the current society.
        scenario: The scenario in force (``base`` with ``overrides``).
        society: The current society.
        scene: Its drawing and cast.
    """

    def __init__(
        self, scenario: Scenario, seed: int | None = None, *, max_nodes: int = MAX_DRAWN_NODES
    ) -> None:
        self.base = scenario
        self.overrides: dict[str, Any] = {}
        self.seed = scenario.config.seed if seed is None else int(seed)
        self.scenario = scenario
        self.max_nodes = max_nodes
        self._lock = threading.RLock()
        self._drawings: OrderedDict[bytes, NetworkDrawing] = OrderedDict()
        self.version = 0
        self.build = 0
        self.step_seconds = 0.0
        self.society = self._build(scenario)

    # -- building --------------------------------------------------------------------

    def _build(self, scenario: Scenario) -> Society:
        society = scenario.build(self.seed)
        key = _network_key(society.out_neighbors)
        drawing = self._drawings.get(key)
        if drawing is None:
            drawing = draw_network(society.out_neighbors, max_nodes=self.max_nodes)
            self._drawings[key] = drawing
            while len(self._drawings) > _DRAWINGS_KEPT:
                self._drawings.popitem(last=False)
        self._drawings.move_to_end(key)
        self.build += 1
        self.version += 1
        self.step_seconds = 0.0
        groups = scenario.config.population.groups
        names = [g.name or g.agent for g in groups]
        members = society.members
        drawn = [members[int(i)] for i in drawing.nodes]
        self.scene = Scene(
            build=self.build,
            drawing=drawing,
            kinds=[a.kind for a in drawn],
            labels=[
                f"agent {a.index} · {a.kind} ({names[a.group]}) · signal {a.signal}" for a in drawn
            ],
            scenario_kinds=[g.agent for g in groups],
            options=society.world.options,
            truth=int(society.world.truth),
            n_agents=len(members),
        )
        return society

    def reset(self) -> None:
        """Rebuild the society at time 0 with the current parameters and seed."""
        with self._lock:
            self.society = self._build(self.scenario)

    def set_parameter(self, key: str, value: Any) -> None:
        """Change one parameter (a control's key path) and rebuild at time 0.

        Raises:
            ScenarioError: The value makes the scenario invalid; nothing changes.
        """
        with self._lock:
            overrides = change(self.scenario, self.overrides, key, value)
            self._apply(overrides)

    def restore_parameters(self) -> None:
        """Forget every parameter change and rebuild the scenario as given."""
        with self._lock:
            self._apply({})

    def _apply(self, overrides: Mapping[str, Any]) -> None:
        scenario = self.base.with_overrides(overrides) if overrides else self.base
        society = self._build(scenario)
        self.scenario, self.overrides, self.society = scenario, dict(overrides), society

    def set_seed(self, seed: int) -> None:
        """Rebuild at time 0 with another root seed."""
        with self._lock:
            self.seed = int(seed)
            self.society = self._build(self.scenario)

    # -- running ---------------------------------------------------------------------

    def step(self) -> None:
        """Advance one unit of simulated time (nothing once the run has ended)."""
        with self._lock:
            if self.society.finished:
                return
            started = time.perf_counter()
            self.society.step()
            self.step_seconds = time.perf_counter() - started
            self.version += 1

    @property
    def finished(self) -> bool:
        """Whether the current run has ended."""
        return self.society.finished

    # -- reading ---------------------------------------------------------------------

    def parameters(self) -> list[Parameter]:
        """The controls for the scenario in force, at its current values."""
        with self._lock:
            return scenario_parameters(self.scenario)

    def frame(self) -> Frame:
        """A snapshot of the current state for drawing."""
        with self._lock:
            society = self.society
            choices = society.choices()
            return Frame(
                version=self.version,
                scene=self.scene,
                time=float(society.env.now),
                drawn_choices=choices[self.scene.drawing.nodes],
                acted=int(society.recorder.acted),
                finished=society.finished,
                stop_reason=society.stop_reason,
                timeseries=live_timeseries(society),
                summary=society.summary(),
                step_seconds=self.step_seconds,
            )

    def group_names(self) -> list[str]:
        """Display name of each population group (its name, else its agent kind)."""
        return [g.name or g.agent for g in self.scenario.config.population.groups]

    def agent(self, index: int) -> AgentDetails:
        """Details of agent ``index`` (its prompt and response if it has them).

        Raises:
            IndexError: No such agent.
        """
        with self._lock:
            members = self.society.members
            if not 0 <= index < len(members):
                raise IndexError(f"no agent {index}: agents are 0 to {len(members) - 1}")
            agent = members[index]
            prompt = getattr(agent, "last_prompt", None)
            response = getattr(agent, "last_response", None)
            return AgentDetails(
                index=index,
                kind=agent.kind,
                group=self.group_names()[agent.group],
                signal=agent.signal,
                accuracy=agent.accuracy,
                choice=agent.choice,
                belief=tuple(float(b) for b in agent.belief),
                heard=len(agent.heard),
                prompt=None if prompt is None else str(prompt),
                response=None if response is None else str(response),
            )
