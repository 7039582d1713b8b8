"""Checkpoints: a module's parameters, an optimizer's state and JSON metadata in one `.npz`.

>>> import tinygrad_rnn as tg
>>> from tinygrad_rnn import nn, optim
>>> from tinygrad_rnn.checkpoint import save, load
>>> import tempfile, os
>>> model = nn.Linear(3, 2)
>>> opt = optim.Adam(model.parameters(), lr=0.01)
>>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
>>> save(path, model, opt, epoch=3, vocab=["e", "h", "l", "o"])
>>> load(path, model, opt)
{'epoch': 3, 'vocab': ['e', 'h', 'l', 'o']}

File layout (a plain NumPy `.npz`, readable with `np.load(path)`; nothing is pickled):
- `__format__`: the string "tinygrad_rnn.checkpoint/1";
- `__meta__`: the metadata as a JSON string;
- `module/<parameter name>`: one array per entry of `module.state_dict()`;
- `optimizer/__info__`: JSON of the optimizer's type, hyper-parameters and parameter count;
- `optimizer/<index>/<buffer>`: its per-parameter buffers and step counts.

Writing is atomic: the file is written to a temporary file in the same directory, flushed to
disk and renamed over `path`, so a crash never leaves a half-written checkpoint under `path`.
Loading checks the file (readable, the right format, every key and shape); on any error the
module and the optimizer are left as they were.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import numpy as np

__all__ = ["save", "load", "CheckpointError"]

FORMAT = "tinygrad_rnn.checkpoint/1"
_MODULE = "module/"
_OPTIM = "optimizer/"
_OPTIM_INFO = "optimizer/__info__"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read, or that does not fit the module/optimizer."""


def _json(meta: dict[str, Any]) -> str:
    """Metadata as JSON; a value JSON cannot hold is an error naming its key."""
    for key, value in meta.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError) as err:
            raise TypeError(f"save: metadata {key!r} cannot be stored as JSON ({err})") from None
    return json.dumps(meta)


def save(path: str | os.PathLike, module: Any, optimizer: Any = None, **meta: Any) -> None:
    """Write `module`'s parameters (and `optimizer`'s state, and `meta`) to `path` atomically.

    path: the file to write, used as given (no ".npz" is appended).
    module: an `nn.Module` (anything with `state_dict()`).
    optimizer: an `optim.Optimizer`, or None.
    meta: JSON-serialisable values (numbers, strings, lists, dicts), e.g. the vocabulary and
        hyper-parameters; `load` returns them (tuples come back as lists).
    """
    path = os.fspath(path)
    arrays: dict[str, np.ndarray] = {"__format__": np.array(FORMAT),
                                     "__meta__": np.array(_json(meta))}
    for name, arr in module.state_dict().items():
        arrays[_MODULE + name] = np.asarray(arr)
    if optimizer is not None:
        sd = optimizer.state_dict()
        info = {"type": sd["type"], "param_groups": sd["param_groups"],
                "num_params": len(optimizer.params)}
        arrays[_OPTIM_INFO] = np.array(json.dumps(info))
        for index, buffers in sd["state"].items():
            for buf, value in buffers.items():
                arrays[f"{_OPTIM}{index}/{buf}"] = np.asarray(value)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: cannot write {path!r}: folder {folder!r} does not exist")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)  # atomic on POSIX and Windows: old file or new file, never half
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _read(path: str) -> dict[str, np.ndarray]:
    """Every array in the file, read eagerly so a damaged file fails here, not later."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: checkpoint {path!r} does not exist (no such file)")
    if os.path.isdir(path):
        raise CheckpointError(f"load: {path!r} is a directory, not a checkpoint file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not hasattr(npz, "files"):
                raise CheckpointError(f"load: {path!r} is a single .npy array, not a checkpoint")
            arrays = {key: npz[key] for key in npz.files}
    except CheckpointError:
        raise
    except Exception as err:  # zipfile.BadZipFile, zlib.error, ValueError, EOFError, ...
        raise CheckpointError(f"load: {path!r} is not a tinygrad_rnn checkpoint (not a "
                              f"readable .npz file: {type(err).__name__})") from err
    fmt = arrays.get("__format__")
    if fmt is None or fmt.dtype.kind != "U" or str(fmt) != FORMAT:
        raise CheckpointError(f"load: {path!r} is an .npz file but not a tinygrad_rnn "
                              f"checkpoint (no __format__ {FORMAT!r})")
    return arrays


def _json_entry(arrays: dict[str, np.ndarray], key: str, path: str) -> Any:
    try:
        return json.loads(str(arrays[key]))
    except (KeyError, ValueError) as err:
        raise CheckpointError(f"load: {path!r}: entry {key!r} is missing or not JSON "
                              f"({err})") from None


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata `save` stored in a checkpoint, without a module to load it into (e.g. to
    learn what model to build first). Errors as for `load`."""
    path = os.fspath(path)
    return _json_entry(_read(path), "__meta__", path)


def load(path: str | os.PathLike, module: Any, optimizer: Any = None) -> dict[str, Any]:
    """Restore `module` (and `optimizer`) from a checkpoint written by `save`; returns the
    metadata dict.

    Errors name the file and the problem, and leave the module and the optimizer as they
    were: FileNotFoundError when the file does not exist; CheckpointError (a ValueError) when it is
    not a readable checkpoint, when its parameter names or shapes do not match the module's
    (every missing, unexpected and misshapen name is listed), or when the optimizer's state
    does not fit `optimizer` (or is absent though an optimizer was given). A checkpoint
    holding optimizer state can be loaded with `optimizer=None` (the state is ignored).
    """
    path = os.fspath(path)
    arrays = _read(path)
    meta = _json_entry(arrays, "__meta__", path)
    saved = {k[len(_MODULE):]: v for k, v in arrays.items() if k.startswith(_MODULE)}
    before = {name: p.data for name, p in module.named_parameters()}  # the arrays themselves
    try:
        module.load_state_dict(saved)  # strict; lists every problem; changes nothing on error
    except (KeyError, ValueError) as err:
        message = err.args[0] if err.args else str(err)
        raise CheckpointError(f"load: {path!r} does not fit the module: {message}") from None
    if optimizer is not None:
        try:
            _load_optimizer(path, arrays, optimizer)  # changes nothing when it fails
        except BaseException:
            for name, p in module.named_parameters():
                p.data = before[name]  # put the module back: the very same arrays
            raise
    return meta


def _load_optimizer(path: str, arrays: dict[str, np.ndarray], optimizer: Any) -> None:
    name = type(optimizer).__name__
    if _OPTIM_INFO not in arrays:
        raise CheckpointError(f"load: {path!r} holds no optimizer state, but an optimizer "
                              f"({name}) was given")
    info = _json_entry(arrays, _OPTIM_INFO, path)
    if info.get("num_params") != len(optimizer.params):
        raise CheckpointError(f"load: {path!r}: the optimizer state is for "
                              f"{info.get('num_params')} parameters, {name} has "
                              f"{len(optimizer.params)}")
    state: dict[int, dict[str, Any]] = {}
    for key, arr in arrays.items():
        if key.startswith(_OPTIM) and key != _OPTIM_INFO:
            index, _, buf = key[len(_OPTIM):].partition("/")
            if not index.isdigit() or not buf:
                raise CheckpointError(f"load: {path!r}: malformed optimizer entry {key!r}")
            state.setdefault(int(index), {})[buf] = arr
    try:
        groups = ({"param_groups": info["param_groups"]} if "param_groups" in info else
                  {"hyperparameters": info.get("hyperparameters", {})})
        optimizer.load_state_dict({"type": info.get("type"), **groups, "state": state})
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"load: {path!r}: {err}") from err
