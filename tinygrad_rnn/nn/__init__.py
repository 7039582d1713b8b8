"""Neural-network layers: Module, Parameter, Linear, recurrent cells and sequence modules."""

from tinygrad_rnn.nn.cells import GRUCell, LSTMCell, RNNCell
from tinygrad_rnn.nn.interop import export_torch_weights, load_torch_weights
from tinygrad_rnn.nn.linear import Linear
from tinygrad_rnn.nn.module import Module, Parameter
from tinygrad_rnn.nn.recurrent import GRU, LSTM, RNN, unroll
from tinygrad_rnn.nn import utils

__all__ = ["Module", "Parameter", "Linear", "RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM",
           "GRU", "unroll", "utils", "load_torch_weights", "export_torch_weights"]
