"""Datasets and batching, as `torch.utils.data`: Dataset, TensorDataset, Subset, random_split,
SequentialSampler, RandomSampler, BatchSampler, DataLoader and default_collate.

>>> import numpy as np
>>> from tinygrad_rnn import Generator
>>> X, y = np.arange(10.0).reshape(5, 2), np.array([0, 1, 0, 1, 1])
>>> loader = DataLoader(TensorDataset(X, y), batch_size=2, shuffle=True,
...                     generator=Generator().manual_seed(0))
>>> [tuple(t.shape for t in batch) for batch in loader]
[((2, 2), (2,)), ((2, 2), (2,)), ((1, 2), (1,))]

Everything runs in the calling process: `num_workers` and `pin_memory` are accepted so that
PyTorch programs run unchanged, and change nothing (there are no worker processes and no GPU).
Shuffling draws from the library's generator (`tinygrad_rnn.manual_seed`) unless a
`generator=` is given.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from tinygrad_rnn.random import rng_of
from tinygrad_rnn.tensor import Tensor, stack

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "Sampler", "SequentialSampler",
           "RandomSampler", "BatchSampler", "DataLoader", "default_collate"]


def _count(value: Any, name: str, fn: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{fn}: {name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{fn}: {name} must be >= {low}, got {value}")
    return int(value)


class Dataset:
    """A map-style dataset: subclasses define `__getitem__(i)` (one example) and `__len__`."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.__getitem__ is not defined")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__}.__len__ is not defined")


class TensorDataset(Dataset):
    """Examples are the i-th rows of each of the given tensors (or arrays): item i is the
    tuple (t[i] for t in tensors). All must have the same length along dimension 0."""

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(np.asarray(t),
                                                                    dtype=np.asarray(t).dtype)
                             for t in tensors)
        lengths = [t.shape[0] if t.ndim else None for t in self.tensors]
        if None in lengths or len(set(lengths)) != 1:
            raise ValueError(f"TensorDataset: the tensors must have the same length along "
                             f"dimension 0, got shapes {[t.shape for t in self.tensors]}")

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The examples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset, self.indices = dataset, [int(i) for i in indices]

    def __getitem__(self, index: int | list[int]) -> Any:
        if isinstance(index, list):
            return [self.dataset[self.indices[i]] for i in index]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(dataset: Any, lengths: Sequence[float], generator: Any = None) -> list[Subset]:
    """Split a dataset into non-overlapping random Subsets of the given lengths.

    lengths: counts adding up to len(dataset), or fractions adding up to 1 (each part gets
    floor(fraction * n), and the remainder is dealt one by one to the parts in order, as in
    PyTorch). generator: a `Generator` for a reproducible split.
    """
    n = len(dataset)
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths is empty")
    if all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in lengths) and \
            sum(lengths) == n:
        counts = [int(x) for x in lengths]
    elif all(isinstance(x, (float, np.floating)) for x in lengths) and math.isclose(
            sum(lengths), 1.0) and all(0.0 <= x <= 1.0 for x in lengths):
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
    else:
        raise ValueError(f"random_split: lengths must be counts adding up to the dataset's "
                         f"length {n}, or fractions adding up to 1, got {lengths}")
    if any(c < 0 for c in counts):
        raise ValueError(f"random_split: lengths must not be negative, got {lengths}")
    order = rng_of(generator, "random_split").permutation(n).tolist()
    parts, start = [], 0
    for c in counts:
        parts.append(Subset(dataset, order[start:start + c]))
        start += c
    return parts


class Sampler:
    """Yields dataset indices; subclasses define `__iter__` (and `__len__`)."""

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A new random order of the indices at every pass (a permutation, or num_samples draws
    with replacement when replacement=True)."""

    def __init__(self, data_source: Any, replacement: bool = False,
                 num_samples: int | None = None, generator: Any = None) -> None:
        self.data_source, self.replacement, self.generator = data_source, bool(replacement), \
            generator
        self._num_samples = None if num_samples is None else _count(
            num_samples, "num_samples", "RandomSampler", 1)
        rng_of(generator, "RandomSampler")  # check the type now, not at the first pass

    @property
    def num_samples(self) -> int:
        """How many indices one pass yields (len(data_source) unless given)."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, rng = len(self.data_source), rng_of(self.generator, "RandomSampler")
        if self.replacement:
            return iter(rng.integers(0, n, size=self.num_samples).tolist())
        rounds = -(-self.num_samples // n) if n else 0
        order = [i for _ in range(rounds) for i in rng.permutation(n).tolist()]
        return iter(order[:self.num_samples])

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of `sampler` into lists of batch_size (the last one shorter unless
    drop_last)."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        self.sampler, self.drop_last = sampler, bool(drop_last)
        self.batch_size = _count(batch_size, "batch_size", "BatchSampler", 1)

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def default_collate(batch: list[Any]) -> Any:
    """Join a list of examples into a batch, as PyTorch does: tensors are stacked (a new first
    dimension), arrays too (into a Tensor of their dtype); Python ints become an int64 tensor,
    floats a float64 tensor, bools a bool tensor; strings stay a list; tuples/lists and dicts
    are collated field by field."""
    if not batch:
        raise ValueError("default_collate: empty batch")
    first = batch[0]
    if isinstance(first, Tensor):
        return stack(list(batch), 0)
    if isinstance(first, (np.ndarray, np.generic)) and np.asarray(first).dtype.kind in "biuf":
        arr = np.stack([np.asarray(b) for b in batch])
        return Tensor(arr, dtype=arr.dtype)
    if isinstance(first, (bool, np.bool_)):
        return Tensor(np.array(batch, dtype=bool), dtype=bool)
    if isinstance(first, (int, np.integer)):
        return Tensor(np.array(batch, dtype=np.int64), dtype=np.int64)
    if isinstance(first, float):
        return Tensor(np.array(batch, dtype=np.float64), dtype=np.float64)
    if isinstance(first, (str, bytes)):
        return list(batch)
    if isinstance(first, dict):
        return {k: default_collate([b[k] for b in batch]) for k in first}
    if isinstance(first, (tuple, list)):
        if any(len(b) != len(first) for b in batch):
            raise ValueError("default_collate: the examples of a batch have different numbers "
                             "of fields")
        fields = [default_collate(list(group)) for group in zip(*batch)]
        return tuple(fields) if isinstance(first, tuple) else fields
    raise TypeError(f"default_collate: cannot batch examples of type {type(first).__name__} "
                    "(give DataLoader a collate_fn)")


class DataLoader:
    """Iterate over a dataset in batches: `for x, y in DataLoader(ds, batch_size=32,
    shuffle=True): ...`.

    batch_size: examples per batch (None: yield single examples, not collated).
    shuffle: a new random order at every pass (RandomSampler; uses `generator` if given).
    sampler: the order of indices (instead of shuffle); batch_sampler: lists of indices
    (instead of batch_size, shuffle, sampler, drop_last). drop_last: leave out a last, short
    batch. collate_fn: joins a list of examples (default_collate).
    """

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Iterable[int] | None = None, batch_sampler: Iterable[list] | None = None,
                 num_workers: int = 0, collate_fn: Callable | None = None,
                 pin_memory: bool = False, drop_last: bool = False, generator: Any = None,
                 **ignored: Any) -> None:
        fn = "DataLoader"
        known_ignored = {"timeout", "worker_init_fn", "prefetch_factor", "persistent_workers",
                         "multiprocessing_context", "pin_memory_device", "in_order"}
        unknown = sorted(set(ignored) - known_ignored)
        if unknown:
            raise TypeError(f"{fn}: unexpected arguments {unknown}")
        if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
            raise TypeError(f"{fn}: dataset must have __getitem__ and __len__, got "
                            f"{type(dataset).__name__}")
        _count(num_workers, "num_workers", fn, 0)
        if shuffle and sampler is not None:
            raise ValueError(f"{fn}: give either shuffle=True or a sampler, not both")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None
                                          or drop_last):
            raise ValueError(f"{fn}: batch_sampler excludes batch_size, shuffle, sampler and "
                             "drop_last")
        if batch_size is not None:
            batch_size = _count(batch_size, "batch_size", fn, 1)
        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else \
                SequentialSampler(dataset)
        if batch_sampler is None and batch_size is not None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, bool(drop_last)
        self.sampler, self.batch_sampler, self.generator = sampler, batch_sampler, generator
        self.num_workers, self.pin_memory = int(num_workers), bool(pin_memory)
        self.collate_fn = default_collate if collate_fn is None else collate_fn

    def __iter__(self) -> Iterator[Any]:
        if self.batch_sampler is None:
            for i in self.sampler:
                yield self.dataset[i]
            return
        for indices in self.batch_sampler:
            yield self.collate_fn([self.dataset[i] for i in indices])

    def __len__(self) -> int:
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)
