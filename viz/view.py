"""Fused layers drawn unrolled: each `rnn_layer` / `lstm_layer` / `gru_layer` node re-run step by
step, through its cell, in a scratch graph that the picture shows in its place.

`nn.RNN` / `nn.LSTM` / `nn.GRU` (fused, the default) record one graph node per layer; the
node is tagged with its cell (`unit`). To draw the steps, the cell is called once per step on
the node's inputs, exactly as `fused=False` would (so both GRU formulas, and any cell, work),
but on copies: a copy of the cell whose parameters are fresh leaves, and copies of the inputs.
Nothing of the user's graph is touched. The scratch tensors then stand in for the node when
the graph is walked (`View.parents`): the node is replaced by the stack of its steps' states,
node[k] (its last state h_T, which h_n or the next packed run reads) by that step's state,
each copy by the tensor it copies, a parameter copy by the parameter, and the input x_t of a
layer above by the states of the layers below it is made of: h_t, or [h_t; h'_t] drawn as a
cat of the two directions' states. That last one is found by following the ops that only move
elements (getitem, reshape, cat, ...) from x back to the layers below, on arrays of element
numbers, so it holds for padded input and for a PackedSequence (whose layers run as one node
per run of equal batch size, on the active rows). Layer by layer the picture is then the one
the per-op path draws.

Gradients: the node's gradient dL/d(node) (from `tg.grad` on the user's graph, or its `.grad`
after `backward(retain_grad=True)`) is sent back through the scratch graph of that layer alone
(`tg.grad` with grad_outputs), which gives every step's gradient; the numbers equal the per-op
path's up to rounding. The re-run reads the inputs' current data: it needs none of the arrays
the fused node saved for backward, so it works after a backward freed them; but if the
parameters changed since the forward (an optimizer step), the re-run no longer reproduces the
node's output and drawing it unrolled is an error (draw before the step, or unroll_fused=False).
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Iterable

import numpy as np

from tinygrad_rnn.nn.cells import CellBase
from tinygrad_rnn.tensor import _FREED, Tensor, annotate, grad, stack, tensor_list

FUSED_OPS = ("rnn_layer", "lstm_layer", "gru_layer")
MOVES = ("getitem", "reshape", "transpose", "cat", "stack")  # ops that only move elements


Parents = Callable[[Tensor], tuple]


def graph_parents(t: Tensor) -> tuple:
    """The inputs viz draws into `t`: its op's parents, or for a constant the inputs its
    `from` tag remembers."""
    if t._ctx is not None:
        return t._ctx.parents
    made = t.tags.get("from") if t.tags else None
    return made[1] if made else ()


def graph_op(t: Tensor) -> str | None:
    """The op name viz shows for `t` (None for a leaf)."""
    if t._ctx is not None:
        return t._ctx.op
    made = t.tags.get("from") if t.tags else None
    return made[0] if made else None


def walk(roots: Tensor | Iterable[Tensor], parents: Parents = graph_parents) -> list[Tensor]:
    """Every tensor reachable from `roots` through `parents`, each after all its parents.

    An iterative depth-first post-order (so a 100,000-op chain is fine) that depends only on
    the graph's structure and the order of each op's parents.
    """
    order: list[Tensor] = []
    visited: set[Tensor] = set()  # by identity: Tensor hashes as object does
    for root in _as_roots(roots):
        if root in visited:
            continue
        visited.add(root)
        stack = [(root, iter(parents(root)))]
        while stack:
            node, todo = stack[-1]
            for p in todo:
                if p not in visited:
                    visited.add(p)
                    stack.append((p, iter(parents(p))))
                    break
            else:  # every parent done: the node comes after them
                stack.pop()
                order.append(node)
    return order


def _as_roots(roots: Any) -> list[Tensor]:
    return tensor_list(roots, "draw", "root", empty=False)


def _graph_freed(order: list[Tensor]) -> bool:
    """Whether a backward pass (without retain_graph) has freed the saved arrays of any op in
    `order`, so no second backward can run through it."""
    return any(t._ctx is not None and t._ctx.saved is _FREED for t in order)


def gradients(roots: list[Tensor], order: list[Tensor]) -> list[np.ndarray | None]:
    """d(sum of roots)/d(tensor) for every tensor of `order` that requires grad (None for the
    others), touching no `.grad`.

    With the graph still whole (no backward yet, or `backward(retain_graph=True)`) this is one
    `tg.grad` that keeps the graph. After `backward(retain_grad=True)` freed it, the `.grad`
    that backward stored on every tensor is read instead. After a plain `backward()` there is
    nothing to read: the error says which of the three to do.
    """
    if _graph_freed(order):
        stored = [t.grad for t in order]
        if any(g is not None for t, g in zip(order, stored) if not t.is_leaf):
            return stored
        raise RuntimeError(
            "draw(grads=True): the graph's saved arrays were freed by a backward pass "
            "(loss.backward(), or tg.grad / torch.autograd.grad without retain_graph=True), and "
            "no gradient was kept on the intermediate tensors. Draw before calling backward, or "
            "call loss.backward(retain_graph=True) or loss.backward(retain_grad=True) instead.")
    wanted = [t for t in order if t.requires_grad]
    live = [r for r in roots if r.requires_grad]
    if not wanted or not live:
        return [None] * len(order)
    seeds = [np.ones(r.shape, r.dtype) for r in live]
    found = grad(live, wanted, grad_outputs=seeds, retain_graph=True, allow_unused=True)
    by_id = {id(t): g for t, g in zip(wanted, found)}
    return [by_id.get(id(t)) for t in order]


def _whole_states(where: np.ndarray, states: list[Tensor],
                  starts: np.ndarray) -> list[Tensor] | None:
    """The states whose elements, each state whole and in order, side by side along the last
    axis, are `where` (sources as `View._sources` gives them); None if it is anything else."""
    rows = where.reshape(-1, where.shape[-1])
    parts, col = [], 0
    while col < rows.shape[1]:
        k = int(np.searchsorted(starts, rows[0, col], side="right")) - 1
        if rows[0, col] < 0 or k >= len(states):
            return None
        s = states[k]
        width = s.shape[-1]
        whole = np.arange(starts[k], starts[k + 1]).reshape(-1, width)
        if whole.shape[0] != rows.shape[0] or \
                not np.array_equal(rows[:, col:col + width], whole):
            return None
        parts.append(s)
        col += width
    return parts


class View:
    """The graph behind `roots` as viz draws it: with every fused layer node (tagged with its
    cell) replaced by its steps when `unroll_fused`; `order` lists it parents first."""

    def __init__(self, roots: list[Tensor], unroll_fused: bool = True) -> None:
        self.roots = roots
        self.real = walk(roots)
        self.stand_in: dict[int, Tensor] = {}  # id(tensor) -> the tensor drawn in its place
        self.made: dict[int, tuple[str, tuple]] = {}  # id(tensor) -> (op, parents) drawn
        # element numbers of the tensors between layers (see _sources): by id, the states
        # numbered, and where each state's numbers start (one more entry: the total)
        self._where: dict[int, np.ndarray] = {}
        self._states: list[Tensor] = []
        self._starts: list[int] = [0]
        # (node, its stand-in, the states it stacks: h_1..h_T, and c_T for an LSTM)
        self.layers: list[tuple[Tensor, Tensor, list[Tensor]]] = []
        if unroll_fused:
            for node in self.real:
                if node.op in FUSED_OPS and isinstance((node.tags or {}).get("unit"), CellBase):
                    self._rerun(node)
            self._pick_states()
        for t in self.real:  # an input x_t a cell read, gathered from states of layers below
            if (t.tags or {}).get("role") == "input" and t.op in MOVES:
                self._read_below(t)
        changed = self.layers or self.stand_in or self.made
        self.order = walk(roots, self.parents) if changed else self.real

    def parents(self, t: Tensor) -> tuple:
        """The inputs drawn into `t`, with every stand-in applied."""
        made = self.made.get(id(t))
        return tuple(self._drawn(p) for p in (made[1] if made else graph_parents(t)))

    def op(self, t: Tensor) -> str | None:
        """The op name drawn for `t`."""
        made = self.made.get(id(t))
        return made[0] if made else graph_op(t)

    def _drawn(self, t: Tensor) -> Tensor:
        while id(t) in self.stand_in:
            t = self.stand_in[id(t)]
        return t

    def _copy(self, t: Tensor) -> Tensor:
        """t itself when nothing flows back into it, else a leaf copy drawn as t."""
        if not t.requires_grad:
            return t
        leaf = Tensor(t.data, requires_grad=True, name=t.name)
        leaf.tags = t.tags
        self.stand_in[id(leaf)] = t
        return leaf

    def _rerun(self, node: Tensor) -> None:
        cell: CellBase = node.tags["unit"]
        lstm = node.op == "lstm_layer"
        x, h0 = node.parents[0], node.parents[1]
        clone = copy.deepcopy(cell)
        for original, twin in zip(cell.parameters(), clone.parameters()):
            twin.grad = None
            self.stand_in[id(twin)] = original
        x_s = self._copy(x)
        state: Any = (self._copy(h0), self._copy(node.parents[2])) if lstm else self._copy(h0)
        xs, hs = [], []
        with annotate(layer=node.tags.get("layer", 0)):
            for t in range(x.shape[0]):
                xs.append(x_s[t])
                state = clone(xs[-1], state)
                hs.append(state[0] if lstm else state)
        rows = hs + [state[1]] if lstm else hs
        rerun = stack(rows, axis=0)
        if rerun.shape != node.shape or not np.allclose(rerun.data, node.data, rtol=1e-4,
                                                        atol=1e-5):
            raise RuntimeError(
                f"draw: re-running the fused '{node.op}' node step by step does not give its "
                "output: its parameters or inputs changed since the forward (an optimizer "
                "step?). Draw before changing them, or pass unroll_fused=False.")
        self._read_below(x, xs)  # before this layer joins self.layers: x comes from below
        rerun.name = node.name
        self.stand_in[id(node)] = rerun
        self.layers.append((node, rerun, rows))

    def _read_below(self, x: Tensor, xs: list[Tensor] | None = None) -> None:
        """Draw an input that only gathers states of the layers below (a layer above's x_t) as
        those states: h_t itself (one direction; padded or packed), or [h_t; h'_t] (the two
        directions of a bidirectional layer) as a cat of them; not as the ops (stack, cat,
        reshape, getitem) that gathered them. x is that input, or with xs (a re-run's inputs
        x[0], x[1], ...) the tensor they are steps of."""
        found = self._sources(x)
        if found is None:
            return
        where, states, starts = found
        for x_t, w in (zip(xs, where) if xs is not None else [(x, where)]):
            parts = _whole_states(w, states, starts)
            if parts is not None and len(parts) == 1:
                self.stand_in[id(x_t)] = parts[0]
            elif parts is not None:
                self.made[id(x_t)] = ("cat", tuple(parts))

    def _sources(self, x: Tensor) -> tuple[np.ndarray, list[Tensor], np.ndarray] | None:
        """Where each element of x comes from, when x only moves (MOVES) the elements of states
        (a cell's h_t or c_t, or the steps of a fused layer unrolled so far): (an int array of
        x's shape whose entry is starts[k] + i for element i of states[k] (flattened), -1 for
        anything else; states; starts), or None if x reads no state. The numbers are kept from
        one call to the next, so each tensor between the layers is numbered once."""
        if not x.requires_grad:
            return None
        rows = {id(node): steps for node, _, steps in self.layers}
        where, states, starts = self._where, self._states, self._starts

        def source(t: Tensor) -> list[Tensor] | None:  # the states t stacks, or t itself
            tags = t.tags or {}
            if id(t) in rows:
                return rows[id(t)]
            return [t] if tags.get("role") == "state" and "cell" in tags else None

        def moved_from(t: Tensor) -> tuple:
            done = id(t) in where or source(t) is not None or t.op not in MOVES
            return () if done else t.parents

        for t in walk(x, moved_from):
            if id(t) in where:
                continue
            ins = [where[id(p)] for p in moved_from(t)]
            ctx = t._ctx
            w: np.ndarray | None = None  # None: from no state (computed, a leaf, moved from such)
            if source(t) is not None:
                w = np.arange(starts[-1], starts[-1] + t.data.size).reshape(t.shape)
                for s in source(t):
                    states.append(s)
                    starts.append(starts[-1] + s.data.size)
            elif any(a is not None for a in ins):
                ins = [np.full(p.shape, -1) if a is None else a for p, a in zip(t.parents, ins)]
                if t.op == "getitem":
                    w = ins[0][ctx.index]
                elif t.op == "reshape":
                    w = ins[0].reshape(t.shape)
                elif t.op == "transpose":
                    w = ins[0].transpose(ctx.axes)
                else:  # cat, stack
                    w = (np.concatenate if t.op == "cat" else np.stack)(ins, axis=ctx.axis)
            where[id(t)] = w
        w = where[id(x)]
        return None if w is None or not (w >= 0).any() else (w, states, np.asarray(starts))

    def _pick_states(self) -> None:
        """Draw a fused layer's final state `node[k]` (h_T, an LSTM's c_T: tagged a state by
        nn; what h_n or the next packed run reads) as that state of the re-run, not as a
        getitem of the stack of all steps."""
        states = {id(node): rows for node, _, rows in self.layers}
        for t in self.real:
            if t.op == "getitem" and id(t.parents[0]) in states \
                    and (t.tags or {}).get("role") == "state" \
                    and isinstance(t._ctx.index, (int, np.integer)):
                self.stand_in[id(t)] = states[id(t.parents[0])][t._ctx.index]

    def gradients(self) -> dict[int, np.ndarray]:
        """d(sum of roots)/d(tensor) by id, for the tensors of `order` (see graph.gradients);
        a scratch layer's from its node's gradient sent back through it."""
        real = gradients(self.roots, self.real)
        found = {id(t): g for t, g in zip(self.real, real) if g is not None}
        for node, rerun, _ in self.layers:
            g = found.get(id(node))
            if g is None or not rerun.requires_grad:
                continue
            inside = [t for t in walk(rerun) if t.requires_grad and id(t) not in self.stand_in]
            for t, gt in zip(inside, grad(rerun, inside, grad_outputs=g, allow_unused=True)):
                if gt is not None:
                    found[id(t)] = gt
        return found
