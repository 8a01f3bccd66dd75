"""Networks as compressed sparse row (CSR) arrays, and the standard topologies built directly
in that form.

An :class:`Adjacency` holds a directed graph on nodes ``0..n-1`` as two arrays: row ``u``
of ``indices`` (``indices[indptr[u]:indptr[u + 1]]``) lists, in ascending order, every
node ``v`` with an arc ``u -> v``, meaning that ``v`` observes ``u`` (messages flow from
``u`` to ``v``). Undirected topologies hold both arcs of every edge. There are no
self-loops and no duplicate arcs. Optional per-arc ``weights`` are aligned with
``indices``; per-node attributes (``block`` for block models, ``label`` for files) are
arrays of length ``n``.

The generators below build these arrays without a networkx graph, so a million-node
network with mean degree 10 takes one or two seconds on a small machine (see
``benchmarks/graphs.py``). Random generators take a ``numpy.random.Generator`` and draw
everything from it (the sequential ones in compiled numba kernels that receive the
generator itself), so the same generator state always gives byte-identical arrays. The
kernels release the GIL: the fast engine makes a large run's network on a second core
while its agents are made.
Where a generator matches a networkx generator it samples the same distribution by the
same process, but not the same graph for the same seed.

Both engines read the same arrays: the compiled engine directly, the SimPy engine
through :meth:`Adjacency.to_networkx`.

Main entry points: :class:`Adjacency` and the generators :func:`complete`, :func:`empty`,
:func:`cycle`, :func:`star`, :func:`wheel`, :func:`ring_lattice`, :func:`full_tree`,
:func:`random_regular`, :func:`erdos_renyi`, :func:`watts_strogatz`,
:func:`barabasi_albert` and :func:`stochastic_block_model`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse
from numba import njit

_MAX_NODES = 2**31 - 1  # receivers are stored as int32
_MAX_DRAW = 2**31  # largest range the kernels draw uniform integers from (see _below)

# --------------------------------------------------------------------------- kernels


@njit(cache=True, nogil=True)
def _below(rng: Any, bound: int) -> int:
    """A uniform integer in ``0..bound-1`` for ``1 <= bound <= 2**31``, exactly.

    Lemire's multiply-and-reject on 32 random bits, taken from one ``rng.random()`` (whose
    53-bit mantissa is uniform); several times faster than ``rng.integers`` in numba.
    """
    bits = np.int64(rng.random() * 4294967296.0)
    product = bits * bound
    low = product & 0xFFFFFFFF
    if low < bound:
        threshold = (4294967296 - bound) % bound
        while low < threshold:
            bits = np.int64(rng.random() * 4294967296.0)
            product = bits * bound
            low = product & 0xFFFFFFFF
    return int(product >> 32)


@njit(cache=True, nogil=True)
def _sift_down(a: np.ndarray, root: int, end: int) -> None:
    while 2 * root + 1 < end:
        child = 2 * root + 1
        if child + 1 < end and a[child] < a[child + 1]:
            child += 1
        if a[root] >= a[child]:
            return
        a[root], a[child] = a[child], a[root]
        root = child


@njit(cache=True, nogil=True)
def _heapsort(a: np.ndarray) -> None:
    """Sort ``a`` in place in O(len log len)."""
    for root in range(a.shape[0] // 2 - 1, -1, -1):
        _sift_down(a, root, a.shape[0])
    for end in range(a.shape[0] - 1, 0, -1):
        a[0], a[end] = a[end], a[0]
        _sift_down(a, 0, end)


@njit(cache=True, nogil=True)
def _rows_from_arcs(
    n: int, sources: np.ndarray, targets: np.ndarray, simplify: bool, with_order: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counting sort of the arcs by sender, then a sort of each row by receiver.

    Returns ``indptr``, ``indices`` and, when ``with_order``, ``order`` (the input position
    of each CSR arc; empty otherwise). The sort is stable, so with ``simplify`` (drop
    self-loops and repeated arcs) the first occurrence of a repeated arc is the one kept.
    """
    m = sources.shape[0]
    indptr = np.zeros(n + 1, np.int64)
    for i in range(m):
        indptr[sources[i] + 1] += 1
    for u in range(n):
        indptr[u + 1] += indptr[u]
    fill = indptr[:-1].copy()
    indices = np.empty(m, np.int32)
    order = np.empty(m if with_order else 0, np.int64)
    for i in range(m):
        s = sources[i]
        indices[fill[s]] = targets[i]
        if with_order:
            order[fill[s]] = i
        fill[s] += 1
    for u in range(n):
        lo = indptr[u]
        hi = indptr[u + 1]
        if hi - lo <= 32:
            for j in range(lo + 1, hi):  # insertion sort: stable, fast on short rows
                key = indices[j]
                arc = order[j] if with_order else 0
                i = j - 1
                while i >= lo and indices[i] > key:
                    indices[i + 1] = indices[i]
                    if with_order:
                        order[i + 1] = order[i]
                    i -= 1
                indices[i + 1] = key
                if with_order:
                    order[i + 1] = arc
        else:
            # Heapsort (receiver, position in row) packed in one int64, which makes it
            # stable; numba compiles this far faster than np.argsort(kind="mergesort").
            packed = np.empty(hi - lo, np.int64)
            for j in range(lo, hi):
                packed[j - lo] = (np.int64(indices[j]) << 32) | (j - lo)
            _heapsort(packed)
            row = order[lo:hi].copy()
            for j in range(lo, hi):
                indices[j] = packed[j - lo] >> 32
                if with_order:
                    order[j] = row[packed[j - lo] & 0xFFFFFFFF]
    if not simplify:
        return indptr, indices, order
    kept = 0
    start = 0
    for u in range(n):
        previous = -1
        for p in range(start, indptr[u + 1]):
            v = indices[p]
            if v != u and v != previous:
                indices[kept] = v
                if with_order:
                    order[kept] = order[p]
                kept += 1
            previous = v
        start = indptr[u + 1]
        indptr[u + 1] = kept
    return indptr, indices[:kept].copy(), order[:kept].copy() if with_order else order


@njit(cache=True, nogil=True)
def _triangle_pairs(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Invert ``t = v * (v - 1) / 2 + u`` for ``0 <= u < v``: the ``t``-th unordered pair,
    as ``int32`` arrays ``(u, v)``."""
    u = np.empty(t.shape[0], np.int32)
    v = np.empty(t.shape[0], np.int32)
    for i in range(t.shape[0]):
        row = np.int64((1.0 + math.sqrt(1.0 + 8.0 * t[i])) / 2.0)
        while row * (row - 1) // 2 > t[i]:  # rounding of the square root
            row -= 1
        while row * (row + 1) // 2 <= t[i]:
            row += 1
        u[i] = t[i] - row * (row - 1) // 2
        v[i] = row
    return u, v


@njit(cache=True, nogil=True)
def _transpose_into(
    n: int,
    indptr: np.ndarray,
    indices: np.ndarray,
    t_indptr: np.ndarray,
    t_indices: np.ndarray,
    origin: np.ndarray,
    position: np.ndarray,
) -> None:
    """Counting sort of the arcs by receiver into ``t_indptr`` (zeros) and ``t_indices``;
    rows come out sorted because senders are visited in ascending order. ``origin[q]``
    gets the arc that reversed arc ``q`` came from and ``position[p]`` where arc ``p``
    went; any of ``t_indices``, ``origin`` and ``position`` may be empty (not wanted),
    and the last two any integer type wide enough."""
    m = indices.shape[0]
    for p in range(m):
        t_indptr[indices[p] + 1] += 1
    for v in range(n):
        t_indptr[v + 1] += t_indptr[v]
    fill = t_indptr[:-1].copy()
    senders = t_indices.shape[0] > 0
    origins = origin.shape[0] > 0
    positions = position.shape[0] > 0
    for u in range(n):
        for p in range(indptr[u], indptr[u + 1]):
            v = indices[p]
            q = fill[v]
            fill[v] += 1
            if senders:
                t_indices[q] = u
            if origins:
                origin[q] = p
            if positions:
                position[p] = q


@njit(cache=True, nogil=True)
def _adjacent(nbr: np.ndarray, count: np.ndarray, a: int, b: int) -> bool:
    for i in range(count[a]):  # noqa: SIM110 - numba compiles loops, not any(generator)
        if nbr[a, i] == b:
            return True
    return False


@njit(cache=True, nogil=True)
def _has_free_pair(stubs: np.ndarray, nbr: np.ndarray, count: np.ndarray) -> bool:
    """Whether two distinct nodes among ``stubs`` are not yet joined (networkx's
    ``_suitable``); returns at the first such pair, so is quick unless stuck."""
    for i in range(stubs.shape[0]):
        for j in range(i):
            if stubs[i] != stubs[j] and not _adjacent(nbr, count, stubs[i], stubs[j]):
                return True
    return False


@njit(cache=True, nogil=True)
def _regular_attempt(n: int, degree: int, rng: Any) -> tuple[bool, np.ndarray]:
    """One attempt of networkx's ``random_regular_graph``: shuffle the unmatched stubs,
    pair them off two by two, keep every pair that is neither a loop nor a repeat, and
    repeat with the rejected stubs; give up when no acceptable pair is left."""
    nbr = np.full((n, degree), -1, np.int32)
    count = np.zeros(n, np.int32)
    stubs = np.empty(n * degree, np.int32)
    for i in range(n * degree):
        stubs[i] = i % n
    left = np.empty(n * degree, np.int32)
    remaining = n * degree
    while remaining > 0:
        for i in range(remaining - 1, 0, -1):  # Fisher-Yates
            j = _below(rng, i + 1)
            stubs[i], stubs[j] = stubs[j], stubs[i]
        rejected = 0
        for i in range(0, remaining, 2):
            a = stubs[i]
            b = stubs[i + 1]
            if a != b and not _adjacent(nbr, count, a, b):
                nbr[a, count[a]] = b
                count[a] += 1
                nbr[b, count[b]] = a
                count[b] += 1
            else:
                left[rejected] = a
                left[rejected + 1] = b
                rejected += 2
        if rejected > 0 and not _has_free_pair(left[:rejected], nbr, count):
            return False, nbr
        for i in range(rejected):  # a loop: numba compiles slice assignment slowly
            stubs[i] = left[i]
        remaining = rejected
    return True, nbr


@njit(cache=True, nogil=True)
def _regular_kernel(n: int, degree: int, rng: Any) -> np.ndarray:
    while True:
        done, nbr = _regular_attempt(n, degree, rng)
        if done:
            return nbr


_WS_KEPT = 0  # lattice edge left alone
_WS_DRAWN = 1  # lattice edge drawn for rewiring but still present (not visited yet, or kept)
_WS_REMOVED = 2  # lattice edge rewired away


@njit(cache=True, nogil=True)
def _ws_has_edge(
    u: int,
    w: int,
    n: int,
    half: int,
    lattice: np.ndarray,
    head: np.ndarray,
    link: np.ndarray,
    other: np.ndarray,
) -> bool:
    ahead = (w - u) % n
    if 1 <= ahead <= half and lattice[(ahead - 1) * n + u] != _WS_REMOVED:
        return True
    behind = (u - w) % n
    if 1 <= behind <= half and lattice[(behind - 1) * n + w] != _WS_REMOVED:
        return True
    slot = head[u]
    while slot >= 0:
        if other[slot] == w:
            return True
        slot = link[slot]
    return False


@njit(cache=True, nogil=True)
def _ws_rewire(
    n: int, half: int, p: float, rng: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """networkx's ``watts_strogatz_graph`` rewiring loop on a ring lattice.

    Lattice edge ``e = (j - 1) * n + u`` joins ``u`` and ``u + j``. First one uniform draw
    per edge in that order (``rng.random(half * n) < p``, draw for draw) says whether
    ``e`` is rewired; then the rewired edges are visited in that order. A rewired edge
    keeps ``u`` and gets a uniform new endpoint, redrawn while it is ``u`` or already a
    neighbour of ``u``; the edge is left alone when ``u`` is joined to everyone. Added
    edges live in per-node linked lists (``head``/``link``/``other``), both ways, since
    they are never removed.

    Returns the state of every lattice edge (``_WS_REMOVED`` or not), the degree of every
    node, and the linked lists.
    """
    lattice = np.empty(half * n, np.uint8)
    drawn = 0
    for e in range(half * n):
        if rng.random() < p:
            lattice[e] = _WS_DRAWN
            drawn += 1
        else:
            lattice[e] = _WS_KEPT
    degree = np.full(n, 2 * half, np.int64)
    head = np.full(n, -1, np.int64)
    link = np.empty(2 * drawn, np.int64)
    other = np.empty(2 * drawn, np.int32)
    used = 0
    for e in range(half * n):
        if lattice[e] == _WS_KEPT:
            continue
        j = e // n + 1
        u = e - (j - 1) * n
        w = _below(rng, n)
        skip = False
        while w == u or _ws_has_edge(u, w, n, half, lattice, head, link, other):
            w = _below(rng, n)
            if degree[u] >= n - 1:
                skip = True
                break
        if skip:
            continue
        lattice[e] = _WS_REMOVED
        degree[(u + j) % n] -= 1
        degree[w] += 1
        other[used] = w
        link[used] = head[u]
        head[u] = used
        other[used + 1] = u
        link[used + 1] = head[w]
        head[w] = used + 1
        used += 2
    return lattice, degree, head, link, other


@njit(cache=True, nogil=True)
def _ws_rows(
    n: int,
    half: int,
    lattice: np.ndarray,
    degree: np.ndarray,
    head: np.ndarray,
    link: np.ndarray,
    other: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """CSR rows of the rewired lattice, each filled in ascending order: the kept lattice
    neighbours ``u - half .. u + half`` (mod ``n``) merged with the added ones."""
    # The added neighbours of each node, sorted, in one array: walking all the lists in a
    # pass of their own is several times faster than walking them while filling rows.
    added_ptr = np.empty(n + 1, np.int64)
    added = np.empty(other.shape[0], np.int32)
    added_ptr[0] = 0
    for u in range(n):
        start = added_ptr[u]
        end = start
        slot = head[u]
        while slot >= 0:
            added[end] = other[slot]
            end += 1
            slot = link[slot]
        added_ptr[u + 1] = end
        if end - start <= 32:
            for j in range(start + 1, end):  # insertion sort: fast on short lists
                key = added[j]
                i = j - 1
                while i >= start and added[i] > key:
                    added[i + 1] = added[i]
                    i -= 1
                added[i + 1] = key
        else:
            _heapsort(added[start:end])
    indptr = np.empty(n + 1, np.int64)
    indptr[0] = 0
    for u in range(n):
        indptr[u + 1] = indptr[u] + degree[u]
    indices = np.empty(indptr[n], np.int32)
    position = 0
    for u in range(n):
        i = added_ptr[u]
        end = added_ptr[u + 1]
        # Offsets d = first .. half, then -half .. first - 1, give u + d (mod n) in
        # ascending order: ``first`` is where the window u - half .. u + half wraps.
        if u < half:
            first = -u
        elif u + half >= n:
            first = n - u
        else:
            first = -half
        for step in range(2 * half + 1):
            d = first + step
            if d > half:
                d -= 2 * half + 1
            if d == 0:
                continue
            v = u + d
            if v < 0:
                v += n
            elif v >= n:
                v -= n
            e = (d - 1) * n + u if d > 0 else (-d - 1) * n + v
            if lattice[e] == _WS_REMOVED:
                continue
            while i < end and added[i] < v:
                indices[position] = added[i]
                position += 1
                i += 1
            indices[position] = v
            position += 1
        while i < end:
            indices[position] = added[i]
            position += 1
            i += 1
    return indptr, indices


@njit(cache=True, nogil=True)
def _ba_kernel(n: int, m: int, rng: Any) -> tuple[np.ndarray, np.ndarray]:
    """networkx's ``barabasi_albert_graph``: start from the star on ``m + 1`` nodes (hub
    0); each new node picks ``m`` distinct targets, drawing uniformly from the list in
    which every node appears once per incident edge (so proportionally to degree) and
    redrawing repeats.

    That list is never stored: as in networkx it is ``0`` m times, ``1..m``, then for each
    new node its ``m`` targets followed by itself ``m`` times, so an entry is either the
    node of its block (no memory read) or one of ``targets``.
    """
    edges = m * (n - m)
    sources = np.empty(edges, np.int32)
    targets = np.empty(edges, np.int32)
    for i in range(m):
        sources[i] = 0
        targets[i] = i + 1
    size = 2 * m  # length of the list
    e = m
    chosen_by = np.full(n, -1, np.int32)
    for source in range(m + 1, n):
        picked = 0
        while picked < m:
            position = _below(rng, size)
            if position < m:
                x = 0
            elif position < 2 * m:
                x = position - m + 1
            else:
                block, offset = divmod(position - 2 * m, 2 * m)
                x = targets[m + block * m + offset] if offset < m else m + 1 + block
            if chosen_by[x] != source:
                chosen_by[x] = source
                sources[e] = source
                targets[e] = x
                e += 1
                picked += 1
        size += 2 * m
    return sources, targets


# ------------------------------------------------------------------------- the arrays


def _as_index_array(name: str, values: Any, dtype: type[np.integer[Any]]) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.dtype == dtype:
        return np.ascontiguousarray(array)
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got dtype {array.dtype}")
    info = np.iinfo(dtype)
    if array.size and (array.min() < info.min or array.max() > info.max):
        raise ValueError(f"{name} has values that do not fit {np.dtype(dtype).name}")
    return np.ascontiguousarray(array, dtype=dtype)


@dataclass(frozen=True, eq=False)
class Adjacency:
    """A directed graph on nodes ``0..n-1`` in CSR form; ``u -> v`` means ``v`` observes
    ``u``.

    Treat instances as immutable: the arrays are shared (by :meth:`to_networkx` graphs,
    by both engines), not copied.

    Attributes:
        indptr: ``int64``, shape ``(n + 1,)``; row ``u`` is ``indptr[u]:indptr[u + 1]``.
        indices: ``int32`` receivers; row ``u`` lists every ``v`` with an arc ``u -> v``,
            ascending, without repeats or ``u`` itself.
        weights: ``float64`` weight of each arc (aligned with ``indices``), or ``None``
            when the network is unweighted.
        node_attrs: Per-node arrays of length ``n`` by name, e.g. ``block`` (``int64``) for
            block models and ``label`` (``object``, strings) for files.

    Raises:
        ValueError: The arrays have the wrong shapes or dtypes (cheap checks only; the
            row order and the absence of loops and repeats are the builder's promise).
    """

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray | None = None
    node_attrs: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        indptr = _as_index_array("indptr", self.indptr, np.int64)
        indices = _as_index_array("indices", self.indices, np.int32)
        if indptr.shape[0] < 1 or indptr[0] != 0 or indptr[-1] != indices.shape[0]:
            raise ValueError(f"indptr must start at 0 and end at len(indices) = {indices.shape[0]}")
        n = indptr.shape[0] - 1
        if n > _MAX_NODES:
            raise ValueError(f"at most {_MAX_NODES} nodes fit int32 indices, got {n}")
        object.__setattr__(self, "indptr", indptr)
        object.__setattr__(self, "indices", indices)
        if self.weights is not None:
            weights = np.ascontiguousarray(self.weights, dtype=np.float64)
            if weights.shape != indices.shape:
                raise ValueError(
                    f"weights must have one value per arc ({indices.shape[0]}), "
                    f"got shape {weights.shape}"
                )
            object.__setattr__(self, "weights", weights)
        attrs = {name: np.asarray(values) for name, values in self.node_attrs.items()}
        for name, values in attrs.items():
            if values.shape != (n,):
                raise ValueError(
                    f"node attribute {name!r} must have one value per node ({n}), "
                    f"got shape {values.shape}"
                )
        object.__setattr__(self, "node_attrs", MappingProxyType(attrs))

    # ---------------------------------------------------------------- basic queries

    @property
    def n(self) -> int:
        """Number of nodes."""
        return int(self.indptr.shape[0] - 1)

    @property
    def n_arcs(self) -> int:
        """Number of arcs (twice the number of edges of an undirected topology)."""
        return int(self.indices.shape[0])

    def out_degree(self) -> np.ndarray:
        """``int64`` number of arcs leaving each node (how many agents observe it)."""
        return np.diff(self.indptr)

    def in_degree(self) -> np.ndarray:
        """``int64`` number of arcs entering each node (how many agents it observes)."""
        return np.bincount(self.indices, minlength=self.n).astype(np.int64)

    def neighbors(self, u: int) -> np.ndarray:
        """The receivers of ``u``'s arcs, ascending: a view into :attr:`indices`."""
        return self.indices[self.indptr[u] : self.indptr[u + 1]]

    def sources(self) -> np.ndarray:
        """``int32`` sender of each arc, aligned with :attr:`indices`."""
        return np.repeat(np.arange(self.n, dtype=np.int32), self.out_degree())

    # ---------------------------------------------------------------- conversions

    def transpose(self) -> tuple[Adjacency, np.ndarray]:
        """The reversed graph, and where each of its arcs came from.

        Returns:
            ``(reverse, arc_of)``: row ``v`` of ``reverse`` lists, ascending, the senders
            ``u`` of the arcs ``u -> v``; ``arc_of[p]`` (``int64``) is the position in
            :attr:`indices` of the arc that ``reverse.indices[p]`` came from, so
            ``reverse.weights == weights[arc_of]`` and any other per-arc data maps the
            same way.
        """
        indptr, indices, arc_of, _ = self.in_arcs(origins=True, positions=False, dtype=np.int64)
        weights = None if self.weights is None else self.weights[arc_of]
        return Adjacency(indptr, indices, weights, self.node_attrs), arc_of

    def in_arcs(
        self,
        *,
        origins: bool,
        positions: bool,
        senders: bool = True,
        dtype: type[np.integer[Any]] = np.int32,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The arcs grouped by receiver (the rows of :meth:`transpose`) and how they map
        to the arcs by sender, without building an :class:`Adjacency`.

        Args:
            origins: Return ``origin`` (else it is empty).
            positions: Return ``position`` (else it is empty).
            senders: Return ``senders`` (else it is empty: the arcs' order by receiver
                is still the same, given by ``in_ptr`` and ``origin``/``position``).
            dtype: Integer type of ``origin`` and ``position`` (``int32`` halves their
                memory; it must hold :attr:`n_arcs`).

        Returns:
            ``(in_ptr, senders, origin, position)``: ``senders[in_ptr[v]:in_ptr[v + 1]]``
            are, ascending, the ``u`` with an arc ``u -> v`` (``int64`` and ``int32``);
            reversed arc ``q`` is arc ``origin[q]`` of :attr:`indices`, and arc ``p`` of
            :attr:`indices` is reversed arc ``position[p]`` (the two are inverse
            permutations).
        """
        if self.n_arcs > np.iinfo(dtype).max:
            raise ValueError(f"{self.n_arcs} arcs do not fit {np.dtype(dtype).name}")
        m = self.n_arcs
        in_ptr = np.zeros(self.n + 1, np.int64)
        senders_of = np.empty(m if senders else 0, np.int32)
        origin = np.empty(m if origins else 0, dtype)
        position = np.empty(m if positions else 0, dtype)
        _transpose_into(self.n, self.indptr, self.indices, in_ptr, senders_of, origin, position)
        return in_ptr, senders_of, origin, position

    def is_symmetric(self) -> bool:
        """Whether every arc ``u -> v`` has its reverse ``v -> u`` (weights ignored)."""
        reverse, _ = self.transpose()
        return bool(
            np.array_equal(reverse.indptr, self.indptr)
            and np.array_equal(reverse.indices, self.indices)
        )

    def to_scipy(self) -> scipy.sparse.csr_array:
        """The ``n x n`` sparse matrix with entry ``(u, v)`` the weight of ``u -> v`` (1
        when unweighted). Shares no memory with this object."""
        data = np.ones(self.n_arcs) if self.weights is None else self.weights.copy()
        return scipy.sparse.csr_array(
            (data, self.indices.copy(), self.indptr.copy()), shape=(self.n, self.n)
        )

    def to_networkx(self) -> nx.DiGraph:
        """A ``networkx.DiGraph`` with the same nodes, arcs, weights and node attributes.

        Nodes are added as ``0..n-1`` and arcs row by row, so iteration follows the CSR
        order. Arcs carry ``weight`` when :attr:`weights` is not ``None``. The graph keeps
        this object as ``graph.graph["adjacency"]``, which :func:`sim.network.out_neighbors`
        reads instead of walking the graph (unless the graph's node or arc count has since
        changed; other modifications go unnoticed, so leave the graph as it is).
        """
        graph = nx.DiGraph()
        graph.graph["adjacency"] = self
        if self.node_attrs:
            columns = {name: values.tolist() for name, values in self.node_attrs.items()}
            graph.add_nodes_from(
                (v, {name: column[v] for name, column in columns.items()}) for v in range(self.n)
            )
        else:
            graph.add_nodes_from(range(self.n))
        senders = self.sources().tolist()
        receivers = self.indices.tolist()
        if self.weights is None:
            graph.add_edges_from(zip(senders, receivers, strict=True))
        else:
            graph.add_weighted_edges_from(
                zip(senders, receivers, self.weights.tolist(), strict=True)
            )
        return graph

    @classmethod
    def from_arcs(
        cls,
        n: int,
        sources: Any,
        targets: Any,
        weights: Any = None,
        *,
        symmetric: bool = False,
        node_attrs: Mapping[str, np.ndarray] | None = None,
    ) -> Adjacency:
        """Build from parallel arrays of arc ends.

        Args:
            n: Number of nodes; every end must be in ``0..n-1``.
            sources: Sender of each arc.
            targets: Receiver of each arc.
            weights: Optional weight of each arc.
            symmetric: Each pair is an undirected edge: add both arcs (same weight).
            node_attrs: Per-node arrays to keep.

        Returns:
            The adjacency, with self-loops dropped and, of repeated arcs, only the first
            (in input order; with ``symmetric``, the given direction of every pair comes
            before the reversed ones) kept.

        Raises:
            ValueError: Mismatched lengths or ends outside ``0..n-1``.
        """
        src = _as_index_array("sources", sources, np.int32)
        dst = _as_index_array("targets", targets, np.int32)
        if src.shape != dst.shape:
            raise ValueError(f"sources and targets differ in length: {src.shape} {dst.shape}")
        if src.size and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= n):
            raise ValueError(f"arc ends must be nodes 0..{n - 1}")
        w = None if weights is None else np.asarray(weights, dtype=np.float64)
        if w is not None and w.shape != src.shape:
            raise ValueError(f"weights must have one value per arc, got shape {w.shape}")
        return _from_arcs(n, src, dst, w, symmetric=symmetric, simplify=True, attrs=node_attrs)

    @classmethod
    def from_networkx(cls, graph: nx.Graph, n: int | None = None) -> Adjacency:
        """Convert a networkx graph whose nodes are ``0..n-1``.

        Args:
            graph: Directed or undirected (an undirected edge becomes both arcs).
            n: Expected number of nodes; the graph's node count when ``None``.

        Returns:
            The adjacency without self-loops (and, for multigraphs, without parallel
            arcs: the first one is kept). If any edge has a ``weight``, :attr:`weights`
            holds every arc's weight, 1.0 where the edge had none. Node attributes
            ``block`` and ``label`` are kept when every node has them.

        Raises:
            ValueError: The nodes are not exactly ``0..n-1``.
        """
        count = graph.number_of_nodes() if n is None else n
        nodes = set(graph.nodes)
        if len(nodes) != count or any(
            not isinstance(v, int | np.integer) or not 0 <= v < count for v in nodes
        ):
            raise ValueError(f"graph nodes must be exactly 0..{count - 1}")
        sources: list[int] = []
        targets: list[int] = []
        weights: list[float] = []
        weighted = False
        for u, v, data in graph.edges(data=True):
            sources.append(int(u))
            targets.append(int(v))
            if "weight" in data:
                weighted = True
                weights.append(float(data["weight"]))
            else:
                weights.append(1.0)
        attrs: dict[str, np.ndarray] = {}
        for name, dtype in (("block", np.int64), ("label", object)):
            values = nx.get_node_attributes(graph, name)
            if count and len(values) == count:
                attrs[name] = np.array([values[v] for v in range(count)], dtype=dtype)
        return _from_arcs(
            count,
            np.asarray(sources, dtype=np.int32),
            np.asarray(targets, dtype=np.int32),
            np.asarray(weights, dtype=np.float64) if weighted else None,
            symmetric=not graph.is_directed(),
            simplify=True,
            attrs=attrs,
        )


def _from_arcs(
    n: int,
    sources: np.ndarray,
    targets: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    symmetric: bool,
    simplify: bool,
    attrs: Mapping[str, np.ndarray] | None = None,
) -> Adjacency:
    """CSR from arc ends already known to be in range; ``simplify = False`` promises that
    there are no self-loops or repeats (after adding reverses when ``symmetric``)."""
    if symmetric:
        sources, targets = np.concatenate([sources, targets]), np.concatenate([targets, sources])
        if weights is not None:
            weights = np.concatenate([weights, weights])
    indptr, indices, order = _rows_from_arcs(n, sources, targets, simplify, weights is not None)
    kept = None if weights is None else weights[order]
    return Adjacency(indptr, indices, kept, dict(attrs or {}))


def _from_rows(rows: np.ndarray, n: int) -> Adjacency:
    """CSR from a dense ``(n, d)`` block of sorted rows of equal length."""
    d = rows.shape[1] if rows.ndim == 2 else 0
    indptr = np.arange(n + 1, dtype=np.int64) * d
    return Adjacency(indptr, rows.reshape(-1).astype(np.int32, copy=False))


# ------------------------------------------------------------- fixed topologies


def _check_nodes(n: int) -> None:
    if not 0 <= n <= _MAX_NODES:
        raise ValueError(f"n = {n}: must be between 0 and {_MAX_NODES}")


def empty(n: int) -> Adjacency:
    """``n`` nodes and no arcs."""
    _check_nodes(n)
    return Adjacency(np.zeros(n + 1, np.int64), np.empty(0, np.int32))


def complete(n: int) -> Adjacency:
    """Every ordered pair of distinct nodes (the same arcs whether directed or not)."""
    _check_nodes(n)
    if n < 2:
        return empty(n)
    columns = np.arange(n - 1, dtype=np.int64)
    rows = columns[None, :] + (columns[None, :] >= np.arange(n)[:, None])
    return _from_rows(rows, n)


def cycle(n: int, *, directed: bool = False) -> Adjacency:
    """The ring ``0 - 1 - ... - (n-1) - 0``; arcs ``i -> i+1`` only when ``directed``.

    One node has no arc (it would be a self-loop); two nodes share a single edge.
    """
    _check_nodes(n)
    nodes = np.arange(n, dtype=np.int32)
    return _from_arcs(n, nodes, (nodes + 1) % max(n, 1), symmetric=not directed, simplify=True)


def star(n: int, *, directed: bool = False) -> Adjacency:
    """Hub 0 joined to every other node (arcs hub -> leaf only when ``directed``)."""
    _check_nodes(n)
    leaves = np.arange(1, max(n, 1), dtype=np.int32)
    hub = np.zeros(leaves.shape[0], np.int32)
    return _from_arcs(n, hub, leaves, symmetric=not directed, simplify=False)


def wheel(n: int) -> Adjacency:
    """``networkx.wheel_graph(n)``: hub 0 joined to every other node, and the other nodes
    in a ring ``1 - 2 - ... - (n-1) - 1`` (undirected)."""
    _check_nodes(n)
    leaves = np.arange(1, max(n, 1), dtype=np.int32)
    rim_next = np.roll(leaves, -1)
    sources = np.concatenate([np.zeros(leaves.shape[0], np.int32), leaves])
    targets = np.concatenate([leaves, rim_next])
    return _from_arcs(n, sources, targets, symmetric=True, simplify=True)


def _check_ring(n: int, k: int) -> None:
    _check_nodes(n)
    if k < 0 or k % 2 or (k >= n and k > 0):
        raise ValueError(f"k = {k}: must be even, at least 0 and less than n = {n}")


def ring_lattice(n: int, k: int) -> Adjacency:
    """Each node joined to its ``k`` nearest neighbours on a ring, ``k/2`` on each side
    (undirected; ``networkx.watts_strogatz_graph(n, k, 0)``).

    Raises:
        ValueError: ``k`` is odd, negative or not less than ``n``.
    """
    _check_ring(n, k)
    half = k // 2
    offsets = np.concatenate([np.arange(-half, 0), np.arange(1, half + 1)])
    rows = (np.arange(n, dtype=np.int64)[:, None] + offsets[None, :]) % max(n, 1)
    rows.sort(axis=1)
    return _from_rows(rows, n)


def full_tree(n: int, branching: int, *, directed: bool = False) -> Adjacency:
    """``networkx.full_rary_tree(branching, n)``: node ``i > 0`` is a child of
    ``(i - 1) // branching``, so nodes are numbered breadth-first; arcs parent -> child
    only when ``directed``.

    Raises:
        ValueError: ``branching < 1``.
    """
    _check_nodes(n)
    if branching < 1:
        raise ValueError(f"branching = {branching}: must be at least 1")
    children = np.arange(1, max(n, 1), dtype=np.int64)
    parents = (children - 1) // branching
    return _from_arcs(
        n,
        parents.astype(np.int32),
        children.astype(np.int32),
        symmetric=not directed,
        simplify=False,
    )


# ------------------------------------------------------------- random topologies


def _bernoulli_positions(rng: np.random.Generator, total: int, p: float) -> np.ndarray:
    """Sorted positions in ``0..total-1``, each present independently with probability
    ``p``, in O(total * p) time: the gaps between successive positions are geometric
    (Batagelj & Brandes 2005)."""
    if total <= 0 or p <= 0:
        return np.empty(0, np.int64)
    if p >= 1:
        return np.arange(total, dtype=np.int64)
    parts = []
    last = -1
    while True:
        expected = (total - 1 - last) * p
        gaps = rng.geometric(p, int(expected + 6 * math.sqrt(expected) + 16))
        # A gap past the end stops the walk; clipping such gaps keeps the sums small.
        np.minimum(gaps, total + 1, out=gaps)
        steps = np.cumsum(gaps)
        steps += last
        beyond = steps >= total
        if beyond.any():
            parts.append(steps[: int(np.argmax(beyond))])
            return np.concatenate(parts)
        parts.append(steps)
        last = int(steps[-1])


def erdos_renyi(n: int, p: float, rng: np.random.Generator, *, directed: bool = False) -> Adjacency:
    """G(n, p): every unordered pair (every ordered pair when ``directed``) joined
    independently with probability ``p``.

    Exact, in O(n + arcs) time: positions of the joined pairs in a fixed enumeration of
    all pairs are drawn with geometric gaps.

    Raises:
        ValueError: ``p`` outside ``[0, 1]``.
    """
    _check_nodes(n)
    if not 0 <= p <= 1:
        raise ValueError(f"p = {p}: must be a probability in [0, 1]")
    if directed:
        t = _bernoulli_positions(rng, n * (n - 1), p)
        u, j = np.divmod(t, max(n - 1, 1))
        v = j + (j >= u)
        return _from_arcs(
            n, u.astype(np.int32), v.astype(np.int32), symmetric=False, simplify=False
        )
    t = _bernoulli_positions(rng, n * (n - 1) // 2, p)
    u, v = _triangle_pairs(t)
    # Pairs come ordered by (v, u), so giving v -> u first leaves every row already sorted.
    return _from_arcs(n, v, u, symmetric=True, simplify=False)


def stochastic_block_model(
    sizes: Sequence[int], p_in: float, p_out: float, rng: np.random.Generator
) -> Adjacency:
    """Undirected stochastic block model: nodes numbered block by block, each pair joined
    independently with probability ``p_in`` within a block and ``p_out`` across blocks.

    Exact: within-block pairs of all blocks form one enumeration and are drawn like
    :func:`erdos_renyi`; across-block pairs are the pairs of G(n, ``p_out``) that join
    different blocks. Node attribute ``block`` (``int64``) is each node's block index.

    Raises:
        ValueError: A block is empty or a probability is outside ``[0, 1]``.
    """
    block_sizes = np.asarray(sizes, dtype=np.int64).reshape(-1)
    if block_sizes.size == 0 or block_sizes.min() < 1:
        raise ValueError(f"sizes = {list(sizes)}: every block needs at least 1 node")
    for name, value in (("p_in", p_in), ("p_out", p_out)):
        if not 0 <= value <= 1:
            raise ValueError(f"{name} = {value}: must be a probability in [0, 1]")
    n = int(block_sizes.sum())
    _check_nodes(n)
    starts = np.cumsum(block_sizes) - block_sizes
    block = np.repeat(np.arange(block_sizes.size, dtype=np.int64), block_sizes)
    pairs = block_sizes * (block_sizes - 1) // 2
    offsets = np.concatenate([[0], np.cumsum(pairs)])
    t = _bernoulli_positions(rng, int(offsets[-1]), p_in)
    which = np.searchsorted(offsets, t, side="right") - 1
    u, v = _triangle_pairs(t - offsets[which])
    shift = starts[which].astype(np.int32)
    u += shift
    v += shift
    if block_sizes.size > 1:
        u_all, v_all = _triangle_pairs(_bernoulli_positions(rng, n * (n - 1) // 2, p_out))
        across = block[u_all] != block[v_all]
        u = np.concatenate([u, u_all[across]])
        v = np.concatenate([v, v_all[across]])
    return _from_arcs(n, v, u, symmetric=True, simplify=False, attrs={"block": block})


def _complement(graph: Adjacency) -> Adjacency:
    n = graph.n
    missing = np.ones((n, n), dtype=np.bool_)
    np.fill_diagonal(missing, False)
    missing[graph.sources(), graph.indices] = False
    indptr = np.concatenate([[0], np.cumsum(missing.sum(axis=1))]).astype(np.int64)
    return Adjacency(indptr, np.nonzero(missing)[1].astype(np.int32))


def random_regular(n: int, degree: int, rng: np.random.Generator) -> Adjacency:
    """A random simple undirected graph in which every node has ``degree`` neighbours.

    For ``degree <= (n - 1) / 2`` this is networkx's ``random_regular_graph`` algorithm
    (Steger & Wormald 1999): pair the ``n * degree`` stubs at random, keep pairs that are
    neither loops nor repeats, re-pair the rejected stubs the same way, and start over
    when no acceptable pair is left. That is approximately uniform over ``degree``-regular
    graphs, asymptotically uniform for ``degree = O(n^(1/3 - eps))`` (Kim & Vu 2003). For
    larger degrees it is the complement of such a graph of degree ``n - 1 - degree``
    (complementing preserves uniformity; the stub pairing would rarely finish).

    Raises:
        ValueError: ``degree`` negative, not less than ``n``, or ``n * degree`` odd.
    """
    _check_nodes(n)
    if not 0 <= degree < max(n, 1) or n * degree % 2:
        raise ValueError(f"degree = {degree}: need 0 <= degree < n = {n} and n * degree even")
    if 2 * degree > n - 1:
        return _complement(random_regular(n, n - 1 - degree, rng))
    if degree == 0:
        return empty(n)
    if n * degree > _MAX_DRAW:
        raise ValueError(f"n * degree = {n * degree}: at most {_MAX_DRAW} stubs are supported")
    rows = _regular_kernel(n, degree, rng)
    rows.sort(axis=1)
    return _from_rows(rows, n)


def watts_strogatz(n: int, k: int, p: float, rng: np.random.Generator) -> Adjacency:
    """Small world by networkx's ``watts_strogatz_graph`` process (undirected).

    Start from :func:`ring_lattice`; visit the lattice edges ``u - (u + j)`` for ``j = 1 ..
    k/2`` and, within each ``j``, ``u = 0 .. n-1``; with probability ``p`` replace the far
    end by a uniform node, redrawn while it is ``u`` or already joined to ``u`` (the edge
    stays put when ``u`` is joined to everyone). The edge count ``n * k / 2`` is preserved.

    Raises:
        ValueError: ``k`` odd, negative or not less than ``n``, or ``p`` outside [0, 1].
    """
    _check_ring(n, k)
    if not 0 <= p <= 1:
        raise ValueError(f"p = {p}: must be a probability in [0, 1]")
    half = k // 2
    lattice, degree, head, link, other = _ws_rewire(n, half, float(p), rng)
    indptr, indices = _ws_rows(n, half, lattice, degree, head, link, other)
    return Adjacency(indptr, indices)


def barabasi_albert(n: int, m: int, rng: np.random.Generator) -> Adjacency:
    """Preferential attachment by networkx's ``barabasi_albert_graph`` process
    (undirected, ``m * (n - m)`` edges).

    Start from the star with hub 0 and leaves ``1..m``; each later node ``s = m+1 ..
    n-1`` joins ``m`` distinct earlier nodes, each drawn with probability proportional to
    its current degree (repeats redrawn).

    Raises:
        ValueError: ``m < 1`` or ``m >= n``.
    """
    _check_nodes(n)
    if not 1 <= m < n:
        raise ValueError(f"m = {m}: need 1 <= m < n = {n}")
    if 2 * m * (n - m) > _MAX_DRAW:
        raise ValueError(f"2 * m * (n - m) = {2 * m * (n - m)}: at most {_MAX_DRAW} supported")
    sources, targets = _ba_kernel(n, m, rng)
    return _from_arcs(n, sources, targets, symmetric=True, simplify=False)
