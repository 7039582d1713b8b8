"""Sequence to sequence: an encoder-decoder that learns to reverse (or sort) short strings.

    python examples/seq2seq.py                     # "badge" -> "egdab"
    python examples/seq2seq.py --task sort         # "badge" -> "abdeg"
    python examples/seq2seq.py --quick

Many to one, then one to many. The encoder (an `nn.GRU`, or RNN / LSTM) reads the whole input
string, one one-hot character per step, and its final hidden state is the summary of the
string. The decoder is a cell that starts from that summary and writes the answer one
character per step, reading the character written before (a start mark "^" first) until it
writes the end mark ".". No attention: everything the decoder knows about the input must pass
through one vector, which is why short strings are the fair test.

Training uses teacher forcing (the decoder reads the true previous character); evaluation uses
greedy decoding (the decoder reads its own previous choice) and counts a string as right only
if every character and the end mark are right (exact match), on strings drawn fresh after
training.
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

LETTERS = "abcdefgh"
START, END = "^", "."
VOCAB = CharVocab(list(LETTERS) + [END, START])
ENCODERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
DECODERS = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}
TASKS = {"reverse": lambda s: s[::-1], "sort": lambda s: "".join(sorted(s))}


def random_strings(n: int, length: int, rng: np.random.Generator) -> list[str]:
    """n random strings of `length` letters from LETTERS."""
    picks = rng.integers(0, len(LETTERS), size=(n, length))
    return ["".join(LETTERS[i] for i in row) for row in picks]


class Seq2Seq(nn.Module):
    """Encoder sequence module + decoder cell + output layer; decoder state = encoder state."""

    def __init__(self, hidden_size: int = 64, cell: str = "gru") -> None:
        if cell not in ENCODERS:
            raise ValueError(f"Seq2Seq: cell must be one of {sorted(ENCODERS)}, got {cell!r}")
        self.is_lstm = cell == "lstm"
        self.encoder = ENCODERS[cell](VOCAB.size, hidden_size)
        self.decoder = DECODERS[cell](VOCAB.size, hidden_size)
        self.head = nn.Linear(hidden_size, VOCAB.size)

    def encode(self, sources: Sequence[str]) -> Any:
        """Strings of one length -> the decoder's first state (the encoder's final state)."""
        ids = np.stack([VOCAB.encode(s) for s in sources], axis=1)  # (T, B)
        _, final = self.encoder(F.one_hot(ids, VOCAB.size))  # many to one
        if self.is_lstm:
            return final[0][0], final[1][0]  # layer 0 of (h_n, c_n)
        return final[0]

    def decode_step(self, prev: np.ndarray, state: Any) -> tuple[tg.Tensor, Any]:
        """Previous characters (B,) and state -> (logits (B, V), new state)."""
        state = self.decoder(F.one_hot(prev, VOCAB.size), state)
        return self.head(state[0] if self.is_lstm else state), state


def teacher_forced_loss(model: Seq2Seq, sources: Sequence[str],
                        targets: Sequence[str]) -> tg.Tensor:
    """Mean cross-entropy per output step, the decoder reading the true previous character."""
    y = np.stack([VOCAB.encode(t + END) for t in targets], axis=1)  # (T + 1, B)
    state = model.encode(sources)
    prev = np.full(len(sources), VOCAB.stoi[START])
    total = None
    for t in range(len(y)):
        logits, state = model.decode_step(prev, state)
        loss_t = F.cross_entropy(logits, y[t])
        total = loss_t if total is None else total + loss_t
        prev = y[t]  # teacher forcing
    return total * (1.0 / len(y))


def greedy_decode(model: Seq2Seq, sources: Sequence[str], max_len: int) -> list[str]:
    """Decode with the model's own choices fed back; stop each string at its end mark."""
    with tg.no_grad():
        state = model.encode(sources)
        prev = np.full(len(sources), VOCAB.stoi[START])
        columns = []
        for _ in range(max_len + 1):
            logits, state = model.decode_step(prev, state)
            prev = np.argmax(logits.data, axis=1)  # greedy: the most likely character
            columns.append(prev)
    texts = [VOCAB.decode(row) for row in np.stack(columns, axis=1)]
    return [t.split(END, 1)[0] if END in t else t + "?" for t in texts]  # "?": never ended


def run(task: str = "reverse", cell: str = "gru", hidden_size: int = 96, min_len: int = 3,
        max_len: int = 6, steps: int = 800, batch_size: int = 64, lr: float = 5e-3,
        test_size: int = 400, seed: int = 0, log_every: int = 100) -> dict[str, Any]:
    """Train the encoder-decoder; returns {"losses", "accuracy", "char_accuracy", "examples",
    "seconds"}, where accuracy is the exact-match rate of greedy decoding on fresh strings
    (lengths min_len..max_len) and examples lists (source, decoded, expected) triples."""
    if task not in TASKS:
        raise ValueError(f"seq2seq: task must be one of {sorted(TASKS)}, got {task!r}")
    if not 1 <= min_len <= max_len:
        raise ValueError(f"seq2seq: need 1 <= min_len <= max_len, got {min_len}, {max_len}")
    if steps <= 0 or batch_size <= 0 or hidden_size <= 0 or test_size <= 0:
        raise ValueError("seq2seq: steps, batch_size, hidden_size and test_size must be positive")
    if seed < 0:  # NumPy would say only "expected non-negative integer"
        raise ValueError(f"seq2seq: seed must be >= 0, got {seed}")
    tg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = Seq2Seq(hidden_size, cell)
    opt = optim.Adam(model.parameters(), lr=lr)
    target_of = TASKS[task]
    print(f"seq2seq: {task} strings of {min_len}-{max_len} letters from {LETTERS!r}, "
          f"{cell} encoder-decoder, hidden {hidden_size}")
    t0 = time.perf_counter()
    losses = []
    for step in range(1, steps + 1):
        length = int(rng.integers(min_len, max_len + 1))  # one length per batch: no padding
        sources = random_strings(batch_size, length, rng)
        loss = teacher_forced_loss(model, sources, [target_of(s) for s in sources])
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        losses.append(loss.item())
        if step % log_every == 0 or step == steps:
            print(f"step {step:5d}  loss {np.mean(losses[-log_every:]):.4f}", flush=True)
    right, chars_right, chars_total, examples = 0, 0, 0, []
    per_length = max(1, test_size // (max_len - min_len + 1))
    for length in range(min_len, max_len + 1):
        sources = random_strings(per_length, length, rng)
        decoded = greedy_decode(model, sources, length)
        for s, d in zip(sources, decoded):
            want = target_of(s)
            right += d == want
            chars_right += sum(a == b for a, b in zip(d, want))
            chars_total += len(want)
            if len(examples) < 2 * (length - min_len + 1):
                examples.append((s, d, want))
    n_test = per_length * (max_len - min_len + 1)
    accuracy, char_accuracy = right / n_test, chars_right / chars_total
    for s, d, want in examples:
        print(f"  {s:>{max_len}} -> {d:<{max_len + 1}} {'ok' if d == want else 'want ' + want}")
    seconds = time.perf_counter() - t0
    print(f"exact match {accuracy:.3f}, characters right {char_accuracy:.3f} "
          f"({n_test} fresh strings), {seconds:.1f}s")
    return {"losses": losses, "accuracy": accuracy, "char_accuracy": char_accuracy,
            "examples": examples, "seconds": seconds}


def build_parser() -> Parser:
    """The command-line interface of this example."""
    p = Parser(prog="seq2seq", description="Encoder-decoder (seq2seq) that reverses or sorts "
                                "short strings; teacher forcing, greedy decoding.")
    p.add_argument("--task", choices=sorted(TASKS), default="reverse")
    p.add_argument("--cell", choices=sorted(ENCODERS), default="gru")
    p.add_argument("--hidden", type=hidden_int, default=96, help="hidden size (default: 96)")
    p.add_argument("--min-len", type=int, default=3, help="shortest string (default: 3)")
    p.add_argument("--max-len", type=int, default=6, help="longest string (default: 6)")
    p.add_argument("--steps", type=int, default=800, help="training steps (default: 800)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=5e-3, help="Adam learning rate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="short strings, few steps (for tests)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    options = dict(task=args.task, cell=args.cell, hidden_size=args.hidden,
                   min_len=args.min_len, max_len=args.max_len, steps=args.steps,
                   batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    if args.quick:
        options.update(min_len=3, max_len=4, steps=min(args.steps, 200), hidden_size=64,
                       lr=1e-2)
    try:
        run(**options)
    except ValueError as e:
        print(f"seq2seq: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    run_main(main, "seq2seq")
