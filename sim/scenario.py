"""Loading, overriding and running scenarios.

A scenario is a TOML file (or a dict, or a :class:`~sim.config.ScenarioConfig` built in
code) validated into a frozen config. Overrides replace single values by key path
(``{"world.signal_accuracy": 0.6}``, or ``--set world.signal_accuracy=0.6`` on the
command line) *before* validation, so an override is checked exactly like the file.

Every problem is raised as :class:`~sim.errors.ScenarioError` with a message naming the
file, the key path and what was expected.

Main entry points: :func:`load`, :class:`Scenario`, :func:`parse_override`.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import polars as pl
import tomli_w
from pydantic import ValidationError

from sim.adjacency import Adjacency
from sim.agents import AGENT_KINDS
from sim.config import ScenarioConfig
from sim.distributions import DIST_TAGS
from sim.errors import ScenarioError
from sim.network import (
    RANDOM_TOPOLOGIES,
    TOPOLOGIES,
    build_adjacency,
    population_size,
    run_network,
)
from sim.protocols import PROTOCOLS
from sim.results import RunResult
from sim.streams import Streams

if TYPE_CHECKING:
    from sim.deliberation import Mode, Spending
    from sim.llm import LLMClient
    from sim.society import Society

# Pydantic inserts into error locations the tag of a tagged-union member and the type
# name of a plain union member; they are not keys a user wrote, so they are removed from
# the key paths shown in messages. A tag is never the last part of a location (a key of
# that member follows it), which tells the agent kind "threshold" from the key
# "threshold". The tags are the registries' own names, so a new kind is covered.
# Random graphs above this size are not built at load time just to check them.
_CHECK_LIMIT = 100_000

_TAGS = {*AGENT_KINDS, *PROTOCOLS, *TOPOLOGIES, *DIST_TAGS}
_TYPE_NAMES = {"float", "int", "str", "bool", "none", "list", "tuple"}


def _key_path(loc: tuple[int | str, ...]) -> str:
    parts = []
    for i, part in enumerate(loc):
        if isinstance(part, str) and (
            part in _TYPE_NAMES or "[" in part or (part in _TAGS and i < len(loc) - 1)
        ):
            continue
        parts.append(str(part))
    return ".".join(parts) or "(top level)"


def format_validation_error(error: ValidationError, source: str) -> str:
    """One line per problem: ``source: key.path: what was wrong (got VALUE)``.

    Errors from the alternatives of a union (a number *or* a distribution table) are
    merged into one line per key path.
    """
    by_path: dict[str, list[str]] = {}
    inputs: dict[str, Any] = {}
    for item in error.errors():
        path = _key_path(item["loc"])
        if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
            # The error is about the tag key itself (agent, topology, kind, dist).
            tag = str(item.get("ctx", {}).get("discriminator", "")).strip("'")
            path = f"{path}.{tag}" if tag and path != "(top level)" else tag or path
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see the README's scenario reference)"
        elif item["type"] in ("missing", "union_tag_not_found"):
            message = "required key is missing"
        by_path.setdefault(path, [])
        if message not in by_path[path]:
            by_path[path].append(message)
        if item["type"] not in ("missing", "extra_forbidden") and not isinstance(
            item.get("input"), dict
        ):
            inputs.setdefault(path, item.get("input"))
    lines = []
    for path, messages in by_path.items():
        # "not a number" at a key whose table form failed deeper: the table was meant.
        deeper = any(other.startswith(path + ".") for other in by_path)
        if deeper and all("valid number" in m or "valid dictionary" in m for m in messages):
            continue
        if any("valid number" in m for m in messages) and any("dictionary" in m for m in messages):
            messages = [
                "expected a number or a distribution table such as "
                '{ dist = "uniform", low = 0.6, high = 0.8 }'
            ]
        got = f" (got {inputs[path]!r})" if path in inputs else ""
        # Whole-scenario rules name their keys in the message itself.
        where = "" if path == "(top level)" else f"{path}: "
        lines.append(f"{source}: {where}{' or '.join(messages)}{got}")
    return "\n".join(lines)


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``key.path=value`` (from ``--set``) into a key path and a typed value.

    The value is read as a TOML value (``0.6``, ``true``, ``"x"``, ``[0.5, 0.5]``,
    ``{ dist = "uniform", low = 0, high = 1 }``); anything that is not valid TOML is
    taken as a plain string, so ``network.topology=cycle`` needs no quotes.

    Raises:
        ScenarioError: No ``=``, or an empty key.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioError(f"--set {text!r}: expected KEY.PATH=VALUE, e.g. world.options=3")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def apply_overrides(data: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the raw scenario ``data`` with each ``key.path`` set to its value.

    Path parts that are integers index into lists (``population.groups.0.weight``).

    Raises:
        ScenarioError: A path runs through a value that is not a table or list, or an
            index is out of range.
    """
    data = copy.deepcopy(data)
    for path, value in overrides.items():
        parts = path.split(".")
        node: Any = data
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            where = ".".join(parts[: depth + 1])
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ScenarioError(
                        f"override {path}: {where} must be an index below {len(node)}"
                    )
                if last:
                    node[int(part)] = value
                else:
                    node = node[int(part)]
            elif isinstance(node, dict):
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, {})
            else:
                raise ScenarioError(
                    f"override {path}: {'.'.join(parts[:depth])} is a value, not a table"
                )
    return data


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ScenarioError(f"scenario file not found: {path}")
    if path.is_dir():
        raise ScenarioError(f"{path} is a folder; give a scenario .toml file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from exc


class Scenario:
    """A validated scenario, ready to run.

    Args:
        config: The validated configuration.
        base_dir: Folder that relative paths in the scenario resolve against.
        source: Where it came from, for messages (a file path, or ``"<dict>"``).

    Example:
        >>> import sim
        >>> scenario = sim.Scenario.from_dict(
        ...     {"population": {"size": 10}, "world": {"signal_accuracy": 0.8}}
        ... )
        >>> result = scenario.run(seed=1)
        >>> 0.0 <= result.summary["accuracy"] <= 1.0
        True
    """

    def __init__(
        self, config: ScenarioConfig, base_dir: Path | None = None, source: str = "<scenario>"
    ) -> None:
        self.config = config
        self.base_dir = base_dir
        self.source = source
        self._fixed_adjacency: Adjacency | None = None
        self._fixed_graph: nx.DiGraph | None = None

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        overrides: Mapping[str, Any] | None = None,
        *,
        base_dir: Path | None = None,
        source: str = "<dict>",
    ) -> Scenario:
        """Validate a scenario given as nested dicts (the shape of the TOML file)."""
        raw = apply_overrides(dict(data), overrides or {})
        try:
            config = ScenarioConfig.model_validate(raw)
        except ValidationError as exc:
            raise ScenarioError(format_validation_error(exc, source)) from None
        scenario = cls(config, base_dir, source)
        try:
            scenario.check_network()
            scenario.check_task()
        except ScenarioError as exc:
            raise ScenarioError(f"{source}: {exc}") from None
        return scenario

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self.config.name

    def with_overrides(self, overrides: Mapping[str, Any]) -> Scenario:
        """A new scenario with some values replaced by key path."""
        return Scenario.from_dict(
            self.to_dict(), overrides, base_dir=self.base_dir, source=self.source
        )

    def check_task(self) -> None:
        """Check the ``[task]`` table against the world (a question file is read now).

        Raises:
            ScenarioError: The task cannot describe this world.
        """
        if self.config.task is not None:
            self.config.task.check(self.config.world.options, self.base_dir)

    def check_network(self) -> None:
        """Build the network once, so impossible graph parameters and missing network files
        are reported when the scenario is loaded rather than when it first runs. A graph
        that does not depend on the seed (see :data:`~sim.network.RANDOM_TOPOLOGIES`) is
        kept and shared by every run, which must not modify it.

        Raises:
            ScenarioError: The network cannot be built.
        """
        n = population_size(self.config, self.base_dir)
        fixed = self.config.network.topology not in RANDOM_TOPOLOGIES
        if not fixed and n > _CHECK_LIMIT:
            return  # a large random graph is checked when a run builds it
        adjacency = build_adjacency(self.config.network, n, np.random.default_rng(0), self.base_dir)
        if fixed:
            self._fixed_adjacency = adjacency

    def engine_for(self, engine: str | None = None, *, events: bool = False) -> str:
        """The engine that runs this scenario: ``"fast"`` or ``"simpy"``.

        Args:
            engine: ``"auto"``, ``"simpy"`` or ``"fast"`` (default: the scenario's
                ``engine`` key). ``"auto"`` picks the fast engine when it supports every
                part of the scenario.
            events: Whether the per-message event log is wanted (SimPy only).

        Raises:
            ScenarioError: ``"fast"`` was asked for a scenario it cannot run; the message
                names the parts it does not support.
        """
        from sim.fast import unsupported_parts

        requested = engine or self.config.engine
        if requested not in ("auto", "simpy", "fast"):
            raise ScenarioError(f"engine = {requested!r}: expected 'auto', 'simpy' or 'fast'")
        if requested == "simpy":
            return "simpy"
        problems = unsupported_parts(self.config, record_events=events)
        if requested == "fast" and problems:
            raise ScenarioError(
                f"{self.source}: engine = 'fast' cannot run this scenario: "
                f"{'; '.join(problems)}. Use engine = 'simpy' (or 'auto', which picks "
                "the engine that can)."
            )
        return "simpy" if problems else "fast"

    def adjacency(self, seed: int | None = None) -> Adjacency:
        """The network of the run with this seed, as compressed sparse arrays."""
        if self._fixed_adjacency is not None:
            return self._fixed_adjacency
        run_seed = self.config.seed if seed is None else int(seed)
        return run_network(self.config, Streams(run_seed), self.base_dir)

    def build(
        self,
        seed: int | None = None,
        *,
        record_events: bool = False,
        llm_mode: Mode = "live",
        llm_client: LLMClient | None = None,
    ) -> Society:
        """Build the :class:`~sim.society.Society` for one run (not yet run).

        ``llm_mode`` and ``llm_client`` are passed on to it (see
        :class:`~sim.society.Society`).
        """
        from sim.society import Society

        if self._fixed_adjacency is not None and self._fixed_graph is None:
            self._fixed_graph = self._fixed_adjacency.to_networkx()
        return Society(
            self.config,
            seed,
            base_dir=self.base_dir,
            record_events=record_events,
            graph=self._fixed_graph,
            llm_mode=llm_mode,
            llm_client=llm_client,
        )

    def run(
        self,
        seed: int | None = None,
        *,
        events: bool = False,
        engine: str | None = None,
        progress: Callable[[int, float], None] | None = None,
        llm_client: LLMClient | None = None,
    ) -> RunResult:
        """Run once.

        Args:
            seed: Root seed (default: the scenario's ``seed``).
            events: Also record every message (``result.events``; SimPy engine only).
            engine: ``"auto"``, ``"simpy"`` or ``"fast"`` (default: the scenario's
                ``engine``); see :meth:`engine_for`. The summary's ``engine`` column
                says which one ran.
            progress: Called now and then with (events so far, simulated time).
            llm_client: The client LLM-backed agents use (None: one made from the
                scenario's ``[llm]`` table for this run).

        Returns:
            The run's :class:`~sim.results.RunResult`.
        """
        if self.engine_for(engine, events=events) == "fast":
            from sim.fast import FastRun

            fast = FastRun(
                self.config,
                seed,
                base_dir=self.base_dir,
                adjacency=self._fixed_adjacency,
            )
            return fast.run(progress)
        society = self.build(seed, record_events=events, llm_client=llm_client)
        try:
            return society.run(progress)
        finally:
            society.close()

    def episodes(self, count: int, seed: int | None = None) -> pl.DataFrame:
        """Run ``count`` episodes in sequence, seeds ``seed, seed + 1, ...``: with
        ``[institution.memory]`` each reads the notebook the one before wrote.

        Returns:
            One summary row per episode, with an ``episode`` column (0, 1, ...) first.
        """
        first = self.config.seed if seed is None else int(seed)
        rows = [self.run(seed=first + k).summary_frame() for k in range(count)]
        return pl.concat(rows).select(
            pl.int_range(count, dtype=pl.Int64).alias("episode"), pl.all()
        )

    def estimate(self, seed: int | None = None) -> Spending:
        """What the run with this seed would spend on LLM calls, without making any.

        Every ``llm`` agent is replaced by its stand-in rule; prompts are rendered to count
        tokens (see :mod:`sim.deliberation` for when the call count is exact).

        Raises:
            ScenarioError: The scenario has no LLM-backed agents.
        """
        if not self.config.has_llm_agents:
            raise ScenarioError(
                f"{self.source}: no population group has agent = 'llm'; there is nothing "
                "to estimate"
            )
        society = self.build(seed, llm_mode="estimate")
        society.run()
        assert society.deliberation is not None
        return society.deliberation.spending

    def to_dict(self, seed: int | None = None) -> dict[str, Any]:
        """The fully resolved scenario as plain data (every default written out).

        A network file path is made absolute so that the data can be used anywhere.
        """
        data = self.config.model_dump(mode="json", by_alias=True, exclude_none=True)
        if seed is not None:
            data["seed"] = int(seed)
        network = data["network"]
        if network.get("topology") == "file":
            network["path"] = str((self.base_dir or Path.cwd()).joinpath(network["path"]))
        return data

    def to_toml(self, seed: int | None = None) -> str:
        """The fully resolved scenario as TOML text (loadable by :func:`load`)."""
        header = f"# Resolved scenario {self.name!r}: every default written out.\n"
        return header + tomli_w.dumps(self.to_dict(seed))

    def __repr__(self) -> str:
        return f"Scenario(name={self.name!r}, source={self.source!r})"


def load(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Load and validate a scenario file.

    Args:
        path: A TOML scenario file.
        overrides: Values to replace, by key path (``{"world.signal_accuracy": 0.6}``).

    Returns:
        The validated :class:`Scenario`.

    Raises:
        ScenarioError: The file is missing or invalid; the message names the file and
            the key path.
    """
    path = Path(path)
    data = _read_toml(path)
    return Scenario.from_dict(data, overrides, base_dir=path.parent, source=str(path))
