"""Arrays changed after an op saved them for backward: backward refuses, naming the tensor and
the op (the version counter for changes the library makes, a fingerprint of the bytes of leaves,
whose arrays the caller can write into), and where the library copies user arrays so that no
such change can happen."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn, optim


# ----- the four cases of issue 13, item 4 ----------------------------------------------------
def test_writing_into_y_data_after_the_forward_pass_is_refused():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True, name="x")
    y = Tensor([4.0, 5.0, 6.0], name="y")
    z = (x * y).sum()
    y.data[...] = 0.0  # d z / d x would silently become 0
    with pytest.raises(RuntimeError, match=r"op 'mul' saved the data of tensor 'y'.*values have "
                                           r"changed since.*gradient would be wrong"):
        z.backward()


def test_rebinding_y_data_keeps_the_gradient_of_the_forward_that_ran():
    """`y.data = new_array` does not touch the array the op saved: the gradient is the one of
    the computation that was done (x.grad = old y), as in PyTorch."""
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Tensor([4.0, 5.0])
    z = (x * y).sum()
    y.data = np.zeros(2, np.float32)
    z.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 5.0])


def test_an_optimizer_step_between_forward_and_backward_is_refused():
    layer = nn.Linear(3, 2)
    opt = optim.SGD(list(layer.parameters()), lr=0.1)
    x = Tensor(np.ones((4, 3), np.float32))
    layer(x).sum().backward()
    loss = layer(x).sum()  # a second forward...
    opt.step()  # ...then the weights change before its backward
    with pytest.raises(RuntimeError, match=r"op 'linear' saved the data of tensor 'weight'.*"
                                           r"version 0 -> 1.*optimizer step"):
        loss.backward()


def test_refilling_the_callers_input_array_before_backward_is_refused():
    batch = np.ones((4, 3), np.float32)
    x = Tensor(batch)  # shares the caller's array (no copy)
    assert x.data is batch
    w = Tensor(np.ones((3, 2), np.float32), requires_grad=True)
    loss = (x @ w).sum()
    batch[...] = 2.0  # the next batch, read into the same buffer
    with pytest.raises(RuntimeError, match=r"op 'matmul' saved the data of a tensor of shape "
                                           r"\(4, 3\) \(a leaf\).*the NumPy array the tensor"):
        loss.backward()


def test_a_parameter_owns_its_data_so_a_step_leaves_the_callers_array_alone():
    w0 = np.ones((2, 3), np.float32)
    w = nn.Parameter(w0)
    assert w.data is not w0 and not np.shares_memory(w.data, w0)
    (w * w).sum().backward()
    optim.SGD([w], lr=0.5).step()
    np.testing.assert_array_equal(w0, np.ones((2, 3)))  # the caller's array is untouched
    np.testing.assert_array_equal(w.data, np.zeros((2, 3)))
    view = np.ones((4, 3), np.float32)[1:3]  # a view of someone else's memory is copied too
    assert not np.shares_memory(nn.Parameter(view).data, view)
    t = Tensor(np.ones(2, np.float32))
    assert not np.shares_memory(nn.Parameter(t).data, t.data)


def test_a_tensor_that_requires_grad_owns_its_data_and_a_data_tensor_shares():
    arr = np.ones(3, np.float32)
    assert Tensor(arr, requires_grad=True).data is not arr
    assert Tensor(arr).data is arr
    assert Tensor(arr).detach().data is arr


# ----- every in-place path of the library bumps the version ----------------------------------
def _params_and_loss():
    w = nn.Parameter(np.array([[0.5, -1.0], [2.0, 0.25]], np.float32), name="W")
    x = Tensor(np.ones((3, 2), np.float32))
    return w, lambda: ((x @ w) ** 2).sum()


OPTIMIZERS = {
    "SGD": lambda p: optim.SGD(p, lr=0.1),
    "SGD momentum": lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    "Adam": lambda p: optim.Adam(p, lr=0.1),
    "Adagrad": lambda p: optim.Adagrad(p, lr=0.1),
    "RMSprop": lambda p: optim.RMSprop(p, lr=0.1),
}
for _name in ("AdamW",):
    if hasattr(optim, _name):
        OPTIMIZERS[_name] = (lambda cls: lambda p: cls(p, lr=0.1))(getattr(optim, _name))


@pytest.mark.parametrize("make", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_every_optimizer_step_bumps_the_version(make):
    w, loss_fn = _params_and_loss()
    opt = make([w])
    loss_fn().backward()
    v = w._version
    opt.step()
    assert w._version == v + 1
    loss = loss_fn()
    opt.step()  # the gradient is still there: a second step changes w again
    with pytest.raises(RuntimeError, match="tensor 'W'.*changed in place"):
        loss.backward()
    opt.zero_grad()  # zero_grad touches only .grad: no bump, and a fresh forward is fine
    assert w._version == v + 2
    loss_fn().backward()


def test_nn_init_bumps_the_version():
    init = pytest.importorskip("tinygrad_rnn.nn.init")
    w, loss_fn = _params_and_loss()
    loss = loss_fn()
    init.uniform_(w, -1.0, 1.0)
    assert w._version == 1
    with pytest.raises(RuntimeError, match="tensor 'W'.*changed in place"):
        loss.backward()


def test_views_share_the_version_of_the_memory_they_view():
    w, _ = _params_and_loss()
    wt = w.T  # a view of w's data: the matmul below saves it
    assert np.shares_memory(wt.data, w.data) and wt._vc is w._vc
    loss = (Tensor(np.ones((3, 2), np.float32)) @ wt).sum()
    w._bump_version()
    with pytest.raises(RuntimeError, match="op 'matmul' saved the data of tensor 'W'"):
        loss.backward()
    d = w.detach()
    d._bump_version()  # detach shares the data, and so the counter
    assert w._version == 2


def test_a_changed_result_saved_by_its_own_op_is_refused():
    x = Tensor([0.5, -0.3], requires_grad=True)
    y = x.tanh()  # tanh saves its result
    loss = y.sum()  # sum saves nothing
    y._bump_version()  # what an in-place method on y does
    with pytest.raises(RuntimeError, match=r"op 'tanh' saved its own result \(shape \(2,\)\)"):
        loss.backward()


def test_ops_that_saved_no_data_do_not_care():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Tensor([3.0, 4.0])
    loss = (x + y).sum()  # add saves nothing
    y.data[...] = 0.0
    loss.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_writing_into_a_parameters_data_between_forward_and_backward_is_refused():
    """The case of issue 13 item 4: `y` requires grad and is written through `.data`; x.grad
    would silently be the new y."""
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Tensor([3.0, 4.0], requires_grad=True, name="y")
    z = (x * y).sum()
    y.data[0] = 100.0
    with pytest.raises(RuntimeError, match=r"op 'mul' saved the data of tensor 'y'.*values have "
                                           r"changed since.*written through `.data`"):
        z.backward()
    assert x.grad is None and y.grad is None


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_a_module_weight_written_through_data_before_backward_is_refused(kind, fused):
    rnn = getattr(nn, kind)(3, 4)
    x = Tensor(np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32))
    out, _ = rnn(x, fused=fused)
    loss = (out * out).mean()
    rnn.cells[0].linear.weight.data[1, 2] += 0.5  # one element, by hand, before backward
    with pytest.raises(RuntimeError, match=r"saved the data of tensor 'cells.0.linear.weight'"
                                           r".*values have changed"):
        loss.backward()


@pytest.mark.parametrize("fused", [True, False])
def test_no_false_alarm_for_hand_written_sgd_through_data_with_old_losses_kept(fused):
    """min-char-rnn style: `p.data -= lr * p.grad` after backward, old losses kept alive in a
    list (their graphs freed by backward) and an evaluation forward never backpropagated."""
    rnn, head = nn.RNN(3, 4), nn.Linear(4, 3)
    params = list(rnn.parameters()) + list(head.parameters())
    x = Tensor(np.random.default_rng(1).standard_normal((4, 2, 3)).astype(np.float32))
    losses, evaluations = [], []
    for _ in range(3):
        out, _ = rnn(x, fused=fused)
        loss = (head(out) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        losses.append(loss)
        for p in params:
            p.data -= 0.1 * p.grad
        out, _ = rnn(x, fused=fused)
        evaluations.append((head(out) ** 2).mean())  # a graph kept, never backpropagated
    assert losses[-1].item() < losses[0].item()


@pytest.mark.parametrize("shape_dtype", [((7,), np.float32), ((3, 5), np.float64),
                                         ((2, 3), np.int64), ((5,), np.bool_),
                                         ((3,), np.float32), ((1,), np.float64),
                                         ((40, 60), np.float32), ((2051,), np.float32)])
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided"])
def test_the_fingerprint_sees_a_change_of_any_one_element(shape_dtype, layout):
    """Every element, every dtype, sizes whose bytes are not a multiple of 8, every layout, arrays
    under 8 KB (CRC-32) and over (the 64-bit sum, one with 4 bytes left over)."""
    from tinygrad_rnn.tensor import _fingerprint

    shape, dtype = shape_dtype
    base = np.arange(2 * int(np.prod(shape))).reshape((2,) + shape).astype(dtype)
    arr = {"contiguous": base[0], "transposed": base[0].T,
           "strided": base.reshape(-1)[::2].reshape(shape)}[layout]
    before = _fingerprint(arr)
    for i in np.ndindex(arr.shape):
        old = arr[i].copy()
        arr[i] = (not old) if dtype is np.bool_ else old + 1
        assert _fingerprint(arr) != before, (i, layout)
        arr[i] = old
        assert _fingerprint(arr) == before


def test_the_fingerprint_sees_rows_swapped_in_place():
    """Shuffling a saved input's rows in place between the forward pass and backward (the sum of
    the words alone cannot see it) is refused."""
    x = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
    w = nn.Parameter(np.ones((64, 3), np.float32))
    loss = (Tensor(x) @ w).tanh().sum()
    x[[0, 1]] = x[[1, 0]]
    with pytest.raises(RuntimeError, match="its values have changed"):
        loss.backward()


def test_anomaly_mode_also_checks_the_bytes_of_intermediates():
    x = Tensor(np.ones((3, 2), np.float32))
    w = nn.Parameter(np.array([[0.5, -1.0], [2.0, 0.25]], np.float32), name="W")
    hidden = (x @ w).tanh()
    loss = (hidden * hidden).sum()
    hidden.data[0, 0] = 9.0  # an intermediate written through .data: not seen outside anomaly
    loss.backward()
    with tg.detect_anomaly():
        hidden = (x @ w).tanh()
        loss = (hidden * hidden).sum()
        hidden.data[0, 0] = 9.0
        with pytest.raises(RuntimeError, match=r"op 'mul' \(created at .*test_versions.py.*"
                                               r"values have changed"):
            loss.backward()


def test_no_false_alarm_in_a_training_loop_with_retain_graph_and_tbptt():
    rnn = nn.RNN(3, 4)
    opt = optim.Adam(list(rnn.parameters()), lr=1e-2)
    x = np.random.default_rng(0).standard_normal((6, 2, 3)).astype(np.float32)
    state = None
    for fused in (True, False, True):
        for start in (0, 3):
            out, state = rnn(Tensor(x[start:start + 3]), state, fused=fused)
            loss = (out * out).mean()
            opt.zero_grad()
            loss.backward(retain_graph=True)
            loss.backward()  # a second backward before the step is fine
            opt.step()
            state = nn.utils.detach_state(state)
