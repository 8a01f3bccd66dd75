"""The fast engine's compiled event loop.

One numba-compiled loop replays what the SimPy engine does, event for event: the same
protocol steps, the same channel draws in the same order, the same agent rules (the
kernels of :mod:`sim.rules`), the same recorder updates and stopping rules. Events are
ordered by ``(time, sequence number)`` exactly as SimPy orders them by ``(time, event
id)``, so a run of the fast engine is the run of the SimPy engine with the same seed.

What makes it fast, besides compilation, is memory layout. At a million agents nearly
every access to an agent or an arc is a cache miss, so the state a delivery touches is
packed together:

* each message in the queue (:mod:`sim.fast.calendar`, a calendar queue rather than a
  binary heap) carries its receiver, in-arc, sending time and a code holding its
  announcement, option and whether its channel is capacity-limited (:func:`message_code`),
  in 32 bytes;
* each in-arc's record (:data:`INARC`, 16 bytes) holds what the receiver last heard
  on it, and a Bayesian receiver's :data:`FIRST` record the first announcement;
* each agent's scalars are one record (:data:`AGENT`) and its per-option numbers one
  row of :attr:`Agents.opinion` (own evidence, neighbours announcing each option, belief);
* the rules work on a scratch row, allocating nothing, and a decision leaves its
  belief a log posterior, normalised only if it is read (:func:`_set_belief`);
* a message due after ``max_time`` is counted and never queued (the run stops first).

The helpers on a delivery's path are inlined into the loop (``inline="always"``). Numba
counts references on every array a compiled function receives (an atomic operation per
array, per call), and a delivery passes through a dozen helpers taking some fifty
arrays between them: as separate functions these counts took half the run time;
inlined, they pair up within one function and LLVM removes them. The rare paths (the
other agent kinds, protocol steps, loading a bucket) stay separate functions, which
keeps compilation to a few minutes.

A Bayesian agent's public belief is updated as each first announcement arrives (one
group of simultaneous announcements at a time, the same arithmetic the SimPy engine
applies to the whole history), and recomputed from the history only when an
announcement arrives out of order.

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
from sim.fast import calendar
from sim.fast.calendar import Calendar
from sim.fast.intrinsics import borrowed, counted, lean, prefetch_row, prefetch_rows
from sim.protocols import planner

# Agent kinds, in the order of sim.fast.engine.KIND_CODES.
(
    BAYESIAN,
    SOCIAL,
    DEGROOT,
    THRESHOLD,
    VOTER,
    STUBBORN,
    CONFIDENCE,
    DIRICHLET,
    BETA_AGENT,
    INFORMED,
    WORKER,
) = range(11)
# Protocols.
SEQUENTIAL, ASYNCHRONOUS, ROUNDS, DEBATE, BANDIT, HIDDEN_PROFILE, PLANNER = range(7)
# Debate roles and speaking orders (FIXED: the order given, fixed or by degree).
MEMBER, CRITIC, ADVOCATE = 0, 1, 2
FIXED, RANDOM, BY_CONFIDENCE = 0, 1, 2
# Latency distributions.
CONSTANT, UNIFORM, EXPONENTIAL, LOGNORMAL, BETA = 0, 1, 2, 3, 4
# Protocol events in the queue (messages have codes >= 0, see message_code). The
# planner-worker protocol's: a desk finished a step, a lost message is noticed, the
# root's result is accepted.
INIT, TURN, DRAINED, WAKE, ROUND_END, END = -1, -2, -3, -4, -5, -6
DESK_DONE, LOSS_NOTICED, ACCEPTED = -7, -8, -9
# Planner-worker: which results a verifier checks.
VERIFY_NONE, VERIFY_EVERY_STAGE, VERIFY_FINAL = 0, 1, 2
MAX_OPTIONS = 2**15 - 1
"""Most options a message's code has room for."""
# Stop reasons, in the order of STOP_REASONS.
RUNNING, COMPLETED, MAX_TIME, CONSENSUS, MAX_EVENTS, STALLED = 0, 1, 2, 3, 4, 5
STOP_REASONS = (None, "completed", "max_time", "consensus", "max_events", "stalled")
# What run_loop returns.
DONE, NEED_SPACE, CHUNK = 0, 1, 2
# Sequential and debate protocols: where the process is suspended.
AT_TURN, AFTER_TIMEOUT, AFTER_DRAINED, BEFORE_ROUND, ROUND_OPEN = 0, 1, 2, 3, 4
# Planes of Agents.opinion: own log-likelihood, neighbours announcing each option,
# belief; Bayesian public log belief (row n: the cascade observer's), the public belief
# before the latest group of first announcements and the options in that group;
# DeGroot: the belief last announced.
OWN, HEARD, BELIEF, PUBLIC, BASE, COUNTS, ANNOUNCED = range(7)
PLANES = 7
ALPHA = ANNOUNCED
"""Dirichlet agents' counts, and Beta agents' alpha (prior plus successes) per arm: the
plane DeGroot agents keep their last announced belief in (an agent is one kind or the
other)."""
FAILURES = COUNTS
"""Beta agents' beta (prior plus failures) per arm: the plane of a Bayesian's latest
group of first announcements."""
VALENCE = OWN
"""Informed agents' score of each candidate, the net valence of the items they know:
the plane of the evidence others take from their signal."""
# Bits of c[C_NEED]: which buffer is short.
NEED_QUEUE, NEED_ANNS, NEED_POOL, NEED_WAITING, NEED_ROWS = 1, 2, 4, 8, 16

# Slots of the integer counters.
(
    C_ANNS,
    C_WAITING,  # WAITING records ever used (the free ones are reused first)
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
    C_BEYOND,
    C_FINISHED,
    C_IN_TRANSIT,  # bandit: results about arm k sent, not lost and not yet delivered
    _C_IN_TRANSIT_1,  # (slot C_IN_TRANSIT + k)
    C_SURFACED,  # hidden profile: unshared items mentioned, as of the latest update
    C_FREE_WAITING,  # 1 + the first free WAITING record (0: none), the rest chained on
    C_SUCCESS,  # planner-worker: whether the root's accepted result is right (-1: none yet)
) = range(29)
N_COUNTERS = 29
# Slots of the float state.
F_NOW, F_INSTANT, F_CONSENSUS_SINCE, F_NEXT_SAMPLE, F_COST = range(5)
N_FLOATS = 5

AGENT = np.dtype(
    [
        ("kind", np.int8),
        ("tie", np.int8),  # Bayesian tie rule (sim.rules.TIE_RULES)
        ("dirty", np.bool_),  # Bayesian: public belief to recompute from the history
        ("spoke", np.bool_),  # announced at least once (for the cascade observer)
        ("has_announced", np.bool_),  # DeGroot: announced at least once
        ("learnt", np.bool_),  # informed: learnt an item since its last decision
        ("unsettled", np.bool_),  # its belief is a log posterior to normalise (_belief)
        ("held", np.int16),  # stubborn: the option held
        ("favourite", np.int16),  # informed: its prior's unique favourite (-1: none)
        ("group", np.int32),
        ("signal", np.int32),
        ("choice", np.int32),
        ("pending", np.int32),  # messages in transit to the agent (turn-taking protocols)
        ("first_shift", np.int32),  # Bayesian: in-arc p's first announcement's row in
        # Agents.firsts, less p
        ("weight", np.float64),
        ("threshold", np.float64),
        ("self_weight", np.float64),
        ("tolerance", np.float64),
        ("assumed", np.float64),  # accuracy a Bayesian attributes to others
        ("group_time", np.float64),  # Bayesian: sent time of the latest group (-1: none)
    ],
    align=True,
)
"""An agent's parameters and scalar state: 80 bytes (options fit 16 bits, see
:data:`MAX_OPTIONS`), which always span two cache lines; 88 would often span three."""

PERSUASION = np.dtype(
    [
        ("stated", np.float64),  # confidence: the confidence it states
        ("gap_slope", np.float64),  # confidence: how sharply switching follows the gap
        ("gap_offset", np.float64),  # confidence: the gap at which switching is a coin flip
        ("evidence_weight", np.float64),  # dirichlet: count added to cited evidence
    ]
)
"""What moves confidence and Dirichlet agents, apart from :data:`AGENT` (which a
delivery reads for every agent, and which these would take past a cache line)."""

ANNOUNCEMENT = np.dtype(
    [("slot", np.int64), ("confidence", np.float64), ("evidence", np.int32)], align=True
)
"""What an announcement carries besides its option (which its message code holds), for
the agents that read it: (DeGroot) the row of the belief it carries in
:attr:`Buffers.pool` (-1: none), (confidence agents) the confidence stated and
(Dirichlet agents) the evidence cited (-1: none). Kept only when such agents exist
(:func:`keeps_announcements`); otherwise an announcement is just a number."""

WAITING = np.dtype(
    [("latency", np.float64), ("sent", np.float64), ("next", np.int64), ("code", np.int64)],
    align=True,
)
"""A message waiting for a slot on a capacity-limited channel: its latency, sending time
and code (:func:`message_code`), and the message behind it (``next``, -1: none; a free
record's ``next`` is the next free one)."""

CHANNEL = np.dtype(
    [
        ("latency", np.int64),  # latency distribution code
        ("a", np.float64),  # its parameters
        ("b", np.float64),
        ("drop", np.float64),
        ("capacity", np.int64),  # 0: unlimited
        ("queue", np.bool_),  # overflow = "queue"
    ],
    align=True,
)
"""Channel settings of one sender group."""

QUEUED = np.dtype([("in_transit", np.int64), ("head", np.int64), ("tail", np.int64)])
"""A capacity-limited arc: messages in transit and its queue of waiting messages."""

INARC = np.dtype(
    [
        ("heard_time", np.float64),  # sent time of the latest announcement heard
        ("heard_ann", np.int32),  # DeGroot, confidence: the latest announcement heard
        ("heard", np.int32),  # its option + 1 (0: nothing heard yet)
    ],
    align=True,
)
"""What a receiver knows of one sender (16 bytes, four to a cache line). All zeros is
"nothing heard yet", so the records start as zeroed memory, which the system provides
without a pass over it. ``heard_ann`` is read only where announcements are kept
(:func:`keeps_announcements`), whose array could never hold 2**31 of them."""

FIRST = np.dtype(
    [
        ("time", np.float64),  # sent time of the first announcement heard
        ("option", np.int32),  # its option + 1 (0: none yet)
    ],
    align=True,
)
"""What a Bayesian receiver knows of one sender's first announcement. Only Bayesian
receivers' in-arcs have one (in :attr:`Agents.firsts`), so the in-arc records of
everyone else stay 16 bytes; zeros are "none yet", as for :data:`INARC`."""


class Config(NamedTuple):
    """Scalars of the run (fixed for its duration)."""

    n: int
    options: int
    truth: int
    protocol: int
    interval: float  # sequential, debate: time between turns
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
    bayesians: bool  # some agents are Bayesian
    degroots: bool  # some agents are DeGroot
    simultaneous: bool  # debate: everyone revises, then everyone speaks, each round
    independence_first: bool  # debate: the opening is simultaneous
    speaking_order: int  # debate: FIXED, RANDOM or BY_CONFIDENCE
    advocate: bool  # debate: the institution appoints a devil's advocate
    delphi: bool  # debate: Delphi feedback (anonymized answers) instead of speaking
    confidences: bool  # some agents read the confidence others state
    dirichlets: bool  # some agents are Dirichlet
    cite_evidence: bool  # debate: speakers cite their signal
    pulls: int  # bandit: trials of its arm each agent makes per round
    p_worse: float  # bandit: the worse arm's success rate
    p_better: float  # bandit: the better arm's (the truth's)
    known_arm: int  # bandit: the arm whose rate every agent knows (-1: none)
    settle_sd: float  # bandit: the lead that settles the community, in SDs
    burst: int  # most messages one agent may broadcast in one protocol step
    branching: int  # planner-worker: parts of each non-leaf subtask
    subtasks: int  # planner-worker: subtasks of the task tree
    verify: int  # planner-worker: VERIFY_NONE, VERIFY_EVERY_STAGE or VERIFY_FINAL
    work_kind: int  # planner-worker: work_time's distribution code and parameters
    work_a: float
    work_b: float
    check_kind: int  # planner-worker: verification_time's
    check_a: float
    check_b: float
    verification_cost: float
    max_redos: int
    propagation: float  # planner-worker: error_propagation
    fail_on_loss: bool  # planner-worker: on_loss = "fail"
    loss_timeout: float


class Network(NamedTuple):
    """The graph, both ways. Out-arcs: ``indices[indptr[u]:indptr[u+1]]`` are the
    receivers of ``u``. In-arcs: ``senders[in_ptr[v]:in_ptr[v+1]]`` are those ``v``
    hears, in increasing order (``senders`` is kept only for Delphi feedback; the rules
    need only the order); ``in_of_out[e]`` is the in-arc of out-arc ``e`` and
    ``out_of_in`` the converse (only with capacity-limited channels)."""

    indptr: np.ndarray
    indices: np.ndarray
    in_ptr: np.ndarray
    senders: np.ndarray
    in_of_out: np.ndarray  # int32
    out_of_in: np.ndarray  # int32
    trust: np.ndarray  # per in-arc (only with DeGroot agents)


class Agents(NamedTuple):
    """Every agent's parameters and state (rows are agents)."""

    state: np.ndarray  # AGENT records
    opinion: np.ndarray  # (n + 1, PLANES, K): per agent and option, the planes below
    log_prior: np.ndarray  # (n_groups, K)
    scores: np.ndarray  # (K,) scratch
    likelihood: np.ndarray  # (K, K) scratch of the Bayesian update
    posterior: np.ndarray  # (K,) scratch of the Bayesian update
    persuasion: np.ndarray  # PERSUASION records (empty without confidence, Dirichlet agents)
    firsts: np.ndarray  # FIRST records of Bayesian receivers' in-arcs (AGENT.first_shift)


class Channels(NamedTuple):
    """Channel settings per sender group and the state of capacity-limited arcs."""

    settings: np.ndarray  # CHANNEL record per group
    arcs: np.ndarray  # QUEUED record per out-arc (only with capacities)


class Turns(NamedTuple):
    """The turn-taking protocols' state. ``order``: the turn order (sequential) or this
    round's speakers (debate); the rest, the debate's (empty otherwise)."""

    order: np.ndarray  # int64 (n,)
    role: np.ndarray  # int8 (n,): MEMBER, CRITIC or ADVOCATE
    defended: np.ndarray  # int64 (n,): the option a devil's advocate defends
    opening: np.ndarray  # int64 (n,): answers after the opening (-1: none)
    accuracy: np.ndarray  # float64 (n,): stated confidence before answering
    stated: np.ndarray  # float64 (n,): scratch of the confidence order


class Discussion(NamedTuple):
    """The hidden profile's items and who knows which (empty under other protocols).
    Member ``v`` may mention items ``item[chance_ptr[v]:chance_ptr[v + 1]]``, each
    with its ``probability``."""

    option: np.ndarray  # int64 (m,): the candidate each item bears on
    valence: np.ndarray  # int64 (m,): +1 (a strength) or -1 (a weakness)
    unshared: np.ndarray  # bool (m,): held by one member
    chance_ptr: np.ndarray  # int64 (n + 1,)
    item: np.ndarray  # int64
    probability: np.ndarray  # float64
    known: np.ndarray  # bool (n, m): the items each member knows
    surfaced: np.ndarray  # bool (m,): mentioned at least once


class Organisation(NamedTuple):
    """The planner-worker protocol's staff and the progress of each subtask (empty
    under other protocols; see :mod:`sim.protocols.planner`). A member's desk is busy
    or free; the subtasks waiting for it are chained from ``head`` to ``tail`` through
    ``next_in_line`` (a subtask waits at one desk at a time)."""

    workers: np.ndarray  # int64: members with role "worker", in index order
    verifiers: np.ndarray  # int64: members with role "verifier"
    error_rate: np.ndarray  # float64 (n,)
    recall: np.ndarray  # float64 (n,)
    pending: np.ndarray  # int64 (subtasks,): parts whose results have not arrived
    inputs_right: np.ndarray  # bool (subtasks,)
    correct: np.ndarray  # bool (subtasks,): the latest result, as its verifier got it
    redos: np.ndarray  # int64 (subtasks,)
    next_in_line: np.ndarray  # int64 (subtasks,): the subtask behind it (-1: none)
    step: np.ndarray  # int64 (subtasks,): the step (WORK, CHECK) it waits for
    busy: np.ndarray  # bool (n,)
    head: np.ndarray  # int64 (n,): first subtask waiting for the desk (-1: none)
    tail: np.ndarray  # int64 (n,)
    channel: np.ndarray  # int64 (4, subtasks): each message's QUEUED record (capacities)


class Buffers(NamedTuple):
    """Growable storage besides the queue; the caller reallocates it when asked."""

    anns: np.ndarray  # ANNOUNCEMENT records
    pool: np.ndarray  # (slots, K) beliefs carried by DeGroot announcements
    waiting: np.ndarray  # WAITING records: messages queued for a busy channel
    rows: np.ndarray  # (rows, K + 4) time series
    scratch: np.ndarray  # (2, largest out-degree): latencies and loss draws of a broadcast
    heard: np.ndarray  # (2, largest in-degree): a Bayesian's first announcements by time


# -------------------------------------------------------------------------- recorder


@counted
def _write_row(cfg: Config, b: Buffers, c: np.ndarray, time: float, rc: np.ndarray) -> None:
    row = b.rows[c[C_ROWS]]
    row[0] = time
    row[1] = float(c[C_ACTED])
    for k in range(cfg.options):
        row[2 + k] = rc[k] / cfg.n
    row[2 + cfg.options] = rc[cfg.truth] / cfg.n
    row[3 + cfg.options] = rules.entropy_bits(rc)
    c[C_ROWS] += 1


@counted
def _sample_until(cfg: Config, b: Buffers, c: np.ndarray, f: np.ndarray, rc, now) -> None:
    while f[F_NEXT_SAMPLE] < now:
        _write_row(cfg, b, c, f[F_NEXT_SAMPLE], rc)
        f[F_NEXT_SAMPLE] += cfg.record_interval


@counted
def finish_rows(cfg: Config, b: Buffers, c: np.ndarray, f: np.ndarray, rc) -> None:
    """Rows up to the final time and a last row at it (``Recorder.finish``)."""
    now = f[F_NOW]
    _sample_until(cfg, b, c, f, rc, np.nextafter(now, np.inf))
    if c[C_ROWS] == 0 or b.rows[c[C_ROWS] - 1, 0] != now:
        _write_row(cfg, b, c, now, rc)


@njit(cache=True, inline="always")
def _position(cfg: Config, b: Buffers, c, f, rc, old: int, new: int) -> None:
    """An agent's choice changed (``Recorder.position``)."""
    if f[F_NEXT_SAMPLE] < f[F_NOW]:
        _sample_until(cfg, b, c, f, rc, f[F_NOW])
    if old < 0:
        c[C_ACTED] += 1
    else:
        rc[old] -= 1
    rc[new] += 1
    if rc[new] == cfg.n:
        c[C_CONSENSUS] = 1
        f[F_CONSENSUS_SINCE] = f[F_NOW]
    elif c[C_CONSENSUS] == 1:
        most = 0  # rc.max() (which needs numba's runtime; see sim.fast.intrinsics)
        for k in range(len(rc)):
            most = max(most, rc[k])
        if most < cfg.n:
            c[C_CONSENSUS] = 0


# -------------------------------------------------------------------------- messages


@njit(cache=True, inline="always")
def message_code(ann: int, option: int, limited: bool) -> int:
    """A message's code in the queue: announcement ``ann``, its ``option`` (at most
    :data:`MAX_OPTIONS`) and whether it travels on a capacity-limited channel.

    The other protocols' messages carry all they say in the code: a bandit's trial
    result its successes as ``ann`` and its arm as ``option``, a hidden profile's
    mention the item as ``ann`` and the candidate it bears on as ``option``."""
    return (ann << 16) | (int(limited) << 15) | option


@njit(cache=True, inline="always")
def message_parts(code: int) -> tuple[int, int, bool]:
    """Announcement, option and capacity flag of a message's code."""
    return code >> 16, code & MAX_OPTIONS, (code >> 15) & 1 == 1


# ----------------------------------------------------------------------------- rules


@njit(cache=True, inline="always")
def _set_belief(a: Agents, v: int) -> None:
    """Make the scratch log posterior ``v``'s belief (``SocietyAgent._set_belief``),
    normalised when it is read (:func:`_belief`).

    A decision does not read its belief (the rules choose on the log posterior), and
    most beliefs are replaced before anyone reads them: normalising one (two ``exp``
    and a ``log`` in a chain of dependent operations) took nearly a tenth of a
    million-agent run when every decision did it."""
    belief = a.opinion[v, BELIEF]
    for k in range(len(belief)):
        belief[k] = a.scores[k]
    a.state[v].unsettled = True


@njit(cache=True, inline="always")
def _belief(a: Agents, v: int) -> np.ndarray:
    """``v``'s belief (the ``BELIEF`` row), normalised first if :func:`_set_belief` left
    it a log posterior: the probabilities ``SocietyAgent._set_belief`` computes, to the
    bit (:func:`sim.rules.normalize_into` of the same log posterior). The kinds whose
    rule normalises (social, Bayesian, informed) leave their belief so; every reader of
    another agent's belief goes through here. It uses the scratch row ``a.scores``."""
    belief = a.opinion[v, BELIEF]
    r = a.state[v]
    if r.unsettled:
        for k in range(len(belief)):
            a.scores[k] = belief[k]
        rules.normalize_into(belief, a.scores)
        r.unsettled = False
    return belief


@lean
def settle_beliefs(a: Agents, n: int) -> None:
    """Normalise every belief left a log posterior (:func:`_belief`), before the beliefs
    are read as an array (without numba's runtime: counting references on each agent's
    row took most of the time at a million agents)."""
    for v in range(n):
        _belief(a, v)


@njit(cache=True, inline="always")
def _social(a: Agents, v: int, rng) -> bool:
    """``SocialAgent.decide``."""
    r = a.state[v]
    g, weight = r.group, r.weight
    for k in range(len(a.scores)):
        a.scores[k] = rules.social_score(
            a.log_prior[g, k], a.opinion[v, OWN, k], a.opinion[v, HEARD, k], weight
        )
    _set_belief(a, v)
    previous = r.choice
    r.choice = rules.choose(a.scores, previous, r.signal, rng)
    return r.choice != previous


@njit(cache=True, inline="always")
def _update_public(a: Agents, v: int, r, wrong: float, log_right: float, log_wrong: float) -> None:
    """``v``'s public belief after the latest group of first announcements (the
    ``COUNTS`` plane), made on the ``BASE`` plane; the other arguments are the
    :func:`sim.rules.signal_terms` of the accuracy it assumes."""
    rules.update_public_belief_counts_terms_into(
        a.opinion[v, PUBLIC],
        a.opinion[v, BASE],
        a.opinion[v, COUNTS],
        r.assumed,
        wrong,
        log_right,
        log_wrong,
        r.tie,
        a.likelihood,
        a.posterior,
    )


@njit(cache=True, inline="always")
def _start_public(a: Agents, v: int, r) -> None:
    """Set ``v``'s public belief to its normalised prior."""
    public = a.opinion[v, PUBLIC]
    for k in range(len(public)):
        public[k] = a.log_prior[r.group, k]
    rules.log_normalize_in_place(public)


@njit(cache=True, inline="always")
def _new_group(a: Agents, v: int) -> None:
    """Start a group of simultaneous first announcements on ``v``'s public belief as it
    is: the ``BASE`` plane becomes it, the ``COUNTS`` plane empty."""
    public, base, counts = a.opinion[v, PUBLIC], a.opinion[v, BASE], a.opinion[v, COUNTS]
    for k in range(len(public)):
        base[k] = public[k]
        counts[k] = 0.0


@counted
def _merge_sort_heard(times: np.ndarray, options: np.ndarray, count: int) -> None:
    """Stable sort of ``times[:count]``, ``options[:count]`` on time (for a long history:
    it allocates, so it is kept out of :func:`_recompute_public`)."""
    order = np.argsort(times[:count], kind="mergesort")
    times[:count] = times[:count][order]
    options[:count] = options[:count][order]


@lean
def _recompute_public(net: Network, a: Agents, b: Buffers, v: int) -> None:
    """Bayesian public log belief from the first announcements ``v`` heard, grouped by
    sending time (``PublicBeliefs.node_after(announcement_groups(...))``), and the
    bookkeeping of its latest group."""
    times, options = b.heard[0], b.heard[1]
    count = 0
    shift = a.state[v].first_shift
    for p in range(net.in_ptr[v] + shift, net.in_ptr[v + 1] + shift):
        if a.firsts[p].option > 0:
            times[count] = a.firsts[p].time
            options[count] = a.firsts[p].option - 1
            count += 1
    # A stable sort on time (ties keep the order of the in-arcs).
    if count <= 64:
        for i in range(1, count):
            t, o = times[i], options[i]
            j = i
            while j > 0 and times[j - 1] > t:
                times[j], options[j] = times[j - 1], options[j - 1]
                j -= 1
            times[j], options[j] = t, o
    else:
        _merge_sort_heard(times, options, count)
    r = a.state[v]
    _start_public(a, v, r)
    wrong, log_right, log_wrong = rules.signal_terms(r.assumed, len(a.scores))
    last = -1.0
    start = 0
    while start < count:
        end = start + 1
        while end < count and times[end] == times[start]:
            end += 1
        _new_group(a, v)
        for i in range(start, end):
            a.opinion[v, COUNTS, int(options[i])] += 1.0
        _update_public(a, v, r, wrong, log_right, log_wrong)
        last = times[start]
        start = end
    r.group_time = last


@njit(cache=True, inline="always")
def _prefetch_history(net: Network, a: Agents, v: int, sent: float) -> None:
    """Prefetch ``v``'s first announcements if it is a Bayesian agent that a message sent at
    ``sent`` is likely to make recompute its public belief (:func:`_recompute_public`):
    one already due to, or one that hears of an announcement older than its latest
    group."""
    r = a.state[v]
    if r.kind == BAYESIAN and (r.dirty or sent < r.group_time):
        prefetch_rows(a.firsts, net.in_ptr[v] + r.first_shift, net.in_ptr[v + 1] + r.first_shift)


@njit(cache=True, inline="always")
def _first_heard(a: Agents, v: int, time: float, option: int, replaced: bool) -> None:
    """A Bayesian agent ``v`` hears a sender's first announcement (or an earlier one than
    it had): fold it into the public belief if it joins or follows the latest group,
    else leave the belief to be recomputed from the history."""
    r = a.state[v]
    if r.dirty:
        return
    last = r.group_time
    if replaced or (last >= 0.0 and time < last):
        r.dirty = True
        return
    if last < 0.0 or time > last:
        if last < 0.0:
            _start_public(a, v, r)
        _new_group(a, v)
        r.group_time = time
    a.opinion[v, COUNTS, option] += 1.0
    wrong, log_right, log_wrong = rules.signal_terms(r.assumed, len(a.scores))
    _update_public(a, v, r, wrong, log_right, log_wrong)


@njit(cache=True, inline="always")
def _bayesian(net: Network, a: Agents, arcs: np.ndarray, b: Buffers, v: int, rng) -> bool:
    """``BayesianAgent.decide``."""
    r = a.state[v]
    if r.dirty:
        _recompute_public(net, a, b, v)
        r.dirty = False
    for k in range(len(a.scores)):
        a.scores[k] = a.opinion[v, PUBLIC, k] + a.opinion[v, OWN, k]
    _set_belief(a, v)
    previous = r.choice
    second = r.signal if r.tie == 1 else -1
    r.choice = rules.choose(a.scores, previous, second, rng)
    return r.choice != previous


@counted
def _degroot(net: Network, a: Agents, arcs: np.ndarray, b: Buffers, v: int, rng) -> bool:
    """``DeGrootAgent.decide``."""
    r = a.state[v]
    lo, hi = net.in_ptr[v], net.in_ptr[v + 1]
    m = 0
    for p in range(lo, hi):
        if arcs[p].heard > 0 and b.anns[arcs[p].heard_ann].slot >= 0:
            m += 1
    belief = a.opinion[v, BELIEF]
    if m > 0:
        stacked = np.empty((m, len(a.scores)))
        trust = np.empty(m)
        j = 0
        for p in range(lo, hi):
            if arcs[p].heard > 0 and b.anns[arcs[p].heard_ann].slot >= 0:
                stacked[j] = b.pool[b.anns[arcs[p].heard_ann].slot]
                trust[j] = net.trust[p]
                j += 1
        belief[:] = rules.degroot_average(belief.copy(), stacked, trust, r.self_weight)
    previous = r.choice
    r.choice = rules.choose(belief, previous, r.signal, rng)
    changed = r.choice != previous
    distance = rules.l1_distance(belief, a.opinion[v, ANNOUNCED])
    moved = (not r.has_announced) or distance > r.tolerance
    if changed or moved:
        a.opinion[v, ANNOUNCED] = belief
        r.has_announced = True
        return True
    return False


@counted
def _one_hot(a: Agents, v: int, option: int) -> None:
    for k in range(len(a.scores)):
        a.opinion[v, BELIEF, k] = 0.0
    a.opinion[v, BELIEF, option] = 1.0


@counted
def _threshold(a: Agents, v: int, rng) -> bool:
    """``ThresholdAgent.decide``."""
    r = a.state[v]
    previous = r.choice
    counts = a.opinion[v, HEARD].astype(np.int64)
    candidates = rules.threshold_candidates(counts, r.threshold)
    if len(candidates) > 0:
        scores = np.full(len(a.scores), -np.inf)
        for k in candidates:
            scores[k] = 0.0
        r.choice = rules.choose(scores, previous, -1, rng)
    elif previous < 0:
        scores = a.log_prior[r.group] + a.opinion[v, OWN]
        r.choice = rules.choose(scores, r.signal, -1, rng)
    else:
        return False
    _one_hot(a, v, r.choice)
    return r.choice != previous


@counted
def _confidence(net: Network, a: Agents, arcs, b: Buffers, v: int, rng, anonymous: bool) -> bool:
    """``ConfidenceAgent.decide``: the mean confidence stated for each option by the
    neighbours whose latest announcement names it (``1/K`` for none; summed in order
    of the senders' identities, so over ``anonymous`` senders backwards), then the rule."""
    r = a.state[v]
    options = len(a.scores)
    stated = a.scores
    for k in range(options):
        stated[k] = 0.0
    lo, hi = net.in_ptr[v], net.in_ptr[v + 1]
    for i in range(hi - lo):
        p = hi - 1 - i if anonymous else lo + i
        if arcs[p].heard > 0:
            stated[arcs[p].heard - 1] += b.anns[arcs[p].heard_ann].confidence
    counts = a.opinion[v, HEARD]
    for k in range(options):
        stated[k] = stated[k] / counts[k] if counts[k] > 0.0 else 1.0 / options
    previous = r.choice
    held = r.signal if previous < 0 else previous
    own = a.persuasion[v]
    choice, own.stated = rules.confidence_gap_choice(
        held, counts, stated, own.stated, own.gap_slope, own.gap_offset, rng
    )
    r.choice = choice
    rules.stated_belief_into(a.opinion[v, BELIEF], choice, own.stated)
    return choice != previous


@counted
def _dirichlet(a: Agents, v: int, rng) -> bool:
    """``DirichletAgent.decide`` (what it heard is already counted, see :func:`_receive`)."""
    r = a.state[v]
    rules.dirichlet_mean_into(a.opinion[v, BELIEF], a.opinion[v, ALPHA])
    previous = r.choice
    r.choice = rules.sample_option(a.opinion[v, BELIEF], rng)
    return r.choice != previous


@counted
def _voter(net: Network, a: Agents, arcs: np.ndarray, v: int, rng, anonymous: bool) -> bool:
    """``VoterAgent.decide``. It copies the ``pick``-th sender in increasing order of
    identity; ``anonymous`` (Delphi feedback) senders are numbered down from -1 in the
    order of the in-arcs, so that order is reversed."""
    r = a.state[v]
    previous = r.choice
    lo, hi = net.in_ptr[v], net.in_ptr[v + 1]
    m = 0
    for p in range(lo, hi):
        if arcs[p].heard > 0:
            m += 1
    if m > 0:
        pick = rng.integers(0, m)
        if anonymous:
            pick = m - 1 - pick
        for p in range(lo, hi):
            if arcs[p].heard > 0:
                if pick == 0:
                    r.choice = arcs[p].heard - 1
                    break
                pick -= 1
    elif previous < 0:
        scores = a.log_prior[r.group] + a.opinion[v, OWN]
        r.choice = rules.choose(scores, r.signal, -1, rng)
    _one_hot(a, v, r.choice)
    return r.choice != previous


@counted
def _expected_rate(cfg: Config, a: Agents, v: int, arm: int) -> float:
    """``BetaAgent.expected_rate``."""
    if arm == cfg.known_arm:
        return cfg.p_worse
    return rules.beta_mean(a.opinion[v, ALPHA, arm], a.opinion[v, FAILURES, arm])


@counted
def _beta(cfg: Config, a: Agents, v: int, rng) -> bool:
    """``BetaAgent.decide``."""
    r = a.state[v]
    previous = r.choice
    arm = rules.leading_arm(_expected_rate(cfg, a, v, 0), _expected_rate(cfg, a, v, 1))
    if arm >= 0:
        r.choice = arm
    elif previous < 0:
        r.choice = rng.integers(0, 2)
    return r.choice != previous


@counted
def _informed(a: Agents, v: int, rng) -> bool:
    """``InformedAgent.decide``: the candidate of best net valence (ties keep the
    current choice, then the prior's favourite); the belief ``prior * exp(valence)``."""
    r = a.state[v]
    if not r.learnt and r.choice >= 0:
        return False  # nothing new: same scores, and ties keep the current choice
    r.learnt = False
    for k in range(len(a.scores)):
        a.scores[k] = a.log_prior[r.group, k] + a.opinion[v, VALENCE, k]
    _set_belief(a, v)
    previous = r.choice
    r.choice = rules.choose(a.opinion[v, VALENCE], previous, r.favourite, rng)
    return r.choice != previous


@njit(cache=True, inline="always")
def _decide(cfg: Config, net: Network, a: Agents, arcs, b: Buffers, v: int, rng) -> bool:
    """Apply agent ``v``'s rule; return whether it has something to announce (the
    common kinds' rules inlined, the others called)."""
    kind = a.state[v].kind
    if kind == SOCIAL:
        return _social(a, v, rng)
    if kind == BAYESIAN:
        return _bayesian(net, a, arcs, b, v, rng)
    if kind == DEGROOT:
        return _degroot(net, a, arcs, b, v, rng)
    if kind == THRESHOLD:
        return _threshold(a, v, rng)
    if kind == VOTER:
        return _voter(net, a, arcs, v, rng, cfg.delphi)
    if kind == CONFIDENCE:
        return _confidence(net, a, arcs, b, v, rng, cfg.delphi)
    if kind == DIRICHLET:
        return _dirichlet(a, v, rng)
    if kind == BETA_AGENT:
        return _beta(cfg, a, v, rng)
    if kind == INFORMED:
        return _informed(a, v, rng)
    # STUBBORN
    r = a.state[v]
    if r.choice >= 0:
        return False
    r.choice = r.held
    _one_hot(a, v, r.held)
    return True


# ------------------------------------------------------------------ channels, acting


@njit(cache=True, inline="always")
def _draw(kind: int, pa: float, pb: float, rng) -> float:
    """One draw of a latency or duration (``sim.distributions.sample``; a constant
    draws nothing)."""
    if kind == CONSTANT:
        return pa
    if kind == UNIFORM:
        return rng.uniform(pa, pb)
    if kind == EXPONENTIAL:
        return rng.exponential(pa)
    if kind == LOGNORMAL:
        return rng.lognormal(pa, pb)
    return rng.beta(pa, pb)


@njit(cache=True, inline="always")
def _hold(ch: Channels, b: Buffers, c, e: int, code: int, now: float, latency: float) -> None:
    """Queue a message behind the others waiting for a slot on channel record ``e``
    (a free WAITING record is reused first)."""
    w = c[C_FREE_WAITING] - 1
    if w >= 0:
        c[C_FREE_WAITING] = b.waiting[w].next + 1
    else:
        w = c[C_WAITING]
        c[C_WAITING] += 1
    b.waiting[w].next = -1
    b.waiting[w].code = code
    b.waiting[w].sent = now
    b.waiting[w].latency = latency
    if ch.arcs[e].tail >= 0:
        b.waiting[ch.arcs[e].tail].next = w
    else:
        ch.arcs[e].head = w
    ch.arcs[e].tail = w


@njit(cache=True, inline="always")
def _send(cfg: Config, q: Calendar, c, time: float, code: int, v: int, p: int, sent: float):
    """Schedule the delivery of a message to ``v`` on in-arc ``p`` at ``time``, unless
    it falls after ``max_time``: the run stops before then, so the message is only
    counted (``c[C_BEYOND]``, which keeps the run going to ``max_time``)."""
    if time > cfg.max_time:
        c[C_BEYOND] += 1
    else:
        calendar.schedule(q, time, code, v, p, sent)


@njit(cache=True, inline="always")
def _broadcast(
    cfg, net: Network, a: Agents, ch: Channels, b: Buffers, q, c, f, u, ann, option, rng
):
    """Send message ``(ann, option)`` (see :func:`message_code`) of ``u`` to all its
    receivers (``Channels.broadcast``)."""
    lo, hi = net.indptr[u], net.indptr[u + 1]
    count = hi - lo
    if count == 0:
        return
    g = a.state[u].group
    kind, pa, pb = ch.settings[g].latency, ch.settings[g].a, ch.settings[g].b
    # All latencies first, then all losses: the order numpy's vectorised draws take.
    for j in range(count):
        b.scratch[0, j] = _draw(kind, pa, pb, rng)
    drop = ch.settings[g].drop
    if drop > 0.0:
        for j in range(count):
            b.scratch[1, j] = rng.random()
    now = f[F_NOW]
    plain, limited = message_code(ann, option, False), message_code(ann, option, True)
    capacity = ch.settings[g].capacity
    turns = cfg.protocol == SEQUENTIAL or cfg.protocol == DEBATE
    for j in range(count):
        c[C_SENT] += 1
        if drop > 0.0 and b.scratch[1, j] < drop:
            c[C_DROPPED] += 1
            continue
        e = lo + j
        receiver = net.indices[e]
        inarc = net.in_of_out[e]
        if capacity == 0:
            _send(cfg, q, c, now + b.scratch[0, j], plain, receiver, inarc, now)
        elif ch.arcs[e].in_transit < capacity:
            ch.arcs[e].in_transit += 1
            _send(cfg, q, c, now + b.scratch[0, j], limited, receiver, inarc, now)
        elif ch.settings[g].queue:
            _hold(ch, b, c, e, limited, now, b.scratch[0, j])
        else:
            c[C_DROPPED] += 1
            continue
        if turns:
            a.state[receiver].pending += 1


@counted
def _observe(cfg: Config, a: Agents, c: np.ndarray, option: int) -> None:
    """The cascade observer takes in a first announcement (``CascadeObserver.observe``).
    Its public belief is row ``n`` of the ``PUBLIC`` plane."""
    belief = a.opinion[cfg.n, PUBLIC]
    if (
        c[C_ONSET] < 0
        and rules.cascade_action(belief, cfg.observer_accuracy, cfg.observer_tie) >= 0
    ):
        c[C_ONSET] = c[C_OBSERVED]
    single = np.empty(1, dtype=np.int64)
    single[0] = option
    a.opinion[cfg.n, PUBLIC] = rules.update_public_belief(
        belief, single, cfg.observer_accuracy, cfg.observer_tie
    )
    c[C_OBSERVED] += 1


@njit(cache=True, inline="always")
def _record_announcement(cfg: Config, a: Agents, c, v: int) -> None:
    """``v`` announces its choice (``Recorder.announcement``)."""
    r = a.state[v]
    option = r.choice
    c[C_ANNOUNCEMENTS] += 1
    if option != r.signal:
        c[C_HERDING] += 1
    if c[C_FIRST_OPTION] < 0:
        c[C_FIRST_OPTION] = option
    if not r.spoke:
        r.spoke = True
        if cfg.observer:
            _observe(cfg, a, c, option)


@njit(cache=True, inline="always")
def keeps_announcements(cfg: Config) -> bool:
    """Whether any agent reads what an announcement carries (:data:`ANNOUNCEMENT`)."""
    return cfg.degroots or cfg.confidences or cfg.dirichlets


@njit(cache=True, inline="always")
def _announce(cfg, net, a: Agents, ch, b: Buffers, q, c, f, v: int, rng) -> None:
    """Broadcast ``v``'s choice (``Society.announce`` and ``Recorder.announcement``)."""
    _record_announcement(cfg, a, c, v)
    r = a.state[v]
    option = r.choice
    ann = c[C_ANNS]
    c[C_ANNS] += 1
    if cfg.confidences:  # the belief in one's answer (a confidence agent's: what it states)
        b.anns[ann].confidence = _belief(a, v)[option]
    if cfg.dirichlets:
        b.anns[ann].evidence = -1
    if cfg.degroots:
        if r.kind == DEGROOT:
            slot = c[C_POOL]
            c[C_POOL] += 1
            belief = _belief(a, v)
            for k in range(cfg.options):  # (an element loop: a slice copy allocates)
                b.pool[slot, k] = belief[k]
            b.anns[ann].slot = slot
        else:
            b.anns[ann].slot = -1
    _broadcast(cfg, net, a, ch, b, q, c, f, v, ann, option, rng)


@njit(cache=True, inline="always")
def _act_inline(cfg, net, a: Agents, arcs, ch, b, q, c, f, rc, v: int, announce: bool, rng, arng):
    """``Society.act``: apply the rule, record a changed choice, announce if wanted
    (:func:`_act` is the same as a function, for the protocol steps)."""
    old = a.state[v].choice
    wants = _decide(cfg, net, a, arcs, b, v, arng)
    new = a.state[v].choice
    if new != old:
        _position(cfg, b, c, f, rc, old, new)
    if announce and wants:
        _announce(cfg, net, a, ch, b, q, c, f, v, rng)


@lean
def _act(cfg, net, a: Agents, arcs, ch, b, q, c, f, rc, v: int, announce: bool, rng, arng) -> None:
    """``Society.act`` (see :func:`_act_inline`)."""
    _act_inline(cfg, net, a, arcs, ch, b, q, c, f, rc, v, announce, rng, arng)


@lean
def _act_all(cfg, net, a: Agents, arcs, ch, b, q, c, f, rc, announce: bool, rng, arng) -> None:
    """Every agent acts, in index order (:func:`_act_inline` inlined: one call for all)."""
    for v in range(cfg.n):
        _act_inline(cfg, net, a, arcs, ch, b, q, c, f, rc, v, announce, rng, arng)


@njit(cache=True, inline="always")
def _receive(cfg: Config, a: Agents, arcs: np.ndarray, b: Buffers, v, p, ann, option, sent) -> bool:
    """``SocietyAgent.receive`` (and the Bayesian first-announcement bookkeeping; a
    Dirichlet agent counts every announcement, however late, into its counts)."""
    if cfg.dirichlets and a.state[v].kind == DIRICHLET:
        a.opinion[v, ALPHA, option] += 1.0
        evidence, weight = b.anns[ann].evidence, a.persuasion[v].evidence_weight
        if evidence >= 0 and weight != 0.0:
            a.opinion[v, ALPHA, evidence] += weight
    arc = arcs[p]
    if cfg.bayesians and a.state[v].kind == BAYESIAN:
        first = a.firsts[p + a.state[v].first_shift]
        had_first = first.option > 0
        if not had_first or sent < first.time:
            first.time = sent
            first.option = option + 1
            _first_heard(a, v, sent, option, had_first)
    if arc.heard > 0:
        if sent < arc.heard_time:
            return False
        a.opinion[v, HEARD, arc.heard - 1] -= 1.0
    arc.heard_time = sent
    arc.heard = option + 1
    arc.heard_ann = ann
    a.opinion[v, HEARD, option] += 1.0
    return True


@njit(cache=True, inline="always")
def _take_result(cfg: Config, a: Agents, c, v: int, successes: int, arm: int) -> None:
    """``BetaAgent.receive``: a neighbour's trial result updates ``v``'s credence about
    ``arm``. Every delivered result is new to its receiver (a result travels once on
    each arc), so none is counted twice."""
    if arm != cfg.known_arm:
        a.opinion[v, ALPHA, arm] += successes
        a.opinion[v, FAILURES, arm] += cfg.pulls - successes
    c[C_IN_TRANSIT + arm] -= 1


@njit(cache=True, inline="always")
def _hear_mention(a: Agents, d: Discussion, v: int, item: int, option: int) -> None:
    """``InformedAgent.receive``: ``v`` learns a mentioned item it did not know."""
    if not d.known[v, item]:
        d.known[v, item] = True
        a.opinion[v, VALENCE, option] += d.valence[item]
        a.state[v].learnt = True


# ---------------------------------------------------------------------------- events


@njit(cache=True, inline="always")
def schedule_step(q: Calendar, time: float, ref: int) -> None:
    """Schedule a protocol step (a SimPy timeout or triggered event)."""
    calendar.schedule(q, time, ref, 0, 0, time)


@counted
def _sequential(cfg, net, a, arcs, ch, b, q, c, f, rc, order, rng, arng) -> None:
    """Resume the sequential protocol's process where it is suspended."""
    while c[C_TURN] < cfg.n:
        if c[C_PHASE] == AT_TURN:
            c[C_PHASE] = AFTER_TIMEOUT
            if c[C_TURN] > 0 and cfg.interval > 0:
                schedule_step(q, f[F_NOW] + cfg.interval, TURN)
                return
        if c[C_PHASE] == AFTER_TIMEOUT:
            c[C_PHASE] = AFTER_DRAINED
            v = order[c[C_TURN]]
            if a.state[v].pending > 0:
                c[C_WAIT_AGENT] = v
                return
        _act(cfg, net, a, arcs, ch, b, q, c, f, rc, order[c[C_TURN]], True, rng, arng)
        c[C_TURN] += 1
        c[C_PHASE] = AT_TURN
    schedule_step(q, f[F_NOW], END)


@counted
def _revise(cfg, net, a, arcs, ch, b, q, c, f, rc, t: Turns, v: int, rng, arng) -> None:
    """A debater revises, nothing sent (``_Debate.decide``): a critic or a devil's
    advocate who has answered argues its role's answer, everyone else applies its rule."""
    r = a.state[v]
    role = t.role[v]
    old = r.choice
    if role == MEMBER or old < 0:
        _act(cfg, net, a, arcs, ch, b, q, c, f, rc, v, False, rng, arng)
        return
    # A critic argues against the majority; a devil's advocate defends its assignment.
    target = rules.critic_target(a.opinion[v, HEARD], old) if role == CRITIC else t.defended[v]
    r.choice = target
    if target != old:
        _position(cfg, b, c, f, rc, old, target)


@counted
def _speak(cfg, net, a: Agents, ch, b, q, c, f, v: int, rng) -> None:
    """A debater announces its answer to its audience (``_Debate.speak``)."""
    if a.state[v].choice >= 0:
        _announce(cfg, net, a, ch, b, q, c, f, v, rng)
        if cfg.dirichlets and cfg.cite_evidence:  # read on delivery
            b.anns[c[C_ANNS] - 1].evidence = a.state[v].signal


@counted
def _speakers(cfg: Config, a: Agents, t: Turns, prng) -> None:
    """This round's order of speakers in ``t.order`` (``_Debate.order``)."""
    if cfg.speaking_order == RANDOM:
        t.order[:] = prng.permutation(cfg.n)
    elif cfg.speaking_order == BY_CONFIDENCE:
        # Most confident first (stated confidence: the belief in one's answer, or one's
        # accuracy before answering); ties in index order.
        for v in range(cfg.n):
            r = a.state[v]
            stated = t.accuracy[v] if r.choice < 0 else _belief(a, v)[r.choice]
            t.stated[v] = -stated
        t.order[:] = np.argsort(t.stated, kind="mergesort")


@counted
def _opened(cfg: Config, a: Agents, t: Turns, prng) -> None:
    """After the opening: keep the opening answers; each devil's advocate takes a random
    minority answer (``_Debate.appoint_advocates``)."""
    counts = np.zeros(cfg.options, dtype=np.int64)
    for v in range(cfg.n):
        t.opening[v] = a.state[v].choice
        if t.opening[v] >= 0:
            counts[t.opening[v]] += 1
    minority = rules.minority_options(counts)
    for v in range(cfg.n):
        if t.role[v] == ADVOCATE:  # as prng.choice(minority) draws
            t.defended[v] = minority[prng.integers(0, len(minority))]


@counted
def _delphi_feedback(cfg: Config, net: Network, a: Agents, arcs, b: Buffers, c, f) -> None:
    """Everyone's answer goes to the facilitator (counted as announced); then each
    agent forgets what it heard and hears every other answer, anonymized, at once
    (``_Debate.delphi_feedback``; the network is complete, in-arcs in sender order)."""
    now = f[F_NOW]
    first = c[C_ANNS]
    keeps = keeps_announcements(cfg)
    for v in range(cfg.n):
        option = a.state[v].choice
        if keeps:
            b.anns[first + v].slot = -1  # no belief travels
            b.anns[first + v].evidence = -1
        if option >= 0:
            _record_announcement(cfg, a, c, v)
            if cfg.confidences:
                b.anns[first + v].confidence = _belief(a, v)[option]
    c[C_ANNS] += cfg.n
    for v in range(cfg.n):
        for k in range(cfg.options):
            a.opinion[v, HEARD, k] = 0.0
        for p in range(net.in_ptr[v], net.in_ptr[v + 1]):
            arcs[p].heard = 0
        for p in range(net.in_ptr[v], net.in_ptr[v + 1]):
            u = net.senders[p]
            option = a.state[u].choice
            if option >= 0:
                _receive(cfg, a, arcs, b, v, p, first + u, option, now)


@counted
def _debate(cfg, net, a, arcs, ch, b, q, c, f, rc, ref, t: Turns, rng, prng, arng) -> None:
    """Resume the debate protocol's process where it is suspended (``debate``): rounds
    ``0..rounds``, the opening first, each after ``round_duration`` but the opening;
    all at once (revise everyone, then everyone speaks) or in turn (each speaker, after
    ``interval`` and once every message to it is delivered, revises and speaks)."""
    now = f[F_NOW]
    if ref == INIT:
        if cfg.advocate:
            t.role[prng.integers(0, cfg.n)] = ADVOCATE
        c[C_ROUND] = 0
        c[C_PHASE] = BEFORE_ROUND
    while True:
        phase = c[C_PHASE]
        if phase == BEFORE_ROUND:
            if c[C_ROUND] > cfg.rounds:
                c[C_FINISHED] = 1
                schedule_step(q, now, END)
                return
            c[C_PHASE] = ROUND_OPEN
            if c[C_ROUND] > 0:
                schedule_step(q, now + cfg.round_duration, TURN)
                return
        elif phase == ROUND_OPEN:
            if cfg.simultaneous or (c[C_ROUND] == 0 and cfg.independence_first):
                for v in range(cfg.n):
                    _revise(cfg, net, a, arcs, ch, b, q, c, f, rc, t, v, rng, arng)
                if cfg.delphi:
                    _delphi_feedback(cfg, net, a, arcs, b, c, f)
                else:
                    for v in range(cfg.n):
                        _speak(cfg, net, a, ch, b, q, c, f, v, rng)
                c[C_TURN] = cfg.n
            else:
                _speakers(cfg, a, t, prng)
                c[C_TURN] = 0
            c[C_PHASE] = AT_TURN
        elif c[C_TURN] == cfg.n:  # the round is over
            if c[C_ROUND] == 0:
                _opened(cfg, a, t, prng)
            c[C_ROUND] += 1
            c[C_PHASE] = BEFORE_ROUND
        elif phase == AT_TURN:
            c[C_PHASE] = AFTER_TIMEOUT
            if c[C_TURN] > 0 and cfg.interval > 0:
                schedule_step(q, now + cfg.interval, TURN)
                return
        elif phase == AFTER_TIMEOUT:
            c[C_PHASE] = AFTER_DRAINED
            v = t.order[c[C_TURN]]
            if a.state[v].pending > 0:
                c[C_WAIT_AGENT] = v
                return
        else:
            v = t.order[c[C_TURN]]
            _revise(cfg, net, a, arcs, ch, b, q, c, f, rc, t, v, rng, arng)
            _speak(cfg, net, a, ch, b, q, c, f, v, rng)
            c[C_TURN] += 1
            c[C_PHASE] = AT_TURN


@counted
def _experiment(cfg, net, a: Agents, ch, b: Buffers, q, c, f, rng, prng) -> None:
    """Every agent plays its arm ``pulls`` times (one binomial draw each from the
    protocol's stream, in agent order, as numpy's vectorised draw), updates on its
    result and, unless its arm's rate is known, sends it to its receivers."""
    for v in range(cfg.n):
        arm = a.state[v].choice
        successes = prng.binomial(cfg.pulls, cfg.p_better if arm == cfg.truth else cfg.p_worse)
        if arm == cfg.known_arm:  # nothing to learn, nothing sent
            continue
        a.opinion[v, ALPHA, arm] += successes
        a.opinion[v, FAILURES, arm] += cfg.pulls - successes
        before = c[C_SENT] - c[C_DROPPED]
        _broadcast(cfg, net, a, ch, b, q, c, f, v, successes, arm, rng)
        c[C_IN_TRANSIT + arm] += c[C_SENT] - c[C_DROPPED] - before


@counted
def _settled(cfg: Config, a: Agents, c: np.ndarray) -> bool:
    """``bandit.settled``: everyone plays one arm, no result about the other is in
    transit, and everyone expects its arm to win by ``settle_sd`` standard deviations."""
    arm = a.state[0].choice
    if arm < 0 or c[C_IN_TRANSIT + 1 - arm] > 0:
        return False
    for v in range(cfg.n):
        if a.state[v].choice != arm:
            return False
        played, other = _expected_rate(cfg, a, v, arm), _expected_rate(cfg, a, v, 1 - arm)
        spread = 0.0
        if arm != cfg.known_arm:
            spread = rules.beta_sd(a.opinion[v, ALPHA, arm], a.opinion[v, FAILURES, arm])
        if not rules.firmly_ahead(played, other, spread, cfg.settle_sd):
            return False
    return True


@counted
def _bandit(cfg, net, a, arcs, ch, b, q, c, f, rc, ref, rng, prng, arng) -> None:
    """Resume the bandit protocol's process (``bandit``): everyone chooses an arm; each
    round, everyone experiments and shares, and after ``round_duration`` chooses again,
    until the community has settled or ``rounds`` rounds are played."""
    _act_all(cfg, net, a, arcs, ch, b, q, c, f, rc, False, rng, arng)
    if ref == ROUND_END:
        c[C_ROUND] += 1
        if c[C_ROUND] >= cfg.rounds or _settled(cfg, a, c):
            schedule_step(q, f[F_NOW], END)
            return
    _experiment(cfg, net, a, ch, b, q, c, f, rng, prng)
    schedule_step(q, f[F_NOW] + cfg.round_duration, ROUND_END)


@counted
def _discussion(cfg, net, a, arcs, ch, b, q, c, f, rc, ref, d: Discussion, rng, prng, arng):
    """Resume the hidden-profile protocol's process (``hidden_profile``): everyone
    updates; then, each turn, members mention items they held (one draw from the
    protocol's stream per holding, members in index order, items in profile order),
    and after ``round_duration`` everyone updates again."""
    _act_all(cfg, net, a, arcs, ch, b, q, c, f, rc, False, rng, arng)
    surfaced = 0
    for j in range(len(d.surfaced)):
        if d.surfaced[j] and d.unshared[j]:
            surfaced += 1
    c[C_SURFACED] = surfaced
    if ref == ROUND_END:
        c[C_ROUND] += 1
    if c[C_ROUND] >= cfg.rounds:
        schedule_step(q, f[F_NOW], END)
        return
    for v in range(cfg.n):
        for i in range(d.chance_ptr[v], d.chance_ptr[v + 1]):
            if prng.random() < d.probability[i]:
                j = d.item[i]
                d.surfaced[j] = True
                _broadcast(cfg, net, a, ch, b, q, c, f, v, j, d.option[j], rng)
    schedule_step(q, f[F_NOW] + cfg.round_duration, ROUND_END)


# --------------------------------------------------------------------- organisation
# The planner-worker protocol: the transitions of sim.protocols.planner._Organisation,
# in the same order (the docstrings name the method each replays).


@counted
def checked(verify: int, j: int) -> bool:
    """Whether a verifier checks subtask ``j``'s results (``_Organisation.verifier_of``)."""
    return verify == VERIFY_EVERY_STAGE or (verify == VERIFY_FINAL and j == 0)


@counted
def message_ends(
    workers: np.ndarray, verifiers: np.ndarray, verify: int, branching: int, kind: int, j: int
) -> tuple[int, int]:
    """Sender and receiver of the planner-worker message ``kind`` about subtask ``j``:
    an assignment goes from the parent's worker to ``j``'s, a submission from ``j``'s
    worker to its verifier, a redo request back, and a report from whoever holds the
    accepted result (the verifier, if ``j`` is checked) to the parent's worker."""
    worker = workers[j % len(workers)]
    verified = checked(verify, j)
    verifier = verifiers[j % len(verifiers)] if verified else -1
    if kind == planner.ASSIGNMENT:
        return workers[((j - 1) // branching) % len(workers)], worker
    if kind == planner.SUBMISSION:
        return worker, verifier
    if kind == planner.REDO:
        return verifier, worker
    holder = verifier if verified else worker
    return holder, workers[((j - 1) // branching) % len(workers)]


@counted
def _hand_over(cfg: Config, a: Agents, ch, b: Buffers, q, c, f, o, kind, j, correct, rng) -> None:
    """``_Organisation.send``: one message (its latency, then its loss drawn as in
    ``Channels.broadcast``); a loss is noticed ``loss_timeout`` later."""
    sender, receiver = message_ends(o.workers, o.verifiers, cfg.verify, cfg.branching, kind, j)
    s = ch.settings[a.state[sender].group]
    latency = _draw(s.latency, s.a, s.b, rng)
    lost = s.drop > 0.0 and rng.random() < s.drop
    now = f[F_NOW]
    option = 2 * kind + int(correct)
    c[C_SENT] += 1
    if not lost:
        if s.capacity == 0:
            _send(cfg, q, c, now + latency, message_code(j, option, False), receiver, 0, now)
        else:
            e = o.channel[kind, j]
            limited = message_code(j, option, True)
            if ch.arcs[e].in_transit < s.capacity:
                ch.arcs[e].in_transit += 1
                _send(cfg, q, c, now + latency, limited, receiver, e, now)
            elif s.queue:
                _hold(ch, b, c, e, limited, now, latency)
            else:
                lost = True
    if lost:
        c[C_DROPPED] += 1
        calendar.schedule(q, now + cfg.loss_timeout, LOSS_NOTICED, option, j, now)


@counted
def _desk_of(o: Organisation, j: int, step: int) -> int:
    """``_Organisation.member``: who does ``step`` of subtask ``j``."""
    if step == planner.CHECK:
        return o.verifiers[j % len(o.verifiers)]
    return o.workers[j % len(o.workers)]


@counted
def _begin(cfg: Config, q: Calendar, f, j: int, step: int, prng) -> None:
    """``_Organisation.begin``: the desk spends the step's duration on subtask ``j``."""
    if step == planner.WORK:
        duration = _draw(cfg.work_kind, cfg.work_a, cfg.work_b, prng)
    else:
        duration = _draw(cfg.check_kind, cfg.check_a, cfg.check_b, prng)
    calendar.schedule(q, f[F_NOW] + duration, DESK_DONE, step, j, f[F_NOW])


@counted
def _request(cfg: Config, q: Calendar, f, o: Organisation, j: int, step: int, prng) -> None:
    """``_Organisation.request``: at once if the desk is free, else at the back of
    its line."""
    m = _desk_of(o, j, step)
    if not o.busy[m]:
        o.busy[m] = True
        _begin(cfg, q, f, j, step, prng)
        return
    o.next_in_line[j] = -1
    o.step[j] = step
    if o.tail[m] >= 0:
        o.next_in_line[o.tail[m]] = j
    else:
        o.head[m] = j
    o.tail[m] = j


@counted
def _assign(cfg: Config, a, ch, b, q, c, f, o: Organisation, j: int, rng, prng) -> None:
    """``_Organisation.assign``."""
    first = cfg.branching * j + 1
    lo, hi = min(first, cfg.subtasks), min(first + cfg.branching, cfg.subtasks)
    if lo == hi:
        _request(cfg, q, f, o, j, planner.WORK, prng)
        return
    o.pending[j] = hi - lo
    for part in range(lo, hi):
        _hand_over(cfg, a, ch, b, q, c, f, o, planner.ASSIGNMENT, part, True, rng)


@counted
def _arrive(cfg: Config, a, ch, b, q, c, f, o: Organisation, kind, j, correct, rng, prng) -> None:
    """``_Organisation.arrive``."""
    if kind == planner.ASSIGNMENT:
        _assign(cfg, a, ch, b, q, c, f, o, j, rng, prng)
    elif kind == planner.SUBMISSION:
        o.correct[j] = correct
        _request(cfg, q, f, o, j, planner.CHECK, prng)
    elif kind == planner.REDO:
        o.redos[j] += 1
        _request(cfg, q, f, o, j, planner.WORK, prng)
    else:
        parent = (j - 1) // cfg.branching
        o.inputs_right[parent] = o.inputs_right[parent] and correct
        o.pending[parent] -= 1
        if o.pending[parent] == 0:
            _request(cfg, q, f, o, parent, planner.WORK, prng)


@counted
def _record_output(cfg: Config, a: Agents, b: Buffers, c, f, rc, m: int, correct: bool) -> None:
    """``_Organisation.record`` (``WorkerAgent.record_output``)."""
    old = a.state[m].choice
    new = rules.output_option(correct, cfg.truth, cfg.options)
    a.state[m].choice = new
    _one_hot(a, m, new)
    if new != old:
        _position(cfg, b, c, f, rc, old, new)


@counted
def _finish(cfg: Config, a, ch, b, q, c, f, o: Organisation, j: int, correct: bool, rng) -> None:
    """``_Organisation.finish``."""
    if j == 0:
        c[C_SUCCESS] = int(correct)
        schedule_step(q, f[F_NOW], ACCEPTED)
    else:
        _hand_over(cfg, a, ch, b, q, c, f, o, planner.REPORT, j, correct, rng)


@counted
def _desk_done(cfg: Config, a, ch, b, q, c, f, rc, o: Organisation, j, step, rng, prng, arng):
    """``_Organisation.done``: the desk passes to the next in line, then the step's
    outcome is drawn and passed on."""
    m = _desk_of(o, j, step)
    following = o.head[m]
    if following >= 0:
        o.head[m] = o.next_in_line[following]
        if o.head[m] < 0:
            o.tail[m] = -1
        _begin(cfg, q, f, following, o.step[following], prng)
    else:
        o.busy[m] = False
    if step == planner.WORK:
        f[F_COST] += 1.0
        correct = rules.execution_correct(o.error_rate[m], o.inputs_right[j], cfg.propagation, arng)
        _record_output(cfg, a, b, c, f, rc, m, correct)
        if checked(cfg.verify, j):
            _hand_over(cfg, a, ch, b, q, c, f, o, planner.SUBMISSION, j, correct, rng)
        else:
            _finish(cfg, a, ch, b, q, c, f, o, j, correct, rng)
        return
    f[F_COST] += cfg.verification_cost
    correct = o.correct[j]
    flag = rules.flagged(correct, o.recall[m], arng)
    _record_output(cfg, a, b, c, f, rc, m, flag or correct)
    if not flag or o.redos[j] == cfg.max_redos:
        _finish(cfg, a, ch, b, q, c, f, o, j, correct, rng)
    else:
        _hand_over(cfg, a, ch, b, q, c, f, o, planner.REDO, j, True, rng)


@counted
def _organisation(cfg, a, ch, b, q, c, f, rc, o: Organisation, ref, v, p, rng, prng, arng):
    """A planner-worker protocol event: the start (the root reaches the planner), a
    desk's step done (step ``v`` of subtask ``p``), a lost message noticed (``v``: its
    ``2 * kind + correct``, about subtask ``p``; ``_Organisation.send``'s ``noticed``),
    or the root's result accepted (the process ends one event later)."""
    if ref == INIT:
        _assign(cfg, a, ch, b, q, c, f, o, 0, rng, prng)
    elif ref == DESK_DONE:
        _desk_done(cfg, a, ch, b, q, c, f, rc, o, p, v, rng, prng, arng)
    elif ref == LOSS_NOTICED:
        kind, correct = v >> 1, v & 1 == 1
        if cfg.fail_on_loss and (kind == planner.SUBMISSION or kind == planner.REPORT):
            _arrive(cfg, a, ch, b, q, c, f, o, kind, p, False, rng, prng)
        else:
            _hand_over(cfg, a, ch, b, q, c, f, o, kind, p, correct, rng)
    elif ref == ACCEPTED:
        schedule_step(q, f[F_NOW], END)


@counted
def _protocol_event(cfg, net, a, arcs, ch, b, q, c, f, rc, ref, v, p, t, d, o, rng, prng, arng):
    now = f[F_NOW]
    if cfg.protocol == PLANNER:
        _organisation(cfg, a, ch, b, q, c, f, rc, o, ref, v, p, rng, prng, arng)
        return
    if cfg.protocol == SEQUENTIAL:
        if ref != END:
            _sequential(cfg, net, a, arcs, ch, b, q, c, f, rc, t.order, rng, arng)
        return
    if cfg.protocol == DEBATE:
        if ref != END:
            _debate(cfg, net, a, arcs, ch, b, q, c, f, rc, ref, t, rng, prng, arng)
        return
    if cfg.protocol == BANDIT:
        if ref != END:
            _bandit(cfg, net, a, arcs, ch, b, q, c, f, rc, ref, rng, prng, arng)
        return
    if cfg.protocol == HIDDEN_PROFILE:
        if ref != END:
            _discussion(cfg, net, a, arcs, ch, b, q, c, f, rc, ref, d, rng, prng, arng)
        return
    if cfg.protocol == ASYNCHRONOUS:
        if ref == INIT:
            _act_all(cfg, net, a, arcs, ch, b, q, c, f, rc, True, rng, arng)
        elif ref == WAKE:
            v = prng.integers(0, cfg.n)
            _act(cfg, net, a, arcs, ch, b, q, c, f, rc, v, True, rng, arng)
        else:
            return
        if cfg.wake_mean_gap > 0.0:
            schedule_step(q, now + prng.exponential(cfg.wake_mean_gap), WAKE)
        else:
            schedule_step(q, now, END)
        return
    # ROUNDS
    if ref == END:
        return
    _act_all(cfg, net, a, arcs, ch, b, q, c, f, rc, False, rng, arng)
    if ref == ROUND_END:
        c[C_ROUND] += 1
    if c[C_ROUND] < cfg.rounds:
        for v in range(cfg.n):
            _announce(cfg, net, a, ch, b, q, c, f, v, rng)
        schedule_step(q, now + cfg.round_duration, ROUND_END)
    else:
        schedule_step(q, now, END)


@njit(cache=True, inline="always")
def _stop_due(cfg: Config, c: np.ndarray, f: np.ndarray) -> None:
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


ROOM_BATCH = 64
"""Deliveries and wake-ups that one check of the buffers covers (their worst case)."""
PREFETCH_AHEAD = 6
"""How many events ahead the loop prefetches the receiver's and the in-arc's rows."""


@njit(cache=True, inline="always")
def _room(cfg: Config, b: Buffers, q: Calendar, c, messages: int, agents: int) -> bool:
    """Whether the queue and the buffers can take ``messages`` more messages and
    ``agents`` more announcements; if not, record in ``c[C_NEED]`` which are short."""
    need = 0
    if not calendar.room(q, messages):
        need |= NEED_QUEUE
    if keeps_announcements(cfg) and c[C_ANNS] + agents > len(b.anns):
        need |= NEED_ANNS
    # The belief pool and the waiting list exist only if DeGroot agents or queues do.
    if len(b.pool) > 0 and c[C_POOL] + agents > len(b.pool):
        need |= NEED_POOL
    if len(b.waiting) > 0 and c[C_WAITING] + messages > len(b.waiting):
        need |= NEED_WAITING
    c[C_NEED] = need
    return need == 0


@njit(cache=True, inline="always")
def _room_rows(cfg: Config, rows: np.ndarray, c, f, time: float) -> bool:
    """Whether the time series can take the rows an event at ``time`` may write."""
    needed = 2
    if time >= f[F_NEXT_SAMPLE]:
        needed += int((time - f[F_NEXT_SAMPLE]) / cfg.record_interval) + 2
    if c[C_ROWS] + needed > len(rows):
        c[C_NEED] = NEED_ROWS
        return False
    return True


@lean
def run_loop(
    cfg: Config,
    net: Network,
    a: Agents,
    arcs: np.ndarray,
    ch: Channels,
    b: Buffers,
    q: Calendar,
    c: np.ndarray,
    f: np.ndarray,
    rc: np.ndarray,
    turns: Turns,
    discussion: Discussion,
    organisation: Organisation,
    fan_total: int,
    fan_max: int,
    chunk: int,
    rng: np.random.Generator,
    prng: np.random.Generator,
    arng: np.random.Generator,
) -> int:
    """Process events until the run stops, a buffer is short, or ``chunk`` events.

    Args:
        cfg, net, a, ch, b: The run (see the named tuples above).
        arcs: :data:`INARC` record of each in-arc.
        q: The event queue.
        c: Integer counters (``C_*`` slots).
        f: Float state (``F_*`` slots).
        rc: The recorder's count of agents holding each option.
        turns: The turn-taking protocols' state.
        discussion: The hidden profile's state.
        organisation: The planner-worker protocol's state.
        fan_total: Arcs of the network (most messages one bulk event can send).
        fan_max: Largest out-degree (most messages one agent's broadcast can send).
        chunk: Return after this many events (for progress reports).
        rng, prng, arng: The channels', protocol's and agents' streams.

    Returns:
        :data:`DONE` (``c[C_STOP]`` says why), :data:`NEED_SPACE` (``c[C_NEED]`` says
        which buffers) or :data:`CHUNK`.
    """
    # Borrowed views of every array (see sim.fast.intrinsics): the helpers below pass
    # them around without counting references.
    net = Network(
        borrowed(net.indptr),
        borrowed(net.indices),
        borrowed(net.in_ptr),
        borrowed(net.senders),
        borrowed(net.in_of_out),
        borrowed(net.out_of_in),
        borrowed(net.trust),
    )
    a = Agents(
        borrowed(a.state),
        borrowed(a.opinion),
        borrowed(a.log_prior),
        borrowed(a.scores),
        borrowed(a.likelihood),
        borrowed(a.posterior),
        borrowed(a.persuasion),
        borrowed(a.firsts),
    )
    arcs = borrowed(arcs)
    ch = Channels(borrowed(ch.settings), borrowed(ch.arcs))
    b = Buffers(
        borrowed(b.anns),
        borrowed(b.pool),
        borrowed(b.waiting),
        borrowed(b.rows),
        borrowed(b.scratch),
        borrowed(b.heard),
    )
    q = Calendar(
        borrowed(q.slots),
        borrowed(q.block_next),
        borrowed(q.buckets),
        borrowed(q.current),
        borrowed(q.work),
        borrowed(q.side),
        borrowed(q.side_seq),
        borrowed(q.spare),
        borrowed(q.state),
        borrowed(q.width),
    )
    c, f, rc = borrowed(c), borrowed(f), borrowed(rc)
    turns = Turns(
        borrowed(turns.order),
        borrowed(turns.role),
        borrowed(turns.defended),
        borrowed(turns.opening),
        borrowed(turns.accuracy),
        borrowed(turns.stated),
    )
    d = Discussion(
        borrowed(discussion.option),
        borrowed(discussion.valence),
        borrowed(discussion.unshared),
        borrowed(discussion.chance_ptr),
        borrowed(discussion.item),
        borrowed(discussion.probability),
        borrowed(discussion.known),
        borrowed(discussion.surfaced),
    )
    o = Organisation(
        borrowed(organisation.workers),
        borrowed(organisation.verifiers),
        borrowed(organisation.error_rate),
        borrowed(organisation.recall),
        borrowed(organisation.pending),
        borrowed(organisation.inputs_right),
        borrowed(organisation.correct),
        borrowed(organisation.redos),
        borrowed(organisation.next_in_line),
        borrowed(organisation.step),
        borrowed(organisation.busy),
        borrowed(organisation.head),
        borrowed(organisation.tail),
        borrowed(organisation.channel),
    )
    processed = 0
    covered = 0  # deliveries and wake-ups the last check of the buffers covers
    while c[C_STOP] == RUNNING:
        where, time, ref = calendar.peek(q)
        if where == calendar.EMPTY:
            if c[C_BEYOND] > 0:  # messages are due after max_time
                if cfg.max_time > f[F_NOW]:
                    f[F_NOW] = cfg.max_time
                c[C_STOP] = MAX_TIME
            else:
                c[C_STOP] = COMPLETED
            break
        if where == calendar.SHORT:
            c[C_NEED] = NEED_QUEUE
            return NEED_SPACE
        if time > cfg.max_time:
            if cfg.max_time > f[F_NOW]:
                f[F_NOW] = cfg.max_time
            c[C_STOP] = MAX_TIME
            break
        if processed >= chunk:
            return CHUNK
        # Protocol steps may make every agent act; a delivery or a wake-up makes one
        # act, and is covered by a check made for a batch of them.
        if ref < 0 and ref != WAKE and ref != END:
            if not _room(cfg, b, q, c, cfg.burst * fan_total + 2, cfg.n):
                return NEED_SPACE
            covered = 0
        elif covered == 0:
            if not _room(cfg, b, q, c, ROOM_BATCH * (fan_max + 3), ROOM_BATCH):
                return NEED_SPACE
            covered = ROOM_BATCH - 1
        else:
            covered -= 1
        if not _room_rows(cfg, b.rows, c, f, time):
            return NEED_SPACE
        time, ref, v, p, sent = calendar.take(q, where)
        coming, coming_arc, _ = calendar.upcoming(q, PREFETCH_AHEAD)
        if coming >= 0:
            prefetch_row(a.state, coming)
            prefetch_row(a.opinion, coming)
            prefetch_row(arcs, coming_arc)
            if cfg.wake_on_message:
                prefetch_row(net.indptr, coming)
                if cfg.bayesians:
                    prefetch_row(net.in_ptr, coming)
        if cfg.wake_on_message:
            # Where a nearer receiver's out-arcs are, should it act and broadcast.
            nearer, _, nearer_sent = calendar.upcoming(q, PREFETCH_AHEAD // 2)
            if nearer >= 0:
                first = net.indptr[nearer]
                prefetch_row(net.indices, first)
                prefetch_row(net.in_of_out, first)
                if cfg.bayesians:
                    _prefetch_history(net, a, nearer, nearer_sent)
        f[F_NOW] = time
        c[C_EVENTS] += 1
        processed += 1
        if ref < 0:
            _protocol_event(
                cfg, net, a, arcs, ch, b, q, c, f, rc, ref, v, p, turns, d, o, rng, prng, arng
            )
            _stop_due(cfg, c, f)
            continue
        # A delivery: announcement `ann` to `v` on in-arc `p`.
        ann, option, limited = message_parts(ref)
        c[C_DELIVERED] += 1
        if limited:  # a capacity-limited channel: its slot is free again
            outarc = p if cfg.protocol == PLANNER else net.out_of_in[p]
            w = ch.arcs[outarc].head
            if w >= 0:
                # The freed slot goes straight to the oldest waiting message.
                ch.arcs[outarc].head = b.waiting[w].next
                if b.waiting[w].next < 0:
                    ch.arcs[outarc].tail = -1
                held = b.waiting[w]
                _send(cfg, q, c, time + held.latency, held.code, v, p, held.sent)
                held.next = c[C_FREE_WAITING] - 1  # the record is free again
                c[C_FREE_WAITING] = w + 1
            else:
                ch.arcs[outarc].in_transit -= 1
        if cfg.protocol == BANDIT:
            _take_result(cfg, a, c, v, ann, option)
        elif cfg.protocol == PLANNER:
            _arrive(cfg, a, ch, b, q, c, f, o, option >> 1, ann, option & 1 == 1, rng, prng)
        elif cfg.protocol == HIDDEN_PROFILE:
            _hear_mention(a, d, v, ann, option)
        elif _receive(cfg, a, arcs, b, v, p, ann, option, sent) and cfg.wake_on_message:
            _act_inline(cfg, net, a, arcs, ch, b, q, c, f, rc, v, True, rng, arng)
        if cfg.protocol == SEQUENTIAL or cfg.protocol == DEBATE:
            r = a.state[v]
            r.pending -= 1
            if r.pending == 0 and c[C_WAIT_AGENT] == v:
                c[C_WAIT_AGENT] = -1
                schedule_step(q, time, DRAINED)
        _stop_due(cfg, c, f)
    return DONE
