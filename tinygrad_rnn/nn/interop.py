"""PyTorch-named recurrent weights in and out, without importing torch.

PyTorch keeps two matrices and two biases per layer: `weight_ih_l{k}` (G*H, I_k),
`weight_hh_l{k}` (G*H, H), `bias_ih_l{k}` and `bias_hh_l{k}` (G*H,) (a bidirectional layer's
backward cell: the same names with `_reverse`; a projected LSTM adds `weight_hr_l{k}`), where G
is 1 (RNN), 4 (LSTM, rows i, f, g, o) or 3 (GRU, rows r, z, n); its cells (nn.RNNCell, ...)
use the same names without the `_l{k}` suffix. A cell here has one `.linear` over [x; h], so

    W = [weight_ih  weight_hh]    (side by side: x columns first)
    b = bias_ih + bias_hh         (one bias: the two are folded)

For RNN and LSTM weights the forward pass is then identical to PyTorch's. A GRU with
reset_after=True (the default) computes PyTorch's candidate n = tanh(W_in x + b_in +
r * (W_hn h + b_hn)), whose b_hn cannot be folded: its r and z rows fold as above, its n rows
take b_n = b_in, and `.b_hn` = the n rows of bias_hh, so it too is identical to PyTorch's. A GRU
with reset_after=False (Cho's candidate, see `GRUCell`) matches PyTorch only in r and z; loading
warns. Exporting splits W back and puts the whole bias into `bias_ih`, with `bias_hh` zero except
for b_hn in its n rows, so exporting and loading round-trip exactly.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Mapping

import numpy as np

from tinygrad_rnn.nn.cells import CellBase, GRUCell
from tinygrad_rnn.nn.torch_names import TorchNamed
from tinygrad_rnn.nn.module import Module

__all__ = ["load_torch_weights", "export_torch_weights"]


def _layers(module: Module) -> list[tuple[str, CellBase]]:
    """(PyTorch key suffix, cell) for every layer of a cell or sequence module."""
    if isinstance(module, TorchNamed):  # a cell: [("", cell)]; a layer: l0, l0_reverse, l1, ...
        return module._torch_layers()
    raise TypeError(f"torch interop: expected a recurrent cell or sequence module, got "
                    f"{type(module).__name__}")


def _read(weights: Any) -> dict[str, np.ndarray]:
    """A mapping of arrays (or a path to an .npz file) as {key: ndarray}."""
    if isinstance(weights, (str, os.PathLike)):
        path = os.fspath(weights)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"load_torch_weights: {path!r} does not exist (no such file)")
        try:
            loaded = np.load(path, allow_pickle=False)
        except Exception as err:  # not a NumPy file at all, a pickle, a damaged zip, ...
            raise ValueError(f"load_torch_weights: {path!r} is not a readable .npz file "
                             f"({type(err).__name__})") from None
        if not hasattr(loaded, "files"):  # np.load gave one array: a .npy file
            raise ValueError(f"load_torch_weights: {path!r} holds a single array (.npy); give an "
                             ".npz file of PyTorch-named arrays (np.savez(path, **state_dict))")
        with loaded as f:
            return {k: f[k] for k in f.files}
    if not hasattr(weights, "keys"):
        raise TypeError(f"torch interop: weights must be a mapping of arrays or an .npz path, "
                        f"got {type(weights).__name__}")
    return {str(k): np.asarray(getattr(weights[k], "data", weights[k])) for k in weights.keys()}


def load_torch_weights(module: Module, weights: Mapping[str, Any] | str | os.PathLike,
                       strict: bool = True) -> None:
    """Copy PyTorch-named recurrent weights into a cell or a sequence module (biases folded).

    weights: {"weight_ih_l0": array, ...} with NumPy arrays, torch tensors (anything
    `np.asarray` takes) or the path of an .npz file. A single cell reads `weight_ih`, ...
    (PyTorch's cell names) or, failing that, `weight_ih_l0`, ... strict: every expected key must
    be present and no other key may be; when False, missing keys leave their parameter as it
    was. Every problem (missing, unexpected, wrongly shaped) is listed in one error, and then
    the module has not been changed.
    """
    arrays = _read(weights)
    layers = _layers(module)
    if isinstance(module, CellBase) and "weight_ih" not in arrays and "weight_ih_l0" in arrays:
        layers = [("_l0", module)]
    problems: list[str] = []
    used: set[str] = set()
    new_state: dict[str, np.ndarray] = {}
    prefix = "" if isinstance(module, CellBase) else "cells.{k}."
    for k, (sfx, cell) in enumerate(layers):
        G, H, n_in = cell.gate_blocks, cell.hidden_size, cell.input_size
        P = cell.state_size("h")  # the width of h: proj_size for a projected LSTM
        expected = {f"weight_ih{sfx}": (G * H, n_in), f"weight_hh{sfx}": (G * H, P)}
        if P != H:
            expected[f"weight_hr{sfx}"] = (P, H)
        if cell.bias:
            expected.update({f"bias_ih{sfx}": (G * H,), f"bias_hh{sfx}": (G * H,)})
        found = {}
        for key, shape in expected.items():
            if key not in arrays:
                if strict:
                    problems.append(f"missing key {key}")
                continue
            used.add(key)
            if arrays[key].dtype.kind not in "biuf":
                problems.append(f"{key}: dtype {arrays[key].dtype} is not a real number type")
            elif arrays[key].shape != shape:
                problems.append(f"{key}: shape {arrays[key].shape}, expected {shape}")
            else:
                found[key] = arrays[key]
        if f"weight_hr{sfx}" in found:
            new_state[prefix.format(k=k) + "weight_hr"] = found[f"weight_hr{sfx}"]
        name = prefix.format(k=k) + "linear."
        W_ih, W_hh = found.get(f"weight_ih{sfx}"), found.get(f"weight_hh{sfx}")
        if W_ih is not None and W_hh is not None:
            new_state[name + "weight"] = np.concatenate([W_ih, W_hh], axis=1)
        elif (W_ih is None) != (W_hh is None) and not strict:
            problems.append(f"weight_ih{sfx} and weight_hh{sfx} must be given together")
        b_ih, b_hh = found.get(f"bias_ih{sfx}"), found.get(f"bias_hh{sfx}")
        if getattr(cell, "b_hn", None) is not None:  # PyTorch's GRU: b_hn stays apart
            if (b_ih is None) != (b_hh is None) and not strict:
                problems.append(f"bias_ih{sfx} and bias_hh{sfx} must be given together "
                                "(a GRU keeps b_hn apart)")
            elif b_ih is not None and b_hh is not None:
                new_state[name + "bias"] = np.concatenate([b_ih[:2 * H] + b_hh[:2 * H],
                                                           b_ih[2 * H:]])
                new_state[prefix.format(k=k) + "b_hn"] = b_hh[2 * H:]
            continue
        biases = [b for b in (b_ih, b_hh) if b is not None]
        if biases:
            new_state[name + "bias"] = sum(biases[1:], biases[0])  # b = b_ih + b_hh
    unexpected = sorted(set(arrays) - used)
    if strict and unexpected:
        problems.append(f"unexpected keys {unexpected}"
                        + (" (the module has bias=False)" if any("bias" in u for u in unexpected)
                           else ""))
    if problems:
        raise KeyError(f"load_torch_weights into {type(module).__name__}: " + "; ".join(problems))
    if any(isinstance(cell, GRUCell) and not cell.reset_after for _, cell in layers):
        warnings.warn("load_torch_weights: this GRU (reset_after=False) computes the candidate "
                      "from [x; r*h] with one bias, PyTorch's from r*(W_hn h + b_hn); r and z "
                      "match, the outputs do not (reset_after=True matches PyTorch)",
                      stacklevel=2)
    module.load_state_dict(new_state, strict=False)


def export_torch_weights(module: Module) -> dict[str, np.ndarray]:
    """PyTorch-named copies of a cell's or sequence module's weights: W split into weight_ih /
    weight_hh, the one bias as bias_ih and zeros as bias_hh (so b_ih + b_hh = b), except that a
    GRU's b_hn (reset_after=True) goes into the n rows of bias_hh."""
    out: dict[str, np.ndarray] = {}
    for sfx, cell in _layers(module):
        W = cell.linear.weight.data
        out[f"weight_ih{sfx}"] = W[:, :cell.input_size].copy()
        out[f"weight_hh{sfx}"] = W[:, cell.input_size:].copy()
        if getattr(cell, "proj_size", 0):
            out[f"weight_hr{sfx}"] = cell.weight_hr.data.copy()
        if cell.linear.bias is not None:
            out[f"bias_ih{sfx}"] = cell.linear.bias.data.copy()
            out[f"bias_hh{sfx}"] = np.zeros_like(cell.linear.bias.data)
            if getattr(cell, "b_hn", None) is not None:
                out[f"bias_hh{sfx}"][2 * cell.hidden_size:] = cell.b_hn.data
    return out
