"""PyTorch APIs added for PyTorch programs: LambdaLR / MultiStepLR / LinearLR, module buffers,
requires_grad_, load_state_dict's (missing_keys, unexpected_keys), ModuleDict, Flatten,
LayerNorm and the Kaiming / truncated-normal initialisers. Golden values come from PyTorch
(tests/fixtures/make_extras_fixtures.py -> extras.npz); live comparisons run when PyTorch is
installed."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn, optim
from tinygrad_rnn.optim import lr_scheduler

FIX = np.load(Path(__file__).parent / "fixtures" / "extras.npz", allow_pickle=False)

# the same table as make_extras_fixtures.py (functions cannot be stored in the fixture)
LAMBDAS = {
    "exp09": lambda e: 0.9 ** e,
    "warmup": lambda e: min(1.0, (e + 1) / 4),
    "step3": lambda e: e // 3,
    "inverse": lambda e: 1 / (e + 1),
}


def two_groups(lib=None):
    """SGD with two groups (lr 1.0 and 0.4), here or in PyTorch."""
    if lib is None:
        return optim.SGD([{"params": [nn.Parameter(np.zeros(2))]},
                          {"params": [nn.Parameter(np.zeros(1))], "lr": 0.4}], lr=1.0)
    return lib.optim.SGD([{"params": [lib.nn.Parameter(lib.zeros(2))]},
                          {"params": [lib.nn.Parameter(lib.zeros(1))], "lr": 0.4}], lr=1.0)


def with_lambdas(kwargs: dict) -> dict:
    fn = kwargs.get("lr_lambda")
    if fn is None:
        return kwargs
    return {**kwargs, "lr_lambda": [LAMBDAS[f] for f in fn] if isinstance(fn, list)
            else LAMBDAS[fn]}


# ----- schedules ------------------------------------------------------------------------------
SCHED_CASES = json.loads(str(FIX["sched_cases"]))


@pytest.mark.parametrize("case", sorted(SCHED_CASES))
def test_schedule_matches_pytorch_golden(case: str) -> None:
    kind, kwargs = SCHED_CASES[case]
    opt = two_groups()
    sched = getattr(lr_scheduler, kind)(opt, **with_lambdas(kwargs))
    lrs, momenta = [], []
    for _ in range(FIX[f"sched.{case}"].shape[0]):
        lrs.append(sched.get_last_lr())
        momenta.append([g["momentum"] for g in opt.param_groups])
        assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]
        opt.step()
        sched.step()
    np.testing.assert_allclose(np.array(lrs), FIX[f"sched.{case}"], rtol=1e-12, atol=1e-15)
    if kind == "OneCycleLR":
        np.testing.assert_allclose(np.array(momenta), FIX[f"sched_momentum.{case}"],
                                   rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case", sorted(SCHED_CASES))
def test_schedule_matches_pytorch_live(case: str) -> None:
    torch = pytest.importorskip("torch")
    kind, kwargs = SCHED_CASES[case]
    opt, topt = two_groups(), two_groups(torch)
    sched = getattr(lr_scheduler, kind)(opt, **with_lambdas(kwargs))
    tsched = getattr(torch.optim.lr_scheduler, kind)(topt, **with_lambdas(kwargs))
    for _ in range(12):  # OneCycleLR cases allow 12 steps
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12)
        np.testing.assert_allclose([g["momentum"] for g in opt.param_groups],
                                   [g["momentum"] for g in topt.param_groups], rtol=1e-12)
        opt.step(), topt.step()
        sched.step(), tsched.step()


class Warmup:
    """A callable object: its attributes are saved in LambdaLR.state_dict(), as in PyTorch."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def __call__(self, epoch: int) -> float:
        return min(1.0, (epoch + 1) / self.epochs)


def test_one_cycle_adam_betas_live() -> None:
    torch = pytest.importorskip("torch")
    opt = optim.Adam([nn.Parameter(np.zeros(2))], lr=0.1, betas=(0.8, 0.99))
    topt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(2))], lr=0.1, betas=(0.8, 0.99))
    kwargs = dict(max_lr=0.5, total_steps=10, base_momentum=0.7, max_momentum=0.9)
    sched = lr_scheduler.OneCycleLR(opt, **kwargs)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, **kwargs)
    for _ in range(10):
        opt.step(), topt.step(), sched.step(), tsched.step()
        assert opt.param_groups[0]["betas"] == pytest.approx(topt.param_groups[0]["betas"],
                                                              rel=1e-12)
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
    with pytest.raises(ValueError, match="tried to step 11 times"):
        sched.step()
    assert sched.last_epoch == 10  # the failed step changed nothing


@pytest.mark.parametrize("make", [
    lambda o: lr_scheduler.LambdaLR(o, [LAMBDAS["exp09"], Warmup(4)]),
    lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=10),
    lambda o: lr_scheduler.MultiStepLR(o, milestones=[2, 4, 4], gamma=0.5),
    lambda o: lr_scheduler.LinearLR(o, start_factor=0.2, total_iters=5),
])
def test_schedule_state_dict_resumes(make, tmp_path) -> None:
    def run(split: bool) -> list[list[float]]:
        opt = two_groups()
        sched = make(opt)
        out = []
        for epoch in range(9):
            if split and epoch == 3:
                path = tmp_path / "state.npz"
                tg.save({"sched": sched.state_dict(), "opt": opt.state_dict()}, path)
                opt = two_groups()
                sched = make(opt)  # as PyTorch: build with the same arguments, then load
                state = tg.load(path)
                opt.load_state_dict(state["opt"])
                sched.load_state_dict(state["sched"])
            out.append(sched.get_last_lr())
            sched.step()
        return out

    assert run(True) == run(False)


def test_lambda_state_dict_saves_objects_not_functions() -> None:
    opt = two_groups()
    warm = Warmup(4)
    sched = lr_scheduler.LambdaLR(opt, [LAMBDAS["exp09"], warm])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [None, {"epochs": 4}]
    assert "optimizer" not in state and state["last_epoch"] == 0
    other = Warmup(10)
    sched2 = lr_scheduler.LambdaLR(two_groups(), [LAMBDAS["exp09"], other])
    sched2.load_state_dict(state)
    assert other.epochs == 4 and sched2.lr_lambdas[1] is other
    assert state["lr_lambdas"] == [None, {"epochs": 4}]  # the caller's dict is not changed


def test_lambda_state_dict_like_pytorch() -> None:
    torch = pytest.importorskip("torch")
    sched = lr_scheduler.LambdaLR(two_groups(), [LAMBDAS["exp09"], Warmup(4)])
    tsched = torch.optim.lr_scheduler.LambdaLR(two_groups(torch),
                                               [LAMBDAS["exp09"], Warmup(4)])
    sched.step(), tsched.step()
    ours, theirs = sched.state_dict(), tsched.state_dict()
    assert ours["lr_lambdas"] == theirs["lr_lambdas"]
    for key in ("last_epoch", "base_lrs", "_last_lr"):
        assert ours[key] == theirs[key]


def test_multistep_milestones_counter_like_pytorch() -> None:
    sched = lr_scheduler.MultiStepLR(two_groups(), milestones=[5, 2, 5])
    assert sched.milestones == {2: 1, 5: 2}


def test_schedule_last_epoch_resumes_from_initial_lr() -> None:
    opt = two_groups()
    lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=4)  # sets initial_lr
    sched = lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=4, last_epoch=1)
    assert sched.last_epoch == 2
    np.testing.assert_allclose(sched.get_last_lr(), [0.75, 0.3])  # 0.5 + 0.5 * 2/4


@pytest.mark.parametrize("make, error, match", [
    (lambda o: lr_scheduler.LambdaLR(o, [LAMBDAS["exp09"]]), ValueError, "2 lr_lambdas"),
    (lambda o: lr_scheduler.LambdaLR(o, 0.5), TypeError, "lr_lambda"),
    (lambda o: lr_scheduler.LambdaLR(None, LAMBDAS["exp09"]), TypeError, "optimizer"),
    (lambda o: lr_scheduler.MultiStepLR(o, milestones=3), TypeError, "milestones"),
    (lambda o: lr_scheduler.MultiStepLR(o, milestones=[1, 2.5]), TypeError, "milestones"),
    (lambda o: lr_scheduler.MultiStepLR(o, milestones=[-1]), ValueError, "milestones"),
    (lambda o: lr_scheduler.MultiStepLR(o, milestones=[1], gamma="x"), TypeError, "gamma"),
    (lambda o: lr_scheduler.MultiStepLR(o, milestones=[1], gamma=-1), ValueError, "gamma"),
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0), ValueError, "start_factor"),
    (lambda o: lr_scheduler.LinearLR(o, start_factor=1.5), ValueError, "start_factor"),
    (lambda o: lr_scheduler.LinearLR(o, end_factor=-0.1), ValueError, "end_factor"),
    (lambda o: lr_scheduler.LinearLR(o, total_iters=-1), ValueError, "total_iters"),
    (lambda o: lr_scheduler.LinearLR(o, total_iters=2.5), TypeError, "total_iters"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0), ValueError, "total_steps"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=0), ValueError, "total_steps"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=[1.0], total_steps=5), ValueError, "max_lr"),
    (lambda o: lr_scheduler.OneCycleLR(o, 1.0, 5, pct_start=1.5), ValueError, "pct_start"),
    (lambda o: lr_scheduler.OneCycleLR(o, 1.0, 5, anneal_strategy="exp"), ValueError,
     "anneal_strategy"),
    (lambda o: lr_scheduler.OneCycleLR(optim.Adagrad(o.params), 1.0, 5), ValueError,
     "cycle_momentum"),
])
def test_schedule_bad_arguments(make, error, match) -> None:
    opt = two_groups()
    with pytest.raises(error, match=match):
        make(opt)
    assert [g["lr"] for g in opt.param_groups] == [1.0, 0.4]


def test_linear_lr_start_factor_has_one_message() -> None:
    for bad in (0, 2, -1, float("nan")):
        with pytest.raises(ValueError, match=r"^LinearLR: invalid start_factor \S+ \(must be in "
                                             r"\(0, 1\]\)$"):
            lr_scheduler.LinearLR(two_groups(), start_factor=bad)


@pytest.mark.parametrize("make, bad, error, match", [
    (lambda o: lr_scheduler.MultiStepLR(o, milestones=[2, 4]),
     {"last_epoch": "x", "milestones": 3}, TypeError, "milestones must be a Counter"),
    (lambda o: lr_scheduler.MultiStepLR(o, milestones=[2, 4]),
     {"milestones": {1: 1}, "last_epoch": "x"}, TypeError, "last_epoch must be a whole number"),
    (lambda o: lr_scheduler.StepLR(o, step_size=2), {"gamma": 0.2, "last_epoch": 1.5},
     TypeError, "last_epoch must be a whole number"),
    (lambda o: lr_scheduler.StepLR(o, step_size=2), {"last_epoch": 3, "base_lrs": [1.0]},
     ValueError, "base_lrs must have 2 entries"),
    (lambda o: lr_scheduler.LinearLR(o), {"start_factor": "x"}, TypeError, "start_factor"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=4), {"T_max": None}, TypeError, "T_max"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=10),
     {"last_epoch": 2, "phases": [(1.0, "a", "b", "c", "d")]}, ValueError, "phases"),
    (lambda o: lr_scheduler.LambdaLR(o, [LAMBDAS["exp09"], Warmup(4)]),
     {"last_epoch": 3, "lr_lambdas": [None, 5]}, ValueError, "lr_lambdas"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o), {"num_bad_epochs": 3, "mode": 1}, TypeError,
     "mode must be a string"),
    (lambda o: lr_scheduler.ExponentialLR(o, gamma=0.5), [("last_epoch", 3)], TypeError,
     "expected a dict"),
])
def test_schedule_load_state_dict_checks_everything_before_changing_anything(
        make, bad, error, match) -> None:
    sched = make(two_groups())
    sched.step(1.0) if isinstance(sched, lr_scheduler.ReduceLROnPlateau) else sched.step()
    before = copy.deepcopy(sched.state_dict())
    with pytest.raises(error, match=match):
        sched.load_state_dict(bad)
    assert sched.state_dict() == before


def test_lambda_load_state_dict_checks_lambdas() -> None:
    sched = lr_scheduler.LambdaLR(two_groups(), LAMBDAS["exp09"])
    state = sched.state_dict()
    with pytest.raises(ValueError, match="lr_lambdas"):
        sched.load_state_dict({**state, "lr_lambdas": [None]})


# ----- buffers, requires_grad_, load_state_dict's result --------------------------------------
class Stats(nn.Module):
    """A module with parameters and buffers of every kind."""

    def __init__(self) -> None:
        self.lin = nn.Linear(2, 3)
        self.register_buffer("mean", Tensor(np.arange(3.0)))
        self.register_buffer("scratch", Tensor(np.ones(2)), persistent=False)
        self.register_buffer("count", tg.tensor(5))
        self.register_buffer("unset", None)
        self.w = nn.Parameter(np.ones(2))


def test_buffers_in_state_dict_not_in_parameters() -> None:
    m = nn.Sequential(Stats(), nn.Linear(3, 1))
    assert list(m.state_dict()) == ["0.w", "0.mean", "0.count", "0.lin.weight", "0.lin.bias",
                                    "1.weight", "1.bias"]   # PyTorch's order (checked live)
    assert [n for n, _ in m.named_buffers()] == ["0.mean", "0.scratch", "0.count"]
    assert [n for n, _ in m.named_parameters()] == ["0.w", "0.lin.weight", "0.lin.bias",
                                                     "1.weight", "1.bias"]
    assert len(list(m.buffers())) == 3 and m[0].unset is None
    assert [n for n, _ in m[0].named_buffers(prefix="stats", recurse=False)] == [
        "stats.mean", "stats.scratch", "stats.count"]
    m[0].mean = Tensor(np.full(3, 7.0))  # assigning a tensor replaces the buffer
    np.testing.assert_array_equal(m.state_dict()["0.mean"], [7.0, 7.0, 7.0])


def test_buffers_order_like_pytorch() -> None:
    torch = pytest.importorskip("torch")

    class TorchStats(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(2, 3)
            self.register_buffer("mean", torch.arange(3.0))
            self.register_buffer("scratch", torch.ones(2), persistent=False)
            self.register_buffer("count", torch.tensor(5))
            self.register_buffer("unset", None)
            self.w = torch.nn.Parameter(torch.ones(2))

    tm = torch.nn.Sequential(TorchStats(), torch.nn.Linear(3, 1))
    m = nn.Sequential(Stats(), nn.Linear(3, 1))
    assert list(m.state_dict()) == list(tm.state_dict())
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in tm.named_buffers()]
    tm.double(), m.double()
    assert [str(b.dtype) for b in m.buffers()] == [str(b.dtype).replace("torch.", "")
                                                     for b in tm.buffers()]


def test_buffers_cast_and_load() -> None:
    m = Stats()
    m.double()
    assert m.mean.dtype == np.float64 and m.scratch.dtype == np.float64
    assert m.count.dtype == np.int64  # integer buffers keep their dtype, as in PyTorch
    state = m.state_dict()
    state["mean"] = np.array([1.0, 2.0, 4.0])
    state["count"] = np.array(9)
    assert m.load_state_dict(state) == ([], [])
    np.testing.assert_array_equal(m.mean.data, [1.0, 2.0, 4.0])
    assert m.count.item() == 9 and m.count.dtype == np.int64
    before = m.state_dict()
    with pytest.raises(KeyError, match="mean: shape"):
        m.load_state_dict({**state, "mean": np.zeros(4), "w": np.zeros(2)})
    for key, value in m.state_dict().items():
        np.testing.assert_array_equal(value, before[key])  # nothing changed


def test_buffers_saved_by_checkpoint(tmp_path) -> None:
    m = Stats()
    m.mean.data[...] = [3.0, 1.0, 2.0]
    tg.save(tmp_path / "m.npz", m)
    m2 = Stats()
    tg.load(tmp_path / "m.npz", m2)
    np.testing.assert_array_equal(m2.mean.data, [3.0, 1.0, 2.0])
    with pytest.raises(tg.checkpoint.CheckpointError, match="mean"):
        tg.load(tmp_path / "m.npz", nn.Linear(2, 3))


@pytest.mark.parametrize("name, tensor, error", [
    ("a.b", Tensor([1.0]), KeyError),
    ("", Tensor([1.0]), KeyError),
    (3, Tensor([1.0]), TypeError),
    ("lin", Tensor([1.0]), KeyError),            # an attribute that exists already
    ("x", np.ones(2), TypeError),
    ("x", nn.Parameter(np.ones(2)), TypeError),  # parameters are assigned, not registered
])
def test_register_buffer_bad_arguments(name, tensor, error) -> None:
    m = Stats()
    with pytest.raises(error, match="register_buffer"):
        m.register_buffer(name, tensor)
    assert [n for n, _ in m.named_buffers()] == ["mean", "scratch", "count"]


def test_requires_grad_freezes_and_unfreezes() -> None:
    m = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    assert m[0].requires_grad_(False) is m[0]
    assert [p.requires_grad for p in m.parameters()] == [False, False, True, True]
    m(np.ones((1, 2))).sum().backward()
    assert m[0].weight.grad is None and m[1].weight.grad is not None
    m.requires_grad_()
    assert all(p.requires_grad for p in m.parameters())
    with pytest.raises(TypeError, match="requires_grad_"):
        m.requires_grad_("no")


def test_load_state_dict_returns_incompatible_keys() -> None:
    m = nn.Linear(2, 2)
    result = m.load_state_dict(nn.Linear(2, 2).state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    state = {"weight": np.ones((2, 2)), "extra": np.zeros(1)}
    result = m.load_state_dict(state, strict=False)
    assert result == (["bias"], ["extra"]) and result.missing_keys == ["bias"]
    assert repr(result) == "_IncompatibleKeys(missing_keys=['bias'], unexpected_keys=['extra'])"
    np.testing.assert_array_equal(m.weight.data, np.ones((2, 2)))
    with pytest.raises(KeyError, match="missing keys: \\['bias'\\]"):
        m.load_state_dict(state)
    with pytest.raises(KeyError, match="weight: shape"):  # shapes are checked when not strict
        m.load_state_dict({"weight": np.ones((3, 2))}, strict=False)


def test_load_state_dict_result_like_pytorch() -> None:
    torch = pytest.importorskip("torch")
    tm = torch.nn.Linear(2, 2)
    m = nn.Linear(2, 2)
    theirs = tm.load_state_dict({"weight": torch.ones(2, 2), "extra": torch.zeros(1)},
                                strict=False)
    ours = m.load_state_dict({"weight": np.ones((2, 2)), "extra": np.zeros(1)}, strict=False)
    assert repr(ours) == repr(theirs) and tuple(ours) == tuple(theirs)
    assert repr(m.load_state_dict(m.state_dict())) == repr(tm.load_state_dict(tm.state_dict()))


# ----- ModuleDict, Flatten --------------------------------------------------------------------
class Heads(nn.Module):
    def __init__(self) -> None:
        self.body = nn.Linear(3, 4)
        self.heads = nn.ModuleDict({"tag": nn.Linear(4, 2), "score": nn.Linear(4, 1)})

    def forward(self, x):
        h = self.body(x).tanh()
        return {k: head(h) for k, head in self.heads.items()}


def test_module_dict_registers_children() -> None:
    m = Heads()
    assert [n for n, _ in m.named_parameters()] == [
        "body.weight", "body.bias", "heads.tag.weight", "heads.tag.bias", "heads.score.weight",
        "heads.score.bias"]
    out = m(np.ones((5, 3)))
    (out["tag"].sum() + out["score"].sum()).backward()
    assert all(p.grad is not None for p in m.parameters())
    assert len(list(optim.SGD(m.parameters(), lr=0.1).params)) == 6


def test_module_dict_methods() -> None:
    d = nn.ModuleDict()
    d["a"] = nn.Identity()
    d.update([("b", nn.Tanh()), ["c", nn.ReLU()]])
    d.update({"a": nn.Sigmoid()})  # replacing keeps the position
    assert list(d) == list(d.keys()) == ["a", "b", "c"]
    assert [type(v).__name__ for v in d.values()] == ["Sigmoid", "Tanh", "ReLU"]
    assert [k for k, _ in d.items()] == ["a", "b", "c"]
    assert "b" in d and "z" not in d and len(d) == 3 and d.b is d["b"]
    assert isinstance(d.pop("b"), nn.Tanh) and list(d) == ["a", "c"]
    del d["a"]
    assert list(d) == ["c"]
    d.update(nn.ModuleDict({"e": nn.Identity()}))
    assert list(d) == ["c", "e"]
    d.clear()
    assert len(d) == 0
    with pytest.raises(AttributeError):
        _ = d.missing


@pytest.mark.parametrize("bad, error", [
    ({"x": 3}, TypeError), ({1: nn.Identity()}, TypeError), ({"a.b": nn.Identity()}, KeyError),
    ([("x", nn.Identity(), 1)], ValueError), (nn.Identity(), TypeError), (5, TypeError),
])
def test_module_dict_bad_entries_change_nothing(bad, error) -> None:
    d = nn.ModuleDict({"keep": nn.Identity()})
    with pytest.raises(error, match="ModuleDict"):
        d.update({"new": nn.Identity(), **bad} if isinstance(bad, dict) else bad)
    assert list(d) == ["keep"]


def test_module_dict_names_like_pytorch() -> None:
    torch = pytest.importorskip("torch")
    theirs = torch.nn.ModuleDict({"tag": torch.nn.Linear(4, 2), "score": torch.nn.Linear(4, 1)})
    ours = nn.ModuleDict({"tag": nn.Linear(4, 2), "score": nn.Linear(4, 1)})
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize("args, shape", [
    ((), (2, 3, 4, 5)), ((0,), (2, 3, 4)), ((1, 2), (2, 3, 4, 5)), ((-3, -2), (2, 3, 4, 5)),
    ((), (0, 3, 4)), ((0,), ()), ((2, 2), (2, 3, 4)),
])
def test_flatten_like_pytorch(args, shape) -> None:
    x = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    expected = {((), (2, 3, 4, 5)): (2, 60), ((0,), (2, 3, 4)): (24,),
                ((1, 2), (2, 3, 4, 5)): (2, 12, 5), ((-3, -2), (2, 3, 4, 5)): (2, 12, 5),
                ((), (0, 3, 4)): (0, 12), ((0,), ()): (1,), ((2, 2), (2, 3, 4)): (2, 3, 4)}
    t = Tensor(x, requires_grad=True)
    y = nn.Flatten(*args)(t)
    assert y.shape == expected[(args, shape)]
    np.testing.assert_array_equal(y.data.ravel(), x.ravel())
    if x.size:
        y.sum().backward()
        np.testing.assert_array_equal(t.grad, np.ones(shape))


def test_flatten_errors_and_repr() -> None:
    with pytest.raises(IndexError, match="Flatten"):
        nn.Flatten()(np.zeros(3))   # PyTorch: IndexError, dim 1 of a 1-d input
    with pytest.raises(ValueError, match="Flatten"):
        nn.Flatten(2, 1)(np.zeros((2, 3, 4)))
    with pytest.raises(TypeError, match="start_dim"):
        nn.Flatten(1.5)
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"


# ----- LayerNorm ------------------------------------------------------------------------------
LN_CASES = json.loads(str(FIX["ln_cases"]))


def layer_norm(case: str) -> nn.LayerNorm:
    shape, kwargs, _ = LN_CASES[case]
    m = nn.LayerNorm(shape, dtype=np.float64, **kwargs)
    for name in ("weight", "bias"):
        if f"ln.{case}.{name}" in FIX:
            getattr(m, name).data = FIX[f"ln.{case}.{name}"].copy()
        else:
            assert getattr(m, name) is None
    return m


@pytest.mark.parametrize("case", sorted(LN_CASES))
def test_layer_norm_matches_pytorch(case: str) -> None:
    m = layer_norm(case)
    x = Tensor(FIX[f"ln.{case}.x"], requires_grad=True)
    y = m(x)
    np.testing.assert_allclose(y.data, FIX[f"ln.{case}.y"], rtol=1e-10, atol=1e-12)
    (y * Tensor(FIX[f"ln.{case}.gy"])).sum().backward()
    np.testing.assert_allclose(x.grad, FIX[f"ln.{case}.gx"], rtol=1e-10, atol=1e-12)
    for name in ("weight", "bias"):
        if f"ln.{case}.g{name}" in FIX:
            np.testing.assert_allclose(getattr(m, name).grad, FIX[f"ln.{case}.g{name}"],
                                       rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", sorted(LN_CASES))
def test_layer_norm_gradcheck(case: str) -> None:
    m = layer_norm(case)
    params = [p for p in (m.weight, m.bias) if p is not None]

    def fn(x, *ps):
        for name, p in zip(("weight", "bias"), ps):
            setattr(m, name, p)
        return m(x)

    assert tg.gradcheck(fn, [Tensor(FIX[f"ln.{case}.x"], requires_grad=True),
                             *[Tensor(p.data, requires_grad=True) for p in params]])


def test_layer_norm_float32_and_live_pytorch() -> None:
    m = nn.LayerNorm([3, 4])
    assert m.weight.dtype == np.float32 and m.weight.shape == (3, 4)
    np.testing.assert_array_equal(m.weight.data, 1.0)
    np.testing.assert_array_equal(m.bias.data, 0.0)
    x = np.random.default_rng(1).normal(size=(2, 3, 4)) * 5
    y = m(x)   # float64 input, float32 module: computed in float32
    assert y.dtype == np.float32
    torch = pytest.importorskip("torch")
    tm = torch.nn.LayerNorm([3, 4])
    np.testing.assert_allclose(y.data, tm(torch.tensor(x, dtype=torch.float32)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)
    assert repr(m) == repr(tm)
    assert repr(nn.LayerNorm(4, elementwise_affine=False)) == repr(
        torch.nn.LayerNorm(4, elementwise_affine=False))
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in tm.named_parameters()]


@pytest.mark.parametrize("make, error, match", [
    (lambda: nn.LayerNorm("4"), TypeError, "normalized_shape"),
    (lambda: nn.LayerNorm([4, 0]), ValueError, "normalized_shape"),
    (lambda: nn.LayerNorm([]), ValueError, "LayerNorm: normalized_shape must hold at least one"),
    (lambda: nn.LayerNorm(()), ValueError, "LayerNorm: normalized_shape must hold at least one"),
    (lambda: nn.LayerNorm(4, eps=-1.0), ValueError, "eps"),
    (lambda: nn.LayerNorm(4, eps="small"), TypeError, "eps"),
    (lambda: nn.LayerNorm(4, bias="yes"), TypeError, "bias"),
    (lambda: nn.LayerNorm(4)(np.zeros((2, 5))), ValueError, "normalized_shape"),
    (lambda: nn.LayerNorm([2, 3])(np.zeros(3)), ValueError, "normalized_shape"),
])
def test_layer_norm_bad_arguments(make, error, match) -> None:
    with pytest.raises(error, match=match):
        make()


def test_layer_norm_constant_rows_are_finite() -> None:
    y = nn.LayerNorm(3, dtype=np.float64)(np.full((2, 3), 4.0))   # variance 0: eps keeps it
    np.testing.assert_array_equal(y.data, np.zeros((2, 3)))


# ----- nn.init --------------------------------------------------------------------------------
def test_kaiming_uniform_bound_from_pytorch_formula() -> None:
    tg.manual_seed(0)
    w = nn.Parameter(np.empty((64, 30, 3)))          # fan_in = 30 * 3, fan_out = 64 * 3
    cases = [({}, math.sqrt(2.0) * math.sqrt(3.0 / 90)),    # leaky_relu, a=0: gain sqrt(2)
             ({"a": math.sqrt(5)}, math.sqrt(2.0 / 6) * math.sqrt(3.0 / 90)),  # nn.Linear's
             ({"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(2.0) * math.sqrt(3.0 / 192)),
             ({"nonlinearity": "tanh"}, 5.0 / 3 * math.sqrt(3.0 / 90))]
    for kwargs, bound in cases:
        assert nn.init.kaiming_uniform_(w, **kwargs) is w
        assert np.abs(w.data).max() <= bound
        assert np.abs(w.data).max() > 0.99 * bound
        assert abs(w.data.std() - bound / math.sqrt(3)) < 0.03 * bound  # U(-b, b): std b/sqrt3


def test_kaiming_normal_std_from_pytorch_formula() -> None:
    w = nn.Parameter(np.empty((300, 200)))
    nn.init.kaiming_normal_(w, generator=tg.Generator().manual_seed(1))
    assert abs(w.data.std() / (math.sqrt(2.0) / math.sqrt(200)) - 1) < 0.01
    nn.init.kaiming_normal_(w, a=0.2, mode="fan_out")
    assert abs(w.data.std() / (math.sqrt(2.0 / 1.04) / math.sqrt(300)) - 1) < 0.01
    assert abs(w.data.mean()) < 0.003


def test_kaiming_same_distribution_as_pytorch() -> None:
    torch = pytest.importorskip("torch")
    for kwargs in [{}, {"a": 0.3, "mode": "fan_out"}, {"nonlinearity": "relu"}]:
        w, tw = nn.Parameter(np.empty((256, 128))), torch.empty(256, 128)
        nn.init.kaiming_uniform_(w, **kwargs), torch.nn.init.kaiming_uniform_(tw, **kwargs)
        assert abs(np.abs(w.data).max() / tw.abs().max().item() - 1) < 0.01
        nn.init.kaiming_normal_(w, **kwargs), torch.nn.init.kaiming_normal_(tw, **kwargs)
        assert abs(w.data.std() / tw.std().item() - 1) < 0.02


def test_kaiming_edge_cases() -> None:
    empty = nn.Parameter(np.empty((0, 4)))
    assert nn.init.kaiming_uniform_(empty) is empty   # PyTorch: a no-op (with a warning)
    with pytest.raises(ValueError, match="kaiming_uniform_.*2 dimensions"):
        nn.init.kaiming_uniform_(nn.Parameter(np.empty(4)))
    with pytest.raises(ValueError, match="kaiming_normal_: mode"):
        nn.init.kaiming_normal_(nn.Parameter(np.empty((2, 2))), mode="fan_avg")
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.init.kaiming_uniform_(nn.Parameter(np.empty((2, 2))), nonlinearity="swish")
    with pytest.raises(TypeError, match="kaiming_uniform_: expected a Tensor"):
        nn.init.kaiming_uniform_([[0.0, 0.0], [0.0, 0.0]])  # a parameter's .data array is filled


def test_calculate_gain_like_pytorch() -> None:
    expected = {"linear": 1.0, "conv2d": 1.0, "sigmoid": 1.0, "tanh": 5 / 3,
                "relu": math.sqrt(2), "selu": 0.75}
    for name, gain in expected.items():
        assert nn.init.calculate_gain(name) == pytest.approx(gain, rel=1e-15)
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="negative_slope"):
        nn.init.calculate_gain("leaky_relu", "0.2")
    torch = pytest.importorskip("torch")
    for name in [*expected, "conv_transpose3d"]:
        assert nn.init.calculate_gain(name) == torch.nn.init.calculate_gain(name)


def test_trunc_normal_bounds_and_moments() -> None:
    w = nn.Parameter(np.empty((400, 250)))
    mean, std, a, b = 1.0, 2.0, 0.0, 3.0
    nn.init.trunc_normal_(w, mean, std, a, b, generator=tg.Generator().manual_seed(0))
    assert w.data.min() >= a and w.data.max() <= b
    # the truncated normal's mean: mu + sigma * (pdf(alpha) - pdf(beta)) / (cdf(beta) - cdf(alpha))
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = [math.exp(-v * v / 2) / math.sqrt(2 * math.pi) for v in (alpha, beta)]
    cdf = [0.5 * (1 + math.erf(v / math.sqrt(2))) for v in (alpha, beta)]
    z = cdf[1] - cdf[0]
    assert abs(w.data.mean() - (mean + std * (pdf[0] - pdf[1]) / z)) < 0.01
    var = std ** 2 * (1 + (alpha * pdf[0] - beta * pdf[1]) / z - ((pdf[0] - pdf[1]) / z) ** 2)
    assert abs(w.data.std() / math.sqrt(var) - 1) < 0.01
    nn.init.trunc_normal_(w)  # the defaults: N(0, 1) cut at -2 and 2
    assert w.data.min() >= -2 and w.data.max() <= 2 and abs(w.data.mean()) < 0.01
    nn.init.trunc_normal_(w, mean=5.0, std=0.0, a=-1, b=1)
    np.testing.assert_array_equal(w.data, 1.0)
    with pytest.raises(ValueError, match="trunc_normal_"):
        nn.init.trunc_normal_(w, mean=0.0, std=1.0, a=10.0, b=11.0)
    with pytest.raises(ValueError, match="trunc_normal_"):
        nn.init.trunc_normal_(w, a=1.0, b=0.0)


# ----- the default dtype ---------------------------------------------------------------------
def test_modules_take_the_default_dtype_as_pytorch_does() -> None:
    # PyTorch: dtype=None means torch.get_default_dtype(); a float64 default made float32
    # modules here, so a float64 gradient check silently ran in float32
    made = [lambda d: nn.Linear(3, 2, dtype=d), lambda d: nn.LSTM(3, 2, dtype=d),
            lambda d: nn.GRUCell(3, 2, dtype=d), lambda d: nn.Embedding(4, 3, dtype=d),
            lambda d: nn.LayerNorm(3, dtype=d), lambda d: nn.RNN(3, 2, dtype=d)]
    try:
        for make in made:
            assert {p.dtype for p in make(None).parameters()} == {np.dtype(np.float32)}
        tg.set_default_dtype(tg.float64)
        for make in made:
            assert {p.dtype for p in make(None).parameters()} == {np.dtype(np.float64)}
            assert {p.dtype for p in make(np.float32).parameters()} == {np.dtype(np.float32)}
        assert nn.LSTM(3, 2)(np.ones((2, 1, 3)))[0].dtype == np.float64
    finally:
        tg.set_default_dtype(tg.float32)


def test_layernorm_without_parameters_keeps_a_float64_input_float64() -> None:
    x = np.array([[1.0, 2.0, 4.0, 8.0], [0.5, 0.25, 0.0, -1.0]])
    for ln in (nn.LayerNorm(4, elementwise_affine=False),
               nn.LayerNorm(4, elementwise_affine=False).double()):
        y = ln(Tensor(x))
        assert y.dtype == np.float64  # it ran in float32 before: 2e-7 off in a float64 model
        mu, var = x.mean(1, keepdims=True), x.var(1, keepdims=True)
        np.testing.assert_allclose(y.data, (x - mu) / np.sqrt(var + 1e-5), rtol=1e-12)
    assert nn.LayerNorm(4, elementwise_affine=False)(np.arange(4)).dtype == np.float32

