"""The README's Python examples run as written."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 2


def test_quickstart_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {}
    exec(compile(BLOCKS[0], "README.md", "exec"), namespace)
    assert namespace["result"].summary["seed"] == 1  # type: ignore[attr-defined]


def test_analysis_example_runs_on_a_fresh_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sim

    monkeypatch.chdir(tmp_path)
    scenario = sim.load(ROOT / "scenarios" / "cascade.toml", {"population.size": 6})
    sim.sweep(
        scenario,
        out=tmp_path / "results" / "cascade-sweep",
        grid={"world.signal_accuracy": [0.6, 0.8]},
        replicates=20,
    )
    code = next(b for b in BLOCKS if "import analysis" in b).replace(".show()", "")
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["table"].height == 2  # type: ignore[attr-defined]
    assert os.path.isdir(tmp_path / "results" / "cascade-sweep" / "runs")
