"""Tests for sim.network: topologies, seeding, parameter errors and network files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from sim import adjacency
from sim.errors import ScenarioError
from sim.network import (
    DIRECTED_TOPOLOGIES,
    TOPOLOGIES,
    BarabasiAlbertNetwork,
    FileNetwork,
    LatticeNetwork,
    NetworkConfig,
    TreeNetwork,
    build_graph,
    file_node_count,
    has_weights,
    out_neighbors,
)

ADAPTER: TypeAdapter[Any] = TypeAdapter(NetworkConfig)
N = 30

# One valid [network] table per topology, for a population of N.
TABLES: dict[str, dict[str, Any]] = {
    "complete": {},
    "empty": {},
    "cycle": {},
    "star": {},
    "wheel": {},
    "lattice": {"k": 4},
    "regular": {"degree": 3},
    "erdos_renyi": {"p": 0.2},
    "watts_strogatz": {"k": 4, "p": 0.3},
    "barabasi_albert": {"m": 2},
    "tree": {"branching": 3},
    "sbm": {"communities": 3, "p_in": 0.5, "p_out": 0.05},
    "file": {"path": "ring.edgelist"},
}
RANDOM = ("regular", "erdos_renyi", "watts_strogatz", "barabasi_albert", "sbm")


def config(topology: str, **params: Any) -> Any:
    """Validate a [network] table the way a scenario loader would."""
    return ADAPTER.validate_python({"topology": topology, **params})


def build(cfg: Any, n: int = N, seed: int = 0, base_dir: Path | None = None) -> nx.DiGraph:
    return build_graph(cfg, n, np.random.default_rng(seed), base_dir)


def arcs(graph: nx.DiGraph) -> set[tuple[int, int]]:
    return set(graph.edges())


@pytest.fixture
def ring_dir(tmp_path: Path) -> Path:
    """A folder holding ring.edgelist, an N-node ring, for the file topology."""
    lines = [f"v{i} v{(i + 1) % N}" for i in range(N)]
    (tmp_path / "ring.edgelist").write_text("\n".join(lines) + "\n")
    return tmp_path


# ------------------------------------------------------------------- every topology


def test_topologies_cover_the_union() -> None:
    assert len(set(TOPOLOGIES)) == len(TOPOLOGIES) == 13
    assert set(TABLES) == set(TOPOLOGIES)
    assert set(DIRECTED_TOPOLOGIES) == {"complete", "cycle", "star", "tree", "erdos_renyi", "file"}
    for name in TOPOLOGIES:
        assert config(name, **TABLES[name]).topology == name


@pytest.mark.parametrize("name", TOPOLOGIES)
def test_nodes_are_range_n_in_order(name: str, ring_dir: Path) -> None:
    graph = build(config(name, **TABLES[name]), base_dir=ring_dir)
    assert type(graph) is nx.DiGraph
    assert list(graph.nodes) == list(range(N))


@pytest.mark.parametrize("name", TOPOLOGIES)
def test_undirected_topologies_are_symmetric(name: str, ring_dir: Path) -> None:
    graph = build(config(name, **TABLES[name]), base_dir=ring_dir)
    edges = arcs(graph)
    assert name == "empty" or edges
    assert edges == {(v, u) for u, v in edges}
    assert all(u != v for u, v in edges)


@pytest.mark.parametrize("name", TOPOLOGIES)
def test_no_weights_unless_a_file_gives_them(name: str, ring_dir: Path) -> None:
    graph = build(config(name, **TABLES[name]), base_dir=ring_dir)
    assert all(data == {} for _, _, data in graph.edges(data=True))


# ------------------------------------------------------------------ exact structure


@pytest.mark.parametrize("directed", [False, True])
def test_complete_has_all_ordered_pairs(directed: bool) -> None:
    graph = build(config("complete", directed=directed), n=7)
    assert arcs(graph) == {(u, v) for u in range(7) for v in range(7) if u != v}
    assert graph.number_of_edges() == 7 * 6


def test_empty_has_no_arcs() -> None:
    assert build(config("empty"), n=5).number_of_edges() == 0


def test_cycle_undirected_and_directed() -> None:
    n = 9
    undirected = build(config("cycle"), n=n)
    directed = build(config("cycle", directed=True), n=n)
    assert undirected.number_of_edges() == 2 * n
    assert arcs(directed) == {(i, (i + 1) % n) for i in range(n)}
    assert directed.number_of_edges() == n


def test_tiny_cycles_have_no_self_loops() -> None:
    assert build(config("cycle"), n=1).number_of_edges() == 0
    assert arcs(build(config("cycle"), n=2)) == {(0, 1), (1, 0)}


def test_star_hub_is_node_zero() -> None:
    n = 8
    undirected = build(config("star"), n=n)
    directed = build(config("star", directed=True), n=n)
    assert undirected.number_of_edges() == 2 * (n - 1)
    assert arcs(directed) == {(0, leaf) for leaf in range(1, n)}


def test_wheel_is_star_plus_rim() -> None:
    n = 8
    graph = build(config("wheel"), n=n)
    assert graph.number_of_edges() == 4 * (n - 1)
    assert set(graph.successors(0)) == set(range(1, n))
    assert set(graph.successors(3)) == {0, 2, 4}


def test_lattice_joins_k_nearest() -> None:
    n, k = 12, 4
    graph = build(config("lattice", k=k), n=n)
    assert graph.number_of_edges() == n * k
    assert set(graph.successors(0)) == {1, 2, 10, 11}
    assert all(graph.out_degree(v) == k for v in graph)


def test_regular_degrees() -> None:
    n, degree = 20, 3
    graph = build(config("regular", degree=degree), n=n)
    assert graph.number_of_edges() == n * degree
    assert all(graph.out_degree(v) == degree for v in graph)
    assert all(graph.in_degree(v) == degree for v in graph)


def test_regular_degree_zero_is_empty() -> None:
    assert build(config("regular", degree=0), n=5).number_of_edges() == 0


@pytest.mark.parametrize("branching", [1, 2, 3])
def test_tree_directed_parent_to_child(branching: int) -> None:
    n = 13
    graph = build(config("tree", branching=branching, directed=True), n=n)
    assert graph.number_of_edges() == n - 1
    assert arcs(graph) == {((i - 1) // branching, i) for i in range(1, n)}


def test_tree_undirected_default_branching() -> None:
    graph = build(config("tree"), n=7)
    assert TreeNetwork().branching == 2
    assert arcs(graph) == {(p, c) for c in range(1, 7) for p in [(c - 1) // 2]} | {
        (c, (c - 1) // 2) for c in range(1, 7)
    }


@pytest.mark.parametrize(("n", "m"), [(50, 1), (50, 3), (10, 9)])
def test_barabasi_albert_arc_count(n: int, m: int) -> None:
    graph = build(config("barabasi_albert", m=m), n=n)
    assert graph.number_of_edges() == 2 * m * (n - m)


def test_watts_strogatz_keeps_edge_count() -> None:
    n, k = 40, 6
    graph = build(config("watts_strogatz", k=k, p=0.5), n=n)
    lattice = build(config("lattice", k=k), n=n)
    assert graph.number_of_edges() == n * k
    assert arcs(graph) != arcs(lattice)


def test_watts_strogatz_p_zero_is_the_lattice() -> None:
    graph = build(config("watts_strogatz", k=4, p=0.0), n=15, seed=3)
    assert arcs(graph) == arcs(build(config("lattice", k=4), n=15, seed=9))


def test_single_node_topologies() -> None:
    for name in ("complete", "empty", "cycle", "star", "wheel", "tree"):
        graph = build(config(name), n=1)
        assert list(graph.nodes) == [0]
        assert graph.number_of_edges() == 0


# ------------------------------------------------------------ cached per-node arrays


@pytest.mark.parametrize("name", TOPOLOGIES)
def test_out_neighbors_reads_the_arrays_like_the_graph(name: str, ring_dir: Path) -> None:
    graph = build(config(name, **TABLES[name]), base_dir=ring_dir)
    assert "adjacency" in graph.graph
    fast = out_neighbors(graph)
    assert out_neighbors(graph) is fast  # cached
    plain = nx.DiGraph()
    plain.add_nodes_from(graph)
    plain.add_edges_from(graph.edges)
    slow = out_neighbors(plain)  # no arrays: walks the graph
    assert len(fast) == N
    for v in range(N):
        assert fast[v].dtype == np.int64
        assert fast[v].tolist() == sorted(graph.successors(v)) == sorted(slow[v].tolist())


def test_out_neighbors_ignores_arrays_of_a_modified_graph() -> None:
    graph = build(config("cycle", directed=True), n=5)
    graph.add_edge(0, 3)
    assert out_neighbors(graph)[0].tolist() == [1, 3]


def test_has_weights(tmp_path: Path) -> None:
    (tmp_path / "net.txt").write_text("a b 2\nb c\n")
    assert has_weights(build(config("file", path="net.txt"), n=3, base_dir=tmp_path))
    assert not has_weights(build(config("cycle"), n=3))
    plain = nx.DiGraph()
    plain.add_edge(0, 1, weight=0.5)
    assert has_weights(plain)


# -------------------------------------------------------------------------- seeding


@pytest.mark.parametrize("name", RANDOM)
def test_same_seed_same_graph(name: str) -> None:
    cfg = config(name, **TABLES[name])
    assert list(build(cfg, seed=11).edges) == list(build(cfg, seed=11).edges)


@pytest.mark.parametrize("name", RANDOM)
def test_different_seed_different_graph(name: str) -> None:
    cfg = config(name, **TABLES[name])
    assert arcs(build(cfg, seed=1)) != arcs(build(cfg, seed=2))


@pytest.mark.parametrize("name", ["complete", "lattice", "erdos_renyi"])
def test_exactly_one_draw_from_rng(name: str) -> None:
    rng = np.random.default_rng(5)
    build_graph(config(name, **TABLES[name]), N, rng)
    reference = np.random.default_rng(5)
    reference.integers(2**63)
    assert rng.random() == reference.random()


def test_global_random_state_is_not_used() -> None:
    import random

    cfg = config("erdos_renyi", p=0.3)
    random.seed(1)
    np.random.seed(1)  # noqa: NPY002 - checking global state is ignored
    first = list(build(cfg, seed=4).edges)
    random.seed(2)
    np.random.seed(2)  # noqa: NPY002
    assert list(build(cfg, seed=4).edges) == first


# ---------------------------------------------------------------- random topologies


@pytest.mark.parametrize("directed", [False, True])
def test_erdos_renyi_mean_degree(directed: bool) -> None:
    n = 2000
    graph = build(config("erdos_renyi", mean_degree=10, directed=directed), n=n)
    assert abs(graph.number_of_edges() / n - 10) < 0.3


def test_erdos_renyi_directed_is_not_symmetric() -> None:
    graph = build(config("erdos_renyi", p=0.2, directed=True), n=50)
    edges = arcs(graph)
    assert edges != {(v, u) for u, v in edges}


def test_erdos_renyi_extremes() -> None:
    assert build(config("erdos_renyi", p=0.0), n=10).number_of_edges() == 0
    assert build(config("erdos_renyi", p=1.0), n=10).number_of_edges() == 90
    assert build(config("erdos_renyi", mean_degree=9), n=10).number_of_edges() == 90
    assert build(config("erdos_renyi", mean_degree=0), n=1).number_of_edges() == 0


def test_sbm_densities() -> None:
    sizes = [100, 100]
    graph = build(config("sbm", sizes=sizes, p_in=0.5, p_out=0.01), n=200)
    block = nx.get_node_attributes(graph, "block")
    assert [block[v] for v in range(200)] == [0] * 100 + [1] * 100
    within = sum(1 for u, v in graph.edges if block[u] == block[v])
    across = graph.number_of_edges() - within
    within_density = within / sum(s * (s - 1) for s in sizes)
    across_density = across / (2 * 100 * 100)
    assert abs(within_density - 0.5) < 0.05
    assert abs(across_density - 0.01) < 0.05
    assert within_density > 10 * across_density


def test_sbm_communities_give_extra_nodes_to_earlier_blocks() -> None:
    graph = build(config("sbm", communities=3, p_in=1.0, p_out=0.0), n=11)
    block = nx.get_node_attributes(graph, "block")
    assert [block[v] for v in range(11)] == [0] * 4 + [1] * 4 + [2] * 3
    # p_in = 1, p_out = 0: complete blocks, nothing across.
    assert graph.number_of_edges() == 4 * 3 + 4 * 3 + 3 * 2


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("table", "n", "expected"),
    [
        ({"topology": "lattice", "k": 3}, 10, ["network.k = 3", "even"]),
        ({"topology": "lattice", "k": 10}, 10, ["network.k = 10", "population.size = 10"]),
        ({"topology": "lattice", "k": 12}, 10, ["network.k = 12", "less than"]),
        ({"topology": "lattice", "k": 2}, 2, ["network.k = 2", "less than"]),
        ({"topology": "watts_strogatz", "k": 5, "p": 0.1}, 10, ["network.k = 5", "even"]),
        ({"topology": "watts_strogatz", "k": 10, "p": 0.1}, 10, ["network.k = 10", "less"]),
        ({"topology": "regular", "degree": 10}, 10, ["network.degree = 10", "less than"]),
        ({"topology": "regular", "degree": 3}, 5, ["network.degree = 3", "5 * 3 = 15"]),
        ({"topology": "barabasi_albert", "m": 10}, 10, ["network.m = 10", "less than"]),
        ({"topology": "barabasi_albert", "m": 1}, 1, ["network.m = 1", "population.size = 1"]),
        (
            {"topology": "sbm", "sizes": [3, 3], "p_in": 0.5, "p_out": 0.1},
            7,
            ["network.sizes = [3, 3]", "sum to population.size = 7", "sum to 6"],
        ),
        (
            {"topology": "sbm", "communities": 8, "p_in": 0.5, "p_out": 0.1},
            7,
            ["network.communities = 8", "population.size = 7"],
        ),
        (
            {"topology": "erdos_renyi", "mean_degree": 10},
            10,
            ["network.mean_degree = 10", "population.size - 1 = 9"],
        ),
        ({"topology": "complete"}, 0, ["population.size = 0", "at least 1"]),
        ({"topology": "empty"}, -3, ["population.size = -3"]),
    ],
)
def test_impossible_parameters(table: dict[str, Any], n: int, expected: list[str]) -> None:
    cfg = ADAPTER.validate_python(table)
    with pytest.raises(ScenarioError) as info:
        build(cfg, n=n)
    for fragment in expected:
        assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("cfg", "expected"),
    [
        (LatticeNetwork.model_construct(k=0), "network.k = 0"),
        (BarabasiAlbertNetwork.model_construct(m=0), "network.m = 0"),
        (TreeNetwork.model_construct(branching=0), "network.branching = 0"),
    ],
)
def test_builder_rechecks_ranges_pydantic_would_reject(cfg: Any, expected: str) -> None:
    with pytest.raises(ScenarioError, match=expected):
        build(cfg, n=10)


@pytest.mark.parametrize(
    "table",
    [
        {"topology": "lattice", "k": 1},
        {"topology": "barabasi_albert", "m": 0},
        {"topology": "tree", "branching": 0},
        {"topology": "regular", "degree": -1},
        {"topology": "erdos_renyi", "p": 1.5},
        {"topology": "erdos_renyi", "mean_degree": -1},
        {"topology": "erdos_renyi", "mean_degree": float("inf")},
        {"topology": "watts_strogatz", "k": 4, "p": -0.1},
        {"topology": "sbm", "sizes": [3, 0], "p_in": 0.5, "p_out": 0.1},
        {"topology": "sbm", "sizes": [], "p_in": 0.5, "p_out": 0.1},
        {"topology": "sbm", "communities": 0, "p_in": 0.5, "p_out": 0.1},
        {"topology": "sbm", "communities": 2, "p_in": 2, "p_out": 0.1},
        {"topology": "file", "path": ""},
    ],
)
def test_field_ranges_rejected_by_pydantic(table: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ADAPTER.validate_python(table)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"topology": "erdos_renyi"}, "exactly one of p and mean_degree"),
        ({"topology": "erdos_renyi", "p": 0.1, "mean_degree": 2}, "exactly one of p"),
        ({"topology": "sbm", "p_in": 0.5, "p_out": 0.1}, "exactly one of communities"),
        (
            {"topology": "sbm", "communities": 2, "sizes": [5, 5], "p_in": 0.5, "p_out": 0.1},
            "exactly one of communities and sizes",
        ),
    ],
)
def test_exactly_one_of(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ADAPTER.validate_python(table)


@pytest.mark.parametrize(
    "table",
    [
        {"topology": "complete", "k": 4},
        {"topology": "lattice", "k": 4, "p": 0.1},
        {"topology": "tree", "branches": 3},
        {"topology": "file", "path": "a.csv", "weighted": True},
        {"topology": "no_such_topology"},
        {"k": 4},
    ],
)
def test_unknown_keys_and_topologies_rejected(table: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ADAPTER.validate_python(table)


def test_configs_are_frozen() -> None:
    cfg = config("lattice", k=4)
    with pytest.raises(ValidationError):
        cfg.k = 6


@pytest.mark.parametrize(
    "table",
    [
        {"topology": "empty"},
        {"topology": "wheel"},
        {"topology": "lattice", "k": 4},
        {"topology": "regular", "degree": 2},
        {"topology": "watts_strogatz", "k": 4, "p": 0.1},
        {"topology": "barabasi_albert", "m": 2},
        {"topology": "sbm", "communities": 2, "p_in": 0.5, "p_out": 0.1},
    ],
)
def test_directed_unsupported(table: dict[str, Any]) -> None:
    cfg = ADAPTER.validate_python({**table, "directed": True})
    with pytest.raises(ScenarioError) as info:
        build(cfg, n=10)
    message = str(info.value)
    assert "network.directed" in message
    assert f"not supported for topology {table['topology']!r}" in message
    assert "complete, cycle, star, tree, erdos_renyi, file" in message


def test_networkx_errors_become_scenario_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(n: int) -> nx.Graph:
        raise nx.NetworkXError("boom")

    monkeypatch.setattr(adjacency, "wheel", broken)
    with pytest.raises(ScenarioError, match=r"network.topology = 'wheel'.*boom"):
        build(config("wheel"), n=5)


# ---------------------------------------------------------------------------- files


def test_edge_list_whitespace_weights_and_comments(tmp_path: Path) -> None:
    (tmp_path / "net.txt").write_text(
        "# who listens to whom\n\nbob   alice 0.5\n  # indented comment\n"
        "alice\tcarol\ncarol bob 2\n"
    )
    graph = build(config("file", path="net.txt"), n=3, base_dir=tmp_path)
    assert [graph.nodes[v]["label"] for v in range(3)] == ["bob", "alice", "carol"]
    # Once any edge has a weight, every arc has one: 1.0 where the file gave none.
    assert dict(graph.edges.items()) == {
        (0, 1): {"weight": 0.5},
        (1, 0): {"weight": 0.5},
        (1, 2): {"weight": 1.0},
        (2, 1): {"weight": 1.0},
        (2, 0): {"weight": 2.0},
        (0, 2): {"weight": 2.0},
    }


def test_edge_list_comma_separated_directed(tmp_path: Path) -> None:
    (tmp_path / "net.csv").write_text("# source,target,weight\n7, 3, 1.5\n3,9\n9,7,0\n")
    graph = build(config("file", path="net.csv", directed=True), n=3, base_dir=tmp_path)
    assert [graph.nodes[v]["label"] for v in range(3)] == ["7", "3", "9"]
    assert dict(graph.edges.items()) == {
        (0, 1): {"weight": 1.5},
        (1, 2): {"weight": 1.0},
        (2, 0): {"weight": 0.0},
    }


def test_edge_list_label_order_is_first_appearance(tmp_path: Path) -> None:
    (tmp_path / "net.edgelist").write_text("d c\nc a\nb d\na e\n")
    graph = build(config("file", path="net.edgelist", directed=True), n=5, base_dir=tmp_path)
    labels = [graph.nodes[v]["label"] for v in range(5)]
    assert labels == ["d", "c", "a", "b", "e"]
    assert arcs(graph) == {(0, 1), (1, 2), (3, 0), (2, 4)}


def test_edge_list_self_loop_declares_node_without_arc(tmp_path: Path) -> None:
    (tmp_path / "net.txt").write_text("a b\nc c\n")
    cfg = FileNetwork(path="net.txt")
    assert file_node_count(cfg, tmp_path) == 3
    assert arcs(build(cfg, n=3, base_dir=tmp_path)) == {(0, 1), (1, 0)}


def _write_graphml(path: Path, directed: bool) -> None:
    graph = nx.DiGraph() if directed else nx.Graph()
    graph.add_nodes_from(["x", "m", "a"])
    graph.add_edge("a", "x", weight=0.25)
    graph.add_edge("m", "a")
    nx.write_graphml(graph, path)


def test_graphml_directed_wins_over_flag(tmp_path: Path) -> None:
    _write_graphml(tmp_path / "g.graphml", directed=True)
    graph = build(config("file", path="g.graphml", directed=False), n=3, base_dir=tmp_path)
    assert [graph.nodes[v]["label"] for v in range(3)] == ["x", "m", "a"]
    assert dict(graph.edges.items()) == {(2, 0): {"weight": 0.25}, (1, 2): {"weight": 1.0}}


def test_graphml_undirected_is_symmetric(tmp_path: Path) -> None:
    _write_graphml(tmp_path / "g.graphml", directed=False)
    graph = build(config("file", path="g.graphml"), n=3, base_dir=tmp_path)
    assert dict(graph.edges.items()) == {
        (2, 0): {"weight": 0.25},
        (0, 2): {"weight": 0.25},
        (1, 2): {"weight": 1.0},
        (2, 1): {"weight": 1.0},
    }


def test_graphml_isolated_nodes_count(tmp_path: Path) -> None:
    graph = nx.Graph()
    graph.add_nodes_from(["p", "q", "r", "s"])
    graph.add_edge("q", "r")
    nx.write_graphml(graph, tmp_path / "g.graphml")
    cfg = FileNetwork(path="g.graphml")
    assert file_node_count(cfg, tmp_path) == 4
    assert arcs(build(cfg, n=4, base_dir=tmp_path)) == {(1, 2), (2, 1)}


def test_missing_file_names_resolved_path(tmp_path: Path) -> None:
    cfg = FileNetwork(path="sub/missing.csv")
    with pytest.raises(ScenarioError) as info:
        build(cfg, n=3, base_dir=tmp_path)
    assert "network.path" in str(info.value)
    assert str((tmp_path / "sub" / "missing.csv").resolve()) in str(info.value)
    with pytest.raises(ScenarioError, match="file not found"):
        file_node_count(cfg, tmp_path)


def test_relative_path_without_base_dir_uses_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "net.txt").write_text("a b\n")
    monkeypatch.chdir(tmp_path)
    assert arcs(build(config("file", path="net.txt"), n=2)) == {(0, 1), (1, 0)}


def test_absolute_path_ignores_base_dir(tmp_path: Path) -> None:
    (tmp_path / "net.txt").write_text("a b\n")
    cfg = FileNetwork(path=str(tmp_path / "net.txt"))
    assert build(cfg, n=2, base_dir=tmp_path / "elsewhere").number_of_edges() == 2


def test_wrong_node_count(tmp_path: Path) -> None:
    (tmp_path / "net.txt").write_text("a b\nb c\n")
    with pytest.raises(ScenarioError) as info:
        build(config("file", path="net.txt"), n=4, base_dir=tmp_path)
    message = str(info.value)
    assert "network.path" in message
    assert "has 3 nodes" in message
    assert "population.size = 4" in message
    assert "population.size must match" in message


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("a b\nc\n", "line 2: expected 'source target [weight]'"),
        ("a b 1 2\n", "line 1: expected"),
        ("a,,b\n", "line 1: expected"),
        ("a b heavy\n", "line 1: weight 'heavy' is not a number"),
        ("a b nan\n", "line 1: weight 'nan' must be finite"),
    ],
)
def test_malformed_edge_list(tmp_path: Path, content: str, fragment: str) -> None:
    (tmp_path / "net.txt").write_text(content)
    with pytest.raises(ScenarioError) as info:
        build(config("file", path="net.txt"), n=2, base_dir=tmp_path)
    assert "network.path" in str(info.value)
    assert fragment in str(info.value)


def test_unreadable_edge_list(tmp_path: Path) -> None:
    (tmp_path / "net.csv").write_bytes(b"\xff\xfe\x00a")
    with pytest.raises(ScenarioError, match=r"network\.path: cannot read"):
        build(config("file", path="net.csv"), n=2, base_dir=tmp_path)


@pytest.mark.parametrize("content", ["not xml", '<?xml version="1.0"?><other/>'])
def test_unparseable_graphml(tmp_path: Path, content: str) -> None:
    (tmp_path / "g.graphml").write_text(content)
    with pytest.raises(ScenarioError, match=r"network\.path: cannot parse GraphML"):
        build(config("file", path="g.graphml"), n=2, base_dir=tmp_path)


def test_unsupported_suffix(tmp_path: Path) -> None:
    (tmp_path / "net.json").write_text("{}")
    with pytest.raises(ScenarioError, match=r"network.path = 'net.json': unsupported.*\.graphml"):
        build(config("file", path="net.json"), n=2, base_dir=tmp_path)


def test_file_node_count_matches_file(ring_dir: Path) -> None:
    assert file_node_count(FileNetwork(path="ring.edgelist"), ring_dir) == N


def test_file_node_count_needs_a_file_network() -> None:
    with pytest.raises(ScenarioError, match=r"population\.size is required"):
        file_node_count(config("cycle"))
