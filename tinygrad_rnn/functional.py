"""Losses and helpers built from the primitive ops: softmax, cross-entropy, MSE, one-hot."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_rnn import function as ops
from tinygrad_rnn import fused
from tinygrad_rnn.random import get_rng
from tinygrad_rnn import checks
from tinygrad_rnn.checks import flag, integer, number
from tinygrad_rnn.tensor import Tensor, _alias, _dim

_REDUCTIONS = ("mean", "sum", "none")


def softmax(x: Tensor, dim: int = -1, *, axis: int | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim` (`axis` is an alias), stable for logits of magnitude
    1e4."""
    x = _tensor(x)
    dim = _dim(_alias(dim, -1, axis, "dim", "axis", "softmax"), x.ndim, "softmax")
    return ops.Softmax.apply(x, axis=dim)


def log_softmax(x: Tensor, dim: int = -1, *, axis: int | None = None) -> Tensor:
    """log(softmax(x)) computed as x - logsumexp(x) along `dim` (`axis` is an alias), stable
    for logits of magnitude 1e4."""
    x = _tensor(x)
    dim = _dim(_alias(dim, -1, axis, "dim", "axis", "log_softmax"), x.ndim, "log_softmax")
    return ops.LogSoftmax.apply(x, axis=dim)


def sigmoid(x: Tensor) -> Tensor:
    """Logistic sigmoid, without overflow for inputs of +-1000."""
    return _tensor(x).sigmoid()


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    return _tensor(x).tanh()


def relu(x: Tensor) -> Tensor:
    """max(x, 0)."""
    return _tensor(x).relu()


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:  # noqa: A002
    """input W^T + b as one graph node (what `nn.Linear` records), as torch.nn.functional.linear:
    input (..., in_features), weight (out_features, in_features), bias (out_features,) or None."""
    args = (input, weight) if bias is None else (input, weight, bias)
    return fused.LinearLayer.apply(*(_tensor(a) for a in args))


def _reduce(loss: Tensor, reduction: str, fn: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{fn}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _class_targets(scores: Tensor, target: Any, reduction: str, fn: str,
                   ignore_index: int | None = None) -> np.ndarray:
    """The checked integer targets for scores (N, C) or (C,): shape (N,) or (), each in
    [0, C) or equal to ignore_index; the reduction one of mean|sum|none. Every failure names
    `fn` and the argument. (Also the check of nn.CrossEntropyLoss and nn.NLLLoss.)"""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    t = checks.indices(target.data if isinstance(target, Tensor) else target, fn, "target")
    if scores.ndim not in (1, 2):
        raise ValueError(f"{fn}: input must be (N, C) or (C,), got shape {scores.shape}")
    n_classes = scores.shape[-1]
    expected = scores.shape[:1] if scores.ndim == 2 else ()
    if t.shape != expected:
        raise ValueError(f"{fn}: target of shape {t.shape} does not fit input of shape "
                         f"{scores.shape} (expected target shape {expected})")
    bad = (t < 0) | (t >= n_classes)
    if ignore_index is not None:
        bad &= t != ignore_index
    if np.any(bad):
        raise IndexError(f"{fn}: target {t[bad].ravel()[0]} is outside [0, {n_classes})")
    return t


def cross_entropy(logits: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Cross-entropy between raw logits and integer class targets (PyTorch semantics).

    logits: (N, C) or (C,). target: class indices of shape (N,) or () as an int ndarray,
    list, int or Tensor. reduction: "mean" (average over N; NaN for N = 0, as in PyTorch),
    "sum", or "none" (shape (N,)).
    """
    logits = _tensor(logits)
    t = _class_targets(logits, target, reduction, "cross_entropy")
    if reduction != "none" and t.size:  # one fused node: faster, and one box in the drawn graph
        rows = logits if logits.ndim == 2 else logits.reshape(1, logits.shape[-1])
        return fused.CrossEntropy.apply(rows, target=t.reshape(-1), reduction=reduction)
    logp = log_softmax(logits, axis=-1)
    picked = logp[np.arange(len(t)), t] if logits.ndim == 2 else logp[int(t)]
    return _reduce(-picked, reduction, "cross_entropy")  # (an empty batch: mean NaN, sum 0)


def nll_loss(logp: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities `logp` (N, C) or (C,) at integer class
    targets (N,) or (); the same checks and reductions as `cross_entropy`."""
    logp = _tensor(logp)
    t = _class_targets(logp, target, reduction, "nll_loss")
    picked = logp[np.arange(len(t)), t] if logp.ndim == 2 else logp[int(t)]
    return _reduce(-picked, reduction, "nll_loss")


def mse_loss(a: Tensor, b: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error (a - b)^2, reduced by "mean", "sum" or "none"."""
    a = _tensor(a)
    b = a._lift(b)
    if a.shape != b.shape:
        raise ValueError(f"mse_loss: shapes {a.shape} and {b.shape} differ")
    diff = a - b
    return _reduce(diff * diff, reduction, "mse_loss")


def one_hot(indices: Any, num_classes: int, dtype: Any = np.float32) -> Tensor:
    """Float tensor of shape indices.shape + (num_classes,) with a 1 at each index."""
    num_classes = integer(num_classes, "one_hot", "num_classes", minimum=1)
    idx = checks.indices(indices.data if isinstance(indices, Tensor) else indices, "one_hot",
                         "indices")
    if np.any((idx < 0) | (idx >= num_classes)):
        raise IndexError(f"one_hot: an index is outside [0, {num_classes})")
    return Tensor(np.eye(num_classes, dtype=dtype)[idx])


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (identity if not
    training or p == 0)."""
    p = number(p, "dropout", "p", 0.0, 1.0, high_open=True)
    training = flag(training, "dropout", "training")
    x = _tensor(x)
    if not training or p == 0.0:
        return x
    keep = get_rng().random(x.shape) >= p
    scale = keep / (1.0 - p)
    return x * (scale.astype(x.dtype) if x.dtype.kind == "f" else scale)  # ints: not truncated


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)  # data: float, as torch.Tensor(data)
