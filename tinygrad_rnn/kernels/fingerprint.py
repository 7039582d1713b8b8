"""Fingerprints of an array's bytes, for the engine's checks that an array saved for backward has
not been written since (`tinygrad_rnn.tensor._fingerprint`): two sums over the bytes read as
64-bit words, wrapping at 2^64, one plain and one weighted by position."""

from __future__ import annotations

import numpy as np

from tinygrad_rnn.kernels.core import kernel


@kernel
def word_sums(words):
    """(sum of words[i], sum of (n - i) * words[i]) of a 1-D uint64 array of n words, both
    modulo 2^64. A change of one word changes the first sum; two different words swapped (rows
    of an array shuffled in place, say) leave the first alone and change the second."""
    n = words.shape[0]
    total = np.uint64(0)
    weighted = np.uint64(0)
    for i in range(n):
        total += words[i]
        weighted += words[i] * np.uint64(n - i)
    return total, weighted


@word_sums.numpy
def word_sums(words):
    """Twin: the weighted sum as the sum of the running sums (word i is in n - i of them)."""
    return np.add.reduce(words), np.add.reduce(np.cumsum(words))
