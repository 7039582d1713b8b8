"""Training-step time of one-hot character language models: tinygrad_rnn's public path against
plain NumPy, PyTorch and JAX, plus cold-start times.

One training step = forward over T steps, mean cross-entropy of an output Linear(H, 65) at every
step, backward (BPTT), one Adam step (lr 1e-3). Inputs are one-hot (T, B, 65) float32 arrays,
targets random; every implementation starts from the same weights. Timed interleaved in one
process: every round runs each implementation in turn, in a fresh random order, one untimed call
and then a few timed ones. A table shows each median with the spread of the rounds, and each
ratio is the median over rounds of the two times of the same round:

    tinygrad  THE HEADLINE: the model exactly as a user writes it, default options:
              nn.RNN / nn.LSTM / nn.GRU + nn.Linear + F.cross_entropy + optim.Adam
    per-op    (extra, with --per-op) the same model with fused=False: the unrolled graph
    numpy     plain NumPy written here: batched, a loop only over the recurrence, hand-written
              BPTT and Adam
    torch     PyTorch nn.RNN / nn.LSTM / nn.GRU + nn.Linear + torch.optim.Adam
    jax       JAX: jax.jit over the whole step, lax.scan over time, the same Adam
              (torch, jax and threadpoolctl come with the bench extra: pip install -e ".[bench]")
    bound     the step's matrix products alone (NumPy BLAS, same shapes): the "BLAS bound"

Targets (issue 14) are printed beside each ratio as "met" or "MISSED": tinygrad / torch <= 0.8,
tinygrad / jax <= 1.0 (1 thread), tinygrad / numpy <= 0.7, bound / tinygrad >= 90% at
(64, 50, 512). Each thread setting runs in its own subprocess with OPENBLAS/OMP/MKL_NUM_THREADS
set (and torch.set_num_threads, XLA's intra-op threads), with OMP_WAIT_POLICY=PASSIVE so that
idle OpenMP threads do not spin while the others are timed.

    python benchmarks/bench_rnn.py                 # all configs and cells, 1 thread and default
    python benchmarks/bench_rnn.py --quick         # tiny smoke run
    python benchmarks/bench_rnn.py --coldstart     # import and examples/hello.py times
    python benchmarks/bench_rnn.py --memory        # peak RSS of the (64, 50, 512) LSTM step
"""

from __future__ import annotations

import argparse
import os
import random
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
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def make_batch(batch: int, steps: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One-hot inputs (T, B, V) float32 and integer targets (T, B)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, VOCAB, size=(steps, batch))
    x = np.eye(VOCAB, dtype=np.float32)[idx]
    y = rng.integers(0, VOCAB, size=(steps, batch))
    return x, y


def init_params(cell: str, hidden: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Weights as PyTorch lays them out: W_ih (G*H, V), W_hh (G*H, H), b_ih, b_hh (G*H,),
    output W_hy (V, H), b_y (V,); U(-1/sqrt(H), 1/sqrt(H)) as every framework initialises."""
    rng = np.random.default_rng(seed)
    gh = GATES[cell] * hidden
    bound = 1 / np.sqrt(hidden)

    def u(*shape: int) -> np.ndarray:
        return rng.uniform(-bound, bound, size=shape).astype(np.float32)

    return {"W_ih": u(gh, VOCAB), "W_hh": u(gh, hidden), "b_ih": u(gh), "b_hh": u(gh),
            "W_hy": u(VOCAB, hidden), "b_y": u(VOCAB)}


# ----- tinygrad_rnn ----------------------------------------------------------------------------
def tinygrad_step(cell: str, params: dict, x: np.ndarray, y: np.ndarray,
                  fused: bool = True) -> Callable[[], float]:
    """The model exactly as a user writes it: nn.RNN/LSTM/GRU + nn.Linear + F.cross_entropy +
    optim.Adam, default options (fused=False only for the labelled per-op row); the weights
    are loaded from PyTorch's layout as nn.load_torch_weights would (b_ih + b_hh folded)."""
    import tinygrad_rnn as tg
    import tinygrad_rnn.functional as F
    from tinygrad_rnn import nn, optim

    hidden = params["W_hy"].shape[1]
    rnn = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell](VOCAB, hidden, fused=fused)
    head = nn.Linear(hidden, VOCAB)
    lin = rnn.cells[0].linear
    lin.weight.data[...] = np.concatenate([params["W_ih"], params["W_hh"]], axis=1)
    if cell == "gru":  # PyTorch's b_hn stays inside the reset product
        lin.bias.data[...] = params["b_ih"] + np.concatenate(
            [params["b_hh"][:2 * hidden], np.zeros(hidden, np.float32)])
        rnn.cells[0].b_hn.data[...] = params["b_hh"][2 * hidden:]
    else:
        lin.bias.data[...] = params["b_ih"] + params["b_hh"]
    head.weight.data[...], head.bias.data[...] = params["W_hy"], params["b_y"]
    opt = optim.Adam([*rnn.parameters(), *head.parameters()])
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
    """A plain NumPy RNN / LSTM / GRU char-LM, written as one would by hand: batched, loops only
    over time, hand-written BPTT, Adam."""

    def __init__(self, cell: str, params: dict) -> None:
        self.cell = cell
        self.p = {k: v.copy() for k, v in params.items()}
        if cell != "gru":  # one bias suffices
            self.p["b_ih"] += self.p.pop("b_hh")
        self.m = {k: np.zeros_like(v) for k, v in self.p.items()}
        self.v = {k: np.zeros_like(v) for k, v in self.p.items()}
        self.t = 0
        self.hidden = params["W_hy"].shape[1]

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        loss, grads = getattr(self, "_" + self.cell)(x, y)
        self._adam(grads)
        return loss

    def _head(self, hs: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, dict]:
        """Output layer and mean cross-entropy; returns loss, dL/dhs, head grads."""
        p = self.p
        h2 = hs.reshape(-1, hs.shape[2])
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

    def _weights(self, grads: dict, dz: np.ndarray, x2: np.ndarray, hs: np.ndarray,
                 dzh: np.ndarray | None = None) -> None:
        """dW_ih, dW_hh, biases from the pre-activation gradients of all steps at once."""
        steps, batch, _ = dz.shape
        dz2 = dz.reshape(steps * batch, -1)
        dzh2 = dz2 if dzh is None else dzh.reshape(steps * batch, -1)
        h_prev = np.concatenate([np.zeros_like(hs[:1]), hs[:-1]]).reshape(steps * batch, -1)
        grads.update(W_ih=dz2.T @ x2, W_hh=dzh2.T @ h_prev, b_ih=dz2.sum(axis=0))
        if dzh is not None:
            grads["b_hh"] = dzh2.sum(axis=0)

    def _rnn(self, x: np.ndarray, y: np.ndarray) -> tuple[float, dict]:
        p = self.p
        steps, batch, _ = x.shape
        x2 = x.reshape(steps * batch, VOCAB)
        pre = (x2 @ p["W_ih"].T + p["b_ih"]).reshape(steps, batch, -1)
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
        self._weights(grads, dz, x2, hs)
        return loss, grads

    def _lstm(self, x: np.ndarray, y: np.ndarray) -> tuple[float, dict]:
        p = self.p
        H = self.hidden
        steps, batch, _ = x.shape
        x2 = x.reshape(steps * batch, VOCAB)
        pre = (x2 @ p["W_ih"].T + p["b_ih"]).reshape(steps, batch, 4 * H)
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
        self._weights(grads, dz, x2, hs)
        return loss, grads

    def _gru(self, x: np.ndarray, y: np.ndarray) -> tuple[float, dict]:
        """PyTorch's GRU: n = tanh(x W_in + b_in + r * (h W_hn + b_hn))."""
        p = self.p
        H = self.hidden
        steps, batch, _ = x.shape
        x2 = x.reshape(steps * batch, VOCAB)
        pre = (x2 @ p["W_ih"].T + p["b_ih"]).reshape(steps, batch, 3 * H)
        gates = np.empty_like(pre)
        hs, ms = np.empty((steps, batch, H), np.float32), np.empty((steps, batch, H), np.float32)
        h = np.zeros((batch, H), np.float32)
        W_hh_T = p["W_hh"].T
        for t in range(steps):
            q = h @ W_hh_T + p["b_hh"]
            g = gates[t]
            g[:, :2 * H] = sigmoid(pre[t, :, :2 * H] + q[:, :2 * H])
            ms[t] = q[:, 2 * H:]
            g[:, 2 * H:] = np.tanh(pre[t, :, 2 * H:] + g[:, :H] * ms[t])
            r, z, n = g[:, :H], g[:, H:2 * H], g[:, 2 * H:]
            h = n + z * (h - n)
            hs[t] = h
        loss, dhs, grads = self._head(hs, y)
        dx_side, dh_side = np.empty_like(gates), np.empty_like(gates)
        dh_next = np.zeros_like(h)
        zeros = np.zeros_like(h)
        for t in range(steps - 1, -1, -1):
            r, z, n = gates[t, :, :H], gates[t, :, H:2 * H], gates[t, :, 2 * H:]
            h_prev = hs[t - 1] if t else zeros
            dh = dhs[t] + dh_next
            da_n = dh * (1 - z) * (1 - n * n)
            dx, dq = dx_side[t], dh_side[t]
            dx[:, H:2 * H] = dh * (h_prev - n) * z * (1 - z)
            dx[:, :H] = da_n * ms[t] * r * (1 - r)
            dx[:, 2 * H:] = da_n
            dq[:, :2 * H] = dx[:, :2 * H]
            dq[:, 2 * H:] = da_n * r
            dh_next = dh * z + dq @ p["W_hh"]
        self._weights(grads, dx_side, x2, hs, dh_side)
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
    rnn = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](VOCAB, hidden)
    head = torch.nn.Linear(hidden, VOCAB)
    with torch.no_grad():
        for name in ("W_ih", "W_hh", "b_ih", "b_hh"):
            torch_name = {"W_ih": "weight_ih_l0", "W_hh": "weight_hh_l0", "b_ih": "bias_ih_l0",
                          "b_hh": "bias_hh_l0"}[name]
            getattr(rnn, torch_name).copy_(torch.from_numpy(params[name]))
        head.weight.copy_(torch.from_numpy(params["W_hy"]))
        head.bias.copy_(torch.from_numpy(params["b_y"]))
    opt = torch.optim.Adam([*rnn.parameters(), *head.parameters()], lr=1e-3)
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


# ----- JAX -------------------------------------------------------------------------------------
def jax_step(cell: str, params: dict, x: np.ndarray, y: np.ndarray) -> Callable[[], float]:
    """The same model in JAX: jax.jit over the whole training step (forward with lax.scan over
    time, jax.value_and_grad, the same Adam written out), PyTorch's formulas and weights."""
    import jax
    import jax.numpy as jnp

    H = params["W_hy"].shape[1]
    steps, batch = y.shape

    def cell_step(p: dict, carry: tuple, x_t: jnp.ndarray) -> tuple:
        h, c = carry
        gi = x_t @ p["W_ih"].T + p["b_ih"]
        gh = h @ p["W_hh"].T + p["b_hh"]
        if cell == "rnn":
            h = jnp.tanh(gi + gh)
        elif cell == "lstm":
            z = gi + gh
            i, f = jax.nn.sigmoid(z[:, :H]), jax.nn.sigmoid(z[:, H:2 * H])
            g, o = jnp.tanh(z[:, 2 * H:3 * H]), jax.nn.sigmoid(z[:, 3 * H:])
            c = f * c + i * g
            h = o * jnp.tanh(c)
        else:
            r = jax.nn.sigmoid(gi[:, :H] + gh[:, :H])
            z = jax.nn.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
            n = jnp.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
            h = n + z * (h - n)
        return (h, c), h

    def loss_fn(p: dict, xs: jnp.ndarray, ys: jnp.ndarray) -> jnp.ndarray:
        zeros = jnp.zeros((batch, H), jnp.float32)
        _, hs = jax.lax.scan(lambda carry, x_t: cell_step(p, carry, x_t), (zeros, zeros), xs)
        logits = hs.reshape(steps * batch, H) @ p["W_hy"].T + p["b_y"]
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, ys[:, None], axis=1))

    def train_step(p: dict, m: dict, v: dict, t: jnp.ndarray, xs: jnp.ndarray,
                   ys: jnp.ndarray) -> tuple:
        loss, g = jax.value_and_grad(loss_fn)(p, xs, ys)
        t = t + 1
        c1, c2 = 1 - 0.9 ** t, jnp.sqrt(1 - 0.999 ** t)
        m = jax.tree_util.tree_map(lambda m_, g_: 0.9 * m_ + 0.1 * g_, m, g)
        v = jax.tree_util.tree_map(lambda v_, g_: 0.999 * v_ + 0.001 * g_ * g_, v, g)
        p = jax.tree_util.tree_map(lambda p_, m_, v_: p_ - (1e-3 / c1) * m_ / (jnp.sqrt(v_) / c2
                                                                                + 1e-8), p, m, v)
        return p, m, v, t, loss

    jitted = jax.jit(train_step, donate_argnums=(0, 1, 2))
    state = {"p": {k: jnp.asarray(a) for k, a in params.items()}}
    state["m"] = {k: jnp.zeros_like(a) for k, a in state["p"].items()}
    state["v"] = {k: jnp.zeros_like(a) for k, a in state["p"].items()}
    state["t"] = jnp.asarray(0.0, jnp.float32)
    xs, ys = jnp.asarray(x), jnp.asarray(y.reshape(-1))

    def step() -> float:
        state["p"], state["m"], state["v"], state["t"], loss = jitted(
            state["p"], state["m"], state["v"], state["t"], xs, ys)
        return float(loss)

    return step


# ----- the BLAS bound --------------------------------------------------------------------------
def blas_bound_step(cell: str, batch: int, steps: int, hidden: int) -> Callable[[], None]:
    """Only the matrix products a step needs, on preallocated float32 arrays (NumPy BLAS)."""
    rng = np.random.default_rng(0)
    gh = GATES[cell] * hidden
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


STEPS = {"tinygrad": tinygrad_step, "numpy": numpy_step, "torch": torch_step, "jax": jax_step}


# ----- timing ----------------------------------------------------------------------------------
def interleaved(fns: dict[str, Callable], rounds: int, budget: float,
                batch_seconds: float = 0.01, seed: int = 0) -> dict[str, list[float]]:
    """Seconds per call of each fn in every round. Each round runs every fn in turn, in a fresh
    random order (seeded), first one untimed call and then `reps` calls in a row, and records
    the mean of those calls. `reps` is set in the warm-up so a batch lasts about `batch_seconds`
    (1 for slow fns). So every timed call is warm, as in training: the first call after another
    implementation ran pays for the caches that one flushed (0.5 ms more for a 0.2 ms step after
    PyTorch's, measured), and in a fixed order that cost would always fall on the same fn, after
    the same neighbour (tinygrad / numpy at (1, 25, 100): 0.83 with tinygrad first, 0.65 with
    numpy first). Stops early after `budget` seconds (at least 5 rounds)."""
    reps = {}
    for name, fn in fns.items():
        fn()  # warm-up (compiles, allocates optimizer state)
        t0 = time.perf_counter()
        fn()
        reps[name] = max(1, min(100, int(batch_seconds / max(time.perf_counter() - t0, 1e-9))))
    times: dict[str, list[float]] = {name: [] for name in fns}
    order, shuffle = list(fns), random.Random(seed).shuffle
    start = time.perf_counter()
    for k in range(rounds):
        shuffle(order)
        for name in order:
            fn = fns[name]
            fn()  # untimed: it pays for what the previous implementation left in the caches
            t0 = time.perf_counter()
            for _ in range(reps[name]):
                fn()
            times[name].append((time.perf_counter() - t0) / reps[name])
        if k >= 4 and time.perf_counter() - start > budget:
            break
    return times


def ratio(times: dict[str, list[float]], a: str, b: str) -> float:
    """Median over rounds of a's time / b's time in the same round (both ran under the same
    load: that is what interleaving buys)."""
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


def spread(ts: list[float]) -> str:
    """Median in ms with the half-width of the middle 50% of rounds, in percent."""
    q = statistics.quantiles(ts, n=4) if len(ts) > 1 else [ts[0]] * 3
    med = statistics.median(ts)
    return f"{med * 1e3:.2f} ±{(q[2] - q[0]) / 2 / med:.0%}"


def available(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def blas_kernel() -> str:
    """Which BLAS and core kernel NumPy runs (threadpoolctl), or 'unknown'."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
                     f"threads={i.get('num_threads')}" for i in info) or "unknown"


TARGETS = {"torch": 0.8, "jax": 1.0, "numpy": 0.7}  # public path / peer, at most
BOUND_TARGET, BOUND_CONFIG = 0.9, (64, 50, 512)  # BLAS bound / public path, at least


def verdict(value: float, target: float, at_most: bool = True) -> str:
    ok = value <= target if at_most else value >= target
    return f"{value:.2f} {'met' if ok else 'MISSED'}"


def run_table(configs: list[tuple[int, int, int]], rounds: int, budget: float,
              threads: str, cells: list[str], per_op: bool) -> None:
    """Print one markdown table for this process's thread setting."""
    peers = ["torch", "jax"]
    if "torch" in peers:
        import torch

        if threads != "default":
            torch.set_num_threads(int(threads))
    versions = ", ".join(f"{m} {__import__(m).__version__}" for m in ["numpy", "numba", *peers])
    print(f"\nthreads: {threads}  ({versions}; BLAS: {blas_kernel()})")
    head = ("| cell | (B, T, H) | tinygrad ms | " + ("per-op ms (extra: fused=False) | "
                                                     if per_op else "")
            + "numpy ms | " + "".join(f"{p} ms | " for p in peers) + "BLAS bound ms | "
            + "".join(f"/{p} (<= {TARGETS[p]}) | " for p in ["numpy", *peers]
                      if not (p == "jax" and threads != "1"))
            + f"bound/tinygrad (>= {BOUND_TARGET:.0%} at {BOUND_CONFIG}) |")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for cell in cells:
        for batch, steps, hidden in configs:
            params = init_params(cell, hidden)
            x, y = make_batch(batch, steps)
            fns = {"tinygrad": tinygrad_step(cell, params, x, y)}
            if per_op:
                fns["per-op"] = tinygrad_step(cell, params, x, y, fused=False)
            fns["numpy"] = numpy_step(cell, params, x, y)
            for peer in peers:
                fns[peer] = STEPS[peer](cell, params, x, y)
            fns["bound"] = blas_bound_step(cell, batch, steps, hidden)
            t = interleaved(fns, rounds, budget)
            row = f"| {cell} | ({batch}, {steps}, {hidden}) | "
            row += "".join(f"{spread(t[name])} | " for name in fns)
            for peer in ["numpy", *peers]:
                if peer == "jax" and threads != "1":
                    continue
                row += verdict(ratio(t, "tinygrad", peer), TARGETS[peer]) + " | "
            bound = ratio(t, "bound", "tinygrad")
            row += (verdict(bound, BOUND_TARGET, at_most=False)
                    if (batch, steps, hidden) == BOUND_CONFIG else f"{bound:.0%}") + " |"
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
    import contextlib
    import io

    import hello  # the example's own functions

    data = hello.make_data("hello", "ohlol")
    runs = []
    with contextlib.redirect_stdout(io.StringIO()):  # hello prints every epoch
        for _ in range(repeats * 4 + 1):
            cell = hello.make_cell("rnn", len(data.idx2char), hello.DEFAULT_SEED)
            t0 = time.perf_counter()
            hello.train(cell, data, epochs=15)
            runs.append(time.perf_counter() - t0)
    rows.append(("hello task, 15 epochs, in-process (warm)", statistics.median(runs[1:])))
    print("\n| cold start | seconds |\n|---|---|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.3f} |")


# ----- peak memory -----------------------------------------------------------------------------
def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory_child(impl: str, cell: str, config: tuple[int, int, int]) -> None:
    """In a fresh process: build `impl`'s step, run it once (compiles, optimizer state), then
    reset the kernel's peak-RSS mark (Linux: write 5 to /proc/self/clear_refs) and run 3 steps.
    Prints 'baseline_kb peak_kb' (RSS before the steps, peak RSS during them)."""
    import gc

    batch, steps, hidden = config
    x, y = make_batch(batch, steps)
    step = STEPS[impl](cell, init_params(cell, hidden), x, y)
    step()
    gc.collect()
    baseline = _status_kb("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    for _ in range(3):
        step()
    print(baseline, _status_kb("VmHWM"))


def memory(cell: str, config: tuple[int, int, int]) -> None:
    """Peak RSS of one training step per implementation, each in its own subprocess, 1 thread.
    glibc's malloc gets a fixed mmap threshold (64 KB): freed large arrays go back to the system
    instead of staying in the heap, so the RSS before the step does not hide the step's own
    arrays in memory kept from the warm-up step."""
    env = {**os.environ, **{var: "1" for var in THREAD_VARS}, "MALLOC_MMAP_THRESHOLD_": "65536"}
    print(f"\n{cell} {config}: peak memory of a training step (fresh process each, 1 thread)\n"
          "| implementation | RSS before the step MB | peak during the step MB | the step's own "
          "MB (peak - before) |\n|---|---|---|---|")
    for impl in STEPS:
        done = subprocess.run([sys.executable, __file__, "--memory-child", impl, "--cell", cell,
                               "--config", ",".join(map(str, config))],
                              env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"memory of {impl} failed:\n{done.stderr[-2000:]}")
        baseline, peak = (int(v) for v in done.stdout.split()[-2:])
        print(f"| {impl} | {baseline / 1024:.0f} | {peak / 1024:.0f} | "
              f"{(peak - baseline) / 1024:.0f} |", flush=True)


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
    p.add_argument("--cell", choices=list(GATES), action="append",
                   help="run only this cell (may be repeated)")
    p.add_argument("--per-op", action="store_true",
                   help="an extra column: the same model with fused=False (slow)")
    p.add_argument("--memory", action="store_true",
                   help="only the peak-memory table (LSTM at (64, 50, 512) unless --cell/--config)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--memory-child", choices=list(STEPS), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.coldstart:
        coldstart()
        return 0
    if args.memory or args.memory_child:
        config = tuple(int(v) for v in (args.config or ["64,50,512"])[0].split(","))
        cell = (args.cell or ["lstm"])[0]
        if args.memory_child:
            memory_child(args.memory_child, cell, config)
        else:
            memory(cell, config)
        return 0
    missing = [m for m in ("torch", "jax", "threadpoolctl") if not available(m)]
    if missing:
        p.error(f"needs {', '.join(missing)}: install the bench extra, "
                f"pip install -e '.[bench]'")
    configs = QUICK_CONFIGS if args.quick else CONFIGS
    if args.config:
        configs = [tuple(int(v) for v in c.split(",")) for c in args.config]
    cells = args.cell or (["rnn"] if args.quick else list(GATES))
    rounds = 5 if args.quick else args.rounds
    if args.child:
        run_table(configs, rounds, args.budget, args.threads, cells, args.per_op)
        return 0
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, machine: "
          f"{os.cpu_count()} CPUs; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}, "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE')}")
    settings = (["1"] if args.quick else ["1", "default"] if args.threads == "both"
                else [args.threads])
    for threads in settings:
        env = dict(os.environ)
        for var in THREAD_VARS:
            if threads == "default":
                env.pop(var, None)
            else:
                env[var] = threads
        if threads == "1":  # XLA's own thread pool (JAX)
            env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
                                " intra_op_parallelism_threads=1").strip()
        # idle OpenMP threads (PyTorch's) must not spin on the cores while the others are timed
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        cmd = [sys.executable, __file__, "--child", "--threads", threads,
               "--rounds", str(rounds), "--budget", str(args.budget)]
        cmd += [f"--config={','.join(map(str, c))}" for c in configs]
        cmd += [f"--cell={c}" for c in cells] + (["--per-op"] if args.per_op else [])
        subprocess.run(cmd, env=env, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
