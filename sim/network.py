"""The social network of a society: who observes whom.

A scenario's ``[network]`` table picks a topology (``topology = "watts_strogatz"``,
``k = 4``, ``p = 0.1``, ...) or loads one from a file. Each topology is a frozen pydantic
model; :data:`NetworkConfig` is their tagged union, discriminated by ``topology``.

:func:`build_adjacency` turns a config and a population size into CSR arrays (an
:class:`~sim.adjacency.Adjacency`) on nodes ``0..n-1`` in which an arc ``u -> v`` means
that ``v`` observes ``u`` (messages flow from ``u`` to ``v``); the generators of
:mod:`sim.adjacency` build them directly, so a million-node network takes seconds.
Undirected topologies become both arcs of every edge, so the rest of the simulator only
ever sees directed graphs. :func:`build_graph` gives the same graph as a
``networkx.DiGraph`` for the SimPy engine. Every random choice is seeded from the
generator passed in, so the same generator state always yields the same graph, in both
forms.

Main entry points: :data:`NetworkConfig`, :data:`TOPOLOGIES`, :func:`build_adjacency`,
:func:`build_graph`, :func:`out_neighbors` and :func:`file_node_count` (so a
population's size can default to a network file's size).
"""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import networkx as nx
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim import adjacency
from sim.adjacency import Adjacency
from sim.errors import ScenarioError
from sim.streams import Component, Streams

TOPOLOGIES: tuple[str, ...] = (
    "complete",
    "empty",
    "cycle",
    "star",
    "wheel",
    "lattice",
    "regular",
    "erdos_renyi",
    "watts_strogatz",
    "barabasi_albert",
    "tree",
    "sbm",
    "file",
)
"""Every accepted value of ``network.topology``."""

DIRECTED_TOPOLOGIES: tuple[str, ...] = ("complete", "cycle", "star", "tree", "erdos_renyi", "file")
"""Topologies that accept ``directed = true``; the others have no natural orientation."""

RANDOM_TOPOLOGIES: tuple[str, ...] = (
    "regular",
    "erdos_renyi",
    "watts_strogatz",
    "barabasi_albert",
    "sbm",
)
"""Topologies whose graph depends on the seed; every other topology gives one fixed graph
for a given size (and file), which callers may build once and reuse."""

EDGE_LIST_SUFFIXES: tuple[str, ...] = (".edgelist", ".txt", ".csv")
GRAPHML_SUFFIXES: tuple[str, ...] = (".graphml",)


# --------------------------------------------------------------------------- configs


class _NetworkBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    directed: bool = Field(
        False, description="Arcs u→v only (v observes u); false means both directions."
    )


class CompleteNetwork(_NetworkBase):
    """Everyone observes everyone else (all ordered pairs when directed)."""

    topology: Literal["complete"] = "complete"


class EmptyNetwork(_NetworkBase):
    """Nobody observes anybody: agents act on private information only."""

    topology: Literal["empty"] = "empty"


class CycleNetwork(_NetworkBase):
    """A ring: node ``i`` is joined to ``i+1`` (``i -> i+1`` only when directed)."""

    topology: Literal["cycle"] = "cycle"


class StarNetwork(_NetworkBase):
    """Node 0 is the hub, joined to every other node (hub → leaves when directed)."""

    topology: Literal["star"] = "star"


class WheelNetwork(_NetworkBase):
    """A star whose leaves also form a ring; node 0 is the hub."""

    topology: Literal["wheel"] = "wheel"


class LatticeNetwork(_NetworkBase):
    """Ring lattice: each node joined to its ``k`` nearest neighbours (``k/2`` per side)."""

    topology: Literal["lattice"] = "lattice"
    k: int = Field(ge=2, description="Neighbours per node; even, less than the population.")


class RegularNetwork(_NetworkBase):
    """Random graph in which every node has exactly ``degree`` neighbours (approximately
    uniform: networkx's ``random_regular_graph`` algorithm, see
    :func:`sim.adjacency.random_regular`)."""

    topology: Literal["regular"] = "regular"
    degree: int = Field(ge=0, description="Neighbours per node; population * degree even.")


class ErdosRenyiNetwork(_NetworkBase):
    """G(n, p): each pair joined independently with probability ``p``.

    Give exactly one of ``p`` and ``mean_degree`` (then ``p = mean_degree / (n - 1)``).
    """

    topology: Literal["erdos_renyi"] = "erdos_renyi"
    p: float | None = Field(
        None, ge=0, le=1, allow_inf_nan=False, description="Probability of each edge."
    )
    mean_degree: float | None = Field(
        None, ge=0, allow_inf_nan=False, description="Expected (out-)degree of a node."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> ErdosRenyiNetwork:
        if (self.p is None) == (self.mean_degree is None):
            raise ValueError("give exactly one of p and mean_degree")
        return self


class WattsStrogatzNetwork(_NetworkBase):
    """Small world: a ring lattice whose edges are rewired with probability ``p``."""

    topology: Literal["watts_strogatz"] = "watts_strogatz"
    k: int = Field(ge=2, description="Neighbours per node before rewiring; even.")
    p: float = Field(ge=0, le=1, allow_inf_nan=False, description="Rewiring probability.")


class BarabasiAlbertNetwork(_NetworkBase):
    """Preferential attachment: each new node joins ``m`` existing ones."""

    topology: Literal["barabasi_albert"] = "barabasi_albert"
    m: int = Field(ge=1, description="Edges brought by each new node; less than population.")


class TreeNetwork(_NetworkBase):
    """Full ``branching``-ary tree rooted at node 0 (parent → child when directed)."""

    topology: Literal["tree"] = "tree"
    branching: int = Field(2, ge=1, description="Children per internal node.")


class SBMNetwork(_NetworkBase):
    """Stochastic block model: dense within communities, sparse across them.

    Give exactly one of ``communities`` (near-equal blocks, earlier blocks take the
    remainder) and ``sizes`` (explicit block sizes summing to the population size). Nodes
    are numbered block by block; each node keeps its block index as attribute ``block``.
    """

    topology: Literal["sbm"] = "sbm"
    communities: int | None = Field(None, ge=1, description="Number of near-equal blocks.")
    sizes: list[Annotated[int, Field(ge=1)]] | None = Field(
        None, min_length=1, description="Explicit block sizes, in node order."
    )
    p_in: float = Field(ge=0, le=1, allow_inf_nan=False, description="Edge probability within.")
    p_out: float = Field(ge=0, le=1, allow_inf_nan=False, description="Edge probability across.")

    @model_validator(mode="after")
    def _exactly_one(self) -> SBMNetwork:
        if (self.communities is None) == (self.sizes is None):
            raise ValueError("give exactly one of communities and sizes")
        return self


class FileNetwork(_NetworkBase):
    """A network read from an edge list or a GraphML file.

    Edge lists (``.edgelist``, ``.txt``, ``.csv``) hold one ``source target [weight]`` per
    line, separated by whitespace or commas; blank lines and lines starting with ``#``
    are ignored (so a header line must be commented out). Their direction comes from
    ``directed``. GraphML (``.graphml``) files carry their own direction, which wins over
    ``directed``. Relative paths are resolved against the scenario file's folder.
    """

    topology: Literal["file"] = "file"
    path: str = Field(min_length=1, description="Edge list or GraphML file.")


NetworkConfig = Annotated[
    CompleteNetwork
    | EmptyNetwork
    | CycleNetwork
    | StarNetwork
    | WheelNetwork
    | LatticeNetwork
    | RegularNetwork
    | ErdosRenyiNetwork
    | WattsStrogatzNetwork
    | BarabasiAlbertNetwork
    | TreeNetwork
    | SBMNetwork
    | FileNetwork,
    Field(discriminator="topology"),
]
"""The ``[network]`` table: one of the topology models, chosen by ``topology``."""


# ------------------------------------------------------------------------ generators
# Each checks its parameters with a user-facing message, then builds the CSR arrays with
# a generator of sim.adjacency (looked up on the module, so tests can replace one).


def _need(ok: bool, message: str) -> None:
    if not ok:
        raise ScenarioError(message)


def _check_probability(key: str, value: float) -> None:
    _need(0 <= value <= 1, f"{key} = {value}: must be a probability in [0, 1]")


def _check_ring_k(n: int, k: int) -> None:
    _need(k >= 2, f"network.k = {k}: must be at least 2 (k/2 neighbours on each side)")
    _need(k % 2 == 0, f"network.k = {k}: must be even (k/2 neighbours on each side)")
    _need(k < n, f"network.k = {k}: must be less than population.size = {n}")


def _lattice(n: int, k: int) -> Adjacency:
    _check_ring_k(n, k)
    return adjacency.ring_lattice(n, k)


def _watts_strogatz(n: int, k: int, p: float, rng: np.random.Generator) -> Adjacency:
    _check_ring_k(n, k)
    _check_probability("network.p", p)
    return adjacency.watts_strogatz(n, k, p, rng)


def _regular(n: int, degree: int, rng: np.random.Generator) -> Adjacency:
    _need(degree >= 0, f"network.degree = {degree}: must be at least 0")
    _need(degree < n, f"network.degree = {degree}: must be less than population.size = {n}")
    _need(
        n * degree % 2 == 0,
        f"network.degree = {degree}: population.size * degree must be even "
        f"(got {n} * {degree} = {n * degree}); change the degree or the population size",
    )
    return adjacency.random_regular(n, degree, rng)


def _er_probability(n: int, p: float | None, mean_degree: float | None) -> float:
    _need(
        (p is None) != (mean_degree is None),
        "network: erdos_renyi needs exactly one of p and mean_degree",
    )
    if p is not None:
        _check_probability("network.p", p)
        return p
    assert mean_degree is not None  # narrowed by the check above
    _need(
        0 <= mean_degree <= n - 1,
        f"network.mean_degree = {mean_degree}: must be between 0 and population.size - 1 = {n - 1}",
    )
    return mean_degree / (n - 1) if n > 1 else 0.0


def _barabasi_albert(n: int, m: int, rng: np.random.Generator) -> Adjacency:
    _need(m >= 1, f"network.m = {m}: must be at least 1")
    _need(m < n, f"network.m = {m}: must be less than population.size = {n}")
    return adjacency.barabasi_albert(n, m, rng)


def _tree(n: int, branching: int, directed: bool) -> Adjacency:
    _need(branching >= 1, f"network.branching = {branching}: must be at least 1")
    return adjacency.full_tree(n, branching, directed=directed)


def _block_sizes(n: int, communities: int | None, sizes: list[int] | None) -> list[int]:
    _need(
        (communities is None) != (sizes is None),
        "network: sbm needs exactly one of communities and sizes",
    )
    if sizes is not None:
        _need(
            all(size >= 1 for size in sizes),
            f"network.sizes = {sizes}: every block needs at least 1 node",
        )
        _need(
            sum(sizes) == n,
            f"network.sizes = {sizes}: must sum to population.size = {n} (they sum to "
            f"{sum(sizes)})",
        )
        return list(sizes)
    assert communities is not None  # narrowed by the check above
    _need(
        1 <= communities <= n,
        f"network.communities = {communities}: must be between 1 and population.size = {n}",
    )
    base, extra = divmod(n, communities)
    return [base + 1] * extra + [base] * (communities - extra)


def _sbm(sizes: list[int], p_in: float, p_out: float, rng: np.random.Generator) -> Adjacency:
    _check_probability("network.p_in", p_in)
    _check_probability("network.p_out", p_out)
    return adjacency.stochastic_block_model(sizes, p_in, p_out, rng)


# ----------------------------------------------------------------------------- files


def _resolve(path: str, base_dir: Path | None) -> Path:
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = (base_dir if base_dir is not None else Path.cwd()) / candidate
    return candidate.resolve()


def _parse_weight(text: str, where: str) -> float:
    try:
        weight = float(text)
    except (TypeError, ValueError):
        raise ScenarioError(f"{where}: weight {text!r} is not a number") from None
    _need(math.isfinite(weight), f"{where}: weight {text!r} must be finite")
    return weight


def _read_edge_list(path: Path, directed: bool) -> nx.Graph:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"network.path: cannot read {path}: {exc}") from exc
    graph = nx.DiGraph() if directed else nx.Graph()
    index: dict[str, int] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")] if "," in line else line.split()
        where = f"network.path: {path}, line {lineno}"
        _need(
            len(fields) in (2, 3) and all(fields),
            f"{where}: expected 'source target [weight]', got {line!r}",
        )
        for label in fields[:2]:
            if label not in index:
                index[label] = len(index)
                graph.add_node(index[label], label=label)
        u, v = index[fields[0]], index[fields[1]]
        if len(fields) == 3:
            graph.add_edge(u, v, weight=_parse_weight(fields[2], where))
        else:
            graph.add_edge(u, v)
    return graph


def _read_graphml(path: Path) -> nx.Graph:
    try:
        raw = nx.read_graphml(path)
    except (OSError, ET.ParseError, nx.NetworkXError, ValueError, KeyError) as exc:
        raise ScenarioError(f"network.path: cannot parse GraphML file {path}: {exc}") from exc
    index = {label: i for i, label in enumerate(raw.nodes)}
    graph = nx.DiGraph() if raw.is_directed() else nx.Graph()
    graph.add_nodes_from((i, {"label": str(label)}) for label, i in index.items())
    for u, v, data in raw.edges(data=True):
        if "weight" in data:
            weight = _parse_weight(str(data["weight"]), f"network.path: {path}, edge {u}-{v}")
            graph.add_edge(index[u], index[v], weight=weight)
        else:
            graph.add_edge(index[u], index[v])
    return graph


def _read_file(config: FileNetwork, base_dir: Path | None) -> tuple[Path, nx.Graph]:
    path = _resolve(config.path, base_dir)
    suffix = path.suffix.lower()
    supported = EDGE_LIST_SUFFIXES + GRAPHML_SUFFIXES
    _need(
        suffix in supported,
        f"network.path = {config.path!r}: unsupported file type {suffix or '(none)'!r}; "
        f"expected one of {', '.join(supported)}",
    )
    _need(path.is_file(), f"network.path = {config.path!r}: file not found: {path}")
    if suffix in GRAPHML_SUFFIXES:
        return path, _read_graphml(path)
    return path, _read_edge_list(path, config.directed)


def file_node_count(config: FileNetwork, base_dir: Path | None = None) -> int:
    """Number of distinct nodes in a network file.

    Lets a scenario omit ``population.size`` when the network comes from a file.

    Args:
        config: The file network's config.
        base_dir: Folder that relative paths are resolved against (the scenario file's
            folder); the current directory when ``None``.

    Returns:
        How many distinct node labels the file has (an edge list cannot hold isolated
        nodes, but a self-loop ``a a`` declares ``a`` without joining it to anyone).

    Raises:
        ScenarioError: ``config`` is not a file network (then the population size must be
            given), or the file is missing, of an unsupported type, unreadable or
            malformed.
    """
    # Callers holding a NetworkConfig may pass any topology; fail with a user-facing message.
    _need(
        isinstance(config, FileNetwork),
        f"population.size is required unless network.topology = 'file' "
        f"(topology is {getattr(config, 'topology', None)!r})",
    )
    _, graph = _read_file(config, base_dir)
    return int(graph.number_of_nodes())


def _file(config: FileNetwork, n: int, base_dir: Path | None) -> Adjacency:
    path, graph = _read_file(config, base_dir)
    count = graph.number_of_nodes()
    _need(
        count == n,
        f"network.path = {config.path!r}: {path} has {count} nodes but population.size = "
        f"{n}; population.size must match the file's node count",
    )
    return Adjacency.from_networkx(graph, n)


# --------------------------------------------------------------------------- builder


@dataclass(frozen=True)
class _Request:
    n: int
    rng: np.random.Generator  # seeded from the one integer drawn from the caller's generator
    base_dir: Path | None


# Entries unpack their own config type, hence Any; each forwards to a generator above.
_GENERATORS: dict[str, Callable[[Any, _Request], Adjacency]] = {
    "complete": lambda c, r: adjacency.complete(r.n),
    "empty": lambda c, r: adjacency.empty(r.n),
    "cycle": lambda c, r: adjacency.cycle(r.n, directed=c.directed),
    "star": lambda c, r: adjacency.star(r.n, directed=c.directed),
    "wheel": lambda c, r: adjacency.wheel(r.n),
    "lattice": lambda c, r: _lattice(r.n, c.k),
    "regular": lambda c, r: _regular(r.n, c.degree, r.rng),
    "erdos_renyi": lambda c, r: adjacency.erdos_renyi(
        r.n, _er_probability(r.n, c.p, c.mean_degree), r.rng, directed=c.directed
    ),
    "watts_strogatz": lambda c, r: _watts_strogatz(r.n, c.k, c.p, r.rng),
    "barabasi_albert": lambda c, r: _barabasi_albert(r.n, c.m, r.rng),
    "tree": lambda c, r: _tree(r.n, c.branching, c.directed),
    "sbm": lambda c, r: _sbm(_block_sizes(r.n, c.communities, c.sizes), c.p_in, c.p_out, r.rng),
    "file": lambda c, r: _file(c, r.n, r.base_dir),
}


def build_adjacency(
    config: NetworkConfig,
    n: int,
    rng: np.random.Generator,
    base_dir: Path | None = None,
) -> Adjacency:
    """Build the observation network of a population of ``n`` agents as CSR arrays.

    Args:
        config: The ``[network]`` table.
        n: Population size; the nodes are ``0..n-1`` in that order.
        rng: Source of all randomness. Exactly one integer is drawn from it, whatever the
            topology; it seeds the generator that the topology draws from.
        base_dir: Folder that a relative ``network.path`` is resolved against (the
            scenario file's folder); the current directory when ``None``.

    Returns:
        The arcs ``u -> v`` (``v`` observes ``u``); undirected topologies have both arcs of
        every edge, and there are no self-loops. ``weights`` is set only when a file gave
        a weight to some edge (then arcs without one weigh 1.0); file nodes keep their
        original label as node attribute ``label``, and SBM nodes their block index as
        ``block``.

    Raises:
        ScenarioError: ``n < 1``, ``directed = true`` for a topology without a natural
            orientation, parameters impossible for this ``n``, or an unusable file.
    """
    _need(n >= 1, f"population.size = {n}: a network needs at least 1 node")
    _need(
        not config.directed or config.topology in DIRECTED_TOPOLOGIES,
        f"network.directed = true is not supported for topology {config.topology!r}; "
        f"it is supported for: {', '.join(DIRECTED_TOPOLOGIES)}",
    )
    seed = int(rng.integers(2**63))
    request = _Request(n=n, rng=np.random.default_rng(seed), base_dir=base_dir)
    try:
        return _GENERATORS[config.topology](config, request)
    except nx.NetworkXError as exc:
        raise ScenarioError(
            f"network.topology = {config.topology!r}: cannot build the graph with "
            f"population.size = {n}: {exc}"
        ) from exc


def run_network(config: Any, streams: Streams, base_dir: Path | None = None) -> Adjacency:
    """The network of one run: :func:`build_adjacency` for a scenario (a
    :class:`~sim.config.ScenarioConfig`) from the run's network stream. Both engines
    build their graph here."""
    return build_adjacency(
        config.network,
        population_size(config, base_dir),
        streams.generator(Component.NETWORK),
        base_dir,
    )


def build_graph(
    config: NetworkConfig,
    n: int,
    rng: np.random.Generator,
    base_dir: Path | None = None,
) -> nx.DiGraph:
    """Build the observation network as a ``networkx.DiGraph``: the graph of
    :func:`build_adjacency` (same arguments, same random draws), via
    :meth:`~sim.adjacency.Adjacency.to_networkx`.

    Returns:
        A directed graph on nodes ``0..n-1`` in which an arc ``u -> v`` means ``v``
        observes ``u``, with arc attribute ``weight`` and node attributes ``label`` and
        ``block`` as described in :func:`build_adjacency`. The arrays it came from are
        kept as ``graph.graph["adjacency"]``.

    Raises:
        ScenarioError: As :func:`build_adjacency`.
    """
    return build_adjacency(config, n, rng, base_dir).to_networkx()


def population_size(config: Any, base_dir: Path | None = None) -> int:
    """The number of agents of a scenario: ``population.size``, else the network file's
    node count.

    Args:
        config: A :class:`~sim.config.ScenarioConfig`.
        base_dir: Folder that a relative network file path resolves against.
    """
    size: int | None = config.population.size
    if size is not None:
        return size
    return file_node_count(config.network, base_dir)


def _arrays_of(graph: nx.DiGraph) -> Adjacency | None:
    """The CSR arrays a graph was made from, if it still has exactly their size."""
    arrays = graph.graph.get("adjacency")
    if (
        isinstance(arrays, Adjacency)
        and arrays.n == graph.number_of_nodes()
        and arrays.n_arcs == graph.number_of_edges()
    ):
        return arrays
    return None


def out_neighbors(graph: nx.DiGraph) -> list[np.ndarray]:
    """Each node's successors (the agents who observe it), as ``int64`` arrays.

    Computed once per graph and kept in ``graph.graph``, since a fixed topology's graph is
    shared by every run of a scenario. A graph made by :func:`build_graph` is read from its
    CSR arrays (rows in ascending order) rather than walked.
    """
    cached = graph.graph.get("out_neighbors")
    if cached is None:
        arrays = _arrays_of(graph)
        if arrays is not None:
            receivers = arrays.indices.astype(np.int64)
            bounds = arrays.indptr.tolist()
            cached = [receivers[lo:hi] for lo, hi in itertools.pairwise(bounds)]
        else:
            cached = [
                np.fromiter(graph.successors(v), dtype=np.int64)
                for v in range(graph.number_of_nodes())
            ]
        graph.graph["out_neighbors"] = cached
    return cast(list[np.ndarray], cached)


def has_weights(graph: nx.DiGraph) -> bool:
    """Whether any arc carries a ``weight`` (cached in ``graph.graph`` like
    :func:`out_neighbors`)."""
    if "weighted" not in graph.graph:
        arrays = _arrays_of(graph)
        graph.graph["weighted"] = (
            arrays.weights is not None
            if arrays is not None
            else any("weight" in d for _, _, d in graph.edges(data=True))
        )
    return bool(graph.graph["weighted"])
