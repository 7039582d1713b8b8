"""The Tensor: an ndarray that remembers how it was made, and reverse mode over that record.

Every op result keeps the `Function` that made it (`t._ctx`), and that function keeps its
parent tensors in order. `backward()` walks the recorded graph in an iterative topological
order (no recursion, so a 100,000-op chain works), hands each op the gradient of its output,
and adds what comes back into the parents' gradients.
"""

from __future__ import annotations

import sys
from typing import Any, Iterator, Sequence

import numpy as np

# the engine's switches live in modes.py; imported here too so old imports keep working
from tinygrad_rnn.modes import (annotate, detect_anomaly, enable_grad,  # noqa: F401
                                is_anomaly_enabled, is_grad_enabled, no_grad, set_grad_enabled,
                                switches)


def _as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Turn user data into an ndarray: float input becomes float32 unless it is already an
    ndarray (or NumPy scalar) of float64."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    keep = isinstance(data, (np.ndarray, np.generic))
    arr = np.asarray(data)
    if arr.dtype.kind == "f":
        if not (keep and arr.dtype in (np.float32, np.float64)):
            arr = arr.astype(np.float32)
    elif arr.dtype.kind not in "biu":
        raise TypeError(f"Tensor: cannot hold data of dtype {arr.dtype}")
    return arr


class Tensor:
    """An n-dimensional array that records the ops applied to it, for reverse-mode autodiff.

    >>> W = Tensor([[1.0, 2.0]], requires_grad=True)
    >>> (W * W).sum().backward()
    >>> W.grad
    array([[2., 4.]], dtype=float32)
    """

    __slots__ = ("data", "grad", "requires_grad", "name", "tags", "_ctx", "__weakref__")
    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__
    __hash__ = object.__hash__  # hash by identity even though == compares values

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        self.data: np.ndarray = _as_array(data, dtype)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"Tensor: only floating-point tensors can require grad, "
                            f"got dtype {self.data.dtype}")
        self.grad: np.ndarray | None = None
        self.requires_grad: bool = bool(requires_grad)
        self.name: str | None = name
        # facts the library records for viz, e.g. {"step": 3, "cell": "RNNCell", "role": "state"}
        # (see nn/cells.py); never mutated in place: a tensor gets a new dict or a shared one
        self.tags: dict | None = None
        self._ctx = None  # the Function that made this tensor (None for leaves)

    # ----- what a tensor is -------------------------------------------------------------
    shape = property(lambda self: self.data.shape, doc="Shape of the data (a tuple).")
    dtype = property(lambda self: self.data.dtype, doc="NumPy dtype of the data.")
    ndim = property(lambda self: self.data.ndim, doc="Number of dimensions.")
    size = property(lambda self: self.data.size, doc="Number of elements.")

    @property
    def op(self) -> str | None:
        """Name of the op that made this tensor, or None for a leaf."""
        return self._ctx.op if self._ctx is not None else None

    @property
    def parents(self) -> tuple:
        """The op's inputs, in order (a tensor used twice appears twice); () for a leaf."""
        return self._ctx.parents if self._ctx is not None else ()

    @property
    def is_leaf(self) -> bool:
        """True when no recorded op made this tensor."""
        return self._ctx is None

    def __repr__(self) -> str:
        parts = [f"shape={self.shape}", f"dtype={self.dtype}"]
        if self.name:
            parts.insert(0, f"name={self.name!r}")
        if self.op:
            parts.append(f"op={self.op}")
        parts.append(f"requires_grad={self.requires_grad}")
        body = np.array2string(self.data, precision=4, threshold=20, separator=", ")
        return f"Tensor({body}, {', '.join(parts)})"

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d Tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator["Tensor"]:
        # explicit, so a 0-d tensor raises instead of iterating as empty via __getitem__
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d Tensor")
        return (self[i] for i in range(self.shape[0]))

    def __bool__(self) -> bool:
        # without this, Python would fall back to len(): Tensor([0.0]) would be True
        if self.data.size != 1:
            raise ValueError(f"bool: the truth value of a tensor of shape {self.shape} with "
                             f"{self.data.size} elements is ambiguous")
        return bool(self.data)

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's data, cut from the graph (no grad flows back).
        It keeps the name and the tags, marked `cut` (viz draws a truncated-BPTT boundary)."""
        cut = Tensor(self.data, name=self.name)
        if self.tags:
            cut.tags = {**self.tags, "cut": True}
        return cut

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied)."""
        return self.data

    def item(self) -> float | int:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: tensor of shape {self.shape} has {self.data.size} elements, "
                             "expected 1")
        return self.data.item()

    def zero_grad(self) -> None:
        """Forget the accumulated gradient."""
        self.grad = None

    # ----- reverse mode -----------------------------------------------------------------
    def backward(self, grad: Any = None, retain_graph: bool = False,
                 retain_grad: bool = False) -> None:
        """Backpropagate from this tensor: add d(self)/d(leaf) * grad into every leaf's `.grad`.

        grad: the gradient of the final objective with respect to this tensor; may be omitted
            only when this tensor holds one element (it is then 1).
        retain_graph: keep the arrays ops saved for backward, so backward can run again.
        retain_grad: also store `.grad` on every intermediate tensor (for inspection and
            `viz` gradient pictures); off by default because it keeps memory alive.
        """
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad (no input to it "
                               "has requires_grad=True, or it was made under no_grad())")
        grad = _seed_grad(self, grad, "backward: grad")
        _propagate({self: grad}, retain_graph, retain_grad)

    # ----- arithmetic (ops live in function.py) ----------------------------------------
    def _lift(self, other: Any) -> "Tensor":
        """Wrap a Python number or array so it can meet this tensor in a binary op."""
        if isinstance(other, Tensor):
            return other
        arr = np.asarray(other)
        if self.data.dtype.kind == "f" and arr.dtype.kind in "biuf":
            arr = arr.astype(self.data.dtype)  # a float64 graph stays float64
        return Tensor(arr)

    def __add__(self, other): return F.Add.apply(self, self._lift(other))
    def __radd__(self, other): return F.Add.apply(self._lift(other), self)
    def __mul__(self, other): return F.Mul.apply(self, self._lift(other))
    def __rmul__(self, other): return F.Mul.apply(self._lift(other), self)
    def __neg__(self): return F.Neg.apply(self)
    def __sub__(self, other): return self + (-self._lift(other))
    def __rsub__(self, other): return self._lift(other) + (-self)
    def __truediv__(self, other):
        if isinstance(other, Tensor):
            return self * other ** -1.0
        return self * self._lift(1.0 / np.asarray(other, dtype=np.float64))
    def __rtruediv__(self, other): return self._lift(other) * self ** -1.0
    def __matmul__(self, other): return F.MatMul.apply(self, self._lift(other))
    def __rmatmul__(self, other): return F.MatMul.apply(self._lift(other), self)

    def __pow__(self, exponent: float) -> "Tensor":
        if isinstance(exponent, Tensor) or np.ndim(exponent) != 0:
            raise TypeError("pow: the exponent must be a Python scalar, not "
                            f"{type(exponent).__name__}")
        return F.Pow.apply(self, exponent=float(exponent))

    # comparisons give plain boolean arrays: they are not differentiable
    def __lt__(self, other): return self.data < _data(other)
    def __le__(self, other): return self.data <= _data(other)
    def __gt__(self, other): return self.data > _data(other)
    def __ge__(self, other): return self.data >= _data(other)
    def __eq__(self, other): return self.data == _data(other)  # type: ignore[override]
    def __ne__(self, other): return self.data != _data(other)  # type: ignore[override]

    # ----- elementwise -----------------------------------------------------------------
    def tanh(self) -> "Tensor":
        """Hyperbolic tangent."""
        return F.Tanh.apply(self)

    def sigmoid(self) -> "Tensor":
        """Logistic sigmoid 1 / (1 + exp(-x)), without overflow for large |x|."""
        return F.Sigmoid.apply(self)

    def relu(self) -> "Tensor":
        """max(x, 0)."""
        return F.ReLU.apply(self)

    def exp(self) -> "Tensor":
        """Elementwise e**x."""
        return F.Exp.apply(self)

    def log(self) -> "Tensor":
        """Natural logarithm."""
        return F.Log.apply(self)

    # ----- reductions ------------------------------------------------------------------
    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> "Tensor":
        """Sum over `axis` (all axes when None)."""
        return F.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> "Tensor":
        """Mean over `axis` (all axes when None)."""
        total = self.sum(axis=axis, keepdims=keepdims)
        if self.data.size == 0:  # the mean of nothing is NaN (as in NumPy and PyTorch), not 0
            return total * np.nan
        return total * (total.data.size / self.data.size)  # 1/n as a constant

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> "Tensor":
        """Maximum over `axis`; the gradient is shared equally between tied maxima."""
        return F.Max.apply(self, axis=axis, keepdims=keepdims)

    # ----- shape -----------------------------------------------------------------------
    def reshape(self, *shape: int) -> "Tensor":
        """Same data, new shape (one entry may be -1)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return F.Reshape.apply(self, shape=shape)

    def transpose(self, *axes: int) -> "Tensor":
        """Permute axes (reverse them when none are given)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return F.Transpose.apply(self, axes=axes or None)

    @property
    def T(self) -> "Tensor":
        """All axes reversed."""
        return self.transpose()

    def __getitem__(self, index: Any) -> "Tensor":
        return F.GetItem.apply(self, index=index)

    def split(self, sizes_or_n: int | Sequence[int], axis: int = 0) -> tuple["Tensor", ...]:
        """Split along `axis`: an int n gives n equal parts (NumPy's meaning, not PyTorch's
        chunk size); a list gives parts of those sizes."""
        if not -self.ndim <= axis < self.ndim:
            raise ValueError(f"split: axis {axis} is out of range for shape {self.shape}")
        length = self.shape[axis]
        if isinstance(sizes_or_n, (int, np.integer)):
            n = int(sizes_or_n)
            if n <= 0 or length % n:
                raise ValueError(f"split: cannot cut axis {axis} of length {length} into "
                                 f"{n} equal parts (shape {self.shape})")
            sizes = [length // n] * n
        else:
            sizes = [int(s) for s in sizes_or_n]
            if sum(sizes) != length or min(sizes, default=0) < 0:
                raise ValueError(f"split: sizes {sizes} do not add up to {length}, the length "
                                 f"of axis {axis} (shape {self.shape})")
        axis = axis % self.ndim
        parts, start = [], 0
        for size in sizes:
            index = (slice(None),) * axis + (slice(start, start + size),)
            parts.append(self[index])
            start += size
        return tuple(parts)


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def cat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    return F.Cat.apply(*_tensors(tensors, "cat"), axis=axis)


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    return F.Stack.apply(*_tensors(tensors, "stack"), axis=axis)


def _tensors(tensors: Sequence[Tensor], fn: str) -> list[Tensor]:
    """The sequence given to cat/stack as a list, or a TypeError naming the first non-Tensor."""
    tensors = list(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}: element {i} is a {type(t).__name__}, not a Tensor "
                            "(wrap arrays in Tensor(...))")
    return tensors


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum a gradient back to `shape`, undoing NumPy broadcasting (the one place it is done)."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    kept_ones = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if kept_ones:
        grad = grad.sum(axis=kept_ones, keepdims=True)
    return grad


def topological_order(roots: Tensor | Sequence[Tensor]) -> list[Tensor]:
    """Every tensor reachable from `roots` through `.parents`, each after all its parents.

    An iterative depth-first post-order with an explicit stack (so a 100,000-op chain is fine);
    the order depends only on the graph's structure and each op's parent order. Backward walks
    it in reverse; `viz` numbers its nodes by it.
    """
    order: list[Tensor] = []
    visited: set[Tensor] = set()  # by identity: Tensor hashes as object does
    for root in [roots] if isinstance(roots, Tensor) else roots:
        if root in visited:
            continue
        visited.add(root)
        stack = [(root, iter(root.parents))]
        while stack:
            node, parents = stack[-1]
            for p in parents:
                if p not in visited:
                    visited.add(p)
                    if p._ctx is None:  # a leaf has no parents: it is done at once
                        order.append(p)
                        continue
                    stack.append((p, iter(p._ctx.parents)))
                    break
            else:  # every parent done: the node comes after them
                stack.pop()
                order.append(node)
    return order


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool = False,
         allow_unused: bool = False) -> tuple[np.ndarray | None, ...]:
    """The gradients of `outputs` with respect to `inputs`, as `torch.autograd.grad`.

    Returns one array per input (d sum(outputs * grad_outputs) / d input) and touches no
    `.grad`. Inputs may be intermediate tensors (every `h_t` of an unrolled loop, say).
    grad_outputs: one gradient per output; may be omitted for one-element outputs (it is 1).
    retain_graph: keep the saved arrays of the ops walked, so backward (or grad) can run again.
    allow_unused: an input the outputs do not depend on gives None instead of an error.
    """
    outputs = _as_tensor_list(outputs, "outputs")
    inputs = _as_tensor_list(inputs, "inputs")
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, (Tensor, np.ndarray)) or not isinstance(grad_outputs,
                                                                          (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad, so no gradient "
                               "flows to it")
    seeds: dict[Tensor, np.ndarray] = {}
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not out.requires_grad:
            raise RuntimeError(f"grad: output {i} does not require grad (no input to it has "
                               "requires_grad=True, or it was made under no_grad())")
        g = _seed_grad(out, g, f"grad: grad_outputs[{i}]")
        seeds[out] = g if out not in seeds else seeds[out] + g
    found = _propagate(seeds, retain_graph, False, targets=set(inputs))
    result = []
    for i, t in enumerate(inputs):
        g = found.get(t)
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} ({_describe(t)}) is not used to compute the "
                               "outputs; pass allow_unused=True to get None for it")
        result.append(g)
    return tuple(result)


def _as_tensor_list(x: Any, what: str) -> list[Tensor]:
    items = [x] if isinstance(x, Tensor) else list(x)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: {what}[{i}] is a {type(t).__name__}, not a Tensor")
    if not items:
        raise ValueError(f"grad: {what} is empty")
    return items


def _describe(t: Tensor) -> str:
    return f"'{t.name}'" if t.name else f"shape {t.shape}" + (f", op {t.op}" if t.op else "")


def _seed_grad(t: Tensor, grad: Any, where: str) -> np.ndarray:
    """The starting gradient for `t`: 1 for a one-element tensor when none is given."""
    if grad is None:
        if t.data.size != 1:
            raise RuntimeError(f"{where} must be given for a non-scalar tensor of shape "
                               f"{t.shape}")
        return np.ones(t.data.shape, t.data.dtype)
    grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=t.data.dtype)
    if grad.shape != t.shape:
        raise ValueError(f"{where} has shape {grad.shape}, tensor has shape {t.shape}")
    return grad


def _propagate(grads: dict[Tensor, np.ndarray], retain_graph: bool, retain_grad: bool,
               targets: set[Tensor] | None = None) -> dict[Tensor, np.ndarray]:
    """Reverse mode from the seeded `grads` (the one loop behind backward() and grad()).

    targets None (backward): leaves accumulate into `.grad`. Otherwise (grad): nothing is
    written; the walk only visits ops that lead to a target, and each target's total gradient
    is returned in a dict.
    """
    order = topological_order(list(grads))
    leads: set[Tensor] | None = None
    if targets is not None:  # ops with a target strictly upstream: only these are walked
        leads = set()
        for t in order:
            for p in t.parents:
                if p in targets or p in leads:
                    leads.add(t)
                    break
    found: dict[Tensor, np.ndarray] = {}
    anomaly = switches()[1]
    for t in reversed(order):
        g = grads.pop(t, None)  # intermediate gradients are dropped once used
        if g is None:
            continue
        ctx = t._ctx
        if leads is not None:
            if t in targets:
                found[t] = g.copy()  # an op's backward may later reuse g in place
            if t not in leads:
                continue
        elif ctx is None:  # a leaf: accumulate
            if g.dtype != t.data.dtype:
                g = g.astype(t.data.dtype)
            if t.grad is not None:
                t.grad = t.grad + g
            elif g.base is None and sys.getrefcount(g) == 2:  # CPython: only `g` holds it
                t.grad = g
            else:  # a view, or held elsewhere too (another input's grad, retain_grad)
                t.grad = g.copy()
            continue
        if retain_grad:
            t.grad = g
        if ctx.saved is _FREED:
            raise RuntimeError(
                f"backward: trying to backward through op '{ctx.op}' a second time; its "
                "saved arrays were freed by the first backward. Pass retain_graph=True to "
                "the first call to keep them.")
        parent_grads = ctx.backward(g)
        if not isinstance(parent_grads, (tuple, list)) or len(parent_grads) != len(ctx.parents):
            got = (f"{len(parent_grads)} gradients" if isinstance(parent_grads, (tuple, list))
                   else f"a {type(parent_grads).__name__}")
            raise RuntimeError(f"backward of '{ctx.op}' returned {got} for "
                               f"{len(ctx.parents)} inputs; it must return a tuple with one "
                               "gradient (or None) per input")
        if not retain_graph:
            ctx.saved = _FREED
        for p, pg in zip(ctx.parents, parent_grads):
            if pg is None or not p.requires_grad:
                continue
            if leads is not None and p not in leads and p not in targets:
                continue
            if ctx.broadcasts:
                pg = unbroadcast(pg, p.data.shape)
            if pg.shape != p.data.shape:
                raise RuntimeError(f"backward of '{ctx.op}': gradient of shape {pg.shape} "
                                   f"for an input of shape {p.shape}")
            if anomaly:
                _check_finite(pg, ctx, "backward")
            old = grads.get(p)
            grads[p] = pg if old is None else old + pg
        parent_grads = pg = None  # so that a leaf's gradient is held by `grads` alone
    return found


def _check_finite(arr: np.ndarray, ctx: Any, phase: str) -> None:
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        bad = "NaN" if np.isnan(arr).any() else "inf"
        where = getattr(ctx, "created_at", None) or "an unknown place (outside detect_anomaly)"
        raise FloatingPointError(f"detect_anomaly: {phase} of op '{ctx.op}' produced {bad}; "
                                 f"the op was created at {where}")


_FREED = object()  # marks a Function whose saved arrays were released by backward

from tinygrad_rnn import function as F  # noqa: E402  (ops need Tensor, Tensor needs ops)
