"""The sum of squares of an array in float64, read from float32 without a float64 copy: the
gradient norm of `nn.utils.clip_grad_norm_`."""

from __future__ import annotations

import numpy as np

from tinygrad_rnn.kernels.core import kernel


@kernel
def sum_squares(x):
    """The sum of x_i^2 over a 1-D array, in float64, as four running sums (one chain of adds
    would make each wait for the one before)."""
    s0 = s1 = s2 = s3 = 0.0
    n = x.shape[0]
    j = 0
    while j + 4 <= n:
        # np.float64: numba's float() keeps a float32 a float32, whose square overflows at 2e19
        a, b, c, d = np.float64(x[j]), np.float64(x[j + 1]), np.float64(x[j + 2]), np.float64(
            x[j + 3])
        s0, s1, s2, s3 = s0 + a * a, s1 + b * b, s2 + c * c, s3 + d * d
        j += 4
    for k in range(j, n):
        a = np.float64(x[k])
        s0 += a * a
    return (s0 + s1) + (s2 + s3)


@sum_squares.numpy
def sum_squares(x):
    """NumPy twin: one float64 dot product."""
    g = x.astype(np.float64)
    return float(np.dot(g, g))
