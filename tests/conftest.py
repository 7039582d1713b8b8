"""Shared test set-up: every test starts from the same random seed."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_rnn as tg


@pytest.fixture(autouse=True)
def _seeded() -> None:
    """Reset the library's generator so initialisation and dropout are the same in every run."""
    tg.manual_seed(0)


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh seeded NumPy generator for a test's own data."""
    return np.random.default_rng(1234)
