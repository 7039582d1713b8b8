"""Numba kernels for the hot paths of recurrent networks, each with a NumPy twin; backend switch.

Every kernel is a plain function over ndarrays and scalars, compiled with `@njit(cache=True)`, and
every kernel has a NumPy twin (`name_np`) computing the same thing; the tests compare the two in
float32 and float64. The kernels are:

- `add_act`, `act_backward`: y = act(a + b) with b broadcast over rows, and its backward
  (act is TANH, SIGMOID or RELU), so an add and a nonlinearity are one pass over memory;
- `lstm_gates`, `lstm_gates_backward`: the LSTM cell step after the matmul (gates, cell state,
  output) and its backward;
- `matmul`: a small matrix product written as loops, faster than a BLAS call below
  `MATMUL_CROSSOVER` multiply-adds because it skips the call overhead;
- `rnn_sequence`, `rnn_sequence_backward`, `lstm_sequence`, `lstm_sequence_backward`: a whole
  sequence of one layer, the time loop and the hidden-to-hidden products compiled together;
  `rnn_layer_forward` also does the input products in the loop (for tiny layers, where a BLAS
  call costs more than its arithmetic);
- `cross_entropy_forward`, `cross_entropy_backward`: softmax and the summed cross-entropy of
  rows of logits in one pass, and its gradient;
- `adam_update`: Adam's moment and parameter update in one pass (NumPy makes ten).

Kernels use `error_model="numpy"` (a float division by zero gives inf, as in NumPy, instead of
raising): without it every division carries a check that stops LLVM from vectorizing the loop.

This module imports nothing of the project. Numba itself is imported on the first kernel call, not
at import, so `import tinygrad_rnn` stays fast; compiled code is cached on disk (`cache=True`).

The backend is chosen once here: `TINYGRAD_RNN_BACKEND=numba|numpy` in the environment, or
`set_backend("numpy")` in code. `ops()` returns the namespace of the active backend's kernels,
so callers write `kernels.ops().add_act(a, b, kernels.TANH, fast)` and never branch themselves.
`fast` (see `use_fast`) selects call-free tanh/sigmoid for float32 so compiled loops vectorize.
"""

from __future__ import annotations

import os
import types
from typing import Any, Callable

import numpy as np

TANH, SIGMOID, RELU = 0, 1, 2  # activation codes the kernels take (ints compile well)
ACTIVATIONS = {"tanh": TANH, "sigmoid": SIGMOID, "relu": RELU}

# Below MATMUL_CROSSOVER multiply-adds (M*K*N) `mm` runs the loop kernel `matmul`, above it BLAS.
# Below SEQUENCE_CROSSOVER multiply-adds per step of the hidden-to-hidden product (B * gates*H * H)
# a whole layer runs with that product inside the compiled time loop; above it the time loop is
# Python around BLAS products with compiled (or NumPy SIMD) elementwise work. Measured on the
# project machine (2-core AMD EPYC, OpenBLAS 0.3.31 Haswell kernels, one thread, f32 and f64) with
#   .venv/bin/python benchmarks/bench_crossover.py
# Single products: the loop kernel ties BLAS at ~1e4 multiply-adds (1x100 @ 100x100: 3.3 vs 3.3 us
# f32, 2.4 vs 2.5 us f64) and is 1.8-2.8x slower from 1e5 up, so it is used only for tiny products.
# Whole layers (T=25, forward + backward): the compiled loop is 1.3-2.2x faster up to ~1.3e5
# multiply-adds per step (RNN 1x100 f32: 0.19 vs 0.42 ms; LSTM 1x100 f32: 0.55 vs 1.01 ms; RNN
# 32x64: 1.18 vs 1.57 ms) and 1.1-1.5x slower from ~2.6e5 (RNN 32x128: 4.3 vs 3.0 ms).
MATMUL_CROSSOVER = 10_000
SEQUENCE_CROSSOVER = 200_000

_BACKENDS = ("numba", "numpy")


def use_fast(dtype: np.dtype) -> bool:
    """Whether kernels on arrays of `dtype` use the call-free tanh/sigmoid (float32 only: its
    error, < 1.5e-7, is float32 rounding; float64 keeps the library functions, so the fused path
    matches the per-op path to 1e-12)."""
    return dtype == np.float32


# ----- lazy numba --------------------------------------------------------------------------------
class _LazyJit:
    """`@njit(cache=True)` that defers importing numba and compiling until the first call.

    On the first call of any kernel every kernel of this module is handed to `numba.njit`, and the
    module's globals are pointed at the compiled dispatchers, so kernels that call each other are
    compiled together. `py_func` is the plain Python function (what NUMBA_DISABLE_JIT=1 runs).
    """

    __slots__ = ("py_func", "options")

    def __init__(self, py_func: Callable, options: dict) -> None:
        self.py_func, self.options = py_func, options

    def __call__(self, *args: Any) -> Any:
        return _compile_all()[self.py_func.__name__](*args)


def njit(**options: Any) -> Callable[[Callable], _LazyJit]:
    """Mark a function as a numba kernel: `numba.njit(**options)` applied at the first call."""
    return lambda fn: _LazyJit(fn, options)


_compiled: dict[str, Callable] | None = None


def _compile_all() -> dict[str, Callable]:
    """Import numba and turn every `_LazyJit` of this module into a numba dispatcher (once)."""
    global _compiled
    if _compiled is None:
        import numba

        module = globals()
        lazy = {name: f for name, f in module.items() if isinstance(f, _LazyJit)}
        compiled = {name: numba.njit(**f.options)(f.py_func) for name, f in lazy.items()}
        module.update(compiled)  # kernels calling kernels now find dispatchers
        _compiled = compiled
    return _compiled


# ----- add + activation --------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def _tanh_fast(x: float) -> float:
    """tanh without a library call (used for float32, where glibc's scalar tanhf is several
    times slower than NumPy's SIMD tanh): Lambert's continued fraction
    tanh(u) = u / (1 + u^2 / (3 + u^2 / (5 + ... / 13))) at u = x/2, kept as one fraction n/m,
    then the doubling formula tanh(x) = 2t / (1 + t^2): one division per value.
    Absolute error below 5e-8 for every x (under one float32 ulp near 1), checked in the tests."""
    x = min(max(float(x), -9.0), 9.0)  # in float64; tanh(9) = 1 - 3e-8: flat beyond
    u = 0.5 * x
    s = u * u
    # d_k = (2k - 1) + s / d_{k+1} from d_7 = 13, kept as d_k = n_k / n_{k+1}
    n6 = 11.0 * 13.0 + s
    n5 = 9.0 * n6 + s * 13.0
    n4 = 7.0 * n5 + s * n6
    n3 = 5.0 * n4 + s * n5
    n2 = 3.0 * n3 + s * n4
    n1 = n2 + s * n3  # d_1 = n1 / n2, so tanh(u) = t = u n2 / n1
    return 2.0 * u * n2 * n1 / (n1 * n1 + s * n2 * n2)  # 2t / (1 + t^2)


@njit(cache=True, error_model="numpy")
def _tanh(z: float, fast: bool) -> float:
    return _tanh_fast(z) if fast else np.tanh(z)


@njit(cache=True, error_model="numpy")
def _sigmoid(z: float, fast: bool) -> float:
    """Logistic sigmoid; exact: from exp(-|z|) so it never overflows; fast: 0.5 + 0.5 tanh(z/2)."""
    if fast:
        return 0.5 + 0.5 * _tanh_fast(0.5 * z)
    e = np.exp(-abs(z))
    return 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)


@njit(cache=True, error_model="numpy")
def _act(z: float, act: int, fast: bool) -> float:
    """One activation value: tanh (0), sigmoid (1) or relu (2)."""
    if act == 0:
        return _tanh(z, fast)
    if act == 1:
        return _sigmoid(z, fast)
    return z if z > 0 else z * 0.0


@njit(cache=True, error_model="numpy")
def act_inplace(z: np.ndarray, act: int, fast: bool) -> None:
    """z = act(z) in place for a 2-D z. The branches sit outside the loops, so that the call-free
    (fast) and relu loops have straight-line bodies that LLVM vectorizes."""
    n, h = z.shape
    if fast and act == 0:
        for i in range(n):
            for j in range(h):
                z[i, j] = _tanh_fast(z[i, j])
    elif fast and act == 1:
        for i in range(n):
            for j in range(h):
                z[i, j] = 0.5 + 0.5 * _tanh_fast(0.5 * z[i, j])
    elif act == 2:
        for i in range(n):
            for j in range(h):
                z[i, j] = z[i, j] if z[i, j] > 0 else z[i, j] * 0.0
    else:
        for i in range(n):
            for j in range(h):
                z[i, j] = _act(z[i, j], act, False)


@njit(cache=True, error_model="numpy")
def add_act(a: np.ndarray, b: np.ndarray, act: int, fast: bool) -> np.ndarray:
    """act(a + b) for a (N, H) and b (N, H) or (1, H) (then added to every row). fast: use the
    call-free tanh (for float32; see `use_fast`)."""
    n, h = a.shape
    out = np.empty_like(a)
    rows_b = b.shape[0]
    for i in range(n):
        r = i if rows_b > 1 else 0
        for j in range(h):
            out[i, j] = a[i, j] + b[r, j]
    act_inplace(out, act, fast)
    return out


def _act_np(z: np.ndarray, act: int) -> np.ndarray:
    if act == TANH:
        return np.tanh(z)
    if act == SIGMOID:
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype, copy=False)
    return z * (z > 0)


def act_inplace_np(z: np.ndarray, act: int, fast: bool = False) -> None:
    """NumPy twin of `act_inplace`."""
    z[...] = _act_np(z, act)


def add_act_np(a: np.ndarray, b: np.ndarray, act: int, fast: bool = False) -> np.ndarray:
    """NumPy twin of `add_act` (always exact: `fast` is accepted and ignored)."""
    return _act_np(a + b, act)


@njit(cache=True, error_model="numpy")
def act_backward(y: np.ndarray, g: np.ndarray, act: int) -> np.ndarray:
    """Gradient at the pre-activation: g * act'(z), from the output y = act(z); y, g (N, H)."""
    out = g.copy()
    act_grad_inplace(y, out, act)
    return out


@njit(cache=True, error_model="numpy")
def act_grad_inplace(y: np.ndarray, g: np.ndarray, act: int) -> None:
    """g *= act'(z) written with y = act(z); the branch outside the loops (they vectorize)."""
    n, h = y.shape
    if act == 0:
        for i in range(n):
            for j in range(h):
                g[i, j] *= 1.0 - y[i, j] * y[i, j]  # backprop through tanh
    elif act == 1:
        for i in range(n):
            for j in range(h):
                g[i, j] *= y[i, j] * (1.0 - y[i, j])  # backprop through sigmoid
    else:
        for i in range(n):
            for j in range(h):
                g[i, j] = g[i, j] if y[i, j] > 0 else g[i, j] * 0.0  # relu passes where y > 0


def act_grad_inplace_np(y: np.ndarray, g: np.ndarray, act: int) -> None:
    """NumPy twin of `act_grad_inplace`."""
    g[...] = act_backward_np(y, g, act)


def act_backward_np(y: np.ndarray, g: np.ndarray, act: int) -> np.ndarray:
    """NumPy twin of `act_backward`."""
    if act == TANH:
        return g * (1 - y * y)  # backprop through tanh
    if act == SIGMOID:
        return g * y * (1 - y)  # backprop through sigmoid
    return g * (y > 0)


# ----- small matmul ------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def _matmul_into(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """out = a @ b with loops ordered i, k, j so the inner loop runs along rows of b and out;
    four rows of b at a time, so each pass over out[i] does four multiply-adds per element."""
    m, kk = a.shape
    n = b.shape[1]
    for i in range(m):
        out_i = out[i]
        for j in range(n):
            out_i[j] = 0.0
        k = 0
        while k + 4 <= kk:
            a0, a1, a2, a3 = a[i, k], a[i, k + 1], a[i, k + 2], a[i, k + 3]
            b0, b1, b2, b3 = b[k], b[k + 1], b[k + 2], b[k + 3]
            for j in range(n):
                out_i[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j]
            k += 4
        for k in range(k, kk):
            a_ik, b_k = a[i, k], b[k]
            for j in range(n):
                out_i[j] += a_ik * b_k[j]


@njit(cache=True, error_model="numpy")
def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for 2-D a (M, K), b (K, N), as loops (for sizes below MATMUL_CROSSOVER)."""
    out = np.empty((a.shape[0], b.shape[1]), dtype=a.dtype)
    _matmul_into(a, b, out)
    return out


def matmul_np(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """NumPy twin of `matmul` (BLAS)."""
    return a @ b


def mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for 2-D operands: the loop kernel below MATMUL_CROSSOVER multiply-adds on the numba
    backend, else NumPy's BLAS."""
    if (_backend == "numba" and a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype
            and a.dtype.kind == "f"
            and a.shape[0] * a.shape[1] * b.shape[1] < MATMUL_CROSSOVER):
        return ops().matmul(np.ascontiguousarray(a), np.ascontiguousarray(b))
    return a @ b


# ----- LSTM cell step (after the matmul) ---------------------------------------------------------
@njit(cache=True, error_model="numpy")
def lstm_gates_into(z: np.ndarray, c_prev: np.ndarray, gates: np.ndarray, c: np.ndarray,
                    tanh_c: np.ndarray, h: np.ndarray, fast: bool) -> None:
    """`lstm_gates` writing into given arrays: z (B, 4H) pre-activations, row blocks i, f, g, o
    -> gates (B, 4H), c, tanh(c), h (B, H)."""
    n, h4 = z.shape
    hh = h4 // 4
    if fast:  # call-free tanh/sigmoid, in short loops over one row that LLVM vectorizes
        for b in range(n):
            z_b, g_b = z[b], gates[b]
            for j in range(2 * hh):  # i, f: sigmoid(z) = (1 + tanh(z / 2)) / 2
                g_b[j] = 0.5 + 0.5 * _tanh_fast(0.5 * z_b[j])
            for j in range(2 * hh, 3 * hh):  # g: tanh
                g_b[j] = _tanh_fast(z_b[j])
            for j in range(3 * hh, h4):  # o: sigmoid
                g_b[j] = 0.5 + 0.5 * _tanh_fast(0.5 * z_b[j])
            c_b, c_prev_b, tanh_c_b, h_b = c[b], c_prev[b], tanh_c[b], h[b]
            for j in range(hh):
                c_b[j] = g_b[hh + j] * c_prev_b[j] + g_b[j] * g_b[2 * hh + j]  # f c + i g
            for j in range(hh):
                tanh_c_b[j] = _tanh_fast(c_b[j])
            for j in range(hh):
                h_b[j] = g_b[3 * hh + j] * tanh_c_b[j]  # o tanh(c)
        return
    for b in range(n):
        for j in range(hh):
            i_g = _sigmoid(z[b, j], fast)
            f_g = _sigmoid(z[b, hh + j], fast)
            g_g = _tanh(z[b, 2 * hh + j], fast)
            o_g = _sigmoid(z[b, 3 * hh + j], fast)
            gates[b, j], gates[b, hh + j], gates[b, 2 * hh + j], gates[b, 3 * hh + j] = \
                i_g, f_g, g_g, o_g
            c_t = f_g * c_prev[b, j] + i_g * g_g
            tc = _tanh(c_t, fast)
            c[b, j], tanh_c[b, j] = c_t, tc
            h[b, j] = o_g * tc


@njit(cache=True, error_model="numpy")
def lstm_gates(z: np.ndarray, c_prev: np.ndarray, fast: bool) -> tuple:
    """The LSTM step after the matmul: from pre-activations z (B, 4H) (blocks i, f, g, o) and
    c_prev (B, H) return (gates (B, 4H) after their nonlinearities, c, tanh(c), h)."""
    n, h4 = z.shape
    gates = np.empty_like(z)
    c = np.empty((n, h4 // 4), dtype=z.dtype)
    tanh_c = np.empty_like(c)
    h = np.empty_like(c)
    lstm_gates_into(z, c_prev, gates, c, tanh_c, h, fast)
    return gates, c, tanh_c, h


def lstm_gates_into_np(z: np.ndarray, c_prev: np.ndarray, gates: np.ndarray, c: np.ndarray,
                       tanh_c: np.ndarray, h: np.ndarray, fast: bool = False) -> None:
    """NumPy twin of `lstm_gates_into`."""
    gates[...], c[...], tanh_c[...], h[...] = lstm_gates_np(z, c_prev)


def lstm_gates_np(z: np.ndarray, c_prev: np.ndarray, fast: bool = False) -> tuple:
    """NumPy twin of `lstm_gates`."""
    hh = z.shape[1] // 4
    gates = np.empty_like(z)
    gates[:, :2 * hh] = _act_np(z[:, :2 * hh], SIGMOID)
    gates[:, 2 * hh:3 * hh] = np.tanh(z[:, 2 * hh:3 * hh])
    gates[:, 3 * hh:] = _act_np(z[:, 3 * hh:], SIGMOID)
    i_g, f_g, g_g, o_g = (gates[:, k * hh:(k + 1) * hh] for k in range(4))
    c = f_g * c_prev + i_g * g_g
    tanh_c = np.tanh(c)
    return gates, c, tanh_c, o_g * tanh_c


@njit(cache=True, error_model="numpy")
def lstm_gates_backward_into(dh: np.ndarray, dc: np.ndarray, gates: np.ndarray,
                             tanh_c: np.ndarray, c_prev: np.ndarray, dz: np.ndarray,
                             dc_prev: np.ndarray) -> None:
    """`lstm_gates_backward` writing into given arrays: backward of one LSTM step to its
    pre-activations dz (B, 4H) and to c_prev (dc_prev, B x H)."""
    n, hh = dh.shape
    for b in range(n):  # short loops over one row, few arrays each: LLVM vectorizes them
        dh_b, dc_b, g_b, tc_b, dz_b, d_c = dh[b], dc[b], gates[b], tanh_c[b], dz[b], dc_prev[b]
        c_prev_b = c_prev[b]
        for j in range(hh):  # h = o tanh(c): dL/dc gains dh o (1 - tanh(c)^2)
            d_c[j] = dc_b[j] + dh_b[j] * g_b[3 * hh + j] * (1.0 - tc_b[j] * tc_b[j])
        for j in range(hh):  # o = sigmoid: dz_o = dh tanh(c) o (1 - o)
            o_g = g_b[3 * hh + j]
            dz_b[3 * hh + j] = dh_b[j] * tc_b[j] * o_g * (1.0 - o_g)
        for j in range(hh):  # c = f c_prev + i g, with i, f = sigmoid and g = tanh
            i_g, f_g, g_g = g_b[j], g_b[hh + j], g_b[2 * hh + j]
            dz_b[j] = d_c[j] * g_g * i_g * (1.0 - i_g)
            dz_b[hh + j] = d_c[j] * c_prev_b[j] * f_g * (1.0 - f_g)
            dz_b[2 * hh + j] = d_c[j] * i_g * (1.0 - g_g * g_g)
        for j in range(hh):
            d_c[j] *= g_b[hh + j]  # the cell-state highway: dc_prev = dc f


@njit(cache=True, error_model="numpy")
def lstm_gates_backward(dh: np.ndarray, dc: np.ndarray, gates: np.ndarray, tanh_c: np.ndarray,
                        c_prev: np.ndarray) -> tuple:
    """Backward of `lstm_gates`: from dL/dh and dL/dc (B, H) of the step's outputs return
    (dL/dz (B, 4H), dL/dc_prev (B, H))."""
    dz = np.empty_like(gates)
    dc_prev = np.empty_like(dh)
    lstm_gates_backward_into(dh, dc, gates, tanh_c, c_prev, dz, dc_prev)
    return dz, dc_prev


def lstm_gates_backward_into_np(dh: np.ndarray, dc: np.ndarray, gates: np.ndarray,
                                tanh_c: np.ndarray, c_prev: np.ndarray, dz: np.ndarray,
                                dc_prev: np.ndarray) -> None:
    """NumPy twin of `lstm_gates_backward_into`."""
    dz[...], dc_prev[...] = lstm_gates_backward_np(dh, dc, gates, tanh_c, c_prev)


def lstm_gates_backward_np(dh: np.ndarray, dc: np.ndarray, gates: np.ndarray,
                           tanh_c: np.ndarray, c_prev: np.ndarray) -> tuple:
    """NumPy twin of `lstm_gates_backward`."""
    hh = dh.shape[1]
    i_g, f_g, g_g, o_g = (gates[:, k * hh:(k + 1) * hh] for k in range(4))
    d_c = dc + dh * o_g * (1 - tanh_c * tanh_c)  # h = o tanh(c): through tanh
    dz = np.empty_like(gates)
    dz[:, :hh] = d_c * g_g * i_g * (1 - i_g)
    dz[:, hh:2 * hh] = d_c * c_prev * f_g * (1 - f_g)
    dz[:, 2 * hh:3 * hh] = d_c * i_g * (1 - g_g * g_g)
    dz[:, 3 * hh:] = dh * tanh_c * o_g * (1 - o_g)
    return dz, d_c * f_g


# ----- whole sequences: the time loop compiled ---------------------------------------------------
@njit(cache=True, error_model="numpy")
def rnn_sequence(p: np.ndarray, h0: np.ndarray, w_hh_t: np.ndarray, act: int,
                 fast: bool) -> np.ndarray:
    """Run h_t = act(p_t + h_{t-1} @ w_hh_t) for t = 0..T-1. p (T, B, H) holds the input
    projections x_t W_xh^T + b; h0 (B, H); w_hh_t (H, H) is W_hh transposed.
    Returns hs (T, B, H)."""
    steps, n, hh = p.shape
    hs = np.empty_like(p)
    z = np.empty((n, hh), dtype=p.dtype)
    h_prev = h0
    for t in range(steps):
        _matmul_into(h_prev, w_hh_t, z)
        h_t = hs[t]
        for b in range(n):
            for j in range(hh):
                h_t[b, j] = z[b, j] + p[t, b, j]
        act_inplace(h_t, act, fast)
        h_prev = h_t
    return hs


def rnn_sequence_np(p: np.ndarray, h0: np.ndarray, w_hh_t: np.ndarray, act: int,
                    fast: bool = False) -> np.ndarray:
    """NumPy twin of `rnn_sequence` (one BLAS product per step)."""
    hs = np.empty_like(p)
    h_prev = h0
    for t in range(p.shape[0]):
        hs[t] = _act_np(p[t] + h_prev @ w_hh_t, act)
        h_prev = hs[t]
    return hs


@njit(cache=True, error_model="numpy")
def rnn_layer_forward(x: np.ndarray, h0: np.ndarray, W: np.ndarray, b: np.ndarray, act: int,
                      fast: bool) -> np.ndarray:
    """A whole tiny RNN layer in one call: the input products x_t W_x^T + b as loops (below the
    matmul crossover a BLAS call costs more than its arithmetic), then `rnn_sequence`.
    x (T, B, I), h0 (B, H), W (H, I+H), b (H,) or (0,) for no bias; returns hs (T, B, H)."""
    steps, n, n_in = x.shape
    w_x_t = np.ascontiguousarray(W[:, :n_in].T)  # row k: how input k feeds each unit
    p = np.empty((steps, n, W.shape[0]), dtype=x.dtype)
    for t in range(steps):
        _matmul_into(x[t], w_x_t, p[t])
        if b.size:
            p[t] += b
    return rnn_sequence(p, h0, np.ascontiguousarray(W[:, n_in:].T), act, fast)


def rnn_layer_forward_np(x: np.ndarray, h0: np.ndarray, W: np.ndarray, b: np.ndarray, act: int,
                         fast: bool = False) -> np.ndarray:
    """NumPy twin of `rnn_layer_forward`: the input products for all steps at once (BLAS), then
    one BLAS product per step."""
    steps, n, n_in = x.shape
    p = (x.reshape(steps * n, n_in) @ W[:, :n_in].T).reshape(steps, n, W.shape[0])
    if b.size:
        p += b
    return rnn_sequence_np(p, h0, W[:, n_in:].T, act)


@njit(cache=True, error_model="numpy")
def rnn_sequence_backward(g: np.ndarray, hs: np.ndarray, w_hh: np.ndarray,
                          act: int) -> tuple:
    """BPTT through `rnn_sequence`. g (T, B, H) is dL/dh_t from outside the recurrence; returns
    (dz (T, B, H) gradients at the pre-activations, dh0 (B, H)). The weight gradients are then
    two big products over all steps (done by the caller)."""
    steps, n, hh = g.shape
    dz = np.empty_like(g)
    dh_next = np.zeros((n, hh), dtype=g.dtype)
    for t in range(steps - 1, -1, -1):
        dz_t = dz[t]
        for b in range(n):
            for j in range(hh):
                dz_t[b, j] = g[t, b, j] + dh_next[b, j]  # dL/dh_t: outside plus step t+1
        act_grad_inplace(hs[t], dz_t, act)  # back through the activation
        _matmul_into(dz[t], w_hh, dh_next)  # h_{t-1} fed z_t through W_hh: dh = dz W_hh
    return dz, dh_next


def rnn_sequence_backward_np(g: np.ndarray, hs: np.ndarray, w_hh: np.ndarray,
                             act: int) -> tuple:
    """NumPy twin of `rnn_sequence_backward`."""
    dz = np.empty_like(g)
    dh_next = np.zeros_like(g[0])
    for t in range(g.shape[0] - 1, -1, -1):
        dz[t] = act_backward_np(hs[t], g[t] + dh_next, act)
        dh_next = dz[t] @ w_hh  # h_{t-1} fed z_t through W_hh
    return dz, dh_next


@njit(cache=True, error_model="numpy")
def lstm_sequence(p: np.ndarray, h0: np.ndarray, c0: np.ndarray, w_hh_t: np.ndarray,
                  fast: bool) -> tuple:
    """Run an LSTM layer over a sequence. p (T, B, 4H) input projections x_t W_x^T + b; h0, c0
    (B, H); w_hh_t (H, 4H). Returns (hs, cs, tanh_cs (T, B, H), gates (T, B, 4H))."""
    steps, n, h4 = p.shape
    hh = h4 // 4
    hs = np.empty((steps, n, hh), dtype=p.dtype)
    cs = np.empty_like(hs)
    tanh_cs = np.empty_like(hs)
    gates = np.empty_like(p)
    z = np.empty((n, h4), dtype=p.dtype)
    h_prev, c_prev = h0, c0
    for t in range(steps):
        _matmul_into(h_prev, w_hh_t, z)
        z += p[t]
        lstm_gates_into(z, c_prev, gates[t], cs[t], tanh_cs[t], hs[t], fast)
        h_prev, c_prev = hs[t], cs[t]
    return hs, cs, tanh_cs, gates


def lstm_sequence_np(p: np.ndarray, h0: np.ndarray, c0: np.ndarray, w_hh_t: np.ndarray,
                     fast: bool = False) -> tuple:
    """NumPy twin of `lstm_sequence`."""
    steps, n, h4 = p.shape
    hs = np.empty((steps, n, h4 // 4), dtype=p.dtype)
    cs, tanh_cs, gates = np.empty_like(hs), np.empty_like(hs), np.empty_like(p)
    h_prev, c_prev = h0, c0
    for t in range(steps):
        gates[t], cs[t], tanh_cs[t], hs[t] = lstm_gates_np(p[t] + h_prev @ w_hh_t, c_prev)
        h_prev, c_prev = hs[t], cs[t]
    return hs, cs, tanh_cs, gates


@njit(cache=True, error_model="numpy")
def lstm_sequence_backward(g_h: np.ndarray, g_c_last: np.ndarray, cs: np.ndarray,
                           tanh_cs: np.ndarray, gates: np.ndarray, c0: np.ndarray,
                           w_hh: np.ndarray) -> tuple:
    """BPTT through `lstm_sequence`. g_h (T, B, H): dL/dh_t from outside; g_c_last (B, H):
    dL/dc_T. Returns (dz (T, B, 4H), dh0, dc0)."""
    steps, n, hh = g_h.shape
    dz = np.empty_like(gates)
    dh_next = np.zeros((n, hh), dtype=g_h.dtype)
    dc = g_c_last.copy()
    dc_prev = np.empty_like(dc)
    dh = np.empty_like(dc)
    for t in range(steps - 1, -1, -1):
        for b in range(n):
            for j in range(hh):
                dh[b, j] = g_h[t, b, j] + dh_next[b, j]
        c_prev = cs[t - 1] if t > 0 else c0
        lstm_gates_backward_into(dh, dc, gates[t], tanh_cs[t], c_prev, dz[t], dc_prev)
        dc[:] = dc_prev
        _matmul_into(dz[t], w_hh, dh_next)  # h_{t-1} fed z_t through W_hh: dh = dz W_hh
    return dz, dh_next, dc


def lstm_sequence_backward_np(g_h: np.ndarray, g_c_last: np.ndarray, cs: np.ndarray,
                              tanh_cs: np.ndarray, gates: np.ndarray, c0: np.ndarray,
                              w_hh: np.ndarray) -> tuple:
    """NumPy twin of `lstm_sequence_backward`."""
    dz = np.empty_like(gates)
    dh_next = np.zeros_like(g_h[0])
    dc = g_c_last
    for t in range(g_h.shape[0] - 1, -1, -1):
        c_prev = cs[t - 1] if t > 0 else c0
        dz[t], dc = lstm_gates_backward_np(g_h[t] + dh_next, dc, gates[t], tanh_cs[t], c_prev)
        dh_next = dz[t] @ w_hh  # h_{t-1} fed z_t through W_hh
    return dz, dh_next, dc


# ----- cross-entropy -----------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def cross_entropy_forward(logits: np.ndarray, target: np.ndarray, prob: np.ndarray) -> tuple:
    """Fill prob (N, C) with softmax(logits) row by row and return (the sum over rows of
    -log softmax(logits)[row, target[row]] as a float64, the first row whose target is outside
    [0, C) or -1). Each row is shifted by its maximum first, so large logits do not overflow."""
    n, c = logits.shape
    loss = 0.0
    for i in range(n):
        t = target[i]
        if t < 0 or t >= c:
            return loss, i
        row, p = logits[i], prob[i]
        top = row[0]
        for j in range(1, c):
            top = max(top, row[j])
        total = row[0] * 0  # in the logits' dtype
        for j in range(c):
            p[j] = np.exp(row[j] - top)
            total += p[j]
        for j in range(c):
            p[j] /= total
        loss += np.log(total) - (row[t] - top)  # -log softmax at the target
    return loss, -1


def cross_entropy_forward_np(logits: np.ndarray, target: np.ndarray, prob: np.ndarray) -> tuple:
    """NumPy twin of `cross_entropy_forward`."""
    bad = np.flatnonzero((target < 0) | (target >= logits.shape[1]))
    if bad.size:
        return 0.0, int(bad[0])
    shifted = logits - logits.max(axis=1, keepdims=True)
    np.exp(shifted, out=prob)
    total = prob.sum(axis=1, keepdims=True)
    prob /= total
    losses = np.log(total[:, 0]) - shifted[np.arange(len(target)), target]
    return float(losses.sum(dtype=np.float64)), -1


@njit(cache=True, error_model="numpy")
def cross_entropy_backward(prob: np.ndarray, target: np.ndarray, scale: float) -> np.ndarray:
    """d loss / d logits = (softmax - one_hot(target)) * scale, from the prob (N, C) that
    `cross_entropy_forward` filled (scale is the incoming gradient, divided by N for a mean)."""
    n, c = prob.shape
    d = np.empty_like(prob)
    for i in range(n):
        for j in range(c):
            d[i, j] = prob[i, j] * scale
        d[i, target[i]] -= scale  # d(-log softmax_t)/dz = softmax - 1_t
    return d


def cross_entropy_backward_np(prob: np.ndarray, target: np.ndarray, scale: float) -> np.ndarray:
    """NumPy twin of `cross_entropy_backward`."""
    d = prob * scale
    d[np.arange(len(target)), target] -= scale  # d(-log softmax_t)/dz = softmax - 1_t
    return d


# ----- the Adam update --------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def adam_update(p: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray,
                coef: np.ndarray) -> None:
    """One Adam step in place, in one pass over memory. p, g, m, v have one shape and are
    C-contiguous; coef = [1 - beta1, beta2, 1 - beta2, step_size, sqrt(1 - beta2^t), eps] in p's
    dtype, so float32 arithmetic stays float32 and the result equals `adam_update_np` bit for
    bit."""
    a1, b2, a2, step_size, root, eps = coef[0], coef[1], coef[2], coef[3], coef[4], coef[5]
    p, g, m, v = p.reshape(p.size), g.reshape(p.size), m.reshape(p.size), v.reshape(p.size)
    for i in range(p.size):
        m_i = m[i] + a1 * (g[i] - m[i])  # m = beta1 m + (1 - beta1) g
        v_i = v[i] * b2 + a2 * (g[i] * g[i])  # v = beta2 v + (1 - beta2) g^2
        m[i], v[i] = m_i, v_i
        p[i] = p[i] - step_size * (m_i / (np.sqrt(v_i) / root + eps))


def adam_update_np(p: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray,
                   coef: np.ndarray) -> None:
    """NumPy twin of `adam_update` (any shapes)."""
    a1, b2, a2, step_size, root, eps = coef
    m += a1 * (g - m)
    v *= b2
    v += a2 * (g * g)
    p -= step_size * (m / (np.sqrt(v) / root + eps))


# ----- the backend switch ------------------------------------------------------------------------
KERNEL_NAMES = ("add_act", "act_inplace", "act_backward", "act_grad_inplace", "matmul",
                "lstm_gates",
                "lstm_gates_backward", "lstm_gates_into", "lstm_gates_backward_into",
                "rnn_sequence", "rnn_layer_forward", "rnn_sequence_backward",
                "lstm_sequence",
                "lstm_sequence_backward", "cross_entropy_forward",
                "cross_entropy_backward", "adam_update")

_numpy_ops = types.SimpleNamespace(**{name: globals()[name + "_np"] for name in KERNEL_NAMES})
_numba_ops: types.SimpleNamespace | None = None


def _check_backend(name: str) -> str:
    if name not in _BACKENDS:
        raise ValueError(f"set_backend / TINYGRAD_RNN_BACKEND: backend must be one of "
                         f"{_BACKENDS}, got {name!r}")
    return name


_backend = _check_backend(os.environ.get("TINYGRAD_RNN_BACKEND", "numba").strip().lower()
                          or "numba")


def set_backend(name: str) -> None:
    """Choose the kernels: "numba" (compiled, the default) or "numpy" (the NumPy twins)."""
    global _backend
    _backend = _check_backend(name)


def get_backend() -> str:
    """The active backend: "numba" or "numpy"."""
    return _backend


def ops() -> types.SimpleNamespace:
    """The kernels of the active backend, by the names in KERNEL_NAMES."""
    global _numba_ops
    if _backend == "numpy":
        return _numpy_ops
    if _numba_ops is None:
        compiled = _compile_all()
        _numba_ops = types.SimpleNamespace(**{name: compiled[name] for name in KERNEL_NAMES})
    return _numba_ops
