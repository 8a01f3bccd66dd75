"""Serving the visualizer: ``sim viz`` starts Solara's web server in this process.

:func:`serve` checks everything a user can get wrong before anything starts (the scenario
and its overrides load, the address can be listened on), binds the socket itself (so port
0 picks a free port and a busy port is one clear error, never a traceback from inside the
server), hands the scenario to :mod:`sim.viz.app` through environment variables, and runs
Solara's Starlette app under uvicorn until Ctrl-C.

Solara is configured for a closed network and a single user: no telemetry, no version
check, production mode (no file watching), and the front-end assets come from the
``solara-assets`` package instead of a CDN.

Main entry points: :func:`serve`, :func:`listen`.
"""

from __future__ import annotations

import json
import os
import socket
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sim.errors import ScenarioError
from sim.scenario import load

SCENARIO_VARIABLE = "SIM_VIZ_SCENARIO"
OVERRIDES_VARIABLE = "SIM_VIZ_OVERRIDES"
SEED_VARIABLE = "SIM_VIZ_SEED"
"""Environment variables that tell :mod:`sim.viz.app` what to show."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765

# Read by solara's settings when they are first imported; set before that.
_SOLARA_ENVIRONMENT = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",
    "SOLARA_APP": "sim.viz.app",
    "SOLARA_MODE": "production",
}


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free port).

    Raises:
        ScenarioError: The host is unknown or the address cannot be used (typically: the
            port is in use).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise ScenarioError(f"--host {host!r}: cannot resolve it ({exc.strerror})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ScenarioError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
            "choose another --port (0 picks a free one)"
        ) from None
    return sock


def url_of(sock: socket.socket, host: str) -> str:
    """The page's address for a listening socket."""
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(
    scenario: Path,
    overrides: Mapping[str, Any],
    *,
    seed: int | None = None,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve the visualizer of ``scenario`` until interrupted.

    Args:
        scenario: Scenario file.
        overrides: Key path → value (``--set``).
        seed: Root seed (default: the scenario's).
        host: Interface to listen on (loopback unless asked otherwise).
        port: Port (0: any free port).
        announce: Called with the page's URL once the socket listens.

    Raises:
        ScenarioError: The scenario or an override is invalid, or the address cannot be
            listened on.
        KeyboardInterrupt: Ctrl-C, after the server has shut down.
    """
    load(scenario, overrides)  # user errors surface here, before any server starts
    sock = listen(host, port)
    os.environ.update(_SOLARA_ENVIRONMENT)
    os.environ[SCENARIO_VARIABLE] = str(Path(scenario).resolve())
    os.environ[OVERRIDES_VARIABLE] = json.dumps(dict(overrides))
    if seed is None:
        os.environ.pop(SEED_VARIABLE, None)
    else:
        os.environ[SEED_VARIABLE] = str(seed)

    import uvicorn
    from solara.server import settings

    # Solara warns on every page load that a plain-http session cookie cannot be
    # samesite=none (needed only when embedded in an iframe); it falls back to lax.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none", category=UserWarning)

    settings.telemetry.mixpanel_enable = False
    settings.main.mode = "production"
    config = uvicorn.Config(
        "solara.server.starlette:app",
        log_level="warning",
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    announce(url_of(sock, host))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
