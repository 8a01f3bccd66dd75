"""``python -m sim.fast``: compile the fast engine's loop and kernels ahead of first use.

numba caches compiled code next to the sources (``__pycache__``), so the first run on a
machine pays for compilation (about two minutes on two cores) and later runs load it in
a second or two. The Makefile runs this once while bootstrapping the virtualenv.
"""

from __future__ import annotations

import time

from sim.fast.engine import warm_up

if __name__ == "__main__":
    started = time.perf_counter()
    warm_up()
    print(f"fast engine ready ({time.perf_counter() - started:.0f} s)")
