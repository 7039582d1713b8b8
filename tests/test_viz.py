"""viz: tests on the DOT text only (no Graphviz program needed)."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

import tinygrad_rnn as tg
import viz
from tinygrad_rnn import Tensor, nn
from tinygrad_rnn.nn.utils import detach_state
from viz.colors import SCALE, LogScale, interpolate, text_color

NODE = re.compile(r"^\s*(n\d+|cell\d+|skip) \[")
EDGE = re.compile(r"^\s*(\S+) -> (\S+)(?: \[(.*)\])?$")
CLUSTER_STEP = re.compile(r"subgraph cluster_t(\d+) \{")


def visible_nodes(src: str) -> list[str]:
    """Lines that define a drawn node (not the invisible layout helpers or the legend)."""
    return [line for line in src.splitlines() if NODE.match(line)]


def visible_edges(src: str) -> list[tuple[str, str, str]]:
    """(tail, head, attributes) of every edge that is drawn (not style=invis)."""
    out = []
    for line in src.splitlines():
        m = EDGE.match(line)
        if m and "invis" not in (m.group(3) or ""):
            out.append((m.group(1), m.group(2), m.group(3) or ""))
    return out


def node_key(src: str, text: str) -> str:
    """The id of the one drawn node whose label contains `text`."""
    keys = [NODE.match(line).group(1) for line in visible_nodes(src) if text in line]
    assert len(keys) == 1, f"{len(keys)} nodes contain {text!r}"
    return keys[0]


def top_level_keys(src: str) -> list[str]:
    """Ids of drawn nodes defined outside every cluster."""
    depth, keys = 0, []
    for line in src.splitlines():
        if line.rstrip().endswith("{"):
            depth += 1
        elif line.strip() == "}":
            depth -= 1
        elif NODE.match(line) and depth == 1:
            keys.append(NODE.match(line).group(1))
    return keys


def rnn_loss(T: int = 3, layers: int = 1, cls=nn.RNN, seed: int = 0, backward: bool = True,
             **options):
    """A random unrolled model over T steps with loss = output.sum()."""
    tg.manual_seed(seed)
    model = cls(2, 3, num_layers=layers, **options)
    x = Tensor(np.random.default_rng(seed).normal(size=(T, 1, 2)).astype(np.float32))
    output, _ = model(x, fused=False)
    loss = output.sum()
    if backward:
        loss.backward(retain_grad=True)
    return loss, model


def test_three_step_rnn_ops_counts_match_hand_count():
    loss, _ = rnn_loss(T=3)
    src = viz.draw(loss).source
    # Hand count of nn.RNN unrolled 3 steps, loss = output.sum(), x and h_0 not requiring grad.
    # Step 1: x_1 and h_0 (the constant [x_1; h_0] remembers them), cat, linear (W.T, the
    #   matmul and + b in one node), tanh                                         = 5 nodes
    # Steps 2, 3: x_t, cat, linear, tanh (h_{t-1} is the previous tanh)          = 4 nodes each
    # Parameters W, b (once each); stack (output) and sum (loss)                 = 2 + 2
    assert len(visible_nodes(src)) == 5 + 2 * 4 + 2 + 2
    assert src.count("<B>linear</B>") == 3 and "transpose" not in src and "matmul" not in src
    # Edges, every step: x_t->cat, h_{t-1}->cat, cat->linear, W->linear, b->linear,
    #   linear->tanh                                                             = 6 each
    # h_1, h_2, h_3 -> stack, stack -> sum                                       = 3 + 1
    assert len(visible_edges(src)) == 3 * 6 + 3 + 1


def test_three_step_rnn_cells_counts_match_hand_count():
    loss, _ = rnn_loss(T=3)
    src = viz.draw(loss, detail="cells").source
    # Step 1: x_1, h_0, one RNNCell box and its output h_1                          = 4
    # Steps 2, 3: x_t, the RNNCell box, h_t                                        = 3 each
    # W, b, stack, sum                                                             = 4
    assert len(visible_nodes(src)) == 4 + 2 * 3 + 4
    # Every step: x_t->cell, h_{t-1}->cell, W->cell, b->cell, cell->h_t            = 5 each
    # h_t -> stack (3), stack -> sum (1)                                           = 4
    assert len(visible_edges(src)) == 3 * 5 + 4
    assert src.count("RNNCell</B>") == 3


@pytest.mark.parametrize("cls,T", [(nn.RNN, 5), (nn.LSTM, 4), (nn.GRU, 3)])
def test_one_cluster_per_step_in_time_order(cls, T):
    loss, _ = rnn_loss(T=T, cls=cls)
    src = viz.draw(loss).source
    steps = [int(s) for s in CLUSTER_STEP.findall(src)]
    assert steps == list(range(1, T + 1))
    for t in range(1, T + 1):
        assert f'label="t={t}"' in src


# uses of each parameter per step: the GRU (reset_after) reads W three times (the r, z rows over
# [x; h]; the n rows' x columns; their h columns), b twice (r, z rows; n rows), b_hn once
@pytest.mark.parametrize("cls,uses_per_step", [(nn.RNN, {"weight": 1, "bias": 1}),
                                               (nn.LSTM, {"weight": 1, "bias": 1}),
                                               (nn.GRU, {"weight": 3, "bias": 2, "b_hn": 1})])
def test_each_parameter_drawn_once_with_an_edge_into_every_step(cls, uses_per_step):
    T = 4
    loss, model = rnn_loss(T=T, cls=cls)
    src = viz.draw(loss).source
    top = top_level_keys(src)
    for name, _ in model.named_parameters():
        key = node_key(src, f"{name}<BR/>")
        assert key in top  # outside every step cluster
        out = [e for e in visible_edges(src) if e[0] == key]
        assert len(out) == T * uses_per_step[name.rsplit(".", 1)[1]]


def test_same_computation_gives_byte_identical_dot():
    a, _ = rnn_loss(T=4, cls=nn.LSTM)
    b, _ = rnn_loss(T=4, cls=nn.LSTM)
    for options in ({}, {"grads": True}, {"detail": "cells", "grads": True}, {"max_steps": 2}):
        assert viz.draw(a, **options).source == viz.draw(b, **options).source
    assert viz.draw(a).source == viz.draw(a).source


def test_node_ids_follow_traversal_order_not_memory():
    loss, _ = rnn_loss(T=2)
    order = viz.walk(loss)
    seen: set[int] = set()
    for t in order:  # parents always come first
        assert all(id(p) in seen for p in t.parents)
        seen.add(id(t))
    assert order[-1] is loss
    ids = [NODE.match(line).group(1) for line in visible_nodes(viz.draw(loss).source)]
    assert all(re.fullmatch(r"n\d+", k) for k in ids)
    # every tensor but the views of W (W.T) and the matmuls folded into a linear node (nn.Linear
    # records one 'linear' node per call, so there are none of those here)
    assert sorted(int(k[1:]) for k in ids) == [i for i, t in enumerate(order)
                                               if t.op not in ("transpose", "matmul")]
    assert [t.op for t in order].count("linear") == 2


def chain(T: int):
    """h_t = tanh(w * h_{t-1} + x_t), annotated by step, loss = h_T."""
    w = nn.Parameter(np.array([0.5], dtype=np.float64), name="w")
    h = Tensor(np.zeros(1), name="h_0")
    for t in range(1, T + 1):
        with tg.annotate(step=t, layer=0):
            h = (w * h + float(t % 3)).tanh()
            h.name = f"h_{t}"
    return h, w


def test_ten_thousand_step_chain_is_walked_without_recursion():
    T = 10_000
    h, w = chain(T)
    limit = sys.getrecursionlimit()
    order = viz.walk(h)
    # per step: the constant x_t, mul, add, tanh; plus w and h_0
    assert len(order) == 4 * T + 2
    src = viz.draw(h, max_steps=4).source
    assert [int(s) for s in CLUSTER_STEP.findall(src)] == [1, 2, T - 1, T]
    assert f"\u2026 {T - 4} steps \u2026" in src
    assert sys.getrecursionlimit() == limit


@pytest.mark.slow
def test_ten_thousand_step_chain_is_drawn_in_full():
    T = 10_000
    h, _ = chain(T)
    full = viz.draw(h).source
    assert len(CLUSTER_STEP.findall(full)) == T
    assert len(visible_nodes(full)) == 4 * T + 2


def test_max_steps_collapses_the_middle_into_one_node():
    T = 10
    loss, _ = rnn_loss(T=T)
    src = viz.draw(loss, max_steps=4).source
    assert [int(s) for s in CLUSTER_STEP.findall(src)] == [1, 2, 9, 10]
    assert src.count("\u2026 6 steps \u2026") == 1
    edges = visible_edges(src)
    h2, h9_cat = node_key(src, "h<SUB>2</SUB>"), None
    assert (h2, "skip", "constraint=false") in edges  # h_2 feeds the hidden step 3
    into_skip = [e for e in edges if e[1] == "skip"]
    assert len(into_skip) == len({(a, b) for a, b, _ in into_skip})  # no duplicates
    out_of_skip = {b for a, b, _ in edges if a == "skip"}
    assert len(out_of_skip) >= 2  # the cat of step 9 and the stack
    h9_cat = [b for b in out_of_skip if b != node_key(src, "stack</B>")]
    assert len(h9_cat) == 1
    # odd budgets keep one more step at the start; no budget or a large one draws everything
    assert [int(s) for s in CLUSTER_STEP.findall(viz.draw(loss, max_steps=3).source)] == \
        [1, 2, 10]
    assert len(CLUSTER_STEP.findall(viz.draw(loss, max_steps=10).source)) == 10


def test_layers_are_nested_clusters():
    loss, _ = rnn_loss(T=3, layers=2, cls=nn.LSTM)
    src = viz.draw(loss, detail="cells").source
    for t in (1, 2, 3):
        for layer in (0, 1):
            assert f"subgraph cluster_t{t}_l{layer} {{" in src
    assert src.count("LSTMCell</B>") == 3 * 2


def test_gradient_colours_run_from_one_end_of_the_scale_to_the_other():
    loss, _ = rnn_loss(T=6)
    src = viz.draw(loss, grads=True).source
    assert "legend [label=<<TABLE" in src
    fills = re.findall(r'fillcolor="(#[0-9a-f]{6})"', src)
    assert SCALE[0] in fills and SCALE[-1] in fills  # smallest and largest norm drawn
    # the norms themselves are printed, and the legend names the two ends
    h1 = [line for line in visible_nodes(src) if "h<SUB>1</SUB>" in line][0]
    h = [t for t in viz.walk(loss) if t.name == "h_1"][0]
    assert f"|g| {np.linalg.norm(h.grad):.1e}" in h1


def test_tanh_rnn_gradient_fades_back_in_time():
    loss, _ = rnn_loss(T=8)
    hs = {t.name: t for t in viz.walk(loss) if t.name and t.name.startswith("h_")}
    src = viz.draw(loss, grads=True, show_norms=False).source

    def lightness(name: str) -> int:
        line = [x for x in visible_nodes(src) if f"h<SUB>{name[2:]}</SUB>" in x][0]
        r, g, b = (int(c, 16) for c in re.findall(
            r'fillcolor="#(..)(..)(..)"', line)[0])
        return r + g + b

    norms = [np.linalg.norm(hs[f"h_{t}"].grad) for t in range(1, 9)]
    # output.sum() sends gradient into every h_t: later states get more, and paler = smaller
    order_by_norm = np.argsort(norms)
    light = [lightness(f"h_{t + 1}") for t in order_by_norm]
    assert light == sorted(light, reverse=True)


def _grads_snapshot(loss):
    return [(t, None if t.grad is None else t.grad.copy()) for t in viz.walk(loss)]


def _unchanged(snapshot):
    return all((g is None and t.grad is None) or (g is not None and t.grad is not None
                                                  and np.array_equal(g, t.grad))
               for t, g in snapshot)


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM])
def test_grads_before_backward_after_retain_graph_and_after_retain_grad_agree(cls):
    """The three ways a learner gets to draw(grads=True) give the same picture, and drawing
    changes no .grad."""
    pictures = []
    for situation in ("before backward", "retain_graph", "retain_grad"):
        loss, model = rnn_loss(T=4, cls=cls, backward=False)
        if situation == "retain_graph":
            loss.backward(retain_graph=True)
        elif situation == "retain_grad":
            loss.backward(retain_grad=True)
        before = _grads_snapshot(loss)
        pictures.append(viz.draw(loss, grads=True, params=model).source)
        assert _unchanged(before), situation
        if situation == "before backward":
            assert all(t.grad is None for t, _ in before)
    assert pictures[0] == pictures[1] == pictures[2]
    assert "|g| " in pictures[0] and "legend" in pictures[0]


def test_grads_match_the_gradients_backward_computes():
    loss, _ = rnn_loss(T=3, backward=False)
    src = viz.draw(loss, grads=True).source
    loss.backward(retain_grad=True)
    h2 = [t for t in viz.walk(loss) if t.name == "h_2"][0]
    assert f"|g| {np.linalg.norm(h2.grad):.1e}" in [
        line for line in visible_nodes(src) if "h<SUB>2</SUB>" in line][0]


def test_grads_after_a_plain_backward_say_what_to_do():
    loss, _ = rnn_loss(T=2, backward=False)
    loss.backward()  # frees the graph, keeps only the parameters' .grad
    before = _grads_snapshot(loss)
    with pytest.raises(RuntimeError) as err:
        viz.draw(loss, grads=True)
    for advice in ("before calling backward", "retain_graph=True", "retain_grad=True"):
        assert advice in str(err.value)
    assert _unchanged(before)
    viz.draw(loss)  # without gradients the freed graph still draws


def test_grads_after_tg_grad_freed_the_graph_name_it():
    # tg.grad frees the graph as backward() does; the message used to blame backward() alone
    loss, model = rnn_loss(T=2, backward=False)
    tg.grad(loss, list(model.parameters()))
    with pytest.raises(RuntimeError, match=r"tg\.grad .*without retain_graph=True"):
        viz.draw(loss, grads=True)


def test_truncated_bptt_cut_is_dashed():
    tg.manual_seed(0)
    cell = nn.LSTMCell(2, 3)
    xs = np.ones((4, 1, 2), dtype=np.float32)
    state = None
    for t in (1, 2):  # the first chunk
        with tg.annotate(step=t, layer=0):
            state = cell(Tensor(xs[t - 1], name=f"x_{t}"), state)
    state = detach_state(state)  # the boundary between two chunks: meta {"detached": True}
    for t in (3, 4):
        with tg.annotate(step=t, layer=0):
            state = cell(Tensor(xs[t - 1], name=f"x_{t}"), state)
    loss = state[0].sum()
    src = viz.draw(loss).source
    # h_2 and c_2 are cut: h_2 meets x_3 in the constant [x_3; h_2], c_2 enters via f * c_2
    cut = [line for line in visible_nodes(src) if "TBPTT cut" in line]
    assert len(cut) == 2 and all("dashed" in line for line in cut)
    assert "h<SUB>2</SUB>" in cut[0] and "c<SUB>2</SUB>" in cut[1]
    keys = [NODE.match(line).group(1) for line in cut]
    out = [attrs for a, _, attrs in visible_edges(src) if a in keys]
    assert len(out) == 2 and all("dashed" in attrs for attrs in out)
    assert all("dashed" not in attrs for a, _, attrs in visible_edges(src) if a not in keys)
    # the steps go on counting after the cut (the detached state keeps its step tag)
    assert [int(s) for s in CLUSTER_STEP.findall(src)] == [3, 4]


def test_truncated_bptt_cut_through_a_sequence_module():
    tg.manual_seed(0)
    lstm = nn.LSTM(2, 3)
    xs = Tensor(np.ones((2, 1, 2), dtype=np.float32))
    _, state = lstm(xs, fused=False)
    _, (h, c) = lstm(xs, detach_state(state), fused=False)  # the second chunk
    src = viz.draw(h.sum()).source
    cut = [line for line in visible_nodes(src) if "TBPTT cut" in line]
    assert len(cut) == 2 and "h<SUB>0</SUB>" in cut[0] and "c<SUB>0</SUB>" in cut[1]


def test_a_plain_detach_of_a_named_state_is_a_cut_but_h0_is_not():
    w = nn.Parameter(np.array([0.5]), name="w")
    h0 = Tensor(np.ones(1), name="h_0")
    with tg.annotate(step=1):
        h = (w * h0).tanh()
        h.name = "h_1"
    cut = h.detach()  # keeps the name h_1, drops the step tag
    with tg.annotate(step=2):
        h2 = (w * cut).tanh()
    src = viz.draw(h2).source
    assert sum("TBPTT cut" in line for line in visible_nodes(src)) == 1
    src0 = viz.draw(h).source
    assert "TBPTT cut" not in src0


def test_parameter_names_from_a_module_or_mapping():
    loss, model = rnn_loss(T=2)
    W = model.cells[0].linear.weight
    src = viz.draw(loss, params={"my_W": W}).source
    assert "my_W<BR/>" in src and "cells.0.linear.weight" not in src
    assert "cells.0.linear.weight<BR/>" in viz.draw(loss, params=model).source


def test_several_roots_and_unannotated_graphs():
    a = Tensor([1.0, 2.0], requires_grad=True, name="a")
    b = (a * a).sum()
    c = (a + 1.0).sum()
    src = viz.draw([b, c]).source
    assert "cluster" not in src.replace("cluster_", "") and not CLUSTER_STEP.findall(src)
    assert len([k for k in visible_nodes(src) if "a<BR/>" in k]) == 1
    mul = node_key(src, "mul</B>")
    assert [e for e in visible_edges(src) if e[1] == mul].__len__() == 2  # a * a: two edges


def test_bad_arguments_name_the_problem():
    loss, _ = rnn_loss(T=2, backward=False)
    with pytest.raises(ValueError, match="detail"):
        viz.draw(loss, detail="gates")
    with pytest.raises(ValueError, match="max_steps"):
        viz.draw(loss, max_steps=0)
    with pytest.raises(TypeError, match="Tensor"):
        viz.draw(3.0)
    with pytest.raises(TypeError, match=r"root\[1\]"):
        viz.draw([loss, "x"])
    with pytest.raises(ValueError, match="format"):
        viz.render(loss, "picture.jpg")


def test_render_dot_format_writes_the_source(tmp_path):
    loss, _ = rnn_loss(T=2)
    path = viz.render(loss, tmp_path / "g.dot", grads=True)
    assert open(path, encoding="utf-8").read() == viz.draw(loss, grads=True).source


def test_missing_graphviz_program_raises_with_install_hint_and_writes_dot(tmp_path,
                                                                          monkeypatch):
    loss, _ = rnn_loss(T=2)
    empty = tmp_path / "empty_bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no `dot` anywhere on PATH
    with pytest.raises(viz.GraphvizNotFoundError) as err:
        viz.render(loss, tmp_path / "out" / "graph.png")
    assert isinstance(err.value, RuntimeError)
    message = str(err.value)
    for hint in ("apt-get install graphviz", "brew install graphviz",
                 "conda install -c conda-forge graphviz"):
        assert hint in message
    dot_path = tmp_path / "out" / "graph.dot"
    assert str(dot_path) in message
    assert dot_path.read_text(encoding="utf-8") == viz.draw(loss).source
    assert not (tmp_path / "out" / "graph.png").exists()


def test_colour_helpers():
    assert interpolate(0.0) == SCALE[0] and interpolate(1.0) == SCALE[-1]
    assert interpolate(-3) == SCALE[0] and interpolate(7) == SCALE[-1]
    assert interpolate(0.5) == SCALE[len(SCALE) // 2]  # 9 anchors: the middle one
    assert text_color("#ffffff") == "#000000" and text_color("#000000") == "#ffffff"
    scale = LogScale([1e-6, 1e-3, 1.0, 0.0])
    assert (scale.lo, scale.hi) == (-6.0, 0.0)
    assert scale.color(1e-6) == SCALE[0] and scale.color(1.0) == SCALE[-1]
    assert scale.color(1e-3) == SCALE[4]  # half way in log10
    assert scale.color(0.0) != scale.color(1e-6) and scale.color(None) == "#ffffff"
    assert "1e-6" in scale.legend_label() and "1e0" in scale.legend_label()


def legend_ticks(label: str) -> list[str]:
    """The texts of the legend's colour cells, left to right."""
    return re.findall(r'WIDTH="34" HEIGHT="18"><FONT POINT-SIZE="8" COLOR="#\w+">([^<]*)<', label)


def test_legend_ticks_tell_a_narrow_scale_apart():
    # 1 to 4 spans 0.6 decades: to one digit the nine ticks read 1e0 1e0 1e0 2e0 2e0 2e0 ...
    ticks = legend_ticks(LogScale([1.0, 4.0]).legend_label())
    assert ticks == ["1.0e0", "1.2e0", "1.4e0", "1.7e0", "2.0e0", "2.4e0", "2.8e0", "3.4e0",
                     "4.0e0"]
    # a wide scale keeps one digit
    assert legend_ticks(LogScale([1e-8, 1.0]).legend_label())[::4] == ["1e-8", "1e-4", "1e0"]
    # one norm only: every node is the middle colour, so the legend is that one colour
    one = LogScale([2.0, 2.0])
    assert legend_ticks(one.legend_label()) == ["2e0"]
    assert f'BGCOLOR="{one.color(2.0)}" WIDTH="34"' in one.legend_label()


def test_jupyter_display_hook_is_available():
    loss, _ = rnn_loss(T=2)
    g = viz.draw(loss)
    assert hasattr(g, "_repr_mimebundle_")


def test_show_params_false_leaves_parameters_out():
    loss, model = rnn_loss(T=3)
    full, bare = viz.draw(loss).source, viz.draw(loss, show_params=False).source
    # two parameter nodes fewer; W and b each had one edge into each of the 3 steps
    assert len(visible_nodes(bare)) == len(visible_nodes(full)) - 2
    assert len(visible_edges(bare)) == len(visible_edges(full)) - 2 * 3
    assert "cells.0.linear" not in bare


def test_grad_range_fixes_the_scale_across_pictures():
    loss, _ = rnn_loss(T=4)
    src = viz.draw(loss, grads=True, grad_range=(1e-12, 1e12)).source
    fills = set(re.findall(r'fillcolor="(#[0-9a-f]{6})"', src))
    # every norm here is far inside 24 decades: neither end of the scale is used
    assert SCALE[0] not in fills and SCALE[-1] not in fills
    assert "min 1.0e-12" in src and "max 1.0e+12" in src
    with pytest.raises(ValueError, match="grad_range"):
        viz.draw(loss, grads=True, grad_range=(1.0, 0.5))


# ----- review: odd arguments give errors that name them -----------------------------------------

def test_malformed_grad_range_names_the_argument():
    loss, _ = rnn_loss(T=2)
    for bad in [(1e-3, 1.0, 2.0), "ab", (0.0, 1.0), (1.0, float("inf")), 5]:
        with pytest.raises(ValueError, match="grad_range"):
            viz.draw(loss, grads=True, grad_range=bad)


def test_render_format_is_case_insensitive(tmp_path):
    loss, _ = rnn_loss(T=2)
    path = viz.render(loss, tmp_path / "graph.txt", format="DOT")
    assert open(path, encoding="utf-8").read().startswith("digraph")


def test_grads_on_a_graph_whose_only_gradients_are_parameters_says_so():
    w = Tensor([1.0, 2.0], requires_grad=True, name="w")
    (w * 2).sum().backward()  # no retain_grad: only the leaf w has .grad
    with pytest.raises(ValueError, match="other than a parameter"):
        viz.draw(w, grads=True)
