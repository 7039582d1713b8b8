"""Neural-network layers: Module, Parameter, Linear, recurrent cells and sequence modules."""

from tinygrad_rnn.nn.module import Module, Parameter

__all__ = ["Module", "Parameter"]
