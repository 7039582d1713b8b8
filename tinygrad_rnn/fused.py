"""Fused primitives: several ops as one graph node with a hand-written backward.

- `add_tanh(a, b)`, `add_sigmoid(a, b)`: act(a + b) in one pass (AddTanh, AddSigmoid).
- `rnn_cell(x, h, W, b)`, `lstm_cell(x, h, c, W, b)`: one cell step in the `[x; h]` form,
  z = [x; h] W^T + b, as one node (RNNCellStep, LSTMCellStep).
- `linear(x, W, b)`, `cross_entropy(logits, target)`: an output layer and its loss as one node
  each (LinearLayer, CrossEntropy).
- `rnn_layer(x, h0, W, b)`, `lstm_layer(x, h0, c0, W, b)`: a whole sequence of one layer as one
  node (RNNLayer, LSTMLayer), as cuDNN does. Forward projects every input at once (one BLAS
  product), runs the time loop in compiled code, and saves the states; backward runs BPTT and then
  forms the weight gradients as two big products over all steps.

The numbers equal those of the per-op path (`tg.cat`, `@`, `+`, `.tanh()` ... step by step) up to
rounding; tests check float64 agreement to 1e-12. Shapes follow nn: W (G*H, I+H) with columns x
first then h, b (G*H,), x (T, B, I), h0 and c0 (B, H); LSTM row blocks i, f, g, o.
"""

from __future__ import annotations

import numpy as np

from tinygrad_rnn import kernels
from tinygrad_rnn.function import Function
from tinygrad_rnn.tensor import Tensor


def _rows(a: np.ndarray) -> np.ndarray:
    """View a as 2-D (rows, last axis), C-contiguous (the layout the kernels are compiled for)."""
    return np.ascontiguousarray(a).reshape(-1, a.shape[-1]) if a.ndim != 2 else \
        np.ascontiguousarray(a)


# ----- add + activation --------------------------------------------------------------------------
class _AddAct(Function):
    """act(a + b) where b has a's shape or is broadcast along a's last axis (e.g. a bias)."""

    __slots__ = ()
    broadcasts = True
    act = kernels.TANH

    def forward(ctx, a, b):
        if a.dtype.kind != "f" or b.dtype.kind != "f":  # integers: in floats, as np.tanh does
            dtype = np.result_type(a.dtype, b.dtype, np.float16)
            a, b = a.astype(dtype), b.astype(dtype)
        if a.dtype == b.dtype and a.ndim >= 1 and a.size and (
                b.shape == a.shape or b.shape == a.shape[-1:]):
            y = kernels.ops().add_act(_rows(a), _rows(b), ctx.act,
                                      kernels.use_fast(a.dtype)).reshape(a.shape)
        else:  # other broadcasts (or mixed dtypes): the NumPy twin handles them
            y = kernels.add_act_np(a, b, ctx.act)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, g):
        (y,) = ctx.saved
        if y.ndim >= 1 and y.size:
            dz = kernels.ops().act_backward(_rows(y), _rows(g), ctx.act).reshape(y.shape)
        else:
            dz = kernels.act_backward_np(y, g, ctx.act)
        return dz, dz  # d(a+b)/da = d(a+b)/db = 1; the engine unbroadcasts b's share


class AddTanh(_AddAct):
    """tanh(a + b) as one node."""

    __slots__ = ()
    op = "add_tanh"
    act = kernels.TANH


class AddSigmoid(_AddAct):
    """sigmoid(a + b) as one node."""

    __slots__ = ()
    op = "add_sigmoid"
    act = kernels.SIGMOID


def add_tanh(a: Tensor, b: Tensor) -> Tensor:
    """tanh(a + b) in one node and one pass (same numbers as `(a + b).tanh()`)."""
    return AddTanh.apply(a, b)


def add_sigmoid(a: Tensor, b: Tensor) -> Tensor:
    """sigmoid(a + b) in one node and one pass (same numbers as `(a + b).sigmoid()`)."""
    return AddSigmoid.apply(a, b)


# ----- output layer and loss ----------------------------------------------------------------------
class LinearLayer(Function):
    """y = x W^T + b as one node, for x (..., I), W (O, I), b (O,) (optional)."""

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


def linear(x: Tensor, W: Tensor, b: Tensor | None = None) -> Tensor:
    """x W^T + b as one graph node (the same numbers as `x @ W.T + b`)."""
    return LinearLayer.apply(*((x, W) if b is None else (x, W, b)))


class CrossEntropy(Function):
    """Mean (or summed) cross-entropy of logits (N, C) at integer targets (N,) as one node.

    Forward is log-softmax shifted by the row maximum; backward is (softmax - one_hot) / N.
    """

    __slots__ = ("target", "scale")
    op = "cross_entropy"

    def forward(ctx, logits, target=None, reduction="mean"):
        if logits.ndim != 2:
            raise ValueError(f"cross_entropy: logits must be (N, C), got shape {logits.shape}")
        if logits.dtype.kind != "f":
            logits = logits.astype(np.float64)  # integer logits give a float64 loss
        t = np.asarray(target)
        if t.dtype.kind not in "iu" or t.shape != logits.shape[:1]:
            raise ValueError(f"cross_entropy: target must be integer class indices of shape "
                             f"{logits.shape[:1]}, got dtype {t.dtype} and shape {t.shape}")
        if reduction not in ("mean", "sum"):
            raise ValueError(f"cross_entropy: reduction must be 'mean' or 'sum', got "
                             f"{reduction!r}")
        prob = np.empty(logits.shape, dtype=logits.dtype)
        t = t.astype(np.int64, copy=False)
        loss, bad = kernels.ops().cross_entropy_forward(np.ascontiguousarray(logits), t, prob)
        if bad >= 0:
            raise IndexError(f"cross_entropy: target {t[bad]} (row {bad}) is outside "
                             f"[0, {logits.shape[1]})")
        ctx.target, ctx.scale = t, (1.0 / max(len(t), 1) if reduction == "mean" else 1.0)
        ctx.save_for_backward(prob)
        return np.asarray(loss * ctx.scale, dtype=logits.dtype)

    def backward(ctx, g):
        (prob,) = ctx.saved
        # (softmax - one_hot(target)) * g / N
        return (kernels.ops().cross_entropy_backward(prob, ctx.target, float(g) * ctx.scale),)


def cross_entropy(logits: Tensor, target: np.ndarray, reduction: str = "mean") -> Tensor:
    """Cross-entropy of logits (N, C) at integer targets (N,) as one graph node (the same numbers
    as `F.cross_entropy` with reduction "mean" or "sum")."""
    target = target.data if isinstance(target, Tensor) else target
    return CrossEntropy.apply(logits, target=target, reduction=reduction)


# ----- argument checks ---------------------------------------------------------------------------
def _activation(nonlinearity: str, op: str) -> int:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{op}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return kernels.ACTIVATIONS[nonlinearity]


def _check(op: str, x: np.ndarray, states: tuple, W: np.ndarray, rest: tuple, gates: int,
           seq: bool) -> tuple[int, int]:
    """Check shapes and dtypes of a cell or layer call; return (input size I, hidden size H)."""
    want_x = 3 if seq else 2
    if x.ndim != want_x:
        raise ValueError(f"{op}: x must be {'(T, B, I)' if seq else '(B, I)'}, got shape {x.shape}")
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


def _project(x2: np.ndarray, W: np.ndarray, n_in: int, rest: tuple) -> np.ndarray:
    """x W_x^T (+ b) for x2 (N, I): the input half of [x; h] W^T, for all rows at once."""
    z = kernels.mm(x2, W[:, :n_in].T)
    if rest:
        z += rest[0]
    return z


def _weight_grads(dz2: np.ndarray, x2: np.ndarray, h0: np.ndarray, hs: np.ndarray,
                  rest: tuple) -> tuple:
    """dW = dz^T [x_t; h_{t-1}] over every step as ONE product, and db = sum of dz over rows.
    dz2 (T*B, G*H), x2 (T*B, I), h0 (B, H), hs (T, B, H)."""
    rows, n_in = x2.shape
    batch, hidden = h0.shape
    xh = np.empty((rows, n_in + hidden), dtype=dz2.dtype)  # the rows [x_t; h_{t-1}]
    xh[:, :n_in] = x2
    xh[:batch, n_in:] = h0
    xh[batch:, n_in:] = hs[:-1].reshape(rows - batch, hidden)
    dW = kernels.mm(dz2.T, xh)
    return (dW, np.add.reduce(dz2, axis=0)) if rest else (dW,)


def _input_grad(ctx: Function, dz2: np.ndarray, W: np.ndarray, n_in: int, steps: int,
                batch: int) -> np.ndarray | None:
    """dx = dz W_x for every step at once, or None when the input needs no gradient (the
    first layer of a model fed data): that product is skipped."""
    if not ctx.parents[0].requires_grad:
        return None
    return kernels.mm(dz2, np.ascontiguousarray(W[:, :n_in])).reshape(steps, batch, n_in)


# ----- one cell step -----------------------------------------------------------------------------
class RNNCellStep(Function):
    """h' = act([x; h] W^T + b) as one node; x (B, I), h (B, H), W (H, I+H), b (H,)."""

    __slots__ = ("act", "n_in")
    op = "rnn_cell"

    def forward(ctx, x, h, W, *rest, nonlinearity="tanh"):
        ctx.act = _activation(nonlinearity, "rnn_cell")
        ctx.n_in, _ = _check("rnn_cell", x, (h,), W, rest, 1, seq=False)
        xh = np.concatenate([x, h], axis=1)
        z = kernels.mm(xh, np.ascontiguousarray(W.T))
        b = rest[0] if rest else np.zeros(W.shape[0], dtype=W.dtype)
        h_new = kernels.ops().add_act(z, b.reshape(1, -1), ctx.act, kernels.use_fast(z.dtype))
        ctx.save_for_backward(xh, W, h_new)
        return h_new

    def backward(ctx, g):
        xh, W, h_new = ctx.saved
        dz = kernels.ops().act_backward(h_new, np.ascontiguousarray(g), ctx.act)
        dxh = kernels.mm(dz, np.ascontiguousarray(W))  # z = xh W^T: dxh = dz W
        dW = kernels.mm(np.ascontiguousarray(dz.T), xh)  # dW = dz^T xh
        n = ctx.n_in
        grads = (dxh[:, :n], dxh[:, n:], dW)
        return grads + ((dz.sum(axis=0),) if len(ctx.parents) == 4 else ())


class LSTMCellStep(Function):
    """One LSTM step as one node; returns h' and c' stacked, shape (2, B, H).

    z = [x; h] W^T + b with row blocks i, f, g, o; c' = f c + i g; h' = o tanh(c').
    """

    __slots__ = ("n_in",)
    op = "lstm_cell"

    def forward(ctx, x, h, c, W, *rest):
        ctx.n_in, _ = _check("lstm_cell", x, (h, c), W, rest, 4, seq=False)
        xh = np.concatenate([x, h], axis=1)
        z = kernels.mm(xh, np.ascontiguousarray(W.T))
        if rest:
            z += rest[0]
        gates, c_new, tanh_c, h_new = kernels.ops().lstm_gates(z, np.ascontiguousarray(c),
                                                               kernels.use_fast(z.dtype))
        ctx.save_for_backward(xh, W, np.ascontiguousarray(c), gates, tanh_c)
        return np.stack([h_new, c_new])

    def backward(ctx, g):
        xh, W, c, gates, tanh_c = ctx.saved
        dz, dc = kernels.ops().lstm_gates_backward(np.ascontiguousarray(g[0]),
                                                   np.ascontiguousarray(g[1]),
                                                   gates, tanh_c, c)
        dxh = kernels.mm(dz, np.ascontiguousarray(W))  # z = xh W^T: dxh = dz W
        dW = kernels.mm(np.ascontiguousarray(dz.T), xh)  # dW = dz^T xh
        n = ctx.n_in
        grads = (dxh[:, :n], dxh[:, n:], dc, dW)
        return grads + ((dz.sum(axis=0),) if len(ctx.parents) == 5 else ())


def rnn_cell(x: Tensor, h: Tensor, W: Tensor, b: Tensor | None = None,
             nonlinearity: str = "tanh") -> Tensor:
    """One RNN step act([x; h] W^T + b) as a single graph node."""
    args = (x, h, W) if b is None else (x, h, W, b)
    return RNNCellStep.apply(*args, nonlinearity=nonlinearity)


def lstm_cell(x: Tensor, h: Tensor, c: Tensor, W: Tensor,
              b: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """One LSTM step as a single graph node; returns (h', c')."""
    hc = LSTMCellStep.apply(*((x, h, c, W) if b is None else (x, h, c, W, b)))
    return hc[0], hc[1]


# ----- a whole sequence of one layer -------------------------------------------------------------
def _small(batch: int, n_out: int, hidden: int) -> bool:
    """True when a step's hidden-to-hidden product is small enough to run inside the compiled
    time loop (numba backend only; the NumPy backend always loops in Python over BLAS)."""
    return batch * n_out * hidden < kernels.SEQUENCE_CROSSOVER


class RNNLayer(Function):
    """A whole sequence of one RNN layer as one node: returns hs (T, B, H), h_t for every t.

    Inputs x (T, B, I), h0 (B, H), W (H, I+H), b (H,) (optional). Saves the states; backward
    runs BPTT (through the compiled kernel or a loop over BLAS products for big layers).
    """

    __slots__ = ("act", "n_in")
    op = "rnn_layer"

    def forward(ctx, x, h0, W, *rest, nonlinearity="tanh"):
        ctx.act = _activation(nonlinearity, "rnn_layer")
        n_in, hidden = _check("rnn_layer", x, (h0,), W, rest, 1, seq=True)
        ctx.n_in = n_in
        steps, batch, _ = x.shape
        x = np.ascontiguousarray(x)
        x2 = x.reshape(steps * batch, n_in)
        h0 = np.ascontiguousarray(h0)
        k, fast = kernels.ops(), kernels.use_fast(x.dtype)
        if kernels.get_backend() == "numba" and batch * n_in * hidden < kernels.MATMUL_CROSSOVER \
                and _small(batch, hidden, hidden):  # tiny: the whole layer in one compiled call
            b = rest[0] if rest else np.empty(0, x.dtype)
            hs = k.rnn_layer_forward(x, h0, np.ascontiguousarray(W), b, ctx.act, fast)
            ctx.save_for_backward(x2, h0, W, hs)
            return hs
        p = _project(x2, W, n_in, rest).reshape(steps, batch, hidden)
        w_hh_t = np.ascontiguousarray(W[:, n_in:].T)
        if kernels.get_backend() == "numpy" or _small(batch, hidden, hidden):
            hs = k.rnn_sequence(p, h0, w_hh_t, ctx.act, fast)
        else:  # big layer: BLAS for h W_hh^T, the compiled kernel for add + activation
            hs = np.empty_like(p)
            z = np.empty((batch, hidden), dtype=p.dtype)
            h_prev = h0
            for t in range(steps):
                np.matmul(h_prev, w_hh_t, out=z)
                np.add(z, p[t], out=hs[t])
                k.act_inplace(hs[t], ctx.act, fast)
                h_prev = hs[t]
        ctx.save_for_backward(x2, h0, W, hs)
        return hs

    def backward(ctx, g):
        x2, h0, W, hs = ctx.saved
        steps, batch, hidden = hs.shape
        n_in = ctx.n_in
        w_hh = np.ascontiguousarray(W[:, n_in:])
        g = np.ascontiguousarray(g)
        k = kernels.ops()
        if kernels.get_backend() == "numpy" or _small(batch, hidden, hidden):
            dz, dh0 = k.rnn_sequence_backward(g, hs, w_hh, ctx.act)
        else:
            dz = np.empty_like(g)
            dh_next = np.zeros_like(h0)
            for t in range(steps - 1, -1, -1):
                np.add(g[t], dh_next, out=dz[t])  # dL/dh_t: from outside plus from step t+1
                k.act_grad_inplace(hs[t], dz[t], ctx.act)  # back through the activation
                np.matmul(dz[t], w_hh, out=dh_next)  # h_{t-1} fed z_t through W_hh
            dh0 = dh_next
        dz2 = dz.reshape(steps * batch, hidden)
        dx = _input_grad(ctx, dz2, W, n_in, steps, batch)
        rest = (None,) if len(ctx.parents) == 4 else ()
        return (dx, dh0) + _weight_grads(dz2, x2, h0, hs, rest)


class LSTMLayer(Function):
    """A whole sequence of one LSTM layer as one node.

    Inputs x (T, B, I), h0, c0 (B, H), W (4H, I+H), b (4H,) (optional). Returns one array of
    shape (T+1, B, H): rows 0..T-1 are h_1..h_T (the layer's output), row T is c_T.
    """

    __slots__ = ("n_in",)
    op = "lstm_layer"

    def forward(ctx, x, h0, c0, W, *rest):
        n_in, hidden = _check("lstm_layer", x, (h0, c0), W, rest, 4, seq=True)
        ctx.n_in = n_in
        steps, batch, _ = x.shape
        x2 = np.ascontiguousarray(x).reshape(steps * batch, n_in)
        p = _project(x2, W, n_in, rest).reshape(steps, batch, 4 * hidden)
        h0, c0 = np.ascontiguousarray(h0), np.ascontiguousarray(c0)
        w_hh_t = np.ascontiguousarray(W[:, n_in:].T)
        k, fast = kernels.ops(), kernels.use_fast(p.dtype)
        if kernels.get_backend() == "numpy" or _small(batch, 4 * hidden, hidden):
            hs, cs, tanh_cs, gates = k.lstm_sequence(p, h0, c0, w_hh_t, fast)
        else:  # big layer: BLAS for h W_hh^T, the compiled kernel for the gates
            hs = np.empty((steps, batch, hidden), dtype=p.dtype)
            cs, tanh_cs, gates = np.empty_like(hs), np.empty_like(hs), np.empty_like(p)
            z = np.empty((batch, 4 * hidden), dtype=p.dtype)
            h_prev, c_prev = h0, c0
            for t in range(steps):
                np.matmul(h_prev, w_hh_t, out=z)
                z += p[t]
                k.lstm_gates_into(z, c_prev, gates[t], cs[t], tanh_cs[t], hs[t], fast)
                h_prev, c_prev = hs[t], cs[t]
        ctx.save_for_backward(x2, h0, c0, W, hs, cs, tanh_cs, gates)
        return np.concatenate([hs, cs[-1:]])

    def backward(ctx, g):
        x2, h0, c0, W, hs, cs, tanh_cs, gates = ctx.saved
        steps, batch, hidden = hs.shape
        n_in = ctx.n_in
        w_hh = np.ascontiguousarray(W[:, n_in:])
        g_h, g_c = np.array(g[:steps]), np.array(g[steps])  # copies: g_h is added into
        k = kernels.ops()
        if kernels.get_backend() == "numpy" or _small(batch, 4 * hidden, hidden):
            dz, dh0, dc0 = k.lstm_sequence_backward(g_h, g_c, cs, tanh_cs, gates, c0, w_hh)
        else:
            dz = np.empty_like(gates)
            dh_next, dc, dc_prev = np.zeros_like(h0), g_c.copy(), np.empty_like(c0)
            for t in range(steps - 1, -1, -1):
                c_prev = cs[t - 1] if t > 0 else c0
                g_h[t] += dh_next  # dL/dh_t: from outside plus from step t+1
                k.lstm_gates_backward_into(g_h[t], dc, gates[t], tanh_cs[t], c_prev, dz[t],
                                           dc_prev)
                dc, dc_prev = dc_prev, dc
                np.matmul(dz[t], w_hh, out=dh_next)  # h_{t-1} fed z_t through W_hh
            dh0, dc0 = dh_next, dc
        dz2 = dz.reshape(steps * batch, 4 * hidden)
        dx = _input_grad(ctx, dz2, W, n_in, steps, batch)
        rest = (None,) if len(ctx.parents) == 5 else ()
        return (dx, dh0, dc0) + _weight_grads(dz2, x2, h0, hs, rest)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return kernels.add_act_np(a, np.zeros((), a.dtype), kernels.SIGMOID)


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
        n_in, hidden = _check("gru_layer", x, (h0,), W, rest, 3, seq=True)
        ctx.n_in = n_in
        steps, batch, _ = x.shape
        x2 = np.ascontiguousarray(x).reshape(steps * batch, n_in)
        p = _project(x2, W, n_in, rest).reshape(steps, batch, 3 * hidden)
        w_rz_t, w_n_t = W[:2 * hidden, n_in:].T, W[2 * hidden:, n_in:].T
        hs = np.empty((steps, batch, hidden), dtype=p.dtype)
        gates = np.empty_like(p)  # r, z, n after their nonlinearities
        rh = np.empty_like(hs)  # r * h_{t-1}, the input of the candidate's product
        h_prev = np.ascontiguousarray(h0)
        for t in range(steps):
            gates[t, :, :2 * hidden] = _sigmoid(p[t, :, :2 * hidden] + h_prev @ w_rz_t)
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
        dx = _input_grad(ctx, da2, W, n_in, steps, batch)
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
