"""Property tests (hypothesis) over random broadcastable shapes.

The expected gradients are derived here from first principles, independently of the engine's
`unbroadcast`: each input element's gradient is the sum, over the output elements it was
broadcast to, of upstream gradient times the local derivative. That sum is computed by
broadcasting an array of element numbers and adding with np.bincount.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays, mutually_broadcastable_shapes

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor

SETTINGS = settings(max_examples=60, deadline=None)
shape_pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4)
finite = st.floats(-3, 3, allow_nan=False, width=64)


def broadcast_sum(local: np.ndarray, shape: tuple) -> np.ndarray:
    """Add each entry of `local` (the output's shape) into the input element it came from."""
    element = np.arange(int(np.prod(shape))).reshape(shape)
    source = np.broadcast_to(element, local.shape)  # which input element fed each output entry
    total = np.bincount(source.ravel(), weights=local.ravel(), minlength=element.size)
    return total.reshape(shape)


def _draw(data, shape: tuple, away_from_zero: bool = False) -> np.ndarray:
    x = data.draw(arrays(np.float64, shape, elements=finite))
    return np.where(np.abs(x) < 0.5, np.where(x < 0, -0.5, 0.5), x) if away_from_zero else x


OPS = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
       "div": lambda x, y: x / y}

# local derivatives d(out)/da and d(out)/db of each op, written out by hand
RULES = {
    "add": (lambda a, b: a + b, lambda a, b: 1.0, lambda a, b: 1.0),
    "sub": (lambda a, b: a - b, lambda a, b: 1.0, lambda a, b: -1.0),
    "mul": (lambda a, b: a * b, lambda a, b: b, lambda a, b: a),
    "div": (lambda a, b: a / b, lambda a, b: 1 / b, lambda a, b: -a / b ** 2),
}


def _check(op: str, data, shapes) -> None:
    sa, sb = shapes.input_shapes
    a = _draw(data, sa)
    b = _draw(data, sb, away_from_zero=(op == "div"))
    forward, da_local, db_local = RULES[op]
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    y = OPS[op](ta, tb)
    expected = forward(a, b)
    assert y.shape == expected.shape == shapes.result_shape
    np.testing.assert_allclose(y.data, expected, rtol=1e-12, atol=1e-12)
    w = np.random.default_rng(len(sa) * 7 + len(sb)).standard_normal(y.shape)
    y.backward(w)
    da = w * np.broadcast_to(da_local(a, b), y.shape)
    db = w * np.broadcast_to(db_local(a, b), y.shape)
    np.testing.assert_allclose(ta.grad, broadcast_sum(da, sa), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tb.grad, broadcast_sum(db, sb), rtol=1e-10, atol=1e-12)
    assert ta.grad.shape == sa and tb.grad.shape == sb


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
@SETTINGS
@given(data=st.data(), shapes=shape_pairs)
def test_gradient_is_the_broadcast_sum(op, data, shapes):
    _check(op, data, shapes)


@settings(max_examples=25, deadline=None)
@given(data=st.data(), shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
       op=st.sampled_from(["add", "sub", "mul", "div"]))
def test_broadcasting_ops_pass_gradcheck(data, shapes, op):
    sa, sb = shapes.input_shapes
    a = Tensor(_draw(data, sa), requires_grad=True)
    b = Tensor(_draw(data, sb, away_from_zero=True), requires_grad=True)
    assert tg.gradcheck(OPS[op], [a, b])


@SETTINGS
@given(data=st.data(), shapes=mutually_broadcastable_shapes(
    signature="(m,n),(n,p)->(m,p)", max_dims=2, max_side=3))
def test_batched_matmul_gradient_matches_hand_formula(data, shapes):
    sa, sb = shapes.input_shapes
    a, b = _draw(data, sa), _draw(data, sb)
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    y = ta @ tb
    np.testing.assert_allclose(y.data, np.matmul(a, b), rtol=1e-12, atol=1e-12)
    w = np.random.default_rng(0).standard_normal(y.shape)
    y.backward(w)
    # y[..., i, k] = sum_j a[..., i, j] b[..., j, k]; expand both to the full batch, then sum
    batch = y.shape[:-2]
    a_full = np.broadcast_to(a, batch + a.shape[-2:])
    b_full = np.broadcast_to(b, batch + b.shape[-2:])
    da_full = np.einsum("...ik,...jk->...ij", w, b_full)
    db_full = np.einsum("...ij,...ik->...jk", a_full, w)
    np.testing.assert_allclose(ta.grad, broadcast_sum(da_full, sa), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tb.grad, broadcast_sum(db_full, sb), rtol=1e-10, atol=1e-12)


@SETTINGS
@given(data=st.data(), shape=st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple),
       keepdims=st.booleans())
def test_sum_and_mean_gradients_over_random_axes(data, shape, keepdims):
    axes = tuple(sorted(data.draw(st.sets(st.integers(0, len(shape) - 1), min_size=1))))
    x0 = _draw(data, shape)
    x = Tensor(x0, requires_grad=True)
    y = x.sum(axis=axes, keepdims=keepdims)
    np.testing.assert_allclose(y.data, x0.sum(axis=axes, keepdims=keepdims), rtol=1e-12)
    w = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(w)
    # every input element receives the upstream gradient of the one sum it went into
    w_kept = w if keepdims else np.expand_dims(w, axes)
    np.testing.assert_allclose(x.grad, np.broadcast_to(w_kept, shape), rtol=1e-12)
    x.zero_grad()
    m = x.mean(axis=axes, keepdims=keepdims)
    m.backward(w)
    count = int(np.prod([shape[i] for i in axes]))
    np.testing.assert_allclose(x.grad, np.broadcast_to(w_kept, shape) / count, rtol=1e-12)
