"""Institutions: the rules of the game a society plays under, whatever its protocol.

The ``[institution]`` table composes with every protocol. It says how the group's
decision is formed from its members' final answers (the aggregation rule), and how the
discussion is run: whether identities are hidden (anonymity), whether everyone commits
privately before hearing anyone (independence first), who speaks first (speaking order),
whether a devil's advocate is appointed, and whether feedback is Delphi-style (only the
anonymized distribution of answers, never individual messages). Protocols read the
discussion rules (see :mod:`sim.protocols` for which honour which); the aggregation rule
is applied to every run's final state by :func:`group_decision`.

Aggregation rules, over the agents that hold an answer:

``plurality``
    the option most agents hold (no decision on a tie); confidence: its vote share.
``majority``
    the option more than half of all agents hold (else no decision); confidence: its
    vote share.
``confidence_weighted``
    the option with the largest sum of stated confidences; confidence: that sum over the
    sum for all options.
``log_odds``
    Bayesian pooling of independent opinions: the option with the largest sum over agents
    of their log belief (a product of experts with a uniform prior); confidence: the
    pooled posterior probability of that option.
``reputation``
    a vote weighted by each member's track record in the institution's notebook (see
    :mod:`sim.memory`): weight ``log(r / (1 - r))`` for recorded accuracy ``r``, the
    optimal weights of Nitzan & Paroush (1982); plurality without records; confidence:
    the winner's share of the positive weight.

Main entry points: :class:`InstitutionConfig`, :func:`group_decision`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from sim.memory import MemoryConfig

Aggregation = Literal["plurality", "majority", "confidence_weighted", "log_odds", "reputation"]

_BELIEF_FLOOR = 1e-9
"""Beliefs are clipped this far from 0 before taking logs (a point-mass belief then
counts as very strong evidence rather than infinite)."""


class InstitutionConfig(BaseModel):
    """The ``[institution]`` table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    aggregation: Aggregation = Field(
        "plurality", description="How the group's decision is formed from final answers."
    )
    anonymity: bool = Field(
        False,
        description="Identities are hidden: messages carry no sender (prompts say "
        "'someone'), and no weight is given by reputation or trust.",
    )
    independence_first: bool = Field(
        False, description="Everyone commits privately to an answer before hearing anyone."
    )
    speaking_order: Literal["random", "fixed", "confidence", "degree"] = Field(
        "random",
        description="Turn order where agents speak in turn: random each round, fixed (index "
        "order), by confidence (most confident first) or by degree (best connected first).",
    )
    devils_advocate: bool = Field(
        False, description="Appoint one random agent to defend a minority answer."
    )
    memory: MemoryConfig | None = Field(
        None, description="Institutional memory: a notebook kept across episodes."
    )
    delphi: bool = Field(
        False,
        description="Delphi feedback: between rounds agents see only the anonymized "
        "distribution of answers and mean confidence, never individual messages.",
    )


def group_decision(
    choices: np.ndarray,
    beliefs: np.ndarray,
    confidences: np.ndarray,
    rule: Aggregation = "plurality",
    weights: np.ndarray | None = None,
) -> tuple[int | None, float | None]:
    """The group's decision and its confidence under an aggregation rule.

    Args:
        choices: Final answer of each agent (``-1``: none).
        beliefs: ``(n, K)`` final beliefs.
        confidences: Each agent's stated confidence in its answer (NaN: none stated; then
            its belief in its answer is used).
        rule: The aggregation rule (see the module docstring).
        weights: Members' vote weights for ``reputation`` (None or all 0: plurality).

    Returns:
        The decided option (None: no decision) and the group's confidence in it.
    """
    n, options = beliefs.shape
    held = choices >= 0
    if not held.any():
        return None, None
    votes = np.bincount(choices[held], minlength=options).astype(float)
    if rule == "reputation" and weights is not None and np.any(weights[held] != 0):
        score = np.bincount(choices[held], weights=weights[held], minlength=options)
        best = np.flatnonzero(score == score.max())
        if len(best) > 1:
            return None, None
        positive = np.clip(score, 0.0, None)
        return int(best[0]), float(positive[best[0]] / positive.sum())
    if rule in ("plurality", "majority", "reputation"):
        best = np.flatnonzero(votes == votes.max())
        if len(best) > 1:
            return None, None
        winner = int(best[0])
        if rule == "majority" and votes[winner] * 2 <= n:
            return None, None
        return winner, float(votes[winner] / held.sum())
    if rule == "confidence_weighted":
        stated = np.where(
            np.isnan(confidences), beliefs[np.arange(n), np.maximum(choices, 0)], confidences
        )
        weight = np.bincount(choices[held], weights=stated[held], minlength=options)
        if weight.sum() <= 0:
            return None, None
        best = np.flatnonzero(weight == weight.max())
        if len(best) > 1:
            return None, None
        return int(best[0]), float(weight[best[0]] / weight.sum())
    pooled = np.log(np.clip(beliefs[held], _BELIEF_FLOOR, 1.0)).sum(axis=0)
    pooled -= pooled.max()
    posterior = np.exp(pooled) / np.exp(pooled).sum()
    best = np.flatnonzero(posterior == posterior.max())
    if len(best) > 1:
        return None, None
    return int(best[0]), float(posterior[best[0]])
