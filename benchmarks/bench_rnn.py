"""Training-step time of one-hot character language models: tinygrad_rnn against plain NumPy and
PyTorch, plus cold-start times.

One training step = forward over T steps, mean cross-entropy of an output Linear(H, 65) at every
step, backward (BPTT), one Adam step. Inputs are one-hot (T, B, 65) float32 arrays, targets random.
Compared, timed interleaved in one process (round-robin, one step each per round), medians:

    fused    nn.RNN / nn.LSTM with the fused whole-sequence node (the default), nn.Linear and
             F.cross_entropy
    per-op   the same model with fused=False, head(...) and F.cross_entropy: the unrolled
             graph of small ops
    numpy    plain NumPy written here: batched, a loop only over the recurrence, hand-written BPTT
    torch    PyTorch nn.RNN / nn.LSTM + nn.Linear + Adam, when torch can be imported
    bound    the step's matrix products alone (NumPy BLAS, same shapes): "BLAS bound"

Each thread setting runs in its own subprocess with OPENBLAS/OMP/MKL_NUM_THREADS set (and
torch.set_num_threads), so BLAS and PyTorch really use that many threads, and with
OMP_WAIT_POLICY=PASSIVE so that idle OpenMP threads do not spin while the others are timed.

    .venv/bin/python benchmarks/bench_rnn.py                 # all configs, 1 thread and default
    PYTHONPATH=. /work/torchenv/bin/python benchmarks/bench_rnn.py   # with PyTorch
    .venv/bin/python benchmarks/bench_rnn.py --quick         # tiny smoke run (a few seconds)
    .venv/bin/python benchmarks/bench_rnn.py --coldstart     # import and examples/hello.py times
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VOCAB = 65
CONFIGS = [(1, 25, 100), (32, 25, 128), (32, 100, 256), (64, 50, 512)]
QUICK_CONFIGS = [(2, 5, 8)]
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


# ----- the task --------------------------------------------------------------------------------
def make_batch(batch: int, steps: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One-hot inputs (T, B, V) float32 and integer targets (T, B)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, VOCAB, size=(steps, batch))
    x = np.eye(VOCAB, dtype=np.float32)[idx]
    y = rng.integers(0, VOCAB, size=(steps, batch))
    return x, y


def init_params(cell: str, hidden: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Weights in the [x; h] form: W (G*H, V+H), b (G*H,), output W_hy (V, H), b_y (V,)."""
    rng = np.random.default_rng(seed)
    gates = 4 if cell == "lstm" else 1
    bound = 1 / np.sqrt(hidden)

    def u(*shape: int) -> np.ndarray:
        return rng.uniform(-bound, bound, size=shape).astype(np.float32)

    return {"W": u(gates * hidden, VOCAB + hidden), "b": u(gates * hidden),
            "W_hy": u(VOCAB, hidden), "b_y": u(VOCAB)}


# ----- tinygrad_rnn ----------------------------------------------------------------------------
def tinygrad_step(cell: str, params: dict, x: np.ndarray, y: np.ndarray,
                  fused: bool) -> Callable[[], float]:
    """A training step closure for tinygrad_rnn's nn.RNN / nn.LSTM (fused or per-op)."""
    import tinygrad_rnn as tg
    import tinygrad_rnn.functional as F
    from tinygrad_rnn import nn, optim

    hidden = params["W_hy"].shape[1]
    rnn = (nn.LSTM if cell == "lstm" else nn.RNN)(VOCAB, hidden, fused=fused)
    head = nn.Linear(hidden, VOCAB)
    rnn.cells[0].linear.weight.data[...] = params["W"]
    rnn.cells[0].linear.bias.data[...] = params["b"]
    head.weight.data[...], head.bias.data[...] = params["W_hy"], params["b_y"]
    opt = optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-3)
    xt, targets = tg.Tensor(x), y.reshape(-1)
    steps, batch = y.shape

    def step() -> float:
        opt.zero_grad()
        out, _ = rnn(xt)
        loss = F.cross_entropy(head(out.reshape(steps * batch, hidden)), targets)
        loss.backward()
        opt.step()
        return loss.item()

    return step


# ----- plain NumPy -----------------------------------------------------------------------------
def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


class NumpyModel:
    """A plain NumPy RNN / LSTM char-LM: batched, loops only over time, hand-written BPTT, Adam."""

    def __init__(self, cell: str, params: dict) -> None:
        self.cell = cell
        hidden = params["W_hy"].shape[1]
        W = params["W"]
        self.p = {"W_xh": W[:, :VOCAB].copy(), "W_hh": W[:, VOCAB:].copy(),
                  "b": params["b"].copy(), "W_hy": params["W_hy"].copy(),
                  "b_y": params["b_y"].copy()}
        self.m = {k: np.zeros_like(v) for k, v in self.p.items()}
        self.v = {k: np.zeros_like(v) for k, v in self.p.items()}
        self.t = 0
        self.hidden = hidden

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        loss, grads = (self._lstm if self.cell == "lstm" else self._rnn)(x, y)
        self._adam(grads)
        return loss

    def _head(self, hs: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, dict]:
        """Output layer and mean cross-entropy; returns loss, dL/dhs, head grads."""
        p = self.p
        steps, batch, hidden = hs.shape
        h2 = hs.reshape(-1, hidden)
        logits = h2 @ p["W_hy"].T + p["b_y"]
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        prob = e / e.sum(axis=1, keepdims=True)
        n = h2.shape[0]
        rows, cols = np.arange(n), y.reshape(-1)
        loss = -np.log(prob[rows, cols]).mean()
        dlogits = prob
        dlogits[rows, cols] -= 1
        dlogits /= n
        grads = {"W_hy": dlogits.T @ h2, "b_y": dlogits.sum(axis=0)}
        return float(loss), (dlogits @ p["W_hy"]).reshape(hs.shape), grads

    def _rnn(self, x: np.ndarray, y: np.ndarray) -> tuple[float, dict]:
        p = self.p
        steps, batch, _ = x.shape
        x2 = x.reshape(steps * batch, VOCAB)
        pre = (x2 @ p["W_xh"].T + p["b"]).reshape(steps, batch, -1)
        hs = np.empty_like(pre)
        h = np.zeros((batch, self.hidden), np.float32)
        W_hh_T = p["W_hh"].T
        for t in range(steps):
            h = np.tanh(pre[t] + h @ W_hh_T)
            hs[t] = h
        loss, dhs, grads = self._head(hs, y)
        dz = np.empty_like(hs)
        dh_next = np.zeros_like(h)
        for t in range(steps - 1, -1, -1):
            dz[t] = (dhs[t] + dh_next) * (1 - hs[t] * hs[t])  # backprop through tanh
            dh_next = dz[t] @ p["W_hh"]
        dz2 = dz.reshape(steps * batch, -1)
        h_prev = np.concatenate([np.zeros((1, batch, self.hidden), np.float32), hs[:-1]])
        grads.update(W_xh=dz2.T @ x2, W_hh=dz2.T @ h_prev.reshape(steps * batch, -1),
                     b=dz2.sum(axis=0))
        return loss, grads

    def _lstm(self, x: np.ndarray, y: np.ndarray) -> tuple[float, dict]:
        p = self.p
        H = self.hidden
        steps, batch, _ = x.shape
        x2 = x.reshape(steps * batch, VOCAB)
        pre = (x2 @ p["W_xh"].T + p["b"]).reshape(steps, batch, 4 * H)
        gates = np.empty_like(pre)
        hs = np.empty((steps, batch, H), np.float32)
        cs, tcs = np.empty_like(hs), np.empty_like(hs)
        h = np.zeros((batch, H), np.float32)
        c = np.zeros_like(h)
        W_hh_T = p["W_hh"].T
        for t in range(steps):
            z = pre[t] + h @ W_hh_T
            g = gates[t]
            g[:, :2 * H] = sigmoid(z[:, :2 * H])
            g[:, 2 * H:3 * H] = np.tanh(z[:, 2 * H:3 * H])
            g[:, 3 * H:] = sigmoid(z[:, 3 * H:])
            c = g[:, H:2 * H] * c + g[:, :H] * g[:, 2 * H:3 * H]
            tcs[t] = np.tanh(c)
            h = g[:, 3 * H:] * tcs[t]
            hs[t], cs[t] = h, c
        loss, dhs, grads = self._head(hs, y)
        dz = np.empty_like(gates)
        dh_next = np.zeros_like(h)
        dc_next = np.zeros_like(h)
        zeros = np.zeros_like(h)
        for t in range(steps - 1, -1, -1):
            g = gates[t]
            i, f, gg, o = g[:, :H], g[:, H:2 * H], g[:, 2 * H:3 * H], g[:, 3 * H:]
            dh = dhs[t] + dh_next
            dc = dc_next + dh * o * (1 - tcs[t] * tcs[t])
            c_prev = cs[t - 1] if t else zeros
            d = dz[t]
            d[:, :H] = dc * gg * i * (1 - i)
            d[:, H:2 * H] = dc * c_prev * f * (1 - f)
            d[:, 2 * H:3 * H] = dc * i * (1 - gg * gg)
            d[:, 3 * H:] = dh * tcs[t] * o * (1 - o)
            dc_next = dc * f
            dh_next = d @ p["W_hh"]
        dz2 = dz.reshape(steps * batch, -1)
        h_prev = np.concatenate([np.zeros((1, batch, H), np.float32), hs[:-1]])
        grads.update(W_xh=dz2.T @ x2, W_hh=dz2.T @ h_prev.reshape(steps * batch, -1),
                     b=dz2.sum(axis=0))
        return loss, grads

    def _adam(self, grads: dict, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
              eps: float = 1e-8) -> None:
        self.t += 1
        c1, c2 = 1 - beta1 ** self.t, np.sqrt(1 - beta2 ** self.t)
        for k, g in grads.items():
            m, v = self.m[k], self.v[k]
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * (g * g)
            self.p[k] -= (lr / c1) * m / (np.sqrt(v) / c2 + eps)


def numpy_step(cell: str, params: dict, x: np.ndarray, y: np.ndarray) -> Callable[[], float]:
    model = NumpyModel(cell, params)
    return lambda: model.step(x, y)


# ----- PyTorch ---------------------------------------------------------------------------------
def torch_step(cell: str, params: dict, x: np.ndarray, y: np.ndarray) -> Callable[[], float]:
    import torch

    hidden = params["W_hy"].shape[1]
    rnn = (torch.nn.LSTM if cell == "lstm" else torch.nn.RNN)(VOCAB, hidden)
    head = torch.nn.Linear(hidden, VOCAB)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(params["W"][:, :VOCAB]))
        rnn.weight_hh_l0.copy_(torch.from_numpy(params["W"][:, VOCAB:]))
        rnn.bias_ih_l0.copy_(torch.from_numpy(params["b"]))
        rnn.bias_hh_l0.zero_()
        head.weight.copy_(torch.from_numpy(params["W_hy"]))
        head.bias.copy_(torch.from_numpy(params["b_y"]))
    opt = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.reshape(-1))
    steps, batch = y.shape

    def step() -> float:
        opt.zero_grad()
        out, _ = rnn(xt)
        loss = torch.nn.functional.cross_entropy(head(out.reshape(steps * batch, hidden)), yt)
        loss.backward()
        opt.step()
        return loss.item()

    return step


# ----- the BLAS bound --------------------------------------------------------------------------
def blas_bound_step(cell: str, batch: int, steps: int, hidden: int) -> Callable[[], None]:
    """Only the matrix products a step needs, on preallocated float32 arrays (NumPy BLAS)."""
    rng = np.random.default_rng(0)
    gh = (4 if cell == "lstm" else 1) * hidden
    n = steps * batch

    def r(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32)

    x2, W_x_T, W_hh_T, W_hh = r(n, VOCAB), r(VOCAB, gh), r(hidden, gh), r(gh, hidden)
    h, dz = r(batch, hidden), r(batch, gh)
    z_out, dh_out = np.empty((batch, gh), np.float32), np.empty((batch, hidden), np.float32)
    H2, W_hy_T, W_hy, dlog = r(n, hidden), r(hidden, VOCAB), r(VOCAB, hidden), r(n, VOCAB)
    DZ2 = r(n, gh)

    def step() -> None:
        _ = x2 @ W_x_T  # input projection, all steps
        for _ in range(steps):
            np.matmul(h, W_hh_T, out=z_out)  # h_{t-1} W_hh^T
        _ = H2 @ W_hy_T  # output layer
        _ = dlog @ W_hy  # dL/dh from the output layer
        _ = dlog.T @ H2  # dW_hy
        for _ in range(steps):
            np.matmul(dz, W_hh, out=dh_out)  # BPTT: dz W_hh
        _ = DZ2.T @ x2  # dW_xh
        _ = DZ2.T @ H2  # dW_hh

    return step


# ----- timing ----------------------------------------------------------------------------------
def interleaved(fns: dict[str, Callable], rounds: int, budget: float,
                batch_seconds: float = 0.01) -> dict[str, float]:
    """Median seconds per call of each fn, calling them round-robin: each round runs every fn
    in turn, `reps` calls in a row, and records the mean of those calls. `reps` is set in the
    warm-up so a batch of calls lasts about `batch_seconds` (1 for slow fns), so that a 0.5 ms
    step is timed warm, as in training, and not right after another implementation has
    flushed the caches. Stops early after `budget` seconds (at least 3 rounds)."""
    reps = {}
    for name, fn in fns.items():
        fn()  # warm-up (compiles, allocates optimizer state)
        t0 = time.perf_counter()
        fn()
        reps[name] = max(1, min(100, int(batch_seconds / max(time.perf_counter() - t0, 1e-9))))
    times: dict[str, list[float]] = {name: [] for name in fns}
    start = time.perf_counter()
    for k in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(reps[name]):
                fn()
            times[name].append((time.perf_counter() - t0) / reps[name])
        if k >= 2 and time.perf_counter() - start > budget:
            break
    return {name: statistics.median(ts) for name, ts in times.items()}


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def blas_kernel() -> str:
    """Which BLAS and core kernel NumPy runs (threadpoolctl), or 'unknown'."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        try:
            blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
            return f"{blas.get('name')} {blas.get('version')} (threadpoolctl not installed)"
        except (KeyError, TypeError, ValueError):
            return "unknown (threadpoolctl not installed)"
    info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
                     f"threads={i.get('num_threads')}" for i in info) or "unknown"


def run_table(configs: list[tuple[int, int, int]], rounds: int, budget: float,
              threads: str, cells: list[str]) -> None:
    """Print one markdown table for this process's thread setting."""
    use_torch = torch_available()
    if use_torch:
        import torch

        if threads != "default":
            torch.set_num_threads(int(threads))
        torch_threads = torch.get_num_threads()
    print(f"\nthreads: {threads}  (BLAS: {blas_kernel()}"
          + (f"; torch threads={torch_threads}" if use_torch else "; torch not importable") + ")")
    head = "| cell | (B, T, H) | fused ms | per-op ms | numpy ms |"
    head += " torch ms |" if use_torch else ""
    head += " BLAS bound ms | fused/numpy | per-op/fused |"
    head += " fused/torch |" if use_torch else ""
    head += " bound/fused |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for cell in cells:
        for batch, steps, hidden in configs:
            params = init_params(cell, hidden)
            x, y = make_batch(batch, steps)
            fns = {"fused": tinygrad_step(cell, params, x, y, fused=True),
                   "per-op": tinygrad_step(cell, params, x, y, fused=False),
                   "numpy": numpy_step(cell, params, x, y)}
            if use_torch:
                fns["torch"] = torch_step(cell, params, x, y)
            fns["bound"] = blas_bound_step(cell, batch, steps, hidden)
            t = interleaved(fns, rounds, budget)
            row = (f"| {cell} | ({batch}, {steps}, {hidden}) | {t['fused'] * 1e3:.2f} | "
                   f"{t['per-op'] * 1e3:.2f} | {t['numpy'] * 1e3:.2f} |")
            if use_torch:
                row += f" {t['torch'] * 1e3:.2f} |"
            row += (f" {t['bound'] * 1e3:.2f} | {t['fused'] / t['numpy']:.2f} | "
                    f"{t['per-op'] / t['fused']:.2f} |")
            if use_torch:
                row += f" {t['fused'] / t['torch']:.2f} |"
            row += f" {t['bound'] / t['fused']:.0%} |"
            print(row, flush=True)


# ----- cold start ------------------------------------------------------------------------------
def _wall(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return elapsed


def coldstart(repeats: int = 5) -> None:
    """Import time, a whole examples/hello.py process with an empty and a warm Numba cache, a
    fused nn.RNN training step in a fresh process, and the hello task in-process (warm)."""
    python = sys.executable
    cache = tempfile.mkdtemp(prefix="tinygrad_rnn_numba_cache_")
    env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONPATH": str(ROOT)}
    fused_script = ("import numpy as np, tinygrad_rnn as tg; from tinygrad_rnn import nn; "
                    "m = nn.RNN(65, 100); out, _ = m(tg.Tensor(np.zeros((25, 1, 65), "
                    "np.float32))); out.sum().backward()")
    try:
        rows = []
        import_times = [_wall([python, "-c", "import tinygrad_rnn"], env) for _ in range(repeats)]
        rows.append(("python -c 'import tinygrad_rnn'", statistics.median(import_times)))
        for label, script in (("examples/hello.py (15 epochs)", ["examples/hello.py"]),
                              ("fused nn.RNN(65, 100) step", ["-c", fused_script])):
            shutil.rmtree(cache, ignore_errors=True)
            os.makedirs(cache)
            empty = _wall([python, *script], env)
            warm = statistics.median(_wall([python, *script], env) for _ in range(repeats))
            rows.append((f"{label}, empty Numba cache", empty))
            rows.append((f"{label}, warm Numba cache", warm))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    sys.path.insert(0, str(ROOT / "examples"))
    import hello  # the example's own train()

    for fused, path in ((True, "fused, the default"), (False, "per-op, --per-op")):
        hello.train(epochs=15, fused=fused)  # warm
        runs = []
        for _ in range(repeats * 4):
            t0 = time.perf_counter()
            hello.train(epochs=15, fused=fused)
            runs.append(time.perf_counter() - t0)
        rows.append((f"hello task, 15 epochs, in-process (warm), {path}",
                     statistics.median(runs)))
    print("\n| cold start | seconds |\n|---|---|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.3f} |")


# ----- main ------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Run the tables (one subprocess per thread setting) and optionally the cold-start table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="one tiny config, few rounds")
    p.add_argument("--threads", choices=["1", "default", "both"], default="both")
    p.add_argument("--rounds", type=int, default=15, help="rounds of interleaved timing")
    p.add_argument("--budget", type=float, default=20.0,
                   help="seconds per configuration before stopping early (>= 3 rounds)")
    p.add_argument("--coldstart", action="store_true", help="only the cold-start table")
    p.add_argument("--config", action="append", metavar="B,T,H",
                   help="run only this (B, T, H) configuration (may be repeated)")
    p.add_argument("--cell", choices=["rnn", "lstm"], action="append",
                   help="run only this cell (may be repeated)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.coldstart:
        coldstart()
        return 0
    configs = QUICK_CONFIGS if args.quick else CONFIGS
    if args.config:
        configs = [tuple(int(v) for v in c.split(",")) for c in args.config]
    cells = args.cell or ["rnn", "lstm"]
    rounds = 3 if args.quick else args.rounds
    if args.child or args.quick:
        threads = "1" if args.quick else args.threads
        run_table(configs, rounds, args.budget, threads, cells)
        return 0
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, machine: "
          f"{os.cpu_count()} CPUs; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}, "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE')}")
    settings = ["1", "default"] if args.threads == "both" else [args.threads]
    for threads in settings:
        env = dict(os.environ)
        for var in THREAD_VARS:
            if threads == "default":
                env.pop(var, None)
            else:
                env[var] = threads
        # idle OpenMP threads (PyTorch's) must not spin on the cores while the others are timed
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        cmd = [sys.executable, __file__, "--child", "--threads", threads,
               "--rounds", str(args.rounds), "--budget", str(args.budget)]
        cmd += [f"--config={c}" for c in args.config or []]
        cmd += [f"--cell={c}" for c in cells]
        subprocess.run(cmd, env=env, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
