"""The fast engine: a stylized society as arrays, run by a compiled event loop.

:class:`FastRun` builds, from a scenario, exactly what :class:`~sim.society.Society`
builds (the same streams give the same world, population and network) but as flat
arrays, then hands them to :func:`sim.fast.loop.run_loop`. The loop replays the SimPy
engine's schedule event for event, calling the same rule kernels (:mod:`sim.rules`), so
the two engines produce the same run for the same seed; the test suite checks that,
seed by seed and as distributions.

What the fast engine does not do is listed by :func:`unsupported_parts`: agent kinds
other than those of :data:`KIND_CODES` (a kind registered by a user, LLM-backed agents),
Dirichlet agents under asynchronous wake-ups, Beta, informed and worker agents outside
the protocols made for them (bandit, hidden profile, planner-worker), and the
per-message event log (``--events``).

Main entry points: :func:`unsupported_parts`, :class:`FastRun`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, NamedTuple

import networkx as nx
import numpy as np
from numba import njit

from sim import adjacency as graphs
from sim import distributions, rules
from sim.adjacency import Adjacency
from sim.agents import beta as bandit_agents
from sim.agents.bayesian import BayesianGroup
from sim.agents.degroot import DeGrootGroup
from sim.agents.stubborn import StubbornGroup
from sim.config import ScenarioConfig
from sim.distributions import Beta, Constant, Exponential, LogNormal, Quantity, Uniform
from sim.errors import ScenarioError
from sim.fast import calendar, loop
from sim.fast.intrinsics import CACHE_LINE
from sim.institutions import InstitutionConfig
from sim.memory import Episode
from sim.metrics import summary_row
from sim.network import run_network
from sim.population import Population, draw_members
from sim.protocols import (
    AsynchronousProtocol,
    BanditProtocol,
    DebateProtocol,
    HiddenProfileProtocol,
    PlannerWorkerProtocol,
    RoundsProtocol,
    SequentialProtocol,
    planner,
)
from sim.protocols.debate import debate_outcome
from sim.protocols.hidden_profile import HiddenProfileInstance, deal, discussion_outcome, profile_of
from sim.protocols.planner import staff, subtask_count
from sim.recorder import timeseries_frame
from sim.results import RunResult
from sim.streams import Component, Streams

KIND_CODES: dict[str, int] = {
    "bayesian": loop.BAYESIAN,
    "social": loop.SOCIAL,
    "degroot": loop.DEGROOT,
    "threshold": loop.THRESHOLD,
    "voter": loop.VOTER,
    "stubborn": loop.STUBBORN,
    "confidence": loop.CONFIDENCE,
    "dirichlet": loop.DIRICHLET,
    "beta": loop.BETA_AGENT,
    "informed": loop.INFORMED,
    "worker": loop.WORKER,
}
"""The agent kinds the fast engine runs, with their codes in the compiled loop."""

PROTOCOLS = (
    "sequential",
    "asynchronous",
    "rounds",
    "debate",
    "bandit",
    "hidden_profile",
    "planner_worker",
)
"""The protocols the fast engine runs."""

_ONLY_UNDER = {"beta": "bandit", "informed": "hidden_profile", "worker": "planner_worker"}
"""Agent kinds the fast engine runs only under the protocol made for them."""

ROLES = {"critic": loop.CRITIC, "devils_advocate": loop.ADVOCATE}
"""Debate roles with their codes in the compiled loop (any other role: a member)."""

Progress = Callable[[int, float], None]
"""Called with (events so far, simulated time) every ``chunk`` events."""


def unsupported_parts(config: ScenarioConfig, *, record_events: bool = False) -> list[str]:
    """What in this scenario the fast engine cannot run (empty: it runs all of it).

    Args:
        config: The scenario.
        record_events: Whether the per-message event log is asked for.

    Returns:
        One readable item per unsupported part, naming its key.
    """
    parts = []
    for i, group in enumerate(config.population.groups):
        if group.agent not in KIND_CODES:
            parts.append(f"population.groups.{i}.agent = {group.agent!r}")
        elif group.agent == "dirichlet" and config.protocol.kind == "asynchronous":
            # Its agents may announce twice at one instant, which a Dirichlet agent
            # counts once: the fast engine keeps no record of what it counted.
            parts.append(
                f"population.groups.{i}.agent = 'dirichlet' under protocol.kind = 'asynchronous'"
            )
        elif _ONLY_UNDER.get(group.agent, config.protocol.kind) != config.protocol.kind:
            parts.append(
                f"population.groups.{i}.agent = {group.agent!r} under protocol.kind = "
                f"{config.protocol.kind!r} (the fast engine runs it under "
                f"{_ONLY_UNDER[group.agent]!r} only)"
            )
    if config.protocol.kind not in PROTOCOLS:
        parts.append(f"protocol.kind = {config.protocol.kind!r}")
    if config.world.options > loop.MAX_OPTIONS:
        parts.append(f"world.options = {config.world.options} (at most {loop.MAX_OPTIONS})")
    if record_events:
        parts.append("the per-message event log (--events)")
    return parts


def warm_up() -> None:
    """Compile (or load from numba's cache) every specialisation the engine uses, by
    running one small scenario per agent kind and protocol."""
    from sim.scenario import Scenario

    for kind in KIND_CODES:
        for protocol in PROTOCOLS:
            data: dict[str, Any] = {
                "population": {"size": 6, "groups": [{"agent": kind}]},
                "protocol": {"kind": protocol},
                "channels": {"capacity": 1, "overflow": "queue"},
                "stop": {"max_time": 3.0},
            }
            try:
                config = Scenario.from_dict(data).config
            except ScenarioError:  # the protocol needs other agents (the bandit: beta)
                continue
            if not unsupported_parts(config):
                FastRun(config, seed=0).run()


def _distribution(value: Quantity) -> tuple[int, float, float]:
    """A latency or duration as the loop's distribution code and parameters."""
    if isinstance(value, int | float):
        return loop.CONSTANT, float(value), 0.0
    if isinstance(value, Constant):
        return loop.CONSTANT, float(value.value), 0.0
    if isinstance(value, Uniform):
        return loop.UNIFORM, value.low, value.high
    if isinstance(value, Exponential):
        return loop.EXPONENTIAL, value.mean_, 0.0
    if isinstance(value, LogNormal):
        return loop.LOGNORMAL, value.mu, value.sigma
    if isinstance(value, Beta):
        return loop.BETA, value.a, value.b
    raise AssertionError(f"{value!r} cannot pass validation")  # normal: support below 0


@njit(cache=True, nogil=True)
def _agent_records(
    state: np.ndarray,
    group: np.ndarray,
    signals: np.ndarray,
    accuracy: np.ndarray,
    of_group: np.ndarray,
    weight: np.ndarray,
    threshold: np.ndarray,
    self_weight: np.ndarray,
) -> None:
    """Fill every agent's record (zeroed) in one pass; ``of_group`` holds each group's
    ``kind``, ``tie``, ``tolerance``, ``assumed`` (NaN: the agent's own accuracy) and
    ``held`` (-1: the agent's signal)."""
    for i in range(len(state)):
        g = group[i]
        r = state[i]
        r.kind = of_group[g].kind
        r.tie = of_group[g].tie
        r.group = g
        r.signal = signals[i]
        r.choice = -1
        r.held = signals[i] if of_group[g].held < 0 else of_group[g].held
        r.weight = weight[i]
        r.threshold = threshold[i]
        r.self_weight = self_weight[i]
        r.tolerance = of_group[g].tolerance
        assumed = of_group[g].assumed
        r.assumed = accuracy[i] if np.isnan(assumed) else assumed
        r.group_time = -1.0


@njit(cache=True, nogil=True)
def _initial_opinion(
    opinion: np.ndarray,
    signals: np.ndarray,
    accuracy: np.ndarray,
    log_prior: np.ndarray,
    group: np.ndarray,
) -> None:
    """Own evidence and the belief it gives, and the public belief before any
    announcement (the prior), for every agent (what each SimPy agent computes when it
    is made). Both depend only on the agent's group, signal and accuracy: an agent
    whose group and signal were last seen with the same accuracy copies those rows."""
    options = opinion.shape[2]
    scratch = np.empty(options)
    groups = len(log_prior)
    public = np.empty((groups, options))
    for g in range(groups):
        public[g] = rules.log_normalize(log_prior[g])
    seen = np.full((groups, options), np.nan)  # accuracy of the rows kept (NaN: none)
    own = np.empty((groups, options, options))
    belief = np.empty((groups, options, options))
    for i in range(len(signals)):
        g, signal = group[i], signals[i]
        if accuracy[i] != seen[g, signal]:
            rules.signal_log_likelihood_into(own[g, signal], signal, accuracy[i])
            for k in range(options):
                scratch[k] = log_prior[g, k] + own[g, signal, k]
            rules.normalize_into(belief[g, signal], scratch)
            seen[g, signal] = accuracy[i]
        for k in range(options):
            opinion[i, loop.OWN, k] = own[g, signal, k]
            opinion[i, loop.PUBLIC, k] = public[g, k]
            opinion[i, loop.BELIEF, k] = belief[g, signal, k]


@njit(cache=True)
def _dirichlet_opinion(
    opinion: np.ndarray,
    members: np.ndarray,
    signals: np.ndarray,
    concentration: np.ndarray,
    signal_weight: np.ndarray,
) -> None:
    """Dirichlet agents' counts (``concentration`` on each option, ``signal_weight``
    more on the signal's) and their mean as the belief (``DirichletAgent.configure``)."""
    for i in members:
        alpha = opinion[i, loop.ALPHA]
        for k in range(len(alpha)):
            alpha[k] = concentration[i]
        alpha[signals[i]] += signal_weight[i]
        rules.dirichlet_mean_into(opinion[i, loop.BELIEF], alpha)


@njit(cache=True)
def _message_keys(
    workers: np.ndarray, verifiers: np.ndarray, verify: int, branching: int, count: int, n: int
) -> np.ndarray:
    """``sender * n + receiver`` of each planner-worker message (by kind and subtask; -1
    for messages never sent: the root's assignment, unchecked subtasks' submissions and
    redo requests)."""
    keys = np.full((4, count), -1, dtype=np.int64)
    for kind in range(4):
        for j in range(count):
            if kind == planner.ASSIGNMENT and j == 0:
                continue
            if (kind == planner.SUBMISSION or kind == planner.REDO) and not loop.checked(verify, j):
                continue
            sender, receiver = loop.message_ends(workers, verifiers, verify, branching, kind, j)
            keys[kind, j] = sender * n + receiver
    return keys


_GROUP = np.dtype(
    [
        ("kind", np.int64),
        ("tie", np.int64),
        ("tolerance", np.float64),
        ("assumed", np.float64),
        ("held", np.int64),
    ]
)
"""What the members of a population group share (see :func:`_agent_records`)."""


def _bucket_width(config: ScenarioConfig) -> float:
    """A first bucket width for the event queue: a window of buckets spanning eight
    typical latencies (or protocol intervals), so that the opening burst of messages
    mostly lands inside it. Only speed depends on it; the queue refits it to the
    events it holds whenever its window is used up."""
    means = [distributions.mean(channel.latency) for channel in config.group_channels()]
    protocol = config.protocol
    spread = max([*means, getattr(protocol, "interval", 0.0), 0.0])
    if isinstance(protocol, RoundsProtocol | DebateProtocol | BanditProtocol):
        spread = max(spread, protocol.round_duration)
    if isinstance(protocol, HiddenProfileProtocol):
        spread = max(spread, protocol.turn_duration)
    if isinstance(protocol, PlannerWorkerProtocol):
        spread = max(
            spread,
            distributions.mean(protocol.work_time),
            distributions.mean(protocol.verification_time),
        )
    if not spread > 0.0 or not math.isfinite(spread):
        spread = 1.0
    return 8.0 * spread / calendar.BUCKETS


_PARALLEL_ARCS = 1 << 20
"""Networks with at least this many arcs are transposed in a second thread (compiled
code that releases the GIL) while the agents' arrays are filled."""

_PARALLEL_AGENTS = 1 << 17
"""Runs of at least this many agents that make their own network make it (and
transpose it) in a second thread while the agents' arrays are filled."""


def _in_parallel(n: int, adjacency: Adjacency | None) -> bool:
    """Whether a run of ``n`` agents makes its network's arrays in a second thread."""
    if adjacency is None:
        return n >= _PARALLEL_AGENTS
    return adjacency.n_arcs >= _PARALLEL_ARCS


def _kinds(config: ScenarioConfig) -> frozenset[str]:
    """The agent kinds the population's groups have."""
    return frozenset(g.agent for g in config.population.groups)


def _anonymity(config: ScenarioConfig) -> bool:
    """Whether identities are hidden (no weight given by reputation or trust)."""
    return config.institution is not None and config.institution.anonymity


def _delphi(config: ScenarioConfig) -> bool:
    """Whether a debate ends its rounds with Delphi feedback."""
    institution = config.institution or InstitutionConfig()
    return isinstance(config.protocol, DebateProtocol) and institution.delphi


class _Wiring(NamedTuple):
    """What :meth:`FastRun._wired` makes."""

    adjacency: Adjacency  # the network
    messaging: Adjacency  # the arcs messages travel on (everyone's, in a debate all hear)
    channels: loop.Channels
    net: loop.Network
    graph_seconds: float  # making the network (0: given)


def zeros_on_cache_lines(count: int, dtype: np.dtype) -> np.ndarray:
    """``np.zeros(count, dtype)`` starting on a cache-line boundary.

    numpy starts a large array 16 bytes past a page boundary, so half of an array's
    32-byte records would straddle two cache lines, and the in-arc record a delivery
    reads would cost two memory accesses instead of one.
    The zeroed memory comes from the system untouched, as for ``np.zeros``."""
    size = count * dtype.itemsize
    raw = np.zeros(size + CACHE_LINE, dtype=np.uint8)
    start = -raw.ctypes.data % CACHE_LINE
    return raw[start : start + size].view(dtype)


def _grown(array: np.ndarray, size: int) -> np.ndarray:
    out = np.empty((size, *array.shape[1:]), dtype=array.dtype)
    out[: len(array)] = array
    return out


class FastRun:
    """One run of a scenario on the fast engine.

    Args:
        config: The validated scenario (every part supported, see
            :func:`unsupported_parts`).
        seed: Root seed (default: ``config.seed``).
        base_dir: Folder that relative paths in the scenario resolve against.
        adjacency: The network, if already built: what ``build_adjacency`` gives for
            this scenario and seed, or any networkx graph on nodes ``0..n-1`` (converted;
            an undirected edge becomes both arcs).

    Example:
        >>> import sim
        >>> from sim.fast import FastRun
        >>> scenario = sim.Scenario.from_dict({"population": {"size": 20}})
        >>> result = FastRun(scenario.config, seed=1).run()
        >>> result.summary["engine"], result.summary["n_agents"]
        ('fast', 20)
    """

    def __init__(
        self,
        config: ScenarioConfig,
        seed: int | None = None,
        *,
        base_dir: Path | None = None,
        adjacency: Adjacency | nx.Graph | None = None,
    ) -> None:
        problems = unsupported_parts(config)
        if problems:
            raise ValueError(f"the fast engine cannot run: {'; '.join(problems)}")
        started = time.perf_counter()
        self.config = config
        self.seed = config.seed if seed is None else int(seed)
        streams = Streams(self.seed)
        if isinstance(adjacency, nx.Graph):
            adjacency = Adjacency.from_networkx(adjacency)
        size = config.population.size if adjacency is None else adjacency.n
        self._cfg: loop.Config
        self._agents: loop.Agents  # (both made by _make_agents)
        wiring = (config, adjacency, streams, base_dir)
        if size is not None and _in_parallel(size, adjacency):
            # The network (made, transposed) on a second core while the agents are made.
            with ThreadPoolExecutor(max_workers=1) as pool:
                wiring_up = pool.submit(self._wired, *wiring)
                population = self._make_agents(config, size, streams)
                wired = wiring_up.result()
        else:  # (without population.size, the network's file says how many agents)
            wired = self._wired(*wiring)
            population = self._make_agents(config, wired.adjacency.n, streams)
        adjacency, messaging = wired.adjacency, wired.messaging
        self._channels, self._net = wired.channels, wired.net
        self.adjacency = adjacency
        # Seconds spent making the network (0 if it was given; in a second thread for
        # large runs, alongside the agents).
        self.graph_seconds = wired.graph_seconds
        n, protocol = self.n, config.protocol
        accuracy_of, options = population.accuracy, self.options
        institution = config.institution
        self._episode = Episode(institution.memory if institution else None, _anonymity(config), n)
        self._agents = self._with_firsts(self._agents, self._net.in_ptr)
        # Room in the queue for twice a broadcast by everyone: storage never written to
        # is address space only, and growing the queue later would copy it. Where the
        # system will not reserve that much, start at one broadcast and grow when needed.
        broadcast = messaging.n_arcs + n
        width = _bucket_width(config)
        try:
            self._queue = calendar.new(2 * broadcast, width)
        except MemoryError:
            self._queue = calendar.new(broadcast, width)
        self._arcs = zeros_on_cache_lines(messaging.n_arcs, loop.INARC)  # nothing heard yet
        out_degree = np.diff(messaging.indptr)
        self._fan_total = int(messaging.n_arcs)
        self._fan_max = int(out_degree.max()) if n else 0
        if isinstance(protocol, PlannerWorkerProtocol):
            # An organisation's event sends at most `branching` messages (the network
            # carries none), each possibly lost (a timer), and starts at most one step.
            fan = 2 * protocol.branching + 2
            self._fan_total, self._fan_max = max(self._fan_total, fan), max(self._fan_max, fan)
        self._in_max = int(np.diff(self._net.in_ptr).max()) if n else 0
        queues = bool(np.any(self._channels.settings["queue"]))
        self._buffers = self._initial_buffers(n, queues)
        self._counters = np.zeros(loop.N_COUNTERS, dtype=np.int64)
        self._counters[loop.C_FIRST_OPTION] = -1
        self._counters[loop.C_WAIT_AGENT] = -1
        self._counters[loop.C_ONSET] = -1
        self._counters[loop.C_SUCCESS] = -1
        self._floats = np.zeros(loop.N_FLOATS)
        self._floats[loop.F_CONSENSUS_SINCE] = math.nan
        self._record_counts = np.zeros(options, dtype=np.int64)
        self._rngs = (
            streams.generator(Component.CHANNELS),
            streams.generator(Component.PROTOCOL),
            streams.generator(Component.AGENT),
        )
        self._turns = self._turn_state(config, adjacency, population.group, accuracy_of)
        self._profile: HiddenProfileInstance | None = None
        self._discussion = self._discussion_state(config)
        self._organisation = self._organisation_state(config, population)
        loop.schedule_step(self._queue, 0.0, loop.INIT)
        self.build_seconds = time.perf_counter() - started
        self._wall = 0.0  # like the SimPy engine's, the time spent running events

    # -- building -----------------------------------------------------------------------

    def _make_agents(self, config: ScenarioConfig, n: int, streams: Streams) -> Population:
        """Draw the run's members and world, and make the run's settings and the agents'
        arrays (``truth``, ``options``, ``n``, ``_cfg``, ``_agents``); the members."""
        population, world = draw_members(config, n, streams)
        self.truth, self.options, self.n = world.truth, world.options, n
        self._cfg = self._config(config, n, world.truth, population.accuracy)
        self._agents = self._population(config, population, world.signals, population.accuracy)
        return population

    @classmethod
    def _wired(
        cls,
        config: ScenarioConfig,
        adjacency: Adjacency | None,
        streams: Streams,
        base_dir: Path | None,
    ) -> _Wiring:
        """The run's network (built here if not given), the arcs messages travel on,
        their channels, and both made into the loop's arrays. Reads nothing the agents'
        arrays are made from, so that it can run while they are."""
        graph_seconds = 0.0
        if adjacency is None:
            started = time.perf_counter()
            adjacency = run_network(config, streams, base_dir)
            graph_seconds = time.perf_counter() - started
        n = adjacency.n
        # Who hears whom: the network, or everyone in a debate everyone hears (Delphi
        # feedback reaches everyone too).
        protocol, delphi = config.protocol, _delphi(config)
        degroots = "degroot" in _kinds(config)  # they read trust weights
        heard_by_all = isinstance(protocol, DebateProtocol) and (
            protocol.visibility == "all" or delphi
        )
        messaging = graphs.complete(n) if heard_by_all else adjacency
        weighted = degroots and adjacency.weights is not None and not _anonymity(config)
        if heard_by_all and weighted:
            raise ValueError(
                "the fast engine cannot run DeGroot agents on a weighted network in a debate "
                "everyone hears (use engine = 'simpy')"
            )
        if messaging.n_arcs > np.iinfo(np.int32).max:
            raise ValueError(
                f"the fast engine handles at most {np.iinfo(np.int32).max:,} arcs; "
                f"this network has {messaging.n_arcs:,} (use engine = 'simpy')"
            )
        channels = cls._channel_state(config, messaging)
        capacities = len(channels.arcs) > 0
        net = cls._network(messaging, degroots, weighted, capacities, delphi)
        return _Wiring(adjacency, messaging, channels, net, graph_seconds)

    @staticmethod
    def _config(config: ScenarioConfig, n: int, truth: int, accuracy_of: np.ndarray) -> loop.Config:
        protocol, stop, kinds = config.protocol, config.stop, _kinds(config)
        interval, gap, wake_on_message, rounds, duration = 0.0, 0.0, False, 0, 0.0
        institution = config.institution or InstitutionConfig()
        simultaneous, speaking_order = False, loop.FIXED
        pulls, p_worse, p_better, known_arm, settle_sd = 0, 0.0, 0.0, -1, 0.0
        if isinstance(protocol, SequentialProtocol):
            kind, interval = loop.SEQUENTIAL, protocol.interval
        elif isinstance(protocol, DebateProtocol):
            kind, interval = loop.DEBATE, protocol.turn_interval
            rounds, duration = protocol.rounds, protocol.round_duration
            simultaneous = protocol.speaking == "simultaneous" or institution.delphi
            speaking_order = {"random": loop.RANDOM, "confidence": loop.BY_CONFIDENCE}.get(
                institution.speaking_order, loop.FIXED
            )
        elif isinstance(protocol, AsynchronousProtocol):
            kind = loop.ASYNCHRONOUS
            gap = 1.0 / (n * protocol.wake_rate) if protocol.wake_rate > 0 else 0.0
            wake_on_message = protocol.wake_on_message
        elif isinstance(protocol, HiddenProfileProtocol):
            kind, rounds, duration = loop.HIDDEN_PROFILE, protocol.turns, protocol.turn_duration
        elif isinstance(protocol, PlannerWorkerProtocol):
            kind = loop.PLANNER
        elif isinstance(protocol, BanditProtocol):
            kind, rounds, duration = loop.BANDIT, protocol.rounds, protocol.round_duration
            pulls, settle_sd = protocol.pulls, protocol.settle_sd
            p_worse, p_better = protocol.p_worse, protocol.p_worse + protocol.epsilon
            known_arm = 1 - truth if protocol.known_worse else -1
        else:
            assert isinstance(protocol, RoundsProtocol)
            kind, rounds, duration = loop.ROUNDS, protocol.rounds, protocol.round_duration
        observer_accuracy, observer_tie = config.observer_parameters(accuracy_of)
        # The planner-worker protocol's settings (its defaults under other protocols).
        org = protocol if isinstance(protocol, PlannerWorkerProtocol) else PlannerWorkerProtocol()
        work, check = _distribution(org.work_time), _distribution(org.verification_time)
        verify = {
            "none": loop.VERIFY_NONE,
            "every_stage": loop.VERIFY_EVERY_STAGE,
            "final": loop.VERIFY_FINAL,
        }
        return loop.Config(
            n=n,
            options=config.world.options,
            truth=truth,
            protocol=kind,
            interval=float(interval),
            wake_mean_gap=float(gap),
            wake_on_message=wake_on_message,
            rounds=rounds,
            round_duration=float(duration),
            max_time=math.inf if stop.max_time is None else float(stop.max_time),
            max_events=-1 if stop.max_events is None else int(stop.max_events),
            consensus_stop=bool(stop.consensus),
            stall_limit=stop.stall_limit(n),
            record_interval=float(config.record.interval),
            observer=kind == loop.SEQUENTIAL,
            observer_accuracy=observer_accuracy,
            observer_tie=rules.TIE_RULES[observer_tie],
            bayesians="bayesian" in kinds,
            degroots="degroot" in kinds,
            simultaneous=simultaneous,
            independence_first=institution.independence_first,
            speaking_order=speaking_order,
            advocate=kind == loop.DEBATE and institution.devils_advocate,
            delphi=_delphi(config),
            confidences="confidence" in kinds,
            dirichlets="dirichlet" in kinds,
            cite_evidence=isinstance(protocol, DebateProtocol) and protocol.cite_evidence,
            pulls=pulls,
            p_worse=float(p_worse),
            p_better=float(p_better),
            known_arm=known_arm,
            settle_sd=float(settle_sd),
            burst=1,
            branching=org.branching,
            subtasks=subtask_count(org.depth, org.branching) if kind == loop.PLANNER else 0,
            verify=verify[org.verify],
            work_kind=work[0],
            work_a=work[1],
            work_b=work[2],
            check_kind=check[0],
            check_a=check[1],
            check_b=check[2],
            verification_cost=float(org.verification_cost),
            max_redos=org.max_redos,
            propagation=float(org.error_propagation),
            fail_on_loss=org.on_loss == "fail",
            loss_timeout=float(org.loss_timeout),
        )

    def _turn_state(
        self, config: ScenarioConfig, adjacency: Adjacency, group: np.ndarray, accuracy: np.ndarray
    ) -> loop.Turns:
        """The turn order (drawn now for the sequential protocol, as its process does
        first) and the debate's roles."""
        n, protocol = self.n, config.protocol
        order = np.arange(n, dtype=np.int64)
        if isinstance(protocol, SequentialProtocol) and protocol.order == "random":
            order = self._rngs[1].permutation(n).astype(np.int64)
        if not isinstance(protocol, DebateProtocol):
            none = np.empty(0, dtype=np.int64)
            return loop.Turns(order, np.empty(0, np.int8), none, none, np.empty(0), np.empty(0))
        institution = config.institution or InstitutionConfig()
        if institution.speaking_order == "degree":  # best connected first, ties in index order
            order = np.lexsort((order, -adjacency.out_degree())).astype(np.int64)
        codes = [
            ROLES.get(getattr(g, "role", "member"), loop.MEMBER) for g in config.population.groups
        ]
        return loop.Turns(
            order=order,
            role=np.array(codes, dtype=np.int8)[group],
            defended=np.full(n, -1, dtype=np.int64),
            opening=np.full(n, -1, dtype=np.int64),
            accuracy=np.asarray(accuracy, dtype=np.float64),
            stated=np.zeros(n),
        )

    def _discussion_state(self, config: ScenarioConfig) -> loop.Discussion:
        """The hidden profile, dealt to the members (drawing from the protocol's stream
        as its process does first), and what each member knows and scores before
        discussion (what ``InformedAgent.hold`` does)."""
        protocol, n = config.protocol, self.n
        if not isinstance(protocol, HiddenProfileProtocol):
            none = np.empty(0, dtype=np.int64)
            return loop.Discussion(
                none, none, np.empty(0, np.bool_), none, none, np.empty(0),
                np.empty((0, 0), np.bool_), np.empty(0, np.bool_),
            )  # fmt: skip
        profile = profile_of(config, self.options, n, self.truth, self.seed)
        self._profile = profile
        holdings = deal(profile, protocol, self._rngs[1])
        option = np.array([item.option for item in profile.items], dtype=np.int64)
        valence = np.array([item.valence for item in profile.items], dtype=np.int64)
        known = np.zeros((n, len(profile.items)), dtype=np.bool_)
        scores = self._agents.opinion[:n, loop.VALENCE]
        scores[:] = 0.0
        for v, items in enumerate(holdings.items):
            for j in items:  # in profile order, as the agent adds them
                known[v, j] = True
                scores[v, option[j]] += valence[j]
        state, log_prior = self._agents.state, self._agents.log_prior
        state["learnt"] = True
        for g in range(len(log_prior)):
            favourites = np.flatnonzero(log_prior[g] == log_prior[g].max())
            members = state["group"] == g
            state["favourite"][members] = favourites[0] if len(favourites) == 1 else -1
        sizes = [len(items) for items in holdings.items]
        self._cfg = self._cfg._replace(burst=max(max(sizes, default=1), 1))
        return loop.Discussion(
            option=option,
            valence=valence,
            unshared=np.array([not item.shared for item in profile.items], dtype=np.bool_),
            chance_ptr=np.concatenate(([0], np.cumsum(sizes))).astype(np.int64),
            item=np.array([j for items in holdings.items for j in items], dtype=np.int64),
            probability=np.array([p for odds in holdings.chances for p in odds], dtype=float),
            known=known,
            surfaced=np.zeros(len(profile.items), dtype=np.bool_),
        )

    def _organisation_state(self, config: ScenarioConfig, population: Any) -> loop.Organisation:
        """The planner-worker protocol's staff (checked as the SimPy engine checks it),
        the members' skills, every subtask's and desk's state before the start and, with
        capacity-limited channels, one channel record per (sender, receiver) pair its
        messages use."""
        cfg, n = self._cfg, self.n
        none = np.empty(0, dtype=np.int64)
        if cfg.protocol != loop.PLANNER:
            return loop.Organisation(
                none, none, np.empty(0), np.empty(0), none, np.empty(0, np.bool_),
                np.empty(0, np.bool_), none, none, none, np.empty(0, np.bool_), none, none,
                np.empty((4, 0), np.int64),
            )  # fmt: skip
        workers, verifiers = staff(config, population.group)
        workers, verifiers = workers.astype(np.int64), verifiers.astype(np.int64)
        count = cfg.subtasks
        channel = np.zeros((4, count), dtype=np.int64)
        if len(self._channels.settings) and self._channels.settings["capacity"].any():
            keys = _message_keys(workers, verifiers, cfg.verify, cfg.branching, count, n)
            used = keys >= 0
            pairs, channel[used] = np.unique(keys[used], return_inverse=True)
            queued = np.zeros(len(pairs), dtype=loop.QUEUED)
            queued["head"] = queued["tail"] = -1
            self._channels = self._channels._replace(arcs=queued)

        def skill(name: str) -> np.ndarray:
            values = population.params.get(name)
            return np.zeros(n) if values is None else np.nan_to_num(values, nan=0.0)

        return loop.Organisation(
            workers=workers,
            verifiers=verifiers,
            error_rate=skill("error_rate"),
            recall=skill("recall"),
            pending=np.zeros(count, dtype=np.int64),
            inputs_right=np.ones(count, dtype=np.bool_),
            correct=np.zeros(count, dtype=np.bool_),
            redos=np.zeros(count, dtype=np.int64),
            next_in_line=np.full(count, -1, dtype=np.int64),
            step=np.zeros(count, dtype=np.int64),
            busy=np.zeros(n, dtype=np.bool_),
            head=np.full(n, -1, dtype=np.int64),
            tail=np.full(n, -1, dtype=np.int64),
            channel=channel,
        )

    @staticmethod
    def _network(
        adjacency: Adjacency, degroots: bool, weighted: bool, capacities: bool, delphi: bool
    ) -> loop.Network:
        """The network both ways, the trust weights DeGroot agents read (the arcs'
        weights where ``weighted``, else 1), with capacity-limited channels the out-arc
        of each in-arc and, for Delphi feedback (the only reader), each in-arc's sender
        (skipping it spares the transpose a pass of random writes)."""
        in_ptr, senders, out_of_in, in_of_out = adjacency.in_arcs(
            origins=capacities or weighted, positions=True, senders=delphi
        )
        if not degroots:
            trust = np.empty(0)
        elif not weighted:
            trust = np.ones(adjacency.n_arcs)
        else:
            trust = np.asarray(adjacency.weights)[out_of_in]
        return loop.Network(
            indptr=np.asarray(adjacency.indptr, dtype=np.int64),
            indices=np.asarray(adjacency.indices, dtype=np.int32),
            in_ptr=in_ptr,
            senders=senders,
            in_of_out=in_of_out,
            out_of_in=out_of_in if capacities else out_of_in[:0],
            trust=np.ascontiguousarray(trust, dtype=np.float64),
        )

    def _population(
        self, config: ScenarioConfig, population: Any, signals: np.ndarray, accuracy_of: np.ndarray
    ) -> loop.Agents:
        n, options = self.n, self.options
        groups = config.population.groups
        group_of = population.group.astype(np.int64)
        log_prior = np.array(
            [
                np.full(options, math.log(1.0 / options))
                if g.prior is None
                else np.log(np.asarray(g.prior, dtype=float))
                for g in groups
            ]
        )
        params = population.params

        def column(name: str, default: float) -> np.ndarray:
            values = params.get(name)
            return np.full(n, default) if values is None else np.nan_to_num(values, nan=default)

        of_group = np.zeros(len(groups), dtype=_GROUP)
        of_group["assumed"] = math.nan
        of_group["held"] = -1
        for g, group in enumerate(groups):
            of_group["kind"][g] = KIND_CODES[group.agent]
            if isinstance(group, BayesianGroup):
                of_group["tie"][g] = rules.TIE_RULES[group.tie_rule]
                if group.assumed_accuracy is not None:
                    of_group["assumed"][g] = group.assumed_accuracy
            if isinstance(group, DeGrootGroup):
                of_group["tolerance"][g] = group.tolerance
            if isinstance(group, StubbornGroup) and group.option != "signal":
                of_group["held"][g] = int(group.option)
        signals = signals.astype(np.int64)
        state = np.zeros(n, dtype=loop.AGENT)
        _agent_records(
            state,
            group_of,
            signals,
            accuracy_of,
            of_group,
            column("weight", 0.0),
            column("threshold", 0.5),
            column("self_weight", 0.5),
        )
        kinds = _kinds(config)
        persuaded = bool({"confidence", "dirichlet"} & kinds)
        persuasion = np.zeros(n if persuaded else 0, dtype=loop.PERSUASION)
        if persuaded:
            persuasion["stated"] = accuracy_of
            persuasion["gap_slope"] = column("gap_slope", 10.0)
            persuasion["gap_offset"] = column("gap_offset", 0.0)
            persuasion["evidence_weight"] = column("evidence_weight", 0.0)
        # Row n is the society's own: the cascade observer's public belief, which starts
        # from the prior of agent 0 (Society does).
        opinion = np.zeros((n + 1, loop.PLANES, options))
        _initial_opinion(opinion, signals, accuracy_of, log_prior, group_of)
        opinion[n, loop.PUBLIC] = rules.log_normalize(log_prior[group_of[0]])
        if "beta" in kinds:
            # Beta credences about each arm (every agent plays the bandit).
            bandit_agents.check_arms(options)
            for k in range(bandit_agents.ARMS):
                for plane, name in ((loop.ALPHA, "prior_alpha"), (loop.FAILURES, "prior_beta")):
                    prior = np.asarray(params[f"{name}_{k}"], dtype=np.float64)
                    opinion[:n, plane, k] = np.maximum(prior, bandit_agents.SMALLEST_PARAMETER)
        dirichlet = [g for g, group in enumerate(groups) if group.agent == "dirichlet"]
        if dirichlet:
            members = np.flatnonzero(np.isin(group_of, dirichlet))
            _dirichlet_opinion(
                opinion,
                members,
                signals,
                column("concentration", 1.0),
                column("signal_weight", 2.0),
            )
        return loop.Agents(
            state=state,
            opinion=opinion,
            log_prior=log_prior,
            scores=np.zeros(options),
            likelihood=np.zeros((options, options)),
            posterior=np.zeros(options),
            persuasion=persuasion,
            firsts=np.zeros(0, dtype=loop.FIRST),  # (sized by _with_firsts)
        )

    @staticmethod
    def _with_firsts(agents: loop.Agents, in_ptr: np.ndarray) -> loop.Agents:
        """``agents`` with room for what each Bayesian agent knows of its senders' first
        announcements (:data:`loop.FIRST`), an agent's records together in the order
        of its in-arcs, and each agent's ``first_shift`` to them."""
        state = agents.state
        in_degree = np.diff(in_ptr)
        counts = np.where(state["kind"] == loop.BAYESIAN, in_degree, 0)
        starts = np.cumsum(counts) - counts
        state["first_shift"] = np.where(counts > 0, starts - in_ptr[:-1], 0)
        return agents._replace(firsts=zeros_on_cache_lines(int(counts.sum()), loop.FIRST))

    @staticmethod
    def _channel_state(config: ScenarioConfig, adjacency: Adjacency) -> loop.Channels:
        configs = config.group_channels()
        latencies = [_distribution(c.latency) for c in configs]
        capacity = np.array([c.capacity or 0 for c in configs], dtype=np.int64)
        arcs = adjacency.n_arcs if capacity.any() else 0
        settings = np.zeros(len(configs), dtype=loop.CHANNEL)
        settings["latency"] = [k for k, _, _ in latencies]
        settings["a"] = [a for _, a, _ in latencies]
        settings["b"] = [b for _, _, b in latencies]
        settings["drop"] = [c.drop for c in configs]
        settings["capacity"] = capacity
        settings["queue"] = [c.overflow == "queue" for c in configs]
        queued = np.zeros(arcs, dtype=loop.QUEUED)
        queued["head"] = queued["tail"] = -1
        return loop.Channels(settings=settings, arcs=queued)

    def _initial_buffers(self, n: int, queues: bool) -> loop.Buffers:
        messages = self._fan_total + self._fan_max + 16
        return loop.Buffers(
            anns=np.empty(n + 16 if loop.keeps_announcements(self._cfg) else 0, loop.ANNOUNCEMENT),
            pool=np.empty((n + 16 if self._cfg.degroots else 0, self.options)),
            waiting=np.empty(messages if queues else 0, dtype=loop.WAITING),
            rows=np.empty((64, self.options + 4)),
            scratch=np.empty((2, max(self._fan_max, 1))),
            heard=np.empty((2, max(self._in_max, 1) if self._cfg.bayesians else 0)),
        )

    # -- running ------------------------------------------------------------------------

    def _grow(self) -> None:
        """Make room for the worst case of the next event (the loop said what is short)."""
        need = int(self._counters[loop.C_NEED])
        b = self._buffers
        extra = self._fan_total + self.n + 16
        changes: dict[str, np.ndarray] = {}

        def grow(*names: str) -> None:
            for name in names:
                array = getattr(b, name)
                changes[name] = _grown(array, max(2 * len(array), len(array) + extra))

        if need & loop.NEED_QUEUE:
            self._queue = calendar.grow(self._queue)
        if need & loop.NEED_ANNS:
            grow("anns")
        if need & loop.NEED_POOL:
            grow("pool")
        if need & loop.NEED_WAITING:
            grow("waiting")
        if need & loop.NEED_ROWS:
            gap = self._next_time() - float(self._floats[loop.F_NEXT_SAMPLE])
            rows = int(max(gap, 0.0) / self._cfg.record_interval) + 8
            changes["rows"] = _grown(b.rows, max(2 * len(b.rows), len(b.rows) + rows))
        self._buffers = b._replace(**changes)

    def _next_time(self) -> float:
        where, time, _ = calendar.peek(self._queue)
        if where in (calendar.SORTED, calendar.SIDE):
            return float(time)
        return float(self._floats[loop.F_NOW])

    def run(self, progress: Progress | None = None, chunk: int = 2_000_000) -> RunResult:
        """Run to the end and return the result.

        Args:
            progress: Called with (events, simulated time) every ``chunk`` events.
            chunk: Events between progress reports.
        """
        started = time.perf_counter()
        c = self._counters
        rng, prng, arng = self._rngs
        step = chunk if progress is not None else 2**62
        while True:
            status = loop.run_loop(
                self._cfg,
                self._net,
                self._agents,
                self._arcs,
                self._channels,
                self._buffers,
                self._queue,
                c,
                self._floats,
                self._record_counts,
                self._turns,
                self._discussion,
                self._organisation,
                self._fan_total,
                self._fan_max,
                step,
                rng,
                prng,
                arng,
            )
            if status == loop.NEED_SPACE:
                self._grow()
            elif status == loop.CHUNK:
                assert progress is not None
                progress(int(c[loop.C_EVENTS]), float(self._floats[loop.F_NOW]))
            else:
                break
        gap = float(self._floats[loop.F_NOW]) - float(self._floats[loop.F_NEXT_SAMPLE])
        rows = int(max(gap, 0.0) / self._cfg.record_interval) + 8
        if c[loop.C_ROWS] + rows > len(self._buffers.rows):
            self._buffers = self._buffers._replace(
                rows=_grown(self._buffers.rows, int(c[loop.C_ROWS]) + rows)
            )
        loop.finish_rows(self._cfg, self._buffers, c, self._floats, self._record_counts)
        if self._cfg.protocol == loop.BANDIT:
            self._bandit_beliefs()
        self._episode.end(self.choices, self.truth)
        self._wall += time.perf_counter() - started
        return self.result()

    def _bandit_beliefs(self) -> None:
        """Each Beta agent's probability that each arm is the better one (what a
        ``BetaAgent`` computes when its belief is read)."""
        cfg, opinion = self._cfg, self._agents.opinion
        known = {} if cfg.known_arm < 0 else {cfg.known_arm: cfg.p_worse}
        for v in range(self.n):
            alpha = opinion[v, loop.ALPHA].tolist()
            beta = opinion[v, loop.FAILURES].tolist()
            opinion[v, loop.BELIEF] = bandit_agents.probabilities_better(alpha, beta, known)

    # -- results ------------------------------------------------------------------------

    @property
    def beliefs(self) -> np.ndarray:
        """Every agent's current belief, shape ``(n, K)`` (do not modify)."""
        loop.settle_beliefs(self._agents, self.n)
        return self._agents.opinion[: self.n, loop.BELIEF]

    @property
    def choices(self) -> np.ndarray:
        """Every agent's current choice (``-1``: none yet)."""
        return self._agents.state["choice"].astype(np.int64)

    @property
    def events(self) -> int:
        """Events processed so far (every delivery counts as one, as in SimPy)."""
        return int(self._counters[loop.C_EVENTS])

    def summary(self) -> dict[str, Any]:
        """The summary row (the same columns and meaning as the SimPy engine's)."""
        c, f, cfg = self._counters, self._floats, self._cfg
        cascade: int | Literal["undefined"] | None = "undefined"
        if cfg.observer:
            action = rules.cascade_action(
                self._agents.opinion[self.n, loop.PUBLIC], cfg.observer_accuracy, cfg.observer_tie
            )
            cascade = None if action < 0 else int(action)
        first = int(c[loop.C_FIRST_OPTION])
        onset = int(c[loop.C_ONSET])
        choices, beliefs = self.choices, np.ascontiguousarray(self.beliefs)
        return summary_row(
            scenario=self.config.name,
            seed=self.seed,
            choices=choices,
            beliefs=beliefs,
            truth=self.truth,
            consensus_time=float(f[loop.F_CONSENSUS_SINCE]) if c[loop.C_CONSENSUS] else None,
            cascade_action=cascade,
            cascade_onset=(onset if onset >= 0 else None) if cfg.observer else None,
            announcements=int(c[loop.C_ANNOUNCEMENTS]),
            herding=int(c[loop.C_HERDING]),
            first_option=first if first >= 0 else None,
            sent=int(c[loop.C_SENT]),
            delivered=int(c[loop.C_DELIVERED]),
            dropped=int(c[loop.C_DROPPED]),
            events=self.events,
            sim_time=float(f[loop.F_NOW]),
            stop_reason=loop.STOP_REASONS[int(c[loop.C_STOP])],
            engine="fast",
            wall_seconds=self._wall,
            aggregation=(self.config.institution or InstitutionConfig()).aggregation,
            outcome=self._outcome(choices, beliefs),
            weights=self._episode.reputations,
        )

    def _outcome(self, choices: np.ndarray, beliefs: np.ndarray) -> dict[str, Any]:
        """The protocol's outcome columns, given every agent's choice and belief: the
        debate's once it has finished, the hidden profile's as of the latest update
        (choices and beliefs change only then)."""
        if self._cfg.protocol == loop.PLANNER:
            outcome: dict[str, Any] = {"task_cost": float(self._floats[loop.F_COST])}
            if self._counters[loop.C_SUCCESS] >= 0:
                outcome["task_success"] = bool(self._counters[loop.C_SUCCESS])
            return outcome
        if self._profile is not None:
            return discussion_outcome(
                self._profile,
                choices,
                beliefs,
                (self.config.institution or InstitutionConfig()).aggregation,
                int(self._counters[loop.C_SURFACED]),
            )
        if self._cfg.protocol != loop.DEBATE or not self._counters[loop.C_FINISHED]:
            return {}
        return debate_outcome(self._turns.opening, choices, self.truth, self.options)

    def result(self) -> RunResult:
        """Summary and time series of the run."""
        rows = self._buffers.rows[: int(self._counters[loop.C_ROWS])]
        return RunResult(
            summary=self.summary(),
            timeseries=timeseries_frame(rows, self.options),
            events=None,
            config=self.config,
        )
