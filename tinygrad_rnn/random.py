"""The one random generator behind initialisation and dropout, so a seed fixes a whole run."""

from __future__ import annotations

from typing import Any

import numpy as np

_rng = np.random.default_rng(0)


class Generator:
    """A random generator of one's own, as `torch.Generator`: pass it as `generator=` to
    `random_split`, `RandomSampler`, `DataLoader` (and the random factories) to make their draws
    independent of the library's generator.

    >>> g = Generator().manual_seed(42)
    >>> int(g.rng.integers(100)) == int(Generator().manual_seed(42).rng.integers(100))
    True
    """

    def __init__(self, device: Any = "cpu") -> None:
        if str(getattr(device, "type", device)).split(":")[0] != "cpu":
            raise ValueError(f"Generator: device {device!r} is not available; tinygrad_rnn runs "
                             "on the CPU only")
        self._seed = int(np.random.SeedSequence().entropy % 2**63)
        self.rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> "Generator":
        """Restart from `seed` (an integer); returns self, as in PyTorch."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"Generator.manual_seed: seed must be an integer, got {seed!r}")
        self._seed = int(seed)
        self.rng = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int:
        """The seed this generator was last started from."""
        return self._seed

    def get_state(self) -> dict:
        """The generator's state (a dict: NumPy's bit-generator state)."""
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> "Generator":
        """Restore a state from `get_state()`; returns self."""
        self.rng.bit_generator.state = state
        return self


def rng_of(generator: Any, fn: str) -> np.random.Generator:
    """The NumPy generator to draw from: the library's when `generator` is None, else that of a
    `Generator` (or a NumPy Generator given directly)."""
    if generator is None:
        return get_rng()
    if isinstance(generator, Generator):
        return generator.rng
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"{fn}: generator must be a tinygrad_rnn.Generator, got "
                    f"{type(generator).__name__}")


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the generator used by parameter initialisation and dropout; returns it."""
    global _rng
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed: seed must be an integer, got {seed!r}")
    if seed < 0:
        raise ValueError(f"manual_seed: seed must be >= 0, got {seed}")
    _rng = np.random.default_rng(int(seed))
    return _rng


def get_rng() -> np.random.Generator:
    """The generator that initialisation and dropout draw from."""
    return _rng
