"""Walk a recorded graph and build its Graphviz picture, grouped by time step.

The picture is built in four passes over one list of tensors (parents before children):

1. `walk`: every tensor reachable from the roots, found with an explicit stack (no recursion),
   in an order that depends only on the computation, so node ids ("n0", "n1", ...) and the DOT
   text are the same for the same computation.
2. placement: a tensor made inside `tg.annotate(step=t, layer=l)` belongs to the cluster of step
   t (and layer l); a parameter (a leaf that requires grad) belongs to no cluster and is drawn
   once; any other leaf (an input, a constant) goes to the cluster of its consumers when they
   all share one, else outside.
3. representatives: with `detail="cells"` every tensor made inside `annotate(cell=...)` is
   folded into one box per (step, layer, cell), with the unnamed constants only it uses;
   members used outside the box are drawn next to it as its outputs. With `max_steps`, every
   tensor of a step left out is folded into one "... n steps ..." node.
4. emission: one `subgraph cluster_t<step>` per step drawn, nested layer clusters when there
   are several layers, then the edges. Time runs left to right (the clusters side by side, in
   step order); inside a step the computation runs top to bottom, so stacked layers sit one
   below the other; parameters sit on the top row, the loss at the bottom.

Conventions: op results are drawn as one node showing the op and the tensor's name and shape;
a detached hidden state (a leaf with `meta["detached"]`, as `nn.utils.detach_state` leaves it,
or a leaf named like a state, `h_3` / `c_3`, that was made by `Tensor.detach()` from an
annotated tensor) is drawn as a dashed "cut" node with dashed out-edges: the truncated-BPTT
boundary, where no gradient flows back.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any, Iterable, Mapping

import graphviz
import numpy as np

from tinygrad_rnn.tensor import Tensor, topological_order
from viz.colors import NO_GRAD_COLOR, LogScale, text_color

DETAILS = ("ops", "cells")
SKIP_KEY = "skip"
LEGEND_KEY = "legend"
TIME_KEY = "time"
ORTHO_MAX_NODES = 100  # splines="auto" routes edges at right angles up to this many nodes
_FONT = "Helvetica"
_PARAM_FILL = "#d6e6f7"
_LEAF_FILL = "#f0f0f0"
_PARAM_EDGE = "#5b8fc7"
_STATE_NAME = re.compile(r"^[hc](_\S+)?$")  # h, h_3, c_3, h_3_l0: names of recurrent states
_SUBSCRIPT = re.compile(r"^([A-Za-z]+)_(\d+|[a-z])$")  # h_3 -> h with subscript 3, h_n


def walk(roots: Tensor | Iterable[Tensor]) -> list[Tensor]:
    """Every tensor reachable from `roots` through `.parents`, each after all its parents.

    The engine's own `topological_order` (iterative, so a 100,000-op chain is fine); the
    order depends only on the graph's structure and the order of each op's parents.
    """
    return topological_order(_as_roots(roots))


def draw(root: Tensor | Iterable[Tensor], detail: str = "ops", grads: bool = False,
         max_steps: int | None = None, params: Any = None, show_norms: bool = True,
         title: str | None = None, splines: str = "auto", show_params: bool = True,
         grad_range: tuple[float, float] | None = None) -> graphviz.Digraph:
    """Build (never render) the Graphviz picture of the graph that made `root`.

    root: the tensor to draw back from (usually the loss), or a sequence of tensors.
    detail: "ops" draws every primitive op; "cells" draws one box per cell per step, with the
        tensors it passes on (h_t, c_t) as separate nodes.
    grads: fill each tensor node by log10 of its gradient norm (one scale per picture, with a
        legend). Needs the intermediate gradients: call `loss.backward(retain_grad=True)` first.
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
    order = walk(root)
    roots = _as_roots(root)
    builder = _Builder(order, roots, detail, grads, max_steps, _param_names(params), show_norms,
                       show_params, grad_range)
    return builder.build(title, splines)


# ----- helpers ---------------------------------------------------------------------------------
def _as_roots(roots: Any) -> list[Tensor]:
    if isinstance(roots, Tensor):
        return [roots]
    try:
        out = list(roots)
    except TypeError:
        raise TypeError(f"draw: root must be a Tensor or a sequence of Tensors, "
                        f"got {type(roots).__name__}") from None
    for i, t in enumerate(out):
        if not isinstance(t, Tensor):
            raise TypeError(f"draw: root[{i}] is a {type(t).__name__}, not a Tensor")
    if not out:
        raise ValueError("draw: no root tensor given")
    return out


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
    if not t.is_leaf or t.requires_grad:
        return False
    meta = t.meta or {}
    if meta.get("detached"):
        return True
    # Tensor.detach() keeps the name but not the annotation: a named state with no step tag
    return t.meta is None and t.name is not None and bool(_STATE_NAME.match(t.name)) \
        and not _looks_initial(t)


def _looks_initial(t: Tensor) -> bool:
    """An initial state (h_0 of zeros) is an input, not a cut."""
    return bool(t.name and t.name.endswith("_0")) or not np.any(t.data)


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


def _grad_norm(t: Tensor) -> float | None:
    if t.grad is None:
        return None
    return float(np.linalg.norm(np.asarray(t.grad, dtype=np.float64)))


class _Builder:
    """One drawing: the passes described in the module docstring, in order."""

    def __init__(self, order: list[Tensor], roots: list[Tensor], detail: str, grads: bool,
                 max_steps: int | None, names: dict[int, str], show_norms: bool,
                 show_params: bool = True,
                 grad_range: tuple[float, float] | None = None) -> None:
        self.order, self.detail, self.grads = order, detail, grads
        self.names, self.show_norms, self.max_steps = names, show_norms, max_steps
        self.show_params, self.grad_range = show_params, grad_range
        self.index = {id(t): i for i, t in enumerate(order)}
        self.root_ids = {id(t) for t in roots}
        self.consumers: list[list[int]] = [[] for _ in order]
        for i, t in enumerate(order):
            for p in t.parents:
                self.consumers[self.index[id(p)]].append(i)
        self.place = self._placements()
        self.group = self._groups() if detail == "cells" else [None] * len(order)
        self.hidden_steps, self.n_hidden = self._hidden_steps()

    # ----- pass 2: where each tensor goes ---------------------------------------------------
    def _placements(self) -> list[tuple | None]:
        place: list[tuple | None] = [None] * len(self.order)
        for i, t in enumerate(self.order):
            meta = t.meta or {}
            if not _is_param(t) and "step" in meta:
                place[i] = (meta["step"], meta.get("layer"))
        for i, t in enumerate(self.order):  # unannotated leaves join their consumers' cluster
            if t.is_leaf and not _is_param(t) and place[i] is None:
                homes = {place[c] for c in self.consumers[i]}
                if len(homes) == 1:
                    place[i] = homes.pop()
        return place

    def _groups(self) -> list[tuple | None]:
        group: list[tuple | None] = [None] * len(self.order)
        for i, t in enumerate(self.order):
            meta = t.meta or {}
            if not _is_param(t) and "cell" in meta:
                group[i] = (meta.get("step"), meta.get("layer"), meta["cell"])
        for i, t in enumerate(self.order):  # constants used only inside one cell vanish into it
            if t.is_leaf and not _is_param(t) and group[i] is None and t.name is None:
                homes = {group[c] for c in self.consumers[i]}
                if len(homes) == 1 and None not in homes:
                    group[i] = homes.pop()
        return group

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
            place, g = self.place[i], self.group[i]
            if place is not None and place[0] in self.hidden_steps:
                into.append(SKIP_KEY)
                out.append(SKIP_KEY)
            elif g is not None:
                gkey = f"cell{first_member.setdefault(g, i)}"
                into.append(gkey)
                out.append(f"n{i}" if self._is_output(i) else gkey)
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
            if into[i] == SKIP_KEY:
                nodes.setdefault(SKIP_KEY, {"place": None, "kind": "skip", "norm": None})
            elif self.group[i] is not None:
                gnode = nodes.setdefault(into[i], {"place": self.place[i], "kind": "cell",
                                                   "group": self.group[i], "outputs": []})
                if out[i] != into[i]:  # an output of the cell, drawn beside it
                    gnode["outputs"].append(i)
                    nodes[out[i]] = {"place": self.place[i], "kind": "tensor", "i": i}
                    self._add_edge(edges, into[i], out[i], {})
            elif not _is_param(t) or self.show_params:
                nodes[out[i]] = {"place": None if _is_param(t) else self.place[i],
                                 "kind": "tensor", "i": i}
            for p in t.parents:
                j = self.index[id(p)]
                if self.group[j] is not None and self.group[j] == self.group[i]:
                    continue  # an edge inside one cell box
                src, dst = out[j], into[i]
                if src == dst or (_is_param(p) and not self.show_params):
                    continue
                attrs = {}
                if self._recurrent(j, i):  # across time: not allowed to push ranks down
                    attrs = {"constraint": "false"}
                if _is_param(p):  # rank comes from an invisible edge: these would scramble
                    attrs = {"constraint": "false", "color": _PARAM_EDGE}  # the step order
                elif _is_cut(p):
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
            return _grad_norm(self.order[node["i"]])
        if node["kind"] == "cell":
            norms = [_grad_norm(self.order[i]) for i in node["outputs"]]
            norms = [n for n in norms if n is not None]
            return math.sqrt(sum(n * n for n in norms)) if norms else None
        return None

    def _scale(self, nodes: dict) -> LogScale | None:
        if not self.grads:
            return None
        norms, params_only = [], False
        for node in nodes.values():
            if node["kind"] == "tensor" and _is_param(self.order[node["i"]]):
                params_only |= self.order[node["i"]].grad is not None
                continue  # parameters sum every step's gradient: shown as text, not coloured
            node["norm"] = self._norm(node)
            if node["norm"] is not None:
                norms.append(node["norm"])
        if not norms:
            which = ("tensor other than a parameter (parameters are not coloured)"
                     if params_only else "tensor in the graph")
            raise ValueError(f"draw(grads=True): no {which} has a gradient stored; "
                             "call loss.backward(retain_grad=True) before drawing")
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
            step, layer, cell = node["group"]
            where = [f"t={step}"] if step is not None else []
            if layer is not None:
                where.append(f"layer {layer}")
            lines = [f'<FONT POINT-SIZE="12"><B>{html.escape(str(cell))}</B></FONT>']
            if where:
                lines.append(_small(html.escape(", ".join(where))))
            if scale is not None and self.show_norms and norm is not None:
                lines.append(_small(f"|g| {norm:.1e}"))
            g.node(key, label="<" + "<BR/>".join(lines) + ">", shape="box",
                   style="rounded,filled,bold", fillcolor=fill, fontcolor=text_color(fill),
                   height="0.6")
            return
        t = self.order[node["i"]]
        name = self.names.get(id(t), t.name)
        lines = []
        if t.op is not None:
            lines.append(f"<B>{html.escape(t.op)}</B>")
        if name:
            lines.append(_name_html(name))
        elif t.is_leaf and t.numel() == 1 and not t.requires_grad:
            lines.append(html.escape(f"{t.data.item():.4g}"))  # a constant
        lines.append(_small(_shape_text(t.shape)))
        norm = _grad_norm(t) if _is_param(t) else norm
        if scale is not None and self.show_norms and norm is not None:
            lines.append(_small(f"|g| {norm:.1e}"))
        label = "<" + "<BR/>".join(lines) + ">"
        if _is_param(t):
            g.node(key, label=label, shape="box", style="filled,bold", fillcolor=_PARAM_FILL,
                   color=_PARAM_EDGE, peripheries="2")
        elif _is_cut(t):
            g.node(key, label="<" + "<BR/>".join(lines + [_small("detached: TBPTT cut")]) + ">",
                   shape="box", style="dashed,filled", fillcolor="#ffffff", color="#666666")
        elif t.is_leaf:
            g.node(key, label=label, shape="box",
                   style="filled", fillcolor=_LEAF_FILL if scale is None or norm is None
                   else fill, color="#999999", fontcolor="#000000")
        else:
            attrs = {"penwidth": "2"} if name else {}
            g.node(key, label=label, shape="box", style="rounded,filled", fillcolor=fill,
                   fontcolor=text_color(fill), **attrs)
