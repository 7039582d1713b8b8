"""viz.flow: every view's numbers against an independent computation (central finite
differences in float64, a hand-derived Jacobian, tg.grad row by row), the shapes and causal
zeros, the GIFs (decoded, frames counted) and the optional-extra error."""

from __future__ import annotations

import shutil
import sys

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn, no_grad
from tinygrad_rnn.tensor import topological_order
from viz import flow

PNG = b"\x89PNG\r\n\x1a\n"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` missing")
T, IN, H, C = 5, 2, 3, 4


def _model(cell_type, seed=0, **kw):
    tg.manual_seed(seed)
    cell = cell_type(IN, H, dtype=np.float64, **kw)
    head = nn.Linear(H, C, dtype=np.float64)
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((T, 1, IN))
    ys = rng.integers(0, C, size=T)
    return cell, head, xs, ys


def _losses(cell, head, xs, ys):
    """L_1..L_T as floats, with no graph (the finite-difference side)."""
    with no_grad():
        run = flow.unroll_losses(cell, xs, head, ys)
    return np.array([loss.item() for loss in run.losses])


CELLS = [nn.RNNCell, nn.LSTMCell, nn.GRUCell]


@pytest.mark.parametrize("cell_type", CELLS)
def test_connectivity_matches_finite_differences(cell_type):
    cell, head, xs, ys = _model(cell_type)
    run = flow.unroll_losses(cell, xs, head, ys)
    got = flow.connectivity(run.losses, run.x)
    assert got.shape == (T, T)
    eps = 1e-6
    grads = np.zeros((T, T) + xs.shape[1:])  # dL_t / dx_j, by central differences
    for index in np.ndindex(*xs.shape):
        up, down = xs.copy(), xs.copy()
        up[index] += eps
        down[index] -= eps
        grads[(slice(None), index[0]) + index[1:]] = (
            _losses(cell, head, up, ys) - _losses(cell, head, down, ys)) / (2 * eps)
    expected = np.sqrt((grads ** 2).reshape(T, T, -1).sum(axis=2))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-9)
    assert np.all(got[np.triu_indices(T, 1)] == 0.0)  # x_j after t cannot reach L_t
    assert np.all(np.diag(got) > 0)


def test_connectivity_of_states_is_the_jacobian_frobenius_norm():
    cell, head, xs, ys = _model(nn.RNNCell, seed=1)
    run = flow.unroll_losses(cell, xs, head, ys)
    got = flow.connectivity(run.states, run.x)
    assert got.shape == (T, T)
    with pytest.raises(ValueError, match=r"connectivity: inputs\[0\] is not in the graph"):
        flow.connectivity(run.states, [run.x[j] for j in range(T)])  # new slices
    eps = 1e-6

    def states(x):
        with no_grad():
            return np.array([h.data for h in flow.unroll_losses(cell, x, head, ys).states])

    jac = np.zeros((T, H, T, IN))  # dh_t[k] / dx_j[i]
    for j in range(T):
        for i in range(IN):
            up, down = xs.copy(), xs.copy()
            up[j, 0, i] += eps
            down[j, 0, i] -= eps
            jac[:, :, j, i] = (states(up) - states(down))[:, 0, :] / (2 * eps)
    expected = np.sqrt((jac ** 2).sum(axis=(1, 3)))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-9)
    assert np.all(got[np.triu_indices(T, 1)] == 0.0)


def test_connectivity_grad_outputs_and_stacked_outputs():
    cell, head, xs, ys = _model(nn.GRUCell, seed=2)
    run = flow.unroll_losses(cell, xs, head, ys)
    v = np.random.default_rng(0).standard_normal((1, H))
    got = flow.connectivity(run.states, run.x, grad_outputs=v)
    for t in range(T):  # entry by entry: one tg.grad of <v, h_t> per input step
        for j in range(T):
            (g,) = tg.grad((run.states[t] * Tensor(v)).sum(), [run.x], retain_graph=True)
            assert got[t, j] == pytest.approx(np.linalg.norm(g[j]), rel=1e-12, abs=1e-15)
    stacked = tg.stack(run.losses, axis=0)  # one tensor, time on axis 0
    np.testing.assert_allclose(flow.connectivity(stacked, run.x),
                               flow.connectivity(run.losses, run.x), rtol=1e-12)


def test_connectivity_errors_name_the_function():
    cell, head, xs, ys = _model(nn.RNNCell)
    with no_grad():
        run = flow.unroll_losses(cell, xs, head, ys)
    with pytest.raises(ValueError, match="connectivity: inputs.*requires_grad=True"):
        flow.connectivity(run.losses, [Tensor(x) for x in xs])
    with pytest.raises(TypeError, match="connectivity: outputs"):
        flow.connectivity(3.0, [Tensor(x) for x in xs])


# ----- Jacobians ----------------------------------------------------------------------------------

def test_jacobian_of_a_two_unit_tanh_cell_by_hand():
    cell = nn.RNNCell(1, 2, dtype=np.float64)
    # W = [W_xh  W_hh], b
    cell.linear.weight.data[:] = [[0.5, 0.9, -0.4], [-0.3, 0.2, 1.1]]
    cell.linear.bias.data[:] = [0.1, -0.2]
    xs, h0 = np.array([[1.0], [-2.0]]), np.array([0.3, -0.6])
    result = flow.jacobians(cell, xs, h0)
    # by hand: z1 = 0.5*1 + 0.9*0.3 - 0.4*(-0.6) + 0.1 = 1.11; z2 = -0.3 + 0.06 - 0.66 - 0.2 = -1.1
    h1 = np.tanh([1.11, -1.1])
    J1 = np.array([[(1 - h1[0] ** 2) * 0.9, (1 - h1[0] ** 2) * -0.4],
                   [(1 - h1[1] ** 2) * 0.2, (1 - h1[1] ** 2) * 1.1]])
    z2 = np.array([0.5 * -2 + 0.9 * h1[0] - 0.4 * h1[1] + 0.1,
                   -0.3 * -2 + 0.2 * h1[0] + 1.1 * h1[1] - 0.2])
    d2 = 1 - np.tanh(z2) ** 2
    J2 = np.array([[d2[0] * 0.9, d2[0] * -0.4], [d2[1] * 0.2, d2[1] * 1.1]])
    np.testing.assert_allclose(result.jacobians, [J1, J2], rtol=1e-12)
    np.testing.assert_allclose(result.sigma, [np.linalg.svd(J)[1][0] for J in (J1, J2)],
                               rtol=1e-12)
    np.testing.assert_allclose(result.product_norm,
                               [np.linalg.svd(J1)[1][0], np.linalg.svd(J2 @ J1)[1][0]],
                               rtol=1e-12)
    W_hh = np.array([[0.9, -0.4], [0.2, 1.1]])
    # trace 2, det 0.99 + 0.08 = 1.07 > (trace/2)^2: eigenvalues 1 +- i sqrt(0.07), |.| = sqrt(det)
    assert result.W_hh_radius["h"] == pytest.approx(np.sqrt(1.07), rel=1e-12)
    assert result.W_hh_sigma["h"] == pytest.approx(np.linalg.svd(W_hh)[1][0], rel=1e-12)
    assert result.method == "analytic" and result.cell_jacobians is None


def _rows_by_tg_grad(cell, x, state):
    """dh/dh_prev (and dc/dc_prev) of one step, one tg.grad per row on a batch-of-one graph."""
    lstm = isinstance(state, tuple)
    h_prev = Tensor(state[0] if lstm else state, requires_grad=True)
    if lstm:
        c_prev = Tensor(state[1], requires_grad=True)
        h, c = cell(Tensor(x), (h_prev, c_prev))
    else:
        h = cell(Tensor(x), h_prev)
    eye = np.eye(cell.hidden_size)
    dh = np.array([tg.grad(h, [h_prev], grad_outputs=e, retain_graph=True)[0] for e in eye])
    dc = (np.array([tg.grad(c, [c_prev], grad_outputs=e, retain_graph=True)[0] for e in eye])
          if lstm else None)
    return dh, dc, (h.data, c.data) if lstm else h.data


@pytest.mark.parametrize("cell_type,kw", [(nn.RNNCell, {}), (nn.RNNCell, {"nonlinearity": "relu"}),
                                          (nn.LSTMCell, {}), (nn.LSTMCell, {"forget_bias": 1.0}),
                                          (nn.GRUCell, {})])
def test_jacobians_row_by_row_against_tg_grad(cell_type, kw):
    tg.manual_seed(3)
    cell = cell_type(IN, 4, dtype=np.float64, **kw)
    xs = np.random.default_rng(3).standard_normal((6, IN))
    result = flow.jacobians(cell, xs)
    assert result.jacobians.shape == (6, 4, 4)
    state = (np.zeros(4), np.zeros(4)) if cell_type is nn.LSTMCell else np.zeros(4)
    product = np.eye(4)
    for t, x in enumerate(xs):
        dh, dc, state = _rows_by_tg_grad(cell, x, state)
        np.testing.assert_allclose(result.jacobians[t], dh, rtol=1e-10, atol=1e-13)
        product = dh @ product
        assert result.product_norm[t] == pytest.approx(np.linalg.norm(product, 2), rel=1e-9)
        if dc is not None:
            np.testing.assert_allclose(result.cell_jacobians[t], dc, rtol=1e-10, atol=1e-13)
            assert np.count_nonzero(dc - np.diag(np.diag(dc))) == 0  # diag(f_t): the highway
            assert np.all((np.diag(dc) > 0) & (np.diag(dc) < 1))
    if cell_type is not nn.GRUCell:  # the formula and the cell object agree
        other = flow.jacobians(cell, xs, method="autograd")
        np.testing.assert_allclose(other.jacobians, result.jacobians, rtol=1e-10, atol=1e-13)


def test_gru_jacobian_against_finite_differences():
    tg.manual_seed(4)
    cell = nn.GRUCell(IN, 3, dtype=np.float64)
    x, h = np.array([0.4, -1.2]), np.array([0.2, -0.5, 0.7])
    (J,) = flow.jacobians(cell, x[None], h).jacobians
    eps = 1e-6
    with no_grad():
        fd = np.array([(cell(Tensor(x), Tensor(h + eps * e)).data
                        - cell(Tensor(x), Tensor(h - eps * e)).data) / (2 * eps)
                       for e in np.eye(3)]).T
    np.testing.assert_allclose(J, fd, rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="jacobians: no analytic formula for GRUCell"):
        flow.jacobians(cell, x[None], method="analytic")


@pytest.mark.parametrize("radius", [0.9, 1.0, 1.5])
def test_jacobian_stats_follow_the_spectral_radius(radius):
    tg.manual_seed(5)
    cell = nn.RNNCell(IN, 16, dtype=np.float64)
    W_hh = cell.linear.weight.data[:, IN:]
    W_hh *= radius / np.max(np.abs(np.linalg.eigvals(W_hh)))
    result = flow.jacobians(cell, np.zeros((40, IN)))  # zero inputs: the bias drives h
    assert result.W_hh_radius["h"] == pytest.approx(radius, rel=1e-9)
    # every factor is diag(tanh') W_hh with tanh' <= 1: never larger than ||W_hh||
    assert np.all(result.sigma <= result.W_hh_sigma["h"] * (1 + 1e-12))


# ----- per-unit state gradients -------------------------------------------------------------------

def _rnn_last_loss_from(cell, head, xs, ys, t, h_t):
    """L_T computed in NumPy from a given h_t onwards (tanh RNN): the finite-difference side."""
    W, b = cell.linear.weight.data, cell.linear.bias.data
    h = h_t
    for k in range(t + 1, len(xs)):
        h = np.tanh(W @ np.concatenate([xs[k], h]) + b)
    logits = head.weight.data @ h + head.bias.data
    return np.log(np.exp(logits).sum()) - logits[ys[-1]]


def test_state_gradients_match_finite_differences():
    cell, head, xs, ys = _model(nn.RNNCell, seed=6)
    xs = xs[:, 0]
    run = flow.unroll_losses(cell, xs, head, ys)
    got = flow.state_gradients(run.losses[-1], run.states)
    assert got.shape == (T, H)
    eps = 1e-6
    for t, h in enumerate(run.states):
        h = h.data[0]
        fd = [(_rnn_last_loss_from(cell, head, xs, ys, t, h + eps * e)
               - _rnn_last_loss_from(cell, head, xs, ys, t, h - eps * e)) / (2 * eps)
              for e in np.eye(H)]
        np.testing.assert_allclose(got[t], np.abs(fd), rtol=1e-5, atol=1e-10)


def test_state_gradients_batch_sum_sample_and_stacked_states():
    tg.manual_seed(7)
    cell = nn.LSTMCell(IN, H, dtype=np.float64)
    xs = Tensor(np.random.default_rng(7).standard_normal((T, 2, IN)))
    outputs, _ = nn.unroll(cell, xs, fused=False)
    loss = (outputs[T - 1] ** 2).sum()
    total = flow.state_gradients(loss, outputs)  # the stack's parents: h_1 .. h_T
    first = flow.state_gradients(loss, outputs, sample=0)
    second = flow.state_gradients(loss, outputs, sample=1)
    np.testing.assert_allclose(total, first + second, rtol=1e-12)
    hs = list(outputs.parents)
    (g_first,) = tg.grad(loss, [hs[0]], retain_graph=True)
    np.testing.assert_allclose(first[0], np.abs(g_first[0]), rtol=1e-12)
    assert np.all(total[-1] > 0)
    with pytest.raises(ValueError, match="state_gradients: states must be the per-step"):
        flow.state_gradients(loss, xs * 1.0)
    with pytest.raises(ValueError, match="state_gradients: loss must be a one-element"):
        flow.state_gradients(outputs, outputs)


# ----- pictures -----------------------------------------------------------------------------------

def test_plots_write_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    cell, head, xs, ys = _model(nn.LSTMCell)
    run = flow.unroll_losses(cell, xs, head, ys)
    conn = flow.connectivity(run.losses, run.x)
    units = flow.state_gradients(run.losses[-1], run.states)
    jac = flow.jacobians(cell, xs)
    paths = [flow.plot_connectivity({"lstm": conn, "again": conn}, tmp_path / "c.png"),
             flow.plot_jacobians({"lstm": jac}, tmp_path / "j.png", title="t"),
             flow.plot_state_gradients(units, tmp_path / "u.png")]
    for p in paths:
        assert open(p, "rb").read(8) == PNG



def test_step_norms_plot_draws_each_steps_gradient_norm_from_hooks_or_state_gradients():
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    cell, head, xs, ys = _model(nn.RNNCell)
    run = flow.unroll_losses(cell, xs, head, ys)
    units = flow.state_gradients(run.losses[-1], run.states)  # (T, H), batch of one
    hooked = {}
    for t, h in enumerate(run.states):
        h.register_hook(lambda g, t=t: hooked.__setitem__(t, float(np.linalg.norm(g.data))))
    run.losses[-1].backward()
    by_hook = [hooked[t] for t in range(T)]
    by_hook[0] = 0.0  # a zero leaves a gap
    fig = flow.plot_step_norms({"hooks": by_hook, "state_gradients": units})
    hooks_line, units_line = fig.axes[0].get_lines()
    assert list(hooks_line.get_xdata()) == list(range(1, T + 1))
    assert np.isnan(hooks_line.get_ydata()[0])
    np.testing.assert_allclose(hooks_line.get_ydata()[1:], units_line.get_ydata()[1:], rtol=1e-6)
    np.testing.assert_allclose(units_line.get_ydata(), np.linalg.norm(units, axis=1))
    assert fig.axes[0].get_yscale() == "log"
    plt.close(fig)
    with pytest.raises(ValueError, match=r"plot_step_norms: norms must be \(T,\) norms or a "
                                         r"\(T, H\) array .* got shape \(2, 3, 4\)"):
        flow.plot_step_norms(np.ones((2, 3, 4)))
    with pytest.raises(TypeError, match="plot_step_norms: a must be numbers, got str"):
        flow.plot_step_norms({"a": "abc"})

def test_many_panels_wrap_three_to_a_row():
    # six models side by side made a 31-inch (3432-pixel) figure, unreadable in a notebook
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    cell, head, xs, ys = _model(nn.RNNCell)
    run = flow.unroll_losses(cell, xs, head, ys)
    conn, jac = flow.connectivity(run.losses, run.x), flow.jacobians(cell, xs)
    for fig, panel_width in ((flow.plot_jacobians({f"rnn {k}": jac for k in range(5)}), 5.2),
                             (flow.plot_connectivity({f"rnn {k}": conn for k in range(5)}), 4.3)):
        places = {ax.get_title().split(":")[0]: (ax.get_subplotspec().rowspan.start,
                                                 ax.get_subplotspec().colspan.start)
                  for ax in fig.axes if ax.get_title().startswith("rnn ")}
        assert places == {"rnn 0": (0, 0), "rnn 1": (0, 1), "rnn 2": (0, 2),
                          "rnn 3": (1, 0), "rnn 4": (1, 1)}
        assert fig.get_size_inches()[0] <= 3 * panel_width + 1.2
        plt.close(fig)
    four = flow.plot_jacobians({f"rnn {k}": jac for k in range(4)})  # 2 x 2, not 3 + 1
    assert sorted((ax.get_subplotspec().rowspan.start, ax.get_subplotspec().colspan.start)
                  for ax in four.axes) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    plt.close(four)


@pytest.mark.parametrize("blocked", ["matplotlib", "PIL"])
def test_missing_extra_is_one_clear_error_before_any_work(monkeypatch, tmp_path, blocked):
    cell, head, xs, ys = _model(nn.RNNCell)
    run = flow.unroll_losses(cell, xs, head, ys)
    monkeypatch.setitem(sys.modules, blocked, None)  # `import matplotlib` / `import PIL` fails
    monkeypatch.setitem(sys.modules, f"{blocked}.Image", None)

    def no_backward(*args, **kwargs):
        raise AssertionError("work was done before the missing extra was reported")

    monkeypatch.setattr(tg, "grad", no_backward)
    package = "Pillow" if blocked == "PIL" else "matplotlib"
    with pytest.raises(flow.MissingExtraError, match=rf"needs {package}.*tinygrad-rnn\[flow\]"):
        if blocked == "PIL":
            flow.animate_backward(run.losses[-1], tmp_path / "a.gif")
        else:
            flow.render_view("connectivity", cell, xs, head, ys, tmp_path / "c.png")
    assert list(tmp_path.iterdir()) == []


def _gif_frames(path):
    from PIL import Image

    with Image.open(path) as im:
        assert im.format == "GIF"
        return im.n_frames, im.size


@needs_dot
def test_animate_backward_gif_has_one_frame_per_share_of_the_tensors(tmp_path):
    pytest.importorskip("PIL")
    cell, head, xs, ys = _model(nn.RNNCell)
    run = flow.unroll_losses(cell, xs[:2], head, ys[:2])
    loss = run.losses[-1]
    reached = [t for t in topological_order(loss) if t.requires_grad]
    before = [t.grad for t in reached]
    path = flow.animate_backward(loss, tmp_path / "b.gif", max_frames=3, max_side=300)
    frames, size = _gif_frames(path)
    assert frames == 3 and max(size) <= 300
    assert [t.grad for t in reached] == before  # every .grad left as it was
    from PIL import Image

    with Image.open(path) as im:  # colour fills in: more warm pixels frame after frame
        warm = []
        for k in range(frames):
            im.seek(k)
            rgb = np.asarray(im.convert("RGB"), dtype=int)
            warm.append(int(np.sum(rgb[..., 0] - rgb[..., 2] > 80)))
    assert warm[0] < warm[1] < warm[2]
    w = Tensor([0.5, -1.0], requires_grad=True, name="w")
    small = ((w * 2.0).tanh()).sum()  # w, w*2, tanh, sum: four tensors need a gradient
    few = flow.animate_backward(small, tmp_path / "all.gif", max_frames=60, max_side=200)
    assert _gif_frames(few)[0] == 4  # fewer tensors than the cap: one frame each
    assert w.grad is None
    with pytest.raises(ValueError, match="animate_backward: path must end in .gif"):
        flow.animate_backward(loss, tmp_path / "b.png")


@needs_dot
def test_animate_backward_on_a_freed_graph_names_itself(tmp_path):
    # it used to fail inside its own loss.backward() with backward's 'a second time' message,
    # which names neither animate_backward nor the backward the user had already run
    pytest.importorskip("PIL")
    cell, head, xs, ys = _model(nn.RNNCell)
    loss = flow.unroll_losses(cell, xs[:2], head, ys[:2]).losses[-1]
    loss.backward()
    grads = [p.grad.copy() for p in cell.parameters()]
    with pytest.raises(RuntimeError, match="animate_backward: the graph of loss was freed by an "
                                           "earlier backward pass .* fresh forward"):
        flow.animate_backward(loss, tmp_path / "b.gif")
    assert all(np.array_equal(g, p.grad) for g, p in zip(grads, cell.parameters()))
    assert not (tmp_path / "b.gif").exists()


def test_a_sequence_module_given_as_the_cell_is_told_to_pass_a_cell():
    lstm, xs = nn.LSTM(IN, H), np.zeros((T, 1, IN))
    for call in (lambda: flow.jacobians(lstm, xs),
                 lambda: flow.unroll_losses(lstm, xs, nn.Linear(H, C), np.zeros(T, int))):
        with pytest.raises(TypeError, match=r"got LSTM \(a sequence module: pass one of its "
                                            r"cells, e\.g\. lstm\.cells\[0\]\)"):
            call()
    with pytest.raises(TypeError, match=r"cell must be an RNNCell, LSTMCell or GRUCell, got "
                                        r"Linear$"):
        flow.jacobians(nn.Linear(IN, H), xs)


@needs_dot
def test_animate_training_draws_capped_epochs_on_one_scale(tmp_path):
    pytest.importorskip("PIL")
    cell, head, xs, ys = _model(nn.RNNCell)
    params = [*cell.parameters(), *head.parameters()]
    opt = tg.optim.Adam(params, lr=0.05)

    def loss_fn():
        run = flow.unroll_losses(cell, xs[:3], head, ys[:3])
        return run.losses[0] + run.losses[1] + run.losses[2]

    losses = flow.animate_training(loss_fn, opt, tmp_path / "t.gif", epochs=7, max_frames=3,
                                   max_side=400)
    assert len(losses) == 7 and losses[-1] < losses[0]
    frames, size = _gif_frames(tmp_path / "t.gif")
    assert frames == 3 and max(size) <= 400


# ----- the command --------------------------------------------------------------------------------

def _flow_cli(capsys, *args):
    from tinygrad_rnn import cli

    code = cli.main(["flow", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("view", ["connectivity", "jacobians", "units"])
def test_flow_command_draws_each_view(view, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / f"{view}.png"
    code, stdout, err = _flow_cli(capsys, "--cell", "gru", "--steps", "6", "--hidden", "5",
                                  "--view", view, "-o", str(out))
    assert code == 0, err
    assert f"wrote {out}" in stdout and open(out, "rb").read(8) == PNG


@needs_dot
def test_flow_command_animates_a_checkpoint_model(tmp_path, capsys):
    pytest.importorskip("PIL")
    from tinygrad_rnn import charlm

    tg.manual_seed(0)
    model = charlm.CharModel(4, hidden_size=3, num_layers=1, cell="rnn")
    ckpt = tmp_path / "lm.npz"
    tg.save(ckpt, model, vocab=list("ehlo"), cell="rnn", hidden_size=3, num_layers=1)
    out = tmp_path / "b.gif"
    code, stdout, err = _flow_cli(capsys, "--checkpoint", str(ckpt), "--steps", "2", "--view",
                                  "animate", "--max-frames", "2", "-o", str(out))
    assert code == 0, err
    assert _gif_frames(out)[0] == 2


@pytest.mark.parametrize("args,words", [
    (["--view", "spectrum"], ["--view", "invalid choice"]),
    (["--steps", "0"], ["--steps", "expected a positive integer"]),
    (["--radius", "-1"], ["--radius", "-1"]),
    (["--cell", "lstm", "--radius", "1.5"], ["radius", "'lstm'"]),
    (["--view", "animate", "-o", "x.png"], ["-o", ".gif"]),
    (["-o", "x.txt"], ["-o", ".png"]),
    (["--checkpoint", "no/such/file.npz", "--steps", "3"], ["no/such/file.npz"]),
])
def test_flow_command_bad_arguments_are_one_line(args, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, stdout, err = _flow_cli(capsys, *args)
    assert code == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    for word in words:
        assert word in err
    assert list(tmp_path.iterdir()) == []  # nothing written
