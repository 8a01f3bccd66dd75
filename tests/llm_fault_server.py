"""A fault-injecting OpenAI-compatible chat server for tests, on 127.0.0.1 only.

:class:`FaultServer` serves ``GET /v1/models``, ``GET /health`` and ``POST
/v1/chat/completions`` from a ``ThreadingHTTPServer`` (one thread per connection, so
delayed replies overlap). What it does for a chat request is scripted by the text of the
request's first user message: :meth:`FaultServer.script` queues :class:`Reply` behaviours
for one prompt, used one per request (retries and the repair request of that prompt take
the next ones); an unscripted or exhausted prompt gets :attr:`FaultServer.default`, whose
text is a valid answer ``{"answer": "A", "confidence": 0.9, "message": <the prompt>}``.

A reply can be an HTTP error with headers (``Retry-After``), a delay (beyond the client's
timeout), a malformed or truncated body, any answer text, usage present or absent, a
dropped connection, or an error body that echoes the ``Authorization`` header. The server
counts requests and the most chat requests in flight at once.

Use the ``fault_server`` fixture (import it into a test module) or ``with FaultServer()
as server``; ``python tests/llm_fault_server.py LATENCY`` serves from its own process.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass(frozen=True)
class Reply:
    """What the server does with one chat completion request.

    Attributes:
        status: HTTP status.
        text: Answer text of a 200 reply (None: the default answer for the prompt).
        delay_s: Wait this long before replying.
        usage: Include ``usage`` in a 200 reply.
        headers: Extra response headers (e.g. ``{"Retry-After": "1"}``).
        body: Raw body sent instead of a JSON document (malformed replies).
        error: Error message in the JSON body of a non-200 reply.
        echo_auth: Put the request's Authorization header into the error message.
        drop: Close the connection without replying.
    """

    status: int = 200
    text: str | None = None
    delay_s: float = 0.0
    usage: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    error: str = "injected fault"
    echo_auth: bool = False
    drop: bool = False


def default_answer(prompt: str) -> str:
    """The default reply text: answer "A" with the prompt as message."""
    return json.dumps({"answer": "A", "confidence": 0.9, "message": prompt})


class FaultServer:
    """The scriptable server; a context manager.

    Attributes:
        default: Behaviour for requests with nothing scripted.
        chat_bodies: JSON bodies of the chat requests received, in arrival order.
        auth_headers: Authorization headers received (chat and models).
        models_requests: Number of ``GET /v1/models`` received.
        max_in_flight: Most chat requests being handled at the same time.
        responder: When set, called with the first user message of every request with
            nothing scripted; a :class:`Reply` it returns is used instead of ``default``
            (None: ``default``).
    """

    def __init__(self) -> None:
        self.default = Reply()
        self.responder: Callable[[str], Reply | None] | None = None
        self.chat_bodies: list[dict[str, Any]] = []
        self.auth_headers: list[str] = []
        self.models_requests = 0
        self.max_in_flight = 0
        self._in_flight = 0
        self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def chat_requests(self) -> int:
        """Number of chat completion requests received."""
        with self._lock:
            return len(self.chat_bodies)

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, prompt: str, *replies: Reply) -> None:
        """Queue behaviours for the requests whose first user message is ``prompt``."""
        with self._lock:
            self._scripts[prompt].extend(replies)

    def reset_counts(self) -> None:
        """Forget received requests and the in-flight maximum."""
        with self._lock:
            self.chat_bodies.clear()
            self.auth_headers.clear()
            self.models_requests = 0
            self.max_in_flight = 0

    def start(self) -> FaultServer:
        """Listen on a free port of 127.0.0.1 in a background thread."""
        handler = type("Handler", (_Handler,), {"fault": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and close open connections (so the port refuses connections);
        delayed replies in progress return at once."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next_reply(self, prompt: str) -> Reply:
        with self._lock:
            queue = self._scripts.get(prompt)
            if queue:
                return queue.popleft()
            responder = self.responder
        chosen = responder(prompt) if responder is not None else None
        return self.default if chosen is None else chosen


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 drops connection attempts from a burst of concurrent
    # clients, which then wait a whole second to retry the SYN.
    request_queue_size = 256


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm the second waits for
    # the client's delayed ACK (40 ms on Linux) on every keep-alive reply.
    disable_nagle_algorithm = True
    fault: FaultServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        with self.fault._lock:
            self.fault._connections.add(self.connection)

    def finish(self) -> None:
        with self.fault._lock:
            self.fault._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        fault = self.fault
        if self.path == "/_stats":  # for a server in another process (benchmarks)
            with fault._lock:
                stats = {
                    "chat_requests": len(fault.chat_bodies),
                    "max_in_flight": fault.max_in_flight,
                }
            self._send_json(200, stats)
            return
        if self.path == "/_reset":
            fault.reset_counts()
            self._send_json(200, {})
            return
        with fault._lock:
            fault.auth_headers.append(self.headers.get("Authorization", ""))
            if self.path.rstrip("/").endswith("/models"):
                fault.models_requests += 1
        if self.path.rstrip("/").endswith(("/models", "/health")):
            self._send_json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
        else:
            self._send_json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        fault = self.fault
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": "not found"}})
            return
        body = json.loads(raw)
        prompt = next(
            (m["content"] for m in body.get("messages", []) if m.get("role") == "user"), ""
        )
        auth = self.headers.get("Authorization", "")
        with fault._lock:
            fault.chat_bodies.append(body)
            fault.auth_headers.append(auth)
            fault._in_flight += 1
            fault.max_in_flight = max(fault.max_in_flight, fault._in_flight)
        try:
            reply = fault._next_reply(prompt)
            if reply.delay_s > 0 and fault._stopping.wait(reply.delay_s):
                return
            self._reply(reply, body, prompt, auth)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout) and closed the connection
        finally:
            with fault._lock:
                fault._in_flight -= 1

    def _reply(self, reply: Reply, body: dict[str, Any], prompt: str, auth: str) -> None:
        if reply.drop:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if reply.body is not None:
            self._send(reply.status, reply.body, reply.headers)
            return
        if reply.status != 200:
            message = f"{reply.error}: {auth}" if reply.echo_auth else reply.error
            self._send_json(reply.status, {"error": {"message": message}}, reply.headers)
            return
        text = default_answer(prompt) if reply.text is None else reply.text
        document: dict[str, Any] = {
            "id": "chatcmpl-fault",
            "object": "chat.completion",
            "model": body.get("model", ""),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
        }
        if reply.usage:
            prompt_chars = sum(len(m.get("content", "")) for m in body.get("messages", []))
            document["usage"] = {
                "prompt_tokens": prompt_chars // 4 + 1,
                "completion_tokens": len(text) // 4 + 1,
                "total_tokens": prompt_chars // 4 + len(text) // 4 + 2,
            }
        self._send_json(200, document, reply.headers)

    def _send_json(
        self, status: int, document: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self._send(status, json.dumps(document).encode(), headers or {})

    def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    """A running :class:`FaultServer`, stopped after the test."""
    with FaultServer() as server:
        yield server


def serve(latency_s: float) -> None:
    """Serve every chat request after ``latency_s``, print the base URL, and stop when
    standard input closes (``python tests/llm_fault_server.py LATENCY``).
    ``GET /_stats`` and ``GET /_reset`` read and reset the counters."""
    with FaultServer() as server:
        server.default = Reply(delay_s=latency_s)
        print(server.base_url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    serve(float(sys.argv[1]) if len(sys.argv) > 1 else 0.1)
