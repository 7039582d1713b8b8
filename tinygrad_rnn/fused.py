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


def gru_sequence_np(p: np.ndarray, h0: np.ndarray, w_h_t: np.ndarray, b_hn: np.ndarray,
                    reset_after: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The GRU time loop after the input projection p = x W_x^T + b (T, B, 3H).

    w_h_t (H, 3H) is W_h^T, the h columns of W transposed; b_hn (H,) (zeros without a bias).
    Returns hs (T, B, H), gates (T, B, 3H) holding r, z, n, and m (T, B, H), what the reset gate
    multiplied: W_hn h_{t-1} + b_hn (reset_after=True) or r * h_{t-1} (reset_after=False)."""
    steps, batch, three_h = p.shape
    H = three_h // 3
    hs = np.empty((steps, batch, H), dtype=p.dtype)
    gates, m = np.empty_like(p), np.empty_like(hs)
    h_prev = h0
    for t in range(steps):
        r, z, n = gates[t, :, :H], gates[t, :, H:2 * H], gates[t, :, 2 * H:]
        if reset_after:
            q = h_prev @ w_h_t  # W_h h_{t-1}, all three blocks in one product
            gates[t, :, :2 * H] = _sigmoid(p[t, :, :2 * H] + q[:, :2 * H])
            m[t] = q[:, 2 * H:] + b_hn
            n[...] = np.tanh(p[t, :, 2 * H:] + r * m[t])
        else:
            gates[t, :, :2 * H] = _sigmoid(p[t, :, :2 * H] + h_prev @ w_h_t[:, :2 * H])
            np.multiply(r, h_prev, out=m[t])
            n[...] = np.tanh(p[t, :, 2 * H:] + m[t] @ w_h_t[:, 2 * H:])
        hs[t] = h_prev = n + z * (h_prev - n)  # (1 - z) n + z h_{t-1}
    return hs, gates, m


def gru_sequence_backward_np(g: np.ndarray, hs: np.ndarray, h0: np.ndarray, gates: np.ndarray,
                             m: np.ndarray, w_h: np.ndarray,
                             reset_after: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BPTT of `gru_sequence_np`: g (T, B, H) is dL/dh_t from outside, w_h (3H, H) is W_h.

    Returns dp (T, B, 3H), the gradient at the input projection p (the x side of the
    pre-activations); dm (T, B, H), the gradient at the candidate's hidden-side product
    (W_hn h_{t-1} + b_hn, or the product of W_hn with r * h_{t-1}); and dh0 (B, H)."""
    steps, batch, H = hs.shape
    dp, dm = np.empty_like(gates), np.empty_like(hs)
    dh_next = np.zeros_like(h0)
    for t in range(steps - 1, -1, -1):
        h_prev = hs[t - 1] if t > 0 else h0
        r, z, n = gates[t, :, :H], gates[t, :, H:2 * H], gates[t, :, 2 * H:]
        dh = g[t] + dh_next  # dL/dh_t: from outside plus from step t+1
        dp[t, :, H:2 * H] = dh * (h_prev - n) * z * (1 - z)  # back through z's sigmoid
        da_n = dp[t, :, 2 * H:]
        np.multiply(dh * (1 - z), 1 - n * n, out=da_n)  # back through n's tanh
        if reset_after:  # a_n = p_n + r * m
            np.multiply(da_n, r, out=dm[t])
            dp[t, :, :H] = da_n * m[t] * r * (1 - r)  # back through r's sigmoid
            dq = np.concatenate([dp[t, :, :2 * H], dm[t]], axis=1)
            dh_next = dh * z + dq @ w_h  # h_{t-1} fed z directly and all three products
        else:  # a_n = p_n + (r * h_{t-1}) W_hn^T
            dm[t] = da_n
            d_rh = da_n @ w_h[2 * H:]
            dp[t, :, :H] = d_rh * h_prev * r * (1 - r)
            dh_next = dh * z + d_rh * r + dp[t, :, :2 * H] @ w_h[:2 * H]
    return dp, dm, dh_next


class GRULayer(Function):
    """A whole sequence of one GRU layer (the [x; h] form of nn.GRUCell) as one node.

    r, z = sigmoid([x; h] W_rz^T + b_rz); h' = (1 - z) n + z h with the candidate
    n = tanh(x W_xn^T + b_n + r * (h W_hn^T + b_hn)) (reset_after=True, PyTorch's) or
    n = tanh([x; r h] W_n^T + b_n) (reset_after=False, Cho's).
    Inputs x (T, B, I), h0 (B, H), W (3H, I+H) with row blocks r, z, n, then optionally b (3H,)
    and, with reset_after=True, b_hn (H,) (a bias needs both). Returns hs (T, B, H).
    Forward projects every input at once (one BLAS product), runs the time loop, and saves the
    gates; backward runs BPTT and forms the weight gradients as big products over all steps.
    """

    __slots__ = ("n_in", "reset_after")
    op = "gru_layer"

    def forward(ctx, x, h0, W, *rest, reset_after=True):
        ctx.reset_after = reset_after = bool(reset_after)
        if reset_after and len(rest) == 1:
            raise ValueError("gru_layer: with reset_after=True a bias b needs b_hn too")
        b_hn = rest[1] if len(rest) == 2 else None
        if b_hn is not None and (not reset_after or b_hn.shape != (W.shape[0] // 3,)):
            raise ValueError(f"gru_layer: b_hn must be (H,) = ({W.shape[0] // 3},) and only "
                             f"with reset_after=True, got shape {b_hn.shape}")
        n_in, hidden = _check("gru_layer", x, (h0,), W, rest[:1], 3, seq=True)
        if b_hn is not None and b_hn.dtype != W.dtype:
            raise TypeError(f"gru_layer: all inputs must share one float dtype, got "
                            f"{W.dtype} and {b_hn.dtype} (b_hn)")
        ctx.n_in = n_in
        steps, batch, _ = x.shape
        x2 = np.ascontiguousarray(x).reshape(steps * batch, n_in)
        p = _project(x2, W, n_in, rest[:1]).reshape(steps, batch, 3 * hidden)
        h0 = np.ascontiguousarray(h0)
        b_hn = np.zeros(hidden, W.dtype) if b_hn is None else b_hn
        hs, gates, m = gru_sequence_np(p, h0, np.ascontiguousarray(W[:, n_in:].T), b_hn,
                                       reset_after)
        ctx.save_for_backward(x2, h0, W, hs, gates, m)
        return hs

    def backward(ctx, g):
        x2, h0, W, hs, gates, m = ctx.saved
        steps, batch, hidden = hs.shape
        n_in = ctx.n_in
        dp, dm, dh0 = gru_sequence_backward_np(np.ascontiguousarray(g), hs, h0, gates, m,
                                               np.ascontiguousarray(W[:, n_in:]), ctx.reset_after)
        dp2 = dp.reshape(steps * batch, 3 * hidden)
        dm2 = dm.reshape(steps * batch, hidden)
        h_prev2 = np.concatenate([h0[None], hs[:-1]]).reshape(steps * batch, hidden)
        dW = np.empty_like(W)
        dW[:, :n_in] = kernels.mm(dp2.T, x2)  # dW_x = dp^T x
        dW[:2 * hidden, n_in:] = kernels.mm(dp2[:, :2 * hidden].T, h_prev2)  # r, z read h
        # the candidate's hidden product read h (reset_after) or r * h (Cho)
        dW[2 * hidden:, n_in:] = kernels.mm(
            dm2.T, h_prev2 if ctx.reset_after else m.reshape(steps * batch, hidden))
        dx = _input_grad(ctx, dp2, W, n_in, steps, batch)
        grads = (dx, dh0, dW)
        if len(ctx.parents) >= 4:
            grads += (np.add.reduce(dp2, axis=0),)
        if len(ctx.parents) == 5:
            grads += (np.add.reduce(dm2, axis=0),)  # b_hn sits inside the reset product
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
