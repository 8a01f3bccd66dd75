"""The fast engine: stylized societies run by a compiled event loop.

Same semantics as the SimPy engine (:mod:`sim.society`), same rule kernels
(:mod:`sim.rules`), orders of magnitude faster. ``engine = "auto"`` in a scenario (or
``--engine``) picks it whenever :func:`unsupported_parts` finds nothing unsupported.

Main entry points: :class:`FastRun`, :func:`unsupported_parts`.
"""

from sim.fast.cache import invalidate_if_stale

invalidate_if_stale()  # before anything compiled is loaded

from sim.fast.engine import KIND_CODES, FastRun, unsupported_parts  # noqa: E402

__all__ = ["KIND_CODES", "FastRun", "unsupported_parts"]
