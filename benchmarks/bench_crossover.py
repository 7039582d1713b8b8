"""Measure where the loop kernels stop beating BLAS: `kernels.matmul` against `a @ b`, and a whole
RNN / LSTM layer (forward + backward) with the hidden-to-hidden products inside the compiled time
loop against a Python loop over BLAS products. One BLAS thread. The constants
`kernels.matmul.CROSSOVER` and `kernels.sequence.SMALL_BELOW` record the result.

    .venv/bin/python benchmarks/bench_crossover.py
"""

from __future__ import annotations

import time

import numpy as np
from threadpoolctl import threadpool_limits

import tinygrad_rnn as tg
from tinygrad_rnn import fused, kernels


def best_time(fn, repeat: int = 7) -> float:
    """Smallest per-call time in seconds over `repeat` runs of enough calls to fill ~20 ms."""
    fn()
    n, t = 1, 0.0
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        t = time.perf_counter() - start
        if t > 0.02:
            break
        n *= 2
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - start) / n)
    return min(times)


def matmul_table() -> None:
    print("single product a (M, K) @ b (K, N): loop kernel vs BLAS, microseconds")
    print(f"{'dtype':8} {'M':>4} {'K':>4} {'N':>4} {'MACs':>9} {'loop':>8} "
          f"{'blas':>8} {'loop/blas':>9}")
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        for m, k, n in [(1, 100, 100), (1, 256, 256), (8, 64, 64), (16, 128, 128), (32, 64, 64),
                        (32, 128, 128), (32, 128, 512), (32, 256, 256), (64, 256, 256),
                        (64, 512, 512)]:
            a = rng.standard_normal((m, k)).astype(dtype)
            b = rng.standard_normal((k, n)).astype(dtype)
            t_loop = best_time(lambda: kernels.matmul.matmul.compiled(a, b))
            t_blas = best_time(lambda: a @ b)
            print(f"{np.dtype(dtype).name:8} {m:4} {k:4} {n:4} {m * k * n:9} {t_loop * 1e6:8.1f} "
                  f"{t_blas * 1e6:8.1f} {t_loop / t_blas:9.2f}")


def sequence_table() -> None:
    print("\nwhole layer forward+backward, T=25: compiled time loop vs Python loop over BLAS, ms")
    print(f"{'cell':5} {'dtype':8} {'B':>4} {'H':>4} {'MACs/step':>9} {'compiled':>9} "
          f"{'blas':>8} {'ratio':>6}")
    rng = np.random.default_rng(0)
    saved = kernels.sequence.SMALL_BELOW
    for cell, gates in (("rnn", 1), ("lstm", 4)):
        for dtype in (np.float32, np.float64):
            for b, h in [(1, 100), (8, 64), (32, 64), (16, 128), (32, 128), (64, 128), (32, 256)]:
                x = tg.Tensor(rng.standard_normal((25, b, h)).astype(dtype), requires_grad=True)
                h0 = tg.Tensor(np.zeros((b, h), dtype))
                W = tg.Tensor(rng.standard_normal((gates * h, 2 * h)).astype(dtype) * 0.1,
                              requires_grad=True)
                bias = tg.Tensor(np.zeros(gates * h, dtype), requires_grad=True)

                def step() -> None:
                    if cell == "rnn":
                        out = fused.rnn_layer(x, h0, W, bias)
                    else:
                        out = fused.lstm_layer(x, h0, h0, W, bias)[0]
                    out.backward(np.ones(out.shape, dtype))

                times = []
                for crossover in (10**12, 0):
                    kernels.sequence.SMALL_BELOW = crossover
                    times.append(best_time(step, repeat=5))
                kernels.sequence.SMALL_BELOW = saved
                print(f"{cell:5} {np.dtype(dtype).name:8} {b:4} {h:4} {b * gates * h * h:9} "
                      f"{times[0] * 1e3:9.3f} {times[1] * 1e3:8.3f} {times[0] / times[1]:6.2f}")


if __name__ == "__main__":
    with threadpool_limits(1):
        matmul_table()
        sequence_table()
