"""Many to one: read a whole sequence, give one answer at the end (sequence classification).

    python examples/many_to_one.py                      # which of 4 sine frequencies is this?
    python examples/many_to_one.py --task count --length 10    # how many 1 bits are there?
    python examples/many_to_one.py --cell rnn --quick

The recurrent network reads x_1 ... x_T (one number per step); only its last hidden state h_T
goes to a linear layer that gives the class logits, and cross-entropy is taken there alone.
The gradient of that single loss reaches every step by flowing back through time.

Tasks:
  sine    x_t = sin(2 pi f t / T + phase) + noise, with f one of `--classes` frequencies and a
          random phase: the class is the index of f. Accuracy by chance: 1 / classes.
  count   x_t in {0, 1}: the class is the number of ones (0 ... T), so every step counts.
          Accuracy by chance (always answering T/2): about 0.25 for T = 10.
          (Parity, the count modulo 2, is the famous hard case: with 0/1 steps a GRU sits on a
          loss plateau for about a thousand steps before it suddenly learns even 4-bit parity,
          too long for an example meant to finish in seconds; try `--task parity --length 4
          --steps 1500`.)
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any, Sequence

import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import nn, optim
from tinygrad_rnn.script import Parser, hidden_int, run_main

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
TASKS = ("sine", "count", "parity")


class SequenceClassifier(nn.Module):
    """A recurrent network whose last top-layer hidden state is mapped to class logits."""

    def __init__(self, input_size: int, hidden_size: int, classes: int, cell: str = "gru",
                 num_layers: int = 1) -> None:
        self.rnn = CELLS[cell](input_size, hidden_size, num_layers=num_layers)
        self.head = nn.Linear(hidden_size, classes)

    def forward(self, x: Any) -> tg.Tensor:
        """x (T, B, I) -> logits (B, classes), read from h_T alone."""
        output, _ = self.rnn(x)
        return self.head(output[-1])  # many to one: only the last step is used


def run(task: str = "sine", cell: str = "gru", hidden_size: int = 32, length: int = 30,
        classes: int = 4, steps: int = 300, batch_size: int = 64, lr: float = 1e-2,
        test_size: int = 512, seed: int = 0, log_every: int = 25) -> dict[str, Any]:
    """Train a sequence classifier; returns {"losses", "accuracy", "chance", "seconds"}.

    `losses` has one training loss per step; `accuracy` is measured on `test_size` fresh
    sequences after training.
    """
    if task not in TASKS:
        raise ValueError(f"many_to_one: task must be one of {TASKS}, got {task!r}")
    if cell not in CELLS:
        raise ValueError(f"many_to_one: cell must be one of {sorted(CELLS)}, got {cell!r}")
    for name, value in [("hidden_size", hidden_size), ("length", length), ("steps", steps),
                        ("batch_size", batch_size), ("test_size", test_size)]:
        if value <= 0:
            raise ValueError(f"many_to_one: {name} must be positive, got {value}")
    if task == "sine" and classes < 2:
        raise ValueError(f"many_to_one: need at least 2 classes, got {classes}")
    n_classes = {"sine": classes, "count": length + 1, "parity": 2}[task]
    # chance: always answering the most common class (for count, the middle binomial term)
    chance = math.comb(length, length // 2) / 2 ** length if task == "count" else 1 / n_classes

    def batch(n: int) -> tuple[np.ndarray, np.ndarray]:
        if task == "sine":
            return make_sine(n, length, classes, rng)
        return make_bits(n, length, rng, modulus=2 if task == "parity" else None)

    if seed < 0:  # NumPy would say only "expected non-negative integer"
        raise ValueError(f"many_to_one: seed must be >= 0, got {seed}")
    tg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = SequenceClassifier(1, hidden_size, n_classes, cell)
    opt = optim.Adam(model.parameters(), lr=lr)
    print(f"many to one: {task}, {cell} hidden {hidden_size}, {length} steps, "
          f"{n_classes} classes")
    t0 = time.perf_counter()
    losses = []
    for step in range(1, steps + 1):
        x, y = batch(batch_size)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        losses.append(loss.item())
        if step % log_every == 0 or step == steps:
            recent = np.mean(losses[-log_every:])
            print(f"step {step:4d}  loss {recent:.4f}", flush=True)
    x, y = batch(test_size)
    with tg.no_grad():
        predicted = np.argmax(model(x).data, axis=1)
    accuracy = float(np.mean(predicted == y))
    seconds = time.perf_counter() - t0
    print(f"test accuracy {accuracy:.3f} (chance {chance:.3f}), {seconds:.1f}s")
    return {"losses": losses, "accuracy": accuracy, "chance": chance, "seconds": seconds}


# ----- the data ----------------------------------------------------------------------------

def make_sine(n: int, length: int, classes: int, rng: np.random.Generator,
              noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """n noisy sine waves of `length` steps: x (T, n, 1) float32 and the class of each (n,).
    Class k has k + 1 periods over the sequence."""
    y = rng.integers(0, classes, size=n)
    t = np.arange(length)[:, None]
    phase = rng.uniform(0, 2 * np.pi, size=n)
    x = np.sin(2 * np.pi * (y + 1) * t / length + phase) + noise * rng.standard_normal((length, n))
    return x[:, :, None].astype(np.float32), y


def make_bits(n: int, length: int, rng: np.random.Generator,
              modulus: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """n random bit strings: x (T, n, 1) float32 and the number of ones in each (n,), taken
    modulo `modulus` when given (2: the parity)."""
    bits = rng.integers(0, 2, size=(length, n))
    ones = bits.sum(axis=0)
    return bits[:, :, None].astype(np.float32), ones if modulus is None else ones % modulus


def build_parser() -> Parser:
    """The command-line interface of this example."""
    p = Parser(prog="many_to_one", description="Many-to-one sequence classification: sine "
                                "frequencies, or the number of ones in a bit string.")
    p.add_argument("--task", choices=TASKS, default="sine")
    p.add_argument("--cell", choices=sorted(CELLS), default="gru")
    p.add_argument("--hidden", type=hidden_int, default=32, help="hidden size (default: 32)")
    p.add_argument("--length", type=int, default=None,
                   help="sequence length (default: 30 for sine, 10 for the bit tasks)")
    p.add_argument("--classes", type=int, default=4, help="sine frequencies (default: 4)")
    p.add_argument("--steps", type=int, default=None, help="training steps "
                   "(default: 300)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a short run (for tests)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    length = args.length if args.length is not None else (30 if args.task == "sine" else 10)
    steps = args.steps if args.steps is not None else 300  # 0 is an error, not the default
    if args.quick:
        steps, length = min(steps, 120), min(length, 20)
    try:
        run(args.task, args.cell, args.hidden, length, args.classes, steps, args.batch_size,
            args.lr, seed=args.seed)
    except ValueError as e:
        print(f"many_to_one: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    run_main(main, "many_to_one")
