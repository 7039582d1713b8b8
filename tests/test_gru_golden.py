"""The GRU with PyTorch's candidate (reset_after=True, the default) against PyTorch.

Expected values were computed by PyTorch (tests/fixtures/make_gru_fixtures.py, stored in
gru_golden.npz) and PyTorch's weights are loaded with `nn.load_torch_weights`: the r and z rows
of bias_ih + bias_hh fold into the one bias, the n rows of bias_ih are b_n and those of bias_hh
are `.b_hn`. So our gradients map back to PyTorch's: the r and z rows of b.grad equal both
biases' gradients there, the n rows equal bias_ih's, and b_hn.grad equals bias_hh's n rows.
Tolerance: relative to the largest element of each expected array, 1e-10 in float64 and 1e-5
in float32. Both formulas are also checked against finite differences in float64.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn

FIXTURES = np.load(Path(__file__).parent / "fixtures" / "gru_golden.npz")
RTOL = {"float64": 1e-10, "float32": 1e-5}


def inputs(case: str) -> dict[str, np.ndarray]:
    prefix = f"{case}__in__"
    return {k[len(prefix):]: FIXTURES[k] for k in FIXTURES.files if k.startswith(prefix)}


def assert_close(actual: np.ndarray, case: str, dtype: str, name: str) -> None:
    want = FIXTURES[f"{case}__{dtype}__{name}"]
    assert actual.shape == want.shape, f"{name}: shape {actual.shape}, PyTorch {want.shape}"
    scale = max(float(np.abs(want).max()), 1e-30)
    err = float(np.abs(actual.astype(np.float64) - want).max()) / scale
    assert err <= RTOL[dtype], f"{name}: relative error {err:.3g} > {RTOL[dtype]} ({dtype})"


def check_param_grads(cells: list, case: str, dtype: str, suffixes: list[str]) -> None:
    """Every parameter gradient, in PyTorch's names (see the module docstring)."""
    for cell, sfx in zip(cells, suffixes):
        n_in, H = cell.input_size, cell.hidden_size
        gW = cell.linear.weight.grad
        assert_close(gW[:, :n_in], case, dtype, f"grad_weight_ih{sfx}")
        assert_close(gW[:, n_in:], case, dtype, f"grad_weight_hh{sfx}")
        if not cell.bias:
            continue
        gb = cell.linear.bias.grad
        assert_close(gb, case, dtype, f"grad_bias_ih{sfx}")
        assert_close(np.concatenate([gb[:2 * H], cell.b_hn.grad]), case, dtype,
                     f"grad_bias_hh{sfx}")


def load(module: nn.Module, d: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PyTorch's GRU loads exactly: no warning
        nn.load_torch_weights(module, {k: v for k, v in d.items()
                                       if k.startswith(("weight", "bias"))})


def leaf(d: dict, name: str, dtype: str) -> Tensor:
    return Tensor(d[name].astype(dtype), requires_grad=True)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", ["gru_cell", "gru_cell_nobias"])
def test_gru_cell_matches_pytorch(case: str, dtype: str) -> None:
    d = inputs(case)
    cell = nn.GRUCell(3, 4, bias=case == "gru_cell", dtype=dtype)
    load(cell, d)
    x, h0 = leaf(d, "x", dtype), leaf(d, "h0", dtype)
    h = cell(x, h0)
    (h * d["w_h"].astype(dtype)).sum().backward()
    assert h.dtype == np.dtype(dtype)
    assert_close(h.data, case, dtype, "h")
    assert_close(x.grad, case, dtype, "grad_x")
    assert_close(h0.grad, case, dtype, "grad_h0")
    check_param_grads([cell], case, dtype, [""])


@pytest.mark.parametrize("fused", [False, True], ids=["unrolled", "fused"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_two_layer_gru_matches_pytorch(dtype: str, fused: bool) -> None:
    case = "gru2"
    d = inputs(case)
    m = nn.GRU(3, 4, num_layers=2, dtype=dtype, fused=fused)
    load(m, d)
    x, h0 = leaf(d, "x", dtype), leaf(d, "h0", dtype)
    output, h_n = m(x, h0)
    # one node per layer (output is its reshape, apart from h_n), or the per-op graph
    assert (output.parents[0].op == "gru_layer") == fused
    ((output * d["w_output"].astype(dtype)).sum() + (h_n * d["w_h_n"].astype(dtype)).sum()
     ).backward()
    assert_close(output.data, case, dtype, "output")
    assert_close(h_n.data, case, dtype, "h_n")
    assert_close(x.grad, case, dtype, "grad_x")
    assert_close(h0.grad, case, dtype, "grad_h0")
    check_param_grads(m.cells, case, dtype, ["_l0", "_l1"])


@pytest.mark.parametrize("reset_after", [True, False], ids=["reset_after", "cho"])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
def test_gru_cell_gradchecks_both_formulas(rng, reset_after: bool, batched: bool) -> None:
    cell = nn.GRUCell(3, 4, reset_after=reset_after, dtype=np.float64)
    names = [name for name, _ in cell.named_parameters()]
    lead = (2,) if batched else ()

    def step(x, h, *params):
        for name, value in zip(names, params):
            *path, attr = name.split(".")
            setattr(cell.linear if path else cell, attr, value)
        return cell(x, h)

    x = Tensor(rng.standard_normal(lead + (3,)), requires_grad=True)
    h = Tensor(rng.standard_normal(lead + (4,)) * 0.5, requires_grad=True)
    params = [Tensor(p.data.copy(), requires_grad=True) for p in cell.parameters()]
    assert tg.gradcheck(step, [x, h, *params])


@pytest.mark.parametrize("reset_after", [True, False], ids=["reset_after", "cho"])
def test_two_layer_gru_gradchecks_both_formulas(rng, reset_after: bool) -> None:
    m = nn.GRU(2, 3, num_layers=2, reset_after=reset_after, dtype=np.float64)
    x = Tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)
    h0 = Tensor(rng.standard_normal((2, 2, 3)) * 0.5, requires_grad=True)
    names = [name for name, _ in m.named_parameters()]
    params = [Tensor(p.data.copy(), requires_grad=True) for p in m.parameters()]
    for fused in (True, False):
        def run(x, h0, *values):  # the copies gradcheck perturbs become the layer's parameters
            for name, value in zip(names, values):
                *path, attr = name.split(".")
                owner = m
                for part in path:
                    owner = owner[int(part)] if part.isdigit() else getattr(owner, part)
                setattr(owner, attr, value)
            return m(x, h0, fused=fused)[0]
        assert tg.gradcheck(run, [x, h0, *params])


def test_live_pytorch_gru_loads_exactly_and_cho_gru_differs() -> None:
    """With torch installed: PyTorch's GRU weights give PyTorch's outputs here (no warning);
    reset_after=False loads them with a warning and computes something else."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    ref = torch.nn.GRU(3, 5, num_layers=2, batch_first=True).double()
    weights = {k: v.detach().numpy() for k, v in ref.state_dict().items()}
    x = np.random.default_rng(0).standard_normal((2, 6, 3))
    want_out, want_h = (t.detach().numpy() for t in ref(torch.tensor(x)))
    m = nn.GRU(3, 5, num_layers=2, batch_first=True, dtype="float64")
    load(m, weights)
    for fused in (True, False):
        out, h_n = m(Tensor(x), fused=fused)
        np.testing.assert_allclose(out.data, want_out, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(h_n.data, want_h, rtol=1e-12, atol=1e-12)
    back = nn.export_torch_weights(m)
    result = ref.__class__(3, 5, num_layers=2, batch_first=True).double()
    result.load_state_dict({k: torch.tensor(v) for k, v in back.items()})
    np.testing.assert_allclose(result(torch.tensor(x))[0].detach().numpy(), want_out,
                               rtol=1e-12, atol=1e-12)  # exported weights run in PyTorch too
    cho = nn.GRU(3, 5, num_layers=2, batch_first=True, reset_after=False, dtype="float64")
    with pytest.warns(UserWarning, match="candidate"):
        nn.load_torch_weights(cho, weights)
    assert not np.allclose(cho(Tensor(x))[0].data, want_out, atol=1e-6)
