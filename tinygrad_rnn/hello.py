"""The character "hello" task: one RNN cell learns to map "hello" to "ohlol".

What `tinygrad-rnn hello` and `examples/hello.py` run. The classic worked example: characters
idx2char = e, h, l, o as one-hot inputs of size 4, an RNNCell(4, 4) whose hidden state IS the
vector of 4 logits (no output layer), cross-entropy at every step summed over the 5 steps, Adam
with learning rate 0.1, 15 epochs. Because the logits are tanh outputs in (-1, 1), the summed
loss cannot go below about 1.704.

    >>> from tinygrad_rnn.hello import train
    >>> losses = train(epochs=15)          # the loss of every epoch, before its update
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from tinygrad_rnn import functional as F
from tinygrad_rnn import nn, optim
from tinygrad_rnn.modes import annotate
from tinygrad_rnn.random import manual_seed
from tinygrad_rnn.tensor import Tensor

CELLS = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}
DEFAULT_SEED = 3


@dataclass
class HelloData:
    """The vocabulary (sorted characters), one-hot inputs (T, 1, V) and target indices (T,)."""

    idx2char: list[str]
    x: Tensor
    y: np.ndarray


def make_data(input_text: str = "hello", target_text: str = "ohlol",
              dtype: Any = np.float32) -> HelloData:
    """One-hot the input and index the target over their sorted characters (e, h, l, o for
    the classic pair)."""
    if len(input_text) != len(target_text) or not input_text:
        raise ValueError(f"hello: input {input_text!r} and target {target_text!r} must be "
                         "non-empty and of equal length")
    idx2char = sorted(set(input_text) | set(target_text))
    x_idx = np.array([idx2char.index(ch) for ch in input_text])
    y_idx = np.array([idx2char.index(ch) for ch in target_text])
    x = Tensor(np.eye(len(idx2char), dtype=dtype)[x_idx][:, None, :])  # (T, batch 1, V)
    return HelloData(idx2char, x, y_idx)


def make_model(cell: str = "rnn", vocab_size: int = 4, seed: int = DEFAULT_SEED,
               init: Any = None, dtype: Any = np.float32) -> nn.Module:
    """A cell(V, V) initialised from `seed`, or from PyTorch-named arrays `init` (a mapping or
    an .npz path: weight_ih, weight_hh, bias_ih, bias_hh; the two biases are folded)."""
    if cell not in CELLS:
        raise ValueError(f"hello: cell must be one of {sorted(CELLS)}, got {cell!r}")
    manual_seed(seed)
    model = CELLS[cell](vocab_size, vocab_size, dtype=dtype)
    if init is not None:
        nn.load_torch_weights(model, init)
    return model


def sequence_loss(model: nn.Module, data: HelloData,
                  fused: bool = False) -> tuple[Tensor, str]:
    """The cross-entropy summed over the steps, and the predicted string.

    fused=False (the graph hello draws): call the cell once per step, each step inside
    annotate(step=t, layer=0), a loss node per step. fused=True: the whole sequence as one graph
    node (`nn.unroll`) and one loss node; the same numbers, several times faster.
    """
    if fused:
        hs, _ = nn.unroll(model, data.x)  # (T, 1, V): h_t for every step, one node
        logits = hs.reshape(len(data.y), len(data.idx2char))  # h is the logits
        loss = F.cross_entropy(logits, data.y, reduction="sum")
        predicted = [data.idx2char[i] for i in np.argmax(logits.data, axis=1)]
    else:
        state, loss, predicted = None, None, []
        for t in range(1, len(data.y) + 1):
            with annotate(step=t, layer=0):
                x_t = data.x[t - 1]
                x_t.name = f"x_{t}"
                state = model(x_t, state)
                logits = state[0] if isinstance(state, tuple) else state  # h is the logits
                logits.name = f"h_{t}"
                # batch of one: "sum" equals PyTorch's default "mean" and draws no extra node
                step_loss = F.cross_entropy(logits, data.y[t - 1:t], reduction="sum")
                loss = step_loss if loss is None else loss + step_loss
            predicted.append(data.idx2char[int(np.argmax(logits.data))])
    loss.name = "loss"
    return loss, "".join(predicted)


def train(input_text: str = "hello", target_text: str = "ohlol", epochs: int = 15,
          lr: float = 0.1, seed: int = DEFAULT_SEED, cell: str = "rnn", init: Any = None,
          dtype: Any = np.float32, model: nn.Module | None = None,
          log: Callable[[str], Any] | None = None, fused: bool = True) -> list[float]:
    """Train on the pair with Adam and return the loss of every epoch (before its update).

    model: train this cell instead of making one from cell/seed/init. log: called with one
    line per epoch ("epoch  1  loss 6.8672  predicted 'lllll'"), e.g. print. fused: run the
    sequence as one graph node (default) or step by step (`sequence_loss`); same numbers.
    """
    data = make_data(input_text, target_text, dtype)
    if model is None:
        model = make_model(cell, len(data.idx2char), seed, init, dtype)
    opt = optim.Adam(model.parameters(), lr=lr)
    losses = []
    for epoch in range(1, epochs + 1):
        opt.zero_grad()
        loss, predicted = sequence_loss(model, data, fused)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if log is not None:
            log(f"epoch {epoch:2d}  loss {loss.item():.4f}  predicted {predicted!r}")
    return losses


def read_init(path: str) -> dict[str, np.ndarray]:
    """The arrays of an --init .npz file, or one clear error naming the file."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, AttributeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else "not an .npz file"
        raise ValueError(f"hello: cannot read --init {path!r}: {reason}") from None
