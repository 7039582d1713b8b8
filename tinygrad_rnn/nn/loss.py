"""Loss modules named as in PyTorch, each a thin holder of its options around the one
implementation in `tinygrad_rnn.functional`: CrossEntropyLoss, NLLLoss, MSELoss, L1Loss,
SmoothL1Loss, HuberLoss, BCELoss, BCEWithLogitsLoss, KLDivLoss.

The options are checked when the module is made; errors at call time name the module.
`CrossEntropyLoss(weight=..., ignore_index=..., reduction=..., label_smoothing=...)` follows
PyTorch's definition: with class weights w and smoothing e over C classes, the loss of a row is
(1 - e) w[t] (-log p[t]) + e / C * sum_c w[c] (-log p[c]); rows whose target is ignore_index
count neither in the sum nor in the mean, whose denominator is the sum of w[t] over the rows
kept (all rows ignored: the mean is NaN and the gradient 0, as in PyTorch).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_rnn import functional as F
from tinygrad_rnn.checks import flag, integer, number
from tinygrad_rnn.nn.module import Module
from tinygrad_rnn.tensor import Tensor

__all__ = ["CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss",
           "BCELoss", "BCEWithLogitsLoss", "KLDivLoss"]


class _Loss(Module):
    """Holds the checked `reduction` (PyTorch's deprecated size_average / reduce decide it
    when given, with PyTorch's warning)."""

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                 extra: tuple = ()) -> None:
        self.reduction = F._reduction(reduction, type(self).__name__, size_average, reduce,
                                      extra)

    def _buffer(self, name: str, value: Any) -> None:
        """Keep a weight as a buffer (in state_dict(), as in PyTorch), or None."""
        if value is not None and not isinstance(value, Tensor):
            arr = np.asarray(value)
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"{type(self).__name__}: {name} must hold real numbers, got "
                                f"dtype {arr.dtype}")
            value = Tensor(arr, dtype=arr.dtype)
        self.register_buffer(name, value)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """Cross-entropy of raw logits (N, C) or (C,) against integer targets (N,) or (); also
    PyTorch's (N, C, d1, ..., dk) against (N, d1, ..., dk).

    weight: per-class weights (C,) (a constant), or None.
    ignore_index: target value whose rows are left out (default -100, as in PyTorch).
    reduction: "mean" (over the rows kept, weighted), "sum" or "none" (one loss per row).
    label_smoothing: e in [0, 1]: the target distribution is (1 - e) one-hot + e uniform.
    """

    def __init__(self, weight: Any = None, size_average: Any = None, ignore_index: int = -100,
                 reduce: Any = None, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.ignore_index = integer(ignore_index, "CrossEntropyLoss", "ignore_index")
        self.label_smoothing = number(label_smoothing, "CrossEntropyLoss", "label_smoothing",
                                      0.0, 1.0)
        self._buffer("weight", weight)

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        """The loss of logits `input` at class indices `target`."""
        return F._class_loss(input, target, self.weight, self.ignore_index, self.reduction,
                             self.label_smoothing, "CrossEntropyLoss", logits=True)

    def extra_repr(self) -> str:
        return (f"ignore_index={self.ignore_index}, reduction={self.reduction!r}, "
                f"label_smoothing={self.label_smoothing}")


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (N, C) or (C,) (or (N, C, d1, ..., dk))
    (e.g. from LogSoftmax) at integer targets; weight, ignore_index and reduction as in
    CrossEntropyLoss."""

    def __init__(self, weight: Any = None, size_average: Any = None, ignore_index: int = -100,
                 reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.ignore_index = integer(ignore_index, "NLLLoss", "ignore_index")
        self._buffer("weight", weight)

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        """-input[target], weighted and reduced."""
        return F._class_loss(input, target, self.weight, self.ignore_index, self.reduction, 0.0,
                             "NLLLoss", logits=False)

    def extra_repr(self) -> str:
        return f"ignore_index={self.ignore_index}, reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error (input - target)^2, reduced by "mean", "sum" or "none"."""

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        """The squared error, reduced."""
        return F._mse(input, target, self.reduction, "MSELoss")


class L1Loss(_Loss):
    """Mean absolute error |input - target|, reduced by "mean", "sum" or "none"."""

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        """The absolute error, reduced."""
        return F._l1(input, target, self.reduction, "L1Loss")


class SmoothL1Loss(_Loss):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target)."""

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                 beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = number(beta, "SmoothL1Loss", "beta", 0.0)

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        """The smooth L1 loss, reduced."""
        scale = 1.0 / self.beta if self.beta else 1.0
        return F._huber(input, target, self.reduction, self.beta, scale, "SmoothL1Loss")

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, beta={self.beta}"


class HuberLoss(_Loss):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (d = input - target)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = number(delta, "HuberLoss", "delta", 0.0, low_open=True)

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        """The Huber loss, reduced."""
        return F._huber(input, target, self.reduction, self.delta, 1.0, "HuberLoss")

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, delta={self.delta}"


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities in [0, 1] (e.g. after Sigmoid), each log clamped
    at -100 as in PyTorch; weight (a constant) broadcasts to the input's shape."""

    def __init__(self, weight: Any = None, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self._buffer("weight", weight)

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        """-w (y log p + (1 - y) log(1 - p)), reduced."""
        return F._bce(input, target, self.weight, self.reduction, "BCELoss")


class BCEWithLogitsLoss(_Loss):
    """Sigmoid and binary cross-entropy in one stable formula, from raw logits of any size;
    weight broadcasts to the input's shape, pos_weight (per class, along the last dim) weighs
    the positive term, as in PyTorch."""

    def __init__(self, weight: Any = None, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__(size_average, reduce, reduction)
        self._buffer("weight", weight)
        self._buffer("pos_weight", pos_weight)

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        """The loss of logits `input` at targets in [0, 1], reduced."""
        return F._bce_logits(input, target, self.weight, self.reduction, self.pos_weight,
                             "BCEWithLogitsLoss")


class KLDivLoss(_Loss):
    """KL divergence of log-probabilities `input` from `target` (log-probabilities too if
    log_target); reduction "batchmean" gives the KL divergence per sample."""

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                 log_target: bool = False) -> None:
        super().__init__(size_average, reduce, reduction, extra=("batchmean",))
        self.log_target = flag(log_target, "KLDivLoss", "log_target")

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        """Pointwise target (log target - input), reduced."""
        return F._kl_div(input, target, self.reduction, self.log_target, "KLDivLoss")

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, log_target={self.log_target}"
