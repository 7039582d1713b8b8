"""Primitive ops: one `Function` subclass each, forward and backward side by side.

`forward(ctx, *arrays)` computes the result from plain ndarrays and saves what backward needs;
`backward(ctx, grad_out)` returns one gradient per input (or None). Ops marked
`broadcasts = True` may return gradients of the broadcast shape: the engine sums them back
to each input's shape (`tensor.unbroadcast`) and checks every gradient's shape.
"""

from __future__ import annotations

import linecache
import math
import os
import sys
import weakref
from typing import Any

import numpy as np

from tinygrad_rnn.kernels.activations import (erf, relu, relu_backward, sigmoid, sigmoid_grad,
                                              tanh_grad, use_fast)
from tinygrad_rnn.kernels.core import by_size, reusable
from tinygrad_rnn.kernels.cross_entropy import log_softmax_backward, log_softmax_forward
from tinygrad_rnn.kernels.matmul import product
from tinygrad_rnn.kernels.scatter import scatter_add_rows
from tinygrad_rnn.modes import switches
from tinygrad_rnn.tensor import Scatter, Tensor, _check_finite, _norm_dims, _watch


class Function:
    """Base of every op. `Op.apply(*tensors, **options)` runs forward and records the op."""

    __slots__ = ("parents", "saved", "watched", "created_at")
    op: str = "function"  # the name graphs and errors show; defaults to the lower-case class name
    broadcasts: bool = False  # gradients may need summing back to the input shapes

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "op" not in cls.__dict__:
            cls.op = cls.__name__.lower()

    def save_for_backward(ctx, *arrays: np.ndarray) -> None:
        """Keep arrays for backward; the engine releases them after backward has used them."""
        ctx.saved = arrays

    def forward(ctx, *arrays: np.ndarray, **options: Any) -> np.ndarray:
        raise NotImplementedError

    def backward(ctx, grad_out: np.ndarray) -> tuple:
        raise NotImplementedError

    # ----- seen from outside, as PyTorch's `grad_fn` -----
    def name(ctx) -> str:
        """The node's name in PyTorch's style: "TanhBackward" for the op Tanh."""
        return f"{type(ctx).__name__}Backward"

    @property
    def next_functions(ctx) -> tuple:
        """One `(node, 0)` per input, as PyTorch's: the op that made the input, an
        `AccumulateGrad` for a leaf that requires grad, None for an input that needs none."""
        return tuple((p._ctx if p._ctx is not None else AccumulateGrad.of(p) if p.requires_grad
                      else None, 0) for p in ctx.parents)

    def __repr__(ctx) -> str:
        return f"<{ctx.name()}>"

    @classmethod
    def apply(cls, *parents: Tensor, **options: Any) -> Tensor:
        """Run forward on the parents' data and return the result as a recorded Tensor."""
        ctx = cls()
        ctx.saved = ()
        try:
            datas = [p.data for p in parents]
            out = ctx.forward(*datas, **options)
        except (ValueError, IndexError, TypeError) as e:
            shapes = ", ".join(str(p.shape) for p in parents)
            named = str(e).startswith(f"{cls.op}:")  # the op's own message already names it
            raise type(e)(f"{'' if named else cls.op + ': '}{e} (input shapes {shapes})") from None
        grad_enabled, anomaly, meta = switches()
        requires_grad = False
        if grad_enabled:
            for p in parents:
                if p.requires_grad:
                    requires_grad = True
                    break
        out = np.asarray(out)
        t = Tensor.__new__(Tensor)
        t.data, t.grad, t.name, t.tags = out, None, None, meta
        t.requires_grad = requires_grad
        t._vc, t._base, t._hooks = [0], None, None
        base = out.base
        if base is not None:  # a view of an input's memory shares that memory's version counter
            for p in parents:
                d = p.data
                if base is d or base is d.base:
                    t._vc, t._base = p._vc, p if p._base is None else p._base
                    break
        t._ctx = ctx if requires_grad else None
        if requires_grad:
            ctx.parents = parents
            for p in parents:
                p._used = True  # an in-place rebase of p would now change this op's input
            ctx.watched = _watch(ctx.saved, parents, datas, t, anomaly) if ctx.saved else ()
        if anomaly:
            ctx.created_at = _creation_site()
            _check_finite(t.data, ctx, "forward")
        return t


class AccumulateGrad:
    """The end of a path in `grad_fn.next_functions`: where backward adds into the `.grad` of
    `variable`, a leaf that requires grad (as PyTorch's node of that name; one per leaf, so a
    walk over the graph meets the same node from every op that uses the leaf)."""

    __slots__ = ("_variable", "__weakref__")
    next_functions = ()
    _of: dict[int, "AccumulateGrad"] = {}  # id(leaf) -> its node, while the leaf lives

    def __init__(self, variable: Tensor) -> None:
        self._variable = weakref.ref(variable)  # weak: the node never keeps a leaf alive

    @classmethod
    def of(cls, leaf: Tensor) -> "AccumulateGrad":
        """The one node of `leaf`."""
        node = cls._of.get(id(leaf))
        if node is None or node.variable is not leaf:
            node = cls._of[id(leaf)] = cls(leaf)
            weakref.finalize(leaf, cls._of.pop, id(leaf), None)
        return node

    @property
    def variable(self) -> Tensor | None:
        """The leaf whose `.grad` this node fills."""
        return self._variable()

    def name(self) -> str:
        """"AccumulateGrad"."""
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


_LIBRARY_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _creation_site() -> str:
    """'file:line (source)' of the innermost caller outside the library (an op made inside an
    nn module is reported at the user's line that called the module)."""
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_LIBRARY_DIR):
        frame = frame.f_back
    filename, lineno = frame.f_code.co_filename, frame.f_lineno
    return f"{filename}:{lineno} ({linecache.getline(filename, lineno).strip()})"


# ----- elementwise arithmetic ----------------------------------------------------------------
class Add(Function):
    """a + b, broadcasting."""

    __slots__ = ()
    broadcasts = True

    def forward(ctx, a, b):
        return a + b

    def backward(ctx, g):
        return g, g  # d(a+b)/da = d(a+b)/db = 1


class Sub(Function):
    """a - b, broadcasting: one node (a + (-b) would record two)."""

    __slots__ = ()
    broadcasts = True

    def forward(ctx, a, b):
        return a - b

    def backward(ctx, g):
        return g, -g  # d(a-b)/da = 1, d(a-b)/db = -1


class Mul(Function):
    """a * b, broadcasting."""

    __slots__ = ()
    broadcasts = True

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    def backward(ctx, g):
        a, b = ctx.saved
        return g * b, g * a  # product rule


class Div(Function):
    """a / b, broadcasting: its own op, so float32 1e-30 / 1e-39 is 1e9 (as a * b**-1 it
    would overflow to inf) and no gradient goes through b**-2."""

    __slots__ = ()
    broadcasts = True

    def forward(ctx, a, b):
        y = a / b
        ctx.save_for_backward(b, y)
        return y

    def backward(ctx, g):
        b, y = ctx.saved
        return g / b, -(g * y) / b  # d(a/b)/da = 1/b; d(a/b)/db = -a/b^2 = -(a/b)/b


class Neg(Function):
    """-a."""

    __slots__ = ()

    def forward(ctx, a):
        return -a

    def backward(ctx, g):
        return (-g,)


class Pow(Function):
    """x ** p for a Python-scalar exponent p."""

    __slots__ = ("exponent",)

    def forward(ctx, a, exponent):
        ctx.exponent = exponent
        ctx.save_for_backward(a)
        return a ** exponent

    def backward(ctx, g):
        (a,) = ctx.saved
        p = ctx.exponent
        if p == 0:  # x^0 is constant; p x^(p-1) would give 0 * inf = NaN at x = 0
            return (np.zeros_like(a),)
        return (g * (p * a ** (p - 1)),)  # d(x^p)/dx = p x^(p-1)


class MatMul(Function):
    """a @ b for 1-D, 2-D and batched (broadcast) operands, as np.matmul."""

    __slots__ = ()
    broadcasts = True

    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"cannot matmul a 0-d operand: {a.shape} @ {b.shape}")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(f"shapes {a.shape} @ {b.shape} do not match: inner dimensions "
                             f"{a.shape[-1]} and {b.shape[-2 if b.ndim > 1 else 0]} differ")
        ctx.save_for_backward(a, b)
        return product(a, b)

    def backward(ctx, g):
        a, b = ctx.saved
        # treat a vector as a 1-row (a) or 1-column (b) matrix, as matmul does
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if b.ndim == 1:  # (b first, so a 0-d g from vector @ vector becomes (1, 1))
            g = np.expand_dims(g, -1)
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        da = product(g, np.swapaxes(b2, -1, -2))  # dL/da = dL/dy b^T
        db = product(np.swapaxes(a2, -1, -2), g)  # dL/db = a^T dL/dy
        if a.ndim == 1:
            da = da.squeeze(-2)
        if b.ndim == 1:
            db = db.squeeze(-1)
        return da, db


# ----- nonlinearities ------------------------------------------------------------------------
class Tanh(Function):
    """tanh(a), elementwise."""

    __slots__ = ()

    def forward(ctx, a):
        y = np.tanh(a)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, g):
        (y,) = ctx.saved
        return (g * tanh_grad(y),)  # backprop through tanh: 1 - tanh^2


class Sigmoid(Function):
    """1 / (1 + exp(-a)), elementwise and without overflow."""

    __slots__ = ()

    def forward(ctx, a):
        y = sigmoid(a)  # from exp(-|a|): never overflows
        if a.dtype.kind == "f":  # (an integer input gives floats, as np.tanh does: never cast)
            y = y.astype(a.dtype, copy=False)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, g):
        (y,) = ctx.saved
        return (g * sigmoid_grad(y),)  # backprop through sigmoid: s (1 - s)


class ReLU(Function):
    """max(a, 0), elementwise."""

    __slots__ = ()

    def forward(ctx, a):
        y = relu(a)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, g):
        (y,) = ctx.saved
        return (relu_backward(y, g),)  # g where the input was positive, else 0


class Exp(Function):
    """exp(a), elementwise."""

    __slots__ = ()

    def forward(ctx, a):
        y = np.exp(a)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, g):
        (y,) = ctx.saved
        return (g * y,)  # d(e^x)/dx = e^x


class Log(Function):
    """Natural log, elementwise."""

    __slots__ = ()

    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a)

    def backward(ctx, g):
        (a,) = ctx.saved
        return (g / a,)  # d(log x)/dx = 1/x


# ----- reductions ----------------------------------------------------------------------------
def _expand_back(g: np.ndarray, shape: tuple, axis: Any, keepdims: bool) -> np.ndarray:
    """Re-insert reduced axes into g and broadcast it to `shape`."""
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    elif axis is None and not keepdims:
        g = np.reshape(g, (1,) * len(shape))
    return np.broadcast_to(g, shape)


class Sum(Function):
    """Sum over an axis (or all axes)."""

    __slots__ = ("axis", "keepdims", "in_shape")

    def forward(ctx, a, axis=None, keepdims=False):
        ctx.axis, ctx.keepdims, ctx.in_shape = _norm_dims(axis), keepdims, a.shape
        return np.sum(a, axis=ctx.axis, keepdims=keepdims)

    def backward(ctx, g):
        return (_expand_back(g, ctx.in_shape, ctx.axis, ctx.keepdims),)  # each input adds once


class Max(Function):
    """Maximum over an axis (or all axes); ties share the gradient."""

    __slots__ = ("axis", "keepdims")
    reduce = staticmethod(np.max)

    def forward(ctx, a, axis=None, keepdims=False):
        ctx.axis, ctx.keepdims = _norm_dims(axis), keepdims
        y = ctx.reduce(a, axis=ctx.axis, keepdims=True)
        ctx.save_for_backward(a, y)
        return y if keepdims else ctx.reduce(a, axis=ctx.axis)

    def backward(ctx, g):
        a, y = ctx.saved
        hit = a == y  # the maxima (ties share the gradient equally)
        g = _expand_back(g, a.shape, ctx.axis, ctx.keepdims)
        return (g * hit / hit.sum(axis=ctx.axis, keepdims=True),)


class Min(Max):
    """Minimum over an axis (or all axes); ties share the gradient. Not -max(-a): negating
    wraps unsigned ints and fails on bools."""

    __slots__ = ()
    reduce = staticmethod(np.min)


# ----- shape ---------------------------------------------------------------------------------
class Reshape(Function):
    """Same data, new shape."""

    __slots__ = ("in_shape",)

    def forward(ctx, a, shape):
        ctx.in_shape = a.shape
        return a.reshape(shape)

    def backward(ctx, g):
        return (g.reshape(ctx.in_shape),)


class Transpose(Function):
    """Permute the axes."""

    __slots__ = ("axes",)

    def forward(ctx, a, axes=None):
        n = a.ndim
        axes = tuple(range(n))[::-1] if axes is None else tuple(axes)
        if sorted(ax % n if -n <= ax < n else ax for ax in axes) != list(range(n)):
            raise ValueError(f"axes {axes} are not a permutation of the {n} axes")
        ctx.axes = tuple(ax % n for ax in axes)  # negative axes made positive for argsort
        return a.transpose(ctx.axes)

    def backward(ctx, g):
        inverse = sorted(range(len(ctx.axes)), key=ctx.axes.__getitem__)
        return (g.transpose(inverse),)  # the inverse permutation


def _plain_index(index: Any) -> Any:
    """Replace Tensors and lists inside an index by ndarrays of their own (copies: an index
    tensor or array changed in place after the forward must not change the backward)."""
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data.copy()
    if isinstance(index, (list, np.ndarray)):
        return np.array(index)
    return index


class GetItem(Function):
    """t[index]: basic slices and integer/boolean arrays; repeated indices accumulate."""

    __slots__ = ("index", "in_shape")

    def forward(ctx, a, index):
        ctx.index, ctx.in_shape = _plain_index(index), a.shape
        return a[ctx.index]

    def backward(ctx, g):
        index = ctx.index
        if _is_basic(index):  # slices and ints pick each element at most once
            return (Scatter(ctx.in_shape, index, g),)  # g there, zeros elsewhere
        k = _leading_arrays(index) if g.dtype.char in "fd" else 0
        if not k:
            grad = np.zeros(ctx.in_shape, dtype=g.dtype)
            np.add.at(grad, index, g)  # scatter-add: an element picked twice gets both
            return (grad,)
        # rows picked by integers (an embedding lookup, x[arange(N), t]): compiled, into a
        # pooled array (a fresh one costs a page fault per row x[arange(N), t] writes to)
        grad = reusable("getitem_grad", ctx.in_shape, g.dtype)
        grad.fill(0)
        if g.size:
            shape = ctx.in_shape
            # the row numbers; mode="wrap" turns a negative index into its row (forward checked)
            arrays = np.broadcast_arrays(*(index[:k] if isinstance(index, tuple) else (index,)))
            ids = np.ravel_multi_index([a.astype(np.intp, copy=False) for a in arrays],
                                       shape[:k], mode="wrap").ravel()
            rows = grad.reshape(math.prod(shape[:k]), math.prod(shape[k:]))
            by_size(scatter_add_rows, g.size)(rows, ids, g.reshape(ids.size, rows.shape[1]))
        return (grad,)


def _leading_arrays(index: Any) -> int:
    """k when `index` is k integer arrays over the leading axes and nothing after them but full
    slices (`weight[ids]`, `logp[arange(N), t]`: whole rows picked by integers), else 0."""
    parts = index if isinstance(index, tuple) else (index,)
    k = 0
    while k < len(parts) and isinstance(parts[k], np.ndarray) and parts[k].dtype.kind in "iu":
        k += 1
    if not all(isinstance(p, slice) and p == slice(None) for p in parts[k:]):
        return 0
    return k


def _is_basic(index: Any) -> bool:
    """True for an index of ints, slices, Ellipsis and None only (no arrays, no repeats)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice))
               for p in parts)


class Cat(Function):
    """Join arrays along an existing axis."""

    __slots__ = ("axis", "sizes")

    def forward(ctx, *arrays, axis=0):
        out = np.concatenate(arrays, axis=axis)  # first, so a bad axis gets NumPy's clear error
        ctx.axis, ctx.sizes = axis, [x.shape[axis] for x in arrays]
        return out

    def backward(ctx, g):
        lead, start, parts = (slice(None),) * (ctx.axis % g.ndim), 0, []
        for size in ctx.sizes:  # each input's slice of the gradient, in order
            parts.append(g[lead + (slice(start, start + size),)])
            start += size
        return tuple(parts)


class Stack(Function):
    """Join arrays along a new axis."""

    __slots__ = ("axis",)

    def forward(ctx, *arrays, axis=0):
        ctx.axis = axis
        return np.stack(arrays, axis=axis)

    def backward(ctx, g):
        return tuple(np.moveaxis(g, ctx.axis, 0))


# ----- normalisers ---------------------------------------------------------------------------
def _rows(a: np.ndarray, axis: int) -> tuple[np.ndarray, tuple]:
    """a with `axis` moved last, as a contiguous 2-D array of rows (a 0-d a is one row), and
    the shape of a with `axis` last."""
    last = np.moveaxis(a, axis, -1) if a.ndim else a.reshape(1, 1)
    shape = last.shape
    return np.ascontiguousarray(last).reshape(math.prod(shape[:-1]), shape[-1]), shape


def _unrows(rows: np.ndarray, shape: tuple, axis: int, ndim: int) -> np.ndarray:
    """The inverse of `_rows`: rows back in the shape and axis order of the original array."""
    return np.moveaxis(rows.reshape(shape), -1, axis) if ndim else rows.reshape(())


class LogSoftmax(Function):
    """x - logsumexp(x) along an axis, shifted by the max so |x| of 1e4 does not overflow; a
    row at a time (`kernels.cross_entropy.log_softmax_forward`, which also keeps the softmax
    for the backward)."""

    __slots__ = ("axis",)

    def forward(ctx, a, axis=-1):
        ctx.axis = axis
        x, shape = _rows(a, axis)
        y = reusable("log_softmax", x.shape, x.dtype)
        prob = reusable("log_softmax_prob", x.shape, x.dtype)
        if x.size:
            by_size(log_softmax_forward, x.size)(x, y, prob, use_fast(x.dtype))
        ctx.save_for_backward(prob)
        return _unrows(y, shape, axis, a.ndim)

    def backward(ctx, g):
        (prob,) = ctx.saved
        rows, shape = _rows(g, ctx.axis)
        d = reusable("log_softmax_grad", prob.shape, np.result_type(prob, rows))
        if d.size:  # J = I - softmax 1^T
            by_size(log_softmax_backward, d.size)(prob, rows, d)
        return (_unrows(d, shape, ctx.axis, g.ndim),)


class Softmax(Function):
    """exp(a) / sum(exp(a)) along an axis, shifted by the max for stability."""

    __slots__ = ("axis",)

    def forward(ctx, a, axis=-1):
        ctx.axis = axis
        e = np.exp(a - a.max(axis=axis, keepdims=True))
        y = e / e.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, g):
        (y,) = ctx.saved
        return (y * (g - (g * y).sum(axis=ctx.axis, keepdims=True)),)  # J = diag(y) - y y^T


# ----- ops of the PyTorch surface ------------------------------------------------------------
class Clone(Function):
    """A copy of a; the gradient passes unchanged."""

    __slots__ = ()

    def forward(ctx, a):
        return a.copy()

    def backward(ctx, g):
        return (g,)


class Cast(Function):
    """a converted to another float dtype; the gradient is converted back."""

    __slots__ = ("in_dtype",)

    def forward(ctx, a, dtype):
        ctx.in_dtype = a.dtype
        return a.astype(dtype)

    def backward(ctx, g):
        return (g.astype(ctx.in_dtype),)  # d(cast x)/dx = 1, in x's dtype


class Clamp(Function):
    """min(max(a, low), high); either bound may be None."""

    __slots__ = ()

    def forward(ctx, a, low=None, high=None):
        inside = np.ones(a.shape, dtype=bool)
        if low is not None:
            inside &= a >= low
        if high is not None:
            inside &= a <= high
        ctx.save_for_backward(inside)
        return np.clip(a, low, high).astype(a.dtype, copy=False)

    def backward(ctx, g):
        (inside,) = ctx.saved
        # passes where low <= a <= high (bounds included), else 0: a choice, as PyTorch's,
        # not g * inside (an inf g outside would make 0 * inf = NaN)
        return (np.where(inside, g, 0),)


class Where(Function):
    """x where the boolean condition holds, else y (broadcasting)."""

    __slots__ = ("condition",)
    broadcasts = True

    def forward(ctx, x, y, condition):
        ctx.condition = condition
        return np.where(condition, x, y)

    def backward(ctx, g):
        c = ctx.condition
        zero = np.zeros((), g.dtype)
        return np.where(c, g, zero), np.where(c, zero, g)  # each gets g where it was picked


class Expand(Function):
    """a broadcast to a larger shape (a read-only view)."""

    __slots__ = ()
    broadcasts = True  # the engine sums the gradient back to a's shape

    def forward(ctx, a, shape):
        return np.broadcast_to(a, shape)

    def backward(ctx, g):
        return (g,)


def _gather_index(index: np.ndarray, dim: int) -> tuple:
    """Full NumPy index that picks a[..., index[i, j], ...] at every position of `index`."""
    grids = list(np.ogrid[tuple(slice(n) for n in index.shape)])
    grids[dim] = index
    return tuple(grids)


class Gather(Function):
    """out[i][j] = a[index[i][j]][j] (dim 0; likewise for the other dims), as torch.gather."""

    __slots__ = ("where", "in_shape")

    def forward(ctx, a, dim, index):
        index = np.array(index)  # a copy: see _plain_index
        if index.dtype.kind not in "iu":
            raise TypeError(f"gather: index must hold integers, got dtype {index.dtype}")
        if index.ndim != a.ndim or any(i > n for d, (i, n) in enumerate(zip(index.shape, a.shape))
                                       if d != dim):
            raise ValueError(f"gather: index of shape {index.shape} does not fit input of shape "
                             f"{a.shape} along dim {dim}")
        if index.size and (index.min() < -a.shape[dim] or index.max() >= a.shape[dim]):
            raise IndexError(f"gather: an index is outside dim {dim} of length {a.shape[dim]}")
        ctx.where, ctx.in_shape = _gather_index(index, dim), a.shape
        return a[ctx.where]

    def backward(ctx, g):
        grad = np.zeros(ctx.in_shape, dtype=g.dtype)
        np.add.at(grad, ctx.where, g)  # scatter-add: an element picked twice gets both
        return (grad,)


class Abs(Function):
    """|a|, elementwise (an integer input stays integer)."""

    __slots__ = ()

    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    def backward(ctx, g):
        (a,) = ctx.saved
        sign = np.where(np.isnan(a), 0, np.sign(a))  # PyTorch's sgn: 0 at NaN, as at 0
        return (g * sign.astype(a.dtype, copy=False),)  # d|x|/dx = sign(x)


class Sign(Function):
    """-1, 0 or 1 by the sign of a (0 for NaN); its gradient is 0 everywhere (as PyTorch's)."""

    __slots__ = ()

    def forward(ctx, a):
        y = np.sign(a)
        return np.where(y != y, 0, y).astype(y.dtype, copy=False) if a.dtype.kind == "f" else y

    def backward(ctx, g):
        return (np.zeros_like(g),)  # piecewise constant


class Round(Sign):
    """a rounded to `decimals` places, halves to even (as PyTorch); gradient 0 everywhere."""

    __slots__ = ()

    def forward(ctx, a, decimals=0):
        return np.round(a, decimals)


class Log1p(Function):
    """log(1 + a), exact for tiny a."""

    __slots__ = ()

    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log1p(a)

    def backward(ctx, g):
        (a,) = ctx.saved
        return (g / (1 + a),)  # d log(1+x)/dx = 1/(1+x)


class Sin(Function):
    """sin(a)."""

    __slots__ = ()

    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.sin(a)

    def backward(ctx, g):
        (a,) = ctx.saved
        return (g * np.cos(a),)  # d sin(x)/dx = cos(x)


class Cos(Function):
    """cos(a)."""

    __slots__ = ()

    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.cos(a)

    def backward(ctx, g):
        (a,) = ctx.saved
        return (-g * np.sin(a),)  # d cos(x)/dx = -sin(x)


class CumSum(Function):
    """Running sum along an axis."""

    __slots__ = ("axis",)

    def forward(ctx, a, axis):
        ctx.axis = axis
        return np.cumsum(a, axis=axis, dtype=np.int64 if a.dtype.kind in "biu" else None)

    def backward(ctx, g):
        flip = np.flip(g, ctx.axis)  # y_j = sum_{i<=j} x_i, so dL/dx_i = sum_{j>=i} dL/dy_j
        return (np.flip(np.cumsum(flip, axis=ctx.axis), ctx.axis),)


class Norm(Function):
    """The p-norm (sum |a|^p)^(1/p) over an axis (or all axes) for a finite p (p = 2 as
    sqrt(sum a^2)); where the norm is 0 the gradient is 0, as PyTorch's."""

    __slots__ = ("p", "axis", "keepdims")

    def forward(ctx, a, p, axis=None, keepdims=False):
        ctx.p, ctx.axis, ctx.keepdims = p, _norm_dims(axis), keepdims
        if p == 2:
            y = np.sqrt(np.sum(a * a, axis=ctx.axis, keepdims=keepdims))
        else:
            y = np.sum(np.abs(a) ** p, axis=ctx.axis, keepdims=keepdims) ** (1 / p)
        ctx.save_for_backward(a, y)
        return y

    def backward(ctx, g):
        a, y = ctx.saved
        p, shape = ctx.p, a.shape
        y = _expand_back(y, shape, ctx.axis, ctx.keepdims)
        g = _expand_back(g, shape, ctx.axis, ctx.keepdims)
        with np.errstate(divide="ignore", invalid="ignore"):
            # d||x||_p/dx = x |x|^(p-2) / ||x||^(p-1)
            d = a / y if p == 2 else a * np.abs(a) ** (p - 2) / y ** (p - 1)
        # 0 where the norm is 0, and (p < 2: 0 * inf) where the element is 0, as PyTorch
        return (g * np.where((y == 0) | (a == 0), 0, d).astype(a.dtype, copy=False),)


def _no_integer_zero(b: np.ndarray, op: str) -> None:
    if b.dtype.kind in "biu" and not np.all(b):
        raise ZeroDivisionError(f"{op}: integer division by zero (as PyTorch, which raises)")


class Remainder(Function):
    """a mod b with the sign of b (Python's %, as torch.remainder), broadcasting."""

    __slots__ = ()
    broadcasts = True

    def forward(ctx, a, b):
        _no_integer_zero(b, "remainder")
        ctx.save_for_backward(a, b)
        return np.remainder(a, b)

    def backward(ctx, g):
        a, b = ctx.saved
        return g, -g * np.floor_divide(a, b)  # a mod b = a - b floor(a / b)


class FloorDivide(Function):
    """floor(a / b) (Python's //), broadcasting. Like PyTorch it has no derivative: backward
    through it raises."""

    __slots__ = ()
    op = "floor_divide"
    broadcasts = True

    def forward(ctx, a, b):
        _no_integer_zero(b, "floor_divide")
        return np.floor_divide(a, b)

    def backward(ctx, g):
        raise RuntimeError("floor_divide: the derivative of a // b is not implemented (as in "
                           "PyTorch); detach() the operands, or use a / b")


class Einsum(Function):
    """np.einsum(equation, *operands) without '...'; the gradient of each operand is the einsum
    of the output's gradient with the other operands, broadcast over the letters only that
    operand has (written into the diagonal for a repeated letter, as in a trace)."""

    __slots__ = ("inputs", "output")

    def forward(ctx, *arrays, equation):
        eq = equation.replace(" ", "")
        if "." in eq:
            raise ValueError(f"einsum: '...' is not supported (name every dim), got {equation!r}")
        lhs, arrow, rhs = eq.partition("->")
        ctx.inputs = lhs.split(",")
        if len(ctx.inputs) != len(arrays):
            raise ValueError(f"einsum: the equation {equation!r} has {len(ctx.inputs)} operands, "
                             f"{len(arrays)} were given")
        # implicit output: the letters used once, in alphabetical order (as NumPy and PyTorch)
        ctx.output = rhs if arrow else "".join(sorted(c for c in set(lhs) - {","}
                                                      if lhs.count(c) == 1))
        out = np.einsum(f"{lhs}->{ctx.output}", *arrays)
        ctx.save_for_backward(*arrays)
        return out

    def backward(ctx, g):
        arrays, grads = ctx.saved, []
        for i, (spec, a) in enumerate(zip(ctx.inputs, arrays)):
            specs = [ctx.output] + [s for j, s in enumerate(ctx.inputs) if j != i]
            others = [x for j, x in enumerate(arrays) if j != i]
            letters = "".join(dict.fromkeys(spec))  # each letter once, in order
            keep = "".join(c for c in letters if any(c in s for s in specs))
            gi = np.einsum(f"{','.join(specs)}->{keep}", g, *others)  # d out / d a, contracted
            size = dict(zip(spec, a.shape))
            gi = gi.reshape([gi.shape[keep.index(c)] if c in keep else 1 for c in letters])
            wide = tuple(k for k, c in enumerate(letters) if size[c] == 1 and gi.shape[k] != 1)
            gi = np.broadcast_to(gi.sum(axis=wide, keepdims=True) if wide else gi,
                                 [size[c] for c in letters])
            if len(letters) < len(spec):  # a repeated letter: only the diagonal was read
                full = np.zeros(a.shape, dtype=g.dtype)
                np.einsum(f"{spec}->{letters}", full)[...] = gi  # a writeable diagonal view
                gi = full
            grads.append(gi)
        return tuple(grads)


class LogSumExp(Function):
    """log(sum(exp(a))) over an axis (or axes), shifted by the maximum so that it never
    overflows; a row of -inf gives -inf and a +inf gives +inf (as PyTorch)."""

    __slots__ = ("axis", "keepdims")

    def forward(ctx, a, axis, keepdims=False):
        ctx.axis, ctx.keepdims = _norm_dims(axis), keepdims
        m = np.max(a, axis=ctx.axis, keepdims=True, initial=-np.inf)  # -inf for an empty row
        m = np.where(np.isfinite(m), m, 0).astype(a.dtype, copy=False)  # no inf - inf
        with np.errstate(divide="ignore"):
            y = np.log(np.sum(np.exp(a - m), axis=ctx.axis, keepdims=True)) + m
        ctx.save_for_backward(a, y)
        return y if keepdims else np.squeeze(y, axis=ctx.axis)

    def backward(ctx, g):
        a, y = ctx.saved
        g = _expand_back(g, a.shape, ctx.axis, ctx.keepdims)
        with np.errstate(invalid="ignore"):
            return (g * np.exp(a - y),)  # d logsumexp / dx = softmax(x) (NaN for inf rows)


class Maximum(Function):
    """The elementwise larger of a and b, broadcasting; NaN wins. At ties each gets half the
    gradient (as PyTorch)."""

    __slots__ = ()
    broadcasts = True
    pick = staticmethod(np.maximum)

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.pick(a, b)

    def backward(ctx, g):
        a, b = ctx.saved
        g = np.where(a == b, g / 2, g).astype(g.dtype, copy=False)  # a tie: half each
        zero = g.dtype.type(0)
        a_lost = a < b if ctx.pick is np.maximum else a > b
        b_lost = a > b if ctx.pick is np.maximum else a < b
        return np.where(a_lost, zero, g), np.where(b_lost, zero, g)  # NaN: both get g


class Minimum(Maximum):
    """The elementwise smaller of a and b, broadcasting; NaN wins; ties share the gradient."""

    __slots__ = ()
    pick = staticmethod(np.minimum)


class TensorPow(Function):
    """a ** b for a tensor exponent b, broadcasting; differentiable in both."""

    __slots__ = ()
    op = "pow"
    broadcasts = True

    def forward(ctx, a, b):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            y = np.power(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    def backward(ctx, g):
        a, b, y = ctx.saved
        zero = g.dtype.type(0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ga = g * (b * a ** (b - 1))  # d(a^b)/da = b a^(b-1) ...
            gb = g * (y * np.log(a))  # d(a^b)/db = a^b log a ...
        # ... 0 where b = 0, and 0 at a = 0 for b >= 0 (as PyTorch: not 0 * inf = NaN)
        return np.where(b == 0, zero, ga), np.where((a == 0) & (b >= 0), zero, gb)


class CumProd(Function):
    """Running product along an axis; its gradient is exact where inputs are 0 (no division
    by the input)."""

    __slots__ = ("axis",)

    def forward(ctx, a, axis):
        ctx.axis = axis
        y = np.cumprod(a, axis=axis, dtype=np.int64 if a.dtype.kind in "biu" else None)
        ctx.save_for_backward(a, y)
        return y

    def backward(ctx, g):
        a, y = ctx.saved
        a, y, g = (np.moveaxis(v, ctx.axis, -1) for v in (a, y, g))
        # dL/dx_i = P_i S_i with P_i = prod_{k<i} x_k and S_i = sum_{j>=i} g_j prod_{i<k<=j} x_k,
        # so S_i = g_i + x_{i+1} S_{i+1}, run from the end
        s = np.empty_like(g)
        n = g.shape[-1]
        if n:
            s[..., n - 1] = g[..., n - 1]
        for i in range(n - 2, -1, -1):
            s[..., i] = g[..., i] + a[..., i + 1] * s[..., i + 1]
        p = np.concatenate([np.ones_like(y[..., :1]), y[..., :-1]], axis=-1)
        return (np.moveaxis(p * s, -1, ctx.axis),)


class SetItem(Function):
    """A copy of `a` with `a[index] = value`: the gradient of the overwritten part goes to
    value, the rest to a."""

    __slots__ = ("index", "value_shape")
    broadcasts = True  # value may have been broadcast into a[index]

    def forward(ctx, a, value, index):
        ctx.index = _plain_index(index)
        out = a.copy()
        ctx.value_shape = assign(out, ctx.index, value)
        return out

    def backward(ctx, g):
        ga = g.copy()
        ga[ctx.index] = 0  # overwritten: no gradient to the old values
        gv = g[ctx.index]
        if ctx.value_shape is not None:  # one element that went in as a scalar
            gv = np.reshape(gv, ctx.value_shape)
        return ga, gv


def assign(out: np.ndarray, index: Any, value: Any) -> tuple | None:
    """out[index] = value, as PyTorch assigns: a one-element value of any shape also fills a
    single element (d2l's `preds[i] = net(x)` with net(x) of shape (1, 1)), which NumPy
    refuses. Returns the value's shape when it went in so (its gradient is reshaped back)."""
    try:
        out[index] = value
        return None
    except ValueError:
        if np.ndim(value) == 0 or np.size(value) != 1:
            raise
        out[index] = np.reshape(value, ())
        return np.shape(value)


# ----- losses and activations ----------------------------------------------------------------
def _sigmoid_of(a: np.ndarray) -> np.ndarray:
    """sigmoid(a) in a's dtype, from exp(-|a|): never overflows."""
    return sigmoid(a).astype(a.dtype, copy=False)


def _log_sigmoid(a: np.ndarray) -> np.ndarray:
    """log(sigmoid(a)) = min(a, 0) - log(1 + exp(-|a|)): finite for any finite a (softplus(z)
    is -log_sigmoid(-z))."""
    return np.minimum(a, 0) - np.log1p(np.exp(-np.abs(a)))


class LogSigmoid(Function):
    """log(sigmoid(a)), finite for any finite a (`_log_sigmoid`)."""

    __slots__ = ()
    op = "logsigmoid"

    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _log_sigmoid(a)

    def backward(ctx, g):
        (a,) = ctx.saved
        return (g * _sigmoid_of(-a),)  # d log(sigmoid(a))/da = 1 - sigmoid(a) = sigmoid(-a)


class Softplus(Function):
    """log(1 + exp(beta a)) / beta, and a itself where beta a > threshold (as PyTorch);
    computed as -log_sigmoid(-z) with z = beta a, so it never overflows."""

    __slots__ = ("beta", "threshold")

    def forward(ctx, a, beta=1.0, threshold=20.0):
        z = a * a.dtype.type(beta)
        ctx.beta, ctx.threshold = beta, threshold
        ctx.save_for_backward(z)
        soft = -_log_sigmoid(-z) / a.dtype.type(beta)
        return np.where(z > threshold, a, soft)

    def backward(ctx, g):
        (z,) = ctx.saved
        return (g * np.where(z > ctx.threshold, 1, _sigmoid_of(z)),)  # d softplus = sigmoid(z)


class BinaryCrossEntropy(Function):
    """-(y log p + (1 - y) log(1 - p)), elementwise, each log clamped at -100 (as PyTorch, so
    p = 0 or 1 gives a finite loss); the gradients are PyTorch's."""

    __slots__ = ()
    op = "binary_cross_entropy"

    def forward(ctx, p, y):
        with np.errstate(divide="ignore"):
            log_p, log_q = np.log(p), np.log1p(-p)
        ctx.save_for_backward(p, y, log_p, log_q)
        return -(y * np.maximum(log_p, -100) + (1 - y) * np.maximum(log_q, -100))

    def backward(ctx, g):
        p, y, log_p, log_q = ctx.saved
        eps = p.dtype.type(np.float32(1e-12))  # PyTorch's EPSILON is a float32 constant
        gp = g * (p - y) / np.maximum(p * (1 - p), eps)  # d/dp, its denominator kept >= 1e-12
        with np.errstate(invalid="ignore"):  # (p = 0 or 1: an infinite d/dy, as PyTorch's)
            gy = g * (log_q - log_p)  # d/dy = log(1 - p) - log(p), unclamped (as PyTorch)
        return gp, gy


class BCEWithLogits(Function):
    """Binary cross-entropy of logits x at targets y, positive term weighted by pw:
    (1 - y) x - w log s(x) with w = 1 + (pw - 1) y (s the sigmoid; as PyTorch's forward). One
    node so that d/dx is w s(x) - pw y as PyTorch computes it: exact for saturated logits
    (s(x) itself for y = 0), where the sum of the two terms' gradients would cancel to 0."""

    __slots__ = ()
    op = "binary_cross_entropy_with_logits"
    broadcasts = True

    def forward(ctx, x, y, pw):
        log_s = _log_sigmoid(x)
        w = 1 + (pw - 1) * y
        ctx.save_for_backward(x, y, pw, w, log_s)
        return (1 - y) * x - w * log_s

    def backward(ctx, g):
        x, y, pw, w, log_s = ctx.saved
        dx = g * (w * _sigmoid_of(x) - pw * y)  # d/dx: -w (1 - s) + (1 - y)
        dy = g * (-x - (pw - 1) * log_s)  # d/dy
        dpw = g * (-y * log_s)  # d/dpw
        return dx, dy, dpw


def _erf(x: np.ndarray) -> np.ndarray:
    """The error function elementwise (a kernel: NumPy has none)."""
    return erf(np.ascontiguousarray(x).reshape(-1)).reshape(x.shape)


class GELU(Function):
    """x Phi(x), Phi the standard normal CDF; approximate="tanh" uses PyTorch's tanh form
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    __slots__ = ("approximate",)
    op = "gelu"

    def forward(ctx, a, approximate="none"):
        ctx.approximate = approximate
        ctx.save_for_backward(a)
        if approximate == "tanh":
            with np.errstate(over="ignore"):
                return 0.5 * a * (1 + np.tanh(_K0 * (a + 0.044715 * a ** 3)))
        return 0.5 * a * (1 + _erf(a * a.dtype.type(0.5 ** 0.5)))

    def backward(ctx, g):
        (a,) = ctx.saved
        if ctx.approximate == "tanh":
            with np.errstate(over="ignore"):
                t = np.tanh(_K0 * (a + 0.044715 * a ** 3))
                dinner = _K0 * (1 + 3 * 0.044715 * a * a)
            return (g * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * dinner),)  # product rule
        cdf = 0.5 * (1 + _erf(a * a.dtype.type(0.5 ** 0.5)))
        pdf = np.exp(-0.5 * a * a) * a.dtype.type((2 * math.pi) ** -0.5)
        return (g * (cdf + a * pdf),)  # d(x Phi(x))/dx = Phi(x) + x phi(x)


_K0 = (2 / math.pi) ** 0.5
