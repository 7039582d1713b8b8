"""Optimizers (SGD, Adam, AdamW, Adagrad, RMSprop) and learning-rate schedules
(`optim.lr_scheduler`), named and computed as in `torch.optim`."""

from tinygrad_rnn.optim.optimizer import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop
from tinygrad_rnn.optim import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "lr_scheduler"]
