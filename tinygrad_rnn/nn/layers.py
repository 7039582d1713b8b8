"""Small layers and containers named as in PyTorch: Embedding, Dropout, activations as modules,
Sequential, ModuleList and ModuleDict, Flatten, LayerNorm."""

from __future__ import annotations

import math
import warnings
from typing import Any, Iterable, Iterator

import numpy as np

from tinygrad_rnn import functional as F
from tinygrad_rnn.checks import flag, indices, integer, number
from tinygrad_rnn.nn.module import (Module, Parameter, as_input, check_probability,
                                    check_size, param_dtype)
from tinygrad_rnn.random import get_rng
from tinygrad_rnn.tensor import Tensor

__all__ = ["Embedding", "Dropout", "ReLU", "Tanh", "Sigmoid", "LogSigmoid", "Softplus",
           "LeakyReLU", "ELU", "GELU", "SiLU", "Identity", "Softmax",
           "LogSoftmax", "Sequential", "ModuleList", "ModuleDict", "Flatten", "LayerNorm"]


def _indices(idx: Any, num: int, fn: str) -> np.ndarray:
    """Integer indices in [0, num) from an ndarray, list, int or Tensor of integers (or of whole
    floats: `checks.indices`), or a clear error."""
    arr = indices(idx.data if isinstance(idx, Tensor) else idx, fn, "indices")
    if arr.size and (arr.min() < 0 or arr.max() >= num):
        bad = arr[(arr < 0) | (arr >= num)].ravel()[0]
        raise IndexError(f"{fn}: index {bad} is outside [0, {num})")
    return arr


class Embedding(Module):
    """A lookup table: row i of `.weight` (num_embeddings, embedding_dim) is the vector of
    token i. m(idx) has shape idx.shape + (embedding_dim,). Initialised from N(0, 1), as in
    PyTorch; the row `padding_idx` (if given) starts at zero and never receives a gradient.

    >>> emb = Embedding(10, 3)
    >>> emb(np.array([[1, 2], [3, 1]])).shape
    (2, 2, 3)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 dtype: Any = None) -> None:
        self.num_embeddings = check_size(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = check_size(embedding_dim, "embedding_dim", "Embedding")
        if padding_idx is not None:
            padding_idx = integer(padding_idx, "Embedding", "padding_idx")
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} is outside "
                                 f"[-{num_embeddings}, {num_embeddings})")
            padding_idx = int(padding_idx) % self.num_embeddings
        self.padding_idx = padding_idx
        dtype = param_dtype(dtype, "Embedding")
        self.weight = Parameter(get_rng().standard_normal(
            (self.num_embeddings, self.embedding_dim)).astype(dtype))
        if padding_idx is not None:
            self.weight.data[padding_idx] = 0.0
        self.name_parameters()

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True,
                        padding_idx: int | None = None) -> "Embedding":
        """An Embedding whose weight is a copy of `embeddings` (2-D); freeze=True (the default,
        as in PyTorch) sets requires_grad=False so training leaves it unchanged."""
        arr = np.array(embeddings.data if isinstance(embeddings, Tensor) else embeddings)
        if arr.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape "
                             f"{arr.shape}")
        if arr.dtype.kind not in "f":
            raise TypeError(f"Embedding.from_pretrained: embeddings must be floating point, got "
                            f"dtype {arr.dtype}")
        m = cls(arr.shape[0], arr.shape[1], padding_idx=padding_idx,
                dtype=arr.dtype if arr.dtype.itemsize in (4, 8) else np.float32)
        m.weight.data = arr.astype(m.weight.dtype, copy=False)
        m.weight.requires_grad = not freeze
        return m

    def forward(self, idx: Any) -> Tensor:
        """idx (any shape, integers) -> vectors of shape idx.shape + (embedding_dim,)."""
        arr = _indices(idx, self.num_embeddings, "Embedding")
        out = self.weight[arr]
        if self.padding_idx is not None and out.requires_grad and np.any(arr == self.padding_idx):
            keep = (arr != self.padding_idx)[..., None].astype(self.weight.dtype)
            out = out * keep + out.detach() * (1 - keep)  # same values; no gradient to that row
        return out

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


class Dropout(Module):
    """Zero each element with probability p in training mode and scale the rest by 1/(1-p);
    the identity in eval mode (`model.eval()`)."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = check_probability(p, "p", "Dropout")

    def forward(self, x: Any) -> Tensor:
        """x -> x with dropout applied (training mode only)."""
        return F.dropout(x, self.p, training=self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace=False"  # PyTorch's text (no in-place dropout here)


class ReLU(Module):
    """max(x, 0), elementwise. `inplace=True` is accepted for PyTorch code and computes out of
    place: the result is the same, only the input tensor is left unchanged."""

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = flag(inplace, "ReLU", "inplace")

    def forward(self, x: Any) -> Tensor:
        """Elementwise relu."""
        return _tensor(x).relu()

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Tanh(Module):
    """tanh(x), elementwise."""

    def forward(self, x: Any) -> Tensor:
        """Elementwise tanh."""
        return _tensor(x).tanh()


class Sigmoid(Module):
    """1 / (1 + exp(-x)), elementwise."""

    def forward(self, x: Any) -> Tensor:
        """Elementwise logistic sigmoid."""
        return _tensor(x).sigmoid()


class LogSigmoid(Module):
    """log(sigmoid(x)), elementwise, finite for any finite x."""

    def forward(self, x: Any) -> Tensor:
        """Elementwise log-sigmoid."""
        return F.logsigmoid(x)


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        self.beta = number(beta, "Softplus", "beta")
        if self.beta == 0:
            raise ValueError("Softplus: beta must be nonzero, got 0.0")
        self.threshold = number(threshold, "Softplus", "threshold")

    def forward(self, x: Any) -> Tensor:
        """Elementwise softplus."""
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class LeakyReLU(Module):
    """x where x > 0, else negative_slope * x (inplace: accepted, computed out of place)."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        self.negative_slope = number(negative_slope, "LeakyReLU", "negative_slope")
        self.inplace = flag(inplace, "LeakyReLU", "inplace")

    def forward(self, x: Any) -> Tensor:
        """Elementwise leaky relu."""
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """x where x > 0, else alpha (exp(x) - 1) (inplace: accepted, computed out of place)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        self.alpha = number(alpha, "ELU", "alpha")
        self.inplace = flag(inplace, "ELU", "inplace")

    def forward(self, x: Any) -> Tensor:
        """Elementwise ELU."""
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """x Phi(x) (Phi the standard normal CDF); approximate="tanh": PyTorch's tanh form."""

    def __init__(self, approximate: str = "none") -> None:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Any) -> Tensor:
        """Elementwise GELU."""
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """x sigmoid(x), elementwise (inplace: accepted, computed out of place)."""

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = flag(inplace, "SiLU", "inplace")

    def forward(self, x: Any) -> Tensor:
        """Elementwise SiLU."""
        return F.silu(x)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Identity(Module):
    """Returns its input unchanged (a placeholder layer)."""

    def forward(self, x: Any) -> Any:
        """x."""
        return x


def _softmax_dim(dim: int | None, ndim: int, name: str) -> int:
    """dim, or PyTorch's legacy choice when it is None (0 for 0-, 1- and 3-D input, else 1)."""
    if dim is not None:
        return int(dim)
    warnings.warn(f"{name}: implicit dimension choice is deprecated (as in PyTorch); pass dim",
                  stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """softmax along `dim` (give it: PyTorch's implicit choice is kept, with its warning)."""

    def __init__(self, dim: int | None = None) -> None:
        self.dim = dim

    def forward(self, x: Any) -> Tensor:
        """Probabilities along dim."""
        x = _tensor(x)
        return F.softmax(x, _softmax_dim(self.dim, x.ndim, "Softmax"))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(x)) along `dim`, stable for large logits (pair it with NLLLoss)."""

    def __init__(self, dim: int | None = None) -> None:
        self.dim = dim

    def forward(self, x: Any) -> Tensor:
        """Log-probabilities along dim."""
        x = _tensor(x)
        return F.log_softmax(x, _softmax_dim(self.dim, x.ndim, "LogSoftmax"))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class ModuleList(Module):
    """A list of modules whose parameters the owner finds (names "0.weight", "1.weight", ...).

    >>> layers = ModuleList([Identity(), Identity()])
    >>> len(layers), [name for name, _ in layers.named_children()]
    (2, ['0', '1'])
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        self._items: list[Module] = []
        if modules is not None:
            self.extend(modules)

    def _check(self, module: Any) -> Module:
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}: items must be nn.Module, got "
                            f"{type(module).__name__}")
        return module

    def append(self, module: Module) -> "ModuleList":
        """Add one module at the end; returns self."""
        self._items.append(self._check(module))
        return self

    def extend(self, modules: Iterable[Module]) -> "ModuleList":
        """Add modules at the end; returns self."""
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert a module before position index."""
        self._items.insert(index, self._check(module))

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """("0", first module), ("1", second module), ..."""
        for i, module in enumerate(self._items):
            yield str(i), module

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return type(self)(self._items[index])
        return self._items[index]

    def __setitem__(self, index: int, module: Module) -> None:
        self._items[index] = self._check(module)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._items)


class Sequential(ModuleList):
    """Modules applied one after another: Sequential(a, b, c)(x) is c(b(a(x))). Also takes a
    dict (e.g. an OrderedDict) of {name: module}, whose names then prefix the parameters."""

    def __init__(self, *modules: Module) -> None:
        names = None
        if len(modules) == 1 and isinstance(modules[0], dict):
            names = [str(k) for k in modules[0]]
            modules = tuple(modules[0].values())
        self._names: list[str] | None = None
        super().__init__(modules)
        self._names = names
        self.name_parameters()

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) in order; names are "0", "1", ... unless a dict was given."""
        for i, module in enumerate(self._items):
            names = self._names
            yield (names[i] if names is not None and i < len(names) else str(i)), module

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return Sequential(*self._items[index])
        return self._items[index]

    def append(self, module: Module) -> "Sequential":
        """Add one module at the end; returns self."""
        if self._names is not None:
            self._names.append(str(len(self._items)))
        super().append(module)
        return self

    def forward(self, x: Any) -> Any:
        """Each module's output is the next one's input."""
        for module in self._items:
            x = module(x)
        return x


class ModuleDict(Module):
    """A dict of named modules whose parameters the owner finds (names "<key>.weight", ...),
    kept in insertion order, as PyTorch's `nn.ModuleDict`.

    >>> heads = ModuleDict({"tag": Identity()})
    >>> heads["score"] = Identity()
    >>> list(heads.keys()), "tag" in heads, len(heads)
    (['tag', 'score'], True, 2)
    """

    def __init__(self, modules: Any = None) -> None:
        self._modules: dict[str, Module] = {}
        if modules is not None:
            self.update(modules)

    def _check(self, key: Any, module: Any) -> tuple[str, Module]:
        name = type(self).__name__
        if not isinstance(key, str):
            raise TypeError(f"{name}: keys must be strings, got {type(key).__name__}")
        if not key or "." in key:
            raise KeyError(f"{name}: a key must be non-empty and contain no '.', got {key!r}")
        if not isinstance(module, Module):
            raise TypeError(f"{name}: values must be nn.Module, got {type(module).__name__} "
                            f"for key {key!r}")
        return key, module

    def update(self, modules: Any) -> None:
        """Add or replace entries from a dict / ModuleDict or from (key, module) pairs; every
        entry is checked before any is added."""
        if hasattr(modules, "items"):
            pairs = list(modules.items())
        elif isinstance(modules, (str, Module)) or not hasattr(modules, "__iter__"):
            raise TypeError(f"{type(self).__name__}.update: expected a dict or an iterable of "
                            f"(key, module) pairs, got {type(modules).__name__}")
        else:
            pairs = [tuple(p) if isinstance(p, (list, tuple)) else p for p in modules]
            bad = [p for p in pairs if not isinstance(p, tuple) or len(p) != 2]
            if bad:
                raise ValueError(f"{type(self).__name__}.update: each entry must be a (key, "
                                 f"module) pair, got {bad[0]!r}")
        checked = [self._check(key, module) for key, module in pairs]
        self._modules.update(checked)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(key, module) in insertion order."""
        yield from self._modules.items()

    def keys(self) -> Any:
        """The keys, in insertion order."""
        return self._modules.keys()

    def values(self) -> Any:
        """The modules, in insertion order."""
        return self._modules.values()

    def items(self) -> Any:
        """(key, module) pairs, in insertion order."""
        return self._modules.items()

    def pop(self, key: str) -> Module:
        """Remove the entry `key` and return its module."""
        return self._modules.pop(key)

    def clear(self) -> None:
        """Remove every entry."""
        self._modules.clear()

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        key, module = self._check(key, module)
        self._modules[key] = module

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __getattr__(self, name: str) -> Module:  # m.key, as PyTorch (only when no attribute)
        modules = vars(self).get("_modules", {})
        if name in modules:
            return modules[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute {name!r}")

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)


class Flatten(Module):
    """Merge the dims start_dim..end_dim into one: Flatten()(x) of shape (B, C, L) is (B, C*L).

    >>> Flatten()(np.zeros((2, 3, 4))).shape
    (2, 12)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.start_dim = integer(start_dim, "Flatten", "start_dim")
        self.end_dim = integer(end_dim, "Flatten", "end_dim")

    def forward(self, x: Any) -> Tensor:
        """x with dims start_dim..end_dim merged."""
        x = _tensor(x)
        n = max(x.ndim, 1)  # a 0-d tensor flattens as if 1-d, as in PyTorch
        a, b = (d + n if d < 0 else d for d in (self.start_dim, self.end_dim))
        if not (0 <= a < n and 0 <= b < n):
            raise IndexError(f"Flatten: start_dim {self.start_dim} / end_dim {self.end_dim} out "
                             f"of range for an input of {x.ndim} dims")
        if a > b:
            raise ValueError(f"Flatten: start_dim {self.start_dim} comes after end_dim "
                             f"{self.end_dim}")
        shape = x.shape or (1,)
        return x.reshape(*shape[:a], int(np.prod(shape[a:b + 1])), *shape[b + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class LayerNorm(Module):
    """Normalise over the last dims (those of normalized_shape), as PyTorch's LayerNorm:

        y = (x - mean) / sqrt(var + eps) * weight + bias

    with the mean and the biased variance (divided by n) over those dims. `.weight` (ones)
    and `.bias` (zeros) have shape normalized_shape; elementwise_affine=False has neither,
    bias=False no bias. The formula is F.layer_norm's (a composition of Tensor ops).

    >>> LayerNorm(3)(np.array([[1.0, 2.0, 3.0]])).shape
    (1, 3)
    """

    def __init__(self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype: Any = None) -> None:
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
            else normalized_shape
        if not isinstance(shape, (list, tuple)):
            raise TypeError(f"LayerNorm: normalized_shape must be an int or a list/tuple of "
                            f"ints, got {normalized_shape!r}")
        self.normalized_shape = tuple(check_size(n, "normalized_shape", "LayerNorm")
                                      for n in shape)
        if not self.normalized_shape:
            raise ValueError("LayerNorm: normalized_shape must hold at least one size, got "
                             f"{normalized_shape!r}")
        self.eps = number(eps, "LayerNorm", "eps", 0.0, high=math.inf, high_open=True)
        self.elementwise_affine = flag(elementwise_affine, "LayerNorm", "elementwise_affine")
        use_bias = flag(bias, "LayerNorm", "bias")
        self.dtype = param_dtype(dtype, "LayerNorm")
        self.weight = Parameter(np.ones(self.normalized_shape, self.dtype)) \
            if self.elementwise_affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape, self.dtype)) \
            if self.elementwise_affine and use_bias else None
        self.name_parameters()

    def forward(self, x: Any) -> Tensor:
        """x (..., *normalized_shape) -> the same shape, normalised over the last dims."""
        if self.weight is not None:
            x = as_input(x, self.weight.dtype, "LayerNorm")
        else:  # no parameters to follow: a float input keeps its dtype (as PyTorch, and .double())
            x = _tensor(x)
            x = x if x.dtype.kind == "f" else as_input(x, self.dtype, "LayerNorm")
        return F._layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps,
                             "LayerNorm")

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)
