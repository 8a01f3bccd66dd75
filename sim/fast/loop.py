"""The fast engine's compiled event loop.

One numba-compiled loop replays what the SimPy engine does, event for event: the same
protocol steps, the same channel draws in the same order, the same agent rules (the
kernels of :mod:`sim.rules`), the same recorder updates and stopping rules. Events are
ordered by ``(time, sequence number)`` exactly as SimPy orders them by ``(time, event
id)``, so a run of the fast engine is the run of the SimPy engine with the same seed.

What makes it fast, besides compilation, is the event queue. A broadcast's messages are
kept together as one *segment*, sorted by delivery time; the heap holds one entry per
segment (its next message), not one per message, and consecutive deliveries from one
segment skip the heap entirely while they stay ahead of everything else. At a million
agents the heap is ten times smaller than a per-message heap and most deliveries touch
contiguous memory.

The helpers of the hot path are inlined into the loop (``inline="always"``): a call
that passes the state's tuples of arrays costs a reference-count update per array,
which made each delivery several times slower than its actual work.

All storage is preallocated by the caller (:mod:`sim.fast.engine`). Before each event
the loop checks that the buffers can absorb the worst case of that event; if not, it
returns :data:`NEED_SPACE` without touching anything and the caller grows the buffers
and calls again. It also returns every ``chunk`` events so the caller can report
progress.

Main entry point: :func:`run_loop`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from sim import rules

# Agent kinds, in the order of sim.fast.engine.KIND_CODES.
BAYESIAN, SOCIAL, DEGROOT, THRESHOLD, VOTER, STUBBORN = 0, 1, 2, 3, 4, 5
# Protocols.
SEQUENTIAL, ASYNCHRONOUS, ROUNDS = 0, 1, 2
# Latency distributions.
CONSTANT, UNIFORM, EXPONENTIAL, LOGNORMAL, BETA = 0, 1, 2, 3, 4
# Protocol events in the heap (segments have references >= 0).
INIT, TURN, DRAINED, WAKE, ROUND_END, END = -1, -2, -3, -4, -5, -6
# Stop reasons, in the order of STOP_REASONS.
RUNNING, COMPLETED, MAX_TIME, CONSENSUS, MAX_EVENTS, STALLED = 0, 1, 2, 3, 4, 5
STOP_REASONS = (None, "completed", "max_time", "consensus", "max_events", "stalled")
# What run_loop returns.
DONE, NEED_SPACE, CHUNK = 0, 1, 2
# Sequential protocol: where its process is suspended.
AT_TURN, AFTER_TIMEOUT, AFTER_DRAINED = 0, 1, 2

# Slots of the integer counters.
(
    C_SEQ,
    C_SEGS,
    C_MSGS,
    C_ANNS,
    C_WAITING,
    C_HEAP,
    C_SENT,
    C_DELIVERED,
    C_DROPPED,
    C_EVENTS,
    C_BEFORE_INSTANT,
    C_STOP,
    C_TURN,
    C_PHASE,
    C_WAIT_AGENT,
    C_ROUND,
    C_ACTED,
    C_ANNOUNCEMENTS,
    C_HERDING,
    C_FIRST_OPTION,
    C_CONSENSUS,
    C_ROWS,
    C_ONSET,
    C_OBSERVED,
    C_POOL,
    C_NEED,
) = range(26)
N_COUNTERS = 26
# Slots of the float state.
F_NOW, F_INSTANT, F_CONSENSUS_SINCE, F_NEXT_SAMPLE = range(4)
N_FLOATS = 4


class Config(NamedTuple):
    """Scalars of the run (fixed for its duration)."""

    n: int
    options: int
    truth: int
    protocol: int
    interval: float  # sequential: time between turns
    wake_mean_gap: float  # asynchronous: mean gap of the merged Poisson clock (0: none)
    wake_on_message: bool
    rounds: int
    round_duration: float
    max_time: float  # inf when unset
    max_events: int  # -1 when unset
    consensus_stop: bool
    stall_limit: int
    record_interval: float
    observer: bool
    observer_accuracy: float
    observer_tie: int


class Network(NamedTuple):
    """The graph, both ways. Out-arcs: ``indices[indptr[u]:indptr[u+1]]`` are the
    receivers of ``u``. In-arcs: ``senders[in_ptr[v]:in_ptr[v+1]]`` are those ``v``
    hears, in increasing order; ``in_of_out[e]`` is the in-arc of out-arc ``e``."""

    indptr: np.ndarray
    indices: np.ndarray
    in_ptr: np.ndarray
    senders: np.ndarray
    in_of_out: np.ndarray
    trust: np.ndarray  # per in-arc


class Agents(NamedTuple):
    """Every agent's parameters and state (rows are agents)."""

    kind: np.ndarray
    group: np.ndarray
    signal: np.ndarray
    own: np.ndarray  # (n, K) log-likelihood of the own signal
    log_prior: np.ndarray  # (n_groups, K)
    weight: np.ndarray
    threshold: np.ndarray
    self_weight: np.ndarray
    tolerance: np.ndarray
    held: np.ndarray
    tie: np.ndarray
    assumed: np.ndarray  # accuracy a Bayesian attributes to others
    choice: np.ndarray
    belief: np.ndarray  # (n, K)
    counts: np.ndarray  # (n, K) latest announcements heard, by option
    public: np.ndarray  # (n, K) Bayesian public log belief
    dirty: np.ndarray  # Bayesian: a new first announcement arrived
    announced: np.ndarray  # (n, K) DeGroot: belief last announced
    has_announced: np.ndarray  # DeGroot: announced at least once
    spoke: np.ndarray  # announced at least once (for the cascade observer)
    pending: np.ndarray  # messages in transit to each agent


class Inbox(NamedTuple):
    """What each receiver knows of each sender, per in-arc."""

    heard_time: np.ndarray  # sent time of the latest announcement heard (-1: none)
    heard_option: np.ndarray
    heard_ann: np.ndarray
    first_time: np.ndarray  # Bayesian: sent time of the first announcement heard
    first_option: np.ndarray


class Channels(NamedTuple):
    """Channel settings per sender group and per out-arc state."""

    latency_kind: np.ndarray
    latency_a: np.ndarray
    latency_b: np.ndarray
    drop: np.ndarray
    capacity: np.ndarray  # 0: unlimited
    queue: np.ndarray  # overflow = "queue"
    in_transit: np.ndarray  # per out-arc (only with capacities)
    queue_head: np.ndarray
    queue_tail: np.ndarray


class Buffers(NamedTuple):
    """Growable storage; the caller reallocates it when the loop asks."""

    heap_time: np.ndarray
    heap_seq: np.ndarray
    heap_ref: np.ndarray
    seg_ann: np.ndarray
    seg_pos: np.ndarray
    seg_end: np.ndarray
    seg_base: np.ndarray
    msg_off: np.ndarray  # position of the receiver in the sender's row
    msg_recv: np.ndarray  # the receiver, and its in-arc: kept with the message so a
    msg_in: np.ndarray  # delivery needs no lookups in the graph (each one a cache miss)
    msg_time: np.ndarray
    ann_sender: np.ndarray
    ann_option: np.ndarray
    ann_time: np.ndarray
    ann_slot: np.ndarray
    pool: np.ndarray  # (slots, K) beliefs carried by announcements
    wait_next: np.ndarray
    wait_ann: np.ndarray
    wait_off: np.ndarray
    wait_latency: np.ndarray
    rows: np.ndarray  # (rows, K + 4) time series
    scratch: np.ndarray  # latencies of one broadcast
    scratch_drop: np.ndarray


# ------------------------------------------------------------------------------ heap


@njit(cache=True, inline="always")
def _before(t1: float, s1: int, t2: float, s2: int) -> bool:
    return t1 < t2 or (t1 == t2 and s1 < s2)


@njit(cache=True, inline="always")
def _sift_down(b: Buffers, size: int, pos: int) -> None:
    time, seq, ref = b.heap_time[pos], b.heap_seq[pos], b.heap_ref[pos]
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        right = child + 1
        if right < size and _before(
            b.heap_time[right], b.heap_seq[right], b.heap_time[child], b.heap_seq[child]
        ):
            child = right
        if not _before(b.heap_time[child], b.heap_seq[child], time, seq):
            break
        b.heap_time[pos], b.heap_seq[pos], b.heap_ref[pos] = (
            b.heap_time[child],
            b.heap_seq[child],
            b.heap_ref[child],
        )
        pos = child
    b.heap_time[pos], b.heap_seq[pos], b.heap_ref[pos] = time, seq, ref


@njit(cache=True, inline="always")
def _push(b: Buffers, c: np.ndarray, time: float, seq: int, ref: int) -> None:
    pos = c[C_HEAP]
    c[C_HEAP] += 1
    while pos > 0:
        parent = (pos - 1) // 2
        if not _before(time, seq, b.heap_time[parent], b.heap_seq[parent]):
            break
        b.heap_time[pos], b.heap_seq[pos], b.heap_ref[pos] = (
            b.heap_time[parent],
            b.heap_seq[parent],
            b.heap_ref[parent],
        )
        pos = parent
    b.heap_time[pos], b.heap_seq[pos], b.heap_ref[pos] = time, seq, ref


@njit(cache=True, inline="always")
def _pop(b: Buffers, c: np.ndarray) -> None:
    c[C_HEAP] -= 1
    size = c[C_HEAP]
    if size > 0:
        b.heap_time[0], b.heap_seq[0], b.heap_ref[0] = (
            b.heap_time[size],
            b.heap_seq[size],
            b.heap_ref[size],
        )
        _sift_down(b, size, 0)


@njit(cache=True, inline="always")
def _schedule(b: Buffers, c: np.ndarray, time: float, ref: int) -> None:
    """Schedule a protocol event (a SimPy timeout or triggered event)."""
    seq = c[C_SEQ]
    c[C_SEQ] += 1
    _push(b, c, time, seq, ref)


# -------------------------------------------------------------------------- recorder


@njit(cache=True, inline="always")
def _write_row(cfg: Config, a: Agents, b: Buffers, c: np.ndarray, time: float, rc: np.ndarray):
    row = b.rows[c[C_ROWS]]
    row[0] = time
    row[1] = float(c[C_ACTED])
    for k in range(cfg.options):
        row[2 + k] = rc[k] / cfg.n
    row[2 + cfg.options] = rc[cfg.truth] / cfg.n
    row[3 + cfg.options] = rules.entropy_bits(rc)
    c[C_ROWS] += 1


@njit(cache=True, inline="always")
def _sample_until(cfg: Config, a: Agents, b: Buffers, c: np.ndarray, f: np.ndarray, rc, now):
    while f[F_NEXT_SAMPLE] < now:
        _write_row(cfg, a, b, c, f[F_NEXT_SAMPLE], rc)
        f[F_NEXT_SAMPLE] += cfg.record_interval


@njit(cache=True)
def finish_rows(cfg: Config, a: Agents, b: Buffers, c: np.ndarray, f: np.ndarray, rc) -> None:
    """Rows up to the final time and a last row at it (``Recorder.finish``)."""
    now = f[F_NOW]
    _sample_until(cfg, a, b, c, f, rc, np.nextafter(now, np.inf))
    if c[C_ROWS] == 0 or b.rows[c[C_ROWS] - 1, 0] != now:
        _write_row(cfg, a, b, c, now, rc)


@njit(cache=True, inline="always")
def _position(cfg: Config, a: Agents, b, c, f, rc, old: int, new: int) -> None:
    """An agent's choice changed (``Recorder.position``)."""
    _sample_until(cfg, a, b, c, f, rc, f[F_NOW])
    if old < 0:
        c[C_ACTED] += 1
    else:
        rc[old] -= 1
    rc[new] += 1
    if rc[new] == cfg.n:
        c[C_CONSENSUS] = 1
        f[F_CONSENSUS_SINCE] = f[F_NOW]
    elif c[C_CONSENSUS] == 1 and rc.max() < cfg.n:
        c[C_CONSENSUS] = 0


# ----------------------------------------------------------------------------- rules


@njit(cache=True)
def _public_belief(cfg: Config, net: Network, a: Agents, box: Inbox, v: int) -> np.ndarray:
    """Bayesian public log belief from the first announcements ``v`` heard, grouped by
    sending time (``PublicBeliefs.node_after(announcement_groups(...))``)."""
    lo, hi = net.in_ptr[v], net.in_ptr[v + 1]
    count = 0
    for p in range(lo, hi):
        if box.first_time[p] >= 0.0:
            count += 1
    times = np.empty(count)
    opts = np.empty(count, dtype=np.int64)
    j = 0
    for p in range(lo, hi):
        if box.first_time[p] >= 0.0:
            times[j] = box.first_time[p]
            opts[j] = box.first_option[p]
            j += 1
    # Sort by (time, option): groups in time order, options sorted within a group.
    order = np.argsort(opts, kind="mergesort")
    order = order[np.argsort(times[order], kind="mergesort")]
    belief = rules.log_normalize(a.log_prior[a.group[v]])
    start = 0
    while start < count:
        end = start + 1
        while end < count and times[order[end]] == times[order[start]]:
            end += 1
        group = np.empty(end - start, dtype=np.int64)
        for q in range(start, end):
            group[q - start] = opts[order[q]]
        belief = rules.update_public_belief(belief, group, a.assumed[v], a.tie[v])
        start = end
    return belief


@njit(cache=True)
def _decide(cfg: Config, net: Network, a: Agents, box: Inbox, b: Buffers, v: int, rng) -> bool:
    """Apply agent ``v``'s rule (each branch is that kind's ``decide``)."""
    kind = a.kind[v]
    previous = a.choice[v]
    if kind == SOCIAL:
        post = rules.log_normalize(
            rules.social_log_posterior(a.log_prior[a.group[v]], a.own[v], a.counts[v], a.weight[v])
        )
        a.belief[v] = np.exp(post)
        a.choice[v] = rules.choose(post, previous, a.signal[v], rng)
        return a.choice[v] != previous
    if kind == BAYESIAN:
        if a.dirty[v]:
            a.public[v] = _public_belief(cfg, net, a, box, v)
            a.dirty[v] = False
        post = rules.log_normalize(a.public[v] + a.own[v])
        a.belief[v] = np.exp(post)
        second = a.signal[v] if a.tie[v] == 1 else -1
        a.choice[v] = rules.choose(post, previous, second, rng)
        return a.choice[v] != previous
    if kind == DEGROOT:
        lo, hi = net.in_ptr[v], net.in_ptr[v + 1]
        m = 0
        for p in range(lo, hi):
            if box.heard_ann[p] >= 0 and b.ann_slot[box.heard_ann[p]] >= 0:
                m += 1
        if m > 0:
            stacked = np.empty((m, cfg.options))
            trust = np.empty(m)
            j = 0
            for p in range(lo, hi):
                ann = box.heard_ann[p]
                if ann >= 0 and b.ann_slot[ann] >= 0:
                    stacked[j] = b.pool[b.ann_slot[ann]]
                    trust[j] = net.trust[p]
                    j += 1
            a.belief[v] = rules.degroot_average(
                a.belief[v].copy(), stacked, trust, a.self_weight[v]
            )
        a.choice[v] = rules.choose(a.belief[v], previous, a.signal[v], rng)
        changed = a.choice[v] != previous
        moved = (not a.has_announced[v]) or rules.l1_distance(
            a.belief[v], a.announced[v]
        ) > a.tolerance[v]
        if changed or moved:
            a.announced[v] = a.belief[v]
            a.has_announced[v] = True
            return True
        return False
    if kind == THRESHOLD:
        candidates = rules.threshold_candidates(a.counts[v], a.threshold[v])
        if len(candidates) > 0:
            scores = np.full(cfg.options, -np.inf)
            for k in candidates:
                scores[k] = 0.0
            a.choice[v] = rules.choose(scores, previous, -1, rng)
        elif previous < 0:
            scores = a.log_prior[a.group[v]] + a.own[v]
            a.choice[v] = rules.choose(scores, a.signal[v], -1, rng)
        else:
            return False
        a.belief[v] = 0.0
        a.belief[v, a.choice[v]] = 1.0
        return a.choice[v] != previous
    if kind == VOTER:
        lo, hi = net.in_ptr[v], net.in_ptr[v + 1]
        m = 0
        for p in range(lo, hi):
            if box.heard_time[p] >= 0.0:
                m += 1
        if m > 0:
            pick = rng.integers(0, m)
            for p in range(lo, hi):
                if box.heard_time[p] >= 0.0:
                    if pick == 0:
                        a.choice[v] = box.heard_option[p]
                        break
                    pick -= 1
        elif previous < 0:
            scores = a.log_prior[a.group[v]] + a.own[v]
            a.choice[v] = rules.choose(scores, a.signal[v], -1, rng)
        a.belief[v] = 0.0
        a.belief[v, a.choice[v]] = 1.0
        return a.choice[v] != previous
    # STUBBORN
    if previous >= 0:
        return False
    a.choice[v] = a.held[v]
    a.belief[v] = 0.0
    a.belief[v, a.held[v]] = 1.0
    return True


# ------------------------------------------------------------------ channels, acting


@njit(cache=True, inline="always")
def _start(b: Buffers, c, ann: int, off: int, recv: int, inarc: int, time: float) -> None:
    """Put one message on its way as a segment of its own (a queued message's slot
    freed, or a capacity-limited channel)."""
    seq = c[C_SEQ]
    c[C_SEQ] += 1
    s = c[C_SEGS]
    c[C_SEGS] += 1
    i = c[C_MSGS]
    c[C_MSGS] += 1
    b.msg_off[i] = off
    b.msg_recv[i] = recv
    b.msg_in[i] = inarc
    b.msg_time[i] = time
    b.seg_ann[s] = ann
    b.seg_pos[s] = i
    b.seg_end[s] = i + 1
    b.seg_base[s] = seq - off
    _push(b, c, time, seq, s)


@njit(cache=True, inline="always")
def _broadcast(cfg, net: Network, a: Agents, ch: Channels, b: Buffers, c, f, u: int, ann, rng):
    """Send announcement ``ann`` of ``u`` to all its receivers (``Channels.broadcast``)."""
    lo, hi = net.indptr[u], net.indptr[u + 1]
    count = hi - lo
    if count == 0:
        return
    g = a.group[u]
    kind, pa, pb = ch.latency_kind[g], ch.latency_a[g], ch.latency_b[g]
    # All latencies first, then all losses: the order numpy's vectorised draws take.
    for j in range(count):
        if kind == CONSTANT:
            b.scratch[j] = pa
        elif kind == UNIFORM:
            b.scratch[j] = rng.uniform(pa, pb)
        elif kind == EXPONENTIAL:
            b.scratch[j] = rng.exponential(pa)
        elif kind == LOGNORMAL:
            b.scratch[j] = rng.lognormal(pa, pb)
        else:
            b.scratch[j] = rng.beta(pa, pb)
    drop = ch.drop[g]
    if drop > 0.0:
        for j in range(count):
            b.scratch_drop[j] = rng.random()
    now = f[F_NOW]
    capacity = ch.capacity[g]
    base = c[C_SEQ]
    if capacity == 0:
        c[C_SEQ] += count  # message j of the broadcast has sequence number base + j
        s = c[C_SEGS]
        first = c[C_MSGS]
        i = first
        for j in range(count):
            c[C_SENT] += 1
            if drop > 0.0 and b.scratch_drop[j] < drop:
                c[C_DROPPED] += 1
                continue
            a.pending[net.indices[lo + j]] += 1
            t = now + b.scratch[j]
            # Insertion sort by (time, j): segments are short (one node's receivers).
            q = i
            while q > first and b.msg_time[q - 1] > t:
                b.msg_time[q] = b.msg_time[q - 1]
                b.msg_off[q] = b.msg_off[q - 1]
                b.msg_recv[q] = b.msg_recv[q - 1]
                b.msg_in[q] = b.msg_in[q - 1]
                q -= 1
            b.msg_time[q] = t
            b.msg_off[q] = j
            b.msg_recv[q] = net.indices[lo + j]
            b.msg_in[q] = net.in_of_out[lo + j]
            i += 1
        if i > first:
            c[C_SEGS] += 1
            c[C_MSGS] = i
            b.seg_ann[s] = ann
            b.seg_pos[s] = first
            b.seg_end[s] = i
            b.seg_base[s] = base
            _push(b, c, b.msg_time[first], base + b.msg_off[first], s)
        return
    for j in range(count):
        c[C_SENT] += 1
        if drop > 0.0 and b.scratch_drop[j] < drop:
            c[C_DROPPED] += 1
            continue
        e = lo + j
        receiver = net.indices[e]
        if ch.in_transit[e] >= capacity:
            if not ch.queue[g]:
                c[C_DROPPED] += 1
                continue
            a.pending[receiver] += 1
            w = c[C_WAITING]
            c[C_WAITING] += 1
            b.wait_next[w] = -1
            b.wait_ann[w] = ann
            b.wait_off[w] = j
            b.wait_latency[w] = b.scratch[j]
            if ch.queue_tail[e] >= 0:
                b.wait_next[ch.queue_tail[e]] = w
            else:
                ch.queue_head[e] = w
            ch.queue_tail[e] = w
            continue
        ch.in_transit[e] += 1
        a.pending[receiver] += 1
        _start(b, c, ann, j, receiver, net.in_of_out[e], now + b.scratch[j])


@njit(cache=True, inline="always")
def _announce(cfg, net, a: Agents, ch, b: Buffers, c, f, rc, v: int, rng) -> None:
    """Broadcast ``v``'s choice (``Society.announce`` and ``Recorder.announcement``)."""
    option = a.choice[v]
    c[C_ANNOUNCEMENTS] += 1
    if option != a.signal[v]:
        c[C_HERDING] += 1
    if c[C_FIRST_OPTION] < 0:
        c[C_FIRST_OPTION] = option
    if not a.spoke[v]:
        a.spoke[v] = True
        if cfg.observer:
            _observe(cfg, a, c, option)
    ann = c[C_ANNS]
    c[C_ANNS] += 1
    b.ann_sender[ann] = v
    b.ann_option[ann] = option
    b.ann_time[ann] = f[F_NOW]
    if a.kind[v] == DEGROOT:
        slot = c[C_POOL]
        c[C_POOL] += 1
        b.pool[slot] = a.belief[v]
        b.ann_slot[ann] = slot
    else:
        b.ann_slot[ann] = -1
    _broadcast(cfg, net, a, ch, b, c, f, v, ann, rng)


@njit(cache=True, inline="always")
def _observe(cfg: Config, a: Agents, c: np.ndarray, option: int) -> None:
    """The cascade observer takes in a first announcement (``CascadeObserver.observe``).
    Its public belief lives in row ``n`` of ``a.public``."""
    belief = a.public[cfg.n]
    if (
        c[C_ONSET] < 0
        and rules.cascade_action(belief, cfg.observer_accuracy, cfg.observer_tie) >= 0
    ):
        c[C_ONSET] = c[C_OBSERVED]
    single = np.empty(1, dtype=np.int64)
    single[0] = option
    a.public[cfg.n] = rules.update_public_belief(
        belief, single, cfg.observer_accuracy, cfg.observer_tie
    )
    c[C_OBSERVED] += 1


@njit(cache=True, inline="always")
def _act(cfg, net, a: Agents, box, ch, b, c, f, rc, v: int, announce: bool, rng, arng) -> None:
    """``Society.act``: apply the rule, record a changed choice, announce if wanted."""
    old = a.choice[v]
    wants = _decide(cfg, net, a, box, b, v, arng)
    if a.choice[v] != old:
        _position(cfg, a, b, c, f, rc, old, a.choice[v])
    if announce and wants:
        _announce(cfg, net, a, ch, b, c, f, rc, v, rng)


@njit(cache=True, inline="always")
def _receive(net: Network, a: Agents, box: Inbox, b: Buffers, v: int, p: int, ann: int) -> bool:
    """``SocietyAgent.receive`` (and the Bayesian first-announcement bookkeeping)."""
    t = b.ann_time[ann]
    option = b.ann_option[ann]
    bayesian = len(box.first_time) > 0 and a.kind[v] == BAYESIAN
    if bayesian and (box.first_time[p] < 0.0 or t < box.first_time[p]):
        box.first_time[p] = t
        box.first_option[p] = option
        a.dirty[v] = True
    if box.heard_time[p] >= 0.0:
        if t < box.heard_time[p]:
            return False
        a.counts[v, box.heard_option[p]] -= 1
    box.heard_time[p] = t
    box.heard_option[p] = option
    if len(box.heard_ann) > 0:  # kept only when DeGroot agents need the beliefs
        box.heard_ann[p] = ann
    a.counts[v, option] += 1
    return True


# ---------------------------------------------------------------------------- events


@njit(cache=True)
def _sequential(cfg, net, a, box, ch, b, c, f, rc, order, rng, arng) -> None:
    """Resume the sequential protocol's process where it is suspended."""
    while c[C_TURN] < cfg.n:
        if c[C_PHASE] == AT_TURN:
            c[C_PHASE] = AFTER_TIMEOUT
            if c[C_TURN] > 0 and cfg.interval > 0:
                _schedule(b, c, f[F_NOW] + cfg.interval, TURN)
                return
        if c[C_PHASE] == AFTER_TIMEOUT:
            c[C_PHASE] = AFTER_DRAINED
            v = order[c[C_TURN]]
            if a.pending[v] > 0:
                c[C_WAIT_AGENT] = v
                return
        _act(cfg, net, a, box, ch, b, c, f, rc, order[c[C_TURN]], True, rng, arng)
        c[C_TURN] += 1
        c[C_PHASE] = AT_TURN
    _schedule(b, c, f[F_NOW], END)


@njit(cache=True)
def _protocol_event(cfg, net, a, box, ch, b, c, f, rc, ref, order, rng, prng, arng) -> None:
    now = f[F_NOW]
    if cfg.protocol == SEQUENTIAL:
        if ref != END:
            _sequential(cfg, net, a, box, ch, b, c, f, rc, order, rng, arng)
        return
    if cfg.protocol == ASYNCHRONOUS:
        if ref == INIT:
            for v in range(cfg.n):
                _act(cfg, net, a, box, ch, b, c, f, rc, v, True, rng, arng)
        elif ref == WAKE:
            v = prng.integers(0, cfg.n)
            _act(cfg, net, a, box, ch, b, c, f, rc, v, True, rng, arng)
        else:
            return
        if cfg.wake_mean_gap > 0.0:
            _schedule(b, c, now + prng.exponential(cfg.wake_mean_gap), WAKE)
        else:
            _schedule(b, c, now, END)
        return
    # ROUNDS
    if ref == END:
        return
    for v in range(cfg.n):
        _act(cfg, net, a, box, ch, b, c, f, rc, v, False, rng, arng)
    if ref == ROUND_END:
        c[C_ROUND] += 1
    if c[C_ROUND] < cfg.rounds:
        for v in range(cfg.n):
            _announce(cfg, net, a, ch, b, c, f, rc, v, rng)
        _schedule(b, c, now + cfg.round_duration, ROUND_END)
    else:
        _schedule(b, c, now, END)


@njit(cache=True, inline="always")
def _delivery(cfg, net, a, box, ch, b, c, f, rc, s: int, rng, arng) -> None:
    """Deliver the next message of segment ``s`` (at the top of the heap)."""
    i = b.seg_pos[s]
    ann = b.seg_ann[s]
    off = b.msg_off[i]
    # The segment's next message takes its place in the heap before anything else.
    b.seg_pos[s] = i + 1
    if i + 1 < b.seg_end[s]:
        b.heap_time[0] = b.msg_time[i + 1]
        b.heap_seq[0] = b.seg_base[s] + b.msg_off[i + 1]
        _sift_down(b, c[C_HEAP], 0)
    else:
        _pop(b, c)
    v = b.msg_recv[i]
    p = b.msg_in[i]
    c[C_DELIVERED] += 1
    if len(ch.in_transit) > 0:  # some channels have a capacity
        u = b.ann_sender[ann]
        if ch.capacity[a.group[u]] > 0:
            e = net.indptr[u] + off
            w = ch.queue_head[e]
            if w >= 0:
                # The freed slot goes straight to the oldest waiting message.
                ch.queue_head[e] = b.wait_next[w]
                if b.wait_next[w] < 0:
                    ch.queue_tail[e] = -1
                _start(b, c, b.wait_ann[w], b.wait_off[w], v, p, f[F_NOW] + b.wait_latency[w])
            else:
                ch.in_transit[e] -= 1
    if _receive(net, a, box, b, v, p, ann) and cfg.wake_on_message:
        _act(cfg, net, a, box, ch, b, c, f, rc, v, True, rng, arng)
    a.pending[v] -= 1
    if a.pending[v] == 0 and c[C_WAIT_AGENT] == v:
        c[C_WAIT_AGENT] = -1
        _schedule(b, c, f[F_NOW], DRAINED)


@njit(cache=True, inline="always")
def _stop_due(cfg: Config, c: np.ndarray, f: np.ndarray) -> bool:
    """``Society._stop_due`` after an event."""
    if f[F_NOW] != f[F_INSTANT]:
        f[F_INSTANT] = f[F_NOW]
        c[C_BEFORE_INSTANT] = c[C_EVENTS] - 1
    if cfg.consensus_stop and c[C_CONSENSUS] == 1:
        c[C_STOP] = CONSENSUS
    elif cfg.max_events >= 0 and c[C_EVENTS] >= cfg.max_events:
        c[C_STOP] = MAX_EVENTS
    elif c[C_EVENTS] - c[C_BEFORE_INSTANT] > cfg.stall_limit:
        c[C_STOP] = STALLED
    return c[C_STOP] != RUNNING


@njit(cache=True, inline="always")
def _room(cfg: Config, b: Buffers, c: np.ndarray, f: np.ndarray, bulk: bool, fan: int, time):
    """Whether every buffer can take the worst case of the next event; if not, record
    in ``c[C_NEED]`` which one is short (a bit per buffer) and return False."""
    messages = fan if bulk else fan + 1
    agents = cfg.n if bulk else 1
    need = 0
    if c[C_HEAP] + messages + 2 > len(b.heap_time):
        need |= 1
    if c[C_SEGS] + messages + 1 > len(b.seg_ann):
        need |= 2
    if c[C_MSGS] + messages + 1 > len(b.msg_off):
        need |= 4
    if c[C_ANNS] + agents > len(b.ann_sender):
        need |= 8
    # The belief pool and the waiting list exist only if DeGroot agents or queues do.
    if len(b.pool) > 0 and c[C_POOL] + agents > len(b.pool):
        need |= 16
    if len(b.wait_next) > 0 and c[C_WAITING] + messages > len(b.wait_next):
        need |= 32
    rows = 2
    if time >= f[F_NEXT_SAMPLE]:
        rows += int((time - f[F_NEXT_SAMPLE]) / cfg.record_interval) + 2
    if c[C_ROWS] + rows > len(b.rows):
        need |= 64
    c[C_NEED] = need
    return need == 0


@njit(cache=True)
def run_loop(
    cfg: Config,
    net: Network,
    a: Agents,
    box: Inbox,
    ch: Channels,
    b: Buffers,
    c: np.ndarray,
    f: np.ndarray,
    rc: np.ndarray,
    order: np.ndarray,
    fan_total: int,
    fan_max: int,
    chunk: int,
    rng: np.random.Generator,
    prng: np.random.Generator,
    arng: np.random.Generator,
) -> int:
    """Process events until the run stops, a buffer is short, or ``chunk`` events.

    Args:
        cfg, net, a, box, ch, b: The run (see the named tuples above).
        c: Integer counters (``C_*`` slots).
        f: Float state (``F_*`` slots).
        rc: The recorder's count of agents holding each option.
        order: Sequential protocol's turn order.
        fan_total: Arcs of the network (most messages one bulk event can send).
        fan_max: Largest out-degree (most messages one agent's broadcast can send).
        chunk: Return after this many events (for progress reports).
        rng, prng, arng: The channels', protocol's and agents' streams.

    Returns:
        :data:`DONE` (``c[C_STOP]`` says why), :data:`NEED_SPACE` (``c[C_NEED]`` says
        which buffers) or :data:`CHUNK`.
    """
    processed = 0
    while c[C_STOP] == RUNNING:
        if c[C_HEAP] == 0:
            c[C_STOP] = COMPLETED
            break
        time = b.heap_time[0]
        if time > cfg.max_time:
            if cfg.max_time > f[F_NOW]:
                f[F_NOW] = cfg.max_time
            c[C_STOP] = MAX_TIME
            break
        if processed >= chunk:
            return CHUNK
        ref = b.heap_ref[0]
        # Protocol steps may make every agent act; a delivery or a wake-up makes one act.
        bulk = ref < 0 and ref != WAKE and ref != END
        if not _room(cfg, b, c, f, bulk, fan_total if bulk else fan_max, time):
            return NEED_SPACE
        f[F_NOW] = time
        c[C_EVENTS] += 1
        processed += 1
        if ref >= 0:
            _delivery(cfg, net, a, box, ch, b, c, f, rc, ref, rng, arng)
        else:
            _pop(b, c)
            _protocol_event(cfg, net, a, box, ch, b, c, f, rc, ref, order, rng, prng, arng)
        _stop_due(cfg, c, f)
    return DONE
