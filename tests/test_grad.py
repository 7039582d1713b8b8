"""tg.grad: the functional backward (as torch.autograd.grad), checked against backward(),
against finite differences, and for intermediate tensors against a graph cut at that tensor."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn


def _rnn_loop(cell, xs, h0):
    """A hand-written loop with a loss per step, as tutorials write it; returns loss, states."""
    h, loss, states = h0, 0.0, []
    for x in xs:
        h = cell(x, h)
        states.append(h)
        loss = loss + (h * h).sum()
    return loss, states


def _setup(seed=0, steps=5, hidden=3):
    rng = np.random.default_rng(seed)
    cell = nn.RNNCell(2, hidden)
    for p in cell.parameters():
        p.data = rng.normal(size=p.shape)  # float64 for finite differences
    xs = [Tensor(rng.normal(size=(1, 2))) for _ in range(steps)]
    h0 = Tensor(rng.normal(size=(1, hidden)), requires_grad=True)
    return cell, xs, h0


def _finite_difference(f, arr, eps=1e-6):
    grad = np.zeros_like(arr)
    for i in np.ndindex(arr.shape):
        old = arr[i]
        arr[i] = old + eps
        up = f()
        arr[i] = old - eps
        down = f()
        arr[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


def test_grad_of_leaves_equals_backward_and_touches_no_grad():
    cell, xs, h0 = _setup()
    W = cell.linear.weight
    loss, _ = _rnn_loop(cell, xs, h0)
    dW, dh0 = tg.grad(loss, [W, h0], retain_graph=True)
    assert W.grad is None and h0.grad is None
    loss.backward()
    np.testing.assert_allclose(dW, W.grad, rtol=1e-12, atol=0)
    np.testing.assert_allclose(dh0, h0.grad, rtol=1e-12, atol=0)


def test_grad_of_leaves_against_finite_differences():
    cell, xs, h0 = _setup(seed=1)
    W = cell.linear.weight
    (dW,) = tg.grad(_rnn_loop(cell, xs, h0)[0], [W])
    with tg.no_grad():
        expected = _finite_difference(lambda: _rnn_loop(cell, xs, h0)[0].item(), W.data)
    np.testing.assert_allclose(dW, expected, rtol=1e-6, atol=1e-8)


def test_grad_of_every_intermediate_state_equals_a_graph_cut_there():
    cell, xs, h0 = _setup(seed=2, steps=6)
    loss, states = _rnn_loop(cell, xs, h0)
    d_states = tg.grad(loss, states)
    for t, h in enumerate(states):
        # independent: rerun steps t+1.. from a leaf holding h_t's value; add the losses up to t
        # as constants (they do not depend on the new leaf)
        h_leaf = Tensor(h.data.copy(), requires_grad=True)
        rest = (h_leaf * h_leaf).sum() + _rnn_loop(cell, xs[t + 1:], h_leaf)[0]
        rest.backward()
        np.testing.assert_allclose(d_states[t], h_leaf.grad, rtol=1e-12, atol=1e-15)


def test_grad_outputs_several_outputs_and_aliasing():
    rng = np.random.default_rng(3)
    a = Tensor(rng.normal(size=(2, 3)), requires_grad=True)
    y1, y2 = a * 2.0, (a * a).sum()
    seed = rng.normal(size=(2, 3))
    (da,) = tg.grad([y1, y2], a, grad_outputs=[seed, None])
    np.testing.assert_allclose(da, 2.0 * seed + 2.0 * a.data, rtol=1e-12)
    # the returned arrays are the caller's own: two inputs fed by one Add are not one array
    b = Tensor(rng.normal(size=3), requires_grad=True)
    c = Tensor(rng.normal(size=3), requires_grad=True)
    db, dc = tg.grad(b + c, [b, c], grad_outputs=np.ones(3))
    db[0] = 99.0
    assert dc[0] == 1.0


def test_retain_graph_and_freed_graph():
    cell, xs, h0 = _setup(seed=4)
    loss, _ = _rnn_loop(cell, xs, h0)
    first = tg.grad(loss, h0, retain_graph=True)
    second = tg.grad(loss, h0)
    np.testing.assert_array_equal(first[0], second[0])
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        tg.grad(loss, h0)


def test_existing_grads_are_left_alone():
    cell, xs, h0 = _setup(seed=5)
    W = cell.linear.weight
    W.grad = np.full(W.shape, 7.0)
    tg.grad(_rnn_loop(cell, xs, h0)[0], W)
    np.testing.assert_array_equal(W.grad, np.full(W.shape, 7.0))
    assert h0.grad is None


@pytest.mark.parametrize("call, error, message", [
    (lambda a, y: tg.grad(y, Tensor([1.0])), RuntimeError, "input 0 does not require grad"),
    (lambda a, y: tg.grad(y, [a, Tensor([1.0], requires_grad=True)]), RuntimeError,
     "input 1 .* is not used"),
    (lambda a, y: tg.grad(a * 2.0, a), RuntimeError, "must be given for a non-scalar"),
    (lambda a, y: tg.grad(y, a, grad_outputs=[None, None]), ValueError, "2 grad_outputs for 1"),
    (lambda a, y: tg.grad(y, [a.data]), TypeError, r"inputs\[0\] is a ndarray"),
    (lambda a, y: tg.grad(y, []), ValueError, "inputs is empty"),
    (lambda a, y: tg.grad(y, a, grad_outputs=np.ones(3)), ValueError, r"has shape \(3,\)"),
    (lambda a, y: tg.grad(y, a, grad_outputs=["a"]), TypeError,
     r"grad: grad_outputs\[0\] must be numbers"),
    (lambda a, y: y.backward(grad="a"), TypeError, r"backward: grad must be numbers"),
])
def test_bad_calls_name_the_argument(call, error, message):
    a = Tensor([1.0, 2.0], requires_grad=True)
    y = (a * a).sum()
    with pytest.raises(error, match=message):
        call(a, y)


def test_allow_unused_gives_none():
    a = Tensor([1.0, 2.0], requires_grad=True)
    unused = Tensor([3.0], requires_grad=True)
    da, du = tg.grad((a * a).sum(), [a, unused], allow_unused=True)
    np.testing.assert_array_equal(da, [2.0, 4.0])
    assert du is None


def test_gradcheck_refuses_an_input_fn_does_not_use():
    # the trap: fn closes over the module's own parameters, so the copies gradcheck perturbs
    # are never used and both gradients are zero -- a check that cannot fail
    cell = nn.RNNCell(2, 3, dtype=np.float64)
    x = Tensor(np.ones((1, 2)), requires_grad=True)
    W = Tensor(cell.linear.weight.data.copy(), requires_grad=True)
    with pytest.raises(tg.GradcheckError, match="input 1 .* is not used by fn"):
        tg.gradcheck(lambda x, W: cell(x), [x, W])
