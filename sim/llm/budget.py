"""Hard budgets on LLM spending: per run (in memory) and per sweep (a locked file).

Every call is checked *before* it is sent, on its worst case: one request, the prompt's
token estimate (:func:`~sim.llm.requests.estimate_prompt_tokens`) plus ``max_tokens``, and
their cost from the price table. A call whose worst case, added to what is spent and what
is in flight, would pass a limit is not sent. When the reply arrives the reservation is
replaced by the actual usage. The only way past a limit is a server whose tokenizer counts
more than one token per three characters of prompt (the estimate's ratio).

Two scopes:

* **Run** (:class:`Budget`): charged for every answered call, cache hits included, so a
  run's answers never depend on whether the cache was warm (a replayed run stops where the
  recorded run stopped). Checks happen in request order, so they are deterministic.
* **Sweep** (:class:`SweepLedger`): money actually spent by all worker processes of a
  sweep, so only calls really sent count. A JSON file, read and rewritten (atomically)
  under an exclusive ``fcntl.flock`` on a companion ``.lock`` file; reservations are kept
  per process id and those of dead processes are dropped, so a crashed worker does not
  hold budget forever. Without a ledger file the sweep limits apply to this process alone.

Failed calls count as a request but no tokens (a server that timed out may still have
charged; that is not visible here).

Main entry points: :class:`Budget`, :class:`Usage`, :class:`SweepLedger`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.errors import ScenarioError
from sim.llm.config import LOCAL_MODEL, BudgetConfig, BudgetLimits, Price
from sim.llm.requests import ChatRequest, estimate_prompt_tokens
from sim.results import write_atomic

_FREE = Price(prompt_usd_per_million=0.0, completion_usd_per_million=0.0)


@dataclass(frozen=True, slots=True)
class Usage:
    """An amount of spending: calls, tokens (prompt + completion) and USD."""

    requests: int = 0
    tokens: int = 0
    cost_usd: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.requests + other.requests,
            self.tokens + other.tokens,
            self.cost_usd + other.cost_usd,
        )

    def __sub__(self, other: Usage) -> Usage:
        return Usage(
            self.requests - other.requests,
            self.tokens - other.tokens,
            # Float sums and differences leave dust; spending is never negative.
            max(0.0, self.cost_usd - other.cost_usd),
        )

    def describe(self) -> str:
        """``"12 requests, 3,400 tokens, $0.0123"``."""
        return f"{self.requests:,} requests, {self.tokens:,} tokens, ${self.cost_usd:.4f}"

    def to_dict(self) -> dict[str, Any]:
        """As a JSON-ready dict."""
        return {"requests": self.requests, "tokens": self.tokens, "cost_usd": self.cost_usd}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Usage:
        """Inverse of :meth:`to_dict`."""
        return cls(int(data["requests"]), int(data["tokens"]), float(data["cost_usd"]))


def _refusal(
    scope: str, limits: BudgetLimits, spent: Usage, in_flight: Usage, need: Usage
) -> str | None:
    """The reason ``need`` does not fit under ``limits``, or None when it does."""
    total = spent + in_flight + need
    checks: list[tuple[str, float | None, float, str]] = [
        ("max_requests", limits.max_requests, total.requests, f"{need.requests}"),
        ("max_tokens", limits.max_tokens, total.tokens, f"{need.tokens:,} tokens"),
        ("max_cost_usd", limits.max_cost_usd, total.cost_usd, f"${need.cost_usd:.4f}"),
    ]
    for name, limit, value, needed in checks:
        if limit is not None and value > limit + 1e-12:
            return (
                f"{scope} budget exhausted: {name} = {limit:g} would be exceeded by a call "
                f"that may need {needed}; spent {spent.describe()}"
                + (f" (+ in flight {in_flight.describe()})" if in_flight.requests else "")
            )
    return None


class SweepLedger:
    """Spending of a whole sweep, shared by its worker processes through a file.

    Args:
        path: The ledger file (created on first use; its folder must be writable).
        limits: The sweep limits.
    """

    def __init__(self, path: Path, limits: BudgetLimits) -> None:
        self.path = Path(path)
        self.limits = limits
        self._lock_path = self.path.with_name(self.path.name + ".lock")

    def reserve(self, need: Usage) -> str | None:
        """Reserve ``need`` for this process, or say why it does not fit."""
        with self._locked() as state:
            spent = Usage.from_dict(state["spent"])
            in_flight = sum((Usage.from_dict(held) for held in state["reserved"].values()), Usage())
            refusal = _refusal("sweep", self.limits, spent, in_flight, need)
            if refusal is None:
                pid = str(os.getpid())
                mine = Usage.from_dict(state["reserved"].get(pid, Usage().to_dict()))
                state["reserved"][pid] = (mine + need).to_dict()
            return refusal

    def settle(self, reserved: Usage, actual: Usage) -> None:
        """Replace this process's reservation ``reserved`` by the spending ``actual``."""
        with self._locked() as state:
            pid = str(os.getpid())
            mine = Usage.from_dict(state["reserved"].get(pid, Usage().to_dict())) - reserved
            if mine.requests <= 0:
                state["reserved"].pop(pid, None)
            else:
                state["reserved"][pid] = mine.to_dict()
            state["spent"] = (Usage.from_dict(state["spent"]) + actual).to_dict()

    def spent(self) -> Usage:
        """What the sweep has spent so far (all processes)."""
        with self._locked() as state:
            return Usage.from_dict(state["spent"])

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                state = self._read()
                before = json.dumps(state, sort_keys=True)
                state["reserved"] = {
                    pid: held for pid, held in state["reserved"].items() if _alive(int(pid))
                }
                yield state
                text = json.dumps(state, sort_keys=True)
                if text != before:
                    write_atomic(self.path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"spent": Usage().to_dict(), "reserved": {}}
        except ValueError as exc:
            raise ScenarioError(
                f"the sweep's LLM budget ledger {self.path} is damaged ({exc}); "
                "delete it only if no worker is running"
            ) from exc
        return data


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Budget:
    """The budgets of one run (and, through a ledger, of its sweep).

    Args:
        config: Run and sweep limits.
        prices: USD per 1M tokens by model; a model without a price costs nothing, which
            is an error when a cost limit is set (except for the local model, which is free).
        ledger_path: The sweep ledger file shared by the sweep's workers; None: the sweep
            limits apply to this process alone.
    """

    def __init__(
        self,
        config: BudgetConfig | None = None,
        prices: Mapping[str, Price] | None = None,
        *,
        ledger_path: Path | None = None,
    ) -> None:
        self.config = config or BudgetConfig()
        self.prices = dict(prices or {})
        self.used = Usage()
        """Settled spending of this run (cache hits included)."""
        self._in_flight = Usage()
        self._ledger = (
            SweepLedger(ledger_path, self.config.sweep) if ledger_path is not None else None
        )
        self._local_spent = Usage()
        self._local_in_flight = Usage()

    def price(self, model: str) -> Price:
        """The price of ``model``.

        Raises:
            ScenarioError: No price is known while a cost limit is set.
        """
        if model in self.prices:
            return self.prices[model]
        cost_limited = (
            self.config.run.max_cost_usd is not None or self.config.sweep.max_cost_usd is not None
        )
        if cost_limited and model != LOCAL_MODEL:
            raise ScenarioError(
                f'llm.budget sets max_cost_usd but llm.prices has no price for model "{model}": '
                f'add [llm.prices."{model}"] with prompt_usd_per_million and '
                "completion_usd_per_million"
            )
        return _FREE

    def worst_case(self, request: ChatRequest) -> Usage:
        """Most that ``request`` can spend: its prompt estimate plus ``max_tokens``."""
        prompt = estimate_prompt_tokens(request.messages)
        cost = self.price(request.model).cost(prompt, request.max_tokens)
        return Usage(1, prompt + request.max_tokens, cost)

    def actual(self, model: str, prompt_tokens: int, completion_tokens: int) -> Usage:
        """What a call with these counts spent."""
        cost = self.price(model).cost(prompt_tokens, completion_tokens)
        return Usage(1, prompt_tokens + completion_tokens, cost)

    def reserve_run(self, need: Usage) -> str | None:
        """Reserve ``need`` in the run budget, or say why it does not fit."""
        refusal = _refusal("run", self.config.run, self.used, self._in_flight, need)
        if refusal is None:
            self._in_flight = self._in_flight + need
        return refusal

    def settle_run(self, reserved: Usage, actual: Usage) -> None:
        """Replace a run reservation by the actual spending (a zero Usage to cancel)."""
        self._in_flight = self._in_flight - reserved
        self.used = self.used + actual

    def reserve_sweep(self, need: Usage) -> str | None:
        """Reserve ``need`` in the sweep budget, or say why it does not fit."""
        if self._ledger is not None:
            return self._ledger.reserve(need)
        refusal = _refusal(
            "sweep", self.config.sweep, self._local_spent, self._local_in_flight, need
        )
        if refusal is None:
            self._local_in_flight = self._local_in_flight + need
        return refusal

    def settle_sweep(self, reserved: Usage, actual: Usage) -> None:
        """Replace a sweep reservation by the spending actually incurred."""
        if self._ledger is not None:
            self._ledger.settle(reserved, actual)
        else:
            self._local_in_flight = self._local_in_flight - reserved
            self._local_spent = self._local_spent + actual

    def sweep_spent(self) -> Usage:
        """Spending of the sweep so far (of this process when there is no ledger)."""
        return self._ledger.spent() if self._ledger is not None else self._local_spent
