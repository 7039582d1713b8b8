"""The backward of picking rows by arrays of integers (an embedding lookup, `weight[ids]`; the
elements `logp[arange(N), t]` that `nll_loss` picks, each a row of one): each picked row's
gradient is added back into its row, once per time it was picked."""

from __future__ import annotations

import numpy as np

from tinygrad_rnn.kernels.core import kernel


@kernel
def scatter_add_rows(rows, index, values):
    """rows[index[i]] += values[i] for i = 0..n-1, in that order. rows (R, C), index (n,) of
    integers in [0, R), values (n, C)."""
    for i in range(index.shape[0]):
        row, value = rows[index[i]], values[i]
        for j in range(row.shape[0]):
            row[j] += value[j]


@scatter_add_rows.numpy
def scatter_add_rows(rows, index, values):
    """Twin: NumPy's unbuffered add (a row picked twice gets both)."""
    np.add.at(rows, index, values)
