"""Text for character language models: vocabularies, encoding, batching, a built-in corpus.

The built-in corpus needs no download: it is the docstrings of Python's own standard library,
read from the installed source files with `ast` (nothing is imported or executed), in a fixed
order, so the same Python version always gives the same text.

Batching follows the usual language-model recipe: the encoded text is cut into `B` contiguous
streams (one per batch column), and training walks down all streams together in windows of
`bptt` steps; the target of each step is the next character, and the hidden state carries from
one window to the next (truncated BPTT).
"""

from __future__ import annotations

import ast
import os
import sysconfig
from typing import Iterable, Iterator, Sequence

import numpy as np

__all__ = ["CharVocab", "stdlib_docstrings", "load_text", "split_train_val", "batchify",
           "bptt_windows", "num_windows", "DataError"]


class DataError(ValueError):
    """A problem with the input text or data (unreadable, empty, unknown characters...)."""


class CharVocab:
    """A character vocabulary: `chars[i]` is the character of index i.

    >>> v = CharVocab.from_text("hello")
    >>> v.chars, v.encode("hole").tolist(), v.decode([1, 0])
    (['e', 'h', 'l', 'o'], [1, 3, 2, 0], 'he')
    """

    def __init__(self, chars: Iterable[str]) -> None:
        chars = list(chars)
        if not chars:
            raise DataError("CharVocab: needs at least one character")
        if any(not isinstance(c, str) or len(c) != 1 for c in chars):
            raise DataError("CharVocab: every entry must be a single character")
        if len(set(chars)) != len(chars):
            raise DataError("CharVocab: characters must be unique")
        self.chars: list[str] = chars
        self.stoi: dict[str, int] = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> "CharVocab":
        """The sorted set of characters that occur in `text`."""
        if not text:
            raise DataError("CharVocab.from_text: the text is empty")
        return cls(sorted(set(text)))

    @property
    def size(self) -> int:
        """Number of characters (the one-hot width and the number of output classes)."""
        return len(self.chars)

    def __len__(self) -> int:
        return len(self.chars)

    def __repr__(self) -> str:
        return f"CharVocab(size={self.size})"

    def encode(self, text: str) -> np.ndarray:
        """Indices (int64 array of len(text)); a character not in the vocabulary is an error."""
        try:
            return np.fromiter((self.stoi[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError as e:
            raise DataError(f"CharVocab.encode: character {e.args[0]!r} is not in the "
                            f"vocabulary of {self.size} characters") from None

    def decode(self, ids: Iterable[int]) -> str:
        """The string whose character indices are `ids`."""
        ids = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids).ravel()
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            raise DataError(f"CharVocab.decode: index outside [0, {self.size})")
        return "".join(self.chars[int(i)] for i in ids)


# ----- the built-in corpus --------------------------------------------------------------------

_DOC_NODES = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
_KEEP = set("\n" + "".join(chr(i) for i in range(32, 127)))  # printable ASCII and newline


def stdlib_docstrings(max_chars: int = 300_000, ascii_only: bool = True) -> str:
    """Docstrings of the installed Python standard library, joined by blank lines.

    Public top-level modules (`textwrap.py`, not `_pydecimal.py`) are read in alphabetical
    order; within a module, docstrings come in source order (module, then classes and functions
    as `ast.walk` meets them). Reading stops once `max_chars` characters are gathered, so the
    result is deterministic for a given Python version. With `ascii_only`, characters other than
    printable ASCII and newline are dropped (a vocabulary of at most 96 characters).
    """
    if max_chars <= 0:
        raise DataError(f"stdlib_docstrings: max_chars must be positive, got {max_chars}")
    root = sysconfig.get_paths()["stdlib"]
    try:
        names = sorted(f for f in os.listdir(root) if f.endswith(".py") and not f.startswith("_"))
    except OSError:
        names = []
    parts: list[str] = []
    total = 0
    for name in names:
        try:
            with open(os.path.join(root, name), encoding="utf-8") as fh:
                tree = ast.parse(fh.read())
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            continue  # an odd file in an odd installation: skip it
        for node in ast.walk(tree):
            if not isinstance(node, _DOC_NODES):
                continue
            doc = ast.get_docstring(node, clean=True)
            if not doc:
                continue
            if ascii_only:
                doc = "".join(c for c in doc if c in _KEEP)
            parts.append(doc)
            total += len(doc) + 2
            if total >= max_chars:
                return "\n\n".join(parts)[:max_chars]
    if not parts:
        raise DataError(f"stdlib_docstrings: found no standard-library source files in {root}; "
                        "pass a text file instead (--data FILE)")
    return "\n\n".join(parts)[:max_chars]


def load_text(path: str | os.PathLike, max_chars: int | None = None) -> str:
    """Read a UTF-8 text file; errors say what is wrong with the file in one line."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read() if max_chars is None else fh.read(max_chars)
    except FileNotFoundError:
        raise DataError(f"cannot read {os.fspath(path)!r}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"cannot read {os.fspath(path)!r}: it is a directory") from None
    except PermissionError:
        raise DataError(f"cannot read {os.fspath(path)!r}: permission denied") from None
    except UnicodeDecodeError as e:
        raise DataError(f"cannot read {os.fspath(path)!r}: not UTF-8 text "
                        f"(byte {e.start})") from None
    except OSError as e:
        raise DataError(f"cannot read {os.fspath(path)!r}: {e.strerror or e}") from None
    if not text:
        raise DataError(f"{os.fspath(path)!r} is empty")
    return text


# ----- batching ---------------------------------------------------------------------------------

def split_train_val(ids: np.ndarray, val_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Split an encoded text into a leading training part and a trailing validation part."""
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"split_train_val: val_fraction must be in (0, 1), got {val_fraction}")
    n_val = max(2, int(round(len(ids) * val_fraction)))
    if len(ids) - n_val < 2:
        raise DataError(f"split_train_val: {len(ids)} characters are too few to split")
    return ids[:-n_val], ids[-n_val:]


def batchify(ids: Sequence[int] | np.ndarray, batch_size: int) -> np.ndarray:
    """Cut a 1-D sequence into `batch_size` contiguous streams: an array (N, batch_size) whose
    column b is ids[b*N:(b+1)*N]. The tail that does not fill a row is dropped."""
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise DataError(f"batchify: ids must be 1-D, got shape {ids.shape}")
    if batch_size <= 0:
        raise DataError(f"batchify: batch_size must be positive, got {batch_size}")
    n = len(ids) // batch_size
    if n < 2:
        raise DataError(f"batchify: {len(ids)} items are too few for {batch_size} streams of "
                        "at least 2 steps")
    return ids[: n * batch_size].reshape(batch_size, n).T.copy()


def bptt_windows(streams: np.ndarray, bptt: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Walk (N, B) streams in windows of up to `bptt` steps: yields (inputs, targets), both
    (k, B), where targets are the inputs shifted one step ahead (the next character)."""
    if bptt <= 0:
        raise DataError(f"bptt_windows: bptt must be positive, got {bptt}")
    n = streams.shape[0] - 1  # the last row is only ever a target
    for start in range(0, n, bptt):
        k = min(bptt, n - start)
        yield streams[start:start + k], streams[start + 1:start + 1 + k]


def num_windows(streams: np.ndarray, bptt: int) -> int:
    """How many windows `bptt_windows(streams, bptt)` yields."""
    return -(-(streams.shape[0] - 1) // bptt)
