"""Optimizers: steps match PyTorch's (fixtures from tests/fixtures/make_optim_fixtures.py and, when
PyTorch is installed, a live run), state_dict round trips, bad hyper-parameters are errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tinygrad_rnn import Tensor, nn, optim

FIXTURES = np.load(Path(__file__).parent / "fixtures" / "optim.npz", allow_pickle=False)
CASES = json.loads(str(FIXTURES["cases"]))
GRAD_NONE = {tuple(pair) for pair in FIXTURES["grad_none"].tolist()}
TOL = {"float64": dict(rtol=1e-12, atol=1e-13), "float32": dict(rtol=1e-6, atol=1e-6)}


def _make(kind: str, params: list, kwargs: dict) -> optim.Optimizer:
    kwargs = dict(kwargs)
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    return getattr(optim, kind)(params, **kwargs)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_steps_match_pytorch_fixture(case: str, dtype: str) -> None:
    kind, kwargs = CASES[case]
    n = sum(1 for k in FIXTURES.files if k.startswith(f"{case}.{dtype}.init"))
    params = [nn.Parameter(FIXTURES[f"{case}.{dtype}.init{i}"].copy()) for i in range(n)]
    opt = _make(kind, params, kwargs)
    grads = [FIXTURES[f"{case}.{dtype}.grads{i}"] for i in range(n)]
    after = [FIXTURES[f"{case}.{dtype}.after{i}"] for i in range(n)]
    for step in range(len(grads[0])):
        for i, p in enumerate(params):
            p.grad = None if (step, i) in GRAD_NONE else grads[i][step].copy()
        opt.step()
        for i, p in enumerate(params):
            assert p.dtype == np.dtype(dtype)
            np.testing.assert_allclose(p.data, after[i][step], **TOL[dtype],
                                       err_msg=f"{case} {dtype} step {step} param {i}")


def test_fixture_has_skipped_grads() -> None:
    """The fixture really exercises the None-grad path (otherwise the test above proves less)."""
    assert GRAD_NONE
    case = "adam"
    p0 = FIXTURES[f"{case}.float64.init2"]
    after = FIXTURES[f"{case}.float64.after2"]
    np.testing.assert_array_equal(after[0], p0)  # parameter 2 had no grad at step 0


def test_grad_none_is_skipped_and_state_not_advanced() -> None:
    a = nn.Parameter(np.array([1.0, 2.0]))
    b = nn.Parameter(np.array([3.0]))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = np.array([0.5, -0.5])
    opt.step()
    np.testing.assert_array_equal(b.data, [3.0])
    assert opt.state[1] == {}
    assert opt.state[0]["step"] == 1


def test_update_is_in_place_and_keeps_dtype() -> None:
    p = nn.Parameter(np.ones(3, dtype=np.float32))
    view = p.detach()  # shares the array
    opt = optim.SGD([p], lr=0.5, momentum=0.9)
    p.grad = np.ones(3, dtype=np.float32)
    opt.step()
    assert p.dtype == np.float32
    np.testing.assert_array_equal(view.data, [0.5, 0.5, 0.5])


def test_sgd_by_hand() -> None:
    """Two SGD steps with momentum 0.9 worked out by hand: b1 = g1, b2 = 0.9 b1 + g2."""
    p = nn.Parameter(np.array([1.0]))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.array([2.0])
    opt.step()  # b = 2, p = 1 - 0.2 = 0.8
    p.grad = np.array([1.0])
    opt.step()  # b = 1.8 + 1 = 2.8, p = 0.8 - 0.28 = 0.52
    np.testing.assert_allclose(p.data, [0.52], rtol=1e-15)


def test_adam_first_step_is_lr_times_sign() -> None:
    """At step 1, m_hat = g and v_hat = g^2, so the step is lr * g / (|g| + eps)."""
    p = nn.Parameter(np.array([0.0, 0.0]))
    opt = optim.Adam([p], lr=0.01, eps=0.0)
    p.grad = np.array([3.0, -0.001])
    opt.step()
    np.testing.assert_allclose(p.data, [-0.01, 0.01], rtol=1e-12)


def test_zero_grad() -> None:
    p = nn.Parameter(np.ones(2))
    p.grad = np.ones(2)
    optim.SGD([p], lr=0.1).zero_grad()
    assert p.grad is None


@pytest.mark.parametrize("make, match", [
    (lambda ps: optim.SGD(ps, lr=-0.1), "lr"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=-1), "momentum"),
    (lambda ps: optim.SGD(ps, lr=0.1, nesterov=True), "nesterov"),
    (lambda ps: optim.SGD(ps, lr=float("nan")), "lr"),
    (lambda ps: optim.Adam(ps, lr=0.1, betas=(1.0, 0.9)), "beta1"),
    (lambda ps: optim.Adam(ps, lr=0.1, betas=(0.9, -0.1)), "beta2"),
    (lambda ps: optim.Adam(ps, lr=0.1, betas=(0.9,)), "betas"),
    (lambda ps: optim.Adam(ps, eps=-1e-8), "eps"),
    (lambda ps: optim.Adam(ps, weight_decay=-1), "weight_decay"),
    (lambda ps: optim.Adagrad(ps, lr=-1), "lr"),
    (lambda ps: optim.RMSprop(ps, alpha=1.5), "alpha"),
    (lambda ps: optim.SGD([], lr=0.1), "empty"),
    (lambda ps: optim.SGD(ps + ps, lr=0.1), "twice"),
    (lambda ps: optim.SGD([nn.Parameter([1.0]) * 2], lr=0.1), "leaf"),
    (lambda ps: optim.SGD([{"params": ps, "lr": 0.1, "momentun": 0.9}]), "momentun"),
    (lambda ps: optim.SGD([{"params": ps, "lr": -0.1}]), "lr"),
])
def test_bad_arguments_are_clear_errors(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make([nn.Parameter(np.zeros(2))])


def test_non_tensor_parameters_are_type_errors() -> None:
    with pytest.raises(TypeError, match="not a Tensor"):
        optim.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(nn.Parameter(np.zeros(2)), lr=0.1)
    with pytest.raises(TypeError, match="Adam: betas must be a pair"):
        optim.Adam([nn.Parameter(np.zeros(2))], betas=0.9)
    with pytest.raises(TypeError, match="lr must be a number"):
        optim.SGD([nn.Parameter(np.zeros(2))], lr="fast")


def test_grad_of_wrong_shape_is_an_error() -> None:
    p = nn.Parameter(np.zeros(2))
    p.grad = np.zeros(3)
    with pytest.raises(ValueError, match="shape"):
        optim.Adam([p]).step()


@pytest.mark.parametrize("factory", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: optim.Adam(ps, lr=0.05),
    lambda ps: optim.AdamW(ps, lr=0.05),
    lambda ps: optim.Adagrad(ps, lr=0.1),
    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.3, centered=True),
])
def test_failed_step_changes_nothing(factory) -> None:
    """A bad grad on a later parameter is found before any parameter or state is updated."""
    params = [nn.Parameter(np.array([1.0, -2.0])), nn.Parameter(np.array([0.5, 3.0]))]
    opt = factory(params)
    for p in params:
        p.grad = np.array([0.3, -0.7])
    opt.step()  # so the state is not empty
    params[1].grad = np.zeros(3)
    data, state = [p.data.copy() for p in params], opt.state_dict()
    with pytest.raises(ValueError, match=r"step: parameter 1 has shape \(2,\) but its grad"):
        opt.step()
    for p, before in zip(params, data):
        np.testing.assert_array_equal(p.data, before)
    after = opt.state_dict()
    assert after["state"].keys() == state["state"].keys()
    for i, entry in state["state"].items():
        assert after["state"][i].keys() == entry.keys()
        for k, v in entry.items():
            np.testing.assert_array_equal(after["state"][i][k], v)


@pytest.mark.parametrize("factory", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: optim.Adam(ps, lr=0.05, weight_decay=0.1),
    lambda ps: optim.Adagrad(ps, lr=0.1),
    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.3, centered=True),
])
def test_state_dict_round_trip_continues_identically(factory) -> None:
    """Stopping, saving the state and resuming in a fresh optimizer gives the same parameters,
    to the bit, as an uninterrupted run."""
    rng = np.random.default_rng(0)
    init = [rng.normal(size=(3, 2)), rng.normal(size=4)]
    grads = [[rng.normal(size=x.shape) for x in init] for _ in range(6)]

    straight = [nn.Parameter(x.copy()) for x in init]
    opt = factory(straight)
    for g_step in grads:
        for p, g in zip(straight, g_step):
            p.grad = g
        opt.step()

    resumed = [nn.Parameter(x.copy()) for x in init]
    first = factory(resumed)
    for g_step in grads[:3]:
        for p, g in zip(resumed, g_step):
            p.grad = g
        first.step()
    saved = first.state_dict()
    second = factory(resumed)
    second.load_state_dict(saved)
    for g_step in grads[3:]:
        for p, g in zip(resumed, g_step):
            p.grad = g
        second.step()
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a.data, b.data)


def test_state_dict_holds_copies() -> None:
    p = nn.Parameter(np.zeros(2))
    opt = optim.Adam([p])
    p.grad = np.ones(2)
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["exp_avg"][:] = 99.0
    assert not np.any(opt.state[0]["exp_avg"] == 99.0)
    assert sd["type"] == "Adam"
    assert sd["param_groups"] == [{"lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-8,
                                   "weight_decay": 0.0, "amsgrad": False, "params": [0]}]


def test_load_state_dict_errors_change_nothing() -> None:
    p = nn.Parameter(np.zeros(2))
    opt = optim.Adam([p], lr=0.1)
    p.grad = np.ones(2)
    opt.step()
    before = opt.state_dict()
    bad = {"type": "Adam", "hyperparameters": {"lr": 0.5},
           "state": {0: {"step": 3, "exp_avg": np.zeros(5), "exp_avg_sq": np.zeros(2)},
                     4: {"step": 1}}}
    with pytest.raises(ValueError) as info:
        opt.load_state_dict(bad)
    message = str(info.value)
    assert "exp_avg" in message and "(5,)" in message and "parameter 4" in message
    assert opt.param_groups[0]["lr"] == 0.1
    assert opt.state[0]["step"] == before["state"][0]["step"]
    with pytest.raises(ValueError, match="for SGD"):
        opt.load_state_dict({"type": "SGD", "hyperparameters": {}, "state": {}})
    with pytest.raises(ValueError, match="lacks"):
        opt.load_state_dict({"type": "Adam", "state": {0: {"step": 1}}})
    with pytest.raises(ValueError, match="bad hyper-parameters"):
        opt.load_state_dict({"type": "Adam", "hyperparameters": {"lr": -1.0}, "state": {}})
    assert opt.param_groups[0]["lr"] == 0.1


def test_trains_a_module_end_to_end() -> None:
    """Adam fits a small least-squares problem through the engine (loss falls 100x)."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(32, 3))
    w_true = np.array([[1.5], [-2.0], [0.5]])
    y = X @ w_true

    class Model(nn.Module):
        def __init__(self) -> None:
            self.W = nn.Parameter(np.zeros((3, 1)))

        def forward(self, x):
            return x @ self.W

    model = Model()
    opt = optim.Adam(model.parameters(), lr=0.1)
    losses = []
    for _ in range(200):
        opt.zero_grad()
        loss = ((model(Tensor(X)) - Tensor(y)) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 100


# ----- live PyTorch comparison (skipped when PyTorch is not installed) ---------------------

LIVE = [
    ("SGD", dict(lr=0.07, momentum=0.6, nesterov=True, weight_decay=0.2)),
    ("Adam", dict(lr=0.03, betas=(0.5, 0.9), eps=1e-5, weight_decay=0.3)),
    ("Adagrad", dict(lr=0.2, eps=1e-6)),
    ("RMSprop", dict(lr=0.02, alpha=0.8, momentum=0.2)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind, kwargs", LIVE)
def test_live_pytorch(kind: str, kwargs: dict, dtype: str) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    init = [rng.normal(size=(3, 4)).astype(dtype), rng.normal(size=(2,)).astype(dtype)]
    ours = [nn.Parameter(x.copy()) for x in init]
    theirs = [torch.nn.Parameter(torch.tensor(x)) for x in init]
    opt = getattr(optim, kind)(ours, **kwargs)
    topt = getattr(torch.optim, kind)(theirs, foreach=False, **kwargs)
    for _ in range(8):
        for p, tp in zip(ours, theirs):
            g = rng.normal(size=p.shape).astype(dtype)
            p.grad, tp.grad = g, torch.tensor(g)
        opt.step()
        topt.step()
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), **TOL[dtype])


def test_load_state_dict_rejects_malformed_entries() -> None:
    p = nn.Parameter(np.zeros(2))
    opt = optim.Adagrad([p])
    with pytest.raises(ValueError, match="step must be a whole number"):
        opt.load_state_dict({"type": "Adagrad", "state": {0: {"step": 1.5, "sum": np.zeros(2)}}})
    with pytest.raises(ValueError, match="not a dict"):
        opt.load_state_dict({"type": "Adagrad", "state": {0: [1, 2]}})
    with pytest.raises(ValueError, match="not a parameter index"):
        opt.load_state_dict({"type": "Adagrad", "state": {"first": {}}})
    assert opt.state == [{}]
