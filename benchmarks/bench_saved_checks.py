"""Cost of the engine's saved-array checks (version counter + fingerprint of saved leaf arrays)
per training step.

Run in two trees to compare, e.g.:
    PYTHONPATH=$PWD python benchmarks/bench_saved_checks.py
One step = nn.RNN forward over T steps (per-op graph or fused node), mean-squared loss of the
outputs, backward, SGD step. Prints the minimum CPU time (process_time) of the repeats, in ms.
"""

from __future__ import annotations

import time

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim


def step_time(hidden: int, fused: bool, T: int = 20, B: int = 16, n_in: int = 16,
              repeats: int = 41) -> float:
    rng = np.random.default_rng(0)
    rnn = nn.RNN(n_in, hidden)
    opt = optim.SGD(list(rnn.parameters()), lr=1e-3)
    x = tg.Tensor(rng.standard_normal((T, B, n_in)).astype(np.float32))
    times = []
    for _ in range(repeats + 2):
        t0 = time.process_time()
        out, _ = rnn(x, fused=fused)
        loss = (out * out).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.process_time() - t0)
    return min(times[2:]) * 1e3


def main() -> None:
    for hidden in (16, 128):
        for fused in (False, True):
            ms = step_time(hidden, fused)
            print(f"H={hidden:4d} {'fused ' if fused else 'per-op'} {ms:8.3f} ms/step")


if __name__ == "__main__":
    main()
