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
from tinygrad_rnn.kernels.core import by_size, reusable
from tinygrad_rnn.kernels.cross_entropy import cross_entropy_backward, cross_entropy_forward
from tinygrad_rnn.kernels.matmul import product
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
        if rest and rest[0].shape != (W.shape[0],):  # not broadcast: a (1,) bias is a mistake
            raise ValueError(f"linear: bias must have shape ({W.shape[0]},) for weight of shape "
                             f"{W.shape}, got {rest[0].shape}")
        x2 = x.reshape(-1, x.shape[-1])
        y = product(x2, W.T, out=reusable("linear_y", (x2.shape[0], W.shape[0]),
                                           np.result_type(x2, W)))
        if rest:
            y += rest[0]
        ctx.save_for_backward(x2, W)
        return y.reshape(x.shape[:-1] + (W.shape[0],))

    def backward(ctx, g):
        x2, W = ctx.saved
        g2 = g.reshape(-1, W.shape[0])
        in_shape = g.shape[:-1] + (W.shape[1],)
        dx = None
        if ctx.parents[0].requires_grad:  # dL/dx = g W
            dx = product(g2, W, out=reusable("linear_dx", (g2.shape[0], W.shape[1]),
                                             np.result_type(g2, W))).reshape(in_shape)
        grads = (dx, product(g2.T, x2))  # dL/dW = g^T x
        return grads + ((np.add.reduce(g2, axis=0),) if len(ctx.parents) == 3 else ())


class CrossEntropy(Function):
    """Mean (or summed) cross-entropy of logits (N, C) at integer targets (N,) as one node.

    Forward is log-softmax shifted by the row maximum; backward is (softmax - one_hot) / N.
    """

    __slots__ = ("target", "scale")
    op = "cross_entropy"

    def forward(ctx, logits, target=None, reduction="mean"):
        # F.cross_entropy, the one caller, has checked the shapes, targets and reduction (the
        # kernel still refuses a target out of range: compiled code must not read past a row)
        if logits.dtype.char not in "fd":
            logits = logits.astype(np.float64)  # integer (or other) logits: a float64 loss
        t = np.asarray(target).astype(np.int64, copy=False)
        prob = reusable("softmax", logits.shape, logits.dtype)
        forward = by_size(cross_entropy_forward, logits.size)
        loss, bad = forward(np.ascontiguousarray(logits), t, prob, kernels.use_fast(logits.dtype))
        if bad >= 0:
            raise IndexError(f"cross_entropy: target {t[bad]} (row {bad}) is outside "
                             f"[0, {logits.shape[1]})")
        ctx.target, ctx.scale = t, (1.0 / max(len(t), 1) if reduction == "mean" else 1.0)
        ctx.save_for_backward(prob)
        return np.asarray(loss * ctx.scale, dtype=logits.dtype)

    def backward(ctx, g):
        (prob,) = ctx.saved
        # (softmax - one_hot(target)) * g / N
        d = reusable("cross_entropy_grad", prob.shape, prob.dtype)
        by_size(cross_entropy_backward, prob.size)(prob, ctx.target, float(g) * ctx.scale, d)
        return (d,)


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
        ctx.layer = kernels.Layer(steps, batch, n_in, hidden, 1, x.dtype)
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
        ctx.layer = kernels.Layer(steps, batch, n_in, hidden, 4, x.dtype)
        hs, cs, tanh_cs, gates = ctx.layer.lstm(x, h0, c0, W, rest[0] if rest else None)
        ctx.save_for_backward(x, h0, c0, W, hs, cs, tanh_cs, gates)
        steps, batch, hidden = hs.shape
        return np.concatenate([hs, cs[-1:]],
                              out=reusable("lstm_out", (steps + 1, batch, hidden), hs.dtype))

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

    r, z = sigmoid([x; h] W_rz^T + b_rz); h' = (1 - z) n + z h with the candidate
    n = tanh(x W_xn^T + b_n + r * (h W_hn^T + b_hn)) (reset_after=True, PyTorch's) or
    n = tanh([x; r h] W_n^T + b_n) (reset_after=False, Cho's).
    Inputs x (T, B, I), h0 (B, H), W (3H, I+H) with row blocks r, z, n, then optionally b (3H,)
    and, with reset_after=True, b_hn (H,) (a bias needs both). Returns hs (T, B, H).
    `kernels.Layer` runs the time loop (`kernels.gru`) and BPTT; the weight gradients of all
    steps are then one product per block.
    """

    __slots__ = ("layer", "reset_after")
    op = "gru_layer"

    def forward(ctx, x, h0, W, *rest, reset_after=True):
        ctx.reset_after = reset_after = bool(reset_after)
        if reset_after and len(rest) == 1:
            raise ValueError("gru_layer: with reset_after=True a bias b needs b_hn too")
        b_hn = rest[1] if len(rest) == 2 else None
        if b_hn is not None and (not reset_after or b_hn.shape != (W.shape[0] // 3,)):
            raise ValueError(f"gru_layer: b_hn must be (H,) = ({W.shape[0] // 3},) and only "
                             f"with reset_after=True, got shape {b_hn.shape}")
        n_in, hidden = _check("gru_layer", x, (h0,), W, rest[:1], 3)
        if b_hn is not None and b_hn.dtype != W.dtype:
            raise TypeError(f"gru_layer: all inputs must share one float dtype, got "
                            f"{W.dtype} and {b_hn.dtype} (b_hn)")
        steps, batch, _ = x.shape
        x, h0 = np.ascontiguousarray(x), np.ascontiguousarray(h0)
        ctx.layer = kernels.Layer(steps, batch, n_in, hidden, 3, x.dtype)
        hs, gates, m = ctx.layer.gru(x, h0, W, rest[0] if rest else None, b_hn, reset_after)
        ctx.save_for_backward(x, h0, W, hs, gates, m)
        return hs

    def backward(ctx, g):
        x, h0, W, hs, gates, m = ctx.saved
        layer = ctx.layer
        dp, dq, dh0 = layer.gru_backward(g, hs, h0, gates, m, W, ctx.reset_after)
        dx = layer.input_grad(dp, W) if ctx.parents[0].requires_grad else None
        dW, db, db_hn = layer.gru_weight_grads(dp, dq, x, h0, hs, m, ctx.reset_after)
        grads = (dx, dh0, dW)
        if len(ctx.parents) >= 4:
            grads += (db,)
        if len(ctx.parents) == 5:
            grads += (db_hn,)  # b_hn sits inside the reset product: dq's n block
        return grads


def gru_layer(x: Tensor, h0: Tensor, W: Tensor, b: Tensor | None = None,
              b_hn: Tensor | None = None, reset_after: bool = True) -> Tensor:
    """A whole sequence of one GRU layer ([x; h] form) as one graph node; returns hs (T, B, H).
    reset_after=True (PyTorch's candidate) needs b_hn whenever b is given."""
    args = (x, h0, W) + (() if b is None else (b,)) + (() if b_hn is None else (b_hn,))
    if b is None and b_hn is not None:
        raise ValueError("gru_layer: b_hn without b; a GRU has both biases or neither")
    return GRULayer.apply(*args, reset_after=reset_after)


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
