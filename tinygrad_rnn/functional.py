"""Activations, losses and helpers built from the primitive ops, named as in
torch.nn.functional: softmax, activations, cross-entropy, NLL, MSE, L1, Huber, BCE, KL, one-hot."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tinygrad_rnn import function as ops
from tinygrad_rnn import fused
from tinygrad_rnn.random import get_rng
from tinygrad_rnn import checks
from tinygrad_rnn.checks import flag, integer, number
from tinygrad_rnn.tensor import Tensor, _alias, _dim, where

_REDUCTIONS = ("mean", "sum", "none")


def softmax(x: Tensor, dim: int = -1, *, axis: int | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim` (`axis` is an alias), stable for logits of magnitude
    1e4."""
    x = _tensor(x)
    dim = _dim(_alias(dim, -1, axis, "dim", "axis", "softmax"), x.ndim, "softmax")
    return ops.Softmax.apply(x._to_float(), axis=dim)


def log_softmax(x: Tensor, dim: int = -1, *, axis: int | None = None) -> Tensor:
    """log(softmax(x)) computed as x - logsumexp(x) along `dim` (`axis` is an alias), stable
    for logits of magnitude 1e4."""
    x = _tensor(x)
    dim = _dim(_alias(dim, -1, axis, "dim", "axis", "log_softmax"), x.ndim, "log_softmax")
    return ops.LogSoftmax.apply(x._to_float(), axis=dim)


def sigmoid(x: Tensor) -> Tensor:
    """Logistic sigmoid, without overflow for inputs of +-1000."""
    return _tensor(x).sigmoid()


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    return _tensor(x).tanh()


def relu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """max(x, 0). `inplace=True` is accepted and computes out of place (same values)."""
    flag(inplace, "relu", "inplace")
    return _tensor(input).relu()


def relu_(input: Tensor) -> Tensor:  # noqa: A002
    """max(x, 0) written into the tensor itself, which is returned (as `input.relu_()`)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"relu_: input must be a Tensor, got {type(input).__name__}")
    return input.relu_()


def logsigmoid(input: Tensor) -> Tensor:  # noqa: A002
    """log(sigmoid(x)) = min(x, 0) - log(1 + exp(-|x|)): finite for any finite x."""
    return ops.LogSigmoid.apply(_floating(input, "logsigmoid"))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:  # noqa: A002
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (as PyTorch); never
    overflows."""
    beta = number(beta, "softplus", "beta")
    if beta == 0:
        raise ValueError("softplus: beta must be nonzero, got 0.0")
    threshold = number(threshold, "softplus", "threshold")
    return ops.Softplus.apply(_floating(input, "softplus"), beta=beta, threshold=threshold)


def leaky_relu(input: Tensor, negative_slope: float = 0.01,  # noqa: A002
               inplace: bool = False) -> Tensor:
    """x where x > 0, else negative_slope * x (`inplace=True` computes out of place)."""
    slope = number(negative_slope, "leaky_relu", "negative_slope")
    flag(inplace, "leaky_relu", "inplace")
    x = _floating(input, "leaky_relu")
    return x * np.where(x.data > 0, 1, slope).astype(x.dtype)  # one node: gradient 1 or slope


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """x where x > 0, else alpha * expm1(x), exact for tiny x (`inplace=True` computes out of
    place)."""
    alpha = number(alpha, "elu", "alpha")
    flag(inplace, "elu", "inplace")
    x = _floating(input, "elu")
    neg = x.data <= 0  # NaN takes the x branch: gradient 1, as PyTorch
    near = neg & (x.data > -1)  # expm1 there as 2 tanh(x/2) / (1 - tanh(x/2)): exact for tiny x
    t = (where(near, x, 0.0) * 0.5).tanh()
    expm1 = where(near, 2 * t / (1 - t), where(neg, x, 0.0).exp() - 1)  # (exp of x <= 0 only)
    return where(neg, alpha * expm1, x)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:  # noqa: A002
    """x * Phi(x) (Phi the standard normal CDF); approximate="tanh" is PyTorch's tanh form."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return ops.GELU.apply(_floating(input, "gelu"), approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """x * sigmoid(x), also called swish (`inplace=True` computes out of place)."""
    flag(inplace, "silu", "inplace")
    x = _floating(input, "silu")
    return x * x.sigmoid()


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:  # noqa: A002
    """input W^T + b as one graph node (what `nn.Linear` records), as torch.nn.functional.linear:
    input (..., in_features), weight (out_features, in_features), bias (out_features,) or None."""
    args = (input, weight) if bias is None else (input, weight, bias)
    return fused.LinearLayer.apply(*(_tensor(a) for a in args))


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,  # noqa: A002
              out: Any = None) -> Tensor:
    """input / max(||input||_p, eps) along `dim`, as torch.nn.functional.normalize (a zero
    vector stays zero)."""
    if out is not None:
        raise TypeError("normalize: out= is not supported")
    x = _floating(input, "normalize")
    eps = number(eps, "normalize", "eps", 0.0)
    return x / x.norm(number(p, "normalize", "p"), _dim(dim, x.ndim, "normalize"),
                      keepdim=True).clamp(min=eps)


def layer_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None,  # noqa: A002
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias over the last dims (those of
    normalized_shape), with the biased variance, as torch.nn.functional.layer_norm."""
    return _layer_norm(input, normalized_shape, weight, bias, eps, "layer_norm")


def _layer_norm(x: Any, shape: Any, weight: Any, bias: Any, eps: float, fn: str) -> Tensor:
    """layer_norm, its errors naming `fn` (nn.LayerNorm calls it too)."""
    x = _floating(x, fn)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else shape
    if not isinstance(shape, (list, tuple)) or not all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape):
        raise TypeError(f"{fn}: normalized_shape must be an int or a list/tuple of ints, got "
                        f"{shape!r}")
    shape, n = tuple(int(s) for s in shape), len(shape)
    if n == 0:
        raise ValueError(f"{fn}: normalized_shape must hold at least one size, got {shape!r}")
    if x.ndim < n or x.shape[x.ndim - n:] != shape:
        raise ValueError(f"{fn}: input of shape {x.shape} does not end with normalized_shape "
                         f"{shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(np.shape(t.data if isinstance(t, Tensor) else t)) != shape:
            raise ValueError(f"{fn}: {name} of shape {np.shape(_tensor(t).data)} does not "
                             f"match normalized_shape {shape}")
    eps = number(eps, fn, "eps", 0.0)
    dims = tuple(range(x.ndim - n, x.ndim))
    centred = x - x.mean(dims, keepdim=True)
    var = (centred * centred).mean(dims, keepdim=True)  # biased, as PyTorch
    y = centred / (var + eps).sqrt()
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


# ----- losses ----------------------------------------------------------------------------------
def _reduction(reduction: Any, fn: str, size_average: Any = None, reduce: Any = None,
               extra: tuple = ()) -> str:
    """The checked reduction; PyTorch's deprecated size_average / reduce, when given, decide it
    as in PyTorch (with its warning). (Also the check of the loss modules.)"""
    if size_average is not None or reduce is not None:
        reduction = ("mean" if size_average is not False else "sum") if reduce is not False \
            else "none"
        warnings.warn(f"{fn}: size_average and reduce args will be deprecated, please use "
                      f"reduction='{reduction}' instead.", UserWarning, stacklevel=3)
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS + extra:
        raise ValueError(f"{fn}: reduction must be one of {_REDUCTIONS + extra}, got "
                         f"{reduction!r}")
    return reduction


def _positional(slot: Any, reduction: Any, fn: str) -> tuple[Any, Any]:
    """(slot, reduction), accepting this project's older positional form f(a, b, "sum") where
    PyTorch's third parameter (weight or size_average) never takes a string."""
    if not isinstance(slot, str):
        return slot, reduction
    if reduction != "mean":
        raise TypeError(f"{fn}: reduction given twice ({slot!r} and {reduction!r})")
    return None, slot


def _reduce(loss: Tensor, reduction: str, fn: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{fn}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _class_targets(scores: Tensor, target: Any, fn: str,
                   ignore_index: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """The checked integer targets for scores (N, C) or (C,): shape (N,) or (), each in
    [0, C) or equal to ignore_index; and the mask of the ignored targets (None if there is
    none). Every failure names `fn` and the argument."""
    t = checks.indices(target.data if isinstance(target, Tensor) else target, fn, "target")
    if scores.ndim not in (1, 2):
        raise ValueError(f"{fn}: input must be (N, C), (C,) or (N, C, d1, ...), got shape "
                         f"{scores.shape}")
    n_classes = scores.shape[-1]
    expected = scores.shape[:1] if scores.ndim == 2 else ()
    if t.shape != expected:
        raise ValueError(f"{fn}: target of shape {t.shape} does not fit input of shape "
                         f"{scores.shape} (expected target shape {expected})")
    bad = (t < 0) | (t >= n_classes)
    any_bad, ignored = bool(bad.any()), None
    if ignore_index is not None and (any_bad or 0 <= ignore_index < n_classes):
        hit = t == ignore_index
        if hit.any():
            ignored, bad = hit, bad & ~hit
            any_bad = bool(bad.any())
    if any_bad:
        raise IndexError(f"{fn}: target {t[bad].ravel()[0]} is outside [0, {n_classes})")
    return t, ignored


def _class_weight(weight: Any, n_classes: int, fn: str) -> np.ndarray | None:
    """Per-class weights as an ndarray of shape (C,), or None (a constant: no gradient)."""
    if weight is None:
        return None
    w = np.asarray(weight.data if isinstance(weight, Tensor) else weight)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: weight must hold real numbers, got dtype {w.dtype}")
    if w.shape != (n_classes,):
        raise ValueError(f"{fn}: weight must hold one value per class, shape ({n_classes},), got "
                         f"shape {w.shape}")
    return w


def _class_loss(input: Any, target: Any, weight: Any, ignore_index: Any, reduction: str,
                smoothing: float, fn: str, logits: bool) -> Tensor:
    """PyTorch's (weighted, smoothed) cross-entropy of logits (logits=True) or negative
    log-likelihood of log-probabilities, with every option; the one implementation behind
    cross_entropy, nll_loss, nn.CrossEntropyLoss and nn.NLLLoss. The reduction must be checked.

    With weights w and smoothing e over C classes the loss of a row is
    (1 - e) w[t] (-log p[t]) + e / C * sum_c w[c] (-log p[c]); rows whose target is ignore_index
    count neither in the sum nor in the mean, whose denominator is the sum of w[t] over the rows
    kept (all rows ignored: NaN, with gradient 0, as in PyTorch).
    """
    scores = _tensor(input)._to_float() if logits else _tensor(input)
    if scores.ndim > 2:  # PyTorch's (N, C, d1, ..., dk) with targets (N, d1, ..., dk)
        spatial = scores.shape[:1] + scores.shape[2:]
        t = checks.indices(target.data if isinstance(target, Tensor) else target, fn, "target")
        if t.shape != spatial:
            raise ValueError(f"{fn}: target of shape {t.shape} does not fit input of shape "
                             f"{scores.shape} (expected target shape {spatial})")
        rows = scores.permute(0, *range(2, scores.ndim), 1).reshape(-1, scores.shape[1])
        out = _class_loss(rows, t.reshape(-1), weight, ignore_index, reduction, smoothing, fn,
                          logits)  # one row per position, then the positions' shape again
        return out.reshape(spatial) if reduction == "none" else out
    ignore_index = integer(ignore_index, fn, "ignore_index")
    t, ignored = _class_targets(scores, target, fn, ignore_index)
    w = _class_weight(weight, scores.shape[-1], fn)
    if logits and w is None and not smoothing and ignored is None and reduction != "none" \
            and t.size:  # one fused node: faster, and one box in the drawn graph
        rows = scores if scores.ndim == 2 else scores.reshape(1, scores.shape[-1])
        return fused.CrossEntropy.apply(rows, target=t.reshape(-1), reduction=reduction)
    logp = log_softmax(scores, -1) if logits else scores
    rows = logp if logp.ndim == 2 else logp.reshape(1, logp.shape[-1])
    t = t.reshape(-1)
    safe = t if ignored is None else np.where(ignored.reshape(-1), 0, t)
    per_row = -rows[np.arange(len(t)), safe]
    w_t = None if w is None else w[safe].astype(rows.dtype)
    if w_t is not None:
        per_row = per_row * w_t
    if smoothing:
        spread = rows if w is None else rows * w.astype(rows.dtype)
        per_row = (1.0 - smoothing) * per_row - (smoothing / rows.shape[-1]) * spread.sum(-1)
    if ignored is not None:  # ignored rows: loss 0 and no gradient (a -inf there too)
        per_row = where(~ignored.reshape(-1), per_row, 0.0)
    if reduction == "none":
        return per_row if logp.ndim == 2 else per_row.reshape(())
    total = per_row.sum()
    if reduction == "sum":
        return total
    keep = slice(None) if ignored is None else ~ignored.reshape(-1)
    denom = float(len(t[keep])) if w_t is None else float(w_t[keep].sum())
    if denom:
        return total * (1.0 / denom)
    return total * 0.0 + np.nan  # nothing to average over: 0/0 = NaN, gradient 0 (as PyTorch)


def cross_entropy(input: Tensor, target: Any, weight: Any = None,  # noqa: A002
                  size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between raw logits and integer class targets (PyTorch semantics).

    input: logits (N, C) or (C,), or (N, C, d1, ..., dk) with the classes at dim 1, as in
    PyTorch. target: class indices of shape (N,) or () (or (N, d1, ..., dk)) as an int
    ndarray, list, int or Tensor. weight: per-class weights (C,) (a constant), or None.
    ignore_index: rows with this target are left out. reduction: "mean" (over the rows kept,
    weighted by their class weights; NaN for none, as in PyTorch), "sum", or "none" (shape
    (N,), or (N, d1, ..., dk)). label_smoothing: e in [0, 1]: the target is (1 - e) one-hot +
    e uniform.
    (`cross_entropy(x, t, "sum")`, this library's older positional form, still works.)
    """
    weight, reduction = _positional(weight, reduction, "cross_entropy")
    reduction = _reduction(reduction, "cross_entropy", size_average, reduce)
    smoothing = number(label_smoothing, "cross_entropy", "label_smoothing", 0.0, 1.0)
    return _class_loss(input, target, weight, ignore_index, reduction, smoothing,
                       "cross_entropy", logits=True)


def nll_loss(input: Tensor, target: Any, weight: Any = None,  # noqa: A002
             size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities `input` (N, C) or (C,) (or
    (N, C, d1, ..., dk)) at integer class targets (N,) or () (or (N, d1, ..., dk)); weight,
    ignore_index and reduction as in `cross_entropy`."""
    weight, reduction = _positional(weight, reduction, "nll_loss")
    reduction = _reduction(reduction, "nll_loss", size_average, reduce)
    return _class_loss(input, target, weight, ignore_index, reduction, 0.0, "nll_loss",
                       logits=False)


def _pair(input: Any, target: Any, fn: str, floating: bool = False) -> tuple[Tensor, Tensor]:
    """(input, target) as Tensors of the same shape (PyTorch broadcasts some losses with a
    warning; here a mismatch, usually a bug such as (N, 1) against (N,), is an error)."""
    a = _floating(input, fn) if floating else _tensor(input)
    b = a._lift(target)
    if a.shape != b.shape:
        raise ValueError(f"{fn}: shapes {a.shape} and {b.shape} differ")
    return a, b


def _float_target(target: Any, fn: str) -> Any:
    """target, refused when it is a Tensor of integers or bools (PyTorch's BCE and KL losses
    refuse them; an ndarray or list target takes the input's dtype)."""
    if isinstance(target, Tensor) and target.dtype.kind != "f":
        raise TypeError(f"{fn}: target must be floating point, got dtype {target.dtype} (use "
                        "target.float())")
    return target


def _broadcastable(value: Any, x: Tensor, fn: str, name: str) -> Tensor:
    """`value` (weight, pos_weight) as a Tensor that broadcasts to x's shape."""
    if isinstance(value, Tensor) and not value.requires_grad:
        value = value.data  # a constant: in x's dtype (a float64 weight keeps a float32 loss)
    v = x._lift(value)
    if not checks.broadcasts_to(v.shape, x.shape):
        raise ValueError(f"{fn}: {name} of shape {v.shape} does not broadcast to input of shape "
                         f"{x.shape}")
    return v


def _mse(input: Any, target: Any, reduction: str, fn: str) -> Tensor:
    a, b = _pair(input, target, fn)
    diff = a - b
    return _reduce(diff * diff, reduction, fn)


def mse_loss(input: Tensor, target: Any, size_average: Any = None,  # noqa: A002
             reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Mean squared error (input - target)^2, reduced by "mean", "sum" or "none"; the shapes
    must be equal."""
    size_average, reduction = _positional(size_average, reduction, "mse_loss")
    return _mse(input, target, _reduction(reduction, "mse_loss", size_average, reduce),
                "mse_loss")


def _l1(input: Any, target: Any, reduction: str, fn: str) -> Tensor:
    a, b = _pair(input, target, fn)
    return _reduce((a - b).abs(), reduction, fn)


def l1_loss(input: Tensor, target: Any, size_average: Any = None,  # noqa: A002
            reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Mean absolute error |input - target| (gradient sign(input - target), 0 where equal)."""
    size_average, reduction = _positional(size_average, reduction, "l1_loss")
    return _l1(input, target, _reduction(reduction, "l1_loss", size_average, reduce),
               "l1_loss")


def _huber(input: Any, target: Any, reduction: str, delta: float, scale: float,
           fn: str) -> Tensor:
    """scale * huber_delta(input - target): 0.5 d^2 where |d| < delta, else delta (|d| -
    0.5 delta), computed as 0.5 a^2 + delta (|d| - a) with a = min(|d|, delta) (no overflow,
    no branch)."""
    a, b = _pair(input, target, fn, floating=True)
    if delta == 0:  # (smooth_l1_loss with beta 0) the L1 loss
        return _reduce((a - b).abs(), reduction, fn)
    ad = (a - b).abs()
    inner = ad.clamp(max=delta)
    loss = 0.5 * inner * inner + delta * (ad - inner)
    return _reduce(loss * scale if scale != 1.0 else loss, reduction, fn)


def smooth_l1_loss(input: Tensor, target: Any, size_average: Any = None,  # noqa: A002
                   reduce: Any = None, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target; beta = 0:
    the L1 loss)."""
    size_average, reduction = _positional(size_average, reduction, "smooth_l1_loss")
    reduction = _reduction(reduction, "smooth_l1_loss", size_average, reduce)
    beta = number(beta, "smooth_l1_loss", "beta", 0.0)
    return _huber(input, target, reduction, beta, 1.0 / beta if beta else 1.0,
                  "smooth_l1_loss")


def huber_loss(input: Tensor, target: Any, reduction: str = "mean",  # noqa: A002
               delta: float = 1.0) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (d = input - target)."""
    reduction = _reduction(reduction, "huber_loss")
    delta = number(delta, "huber_loss", "delta", 0.0, low_open=True)
    return _huber(input, target, reduction, delta, 1.0, "huber_loss")


def _bce(input: Any, target: Any, weight: Any, reduction: str, fn: str) -> Tensor:
    p, y = _pair(input, _float_target(target, fn), fn, floating=True)
    for name, arr in (("input", p.data), ("target", y.data)):
        if not np.all((arr >= 0) & (arr <= 1)):
            raise ValueError(f"{fn}: all elements of {name} should be between 0 and 1")
    loss = ops.BinaryCrossEntropy.apply(p, y)
    if weight is not None:
        loss = loss * _broadcastable(weight, p, fn, "weight")
    return _reduce(loss, reduction, fn)


def binary_cross_entropy(input: Tensor, target: Any, weight: Any = None,  # noqa: A002
                         size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:
    """-w (y log p + (1 - y) log(1 - p)) of probabilities p in [0, 1] and targets y in [0, 1],
    each log clamped at -100 as in PyTorch. weight: broadcasts to the input's shape."""
    weight, reduction = _positional(weight, reduction, "binary_cross_entropy")
    reduction = _reduction(reduction, "binary_cross_entropy", size_average, reduce)
    return _bce(input, target, weight, reduction, "binary_cross_entropy")


def _bce_logits(input: Any, target: Any, weight: Any, reduction: str, pos_weight: Any,
                fn: str) -> Tensor:
    x, y = _pair(input, _float_target(target, fn), fn, floating=True)
    pw = x._lift(np.ones((), x.dtype)) if pos_weight is None else _broadcastable(
        pos_weight, x, fn, "pos_weight")  # PyTorch's: the positive term weighs 1 + (pw - 1) y
    loss = ops.BCEWithLogits.apply(x, y, pw)
    if weight is not None:
        loss = loss * _broadcastable(weight, x, fn, "weight")
    return _reduce(loss, reduction, fn)


def binary_cross_entropy_with_logits(input: Tensor, target: Any,  # noqa: A002
                                     weight: Any = None, size_average: Any = None,
                                     reduce: Any = None, reduction: str = "mean",
                                     pos_weight: Any = None) -> Tensor:
    """Binary cross-entropy of raw logits x: (1 - y) x - (1 + (pos_weight - 1) y) log s(x),
    from a stable log-sigmoid (finite for logits of any size). weight and pos_weight (per
    class, along the last dim) broadcast to the input's shape."""
    weight, reduction = _positional(weight, reduction, "binary_cross_entropy_with_logits")
    reduction = _reduction(reduction, "binary_cross_entropy_with_logits", size_average, reduce)
    return _bce_logits(input, target, weight, reduction, pos_weight,
                       "binary_cross_entropy_with_logits")


def _kl_div(input: Any, target: Any, reduction: str, log_target: bool, fn: str) -> Tensor:
    x, t = _pair(input, _float_target(target, fn), fn, floating=True)
    if log_target:
        loss = t.exp() * (t - x)
    else:  # t log t with 0 log 0 = 0 (PyTorch's xlogy)
        loss = t * (where(t.data == 0, 1.0, t).log() - x)
    if reduction == "batchmean":  # an empty batch: 0 / 0 = NaN, as PyTorch
        return loss.sum() * (1.0 / x.shape[0] if x.ndim and x.shape[0] else
                             np.nan if x.ndim else 1.0)
    if reduction == "mean":
        warnings.warn(f"{fn}: reduction: 'mean' divides the total loss by both the batch size "
                      "and the support size.'batchmean' divides only by the batch size, and "
                      "aligns with the KL div math definition.'mean' will be changed to behave "
                      "the same as 'batchmean' in the next major release.", UserWarning,
                      stacklevel=3)
    return _reduce(loss, reduction, fn)


def kl_div(input: Tensor, target: Any, size_average: Any = None,  # noqa: A002
           reduce: Any = None, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence of log-probabilities `input` from `target` (probabilities,
    or log-probabilities with log_target=True), pointwise target (log target - input);
    reduction "batchmean" (sum / batch size: the KL divergence), "sum", "mean" or "none"."""
    size_average, reduction = _positional(size_average, reduction, "kl_div")
    reduction = _reduction(reduction, "kl_div", size_average, reduce, extra=("batchmean",))
    return _kl_div(input, target, reduction, flag(log_target, "kl_div", "log_target"), "kl_div")


def one_hot(indices: Any, num_classes: int, dtype: Any = np.float32) -> Tensor:
    """Tensor of shape indices.shape + (num_classes,) with a 1 at each index: float32 (PyTorch:
    int64), or `dtype`."""
    num_classes = integer(num_classes, "one_hot", "num_classes", minimum=1)
    idx = checks.indices(indices.data if isinstance(indices, Tensor) else indices, "one_hot",
                         "indices")
    if np.any((idx < 0) | (idx >= num_classes)):
        raise IndexError(f"one_hot: an index is outside [0, {num_classes})")
    out = np.eye(num_classes, dtype=dtype)[idx]
    return Tensor(out, dtype=out.dtype)


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


def _floating(x: Any, fn: str) -> Tensor:
    """x as a floating-point Tensor, or a TypeError (PyTorch's kernels refuse integers)."""
    x = _tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{fn}: input must be floating point, got dtype {x.dtype}")
    return x
