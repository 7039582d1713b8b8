"""Utilities named as in `torch.utils`: `utils.data` (datasets, samplers, DataLoader)."""

from tinygrad_rnn.utils import data

__all__ = ["data"]
