"""The LSTM: one step after the matmul (gates, cell state, output) and its backward, and a whole
sequence of one layer with its BPTT.

z = p_t + h_{t-1} W_hh^T holds the pre-activations in row blocks i, f, g, o (PyTorch's order);
i, f, o = sigmoid, g = tanh; c_t = f c_{t-1} + i g; h_t = o tanh(c_t). The sequence kernels run
the time loop with the hidden-to-hidden product compiled (small layers); their twins loop in Python
around one BLAS product per step and call the step kernels of the active backend.
"""

from __future__ import annotations

import numpy as np

from tinygrad_rnn.kernels.activations import (sigmoid, sigmoid_fast, sigmoid_grad, tanh_fast,
                                              tanh_grad)
from tinygrad_rnn.kernels.core import kernel, reusable
from tinygrad_rnn.kernels.matmul import matmul_into


@kernel
def lstm_gates_into(q, p, c_prev, gates, c, tanh_c, h, fast):
    """The LSTM step after the matmul, into given arrays: the pre-activations z = q + p (B, 4H),
    blocks i, f, g, o (q = h_prev W_hh^T, p = the step's input projection), and c_prev (B, H)
    -> gates (B, 4H) after their nonlinearities, c, tanh(c), h."""
    n, h4 = q.shape
    hh = h4 // 4
    for b in range(n):  # loops over one row, one view per gate block: LLVM vectorizes them
        q_if, q_g, q_o = q[b, :2 * hh], q[b, 2 * hh:3 * hh], q[b, 3 * hh:]
        p_if, p_g, p_o = p[b, :2 * hh], p[b, 2 * hh:3 * hh], p[b, 3 * hh:]
        g_if, g_g, g_o = gates[b, :2 * hh], gates[b, 2 * hh:3 * hh], gates[b, 3 * hh:]
        i_g, f_g = gates[b, :hh], gates[b, hh:2 * hh]
        if fast:
            for j in range(2 * hh):
                g_if[j] = sigmoid_fast(q_if[j] + p_if[j])
            for j in range(hh):
                g_g[j] = tanh_fast(q_g[j] + p_g[j])
            for j in range(hh):
                g_o[j] = sigmoid_fast(q_o[j] + p_o[j])
        else:
            for j in range(2 * hh):
                g_if[j] = sigmoid(q_if[j] + p_if[j])
            for j in range(hh):
                g_g[j] = np.tanh(q_g[j] + p_g[j])
            for j in range(hh):
                g_o[j] = sigmoid(q_o[j] + p_o[j])
        c_b, c_prev_b, tanh_c_b, h_b = c[b], c_prev[b], tanh_c[b], h[b]
        for j in range(hh):
            c_b[j] = f_g[j] * c_prev_b[j] + i_g[j] * g_g[j]  # f c + i g
        if fast:
            for j in range(hh):
                tanh_c_b[j] = tanh_fast(c_b[j])
        else:
            for j in range(hh):
                tanh_c_b[j] = np.tanh(c_b[j])
        for j in range(hh):
            h_b[j] = g_o[j] * tanh_c_b[j]  # o tanh(c)


@lstm_gates_into.numpy
def lstm_gates_into(q, p, c_prev, gates, c, tanh_c, h, fast=False):
    """NumPy twin (always exact)."""
    hh = q.shape[1] // 4
    z = q + p
    gates[:, :2 * hh] = sigmoid(z[:, :2 * hh])
    np.tanh(z[:, 2 * hh:3 * hh], out=gates[:, 2 * hh:3 * hh])
    gates[:, 3 * hh:] = sigmoid(z[:, 3 * hh:])
    i_g, f_g, g_g, o_g = (gates[:, k * hh:(k + 1) * hh] for k in range(4))
    np.multiply(f_g, c_prev, out=c)
    c += i_g * g_g  # c = f c_prev + i g
    np.tanh(c, out=tanh_c)
    np.multiply(o_g, tanh_c, out=h)


@kernel
def lstm_gates_backward_into(g_h, dh_next, dc, gates, tanh_c, c_prev, dz, dc_prev):
    """Backward of one LSTM step, into given arrays: from dL/dh = g_h + dh_next (from outside,
    and from the step after) and dL/dc (B, H) of the step's outputs to its pre-activations dz
    (B, 4H) and to c_prev (dc_prev, B x H)."""
    n, hh = g_h.shape
    for b in range(n):  # loops over one row, one view per gate block: LLVM vectorizes them
        i_g, f_g = gates[b, :hh], gates[b, hh:2 * hh]
        g_g, o_g = gates[b, 2 * hh:3 * hh], gates[b, 3 * hh:]
        dz_i, dz_f = dz[b, :hh], dz[b, hh:2 * hh]
        dz_g, dz_o = dz[b, 2 * hh:3 * hh], dz[b, 3 * hh:]
        g_b, n_b, dc_b, tc_b, d_c, c_prev_b = (g_h[b], dh_next[b], dc[b], tanh_c[b], dc_prev[b],
                                               c_prev[b])
        for j in range(hh):  # h = o tanh(c): dL/dc gains dh o tanh'(c)
            d_c[j] = dc_b[j] + (g_b[j] + n_b[j]) * o_g[j] * tanh_grad(tc_b[j])
        for j in range(hh):  # o = sigmoid: dz_o = dh tanh(c) o (1 - o)
            dz_o[j] = (g_b[j] + n_b[j]) * tc_b[j] * sigmoid_grad(o_g[j])
        for j in range(hh):  # c = f c_prev + i g, with i, f = sigmoid and g = tanh
            dz_i[j] = d_c[j] * g_g[j] * sigmoid_grad(i_g[j])
        for j in range(hh):
            dz_f[j] = d_c[j] * c_prev_b[j] * sigmoid_grad(f_g[j])
        for j in range(hh):
            dz_g[j] = d_c[j] * i_g[j] * tanh_grad(g_g[j])
        for j in range(hh):
            d_c[j] *= f_g[j]  # the cell-state highway: dc_prev = dc f


@lstm_gates_backward_into.numpy
def lstm_gates_backward_into(g_h, dh_next, dc, gates, tanh_c, c_prev, dz, dc_prev):
    """NumPy twin."""
    hh = g_h.shape[1]
    dh = g_h + dh_next
    i_g, f_g, g_g, o_g = (gates[:, k * hh:(k + 1) * hh] for k in range(4))
    d_c = dc + dh * o_g * tanh_grad(tanh_c)  # h = o tanh(c): through tanh
    dz[:, :hh] = d_c * g_g * sigmoid_grad(i_g)
    dz[:, hh:2 * hh] = d_c * c_prev * sigmoid_grad(f_g)
    dz[:, 2 * hh:3 * hh] = d_c * i_g * tanh_grad(g_g)
    dz[:, 3 * hh:] = dh * tanh_c * sigmoid_grad(o_g)
    np.multiply(d_c, f_g, out=dc_prev)  # the cell-state highway


@kernel
def lstm_sequence(p, h0, c0, w_hh_t, fast):
    """Run an LSTM layer over a sequence. p (T, B, 4H) input projections x_t W_x^T + b; h0, c0
    (B, H); w_hh_t (H, 4H). Returns (hs, cs, tanh_cs (T, B, H), gates (T, B, 4H))."""
    steps, n, h4 = p.shape
    hh = h4 // 4
    hs = np.empty((steps, n, hh), dtype=p.dtype)
    cs = np.empty_like(hs)
    tanh_cs = np.empty_like(hs)
    gates = np.empty_like(p)
    q = np.empty((n, h4), dtype=p.dtype)
    h_prev, c_prev = h0, c0
    for t in range(steps):
        matmul_into(h_prev, w_hh_t, q)
        lstm_gates_into(q, p[t], c_prev, gates[t], cs[t], tanh_cs[t], hs[t], fast)
        h_prev, c_prev = hs[t], cs[t]
    return hs, cs, tanh_cs, gates


@lstm_sequence.numpy
def lstm_sequence(p, h0, c0, w_hh_t, fast=False):
    """Twin: one BLAS product per step, then the active backend's `lstm_gates_into`."""
    steps, n, h4 = p.shape
    shape = (steps, n, h4 // 4)  # big arrays: the last step's, if they were dropped
    hs, cs, tanh_cs = (reusable(name, shape, p.dtype) for name in ("hs", "cs", "tanh_cs"))
    gates = reusable("gates", p.shape, p.dtype)
    q = np.empty((n, h4), dtype=p.dtype)
    h_prev, c_prev = h0, c0
    for t in range(steps):
        np.matmul(h_prev, w_hh_t, out=q)
        lstm_gates_into(q, p[t], c_prev, gates[t], cs[t], tanh_cs[t], hs[t], fast)
        h_prev, c_prev = hs[t], cs[t]
    return hs, cs, tanh_cs, gates


@kernel
def lstm_sequence_backward(g_h, g_c_last, cs, tanh_cs, gates, c0, w_hh):
    """BPTT through `lstm_sequence`. g_h (T, B, H): dL/dh_t from outside; g_c_last (B, H):
    dL/dc_T; w_hh (4H, H). Returns (dz (T, B, 4H), dh0, dc0)."""
    steps, n, hh = g_h.shape
    dz = np.empty_like(gates)
    dh_next = np.zeros((n, hh), dtype=g_h.dtype)
    dc = g_c_last.copy()
    dc_prev = np.empty_like(dc)
    for t in range(steps - 1, -1, -1):
        c_prev = cs[t - 1] if t > 0 else c0
        lstm_gates_backward_into(g_h[t], dh_next, dc, gates[t], tanh_cs[t], c_prev, dz[t],
                                 dc_prev)
        dc, dc_prev = dc_prev, dc
        matmul_into(dz[t], w_hh, dh_next)  # h_{t-1} fed z_t through W_hh: dh = dz W_hh
    return dz, dh_next, dc


@lstm_sequence_backward.numpy
def lstm_sequence_backward(g_h, g_c_last, cs, tanh_cs, gates, c0, w_hh):
    """Twin: one BLAS product per step, the active backend's `lstm_gates_backward_into`."""
    steps = g_h.shape[0]
    dz = reusable("dz", gates.shape, gates.dtype)  # a big array: the last step's, if dropped
    dh_next = np.zeros_like(c0)
    dc, dc_prev = g_c_last.copy(), np.empty_like(c0)
    for t in range(steps - 1, -1, -1):
        c_prev = cs[t - 1] if t > 0 else c0
        lstm_gates_backward_into(g_h[t], dh_next, dc, gates[t], tanh_cs[t], c_prev, dz[t],
                                 dc_prev)
        dc, dc_prev = dc_prev, dc
        np.matmul(dz[t], w_hh, out=dh_next)  # h_{t-1} fed z_t through W_hh
    return dz, dh_next, dc
