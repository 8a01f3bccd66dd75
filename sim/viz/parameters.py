"""The visualizer's parameter controls, generated from a scenario's own values.

Every scalar the scenario holds becomes a control, keyed by its key path (the same paths
as ``--set``): numbers become sliders, booleans switches (protocol switches such as
``wake_on_message``, ``stop.consensus``, and any institution switch a scenario table
carries), and string choices drop-downs. Slider ranges come from the configuration
models' own constraints (``ge``, ``le``, ...); where a model has none (quantities that may
also be distributions) probabilities get [0, 1] and other numbers [0, 4 × value]. A
quantity given as a distribution gets one control per distribution parameter
(``channels.latency.mean``). The topology is a drop-down of its own: changing it replaces
the whole ``[network]`` table with one valid for the new topology, keeping the values the
two share and starting the others from :data:`STARTER_VALUES`.

Identity keys (names, seeds, shares, priors, file paths, stopping limits) are not offered:
they are not what one turns to watch a society change.

Main entry points: :class:`Parameter`, :func:`scenario_parameters` and :func:`change`.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.network import DIRECTED_TOPOLOGIES, TOPOLOGIES, NetworkConfig
from sim.scenario import Scenario

ParameterKind = Literal["float", "int", "bool", "choice"]

TOPOLOGY_KEY = "network.topology"
"""The topology's control: changing it replaces the whole ``[network]`` table."""

SKIPPED_KEYS: frozenset[str] = frozenset(
    {
        "name",
        "description",
        "seed",
        "record",
        "sweep",
        "agent",
        "share",
        "prior",
        "path",
        "sizes",
        "truth",
        "max_time",
        "max_events",
        "max_stall_events",
    }
)
"""Keys never offered as controls (identities, bookkeeping and stopping limits)."""

PROBABILITY_KEYS: frozenset[str] = frozenset(
    {"signal_accuracy", "assumed_accuracy", "self_weight", "threshold", "p", "p_in", "p_out"}
)
"""Quantities that are probabilities (their distributions' parameters too) although their
models carry no bounds (they may be distributions, checked by validators)."""

STARTER_VALUES: dict[str, float] = {
    "k": 4,
    "p": 0.1,
    "degree": 4,
    "mean_degree": 4.0,
    "m": 2,
    "branching": 2,
    "communities": 2,
}
"""Values given to a topology's required parameters when switching to it (``sbm``'s link
probabilities are derived from the population size instead, see :func:`network_table`)."""


@dataclass(frozen=True)
class Parameter:
    """One control: a key path, its current value and what values it may take.

    Attributes:
        key: Key path, as for ``--set`` (``population.groups.0.weight``).
        label: Text shown next to the control.
        kind: ``float`` and ``int`` (sliders), ``bool`` (switch) or ``choice``.
        value: Current value.
        low: Smallest value of a slider.
        high: Largest value of a slider.
        step: Slider step.
        choices: Values of a ``choice``.
    """

    key: str
    label: str
    kind: ParameterKind
    value: Any
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()


def _field(model: Any, key: str) -> tuple[FieldInfo | None, Any]:
    """The pydantic field of ``model`` named (or aliased) ``key``, and its value."""
    if not isinstance(model, BaseModel):
        return None, None
    for name, info in type(model).model_fields.items():
        if key in (name, info.alias):
            return info, getattr(model, name)
    return None, None


def _bounds(info: FieldInfo | None) -> tuple[float | None, float | None, bool]:
    """(lower, upper, lower is strict) from a field's ``ge``/``gt``/``le``/``lt``."""
    low: float | None = None
    high: float | None = None
    strict = False
    for item in info.metadata if info is not None else ():
        if getattr(item, "ge", None) is not None:
            low = float(item.ge)
        if getattr(item, "gt", None) is not None:
            low, strict = float(item.gt), True
        if getattr(item, "le", None) is not None:
            high = float(item.le)
        if getattr(item, "lt", None) is not None:
            high = float(item.lt)
    return low, high, strict


def _literal_choices(info: FieldInfo | None) -> tuple[str, ...]:
    """The string values of a ``Literal[...]`` field (empty for any other field)."""
    if info is None or typing.get_origin(info.annotation) is not Literal:
        return ()
    return tuple(str(v) for v in typing.get_args(info.annotation))


def _nice_step(span: float) -> float:
    """A round step giving about a hundred positions over ``span``."""
    if span <= 0:
        return 0.01
    return 10.0 ** math.floor(math.log10(span / 100))


def _number(
    key: str, label: str, value: float, info: FieldInfo | None, probability: bool
) -> Parameter:
    """A slider for a number; integers (as the model dumps them) get an integer slider."""
    low, high, strict = _bounds(info)
    if probability:
        low, high = (0.0 if low is None else low), (1.0 if high is None else high)
    if isinstance(value, int):
        lo = int(low if low is not None else 0) + (1 if strict else 0)
        hi = int(high) if high is not None else max(10, 4 * value)
        return Parameter(key, label, "int", value, lo, max(hi, value), 1)
    lo_f = low if low is not None else min(0.0, value)
    hi_f = max(high if high is not None else max(1.0, 4 * abs(value)), value)
    step = _nice_step(hi_f - lo_f)
    return Parameter(key, label, "float", value, lo_f + (step if strict else 0.0), hi_f, step)


def _walk(
    data: Mapping[str, Any], model: Any, prefix: str, label: str, probability: bool
) -> Iterator[Parameter]:
    """Controls for every scalar of one table (recursing into sub-tables and lists)."""
    for key, value in data.items():
        if key in SKIPPED_KEYS or value is None:
            continue
        info, child = _field(model, key)
        path = f"{prefix}{key}"
        text = f"{label} · {key.replace('_', ' ')}" if label else key.replace("_", " ")
        is_probability = probability or key in PROBABILITY_KEYS
        if isinstance(value, dict):
            yield from _walk(value, child, f"{path}.", text, is_probability)
        elif isinstance(value, list):
            continue  # lists of numbers (sizes, priors) are not scalars
        elif isinstance(value, bool):  # before numbers: a bool is an int
            yield Parameter(path, text, "bool", value)
        elif isinstance(value, int | float):
            yield _number(path, text, value, info, is_probability)
        elif isinstance(value, str):
            choices = _literal_choices(info)
            if len(choices) > 1:  # a one-value Literal is a union tag (dist, kind, ...)
                yield Parameter(path, text, "choice", value, choices=choices)


def _group_label(group: Mapping[str, Any], index: int, groups: list[Any]) -> str:
    name = group.get("name") or group.get("agent", "group")
    same = [g for g in groups if (g.get("name") or g.get("agent")) == name]
    return f"{name} {index}" if len(same) > 1 else str(name)


def _topology_models() -> dict[str, type[BaseModel]]:
    union = typing.get_args(NetworkConfig)[0]
    return {cls.model_fields["topology"].default: cls for cls in typing.get_args(union)}


def network_table(current: Mapping[str, Any], topology: str, n_agents: int) -> dict[str, Any]:
    """A valid ``[network]`` table for ``topology``, keeping what ``current`` shares with it.

    Args:
        current: The current ``[network]`` table (plain data).
        topology: The new topology.
        n_agents: Population size (to derive ``sbm`` link probabilities giving a mean
            degree of about 8 within blocks).

    Returns:
        The new table (plain data). Its values may still be impossible for this population
        (an odd ``k``); validation reports that when the scenario is rebuilt.
    """
    model = _topology_models()[topology]
    table: dict[str, Any] = {"topology": topology}
    if current.get("directed") and topology in DIRECTED_TOPOLOGIES:
        table["directed"] = True
    keep_same = current.get("topology") == topology
    fields = {k: v for k, v in model.model_fields.items() if k not in ("topology", "directed")}
    for name in fields:
        # An edge probability means something else for another topology's graph.
        carried = keep_same or not (topology == "erdos_renyi" and name == "p")
        if name in current and carried:
            table[name] = current[name]
    # Topologies whose parameters are "exactly one of two" get the one that scales with n.
    if topology == "erdos_renyi":
        if "p" not in table:
            table.setdefault("mean_degree", STARTER_VALUES["mean_degree"])
    elif topology == "sbm":
        if "sizes" not in table:
            table.setdefault("communities", STARTER_VALUES["communities"])
        blocks = len(table["sizes"]) if "sizes" in table else int(table["communities"])
        block = max(2, n_agents // max(1, blocks))
        table.setdefault("p_in", round(min(1.0, 8.0 / block), 4))
        table.setdefault("p_out", round(min(1.0, 0.5 / max(1, n_agents - block)), 5))
    else:
        for name, info in fields.items():
            if info.is_required() and name not in table:
                table[name] = STARTER_VALUES[name]
    return table


def scenario_parameters(scenario: Scenario) -> list[Parameter]:
    """The controls for a scenario (see the module docstring), in scenario order:
    population, world, groups, network, channels, protocol, stop, then any other table."""
    data = scenario.to_dict()
    config = scenario.config
    out: list[Parameter] = []
    network = data.get("network", {})
    size = data.get("population", {}).get("size")
    if size is not None and network.get("topology") != "file":
        info, _ = _field(config.population, "size")
        out.append(_number("population.size", "population · size", size, info, False))
    out.extend(_walk(data.get("world", {}), config.world, "world.", "world", False))
    groups = data.get("population", {}).get("groups", [])
    for i, group in enumerate(groups):
        label = _group_label(group, i, groups)
        model = config.population.groups[i]
        out.extend(_walk(group, model, f"population.groups.{i}.", label, False))
    for key, value in data.get("population", {}).items():
        if key not in ("size", "groups") and key not in SKIPPED_KEYS:
            out.extend(_walk({key: value}, config.population, "population.", "population", False))
    if network.get("topology") != "file":
        choices = tuple(t for t in TOPOLOGIES if t != "file")
        out.append(
            Parameter(
                TOPOLOGY_KEY, "network · topology", "choice", network["topology"], choices=choices
            )
        )
        rest = {k: v for k, v in network.items() if k != "topology"}
        if network["topology"] not in DIRECTED_TOPOLOGIES:
            rest.pop("directed", None)
        out.extend(_walk(rest, config.network, "network.", "network", False))
    for table in data:
        if table in ("world", "population", "network") or table in SKIPPED_KEYS:
            continue
        if isinstance(data[table], dict):
            out.extend(_walk(data[table], getattr(config, table, None), f"{table}.", table, False))
    return out


def with_change(overrides: Mapping[str, Any], key: str, value: Any) -> dict[str, Any]:
    """``overrides`` with ``key`` set to ``value``, after dropping overrides of keys below
    ``key`` (a replaced table forgets earlier changes inside it). Later keys are applied
    later, so a change inside a table replaced earlier still applies."""
    kept = {k: v for k, v in overrides.items() if k != key and not k.startswith(key + ".")}
    kept[key] = value
    return kept


def change(
    scenario: Scenario, overrides: Mapping[str, Any], key: str, value: Any
) -> dict[str, Any]:
    """The overrides after a control of ``scenario`` (built with ``overrides``) is set.

    Changing :data:`TOPOLOGY_KEY` replaces the ``[network]`` table (see
    :func:`network_table`); any other key is set as it is.
    """
    if key == TOPOLOGY_KEY:
        current = scenario.to_dict()
        size = current["population"].get("size") or 0
        return with_change(overrides, "network", network_table(current["network"], value, size))
    return with_change(overrides, key, value)
