"""Sequence modules RNN, LSTM, GRU: a stack of cells unrolled over time.

Layer l reads the outputs of layer l-1 (dropout in between, in training mode only) and its own
previous state; layer 0 reads the input. Every layer runs inside `annotate(layer=l)`; each cell
call tags its tensors with its time step (t from 1, found from the state: see nn/cells.py), so
`viz` can draw the unrolled graph one cluster per step. Tensors are named: the inputs `x_{t}`,
hidden states `h_{t}`, cell states `c_{t}` (by the cells), initial states `h_0` / `c_0`, and the
results `output`, `h_n`, `c_n`. A fused layer's result is tagged with its cell (`unit`), so viz
can re-run it step by step.

Running one cell over a whole sequence is `unroll(cell, x, state, fused)` (public: hello.py and
other hand-built models use it too); the `fused` option picks the one-node path or the per-step
path.

A PackedSequence input (nn.utils.rnn) holds the batch sorted by length, longest first, so at
step t the active sequences are the first batch_sizes[t]. Each layer then runs the same runner
over each run of steps with one batch size, on that prefix of rows, carrying the state: one
fused node per run (at most B of them), nothing computed on padding.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tinygrad_rnn.checks import flag
from tinygrad_rnn import functional as F
from tinygrad_rnn import fused as fused_ops
from tinygrad_rnn.nn.cells import CellBase, GRUCell, LSTMCell, RNNCell, _step_of
from tinygrad_rnn.nn.module import as_input, check_probability, check_size, param_dtype
from tinygrad_rnn.nn.torch_names import TorchNamed
from tinygrad_rnn.nn.utils.rnn import PackedSequence, _packed
from tinygrad_rnn.tensor import Tensor, annotate, cat, no_grad, stack

Steps = Any  # a (T, B, I) Tensor or a list of T tensors of shape (B, I); both index by step


def unroll(cell: CellBase, x: Any, state: Any = None, fused: bool = True,
           layer: int = 0) -> tuple[Tensor, Any]:
    """Run one cell over a whole sequence: x (T, B, I) (or (T, I)) -> (outputs, final state).

    outputs is (T, B, H) (or (T, H)), h_t for every t; the final state is h_T, or (h_T, c_T) for
    an LSTMCell. state None means zeros. fused=True runs the sequence as one graph node
    (`tinygrad_rnn.fused`); fused=False calls the cell once per step, inside
    `annotate(layer=layer)`, the per-op graph `viz` draws. Both give the same numbers.
    layer is only the tag `viz` groups by.

    >>> cell = RNNCell(4, 4)
    >>> outputs, h_T = unroll(cell, Tensor(np.eye(4, dtype=np.float32)[:, None, :]))
    >>> outputs.shape, h_T.shape
    ((4, 1, 4), (1, 4))
    """
    if not isinstance(cell, CellBase):
        raise TypeError(f"unroll: cell must be an RNNCell, LSTMCell or GRUCell, got "
                        f"{type(cell).__name__}")
    fused = flag(fused, "unroll", "fused")
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim not in (2, 3) or x.shape[0] == 0 or x.shape[-1] != cell.input_size:
        raise ValueError(f"unroll: x must have shape (T, B, I) or (T, I) with T >= 1 and "
                         f"I = input_size = {cell.input_size}, got {x.shape}")
    state = _checked_state(cell, x, state)  # once, so both paths refuse the same states
    outputs, final = (_unroll_fused if fused else _unroll_steps)(cell, x, state, layer)
    if isinstance(outputs, list):  # step by step (asked for, or the fused path's fallback)
        outputs = stack(outputs, axis=0)
    return outputs, final


def _checked_state(cell: CellBase, x: Tensor, state: Any) -> Any:
    """unroll's initial state checked as the cell checks it at every step: an LSTMCell takes a
    pair (h, c), the other cells one tensor h, each of shape x[0].shape[:-1] + (hidden,)."""
    if state is None:
        return None
    lstm = isinstance(cell, LSTMCell)
    pair = isinstance(state, (tuple, list))
    if lstm != pair or (lstm and len(state) != 2):
        want = "a pair (h, c)" if lstm else "one tensor h, not a tuple"
        got = f"a {type(state).__name__} of {len(state)}" if pair else type(state).__name__
        raise TypeError(f"unroll: {type(cell).__name__} takes {want} as its state; got {got}")
    with no_grad():
        x0 = x[0]  # (only its shape is read)
    if lstm:
        return tuple(cell._state(s, x0, label) for s, label in zip(state, "hc"))
    return cell._state(state, x0, "h")


def _name_state(state: Any, t: int) -> None:
    """Name and tag a fused layer's final state as the state of step t (h_t, c_t)."""
    for s, label in zip(state if isinstance(state, tuple) else (state,), "hc"):
        s.name = f"{label}_{t}"
        s.tags = {**(s.tags or {}), "step": t, "role": "state"}


def _unroll_steps(cell: CellBase, x_seq: Steps, state: Any,
                  layer: int) -> tuple[list[Tensor], Any]:
    """Unroll `cell` over the steps of x_seq (a (T, B, I) Tensor or a list of (B, I) tensors)
    from `state`; returns (the T outputs h_t as a list, the final state)."""
    outputs = []
    with annotate(layer=layer):  # each cell call finds its step from the state (cells.py)
        for t in range(len(x_seq)):
            state = cell(x_seq[t], state)
            outputs.append(state[0] if isinstance(state, tuple) else state)
    return outputs, state


def _unroll_fused(cell: CellBase, x_seq: Steps, state: Any, layer: int) -> tuple[Any, Any]:
    """The whole sequence of one layer as ONE graph node (`tinygrad_rnn.fused`): the time
    loop and BPTT run in compiled kernels (GRU: a NumPy loop inside the node); the numbers
    equal `_unroll_steps`'s. Falls back to `_unroll_steps` for mixed dtypes, and for a cell with
    forward hooks (they see each step's call)."""
    x = x_seq if isinstance(x_seq, Tensor) else stack(list(x_seq), axis=0)
    W, b = cell.linear.weight, cell.linear.bias
    lstm = isinstance(cell, LSTMCell)
    pieces = (state if lstm else (state,)) if state is not None else ()
    if (not isinstance(cell, (RNNCell, LSTMCell, GRUCell)) or x.dtype != W.dtype
            or getattr(cell, "proj_size", 0) or cell._pre_hooks or cell._post_hooks
            or any(s is not None and s.dtype != W.dtype for s in pieces)):
        return _unroll_steps(cell, x_seq, state, layer)
    steps, unbatched, hidden = x.shape[0], x.ndim == 2, cell.hidden_size
    with annotate(layer=layer, unit=cell):  # unit: viz re-runs the layer through the cell
        if unbatched:  # (T, I) -> (T, 1, I); states (H,) -> (1, H)
            x = x.reshape(steps, 1, x.shape[1])
        h_shape = (x.shape[1], hidden)
        h0, c0 = (s if s is None or s.shape == h_shape else s.reshape(h_shape)
                  for s in (pieces + (None, None))[:2])
        h0 = Tensor(np.zeros(h_shape, W.dtype), name="h_0") if h0 is None else h0
        if lstm:
            c0 = Tensor(np.zeros(h_shape, W.dtype), name="c_0") if c0 is None else c0
            hs, h_last, c_last = fused_ops.lstm_layer(x, h0, c0, W, b)
        else:
            hs = (fused_ops.gru_layer(x, h0, W, b, cell.b_hn, reset_after=cell.reset_after)
                  if isinstance(cell, GRUCell) else
                  fused_ops.rnn_layer(x, h0, W, b, nonlinearity=cell.nonlinearity))
            h_last = hs[steps - 1]
            # output and h_n are two nodes, as in PyTorch: a hook (or retain_grad) on output
            # then sees dL/d output alone, not plus dL/d h_n at the last step
            hs = hs.reshape(hs.shape)
        if unbatched:
            hs = hs.reshape(steps, hidden)
            h_last = h_last.reshape(hidden)
            if lstm:
                c_last = c_last.reshape(hidden)
    final = (h_last, c_last) if lstm else h_last
    _name_state(final, _step_of(h0) + steps)
    return hs, final


def _segments(sizes: np.ndarray) -> list[tuple[int, int, int]]:
    """The runs of equal batch size of a PackedSequence: (steps, first row of data, batch size)
    for each, in time order."""
    runs, row, start = [], 0, 0
    for t in range(1, len(sizes) + 1):
        if t == len(sizes) or sizes[t] != sizes[start]:
            b = int(sizes[start])
            runs.append((t - start, row, b))
            row, start = row + (t - start) * b, t
    return runs


def _height(state: Any) -> int:
    """The number of rows (sequences) of a state or of LSTM's pair."""
    return (state[0] if isinstance(state, tuple) else state).shape[0]


def _rows(state: Any, lo: int, hi: int) -> Any:
    """Rows lo:hi of a state (h, or LSTM's pair), keeping its step for the next cell call."""
    if lo == 0 and hi == _height(state):
        return state
    if isinstance(state, tuple):
        return tuple(_rows(s, lo, hi) for s in state)
    piece = state[lo:hi]
    piece.tags = {**(piece.tags or {}), "step": _step_of(state)}
    return piece


def _join(states: list[Any]) -> Any:
    """The rows of every state in the list (states or pairs), in order, keeping the first's
    step for the next cell call."""
    if len(states) == 1:
        return states[0]
    if isinstance(states[0], tuple):
        return tuple(_join([s[i] for s in states]) for i in range(len(states[0])))
    joined = cat(states, axis=0)
    joined.tags = {**(joined.tags or {}), "step": _step_of(states[0])}
    return joined


def _permute(state: Any, order: np.ndarray | None) -> Any:
    """state[order] (rows of h, or of both of LSTM's pair), keeping the name; None: as it is."""
    if order is None:
        return state
    if isinstance(state, tuple):
        return tuple(_permute(s, order) for s in state)
    moved = state[order]
    moved.name = state.name
    return moved


def _run_packed(cell: CellBase, data: Tensor, segments: list[tuple[int, int, int]],
                initial: Any, layer: int, run: Any, reverse: bool) -> tuple[Tensor, Any]:
    """One direction of one layer over packed rows data (N, I): returns the packed outputs
    (N, H) and the final state of every sorted sequence (B, H) (LSTM: a pair).

    In a run of n steps of batch size b the active sequences are the first b sorted ones, so
    `run` (the fused or per-step runner) takes those n steps as one (n, b, I) block from the
    carried state. Forwards, a sequence that ends before the next run leaves its state there
    as its final one; backwards (reverse=True: from the last run to the first), a sequence
    joins, from its initial state, at the run where it ends."""
    width, pieces, done = data.shape[1], [], []
    state = None if reverse else initial
    for n, row, b in (reversed(segments) if reverse else segments):
        x = (data if n * b == len(data) else data[row:row + n * b]).reshape(n, b, width)
        if reverse:  # the sequences of this run's length start here (b grows run by run)
            start = _rows(initial, 0 if state is None else _height(state), b)
            state = start if state is None else _join([state, start])
            out, state = run(cell, x[::-1], state, layer)
        else:
            if _height(state) > b:  # sequences b.. ended at the previous step: final states
                done.append(_rows(state, b, _height(state)))
                state = _rows(state, 0, b)
            out, state = run(cell, x, state, layer)
        if isinstance(out, list):  # per step: (b, H) each, already packed rows
            out = out[::-1] if reverse else out
        else:
            out = [(out[::-1] if reverse else out).reshape(n * b, out.shape[-1])]
        pieces.append(out)
    rows = [p for seg in (pieces[::-1] if reverse else pieces) for p in seg]
    output = rows[0] if len(rows) == 1 else cat(rows, axis=0)
    return output, state if reverse else _join([state] + done[::-1])


class RecurrentBase(TorchNamed):
    """Shared by RNN, LSTM and GRU: layers of cells, shape checks, the loop over time.

    bidirectional=True adds, in every layer, a second cell that reads the sequence backwards;
    the layer's output at step t is [h_forward_t; h_backward_t] (2H wide), `.cells` holds the
    cells in PyTorch's order (layer 0, layer 0 reverse, layer 1, ...) and h_n is
    (num_layers * 2, B, H), indexed the same way."""

    cell_class: type = CellBase
    repr_children = False  # print(model) shows one line per recurrent layer, as PyTorch's
    has_cell_state = False  # True for the LSTM, whose state is a pair (h, c)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, fused: bool = True,
                 dtype: Any = None, bidirectional: bool = False,
                 **cell_options: Any) -> None:
        name = type(self).__name__
        self.input_size = check_size(input_size, "input_size", name)
        self.hidden_size = check_size(hidden_size, "hidden_size", name)
        self.num_layers = check_size(num_layers, "num_layers", name)
        self.dropout = check_probability(dropout, "dropout", name)
        if self.dropout > 0 and self.num_layers == 1:  # PyTorch's warning, same condition
            warnings.warn(f"{name}: dropout={self.dropout} has no effect with num_layers=1: it "
                          "is applied between layers, after every layer but the last",
                          UserWarning, stacklevel=3)
        self.bias, self.batch_first = flag(bias, name, "bias"), flag(batch_first, name,
                                                                      "batch_first")
        self.fused, dtype = flag(fused, name, "fused"), param_dtype(dtype, name)
        self.bidirectional = flag(bidirectional, name, "bidirectional")
        self.num_directions = 2 if self.bidirectional else 1
        out = cell_options.get("proj_size") or self.hidden_size  # the width of each h
        # one cell per layer and direction, in PyTorch's order: l0, l0_reverse, l1, ...
        self.cells = [self.cell_class(self.input_size if k < self.num_directions
                                      else self.num_directions * out,
                                      self.hidden_size, bias=bias, dtype=dtype, **cell_options)
                      for k in range(self.num_layers * self.num_directions)]
        self.name_parameters()

    # ----- the public call --------------------------------------------------------------------
    def forward(self, x: Any, state: Any = None, fused: bool | None = None) -> tuple[Tensor, Any]:
        """x (T, B, I) ((B, T, I) if batch_first, or (T, I) unbatched) -> (output, h_n).

        output is (T, B, H) ((B, T, H) if batch_first), h_n is (L, B, H); the LSTM's state and
        second result are pairs (h, c) of such (L, B, H) tensors. state None means zeros.
        x may be a PackedSequence (`nn.utils.rnn.pack_padded_sequence`), as in PyTorch: output
        is then a PackedSequence too, batch_first is ignored, no step is computed on padding,
        and h_n holds each sequence's state at its own last step, in the original batch order.
        """
        if isinstance(x, PackedSequence):
            return self._forward_packed(x, state, fused)
        x = self._input(x)
        if self.batch_first and x.ndim == 3:
            x = x.transpose(0, 1)  # to time-major (T, B, I)
        states = self._initial_states(state, x.shape[1:-1])
        fused = self.fused if fused is None else flag(fused, type(self).__name__, "fused")
        run = _unroll_fused if fused else _unroll_steps
        steps: Steps = x
        finals = []
        D = self.num_directions
        for layer in range(self.num_layers):
            if layer > 0:
                steps = self._between_layers(steps, layer)
            if D == 1:
                steps, final = run(self.cells[layer], steps, states[layer], layer)
                finals.append(final)
                continue
            # bidirectional: the reverse cell reads the sequence backwards; its outputs are
            # flipped back so that output[t] = [h_fwd_t; h_rev_t]
            seq = steps if isinstance(steps, Tensor) else stack(list(steps), axis=0)
            out_f, final_f = run(self.cells[D * layer], seq, states[D * layer], layer)
            out_r, final_r = run(self.cells[D * layer + 1], seq[::-1], states[D * layer + 1],
                                 layer)
            out_f, out_r = (o if isinstance(o, Tensor) else stack(list(o), axis=0)
                            for o in (out_f, out_r))
            steps = cat([out_f, out_r[::-1]], axis=-1)
            finals += [final_f, final_r]
        output = steps if isinstance(steps, Tensor) else stack(list(steps), axis=0)
        if self.batch_first and x.ndim == 3:
            output = output.transpose(0, 1)
        output.name = "output"
        return output, self._stack_finals(finals)

    def _forward_packed(self, packed: PackedSequence, state: Any,
                        fused: bool | None) -> tuple[PackedSequence, Any]:
        """forward on a PackedSequence: each layer and direction runs `_run_packed`; the
        initial states are put in the packed (sorted) order and the final ones back."""
        name = type(self).__name__
        packed, sizes = _packed(packed, name)
        data = as_input(packed.data, self.cells[0].linear.weight.dtype, name)
        if data.ndim != 2 or data.shape[1] != self.input_size:
            raise ValueError(f"{name}: a PackedSequence's data must have shape (N, I) with I = "
                             f"input_size = {self.input_size}, got {data.shape}")
        fused = self.fused if fused is None else flag(fused, name, "fused")
        run = _unroll_fused if fused else _unroll_steps
        sort, unsort = (None if p is None else np.asarray(getattr(p, "data", p))
                        for p in (packed.sorted_indices, packed.unsorted_indices))
        B, dtype = int(sizes[0]), self.cells[0].linear.weight.dtype
        states = []
        for cell, s in zip(self.cells, self._initial_states(state, (B,))):
            if s is None:  # zeros, explicit: the reverse direction takes rows of them
                s = tuple(Tensor(np.zeros((B, cell.state_size(label)), dtype),
                                 name=f"{label}_0") for label in "hc"[:1 + self.has_cell_state])
                s = s if self.has_cell_state else s[0]
            states.append(_permute(s, sort))  # as PyTorch: h_0[:, sorted_indices]
        segments = _segments(sizes)
        D, finals = self.num_directions, []
        for layer in range(self.num_layers):
            if layer > 0:
                data = self._between_layers(data, layer)
            outs = []
            for k in range(D * layer, D * layer + D):
                out, final = _run_packed(self.cells[k], data, segments, states[k], layer, run,
                                         reverse=k % D == 1)
                outs.append(out)
                finals.append(_permute(final, unsort))
            data = outs[0] if D == 1 else cat(outs, axis=-1)
        data.name = "output"
        output = PackedSequence(data, packed.batch_sizes, packed.sorted_indices,
                                packed.unsorted_indices)
        return output, self._stack_finals(finals)

    def flatten_parameters(self) -> None:
        """Nothing to do: PyTorch's call to lay cuDNN's weights out in one block (RNN code calls
        it in forward); the weights here are already one array per cell."""

    # ----- PyTorch's names (nn.torch_names: weight_hh_l0 ... as attributes, _parameters) ---
    @property
    def _flat_weights_names(self) -> list[str]:
        """PyTorch's names of this layer's weights and biases, in its order (`weight_ih_l0`,
        `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, then `_reverse` and the next layers), read
        by init code such as d2l's xavier_init_weights; `_parameters` gives the weights."""
        return self._torch_names()

    def __getattr__(self, name: str) -> Any:
        """PyTorch's weight names, `weight_hh_l0` ... (reached only when no attribute has the
        name; see nn.torch_names)."""
        return self._torch_attribute(name)

    def _torch_layers(self) -> list[tuple[str, CellBase]]:
        """(PyTorch's name suffix, cell) per layer and direction: _l0, _l0_reverse, _l1, ..."""
        D = vars(self).get("num_directions", 1)
        return [(f"_l{k // D}" + ("_reverse" if k % D else ""), cell)
                for k, cell in enumerate(vars(self).get("cells", []))]

    def _between_layers(self, steps: Steps, layer: int) -> Steps:
        """Dropout on the outputs of layer-1 before layer reads them (training mode only)."""
        if not (self.training and self.dropout > 0.0):
            return steps
        if isinstance(steps, Tensor):
            with annotate(layer=layer):
                return F.dropout(steps, self.dropout, training=True)
        dropped = []
        for t, h in enumerate(steps, start=1):
            with annotate(step=t, layer=layer):
                dropped.append(F.dropout(h, self.dropout, training=True))
        return dropped

    # ----- states -----------------------------------------------------------------------------
    def _stack_finals(self, finals: list[Any]) -> Any:
        def join(states: list[Tensor], name: str) -> Tensor:
            # a stack, even of one: new memory, as PyTorch's h_n (a fused layer's last state
            # is a view of its output; h_n.zero_() must not zero output[-1])
            joined = stack(states)
            joined.name = name
            return joined

        if self.has_cell_state:
            return join([f[0] for f in finals], "h_n"), join([f[1] for f in finals], "c_n")
        return join(finals, "h_n")

    def _initial_states(self, state: Any, batch: tuple) -> list[Any]:
        """Per-layer initial states for a batch of shape `batch` ((B,), or () unbatched);
        None means zeros, made by the cell."""
        name = type(self).__name__
        n = self.num_layers * self.num_directions  # one state per layer and direction
        shape = (n,) + batch + (self.cells[0].state_size("h"),)
        if state is None:
            return [None] * n
        if self.has_cell_state:
            if not isinstance(state, (tuple, list)) or len(state) != 2:
                raise TypeError(f"{name}: state must be a pair (h_0, c_0) or None, got "
                                f"{type(state).__name__}")
            h0 = self._state_tensor(state[0], shape, "h_0")
            c0 = self._state_tensor(state[1], shape[:-1] + (self.hidden_size,), "c_0")
            return [(self._layer_state(h0, k, "h_0"), self._layer_state(c0, k, "c_0"))
                    for k in range(n)]
        if isinstance(state, (tuple, list)):
            raise TypeError(f"{name}: state must be one tensor h_0 of shape {shape} or None, "
                            f"got a {type(state).__name__}")
        h0 = self._state_tensor(state, shape, "h_0")
        return [self._layer_state(h0, k, "h_0") for k in range(n)]

    def _state_tensor(self, s: Any, shape: tuple, label: str) -> Tensor:
        s = as_input(s, self.cells[0].linear.weight.dtype, f"{type(self).__name__} {label}")
        if s.shape != shape:
            raise ValueError(f"{type(self).__name__}: initial state {label} must have shape "
                             f"{shape} (num_layers * num_directions, batch, hidden_size), got "
                             f"{s.shape}")
        return s

    def _layer_state(self, s: Tensor, index: int, label: str) -> Tensor:
        layer = index // self.num_directions
        with annotate(layer=layer):
            piece = s[index]
        piece.name = label
        if piece.is_leaf and s.tags and s.tags.get("cut"):  # keep the TBPTT cut visible
            piece.tags = {**(piece.tags or {}), "cut": True}
        return piece

    def _input(self, x: Any) -> Tensor:
        x = as_input(x, self.cells[0].linear.weight.dtype, type(self).__name__)
        layout = "(B, T, I)" if self.batch_first else "(T, B, I)"
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ValueError(f"{type(self).__name__}: input must have shape {layout} or (T, I) "
                             f"with I = input_size = {self.input_size}, got {x.shape}")
        if x.shape[0] == 0 or (x.ndim == 3 and x.shape[1] == 0):
            raise ValueError(f"{type(self).__name__}: input of shape {x.shape} has no steps "
                             "or no examples")
        return x

    def extra_repr(self) -> str:
        extra = [f"{self.input_size}, {self.hidden_size}"]
        if self.num_layers != 1:
            extra.append(f"num_layers={self.num_layers}")
        if not self.bias:
            extra.append("bias=False")
        if self.batch_first:
            extra.append("batch_first=True")
        if self.dropout:
            extra.append(f"dropout={self.dropout}")
        if self.bidirectional:
            extra.append("bidirectional=True")
        return ", ".join(extra)


class RNN(RecurrentBase):
    """Stacked vanilla RNN: `.cells` are RNNCell layers (nonlinearity "tanh" or "relu").

    By default each layer runs as one fused graph node (`fused=True`); `fused=False` (or
    `m(x, fused=False)`) unrolls the per-op graph that `viz` draws. Both give the same numbers.

    >>> rnn = RNN(3, 5, num_layers=2)
    >>> output, h_n = rnn(Tensor(np.zeros((7, 2, 3))))
    >>> output.shape, h_n.shape
    ((7, 2, 5), (2, 2, 5))
    """

    cell_class = RNNCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, fused: bool = True, dtype: Any = None,
                 bidirectional: bool = False) -> None:
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, fused,
                         dtype, bidirectional, nonlinearity=nonlinearity)


class LSTM(RecurrentBase):
    """Stacked LSTM: `.cells` are LSTMCell layers. m(x, (h_0, c_0)) -> (output, (h_n, c_n)).
    proj_size > 0 projects each h to proj_size entries (PyTorch's projected LSTM; each cell gets
    a `.weight_hr`): output and h_n are then proj_size wide, c_n stays hidden_size wide. Such
    layers run step by step (the fused kernels have no projection).

    By default each layer runs as one fused graph node (`fused=True`); `fused=False` (or
    `m(x, fused=False)`) unrolls the per-op graph that `viz` draws. Both give the same numbers.
    """

    cell_class = LSTMCell
    has_cell_state = True

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, fused: bool = True,
                 dtype: Any = None, forget_bias: float | None = None,
                 bidirectional: bool = False, proj_size: int = 0) -> None:
        self.proj_size = proj_size
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, fused,
                         dtype, bidirectional, forget_bias=forget_bias, proj_size=proj_size)

    def extra_repr(self) -> str:
        return super().extra_repr() + (f", proj_size={self.proj_size}" if self.proj_size else "")


class GRU(RecurrentBase):
    """Stacked GRU: `.cells` are GRUCell layers. reset_after=True (the default, as PyTorch and
    Keras) computes the candidate as PyTorch does, n = tanh(W_xn x + b_n + r * (W_hn h + b_hn));
    reset_after=False is Cho et al.'s n = tanh(W_n [x; r * h] + b_n) (see GRUCell).

    By default each layer runs as one fused graph node (`fused=True`); `fused=False` (or
    `m(x, fused=False)`) unrolls the per-op graph that `viz` draws. Both give the same numbers.
    """

    cell_class = GRUCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, fused: bool = True,
                 dtype: Any = None, reset_after: bool = True,
                 bidirectional: bool = False) -> None:
        self.reset_after = flag(reset_after, "GRU", "reset_after")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, fused,
                         dtype, bidirectional, reset_after=reset_after)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")
