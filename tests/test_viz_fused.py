"""viz draws fused layer nodes (nn.RNN/LSTM/GRU by default) unrolled, re-run through the cell."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinygrad_rnn as tg
import viz
from tinygrad_rnn import Tensor, nn, optim

CLUSTER = re.compile(r"subgraph cluster_t(\d+) \{")
STATE_NORM = re.compile(r"<B>\w+</B><BR/>([hc])<SUB>(\d+)</SUB>.*?\|g\| ([0-9.e+-]+)")


def model_loss(cls, fused: bool, T: int = 5, layers: int = 2, **options):
    tg.manual_seed(0)
    model = cls(3, 4, num_layers=layers, **options)
    x = Tensor(np.random.default_rng(0).standard_normal((T, 2, 3)).astype(np.float32))
    out, _ = model(x, fused=fused)
    return (out[T - 1] ** 2).sum(), model


def state_norms(src: str) -> list[tuple[str, int, float]]:
    """(h or c, step, printed gradient norm) of every drawn state, sorted."""
    return sorted((k, int(t), float(g)) for k, t, g in STATE_NORM.findall(src))


@pytest.mark.parametrize("cls,options", [(nn.RNN, {}), (nn.LSTM, {}), (nn.GRU, {}),
                                         (nn.GRU, {"reset_after": False})])
def test_a_fused_model_is_drawn_like_its_per_op_graph(cls, options):
    fused, _ = model_loss(cls, True, **options)
    assert any(t.op.endswith("_layer") for t in viz.walk(fused) if t.op)
    per_op, _ = model_loss(cls, False, **options)
    a = viz.draw(fused, grads=True).source
    b = viz.draw(per_op, grads=True).source
    assert [int(s) for s in CLUSTER.findall(a)] == [1, 2, 3, 4, 5]
    for t in (1, 5):
        assert f"subgraph cluster_t{t}_l0 {{" in a and f"subgraph cluster_t{t}_l1 {{" in a
    # the same states, with the same gradient norms (printed to 2 digits) as the per-op path
    assert state_norms(a) == state_norms(b) and len(state_norms(a)) >= 10
    assert "_layer</B>" not in a


def test_fused_lstm_gradients_equal_the_per_op_gradients():
    from viz.view import View

    def state_grads(loss):
        view = View([loss])
        found = view.gradients()
        return {t.name: found[id(t)] for t in view.order
                if t.name and t.name[:2] in ("h_", "c_") and id(t) in found}

    fused = state_grads(model_loss(nn.LSTM, True, layers=1)[0])
    per_op = state_grads(model_loss(nn.LSTM, False, layers=1)[0])
    assert set(fused) == set(per_op) and {"h_1", "c_1", "h_5", "c_5"} <= set(fused)
    for name in per_op:
        np.testing.assert_allclose(fused[name], per_op[name], rtol=1e-4, atol=1e-6,
                                   err_msg=name)


def test_unroll_fused_false_keeps_one_box_per_layer():
    loss, _ = model_loss(nn.LSTM, True)
    src = viz.draw(loss, unroll_fused=False).source
    assert src.count("<B>lstm_layer</B>") == 2 and not CLUSTER.findall(src)


def test_fused_drawing_changes_nothing_and_works_after_backward():
    loss, model = model_loss(nn.GRU, True)
    loss.backward()  # frees the fused nodes' saved arrays
    grads = [p.grad.copy() for p in model.parameters()]
    src = viz.draw(loss).source  # the re-run needs only the inputs' data
    assert [int(s) for s in CLUSTER.findall(src)] == [1, 2, 3, 4, 5]
    for p, g in zip(model.parameters(), grads):
        np.testing.assert_array_equal(p.grad, g)
    with pytest.raises(RuntimeError, match="retain_grad=True"):
        viz.draw(loss, grads=True)


def test_fused_gradients_after_retain_grad():
    loss, _ = model_loss(nn.RNN, True)
    expected = viz.draw(loss, grads=True).source
    loss.backward(retain_grad=True)
    assert viz.draw(loss, grads=True).source == expected


def test_parameters_changed_since_the_forward_are_a_clear_error():
    loss, model = model_loss(nn.RNN, True, layers=1)
    loss.backward(retain_graph=True)
    optim.SGD(model.parameters(), lr=0.5).step()
    with pytest.raises(RuntimeError, match="changed since the forward.*unroll_fused=False"):
        viz.draw(loss)
    assert "<B>rnn_layer</B>" in viz.draw(loss, unroll_fused=False).source


def test_a_fused_hand_model_with_max_steps():
    tg.manual_seed(0)
    cell = nn.LSTMCell(2, 3)
    xs = Tensor(np.ones((40, 1, 2), dtype=np.float32))
    hs, _ = nn.unroll(cell, xs)  # one fused node
    src = viz.draw(hs.sum(), max_steps=4).source
    assert [int(s) for s in CLUSTER.findall(src)] == [1, 2, 39, 40]


@pytest.mark.parametrize("cls,bidirectional", [(nn.RNN, False), (nn.LSTM, True),
                                               (nn.GRU, False), (nn.GRU, True)])
def test_a_fused_packed_model_is_drawn_like_its_per_op_graph(cls, bidirectional):
    """On a packed batch (one fused node per run of equal batch size), the same steps, states
    and gradient norms as the per-op path, h_n included."""
    def draw(fused):
        tg.manual_seed(0)
        model = cls(3, 4, num_layers=2, bidirectional=bidirectional)
        x = Tensor(np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32))
        out, h_n = model(nn.utils.rnn.pack_padded_sequence(x, [5, 3]), fused=fused)
        h_n = h_n[0] if isinstance(h_n, tuple) else h_n
        return viz.draw((out.data ** 2).sum() + (h_n ** 2).sum(), grads=True).source

    a, b = draw(True), draw(False)
    assert [int(s) for s in CLUSTER.findall(a)] == [1, 2, 3, 4, 5]
    assert "_layer</B>" not in a
    assert state_norms(a) == state_norms(b) and len(state_norms(a)) >= 10
