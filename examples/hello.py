"""The character "hello" task: one RNN cell learns to map "hello" to "ohlol".

The classic worked example: characters idx2char = e, h, l, o as one-hot inputs of size 4, an
RNNCell(4, 4) whose hidden state IS the vector of 4 logits (no output layer), cross-entropy at
every step summed over the 5 steps, Adam with learning rate 0.1, 15 epochs. Each epoch prints
the loss and the predicted string (argmax per step). Training runs the 5 steps as one fused
graph node (`nn.unroll`); `--per-op` trains step by step instead, and `--render` always draws
the step-by-step graph (the numbers are the same either way). Because the logits are tanh outputs in
(-1, 1), the summed loss cannot go below about 1.704.

    python examples/hello.py                       # the classic run
    python examples/hello.py --cell lstm --epochs 30
    python examples/hello.py --input hlllo --target ohlol
    python examples/hello.py --init tests/fixtures/hello_init.npz   # PyTorch-named weights
    python examples/hello.py --render hello_graph.png               # also draw the graph
    python examples/hello.py --per-op                # train with the unrolled per-op graph
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import tinygrad_rnn as tg  # noqa: E402
import tinygrad_rnn.functional as F  # noqa: E402
from tinygrad_rnn import nn, optim  # noqa: E402
from tinygrad_rnn.cli import int_at_least  # noqa: E402  (the command's own option check)

CELLS = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}
DEFAULT_SEED = 3


@dataclass
class HelloData:
    """The vocabulary (sorted characters), one-hot inputs (T, 1, V) and target indices (T,)."""

    idx2char: list[str]
    x: tg.Tensor
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
    x = tg.Tensor(np.eye(len(idx2char), dtype=dtype)[x_idx][:, None, :])  # (T, batch 1, V)
    return HelloData(idx2char, x, y_idx)


def make_model(cell: str = "rnn", vocab_size: int = 4, seed: int = DEFAULT_SEED,
               init: Any = None, dtype: Any = np.float32) -> nn.Module:
    """A cell(V, V) initialised from `seed`, or from PyTorch-named arrays `init` (a mapping or
    an .npz path: weight_ih, weight_hh, bias_ih, bias_hh; the two biases are folded)."""
    if cell not in CELLS:
        raise ValueError(f"hello: cell must be one of {sorted(CELLS)}, got {cell!r}")
    tg.manual_seed(seed)
    model = CELLS[cell](vocab_size, vocab_size, dtype=dtype)
    if init is not None:
        nn.load_torch_weights(model, init)
    return model


def sequence_loss(model: nn.Module, data: HelloData,
                  fused: bool = False) -> tuple[tg.Tensor, str]:
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
            with tg.annotate(step=t, layer=0):
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


def _read_init(path: str) -> dict[str, np.ndarray]:
    """The arrays of an --init .npz file, or one clear error naming the file."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, AttributeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else "not an .npz file"
        raise ValueError(f"hello: cannot read --init {path!r}: {reason}") from None


def main(argv: list[str] | None = None) -> int:
    """Command line: train, print each epoch, optionally render the unrolled graph."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--input", default="hello", help="input string (default hello)")
    p.add_argument("--target", default="ohlol", help="target string, same length (ohlol)")
    p.add_argument("--epochs", type=int_at_least(1, "a positive integer"), default=15)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--seed", type=int_at_least(0, "an integer >= 0"), default=DEFAULT_SEED)
    p.add_argument("--cell", choices=sorted(CELLS), default="rnn")
    p.add_argument("--init", metavar="FILE.npz",
                   help="initial weights as PyTorch-named arrays (weight_ih, weight_hh, ...)")
    p.add_argument("--quick", action="store_true", help="3 epochs only (a smoke run)")
    p.add_argument("--per-op", action="store_true",
                   help="train step by step (the drawn graph) instead of one fused node")
    p.add_argument("--render", metavar="PATH",
                   help="after training, draw the unrolled graph with gradients to PATH")
    args = p.parse_args(argv)
    epochs = min(args.epochs, 3) if args.quick else args.epochs
    if args.render:  # a bad suffix is an error before training, not after
        import viz

        suffix = Path(args.render).suffix.lstrip(".").lower()
        if suffix not in viz.FORMATS:
            raise ValueError(f"hello: --render {args.render!r}: the suffix must be one of "
                             f"{viz.FORMATS}, got {suffix!r}")
    data = make_data(args.input, args.target)
    init = _read_init(args.init) if args.init else None
    model = make_model(args.cell, len(data.idx2char), args.seed, init)
    print(f"idx2char = {data.idx2char}, input {args.input!r}, target {args.target!r}, "
          f"{type(model).__name__}({len(data.idx2char)}, {len(data.idx2char)}), Adam lr {args.lr}")
    train(args.input, args.target, epochs, args.lr, model=model, log=print,
          fused=not args.per_op)
    if args.render:
        import viz  # drawing is optional: only this branch needs Graphviz

        model.zero_grad()
        loss, _ = sequence_loss(model, data, fused=False)  # step by step: the graph to draw
        loss.backward(retain_grad=True)  # keep every intermediate gradient for the picture
        print(f"wrote {viz.render(loss, args.render, grads=True)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, OSError, KeyError, RuntimeError) as e:  # as `tinygrad-rnn hello` does
        message = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f"hello: error: {str(message).removeprefix('hello: ')}", file=sys.stderr)
        sys.exit(2)
