"""Argument checks for public entry points: one call per argument, one clear message naming the
function, the argument and what was wrong (e.g. "Linear: in_features must be an integer, got
'3' (str)"). Imports nothing of the project, so every layer may use it."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _got(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _one_element(value: Any) -> Any:
    """The value of a 0-d tensor or array (PyTorch takes `total_length=torch.tensor(4)`,
    `max_norm=torch.tensor(1.0)`); anything else as it is."""
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item") and not isinstance(
            value, (np.generic, str, bytes)):
        return value.item()
    return value


def integer(value: Any, fn: str, name: str, minimum: int | None = None) -> int:
    """`value` as an int: a Python or NumPy integer, or a 0-d tensor of one (not a bool, float
    or string), at least `minimum` if given."""
    value = _one_element(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{fn}: {name} must be an integer, got {_got(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{fn}: {name} must be >= {minimum}, got {value}")
    return int(value)


def number(value: Any, fn: str, name: str, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False) -> float:
    """`value` as a float: a real Python or NumPy number, or a 0-d tensor of one (not a bool
    or string), not NaN, in the interval [low, high] (an end left open with low_open /
    high_open; None: unbounded)."""
    value = _one_element(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                     np.floating)):
        raise TypeError(f"{fn}: {name} must be a number, got {_got(value)}")
    v = float(value)
    below = low is not None and (v <= low if low_open else v < low)
    above = high is not None and (v >= high if high_open else v > high)
    if math.isnan(v) or below or above:
        lo = "(-inf" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "inf)" if high is None else f"{high:g}" + (")" if high_open else "]")
        raise ValueError(f"{fn}: {name} must be in {lo}, {hi}, got {v}")
    return v


def broadcasts_to(shape: tuple, target: tuple) -> bool:
    """Whether an array of `shape` broadcasts to exactly `target` (NumPy's rules)."""
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def flag(value: Any, fn: str, name: str) -> bool:
    """`value` as a bool: True or False (a NumPy bool too), never a string such as "no"."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{fn}: {name} must be True or False, got {_got(value)}")
    return bool(value)


def float_dtype(dtype: Any, fn: str) -> np.dtype:
    """float32 or float64, the dtypes a module's parameters may have (the compiled kernels and
    the PyTorch comparisons cover those two; float16 or longdouble parameters would silently
    become float32), or a TypeError naming the dtype."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{fn}: dtype {dtype!r} is not a NumPy dtype") from None
    if dt not in (np.float32, np.float64):
        raise TypeError(f"{fn}: dtype must be float32 or float64, got {dt}")
    return dt


def not_an_array(data: Any, fn: str, error: Exception) -> Exception:
    """The error to raise when NumPy could not read `data` as an array for `fn`: NumPy's own
    message, said to come from fn; a PackedSequence (a tuple NumPy chokes on) is named."""
    if isinstance(data, tuple) and hasattr(data, "batch_sizes"):
        return TypeError(f"{fn}: got a PackedSequence, which only nn.RNN / nn.LSTM / nn.GRU "
                         "take; use its .data (the packed rows) or pad_packed_sequence(...) "
                         "(a padded tensor and the lengths)")
    return type(error)(f"{fn}: cannot make an array of the {type(data).__name__} given: {error}")


def indices(values: Any, fn: str, name: str) -> np.ndarray:
    """`values` (an ndarray, list or int) as an array of integer indices: an integer dtype as it
    is; floats as int64 when every one is a whole number small enough to be exact in its dtype
    (`Tensor(targets)` makes float32, which holds every integer below 2**24). A fraction, NaN,
    an infinity, a bool or a string is a TypeError naming the first such value."""
    try:
        arr = np.array(values)  # a copy: targets changed in place after the forward change nothing
    except (TypeError, ValueError) as e:
        raise not_an_array(values, f"{fn}: {name}", e) from None
    if arr.dtype.kind in "iu":
        return arr
    if arr.dtype.kind != "f":
        raise TypeError(f"{fn}: {name} must hold integers, got dtype {arr.dtype}")
    bits = np.finfo(arr.dtype).nmant + 1  # the float holds every integer below 2**bits
    bad = (arr != np.round(arr)) | ~(np.abs(arr) < 2.0 ** bits)  # (NaN fails both)
    if bad.any():
        first = float(arr[bad].ravel()[0])
        too_big = f", too large to be exact in {arr.dtype}" if first.is_integer() else ""
        raise TypeError(f"{fn}: {name} must hold integers, got {first!r} (dtype "
                        f"{arr.dtype}){too_big}")
    return arr.astype(np.int64)
