"""Vanishing and exploding gradients, seen with viz.flow.

    python examples/vanishing_gradients.py                  # pictures in ./gradient_study/
    python examples/vanishing_gradients.py --steps 100 --hidden 64 --out pictures
    python examples/vanishing_gradients.py --quick

BPTT multiplies one Jacobian per step: dL_T/dh_t = dL_T/dh_T * prod_{k=t+1..T} dh_k/dh_{k-1}
with dh_k/dh_{k-1} = diag(tanh'(z_k)) W_hh for the tanh RNN. Below, each cell runs over the
same random inputs with a loss L_t at every step, and `viz.flow` measures:
  - connectivity ||dL_t/dx_j||: how far back step t looks (one backward per step);
  - the Jacobians dh_t/dh_{t-1} and the norm of their running product; the LSTM's cell state
    has dc_t/dc_{t-1} = diag(f_t), the "highway";
  - |dL_T/dh_t| per hidden unit.
A tanh RNN (PyTorch's initialisation), an LSTM (forget-gate bias 1) and a GRU side by side;
a tanh RNN with W_hh scaled to spectral radius 0.9 / 1.0 / 1.5 shows vanishing, the edge, and
exploding; on the exploding case, plain SGD with and without gradient clipping.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Sequence

import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import hello, nn, optim
from tinygrad_rnn.script import Parser, hidden_int, positive_float, positive_int, run_main
from viz import flow

INPUT_SIZE, CLASSES = 8, 4


def measure(cell: nn.Module, steps: int, seed: int = 0) -> dict[str, Any]:
    """Run `cell` over `steps` random inputs with a loss at every step and take the three views."""
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((steps, 1, INPUT_SIZE)).astype(np.float32)
    ys = rng.integers(0, CLASSES, size=steps)
    tg.manual_seed(seed)
    head = nn.Linear(cell.hidden_size, CLASSES)
    run = flow.unroll_losses(cell, xs, head, ys)   # L_t = cross_entropy(head(h_t), y_t)
    return {"connectivity": flow.connectivity(run.losses, run.x),        # (T, T)
            "jacobians": flow.jacobians(cell, xs),                        # dh_t/dh_{t-1}
            "units": flow.state_gradients(run.losses[-1], run.states)}    # (T, H)


def make_cells(hidden_size: int, seed: int = 0) -> dict[str, nn.Module]:
    """The cells compared, all of the same size and initialised from `seed`."""
    tg.manual_seed(seed)
    cells = {"tanh RNN": nn.RNNCell(INPUT_SIZE, hidden_size)}  # PyTorch's init: radius ~ 0.6
    for radius in (0.9, 1.0, 1.5):
        tg.manual_seed(seed)
        cell = nn.RNNCell(INPUT_SIZE, hidden_size)
        flow.set_spectral_radius(cell, radius)
        cells[f"tanh RNN, radius {radius:g}"] = cell
    tg.manual_seed(seed)
    cells["LSTM, forget bias 1"] = nn.LSTMCell(INPUT_SIZE, hidden_size, forget_bias=1.0)
    tg.manual_seed(seed)
    cells["GRU"] = nn.GRUCell(INPUT_SIZE, hidden_size)
    return cells


def decades(connectivity: np.ndarray, span: int) -> float:
    """How many powers of ten ||dL_T/dx_j|| falls from j = T to j = T - span."""
    last = connectivity[-1]
    return float(np.log10(last[-1] / last[-1 - span]))


def train_sine(clip: float | None, radius: float, steps: int, lr: float = 0.1,
               length: int = 20, hidden_size: int = 32, batch_size: int = 32,
               seed: int = 0) -> dict[str, list[float]]:
    """Plain SGD on 4-way sine-frequency classification with a tanh RNN whose W_hh has spectral
    radius `radius`; clip=None trains without clipping. Returns per-step "losses" and
    "grad_norms" (the global norm before clipping)."""
    tg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    cell, head = nn.RNNCell(1, hidden_size), nn.Linear(hidden_size, CLASSES)
    flow.set_spectral_radius(cell, radius)
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
        norms.append(nn.utils.clip_grad_norm_(params, np.inf if clip is None else clip))
        opt.step()
        losses.append(loss.item())
    return {"losses": losses, "grad_norms": norms}


# ----- the study ------------------------------------------------------------------------------

def run(steps: int = 60, hidden_size: int = 32, train_radius: float = 1.5,
        train_steps: int = 250, out: str | None = "gradient_study", plots: bool = True,
        graphs: bool = True, seed: int = 0) -> dict[str, Any]:
    """The whole study. Returns {"views": {label: measure(...)}, "decades": {label: float},
    "clipping": {"clipped to 1", "not clipped": losses and grad norms}, "files", "seconds"}."""
    if steps < 2:
        raise ValueError(f"vanishing_gradients: steps must be >= 2, got {steps}")
    if seed < 0:
        raise ValueError(f"vanishing_gradients: seed must be >= 0, got {seed}")
    if out is not None and plots:  # a missing extra is reported before any work
        flow.pyplot("vanishing_gradients")
    if out is not None and graphs:
        flow.require("PIL.Image", "vanishing_gradients")
    start = time.perf_counter()
    views = {label: measure(cell, steps, seed)
             for label, cell in make_cells(hidden_size, seed).items()}
    span = min(50, steps - 1)
    falls = {label: decades(v["connectivity"], span) for label, v in views.items()}
    print(f"||dL_T/dx_j|| falls over {span} steps (T = {steps}, H = {hidden_size}):")
    for label, v in views.items():
        jac = v["jacobians"]
        print(f"  {label:22s} {falls[label]:6.1f} decades;  ||dh_T/dh_0|| "
              f"{jac.product_norm[-1]:9.2e}, mean sigma_max(dh_t/dh_t-1) {jac.sigma.mean():.2f}")
    runs = {"clipped to 1": train_sine(1.0, train_radius, train_steps, seed=seed),
            "not clipped": train_sine(None, train_radius, train_steps, seed=seed)}
    for label, r in runs.items():
        print(f"SGD, radius {train_radius:g}, {label:12s}: loss {np.mean(r['losses'][:10]):.3f}"
              f" -> {np.mean(r['losses'][-10:]):.3f}, largest gradient norm "
              f"{max(r['grad_norms']):.1f}")
    files = pictures(views, runs, out, train_radius, plots, graphs, hidden_size, seed)
    seconds = time.perf_counter() - start
    print(f"done in {seconds:.1f}s")
    return {"views": views, "decades": falls, "clipping": runs, "files": files,
            "seconds": seconds}


def pictures(views: dict, runs: dict, out: str | None, radius: float, plots: bool,
             graphs: bool, hidden_size: int, seed: int) -> list[str]:
    """The gallery: viz.flow's plots, the clipping curves, a GIF of backward and one of the
    hello task's gradients epoch by epoch."""
    if out is None or not (plots or graphs):
        return []
    os.makedirs(out, exist_ok=True)
    files = []
    if plots:
        trio = ["tanh RNN", "LSTM, forget bias 1", "GRU"]
        files.append(flow.plot_connectivity({k: views[k]["connectivity"] for k in trio},
                                            os.path.join(out, "connectivity.png")))
        radii = ["tanh RNN, radius 0.9", "tanh RNN, radius 1", "tanh RNN, radius 1.5"]
        files.append(flow.plot_jacobians({k: views[k]["jacobians"] for k in radii},
                                         os.path.join(out, "jacobians_radius.png")))
        files.append(flow.plot_jacobians({k: views[k]["jacobians"] for k in trio[1:]},
                                         os.path.join(out, "jacobians_gated.png")))
        files.append(flow.plot_state_gradients({k: views[k]["units"] for k in trio},
                                               os.path.join(out, "units.png")))
        files.append(flow.plot_step_norms({k: v["units"] for k, v in views.items()},
                                          os.path.join(out, "step_norms.png"),
                                          title="||dL_T/dh_t||, the loss at the last step"))
        files.append(plot_clipping(runs, os.path.join(out, "clipping.png"), radius))
    if graphs:
        cell, head, xs, ys = flow.random_model("rnn", 6, hidden_size, seed=seed)
        run = flow.unroll_losses(cell, xs, head, ys)
        files.append(flow.animate_backward(run.losses[-1], os.path.join(out, "backward.gif"),
                                           max_frames=30))
        data = hello.make_data("hello", "ohlol")  # the hello task, trained for 15 epochs
        model = hello.make_model("rnn", len(data.idx2char))
        path = os.path.join(out, "hello_training.gif")
        flow.animate_training(lambda: hello.sequence_loss(model, data)[0],
                              optim.Adam(model.parameters(), lr=0.1), path, epochs=15)
        files.append(path)
    for f in files:
        print(f"wrote {f}")
    return files


def plot_clipping(runs: dict[str, dict[str, list[float]]], path: str, radius: float) -> str:
    """Loss and gradient norm per SGD step, with and without clipping."""
    plt = flow.pyplot("plot_clipping")
    fig, (ax_loss, ax_norm) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, r in runs.items():
        ax_loss.plot(r["losses"], label=label, linewidth=1.5)
        ax_norm.semilogy(r["grad_norms"], label=label, linewidth=1)
    ax_loss.axhline(np.log(CLASSES), color="gray", linestyle=":", label="chance")
    ax_loss.set(xlabel="SGD step", ylabel="cross-entropy",
                title=f"tanh RNN, spectral radius of W_hh = {radius:g}")
    ax_norm.set(xlabel="SGD step", ylabel="gradient norm before clipping",
                title="global gradient norm")
    ax_loss.legend()
    ax_norm.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def build_parser() -> Parser:
    """The command-line interface of this example."""
    p = Parser(prog="vanishing_gradients", description="Vanishing and exploding gradients in "
               "tanh RNNs (spectral radius 0.9 / 1 / 1.5), an LSTM and a GRU, with viz.flow; "
               "and gradient clipping on the exploding case.")
    p.add_argument("--steps", type=positive_int, default=60, help="sequence length T (60)")
    p.add_argument("--hidden", type=hidden_int, default=32, help="hidden size (default: 32)")
    p.add_argument("--train-radius", type=positive_float, default=1.5,
                   help="spectral radius for the clipping experiment (default: 1.5)")
    p.add_argument("--train-steps", type=positive_int, default=250, help="SGD steps per run")
    p.add_argument("--out", default="gradient_study", help="folder for the pictures")
    p.add_argument("--no-plots", action="store_true", help="skip the matplotlib plots")
    p.add_argument("--no-graphs", action="store_true", help="skip the Graphviz GIFs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a short run (for tests)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    options = dict(steps=args.steps, hidden_size=args.hidden, train_radius=args.train_radius,
                   train_steps=args.train_steps, out=args.out, plots=not args.no_plots,
                   graphs=not args.no_graphs, seed=args.seed)
    if args.quick:
        options.update(steps=min(args.steps, 30), train_steps=min(args.train_steps, 120))
    try:
        run(**options)
    except flow.MissingExtraError as e:
        print(f"vanishing_gradients: error: {e}; or pass --no-plots / --no-graphs",
              file=sys.stderr)
        return 2
    except (ValueError, RuntimeError, OSError) as e:
        print(f"vanishing_gradients: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    run_main(main, "vanishing_gradients")
