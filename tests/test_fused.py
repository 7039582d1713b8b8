"""Fused Functions against the per-op engine path (float64, 1e-12) and finite differences.

The references are written here with the engine's ordinary ops (`tg.cat`, `@`, `+`, `.tanh()`,
`.sigmoid()`, ...), step by step, exactly as the cells in the [x; h] form compute. Every check runs
on both backends, and the whole-sequence nodes on both of their inner paths (the compiled time
loop and the Python loop over BLAS products).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.tensor import topological_order
import tinygrad_rnn.functional as F
from tinygrad_rnn import fused, kernels, nn

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["numba", "numpy"])
def backend(request):
    previous = kernels.get_backend()
    kernels.set_backend(request.param)
    yield request.param
    kernels.set_backend(previous)


@pytest.fixture(params=["tiny", "small", "big"])
def inner_path(request, monkeypatch):
    """Force the whole-sequence nodes onto one of their inner paths (`kernels.Layer`): the whole
    RNN layer in one compiled call (tiny), the compiled time loop after one BLAS input product
    (small), or a Python loop over BLAS products (big)."""
    monkeypatch.setattr(kernels.sequence, "SMALL_BELOW", 0 if request.param == "big" else 10**12)
    monkeypatch.setattr(kernels.sequence, "WEIGHT_PER_STEP", 10**12)  # even a 1-step sequence
    monkeypatch.setattr(kernels.matmul, "CROSSOVER", 10**12 if request.param == "tiny" else 0)
    return request.param


def test_inner_path_fixture_forces_each_path(backend, inner_path):
    """The fixture above really selects the path the tests claim to cover (the NumPy backend
    always runs "big"; "tiny" is for RNN layers only)."""
    want = "big" if backend == "numpy" else inner_path
    assert kernels.Layer(1, 3, 2, 4, 1, np.dtype(np.float32)).path == want
    assert kernels.Layer(1, 3, 2, 4, 4, np.dtype(np.float32)).path == \
        ("small" if want == "tiny" else want)


def test_a_short_sequence_does_not_pay_for_copying_the_weight(backend):
    """The small path copies W_h first: a layer called one step at a time (a seq2seq decoder)
    runs the big path unless W_h is small; a long sequence of the same layer runs small."""
    f32 = np.dtype(np.float32)
    small = "big" if backend == "numpy" else "small"
    assert kernels.Layer(1, 1, 256, 256, 3, f32).path == "big"  # G*H*H = 196608 for 1 step
    assert kernels.Layer(100, 1, 256, 256, 3, f32).path == small
    assert kernels.Layer(1, 1, 16, 16, 4, f32).path == small  # 1024 elements: cheap to copy
    assert kernels.Layer(25, 1, 100, 100, 4, f32).path == small  # the benchmark's (1, 25, 100)


def _leaf(rng, shape, scale=1.0):
    return tg.Tensor(rng.standard_normal(shape) * scale, requires_grad=True)


# ----- per-op references
def rnn_per_op(x, h, W, b, nonlinearity="tanh"):
    hs = []
    for t in range(x.shape[0]):
        z = tg.cat([x[t], h], axis=1) @ W.T
        if b is not None:
            z = z + b
        h = z.tanh() if nonlinearity == "tanh" else z.relu()
        hs.append(h)
    return tg.stack(hs)


def lstm_step_per_op(x_t, h, c, W, b):
    z = tg.cat([x_t, h], axis=1) @ W.T
    if b is not None:
        z = z + b
    z_i, z_f, z_g, z_o = z.split(4, axis=1)
    i, f, g, o = z_i.sigmoid(), z_f.sigmoid(), z_g.tanh(), z_o.sigmoid()
    c = f * c + i * g
    return o * c.tanh(), c


def lstm_per_op(x, h, c, W, b):
    hs = []
    for t in range(x.shape[0]):
        h, c = lstm_step_per_op(x[t], h, c, W, b)
        hs.append(h)
    return tg.stack(hs), h, c


def _grads_equal(fn_a, fn_b, inputs, rng, tol=1e-12):
    """Forward values and the gradient of every input agree between two implementations."""
    results = []
    for fn in (fn_a, fn_b):
        for x in inputs:
            x.grad = None
        outs = fn(*inputs)
        outs = outs if isinstance(outs, tuple) else (outs,)
        seed = np.random.default_rng(7)
        loss = sum((o * seed.standard_normal(o.shape)).sum() for o in outs)
        loss.backward()
        results.append([o.data for o in outs] + [x.grad for x in inputs if x.requires_grad])
    for a, b in zip(*results):
        assert a is not None and b is not None
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


# ----- output layer and loss
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_shape", [(4, 3), (2, 4, 3)])
def test_linear_equals_per_op_and_gradchecks(rng, bias, x_shape):
    x, W = _leaf(rng, x_shape), _leaf(rng, (5, 3))
    inputs = [x, W] + ([_leaf(rng, (5,))] if bias else [])
    _grads_equal(fused.LinearLayer.apply, lambda x, W, *b: (x @ W.T + b[0]) if b else x @ W.T,
                 inputs, rng)
    assert tg.gradcheck(fused.LinearLayer.apply, inputs)
    assert fused.LinearLayer.apply(*inputs).op == "linear"


def test_nn_linear_is_one_node(rng):
    layer = nn.Linear(3, 5, dtype=np.float64)
    x = tg.Tensor(rng.standard_normal((4, 3)))
    y = layer(x)
    assert y.op == "linear" and y.parents == (x, layer.weight, layer.bias)
    np.testing.assert_allclose(y.data, x.data @ layer.weight.data.T + layer.bias.data, rtol=1e-12)
    no_bias = nn.Linear(3, 5, bias=False, dtype=np.float64)
    assert no_bias(x).parents == (x, no_bias.weight)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_equals_functional_and_gradchecks(backend, rng, reduction):
    logits = _leaf(rng, (6, 5), 3.0)
    target = rng.integers(0, 5, size=6)
    def composed(z):  # -log_softmax at the targets, from primitive ops
        picked = -F.log_softmax(z)[np.arange(6), target]
        return picked.mean() if reduction == "mean" else picked.sum()

    _grads_equal(lambda z: F.cross_entropy(z, target, reduction), composed, [logits], rng)
    assert tg.gradcheck(lambda z: F.cross_entropy(z, target, reduction), [logits])
    assert F.cross_entropy(logits, target, reduction).op == "cross_entropy"  # the fused node
    big = tg.Tensor(np.array([[1e4, -1e4, 0.0]]))  # stable for large logits
    assert np.isfinite(F.cross_entropy(big, np.array([1])).item())


def test_cross_entropy_node_rejects_bad_targets(backend, rng):
    logits = tg.Tensor(rng.standard_normal((3, 4)))

    def node(target):
        return fused.CrossEntropy.apply(logits, target=np.array(target), reduction="mean")

    with pytest.raises(IndexError, match=r"target 4 \(row 2\) is outside \[0, 4\)"):
        node([0, 1, 4])
    with pytest.raises(IndexError, match=r"target -1 \(row 0\)"):
        node([-1, 1, 2])


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_with_minus_inf_logits(backend, reduction, dtype):
    """A logit of -inf (a masked class) anywhere in a row, the first included: the loss and its
    gradient are finite, as in PyTorch: -log softmax([-inf, 1, 0])[1] = log(1 + e^-1)."""
    for row, target in (([-np.inf, 1.0, 0.0], 1), ([1.0, -np.inf, 0.0], 0),
                        ([0.0, 1.0, -np.inf], 1)):
        logits = tg.Tensor(np.array([row, [0.5, -0.5, 2.0]], dtype=dtype), requires_grad=True)
        loss = F.cross_entropy(logits, [target, 2], reduction)
        want = np.log1p(np.exp(-1.0)) + np.log(1 + np.exp(-1.5) + np.exp(-2.5))
        np.testing.assert_allclose(loss.item(), want / (2 if reduction == "mean" else 1),
                                   rtol=1e-6)
        loss.backward()
        assert np.all(np.isfinite(logits.grad))
        assert logits.grad[0, row.index(-np.inf)] == 0.0
    single = F.cross_entropy(tg.Tensor(np.array([[-np.inf, 1.0, 0.0]], dtype)), [1])
    np.testing.assert_allclose(single.item(), 0.3133, atol=1e-4)


# ----- whole sequences
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("bias", [True, False])
def test_rnn_layer_equals_per_op(backend, inner_path, rng, nonlinearity, bias):
    x, h0, W = _leaf(rng, (6, 3, 2)), _leaf(rng, (3, 4)), _leaf(rng, (4, 6), 0.6)
    b = _leaf(rng, (4,)) if bias else None
    inputs = [x, h0, W] + ([b] if bias else [])
    _grads_equal(lambda x, h0, W, *b: fused.rnn_layer(x, h0, W, *b, nonlinearity=nonlinearity),
                 lambda x, h0, W, *b: rnn_per_op(x, h0, W, b[0] if b else None, nonlinearity),
                 inputs, rng)


@pytest.mark.parametrize("bias", [True, False])
def test_lstm_layer_equals_per_op(backend, inner_path, rng, bias):
    x, h0, c0 = _leaf(rng, (6, 3, 2)), _leaf(rng, (3, 4)), _leaf(rng, (3, 4))
    W = _leaf(rng, (16, 6), 0.6)
    b = _leaf(rng, (16,)) if bias else None
    inputs = [x, h0, c0, W] + ([b] if bias else [])
    _grads_equal(lambda x, h0, c0, W, *b: fused.lstm_layer(x, h0, c0, W, *b),
                 lambda x, h0, c0, W, *b: lstm_per_op(x, h0, c0, W, b[0] if b else None),
                 inputs, rng)


@pytest.mark.parametrize("cell_class", [
    nn.RNNCell, nn.LSTMCell, nn.GRUCell,
    lambda *a, **kw: nn.GRUCell(*a, reset_after=False, **kw)],
    ids=["rnn", "lstm", "gru", "gru-cho"])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("with_state", [True, False], ids=["state", "zeros"])
def test_unroll_fused_equals_step_by_step(rng, cell_class, batched, with_state):
    """nn.unroll: one node (fused) and one cell call per step give the same outputs, final
    state and gradients for x, the initial state and the weights (float64, 1e-12)."""
    cell = cell_class(3, 4, dtype=np.float64)
    lead = (2,) if batched else ()
    x = _leaf(rng, (6,) + lead + (3,))
    lstm = cell_class is nn.LSTMCell
    state = None
    if with_state:
        state = (_leaf(rng, lead + (4,)), _leaf(rng, lead + (4,))) if lstm else \
            _leaf(rng, lead + (4,))
    states = [] if state is None else list(state) if lstm else [state]
    leaves = [x, *cell.parameters(), *states]
    weights = rng.standard_normal((6,) + lead + (4,))
    results = {}
    for fused_path in (True, False):
        for leaf in leaves:
            leaf.grad = None
        outputs, final = nn.unroll(cell, x, state, fused=fused_path)
        assert outputs.shape == (6,) + lead + (4,)
        h_T = final[0] if lstm else final
        np.testing.assert_array_equal(h_T.data, outputs.data[-1])
        loss = (outputs * tg.Tensor(weights)).sum() + (final[1].sum() if lstm else 0.0)
        loss.backward()
        results[fused_path] = [outputs.data] + [leaf.grad for leaf in leaves]
    for got, want in zip(results[True], results[False]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_unroll_fused_is_one_node_and_checks_x(rng):
    cell = nn.RNNCell(3, 4)
    outputs, _ = nn.unroll(cell, tg.Tensor(np.zeros((5, 2, 3), np.float32)))
    # one node, and the outputs its reshape (a node apart from h_T, as PyTorch's output)
    assert [t.op for t in topological_order(outputs) if t.op] == ["rnn_layer", "reshape"]
    with pytest.raises(ValueError, match=r"unroll: x must have shape \(T, B, I\)"):
        nn.unroll(cell, tg.Tensor(np.zeros(3, np.float32)))
    with pytest.raises(ValueError, match=r"I = input_size = 3, got \(5, 2, 4\)"):
        nn.unroll(cell, tg.Tensor(np.zeros((5, 2, 4), np.float32)))
    with pytest.raises(TypeError, match="unroll: cell must be an RNNCell, LSTMCell or GRUCell, "
                                        "got Linear"):
        nn.unroll(nn.Linear(3, 4), tg.Tensor(np.zeros((5, 2, 3), np.float32)))
    # float64 input to a float32 cell: the fused node needs one dtype, so it runs step by step
    outputs, h_T = nn.unroll(cell, tg.Tensor(np.ones((5, 2, 3))))
    assert isinstance(outputs, tg.Tensor) and outputs.shape == (5, 2, 4)
    np.testing.assert_array_equal(outputs.data[-1], h_T.data)


def test_layers_gradcheck(backend, inner_path, rng):
    x, h0, c0 = _leaf(rng, (4, 2, 3)), _leaf(rng, (2, 3)), _leaf(rng, (2, 3))
    W, W4 = _leaf(rng, (3, 6), 0.6), _leaf(rng, (12, 6), 0.6)
    b, b4 = _leaf(rng, (3,)), _leaf(rng, (12,))
    assert tg.gradcheck(fused.rnn_layer, [x, h0, W, b])
    assert tg.gradcheck(lambda *a: fused.LSTMLayer.apply(*a), [x, h0, c0, W4, b4])
    assert tg.gradcheck(lambda *a: fused.RNNLayer.apply(*a, nonlinearity="relu"), [x, h0, W])


def test_layer_is_one_node_with_ordered_parents(rng):
    x, h0, W, b = _leaf(rng, (5, 2, 3)), _leaf(rng, (2, 4)), _leaf(rng, (4, 7)), _leaf(rng, (4,))
    hs = fused.rnn_layer(x, h0, W, b)
    assert hs.op == "rnn_layer" and hs.parents == (x, h0, W, b)
    out = fused.LSTMLayer.apply(x, h0, h0, _leaf(rng, (16, 7)))
    assert out.op == "lstm_layer" and out.shape == (6, 2, 4)  # h_1..h_5, then c_5


def test_float32_layers_stay_float32_and_match_float64(rng):
    x, h0, W, b = (rng.standard_normal(s) * 0.5 for s in [(8, 4, 3), (4, 5), (5, 8), (5,)])
    out64 = fused.rnn_layer(*(tg.Tensor(a) for a in (x, h0, W, b))).data
    out32 = fused.rnn_layer(*(tg.Tensor(a.astype(np.float32)) for a in (x, h0, W, b))).data
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("reset_after", [True, False], ids=["reset_after", "cho"])
def test_float32_gru_layer_stays_float32_and_matches_float64(backend, inner_path, rng,
                                                             reset_after):
    """float32 (fast activations in compiled loops) agrees with float64, forward and backward."""
    arrays = [rng.standard_normal(s) * 0.5 for s in [(8, 4, 3), (4, 5), (15, 8), (15,), (5,)]]
    if not reset_after:
        arrays.pop()  # Cho's GRU has no b_hn
    results = {}
    for dtype in (np.float32, np.float64):
        leaves = [tg.Tensor(a.astype(dtype), requires_grad=True) for a in arrays]
        hs = fused.gru_layer(*leaves, reset_after=reset_after)
        (hs * tg.Tensor(np.linspace(-1, 1, hs.data.size).reshape(hs.shape).astype(dtype))
         ).sum().backward()
        assert hs.dtype == dtype and all(t.grad.dtype == dtype for t in leaves)
        results[dtype] = [hs.data] + [t.grad for t in leaves]
    for a, b in zip(results[np.float32], results[np.float64]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_bad_inputs_name_the_op_and_shapes(rng):
    x, h0 = tg.Tensor(rng.standard_normal((5, 2, 3))), tg.Tensor(rng.standard_normal((2, 4)))
    with pytest.raises(ValueError, match=r"rnn_layer.*\(4, 7\)"):
        fused.rnn_layer(x, h0, tg.Tensor(rng.standard_normal((4, 6))))
    with pytest.raises(ValueError, match="rnn_layer: state of shape"):
        fused.rnn_layer(x, tg.Tensor(np.zeros((3, 4))), tg.Tensor(np.zeros((4, 7))))
    with pytest.raises(ValueError, match=r"rnn_layer: x must be \(T, B, I\)"):
        fused.rnn_layer(x[0], h0, tg.Tensor(np.zeros((4, 7))))
    with pytest.raises(ValueError, match="nonlinearity"):
        fused.rnn_layer(x, h0, tg.Tensor(np.zeros((4, 7))), nonlinearity="gelu")
    with pytest.raises(TypeError, match="one float dtype"):
        fused.rnn_layer(x, h0, tg.Tensor(np.zeros((4, 7), np.float32)))
    with pytest.raises(ValueError, match=r"lstm_layer: W must be \(4\*H, I\+H\)"):
        fused.lstm_layer(x, h0, h0, tg.Tensor(np.zeros((6, 7))))


# ----- the sequence modules: fused default vs fused=False
@pytest.mark.parametrize("module, options", [
    (nn.RNN, {}), (nn.RNN, {"nonlinearity": "relu"}), (nn.LSTM, {}), (nn.GRU, {}),
    (nn.GRU, {"reset_after": False})], ids=["rnn", "rnn-relu", "lstm", "gru", "gru-cho"])
@pytest.mark.parametrize("x_shape", [(5, 3, 4), (5, 4)], ids=["batched", "unbatched"])
@pytest.mark.parametrize("given_state", [False, True])
def test_modules_fused_equals_per_op(backend, rng, module, options, x_shape, given_state):
    m = module(4, 6, num_layers=2, dtype=np.float64, **options)
    assert m.fused  # the default
    x = _leaf(rng, x_shape)
    state_shape = (2,) + x_shape[1:-1] + (6,)
    state = None
    inputs = [x]
    if given_state:
        if module is nn.LSTM:
            state = (_leaf(rng, state_shape), _leaf(rng, state_shape))
            inputs += list(state)
        else:
            state = _leaf(rng, state_shape)
            inputs.append(state)
    params = list(m.parameters())

    def run(fused_flag):
        def fn(*_):
            out, final = m(x, state, fused=fused_flag)
            return (out,) + (final if isinstance(final, tuple) else (final,))
        return fn

    for p in params:
        p.grad = None
    results = []
    for flag in (True, False):
        for p in params + inputs:
            p.grad = None
        outs = run(flag)()
        seed = np.random.default_rng(3)
        sum((o * seed.standard_normal(o.shape)).sum() for o in outs).backward()
        results.append([o.data for o in outs] + [t.grad for t in params + inputs])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_module_graphs_fused_is_one_node_per_layer_per_op_is_unrolled(rng):
    m = nn.LSTM(3, 4, num_layers=2, dtype=np.float64)
    x = tg.Tensor(rng.standard_normal((5, 2, 3)))
    out, _ = m(x)
    ops = _graph_ops(out)
    assert ops.count("lstm_layer") == 2 and "sigmoid" not in ops
    assert {t.tags["layer"] for t in topological_order(out) if t.op == "lstm_layer"} == {0, 1}
    out_per_op, _ = m(x, fused=False)
    assert _graph_ops(out_per_op).count("sigmoid") == 2 * 5 * 3  # i, f, o per step per layer


@pytest.mark.parametrize("reset_after", [True, False], ids=["reset_after", "cho"])
@pytest.mark.parametrize("bias", [True, False])
def test_gru_layer_equals_per_op_cells_and_gradchecks(backend, inner_path, rng, reset_after,
                                                      bias):
    x, h0, W = _leaf(rng, (5, 3, 2), 0.7), _leaf(rng, (3, 4), 0.7), _leaf(rng, (12, 6), 0.7)
    biases = [_leaf(rng, (12,))] + ([_leaf(rng, (4,))] if reset_after else []) if bias else []
    inputs = [x, h0, W] + biases
    cell = nn.GRUCell(2, 4, bias=bias, reset_after=reset_after, dtype=np.float64)
    cell.linear.weight = W  # the cell reads the same leaf tensors
    if bias:
        cell.linear.bias = biases[0]
        if reset_after:
            cell.b_hn = biases[1]

    def layer(x, h0, W, *b):
        return fused.gru_layer(x, h0, W, *b, reset_after=reset_after)

    def per_op(x, h, *_):
        hs = []
        for t in range(x.shape[0]):
            h = cell(x[t], h)
            hs.append(h)
        return tg.stack(hs)

    _grads_equal(layer, per_op, inputs, rng)
    assert tg.gradcheck(layer, inputs)
    assert layer(*inputs).op == "gru_layer"


def test_gru_layer_checks_its_biases(rng):
    x, h0, W = (tg.Tensor(rng.standard_normal(s)) for s in [(5, 2, 3), (2, 4), (12, 7)])
    b, b_hn = tg.Tensor(np.zeros(12)), tg.Tensor(np.zeros(4))
    with pytest.raises(ValueError, match="gru_layer: with reset_after=True a bias b needs b_hn"):
        fused.gru_layer(x, h0, W, b)
    with pytest.raises(ValueError, match=r"gru_layer: b_hn must be \(H,\) = \(4,\)"):
        fused.gru_layer(x, h0, W, b, b_hn, reset_after=False)
    with pytest.raises(ValueError, match=r"b_hn must be \(H,\).*got shape \(12,\)"):
        fused.gru_layer(x, h0, W, b, b)
    with pytest.raises(ValueError, match="gru_layer: b_hn without b"):
        fused.gru_layer(x, h0, W, None, b_hn)
    with pytest.raises(TypeError, match="gru_layer: all inputs must share one float dtype"):
        fused.gru_layer(x, h0, W, b, tg.Tensor(np.zeros(4, np.float32)))


@pytest.mark.parametrize("reset_after", [True, False], ids=["reset_after", "cho"])
def test_gru_module_is_one_node_per_layer(rng, reset_after):
    m = nn.GRU(3, 4, num_layers=2, dtype=np.float64, reset_after=reset_after)
    assert m.fused
    x = tg.Tensor(rng.standard_normal((4, 2, 3)))
    assert _graph_ops(m(x)[0]).count("gru_layer") == 2
    assert "sigmoid" not in _graph_ops(m(x)[0])
    assert _graph_ops(m(x, fused=False)[0]).count("sigmoid") == 2 * 4  # r and z, once per step


def _graph_ops(root):
    return [t.op for t in topological_order(root) if t.op]


# ----- the benchmark smoke run
def test_benchmark_quick_runs():
    if os.environ.get("NUMBA_DISABLE_JIT") == "1":
        pytest.skip("the benchmark's compiled path is too slow without the JIT")
    for extra in ("torch", "jax", "threadpoolctl"):  # the bench extra
        pytest.importorskip(extra)
    done = subprocess.run([sys.executable, "benchmarks/bench_rnn.py", "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| rnn | (2, 5, 8) |" in done.stdout and "tinygrad ms" in done.stdout
    assert "threads=1)" in done.stdout  # BLAS on one thread, as the table says


def test_benchmark_interleaving_is_warm_and_shuffled():
    """Each timed batch follows one untimed call of the same fn (so no timed call is the first
    after another implementation), and the order changes between rounds (so no fn always runs
    after the same neighbour)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_rnn
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    calls = []
    fns = {name: (lambda name=name: calls.append(name)) for name in "abcd"}
    times = bench_rnn.interleaved(fns, rounds=8, budget=60.0, batch_seconds=1e-12)
    assert all(len(ts) == 8 for ts in times.values())
    runs = calls[8:]  # after the warm-up: two calls of each fn
    assert len(runs) == 8 * 4 * 2  # reps is 1 here: one untimed and one timed call per batch
    batches = [runs[i:i + 2] for i in range(0, len(runs), 2)]
    assert all(first == second for first, second in batches)
    orders = {tuple(b[0] for b in batches[r * 4:(r + 1) * 4]) for r in range(8)}
    assert all(sorted(order) == list("abcd") for order in orders) and len(orders) > 1



def test_benchmark_medians_take_each_ratios_median_and_judge_it(tmp_path):
    """bench_medians.py reads saved runs of bench_rnn.py and prints each ratio's median with its
    verdict against the column's target, "on the line" when it prints as the target."""
    head = ("| cell | (B, T, H) | tinygrad ms | /numpy (<= 0.7) | /torch (<= 0.8) | "
            "bound/tinygrad (>= 90% at (64, 50, 512)) |\n|---|---|---|---|---|---|\n")
    runs, cells = [], [("0.61 met", "0.90 MISSED", "30%", "0.95 met"),
                       ("0.75 MISSED", "0.80 met", "50%", "0.80 MISSED"),
                       ("0.72 MISSED", "0.79 met", "40%", "0.90 met")]
    for n, (numpy, torch, small, big) in enumerate(cells):
        runs.append(tmp_path / f"run{n}.txt")
        runs[-1].write_text(f"threads: 1  (versions)\n{head}| rnn | (1, 25, 100) | 1.0 | {numpy} | "
                            f"{torch} | {small} |\n| rnn | (64, 50, 512) | 9.0 | 0.50 met | "
                            f"0.70 met | {big} |\n")
    done = subprocess.run([sys.executable, "benchmarks/bench_medians.py", *map(str, runs)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| rnn")]
    assert rows == [
        "| rnn | (1, 25, 100) | 0.72 MISSED (0.61, 0.75, 0.72) | 0.80 on the line (0.90, 0.80, "
        "0.79) | 40% (30%, 50%, 40%) |",
        "| rnn | (64, 50, 512) | 0.50 met (0.50, 0.50, 0.50) | 0.70 met (0.70, 0.70, 0.70) | "
        "90% on the line (95%, 80%, 90%) |"]

def test_cell_loop_benchmark_runs():
    pytest.importorskip("torch")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "benchmarks/bench_cell_loop.py", "--config", "2,4,6",
                           "--rounds", "5", "--budget", "0.1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = re.findall(r"^\| (rnn|lstm|gru) \| \(2, 4, 6\) \|.* ([0-9.]+) \|$", done.stdout, re.M)
    assert [cell for cell, _ in rows] == ["rnn", "lstm", "gru"]
    assert all(float(ratio) > 0 for _, ratio in rows)


def test_step_kernel_benchmark_runs():
    pytest.importorskip("threadpoolctl")  # bench_crossover's timing helper needs it
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "benchmarks/bench_step_kernels.py", "2", "8"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    times = re.findall(r"^\| (\w+)[^|]* \| ([0-9.]+) \|$", done.stdout, re.M)
    assert len(times) == 10 and all(float(us) > 0 for _, us in times)


def test_saturated_float32_lstm_matches_the_float64_per_op_path(rng):
    """Gates driven far into saturation (pre-activations from 40 to 4e4 in magnitude): the fused
    float32 LSTM's outputs and gradients equal the float64 per-op path's, which are ~0 where the
    gates are flat. (The call-free sigmoid used to floor at 1.5e-8, giving weight gradients of
    1e-3 and more here.)"""
    m32 = nn.LSTM(3, 4)
    m64 = nn.LSTM(3, 4, dtype=np.float64)
    W = rng.uniform(0.5, 1.0, size=(16, 7)) * rng.choice([-1.0, 1.0], size=(16, 7))
    W[:, 3:] *= 1e-3  # the state columns: small, so x decides every gate
    for m in (m32, m64):
        m.cells[0].linear.weight.data[...] = W
        m.cells[0].linear.bias.data[...] = 0.0
    x = np.array([1e4, -1e4, 1e4]) * rng.choice([-1.0, 1.0], size=(6, 2, 3))
    x[:, :, 1] *= rng.uniform(0.001, 1.0, size=(6, 2))  # magnitudes from 10 to 1e4
    z = np.abs(x @ W[:, :3].T)
    assert z.min() > 40  # every gate saturated: sigmoid' and tanh' below 4e-18
    weights = rng.standard_normal((6, 2, 4))
    results = []
    for m, fused_path, dtype in ((m32, True, np.float32), (m64, False, np.float64)):
        xt = tg.Tensor(x.astype(dtype), requires_grad=True)
        out, _ = m(xt, fused=fused_path)
        (out * tg.Tensor(weights.astype(dtype))).sum().backward()
        results.append((out.data, xt.grad, *(p.grad for p in m.parameters())))
    for got, want in zip(*results):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert np.abs(results[0][2]).max() < 1e-6  # dW: ~0, not 1e-3 .. 1e23


@pytest.mark.parametrize("module", ["RNN", "LSTM", "GRU"])
def test_reused_arrays_are_per_thread_and_never_while_held(rng, module, monkeypatch,
                                                           run_threads):
    """The layers reuse their big arrays from step to step (`kernels.core.reusable`): two threads
    running forward and backward on same-shaped layers at once (the Python loop around BLAS,
    which lets the other thread run mid-backward), and a 2-layer stack (two nodes of one shape),
    give the gradients of a single-threaded run; an output kept from an earlier call keeps its
    values. (With the reference count ignored this fails.)"""
    import threading

    monkeypatch.setattr(kernels.sequence, "SMALL_BELOW", 0)
    tg.manual_seed(0)
    layer = getattr(nn, module)(16, 32, num_layers=2, dtype=np.float64)
    xs = [tg.Tensor(rng.standard_normal((20, 8, 16))) for _ in range(2)]

    def grads(x):
        out, _ = layer(x)
        return [g.copy() for g in tg.grad((out * out).sum(), list(layer.parameters()))]

    want = [[g.data for g in grads(x)] for x in xs]
    kept = layer(xs[0])[0]  # an output held while more steps run in this thread
    kept_value = kept.data.copy()
    for x in xs:
        grads(x)
    np.testing.assert_array_equal(kept.data, kept_value)
    got = {0: [], 1: []}
    start = threading.Barrier(2)

    def work(i):
        start.wait()
        for _ in range(20):
            got[i].append([g.data for g in grads(xs[i])])

    run_threads(lambda: work(0), lambda: work(1))
    for i in (0, 1):
        assert len(got[i]) == 20
        for run in got[i]:
            for g, w in zip(run, want[i]):
                np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_layers_on_strided_weights_and_inputs_equal_per_op(backend, inner_path, rng, cell):
    """A weight that is a strided view (every other column of a bigger array) and an input that
    is a transposed view: the big path hands such views to BLAS as they are, the compiled paths
    copy them; every path must give the per-op numbers, gradients included."""
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    n_in, hidden, batch, steps = 2, 4, 3, 5
    x = tg.Tensor(rng.standard_normal((batch, steps, n_in)).transpose(1, 0, 2),
                  requires_grad=True)
    W = tg.Tensor(np.zeros((gates * hidden, n_in + hidden)), requires_grad=True)
    W.data = (rng.standard_normal((gates * hidden, 2 * (n_in + hidden))) * 0.6)[:, ::2]
    h0, c0 = _leaf(rng, (batch, hidden)), _leaf(rng, (batch, hidden))
    assert not x.data.flags.c_contiguous and not W.data.flags.c_contiguous
    if cell == "rnn":
        layer, per_op, inputs = fused.rnn_layer, lambda x, h0, W: rnn_per_op(x, h0, W, None), \
            [x, h0, W]
    elif cell == "lstm":
        layer, inputs = (lambda x, h0, c0, W: fused.lstm_layer(x, h0, c0, W)[0]), [x, h0, c0, W]
        per_op = lambda x, h0, c0, W: lstm_per_op(x, h0, c0, W, None)[0]  # noqa: E731
    else:
        gru = nn.GRUCell(n_in, hidden, bias=False, dtype=np.float64)
        gru.linear.weight = W

        def per_op(x, h, W):
            hs = []
            for t in range(x.shape[0]):
                h = gru(x[t], h)
                hs.append(h)
            return tg.stack(hs)

        layer, inputs = fused.gru_layer, [x, h0, W]
    _grads_equal(layer, per_op, inputs, rng)


def test_linear_and_loss_reuse_arrays_only_when_nobody_holds_them(rng):
    """nn.Linear's output and input gradient and the cross-entropy's softmax and gradient come
    from `kernels.core.reusable`: an output and the gradients kept from one step keep their
    values while later steps run on other inputs, through two Linear layers of one shape.
    (With the reference count ignored this fails.)"""
    tg.manual_seed(0)
    first, second = nn.Linear(8, 8), nn.Linear(8, 8)
    xs = [tg.Tensor(rng.standard_normal((600, 8)).astype(np.float32), requires_grad=True)
          for _ in range(3)]
    target = rng.integers(0, 8, 600)  # 600 x 8 logits: the compiled loss kernels

    def step(x):
        hidden = first(x)
        logits = second(hidden.tanh())
        F.cross_entropy(logits, target).backward(retain_grad=True)
        return hidden, logits

    kept = step(xs[0])
    values = [a.copy() for t in kept for a in (t.data, t.grad)] + [xs[0].grad.copy()]
    for x in xs[1:]:
        step(x)
    now = [a for t in kept for a in (t.data, t.grad)] + [xs[0].grad]
    for got, want in zip(now, values):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("fused_path", [True, False], ids=["fused", "per_op"])
def test_relu_rnn_keeps_inf_and_nan_gradients_out_of_switched_off_units(backend, inner_path,
                                                                        fused_path):
    """ReLU's backward is a choice, as PyTorch's (threshold_backward), not g * (y > 0): where
    relu gave 0 the gradient is 0 even if an inf or NaN arrives there (0 * inf made it NaN,
    and the NaN spread through W_hh to earlier steps and to every weight); where relu's output
    is NaN (a NaN input) the gradient passes. Every gradient against PyTorch's, both paths."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    ref = torch.nn.RNN(2, 3, nonlinearity="relu").double()
    model = nn.RNN(2, 3, nonlinearity="relu", dtype=np.float64, fused=fused_path)
    nn.load_torch_weights(model, {k: v.detach().numpy() for k, v in ref.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((4, 3, 2))
    x[1, 2, 0] = np.nan  # row 2 is NaN from step 1 on
    tx = torch.tensor(x, requires_grad=True)
    out, h_n = ref(tx)
    g_out, g_h = np.ones((4, 3, 3)), np.ones((1, 3, 3))
    off = np.argwhere(out.detach().numpy()[:, :2] == 0)  # units relu switched off (rows 0, 1)
    assert len(off) >= 2
    g_out[tuple(off[0])], g_out[tuple(off[-1])] = np.inf, np.nan
    torch.autograd.backward([out, h_n], [torch.tensor(g_out), torch.tensor(g_h)])
    gx = tg.Tensor(x, requires_grad=True)
    ours, ours_h = model(gx)
    tg.autograd.backward([ours, ours_h], [tg.Tensor(g_out), tg.Tensor(g_h)])
    cell, W = ref, model.cells[0].linear
    np.testing.assert_allclose(ours.data, out.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gx.grad, tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(W.weight.grad, np.concatenate(
        [cell.weight_ih_l0.grad.numpy(), cell.weight_hh_l0.grad.numpy()], axis=1), rtol=1e-12)
    np.testing.assert_allclose(W.bias.grad, cell.bias_ih_l0.grad.numpy(), rtol=1e-12)
    assert np.isfinite(gx.grad[:, :2]).all()  # rows 0 and 1 never saw a NaN input


def test_gru_gradient_of_an_infinite_loss_gradient_is_pytorchs_nan(backend, inner_path):
    """h' = n + z (h - n): the gradient reaching n is g - g z, as the per-op cell and PyTorch
    compute it; an infinite g makes it inf - inf = NaN there, not the inf of g (1 - z), so the
    fused GRU's gradients are NaN exactly where PyTorch's (and the per-op path's) are."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    ref = torch.nn.GRU(3, 4).double()
    x = np.random.default_rng(1).standard_normal((4, 2, 3))
    g_out, g_h = np.ones((4, 2, 4)), np.ones((1, 2, 4))
    g_h[0, 0, 0] = np.inf
    tx = torch.tensor(x, requires_grad=True)
    torch.autograd.backward(ref(tx), [torch.tensor(g_out), torch.tensor(g_h)])
    want = [tx.grad.numpy()] + [p.grad.numpy() for p in ref.parameters()]
    for fused_path in (True, False):
        model = nn.GRU(3, 4, dtype=np.float64, fused=fused_path)
        nn.load_torch_weights(model, {k: v.detach().numpy() for k, v in ref.state_dict().items()})
        gx = tg.Tensor(x, requires_grad=True)
        tg.autograd.backward(model(gx), [tg.Tensor(g_out), tg.Tensor(g_h)])
        W, b, b_hn = model.cells[0].linear.weight, model.cells[0].linear.bias, model.cells[0].b_hn
        got = [gx.grad, W.grad[:, :3], W.grad[:, 3:], b.grad, np.concatenate([b.grad[:8],
                                                                              b_hn.grad])]
        assert np.isnan(want[0]).any()
        for ours, theirs in zip(got, want):
            np.testing.assert_allclose(ours, theirs, rtol=1e-12)  # NaN, inf and values alike
