"""Bad inputs at every public entry point: each must fail at once, with the exception type listed
and a message that names the function and the argument (the regex must be found in it).

The table's length is the number of bad inputs tried (issue 13's closing note counts them);
`test_the_table_is_large_and_covers_every_area` keeps it from shrinking silently.
"""

from __future__ import annotations

import re
import warnings
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import Tensor, nn, optim


def _p() -> nn.Parameter:
    return nn.Parameter(np.ones(3, np.float32))


def _x23() -> Tensor:
    return Tensor(np.ones((2, 3), np.float32))


def _seq() -> Tensor:
    return Tensor(np.ones((4, 2, 3), np.float32))


def _graph() -> Tensor:
    return Tensor([1.0], requires_grad=True) * 2.0


def _step_with_grad_of_wrong_shape() -> None:
    p = _p()
    p.grad = np.ones(4, np.float32)
    optim.SGD([p], lr=0.1).step()


def _step_with_grad(grad: Any) -> None:
    p = _p()
    p.grad = grad
    optim.SGD([p], lr=0.1).step()


def _tbptt(k: Any) -> Any:
    rnn = nn.RNN(3, 4)
    return nn.utils.truncated_bptt(rnn, np.ones((6, 2, 3), np.float32),
                                   np.zeros((6, 2, 4), np.float32), k,
                                   lambda out, y: F.mse_loss(out, y),
                                   optim.SGD(list(rnn.parameters()), lr=0.1))


# (area, id, call, exception type, regex the message must contain)
CASES: list[tuple[str, str, Callable[[], Any], type, str]] = [
    # ----- Tensor and ops
    ("tensor", "requires_grad='yes'", lambda: Tensor([1.0], requires_grad="yes"), TypeError,
     r"Tensor: requires_grad must be True or False, got 'yes'"),
    ("tensor", "name=3", lambda: Tensor([1.0], name=3), TypeError,
     r"Tensor: name must be a str or None, got 3"),
    ("tensor", "dtype='float99'", lambda: Tensor([1.0], dtype="float99"), TypeError,
     r"Tensor: .*float99"),
    ("tensor", "ragged list", lambda: Tensor([[1.0], [1.0, 2.0]]), ValueError,
     r"Tensor: .*inhomogeneous"),
    ("tensor", "complex data", lambda: Tensor(np.ones(2, np.complex64)), TypeError,
     r"Tensor: cannot hold data of dtype complex64"),
    ("tensor", "dtype=complex", lambda: Tensor([1.0], dtype=np.complex128), TypeError,
     r"Tensor: cannot hold data of dtype complex128"),
    ("tensor", "object data", lambda: Tensor(np.array([1, None])), TypeError,
     r"Tensor: cannot hold data of dtype object"),
    ("tensor", "string data", lambda: Tensor("abc"), TypeError,
     r"Tensor: cannot hold data of dtype <U3"),
    ("tensor", "None data", lambda: Tensor(None), TypeError, r"Tensor: cannot hold data"),
    ("tensor", "int requires grad", lambda: Tensor([1, 2], dtype=np.int64, requires_grad=True),
     TypeError, r"Tensor: only floating-point tensors can require grad"),
    ("tensor", "backward grad shape", lambda: (Tensor([1.0, 2.0], requires_grad=True) * 2)
     .backward(np.ones(3)), ValueError, r"backward: grad has shape \(3,\)"),
    ("tensor", "backward non-scalar", lambda: (Tensor([1.0, 2.0], requires_grad=True) * 2)
     .backward(), RuntimeError, r"backward: grad must be given for a non-scalar"),
    ("tensor", "backward no grad", lambda: Tensor([1.0]).backward(), RuntimeError,
     r"backward: this tensor does not require grad"),
    ("tensor", "reshape size", lambda: _x23().reshape(4, 2), ValueError,
     r"reshape: cannot reshape array of size 6 into shape \(4,2\)"),
    ("tensor", "reshape('a')", lambda: _x23().reshape("a"), TypeError, r"reshape: .*'a'"),
    ("tensor", "sum(axis=5)", lambda: _x23().sum(axis=5), Exception,
     r"sum: .*5.* out of (bounds|range)"),
    ("tensor", "mean(axis=5)", lambda: _x23().mean(axis=5), Exception,
     r"mean: .*5.* out of (bounds|range)"),
    ("tensor", "getitem out of range", lambda: _x23()[5], IndexError,
     r"getitem: index 5 is out of bounds"),
    ("tensor", "getitem float", lambda: _x23()[1.5], IndexError, r"getitem: only integers"),
    ("tensor", "transpose dim", lambda: _x23().transpose(0, 5), IndexError,
     r"transpose: dim 5 is out of range"),
    ("tensor", "permute repeat", lambda: _x23().permute(0, 0), ValueError,
     r"(permute|transpose): axes \(0, 0\) are not a permutation"),
    ("tensor", "pow list", lambda: _x23() ** [1, 2], TypeError,
     r"pow: the exponent must be a Python scalar or a Tensor, not list"),
    ("tensor", "pow '2'", lambda: _x23() ** "2", TypeError,
     r"pow: the exponent must be a Python scalar or a Tensor, not str"),
    ("tensor", "add str", lambda: _x23() + "a", TypeError,
     r"Tensor op: cannot combine a Tensor with a str"),
    ("tensor", "mul None", lambda: _x23() * None, TypeError,
     r"Tensor op: cannot combine a Tensor with a NoneType"),
    ("tensor", "add shapes", lambda: _x23() + Tensor(np.ones((3, 2))), ValueError,
     r"add: operands could not be broadcast.*input shapes \(2, 3\), \(3, 2\)"),
    ("tensor", "div shapes", lambda: _x23() / [1.0, 2.0], ValueError,
     r"div: operands could not be broadcast"),
    ("tensor", "matmul shapes", lambda: _x23() @ _x23(), ValueError,
     r"matmul: shapes \(2, 3\) @ \(2, 3\) do not match"),
    ("tensor", "matmul 0-d", lambda: _x23() @ Tensor(2.0), ValueError,
     r"matmul: cannot matmul a 0-d operand"),
    ("tensor", "cat ndarray", lambda: tg.cat([_x23(), np.ones((2, 3))]), TypeError,
     r"cat: tensors\[1\] is a ndarray, not a Tensor \(wrap arrays in Tensor"),
    ("tensor", "cat empty", lambda: tg.cat([]), ValueError, r"cat: tensors is empty"),
    ("tensor", "cat one Tensor", lambda: tg.cat(_x23()), TypeError,
     r"cat: tensors must be a sequence of Tensors, got one Tensor \(of shape \(2, 3\)\)"),
    ("tensor", "cat int", lambda: tg.cat(5), TypeError,
     r"cat: tensors must be a sequence of Tensors, got int"),
    ("tensor", "stack one Tensor", lambda: tg.stack(_x23()), TypeError,
     r"stack: tensors must be a sequence of Tensors, got one Tensor"),
    ("tensor", "cat shapes", lambda: tg.cat([_x23(), Tensor(np.ones((2, 4)))]), ValueError,
     r"cat: all the input array dimensions"),
    ("tensor", "stack shapes", lambda: tg.stack([_x23(), Tensor(np.ones((2, 4)))]), ValueError,
     r"stack: all input arrays must have the same shape"),
    ("tensor", "split dim", lambda: _x23().split(1, 7), IndexError,
     r"split: dim 7 is out of range"),
    ("tensor", "item of 6", lambda: _x23().item(), ValueError, r"item: tensor of shape \(2, 3\)"),
    ("tensor", "bool of 6", lambda: bool(_x23()), ValueError, r"bool: the truth value"),
    ("tensor", "len of 0-d", lambda: len(Tensor(1.0)), TypeError, r"len\(\) of a 0-d Tensor"),
    ("tensor", "tg.grad no inputs", lambda: tg.grad(_graph().sum(), []), ValueError,
     r"grad: inputs is empty"),
    # ----- modes, seeds, backend
    ("modes", "set_grad_enabled('no')", lambda: tg.set_grad_enabled("no"), TypeError,
     r"set_grad_enabled: mode must be True or False"),
    ("modes", "set_backend('cuda')", lambda: tg.set_backend("cuda"), ValueError,
     r"set_backend.*backend must be one of \('numba', 'numpy'\), got 'cuda'"),
    ("modes", "manual_seed('a')", lambda: tg.manual_seed("a"), TypeError,
     r"manual_seed: seed must be an integer, got 'a'"),
    ("modes", "manual_seed(-1)", lambda: tg.manual_seed(-1), ValueError,
     r"manual_seed: seed must be >= 0, got -1"),
    # ----- functional
    ("functional", "softmax dim 5", lambda: F.softmax(_x23(), 5), IndexError,
     r"softmax: dim 5 is out of range for a tensor of 2 dims"),
    ("functional", "log_softmax dim 'a'", lambda: F.log_softmax(_x23(), "a"), TypeError,
     r"log_softmax: dim must be an int, got str"),
    ("functional", "cross_entropy float target", lambda: F.cross_entropy(_x23(), [0.5, 1]),
     TypeError, r"cross_entropy: target must hold integers"),
    ("functional", "cross_entropy reduction", lambda: F.cross_entropy(_x23(), [0, 1], "avg"),
     ValueError, r"cross_entropy: reduction must be one of"),
    ("functional", "cross_entropy target 3", lambda: F.cross_entropy(_x23(), [0, 3]),
     IndexError, r"cross_entropy: target 3 is outside \[0, 3\)"),
    ("functional", "cross_entropy 3-d", lambda: F.cross_entropy(_seq(), [0, 1]), ValueError,
     r"cross_entropy: target of shape \(2,\) does not fit input of shape \(4, 2, 3\) "
     r"\(expected target shape \(4, 3\)\)"),
    ("functional", "cross_entropy 0-d", lambda: F.cross_entropy(Tensor(1.0), 0), ValueError,
     r"cross_entropy: input must be \(N, C\), \(C,\) or \(N, C, d1, ...\)"),
    ("functional", "cross_entropy short target", lambda: F.cross_entropy(_x23(), [0]),
     ValueError, r"cross_entropy: target of shape \(1,\) does not fit"),
    ("functional", "nll_loss target -1", lambda: F.nll_loss(_x23(), [-1, 0]), IndexError,
     r"nll_loss: target -1 is outside \[0, 3\)"),
    ("functional", "nll_loss short target", lambda: F.nll_loss(_x23(), [0]), ValueError,
     r"nll_loss: target of shape \(1,\) does not fit"),
    ("functional", "nll_loss reduction", lambda: F.nll_loss(_x23(), [0, 1], "x"), ValueError,
     r"nll_loss: reduction must be one of"),
    ("functional", "mse_loss shapes", lambda: F.mse_loss(_x23(), np.ones((3, 2))), ValueError,
     r"mse_loss: shapes \(2, 3\) and \(3, 2\) differ"),
    ("functional", "mse_loss reduction", lambda: F.mse_loss(_x23(), _x23(), "x"), ValueError,
     r"mse_loss: reduction must be one of"),
    ("functional", "l1_loss shapes", lambda: F.l1_loss(_x23(), np.ones((3, 2))), ValueError,
     r"l1_loss: shapes \(2, 3\) and \(3, 2\) differ"),
    ("functional", "binary_cross_entropy p=2", lambda: F.binary_cross_entropy(_x23() * 2,
                                                                                _x23()),
     ValueError, r"binary_cross_entropy: all elements of input should be between 0 and 1"),
    ("functional", "bce_with_logits weight shape", lambda: F.binary_cross_entropy_with_logits(
        _x23(), _x23(), weight=np.ones(2)), ValueError,
     r"binary_cross_entropy_with_logits: weight of shape \(2,\) does not broadcast"),
    ("functional", "kl_div reduction", lambda: F.kl_div(_x23(), _x23(), reduction="x"),
     ValueError, r"kl_div: reduction must be one of"),
    ("functional", "gelu approximate", lambda: F.gelu(_x23(), approximate="erf"), ValueError,
     r"gelu: approximate must be 'none' or 'tanh', got 'erf'"),
    ("functional", "elu int input", lambda: F.elu(Tensor([1, 2], dtype=np.int64)), TypeError,
     r"elu: input must be floating point, got dtype int64"),
    ("functional", "cross_entropy label_smoothing='a'", lambda: F.cross_entropy(
        _x23(), [0, 1], label_smoothing="a"), TypeError,
     r"cross_entropy: label_smoothing must be a number, got 'a'"),
    ("functional", "one_hot float", lambda: F.one_hot(np.array([0.5]), 3), TypeError,
     r"one_hot: indices must hold integers"),
    ("functional", "one_hot range", lambda: F.one_hot(np.array([3]), 3), IndexError,
     r"one_hot: an index is outside \[0, 3\)"),
    ("functional", "one_hot num_classes '3'", lambda: F.one_hot(np.array([1]), "3"), TypeError,
     r"one_hot: num_classes must be an integer, got '3'"),
    ("functional", "one_hot num_classes 0", lambda: F.one_hot(np.array([0]), 0), ValueError,
     r"one_hot: num_classes must be >= 1, got 0"),
    ("functional", "dropout p '0.5'", lambda: F.dropout(_x23(), p="0.5"), TypeError,
     r"dropout: p must be a number, got '0.5'"),
    ("functional", "dropout p 1", lambda: F.dropout(_x23(), p=1.0), ValueError,
     r"dropout: p must be in \[0, 1\), got 1.0"),
    ("functional", "dropout p nan", lambda: F.dropout(_x23(), p=float("nan")), ValueError,
     r"dropout: p must be in \[0, 1\), got nan"),
    ("functional", "dropout training 'no'", lambda: F.dropout(_x23(), 0.5, training="no"),
     TypeError, r"dropout: training must be True or False, got 'no'"),
    # ----- nn: Linear, cells, sequence modules, unroll
    ("nn", "Linear('3', 2)", lambda: nn.Linear("3", 2), TypeError,
     r"Linear: in_features must be an integer, got '3'"),
    ("nn", "Linear(3.5, 2)", lambda: nn.Linear(3.5, 2), TypeError,
     r"Linear: in_features must be an integer, got 3.5"),
    ("nn", "Linear(True, 2)", lambda: nn.Linear(True, 2), TypeError,
     r"Linear: in_features must be an integer, got True"),
    ("nn", "Linear(3, 0)", lambda: nn.Linear(3, 0), ValueError,
     r"Linear: out_features must be >= 1, got 0"),
    ("nn", "Linear(bias='no')", lambda: nn.Linear(3, 2, bias="no"), TypeError,
     r"Linear: bias must be True or False, got 'no'"),
    ("nn", "Linear(dtype=int32)", lambda: nn.Linear(3, 2, dtype=np.int32), TypeError,
     r"Linear: dtype must be float32 or float64, got int32"),
    ("nn", "RNN(dtype=float16)", lambda: nn.RNN(3, 4, dtype=np.float16), TypeError,
     r"RNN: dtype must be float32 or float64, got float16"),
    ("nn", "LSTMCell(dtype=longdouble)", lambda: nn.LSTMCell(3, 4, dtype=np.longdouble),
     TypeError, r"LSTMCell: dtype must be float32 or float64, got float128"),
    ("nn", "Linear wrong width", lambda: nn.Linear(3, 2)(np.ones((1, 4))), ValueError,
     r"Linear: input of shape \(1, 4\) does not end in in_features=3"),
    ("nn", "Linear complex input", lambda: nn.Linear(3, 2)(np.ones((1, 3), np.complex64)),
     TypeError, r"Linear: input must hold real numbers, got dtype complex64"),
    ("nn", "RNNCell('3', 4)", lambda: nn.RNNCell("3", 4), TypeError,
     r"RNNCell: input_size must be an integer, got '3'"),
    ("nn", "RNNCell(3, -4)", lambda: nn.RNNCell(3, -4), ValueError,
     r"RNNCell: hidden_size must be >= 1, got -4"),
    ("nn", "LSTMCell(bias=None)", lambda: nn.LSTMCell(3, 4, bias=None), TypeError,
     r"LSTMCell: bias must be True or False, got None"),
    ("nn", "RNNCell nonlinearity", lambda: nn.RNNCell(3, 4, nonlinearity="sigmoid"),
     ValueError, r"RNNCell: nonlinearity must be 'tanh' or 'relu', got 'sigmoid'"),
    ("nn", "RNNCell x width", lambda: nn.RNNCell(3, 4)(np.ones((2, 5))), ValueError,
     r"RNNCell: input x must have shape \(B, 3\) or \(3,\), got \(2, 5\)"),
    ("nn", "RNNCell h shape", lambda: nn.RNNCell(3, 4)(np.ones((2, 3)), np.ones((2, 5))),
     ValueError, r"RNNCell: state h must have shape \(2, 4\)"),
    ("nn", "LSTMCell single state", lambda: nn.LSTMCell(3, 4)(np.ones((2, 3)), np.ones((2, 4))),
     TypeError, r"LSTMCell: state must be a pair \(h, c\)"),
    ("nn", "GRUCell string input", lambda: nn.GRUCell(3, 4)("abc"), TypeError,
     r"GRUCell: input must hold real numbers"),
    ("nn", "RNNCell complex input", lambda: nn.RNNCell(2, 3)(np.ones((1, 2), np.complex64)),
     TypeError, r"RNNCell: input must hold real numbers, got dtype complex64"),
    ("nn", "RNN(dropout='0.1')", lambda: nn.RNN(3, 4, dropout="0.1"), TypeError,
     r"RNN: dropout must be a number, got '0.1'"),
    ("nn", "RNN(dropout=1.5)", lambda: nn.RNN(3, 4, dropout=1.5), ValueError,
     r"RNN: dropout must be in \[0, 1\), got 1.5"),
    ("nn", "RNN(num_layers=1.5)", lambda: nn.RNN(3, 4, num_layers=1.5), TypeError,
     r"RNN: num_layers must be an integer, got 1.5"),
    ("nn", "GRU(num_layers='2')", lambda: nn.GRU(3, 4, num_layers="2"), TypeError,
     r"GRU: num_layers must be an integer, got '2'"),
    ("nn", "LSTM(num_layers=0)", lambda: nn.LSTM(3, 4, num_layers=0), ValueError,
     r"LSTM: num_layers must be >= 1, got 0"),
    ("nn", "RNN(hidden_size=0)", lambda: nn.RNN(3, 0), ValueError,
     r"RNN: hidden_size must be >= 1, got 0"),
    ("nn", "RNN(batch_first='yes')", lambda: nn.RNN(3, 4, batch_first="yes"), TypeError,
     r"RNN: batch_first must be True or False, got 'yes'"),
    ("nn", "RNN nonlinearity", lambda: nn.RNN(3, 4, nonlinearity="gelu"), ValueError,
     r"nonlinearity must be 'tanh' or 'relu', got 'gelu'"),
    ("nn", "RNN(dtype=int64)", lambda: nn.RNN(3, 4, dtype=np.int64), TypeError,
     r"RNN: dtype must be float32 or float64, got int64"),
    ("nn", "RNN input width", lambda: nn.RNN(3, 4)(np.ones((4, 5))), ValueError,
     r"RNN: input must have shape \(T, B, I\) or \(T, I\) with I = input_size = 3"),
    ("nn", "RNN 4-d input", lambda: nn.RNN(3, 4)(np.ones((4, 2, 3, 1))), ValueError,
     r"RNN: input must have shape \(T, B, I\)"),
    ("nn", "RNN T=0 fused", lambda: nn.RNN(3, 4)(np.ones((0, 2, 3), np.float32)), ValueError,
     r"RNN: input of shape \(0, 2, 3\) has no steps"),
    ("nn", "LSTM T=0 per-op", lambda: nn.LSTM(3, 4)(np.ones((0, 2, 3)), fused=False),
     ValueError, r"LSTM: input of shape \(0, 2, 3\) has no steps"),
    ("nn", "GRU B=0", lambda: nn.GRU(3, 4)(np.ones((2, 0, 3))), ValueError,
     r"GRU: input of shape \(2, 0, 3\) has no steps or no examples"),
    ("nn", "RNN h0 shape", lambda: nn.RNN(3, 4)(_seq(), np.ones((2, 4))), ValueError,
     r"RNN: initial state h_0 must have shape \(1, 2, 4\)"),
    ("nn", "LSTM state not a pair", lambda: nn.LSTM(3, 4)(_seq(), np.ones((1, 2, 4))),
     TypeError, r"LSTM: state must be a pair \(h_0, c_0\)"),
    ("nn", "RNN tuple state", lambda: nn.RNN(3, 4)(_seq(), (np.ones((1, 2, 4)),) * 2),
     TypeError, r"RNN: state must be one tensor h_0"),
    ("nn", "RNN complex input", lambda: nn.RNN(2, 3)(np.ones((4, 1, 2), np.complex64)),
     TypeError, r"RNN: input must hold real numbers, got dtype complex64"),
    ("nn", "RNN fused='no'", lambda: nn.RNN(3, 4)(_seq(), fused="no"), TypeError,
     r"RNN: fused must be True or False, got 'no'"),
    ("nn", "unroll tuple state for RNNCell",
     lambda: nn.unroll(nn.RNNCell(3, 4), _seq(), (np.ones((2, 4)), np.ones((2, 4)))),
     TypeError, r"unroll: RNNCell takes one tensor h, not a tuple as its state"),
    ("nn", "unroll (H, B) state fused",
     lambda: nn.unroll(nn.RNNCell(3, 4), _seq(), np.ones((4, 2))), ValueError,
     r"RNNCell: state h must have shape \(2, 4\) for input x of shape \(2, 3\), got \(4, 2\)"),
    ("nn", "unroll flat state fused",
     lambda: nn.unroll(nn.LSTMCell(3, 4), _seq(), (np.ones(8), np.ones(8))), ValueError,
     r"LSTMCell: state h must have shape \(2, 4\) .*got \(8,\)"),
    ("nn", "unroll T=0", lambda: nn.unroll(nn.RNNCell(3, 4), np.ones((0, 2, 3))), ValueError,
     r"unroll: x must have shape \(T, B, I\) or \(T, I\) with T >= 1"),
    ("nn", "unroll not a cell", lambda: nn.unroll(nn.Linear(3, 4), _seq()), TypeError,
     r"unroll: cell must be an RNNCell, LSTMCell or GRUCell, got Linear"),
    ("nn", "unroll fused='no'", lambda: nn.unroll(nn.RNNCell(3, 4), _seq(), fused="no"),
     TypeError, r"unroll: fused must be True or False, got 'no'"),
    ("nn", "Parameter string", lambda: nn.Parameter("abc"), TypeError,
     r"Tensor: cannot hold data of dtype <U3"),
    # ----- optimizers
    ("optim", "Adam(betas=0.9)", lambda: optim.Adam([_p()], betas=0.9), TypeError,
     r"Adam: betas must be a pair \(beta1, beta2\), got 0.9"),
    ("optim", "Adam(betas=(0.9,))", lambda: optim.Adam([_p()], betas=(0.9,)), ValueError,
     r"Adam: betas must be a pair"),
    ("optim", "Adam(betas=(1.0, 0.9))", lambda: optim.Adam([_p()], betas=(1.0, 0.9)),
     ValueError, r"Adam: invalid beta1 1.0"),
    ("optim", "Adam(lr='0.1')", lambda: optim.Adam([_p()], lr="0.1"), TypeError,
     r"Adam: lr must be a number, got '0.1'"),
    ("optim", "Adam(lr=-1)", lambda: optim.Adam([_p()], lr=-1), ValueError,
     r"Adam: invalid lr -1"),
    ("optim", "Adam(lr=nan)", lambda: optim.Adam([_p()], lr=float("nan")), ValueError,
     r"Adam: invalid lr nan"),
    ("optim", "Adam(eps=-1)", lambda: optim.Adam([_p()], eps=-1.0), ValueError,
     r"Adam: invalid eps -1.0"),
    ("optim", "Adam(one Tensor)", lambda: optim.Adam(_p()), TypeError,
     r"Adam: params must be an iterable of tensors"),
    ("optim", "Adam([])", lambda: optim.Adam([]), ValueError,
     r"Adam: got an empty parameter list"),
    ("optim", "Adam([ndarray])", lambda: optim.Adam([np.ones(3)]), TypeError,
     r"Adam: parameter 0 is a ndarray, not a Tensor"),
    ("optim", "Adam([non-leaf])", lambda: optim.Adam([_p() * 2]), ValueError,
     r"Adam: parameter 0 \(shape \(3,\)\) must be a floating leaf tensor"),
    ("optim", "SGD(momentum=-1)", lambda: optim.SGD([_p()], lr=0.1, momentum=-1), ValueError,
     r"SGD: invalid momentum -1"),
    ("optim", "SGD(nesterov, no momentum)", lambda: optim.SGD([_p()], lr=0.1, nesterov=True),
     ValueError, r"SGD: nesterov=True needs momentum > 0"),
    ("optim", "SGD(weight_decay='x')", lambda: optim.SGD([_p()], lr=0.1, weight_decay="x"),
     TypeError, r"SGD: weight_decay must be a number, got 'x'"),
    ("optim", "RMSprop(alpha=2)", lambda: optim.RMSprop([_p()], alpha=2.0), ValueError,
     r"RMSprop: invalid alpha 2.0"),
    ("optim", "Adagrad(lr=None)", lambda: optim.Adagrad([_p()], lr=None), TypeError,
     r"Adagrad: lr must be a number, got None"),
    ("optim", "step: grad of wrong shape", _step_with_grad_of_wrong_shape, ValueError,
     r"SGD.step: parameter 0 has shape \(3,\) but its grad has shape \(4,\)"),
    # ----- clipping and truncated BPTT
    ("utils", "clip_grad_norm_(max_norm='1')", lambda: nn.utils.clip_grad_norm_([_p()], "1"),
     TypeError, r"clip_grad_norm_: max_norm must be a number, got '1'"),
    ("utils", "clip_grad_norm_(max_norm=-1)", lambda: nn.utils.clip_grad_norm_([_p()], -1.0),
     ValueError, r"clip_grad_norm_: max_norm must be in \[0, inf\), got -1.0"),
    ("utils", "clip_grad_norm_(max_norm=nan)",
     lambda: nn.utils.clip_grad_norm_([_p()], float("nan")), ValueError,
     r"clip_grad_norm_: max_norm must be in \[0, inf\), got nan"),
    ("utils", "clip_grad_norm_(params=3)", lambda: nn.utils.clip_grad_norm_(3, 1.0), TypeError,
     r"clip_grad_norm_: params must be a Tensor or a sequence of Tensors, got int"),
    ("utils", "clip_grad_norm_(norm_type='x')",
     lambda: nn.utils.clip_grad_norm_([_p()], 1.0, norm_type="x"), TypeError,
     r"clip_grad_norm_: norm_type must be a number or 'inf', got 'x'"),
    ("utils", "clip_grad_norm_(norm_type=0)",
     lambda: nn.utils.clip_grad_norm_([_p()], 1.0, norm_type=0), ValueError,
     r"clip_grad_norm_: norm_type must be positive or inf, got 0"),
    ("utils", "clip_grad_value_(-1)", lambda: nn.utils.clip_grad_value_([_p()], -1.0),
     ValueError, r"clip_grad_value_: clip_value must be in \[0, inf\), got -1.0"),
    ("utils", "clip_grad_value_('1')", lambda: nn.utils.clip_grad_value_([_p()], "1"),
     TypeError, r"clip_grad_value_: clip_value must be a number, got '1'"),
    ("utils", "clip_grad_value_([ndarray])",
     lambda: nn.utils.clip_grad_value_([np.ones(2)], 1.0), TypeError,
     r"clip_grad_value_: params\[0\] is a ndarray, not a Tensor"),
    ("utils", "chunks(k=0)", lambda: list(nn.utils.chunks(_seq(), 0)), ValueError,
     r"chunks: k must be a positive integer, got 0"),
    ("utils", "chunks(k='2')", lambda: list(nn.utils.chunks(_seq(), "2")), ValueError,
     r"chunks: k must be a positive integer, got '2'"),
    ("utils", "truncated_bptt(k=0)", lambda: _tbptt(0), ValueError,
     r"truncated_bptt: k must be a positive integer, got 0"),
    ("utils", "truncated_bptt(k=2.5)", lambda: _tbptt(2.5), ValueError,
     r"truncated_bptt: k must be a positive integer, got 2.5"),
    ("utils", "detach_state(ndarray)", lambda: nn.utils.detach_state(np.ones(2)), TypeError,
     r"detach_state: expected None, a Tensor or a tuple/list of them, got ndarray"),
    # ----- gradcheck
    ("gradcheck", "no input requires grad", lambda: tg.gradcheck(lambda t: t * 2, [Tensor([1.0])]),
     ValueError, r"gradcheck: no input has requires_grad=True"),
    ("gradcheck", "fn not callable", lambda: tg.gradcheck(3, [Tensor([1.0], requires_grad=True)]),
     TypeError, r"gradcheck: fn must be callable, got int"),
    ("gradcheck", "eps=0", lambda: tg.gradcheck(lambda t: t * 2,
                                                [Tensor([1.0], requires_grad=True)], eps=0),
     ValueError, r"gradcheck: eps must be in \(0, inf\), got 0"),
    ("gradcheck", "atol=-1", lambda: tg.gradcheck(lambda t: t * 2,
                                                  [Tensor([1.0], requires_grad=True)], atol=-1),
     ValueError, r"gradcheck: atol must be in \[0, inf\), got -1"),
    ("gradcheck", "fn returns ndarray", lambda: tg.gradcheck(
        lambda t: t.data * 2, [Tensor([1.0], requires_grad=True)]), TypeError,
     r"gradcheck: fn must return a Tensor, got ndarray"),
    # ----- viz
    ("viz", "draw(ndarray)", lambda: __import__("viz").draw(np.ones(3)), TypeError,
     r"draw: root\[0\] is a .*, not a Tensor"),
    ("viz", "draw(colour=...)", lambda: __import__("viz").draw(_graph(), colour="red"),
     TypeError, r"draw\(\) got an unexpected keyword argument 'colour'"),
    # strings are not flags and fractions are not indices (they were read as True / truncated)
    ("optim", "Adam(amsgrad='no')", lambda: optim.Adam([_p()], amsgrad="no"), TypeError,
     r"Adam: amsgrad must be True or False, got 'no'"),
    ("optim", "SGD(nesterov='no')", lambda: optim.SGD([_p()], lr=0.1, momentum=0.9,
                                                      nesterov="no"), TypeError,
     r"SGD: nesterov must be True or False, got 'no'"),
    ("optim", "RMSprop(centered='False')", lambda: optim.RMSprop([_p()], centered="False"),
     TypeError, r"RMSprop: centered must be True or False, got 'False'"),
    ("optim", "zero_grad(set_to_none='no')",
     lambda: optim.SGD([_p()], lr=0.1).zero_grad(set_to_none="no"), TypeError,
     r"SGD.zero_grad: set_to_none must be True or False, got 'no'"),
    ("optim", "step with a complex grad", lambda: _step_with_grad(np.ones(3, np.complex64)),
     TypeError, r"SGD.step: parameter 0's grad must hold real numbers, got dtype complex64"),
    ("optim", "step with a string grad", lambda: _step_with_grad("abc"), TypeError,
     r"SGD.step: parameter 0's grad must hold real numbers, got dtype <U3"),
    ("nn", "GRU(reset_after='no')", lambda: nn.GRU(3, 4, reset_after="no"), TypeError,
     r"GRU: reset_after must be True or False, got 'no'"),
    ("nn", "GRUCell(reset_after='no')", lambda: nn.GRUCell(3, 4, reset_after="no"), TypeError,
     r"GRUCell: reset_after must be True or False, got 'no'"),
    ("nn", "CrossEntropyLoss(ignore_index=1.5)", lambda: nn.CrossEntropyLoss(ignore_index=1.5),
     TypeError, r"CrossEntropyLoss: ignore_index must be an integer, got 1.5"),
    ("nn", "NLLLoss(ignore_index='a')", lambda: nn.NLLLoss(ignore_index="a"), TypeError,
     r"NLLLoss: ignore_index must be an integer, got 'a'"),
    ("nn", "BCEWithLogitsLoss shapes", lambda: nn.BCEWithLogitsLoss()(_x23(), np.ones(3)),
     ValueError, r"BCEWithLogitsLoss: shapes \(2, 3\) and \(3,\) differ"),
    ("nn", "SmoothL1Loss(beta=-1)", lambda: nn.SmoothL1Loss(beta=-1), ValueError,
     r"SmoothL1Loss: beta must be in \[0, inf\), got -1.0"),
    ("nn", "LeakyReLU(inplace='yes')", lambda: nn.LeakyReLU(inplace="yes"), TypeError,
     r"LeakyReLU: inplace must be True or False, got 'yes'"),
    ("nn", "CrossEntropyLoss(weight) of 2 classes", lambda: nn.CrossEntropyLoss(
        weight=np.ones(2))(_x23(), [0, 1]), ValueError,
     r"CrossEntropyLoss: weight must hold one value per class, shape \(3,\), got shape \(2,\)"),
    ("nn", "Embedding(padding_idx=1.7)", lambda: nn.Embedding(5, 2, padding_idx=1.7), TypeError,
     r"Embedding: padding_idx must be an integer, got 1.7"),
    ("nn", "LSTMCell(forget_bias=nan)", lambda: nn.LSTMCell(3, 4, forget_bias=float("nan")),
     ValueError, r"LSTMCell: forget_bias must be in \(-inf, inf\), got nan"),
    ("nn", "LSTM(forget_bias='2')", lambda: nn.LSTM(3, 4, forget_bias="2"), TypeError,
     r"LSTMCell: forget_bias must be a number, got '2'"),
    ("nn", "Linear(PackedSequence)",
     lambda: nn.Linear(1, 2)(nn.utils.rnn.pack_sequence([tg.ones(2, 1)])), TypeError,
     r"Linear: got a PackedSequence, which only nn.RNN / nn.LSTM / nn.GRU take"),
    ("nn", "Embedding(PackedSequence)",
     lambda: nn.Embedding(3, 2)(nn.utils.rnn.pack_sequence([tg.tensor([1, 2])])), TypeError,
     r"Embedding: indices: got a PackedSequence"),
    ("functional", "relu(PackedSequence)",
     lambda: F.relu(nn.utils.rnn.pack_sequence([tg.ones(2, 1)])), TypeError,
     r"Tensor: got a PackedSequence"),
    ("functional", "cross_entropy(ragged target)",
     lambda: F.cross_entropy(tg.ones(2, 3), [[1], [1, 2]]), ValueError,
     r"cross_entropy: target: cannot make an array of the list given"),
    ("functional", "binary_cross_entropy_with_logits(int target)",
     lambda: F.binary_cross_entropy_with_logits(tg.ones(2), tg.tensor([0, 1])), TypeError,
     r"binary_cross_entropy_with_logits: target must be floating point, got dtype int64"),
    ("functional", "kl_div(bool target)",
     lambda: F.kl_div(tg.ones(2), tg.tensor([True, False]), reduction="sum"), TypeError,
     r"kl_div: target must be floating point, got dtype bool"),
    ("functional", "layer_norm(normalized_shape=[])", lambda: F.layer_norm(tg.ones(3), []),
     ValueError, r"layer_norm: normalized_shape must hold at least one size"),
    ("nn", "LayerNorm([])", lambda: nn.LayerNorm([]), ValueError,
     r"LayerNorm: normalized_shape must hold at least one size, got \[\]"),
    ("utils", "pack_sequence([])", lambda: nn.utils.rnn.pack_sequence([]), ValueError,
     r"^pack_sequence: received an empty list of sequences"),
    ("optim", "MultiStepLR.load_state_dict(bad values)",
     lambda: optim.lr_scheduler.MultiStepLR(optim.SGD([_p()], lr=0.1), [1]).load_state_dict(
         {"last_epoch": "x", "milestones": {1: 1}}), TypeError,
     r"MultiStepLR.load_state_dict: last_epoch must be a whole number"),
    ("viz", "draw(detail='x')", lambda: __import__("viz").draw(_graph(), detail="x"),
     ValueError, r"draw: detail must be one of \('ops', 'cells'\), got 'x'"),
    ("viz", "draw(max_steps=-1)", lambda: __import__("viz").draw(_graph(), max_steps=-1),
     ValueError, r"draw: max_steps must be a positive int or None, got -1"),
    ("viz", "render(format='xyz')", lambda: __import__("viz").render(_graph(), "x", format="xyz"),
     ValueError, r"render: format must be one of"),
    ("viz", "render(path=3)", lambda: __import__("viz").render(_graph(), 3), TypeError,
     r"render: path must be a str or os.PathLike, got int"),
]


@pytest.mark.parametrize("area, call, error, message", [c[0:1] + c[2:] for c in CASES],
                         ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_a_bad_input_fails_at_once_with_a_clear_message(area, call, error, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error) as info:
            call()
    text = str(info.value)
    assert re.search(message, text), f"message {text!r} does not match {message!r}"
    assert "\n" not in text.split(" (input shapes")[0], "one line"


def test_the_table_is_large_and_covers_every_area():
    areas = {c[0] for c in CASES}
    assert areas == {"tensor", "modes", "functional", "nn", "optim", "utils", "gradcheck", "viz"}
    assert len(CASES) >= 130
    assert len({c[1] for c in CASES}) == len(CASES)  # ids are unique


def test_anomaly_inside_a_module_points_at_the_users_line():
    cell = nn.RNNCell(2, 3)
    x = Tensor(np.full((1, 2), np.nan, np.float32))
    with tg.detect_anomaly(), pytest.raises(FloatingPointError) as info:
        cell(x)  # the NaN is made inside nn/cells.py and kernels: the user's line is this one
    assert "test_bad_inputs.py" in str(info.value) and "cell(x)" in str(info.value)
