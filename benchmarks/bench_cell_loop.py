"""A training step written as a loop over a cell, as PyTorch's tutorials and min-char-rnn write it:
tinygrad_rnn against PyTorch, one thread, interleaved in one process.

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_cell_loop.py
    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_cell_loop.py --config 1,25,100
    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_cell_loop.py --freeze-gc

The step (the same task as bench_rnn.py: one-hot characters, vocab 65, float32): for t in 0..T-1
`state = cell(x[t], state)` and `head(h)`, then cross-entropy over all outputs, backward and an
Adam step; `nn.RNNCell/LSTMCell/GRUCell` + `nn.Linear` + `F.cross_entropy` + `optim.Adam` on
both sides. Here tinygrad_rnn records the per-op graph of every step (the graph viz draws; nn.RNN
and friends run a layer as one fused node instead), while PyTorch's cells are one fused op each,
so this measures the engine's per-op cost. Prints the median ms over rounds (± half the spread of
the middle half) and the median ratio tinygrad / PyTorch (no target: issue 14's targets are for
the sequence modules, bench_rnn.py).
"""

from __future__ import annotations

import argparse
import gc
from typing import Any, Callable

import numpy as np
from bench_rnn import VOCAB, interleaved, make_batch, ratio, spread

import tinygrad_rnn as tg

CELLS = ("rnn", "lstm", "gru")
CONFIGS = [(1, 25, 100), (32, 25, 128)]


def loop_step(torch: Any, cell: str, hidden: int, x: np.ndarray,
              y: np.ndarray) -> Callable[[], None]:
    """The loop as a user writes it; `torch` is PyTorch or tinygrad_rnn (the same names)."""
    torch.manual_seed(0)
    rnn_cell = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell,
                "gru": torch.nn.GRUCell}[cell](VOCAB, hidden)
    head = torch.nn.Linear(hidden, VOCAB)
    opt = torch.optim.Adam([*rnn_cell.parameters(), *head.parameters()], lr=1e-3)
    xs, targets = torch.tensor(x), torch.tensor(y.reshape(-1))

    def step() -> None:
        opt.zero_grad()
        state, outputs = None, []
        for t in range(len(xs)):
            state = rnn_cell(xs[t], state)
            outputs.append(head(state[0] if isinstance(state, tuple) else state))
        logits = torch.stack(outputs).reshape(-1, VOCAB)
        torch.nn.functional.cross_entropy(logits, targets).backward()
        opt.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="B,T,H (default: 1,25,100 and 32,25,128)")
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per row, at most")
    parser.add_argument("--freeze-gc", action="store_true",
                        help="gc.freeze() once everything is loaded: Python's full collections "
                             "then skip the ~1e5 objects of numba, torch and the models")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    configs = [tuple(int(v) for v in args.config.split(","))] if args.config else CONFIGS
    print("| cell | (B, T, H) | tinygrad ms | torch ms | tinygrad / torch |")
    print("|---|---|---|---|---|")
    for batch, steps, hidden in configs:
        x, y = make_batch(batch, steps)
        for cell in CELLS:
            fns = {"tinygrad": loop_step(tg, cell, hidden, x, y),
                   "torch": loop_step(torch, cell, hidden, x, y)}
            if args.freeze_gc:
                for fn in fns.values():
                    fn()  # numba's kernels loaded: its objects are alive from here on
                gc.freeze()
            t = interleaved(fns, args.rounds, args.budget)
            print(f"| {cell} | ({batch}, {steps}, {hidden}) | {spread(t['tinygrad'])} | "
                  f"{spread(t['torch'])} | {ratio(t, 'tinygrad', 'torch'):.2f} |", flush=True)


if __name__ == "__main__":
    main()
