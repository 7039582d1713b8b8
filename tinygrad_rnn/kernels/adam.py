"""Adam's moment and parameter update in one pass over memory (NumPy makes ten)."""

from __future__ import annotations

import numpy as np

from tinygrad_rnn.kernels.core import kernel


@kernel
def adam_update(p, g, m, v, coef):
    """One Adam step in place. p, g, m, v have one shape and are C-contiguous; coef =
    [1 - beta1, beta2, 1 - beta2, step_size, sqrt(1 - beta2^t), eps] in p's dtype, so float32
    arithmetic stays float32 and the result equals the twin's bit for bit."""
    a1, b2, a2, step_size, root, eps = coef[0], coef[1], coef[2], coef[3], coef[4], coef[5]
    p, g, m, v = p.reshape(p.size), g.reshape(p.size), m.reshape(p.size), v.reshape(p.size)
    for i in range(p.size):
        m_i = m[i] + a1 * (g[i] - m[i])  # m = beta1 m + (1 - beta1) g
        v_i = v[i] * b2 + a2 * (g[i] * g[i])  # v = beta2 v + (1 - beta2) g^2
        m[i], v[i] = m_i, v_i
        p[i] = p[i] - step_size * (m_i / (np.sqrt(v_i) / root + eps))


@adam_update.numpy
def adam_update(p, g, m, v, coef):
    """NumPy twin (any shapes and layouts)."""
    a1, b2, a2, step_size, root, eps = coef
    m += a1 * (g - m)
    v *= b2
    v += a2 * (g * g)
    p -= step_size * (m / (np.sqrt(v) / root + eps))
