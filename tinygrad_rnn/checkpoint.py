"""Saving and loading: one file format (a plain `.npz`, never pickled) and two ways to call it.

PyTorch's way — any nested dict / list / tuple of arrays, tensors, numbers, strings, bools and
None, e.g. a state dict, or a dict holding several:

>>> import tinygrad_rnn as tg
>>> from tinygrad_rnn import nn, optim
>>> import tempfile, os
>>> model = nn.Linear(3, 2)
>>> opt = optim.Adam(model.parameters(), lr=0.01)
>>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
>>> tg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, path)
>>> state = tg.load(path)
>>> model.load_state_dict(state["model"]); opt.load_state_dict(state["optimizer"])
<All keys matched successfully>
>>> state["epoch"]
3

The checkpoint shorthand — a module, its optimizer and JSON metadata, restored in one call
that checks everything before it changes anything:

>>> tg.save(path, model, opt, epoch=3, vocab=["e", "h", "l", "o"])
>>> tg.load(path, model, opt)
{'epoch': 3, 'vocab': ['e', 'h', 'l', 'o']}

Which one is meant is decided by the arguments: `save(path, module, ...)` (a Module second) is
the shorthand and writes exactly `save({"module": module.state_dict(), "optimizer":
optimizer.state_dict(), "meta": meta}, path)`; `load(path, module, ...)` restores such a file
(or a bare state dict saved with `save(model.state_dict(), path)`) into the module; `load(path)`
returns whatever was saved.

File layout (readable with `np.load(path)`): `__format__` is "tinygrad_rnn.save/2"; `__tree__`
is JSON describing the nesting, with each array stored under its path in the tree joined by "/"
(`module/W`, `optimizer/state/0/exp_avg`, ...). Files of the older checkpoint format
("tinygrad_rnn.checkpoint/1") still load.

Writing is atomic: the data goes to a temporary file `.<name>.tgsave-<pid>-<random>.tmp` in the
same folder, is flushed to disk and renamed over `path`, so a crash never leaves a half-written
file under `path`; a later save to the same path deletes temporary files of that name whose
process is gone (left by a save that was killed). Loading reads and checks the whole file first;
on any error nothing has been changed.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import secrets
from typing import Any

import numpy as np

from tinygrad_rnn.tensor import Tensor

__all__ = ["save", "load", "read_metadata", "CheckpointError"]

FORMAT = "tinygrad_rnn.save/2"
_OLD_FORMAT = "tinygrad_rnn.checkpoint/1"
_MAX_DEPTH = 64


class CheckpointError(ValueError):
    """A file that cannot be read, or that does not fit the module/optimizer."""


# ----- the tree <-> (JSON, arrays) encoding -------------------------------------------------
def _encode(obj: Any, path: list[str], arrays: dict[str, np.ndarray], depth: int = 0) -> Any:
    """obj as a JSON-able node; its arrays go into `arrays` under their tree path."""
    where = "/".join(path) or "the object"
    if depth > _MAX_DEPTH:
        raise ValueError(f"save: {where} is nested more than {_MAX_DEPTH} levels deep")
    if obj is None or isinstance(obj, (bool, str)):
        return {"value": obj}
    if isinstance(obj, int):
        return {"value": obj}
    if isinstance(obj, float):
        return {"value": obj if math.isfinite(obj) else repr(obj), "float": True}
    if isinstance(obj, (Tensor, np.ndarray, np.generic)):
        arr = np.asarray(obj.data if isinstance(obj, Tensor) else obj)
        if arr.dtype.kind not in "biufcUS":
            raise TypeError(f"save: {where} is an array of dtype {arr.dtype}, which cannot be "
                            "stored without pickling")
        key = _free_key("/".join(path) or "array", arrays)
        arrays[key] = arr
        if isinstance(obj, Tensor):
            return {"tensor": key, "requires_grad": bool(obj.requires_grad)}
        return {"scalar" if isinstance(obj, np.generic) else "array": key}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if isinstance(k, bool) or not isinstance(k, (str, int)):
                raise TypeError(f"save: {where} has a key {k!r} of type {type(k).__name__}; "
                                "keys must be strings or integers")
            items.append([k, _encode(v, path + [str(k)], arrays, depth + 1)])
        return {"dict": items}
    if isinstance(obj, (list, tuple)):
        nodes = [_encode(v, path + [str(i)], arrays, depth + 1) for i, v in enumerate(obj)]
        return {"tuple" if isinstance(obj, tuple) else "list": nodes}
    hint = ""
    if hasattr(obj, "state_dict"):
        hint = (" (PyTorch pickles whole objects; this library never pickles: save "
                "obj.state_dict(), or save(path, model, optimizer) for a checkpoint)")
    raise TypeError(f"save: {where} is a {type(obj).__name__}, which cannot be stored; "
                    f"use dicts, lists, tuples, arrays, tensors, numbers and strings{hint}")


def _free_key(key: str, arrays: dict[str, np.ndarray]) -> str:
    if key.startswith("__"):
        key = "_" + key
    base, n = key, 1
    while key in arrays:
        n += 1
        key = f"{base}~{n}"
    return key


def _decode(node: Any, arrays: dict[str, np.ndarray], where: str, depth: int = 0) -> Any:
    """The object a node describes; a malformed node is a CheckpointError naming its place."""
    if depth > _MAX_DEPTH + 1 or not isinstance(node, dict) or len(node) not in (1, 2):
        raise CheckpointError(f"{where}: malformed entry {str(node)[:60]!r}")
    kind = next(iter(node))
    body = node[kind]
    if kind == "value":
        if node.get("float"):
            return float(body)
        if body is None or isinstance(body, (bool, str, int, float)):
            return body
    elif kind in ("array", "scalar", "tensor"):
        if isinstance(body, str) and body in arrays:
            arr = arrays[body]
            if kind == "scalar":
                return arr[()]
            if kind == "tensor":
                return Tensor(arr, dtype=arr.dtype, requires_grad=bool(node.get("requires_grad")))
            return arr
    elif kind == "dict" and isinstance(body, list):
        out = {}
        for item in body:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], (str, int))):
                raise CheckpointError(f"{where}: malformed dict entry {str(item)[:60]!r}")
            out[item[0]] = _decode(item[1], arrays, f"{where}/{item[0]}", depth + 1)
        return out
    elif kind in ("list", "tuple") and isinstance(body, list):
        items = [_decode(v, arrays, f"{where}/{i}", depth + 1) for i, v in enumerate(body)]
        return tuple(items) if kind == "tuple" else items
    raise CheckpointError(f"{where}: malformed entry {str(node)[:60]!r}")


# ----- writing -------------------------------------------------------------------------------
def _tmp_pattern(name: str) -> re.Pattern:
    return re.compile(re.escape(f".{name}.tgsave-") + r"(\d+)-[0-9a-f]+\.tmp")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (or cannot tell): leave its file alone
    return True


def _remove_stale_temporaries(folder: str, name: str) -> None:
    """Delete `.<name>.tgsave-<pid>-*.tmp` files whose writing process no longer exists."""
    pattern = _tmp_pattern(name)
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        match = pattern.fullmatch(entry)
        if match and not _pid_alive(int(match.group(1))):
            try:
                os.unlink(os.path.join(folder, entry))
            except OSError:
                pass


def _write(path: str, arrays: dict[str, np.ndarray]) -> None:
    """Write the arrays to `path` atomically (temporary file, fsync, rename)."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: cannot write {path!r}: folder {folder!r} does not exist")
    name = os.path.basename(path)
    _remove_stale_temporaries(folder, name)
    tmp = os.path.join(folder, f".{name}.tgsave-{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows: old file or new file, never half
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _is_module(obj: Any) -> bool:
    return hasattr(obj, "named_parameters") and hasattr(obj, "load_state_dict")


def save(obj: Any, path: Any, optimizer: Any = None, **meta: Any) -> None:
    """Write to a file atomically. Two forms (see the module docstring):

    save(obj, path): obj is a nested dict / list / tuple of arrays, tensors, numbers, strings,
        bools and None (a state dict, or a dict of several); `load(path)` returns it.
    save(path, module, optimizer=None, **meta): a checkpoint of `module`'s parameters,
        `optimizer`'s state and JSON-serialisable metadata; `load(path, module, optimizer)`
        restores it and returns the metadata (tuples in it come back as lists).

    The path is used as given (no ".npz" is appended). `path` may also be a file object
    opened for binary writing (`with open(p, "wb") as f: save(state, f)`, as PyTorch allows);
    that is written directly, without the atomic rename.
    """
    if _is_module(path) and isinstance(obj, (str, os.PathLike)):
        obj, path = _checkpoint_tree(path, optimizer, meta), obj
    elif optimizer is not None or meta:
        raise TypeError("save: extra arguments are only for the checkpoint form "
                        "save(path, module, optimizer, **meta)")
    stream = not isinstance(path, (str, os.PathLike)) and hasattr(path, "write")
    if stream and isinstance(path, io.TextIOBase):
        raise TypeError("save: the file object is open in text mode; open it with 'wb'")
    if not stream and not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"save: path must be a str, an os.PathLike or a file object open for "
                        f"binary writing, got {type(path).__name__}")
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(obj, [], arrays)
    arrays["__format__"] = np.array(FORMAT)
    arrays["__tree__"] = np.array(json.dumps(tree))
    if stream:
        np.savez(path, **arrays)
    else:
        _write(os.fspath(path), arrays)


def _checkpoint_tree(module: Any, optimizer: Any, meta: dict[str, Any]) -> dict[str, Any]:
    for key, value in meta.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError) as err:
            raise TypeError(f"save: metadata {key!r} cannot be stored as JSON ({err})") from None
    tree = {"module": module.state_dict(), "meta": json.loads(json.dumps(meta))}
    if optimizer is not None:
        tree["optimizer"] = optimizer.state_dict()
    return tree


# ----- reading -------------------------------------------------------------------------------
def _read(path: Any, fn: str = "load") -> dict[str, np.ndarray]:
    """Every array in the file (a path, or a file object open for binary reading, read from
    where it stands), read eagerly so a damaged file fails here, not later."""
    source = path
    if not isinstance(path, str):  # a file object
        raw = None if isinstance(path, io.TextIOBase) else path.read()  # (not decoded first)
        if not isinstance(raw, bytes):
            raise TypeError(f"{fn}: the file object is open in text mode; open it with 'rb'")
        source, path = io.BytesIO(raw), _name(path)
    elif not os.path.exists(path):
        raise FileNotFoundError(f"{fn}: checkpoint {path!r} does not exist (no such file)")
    elif os.path.isdir(path):
        raise CheckpointError(f"{fn}: {path!r} is a directory, not a saved file")
    try:
        if isinstance(source, str):
            with open(source, "rb") as f:
                head = f.read(6)
        else:
            head = source.getvalue()[:6]
        if head.startswith(b"\x93NUMPY"):
            raise CheckpointError(f"{fn}: {path!r} is a single .npy array, not a file written "
                                  "by tinygrad_rnn.save")
        with np.load(source, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except CheckpointError:
        raise
    except Exception as err:  # zipfile.BadZipFile, zlib.error, ValueError, EOFError, ...
        raise CheckpointError(f"{fn}: {path!r} is not a tinygrad_rnn checkpoint (not a "
                              f"readable .npz file: {type(err).__name__})") from err
    return arrays


def _name(f: Any) -> str:
    """How messages name a file object: its file name, or its type."""
    name = getattr(f, "name", None)
    return name if isinstance(name, str) else f"<{type(f).__name__}>"


def _tree(arrays: dict[str, np.ndarray], path: str, fn: str = "load") -> Any:
    """The saved object (either format), or a CheckpointError naming the file."""
    fmt = arrays.get("__format__")
    fmt = str(fmt) if fmt is not None and fmt.dtype.kind == "U" and fmt.shape == () else None
    if fmt == FORMAT:
        try:
            node = json.loads(str(arrays["__tree__"]))
        except (KeyError, ValueError) as err:
            raise CheckpointError(f"{fn}: {path!r}: entry '__tree__' is missing or not JSON "
                                  f"({err})") from None
        return _decode(node, arrays, f"{fn}: {path!r}")
    if fmt == _OLD_FORMAT:
        return _old_tree(arrays, path, fn)
    if any(key.endswith("data.pkl") for key in arrays):  # PyTorch's zip of pickles
        raise CheckpointError(f"{fn}: {path!r} was written by PyTorch's torch.save, which "
                              "tinygrad_rnn does not read (it would unpickle code); load it "
                              "with PyTorch and pass its state dict to nn.load_torch_weights")
    raise CheckpointError(f"{fn}: {path!r} is an .npz file but not a tinygrad_rnn checkpoint "
                          f"(no __format__ {FORMAT!r})")


def _json_entry(arrays: dict[str, np.ndarray], key: str, path: str, fn: str) -> dict:
    try:
        value = json.loads(str(arrays[key]))
    except (KeyError, ValueError) as err:
        raise CheckpointError(f"{fn}: {path!r}: entry {key!r} is missing or not JSON "
                              f"({err})") from None
    if not isinstance(value, dict):
        raise CheckpointError(f"{fn}: {path!r}: entry {key!r} must be a JSON object, got "
                              f"{type(value).__name__}")
    return value


def _old_tree(arrays: dict[str, np.ndarray], path: str, fn: str) -> dict[str, Any]:
    """A "tinygrad_rnn.checkpoint/1" file as the tree the checkpoint form writes now."""
    tree: dict[str, Any] = {"meta": _json_entry(arrays, "__meta__", path, fn),
                            "module": {k[7:]: v for k, v in arrays.items()
                                       if k.startswith("module/")}}
    if "optimizer/__info__" in arrays:
        info = _json_entry(arrays, "optimizer/__info__", path, fn)
        state: dict[int, dict[str, Any]] = {}
        for key, arr in arrays.items():
            if key.startswith("optimizer/") and key != "optimizer/__info__":
                index, _, buf = key[len("optimizer/"):].partition("/")
                if not index.isdigit() or not buf:
                    raise CheckpointError(f"{fn}: {path!r}: malformed optimizer entry {key!r}")
                state.setdefault(int(index), {})[buf] = arr
        tree["optimizer"] = {"type": info.get("type"), "state": state,
                             "hyperparameters": info.get("hyperparameters", {}),
                             "num_params": info.get("num_params")}
    return tree


def read_metadata(path: Any) -> dict[str, Any]:
    """The metadata a checkpoint (the `save(path, module, ...)` form) holds, without a module to
    load it into (e.g. to learn what model to build first). Errors as for `load`."""
    path = os.fspath(path)
    tree = _tree(_read(path), path)  # errors read "load: ...", as load's
    meta = tree.get("meta") if isinstance(tree, dict) else None
    if not isinstance(meta, dict):
        raise CheckpointError(f"load: {path!r} holds no checkpoint metadata (it was not "
                              "written by save(path, module, ...))")
    return meta


def load(path: Any, module: Any = None, optimizer: Any = None, *,
         map_location: Any = None, weights_only: bool = True) -> Any:
    """Read a file written by `save`.

    load(path): the saved object (arrays as ndarrays, tensors as Tensors, dict keys, lists,
        tuples, numbers and strings as saved).
    load(path, module, optimizer=None): restore a checkpoint (or a bare state dict) into the
        module (and the optimizer's state) and return the checkpoint's metadata ({} for a
        bare state dict). Everything is checked before anything is assigned.

    `path` may also be a file object open for binary reading (`with open(p, "rb") as f:
    load(f)`, as PyTorch allows). map_location must be None or the CPU; weights_only is
    accepted for PyTorch programs (files here only ever hold data). Errors name the file and
    leave the module and the optimizer as they were: FileNotFoundError for a missing file;
    CheckpointError (a ValueError) for a file that is not readable or not a tinygrad_rnn file, a
    state whose names or shapes or dtypes do not fit the module (every problem listed), or
    optimizer state that does not fit (or is absent though an optimizer was given).
    """
    if map_location is not None and str(getattr(map_location, "type", map_location)).split(
            ":")[0] != "cpu":
        raise ValueError(f"load: map_location {map_location!r} is not available; tinygrad_rnn "
                         "runs on the CPU only")
    if isinstance(path, (str, os.PathLike)):
        path = os.fspath(path)
        arrays = _read(path)
    elif hasattr(path, "read"):
        arrays, path = _read(path), _name(path)
    else:
        raise TypeError(f"load: path must be a str, an os.PathLike or a file object open for "
                        f"binary reading, got {type(path).__name__}")
    tree = _tree(arrays, path)
    if module is None:
        if optimizer is not None:
            raise TypeError("load: an optimizer needs its module: load(path, module, optimizer)")
        return tree
    return _restore(path, tree, module, optimizer)


def _restore(path: str, tree: Any, module: Any, optimizer: Any) -> dict[str, Any]:
    """Check the module's and the optimizer's new state fully, then assign both."""
    if isinstance(tree, dict) and isinstance(tree.get("module"), dict):
        module_state, meta = tree["module"], tree.get("meta", {})
        optimizer_state = tree.get("optimizer")
    elif isinstance(tree, dict) and all(isinstance(v, (np.ndarray, Tensor))
                                        for v in tree.values()):
        module_state, meta, optimizer_state = tree, {}, None  # save(model.state_dict(), path)
    else:
        raise CheckpointError(f"load: {path!r} holds neither a checkpoint nor a state dict")
    if not isinstance(meta, dict):
        raise CheckpointError(f"load: {path!r}: the metadata is a {type(meta).__name__}, "
                              "not a dict")
    try:
        new_params = module._checked_state_dict(module_state)
    except (KeyError, ValueError, TypeError) as err:
        message = err.args[0] if err.args else str(err)
        raise CheckpointError(f"load: {path!r} does not fit the module: {message}") from None
    new_optimizer = None
    if optimizer is not None:
        name = type(optimizer).__name__
        if not isinstance(optimizer_state, dict):
            raise CheckpointError(f"load: {path!r} holds no optimizer state, but an optimizer "
                                  f"({name}) was given")
        count = optimizer_state.get("num_params")
        if count is None and isinstance(optimizer_state.get("param_groups"), list):
            count = sum(len(g.get("params", ())) for g in optimizer_state["param_groups"]
                        if isinstance(g, dict))
        if count != len(optimizer.params):
            raise CheckpointError(f"load: {path!r}: the optimizer state is for {count} "
                                  f"parameters, {name} has {len(optimizer.params)}")
        state = {k: v for k, v in optimizer_state.items() if k != "num_params"}
        try:
            new_optimizer = optimizer._checked_state_dict(state)
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"load: {path!r}: {err}") from err
    module._assign_state_dict(new_params)
    if optimizer is not None:
        optimizer._assign_state_dict(new_optimizer)
    return meta
