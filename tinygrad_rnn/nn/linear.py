"""Linear: the fully connected layer y = x W^T + b, the building block of every cell."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_rnn.fused import LinearLayer
from tinygrad_rnn.checks import flag
from tinygrad_rnn.nn.module import Module, Parameter, as_input, check_size, param_dtype
from tinygrad_rnn.random import get_rng
from tinygrad_rnn.tensor import Tensor


def uniform_parameter(shape: tuple[int, ...], bound: float, dtype: Any) -> Parameter:
    """A Parameter drawn from U(-bound, bound) with the project's generator (`get_rng()`)."""
    return Parameter(get_rng().uniform(-bound, bound, size=shape).astype(dtype))


class Linear(Module):
    """y = x W^T + b for x of shape (..., in_features); `.weight` is (out, in), `.bias` (out,).

    Initialised as PyTorch does: W and b drawn from U(-1/sqrt(in), 1/sqrt(in)); pass
    `init_bound` to use another bound (the recurrent cells use 1/sqrt(hidden)).

    >>> layer = Linear(3, 2)
    >>> layer(Tensor(np.ones((5, 3)))).shape
    (5, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: Any = None, init_bound: float | None = None) -> None:
        self.in_features = check_size(in_features, "in_features", "Linear")
        self.out_features = check_size(out_features, "out_features", "Linear")
        bias, dtype = flag(bias, "Linear", "bias"), param_dtype(dtype, "Linear")
        bound = 1.0 / np.sqrt(in_features) if init_bound is None else float(init_bound)
        self.weight = uniform_parameter((out_features, in_features), bound, dtype)
        self.bias = uniform_parameter((out_features,), bound, dtype) if bias else None
        self.name_parameters()

    def forward(self, x: Tensor) -> Tensor:
        """x (..., in_features) -> (..., out_features)."""
        x = as_input(x, self.weight.dtype, "Linear")
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear: input of shape {x.shape} does not end in in_features="
                             f"{self.in_features}")
        # one graph node: x W^T + b in one product (backward: two products and a sum)
        return LinearLayer.apply(*((x, self.weight) if self.bias is None else
                                   (x, self.weight, self.bias)))

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class LazyLinear(Linear):
    """Linear whose in_features is read from its first input, as PyTorch's LazyLinear (d2l's
    language models and seq2seq decoder use it). Until then `.weight` and `.bias` are empty
    Parameters (shape (0,)), already the objects an optimizer made now will update; the first
    call gives them their shapes and PyTorch's initialisation, U(-1/sqrt(in), 1/sqrt(in)), and
    the module becomes a plain `Linear` (as PyTorch's does). `load_state_dict` before the
    first call gives them the state's shapes and values instead, as in PyTorch.

    >>> layer = LazyLinear(2)
    >>> layer(Tensor(np.ones((5, 3)))).shape, type(layer).__name__, layer.weight.shape
    ((5, 2), 'Linear', (2, 3))
    """

    def __init__(self, out_features: int, bias: bool = True, dtype: Any = None) -> None:
        self.in_features = 0
        self.out_features = check_size(out_features, "out_features", "LazyLinear")
        bias, dtype = flag(bias, "LazyLinear", "bias"), param_dtype(dtype, "LazyLinear")
        self.weight = Parameter(np.empty((0,), dtype))
        self.bias = Parameter(np.empty((0,), dtype)) if bias else None
        self.name_parameters()

    def forward(self, x: Tensor) -> Tensor:
        """Take in_features from x (..., in_features), initialise, then act as `Linear`.
        Parameters that load_state_dict already gave their shapes keep their values."""
        x = as_input(x, self.weight.dtype, "LazyLinear")
        if x.ndim == 0 or x.shape[-1] == 0:
            raise ValueError(f"LazyLinear: input of shape {x.shape} has no features to read "
                             "in_features from")
        n_in, dtype = x.shape[-1], self.weight.dtype
        if self.weight.ndim == 2:  # loaded: in_features is the loaded weight's
            n_in = self.weight.shape[1]
        bound = 1.0 / np.sqrt(n_in)
        draw = get_rng().uniform
        if self.weight.ndim != 2:
            self.weight.data = draw(-bound, bound, (self.out_features, n_in)).astype(dtype)
        if self.bias is not None and self.bias.shape == (0,):
            self.bias.data = draw(-bound, bound, (self.out_features,)).astype(dtype)
        self.in_features = n_in
        self.__class__ = Linear  # initialised: from now on a Linear, as in PyTorch
        return Linear.forward(self, x)

    def _lazy_shape_fits(self, key: str, shape: tuple) -> bool:
        """Whether load_state_dict may give the still-shapeless parameter `key` (its dotted
        name) the state's `shape`, as PyTorch's LazyLinear takes a checkpoint's shapes before
        its first call: weight (out_features, n >= 1), bias (out_features,)."""
        attr = key.rpartition(".")[2]
        if getattr(self, attr, None) is None or getattr(self, attr).shape != (0,):
            return False
        if attr == "weight":
            return len(shape) == 2 and shape[0] == self.out_features and shape[1] >= 1
        return attr == "bias" and tuple(shape) == (self.out_features,)
