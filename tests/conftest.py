"""Shared test set-up: every test starts from the same random seed; `run_threads` for the tests of
threads."""

from __future__ import annotations

import sys
import threading
from typing import Callable

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


@pytest.fixture
def run_threads() -> Callable[..., None]:
    """run_threads(f, g, ...): call each function in a thread of its own, all at once, with
    CPython switching threads as often as it can (every microsecond), and wait for all."""

    def run(*targets: Callable[[], None]) -> None:
        threads = [threading.Thread(target=target) for target in targets]
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            sys.setswitchinterval(interval)

    return run
