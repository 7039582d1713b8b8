"""PyTorch's tensor factories, dtypes and devices, so `import tinygrad_rnn as torch` works.

Dtypes are NumPy dtypes (`tg.float32 is np.dtype("float32")`), so `t.dtype == tg.long` holds
and `.data` stays a plain ndarray. The only device is the CPU: `device("cpu")`, and
`cuda.is_available()` / `accelerator.is_available()` are False; any other device is an error.
Random factories draw from the library's one generator (`manual_seed` fixes them), so they give
other numbers than PyTorch's for the same seed.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np

from tinygrad_rnn.checks import integer, number
from tinygrad_rnn.random import get_rng
from tinygrad_rnn.tensor import Tensor, _shape_args, get_default_dtype

# ----- dtypes ------------------------------------------------------------------------------------
float16 = half = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
int16 = short = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

# `float`, `int`, `bool` are exported under those names by the package (not here, where they
# would hide the builtins).
_BY_NAME = {"float": float32, "double": float64, "half": float16, "long": int64, "int": int32,
            "short": int16, "bool": bool_, "float16": float16, "float32": float32,
            "float64": float64, "int8": int8, "uint8": uint8, "int16": int16, "int32": int32,
            "int64": int64}
_TYPE_NAMES = {"torch.FloatTensor": float32, "torch.DoubleTensor": float64,
               "torch.HalfTensor": float16, "torch.LongTensor": int64, "torch.IntTensor": int32,
               "torch.ShortTensor": int16, "torch.CharTensor": int8, "torch.ByteTensor": uint8,
               "torch.BoolTensor": bool_}


def as_dtype(dtype: Any, fn: str) -> np.dtype:
    """A dtype given as a dtype, a Python type (`float` is float64, as in PyTorch), a name
    ('float32', 'torch.long', 'torch.LongTensor') or a `LongTensor`-style factory, as a NumPy
    dtype; an error naming `fn` otherwise."""
    if callable(dtype) and getattr(dtype, "_dtype", None) is not None:
        return dtype._dtype  # LongTensor, FloatTensor, ...
    if isinstance(dtype, str):
        name = dtype
        if name in _TYPE_NAMES:
            return _TYPE_NAMES[name]
        name = name[len("torch."):] if name.startswith("torch.") else name
        if name in _BY_NAME:
            return _BY_NAME[name]
        raise TypeError(f"{fn}: unknown dtype {dtype!r}")
    try:
        d = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{fn}: {dtype!r} is not a dtype") from None
    if d.kind not in "biuf":
        raise TypeError(f"{fn}: unsupported dtype {d} (float, int and bool only)")
    return d


def type_name(dtype: np.dtype) -> str:
    """PyTorch's name of a CPU tensor type: 'torch.FloatTensor' for float32, and so on."""
    for name, d in _TYPE_NAMES.items():
        if d == dtype:
            return name
    return f"torch.{dtype.name}"


class Size(tuple):
    """PyTorch's `torch.Size`: a tuple of dimension sizes, `Size([2, 3]) == (2, 3)`. Here
    `t.shape` and `t.size()` are plain tuples, which compare equal to it."""

    def __new__(cls, sizes: Any = ()) -> "Size":
        try:
            values = tuple(sizes)
        except TypeError:
            raise TypeError(f"Size: sizes must be a sequence of ints, got {sizes!r}") from None
        return super().__new__(cls, (integer(v, "Size", "each size", 0) for v in values))

    def numel(self) -> int:
        """The number of elements of a tensor of this shape."""
        return math.prod(self)

    def __repr__(self) -> str:
        return f"Size({list(self)})"


# ----- devices -----------------------------------------------------------------------------------
class device:  # lower case, as torch.device
    """A device: only "cpu" (or "cpu:0") exists here; anything else is a clear error."""

    __slots__ = ("type", "index")

    def __init__(self, type: Any = "cpu", index: int | None = None) -> None:
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        text = str(type)
        kind, _, number = text.partition(":")
        if kind != "cpu":
            raise RuntimeError(f"device: tinygrad_rnn runs on the CPU only; {text!r} is not "
                               "available (use 'cpu', or `torch.device('cuda' if "
                               "torch.cuda.is_available() else 'cpu')`)")
        if number and index is None:
            index = int(number)
        self.type, self.index = "cpu", index

    def __repr__(self) -> str:
        return f"device(type='cpu'{'' if self.index is None else f', index={self.index}'})"

    def __str__(self) -> str:
        return "cpu" if self.index is None else f"cpu:{self.index}"

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, str):
            return other.partition(":")[0] == "cpu"
        return isinstance(other, device)

    def __hash__(self) -> int:
        return hash("cpu")


CPU = device("cpu")


def is_device(x: Any) -> bool:
    """True for a `device`, a device string ('cpu', 'cuda:0', ...) or a device index."""
    return isinstance(x, (device, str)) or (isinstance(x, int) and not isinstance(x, bool))


class _Absent:
    """`cuda`, `accelerator`, `backends.mps`: an accelerator that is not there."""

    def __init__(self, name: str) -> None:
        self.name = name

    def is_available(self) -> bool:
        """Always False: tinygrad_rnn runs on the CPU only."""
        return False

    def device_count(self) -> int:
        """Always 0."""
        return 0

    def current_accelerator(self) -> None:
        """Always None (no accelerator)."""
        return None

    def manual_seed(self, seed: int) -> None:
        """Nothing to seed (there is no such device); accepted so seeding code runs."""

    manual_seed_all = manual_seed


cuda = _Absent("cuda")
accelerator = _Absent("accelerator")
backends = SimpleNamespace(mps=_Absent("mps"), cuda=_Absent("cuda"),
                           cudnn=SimpleNamespace(enabled=False, deterministic=False,
                                                 benchmark=False))


# ----- factories ---------------------------------------------------------------------------------
def _check_device(dev: Any) -> None:
    if dev is not None:
        device(dev)


def _new(arr: np.ndarray, requires_grad: bool, dev: Any, fn: str) -> Tensor:
    _check_device(dev)
    if requires_grad and arr.dtype.kind != "f":
        raise TypeError(f"{fn}: only floating-point tensors can require grad, got dtype "
                        f"{arr.dtype}")
    return Tensor(arr, dtype=arr.dtype, requires_grad=requires_grad)


def _sizes(size: tuple, fn: str, keyword: Any = None) -> tuple:
    """The shape from sizes given positionally (ints or one tuple) or as PyTorch's `size=`."""
    if keyword is not None:
        if size:
            raise TypeError(f"{fn}: give the sizes positionally or as size=, not both")
        size = (keyword,)
    shape = _shape_args(size, fn)
    if any(n < 0 for n in shape):
        raise ValueError(f"{fn}: sizes must be non-negative, got {shape}")
    return shape


def _float(dtype: Any, fn: str) -> np.dtype:
    return get_default_dtype() if dtype is None else as_dtype(dtype, fn)


def zeros(*sizes: Any, size: Any = None, dtype: Any = None, requires_grad: bool = False,
          device: Any = None) -> Tensor:
    """Zeros of shape `size` (ints or one tuple, or `size=`), in the default float dtype unless
    given."""
    arr = np.zeros(_sizes(sizes, "zeros", size), _float(dtype, "zeros"))
    return _new(arr, requires_grad, device, "zeros")


def ones(*sizes: Any, size: Any = None, dtype: Any = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    """Ones of shape `size`."""
    arr = np.ones(_sizes(sizes, "ones", size), _float(dtype, "ones"))
    return _new(arr, requires_grad, device, "ones")


def empty(*sizes: Any, size: Any = None, dtype: Any = None, requires_grad: bool = False,
          device: Any = None) -> Tensor:
    """A tensor of shape `size`; here it is filled with zeros (PyTorch leaves it undefined)."""
    arr = np.zeros(_sizes(sizes, "empty", size), _float(dtype, "empty"))
    return _new(arr, requires_grad, device, "empty")


def full(size: Any, fill_value: Any, *, dtype: Any = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    """`fill_value` everywhere; the dtype follows it (bool, int64 or the default float)."""
    if dtype is None:
        dtype = (bool_ if isinstance(fill_value, (bool, np.bool_)) else
                 int64 if isinstance(fill_value, (int, np.integer)) else get_default_dtype())
    arr = np.full(_sizes((size,), "full"), fill_value, as_dtype(dtype, "full"))
    return _new(arr, requires_grad, device, "full")


def _like(t: Any, fn: str) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}: expects a Tensor, got {type(t).__name__}")
    return t


def zeros_like(input: Tensor, *, dtype: Any = None, requires_grad: bool = False,
               device: Any = None) -> Tensor:
    """Zeros with `input`'s shape and dtype (unless `dtype` is given)."""
    t = _like(input, "zeros_like")
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, device=device)


def ones_like(input: Tensor, *, dtype: Any = None, requires_grad: bool = False,
              device: Any = None) -> Tensor:
    """Ones with `input`'s shape and dtype (unless `dtype` is given)."""
    t = _like(input, "ones_like")
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, device=device)


def empty_like(input: Tensor, *, dtype: Any = None, requires_grad: bool = False,
               device: Any = None) -> Tensor:
    """`zeros_like` (an empty tensor is zero-filled here)."""
    return zeros_like(input, dtype=dtype, requires_grad=requires_grad, device=device)


def full_like(input: Tensor, fill_value: Any, *, dtype: Any = None,
              requires_grad: bool = False, device: Any = None) -> Tensor:
    """`fill_value` with `input`'s shape and dtype (unless `dtype` is given)."""
    t = _like(input, "full_like")
    return full(t.shape, fill_value, dtype=dtype or t.dtype, requires_grad=requires_grad,
                device=device)


def randn(*sizes: Any, size: Any = None, dtype: Any = None, requires_grad: bool = False,
          device: Any = None, generator: Any = None) -> Tensor:
    """Standard normal draws of shape `size` (the library's generator)."""
    shape = _sizes(sizes, "randn", size)
    arr = _rng(generator).standard_normal(shape).astype(_float(dtype, "randn"))
    return _new(arr, requires_grad, device, "randn")


def rand(*sizes: Any, size: Any = None, dtype: Any = None, requires_grad: bool = False,
         device: Any = None, generator: Any = None) -> Tensor:
    """Uniform draws from [0, 1) of shape `size`."""
    shape = _sizes(sizes, "rand", size)
    arr = _rng(generator).random(shape).astype(_float(dtype, "rand"))
    return _new(arr, requires_grad, device, "rand")


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *, generator: Any = None,
           dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """Draws from N(mean, std^2), as PyTorch's `torch.normal`: `normal(0, 0.01, size=(2, 1))`
    with numbers and a size, or a tensor `mean` and/or `std` (one draw per element of their
    broadcast shape, in `mean`'s float dtype). The library's generator. Tensors that require
    grad are refused (PyTorch gives them a zero gradient); `mean + std * randn_like(mean)` is
    the draw differentiable in mean."""
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    if any(t.requires_grad for t in tensors):
        raise TypeError("normal: mean and std must not require grad here (PyTorch's draw "
                        "passes them a zero gradient); for a draw differentiable in mean, write "
                        "mean + std * torch.randn_like(mean)")
    if size is not None and tensors:
        raise TypeError("normal: size= goes with numbers for mean and std, not tensors")
    if size is None and not tensors:
        raise TypeError("normal: give size= when mean and std are numbers "
                        "(normal(0.0, 1.0, size=(2, 3)))")
    m = mean.data if isinstance(mean, Tensor) else number(mean, "normal", "mean")
    s = std.data if isinstance(std, Tensor) else number(std, "normal", "std")
    if not np.all(np.asarray(s) >= 0):  # (a NaN too, as PyTorch)
        raise ValueError("normal: std must be >= 0")
    if tensors:
        if dtype is None:  # mean's dtype if a tensor, else std's, as PyTorch
            dtype = tensors[0].dtype
            dtype = dtype if dtype.kind == "f" else get_default_dtype()
        try:
            shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        except ValueError:
            raise ValueError(f"normal: mean of shape {np.shape(m)} and std of shape "
                             f"{np.shape(s)} do not broadcast") from None
    else:
        shape = _sizes((size,), "normal")
    arr = (m + s * _rng(generator).standard_normal(shape)).astype(_float(dtype, "normal"))
    return _new(arr, requires_grad, device, "normal")


def randn_like(input: Tensor, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal draws with `input`'s shape and dtype."""
    t = _like(input, "randn_like")
    return randn(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def rand_like(input: Tensor, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) draws with `input`'s shape and dtype."""
    t = _like(input, "rand_like")
    return rand(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def randint(*args: Any, size: Any = None, dtype: Any = None, device: Any = None,
            generator: Any = None) -> Tensor:
    """`randint(high, size)` or `randint(low, high, size)`: integers in [low, high), int64."""
    if size is None and args and isinstance(args[-1], (tuple, list)):
        args, size = args[:-1], args[-1]
    if size is None or len(args) not in (1, 2):
        raise TypeError("randint: call as randint(high, size) or randint(low, high, size) with "
                        "size a tuple")
    low, high = (0, args[0]) if len(args) == 1 else args
    if int(high) <= int(low):
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    dtype = int64 if dtype is None else as_dtype(dtype, "randint")
    arr = _rng(generator).integers(int(low), int(high), _sizes((size,), "randint")).astype(dtype)
    return _new(arr, False, device, "randint")


def randperm(n: int, *, dtype: Any = None, device: Any = None, generator: Any = None) -> Tensor:
    """A random permutation of 0..n-1, int64."""
    arr = _rng(generator).permutation(int(n)).astype(int64 if dtype is None else
                                                       as_dtype(dtype, "randperm"))
    return _new(arr, False, device, "randperm")


def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None,
           requires_grad: bool = False, device: Any = None) -> Tensor:
    """start, start+step, ... below end (`arange(n)` is 0..n-1): int64 when all are ints,
    else the default float dtype, as in PyTorch."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must not be 0")
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = int64 if ints else get_default_dtype()
    arr = np.arange(start, end, step).astype(as_dtype(dtype, "arange"))
    return _new(arr, requires_grad, device, "arange")


def linspace(start: float, end: float, steps: int, *, dtype: Any = None,
             requires_grad: bool = False, device: Any = None) -> Tensor:
    """`steps` evenly spaced values from start to end, both included."""
    arr = np.linspace(start, end, int(steps)).astype(_float(dtype, "linspace"))
    return _new(arr, requires_grad, device, "linspace")


def eye(n: int, m: int | None = None, *, dtype: Any = None, requires_grad: bool = False,
        device: Any = None) -> Tensor:
    """The n x m identity matrix (m = n when omitted)."""
    arr = np.eye(int(n), None if m is None else int(m), dtype=_float(dtype, "eye"))
    return _new(arr, requires_grad, device, "eye")


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None,
           pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of `data`, typed like PyTorch's `torch.tensor`: Python ints
    give int64, floats the default dtype (float32), bools bool; an ndarray keeps its dtype."""
    if isinstance(data, Tensor):
        data = data.data
    elif isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in data):
        data = [x.data if isinstance(x, Tensor) else x for x in data]
    keep = isinstance(data, (np.ndarray, np.generic))
    arr = np.array(data)
    if dtype is not None:
        arr = arr.astype(as_dtype(dtype, "tensor"))
    elif arr.dtype.kind == "f" and not keep:
        arr = arr.astype(get_default_dtype())
    elif arr.dtype.kind not in "biuf":
        raise TypeError(f"tensor: cannot make a tensor of {type(data).__name__} "
                        f"(NumPy dtype {arr.dtype})")
    return _new(arr, requires_grad, device, "tensor")


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like `tensor`, but a Tensor of the right dtype is returned as it is and an ndarray's
    memory is shared when no cast is needed."""
    if isinstance(data, Tensor) and (dtype is None or as_dtype(dtype, "as_tensor") == data.dtype):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or
                                         as_dtype(dtype, "as_tensor") == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing `array`'s memory and dtype (changes to one show in the other)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expects an ndarray, got {type(array).__name__}")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"from_numpy: unsupported dtype {array.dtype}")
    return Tensor(array, dtype=array.dtype)


def _legacy(dtype: np.dtype, name: str) -> Any:
    """A `torch.LongTensor`-style constructor: from data (a list or array) or from sizes."""
    def make(*args: Any) -> Tensor:
        if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            return tensor(args[0], dtype=dtype)
        return zeros(*args, dtype=dtype)  # sizes: zero-filled here (undefined in PyTorch)
    make.__name__ = make.__qualname__ = name
    make.__doc__ = (f"`{name}(data)` is `tensor(data, dtype={dtype.name})`; `{name}(*sizes)` "
                    f"a zero-filled {dtype.name} tensor.")
    make._dtype = dtype  # so `t.type(LongTensor)` knows it
    return make


FloatTensor = _legacy(float32, "FloatTensor")
DoubleTensor = _legacy(float64, "DoubleTensor")
LongTensor = _legacy(int64, "LongTensor")
IntTensor = _legacy(int32, "IntTensor")
BoolTensor = _legacy(bool_, "BoolTensor")
ByteTensor = _legacy(uint8, "ByteTensor")


def _rng(generator: Any) -> np.random.Generator:
    """The generator to draw from: a `Generator` given by the caller, or the library's."""
    if generator is None:
        return get_rng()
    return getattr(generator, "rng", generator)
