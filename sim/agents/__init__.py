"""Agent kinds: one module per rule, registered here by the name scenarios use.

===========  ===============================================================
``agent``    rule
===========  ===============================================================
bayesian     exact Bayesian inference from signal and actions (BHW)
social       each announcement counts as a signal of weight ``weight``
degroot      weighted averaging of neighbours' beliefs
threshold    adopt an option once a fraction ``threshold`` announces it
voter        copy a random neighbour
stubborn     never change (own signal, or a fixed option)
dirichlet    sample answers from a Dirichlet belief that counts what others say
confidence   switch toward a rival answer stated more confidently than one's own
informed     net valence of the evidence items it knows (hidden profiles)
beta         Beta credences about two arms; play the better-looking one (Zollman)
llm          a language model answers from the same information (:mod:`sim.agents.llm`)
worker       executes or verifies subtasks under ``planner_worker`` (:mod:`sim.agents.worker`)
===========  ===============================================================

To add a kind, write a module with a group config model (subclass of
:class:`~sim.agents.base.GroupBase`) and an agent class (subclass of
:class:`~sim.agents.base.SocietyAgent`), and add the class to :data:`AGENT_KINDS`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sim.agents.base import Announcement, GroupBase, SocietyAgent
from sim.agents.bayesian import BayesianAgent
from sim.agents.beta import BetaAgent, BetaGroup
from sim.agents.confidence import ConfidenceAgent
from sim.agents.degroot import DeGrootAgent
from sim.agents.dirichlet import DirichletAgent, DirichletGroup
from sim.agents.informed import InformedAgent, InformedGroup
from sim.agents.llm import LLMAgent, LLMGroup, StandinGroup
from sim.agents.social import SocialAgent
from sim.agents.stubborn import StubbornAgent
from sim.agents.threshold import ThresholdAgent
from sim.agents.voter import VoterAgent
from sim.agents.worker import WorkerAgent, WorkerGroup

AGENT_KINDS: dict[str, type[SocietyAgent]] = {
    cls.kind: cls
    for cls in (
        BayesianAgent,
        SocialAgent,
        DeGrootAgent,
        ThresholdAgent,
        VoterAgent,
        StubbornAgent,
        ConfidenceAgent,
        DirichletAgent,
        InformedAgent,
        BetaAgent,
        LLMAgent,
        WorkerAgent,
    )
}
"""Agent classes by the ``agent`` name used in scenario files."""

GroupConfig = Annotated[
    StandinGroup | DirichletGroup | InformedGroup | WorkerGroup | BetaGroup | LLMGroup,
    Field(discriminator="agent"),
]
"""One ``[[population.groups]]`` entry, tagged by its ``agent`` key."""

__all__ = ["AGENT_KINDS", "Announcement", "GroupBase", "GroupConfig", "SocietyAgent"]
