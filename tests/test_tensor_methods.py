"""The Tensor methods and torch.x functions PyTorch RNN programs use beyond the core ops: abs,
sign, round, log1p, // and %, 2 ** t, t ** t, cumsum, cumprod, logsumexp, maximum/minimum,
masked_select, nonzero, sort/argsort, flip, repeat, repeat_interleave, unbind, index_select,
var/std, norm, einsum, bitwise and logical ops, eq/ne/..., the in-place forms, detach_,
type_as, new_tensor.

Values and gradients are compared with PyTorch through the golden table of
tests/fixtures/make_method_fixtures.py (methods.npz, no PyTorch needed), and live when PyTorch
is installed; every differentiable case is gradchecked in float64.
"""

from __future__ import annotations

import importlib.util
import os
import re
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor


def _load_cases_module():
    path = os.path.join(os.path.dirname(__file__), "fixtures", "make_method_fixtures.py")
    spec = importlib.util.spec_from_file_location("make_method_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cases = _load_cases_module()
CASE_NAMES = list(cases.CASES)
GOLDEN = cases.load_fixtures()


def test_fixture_covers_every_case_with_its_inputs():
    assert set(GOLDEN) == set(CASE_NAMES)
    for name in CASE_NAMES:
        for k, a in enumerate(cases.case_inputs(name)):
            np.testing.assert_array_equal(GOLDEN[name][f"x{k}"], a, err_msg=name)


def _check_against(name: str, gold: dict) -> None:
    arrays = [gold[f"x{k}"] for k in range(len(cases.CASES[name][0]))]
    y, xs = cases.run(tg, name, arrays)
    assert y.shape == gold["y"].shape, name
    np.testing.assert_allclose(y.data, gold["y"], rtol=1e-9, atol=1e-9, err_msg=name)
    assert y.requires_grad == ("w" in gold), name
    if "w" in gold:
        (y * gold["w"]).sum().backward()
        for k, x in enumerate(xs):
            got = x.grad if x.grad is not None else np.zeros(x.shape)
            np.testing.assert_allclose(got, gold[f"g{k}"], rtol=1e-9, atol=1e-9,
                                       err_msg=f"{name}: gradient of input {k}")


@pytest.mark.parametrize("name", CASE_NAMES)
def test_matches_pytorch(name):
    _check_against(name, GOLDEN[name])


# its divisor is detached (PyTorch has no derivative for it): gradchecked on its own below
DETACHED_INPUT = {"remainder_tensor"}
# max(x, x) ties at every element: not differentiable there (PyTorch's convention, half to
# each side, is compared with PyTorch above; finite differences see both sides move together)
TIES = {"maximum_ties", "minimum_ties"}


@pytest.mark.parametrize("name", [n for n in CASE_NAMES
                                  if "w" in GOLDEN[n] and n not in DETACHED_INPUT | TIES])
def test_gradcheck(name):
    inputs = [Tensor(a, requires_grad=True) for a in cases.case_inputs(name)]
    assert tg.gradcheck(lambda *xs: cases.CASES[name][1](tg, *xs), inputs)


def test_live_pytorch_comparison():
    pytest.importorskip("torch")
    for name in CASE_NAMES:
        _check_against(name, cases.run_torch(name))


# ----- gradients PyTorch does not give, or at special points ----------------------------------
def test_remainder_gradient_of_the_divisor():
    # a mod b = a - b floor(a / b); PyTorch has no derivative for b, finite differences do
    a = Tensor(np.array([2.3, -1.7, 5.1]), requires_grad=True)
    b = Tensor(np.array([0.7, 0.9, -1.3]), requires_grad=True)
    assert tg.gradcheck(lambda a, b: a % b, [a, b])
    assert tg.gradcheck(lambda b: 2.5 % b, [b])


def test_gradients_at_zero_are_zero_as_pytorch():
    x = Tensor(np.zeros(3), requires_grad=True)
    x.abs().sum().backward()
    np.testing.assert_array_equal(x.grad, 0)
    for p in (2, 3, "fro"):
        x = Tensor(np.zeros((2, 3)), requires_grad=True)
        x.norm(p, dim=1).sum().backward()
        np.testing.assert_array_equal(x.grad, 0)
    x = Tensor(np.array([0.0, 3.0, -4.0]), requires_grad=True)
    x.norm().backward()
    np.testing.assert_allclose(x.grad, [0.0, 0.6, -0.8])
    x = Tensor(np.array([0.0, 2.0]), requires_grad=True)
    (0 ** x).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])  # base 0, x >= 0: 0 (as PyTorch)


def test_floor_divide_has_no_derivative_as_pytorch():
    x = Tensor([1.5, 2.5], requires_grad=True)
    y = x // 1.0
    assert y.requires_grad and y.tolist() == [1.0, 2.0]
    with pytest.raises(RuntimeError, match="floor_divide: the derivative"):
        y.sum().backward()
    assert x.grad is None


def test_sign_and_round_have_zero_gradient_and_sign_of_nan_is_zero():
    x = Tensor(np.array([-1.5, 0.0, 2.5, np.nan]), requires_grad=True)
    (x.sign() + x.round()).sum().backward()
    np.testing.assert_array_equal(x.grad, 0)
    assert x.sign().tolist()[:3] == [-1.0, 0.0, 1.0] and x.sign().data[3] == 0
    assert x.round().tolist()[:3] == [-2.0, 0.0, 2.0]  # halves to even


def test_var_without_degrees_of_freedom_warns_and_divides_by_zero():
    x = Tensor([1.0], requires_grad=True)
    with pytest.warns(UserWarning, match="var: degrees of freedom is <= 0"):
        v = x.var()
    assert np.isnan(v.item())  # 0 / 0, as PyTorch
    with pytest.warns(UserWarning, match="std: degrees of freedom"):
        assert tg.std(Tensor([1.0, 2.0]), correction=3).item() == np.inf


# ----- results and dtypes --------------------------------------------------------------------
def _i32(values):
    return tg.tensor(np.array(values, np.int32))


DTYPES = [  # (expression, expected dtype), each checked against PyTorch 2.13 (below)
    ("tg.tensor([True, False]) & tg.tensor([True, True])", "bool"),
    ("tg.tensor([True, False]) | True", "bool"),
    ("~tg.tensor([True, False])", "bool"),
    ("tg.tensor([True, False]) ^ 1", "int64"),
    ("_i32([5, 6]) & 3", "int32"),
    ("3 | _i32([5, 6])", "int32"),
    ("_i32([5, 6]) ^ tg.tensor([1, 2])", "int64"),
    ("~_i32([5, 6])", "int32"),
    ("tg.tensor([-7, 7]) // 2", "int64"),
    ("tg.tensor([-7, 7]) % 3", "int64"),
    ("tg.tensor([-7.0, 7.0]) // 2", "float32"),
    ("tg.tensor([-7, 7]) % 2.5", "float32"),
    ("2 ** tg.tensor([1, 2])", "int64"),
    ("2.0 ** tg.tensor([1, 2])", "float32"),
    ("2 ** tg.tensor([True, False])", "int64"),
    ("2 ** tg.tensor([1.0, 2.0], dtype=tg.float64)", "float64"),
    ("_i32([-1, 2]).abs()", "int32"),
    ("tg.tensor([-3, 0, 2]).sign()", "int64"),
    ("tg.tensor([True, False]).sign()", "bool"),
    ("tg.tensor([3, 1]).log1p()", "float32"),
    ("_i32([1, 2]).cumsum(0)", "int64"),
    ("tg.tensor([True, True]).cumsum(0)", "int64"),
    ("tg.tensor([1.0]).cumsum(0, dtype=tg.float64)", "float64"),
    ("tg.tensor([3, 1, 2]).sort().values", "int64"),
    ("tg.tensor([3.0, 1.0]).sort().indices", "int64"),
    ("tg.tensor([3.0, 1.0]).argsort()", "int64"),
    ("tg.tensor([3.0, 1.0]).eq(1.0)", "bool"),
    ("tg.tensor([3.0, 1.0]).ge(tg.tensor([3.0, 2.0]))", "bool"),
    ("tg.logical_and(tg.tensor([1.0, 0.0]), tg.tensor([2, 2]))", "bool"),
    ("tg.tensor([0, 3]).logical_not()", "bool"),
    ("tg.tensor([1, 2]).type_as(tg.tensor([1.0], dtype=tg.float64))", "float64"),
    ("tg.ones(2).new_tensor([1, 2])", "float32"),
    ("tg.ones(2, dtype=tg.long).new_tensor([1.5])", "int64"),
    ("tg.ones(2, dtype=tg.float64).norm()", "float64"),
    ("tg.tensor([[1, 2]]).repeat(2, 2)", "int64"),
    ("tg.tensor([1, 2]).flip(0)", "int64"),
    ("tg.einsum('i,i->i', tg.tensor([1, 2]), tg.tensor([1.0, 2.0]))", "float32"),
    ("tg.logsumexp(tg.tensor([1, 2]), 0)", "float32"),
    ("tg.tensor([1.0], dtype=tg.float64).logsumexp(0)", "float64"),
    ("tg.maximum(tg.tensor([1, 2]), tg.tensor([1.5]))", "float32"),
    ("tg.maximum(_i32([1, 2]), tg.tensor([3, 0]))", "int64"),
    ("_i32([1, 2]).minimum(_i32([3, 0]))", "int32"),
    ("tg.minimum(tg.tensor([True, False]), tg.tensor([False, False]))", "bool"),
    ("tg.max(tg.tensor([1, 5]), tg.tensor([3, 2]))", "int64"),
    ("tg.tensor([2, 3]) ** tg.tensor([2, 1])", "int64"),
    ("_i32([2, 3]) ** _i32([2, 1])", "int32"),
    ("tg.tensor([2, 3]) ** tg.tensor([True, False])", "int64"),
    ("tg.tensor([2, 3]) ** tg.tensor([1.0, 2.0])", "float32"),
    ("tg.tensor([2.0, 3.0]) ** tg.tensor([1, 2])", "float32"),
    ("tg.tensor([0, 1, -1, 2, -2, -1]) ** tg.tensor([-1, -3, -3, -2, -1, -2])", "int64"),
    ("tg.pow(2, tg.tensor([1, 2]))", "int64"),
    ("tg.pow(tg.tensor([1.0, 2.0], dtype=tg.float64), tg.tensor([2.0]))", "float64"),
    ("tg.nonzero(tg.tensor([[0, 1], [2, 0]]))", "int64"),
    ("tg.count_nonzero(tg.tensor([[0, 1], [2, 0]]), 0)", "int64"),
    ("tg.tensor([1, 2]).cumprod(0)", "int64"),
    ("_i32([1, 2]).cumprod(0)", "int64"),
    ("tg.tensor([[1, 2], [3, 4]]).trace()", "int64"),
    ("tg.tensor([[1, 2], [3, 4]]).repeat_interleave(2)", "int64"),
    ("tg.masked_select(_i32([1, 2]), tg.tensor([True, False]))", "int32"),
]


@pytest.mark.parametrize("expr,dtype", DTYPES)
def test_result_dtypes(expr, dtype):
    y = eval(expr, {"tg": tg, "_i32": _i32})
    assert str(y.dtype) == dtype and not y.requires_grad


def test_result_dtypes_and_values_match_pytorch():
    torch = pytest.importorskip("torch")
    for expr, _ in DTYPES:
        ours = eval(expr, {"tg": tg, "_i32": _i32})
        theirs = eval(expr.replace("tg.", "torch."), {
            "torch": torch, "_i32": lambda v: torch.tensor(v, dtype=torch.int32)})
        assert str(theirs.dtype) == f"torch.{ours.dtype}", expr
        np.testing.assert_array_equal(ours.data, theirs.numpy(), err_msg=expr)


def test_values_of_integer_ops_as_pytorch():
    assert (tg.tensor([-7, 7]) // 2).tolist() == [-4, 3]  # floor, as Python
    assert (tg.tensor([-7, 7]) % 3).tolist() == [2, 1]  # sign of the divisor
    assert (tg.tensor([-7.5, 7.0]) % -2).tolist() == [-1.5, -1.0]
    e = tg.tensor([-2, -1, 0, 3])
    assert (2 ** e).tolist() == [0, 0, 1, 8]  # negative powers of ints: 0, except for +-1
    assert ((-1) ** e).tolist() == [1, -1, 1, -1] and (1 ** e).tolist() == [1, 1, 1, 1]
    assert abs(tg.tensor([-2, 3])).tolist() == [2, 3]
    assert (~tg.tensor([5])).tolist() == [-6]
    assert tg.logical_or(tg.tensor([0, 0]), tg.tensor([0, 1])).tolist() == [False, True]
    assert tg.tensor([1, 0]).logical_xor(tg.tensor([1, 1])).tolist() == [False, True]
    for name, expect in [("eq", [False, True, False]), ("ne", [True, False, True]),
                         ("lt", [True, False, False]), ("le", [True, True, False]),
                         ("gt", [False, False, True]), ("ge", [False, True, True])]:
        assert getattr(tg.tensor([1, 2, 3]), name)(2).tolist() == expect, name


def test_sort_orders_nan_last_ties_stably_and_returns_a_named_pair():
    x = tg.tensor([3.0, np.nan, 1.0, 3.0, 2.0])
    s = x.sort()
    assert isinstance(s, tg.ValuesIndices) and s.indices.tolist() == [2, 4, 0, 3, 1]
    assert s.values.tolist()[:4] == [1.0, 2.0, 3.0, 3.0] and np.isnan(s.values.data[4])
    assert tg.sort(x, descending=True).indices.tolist() == [1, 0, 3, 4, 2]
    assert x.argsort(stable=True).tolist() == [2, 4, 0, 3, 1]
    v, i = tg.tensor(3.0).sort()
    assert v.shape == () and i.item() == 0
    grad_of = Tensor(np.array([[2.0, 1.0, 3.0]]), requires_grad=True)
    (grad_of.sort(1).values * Tensor(np.array([10.0, 20.0, 30.0]))).sum().backward()
    np.testing.assert_array_equal(grad_of.grad, [[20.0, 10.0, 30.0]])  # back to each origin


def test_shapes_of_flip_repeat_unbind_index_select():
    x = tg.arange(6).reshape(2, 3)
    assert x.flip(0, 1).tolist() == [[5, 4, 3], [2, 1, 0]]
    assert tg.flip(x, [1]).tolist() == [[2, 1, 0], [5, 4, 3]]
    assert tg.tensor(3.0).flip(0).item() == 3.0
    assert x.repeat(1, 2).tolist() == [[0, 1, 2, 0, 1, 2], [3, 4, 5, 3, 4, 5]]
    assert x.repeat(2, 0, 1).shape == (2, 0, 3) and x.repeat((2, 1, 1)).shape == (2, 2, 3)
    assert [t.tolist() for t in x.unbind(1)] == [[0, 3], [1, 4], [2, 5]]
    assert x.index_select(1, tg.tensor([2, 0])).tolist() == [[2, 0], [5, 3]]
    assert x.index_select(0, tg.tensor(1)).shape == (1, 3)  # a 0-d index keeps the dim
    assert tg.index_select(x, 1, [1]).tolist() == [[1], [4]]


def test_where_method_and_masked_fill_in_place():
    x = tg.tensor([1.0, -2.0, 3.0])
    assert x.where(x > 0, 0.0).tolist() == [1.0, 0.0, 3.0]
    assert x.masked_fill_(x < 0, 5.0) is x and x.tolist() == [1.0, 5.0, 3.0]
    m = tg.zeros(2, 3)
    m.masked_fill_(tg.tensor([True, False, True]), tg.tensor(7.0))  # the mask broadcasts
    assert m.tolist() == [[7.0, 0.0, 7.0], [7.0, 0.0, 7.0]]


def test_in_place_forms_follow_the_in_place_rules():
    t = tg.tensor([[1.0, -2.0], [3.0, -4.0]])
    before = t._version
    assert t.abs_() is t and t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    np.testing.assert_allclose(tg.tensor([-1.0, 0.5]).tanh_().data, np.tanh([-1.0, 0.5]))
    np.testing.assert_allclose(tg.tensor([0.0, 2.0]).sigmoid_().data,
                               1 / (1 + np.exp([0.0, -2.0])), rtol=1e-6)
    assert tg.tensor([-1.0, 2.0]).relu_().tolist() == [0.0, 2.0]
    assert t._version == before + 1
    w = Tensor([1.0, -1.0], requires_grad=True)
    for method in ("abs_", "tanh_", "sigmoid_", "relu_"):
        with pytest.raises(RuntimeError, match=f"{method}: a leaf tensor that requires grad"):
            getattr(w, method)()
    with pytest.raises(RuntimeError, match="masked_fill_: a leaf tensor"):
        w.masked_fill_(w > 0, 0.0)
    assert w.tolist() == [1.0, -1.0]
    with tg.no_grad():
        w.abs_()
    assert w.tolist() == [1.0, 1.0]


def test_detach_in_place_type_as_new_tensor():
    w = Tensor([1.0, 2.0], requires_grad=True)
    h = (w * 2.0).tanh()
    assert h.detach_() is h and h.is_leaf and not h.requires_grad
    assert h.op is None
    src = np.array([1.0, 2.0])
    n = w.new_tensor(src, requires_grad=True)
    assert n.dtype == np.float32 and n.requires_grad and n.is_leaf
    src[0] = 9.0
    assert n.tolist() == [1.0, 2.0]  # a copy
    y = w.type_as(tg.tensor([1.0], dtype=tg.float64))
    y.sum().backward()
    assert y.dtype == np.float64 and w.grad.dtype == np.float32  # a float cast stays in the graph


# ----- logsumexp, maximum/minimum, tensor ** tensor, nonzero: edge values -------------------
def test_logsumexp_is_stable_and_handles_infinite_rows_as_pytorch():
    inf, nan = np.inf, np.nan
    x = Tensor(np.array([[-inf, -inf], [inf, 1.0], [1.0, 2.0], [nan, 1.0]]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # quiet: no NumPy warning on the way
        y = x.logsumexp(1)
        y.backward(np.ones(4))
    np.testing.assert_array_equal(y.data[:2], [-inf, inf])
    assert np.isnan(y.data[3]) and abs(y.data[2] - np.log(np.e + np.e ** 2)) < 1e-12
    # PyTorch: d/dx = exp(x - y): NaN in the -inf row and at the +inf, 0 beside it
    np.testing.assert_array_equal(x.grad[:2], [[nan, nan], [nan, 0.0]])
    big = tg.tensor([1e4, 1e4, -1e4])  # float32: exp(1e4) overflows without the shift
    assert abs(big.logsumexp(0).item() - (1e4 + np.log(2))) < 1e-2
    assert tg.logsumexp(tg.ones(0, 3), 0).tolist() == [-inf, -inf, -inf]  # as PyTorch
    assert tg.ones(2, 3).logsumexp((0, 1), keepdim=True).shape == (1, 1)


def test_maximum_and_minimum_propagate_nan_and_split_ties_as_pytorch():
    nan = np.nan
    a = Tensor(np.array([1.0, 2.0, nan, 3.0]), requires_grad=True)
    b = Tensor(np.array([1.0, 1.0, 1.0, nan]), requires_grad=True)
    y = tg.maximum(a, b)
    y.sum().backward()
    np.testing.assert_array_equal(y.data, [1.0, 2.0, nan, nan])
    np.testing.assert_array_equal(a.grad, [0.5, 1.0, 1.0, 1.0])  # PyTorch 2.13's values
    np.testing.assert_array_equal(b.grad, [0.5, 0.0, 1.0, 1.0])
    a.grad = b.grad = None
    tg.minimum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(b.grad, [0.5, 1.0, 1.0, 1.0])
    assert tg.maximum(tg.ones(2, 1), tg.zeros(3)).shape == (2, 3)
    assert tg.max(tg.tensor([1.0, 5.0]), tg.tensor([3.0, 2.0])).tolist() == [3.0, 5.0]
    assert tg.min(tg.tensor([1.0, 5.0]), tg.tensor([3.0, 2.0])).tolist() == [1.0, 2.0]


def test_tensor_exponent_at_a_zero_base_as_pytorch():
    a = Tensor(np.array([0.0, 0.0, 0.0, 2.0, -2.0]), requires_grad=True)
    b = Tensor(np.array([0.0, 2.0, -1.0, 0.5, 2.0]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = a ** b
        y.sum().backward()
    inf, nan = np.inf, np.nan
    np.testing.assert_allclose(y.data, [1.0, 0.0, inf, 2 ** 0.5, 4.0])
    # PyTorch 2.13: d/da = 0 where b = 0; d/db = 0 where a = 0 and b >= 0
    np.testing.assert_allclose(a.grad, [0.0, 0.0, -inf, 0.5 * 2 ** -0.5, -4.0])
    np.testing.assert_allclose(b.grad, [0.0, 0.0, -inf, 2 ** 0.5 * np.log(2), nan])
    assert y.op == "pow" and (a ** 2).op == "pow"
    e = Tensor(2.0, requires_grad=True)  # a 0-d tensor exponent gets its gradient too
    (Tensor([3.0]) ** e).sum().backward()
    np.testing.assert_allclose(e.grad, 9.0 * np.log(3.0), rtol=1e-6)


def test_tensor_exponent_matches_pytorch_live():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    a, b = rng.uniform(-2, 2, (3, 4)), rng.integers(-2, 3, (4,)).astype(float)
    a[0, :2] = 0.0
    ours = [Tensor(v, requires_grad=True) for v in (a, b)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (a, b)]
    y, ref = ours[0] ** ours[1], theirs[0] ** theirs[1]
    np.testing.assert_allclose(y.data, ref.detach().numpy(), rtol=1e-12, equal_nan=True)
    y.sum().backward()
    ref.sum().backward()
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad, t.grad.numpy(), rtol=1e-12, equal_nan=True)


def test_nonzero_and_count_nonzero_shapes_as_pytorch():
    x = tg.tensor([[0, 1], [2, 0]])
    assert x.nonzero().tolist() == [[0, 1], [1, 0]]
    rows, cols = tg.nonzero(x, as_tuple=True)
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]
    assert tg.tensor(3.0).nonzero().shape == (1, 0) and tg.tensor(0.0).nonzero().shape == (0, 0)
    assert [t.tolist() for t in tg.tensor(3.0).nonzero(as_tuple=True)] == [[0]]
    assert tg.zeros(2, 3).nonzero().shape == (0, 2)
    assert x.count_nonzero().item() == 2 and x.count_nonzero(-1).tolist() == [1, 1]
    assert tg.count_nonzero(tg.ones(2, 3, 2), dim=(0, 2)).tolist() == [4, 4, 4]
    assert tg.count_nonzero(tg.tensor(5.0), 0).item() == 1
    w = Tensor([1.0, 0.0], requires_grad=True)
    assert not w.nonzero().requires_grad and not w.count_nonzero().requires_grad


def test_masked_select_cumprod_repeat_interleave_trace_values():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.masked_select(tg.tensor([True, False])).tolist() == [1.0, 3.0]
    assert tg.masked_select(tg.tensor(2.0), tg.tensor(True)).tolist() == [2.0]
    assert x.masked_select(x > 9).shape == (0,)
    assert tg.tensor([2, 0, 3]).cumprod(0).tolist() == [2, 0, 0]
    assert tg.tensor(3.0).cumprod(0).shape == ()
    assert x.repeat_interleave(2).tolist() == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0]
    assert tg.repeat_interleave(x, tg.tensor([0, 2]), dim=0).tolist() == [[3.0, 4.0]] * 2
    assert x.trace().item() == 5.0 and tg.ones(2, 3).trace().item() == 2.0


def test_top_level_bitwise_functions_and_f_relu_in_place_as_pytorch():
    a, b = tg.tensor([3, 5, -6]), tg.tensor([1, 4, 2])
    # PyTorch: bitwise_and [1, 4, 2], or [3, 5, -6], xor [2, 1, -8], not [-4, -6, 5]
    assert tg.bitwise_and(a, b).tolist() == [1, 4, 2]
    assert tg.bitwise_or(a, b).tolist() == [3, 5, -6]
    assert tg.bitwise_xor(a, b).tolist() == [2, 1, -8] and tg.bitwise_xor(a, 1).tolist() == [
        2, 4, -5]
    assert tg.bitwise_not(a).tolist() == [-4, -6, 5] and tg.bitwise_not(a).dtype == np.int64
    assert tg.bitwise_not(tg.tensor([True, False])).tolist() == [False, True]
    assert tg.bitwise_and(tg.tensor([True, True]), tg.tensor([True, False])).dtype == np.bool_
    with pytest.raises(TypeError, match="bitwise_and: only bool and integer tensors"):
        tg.bitwise_and(tg.ones(2), 1)
    x = tg.tensor([-1.0, 0.5, 2.0])
    assert tg.nn.functional.relu_(x) is x and x.tolist() == [0.0, 0.5, 2.0]
    with pytest.raises(TypeError, match="relu_: input must be a Tensor, got list"):
        tg.nn.functional.relu_([1.0])
    torch = pytest.importorskip("torch")
    ta, tb = torch.tensor([3, 5, -6]), torch.tensor([1, 4, 2])
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        assert getattr(tg, name)(a, b).tolist() == getattr(torch, name)(ta, tb).tolist(), name
    assert tg.bitwise_not(a).tolist() == torch.bitwise_not(ta).tolist()


def test_pytorch_rnn_idioms_run():
    # masked mean over padded steps, attention scores, a clipped ratio: what the ports hit
    h = Tensor(np.random.default_rng(0).standard_normal((4, 2, 3)), requires_grad=True)
    lengths = tg.tensor([4, 2])
    mask = tg.arange(4).unsqueeze(1) < lengths
    picked = h.masked_select(mask.unsqueeze(-1))
    assert picked.shape == (18,)
    score = (h * h).sum(-1)
    (score - score.logsumexp(0)).exp().sum().backward()
    ratio = tg.minimum(h.exp(), h.new_tensor(1.2)).maximum(h.new_tensor(0.8))
    assert ratio.max().item() <= 1.2 and ratio.min().item() >= 0.8


BAD = [  # (call, exception type, regex of the message)
    (lambda: tg.ones(2) & 1, TypeError, r"bitwise_and: only bool and integer tensors.*float32"),
    (lambda: 1.5 | tg.tensor([1]), TypeError, r"bitwise_or: only bool and integer.*float64"),
    (lambda: ~tg.ones(2), TypeError, r"bitwise_not: only bool and integer tensors"),
    (lambda: tg.tensor([1, 2]) & tg.tensor([1, 2, 3]), ValueError,
     r"bitwise_and: shapes \(2,\) and \(3,\) do not broadcast"),
    (lambda: tg.logical_and(tg.ones(2), "x"), TypeError, r"logical_and: other must be"),
    (lambda: tg.tensor([1]) // 0, ZeroDivisionError, r"floor_divide: integer division by zero"),
    (lambda: tg.tensor([1]) % tg.tensor([0]), ZeroDivisionError, r"remainder: integer division"),
    (lambda: "2" ** tg.ones(2), TypeError, r"pow: the base must be a Python scalar"),
    (lambda: [2, 3] ** tg.ones(2), TypeError, r"pow: the base must be a Python scalar"),
    (lambda: tg.ones(2).round(1.5), TypeError, r"round: decimals must be an integer"),
    (lambda: tg.ones(2).cumsum(1), IndexError, r"cumsum: dim 1 is out of range"),
    (lambda: tg.ones(2).cumsum("0"), TypeError, r"cumsum: dim must be an int"),
    (lambda: tg.ones(3).sort(1), IndexError, r"sort: dim 1 is out of range"),
    (lambda: tg.ones(3).sort(descending="yes"), TypeError, r"sort: descending must be True"),
    (lambda: tg.argsort(tg.ones(3), stable=1), TypeError, r"argsort: stable must be True"),
    (lambda: tg.ones(2, 2).flip(0, -2), ValueError, r"flip: dim 0 appears twice"),
    (lambda: tg.ones(2).flip(1), IndexError, r"flip: dim 1 is out of range"),
    (lambda: tg.ones(2).flip(0.5), TypeError, r"flip: sizes must be ints"),
    (lambda: tg.ones(2, 2).repeat(2), ValueError, r"repeat: 1 repeats for a tensor of 2 dims"),
    (lambda: tg.ones(2).repeat(-1), ValueError, r"repeat: repeats must be >= 0"),
    (lambda: tg.ones(2).repeat(2.0), TypeError, r"repeat: sizes must be ints"),
    (lambda: tg.tensor(1.0).unbind(), IndexError, r"unbind: a 0-d tensor"),
    (lambda: tg.ones(2).unbind(1), IndexError, r"unbind: dim 1 is out of range"),
    (lambda: tg.ones(2).index_select(0, tg.tensor([2])), IndexError,
     r"index_select: an index is outside 0..1"),
    (lambda: tg.ones(2).index_select(0, tg.tensor([-1])), IndexError, r"index_select: an index"),
    (lambda: tg.ones(2).index_select(0, tg.tensor([0.0])), TypeError,
     r"index_select: index must hold integers"),
    (lambda: tg.ones(2).index_select(0, tg.tensor([[0]])), ValueError,
     r"index_select: index must be 1-d or 0-d"),
    (lambda: tg.tensor([1, 2]).var(), TypeError, r"var: only floating-point tensors"),
    (lambda: tg.tensor([1, 2]).std(), TypeError, r"std: only floating-point tensors"),
    (lambda: tg.ones(2).var(unbiased=True, correction=1), TypeError,
     r"var: give unbiased or correction, not both"),
    (lambda: tg.ones(2).std(unbiased="no"), TypeError, r"std: unbiased must be True or False"),
    (lambda: tg.ones(2).var(correction="1"), TypeError, r"var: correction must be a number"),
    (lambda: tg.ones(2).var(2), ValueError, r"var: axis 2 is out of bounds"),
    (lambda: tg.tensor([1, 2]).norm(), TypeError, r"norm: only floating-point tensors"),
    (lambda: tg.ones(2).norm("nuc"), ValueError, r"norm: p='nuc' is not supported"),
    (lambda: tg.ones(2).norm(float("nan")), ValueError, r"norm: p must be in"),
    (lambda: tg.ones(2).norm(True), TypeError, r"norm: p must be a number"),
    (lambda: tg.ones(2).masked_fill_(tg.tensor([1, 0]), 0.0), TypeError,
     r"masked_fill_: mask must be boolean"),
    (lambda: tg.ones(2).masked_fill_(tg.ones(3, 2) > 0, 0.0), ValueError,
     r"masked_fill_: mask of shape \(3, 2\) does not broadcast to the tensor's shape \(2,\)"),
    (lambda: tg.ones(2).masked_fill_(tg.ones(2) > 0, tg.ones(2)), ValueError,
     r"masked_fill_: value must be a number or a 0-d tensor"),
    (lambda: tg.ones(2).masked_fill_(tg.ones(2) > 0, Tensor(1.0, requires_grad=True)),
     RuntimeError, r"masked_fill_: the value written in requires grad"),
    (lambda: tg.ones(2).type_as(np.ones(2)), TypeError, r"type_as: other must be a Tensor"),
    (lambda: tg.einsum("...ij->ij", tg.ones(2, 2)), ValueError, r"einsum: '...' is not supported"),
    (lambda: tg.einsum("ij,jk", tg.ones(2, 2)), ValueError,
     r"einsum: the equation 'ij,jk' has 2 operands, 1 were given"),
    (lambda: tg.einsum("ij,jk->ik", tg.ones(2, 2), tg.ones(3, 2)), ValueError,
     r"einsum: .*input shapes \(2, 2\), \(3, 2\)"),
    (lambda: tg.einsum("ijk", tg.ones(2)), ValueError, r"einsum: .*too many subscripts"),
    (lambda: tg.einsum(3, tg.ones(2)), TypeError, r"einsum: equation must be a str"),
    (lambda: tg.einsum("i"), ValueError, r"einsum: no operands given"),
    (lambda: tg.einsum("i", "x"), TypeError, r"einsum: expects a Tensor"),
    (lambda: tg.ones(2).new_tensor([1.0], requires_grad="yes"), TypeError,
     r"requires_grad must be True or False"),
    (lambda: tg.ones(2).logsumexp(1), IndexError, r"logsumexp: dim 1 is out of range"),
    (lambda: tg.ones(2).logsumexp("0"), TypeError, r"logsumexp: dim must be an int"),
    (lambda: tg.ones(2).logsumexp(0, keepdim="no"), TypeError,
     r"logsumexp: keepdim must be True or False"),
    (lambda: tg.ones(2).masked_select(tg.tensor([1, 0])), TypeError,
     r"masked_select: mask must be boolean, got dtype int64"),
    (lambda: tg.ones(2).masked_select(tg.ones(3) > 0), ValueError,
     r"masked_select: mask of shape \(3,\) does not broadcast with the tensor's shape \(2,\)"),
    (lambda: tg.maximum(tg.ones(2), tg.ones(3)), ValueError,
     r"maximum: .*input shapes \(2,\), \(3,\)"),
    (lambda: tg.minimum(tg.ones(2), "a"), TypeError, r"minimum: other must be a Tensor"),
    (lambda: tg.tensor([True]) ** tg.tensor([True]), TypeError,
     r"pow: not implemented for two bool tensors"),
    (lambda: tg.ones(2) ** tg.ones(3), ValueError, r"pow: .*input shapes \(2,\), \(3,\)"),
    (lambda: tg.tensor([2, 3]) ** tg.tensor([1, 2, 3]), ValueError,
     r"pow: shapes \(2,\) and \(3,\) do not broadcast"),
    (lambda: tg.ones(2) ** [1, 2], TypeError, r"pow: the exponent must be a Python scalar or"),
    (lambda: tg.ones(2).nonzero(as_tuple=1), TypeError, r"nonzero: as_tuple must be True or"),
    (lambda: tg.ones(2).count_nonzero(1), IndexError, r"count_nonzero: dim 1 is out of range"),
    (lambda: tg.ones(2, 2).count_nonzero((0, -2)), ValueError, r"count_nonzero: dim .* repeats"),
    (lambda: tg.ones(2).cumprod(1), IndexError, r"cumprod: dim 1 is out of range"),
    (lambda: tg.ones(2).trace(), ValueError, r"trace: expected a 2-d tensor, got shape \(2,\)"),
    (lambda: tg.ones(2).repeat_interleave(1.5), TypeError,
     r"repeat_interleave: repeats must be an int"),
    (lambda: tg.ones(2).repeat_interleave(-1), ValueError,
     r"repeat_interleave: repeats must be >= 0"),
    (lambda: tg.ones(2, 3).repeat_interleave(tg.tensor([1, 2]), dim=1), ValueError,
     r"repeat_interleave: 2 repeats for dim 1 of length 3"),
    (lambda: tg.ones(2).repeat_interleave(2, dim=1), IndexError,
     r"repeat_interleave: dim 1 is out of range"),
]


@pytest.mark.parametrize("call,exc,pattern", BAD, ids=[p for _, _, p in BAD])
def test_bad_arguments_raise_clear_errors(call, exc, pattern):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy warning on the way to the error
        with pytest.raises(exc) as info:
            call()
    assert re.search(pattern, str(info.value)), str(info.value)


def test_a_failed_in_place_call_changes_nothing():
    x = tg.tensor([1, 2])
    with pytest.raises(TypeError, match="masked_fill_"):
        x.masked_fill_(x > 1, 0.5)  # a float into an int tensor: refused, not truncated
    assert x.tolist() == [1, 2] and x._version == 0


@pytest.mark.parametrize("kwargs", [{"dim": 1}, {"dim": 1, "unbiased": False},
                                    {"dim": 1, "keepdim": True}, {}])
def test_std_of_a_constant_row_has_gradient_zero_as_pytorch(kwargs) -> None:
    # PyTorch masks the gradient where std == 0; sqrt(var) gave 0 * inf = NaN there, and a
    # per-sequence z-score of a constant (e.g. zero-padded) sequence put NaN into every weight
    data = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]])
    x = Tensor(data, requires_grad=True)
    with np.errstate(all="raise"):
        x.std(**kwargs).sum().backward()
    if kwargs.get("dim") is None:
        assert np.isfinite(x.grad).all()
        return
    np.testing.assert_array_equal(x.grad[0], 0.0)
    c = 0 if kwargs.get("unbiased") is False else 1  # d std / dx = (x - mean) / (std (N - c))
    row = data[1]
    std = np.sqrt(((row - row.mean()) ** 2).sum() / (3 - c))
    np.testing.assert_allclose(x.grad[1], (row - row.mean()) / (std * (3 - c)), rtol=1e-12)


def test_integer_powers_keep_pytorchs_dtypes() -> None:
    t = tg.tensor([1, 2, 3])
    assert (t ** 2).dtype == np.int64 and (t ** 2).tolist() == [1, 4, 9]
    assert (t ** 0.5).dtype == np.float32 and (t.pow(2.0)).dtype == np.float32
    assert (tg.tensor([1, 2], dtype=tg.int32) ** 2).dtype == np.int32
    with pytest.raises(ValueError, match="negative integer power"):
        t ** -1
