"""One to many: from one input, write a whole sequence, feeding each output back in.

    python examples/one_to_many.py                  # number -> its English name, letter by letter
    python examples/one_to_many.py --cell lstm --steps 600
    python examples/one_to_many.py --quick

The single input is a number from 0 to 99, given as two one-hot digits (tens, ones). It sets
the first hidden state, h_0 = tanh(W_c [tens; ones] + b_c), as an image sets the state of a
captioning network. Then the cell runs on its own: at step t its input is the character it
wrote at step t-1 (a start mark "^" at t = 1), and its output layer gives the next character,
until it writes the end mark ".":

    42  ->  f o r t y _ t w o .

Training feeds the true previous character instead of the model's own (teacher forcing), which
gives every step a correct input and so a clean gradient; writing (`spell`) feeds back the
model's own greedy choice. Some numbers from 21 to 99 are held out of training: the model can
only spell those by putting together a tens word and a ones word it has seen elsewhere.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Sequence

import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import nn, optim
from tinygrad_rnn.script import Parser, hidden_int, run_main
from tinygrad_rnn.data import CharVocab

ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
START, END = "^", "."
CELLS = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}


def number_name(n: int) -> str:
    """English name of 0 <= n <= 99, e.g. 42 -> "forty two"."""
    if not 0 <= n <= 99:
        raise ValueError(f"number_name: n must be in [0, 99], got {n}")
    if n < 10:
        return ONES[n]
    if n < 20:
        return TEENS[n - 10]
    tens, ones = divmod(n, 10)
    return TENS[tens] + ("" if ones == 0 else " " + ONES[ones])


VOCAB = CharVocab(sorted(set("".join(number_name(n) for n in range(100)))) + [END, START])
MAX_LEN = max(len(number_name(n)) for n in range(100)) + 1  # + the end mark


def encode_numbers(numbers: Sequence[int]) -> np.ndarray:
    """Numbers -> (B, 20) float32: one-hot tens digit, then one-hot ones digit."""
    numbers = np.asarray(numbers)
    code = np.zeros((len(numbers), 20), dtype=np.float32)
    code[np.arange(len(numbers)), numbers // 10] = 1.0
    code[np.arange(len(numbers)), 10 + numbers % 10] = 1.0
    return code


class Speller(nn.Module):
    """h_0 from the number, then one cell step per character, fed its previous character."""

    def __init__(self, hidden_size: int = 64, cell: str = "gru") -> None:
        self.hidden_size, self.is_lstm = hidden_size, cell == "lstm"
        self.condition = nn.Linear(20, hidden_size)  # the one input -> the first state
        self.cell = CELLS[cell](VOCAB.size, hidden_size)
        self.head = nn.Linear(hidden_size, VOCAB.size)

    def initial_state(self, numbers: Sequence[int]) -> Any:
        """The state the one input sets: h_0 (and a zero c_0 for the LSTM)."""
        h0 = self.condition(tg.Tensor(encode_numbers(numbers))).tanh()
        return (h0, None) if self.is_lstm else h0

    def step(self, prev_chars: np.ndarray, state: Any) -> tuple[tg.Tensor, Any]:
        """One step: previous characters (B,) and the state -> (next-char logits, state)."""
        if self.is_lstm and state[1] is None:
            state = (state[0], tg.Tensor(np.zeros(state[0].shape, dtype=np.float32)))
        state = self.cell(F.one_hot(prev_chars, VOCAB.size), state)
        h = state[0] if self.is_lstm else state
        return self.head(h), state


def targets_for(numbers: Sequence[int]) -> np.ndarray:
    """(MAX_LEN, B) character indices of each name, padded with the end mark."""
    names = [number_name(int(n)).ljust(MAX_LEN, END) for n in numbers]
    return np.stack([VOCAB.encode(name) for name in names], axis=1)


def loss_teacher_forced(model: Speller, numbers: Sequence[int]) -> tg.Tensor:
    """Mean over the batch of the summed per-step cross-entropy, with the true previous
    character as each step's input."""
    y = targets_for(numbers)
    prev = np.full(len(numbers), VOCAB.stoi[START])
    state = model.initial_state(numbers)
    total = None
    for t in range(MAX_LEN):
        logits, state = model.step(prev, state)
        loss_t = F.cross_entropy(logits, y[t])
        total = loss_t if total is None else total + loss_t  # L = sum_t L_t
        prev = y[t]  # teacher forcing: the true character, not the model's guess
    return total


def spell(model: Speller, numbers: Sequence[int]) -> list[str]:
    """Greedy generation: each step's most likely character is the next step's input."""
    with tg.no_grad():
        prev = np.full(len(numbers), VOCAB.stoi[START])
        state = model.initial_state(numbers)
        written = []
        for _ in range(MAX_LEN):
            logits, state = model.step(prev, state)
            prev = np.argmax(logits.data, axis=1)  # feed the output back in
            written.append(prev)
    words = []
    for column in np.stack(written, axis=1):
        text = VOCAB.decode(column)
        words.append(text.split(END, 1)[0])
    return words


def split_numbers(held_out: int, seed: int) -> tuple[list[int], list[int]]:
    """(train, test): test is `held_out` numbers from 21..99 whose last digit is not 0."""
    compositional = [n for n in range(21, 100) if n % 10]
    test = sorted(np.random.default_rng(seed).choice(compositional, held_out, replace=False))
    return [n for n in range(100) if n not in test], [int(n) for n in test]


def run(cell: str = "gru", hidden_size: int = 64, steps: int = 400, lr: float = 1e-2,
        held_out: int = 12, seed: int = 0, log_every: int = 50) -> dict[str, Any]:
    """Train the speller; returns {"losses", "train_accuracy", "test_accuracy", "test_words",
    "test_numbers", "seconds"} (accuracies are exact matches of the whole name)."""
    if cell not in CELLS:
        raise ValueError(f"one_to_many: cell must be one of {sorted(CELLS)}, got {cell!r}")
    if hidden_size <= 0 or steps <= 0 or not 0 <= held_out <= 40:
        raise ValueError("one_to_many: hidden_size and steps must be positive and held_out in "
                         f"[0, 40], got {hidden_size}, {steps}, {held_out}")
    if seed < 0:  # NumPy would say only "expected non-negative integer"
        raise ValueError(f"one_to_many: seed must be >= 0, got {seed}")
    tg.manual_seed(seed)
    train_numbers, test_numbers = split_numbers(held_out, seed)
    model = Speller(hidden_size, cell)
    opt = optim.Adam(model.parameters(), lr=lr)
    print(f"one to many: spell numbers with a {cell} (hidden {hidden_size}); "
          f"{len(train_numbers)} to learn, {len(test_numbers)} held out")
    t0 = time.perf_counter()
    losses = []
    for step in range(1, steps + 1):
        loss = loss_teacher_forced(model, train_numbers)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        losses.append(loss.item())
        if step % log_every == 0 or step == steps:
            print(f"step {step:4d}  loss {losses[-1]:.4f}", flush=True)
    train_words = spell(model, train_numbers)
    test_words = spell(model, test_numbers) if test_numbers else []  # --held-out 0
    train_acc = float(np.mean([w == number_name(n) for w, n in zip(train_words, train_numbers)]))
    test_acc = (float(np.mean([w == number_name(n) for w, n in zip(test_words, test_numbers)]))
                if test_numbers else float("nan"))
    for n, w in zip(test_numbers, test_words):
        print(f"  {n:2d} -> {w!r}{'' if w == number_name(n) else '  (wrong)'}")
    seconds = time.perf_counter() - t0
    print(f"exact match: {train_acc:.3f} on the numbers it learned, {test_acc:.3f} on the "
          f"held-out ones, {seconds:.1f}s")
    return {"losses": losses, "train_accuracy": train_acc, "test_accuracy": test_acc,
            "test_words": test_words, "test_numbers": test_numbers, "seconds": seconds}


def build_parser() -> Parser:
    """The command-line interface of this example."""
    p = Parser(prog="one_to_many", description="One-to-many generation: spell a number in English, "
                                "one character per step, feeding each output back in.")
    p.add_argument("--cell", choices=sorted(CELLS), default="gru")
    p.add_argument("--hidden", type=hidden_int, default=64, help="hidden size (default: 64)")
    p.add_argument("--steps", type=int, default=400, help="training steps (default: 400)")
    p.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate")
    p.add_argument("--held-out", type=int, default=12, help="numbers kept out of training")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a short run (for tests)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    steps = min(args.steps, 120) if args.quick else args.steps
    try:
        run(args.cell, args.hidden, steps, args.lr, args.held_out, args.seed)
    except ValueError as e:
        print(f"one_to_many: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    run_main(main, "one_to_many")
