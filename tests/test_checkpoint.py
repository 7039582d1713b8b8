"""Checkpoints: bit-exact round trips (module, optimizer, metadata), atomic writes, and clear
errors that leave the module and optimizer unchanged."""

from __future__ import annotations

import json
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


# ----- PyTorch's form: save(obj, path) / load(path) ------------------------------------------
def test_torch_form_round_trips_nested_objects(tmp_path) -> None:
    obj = {"weights": {"W": np.arange(6.0).reshape(2, 3), "b": np.float32(2.5)},
           "tensor": Tensor(np.ones(2), requires_grad=True), "ints": [1, 2, (3, "x")],
           "floats": [0.5, float("inf"), float("nan")], "flags": (True, None),
           7: "int key", "text": "héllo", "empty": {}, "strings": np.array(["a", "bc"])}
    path = tmp_path / "obj.pt"
    tg.save(obj, path)
    got = tg.load(path)
    assert set(got) == set(obj)
    np.testing.assert_array_equal(got["weights"]["W"], obj["weights"]["W"])
    assert isinstance(got["weights"]["b"], np.float32) and got["weights"]["b"] == 2.5
    assert isinstance(got["tensor"], Tensor) and got["tensor"].requires_grad
    assert got["ints"] == [1, 2, (3, "x")] and isinstance(got["ints"][2], tuple)
    assert got["floats"][:2] == [0.5, float("inf")] and np.isnan(got["floats"][2])
    assert got["flags"] == (True, None) and got[7] == "int key" and got["text"] == "héllo"
    assert got["empty"] == {} and got["strings"].tolist() == ["a", "bc"]
    with np.load(path, allow_pickle=False) as npz:  # plain .npz, readable names
        assert "weights/W" in npz.files and "tensor" in npz.files


def test_torch_form_state_dicts_of_model_and_optimizer(tmp_path) -> None:
    rng = np.random.default_rng(20)
    model = Net(rng)
    opt = optim.Adam(model.parameters(), lr=0.05, amsgrad=True)
    _train(model, opt, rng)
    path = tmp_path / "ckpt.pt"
    tg.save({"epoch": 4, "model_state_dict": model.state_dict(),
             "optimizer_state_dict": opt.state_dict(), "loss": Tensor(np.array(0.25))}, path)
    fresh = Net(np.random.default_rng(21))
    fresh_opt = optim.Adam(fresh.parameters(), lr=0.05, amsgrad=True)
    checkpoint = tg.load(path, map_location="cpu", weights_only=True)
    fresh.load_state_dict(checkpoint["model_state_dict"])
    fresh_opt.load_state_dict(checkpoint["optimizer_state_dict"])
    assert checkpoint["epoch"] == 4 and checkpoint["loss"].item() == 0.25
    _assert_same(_snapshot(fresh, fresh_opt), _snapshot(model, opt))
    # a bare state dict loads with model.load_state_dict(load(path)) and with load(path, model)
    tg.save(model.state_dict(), tmp_path / "sd.pt")
    other = Net(np.random.default_rng(22))
    other.load_state_dict(tg.load(tmp_path / "sd.pt"))
    _assert_same(_snapshot(other, None), _snapshot(model, None))
    assert tg.load(tmp_path / "sd.pt", Net(np.random.default_rng(23))) == {}


def test_torch_form_writes_and_reads_open_file_objects(tmp_path) -> None:
    """PyTorch's word_language_model example: `with open(args.save, 'wb') as f:
    torch.save(..., f)` and `with open(args.save, 'rb') as f: torch.load(f)`."""
    import io
    model = Net(np.random.default_rng(25))
    path = tmp_path / "model.pt"
    with open(path, "wb") as f:
        tg.save(model.state_dict(), f)
    other = Net(np.random.default_rng(26))
    with open(path, "rb") as f:
        other.load_state_dict(tg.load(f))
    _assert_same(_snapshot(other, None), _snapshot(model, None))
    with open(path, "rb") as f:  # the module form reads a file object too
        assert tg.load(f, Net(np.random.default_rng(27))) == {}
    buffer = io.BytesIO()
    tg.save({"epoch": 3, "w": model.W}, buffer)
    buffer.seek(0)
    got = tg.load(buffer)
    assert got["epoch"] == 3 and np.array_equal(got["w"].data, model.W.data)
    with open(tmp_path / "t.txt", "w") as f, pytest.raises(TypeError, match="save: the file "
                                                           "object is open in text mode"):
        tg.save({"a": 1}, f)
    with open(path, "r", encoding="latin-1") as f, pytest.raises(TypeError, match="load: the "
                                                                 "file object is open in text"):
        tg.load(f)
    with open(path, "r", encoding="utf-8") as f, pytest.raises(TypeError, match="load: the "
                                                               "file object is open in text"):
        tg.load(f)  # was a UnicodeDecodeError from reading the zip as text
    with open(tmp_path / "junk", "wb") as f:
        f.write(b"not a zip")
    with open(tmp_path / "junk", "rb") as f, pytest.raises(CheckpointError, match="load: '.*"
                                                           "junk' is not a tinygrad_rnn"):
        tg.load(f)
    with pytest.raises(TypeError, match="save: path must be a str, an os.PathLike or a file"):
        tg.save({"a": 1}, 3)
    with pytest.raises(TypeError, match="load: path must be a str, an os.PathLike or a file"):
        tg.load(3)


def test_torch_form_errors(tmp_path) -> None:
    model = Net(np.random.default_rng(24))
    with pytest.raises(TypeError, match="save: the object is a Net.*never pickles.*state_dict"):
        tg.save(model, tmp_path / "m.pt")
    with pytest.raises(TypeError, match="save: a/1 is a set"):
        tg.save({"a": [1, {2}]}, tmp_path / "m.pt")
    with pytest.raises(TypeError, match="dtype object"):
        tg.save({"a": np.array([None, 1], dtype=object)}, tmp_path / "m.pt")
    with pytest.raises(TypeError, match="key"):
        tg.save({(1, 2): 3}, tmp_path / "m.pt")
    assert not (tmp_path / "m.pt").exists()
    with pytest.raises(ValueError, match="load: map_location 'cuda:0' is not available"):
        tg.load(tmp_path / "m.pt", map_location="cuda:0")
    tg.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="holds neither a checkpoint nor a state dict"):
        tg.load(tmp_path / "list.pt", model)


# ----- issue 13 item 9: a failed load changes nothing ------------------------------------------
def _identity_snapshot(model):
    return [(p, p.data, p.data.copy()) for p in model.parameters()]


def _assert_identical(snapshot):
    for p, arr, values in snapshot:
        assert p.data is arr
        np.testing.assert_array_equal(p.data, values)


@pytest.mark.parametrize("bad", [np.array([["a"] * 4] * 3), np.ones((3, 4), dtype=complex)])
def test_checkpoint_with_non_real_array_changes_nothing(tmp_path, bad) -> None:
    """The bad array is the second parameter: nothing before it may have been overwritten."""
    rng = np.random.default_rng(30)
    source = Net(rng)
    state = source.state_dict()
    state["b"] = np.ones(3)
    state["inner.scale"] = bad[0, :1] if bad.dtype.kind == "U" else bad[0, :1]
    state["W"] = source.W.data + 1
    tg.save({"module": state, "meta": {}}, tmp_path / "bad.npz")
    target = Net(np.random.default_rng(31))
    snap = _identity_snapshot(target)
    with pytest.raises(CheckpointError, match="inner.scale: dtype"):
        load(tmp_path / "bad.npz", target)
    _assert_identical(snap)
    with pytest.raises(KeyError, match="inner.scale: dtype"):
        target.load_state_dict(state)
    _assert_identical(snap)


def test_checkpoint_with_negative_adam_step_changes_nothing(tmp_path) -> None:
    rng = np.random.default_rng(32)
    model = Net(rng)
    opt = optim.Adam(model.parameters(), lr=0.05)
    _train(model, opt, rng)
    sd = opt.state_dict()
    sd["state"][1]["step"] = -2
    tg.save({"module": {k: v + 1 for k, v in model.state_dict().items()}, "meta": {},
             "optimizer": sd}, tmp_path / "neg.npz")
    snap, before = _identity_snapshot(model), opt.state_dict()
    with pytest.raises(CheckpointError, match="step must be a whole number >= 0"):
        load(tmp_path / "neg.npz", model, opt)
    _assert_identical(snap)
    _assert_same((model.state_dict(), opt.state_dict()), (model.state_dict(), before))


def test_load_torch_weights_failure_changes_nothing_and_npy_is_clear(tmp_path) -> None:
    rnn = nn.RNN(2, 3, num_layers=2)
    weights = nn.export_torch_weights(rnn)
    weights = {k: v + 1 for k, v in weights.items()}
    weights["weight_hh_l1"] = np.array([["x"] * 3] * 3)  # last layer: a string array
    snap = _identity_snapshot(rnn)
    with pytest.raises(KeyError, match="weight_hh_l1: dtype <U1 is not a real number type"):
        nn.load_torch_weights(rnn, weights)
    _assert_identical(snap)
    np.save(tmp_path / "x.npy", np.zeros(3))
    with pytest.raises(ValueError, match="load_torch_weights: .*x.npy.* single array"):
        nn.load_torch_weights(rnn, tmp_path / "x.npy")
    with pytest.raises(FileNotFoundError, match="load_torch_weights: .*nope.npz"):
        nn.load_torch_weights(rnn, tmp_path / "nope.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match="load_torch_weights: .*junk.npz.* not a readable"):
        nn.load_torch_weights(rnn, tmp_path / "junk.npz")
    _assert_identical(snap)


def _old_format_file(path, meta_json: str, model, opt=None) -> None:
    arrays = {"__format__": np.array("tinygrad_rnn.checkpoint/1"),
              "__meta__": np.array(meta_json)}
    arrays.update({f"module/{k}": v for k, v in model.state_dict().items()})
    if opt is not None:
        sd = opt.state_dict()
        arrays["optimizer/__info__"] = np.array(json.dumps(
            {"type": sd["type"], "num_params": len(opt.params),
             "hyperparameters": {k: v for k, v in sd["param_groups"][0].items()
                                 if k != "params"}}))
        for i, bufs in sd["state"].items():
            for name, value in bufs.items():
                arrays[f"optimizer/{i}/{name}"] = np.asarray(value)
    np.savez(path, **arrays)


def test_old_checkpoint_format_still_loads_and_bad_metadata_is_clear(tmp_path) -> None:
    rng = np.random.default_rng(33)
    model = Net(rng)
    opt = optim.Adam(model.parameters(), lr=0.02)
    _train(model, opt, rng)
    _old_format_file(tmp_path / "v1.npz", '{"epoch": 2}', model, opt)
    fresh = Net(np.random.default_rng(34))
    fresh_opt = optim.Adam(fresh.parameters(), lr=0.5)
    assert load(tmp_path / "v1.npz", fresh, fresh_opt) == {"epoch": 2}
    _assert_same(_snapshot(fresh, fresh_opt), _snapshot(model, opt))
    for meta in ('["not", "a", "dict"]', '3', 'not json'):
        _old_format_file(tmp_path / "badmeta.npz", meta, model)
        snap = _identity_snapshot(fresh)
        with pytest.raises(CheckpointError, match="badmeta.npz.*__meta__"):
            load(tmp_path / "badmeta.npz", fresh)
        with pytest.raises(CheckpointError, match="badmeta.npz"):
            read_metadata(tmp_path / "badmeta.npz")
        _assert_identical(snap)
    np.savez(tmp_path / "badtree.npz", __format__=np.array("tinygrad_rnn.save/2"),
             __tree__=np.array('{"dict": [["a", {"array": "missing"}]]}'))
    with pytest.raises(CheckpointError, match="badtree.npz.*/a: malformed entry"):
        tg.load(tmp_path / "badtree.npz")


# ----- issue 13: temporary files of a killed save ---------------------------------------------
def test_killed_save_leaves_a_temp_file_that_the_next_save_removes(tmp_path) -> None:
    import signal
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = (
        "import os, signal, numpy as np, tinygrad_rnn as tg\n"
        "def dying_savez(f, **arrays):\n"
        "    f.write(b'half a file'); f.flush(); os.kill(os.getpid(), signal.SIGKILL)\n"
        "np.savez = dying_savez\n"
        f"tg.save({{'x': np.zeros(3)}}, {str(tmp_path / 'ckpt.npz')!r})\n")
    env = {**os.environ, "PYTHONPATH": root}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    stale = [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
    assert len(stale) == 1 and stale[0].startswith(".ckpt.npz.tgsave-")
    dead_pid = stale[0].split("tgsave-")[1].split("-")[0]  # the killed process's
    other_kind = tmp_path / f".other.npz.tgsave-{dead_pid}-abcd.tmp"  # another file's: not ours
    other_kind.write_bytes(b"x")
    unrelated = tmp_path / "notes.tmp"
    unrelated.write_bytes(b"x")
    alive = tmp_path / f".ckpt.npz.tgsave-{os.getppid()}-beef.tmp"  # a live process's save
    alive.write_bytes(b"x")
    tg.save({"x": np.ones(3)}, tmp_path / "ckpt.npz")
    assert sorted(os.listdir(tmp_path)) == sorted(["ckpt.npz", other_kind.name, unrelated.name,
                                                   alive.name])
    np.testing.assert_array_equal(tg.load(tmp_path / "ckpt.npz")["x"], np.ones(3))
