"""Truncated BPTT (nn.utils.truncated_bptt, detach_state, chunks, unroll).

The reference for each chunk is built by hand with the engine: the chunk is run again from a
constant copy of its incoming state, and its loss backpropagated. Truncated BPTT must give
exactly that gradient, and nothing from later chunks may reach earlier ones.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn, optim
import tinygrad_rnn.functional as F
from tinygrad_rnn.nn.utils import chunks, detach_state, truncated_bptt, unroll


class TanhCell(nn.Module):
    """A hand-made vanilla cell h' = tanh(x W_xh^T + h W_hh^T + b), independent of nn.RNNCell."""

    def __init__(self, n_in: int, n_h: int, rng: np.random.Generator) -> None:
        self.W_xh = nn.Parameter(rng.normal(scale=0.6, size=(n_h, n_in)))
        self.W_hh = nn.Parameter(rng.normal(scale=0.6, size=(n_h, n_h)))
        self.b = nn.Parameter(rng.normal(scale=0.1, size=n_h))
        self.n_h = n_h

    def forward(self, x, h=None):
        if h is None:
            h = Tensor(np.zeros((x.shape[0], self.n_h)))
        return (x @ self.W_xh.T + h @ self.W_hh.T + self.b).tanh()


class Recorder:
    """A stand-in optimizer: zero_grad clears, step records a copy of every gradient."""

    def __init__(self, params) -> None:
        self.params = list(params)
        self.grads: list[list[np.ndarray]] = []

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        self.grads.append([p.grad.copy() for p in self.params])


def _mse_sum(output, target):
    return F.mse_loss(output, target, reduction="sum")


def _constant_copy(state):
    """The state's values as fresh constant leaves (made here, not by the code under test)."""
    if state is None:
        return None
    if isinstance(state, Tensor):
        return Tensor(state.data.copy())
    return type(state)(Tensor(s.data.copy()) for s in state)


def _reference(model, xs, ys, k, state, params):
    """Per chunk: (loss, grads) of that chunk's loss from a constant copy of its incoming
    state, and the incoming state's gradient for the first chunk."""
    out = []
    for start in range(0, len(xs), k):
        for p in params:
            p.grad = None
        const = _constant_copy(state)
        if start == 0 and isinstance(state, Tensor) and state.requires_grad:
            const = state  # the user's initial state: its gradient is checked too
        output, new_state = model(xs[start:start + k], const)
        loss = _mse_sum(output, ys[start:start + k])
        loss.backward()
        out.append((loss.item(), [p.grad.copy() for p in params]))
        state = new_state
    return out


def _data(rng, T=10, B=2, n_in=3, n_out=4):
    return Tensor(rng.normal(size=(T, B, n_in))), Tensor(rng.normal(size=(T, B, n_out)))


def test_each_chunk_gradient_is_the_truncated_reference() -> None:
    rng = np.random.default_rng(0)
    cell = TanhCell(3, 4, rng)
    xs, ys = _data(rng)
    params = list(cell.parameters())

    def model(x, s):
        return unroll(cell, x, s)

    h0_data = rng.normal(size=(2, 4))
    ref_h0 = Tensor(h0_data.copy(), requires_grad=True)
    ref = _reference(model, xs, ys, 4, ref_h0, params)
    h0 = Tensor(h0_data.copy(), requires_grad=True)
    rec = Recorder(params)
    result = truncated_bptt(model, xs, ys, 4, _mse_sum, optimizer=rec, state=h0)

    assert len(result.losses) == 3  # chunks of 4, 4, 2 steps
    for (loss, grads), got_loss, got in zip(ref, result.losses, rec.grads):
        assert got_loss == pytest.approx(loss, rel=1e-13)
        for g_ref, g in zip(grads, got):
            np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-14)
    # the initial state receives only the first chunk's gradient: none crossed a boundary
    np.testing.assert_allclose(h0.grad, ref_h0.grad, rtol=1e-12, atol=1e-14)
    assert result.state.is_leaf and not result.state.requires_grad


def test_truncation_differs_from_full_bptt_and_forward_is_unchanged() -> None:
    """The test above is discriminating: full BPTT gives a different h0 gradient and different
    weight gradients, while the losses (the forward pass) are the same."""
    rng = np.random.default_rng(1)
    cell = TanhCell(3, 4, rng)
    xs, ys = _data(rng)
    h0_data = rng.normal(size=(2, 4))

    h0_full = Tensor(h0_data.copy(), requires_grad=True)
    output, _ = unroll(cell, xs, h0_full)
    full_loss = _mse_sum(output, ys)
    full_loss.backward()
    full_W_hh = cell.W_hh.grad.copy()
    cell.zero_grad()

    h0 = Tensor(h0_data.copy(), requires_grad=True)
    result = truncated_bptt(lambda x, s: unroll(cell, x, s), xs, ys, 3, _mse_sum, state=h0)
    assert sum(result.losses) == pytest.approx(full_loss.item(), rel=1e-12)
    assert not np.allclose(h0.grad, h0_full.grad)
    assert not np.allclose(cell.W_hh.grad, full_W_hh)


def test_without_optimizer_grads_are_the_sum_of_chunk_grads() -> None:
    rng = np.random.default_rng(2)
    cell = TanhCell(3, 4, rng)
    xs, ys = _data(rng, T=7)
    params = list(cell.parameters())

    def model(x, s):
        return unroll(cell, x, s)

    ref = _reference(model, xs, ys, 3, None, params)
    cell.zero_grad()
    truncated_bptt(model, xs, ys, 3, _mse_sum, state=None)
    for i, p in enumerate(params):
        np.testing.assert_allclose(p.grad, sum(g[i] for _, g in ref), rtol=1e-12, atol=1e-14)


def test_k_at_least_the_length_is_full_bptt() -> None:
    rng = np.random.default_rng(3)
    cell = TanhCell(3, 4, rng)
    xs, ys = _data(rng, T=5)
    output, _ = unroll(cell, xs)
    _mse_sum(output, ys).backward()
    full = [p.grad.copy() for p in cell.parameters()]
    cell.zero_grad()
    truncated_bptt(lambda x, s: unroll(cell, x, s), xs, ys, 5, _mse_sum)
    for p, g in zip(cell.parameters(), full):
        np.testing.assert_allclose(p.grad, g, rtol=1e-13, atol=1e-15)


def test_sequence_lstm_with_tuple_state_matches_reference() -> None:
    """A sequence module (nn.LSTM, 2 layers) as it is: its (h, c) state is carried detached."""
    tg.manual_seed(4)
    rng = np.random.default_rng(4)
    lstm = nn.LSTM(3, 4, num_layers=2, dtype=np.float64)
    xs, ys = _data(rng, T=7)
    params = list(lstm.parameters())
    ref = _reference(lstm, xs, ys, 3, None, params)
    rec = Recorder(params)
    result = truncated_bptt(lstm, xs, ys, 3, _mse_sum, optimizer=rec)
    assert len(rec.grads) == 3
    for (loss, grads), got_loss, got in zip(ref, result.losses, rec.grads):
        assert got_loss == pytest.approx(loss, rel=1e-13)
        for g_ref, g in zip(grads, got):
            np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-14)
    h_n, c_n = result.state
    assert isinstance(result.state, tuple) and h_n.shape == (2, 2, 4) and c_n.shape == (2, 2, 4)
    assert h_n.is_leaf and c_n.is_leaf


def test_lstm_cell_through_unroll_and_batch_first() -> None:
    """A cell with a tuple state through unroll, and time on axis 1 (batch_first data)."""
    tg.manual_seed(5)
    rng = np.random.default_rng(5)
    cell = nn.LSTMCell(3, 4, dtype=np.float64)
    xs, ys = _data(rng, T=6)
    xs_bf, ys_bf = Tensor(xs.data.transpose(1, 0, 2)), Tensor(ys.data.transpose(1, 0, 2))

    def model_bf(x, s):  # (B, k, I) -> outputs (B, k, H)
        out, s = unroll(cell, x.transpose(0, 1), s)
        return out.transpose(0, 1), s

    ref = _reference(lambda x, s: unroll(cell, x, s), xs, ys, 4, None, cell.parameters())
    rec = Recorder(cell.parameters())
    result = truncated_bptt(model_bf, xs_bf, ys_bf, 4, _mse_sum, optimizer=rec, time_axis=1)
    for (loss, grads), got_loss, got in zip(ref, result.losses, rec.grads):
        assert got_loss == pytest.approx(loss, rel=1e-13)
        for g_ref, g in zip(grads, got):
            np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-14)


def test_clip_norm_is_applied_before_each_step() -> None:
    rng = np.random.default_rng(6)
    cell = TanhCell(3, 4, rng)
    xs, ys = _data(rng)
    rec = Recorder(cell.parameters())
    truncated_bptt(lambda x, s: unroll(cell, x, s), xs, ys, 5, _mse_sum, optimizer=rec,
                   clip_norm=0.1)
    for grads in rec.grads:
        total = np.sqrt(sum(np.sum(g ** 2) for g in grads))
        assert total <= 0.1 + 1e-9


def test_training_with_tbptt_lowers_the_loss() -> None:
    """An RNN learns to output its previous input (a one-step memory) from chunks of 5."""
    tg.manual_seed(7)
    rng = np.random.default_rng(7)
    rnn = nn.RNN(1, 8, dtype=np.float64)
    head = nn.Linear(8, 1, dtype=np.float64)
    x = rng.uniform(-1, 1, size=(200, 1, 1))
    y = np.concatenate([np.zeros((1, 1, 1)), x[:-1]])  # y_t = x_{t-1}

    def model(xc, s):
        out, s = rnn(xc, s)
        return out @ head.weight.T + head.bias, s

    opt = optim.Adam([*rnn.parameters(), *head.parameters()], lr=0.03)
    first = truncated_bptt(model, Tensor(x), Tensor(y), 5, F.mse_loss, optimizer=opt)
    for _ in range(4):
        last = truncated_bptt(model, Tensor(x), Tensor(y), 5, F.mse_loss, optimizer=opt)
    assert np.mean(last.losses) < 0.2 * np.mean(first.losses[:5])


def test_detach_state() -> None:
    h = Tensor(np.ones((2, 3)), requires_grad=True) * 2.0
    c = Tensor(np.ones((2, 3)), requires_grad=True) * 3.0
    h.name = "h_4"
    d = detach_state(h)
    assert d.is_leaf and not d.requires_grad and np.array_equal(d.data, h.data)
    assert d.name == "h_4" and d.tags == {"cut": True}  # what viz draws as a cut
    pair = detach_state((h, c))
    assert isinstance(pair, tuple) and all(t.is_leaf for t in pair)
    layers = detach_state([(h, c), (h, c)])
    assert isinstance(layers, list) and layers[1][1].is_leaf
    assert detach_state(None) is None
    with pytest.raises(TypeError, match="detach_state"):
        detach_state(np.ones(2))


def test_chunks() -> None:
    seq = np.arange(10)
    assert [c.tolist() for c in chunks(seq, 4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    grid = np.arange(12).reshape(2, 6)
    assert [c.shape for c in chunks(grid, 4, axis=1)] == [(2, 4), (2, 2)]
    assert list(chunks(list("hello"), 2)) == [["h", "e"], ["l", "l"], ["o"]]
    t = Tensor(np.arange(6.0), requires_grad=True)
    parts = list(chunks(t, 3))
    (parts[0].sum() * 2.0 + parts[1].sum()).backward()  # slices stay in the graph
    np.testing.assert_array_equal(t.grad, [2, 2, 2, 1, 1, 1])
    with pytest.raises(ValueError, match="k must be a positive integer"):
        list(chunks(seq, 0))
    with pytest.raises(ValueError, match="axis"):
        list(chunks(seq, 2, axis=3))


def test_unroll_matches_stepping_by_hand() -> None:
    rng = np.random.default_rng(8)
    cell = TanhCell(3, 4, rng)
    xs = Tensor(rng.normal(size=(5, 2, 3)))
    out, h = unroll(cell, xs)
    h_ref = None
    for t in range(5):
        h_ref = cell(xs[t], h_ref)
        np.testing.assert_array_equal(out.data[t], h_ref.data)
    np.testing.assert_array_equal(h.data, h_ref.data)
    with pytest.raises(ValueError, match="empty"):
        unroll(cell, [])


def test_bad_arguments() -> None:
    rng = np.random.default_rng(9)
    cell = TanhCell(3, 4, rng)
    xs, ys = _data(rng, T=6)

    def model(x, s):
        return unroll(cell, x, s)

    with pytest.raises(ValueError, match="6 steps.*5"):
        truncated_bptt(model, xs, ys[:5], 2, _mse_sum)
    with pytest.raises(TypeError, match="scalar Tensor"):
        truncated_bptt(model, xs, ys, 2, lambda o, t: o - t)
    with pytest.raises(ValueError, match="clip_norm needs"):
        truncated_bptt(model, xs, ys, 2, _mse_sum, clip_norm=1.0)
