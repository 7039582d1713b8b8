"""Small matrix products as loops; `mm`, which picks loops or BLAS for one product; and `product`,
np.matmul without its slow loop for a column times a row.

Below CROSSOVER multiply-adds (M*K*N) a loop product beats a BLAS call, whose fixed overhead
dominates; above it BLAS wins. Measured on the project machine with benchmarks/bench_crossover.py
(2-core AMD EPYC, OpenBLAS Haswell kernels, one thread, f32 and f64): the loop kernel ties BLAS at
~1e4 multiply-adds (1x100 @ 100x100: 3.3 vs 3.3 us f32) and is 1.8-2.8x slower from 1e5 up.
"""

from __future__ import annotations

import numpy as np

from tinygrad_rnn.kernels.core import formula, kernel, numba_active

CROSSOVER = 10_000


@formula
def matmul_into(a, b, out):
    """out = a @ b for 2-D arrays, loops ordered i, k, j so the inner loop runs along rows of b
    and out; four rows of b at a time, so each pass over out[i] does four multiply-adds per
    element. (Called by compiled kernels, and by `mm` for a small product into a given array.)"""
    m, kk = a.shape
    n = b.shape[1]
    for i in range(m):
        out_i = out[i]
        for j in range(n):
            out_i[j] = 0.0
        k = 0
        while k + 4 <= kk:
            a0, a1, a2, a3 = a[i, k], a[i, k + 1], a[i, k + 2], a[i, k + 3]
            b0, b1, b2, b3 = b[k], b[k + 1], b[k + 2], b[k + 3]
            for j in range(n):
                out_i[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j]
            k += 4
        for k in range(k, kk):
            a_ik, b_k = a[i, k], b[k]
            for j in range(n):
                out_i[j] += a_ik * b_k[j]


@kernel
def matmul(a, b):
    """a @ b for 2-D a (M, K), b (K, N), as loops (for sizes below CROSSOVER)."""
    out = np.empty((a.shape[0], b.shape[1]), dtype=a.dtype)
    matmul_into(a, b, out)
    return out


@matmul.numpy
def matmul(a, b):
    """NumPy twin (BLAS)."""
    return a @ b


def product(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """np.matmul(a, b, out=out), except that a column times a row (an inner dimension of 1, both
    operands 2-D or more) is a broadcast multiply, the same numbers: NumPy's matmul calls no
    BLAS there but a plain loop, 5x slower ((400, 1) @ (1, 165) float32: 72 us against 14). It
    is the weight gradient g^T x of every unbatched step, and the products of a layer whose
    input or output has one feature (Linear(1, H), Linear(H, 1))."""
    if a.ndim >= 2 and b.ndim >= 2 and a.shape[-1] == 1 and b.shape[-2] == 1:
        return np.multiply(a, b, out=out)
    return np.matmul(a, b, out=out)


def mm(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a @ b for 2-D operands (into `out` when given): the loop kernel below CROSSOVER
    multiply-adds on the numba backend, else NumPy's BLAS (`product`)."""
    if (numba_active() and a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype
            and a.dtype.char in "fd" and a.shape[0] * a.shape[1] * b.shape[1] < CROSSOVER):
        a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
        if out is None:
            return matmul.compiled(a, b)
        matmul_into.compiled(a, b, out)
        return out
    return product(a, b, out)
