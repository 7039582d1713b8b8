"""PyTorch's `torch.autograd` names, so `torch.autograd.grad(...)` and `from torch.autograd import
Variable` run unchanged: thin wrappers over the engine (`tensor.py`, `modes.py`).

`autograd.grad` returns Tensors, as PyTorch's does; the library's own `tg.grad` returns arrays,
as `.grad` holds (see docs/engine.md).
"""

from __future__ import annotations

from typing import Any, Sequence

from tinygrad_rnn.modes import detect_anomaly, enable_grad, no_grad, set_grad_enabled
from tinygrad_rnn.tensor import Tensor, _propagate, _seed_grad, tensor_list
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
    tensors = tensor_list(tensors, "autograd.backward", "tensors", empty=False)
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors] * (1 if grad_tensors is not None else len(tensors))
    grad_tensors = list(grad_tensors)
    if len(grad_tensors) != len(tensors):
        raise ValueError(f"autograd.backward: {len(grad_tensors)} grad_tensors for "
                         f"{len(tensors)} tensors")
    seeds: dict = {}
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        if not t.requires_grad:
            raise RuntimeError(f"autograd.backward: tensors[{i}] does not require grad")
        g = _seed_grad(t, g, f"autograd.backward: grad_tensors[{i}]")
        seeds[t] = g if t not in seeds else seeds[t] + g
    _propagate(seeds, bool(retain_graph), False)


def Variable(data: Any, requires_grad: bool = False) -> Tensor:  # noqa: N802  (PyTorch's name)
    """The pre-2018 `torch.autograd.Variable(t)`: a new leaf with t's data, cut from t's graph
    (old truncated-BPTT code writes `h = Variable(h.data)` or `Variable(h)`), requiring grad
    if asked."""
    t = data.detach() if isinstance(data, Tensor) else Tensor(data)
    return t.requires_grad_() if requires_grad else t

