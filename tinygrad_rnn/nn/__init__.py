"""Neural-network layers: Module, Parameter, Linear, recurrent cells and sequence modules,
small layers and containers, losses, and `nn.init`. `nn.functional` is `tinygrad_rnn.functional`,
where PyTorch has it (`torch.nn.functional.relu`, `import torch.nn.functional as F`)."""

import sys

from tinygrad_rnn import functional
from tinygrad_rnn.nn.cells import GRUCell, LSTMCell, RNNCell
from tinygrad_rnn.nn.interop import export_torch_weights, load_torch_weights
from tinygrad_rnn.nn.layers import (Dropout, Embedding, Identity, LogSoftmax, ModuleList, ReLU,
                                    Sequential, Sigmoid, Softmax, Tanh)
from tinygrad_rnn.nn.layers import Flatten, LayerNorm, ModuleDict
from tinygrad_rnn.nn.linear import LazyLinear, Linear
from tinygrad_rnn.nn.layers import ELU, GELU, LeakyReLU, LogSigmoid, SiLU, Softplus
from tinygrad_rnn.nn.loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss,
                                  KLDivLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss)
from tinygrad_rnn.nn.module import Module, Parameter
from tinygrad_rnn.nn.recurrent import GRU, LSTM, RNN, unroll
from tinygrad_rnn.nn import init, utils

sys.modules[__name__ + ".functional"] = functional  # `import tinygrad_rnn.nn.functional` too

__all__ = ["Module", "Parameter", "Linear", "RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM",
           "GRU", "unroll", "utils", "init", "load_torch_weights", "export_torch_weights",
           "Embedding", "Dropout", "ReLU", "Tanh", "Sigmoid", "Identity", "Softmax", "LogSoftmax",
           "Sequential", "ModuleList", "ModuleDict", "Flatten", "LayerNorm", "CrossEntropyLoss",
           "NLLLoss", "MSELoss", "functional", "LogSigmoid", "Softplus", "LeakyReLU", "ELU",
           "GELU", "SiLU", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss",
           "KLDivLoss", "LazyLinear"]
