"""Protocols: who acts when, as SimPy processes driving a society.

A protocol is a ``[protocol]`` config model (tagged by ``kind``) and a process function
``(society, config) -> generator of SimPy events``, one module per family:

=================  ==============================================================
``kind``           protocol
=================  ==============================================================
sequential         every agent acts once, in turn (:mod:`~sim.protocols.basic`)
asynchronous       Poisson wake-ups and wake on message (:mod:`~sim.protocols.basic`)
rounds             synchronous announce–deliver–update rounds (:mod:`~sim.protocols.basic`)
debate             an opening and rounds of revision, roles (:mod:`~sim.protocols.debate`)
hidden_profile     information sampling of distributed evidence (Stasser & Titus 1987;
                   :mod:`~sim.protocols.hidden_profile`)
planner_worker     a planner splits a task; workers execute, verifiers check
                   (:mod:`~sim.protocols.planner`)
bandit             two-armed bandit, results shared over the network (:mod:`~sim.protocols.bandit`)
=================  ==============================================================

To add one, write a module with a config model (subclass of
:class:`~sim.protocols.basic.ProtocolBase` with a ``kind`` literal) and a process
function, and add both here.

Main entry points: :data:`ProtocolConfig` (the tagged union of the configs) and
:data:`PROTOCOLS` (kind name to process function).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import Field

from sim.protocols.bandit import BanditProtocol, bandit
from sim.protocols.basic import (
    AsynchronousProtocol,
    Process,
    ProtocolBase,
    RoundsProtocol,
    SequentialProtocol,
    asynchronous,
    rounds,
    sequential,
    wakes_on_message,
)
from sim.protocols.debate import DebateProtocol, debate
from sim.protocols.hidden_profile import HiddenProfileProtocol, hidden_profile
from sim.protocols.planner import PlannerWorkerProtocol, planner_worker

ProtocolConfig = Annotated[
    SequentialProtocol
    | AsynchronousProtocol
    | RoundsProtocol
    | DebateProtocol
    | HiddenProfileProtocol
    | PlannerWorkerProtocol
    | BanditProtocol,
    Field(discriminator="kind"),
]
"""The ``[protocol]`` table, tagged by its ``kind`` key."""

PROTOCOLS: dict[str, Callable[..., Process]] = {
    "sequential": sequential,
    "asynchronous": asynchronous,
    "rounds": rounds,
    "debate": debate,
    "hidden_profile": hidden_profile,
    "planner_worker": planner_worker,
    "bandit": bandit,
}
"""Process function for each protocol kind."""

__all__ = [
    "PROTOCOLS",
    "AsynchronousProtocol",
    "BanditProtocol",
    "DebateProtocol",
    "HiddenProfileProtocol",
    "PlannerWorkerProtocol",
    "Process",
    "ProtocolBase",
    "ProtocolConfig",
    "RoundsProtocol",
    "SequentialProtocol",
    "wakes_on_message",
]
