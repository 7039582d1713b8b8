"""Graph nodes that stand for many ops: each is one `Function` with a hand-written backward,
and calls the kernels package for its arithmetic.

- `LinearLayer`: y = x W^T + b as one node (what `nn.Linear` records).
- `CrossEntropy`: the mean or summed softmax cross-entropy as one node (what `F.cross_entropy`
  records for reduction "mean" and "sum").
- `RNNLayer`, `LSTMLayer`, `GRULayer` (`rnn_layer`, `lstm_layer`, `gru_layer`): a whole sequence of
  one layer as one node, as cuDNN does (what `nn.RNN/LSTM/GRU` and `nn.unroll` record by
  default). `kernels.Layer` picks the inner path and runs forward and BPTT; the weight gradients
  of all steps are then one product.

The numbers equal those of the per-op path (`tg.cat`, `@`, `+`, `.tanh()` ... step by step) up to
rounding; tests check float64 agreement to 1e-12. Shapes follow nn: W (G*H, I+H) with columns x
first then h, b (G*H,), x (T, B, I), h0 and c0 (B, H); LSTM row blocks i, f, g, o.
"""

from __future__ import annotations

import numpy as np

from tinygrad_rnn import kernels
from tinygrad_rnn.function import Function
from tinygrad_rnn.kernels.activations import sigmoid
from tinygrad_rnn.kernels.cross_entropy import cross_entropy_backward, cross_entropy_forward
from tinygrad_rnn.tensor import Tensor


# ----- output layer and loss ----------------------------------------------------------------------
class LinearLayer(Function):
    """y = x W^T + b as one node, for x (..., I), W (O, I), b (O,) (optional): one product and
    the bias added in place; backward is two products (and a sum for b)."""

    __slots__ = ()
    op = "linear"

    def forward(ctx, x, W, *rest):
        if W.ndim != 2 or x.ndim == 0 or x.shape[-1] != W.shape[1]:
            raise ValueError(f"linear: x of shape {x.shape} does not fit W of shape {W.shape}")
        x2 = x.reshape(-1, x.shape[-1])
        y = x2 @ W.T
        if rest:
            y += rest[0]
        ctx.save_for_backward(x2, W)
        return y.reshape(x.shape[:-1] + (W.shape[0],))

    def backward(ctx, g):
        x2, W = ctx.saved
        g2 = g.reshape(-1, W.shape[0])
        in_shape = g.shape[:-1] + (W.shape[1],)
        dx = (g2 @ W).reshape(in_shape) if ctx.parents[0].requires_grad else None  # dL/dx = g W
        grads = (dx, g2.T @ x2)  # dL/dW = g^T x
        return grads + ((np.add.reduce(g2, axis=0),) if len(ctx.parents) == 3 else ())


class CrossEntropy(Function):
    """Mean (or summed) cross-entropy of logits (N, C) at integer targets (N,) as one node.

    Forward is log-softmax shifted by the row maximum; backward is (softmax - one_hot) / N.
    """

    __slots__ = ("target", "scale")
    op = "cross_entropy"

    def forward(ctx, logits, target=None, reduction="mean"):
        if logits.ndim != 2:
            raise ValueError(f"cross_entropy: logits must be (N, C), got shape {logits.shape}")
        if logits.dtype.char not in "fd":
            logits = logits.astype(np.float64)  # integer (or other) logits: a float64 loss
        t = np.asarray(target)
        if t.dtype.kind not in "iu" or t.shape != logits.shape[:1]:
            raise ValueError(f"cross_entropy: target must be integer class indices of shape "
                             f"{logits.shape[:1]}, got dtype {t.dtype} and shape {t.shape}")
        if reduction not in ("mean", "sum"):
            raise ValueError(f"cross_entropy: reduction must be 'mean' or 'sum', got "
                             f"{reduction!r}")
        prob = np.empty(logits.shape, dtype=logits.dtype)
        t = t.astype(np.int64, copy=False)
        loss, bad = cross_entropy_forward(np.ascontiguousarray(logits), t, prob)
        if bad >= 0:
            raise IndexError(f"cross_entropy: target {t[bad]} (row {bad}) is outside "
                             f"[0, {logits.shape[1]})")
        ctx.target, ctx.scale = t, (1.0 / max(len(t), 1) if reduction == "mean" else 1.0)
        ctx.save_for_backward(prob)
        return np.asarray(loss * ctx.scale, dtype=logits.dtype)

    def backward(ctx, g):
        (prob,) = ctx.saved
        # (softmax - one_hot(target)) * g / N
        return (cross_entropy_backward(prob, ctx.target, float(g) * ctx.scale),)


# ----- argument checks ---------------------------------------------------------------------------
def _activation(nonlinearity: str, op: str) -> int:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{op}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return kernels.ACTIVATIONS[nonlinearity]


def _check(op: str, x: np.ndarray, states: tuple, W: np.ndarray, rest: tuple,
           gates: int) -> tuple[int, int]:
    """Check shapes and dtypes of a layer call; return (input size I, hidden size H)."""
    if x.ndim != 3:
        raise ValueError(f"{op}: x must be (T, B, I), got shape {x.shape}")
    if W.ndim != 2 or W.shape[0] % gates:
        raise ValueError(f"{op}: W must be ({gates}*H, I+H), got shape {W.shape}")
    hidden = W.shape[0] // gates
    n_in = x.shape[-1]
    if W.shape[1] != n_in + hidden:
        raise ValueError(f"{op}: W of shape {W.shape} does not fit input size {n_in} and hidden "
                         f"size {hidden} (expected ({gates * hidden}, {n_in + hidden}))")
    batch = x.shape[-2]
    for s in states:
        if s.shape != (batch, hidden):
            raise ValueError(f"{op}: state of shape {s.shape}, expected ({batch}, {hidden})")
    if len(rest) > 1 or (rest and rest[0].shape != (W.shape[0],)):
        raise ValueError(f"{op}: b must be ({W.shape[0]},), got "
                         f"{[r.shape for r in rest]}")
    dtypes = {a.dtype for a in (x, W, *states, *rest)}
    if len(dtypes) != 1 or x.dtype.kind != "f":
        raise TypeError(f"{op}: all inputs must share one float dtype, got "
                        f"{sorted(str(d) for d in dtypes)}")
    return n_in, hidden


# ----- a whole sequence of one layer -------------------------------------------------------------
class RNNLayer(Function):
    """A whole sequence of one RNN layer as one node: returns hs (T, B, H), h_t for every t.

    Inputs x (T, B, I), h0 (B, H), W (H, I+H), b (H,) (optional). Saves the states; backward
    runs BPTT and forms the weight gradients over all steps at once.
    """

    __slots__ = ("act", "layer")
    op = "rnn_layer"

    def forward(ctx, x, h0, W, *rest, nonlinearity="tanh"):
        ctx.act = _activation(nonlinearity, "rnn_layer")
        n_in, hidden = _check("rnn_layer", x, (h0,), W, rest, 1)
        steps, batch, _ = x.shape
        x, h0 = np.ascontiguousarray(x), np.ascontiguousarray(h0)
        ctx.layer = kernels.Layer(batch, n_in, hidden, 1, x.dtype)
        hs = ctx.layer.rnn(x, h0, W, rest[0] if rest else None, ctx.act)
        ctx.save_for_backward(x, h0, W, hs)
        return hs

    def backward(ctx, g):
        x, h0, W, hs = ctx.saved
        layer = ctx.layer
        dz, dh0 = layer.rnn_backward(g, hs, W, ctx.act)
        dx = layer.input_grad(dz, W) if ctx.parents[0].requires_grad else None
        dW, db = layer.weight_grads(dz, x, h0, hs)
        return (dx, dh0, dW) + ((db,) if len(ctx.parents) == 4 else ())


class LSTMLayer(Function):
    """A whole sequence of one LSTM layer as one node.

    Inputs x (T, B, I), h0, c0 (B, H), W (4H, I+H), b (4H,) (optional). Returns one array of
    shape (T+1, B, H): rows 0..T-1 are h_1..h_T (the layer's output), row T is c_T.
    """

    __slots__ = ("layer",)
    op = "lstm_layer"

    def forward(ctx, x, h0, c0, W, *rest):
        n_in, hidden = _check("lstm_layer", x, (h0, c0), W, rest, 4)
        steps, batch, _ = x.shape
        x, h0, c0 = (np.ascontiguousarray(a) for a in (x, h0, c0))
        ctx.layer = kernels.Layer(batch, n_in, hidden, 4, x.dtype)
        hs, cs, tanh_cs, gates = ctx.layer.lstm(x, h0, c0, W, rest[0] if rest else None)
        ctx.save_for_backward(x, h0, c0, W, hs, cs, tanh_cs, gates)
        return np.concatenate([hs, cs[-1:]])

    def backward(ctx, g):
        x, h0, c0, W, hs, cs, tanh_cs, gates = ctx.saved
        steps = hs.shape[0]
        layer = ctx.layer
        dz, dh0, dc0 = layer.lstm_backward(g[:steps], g[steps], cs, tanh_cs, gates, c0, W)
        dx = layer.input_grad(dz, W) if ctx.parents[0].requires_grad else None
        dW, db = layer.weight_grads(dz, x, h0, hs)
        return (dx, dh0, dc0, dW) + ((db,) if len(ctx.parents) == 5 else ())


class GRULayer(Function):
    """A whole sequence of one GRU layer (the [x; h] form of nn.GRUCell) as one node.

    r, z = sigmoid([x; h] W_rz^T + b_rz); n = tanh([x; r h] W_n^T + b_n); h' = (1-z) n + z h.
    Inputs x (T, B, I), h0 (B, H), W (3H, I+H) with row blocks r, z, n, b (3H,) (optional).
    Returns hs (T, B, H). The time loop is Python around BLAS products and NumPy elementwise
    work on both backends (no compiled GRU kernel yet): one node, far fewer ops than per-op.
    """

    __slots__ = ("n_in",)
    op = "gru_layer"

    def forward(ctx, x, h0, W, *rest):
        n_in, hidden = _check("gru_layer", x, (h0,), W, rest, 3)
        ctx.n_in = n_in
        steps, batch, _ = x.shape
        x = np.ascontiguousarray(x)
        x2 = x.reshape(steps * batch, n_in)
        p = kernels.Layer(batch, n_in, hidden, 3, x.dtype).project(x, W, rest[0] if rest else None)
        w_rz_t, w_n_t = W[:2 * hidden, n_in:].T, W[2 * hidden:, n_in:].T
        hs = np.empty((steps, batch, hidden), dtype=p.dtype)
        gates = np.empty_like(p)  # r, z, n after their nonlinearities
        rh = np.empty_like(hs)  # r * h_{t-1}, the input of the candidate's product
        h_prev = np.ascontiguousarray(h0)
        for t in range(steps):
            gates[t, :, :2 * hidden] = sigmoid(p[t, :, :2 * hidden] + h_prev @ w_rz_t)
            r, z = gates[t, :, :hidden], gates[t, :, hidden:2 * hidden]
            np.multiply(r, h_prev, out=rh[t])
            n = np.tanh(p[t, :, 2 * hidden:] + rh[t] @ w_n_t)
            gates[t, :, 2 * hidden:] = n
            hs[t] = h_prev = (1 - z) * n + z * h_prev  # interpolate candidate and old state
        ctx.save_for_backward(x2, np.ascontiguousarray(h0), W, hs, gates, rh)
        return hs

    def backward(ctx, g):
        x2, h0, W, hs, gates, rh = ctx.saved
        steps, batch, hidden = hs.shape
        n_in = ctx.n_in
        w_rz, w_n = W[:2 * hidden, n_in:], W[2 * hidden:, n_in:]
        da = np.empty_like(gates)  # gradients at the pre-activations a_r, a_z, a_n
        dh_next = np.zeros_like(h0)
        for t in range(steps - 1, -1, -1):
            h_prev = hs[t - 1] if t > 0 else h0
            r, z, n = (gates[t, :, k * hidden:(k + 1) * hidden] for k in range(3))
            dh = g[t] + dh_next
            dn = dh * (1 - z)
            da[t, :, hidden:2 * hidden] = dh * (h_prev - n) * z * (1 - z)  # through z
            da_n = da[t, :, 2 * hidden:]
            np.multiply(dn, 1 - n * n, out=da_n)  # backprop through tanh
            d_rh = da_n @ w_n  # a_n reads r * h through W_nh
            da[t, :, :hidden] = d_rh * h_prev * r * (1 - r)  # through r
            # h_{t-1} reaches h_t directly (z h), through r * h, and through a_r, a_z
            dh_next = dh * z + d_rh * r + da[t, :, :2 * hidden] @ w_rz
        da2 = da.reshape(steps * batch, 3 * hidden)
        h_prev2 = np.concatenate([h0[None], hs[:-1]]).reshape(steps * batch, hidden)
        dW = np.empty_like(W)
        dW[:, :n_in] = da2.T @ x2
        dW[:2 * hidden, n_in:] = da2[:, :2 * hidden].T @ h_prev2
        dW[2 * hidden:, n_in:] = da2[:, 2 * hidden:].T @ rh.reshape(steps * batch, hidden)
        dx = (kernels.Layer(batch, n_in, hidden, 3, W.dtype).input_grad(da, W)
              if ctx.parents[0].requires_grad else None)
        return (dx, dh_next, dW) + ((da2.sum(axis=0),) if len(ctx.parents) == 4 else ())


def gru_layer(x: Tensor, h0: Tensor, W: Tensor, b: Tensor | None = None) -> Tensor:
    """A whole sequence of one GRU layer ([x; h] form) as one graph node; returns hs (T, B, H)."""
    return GRULayer.apply(*((x, h0, W) if b is None else (x, h0, W, b)))


def rnn_layer(x: Tensor, h0: Tensor, W: Tensor, b: Tensor | None = None,
              nonlinearity: str = "tanh") -> Tensor:
    """A whole sequence of one RNN layer as one graph node; returns hs (T, B, H)."""
    args = (x, h0, W) if b is None else (x, h0, W, b)
    return RNNLayer.apply(*args, nonlinearity=nonlinearity)


def lstm_layer(x: Tensor, h0: Tensor, c0: Tensor, W: Tensor,
               b: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """A whole sequence of one LSTM layer as one graph node; returns (hs (T, B, H), h_T, c_T)."""
    out = LSTMLayer.apply(*((x, h0, c0, W) if b is None else (x, h0, c0, W, b)))
    steps = x.shape[0]
    return out[:steps], out[steps - 1], out[steps]
