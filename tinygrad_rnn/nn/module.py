"""Module and Parameter: containers that find their trainable tensors by walking attributes."""

from __future__ import annotations

from collections import namedtuple
from typing import Any, Iterator

import numpy as np

from tinygrad_rnn.function import Cast
from tinygrad_rnn.checks import float_dtype, not_an_array
from tinygrad_rnn.tensor import RemovableHandle, Tensor, get_default_dtype


_DATA = Tensor.data  # the `data` slot of every Tensor, read and written by Parameter.data


class Parameter(Tensor):
    """A trainable tensor: always a floating-point leaf with requires_grad=True."""

    __slots__ = ()

    def __init__(self, data: Any, dtype: Any = None, name: str | None = None) -> None:
        super().__init__(data.data if isinstance(data, Tensor) else data, requires_grad=True,
                         dtype=dtype, name=name)

    def _set_data(self, value: Any) -> None:
        # `p.data = x` as in PyTorch (`emb.weight.data = torch.from_numpy(glove)`): a Tensor
        # gives its array; anything but a floating ndarray would only fail later, far from here
        if isinstance(value, Tensor):
            value = _DATA.__get__(value)
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            what = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
            raise TypeError(f"Parameter.data: must be a floating-point ndarray or Tensor, got "
                            f"{what}")
        _DATA.__set__(self, value)

    data = property(_DATA.__get__, _set_data, doc="The parameter's values (an ndarray); "
                    "assigning a Tensor stores its array, as in PyTorch.")


def as_input(x: Any, dtype: Any, fn: str) -> Tensor:
    """A module's input in the module's dtype (that of its parameters).

    Floating input of another width is cast, differentiably, so a float32 model never builds a
    float64 graph (and a float64 model computes in float64); integer and boolean data become
    floats of `dtype`. Anything else (complex, strings, objects) is a TypeError naming `fn`.
    """
    dtype = np.dtype(dtype)
    if not isinstance(x, Tensor):
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as e:
            raise not_an_array(x, fn, e) from None
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{fn}: input must hold real numbers, got dtype {arr.dtype}")
        return Tensor(arr.astype(dtype, copy=False))
    if x.dtype == dtype:
        return x
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: input must hold real numbers, got dtype {x.dtype}")
    if x.dtype.kind != "f" or not x.requires_grad:
        return Tensor(x.data.astype(dtype), name=x.name)
    return Cast.apply(x, dtype=dtype)


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What load_state_dict returns, as in PyTorch: the module's keys the state lacked and the
    state's keys the module does not have (both empty unless strict=False)."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


class Module:
    """Base class of layers. Parameters, sub-modules and lists of sub-modules stored as
    attributes are found automatically, in the order they were assigned; buffers (tensors
    that are state but not trained, e.g. running statistics) are declared with
    `register_buffer`."""

    training: bool = True
    repr_children: bool = True  # repr() lists the sub-modules (a cell or nn.LSTM: one line)
    _pre_hooks: dict | None = None  # {handle: hook} of register_forward_pre_hook
    _post_hooks: dict | None = None  # {handle: hook} of register_forward_hook

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._pre_hooks is None and self._post_hooks is None:
            return self.forward(*args, **kwargs)
        for hook in list((self._pre_hooks or {}).values()):
            new = hook(self, args)
            if new is not None:
                args = new if isinstance(new, tuple) else (new,)
        output = self.forward(*args, **kwargs)
        for hook in list((self._post_hooks or {}).values()):
            new = hook(self, args, output)
            if new is not None:
                output = new
        return output

    def register_forward_pre_hook(self, hook: Any) -> RemovableHandle:
        """Call `hook(module, args)` before each forward (args: the positional inputs, a
        tuple); a value it returns replaces them (a tuple, or one input). Returns a handle
        whose `remove()` takes the hook off."""
        return self._add_hook("_pre_hooks", hook, "register_forward_pre_hook")

    def register_forward_hook(self, hook: Any) -> RemovableHandle:
        """Call `hook(module, args, output)` after each forward, e.g. to keep a layer's
        activations; a value it returns replaces the output. Returns a handle whose
        `remove()` takes the hook off."""
        return self._add_hook("_post_hooks", hook, "register_forward_hook")

    def _add_hook(self, table: str, hook: Any, fn: str) -> RemovableHandle:
        if not callable(hook):
            raise TypeError(f"{fn}: hook must be callable, got {hook!r}")
        hooks = vars(self).get(table)
        if hooks is None:
            hooks = {}
            setattr(self, table, hooks)
        handle = RemovableHandle(hooks)
        hooks[handle] = hook
        return handle

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__}.forward is not defined")

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        """(name, module) for each direct sub-module, in assignment order; a list or tuple
        attribute `cells` gives `cells.0`, `cells.1`, ..."""
        for key, value in vars(self).items():
            for path, item in _members(key, value):
                if isinstance(item, Module):
                    yield path, item

    def children(self) -> Iterator["Module"]:
        """Each direct sub-module, in assignment order."""
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """(dotted name, module) for this module and every sub-module, depth first, each once
        (a module reachable under two names appears under the first, as in PyTorch)."""
        seen: set[int] = set()
        todo: list[tuple[str, Module]] = [(prefix, self)]
        while todo:
            name, module = todo.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{path}" if name else path, child)
                        for path, child in module.named_children()]
            todo.extend(reversed(children))

    def modules(self) -> Iterator["Module"]:
        """This module and every sub-module, depth first, each once."""
        for _, module in self.named_modules():
            yield module

    def apply(self, fn: Any) -> "Module":
        """Call fn(m) on every sub-module and then on this module (PyTorch's order: children
        first), e.g. to re-initialise weights; returns self."""
        order, todo, seen = [], [self], set()
        while todo:  # root, then children last-first: reversed, each child before its parent
            module = todo.pop()
            if id(module) not in seen:
                seen.add(id(module))
                order.append(module)
                todo.extend(module.children())
        for module in reversed(order):
            fn(module)
        return self

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

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Keep `tensor` as the attribute `name`: a buffer, which is moved and cast with the
        module (`.double()`, `.to(dtype)`: floating buffers only) and saved in state_dict()
        (when persistent), but is not a parameter. Assigning a new Tensor to the attribute later
        replaces the buffer; None is allowed and leaves it out of buffers() and state_dict()."""
        fn = f"{type(self).__name__}.register_buffer"
        if not isinstance(name, str):
            raise TypeError(f"{fn}: name must be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{fn}: name must be non-empty and contain no '.', got {name!r}")
        if tensor is not None and not isinstance(tensor, Tensor) or isinstance(tensor, Parameter):
            raise TypeError(f"{fn}: {name!r} must be a Tensor (not a Parameter) or None, got "
                            f"{type(tensor).__name__}")
        if not isinstance(persistent, (bool, np.bool_)):
            raise TypeError(f"{fn}: persistent must be True or False, got {persistent!r}")
        registry = vars(self).get("_buffers", {})
        if hasattr(self, name) and name not in registry:
            raise KeyError(f"{fn}: attribute {name!r} already exists")
        self._buffers = {**registry, name: bool(persistent)}
        setattr(self, name, tensor)

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer) pairs, module by module as named_parameters(); each tensor
        once; None buffers are left out."""
        for name, tensor, _ in self._named_buffers(prefix, recurse):
            yield name, tensor

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer, once each, in the order of named_buffers()."""
        for _, tensor in self.named_buffers(recurse=recurse):
            yield tensor

    def _named_buffers(self, prefix: str = "", recurse: bool = True
                       ) -> Iterator[tuple[str, Tensor, bool]]:
        """(dotted name, buffer, persistent) for every buffer that holds a Tensor."""
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for name, module in modules:
            for key, persistent in vars(module).get("_buffers", {}).items():
                value = vars(module).get(key)
                if isinstance(value, Tensor) and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{name}.{key}" if name else key), value, persistent

    def _named_state(self) -> dict[str, Tensor]:
        """What state_dict() holds, in PyTorch's order: each module's parameters, then its
        persistent buffers, module by module, depth first."""
        params: dict[str, list[tuple[str, Tensor]]] = {}
        for name, p in self.named_parameters():
            params.setdefault(name.rpartition(".")[0], []).append((name, p))
        buffers: dict[str, list[tuple[str, Tensor]]] = {}
        for name, b, persistent in self._named_buffers():
            if persistent:
                buffers.setdefault(name.rpartition(".")[0], []).append((name, b))
        return {key: t for module_name, _ in self.named_modules()
                for key, t in params.get(module_name, []) + buffers.get(module_name, [])}

    def parameters(self) -> Iterator[Parameter]:
        """Every parameter, once each, in the order of named_parameters(). An iterator, as in
        PyTorch (`next(model.parameters())` works); `list(...)` it to index or reuse it."""
        for _, p in self.named_parameters():
            yield p

    def zero_grad(self) -> None:
        """Set every parameter's .grad to None."""
        for p in self.parameters():
            p.grad = None

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Set requires_grad on every parameter (False freezes the module); returns self."""
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"{type(self).__name__}.requires_grad_: requires_grad must be True or "
                            f"False, got {requires_grad!r}")
        for p in self.parameters():
            p.requires_grad = bool(requires_grad)
        return self

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

    def to(self, *args: Any, dtype: Any = None, device: Any = None) -> "Module":
        """Cast every parameter and floating buffer (in place) to a floating dtype, e.g.
        `to(np.float64)`; a device argument must be the CPU (`"cpu"`, the only device here).
        Returns self, as in PyTorch."""
        for arg in args:
            if _is_device(arg):
                device = arg
            else:
                dtype = arg
        name = type(self).__name__
        if device is not None and str(getattr(device, "type", device)).split(":")[0] != "cpu":
            raise ValueError(f"{name}.to: device {device!r} is not available; tinygrad_rnn "
                             "runs on the CPU only")
        if dtype is None:
            return self
        dtype = _float_dtype(dtype, f"{name}.to")
        for p in [*self.parameters(), *self.buffers()]:
            if p.data.dtype.kind == "f":  # integer buffers (counters) keep their dtype
                p.data = p.data.astype(dtype)
                p.grad = None if p.grad is None else p.grad.astype(dtype)
        return self

    def cpu(self) -> "Module":
        """Returns self: parameters always live in main memory (PyTorch's `.cpu()`)."""
        return self

    def double(self) -> "Module":
        """Cast every parameter and floating buffer to float64 (for gradient checks)."""
        return self.to(np.float64)

    def float(self) -> "Module":
        """Cast every parameter and floating buffer to float32 (the default)."""
        return self.to(np.float32)

    def state_dict(self) -> dict[str, np.ndarray]:
        """{name: a copy of its array} for every parameter and persistent buffer."""
        return {name: t.data.copy() for name, t in self._named_state().items()}

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> _IncompatibleKeys:
        """Copy arrays into the parameters and persistent buffers of the same names; returns
        `(missing_keys, unexpected_keys)` as PyTorch does (both empty when strict).

        Everything is checked before anything is assigned: missing and unexpected keys (when
        strict), wrong shapes (also when not strict), and values that are not real numbers
        (strings, complex, objects) are all listed in one error, and then nothing has changed.
        """
        self._assign_state_dict(self._checked_state_dict(state, strict))
        own = self._named_state()
        return _IncompatibleKeys([k for k in own if k not in state],
                                 [k for k in state if k not in own])

    def _checked_state_dict(self, state: Any, strict: bool = True) -> dict[str, np.ndarray]:
        """{name: new array} for load_state_dict, every value checked and cast to its
        parameter's (or buffer's) dtype; raises (KeyError listing every problem) without
        changing anything."""
        name = type(self).__name__
        if not hasattr(state, "items"):
            raise TypeError(f"load_state_dict for {name}: expected a dict of arrays, got "
                            f"{type(state).__name__}")
        params = self._named_state()
        lazy = {(f"{prefix}." if prefix else "") + attr: m for prefix, m in self.named_modules()
                if hasattr(m, "_lazy_shape_fits") for attr in ("weight", "bias")}
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
            try:
                arr = np.asarray(value.data if isinstance(value, Tensor) else value)
            except Exception as err:  # e.g. a ragged list
                problems.append(f"{key}: not an array ({type(err).__name__})")
                continue
            if arr.dtype.kind not in "biuf":
                problems.append(f"{key}: dtype {arr.dtype} is not a real number type")
            elif arr.shape != params[key].shape and not (  # a LazyLinear takes the state's
                    key in lazy and lazy[key]._lazy_shape_fits(key, arr.shape)):  # shapes
                problems.append(f"{key}: shape {arr.shape} in the state, {params[key].shape} "
                                "in the module")
            else:
                new[key] = arr.astype(params[key].dtype, copy=True)
        if problems:
            raise KeyError(f"load_state_dict for {name}: " + "; ".join(problems))
        return new

    def _assign_state_dict(self, new: dict[str, np.ndarray]) -> None:
        """Assign what _checked_state_dict returned (cannot fail)."""
        params = self._named_state()
        for key, arr in new.items():
            data = params[key].data
            if data.shape == arr.shape and data.flags.writeable:
                data[...] = arr  # in place, as PyTorch's copy_: whoever holds the array sees it
            else:
                params[key].data = arr  # (a LazyLinear before its first call has no shape yet)
            bump = getattr(params[key], "_bump_version", None)
            if bump is not None:
                bump()

    def __repr__(self) -> str:
        """PyTorch's layout: `Name(options)`, or the options and then each sub-module, indented,
        one per line."""
        extra = self.extra_repr()
        children = [f"({name}): " + repr(module).replace("\n", "\n  ")
                    for name, module in self.named_children()] if self.repr_children else []
        if not children and "\n" not in extra:
            return f"{type(self).__name__}({extra})"
        lines = (extra.split("\n") if extra else []) + children
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

    def extra_repr(self) -> str:
        """The constructor arguments shown by repr(); subclasses override it."""
        return ""


def check_size(value: Any, name: str, fn: str, low: int = 1) -> int:
    """An integer argument >= low (a layer size, a count), or a clear error naming fn and name:
    TypeError for a non-integer ("3", 1.5, True), ValueError below low."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{fn}: {name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{fn}: {name} must be >= {low}, got {value}")
    return int(value)


def check_probability(value: Any, name: str, fn: str) -> float:
    """A number in [0, 1) (a dropout probability), or a clear error naming fn and name."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                     np.floating)):
        raise TypeError(f"{fn}: {name} must be a number, got {value!r}")
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{fn}: {name} must be in [0, 1), got {value}")
    return float(value)


def _is_device(arg: Any) -> bool:
    """A device given to `Module.to`: a string such as "cpu" / "cuda:0", or a device object."""
    if isinstance(arg, str):
        return arg.split(":")[0] in ("cpu", "cuda", "mps", "xpu", "meta")
    return type(arg).__name__ == "device"


def param_dtype(dtype: Any, fn: str) -> np.dtype:
    """The dtype of a new module's parameters, float32 or float64: `dtype`, or when None (every
    module's default) the default dtype (`tg.set_default_dtype`, float32 unless changed), as in
    PyTorch."""
    return float_dtype(get_default_dtype() if dtype is None else dtype, fn)


def _float_dtype(dtype: Any, fn: str) -> np.dtype:
    """A floating NumPy dtype from np.float64, "float64", a tinygrad_rnn dtype, ...; or an error."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{fn}: {dtype!r} is not a dtype") from None
    if dt.kind != "f" or dt.itemsize not in (4, 8):
        raise TypeError(f"{fn}: parameters must be floating point (float32 or float64), "
                        f"got dtype {dt}")
    return dt


def _members(key: str, value: Any) -> list[tuple[str, Any]]:
    """An attribute as (name, item) pairs: a list or tuple gives one pair per element."""
    if isinstance(value, (list, tuple)):
        return [(f"{key}.{i}", item) for i, item in enumerate(value)]
    return [(key, value)]
