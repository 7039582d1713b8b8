"""viz.flow: how the gradient flows back through time, as numbers and as pictures.

BPTT's one formula, made visible for any model a user builds,

    dL_T/dh_t = dL_T/dh_T * prod_{k=t+1..T} dh_k/dh_{k-1},
    dh_k/dh_{k-1} = diag(tanh'(W_hh h_{k-1} + W_xh x_k + b)) W_hh        (tanh RNN),

through four views, each a function returning arrays and a `plot_*` / GIF function drawing them:

- `connectivity(outputs, inputs)`: the (T, T) map of ||dL_t/dx_j|| (how far back step t looks);
- `jacobians(cell, xs)`: every factor dh_t/dh_{t-1} of the product, its largest singular value
  and the running product's norm (and the LSTM's cell-state highway dc_t/dc_{t-1} = diag(f_t));
- `state_gradients(loss, states)`: |dL/dh_t| per unit, a (T, H) heatmap, and
  `plot_step_norms`: ||dL/dh_t|| per step, one line per model;
- `animate_backward(loss, path)` / `animate_training(...)`: GIFs of the unrolled graph filling
  with gradient colour.

Everything numeric is computed with the functional backward `tg.grad` (no `.grad` is touched)
or, for the Jacobians of the RNN and LSTM cells, from the formulas above. The pictures need the
optional extra `flow` (matplotlib for plots, Pillow for GIFs): `pip install 'tinygrad-rnn[flow]'`;
without it the drawing functions raise `MissingExtraError` before doing any work.
"""

from __future__ import annotations

import importlib
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import nn
from tinygrad_rnn.nn.cells import CellBase
from tinygrad_rnn.tensor import Tensor, tensor_list, topological_order

EXTRA = "flow"
VIEWS = ("connectivity", "jacobians", "units", "animate")
MAX_COLUMNS = 3  # plots of several results wrap after this many panels, to stay readable
GATE_NAMES = {"RNNCell": ("h",), "LSTMCell": ("i", "f", "g", "o"), "GRUCell": ("r", "z", "n")}


class MissingExtraError(ImportError):
    """A drawing function needs matplotlib or Pillow, from the optional extra `flow`."""


def require(module: str, fn: str) -> Any:
    """Import `module` (matplotlib, PIL, ...) or raise MissingExtraError naming the extra and
    the function `fn` that needs it; call it before any work."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = {"PIL": "Pillow"}.get(module.split(".")[0], module)
        raise MissingExtraError(f"{fn}: needs {package}, which is in the optional extra "
                                f"'{EXTRA}': pip install 'tinygrad-rnn[{EXTRA}]' (or pip "
                                f"install {package.lower()})") from None


def pyplot(fn: str) -> Any:
    """matplotlib.pyplot (on the Agg backend outside notebooks), or MissingExtraError naming
    the extra and `fn`."""
    require("matplotlib", fn)
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _finish(fig: Any, path: str | os.PathLike | None, plt: Any) -> Any:
    """Save and close `fig` when a path is given (returns the path), else return the figure."""
    if path is None:
        return fig
    path = os.fspath(path)
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ----- arguments ----------------------------------------------------------------------------------
def _tensor_steps(value: Any, fn: str, arg: str) -> list[Tensor] | Tensor:
    """A sequence of per-step tensors as a list, or one Tensor whose axis 0 is time.

    A tensor made by `stack` (as `nn.unroll` and the sequence modules stack their h_t) stands
    for its parents: the per-step tensors the recurrence really used. (The gradient with respect
    to the stacked copy would miss every path through the later steps.)
    """
    if isinstance(value, Tensor):
        if value.op == "stack" and value.parents:
            return list(value.parents)
        if value.ndim == 0:
            raise ValueError(f"{fn}: {arg} is a scalar; give one tensor per step, or one tensor "
                             "whose first axis is time")
        return value
    return tensor_list(value, fn, arg, empty=False)


def _check_cell(cell: Any, fn: str) -> None:
    """A TypeError naming `fn` unless `cell` is one of the library's cells; a sequence module
    (nn.RNN / LSTM / GRU) is told to pass one of its `.cells`."""
    if isinstance(cell, CellBase):
        return
    hint = ""
    if isinstance(getattr(cell, "cells", None), Sequence) and cell.cells:
        hint = (f" (a sequence module: pass one of its cells, e.g. "
                f"{type(cell).__name__.lower()}.cells[0])")
    raise TypeError(f"{fn}: cell must be an RNNCell, LSTMCell or GRUCell, got "
                    f"{type(cell).__name__}{hint}")


def _check_requires_grad(tensors: Sequence[Tensor], fn: str, arg: str) -> None:
    for i, t in enumerate(tensors):
        if not t.requires_grad:
            raise ValueError(f"{fn}: {arg}[{i}] does not require grad, so no gradient reaches "
                             "it; make the inputs with requires_grad=True (or pass tensors "
                             "computed from parameters, such as the states h_t)")


def _sq_norms(g: np.ndarray, per_step: bool) -> np.ndarray:
    """Squared norms in float64: one per step (axis 0) when per_step, else one in all."""
    g = np.asarray(g, dtype=np.float64)
    if per_step:
        return np.square(g).reshape(g.shape[0], -1).sum(axis=1)
    return np.array([np.square(g).sum()])


# ----- 1. connectivity ----------------------------------------------------------------------------
def connectivity(outputs: Any, inputs: Any, grad_outputs: Any = None) -> np.ndarray:
    """The (T_out, T_in) map whose entry (t, j) is ||d outputs[t] / d inputs[j]||.

    outputs: one scalar loss per step (L_t), or the states h_t (any shape), as a sequence of
        tensors or one tensor whose axis 0 is time. For a scalar L_t the entry is the norm of the
        gradient dL_t/dx_j; for a non-scalar h_t it is the Frobenius norm of the Jacobian
        dh_t/dx_j (one backward per element of h_t), unless `grad_outputs` is given.
    inputs: the x_j (requiring grad), or states: a sequence of tensors, or one tensor whose axis
        0 is time (e.g. x of shape (T, B, I) created with requires_grad=True).
    grad_outputs: optional vectors v_t (one array per output, or one for all): the entry is
        then ||d<v_t, outputs[t]>/d inputs[j]||, one backward per step.

    Cost: one backward per output step (per element of a non-scalar output) over one retained
    graph: T backwards of average length T/2, so quadratic in T. A causal model gives exact
    zeros above the diagonal (x_j for j > t does not reach L_t). Returns float64.
    """
    fn = "connectivity"
    outs = _tensor_steps(outputs, fn, "outputs")
    ins = _tensor_steps(inputs, fn, "inputs")
    out_list = list(outs) if isinstance(outs, list) else [outs[t] for t in range(outs.shape[0])]
    in_list = ins if isinstance(ins, list) else [ins]
    _check_requires_grad(in_list, fn, "inputs")
    _check_requires_grad(out_list, fn, "outputs")
    graph = {id(t) for t in topological_order(out_list)}
    for j, x in enumerate(in_list):
        if id(x) not in graph:
            raise ValueError(f"{fn}: inputs[{j}] is not in the graph of any output (a new "
                             "slice such as x[j] is a new tensor: pass x itself, or the "
                             "tensors the model was given)")
    per_step = not isinstance(ins, list)
    T_in = ins.shape[0] if per_step else len(ins)
    if grad_outputs is not None:
        vs = list(grad_outputs) if isinstance(grad_outputs, (list, tuple)) \
            else [grad_outputs] * len(out_list)
        if len(vs) != len(out_list):
            raise ValueError(f"{fn}: grad_outputs has {len(vs)} entries for {len(out_list)} "
                             "outputs")
        for t, (o, v) in enumerate(zip(out_list, vs)):
            if np.shape(v) != o.shape:
                raise ValueError(f"{fn}: grad_outputs[{t}] has shape {np.shape(v)}, "
                                 f"outputs[{t}] has shape {o.shape}")
    result = np.zeros((len(out_list), T_in))
    for t, o in enumerate(out_list):
        if grad_outputs is not None:
            probes = [np.asarray(vs[t], dtype=o.dtype)]
        elif o.numel() == 1:
            probes = [None]
        else:  # the rows of the Jacobian, one unit vector at a time
            n = o.numel()
            probes = [np.eye(n, dtype=o.dtype)[k].reshape(o.shape) for k in range(n)]
        sq = np.zeros(T_in)
        for v in probes:
            grads = tg.grad(o, in_list, grad_outputs=v, retain_graph=True, allow_unused=True)
            sq += np.concatenate([_sq_norms(np.zeros(x.shape) if g is None else g, per_step)
                                  for x, g in zip(in_list, grads)])  # None: x_j after t
        result[t] = np.sqrt(sq)
    return result


def _log_norm(panels: dict[str, np.ndarray], floor: float, fn: str) -> Any:
    """One log colour scale for every panel: from the smallest positive entry (but no lower
    than `floor` times the largest) to the largest."""
    from matplotlib.colors import LogNorm

    top = max(float(np.max(a)) for a in panels.values())
    positive = [float(np.min(a[a > 0])) for a in panels.values() if np.any(a > 0)]
    if not positive or not np.isfinite(top):
        raise ValueError(f"{fn}: no positive finite entry to draw")
    return LogNorm(vmin=max(min(positive), top * floor), vmax=top)


def plot_connectivity(maps: np.ndarray | Mapping[str, np.ndarray],
                      path: str | os.PathLike | None = None, title: str | None = None,
                      floor: float = 1e-12) -> Any:
    """Heatmap(s) of connectivity maps with one log colour scale: output step t down, input
    step j across; zeros (above the diagonal) are left blank. Several maps (a dict label ->
    map) are drawn side by side, at most three to a row, on the same scale. Entries below `floor`
    times the largest are clipped to it. Saves to `path` and returns it, or returns the
    matplotlib Figure."""
    plt = pyplot("plot_connectivity")

    panels = _panels(maps, "plot_connectivity", ndim=2)
    norm = _log_norm(panels, floor, "plot_connectivity")
    rows, cols = _grid(len(panels))
    fig, axes = plt.subplots(rows, cols, figsize=(4.3 * cols + 1.2, 4.4 * rows),
                             squeeze=False, layout="constrained")
    axes = _used_axes(axes, len(panels))
    image = None
    for ax, (label, m) in zip(axes, panels.items()):
        shown = np.ma.masked_less_equal(np.maximum(m, 0), 0)
        image = ax.imshow(np.clip(shown, norm.vmin, None), norm=norm, cmap="magma",
                          origin="upper", interpolation="nearest",
                          extent=(0.5, m.shape[1] + 0.5, m.shape[0] + 0.5, 0.5))
        ax.set_title(label, fontsize=11)
        ax.set_xlabel("input step j")
        ax.set_ylabel("output step t")
        _integer_ticks(ax)
    fig.colorbar(image, ax=axes, label=r"$\|\partial L_t / \partial x_j\|$ (log)",
                 shrink=0.9)
    if title:
        fig.suptitle(title)
    return _finish(fig, path, plt)


def _grid(panels: int, most: int = MAX_COLUMNS) -> tuple[int, int]:
    """(rows, columns) for `panels` side by side: at most `most` to a row, the rows as even
    as they can be (4 panels are 2 x 2, not 3 + 1)."""
    rows = -(-panels // most)
    return rows, -(-panels // rows)


def _used_axes(axes: Any, panels: int) -> list[Any]:
    """The first `panels` axes of a grid, row by row; the grid's empty places removed."""
    flat = list(axes.flat)
    for ax in flat[panels:]:
        ax.remove()
    return flat[:panels]


def _integer_ticks(ax: Any, y: bool = True) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if y:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def _panels(data: Any, fn: str, ndim: int) -> dict[str, Any]:
    panels = dict(data) if isinstance(data, Mapping) else {"": data}
    if not panels:
        raise ValueError(f"{fn}: nothing to draw")
    for label, m in panels.items():
        if ndim and np.ndim(m) != ndim:
            raise ValueError(f"{fn}: {label or 'the array'} must be {ndim}-D, got shape "
                             f"{np.shape(m)}")
    return {k: (np.asarray(v, dtype=np.float64) if ndim else v) for k, v in panels.items()}


# ----- 2. Jacobians -------------------------------------------------------------------------------
@dataclass
class Jacobians:
    """The factors of the BPTT product for one cell over one sequence (batch of one).

    jacobians[t-1] = dh_t/dh_{t-1} (H, H), with the cell state held for the LSTM; sigma[t-1]
    its largest singular value; product_norm[t-1] = ||dh_t/dh_{t-1} ... dh_1/dh_0||_2, the
    spectral norm of the running product. W_hh_radius / W_hh_sigma: spectral radius and largest
    singular value of each square H x H block of the recurrent weights (gate name -> value:
    "h" for the RNN, i f g o for the LSTM, r z n for the GRU). For the LSTM, cell_jacobians are
    dc_t/dc_{t-1} (= diag(f_t): the highway) with their sigma and running product norm.
    """

    cell: str
    jacobians: np.ndarray
    sigma: np.ndarray
    product_norm: np.ndarray
    W_hh_radius: dict[str, float]
    W_hh_sigma: dict[str, float]
    method: str
    cell_jacobians: np.ndarray | None = None
    cell_sigma: np.ndarray | None = None
    cell_product_norm: np.ndarray | None = None
    states: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _running_norms(js: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(largest singular value of each J_t, spectral norm of J_t ... J_1) for t = 1..T."""
    sigma = np.array([np.linalg.norm(j, 2) for j in js])
    product, norms = np.eye(js.shape[1]), []
    for j in js:
        product = j @ product
        norms.append(np.linalg.norm(product, 2))
        if np.isfinite(norms[-1]) and norms[-1] > 1e150:  # keep exploding products finite
            product = product / norms[-1]
            norms[-1] = np.inf
    return sigma, np.array(norms)


def _w_hh_stats(cell: CellBase) -> tuple[dict[str, float], dict[str, float]]:
    W = np.asarray(cell.linear.weight.data, dtype=np.float64)[:, cell.input_size:]
    H = cell.hidden_size
    names = GATE_NAMES.get(type(cell).__name__,
                           tuple(f"block{k}" for k in range(W.shape[0] // H)))
    radius, sigma = {}, {}
    for k, name in enumerate(names):
        block = W[k * H:(k + 1) * H]
        radius[name] = float(np.max(np.abs(np.linalg.eigvals(block))))
        sigma[name] = float(np.linalg.norm(block, 2))
    return radius, sigma


def _sequence(cell: CellBase, xs: Any, fn: str) -> np.ndarray:
    xs = np.asarray(xs.data if isinstance(xs, Tensor) else xs)
    if xs.ndim == 3:
        if xs.shape[1] != 1:
            raise ValueError(f"{fn}: xs must be (T, I) or (T, 1, I) (a batch of one), got "
                             f"{xs.shape}")
        xs = xs[:, 0]
    if xs.ndim != 2 or xs.shape[0] == 0 or xs.shape[1] != cell.input_size:
        raise ValueError(f"{fn}: xs must have shape (T, {cell.input_size}) or (T, 1, "
                         f"{cell.input_size}) with T >= 1, got {xs.shape}")
    return xs.astype(cell.linear.weight.dtype)


def _initial(cell: CellBase, state: Any, fn: str) -> tuple[np.ndarray, np.ndarray | None]:
    H, lstm = cell.hidden_size, isinstance(cell, nn.LSTMCell)
    if state is None:
        zeros = np.zeros(H, cell.linear.weight.dtype)
        return zeros, (zeros.copy() if lstm else None)
    if lstm != isinstance(state, (tuple, list)):
        raise TypeError(f"{fn}: state must be " + ("a pair (h, c)" if lstm else "one array h")
                        + f" for {type(cell).__name__}, got {type(state).__name__}")
    parts = list(state) if lstm else [state]
    arrays = []
    for p in parts:
        a = np.asarray(p.data if isinstance(p, Tensor) else p, dtype=cell.linear.weight.dtype)
        if a.size != H:
            raise ValueError(f"{fn}: a state of {a.size} values for hidden_size {H}")
        arrays.append(a.reshape(H))
    return arrays[0], (arrays[1] if lstm else None)


def jacobians(cell: CellBase, xs: Any, state: Any = None, method: str = "auto") -> Jacobians:
    """Every Jacobian dh_t/dh_{t-1} of `cell` run over `xs` (T, I) or (T, 1, I) from `state`
    (None: zeros; (h, c) for an LSTMCell), with its norms; see `Jacobians`.

    method "analytic" uses the formulas (RNNCell, LSTMCell only):
        tanh RNN:  dh_t/dh_{t-1} = diag(1 - h_t^2) W_hh          (relu: diag(z_t > 0) W_hh)
        LSTM:      dh_t/dh_{t-1} = diag(tanh(c_t) o'(z_o)) W_ho + diag(o_t tanh'(c_t)) *
                       [diag(c_{t-1} f'(z_f)) W_hf + diag(g_t i'(z_i)) W_hi
                        + diag(i_t g'(z_g)) W_hg]
                   dc_t/dc_{t-1} = diag(f_t)                       (h_{t-1}, the gates, held)
    "autograd" asks the cell itself: each step runs on H copies of h_{t-1} and one `tg.grad`
    with the identity as grad_outputs returns all H rows (this works for any cell formula, the
    GRU's included). "auto": analytic where a formula exists, else autograd.
    """
    fn = "jacobians"
    _check_cell(cell, fn)
    analytic_ok = isinstance(cell, (nn.RNNCell, nn.LSTMCell))
    if method not in ("auto", "analytic", "autograd"):
        raise ValueError(f"{fn}: method must be 'auto', 'analytic' or 'autograd', got "
                         f"{method!r}")
    if method == "analytic" and not analytic_ok:
        raise ValueError(f"{fn}: no analytic formula for {type(cell).__name__}; use "
                         "method='autograd' (or 'auto')")
    method = ("analytic" if analytic_ok else "autograd") if method == "auto" else method
    xs = _sequence(cell, xs, fn)
    h, c = _initial(cell, state, fn)
    step = _analytic_step if method == "analytic" else _autograd_step
    js, cjs, hs = [], [], []
    for x in xs:
        j, cj, h, c = step(cell, x, h, c)
        js.append(j)
        cjs.append(cj)
        hs.append(h)
    js = np.array(js)
    sigma, product = _running_norms(js)
    radius, w_sigma = _w_hh_stats(cell)
    result = Jacobians(type(cell).__name__, js, sigma, product, radius, w_sigma, method,
                       states=np.array(hs, dtype=np.float64))
    if c is not None:
        result.cell_jacobians = np.array(cjs)
        result.cell_sigma, result.cell_product_norm = _running_norms(result.cell_jacobians)
    return result


def _sig(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow for large |z|


def _analytic_step(cell: CellBase, x: np.ndarray, h: np.ndarray,
                   c: np.ndarray | None) -> tuple:
    """One step of the formulas in float64: (dh/dh_prev, dc/dc_prev or None, h, c)."""
    W = np.asarray(cell.linear.weight.data, dtype=np.float64)
    b = 0.0 if cell.linear.bias is None else np.asarray(cell.linear.bias.data, np.float64)
    H = cell.hidden_size
    W_h = W[:, cell.input_size:]
    z = W @ np.concatenate([x, h]).astype(np.float64) + b
    if isinstance(cell, nn.RNNCell):
        if cell.nonlinearity == "tanh":
            h_new = np.tanh(z)
            return (1.0 - h_new ** 2)[:, None] * W_h, None, h_new, None  # backprop through tanh
        h_new = np.maximum(z, 0.0)
        return (z > 0).astype(np.float64)[:, None] * W_h, None, h_new, None
    zi, zf, zg, zo = (z[k * H:(k + 1) * H] for k in range(4))
    Wi, Wf, Wg, Wo = (W_h[k * H:(k + 1) * H] for k in range(4))
    i, f, g, o = _sig(zi), _sig(zf), np.tanh(zg), _sig(zo)
    c_prev = np.asarray(c, dtype=np.float64)
    c_new = f * c_prev + i * g
    tc = np.tanh(c_new)
    dc_dh = ((c_prev * f * (1 - f))[:, None] * Wf + (g * i * (1 - i))[:, None] * Wi
             + (i * (1 - g ** 2))[:, None] * Wg)  # dc_t/dh_{t-1} through the gates f, i, g
    dh = (tc * o * (1 - o))[:, None] * Wo + (o * (1 - tc ** 2))[:, None] * dc_dh
    return dh, np.diag(f), o * tc, c_new


def _autograd_step(cell: CellBase, x: np.ndarray, h: np.ndarray,
                   c: np.ndarray | None) -> tuple:
    """One step through the cell object: H copies of the step, one tg.grad with the identity
    as grad_outputs, so that row k of the result is row k of the Jacobian."""
    H = cell.hidden_size
    eye = np.eye(H, dtype=cell.linear.weight.dtype)
    h_prev = Tensor(np.repeat(h[None], H, axis=0), requires_grad=True)
    xb = Tensor(np.repeat(x[None], H, axis=0))
    if c is None:
        h_new = cell(xb, h_prev)
        (dh,) = tg.grad(h_new, [h_prev], grad_outputs=eye)
        return np.asarray(dh, np.float64), None, h_new.data[0].copy(), None
    c_prev = Tensor(np.repeat(c[None], H, axis=0), requires_grad=True)
    h_new, c_new = cell(xb, (h_prev, c_prev))
    (dh,) = tg.grad(h_new, [h_prev], grad_outputs=eye, retain_graph=True)
    (dc,) = tg.grad(c_new, [c_prev], grad_outputs=eye)
    return (np.asarray(dh, np.float64), np.asarray(dc, np.float64), h_new.data[0].copy(),
            c_new.data[0].copy())


def plot_jacobians(results: Jacobians | Mapping[str, Jacobians],
                   path: str | os.PathLike | None = None, title: str | None = None) -> Any:
    """One log plot per result (side by side, at most three to a row, same y scale): the largest
    singular value of each dh_t/dh_{t-1}, the running product's norm, the line 1, and for the
    LSTM the cell-state path dc_t/dc_{t-1}. Saves to `path` and returns it, or returns the
    Figure."""
    plt = pyplot("plot_jacobians")
    panels = _panels(results, "plot_jacobians", ndim=0)
    for label, r in panels.items():
        if not isinstance(r, Jacobians):
            raise TypeError(f"plot_jacobians: {label or 'results'} is a {type(r).__name__}, "
                            "not the Jacobians that jacobians() returns")
    rows, cols = _grid(len(panels))
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.2 * rows), squeeze=False,
                             sharey=True)
    for ax, (label, r) in zip(_used_axes(axes, len(panels)), panels.items()):
        steps = np.arange(1, len(r.sigma) + 1)
        ax.semilogy(steps, r.sigma, ".", color="C0", markersize=4,
                    label=r"$\sigma_{max}(\partial h_t/\partial h_{t-1})$")
        ax.semilogy(steps, _finite(r.product_norm), "-", color="C0", linewidth=2,
                    label=r"$\|\prod_{k\leq t} \partial h_k/\partial h_{k-1}\|$")
        if r.cell_sigma is not None:
            ax.semilogy(steps, r.cell_sigma, ".", color="C2", markersize=4,
                        label=r"$\max f_t = \|\partial c_t/\partial c_{t-1}\|$")
            ax.semilogy(steps, _finite(r.cell_product_norm), "-", color="C2", linewidth=2,
                        label=r"$\|\prod_{k\leq t} \mathrm{diag}(f_k)\|$")
        ax.axhline(1.0, color="gray", linestyle=":", linewidth=1)
        rho = ", ".join(f"{k} {v:.2f}" for k, v in r.W_hh_radius.items())
        name = label if r.cell in label else f"{label + ': ' if label else ''}{r.cell}"
        ax.set_title(f"{name}\nspectral radius of W_hh: {rho}", fontsize=10)
        ax.set_xlabel("step t")
        _integer_ticks(ax, y=False)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _finish(fig, path, plt)


def _finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


# ----- 3. per-unit state gradients ----------------------------------------------------------------
def state_gradients(loss: Tensor, states: Any, sample: int | None = None) -> np.ndarray:
    """|dL/dh_t| per unit: a (T, H) array from ONE backward (`tg.grad`) of the scalar `loss`.

    states: the per-step tensors h_t the recurrence used, as a sequence, or the stacked
        output of `nn.unroll(..., fused=False)` / a sequence module (its parents are taken).
    sample: None sums |dL/dh_t| over the batch; an int keeps that sample alone.
    """
    fn = "state_gradients"
    if not isinstance(loss, Tensor) or loss.numel() != 1:
        raise ValueError(f"{fn}: loss must be a one-element Tensor, got "
                         f"{getattr(loss, 'shape', type(loss).__name__)}")
    steps = _tensor_steps(states, fn, "states")
    if isinstance(steps, Tensor):
        raise ValueError(f"{fn}: states must be the per-step tensors h_t (a list, or the output "
                         "stacked by nn.unroll(..., fused=False)); the gradient with respect to "
                         "a whole-sequence tensor misses the recurrent path")
    _check_requires_grad(steps, fn, "states")
    shapes = {t.shape for t in steps}
    if len(shapes) != 1:
        raise ValueError(f"{fn}: the states have different shapes {sorted(shapes)}")
    grads = tg.grad(loss, steps, retain_graph=True, allow_unused=True)
    out = []
    for h, g in zip(steps, grads):  # None: a state after the loss's step
        g = np.abs(np.asarray(np.zeros(h.shape) if g is None else g, dtype=np.float64))
        if g.ndim == 1:
            out.append(g)
            continue
        g = g.reshape(-1, g.shape[-1])
        if sample is None:
            out.append(g.sum(axis=0))
        elif not -g.shape[0] <= sample < g.shape[0]:
            raise IndexError(f"{fn}: sample {sample} is out of range for a batch of "
                             f"{g.shape[0]}")
        else:
            out.append(g[sample])
    return np.array(out)


def plot_state_gradients(grads: np.ndarray | Mapping[str, np.ndarray],
                         path: str | os.PathLike | None = None, title: str | None = None,
                         floor: float = 1e-12) -> Any:
    """Heatmap of |dL/dh_t| per unit (time across, units down) on a log colour scale; several
    (a dict label -> (T, H) array) are stacked, sharing the scale. Saves to `path` and returns
    it, or returns the Figure."""
    plt = pyplot("plot_state_gradients")

    panels = _panels(grads, "plot_state_gradients", ndim=2)
    norm = _log_norm(panels, floor, "plot_state_gradients")
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.2 + 2.0 * len(panels)),
                             squeeze=False, layout="constrained")
    image = None
    for ax, (label, g) in zip(axes[:, 0], panels.items()):
        T, H = g.shape
        image = ax.imshow(np.clip(g.T, norm.vmin, None), norm=norm, cmap="viridis",
                          aspect="auto", interpolation="nearest",
                          extent=(0.5, T + 0.5, H - 0.5, -0.5))
        ax.set_title(label, fontsize=10)
        ax.set_ylabel("unit")
        _integer_ticks(ax)
    axes[-1, 0].set_xlabel("step t")
    fig.colorbar(image, ax=list(axes[:, 0]), label=r"$|\partial L / \partial h_t|$ (log)")
    if title:
        fig.suptitle(title)
    return _finish(fig, path, plt)



def plot_step_norms(norms: Any, path: str | os.PathLike | None = None,
                    title: str | None = None) -> Any:
    """The gradient fading or exploding across time steps: one line per model of the gradient's
    norm at each step t (log scale). norms: the per-step norms ||dL/dh_t|| (a list of floats,
    e.g. collected by `register_hook`, or a (T,) array), a (T, H) array from `state_gradients`
    (each row's Euclidean norm is drawn), or a dict label -> either, drawn on one axis. Zero or
    non-finite norms leave a gap. Saves to `path` and returns it, or returns the Figure."""
    plt = pyplot("plot_step_norms")
    fn = "plot_step_norms"
    panels = dict(norms) if isinstance(norms, Mapping) else {"": norms}
    if not panels:
        raise ValueError(f"{fn}: nothing to draw")
    lines = {}
    for label, values in panels.items():
        try:
            v = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{fn}: {label or 'norms'} must be numbers, got "
                            f"{type(values).__name__}") from None
        if v.ndim == 2:
            v = np.sqrt((v * v).sum(axis=1))
        if v.ndim != 1 or v.size == 0:
            raise ValueError(f"{fn}: {label or 'norms'} must be (T,) norms or a (T, H) array "
                             f"from state_gradients, got shape {np.shape(values)}")
        lines[label] = _finite(v)
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    for k, (label, v) in enumerate(lines.items()):
        ax.semilogy(np.arange(1, v.size + 1), v, ".-", color=f"C{k % 10}", markersize=3,
                    linewidth=1.2, label=label or None)
    ax.set_xlabel("step t")
    ax.set_ylabel(r"$\|\partial L / \partial h_t\|$")
    _integer_ticks(ax, y=False)
    if any(panels):
        ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return _finish(fig, path, plt)

# ----- 4. animations ------------------------------------------------------------------------------
def _check_count(value: Any, fn: str, arg: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{fn}: {arg} must be a positive int, got {value!r}")
    return int(value)


def _gif_tools(fn: str, path: Any, max_frames: Any, max_side: Any) -> Any:
    """Everything a GIF needs, checked before any work: Pillow, `dot`, the arguments."""
    Image = require("PIL.Image", fn)
    import shutil

    import viz

    if shutil.which("dot") is None:
        raise viz.GraphvizNotFoundError(f"{fn}: the Graphviz program `dot` was not found. "
                                        f"{viz.INSTALL_HINT}")
    if not os.fspath(path).lower().endswith(".gif"):
        raise ValueError(f"{fn}: path must end in .gif, got {os.fspath(path)!r}")
    _check_count(max_frames, fn, "max_frames")
    _check_count(max_side, fn, "max_side")
    return Image


def _frames_to_gif(Image: Any, graphs: Sequence[Any], path: Any, max_side: int,
                   seconds: float) -> str:
    """Render each Digraph (viz.render to a PNG), pad to one size, shrink to max_side, save."""
    import tempfile

    import viz

    images = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, graph in enumerate(graphs):
            png = viz.render(graph, os.path.join(tmp, f"frame{k}.png"))
            with Image.open(png) as im:
                images.append(im.convert("RGB"))
    width = max(im.width for im in images)
    height = max(im.height for im in images)
    scale = min(1.0, max_side / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    frames = []
    for im in images:
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(im, (0, 0))
        frames.append(canvas.resize(size, Image.LANCZOS) if scale < 1 else canvas)
    path = os.fspath(path)
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], loop=0,
                   duration=max(20, round(seconds * 1000)), optimize=False)
    return path


def _grad_span(norms: Sequence[float]) -> tuple[float, float]:
    positive = [n for n in norms if n > 0 and math.isfinite(n)]
    if not positive:
        return 1e-12, 1.0
    lo, hi = min(positive), max(positive)
    return (lo, hi) if hi > lo * (1 + 1e-9) else (lo / 10, hi * 10)


def animate_backward(loss: Tensor, path: str | os.PathLike, max_frames: int = 60,
                     max_side: int = 1200, seconds_per_frame: float = 0.25,
                     **draw_options: Any) -> str:
    """A GIF of the unrolled graph of `loss` filling with gradient colour in the order backward
    reaches its tensors (step T first), on one fixed colour scale, with a frame counter.

    The gradients come from one `loss.backward(retain_grad=True)`, which frees the graph (as any
    backward does: call this last, or on a fresh forward); each frame sets `.grad` on the
    tensors reached so far and draws with `viz.draw(grads=True)`, which then reads `.grad`.
    Every `.grad` (leaves' included) is put back as it was before the call. At most
    `max_frames` frames (the tensors are shared out evenly between them) and at most
    `max_side` pixels on a side, so a long sequence cannot make a huge file.
    draw_options go to `viz.draw` (default detail="cells", show_norms=False; max_steps helps
    for long sequences; show_params=True draws the parameters too, slower). Needs Pillow
    (extra `flow`) and Graphviz, checked before any work. Returns the path.
    """
    fn = "animate_backward"
    Image = _gif_tools(fn, path, max_frames, max_side)
    if not isinstance(loss, Tensor) or loss.numel() != 1 or not loss.requires_grad:
        raise ValueError(f"{fn}: loss must be a one-element Tensor that requires grad")
    import viz

    everything = topological_order(loss)
    if viz.view._graph_freed(everything):
        raise RuntimeError(f"{fn}: the graph of loss was freed by an earlier backward pass "
                           "(loss.backward(), or tg.grad without retain_graph=True); it runs "
                           "its own backward, so call it on a fresh forward, before any other")
    everything = [t for t in everything if t.holds_grad]  # (a weight block reads its weight's)
    order = [t for t in reversed(everything) if t.requires_grad]  # backward's order
    saved = [t.grad for t in everything]
    graphs = []
    try:
        for t in everything:
            t.grad = None
        # one backward keeping every gradient: it frees the graph, so viz.draw reads `.grad`
        loss.backward(retain_grad=True)
        grads = {id(t): np.zeros(t.shape, t.dtype) if t.grad is None else t.grad
                 for t in order}
        span = _grad_span([float(np.linalg.norm(grads[id(t)])) for t in order
                           if not (t.is_leaf and t.requires_grad)])
        n, frames = len(order), min(max_frames, len(order))
        options = {"detail": "cells", "show_norms": False, "show_params": False,
                   **draw_options, "grads": True, "grad_range": span}
        name = loss.name or "loss"
        for t in everything:
            t.grad = None
        reached = 0
        for k in range(1, frames + 1):
            upto = math.ceil(k * n / frames)
            for t in order[reached:upto]:
                t.grad = grads[id(t)]
            reached = upto
            graphs.append(viz.draw(loss, title=f"backward from {name}: {reached}/{n} tensors "
                                   f"reached (frame {k}/{frames})", **options))
    finally:
        for t, g in zip(everything, saved):
            t.grad = g
    return _frames_to_gif(Image, graphs, path, max_side, seconds_per_frame)


def animate_training(loss_fn: Callable[[], Tensor], optimizer: Any, path: str | os.PathLike,
                     epochs: int, max_frames: int = 60, max_side: int = 1200,
                     seconds_per_frame: float = 0.4, **draw_options: Any) -> list[float]:
    """Train for `epochs` steps (zero_grad, loss = loss_fn(), backward, optimizer.step()) and
    write a GIF of the graph's gradient colours epoch by epoch, on ONE colour scale for all
    frames (the smallest and largest gradient norm over the epochs drawn).

    loss_fn must build the graph step by step (not a fused sequence node) for the picture to
    show the steps. With more epochs than max_frames, max_frames epochs spread evenly (first
    and last included) are drawn. draw_options go to `viz.draw` (default detail="ops",
    show_norms=False). Needs Pillow (extra `flow`) and Graphviz, checked before training.
    Returns the loss of every epoch.
    """
    fn = "animate_training"
    Image = _gif_tools(fn, path, max_frames, max_side)
    epochs = _check_count(epochs, fn, "epochs")
    import viz

    kept = set(np.unique(np.linspace(0, epochs - 1, min(max_frames, epochs)).round().astype(int)))
    losses, drawn = [], []
    for epoch in range(epochs):
        optimizer.zero_grad()
        loss = loss_fn()
        if not isinstance(loss, Tensor) or loss.numel() != 1:
            raise ValueError(f"{fn}: loss_fn must return a one-element Tensor, got "
                             f"{getattr(loss, 'shape', type(loss).__name__)}")
        loss.backward(retain_grad=epoch in kept)  # keep intermediate gradients to draw them
        optimizer.step()
        losses.append(loss.item())
        if epoch in kept:
            drawn.append((epoch, loss))
    norms = [float(np.linalg.norm(t.grad)) for _, loss in drawn for t in topological_order(loss)
             if t.grad is not None and not (t.is_leaf and t.requires_grad)]
    options = {"detail": "ops", "show_norms": False, **draw_options, "grads": True,
               "grad_range": _grad_span(norms)}
    graphs = [viz.draw(loss, title=f"epoch {epoch + 1}/{epochs}: loss {losses[epoch]:.4f}",
                       **options) for epoch, loss in drawn]
    _frames_to_gif(Image, graphs, path, max_side, seconds_per_frame)
    return losses


# ----- a model run for the views (the command and the examples use it) ---------------------------
@dataclass
class Unrolled:
    """A cell run step by step over x (T, B, I) with a loss at every step.

    x requires grad (for connectivity); states[t-1] = h_t; losses[t-1] = L_t, the
    cross-entropy of head(h_t) against targets[t-1]. Each step is made inside
    `tg.annotate(step=t, layer=0)`, so `viz` draws it as one cluster.
    """

    x: Tensor
    states: list[Tensor]
    losses: list[Tensor]


def unroll_losses(cell: CellBase, xs: Any, head: Any, targets: Any,
                  state: Any = None) -> Unrolled:
    """Run `cell` over xs (T, B, I) or (T, I) from `state` with a loss at every step; see
    `Unrolled`. head maps h_t to logits (e.g. nn.Linear(H, classes)); targets (T,) or (T, B)
    class indices."""
    fn = "unroll_losses"
    _check_cell(cell, fn)
    data = np.asarray(xs.data if isinstance(xs, Tensor) else xs)
    if data.ndim == 2:
        data = data[:, None, :]
    if data.ndim != 3 or data.shape[0] == 0 or data.shape[-1] != cell.input_size:
        raise ValueError(f"{fn}: xs must be (T, B, {cell.input_size}) or (T, "
                         f"{cell.input_size}) with T >= 1, got {np.shape(xs)}")
    targets = np.asarray(targets)
    if targets.shape[:1] != data.shape[:1] or targets.ndim > 2:
        raise ValueError(f"{fn}: targets must be (T,) or (T, B) with T = {data.shape[0]}, got "
                         f"{targets.shape}")
    x = Tensor(data.astype(cell.linear.weight.dtype), requires_grad=True, name="x")
    states, losses = [], []
    for t in range(1, data.shape[0] + 1):
        with tg.annotate(step=t, layer=0):
            x_t = x[t - 1]
            x_t.name = f"x_{t}"
            state = cell(x_t, state)
            h_t = state[0] if isinstance(state, tuple) else state
            h_t.name = f"h_{t}"
            if isinstance(state, tuple):
                state[1].name = f"c_{t}"
            target = np.broadcast_to(targets[t - 1], (data.shape[1],))
            loss = F.cross_entropy(head(h_t), target)
            loss.name = f"L_{t}"
        states.append(h_t)
        losses.append(loss)
    return Unrolled(x, states, losses)


CELL_TYPES = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}


def set_spectral_radius(cell: CellBase, radius: float) -> None:
    """Rescale the W_hh block of an RNNCell (the columns after the input's) in place so that its
    spectral radius (largest |eigenvalue|) is `radius`."""
    if not isinstance(cell, nn.RNNCell):
        raise TypeError(f"set_spectral_radius: cell must be an RNNCell, got "
                        f"{type(cell).__name__}")
    if not radius > 0:
        raise ValueError(f"set_spectral_radius: radius must be > 0, got {radius}")
    W_hh = cell.linear.weight.data[:, cell.input_size:]
    rho = float(np.max(np.abs(np.linalg.eigvals(W_hh))))
    if rho == 0:
        raise ValueError("set_spectral_radius: W_hh is nilpotent (spectral radius 0)")
    W_hh *= radius / rho  # a view: changes the parameter's data
    cell.linear.weight._bump_version()


def random_model(cell: str = "rnn", steps: int = 50, hidden_size: int = 64, input_size: int = 8,
                 classes: int = 4, seed: int = 0, radius: float | None = None) -> tuple:
    """The setting of the views in the command and the docs: (cell, head, xs, ys) with a cell
    "rnn" (tanh) / "lstm" / "gru" initialised from `seed`, a readout head Linear(H, classes),
    standard-normal inputs xs (steps, 1, input_size) and random targets ys (steps,).
    radius: rescale the tanh RNN's W_hh to this spectral radius (`set_spectral_radius`)."""
    if cell not in CELL_TYPES:
        raise ValueError(f"random_model: cell must be one of {sorted(CELL_TYPES)}, got {cell!r}")
    for name, value in (("steps", steps), ("hidden_size", hidden_size),
                        ("input_size", input_size), ("classes", classes)):
        _check_count(value, "random_model", name)
    if radius is not None and cell != "rnn":
        raise ValueError(f"random_model: radius rescales a tanh RNN's W_hh; not for {cell!r}")
    tg.manual_seed(seed)
    model = CELL_TYPES[cell](input_size, hidden_size)
    head = nn.Linear(hidden_size, classes)
    if radius is not None:
        set_spectral_radius(model, radius)
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((steps, 1, input_size)).astype(np.float32)
    return model, head, xs, rng.integers(0, classes, size=steps)


def render_view(view: str, cell: CellBase, xs: Any, head: Any, targets: Any,
                path: str | os.PathLike, title: str | None = None,
                **options: Any) -> dict[str, Any]:
    """Compute one view for `cell` on xs (see `unroll_losses`) and draw it to `path`.

    view: "connectivity" (||dL_t/dx_j||), "jacobians" (dh_t/dh_{t-1} of the first sample),
    "units" (|dL_T/dh_t| per unit, for the last step's loss) or "animate" (a GIF of backward
    from L_T; options go to `animate_backward`). The optional extra is checked first.
    Returns {"path", "data" (the array or Jacobians, None for animate), "seconds" (the run and
    the view's numbers, without the plotting; for animate, everything)}.
    """
    import time

    fn = "render_view"
    if view not in VIEWS:
        raise ValueError(f"{fn}: view must be one of {VIEWS}, got {view!r}")
    if view == "animate":
        _gif_tools("animate_backward", path, options.get("max_frames", 60),
                   options.get("max_side", 1200))
    else:
        pyplot(f"plot_{'state_gradients' if view == 'units' else view}")
    name = type(cell).__name__
    start = time.perf_counter()
    if view == "jacobians":
        data = jacobians(cell, np.asarray(xs.data if isinstance(xs, Tensor) else xs)[:, :1]
                         if np.ndim(xs) == 3 else xs)
        seconds = time.perf_counter() - start
        written = plot_jacobians({name: data}, path, title)
        return {"path": written, "data": data, "seconds": seconds}
    run = unroll_losses(cell, xs, head, targets)
    T = len(run.losses)
    if view == "connectivity":
        data = connectivity(run.losses, run.x)
        seconds = time.perf_counter() - start
        written = plot_connectivity({f"{name}, {T} steps": data}, path, title)
    elif view == "units":
        data = state_gradients(run.losses[-1], run.states)
        seconds = time.perf_counter() - start
        written = plot_state_gradients({f"{name}: |dL_{T}/dh_t| per unit": data}, path, title)
    else:  # the frames are the work here: timed with their drawing
        data = None
        written = animate_backward(run.losses[-1], path, **options)
        seconds = time.perf_counter() - start
    return {"path": written, "data": data, "seconds": seconds}


__all__ = ["connectivity", "plot_connectivity", "jacobians", "Jacobians", "plot_jacobians",
           "state_gradients", "plot_state_gradients", "plot_step_norms", "animate_backward",
           "animate_training", "unroll_losses", "Unrolled", "render_view", "random_model",
           "set_spectral_radius", "MissingExtraError", "VIEWS", "CELL_TYPES", "pyplot", "require"]
