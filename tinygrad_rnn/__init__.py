"""tinygrad_rnn: a small reverse-mode autodiff framework on NumPy, made for recurrent networks.

`import tinygrad_rnn as torch` gives PyTorch's names for tensors, dtypes, devices and the
common functions (see docs/pytorch.md for what differs).
"""

from tinygrad_rnn import autograd, functional, nn, optim, utils
from tinygrad_rnn.checkpoint import load, save
from tinygrad_rnn.creation import (BoolTensor, ByteTensor, DoubleTensor, FloatTensor, IntTensor,
                                   LongTensor, Size, accelerator, arange, as_tensor, backends, cuda,
                                   device, double, empty, empty_like, eye, float16, float32,
                                   float64, from_numpy, full, full_like, half, int8, int16,
                                   int32, int64, linspace, long, normal, ones, ones_like,
                                   rand, rand_like, randint, randn, randn_like, randperm, short,
                                   tensor, uint8, zeros, zeros_like)
from tinygrad_rnn.creation import bool_ as bool  # noqa: A001  (torch.bool, as in PyTorch)
from tinygrad_rnn.creation import float32 as float  # noqa: A001  (torch.float is float32)
from tinygrad_rnn.creation import int32 as int  # noqa: A001  (torch.int is int32)
from tinygrad_rnn.gradcheck import GradcheckError, gradcheck
from tinygrad_rnn.kernels import get_backend, set_backend
from tinygrad_rnn.ops import (allclose, amax, amin, argmax, argmin, bmm, chunk, clamp, clip,
                              equal, exp, flatten, gather, is_tensor, isclose, log, log_softmax,
                              matmul, max, mean, min, mm, multinomial, narrow, numel, permute,
                              relu, reshape, sigmoid, softmax, split, sqrt, squeeze, sum, t, tanh,
                              topk, transpose, unsqueeze)
from tinygrad_rnn.ops import (abs, absolute, argsort, cumsum, einsum,  # noqa: A004  (torch.abs)
                              flip, floor_divide, index_select, log1p, logical_and, logical_not,
                              logical_or, logical_xor, norm, remainder, round, sign, sort, std,
                              unbind, var)
from tinygrad_rnn.ops import (bitwise_and, bitwise_not, bitwise_or, bitwise_xor, count_nonzero,
                              cumprod, isfinite, isinf, isnan, logsumexp, masked_select, maximum,
                              minimum, nonzero, pow, repeat_interleave, trace)  # noqa: A004
from tinygrad_rnn.ops import add, diag, div, mul, neg, sub
from tinygrad_rnn.ops import cos, sin
from tinygrad_rnn.random import Generator, get_rng, manual_seed
from tinygrad_rnn.modes import (annotate, detect_anomaly, enable_grad, inference_mode,
                                is_anomaly_enabled, is_grad_enabled, no_grad, set_grad_enabled)
from tinygrad_rnn.tensor import (Tensor, ValuesIndices, cat, get_default_dtype, grad,
                                 set_default_dtype, set_printoptions, stack, unbroadcast, where)

__all__ = ["Tensor", "grad", "annotate", "cat", "stack", "no_grad", "inference_mode", "enable_grad",
           "set_grad_enabled", "is_grad_enabled", "detect_anomaly", "is_anomaly_enabled",
           "unbroadcast", "gradcheck", "GradcheckError", "manual_seed", "get_rng", "Generator",
           "utils", "functional", "autograd",
           "nn", "optim", "save", "load", "set_backend", "get_backend",
           # the PyTorch surface: factories, dtypes, devices, functions
           "tensor", "as_tensor", "from_numpy", "zeros", "ones", "empty", "full", "zeros_like",
           "ones_like", "empty_like", "full_like", "randn", "rand", "randn_like", "rand_like",
           "randint", "randperm", "normal", "arange", "linspace", "eye", "FloatTensor",
           "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor", "ByteTensor", "float16", "half",
           "float32", "float", "float64", "double", "int8", "uint8", "int16", "short", "int32",
           "int", "int64", "long", "bool", "set_default_dtype", "get_default_dtype", "device",
           "cuda", "accelerator", "backends", "where", "ValuesIndices", "is_tensor", "numel", "exp",
           "log", "sqrt", "tanh", "sigmoid", "relu", "softmax", "log_softmax", "sum", "mean", "max",
           "min", "amax", "amin", "argmax", "argmin", "topk", "gather", "clamp", "clip", "reshape",
           "flatten", "squeeze", "unsqueeze", "transpose", "permute", "t", "split", "chunk",
           "narrow", "matmul", "mm", "bmm", "multinomial", "isclose", "allclose", "equal", "abs",
           "absolute", "sign", "round", "log1p", "remainder", "floor_divide", "cumsum", "sort",
           "argsort", "flip", "index_select", "unbind", "var", "std", "norm", "logical_and",
           "logical_or", "logical_xor", "logical_not", "einsum", "logsumexp", "masked_select",
           "maximum", "minimum", "nonzero", "count_nonzero", "pow", "cumprod", "repeat_interleave",
           "trace", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "Size",
           "set_printoptions", "isnan", "isinf", "isfinite", "add", "sub", "mul", "div", "neg",
           "diag", "sin", "cos"]
__version__ = "0.1.0"
