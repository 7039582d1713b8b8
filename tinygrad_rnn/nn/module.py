"""Module and Parameter: containers that find their trainable tensors by walking attributes."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from tinygrad_rnn.tensor import Tensor


class Parameter(Tensor):
    """A trainable tensor: always a floating-point leaf with requires_grad=True."""

    __slots__ = ()

    def __init__(self, data: Any, dtype: Any = None, name: str | None = None) -> None:
        super().__init__(data.data if isinstance(data, Tensor) else data, requires_grad=True,
                         dtype=dtype, name=name)


class Module:
    """Base class of layers. Parameters, sub-modules and lists of sub-modules stored as
    attributes are found automatically, in the order they were assigned."""

    training: bool = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__}.forward is not defined")

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """(dotted name, module) for this module and every sub-module, depth first."""
        todo: list[tuple[str, Module]] = [(prefix, self)]
        while todo:
            name, module = todo.pop()
            yield name, module
            children = []
            for key, value in vars(module).items():
                for path, item in _members(key, value):
                    if isinstance(item, Module):
                        children.append((f"{name}.{path}" if name else path, item))
            todo.extend(reversed(children))

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs: a module's own parameters first, then each
        sub-module's, depth first, each group in assignment order (PyTorch's order). A
        parameter reachable under two names (tied weights) appears once, under the first."""
        seen: set[int] = set()
        for name, module in self.named_modules():
            for key, value in vars(module).items():
                if isinstance(value, Parameter) and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{name}.{key}" if name else key), value

    def parameters(self) -> list[Parameter]:
        """Every parameter, once each, in the order of named_parameters()."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's .grad to None."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> "Module":
        """Switch this module and its sub-modules to training mode (dropout active)."""
        for _, module in self.named_modules():
            module.training = mode
        return self

    def eval(self) -> "Module":
        """Switch to evaluation mode (dropout off)."""
        return self.train(False)

    def name_parameters(self) -> "Module":
        """Set every parameter's `.name` to its dotted name ("cells.0.linear.weight"), the same
        key state_dict() uses; graph pictures label parameters with it. Constructors call it."""
        for name, p in self.named_parameters():
            p.name = name
        return self

    def to(self, dtype: Any) -> "Module":
        """Cast every parameter (in place) to a floating dtype, e.g. np.float64; returns self."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}.to: parameters must be floating point, "
                            f"got dtype {dtype}")
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = None if p.grad is None else p.grad.astype(dtype)
        return self

    def double(self) -> "Module":
        """Cast every parameter to float64 (for gradient checks and golden comparisons)."""
        return self.to(np.float64)

    def float(self) -> "Module":
        """Cast every parameter to float32 (the default)."""
        return self.to(np.float32)

    def state_dict(self) -> dict[str, np.ndarray]:
        """{parameter name: a copy of its array}."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        """Copy arrays into the parameters of the same names.

        Every problem (missing keys and unexpected keys when strict; wrong shapes always) is
        listed in one error, and then nothing has been changed.
        """
        params = dict(self.named_parameters())
        problems = []
        if strict:
            missing = [k for k in params if k not in state]
            unexpected = [k for k in state if k not in params]
            if missing:
                problems.append(f"missing keys: {missing}")
            if unexpected:
                problems.append(f"unexpected keys: {unexpected}")
        new = {}
        for key, value in state.items():
            if key not in params:
                continue
            arr = np.asarray(value.data if isinstance(value, Tensor) else value)
            if arr.shape != params[key].shape:
                problems.append(f"{key}: shape {arr.shape} in the state, {params[key].shape} "
                                "in the module")
            else:
                new[key] = arr
        if problems:
            raise KeyError(f"load_state_dict for {type(self).__name__}: " + "; ".join(problems))
        for key, arr in new.items():
            params[key].data = arr.astype(params[key].dtype, copy=True)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for key, value in vars(self).items():
            for name, module in _members(key, value):
                if isinstance(module, Module):
                    lines.append(f"  ({name}): " + repr(module).replace("\n", "\n  "))
        return lines[0] + ")" if len(lines) == 1 else "\n".join(lines) + "\n)"

    def extra_repr(self) -> str:
        """The constructor arguments shown by repr(); subclasses override it."""
        return ""


def _members(key: str, value: Any) -> list[tuple[str, Any]]:
    """An attribute as (name, item) pairs: a list or tuple gives one pair per element."""
    if isinstance(value, (list, tuple)):
        return [(f"{key}.{i}", item) for i, item in enumerate(value)]
    return [(key, value)]
