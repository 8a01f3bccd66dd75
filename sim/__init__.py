"""societysim: discrete-event simulation of agent societies.

Quick use::

    import sim
    scenario = sim.load("scenarios/cascade.toml", overrides={"world.signal_accuracy": 0.6})
    result = scenario.run(seed=1)
    result.summary["cascade"], result.timeseries, result.events

    frame = sim.sweep(scenario, out="results/s", grid={"world.signal_accuracy": [0.6, 0.8]},
                      replicates=100, workers=2)

Main entry points: :func:`load`, :class:`Scenario`, :class:`Society`, :func:`sweep`,
:class:`RunResult`, :class:`ScenarioError`.
"""

from sim.errors import ScenarioError
from sim.results import RunResult
from sim.scenario import Scenario, load
from sim.society import Society
from sim.sweep import sweep

__version__ = "0.1.0"

__all__ = ["RunResult", "Scenario", "ScenarioError", "Society", "__version__", "load", "sweep"]
