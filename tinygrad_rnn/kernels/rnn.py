"""The vanilla RNN layer over a whole sequence, h_t = act(p_t + h_{t-1} W_hh^T), and its BPTT.

p_t = x_t W_x^T + b are the input projections (one product for all steps, done before). The
compiled kernels run the time loop with the hidden-to-hidden product inside (small layers); their
twins loop in Python around one BLAS product per step and call the elementwise kernel of the
active backend (NumPy backend, and big layers on the numba backend: see `sequence.Layer`).
"""

from __future__ import annotations

import numpy as np

from tinygrad_rnn.kernels.activations import act_grad_inplace, act_inplace
from tinygrad_rnn.kernels.core import kernel, reusable
from tinygrad_rnn.kernels.matmul import matmul_into


@kernel
def rnn_sequence(p, h0, w_hh_t, act, fast):
    """Run h_t = act(p_t + h_{t-1} @ w_hh_t) for t = 0..T-1. p (T, B, H); h0 (B, H); w_hh_t
    (H, H) is W_hh transposed; act a code of `activations`. Returns hs (T, B, H)."""
    steps, n, hh = p.shape
    hs = np.empty_like(p)
    z = np.empty((n, hh), dtype=p.dtype)
    h_prev = h0
    for t in range(steps):
        matmul_into(h_prev, w_hh_t, z)
        h_t = hs[t]
        for b in range(n):
            for j in range(hh):
                h_t[b, j] = z[b, j] + p[t, b, j]
        act_inplace(h_t, act, fast)
        h_prev = h_t
    return hs


@rnn_sequence.numpy
def rnn_sequence(p, h0, w_hh_t, act, fast=False):
    """Twin: one BLAS product per step, then the active backend's `act_inplace`."""
    hs = reusable("hs", p.shape, p.dtype)  # a big array: the last step's, if it was dropped
    z = np.empty_like(h0)
    h_prev = h0
    for t in range(p.shape[0]):
        np.matmul(h_prev, w_hh_t, out=z)
        np.add(z, p[t], out=hs[t])
        act_inplace(hs[t], act, fast)
        h_prev = hs[t]
    return hs


@kernel
def rnn_layer_forward(x, h0, W, b, act, fast):
    """A whole tiny RNN layer in one call: the input products x_t W_x^T + b as loops (below the
    matmul crossover a BLAS call costs more than its arithmetic), then `rnn_sequence`.
    x (T, B, I), h0 (B, H), W (H, I+H), b (H,) or (0,) for no bias; returns hs (T, B, H)."""
    steps, n, n_in = x.shape
    hh = W.shape[0]
    w_x_t = np.empty((n_in, hh), dtype=W.dtype)  # row k: how input k feeds each unit
    w_hh_t = np.empty((hh, hh), dtype=W.dtype)
    for i in range(hh):  # plain loops, not np.ascontiguousarray(W.T) nor p[t] += b: numba
        for k in range(n_in):  # compiles those generic implementations (broadcasting, error
            w_x_t[k, i] = W[i, k]  # messages) for seconds on a first run
        for k in range(hh):
            w_hh_t[k, i] = W[i, n_in + k]
    p = np.empty((steps, n, hh), dtype=x.dtype)
    for t in range(steps):
        p_t = p[t]
        matmul_into(x[t], w_x_t, p_t)
        if b.size:
            for r in range(n):
                for i in range(hh):
                    p_t[r, i] += b[i]
    return rnn_sequence(p, h0, w_hh_t, act, fast)


@rnn_layer_forward.numpy
def rnn_layer_forward(x, h0, W, b, act, fast=False):
    """Twin: the input products for all steps at once (BLAS), then `rnn_sequence`'s twin."""
    steps, n, n_in = x.shape
    p = (x.reshape(steps * n, n_in) @ W[:, :n_in].T).reshape(steps, n, W.shape[0])
    if b.size:
        p += b
    return rnn_sequence.twin(p, h0, W[:, n_in:].T, act, fast)


@kernel
def rnn_sequence_backward(g, hs, w_hh, act):
    """BPTT through `rnn_sequence`. g (T, B, H) is dL/dh_t from outside the recurrence; w_hh
    (H, H). Returns (dz (T, B, H) the gradients at the pre-activations, dh0 (B, H)); the weight
    gradients are then big products over all steps (`sequence.Layer.weight_grads`)."""
    steps, n, hh = g.shape
    dz = np.empty_like(g)
    dh_next = np.zeros((n, hh), dtype=g.dtype)
    for t in range(steps - 1, -1, -1):
        dz_t = dz[t]
        for b in range(n):
            for j in range(hh):
                dz_t[b, j] = g[t, b, j] + dh_next[b, j]  # dL/dh_t: outside plus step t+1
        act_grad_inplace(hs[t], dz_t, act)  # back through the activation
        matmul_into(dz_t, w_hh, dh_next)  # h_{t-1} fed z_t through W_hh: dh = dz W_hh
    return dz, dh_next


@rnn_sequence_backward.numpy
def rnn_sequence_backward(g, hs, w_hh, act):
    """Twin: one BLAS product per step, the active backend's `act_grad_inplace`."""
    dz = reusable("dz", g.shape, g.dtype)  # a big array: the last step's, if it was dropped
    dh_next = np.zeros_like(g[0])
    for t in range(g.shape[0] - 1, -1, -1):
        np.add(g[t], dh_next, out=dz[t])  # dL/dh_t: from outside plus from step t+1
        act_grad_inplace(hs[t], dz[t], act)  # back through the activation
        np.matmul(dz[t], w_hh, out=dh_next)  # h_{t-1} fed z_t through W_hh
    return dz, dh_next
