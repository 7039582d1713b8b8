"""viz: real renders with the Graphviz program (skipped when `dot` is not installed)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import tinygrad_rnn as tg
import viz
from tinygrad_rnn import Tensor, nn
from viz.demo import random_model_loss, render_random_model

pytestmark = pytest.mark.skipif(shutil.which("dot") is None,
                                reason="the Graphviz `dot` program is not installed")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("cell,detail", [("rnn", "ops"), ("lstm", "cells"), ("gru", "ops")])
def test_render_png_from_a_random_model(tmp_path, cell, detail):
    path = render_random_model(cell, steps=4, detail=detail, out=str(tmp_path / "g.png"))
    data = open(path, "rb").read()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 20_000  # a real picture of a few dozen nodes, not an empty canvas


def test_render_svg_and_pdf(tmp_path):
    loss, model = random_model_loss("rnn", steps=3)
    svg = open(viz.render(loss, tmp_path / "g.svg", grads=True, params=model), "rb").read()
    assert b"<svg" in svg and b"t=3" in svg and b"cells.0.linear.weight" in svg
    pdf = open(viz.render(loss, tmp_path / "g.pdf"), "rb").read()
    assert pdf[:5] == b"%PDF-" and len(pdf) > 5_000


def test_render_a_digraph_already_drawn(tmp_path):
    loss, _ = random_model_loss("lstm", steps=2)
    g = viz.draw(loss, detail="cells")
    data = open(viz.render(g, tmp_path / "g.png"), "rb").read()
    assert data[:8] == PNG_SIGNATURE
    with pytest.raises(TypeError, match="already drawn"):
        viz.render(g, tmp_path / "h.png", grads=True)


@pytest.mark.parametrize("cell,layers,detail,max_steps", [
    ("rnn", 1, "ops", None), ("lstm", 2, "cells", None), ("gru", 1, "ops", None),
    ("rnn", 1, "ops", 4)])
def test_layout_puts_time_left_to_right(cell, layers, detail, max_steps):
    loss, _ = random_model_loss(cell, steps=9, layers=layers)
    graph = viz.draw(loss, detail=detail, grads=True, max_steps=max_steps)
    expected = [f"t{t}_anchor" for t in range(1, 10)]
    if max_steps:
        expected = ["t1_anchor", "t2_anchor", "gap_anchor", "t8_anchor", "t9_anchor"]
    assert time_order(graph) == expected


def time_order(graph) -> list[str]:
    """The steps' anchors (one invisible point in each step's cluster), left to right as laid
    out by Graphviz."""
    x = {}
    for line in graph.pipe(format="plain").decode().splitlines():  # "node <name> <x> <y> ..."
        parts = line.split()
        if parts[0] == "node" and parts[1].endswith("_anchor"):
            x[parts[1]] = float(parts[2])
    return sorted(x, key=x.get)


@pytest.mark.parametrize("cls,layers,bidirectional,detail,fused,lengths", [
    (nn.GRU, 2, False, "cells", True, [5, 3]),  # the picture reported as t=3, 1, 2, 4, 5
    (nn.LSTM, 2, False, "cells", True, [5, 3]), (nn.GRU, 1, False, "ops", True, [5, 3]),
    (nn.RNN, 1, True, "cells", True, [5, 3]), (nn.GRU, 2, True, "ops", True, [5, 3]),
    (nn.LSTM, 2, True, "cells", True, [3, 7, 2]), (nn.RNN, 2, False, "ops", False, [3, 7, 2])])
def test_packed_input_puts_time_left_to_right(cls, layers, bidirectional, detail, fused,
                                              lengths):
    """A packed batch runs as one fused node per run of equal batch size, on the active rows:
    drawn, its steps still run left to right (h_n in the loss too)."""
    tg.manual_seed(0)
    model = cls(4, 3, num_layers=layers, bidirectional=bidirectional)
    rng = np.random.default_rng(1)
    seqs = [Tensor(rng.standard_normal((n, 4)).astype(np.float32)) for n in lengths]
    out, h_n = model(nn.utils.rnn.pack_sequence(seqs, enforce_sorted=False), fused=fused)
    h_n = h_n[0] if isinstance(h_n, tuple) else h_n
    loss = (out.data ** 2).sum() + (h_n ** 2).sum()
    expected = [f"t{t}_anchor" for t in range(1, max(lengths) + 1)]
    assert time_order(viz.draw(loss, detail=detail)) == expected
    assert time_order(viz.draw(loss, detail=detail, grads=True)) == expected


def test_rnn_and_lstm_comparison_pictures_share_one_scale(tmp_path):
    from viz.demo import render_comparison

    a, b = render_comparison(str(tmp_path / "rnn.png"), str(tmp_path / "lstm.png"), steps=4)
    for path in (a, b):
        assert open(path, "rb").read()[:8] == PNG_SIGNATURE


def test_the_hello_pictures_teach(tmp_path):
    """make demo's pictures: a title, x_1 and h_0 drawn at step 1, one linear node per step, and
    with the loss at the last step only, a gradient that fades from right to left."""
    import re

    from tinygrad_rnn import hello
    from viz.demo import render_hello, render_hello_last_step

    data, cell = hello.make_data(), hello.make_model()
    full = open(render_hello(cell, data, str(tmp_path / "h.dot"))).read()
    assert 'label="RNNCell unrolled over 5 steps' in full
    assert full.count("<B>linear</B>") == 5 and "transpose" not in full and "matmul" not in full
    step1 = full[full.index("subgraph cluster_t1 {"):full.index("subgraph cluster_t2 {")]
    assert "x<SUB>1</SUB>" in step1 and "h<SUB>0</SUB>" in step1
    last = open(render_hello_last_step(cell, data, str(tmp_path / "l.dot"))).read()
    norms = {int(t): float(g) for t, g in
             re.findall(r"<B>tanh</B><BR/>h<SUB>(\d)</SUB>.*?\|g\| ([0-9.e+-]+)", last)}
    assert sorted(norms) == [1, 2, 3, 4, 5]
    assert norms[1] < norms[5] / 3  # faded by more than 3x from the last step to the first
