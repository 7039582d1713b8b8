"""The one random generator behind initialisation and dropout, so a seed fixes a whole run."""

from __future__ import annotations

import numpy as np

_rng = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the generator used by parameter initialisation and dropout; returns it."""
    global _rng
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed: seed must be an integer, got {seed!r}")
    if seed < 0:
        raise ValueError(f"manual_seed: seed must be at least 0, got {seed}")
    _rng = np.random.default_rng(int(seed))
    return _rng


def get_rng() -> np.random.Generator:
    """The generator that initialisation and dropout draw from."""
    return _rng
