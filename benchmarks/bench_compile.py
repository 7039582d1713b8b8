"""What a first run compiles, and how long each kernel takes: the compile study of issue 14.

Each workload runs in a fresh process with an empty Numba cache (NUMBA_CACHE_DIR in a temporary
folder), then again with that cache warm. numba's compile events give the time and the argument
types of every compile. Workloads (float32 unless named):

    fused-rnn     nn.RNN(65, 100) + nn.Linear + F.cross_entropy + optim.Adam, one step, T = 25,
                  batch 1 (the "tiny" path: the whole layer in one compiled call)
    fused-lstm    the same with nn.LSTM(65, 100) (compiled time loop: the "small" path)
    fused-gru     the same with nn.GRU(65, 100)
    lstm-batch-32 nn.LSTM(65, 128), batch 32 (the Python loop around BLAS, compiled gate kernels)
    big-lstm      nn.LSTM(65, 512), batch 64 (the same path, bigger)
    lstm-float64  lstm-batch-32 in float64 (a second specialisation of every kernel it calls)

    python benchmarks/bench_compile.py                  # all workloads
    python benchmarks/bench_compile.py --error-model python   # kernels with numba's default
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORKLOADS = {  # name: (cell, batch, hidden, dtype)
    "fused-rnn": ("RNN", 1, 100, "float32"),
    "fused-lstm": ("LSTM", 1, 100, "float32"),
    "fused-gru": ("GRU", 1, 100, "float32"),
    "lstm-batch-32": ("LSTM", 32, 128, "float32"),
    "big-lstm": ("LSTM", 64, 512, "float32"),
    "lstm-float64": ("LSTM", 32, 128, "float64"),
}


def child(name: str, error_model: str) -> None:
    """Run one training step of the workload; print JSON: seconds of the whole step (imports
    excluded) and, per compile, the kernel, its argument types and seconds."""
    import numpy as np
    from numba.core import event

    import tinygrad_rnn as tg
    import tinygrad_rnn.functional as F
    from tinygrad_rnn import nn, optim
    from tinygrad_rnn.kernels import core

    core.OPTIONS["error_model"] = error_model
    cell, batch, hidden, dtype = WORKLOADS[name]
    steps, vocab = 25, 65
    rng = np.random.default_rng(0)
    x = tg.Tensor(np.eye(vocab, dtype=dtype)[rng.integers(0, vocab, (steps, batch))])
    y = rng.integers(0, vocab, steps * batch)
    rnn = getattr(nn, cell)(vocab, hidden, dtype=np.dtype(dtype))
    head = nn.Linear(hidden, vocab, dtype=np.dtype(dtype))
    opt = optim.Adam([*rnn.parameters(), *head.parameters()])
    compiles = []
    t0 = time.perf_counter()
    with event.install_recorder("numba:compile") as recorder:
        out, _ = rnn(x)
        loss = F.cross_entropy(head(out.reshape(-1, hidden)), y)
        loss.backward()
        opt.step()
    total = time.perf_counter() - t0
    starts = {}
    for stamp, ev in recorder.buffer:
        key = id(ev.data["dispatcher"]), str(ev.data["args"])
        if ev.is_start:
            starts[key] = stamp
        else:
            compiles.append({"kernel": ev.data["dispatcher"].py_func.__name__,
                             "args": str(ev.data["args"]), "seconds": stamp - starts.pop(key)})
    print(json.dumps({"total": total, "compiles": compiles}))


def run(name: str, cache: str, error_model: str) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONPATH": str(ROOT),
           "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, __file__, "--child", name, "--error-model",
                           error_model], env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--child", choices=list(WORKLOADS), help=argparse.SUPPRESS)
    p.add_argument("--error-model", choices=["numpy", "python"], default="numpy")
    p.add_argument("--workload", choices=list(WORKLOADS), action="append")
    args = p.parse_args()
    if args.child:
        child(args.child, args.error_model)
        return
    print(f"error_model={args.error_model}\n\n| workload | empty cache s | warm cache s | kernels "
          "compiled (specialisations) | slowest compiles |\n|---|---|---|---|---|")
    for name in args.workload or WORKLOADS:
        cache = tempfile.mkdtemp(prefix="tinygrad_rnn_compile_")
        try:
            cold, warm = run(name, cache, args.error_model), run(name, cache, args.error_model)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        kernels = {c["kernel"] for c in cold["compiles"]}
        slowest = sorted(cold["compiles"], key=lambda c: -c["seconds"])[:3]
        print(f"| {name} | {cold['total']:.1f} | {warm['total']:.2f} | {len(kernels)} "
              f"({len(cold['compiles'])}) | "
              + ", ".join(f"{c['kernel']} {c['seconds']:.1f}" for c in slowest) + " |",
              flush=True)


if __name__ == "__main__":
    main()
