"""PyTorch-named layers, containers, losses, nn.init, optimizers with parameter groups and
learning-rate schedules: golden values computed by PyTorch
(tests/fixtures/make_torchnn_fixtures.py -> torchnn.npz), plus the behaviour PyTorch code relies
on (parameters() as an iterator, apply order, dtype casting at module boundaries)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn, optim
from tinygrad_rnn.optim import lr_scheduler

FIX = np.load(Path(__file__).parent / "fixtures" / "torchnn.npz", allow_pickle=False)
TOL = {"float64": dict(rtol=1e-12, atol=1e-13), "float32": dict(rtol=1e-6, atol=1e-6)}


# ----- optimizers -----------------------------------------------------------------------------
OPTIM_CASES = json.loads(str(FIX["optim_cases"]))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", sorted(OPTIM_CASES))
def test_optimizer_matches_pytorch(case: str, dtype: str) -> None:
    kind, groups, kwargs = OPTIM_CASES[case]
    params = [nn.Parameter(FIX[f"optim.{case}.{dtype}.init{i}"].copy()) for i in range(2)]
    if groups is None:
        opt = getattr(optim, kind)(params, **kwargs)
    else:
        opt = getattr(optim, kind)([{"params": [p], **g} for p, g in zip(params, groups)],
                                   **kwargs)
    for step in range(FIX[f"optim.{case}.{dtype}.grads0"].shape[0]):
        for i, p in enumerate(params):
            p.grad = FIX[f"optim.{case}.{dtype}.grads{i}"][step].copy()
        opt.step()
        for i, p in enumerate(params):
            assert p.dtype == np.dtype(dtype)
            np.testing.assert_allclose(p.data, FIX[f"optim.{case}.{dtype}.after{i}"][step],
                                       **TOL[dtype], err_msg=f"{case} step {step} param {i}")


def test_param_groups_are_pytorch_shaped_and_editable() -> None:
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.0)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["params"] == [b]
    opt.param_groups[0]["lr"] = 1.0  # what a schedule (or a hand-written decay) does
    a.grad, b.grad = np.ones(2), np.ones(3)
    opt.step()
    np.testing.assert_allclose(a.data, [0.0, 0.0])
    np.testing.assert_allclose(b.data, [0.5, 0.5, 0.5])
    c = nn.Parameter(np.ones(1))
    opt.add_param_group({"params": [c], "lr": 2.0})
    c.grad = np.ones(1)
    opt.step()
    np.testing.assert_allclose(c.data, [-1.0])
    with pytest.raises(ValueError, match="twice"):
        opt.add_param_group({"params": [a]})
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1], [2]]


def test_optimizer_accepts_a_frozen_parameter_and_skips_it() -> None:
    emb = nn.Embedding.from_pretrained(np.eye(3), freeze=True)
    lin = nn.Linear(3, 2)
    model = nn.Sequential(emb, lin)
    opt = optim.Adam(model.parameters(), lr=0.1)
    before = emb.weight.data.copy()
    model(np.array([0, 2])).sum().backward()
    assert emb.weight.grad is None
    opt.step()
    np.testing.assert_array_equal(emb.weight.data, before)


def test_optimizer_load_state_dict_validates_before_assigning() -> None:
    """issue 13 item 9: a negative step or a string buffer is refused, and nothing changes."""
    p = nn.Parameter(np.zeros(2))
    opt = optim.Adam([p], lr=0.1)
    p.grad = np.ones(2)
    opt.step()
    before = opt.state_dict()
    bad_step = {"type": "Adam", "param_groups": [{"lr": 0.7, "params": [0]}],
                "state": {0: {"step": -3, "exp_avg": np.zeros(2), "exp_avg_sq": np.zeros(2)}}}
    with pytest.raises(ValueError, match="step must be a whole number >= 0"):
        opt.load_state_dict(bad_step)
    bad_dtype = {"type": "Adam", "param_groups": [{"lr": 0.7, "params": [0]}],
                 "state": {0: {"step": 3, "exp_avg": np.array(["a", "b"]),
                               "exp_avg_sq": np.zeros(2)}}}
    with pytest.raises(ValueError, match="real numbers"):
        opt.load_state_dict(bad_dtype)
    with pytest.raises(ValueError, match="2 parameter groups"):
        opt.load_state_dict({"type": "Adam", "param_groups": [{}, {}], "state": {}})
    assert opt.param_groups[0]["lr"] == 0.1
    np.testing.assert_array_equal(opt.state[0]["exp_avg"], before["state"][0]["exp_avg"])
    assert opt.state[0]["step"] == 1


def test_step_takes_a_closure() -> None:
    w = nn.Parameter(np.array([3.0]))
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 9.0
    np.testing.assert_allclose(w.data, [1.5])


# ----- schedules ------------------------------------------------------------------------------
SCHED_CASES = json.loads(str(FIX["sched_cases"]))


@pytest.mark.parametrize("case", sorted(SCHED_CASES))
def test_schedule_matches_pytorch(case: str) -> None:
    kind, kwargs, metrics = SCHED_CASES[case]
    opt = optim.SGD([{"params": [nn.Parameter(np.zeros(2))]},
                     {"params": [nn.Parameter(np.zeros(1))], "lr": 0.4}], lr=1.0)
    sched = getattr(lr_scheduler, kind)(opt, **kwargs)
    lrs = []
    for epoch in range(12):
        lrs.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step(metrics[epoch]) if metrics else sched.step()
    np.testing.assert_allclose(np.array(lrs), FIX[f"sched.{case}"], rtol=1e-12, atol=1e-15)
    assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]


def test_schedule_state_dict_resumes() -> None:
    def run(split: bool) -> list[float]:
        opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
        sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        out = []
        for epoch in range(7):
            if split and epoch == 3:
                saved, opt_state = sched.state_dict(), opt.state_dict()
                opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
                sched = lr_scheduler.StepLR(opt, step_size=5)  # as PyTorch: build, then load
                opt.load_state_dict(opt_state)
                sched.load_state_dict(saved)
            out.append(opt.param_groups[0]["lr"])
            sched.step()
        return out

    assert run(True) == run(False)


@pytest.mark.parametrize("make, error, match", [
    (lambda o: lr_scheduler.StepLR(o, step_size=0), ValueError, "step_size"),
    (lambda o: lr_scheduler.StepLR(o, step_size=1.5), TypeError, "step_size"),
    (lambda o: lr_scheduler.ExponentialLR(o, gamma="x"), TypeError, "gamma"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0), ValueError, "T_max"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="up"), ValueError, "mode"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), ValueError, "factor"),
    (lambda o: lr_scheduler.StepLR(None, step_size=1), TypeError, "optimizer"),
])
def test_schedule_bad_arguments(make, error, match) -> None:
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    with pytest.raises(error, match=match):
        make(opt)


# ----- losses ---------------------------------------------------------------------------------
LOSS_CASES = json.loads(str(FIX["loss_cases"]))


@pytest.mark.parametrize("case", sorted(LOSS_CASES))
def test_loss_matches_pytorch(case: str) -> None:
    kind, kwargs, _ = LOSS_CASES[case]
    x = Tensor(FIX[f"loss.{case}.logits"], requires_grad=True)
    loss = getattr(nn, kind)(**kwargs)(x, FIX[f"loss.{case}.target"])
    np.testing.assert_allclose(loss.data, FIX[f"loss.{case}.loss"], rtol=1e-12, atol=1e-14)
    (loss * Tensor(FIX[f"loss.{case}.w"])).sum().backward()
    np.testing.assert_allclose(x.grad, FIX[f"loss.{case}.grad"], rtol=1e-10, atol=1e-13)


def test_loss_bad_inputs_are_clear() -> None:
    ce = nn.CrossEntropyLoss()
    with pytest.raises(IndexError, match="CrossEntropyLoss: target 7 is outside"):
        ce(Tensor(np.zeros((2, 3))), np.array([0, 7]))
    with pytest.raises(IndexError, match="NLLLoss: target -1 is outside"):
        nn.NLLLoss()(Tensor(np.zeros((2, 3))), np.array([0, -1]))
    with pytest.raises(ValueError, match="NLLLoss: target of shape"):
        nn.NLLLoss()(Tensor(np.zeros((2, 3))), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")
    all_ignored = nn.CrossEntropyLoss(ignore_index=0, label_smoothing=0.1)(
        Tensor(np.zeros((2, 3))), np.array([0, 0]))
    assert np.isnan(all_ignored.item())  # PyTorch: the mean over no rows is NaN


@pytest.mark.parametrize("loss", [nn.CrossEntropyLoss(ignore_index=0),
                                  nn.CrossEntropyLoss(ignore_index=0, label_smoothing=0.1),
                                  nn.NLLLoss(ignore_index=0)], ids=["ce", "ce-smoothed", "nll"])
def test_every_row_ignored_gives_nan_loss_and_zero_gradient(loss) -> None:
    """PyTorch 2.13: the mean over no rows is NaN, and the gradient is 0 (a batch of padding
    only must not turn the weights into NaN at the next optimizer step)."""
    x = Tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    value = loss(x, np.array([0, 0]))
    value.backward()
    assert np.isnan(value.item()) and value.dtype == np.float32
    np.testing.assert_array_equal(x.grad, np.zeros((2, 3)))


def test_an_ignored_row_of_minus_infinity_stays_out_of_the_loss() -> None:
    """PyTorch 2.13's numbers (float32): the ignored row's -inf never becomes inf * 0."""
    x = Tensor(np.array([[-np.inf, 0.0, 1.0], [1.0, 2.0, 3.0]], np.float32), requires_grad=True)
    with np.errstate(invalid="ignore"):  # the product rule's gradient for a constant factor
        value = nn.CrossEntropyLoss(ignore_index=1, label_smoothing=0.1)(x, np.array([1, 2]))
        value.backward()
    assert value.item() == pytest.approx(0.5076059103012085, rel=1e-6)
    np.testing.assert_allclose(x.grad, [[0.0, 0.0, 0.0],
                                        [0.05669724568724632, 0.21139515936374664,
                                         -0.2680923342704773]], rtol=1e-6, atol=1e-7)


# ----- layers ---------------------------------------------------------------------------------
def test_embedding_matches_pytorch_with_padding_idx() -> None:
    emb = nn.Embedding.from_pretrained(FIX["emb.weight"], freeze=False, padding_idx=1)
    assert emb.weight.dtype == np.float64 and emb.weight.requires_grad
    y = emb(FIX["emb.idx"])
    np.testing.assert_array_equal(y.data, FIX["emb.out"])
    (y * Tensor(FIX["emb.w_out"])).sum().backward()
    np.testing.assert_allclose(emb.weight.grad, FIX["emb.grad"], rtol=1e-14)
    assert not emb.weight.grad[1].any()  # the padding row gets no gradient


def test_embedding_init_and_errors() -> None:
    emb = nn.Embedding(50, 8, padding_idx=3)
    assert emb.weight.shape == (50, 8) and emb.weight.dtype == np.float32
    assert not emb.weight.data[3].any()
    assert 0.7 < emb.weight.data.std() < 1.3  # N(0, 1), as PyTorch
    with pytest.raises(IndexError, match="Embedding: index 50 is outside"):
        emb(np.array([1, 50]))
    with pytest.raises(TypeError, match="Embedding: indices must hold integers"):
        emb(np.array([1.5]))
    with pytest.raises(ValueError, match="Embedding: num_embeddings must be >= 1"):
        nn.Embedding(0, 3)


def test_dropout_module_follows_train_and_eval() -> None:
    drop = nn.Dropout(0.5)
    x = Tensor(np.ones((100, 100)))
    y = drop(x).data
    assert set(np.unique(y)) == {0.0, 2.0}
    drop.eval()
    assert drop(x) is x
    with pytest.raises(ValueError, match="Dropout: p"):
        nn.Dropout(1.0)
    with pytest.raises(TypeError, match="Dropout: p must be a number"):
        nn.Dropout("0.5")


def test_activations_and_softmax_modules() -> None:
    x = Tensor(np.array([[-1.0, 0.0, 2.0], [3.0, -2.0, 0.5]]))
    np.testing.assert_array_equal(nn.ReLU()(x).data, np.maximum(x.data, 0))
    np.testing.assert_allclose(nn.Tanh()(x).data, np.tanh(x.data))
    np.testing.assert_allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp(-x.data)))
    e = np.exp(x.data)
    np.testing.assert_allclose(nn.Softmax(dim=0)(x).data, e / e.sum(0))
    np.testing.assert_allclose(nn.LogSoftmax(dim=1)(x).data, np.log(e / e.sum(1, keepdims=True)))
    with pytest.warns(UserWarning, match="implicit dimension"):
        implicit = nn.LogSoftmax()(x)  # PyTorch's legacy choice for 2-D input: dim 1
    np.testing.assert_allclose(implicit.data, np.log(e / e.sum(1, keepdims=True)))


def test_sequential_and_modulelist_names_and_order() -> None:
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 3), nn.Linear(3, 3)])
            self.head = nn.Sequential(nn.Tanh(), nn.Linear(3, 1))

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return self.head(x)

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                     "head.1.weight", "head.1.bias"]
    assert [n for n, _ in net.named_modules()] == ["", "layers", "layers.0", "layers.1", "head",
                                                   "head.0", "head.1"]
    assert [type(m).__name__ for m in net.children()] == ["ModuleList", "Sequential"]
    assert net(np.ones((4, 2))).shape == (4, 1)
    visited = []
    net.apply(lambda m: visited.append(type(m).__name__))  # children first, as PyTorch
    assert visited == ["Linear", "Linear", "ModuleList", "Tanh", "Linear", "Sequential", "Net"]
    first = next(net.parameters())  # an iterator, as in PyTorch
    assert first is net.layers[0].weight
    assert len(net.layers[:1]) == 1 and "(0): Linear" in repr(net.layers)
    with pytest.raises(TypeError, match="ModuleList: items must be nn.Module"):
        nn.ModuleList([nn.Linear(1, 1), "relu"])
    named = nn.Sequential({"embed": nn.Embedding(4, 2), "out": nn.Linear(2, 1)})
    assert [n for n, _ in named.named_parameters()] == ["embed.weight", "out.weight", "out.bias"]


def test_module_to_cpu_double_float() -> None:
    m = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    assert m.to("cpu") is m and m.cpu() is m
    m.to(np.float64)
    assert all(p.dtype == np.float64 for p in m.parameters())
    m.to("cpu", np.float32)
    assert all(p.dtype == np.float32 for p in m.parameters())
    with pytest.raises(ValueError, match="Sequential.to: device 'cuda' is not available"):
        m.to("cuda")


def test_float32_model_never_builds_a_float64_graph() -> None:
    """Float input of another width is cast to the parameters' dtype at the module boundary."""
    lin = nn.Linear(3, 2)
    x = Tensor(np.ones((4, 3)), requires_grad=True)  # float64 leaf
    assert x.dtype == np.float64
    y = lin(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float64  # the gradient comes back in the input's own dtype
    np.testing.assert_allclose(x.grad, np.tile(lin.weight.data.sum(0), (4, 1)), rtol=1e-6)
    for m in (nn.RNN(3, 4), nn.LSTM(3, 4), nn.GRU(3, 4)):
        out, _ = m(np.zeros((5, 2, 3)))  # float64 ndarray
        assert out.dtype == np.float32
    cell = nn.LSTMCell(3, 4).double()
    h, c = cell(np.ones((2, 3), dtype=np.float32), (np.zeros((2, 4), np.float32),) * 2)
    assert h.dtype == c.dtype == np.float64
    with pytest.raises(TypeError, match="Linear: input must hold real numbers"):
        lin(np.ones((1, 3), dtype=complex))


# ----- nn.init --------------------------------------------------------------------------------
def test_init_functions_fill_in_place() -> None:
    w = nn.Parameter(np.zeros((200, 300)))
    same = w.data
    assert nn.init.uniform_(w, -0.5, 0.5) is w and w.data is same
    assert -0.5 <= w.data.min() and w.data.max() <= 0.5 and w.data.std() > 0.25
    nn.init.normal_(w, 1.0, 0.1)
    assert abs(w.data.mean() - 1.0) < 0.01 and abs(w.data.std() - 0.1) < 0.01
    nn.init.constant_(w, 0.3)
    assert np.all(w.data == 0.3)
    nn.init.zeros_(w)
    assert not w.data.any()
    nn.init.ones_(w)
    assert np.all(w.data == 1)
    nn.init.xavier_uniform_(w, gain=2.0)
    bound = 2.0 * np.sqrt(6.0 / 500)
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.9 * bound
    for shape in ((5, 5), (3, 7), (7, 3)):
        q = nn.Parameter(np.zeros(shape))
        nn.init.orthogonal_(q, gain=1.5)
        small = q.data if shape[0] <= shape[1] else q.data.T
        np.testing.assert_allclose(small @ small.T, 2.25 * np.eye(min(shape)), atol=1e-5)
    with pytest.raises(ValueError, match="xavier_uniform_: needs a tensor with at least 2"):
        nn.init.xavier_uniform_(nn.Parameter(np.zeros(3)))
    with pytest.raises(TypeError, match=r"uniform_: expected a Tensor \(e.g. a Parameter\) or "
                                        r"its .data array, got list"):
        nn.init.uniform_([0.0, 0.0])


def test_init_functions_fill_a_parameters_data_array() -> None:
    # bentrevett/pytorch-seq2seq's `nn.init.uniform_(param.data, -0.08, 0.08)` for every
    # named parameter: here `.data` is the parameter's ndarray, filled in place
    w = nn.Parameter(np.zeros((40, 30), dtype=np.float32))
    same = w.data
    assert nn.init.uniform_(w.data, -0.08, 0.08) is same and w.data is same
    assert np.abs(w.data).max() <= 0.08 and w.data.std() > 0.04
    for fill in (lambda a: nn.init.normal_(a, 0, 0.01), nn.init.xavier_normal_,
                 nn.init.orthogonal_, nn.init.kaiming_uniform_, nn.init.trunc_normal_,
                 nn.init.eye_, lambda a: nn.init.constant_(a, 0.25)):
        before = w.data.copy()
        assert fill(w.data) is same and not np.array_equal(w.data, before)
    frozen = np.zeros(3)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="zeros_: the array is read-only"):
        nn.init.zeros_(frozen)
    with pytest.raises(TypeError, match="normal_: the tensor must be floating point"):
        nn.init.normal_(np.zeros(3, dtype=np.int64))


def test_init_loop_over_param_data_gives_pytorchs_model() -> None:
    torch = pytest.importorskip("torch")

    def build(lib):
        lib.manual_seed(0)
        return lib.nn.ModuleList([lib.nn.Embedding(7, 5), lib.nn.LSTM(5, 6, 2),
                                  lib.nn.GRU(6, 4), lib.nn.Linear(4, 3)])

    def init_weights(m, lib):  # the tutorial's loop, deterministic fills
        for name, param in m.named_parameters():
            if 'weight' in name:
                lib.nn.init.constant_(param.data, 0.03)
            else:
                lib.nn.init.constant_(param.data, 0)

    outs = []
    for lib in (tg, torch):
        model = build(lib)
        model.apply(lambda m: init_weights(m, lib))
        x = model[0](lib.tensor([[1, 2, 3], [4, 5, 6]]))
        x = model[2](model[1](x)[0])[0]
        outs.append(np.asarray(model[3](x).detach().numpy()))
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-7)


def test_init_is_seeded_by_manual_seed() -> None:
    tg.manual_seed(5)
    a = nn.init.normal_(nn.Parameter(np.zeros(4))).data.copy()
    tg.manual_seed(5)
    b = nn.init.normal_(nn.Parameter(np.zeros(4))).data.copy()
    np.testing.assert_array_equal(a, b)


# ----- bidirectional and projected recurrent layers (float64, to 1e-10) -----------------------
REC_CASES = json.loads(str(FIX["rec_cases"]))


def _close(actual: np.ndarray, want: np.ndarray, what: str) -> None:
    assert actual.shape == want.shape, f"{what}: shape {actual.shape}, PyTorch {want.shape}"
    err = float(np.abs(actual - want).max()) / max(float(np.abs(want).max()), 1e-30)
    assert err <= 1e-10, f"{what}: relative error {err:.3g}"


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("case", sorted(REC_CASES))
def test_recurrent_layer_matches_pytorch(case: str, fused: bool) -> None:
    kind, kwargs = REC_CASES[case]
    get = lambda name: FIX[f"rec.{case}.{name}"]  # noqa: E731
    m = getattr(nn, kind)(3, 4, dtype=np.float64, **kwargs)
    prefix = f"rec.{case}.param_"
    nn.load_torch_weights(m, {k[len(prefix):]: FIX[k] for k in FIX.files if k.startswith(prefix)})
    x = Tensor(get("in_x"), requires_grad=True)
    h0 = Tensor(get("in_h0"), requires_grad=True)
    if kind == "LSTM":
        c0 = Tensor(get("in_c0"), requires_grad=True)
        output, (h_n, c_n) = m(x, (h0, c0), fused=fused)
        res = {"output": output, "h_n": h_n, "c_n": c_n}
    else:
        output, h_n = m(x, h0, fused=fused)
        res = {"output": output, "h_n": h_n}
    loss = None
    for k, v in res.items():
        _close(v.data, get(k), k)
        term = (v * Tensor(get(f"w_{k}"))).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    _close(x.grad, get("grad_x"), "grad x")
    _close(h0.grad, get("grad_h0"), "grad h0")
    if kind == "LSTM":
        _close(c0.grad, get("grad_c0"), "grad c0")
    D = 2 if kwargs.get("bidirectional") else 1
    for k, cell in enumerate(m.cells):
        sfx = f"_l{k // D}" + ("_reverse" if k % D else "")
        gW = cell.linear.weight.grad
        _close(gW[:, :cell.input_size], get(f"grad_weight_ih{sfx}"), f"grad weight_ih{sfx}")
        _close(gW[:, cell.input_size:], get(f"grad_weight_hh{sfx}"), f"grad weight_hh{sfx}")
        gb_ih = get(f"grad_bias_ih{sfx}")
        _close(cell.linear.bias.grad, gb_ih, f"grad bias{sfx} (= PyTorch's grad of bias_ih)")
        if kind == "GRU":
            _close(cell.b_hn.grad, get(f"grad_bias_hh{sfx}")[8:], f"grad b_hn{sfx}")
        if kwargs.get("proj_size"):
            _close(cell.weight_hr.grad, get(f"grad_weight_hr{sfx}"), f"grad weight_hr{sfx}")


def test_bidirectional_and_proj_size_round_trip_torch_names_and_check_states() -> None:
    lstm = nn.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2)
    names = sorted(nn.export_torch_weights(lstm))
    assert "weight_hr_l1_reverse" in names and "weight_ih_l1" in names
    assert nn.export_torch_weights(lstm)["weight_ih_l1"].shape == (20, 4)  # reads [fwd; bwd]
    other = nn.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2)
    nn.load_torch_weights(other, nn.export_torch_weights(lstm))
    for (_, p), (_, q) in zip(lstm.named_parameters(), other.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    with pytest.raises(ValueError, match=r"initial state h_0 must have shape \(4, 2, 2\)"):
        lstm(np.zeros((3, 2, 3)), (np.zeros((2, 2, 2)), np.zeros((4, 2, 5))))
    with pytest.raises(ValueError, match="proj_size must be an integer in"):
        nn.LSTM(3, 5, proj_size=5)
    assert "bidirectional=True" in repr(lstm) and "proj_size=2" in repr(lstm)


def _d2l_xavier_init_weights(m) -> None:  # d2l's seq2seq init, as both editions write it
    if type(m) == nn.Linear:  # noqa: E721
        nn.init.xavier_uniform_(m.weight)
    if type(m) == nn.GRU:  # noqa: E721
        for param in m._flat_weights_names:
            if "weight" in param:
                nn.init.xavier_uniform_(m._parameters[param])


def test_pytorch_internal_weight_names_initialise_the_blocks_of_the_cells() -> None:
    gru = nn.GRU(3, 5, num_layers=2)
    bias_before = [cell.linear.bias.data.copy() for cell in gru.cells]
    gru.apply(_d2l_xavier_init_weights)  # it used to raise AttributeError: _flat_weights_names
    for name, W in nn.export_torch_weights(gru).items():
        if name.startswith("weight"):  # each block drawn with its own fans, as PyTorch does
            bound = np.sqrt(6.0 / sum(W.shape))
            assert bound * 0.8 < np.abs(W).max() <= bound, name
    for cell, before in zip(gru.cells, bias_before):  # biases untouched, as in PyTorch
        np.testing.assert_array_equal(cell.linear.bias.data, before)
    W = gru.cells[1].linear.weight
    nn.init.constant_(gru._parameters["weight_hh_l1"], 2.0)  # writes only W's h columns
    assert (W.data[:, 5:] == 2.0).all() and (W.data[:, :5] != 2.0).all()
    (gru._parameters["weight_ih_l1"] * 3.0).sum().backward()  # a gradient reaches W
    np.testing.assert_array_equal(W.grad, np.hstack([np.full((15, 5), 3.0), np.zeros((15, 5))]))
    with pytest.raises(KeyError, match=r"GRU._parameters: no 'bias_ih_l0' \(the two PyTorch "
                                       r"biases are folded into one"):
        gru._parameters["bias_ih_l0"]


def test_assigning_into_a_recurrent_layers_parameters_is_refused() -> None:
    """`rnn._parameters[name] = p` or `del rnn._parameters[name]` (weight-drop code does both)
    changed PyTorch's layer; here `_parameters` is rebuilt on each read, so they silently did
    nothing. Now each says so; the layer is unchanged."""
    gru = nn.GRU(3, 4)
    before = gru.cells[0].linear.weight.data.copy()
    blocks = gru._parameters
    for change in (lambda: blocks.__setitem__("weight_hh_l0", nn.Parameter(np.zeros((12, 4)))),
                   lambda: blocks.__delitem__("weight_hh_l0"),
                   lambda: blocks.pop("weight_ih_l0"),
                   lambda: blocks.update(weight_hh_l0=np.zeros((12, 4)))):
        with pytest.raises(TypeError, match=r"GRU._parameters: the blocks are views .* would "
                                            "not change the layer"):
            change()
    np.testing.assert_array_equal(gru.cells[0].linear.weight.data, before)
    assert list(gru._parameters) == ["weight_ih_l0", "weight_hh_l0"]


def test_lazy_linear_takes_in_features_from_its_first_input() -> None:  # d2l 1.0's RNNLM
    layer = nn.LazyLinear(4)
    assert repr(layer) == "LazyLinear(in_features=0, out_features=4, bias=True)"
    opt = optim.SGD(layer.parameters(), lr=0.5)  # made before the shapes are known, as d2l does
    weight, bias = layer.weight, layer.bias
    x = Tensor(np.random.default_rng(0).standard_normal((2, 5, 300)))
    y = layer(x)
    assert type(layer) is nn.Linear and layer.in_features == 300 and y.shape == (2, 5, 4)
    assert layer.weight is weight and weight.shape == (4, 300) and bias.shape == (4,)
    bound = 1 / np.sqrt(300)  # PyTorch's initialisation of a Linear(300, 4)
    assert bound * 0.9 < np.abs(weight.data).max() <= bound and np.abs(bias.data).max() <= bound
    np.testing.assert_allclose(y.data, x.data @ weight.data.T + bias.data, rtol=1e-5, atol=1e-6)
    before = weight.data.copy()
    y.sum().backward()
    opt.step()  # the optimizer holds the very parameters that got their shapes
    np.testing.assert_allclose(weight.data, before - 0.5 * weight.grad, rtol=1e-6)
    assert set(layer.state_dict()) == {"weight", "bias"}
    plain = nn.LazyLinear(3, bias=False)
    assert plain(np.ones((1, 2))).shape == (1, 3) and plain.bias is None
    with pytest.raises(ValueError, match="LazyLinear: input of shape \\(\\) has no features"):
        nn.LazyLinear(3)(Tensor(1.0))


def test_lazy_linear_behaves_as_pytorchs() -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = nn.LazyLinear(4), torch.nn.LazyLinear(4)
    assert repr(ours) == repr(theirs)
    ours(np.ones((2, 3), np.float32)), theirs(torch.ones(2, 3))
    assert type(ours).__name__ == type(theirs).__name__ == "Linear"
    assert repr(ours) == repr(theirs) and ours.weight.shape == tuple(theirs.weight.shape)



def test_lazy_linear_loads_a_state_dict_before_its_first_call() -> None:
    """PyTorch's LazyLinear takes a checkpoint's shapes and values before its first call
    (build the model, load, then run); here load_state_dict refused the shapes (KeyError)."""
    torch = pytest.importorskip("torch")
    src = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
    state = {k: v.detach().numpy() for k, v in src.state_dict().items()}
    ours = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.LazyLinear(3))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.LazyLinear(3))
    assert ours.load_state_dict(state) == ([], [])
    theirs.load_state_dict(src.state_dict())
    assert ours[2].weight.shape == tuple(theirs[2].weight.shape) == (3, 5)
    x = np.random.default_rng(3).standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-6)  # the loaded values, not a new draw
    assert type(ours[2]) is nn.Linear and ours[2].in_features == 5
    with pytest.raises(ValueError, match="in_features=5"):
        ours[2](np.ones((1, 4), np.float32))
    wrong = nn.LazyLinear(2)  # out_features does not fit: refused, nothing changed
    with pytest.raises(KeyError, match=r"weight: shape \(3, 5\) in the state, \(0,\)"):
        wrong.load_state_dict({"weight": state["2.weight"], "bias": state["2.bias"]})
    assert wrong.weight.shape == (0,) and wrong.bias.shape == (0,)

def test_pytorch_internal_weight_names_match_pytorchs() -> None:
    torch = pytest.importorskip("torch")
    for kind, kwargs in [("RNN", {}), ("GRU", {"num_layers": 2}), ("LSTM", {"bias": False}),
                         ("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 2})]:
        ours, theirs = getattr(nn, kind)(3, 4, **kwargs), getattr(torch.nn, kind)(3, 4, **kwargs)
        assert ours._flat_weights_names == theirs._flat_weights_names, (kind, kwargs)
        for name in theirs._flat_weights_names:
            if "weight" in name:
                assert ours._parameters[name].shape == tuple(theirs._parameters[name].shape)


# ----- PyTorch's weight names as attributes (lstm.weight_hh_l0, cell.weight_hh) --------------
def _torch_rnn(torch, kind: str, **kwargs):
    """A float64 PyTorch module and ours with its weights (nn.load_torch_weights)."""
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(3, 4, **kwargs).double()
    ours = getattr(nn, kind)(3, 4, dtype=np.float64, **kwargs)
    nn.load_torch_weights(ours, theirs.state_dict())
    return ours, theirs


def _loss(out, weights):
    """A weighted sum of a module's output(s), the same on both sides."""
    outs = out if isinstance(out, tuple) else (out,)
    return sum((o * w).sum() for o, w in zip(outs, weights))


@pytest.mark.parametrize("kind, kwargs", [("RNN", {"num_layers": 2}),
                                          ("GRU", {"bidirectional": True}),
                                          ("LSTM", {"num_layers": 2, "bidirectional": True}),
                                          ("LSTM", {"proj_size": 2})])
def test_pytorch_weight_names_are_blocks_of_the_cells_with_pytorchs_gradients(kind, kwargs):
    """`rnn.weight_hh_l0` (`_reverse`, `_l1`, `weight_hr_l0`) raised AttributeError. Each is now
    its cell's block: nn.init and copy_ write through it, and after backward its `.grad` is
    PyTorch's `rnn.weight_hh_l0.grad` (also for a penalty on the block itself)."""
    torch = pytest.importorskip("torch")
    ours, theirs = _torch_rnn(torch, kind, **kwargs)
    names = [n for n in theirs._flat_weights_names if n.startswith("weight")]
    for name in names:
        nn.init.orthogonal_(getattr(ours, name))  # our generator: orthogonal, in the cell
        block = nn.export_torch_weights(ours)[name]  # read from the cells, not the block
        gram = block.T @ block if block.shape[0] >= block.shape[1] else block @ block.T
        np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-12)
        torch.nn.init.orthogonal_(getattr(theirs, name))
        with tg.no_grad():
            getattr(ours, name).copy_(getattr(theirs, name).detach().numpy())
    mine = nn.export_torch_weights(ours)
    for name, value in theirs.state_dict().items():  # every block in place, biases untouched
        if name.startswith("weight"):
            np.testing.assert_array_equal(mine[name], value.numpy(), err_msg=name)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 2, 3))
    out, state = ours(x)
    t_out, t_state = theirs(torch.tensor(x))
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), rtol=1e-12, atol=1e-12)
    ws = [rng.standard_normal(tuple(o.shape)) for o in (t_out, *(
        t_state if isinstance(t_state, tuple) else (t_state,)))]
    assert getattr(ours, names[1]).grad is None  # before any backward, as in PyTorch
    (_loss((out, *(state if isinstance(state, tuple) else (state,))), ws)
     + (getattr(ours, "weight_hh_l0") ** 2).sum()).backward()
    t_ws = [torch.tensor(w) for w in ws]
    (_loss((t_out, *(t_state if isinstance(t_state, tuple) else (t_state,))), t_ws)
     + (theirs.weight_hh_l0 ** 2).sum()).backward()
    for name in names:
        np.testing.assert_allclose(getattr(ours, name).grad, getattr(theirs, name).grad.numpy(),
                                   rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_weight_ih_and_weight_hh_are_blocks_with_pytorchs_gradients(kind):
    """`cell.weight_ih` / `cell.weight_hh` raised AttributeError; now they are the x and h
    columns of `cell.linear.weight`, written through and with PyTorch's `.grad`."""
    torch = pytest.importorskip("torch")
    ours, theirs = _torch_rnn(torch, kind)
    torch.nn.init.xavier_uniform_(theirs.weight_ih)
    torch.nn.init.orthogonal_(theirs.weight_hh)
    ours.weight_ih.data = theirs.weight_ih.detach().numpy()  # PyTorch's form, into the cell
    with tg.no_grad():
        ours.weight_hh[:] = theirs.weight_hh.detach().numpy()
    np.testing.assert_array_equal(ours.linear.weight.data,
                                  torch.cat([theirs.weight_ih, theirs.weight_hh], 1).detach())
    rng = np.random.default_rng(2)
    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    state = (h, rng.standard_normal((2, 4))) if kind == "LSTMCell" else h
    t_state = tuple(map(torch.tensor, state)) if kind == "LSTMCell" else torch.tensor(state)
    out, t_out = ours(x, state), theirs(torch.tensor(x), t_state)
    ws = [rng.standard_normal((2, 4)) for _ in range(2)]
    _loss(out, ws).backward()
    _loss(t_out, [torch.tensor(w) for w in ws]).backward()
    for name in ("weight_ih", "weight_hh"):
        np.testing.assert_allclose(getattr(ours, name).grad, getattr(theirs, name).grad.numpy(),
                                   rtol=1e-10, atol=1e-12, err_msg=name)


def test_pytorch_bias_names_are_refused_saying_what_to_write_instead() -> None:
    """PyTorch's two biases are one here, so `lstm.bias_ih_l0.data[H:2*H].fill_(1)` (the
    forget-gate trick) cannot mean what it means in PyTorch: reading or assigning a bias name
    raises AttributeError naming the one bias (assigning used to add a dead parameter)."""
    lstm = nn.LSTM(3, 4, num_layers=2)
    names = [n for n, _ in lstm.named_parameters()]
    with pytest.raises(AttributeError, match=r"LSTM.bias_ih_l1: PyTorch's two biases are folded "
                                             r"into one here, cells\[1\].linear.bias = bias_ih_l1 "
                                             r"\+ bias_hh_l1 .* rows \[4:8\] of cells\[1\]"):
        lstm.bias_ih_l1.data[4:8].fill(1)
    with pytest.raises(AttributeError, match=r"LSTM.bias_hh_l0: PyTorch's two biases are folded"):
        lstm.bias_hh_l0 = nn.Parameter(np.zeros(16))
    assert [n for n, _ in lstm.named_parameters()] == names and not hasattr(lstm, "bias_ih_l0")
    with pytest.raises(AttributeError, match=r"GRUCell.bias_hh: .* linear.bias = bias_ih \+ "
                                             r"bias_hh in the r and z rows .* rows are b_hn"):
        nn.GRUCell(3, 4).bias_hh
    with pytest.raises(AttributeError, match=r"RNNCell.bias_ih: PyTorch's two biases are folded "
                                             r"into one here, linear.bias = bias_ih \+ bias_hh"):
        nn.RNNCell(3, 4).bias_ih = nn.Parameter(np.zeros(4))
    with pytest.raises(AttributeError, match="'LSTM' object has no attribute 'bias_ih_l0'"):
        nn.LSTM(3, 4, bias=False).bias_ih_l0  # PyTorch's has none either
    assert nn.RNNCell(3, 4, bias=False).bias_hh is None  # PyTorch's cell: None
    with pytest.raises(AttributeError, match="'LSTM' object has no attribute 'weight_hr_l0'"):
        lstm.weight_hr_l0  # no proj_size: none in PyTorch either


def test_the_forget_gate_trick_written_as_the_message_says_is_pytorchs_model() -> None:
    """PyTorch code that sets both biases' forget rows to 1 is refused here; what the message
    says to write instead (rows [H:2H] of the one bias set to 2) gives PyTorch's outputs."""
    torch = pytest.importorskip("torch")
    ours, theirs = _torch_rnn(torch, "LSTM")
    with torch.no_grad():  # PyTorch's code
        for bias in (theirs.bias_ih_l0, theirs.bias_hh_l0):
            bias[4:8].fill_(1.0)
    with pytest.raises(AttributeError, match=r"write rows \[4:8\] of cells\[0\].linear.bias "
                       r"\(PyTorch code that fills those rows of both biases with 1 means 2 "
                       r"here\)"), tg.no_grad():  # the same code here
        for bias in (ours.bias_ih_l0, ours.bias_hh_l0):
            bias[4:8].fill_(1.0)
    ours.cells[0].linear.bias.data[4:8] = 2.0  # what the message says
    x = np.random.default_rng(3).standard_normal((4, 2, 3))
    np.testing.assert_allclose(ours(x)[0].data, theirs(torch.tensor(x))[0].detach().numpy(),
                               rtol=1e-12, atol=1e-12)


def test_pytorch_weight_names_refuse_assignment_and_writes_outside_no_grad() -> None:
    """`rnn.weight_hh_l0 = nn.Parameter(...)` used to add a parameter forward never read; it is
    refused, as are in-place writes outside no_grad (PyTorch's rule for a parameter), setting
    a block's .grad, freezing a block alone, a hook on it, and an optimizer given a block.
    Under no_grad `+=` writes into the cell."""
    lstm = nn.LSTM(3, 4)
    names = [n for n, _ in lstm.named_parameters()]
    W = lstm.cells[0].linear.weight
    with pytest.raises(AttributeError, match=r"LSTM.weight_hh_l0: cannot be assigned: .* add a "
                                             "parameter that forward never reads"):
        lstm.weight_hh_l0 = nn.Parameter(np.zeros((16, 4)))
    with pytest.raises(AttributeError, match=r"GRUCell.weight_ih: cannot be assigned"):
        nn.GRUCell(3, 4).weight_ih = nn.Parameter(np.zeros((12, 3)))
    assert [n for n, _ in lstm.named_parameters()] == names
    before = W.data.copy()
    with tg.no_grad():
        lstm.weight_hh_l0 += 1.0  # in place, then Python assigns the same block back: allowed
    np.testing.assert_array_equal(W.data, np.hstack([before[:, :3], before[:, 3:] + 1.0]))
    for write in (lambda b: b.copy_(np.zeros((16, 4))), lambda b: b.__setitem__(0, 1.0),
                  lambda b: b.__iadd__(1.0)):
        with pytest.raises(RuntimeError, match=r"weight_hh_l0 is a block of the parameter "
                                               r"cells.0.linear.weight, which cannot be changed "
                                               r"in place outside `with no_grad\(\):`"):
            write(lstm.weight_hh_l0)
    np.testing.assert_array_equal(W.data[:, 3:], before[:, 3:] + 1.0)
    lstm(np.ones((2, 1, 3)))[0].sum().backward()
    with pytest.raises(AttributeError, match=r"weight_hh_l0.grad: a block's gradient is a slice "
                                             r"of cells.0.linear.weight.grad"):
        lstm.weight_hh_l0.grad = None
    with pytest.raises(ValueError, match="SGD: parameter 0 .* must be a floating leaf tensor"):
        optim.SGD([lstm.weight_hh_l0], lr=0.1)
    for freeze in (lambda b: setattr(b, "requires_grad", False), lambda b: b.requires_grad_(False)):
        with pytest.raises(AttributeError, match=r"weight_hh_l0.requires_grad: a block cannot be "
                                                 r"frozen on its own .* set cells.0.linear.weight"):
            freeze(lstm.weight_hh_l0)  # it would have frozen nothing
    with pytest.raises(RuntimeError, match="register_hook: weight_hh_l0 is a block of cells.0."
                                           "linear.weight, whose gradient does not pass"):
        lstm.weight_hh_l0.register_hook(lambda g: g)  # it would never run
    with pytest.raises(ValueError, match=r"weight_hh_l0.data: a block of cells.0.linear.weight "
                                         r"takes an array of its shape \(16, 4\), got \(4, 4\)"):
        lstm.weight_hh_l0.data = np.eye(4)
    np.testing.assert_array_equal(W.data[:, 3:], before[:, 3:] + 1.0)


def test_a_loss_through_a_weight_block_keeps_every_gradient_and_draws() -> None:
    """An L2 penalty on cell.weight_hh beside the loss: backward(retain_grad=True), what viz
    asks for, raised at the block's .grad setter after other .grad values were already written
    (half a backward stored); now it stores every other gradient, the block's reads the weight's,
    and viz.flow.animate_backward runs."""
    cell = nn.RNNCell(3, 4, dtype=np.float64)
    x = tg.tensor(np.random.default_rng(0).standard_normal((2, 1, 3)))

    def loss_of() -> tuple:
        h = cell(x[1], cell(x[0]))
        return h, h.sum() + 0.1 * (cell.weight_hh ** 2).sum()

    h, loss = loss_of()
    cell.zero_grad()
    loss.backward(retain_grad=True)
    np.testing.assert_array_equal(h.grad, np.ones((1, 4)))  # stored, as for every tensor
    without_penalty = tg.grad(loss_of()[0].sum(), cell.linear.weight)[0]
    want = without_penalty.copy()
    want[:, 3:] += 0.2 * cell.linear.weight.data[:, 3:]  # d(0.1 |W_hh|^2) = 0.2 W_hh
    np.testing.assert_allclose(cell.linear.weight.grad, want, rtol=1e-12)
    np.testing.assert_allclose(cell.weight_hh.grad, want[:, 3:], rtol=1e-12)
    pytest.importorskip("PIL")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    from viz import flow
    before = cell.linear.weight.grad.copy()
    path = flow.animate_backward(loss_of()[1], os.path.join(tempfile.mkdtemp(), "a.gif"),
                                 max_frames=3)
    assert os.path.getsize(path) > 0
    np.testing.assert_array_equal(cell.linear.weight.grad, before)  # put back as it was


@pytest.mark.parametrize("make, error, match", [
    (lambda: nn.Linear("3", 2), TypeError, "Linear: in_features must be an integer"),
    (lambda: nn.Linear(3, 0), ValueError, "Linear: out_features must be >= 1"),
    (lambda: nn.RNN(3, 4, dropout="0.1"), TypeError, "RNN: dropout must be a number"),
    (lambda: nn.LSTM(3, 4, num_layers=1.5), TypeError, "LSTM: num_layers must be an integer"),
    (lambda: nn.GRU(3, 4, num_layers=0), ValueError, "GRU: num_layers must be >= 1"),
    (lambda: nn.RNNCell(3.0, 4), TypeError, "RNNCell: input_size must be an integer"),
    (lambda: nn.LSTMCell(3, True), TypeError, "LSTMCell: hidden_size must be an integer"),
    (lambda: nn.Embedding(10, 2.5), TypeError, "Embedding: embedding_dim must be an integer"),
    (lambda: nn.Dropout(p=1.0), ValueError, r"Dropout: p must be in \[0, 1\)"),
])
def test_constructor_arguments_are_checked_at_the_boundary(make, error, match) -> None:
    with pytest.raises(error, match=match):
        make()
