"""tinygrad_rnn.functional: softmax family stability, sigmoid without overflow, cross-entropy
(shapes, target containers, reductions, errors), mse_loss, one_hot, dropout."""

from __future__ import annotations

import importlib.util
import os
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import Tensor


def _golden() -> dict:
    path = os.path.join(os.path.dirname(__file__), "fixtures", "make_op_fixtures.py")
    spec = importlib.util.spec_from_file_location("make_op_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load_fixtures()


GOLDEN = _golden()


# ----- softmax / log_softmax -------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.filterwarnings("error")
def test_softmax_and_log_softmax_are_stable_at_1e4(dtype):
    x = Tensor(np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype=dtype),
               requires_grad=True)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        p = F.softmax(x)
        logp = F.log_softmax(x)
        (p.sum() + logp[0, 0] + logp[1, 2]).backward()
    np.testing.assert_allclose(p.data, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6, atol=0)
    np.testing.assert_allclose(logp.data, [[0, -2e4, -1e4], [-np.log(3)] * 3], rtol=1e-6)
    assert p.dtype == dtype and logp.dtype == dtype
    assert np.all(np.isfinite(x.grad))
    # d logp[1,2] / dx[1] = onehot(2) - softmax(x[1]); softmax(x).sum() has zero gradient
    np.testing.assert_allclose(x.grad[1], [-1 / 3, -1 / 3, 2 / 3], rtol=1e-5)


def test_softmax_rows_sum_to_one_and_match_the_log(rng):
    x = Tensor(rng.standard_normal((4, 6)) * 30)
    p = F.softmax(x, axis=1).data
    np.testing.assert_allclose(p.sum(axis=1), np.ones(4), rtol=1e-12)
    np.testing.assert_allclose(np.log(p), F.log_softmax(x, axis=1).data, rtol=1e-9, atol=1e-9)
    q = F.softmax(x, axis=0).data
    np.testing.assert_allclose(q.sum(axis=0), np.ones(6), rtol=1e-12)


# ----- sigmoid ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.filterwarnings("error")
def test_sigmoid_at_plus_minus_1000_without_warnings(dtype):
    x = Tensor(np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=dtype), requires_grad=True)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        y = F.sigmoid(x)
        y.sum().backward()
        y2 = x.sigmoid()
    assert y.dtype == dtype
    np.testing.assert_allclose(y.data, [0.0, np.exp(-50.0), 0.5, 1.0, 1.0], rtol=1e-6, atol=0)
    np.testing.assert_array_equal(y2.data, y.data)
    assert np.all(np.isfinite(x.grad)) and x.grad[0] == 0.0 and x.grad[-1] == 0.0
    assert x.grad[2] == pytest.approx(0.25)


# ----- cross_entropy -------------------------------------------------------------------------
def _case(name: str) -> dict:
    return GOLDEN[name]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("container", ["ndarray", "list", "tensor", "int32"])
def test_cross_entropy_matches_pytorch_for_every_target_container(reduction, container):
    gold = _case(f"cross_entropy_{reduction}")
    target = gold["x1"].astype(np.int64)
    target = {"ndarray": target, "list": target.tolist(), "tensor": Tensor(target),
              "int32": target.astype(np.int32)}[container]
    logits = Tensor(gold["x0"], requires_grad=True)
    loss = F.cross_entropy(logits, target, reduction=reduction)
    np.testing.assert_allclose(loss.data, gold["y"], rtol=1e-12)
    (loss * gold["w"]).sum().backward()
    np.testing.assert_allclose(logits.grad, gold["g0"], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["cross_entropy_1d", "cross_entropy_1d_none"])
def test_cross_entropy_of_a_single_row(name):
    gold = _case(name)
    reduction = "none" if name.endswith("none") else "mean"
    for target in (gold["x1"], int(gold["x1"]), Tensor(gold["x1"])):
        logits = Tensor(gold["x0"], requires_grad=True)
        loss = F.cross_entropy(logits, target, reduction=reduction)
        assert loss.shape == ()
        np.testing.assert_allclose(loss.data, gold["y"], rtol=1e-12)
        loss.backward(gold["w"])
        np.testing.assert_allclose(logits.grad, gold["g0"], rtol=1e-10, atol=1e-12)


def test_cross_entropy_is_hand_derived_nll_of_softmax(rng):
    logits = rng.standard_normal((5, 3))
    target = np.array([0, 2, 1, 1, 0])
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    expected = -logp[np.arange(5), target]
    np.testing.assert_allclose(F.cross_entropy(Tensor(logits), target, "none").data, expected)
    np.testing.assert_allclose(F.cross_entropy(Tensor(logits), target).data, expected.mean())
    np.testing.assert_allclose(F.nll_loss(Tensor(logp), target, "sum").data, expected.sum())


@pytest.mark.filterwarnings("error")
def test_cross_entropy_is_finite_for_huge_logits():
    logits = Tensor(np.array([[1e4, -1e4, 0.0], [0.0, 1e4, -1e4]], dtype=np.float32),
                    requires_grad=True)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        loss = F.cross_entropy(logits, [1, 1], reduction="sum")
        loss.backward()
    assert loss.item() == pytest.approx(2e4)
    assert np.all(np.isfinite(logits.grad))


def test_cross_entropy_accepts_integer_valued_float_targets():
    logits = Tensor(np.zeros((2, 3)))
    assert F.cross_entropy(logits, np.array([1.0, 2.0])).item() == pytest.approx(np.log(3))


def test_cross_entropy_errors():
    logits = Tensor(np.zeros((2, 5)))
    with pytest.raises(IndexError, match=r"target 7 is outside \[0, 5\)"):
        F.cross_entropy(logits, [1, 7])
    with pytest.raises(IndexError, match=r"target -1 is outside \[0, 5\)"):
        F.cross_entropy(logits, np.array([-1, 0]))
    with pytest.raises(IndexError, match="target 5"):
        F.cross_entropy(Tensor(np.zeros(5)), 5)
    with pytest.raises(TypeError, match="target must hold integers"):
        F.cross_entropy(logits, np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match=r"target of shape \(3,\).*\(2, 5\)"):
        F.cross_entropy(logits, [0, 1, 2])
    with pytest.raises(ValueError, match=r"target of shape \(2,\) does not fit input of shape "
                                         r"\(2, 2, 5\) \(expected target shape \(2, 5\)\)"):
        F.cross_entropy(Tensor(np.zeros((2, 2, 5))), [0, 1])  # (N, C, d1) takes (N, d1)
    with pytest.raises(ValueError, match="reduction.*'avg'"):
        F.cross_entropy(logits, [0, 1], reduction="avg")


# ----- mse_loss ----------------------------------------------------------------------------
def test_mse_loss_reductions_and_gradient(rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    ta = Tensor(a, requires_grad=True)
    np.testing.assert_allclose(F.mse_loss(ta, b, "none").data, (a - b) ** 2)
    np.testing.assert_allclose(F.mse_loss(ta, Tensor(b), "sum").data, ((a - b) ** 2).sum())
    loss = F.mse_loss(ta, b)
    np.testing.assert_allclose(loss.data, ((a - b) ** 2).mean())
    loss.backward()
    np.testing.assert_allclose(ta.grad, 2 * (a - b) / a.size)  # d mean((a-b)^2)/da
    tb = Tensor(b, requires_grad=True)
    F.mse_loss(Tensor(a), tb, "sum").backward()
    np.testing.assert_allclose(tb.grad, -2 * (a - b))


def test_mse_loss_errors():
    with pytest.raises(ValueError, match=r"mse_loss.*\(3,\).*\(4,\)"):
        F.mse_loss(Tensor(np.zeros(3)), np.zeros(4))
    with pytest.raises(ValueError, match="mse_loss: reduction"):
        F.mse_loss(Tensor(np.zeros(3)), np.zeros(3), reduction="max")


# ----- one_hot -----------------------------------------------------------------------------
def test_one_hot():
    y = F.one_hot(np.array([[0, 2], [1, 1]]), 3)
    assert isinstance(y, Tensor) and y.shape == (2, 2, 3) and y.dtype == np.float32
    np.testing.assert_array_equal(y.data, [[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [0, 1, 0]]])
    np.testing.assert_array_equal(F.one_hot([2], 4).data, [[0, 0, 1, 0]])
    np.testing.assert_array_equal(F.one_hot(tg.tensor([1]), 2).data, [[0, 1]])
    assert F.one_hot(1, 3, dtype=np.float64).dtype == np.float64


def test_one_hot_errors():
    with pytest.raises(IndexError, match=r"one_hot.*\[0, 3\)"):
        F.one_hot([0, 3], 3)
    with pytest.raises(TypeError, match="one_hot: indices must hold integers"):
        F.one_hot(np.array([0.5]), 3)


# ----- dropout ---------------------------------------------------------------------------------
def test_dropout_is_the_identity_when_off():
    x = Tensor(np.ones((4, 4)), requires_grad=True)
    assert F.dropout(x, p=0.0) is x
    assert F.dropout(x, p=0.7, training=False) is x


def test_dropout_zeroes_about_p_and_scales_the_rest():
    x = Tensor(np.ones((200, 100), dtype=np.float32), requires_grad=True)
    y = F.dropout(x, p=0.25)
    assert y.dtype == np.float32
    kept = y.data != 0
    assert 0.23 < 1 - kept.mean() < 0.27  # 20,000 draws: 4 standard deviations is 0.012
    np.testing.assert_allclose(y.data[kept], 1 / 0.75)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.75)  # gradient flows only where kept


def test_dropout_follows_the_library_seed():
    x = Tensor(np.ones(50))
    tg.manual_seed(7)
    a = F.dropout(x, 0.5).data
    tg.manual_seed(7)
    b = F.dropout(x, 0.5).data
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, F.dropout(x, 0.5).data)


def test_dropout_rejects_bad_p():
    for p in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match="dropout: p"):
            F.dropout(Tensor(np.ones(2)), p)


def test_dropout_accepts_array_like_input():
    tg.manual_seed(0)
    y = F.dropout([1.0, 2.0, 3.0, 4.0], 0.5)
    assert isinstance(y, Tensor) and y.shape == (4,)
    assert set(np.round(y.data / [1.0, 2.0, 3.0, 4.0], 6)) <= {0.0, 2.0}
    z = F.dropout(np.arange(1, 201), 0.3)  # integers: the 1/(1-p) scale is not truncated to 1
    kept = z.data != 0
    assert kept.any() and np.allclose(z.data[kept] / np.arange(1, 201)[kept], 1 / 0.7)


def test_cross_entropy_of_integer_logits_is_not_truncated():
    # the fused mean/sum node cast the loss to the logits' int dtype: 2.4076 -> 2
    expected = np.log(np.exp([1.0, 2.0, 3.0]).sum()) - 1.0
    for reduction in ("mean", "sum", "none"):
        loss = F.cross_entropy(tg.tensor([[1, 2, 3]]), [0], reduction=reduction)
        assert loss.dtype == np.float32  # the default float, as the float functions give
        np.testing.assert_allclose(loss.data, expected if reduction != "none" else [expected],
                                   rtol=1e-6)


def test_linear_is_x_w_transposed_plus_b_with_its_gradients(rng):
    """F.linear(x, W, b) = x W^T + b (as torch.nn.functional.linear), for batched, 3-D and
    single-vector inputs, without a bias too; gradients against finite differences; a bias of
    the wrong shape is refused by name."""
    W = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = Tensor(rng.standard_normal(4), requires_grad=True)
    for shape in [(5, 3), (2, 5, 3), (3,)]:
        x = Tensor(rng.standard_normal(shape), requires_grad=True)
        np.testing.assert_allclose(F.linear(x, W, b).numpy(), x.numpy() @ W.numpy().T + b.numpy(),
                                   rtol=1e-12)
        np.testing.assert_allclose(F.linear(x, W).numpy(), x.numpy() @ W.numpy().T, rtol=1e-12)
        assert tg.gradcheck(lambda x, W, b: F.linear(x, W, b), [x, W, b])
    with pytest.raises(ValueError, match=r"linear: bias must have shape \(4,\) for weight of "
                                         r"shape \(4, 3\), got \(3,\)"):
        F.linear(Tensor(np.ones((2, 3))), W, Tensor(np.ones(3)))
    with pytest.raises(ValueError, match=r"got \(1,\)"):  # would broadcast silently
        F.linear(Tensor(np.ones((2, 3))), W, Tensor(np.ones(1)))
