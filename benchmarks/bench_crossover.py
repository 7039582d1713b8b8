"""Measure where the loop kernels stop beating BLAS: `kernels.matmul` against `a @ b`, and a whole
RNN / LSTM layer (forward + backward) with the hidden-to-hidden products inside the compiled time
loop against a Python loop over BLAS products, by size and then by number of steps (the compiled
loop first copies W_h). One BLAS thread. The constants `kernels.matmul.CROSSOVER`,
`kernels.sequence.SMALL_BELOW` and `kernels.sequence.WEIGHT_PER_STEP` record the result.

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


GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def layer_times(cell: str, dtype: type, steps: int, b: int, h: int,
                rng: np.random.Generator) -> tuple[float, float]:
    """Seconds for forward + backward of one fused layer (input size H): compiled time loop
    ("small", forced), then Python loop over BLAS ("big", forced)."""
    gates = GATES[cell]
    x = tg.Tensor(rng.standard_normal((steps, b, h)).astype(dtype), requires_grad=True)
    h0 = tg.Tensor(np.zeros((b, h), dtype))
    W = tg.Tensor(rng.standard_normal((gates * h, 2 * h)).astype(dtype) * 0.1, requires_grad=True)
    bias = tg.Tensor(np.zeros(gates * h, dtype), requires_grad=True)
    b_hn = tg.Tensor(np.zeros(h, dtype), requires_grad=True)

    def step() -> None:
        if cell == "rnn":
            out = fused.rnn_layer(x, h0, W, bias)
        elif cell == "lstm":
            out = fused.lstm_layer(x, h0, h0, W, bias)[0]
        else:
            out = fused.gru_layer(x, h0, W, bias, b_hn)
        out.backward(np.ones(out.shape, dtype))

    seq = kernels.sequence
    saved = seq.SMALL_BELOW, seq.WEIGHT_PER_STEP
    times = []
    for small_below in (10**12, 0):
        seq.SMALL_BELOW, seq.WEIGHT_PER_STEP = small_below, 10**12
        times.append(best_time(step, repeat=5))
    seq.SMALL_BELOW, seq.WEIGHT_PER_STEP = saved
    return times[0], times[1]


def sequence_table() -> None:
    print("\nwhole layer forward+backward, T=25: compiled time loop vs Python loop over BLAS, ms")
    print(f"{'cell':5} {'dtype':8} {'B':>4} {'H':>4} {'MACs/step':>9} {'compiled':>9} "
          f"{'blas':>8} {'ratio':>6}")
    rng = np.random.default_rng(0)
    for cell in ("rnn", "lstm"):
        for dtype in (np.float32, np.float64):
            for b, h in [(1, 100), (8, 64), (32, 64), (16, 128), (32, 128), (64, 128), (32, 256)]:
                small, big = layer_times(cell, dtype, 25, b, h, rng)
                print(f"{cell:5} {np.dtype(dtype).name:8} {b:4} {h:4} {b * GATES[cell] * h * h:9} "
                      f"{small * 1e3:9.3f} {big * 1e3:8.3f} {small / big:6.2f}")


def steps_table() -> None:
    print("\nthe same by number of steps T, B=1, float32 (a seq2seq decoder calls T=1), ms")
    print(f"{'cell':5} {'H':>4} {'G*H*H':>7} {'T':>3} {'G*H*H/T':>8} {'compiled':>9} {'blas':>8} "
          f"{'ratio':>6}")
    rng = np.random.default_rng(0)
    for cell in ("rnn", "lstm", "gru"):
        for h in (64, 128, 256):
            for steps in (1, 3, 10, 25):
                small, big = layer_times(cell, np.float32, steps, 1, h, rng)
                weight = GATES[cell] * h * h
                print(f"{cell:5} {h:4} {weight:7} {steps:3} {weight // steps:8} "
                      f"{small * 1e3:9.3f} {big * 1e3:8.3f} {small / big:6.2f}")


if __name__ == "__main__":
    with threadpool_limits(1):
        matmul_table()
        sequence_table()
        steps_table()
