"""PyTorch's `torch.autograd` names, so `torch.autograd.grad(...)` and `from torch.autograd import
Variable` run unchanged: thin wrappers over the engine (`tensor.py`, `modes.py`).

`autograd.grad` returns Tensors, as PyTorch's does; the library's own `tg.grad` returns arrays,
as `.grad` holds (see docs/engine.md).
"""

from __future__ import annotations

from typing import Any, Sequence

from tinygrad_rnn.modes import detect_anomaly, enable_grad, no_grad, set_grad_enabled
from tinygrad_rnn.tensor import Tensor, _propagate, _seeds
from tinygrad_rnn.tensor import grad as _grad

__all__ = ["grad", "backward", "Variable", "detect_anomaly", "no_grad", "enable_grad",
           "set_grad_enabled"]


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """`torch.autograd.grad`: d sum(outputs * grad_outputs) / d input for each input, as Tensors
    that need no grad (None for an unused input with allow_unused=True); no `.grad` changes."""
    if create_graph:
        raise NotImplementedError("autograd.grad: create_graph=True (gradients of gradients) is "
                                  "not supported: backward passes are not recorded")
    found = _grad(outputs, inputs, grad_outputs, bool(retain_graph), allow_unused)
    return tuple(None if g is None else Tensor(g, dtype=g.dtype) for g in found)


def backward(tensors: Tensor | Sequence[Tensor], grad_tensors: Any = None,
             retain_graph: bool | None = None) -> None:
    """`torch.autograd.backward`: one backward pass from several roots at once, adding
    d sum(tensors * grad_tensors) / d leaf into every leaf's `.grad`."""
    seeds = _seeds(tensors, grad_tensors, "autograd.backward", "tensor", "grad_tensors")
    _propagate(seeds, bool(retain_graph), False)


def Variable(data: Any, requires_grad: bool = False) -> Tensor:  # noqa: N802  (PyTorch's name)
    """The pre-2018 `torch.autograd.Variable(t)`: a new leaf with t's data, cut from t's graph
    (old truncated-BPTT code writes `h = Variable(h.data)` or `Variable(h)`), requiring grad
    if asked."""
    t = data.detach() if isinstance(data, Tensor) else Tensor(data)
    return t.requires_grad_() if requires_grad else t

