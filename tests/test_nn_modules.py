"""Modules: Linear, the cells, the sequence modules, state dicts and PyTorch-named interop.

Gradients are checked against float64 finite differences (tg.gradcheck) for x, the initial
state and every parameter; forward values against formulas written out in NumPy here.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.tensor import topological_order
from tinygrad_rnn import Tensor, cat, nn, optim

CELL_KINDS = [("rnn_tanh", lambda n_in, H, **kw: nn.RNNCell(n_in, H, **kw)),
              ("rnn_relu", lambda n_in, H, **kw: nn.RNNCell(n_in, H, nonlinearity="relu",
                                                                   **kw)),
              ("lstm", lambda n_in, H, **kw: nn.LSTMCell(n_in, H, **kw)),
              ("gru", lambda n_in, H, **kw: nn.GRUCell(n_in, H, **kw)),
              ("gru_cho", lambda n_in, H, **kw: nn.GRUCell(n_in, H, reset_after=False, **kw))]
SEQ_KINDS = [("rnn", nn.RNN), ("lstm", nn.LSTM), ("gru", nn.GRU)]


def sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def step_as_tensor(cell: nn.Module, x: Tensor, h: Tensor, c: Tensor | None) -> Tensor:
    """One cell step with its state outputs joined into one tensor (gradcheck needs one)."""
    if isinstance(cell, nn.LSTMCell):
        return cat(list(cell(x, (h, c))), axis=-1)
    return cell(x, h)


# ----- Linear ------------------------------------------------------------------------------------
def test_linear_computes_x_WT_plus_b_with_pytorch_init_bounds(rng) -> None:
    layer = nn.Linear(9, 5)
    assert layer.weight.shape == (5, 9) and layer.bias.shape == (5,)
    bound = 1 / np.sqrt(9)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert layer.weight.dtype == np.float32
    x = rng.standard_normal((4, 9)).astype(np.float32)
    want = x @ layer.weight.data.T + layer.bias.data
    np.testing.assert_allclose(layer(Tensor(x)).data, want, rtol=1e-6)
    assert nn.Linear(9, 5, bias=False).bias is None


def test_linear_gradcheck_and_shape_error(rng) -> None:
    layer = nn.Linear(3, 2).double()

    def fn(x, W, b):
        layer.weight, layer.bias = W, b
        return layer(x)

    x = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    W = Tensor(layer.weight.data, requires_grad=True)
    b = Tensor(layer.bias.data, requires_grad=True)
    assert tg.gradcheck(fn, [x, W, b])
    with pytest.raises(ValueError, match=r"Linear: input of shape \(4, 2\).*in_features=3"):
        nn.Linear(3, 2)(Tensor(np.zeros((4, 2))))


# ----- cells -------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind,make", CELL_KINDS, ids=[k for k, _ in CELL_KINDS])
@pytest.mark.parametrize("bias", [True, False])
def test_cell_gradcheck_x_state_and_every_parameter(kind, make, bias, rng) -> None:
    cell = make(3, 4, bias=bias, dtype=np.float64)
    lstm = isinstance(cell, nn.LSTMCell)
    params = [name for name, _ in cell.named_parameters()]
    own = ["b_hn"] if kind == "gru" and bias else []  # PyTorch's GRU keeps b_hn apart
    assert params == own + (["linear.weight", "linear.bias"] if bias else ["linear.weight"])

    def fn(x, h, c, *p):
        for name, value in zip(params, p):
            *path, attr = name.split(".")
            setattr(cell.linear if path else cell, attr, value)
        return step_as_tensor(cell, x, h, c if lstm else None)

    x = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    h = Tensor(rng.standard_normal((2, 4)) * 0.5, requires_grad=True)
    c = Tensor(rng.standard_normal((2, 4)), requires_grad=lstm)
    ps = [Tensor(p.data.copy(), requires_grad=True) for p in cell.parameters()]
    assert tg.gradcheck(fn, [x, h, c, *ps])


@pytest.mark.parametrize("kind,make", CELL_KINDS, ids=[k for k, _ in CELL_KINDS])
def test_cell_init_is_uniform_in_one_over_sqrt_hidden_from_the_project_rng(kind, make) -> None:
    tg.manual_seed(5)
    a = make(3, 16)
    tg.manual_seed(5)
    b = make(3, 16)
    bound = 1 / np.sqrt(16)  # hidden size 16, not the 19 inputs of .linear
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data)  # same seed, same draw
        assert np.abs(p.data).max() <= bound
        assert np.abs(p.data).max() > 0.8 * bound, f"{name} looks narrower than U(-1/4, 1/4)"
    assert not np.array_equal(make(3, 16).linear.weight.data, a.linear.weight.data)


def test_rnn_cell_formulas(rng) -> None:
    for nonlinearity, f in (("tanh", np.tanh), ("relu", lambda v: np.maximum(v, 0))):
        cell = nn.RNNCell(3, 4, nonlinearity=nonlinearity, dtype=np.float64)
        x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
        W, b = cell.linear.weight.data, cell.linear.bias.data
        want = f(x @ W[:, :3].T + h @ W[:, 3:].T + b)  # columns: x first, then h
        np.testing.assert_allclose(cell(Tensor(x), Tensor(h)).data, want, rtol=1e-12)


def test_lstm_cell_formula_gate_order_and_forget_bias(rng) -> None:
    cell = nn.LSTMCell(3, 4, forget_bias=1.0, dtype=np.float64)
    np.testing.assert_array_equal(cell.linear.bias.data[4:8], 1.0)
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    a = np.concatenate([x, h], axis=1) @ cell.linear.weight.data.T + cell.linear.bias.data
    i, f, g, o = sigmoid(a[:, :4]), sigmoid(a[:, 4:8]), np.tanh(a[:, 8:12]), sigmoid(a[:, 12:])
    c_want = f * c + i * g
    h_new, c_new = cell(Tensor(x), (Tensor(h), Tensor(c)))
    np.testing.assert_allclose(c_new.data, c_want, rtol=1e-12)
    np.testing.assert_allclose(h_new.data, o * np.tanh(c_want), rtol=1e-12)
    with pytest.raises(ValueError, match="forget_bias needs bias=True"):
        nn.LSTMCell(3, 4, bias=False, forget_bias=1.0)


def test_gru_cell_formula_candidate_reads_x_and_r_times_h(rng) -> None:
    cell = nn.GRUCell(3, 4, reset_after=False, dtype=np.float64)
    assert cell.b_hn is None and "reset_after=False" in repr(cell)
    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    W, b = cell.linear.weight.data, cell.linear.bias.data
    a = np.concatenate([x, h], axis=1) @ W.T + b
    r, z = sigmoid(a[:, :4]), sigmoid(a[:, 4:8])
    n = np.tanh(np.concatenate([x, r * h], axis=1) @ W[8:].T + b[8:])
    np.testing.assert_allclose(cell(Tensor(x), Tensor(h)).data, (1 - z) * n + z * h, rtol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
def test_gru_cell_default_formula_resets_the_transformed_state(rng, bias) -> None:
    cell = nn.GRUCell(3, 4, bias=bias, dtype=np.float64)
    assert cell.reset_after and (cell.b_hn is not None) == bias
    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    W = cell.linear.weight.data
    b = cell.linear.bias.data if bias else np.zeros(12)
    b_hn = cell.b_hn.data if bias else np.zeros(4)
    a = np.concatenate([x, h], axis=1) @ W.T + b
    r, z = sigmoid(a[:, :4]), sigmoid(a[:, 4:8])
    n = np.tanh(x @ W[8:, :3].T + b[8:] + r * (h @ W[8:, 3:].T + b_hn))
    np.testing.assert_allclose(cell(Tensor(x), Tensor(h)).data, (1 - z) * n + z * h, rtol=1e-12)
    unbatched = cell(Tensor(x[0]), Tensor(h[0])).data
    np.testing.assert_allclose(unbatched, ((1 - z) * n + z * h)[0], rtol=1e-12)


@pytest.mark.parametrize("kind,make", CELL_KINDS, ids=[k for k, _ in CELL_KINDS])
def test_cell_unbatched_input_and_zero_default_state(kind, make, rng) -> None:
    cell = make(3, 4, dtype=np.float64)
    x = rng.standard_normal((2, 3))
    zeros = np.zeros((2, 4))
    lstm = isinstance(cell, nn.LSTMCell)
    default = cell(Tensor(x))
    explicit = cell(Tensor(x), (Tensor(zeros), Tensor(zeros)) if lstm else Tensor(zeros))
    single = cell(Tensor(x[1]))
    for d, e, s in zip(*(v if lstm else (v,) for v in (default, explicit, single))):
        np.testing.assert_array_equal(d.data, e.data)
        assert s.shape == (4,)
        np.testing.assert_allclose(s.data, d.data[1], rtol=1e-14)


@pytest.mark.parametrize("kind,make", CELL_KINDS, ids=[k for k, _ in CELL_KINDS])
def test_cell_shape_errors_name_the_cell_and_shapes(kind, make) -> None:
    cell = make(3, 4)
    name = type(cell).__name__
    with pytest.raises(ValueError, match=rf"{name}: input x must have shape \(B, 3\).*\(2, 5\)"):
        cell(Tensor(np.zeros((2, 5))))
    bad_h = Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=rf"{name}: state h must have shape \(2, 4\).*\(2, 3\)"):
        cell(Tensor(np.zeros((2, 3))), (bad_h, None) if name == "LSTMCell" else bad_h)
    with pytest.raises(ValueError, match=rf"{name}: input_size must be >= 1"):
        make(0, 4)


def test_lstm_cell_state_must_be_a_pair() -> None:
    with pytest.raises(TypeError, match=r"LSTMCell: state must be a pair \(h, c\)"):
        nn.LSTMCell(3, 4)(Tensor(np.zeros((2, 3))), Tensor(np.zeros((2, 4))))


def test_rnn_cell_rejects_unknown_nonlinearity() -> None:
    with pytest.raises(ValueError, match="RNNCell: nonlinearity must be 'tanh' or 'relu'"):
        nn.RNNCell(3, 4, nonlinearity="sigmoid")


# ----- sequence modules -------------------------------------------------------------------------
def manual_unroll(m: nn.Module, x: Tensor, h0: Tensor, c0: Tensor | None):
    """The sequence module's job done by hand, one cell call per step and layer."""
    lstm = isinstance(m, nn.LSTM)
    steps = [x[t] for t in range(x.shape[0])]
    finals = []
    for layer, cell in enumerate(m.cells):
        state = (h0[layer], c0[layer]) if lstm else h0[layer]
        outs = []
        for x_t in steps:
            state = cell(x_t, state)
            outs.append(state[0] if lstm else state)
        finals.append(state)
        steps = outs
    output = tg.stack(steps)
    if lstm:
        return output, (tg.stack([s[0] for s in finals]), tg.stack([s[1] for s in finals]))
    return output, tg.stack(finals)


@pytest.mark.parametrize("fused", [False, True], ids=["unrolled", "fused"])
@pytest.mark.parametrize("kind,cls", SEQ_KINDS, ids=[k for k, _ in SEQ_KINDS])
def test_stepping_the_cells_equals_the_sequence_module(kind, cls, fused, rng) -> None:
    m = cls(3, 4, num_layers=2, dtype=np.float64, fused=fused)
    lstm = kind == "lstm"
    xd, hd, cd = (rng.standard_normal(s) for s in ((6, 2, 3), (2, 2, 4), (2, 2, 4)))
    w_out, w_h = rng.standard_normal((6, 2, 4)), rng.standard_normal((2, 2, 4))
    grads = []
    runs = (lambda *a: m(a[0], (a[1], a[2]) if lstm else a[1]), lambda *a: manual_unroll(m, *a))
    for run in runs:
        m.zero_grad()
        x, h0, c0 = (Tensor(v, requires_grad=True) for v in (xd, hd, cd))
        output, state = run(x, h0, c0 if lstm else None)
        h_n = state[0] if lstm else state
        loss = (output * w_out).sum() + (h_n * w_h).sum()
        if lstm:
            loss = loss + (state[1] * w_h).sum()
        loss.backward()
        grads.append([output.data, h_n.data, x.grad, h0.grad] + [p.grad for p in m.parameters()]
                     + ([c0.grad, state[1].data] if lstm else []))
    for module_value, manual_value in zip(*grads):
        np.testing.assert_allclose(module_value, manual_value, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("fused", [False, True], ids=["unrolled", "fused"])
@pytest.mark.parametrize("kind,cls", SEQ_KINDS, ids=[k for k, _ in SEQ_KINDS])
def test_sequence_module_gradcheck(kind, cls, fused, rng) -> None:
    m = cls(2, 3, num_layers=2, dtype=np.float64, fused=fused)
    lstm = kind == "lstm"

    def fn(x, h0, c0):
        output, state = m(x, (h0, c0) if lstm else h0)
        return cat([output.reshape(-1), (state[1] if lstm else state).reshape(-1)])

    x = Tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)
    h0 = Tensor(rng.standard_normal((2, 2, 3)) * 0.5, requires_grad=True)
    c0 = Tensor(rng.standard_normal((2, 2, 3)), requires_grad=lstm)
    assert tg.gradcheck(fn, [x, h0, c0])


@pytest.mark.parametrize("kind,cls", SEQ_KINDS, ids=[k for k, _ in SEQ_KINDS])
def test_sequence_shapes_batch_first_and_unbatched(kind, cls, rng) -> None:
    m = cls(3, 5, num_layers=3, dtype=np.float64)
    x = rng.standard_normal((7, 2, 3))
    output, state = m(Tensor(x))
    h_n = state[0] if kind == "lstm" else state
    assert output.shape == (7, 2, 5) and h_n.shape == (3, 2, 5)
    np.testing.assert_array_equal(h_n.data[-1], output.data[-1])  # last layer's last step
    m.batch_first = True
    out_bf, _ = m(Tensor(x.transpose(1, 0, 2)))
    np.testing.assert_array_equal(out_bf.data, output.data.transpose(1, 0, 2))
    m.batch_first = False
    out_single, state_single = m(Tensor(x[:, 1]))
    assert out_single.shape == (7, 5)
    np.testing.assert_allclose(out_single.data, output.data[:, 1], rtol=1e-13)
    assert (state_single[0] if kind == "lstm" else state_single).shape == (3, 5)


@pytest.mark.parametrize("shape", [(5, 2, 3), (5, 3)], ids=["batched", "unbatched"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("fused", [False, True], ids=["unrolled", "fused"])
@pytest.mark.parametrize("kind,cls", SEQ_KINDS, ids=[k for k, _ in SEQ_KINDS])
def test_final_states_do_not_share_memory_with_the_output(kind, cls, fused, batch_first, shape,
                                                          rng) -> None:
    """As in PyTorch, h_n (and c_n) are new tensors: resetting a state in place (`h[:, done] =
    0`, `h.zero_()`) leaves the output alone. A fused layer's h_n was a view of output[-1]."""
    m = cls(3, 4, batch_first=batch_first, fused=fused)
    x = rng.standard_normal(shape).astype(np.float32)
    with tg.no_grad():
        output, state = m(x)
        kept = output.numpy().copy()
        for s in state if kind == "lstm" else (state,):
            s.zero_()
    np.testing.assert_array_equal(output.numpy(), kept)
    # training: the next window starts from the detached state with one sequence reset
    m.zero_grad()
    output, state = m(x)
    h = (state[0] if kind == "lstm" else state).detach()
    h[0, 0] = 0.0
    output2, _ = m(x, (h, state[1].detach()) if kind == "lstm" else h)
    (output.sum() + output2.sum()).backward()  # output's saved result was not written
    assert all(np.isfinite(p.grad).all() for p in m.parameters())


def test_dropout_with_one_layer_warns_as_in_pytorch() -> None:
    """Dropout sits between layers: with num_layers=1 it does nothing, and PyTorch warns."""
    with pytest.warns(UserWarning, match=r"LSTM: dropout=0.2 has no effect with num_layers=1"):
        nn.LSTM(3, 4, dropout=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.GRU(3, 4, num_layers=2, dropout=0.2)
        nn.RNN(3, 4, dropout=0.0)


def test_sequence_module_is_the_cells_with_default_zero_state(rng) -> None:
    m = nn.RNN(3, 4, num_layers=2, dtype=np.float64)
    x = rng.standard_normal((5, 2, 3))
    out_default, _ = m(Tensor(x))
    out_zero, _ = m(Tensor(x), Tensor(np.zeros((2, 2, 4))))
    np.testing.assert_array_equal(out_default.data, out_zero.data)


def test_relu_rnn_uses_relu_cells(rng) -> None:
    m = nn.RNN(3, 4, nonlinearity="relu")
    assert all(c.nonlinearity == "relu" for c in m.cells)
    output, _ = m(Tensor(rng.standard_normal((5, 2, 3))))
    assert output.data.min() >= 0.0


def test_dropout_between_layers_only_in_training_mode(rng) -> None:
    x = Tensor(rng.standard_normal((5, 3, 2)))
    m = nn.LSTM(2, 8, num_layers=2, dropout=0.5, dtype=np.float64)
    plain = nn.LSTM(2, 8, num_layers=2, dtype=np.float64)
    plain.load_state_dict(m.state_dict())
    m.eval()
    assert not m.cells[0].training
    np.testing.assert_array_equal(m(x)[0].data, plain(x)[0].data)
    m.train()
    first, second = m(x)[0].data, m(x)[0].data
    assert not np.allclose(first, plain(x)[0].data)
    assert not np.allclose(first, second)  # a fresh mask every call
    with pytest.warns(UserWarning, match="no effect with num_layers=1"):
        one_layer = nn.GRU(2, 8, dropout=0.5)  # nothing between layers: no dropout at all
    one_layer.train()
    np.testing.assert_array_equal(one_layer(x)[0].data, one_layer(x)[0].data)


def test_sequence_errors_name_the_module_and_shapes() -> None:
    m = nn.GRU(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"GRU: input must have shape \(T, B, I\).*\(5, 2, 7\)"):
        m(Tensor(np.zeros((5, 2, 7))))
    with pytest.raises(ValueError, match=r"GRU: input must have shape.*\(5,\)"):
        m(Tensor(np.zeros(5)))
    with pytest.raises(ValueError, match=r"GRU: initial state h_0 must have shape \(2, 2, 4\)"):
        m(Tensor(np.zeros((5, 2, 3))), Tensor(np.zeros((1, 2, 4))))
    with pytest.raises(TypeError, match=r"LSTM: state must be a pair \(h_0, c_0\)"):
        nn.LSTM(3, 4)(Tensor(np.zeros((5, 2, 3))), Tensor(np.zeros((1, 2, 4))))
    bf = nn.RNN(3, 4, batch_first=True)
    with pytest.raises(ValueError, match=r"RNN: input must have shape \(B, T, I\)"):
        bf(Tensor(np.zeros((2, 5, 4))))
    with pytest.raises(ValueError, match="num_layers must be >= 1"):
        nn.RNN(3, 4, num_layers=0)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        nn.LSTM(3, 4, dropout=1.0)


def test_step_layer_annotations_and_tensor_names(rng) -> None:
    m = nn.LSTM(2, 3, num_layers=2, fused=False)  # the unrolled per-op graph viz draws
    x = rng.standard_normal((4, 1, 2)).astype(np.float32)
    output, (h_n, c_n) = m(Tensor(x, requires_grad=True))
    assert (output.name, h_n.name, c_n.name) == ("output", "h_n", "c_n")
    hs = output.parents  # the last layer's h_1 .. h_4, stacked
    assert [h.name for h in hs] == ["h_1", "h_2", "h_3", "h_4"]
    assert [(h.tags["step"], h.tags["layer"], h.tags["cell"], h.tags["role"]) for h in hs] == \
        [(t, 1, "LSTMCell", "state") for t in range(1, 5)]
    c_names = [p.name for p in c_n.parents]
    assert c_names == ["c_4", "c_4"]  # each layer's last cell state
    names = {t.name for t in topological_order(output)}
    assert {"x_1", "x_4", "h_0", "c_0", "xh", "i", "f", "g", "o"} <= names
    constant_input = Tensor(np.ones((2, 1, 2)))  # at step 1 nothing before xh needs a grad
    first = nn.RNN(2, 3, fused=False)(constant_input)[0].parents[0]
    assert first.name == "h_1" and "xh" in {t.name for t in topological_order(first)}
    assert [p.name for p in m.parameters()] == [n for n, _ in m.named_parameters()]
    assert next(m.parameters()).name == "cells.0.linear.weight"


@pytest.mark.parametrize("kind,cls", SEQ_KINDS, ids=[k for k, _ in SEQ_KINDS])
def test_fused_forward_argument_overrides_the_constructor(kind, cls, rng) -> None:
    m = cls(2, 3, num_layers=2, fused=False, dtype=np.float64)
    x = Tensor(rng.standard_normal((3, 1, 2)))
    unrolled = m(x)[0]
    assert unrolled.parents[0].name == "h_1"  # one tensor per step, stacked
    np.testing.assert_allclose(m(x, fused=True)[0].data, unrolled.data, rtol=1e-12)


# ----- Module: parameters, state dicts, dtype ----------------------------------------------------
def test_named_parameters_order_and_repr() -> None:
    m = nn.LSTM(2, 3, num_layers=2)
    assert [n for n, _ in m.named_parameters()] == [
        "cells.0.linear.weight", "cells.0.linear.bias",
        "cells.1.linear.weight", "cells.1.linear.bias"]
    assert repr(m) == "LSTM(2, 3, num_layers=2)"  # one line, as PyTorch's


class _Tagger(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(10, 4, padding_idx=0)
        self.rnn = nn.LSTM(4, 8, num_layers=2, batch_first=True, dropout=0.2, bidirectional=True)
        self.gru = nn.GRU(4, 8)
        self.relu_rnn = nn.RNN(3, 4, nonlinearity="relu", bias=False)  # PyTorch omits relu
        self.cells = nn.ModuleList([nn.RNNCell(3, 4), nn.LSTMCell(3, 4, bias=False),
                                    nn.GRUCell(3, 4), nn.RNNCell(3, 4, nonlinearity="relu")])
        self.head = nn.Sequential(nn.Dropout(0.5), nn.Linear(16, 2), nn.LayerNorm(2), nn.ReLU(),
                                  nn.LogSoftmax(dim=1))
        self.d = nn.ModuleDict({"a": nn.Linear(2, 3, bias=False)})


def test_print_model_is_pytorchs_text() -> None:
    # what print(model) gives under PyTorch 2.13 for the same class
    assert repr(_Tagger()) == """_Tagger(
  (emb): Embedding(10, 4, padding_idx=0)
  (rnn): LSTM(4, 8, num_layers=2, batch_first=True, dropout=0.2, bidirectional=True)
  (gru): GRU(4, 8)
  (relu_rnn): RNN(3, 4, bias=False)
  (cells): ModuleList(
    (0): RNNCell(3, 4)
    (1): LSTMCell(3, 4, bias=False)
    (2): GRUCell(3, 4)
    (3): RNNCell(3, 4, nonlinearity=relu)
  )
  (head): Sequential(
    (0): Dropout(p=0.5, inplace=False)
    (1): Linear(in_features=16, out_features=2, bias=True)
    (2): LayerNorm((2,), eps=1e-05, elementwise_affine=True, bias=True)
    (3): ReLU()
    (4): LogSoftmax(dim=1)
  )
  (d): ModuleDict(
    (a): Linear(in_features=2, out_features=3, bias=False)
  )
)"""


def test_state_dict_round_trip_and_double() -> None:
    a, b = nn.GRU(2, 3, num_layers=2), nn.GRU(2, 3, num_layers=2)
    b.load_state_dict(a.state_dict())
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    a.double()
    assert all(p.dtype == np.float64 for p in a.parameters())
    with pytest.raises(TypeError, match="must be floating point"):
        a.to(np.int32)


def test_load_state_dict_lists_every_problem_and_changes_nothing() -> None:
    m = nn.RNN(2, 3, num_layers=2)
    before = m.state_dict()
    state = m.state_dict()
    del state["cells.1.linear.bias"]
    state["cells.0.linear.weight"] = np.zeros((3, 4))  # wrong shape
    state["cells.0.linear.bias"] = np.full(3, 7.0)      # fine, but must not be applied
    state["extra"] = np.zeros(1)
    with pytest.raises(KeyError) as info:
        m.load_state_dict(state)
    message = str(info.value)
    for part in ("missing keys: ['cells.1.linear.bias']", "unexpected keys: ['extra']",
                 "cells.0.linear.weight: shape (3, 4)"):
        assert part in message
    for key, value in m.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    m.load_state_dict({"cells.0.linear.bias": np.full(3, 7.0)}, strict=False)
    np.testing.assert_array_equal(m.cells[0].linear.bias.data, 7.0)
    np.testing.assert_array_equal(m.cells[1].linear.bias.data, before["cells.1.linear.bias"])


def test_load_state_dict_writes_into_the_parameters_arrays() -> None:
    """As PyTorch's copy_: an array or weight block held before the load shows the loaded
    values (they were left stale, silently, when the load gave each parameter a new array)."""
    m = nn.LSTM(2, 3)
    held, block = m.cells[0].linear.weight.data, m.weight_hh_l0
    state = {key: np.full_like(value, 0.5) for key, value in m.state_dict().items()}
    m.load_state_dict(state)
    assert held is m.cells[0].linear.weight.data
    np.testing.assert_array_equal(held, 0.5)
    np.testing.assert_array_equal(block.data, 0.5)
    lazy = nn.LazyLinear(4)  # no shape before its first call: the loaded array is taken
    lazy.load_state_dict({"weight": np.ones((4, 2)), "bias": np.zeros(4)})
    assert lazy.weight.shape == (4, 2)


def test_zero_grad_and_train_eval_reach_every_cell(rng) -> None:
    m = nn.RNN(2, 3, num_layers=2)
    m(Tensor(rng.standard_normal((3, 1, 2))))[0].sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.eval()
    assert not any(c.training for c in m.cells)
    m.train()
    assert all(c.training for c in m.cells)


# ----- PyTorch-named interop --------------------------------------------------------------------
@pytest.mark.parametrize("kind,cls", SEQ_KINDS, ids=[k for k, _ in SEQ_KINDS])
def test_interop_round_trip(kind, cls, rng) -> None:
    a, b = cls(3, 4, num_layers=2), cls(3, 4, num_layers=2)
    exported = nn.export_torch_weights(a)
    G = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    assert exported["weight_ih_l0"].shape == (G * 4, 3)
    assert exported["weight_ih_l1"].shape == (G * 4, 4)
    assert exported["weight_hh_l1"].shape == (G * 4, 4)
    if kind == "gru":  # b_hn lives in the n rows of bias_hh; the r and z rows are zero
        np.testing.assert_array_equal(exported["bias_hh_l0"][:8], 0.0)
        np.testing.assert_array_equal(exported["bias_hh_l1"][8:], a.cells[1].b_hn.data)
    else:
        np.testing.assert_array_equal(exported["bias_hh_l0"], 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: the round trip is exact
        nn.load_torch_weights(b, exported)
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    x = Tensor(rng.standard_normal((3, 2, 3)).astype(np.float32))
    np.testing.assert_array_equal(a(x)[0].data, b(x)[0].data)


def test_interop_gru_keeps_b_hn_apart_and_cho_gru_warns(rng) -> None:
    W_ih, W_hh = rng.standard_normal((12, 3)), rng.standard_normal((12, 4))
    b_ih, b_hh = rng.standard_normal(12), rng.standard_normal(12)
    weights = {"weight_ih": W_ih, "weight_hh": W_hh, "bias_ih": b_ih, "bias_hh": b_hh}
    cell = nn.GRUCell(3, 4, dtype=np.float64)
    nn.load_torch_weights(cell, weights)
    np.testing.assert_array_equal(cell.linear.bias.data[:8], b_ih[:8] + b_hh[:8])
    np.testing.assert_array_equal(cell.linear.bias.data[8:], b_ih[8:])
    np.testing.assert_array_equal(cell.b_hn.data, b_hh[8:])
    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    gi, gh = x @ W_ih.T + b_ih, h @ W_hh.T + b_hh  # PyTorch's GRUCell, written out
    r, z = sigmoid(gi[:, :4] + gh[:, :4]), sigmoid(gi[:, 4:8] + gh[:, 4:8])
    n = np.tanh(gi[:, 8:] + r * gh[:, 8:])
    np.testing.assert_allclose(cell(Tensor(x), Tensor(h)).data, (1 - z) * n + z * h,
                               rtol=1e-12)
    cho = nn.GRU(3, 4, reset_after=False, dtype=np.float64)
    with pytest.warns(UserWarning, match=r"reset_after=False.*reset_after=True matches PyTorch"):
        nn.load_torch_weights(cho, {f"{k}_l0": v for k, v in weights.items()})
    np.testing.assert_array_equal(cho.cells[0].linear.bias.data, b_ih + b_hh)  # folded
    back = nn.export_torch_weights(cho)
    np.testing.assert_array_equal(back["bias_hh_l0"], 0.0)
    with pytest.raises(KeyError, match="bias_ih_l0 and bias_hh_l0 must be given together"):
        nn.load_torch_weights(nn.GRU(3, 4), {"bias_ih_l0": b_ih}, strict=False)


def test_interop_folds_the_two_biases_and_splits_the_weight(rng) -> None:
    W_ih, W_hh = rng.standard_normal((4, 3)), rng.standard_normal((4, 4))
    b_ih, b_hh = rng.standard_normal(4), rng.standard_normal(4)
    cell = nn.RNNCell(3, 4, dtype=np.float64)
    nn.load_torch_weights(cell, {"weight_ih": W_ih, "weight_hh": W_hh, "bias_ih": b_ih,
                                 "bias_hh": b_hh})
    np.testing.assert_array_equal(cell.linear.weight.data, np.hstack([W_ih, W_hh]))
    np.testing.assert_array_equal(cell.linear.bias.data, b_ih + b_hh)
    other = nn.RNNCell(3, 4, dtype=np.float64)  # a cell also reads the _l0 names of a layer
    nn.load_torch_weights(other, {"weight_ih_l0": W_ih, "weight_hh_l0": W_hh,
                                  "bias_ih_l0": b_ih, "bias_hh_l0": b_hh})
    np.testing.assert_array_equal(other.linear.weight.data, cell.linear.weight.data)
    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    want = np.tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)  # PyTorch's RNNCell formula
    np.testing.assert_allclose(cell(Tensor(x), Tensor(h)).data, want, rtol=1e-12)


def test_interop_errors_list_everything_and_change_nothing(tmp_path) -> None:
    m = nn.LSTM(3, 4, num_layers=2)
    before = m.state_dict()
    weights = nn.export_torch_weights(nn.LSTM(3, 4, num_layers=2))
    del weights["bias_hh_l1"]
    weights["weight_hh_l0"] = np.zeros((16, 5))
    weights["weight_ih_l2"] = np.zeros((16, 4))
    with pytest.raises(KeyError) as info:
        nn.load_torch_weights(m, weights)
    message = str(info.value)
    for part in ("missing key bias_hh_l1", "weight_hh_l0: shape (16, 5), expected (16, 4)",
                 "unexpected keys ['weight_ih_l2']"):
        assert part in message
    for key, value in m.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    no_bias = nn.RNNCell(3, 4, bias=False)
    with pytest.raises(KeyError, match="bias=False"):
        nn.load_torch_weights(no_bias, nn.export_torch_weights(nn.RNNCell(3, 4)))
    with pytest.raises(TypeError, match="expected a recurrent cell or sequence module"):
        nn.load_torch_weights(nn.Linear(2, 2), {})


def test_interop_reads_an_npz_path_and_partial_loads(tmp_path) -> None:
    src = nn.RNN(3, 4, num_layers=2)
    path = tmp_path / "weights.npz"
    np.savez(path, **nn.export_torch_weights(src))
    dst = nn.RNN(3, 4, num_layers=2)
    nn.load_torch_weights(dst, path)
    np.testing.assert_array_equal(dst.cells[1].linear.weight.data,
                                  src.cells[1].linear.weight.data)
    partial = nn.RNN(3, 4, num_layers=2)
    keep = partial.cells[1].linear.weight.data.copy()
    nn.load_torch_weights(partial, {"bias_ih_l0": np.ones(4)}, strict=False)
    np.testing.assert_array_equal(partial.cells[0].linear.bias.data, 1.0)
    np.testing.assert_array_equal(partial.cells[1].linear.weight.data, keep)


def test_named_parameters_lists_own_parameters_before_sub_modules_as_pytorch_does():
    class Net(nn.Module):
        def __init__(self):
            self.rnn = nn.Linear(2, 3)
            self.head = nn.Linear(3, 2)
            self.extra = nn.Parameter(np.zeros(2))
            self.tied = self.head.weight

    # the order PyTorch gives for the same module (checked by hand against torch 2.x)
    assert [n for n, _ in Net().named_parameters()] == [
        "extra", "tied", "rnn.weight", "rnn.bias", "head.bias"]


def test_integer_input_takes_the_model_dtype_and_stays_on_the_fused_path():
    # ints were cast to float32 always: a float64 model then fell back to the per-op graph
    m = nn.GRU(2, 3).double()
    x = np.arange(12).reshape(3, 2, 2) % 2
    output, h_n = m(x)
    assert output.dtype == np.float64 and output.parents[0].op == "gru_layer"
    np.testing.assert_allclose(output.data, m(x.astype(np.float64), fused=False)[0].data,
                               atol=1e-12)


def test_assigning_a_tensor_to_a_parameters_data_stores_its_array_as_pytorch() -> None:
    # the GloVe idiom `emb.weight.data = torch.from_numpy(vectors)`: the Tensor was stored as
    # .data itself, and the model failed later with unrelated messages
    vectors = np.arange(12, dtype=np.float32).reshape(4, 3)
    emb = nn.Embedding(4, 3)
    emb.weight.data = Tensor(vectors.copy())  # (shared memory, as torch.from_numpy's)
    assert isinstance(emb.weight.data, np.ndarray)
    np.testing.assert_array_equal(emb(np.array([2, 0])).data, vectors[[2, 0]])
    opt = optim.SGD(emb.parameters(), lr=1.0)
    emb(np.array([1])).sum().backward()
    opt.step()
    np.testing.assert_array_equal(emb.weight.data[1], vectors[1] - 1.0)
    for bad in ([1.0, 2.0], np.arange(3), "x"):
        with pytest.raises(TypeError, match="Parameter.data: must be a floating-point"):
            emb.weight.data = bad
    np.testing.assert_array_equal(emb.weight.data[0], vectors[0])  # unchanged by the refusals
