"""Checkpoints: bit-exact round trips (module, optimizer, metadata), atomic writes, and clear
errors that leave the module and optimizer unchanged."""

from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn, optim
from tinygrad_rnn.checkpoint import CheckpointError, load, read_metadata, save


class Net(nn.Module):
    """A small hand-made module: a weight matrix, a bias, and a sub-module."""

    def __init__(self, rng: np.random.Generator, dtype=np.float64, n_out: int = 3) -> None:
        self.W = nn.Parameter(rng.normal(size=(n_out, 4)).astype(dtype))
        self.b = nn.Parameter(rng.normal(size=n_out).astype(dtype))
        self.inner = Inner(rng, dtype)

    def forward(self, x):
        return (x @ self.W.T + self.b).tanh() * self.inner.scale


class Inner(nn.Module):
    def __init__(self, rng, dtype) -> None:
        self.scale = nn.Parameter(rng.normal(size=(1,)).astype(dtype))


def _train(model, opt, rng, steps=3):
    for _ in range(steps):
        opt.zero_grad()
        x = Tensor(rng.normal(size=(5, 4)).astype(model.W.dtype))
        (model(x) ** 2).sum().backward()
        opt.step()


def _snapshot(model, opt):
    return model.state_dict(), opt.state_dict() if opt is not None else None


def _assert_same(a, b):
    (ma, oa), (mb, ob) = a, b
    assert ma.keys() == mb.keys()
    for k in ma:
        assert ma[k].dtype == mb[k].dtype
        np.testing.assert_array_equal(ma[k], mb[k])
    if oa is not None:
        assert oa["type"] == ob["type"] and oa["param_groups"] == ob["param_groups"]
        assert oa["state"].keys() == ob["state"].keys()
        for i in oa["state"]:
            for name, value in oa["state"][i].items():
                np.testing.assert_array_equal(value, ob["state"][i][name])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make_opt", [
    lambda ps: optim.Adam(ps, lr=0.01, betas=(0.8, 0.9)),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: optim.RMSprop(ps, centered=True, momentum=0.5),
    lambda ps: optim.Adagrad(ps),
])
def test_round_trip_is_bit_exact(tmp_path, dtype, make_opt) -> None:
    rng = np.random.default_rng(0)
    model = Net(rng, dtype)
    opt = make_opt(model.parameters())
    _train(model, opt, rng)
    path = tmp_path / "ckpt.npz"
    meta = {"epoch": 3, "vocab": ["e", "h", "l", "o"], "hyper": {"lr": 0.01, "k": 5}}
    save(path, model, opt, **meta)
    expected = _snapshot(model, opt)

    fresh = Net(np.random.default_rng(99), dtype)
    fresh_opt = make_opt(fresh.parameters())
    got_meta = load(path, fresh, fresh_opt)
    assert got_meta == meta
    _assert_same(_snapshot(fresh, fresh_opt), expected)
    for p in fresh.parameters():
        assert p.dtype == dtype

    # training on from the loaded state equals training on from the original, to the bit
    _train(model, opt, np.random.default_rng(5))
    _train(fresh, fresh_opt, np.random.default_rng(5))
    _assert_same(_snapshot(fresh, fresh_opt), _snapshot(model, opt))


def test_module_only_and_optimizer_ignored(tmp_path) -> None:
    rng = np.random.default_rng(1)
    model = Net(rng)
    opt = optim.Adam(model.parameters())
    _train(model, opt, rng)
    save(tmp_path / "a.npz", model)
    fresh = Net(np.random.default_rng(2))
    assert load(tmp_path / "a.npz", fresh) == {}
    _assert_same(_snapshot(fresh, None), _snapshot(model, None))
    # a checkpoint with optimizer state loads into a module alone
    save(tmp_path / "b.npz", model, opt)
    load(tmp_path / "b.npz", Net(np.random.default_rng(3)))


def test_works_with_nn_modules_and_top_level_names(tmp_path) -> None:
    tg.manual_seed(0)
    lstm = nn.LSTM(3, 5, num_layers=2, dtype=np.float64)
    opt = optim.Adam(lstm.parameters())
    out, _ = lstm(Tensor(np.ones((4, 2, 3))))
    out.sum().backward()
    opt.step()
    tg.save(tmp_path / "lstm.npz", lstm, opt, note="hi")
    tg.manual_seed(1)
    other = nn.LSTM(3, 5, num_layers=2, dtype=np.float64)
    other_opt = optim.Adam(other.parameters())
    assert tg.load(tmp_path / "lstm.npz", other, other_opt) == {"note": "hi"}
    _assert_same(_snapshot(other, other_opt), _snapshot(lstm, opt))


def test_file_is_plain_npz_without_pickles(tmp_path) -> None:
    rng = np.random.default_rng(4)
    model = Net(rng)
    save(tmp_path / "c.npz", model, optim.SGD(model.parameters(), lr=0.1), epoch=1)
    with np.load(tmp_path / "c.npz", allow_pickle=False) as npz:
        assert "module/W" in npz.files and "module/inner.scale" in npz.files
        np.testing.assert_array_equal(npz["module/W"], model.W.data)


def _unchanged_after(fn, model, opt):
    before = _snapshot(model, opt)
    lr_before = opt.param_groups[0]["lr"] if opt is not None else None
    fn()
    _assert_same(_snapshot(model, opt), before)
    if opt is not None:
        assert opt.param_groups[0]["lr"] == lr_before


@pytest.fixture
def trained(tmp_path):
    rng = np.random.default_rng(6)
    model = Net(rng)
    opt = optim.Adam(model.parameters(), lr=0.05)
    _train(model, opt, rng)
    path = tmp_path / "good.npz"
    save(path, model, opt)
    target = Net(np.random.default_rng(7))
    target_opt = optim.Adam(target.parameters(), lr=0.3)
    _train(target, target_opt, rng, steps=1)
    return path, target, target_opt


def test_missing_file(tmp_path, trained) -> None:
    _, model, opt = trained
    missing = tmp_path / "nope.npz"

    def attempt():
        with pytest.raises(FileNotFoundError, match="nope.npz"):
            load(missing, model, opt)
    _unchanged_after(attempt, model, opt)


def test_read_metadata_without_a_module(tmp_path) -> None:
    model = nn.Linear(2, 3)
    save(tmp_path / "m.npz", model, cell="lstm", hidden_size=7)
    assert read_metadata(tmp_path / "m.npz") == {"cell": "lstm", "hidden_size": 7}
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_metadata(tmp_path / "nope.npz")
    with pytest.raises(CheckpointError, match="is a directory"):
        read_metadata(tmp_path)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip", "empty"])
def test_corrupt_file(tmp_path, trained, damage) -> None:
    good, model, opt = trained
    data = good.read_bytes()
    bad = tmp_path / "bad.npz"
    if damage == "truncate":
        bad.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        bad.write_bytes(b"this is not a zip file at all" * 10)
    elif damage == "empty":
        bad.write_bytes(b"")
    else:  # flip bytes inside the first stored array: the zip CRC check catches it
        with zipfile.ZipFile(good) as z:
            info = z.getinfo("module/W.npy")
        offset = info.header_offset + 30 + len(info.filename) + len(info.extra) + 130
        flipped = bytearray(data)
        for i in range(offset, offset + 8):
            flipped[i] ^= 0xFF
        bad.write_bytes(bytes(flipped))

    def attempt():
        with pytest.raises(CheckpointError, match="bad.npz"):
            load(bad, model, opt)
    _unchanged_after(attempt, model, opt)


def test_not_a_checkpoint(tmp_path, trained) -> None:
    _, model, opt = trained
    other = tmp_path / "other.npz"
    np.savez(other, W=np.zeros((3, 4)))
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))

    def attempt():
        with pytest.raises(CheckpointError, match="other.npz.*not a tinygrad_rnn checkpoint"):
            load(other, model, opt)
        with pytest.raises(CheckpointError, match="single.npy"):
            load(single, model, opt)
    _unchanged_after(attempt, model, opt)


def test_mismatched_module_lists_every_problem(tmp_path, trained) -> None:
    path, _, _ = trained
    model = Net(np.random.default_rng(8), n_out=2)  # W (2, 4), b (2,): shapes differ
    model.extra = nn.Parameter(np.zeros(1))  # missing from the file
    opt = optim.Adam(model.parameters(), lr=0.3)
    _train(model, opt, np.random.default_rng(9), steps=1)

    def attempt():
        with pytest.raises(CheckpointError) as info:
            load(path, model, opt)
        message = str(info.value)
        assert "good.npz" in message and "extra" in message
        assert "W: shape (3, 4)" in message and "b: shape (3,)" in message
    _unchanged_after(attempt, model, opt)


def test_mismatched_optimizer(tmp_path, trained) -> None:
    path, model, _ = trained

    sgd = optim.SGD(model.parameters(), lr=0.1)

    def wrong_type():
        with pytest.raises(CheckpointError, match="good.npz.*Adam.*SGD"):
            load(path, model, sgd)
    _unchanged_after(wrong_type, model, sgd)

    fewer = optim.Adam(list(model.parameters())[:2], lr=0.3)

    def wrong_count():
        with pytest.raises(CheckpointError, match="good.npz.*3 parameters"):
            load(path, model, fewer)
    _unchanged_after(wrong_count, model, fewer)

    save(tmp_path / "no_opt.npz", model)
    adam = optim.Adam(model.parameters(), lr=0.3)

    def absent():
        with pytest.raises(CheckpointError, match="no_opt.npz.*no optimizer state"):
            load(tmp_path / "no_opt.npz", model, adam)
    _unchanged_after(absent, model, adam)


def test_module_restored_when_optimizer_fails(tmp_path) -> None:
    """The module is loaded first; if the optimizer state then does not fit, the module gets
    back its very own arrays (same values, same objects)."""
    rng = np.random.default_rng(10)
    model = Net(rng)
    opt = optim.Adam(model.parameters(), lr=0.05)
    _train(model, opt, rng)
    save(tmp_path / "m.npz", model, opt)
    target = Net(np.random.default_rng(11))
    arrays = [p.data for p in target.parameters()]
    values = [a.copy() for a in arrays]
    wrong = optim.Adagrad(target.parameters())
    with pytest.raises(CheckpointError, match="m.npz.*Adam.*Adagrad"):
        load(tmp_path / "m.npz", target, wrong)
    for p, a, v in zip(target.parameters(), arrays, values):
        assert p.data is a
        np.testing.assert_array_equal(p.data, v)


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch) -> None:
    rng = np.random.default_rng(12)
    model = Net(rng)
    path = tmp_path / "ckpt.npz"
    save(path, model, epoch=1)
    original = path.read_bytes()

    def broken_savez(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        save(path, Net(np.random.default_rng(13)), epoch=2)
    monkeypatch.undo()
    assert path.read_bytes() == original  # the old checkpoint is intact
    assert sorted(os.listdir(tmp_path)) == ["ckpt.npz"]  # no temporary file left behind
    assert load(path, Net(np.random.default_rng(14))) == {"epoch": 1}


def test_save_errors(tmp_path) -> None:
    model = Net(np.random.default_rng(15))
    with pytest.raises(TypeError, match="'when'"):
        save(tmp_path / "x.npz", model, when=object())
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save(tmp_path / "no" / "dir" / "x.npz", model)
    assert not (tmp_path / "x.npz").exists()


def test_path_used_as_given(tmp_path) -> None:
    model = Net(np.random.default_rng(16))
    save(tmp_path / "weights.ckpt", model)
    assert (tmp_path / "weights.ckpt").exists() and not (tmp_path / "weights.ckpt.npz").exists()
    load(str(tmp_path / "weights.ckpt"), Net(np.random.default_rng(17)))
