"""Recurrent cells written as ONE linear layer over the concatenation [x; h].

The source formula h_t = tanh([U W] [x_t; h_{t-1}] + b) is taken literally: each cell owns a
single `.linear` with input_size + hidden_size inputs (columns: x first, then h) and one bias,
followed by its nonlinearity or gates. One step of a cell is one call; a sequence module
(`nn.RNN`, `nn.LSTM`, `nn.GRU`) calls it once per time step.

Every cell accepts a batch x of shape (B, I) or a single example of shape (I,); a missing state
is zeros of the matching shape. Every weight and bias is drawn from U(-1/sqrt(H), 1/sqrt(H)),
as PyTorch initialises its recurrent layers.

PyTorch's weight names read as attributes (`cell.weight_hh`, `lstm.weight_hh_l0`: blocks of
`.linear.weight`; see `nn.torch_names`).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from tinygrad_rnn import functional as F
from tinygrad_rnn.checks import flag, number
from tinygrad_rnn.modes import current_annotation, is_grad_enabled
from tinygrad_rnn.nn.linear import Linear, uniform_parameter
from tinygrad_rnn.nn.module import as_input, check_size, param_dtype
from tinygrad_rnn.nn.torch_names import TorchNamed
from tinygrad_rnn.tensor import Tensor, annotate, cat

State = Any  # a Tensor, or an (h, c) pair for the LSTM

# Tags. A cell call finds its time step and tags every tensor it makes (what `viz` reads):
#   step  1 + the step of the state it was given (a state without one -- None, zeros, a user
#         tensor -- is step 0); an outer `tg.annotate(step=...)` overrides it
#   cell  the cell's class name; call: a number per call, in call order (viz numbers the
#         layers of a step by it: the distinct cells called within one step, first call first)
#   role  "state" on the new state (h', and c' of an LSTM), "input" on an input it named x_t
#   cut   on a detached state (Tensor.detach, nn.utils.detach_state): a truncated-BPTT boundary
#   from  ("cat", (x, h)) on [x; h] when it is a constant (the engine records no op for it)
_CALLS = itertools.count(1)


def _step_of(state: Tensor) -> int:
    """The time step of a state given to a cell: its `step` tag, else 0."""
    tags = state.tags
    step = tags.get("step", 0) if tags else 0
    return step if isinstance(step, (int, np.integer)) else 0


def _cell_tags(cell: "CellBase", x: Tensor, state: Tensor) -> dict:
    """The tags of one call (an outer annotation wins), naming an unnamed input x_t."""
    tags = {"step": _step_of(state) + 1, "cell": type(cell).__name__, "call": next(_CALLS)}
    outer = current_annotation()
    if outer:
        tags.update(outer)
    step = tags["step"]
    xtags = x.tags or {}
    if x.name is None:
        x.name = f"x_{step}"
        x.tags = {**xtags, "role": "input", "at": step}
    elif xtags.get("role") == "input" and xtags.get("at") != step:
        x.name = "x"  # one tensor fed to several steps: no step in its name
    return tags


def _tag_state(s: Tensor, tags: dict, label: str) -> Tensor:
    """Mark a cell's new state: role "state" and the name h_t / c_t."""
    s.tags = {**tags, "role": "state"}
    s.name = f"{label}_{tags['step']}"
    return s


def _concat(x: Tensor, h: Tensor, name: str = "xh") -> Tensor:
    """[x; h] along the last axis, named. When neither x nor h needs a gradient (the first
    step) the engine records no op and [x; h] is a leaf: its `from` tag keeps x and h, so that
    viz still draws them feeding the step."""
    xh = cat([x, h], axis=-1)
    xh.name = name
    if xh.is_leaf and is_grad_enabled():
        xh.tags = {**(xh.tags or {}), "from": ("cat", (x, h))}
    return xh


class CellBase(TorchNamed):
    """Shared by the cells: sizes, the `.linear` over [x; h], input and state checks."""

    repr_children = False  # print(cell) is one line, as PyTorch's (cell.linear shows the layer)

    gate_blocks = 1  # how many blocks of hidden_size rows `.linear` has

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 dtype: Any = None) -> None:
        name = type(self).__name__
        self.input_size = check_size(input_size, "input_size", name)
        self.hidden_size = check_size(hidden_size, "hidden_size", name)
        self.bias, dtype = flag(bias, name, "bias"), param_dtype(dtype, name)
        self.linear = Linear(self.input_size + self.state_size("h"),
                             self.gate_blocks * self.hidden_size, bias=bias, dtype=dtype,
                             init_bound=1.0 / np.sqrt(self.hidden_size))
        self.name_parameters()

    def _torch_layers(self) -> list[tuple[str, "CellBase"]]:
        """[("", self)]: a cell's PyTorch names have no layer suffix (`weight_hh`)."""
        return [("", self)] if "linear" in vars(self) else []

    # PyTorch's names (see TorchNamed); properties, as a cell's names are fixed
    weight_ih = property(lambda self: self._torch_attribute("weight_ih"),
                         doc="The x columns of `linear.weight` (a WeightBlock): PyTorch's W_ih.")
    weight_hh = property(lambda self: self._torch_attribute("weight_hh"),
                         doc="The h columns of `linear.weight` (a WeightBlock): PyTorch's W_hh.")
    bias_ih = property(lambda self: self._torch_attribute("bias_ih") if self.bias else None,
                       doc="Raises AttributeError: PyTorch's two biases are one, `linear.bias` "
                           "(None when bias=False, as PyTorch's).")
    bias_hh = property(lambda self: self._torch_attribute("bias_hh") if self.bias else None,
                       doc="Raises AttributeError: PyTorch's two biases are one, `linear.bias` "
                           "(None when bias=False, as PyTorch's).")

    def state_size(self, label: str) -> int:
        """The width of state `label`: h is proj_size wide in a projected LSTM, else H."""
        if label == "h":
            return getattr(self, "proj_size", 0) or self.hidden_size
        return self.hidden_size

    def _input(self, x: Any) -> Tensor:
        """x as a Tensor of shape (B, I) or (I,), or a clear error."""
        x = as_input(x, self.linear.weight.dtype, type(self).__name__)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(f"{type(self).__name__}: input x must have shape (B, "
                             f"{self.input_size}) or ({self.input_size},), got {x.shape}")
        return x

    def _state(self, s: Any, x: Tensor, label: str) -> Tensor:
        """One state tensor (h or c) checked against x, or zeros named `{label}_0` if None."""
        shape = x.shape[:-1] + (self.state_size(label),)
        if s is None:
            return Tensor(np.zeros(shape, dtype=self.linear.weight.dtype), name=f"{label}_0")
        s = as_input(s, self.linear.weight.dtype, f"{type(self).__name__} state {label}")
        if s.shape != shape:
            raise ValueError(f"{type(self).__name__}: state {label} must have shape {shape} for "
                             f"input x of shape {x.shape}, got {s.shape}")
        return s

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(CellBase):
    """Vanilla (Elman) cell: h' = tanh(W [x; h] + b), or relu instead of tanh.

    `.linear` is Linear(I + H, H): W = [W_xh  W_hh] side by side (x columns first).

    >>> cell = RNNCell(3, 4)
    >>> h = cell(Tensor(np.ones((2, 3))))          # state defaults to zeros
    >>> cell(Tensor(np.ones((2, 3))), h).shape
    (2, 4)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got "
                             f"{nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, dtype)

    def forward(self, x: Any, h: Any = None) -> Tensor:
        """One step: x (B, I) or (I,), h (B, H) or (H,) or None -> h'."""
        x = self._input(x)
        h = self._state(h, x, "h")
        tags = _cell_tags(self, x, h)
        with annotate(**tags):
            z = self.linear(_concat(x, h))  # pre-activation W [x; h] + b
            h_new = z.tanh() if self.nonlinearity == "tanh" else z.relu()
        return _tag_state(h_new, tags, "h")

    def extra_repr(self) -> str:
        return super().extra_repr() + (f", nonlinearity={self.nonlinearity}"  # PyTorch's text
                                       if self.nonlinearity != "tanh" else "")


class LSTMCell(CellBase):
    """LSTM cell: (i, f, g, o) = (sigma, sigma, tanh, sigma)(W [x; h] + b),
    c' = f * c + i * g, h' = o * tanh(c')  (h' = W_hr (o * tanh(c')) when proj_size > 0: then
    h has proj_size entries and `.weight_hr` is (proj_size, H), as in PyTorch).

    `.linear` is Linear(I + H, 4H) whose row blocks are i, f, g, o (PyTorch's order).
    forget_bias, when given, is the initial value of the forget gate's bias (1.0 is a common
    choice that keeps the cell state's gradient highway open at the start of training).
    """

    gate_blocks = 4

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 forget_bias: float | None = None, dtype: Any = None,
                 proj_size: int = 0) -> None:
        if isinstance(proj_size, bool) or not isinstance(proj_size, (int, np.integer)) or \
                not 0 <= proj_size < int(hidden_size):
            raise ValueError(f"LSTMCell: proj_size must be an integer in [0, hidden_size="
                             f"{hidden_size}), got {proj_size!r}")
        self.proj_size = int(proj_size)
        super().__init__(input_size, hidden_size, bias, dtype)
        if self.proj_size:  # h' = W_hr (o * tanh(c')): PyTorch's projected LSTM
            bound = 1.0 / np.sqrt(self.hidden_size)
            self.weight_hr = uniform_parameter((self.proj_size, self.hidden_size), bound,
                                               self.linear.weight.dtype)
            self.name_parameters()
        if forget_bias is not None:
            forget_bias = number(forget_bias, "LSTMCell", "forget_bias")
            if not bias:
                raise ValueError("LSTMCell: forget_bias needs bias=True")
            H = self.hidden_size
            self.linear.bias.data[H:2 * H] = forget_bias

    def forward(self, x: Any, state: Any = None) -> tuple[Tensor, Tensor]:
        """One step: x (B, I) or (I,), state (h, c) or None -> (h', c')."""
        x = self._input(x)
        if state is None:
            state = (None, None)
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            raise TypeError(f"LSTMCell: state must be a pair (h, c) or None, got "
                            f"{type(state).__name__}")
        h, c = self._state(state[0], x, "h"), self._state(state[1], x, "c")
        tags = _cell_tags(self, x, h)
        with annotate(**tags):
            z = self.linear(_concat(x, h))
            z_i, z_f, z_g, z_o = z.chunk(4, dim=-1)
            i, f, g, o = z_i.sigmoid(), z_f.sigmoid(), z_g.tanh(), z_o.sigmoid()
            i.name, f.name, g.name, o.name = "i", "f", "g", "o"
            c_new = f * c + i * g  # the additive path: dc/dc_prev = f
            h_new = o * c_new.tanh()
            if self.proj_size:
                h_new = h_new @ self.weight_hr.T  # project h to proj_size
        return _tag_state(h_new, tags, "h"), _tag_state(c_new, tags, "c")


class GRUCell(CellBase):
    """GRU cell in the [x; h] form. The gates r and z read [x; h]; the candidate n has two
    formulas, chosen by `reset_after`:

        r = sigma(W_r [x; h] + b_r),   z = sigma(W_z [x; h] + b_z)
        reset_after=True (default, PyTorch's and Keras's GRU):
            n = tanh(W_xn x + b_n + r * (W_hn h + b_hn))
        reset_after=False (Cho et al. 2014, the original GRU):
            n = tanh(W_n [x; r * h] + b_n)
        h' = (1 - z) * n + z * h

    `.linear` is Linear(I + H, 3H) with row blocks r, z, n (PyTorch's order); its n block
    W_n = [W_xn  W_hn] is applied to x and to h separately when reset_after=True, which then
    needs a second bias `b_hn` (H,) inside the reset gate's product: `.b_hn` is that Parameter
    (None when reset_after=False or bias=False). With reset_after=True, weights loaded from a
    PyTorch GRU (`nn.load_torch_weights`) give exactly PyTorch's outputs.

    >>> cell = GRUCell(3, 4)
    >>> cell(Tensor(np.ones((2, 3)))).shape, cell.b_hn.shape
    ((2, 4), (4,))
    """

    gate_blocks = 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 reset_after: bool = True, dtype: Any = None) -> None:
        self.reset_after = flag(reset_after, "GRUCell", "reset_after")
        super().__init__(input_size, hidden_size, bias, dtype)
        self.b_hn = None
        if self.reset_after and self.bias:  # drawn after .linear: its values keep their seed
            self.b_hn = uniform_parameter((self.hidden_size,), 1.0 / np.sqrt(self.hidden_size),
                                          self.linear.weight.dtype)
            self.name_parameters()

    def forward(self, x: Any, h: Any = None) -> Tensor:
        """One step: x (B, I) or (I,), h (B, H) or (H,) or None -> h'."""
        x = self._input(x)
        h = self._state(h, x, "h")
        n_in, H = self.input_size, self.hidden_size
        W, b = self.linear.weight, self.linear.bias
        tags = _cell_tags(self, x, h)
        b_rz, b_n = (None, None) if b is None else (b[:2 * H], b[2 * H:])
        with annotate(**tags):
            a_rz = F.linear(_concat(x, h), W[:2 * H], b_rz)  # W_rz [x; h] + b_rz
            r, z = a_rz.sigmoid().split([H, H], dim=-1)  # both gates in one sigmoid
            r.name, z.name = "r", "z"
            W_n = W[2 * H:]
            if self.reset_after:  # r scales the transformed state W_hn h + b_hn
                a_n = F.linear(x, W_n[:, :n_in], b_n) + r * F.linear(h, W_n[:, n_in:], self.b_hn)
            else:  # r scales h before the linear layer
                a_n = F.linear(_concat(x, r * h, name="x_rh"), W_n, b_n)
            n = a_n.tanh()
            n.name = "n"
            h_new = n + z * (h - n)  # (1 - z) n + z h: from the candidate toward h by z
        return _tag_state(h_new, tags, "h")

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")
