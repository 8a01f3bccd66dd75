"""Keep numba's on-disk cache of the fast loop consistent with its sources.

Numba caches each compiled function next to its source file and invalidates the entry
when *that* file changes, but the loop's compiled code also contains the kernels it
calls from other files (:mod:`sim.rules`, :mod:`sim.fast.calendar`,
:mod:`sim.fast.intrinsics`). After an edit to one of those, or an update that changes
only them, the cached loop would still run the old kernels, and the two engines would
silently disagree. :func:`invalidate_if_stale` therefore keeps a digest of every source
the loop is built from and clears the engine's cached code when the digest changes.

Main entry point: :func:`invalidate_if_stale`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
SOURCES = (
    _PACKAGE.parent / "rules.py",
    _PACKAGE / "calendar.py",
    _PACKAGE / "intrinsics.py",
    _PACKAGE / "loop.py",
    _PACKAGE / "engine.py",
)
"""The files whose code ends up in the compiled loop."""


def _digest(sources: tuple[Path, ...]) -> str:
    sha = hashlib.sha256()
    for path in sources:
        sha.update(path.read_bytes())
    return sha.hexdigest()


def invalidate_if_stale(package: Path = _PACKAGE, sources: tuple[Path, ...] = SOURCES) -> bool:
    """Delete the compiled code numba cached for ``package`` if ``sources`` changed since
    it was cached; return whether anything was deleted. Must run before the first
    compiled call. A read-only installation is left as it is."""
    cache = package / "__pycache__"
    stamp = cache / "sources.sha256"
    digest = _digest(sources)
    try:
        if stamp.read_text() == digest:
            return False
    except OSError:
        pass
    removed = False
    try:
        for entry in [*cache.glob("*.nbi"), *cache.glob("*.nbc")]:
            entry.unlink(missing_ok=True)
            removed = True
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        return removed
    return removed
