"""Gradient clipping: nn.utils.clip_grad_norm_ / clip_grad_value_ against PyTorch fixtures
(tests/fixtures/make_optim_fixtures.py), by hand, and live against PyTorch when installed."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tinygrad_rnn import nn

FIXTURES = np.load(Path(__file__).parent / "fixtures" / "clip.npz", allow_pickle=False)
CASES = json.loads(str(FIXTURES["cases"]), parse_constant=float)
N_GRADS = sum(1 for k in FIXTURES.files if k.startswith("float64.grad"))
TOL = {"float64": dict(rtol=1e-12, atol=1e-14), "float32": dict(rtol=1e-6, atol=1e-7)}


def _params(dtype: str) -> list[nn.Parameter]:
    """The fixture's gradients on fresh parameters, plus one parameter with no grad."""
    params = []
    for i in range(N_GRADS):
        g = FIXTURES[f"{dtype}.grad{i}"]
        p = nn.Parameter(np.zeros(g.shape, dtype=dtype))
        p.grad = g.copy()
        params.append(p)
    params.append(nn.Parameter(np.zeros(3, dtype=dtype)))
    return params


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_clip_grad_norm_matches_pytorch_fixture(case: str, dtype: str) -> None:
    max_norm, norm_type = CASES[case]
    params = _params(dtype)
    total = nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    assert isinstance(total, float)
    np.testing.assert_allclose(total, FIXTURES[f"{dtype}.{case}.total"], **TOL[dtype])
    for i, p in enumerate(params[:-1]):
        assert p.grad.dtype == np.dtype(dtype)
        np.testing.assert_allclose(p.grad, FIXTURES[f"{dtype}.{case}.clipped{i}"], **TOL[dtype])
    assert params[-1].grad is None


def test_fixture_covers_clipping_and_not_clipping() -> None:
    """Both branches occur: some cases shrink the grads, one leaves them as they were."""
    shrunk = [c for c in CASES
              if not np.allclose(FIXTURES[f"float64.{c}.clipped0"], FIXTURES["float64.grad0"])]
    assert "l2_no_clip" not in shrunk and len(shrunk) == len(CASES) - 1
    assert math.isinf(CASES["inf_clips"][1])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_clip_grad_value_matches_pytorch_fixture(dtype: str) -> None:
    params = _params(dtype)
    nn.utils.clip_grad_value_(params, float(FIXTURES["clip_value"]))
    for i, p in enumerate(params[:-1]):
        assert p.grad.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(p.grad, FIXTURES[f"{dtype}.value_clipped{i}"])
    assert params[-1].grad is None


def test_clip_grad_norm_by_hand() -> None:
    """Grads (3, 4) and (0,) have global 2-norm 5; max_norm 1 scales them by 1/(5 + 1e-6)."""
    a, b = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(1))
    a.grad, b.grad = np.array([3.0, 4.0]), np.array([0.0])
    total = nn.utils.clip_grad_norm_([a, b], 1.0)
    assert total == 5.0
    np.testing.assert_allclose(a.grad, [3.0 / (5 + 1e-6), 4.0 / (5 + 1e-6)], rtol=1e-15)
    # a single Tensor is accepted; a small grad is left alone
    c = nn.Parameter(np.zeros(1))
    c.grad = np.array([0.5])
    assert nn.utils.clip_grad_norm_(c, 1.0) == 0.5
    np.testing.assert_array_equal(c.grad, [0.5])


def test_no_grads_gives_zero() -> None:
    assert nn.utils.clip_grad_norm_([nn.Parameter(np.zeros(2))], 1.0) == 0.0


def test_nonfinite_total() -> None:
    p = nn.Parameter(np.zeros(2))
    p.grad = np.array([np.nan, 1.0])
    with pytest.raises(RuntimeError, match="nan"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert p.grad[1] == 1.0  # unchanged by the failed call
    total = nn.utils.clip_grad_norm_([p], 1.0)  # PyTorch's default: clip anyway, grads go NaN
    assert math.isnan(total) and np.all(np.isnan(p.grad))


@pytest.mark.parametrize("nan_first", [True, False])
@pytest.mark.parametrize("norm_type", [float("inf"), 2.0, 1.0])
def test_nan_in_any_parameter_gives_nan_total(norm_type: float, nan_first: bool) -> None:
    """A NaN in any gradient makes the total NaN, whatever the order (Python's max would not)."""
    def params() -> list[nn.Parameter]:
        grads = [np.array([4.0, -1.0]), np.array([np.nan, 1.0])]
        ps = [nn.Parameter(np.zeros(2)) for _ in grads]
        for p, g in zip(ps, grads[::-1] if nan_first else grads):
            p.grad = g
        return ps
    ps = params()
    with pytest.raises(RuntimeError, match="nan"):
        nn.utils.clip_grad_norm_(ps, 1.0, norm_type=norm_type, error_if_nonfinite=True)
    assert ps[0 if nan_first else 1].grad[1] == 1.0  # unchanged by the failed call
    ps = params()
    total = nn.utils.clip_grad_norm_(ps, 1.0, norm_type=norm_type)  # as PyTorch: NaN, grads NaN
    assert math.isnan(total) and all(np.all(np.isnan(p.grad)) for p in ps)


def test_bad_arguments() -> None:
    p = nn.Parameter(np.zeros(2))
    p.grad = np.ones(2)
    with pytest.raises(ValueError, match="norm_type"):
        nn.utils.clip_grad_norm_([p], 1.0, norm_type=-1)
    with pytest.raises(ValueError, match="clip_value"):
        nn.utils.clip_grad_value_([p], -0.5)
    with pytest.raises(TypeError, match="not a Tensor"):
        nn.utils.clip_grad_norm_([np.ones(2)], 1.0)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), 4.0])
def test_live_pytorch(norm_type: float) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    grads = [rng.normal(size=(4, 5)), rng.normal(size=(7,))]
    ours = [nn.Parameter(np.zeros(g.shape)) for g in grads]
    theirs = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads]
    for p, tp, g in zip(ours, theirs, grads):
        p.grad, tp.grad = g.copy(), torch.tensor(g)
    total = nn.utils.clip_grad_norm_(ours, 0.7, norm_type=norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(theirs, 0.7, norm_type=norm_type)
    np.testing.assert_allclose(total, t_total.item(), rtol=1e-12)
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_returns_a_float_that_answers_item() -> None:
    p = nn.Parameter(np.array([3.0, 4.0]))
    p.grad = np.array([3.0, 4.0])
    total = nn.utils.clip_grad_norm_([p], max_norm=1.0)
    assert isinstance(total, float) and total == 5.0
    assert total.item() == 5.0 and type(total.item()) is float  # PyTorch code: `.item()`
    assert nn.utils.clip_grad_norm_([], 1.0).item() == 0.0


def test_deprecated_clip_grad_norm_warns_and_clips_as_pytorch() -> None:
    """Older programs call `nn.utils.clip_grad_norm(model.parameters(), 5)` (no underscore):
    PyTorch 2 still has it, with a FutureWarning; the result matches PyTorch's."""
    torch = pytest.importorskip("torch")
    g = np.random.default_rng(6).normal(size=(3, 4))
    p, tp = nn.Parameter(np.zeros(g.shape)), torch.nn.Parameter(torch.zeros(3, 4).double())
    p.grad, tp.grad = g.copy(), torch.tensor(g)
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        total = nn.utils.clip_grad_norm(iter([p]), 0.5)
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        t_total = torch.nn.utils.clip_grad_norm(iter([tp]), 0.5)
    np.testing.assert_allclose(total, t_total.item(), rtol=1e-12)
    np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-12)
    p.grad, tp.grad = g.copy(), torch.tensor(g)  # PyTorch's keywords: parameters=, foreach=
    with pytest.warns(FutureWarning):
        total = nn.utils.clip_grad_norm(parameters=[p], max_norm=0.5, foreach=None)
    with pytest.warns(FutureWarning):
        t_total = torch.nn.utils.clip_grad_norm(parameters=[tp], max_norm=0.5, foreach=None)
    np.testing.assert_allclose(total, t_total.item(), rtol=1e-12)
    np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-12)
