"""In-place initialisers named as in `torch.nn.init`: each fills a tensor's array with values
drawn from the library's generator (`tinygrad_rnn.manual_seed` fixes them) and returns the
tensor; given a parameter's `.data` (an ndarray, as in `nn.init.uniform_(param.data, ...)`),
they fill that array in place and return it. They change `.data` only (no graph is
recorded), as PyTorch's run under no_grad.

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

from tinygrad_rnn.random import get_rng, rng_of
from tinygrad_rnn.tensor import Tensor

__all__ = ["uniform_", "normal_", "zeros_", "ones_", "constant_", "xavier_uniform_",
           "xavier_normal_", "orthogonal_", "kaiming_uniform_", "kaiming_normal_",
           "trunc_normal_", "calculate_gain", "eye_"]


def _array(tensor: Any, fn: str) -> np.ndarray:
    """The array an initialiser fills: a Tensor's `.data`, or the ndarray itself (PyTorch
    programs write `nn.init.uniform_(param.data, ...)`, and `.data` is the parameter's array)."""
    if isinstance(tensor, Tensor):
        return tensor.data
    if isinstance(tensor, np.ndarray):
        return tensor
    raise TypeError(f"{fn}: expected a Tensor (e.g. a Parameter) or its .data array, got "
                    f"{type(tensor).__name__}")


def _fill(tensor: Any, values: Any, fn: str) -> Any:
    """Write values into the tensor's array in place (every tensor sharing the array sees
    them); an ndarray (a parameter's `.data`) is filled in place and returned."""
    array = _array(tensor, fn)
    if array.dtype.kind != "f":
        raise TypeError(f"{fn}: the tensor must be floating point, got dtype {array.dtype}")
    if not isinstance(tensor, Tensor):
        if not array.flags.writeable:
            raise ValueError(f"{fn}: the array is read-only; pass the tensor itself")
        array[...] = values
        return array
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
    return _fill(tensor, get_rng().uniform(a, b, size=_array(tensor, "uniform_").shape), "uniform_")


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with values drawn from N(mean, std^2)."""
    mean, std = _number(mean, "mean", "normal_"), _number(std, "std", "normal_")
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    size = _array(tensor, "normal_").shape
    return _fill(tensor, get_rng().normal(mean, std, size=size), "normal_")


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with the value val."""
    return _fill(tensor, _number(val, "val", "constant_"), "constant_")


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return _fill(tensor, 0.0, "zeros_")


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return _fill(tensor, 1.0, "ones_")


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity (ones on the diagonal, zeros elsewhere; a
    non-square one too): the IRNN's recurrent weight, `eye_` of the h columns of a cell."""
    if _array(tensor, "eye_").ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors can hold an identity, got shape {tensor.shape}")
    return _fill(tensor, np.eye(*tensor.shape), "eye_")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """PyTorch's recommended gain for a nonlinearity: 1 for "linear", "identity", "sigmoid"
    and the conv names, 5/3 for "tanh", sqrt(2) for "relu", sqrt(2 / (1 + slope^2)) for
    "leaky_relu" (param is the negative slope, 0.01 by default), 3/4 for "selu"."""
    linear = ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
              "conv_transpose2d", "conv_transpose3d")
    gains = {**dict.fromkeys(linear, 1.0), "tanh": 5.0 / 3, "relu": math.sqrt(2.0),
             "selu": 3.0 / 4}
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (bool, np.bool_)) or not isinstance(param, (int, float,
                                                                           np.number)):
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        else:
            slope = float(param)
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity not in gains:
        raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")
    return gains[nonlinearity]


def _fans(tensor: Tensor, fn: str) -> tuple[int, int]:
    """(fan_in, fan_out) as PyTorch computes them: dims 1 and 0 times the remaining dims."""
    if _array(tensor, fn).ndim < 2:
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
    cols = _array(tensor, "orthogonal_").size // rows
    flat = get_rng().standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # a uniform (Haar) distribution over orthogonal matrices
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape), "orthogonal_")


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str, fn: str) -> float:
    """gain / sqrt(fan): the standard deviation both Kaiming initialisers aim for."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{fn}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(tensor, fn)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, _number(a, "a", fn)) / math.sqrt(fan)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator: Any = None) -> Tensor:
    """He uniform: U(-bound, bound) with bound = gain * sqrt(3 / fan), gain =
    calculate_gain(nonlinearity, a) and fan = fan_in or fan_out (mode), as PyTorch. A tensor
    with no elements is returned unchanged."""
    if _array(tensor, "kaiming_uniform_").size == 0:
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_")
    values = rng_of(generator, "kaiming_uniform_").uniform(-bound, bound, size=tensor.shape)
    return _fill(tensor, values, "kaiming_uniform_")


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator: Any = None) -> Tensor:
    """He normal: N(0, std^2) with std = gain / sqrt(fan) (see kaiming_uniform_)."""
    if _array(tensor, "kaiming_normal_").size == 0:
        return tensor
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_")
    values = rng_of(generator, "kaiming_normal_").normal(0.0, std, size=tensor.shape)
    return _fill(tensor, values, "kaiming_normal_")


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: Any = None) -> Tensor:
    """N(mean, std^2) truncated to [a, b] (a and b are values, not numbers of std): draws
    outside are redrawn. An interval holding less than 1e-4 of the probability is a
    ValueError (PyTorch only warns when mean is more than 2 std outside [a, b])."""
    fn = "trunc_normal_"
    mean, std = _number(mean, "mean", fn), _number(std, "std", fn)
    a, b = _number(a, "a", fn), _number(b, "b", fn)
    if std < 0 or a > b:
        raise ValueError(f"{fn}: needs std >= 0 and a <= b, got std={std}, a={a}, b={b}")
    _array(tensor, fn)
    if std == 0:
        return _fill(tensor, min(max(mean, a), b), fn)
    cdf = [0.5 * (1 + math.erf((v - mean) / (std * math.sqrt(2)))) for v in (a, b)]
    mass = cdf[1] - cdf[0]
    if mass < 1e-4:
        raise ValueError(f"{fn}: [a, b] = [{a}, {b}] holds only {mass:.2g} of N({mean}, "
                         f"{std}^2): too little to sample from")
    rng, kept, n = rng_of(generator, fn), [], _array(tensor, fn).size
    while n > 0:  # rejection: each round draws enough to fill the rest, on average
        draw = rng.normal(mean, std, size=int(n / mass * 1.1) + 8)
        draw = draw[(draw >= a) & (draw <= b)][:n]
        kept.append(draw)
        n -= draw.size
    return _fill(tensor, np.concatenate(kept).reshape(tensor.shape), fn)
