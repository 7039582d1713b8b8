"""Per-call time of the LSTM and GRU step kernels (the elementwise work around the per-step
products on the big path), compiled, on one row block of float32 arrays of (B, H):

    PYTHONPATH=. python benchmarks/bench_step_kernels.py            # B=64, H=512
    PYTHONPATH=. python benchmarks/bench_step_kernels.py 32 128

Times are the best of seven batches of calls (`bench_crossover.best_time`). Run it on two commits
to compare a kernel change (docs/performance.md quotes the one that gave each kernel one view per
gate block).
"""

from __future__ import annotations

import sys

import numpy as np
from bench_crossover import best_time

from tinygrad_rnn.kernels import gru, lstm


def main(batch: int = 64, hidden: int = 512) -> None:
    rng = np.random.default_rng(0)

    def r(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32)

    def gates(width: int) -> np.ndarray:
        return rng.random((batch, width)).astype(np.float32)  # values in (0, 1), as gates are

    b, h = batch, hidden
    p, q, g3 = r(b, 3 * h), r(b, 3 * h), gates(3 * h)
    h_prev, m, h_new, dh, d_rh, dh_prev = (r(b, h) for _ in range(6))
    dp, dq, b_hn = r(b, 3 * h), r(b, 3 * h), r(h)
    z4, p4, g4, dz4 = r(b, 4 * h), r(b, 4 * h), gates(4 * h), r(b, 4 * h)
    c, tanh_c, c_prev = r(b, h), r(b, h), r(b, h)
    rows = []
    for reset_after in (True, False):
        name = "reset_after" if reset_after else "cho"
        rows += [
            (f"gru_reset_into ({name})", lambda ra=reset_after: gru.gru_reset_into.compiled(
                p, q, h_prev, b_hn, g3, m, ra, True)),
            (f"gru_update_into ({name})", lambda ra=reset_after: gru.gru_update_into.compiled(
                p, q, h_prev, g3, m, h_new, ra, True)),
            (f"gru_update_backward_into ({name})",
             lambda ra=reset_after: gru.gru_update_backward_into.compiled(
                 dh, h_prev, g3, m, dp, dq, ra)),
            (f"gru_reset_backward_into ({name})",
             lambda ra=reset_after: gru.gru_reset_backward_into.compiled(
                 dh, d_rh, h_prev, g3, dp, dq, dh_prev, ra)),
        ]
    rows += [
        ("lstm_gates_into", lambda: lstm.lstm_gates_into.compiled(z4, p4, c_prev, g4, c, tanh_c,
                                                                  h_new, True)),
        ("lstm_gates_backward_into", lambda: lstm.lstm_gates_backward_into.compiled(
            dh, d_rh, c, g4, tanh_c, c_prev, dz4, dh_prev)),
    ]
    print(f"step kernels, float32, B={batch}, H={hidden} (us per call, best of 7)")
    print("| kernel | us |")
    print("|---|---|")
    for name, fn in rows:
        print(f"| {name} | {best_time(fn) * 1e6:.1f} |")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
