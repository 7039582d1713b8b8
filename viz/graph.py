"""Walk a recorded graph and build its Graphviz picture, grouped by time step.

The picture is built in four passes over one list of tensors (parents before children):

1. `walk`: every tensor reachable from the roots, found with an explicit stack (no recursion),
   in an order that depends only on the computation, so node ids ("n0", "n1", ...) and the DOT
   text are the same for the same computation. It follows `.parents`, and also the inputs a
   constant remembers in its `from` tag (the engine records no op whose inputs are constants:
   `[x_1; h_0]` at the first step), so x_1 and h_0 are drawn feeding step 1 like any step.
2. placement, from the tags the library sets (viz never parses names):
   - a tensor made by a cell call (or inside `tg.annotate(step=t)`, which wins) belongs to step
     t; its layer is its `layer` tag (nn.RNN and annotate set it), else the rank of its cell
     call among the calls of that step (the distinct cells used within one step are its
     layers, in the order they were first called), else (tagged with a step only: the rows of
     a state that a packed run carries on) the layer of its parents in that step;
   - an op after the cells that reads the states of one step t and nothing later (an output
     layer, the step's loss) joins step t's cluster; so does the running sum of the losses,
     `loss = loss + loss_t` (an add of two such results goes to the later step): the partial
     sum L_1 + ... + L_t is drawn at step t, and the total at the last step;
   - an op that reads several steps' states (`stack(outputs)`) is drawn outside the clusters;
   - a parameter (a leaf that requires grad) belongs to no cluster and is drawn once; any other
     tensor not yet placed (an input, a constant, a detached state) goes to the cluster of its
     consumers when they all share one, else outside.
3. representatives: a view of a parameter (W.T, W[:H]) is drawn as the parameter itself, and a
   matmul by a parameter plus a bias is drawn as one "linear" node; with `detail="cells"` every
   tensor of one cell call is folded into one box, with the unnamed constants only it uses;
   members used outside the box are drawn next to it as its outputs. With `max_steps`, every
   tensor of a step left out is folded into one "... n steps ..." node.
4. emission: one `subgraph cluster_t<step>` per step drawn, nested layer clusters when there
   are several layers, then the edges. Time runs left to right (the clusters side by side, in
   step order); inside a step the computation runs top to bottom, so stacked layers sit one
   below the other; parameters sit on the top row, the loss at the bottom.

A detached state (tagged `cut` by `Tensor.detach()` or `nn.utils.detach_state`) is drawn as a
dashed "cut" node with dashed out-edges: the truncated-BPTT boundary, where no gradient flows
back.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any, Iterable, Mapping

import graphviz
import numpy as np

from tinygrad_rnn.tensor import Tensor
from viz.colors import NO_GRAD_COLOR, LogScale, text_color
from viz.view import View, _as_roots, walk  # noqa: F401  (walk: re-exported)

DETAILS = ("ops", "cells")
SKIP_KEY = "skip"
LEGEND_KEY = "legend"
TIME_KEY = "time"
ORTHO_MAX_NODES = 100  # splines="auto" routes edges at right angles up to this many nodes
VIEW_OPS = ("transpose", "getitem", "reshape")  # of a parameter: drawn as the parameter
_FONT = "Helvetica"
_PARAM_FILL = "#d6e6f7"
_LEAF_FILL = "#f0f0f0"
_PARAM_EDGE = "#5b8fc7"
_SUBSCRIPT = re.compile(r"^([A-Za-z]+)_(\d+|[a-z])$")  # h_3 -> h with subscript 3, h_n

def draw(root: Tensor | Iterable[Tensor], detail: str = "ops", grads: bool = False,
         max_steps: int | None = None, params: Any = None, show_norms: bool = True,
         title: str | None = None, splines: str = "auto", show_params: bool = True,
         grad_range: tuple[float, float] | None = None,
         unroll_fused: bool = True) -> graphviz.Digraph:
    """Build (never render) the Graphviz picture of the graph that made `root`.

    root: the tensor to draw back from (usually the loss), or a sequence of tensors.
    detail: "ops" draws every primitive op; "cells" draws one box per cell per step, with the
        tensors it passes on (h_t, c_t) as separate nodes.
    grads: fill each tensor node by log10 of the norm of d(root)/d(tensor) (one scale per
        picture, with a legend; several roots: of their sum; a non-scalar root: of its sum).
        Works before any backward and after `backward(retain_graph=True)` (computed with
        `tg.grad`), and after `backward(retain_grad=True)` (read from `.grad`); never changes a
        `.grad`. After a plain `backward()` the graph is freed: an error says what to do.
    max_steps: draw at most this many time steps: the first ceil(k/2) and the last floor(k/2),
        with a single "... n steps ..." node standing for the ones left out.
    params: names for the parameters: an `nn.Module` (its `named_parameters()`) or a mapping
        {name: tensor}; parameters with neither a mapping entry nor a `.name` are labelled by
        their shape only.
    show_norms: with grads, also print each gradient norm in its node.
    title: a caption drawn above the picture.
    show_params: draw the parameters and their edges (turn off for long sequences, where
        their fan-out hides the rest).
    grad_range: a fixed (smallest, largest) gradient norm for the colour scale, so several
        pictures share one scale; by default the smallest and largest norm drawn.
    splines: Graphviz edge routing: "auto" (the default: "ortho" up to ORTHO_MAX_NODES drawn
        nodes, "line" above, as right-angle routing gets slow), "ortho" (right angles, tidy),
        "line" (straight, fast), "spline", ...
    unroll_fused: draw a fused layer node (`rnn_layer`, `lstm_layer`, `gru_layer`: what
        `nn.RNN/LSTM/GRU` record by default) as its time steps, re-run through its cell in a
        scratch graph (viz/view.py); False keeps one box per layer.
    Returns a `graphviz.Digraph`; in Jupyter it displays inline, `viz.render` writes a file.
    """
    if detail not in DETAILS:
        raise ValueError(f"draw: detail must be one of {DETAILS}, got {detail!r}")
    if max_steps is not None and (not isinstance(max_steps, (int, np.integer))
                                  or isinstance(max_steps, bool) or max_steps < 1):
        raise ValueError(f"draw: max_steps must be a positive int or None, got {max_steps!r}")
    if grad_range is not None:
        try:
            lo, hi = (float(v) for v in grad_range)
        except (TypeError, ValueError):  # not two numbers
            lo = hi = math.nan
        if not (0 < lo < hi and math.isfinite(hi)):
            raise ValueError("draw: grad_range must be two gradient norms (lo, hi) with "
                             f"0 < lo < hi, got {grad_range!r}")
    view = View(_as_roots(root), unroll_fused)
    builder = _Builder(view, detail, grads, max_steps, _param_names(params), show_norms,
                       show_params, grad_range)
    return builder.build(title, splines)


# ----- helpers ---------------------------------------------------------------------------------
def _param_names(params: Any) -> dict[int, str]:
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        params = dict(params.named_parameters())
    if not isinstance(params, Mapping):
        raise TypeError(f"draw: params must be a Module or a mapping name -> Tensor, "
                        f"got {type(params).__name__}")
    return {id(t): str(name) for name, t in params.items()}


def _is_param(t: Tensor) -> bool:
    return t.is_leaf and t.requires_grad


def _is_cut(t: Tensor) -> bool:
    """A detached recurrent state: the truncated-BPTT boundary."""
    return t.is_leaf and not t.requires_grad and bool(t.tags and t.tags.get("cut"))


def _sort_key(step: Any) -> tuple:
    return (0, step, "") if isinstance(step, (int, float, np.integer)) else (1, 0, str(step))


def _ident(value: Any) -> str:
    return re.sub(r"\W", "_", str(value))


def _shape_text(shape: tuple) -> str:
    return "scalar" if shape == () else "\u00d7".join(str(n) for n in shape)


def _name_html(name: str) -> str:
    """h_3 -> h<SUB>3</SUB>; anything else escaped as is."""
    m = _SUBSCRIPT.match(name)
    if m:
        return f"{html.escape(m.group(1))}<SUB>{html.escape(m.group(2))}</SUB>"
    return html.escape(name)


def _small(text: str) -> str:
    return f'<FONT POINT-SIZE="9">{text}</FONT>'


# what a cell box's tooltip says the cell computes ([x; h] form, one linear layer W, b)
CELL_FORMULAS = {
    "RNNCell": "h_t = tanh(W [x_t; h_{t-1}] + b)",
    "LSTMCell": "(i, f, g, o) = (\u03c3, \u03c3, tanh, \u03c3)(W [x_t; h_{t-1}] + b)\n"
                "c_t = f * c_{t-1} + i * g\nh_t = o * tanh(c_t)",
    "GRUCell": "(r, z) = \u03c3(W_rz [x_t; h_{t-1}] + b_rz)\n"
               "n = tanh(W_xn x_t + b_n + r * (W_hn h_{t-1} + b_hn))  (reset_after=False: "
               "n = tanh(W_n [x_t; r * h_{t-1}] + b_n))\nh_t = (1 - z) * n + z * h_{t-1}",
}


def _tooltip(t: Tensor, op: str | None, name: str | None, norm: float | None) -> str:
    """What hovering a tensor's node says: op, name, shape, value range, gradient norm."""
    head = " ".join(part for part in (op, name) if part) or "tensor"
    lines = [f"{head}: shape {_shape_text(t.shape)}, {t.dtype}"]
    if t.data.size and t.dtype.kind in "fiub":
        data = np.asarray(t.data, dtype=np.float64)
        lines.append(f"min {data.min():.4g}  mean {data.mean():.4g}  max {data.max():.4g}")
    if norm is not None:
        lines.append(f"gradient norm {norm:.3g}")
    return "\n".join(lines)


def _norm(g: np.ndarray | None) -> float | None:
    return None if g is None else float(np.linalg.norm(np.asarray(g, dtype=np.float64)))


class _Builder:
    """One drawing: the passes described in the module docstring, in order."""

    def __init__(self, view: View, detail: str, grads: bool, max_steps: int | None,
                 names: dict[int, str], show_norms: bool, show_params: bool = True,
                 grad_range: tuple[float, float] | None = None) -> None:
        order, roots = view.order, view.roots
        self.order, self.detail, self.grads = order, detail, grads
        self.names, self.show_norms, self.max_steps = names, show_norms, max_steps
        self.show_params, self.grad_range = show_params, grad_range
        self.index = {id(t): i for i, t in enumerate(order)}
        self.root_ids = {id(t) for t in roots}
        self.parents = [[self.index[id(p)] for p in view.parents(t)] for t in order]
        self.op = [view.op(t) for t in order]
        self.consumers: list[list[int]] = [[] for _ in order]
        for i, ps in enumerate(self.parents):
            for j in ps:
                self.consumers[j].append(i)
        self.param = [_is_param(t) and not self.parents[i] for i, t in enumerate(order)]
        found = view.gradients() if grads else {}
        self.norms = [_norm(found.get(id(t))) for t in order]
        self.view, self.label_op = self._folds()
        self.place = self._placements()
        self.group = self._groups() if detail == "cells" else [None] * len(order)
        self.hidden_steps, self.n_hidden = self._hidden_steps()

    # ----- pass 2: where each tensor goes ---------------------------------------------------
    def _placements(self) -> list[tuple | None]:
        n = len(self.order)
        place: list[tuple | None] = [None] * n
        made_by_cell = [False] * n
        tags = [t.tags or {} for t in self.order]
        calls: dict[Any, set] = {}
        for i in range(n):  # made by a cell call or inside annotate(step=...)
            if self.parents[i] and "step" in tags[i] and "unit" not in tags[i] \
                    and self.view[i] is None:
                made_by_cell[i] = True
                if "layer" not in tags[i] and "call" in tags[i]:
                    calls.setdefault(tags[i]["step"], set()).add(tags[i]["call"])
        rank = {step: {c: k for k, c in enumerate(sorted(cs))} for step, cs in calls.items()}
        for i in range(n):
            if made_by_cell[i]:
                step = tags[i]["step"]
                # untagged layer (a packed run's active rows h_t[:b]): its parents' layer
                layers = {place[j][1] for j in self.parents[i]
                          if place[j] is not None and place[j][0] == step}
                layer = tags[i]["layer"] if "layer" in tags[i] else \
                    rank[step][tags[i]["call"]] if "call" in tags[i] else \
                    layers.pop() if len(layers) == 1 else None
                place[i] = (step, layer)
                continue
            if not self.parents[i] or self.view[i] is not None:
                continue
            # an op after the cells: joins the one step whose states it reads
            cell_steps, later = set(), []
            for j in self.parents[i]:
                if place[j] is not None:
                    (cell_steps.add if made_by_cell[j] else later.append)(place[j][0])
            steps = cell_steps | set(later)
            if len(cell_steps) > 1 or not steps:
                continue
            if len(steps) == 1 or (self.op[i] in ("add", "sub") and not cell_steps) or (
                    cell_steps and max(steps, key=_sort_key) in cell_steps):
                place[i] = (max(steps, key=_sort_key), None)
        for i in reversed(range(n)):  # inputs, constants, cut states: their consumers' step
            if place[i] is None and not self.param[i] and self.view[i] is None:
                homes = {place[c] for c in self.consumers[i]}
                if len(homes) == 1:
                    place[i] = homes.pop()
        return place

    def _groups(self) -> list[tuple | None]:
        group: list[tuple | None] = [None] * len(self.order)
        for i, t in enumerate(self.order):
            tags = t.tags or {}
            if self.place[i] is not None and "cell" in tags and self.view[i] is None \
                    and self.parents[i]:
                group[i] = (self.place[i][0], self.place[i][1], tags["cell"], tags.get("call"))
        for i, t in enumerate(self.order):  # constants used only inside one cell vanish into it
            if not self.parents[i] and not self.param[i] and group[i] is None \
                    and t.name is None:
                homes = {group[c] for c in self.consumers[i]}
                if len(homes) == 1 and None not in homes:
                    group[i] = homes.pop()
        return group

    def _folds(self) -> tuple[list[int | None], list[str | None]]:
        """(the parameter each parameter view stands for, the op label each node shows):
        W.T or W[:H] is drawn as W itself; matmul by a parameter (+ a parameter bias) is one
        node labelled "linear"."""
        n = len(self.order)
        view: list[int | None] = [None] * n
        label = list(self.op)
        for i in range(n):
            ps = self.parents[i]
            if self.op[i] in VIEW_OPS and len(ps) == 1:
                j = ps[0]
                view[i] = j if self.param[j] else view[j]

        def by_param(j: int) -> bool:
            return self.param[j] or view[j] is not None

        for i in range(n):
            ps = self.parents[i]
            if self.op[i] == "matmul" and len(ps) == 2 and by_param(ps[1]) \
                    and not by_param(ps[0]):
                label[i] = "linear"
            if self.op[i] == "add" and len(ps) == 2 and label[ps[0]] == "linear" \
                    and self.op[ps[0]] == "matmul" and by_param(ps[1]) \
                    and len(self.consumers[ps[0]]) == 1 \
                    and id(self.order[ps[0]]) not in self.root_ids:
                label[i] = "linear"
                label[ps[0]] = f"fold:{i}"
        return view, label

    def _hidden_steps(self) -> tuple[set, int]:
        steps = sorted({p[0] for p in self.place if p is not None}, key=_sort_key)
        k = self.max_steps
        if k is None or len(steps) <= k:
            return set(), 0
        kept = steps[:(k + 1) // 2] + steps[len(steps) - k // 2:]
        hidden = [s for s in steps if s not in kept]
        return set(hidden), len(hidden)

    # ----- pass 3: which drawn node stands for each tensor ----------------------------------
    def _is_output(self, i: int) -> bool:
        g = self.group[i]
        return (id(self.order[i]) in self.root_ids
                or any(self.group[c] != g for c in self.consumers[i]))

    def _keys(self) -> tuple[list[str], list[str]]:
        """(key receiving edges into each tensor, key sending edges out of it)."""
        first_member: dict[tuple, int] = {}
        into, out = [], []
        for i in range(len(self.order)):
            place, g, label = self.place[i], self.group[i], self.label_op[i]
            if self.view[i] is not None:  # W.T: edges leave from W itself
                key = f"n{self.view[i]}"
                into.append(key)
                out.append(key)
            elif place is not None and place[0] in self.hidden_steps:
                into.append(SKIP_KEY)
                out.append(SKIP_KEY)
            elif g is not None:
                gkey = f"cell{first_member.setdefault(g, i)}"
                into.append(gkey)
                out.append(f"n{i}" if self._is_output(i) else gkey)
            elif label is not None and label.startswith("fold:"):  # matmul inside a linear
                key = f"n{label[5:]}"
                into.append(key)
                out.append(key)
            else:
                into.append(f"n{i}")
                out.append(f"n{i}")
        return into, out

    # ----- pass 4: emit ---------------------------------------------------------------------
    def build(self, title: str | None, splines: str) -> graphviz.Digraph:
        """The Digraph: nodes, edges, clusters per step, legend."""
        into, out = self._keys()
        nodes: dict[str, dict] = {}  # key -> {"place", "label", "attrs", "norm", "kind"}
        edges: dict[tuple, dict] = {}  # (src, dst, n) -> attrs, insertion ordered
        for i, t in enumerate(self.order):
            if self.view[i] is not None or (self.label_op[i] or "").startswith("fold:"):
                pass  # drawn as the parameter / as the linear node it belongs to
            elif into[i] == SKIP_KEY:
                nodes.setdefault(SKIP_KEY, {"place": None, "kind": "skip", "norm": None})
            elif self.group[i] is not None:
                gnode = nodes.setdefault(into[i], {"place": self.place[i], "kind": "cell",
                                                   "group": self.group[i], "outputs": []})
                if out[i] != into[i]:  # an output of the cell, drawn beside it
                    gnode["outputs"].append(i)
                    nodes[out[i]] = {"place": self.place[i], "kind": "tensor", "i": i}
                    self._add_edge(edges, into[i], out[i], {})
            elif not self.param[i] or self.show_params:
                nodes[out[i]] = {"place": None if self.param[i] else self.place[i],
                                 "kind": "tensor", "i": i}
            for j in self.parents[i]:
                if self.group[j] is not None and self.group[j] == self.group[i]:
                    continue  # an edge inside one cell box
                src, dst = out[j], into[i]
                from_param = self.param[j] or self.view[j] is not None
                if src == dst or (from_param and not self.show_params):
                    continue
                attrs = {}
                if self._recurrent(j, i):  # across time: not allowed to push ranks down
                    attrs = {"constraint": "false"}
                if from_param:  # rank comes from an invisible edge: these would scramble
                    attrs = {"constraint": "false", "color": _PARAM_EDGE}  # the step order
                elif _is_cut(self.order[j]):
                    attrs = {**attrs, "style": "dashed", "color": "#888888"}
                dedupe = self.detail == "cells" or SKIP_KEY in (src, dst)
                self._add_edge(edges, src, dst, attrs, dedupe)
        scale = self._scale(nodes)
        return self._emit(nodes, edges, scale, title, splines)

    def _recurrent(self, j: int, i: int) -> bool:
        """True for an edge from one time step's cluster into another's."""
        a, b = self.place[j], self.place[i]
        return a is not None and b is not None and a[0] != b[0]

    @staticmethod
    def _add_edge(edges: dict, src: str, dst: str, attrs: dict, dedupe: bool = True) -> None:
        n = 0
        if not dedupe:  # parallel edges are kept: a + a has two
            while (src, dst, n) in edges:
                n += 1
        edges.setdefault((src, dst, n), attrs)

    def _norm(self, node: dict) -> float | None:
        if node["kind"] == "tensor":
            return self.norms[node["i"]]
        if node["kind"] == "cell":
            norms = [self.norms[i] for i in node["outputs"]]
            norms = [n for n in norms if n is not None]
            return math.sqrt(sum(n * n for n in norms)) if norms else None
        return None

    def _scale(self, nodes: dict) -> LogScale | None:
        if not self.grads:
            return None
        norms = []
        for node in nodes.values():
            if node["kind"] == "tensor" and self.param[node["i"]]:
                continue  # parameters sum every step's gradient: shown as text, not coloured
            node["norm"] = self._norm(node)
            if node["norm"] is not None:
                norms.append(node["norm"])
        if not norms:
            raise ValueError("draw(grads=True): no tensor other than a parameter (parameters are "
                             "not coloured) has a gradient: nothing between the parameters and "
                             "the root requires grad")
        return LogScale(norms, span=self.grad_range)

    def _emit(self, nodes: dict, edges: dict, scale: LogScale | None,
              title: str | None, splines: str) -> graphviz.Digraph:
        if splines == "auto":
            splines = "ortho" if len(nodes) <= ORTHO_MAX_NODES else "line"
        g = graphviz.Digraph("unrolled")
        g.attr(rankdir="TB", nodesep="0.18", ranksep="0.3", fontname=_FONT, fontsize="12",
               newrank="true", splines=splines)
        if title:
            g.attr(label=title, labelloc="t", fontsize="16")
        g.attr("node", fontname=_FONT, fontsize="10", margin="0.06,0.03", height="0.3")
        g.attr("edge", arrowsize="0.6", color="#555555")

        by_place: dict[Any, dict[Any, list[str]]] = {}
        top: list[str] = []
        for key, node in nodes.items():
            place = node["place"]
            if place is None or node["kind"] == "skip":
                top.append(key)
            else:
                by_place.setdefault(place[0], {}).setdefault(place[1], []).append(key)
        layered = len({layer for layers in by_place.values() for layer in layers
                       if layer is not None}) > 1

        steps: list[Any] = sorted(by_place, key=_sort_key)
        if SKIP_KEY in nodes:  # the gap goes where the hidden steps were
            first_hidden = min(map(_sort_key, self.hidden_steps))
            gap = sum(1 for s in steps if _sort_key(s) < first_hidden)
            steps.insert(gap, SKIP_KEY)
        anchors = ["gap_anchor" if s is SKIP_KEY else f"t{_ident(s)}_anchor" for s in steps]
        if anchors:
            # Time runs left to right although edges across time do not set ranks: an
            # invisible point per step (its anchor), all children of one invisible root, given
            # first in the text and in step order, with crossing minimisation kept short so
            # that first order survives. Parameters go above the root, each step below its
            # anchor.
            g.attr(mclimit="0.01")
            g.node(TIME_KEY, style="invis", shape="point", width="0", height="0")
            for a in anchors:
                g.edge(TIME_KEY, a, style="invis")
        below: list[tuple[str, str]] = []  # (anchor, node) pairs: invisible rank constraints
        for step, anchor in zip(steps, anchors):
            if step is SKIP_KEY:
                with g.subgraph(name="cluster_gap") as c:
                    c.attr(label="", style="invis")
                    c.node(anchor, style="invis", shape="point", width="0", height="0")
                    self._node(c, SKIP_KEY, nodes[SKIP_KEY], scale)
                below.append((anchor, SKIP_KEY))
                continue
            cname = f"t{_ident(step)}"
            c = graphviz.Digraph(name=f"cluster_{cname}")  # added with g.subgraph(c) below:
            c.attr(label=f"t={step}", style="rounded,filled", fillcolor="#fbfbfb",  # cheaper
                   color="#b0b0b0", fontsize="13", labeljust="l")  # than the `with` form
            c.node(anchor, style="invis", shape="point", width="0", height="0")
            layers = by_place[step]
            for layer in sorted(layers, key=lambda v: _sort_key(-1 if v is None else v)):
                if layered and layer is not None:
                    lc = graphviz.Digraph(name=f"cluster_{cname}_l{_ident(layer)}")
                    lc.attr(label=f"layer {layer}", style="rounded,dashed",
                            color="#c8c8c8", fontsize="10", fillcolor="#fbfbfb")
                    for key in layers[layer]:
                        self._node(lc, key, nodes[key], scale)
                    c.subgraph(lc)
                else:
                    for key in layers[layer]:
                        self._node(c, key, nodes[key], scale)
                below.extend((anchor, key) for key in layers[layer])
            g.subgraph(c)
        for key in top:
            if key != SKIP_KEY:
                self._node(g, key, nodes[key], scale)
        params = [k for k in top if nodes[k]["kind"] == "tensor"
                  and _is_param(self.order[nodes[k]["i"]])]
        for a, b in [(p, TIME_KEY) for p in params if anchors] + below:
            g.edge(a, b, style="invis")
        for (src, dst, _), attrs in edges.items():
            g.edge(src, dst, **attrs)
        if scale is not None:
            g.node(LEGEND_KEY, label=scale.legend_label(), shape="plaintext", margin="0")
        return g

    def _node(self, g: graphviz.Digraph, key: str, node: dict, scale: LogScale | None) -> None:
        kind = node["kind"]
        if kind == "skip":
            g.node(key, label=f"\u2026 {self.n_hidden} steps \u2026", shape="box",
                   style="dashed,rounded", color="#888888", fontsize="12")
            return
        norm = node.get("norm")
        fill = scale.color(norm) if scale is not None else NO_GRAD_COLOR
        if kind == "cell":
            step, layer, cell, _ = node["group"]
            where = [f"t={step}"] if step is not None else []
            if layer is not None:
                where.append(f"layer {layer}")
            lines = [f'<FONT POINT-SIZE="12"><B>{html.escape(str(cell))}</B></FONT>']
            if where:
                lines.append(_small(html.escape(", ".join(where))))
            if scale is not None and self.show_norms and norm is not None:
                lines.append(_small(f"|g| {norm:.1e}"))
            tip = [f"{cell} ({', '.join(where)})" if where else str(cell)]
            tip += [CELL_FORMULAS[cell]] if cell in CELL_FORMULAS else []
            if norm is not None:
                tip.append(f"gradient norm of its outputs {norm:.3g}")
            g.node(key, label="<" + "<BR/>".join(lines) + ">", shape="box",
                   style="rounded,filled,bold", fillcolor=fill, fontcolor=text_color(fill),
                   height="0.6", tooltip="\n".join(tip))
            return
        t = self.order[node["i"]]
        name = self.names.get(id(t), t.name)
        lines = []
        op = self.label_op[node["i"]]
        if op is not None:
            lines.append(f"<B>{html.escape(op)}</B>")
        if name:
            lines.append(_name_html(name))
        elif t.is_leaf and t.numel() == 1 and not t.requires_grad:
            lines.append(html.escape(f"{t.data.item():.4g}"))  # a constant
        lines.append(_small(_shape_text(t.shape)))
        norm = self.norms[node["i"]] if self.param[node["i"]] else norm
        if scale is not None and self.show_norms and norm is not None:
            lines.append(_small(f"|g| {norm:.1e}"))
        label = "<" + "<BR/>".join(lines) + ">"
        tip = _tooltip(t, op, name, norm if scale is not None else None)
        if _is_param(t):
            g.node(key, label=label, shape="box", style="filled,bold", fillcolor=_PARAM_FILL,
                   color=_PARAM_EDGE, peripheries="2", tooltip=tip)
        elif _is_cut(t):
            g.node(key, label="<" + "<BR/>".join(lines + [_small("detached: TBPTT cut")]) + ">",
                   shape="box", style="dashed,filled", fillcolor="#ffffff", color="#666666",
                   tooltip=tip + "\ndetached: no gradient flows back (truncated BPTT)")
        elif not self.parents[node["i"]]:
            g.node(key, label=label, shape="box",
                   style="filled", fillcolor=_LEAF_FILL if scale is None or norm is None
                   else fill, color="#999999", fontcolor="#000000", tooltip=tip)
        else:
            attrs = {"penwidth": "2"} if name else {}
            g.node(key, label=label, shape="box", style="rounded,filled", fillcolor=fill,
                   fontcolor=text_color(fill), tooltip=tip, **attrs)
