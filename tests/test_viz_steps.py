"""viz finds the time steps of the loop a learner writes: no annotations, tags set by the cells."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
import viz
from tinygrad_rnn import Tensor, nn

NODE = re.compile(r"^\s*(n\d+|cell\d+|skip) \[label=<(.*)>")
SUBGRAPH = re.compile(r"^\s*subgraph (cluster_\w+) \{")


def placement(src: str) -> dict[str, list[str]]:
    """node key -> the names of the clusters it is nested in, outermost first."""
    where, path = {}, []
    for line in src.splitlines():
        m = SUBGRAPH.match(line)
        if m:
            path.append(m.group(1))
        elif line.strip() == "}" and path:
            path.pop()
        else:
            n = NODE.match(line)
            if n:
                where[n.group(1)] = list(path)
    return where


def labels(src: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in map(NODE.match, src.splitlines()) if m}


def steps_of(src: str) -> list[int]:
    return [int(s) for s in re.findall(r"subgraph cluster_t(\d+) \{", src)]


def clusters_with(src: str, text: str) -> list[list[str]]:
    """The cluster path of every node whose label contains `text`, in DOT order."""
    where = placement(src)
    return [where[k] for k, label in labels(src).items() if text in label]


def hand_loop(cell, T: int, seed: int = 0, loss_per_step: bool = True):
    """The loop of every tutorial: a cell called by hand, a loss per step added up."""
    rng = np.random.default_rng(seed)
    xs = Tensor(rng.standard_normal((T, 1, cell.input_size)).astype(np.float32))
    targets = rng.integers(0, cell.hidden_size, size=T)
    state, loss = None, 0.0
    for t in range(T):
        state = cell(xs[t], state)
        h = state[0] if isinstance(state, tuple) else state
        if loss_per_step or t == T - 1:
            loss = loss + F.cross_entropy(h, targets[t:t + 1])
    return loss, state


@pytest.mark.parametrize("cell_class", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_hand_loop_without_annotations_has_one_cluster_per_step(cell_class):
    tg.manual_seed(0)
    cell = cell_class(3, 4)
    loss, _ = hand_loop(cell, 5)
    src = viz.draw(loss).source
    assert steps_of(src) == [1, 2, 3, 4, 5]
    # each step's loss sits in its step, and so does the running sum L_1 + ... + L_t
    losses = clusters_with(src, "<B>cross_entropy</B>")
    assert [path[0] for path in losses] == [f"cluster_t{t}" for t in range(1, 6)]
    adds = [path for k, path in placement(src).items()
            if labels(src)[k].startswith("<B>add</B>") and "scalar" in labels(src)[k]]
    assert [path[0] for path in adds] == [f"cluster_t{t}" for t in range(1, 6)]
    # the names users see: x_t, h_t (and c_t), x_1 and h_0 drawn in step 1
    for t in range(1, 6):
        assert clusters_with(src, f"h<SUB>{t}</SUB>")[0][0] == f"cluster_t{t}"
        assert clusters_with(src, f"x<SUB>{t}</SUB>")[0][0] == f"cluster_t{t}"
    assert clusters_with(src, "h<SUB>0</SUB>") == [["cluster_t1"]]
    if cell_class is nn.LSTMCell:
        assert clusters_with(src, "c<SUB>3</SUB>")[0][0] == "cluster_t3"


def test_two_layer_stack_of_cells_draws_layers_inside_each_step():
    tg.manual_seed(0)
    lower, upper = nn.LSTMCell(3, 4), nn.RNNCell(4, 4)
    xs = Tensor(np.random.default_rng(1).standard_normal((4, 1, 3)).astype(np.float32))
    s1 = s2 = None
    loss = 0.0
    for t in range(4):
        s1 = lower(xs[t], s1)
        s2 = upper(s1[0], s2)
        loss = loss + (s2 ** 2).sum()
    src = viz.draw(loss, detail="cells").source
    assert steps_of(src) == [1, 2, 3, 4]
    assert [p for p in clusters_with(src, "LSTMCell</B>")] == \
        [[f"cluster_t{t}", f"cluster_t{t}_l0"] for t in range(1, 5)]
    assert [p for p in clusters_with(src, "RNNCell</B>")] == \
        [[f"cluster_t{t}", f"cluster_t{t}_l1"] for t in range(1, 5)]
    # h_t of the upper cell reads its own h_{t-1} and the lower h_t of the same step
    ops = viz.draw(loss).source
    assert len(clusters_with(ops, "<B>tanh</B><BR/>h<SUB>2</SUB>")) == 1
    assert clusters_with(ops, "<B>tanh</B><BR/>h<SUB>2</SUB>")[0] == ["cluster_t2",
                                                                       "cluster_t2_l1"]


def test_layers_are_numbered_in_first_call_order_not_by_construction():
    tg.manual_seed(0)
    upper, lower = nn.RNNCell(4, 4), nn.RNNCell(3, 4)  # made in the other order
    xs = Tensor(np.ones((2, 1, 3), dtype=np.float32))
    h1 = h2 = None
    for t in range(2):
        h1 = lower(xs[t], h1)
        h2 = upper(h1, h2)
    src = viz.draw(h2.sum(), detail="cells", params={"W_lower": lower.linear.weight}).source
    where = placement(src)
    lower_box = [k for k, lab in labels(src).items() if "RNNCell" in lab]
    assert [where[k][1] for k in lower_box] == ["cluster_t1_l0", "cluster_t1_l1",
                                                "cluster_t2_l0", "cluster_t2_l1"]


@pytest.mark.parametrize("how", ["nn.unroll", "utils.unroll", "nn.LSTM", "nn.GRU"])
def test_the_library_loops_find_steps_the_same_way(how):
    tg.manual_seed(0)
    x = Tensor(np.random.default_rng(2).standard_normal((4, 1, 3)).astype(np.float32))
    if how == "nn.unroll":
        out, _ = nn.unroll(nn.RNNCell(3, 5), x, fused=False)
    elif how == "utils.unroll":
        out, _ = nn.utils.unroll(nn.LSTMCell(3, 5), x)
    else:
        out, _ = getattr(nn, how[3:])(3, 5, num_layers=2, fused=False)(x)
    src = viz.draw(out.sum()).source
    assert steps_of(src) == [1, 2, 3, 4]
    for t in range(1, 5):
        assert clusters_with(src, f"x<SUB>{t}</SUB>")[0][0] == f"cluster_t{t}"


def test_no_names_are_read():
    """Strip every name: the clusters come from tags alone."""
    tg.manual_seed(0)
    loss, _ = hand_loop(nn.RNNCell(3, 4), 4)
    for t in viz.walk(loss):
        t.name = None
    assert steps_of(viz.draw(loss).source) == [1, 2, 3, 4]


def test_annotate_still_overrides_the_step_found():
    tg.manual_seed(0)
    cell = nn.RNNCell(3, 4)
    h = None
    for t in range(3):
        with tg.annotate(step=10 + t, layer=2):
            h = cell(Tensor(np.ones((1, 3), dtype=np.float32)), h)
    assert h.name == "h_12" and h.tags["step"] == 12 and h.tags["layer"] == 2
    src = viz.draw(h.sum()).source
    assert steps_of(src) == [10, 11, 12]


def test_step_counts_from_the_state_given():
    tg.manual_seed(0)
    cell = nn.LSTMCell(2, 3)
    x = Tensor(np.ones((1, 2), dtype=np.float32))
    h, c = cell(x)  # no state: step 1
    assert (h.tags["step"], h.name, c.name, h.tags["role"]) == (1, "h_1", "c_1", "state")
    user = (Tensor(np.zeros((1, 3), dtype=np.float32)),) * 2  # a user tensor: step 0
    assert cell(x, user)[0].tags["step"] == 1
    h2, _ = cell(x, (h, c))
    assert h2.tags["step"] == 2 and h2.name == "h_2"


def test_plain_detach_in_a_hand_loop_is_a_cut_and_steps_go_on():
    tg.manual_seed(0)
    cell = nn.RNNCell(2, 3)
    xs = Tensor(np.ones((6, 1, 2), dtype=np.float32))
    h = None
    for t in range(6):
        if t == 3:
            h = h.detach()  # the truncated-BPTT way PyTorch code writes it
        h = cell(xs[t], h)
    src = viz.draw(h.sum()).source
    assert steps_of(src) == [4, 5, 6]
    cut = [lab for lab in labels(src).values() if "TBPTT cut" in lab]
    assert len(cut) == 1 and "h<SUB>3</SUB>" in cut[0]


def test_max_steps_collapses_a_three_thousand_step_hand_loop():
    tg.manual_seed(0)
    cell = nn.RNNCell(2, 3)
    start = time.perf_counter()
    loss, _ = hand_loop(cell, 3000)
    src = viz.draw(loss, max_steps=4).source
    elapsed = time.perf_counter() - start
    assert steps_of(src) == [1, 2, 2999, 3000]
    assert "\u2026 2996 steps \u2026" in src
    assert len(src) < 20_000, len(src)  # a small DOT: four steps and the gap node
    assert elapsed < 60  # the brief's bound, with a wide margin (a few seconds here)


# ----- packed input: one fused node per run of equal batch size, drawn step by step ----------
EDGE = re.compile(r"^\s*(\w+) -> (\w+)", re.M)
PARAM = re.compile(r"^\s*(n\d+) \[.*peripheries=2", re.M)
STATE = re.compile(r"<BR/>([hc])<SUB>(\d+)</SUB>")
BOX = re.compile(r"t=(\d+), layer (\d+)")


def packed_loss(cls, layers: int, bidirectional: bool, fused: bool = True,
                lengths: tuple = (5, 3)):
    """A model run on a packed batch (longest first) of random sequences; the loss of its
    output."""
    tg.manual_seed(0)
    model = cls(4, 3, num_layers=layers, bidirectional=bidirectional)
    x = Tensor(np.random.default_rng(3).standard_normal((max(lengths), len(lengths), 4))
               .astype(np.float32))
    out, _ = model(nn.utils.rnn.pack_padded_sequence(x, list(lengths)), fused=fused)
    return (out.data ** 2).sum()


@pytest.mark.parametrize("detail", ["ops", "cells"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_packed_input_puts_every_step_and_layer_in_its_cluster(cls, layers, bidirectional,
                                                               detail):
    src = viz.draw(packed_loss(cls, layers, bidirectional), detail=detail).source
    assert steps_of(src) == [1, 2, 3, 4, 5]
    where, names, directions = placement(src), labels(src), 2 if bidirectional else 1
    states: dict[int, int] = {}
    for key, label in names.items():
        box, state = BOX.search(label), STATE.search(label)
        if box:  # a cell box: in its step, in its layer
            step, layer = int(box.group(1)), int(box.group(2))
            assert where[key] == [f"cluster_t{step}"] + \
                ([f"cluster_t{step}_l{layer}"] if layers > 1 else []), (label, where[key])
        if state and state.group(1) == "h":  # h_t: in its step, inside a layer's cluster
            step = int(state.group(2))
            assert where[key][0] == f"cluster_t{step}", (label, where[key])
            assert len(where[key]) == (2 if layers > 1 else 1), (label, where[key])
            states[step] = states.get(step, 0) + 1
    # one h_t per step, layer and direction: the state carried from one run to the next (and
    # h_n) is that h_t, not a second node named h_t
    assert states == {t: layers * directions for t in range(1, 6)}


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU])
def test_packed_upper_layer_reads_the_lower_layers_states(cls, bidirectional, fused):
    """Layer 1 reads layer 0's h_t as with padded input: no stack / reshape / cat / getitem of
    the packed rows between the layers, drawn outside the steps."""
    src = viz.draw(packed_loss(cls, 2, bidirectional, fused), detail="cells").source
    where, names = placement(src), labels(src)
    params = set(PARAM.findall(src))
    edges = [(a, b) for a, b in EDGE.findall(src)  # (not the invisible ones ordering steps)
             if not a.endswith("_anchor") and a != "time"]
    for a, b in edges:
        if b in where and len(where[b]) == 2 and where[b][1].endswith("_l1"):
            assert where.get(a) or a in params, (names.get(a), "->", names[b])
    # bidirectional: x_t of layer 1 is [h_t forward; h_t backward], a cat of two layer-0 states
    inputs = [k for k, label in names.items() if label.startswith("<B>cat</B><BR/>x<SUB>")]
    assert len(inputs) == (10 if bidirectional else 0)
    for k in inputs:
        feeding = [a for a, b in edges if b == k]
        assert len(feeding) == 2 and all(where[a][1].endswith("_l0") for a in feeding)


def test_packed_drawing_has_about_as_many_nodes_as_padded():
    """The packed path adds only the joins of its runs (a stack and a reshape per run, the rows
    carried on), not a copy of the data between the layers."""
    def nodes(loss):
        return len(labels(viz.draw(loss).source))

    tg.manual_seed(0)
    model = nn.GRU(4, 3, num_layers=2, bidirectional=True)
    x = Tensor(np.random.default_rng(3).standard_normal((11, 2, 4)).astype(np.float32))
    padded, _ = model(x)
    packed, _ = model(nn.utils.rnn.pack_padded_sequence(x, [11, 3]))
    n_padded, n_packed = nodes((padded ** 2).sum()), nodes((packed.data ** 2).sum())
    assert n_padded < n_packed <= n_padded + 20, (n_padded, n_packed)
