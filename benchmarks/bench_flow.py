"""Time each viz.flow view at T = 100, H = 64 (batch 1) for a tanh RNN, an LSTM and a GRU.

    PYTHONPATH=. python benchmarks/bench_flow.py [--steps 100 --hidden 64 --repeat 1]

Every view is timed after a warm-up on a small model (so kernel compilation and loading are not
counted); the numbers exclude plotting. Also prints how many decades ||dL_T/dx_j|| falls over
the last 50 steps (or T - 1 when T <= 50), from the connectivity map.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from viz import flow


def time_views(cell_name: str, steps: int, hidden: int) -> dict[str, float]:
    """Seconds for connectivity, jacobians, units (state_gradients) on one random model."""
    cell, head, xs, ys = flow.random_model(cell_name, steps, hidden, seed=0)
    seconds = {}
    start = time.perf_counter()
    run = flow.unroll_losses(cell, xs, head, ys)
    seconds["forward"] = time.perf_counter() - start
    start = time.perf_counter()
    conn = flow.connectivity(run.losses, run.x)
    seconds["connectivity"] = time.perf_counter() - start
    start = time.perf_counter()
    flow.state_gradients(run.losses[-1], run.states)
    seconds["units"] = time.perf_counter() - start
    start = time.perf_counter()
    flow.jacobians(cell, xs)
    seconds["jacobians"] = time.perf_counter() - start
    span = min(50, steps - 1)
    seconds["decades"] = float(np.log10(conn[-1, -1] / conn[-1, -1 - span]))
    return seconds


def main() -> None:
    """Print one line per cell."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--hidden", type=int, default=64)
    args = p.parse_args()
    for name in ("rnn", "lstm", "gru"):  # warm-up: compile / load every kernel once
        time_views(name, 3, 4)
    print(f"T = {args.steps}, H = {args.hidden}, batch 1 (seconds; plotting not included)")
    for name in ("rnn", "lstm", "gru"):
        s = time_views(name, args.steps, args.hidden)
        print(f"  {name:5s} forward {s['forward']:.2f}  connectivity {s['connectivity']:.2f}  "
              f"units {s['units']:.2f}  jacobians {s['jacobians']:.2f}  "
              f"(connectivity falls {s['decades']:.1f} decades over {min(50, args.steps - 1)} "
              "steps)")


if __name__ == "__main__":
    main()
