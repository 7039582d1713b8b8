"""Recurrent modules against PyTorch: forward outputs and every gradient.

The expected values were computed by PyTorch (tests/fixtures/make_nn_fixtures.py, stored in
nn_golden.npz); PyTorch's weights are loaded here with `nn.load_torch_weights`, which folds
bias_ih + bias_hh into one bias. PyTorch's loss uses both biases as a sum, so the gradient of our
single bias must equal PyTorch's gradient of either bias. Tolerance: relative to the largest
element of each expected array, 1e-10 in float64 and 1e-5 in float32.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinygrad_rnn import Tensor, nn

FIXTURES = np.load(Path(__file__).parent / "fixtures" / "nn_golden.npz")
RTOL = {"float64": 1e-10, "float32": 1e-5}


def inputs(case: str) -> dict[str, np.ndarray]:
    prefix = f"{case}__in__"
    return {k[len(prefix):]: FIXTURES[k] for k in FIXTURES.files if k.startswith(prefix)}


def expected(case: str, dtype: str, name: str) -> np.ndarray:
    return FIXTURES[f"{case}__{dtype}__{name}"]


def assert_close(actual: np.ndarray, want: np.ndarray, dtype: str, what: str) -> None:
    assert actual.shape == want.shape, f"{what}: shape {actual.shape}, PyTorch {want.shape}"
    scale = max(float(np.abs(want).max()), 1e-30)
    err = float(np.abs(actual.astype(np.float64) - want).max()) / scale
    assert err <= RTOL[dtype], f"{what}: relative error {err:.3g} > {RTOL[dtype]} ({dtype})"


def check_params(cells: list, d: dict, case: str, dtype: str, suffixes: list[str]) -> None:
    """Our W.grad split into the ih / hh blocks, and b.grad against both PyTorch biases."""
    for cell, sfx in zip(cells, suffixes):
        n_in = cell.input_size
        gW, gb = cell.linear.weight.grad, cell.linear.bias.grad
        assert_close(gW[:, :n_in], expected(case, dtype, f"grad_weight_ih{sfx}"), dtype,
                     f"grad weight_ih{sfx}")
        assert_close(gW[:, n_in:], expected(case, dtype, f"grad_weight_hh{sfx}"), dtype,
                     f"grad weight_hh{sfx}")
        for which in ("ih", "hh"):
            assert_close(gb, expected(case, dtype, f"grad_bias_{which}{sfx}"), dtype,
                         f"grad bias vs bias_{which}{sfx}")


def leaf(d: dict, name: str, dtype: str) -> Tensor:
    return Tensor(d[name].astype(dtype), requires_grad=True)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case,nonlinearity", [("rnn_cell", "tanh"), ("rnn_cell_relu", "relu")])
def test_rnn_cell_matches_pytorch(case: str, nonlinearity: str, dtype: str) -> None:
    d = inputs(case)
    cell = nn.RNNCell(3, 4, nonlinearity=nonlinearity, dtype=dtype)
    nn.load_torch_weights(cell, {k: d[k] for k in ("weight_ih", "weight_hh", "bias_ih",
                                                   "bias_hh")})
    x, h0 = leaf(d, "x", dtype), leaf(d, "h0", dtype)
    h = cell(x, h0)
    (h * d["w_h"].astype(dtype)).sum().backward()
    assert h.dtype == np.dtype(dtype)
    assert_close(h.data, expected(case, dtype, "h"), dtype, "h'")
    assert_close(x.grad, expected(case, dtype, "grad_x"), dtype, "grad x")
    assert_close(h0.grad, expected(case, dtype, "grad_h0"), dtype, "grad h0")
    check_params([cell], d, case, dtype, [""])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lstm_cell_matches_pytorch(dtype: str) -> None:
    case = "lstm_cell"
    d = inputs(case)
    cell = nn.LSTMCell(3, 4, dtype=dtype)
    nn.load_torch_weights(cell, {k: d[k] for k in ("weight_ih", "weight_hh", "bias_ih",
                                                   "bias_hh")})
    x, h0, c0 = leaf(d, "x", dtype), leaf(d, "h0", dtype), leaf(d, "c0", dtype)
    h, c = cell(x, (h0, c0))
    ((h * d["w_h"].astype(dtype)).sum() + (c * d["w_c"].astype(dtype)).sum()).backward()
    assert_close(h.data, expected(case, dtype, "h"), dtype, "h'")
    assert_close(c.data, expected(case, dtype, "c"), dtype, "c'")
    for name, t in (("x", x), ("h0", h0), ("c0", c0)):
        assert_close(t.grad, expected(case, dtype, f"grad_{name}"), dtype, f"grad {name}")
    check_params([cell], d, case, dtype, [""])


def torch_weights(d: dict, layers: int) -> dict[str, np.ndarray]:
    return {f"{kind}_{m}_l{k}": d[f"{kind}_{m}_l{k}"] for k in range(layers)
            for kind in ("weight", "bias") for m in ("ih", "hh")}


@pytest.mark.parametrize("fused", [False, True], ids=["unrolled", "fused"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", ["rnn2", "lstm2"])
def test_two_layer_sequence_module_matches_pytorch(case: str, dtype: str, fused: bool) -> None:
    d = inputs(case)
    lstm = case == "lstm2"
    m = (nn.LSTM if lstm else nn.RNN)(3, 4, num_layers=2, dtype=dtype, fused=fused)
    nn.load_torch_weights(m, torch_weights(d, 2))
    starts = {name: leaf(d, name, dtype) for name in (("h0", "c0") if lstm else ("h0",))}
    x = leaf(d, "x", dtype)
    output, state = m(x, (starts["h0"], starts["c0"]) if lstm else starts["h0"])
    results = {"output": output, **({"h_n": state[0], "c_n": state[1]} if lstm
                                    else {"h_n": state})}
    sum((t * d[f"w_{name}"].astype(dtype)).sum() for name, t in results.items()).backward()
    for name, t in results.items():
        assert_close(t.data, expected(case, dtype, name), dtype, name)
    for name, t in {"x": x, **starts}.items():
        assert_close(t.grad, expected(case, dtype, f"grad_{name}"), dtype, f"grad {name}")
    check_params(m.cells, d, case, dtype, ["_l0", "_l1"])


def test_batch_first_gives_the_transposed_result() -> None:
    case = "rnn2"
    d = inputs(case)
    rnn = nn.RNN(3, 4, num_layers=2, batch_first=True, dtype="float64")
    nn.load_torch_weights(rnn, torch_weights(d, 2))
    output, h_n = rnn(Tensor(d["x"].transpose(1, 0, 2)), Tensor(d["h0"]))
    assert_close(output.data.transpose(1, 0, 2), expected(case, "float64", "output"), "float64",
                 "batch_first output")
    assert_close(h_n.data, expected(case, "float64", "h_n"), "float64", "batch_first h_n")
