"""The PyTorch-named surface (issue 12): creation, dtypes, devices, Tensor methods, in-place
forms and top-level functions. Values are checked against NumPy here; against PyTorch in
tests/test_ops.py (the golden table) and in the live comparison at the end of this file."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_rnn as torch
import tinygrad_rnn.functional as F
from tinygrad_rnn import Tensor


# ----- creation and dtypes -------------------------------------------------------------------
def test_tensor_infers_dtypes_like_pytorch():
    assert torch.tensor([1, 2]).dtype == torch.int64 == torch.long
    assert torch.tensor([1.0, 2]).dtype == torch.float32 == torch.float
    assert torch.tensor([True]).dtype == torch.bool
    assert torch.tensor(np.zeros(2)).dtype == torch.float64 == torch.double  # ndarray: kept
    assert torch.tensor([1, 2], dtype=torch.float64).dtype == np.float64
    t = torch.tensor([[1.0, 2.0]], requires_grad=True)
    assert t.requires_grad and t.is_leaf
    src = np.ones(2)
    copy = torch.tensor(src)
    src[0] = 5.0
    assert copy.data[0] == 1.0  # tensor() copies


def test_legacy_constructor_is_float32_even_for_ints():
    assert Tensor([1, 2, 3]).dtype == np.float32
    assert Tensor(np.array([1, 2])).dtype == np.float32
    assert Tensor([True]).dtype == np.float32
    assert torch.LongTensor([1, 2]).dtype == np.int64
    assert torch.FloatTensor([1, 2]).dtype == np.float32
    assert torch.LongTensor(2, 3).shape == (2, 3)
    assert torch.tensor([1, 2]).type(torch.LongTensor).dtype == np.int64


def test_legacy_constructor_takes_sizes_as_pytorchs():
    # the hand-written LSTMs: `self.b_i = nn.Parameter(torch.Tensor(hidden_sz))` was a 0-d
    # tensor holding hidden_sz (a bias silently shared by every unit), and
    # `nn.Parameter(torch.Tensor(input_sz, hidden_sz * 4))` a TypeError about requires_grad
    pt = pytest.importorskip("torch")
    for args in [(16,), (3, 4), (2, 3, 4), (0,), ([3],), ([1, 2],), ((3, 4),)]:
        ours, theirs = Tensor(*args), pt.Tensor(*args)
        assert ours.shape == tuple(theirs.shape) and ours.dtype == np.float32, args
    W = torch.nn.Parameter(Tensor(5, 8))
    b = torch.nn.Parameter(Tensor(8))
    assert W.shape == (5, 8) and b.shape == (8,) and b.requires_grad
    torch.nn.init.uniform_(b, -0.5, 0.5)
    assert len(set(b.data.tolist())) == 8  # one bias per unit, as in PyTorch
    assert Tensor(3, requires_grad=True).requires_grad
    assert Tensor(2, 2, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match=r"Tensor: sizes must be non-negative, got \(2, -1\)"):
        Tensor(2, -1)


def test_factories_take_sizes_as_varargs_or_a_tuple():
    for make in (torch.zeros, torch.ones, torch.empty, torch.randn, torch.rand):
        assert make(2, 3).shape == make((2, 3)).shape == make([2, 3]).shape == (2, 3)
        assert make(2).dtype == np.float32
        assert make(2, dtype=torch.float64).dtype == np.float64
        assert make(2, requires_grad=True).requires_grad
    np.testing.assert_array_equal(torch.ones(2, 2).data, np.ones((2, 2)))
    np.testing.assert_array_equal(torch.empty(3).data, np.zeros(3))
    assert torch.full((2,), 7).dtype == np.int64 and torch.full((2,), 0.5).dtype == np.float32
    x = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    assert torch.zeros_like(x).dtype == np.float64 and torch.ones_like(x).shape == (1, 2)
    assert torch.zeros_like(x, dtype=torch.long).dtype == np.int64
    np.testing.assert_array_equal(torch.arange(4).data, [0, 1, 2, 3])
    assert torch.arange(4).dtype == np.int64 and torch.arange(0, 1, 0.25).dtype == np.float32
    np.testing.assert_array_equal(torch.arange(1, 7, 2).data, [1, 3, 5])
    np.testing.assert_array_equal(torch.eye(2, 3).data, np.eye(2, 3))
    r = torch.randint(5, (100,))
    assert r.dtype == np.int64 and r.data.min() >= 0 and r.data.max() < 5
    r = torch.randint(3, 5, (50,))
    assert set(np.unique(r.data)) <= {3, 4}
    u = torch.rand(1000)
    assert 0 <= u.data.min() and u.data.max() < 1


def test_factories_take_size_as_a_keyword_and_normal_draws():  # d2l: randn(size=...), normal
    for make in (torch.zeros, torch.ones, torch.empty, torch.randn, torch.rand):
        assert make(size=(2, 3)).shape == make(size=[2, 3]).shape == (2, 3)
        assert make(size=(4,), dtype=torch.float64, requires_grad=True).dtype == np.float64
        with pytest.raises(TypeError, match=f"{make.__name__}: give the sizes positionally or "
                                            "as size=, not both"):
            make(2, size=(2,))
    np.testing.assert_array_equal(torch.ones(size=(2,)).data, [1.0, 1.0])
    torch.manual_seed(0)
    w = torch.normal(0, 0.01, size=(4000, 1), requires_grad=True)  # d2l's linear regression
    assert w.shape == (4000, 1) and w.dtype == np.float32 and w.requires_grad and w.is_leaf
    assert abs(w.data.std() - 0.01) < 5e-4 and abs(w.data.mean()) < 5e-4
    x = torch.normal(3.0, 0.2, (4000,))  # d2l's sequence chapter: the size positionally
    assert x.shape == (4000,) and abs(x.data.mean() - 3.0) < 0.02 and abs(x.data.std() - 0.2) < 0.01
    mean = torch.tensor([[0.0, 10.0], [20.0, 30.0]], dtype=torch.float64)
    assert torch.normal(mean, 0.0).tolist() == mean.tolist()  # one draw per element of mean
    assert torch.normal(mean).dtype == np.float64 and torch.normal(1.0, torch.ones(3)).shape == (3,)
    assert torch.normal(mean, torch.zeros(2)).tolist() == mean.tolist()  # broadcast
    torch.manual_seed(1)
    a = torch.normal(0.0, 1.0, (3,)).data.copy()
    torch.manual_seed(1)
    np.testing.assert_array_equal(torch.normal(0.0, 1.0, (3,)).data, a)
    for call, error, message in [
            (lambda: torch.normal(0.0, 1.0), TypeError, "normal: give size= when mean and std"),
            (lambda: torch.normal(mean, 1.0, (2,)), TypeError, "normal: size= goes with numbers"),
            (lambda: torch.normal(0.0, -1.0, (2,)), ValueError, "normal: std must be >= 0"),
            (lambda: torch.normal(torch.zeros(2, requires_grad=True)), TypeError,
             r"normal: mean and std must not require grad.*mean \+ std \* torch.randn_like"),
            (lambda: torch.normal(torch.zeros(2), torch.ones(3)), ValueError,
             r"normal: mean of shape \(2,\) and std of shape \(3,\) do not broadcast"),
            (lambda: torch.normal("0", 1.0, (2,)), TypeError, "normal: mean must be")]:
        with pytest.raises(error, match=message):
            call()


def test_normal_of_tensors_takes_means_dtype_and_refuses_a_nan_std():
    """PyTorch's normal(mean, std) is in mean's dtype when mean is a tensor (std's when mean is
    a number), and refuses a NaN std; here float32 mean with float64 std gave float64, and a
    NaN std tensor drew NaNs."""
    pt = pytest.importorskip("torch")
    f32, f64 = np.zeros(2, np.float32), np.ones(2)
    for mean, std in ((f32, f64), (f64, f32.astype(np.float32) + 1), (1.0, f64), (f64, 1.0)):
        def make(m):
            return (m.tensor(mean) if isinstance(mean, np.ndarray) else mean,
                    m.tensor(std) if isinstance(std, np.ndarray) else std)
        assert str(pt.normal(*make(pt)).dtype) == "torch." + str(torch.normal(*make(torch)).dtype)
    with pytest.raises(RuntimeError):
        pt.normal(pt.zeros(2), pt.tensor([1.0, float("nan")]))
    with pytest.raises(ValueError, match="normal: std must be >= 0"):
        torch.normal(torch.zeros(2), torch.tensor([1.0, float("nan")]))


def test_an_array_multiplied_in_place_by_a_tensor_takes_its_values():
    # d2l's grad_clipping (both editions), on gradients that are ndarrays here
    params = [torch.ones(2, 3, requires_grad=True), torch.ones(3, requires_grad=True)]
    (params[0].sum() * 3.0 + (params[1] * torch.tensor([1.0, 2.0, 4.0])).sum()).backward()
    grads = [p.grad.copy() for p in params]
    theta = 1
    norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm
    total = np.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in grads))
    for p, g in zip(params, grads):
        assert type(p.grad) is np.ndarray and p.grad.dtype == np.float32
        np.testing.assert_allclose(p.grad, g / total, rtol=1e-6)
    a = np.ones(2)
    a += torch.tensor([1.0, 2.0])  # a tensor that needs no grad: its values
    np.multiply(a, torch.tensor(2.0), out=a)
    assert type(a) is np.ndarray and a.tolist() == [4.0, 6.0]
    with pytest.raises(TypeError, match="multiply: writing a tensor that requires grad into a "
                                        "NumPy array would lose its gradient"):
        a *= torch.ones(2, requires_grad=True)
    with torch.no_grad():
        a *= torch.ones(2, requires_grad=True)  # nothing is recorded there anyway
    y = a * torch.ones(2, requires_grad=True)  # not in place: the Tensor's operator, in the graph
    assert isinstance(y, Tensor) and y.requires_grad and y.op == "mul"
    w = torch.ones(2, requires_grad=True)
    for call in (lambda: np.exp(w), lambda: np.maximum(a, w)):
        with pytest.raises(TypeError, match="NumPy functions do not take a Tensor"):
            call()


def test_numpy_functions_of_tensors_that_need_no_grad_give_tensors_as_pytorch():
    # the airline-passengers LSTM tutorial: `train_rmse = np.sqrt(loss_fn(y_pred, y_train))`
    # under no_grad, then "%.4f" % train_rmse; PyTorch's __array_wrap__ gives a tensor
    pt = pytest.importorskip("torch")
    x, y = [[1.0, 4.0], [9.0, 0.5]], [[2.0, -1.0], [0.0, 3.0]]
    calls = [lambda m, t: np.sqrt(t(x)), lambda m, t: np.exp(t(x)),
             lambda m, t: np.maximum(t(x), t(y)),
             lambda m, t: np.add(t(x), np.ones(2)), lambda m, t: np.sqrt(t([1, 4]))]
    for call in calls:
        ours, theirs = call(torch, torch.tensor), call(pt, pt.tensor)
        assert isinstance(ours, Tensor) and not ours.requires_grad
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6)
    mse = F.mse_loss(torch.tensor([1.0, 2.0]), torch.tensor([1.5, 0.0]))
    assert "%.4f" % np.sqrt(mse) == "%.4f" % np.sqrt(pt.nn.functional.mse_loss(
        pt.tensor([1.0, 2.0]), pt.tensor([1.5, 0.0])))
    w = torch.tensor([4.0], requires_grad=True)
    with torch.no_grad():  # PyTorch allows it there too: nothing is recorded
        assert np.sqrt(w).tolist() == [2.0]
    with pytest.raises(TypeError, match="sqrt: NumPy functions do not take a Tensor"):
        np.sqrt(w)


def test_factory_errors_name_the_function():
    with pytest.raises(ValueError, match="zeros: sizes must be non-negative"):
        torch.zeros(2, -1)
    with pytest.raises(TypeError, match="ones: only floating-point tensors can require grad"):
        torch.ones(2, dtype=torch.long, requires_grad=True)
    with pytest.raises(ValueError, match="randint: high"):
        torch.randint(3, 3, (2,))
    with pytest.raises(TypeError, match="tensor: cannot make a tensor"):
        torch.tensor(["a"])
    with pytest.raises(TypeError, match="from_numpy: expects an ndarray"):
        torch.from_numpy([1, 2])


def test_random_factories_follow_manual_seed():
    torch.manual_seed(3)
    a = torch.randn(4).data.copy()
    torch.manual_seed(3)
    np.testing.assert_array_equal(torch.randn(4).data, a)


def test_from_numpy_shares_memory_and_keeps_dtype():
    a = np.arange(3)
    t = torch.from_numpy(a)
    assert t.dtype == np.int64
    a[0] = 9
    assert t.data[0] == 9


def test_default_dtype():
    assert torch.get_default_dtype() == torch.float32
    try:
        torch.set_default_dtype(torch.float64)
        assert torch.zeros(1).dtype == np.float64 and Tensor([1]).dtype == np.float64
        assert torch.tensor([0.5]).dtype == np.float64
    finally:
        torch.set_default_dtype(torch.float32)
    with pytest.raises(TypeError, match="set_default_dtype"):
        torch.set_default_dtype(torch.int64)


# ----- devices -------------------------------------------------------------------------------
def test_cpu_is_the_only_device():
    assert not torch.cuda.is_available() and not torch.accelerator.is_available()
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert str(dev) == "cpu" and dev == torch.device("cpu") and dev.type == "cpu"
    x = torch.ones(2)
    assert x.to(dev) is x and x.cpu() is x and x.to("cpu") is x and x.device == dev
    with pytest.raises(RuntimeError, match="CPU only.*'cuda'"):
        torch.device("cuda")
    with pytest.raises(RuntimeError, match="CPU only.*'cuda:0'"):
        x.to("cuda:0")
    with pytest.raises(RuntimeError, match="CPU only"):
        x.cuda()
    with pytest.raises(RuntimeError, match="CPU only.*'mps'"):
        torch.zeros(2, device="mps")


# ----- the renamed meanings ------------------------------------------------------------------
def test_size_is_the_shape_and_numel_the_count():
    x = torch.zeros(2, 3, 4)
    assert x.size() == (2, 3, 4) and x.size(0) == 2 and x.size(-1) == 4
    assert x.numel() == 24 and x.dim() == 3 and torch.numel(x) == 24
    with pytest.raises(IndexError, match="size: dim 3 is out of range"):
        x.size(3)


def test_transpose_swaps_two_dims_permute_reorders():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = Tensor(a)
    np.testing.assert_array_equal(x.transpose(0, 1).data, a.transpose(1, 0, 2))
    np.testing.assert_array_equal(x.transpose(-1, 0).data, np.swapaxes(a, -1, 0))
    np.testing.assert_array_equal(x.permute(2, 0, 1).data, a.transpose(2, 0, 1))
    np.testing.assert_array_equal(torch.transpose(x, 1, 2).data, np.swapaxes(a, 1, 2))
    with pytest.raises(TypeError):
        x.transpose(1, 0, 2)  # the old NumPy permutation spelling is gone
    with pytest.raises(ValueError, match="t: expects a tensor of at most 2 dims"):
        x.t()


def test_max_and_min_with_dim_give_values_and_indices():
    a = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    x = Tensor(a, requires_grad=True)
    values, indices = x.max(1)
    np.testing.assert_array_equal(values.data, [5.0, 7.0])
    assert indices.dtype == np.int64 and indices.tolist() == [1, 0]
    r = torch.max(x, dim=0, keepdim=True)
    assert repr(r).startswith("ValuesIndices(values=Tensor(")
    assert r.values.shape == (1, 3) and r.indices.tolist() == [[1, 0, 1]]
    m = x.min(dim=1)
    assert m.values.tolist() == [1.0, 0.0] and m.indices.tolist() == [0, 1]
    assert x.max().shape == () and x.max().item() == 7.0 and torch.min(x).item() == 0.0
    (values * Tensor(np.array([1.0, 10.0]))).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1, 0], [10, 0, 0]])
    with pytest.raises(TypeError, match="max: dim must be one int"):
        x.max(dim=(0, 1))
    # outputs.data is an ndarray: torch.max(outputs.data, 1) still works (LSTM-on-images idiom)
    _, predicted = torch.max(a, 1)
    assert predicted.tolist() == [1, 0]


def test_argmax_argmin_topk():
    a = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    x = Tensor(a, requires_grad=True)
    assert x.argmax().item() == 3 and x.argmax(dim=1).tolist() == [1, 0]
    assert x.argmin(1, keepdim=True).shape == (2, 1)
    values, indices = x.topk(2)
    np.testing.assert_array_equal(values.data, [[5.0, 2.0], [7.0, 3.0]])
    assert indices.tolist() == [[1, 2], [0, 2]]
    small = torch.topk(x, 1, dim=0, largest=False)
    assert small.values.tolist() == [[1.0, 0.0, 2.0]] and small.indices.tolist() == [[0, 1, 0]]
    values.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1, 1], [1, 0, 1]])
    with pytest.raises(ValueError, match="topk: k=4 is out of range"):
        x.topk(4)


def test_index_of_an_integer_tensor():
    letters = "abcde"
    i = torch.tensor(3)
    assert letters[i] == "d" and list(range(5))[torch.tensor([1])] == 1
    assert int(torch.tensor(2.7)) == 2 and float(torch.tensor(0.5)) == 0.5
    with pytest.raises(TypeError, match="__index__: only an integer tensor of one element"):
        letters[torch.tensor(1.0)]


def test_reductions_with_dim_and_axis_spellings():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = Tensor(a)
    np.testing.assert_allclose(x.sum(dim=1).data, a.sum(1))
    np.testing.assert_allclose(x.sum(1, keepdim=True).data, a.sum(1, keepdims=True))
    np.testing.assert_allclose(x.sum(axis=(0, 2), keepdims=True).data,
                               a.sum((0, 2), keepdims=True))
    np.testing.assert_allclose(x.mean(dim=(0, 2)).data, a.mean((0, 2)))
    np.testing.assert_allclose(torch.mean(x, 0).data, a.mean(0))
    with pytest.raises(TypeError, match="sum: got both dim= and axis="):
        x.sum(dim=0, axis=1)


def test_shape_methods():
    a = np.arange(6.0).reshape(2, 3)
    x = Tensor(a, requires_grad=True)
    assert x.view(3, 2).shape == x.view(-1, 2).shape == (3, 2) and x.view((6,)).shape == (6,)
    assert x.unsqueeze(0).shape == (1, 2, 3) and x.unsqueeze(-1).shape == (2, 3, 1)
    assert x.unsqueeze(0).squeeze().shape == (2, 3) and x.unsqueeze(1).squeeze(1).shape == (2, 3)
    assert x.squeeze(0).shape == (2, 3)  # a dim whose length is not 1 stays
    assert x.flatten().shape == (6,) and torch.zeros(2, 3, 4).flatten(1).shape == (2, 12)
    assert x.contiguous() is x
    np.testing.assert_array_equal(x.narrow(1, 1, 2).data, a[:, 1:3])
    assert [p.shape for p in x.chunk(2, dim=1)] == [(2, 2), (2, 1)]
    assert x.expand(4, 2, 3).shape == (4, 2, 3)
    assert x.new_zeros(4, 1).shape == (4, 1) and x.new_zeros((4,)).dtype == x.dtype
    with pytest.raises(IndexError, match="unsqueeze: dim 3 is out of range"):
        x.unsqueeze(3)
    with pytest.raises(IndexError, match="narrow: start 2 and length 2"):
        x.narrow(1, 2, 2)
    assert x.tolist() == a.tolist()


def test_casts():
    x = Tensor(np.array([1.5, -2.5]), requires_grad=True)
    assert x.float().dtype == np.float32 and x.double() is x
    assert x.long().tolist() == [1, -2] and not x.long().requires_grad
    assert x.to(torch.float32).dtype == np.float32 and x.type(torch.float32).dtype == np.float32
    assert x.type() == "torch.DoubleTensor" and x.float().type() == "torch.FloatTensor"
    assert x.to(torch.zeros(1, dtype=torch.long)).dtype == np.int64
    assert x.is_floating_point() and not x.long().is_floating_point()
    (x.float() * 2.0).sum().backward()  # a float cast stays in the graph
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


# ----- in place --------------------------------------------------------------------------------
def test_in_place_forms_on_tensors_that_need_no_grad():
    x = torch.zeros(2, 3)
    assert x.add_(1.0) is x and x.mul_(3.0) is x
    np.testing.assert_array_equal(x.data, np.full((2, 3), 3.0))
    x.sub_(torch.ones(2, 3), alpha=2.0)
    np.testing.assert_array_equal(x.data, np.ones((2, 3)))
    x.div_(2.0).zero_()
    assert not x.data.any()
    x.fill_(4.0)
    assert (x.data == 4.0).all()
    x.copy_(np.arange(3.0))
    np.testing.assert_array_equal(x.data, [[0, 1, 2]] * 2)
    x.uniform_(-0.1, 0.1)
    assert np.abs(x.data).max() <= 0.1
    x.normal_(0.0, 1.0).clamp_(-0.5, 0.5)
    assert np.abs(x.data).max() <= 0.5
    y = torch.zeros(3, dtype=torch.long)
    y.unsqueeze_(0)
    assert y.shape == (1, 3)
    alias = y
    y += 2  # in place: the alias sees it, as in PyTorch
    assert alias.tolist() == [[2, 2, 2]]
    with pytest.raises(TypeError, match="add_"):
        y.add_(0.5)  # a float into an int64 tensor


def test_item_assignment_and_nested_increment():
    counts = torch.zeros(3, 3, dtype=torch.long)
    counts[0][1] += 1
    counts[0][1] += 1
    counts[2, 2] = 5
    counts[1] = torch.tensor([7, 8, 9])
    assert counts.tolist() == [[0, 2, 0], [7, 8, 9], [0, 0, 5]]


def test_in_place_on_a_leaf_that_requires_grad_raises_outside_no_grad():
    w = torch.ones(3, requires_grad=True)
    for change in (lambda: w.add_(1.0), lambda: w.zero_(), lambda: w.__setitem__(0, 2.0),
                   lambda: w.mul_(2.0), lambda: w.fill_(0.0)):
        with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
            change()
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w += 1
    np.testing.assert_array_equal(w.data, np.ones(3))  # nothing half-changed
    with torch.no_grad():
        w.sub_(0.5)  # the manual SGD step
        w[0] = 0.0
    np.testing.assert_array_equal(w.data, [0.0, 0.5, 0.5])


def test_in_place_on_a_graph_tensor_raises_and_augmented_assignment_rebinds():
    w = torch.ones(3, requires_grad=True)
    h = w * 2.0
    with pytest.raises(RuntimeError, match="made by 'mul', inside the recorded graph"):
        h.add_(1.0)
    before = h
    h += 1.0  # out of place: h is a new node, the gradient stays right
    assert h is not before
    h.sum().backward()
    np.testing.assert_array_equal(w.grad, [2.0, 2.0, 2.0])


def test_a_one_element_value_of_any_shape_fills_one_element():  # d2l: preds[i] = net(x)
    preds = torch.zeros(5)
    preds[1] = torch.ones(1, 1) * 3.0  # needs no grad: written in place
    w = torch.tensor([[2.0]], requires_grad=True)
    preds[3] = w * 4.0  # (1, 1) into one element: recorded, its gradient goes back as (1, 1)
    assert preds.tolist() == [0.0, 3.0, 0.0, 8.0, 0.0]
    (preds * torch.arange(5.0)).sum().backward()
    assert w.grad.shape == (1, 1) and w.grad.tolist() == [[12.0]]
    grid = torch.zeros(2, 3)
    grid[0, 1] = torch.tensor([[[5.0]]])
    assert grid.tolist() == [[0.0, 5.0, 0.0], [0.0, 0.0, 0.0]]
    with pytest.raises(ValueError, match="__setitem__: setting an array element"):
        torch.zeros(3)[0] = torch.ones(1, 2)  # two values for one element: as PyTorch, no


def test_setitem_of_a_tensor_that_requires_grad_records_it():
    # the seq2seq idiom: outputs = zeros(T, B, H); outputs[t] = h_t
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    outputs = torch.zeros(3, 2)
    for t in range(3):
        outputs[t] = w * float(t + 1)
    assert outputs.requires_grad and outputs.op == "setitem"
    np.testing.assert_array_equal(outputs.data, [[1, 2], [2, 4], [3, 6]])
    (outputs * Tensor(np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))).sum().backward()
    np.testing.assert_array_equal(w.grad, [1 + 2, 2 + 3])  # d/dw of w*1*[1,0] + w*2*[1,1] + ...
    assert torch.gradcheck(lambda a, b: _scatter_rows(a, b), [
        Tensor(np.random.default_rng(0).standard_normal((3, 2)), requires_grad=True),
        Tensor(np.random.default_rng(1).standard_normal(2), requires_grad=True)])


def _scatter_rows(a: Tensor, b: Tensor) -> Tensor:
    out = a * 1.0
    out[1] = b.tanh()
    out[2, 0] = b[1] * 3.0
    return out


# ----- top-level functions -----------------------------------------------------------------
def test_top_level_functions_match_the_methods():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4))
    x = Tensor(a)
    for name in ("exp", "tanh", "sigmoid", "relu"):
        np.testing.assert_allclose(getattr(torch, name)(x).data, getattr(x, name)().data)
        if name != "exp":  # torch.nn.functional has no exp
            np.testing.assert_allclose(getattr(F, name)(x).data, getattr(x, name)().data)
    np.testing.assert_allclose(torch.log(x.exp()).data, a, rtol=1e-12)
    np.testing.assert_allclose(torch.softmax(x, dim=1).data.sum(1), np.ones(3), rtol=1e-12)
    np.testing.assert_allclose(F.log_softmax(x, dim=0).data,
                               F.log_softmax(x, axis=0).data)
    np.testing.assert_allclose(x.log_softmax(0).data, F.log_softmax(x, dim=0).data)
    np.testing.assert_allclose(torch.cat([x, x], dim=1).data, np.concatenate([a, a], 1))
    np.testing.assert_allclose(torch.cat([x, x], axis=0).data, np.concatenate([a, a], 0))
    np.testing.assert_allclose(torch.stack([x, x], dim=2).data, np.stack([a, a], 2))
    assert torch.is_tensor(x) and not torch.is_tensor(a)
    b = rng.standard_normal((2, 4, 5))
    np.testing.assert_allclose(torch.bmm(Tensor(np.stack([a[:2]] * 2)), Tensor(b)).data,
                               np.stack([a[:2]] * 2) @ b)
    np.testing.assert_allclose(torch.matmul(x, Tensor(b[0])).data, a @ b[0])
    with pytest.raises(ValueError, match="bmm: expects"):
        torch.bmm(x, x)
    np.testing.assert_allclose(torch.where(x.data > 0, x, 0.0).data, np.where(a > 0, a, 0))
    np.testing.assert_allclose(torch.clamp(x, -0.5, 0.5).data, np.clip(a, -0.5, 0.5))
    np.testing.assert_allclose(x.masked_fill(x.data > 0, -1.0).data, np.where(a > 0, -1, a))


def test_multinomial():
    torch.manual_seed(0)
    p = torch.tensor([0.0, 0.2, 0.8])
    draws = torch.multinomial(p, 2000, replacement=True)
    assert draws.dtype == np.int64 and draws.shape == (2000,)
    freq = np.bincount(draws.data, minlength=3) / 2000
    assert freq[0] == 0 and abs(freq[2] - 0.8) < 0.04  # 4.5 standard deviations
    rows = torch.multinomial(torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 3.0]]), 1)
    assert rows.shape == (2, 1) and rows.tolist()[1] == [2] and rows.tolist()[0][0] in (0, 1)
    two = torch.multinomial(torch.tensor([1.0, 1.0, 1.0]), 3)
    assert sorted(two.tolist()) == [0, 1, 2]  # without replacement
    with pytest.raises(ValueError, match="multinomial: cannot draw 3 samples"):
        torch.multinomial(p, 3)
    with pytest.raises(ValueError, match="multinomial: weights must be finite and non-negative"):
        torch.multinomial(torch.tensor([-1.0, 2.0]), 1)


def test_no_grad_and_manual_seed_at_top_level():
    w = torch.ones(2, requires_grad=True)
    with torch.no_grad():
        y = w * 2
    assert not y.requires_grad
    assert torch.manual_seed(1) is not None


def test_isclose_allclose_equal():
    a = torch.tensor([1.0, 2.0, float("nan"), 0.0])
    b = torch.tensor([1.0 + 1e-6, 2.1, float("nan"), 1e-9])
    # |a - b| <= 1e-8 + 1e-5 |b|: 1e-6 <= 1.00001e-5 yes, 0.1 no, NaN never, 1e-9 <= 1e-8 yes
    assert torch.isclose(a, b).tolist() == [True, False, False, True]
    assert a.isclose(b, equal_nan=True).tolist() == [True, False, True, True]
    assert a.isclose(b, rtol=0.1).tolist() == [True, True, False, True]
    assert torch.allclose(a[:1], b[:1]) is True and torch.allclose(a, b) is False
    assert a.allclose(b, rtol=0.1, equal_nan=True) is True
    assert torch.allclose(torch.ones(2, 3), torch.tensor(1.0))  # broadcasts, as in PyTorch
    assert torch.equal(a[:2], torch.tensor([1.0, 2.0])) is True
    assert torch.equal(a[:2], torch.tensor([[1.0, 2.0]])) is False  # another shape
    assert torch.equal(a, a) is False  # NaN != NaN, as in PyTorch
    with pytest.raises(ValueError, match="isclose: rtol must be in"):
        a.isclose(b, rtol=-1.0)
    for fn, call in (("isclose", a.isclose), ("equal", a.equal), ("allclose", torch.allclose)):
        for bad in (None, "ab"):
            with pytest.raises(TypeError, match=r"(isclose|equal): other must be a Tensor, an "
                                                r"array or numbers, got"):
                call(a, bad) if fn == "allclose" else call(bad)
    with pytest.raises(ValueError, match=r"isclose: shapes \(4,\) and \(3,\) do not broadcast"):
        torch.allclose(a, torch.ones(3))


# ----- the same code under PyTorch and here ---------------------------------------------------
def _surface_program(torch) -> dict:
    """Non-differentiable results of the PyTorch surface, written once for both libraries."""
    a = torch.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    out = {
        "dtype_int": torch.tensor([1, 2]).dtype == torch.long,
        "dtype_float": torch.tensor([1.0]).dtype == torch.float32,
        "dtype_bool": torch.tensor([True]).dtype == torch.bool,
        "legacy_float": torch.Tensor([1, 2]).dtype == torch.float,
        "long_tensor": torch.LongTensor([3, 4]).dtype == torch.int64,
        "arange_int": torch.arange(5).dtype == torch.int64,
        "arange_float": torch.arange(0, 1, 0.5).dtype == torch.float32,
        "full_int": torch.full((2,), 3).dtype == torch.long,
        "zeros_like_long": torch.zeros_like(torch.tensor([1, 2])).dtype == torch.long,
        "size": list(a.size()), "size1": a.size(1), "numel": a.numel(), "dim": a.dim(),
        "argmax": a.argmax().item(), "argmax1": a.argmax(1).tolist(),
        "accuracy": (a.argmax(1) == torch.tensor([1, 1])).float().mean().item(),
        "mask": (a > 2.0).tolist(), "masked": a[a > 2.0].tolist(), "all": (a >= 0).all().item(),
        "argmin0_keep": a.argmin(0, keepdim=True).tolist(),
        "max1_idx": a.max(1)[1].tolist(), "min0_idx": torch.min(a, 0).indices.tolist(),
        "topk_idx": a.topk(2, dim=1).indices.tolist(),
        "t": a.t().tolist(), "transpose": a.transpose(0, 1).tolist(),
        "long": (a * 0.5).long().tolist(), "type": a.type(),
        "index": [10, 20, 30][torch.tensor(2)],
        "squeeze_keep": list(a.squeeze(0).shape), "chunk": [list(p.shape) for p in
                                                         torch.zeros(7, 2).chunk(3)],
        "split": [list(p.shape) for p in torch.zeros(7, 2).split(3)],
        "new_zeros": a.new_zeros(2, 1).tolist(),
        "size_keyword": [list(make(size=(2, 3)).shape) for make in (
            torch.zeros, torch.ones, torch.empty, torch.randn, torch.rand)],
        "normal": [list(torch.normal(0, 0.01, size=(2, 1)).shape),
                   torch.normal(0, 1, (3,)).dtype == torch.float32,
                   torch.normal(torch.arange(3.0), 0.0).tolist(),
                   torch.normal(torch.arange(2.0, dtype=torch.float64)).dtype == torch.float64,
                   list(torch.normal(torch.zeros(2, 1), torch.zeros(3)).shape)],
        "eye": torch.eye(2, 3).tolist(), "multinomial_shape": list(
            torch.multinomial(torch.tensor([[0.2, 0.8], [0.5, 0.5]]), 2).shape),
    }
    counts = torch.zeros(2, 3, dtype=torch.long)
    counts[1][2] += 1
    counts[0] = torch.tensor([4, 5, 6])
    x = torch.ones(3)
    x.add_(2.0).mul_(torch.tensor([1.0, 2.0, 3.0])).sub_(1.0, alpha=0.5)
    y = torch.zeros(2)
    y.unsqueeze_(0)
    out.update(counts=counts.tolist(), inplace=x.tolist(), unsqueeze_=list(y.shape),
               no_cuda=not torch.cuda.is_available(), cpu=str(torch.device("cpu")))
    b = torch.tensor([1.0, 2.0, float("nan")])
    c = torch.tensor([1.0 + 1e-6, 2.1, float("nan")])
    out.update(isclose=torch.isclose(b, c).tolist(), isclose_nan=b.isclose(c, equal_nan=True,
                                                                        atol=0.2).tolist(),
               allclose=torch.allclose(b[:1], c[:1]), allclose_far=torch.allclose(b, c),
               allclose_tol=b[:2].allclose(c[:2], rtol=0.1), equal=torch.equal(a, a.clone()),
               equal_shape=torch.equal(a, a.reshape(3, 2)), equal_value=a.equal(a + 1))
    return out


def test_the_surface_agrees_with_pytorch():
    real = pytest.importorskip("torch")
    ours = _surface_program(torch)
    theirs = _surface_program(real)
    assert ours == theirs


def test_in_place_errors_agree_with_pytorch():
    real = pytest.importorskip("torch")
    for lib in (real, torch):
        w = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf"):
            w.add_(1.0)
        with lib.no_grad():
            w.add_(1.0)
        assert w.tolist() == [2.0, 2.0, 2.0]


# ----- in-place changes that backward needs: the version counter refuses ------------------------
IN_PLACE = {
    "add_": lambda x: x.add_(1.0), "sub_": lambda x: x.sub_(1.0, alpha=2.0),
    "mul_": lambda x: x.mul_(2.0), "div_": lambda x: x.div_(2.0),
    "clamp_": lambda x: x.clamp_(-0.1, 0.1), "zero_": lambda x: x.zero_(),
    "fill_": lambda x: x.fill_(3.0), "copy_": lambda x: x.copy_(np.arange(3.0)),
    "uniform_": lambda x: x.uniform_(), "normal_": lambda x: x.normal_(),
    "setitem": lambda x: x.__setitem__(1, 5.0), "iadd": lambda x: x.__iadd__(1.0),
    "imul": lambda x: x.__imul__(2.0), "view_setitem": lambda x: x[1:].__setitem__(0, 7.0),
}


@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place_change_of_saved_data_makes_backward_raise(name):
    x = torch.ones(3)  # data: needs no grad, saved by the product below
    w = torch.ones(3, requires_grad=True)
    y = (w * x).sum()
    IN_PLACE[name](x)
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()


def test_nested_item_increment_is_seen_by_the_version_counter():
    x = torch.zeros(2, 3)
    w = torch.ones(3, requires_grad=True)
    y = (x[1] * w).sum()
    x[1][2] += 1  # writes through two views into x's memory
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()


def test_parameter_step_between_forward_and_backward_raises():
    w = torch.ones(3, requires_grad=True)
    y = (w * w).sum()
    with torch.no_grad():
        w.sub_(0.1)
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()


@pytest.mark.parametrize("use, dw", [
    (lambda outputs, w: (outputs * w).sum(), 0.0),  # an op that saved outputs' values
    (lambda outputs, w: (outputs + w).sum(), 2.0),  # one that saved nothing: it would silently
])                                                  # send w the new node's gradient too
def test_setitem_with_a_graph_value_into_a_tensor_an_op_already_used_raises(use, dw):
    outputs = torch.zeros(2, 3)
    w = torch.ones(3, requires_grad=True)
    y = use(outputs, w)
    with pytest.raises(RuntimeError, match="already an input of a recorded op"):
        outputs[0] = w * 2.0
    assert outputs.tolist() == [[0.0] * 3] * 2 and not outputs.requires_grad  # nothing changed
    y.backward()
    np.testing.assert_array_equal(w.grad, [dw] * 3)


def test_setitem_into_a_graph_node_an_op_already_used_raises():
    w = torch.ones(3, requires_grad=True)
    outputs = w * 1.0
    y = outputs.sum()
    with pytest.raises(RuntimeError, match="already an input of a recorded op"):
        outputs[0] = w[0] * 5.0
    y.backward()
    np.testing.assert_array_equal(w.grad, [1.0, 1.0, 1.0])  # the sum of the old values


def _augmented_assignments(lib, case: str) -> list:
    """`t[i] op= v` on a tensor in the graph, as manual-BPTT programs write it outside
    no_grad (dW_emb[token] += dx[b]; dlogits[range(N), y] -= 1): loss and gradients."""
    a = lib.tensor(np.arange(12.0).reshape(3, 4) / 7, requires_grad=True)
    w = lib.tensor(np.linspace(-1.0, 1.0, 4), requires_grad=True)
    x = a * 2.0
    if case == "rows":  # a 0-d index tensor, the same row twice
        for i in (0, 2, 0):
            x[lib.tensor(i)] += w * i
    elif case == "advanced":
        x[range(3), lib.tensor([1, 3, 0])] -= 1.0
        x = x * w
    elif case == "basic":  # the read is a view of x; mul saves it
        x[0] *= w
    else:
        x[:, 1:3] += w[:2]
    loss = (x * x).sum()
    loss.backward()
    return [np.asarray(v.detach().numpy() if hasattr(v, "detach") else v) + 0.0
            for v in (loss, a.grad, w.grad)]


@pytest.mark.parametrize("case", ["rows", "advanced", "basic", "slice"])
def test_augmented_item_assignment_on_a_graph_tensor_matches_pytorch(case):
    """`t[i] += v` reads t[i] and writes it back; that read being t's only consumer, the
    write no longer raises (it used to say 'already an input of a recorded op')."""
    real = pytest.importorskip("torch")
    for mine, ref in zip(_augmented_assignments(torch, case), _augmented_assignments(real, case)):
        np.testing.assert_allclose(mine, ref, rtol=1e-12, atol=1e-12)


def test_augmented_item_assignment_only_when_its_read_is_the_one_consumer():
    w = torch.ones(3, requires_grad=True)
    x = w * 2.0
    x[1] += w[1] * 3.0  # allowed: the read of x[1] is x's only consumer
    total = x.sum()
    with pytest.raises(RuntimeError, match="already an input of a recorded op"):
        x[0] += w[0]
    first = x[1]  # two reads: the first one is not the write's own
    with pytest.raises(RuntimeError, match="already an input of a recorded op"):
        x[2] += w[2]
    (total + first).backward()  # first is the new x[1] = 2 w1 + 3 w1
    np.testing.assert_array_equal(w.grad, [2.0, 10.0, 2.0])


def test_a_kept_view_of_the_written_elements_is_never_left_stale():
    """A read by ints and slices is a view in PyTorch and shows a later write into t; here the
    read would keep the old values, so such a write raises unless it is `t[i] += v` itself.
    (PyTorch: first == 10 after x[0] = 10, part == [2, 7] after x[1] = 7.)"""
    w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for write in (lambda x: x.__setitem__(0, 10.0), lambda x: x.__setitem__(1, 7.0)):
        x = w * 2.0
        kept = x[0:2]  # a view in PyTorch, kept by the caller
        with pytest.raises(RuntimeError, match="already an input of a recorded op"):
            write(x)
        assert kept.tolist() == [2.0, 4.0] and x.tolist() == [2.0, 4.0, 6.0]  # nothing changed
    x = w * 2.0
    first = x[0]
    with pytest.raises(RuntimeError, match="already an input of a recorded op"):
        x[0] = 10.0
    assert float(first) == 2.0 and x.tolist() == [2.0, 4.0, 6.0]
    x = w * 2.0
    first = x[0]
    x[1] = 5.0  # elements the view does not show: first is 2 in PyTorch too
    (first * 3.0 + x.sum()).backward()
    assert float(first) == 2.0 and x.tolist() == [2.0, 5.0, 6.0]
    assert w.grad.tolist() == [8.0, 0.0, 2.0]  # as PyTorch
    w.grad = None
    preds = torch.zeros(6)  # d2l's multistep loop: preds[i] = net(preds[i - tau:i])
    preds[:2] = w[:2]
    for i in range(2, 6):
        preds[i] = preds[i - 2:i].sum() * 0.5
    preds.sum().backward()
    assert preds.tolist() == [1.0, 2.0, 1.5, 1.75, 1.625, 1.6875]
    assert w.grad.tolist() == [2.4375, 3.5625, 0.0]  # as PyTorch
    w.grad = None
    x = w * 2.0
    picked = x[[0, 1]]  # an integer-list read copies, in PyTorch too: it keeps the old values
    x[0] = 10.0
    assert picked.tolist() == [2.0, 4.0] and x.tolist() == [10.0, 4.0, 6.0]
    (picked.sum() + x.sum()).backward()
    assert w.grad.tolist() == [2.0, 4.0, 2.0]  # as PyTorch

def test_a_read_by_a_0d_integer_tensor_is_a_view_as_in_pytorch():
    """PyTorch indexes with a 0-d integer tensor as with an int: `first = x[torch.tensor(0)]`
    is a view that shows a later `x[0] = z`. Here it kept the old values (value and gradient
    silently different); now it raises as `first = x[0]` does, and a write it misses runs."""
    pt = pytest.importorskip("torch")
    for index in (lambda m: m.tensor(0), lambda m: (m.tensor(-3), Ellipsis)):
        x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True) * 2.0
        first = x[index(torch)]
        with pytest.raises(RuntimeError, match="already an input of a recorded op"):
            x[0] = 10.0
        assert float(first) == 2.0 and x.tolist() == [2.0, 4.0, 6.0]  # nothing changed
    got = []
    for m in (torch, pt):
        w = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        x = w * 2.0
        first = x[m.tensor(0)]
        x[m.tensor(1)] = w[2] * 5.0  # misses first's element
        (first * 3.0 + x.sum()).backward()
        got.append((float(first), x.tolist(), np.asarray(w.grad).tolist()))
    assert got[0] == got[1]


def test_a_value_that_requires_grad_is_never_written_in_silently():
    w = torch.ones(3, requires_grad=True)
    h = w * 2.0
    total = torch.zeros(3)
    alias = total
    total += h  # rebinds: total is now a graph node, and its gradient reaches w
    assert total.requires_grad and alias.tolist() == [0.0, 0.0, 0.0]
    total.sum().backward()
    np.testing.assert_array_equal(w.grad, [2.0, 2.0, 2.0])
    buf = torch.zeros(3)
    for write in (lambda: buf.add_(h), lambda: buf.mul_(h), lambda: buf.copy_(h),
                  lambda: buf.div_(h), lambda: buf.fill_(h[0])):
        with pytest.raises(RuntimeError, match="the value written in requires grad"):
            write()
    assert buf.tolist() == [0.0, 0.0, 0.0]
    with torch.no_grad():
        buf.add_(h)  # nothing is recorded under no_grad: a plain write
    assert buf.tolist() == [2.0, 2.0, 2.0]


def test_nn_functional_is_where_pytorch_has_it():
    """`torch.nn.functional.X` and `import torch.nn.functional as F` keep working when a program's
    `import torch` becomes `import tinygrad_rnn as torch`."""
    import importlib

    import tinygrad_rnn.functional

    assert torch.nn.functional is tinygrad_rnn.functional
    assert importlib.import_module("tinygrad_rnn.nn.functional") is tinygrad_rnn.functional
    x = torch.tensor([[1.0, -2.0]])
    np.testing.assert_array_equal(torch.nn.functional.relu(x).numpy(), [[1.0, 0.0]])


def test_a_one_element_tensor_formats_like_its_value() -> None:
    """print(f"loss {loss:.4f}"), as PyTorch tutorials write it."""
    loss = torch.tensor(1.23456)
    assert f"{loss:.4f}" == "1.2346" and f"{torch.tensor([2.5]):>6.1f}" == "   2.5"
    assert f"{torch.tensor(3):d}" == "3"
    # no spec: a 0-d tensor prints its value (PyTorch 2.13: '1.2345600128173828'), others str()
    assert f"{loss}" == "1.2345600128173828" and f"{torch.tensor([2.5])}" == str(
        torch.tensor([2.5]))
    with pytest.raises(TypeError, match=r"format: a format spec \('.2f'\) needs a one-element"):
        f"{torch.tensor([1.0, 2.0]):.2f}"


def test_integer_tensors_promote_as_in_pytorch() -> None:
    """PyTorch 2.13's result dtypes (NumPy's promotion would give float64 for all but the
    integer sum): int64 * 0.5, int / int, int * float32 tensor, float32 / int tensor."""
    a, f = torch.tensor([1, 2]), torch.tensor([1.0, 2.0], requires_grad=True)
    d = torch.tensor([1.0, 2.0], dtype=torch.float64)
    assert (a * 0.5).dtype == np.float32 and (0.5 - a).dtype == np.float32
    assert (a / 2).dtype == np.float32 and (1 / a).dtype == np.float32
    assert (a / a).dtype == np.float32 and (a + 1).dtype == np.int64
    assert (f * a).dtype == np.float32 and (a * f).dtype == np.float32
    assert (f / a).dtype == np.float32 and (a * d).dtype == np.float64
    assert (a / 2).tolist() == [0.5, 1.0] and (0.5 - a).tolist() == [-0.5, -1.5]
    (f * a).sum().backward()
    np.testing.assert_array_equal(f.grad, [1.0, 2.0])


@pytest.mark.parametrize("shape, k", [((4,), 0), ((4,), 2), ((4,), -1), ((3, 5), 0),
                                      ((3, 5), 2), ((3, 5), -2), ((3, 5), 7), ((4, 3), -1)])
def test_diag_matches_pytorch(shape, k) -> None:
    """torch.diag / t.diag, as a manual-BPTT program writes dh @ torch.diag(1 - h**2) @ W:
    values and gradients (float64) against PyTorch's."""
    real = pytest.importorskip("torch")
    a = np.random.default_rng(0).normal(size=shape)
    x, xr = torch.tensor(a, requires_grad=True), real.tensor(a, requires_grad=True)
    out, ref = torch.diag(x, k), real.diag(xr, k)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=0, atol=0)
    w = np.random.default_rng(1).normal(size=tuple(ref.shape))
    (out * torch.tensor(w)).sum().backward()
    (ref * real.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad, xr.grad.numpy(), rtol=0, atol=0)
    assert torch.diag(torch.tensor([1, 2])).dtype == np.int64
    with pytest.raises(ValueError, match=r"diag: expected a 1-d or 2-d tensor, got shape"):
        torch.diag(torch.zeros(1, 1, 1))


def test_arithmetic_functions_at_top_level_match_pytorch() -> None:
    """torch.add / sub (alpha=), mul, div, neg, as a hand-written GRU writes
    torch.mul(1 - z, h) + torch.mul(z, h_tilde): values and gradients against PyTorch's."""
    real = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(2, 3)), rng.uniform(1, 2, size=(3,))
    results = []
    for lib in (torch, real):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        out = (lib.add(x, y, alpha=2) * lib.sub(x, y, alpha=0.5) + lib.mul(x, y)
               + lib.div(x, y) + lib.neg(lib.mul(x, 3.0)) + lib.add(x, 1.5))
        out.sum().backward()
        results.append([np.asarray(v.detach().numpy() if hasattr(v, "detach") else v)
                        for v in (out, x.grad, y.grad)])
    for mine, ref in zip(*results):
        np.testing.assert_allclose(mine, ref, rtol=1e-12, atol=1e-12)
