"""The `torch.x(tensor, ...)` functions: each is the Tensor method of the same name, called on
a Tensor (an ndarray or a list is wrapped first), so `torch.max(x, 1)` is `x.max(1)`."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_rnn import function as F
from tinygrad_rnn.creation import _rng
from tinygrad_rnn.tensor import Tensor, _data


def _t(x: Any, fn: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: expects a Tensor, got {type(x).__name__}")
    return Tensor(arr, dtype=arr.dtype)


def is_tensor(obj: Any) -> bool:
    """True when `obj` is a Tensor."""
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    """Number of elements."""
    return _t(input, "numel").numel()


def exp(input: Tensor) -> Tensor:
    """Elementwise e**x."""
    return _t(input, "exp").exp()


def log(input: Tensor) -> Tensor:
    """Natural logarithm."""
    return _t(input, "log").log()


def sqrt(input: Tensor) -> Tensor:
    """Elementwise square root."""
    return _t(input, "sqrt").sqrt()


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    return _t(input, "tanh").tanh()


def sigmoid(input: Tensor) -> Tensor:
    """Logistic sigmoid."""
    return _t(input, "sigmoid").sigmoid()


def relu(input: Tensor) -> Tensor:
    """max(x, 0)."""
    return _t(input, "relu").relu()


def softmax(input: Tensor, dim: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim`."""
    return _t(input, "softmax").softmax(dim)


def log_softmax(input: Tensor, dim: int = -1) -> Tensor:
    """x - logsumexp(x) along `dim`."""
    return _t(input, "log_softmax").log_softmax(dim)


def sum(input: Tensor, dim: Any = None, keepdim: bool = False, **aliases: Any) -> Tensor:
    """Sum over `dim` (all dims when None)."""
    return _t(input, "sum").sum(dim, keepdim, **aliases)


def mean(input: Tensor, dim: Any = None, keepdim: bool = False, **aliases: Any) -> Tensor:
    """Mean over `dim` (all dims when None)."""
    return _t(input, "mean").mean(dim, keepdim, **aliases)


def max(input: Tensor, dim: Any = None, keepdim: bool = False, **aliases: Any) -> Any:
    """The largest element (0-d), or `(values, indices)` along `dim`."""
    return _t(input, "max").max(dim, keepdim, **aliases)


def min(input: Tensor, dim: Any = None, keepdim: bool = False, **aliases: Any) -> Any:
    """The smallest element (0-d), or `(values, indices)` along `dim`."""
    return _t(input, "min").min(dim, keepdim, **aliases)


def amax(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Maximum over `dim` (int or tuple); ties share the gradient."""
    return _t(input, "amax").amax(dim, keepdim)


def amin(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Minimum over `dim` (int or tuple); ties share the gradient."""
    return _t(input, "amin").amin(dim, keepdim)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the largest element along `dim` (flattened when None), int64."""
    return _t(input, "argmax").argmax(dim, keepdim)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the smallest element along `dim` (flattened when None), int64."""
    return _t(input, "argmin").argmin(dim, keepdim)


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True,
         sorted: bool = True) -> Any:
    """The k largest (smallest) elements along `dim` as `(values, indices)`."""
    return _t(input, "topk").topk(k, dim, largest, sorted)


def gather(input: Tensor, dim: int, index: Any) -> Tensor:
    """Pick along `dim` at `index`, as torch.gather."""
    return _t(input, "gather").gather(dim, index)


def clamp(input: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    """Limit every element to [min, max]."""
    return _t(input, "clamp").clamp(min, max)


clip = clamp


def reshape(input: Tensor, shape: Any) -> Tensor:
    """`input` with a new shape."""
    return _t(input, "reshape").reshape(shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim."""
    return _t(input, "flatten").flatten(start_dim, end_dim)


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    """Drop dims of length 1."""
    return _t(input, "squeeze").squeeze(dim)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dim of length 1."""
    return _t(input, "unsqueeze").unsqueeze(dim)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims."""
    return _t(input, "transpose").transpose(dim0, dim1)


def permute(input: Tensor, dims: Any) -> Tensor:
    """Reorder the dims."""
    return _t(input, "permute").permute(dims)


def t(input: Tensor) -> Tensor:
    """Transpose of a matrix."""
    return _t(input, "t").t()


def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple:
    """Parts of the given size (int) or sizes (list) along `dim`."""
    return _t(tensor, "split").split(split_size_or_sections, dim)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """`chunks` parts along `dim`."""
    return _t(input, "chunk").chunk(chunks, dim)


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """Elements start..start+length-1 along `dim`."""
    return _t(input, "narrow").narrow(dim, start, length)


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """input @ other (vectors, matrices, broadcast batches)."""
    return _t(input, "matmul") @ other


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices."""
    a, b = _t(input, "mm"), _t(mat2, "mm")
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: expects two matrices, got shapes {a.shape} and {b.shape}")
    return a @ b


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product: (B, n, m) @ (B, m, p) -> (B, n, p), no broadcasting."""
    a, b = _t(input, "bmm"), _t(mat2, "bmm")
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise ValueError(f"bmm: expects (B, n, m) and (B, m, p) with the same B, got shapes "
                         f"{a.shape} and {b.shape}")
    return a @ b


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Any = None) -> Tensor:
    """Draw `num_samples` category indices (int64) from the non-negative weights `input` (one
    row of weights, or a batch of rows), without replacement unless asked."""
    w = np.asarray(_data(input), dtype=np.float64)
    if w.ndim not in (1, 2) or w.shape[-1] == 0:
        raise ValueError(f"multinomial: weights must be 1-d or 2-d and not empty, got shape "
                         f"{w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("multinomial: weights must be finite and non-negative")
    rows = w.reshape(-1, w.shape[-1])
    totals = rows.sum(axis=1)
    if np.any(totals <= 0):
        raise ValueError("multinomial: a row of weights sums to 0")
    k = int(num_samples)
    if k <= 0:
        raise ValueError(f"multinomial: num_samples must be positive, got {num_samples}")
    if not replacement and np.any((rows > 0).sum(axis=1) < k):
        raise ValueError(f"multinomial: cannot draw {k} samples without replacement from fewer "
                         f"than {k} categories of non-zero weight")
    rng = _rng(generator)
    out = np.stack([rng.choice(rows.shape[1], size=k, replace=bool(replacement), p=r / s)
                    for r, s in zip(rows, totals)])
    return Tensor(out.reshape(w.shape[:-1] + (k,)), dtype=np.int64)


def isclose(input: Tensor, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """|input - other| <= atol + rtol |other| elementwise, as a bool tensor."""
    return _t(input, "isclose").isclose(other, rtol, atol, equal_nan)


def allclose(input: Tensor, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """True when every element of `input` is close to `other` (see `isclose`)."""
    return _t(input, "allclose").allclose(other, rtol, atol, equal_nan)


def equal(input: Tensor, other: Any) -> bool:
    """True when both have the same shape and the same elements."""
    return _t(input, "equal").equal(other)


def abs(input: Tensor) -> Tensor:  # noqa: A001  (torch.abs)
    """|x| (an integer tensor stays integer)."""
    return _t(input, "abs").abs()


absolute = abs


def sign(input: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of each element; gradient 0."""
    return _t(input, "sign").sign()


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001  (torch.round)
    """Round to `decimals` places, halves to even; gradient 0."""
    return _t(input, "round").round(decimals)


def sin(input: Tensor) -> Tensor:
    """Elementwise sine (radians)."""
    return _t(input, "sin").sin()


def cos(input: Tensor) -> Tensor:
    """Elementwise cosine (radians)."""
    return _t(input, "cos").cos()


def log1p(input: Tensor) -> Tensor:
    """log(1 + x), exact for tiny x."""
    return _t(input, "log1p").log1p()


def remainder(input: Tensor, other: Any) -> Tensor:
    """input % other, with the sign of other."""
    return _t(input, "remainder") % other


def floor_divide(input: Tensor, other: Any) -> Tensor:
    """input // other, rounded down; not differentiable."""
    return _t(input, "floor_divide") // other


def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running sum along `dim`."""
    return _t(input, "cumsum").cumsum(dim, dtype=dtype)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
    """Sorted along `dim`, as `(values, indices)`."""
    return _t(input, "sort").sort(dim, descending, stable)


def argsort(input: Tensor, dim: int = -1, descending: bool = False,
            stable: bool = False) -> Tensor:
    """The int64 indices that sort `input` along `dim`."""
    return _t(input, "argsort").argsort(dim, descending, stable)


def flip(input: Tensor, dims: Any) -> Tensor:
    """The elements in reverse order along each of `dims`."""
    return _t(input, "flip").flip(dims)


def index_select(input: Tensor, dim: int, index: Any) -> Tensor:
    """The entries at `index` (1-d or 0-d integers) along `dim`."""
    return _t(input, "index_select").index_select(dim, index)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along `dim`, that dim removed."""
    return _t(input, "unbind").unbind(dim)


def var(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None) -> Tensor:
    """Variance over `dim`, divided by N - correction (1 by default)."""
    return _t(input, "var").var(dim, unbiased, keepdim, correction=correction)


def std(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None) -> Tensor:
    """Standard deviation over `dim` (the square root of `var`)."""
    return _t(input, "std").std(dim, unbiased, keepdim, correction=correction)


def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False,
         dtype: Any = None) -> Tensor:
    """The vector p-norm over `dim` (all elements when None)."""
    return _t(input, "norm").norm(p, dim, keepdim, dtype)


def logical_and(input: Tensor, other: Any) -> Tensor:
    """True where both are non-zero, as a bool tensor."""
    return _t(input, "logical_and").logical_and(other)


def logical_or(input: Tensor, other: Any) -> Tensor:
    """True where either is non-zero, as a bool tensor."""
    return _t(input, "logical_or").logical_or(other)


def logical_xor(input: Tensor, other: Any) -> Tensor:
    """True where exactly one is non-zero, as a bool tensor."""
    return _t(input, "logical_xor").logical_xor(other)


def logical_not(input: Tensor) -> Tensor:
    """True where the element is zero, as a bool tensor."""
    return _t(input, "logical_not").logical_not()


def isnan(input: Tensor) -> Tensor:
    """True where the element is NaN, as a bool tensor."""
    return _t(input, "isnan").isnan()


def isinf(input: Tensor) -> Tensor:
    """True where the element is +inf or -inf, as a bool tensor."""
    return _t(input, "isinf").isinf()


def isfinite(input: Tensor) -> Tensor:
    """True where the element is neither NaN nor infinite, as a bool tensor."""
    return _t(input, "isfinite").isfinite()


def bitwise_and(input: Tensor, other: Any) -> Tensor:
    """Elementwise & of bool or integer tensors (a number for `other` too)."""
    return _t(input, "bitwise_and").bitwise_and(other)


def bitwise_or(input: Tensor, other: Any) -> Tensor:
    """Elementwise | of bool or integer tensors (a number for `other` too)."""
    return _t(input, "bitwise_or").bitwise_or(other)


def bitwise_xor(input: Tensor, other: Any) -> Tensor:
    """Elementwise ^ of bool or integer tensors (a number for `other` too)."""
    return _t(input, "bitwise_xor").bitwise_xor(other)


def bitwise_not(input: Tensor) -> Tensor:
    """~x: logical not of a bool tensor, bitwise not of an integer one."""
    return _t(input, "bitwise_not").bitwise_not()


def einsum(equation: str, *operands: Any) -> Tensor:
    """Sum of products over the letters of `equation` ("bij,bjk->bik"), as torch.einsum; the
    operands as arguments or one list. No '...' (name every dim)."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum: equation must be a str, got {type(equation).__name__}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    tensors = [_t(x, "einsum") for x in operands]
    if not tensors:
        raise ValueError("einsum: no operands given")
    floats = [x.data.dtype for x in tensors if x.data.dtype.kind == "f"]  # integers join them
    dtype = np.result_type(*(floats or [x.data.dtype for x in tensors]))
    tensors = [x._cast(dtype) for x in tensors]
    return F.Einsum.apply(*tensors, equation=equation)


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over `dim`, stable; the gradient is softmax(x)."""
    return _t(input, "logsumexp").logsumexp(dim, keepdim)


def masked_select(input: Tensor, mask: Any) -> Tensor:
    """The elements where the boolean `mask` (broadcast) is True, as a 1-d tensor."""
    return _t(input, "masked_select").masked_select(mask)


def maximum(input: Tensor, other: Any) -> Tensor:
    """The elementwise larger of input and other; ties share the gradient."""
    return _t(input, "maximum").maximum(other)


def minimum(input: Tensor, other: Any) -> Tensor:
    """The elementwise smaller of input and other; ties share the gradient."""
    return _t(input, "minimum").minimum(other)


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    """The int64 indices of the non-zero elements: (n, ndim), or a tuple of 1-d tensors."""
    return _t(input, "nonzero").nonzero(as_tuple=as_tuple)


def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    """The number of non-zero elements over `dim` (all when None), int64."""
    return _t(input, "count_nonzero").count_nonzero(dim)


def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001  (torch.pow)
    """input ** exponent: a tensor to a scalar or tensor power, or a scalar to a tensor
    power."""
    if not isinstance(input, Tensor) and isinstance(exponent, Tensor):
        return exponent.__rpow__(input)
    return _t(input, "pow") ** exponent


def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running product along `dim`."""
    return _t(input, "cumprod").cumprod(dim, dtype=dtype)


def repeat_interleave(input: Tensor, repeats: Any, dim: int | None = None) -> Tensor:
    """Each element repeated `repeats` times along `dim` (flattened when None)."""
    return _t(input, "repeat_interleave").repeat_interleave(repeats, dim)


def add(input: Tensor, other: Any, *, alpha: float = 1) -> Tensor:
    """input + alpha * other."""
    return _t(input, "add").add(other, alpha)


def sub(input: Tensor, other: Any, *, alpha: float = 1) -> Tensor:
    """input - alpha * other."""
    return _t(input, "sub").sub(other, alpha)


def mul(input: Tensor, other: Any) -> Tensor:
    """input * other."""
    return _t(input, "mul").mul(other)


def div(input: Tensor, other: Any) -> Tensor:
    """input / other (true division)."""
    return _t(input, "div").div(other)


def neg(input: Tensor) -> Tensor:
    """-input."""
    return _t(input, "neg").neg()


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """1-d: the square matrix with `input` on the `diagonal`-th diagonal; 2-d: that diagonal."""
    return _t(input, "diag").diag(diagonal)


def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a 2-d tensor."""
    return _t(input, "trace").trace()
