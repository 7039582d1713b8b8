"""Numba kernels for the hot paths of recurrent networks, each beside its NumPy twin; the backend
switch.

Every kernel is a plain function over ndarrays and scalars, compiled with numba, and directly
below it stands its NumPy twin under the same name (`core` explains the two decorators):

    activations.py    the activations and their derivatives, written once (formulas), and
                      `act_inplace` / `act_grad_inplace` over 2-D arrays
    matmul.py         small products as loops (`matmul`), and `mm`: loops or BLAS for one product
    rnn.py            a vanilla RNN layer over a sequence, and its BPTT
    lstm.py           one LSTM step after the matmul and its backward; a whole layer and its BPTT
    gru.py            one GRU step (gates, then candidate and new state) and its backward, for
                      both candidate formulas; a whole layer and its BPTT
    cross_entropy.py  softmax cross-entropy and log-softmax, forward and backward, one pass each
    adam.py           Adam's update in one pass
    norms.py          the sum of squares in float64 (gradient norms for clipping)
    fingerprint.py    sums over an array's bytes, for the engine's checks of saved arrays
    scatter.py        the backward of picking rows by integers (an embedding lookup)
    sequence.py       `Layer`: picks a layer's inner path (tiny / small / big) and runs it;
                      the graph nodes in `tinygrad_rnn.fused` call only this

Calling a kernel runs the active backend's version: `set_backend("numba" | "numpy")` or the
environment variable TINYGRAD_RNN_BACKEND, read here once. `kernel.compiled` and `kernel.twin`
are the two versions themselves. The package imports nothing of the project, and numba only when
a kernel first runs compiled, so `import tinygrad_rnn` stays fast.
"""

from tinygrad_rnn.kernels import (activations, adam, cross_entropy, fingerprint, gru, lstm, matmul,
                                  norms, rnn, scatter, sequence)
from tinygrad_rnn.kernels.activations import ACTIVATIONS, RELU, SIGMOID, TANH, use_fast
from tinygrad_rnn.kernels.core import KERNELS, get_backend, set_backend
from tinygrad_rnn.kernels.matmul import mm
from tinygrad_rnn.kernels.sequence import Layer

__all__ = ["ACTIVATIONS", "KERNELS", "Layer", "RELU", "SIGMOID", "TANH", "activations", "adam",
           "cross_entropy", "fingerprint", "get_backend", "gru", "lstm", "matmul", "mm", "norms",
           "rnn", "scatter", "sequence", "set_backend", "use_fast"]
