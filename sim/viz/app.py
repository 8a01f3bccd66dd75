"""The Solara app that ``sim viz`` serves: one :class:`~sim.viz.session.LiveRun` per tab.

Solara imports this module by name and renders :func:`Page` for every browser tab. What to
show comes from the environment, set by :func:`sim.viz.server.serve` (or by hand, to run
the app with ``solara run sim.viz.app``):

``SIM_VIZ_SCENARIO``
    Path of the scenario file (required).
``SIM_VIZ_OVERRIDES``
    JSON object of key path → value, as given with ``--set`` (optional).
``SIM_VIZ_SEED``
    Root seed (optional; default the scenario's).

Main entry point: :func:`Page`.
"""

from __future__ import annotations

import json
import os
from typing import Any

import solara

from sim.scenario import Scenario, load
from sim.viz.components import Visualizer
from sim.viz.server import OVERRIDES_VARIABLE, SCENARIO_VARIABLE, SEED_VARIABLE
from sim.viz.session import LiveRun


def configured_run() -> tuple[Scenario, int | None]:
    """The scenario and seed the environment names (see the module docstring)."""
    path = os.environ.get(SCENARIO_VARIABLE)
    if not path:
        raise RuntimeError(f"{SCENARIO_VARIABLE} is not set: start the visualizer with sim viz")
    overrides: dict[str, Any] = json.loads(os.environ.get(OVERRIDES_VARIABLE) or "{}")
    seed = os.environ.get(SEED_VARIABLE)
    return load(path, overrides), None if seed in (None, "") else int(seed)


@solara.component
def Page() -> None:
    """The visualizer for the configured scenario (a new run per browser tab)."""
    run = solara.use_memo(lambda: LiveRun(*configured_run()), [])
    Visualizer(run)
