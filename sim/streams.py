"""Independent random streams derived from one root seed.

Every source of randomness in a run draws from its own ``numpy.random.Generator``,
derived from the scenario seed with :class:`numpy.random.SeedSequence` and a fixed
``spawn_key`` per component (and per agent). Adding a component or an agent therefore
never shifts the numbers another one sees, and results do not depend on the order in
which components are built.

Main entry point: :class:`Streams`.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Component(IntEnum):
    """Spawn-key prefixes, one per component. Never renumber: outputs depend on them."""

    WORLD = 0
    POPULATION = 1
    NETWORK = 2
    CHANNELS = 3
    PROTOCOL = 4
    AGENT = 5
    MODEL = 6
    SWEEP = 7
    TASK = 8
    LLM = 9


class Streams:
    """Factory of independent generators for one run.

    Args:
        seed: The run's root seed (a non-negative integer).

    Example:
        >>> streams = Streams(1)
        >>> a = streams.generator(Component.AGENT).random()
        >>> a == Streams(1).generator(Component.AGENT).random()
        True
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)

    def sequence(self, component: Component, *key: int) -> np.random.SeedSequence:
        """The seed sequence of one component (and optional sub-key)."""
        return np.random.SeedSequence(self.seed, spawn_key=(int(component), *key))

    def generator(self, component: Component, *key: int) -> np.random.Generator:
        """A fresh generator for one component (and optional sub-key)."""
        return np.random.Generator(np.random.PCG64(self.sequence(component, *key)))
