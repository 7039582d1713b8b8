"""The GRU: a whole sequence of one layer and its BPTT, for both candidate formulas.

p_t = x_t W_x^T + b (T, B, 3H) are the input projections (one product for all steps, done before),
in row blocks r, z, n (PyTorch's order); W_h (3H, H) are the h columns of W. Every step:

    r = sigmoid(p_r + h W_hr^T),  z = sigmoid(p_z + h W_hz^T)
    reset_after=True  (PyTorch's): m = h W_hn^T + b_hn,  n = tanh(p_n + r * m)
    reset_after=False (Cho's):     m = r * h,            n = tanh(p_n + m W_hn^T)
    h' = (1 - z) n + z h = n + z (h - n)

m is what the reset gate multiplied (saved for backward, as are the gates r, z, n). A step is two
elementwise kernels around the hidden products: `gru_reset_into` (r, z and m) and
`gru_update_into` (n and h'); Cho's candidate needs its product W_hn (r h) between the two, the
reset-after one takes all three products of h at once, before. Backward mirrors them:
`gru_update_backward_into` then `gru_reset_backward_into`.

The sequence kernels run the time loop with the hidden products compiled inside (small layers);
their twins loop in Python around BLAS products and call the step kernels of the active backend
(NumPy backend, and big layers on the numba backend: see `sequence.Layer`).
"""

from __future__ import annotations

import numpy as np

from tinygrad_rnn.kernels.activations import (sigmoid, sigmoid_fast, sigmoid_grad, tanh_fast,
                                              tanh_grad)
from tinygrad_rnn.kernels.core import kernel, reusable
from tinygrad_rnn.kernels.matmul import matmul_into


# ----- one step, after (and between) the hidden products -----------------------------------------
@kernel
def gru_reset_into(p, q, h_prev, b_hn, gates, m, reset_after, fast):
    """The gates of one step: p (B, 3H) input projections, q (B, 3H) whose r, z blocks (and n
    block, reset_after) hold h_prev W_h^T, h_prev (B, H), b_hn (H,) -> r, z into gates (B, 3H)
    and m (B, H): q_n + b_hn (reset_after) or r * h_prev (Cho)."""
    n, h3 = p.shape
    hh = h3 // 3
    for b in range(n):  # loops over one row, one view per gate block: LLVM vectorizes them
        p_rz, q_rz, rz, m_b = p[b, :2 * hh], q[b, :2 * hh], gates[b, :2 * hh], m[b]
        if fast:
            for j in range(2 * hh):
                rz[j] = sigmoid_fast(p_rz[j] + q_rz[j])
        else:
            for j in range(2 * hh):
                rz[j] = sigmoid(p_rz[j] + q_rz[j])
        if reset_after:
            q_n = q[b, 2 * hh:]
            for j in range(hh):
                m_b[j] = q_n[j] + b_hn[j]  # W_hn h + b_hn
        else:
            h_b = h_prev[b]
            for j in range(hh):
                m_b[j] = rz[j] * h_b[j]  # r * h


@gru_reset_into.numpy
def gru_reset_into(p, q, h_prev, b_hn, gates, m, reset_after, fast=False):
    """NumPy twin (always exact)."""
    hh = p.shape[1] // 3
    gates[:, :2 * hh] = sigmoid(p[:, :2 * hh] + q[:, :2 * hh])
    if reset_after:
        np.add(q[:, 2 * hh:], b_hn, out=m)
    else:
        np.multiply(gates[:, :hh], h_prev, out=m)


@kernel
def gru_update_into(p, q, h_prev, gates, m, h, reset_after, fast):
    """The candidate and the new state of one step, after `gru_reset_into` (and, for Cho, after
    q_n = m W_hn^T): n = tanh(p_n + r m) or tanh(p_n + q_n) into gates' n block; h (B, H)."""
    n, h3 = p.shape
    hh = h3 // 3
    for b in range(n):
        r, z, n_b = gates[b, :hh], gates[b, hh:2 * hh], gates[b, 2 * hh:]
        p_n, q_n, m_b, h_b, hp_b = p[b, 2 * hh:], q[b, 2 * hh:], m[b], h[b], h_prev[b]
        if reset_after:
            for j in range(hh):
                n_b[j] = p_n[j] + r[j] * m_b[j]  # p_n + r (W_hn h + b_hn)
        else:
            for j in range(hh):
                n_b[j] = p_n[j] + q_n[j]  # p_n + (r h) W_hn^T
        if fast:
            for j in range(hh):
                n_b[j] = tanh_fast(n_b[j])
        else:
            for j in range(hh):
                n_b[j] = np.tanh(n_b[j])
        for j in range(hh):
            h_b[j] = n_b[j] + z[j] * (hp_b[j] - n_b[j])  # (1 - z) n + z h


@gru_update_into.numpy
def gru_update_into(p, q, h_prev, gates, m, h, reset_after, fast=False):
    """NumPy twin (always exact)."""
    hh = p.shape[1] // 3
    r, z, n = gates[:, :hh], gates[:, hh:2 * hh], gates[:, 2 * hh:]
    np.tanh(p[:, 2 * hh:] + (r * m if reset_after else q[:, 2 * hh:]), out=n)
    np.add(n, z * (h_prev - n), out=h)


@kernel
def gru_update_backward_into(dh, h_prev, gates, m, dp, dq, reset_after):
    """Backward of `gru_update_into` (and, reset_after, of r's use in n): from dh = dL/dh' (B, H)
    to the pre-activation gradients dp (B, 3H) of the x side (p) and dq (B, 3H) of the h side
    (q): z's block, n's block (dq_n = da_n r or da_n), and, reset_after, r's block. For Cho,
    r's block needs d(r h), so it waits for `gru_reset_backward_into`; dp and dq may then be one
    array (they are equal)."""
    n, hh = dh.shape
    for b in range(n):
        r, z, n_b = gates[b, :hh], gates[b, hh:2 * hh], gates[b, 2 * hh:]
        dp_r, dp_z, dp_n = dp[b, :hh], dp[b, hh:2 * hh], dp[b, 2 * hh:]
        dq_r, dq_z, dq_n = dq[b, :hh], dq[b, hh:2 * hh], dq[b, 2 * hh:]
        dh_b, hp_b, m_b = dh[b], h_prev[b], m[b]
        for j in range(hh):
            dz = dh_b[j] * (hp_b[j] - n_b[j]) * sigmoid_grad(z[j])  # back through z's sigmoid
            dp_z[j] = dz
            dq_z[j] = dz
        for j in range(hh):
            # dh (1 - z) written dh - dh z, as the per-op cell's n + z (h - n) gives it (and
            # PyTorch's): an infinite dh makes NaN, not inf; then back through n's tanh
            da_n = (dh_b[j] - dh_b[j] * z[j]) * tanh_grad(n_b[j])
            dp_n[j] = da_n
            dq_n[j] = da_n * r[j] if reset_after else da_n  # a_n = p_n + r m: r scales m's
        if reset_after:
            for j in range(hh):
                dr = dp_n[j] * m_b[j] * sigmoid_grad(r[j])  # da_n m, back through r's sigmoid
                dp_r[j] = dr
                dq_r[j] = dr


@gru_update_backward_into.numpy
def gru_update_backward_into(dh, h_prev, gates, m, dp, dq, reset_after):
    """NumPy twin."""
    hh = dh.shape[1]
    r, z, n = gates[:, :hh], gates[:, hh:2 * hh], gates[:, 2 * hh:]
    dz = dh * (h_prev - n) * sigmoid_grad(z)
    da_n = (dh - dh * z) * tanh_grad(n)  # dh (1 - z) as the per-op cell gives it (see above)
    dp[:, hh:2 * hh], dp[:, 2 * hh:] = dz, da_n
    dq[:, hh:2 * hh] = dz
    if reset_after:
        dq[:, 2 * hh:] = da_n * r
        dp[:, :hh] = dq[:, :hh] = da_n * m * sigmoid_grad(r)
    else:
        dq[:, 2 * hh:] = da_n


@kernel
def gru_reset_backward_into(dh, d_rh, h_prev, gates, dp, dq, dh_prev, reset_after):
    """The rest of a step's backward: dh_prev (B, H) = the gradient reaching h_prev directly,
    dh z (both formulas), plus, for Cho, through r * h: d_rh r, where d_rh = da_n W_hn (B, H);
    and Cho's r block of dp and dq, d_rh h_prev r (1 - r). The products through W_h come after."""
    n, hh = dh.shape
    for b in range(n):
        r, z, dh_b, o_b = gates[b, :hh], gates[b, hh:2 * hh], dh[b], dh_prev[b]
        for j in range(hh):
            o_b[j] = dh_b[j] * z[j]  # h' = ... + z h
        if not reset_after:
            d_b, hp_b, dp_r, dq_r = d_rh[b], h_prev[b], dp[b, :hh], dq[b, :hh]
            for j in range(hh):
                dr = d_b[j] * hp_b[j] * sigmoid_grad(r[j])  # back through r's sigmoid
                dp_r[j] = dr
                dq_r[j] = dr
            for j in range(hh):
                o_b[j] += d_b[j] * r[j]  # and via r h


@gru_reset_backward_into.numpy
def gru_reset_backward_into(dh, d_rh, h_prev, gates, dp, dq, dh_prev, reset_after):
    """NumPy twin."""
    hh = dh.shape[1]
    r, z = gates[:, :hh], gates[:, hh:2 * hh]
    np.multiply(dh, z, out=dh_prev)
    if not reset_after:
        dp[:, :hh] = dq[:, :hh] = d_rh * h_prev * sigmoid_grad(r)
        dh_prev += d_rh * r


# ----- a whole sequence --------------------------------------------------------------------------
@kernel
def gru_sequence(p, h0, w_h_t, b_hn, reset_after, fast):
    """Run a GRU layer over a sequence. p (T, B, 3H) input projections; h0 (B, H); w_h_t (H, 3H)
    is W_h transposed; b_hn (H,) (zeros without a bias). Returns hs (T, B, H), gates (T, B, 3H)
    holding r, z, n, and m (T, B, H) (see the module docstring)."""
    steps, n, h3 = p.shape
    hh = h3 // 3
    hs = np.empty((steps, n, hh), dtype=p.dtype)
    gates = np.empty_like(p)
    m = np.empty_like(hs)
    q = np.zeros((n, h3), dtype=p.dtype)
    w_hrz_t, w_hn_t = w_h_t[:, :2 * hh], w_h_t[:, 2 * hh:]
    h_prev = h0
    for t in range(steps):
        if reset_after:
            matmul_into(h_prev, w_h_t, q)
        else:
            matmul_into(h_prev, w_hrz_t, q[:, :2 * hh])
        gru_reset_into(p[t], q, h_prev, b_hn, gates[t], m[t], reset_after, fast)
        if not reset_after:
            matmul_into(m[t], w_hn_t, q[:, 2 * hh:])  # (r h) W_hn^T
        gru_update_into(p[t], q, h_prev, gates[t], m[t], hs[t], reset_after, fast)
        h_prev = hs[t]
    return hs, gates, m


@gru_sequence.numpy
def gru_sequence(p, h0, w_h_t, b_hn, reset_after, fast=False):
    """Twin: BLAS products per step (one, or two for Cho), then the active backend's step
    kernels."""
    steps, n, h3 = p.shape
    hh = h3 // 3
    hs = reusable("hs", (steps, n, hh), p.dtype)  # big arrays: the last step's, if dropped
    gates, m = reusable("gates", p.shape, p.dtype), reusable("m", hs.shape, p.dtype)
    q = np.zeros((n, h3), dtype=p.dtype)
    w_hrz_t, w_hn_t = w_h_t[:, :2 * hh], w_h_t[:, 2 * hh:]  # views: BLAS reads them as fast
    q_rz, q_n = np.empty((n, 2 * hh), dtype=p.dtype), np.empty((n, hh), dtype=p.dtype)
    h_prev = h0
    for t in range(steps):
        if reset_after:
            np.matmul(h_prev, w_h_t, out=q)  # all three products of h at once
        else:
            np.matmul(h_prev, w_hrz_t, out=q_rz)
            q[:, :2 * hh] = q_rz
        gru_reset_into(p[t], q, h_prev, b_hn, gates[t], m[t], reset_after, fast)
        if not reset_after:
            np.matmul(m[t], w_hn_t, out=q_n)  # (r h) W_hn^T
            q[:, 2 * hh:] = q_n
        gru_update_into(p[t], q, h_prev, gates[t], m[t], hs[t], reset_after, fast)
        h_prev = hs[t]
    return hs, gates, m


@kernel
def gru_sequence_backward(g, hs, h0, gates, m, w_h, reset_after):
    """BPTT through `gru_sequence`. g (T, B, H) is dL/dh_t from outside; w_h (3H, H) is W_h.
    Returns (dp (T, B, 3H) at the input projections, dq (T, B, 3H) at the hidden products'
    outputs q (the same array for Cho, where they are equal), dh0 (B, H)); the weight gradients
    are then big products over all steps (`sequence.Layer.gru_weight_grads`)."""
    steps, n, hh = g.shape
    dp = np.empty_like(gates)
    dq = np.empty_like(gates) if reset_after else dp
    dh = np.empty((n, hh), dtype=g.dtype)
    dh_next = np.zeros((n, hh), dtype=g.dtype)
    d_rh = np.zeros((n, hh), dtype=g.dtype)
    back = np.empty((n, hh), dtype=g.dtype)
    w_hrz, w_hn = w_h[:2 * hh], w_h[2 * hh:]
    for t in range(steps - 1, -1, -1):
        h_prev = hs[t - 1] if t > 0 else h0
        for b in range(n):
            for j in range(hh):
                dh[b, j] = g[t, b, j] + dh_next[b, j]  # dL/dh_t: outside plus step t+1
        gru_update_backward_into(dh, h_prev, gates[t], m[t], dp[t], dq[t], reset_after)
        if not reset_after:
            matmul_into(dp[t][:, 2 * hh:], w_hn, d_rh)  # a_n read r h through W_hn
        gru_reset_backward_into(dh, d_rh, h_prev, gates[t], dp[t], dq[t], dh_next, reset_after)
        if reset_after:
            matmul_into(dq[t], w_h, back)  # h_{t-1} fed all three products
        else:
            matmul_into(dq[t][:, :2 * hh], w_hrz, back)  # and r, z's products
        for b in range(n):  # a loop, not dh_next += back: quicker for numba to compile
            for j in range(hh):
                dh_next[b, j] += back[b, j]
    return dp, dq, dh_next


@gru_sequence_backward.numpy
def gru_sequence_backward(g, hs, h0, gates, m, w_h, reset_after):
    """Twin: BLAS products per step, the active backend's step kernels."""
    steps, n, hh = g.shape
    dp = reusable("dz", gates.shape, gates.dtype)  # big arrays: the last step's, if dropped
    dq = reusable("dq", gates.shape, gates.dtype) if reset_after else dp
    dh, dh_next = np.empty((n, hh), dtype=g.dtype), np.zeros((n, hh), dtype=g.dtype)
    d_rh, back = np.zeros((n, hh), dtype=g.dtype), np.empty((n, hh), dtype=g.dtype)
    w_hrz, w_hn = w_h[:2 * hh], w_h[2 * hh:]
    for t in range(steps - 1, -1, -1):
        h_prev = hs[t - 1] if t > 0 else h0
        np.add(g[t], dh_next, out=dh)  # dL/dh_t: from outside plus from step t+1
        gru_update_backward_into(dh, h_prev, gates[t], m[t], dp[t], dq[t], reset_after)
        if not reset_after:
            np.matmul(dp[t][:, 2 * hh:], w_hn, out=d_rh)  # a_n read r h through W_hn
        gru_reset_backward_into(dh, d_rh, h_prev, gates[t], dp[t], dq[t], dh_next, reset_after)
        if reset_after:
            np.matmul(dq[t], w_h, out=back)  # h_{t-1} fed all three products
        else:
            np.matmul(dq[t][:, :2 * hh], w_hrz, out=back)  # and r, z's products
        dh_next += back
    return dp, dq, dh_next
