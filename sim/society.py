"""A society: a Mesa model of agents on a network, run on a SimPy clock.

:class:`Society` turns a :class:`~sim.config.ScenarioConfig` into objects once: the world
(truth and private signals), the population (agents of each group with their parameters),
the network (a ``networkx.DiGraph``; an arc u→v means v observes u), the channels, the
protocol process and the recorder. :meth:`Society.run` drives the SimPy environment to
the end and returns a :class:`~sim.results.RunResult`; :meth:`Society.step` advances one
unit of simulated time (what Mesa's visualizer calls).

Randomness: one root seed, split by :class:`~sim.streams.Streams` into independent
streams for the world, the population's parameter draws, the network, the channels, the
protocol and the agents' random choices (one stream drawn from in event order, so that
the fast engine, drawing from it in the same order, makes the same choices).

Main entry point: :class:`Society`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import mesa
import networkx as nx
import numpy as np
import simpy

from sim.agents import AGENT_KINDS, Announcement, GroupBase, SocietyAgent
from sim.agents.bayesian import PublicBeliefs, TieRule
from sim.agents.llm import LLMGroup
from sim.channels import Channels, Message, MessageLog
from sim.config import ScenarioConfig
from sim.deliberation import Deliberation, Mode
from sim.institutions import InstitutionConfig
from sim.llm import LLMClient, LLMConfig
from sim.memory import Episode
from sim.metrics import summary_row
from sim.network import has_weights, out_neighbors, run_network
from sim.population import draw_members
from sim.protocols import PROTOCOLS, SequentialProtocol, wakes_on_message
from sim.recorder import CascadeObserver, Recorder
from sim.results import RunResult
from sim.streams import Component, Streams
from sim.tasks import UrnTask


class Society(mesa.Model):
    """A society of agents built from a scenario configuration.

    Args:
        config: The validated scenario.
        seed: Root seed of this run (default: ``config.seed``).
        base_dir: Folder that relative paths in the scenario are resolved against.
        record_events: Keep every message's fate for ``events``.
        graph: The network, if already built (it must be what ``build_graph`` gives for
            this scenario and seed; :class:`~sim.scenario.Scenario` reuses the graph of
            topologies that do not depend on the seed).
        llm_mode: ``"live"``: ``llm`` agents ask the model; ``"estimate"``: their stand-ins
            decide instead and calls are only counted (see :mod:`sim.deliberation`).
        llm_client: The client ``llm`` agents use (None: one made from ``[llm]`` when
            first needed, closed when the run ends).

    Attributes:
        env: The SimPy environment; ``env.now`` is the simulated time.
        world: Truth, signals and signal accuracies.
        graph: The observation network.
        members: Agents by index (node of the graph).
        channels: The message channels.
        recorder: Running counts and the time series.
    """

    def __init__(
        self,
        config: ScenarioConfig,
        seed: int | None = None,
        *,
        base_dir: Path | None = None,
        record_events: bool = False,
        graph: nx.DiGraph | None = None,
        llm_mode: Mode = "live",
        llm_client: LLMClient | None = None,
    ) -> None:
        self.seed = config.seed if seed is None else int(seed)
        streams = Streams(self.seed)
        super().__init__(rng=streams.generator(Component.MODEL))
        self.config = config
        self.institution = config.institution or InstitutionConfig()
        self.env = simpy.Environment()
        self._steps = 0
        self._instant = 0.0  # the latest simulated time, and the event count before it
        self._before_instant = 0
        self.stop_reason: str | None = None
        self.protocol_rng = streams.generator(Component.PROTOCOL)
        self.agents_rng = streams.generator(Component.AGENT)

        if graph is None:
            graph = run_network(config, streams, base_dir).to_networkx()
        self.graph = graph
        n = graph.number_of_nodes()
        self.out_neighbors = out_neighbors(graph)
        self._weighted = has_weights(graph)

        groups = config.population.groups
        population, self.world = draw_members(config, n, streams)
        group_of, accuracy_of = population.group, population.accuracy
        options, truth, signals = self.world.options, self.world.truth, self.world.signals

        self._public_beliefs: dict[tuple[bytes, float, str], PublicBeliefs] = {}
        self.members: list[SocietyAgent] = []
        llm_groups: dict[int, LLMGroup] = {}
        for i in range(n):
            group: GroupBase = groups[int(group_of[i])]
            prior = np.full(options, 1.0 / options) if group.prior is None else group.prior
            if isinstance(group, LLMGroup):
                llm_groups[i] = group
                if llm_mode == "estimate":
                    group = group.standin_group()
            agent_class = AGENT_KINDS[group.agent]
            self.members.append(
                agent_class(
                    self,
                    index=i,
                    group=int(group_of[i]),
                    signal=int(signals[i]),
                    accuracy=float(accuracy_of[i]),
                    log_prior=np.log(np.asarray(prior, dtype=float)),
                    streams=streams,
                    params=population.of(i),
                    group_config=group,
                )
            )

        self.deliberation: Deliberation | None = None
        if llm_groups:
            task = (config.task or UrnTask()).instance(
                options=options,
                n=n,
                truth=truth,
                rng=streams.generator(Component.TASK),
                base_dir=base_dir,
            )
            self.deliberation = Deliberation(
                self,
                llm_groups,
                task,
                config.llm or LLMConfig(),
                streams.generator(Component.LLM),
                mode=llm_mode,
                client=llm_client,
                run=f"{config.name}:{self.seed}",
            )

        self._stated = self.deliberation is not None or any(
            AGENT_KINDS[g.agent].reads_confidence for g in groups
        )

        channel_configs = config.group_channels()
        self.message_log = MessageLog() if record_events else None
        self.channels = Channels(
            self.env,
            [channel_configs[group_of[i]] for i in range(n)],
            streams.generator(Component.CHANNELS),
            self._deliver,
            self.message_log,
            halt=self._stop_due,
        )
        self._wake_on_message = wakes_on_message(config.protocol)

        observer = None
        if isinstance(config.protocol, SequentialProtocol):
            accuracy, tie_rule = config.observer_parameters(accuracy_of)
            tree = self.public_beliefs(self.members[0].log_prior, accuracy, cast(TieRule, tie_rule))
            observer = CascadeObserver(tree)
        self.recorder = Recorder(n, options, truth, config.record.interval, observer)
        # Agents answering each other with zero latency can keep the clock at one instant
        # forever; a run that stops advancing ends as "stalled" instead of hanging.
        self._stall_limit = config.stop.stall_limit(n)
        self._process = self.env.process(PROTOCOLS[config.protocol.kind](self, config.protocol))
        self._wall = 0.0
        self.episode = Episode(self.institution.memory, self.institution.anonymity, n)
        self.notebook = self.episode.notebook
        self.reputations = self.episode.reputations
        """Vote weights of the ``reputation`` rule, from the notebook as it was when the
        episode began (None: no records are used)."""
        self.outcome: dict[str, Any] = {}
        """Values of protocol-specific summary columns (:data:`~sim.metrics.OUTCOME_COLUMNS`),
        set by the protocol."""

    # -- what protocols call -------------------------------------------------------------

    def act(self, agent: SocietyAgent, announce: bool = True) -> None:
        """Let ``agent`` apply its rule; record a changed choice; announce if it wants to.

        Args:
            agent: The agent.
            announce: Whether the agent may broadcast now (``rounds`` separates updating
                from announcing and passes ``False``).
        """
        if self.deliberation is not None and self.deliberation.handles(agent):
            self.deliberation.submit(agent, announce)
            return
        old = agent.choice
        wants = agent.decide()
        assert agent.choice is not None, "an agent's rule must always leave a choice"
        self.record_decision(agent, old, announce and wants)

    def record_decision(self, agent: SocietyAgent, old: int | None, announce: bool) -> None:
        """Record that ``agent`` decided (its choice was ``old``) and announce if asked."""
        if agent.choice is not None and agent.choice != old:
            self.recorder.position(agent.index, old, agent.choice, self.env.now)
        if announce:
            self.announce(agent)

    def settled(self) -> simpy.Event | None:
        """An event that fires when every decision under way is made (None: none is
        under way). Decisions of LLM-backed agents take simulated time; protocols that
        must see a decision before going on wait for it."""
        return None if self.deliberation is None else self.deliberation.settled()

    def announce(
        self,
        agent: SocietyAgent,
        receivers: np.ndarray | None = None,
        evidence: int | None = None,
    ) -> None:
        """Broadcast ``agent``'s current choice (and belief, for belief-sharing kinds).

        Args:
            agent: The speaker.
            receivers: Who hears it (default: its out-neighbours in the network).
            evidence: The evidence it cites (an option its private signal names), if any.
        """
        assert agent.choice is not None
        now = self.env.now
        self.recorder.announcement(agent.index, agent.choice, agent.signal, now)
        belief = agent.belief if agent.shares_belief else None
        if not self._stated and evidence is None:
            payload = Announcement(agent.index, agent.choice, now, belief)
        else:  # someone reads stated confidence (or the messages in words)
            payload = Announcement(
                agent.index, agent.choice, now, belief, agent.confidence, agent.message, evidence
            )
        if receivers is None:
            receivers = self.out_neighbors[agent.index]
        self.channels.broadcast(agent.index, receivers, payload)

    def _deliver(self, message: Message) -> None:
        receiver = self.members[message.receiver]
        if receiver.receive(message.payload) and self._wake_on_message:
            self.act(receiver)

    def public_beliefs(
        self, log_prior: np.ndarray, accuracy: float, tie_rule: TieRule
    ) -> PublicBeliefs:
        """The society's shared tree of public beliefs for one prior, accuracy and tie rule."""
        key = (log_prior.tobytes(), accuracy, tie_rule)
        tree = self._public_beliefs.get(key)
        if tree is None:
            tree = self._public_beliefs[key] = PublicBeliefs(log_prior, accuracy, tie_rule)
        return tree

    def trust(self, sender: int, receiver: int) -> float:
        """Weight of the arc sender→receiver (1 when the network has no weights)."""
        if not self._weighted or self.institution.anonymity:
            return 1.0
        return float(self.graph.edges[sender, receiver].get("weight", 1.0))

    # -- running -------------------------------------------------------------------------

    @property
    def events(self) -> int:
        """Events processed so far; every message delivery counts as one."""
        return self._steps + self.channels.extra_events

    def _stop_due(self) -> bool:
        """Whether a stopping rule fires after the latest event (also asked between the
        deliveries of a batch, see :class:`~sim.channels.Channels`)."""
        stop = self.config.stop
        if self.env.now != self._instant:
            # The event just processed is the first at this instant.
            self._instant, self._before_instant = self.env.now, self.events - 1
        if stop.consensus and self.recorder.consensus:
            self.stop_reason = "consensus"
        elif stop.max_events is not None and self.events >= stop.max_events:
            self.stop_reason = "max_events"
        elif self.events - self._before_instant > self._stall_limit:
            self.stop_reason = "stalled"

        return self.stop_reason is not None

    @property
    def finished(self) -> bool:
        """Whether the run has ended (``stop_reason`` says why)."""
        return self.stop_reason is not None

    def advance(
        self, until: float = math.inf, progress: Callable[[int, float], None] | None = None
    ) -> bool:
        """Process events up to simulated time ``until`` or until a stopping rule fires.

        Args:
            until: Simulated time to stop at.
            progress: Called with (events so far, simulated time) every 20,000 events.

        Returns:
            Whether the run has ended.
        """
        env, stop = self.env, self.config.stop
        started = time.perf_counter()
        deliberation = self.deliberation
        while self.stop_reason is None:
            if deliberation is not None and deliberation.pending and env.peek() > env.now:
                # The clock is about to move on: send this moment's requests.
                deliberation.flush()
                if deliberation.exhausted:
                    self.stop_reason = "budget"
                    break
            upcoming = env.peek()
            if upcoming == math.inf:
                self.stop_reason = "completed"
            elif stop.max_time is not None and upcoming > stop.max_time:
                if stop.max_time > env.now:
                    env.run(until=stop.max_time)
                self.stop_reason = "max_time"
            elif upcoming > until:
                if until > env.now:
                    env.run(until=until)
                break
            else:
                self._steps += 1  # counted first: a batch of deliveries reads it
                env.step()
                self._stop_due()
                if progress is not None and self._steps % 20_000 == 0:
                    progress(self.events, env.now)
        self._wall += time.perf_counter() - started
        self.time = env.now
        if self.stop_reason is not None:
            self.recorder.finish(env.now)
            self.channels.close_log()
            self.episode.end(self.choices(), self.world.truth)
            self.close()
        return self.stop_reason is not None

    def close(self) -> None:
        """Release what the run holds outside the process (an LLM client and the local
        server it started). Called when the run ends; safe to call again."""
        if self.deliberation is not None:
            self.deliberation.close()

    def step(self) -> None:
        """Advance one unit of simulated time (the unit of Mesa's visualizer)."""
        if not self.finished:
            self.advance(self.env.now + 1.0)

    def run(self, progress: Callable[[int, float], None] | None = None) -> RunResult:
        """Run to the end and return the result.

        Args:
            progress: Called with (events so far, simulated time) every 20,000 events.
        """
        self.advance(progress=progress)
        return self.result()

    # -- results -------------------------------------------------------------------------

    def choices(self) -> np.ndarray:
        """Current choice of every agent (``-1`` for agents who have not chosen)."""
        return np.array([-1 if a.choice is None else a.choice for a in self.members])

    def summary(self) -> dict[str, Any]:
        """The summary row (see :data:`~sim.metrics.SUMMARY_SCHEMA` and the README)."""
        recorder, channels = self.recorder, self.channels
        observer = recorder.observer
        llm: dict[str, Any] = {}
        if self.deliberation is not None:
            spent = self.deliberation.spending
            llm = {
                "llm_calls": spent.calls,
                "llm_abstentions": spent.abstentions,
                "llm_failures": spent.failures,
                "llm_tokens": spent.prompt_tokens + spent.completion_tokens,
                "llm_cost_usd": spent.cost_usd or 0.0,
            }
        return summary_row(
            scenario=self.config.name,
            seed=self.seed,
            choices=self.choices(),
            beliefs=np.vstack([a.belief for a in self.members]),
            truth=self.world.truth,
            consensus_time=recorder.consensus_since,
            cascade_action="undefined" if observer is None else observer.action(),
            cascade_onset=None if observer is None else observer.onset,
            announcements=recorder.announcements,
            herding=recorder.herding,
            first_option=recorder.first_option,
            sent=channels.sent,
            delivered=channels.delivered,
            dropped=channels.dropped,
            events=self.events,
            sim_time=float(self.env.now),
            stop_reason=self.stop_reason,
            engine="simpy",
            wall_seconds=self._wall,
            **llm,
            aggregation=self.institution.aggregation,
            confidences=np.array(
                [np.nan if a.confidence is None else a.confidence for a in self.members]
            ),
            outcome=self.outcome,
            weights=self.reputations,
        )

    def result(self) -> RunResult:
        """Summary, time series and (if recorded) message events of the run so far."""
        events = None
        if self.message_log is not None:
            events = self.message_log.frame()
        return RunResult(
            summary=self.summary(),
            timeseries=self.recorder.timeseries(),
            events=events,
            config=self.config,
            trace=None if self.deliberation is None else self.deliberation.trace(),
        )
