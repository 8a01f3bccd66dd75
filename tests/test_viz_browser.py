"""End-to-end test of ``sim viz`` in a real headless browser.

Starts the command on a free loopback port, opens the page in Debian's Chromium driven by
Playwright (never a browser Playwright would download), presses Step several times and
checks that the charts gain points and the agents change colour, saves a screenshot under
``test-artifacts/``, and stops the server with Ctrl-C (SIGINT), which must end it cleanly.

Without Chromium the test is skipped, unless ``SIM_REQUIRE_BROWSER`` is set (``.ci/run``
installs Chromium and sets it), in which case it fails.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STEPS = 4

# Plotly keeps each figure's data on its graph div; the figures carry a ``meta`` name.
READ_FIGURES = """() => {
  const plots = Array.from(document.querySelectorAll('.js-plotly-plot'));
  const byName = Object.fromEntries(plots.map(d => [d.layout && d.layout.meta, d]));
  const network = byName['network'], charts = byName['charts'];
  if (!network || !charts || network.data.length < 2) return null;
  return {
    colors: Array.from(network.data[1].marker.color),
    times: Array.from(charts.data[0].x || []),
  };
}"""


def chromium() -> str:
    """Path of Debian's Chromium, or skip (fail when ``SIM_REQUIRE_BROWSER`` is set)."""
    if CHROMIUM.exists():
        return str(CHROMIUM)
    reason = (
        f"{CHROMIUM} not found: install Debian's chromium "
        "(apt-get install --no-install-recommends chromium; .ci/run does)"
    )
    if os.environ.get("SIM_REQUIRE_BROWSER"):
        pytest.fail(f"SIM_REQUIRE_BROWSER is set but {reason}")
    pytest.skip(reason)


def read_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The next line the process prints, waiting at most ``timeout`` seconds."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        raise TimeoutError(f"no output from sim viz within {timeout} s")
    return process.stdout.readline()


@pytest.fixture
def server() -> Iterator[str]:
    """``sim viz`` on a free loopback port; yields the page's URL; always stopped."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "viz",
            str(ROOT / "scenarios" / "network_herding.toml"),
            "--set",
            "population.size=400",
            "--port",
            "0",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = read_line(process, 30)
        assert line.startswith("Visualizer running at http://127.0.0.1:"), line
        yield line.split()[3]
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
        assert process.returncode == 0, err
        assert "Traceback" not in err, err
        assert "visualizer stopped" in out
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.mark.slow
def test_stepping_in_a_browser_updates_charts_and_colours(server: str) -> None:
    executable = chromium()
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(server)
            step = page.get_by_role("button", name="Step")
            step.wait_for()
            page.wait_for_function(READ_FIGURES)
            before: dict[str, Any] = page.evaluate(READ_FIGURES)
            assert len(before["colors"]) == 400
            assert set(before["colors"]) == {-1}  # nobody has acted yet: all grey
            seen = [before]
            for _ in range(STEPS):
                count = len(seen[-1]["times"])
                step.click()
                page.wait_for_function(
                    f"() => {{ const f = ({READ_FIGURES})(); "
                    f"return f && f.times.length > {count}; }}"
                )
                seen.append(page.evaluate(READ_FIGURES))
            after = seen[-1]
            assert after["times"][-1] == STEPS
            assert len(after["times"]) > len(before["times"])
            assert min(after["colors"]) >= 0  # everyone has announced
            colourings = {tuple(s["colors"]) for s in seen}
            assert len(colourings) >= 3, "agents' colours should change as herding goes on"
            page.get_by_text(f"time {STEPS} · 400 of 400 agents have acted").wait_for()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "viz-browser.png"), full_page=True)
        finally:
            browser.close()
    assert time.monotonic() - started < 60
