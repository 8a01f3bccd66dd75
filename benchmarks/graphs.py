"""Time and memory of the network generators of :mod:`sim.adjacency` at scale.

For each random topology (and the ring lattice) at mean degree 10, prints the wall time
and the peak resident memory added while building the CSR arrays, for several population
sizes, and the time networkx takes for the same topology at the smallest size. Each
measurement runs in a fresh child process, so the peak memory of one does not hide
another's. The numba kernels are compiled (or loaded from their cache) once before any
timing; that one-off time is printed first.

Usage::

    .venv/bin/python benchmarks/graphs.py [--sizes 10000,100000,1000000] [--seed 7]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time
from collections.abc import Callable
from typing import Any

import networkx as nx
import numpy as np
from rich.console import Console
from rich.table import Table

MEAN_DEGREE = 10
COMMUNITIES = 10
TOPOLOGIES = ("erdos_renyi", "watts_strogatz", "barabasi_albert", "regular", "lattice", "sbm")


def _sbm_probabilities(n: int) -> tuple[list[int], float, float]:
    """Ten near-equal blocks; 8 of the 10 expected neighbours within the block."""
    base, extra = divmod(n, COMMUNITIES)
    sizes = [base + 1] * extra + [base] * (COMMUNITIES - extra)
    return sizes, 8 / (base - 1), 2 / (n - base)


def ours(name: str, n: int, rng: np.random.Generator) -> Any:
    """Build topology ``name`` on ``n`` nodes with :mod:`sim.adjacency`."""
    from sim import adjacency

    if name == "erdos_renyi":
        return adjacency.erdos_renyi(n, MEAN_DEGREE / (n - 1), rng)
    if name == "watts_strogatz":
        return adjacency.watts_strogatz(n, MEAN_DEGREE, 0.1, rng)
    if name == "barabasi_albert":
        return adjacency.barabasi_albert(n, MEAN_DEGREE // 2, rng)
    if name == "regular":
        return adjacency.random_regular(n, MEAN_DEGREE, rng)
    if name == "lattice":
        return adjacency.ring_lattice(n, MEAN_DEGREE)
    sizes, p_in, p_out = _sbm_probabilities(n)
    return adjacency.stochastic_block_model(sizes, p_in, p_out, rng)


def theirs(name: str, n: int, seed: int) -> nx.Graph:
    """The same topology with networkx (what ``build_graph`` used to call)."""
    if name == "erdos_renyi":
        return nx.fast_gnp_random_graph(n, MEAN_DEGREE / (n - 1), seed=seed)
    if name == "watts_strogatz":
        return nx.watts_strogatz_graph(n, MEAN_DEGREE, 0.1, seed=seed)
    if name == "barabasi_albert":
        return nx.barabasi_albert_graph(n, MEAN_DEGREE // 2, seed=seed)
    if name == "regular":
        return nx.random_regular_graph(MEAN_DEGREE, n, seed=seed)
    if name == "lattice":
        return nx.watts_strogatz_graph(n, MEAN_DEGREE, 0.0, seed=seed)
    sizes, p_in, p_out = _sbm_probabilities(n)
    probs = [[p_in if i == j else p_out for j in range(len(sizes))] for i in range(len(sizes))]
    return nx.stochastic_block_model(sizes, probs, seed=seed, sparse=True)


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kilobytes


def _measure(build: Callable[[], Any], arcs: Callable[[Any], int]) -> dict[str, float]:
    before = _peak_rss_bytes()
    started = time.perf_counter()
    graph = build()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rss_mb": (_peak_rss_bytes() - before) / 2**20, "arcs": arcs(graph)}


def _child(kind: str, name: str, n: int, seed: int, queue: Any) -> None:
    if kind == "ours":
        warm_up()  # load the compiled kernels before timing
        result = _measure(lambda: ours(name, n, np.random.default_rng(seed)), lambda g: g.n_arcs)
    else:
        result = _measure(lambda: theirs(name, n, seed), lambda g: 2 * g.number_of_edges())
    queue.put(result)


def measure(kind: str, name: str, n: int, seed: int) -> dict[str, float]:
    """Run one build in a fresh process; returns seconds, peak RSS delta (MiB), arcs."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=_child, args=(kind, name, n, seed, queue))
    process.start()
    result: dict[str, float] = queue.get()
    process.join()
    return result


def warm_up() -> float:
    """Compile (or load from the numba cache) every kernel; returns the seconds taken."""
    started = time.perf_counter()
    rng = np.random.default_rng(0)
    for name in TOPOLOGIES:
        graph = ours(name, 200, rng)
        graph.transpose()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    console = Console(width=max(100, Console().width))
    console.print(f"numba compile or cache load (first call of every kernel): {warm_up():.2f} s")

    table = Table(
        title=f"CSR generators, mean degree {MEAN_DEGREE}: seconds / peak RSS added (MiB)"
    )
    table.add_column("topology")
    for n in sizes:
        table.add_column(f"n = {n:,}", justify="right")
    table.add_column(f"networkx, n = {sizes[0]:,}", justify="right")
    for name in TOPOLOGIES:
        row = [name]
        for n in sizes:
            result = measure("ours", name, n, args.seed)
            row.append(f"{result['seconds']:.2f} s / {result['rss_mb']:.0f}")
        result = measure("theirs", name, sizes[0], args.seed)
        row.append(f"{result['seconds']:.2f} s / {result['rss_mb']:.0f}")
        table.add_row(*row)
    console.print(table)


if __name__ == "__main__":
    main()
