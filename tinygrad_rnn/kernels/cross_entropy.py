"""Softmax over rows of logits, each in one pass: the cross-entropy at integer targets (forward:
the loss and the softmax its backward needs; backward), and log-softmax (forward, backward)."""

from __future__ import annotations

import numpy as np

from tinygrad_rnn.kernels.activations import exp_fast
from tinygrad_rnn.kernels.core import formula, kernel


@formula
def row_max(row):
    """The largest value of a 1-D array, as four running maxima (one chain of compares would
    make each wait for the one before)."""
    m0 = m1 = m2 = m3 = row[0]
    n = row.shape[0]
    j = 0
    while j + 4 <= n:
        m0, m1 = max(m0, row[j]), max(m1, row[j + 1])
        m2, m3 = max(m2, row[j + 2]), max(m3, row[j + 3])
        j += 4
    for k in range(j, n):
        m0 = max(m0, row[k])
    return max(max(m0, m1), max(m2, m3))


@formula
def row_sum(row):
    """The sum of a 1-D array in float64, as four running sums (see `row_max`)."""
    s0 = s1 = s2 = s3 = 0.0
    n = row.shape[0]
    j = 0
    while j + 4 <= n:
        s0, s1, s2, s3 = s0 + row[j], s1 + row[j + 1], s2 + row[j + 2], s3 + row[j + 3]
        j += 4
    for k in range(j, n):
        s0 += row[k]
    return (s0 + s1) + (s2 + s3)


@kernel
def cross_entropy_forward(logits, target, prob, fast):
    """Fill prob (N, C) with softmax(logits) row by row and return (the sum over rows of
    -log softmax(logits)[row, target[row]] as a float64, -1), or (0.0, the first row whose
    target is outside [0, C)) with prob untouched. Each row is shifted by its maximum first, so
    large logits do not overflow; the row sums are float64, so a logit of -inf is an exact 0
    (never inf * 0). fast (float32): exp by the call-free `exp_fast` (its argument is <= 0 after
    the shift), a loop LLVM vectorizes."""
    n, c = logits.shape
    for i in range(n):  # checked first: a bad target leaves prob untouched
        if target[i] < 0 or target[i] >= c:
            return 0.0, i
    loss = 0.0
    for i in range(n):
        t = target[i]
        row, p = logits[i], prob[i]
        top = row_max(row)
        if fast:
            for j in range(c):
                p[j] = exp_fast(row[j] - top)
        else:
            for j in range(c):
                p[j] = np.exp(row[j] - top)
        total = row_sum(p)
        scale = 1.0 / total
        for j in range(c):
            p[j] *= scale
        loss += np.log(total) - (row[t] - top)  # -log softmax at the target
    return loss, -1


@cross_entropy_forward.numpy
def cross_entropy_forward(logits, target, prob, fast=False):
    """NumPy twin (always exact)."""
    bad = np.flatnonzero((target < 0) | (target >= logits.shape[1]))
    if bad.size:
        return 0.0, int(bad[0])
    shifted = logits - logits.max(axis=1, keepdims=True)
    np.exp(shifted, out=prob)
    total = prob.sum(axis=1, keepdims=True)
    prob /= total
    losses = np.log(total[:, 0]) - shifted[np.arange(len(target)), target]
    return float(losses.sum(dtype=np.float64)), -1


@kernel
def cross_entropy_backward(prob, target, scale, d):
    """Fill d (N, C) with d loss / d logits = (softmax - one_hot(target)) * scale, from the prob
    that `cross_entropy_forward` filled (scale is the incoming gradient, divided by N for a
    mean)."""
    n, c = prob.shape
    for i in range(n):
        for j in range(c):
            d[i, j] = prob[i, j] * scale
        d[i, target[i]] -= scale  # d(-log softmax_t)/dz = softmax - 1_t


@cross_entropy_backward.numpy
def cross_entropy_backward(prob, target, scale, d):
    """NumPy twin."""
    np.multiply(prob, scale, out=d)
    d[np.arange(len(target)), target] -= scale  # d(-log softmax_t)/dz = softmax - 1_t


@kernel
def log_softmax_forward(x, y, prob, fast):
    """Fill y (N, C) with log softmax(x) row by row, (x - max) - log(sum(exp(x - max))), and prob
    with softmax(x), which the backward needs (so it takes no exp). The shift by the row maximum
    keeps large logits from overflowing; the row sums are float64. fast (float32): exp by the
    call-free `exp_fast` (its argument is <= 0 after the shift)."""
    n, c = x.shape
    for i in range(n):
        row, out, p = x[i], y[i], prob[i]
        top = row_max(row)
        if fast:
            for j in range(c):
                p[j] = exp_fast(row[j] - top)
        else:
            for j in range(c):
                p[j] = np.exp(row[j] - top)
        total = row_sum(p)
        log_total, scale = np.log(total), 1.0 / total
        for j in range(c):
            out[j] = (row[j] - top) - log_total
            p[j] *= scale


@log_softmax_forward.numpy
def log_softmax_forward(x, y, prob, fast=False):
    """NumPy twin (always exact)."""
    shifted = x - x.max(axis=1, keepdims=True)
    np.exp(shifted, out=prob)
    total = prob.sum(axis=1, keepdims=True)
    np.subtract(shifted, np.log(total), out=y)
    prob /= total


@kernel
def log_softmax_backward(prob, g, d):
    """Fill d (N, C) with the gradient at the logits, g - softmax * (the sum of g's row), from
    the softmax `log_softmax_forward` filled."""
    n, c = prob.shape
    for i in range(n):
        total = row_sum(g[i])
        p, g_row, d_row = prob[i], g[i], d[i]
        for j in range(c):
            d_row[j] = g_row[j] - p[j] * total


@log_softmax_backward.numpy
def log_softmax_backward(prob, g, d):
    """NumPy twin: J = I - softmax 1^T applied to g."""
    np.subtract(g, prob * g.sum(axis=1, keepdims=True), out=d)
