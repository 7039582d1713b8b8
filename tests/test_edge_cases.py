"""Regression tests for the silent wrong answers of issue 13 (items 3, 6, 8, 10, 11; item 5,
gradcheck over memory layouts, is in test_engine.py beside the other gradcheck tests) and for a
backward that fails halfway."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import Tensor, nn


# ----- item 6: division is its own op ------------------------------------------------------
def test_division_of_tiny_float32_numbers_does_not_overflow():
    a = Tensor(np.float32(1e-30), requires_grad=True)
    b = Tensor(np.float32(1e-39), requires_grad=True)  # a subnormal float32
    y = a / b
    assert y.op == "div" and y.dtype == np.float32
    np.testing.assert_allclose(y.data, 1e9, rtol=1e-5)  # was inf as a * b**-1


def test_division_gradient_at_tiny_divisors_is_finite_where_the_true_value_is():
    a = Tensor(np.float32(1e-30), requires_grad=True)
    b = Tensor(np.float32(1e-20), requires_grad=True)
    (a / b).backward()
    np.testing.assert_allclose(a.grad, 1e20, rtol=1e-5)  # 1/b
    np.testing.assert_allclose(b.grad, -1e10, rtol=1e-5)  # -a/b^2; b**-2 = 1e40 overflowed


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((1, 4), (3, 1)), ((), (2,))])
def test_division_gradcheck_with_broadcasting(shapes, rng):
    a = Tensor(rng.standard_normal(shapes[0]), requires_grad=True)
    b = Tensor(rng.uniform(0.5, 2.0, shapes[1]) * rng.choice([-1, 1], shapes[1]),
               requires_grad=True)
    assert tg.gradcheck(lambda a, b: a / b, [a, b])
    assert tg.gradcheck(lambda b: 3.0 / b, [b])
    assert tg.gradcheck(lambda a: a / 3.0, [a])


def test_division_matches_numpy_exactly():
    x = np.array([1.0, 2.0, 10.0], np.float32)
    np.testing.assert_array_equal((Tensor(x) / 3.0).data, x / np.float32(3.0))
    np.testing.assert_array_equal((3.0 / Tensor(x)).data, np.float32(3.0) / x)


# ----- item 8: nll_loss checks like cross_entropy ------------------------------------------
@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss], ids=["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("target, error, message", [
    ([-1, 0], IndexError, r"target -1 is outside \[0, 3\)"),
    ([0, 3], IndexError, r"target 3 is outside \[0, 3\)"),
    ([0], ValueError, r"target of shape \(1,\) does not fit input of shape \(2, 3\)"),
    ([0, 1, 2], ValueError, r"target of shape \(3,\) does not fit"),
    ([0.5, 1], TypeError, "target must hold integers"),
])
def test_class_targets_are_checked_the_same_way(fn, target, error, message):
    scores = Tensor(np.zeros((2, 3), np.float32))
    with pytest.raises(error, match=f"{fn.__name__}: {message}"):
        fn(scores, target)


# Every entry point that takes class or token indices applies one rule (checks.indices):
# integers, or floats holding whole numbers (Tensor(targets) makes float32). Before, the two
# functional losses took whole floats while their modules, one_hot and Embedding refused them.
_LOGITS = np.array([[2.0, 0.0, -1.0], [0.5, 1.0, 0.0]], np.float32)
INDEX_TAKERS = {
    "cross_entropy": lambda i: F.cross_entropy(Tensor(_LOGITS), i),
    "nll_loss": lambda i: F.nll_loss(F.log_softmax(Tensor(_LOGITS), -1), i),
    "CrossEntropyLoss": lambda i: nn.CrossEntropyLoss()(Tensor(_LOGITS), i),
    "NLLLoss": lambda i: nn.NLLLoss()(F.log_softmax(Tensor(_LOGITS), -1), i),
    "one_hot": lambda i: F.one_hot(i, 3),
    "Embedding": lambda i: _EMBEDDING(i),
}
_EMBEDDING = nn.Embedding(3, 2)


@pytest.mark.parametrize("name", list(INDEX_TAKERS))
def test_every_index_taker_accepts_whole_floats_as_integers(name):
    fn = INDEX_TAKERS[name]
    want = fn(np.array([2, 0])).data
    for given in (Tensor([2, 0]), np.array([2.0, 0.0]), [2.0, 0.0], tg.tensor([2, 0])):
        np.testing.assert_array_equal(fn(given).data, want)
    if name in ("cross_entropy", "CrossEntropyLoss"):  # by hand: -log softmax at 2, then at 0
        rows = _LOGITS.astype(np.float64)
        logp = rows - np.log(np.exp(rows).sum(axis=1, keepdims=True))
        assert abs(float(want) - (-(logp[0, 2] + logp[1, 0]) / 2)) < 1e-6


@pytest.mark.parametrize("name", list(INDEX_TAKERS))
@pytest.mark.parametrize("given, shown", [
    (np.array([0.5, 1.0]), r"got 0\.5 \(dtype float64\)$"),
    (Tensor([np.nan, 1.0]), r"got nan \(dtype float32\)$"),
    (np.array([np.inf, 0.0]), r"got inf \(dtype float64\)$"),
    (np.array([2.0**24, 0.0], np.float32), r"got 16777216\.0 \(dtype float32\), too large"),
    (np.array([True, False]), r"got dtype bool$"),
    (np.array(["1", "0"]), r"got dtype <U1$"),
])
def test_every_index_taker_refuses_what_is_not_a_whole_number(name, given, shown):
    argument = "indices" if name in ("one_hot", "Embedding") else "target"
    with pytest.raises(TypeError, match=f"^{name}: {argument} must hold integers, {shown}"):
        INDEX_TAKERS[name](given)


@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss], ids=["cross_entropy", "nll_loss"])
def test_bad_reduction_and_bad_input_rank(fn):
    with pytest.raises(ValueError, match=f"{fn.__name__}: reduction must be one of"):
        fn(Tensor(np.zeros((2, 3))), [0, 1], reduction="avg")
    with pytest.raises(ValueError, match=rf"{fn.__name__}: input must be \(N, C\), \(C,\) or"):
        fn(Tensor(np.zeros(())), 0)
    with pytest.raises(ValueError, match=rf"{fn.__name__}: target of shape \(2,\) does not fit "
                                         r"input of shape \(2, 3, 4\) \(expected .* \(2, 4\)\)"):
        fn(Tensor(np.zeros((2, 3, 4))), [0, 1])  # (N, C, d1) takes targets (N, d1)


def test_nll_loss_matches_cross_entropy_of_log_softmax(rng):
    logits = rng.standard_normal((5, 4))
    target = np.array([0, 3, 1, 1, 2])
    for reduction in ("mean", "sum", "none"):
        np.testing.assert_allclose(
            F.nll_loss(F.log_softmax(Tensor(logits)), target, reduction).data,
            F.cross_entropy(Tensor(logits), target, reduction).data, rtol=1e-12)
    assert F.nll_loss(Tensor(np.log([0.2, 0.8])), 1).item() == pytest.approx(-np.log(0.8))


# ----- item 11: the mean over an empty batch is NaN ------------------------------------------
@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss], ids=["cross_entropy", "nll_loss"])
def test_mean_loss_of_an_empty_batch_is_nan_and_sum_is_zero(fn):
    scores = Tensor(np.zeros((0, 3), np.float32), requires_grad=True)
    loss = fn(scores, np.zeros(0, np.int64))
    assert np.isnan(loss.item())  # as PyTorch, and as reduction="none" followed by .mean()
    loss.backward()
    assert scores.grad.shape == (0, 3)
    assert fn(scores, [], reduction="sum").item() == 0.0
    assert fn(scores, [], reduction="none").shape == (0,)


# ----- item 3: unroll refuses a state of the wrong shape on both paths ------------------------
CELLS = {"RNNCell": nn.RNNCell, "GRUCell": nn.GRUCell, "LSTMCell": nn.LSTMCell}


@pytest.mark.parametrize("cell_class", CELLS.values(), ids=CELLS.keys())
@pytest.mark.parametrize("state_shape", [(4, 2), (8,), (1, 2, 4)], ids=["(H,B)", "flat", "3-d"])
def test_unroll_refuses_a_misshapen_state_the_same_way_fused_or_not(cell_class, state_shape):
    cell = cell_class(3, 4)
    x = Tensor(np.ones((5, 2, 3), np.float32))
    s = Tensor(np.zeros(state_shape, np.float32))
    state = (s, s) if cell_class is nn.LSTMCell else s
    messages = []
    for fused in (True, False):
        with pytest.raises(ValueError) as info:
            nn.unroll(cell, x, state, fused=fused)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert f"state h must have shape (2, 4) for input x of shape (2, 3), got {state_shape}" \
        in messages[0]


@pytest.mark.parametrize("cell_class", CELLS.values(), ids=CELLS.keys())
def test_unroll_refuses_the_wrong_kind_of_state(cell_class):
    cell = cell_class(3, 4)
    x = Tensor(np.ones((5, 2, 3), np.float32))
    h = Tensor(np.zeros((2, 4), np.float32))
    wrong = h if cell_class is nn.LSTMCell else (h, h)
    for fused in (True, False):
        with pytest.raises(TypeError, match=f"unroll: {cell_class.__name__} takes (a pair|one "
                                            "tensor h, not a tuple)"):
            nn.unroll(cell, x, wrong, fused=fused)


# ----- item 10: complex, object and string data are refused ---------------------------------
@pytest.mark.parametrize("data, dtype", [
    (np.ones(2, np.complex64), None), ([1, 2], np.complex128), ([1, 2], object), ([1, 2], str),
    (np.array(["a", "b"]), None), (np.array([1, None]), None)])
def test_tensor_refuses_non_real_data(data, dtype):
    with pytest.raises(TypeError, match="Tensor: cannot hold data of dtype"):
        Tensor(data, dtype=dtype)


@pytest.mark.parametrize("make", [lambda: nn.RNNCell(2, 3), lambda: nn.LSTMCell(2, 3),
                                  lambda: nn.GRUCell(2, 3), lambda: nn.Linear(2, 3)],
                         ids=["RNNCell", "LSTMCell", "GRUCell", "Linear"])
@pytest.mark.parametrize("dtype", [np.complex64, object, "U1"])
def test_cells_refuse_non_real_input(make, dtype):
    with pytest.raises(TypeError, match="input must hold real numbers"):
        make()(np.ones((1, 2)).astype(dtype))


@pytest.mark.parametrize("module", [nn.RNN, nn.LSTM, nn.GRU])
def test_sequence_modules_refuse_complex_input(module):
    with pytest.raises(TypeError, match=f"{module.__name__}: input must hold real numbers"):
        module(2, 3)(np.ones((4, 1, 2), np.complex64))


# ----- a backward that fails halfway ---------------------------------------------------------
def test_a_backward_that_fails_halfway_changes_no_grad_and_says_what_happened():
    w = Tensor([1.0, 2.0], requires_grad=True)
    v = Tensor([3.0, 4.0], requires_grad=True)
    w.grad = np.array([10.0, 10.0], np.float32)  # accumulated by an earlier backward
    with np.errstate(divide="ignore", invalid="ignore"):
        early = (v * 2.0).sum()  # v is reached first, before the failing op
        loss = early + (w * 0.0).log().sum()  # log(0): the backward of log makes inf/NaN
        with tg.detect_anomaly(), pytest.raises(FloatingPointError) as info:
            loss.backward()
    assert "no .grad was changed" in "".join(getattr(info.value, "__notes__", []))
    np.testing.assert_array_equal(w.grad, [10.0, 10.0])  # untouched
    assert v.grad is None  # nothing half-written
    with pytest.raises(RuntimeError, match=r"an earlier backward\(\) freed them and then failed "
                                           r"\(FloatingPointError: detect_anomaly"):
        loss.backward()


def test_a_failed_backward_with_retain_graph_can_be_retried():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Tensor([3.0, 4.0])
    loss = (x * y).sum()
    y.data[0] = 0.0
    with pytest.raises(RuntimeError, match="values have changed"):
        loss.backward(retain_graph=True)
    assert x.grad is None
    y.data[0] = 3.0  # put it back: the saved bytes match again
    loss.backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


# ----- min/topk of unsigned ints and bools, int clamp by a float, NaN in topk -----------------
# (expected values are PyTorch's)
def test_min_and_topk_of_unsigned_ints_do_not_negate():
    u = tg.tensor(np.array([0, 5, 3], np.uint8))
    assert u.min().item() == 0 and u.min().dtype == np.uint8
    assert u.amin().item() == 0 and u.argmin().item() == 0
    values, indices = u.min(dim=0)
    assert values.item() == 0 and indices.item() == 0
    values, indices = u.topk(1)
    np.testing.assert_array_equal(values.data, [5])
    np.testing.assert_array_equal(indices.data, [1])
    assert values.dtype == np.uint8
    values, indices = u.topk(2, largest=False)
    np.testing.assert_array_equal(values.data, [0, 3])
    np.testing.assert_array_equal(indices.data, [0, 2])
    np.testing.assert_array_equal(u.topk(3).values.data, [5, 3, 0])


def test_min_of_a_bool_tensor():
    b = tg.tensor([True, False])
    assert b.min().item() is False and b.amin().item() is False and b.max().item() is True
    values, indices = b.min(dim=0)
    assert values.item() is False and indices.item() == 1


def test_amin_gradient_is_shared_by_tied_minima():
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 0.0]], requires_grad=True)
    x.amin(1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])


def test_int_clamp_by_a_float_bound_gives_a_float_tensor():
    x = tg.tensor([0, 5, 3])
    low = x.clamp(min=0.5)
    assert low.dtype == np.float32
    np.testing.assert_array_equal(low.data, [0.5, 5.0, 3.0])
    high = x.clamp(max=2.5)
    assert high.dtype == np.float32
    np.testing.assert_array_equal(high.data, [0.0, 2.5, 2.5])
    assert x.clamp(min=1).dtype == np.int64  # an int bound keeps the int dtype


def test_topk_ranks_nan_above_everything():
    x = tg.tensor([1.0, float("nan"), 3.0, float("nan"), 2.0])
    values, indices = x.topk(3)
    np.testing.assert_array_equal(values.data, [np.nan, np.nan, 3.0])
    np.testing.assert_array_equal(indices.data, [1, 3, 2])
    values, indices = x.topk(3, largest=False)
    np.testing.assert_array_equal(values.data, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(indices.data, [0, 4, 2])
    assert np.isnan(x.topk(5, largest=False).values.data[3:]).all()  # NaN last


# ----- found by a hostile-input hunt against PyTorch 2.13 (each was a silent wrong answer) -----
def _changed_after_forward(make_loss, index, new_value):
    """The gradient of a loss whose index/mask/target tensor is written in place between the
    forward pass and backward (PyTorch refuses; here the forward's copy is used)."""
    x = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    loss = make_loss(x, index)
    index.fill_(new_value)
    loss.backward()
    return x.grad


@pytest.mark.parametrize("name, make_loss, index, new_value, expected", [
    ("cross_entropy targets", lambda x, t: F.cross_entropy(x, t, reduction="sum"),
     [0, 2], 1, None),
    ("getitem index", lambda x, i: x[i].sum(), [1, 1], 0, [[0, 0, 0], [2, 2, 2]]),
    ("index_select", lambda x, i: x.index_select(1, i).sum(), [2], 0, [[0, 0, 1], [0, 0, 1]]),
    ("gather", lambda x, i: x.gather(1, i).sum(), [[0], [2]], 1, [[1, 0, 0], [0, 0, 1]]),
    ("masked_fill mask", lambda x, m: x.masked_fill(m, 0.0).sum(),
     [[True, False, False], [False, False, False]], False, [[0, 1, 1], [1, 1, 1]]),
    ("where condition", lambda x, m: tg.where(m, x, 0.0).sum(),
     [[True, False, False], [False, False, True]], True, [[1, 0, 0], [0, 0, 1]]),
    ("masked_select mask", lambda x, m: x.masked_select(m).sum(),
     [[False, True, False], [False, False, False]], True, [[0, 1, 0], [0, 0, 0]]),
])
def test_an_index_or_mask_written_after_the_forward_does_not_change_backward(
        name, make_loss, index, new_value, expected):
    grad = _changed_after_forward(make_loss, tg.tensor(index), new_value)
    if expected is None:  # softmax(x) - one_hot(target), with the forward's targets [0, 2]
        x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        p = np.exp(x - x.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        expected = p - np.eye(3)[[0, 2]]
        np.testing.assert_allclose(grad, expected, rtol=1e-6)
    else:
        np.testing.assert_array_equal(grad, expected)


def test_embedding_indices_written_after_the_forward_do_not_change_backward():
    emb = nn.Embedding(3, 2)
    idx = tg.tensor([0, 0])
    out = emb(idx).sum()
    idx.fill_(2)
    out.backward()
    np.testing.assert_array_equal(emb.weight.grad[:, 0], [2, 0, 0])


def test_norm_gradient_is_zero_at_zero_elements_for_p_below_2():
    for p, expected in ((1.5, [0.0, -0.706384, 0.8651402]), (0.5, None)):
        x = tg.tensor([0.0, -2.0, 3.0], requires_grad=True)
        with np.errstate(all="raise"):
            x.norm(p).backward()
        assert x.grad[0] == 0.0 and np.isfinite(x.grad).all()
        if expected is not None:  # PyTorch 2.13's values
            np.testing.assert_allclose(x.grad, expected, rtol=1e-6)


def test_masked_fill_with_a_tensor_value_passes_its_gradient():
    v = tg.tensor(5.0, requires_grad=True)
    y = tg.tensor([1.0, 2.0, 3.0]).masked_fill(tg.tensor([True, False, True]), v)
    assert y.requires_grad and y.tolist() == [5.0, 2.0, 5.0]
    y.sum().backward()
    assert v.grad == 2.0  # it filled two places


@pytest.mark.parametrize("reduce, whole", [
    (lambda x: x.sum(dim=[]), lambda x: x.sum()), (lambda x: x.mean(dim=()), lambda x: x.mean()),
    (lambda x: x.amax(dim=[]), lambda x: x.amax()), (lambda x: x.var(dim=()), lambda x: x.var()),
    (lambda x: x.norm(dim=()), lambda x: x.norm()),
    (lambda x: tg.count_nonzero(x, dim=()), lambda x: tg.count_nonzero(x))])
def test_no_dims_means_every_dim_as_pytorch(reduce, whole):
    x = tg.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    got, want = reduce(x), whole(x)
    assert got.shape == () == want.shape  # it returned x itself (or NaN for var) before
    np.testing.assert_allclose(got.data, want.data)


@pytest.mark.parametrize("make, dtype", [  # dtypes PyTorch 2.13 gives for the same lines
    (lambda: tg.tensor([1, 2]) + tg.tensor(1.5, dtype=tg.float64), "float64"),
    (lambda: tg.tensor([1.0]) * tg.tensor(2.0, dtype=tg.float64), "float32"),
    (lambda: tg.tensor([1, 2], dtype=tg.int32) * tg.tensor(2), "int32"),
    (lambda: tg.tensor(2) * tg.tensor([1, 2], dtype=tg.int32), "int32"),
    (lambda: tg.tensor([True]) + tg.tensor(2), "int64"),
    (lambda: tg.tensor(1.0) + tg.tensor(2.0, dtype=tg.float64), "float64"),
    (lambda: tg.tensor([1, 2], dtype=tg.int32) * 2, "int32"),
    (lambda: tg.tensor([1, 2], dtype=tg.int32) // 2, "int32"),
    (lambda: tg.where(tg.tensor([True, False]), 1, 0), "int64"),
    (lambda: tg.where(tg.tensor([True, False]), 1.0, 0), "float32"),
    (lambda: tg.where(tg.tensor([True, False]), tg.tensor([1, 2]), tg.tensor([1.0, 2.0])),
     "float32"),
    (lambda: tg.where(tg.tensor([True, False]), tg.tensor([1, 2]), 2.5), "float32"),
    (lambda: tg.maximum(tg.tensor([1.0]), tg.tensor(2.0, dtype=tg.float64)), "float32"),
])
def test_result_dtypes_follow_pytorch(make, dtype):
    assert make().dtype == np.dtype(dtype)


def test_small_unsigned_ints_wrap_as_in_pytorch():
    assert (tg.tensor([1, 2], dtype=tg.uint8) - 3).tolist() == [254, 255]
    assert (tg.tensor([3], dtype=tg.uint8) + 300).tolist() == [47]


def test_clamp_takes_tensor_bounds_with_pytorchs_gradients():
    x = tg.tensor([0.0, 1.0, 2.0, 3.0], requires_grad=True)
    lo = tg.tensor([0.5, 0.5, 2.5, 2.5], requires_grad=True)
    hi = tg.tensor(2.8, requires_grad=True)
    y = x.clamp(min=lo, max=hi)
    (y * tg.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    # PyTorch 2.13: x's gradient inside the bounds, each bound's where it was used
    assert y.tolist() == pytest.approx([0.5, 1.0, 2.5, 2.8])
    assert x.grad.tolist() == [0, 2, 0, 0] and lo.grad.tolist() == [1, 0, 3, 0]
    assert hi.grad == 4.0
    assert tg.clamp(tg.tensor([1.0, 5.0]), min=tg.tensor(2.0)).tolist() == [2.0, 5.0]


def test_topk_of_a_0d_tensor_is_the_element_itself():
    values, indices = tg.tensor(5.0).topk(1)
    assert values.shape == () == indices.shape and values.item() == 5.0 and indices.item() == 0


def test_one_element_tensors_are_accepted_where_a_number_is_as_in_pytorch():
    from tinygrad_rnn.nn.utils.rnn import pack_sequence, pad_packed_sequence

    assert F.leaky_relu(tg.tensor([-1.0, 1.0]), tg.tensor(0.5)).tolist() == [-0.5, 1.0]
    p = nn.Parameter(np.array([3.0, 4.0]))
    p.grad = np.array([3.0, 4.0])
    assert nn.utils.clip_grad_norm_([p], max_norm=tg.tensor(1.0)) == 5.0
    assert np.allclose(p.grad, [0.6, 0.8], atol=1e-6)
    padded, _ = pad_packed_sequence(pack_sequence([tg.ones(2, 1)]), total_length=tg.tensor(4))
    assert padded.shape == (4, 1, 1)
    with pytest.raises(TypeError, match="must be an integer"):
        pad_packed_sequence(pack_sequence([tg.ones(2, 1)]), total_length=tg.tensor(4.5))


def test_comparing_a_tensor_with_none_is_a_plain_bool_as_in_pytorch():
    t = tg.tensor([1.0, 2.0])
    assert (t == None) is False and (t != None) is True  # noqa: E711 (the idiom under test)


def test_where_with_the_condition_alone_gives_the_indices_as_pytorch():
    rows, cols = tg.where(tg.tensor([[True, False], [False, True]]))
    assert rows.tolist() == [0, 1] and cols.tolist() == [0, 1] and rows.dtype == np.int64
    (idx,) = tg.where(tg.tensor([0.0, 2.0, 3.0]) > 1)
    assert idx.tolist() == [1, 2]
    with pytest.raises(TypeError, match="where: give both x and y"):
        tg.where(tg.tensor([True]), 1.0)


def test_comparison_errors_name_the_comparison():
    with pytest.raises(ValueError, match="^eq: operands could not be broadcast"):
        tg.tensor([1, 2]).eq(tg.tensor([1, 2, 3]))
    with pytest.raises(TypeError, match="^lt: "):
        tg.tensor([1.0]) < "x"


def test_repr_shows_small_tensors_in_full_as_pytorch():
    text = repr(tg.zeros(4, 11, dtype=tg.long))  # a padded batch: PyTorch prints every value
    assert "..." not in text and text.count("0") >= 44
    assert "..." in repr(tg.zeros(1001))  # PyTorch's threshold: 1000 values


@pytest.fixture
def print_defaults():
    yield
    tg.set_printoptions(profile="default")


def test_set_printoptions_changes_reprs_as_pytorchs(print_defaults):
    x = tg.tensor([1.23456789, 250.0])
    assert repr(x).startswith("Tensor([  1.2346, 250.    ]")  # precision 4 by default
    tg.set_printoptions(precision=2)
    assert repr(x).startswith("Tensor([  1.23, 250.  ]")
    tg.set_printoptions(sci_mode=True)
    assert repr(x).startswith("Tensor([1.23e+00, 2.50e+02]")
    tg.set_printoptions(sci_mode=False)  # fixed point even for 1e8 (NumPy alone would not)
    assert repr(tg.tensor([1e8, -0.5])).startswith("Tensor([100000000.00,        -0.50]")
    tg.set_printoptions(profile="full")  # every value, precision 4 again, sci_mode back to None
    assert "..." not in repr(tg.zeros(1001)) and repr(x).startswith("Tensor([  1.2346,")
    tg.set_printoptions(profile="short")
    assert repr(tg.arange(2000)).startswith("Tensor([   0,    1, ..., 1998, 1999]")
    tg.set_printoptions(threshold=5, edgeitems=1)
    assert repr(tg.arange(6)).startswith("Tensor([0, ..., 5]")
    for bad, match in [(dict(profile="long"), "profile must be one of"),
                       (dict(precision=-1), "precision must be >= 0"),
                       (dict(sci_mode="yes"), "sci_mode must be True or False")]:
        with pytest.raises((ValueError, TypeError), match="set_printoptions: " + match):
            tg.set_printoptions(**bad)
    assert repr(tg.arange(6)).startswith("Tensor([0, ..., 5]")  # a refused call changed nothing


def test_size_is_a_tuple_as_torch_size():
    assert tg.Size([2, 3]) == (2, 3) == tg.zeros(2, 3).shape
    assert tg.Size((4, 5)).numel() == 20 and repr(tg.Size([2])) == "Size([2])"
    with pytest.raises(TypeError, match="Size: each size must be an integer, got 2.5"):
        tg.Size([2.5])


def test_inference_mode_is_no_grad_and_rnns_answer_flatten_parameters():
    x = tg.tensor([1.0], requires_grad=True)
    with tg.inference_mode():
        assert not (x * 2).requires_grad
    with tg.inference_mode(False):
        assert (x * 2).requires_grad

    @tg.inference_mode()
    def f():
        return (x * 2).requires_grad

    assert f() is False and tg.is_grad_enabled()
    gru = nn.GRU(2, 3)
    assert gru.flatten_parameters() is None  # PyTorch RNN code calls it in forward


def test_loading_a_pytorch_file_says_what_it_is(tmp_path):
    import zipfile

    path = tmp_path / "model.pt"  # the layout of torch.save's zip (no torch needed to make it)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("model/data.pkl", b"\x80\x02}q\x00.")
        z.writestr("model/version", b"3\n")
    from tinygrad_rnn.checkpoint import CheckpointError

    with pytest.raises(CheckpointError, match="written by PyTorch's torch.save.*"
                                                 "nn.load_torch_weights"):
        tg.load(str(path))


def test_float_functions_of_integer_tensors_give_the_default_float_as_pytorch():
    # PyTorch 2.13: torch.tensor([1, 2]).exp() is float32 (NumPy would give float64)
    ints = tg.tensor([1, 2])
    for name in ("exp", "log", "tanh", "sigmoid", "log1p", "sqrt"):
        out = getattr(ints, name)()
        assert out.dtype == np.float32, name
        np.testing.assert_allclose(out.data, getattr(tg.tensor([1.0, 2.0]), name)().data)
    assert tg.tensor([True, False]).exp().dtype == np.float32


def test_max_and_min_of_empty_tensors_name_themselves():
    with pytest.raises(ValueError, match="^max: the tensor is empty, so it has no maximum"):
        tg.tensor([]).max()
    with pytest.raises(ValueError, match=r"^min: dim 0 of shape \(0, 3\) is empty"):
        tg.zeros(0, 3).min(0)


def test_isnan_isinf_isfinite_and_init_eye():
    x = tg.tensor([1.0, float("nan"), float("inf"), -float("inf")])
    assert tg.isnan(x).tolist() == [False, True, False, False]
    assert x.isinf().tolist() == [False, False, True, True]
    assert tg.isfinite(x).tolist() == [True, False, False, False] and x.isnan().dtype == np.bool_
    w = nn.Linear(3, 2).weight
    nn.init.eye_(w)
    np.testing.assert_array_equal(w.data, [[1, 0, 0], [0, 1, 0]])
    with pytest.raises(ValueError, match=r"eye_: only 2-D tensors .*shape \(3,\)"):
        nn.init.eye_(tg.zeros(3))


def test_softmax_of_integer_tensors_is_computed_in_the_default_float():
    # uint8 values wrapped around in x - max(x) and NumPy chose float16: NaNs
    for values in (np.array([0, 1, 2], np.uint8), np.array([-100, 100], np.int8)):
        expected = np.exp(values - values.max().astype(float))
        expected /= expected.sum()
        for out in (tg.tensor(values).softmax(0), F.softmax(tg.tensor(values), dim=0)):
            assert out.dtype == np.float32
            np.testing.assert_allclose(out.data, expected, rtol=1e-6, atol=1e-30)
        np.testing.assert_allclose(tg.tensor(values).log_softmax(0).data, np.log(expected),
                                   rtol=1e-6)


def test_relu_gradient_is_zero_where_relu_is_off_even_for_inf_or_nan_gradients():
    # the gradient was g * (y > 0): inf * 0 and NaN * 0 gave NaN where PyTorch gives 0, and a
    # NaN input (y NaN) gave 0 where PyTorch passes g
    torch = pytest.importorskip("torch")
    x = np.array([-1.0, 0.0, 2.0, np.nan, 3.0, -2.0])
    g = np.array([np.inf, np.nan, 1.0, 5.0, np.inf, -np.inf])
    tx = torch.tensor(x, requires_grad=True)
    torch.relu(tx).backward(torch.tensor(g))
    for fn in (Tensor.relu, F.relu, nn.ReLU()):
        ours = Tensor(x, requires_grad=True)
        fn(ours).backward(Tensor(g))
        np.testing.assert_array_equal(ours.grad, tx.grad.numpy())  # [0, 0, 1, 5, inf, 0]


def test_clamp_and_abs_gradients_with_inf_or_nan_are_pytorchs():
    # clamp's gradient was g * inside: an inf g outside the bounds gave NaN where PyTorch gives
    # 0; abs's was g * sign(x): a NaN input gave NaN where PyTorch's sgn gives 0
    torch = pytest.importorskip("torch")
    x = np.array([np.nan, -1.0, 0.0, 2.0, 5.0, 3.0])
    g = np.array([1.0, np.inf, np.inf, 1.0, -np.inf, np.nan])
    for name, ours_fn, theirs_fn in [("clamp", lambda t: t.clamp(0, 3), lambda t: t.clamp(0, 3)),
                                     ("abs", lambda t: t.abs(), lambda t: t.abs())]:
        tx = torch.tensor(x, requires_grad=True)
        theirs_fn(tx).backward(torch.tensor(g))
        ours = Tensor(x, requires_grad=True)
        with np.errstate(invalid="ignore"):
            ours_fn(ours).backward(Tensor(g))
        np.testing.assert_array_equal(ours.grad, tx.grad.numpy(), err_msg=name)
