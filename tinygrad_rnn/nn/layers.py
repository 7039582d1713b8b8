"""Small layers and containers named as in PyTorch: Embedding, Dropout, activations as modules,
Sequential and ModuleList."""

from __future__ import annotations

import warnings
from typing import Any, Iterable, Iterator

import numpy as np

from tinygrad_rnn import functional as F
from tinygrad_rnn.checks import indices, integer
from tinygrad_rnn.nn.module import Module, Parameter, _float_dtype, check_probability, check_size
from tinygrad_rnn.random import get_rng
from tinygrad_rnn.tensor import Tensor

__all__ = ["Embedding", "Dropout", "ReLU", "Tanh", "Sigmoid", "Identity", "Softmax",
           "LogSoftmax", "Sequential", "ModuleList"]


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
                 dtype: Any = np.float32) -> None:
        self.num_embeddings = check_size(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = check_size(embedding_dim, "embedding_dim", "Embedding")
        if padding_idx is not None:
            padding_idx = integer(padding_idx, "Embedding", "padding_idx")
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} is outside "
                                 f"[-{num_embeddings}, {num_embeddings})")
            padding_idx = int(padding_idx) % self.num_embeddings
        self.padding_idx = padding_idx
        dtype = _float_dtype(dtype, "Embedding")
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
        return f"p={self.p}"


class ReLU(Module):
    """max(x, 0), elementwise."""

    def forward(self, x: Any) -> Tensor:
        """Elementwise relu."""
        return _tensor(x).relu()


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


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)
