"""Variable-length batches for the recurrent modules, as PyTorch's `torch.nn.utils.rnn`.

A padded batch (T, B, *) holds B sequences of lengths l_b <= T; steps t >= l_b are padding. A
PackedSequence keeps only the real steps: the sequences are sorted by length, longest first
(`sorted_indices[j]` is the batch index of the j-th longest), and `data` holds step 0 of every
sequence, then step 1 of those longer than 1, ...; `batch_sizes[t]` is how many sequences have a
step t, so at step t the active sequences are the first `batch_sizes[t]` sorted ones.

    lengths [2, 3]   ->  sorted_indices [1, 0], batch_sizes [2, 2, 1],
                         data rows: x[0, 1], x[0, 0], x[1, 1], x[1, 0], x[2, 1]

nn.RNN / nn.LSTM / nn.GRU take a PackedSequence and compute nothing on the padding; their h_n
is each sequence's state at its own last step. Every function here moves rows with one gather
(an integer-array index), so gradients flow from a padded result back to the packed `data` and
from `data` back to the padded input.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from tinygrad_rnn.checks import flag, indices, integer, number
from tinygrad_rnn.tensor import Tensor, cat, tensor_list

__all__ = ["PackedSequence", "pad_sequence", "pack_padded_sequence", "pad_packed_sequence",
           "pack_sequence", "unpack_sequence", "unpad_sequence", "invert_permutation"]


_PackedSequence = namedtuple("_PackedSequence", ["data", "batch_sizes", "sorted_indices",
                                                 "unsorted_indices"], defaults=(None, None))


class PackedSequence(_PackedSequence):
    """A batch of sequences of different lengths, with no padding (see the module docstring).

    data (N, *): the steps, time-major over the sorted sequences; batch_sizes (int64, one per
    time step); sorted_indices / unsorted_indices (int64 permutations of the batch, or None when
    the batch was given already sorted). As in PyTorch, an unsorted_indices left out is
    invert_permutation(sorted_indices), so `PackedSequence(f(p.data), p.batch_sizes,
    p.sorted_indices)` keeps the original batch order."""

    __slots__ = ()
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None

    def __new__(cls, data: Tensor, batch_sizes: Tensor, sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None) -> "PackedSequence":
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    is_cuda = property(lambda self: False, doc="Always False (CPU only).")

    def to(self, *args: Any, **kwargs: Any) -> "PackedSequence":
        """`data.to(...)` (a dtype or the CPU), the rest kept as it is."""
        return self._replace(data=self.data.to(*args, **kwargs))

    def float(self) -> "PackedSequence":
        """The data cast to float32."""
        return self._replace(data=self.data.float())

    def double(self) -> "PackedSequence":
        """The data cast to float64."""
        return self._replace(data=self.data.double())


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a permutation of 0..B-1 (None stays None)."""
    if permutation is None:
        return None
    return Tensor(np.argsort(np.asarray(_array(permutation))), dtype=np.int64)


def _array(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _int64(arr: np.ndarray) -> Tensor:
    return Tensor(np.asarray(arr, dtype=np.int64), dtype=np.int64)


def _tensor(x: Any, fn: str, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}: {name} must be a Tensor, got {type(x).__name__}")
    return x


def _lengths(lengths: Any, fn: str) -> np.ndarray:
    """`lengths` (a list, an ndarray or a Tensor of whole numbers) as a 1-D int64 array."""
    if isinstance(lengths, (str, bytes)) or lengths is None:
        raise TypeError(f"{fn}: lengths must be a list or a 1-D tensor of integers, got "
                        f"{type(lengths).__name__}")
    arr = indices(_array(lengths), fn, "lengths")
    if arr.ndim != 1:
        raise ValueError(f"{fn}: lengths must be 1-D (one length per sequence), got shape "
                         f"{arr.shape}")
    return arr.astype(np.int64)


def _pack(input: Tensor, lengths: np.ndarray, batch_first: bool, enforce_sorted: bool,
          fn: str) -> PackedSequence:
    """pack_padded_sequence on checked arguments; errors name `fn`."""
    if input.ndim < 2:
        raise ValueError(f"{fn}: input must have a time and a batch dimension, got shape "
                         f"{input.shape}")
    T, B = (input.shape[1], input.shape[0]) if batch_first else input.shape[:2]
    if len(lengths) != B:
        raise ValueError(f"{fn}: expected len(lengths) to be equal to batch_size, but got "
                         f"{len(lengths)} (batch_size={B})")
    if B == 0 or lengths.min() <= 0:
        raise ValueError(f"{fn}: the length of every sequence has to be greater than 0, got "
                         f"lengths {lengths.tolist()}")
    if lengths.max() > T:
        raise ValueError(f"{fn}: a length of {lengths.max()} is longer than the "
                         f"{T} steps of the input (shape {input.shape}, batch_first="
                         f"{batch_first})")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise ValueError(f"{fn}: `lengths` array must be sorted in decreasing order when "
                             f"`enforce_sorted` is True, got {lengths.tolist()}. Pass "
                             "enforce_sorted=False to sort them here (PyTorch asks for sorted "
                             "lengths only for ONNX export)")
        order, sorted_indices, unsorted_indices = np.arange(B), None, None
    else:  # longest first; equal lengths keep their order (as PyTorch's sort does on the CPU)
        order = np.argsort(-lengths, kind="stable")
        sorted_indices, unsorted_indices = _int64(order), _int64(np.argsort(order))
    steps = np.arange(lengths.max())
    active = steps[:, None] < lengths[order][None, :]  # (T', B): is sorted sequence j at step t
    t, j = np.nonzero(active)  # row-major: step 0 of every sequence, then step 1, ...
    b = order[j]
    rows = b * T + t if batch_first else t * B + b  # the row of input.reshape(T * B, *)
    data = input.reshape((T * B,) + input.shape[2:])[rows]
    return PackedSequence(data, _int64(active.sum(axis=1)), sorted_indices, unsorted_indices)


def pack_padded_sequence(input: Tensor, lengths: Any, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch: input (T, B, *) ((B, T, *) if batch_first), lengths (B,).

    With enforce_sorted=True the lengths must be non-increasing (sorted_indices is then None);
    otherwise the batch is sorted here and the permutation kept, so that `pad_packed_sequence`
    and the recurrent modules give results in the original order. Each length must be in
    1..T (PyTorch reads past the input for a longer one; here it is an error).
    """
    fn = "pack_padded_sequence"
    input = _tensor(input, fn, "input")
    return _pack(input, _lengths(lengths, fn), flag(batch_first, fn, "batch_first"),
                 flag(enforce_sorted, fn, "enforce_sorted"), fn)


def _packed(sequence: Any, fn: str) -> tuple[PackedSequence, np.ndarray]:
    """A checked PackedSequence and its batch sizes as an int64 array."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"{fn}: expected a PackedSequence, got {type(sequence).__name__}")
    data = _tensor(sequence.data, fn, "sequence.data")
    sizes = np.asarray(_array(sequence.batch_sizes))
    if (sizes.ndim != 1 or sizes.size == 0 or sizes.dtype.kind not in "iu" or sizes.min() < 1
            or np.any(np.diff(sizes) > 0) or data.ndim == 0 or sizes.sum() != data.shape[0]):
        raise ValueError(f"{fn}: batch_sizes must be a non-empty, non-increasing 1-D integer "
                         f"tensor of positive sizes adding up to the {data.shape[:1]} rows of "
                         f"data, got {sizes.tolist()}")
    for name in ("sorted_indices", "unsorted_indices"):
        perm = getattr(sequence, name)
        if perm is not None and sorted(np.asarray(_array(perm)).tolist()) != list(
                range(sizes[0])):
            raise ValueError(f"{fn}: {name} must be a permutation of 0..{sizes[0] - 1} "
                             f"(one index per sequence), got {_array(perm)}")
    return sequence, sizes.astype(np.int64)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Undo `pack_padded_sequence`: returns (padded, lengths).

    padded is (T, B, *) ((B, T, *) if batch_first) in the original batch order, with
    `padding_value` after each sequence's end; T is the longest length, or total_length if
    given (it may not be shorter). lengths is an int64 tensor of the B lengths.
    """
    fn = "pad_packed_sequence"
    sequence, sizes = _packed(sequence, fn)
    batch_first = flag(batch_first, fn, "batch_first")
    padding_value = number(padding_value, fn, "padding_value")
    steps, B = len(sizes), int(sizes[0])
    if total_length is not None:
        total_length = integer(total_length, fn, "total_length")
        if total_length < steps:
            raise ValueError(f"{fn}: expected total_length to be at least the length of the "
                             f"longest sequence in input, but got total_length={total_length} "
                             f"and max sequence length being {steps}")
    T = steps if total_length is None else total_length
    data = sequence.data
    N = data.shape[0]
    active = np.arange(B)[None, :] < sizes[:, None]  # (steps, B) over the sorted sequences
    rows = np.full((T, B), N)  # row N: the padding row appended to data
    rows[:steps][active] = np.arange(N)
    lengths = active.sum(axis=0)
    if sequence.unsorted_indices is not None:  # back to the original batch order
        unsort = np.asarray(_array(sequence.unsorted_indices))
        rows, lengths = rows[:, unsort], lengths[unsort]
    pad = Tensor(np.full((1,) + data.shape[1:], padding_value, dtype=data.dtype),
                 dtype=data.dtype)
    padded = cat([data, pad])[rows.T if batch_first else rows]
    return padded, _int64(lengths)


def pad_sequence(sequences: Any, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack tensors of shapes (L_i, *) into one (T, B, *) ((B, T, *) if batch_first), T the
    longest L_i, filling with padding_value after each sequence (before it if
    padding_side="left")."""
    fn = "pad_sequence"
    seqs = list(sequences) if isinstance(sequences, Tensor) else tensor_list(
        sequences, fn, "sequences", one=False)
    if not seqs:
        raise ValueError(f"{fn}: received an empty list of sequences")
    batch_first = flag(batch_first, fn, "batch_first")
    padding_value = number(padding_value, fn, "padding_value")
    if padding_side not in ("left", "right"):
        raise ValueError(f"{fn}: expected padding_side to be one of left or right, but got "
                         f"{padding_side!r}")
    rest = seqs[0].shape[1:] if seqs[0].ndim else None
    for i, s in enumerate(seqs):
        if s.ndim == 0 or s.shape[1:] != rest:
            raise ValueError(f"{fn}: every sequence must have shape (L, *) with the same * as "
                             f"sequences[0] {seqs[0].shape}, but sequences[{i}] has shape "
                             f"{s.shape}")
    lengths = np.array([s.shape[0] for s in seqs])
    T, N = int(lengths.max()), int(lengths.sum())
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    steps = np.arange(T)[:, None]  # (T, B): the row of data each output element reads
    shift = (T - lengths)[None, :] if padding_side == "left" else 0
    real = (steps >= shift) & (steps < shift + lengths[None, :])
    rows = np.where(real, starts[None, :] + steps - shift, N)  # row N: the padding row
    pad = Tensor(np.full((1,) + rest, padding_value, dtype=seqs[0].dtype), dtype=seqs[0].dtype)
    return cat(seqs + [pad])[rows.T if batch_first else rows]


def pack_sequence(sequences: Any, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of tensors of shapes (L_i, *): `pack_padded_sequence(pad_sequence(...))`.
    With enforce_sorted=True the L_i must be non-increasing."""
    fn = "pack_sequence"
    seqs = tensor_list(sequences, fn, "sequences", one=False)
    if not seqs:
        raise ValueError(f"{fn}: received an empty list of sequences")
    enforce_sorted = flag(enforce_sorted, fn, "enforce_sorted")
    padded = pad_sequence(seqs)
    return _pack(padded, np.array([len(s) for s in seqs]), False, enforce_sorted, fn)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """Undo `pack_sequence`: the list of tensors (L_i, *), in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return [padded[b, :n] for b, n in enumerate(lengths.data.tolist())]


def unpad_sequence(padded_sequences: Tensor, lengths: Any,
                   batch_first: bool = False) -> list[Tensor]:
    """Undo `pad_sequence`: the B tensors padded[:l_b, b] ((padded[b, :l_b] if batch_first)."""
    fn = "unpad_sequence"
    padded = _tensor(padded_sequences, fn, "padded_sequences")
    lengths = _lengths(lengths, fn)
    batch_first = flag(batch_first, fn, "batch_first")
    if padded.ndim < 2:
        raise ValueError(f"{fn}: padded_sequences must have a time and a batch dimension, got "
                         f"shape {padded.shape}")
    T, B = (padded.shape[1], padded.shape[0]) if batch_first else padded.shape[:2]
    if len(lengths) != B or lengths.min(initial=0) < 0 or lengths.max(initial=0) > T:
        raise ValueError(f"{fn}: lengths must hold one length in 0..{T} per sequence "
                         f"({B}), got {lengths.tolist()}")
    return [padded[b, :n] if batch_first else padded[:n, b] for b, n in enumerate(lengths)]
