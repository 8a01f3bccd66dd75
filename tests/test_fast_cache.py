"""The fast engine's compiled code is thrown away when any source built into it changes.

Numba invalidates a cached function only when its own file changes; the loop also
contains kernels from other files, so a stale loop could run old rules.
"""

from __future__ import annotations

from pathlib import Path

from sim.fast import cache


def test_cached_code_is_cleared_when_a_source_changes(tmp_path: Path) -> None:
    package = tmp_path / "fast"
    (package / "__pycache__").mkdir(parents=True)
    rules = tmp_path / "rules.py"
    rules.write_text("x = 1\n")
    compiled = package / "__pycache__" / "loop.run_loop-1.py312.nbi"

    assert not cache.invalidate_if_stale(package, (rules,))  # first sight: nothing cached
    compiled.write_text("index")
    assert not cache.invalidate_if_stale(package, (rules,))  # unchanged: kept
    assert compiled.exists()

    rules.write_text("x = 2\n")
    assert cache.invalidate_if_stale(package, (rules,))  # a kernel changed: cleared
    assert not compiled.exists()
    assert not cache.invalidate_if_stale(package, (rules,))


def test_the_engine_sources_are_all_tracked() -> None:
    names = {path.name for path in cache.SOURCES}
    assert names == {"rules.py", "calendar.py", "intrinsics.py", "loop.py", "engine.py"}
    assert all(path.exists() for path in cache.SOURCES)
