"""The Tensor: an ndarray that remembers how it was made, and reverse mode over that record.

Every op result keeps the `Function` that made it (`t._ctx`), and that function keeps its
parent tensors in order. `backward()` walks the recorded graph in an iterative topological
order (no recursion, so a 100,000-op chain works), hands each op the gradient of its output,
and adds what comes back into the parents' gradients.
"""

from __future__ import annotations

import math
import operator
import sys
import threading
import warnings
import weakref
import zlib
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from tinygrad_rnn.checks import broadcasts_to, flag, integer, not_an_array, number
from tinygrad_rnn.kernels.activations import sigmoid as _sigmoid
from tinygrad_rnn.kernels.core import once_loaded
from tinygrad_rnn.kernels.fingerprint import word_sums

# the engine's switches live in modes.py; imported here too so old imports keep working
from tinygrad_rnn.modes import (annotate, detect_anomaly, enable_grad,  # noqa: F401
                                is_anomaly_enabled, is_grad_enabled, no_grad, set_grad_enabled,
                                switches)


_default_dtype = [np.dtype(np.float32)]  # a list so the setter needs no `global`
_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}  # PyTorch's categories: bool < int < float


def set_default_dtype(dtype: Any) -> None:
    """Set the float dtype of `Tensor(list)`, `tensor(floats)` and the factories (`zeros`...):
    float32 (the default) or float64."""
    d = np.dtype(dtype)
    if d not in (np.float32, np.float64):
        raise TypeError(f"set_default_dtype: only float32 and float64 are supported, got {d}")
    _default_dtype[0] = d


def get_default_dtype() -> np.dtype:
    """The float dtype new tensors get when none is given (float32 unless changed)."""
    return _default_dtype[0]


# how a Tensor's repr prints its values (PyTorch's defaults); set_printoptions changes them
_PRINT_PROFILES = {"default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
                   "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
                   "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80)}
_print_options = {**_PRINT_PROFILES["default"], "sci_mode": None}


def set_printoptions(precision: Any = None, threshold: Any = None, edgeitems: Any = None,
                     linewidth: Any = None, profile: Any = None, sci_mode: Any = None) -> None:
    """PyTorch's: how reprs print tensor values (process-wide). `profile` ("default", "short",
    "full": every value) first sets all four numbers; each one given then overrides it.
    sci_mode True / False forces / forbids scientific notation, None lets NumPy choose."""
    fn = "set_printoptions"
    new = dict(_print_options)
    if profile is not None:
        if profile not in _PRINT_PROFILES:
            raise ValueError(f"{fn}: profile must be one of {tuple(_PRINT_PROFILES)}, "
                             f"got {profile!r}")
        new.update(_PRINT_PROFILES[profile])
    for name, value, low in (("precision", precision, 0), ("edgeitems", edgeitems, 1),
                             ("linewidth", linewidth, 1)):
        if value is not None:
            new[name] = integer(value, fn, name, low)
    if threshold is not None:
        new["threshold"] = number(threshold, fn, "threshold", low=0)
    if sci_mode is not None:
        flag(sci_mode, fn, "sci_mode")
    new["sci_mode"] = sci_mode
    _print_options.update(new)


def _array_text(a: np.ndarray, prefix: str) -> str:
    """`a`'s values as set_printoptions says, continuation lines aligned after `prefix`."""
    o = _print_options
    formatter = None
    if o["sci_mode"] is not None and a.dtype.kind == "f" and a.size:  # forced: one width for all
        spec = f".{o['precision']}{'e' if o['sci_mode'] else 'f'}"
        width = max(len(format(v, spec)) for v in a.flat)
        formatter = {"float_kind": lambda v: format(v, f">{width}{spec}")}
    threshold = int(min(o["threshold"], sys.maxsize))
    return np.array2string(a, precision=o["precision"], threshold=threshold,
                           edgeitems=o["edgeitems"], max_line_width=o["linewidth"],
                           formatter=formatter, separator=", ", prefix=prefix)


def _legacy_sizes(*args: Any) -> tuple[Any, ...]:
    """Tensor(16) and Tensor(3, 4) as in PyTorch: the leading Python ints of (data,
    requires_grad, dtype, name) are sizes of a new default-float tensor (zero-filled, as
    `empty` is here), so `nn.Parameter(torch.Tensor(hidden))` has shape (hidden,), not a
    0-d 16.0; what follows them keeps its meaning."""
    n = next((i for i, a in enumerate(args) if type(a) is not int), len(args))
    if any(s < 0 for s in args[:n]):
        raise ValueError(f"Tensor: sizes must be non-negative, got {args[:n]}")
    taken = (False, None, None)[:n - 1]  # the slots the sizes took get their defaults back
    return (np.zeros(args[:n], dtype=_default_dtype[0]), *taken, *args[n:])


def _as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Turn user data into an ndarray, as PyTorch's legacy `torch.Tensor(data)` does: always a
    float (the default dtype, float32) even for ints and bools, except that a float32 or float64
    ndarray keeps its dtype (so float64 gradchecks stay float64). `dtype` overrides all that."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        arr = np.asarray(data, dtype=dtype)
    else:
        keep = isinstance(data, (np.ndarray, np.generic)) and np.asarray(data).dtype in (
            np.float32, np.float64)
        arr = np.asarray(data)
        if arr.dtype.kind in "biuf" and not keep:
            arr = arr.astype(_default_dtype[0])
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"Tensor: cannot hold data of dtype {arr.dtype}")
    return arr


class Tensor:
    """An n-dimensional array that records the ops applied to it, for reverse-mode autodiff.

    >>> W = Tensor([[1.0, 2.0]], requires_grad=True)
    >>> (W * W).sum().backward()
    >>> W.grad
    array([[2., 4.]], dtype=float32)
    """

    # _vc: the version counter, a one-element list shared with every tensor whose data is a view
    # of the same memory (its `_base`, the tensor that owns that memory; None for an owner);
    # _hooks: {handle: hook} of register_hook, and retain_grad(); None until the first one
    __slots__ = ("data", "grad", "requires_grad", "name", "tags", "_ctx", "_vc", "_base", "_used",
                 "_hooks", "__weakref__")
    __hash__ = object.__hash__  # hash by identity even though == compares values
    # False for a view whose `.grad` reads another tensor's (nn's WeightBlock):
    # backward(retain_grad=True) and viz then leave its `.grad` alone
    holds_grad = True

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        if type(data) is int:  # PyTorch's legacy torch.Tensor(*sizes): Tensor(16), Tensor(3, 4)
            data, requires_grad, dtype, name = _legacy_sizes(data, requires_grad, dtype, name)
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"Tensor: requires_grad must be True or False, got {requires_grad!r}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Tensor: name must be a str or None, got {name!r}")
        try:
            arr = _as_array(data, dtype)
        except (TypeError, ValueError) as e:  # NumPy's own message, said to come from here
            if str(e).startswith("Tensor:"):
                raise
            raise not_an_array(data, "Tensor", e) from None
        if requires_grad:
            if arr.dtype.kind != "f":
                raise TypeError(f"Tensor: only floating-point tensors can require grad, "
                                f"got dtype {arr.dtype}")
            if arr.base is not None or arr is data or isinstance(data, Tensor):
                arr = arr.copy(order="K")  # a trainable tensor owns its data (same layout)
        self.data: np.ndarray = arr
        self.grad: np.ndarray | None = None
        self.requires_grad: bool = bool(requires_grad)
        self.name: str | None = name
        # facts the library records for viz, e.g. {"step": 3, "cell": "RNNCell", "role": "state"}
        # (see nn/cells.py); never mutated in place: a tensor gets a new dict or a shared one
        self.tags: dict | None = None
        self._ctx = None  # the Function that made this tensor (None for leaves)
        self._vc, self._base, self._hooks = [0], None, None

    # ----- what a tensor is -------------------------------------------------------------
    shape = property(lambda self: self.data.shape, doc="Shape of the data (a tuple).")
    dtype = property(lambda self: self.data.dtype, doc="NumPy dtype of the data.")
    ndim = property(lambda self: self.data.ndim, doc="Number of dimensions.")
    device = property(lambda self: C.CPU, doc="Always the CPU: the only device here.")
    is_cuda = property(lambda self: False, doc="Always False (CPU only).")

    def size(self, dim: int | None = None) -> tuple | int:
        """The shape (a tuple), or the length of dimension `dim` (PyTorch's meaning; the element
        count is `numel()`)."""
        if dim is None:
            return self.data.shape
        return self.data.shape[_dim(dim, self.ndim, "size")]

    def numel(self) -> int:
        """Number of elements."""
        return self.data.size

    def dim(self) -> int:
        """Number of dimensions (the same as `.ndim`)."""
        return self.data.ndim

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

    @property
    def grad_fn(self) -> Any:
        """The recorded op that made this tensor (PyTorch's node of the backward graph: `name()`,
        `next_functions`), or None for a leaf."""
        return self._ctx

    def __repr__(self) -> str:
        parts = [f"shape={self.shape}", f"dtype={self.dtype}"]
        if self.name:
            parts.insert(0, f"name={self.name!r}")
        if self.op:
            parts.append(f"op={self.op}")
        parts.append(f"requires_grad={self.requires_grad}")
        return f"Tensor({_array_text(self.data, 'Tensor(')}, {', '.join(parts)})"

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

    def __index__(self) -> int:
        # lets an integer tensor of one element index a list or a range, as in PyTorch
        if self.data.dtype.kind not in "iub" or self.data.size != 1:
            raise TypeError(f"__index__: only an integer tensor of one element can be used as "
                            f"an index, got dtype {self.dtype} and shape {self.shape}")
        return int(self.data.reshape(()))

    def __int__(self) -> int:
        return int(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's data (and its version counter), cut from the graph
        (no grad flows back). It keeps the name and the tags, marked `cut` (viz draws a
        truncated-BPTT boundary)."""
        cut = Tensor(self.data, dtype=self.data.dtype, name=self.name)
        cut._vc, cut._base = self._vc, self if self._base is None else self._base
        if self.tags:
            cut.tags = {**self.tags, "cut": True}
        return cut

    def clone(self) -> "Tensor":
        """A copy of the data that stays in the graph (gradient flows back unchanged)."""
        return F.Clone.apply(self)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set `requires_grad` on this leaf in place; returns self."""
        if not requires_grad and not self.is_leaf:
            raise RuntimeError("requires_grad_: only a leaf's requires_grad can be switched off "
                               "(use detach() for a non-leaf)")
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"requires_grad_: only floating-point tensors can require grad, "
                            f"got dtype {self.data.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def tolist(self) -> Any:
        """The data as (nested) Python lists of numbers (a number for a 0-d tensor)."""
        return self.data.tolist()

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied)."""
        return self.data

    def item(self) -> float | int:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: tensor of shape {self.shape} has {self.data.size} elements, "
                             "expected 1")
        return self.data.item()

    def __format__(self, spec: str) -> str:
        """f"{loss:.4f}" formats a one-element tensor's value, as PyTorch does; so does
        f"{loss}" for a 0-d tensor (PyTorch prints its value); else str(tensor)."""
        if not spec:
            return format(self.data.item()) if self.ndim == 0 else str(self)
        if self.data.size != 1:
            raise TypeError(f"format: a format spec ({spec!r}) needs a one-element tensor, got "
                            f"shape {self.shape}")
        return format(self.data.item(), spec)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient."""
        self.grad = None

    @property
    def _version(self) -> int:
        """How many in-place changes the library has made to this tensor's memory (shared by
        the tensors that view the same memory). Backward compares it with the version each op
        saw when it saved the data."""
        return self._vc[0]

    def _bump_version(self) -> None:
        """Record an in-place change of the data: every library code path that writes into
        `.data` (optimizer steps, in-place methods, nn.init) calls this once it has written."""
        self._vc[0] += 1

    # ----- reverse mode -----------------------------------------------------------------
    def backward(self, grad: Any = None, retain_graph: bool = False,
                 retain_grad: bool = False, *, gradient: Any = None) -> None:
        """Backpropagate from this tensor: add d(self)/d(leaf) * grad into every leaf's `.grad`.

        grad: the gradient of the final objective with respect to this tensor; may be omitted
            only when this tensor holds one element (it is then 1).
        retain_graph: keep the arrays ops saved for backward, so backward can run again.
        retain_grad: also store `.grad` on every intermediate tensor (for inspection and
            `viz` gradient pictures); off by default because it keeps memory alive.
        gradient: PyTorch's name for `grad`.
        """
        if gradient is not None:
            if grad is not None:
                raise TypeError("backward: give grad or gradient (its PyTorch name), not both")
            grad = gradient
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad (no input to it "
                               "has requires_grad=True, or it was made under no_grad())")
        grad = _seed_grad(self, grad, "backward: grad")
        _propagate({self: grad}, retain_graph, retain_grad)

    def register_hook(self, hook: Callable) -> "RemovableHandle":
        """Call `hook(grad)` each time backward (or `tg.grad`) has this tensor's whole gradient,
        before it goes further back or into a leaf's `.grad`; grad is a Tensor that needs no
        grad. A Tensor (or array) the hook returns, of the same shape and dtype, replaces the
        gradient; None keeps it. Hooks run in the order they were registered. Returns a
        handle: `handle.remove()` (or leaving `with handle:`) takes the hook off."""
        if not callable(hook):
            raise TypeError(f"register_hook: hook must be callable, got {hook!r}")
        if not self.requires_grad:
            raise RuntimeError("register_hook: this tensor does not require grad, so no "
                               "gradient will reach the hook")
        hooks = self._hook_table()
        handle = RemovableHandle(hooks)
        hooks[handle] = hook
        return handle

    def retain_grad(self) -> None:
        """Keep this intermediate tensor's gradient in `.grad` after each backward (added up
        over backward calls, as a leaf's; after this tensor's hooks). Nothing to do for a leaf."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad")
        if self._ctx is not None:
            self._hook_table()[_RETAIN] = None

    @property
    def retains_grad(self) -> bool:
        """True when `retain_grad()` was called on this intermediate tensor."""
        return _RETAIN in (self._hooks or ())

    def __getstate__(self) -> tuple:
        # a copy (copy.deepcopy, pickle) has no hooks, as in PyTorch: they belong to this object
        slots = {k: getattr(self, k) for k in Tensor.__slots__
                 if k != "__weakref__" and hasattr(self, k)}
        slots["_hooks"] = None
        if "_used" in slots:  # never a weak reference into the original's graph
            slots["_used"] = bool(slots["_used"])
        return None, slots

    def _hook_table(self) -> dict:
        hooks = self._hooks
        if hooks is None:
            hooks = self._hooks = {}
        return hooks

    # ----- arithmetic (ops live in function.py) ----------------------------------------
    def _lift(self, other: Any) -> "Tensor":
        """Wrap a Python number or array so it can meet this tensor in a binary op."""
        if isinstance(other, Tensor):
            return other
        arr = np.asarray(other)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"Tensor op: cannot combine a Tensor with a {type(other).__name__} "
                            f"({other!r:.40}); use numbers, real arrays or Tensors")
        if self.data.dtype.kind == "f" and arr.dtype.kind in "biuf":
            arr = arr.astype(self.data.dtype)  # a float64 graph stays float64
        elif arr.dtype.kind == "f" and not isinstance(other, np.ndarray):
            arr = arr.astype(_default_dtype[0])  # int tensor * 0.5: float32, as in PyTorch
        elif self.data.dtype.kind in "iu" and type(other) in (int, bool):
            arr = arr.astype(self.data.dtype)  # int32 * 2 stays int32; uint8 - 3 wraps (PyTorch)
        return Tensor(arr, dtype=arr.dtype)

    def _pair(self, other: Any, divide: bool = False) -> tuple["Tensor", "Tensor"]:
        """(self, other) ready for a binary op, with PyTorch's result dtypes where NumPy's
        differ: an integer operand meeting a float one takes its dtype (NumPy: int64 * float32
        is float64), and integers divided become the default float dtype."""
        o = self._lift(other)
        if (self.data.ndim == 0) != (o.data.ndim == 0) and self.data.dtype != o.data.dtype:
            # a 0-d tensor of the other's kind (bool, integer, float) takes its dtype, as in
            # PyTorch: float32 values * tensor(2.0, float64) stay float32
            kinds = [_KIND_RANK[t.data.dtype.kind] for t in (self, o)]
            if kinds[0] == kinds[1]:
                if self.data.ndim == 0:
                    return self._cast(o.data.dtype)._pair(o, divide)
                o = o._cast(self.data.dtype)
        a_int, o_int = self.data.dtype.kind in "biu", o.data.dtype.kind in "biu"
        if a_int and o_int:
            return (self._cast(_default_dtype[0]), o._cast(_default_dtype[0])) if divide else \
                (self, o)
        if a_int:
            return self._cast(o.data.dtype), o
        if o_int:
            return self, o._cast(self.data.dtype)
        return self, o

    def __add__(self, other): return F.Add.apply(*self._pair(other))
    def __radd__(self, other): return F.Add.apply(*self._pair(other)[::-1])
    def __mul__(self, other): return F.Mul.apply(*self._pair(other))
    def __rmul__(self, other): return F.Mul.apply(*self._pair(other)[::-1])
    def __neg__(self): return F.Neg.apply(self)
    def __sub__(self, other): return F.Sub.apply(*self._pair(other))
    def __rsub__(self, other): return F.Sub.apply(*self._pair(other)[::-1])
    def __truediv__(self, other): return F.Div.apply(*self._pair(other, divide=True))
    def __rtruediv__(self, other): return F.Div.apply(*self._pair(other, divide=True)[::-1])
    def __matmul__(self, other): return F.MatMul.apply(self, self._lift(other))
    def __rmatmul__(self, other): return F.MatMul.apply(self._lift(other), self)
    def __floordiv__(self, other): return F.FloorDivide.apply(*self._pair(other))
    def __rfloordiv__(self, other): return F.FloorDivide.apply(*self._pair(other)[::-1])
    def __mod__(self, other): return F.Remainder.apply(*self._pair(other))
    def __rmod__(self, other): return F.Remainder.apply(*self._pair(other)[::-1])

    def __pow__(self, exponent: Any) -> "Tensor":
        if isinstance(exponent, Tensor) or (isinstance(exponent, np.ndarray)
                                            and exponent.ndim):
            return self._tensor_pow(exponent)
        if (isinstance(exponent, (str, bytes)) or np.ndim(exponent) != 0
                or np.asarray(exponent).dtype.kind not in "biuf"):
            raise TypeError("pow: the exponent must be a Python scalar or a Tensor, not "
                            f"{type(exponent).__name__}")
        if self.data.dtype.kind in "biu":  # as PyTorch: int ** int stays int, int ** float is
            if np.asarray(exponent).dtype.kind == "f":  # the default float dtype
                return self._cast(_default_dtype[0]) ** exponent
            if exponent < 0:
                raise ValueError(f"pow: an integer tensor to a negative integer power "
                                 f"({exponent}) is not allowed (as in PyTorch)")
            base = self.data.astype(np.int64) if self.data.dtype == np.bool_ else self.data
            return Tensor(np.power(base, int(exponent)), dtype=base.dtype)
        return F.Pow.apply(self, exponent=float(exponent))

    def _tensor_pow(self, exponent: Any) -> "Tensor":
        """self ** exponent for a tensor (or array) exponent, broadcasting, with the dtypes of
        the other binary ops; integer ** integer stays integer (a negative power gives 0 unless
        the base is 1 or -1, as PyTorch)."""
        a, b = self._pair(exponent)
        if a.data.dtype.kind in "biu" and b.data.dtype.kind in "biu":
            if a.data.dtype == np.bool_ and b.data.dtype == np.bool_:
                raise TypeError("pow: not implemented for two bool tensors (as in PyTorch)")
            try:
                np.broadcast_shapes(a.shape, b.shape)
            except ValueError:
                raise ValueError(f"pow: shapes {a.shape} and {b.shape} do not broadcast") from None
            dt = np.result_type(a.data, b.data)
            base, e = a.data.astype(dt), b.data.astype(dt)
            small = np.where(base == 1, 1, np.where(base == -1, np.where(e % 2 == 0, 1, -1), 0))
            out = np.where(e >= 0, np.power(base, np.maximum(e, 0)), small).astype(dt)
            return Tensor(out, dtype=dt)
        return F.TensorPow.apply(a, b)

    def __rpow__(self, base: float) -> "Tensor":
        """base ** self for a Python-scalar base (`2 ** t`); integer ** integer stays integer
        (a negative exponent gives 0 unless the base is 1 or -1, as PyTorch)."""
        if (isinstance(base, (Tensor, str, bytes)) or np.ndim(base) != 0
                or np.asarray(base).dtype.kind not in "biuf"):
            raise TypeError(f"pow: the base must be a Python scalar, not {type(base).__name__}")
        return self._lift(base)._tensor_pow(self)  # the base as a 0-d tensor of self's kind

    # comparisons give boolean tensors, as in PyTorch; they are not differentiable
    def _compare(self, other: Any, ufunc: Any, fn: str) -> "Tensor":
        try:
            return _mask(ufunc(self.data, _data(other)))
        except (TypeError, ValueError) as e:  # a string, or shapes that do not broadcast
            raise (TypeError if isinstance(e, TypeError) else ValueError)(f"{fn}: {e}") from None

    def __lt__(self, other): return self._compare(other, operator.lt, "lt")
    def __le__(self, other): return self._compare(other, operator.le, "le")
    def __gt__(self, other): return self._compare(other, operator.gt, "gt")
    def __ge__(self, other): return self._compare(other, operator.ge, "ge")
    def __eq__(self, other):  # type: ignore[override]
        return False if other is None else self._compare(other, operator.eq, "eq")  # `t == None`

    def __ne__(self, other):  # type: ignore[override]
        return True if other is None else self._compare(other, operator.ne, "ne")

    def eq(self, other: Any) -> "Tensor":
        """self == other elementwise, as a bool tensor."""
        return self == other

    def ne(self, other: Any) -> "Tensor":
        """self != other elementwise, as a bool tensor."""
        return self != other

    def lt(self, other: Any) -> "Tensor":
        """self < other elementwise, as a bool tensor."""
        return self < other

    def le(self, other: Any) -> "Tensor":
        """self <= other elementwise, as a bool tensor."""
        return self <= other

    def gt(self, other: Any) -> "Tensor":
        """self > other elementwise, as a bool tensor."""
        return self > other

    def ge(self, other: Any) -> "Tensor":
        """self >= other elementwise, as a bool tensor."""
        return self >= other

    # bitwise ops: bool and integer tensors only (bool & bool stays bool), not differentiable
    def _bits(self, other: Any, ufunc: Any, fn: str, reverse: bool = False) -> "Tensor":
        # a Python int or bool stays a "weak" scalar, so int32 & 3 is int32 (as PyTorch)
        b = other if isinstance(other, (bool, int)) else np.asarray(_data(other))
        for arr in (self.data, b):
            if np.asarray(arr).dtype.kind not in "biu":
                raise TypeError(f"{fn}: only bool and integer tensors, got dtype "
                                f"{np.asarray(arr).dtype}")
        try:
            out = np.asarray(ufunc(b, self.data) if reverse else ufunc(self.data, b))
        except ValueError:
            raise ValueError(f"{fn}: shapes {self.shape} and {np.shape(b)} do not "
                             "broadcast") from None
        return Tensor(out, dtype=out.dtype)

    def __and__(self, other: Any) -> "Tensor":
        """self & other, elementwise, for bool and integer tensors."""
        return self._bits(other, np.bitwise_and, "bitwise_and")

    def __rand__(self, other): return self._bits(other, np.bitwise_and, "bitwise_and", True)
    def __or__(self, other: Any) -> "Tensor":
        """self | other, elementwise, for bool and integer tensors."""
        return self._bits(other, np.bitwise_or, "bitwise_or")

    def __ror__(self, other): return self._bits(other, np.bitwise_or, "bitwise_or", True)
    def __xor__(self, other: Any) -> "Tensor":
        """self ^ other, elementwise, for bool and integer tensors."""
        return self._bits(other, np.bitwise_xor, "bitwise_xor")

    def __rxor__(self, other): return self._bits(other, np.bitwise_xor, "bitwise_xor", True)

    def __invert__(self) -> "Tensor":
        """~t: logical not of a bool tensor, bitwise not of an integer one."""
        if self.data.dtype.kind not in "biu":
            raise TypeError(f"bitwise_not: only bool and integer tensors, got dtype {self.dtype}")
        return Tensor(np.invert(self.data), dtype=self.data.dtype)

    bitwise_and, bitwise_or, bitwise_xor, bitwise_not = __and__, __or__, __xor__, __invert__

    def _logical(self, other: Any, ufunc: Any, fn: str) -> "Tensor":
        try:
            return _mask(ufunc(self.data, _numbers(other, fn)))
        except ValueError:
            raise ValueError(f"{fn}: shapes {self.shape} and {np.shape(_data(other))} do not "
                             "broadcast") from None

    def logical_and(self, other: Any) -> "Tensor":
        """True where both are non-zero, as a bool tensor."""
        return self._logical(other, np.logical_and, "logical_and")

    def logical_or(self, other: Any) -> "Tensor":
        """True where either is non-zero, as a bool tensor."""
        return self._logical(other, np.logical_or, "logical_or")

    def logical_xor(self, other: Any) -> "Tensor":
        """True where exactly one is non-zero, as a bool tensor."""
        return self._logical(other, np.logical_xor, "logical_xor")

    def logical_not(self) -> "Tensor":
        """True where the element is zero, as a bool tensor."""
        return _mask(np.logical_not(self.data))

    def isnan(self) -> "Tensor":
        """True where the element is NaN, as a bool tensor."""
        return _mask(np.isnan(self.data))

    def isinf(self) -> "Tensor":
        """True where the element is +inf or -inf, as a bool tensor."""
        return _mask(np.isinf(self.data))

    def isfinite(self) -> "Tensor":
        """True where the element is neither NaN nor infinite, as a bool tensor."""
        return _mask(np.isfinite(self.data))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        # NumPy functions (np.where, np.asarray, plotting) read a tensor as its data
        arr = self.data if dtype is None else self.data.astype(dtype)
        return arr.copy() if copy and arr is self.data else arr

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """NumPy meeting a Tensor. `array + t` (any operator) is the Tensor's own reflected
        operator (`t.__radd__(array)`), a Tensor in the graph; `array *= t` and other writes
        into NumPy arrays (`out=`), such as d2l's `p.grad[:] *= theta / norm`, use t's values,
        which must need no grad. Any other NumPy function of tensors that need no grad (or
        under no_grad) gives a Tensor of NumPy's result, as PyTorch's `np.sqrt(t)` does (the
        tutorials' `np.sqrt(loss_fn(y_pred, y))` under no_grad); with a gradient to lose it is
        an error (`np.asarray(t)` reads the values)."""
        out = kwargs.get("out")
        into_arrays = out is not None and all(isinstance(o, np.ndarray) for o in out)
        name = _REFLECTED.get(ufunc)
        if (method == "__call__" and not kwargs and len(inputs) == 2 and inputs[1] is self
                and not isinstance(inputs[0], Tensor) and name is not None):
            return getattr(self, name)(inputs[0])
        if method == "__call__" and (out is None or into_arrays):
            if is_grad_enabled() and any(isinstance(x, Tensor) and x.requires_grad
                                         for x in inputs):
                if into_arrays:
                    raise TypeError(f"{ufunc.__name__}: writing a tensor that requires grad "
                                    "into a NumPy array would lose its gradient; use .detach()")
            else:
                result = ufunc(*[_data(x) for x in inputs], **kwargs)
                if into_arrays:
                    return result
                if isinstance(result, tuple):  # np.modf, np.divmod: one tensor per output
                    return tuple(C.tensor(r) for r in result)
                return C.tensor(result)
        raise TypeError(f"{ufunc.__name__}: NumPy functions do not take a Tensor (its gradient "
                        "would be lost); use the Tensor's method or the torch-named function, "
                        "or np.asarray(t) for its values")

    def all(self, dim: int | None = None, keepdim: bool = False) -> "Tensor":
        """True where every element (along `dim`) is non-zero, as a bool tensor."""
        d = None if dim is None else _dim(dim, self.ndim, "all")
        return _mask(np.all(self.data, axis=d, keepdims=keepdim))

    def any(self, dim: int | None = None, keepdim: bool = False) -> "Tensor":
        """True where some element (along `dim`) is non-zero, as a bool tensor."""
        d = None if dim is None else _dim(dim, self.ndim, "any")
        return _mask(np.any(self.data, axis=d, keepdims=keepdim))

    def isclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
                equal_nan: bool = False) -> "Tensor":
        """|self - other| <= atol + rtol |other| elementwise, as a bool tensor (PyTorch's
        defaults; NaNs are equal only with equal_nan)."""
        rtol, atol = (number(v, "isclose", n, low=0) for v, n in ((rtol, "rtol"), (atol, "atol")))
        other = _numbers(other, "isclose")
        try:
            return _mask(np.isclose(self.data, other, rtol=rtol, atol=atol,
                                    equal_nan=flag(equal_nan, "isclose", "equal_nan")))
        except ValueError:
            raise ValueError(f"isclose: shapes {self.shape} and {other.shape} do not "
                             "broadcast") from None

    def allclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
                 equal_nan: bool = False) -> bool:
        """True when every element is close to `other` (see `isclose`), as a Python bool."""
        return bool(self.isclose(other, rtol, atol, equal_nan).data.all())

    def equal(self, other: Any) -> bool:
        """True when `other` has the same shape and the same elements, as a Python bool."""
        other = _numbers(other, "equal")
        return self.shape == other.shape and bool(np.array_equal(self.data, other))

    # ----- elementwise -----------------------------------------------------------------
    def tanh(self) -> "Tensor":
        """Hyperbolic tangent."""
        return F.Tanh.apply(self._to_float())

    def sigmoid(self) -> "Tensor":
        """Logistic sigmoid 1 / (1 + exp(-x)), without overflow for large |x|."""
        return F.Sigmoid.apply(self._to_float())

    def relu(self) -> "Tensor":
        """max(x, 0)."""
        return F.ReLU.apply(self)

    def exp(self) -> "Tensor":
        """Elementwise e**x."""
        return F.Exp.apply(self._to_float())

    def log(self) -> "Tensor":
        """Natural logarithm."""
        return F.Log.apply(self._to_float())

    def log1p(self) -> "Tensor":
        """log(1 + x), exact for tiny x."""
        return F.Log1p.apply(self._to_float())

    def sin(self) -> "Tensor":
        """Elementwise sine (radians)."""
        return F.Sin.apply(self._to_float())

    def cos(self) -> "Tensor":
        """Elementwise cosine (radians)."""
        return F.Cos.apply(self._to_float())

    def _to_float(self) -> "Tensor":
        """Self, or for an integer or bool tensor its values in the default float dtype: what
        PyTorch's float functions (exp, log, tanh, ...) compute in."""
        return self._cast(_default_dtype[0]) if self.data.dtype.kind in "biu" else self

    def abs(self) -> "Tensor":
        """|x| (an integer tensor stays integer); the gradient is sign(x), 0 at 0."""
        return F.Abs.apply(self)

    __abs__ = abs
    absolute = abs

    def sign(self) -> "Tensor":
        """-1, 0 or 1 by the sign of each element, in this dtype; gradient 0."""
        if self.data.dtype == np.bool_:
            return Tensor(self.data.copy(), dtype=np.bool_)
        return F.Sign.apply(self)

    def round(self, decimals: int = 0) -> "Tensor":
        """Round to `decimals` places (halves to even, as PyTorch); gradient 0."""
        return F.Round.apply(self, decimals=integer(decimals, "round", "decimals"))

    # ----- arithmetic as methods (PyTorch spellings) ------------------------------------
    def add(self, other: Any, alpha: float = 1) -> "Tensor":
        """self + alpha * other."""
        return self + (other if alpha == 1 else self._lift(other) * alpha)

    def sub(self, other: Any, alpha: float = 1) -> "Tensor":
        """self - alpha * other."""
        return self - (other if alpha == 1 else self._lift(other) * alpha)

    def mul(self, other: Any) -> "Tensor":
        """self * other."""
        return self * other

    def div(self, other: Any) -> "Tensor":
        """self / other."""
        return self / other

    def remainder(self, other: Any) -> "Tensor":
        """self % other, with the sign of other (Python's and PyTorch's rule)."""
        return self % other

    def floor_divide(self, other: Any) -> "Tensor":
        """self // other, rounded down (Python's and PyTorch's rule); not differentiable."""
        return self // other

    def pow(self, exponent: Any) -> "Tensor":
        """self ** exponent (a Python scalar, or a tensor broadcasting with self)."""
        return self ** exponent

    def neg(self) -> "Tensor":
        """-self."""
        return -self

    def sqrt(self) -> "Tensor":
        """Elementwise square root."""
        return self ** 0.5

    def matmul(self, other: Any) -> "Tensor":
        """self @ other."""
        return self @ other

    def clamp(self, min: float | None = None, max: float | None = None) -> "Tensor":
        """Limit every element to [min, max] (either may be None); the gradient passes where
        min <= x <= max, as in PyTorch."""
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        if isinstance(min, Tensor) or isinstance(max, Tensor):  # bounds per element, as PyTorch:
            out = self  # the gradient goes to x inside the bounds, to a bound where it is used
            if min is not None:
                lo = self._lift(min)
                out = where((out < lo).data, lo, out)
            if max is not None:
                hi = self._lift(max)
                out = where((out > hi).data, hi, out)
            return out
        if self.data.dtype.kind in "biu" and any(isinstance(b, (float, np.floating))
                                                 for b in (min, max)):
            return self._cast(_default_dtype[0]).clamp(min, max)  # int by 0.5: float, as PyTorch
        return F.Clamp.apply(self, low=min, high=max)

    clip = clamp

    def maximum(self, other: Any) -> "Tensor":
        """The elementwise larger of self and other (broadcasting; NaN propagates); at ties
        each gets half the gradient, as PyTorch."""
        return F.Maximum.apply(*self._pair(_numbers_or_tensor(other, "maximum")))

    def minimum(self, other: Any) -> "Tensor":
        """The elementwise smaller of self and other (broadcasting; NaN propagates; ties share
        the gradient)."""
        return F.Minimum.apply(*self._pair(_numbers_or_tensor(other, "minimum")))

    def masked_fill(self, mask: Any, value: Any) -> "Tensor":
        """A copy with `value` (a number, or a 0-d tensor, which gets the gradient of the places
        it fills) wherever the boolean `mask` is True."""
        if isinstance(value, Tensor):
            if value.ndim != 0:
                raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got "
                                 f"shape {value.shape}")
            return where(mask, value._cast(self.data.dtype), self)
        return where(mask, self._lift(np.full((), value, self.data.dtype)), self)

    def masked_select(self, mask: Any) -> "Tensor":
        """The elements where the boolean `mask` (broadcast with self) is True, as a 1-d
        tensor in row-major order; the gradient goes back to where each came from."""
        m = np.asarray(_data(mask))
        if m.dtype != np.bool_:
            raise TypeError(f"masked_select: mask must be boolean, got dtype {m.dtype}")
        try:
            shape = np.broadcast_shapes(self.shape, m.shape)
        except ValueError:
            raise ValueError(f"masked_select: mask of shape {m.shape} does not broadcast with "
                             f"the tensor's shape {self.shape}") from None
        x = self if self.shape == shape else self.expand(*shape)
        return x[np.broadcast_to(m, shape)]

    def where(self, condition: Any, other: Any) -> "Tensor":
        """self where `condition` is True, else other (as `tg.where(condition, self, other)`)."""
        return where(condition, self, other)

    def softmax(self, dim: int = -1) -> "Tensor":
        """exp(x) / sum(exp(x)) along `dim`."""
        return F.Softmax.apply(self._to_float(), axis=dim)

    def log_softmax(self, dim: int = -1) -> "Tensor":
        """x - logsumexp(x) along `dim`."""
        return F.LogSoftmax.apply(self._to_float(), axis=dim)

    def logsumexp(self, dim: Any, keepdim: bool = False) -> "Tensor":
        """log(sum(exp(x))) over `dim` (an int or a tuple), shifted by the maximum so it never
        overflows (-inf rows give -inf); the gradient is softmax(x) along `dim`. An integer
        tensor gives the default float dtype."""
        x = self._to_float()
        dims = _norm_dims(dim)
        for d in dims if isinstance(dims, tuple) else (dims,):
            _dim(d, self.ndim, "logsumexp")
        return F.LogSumExp.apply(x, axis=dims, keepdims=flag(keepdim, "logsumexp", "keepdim"))

    # ----- reductions ------------------------------------------------------------------
    def sum(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool | None = None) -> "Tensor":
        """Sum over `dim` (an int or a tuple; all dims when None). `axis`/`keepdims` are NumPy
        spellings of `dim`/`keepdim`."""
        dim, keepdim = _reduce_args(dim, keepdim, axis, keepdims, "sum")
        return F.Sum.apply(self, axis=dim, keepdims=keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
             keepdims: bool | None = None) -> "Tensor":
        """Mean over `dim` (an int or a tuple; all dims when None); `axis`/`keepdims` alias."""
        dim, keepdim = _reduce_args(dim, keepdim, axis, keepdims, "mean")
        try:
            total = self.sum(dim, keepdim)
        except (TypeError, ValueError, IndexError) as e:  # a bad dim: say "mean", not "sum"
            raise type(e)(str(e).replace("sum:", "mean:", 1)) from None
        if self.data.size == 0:  # the mean of nothing is NaN (as in NumPy and PyTorch), not 0
            return total * np.nan
        return total * (total.data.size / self.data.size)  # 1/n as a constant

    def var(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: float | None = None) -> "Tensor":
        """Variance over `dim` (an int or a tuple; all dims when None): the sum of squared
        deviations divided by N - correction (correction 1 by default; `unbiased=False` is
        correction 0). `var(False)` is the legacy spelling of `var(unbiased=False)`."""
        return self._var("var", dim, unbiased, keepdim, correction)

    def std(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: float | None = None) -> "Tensor":
        """Standard deviation: the square root of `var` with the same arguments; where the
        spread is 0 its gradient is 0, as PyTorch's (not 0 * inf)."""
        return self._var("std", dim, unbiased, keepdim, correction)

    def _var(self, fn: str, dim: Any, unbiased: Any, keepdim: Any, correction: Any) -> "Tensor":
        if isinstance(dim, (bool, np.bool_)) and unbiased is None:  # the var(unbiased) overload
            dim, unbiased = None, dim
        if self.data.dtype.kind != "f":
            raise TypeError(f"{fn}: only floating-point tensors, got dtype {self.dtype}")
        if unbiased is not None and correction is not None:
            raise TypeError(f"{fn}: give unbiased or correction, not both")
        c = (1.0 if correction is None and unbiased is None else
             float(flag(unbiased, fn, "unbiased")) if unbiased is not None
             else number(correction, fn, "correction"))
        dim, keepdim = _norm_dims(dim), bool(keepdim)
        try:
            d = self - self.mean(dim, keepdim=True)
            # std: the 2-norm of d, whose gradient is 0 where d is all 0
            ss = (d * d).sum(dim, keepdim) if fn == "var" else F.Norm.apply(
                d, p=2, axis=dim, keepdims=keepdim)
        except (TypeError, ValueError, IndexError) as e:  # a bad dim: say var/std
            raise type(e)(str(e).replace("mean:", f"{fn}:", 1)) from None
        n = self.data.size / ss.data.size if ss.data.size else 0.0
        if n - c <= 0:  # as PyTorch: a warning, and x / 0 (inf, or NaN for 0 / 0)
            warnings.warn(f"{fn}: degrees of freedom is <= 0 (N = {n:g}, correction = {c:g})",
                          stacklevel=3)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = 1.0 / (n - c) if n - c > 0 else np.inf
            return ss * (scale if fn == "var" else scale ** 0.5)

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool = False,
             dtype: Any = None) -> "Tensor":
        """The vector p-norm over `dim` (all elements when None; an int or a tuple): p a
        number (2, 1, inf, -inf, 0, or any other) or "fro" (the 2-norm). Where the norm is 0
        its gradient is 0, as PyTorch's."""
        x = self if dtype is None else self._cast(C.as_dtype(dtype, "norm"))
        if x.data.dtype.kind != "f":
            raise TypeError(f"norm: only floating-point tensors, got dtype {x.dtype}")
        if isinstance(p, str):
            if p != "fro":
                raise ValueError(f"norm: p={p!r} is not supported (give 'fro' or a number)")
            p = 2
        p, dim, keepdim = number(p, "norm", "p"), _norm_dims(dim), flag(keepdim, "norm",
                                                                         "keepdim")
        if p == np.inf:
            return x.abs().amax(dim, keepdim)
        if p == -np.inf:
            return x.abs().amin(dim, keepdim)
        if p == 0:  # the count of non-zeros (no gradient)
            return _mask(x.data != 0).sum(dim, keepdim)._cast(x.data.dtype)
        if p == 1:
            return x.abs().sum(dim, keepdim)
        return F.Norm.apply(x, p=p, axis=dim, keepdims=keepdim)

    def cumsum(self, dim: int, *, dtype: Any = None) -> "Tensor":
        """Running sum along `dim` (integers and bools give int64, as PyTorch); the gradient
        is the reversed running sum of the output's gradient."""
        x = self if dtype is None else self._cast(C.as_dtype(dtype, "cumsum"))
        d = _dim(dim, x.ndim, "cumsum")
        if x.ndim == 0:
            return F.CumSum.apply(x.reshape(1), axis=0).reshape(())
        return F.CumSum.apply(x, axis=d)

    def cumprod(self, dim: int, *, dtype: Any = None) -> "Tensor":
        """Running product along `dim` (integers and bools give int64, as PyTorch); the
        gradient is exact where inputs are 0."""
        x = self if dtype is None else self._cast(C.as_dtype(dtype, "cumprod"))
        d = _dim(dim, x.ndim, "cumprod")
        if x.ndim == 0:
            return F.CumProd.apply(x.reshape(1), axis=0).reshape(())
        return F.CumProd.apply(x, axis=d)

    def diag(self, diagonal: int = 0) -> "Tensor":
        """PyTorch's diag: a 1-d tensor becomes the square matrix with it on the `diagonal`-th
        diagonal (0 the main one, > 0 above it, < 0 below) and zeros elsewhere; a 2-d tensor
        gives that diagonal as a 1-d tensor. Differentiable both ways."""
        k = integer(diagonal, "diag", "diagonal")
        if self.ndim == 1:
            m = self.shape[0]
            rows = np.arange(m) + max(-k, 0)
            out = Tensor(np.zeros((m + abs(k),) * 2, dtype=self.dtype), dtype=self.dtype)
            out[rows, rows + k] = self
            return out
        if self.ndim != 2:
            raise ValueError(f"diag: expected a 1-d or 2-d tensor, got shape {self.shape}")
        r, c = self.shape
        n = max(0, min(r, c - k) if k >= 0 else min(r + k, c))
        return self[np.arange(n) + max(-k, 0), np.arange(n) + max(k, 0)]

    def trace(self) -> "Tensor":
        """The sum of the main diagonal of a 2-d tensor (integers give int64)."""
        if self.ndim != 2:
            raise ValueError(f"trace: expected a 2-d tensor, got shape {self.shape}")
        k = np.arange(min(self.shape))
        return self[k, k].sum()

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        """Sorted along `dim` as `(values, indices)` (NaN counts as the largest, as PyTorch;
        ties keep their order); the gradient goes back to where each value came from."""
        indices = self._argsort(dim, descending, stable, "sort")
        if self.ndim == 0:
            return ValuesIndices(self.clone(), indices)
        return ValuesIndices(self.gather(dim, indices), indices)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> "Tensor":
        """The int64 indices that sort the tensor along `dim` (see `sort`)."""
        return self._argsort(dim, descending, stable, "argsort")

    def _argsort(self, dim: Any, descending: Any, stable: Any, fn: str) -> "Tensor":
        d = _dim(dim, self.ndim, fn)
        flag(stable, fn, "stable")  # always stable here
        order = self._order(d, flag(descending, fn, "descending"))
        return Tensor(order if self.ndim else order.reshape(()), dtype=np.int64)

    def _order(self, d: int, descending: bool) -> np.ndarray:
        """Stable argsort along d (of a 0-d tensor as 1-d)."""
        a = self.data if self.ndim else self.data.reshape(1)
        if descending:  # descending with ties first-index-first and NaN first (as PyTorch), by
            # sorting the reversed data ascending; no negation (it wraps unsigned ints)
            return a.shape[d] - 1 - np.flip(np.argsort(np.flip(a, d), axis=d, kind="stable"), d)
        return np.argsort(a, axis=d, kind="stable")  # ascending, NaN last (as PyTorch)

    def amax(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        """Maximum over `dim` (an int or a tuple; all dims when None); tied maxima share the
        gradient equally, as torch.amax."""
        return F.Max.apply(self, axis=_norm_dims(dim), keepdims=keepdim)

    def amin(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        """Minimum over `dim`; tied minima share the gradient equally, as torch.amin."""
        return F.Min.apply(self, axis=_norm_dims(dim), keepdims=keepdim)

    def max(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None,
            keepdims: bool | None = None) -> Any:
        """PyTorch's max: with no dim, the largest element as a 0-d tensor (ties share the
        gradient); with `dim`, a pair `(values, indices)` along it (the gradient goes to the
        element at `indices`); with a tensor instead of a dim, the elementwise `maximum`."""
        return self._extreme(dim, keepdim, axis, keepdims, "max")

    def min(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None,
            keepdims: bool | None = None) -> Any:
        """PyTorch's min: the smallest element (no dim), `(values, indices)` along `dim`, or
        with a tensor, the elementwise `minimum`."""
        return self._extreme(dim, keepdim, axis, keepdims, "min")

    def _extreme(self, dim: Any, keepdim: bool, axis: Any, keepdims: Any, fn: str) -> Any:
        dim, keepdim = _reduce_args(dim, keepdim, axis, keepdims, fn)
        if isinstance(dim, Tensor):  # max(a, b): the elementwise one, as PyTorch
            return self.maximum(dim) if fn == "max" else self.minimum(dim)
        if dim is None:
            if self.data.size == 0:
                raise ValueError(f"{fn}: the tensor is empty, so it has no {fn}imum")
            return self.amax() if fn == "max" else self.amin()
        if not isinstance(dim, (int, np.integer)):
            raise TypeError(f"{fn}: dim must be one int, got {dim!r} (use amax/amin to reduce "
                            "over several dims)")
        indices = self._arg(np.argmax if fn == "max" else np.argmin, dim, True, fn)
        values = self.gather(dim, indices)
        if not keepdim:
            values, indices = values.squeeze(dim), indices.squeeze(dim)
        return ValuesIndices(values, indices)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> "Tensor":
        """Index of the largest element along `dim` (of the flattened tensor when None), as an
        int64 tensor; the first one when tied."""
        return self._arg(np.argmax, dim, keepdim, "argmax")

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> "Tensor":
        """Index of the smallest element along `dim` (flattened when None), int64."""
        return self._arg(np.argmin, dim, keepdim, "argmin")

    def _arg(self, pick: Any, dim: Any, keepdim: bool, fn: str) -> "Tensor":
        if dim is None:
            if self.data.size == 0:
                raise ValueError(f"{fn}: the tensor is empty")
            out = np.asarray(pick(self.data))
            return Tensor(out.reshape((1,) * self.ndim) if keepdim else out, dtype=np.int64)
        d = _dim(dim, self.ndim, fn)
        if self.shape and self.shape[d] == 0:
            raise ValueError(f"{fn}: dim {dim} of shape {self.shape} is empty")
        return Tensor(pick(self.data, axis=d, keepdims=keepdim) if self.ndim else
                      np.zeros((), np.int64), dtype=np.int64)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
        """The k largest (or smallest) elements along `dim`, in order, as `(values, indices)`;
        the gradient goes to the picked elements."""
        d = _dim(dim, self.ndim, "topk")
        n = self.shape[d] if self.ndim else 1
        if not 0 <= int(k) <= n:
            raise ValueError(f"topk: k={k} is out of range for dim {dim} of length {n}")
        order = self._order(d, largest)
        indices = Tensor(np.take(order, np.arange(int(k)), axis=d).reshape(
            order.shape[:d] + (int(k),) + order.shape[d + 1:]) if self.ndim else
            order[:int(k)].reshape(()) if k else order[:0], dtype=np.int64)
        if self.ndim == 0:  # the one element itself (gather needs a dim)
            return ValuesIndices(self.clone() if k else self.reshape(1)[:0], indices)
        return ValuesIndices(self.gather(d, indices), indices)

    def gather(self, dim: int, index: Any) -> "Tensor":
        """out[i][j] = self[index[i][j]][j] for dim 0 (and so on), as torch.gather; repeated
        indices accumulate their gradients."""
        return F.Gather.apply(self, dim=_dim(dim, self.ndim, "gather"), index=_data(index))

    def nonzero(self, *, as_tuple: bool = False) -> Any:
        """The int64 indices of the non-zero elements, one row per element (n, ndim), or with
        as_tuple=True one 1-d tensor per dim (a 0-d tensor counts as 1-d). No gradient."""
        if flag(as_tuple, "nonzero", "as_tuple"):
            return tuple(Tensor(i, dtype=np.int64) for i in np.nonzero(np.atleast_1d(self.data)))
        return Tensor(np.argwhere(self.data).astype(np.int64), dtype=np.int64)

    def count_nonzero(self, dim: Any = None) -> "Tensor":
        """The number of non-zero elements over `dim` (an int or a tuple; all when None), as
        int64. No gradient."""
        dims = _norm_dims(dim)
        if dims is not None:
            dims = tuple(_dim(d, self.ndim, "count_nonzero")
                         for d in (dims if isinstance(dims, tuple) else (dims,)))
            if len(set(dims)) != len(dims):
                raise ValueError(f"count_nonzero: dim {dim} repeats a dim")
            if not self.ndim:
                dims = None
        return Tensor(np.asarray(np.count_nonzero(self.data, axis=dims), np.int64),
                      dtype=np.int64)

    # ----- shape -----------------------------------------------------------------------
    def reshape(self, *shape: int) -> "Tensor":
        """Same data, new shape (one entry may be -1); the shape as ints or one tuple."""
        return F.Reshape.apply(self, shape=_shape_args(shape, "reshape"))

    def view(self, *shape: int) -> "Tensor":
        """PyTorch's view: the same as reshape here (any tensor may be viewed; the result
        does not share in-place changes with the original when a copy was needed)."""
        return F.Reshape.apply(self, shape=_shape_args(shape, "view"))

    def view_as(self, other: "Tensor") -> "Tensor":
        """This tensor reshaped to `other`'s shape."""
        return self.reshape(other.shape)

    reshape_as = view_as

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> "Tensor":
        """Merge dims start_dim..end_dim into one."""
        if self.ndim == 0:
            return self.reshape(1)
        a, b = _dim(start_dim, self.ndim, "flatten"), _dim(end_dim, self.ndim, "flatten")
        if a > b:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        return self.reshape(self.shape[:a] + (-1,) + self.shape[b + 1:])

    def unsqueeze(self, dim: int) -> "Tensor":
        """A new dim of length 1 at `dim` (from -ndim-1 to ndim)."""
        d = _dim(dim, self.ndim + 1, "unsqueeze")
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def squeeze(self, dim: int | Sequence[int] | None = None) -> "Tensor":
        """Drop dims of length 1 (only `dim`, or the dims in a tuple `dim`, when given; a
        named dim whose length is not 1 stays, as in PyTorch)."""
        if dim is None:
            dims = {i for i, n in enumerate(self.shape) if n == 1}
        else:
            given = dim if isinstance(dim, (tuple, list)) else (dim,)
            dims = {d for d in (_dim(g, self.ndim, "squeeze") if self.ndim else 0 for g in given)
                    if self.ndim and self.shape[d] == 1}
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if i not in dims))

    def permute(self, *dims: int) -> "Tensor":
        """Reorder the dims: result dim i is input dim dims[i] (negative dims allowed)."""
        return F.Transpose.apply(self, axes=_shape_args(dims))

    def transpose(self, dim0: int, dim1: int) -> "Tensor":
        """Swap two dims (PyTorch's meaning; `permute` reorders all of them)."""
        d0, d1 = _dim(dim0, self.ndim, "transpose"), _dim(dim1, self.ndim, "transpose")
        axes = list(range(self.ndim))
        axes[d0], axes[d1] = axes[d1], axes[d0]
        return F.Transpose.apply(self, axes=tuple(axes))

    swapaxes = transpose

    def t(self) -> "Tensor":
        """Transpose of a matrix (a 0-d or 1-d tensor is returned as it is)."""
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor of at most 2 dims, got shape {self.shape} "
                             "(use transpose(d0, d1) or permute)")
        return self if self.ndim < 2 else self.transpose(0, 1)

    @property
    def T(self) -> "Tensor":
        """All dims reversed."""
        return F.Transpose.apply(self, axes=None)

    def contiguous(self) -> "Tensor":
        """This tensor (every tensor is usable as it is here)."""
        return self

    def expand(self, *sizes: int) -> "Tensor":
        """Broadcast to `sizes` (-1 keeps a dim); the gradient is summed back."""
        sizes = _shape_args(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ValueError(f"expand: {len(sizes)} sizes for a tensor of shape {self.shape}")
        shape = tuple(self.shape[i - lead] if n == -1 and i >= lead else n
                      for i, n in enumerate(sizes))
        return F.Expand.apply(self, shape=shape)

    def expand_as(self, other: "Tensor") -> "Tensor":
        """Broadcast to `other`'s shape."""
        return self.expand(other.shape)

    def narrow(self, dim: int, start: int, length: int) -> "Tensor":
        """Elements start..start+length-1 along `dim`."""
        d = _dim(dim, self.ndim, "narrow")
        n = self.shape[d]
        start = start + n if start < 0 else start
        if not (0 <= start <= n and 0 <= length <= n - start):
            raise IndexError(f"narrow: start {start} and length {length} do not fit dim {dim} "
                             f"of length {n}")
        return self[(slice(None),) * d + (slice(start, start + length),)]

    def flip(self, *dims: int) -> "Tensor":
        """The elements in reverse order along each of `dims` (ints or one tuple)."""
        index = [slice(None)] * self.ndim
        for d in _shape_args(dims, "flip"):
            d = _dim(d, self.ndim, "flip")
            if self.ndim and index[d] != slice(None):
                raise ValueError(f"flip: dim {d} appears twice in dims {dims}")
            if self.ndim:
                index[d] = slice(None, None, -1)
        return self[tuple(index)]

    def repeat(self, *repeats: int) -> "Tensor":
        """Tile the tensor `repeats[i]` times along dim i (ints or one tuple, at least one per
        dim; extra leading ones add dims), as torch.Tensor.repeat (numpy.tile)."""
        reps = _shape_args(repeats, "repeat")
        if len(reps) < self.ndim:
            raise ValueError(f"repeat: {len(reps)} repeats for a tensor of {self.ndim} dims "
                             f"(shape {self.shape}); give at least one per dim")
        if any(r < 0 for r in reps):
            raise ValueError(f"repeat: repeats must be >= 0, got {reps}")
        shape = (1,) * (len(reps) - self.ndim) + self.shape
        pairs = self.reshape(sum(((1, n) for n in shape), ()))  # a length-1 dim before each
        pairs = pairs.expand(sum(((r, n) for r, n in zip(reps, shape)), ()))
        return pairs.reshape(tuple(r * n for r, n in zip(reps, shape)))

    def repeat_interleave(self, repeats: Any, dim: int | None = None) -> "Tensor":
        """Each element repeated `repeats` times along `dim` (the flattened tensor when None):
        repeats an int, or one count per entry along dim (a 1-d integer tensor or list)."""
        x = self.reshape(-1) if dim is None else self if self.ndim else self.reshape(1)
        d = 0 if dim is None else _dim(dim, x.ndim, "repeat_interleave")
        r = np.asarray(_data(repeats))
        if isinstance(repeats, bool) or r.dtype.kind not in "iu" or r.ndim > 1:
            raise TypeError(f"repeat_interleave: repeats must be an int or a 1-d integer tensor, "
                            f"got {repeats!r:.60}")
        if r.ndim and len(r) not in (1, x.shape[d]):
            raise ValueError(f"repeat_interleave: {len(r)} repeats for dim {d} of length "
                             f"{x.shape[d]} (give one, or one per entry)")
        if r.size and r.min() < 0:
            raise ValueError(f"repeat_interleave: repeats must be >= 0, got {repeats!r:.60}")
        return x.index_select(d, np.repeat(np.arange(x.shape[d]), r.reshape(-1)
                                           if r.ndim and len(r) == x.shape[d] else int(r.flat[0])))

    def unbind(self, dim: int = 0) -> tuple["Tensor", ...]:
        """The slices along `dim`, that dim removed, as a tuple."""
        if self.ndim == 0:
            raise IndexError("unbind: a 0-d tensor has no dim to unbind")
        d = _dim(dim, self.ndim, "unbind")
        return tuple(self[(slice(None),) * d + (i,)] for i in range(self.shape[d]))

    def index_select(self, dim: int, index: Any) -> "Tensor":
        """The entries at `index` (a 1-d or 0-d integer tensor, array or list) along `dim`,
        in that order; repeated indices accumulate their gradients."""
        idx = np.asarray(_data(index))
        if idx.dtype.kind not in "iu":
            raise TypeError(f"index_select: index must hold integers, got dtype {idx.dtype}")
        if idx.ndim > 1:
            raise ValueError(f"index_select: index must be 1-d or 0-d, got shape {idx.shape}")
        x = self if self.ndim else self.reshape(1)
        d = _dim(dim, x.ndim, "index_select")
        n = x.shape[d]
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise IndexError(f"index_select: an index is outside 0..{n - 1} (dim {dim} of "
                             f"length {n})")
        out = x[(slice(None),) * d + (idx.reshape(-1),)]
        return out if self.ndim else out.reshape(idx.shape)

    def __getitem__(self, index: Any) -> "Tensor":
        fresh = self.requires_grad and not getattr(self, "_used", False)  # (unset: slow)
        out = F.GetItem.apply(self, index=index)
        if fresh and out._ctx is not None:
            # this read is self's one consumer so far: `t[i] += v` (read, then write back) may
            # still rewrite t, moving the read onto the old version (see __setitem__)
            self._used = weakref.ref(out)
        return out

    def split(self, split_size_or_sections: int | Sequence[int], dim: int = 0, *,
              axis: int | None = None) -> tuple["Tensor", ...]:
        """PyTorch's split along `dim`: an int is the size of each part (the last may be
        smaller); a list gives the parts' sizes. (`chunk(n)` makes n parts.)"""
        dim = _alias(dim, 0, axis, "dim", "axis", "split")
        d = _dim(dim, self.ndim, "split")
        length = self.shape[d]
        if isinstance(split_size_or_sections, (int, np.integer)):
            size = int(split_size_or_sections)
            if size <= 0:
                raise ValueError(f"split: split_size must be positive, got {size}")
            sizes = [min(size, length - s) for s in range(0, length, size)] or [0]
        else:
            sizes = [int(s) for s in split_size_or_sections]
            if sum(sizes) != length or min(sizes, default=0) < 0:
                raise ValueError(f"split: sizes {sizes} do not add up to {length}, the length "
                                 f"of dim {dim} (shape {self.shape})")
        parts, start = [], 0
        for size in sizes:
            parts.append(self[(slice(None),) * d + (slice(start, start + size),)])
            start += size
        return tuple(parts)

    def chunk(self, chunks: int, dim: int = 0) -> tuple["Tensor", ...]:
        """Split into `chunks` parts along `dim`, each of ceil(length / chunks) elements (the
        last may be smaller, and there may be fewer parts), as torch.chunk."""
        if int(chunks) <= 0:
            raise ValueError(f"chunk: chunks must be positive, got {chunks}")
        length = self.shape[_dim(dim, self.ndim, "chunk")]
        return self.split(max(1, -(-length // int(chunks))), dim)

    # ----- dtype and device ------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> "Tensor":
        """`to(dtype)`, `to(device)`, `to(device, dtype)`, `to(other_tensor)` (its dtype), or
        keywords `dtype=`/`device=`; only the CPU exists. Returns self when nothing changes;
        a float-to-float cast stays in the graph."""
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        copy = kwargs.pop("copy", False)
        if kwargs:
            raise TypeError(f"to: unexpected keyword {next(iter(kwargs))!r}")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif C.is_device(a):
                device = a
            else:
                dtype = a
        if device is not None:
            C.device(device)  # raises for anything but the CPU
        out = self if dtype is None else self._cast(C.as_dtype(dtype, "to"))
        return out.clone() if copy and out is self else out

    def cpu(self) -> "Tensor":
        """This tensor (it is already on the CPU)."""
        return self

    def cuda(self, *args: Any, **kwargs: Any) -> "Tensor":
        """Always an error: tinygrad_rnn runs on the CPU only."""
        return self.to("cuda")

    def type(self, dtype: Any = None) -> Any:
        """With no argument, the type name ('torch.FloatTensor', ...); with a dtype (or
        `LongTensor`-style name), the tensor cast to it."""
        if dtype is None:
            return C.type_name(self.data.dtype)
        return self._cast(C.as_dtype(dtype, "type"))

    def float(self) -> "Tensor":
        """Cast to float32."""
        return self._cast(np.dtype(np.float32))

    def double(self) -> "Tensor":
        """Cast to float64."""
        return self._cast(np.dtype(np.float64))

    def long(self) -> "Tensor":
        """Cast to int64 (not differentiable)."""
        return self._cast(np.dtype(np.int64))

    def int(self) -> "Tensor":
        """Cast to int32 (not differentiable)."""
        return self._cast(np.dtype(np.int32))

    def bool(self) -> "Tensor":
        """Cast to bool (not differentiable)."""
        return self._cast(np.dtype(np.bool_))

    def is_floating_point(self) -> bool:
        """True for float32 and float64 tensors."""
        return self.data.dtype.kind == "f"

    def _cast(self, dtype: np.dtype) -> "Tensor":
        if dtype == self.data.dtype:
            return self
        if dtype.kind == "f" and self.data.dtype.kind == "f":
            return F.Cast.apply(self, dtype=dtype)  # differentiable: the gradient is cast back
        return Tensor(self.data.astype(dtype), dtype=dtype)  # leaves the graph, as in PyTorch

    def type_as(self, other: "Tensor") -> "Tensor":
        """This tensor cast to `other`'s dtype."""
        if not isinstance(other, Tensor):
            raise TypeError(f"type_as: other must be a Tensor, got {type(other).__name__}")
        return self._cast(other.data.dtype)

    def new_tensor(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> "Tensor":
        """A new leaf holding a copy of `data`, with this tensor's dtype unless `dtype` is
        given."""
        dtype = self.data.dtype if dtype is None else C.as_dtype(dtype, "new_tensor")
        return Tensor(np.array(_data(data), dtype=dtype), dtype=dtype,
                      requires_grad=requires_grad)

    def new_zeros(self, *size: int, dtype: Any = None, requires_grad: bool = False) -> "Tensor":
        """Zeros of `size`, with this tensor's dtype unless `dtype` is given."""
        return self.new_full(_shape_args(size), 0, dtype=dtype, requires_grad=requires_grad)

    def new_ones(self, *size: int, dtype: Any = None, requires_grad: bool = False) -> "Tensor":
        """Ones of `size`, with this tensor's dtype unless `dtype` is given."""
        return self.new_full(_shape_args(size), 1, dtype=dtype, requires_grad=requires_grad)

    def new_full(self, size: Any, fill_value: float, dtype: Any = None,
                 requires_grad: bool = False) -> "Tensor":
        """`fill_value` everywhere in `size`, with this tensor's dtype unless `dtype` is given."""
        dtype = self.data.dtype if dtype is None else C.as_dtype(dtype, "new_full")
        return Tensor(np.full(_shape_args((size,)), fill_value, dtype), dtype=dtype,
                      requires_grad=requires_grad)

    # ----- in place (only where no gradient is being recorded) -------------------------
    def _write(self, fn: str, change: Any, source: Any = None) -> "Tensor":
        """Run `change(self.data)`, which writes into the array, after checking that nothing
        recorded for backward is being changed and that `source` (the value written in) needs
        no gradient; bumps the version."""
        if isinstance(source, Tensor) and source.requires_grad and is_grad_enabled():
            raise RuntimeError(f"{fn}: the value written in requires grad, and an in-place "
                               "method here does not record the graph (its gradient would be "
                               "lost); write `x = x + y` (or `x[i] = y`) instead")
        if self.requires_grad and is_grad_enabled():
            if self._ctx is None:
                raise RuntimeError(f"{fn}: a leaf tensor that requires grad cannot be changed "
                                   "in place outside `with no_grad():` (as in PyTorch)")
            raise RuntimeError(f"{fn}: this tensor was made by '{self.op}', inside the recorded "
                               "graph, and an in-place change is not recorded (its gradient "
                               f"would be wrong); use the out-of-place form, `t = t.{fn[:-1]}(...)`"
                               f" instead of `t.{fn}(...)`")
        if not self.data.flags.writeable:
            raise RuntimeError(f"{fn}: the tensor's data is read-only (an expand() result, or "
                               "an array NumPy marked read-only); clone() it first")
        try:
            change(self.data)
        except (TypeError, ValueError) as e:  # e.g. float into int64 ("same_kind" casting)
            raise (TypeError if isinstance(e, TypeError) else ValueError)(f"{fn}: {e}") from None
        self._bump_version()
        return self

    def add_(self, other: Any, alpha: float = 1) -> "Tensor":
        """self += alpha * other, in place."""
        v = _data(other) if alpha == 1 else np.multiply(_data(other), alpha)
        return self._write("add_", lambda a: np.add(a, v, out=a, casting="same_kind"), other)

    def sub_(self, other: Any, alpha: float = 1) -> "Tensor":
        """self -= alpha * other, in place."""
        return self.add_(other, -alpha)

    def mul_(self, other: Any) -> "Tensor":
        """self *= other, in place."""
        return self._write("mul_", lambda a: np.multiply(a, _data(other), out=a,
                                                         casting="same_kind"), other)

    def div_(self, other: Any) -> "Tensor":
        """self /= other, in place (a float tensor only)."""
        return self._write("div_", lambda a: np.divide(a, _data(other), out=a,
                                                       casting="same_kind"), other)

    def clamp_(self, min: float | None = None, max: float | None = None) -> "Tensor":
        """Clamp in place."""
        return self._write("clamp_", lambda a: np.clip(a, min, max, out=a))

    def abs_(self) -> "Tensor":
        """|x| in place."""
        return self._write("abs_", lambda a: np.abs(a, out=a))

    def tanh_(self) -> "Tensor":
        """tanh in place."""
        return self._write("tanh_", lambda a: np.tanh(a, out=a))

    def sigmoid_(self) -> "Tensor":
        """sigmoid in place."""
        return self._write("sigmoid_", lambda a: np.copyto(a, _sigmoid(a), casting="same_kind"))

    def relu_(self) -> "Tensor":
        """max(x, 0) in place."""
        return self._write("relu_", lambda a: np.maximum(a, 0, out=a))

    def masked_fill_(self, mask: Any, value: float) -> "Tensor":
        """Write `value` wherever the boolean `mask` (broadcast to this shape) is True."""
        m = np.asarray(_data(mask))
        if m.dtype != np.bool_:
            raise TypeError(f"masked_fill_: mask must be boolean, got dtype {m.dtype}")
        if np.ndim(_data(value)) != 0:
            raise ValueError(f"masked_fill_: value must be a number or a 0-d tensor, got shape "
                             f"{np.shape(_data(value))}")
        if not broadcasts_to(m.shape, self.shape):
            raise ValueError(f"masked_fill_: mask of shape {m.shape} does not broadcast to the "
                             f"tensor's shape {self.shape}")
        return self._write("masked_fill_", lambda a: np.copyto(a, _data(value), where=m,
                                                              casting="same_kind"), value)

    def detach_(self) -> "Tensor":
        """Cut this tensor from the graph in place: it becomes a leaf that needs no grad (its
        tags marked `cut`, as `detach()`); returns self."""
        self._ctx, self.requires_grad = None, False
        if self.tags:
            self.tags = {**self.tags, "cut": True}
        return self

    def zero_(self) -> "Tensor":
        """Set every element to 0, in place."""
        return self.fill_(0)

    def fill_(self, value: Any) -> "Tensor":
        """Set every element to `value`, in place."""
        return self._write("fill_", lambda a: a.fill(_data(value)), value)

    def copy_(self, src: Any) -> "Tensor":
        """Copy `src` (broadcast to this shape, cast to this dtype) into this tensor."""
        def change(a: np.ndarray) -> None:
            a[...] = _data(src)
        return self._write("copy_", change, src)

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> "Tensor":
        """Fill with draws from U(a, b) (the library's generator: `manual_seed` fixes it)."""
        def change(arr: np.ndarray) -> None:
            arr[...] = get_rng().uniform(a, b, arr.shape)
        return self._write("uniform_", change)

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> "Tensor":
        """Fill with draws from N(mean, std^2) (the library's generator)."""
        def change(arr: np.ndarray) -> None:
            arr[...] = get_rng().normal(mean, std, arr.shape)
        return self._write("normal_", change)

    def unsqueeze_(self, dim: int) -> "Tensor":
        """unsqueeze in place (a tensor that needs no grad)."""
        return self._reshape_("unsqueeze_", self.unsqueeze, dim)

    def squeeze_(self, dim: Any = None) -> "Tensor":
        """squeeze in place (a tensor that needs no grad)."""
        return self._reshape_("squeeze_", self.squeeze, dim)

    def t_(self) -> "Tensor":
        """t() in place (a tensor that needs no grad)."""
        return self._reshape_("t_", lambda _: self.t(), None)

    def _reshape_(self, fn: str, op: Any, arg: Any) -> "Tensor":
        if self.requires_grad:
            raise RuntimeError(f"{fn}: cannot change the shape of a tensor that requires grad "
                               "in place; use the out-of-place form")
        self.data = op(arg).data
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        """t[index] = value. Writes in place into a tensor that needs no grad; when `value`
        requires grad, `t` becomes a node of the graph (t = scatter of value into old t), as in
        PyTorch's `outputs[i] = h`."""
        value_grad = isinstance(value, Tensor) and value.requires_grad and is_grad_enabled()
        if value_grad or (self.requires_grad and self._ctx is not None and is_grad_enabled()):
            if self.requires_grad and self._ctx is None:
                raise RuntimeError("__setitem__: a leaf tensor that requires grad cannot be "
                                   "changed in place outside `with no_grad():` (as in PyTorch)")
            used = getattr(self, "_used", False)
            reader = used() if isinstance(used, weakref.ref) else None  # t[i] += v: its read
            if used is True or (reader is not None and reader._ctx is not None and (
                    reader._ctx.parents[0] is not self or _stale_view(reader, self, index, value))):
                raise RuntimeError("__setitem__: this tensor is already an input of a recorded "
                                   "op, which would then see the new values; assign into "
                                   "t.clone(), or collect the values and use tg.stack")
            old = Tensor.__new__(Tensor)  # the old version keeps the old identity's history
            old.data, old.grad, old.requires_grad = self.data, None, self.requires_grad
            old.name, old.tags, old._ctx = self.name, self.tags, self._ctx
            old._vc, old._base = self._vc, self._base
            hooks, old._hooks = self._hooks, None
            if hooks:  # as in PyTorch: hooks so far get the old value's gradient, .grad the new
                self._hooks = {_RETAIN: hooks.pop(_RETAIN)} if _RETAIN in hooks else None
                old._hooks = hooks
            out = F.SetItem.apply(old, self._lift(value), index=index)
            repointed = reader is not None and reader._ctx is not None
            if repointed:  # `t[i] += v`: the read of t[i] saw the old values, keeps them
                reader._ctx.parents = (old,)
                if reader._base is self:
                    reader._base = old
            self.data, self._ctx, self.requires_grad = out.data, out._ctx, out.requires_grad
            self._used = False  # the new node has no consumers yet
            if repointed and self._base is None:  # only the read shared the old values (which
                self._vc = [self._vc[0] + 1]  # SetItem copied, not changed): a new counter
            else:
                self._bump_version()  # ops that saved the old values now refuse to backward
            return

        def change(a: np.ndarray) -> None:
            F.assign(a, F._plain_index(index), _data(value))
        self._write("__setitem__", change)

    def _iop(self, other: Any, fn: str, op: Any, ufunc: Any) -> "Tensor":
        """x += y and friends: in place when no gradient is recorded; for a non-leaf in the
        graph, or a y that requires grad, the out-of-place result (Python rebinds the name)."""
        recording = is_grad_enabled() and (
            (self.requires_grad and self._ctx is not None)
            or (isinstance(other, Tensor) and other.requires_grad and not self.requires_grad))
        if recording:  # `total += h` with h in the graph: total becomes the new node
            return op(self, other)
        return self._write(fn, lambda a: ufunc(a, _data(other), out=a, casting="same_kind"))

    def __iadd__(self, other): return self._iop(other, "+=", Tensor.__add__, np.add)
    def __isub__(self, other): return self._iop(other, "-=", Tensor.__sub__, np.subtract)
    def __imul__(self, other): return self._iop(other, "*=", Tensor.__mul__, np.multiply)
    def __itruediv__(self, other): return self._iop(other, "/=", Tensor.__truediv__, np.divide)


class ValuesIndices(tuple):
    """What max(dim), min(dim) and topk return: a pair `(values, indices)` that also has those
    two names as attributes (as PyTorch's return types)."""

    __slots__ = ()

    def __new__(cls, values: "Tensor", indices: "Tensor") -> "ValuesIndices":
        return super().__new__(cls, (values, indices))

    values = property(lambda self: self[0], doc="The values (differentiable).")
    indices = property(lambda self: self[1], doc="Their int64 indices along the dim.")

    def __repr__(self) -> str:
        return f"ValuesIndices(values={self[0]!r}, indices={self[1]!r})"


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _stale_view(reader: Tensor, t: Tensor, index: Any, value: Any) -> bool:
    """Whether writing `value` into t[index] would leave `reader`, the one read of t so far,
    showing old values where PyTorch's would show new ones: a read by ints and slices is a view
    of t in PyTorch, which sees a write into the elements it covers. `t[i] += v` is let through
    (the value computed from the read, a temporary there: nothing else sees it afterwards)."""
    read = getattr(reader._ctx, "index", None)
    if isinstance(read, (np.ndarray, tuple)):  # a 0-d integer tensor indexes
        parts = read if isinstance(read, tuple) else (read,)  # as an int (a view) in PyTorch
        read = tuple(int(p) if isinstance(p, np.ndarray) and p.ndim == 0 and p.dtype.kind in "iu"
                     else p for p in parts)
    if read is None or not F._is_basic(read):
        return False  # integer arrays or masks copy, in PyTorch too: old values there as here
    if value is reader or (isinstance(value, Tensor) and value._ctx is not None
                           and any(p is reader for p in value._ctx.parents)):
        return False
    covered = np.zeros(t.shape, dtype=bool)
    covered[read] = True
    try:
        return bool(covered[F._plain_index(index)].any())  # the write reaches the view
    except IndexError:
        return False  # a bad index: the write itself says what is wrong


# `array <op> tensor`: NumPy's ufunc for the operator, and the Tensor method Python would have
# called had NumPy stepped aside (see Tensor.__array_ufunc__)
_REFLECTED = {np.add: "__radd__", np.subtract: "__rsub__", np.multiply: "__rmul__",
              np.true_divide: "__rtruediv__", np.floor_divide: "__rfloordiv__",
              np.remainder: "__rmod__", np.power: "__rpow__", np.matmul: "__rmatmul__",
              np.less: "__gt__", np.less_equal: "__ge__", np.greater: "__lt__",
              np.greater_equal: "__le__", np.equal: "__eq__", np.not_equal: "__ne__",
              np.bitwise_and: "__rand__", np.bitwise_or: "__ror__", np.bitwise_xor: "__rxor__"}


def _numbers(other: Any, fn: str) -> np.ndarray:
    """The other operand of a comparison as a numeric array, or a TypeError naming `fn`."""
    arr = np.asarray(_data(other))
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: other must be a Tensor, an array or numbers, got "
                        f"{type(other).__name__}")
    return arr


def _numbers_or_tensor(other: Any, fn: str) -> Any:
    """other unchanged if it is a Tensor, else as a numeric array, or a TypeError naming fn."""
    return other if isinstance(other, Tensor) else _numbers(other, fn)


def _mask(arr: Any) -> "Tensor":
    """A comparison's boolean result as a tensor (outside the graph)."""
    return Tensor(np.asarray(arr), dtype=np.bool_)


def _dim(dim: Any, ndim: int, fn: str) -> int:
    """`dim` as a non-negative int below ndim (negative counts from the end), or an error."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{fn}: dim must be an int, got {type(dim).__name__}")
    lo, hi = -max(ndim, 1), max(ndim, 1) - 1
    if not lo <= dim <= hi:
        raise IndexError(f"{fn}: dim {dim} is out of range for a tensor of {ndim} dims "
                         f"(expected {lo} to {hi})")
    return int(dim) % max(ndim, 1)


def _alias(value: Any, default: Any, alias: Any, name: str, alias_name: str, fn: str) -> Any:
    """The value of a keyword given under its PyTorch name or its NumPy alias (not both)."""
    if alias is None:
        return value
    if value is not default and value != default:
        raise TypeError(f"{fn}: got both {name}= and {alias_name}=; give one")
    return alias


def _norm_dims(dim: Any) -> Any:
    """A list of dims as a tuple; no dims at all ([] or ()) as None: every dim, as PyTorch."""
    dim = tuple(dim) if isinstance(dim, list) else dim
    return None if isinstance(dim, tuple) and not dim else dim


def _reduce_args(dim: Any, keepdim: Any, axis: Any, keepdims: Any, fn: str) -> tuple:
    """(dim, keepdim) from the PyTorch spellings or their NumPy aliases axis=/keepdims=."""
    dim = _alias(dim, None, axis, "dim", "axis", fn)
    keepdim = _alias(keepdim, False, keepdims, "keepdim", "keepdims", fn)
    return _norm_dims(dim), bool(keepdim)


def _shape_args(shape: tuple, fn: str = "size") -> tuple:
    """Sizes given as ints, or as one tuple/list, as a tuple of ints (never a float or a
    string silently converted)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"{fn}: sizes must be ints or one tuple of ints, got {shape!r}")
    return tuple(int(n) for n in shape)


_ABSENT = object()  # `where(condition)` was called with one argument


def where(condition: Any, x: Any = _ABSENT, y: Any = _ABSENT) -> Any:
    """x where `condition` is True, else y (broadcasting); the gradient of each goes where it
    was picked. With the condition alone: `condition.nonzero(as_tuple=True)`, as PyTorch."""
    if x is _ABSENT and y is _ABSENT:
        cond = condition if isinstance(condition, Tensor) else Tensor(np.asarray(condition),
                                                                      dtype=np.bool_)
        return cond.nonzero(as_tuple=True)
    if x is _ABSENT or y is _ABSENT:
        raise TypeError("where: give both x and y, or the condition alone")
    cond = np.array(_data(condition))  # a copy: a mask changed in place later changes nothing
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be boolean, got dtype {cond.dtype}")
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):  # numbers: PyTorch's dtypes
        arr = np.asarray(x)  # (where(c, 1, 0) is int64, where(c, 1., 0) the default float)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"where: x must hold real numbers, got {type(x).__name__}")
        if arr.dtype.kind == "f" and not isinstance(x, np.ndarray):
            arr = arr.astype(_default_dtype[0])
        x = Tensor(arr, dtype=arr.dtype)
    a, b = x._pair(y) if isinstance(x, Tensor) else y._pair(x)[::-1]
    return F.Where.apply(a, b, condition=cond)


def cat(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing dim (`axis` is an alias)."""
    return F.Cat.apply(*tensor_list(tensors, "cat", "tensors", one=False, empty=False),
                       axis=_alias(dim, 0, axis, "dim", "axis", "cat"))


def stack(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join tensors along a new dim (`axis` is an alias)."""
    return F.Stack.apply(*tensor_list(tensors, "stack", "tensors", one=False, empty=False),
                         axis=_alias(dim, 0, axis, "dim", "axis", "stack"))


def tensor_list(value: Any, fn: str, arg: str, *, one: bool = True,
                empty: bool = True) -> list[Tensor]:
    """`value` as a list of Tensors, checked once at a public entry point: any iterable of
    Tensors, or one Tensor as a list of one (`one`; else a Tensor is refused, as cat and stack
    refuse it rather than split it into rows), empty only if `empty`. Errors name `fn`, the
    argument `arg` and the first item that is not a Tensor."""
    if isinstance(value, Tensor):
        if one:
            return [value]
        raise TypeError(f"{fn}: {arg} must be a sequence of Tensors, got one Tensor (of shape "
                        f"{value.shape}); put it in a list")
    try:
        items = list(value)
    except TypeError:
        raise TypeError(f"{fn}: {arg} must be {'a Tensor or ' if one else ''}a sequence of "
                        f"Tensors, got {type(value).__name__}") from None
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}: {arg}[{i}] is a {type(t).__name__}, not a Tensor "
                            "(wrap arrays in Tensor(...))")
    if not items and not empty:
        raise ValueError(f"{fn}: {arg} is empty")
    return items


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


_RETAIN = "retain_grad"  # its key among a tensor's hooks; it runs after all the others


class RemovableHandle:
    """What `Tensor.register_hook` returns: `remove()` takes the hook off (once or more); it is
    also a context manager that removes the hook on leaving the block."""

    __slots__ = ("_hooks",)

    def __init__(self, hooks: dict) -> None:
        self._hooks = hooks

    def remove(self) -> None:
        """Take the hook off; no effect if it is already off."""
        self._hooks.pop(self, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def _run_hooks(hooks: dict, g: np.ndarray) -> np.ndarray:
    """The gradient g after a tensor's register_hook hooks, each given a copy as a Tensor: what
    a hook returns, or else its argument (changed in place or not) goes on."""
    for key, hook in list(hooks.items()):
        if key is _RETAIN:
            continue
        given = Tensor(g.copy(), dtype=g.dtype)
        new = hook(given)
        if new is None:  # the hook may have changed its argument in place (g.clamp_(-1, 1))
            g = given.data
            continue
        arr = new.data if isinstance(new, Tensor) else new
        if not isinstance(arr, np.ndarray) or arr.shape != g.shape or arr.dtype != g.dtype:
            got = (f"shape {arr.shape} and dtype {arr.dtype}" if isinstance(arr, np.ndarray)
                   else f"a {type(new).__name__}")
            raise RuntimeError(f"register_hook: the hook {getattr(hook, '__name__', hook)!r} "
                               f"returned {got}; it must return None or a Tensor of the "
                               f"gradient's shape {g.shape} and dtype {g.dtype}")
        g = arr
    return g


class Scatter:
    """A gradient that is g at `index` (a basic index: ints, slices) of an array of `shape` and
    zero elsewhere, as the backward of `t[index]` returns it: the engine adds g into that part of
    the gradient it accumulates, instead of a whole array of zeros per slice (a GRU cell slices
    its weight four times per step)."""

    __slots__ = ("shape", "index", "g")

    def __init__(self, shape: tuple, index: Any, g: np.ndarray) -> None:
        self.shape, self.index, self.g = shape, index, g

    def dense(self) -> np.ndarray:
        """The whole gradient as an array."""
        grad = np.zeros(self.shape, dtype=self.g.dtype)
        grad[self.index] = self.g
        return grad


def _add_into(grads: dict[Tensor, np.ndarray], p: Tensor, pg: Any) -> None:
    """grads[p] += pg (an array or a `Scatter`): in place when nothing but `grads` holds
    grads[p] (CPython's reference count: an array an op's backward returned may be another
    input's gradient too, or the caller's), into the picked part only for a Scatter."""
    old = grads.get(p)
    scatter = pg.__class__ is Scatter
    if old is None:
        grads[p] = pg.dense() if scatter else pg
        return
    dtype = pg.g.dtype if scatter else pg.dtype
    owned = (old.base is None and sys.getrefcount(old) == 3 and old.dtype == dtype
             and old.flags.writeable)  # the references: grads, `old`, getrefcount's argument
    if not scatter:
        if owned:
            old += pg
        else:
            grads[p] = old + pg
        return
    if not owned:
        old = grads[p] = old.astype(np.result_type(old, dtype))  # a copy of our own
    old[pg.index] += pg.g


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
    inputs = tensor_list(inputs, "grad", "inputs", empty=False)
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad, so no gradient "
                               "flows to it")
    seeds = _seeds(outputs, grad_outputs, "grad", "output", "grad_outputs")
    found = _propagate(seeds, retain_graph, False, targets=set(inputs))
    result = []
    for i, t in enumerate(inputs):
        g = found.get(t)
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} ({_describe(t)}) is not used to compute the "
                               "outputs; pass allow_unused=True to get None for it")
        result.append(g)
    return tuple(result)


def _seeds(roots: Any, grads: Any, fn: str, root: str, grads_name: str) -> dict:
    """{root tensor: its starting gradient} for one walk from several roots (a root given
    twice: the sum), from `grads`: one per root (a lone Tensor or array for one root), or None
    (1 for one-element roots). Errors name fn, "<root> i" and "<grads_name>[i]"."""
    roots = tensor_list(roots, fn, root + "s", empty=False)
    if grads is None:
        grads = [None] * len(roots)
    elif isinstance(grads, (Tensor, np.ndarray)) or not isinstance(grads, (list, tuple)):
        grads = [grads]
    if len(grads) != len(roots):
        raise ValueError(f"{fn}: {len(grads)} {grads_name} for {len(roots)} {root}s")
    seeds: dict[Tensor, np.ndarray] = {}
    for i, (t, g) in enumerate(zip(roots, grads)):
        if not t.requires_grad:
            raise RuntimeError(f"{fn}: {root} {i} does not require grad (no input to it has "
                               "requires_grad=True, or it was made under no_grad())")
        g = _seed_grad(t, g, f"{fn}: {grads_name}[{i}]")
        seeds[t] = g if t not in seeds else seeds[t] + g
    return seeds


def _describe(t: Tensor) -> str:
    return f"'{t.name}'" if t.name else f"shape {t.shape}" + (f", op {t.op}" if t.op else "")


def _seed_grad(t: Tensor, grad: Any, where: str) -> np.ndarray:
    """The starting gradient for `t`: 1 for a one-element tensor when none is given."""
    if grad is None:
        if t.data.size != 1:
            raise RuntimeError(f"{where} must be given for a non-scalar tensor of shape "
                               f"{t.shape}")
        return np.ones(t.data.shape, t.data.dtype)
    try:
        grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=t.data.dtype)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{where} must be numbers of the tensor's dtype {t.dtype}: {e}") from None
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
    written: list[tuple] = []  # (tensor, grad, add to .grad?): stored only once all is done
    freed: list = []  # the ops whose saved arrays this call released
    prints: dict[int, tuple] = {}  # id -> (array, fingerprint): a weight saved T times is read once
    t = None
    try:
        for t in reversed(order):
            g = grads.pop(t, None)  # intermediate gradients are dropped once used
            if g is None:
                continue
            ctx = t._ctx
            hooks = t._hooks
            if leads is not None and t in targets and ctx is not None:
                found[t] = g.copy()  # (PyTorch's: before the tensor's hooks, a leaf's after)
            if hooks:
                g = _run_hooks(hooks, g)
            if leads is not None:
                if t in targets and ctx is None:
                    found[t] = g.copy()  # an op's backward may later reuse g in place
                if t not in leads:
                    continue
            elif ctx is None:  # a leaf: accumulate
                if g.dtype != t.data.dtype:
                    g = g.astype(t.data.dtype)
                if not (g.base is None and sys.getrefcount(g) == 2):  # CPython: only `g` has it
                    g = g.copy()  # a view, or held elsewhere too (another input's grad)
                written.append((t, g, True))
                continue
            elif hooks and _RETAIN in hooks:  # retain_grad(): accumulates, as a leaf's .grad
                written.append((t, g, True))
            elif retain_grad and t.holds_grad:  # backward(retain_grad=True): this gradient
                written.append((t, g, False))
            saved = ctx.saved
            if saved is _FREED or saved.__class__ is _Failed:
                raise RuntimeError(_freed_message(ctx))
            for vc, version, arr, fp, owner in ctx.watched:  # were saved arrays changed since?
                if fp is not None:
                    seen = prints.get(id(arr))
                    if seen is None or seen[0] is not arr:
                        seen = prints[id(arr)] = (arr, _fingerprint(arr))
                if vc[0] != version or (fp is not None and seen[1] != fp):
                    raise RuntimeError(_changed_message(ctx, arr, owner, version, vc[0]))
            parent_grads = ctx.backward(g)
            if (not isinstance(parent_grads, (tuple, list))
                    or len(parent_grads) != len(ctx.parents)):
                got = (f"{len(parent_grads)} gradients" if isinstance(parent_grads, (tuple, list))
                       else f"a {type(parent_grads).__name__}")
                raise RuntimeError(f"backward of '{ctx.op}' returned {got} for "
                                   f"{len(ctx.parents)} inputs; it must return a tuple with one "
                                   "gradient (or None) per input")
            if not retain_graph:
                ctx.saved, ctx.watched = _FREED, ()
                freed.append(ctx)
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
                    _check_finite(pg.g if pg.__class__ is Scatter else pg, ctx, "backward")
                _add_into(grads, p, pg)
            parent_grads = pg = None  # so that a leaf's gradient is held by `grads` alone
    except Exception as e:  # leave every .grad as it was; say so, and mark what was freed
        where = f"op '{t._ctx.op}'" if t is not None and t._ctx is not None else "a leaf"
        e.add_note(f"(backward stopped at {where}: no .grad was changed"
                   + (f"; the saved arrays of the {len(freed)} ops it had passed are freed, so "
                      "run the forward pass again)" if freed else ")"))
        failure = _Failed(f"{type(e).__name__}: {str(e).splitlines()[0][:200]}")
        for ctx in freed:
            ctx.saved = failure
        raise
    with _GRAD_LOCK:  # threads running backward into one model's .grad: no update lost
        for t, g, add in written:
            t.grad = t.grad + g if add and t.grad is not None else g
    return found


def _watch(saved: tuple, parents: tuple, datas: list, out: Tensor, everything: bool) -> list:
    """What backward must check about an op's saved arrays: for each one that is (a view of)
    the data of an input (`datas` are the inputs' arrays) or of the op's result, the owner's
    version counter and the version it had. For a leaf's array (data may be the caller's ndarray,
    which the caller may refill; a parameter's `.data` may be written directly) also a
    fingerprint of the bytes; for every saved array when `everything` (under detect_anomaly).
    Entries are (counter, version, array, fingerprint or None, owner tensor, or None when the
    owner is the op's own result)."""
    watched = []
    for arr in saved:
        owner = None
        for i, d in enumerate(datas):
            if arr is d:
                owner = parents[i]
                break
        if owner is None:  # a view of an input's array, the result (or a view of it), or neither
            base = getattr(arr, "base", None)
            for i, d in enumerate(datas):
                if base is not None and (base is d or base is d.base):
                    owner = parents[i]
                    break
            else:
                d = out.data
                if not (arr is d or (base is not None and (base is d or base is d.base))):
                    continue  # an array the op computed for itself: nobody else can change it
                owner = out
        if owner._base is not None:
            owner = owner._base
        vc = owner._vc
        fp = _fingerprint(arr) if everything or (owner._ctx is None and owner is not out) else None
        watched.append((vc, vc[0], arr, fp, None if owner is out else owner))
    return watched


def _fingerprint(arr: np.ndarray) -> Any:
    """A fingerprint of an array's bytes: a CRC-32 under 1 KB; above, two sums over the bytes
    read as 64-bit words (`kernels.fingerprint.word_sums`: plain and weighted by position,
    wrapping; compiled once numba is in use, never the reason it is imported) plus the few bytes
    left over. Any change of one element changes either, and so do two different elements
    swapped; changes of several elements are missed only when they cancel exactly in both."""
    if not arr.flags.c_contiguous:  # a transpose is contiguous, or else fingerprint a copy
        arr = arr.T if arr.T.flags.c_contiguous else np.ascontiguousarray(arr)
    if arr.nbytes < 1024:
        return zlib.crc32(arr)
    if arr.nbytes % 8 == 0:
        words = np.frombuffer(arr, np.uint64)
        return once_loaded(word_sums)(words)
    raw = np.frombuffer(arr, np.uint8)
    whole = raw.size - raw.size % 8
    return once_loaded(word_sums)(raw[:whole].view(np.uint64)), raw[whole:].tobytes()


def _changed_message(ctx: Any, arr: np.ndarray, owner: Tensor | None, version: int,
                     now: int) -> str:
    if owner is None:
        what = f"its own result (shape {arr.shape})"
    elif owner.name:
        what = f"the data of tensor '{owner.name}' (shape {owner.shape})"
    else:
        made = f"made by op '{owner.op}'" if owner.op else "a leaf"
        what = f"the data of a tensor of shape {owner.shape} ({made})"
    if now != version:
        how = (f"it was changed in place since (version {version} -> {now}: an optimizer step "
               "or an in-place op ran between the forward pass and backward)")
    else:
        how = ("its values have changed since (written through `.data`, or through the NumPy "
               "array the tensor was made from, between the forward pass and backward)")
    where = getattr(ctx, "created_at", None)
    return (f"backward: op '{ctx.op}'{f' (created at {where})' if where else ''} saved {what} "
            f"for backward, and {how}; the gradient would be wrong. Run the forward pass again "
            "after changing a tensor, or change it after backward().")


def _check_finite(arr: np.ndarray, ctx: Any, phase: str) -> None:
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        bad = "NaN" if np.isnan(arr).any() else "inf"
        where = getattr(ctx, "created_at", None) or "an unknown place (outside detect_anomaly)"
        raise FloatingPointError(f"detect_anomaly: {phase} of op '{ctx.op}' produced {bad}; "
                                 f"the op was created at {where}")


_FREED = object()  # marks a Function whose saved arrays were released by backward
_GRAD_LOCK = threading.Lock()  # held while backward writes .grad (see _propagate)


class _Failed(str):
    """Marks a Function whose saved arrays a backward released before failing (the reason)."""


def _freed_message(ctx: Any) -> str:
    if ctx.saved is _FREED:
        return (f"backward: trying to backward through op '{ctx.op}' a second time; its saved "
                "arrays were freed by the first backward. Pass retain_graph=True to the first "
                "call to keep them.")
    return (f"backward: op '{ctx.op}' has no saved arrays any more: an earlier backward() "
            f"freed them and then failed ({ctx.saved}). That call changed no .grad; run the "
            "forward pass again (or pass retain_graph=True, which frees nothing).")

from tinygrad_rnn import creation as C  # noqa: E402  (dtypes and devices need Tensor)
from tinygrad_rnn import function as F  # noqa: E402  (ops need Tensor, Tensor needs ops)
from tinygrad_rnn.random import get_rng  # noqa: E402
