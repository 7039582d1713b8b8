"""The one random generator behind initialisation and dropout, so a seed fixes a whole run."""

from __future__ import annotations

import numpy as np

_rng = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the generator used by parameter initialisation and dropout; returns it."""
    global _rng
    _rng = np.random.default_rng(seed)
    return _rng


def get_rng() -> np.random.Generator:
    """The generator that initialisation and dropout draw from."""
    return _rng
