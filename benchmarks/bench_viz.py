"""Time and memory of drawing the loop a learner writes: an RNNCell called by hand for 1,000
steps, a cross-entropy loss per step added up, no annotations.

    PYTHONPATH=. python benchmarks/bench_viz.py            # 1,000 steps
    PYTHONPATH=. python benchmarks/bench_viz.py --steps 3000

Each line: what was drawn, the best wall time of --repeat runs, the peak memory that drawing
allocated on top of the graph (tracemalloc: Python objects and NumPy arrays), and the size of
the DOT text. The forward pass is built once, outside the timings.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
import viz
from tinygrad_rnn import Tensor, nn


def hand_loop(steps: int, hidden: int = 16, vocab: int = 8):
    """h = cell(x_t, h); loss = loss + cross_entropy(h, y_t): the tutorial loop."""
    tg.manual_seed(0)
    cell = nn.RNNCell(vocab, hidden)
    rng = np.random.default_rng(0)
    xs = Tensor(np.eye(vocab, dtype=np.float32)[rng.integers(0, vocab, steps)][:, None, :])
    ys = rng.integers(0, hidden, steps)
    h, loss = None, 0.0
    for t in range(steps):
        h = cell(xs[t], h)
        loss = loss + F.cross_entropy(h, ys[t:t + 1])
    return loss


def measure(label: str, fn, repeat: int) -> None:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    source = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{label:<44} {best:7.3f} s  peak {peak / 2**20:7.1f} MiB  "
          f"DOT {len(source) / 1e3:8.1f} kB")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    start = time.perf_counter()
    loss = hand_loop(args.steps)
    print(f"forward of {args.steps} steps (not timed below): {time.perf_counter() - start:.2f} s, "
          f"{len(viz.walk(loss))} tensors in the graph")
    measure("draw(loss)", lambda: viz.draw(loss).source, args.repeat)
    measure("draw(loss, max_steps=8)", lambda: viz.draw(loss, max_steps=8).source, args.repeat)
    measure("draw(loss, grads=True, max_steps=8)",
            lambda: viz.draw(loss, grads=True, max_steps=8).source, args.repeat)
    measure("draw(loss, detail='cells', max_steps=8)",
            lambda: viz.draw(loss, detail="cells", max_steps=8).source, args.repeat)


if __name__ == "__main__":
    main()
