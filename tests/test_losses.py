"""Losses and activations of torch.nn.functional and their modules: values and every gradient
against PyTorch (golden: tests/fixtures/make_loss_fixtures.py -> losses.npz; live when PyTorch is
installed), extreme logits, NaN targets, every reduction, float64 gradchecks, the options of
cross_entropy / nll_loss shared with nn.CrossEntropyLoss / nn.NLLLoss, and clear errors."""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import Tensor, nn

HERE = Path(__file__).parent / "fixtures"
FIX = np.load(HERE / "losses.npz", allow_pickle=False)
CASES = json.loads(str(FIX["cases"]))
ARRAY_KWARGS = ("weight", "pos_weight", "bias")


def _maker():
    spec = importlib.util.spec_from_file_location("make_loss_fixtures",
                                                  HERE / "make_loss_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(case: str, args: list[np.ndarray], kwargs: dict, dtype=np.float64):
    """Our F.<fn>(*args, **kwargs) with gradients for the case's listed arguments; returns
    (output Tensor, {name: input Tensor})."""
    fn, _, grads = CASES[case]
    names = ["input", "target"][:len(args)]
    ts = {n: Tensor(a.astype(dtype) if a.dtype.kind == "f" else a,
                    requires_grad=n in grads) for n, a in zip(names, args)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kl_div's 'mean' warning, as PyTorch's
        out = getattr(F, fn)(*ts.values(), **kwargs)
    return out, ts


def _case_inputs(case: str) -> tuple[list[np.ndarray], dict]:
    kwargs = dict(CASES[case][1])
    for k in ARRAY_KWARGS:
        if k in kwargs:
            kwargs[k] = FIX[f"{case}.kw.{k}"]
    args = [FIX[f"{case}.arg{i}"] for i in range(2) if f"{case}.arg{i}" in FIX]
    return args, kwargs


# ----- golden values and gradients ---------------------------------------------------------
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_pytorch_golden(case: str) -> None:
    args, kwargs = _case_inputs(case)
    out, ts = _run(case, args, kwargs)
    np.testing.assert_allclose(out.data, FIX[f"{case}.out"], rtol=1e-12, atol=1e-12)
    (out * Tensor(FIX[f"{case}.up"])).sum().backward()
    for name in CASES[case][2]:
        np.testing.assert_allclose(ts[name].grad, FIX[f"{case}.grad.{name}"], rtol=1e-10,
                                   atol=1e-12, err_msg=f"gradient of {name}")


def test_the_golden_cases_cover_every_function_and_reduction() -> None:
    fns = {fn for fn, _, _ in CASES.values()}
    assert fns >= {"binary_cross_entropy_with_logits", "binary_cross_entropy", "l1_loss",
                   "smooth_l1_loss", "huber_loss", "kl_div", "cross_entropy", "nll_loss",
                   "logsigmoid", "softplus", "leaky_relu", "elu", "gelu", "silu"}
    reductions = {kw.get("reduction", "mean") for _, kw, _ in CASES.values()}
    assert reductions == {"mean", "sum", "none", "batchmean"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_float32_keeps_float32(case: str) -> None:
    args, kwargs = _case_inputs(case)
    out, _ = _run(case, args, kwargs, dtype=np.float32)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, FIX[f"{case}.out"], rtol=2e-5, atol=1e-4)


# ----- live PyTorch comparison on fresh inputs ----------------------------------------------
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_pytorch_live(case: str) -> None:
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF

    maker = _maker()
    fn, kind, kwargs, grads = maker.CASES[case]
    rng = np.random.default_rng(7)
    args = maker._inputs(kind, rng)
    ours_kw = {k: (np.array(v) if k in ARRAY_KWARGS else v) for k, v in kwargs.items()}
    out, ts = _run(case, args, ours_kw)
    names = ["input", "target"][:len(args)]
    targs = [torch.tensor(a, requires_grad=n in grads) for a, n in zip(args, names)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = getattr(TF, fn)(*targs, **{k: (torch.tensor(v) if isinstance(v, np.ndarray) else v)
                                         for k, v in ours_kw.items()})
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    up = rng.random(ref.shape) + 0.5
    (out * Tensor(up)).sum().backward()
    (ref * torch.tensor(up)).sum().backward()
    for n, t in zip(names, targs):
        if n in grads:
            np.testing.assert_allclose(ts[n].grad, t.grad.numpy(), rtol=1e-10, atol=1e-12)


# ----- finite differences (float64, away from kinks) ------------------------------------------
def _x(shape=(3, 4), seed=0, scale=2.0):
    return Tensor(np.random.default_rng(seed).standard_normal(shape) * scale,
                  requires_grad=True)


GRADCHECKS = {
    "logsigmoid": lambda x: F.logsigmoid(x),
    "softplus": lambda x: F.softplus(x, beta=1.5, threshold=2.0),
    "leaky_relu": lambda x: F.leaky_relu(x, 0.1),
    "elu": lambda x: F.elu(x, 0.7),
    "gelu": lambda x: F.gelu(x),
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": lambda x: F.silu(x),
    "bce_logits": lambda x: F.binary_cross_entropy_with_logits(
        x, np.linspace(0, 1, 12).reshape(3, 4), weight=np.array([1.0, 2, 3, 4]),
        pos_weight=np.array([0.5, 1, 2, 3])),
    "bce": lambda x: F.binary_cross_entropy(x.sigmoid(), np.linspace(0, 1, 12).reshape(3, 4)),
    "l1": lambda x: F.l1_loss(x, np.full((3, 4), 0.1234), reduction="sum"),
    "smooth_l1": lambda x: F.smooth_l1_loss(x, np.full((3, 4), 0.1234), beta=0.8),
    "huber": lambda x: F.huber_loss(x, np.full((3, 4), 0.1234), reduction="none", delta=1.3),
    "kl": lambda x: F.kl_div(F.log_softmax(x, -1), np.full((3, 4), 0.25), reduction="batchmean"),
    "kl_log_target": lambda x: F.kl_div(x, -np.ones((3, 4)), reduction="sum", log_target=True),
    "cross_entropy": lambda x: F.cross_entropy(x, [0, 3, 1], weight=np.array([1.0, 2, 0.5, 3]),
                                               label_smoothing=0.2, ignore_index=1),
    "nll_loss": lambda x: F.nll_loss(x, [2, 3, 1], weight=np.array([1.0, 2, 0.5, 3])),
    "normalize": lambda x: F.normalize(x),
    "normalize_p3_dim0": lambda x: F.normalize(x, p=3.0, dim=0),
    "layer_norm": lambda x: F.layer_norm(x, (4,), eps=1e-3),
    "layer_norm_all_dims": lambda x: F.layer_norm(x, [3, 4]),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKS))
def test_gradcheck_float64(name: str) -> None:
    assert tg.gradcheck(GRADCHECKS[name], [_x()])


def test_gradcheck_every_differentiable_argument_of_bce_with_logits() -> None:
    target = Tensor(np.random.default_rng(1).random((3, 4)), requires_grad=True)
    pos_weight = Tensor(np.array([0.5, 1.0, 2.0, 3.0]), requires_grad=True)
    assert tg.gradcheck(lambda x, y, pw: F.binary_cross_entropy_with_logits(
        x, y, pos_weight=pw), [_x(), target, pos_weight])


def test_gradcheck_targets_of_the_regression_losses() -> None:
    for fn in (F.l1_loss, F.smooth_l1_loss, F.huber_loss, F.mse_loss):
        assert tg.gradcheck(lambda x, y: fn(x, y), [_x(seed=1), _x(seed=2)])


# ----- extreme and non-finite values ---------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_is_exact_and_quiet_at_1e4(dtype) -> None:
    x = Tensor(np.array([1e4, -1e4, 1e4, -1e4, 0.0], dtype), requires_grad=True)
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.5])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        loss = F.binary_cross_entropy_with_logits(x, y, reduction="none",
                                                  pos_weight=np.array([3.0]))
        loss.sum().backward()
    np.testing.assert_allclose(loss.data, [1e4, 3e4, 0, 0, 2 * np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(x.grad, [1, -3, 0, 0, -0.5], atol=1e-7)  # (1-y) - lw s(-x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pos_weight", [None, 2.5])
def test_bce_with_logits_gradient_of_saturated_logits_is_not_cancelled(dtype, pos_weight) -> None:
    # d/dx = w s(x) - pw y (w = 1 + (pw - 1) y), as PyTorch computes it: tiny but exact where
    # the target is 0 and the logit very negative (the sum of two terms' gradients gave 0)
    x = np.array([-40.0, -20.0, -8.0, 0.5, 20.0], dtype)
    y = np.array([0.0, 0.0, 0.0, 1.0, 1.0], dtype)
    pw = 1.0 if pos_weight is None else pos_weight
    t = Tensor(x, requires_grad=True)
    F.binary_cross_entropy_with_logits(t, y, pos_weight=pos_weight, reduction="sum").backward()
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    expected = (1 + (pw - 1) * y64) / (1 + np.exp(-x64)) - pw * y64
    np.testing.assert_allclose(t.grad, expected, rtol=1e-6 if dtype == np.float32 else 1e-12,
                               atol=1e-7 if dtype == np.float32 else 0)
    assert t.grad[0] > 0 and t.grad[1] > 0  # 4e-18 and 2e-9, not 0


@pytest.mark.parametrize("fn", [F.logsigmoid, F.softplus, F.silu, F.elu, F.gelu])
def test_activations_are_finite_and_quiet_at_1e4(fn) -> None:
    x = Tensor(np.array([-1e4, -100.0, 0.0, 100.0, 1e4], np.float32), requires_grad=True)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        out = fn(x)
        out.sum().backward()
    assert np.isfinite(out.data).all() and np.isfinite(x.grad).all()


def test_nan_propagates_as_in_pytorch() -> None:
    nan = np.array([np.nan, 1.0])
    loss = F.binary_cross_entropy_with_logits(Tensor([0.5, 0.5]), nan, reduction="none")
    assert np.isnan(loss.data[0]) and not np.isnan(loss.data[1])
    assert np.isnan(F.softplus(Tensor([np.nan])).item())
    assert np.isnan(F.l1_loss(Tensor([np.nan, 1.0]), [0.0, 0.0]).item())
    with pytest.raises(ValueError, match="binary_cross_entropy: all elements of input should "
                                         "be between 0 and 1"):
        F.binary_cross_entropy(Tensor([np.nan]), [1.0])  # PyTorch raises too


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_elu_is_expm1_exact_for_tiny_inputs_and_its_gradient_is_pytorchs(dtype) -> None:
    x = np.array([-1e-30, -1e-12, -1e-6, -1e-3, -0.5, -1.0, -1.5, -30.0, -np.inf], dtype)
    t = Tensor(x, requires_grad=True)
    out = F.elu(t, alpha=1.5)
    out.sum().backward()
    want = 1.5 * np.expm1(x.astype(np.float64))  # PyTorch's elu uses expm1
    np.testing.assert_allclose(out.data, want, rtol=4 * np.finfo(dtype).eps, atol=0)
    np.testing.assert_allclose(t.grad, 1.5 * np.exp(x.astype(np.float64)),
                               rtol=4 * np.finfo(dtype).eps, atol=0)
    assert out.dtype == dtype
    # PyTorch: gradient alpha at 0 (the exp branch), 1 at NaN (the identity branch)
    t = Tensor(np.array([0.0, np.nan, 2.0], dtype), requires_grad=True)
    F.elu(t, alpha=1.5).sum().backward()
    np.testing.assert_array_equal(t.grad, [1.5, 1.0, 1.0])


def test_elu_matches_pytorch_live() -> None:
    torch = pytest.importorskip("torch")
    x = np.array([-1e-30, -1e-7, -1e-4, -0.3, -1.0, -4.0, 0.0, 1e-8, 3.0, np.nan, -np.inf])
    for dtype in (np.float32, np.float64):
        t, tt = Tensor(x.astype(dtype), requires_grad=True), torch.tensor(
            x.astype(dtype), requires_grad=True)
        out, tout = F.elu(t, 0.7), torch.nn.functional.elu(tt, 0.7)
        out.sum().backward(), tout.sum().backward()
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=2e-7, atol=0)
        np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=2e-7, atol=0)


def test_binary_cross_entropy_clamps_the_log_at_minus_100() -> None:
    p = Tensor(np.array([0.0, 1.0, 0.0, 1.0]), requires_grad=True)
    loss = F.binary_cross_entropy(p, [1.0, 0.0, 0.0, 1.0], reduction="none")
    np.testing.assert_array_equal(loss.data, [100, 100, 0, 0])
    loss.sum().backward()
    assert np.isfinite(p.grad).all()


def test_empty_inputs_give_pytorch_reductions() -> None:
    empty = Tensor(np.zeros(0))
    for fn in (F.l1_loss, F.smooth_l1_loss, F.huber_loss, F.binary_cross_entropy_with_logits,
               F.binary_cross_entropy):
        assert np.isnan(fn(empty, np.zeros(0)).item())
        assert fn(empty, np.zeros(0), reduction="sum").item() == 0
        assert fn(empty, np.zeros(0), reduction="none").shape == (0,)
    for shape in ((0,), (0, 3)):  # PyTorch: 0 / 0 = nan, not ZeroDivisionError
        assert np.isnan(F.kl_div(Tensor(np.zeros(shape)), np.zeros(shape),
                                 reduction="batchmean").item())


# ----- cross_entropy / nll_loss options: one implementation with the modules -----------------
LOGITS = np.random.default_rng(3).standard_normal((5, 4))
TARGET = np.array([0, 2, 3, 2, 1])
W = np.array([0.3, 1.0, 2.5, 0.7])


@pytest.mark.parametrize("kwargs", [
    {}, {"weight": W}, {"ignore_index": 2}, {"label_smoothing": 0.1, "reduction": "sum"},
    {"weight": W, "ignore_index": 2, "label_smoothing": 0.2, "reduction": "none"},
], ids=["plain", "weight", "ignore", "smooth-sum", "all-none"])
def test_cross_entropy_function_and_module_agree(kwargs) -> None:
    a, b = Tensor(LOGITS, requires_grad=True), Tensor(LOGITS, requires_grad=True)
    f = F.cross_entropy(a, TARGET, **kwargs)
    m = nn.CrossEntropyLoss(**kwargs)(b, TARGET)
    np.testing.assert_array_equal(f.data, m.data)
    f.sum().backward()
    m.sum().backward()
    np.testing.assert_array_equal(a.grad, b.grad)
    plain = {k: v for k, v in kwargs.items() if k != "label_smoothing"}
    logp = F.log_softmax(Tensor(LOGITS), -1)
    np.testing.assert_array_equal(F.nll_loss(logp, TARGET, **plain).data,
                                  nn.NLLLoss(**plain)(logp, TARGET).data)


def test_the_plain_cross_entropy_call_stays_one_fused_node() -> None:
    x = Tensor(LOGITS, requires_grad=True)
    assert F.cross_entropy(x, TARGET).op == "cross_entropy"
    assert F.cross_entropy(x, TARGET, reduction="sum").op == "cross_entropy"
    assert nn.CrossEntropyLoss()(x, TARGET).op == "cross_entropy"
    assert F.cross_entropy(x, TARGET, weight=W).op != "cross_entropy"  # the general path


def test_weighted_mean_divides_by_the_weights_of_the_rows_kept() -> None:
    logp = np.log(np.full((3, 2), 0.5))
    loss = F.nll_loss(Tensor(logp), [0, 1, 1], weight=[1.0, 3.0], ignore_index=0)
    assert loss.item() == pytest.approx(np.log(2))  # (3 + 3) log 2 / (3 + 3)
    nothing = F.cross_entropy(Tensor(logp, requires_grad=True), [0, 0, 0], weight=[1.0, 3.0],
                              ignore_index=0)
    assert np.isnan(nothing.item())


# ----- K-dimensional input (N, C, d1, ..., dk), as d2l's masked seq2seq loss passes it ------
SEQ_LOGITS = np.random.default_rng(5).standard_normal((3, 4, 5))  # (batch, classes, steps)
SEQ_TARGET = np.array([[0, 1, 2, 3, 0], [3, 3, 1, 0, 2], [2, 0, 0, 1, 3]])


def test_cross_entropy_of_k_dimensional_input_is_its_formula() -> None:
    x = Tensor(SEQ_LOGITS, requires_grad=True)
    loss = F.cross_entropy(x, SEQ_TARGET, reduction="none")
    logp = SEQ_LOGITS - np.log(np.exp(SEQ_LOGITS).sum(1, keepdims=True))
    n, d = np.indices(SEQ_TARGET.shape)
    assert loss.shape == (3, 5)
    np.testing.assert_allclose(loss.data, -logp[n, SEQ_TARGET, d], rtol=1e-12)
    nn.CrossEntropyLoss()(x, Tensor(SEQ_TARGET, dtype=np.int64)).backward()
    onehot = np.moveaxis(np.eye(4)[SEQ_TARGET], -1, 1)  # (3, 4, 5), the classes at dim 1
    np.testing.assert_allclose(x.grad, (np.exp(logp) - onehot) / 15, rtol=1e-10, atol=1e-15)
    assert tg.gradcheck(lambda x: F.cross_entropy(x, SEQ_TARGET, weight=W, ignore_index=2,
                                                  label_smoothing=0.1), [_x((3, 4, 5))])
    assert tg.gradcheck(lambda x: F.nll_loss(x, SEQ_TARGET[:, :2], reduction="none"),
                        [_x((3, 4, 2))])


@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 4, 3, 2)], ids=["N,C,d1", "N,C,d1,d2"])
@pytest.mark.parametrize("kwargs", [
    {}, {"reduction": "sum"}, {"reduction": "none"}, {"weight": W, "ignore_index": 2},
    {"weight": W, "ignore_index": 2, "label_smoothing": 0.2, "reduction": "none"},
], ids=["mean", "sum", "none", "weight-ignore", "all-none"])
def test_cross_entropy_of_k_dimensional_input_matches_pytorch_live(kwargs, shape) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    x, t = rng.standard_normal(shape), rng.integers(0, 4, shape[:1] + shape[2:])
    t_kw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    for ours_fn, their_fn, arg in ((F.cross_entropy, torch.nn.functional.cross_entropy, x),
                                   (F.nll_loss, torch.nn.functional.nll_loss, -np.abs(x))):
        if ours_fn is F.nll_loss and "label_smoothing" in kwargs:
            continue
        ours, theirs = Tensor(arg, requires_grad=True), torch.tensor(arg, requires_grad=True)
        out, ref = ours_fn(ours, t, **kwargs), their_fn(theirs, torch.tensor(t), **t_kw)
        np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, atol=1e-12)
        up = rng.random(ref.shape) + 0.5
        (out * Tensor(up)).sum().backward()
        (ref * torch.tensor(up)).sum().backward()
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_older_positional_reduction_and_legacy_size_average() -> None:
    x = Tensor(LOGITS)
    assert F.cross_entropy(x, TARGET, "sum").item() == F.cross_entropy(
        x, TARGET, reduction="sum").item()
    assert F.mse_loss(x, np.zeros((5, 4)), "none").shape == (5, 4)
    with pytest.raises(TypeError, match="cross_entropy: reduction given twice"):
        F.cross_entropy(x, TARGET, "sum", reduction="none")
    with pytest.warns(UserWarning, match="use reduction='sum' instead"):
        summed = F.cross_entropy(x, TARGET, size_average=False)
    assert summed.item() == pytest.approx(F.cross_entropy(x, TARGET, reduction="sum").item())
    with pytest.warns(UserWarning, match="reduction='none'"):
        assert nn.L1Loss(reduce=False)(x, np.zeros((5, 4))).shape == (5, 4)


# ----- modules -----------------------------------------------------------------------------
MODULES = [
    (nn.L1Loss(reduction="sum"), lambda a, b: F.l1_loss(a, b, reduction="sum")),
    (nn.SmoothL1Loss(beta=0.5), lambda a, b: F.smooth_l1_loss(a, b, beta=0.5)),
    (nn.HuberLoss(delta=2.0), lambda a, b: F.huber_loss(a, b, delta=2.0)),
    (nn.BCEWithLogitsLoss(pos_weight=np.array([2.0, 1.0, 0.5, 1.0])),
     lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=np.array([2.0, 1, .5, 1]))),
    (nn.BCELoss(weight=np.array([2.0, 1.0, 0.5, 1.0])),
     lambda a, b: F.binary_cross_entropy(a.sigmoid(), b, weight=np.array([2.0, 1, 0.5, 1]))),
    (nn.KLDivLoss(reduction="batchmean", log_target=True),
     lambda a, b: F.kl_div(a, b, reduction="batchmean", log_target=True)),
    (nn.MSELoss(), F.mse_loss),
]


@pytest.mark.parametrize("module, fn", MODULES, ids=[type(m).__name__ for m, _ in MODULES])
def test_loss_modules_call_their_function(module, fn) -> None:
    a = Tensor(LOGITS)
    b = np.random.default_rng(4).random((5, 4))
    first = module(a.sigmoid() if isinstance(module, nn.BCELoss) else a, b)
    np.testing.assert_array_equal(first.data, fn(a, b).data)


def test_loss_module_errors_name_the_module() -> None:
    with pytest.raises(ValueError, match=r"BCEWithLogitsLoss: shapes \(5, 4\) and \(5,\) differ"):
        nn.BCEWithLogitsLoss()(Tensor(LOGITS), np.zeros(5))
    with pytest.raises(ValueError, match="CrossEntropyLoss: weight must hold one value per "
                                         r"class, shape \(4,\), got shape \(3,\)"):
        nn.CrossEntropyLoss(weight=[1.0, 2.0, 3.0])(Tensor(LOGITS), TARGET)
    with pytest.raises(ValueError, match="HuberLoss: delta must be in"):
        nn.HuberLoss(delta=0.0)


def test_loss_weights_are_buffers_as_in_pytorch() -> None:
    ce = nn.CrossEntropyLoss(weight=W)
    assert list(ce.state_dict()) == ["weight"] and not list(ce.parameters())
    assert list(nn.BCEWithLogitsLoss(pos_weight=np.ones(4)).state_dict()) == ["pos_weight"]
    assert nn.NLLLoss().state_dict() == {}


@pytest.mark.parametrize("module, fn", [
    (nn.LogSigmoid(), F.logsigmoid), (nn.Softplus(2.0, 5.0), lambda x: F.softplus(x, 2.0, 5.0)),
    (nn.LeakyReLU(0.2, inplace=True), lambda x: F.leaky_relu(x, 0.2)),
    (nn.ELU(0.5), lambda x: F.elu(x, 0.5)), (nn.GELU("tanh"), lambda x: F.gelu(x, "tanh")),
    (nn.SiLU(), F.silu), (nn.ReLU(inplace=True), F.relu),
], ids=["LogSigmoid", "Softplus", "LeakyReLU", "ELU", "GELU", "SiLU", "ReLU"])
def test_activation_modules_match_their_function(module, fn) -> None:
    x = Tensor(LOGITS)
    np.testing.assert_array_equal(module(x).data, fn(x).data)
    np.testing.assert_array_equal(x.data, LOGITS)  # inplace=True: computed out of place


def test_activation_module_reprs() -> None:
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.GELU(approximate="tanh")) == "GELU(approximate='tanh')"
    assert repr(nn.Softplus()) == "Softplus(beta=1.0, threshold=20.0)"


# ----- normalize and layer_norm ------------------------------------------------------------
def test_layer_norm_gradients_of_weight_and_bias() -> None:
    w = Tensor(np.array([0.5, -1.0, 2.0, 1.5]), requires_grad=True)
    b = Tensor(np.array([0.1, 0.2, -0.3, 0.0]), requires_grad=True)
    assert tg.gradcheck(lambda x, w, b: F.layer_norm(x, [4], w, b), [_x(), w, b])


def test_layer_norm_weight_and_bias_gradients_match_pytorch_live() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    x, w, b, up = (rng.standard_normal(s) for s in ((2, 3, 4), (3, 4), (3, 4), (2, 3, 4)))
    ours = [Tensor(a, requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    y = F.layer_norm(ours[0], (3, 4), ours[1], ours[2], eps=1e-4)
    ref = torch.nn.functional.layer_norm(theirs[0], (3, 4), theirs[1], theirs[2], eps=1e-4)
    np.testing.assert_allclose(y.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    (y * Tensor(up)).sum().backward()
    (ref * torch.tensor(up)).sum().backward()
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad, t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_layer_norm_module_and_function_agree() -> None:
    m = nn.LayerNorm([3, 4], dtype=np.float64)
    m.weight.data[:] = np.arange(12.0).reshape(3, 4)
    x = np.random.default_rng(2).standard_normal((2, 3, 4))
    np.testing.assert_array_equal(m(x).data, F.layer_norm(Tensor(x), (3, 4), m.weight, m.bias,
                                                          m.eps).data)


def test_normalize_keeps_a_zero_vector_zero_and_float32() -> None:
    x = Tensor(np.array([[3.0, 4.0], [0.0, 0.0]], np.float32))
    y = F.normalize(x, dim=1)
    assert y.dtype == np.float32 and y.tolist() == [[0.6000000238418579, 0.800000011920929],
                                                   [0.0, 0.0]]


# ----- bad arguments -----------------------------------------------------------------------
@pytest.mark.parametrize("call, error, message", [
    (lambda: F.binary_cross_entropy_with_logits(Tensor(np.zeros(2)), np.zeros(1)), ValueError,
     r"binary_cross_entropy_with_logits: shapes \(2,\) and \(1,\) differ"),
    (lambda: F.binary_cross_entropy_with_logits(Tensor(np.zeros((2, 3))), np.zeros((2, 3)),
                                                pos_weight=np.ones(2)), ValueError,
     r"pos_weight of shape \(2,\) does not broadcast to input of shape \(2, 3\)"),
    (lambda: F.binary_cross_entropy(Tensor([1.5]), [1.0]), ValueError,
     "binary_cross_entropy: all elements of input should be between 0 and 1"),
    (lambda: F.binary_cross_entropy(Tensor([0.5]), [2.0]), ValueError,
     "binary_cross_entropy: all elements of target should be between 0 and 1"),
    (lambda: F.l1_loss(Tensor([1.0]), [1.0], reduction="avg"), ValueError,
     "l1_loss: reduction must be one of"),
    (lambda: F.kl_div(Tensor([1.0]), [1.0], reduction="avg"), ValueError,
     r"kl_div: reduction must be one of \('mean', 'sum', 'none', 'batchmean'\)"),
    (lambda: F.l1_loss(Tensor([1.0]), [1.0], reduction="batchmean"), ValueError,
     "l1_loss: reduction must be one of"),
    (lambda: F.smooth_l1_loss(Tensor([1.0]), [1.0], beta=-1), ValueError,
     r"smooth_l1_loss: beta must be in \[0, inf\)"),
    (lambda: F.huber_loss(Tensor([1.0]), [1.0], delta=0), ValueError,
     r"huber_loss: delta must be in \(0, inf\)"),
    (lambda: F.softplus(Tensor([1.0]), beta=0), ValueError, "softplus: beta must be nonzero"),
    (lambda: F.softplus(Tensor([1]).long()), TypeError,
     "softplus: input must be floating point, got dtype int64"),
    (lambda: F.gelu(Tensor([1.0]), approximate="fast"), ValueError,
     "gelu: approximate must be 'none' or 'tanh'"),
    (lambda: F.leaky_relu(Tensor([1.0]), negative_slope="a"), TypeError,
     "leaky_relu: negative_slope must be a number"),
    (lambda: F.relu(Tensor([1.0]), inplace="yes"), TypeError,
     "relu: inplace must be True or False"),
    (lambda: F.cross_entropy(Tensor(LOGITS), TARGET, label_smoothing=2.0), ValueError,
     r"cross_entropy: label_smoothing must be in \[0, 1\]"),
    (lambda: F.cross_entropy(Tensor(LOGITS), TARGET, ignore_index=1.5), TypeError,
     "cross_entropy: ignore_index must be an integer"),
    (lambda: F.nll_loss(Tensor(LOGITS), TARGET, weight=np.ones((4, 1))), ValueError,
     r"nll_loss: weight must hold one value per class, shape \(4,\), got shape \(4, 1\)"),
    (lambda: F.cross_entropy(Tensor(LOGITS), TARGET, weight=["a"] * 4), TypeError,
     "cross_entropy: weight must hold real numbers"),
    (lambda: F.kl_div(Tensor([1.0]), [1.0], log_target="no"), TypeError,
     "kl_div: log_target must be True or False"),
    (lambda: nn.KLDivLoss(reduction="avg"), ValueError, "KLDivLoss: reduction must be one of"),
    (lambda: nn.Softplus(beta=0), ValueError, "Softplus: beta must be nonzero"),
    (lambda: nn.GELU("fast"), ValueError, "GELU: approximate must be"),
    (lambda: nn.BCELoss(weight=["a"]), TypeError, "BCELoss: weight must hold real numbers"),
    (lambda: F.normalize(Tensor([1, 2]).long(), dim=0), TypeError,
     "normalize: input must be floating point, got dtype int64"),
    (lambda: F.normalize(Tensor([1.0, 2.0])), IndexError, "normalize: dim 1 is out of range"),
    (lambda: F.normalize(Tensor([1.0]), dim=0, eps=-1.0), ValueError,
     r"normalize: eps must be in \[0, inf\)"),
    (lambda: F.normalize(Tensor([1.0]), p="2", dim=0), TypeError, "normalize: p must be a number"),
    (lambda: F.layer_norm(Tensor(np.ones((2, 3))), (2,)), ValueError,
     r"layer_norm: input of shape \(2, 3\) does not end with normalized_shape \(2,\)"),
    (lambda: F.layer_norm(Tensor(np.ones((2, 3))), "3"), TypeError,
     "layer_norm: normalized_shape must be an int or a list/tuple of ints"),
    (lambda: F.layer_norm(Tensor(np.ones((2, 3))), (3,), weight=np.ones(2)), ValueError,
     r"layer_norm: weight of shape \(2,\) does not match normalized_shape \(3,\)"),
    (lambda: F.layer_norm(Tensor([[1, 2]]).long(), (2,)), TypeError,
     "layer_norm: input must be floating point"),
    (lambda: F.layer_norm(Tensor(np.ones(3)), 3, eps=-1), ValueError, "layer_norm: eps must be"),
    (lambda: F.layer_norm(Tensor(np.ones(3)), []), ValueError,
     r"layer_norm: normalized_shape must hold at least one size, got \(\)"),
    (lambda: F.binary_cross_entropy_with_logits(Tensor([0.5]), tg.tensor([1])), TypeError,
     "binary_cross_entropy_with_logits: target must be floating point, got dtype int64"),
    (lambda: F.binary_cross_entropy(Tensor([0.5]), tg.tensor([True])), TypeError,
     "binary_cross_entropy: target must be floating point, got dtype bool"),
    (lambda: F.kl_div(Tensor([0.5]), Tensor([1]).long(), reduction="sum"), TypeError,
     "kl_div: target must be floating point, got dtype int64"),
    (lambda: nn.BCEWithLogitsLoss()(Tensor([0.5]), Tensor([1]).long()), TypeError,
     "BCEWithLogitsLoss: target must be floating point"),
    (lambda: nn.KLDivLoss(reduction="sum")(Tensor([0.5]), Tensor([1]).int()), TypeError,
     "KLDivLoss: target must be floating point, got dtype int32"),
])
def test_bad_arguments_are_clear(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()
