"""Deliberation: decisions that take time, made by LLM-backed agents inside a run.

When the protocol lets an ``llm`` agent act, :meth:`Deliberation.submit` renders its prompt
and queues the request; the agent's choice does not change yet. Just before the simulated
clock would move past the current moment, the society calls :meth:`Deliberation.flush`:
every request that became ready at that moment goes to the LLM client at once (concurrency
and rate limits are the client's), and each answer is applied ``latency`` simulated time
later (the group's latency model, drawn from the run's ``LLM`` stream in agent order). So
the run's course depends on the answers, never on the order in which the network returned
them, and a cached run replays exactly.

An agent with a request in flight is *busy*: it is not asked again until its answer is
applied (a protocol's further wake-ups of it are counted in ``skipped``). Protocols that
must hear an answer before going on (``sequential``, ``rounds``) wait on :meth:`settled`.

A request refused by the budget stops the run (``stop_reason = "budget"``) at that moment:
what was decided before is kept, answers already paid for are in the trace.

In *estimate* mode (``sim estimate``) nothing is sent: each ``llm`` agent is replaced by
its stand-in rule, which decides when the answer would have arrived, while prompts are
still rendered to count tokens. With the same seed the schedule is the real run's, so on
protocols whose schedule does not depend on what agents answer (``sequential``,
``rounds``, ``asynchronous`` without ``wake_on_message``, no consensus stop) the number of
calls is exactly the real run's.

Main entry points: :class:`Deliberation`, :data:`DECISION_SCHEMA`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl
import simpy

from sim.agents.base import SocietyAgent
from sim.agents.llm import LLMAgent, LLMGroup
from sim.distributions import sample
from sim.llm import ChatRequest, ChatResult, LLMClient, LLMConfig, TraceContext, make_request
from sim.llm.requests import estimate_prompt_tokens
from sim.prompts import describe_messages, describe_previous, render
from sim.tasks import TaskInstance

if TYPE_CHECKING:
    from sim.society import Society

Mode = Literal["live", "estimate"]

DECISION_SCHEMA: dict[str, pl.DataType] = {
    "group": pl.String(),
    "decision": pl.Boolean(),
    "options": pl.Int64(),
    "signal": pl.Int64(),
    "accuracy": pl.Float64(),
    "previous": pl.Int64(),
    "previous_confidence": pl.Float64(),
    "heard": pl.List(pl.Int64()),
    "heard_confidence": pl.List(pl.Float64()),
    "choice": pl.Int64(),
}
"""Columns a run adds to the call trace on each request's ``answer`` row: what the agent
knew when it was asked and what it chose (``decision`` is true on those rows and null on
repairs; ``choice`` is null for an abstention). ``sim calibrate`` reads them."""


@dataclass(slots=True)
class _Request:
    agent: SocietyAgent
    group: LLMGroup
    announce: bool
    request: ChatRequest
    context: TraceContext
    decision: dict[str, Any]


@dataclass(slots=True)
class Spending:
    """What a run's LLM calls cost, or would cost (estimate mode).

    Attributes:
        calls: Requests answered (from the server or the cache; repairs not counted).
        abstentions: Requests answered without a usable answer.
        failures: Requests that got no reply after the retries.
        refused: Requests not sent because of the budget.
        skipped: Times a busy agent was asked to act again and was not.
        prompt_tokens: Prompt tokens (estimated from the templates in estimate mode).
        completion_tokens: Completion tokens (``max_tokens`` per call in estimate mode).
        cost_usd: Cost from the price table (None in estimate mode when a model has none).
        wall_seconds: Estimate mode: wall time at the configured concurrency and latency.
        batches: Simulated moments at which requests were sent.
    """

    calls: int = 0
    abstentions: int = 0
    failures: int = 0
    refused: int = 0
    skipped: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0
    wall_seconds: float = 0.0
    batches: int = 0
    by_group: dict[str, int] = field(default_factory=dict)


class Deliberation:
    """The LLM decisions of one run; see the module docstring.

    Args:
        society: The society (its clock, members, recorder and announcements).
        groups: The ``llm`` group of each deliberating agent, by agent index.
        task: The task instance the prompts describe.
        llm: The ``[llm]`` table.
        rng: The run's LLM stream (latency draws).
        mode: ``"live"`` (ask the model) or ``"estimate"`` (stand-ins decide).
        client: The LLM client (live mode; None: made from ``llm`` on first use and
            closed by :meth:`close`).
        run: Run identifier written to the trace.
    """

    def __init__(
        self,
        society: Society,
        groups: dict[int, LLMGroup],
        task: TaskInstance,
        llm: LLMConfig,
        rng: np.random.Generator,
        *,
        mode: Mode = "live",
        client: LLMClient | None = None,
        run: str = "",
    ) -> None:
        self.society = society
        self.groups = groups
        self.task = task
        self.llm = llm
        self.rng = rng
        self.mode = mode
        self.run = run
        self.spending = Spending(cost_usd=0.0)
        self.exhausted = False
        """A request was refused by the budget (the run stops)."""
        self._client = client
        self._owns_client = client is None
        # A client given by the caller may have served other runs: this run's trace rows
        # are those appended from now on.
        self._trace_start = 0 if client is None or client.trace is None else len(client.trace)
        self._pending: list[_Request] = []
        self._in_flight = 0
        self._busy: set[int] = set()
        self._settled: simpy.Event | None = None
        self._decisions: list[dict[str, Any]] = []
        self._asked: dict[int, int] = {}
        self._backends = {
            id(group): llm.backend.model_copy(
                update={
                    key: value
                    for key in ("model", "temperature", "max_tokens")
                    if (value := getattr(group, key)) is not None
                }
            )
            for group in groups.values()
        }

    # -- what the society calls ------------------------------------------------------------

    def handles(self, agent: SocietyAgent) -> bool:
        """Whether ``agent``'s decisions go through this deliberation."""
        return agent.index in self.groups

    def submit(self, agent: SocietyAgent, announce: bool) -> None:
        """Queue a decision of ``agent`` (see the module docstring)."""
        if agent.index in self._busy:
            self.spending.skipped += 1
            return
        group = self.groups[agent.index]
        asked = self._asked[agent.index] = self._asked.get(agent.index, 0) + 1
        system, user = render(
            group.system, group.user, self.task.labels, self._values(agent, group, asked)
        )
        # Each decision is its own sample (its index drawn from the run's stream): two
        # agents, or two turns, with the same prompt answer independently, and a run
        # with the same seed asks exactly the same requests again.
        sample_index = 0 if self.llm.sampling == "shared" else int(self.rng.integers(2**30))
        request = make_request(
            self._backends[id(group)],
            [("system", system), ("user", user)],
            options=self.task.labels,
            sample_index=sample_index,
        )
        now = float(self.society.env.now)
        self._busy.add(agent.index)
        self._pending.append(
            _Request(
                agent,
                group,
                announce,
                request,
                TraceContext(run=self.run, agent=agent.index, time=now),
                self._decision(agent, group),
            )
        )
        if isinstance(agent, LLMAgent):
            agent.asked += 1
            agent.last_prompt = request.prompt_text()

    @property
    def pending(self) -> bool:
        """Whether requests are waiting to be sent."""
        return bool(self._pending)

    def flush(self) -> None:
        """Send the requests of the current moment and schedule their answers."""
        if not self._pending:
            return
        batch = sorted(self._pending, key=lambda r: r.agent.index)
        self._pending = []
        self.spending.batches += 1
        if self.mode == "live":
            results = self._client_for().complete_many(
                [r.request for r in batch], [r.context for r in batch]
            )
        else:
            results = [self._estimated(r) for r in batch]
            self._estimate_wall(len(batch))
        env = self.society.env
        for pending, result in zip(batch, results, strict=True):
            self._account(pending, result)
            if result.status == "budget":
                self.exhausted = True
                self._busy.discard(pending.agent.index)
                continue
            delay = float(sample(pending.group.latency, self.rng, 1)[0])
            answer = env.timeout(delay)
            answer.callbacks.append(functools.partial(self._answered, pending, result))
            self._in_flight += 1

    def settled(self) -> simpy.Event | None:
        """An event that fires once no decision is queued or in flight (None: none is)."""
        if not self._pending and not self._in_flight:
            return None
        if self._settled is None:
            self._settled = self.society.env.event()
        return self._settled

    def decisions(self) -> pl.DataFrame:
        """One row per request, in request order, with :data:`DECISION_SCHEMA`."""
        return pl.DataFrame(self._decisions, schema=DECISION_SCHEMA, orient="row")

    def trace(self) -> pl.DataFrame | None:
        """The client's call trace with the decision columns (live mode; None before any
        call)."""
        if self._client is None or self._client.trace is None:
            return None
        if len(self._client.trace) == self._trace_start:
            return None
        calls = self._client.trace.frame().slice(self._trace_start).with_row_index("_row")
        answers = calls.filter(pl.col("call") == "answer")
        decided = pl.concat([answers.select("_row"), self.decisions()], how="horizontal")
        return calls.join(decided, on="_row", how="left").sort("_row").drop("_row")

    @property
    def requests_sent(self) -> int:
        """HTTP attempts made by the client (0 for a run served from the cache)."""
        return 0 if self._client is None else self._client.requests_sent

    def close(self) -> None:
        """Close the client if this deliberation made it (stops a local server it started)."""
        if self._owns_client and self._client is not None:
            self._client.close()

    # -- internals ---------------------------------------------------------------------------

    def _client_for(self) -> LLMClient:
        if self._client is None:
            self._client = LLMClient.from_config(self.llm)
        return self._client

    def _values(self, agent: SocietyAgent, group: LLMGroup, asked: int) -> dict[str, object]:
        task = self.task
        evidence = task.evidence(agent.index, agent.signal, agent.accuracy)
        society = self.society
        return {
            "question": task.question,
            "options": "\n".join(
                f"{label}: {text}"
                for label, text in zip(task.labels, task.descriptions, strict=True)
            ),
            "evidence": evidence or "none; decide from the question and what others say.",
            "messages": describe_messages(
                agent.heard.values(),
                task.labels,
                group.max_messages,
                anonymous=society.institution.anonymity,
            ),
            "previous": describe_previous(agent.choice, agent.confidence, task.labels),
            "round": asked,
            "time": f"{float(society.env.now):g}",
            "agent": agent.index,
            "n_agents": len(society.members),
            "neighbours": len(agent.heard),
            "persona": group.persona,
            "memory": ""
            if society.notebook is None or society.institution.anonymity
            else society.notebook.describe(len(society.members)),
        }

    def _decision(self, agent: SocietyAgent, group: LLMGroup) -> dict[str, Any]:
        k = agent.options
        counts = agent.heard_counts()
        decision = {
            "group": group.name or "llm",
            "decision": True,
            "options": k,
            "signal": agent.signal,
            "accuracy": agent.accuracy,
            "previous": agent.choice,
            "previous_confidence": agent.confidence,
            "heard": [int(c) for c in counts],
            "heard_confidence": [
                None if np.isnan(c) else float(c) for c in agent.heard_confidence()
            ],
            "choice": None,
        }
        self._decisions.append(decision)
        return decision

    def _estimated(self, pending: _Request) -> ChatResult:
        request = pending.request
        return ChatResult(
            text="",
            answer=None,
            status="ok",
            prompt_tokens=estimate_prompt_tokens(request.messages),
            completion_tokens=request.max_tokens,
            tokens_estimated=True,
            key=request.key(),
        )

    def _estimate_wall(self, size: int) -> None:
        backend = self.llm.backend
        self.spending.wall_seconds += (
            math.ceil(size / backend.concurrency) * backend.expected_latency_s
        )

    def _account(self, pending: _Request, result: ChatResult) -> None:
        spending = self.spending
        if result.status == "budget":
            spending.refused += 1
            return
        spending.calls += 1
        name = pending.group.name or "llm"
        spending.by_group[name] = spending.by_group.get(name, 0) + 1
        spending.prompt_tokens += result.prompt_tokens
        spending.completion_tokens += result.completion_tokens
        if self.mode == "estimate":
            price = self.llm.prices.get(pending.request.model)
            if price is None or spending.cost_usd is None:
                spending.cost_usd = None
            else:
                spending.cost_usd += price.cost(result.prompt_tokens, result.completion_tokens)
        else:
            assert spending.cost_usd is not None
            spending.cost_usd += result.cost_usd
            if result.status == "abstain":
                spending.abstentions += 1
            elif result.status == "failed":
                spending.failures += 1

    def _answered(self, pending: _Request, result: ChatResult, _: simpy.Event) -> None:
        society, agent = self.society, pending.agent
        self._in_flight -= 1
        self._busy.discard(agent.index)
        old = agent.choice
        if isinstance(agent, LLMAgent):
            wants = agent.apply(result, self.task.labels)
        else:
            wants = agent.decide()
        answered = self.mode == "estimate" or result.answer is not None
        pending.decision["choice"] = agent.choice if answered else None
        society.record_decision(agent, old, wants and pending.announce)
        if self._settled is not None and not self._in_flight and not self._pending:
            settled, self._settled = self._settled, None
            settled.succeed()
