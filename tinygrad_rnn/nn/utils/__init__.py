"""Training utilities: gradient clipping and truncated backpropagation through time; packing
variable-length batches is `nn.utils.rnn` (PyTorch's `torch.nn.utils.rnn`).

Clipping follows PyTorch (`clip_grad_norm_` treats all gradients as one long vector).

Truncated BPTT. Full BPTT differentiates the total loss `L = sum_t L_t` through every step:

    dL_t/dW = sum_{j<=t} dL_t/dh_t * prod_{i=j+1..t} dh_i/dh_{i-1} * (direct dh_j/dW)

with `dh_i/dh_{i-1} = tanh'(W_hh h_{i-1} + W_xh x_i) W_hh` for a tanh RNN, so memory grows with
the sequence length. Truncated BPTT cuts the sequence into chunks of k steps,
`[s, s+k)`, runs the forward pass over one chunk, backpropagates the chunk's loss
`L_c = sum_{t=s..s+k-1} L_t` within it, and carries the hidden state `h_{s+k-1}` forward as a
constant (its value, not its gradient). The product above is then cut at the chunk's start:

    dL_c/dW = sum_{t=s..s+k-1} sum_{j=s..t} dL_t/dh_t * prod_{i=j+1..t} dh_i/dh_{i-1} * dh_j/dW

so memory is bounded by k steps and no gradient crosses a chunk boundary. Dependencies longer
than k steps are no longer learned through the gradient (they still act in the forward pass).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Iterable, Iterator, NamedTuple

import numpy as np

from tinygrad_rnn.checks import number
from tinygrad_rnn.kernels.core import by_size
from tinygrad_rnn.kernels.norms import sum_squares
from tinygrad_rnn.tensor import Tensor, stack, tensor_list

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "detach_state", "chunks",
           "unroll", "truncated_bptt", "TBPTTResult", "rnn"]


def _grads(params: Iterable[Tensor] | Tensor, fn: str) -> list[Tensor]:
    """The parameters that have a gradient (a single Tensor counts as a list of one)."""
    return [p for p in tensor_list(params, fn, "params") if p.grad is not None]


class TotalNorm(float):
    """What `clip_grad_norm_` returns: a float that also answers `.item()`, as the one-element
    tensor PyTorch returns does (`clip_grad_norm_(...).item()` is a common line)."""

    def item(self) -> float:
        """The norm as a plain float."""
        return float(self)


def clip_grad_norm_(params: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> float:
    """Scale all gradients together so that their joint norm is at most `max_norm`.

    The total norm is that of every gradient concatenated into one vector:
    `total = (sum_p sum_i |g_pi|^q)^(1/q)` for `norm_type` q (q = inf: the largest |g|).
    Each gradient is multiplied by `min(1, max_norm / (total + 1e-6))`, in place.
    Parameters whose grad is None are skipped.

    Returns the total norm before clipping, as a float (a `TotalNorm`: it has `.item()`).
    With `error_if_nonfinite=True` a NaN or infinite total raises RuntimeError (and nothing is
    changed); otherwise the gradients become NaN, as in PyTorch.
    """
    have = _grads(params, "clip_grad_norm_")
    if isinstance(norm_type, str) and norm_type.lower() == "inf":
        norm_type = math.inf
    elif isinstance(norm_type, (str, bytes)) or not isinstance(norm_type, (int, float, np.number)):
        raise TypeError(f"clip_grad_norm_: norm_type must be a number or 'inf', got "
                        f"{norm_type!r}")
    q = float(norm_type)
    if not (q == math.inf or q > 0):
        raise ValueError(f"clip_grad_norm_: norm_type must be positive or inf, got {norm_type}")
    max_norm = number(max_norm, "clip_grad_norm_", "max_norm", 0.0)
    if not have:
        return TotalNorm(0.0)
    if q == math.inf:
        # np.max, not Python's max: max(4.0, nan) is 4.0, so a NaN in a later grad was lost
        total = float(np.max([np.max(np.abs(p.grad), initial=0.0) for p in have]))
    elif q == 2.0:  # the usual case: one float64 sum of squares per gradient
        squares = 0.0
        for p in have:  # (compiled for float32 and float64 only)
            compiled = p.grad.dtype.char in "fd"
            squares += (by_size(sum_squares, p.grad.size) if compiled
                        else sum_squares.twin)(p.grad.ravel())
        total = math.sqrt(squares)
    else:
        # per-tensor norms first, then the norm of those norms: the same as one long vector
        norms = [np.sum(np.abs(p.grad.astype(np.float64)) ** q) ** (1.0 / q) for p in have]
        total = float(np.sum(np.asarray(norms) ** q) ** (1.0 / q))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is {total}, so they cannot be clipped. Pass "
                           "error_if_nonfinite=False to clip anyway (the grads become NaN)")
    coef = min(max_norm / (total + 1e-6), 1.0)
    if coef < 1.0 or not math.isfinite(total):
        for p in have:
            p.grad = p.grad * np.asarray(coef, dtype=p.grad.dtype)
    return TotalNorm(total)


def clip_grad_norm(parameters: Iterable[Tensor] | Tensor, max_norm: float,
                   norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: Any = None) -> float:
    """PyTorch's deprecated name for `clip_grad_norm_` (older programs call it), with its
    signature (`parameters=`; `foreach` is accepted and has no effect here); warns as PyTorch
    does (FutureWarning) and clips."""
    warnings.warn("`nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite)


def clip_grad_value_(params: Iterable[Tensor] | Tensor, clip_value: float) -> None:
    """Clamp every gradient element into `[-clip_value, clip_value]`, in place.

    Parameters whose grad is None are skipped.
    """
    have = _grads(params, "clip_grad_value_")
    c = number(clip_value, "clip_grad_value_", "clip_value", 0.0)
    for p in have:
        p.grad = np.clip(p.grad, -c, c).astype(p.grad.dtype, copy=False)


# ----- truncated BPTT ------------------------------------------------------------------------

def detach_state(state: Any) -> Any:
    """Cut a recurrent state from the graph: the same values, as leaves with no history.

    Accepts None, a Tensor (RNN/GRU: h), or a tuple/list of states such as LSTM's (h, c)
    or one state per layer; the container type is kept. Each new leaf keeps the tensor's name
    and tags (so the next cell call continues the step count) and is tagged `cut`, which `viz`
    draws as a truncated-BPTT boundary.
    """
    if state is None:
        return None
    if isinstance(state, Tensor):
        cut = state.detach()  # keeps the value, drops the gradient path to the past
        cut.tags = {**(state.tags or {}), "cut": True}  # viz: the truncated-BPTT boundary
        return cut
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    raise TypeError(f"detach_state: expected None, a Tensor or a tuple/list of them, "
                    f"got {type(state).__name__}")


def _time_slice(seq: Any, start: int, stop: int, axis: int) -> Any:
    index = (slice(None),) * axis + (slice(start, stop),)
    return seq[index]


def chunks(seq: Any, k: int, axis: int = 0) -> Iterator[Any]:
    """Consecutive pieces of `seq` of length k along the time `axis` (the last may be shorter).

    `seq` is anything sliceable with NumPy semantics: a Tensor, an ndarray, a list (axis 0).
    Slicing a Tensor records a GetItem op, so gradients still reach the whole input.
    """
    if int(k) != k or k < 1:
        raise ValueError(f"chunks: k must be a positive integer, got {k!r}")
    k = int(k)
    if isinstance(seq, (list, tuple)):
        if axis != 0:
            raise ValueError(f"chunks: a {type(seq).__name__} can only be cut along axis 0")
        length = len(seq)
        for start in range(0, length, k):
            yield seq[start:start + k]
        return
    shape = np.shape(seq.data if isinstance(seq, Tensor) else seq)
    if not -len(shape) <= axis < len(shape):
        raise ValueError(f"chunks: axis {axis} is out of range for shape {shape}")
    axis %= len(shape)
    for start in range(0, shape[axis], k):
        yield _time_slice(seq, start, start + k, axis)


def unroll(cell: Callable[[Any, Any], Any], xs: Any, state: Any = None) -> tuple[Tensor, Any]:
    """Step a recurrent cell over axis 0 of `xs`: returns (outputs, final state).

    `cell(x_t, state) -> new state` (RNNCell, GRUCell: h; LSTMCell: (h, c)). The output at
    each step is h (the first element when the state is a tuple); outputs are stacked on a
    new axis 0, so `xs` of shape (T, B, I) gives outputs (T, B, H). This turns a cell into the
    `model(x_chunk, state) -> (output, state)` form `truncated_bptt` takes:
    `truncated_bptt(lambda x, s: unroll(cell, x, s), ...)`.
    """
    length = len(xs)
    if length == 0:
        raise ValueError("unroll: the input sequence is empty")
    outputs = []
    for t in range(length):
        state = cell(xs[t], state)
        outputs.append(state[0] if isinstance(state, (tuple, list)) else state)
    return stack(outputs, axis=0), state


class TBPTTResult(NamedTuple):
    """What `truncated_bptt` returns: one loss per chunk, and the state after the last step."""

    losses: list[float]
    state: Any


def truncated_bptt(model: Callable[[Any, Any], tuple[Any, Any]], inputs: Any, targets: Any,
                   k: int, loss_fn: Callable[[Any, Any], Tensor], optimizer: Any = None,
                   state: Any = None, time_axis: int = 0, clip_norm: float | None = None,
                   params: Iterable[Tensor] | None = None) -> TBPTTResult:
    """Train over one long sequence with truncated BPTT, k steps at a time.

    For each chunk `[s, s+k)` along `time_axis` of `inputs` and `targets`:
    `optimizer.zero_grad()`; `output, new_state = model(x_chunk, state)`;
    `loss = loss_fn(output, target_chunk)`; `loss.backward()`; clip the gradients' global
    norm to `clip_norm` if given; `optimizer.step()`; then `state = detach_state(new_state)`:
    the next chunk starts from the state's value, and no gradient flows back across the cut
    (see the module docstring for the gradient this computes).

    model: any `(x_chunk, state) -> (output, new_state)`: a sequence module (`nn.RNN`,
        `nn.LSTM`, `nn.GRU`) as it is, or a cell via `lambda x, s: unroll(cell, x, s)`.
    loss_fn: `(output, target_chunk) -> scalar Tensor`.
    optimizer: anything with `zero_grad()` and `step()`. When None, nothing is zeroed or
        stepped, so each parameter's `.grad` ends up as the sum of the chunks' truncated
        gradients.
    clip_norm: clip with `clip_grad_norm_` over `params` (default: the optimizer's
        `params`) before each step.

    Returns TBPTTResult(losses=[one float per chunk], state=the final state, detached).
    """
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"truncated_bptt: k must be a positive integer, got {k!r}")
    if clip_norm is not None and params is None:
        params = getattr(optimizer, "params", None)
        if params is None:
            raise ValueError("truncated_bptt: clip_norm needs `params` (or an optimizer with "
                             "a .params list)")
    n_in = np.shape(inputs.data if isinstance(inputs, Tensor) else inputs)[time_axis]
    n_tg = np.shape(targets.data if isinstance(targets, Tensor) else targets)[time_axis]
    if n_in != n_tg:
        raise ValueError(f"truncated_bptt: inputs have {n_in} steps along axis {time_axis} "
                         f"but targets have {n_tg}")
    params = list(params) if params is not None else None
    losses: list[float] = []
    for x_chunk, y_chunk in zip(chunks(inputs, k, time_axis), chunks(targets, k, time_axis)):
        if optimizer is not None:
            optimizer.zero_grad()
        output, new_state = model(x_chunk, state)
        loss = loss_fn(output, y_chunk)
        if not isinstance(loss, Tensor) or loss.data.size != 1:
            raise TypeError("truncated_bptt: loss_fn must return a scalar Tensor, got "
                            f"{type(loss).__name__} {getattr(loss, 'shape', '')}")
        loss.backward()
        if clip_norm is not None:
            clip_grad_norm_(params, clip_norm)
        if optimizer is not None:
            optimizer.step()
        losses.append(float(loss.item()))
        state = detach_state(new_state)
    return TBPTTResult(losses, state)


from tinygrad_rnn.nn.utils import rnn  # noqa: E402  (nn.utils.rnn as an attribute)
