"""Loss modules named as in PyTorch: CrossEntropyLoss, NLLLoss, MSELoss.

`CrossEntropyLoss(ignore_index=..., reduction=..., label_smoothing=...)` follows PyTorch's
definition: with smoothing e over C classes, the loss of a row is
(1 - e) * (-log p[target]) + e * mean_c(-log p[c]); rows whose target is ignore_index count
neither in the sum nor in the mean's denominator (all rows ignored: the mean is NaN and the
gradient 0, as in PyTorch).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_rnn import functional as F
from tinygrad_rnn.checks import integer
from tinygrad_rnn.nn.module import Module
from tinygrad_rnn.tensor import Tensor, where

__all__ = ["CrossEntropyLoss", "NLLLoss", "MSELoss"]

_REDUCTIONS = ("mean", "sum", "none")


def _reduction(reduction: Any, fn: str) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return reduction


def _nll(logp: Tensor, t: np.ndarray, ignore_index: int, reduction: str,
         smoothing: float) -> Tensor:
    """PyTorch's (smoothed) negative log-likelihood of rows of log-probabilities."""
    rows = logp if logp.ndim == 2 else logp.reshape(1, logp.shape[-1])
    t = t.reshape(-1)
    keep = t != ignore_index
    safe = np.where(keep, t, 0)
    per_row = -rows[np.arange(len(t)), safe]
    if smoothing:
        per_row = (1.0 - smoothing) * per_row - smoothing * rows.mean(axis=-1)
    if not keep.all():  # ignored rows: loss 0 and no gradient (a -inf there too: not inf * 0)
        per_row = where(keep, per_row, 0.0)
    if reduction == "none":
        return per_row if logp.ndim == 2 else per_row.reshape(())
    total = per_row.sum()
    if reduction == "sum":
        return total
    count = int(keep.sum())
    if count:
        return total * (1.0 / count)
    return total * 0.0 + np.nan  # every row ignored: 0/0 = NaN, and gradient 0 (as PyTorch)


class CrossEntropyLoss(Module):
    """Cross-entropy of raw logits (N, C) or (C,) against integer targets (N,) or ().

    ignore_index: target value whose rows are left out (default -100, as in PyTorch).
    reduction: "mean" (over the rows not ignored), "sum" or "none" (one loss per row).
    label_smoothing: e in [0, 1]: the target distribution is (1 - e) one-hot + e uniform.
    """

    def __init__(self, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        self.ignore_index = integer(ignore_index, "CrossEntropyLoss", "ignore_index")
        self.reduction = _reduction(reduction, "CrossEntropyLoss")
        try:
            self.label_smoothing = float(label_smoothing)
        except (TypeError, ValueError):
            raise TypeError(f"CrossEntropyLoss: label_smoothing must be a number, got "
                            f"{label_smoothing!r}") from None
        if not 0.0 <= self.label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got "
                             f"{label_smoothing}")

    def forward(self, input: Any, target: Any) -> Tensor:
        """The loss of logits `input` at class indices `target`."""
        logits = input if isinstance(input, Tensor) else Tensor(input)
        t = F._class_targets(logits, target, self.reduction, "CrossEntropyLoss",
                              self.ignore_index)
        if not self.label_smoothing and not np.any(t == self.ignore_index):
            return F.cross_entropy(logits, t, reduction=self.reduction)  # the fused path
        logp = F.log_softmax(logits, -1)
        return _nll(logp, t, self.ignore_index, self.reduction, self.label_smoothing)

    def extra_repr(self) -> str:
        return (f"ignore_index={self.ignore_index}, reduction={self.reduction!r}, "
                f"label_smoothing={self.label_smoothing}")


class NLLLoss(Module):
    """Negative log-likelihood of log-probabilities (N, C) or (C,) (e.g. from LogSoftmax) at
    integer targets; ignore_index and reduction as in CrossEntropyLoss."""

    def __init__(self, ignore_index: int = -100, reduction: str = "mean") -> None:
        self.ignore_index = integer(ignore_index, "NLLLoss", "ignore_index")
        self.reduction = _reduction(reduction, "NLLLoss")

    def forward(self, input: Any, target: Any) -> Tensor:
        """-input[target], reduced."""
        logp = input if isinstance(input, Tensor) else Tensor(input)
        t = F._class_targets(logp, target, self.reduction, "NLLLoss", self.ignore_index)
        return _nll(logp, t, self.ignore_index, self.reduction, 0.0)

    def extra_repr(self) -> str:
        return f"ignore_index={self.ignore_index}, reduction={self.reduction!r}"


class MSELoss(Module):
    """Mean squared error (input - target)^2, reduced by "mean", "sum" or "none"."""

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = _reduction(reduction, "MSELoss")

    def forward(self, input: Any, target: Any) -> Tensor:
        """The squared error, reduced."""
        return F.mse_loss(input, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"
