"""Every primitive op: gradcheck in float64, golden PyTorch values, and op-specific behaviour.

The table of cases lives in tests/fixtures/make_op_fixtures.py; that script computed the
outputs and gradients in tests/fixtures/ops.npz with PyTorch, and here the same table is run
with tinygrad_rnn and compared (no PyTorch needed).
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import Tensor


def _load_cases_module():
    path = os.path.join(os.path.dirname(__file__), "fixtures", "make_op_fixtures.py")
    spec = importlib.util.spec_from_file_location("make_op_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cases = _load_cases_module()
CASE_NAMES = list(cases.CASES)
GOLDEN = cases.load_fixtures()
L = cases.tinygrad_lib()


def _run(name: str, arrays: list[np.ndarray]) -> tuple[Tensor, list[Tensor]]:
    """Evaluate case `name` on float64 leaves (integer arrays are passed as they are)."""
    xs = [a if a.dtype.kind == "i" else Tensor(a.astype(np.float64), requires_grad=True)
          for a in arrays]
    return cases.CASES[name][1](L, *xs), xs


def test_fixture_covers_every_case():
    assert set(GOLDEN) == set(CASE_NAMES)


def test_fixture_inputs_are_the_case_inputs():
    # guards against the table changing without the fixture being regenerated
    for name in CASE_NAMES:
        for k, a in enumerate(cases.case_inputs(name)):
            np.testing.assert_array_equal(GOLDEN[name][f"x{k}"], a, err_msg=name)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_matches_pytorch(name):
    gold = GOLDEN[name]
    arrays = [gold[f"x{k}"] for k in range(len(cases.CASES[name][0]))]
    y, xs = _run(name, arrays)
    assert y.shape == gold["y"].shape, name
    np.testing.assert_allclose(y.data, gold["y"], rtol=1e-9, atol=1e-9)
    (y * gold["w"]).sum().backward()
    for k, x in enumerate(xs):
        if isinstance(x, Tensor):
            assert x.grad is not None and x.grad.shape == x.shape
            np.testing.assert_allclose(x.grad, gold[f"g{k}"], rtol=1e-9, atol=1e-9,
                                       err_msg=f"{name}: gradient of input {k}")


@pytest.mark.parametrize("name", CASE_NAMES)
def test_gradcheck(name):
    arrays = cases.case_inputs(name)
    inputs = [tg.tensor(a) if a.dtype.kind == "i" else Tensor(a, requires_grad=True)
              for a in arrays]
    assert tg.gradcheck(lambda *xs: cases.CASES[name][1](L, *xs), inputs)


def test_live_pytorch_comparison():
    pytest.importorskip("torch")
    for name in CASE_NAMES:
        gold = cases.run_torch(name)
        y, xs = _run(name, cases.case_inputs(name))
        np.testing.assert_allclose(y.data, gold["y"], rtol=1e-9, atol=1e-9, err_msg=name)
        (y * gold["w"]).sum().backward()
        for k, x in enumerate(xs):
            if isinstance(x, Tensor):
                np.testing.assert_allclose(x.grad, gold[f"g{k}"], rtol=1e-9, atol=1e-9,
                                           err_msg=f"{name}: input {k}")


# ----- forward values against NumPy ---------------------------------------------------------
def test_forward_values_match_numpy(rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((1, 4))
    ta, tb = Tensor(a), Tensor(b)
    np.testing.assert_allclose((ta + tb).data, a + b)
    np.testing.assert_allclose((ta - tb).data, a - b)
    np.testing.assert_allclose((ta * tb).data, a * b)
    np.testing.assert_allclose((ta / tb).data, a / b)
    np.testing.assert_allclose((2 - ta).data, 2 - a)
    np.testing.assert_allclose((2 / ta).data, 2 / a)
    np.testing.assert_allclose((ta ** 2).data, a ** 2)
    np.testing.assert_allclose((-ta).data, -a)
    np.testing.assert_allclose((ta @ tb.T).data, a @ b.T)
    np.testing.assert_allclose(ta.tanh().data, np.tanh(a))
    np.testing.assert_allclose(ta.sigmoid().data, 1 / (1 + np.exp(-a)))
    np.testing.assert_allclose(ta.relu().data, np.maximum(a, 0))
    np.testing.assert_allclose(ta.exp().data, np.exp(a))
    np.testing.assert_allclose(ta.exp().log().data, a)
    np.testing.assert_allclose(ta.max(dim=1).values.data, a.max(axis=1))
    np.testing.assert_allclose(ta.max(axis=1)[1].data, a.argmax(axis=1))
    np.testing.assert_allclose(ta.mean(axis=0, keepdims=True).data, a.mean(0, keepdims=True))


def test_ndarray_on_the_left_defers_to_tensor(rng):
    a = rng.standard_normal((3, 4))
    x = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    for y, expected in [(a + x, a + x.data), (a * x, a * x.data), (a - x, a - x.data),
                        (a / x, a / x.data), (a.T @ x, a.T @ x.data)]:
        assert isinstance(y, Tensor)
        np.testing.assert_allclose(y.data, expected)


def test_sin_and_cos(rng):  # d2l's first sequence chapter: torch.sin(0.01 * time) + noise
    a = rng.standard_normal((3, 4)) * 3
    np.testing.assert_allclose(tg.sin(Tensor(a)).data, np.sin(a), rtol=1e-15)
    np.testing.assert_allclose(Tensor(a).cos().data, np.cos(a), rtol=1e-15)
    assert tg.gradcheck(lambda x: x.sin() * 2.0 + x.cos() ** 2, [Tensor(a, requires_grad=True)])
    assert tg.sin(tg.arange(3)).dtype == np.float32 == tg.cos(tg.tensor([True])).dtype
    torch = pytest.importorskip("torch")
    w = rng.standard_normal((3, 4))
    ours, theirs = Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ref = ours.sin() * w + tg.cos(ours), theirs.sin() * torch.tensor(w) + torch.cos(theirs)
    np.testing.assert_allclose(y.data, ref.detach().numpy(), rtol=1e-15, atol=1e-15)
    y.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-14, atol=1e-15)
    assert torch.sin(torch.arange(3)).dtype == torch.float32  # as here


# ----- gradients of particular ops against hand-derived NumPy formulas ----------------------
def test_getitem_repeated_indices_accumulate():
    x = Tensor(np.arange(5.0), requires_grad=True)
    idx = np.array([0, 2, 2, 2, 4, 0])
    x[idx].sum().backward()
    np.testing.assert_array_equal(x.grad, np.bincount(idx, minlength=5))


def test_getitem_with_list_tensor_and_boolean_index():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    x[[1, 1]].sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0, 0], [2, 2, 2]])
    x.zero_grad()
    x[tg.tensor([0, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [[2, 2, 2], [0, 0, 0]])
    x.zero_grad()
    mask = x.data > 2
    y = x[mask]
    np.testing.assert_array_equal(y.data, [3, 4, 5])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, mask.astype(float))


def test_max_ties_share_the_gradient():
    x = Tensor(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]]), requires_grad=True)
    x.amax(dim=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [0.5, 0, 0.5]])
    x.zero_grad()
    x.max().backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [0, 0, 0]])
    x.zero_grad()
    values, indices = x.max(dim=1)  # PyTorch: the gradient goes to the element at `indices`
    np.testing.assert_array_equal(indices.data, [1, 0])
    values.sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 1, 0], [1, 0, 0]])


def test_pow_zero_has_zero_gradient_even_at_zero():
    x = Tensor(np.array([0.0, 2.0]), requires_grad=True)
    y = x ** 0
    np.testing.assert_array_equal(y.data, [1.0, 1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_sum_and_mean_with_axis_lists():
    x = Tensor(np.ones((2, 3, 4)), requires_grad=True)
    y = x.mean(axis=[0, 2])
    assert y.shape == (3,)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.full((2, 3, 4), 1 / 8))


def test_reshape_and_permute_accept_a_tuple_transpose_swaps_two_dims():
    x = Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    assert x.reshape((4, 6)).shape == (4, 6)
    assert x.permute((2, 0, 1)).shape == x.permute(2, 0, 1).shape == (4, 2, 3)
    assert x.T.shape == (4, 3, 2)
    np.testing.assert_array_equal(x.permute(0, -1, -2).data, np.swapaxes(x.data, -1, -2))
    np.testing.assert_array_equal(x.transpose(0, 2).data, np.swapaxes(x.data, 0, 2))
    m = Tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(m.transpose(0, 1).data, m.data.T)  # not a no-op (issue 12)
    np.testing.assert_array_equal(m.t().data, m.data.T)


def test_split_int_means_part_size_list_means_sizes_chunk_means_count():
    x = Tensor(np.arange(12.0).reshape(2, 6), requires_grad=True)
    assert [p.shape for p in x.split(4, dim=1)] == [(2, 4), (2, 2)]  # PyTorch: parts of 4
    parts = x.chunk(3, dim=1)  # three parts of 2 columns
    assert [p.shape for p in parts] == [(2, 2)] * 3
    assert [p.shape for p in x.split(2, axis=1)] == [(2, 2)] * 3
    a, b = x.split([1, 5], axis=-1)
    assert (a.shape, b.shape) == ((2, 1), (2, 5))
    (parts[0] * 1.0 + parts[2] * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1, 1, 0, 0, 3, 3]] * 2)


def test_cat_and_stack_send_each_part_its_gradient():
    a = Tensor(np.zeros((2, 2)), requires_grad=True)
    b = Tensor(np.zeros((1, 2)), requires_grad=True)
    y = tg.cat([a, b], axis=0)
    y.backward(np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(a.grad, [[0, 1], [2, 3]])
    np.testing.assert_array_equal(b.grad, [[4, 5]])
    c = Tensor(np.zeros(3), requires_grad=True)
    d = Tensor(np.zeros(3), requires_grad=True)
    tg.stack([c, d], axis=1).backward(np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(c.grad, [0, 2, 4])
    np.testing.assert_array_equal(d.grad, [1, 3, 5])


# ----- graphs: fan-out, diamond, heavy reuse -------------------------------------------------
def test_fan_out_counts_both_edges():
    a = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    y = a + a
    assert y.parents == (a, a)  # an ordered tuple, not a set
    y.sum().backward()
    np.testing.assert_array_equal(a.grad, [2, 2])
    x = Tensor(np.array([3.0, -1.0]), requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data)  # d(x^2)/dx = 2x


def test_diamond_gradient_against_hand_derivation():
    x0 = np.array([0.3, -0.7, 1.2])
    x = Tensor(x0, requires_grad=True)
    u = x.tanh()
    y = (u * x.exp() + u).sum()  # x -> u -> y and x -> exp -> y, u used twice
    y.backward()
    t, e = np.tanh(x0), np.exp(x0)
    np.testing.assert_allclose(x.grad, (1 - t ** 2) * (e + 1) + t * e)


def test_weight_reused_100_times_like_an_rnn(rng):
    W0 = rng.standard_normal((4, 4)) * 0.3
    x0 = rng.standard_normal((4,))
    W = Tensor(W0, requires_grad=True)
    h = Tensor(x0)
    for _ in range(100):
        h = (h @ W).tanh()
    h.sum().backward()
    # hand-written BPTT in NumPy: store the states forward, walk them backwards
    hs = [x0]
    for _ in range(100):
        hs.append(np.tanh(hs[-1] @ W0))
    dW, dh = np.zeros_like(W0), np.ones(4)
    for t in range(100, 0, -1):
        da = dh * (1 - hs[t] ** 2)  # backprop through tanh
        dW += np.outer(hs[t - 1], da)
        dh = da @ W0.T
    np.testing.assert_allclose(W.grad, dW, rtol=1e-10, atol=1e-12)
    # and finite differences on a shorter version
    assert tg.gradcheck(lambda W, h: _unroll(W, h, 10), [Tensor(W0, requires_grad=True),
                                                         Tensor(x0, requires_grad=True)])


def _unroll(W: Tensor, h: Tensor, steps: int) -> Tensor:
    for _ in range(steps):
        h = (h @ W).tanh()
    return h


# ----- errors name the op and the shapes -----------------------------------------------------
def test_matmul_shape_error_names_both_shapes():
    with pytest.raises(ValueError) as e:
        Tensor(np.zeros((3, 4))) @ Tensor(np.zeros((5, 6)))
    assert "(3, 4)" in str(e.value) and "(5, 6)" in str(e.value) and "matmul" in str(e.value)


def test_matmul_rejects_0d():
    with pytest.raises(ValueError, match="matmul"):
        Tensor(2.0) @ Tensor(np.ones(3))


def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(ValueError) as e:
        Tensor(np.zeros((3, 4))) + Tensor(np.zeros((2, 4)))
    assert "add" in str(e.value) and "(3, 4)" in str(e.value) and "(2, 4)" in str(e.value)


def test_shape_op_errors():
    x = Tensor(np.zeros((2, 6)))
    with pytest.raises(ValueError, match="reshape.*(2, 6)"):
        x.reshape(5, 5)
    with pytest.raises(ValueError, match="transpose"):
        x.permute(0, 0)
    with pytest.raises(IndexError, match="transpose: dim 2 is out of range"):
        x.transpose(0, 2)
    with pytest.raises(ValueError, match="split_size must be positive"):
        x.split(0, dim=1)
    with pytest.raises(ValueError, match="do not add up to 6"):
        x.split([2, 2], axis=1)
    with pytest.raises(IndexError, match=r"split: dim 2 is out of range for a tensor of 2 dims"):
        x.split(2, axis=2)
    with pytest.raises(ValueError, match="sum.*axis 2"):
        x.sum(axis=2)
    with pytest.raises(IndexError, match="getitem"):
        x[5]
    with pytest.raises(ValueError, match="cat"):
        tg.cat([x, Tensor(np.zeros((2, 5)))], axis=0)
    with pytest.raises(ValueError, match="stack"):
        tg.stack([x, Tensor(np.zeros((2, 5)))])
    with pytest.raises(TypeError, match="exponent"):
        x ** [2.0, 3.0]  # a Tensor exponent is fine (t ** t); a list is not


# ----- dtypes -----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ops_keep_the_float_dtype(dtype):
    x = Tensor(np.ones((2, 3), dtype=dtype), requires_grad=True)
    W = Tensor(np.ones((3, 3), dtype=dtype), requires_grad=True)
    y = ((2.0 - x / 3.0) ** 2 @ W).tanh().sigmoid().relu().exp().log().mean(axis=0).sum()
    assert y.dtype == dtype
    y.backward()
    assert x.grad.dtype == dtype and W.grad.dtype == dtype
    z = F.cross_entropy(F.log_softmax(x) + F.softmax(x), np.array([0, 2]))
    assert z.dtype == dtype


def test_float64_array_meets_float32_tensor_as_float32():
    x = Tensor(np.ones(3, dtype=np.float32))
    assert (x + np.ones(3)).dtype == np.float32
    assert (x * 2.5).dtype == np.float32
    assert (1 / x).dtype == np.float32


def test_sigmoid_of_an_integer_tensor_is_not_truncated_to_integers():
    # the result was cast back to the input's int dtype: [0, 0, 0]
    z = np.array([1, 2, -3])
    expected = 1 / (1 + np.exp(-z.astype(np.float64)))
    zt = tg.from_numpy(z)  # an int64 tensor (Tensor(z) would be float32, as in PyTorch)
    # computed in the default float dtype, as PyTorch does
    assert zt.sigmoid().dtype == zt.tanh().dtype == np.float32
    np.testing.assert_allclose(zt.sigmoid().data, expected, rtol=1e-6)
    np.testing.assert_allclose(zt.tanh().data, np.tanh(z), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_elements_picked_by_integer_arrays_get_every_gradient(dtype):
    """x[arange(N), t] (nll_loss's pick), x[i, j, :] and x[i, j, k], with repeated, negative and
    unsigned indices, and large enough to run compiled: each pick's gradient is added into its
    element, as NumPy's unbuffered add.at on the same index (an index with an array after a
    slice still takes add.at itself)."""
    rng = np.random.default_rng(4)
    cases = [((7, 5), (np.arange(7), np.array([0, 4, 4, 1, -1, 0, 2]))),
             ((6, 4, 3), (np.array([1, 1, -6]), np.array([3, 3, 0]), slice(None))),
             ((6, 4, 3), (np.array([[5], [0]]), np.array([1, 1, 2], dtype=np.uint8),
                          np.array([2, 2, 2], dtype=np.uint64))),
             ((50, 100, 3), (rng.integers(-50, 50, 2000), rng.integers(0, 100, 2000))),
             ((6, 4, 3), (slice(None), np.array([1, 1]), slice(None))),
             ((6, 4), (np.array([], dtype=np.int64), np.array([], dtype=np.int64)))]
    for shape, index in cases:
        x = Tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
        c = rng.standard_normal(x.data[index].shape).astype(dtype)
        (x[index] * c).sum().backward()
        want = np.zeros(shape, dtype)
        np.add.at(want, index, c)
        assert x.grad.dtype == dtype
        np.testing.assert_allclose(x.grad, want, rtol=1e-12 if dtype == np.float64 else 1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rows_picked_by_integers_get_every_gradient(dtype):
    """weight[ids] (an embedding lookup) with repeated and negative ids, 1-D and 2-D ids, and a
    vector picked by ids: each pick adds its gradient back into its row (the compiled
    scatter-add, against NumPy's unbuffered add.at)."""
    rng = np.random.default_rng(3)
    for shape, ids in [((6, 4), np.array([[1, 5, 1], [-1, 0, 1]])), ((6, 4), np.array([2, 2, 2])),
                       ((7,), np.array([0, -7, 3, 3])), ((6, 4), np.array([], dtype=np.int64))]:
        w = Tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
        c = rng.standard_normal(ids.shape + shape[1:]).astype(dtype)
        (w[ids] * c).sum().backward()
        want = np.zeros(shape, dtype)
        np.add.at(want, ids, c)
        assert w.grad.dtype == dtype
        np.testing.assert_array_equal(w.grad, want)
