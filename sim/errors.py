"""Errors a user can cause.

Everything a user can get wrong (a bad scenario file, an impossible parameter, a missing
file, a bad command-line flag) is reported as a :class:`ScenarioError` raised at the
boundary where the input is read. The CLI prints its message on one line and exits
non-zero; it never shows a traceback for one.
"""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario (file, dict or override) that cannot be run as given.

    The message names where the problem is (file and key path, when known), what was
    found and what was expected.
    """
