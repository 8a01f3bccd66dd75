"""Where to draw each agent: a sample of the network small enough to draw, and its layout.

Mesa's network drawing lays graphs out with networkx's spring layout, which takes seconds
at a few thousand nodes and minutes beyond. Here the layout is computed once per network,
in numpy and scipy, and only for the agents actually drawn:

1. **Sample.** Populations above ``max_nodes`` are drawn as a breadth-first ball around
   agent 0 (then around the next undrawn agent, if its component runs out), so the drawn
   agents are connected to each other and an announcement spreading through them stays
   visible. Uniform sampling would keep almost no links of a sparse graph.
2. **Lay out.** An empty sample is a grid; a dense one (at least half of all pairs
   linked, e.g. a complete graph) is a circle in index order; anything else starts from a
   spectral embedding (the two smoothest non-trivial eigenvectors of the normalized
   adjacency matrix, by Lanczos: rings come out as loops, blocks as clusters) and is
   relaxed by a few Fruchterman–Reingold iterations whose repulsion is estimated against
   a random subset of the nodes (O(n·s) per iteration instead of O(n²)), with a weak
   pull to the centre that keeps small components in view.
3. **Links.** At most ``max_links`` links between drawn agents are drawn (a uniform
   sample beyond that); an arc and its reverse are one link.

At 2,000 nodes the whole computation takes under 0.2 s; at 100,000 building the sample
dominates (about half a second). Everything is seeded, so the same network always
gets the same picture.

Main entry points: :class:`NetworkDrawing` and :func:`draw_network`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, connected_components
from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, eigsh

MAX_DRAWN_NODES = 2000
"""Largest population drawn whole; larger ones are drawn as a sample of this size."""

MAX_DRAWN_LINKS = 10_000
"""Most links drawn; beyond that a uniform sample of the drawn agents' links."""

_DENSE = 0.5  # share of linked pairs from which a sample is drawn as a circle
_ITERATIONS = 50
_REPULSION_SAMPLE = 128
_GRAVITY = 0.005
_TEMPERATURE = 0.03  # largest move per iteration: the embedding is kept, only declumped


@dataclass(frozen=True)
class NetworkDrawing:
    """The drawn part of a network and where each drawn agent goes.

    Attributes:
        nodes: Indices of the drawn agents (all agents, in index order, unless sampled).
        positions: ``(len(nodes), 2)`` coordinates, roughly within the unit square.
        links: ``(m, 2)`` pairs of positions in ``nodes`` (not agent indices) to join.
        n_agents: Size of the whole population.
        n_links: Links (an arc and its reverse counted once) among the drawn agents,
            drawn or not.
    """

    nodes: np.ndarray
    positions: np.ndarray
    links: np.ndarray
    n_agents: int
    n_links: int

    @property
    def sampled(self) -> bool:
        """Whether only part of the population is drawn."""
        return len(self.nodes) < self.n_agents

    def note(self) -> str | None:
        """A sentence saying what is left out of the picture, or ``None`` if nothing is."""
        parts = []
        if self.sampled:
            parts.append(
                f"Showing {len(self.nodes):,} of {self.n_agents:,} agents (a connected "
                "sample around agent 0); the charts and metrics cover everyone."
            )
        if len(self.links) < self.n_links:
            parts.append(f"{len(self.links):,} of {self.n_links:,} links drawn.")
        return " ".join(parts) or None


def symmetric_adjacency(out_neighbors: Sequence[np.ndarray]) -> sp.csr_matrix:
    """The undirected, unweighted adjacency matrix of a network given as out-neighbour
    lists (``out_neighbors[u]``: the agents who observe ``u``)."""
    n = len(out_neighbors)
    lengths = np.fromiter((len(a) for a in out_neighbors), dtype=np.int64, count=n)
    rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
    cols = (
        np.concatenate([np.asarray(a, dtype=np.int64) for a in out_neighbors])
        if n and lengths.sum()
        else np.zeros(0, dtype=np.int64)
    )
    arcs = sp.csr_matrix((np.ones(len(rows), dtype=np.float64), (rows, cols)), shape=(n, n))
    both = (arcs + arcs.T).tocsr()
    both.data[:] = 1.0
    both.setdiag(0)
    both.eliminate_zeros()
    return both


def sample_nodes(adjacency: sp.csr_matrix, max_nodes: int) -> np.ndarray:
    """Up to ``max_nodes`` agents: breadth-first from agent 0, then from the smallest agent
    not yet reached, until enough are taken. Returns them in increasing index order."""
    n = adjacency.shape[0]
    if n <= max_nodes:
        return np.arange(n, dtype=np.int64)
    _, labels = connected_components(adjacency, directed=False)
    taken: list[np.ndarray] = []
    count = 0
    seen = np.zeros(int(labels.max()) + 1, dtype=bool)
    for start in range(n):
        if count >= max_nodes:
            break
        if seen[labels[start]]:
            continue
        seen[labels[start]] = True
        if adjacency.indptr[start] == adjacency.indptr[start + 1]:
            order = np.array([start], dtype=np.int64)
        else:
            order = breadth_first_order(adjacency, start, directed=False, return_predecessors=False)
        order = order[: max_nodes - count]
        taken.append(np.asarray(order, dtype=np.int64))
        count += len(order)
    return np.sort(np.concatenate(taken))


def _grid(m: int) -> np.ndarray:
    side = max(1, int(np.ceil(np.sqrt(m))))
    index = np.arange(m)
    return np.column_stack([index % side, -(index // side)]).astype(np.float64)


def _circle(m: int) -> np.ndarray:
    angle = np.pi / 2 - 2 * np.pi * np.arange(m) / max(m, 1)
    return np.column_stack([np.cos(angle), np.sin(angle)])


def _spectral(adjacency: sp.csr_matrix, rng: np.random.Generator) -> np.ndarray:
    """Spectral coordinates: the second and third eigenvectors of the normalized adjacency
    matrix (the smallest non-trivial ones of the normalized Laplacian). Random coordinates
    if ARPACK fails, as it may on tiny or degenerate graphs."""
    m = adjacency.shape[0]
    if m < 5:
        return rng.random((m, 2))
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    scale = 1.0 / np.sqrt(np.maximum(degree, 1.0))
    # Shifted by the identity so that the largest algebraic eigenvalues (cheap to find
    # by Lanczos, no factorization) are the smoothest eigenvectors, also on bipartite graphs.
    shifted = (sp.diags(scale) @ adjacency @ sp.diags(scale) + sp.identity(m)).tocsr()
    try:
        values, vectors = eigsh(
            shifted, k=3, which="LA", v0=rng.random(m), tol=1e-3, maxiter=50 * m
        )
    except (ArpackNoConvergence, ArpackError):
        return rng.random((m, 2))
    order = np.argsort(values)[::-1]
    return vectors[:, order[1:3]] * scale[:, None]


def _normalize(positions: np.ndarray) -> np.ndarray:
    """Centre and scale so that the central 98% of the nodes fill the unit square."""
    low = np.percentile(positions, 1, axis=0)
    high = np.percentile(positions, 99, axis=0)
    span = float(np.max(high - low))
    if span <= 0:
        span = float(np.max(np.ptp(positions, axis=0))) or 1.0
    centred = (positions - (low + high) / 2) / span + 0.5
    return np.clip(centred, -0.05, 1.05)


def _relax(
    positions: np.ndarray, links: np.ndarray, rng: np.random.Generator, iterations: int
) -> np.ndarray:
    """Fruchterman–Reingold iterations with sampled repulsion and a weak central pull
    (float32: a picture needs no more, and it halves the time)."""
    m = len(positions)
    x = positions[:, 0].astype(np.float32)
    y = positions[:, 1].astype(np.float32)
    u, v = links[:, 0], links[:, 1]
    ideal = np.float32(1.0 / np.sqrt(m))
    size = min(m, _REPULSION_SAMPLE)
    temperature = _TEMPERATURE
    cooling = temperature / (iterations + 1)
    for _ in range(iterations):
        chosen = rng.choice(m, size, replace=False)
        dx = x[:, None] - x[chosen][None, :]
        dy = y[:, None] - y[chosen][None, :]
        weight = dx * dx
        weight += dy * dy
        np.maximum(weight, 1e-6, out=weight)
        np.divide(ideal * ideal * (m / size), weight, out=weight)
        fx = np.einsum("ij,ij->i", dx, weight).astype(np.float64)
        fy = np.einsum("ij,ij->i", dy, weight).astype(np.float64)
        ex, ey = x[u] - x[v], y[u] - y[v]
        pull = np.sqrt(ex * ex + ey * ey) / ideal
        fx += np.bincount(v, ex * pull, m) - np.bincount(u, ex * pull, m)
        fy += np.bincount(v, ey * pull, m) - np.bincount(u, ey * pull, m)
        fx -= _GRAVITY * (x - 0.5) * m * ideal
        fy -= _GRAVITY * (y - 0.5) * m * ideal
        length = np.maximum(np.sqrt(fx * fx + fy * fy), 1e-12)
        step = np.minimum(length, temperature) / length
        x += (fx * step).astype(np.float32)
        y += (fy * step).astype(np.float32)
        temperature -= cooling
    return np.column_stack([x, y]).astype(np.float64)


def layout(adjacency: sp.csr_matrix, seed: int = 0) -> np.ndarray:
    """Positions for the nodes of an undirected graph (see the module docstring).

    Args:
        adjacency: Symmetric 0/1 adjacency matrix of the drawn agents.
        seed: Seed of the layout's random choices.

    Returns:
        ``(m, 2)`` coordinates, the central 98% within the unit square.
    """
    m = adjacency.shape[0]
    if m == 0:
        return np.zeros((0, 2))
    links = np.column_stack(sp.triu(adjacency, k=1).nonzero()).astype(np.int64)
    if m == 1:
        return np.full((1, 2), 0.5)
    if len(links) == 0:
        return _normalize(_grid(m))
    if len(links) >= _DENSE * m * (m - 1) / 2:
        return _normalize(_circle(m))
    rng = np.random.default_rng(seed)
    start = _normalize(_spectral(adjacency, rng))
    start += rng.normal(0.0, 1e-3, start.shape)  # separate nodes the embedding merged
    return _normalize(_relax(start, links, rng, _ITERATIONS))


def draw_network(
    out_neighbors: Sequence[np.ndarray],
    *,
    max_nodes: int = MAX_DRAWN_NODES,
    max_links: int = MAX_DRAWN_LINKS,
    seed: int = 0,
) -> NetworkDrawing:
    """Choose the agents and links to draw and lay them out.

    Args:
        out_neighbors: ``out_neighbors[u]`` = the agents who observe ``u`` (the
            society's ``out_neighbors``).
        max_nodes: Populations larger than this are drawn as a connected sample.
        max_links: Most links drawn.
        seed: Seed of the layout and of the link sample.

    Returns:
        The drawing.
    """
    adjacency = symmetric_adjacency(out_neighbors)
    nodes = sample_nodes(adjacency, max_nodes)
    sub = adjacency[nodes][:, nodes].tocsr() if len(nodes) < adjacency.shape[0] else adjacency
    positions = layout(sub, seed)
    links = np.column_stack(sp.triu(sub, k=1).nonzero()).astype(np.int64)
    n_links = len(links)
    if n_links > max_links:
        keep = np.random.default_rng(seed).choice(n_links, max_links, replace=False)
        links = links[np.sort(keep)]
    return NetworkDrawing(
        nodes=nodes,
        positions=positions,
        links=links.reshape(-1, 2),
        n_agents=len(out_neighbors),
        n_links=n_links,
    )
