"""Variable-length batches: a bidirectional nn.LSTM over a PackedSequence against the same padded
batch and against PyTorch, one thread, interleaved in one process.

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_packed.py

The step, written once for both libraries (the names are the same): pack_padded_sequence of a
(B, T, I) batch whose lengths are drawn from [T/10, T] (enforce_sorted=False), a 2-layer
bidirectional LSTM, pad_packed_sequence, a loss on the output and on h_n, backward. The padded row
runs the same module on the whole padded batch. Prints the median ms over rounds (± half the
spread of the middle half) and the median ratios (no target).
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

import numpy as np
from bench_rnn import interleaved, ratio, spread

import tinygrad_rnn as tg

CONFIGS = [(32, 50, 32, 128), (64, 100, 64, 256)]  # (B, T, I, H)


def packed_step(torch: Any, x: np.ndarray, lengths: np.ndarray, hidden: int,
                packed: bool) -> Callable[[], None]:
    """The step as a user writes it; `torch` is PyTorch or tinygrad_rnn."""
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(x.shape[2], hidden, num_layers=2, bidirectional=True, batch_first=True)
    xs, lens = torch.tensor(x), torch.tensor(lengths)
    rnn_utils = torch.nn.utils.rnn

    def step() -> None:
        lstm.zero_grad()
        if packed:
            inp = rnn_utils.pack_padded_sequence(xs, lens, batch_first=True, enforce_sorted=False)
            out, (h_n, _) = lstm(inp)
            out, _ = rnn_utils.pad_packed_sequence(out, batch_first=True)
        else:
            out, (h_n, _) = lstm(xs)
        (out.sum() + h_n.sum()).backward()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--budget", type=float, default=15.0, help="seconds per row, at most")
    parser.add_argument("--quick", action="store_true", help="one small config, a few rounds")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    configs = [(4, 6, 3, 5)] if args.quick else CONFIGS
    rounds, budget = (3, 2.0) if args.quick else (args.rounds, args.budget)
    print("| (B, T, I, H) | tinygrad packed ms | tinygrad padded ms | torch packed ms | "
          "torch padded ms | packed: tinygrad / torch | tinygrad: packed / padded |")
    print("|---|---|---|---|---|---|---|")
    for batch, steps, n_in, hidden in configs:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((batch, steps, n_in)).astype(np.float32)
        lengths = rng.integers(max(1, steps // 10), steps + 1, batch)
        lengths[0] = steps  # the padded batch is as long as the longest sequence
        fns = {f"{lib} {kind}": packed_step(mod, x, lengths, hidden, kind == "packed")
               for lib, mod in (("tinygrad", tg), ("torch", torch))
               for kind in ("packed", "padded")}
        t = interleaved(fns, rounds, budget)
        print(f"| ({batch}, {steps}, {n_in}, {hidden}) | {spread(t['tinygrad packed'])} | "
              f"{spread(t['tinygrad padded'])} | {spread(t['torch packed'])} | "
              f"{spread(t['torch padded'])} | {ratio(t, 'tinygrad packed', 'torch packed'):.2f} | "
              f"{ratio(t, 'tinygrad packed', 'tinygrad padded'):.2f} |", flush=True)


if __name__ == "__main__":
    main()
