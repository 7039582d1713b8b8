"""Numba kernels against their NumPy twins (float32 and float64), the backend switch, lazy import.

The twins are the readable NumPy formulas; the fused Functions built on both are checked against
the per-op engine path and finite differences in test_fused.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import kernels

ROOT = Path(__file__).resolve().parent.parent
DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}
FAST_TOL = dict(rtol=1e-6, atol=1e-6)  # the call-free tanh/sigmoid against the library ones


@pytest.fixture
def nb():
    """The compiled kernels (or their Python bodies when NUMBA_DISABLE_JIT=1)."""
    previous = kernels.get_backend()
    kernels.set_backend("numba")
    yield kernels.ops()
    kernels.set_backend(previous)


def _close(got, want, dtype, tol=None) -> None:
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype == dtype
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, **(tol or TOL[dtype]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", [kernels.TANH, kernels.SIGMOID, kernels.RELU])
@pytest.mark.parametrize("rows_b", [1, 5])
@pytest.mark.parametrize("fast", [False, True])
def test_add_act_and_backward_match_numpy(nb, rng, dtype, act, rows_b, fast):
    a = (rng.standard_normal((5, 7)) * 3).astype(dtype)
    b = rng.standard_normal((rows_b, 7)).astype(dtype)
    y = nb.add_act(a, b, act, fast)
    _close(y, kernels.add_act_np(a, b, act), dtype, FAST_TOL if fast else None)
    g = rng.standard_normal((5, 7)).astype(dtype)
    _close(nb.act_backward(y, g, act), kernels.act_backward_np(y, g, act), dtype)
    g_nb, g_np = g.copy(), g.copy()
    nb.act_grad_inplace(y, g_nb, act)
    kernels.act_grad_inplace_np(y, g_np, act)
    _close(g_nb, g_np, dtype)
    z, z_np = a + b, a + b
    nb.act_inplace(z, act, fast)
    kernels.act_inplace_np(z_np, act)
    _close(z, z_np, dtype, FAST_TOL if fast else None)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fast", [False, True])
def test_sigmoid_kernel_does_not_overflow(nb, dtype, fast):
    a = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0]], dtype=dtype)
    y = nb.add_act(a, np.zeros((1, 5), dtype), kernels.SIGMOID, fast)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y[0, [0, 2, 4]], [0.0, 0.5, 1.0], atol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fast_tanh_error_is_float32_rounding(nb, dtype):
    """The call-free tanh over a dense grid, including the clamped tails, within 5e-8."""
    x = np.linspace(-30, 30, 200_001).astype(dtype).reshape(1, -1)
    zero = np.zeros((1, x.shape[1]), dtype)
    exact = np.tanh(x.astype(np.float64))
    got = nb.add_act(x, zero, kernels.TANH, True).astype(np.float64)
    assert np.abs(got - exact).max() < (5e-8 if dtype == np.float64 else 1.2e-7)
    assert kernels.use_fast(np.dtype(np.float32)) and not kernels.use_fast(np.dtype(np.float64))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m, k, n", [(1, 5, 3), (4, 7, 6), (3, 1, 2)])
def test_matmul_matches_numpy(nb, rng, dtype, m, k, n):
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    _close(nb.matmul(a, b), kernels.matmul_np(a, b), dtype)


def test_mm_uses_both_sides_of_the_crossover(rng, monkeypatch):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    for crossover in (0, 10**9):  # BLAS, then the loop kernel
        monkeypatch.setattr(kernels, "MATMUL_CROSSOVER", crossover)
        np.testing.assert_allclose(kernels.mm(a, b), a @ b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lstm_gates_match_numpy(nb, rng, dtype):
    z = (rng.standard_normal((3, 16)) * 2).astype(dtype)
    c_prev = rng.standard_normal((3, 4)).astype(dtype)
    out = nb.lstm_gates(z, c_prev, False)
    _close(out, kernels.lstm_gates_np(z, c_prev), dtype)
    _close(nb.lstm_gates(z, c_prev, True), out, dtype, FAST_TOL)
    gates, c, tanh_c, h = out
    dh, dc = rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal((3, 4)).astype(dtype)
    _close(nb.lstm_gates_backward(dh, dc, gates, tanh_c, c_prev),
           kernels.lstm_gates_backward_np(dh, dc, gates, tanh_c, c_prev), dtype)


def test_lstm_gates_twin_follows_the_formulas(rng):
    """The NumPy twin itself against the LSTM equations written out here."""
    z = rng.standard_normal((2, 12))
    c_prev = rng.standard_normal((2, 3))
    gates, c, tanh_c, h = kernels.lstm_gates_np(z, c_prev)

    def sig(v):
        return 1 / (1 + np.exp(-v))

    i, f, g, o = sig(z[:, :3]), sig(z[:, 3:6]), np.tanh(z[:, 6:9]), sig(z[:, 9:])
    np.testing.assert_allclose(gates, np.concatenate([i, f, g, o], axis=1), rtol=1e-12)
    np.testing.assert_allclose(c, f * c_prev + i * g, rtol=1e-12)
    np.testing.assert_allclose(h, o * np.tanh(f * c_prev + i * g), rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", [kernels.TANH, kernels.RELU])
@pytest.mark.parametrize("bias", [True, False])
def test_rnn_layer_and_backward_match_numpy(nb, rng, dtype, act, bias):
    steps, batch, n_in, hidden = 6, 3, 7, 5
    x = rng.standard_normal((steps, batch, n_in)).astype(dtype)
    h0 = rng.standard_normal((batch, hidden)).astype(dtype)
    W = (rng.standard_normal((hidden, n_in + hidden)) * 0.5).astype(dtype)
    b = rng.standard_normal(hidden).astype(dtype) if bias else np.empty(0, dtype)
    hs = nb.rnn_layer_forward(x, h0, W, b, act, False)
    _close(hs, kernels.rnn_layer_forward_np(x, h0, W, b, act), dtype)
    _close(nb.rnn_layer_forward(x, h0, W, b, act, True), hs, dtype, FAST_TOL)
    # the definition, step by step in float64
    h, want = h0.astype(np.float64), []
    for t in range(steps):
        z = np.concatenate([x[t], h], axis=1) @ W.T.astype(np.float64) + (b if bias else 0.0)
        h = np.tanh(z) if act == kernels.TANH else np.maximum(z, 0.0)
        want.append(h)
    np.testing.assert_allclose(hs, np.stack(want), **TOL[dtype])
    w_hh = np.ascontiguousarray(W[:, n_in:])
    g = rng.standard_normal(hs.shape).astype(dtype)
    _close(nb.rnn_sequence_backward(g, hs, w_hh, act),
           kernels.rnn_sequence_backward_np(g, hs, w_hh, act), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lstm_sequence_and_backward_match_numpy(nb, rng, dtype):
    steps, batch, hidden = 5, 2, 4
    p = rng.standard_normal((steps, batch, 4 * hidden)).astype(dtype)
    h0, c0 = (rng.standard_normal((batch, hidden)).astype(dtype) for _ in range(2))
    w_hh = (rng.standard_normal((4 * hidden, hidden)) * 0.5).astype(dtype)
    w_hh_t = np.ascontiguousarray(w_hh.T)
    out = nb.lstm_sequence(p, h0, c0, w_hh_t, False)
    _close(out, kernels.lstm_sequence_np(p, h0, c0, w_hh_t), dtype)
    _close(nb.lstm_sequence(p, h0, c0, w_hh_t, True), out, dtype, FAST_TOL)
    hs, cs, tanh_cs, gates = out
    g_h = rng.standard_normal(hs.shape).astype(dtype)
    g_c = rng.standard_normal(h0.shape).astype(dtype)
    _close(nb.lstm_sequence_backward(g_h, g_c, cs, tanh_cs, gates, c0, w_hh),
           kernels.lstm_sequence_backward_np(g_h, g_c, cs, tanh_cs, gates, c0, w_hh), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_forward_and_backward_match_numpy(nb, rng, dtype):
    logits = (rng.standard_normal((7, 5)) * 4).astype(dtype)
    logits[0] += 1e4  # shifted by the row maximum: no overflow
    target = rng.integers(0, 5, size=7)
    prob_nb, prob_np = np.empty_like(logits), np.empty_like(logits)
    loss_nb, bad_nb = nb.cross_entropy_forward(logits, target, prob_nb)
    loss_np, bad_np = kernels.cross_entropy_forward_np(logits, target, prob_np)
    assert bad_nb == bad_np == -1
    _close(prob_nb, prob_np, dtype)
    np.testing.assert_allclose(loss_nb, loss_np, **TOL[dtype])
    # the definition, in float64: sum of -log softmax at the targets
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    want = -(z[np.arange(7), target] - np.log(np.exp(z).sum(axis=1))).sum()
    np.testing.assert_allclose(loss_nb, want, rtol=1e-6 if dtype == np.float32 else 1e-13)
    d = nb.cross_entropy_backward(prob_nb, target, 0.5)
    _close(d, kernels.cross_entropy_backward_np(prob_np, target, 0.5), dtype)
    want_d = (prob_np.astype(np.float64) - np.eye(5)[target]) * 0.5
    np.testing.assert_allclose(d, want_d, **TOL[dtype])
    for bad_target, row in (([0, 1, 5, 0, 0, 0, -1], 2), ([0, 0, 0, 0, 0, 0, -1], 6)):
        assert nb.cross_entropy_forward(logits, np.array(bad_target), prob_nb)[1] == row
        assert kernels.cross_entropy_forward_np(logits, np.array(bad_target), prob_np)[1] == row


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_update_equals_numpy_bit_for_bit(nb, rng, dtype):
    """The one-pass kernel does the twin's float operations in the same order and dtype."""
    n = 1000
    p, g = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    m, v = (rng.standard_normal(n) * 0.1).astype(dtype), (rng.random(n) * 0.1).astype(dtype)
    coef = np.array([0.1, 0.999, 0.001, 0.01 / (1 - 0.9 ** 3), np.sqrt(1 - 0.999 ** 3), 1e-8],
                    dtype=dtype)
    a = [x.copy() for x in (p, g, m, v)]
    b = [x.copy() for x in (p, g, m, v)]
    nb.adam_update(*a, coef)
    kernels.adam_update_np(*b, coef)
    for got, want in zip(a, b):
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(a[0], p)  # it did update


def test_every_kernel_has_a_numpy_twin():
    for name in kernels.KERNEL_NAMES:
        assert callable(getattr(kernels, name + "_np")), name
        assert hasattr(kernels.ops(), name)


def test_set_backend_switches_and_rejects_unknown_names():
    previous = tg.get_backend()
    try:
        tg.set_backend("numpy")
        assert tg.get_backend() == "numpy"
        assert kernels.ops().add_act is kernels.add_act_np
        tg.set_backend("numba")
        assert tg.get_backend() == "numba"
        with pytest.raises(ValueError, match="backend must be one of"):
            tg.set_backend("cuda")
        assert tg.get_backend() == "numba"
    finally:
        tg.set_backend(previous)


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


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


@pytest.mark.parametrize("env", [{"NUMBA_DISABLE_JIT": "1"}, {"TINYGRAD_RNN_BACKEND": "numpy"}],
                         ids=["numba-disable-jit", "numpy-backend"])
def test_kernel_and_fused_tests_pass_in_other_modes(env):
    """The kernel and fused tests again, in a subprocess, with the JIT off / the NumPy backend."""
    if os.environ.get("TINYGRAD_RNN_NESTED"):
        pytest.skip("already inside the subprocess run")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
         "tests/test_kernels.py", "tests/test_fused.py"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, **env, "TINYGRAD_RNN_NESTED": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
