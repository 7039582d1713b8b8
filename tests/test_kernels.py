"""Every compiled kernel against its NumPy twin (float32 and float64), the twins against the
formulas, the call-free activations over the whole float32 range, the backend switch, lazy import
and the first-compile notice.

The fused graph nodes built on the kernels are checked against the per-op engine path and finite
differences in test_fused.py.
"""

from __future__ import annotations

import inspect
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import kernels
from tinygrad_rnn.kernels import activations, core

ROOT = Path(__file__).resolve().parent.parent
DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}
FAST_TOL = dict(rtol=1e-6, atol=1e-6)  # the call-free tanh/sigmoid against the library ones
TANH, SIGMOID, RELU = kernels.TANH, kernels.SIGMOID, kernels.RELU


@pytest.fixture
def numpy_backend():
    previous = kernels.get_backend()
    kernels.set_backend("numpy")
    yield
    kernels.set_backend(previous)


# ----- one case per kernel: arguments in a dtype ---------------------------------------------
def _arrays(rng, dtype, *shapes, scale=1.0):
    return [(rng.standard_normal(s) * scale).astype(dtype) for s in shapes]


def _rnn_state(rng, dtype, act):
    steps, batch, hidden = 5, 3, 4
    p, h0, w = _arrays(rng, dtype, (steps, batch, hidden), (batch, hidden), (hidden, hidden),
                       scale=0.7)
    return p, h0, w


def _gates(rng, dtype, batch, hidden, steps=None):
    """Gate values as the forward leaves them: i, f, o in (0, 1), g in (-1, 1)."""
    lead = (batch,) if steps is None else (steps, batch)
    gates = rng.uniform(0.01, 0.99, size=lead + (4 * hidden,))
    gates[..., 2 * hidden:3 * hidden] = rng.uniform(-0.99, 0.99, size=lead + (hidden,))
    return gates.astype(dtype)


def _gru_gates(rng, dtype, batch, hidden, steps=None):
    """GRU gate values as the forward leaves them: r, z in (0, 1), n in (-1, 1)."""
    lead = (batch,) if steps is None else (steps, batch)
    gates = rng.uniform(0.01, 0.99, size=lead + (3 * hidden,))
    gates[..., 2 * hidden:] = rng.uniform(-0.99, 0.99, size=lead + (hidden,))
    return gates.astype(dtype)


CASES = {  # kernel name -> (rng, dtype) -> list of argument tuples
    "act_inplace": lambda rng, d: [(*_arrays(rng, d, (5, 7), scale=3.0), act, fast)
                                   for act in (TANH, SIGMOID, RELU) for fast in (False, True)],
    "act_grad_inplace": lambda rng, d: [
        (np.tanh(_arrays(rng, d, (5, 7))[0]), *_arrays(rng, d, (5, 7)), act)
        for act in (TANH, SIGMOID, RELU)],
    "matmul": lambda rng, d: [tuple(_arrays(rng, d, (m, k), (k, n)))
                              for m, k, n in [(1, 5, 3), (4, 7, 6), (3, 1, 2)]],
    "rnn_sequence": lambda rng, d: [(*_rnn_state(rng, d, act), act, fast)
                                    for act in (TANH, RELU) for fast in (False, True)],
    "rnn_layer_forward": lambda rng, d: [
        (*_arrays(rng, d, (6, 3, 7), (3, 5), (5, 12), scale=0.5),
         _arrays(rng, d, (5,))[0] if bias else np.empty(0, d), act, fast)
        for act in (TANH, RELU) for bias in (True, False) for fast in (False, True)],
    "rnn_sequence_backward": lambda rng, d: [
        (*_arrays(rng, d, (5, 3, 4)), np.tanh(_arrays(rng, d, (5, 3, 4))[0]),
         *_arrays(rng, d, (4, 4), scale=0.5), act) for act in (TANH, RELU)],
    "lstm_gates_into": lambda rng, d: [
        (*_arrays(rng, d, (3, 16), (3, 16), (3, 4), scale=2.0), *(np.zeros(s, d) for s in
                                                                  [(3, 16), (3, 4), (3, 4),
                                                                   (3, 4)]),
         fast) for fast in (False, True)],
    "lstm_gates_backward_into": lambda rng, d: [
        (*_arrays(rng, d, (3, 4), (3, 4), (3, 4)), _gates(rng, d, 3, 4),
         np.tanh(_arrays(rng, d, (3, 4))[0]), *_arrays(rng, d, (3, 4)),
         np.zeros((3, 16), d), np.zeros((3, 4), d))],
    "lstm_sequence": lambda rng, d: [
        (*_arrays(rng, d, (5, 2, 16), (2, 4), (2, 4)), *_arrays(rng, d, (4, 16), scale=0.5),
         fast) for fast in (False, True)],
    "lstm_sequence_backward": lambda rng, d: [
        (*_arrays(rng, d, (5, 2, 4), (2, 4), (5, 2, 4)), np.tanh(_arrays(rng, d, (5, 2, 4))[0]),
         _gates(rng, d, 2, 4, steps=5), *_arrays(rng, d, (2, 4)),
         *_arrays(rng, d, (16, 4), scale=0.5))],
    "gru_reset_into": lambda rng, d: [
        (*_arrays(rng, d, (3, 12), (3, 12), (3, 4), (4,), scale=2.0), np.zeros((3, 12), d),
         np.zeros((3, 4), d), reset_after, fast)
        for reset_after in (True, False) for fast in (False, True)],
    "gru_update_into": lambda rng, d: [
        (*_arrays(rng, d, (3, 12), (3, 12), (3, 4), scale=2.0), _gru_gates(rng, d, 3, 4),
         *_arrays(rng, d, (3, 4)), np.zeros((3, 4), d), reset_after, fast)
        for reset_after in (True, False) for fast in (False, True)],
    "gru_update_backward_into": lambda rng, d: [
        (*_arrays(rng, d, (3, 4), (3, 4)), _gru_gates(rng, d, 3, 4), *_arrays(rng, d, (3, 4)),
         np.zeros((3, 12), d), np.zeros((3, 12), d), reset_after)
        for reset_after in (True, False)],
    "gru_reset_backward_into": lambda rng, d: [
        (*_arrays(rng, d, (3, 4), (3, 4), (3, 4)), _gru_gates(rng, d, 3, 4),
         *_arrays(rng, d, (3, 12), (3, 12)), np.zeros((3, 4), d), reset_after)
        for reset_after in (True, False)],
    "gru_sequence": lambda rng, d: [
        (*_arrays(rng, d, (5, 2, 12), (2, 4)), *_arrays(rng, d, (4, 12), (4,), scale=0.5),
         reset_after, fast) for reset_after in (True, False) for fast in (False, True)],
    "gru_sequence_backward": lambda rng, d: [
        (*_arrays(rng, d, (5, 2, 4)), np.tanh(_arrays(rng, d, (5, 2, 4))[0]),
         *_arrays(rng, d, (2, 4)), _gru_gates(rng, d, 2, 4, steps=5), *_arrays(rng, d, (5, 2, 4)),
         *_arrays(rng, d, (12, 4), scale=0.5), reset_after) for reset_after in (True, False)],
    "cross_entropy_forward": lambda rng, d: [
        (_arrays(rng, d, (7, 5), scale=4.0)[0] + np.array([[1e4]] + [[0]] * 6, d),
         rng.integers(0, 5, size=7), np.zeros((7, 5), d), fast) for fast in (False, True)] + [
        (_arrays(rng, d, (3, 5))[0], np.array([0, 5, 1]), np.zeros((3, 5), d), False)],  # bad 1
    "cross_entropy_backward": lambda rng, d: [
        (rng.dirichlet(np.ones(5), size=7).astype(d), rng.integers(0, 5, size=7), 0.5,
         np.zeros((7, 5), d))],
    "log_softmax_forward": lambda rng, d: [
        (_arrays(rng, d, (7, 5), scale=4.0)[0] + np.array([[1e4]] + [[0]] * 6, d),
         np.zeros((7, 5), d), np.zeros((7, 5), d), fast) for fast in (False, True)],
    "log_softmax_backward": lambda rng, d: [
        (rng.dirichlet(np.ones(5), size=7).astype(d), *_arrays(rng, d, (7, 5)),
         np.zeros((7, 5), d))],
    "sum_squares": lambda rng, d: [(_arrays(rng, d, (n,), scale=3.0)[0],) for n in (0, 1, 7, 40)],
    "adam_update": lambda rng, d: [
        (*_arrays(rng, d, (40,), (40,), (40,)), rng.random(40).astype(d) * 0.1,
         np.array([0.1, 0.999, 0.001, 0.01 / (1 - 0.9 ** 3), np.sqrt(1 - 0.999 ** 3), 1e-8],
                  dtype=d))],
    "scatter_add_rows": lambda rng, d: [
        (*_arrays(rng, d, (5, 3)), np.array([4, 0, 4, 2, 4]), *_arrays(rng, d, (5, 3))),
        (np.zeros((3, 1), d), np.array([], dtype=np.int64), np.zeros((0, 1), d))],
    "erf": lambda rng, d: [(_arrays(rng, d, (50,), scale=3.0)[0],), (np.zeros(0, d),)],
    "word_sums": lambda rng, d: [(rng.integers(0, 2**40, size=n).astype(np.uint64),)
                                 for n in (0, 1, 37)],  # small words: the sums do not wrap
}
BIT_FOR_BIT = {"adam_update"}  # the kernel does the twin's float operations in the same order


def _copy(args):
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


def _flat(result):
    if result is None:
        return []
    return list(result) if isinstance(result, tuple) else [result]


def test_every_kernel_has_a_twin_and_a_case():
    names = [k.__name__ for k in kernels.KERNELS]
    assert len(names) == len(set(names))
    assert set(names) == set(CASES), "add a case for every kernel (and only for kernels)"
    for k in kernels.KERNELS:
        assert callable(k.twin), f"{k.__name__} has no NumPy twin"
        assert k.twin.__name__ == k.__name__  # side by side, the same name


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", kernels.KERNELS, ids=lambda k: k.__name__)
def test_compiled_kernel_equals_its_twin(rng, kernel, dtype):
    """Return values and every array the kernel writes into, compiled vs NumPy twin (the twin
    runs with the numpy backend, so whatever it calls is NumPy too)."""
    for args in CASES[kernel.__name__](rng, dtype):
        params = list(inspect.signature(kernel.py_func).parameters)
        fast = "fast" in params and args[params.index("fast")] is True
        tol = FAST_TOL if fast else TOL[dtype]
        got_args, want_args = _copy(args), _copy(args)
        got = _flat(kernel.compiled(*got_args))
        previous = kernels.get_backend()
        kernels.set_backend("numpy")
        try:
            want = _flat(kernel(*want_args))  # the dispatch picks the twin
        finally:
            kernels.set_backend(previous)
        assert len(got) == len(want)
        for g in got:  # finite inputs: a NaN left in a result is an element never written
            assert not (isinstance(g, np.ndarray) and g.dtype.kind == "f" and np.isnan(g).any())
        for g, w in zip(got + list(got_args), want + list(want_args)):
            if not isinstance(w, np.ndarray):
                np.testing.assert_allclose(g, w, **TOL[dtype])
                continue
            assert g.shape == w.shape and g.dtype == w.dtype
            if w.dtype.kind == "f":
                assert w.dtype == dtype
            if kernel.__name__ in BIT_FOR_BIT:
                np.testing.assert_array_equal(g, w)
            else:
                np.testing.assert_allclose(g, w, **tol)


@pytest.mark.parametrize("n", [0, 1, 2, 5, 1000, 4099])
def test_word_sums_equal_their_twin_exactly_and_wrap_at_2_to_64(rng, n):
    """The engine compares a fingerprint taken by one version with one taken by the other (numba
    may come into use between a forward pass and its backward), so they must be equal to the
    bit, wrapping included; checked against Python integers."""
    from tinygrad_rnn.kernels.fingerprint import word_sums

    words = rng.integers(0, 2**64, size=n, dtype=np.uint64)  # big words: both sums wrap
    want = (sum(int(w) for w in words) % 2**64,
            sum((n - i) * int(w) for i, w in enumerate(words)) % 2**64)
    with np.errstate(over="ignore"):  # NUMBA_DISABLE_JIT: the kernel runs on NumPy scalars
        got = word_sums.compiled(words)
    assert tuple(int(v) for v in got) == want
    assert tuple(int(v) for v in word_sums.twin(words)) == want


def test_reusable_hands_out_an_array_again_only_once_nobody_holds_it():
    import weakref

    from tinygrad_rnn.kernels.core import reusable

    a = reusable("test", (3, 4), np.float32)
    first = weakref.ref(a)
    assert reusable("test", (3, 4), np.float32) is not a  # a is held
    del a
    b = reusable("test", (3, 4), np.float32)
    assert b is first()  # dropped: the same array again
    view = b[1:]
    del b
    assert reusable("test", (3, 4), np.float32) is not view.base  # a view holds it
    del view
    c = reusable("test", (2, 4), np.float64)  # another shape and dtype: a new array
    assert c.shape == (2, 4) and c.dtype == np.float64


def test_reusable_keeps_two_shapes_under_one_name():
    """Two layers of a stack whose rows differ in width ask for "rows" of two shapes in turn:
    each keeps its own array from step to step (before, each request replaced the other's
    array, so both were fresh, page-faulting arrays every step)."""
    import weakref

    from tinygrad_rnn.kernels.core import reusable

    shapes = ((6, 5), (6, 9))
    kept = [weakref.ref(reusable("test_two", shape, np.float32)) for shape in shapes]
    for _ in range(3):
        for shape, ref in zip(shapes, kept):
            assert reusable("test_two", shape, np.float32) is ref()


# ----- the twins against the formulas written out here -----------------------------------------
def test_lstm_gates_twin_follows_the_formulas(rng, numpy_backend):
    q, p = rng.standard_normal((2, 12)), rng.standard_normal((2, 12))
    c_prev = rng.standard_normal((2, 3))
    gates, c, tanh_c, h = (np.empty(s) for s in [(2, 12), (2, 3), (2, 3), (2, 3)])
    kernels.lstm.lstm_gates_into(q, p, c_prev, gates, c, tanh_c, h, False)
    z = q + p

    def sig(v):
        return 1 / (1 + np.exp(-v))

    i, f, g, o = sig(z[:, :3]), sig(z[:, 3:6]), np.tanh(z[:, 6:9]), sig(z[:, 9:])
    np.testing.assert_allclose(gates, np.concatenate([i, f, g, o], axis=1), rtol=1e-12)
    np.testing.assert_allclose(c, f * c_prev + i * g, rtol=1e-12)
    np.testing.assert_allclose(h, o * np.tanh(f * c_prev + i * g), rtol=1e-12)


@pytest.mark.parametrize("act", [TANH, RELU])
@pytest.mark.parametrize("dtype", DTYPES)
def test_rnn_layer_follows_the_definition(rng, act, dtype):
    """Both versions of `rnn_layer_forward` against h_t = act([x_t; h] W^T + b) in float64."""
    steps, batch, n_in, hidden = 6, 3, 7, 5
    x, h0 = _arrays(rng, dtype, (steps, batch, n_in), (batch, hidden))
    W, b = _arrays(rng, dtype, (hidden, n_in + hidden), (hidden,), scale=0.5)
    h, want = h0.astype(np.float64), []
    for t in range(steps):
        z = np.concatenate([x[t], h], axis=1) @ W.T.astype(np.float64) + b
        h = np.tanh(z) if act == TANH else np.maximum(z, 0.0)
        want.append(h)
    for version in (kernels.rnn.rnn_layer_forward.compiled, kernels.rnn.rnn_layer_forward.twin):
        np.testing.assert_allclose(version(x, h0, W, b, act, False), np.stack(want), **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_follows_the_definition(rng, dtype):
    logits = (rng.standard_normal((7, 5)) * 4).astype(dtype)
    logits[0] += 1e4  # shifted by the row maximum: no overflow
    target = rng.integers(0, 5, size=7)
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    want = -(z[np.arange(7), target] - np.log(np.exp(z).sum(axis=1))).sum()
    k = kernels.cross_entropy
    versions = [(k.cross_entropy_forward.compiled, False), (k.cross_entropy_forward.twin, False)]
    if dtype == np.float32:
        versions.append((k.cross_entropy_forward.compiled, True))  # exp_fast
    for forward, fast in versions:
        prob = np.empty_like(logits)
        loss, bad = forward(logits, target, prob, fast)
        assert bad == -1
        np.testing.assert_allclose(loss, want, rtol=1e-6 if dtype == np.float32 else 1e-13)
        for backward in (k.cross_entropy_backward.compiled, k.cross_entropy_backward.twin):
            want_d = (prob.astype(np.float64) - np.eye(5)[target]) * 0.5
            d = np.full_like(prob, np.nan)
            backward(prob, target, 0.5, d)
            np.testing.assert_allclose(d, want_d, **TOL[dtype])
        for bad_target, row in (([0, 1, 5, 0, 0, 0, -1], 2), ([0, 0, 0, 0, 0, 0, -1], 6)):
            assert forward(logits, np.array(bad_target), prob, fast)[1] == row


def test_fast_cross_entropy_matches_float64_over_a_wide_range(rng):
    """float32 with exp_fast: rows spanning 150 (softmax terms down to float32 underflow and
    below), large offsets, against the float64 definition."""
    logits = rng.uniform(-120, 30, size=(300, 65)).astype(np.float32)
    logits[::3] += 1e4
    target = rng.integers(0, 65, size=300)
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    want_prob = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    want = -(np.log(want_prob[np.arange(300), target])).sum()
    prob = np.empty_like(logits)
    loss, bad = kernels.cross_entropy.cross_entropy_forward.compiled(logits, target, prob, True)
    assert bad == -1
    np.testing.assert_allclose(loss, want, rtol=1e-6)
    np.testing.assert_allclose(prob, want_prob, rtol=1e-5, atol=1e-44)


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_softmax_follows_the_definition_over_a_wide_range(rng, dtype):
    """Both versions (and float32's exp_fast): rows spanning 150, offsets of 1e4, against the
    float64 definition; the backward against J^T g = g - softmax * sum(g)."""
    x = rng.uniform(-120, 30, size=(300, 65)).astype(dtype)
    x[::3] += 1e4
    g = rng.standard_normal((300, 65)).astype(dtype)
    z = x.astype(np.float64) - x.astype(np.float64).max(axis=1, keepdims=True)
    want = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    want_d = g - np.exp(want) * g.astype(np.float64).sum(axis=1, keepdims=True)
    k = kernels.cross_entropy
    for fast in (False, True) if dtype == np.float32 else (False,):
        for forward in (k.log_softmax_forward.compiled, k.log_softmax_forward.twin):
            y, prob = np.full_like(x, np.nan), np.full_like(x, np.nan)
            forward(x, y, prob, fast)
            # float32: |y| up to 150 is rounded to its own ulp (1e-5)
            np.testing.assert_allclose(y, want, rtol=1e-6 if dtype == np.float32 else 1e-13,
                                       atol=2e-5 if dtype == np.float32 else 1e-12)
            np.testing.assert_allclose(prob, np.exp(want), rtol=1e-5 if dtype == np.float32
                                       else 1e-12, atol=1e-44)
    for backward in (k.log_softmax_backward.compiled, k.log_softmax_backward.twin):
        d = np.full_like(x, np.nan)
        backward(np.exp(want).astype(dtype), g, d)
        np.testing.assert_allclose(d, want_d, rtol=1e-5 if dtype == np.float32 else 1e-12,
                                   atol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sum_squares_is_the_float64_sum_of_squares(rng, dtype):
    """float32 gradients summed in float64: 4099 values of very different sizes, no copy."""
    x = (rng.standard_normal(4099) * 10.0 ** rng.integers(-20, 20, size=4099)).astype(dtype)
    want = math.fsum(float(v) ** 2 for v in x)
    for version in (kernels.norms.sum_squares.compiled, kernels.norms.sum_squares.twin):
        np.testing.assert_allclose(version(x), want, rtol=1e-14)
        assert version(x[:0]) == 0.0


@pytest.mark.parametrize("version", ["compiled", "twin"])
def test_cross_entropy_forward_with_minus_inf_first_logit(version):
    """A row whose first logit is -inf: loss log(1 + e^-1) = 0.3133 (was NaN when compiled)."""
    forward = getattr(kernels.cross_entropy.cross_entropy_forward, version)
    for dtype in DTYPES:
        logits = np.array([[-np.inf, 1.0, 0.0]], dtype)
        prob = np.empty_like(logits)
        loss, bad = forward(logits, np.array([1]), prob, kernels.use_fast(np.dtype(dtype)))
        assert bad == -1
        np.testing.assert_allclose(loss, np.log1p(np.exp(-1.0)), rtol=1e-6)
        np.testing.assert_allclose(prob, [[0.0, 1 / (1 + np.exp(-1)), 1 / (1 + np.e)]],
                                   rtol=1e-6)


# ----- the activations: written once, fast versions over the whole range ----------------------
def test_activation_formulas_are_the_definitions():
    z = np.array([-800.0, -30.0, -1.0, 0.0, 1.0, 30.0, 800.0, np.inf, -np.inf])
    with np.errstate(over="ignore"):
        want = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(activations.sigmoid(z), want, rtol=1e-15, atol=0)
    y = np.tanh(z)
    np.testing.assert_array_equal(activations.tanh_grad(y), 1 - y * y)
    s = activations.sigmoid(z)
    np.testing.assert_array_equal(activations.sigmoid_grad(s), s * (1 - s))
    np.testing.assert_array_equal(activations.relu(z), np.maximum(z, 0))
    assert np.isnan(activations.sigmoid(np.array([np.nan]))[0])
    assert activations.sigmoid(np.float32(-3.0)).dtype == np.float32  # keeps float32


def _whole_float32_range() -> np.ndarray:
    """Every binade of float32 on both sides (40 values per binade), a dense grid over [-40, 40],
    zero, infinities and the largest finite values."""
    mags = np.geomspace(np.finfo(np.float32).smallest_subnormal, np.finfo(np.float32).max,
                        40 * 277, dtype=np.float64).astype(np.float32)
    dense = np.linspace(-40, 40, 160_001, dtype=np.float32)
    special = np.array([0.0, np.inf, -np.inf], np.float32)
    return np.concatenate([mags, -mags, dense, special])


def test_fast_sigmoid_is_exact_to_float32_rounding_everywhere():
    """The call-free sigmoid of the compiled float32 loops against float64 sigmoid, over every
    float32 magnitude: relative error within float32 rounding, so the tails keep their tiny
    values (sigmoid(-20) = 2e-9, sigmoid(-100) = 3.7e-44) instead of flooring at ~1e-8."""
    z = _whole_float32_range()
    got = z.reshape(1, -1).copy()
    kernels.activations.act_inplace.compiled(got, SIGMOID, True)
    with np.errstate(over="ignore"):
        exact = 1 / (1 + np.exp(-z.astype(np.float64)))
    err = np.abs(got[0].astype(np.float64) - exact)
    tiny = np.finfo(np.float32).smallest_subnormal
    assert np.all(err <= 6.2e-8 * exact + tiny), z[np.argmax(err - 6.2e-8 * exact)]
    assert got[0, np.argmin(np.abs(z + 20))] == pytest.approx(2.0612e-9, rel=1e-4)


def test_fast_tanh_error_is_float32_rounding_everywhere():
    z = _whole_float32_range()
    got = z.reshape(1, -1).copy()
    kernels.activations.act_inplace.compiled(got, TANH, True)
    exact = np.tanh(z.astype(np.float64))
    err = np.abs(got[0].astype(np.float64) - exact)
    assert np.all(err <= 6.2e-8 * np.abs(exact) + 5e-8)
    small = np.abs(z) < 1e-3  # relative error near 0: one float32 rounding
    assert np.all(err[small] <= 6.2e-8 * np.abs(exact[small]) + 1e-45)
    assert kernels.use_fast(np.dtype(np.float32)) and not kernels.use_fast(np.dtype(np.float64))


def test_nan_stays_nan_in_the_fast_activations():
    for act in (TANH, SIGMOID):
        z = np.array([[np.nan, 1.0]], np.float32)
        kernels.activations.act_inplace.compiled(z, act, True)
        assert np.isnan(z[0, 0]) and np.isfinite(z[0, 1])


# ----- mm and the backend switch -------------------------------------------------------------
def test_mm_uses_both_sides_of_the_crossover(rng, monkeypatch):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    for crossover in (0, 10**9):  # BLAS, then the loop kernel
        monkeypatch.setattr(kernels.matmul, "CROSSOVER", crossover)
        np.testing.assert_allclose(kernels.mm(a, b), a @ b, rtol=1e-12, atol=1e-12)
        out = np.full((3, 5), np.nan)
        assert kernels.mm(a, b.T.copy().T, out=out) is out  # a strided operand, into `out`
        np.testing.assert_allclose(out, a @ b, rtol=1e-12, atol=1e-12)
    half = a.astype(np.float16), b.astype(np.float16)  # not a compiled dtype: BLAS/NumPy
    assert kernels.mm(*half).dtype == np.float16


def test_set_backend_switches_and_rejects_unknown_names():
    previous = tg.get_backend()
    try:
        tg.set_backend("numpy")
        assert tg.get_backend() == "numpy"
        z = np.array([[0.5, -2.0]])
        kernels.activations.act_inplace(z, TANH, False)  # runs the twin: no numba needed
        np.testing.assert_allclose(z, np.tanh([[0.5, -2.0]]), rtol=1e-15)
        tg.set_backend("numba")
        assert tg.get_backend() == "numba"
        with pytest.raises(ValueError, match="backend must be one of"):
            tg.set_backend("cuda")
        assert tg.get_backend() == "numba"
    finally:
        tg.set_backend(previous)


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


def test_environment_variable_chooses_the_backend():
    done = _run("import tinygrad_rnn as tg; print(tg.get_backend())",
                TINYGRAD_RNN_BACKEND="numpy")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "numpy"
    bad = _run("import tinygrad_rnn", TINYGRAD_RNN_BACKEND="fortran")
    assert bad.returncode != 0 and "TINYGRAD_RNN_BACKEND" in bad.stderr


def test_import_does_not_import_numba():
    done = _run("import sys, tinygrad_rnn; print('numba' in sys.modules)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_kernels_are_cached_under_a_digest_of_the_package_sources(tmp_path):
    """numba's cache checks only the file a kernel is written in; each kernel is cached under a
    name carrying a digest of the kernels package's sources, which changes when any file does
    (otherwise an edited formula in activations.py would leave the kernels that inline it
    running their stale cached code)."""
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("y = 2\n")
    before = core.sources_digest(str(tmp_path))
    (tmp_path / "b.py").write_text("y = 3\n")
    core.sources_digest.cache_clear()
    assert core.sources_digest(str(tmp_path)) != before
    compiled = kernels.matmul.matmul.compiled
    func = getattr(compiled, "py_func", compiled)  # NUMBA_DISABLE_JIT: the function itself
    digest = core.sources_digest(os.path.dirname(core.__file__))
    assert func.__qualname__ == f"matmul_{digest}"


def test_small_one_pass_kernels_run_their_twin_until_numba_is_in_use():
    """core.by_size: below SMALL elements the Adam update and the cross-entropy run their NumPy
    twin in a process that has compiled or loaded no kernel (so examples/hello.py never imports
    numba), and the kernel itself at every size once one has been; always the twin under
    NUMBA_DISABLE_JIT, where the "compiled" kernel is a Python loop."""
    code = ("import sys, numpy as np; from tinygrad_rnn.kernels import core, adam; "
            "k = adam.adam_update; "
            "print(core.by_size(k, core.SMALL - 1) is k.twin, core.by_size(k, core.SMALL) is k, "
            "'numba' in sys.modules); "
            "core.KERNELS[0].compiled; "
            "print(core.by_size(k, 10) is k, 'numba' in sys.modules)")
    done = _run(code)
    assert done.returncode == 0, done.stderr
    jit = str(os.environ.get("NUMBA_DISABLE_JIT", "0") in ("", "0"))
    assert done.stdout.split() == ["True", jit, "False", jit, "True"]


def test_the_engine_s_fingerprints_never_import_numba():
    """A per-op program (no kernel of its own) whose saved weight is big (10,000 words, above
    SMALL) fingerprints it with the NumPy twin: importing numba would cost its start-up."""
    code = ("import sys, numpy as np, tinygrad_rnn as tg; "
            "w = tg.Tensor(np.ones((100, 100)), requires_grad=True); "
            "(tg.Tensor(np.ones((3, 100))) @ w).tanh().sum().backward(); "
            "print(w.grad.shape, 'numba' in sys.modules)")
    done = _run(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["(100,", "100)", "False"]


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="nothing compiles")
def test_first_compile_prints_one_line_and_a_warm_cache_nothing():
    """An empty cache: one line on stderr before compiling (and nothing on stdout); the same
    cache again: silent. Only the kernel the run calls is compiled."""
    code = ("import numpy as np; from tinygrad_rnn.kernels import matmul; "
            "print(matmul.matmul.compiled(np.ones((2, 3)), np.ones((3, 4))).sum())")
    with tempfile.TemporaryDirectory() as cache:
        cold = _run(code, NUMBA_CACHE_DIR=cache)
        assert cold.returncode == 0, cold.stderr
        assert cold.stdout.strip() == "24.0"
        assert cold.stderr.count(core.compile_notice()) == 1
        assert cold.stderr.strip() == core.compile_notice()
        files = [f for _, _, names in os.walk(cache) for f in names]
        warm = _run(code, NUMBA_CACHE_DIR=cache)
        assert warm.returncode == 0 and warm.stderr == ""
    assert files and all("matmul" in f for f in files)  # nothing else was compiled


@pytest.mark.parametrize("env", [{"NUMBA_DISABLE_JIT": "1"}, {"TINYGRAD_RNN_BACKEND": "numpy"}],
                         ids=["numba-disable-jit", "numpy-backend"])
def test_kernel_and_fused_tests_pass_in_other_modes(env):
    """The kernel and fused tests again, in a subprocess, with the JIT off / the NumPy backend."""
    if os.environ.get("TINYGRAD_RNN_NESTED"):
        pytest.skip("already inside the subprocess run")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
         "tests/test_kernels.py", "tests/test_fused.py"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, **env, "TINYGRAD_RNN_NESTED": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.mark.parametrize("shapes", [((400, 1), (1, 165)), ((2, 3, 1), (1, 4)),
                                    ((5, 1), (3, 1, 4)), ((3, 4), (4, 5)), ((4,), (4, 5)),
                                    ((3, 1), (1,))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_product_equals_matmul_exactly(rng, shapes, dtype):
    """kernels.matmul.product: a column times a row is a broadcast multiply (NumPy's matmul
    runs a slow non-BLAS loop there); every other product is np.matmul. Same values, shape and
    dtype, with and without out=."""
    from tinygrad_rnn.kernels.matmul import product

    a, b = ((rng.standard_normal(s) * 10).astype(dtype) for s in shapes)
    want = np.matmul(a, b)
    got = product(a, b)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    out = np.empty_like(want)
    assert product(a, b, out=out) is out
    np.testing.assert_array_equal(out, want)
