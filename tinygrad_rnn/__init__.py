"""tinygrad_rnn: a small reverse-mode autodiff framework on NumPy, made for recurrent networks."""

from tinygrad_rnn import functional, nn, optim, utils
from tinygrad_rnn.checkpoint import load, save
from tinygrad_rnn.gradcheck import GradcheckError, gradcheck
from tinygrad_rnn.kernels import get_backend, set_backend
from tinygrad_rnn.random import Generator, get_rng, manual_seed
from tinygrad_rnn.modes import (annotate, detect_anomaly, enable_grad, is_anomaly_enabled,
                                is_grad_enabled, no_grad, set_grad_enabled)
from tinygrad_rnn.tensor import Tensor, cat, grad, stack, unbroadcast

__all__ = ["Tensor", "grad", "annotate", "cat", "stack", "no_grad", "enable_grad",
           "set_grad_enabled", "is_grad_enabled", "detect_anomaly", "is_anomaly_enabled",
           "unbroadcast", "gradcheck", "GradcheckError", "manual_seed", "get_rng", "Generator",
           "utils", "functional",
           "nn", "optim", "save", "load", "set_backend", "get_backend"]
__version__ = "0.1.0"
