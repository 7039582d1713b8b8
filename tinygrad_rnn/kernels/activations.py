"""The activations and their derivatives, written once.

`sigmoid`, `tanh_grad`, `sigmoid_grad`, `relu` are formulas: the per-op engine (tinygrad_rnn
.function), the NumPy twins and the compiled kernels all call these same lines (on arrays from
Python, on scalars inside compiled loops). Derivatives are written with the output y = act(z),
which is what backward keeps.

For float32 the compiled loops use call-free versions (`tanh_fast`, `sigmoid_fast`; see
`use_fast`): glibc's scalar tanhf/expf are several times slower than NumPy's SIMD loops and, being
calls, stop LLVM from vectorizing. They are accurate over the whole input range: tanh to 5e-8
absolute, sigmoid to 1e-9 relative down to its float32 underflow (so a saturated gate's gradient
s (1 - s) is as small as the exact one; the tests sweep every float32 magnitude).
"""

from __future__ import annotations

import math

import numpy as np

from tinygrad_rnn.kernels.core import formula, kernel

TANH, SIGMOID, RELU = 0, 1, 2  # activation codes the kernels take (ints compile well)
ACTIVATIONS = {"tanh": TANH, "sigmoid": SIGMOID, "relu": RELU}


def use_fast(dtype: np.dtype) -> bool:
    """Whether compiled kernels on arrays of `dtype` use the call-free tanh/sigmoid (float32 only;
    float64 keeps the library functions, so the fused path matches the per-op path to 1e-12)."""
    return dtype == np.float32


# ----- exact: on arrays (Python) or scalars (compiled) --------------------------------------------
@formula
def sigmoid(z):
    """Logistic sigmoid 1 / (1 + exp(-z)) from e = exp(-|z|), so it never overflows: 1/(1+e)
    for z >= 0, e/(1+e) for z < 0 (one exp and one division; few array passes, since a
    hand-written cell loop calls it on small arrays)."""
    e = np.exp(-np.abs(z))
    return (e * (z < 0) + (z >= 0)) / (1 + e)  # numerator: e where z < 0, else 1


@formula
def relu(z):
    """max(z, 0)."""
    return np.maximum(z, 0)


@formula
def tanh_grad(y):
    """d tanh / dz written with y = tanh(z): 1 - y^2."""
    return 1 - y * y


@formula
def sigmoid_grad(y):
    """d sigmoid / dz written with y = sigmoid(z): y (1 - y)."""
    return y * (1 - y)


def relu_backward(y, g):
    """The gradient g through relu, written with y = relu(z): g where y > 0, 0 where y <= 0,
    as a choice, not g * (y > 0): an inf or NaN g stays out of the units relu switched off
    (0 * inf is NaN), and g passes where y is NaN, as in PyTorch's threshold_backward."""
    return np.where(y <= 0, 0, g)


# ----- call-free, for compiled float32 loops (scalars) -------------------------------------------
@formula(contract=True)
def tanh_fast(x):
    """tanh without a library call: Lambert's continued fraction
    tanh(u) = u / (1 + u^2 / (3 + u^2 / (5 + ... / 13))) at u = x/2, kept as one fraction n/m,
    then the doubling formula tanh(x) = 2t / (1 + t^2): one division per value.
    Absolute error below 5e-8 for every x (under one float32 ulp near 1); NaN stays NaN."""
    x = float(x)  # in float64
    x = -9.0 if x < -9.0 else (9.0 if x > 9.0 else x)  # tanh(9) = 1 - 3e-8: flat beyond
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


@formula(contract=True)
def exp_fast(x):
    """exp(x) for x <= 0 without a library call, to 1e-9 relative: exp(x) = (exp(x / 1024))^1024,
    the inner one by its Taylor polynomial of degree 7 (|x / 1024| <= 0.1), then ten squarings.
    x is clamped at -104, where the float32 result is 0 anyway; NaN stays NaN."""
    y = float(x)
    y = (-104.0 if y < -104.0 else y) * (1.0 / 1024.0)
    p = 1.0 + y * (1.0 + y * (1.0 / 2.0 + y * (1.0 / 6.0 + y * (1.0 / 24.0 + y * (
        1.0 / 120.0 + y * (1.0 / 720.0 + y * (1.0 / 5040.0)))))))
    for _ in range(10):
        p = p * p
    return p


@formula(contract=True)
def sigmoid_fast(z):
    """Logistic sigmoid without a library call: e = exp(-|z|) (exp_fast), then 1/(1+e) or
    e/(1+e); relative error 1e-9 at every z (the tail keeps its tiny values: no floor)."""
    z = float(z)
    e = exp_fast(-abs(z))
    return (e if z < 0.0 else 1.0) / (1.0 + e)


@formula
def act(z, code, fast):
    """One activation value (scalar): tanh (0), sigmoid (1) or relu (2); fast: call-free."""
    if code == 0:
        return tanh_fast(z) if fast else np.tanh(z)
    if code == 1:
        return sigmoid_fast(z) if fast else sigmoid(z)
    return relu(z)


# ----- in place over 2-D arrays ------------------------------------------------------------------
@kernel
def act_inplace(z, code, fast):
    """z = act(z) in place for a 2-D z. The branches sit outside the loops, so that each loop has
    a straight-line body that LLVM vectorizes."""
    n, h = z.shape
    if fast and code == 0:
        for i in range(n):
            for j in range(h):
                z[i, j] = tanh_fast(z[i, j])
    elif fast and code == 1:
        for i in range(n):
            for j in range(h):
                z[i, j] = sigmoid_fast(z[i, j])
    else:
        for i in range(n):
            for j in range(h):
                z[i, j] = act(z[i, j], code, False)


@act_inplace.numpy
def act_inplace(z, code, fast=False):
    """NumPy twin (always exact)."""
    z[...] = (np.tanh, sigmoid, relu)[code](z)


@kernel
def act_grad_inplace(y, g, code):
    """g *= act'(z) written with y = act(z), for 2-D y and g (relu: g = 0 where y <= 0, see
    `relu_backward`); the branch outside the loops."""
    n, h = y.shape
    if code == 0:
        for i in range(n):
            for j in range(h):
                g[i, j] *= tanh_grad(y[i, j])  # backprop through tanh
    elif code == 1:
        for i in range(n):
            for j in range(h):
                g[i, j] *= sigmoid_grad(y[i, j])  # backprop through sigmoid
    else:
        for i in range(n):
            for j in range(h):
                if y[i, j] <= 0:  # relu: a choice, not a product (see relu_backward)
                    g[i, j] = 0.0


@act_grad_inplace.numpy
def act_grad_inplace(y, g, code):
    """NumPy twin."""
    if code == RELU:
        g[y <= 0] = 0  # relu: a choice, not a product (see relu_backward)
    else:
        g *= (tanh_grad, sigmoid_grad)[code](y)


# ----- the error function, for GELU --------------------------------------------------------------
@kernel
def erf(x):
    """erf of each value of a 1-D array, into a new array (NumPy has no erf; GELU's
    Phi(x) = (1 + erf(x / sqrt(2))) / 2)."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = math.erf(float(x[i]))  # in float64, as the twin: the same rounding
    return out


@erf.numpy
def erf(x):
    """NumPy twin: Python's math.erf value by value."""
    return np.array([math.erf(v) for v in x.tolist()], dtype=x.dtype)
