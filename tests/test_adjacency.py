"""Tests for sim.adjacency: the CSR arrays, their conversions, and every generator.

Fixed topologies must equal networkx's generators arc for arc. Random ones are checked
for what they promise exactly (degrees, edge counts, simplicity, symmetry) and, with a
fixed seed and a stated tolerance, for their distribution (against theory, or against
networkx's generator when both run the same process).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
from pydantic import TypeAdapter

from sim import adjacency
from sim.adjacency import Adjacency
from sim.errors import ScenarioError
from sim.network import NetworkConfig, build_adjacency, build_graph

ADAPTER: TypeAdapter[Any] = TypeAdapter(NetworkConfig)
Arcs = set[tuple[int, int]]


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def arcs(graph: Adjacency) -> Arcs:
    return set(zip(graph.sources().tolist(), graph.indices.tolist(), strict=True))


def nx_arcs(graph: nx.Graph) -> Arcs:
    """Arcs of a networkx graph as build_graph defines them: both ways if undirected."""
    out = {(u, v) for u, v in graph.edges() if u != v}
    return out if graph.is_directed() else out | {(v, u) for u, v in out}


def assert_valid(graph: Adjacency) -> None:
    """The CSR invariants: dtypes, rows strictly ascending, no self-loops."""
    assert graph.indptr.dtype == np.int64
    assert graph.indices.dtype == np.int32
    assert graph.indptr[0] == 0
    assert graph.indptr[-1] == graph.n_arcs
    assert np.all(np.diff(graph.indptr) >= 0)
    if graph.n_arcs:
        assert graph.indices.min() >= 0
        assert graph.indices.max() < graph.n
    sources = graph.sources()
    assert not np.any(sources == graph.indices)
    same_row = sources[1:] == sources[:-1]
    assert np.all(graph.indices[1:][same_row] > graph.indices[:-1][same_row])


def assert_simple_undirected(graph: Adjacency) -> None:
    assert_valid(graph)
    assert graph.is_symmetric()


# ------------------------------------------------------------------------- the arrays


def small() -> Adjacency:
    """0 -> 1 (w 0.5), 0 -> 2 (w 1.5), 2 -> 1 (w 2.5); node 3 isolated."""
    return Adjacency(
        np.array([0, 2, 2, 3, 3]),
        np.array([1, 2, 1]),
        np.array([0.5, 1.5, 2.5]),
        {"block": np.array([0, 0, 1, 1])},
    )


def test_queries_on_a_small_graph() -> None:
    graph = small()
    assert graph.n == 4
    assert graph.n_arcs == 3
    assert graph.indptr.dtype == np.int64
    assert graph.indices.dtype == np.int32
    assert graph.out_degree().tolist() == [2, 0, 1, 0]
    assert graph.in_degree().tolist() == [0, 2, 1, 0]
    assert graph.out_degree().dtype == graph.in_degree().dtype == np.int64
    assert graph.neighbors(0).tolist() == [1, 2]
    assert graph.neighbors(1).tolist() == []
    assert np.shares_memory(graph.neighbors(0), graph.indices)
    assert graph.sources().tolist() == [0, 0, 2]
    assert not graph.is_symmetric()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"indptr": [0, 1], "indices": [0, 1]}, "end at len"),
        ({"indptr": [1, 1], "indices": [0]}, "start at 0"),
        ({"indptr": [], "indices": []}, "start at 0"),
        ({"indptr": [[0, 1]], "indices": [0]}, "one-dimensional"),
        ({"indptr": [0, 1], "indices": [0.5]}, "integers"),
        ({"indptr": [0, 1], "indices": [2**40]}, "int32"),
        ({"indptr": [0, 1], "indices": [0], "weights": [1.0, 2.0]}, "one value per arc"),
        ({"indptr": [0, 1], "indices": [0], "node_attrs": {"block": [1, 2]}}, "'block'"),
    ],
)
def test_construction_checks_shapes_and_dtypes(kwargs: dict[str, Any], message: str) -> None:
    arrays: dict[str, Any] = {
        key: np.array(value) if key != "node_attrs" else {"block": np.array(value["block"])}
        for key, value in kwargs.items()
    }
    with pytest.raises(ValueError, match=message):
        Adjacency(**arrays)


def test_construction_converts_integer_arrays() -> None:
    graph = Adjacency(np.array([0, 1, 1], dtype=np.int32), np.array([1], dtype=np.int64))
    assert graph.indptr.dtype == np.int64
    assert graph.indices.dtype == np.int32


def test_from_arcs_drops_loops_and_repeats_keeping_the_first_weight() -> None:
    graph = Adjacency.from_arcs(
        4, [2, 0, 1, 2, 0, 3], [0, 2, 1, 0, 3, 0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    )
    assert_valid(graph)
    assert graph.indptr.tolist() == [0, 2, 2, 3, 4]
    assert graph.indices.tolist() == [2, 3, 0, 0]
    assert graph.weights is not None
    assert graph.weights.tolist() == [2.0, 5.0, 1.0, 6.0]


def test_from_arcs_symmetric_adds_reverses() -> None:
    graph = Adjacency.from_arcs(3, [0, 1], [1, 2], [0.5, 0.25], symmetric=True)
    assert arcs(graph) == {(0, 1), (1, 0), (1, 2), (2, 1)}
    assert graph.weights is not None
    ends = zip(graph.sources().tolist(), graph.indices.tolist(), strict=True)
    assert dict(zip(ends, graph.weights.tolist(), strict=True)) == {
        (0, 1): 0.5,
        (1, 0): 0.5,
        (1, 2): 0.25,
        (2, 1): 0.25,
    }


def test_from_arcs_sorts_long_rows() -> None:
    targets = np.arange(1, 200)[::-1]
    graph = Adjacency.from_arcs(200, np.zeros(199, np.int64), targets, targets.astype(float))
    assert graph.indices.tolist() == list(range(1, 200))
    assert graph.weights is not None
    assert graph.weights.tolist() == [float(v) for v in range(1, 200)]


@pytest.mark.parametrize(
    ("sources", "targets", "message"),
    [([0, 1], [1], "differ in length"), ([0], [3], "nodes 0..2"), ([-1], [0], "nodes 0..2")],
)
def test_from_arcs_rejects_bad_ends(sources: list[int], targets: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Adjacency.from_arcs(3, sources, targets)


def test_transpose_small_with_weights() -> None:
    graph = small()
    reverse, arc_of = graph.transpose()
    assert reverse.indptr.tolist() == [0, 0, 2, 3, 3]
    assert reverse.indices.tolist() == [0, 2, 0]
    assert arc_of.dtype == np.int64
    assert arc_of.tolist() == [0, 2, 1]
    assert graph.weights is not None and reverse.weights is not None
    assert reverse.weights.tolist() == [0.5, 2.5, 1.5]
    assert reverse.node_attrs["block"].tolist() == [0, 0, 1, 1]


def test_transpose_random_graph() -> None:
    graph = adjacency.erdos_renyi(300, 0.05, rng(1), directed=True)
    weights = np.arange(graph.n_arcs, dtype=np.float64)
    weighted = Adjacency(graph.indptr, graph.indices, weights)
    reverse, arc_of = weighted.transpose()
    assert_valid(reverse)
    assert arcs(reverse) == {(v, u) for u, v in arcs(graph)}
    # arc_of points each reversed arc at its original: same ends, swapped.
    assert np.array_equal(weighted.sources()[arc_of], reverse.indices)
    assert np.array_equal(weighted.indices[arc_of], reverse.sources())
    assert reverse.weights is not None
    assert np.array_equal(reverse.weights, weights[arc_of])
    assert np.array_equal(np.sort(arc_of), np.arange(graph.n_arcs))
    again, _ = reverse.transpose()
    assert np.array_equal(again.indptr, graph.indptr)
    assert np.array_equal(again.indices, graph.indices)


def test_in_arcs_without_senders_keeps_the_same_order() -> None:
    graph = adjacency.erdos_renyi(200, 0.05, rng(4), directed=True)
    in_ptr, senders, origin, position = graph.in_arcs(origins=True, positions=True)
    reverse, arc_of = graph.transpose()
    assert np.array_equal(in_ptr, reverse.indptr)
    assert np.array_equal(senders, reverse.indices)
    assert np.array_equal(origin, arc_of)
    assert np.array_equal(position[origin], np.arange(graph.n_arcs))  # inverse permutations
    bare = graph.in_arcs(origins=True, positions=True, senders=False)
    assert len(bare[1]) == 0
    for got, expected in zip((bare[0], bare[2], bare[3]), (in_ptr, origin, position), strict=True):
        assert np.array_equal(got, expected)


def test_to_scipy() -> None:
    matrix = small().to_scipy()
    assert matrix.shape == (4, 4)
    assert matrix.toarray().tolist() == [
        [0.0, 0.5, 1.5, 0.0],
        [0.0, 0.0, 0.0, 0.0],
        [0.0, 2.5, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0],
    ]
    unweighted = adjacency.cycle(5, directed=True).to_scipy()
    assert unweighted.sum() == 5


# --------------------------------------------------------------------- networkx


def test_to_networkx() -> None:
    graph = small()
    nxg = graph.to_networkx()
    assert type(nxg) is nx.DiGraph
    assert list(nxg.nodes) == [0, 1, 2, 3]
    assert list(nxg.edges(data=True)) == [
        (0, 1, {"weight": 0.5}),
        (0, 2, {"weight": 1.5}),
        (2, 1, {"weight": 2.5}),
    ]
    assert [nxg.nodes[v]["block"] for v in range(4)] == [0, 0, 1, 1]
    assert all(type(nxg.nodes[v]["block"]) is int for v in range(4))
    assert nxg.graph["adjacency"] is graph


def test_networkx_round_trip() -> None:
    graph = adjacency.stochastic_block_model([20, 30], 0.3, 0.05, rng(2))
    back = Adjacency.from_networkx(graph.to_networkx())
    assert np.array_equal(back.indptr, graph.indptr)
    assert np.array_equal(back.indices, graph.indices)
    assert back.weights is None
    assert np.array_equal(back.node_attrs["block"], graph.node_attrs["block"])
    assert back.node_attrs["block"].dtype == np.int64


def test_from_networkx_undirected_weights_loops_and_labels() -> None:
    source = nx.Graph()
    source.add_nodes_from([(2, {"label": "c"}), (0, {"label": "a"}), (1, {"label": "b"})])
    source.add_edge(0, 1, weight=0.5)
    source.add_edge(1, 2)
    source.add_edge(2, 2, weight=9.0)
    graph = Adjacency.from_networkx(source)
    assert_valid(graph)
    assert arcs(graph) == {(0, 1), (1, 0), (1, 2), (2, 1)}
    assert graph.weights is not None
    assert graph.weights.tolist() == [0.5, 0.5, 1.0, 1.0]
    assert graph.node_attrs["label"].tolist() == ["a", "b", "c"]
    assert graph.node_attrs["label"].dtype == object


def test_from_networkx_directed_and_given_n() -> None:
    source = nx.DiGraph([(0, 1), (1, 0), (2, 0)])
    graph = Adjacency.from_networkx(source, n=3)
    assert arcs(graph) == {(0, 1), (1, 0), (2, 0)}
    assert graph.weights is None
    assert graph.node_attrs == {}


@pytest.mark.parametrize(
    ("nodes", "n"), [(["a", "b"], None), ([1, 2], None), ([0, 1], 3), ([0, 1, 2], 2)]
)
def test_from_networkx_needs_nodes_0_to_n(nodes: list[Any], n: int | None) -> None:
    source = nx.Graph()
    source.add_nodes_from(nodes)
    with pytest.raises(ValueError, match="nodes must be exactly"):
        Adjacency.from_networkx(source, n)


def test_from_networkx_multigraph_keeps_first_parallel_arc() -> None:
    source = nx.MultiDiGraph()
    source.add_edge(0, 1, weight=3.0)
    source.add_edge(0, 1, weight=4.0)
    graph = Adjacency.from_networkx(source)
    assert graph.indices.tolist() == [1]
    assert graph.weights is not None
    assert graph.weights.tolist() == [3.0]


# ------------------------------------------------------------ fixed topologies


FIXED: dict[str, tuple[Callable[[int], Adjacency], Callable[[int], nx.Graph]]] = {
    "complete": (adjacency.complete, nx.complete_graph),
    "complete_directed": (
        adjacency.complete,
        lambda n: nx.complete_graph(n, create_using=nx.DiGraph),
    ),
    "empty": (adjacency.empty, nx.empty_graph),
    "cycle": (adjacency.cycle, nx.cycle_graph),
    "cycle_directed": (
        lambda n: adjacency.cycle(n, directed=True),
        lambda n: nx.cycle_graph(n, create_using=nx.DiGraph),
    ),
    "star": (adjacency.star, lambda n: nx.star_graph(n - 1) if n else nx.empty_graph(0)),
    "star_directed": (
        lambda n: adjacency.star(n, directed=True),
        lambda n: nx.DiGraph((0, leaf) for leaf in range(1, n)),
    ),
    "wheel": (adjacency.wheel, nx.wheel_graph),
    "tree_1": (lambda n: adjacency.full_tree(n, 1), lambda n: nx.full_rary_tree(1, n)),
    "tree_2": (lambda n: adjacency.full_tree(n, 2), lambda n: nx.full_rary_tree(2, n)),
    "tree_3": (lambda n: adjacency.full_tree(n, 3), lambda n: nx.full_rary_tree(3, n)),
    "tree_3_directed": (
        lambda n: adjacency.full_tree(n, 3, directed=True),
        lambda n: nx.DiGraph(((i - 1) // 3, i) for i in range(1, n)),
    ),
}


@pytest.mark.parametrize("name", FIXED)
@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 8, 13])
def test_fixed_topologies_equal_networkx(name: str, n: int) -> None:
    ours, theirs = FIXED[name]
    graph = ours(n)
    assert_valid(graph)
    assert graph.n == n
    assert arcs(graph) == nx_arcs(theirs(n))


@pytest.mark.parametrize(("n", "k"), [(3, 2), (5, 4), (12, 4), (13, 6), (40, 10)])
def test_ring_lattice_equals_networkx(n: int, k: int) -> None:
    graph = adjacency.ring_lattice(n, k)
    assert_simple_undirected(graph)
    assert arcs(graph) == nx_arcs(nx.watts_strogatz_graph(n, k, 0.0))
    assert np.all(graph.out_degree() == k)


@pytest.mark.parametrize("k", [-2, 3, 10, 12])
def test_ring_lattice_rejects_bad_k(k: int) -> None:
    with pytest.raises(ValueError, match=f"k = {k}"):
        adjacency.ring_lattice(10, k)


# ------------------------------------------------------------ random topologies


@pytest.mark.parametrize(
    ("n", "degree"), [(20, 3), (100, 10), (1000, 4), (11, 0), (10, 5), (12, 9), (9, 8), (2, 1)]
)
def test_random_regular_degrees(n: int, degree: int) -> None:
    graph = adjacency.random_regular(n, degree, rng(3))
    assert_simple_undirected(graph)
    assert graph.n == n
    assert np.all(graph.out_degree() == degree)


def test_random_regular_samples_like_networkx() -> None:
    """Same process as networkx, hence the same distribution, which for n = 6, degree = 2
    is far from uniform (two triangles have probability 10/70 under the uniform law)."""
    runs = 3000
    generator = rng(4)

    def ours_split(graph: Adjacency) -> bool:  # node 0's two neighbours are joined
        a, b = graph.neighbors(0).tolist()
        return b in graph.neighbors(a)

    def theirs_split(graph: nx.Graph) -> bool:
        a, b = graph[0]
        return bool(graph.has_edge(a, b))

    ours = np.mean([ours_split(adjacency.random_regular(6, 2, generator)) for _ in range(runs)])
    theirs = np.mean([theirs_split(nx.random_regular_graph(2, 6, seed=s)) for s in range(runs)])
    se = np.sqrt(2 * theirs * (1 - theirs) / runs)
    assert abs(ours - theirs) < 4 * se
    assert abs(theirs - 1 / 7) > 8 * se  # the test can tell the two laws apart


def test_random_regular_rejects_impossible_degrees() -> None:
    with pytest.raises(ValueError, match="degree = 3"):
        adjacency.random_regular(5, 3, rng())
    with pytest.raises(ValueError, match="degree = 5"):
        adjacency.random_regular(5, 5, rng())


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 1.0])
def test_watts_strogatz_keeps_edges_and_is_simple(p: float) -> None:
    n, k = 200, 6
    graph = adjacency.watts_strogatz(n, k, p, rng(5))
    assert_simple_undirected(graph)
    assert graph.n_arcs == n * k
    lattice = adjacency.ring_lattice(n, k)
    kept = len(arcs(graph) & arcs(lattice)) / (n * k)
    if p == 0:
        assert np.array_equal(graph.indices, lattice.indices)
        assert np.array_equal(graph.indptr, lattice.indptr)
    else:
        # A rewired edge rarely lands back on the lattice: about 1 - p of it survives.
        assert abs(kept - (1 - p)) < 0.06


def test_watts_strogatz_on_a_complete_lattice_rewires_nothing() -> None:
    # k = n - 1: every node is joined to everyone, so each rewiring is skipped.
    graph = adjacency.watts_strogatz(7, 6, 1.0, rng(6))
    assert arcs(graph) == arcs(adjacency.complete(7))


def below(generator: np.random.Generator, bound: int) -> int:
    """``sim.adjacency._below`` in plain Python: Lemire's method on 32 bits of one draw."""
    product = int(generator.random() * 2**32) * bound
    if product % 2**32 < bound:
        threshold = (2**32 - bound) % bound
        while product % 2**32 < threshold:
            product = int(generator.random() * 2**32) * bound
    return product >> 32


def watts_strogatz_edges(
    n: int, k: int, p: float, generator: np.random.Generator
) -> list[tuple[int, int]]:
    """The edges of networkx's ``watts_strogatz_graph`` loop run on Python sets, drawing
    as ``adjacency.watts_strogatz`` does: one uniform per lattice edge, then ``below``."""
    half = k // 2
    joined: list[set[int]] = [set() for _ in range(n)]
    for j in range(1, half + 1):
        for u in range(n):
            joined[u].add((u + j) % n)
            joined[(u + j) % n].add(u)
    rewire = generator.random(half * n) < p
    for j in range(1, half + 1):
        for u in range(n):
            if not rewire[(j - 1) * n + u]:
                continue
            w = below(generator, n)
            while w == u or w in joined[u]:
                w = below(generator, n)
                if len(joined[u]) >= n - 1:
                    break
            else:
                v = (u + j) % n
                joined[u].remove(v)
                joined[v].remove(u)
                joined[u].add(w)
                joined[w].add(u)
    return [(u, v) for u in range(n) for v in joined[u] if u < v]


@pytest.mark.parametrize(
    ("n", "k", "p"),
    [
        (2, 0, 0.5),
        (3, 2, 1.0),
        (7, 6, 1.0),
        (8, 6, 0.5),
        (12, 4, 0.3),
        (13, 6, 1.0),
        (50, 10, 0.5),
        (400, 6, 0.1),
        (2000, 10, 0.05),
    ],
)
@pytest.mark.parametrize("seed", [20, 21])
def test_watts_strogatz_equals_the_process_run_on_sets(n: int, k: int, p: float, seed: int) -> None:
    """Byte for byte the CSR of the graph the process builds, from the same draws, and
    the generator left in the same state: so every row holds the right neighbours (those
    near the ends of the ring too) in ascending order."""
    ours_generator, their_generator = rng(seed), rng(seed)
    graph = adjacency.watts_strogatz(n, k, p, ours_generator)
    edges = watts_strogatz_edges(n, k, p, their_generator)
    expected = Adjacency.from_arcs(n, [u for u, _ in edges], [v for _, v in edges], symmetric=True)
    assert_valid(graph)
    assert graph.indptr.tobytes() == expected.indptr.tobytes()
    assert graph.indices.tobytes() == expected.indices.tobytes()
    assert ours_generator.bit_generator.state == their_generator.bit_generator.state


def test_watts_strogatz_samples_like_networkx() -> None:
    n, k, p, runs = 20, 4, 0.3, 2000
    lattice = arcs(adjacency.ring_lattice(n, k))
    generator = rng(7)
    ours = [len(lattice & arcs(adjacency.watts_strogatz(n, k, p, generator))) for _ in range(runs)]
    theirs = [len(lattice & nx_arcs(nx.watts_strogatz_graph(n, k, p, seed=s))) for s in range(runs)]
    se = np.sqrt((np.var(ours) + np.var(theirs)) / runs)
    assert abs(np.mean(ours) - np.mean(theirs)) < 4 * se


@pytest.mark.parametrize(("n", "m"), [(2, 1), (50, 1), (50, 3), (10, 9), (3000, 5)])
def test_barabasi_albert_structure(n: int, m: int) -> None:
    graph = adjacency.barabasi_albert(n, m, rng(8))
    assert_simple_undirected(graph)
    assert graph.n == n
    assert graph.n_arcs == 2 * m * (n - m)
    assert nx.barabasi_albert_graph(n, m, seed=1).number_of_edges() == m * (n - m)
    # Nodes added after the seed star have degree at least m; its leaves may keep degree 1.
    degree = graph.out_degree()
    assert degree[m + 1 :].min(initial=m) == m
    assert degree.min() >= 1
    # The seed star: hub 0 and leaves 1..m; then every node joins m earlier nodes.
    assert set(graph.neighbors(0)[:m].tolist()) == set(range(1, m + 1))
    for s in range(m + 1, n):
        assert np.count_nonzero(graph.neighbors(s) < s) == m


def test_barabasi_albert_samples_like_networkx() -> None:
    n, m, runs = 60, 2, 2000
    generator = rng(9)
    ours = [adjacency.barabasi_albert(n, m, generator).out_degree()[0] for _ in range(runs)]
    theirs = [nx.barabasi_albert_graph(n, m, seed=s).degree(0) for s in range(runs)]
    se = np.sqrt((np.var(ours) + np.var(theirs)) / runs)
    assert abs(np.mean(ours) - np.mean(theirs)) < 4 * se


@pytest.mark.parametrize("directed", [False, True])
def test_erdos_renyi_edge_count_and_degrees(directed: bool) -> None:
    n, p = 3000, 0.004
    graph = adjacency.erdos_renyi(n, p, rng(10), directed=directed)
    assert_valid(graph)
    assert graph.is_symmetric() is not directed
    pairs = n * (n - 1) // (1 if directed else 2)
    edges = graph.n_arcs // (1 if directed else 2)
    assert abs(edges - pairs * p) < 4 * np.sqrt(pairs * p * (1 - p))
    # Degrees are Binomial(n - 1, p): mean and variance (n - 1) p (1 - p) within 4 SE.
    degree = graph.out_degree()
    mean, variance = (n - 1) * p, (n - 1) * p * (1 - p)
    assert abs(degree.mean() - mean) < 4 * np.sqrt(variance / n)
    assert abs(degree.var() / variance - 1) < 4 * np.sqrt(2 / (n - 1))


@pytest.mark.parametrize("directed", [False, True])
def test_erdos_renyi_every_pair_equally_likely(directed: bool) -> None:
    """Each of the pairs of 5 nodes appears with probability p, independently of the
    others (so the pair enumeration and its inverse are right)."""
    n, p, runs = 5, 0.3, 4000
    generator = rng(11)
    counts = np.zeros((n, n))
    for _ in range(runs):
        graph = adjacency.erdos_renyi(n, p, generator, directed=directed)
        counts[graph.sources(), graph.indices] += 1
    frequency = counts[~np.eye(n, dtype=bool)] / runs
    assert np.all(np.abs(frequency - p) < 4 * np.sqrt(p * (1 - p) / runs))
    if not directed:
        assert np.array_equal(counts, counts.T)


def test_erdos_renyi_extremes() -> None:
    assert adjacency.erdos_renyi(10, 0.0, rng()).n_arcs == 0
    assert arcs(adjacency.erdos_renyi(10, 1.0, rng())) == arcs(adjacency.complete(10))
    assert arcs(adjacency.erdos_renyi(10, 1.0, rng(), directed=True)) == arcs(
        adjacency.complete(10)
    )
    assert adjacency.erdos_renyi(1, 0.5, rng()).n_arcs == 0
    assert adjacency.erdos_renyi(100, 1e-300, rng()).n_arcs == 0


def test_stochastic_block_model_densities() -> None:
    sizes, p_in, p_out = [600, 500, 400], 0.05, 0.005
    graph = adjacency.stochastic_block_model(sizes, p_in, p_out, rng(12))
    assert_simple_undirected(graph)
    block = graph.node_attrs["block"]
    assert block.dtype == np.int64
    assert block.tolist() == [0] * 600 + [1] * 500 + [2] * 400
    same = block[graph.sources()] == block[graph.indices]
    within_pairs = sum(s * (s - 1) // 2 for s in sizes)
    across_pairs = (1500 * 1499 // 2) - within_pairs
    for edges, pairs, p in (
        (np.count_nonzero(same) // 2, within_pairs, p_in),
        (np.count_nonzero(~same) // 2, across_pairs, p_out),
    ):
        assert abs(edges / pairs - p) < 4 * np.sqrt(p * (1 - p) / pairs)


def test_stochastic_block_model_extremes() -> None:
    graph = adjacency.stochastic_block_model([4, 4, 3], 1.0, 0.0, rng())
    expected = {(u, v) for u in range(11) for v in range(11) if u != v and u // 4 == v // 4}
    assert arcs(graph) == expected
    single = adjacency.stochastic_block_model([5], 1.0, 1.0, rng())
    assert arcs(single) == arcs(adjacency.complete(5))


# ---------------------------------------------------------------- determinism

RANDOM: dict[str, Callable[[np.random.Generator], Adjacency]] = {
    "regular": lambda g: adjacency.random_regular(300, 6, g),
    "regular_dense": lambda g: adjacency.random_regular(30, 20, g),
    "erdos_renyi": lambda g: adjacency.erdos_renyi(300, 0.03, g),
    "erdos_renyi_directed": lambda g: adjacency.erdos_renyi(300, 0.03, g, directed=True),
    "watts_strogatz": lambda g: adjacency.watts_strogatz(300, 6, 0.2, g),
    "barabasi_albert": lambda g: adjacency.barabasi_albert(300, 3, g),
    "sbm": lambda g: adjacency.stochastic_block_model([100, 100, 100], 0.1, 0.01, g),
}


@pytest.mark.parametrize("name", RANDOM)
def test_same_seed_identical_bytes(name: str) -> None:
    first, second = RANDOM[name](rng(13)), RANDOM[name](rng(13))
    assert first.indptr.tobytes() == second.indptr.tobytes()
    assert first.indices.tobytes() == second.indices.tobytes()


@pytest.mark.parametrize("name", RANDOM)
def test_different_seeds_differ(name: str) -> None:
    assert arcs(RANDOM[name](rng(14))) != arcs(RANDOM[name](rng(15)))


@pytest.mark.parametrize("name", RANDOM)
def test_random_generators_give_valid_arrays(name: str) -> None:
    assert_valid(RANDOM[name](rng(16)))


# --------------------------------------------------------------- build_adjacency


def config(topology: str, **params: Any) -> Any:
    return ADAPTER.validate_python({"topology": topology, **params})


TABLES: dict[str, dict[str, Any]] = {
    "complete": {},
    "empty": {},
    "cycle": {"directed": True},
    "star": {},
    "wheel": {},
    "lattice": {"k": 4},
    "regular": {"degree": 3},
    "erdos_renyi": {"mean_degree": 4},
    "watts_strogatz": {"k": 4, "p": 0.3},
    "barabasi_albert": {"m": 2},
    "tree": {"branching": 3},
    "sbm": {"sizes": [10, 20], "p_in": 0.5, "p_out": 0.05},
}


@pytest.mark.parametrize("name", TABLES)
def test_build_adjacency_draws_one_integer(name: str) -> None:
    generator = rng(17)
    graph = build_adjacency(config(name, **TABLES[name]), 30, generator)
    assert_valid(graph)
    assert graph.n == 30
    reference = rng(17)
    reference.integers(2**63)
    assert generator.random() == reference.random()


@pytest.mark.parametrize("name", TABLES)
def test_build_graph_is_build_adjacency_as_networkx(name: str) -> None:
    cfg = config(name, **TABLES[name])
    graph = build_adjacency(cfg, 30, rng(18))
    nxg = build_graph(cfg, 30, rng(18))
    assert list(nxg.nodes) == list(range(30))
    assert set(nxg.edges) == arcs(graph)
    assert np.array_equal(nxg.graph["adjacency"].indices, graph.indices)


def test_build_adjacency_matches_the_generator() -> None:
    seed = int(rng(19).integers(2**63))
    expected = adjacency.watts_strogatz(50, 4, 0.3, rng(seed))
    graph = build_adjacency(config("watts_strogatz", k=4, p=0.3), 50, rng(19))
    assert graph.indices.tobytes() == expected.indices.tobytes()


def test_build_adjacency_sbm_blocks_and_file_labels(tmp_path: Path) -> None:
    sbm = build_adjacency(config("sbm", communities=3, p_in=0.5, p_out=0.1), 11, rng())
    assert sbm.node_attrs["block"].tolist() == [0] * 4 + [1] * 4 + [2] * 3
    (tmp_path / "net.txt").write_text("x y 2.5\ny z\n")
    graph = build_adjacency(config("file", path="net.txt"), 3, rng(), tmp_path)
    assert graph.node_attrs["label"].tolist() == ["x", "y", "z"]
    assert arcs(graph) == {(0, 1), (1, 0), (1, 2), (2, 1)}
    assert graph.weights is not None
    assert graph.weights.tolist() == [2.5, 2.5, 1.0, 1.0]


@pytest.mark.parametrize(
    ("table", "n", "expected"),
    [
        ({"topology": "lattice", "k": 3}, 10, "network.k = 3: must be even"),
        ({"topology": "lattice", "k": 10}, 10, "less than population.size = 10"),
        ({"topology": "watts_strogatz", "k": 5, "p": 0.1}, 10, "network.k = 5: must be even"),
        ({"topology": "regular", "degree": 3}, 5, "(got 5 * 3 = 15)"),
        ({"topology": "barabasi_albert", "m": 10}, 10, "network.m = 10: must be less than"),
        (
            {"topology": "sbm", "sizes": [3, 3], "p_in": 0.5, "p_out": 0.1},
            7,
            "must sum to population.size = 7 (they sum to 6)",
        ),
        (
            {"topology": "erdos_renyi", "mean_degree": 10},
            10,
            "network.mean_degree = 10.0: must be between 0 and population.size - 1 = 9",
        ),
        ({"topology": "complete"}, 0, "population.size = 0: a network needs at least 1 node"),
        (
            {"topology": "wheel", "directed": True},
            5,
            "network.directed = true is not supported for topology 'wheel'",
        ),
        ({"topology": "file", "path": "missing.csv"}, 3, "file not found"),
    ],
)
def test_build_adjacency_errors(
    table: dict[str, Any], n: int, expected: str, tmp_path: Path
) -> None:
    with pytest.raises(ScenarioError) as info:
        build_adjacency(ADAPTER.validate_python(table), n, rng(), tmp_path)
    assert expected in str(info.value)
