"""The ``planner_worker`` protocol: a planner splits a task, workers execute, verifiers check.

The coordination regime of multi-agent systems (the "organization" axis of the
Preprints.org 202511.1370 perspective; the reliability of serial and hierarchical
systems of Barlow & Proschan, *Mathematical Theory of Reliability*, 1965): a task is
split into a full tree of subtasks, ``depth`` levels below the root, each non-leaf
subtask split into ``branching`` parts (the span of control). Subtasks are numbered
breadth-first as in the ``tree`` topology: subtask ``j > 0`` is a part of subtask
``(j - 1) // branching``.

Staffing. Every member must be a ``worker`` agent (:mod:`sim.agents.worker`). Subtask
``j`` is done by the ``j mod W``-th of the ``W`` members with ``role = "worker"`` (in index
order; the one doing subtask 0, the root, is the planner), and checked by the ``j mod
V``-th of the ``V`` verifiers. A member works on one thing at a time (first come, first
served), so a small staff turns a wide task into a queue.

A run, on the SimPy clock:

1. *Delegation.* At time 0 the planner holds the task; whoever holds subtask ``j`` sends
   each of its parts to that part's worker (one message each).
2. *Execution.* A worker starts a subtask once all its parts' results have arrived
   (leaves: at once), spends ``work_time`` and produces a result. With correct inputs the
   result is wrong with the worker's ``error_rate`` ``e``; if some input is wrong it is
   wrong with probability ``q + (1 - q) e``, ``q = error_propagation`` (``q = 1``: errors
   always propagate).
3. *Verification* (``verify = "every_stage"``: every subtask; ``"final"``: the root only).
   The worker sends the result to the subtask's verifier, who spends
   ``verification_time`` and flags a wrong result with its ``recall`` (a correct one is
   never flagged). A flagged result goes back (a message) to be redone, at most
   ``max_redos`` times; the last attempt is passed on whatever the verdict.
4. *Reporting.* The accepted result goes (from the worker, or from the verifier if the
   subtask is verified) to the worker of the parent subtask. The run ends when the
   root's result is accepted.

Every message travels on the channel from sender to receiver (the hierarchy, not the
network's arcs, says who reports to whom; the network is not read), so channel latency
makes the makespan (``sim_time``) and ``messages_sent`` is the communication cost. A lost
message is resent ``loss_timeout`` after it was sent (the sender's acknowledgement
timeout; acknowledgements are not modelled as messages) with ``on_loss = "resend"``;
with ``"fail"``, a lost message carrying a result reaches its receiver ``loss_timeout``
after it was sent as a *wrong* result (assignments and redo requests are still resent).

Outcomes (summary columns): ``task_success`` (the root's accepted result is right; null
if the run stopped first) and ``task_cost`` (work units: 1 per execution, redos
included, plus ``verification_cost`` per check). A member's ``choice`` says whether its
latest output was right (see :mod:`sim.agents.worker`).

Closed form. With every subtask's inputs independent (they come from disjoint subtrees)
and ``f(x)`` the probability that a stage whose attempts are each wrong with
probability ``x`` passes on a wrong result (``f(x) = x`` unverified;
``x (1 - r) Σ_{k<m} (x r)^k + (x r)^m x`` verified with recall ``r`` and ``m =
max_redos``), a subtask whose inputs are all right with probability ``A`` is right with
probability ``A (1 - f(e)) + (1 - A) (1 - f(q + (1 - q) e))``. With ``q = 1`` this is the
product over all subtasks of the stage reliabilities ``1 - f(e)``: success falls
geometrically with the number of subtasks, and verification replaces ``e`` by ``f(e)``,
about ``e (1 - r)``. :func:`analysis.theory.planner_worker_outcome` computes it (and the
expected cost) level by level.

Main entry points: :func:`planner_worker`, :class:`PlannerWorkerProtocol`,
:func:`subtask_count`, :func:`staff`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, Literal, cast

import numpy as np
import simpy
from pydantic import BaseModel, Field, field_validator, model_validator

from sim.agents.worker import Handoff, WorkerAgent
from sim.distributions import Quantity, check_support, sample
from sim.errors import ScenarioError
from sim.protocols.basic import Process, ProtocolBase
from sim.rules import execution_correct, flagged, output_option

if TYPE_CHECKING:
    from sim.config import ScenarioConfig
    from sim.society import Society

MAX_SUBTASKS = 1_000_000
"""Largest task tree a scenario may ask for (a guard against ``depth`` typos)."""


def subtask_count(depth: int, branching: int) -> int:
    """Number of subtasks in a full ``branching``-ary tree with leaves at ``depth``."""
    if branching == 1:
        return depth + 1
    return (branching ** (depth + 1) - 1) // (branching - 1)


class PlannerWorkerProtocol(ProtocolBase):
    """``kind = "planner_worker"``: hierarchical task decomposition with verification."""

    kind: Literal["planner_worker"] = "planner_worker"
    agent_kinds: ClassVar[frozenset[str] | None] = frozenset({"worker"})

    def check_groups(self, groups: Sequence[BaseModel]) -> None:
        super().check_groups(groups)
        roles = {getattr(group, "role", None) for group in groups}
        if "worker" not in roles:
            raise ValueError("protocol.kind = 'planner_worker' needs a group with role = 'worker'")
        if self.verify != "none" and "verifier" not in roles:
            raise ValueError(
                f"protocol.verify = {self.verify!r} needs a group with role = 'verifier'"
            )

    depth: int = Field(
        2, ge=0, description="Levels of subtasks below the root task (0: one task, no split)."
    )
    branching: int = Field(
        2, ge=1, description="Span of control: parts each non-leaf subtask is split into."
    )
    verify: Literal["none", "every_stage", "final"] = Field(
        "none", description="Which results a verifier checks: none, every subtask's, the root's."
    )
    verification_cost: float = Field(
        0.5, ge=0.0, description="Work units one check costs (one execution costs 1)."
    )
    verification_time: Quantity = Field(0.5, description="Simulated time one check takes.")
    work_time: Quantity = Field(1.0, description="Simulated time one execution takes.")
    max_redos: int = Field(
        2, ge=0, description="Most times a flagged subtask is redone; then it is passed on."
    )
    error_propagation: float = Field(
        1.0,
        ge=0.0,
        le=1.0,
        description="Probability that a subtask with a wrong input comes out wrong "
        "(otherwise the worker's own error rate applies).",
    )
    on_loss: Literal["resend", "fail"] = Field(
        "resend",
        description='A lost message is resent ("resend"), or a lost result arrives as a '
        'wrong one ("fail"), loss_timeout after it was sent.',
    )
    loss_timeout: float = Field(
        1.0, gt=0.0, description="Simulated time after which a lost message is noticed."
    )

    @field_validator("work_time", "verification_time")
    @classmethod
    def _duration(cls, value: Quantity) -> Quantity:
        check_support(value, 0.0, float("inf"), "a duration")
        return value

    @model_validator(mode="after")
    def _tree_size(self) -> PlannerWorkerProtocol:
        # Compared in logs: branching ** depth can be astronomically large.
        if self.branching > 1 and self.depth * np.log(self.branching) > np.log(MAX_SUBTASKS):
            raise ValueError(
                f"depth {self.depth} with branching {self.branching} makes more than "
                f"{MAX_SUBTASKS:,} subtasks"
            )
        if self.branching == 1 and self.depth >= MAX_SUBTASKS:
            raise ValueError(f"depth must be below {MAX_SUBTASKS:,}")
        return self


# Messages of the protocol (Handoff.kind), and the two steps a member's desk does.
ASSIGNMENT, SUBMISSION, REDO, REPORT = range(4)
WORK, CHECK = 0, 1


def staff(config: ScenarioConfig, group_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The members with ``role = "worker"`` and those with ``role = "verifier"``, in
    index order (member ``i`` is in population group ``group_of[i]``).

    Raises:
        ScenarioError: A group is not of ``worker`` agents, nobody has ``role =
            "worker"``, verification is asked for without verifiers, or a channel loses
            every message.
    """
    groups = config.population.groups
    for i, group in enumerate(groups):
        if group.agent != "worker":
            raise ScenarioError(
                f"protocol.kind = 'planner_worker' needs worker agents: "
                f"population.groups.{i}.agent is {group.agent!r}, expected 'worker'"
            )
    roles = np.array([getattr(group, "role", "") for group in groups])[group_of]
    workers, verifiers = np.flatnonzero(roles == "worker"), np.flatnonzero(roles == "verifier")
    if not len(workers):
        raise ScenarioError(
            "protocol.kind = 'planner_worker' needs at least one member with "
            "role = 'worker' (population.groups.N.role)"
        )
    verify = getattr(config.protocol, "verify", "none")
    if verify != "none" and not len(verifiers):
        raise ScenarioError(
            f"protocol.verify = {verify!r} needs at least one member with "
            "role = 'verifier' (population.groups.N.role)"
        )
    if any(channel.drop >= 1.0 for channel in config.group_channels()):
        raise ScenarioError(
            "channels.drop = 1 (or a group's channels.drop = 1) loses every message: "
            "protocol 'planner_worker' would never finish"
        )
    return workers, verifiers


def planner_worker(society: Society, config: PlannerWorkerProtocol) -> Process:
    """The ``planner_worker`` process of a society (see the module docstring).

    Staffing is checked when the society is built, before the process starts.

    Raises:
        ScenarioError: A member is not a ``worker`` agent, nobody has ``role =
            "worker"``, verification is asked for without verifiers, or a channel loses
            every message.
    """
    return _Organisation(society, config).run()


class _Organisation:
    """The state of one run: staffing, each subtask's progress, the members' desks.

    The run is a state machine driven by two kinds of SimPy events, message arrivals
    and the end of a desk's step (a timeout); everything else (passing a desk on,
    starting a subtask whose inputs are in) happens inside those events. The fast
    engine's loop (:mod:`sim.fast.loop`) replays the same transitions in the same order.
    """

    def __init__(self, society: Society, config: PlannerWorkerProtocol) -> None:
        members = society.members
        workers, verifiers = staff(society.config, np.array([m.group for m in members]))
        self.workers = [cast(WorkerAgent, members[i]) for i in workers]
        self.verifiers = [cast(WorkerAgent, members[i]) for i in verifiers]
        self.society = society
        self.env = society.env
        self.config = config
        self.count = count = subtask_count(config.depth, config.branching)
        self.truth = society.world.truth
        self.options = society.world.options
        self.pending = [0] * count
        """Parts of each subtask whose results have not arrived."""
        self.inputs_right = [True] * count
        self.correct = [False] * count
        """Each subtask's latest result (as its verifier received it, when checked)."""
        self.redos = [0] * count
        self.desks: dict[int, deque[tuple[int, int]]] = {}
        """Busy members, each with the (subtask, step) waiting for it, first come first
        served."""
        self.accepted = self.env.event()

    # -- staffing and the tree -----------------------------------------------------------

    def worker_of(self, j: int) -> WorkerAgent:
        return self.workers[j % len(self.workers)]

    def verifier_of(self, j: int) -> WorkerAgent | None:
        verify = self.config.verify
        if verify == "every_stage" or (verify == "final" and j == 0):
            return self.verifiers[j % len(self.verifiers)]
        return None

    def parts(self, j: int) -> range:
        first = self.config.branching * j + 1
        return range(min(first, self.count), min(first + self.config.branching, self.count))

    # -- the run -------------------------------------------------------------------------

    def run(self) -> Process:
        self.society.outcome["task_cost"] = 0.0
        self.assign(0)
        yield self.accepted

    def assign(self, j: int) -> None:
        """Subtask ``j`` reached its worker: it delegates the parts, or (a leaf) gets
        to work."""
        parts = self.parts(j)
        if not parts:
            self.request(j, WORK)
            return
        self.pending[j] = len(parts)
        worker = self.worker_of(j)
        for part in parts:
            self.send(worker, self.worker_of(part), ASSIGNMENT, part, True)

    def arrive(self, handoff: Handoff) -> None:
        """A handoff reached its receiver (or, a result lost under ``on_loss =
        "fail"``, is taken for a wrong one)."""
        j = handoff.subtask
        if handoff.kind == ASSIGNMENT:
            self.assign(j)
        elif handoff.kind == SUBMISSION:
            self.correct[j] = handoff.correct
            self.request(j, CHECK)
        elif handoff.kind == REDO:
            self.redos[j] += 1
            self.request(j, WORK)
        else:  # a part's result reached the parent's worker
            parent = (j - 1) // self.config.branching
            self.inputs_right[parent] = self.inputs_right[parent] and handoff.correct
            self.pending[parent] -= 1
            if self.pending[parent] == 0:
                self.request(parent, WORK)

    def request(self, j: int, step: int) -> None:
        """Subtask ``j`` needs its worker (``WORK``) or verifier (``CHECK``): at once
        if free, else after those already waiting."""
        member = self.member(j, step)
        waiting = self.desks.get(member.index)
        if waiting is None:
            self.desks[member.index] = deque()
            self.begin(j, step)
        else:
            waiting.append((j, step))

    def member(self, j: int, step: int) -> WorkerAgent:
        verifier = self.verifier_of(j) if step == CHECK else None
        return self.worker_of(j) if verifier is None else verifier

    def begin(self, j: int, step: int) -> None:
        duration = self.config.work_time if step == WORK else self.config.verification_time
        if not isinstance(duration, int | float):
            duration = float(sample(duration, self.society.protocol_rng, 1)[0])
        self.env.timeout(duration, (j, step)).callbacks.append(self.done)

    def done(self, event: simpy.Event) -> None:
        """A desk finished a step: it passes to the next in line, then the step's
        outcome is drawn and passed on."""
        j, step = cast(tuple[int, int], event.value)
        member = self.member(j, step)
        waiting = self.desks[member.index]
        if waiting:
            self.begin(*waiting.popleft())
        else:
            del self.desks[member.index]
        config, rng = self.config, self.society.agents_rng
        if step == WORK:
            self.spend(1.0)
            correct = execution_correct(
                member.error_rate, self.inputs_right[j], config.error_propagation, rng
            )
            self.record(member, correct)
            verifier = self.verifier_of(j)
            if verifier is None:
                self.finish(j, member, correct)
            else:
                self.send(member, verifier, SUBMISSION, j, correct)
            return
        self.spend(config.verification_cost)
        correct = self.correct[j]
        flag = flagged(correct, member.recall, rng)
        self.record(member, flag or correct)  # the verdict was right
        if not flag or self.redos[j] == config.max_redos:
            self.finish(j, member, correct)
        else:
            self.send(member, self.worker_of(j), REDO, j, True)

    def finish(self, j: int, holder: WorkerAgent, correct: bool) -> None:
        """Subtask ``j``'s result is accepted: it goes up to the parent's worker, or
        (the root) ends the run."""
        if j == 0:
            self.society.outcome["task_success"] = correct
            self.accepted.succeed()
        else:
            parent = (j - 1) // self.config.branching
            self.send(holder, self.worker_of(parent), REPORT, j, correct)

    # -- what a step does ----------------------------------------------------------------

    def spend(self, units: float) -> None:
        self.society.outcome["task_cost"] += units

    def record(self, member: WorkerAgent, correct: bool) -> None:
        old = member.choice
        member.record_output(correct, self.truth)
        self.society.record_decision(member, old, announce=False)

    def handoff(self, sender: WorkerAgent, kind: int, j: int, correct: bool) -> Handoff:
        option = output_option(correct, self.truth, self.options)
        return Handoff(sender.index, option, float(self.env.now), correct, kind, j, self.arrive)

    def send(
        self, sender: WorkerAgent, receiver: WorkerAgent, kind: int, j: int, correct: bool
    ) -> None:
        """Send a handoff. A loss is noticed ``loss_timeout`` later: then the handoff is
        sent again, or (a result under ``on_loss = "fail"``) taken for a wrong result."""
        channels = self.society.channels
        lost_before = channels.dropped
        channels.broadcast(
            sender.index, np.array([receiver.index]), self.handoff(sender, kind, j, correct)
        )
        if channels.dropped == lost_before:
            return
        corrupted = kind in (SUBMISSION, REPORT) and self.config.on_loss == "fail"

        def noticed(_: simpy.Event) -> None:
            if corrupted:
                self.arrive(self.handoff(sender, kind, j, False))
            else:
                self.send(sender, receiver, kind, j, correct)

        self.env.timeout(self.config.loss_timeout).callbacks.append(noticed)
