"""Fused layers drawn unrolled: each `rnn_layer` / `lstm_layer` / `gru_layer` node re-run step by
step, through its cell, in a scratch graph that the picture shows in its place.

`nn.RNN` / `nn.LSTM` / `nn.GRU` (fused, the default) record one graph node per layer; the
node is tagged with its cell (`unit`). To draw the steps, the cell is called once per step on
the node's inputs, exactly as `fused=False` would (so both GRU formulas, and any cell, work),
but on copies: a copy of the cell whose parameters are fresh leaves, and copies of the inputs.
Nothing of the user's graph is touched. The scratch tensors then stand in for the node when
the graph is walked (`View.parents`): the node is replaced by the stack of its steps' states,
each copy by the tensor it copies, a parameter copy by the parameter, and the input x_t of a
layer above by the state h_t of the layer below. Layer by layer the picture is then the one
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


def gradients(roots: list[Tensor], order: list[Tensor]) -> list[np.ndarray | None]:
    """d(sum of roots)/d(tensor) for every tensor of `order` that requires grad (None for the
    others), touching no `.grad`.

    With the graph still whole (no backward yet, or `backward(retain_graph=True)`) this is one
    `tg.grad` that keeps the graph. After `backward(retain_grad=True)` freed it, the `.grad`
    that backward stored on every tensor is read instead. After a plain `backward()` there is
    nothing to read: the error says which of the three to do.
    """
    freed = any(t._ctx is not None and t._ctx.saved is _FREED for t in order)
    if freed:
        stored = [t.grad for t in order]
        if any(g is not None for t, g in zip(order, stored) if not t.is_leaf):
            return stored
        raise RuntimeError(
            "draw(grads=True): the graph's saved arrays were freed by backward(), and no "
            "gradient was kept on the intermediate tensors. Draw before calling backward, or "
            "call loss.backward(retain_graph=True) or loss.backward(retain_grad=True) instead.")
    wanted = [t for t in order if t.requires_grad]
    live = [r for r in roots if r.requires_grad]
    if not wanted or not live:
        return [None] * len(order)
    seeds = [np.ones(r.shape, r.dtype) for r in live]
    found = grad(live, wanted, grad_outputs=seeds, retain_graph=True, allow_unused=True)
    by_id = {id(t): g for t, g in zip(wanted, found)}
    return [by_id.get(id(t)) for t in order]




class View:
    """The graph behind `roots` as viz draws it: with every fused layer node (tagged with its
    cell) replaced by its steps when `unroll_fused`; `order` lists it parents first."""

    def __init__(self, roots: list[Tensor], unroll_fused: bool = True) -> None:
        self.roots = roots
        self.real = walk(roots)
        self.stand_in: dict[int, Tensor] = {}  # id(tensor) -> the tensor drawn in its place
        self.layers: list[tuple[Tensor, Tensor, list[Tensor]]] = []  # (node, its stand-in, steps)
        if unroll_fused:
            for node in self.real:
                if node.op in FUSED_OPS and isinstance((node.tags or {}).get("unit"), CellBase):
                    self._rerun(node)
        self.order = walk(roots, self.parents) if self.layers else self.real

    def parents(self, t: Tensor) -> tuple:
        """The inputs drawn into `t`, with every stand-in applied."""
        return tuple(self._drawn(p) for p in graph_parents(t))

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

    def _steps_below(self, x: Tensor) -> list[Tensor] | None:
        """The per-step states of the unrolled layer whose outputs x is, if it is one."""
        for node, _, steps in self.layers:
            if x is node or (x.op == "getitem" and x.parents[0] is node
                             and x.shape[0] == len(steps)):
                return steps
        return None

    def _rerun(self, node: Tensor) -> None:
        cell: CellBase = node.tags["unit"]
        lstm = node.op == "lstm_layer"
        x, h0 = node.parents[0], node.parents[1]
        clone = copy.deepcopy(cell)
        for original, twin in zip(cell.parameters(), clone.parameters()):
            twin.grad = None
            self.stand_in[id(twin)] = original
        below = self._steps_below(x)
        x_s = self._copy(x)
        state: Any = (self._copy(h0), self._copy(node.parents[2])) if lstm else self._copy(h0)
        hs = []
        with annotate(layer=node.tags.get("layer", 0)):
            for t in range(x.shape[0]):
                x_t = x_s[t]
                if below is not None:  # the layer above reads the layer below's h_t
                    self.stand_in[id(x_t)] = below[t]
                state = clone(x_t, state)
                hs.append(state[0] if lstm else state)
        rerun = stack(hs + [state[1]] if lstm else hs, axis=0)
        if rerun.shape != node.shape or not np.allclose(rerun.data, node.data, rtol=1e-4,
                                                        atol=1e-5):
            raise RuntimeError(
                f"draw: re-running the fused '{node.op}' node step by step does not give its "
                "output: its parameters or inputs changed since the forward (an optimizer "
                "step?). Draw before changing them, or pass unroll_fused=False.")
        rerun.name = node.name
        self.stand_in[id(node)] = rerun
        self.layers.append((node, rerun, hs))

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
