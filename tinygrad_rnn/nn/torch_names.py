"""PyTorch's names for the weights of a recurrent cell or layer, which here keeps one `.linear`
over [x; h] per cell: `weight_ih_l0` / `weight_hh_l0` (`_reverse`, `_l1`, ...; a cell's
`weight_ih`, `weight_hh`) read as WeightBlocks, views of that weight's x and h columns, so that
PyTorch init code (`nn.init.orthogonal_(lstm.weight_hh_l0)`) writes into the cell and
`lstm.weight_hh_l0.grad` reads the block's gradient. The bias names raise: PyTorch's two biases
are folded into one here, and a write into one of them would change a different model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_rnn.modes import is_grad_enabled
from tinygrad_rnn.nn.module import Module
from tinygrad_rnn.tensor import Tensor

_DATA = Tensor.data  # the `data` slot of every Tensor (WeightBlock.data writes through it)


class WeightBlock(Tensor):
    """A block of a cell's weight under PyTorch's name (`lstm.weight_hh_l0`, `cell.weight_hh`):
    a slice sharing the weight's memory, so `nn.init.orthogonal_(block)`, `block.data = a`
    (same shape) and `block.copy_(a)` under no_grad write into the cell, and a gradient through
    the block reaches the weight. Its `.grad` is that slice of the weight's `.grad` (None before
    the first backward), as PyTorch's `lstm.weight_hh_l0.grad`; setting it is refused (set or
    clear the weight's), as is a hook (the forward pass does not go through the block). Not a
    leaf: give an optimizer `model.parameters()`, not a block."""

    __slots__ = ("_weight", "_index")
    holds_grad = False  # its .grad is the weight's: backward(retain_grad=True) stores none here

    @property
    def grad(self) -> np.ndarray | None:
        """The block's rows and columns of the weight's `.grad` (a view of it), or None."""
        grad = self._weight.grad
        return None if grad is None else grad[self._index]

    @grad.setter
    def grad(self, value: Any) -> None:
        raise AttributeError(f"{self.name}.grad: a block's gradient is a slice of "
                             f"{self._weight.name}.grad and cannot be set on its own; set or "
                             "clear the weight's .grad (model.zero_grad())")

    def _set_data(self, value: Any) -> None:
        # `rnn.weight_hh_l0.data = torch.eye(H)` (IRNN init): into the weight, same shape only
        array = np.asarray(_DATA.__get__(value) if isinstance(value, Tensor) else value)
        if array.shape != self.shape:
            raise ValueError(f"{self.name}.data: a block of {self._weight.name} takes an array "
                             f"of its shape {self.shape}, got {array.shape}")
        _DATA.__get__(self)[...] = array
        self._bump_version()

    data = property(_DATA.__get__, _set_data, doc="The block's values: a view of the weight's "
                    "array; assigning an array of the block's shape writes it into the weight.")

    def _set_requires_grad(self, value: Any) -> None:
        # `rnn.weight_hh_l0.requires_grad = False` (a frozen reservoir) must not be a no-op
        raise AttributeError(f"{self.name}.requires_grad: a block cannot be frozen on its own "
                             f"(it is part of the one parameter {self._weight.name}); set "
                             f"{self._weight.name}.requires_grad, which freezes the whole "
                             f"[W_ih W_hh], or zero the block's gradient after each backward "
                             f"(`{self.name}.grad[...] = 0`, a view of the weight's; with an "
                             "optimizer without weight decay)")

    requires_grad = property(Tensor.requires_grad.__get__, _set_requires_grad,
                             doc="Whether the block is in the recorded graph (read-only).")

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Refused, as setting `requires_grad`: the block is part of one parameter."""
        self._set_requires_grad(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Nothing to do, as for PyTorch's parameter: `.grad` already reads the weight's."""

    def register_hook(self, hook: Any) -> Any:
        """Refused: the forward pass uses the weight, not the block, so a hook here would
        never run (PyTorch's runs on the parameter's gradient)."""
        raise RuntimeError(f"register_hook: {self.name} is a block of {self._weight.name}, "
                           "whose gradient does not pass through the block; register the hook "
                           f"on {self._weight.name} (its gradient holds the block's)")

    def __reduce_ex__(self, protocol: Any) -> tuple:
        """copy.deepcopy / pickle of a block: a leaf Tensor holding a copy of its values."""
        return Tensor, (_DATA.__get__(self).copy(), self.requires_grad, None, self.name)

    def _write(self, fn: str, change: Any, source: Any = None) -> Tensor:
        """In-place methods (copy_, fill_, ...) write into the weight: only under no_grad."""
        self._writable(fn)
        return super()._write(fn, change, source)

    def __setitem__(self, index: Any, value: Any) -> None:
        """block[i] = v writes into the weight, under no_grad (never a new graph node)."""
        self._writable("__setitem__", value)
        super().__setitem__(index, value)

    def _iop(self, other: Any, fn: str, op: Any, ufunc: Any) -> Tensor:
        """block += x writes into the weight, under no_grad (never a new graph node)."""
        self._writable(fn, other)
        return super()._iop(other, fn, op, ufunc)

    def _writable(self, fn: str, value: Any = None) -> None:
        """Raises unless an in-place write may go into the weight (no gradient is recorded)."""
        if is_grad_enabled() and (self.requires_grad or getattr(value, "requires_grad", False)):
            raise RuntimeError(f"{fn}: {self.name} is a block of the parameter "
                               f"{self._weight.name}, which cannot be changed in place outside "
                               "`with no_grad():` (as in PyTorch)")


def _block(weight: Tensor, index: tuple, name: str) -> WeightBlock:
    """weight[index] (recorded: a gradient through it reaches weight) as a WeightBlock."""
    view = weight[index]
    block = WeightBlock.__new__(WeightBlock)
    for slot in Tensor.__slots__:  # the view's fields, but not its own .grad
        if slot not in ("grad", "__weakref__") and hasattr(view, slot):
            getattr(Tensor, slot).__set__(block, getattr(view, slot))
    block._weight, block._index, block.name = weight, index, name
    return block


class _TorchWeights(dict):
    """A recurrent module's `_parameters`: a missing name (a bias) says why it is missing."""

    def __init__(self, owner: str) -> None:
        super().__init__()
        self.owner = owner

    def __missing__(self, key: str) -> Any:
        why = (" (the two PyTorch biases are folded into one per cell, its linear.bias; see "
               "docs/nn.md)" if str(key).startswith("bias_") else "")
        raise KeyError(f"{self.owner}._parameters: no {key!r}{why}")

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        """Assigning or deleting here would change a copy, not the layer: refused by name."""
        raise TypeError(f"{self.owner}._parameters: the blocks are views of the cells' weights, "
                        "rebuilt on each read; assigning or deleting one would not change the "
                        "layer. Write into the block in place (nn.init.*_(block), block[:] = x "
                        "under no_grad) or into cells[k].linear.weight")

    __setitem__ = __delitem__ = pop = popitem = update = setdefault = clear = _refuse


class TorchNamed(Module):
    """PyTorch's names for the weights of a recurrent cell or layer, which keeps one `.linear`
    per cell: `weight_ih_l0` / `weight_hh_l0` (`_reverse`, `_l1`, ...; a cell's: `weight_ih`,
    `weight_hh`) read as WeightBlocks of that cell's `linear.weight` (its x columns, its h
    columns) and `weight_hr_l0` as the cell's `weight_hr`; `_parameters` maps the names to the
    same. The bias names raise AttributeError: the two are folded into one (`linear.bias`), and
    writing into one of PyTorch's would change a different model. Assigning to a block or bias
    name is refused too: in PyTorch it replaces the parameter, here it would add a parameter
    that forward never reads. `named_parameters()` keeps this library's names."""

    def _torch_layers(self) -> list[tuple[str, Module]]:
        """(PyTorch's name suffix, cell) per layer and direction: "" for a cell itself."""
        raise NotImplementedError

    def _torch_names(self) -> list[str]:
        """PyTorch's names of the weights and biases, in its order (weight_ih, weight_hh,
        bias_ih, bias_hh, weight_hr per layer and direction)."""
        names = []
        for sfx, cell in self._torch_layers():
            names += [f"weight_ih{sfx}", f"weight_hh{sfx}"]
            names += [f"bias_ih{sfx}", f"bias_hh{sfx}"] if cell.bias else []
            names += [f"weight_hr{sfx}"] if vars(cell).get("weight_hr") is not None else []
        return names

    @property
    def _parameters(self) -> dict[str, Tensor]:
        """{PyTorch's weight name: that block of a cell's weights}: `weight_ih_l0` is the
        x columns of `cells[0].linear.weight` ([W_ih W_hh]) and `weight_hh_l0` its h columns,
        each a WeightBlock sharing the weight's memory, so `nn.init.xavier_uniform_(
        rnn._parameters["weight_hh_l0"])` initialises that block as in PyTorch (fans of the
        block), and a gradient through it reaches the weight. The biases are not here: the
        two PyTorch biases are folded into one (`cells[k].linear.bias`, see docs/nn.md)."""
        blocks = _TorchWeights(type(self).__name__)
        for sfx, cell in self._torch_layers():
            W, n_in = cell.linear.weight, cell.input_size
            for name, cols in ((f"weight_ih{sfx}", slice(None, n_in)),
                               (f"weight_hh{sfx}", slice(n_in, None))):
                dict.__setitem__(blocks, name, _block(W, (slice(None), cols), name))
            if vars(cell).get("weight_hr") is not None:
                dict.__setitem__(blocks, f"weight_hr{sfx}", cell.weight_hr)
        return blocks

    def _torch_attribute(self, name: str) -> Tensor:
        """The attribute `name` when it is one of PyTorch's weight names; a bias name raises
        AttributeError saying it is folded, any other name the plain AttributeError."""
        if name.startswith(("weight_", "bias_")) and name in self._torch_names():
            if name.startswith("bias_"):
                raise AttributeError(self._folded(name))
            return self._parameters[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        """Refuses PyTorch's names of blocks and biases (an attribute set here would be dead)."""
        if (name.startswith(("weight_", "bias_")) and name not in vars(self)
                and name in self._torch_names()):
            now = dict.get(self._parameters, name)
            if value is now or (isinstance(value, WeightBlock) and isinstance(now, WeightBlock)
                                and value._weight is now._weight and value._index == now._index):
                return  # `m.weight_hh_l0 += x` under no_grad: written in place already
            if name.startswith("bias_"):
                raise AttributeError(self._folded(name))
            raise AttributeError(
                f"{type(self).__name__}.{name}: cannot be assigned: it names a block of the "
                "one weight over [x; h] of a cell, and assigning would add a parameter that "
                f"forward never reads (nor can two modules share the block). Write the values "
                f"in place instead: `with no_grad(): m.{name}.copy_(value)`, or "
                "nn.load_torch_weights")
        super().__setattr__(name, value)

    def _folded(self, name: str) -> str:
        """The message for PyTorch's bias names: folded, and what to write instead."""
        sfx = name[len("bias_ih"):]
        k = [s for s, _ in self._torch_layers()].index(sfx)
        cell = self._torch_layers()[k][1]
        at = f"cells[{k}]." if sfx else ""
        H, fold = cell.hidden_size, f"bias_ih{sfx} + bias_hh{sfx}"
        if vars(cell).get("b_hn") is not None:  # GRU, reset_after=True
            fold = (f"{fold} in the r and z rows and bias_ih{sfx} in the n rows (bias_hh{sfx}'s "
                    f"n rows are {at}b_hn)")
        forget = (f" For the forget-gate trick write rows [{H}:{2 * H}] of {at}linear.bias "
                  "(PyTorch code that fills those rows of both biases with 1 means 2 here), or "
                  "pass forget_bias= to the constructor." if cell.gate_blocks == 4 else "")
        return (f"{type(self).__name__}.{name}: PyTorch's two biases are folded into one here, "
                f"{at}linear.bias = {fold} (see docs/nn.md), so {name} cannot be read or "
                "assigned alone (writing into it would change a different model). Read or write "
                f"{at}linear.bias instead.{forget}")
