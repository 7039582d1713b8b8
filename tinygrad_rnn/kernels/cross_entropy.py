"""Softmax cross-entropy of rows of logits at integer targets: forward (loss and the softmax the
backward needs) and backward, each in one pass."""

from __future__ import annotations

import numpy as np

from tinygrad_rnn.kernels.activations import exp_fast
from tinygrad_rnn.kernels.core import kernel


@kernel
def cross_entropy_forward(logits, target, prob, fast):
    """Fill prob (N, C) with softmax(logits) row by row and return (the sum over rows of
    -log softmax(logits)[row, target[row]] as a float64, -1), or (0.0, the first row whose
    target is outside [0, C)) with prob untouched. Each row is shifted by its maximum first, so
    large logits do not overflow; the row sums are float64, so a logit of -inf is an exact 0
    (never inf * 0). fast (float32): exp by the call-free `exp_fast` (its argument is <= 0 after
    the shift), a loop LLVM vectorizes; the sum is a loop of its own."""
    n, c = logits.shape
    for i in range(n):  # checked first: a bad target leaves prob untouched
        if target[i] < 0 or target[i] >= c:
            return 0.0, i
    loss = 0.0
    for i in range(n):
        t = target[i]
        row, p = logits[i], prob[i]
        top = row[0]
        for j in range(1, c):
            top = max(top, row[j])
        if fast:
            for j in range(c):
                p[j] = exp_fast(row[j] - top)
        else:
            for j in range(c):
                p[j] = np.exp(row[j] - top)
        total = 0.0
        for j in range(c):
            total += p[j]
        for j in range(c):
            p[j] /= total
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
