"""In-place initialisers named as in `torch.nn.init`: each fills a tensor's array with values
drawn from the library's generator (`tinygrad_rnn.manual_seed` fixes them) and returns the
tensor. They change `.data` only (no graph is recorded), as PyTorch's run under no_grad.

>>> import tinygrad_rnn as tg
>>> from tinygrad_rnn import nn
>>> w = nn.Parameter(np.empty((3, 3)))
>>> nn.init.orthogonal_(w) is w
True
>>> bool(np.allclose(w.data @ w.data.T, np.eye(3), atol=1e-6))
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygrad_rnn.random import get_rng
from tinygrad_rnn.tensor import Tensor

__all__ = ["uniform_", "normal_", "zeros_", "ones_", "constant_", "xavier_uniform_",
           "xavier_normal_", "orthogonal_", "calculate_gain"]


def _fill(tensor: Any, values: Any, fn: str) -> Tensor:
    """Write values into tensor.data in place (every tensor sharing the array sees them)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{fn}: expected a Tensor (e.g. a Parameter), got {type(tensor).__name__}")
    if tensor.data.dtype.kind != "f":
        raise TypeError(f"{fn}: the tensor must be floating point, got dtype {tensor.dtype}")
    if not tensor.data.flags.writeable:
        tensor.data = tensor.data.copy()
    tensor.data[...] = values
    bump = getattr(tensor, "_bump_version", None)
    if bump is not None:
        bump()
    return tensor


def _number(value: Any, name: str, fn: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{fn}: {name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{fn}: {name} must be finite, got {value!r}")
    return v


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with values drawn from U(a, b)."""
    a, b = _number(a, "a", "uniform_"), _number(b, "b", "uniform_")
    if a > b:
        raise ValueError(f"uniform_: a={a} must not exceed b={b}")
    return _fill(tensor, get_rng().uniform(a, b, size=tensor.shape), "uniform_")


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with values drawn from N(mean, std^2)."""
    mean, std = _number(mean, "mean", "normal_"), _number(std, "std", "normal_")
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    return _fill(tensor, get_rng().normal(mean, std, size=tensor.shape), "normal_")


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with the value val."""
    return _fill(tensor, _number(val, "val", "constant_"), "constant_")


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return _fill(tensor, 0.0, "zeros_")


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return _fill(tensor, 1.0, "ones_")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """PyTorch's recommended gain for a nonlinearity ("linear", "sigmoid", "tanh", "relu",
    "leaky_relu")."""
    gains = {"linear": 1.0, "identity": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3,
             "relu": math.sqrt(2.0)}
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity not in gains:
        raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")
    return gains[nonlinearity]


def _fans(tensor: Tensor, fn: str) -> tuple[int, int]:
    """(fan_in, fan_out) as PyTorch computes them: dims 1 and 0 times the remaining dims."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{fn}: expected a Tensor, got {type(tensor).__name__}")
    if tensor.ndim < 2:
        raise ValueError(f"{fn}: needs a tensor with at least 2 dimensions, got shape "
                         f"{tensor.shape}")
    receptive = int(np.prod(tensor.shape[2:]))
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor, "xavier_uniform_")
    a = _number(gain, "gain", "xavier_uniform_") * math.sqrt(6.0 / (fan_in + fan_out))
    return _fill(tensor, get_rng().uniform(-a, a, size=tensor.shape), "xavier_uniform_")


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor, "xavier_normal_")
    std = _number(gain, "gain", "xavier_normal_") * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill(tensor, get_rng().normal(0.0, std, size=tensor.shape), "xavier_normal_")


def orthogonal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """A (semi-)orthogonal matrix times gain, as PyTorch makes it: the Q of the QR
    decomposition of a standard normal matrix (signs fixed by R's diagonal); tensors of more
    than 2 dimensions are flattened to (shape[0], rest)."""
    _fans(tensor, "orthogonal_")
    gain = _number(gain, "gain", "orthogonal_")
    rows = tensor.shape[0]
    cols = tensor.data.size // rows
    flat = get_rng().standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # a uniform (Haar) distribution over orthogonal matrices
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape), "orthogonal_")
