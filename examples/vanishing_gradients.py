"""Vanishing and exploding gradients, measured: how much does step t matter to the loss at T?

    python examples/vanishing_gradients.py               # writes PNGs to ./gradient_study/
    python examples/vanishing_gradients.py --steps 100 --out pictures
    python examples/vanishing_gradients.py --quick

1. Gradient flow. A cell runs T steps over random inputs; only the last step has a loss, L_T
   (cross-entropy of a linear readout of h_T). After `L_T.backward(retain_grad=True)` every
   hidden state h_t holds dL_T/dh_t, and its norm against t shows how far back a learning
   signal reaches. By the chain rule

       dL_T/dh_t = dL_T/dh_T * prod_{k=t+1..T} dh_k/dh_{k-1},
       dh_k/dh_{k-1} = diag(tanh'(W_hh h_{k-1} + W_xh x_k + b)) W_hh      (tanh RNN)

   so each step multiplies by a matrix whose norm is at most ||W_hh|| (tanh' <= 1): below 1
   the product vanishes geometrically, above 1 it can explode. Compared (all at initialisation):
     - tanh RNN, PyTorch's initialisation (spectral radius of W_hh about 0.6): vanishes;
     - ReLU RNN with W_hh = I and b = 0 (Le et al., 2015): the product starts near identity;
     - LSTM with forget-gate bias 1: along the cell state dc_k/dc_{k-1} = f_k, elementwise,
       about sigmoid(1) = 0.73 here: a much slower decay (the "gradient highway");
     - LSTM with forget-gate bias 0 (PyTorch's default): f about 0.5, so much of the advantage
       is gone at initialisation; training opens the gates it needs;
     - GRU: h_k = (1 - z) n + z h_{k-1}, a highway with z about 0.5 at initialisation;
     - tanh RNN with W_hh rescaled to spectral radius `--radius` (default 3): exploding.
2. Clipping. A tanh RNN whose W_hh has spectral radius `--train-radius` (default 1.5) learns to
   tell sine frequencies apart with plain SGD, once with the global gradient norm clipped to 1
   and once without. As training goes on the gradient norm grows to 10 or more; without
   clipping, a step of lr times such a gradient overshoots and the loss spikes back above
   chance, again and again; with clipping no step is longer than lr and the same run trains
   smoothly.
3. Pictures: the two curves above as PNG plots (matplotlib), and the unrolled graphs of a tanh
   RNN and an LSTM over a few steps with every tensor coloured by its gradient's norm, on one
   colour scale for both (viz).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Callable, Sequence

import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import nn, optim

INPUT_SIZE, CLASSES = 8, 4


def set_spectral_radius(cell: nn.RNNCell, radius: float) -> None:
    """Rescale the W_hh block of an RNNCell (the columns after the input's) to this radius."""
    W = cell.linear.weight.data
    W_hh = W[:, cell.input_size:]
    W[:, cell.input_size:] = W_hh * (radius / np.max(np.abs(np.linalg.eigvals(W_hh))))


def identity_relu_cell(hidden_size: int) -> nn.RNNCell:
    """ReLU RNN cell with W_hh = I and zero bias (the IRNN of Le, Jaitly and Hinton, 2015)."""
    cell = nn.RNNCell(INPUT_SIZE, hidden_size, nonlinearity="relu")
    cell.linear.weight.data[:, INPUT_SIZE:] = np.eye(hidden_size, dtype=np.float32)
    cell.linear.bias.data[:] = 0.0
    return cell


def cell_makers(hidden_size: int, radius: float) -> dict[str, Callable[[], nn.Module]]:
    """Label -> a function making that cell (called after the seed is set)."""

    def exploding() -> nn.RNNCell:
        cell = nn.RNNCell(INPUT_SIZE, hidden_size)
        set_spectral_radius(cell, radius)
        return cell

    return {
        "tanh RNN": lambda: nn.RNNCell(INPUT_SIZE, hidden_size),
        "ReLU RNN, W_hh = I": lambda: identity_relu_cell(hidden_size),
        "LSTM, forget bias 1": lambda: nn.LSTMCell(INPUT_SIZE, hidden_size, forget_bias=1.0),
        "LSTM, forget bias 0": lambda: nn.LSTMCell(INPUT_SIZE, hidden_size),
        "GRU": lambda: nn.GRUCell(INPUT_SIZE, hidden_size),
        f"tanh RNN, radius {radius:g}": exploding,
    }


def unroll_with_loss(cell: nn.Module, steps: int, batch_size: int,
                     rng: np.random.Generator) -> tuple[tg.Tensor, list[tg.Tensor], nn.Linear]:
    """Run `cell` over `steps` random inputs; returns (L_T, [h_1 ... h_T], readout)."""
    readout = nn.Linear(cell.hidden_size, CLASSES)
    targets = rng.integers(0, CLASSES, size=batch_size)
    hs, state = [], None
    for t in range(1, steps + 1):
        with tg.annotate(step=t, layer=0):  # viz draws one cluster per step
            x_t = tg.Tensor(rng.standard_normal((batch_size, INPUT_SIZE)).astype(np.float32),
                            name=f"x_{t}")
            state = cell(x_t, state)
            h_t = state[0] if isinstance(state, tuple) else state
            h_t.name = f"h_{t}"
            if isinstance(state, tuple):
                state[1].name = f"c_{t}"
        hs.append(h_t)
    loss = F.cross_entropy(readout(hs[-1]), targets)
    loss.name = "L_T"
    return loss, hs, readout


def gradient_flow(make_cell: Callable[[], nn.Module], steps: int = 50, batch_size: int = 16,
                  seed: int = 0) -> np.ndarray:
    """||dL_T/dh_t|| for t = 1..T (index t-1), at initialisation, loss at the last step only."""
    tg.manual_seed(seed)
    cell = make_cell()
    loss, hs, _ = unroll_with_loss(cell, steps, batch_size, np.random.default_rng(seed))
    loss.backward(retain_grad=True)  # keep dL/dh_t on every intermediate h_t
    return np.array([np.linalg.norm(h.grad) for h in hs])


def train_sine(clip: float | None, radius: float, steps: int, lr: float = 0.1,
               length: int = 20, hidden_size: int = 32, batch_size: int = 32,
               seed: int = 0) -> dict[str, list[float]]:
    """SGD on 4-way sine-frequency classification with a tanh RNN whose W_hh has the given
    spectral radius; clip=None trains without clipping. Returns per-step "losses" and
    "grad_norms" (the global norm before clipping)."""
    tg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    cell, head = nn.RNNCell(1, hidden_size), nn.Linear(hidden_size, CLASSES)
    set_spectral_radius(cell, radius)
    params = [*cell.parameters(), *head.parameters()]
    opt = optim.SGD(params, lr=lr)
    losses, norms = [], []
    for _ in range(steps):
        y = rng.integers(0, CLASSES, size=batch_size)
        t = np.arange(length)[:, None]
        x = np.sin(2 * np.pi * (y + 1) * t / length + rng.uniform(0, 2 * np.pi, batch_size))
        x = (x + 0.1 * rng.standard_normal(x.shape)).astype(np.float32)
        h = None
        for k in range(length):
            h = cell(x[k][:, None], h)
        loss = F.cross_entropy(head(h), y)
        opt.zero_grad()
        loss.backward()
        max_norm = np.inf if clip is None else clip  # inf: measure the norm, change nothing
        norms.append(nn.utils.clip_grad_norm_(params, max_norm))
        opt.step()
        losses.append(loss.item())
    return {"losses": losses, "grad_norms": norms}


# ----- pictures -------------------------------------------------------------------------------

def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise RuntimeError("the plots need matplotlib: pip install 'tinygrad-rnn[examples]' "
                           "(or pip install matplotlib), or pass --no-plots") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_gradient_flow(norms: dict[str, np.ndarray], path: str) -> str:
    """Semi-log plot of ||dL_T/dh_t|| against t, one line per cell."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    for label, values in norms.items():
        style = "--" if "radius" in label or "bias 0" in label else "-"
        ax.semilogy(np.arange(1, len(values) + 1), values, style, label=label, linewidth=2)
    T = len(next(iter(norms.values())))
    ax.set_xlabel("time step t")
    ax.set_ylabel(r"$\|\partial L_T / \partial h_t\|$")
    ax.set_title(f"How far back the loss at T = {T} reaches (at initialisation)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_clipping(runs: dict[str, dict[str, list[float]]], path: str, radius: float) -> str:
    """Loss and gradient norm per step, with and without clipping."""
    plt = _pyplot()
    fig, (ax_loss, ax_norm) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, run in runs.items():
        ax_loss.plot(run["losses"], label=label, linewidth=1.5)
        ax_norm.semilogy(run["grad_norms"], label=label, linewidth=1)
    ax_loss.axhline(np.log(CLASSES), color="gray", linestyle=":", label="chance")
    ax_loss.set_xlabel("SGD step")
    ax_loss.set_ylabel("cross-entropy")
    ax_loss.set_title(f"tanh RNN, spectral radius of W_hh = {radius:g}")
    ax_loss.legend()
    ax_norm.set_xlabel("SGD step")
    ax_norm.set_ylabel("gradient norm before clipping")
    ax_norm.set_title("global gradient norm")
    ax_norm.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def render_unrolled(makers: dict[str, Callable[[], nn.Module]], steps: int,
                    paths: dict[str, str], seed: int = 0) -> list[str]:
    """The unrolled graph of `steps` steps for each cell in `paths` (label -> file), every
    tensor coloured by its gradient norm on ONE scale shared by all the pictures."""
    import viz

    drawn = []
    for label in paths:
        tg.manual_seed(seed)
        cell = makers[label]()
        loss, hs, readout = unroll_with_loss(cell, steps, 4, np.random.default_rng(seed))
        loss.backward(retain_grad=True)
        params = {**{f"cell.{k}": p for k, p in cell.named_parameters()},
                  **{f"readout.{k}": p for k, p in readout.named_parameters()}}
        drawn.append((label, loss, params, min(np.linalg.norm(h.grad) for h in hs)))
    grad_range = (min(d[3] for d in drawn), 1.0)  # dL/dL = 1 is the largest
    return [viz.render(loss, paths[label], grads=True, detail="cells", params=params,
                       grad_range=grad_range,
                       title=f"{label}, {steps} steps: ||dL_T/dh_t|| (one colour scale for "
                       "both pictures)")
            for label, loss, params, _ in drawn]


# ----- the study ------------------------------------------------------------------------------

def run(steps: int = 50, hidden_size: int = 32, radius: float = 3.0, train_radius: float = 1.5,
        train_steps: int = 250, graph_steps: int = 10, out: str | None = "gradient_study",
        plots: bool = True, graphs: bool = True, seed: int = 0) -> dict[str, Any]:
    """The whole study. Returns {"norms": {label: array over t}, "clipping": {"clipped",
    "unclipped": per-step losses and grad norms}, "files": [written paths], "seconds"}."""
    if steps < 2 or hidden_size <= 0 or train_steps <= 0 or graph_steps <= 0:
        raise ValueError("vanishing_gradients: steps must be >= 2 and hidden_size, train_steps, "
                         f"graph_steps positive, got {steps}, {hidden_size}, {train_steps}, "
                         f"{graph_steps}")
    if radius <= 0 or train_radius <= 0:
        raise ValueError(f"vanishing_gradients: radii must be positive, got {radius}, "
                         f"{train_radius}")
    if seed < 0:  # NumPy would say only "expected non-negative integer"
        raise ValueError(f"vanishing_gradients: seed must be >= 0, got {seed}")
    t0 = time.perf_counter()
    makers = cell_makers(hidden_size, radius)
    norms = {label: gradient_flow(make, steps, seed=seed) for label, make in makers.items()}
    print(f"||dL_T/dh_t|| at t = 1, 10, T/2, T (T = {steps}):")
    marks = [0, min(9, steps - 1), steps // 2 - 1, steps - 1]
    for label, values in norms.items():
        print(f"  {label:24s}" + "".join(f"{values[i]:11.2e}" for i in marks))
    ratio = norms["LSTM, forget bias 1"][0] / norms["tanh RNN"][0]
    print(f"at t = 1 the LSTM (forget bias 1) gets {ratio:.1e} times the tanh RNN's gradient")

    runs = {"clipped to 1": train_sine(1.0, train_radius, train_steps, seed=seed),
            "not clipped": train_sine(None, train_radius, train_steps, seed=seed)}
    for label, r in runs.items():
        last = np.mean(r["losses"][-10:])
        print(f"SGD, radius {train_radius:g}, {label:12s}: loss {np.mean(r['losses'][:10]):.3f} "
              f"-> {last:.3f}, largest gradient norm {max(r['grad_norms']):.1f}")

    files: list[str] = []
    if out is not None and (plots or graphs):
        os.makedirs(out, exist_ok=True)
        if plots:
            files.append(plot_gradient_flow(norms, os.path.join(out, "gradient_flow.png")))
            files.append(plot_clipping(runs, os.path.join(out, "clipping.png"), train_radius))
        if graphs:
            files += render_unrolled(makers, graph_steps, {
                "tanh RNN": os.path.join(out, "unrolled_tanh_rnn.png"),
                "LSTM, forget bias 1": os.path.join(out, "unrolled_lstm.png")}, seed)
        for f in files:
            print(f"wrote {f}")
    seconds = time.perf_counter() - t0
    print(f"done in {seconds:.1f}s")
    return {"norms": norms, "clipping": runs, "files": files, "seconds": seconds}


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of this example."""
    p = argparse.ArgumentParser(description="Measure and picture vanishing and exploding "
                                "gradients in tanh/ReLU RNNs, LSTMs and GRUs, and the effect "
                                "of gradient clipping.")
    p.add_argument("--steps", type=int, default=50, help="sequence length T (default: 50)")
    p.add_argument("--hidden", type=int, default=32, help="hidden size (default: 32)")
    p.add_argument("--radius", type=float, default=3.0,
                   help="spectral radius of W_hh for the exploding curve (default: 3)")
    p.add_argument("--train-radius", type=float, default=1.5,
                   help="spectral radius for the clipping experiment (default: 1.5)")
    p.add_argument("--train-steps", type=int, default=250, help="SGD steps per run")
    p.add_argument("--graph-steps", type=int, default=10, help="steps in the unrolled graphs")
    p.add_argument("--out", default="gradient_study", help="folder for the pictures")
    p.add_argument("--no-plots", action="store_true", help="skip the matplotlib plots")
    p.add_argument("--no-graphs", action="store_true", help="skip the Graphviz pictures")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a short run (for tests)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    options = dict(steps=args.steps, hidden_size=args.hidden, radius=args.radius,
                   train_radius=args.train_radius, train_steps=args.train_steps,
                   graph_steps=args.graph_steps, out=args.out, plots=not args.no_plots,
                   graphs=not args.no_graphs, seed=args.seed)
    if args.quick:
        options.update(steps=min(args.steps, 30), train_steps=min(args.train_steps, 120),
                       graph_steps=min(args.graph_steps, 6))
    try:
        run(**options)
    except (ValueError, RuntimeError, OSError) as e:
        print(f"vanishing_gradients: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
