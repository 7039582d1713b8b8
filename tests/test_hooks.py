"""Looking at gradients on their way back: `register_hook`, `retain_grad` and `grad_fn`, as
PyTorch has them. Expected values are worked out by hand (each test says how) or come from
PyTorch 2.13 (the live comparison runs when torch is installed)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn
from tinygrad_rnn.function import AccumulateGrad


def test_retain_grad_keeps_an_intermediate_gradient_and_adds_up_over_backward_calls():
    x = Tensor([1.0, 1.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    z = (y * y).sum()  # dz/dy = 2 y = 4
    z.backward(retain_graph=True)
    assert np.array_equal(y.grad, [4.0, 4.0])
    z.backward()
    assert np.array_equal(y.grad, [8.0, 8.0])  # accumulated, as PyTorch does
    assert y.retains_grad and not x.retains_grad
    x.retain_grad()  # a leaf keeps its .grad anyway: nothing to do
    assert not x.retains_grad
    w = x * 3
    w.sum().backward()
    assert w.grad is None  # not retained: intermediate gradients are dropped


def test_hook_result_replaces_the_gradient_and_retain_grad_sees_it():
    x = Tensor([1.0, 1.0], requires_grad=True)
    y = x * 3
    y.register_hook(lambda g: g * 10)
    y.retain_grad()
    (y * y).sum().backward()  # dL/dy = 2 y = 6, times 10 by the hook
    assert np.array_equal(y.grad, [60.0, 60.0])
    assert np.array_equal(x.grad, [180.0, 180.0])  # 60 * dy/dx


def test_hooks_run_in_order_get_a_tensor_and_can_be_removed():
    x = Tensor([1.0, 2.0], requires_grad=True)
    seen = []
    first = x.register_hook(lambda g: seen.append(("first", g.data.copy())) or g + 1)
    x.register_hook(lambda g: seen.append(("second", g.data.copy())))
    (x * 5).sum().backward()
    assert [name for name, _ in seen] == ["first", "second"]
    assert np.array_equal(seen[0][1], [5.0, 5.0]) and np.array_equal(seen[1][1], [6.0, 6.0])
    assert np.array_equal(x.grad, [6.0, 6.0])  # a leaf's hook runs before .grad is written
    first.remove()
    first.remove()  # twice is fine
    seen.clear()
    x.grad = None
    (x * 5).sum().backward()
    assert [name for name, _ in seen] == ["second"] and np.array_equal(x.grad, [5.0, 5.0])
    with x.register_hook(lambda g: g * 0):
        pass  # leaving the block removes the hook
    x.grad = None
    (x * 5).sum().backward()
    assert np.array_equal(x.grad, [5.0, 5.0])


def test_a_hook_may_change_its_gradient_in_place_as_in_pytorch():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2

    def clip(g):  # returns None: the change in place is what goes on
        g.clamp_(max=1.0)

    y.register_hook(clip)
    kept = []
    x.register_hook(kept.append)
    (y * 3).sum().backward()  # dL/dy = 3, clipped to 1; dL/dx = 2 * 1
    assert not kept[0].requires_grad and np.array_equal(x.grad, [2.0, 2.0])
    kept[0].data[:] = 99.0  # the hook's argument, changed after backward: .grad keeps its own
    assert np.array_equal(x.grad, [2.0, 2.0])


def test_copies_of_a_tensor_have_no_hooks_and_the_graph_walk_meets_one_node_per_leaf():
    import copy
    import pickle
    w = Tensor([1.0, 1.0], requires_grad=True)
    w.register_hook(lambda g: g * 0)
    w.retain_grad()
    for twin in (copy.deepcopy(w), pickle.loads(pickle.dumps(w))):  # a lambda is not pickled
        (twin * 2).sum().backward()
        assert np.array_equal(twin.grad, [2.0, 2.0])  # PyTorch's copies drop hooks too
    z = w * w + w
    (mul, _), (leaf, _) = z.grad_fn.next_functions
    assert mul.next_functions[0][0] is mul.next_functions[1][0] is leaf  # AccumulateGrad(w)


def test_backward_takes_pytorchs_keyword_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).backward(gradient=Tensor([1.0, -1.0]))
    assert np.array_equal(x.grad, [3.0, -3.0])
    with pytest.raises(TypeError, match="backward: give grad or gradient"):
        (x * 3).backward(np.ones(2), gradient=np.ones(2))


def test_grad_runs_hooks_but_writes_no_grad():
    # PyTorch's torch.autograd.grad: a leaf target's gradient is taken after its hooks, a
    # non-leaf target's before its own hooks (whose result still flows further back)
    x = Tensor([1.0, 1.0], requires_grad=True)
    x.register_hook(lambda g: g * 10)
    y = x * 2
    y.register_hook(lambda g: g + 1)
    y.retain_grad()
    dx, dy = tg.grad((y * 3).sum(), [x, y])
    assert np.array_equal(dy, [3.0, 3.0])
    assert np.array_equal(dx, [80.0, 80.0])  # (3 + 1) * 2 * 10
    assert x.grad is None and y.grad is None


def test_hooks_around_an_in_place_write_follow_pytorch():
    # hooks registered before `y[0] = ...` get the gradient of the old y (whose element 0 was
    # overwritten, so it gets 0 there); hooks after it, and y.grad, that of the new y
    x = Tensor([1.0, 1.0, 1.0], requires_grad=True)
    y = x * 2
    seen = {}
    y.register_hook(lambda g: seen.__setitem__("before", g.data.copy()))
    y.retain_grad()
    y[0] = x[1] * 5
    y.register_hook(lambda g: seen.__setitem__("after", g.data.copy()))
    (y * Tensor([1.0, 2.0, 3.0])).sum().backward()
    assert np.array_equal(seen["after"], [1.0, 2.0, 3.0])
    assert np.array_equal(seen["before"], [0.0, 2.0, 3.0])
    assert np.array_equal(y.grad, [1.0, 2.0, 3.0])
    assert np.array_equal(x.grad, [0.0, 9.0, 6.0])  # 2*[0,2,3] + 5*1 at x[1]


@pytest.mark.parametrize("returned, match", [
    (lambda g: Tensor(np.ones(3, np.float32)), r"returned shape \(3,\).*shape \(2,\)"),
    (lambda g: Tensor(np.ones(2, np.float64)), "returned .*dtype float64.*dtype float32"),
    (lambda g: 1.0, "returned a float"),
])
def test_a_hook_returning_a_wrong_gradient_is_refused_and_no_grad_changes(returned, match):
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.grad = np.array([7.0, 7.0], np.float32)
    y = x * 2
    y.register_hook(returned)
    with pytest.raises(RuntimeError, match="register_hook: the hook '<lambda>' " + match):
        y.sum().backward()
    assert np.array_equal(x.grad, [7.0, 7.0])


def test_register_hook_and_retain_grad_refuse_what_cannot_work():
    t = Tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="register_hook: this tensor does not require grad"):
        t.register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="retain_grad: this tensor does not require grad"):
        t.retain_grad()
    with pytest.raises(TypeError, match="register_hook: hook must be callable, got 3"):
        Tensor([1.0], requires_grad=True).register_hook(3)


def test_grad_fn_names_the_op_and_links_to_its_inputs():
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([3.0, 4.0])
    loss = (x * c).tanh().sum()
    assert x.grad_fn is None and c.grad_fn is None
    assert loss.grad_fn.name() == "SumBackward" and repr(loss.grad_fn) == "<SumBackward>"
    (tanh, k), = loss.grad_fn.next_functions
    assert k == 0 and tanh.name() == "TanhBackward"
    (mul, _), = tanh.next_functions
    (leaf, _), (none, _) = mul.next_functions
    assert isinstance(leaf, AccumulateGrad) and leaf.variable is x and none is None
    assert leaf.name() == "AccumulateGrad" and leaf.next_functions == ()


def _cell_loop_with_hooks(W, b, xs, h0):
    """dL/dh_t for every step of a hand-written RNNCell loop, read by hooks."""
    cell = nn.RNNCell(xs.shape[-1], h0.shape[-1], dtype=np.float64)
    cell.linear.weight.data[...] = W
    cell.linear.bias.data[...] = b
    grads = {}
    h, loss = Tensor(h0), 0
    for t in range(len(xs)):
        h = cell(Tensor(xs[t]), h)
        h.register_hook(lambda g, t=t: grads.__setitem__(t, g.numpy()))
        loss = loss + (h * h).sum()
    loss.backward()
    return [grads[t] for t in range(len(xs))], cell.linear.weight.grad


def test_hooks_read_the_bptt_gradient_of_every_step_as_pytorch_does():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    T, B, D, H = 6, 2, 3, 4
    W, b = rng.normal(size=(H, D + H)) * 0.8, rng.normal(size=H) * 0.1
    xs, h0 = rng.normal(size=(T, B, D)), rng.normal(size=(B, H))
    ours, dW = _cell_loop_with_hooks(W, b, xs, h0)

    cell = torch.nn.RNNCell(D, H).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(W[:, :D]))
        cell.weight_hh.copy_(torch.from_numpy(W[:, D:]))
        cell.bias_ih.copy_(torch.from_numpy(b))
        cell.bias_hh.zero_()
    theirs, h, loss = {}, torch.from_numpy(h0), 0
    for t in range(T):
        h = cell(torch.from_numpy(xs[t]), h)
        h.register_hook(lambda g, t=t: theirs.__setitem__(t, g.numpy().copy()))
        loss = loss + (h * h).sum()
    loss.backward()
    for t in range(T):
        np.testing.assert_allclose(ours[t], theirs[t], rtol=1e-12, atol=1e-14)
    dW_torch = torch.cat([cell.weight_ih.grad, cell.weight_hh.grad], 1).numpy()
    np.testing.assert_allclose(dW, dW_torch, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("layers", [1, 2])
def test_output_and_h_n_of_recurrent_modules_get_their_own_gradients(kind, fused, layers):
    # h_n was a slice of output for RNN and GRU: a hook or retain_grad on output saw
    # dL/d output + dL/d h_n at the last step. Here loss = sum(A * output) + sum(B * h_n), so
    # dL/d output = A and dL/d h_n = B exactly.
    rng = np.random.default_rng(1)
    m = getattr(nn, kind)(3, 4, num_layers=layers, dtype=np.float64)
    x = Tensor(rng.normal(size=(5, 2, 3)), requires_grad=True)
    A, B = rng.normal(size=(5, 2, 4)), rng.normal(size=(layers, 2, 4))

    def run(hook=None):
        out, state = m(x, fused=fused)
        h_n = state[0] if kind == "LSTM" else state
        out.retain_grad()
        h_n.retain_grad()
        if hook is not None:
            out.register_hook(hook)
        ((out * Tensor(A)).sum() + (h_n * Tensor(B)).sum()).backward()
        return out, h_n

    out, h_n = run()
    np.testing.assert_array_equal(out.grad, A)
    np.testing.assert_array_equal(h_n.grad, B)
    x.grad = None
    run(hook=lambda g: g * 0)  # cut the output path: only the h_n path reaches x
    (dx_h_n,) = tg.grad((m(x, fused=fused)[1][0] if kind == "LSTM" else m(x, fused=fused)[1])
                        .mul(Tensor(B)).sum(), [x])
    np.testing.assert_allclose(x.grad, dx_h_n, rtol=1e-12, atol=1e-15)


def test_torch_autograd_names():
    from tinygrad_rnn.autograd import Variable
    x = Tensor([1.0, 2.0], requires_grad=True)
    (dx,) = tg.autograd.grad((x * x).sum(), x)  # d/dx sum x^2 = 2x, as a Tensor (PyTorch's)
    assert isinstance(dx, Tensor) and not dx.requires_grad and np.array_equal(dx.data, [2, 4])
    assert x.grad is None
    with pytest.raises(NotImplementedError, match="autograd.grad: create_graph=True"):
        tg.autograd.grad((x * x).sum(), x, create_graph=True)
    tg.autograd.backward([(x * 2).sum(), (x * 3).sum()])  # two roots in one pass
    assert np.array_equal(x.grad, [5.0, 5.0])
    tg.autograd.backward(x * 1, grad_tensors=Tensor([1.0, -1.0]))
    assert np.array_equal(x.grad, [6.0, 4.0])
    with pytest.raises(ValueError, match="autograd.backward: 1 grad_tensors for 2 tensors"):
        tg.autograd.backward([x * 1, x * 2], grad_tensors=[None])
    v = Variable(x * 2, requires_grad=True)  # the old wrapper: a new leaf, cut from the graph
    (v * 3).sum().backward()
    assert np.array_equal(v.grad, [3.0, 3.0]) and np.array_equal(x.grad, [6.0, 4.0])
    assert not Variable(x * 2).requires_grad


def test_module_forward_hooks_see_and_may_replace_inputs_and_outputs():
    lin1, lin2 = nn.Linear(3, 4, dtype=np.float64), nn.Linear(4, 2, dtype=np.float64)
    model = nn.Sequential(lin1, nn.Tanh(), lin2)
    x = Tensor(np.arange(6.0).reshape(2, 3))
    seen = []
    keep = model[1].register_forward_hook(lambda m, args, out: seen.append((m, args, out)))
    y = model(x)
    (m, args, out), = seen
    assert m is model[1] and len(args) == 1
    np.testing.assert_array_equal(out.data, np.tanh(x.data @ lin1.weight.data.T + lin1.bias.data))
    np.testing.assert_array_equal(args[0].data, x.data @ lin1.weight.data.T + lin1.bias.data)
    # a pre-hook replaces the input, a forward hook the output
    zero_in = lin1.register_forward_pre_hook(lambda m, args: args[0] * 0)
    double = lin2.register_forward_hook(lambda m, args, out: out * 2)
    row = 2 * (np.tanh(lin1.bias.data) @ lin2.weight.data.T + lin2.bias.data)
    np.testing.assert_allclose(model(x).data, np.stack([row, row]), rtol=1e-12)
    for handle in (keep, zero_in, double):
        handle.remove()
    seen.clear()
    np.testing.assert_array_equal(model(x).data, y.data)  # hooks off: the first result again
    assert seen == [] and list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    with pytest.raises(TypeError, match="register_forward_hook: hook must be callable"):
        lin1.register_forward_hook("print")


def test_forward_hooks_of_a_cell_run_at_every_step_of_a_sequence_module():
    # the fused path never calls the cell: a hooked cell runs step by step instead
    lstm = nn.LSTM(3, 4, num_layers=2, dtype=np.float64)
    calls = []
    lstm.cells[1].register_forward_hook(lambda m, args, out: calls.append(out[0].shape))
    x = Tensor(np.random.default_rng(0).normal(size=(5, 2, 3)))
    out, _ = lstm(x)
    assert calls == [(2, 4)] * 5
    cell = nn.RNNCell(3, 4)
    cell.register_forward_hook(lambda m, args, out: out * 0)
    outputs, _ = nn.unroll(cell, Tensor(np.ones((5, 2, 3), np.float32)), fused=True)
    assert not outputs.data.any()
