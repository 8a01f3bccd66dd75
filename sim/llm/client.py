"""The LLM client: concurrent, rate-limited, retried, cached, budgeted chat completions.

:meth:`LLMClient.complete_many` takes the requests that became ready at one simulation
moment and returns one :class:`~sim.llm.requests.ChatResult` per request, **in request
order** whatever order the replies arrive in. It never raises for a failed call: a call
that cannot be answered comes back with status ``failed``, ``abstain`` or ``budget`` and
the agent abstains. It raises :class:`~sim.errors.ScenarioError` only for mistakes the
user must fix: a missing API key variable, a server that cannot be reached at all, a
cache miss in replay mode, a cost limit without a price.

What happens to a batch:

1. In request order, for each request: check the run budget on the request's worst case;
   look it up in the cache (a hit is answered, and charged to the run budget); in replay
   mode a miss is an error; otherwise check the sweep budget. A request that does not fit
   a budget is not sent (status ``budget``). All these decisions are taken before anything
   is sent, so they do not depend on whether the cache was warm. Identical requests in a
   batch (same key) are sent once: they would share a cache entry anyway; ask for
   independent samples of one prompt with distinct ``sample_index`` values.
2. Before the first request is sent, connect: read the key from the environment, start the
   embedded server for kind ``local``, and check that the server answers.
3. Send the misses concurrently, at most ``concurrency`` in flight (slots spread over
   httpx clients of :data:`POOL_CONNECTIONS` connections each: one large httpx pool costs
   CPU in proportion to its size on every request), paced by the rate limits. Each
   attempt has a total timeout; timeouts, connection errors, unreadable bodies,
   408/425/429 and 5xx are retried with exponential backoff and jitter (at least a
   server's ``Retry-After``). Replies and final failures are recorded in the cache and
   charged to the budgets.
4. Parse structured answers. Replies without a usable answer get one repair request
   (the conversation, the bad reply, and the format restated), sent as a second round in
   request order, so budget decisions stay deterministic.
5. Append one trace row per call, in request order.

Token counts come from the server's ``usage``; without it they are estimated
(:func:`~sim.llm.requests.estimate_tokens`, one token per 3 characters) and flagged.

The key is read from the environment variable named by ``api_key_env`` when the first
request is sent, kept only in the HTTP client's headers, and redacted from every error
message (also partial echoes such as ``sk-abc...wxyz``).

Main entry point: :class:`LLMClient`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import email.utils
import ipaddress
import os
import random
import re
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from sim.errors import ScenarioError
from sim.llm.answers import Answer, answer_grammar, answer_schema, parse_answer, repair_messages
from sim.llm.budget import Budget, Usage
from sim.llm.cache import CacheEntry, ResponseCache
from sim.llm.config import BackendConfig, LLMConfig
from sim.llm.limits import RateLimiter
from sim.llm.local import LocalServer
from sim.llm.requests import (
    ChatRequest,
    ChatResult,
    Status,
    TraceContext,
    estimate_prompt_tokens,
    estimate_tokens,
)
from sim.llm.trace import Trace, TraceRow

RETRY_AFTER_MAX_S = 300.0
"""Longest ``Retry-After`` honoured; a longer one is cut to this."""

_RETRYABLE_STATUS = frozenset({408, 425, 429})

POOL_CONNECTIONS = 8
"""Connections per httpx client; ``concurrency`` slots are spread over several clients."""


@dataclass
class _Call:
    """One call's outcome before it becomes a result and a trace row."""

    request: ChatRequest
    status: Status = "failed"
    text: str = ""
    replied: bool = False
    answer: Answer | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens_estimated: bool = False
    cost_usd: float = 0.0
    latency_s: float = 0.0
    attempts: int = 0
    cache_hit: bool = False
    error: str | None = None
    reserved: Usage | None = None  # run budget reservation to settle when the round ends


@dataclass(frozen=True)
class _Pending:
    request: ChatRequest
    need: Usage


class LLMClient:
    """Sends chat completions for one run.

    To serve many runs from one process (a sweep worker), either make one client per run
    sharing a :class:`LocalServer` (``server=``), or keep one client and give it a fresh
    ``budget`` (and ``trace``) before each run: both are plain attributes.

    Args:
        backend: Server, model, sampling, retries and limits.
        cache: The response cache.
        budget: The run (and sweep) budget.
        trace: Where to log one row per call (None: no trace).
        server: A running (or startable) :class:`LocalServer` to use for kind ``local``,
            e.g. one shared by many runs of a worker; None: the client starts its own
            when it first needs it and stops it on :meth:`close`.
        transport: httpx transport (tests); None: the network.
        sleep: Async sleep used for backoff and pacing (tests); None: ``asyncio.sleep``.
        clock: Monotonic clock in seconds (tests); None: ``time.monotonic``.
    """

    def __init__(
        self,
        backend: BackendConfig,
        cache: ResponseCache,
        budget: Budget,
        trace: Trace | None = None,
        *,
        server: LocalServer | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.backend = backend
        self.cache = cache
        self.budget = budget
        self.trace = trace
        self.replay_only = backend.kind == "replay" or cache.mode == "replay"
        self.requests_sent = 0
        """HTTP chat completion attempts made so far (retries included)."""
        self._server = server
        self._owns_server = False
        self._transport = transport
        self._sleep = sleep or asyncio.sleep
        self._clock = clock or time.monotonic
        self._random = random.Random()
        self._secret: _Secret | None = None
        self._base_url = ""
        self._pools: list[httpx.AsyncClient] = []
        self._slots: asyncio.LifoQueue[int] | None = None
        self._limiter: RateLimiter | None = None
        self._runner: asyncio.Runner | None = None
        self._closed = False

    @classmethod
    def from_config(
        cls,
        config: LLMConfig,
        *,
        trace: Trace | None = None,
        ledger_path: os.PathLike[str] | str | None = None,
        server: LocalServer | None = None,
    ) -> LLMClient:
        """A client for an ``[llm]`` table.

        Args:
            config: The table.
            trace: Trace to append to; None: a new one (``config.trace_text`` decides
                whether it keeps text), available as ``client.trace``.
            ledger_path: The sweep's budget ledger file (None: not in a sweep).
            server: A shared local server (see the class arguments).
        """
        return cls(
            config.backend,
            ResponseCache(config.cache),
            Budget(
                config.budget,
                config.prices,
                ledger_path=Path(ledger_path) if ledger_path is not None else None,
            ),
            trace if trace is not None else Trace(include_text=config.trace_text),
            server=server,
        )

    # -- public API -----------------------------------------------------------------

    def complete_many(
        self,
        requests: Sequence[ChatRequest],
        contexts: Sequence[TraceContext] | None = None,
    ) -> list[ChatResult]:
        """Answer a batch of requests concurrently; results in request order.

        Args:
            requests: The requests that became ready together.
            contexts: Where each comes from (run, agent, simulation time), for the trace;
                None: anonymous.

        Returns:
            One result per request, in the order of ``requests``.

        Raises:
            ScenarioError: A user mistake (see the module documentation).
        """
        if contexts is not None and len(contexts) != len(requests):
            raise ValueError("complete_many needs one context per request")
        if not requests:
            return []
        if self._closed:
            raise RuntimeError("the LLM client is closed")
        batch = list(requests)
        where = list(contexts) if contexts is not None else [TraceContext()] * len(batch)
        return self._run(self._complete(batch, where))

    def complete(self, request: ChatRequest, context: TraceContext | None = None) -> ChatResult:
        """Answer one request (see :meth:`complete_many`)."""
        return self.complete_many([request], None if context is None else [context])[0]

    def close(self) -> None:
        """Close connections and stop the local server if this client started it."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._pools and self._runner is not None:
                self._runner.run(_close_all(self._pools))
        finally:
            self._pools = []
            if self._runner is not None:
                self._runner.close()
                self._runner = None
            if self._owns_server and self._server is not None:
                self._server.stop()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- event loop -----------------------------------------------------------------

    def _run(self, coroutine: Coroutine[Any, Any, list[ChatResult]]) -> list[ChatResult]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._run_here(coroutine)
        # Called from inside an event loop (a notebook, a web UI): run ours in a thread.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(self._run_here, coroutine).result()

    def _run_here(self, coroutine: Coroutine[Any, Any, list[ChatResult]]) -> list[ChatResult]:
        # One loop for the client's lifetime, so connections are reused between batches.
        if self._runner is None:
            self._runner = asyncio.Runner()
        return self._runner.run(coroutine)

    # -- the batch --------------------------------------------------------------------

    async def _complete(
        self, requests: list[ChatRequest], contexts: list[TraceContext]
    ) -> list[ChatResult]:
        first = await self._round(requests)
        needs_repair = [
            index
            for index, call in enumerate(first)
            if call.replied and call.status == "abstain" and call.request.options is not None
        ]
        repair_requests = []
        for index in needs_repair:
            request = requests[index]
            assert request.options is not None
            messages = repair_messages(request.messages, first[index].text, request.options)
            repair_requests.append(dataclasses.replace(request, messages=messages))
        repaired = dict(zip(needs_repair, await self._round(repair_requests), strict=True))

        results = []
        for index, call in enumerate(first):
            repair = repaired.get(index)
            if self.trace is not None:
                request_key = call.request.key()
                self.trace.append(_trace_row(call, contexts[index], "answer", request_key))
                if repair is not None:
                    self.trace.append(_trace_row(repair, contexts[index], "repair", request_key))
            results.append(_result(call, repair))
        return results

    async def _round(self, requests: list[ChatRequest]) -> list[_Call]:
        """One round: budget and cache in request order, then the misses concurrently.

        Every budget decision of a round is taken before anything is sent, on worst cases,
        and cache hits keep their worst-case reservation until the round ends, so the
        decisions are the same whether the cache is cold (record) or warm (replay).
        Identical requests (same key) in a round are sent once and share the reply, as
        they would share the cache entry.
        """
        calls: list[_Call | None] = []
        pending: dict[int, _Pending] = {}
        followers: dict[int, tuple[int, Usage]] = {}
        leaders: dict[str, int] = {}
        for index, request in enumerate(requests):
            key = request.key()
            if key in leaders:
                need = self.budget.worst_case(request)
                refusal = self.budget.reserve_run(need)
                if refusal is None:
                    followers[index] = (leaders[key], need)
                    calls.append(None)
                else:
                    calls.append(_Call(request, status="budget", error=refusal))
                continue
            prepared = self._prepare(request)
            if isinstance(prepared, _Pending):
                pending[index] = prepared
                leaders[key] = index
                calls.append(None)
            else:
                calls.append(prepared)
        if pending:
            try:
                await self._connect()
            except BaseException:
                for item in pending.values():
                    self.budget.settle_run(item.need, Usage())
                    self.budget.settle_sweep(item.need, Usage())
                raise
            sent = await asyncio.gather(*(self._send_and_record(p) for p in pending.values()))
            for index, call in zip(pending, sent, strict=True):
                calls[index] = call
        for index, (leader, need) in followers.items():
            source = calls[leader]
            assert source is not None
            calls[index] = dataclasses.replace(
                source, attempts=0, latency_s=0.0, cache_hit=True, reserved=need
            )
        done = [call for call in calls if call is not None]
        assert len(done) == len(requests)
        for call in done:
            if call.reserved is not None:
                self.budget.settle_run(call.reserved, self._usage(call))
                call.reserved = None
            _read_answer(call)
        return done

    def _usage(self, call: _Call) -> Usage:
        """What a finished call spent: its tokens when it got a reply, else one request."""
        if not call.replied:
            return Usage(requests=1)
        return self.budget.actual(call.request.model, call.prompt_tokens, call.completion_tokens)

    def _prepare(self, request: ChatRequest) -> _Call | _Pending:
        need = self.budget.worst_case(request)
        refusal = self.budget.reserve_run(need)
        if refusal is not None:
            return _Call(request, status="budget", error=refusal)
        entry = self.cache.get(request.key())
        if entry is not None and (entry.error is None or self.replay_only):
            call = _Call(
                request,
                status="failed" if entry.error is not None else "ok",
                text=entry.text,
                replied=entry.error is None,
                prompt_tokens=entry.prompt_tokens,
                completion_tokens=entry.completion_tokens,
                tokens_estimated=entry.tokens_estimated,
                cache_hit=True,
                error=entry.error,
                reserved=need,
            )
            call.cost_usd = self._usage(call).cost_usd
            return call
        if self.replay_only:
            self.budget.settle_run(need, Usage())
            why = 'backend kind "replay"' if self.backend.kind == "replay" else "cache mode"
            raise ScenarioError(
                f"llm: no cached reply for request {request.key()[:16]} (model "
                f'"{request.model}", sample {request.sample_index}) in {self.cache.root}: the '
                f"{why} answers only from the cache; record it first with llm.cache.mode = "
                '"record" and a backend of kind "openai" or "local"'
            )
        refusal = self.budget.reserve_sweep(need)
        if refusal is not None:
            self.budget.settle_run(need, Usage())
            return _Call(request, status="budget", error=refusal)
        return _Pending(request, need)

    async def _send_and_record(self, pending: _Pending) -> _Call:
        request, need = pending.request, pending.need
        call = await self._send(request, need.tokens)
        actual = self._usage(call)
        call.cost_usd = actual.cost_usd
        if call.replied:
            entry = CacheEntry(
                call.text, call.prompt_tokens, call.completion_tokens, call.tokens_estimated
            )
        else:
            entry = CacheEntry("", 0, 0, error=call.error)
        self.budget.settle_run(need, actual)
        self.budget.settle_sweep(need, actual)
        self.cache.put(request, entry)
        return call

    # -- HTTP -------------------------------------------------------------------------

    async def _connect(self) -> None:
        if self._pools:
            return
        if self.backend.kind == "local":
            if self._server is None:
                self._server = LocalServer.from_config(self.backend)
                self._owns_server = True
            self._server.start()
            base_url = self._server.base_url
        else:
            assert self.backend.base_url is not None
            base_url = self.backend.base_url.rstrip("/")
        self._secret = self._read_key()
        headers = {"Authorization": f"Bearer {self._secret.value}"} if self._secret else {}
        concurrency = self.backend.concurrency
        # httpx's connection pool scans all its connections on every request event, which
        # costs O(connections) syscalls per call: several small pools scale far better.
        sizes = [
            min(POOL_CONNECTIONS, concurrency - start)
            for start in range(0, concurrency, POOL_CONNECTIONS)
        ]
        # A proxy from the environment must not capture loopback traffic.
        trust_env = not _is_loopback(base_url)
        tls = httpx.create_ssl_context(trust_env=trust_env)  # loading CAs takes ~40 ms
        pools = [
            httpx.AsyncClient(
                headers=headers,
                timeout=httpx.Timeout(self.backend.timeout_s),
                limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
                transport=self._transport,
                verify=tls,
                trust_env=trust_env,
            )
            for size in sizes
        ]
        try:
            await self._check_server(pools[0], base_url)
        except BaseException:
            await _close_all(pools)
            raise
        self._pools, self._base_url = pools, base_url
        # A slot is the right to one request in flight; slot k uses pool k // POOL_CONNECTIONS.
        # Last in, first out, so that warm keep-alive connections are reused first.
        self._slots = asyncio.LifoQueue()
        for slot in reversed(range(concurrency)):
            self._slots.put_nowait(slot)
        self._limiter = RateLimiter(
            self.backend.requests_per_minute,
            self.backend.tokens_per_minute,
            clock=self._clock,
            sleep=self._sleep,
        )

    def _read_key(self) -> _Secret | None:
        name = self.backend.api_key_env
        if name is None:
            return None
        value = os.environ.get(name, "").strip()
        if not value:
            raise ScenarioError(
                f"llm.backend.api_key_env names the environment variable {name}, which is "
                f"not set or empty: export {name} before running (or remove api_key_env "
                "for a server that needs no key)"
            )
        return _Secret(value)

    async def _check_server(self, http: httpx.AsyncClient, base_url: str) -> None:
        """Fail early, with one clear message, when the server cannot be used at all."""
        error = ""
        attempts = self.backend.max_retries + 1
        for attempt in range(attempts):
            try:
                async with asyncio.timeout(self.backend.timeout_s):
                    response = await http.get(f"{base_url}/models")
            except (TimeoutError, httpx.TimeoutException):
                error = f"timed out after {self.backend.timeout_s:g} s"
            except httpx.TransportError as exc:
                error = self._redact(f"{type(exc).__name__}: {exc}")
            else:
                if response.status_code in (401, 403):
                    raise ScenarioError(self._auth_message(base_url, response.status_code))
                return
            if attempt + 1 < attempts:
                await self._sleep(self._backoff(attempt, None))
        raise ScenarioError(
            f"llm: cannot reach the LLM server at {base_url} ({error}; {attempts} attempts): "
            "start it, or fix llm.backend.base_url"
        )

    def _auth_message(self, base_url: str, status: int) -> str:
        if self.backend.api_key_env is None:
            return (
                f"llm: the server at {base_url} wants an API key (HTTP {status}): set "
                "llm.backend.api_key_env to the name of the variable that holds it"
            )
        return (
            f"llm: the server at {base_url} rejected the API key from "
            f"{self.backend.api_key_env} (HTTP {status}): check that variable"
        )

    async def _send(self, request: ChatRequest, worst_tokens: int) -> _Call:
        assert self._slots is not None and self._limiter is not None
        url = f"{self._base_url}/chat/completions"
        body = self._body(request)
        timeout = self.backend.timeout_s
        attempts = self.backend.max_retries + 1
        started = self._clock()
        error = ""
        for attempt in range(attempts):
            retry_after: float | None = None
            slot = await self._slots.get()
            try:
                await self._limiter.acquire(worst_tokens)
                self.requests_sent += 1
                try:
                    async with asyncio.timeout(timeout):
                        http = self._pools[slot // POOL_CONNECTIONS]
                        response = await http.post(url, json=body)
                except (TimeoutError, httpx.TimeoutException):
                    error = f"timed out after {timeout:g} s"
                except httpx.TransportError as exc:
                    error = self._redact(f"connection error ({type(exc).__name__}: {exc})")
                else:
                    status = response.status_code
                    if status == 200:
                        try:
                            call = _reply(request, response)
                        except ValueError as exc:
                            error = f"unreadable response ({exc})"
                        else:
                            call.attempts = attempt + 1
                            call.latency_s = self._clock() - started
                            used = call.prompt_tokens + call.completion_tokens
                            self._limiter.refund(worst_tokens - used)
                            return call
                    elif status in _RETRYABLE_STATUS or status >= 500:
                        error = f"HTTP {status}{self._detail(response)}"
                        retry_after = _retry_after(response.headers)
                    else:
                        self._limiter.refund(worst_tokens)
                        return _Call(
                            request,
                            status="failed",
                            attempts=attempt + 1,
                            latency_s=self._clock() - started,
                            error=f"HTTP {status}{self._detail(response)} (not retried)",
                        )
                self._limiter.refund(worst_tokens)
            finally:
                self._slots.put_nowait(slot)
            if attempt + 1 < attempts:
                await self._sleep(self._backoff(attempt, retry_after))
        return _Call(
            request,
            status="failed",
            attempts=attempts,
            latency_s=self._clock() - started,
            error=f"{error} (after {attempts} attempts)",
        )

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "messages": [{"role": role, "content": text} for role, text in request.messages],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "top_p": request.top_p,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if request.options is not None and request.constrain:
            mode = self.backend.structured_mode()
            if mode == "response_format":
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": "answer",
                        "strict": True,
                        "schema": answer_schema(request.options),
                    },
                }
            elif mode == "json_schema":
                body["json_schema"] = answer_schema(request.options)
            elif mode == "grammar":
                body["grammar"] = answer_grammar(
                    request.options, _message_chars(request.max_tokens)
                )
        return body

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Delay before retry ``attempt + 1``: drawn from [b/2, b], b = base * 2^attempt
        capped at backoff_max_s; never shorter than the server's Retry-After."""
        ceiling = min(self.backend.backoff_max_s, self.backend.backoff_base_s * 2.0**attempt)
        delay = self._random.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            delay = max(delay, min(retry_after, RETRY_AFTER_MAX_S))
        return delay

    def _detail(self, response: httpx.Response) -> str:
        if response.status_code in (401, 403):
            return " (" + self._auth_message(self._base_url, response.status_code) + ")"
        message: Any = None
        try:
            data = response.json()
            error = data.get("error") if isinstance(data, dict) else None
            message = error.get("message") if isinstance(error, dict) else error
        except ValueError:
            pass
        if not isinstance(message, str) or not message:
            message = response.text
        message = " ".join(message.split())[:200]
        return f": {self._redact(message)}" if message else ""

    def _redact(self, text: str) -> str:
        return redact(text, None if self._secret is None else self._secret.value)


class _Secret:
    """Holds the API key; its repr never shows it (tracebacks with locals, debuggers)."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "_Secret([redacted])"


def redact(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` removed, and any word sharing 6 characters in a row with it
    (a server echoing a masked key such as ``sk-abc***wxyz``)."""
    if not secret:
        return text
    text = text.replace(secret, "[redacted]")
    if len(secret) < 6:
        return text
    grams = {secret[i : i + 6] for i in range(len(secret) - 5)}

    def scrub(match: re.Match[str]) -> str:
        word = match.group(0)
        hit = any(word[i : i + 6] in grams for i in range(len(word) - 5))
        return "[redacted]" if hit else word

    return re.sub(r"[^\s\"',;:()\[\]{}]{6,}", scrub, text)


def _reply(request: ChatRequest, response: httpx.Response) -> _Call:
    """Read a 200 response; ValueError when its body is not a chat completion."""
    try:
        data = response.json()
        message = data["choices"][0]["message"]
        content = message.get("content")
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ValueError(f"no choices[0].message: {type(exc).__name__}") from exc
    if isinstance(content, list):  # content parts
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    text = content if isinstance(content, str) else ""
    usage = data.get("usage")
    prompt = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    completion = usage.get("completion_tokens") if isinstance(usage, dict) else None
    estimated = not (isinstance(prompt, int) and isinstance(completion, int))
    if estimated:
        prompt = estimate_prompt_tokens(request.messages)
        completion = estimate_tokens(text)
    assert isinstance(prompt, int) and isinstance(completion, int)
    return _Call(
        request,
        status="ok",
        text=text,
        replied=True,
        prompt_tokens=prompt,
        completion_tokens=completion,
        tokens_estimated=estimated,
    )


async def _close_all(pools: list[httpx.AsyncClient]) -> None:
    for pool in pools:
        await pool.aclose()


def _read_answer(call: _Call) -> None:
    """Set a replied call's answer and status (``ok`` or ``abstain``)."""
    if not call.replied:
        return
    if call.request.options is None:
        call.status, call.error = "ok", None
        return
    call.answer = parse_answer(call.text, call.request.options)
    if call.answer is None:
        call.status, call.error = "abstain", "no usable answer in the reply"
    else:
        call.status, call.error = "ok", None


def _result(first: _Call, repair: _Call | None) -> ChatResult:
    calls = [first] if repair is None else [first, repair]
    final = calls[-1]
    error = final.error
    if repair is not None and error is not None:
        error = f"{error} (repair request after an unusable reply)"
    return ChatResult(
        text=final.text,
        answer=final.answer,
        status=final.status,
        prompt_tokens=sum(call.prompt_tokens for call in calls),
        completion_tokens=sum(call.completion_tokens for call in calls),
        tokens_estimated=any(call.tokens_estimated for call in calls),
        cost_usd=sum(call.cost_usd for call in calls),
        latency_s=sum(call.latency_s for call in calls),
        attempts=sum(call.attempts for call in calls),
        cache_hit=all(call.cache_hit for call in calls),
        repaired=repair is not None,
        error=error,
        key=first.request.key(),
    )


def _trace_row(call: _Call, context: TraceContext, kind: str, request_key: str) -> TraceRow:
    request = call.request
    return TraceRow(
        run=context.run,
        agent=context.agent,
        sim_time=context.time,
        call=kind,
        key=request.key(),
        request_key=request_key,
        model=request.model,
        sample_index=request.sample_index,
        prompt=request.prompt_text(),
        response=call.text if call.replied else None,
        answer=None if call.answer is None else str(call.answer.answer),
        confidence=None if call.answer is None else call.answer.confidence,
        status=call.status,
        prompt_tokens=call.prompt_tokens,
        completion_tokens=call.completion_tokens,
        tokens_estimated=call.tokens_estimated,
        cost_usd=call.cost_usd,
        latency_s=call.latency_s,
        cache_hit=call.cache_hit,
        attempts=call.attempts,
        error=call.error,
    )


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds a server asks to wait (``retry-after-ms`` or ``Retry-After``), or None."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return max(0.0, float(milliseconds) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _message_chars(max_tokens: int) -> int:
    """Longest message the grammar allows, so the whole object fits in ``max_tokens``:
    about 24 tokens of JSON around it and at least 3 characters per token."""
    return max(0, min(400, 3 * (max_tokens - 24)))


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
