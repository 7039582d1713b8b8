"""`Layer`: the one object that decides how a recurrent layer runs its sequence, and runs it.

Three inner paths, picked from the sizes (and the backend) once per call:

- "tiny"  (RNN only): the whole layer, input products included, in one compiled call
          (`rnn_layer_forward`): for layers so small that a BLAS call costs more than its
          arithmetic;
- "small": one BLAS product for all input projections, then the time loop compiled with the
          hidden-to-hidden product inside (`rnn_sequence`, `lstm_sequence` and their backward);
- "big":   the kernels' twins: a Python time loop around one BLAS product per step, calling the
          compiled step kernels (numba backend) or the NumPy ones (numpy backend, always "big").

Crossovers, measured on the project machine (2-core AMD EPYC, OpenBLAS 0.3.31, one thread, f32 and
f64, benchmarks/bench_crossover.py): whole layers (T=25, forward + backward) run 1.3-2.2x faster
with the compiled loop up to ~1.3e5 multiply-adds per step of the hidden product (RNN 1x100 f32:
0.19 vs 0.42 ms; LSTM 1x100 f32: 0.55 vs 1.01 ms; RNN 32x64: 1.18 vs 1.57 ms) and 1.1-1.5x slower
from ~2.6e5 (RNN 32x128: 4.3 vs 3.0 ms): SMALL_BELOW sits between.

After the time loop, the weight gradients of every step are formed at once: dW = dz^T [x; h_prev]
over all T*B rows is one product, and so is dx = dz W_x.

The big arrays of a step (the input projections, the saved states and gates, the backward's
dz and rows) come from `core.reusable`: the arrays of the previous step, once nothing holds them.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from tinygrad_rnn.kernels import matmul
from tinygrad_rnn.kernels.activations import use_fast
from tinygrad_rnn.kernels.core import Kernel, numba_active, reusable
from tinygrad_rnn.kernels.gru import gru_sequence, gru_sequence_backward
from tinygrad_rnn.kernels.lstm import lstm_sequence, lstm_sequence_backward
from tinygrad_rnn.kernels.matmul import mm
from tinygrad_rnn.kernels.rnn import rnn_layer_forward, rnn_sequence, rnn_sequence_backward

SMALL_BELOW = 200_000  # multiply-adds per step of the hidden product (B * G*H * H)
# The small path first copies W_h (G*H * H elements, transposed), which its faster steps pay back
# only over enough of them: below ~4e3-8e3 elements of W_h per step of the sequence (B=1,
# benchmarks/bench_crossover.py "steps" table). One step of a GRU of H=256, as a seq2seq decoder
# calls it, took 0.74 ms on the small path and 0.32 ms on the big one.
WEIGHT_PER_STEP = 4_000
PATHS = ("tiny", "small", "big")


class Layer:
    """A recurrent layer's sizes and the inner path they choose; runs forward and BPTT on it.

    steps T, batch B, input size I, hidden size H, gate_blocks G (1 RNN, 4 LSTM, 3 GRU), dtype
    of the arrays (float32 compiled loops use the call-free activations).
    """

    __slots__ = ("path", "n_in", "fast")

    def __init__(self, steps: int, batch: int, n_in: int, hidden: int, gate_blocks: int,
                 dtype: np.dtype) -> None:
        self.n_in, self.fast = n_in, use_fast(dtype)
        weight = gate_blocks * hidden * hidden  # elements of W_h
        if not numba_active() or batch * weight >= SMALL_BELOW:
            self.path = "big"
        elif gate_blocks == 1 and batch * n_in * hidden < matmul.CROSSOVER:
            self.path = "tiny"
        elif weight >= WEIGHT_PER_STEP * steps:  # too few steps to pay for copying W_h
            self.path = "big"
        else:
            self.path = "small"

    def project(self, x: np.ndarray, W: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        """p = x W_x^T + b for x (T, B, I): the input half of [x; h] W^T, all steps at once."""
        steps, batch, n_in = x.shape
        p = mm(x.reshape(steps * batch, n_in), W[:, :n_in].T,
               out=reusable("p", (steps * batch, W.shape[0]), x.dtype))
        if b is not None:
            p += b
        return p.reshape(steps, batch, W.shape[0])

    def hidden_weight(self, W: np.ndarray, transpose: bool = False) -> np.ndarray:
        """W_h (G*H, H), the h columns of W, or its transpose: a view on the big path (BLAS
        reads strided operands as fast), a contiguous copy for the compiled loops."""
        w_h = W[:, self.n_in:].T if transpose else W[:, self.n_in:]
        return w_h if self.path == "big" else np.ascontiguousarray(w_h)

    def _sequence_kernel(self, k: Kernel) -> Callable:
        """The version of a whole-sequence kernel this path runs: the twin (a Python loop around
        BLAS that calls the active backend's step kernels) on the big path, else the compiled
        loop."""
        return k.twin if self.path == "big" else k.compiled

    # ----- RNN
    def rnn(self, x: np.ndarray, h0: np.ndarray, W: np.ndarray, b: np.ndarray | None,
            act: int) -> np.ndarray:
        """hs (T, B, H): h_t = act([x_t; h_{t-1}] W^T + b) for every t."""
        if self.path == "tiny":
            b = np.empty(0, x.dtype) if b is None else b
            return rnn_layer_forward.compiled(x, h0, np.ascontiguousarray(W), b, act, self.fast)
        p = self.project(x, W, b)
        run = self._sequence_kernel(rnn_sequence)
        return run(p, h0, self.hidden_weight(W, transpose=True), act, self.fast)

    def rnn_backward(self, g: np.ndarray, hs: np.ndarray, W: np.ndarray,
                     act: int) -> tuple[np.ndarray, np.ndarray]:
        """BPTT: (dz (T, B, H) at the pre-activations, dh0 (B, H)) from g = dL/dh_t (T, B, H)."""
        run = self._sequence_kernel(rnn_sequence_backward)
        return run(np.ascontiguousarray(g), hs, self.hidden_weight(W), act)

    # ----- LSTM
    def lstm(self, x: np.ndarray, h0: np.ndarray, c0: np.ndarray, W: np.ndarray,
             b: np.ndarray | None) -> tuple:
        """(hs, cs, tanh_cs (T, B, H), gates (T, B, 4H)) of an LSTM layer over x (T, B, I)."""
        p = self.project(x, W, b)
        run = self._sequence_kernel(lstm_sequence)
        return run(p, h0, c0, self.hidden_weight(W, transpose=True), self.fast)

    def lstm_backward(self, g_h: np.ndarray, g_c: np.ndarray, cs: np.ndarray,
                      tanh_cs: np.ndarray, gates: np.ndarray, c0: np.ndarray,
                      W: np.ndarray) -> tuple:
        """BPTT: (dz (T, B, 4H), dh0, dc0) from g_h = dL/dh_t (T, B, H) and g_c = dL/dc_T."""
        run = self._sequence_kernel(lstm_sequence_backward)
        return run(np.ascontiguousarray(g_h), np.ascontiguousarray(g_c), cs, tanh_cs, gates, c0,
                   self.hidden_weight(W))

    # ----- GRU
    def gru(self, x: np.ndarray, h0: np.ndarray, W: np.ndarray, b: np.ndarray | None,
            b_hn: np.ndarray | None, reset_after: bool) -> tuple:
        """(hs (T, B, H), gates (T, B, 3H) holding r, z, n, m (T, B, H)) of a GRU layer over
        x (T, B, I); m is what the reset gate multiplied (see `kernels.gru`). b_hn None: zeros."""
        p = self.project(x, W, b)
        b_hn = np.zeros(W.shape[0] // 3, p.dtype) if b_hn is None else b_hn
        run = self._sequence_kernel(gru_sequence)
        return run(p, h0, self.hidden_weight(W, transpose=True), b_hn, bool(reset_after),
                   self.fast)

    def gru_backward(self, g: np.ndarray, hs: np.ndarray, h0: np.ndarray, gates: np.ndarray,
                     m: np.ndarray, W: np.ndarray, reset_after: bool) -> tuple:
        """BPTT: (dp (T, B, 3H) at the input projections, dq (T, B, 3H) at the hidden products,
        dh0 (B, H)) from g = dL/dh_t (T, B, H)."""
        run = self._sequence_kernel(gru_sequence_backward)
        return run(np.ascontiguousarray(g), hs, h0, gates, m, self.hidden_weight(W),
                   bool(reset_after))

    def gru_weight_grads(self, dp: np.ndarray, dq: np.ndarray, x: np.ndarray, h0: np.ndarray,
                         hs: np.ndarray, m: np.ndarray, reset_after: bool) -> tuple:
        """(dW, db, db_hn) of a GRU layer over all steps: dW_x = dp^T x, and dW_h = dq^T h_{t-1}
        as one product (reset_after), or for Cho the r, z rows from h_{t-1} and the n rows from
        m = r h_{t-1}; db = sum of dp, db_hn = sum of dq's n block."""
        steps, batch, n_in = x.shape
        rows, hidden = steps * batch, h0.shape[1]
        dp2, dq2 = dp.reshape(rows, 3 * hidden), dq.reshape(rows, 3 * hidden)
        h_prev = reusable("rows", (rows, hidden), dp.dtype)  # the rows h_{t-1}
        h_prev[:batch] = h0
        h_prev[batch:] = hs[:-1].reshape(rows - batch, hidden)
        dW = np.empty((3 * hidden, n_in + hidden), dtype=dp.dtype)
        dW[:, :n_in] = mm(dp2.T, x.reshape(rows, n_in))
        if reset_after:
            dW[:, n_in:] = mm(dq2.T, h_prev)
        else:
            dW[:2 * hidden, n_in:] = mm(dq2[:, :2 * hidden].T, h_prev)
            dW[2 * hidden:, n_in:] = mm(dq2[:, 2 * hidden:].T, m.reshape(rows, hidden))
        return dW, np.add.reduce(dp2, axis=0), np.add.reduce(dq2[:, 2 * hidden:], axis=0)

    # ----- the products over all steps
    def weight_grads(self, dz: np.ndarray, x: np.ndarray, h0: np.ndarray,
                     hs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(dW, db): dW = dz^T [x_t; h_{t-1}] over every step as ONE product, db = sum of dz.
        dz (T, B, G*H), x (T, B, I), h0 (B, H), hs (T, B, H)."""
        steps, batch, n_in = x.shape
        rows, hidden = steps * batch, h0.shape[1]
        dz2 = dz.reshape(rows, dz.shape[2])
        xh = reusable("rows", (rows, n_in + hidden), dz.dtype)  # the rows [x_t; h_{t-1}]
        xh[:, :n_in] = x.reshape(rows, n_in)
        xh[:batch, n_in:] = h0
        xh[batch:, n_in:] = hs[:-1].reshape(rows - batch, hidden)
        return mm(dz2.T, xh), np.add.reduce(dz2, axis=0)

    def input_grad(self, dz: np.ndarray, W: np.ndarray) -> np.ndarray:
        """dx = dz W_x (T, B, I) for every step at once."""
        steps, batch, n_out = dz.shape
        dx = mm(dz.reshape(steps * batch, n_out), W[:, :self.n_in])
        return dx.reshape(steps, batch, self.n_in)
