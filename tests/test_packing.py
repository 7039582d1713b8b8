"""nn.utils.rnn (PackedSequence, pad/pack/unpack) and packed input to nn.RNN / LSTM / GRU:
golden values from PyTorch (tests/fixtures/make_packing_fixtures.py -> packing.npz), finite
differences, the packed path against the padded one, and live PyTorch comparisons over every
option when PyTorch is installed."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn
from tinygrad_rnn.nn.utils.rnn import (PackedSequence, pack_padded_sequence, pack_sequence,
                                       pad_packed_sequence, pad_sequence, unpack_sequence,
                                       unpad_sequence)

FIX = np.load(Path(__file__).parent / "fixtures" / "packing.npz", allow_pickle=False)
PACK_CASES = json.loads(str(FIX["pack_cases"]))
REC_CASES = json.loads(str(FIX["rec_cases"]))


def _close(actual: np.ndarray, want: np.ndarray, what: str, tol: float = 1e-10) -> None:
    assert actual.shape == want.shape, f"{what}: shape {actual.shape}, PyTorch {want.shape}"
    err = float(np.abs(actual - want).max(initial=0.0)) / max(float(np.abs(want).max(
        initial=0.0)), 1e-30)
    assert err <= tol, f"{what}: relative error {err:.3g}"


# ----- the functions, against PyTorch's results -----------------------------------------------
@pytest.mark.parametrize("case", sorted(PACK_CASES))
def test_pack_and_pad_match_pytorch_values_and_gradients(case: str) -> None:
    lengths, batch_first, enforce_sorted = PACK_CASES[case]
    get = lambda name: FIX[f"pack.{case}.{name}"]  # noqa: E731
    x = Tensor(get("x"), requires_grad=True)
    packed = pack_padded_sequence(x, lengths, batch_first, enforce_sorted)
    np.testing.assert_array_equal(packed.data.data, get("data"))
    np.testing.assert_array_equal(packed.batch_sizes.data, get("batch_sizes"))
    assert packed.batch_sizes.dtype == np.int64
    if enforce_sorted:
        assert packed.sorted_indices is None and packed.unsorted_indices is None
    else:
        np.testing.assert_array_equal(packed.sorted_indices.data, get("sorted_indices"))
        np.testing.assert_array_equal(packed.unsorted_indices.data,
                                      np.argsort(get("sorted_indices")))
    padded, out_lengths = pad_packed_sequence(packed, batch_first, padding_value=-1.0,
                                              total_length=x.shape[1 if batch_first else 0] + 1)
    np.testing.assert_array_equal(padded.data, get("padded"))
    assert out_lengths.dtype == np.int64
    np.testing.assert_array_equal(out_lengths.data, get("out_lengths"))
    (padded * Tensor(get("w"))).sum().backward()
    np.testing.assert_allclose(x.grad, get("grad_x"), rtol=1e-14, atol=0)


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_sequence_matches_pytorch(side: str, batch_first: bool) -> None:
    xs = [Tensor(FIX[f"padseq.x{i}"]) for i in range(3)]
    out = pad_sequence(xs, batch_first=batch_first, padding_value=7.0, padding_side=side)
    np.testing.assert_array_equal(out.data, FIX[f"padseq.{side}.{batch_first}"])


def test_round_trips() -> None:
    rng = np.random.default_rng(0)
    seqs = [Tensor(rng.normal(size=(n, 2, 3))) for n in (3, 5, 1, 5)]
    for enforce in (False, True):
        todo = sorted(seqs, key=len, reverse=True) if enforce else seqs
        back = unpack_sequence(pack_sequence(todo, enforce_sorted=enforce))
        assert [b.shape for b in back] == [s.shape for s in todo]
        for b, s in zip(back, todo):
            np.testing.assert_array_equal(b.data, s.data)
    for batch_first in (False, True):
        padded = pad_sequence(seqs, batch_first=batch_first)
        lengths = [len(s) for s in seqs]
        for b, s in zip(unpad_sequence(padded, tg.tensor(lengths), batch_first), seqs):
            np.testing.assert_array_equal(b.data, s.data)
        packed = pack_padded_sequence(padded, lengths, batch_first, enforce_sorted=False)
        again, got = pad_packed_sequence(packed, batch_first)
        np.testing.assert_array_equal(again.data, padded.data)
        assert got.tolist() == lengths


def test_rewrap_without_unsorted_indices_keeps_the_order_like_pytorch() -> None:
    # PyTorch's PackedSequence.__new__ fills unsorted_indices = invert_permutation(sorted_...)
    rng = np.random.default_rng(3)
    seqs = [rng.normal(size=(n, 2)) for n in (2, 4, 1)]
    p = pack_sequence([Tensor(s) for s in seqs], enforce_sorted=False)
    q = PackedSequence(p.data * 2.0, p.batch_sizes, p.sorted_indices)
    assert q.unsorted_indices.tolist() == [1, 0, 2] and isinstance(q, PackedSequence)
    assert PackedSequence(p.data, p.batch_sizes).unsorted_indices is None
    for b, s in zip(unpack_sequence(q), seqs):
        np.testing.assert_array_equal(b.data, 2.0 * s)
    gru = nn.GRU(2, 3).double()
    h_wrapped = gru(PackedSequence(p.data, p.batch_sizes, p.sorted_indices))[1]
    np.testing.assert_array_equal(h_wrapped.data, gru(p)[1].data)
    assert p._replace(data=p.data).unsorted_indices is p.unsorted_indices
    torch = pytest.importorskip("torch")
    tu = torch.nn.utils.rnn
    tp = tu.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    tq = tu.PackedSequence(tp.data * 2.0, tp.batch_sizes, tp.sorted_indices)
    np.testing.assert_array_equal(pad_packed_sequence(q)[0].data,
                                  tu.pad_packed_sequence(tq)[0].numpy())


def test_module_attribute_and_import_path_and_old_utils_names() -> None:
    import tinygrad_rnn.nn.utils.rnn as rnn_utils
    from tinygrad_rnn.nn.utils import clip_grad_norm_, truncated_bptt  # noqa: F401
    assert nn.utils.rnn is rnn_utils and tg.nn.utils.rnn.pack_padded_sequence is \
        pack_padded_sequence
    assert PackedSequence._fields == ("data", "batch_sizes", "sorted_indices",
                                      "unsorted_indices")


def test_gradients_flow_through_every_function_gradcheck() -> None:
    lengths = [2, 4, 1]

    def pack_pad(x: Tensor) -> Tensor:
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        return pad_packed_sequence(packed, total_length=5, padding_value=3.0)[0]

    def seqs(a: Tensor, b: Tensor) -> Tensor:
        data = pack_sequence([a, b], enforce_sorted=False).data
        return pad_sequence(unpack_sequence(pack_sequence([a, b], enforce_sorted=False))
                            + unpad_sequence(pad_sequence([b, a]), [3, 2]),
                            padding_side="left", batch_first=True) * data.sum()

    rng = np.random.default_rng(1)
    assert tg.gradcheck(pack_pad, [Tensor(rng.normal(size=(3, 4, 2)), requires_grad=True)])
    assert tg.gradcheck(seqs, [Tensor(rng.normal(size=(2, 2)), requires_grad=True),
                               Tensor(rng.normal(size=(3, 2)), requires_grad=True)])


BAD = [
    (lambda x: pack_padded_sequence(x, [5, 2, 3, 1]), ValueError,
     "sorted in decreasing order when `enforce_sorted` is True"),
    (lambda x: pack_sequence([Tensor(np.ones(1)), Tensor(np.ones(2))]), ValueError,
     "pack_sequence: `lengths` array must be sorted"),
    (lambda x: pack_padded_sequence(x, [5, 0, 3, 1], enforce_sorted=False), ValueError,
     "greater than 0"),
    (lambda x: pack_padded_sequence(x, [6, 2, 2, 1]), ValueError, "longer than the 5 steps"),
    (lambda x: pack_padded_sequence(x, [5, 2, 1]), ValueError, "batch_size=4"),
    (lambda x: pack_padded_sequence(x, [[5, 2, 2, 1]]), ValueError, "lengths must be 1-D"),
    (lambda x: pack_padded_sequence(x, [5, 2.5, 2, 1]), TypeError, "lengths must hold integers"),
    (lambda x: pack_padded_sequence(x, "5221"), TypeError, "lengths must be a list"),
    (lambda x: pack_padded_sequence(x.data, [5, 2, 2, 1]), TypeError, "input must be a Tensor"),
    (lambda x: pack_padded_sequence(x[0, 0], [1]), ValueError, "a time and a batch dimension"),
    (lambda x: pack_padded_sequence(x, [5, 2, 2, 1], batch_first=1), TypeError,
     "batch_first must be True or False"),
    (lambda x: pad_packed_sequence(x), TypeError, "expected a PackedSequence, got Tensor"),
    (lambda x: pad_packed_sequence(pack_padded_sequence(x, [5, 2, 2, 1]), total_length=4),
     ValueError, "total_length=4 and max sequence length being 5"),
    (lambda x: pad_packed_sequence(PackedSequence(x[0], tg.tensor([1, 3]))), ValueError,
     "non-increasing"),
    (lambda x: pad_sequence([]), ValueError, "empty list"),
    (lambda x: pack_sequence([]), ValueError, "pack_sequence: received an empty list"),
    (lambda x: pad_sequence([x[0], x[0, :, :2]]), ValueError, "sequences[1] has shape (4, 2)"),
    (lambda x: pad_sequence([x[0]], padding_side="up"), ValueError, "left or right"),
    (lambda x: unpad_sequence(x, [6, 1, 1, 1]), ValueError, "one length in 0..5"),
]


@pytest.mark.parametrize("call,error,message", BAD)
def test_bad_arguments_raise_one_clear_error(call, error, message) -> None:
    x = Tensor(np.zeros((5, 4, 3)))
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[")):
        call(x)


# ----- the modules on packed input ------------------------------------------------------------
def _run(m: nn.Module, packed: PackedSequence, state, fused: bool) -> dict[str, Tensor]:
    """The module's results as {name: Tensor}, the output padded."""
    output, hidden = m(packed, state, fused=fused)
    assert isinstance(output, PackedSequence)
    res = dict(zip(("h_n", "c_n"), hidden)) if isinstance(hidden, tuple) else {"h_n": hidden}
    res["output"] = pad_packed_sequence(output)[0]
    return res


def _check_grads(m: nn.Module, get, D: int) -> None:
    """Every parameter's gradient against PyTorch's (one bias: the grad of bias_ih)."""
    for k, cell in enumerate(m.cells):
        sfx = f"_l{k // D}" + ("_reverse" if k % D else "")
        gW, n_in = cell.linear.weight.grad, cell.input_size
        _close(gW[:, :n_in], get(f"grad_weight_ih{sfx}"), f"grad weight_ih{sfx}")
        _close(gW[:, n_in:], get(f"grad_weight_hh{sfx}"), f"grad weight_hh{sfx}")
        _close(cell.linear.bias.grad, get(f"grad_bias_ih{sfx}"), f"grad bias{sfx}")
        if isinstance(cell, nn.GRUCell):
            H = cell.hidden_size
            _close(cell.b_hn.grad, get(f"grad_bias_hh{sfx}")[2 * H:], f"grad b_hn{sfx}")


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("case", sorted(REC_CASES))
def test_module_on_packed_input_matches_pytorch_fixture(case: str, fused: bool) -> None:
    kind, kwargs, lengths, enforce_sorted = REC_CASES[case]
    get = lambda name: FIX[f"rec.{case}.{name}"]  # noqa: E731
    x = Tensor(get("in_x"), requires_grad=True)
    m = getattr(nn, kind)(x.shape[2], get("in_h0").shape[2], dtype=np.float64, **kwargs)
    prefix = f"rec.{case}.param_"
    nn.load_torch_weights(m, {k[len(prefix):]: FIX[k] for k in FIX.files if k.startswith(prefix)})
    inputs = {k: Tensor(get(f"in_{k}"), requires_grad=True)
              for k in ("h0", "c0") if f"rec.{case}.in_{k}" in FIX.files}
    state = (inputs["h0"], inputs["c0"]) if kind == "LSTM" else inputs["h0"]
    res = _run(m, pack_padded_sequence(x, lengths, enforce_sorted=enforce_sorted), state, fused)
    loss = None
    for k, v in res.items():
        _close(v.data, get(k), k)
        term = (v * Tensor(get(f"w_{k}"))).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    _close(x.grad, get("grad_x"), "grad x")
    for k, t in inputs.items():
        _close(t.grad, get(f"grad_{k}"), f"grad {k}")
    _check_grads(m, get, 2 if kwargs.get("bidirectional") else 1)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("fused", [True, False])
def test_packed_equals_padded_on_equal_lengths(kind: str, fused: bool) -> None:
    """With every sequence T long, packing changes nothing: outputs, states, gradients."""
    rng = np.random.default_rng(2)
    m = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True, dtype=np.float64)
    x = rng.normal(size=(5, 3, 3))
    results = []
    for packed in (False, True):
        m.zero_grad()
        xt = Tensor(x, requires_grad=True)
        if packed:
            res = _run(m, pack_padded_sequence(xt, [5, 5, 5]), None, fused)
        else:
            output, hidden = m(xt, fused=fused)
            res = dict(zip(("h_n", "c_n"), hidden)) if kind == "LSTM" else {"h_n": hidden}
            res["output"] = output
        sum(((v * v).sum() for v in res.values()), Tensor(0.0)).backward()
        results.append(({k: v.data for k, v in res.items()}, xt.grad,
                        [p.grad.copy() for p in m.parameters()]))
    (va, ga, pa), (vb, gb, pb) = results
    for k in va:
        np.testing.assert_allclose(vb[k], va[k], rtol=1e-12, atol=1e-14, err_msg=k)
    np.testing.assert_allclose(gb, ga, rtol=1e-12, atol=1e-14)
    for a, b in zip(pa, pb):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("fused", [True, False])
def test_module_on_packed_input_gradcheck(fused: bool) -> None:
    m = nn.LSTM(2, 3, num_layers=2, bidirectional=True, dtype=np.float64)
    rng = np.random.default_rng(3)

    def f(x: Tensor, h0: Tensor, c0: Tensor) -> Tensor:
        packed = pack_padded_sequence(x, [2, 4, 1], batch_first=True, enforce_sorted=False)
        output, (h_n, c_n) = m(packed, (h0, c0), fused=fused)
        return tg.cat([output.data.reshape(-1), h_n.reshape(-1), c_n.reshape(-1)])

    inputs = [Tensor(rng.normal(size=s), requires_grad=True)
              for s in ((3, 4, 2), (4, 3, 3), (4, 3, 3))]
    assert tg.gradcheck(f, inputs)


def test_batch_first_is_ignored_and_state_and_data_are_checked() -> None:
    rng = np.random.default_rng(4)
    x = Tensor(rng.normal(size=(4, 2, 3)))
    packed = pack_padded_sequence(x, [4, 2])
    a, b = nn.GRU(3, 5), nn.GRU(3, 5, batch_first=True)
    b.load_state_dict(a.state_dict())
    (oa, ha), (ob, hb) = a(packed), b(packed)
    np.testing.assert_array_equal(oa.data.data, ob.data.data)
    np.testing.assert_array_equal(ha.data, hb.data)
    assert oa.batch_sizes is packed.batch_sizes and oa.data.shape == (6, 5)
    with pytest.raises(ValueError, match=r"initial state h_0 must have shape \(1, 2, 5\)"):
        a(packed, Tensor(np.zeros((1, 3, 5))))
    with pytest.raises(ValueError, match=r"GRU: a PackedSequence's data must have shape \(N, I\)"):
        nn.GRU(4, 5)(packed)
    with pytest.raises(TypeError, match="LSTM: state must be a pair"):
        nn.LSTM(3, 5)(packed, Tensor(np.zeros((1, 2, 5))))


def test_dropout_between_layers_on_packed_input() -> None:
    m = nn.RNN(3, 4, num_layers=2, dropout=0.5)
    packed = pack_padded_sequence(Tensor(np.ones((4, 2, 3), np.float32)), [3, 4],
                                  enforce_sorted=False)
    m.eval()
    (out_a, h_a), (out_b, h_b) = m(packed), m(packed)
    np.testing.assert_array_equal(out_a.data.data, out_b.data.data)
    np.testing.assert_array_equal(h_a.data, h_b.data)
    m.train()
    tg.manual_seed(0)
    out_c, h_c = m(packed)
    assert out_c.data.shape == (7, 4) and not np.array_equal(h_c.data, h_a.data)


# ----- live comparison with PyTorch over every option ------------------------------------------
CASES = list(itertools.product(["RNN", "LSTM", "GRU"], [1, 2], [False, True], [False, True],
                               [True, False]))


@pytest.mark.parametrize("kind,num_layers,bidirectional,enforce_sorted,fused", CASES)
def test_module_on_packed_input_matches_live_pytorch(kind, num_layers, bidirectional,
                                                     enforce_sorted, fused) -> None:
    torch = pytest.importorskip("torch")
    from torch.nn.utils import rnn as R
    rng = np.random.default_rng(num_layers + 2 * bidirectional)
    T, B, n_in, H, D = 6, 5, 3, 4, 1 + bidirectional
    lengths = [6, 4, 4, 2, 1] if enforce_sorted else [2, 6, 1, 4, 6]
    tm = getattr(torch.nn, kind)(n_in, H, num_layers, bidirectional=bidirectional).double()
    m = getattr(nn, kind)(n_in, H, num_layers, bidirectional=bidirectional, dtype=np.float64)
    nn.load_torch_weights(m, {k: v.detach().numpy() for k, v in tm.state_dict().items()})
    arrays = {"x": rng.normal(size=(T, B, n_in)), "h0": rng.normal(size=(num_layers * D, B, H)),
              "c0": rng.normal(size=(num_layers * D, B, H))}
    if kind != "LSTM":
        del arrays["c0"]
    ours = {k: Tensor(v, requires_grad=True) for k, v in arrays.items()}
    theirs = {k: torch.tensor(v, requires_grad=True) for k, v in arrays.items()}
    state = (ours["h0"], ours["c0"]) if kind == "LSTM" else ours["h0"]
    res = _run(m, pack_padded_sequence(ours["x"], lengths, enforce_sorted=enforce_sorted), state,
               fused)
    t_out, t_hidden = tm(R.pack_padded_sequence(theirs["x"], lengths,
                                                enforce_sorted=enforce_sorted),
                         (theirs["h0"], theirs["c0"]) if kind == "LSTM" else theirs["h0"])
    want = dict(zip(("h_n", "c_n"), t_hidden)) if kind == "LSTM" else {"h_n": t_hidden}
    want["output"] = R.pad_packed_sequence(t_out)[0]
    t_loss, loss = 0, None
    for k, v in want.items():
        w = rng.normal(size=v.shape)
        _close(res[k].data, v.detach().numpy(), k)
        t_loss = t_loss + (v * torch.tensor(w)).sum()
        term = (res[k] * Tensor(w)).sum()
        loss = term if loss is None else loss + term
    t_loss.backward()
    loss.backward()
    for k in ours:
        _close(ours[k].grad, theirs[k].grad.numpy(), f"grad {k}")
    grads = {f"grad_{k}": p.grad.numpy() for k, p in tm.named_parameters()}
    _check_grads(m, grads.__getitem__, D)


@pytest.mark.parametrize("fused", [True, False])
def test_projected_lstm_without_state_matches_live_pytorch(fused: bool) -> None:
    """proj_size (h P wide, c H wide), zeros as the initial state, batch_first packing."""
    torch = pytest.importorskip("torch")
    from torch.nn.utils import rnn as R
    rng = np.random.default_rng(5)
    kwargs = dict(num_layers=2, bidirectional=True, proj_size=2, batch_first=True)
    tm = torch.nn.LSTM(3, 4, **kwargs).double()
    m = nn.LSTM(3, 4, dtype=np.float64, **kwargs)
    nn.load_torch_weights(m, {k: v.detach().numpy() for k, v in tm.state_dict().items()})
    x = rng.normal(size=(3, 6, 3))
    lengths = Tensor([4.0, 6.0, 2.0])  # whole floats, as Tensor(list) makes them, are accepted
    ours, theirs = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, (h, c) = m(pack_padded_sequence(ours, lengths, True, False), fused=fused)
    t_out, (t_h, t_c) = tm(R.pack_padded_sequence(theirs, [4, 6, 2], True, False))
    got = [pad_packed_sequence(out, True)[0], h, c]
    want = [R.pad_packed_sequence(t_out, True)[0], t_h, t_c]
    for a, b, what in zip(got, want, ("output", "h_n", "c_n")):
        _close(a.data, b.detach().numpy(), what)
    sum((a * a).sum() for a in want).backward()
    sum(((a * a).sum() for a in got), Tensor(0.0)).backward()
    _close(ours.grad, theirs.grad.numpy(), "grad x")
    for k, cell in enumerate(m.cells):
        sfx = f"_l{k // 2}" + ("_reverse" if k % 2 else "")
        _close(cell.weight_hr.grad, getattr(tm, f"weight_hr{sfx}").grad.numpy(), "weight_hr")
