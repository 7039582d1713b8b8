"""The engine itself: Tensor construction and dtypes, the recorded graph, reverse mode and its
memory rules, no_grad / detach / annotate, anomaly mode, gradcheck and the Function protocol."""

from __future__ import annotations

import gc
import re
import subprocess
import sys
import textwrap
import weakref

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, no_grad
from tinygrad_rnn.function import Function


# ----- construction and dtypes ---------------------------------------------------------------
def test_float_input_defaults_to_float32_and_float64_arrays_are_kept():
    assert Tensor([1.0, 2.0]).dtype == np.float32
    assert Tensor(3.5).dtype == np.float32
    assert Tensor([[1, 2.5]]).dtype == np.float32
    assert Tensor(np.ones(3, dtype=np.float16)).dtype == np.float32
    assert Tensor(np.ones(3)).dtype == np.float64
    assert Tensor(np.float64(2.0)).dtype == np.float64
    assert Tensor(np.ones(3, dtype=np.float32)).dtype == np.float32
    assert Tensor([1.0], dtype=np.float64).dtype == np.float64
    assert Tensor(Tensor(np.ones(2))).dtype == np.float64


def test_integer_tensors_hold_ints_but_cannot_require_grad():
    t = tg.tensor([1, 2, 3])
    assert t.dtype == np.int64 and not t.requires_grad
    assert Tensor([1, 2, 3]).dtype == np.float32  # the legacy constructor: always float
    with pytest.raises(TypeError, match="floating-point.*int64"):
        Tensor([1, 2, 3], dtype=np.int64, requires_grad=True)
    with pytest.raises(TypeError, match="floating-point"):
        tg.tensor([True, False], requires_grad=True)
    with pytest.raises(TypeError, match="dtype"):
        Tensor(np.array(["a", "b"]))


def test_attributes():
    t = Tensor(np.zeros((2, 3)), requires_grad=True, name="W_xh")
    assert t.shape == (2, 3) and t.ndim == 2 and t.numel() == 6 and len(t) == 2
    assert t.size() == (2, 3) and t.size(-1) == 3 and t.dim() == 2
    assert t.name == "W_xh" and t.requires_grad and t.grad is None
    assert t.is_leaf and t.op is None and t.parents == ()
    assert isinstance(t.data, np.ndarray)
    assert t.numpy() is t.data
    assert Tensor([[4.0]]).item() == 4.0 and isinstance(Tensor([[4.0]]).item(), float)
    with pytest.raises(ValueError, match=r"item.*\(2, 3\).*6 elements"):
        t.item()
    with pytest.raises(TypeError, match="0-d"):
        len(Tensor(1.0))


def test_repr_shows_shape_dtype_op_and_requires_grad():
    x = Tensor(np.ones((2, 3)), requires_grad=True, name="x")
    r = repr(x.tanh())
    assert "shape=(2, 3)" in r and "dtype=float64" in r and "op=tanh" in r
    assert "requires_grad=True" in r
    assert "name='x'" in repr(x) and "op=" not in repr(x)
    assert "requires_grad=False" in repr(Tensor([1.0]))


def test_comparisons_return_boolean_tensors_outside_the_graph():
    a, b = Tensor([1.0, 2.0, 3.0], requires_grad=True), Tensor([2.0, 2.0, 2.0])
    for result, expected in [(a < b, [1, 0, 0]), (a <= b, [1, 1, 0]), (a > b, [0, 0, 1]),
                             (a >= b, [0, 1, 1]), (a == b, [0, 1, 0]), (a != b, [1, 0, 1]),
                             (a > 1.5, [0, 1, 1]), (a.data < b, [1, 0, 0])]:
        assert isinstance(result, Tensor) and result.dtype == bool and not result.requires_grad
        np.testing.assert_array_equal(result.data, np.array(expected, dtype=bool))
    assert (a == b).float().mean().item() == np.float32(1 / 3)  # the accuracy idiom
    assert (a == b).sum().item() == 1 and (a > 0).all().item() and not (a > 5).any().item()
    np.testing.assert_array_equal(np.where(a > 1.5, 1, 0), [0, 1, 1])  # masks work in NumPy
    assert np.asarray(a) is a.data and np.array(a, copy=True) is not a.data
    np.testing.assert_array_equal(a[a > 1.5].data, [2.0, 3.0])
    assert len({a, b, a}) == 2  # still hashable, by identity


# ----- the recorded graph --------------------------------------------------------------------
def test_ops_record_their_name_and_parents_in_order():
    a = Tensor([1.0], requires_grad=True)
    b = Tensor([2.0], requires_grad=True)
    y = a * b
    assert y.op == "mul" and y.parents == (a, b) and not y.is_leaf and y.requires_grad
    z = b * a
    assert z.parents == (b, a)
    s = (a - b).tanh()
    assert s.op == "tanh" and s.parents[0].op == "sub" and s.parents[0].parents == (a, b)
    c = Tensor([1.0])  # no grad needed: nothing is recorded
    assert (c * 2.0).op is None and not (c * 2.0).requires_grad


def test_subtraction_is_one_node_with_gradients_one_and_minus_one():
    a = Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    b = Tensor(np.array([1.0, 2.0, 3.0, 4.0]), requires_grad=True)  # broadcast over rows
    d = a - b
    r = 2.0 - b  # a constant on the left: still one node
    assert d.op == "sub" and d.parents == (a, b) and r.op == "sub" and r.parents[1] is b
    np.testing.assert_array_equal(d.data, np.arange(12.0).reshape(3, 4) - [1, 2, 3, 4])
    np.testing.assert_array_equal(r.data, [1.0, 0.0, -1.0, -2.0])
    (d.sum() + (r * r).sum()).backward()
    np.testing.assert_array_equal(a.grad, np.ones((3, 4)))
    np.testing.assert_array_equal(b.grad, -3.0 - 2 * np.array([1.0, 0.0, -1.0, -2.0]))


def test_annotate_tags_op_results_and_nests():
    x = Tensor([1.0], requires_grad=True)
    with tg.annotate(step=3):
        a = x * 2.0
        with tg.annotate(layer=1):
            b = a.tanh()
        c = b + 1.0
    d = c * 1.0
    assert a.tags == {"step": 3} and c.tags == {"step": 3}
    assert b.tags == {"step": 3, "layer": 1}
    assert d.tags is None and x.tags is None


# ----- reverse mode ------------------------------------------------------------------------
def test_leaf_grads_accumulate_and_zero_grad_forgets():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 3.0 + 2 * x.data)
    x.zero_grad()
    assert x.grad is None


def test_intermediate_grads_are_not_kept_unless_asked():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    h = x * 2.0
    y = h.tanh()
    loss = y.sum()
    loss.backward()
    assert h.grad is None and y.grad is None and loss.grad is None
    assert x.grad is not None
    x2 = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    h2 = x2 * 2.0
    y2 = h2.tanh()
    y2.sum().backward(retain_grad=True)
    np.testing.assert_allclose(y2.grad, [1.0, 1.0])
    np.testing.assert_allclose(h2.grad, 1 - np.tanh(h2.data) ** 2)  # backprop through tanh
    np.testing.assert_allclose(x2.grad, 2 * h2.grad)


def test_second_backward_raises_mentioning_retain_graph():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph") as e:
        loss.backward()
    assert "second time" in str(e.value)


def test_retain_graph_allows_a_second_backward_and_grads_accumulate():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (x * x).tanh().sum()
    loss.backward(retain_graph=True)
    first = x.grad.copy()
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * first)


class _SavesAFreshArray(Function):
    """y = 2x, saving an array nothing else refers to (so its lifetime is the engine's)."""

    def forward(ctx, a):
        ctx.save_for_backward(np.full_like(a, 2.0))
        return a * 2.0

    def backward(ctx, g):
        (two,) = ctx.saved
        return (g * two,)


def test_saved_arrays_are_released_after_backward():
    x = Tensor(np.ones(3), requires_grad=True)
    y = _SavesAFreshArray.apply(x)
    saved = weakref.ref(y._ctx.saved[0])
    y.sum().backward()
    gc.collect()
    assert saved() is None
    np.testing.assert_array_equal(x.grad, [2, 2, 2])
    # max keeps an extra array (the keepdims maximum) that the output does not share
    z = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True).amax(dim=1)
    kept = weakref.ref(z._ctx.saved[1])
    z.sum().backward()
    assert kept() is None


def test_saved_arrays_survive_with_retain_graph():
    x = Tensor(np.ones(3), requires_grad=True)
    y = _SavesAFreshArray.apply(x)
    saved = weakref.ref(y._ctx.saved[0])
    y.sum().backward(retain_graph=True)
    gc.collect()
    assert saved() is not None


def test_non_scalar_root_needs_an_explicit_grad():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"grad must be given.*\(2, 3\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\)"):
        y.backward(np.ones(3))
    y.backward(np.arange(6.0).reshape(2, 3))
    np.testing.assert_allclose(x.grad, 2 * np.arange(6.0).reshape(2, 3))
    x2 = Tensor(np.ones(2), requires_grad=True)
    (x2 * 3.0).backward(Tensor([1.0, -1.0]))  # a Tensor works as the seed too
    np.testing.assert_allclose(x2.grad, [3.0, -3.0])
    one = Tensor(np.ones((1, 1)), requires_grad=True)
    (one * 5.0).backward()  # a single element counts as a scalar
    np.testing.assert_allclose(one.grad, [[5.0]])


def test_backward_of_a_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (Tensor([1.0]) * 2.0).sum().backward()


def test_backward_from_a_leaf():
    x = Tensor(np.array(3.0), requires_grad=True)
    x.backward()
    assert x.grad == 1.0


def test_leaf_grad_has_the_leaf_dtype_even_in_a_float64_graph():
    x = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    w = Tensor(np.full(3, 0.5))  # float64
    y = (x * w).sum()
    assert y.dtype == np.float64
    y.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, [0.5, 0.5, 0.5])


def test_grad_is_an_independent_writable_array():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    x.sum().backward()  # sum's backward hands out a read-only broadcast view
    x.grad[0, 0] = 7.0
    assert x.grad.flags.writeable and x.grad[0, 1] == 1.0


def test_unbroadcast_sums_back_to_the_input_shape():
    g = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(tg.unbroadcast(g, (2, 3, 4)), g)
    np.testing.assert_array_equal(tg.unbroadcast(g, (4,)), g.sum(axis=(0, 1)))
    np.testing.assert_array_equal(tg.unbroadcast(g, (3, 1)), g.sum(axis=(0, 2))[:, None])
    np.testing.assert_array_equal(tg.unbroadcast(g, (2, 1, 4)), g.sum(axis=1, keepdims=True))
    assert tg.unbroadcast(g, ()) == g.sum()


def test_a_100000_op_chain_backpropagates_and_is_freed():
    # in a child process: if freeing the chain recursed, it would take the interpreter down
    code = textwrap.dedent("""
        import gc, sys
        import numpy as np
        from tinygrad_rnn import Tensor
        x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
        c = Tensor(np.array(1.00001))
        y = x
        for _ in range(100_000):
            y = y * c
        y.sum().backward()
        expected = 1.00001 ** 100_000
        assert np.allclose(x.grad, expected, rtol=1e-9), x.grad
        del y
        gc.collect()
        alive = sum(isinstance(o, Tensor) for o in gc.get_objects())
        assert alive < 10, alive
        print("ok", sys.getrecursionlimit())
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("ok")


def test_live_tensors_do_not_grow_over_1000_iterations():
    rng = np.random.default_rng(0)
    W_xh = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    W_hh = Tensor(rng.standard_normal((4, 4)) * 0.5, requires_grad=True)
    xs = [Tensor(rng.standard_normal((2, 3))) for _ in range(3)]

    def step() -> None:
        h = Tensor(np.zeros((2, 4)))
        for x in xs:
            h = (x @ W_xh + h @ W_hh).tanh()
        (h * h).mean().backward()

    def live_tensors() -> int:
        return sum(isinstance(o, Tensor) for o in gc.get_objects())

    gc.collect()
    gc.disable()  # graphs must be freed by reference counting alone (no cycles)
    try:
        for _ in range(10):
            step()
        before = live_tensors()
        for _ in range(1000):
            step()
        after = live_tensors()
    finally:
        gc.enable()
    assert after == before


# ----- no_grad and detach ----------------------------------------------------------------------
def test_no_grad_records_nothing_and_restores():
    x = Tensor(np.ones(2), requires_grad=True)
    assert tg.is_grad_enabled()
    with no_grad():
        assert not tg.is_grad_enabled()
        y = (x * 2.0).tanh()
        with no_grad():
            pass
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()
    assert not y.requires_grad and y.op is None and y.parents == () and y._ctx is None
    with pytest.raises(RuntimeError):
        with no_grad():
            raise RuntimeError("boom")
    assert tg.is_grad_enabled()


def test_detach_cuts_the_graph_and_shares_data():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 3.0
    d = h.detach()
    assert d.is_leaf and not d.requires_grad and d.data is h.data
    y = (x * d).sum()
    y.backward()
    np.testing.assert_allclose(x.grad, d.data)  # no path through d


# ----- anomaly mode --------------------------------------------------------------------------
def test_detect_anomaly_raises_at_the_forward_op_that_makes_nan():
    x = Tensor(np.array([-1.0, 2.0]), requires_grad=True)
    h = x * 1.0
    with tg.detect_anomaly():
        with pytest.raises(FloatingPointError) as e, np.errstate(invalid="ignore"):
            h.log()  # the line the error must point at
    msg = str(e.value)
    assert "forward" in msg and "'log'" in msg and "NaN" in msg
    assert "test_engine.py" in msg and "h.log()" in msg


def test_detect_anomaly_raises_at_the_backward_op_that_makes_inf():
    x = Tensor(np.array([0.0, 4.0]), requires_grad=True)
    with tg.detect_anomaly():
        y = (x ** 0.5).sum()  # fine forward; d/dx at 0 is inf
        with pytest.raises(FloatingPointError) as e, np.errstate(divide="ignore"):
            y.backward()
    msg = str(e.value)
    assert "backward" in msg and "'pow'" in msg and "inf" in msg
    assert "test_engine.py" in msg and "x ** 0.5" in msg


def test_detect_anomaly_in_backward_of_a_graph_built_outside():
    x = Tensor(np.array([0.0]), requires_grad=True)
    y = (x ** 0.5).sum()
    with tg.detect_anomaly(), pytest.raises(FloatingPointError, match="'pow'"):
        with np.errstate(divide="ignore"):
            y.backward()


def test_without_anomaly_mode_nan_passes_silently():
    x = Tensor(np.array([-1.0]), requires_grad=True)
    with np.errstate(invalid="ignore"):
        assert np.isnan(x.log().data).all()
    with tg.detect_anomaly():
        pass
    with np.errstate(invalid="ignore"):
        assert np.isnan(x.log().data).all()  # the mode was switched off again


# ----- the Function protocol ---------------------------------------------------------------
class _Cube(Function):
    """y = x^3, a user-defined op written like the built-in ones."""

    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a ** 3

    def backward(ctx, g):
        (a,) = ctx.saved
        return (g * 3 * a ** 2,)  # d(x^3)/dx = 3x^2


class _Scale(Function):
    __slots__ = ("factor",)
    op = "scale_by"

    def forward(ctx, a, factor=1.0):
        ctx.factor = factor
        return a * factor

    def backward(ctx, g):
        return (g * ctx.factor,)


def test_a_custom_function_records_and_differentiates():
    x = Tensor(np.array([1.0, -2.0]), requires_grad=True, name="x")
    y = _Cube.apply(x)
    assert y.op == "_cube" and y.parents == (x,)
    z = _Scale.apply(y, factor=0.5)
    assert z.op == "scale_by"
    z.sum().backward()
    np.testing.assert_allclose(x.grad, 1.5 * x.data ** 2)
    assert tg.gradcheck(lambda t: _Scale.apply(_Cube.apply(t), factor=-2.0),
                        [Tensor(np.array([0.3, -1.1]), requires_grad=True)])


class _WrongShapeGrad(Function):
    def forward(ctx, a):
        return a.sum(axis=0)

    def backward(ctx, g):
        return (g,)  # wrong: should be broadcast back to the input's shape


def test_engine_checks_gradient_shapes_and_names_the_op():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"_wrongshapegrad.*\(3,\).*\(2, 3\)"):
        _WrongShapeGrad.apply(x).sum().backward()


# ----- gradcheck -------------------------------------------------------------------------------
class _BadSquare(Function):
    """x^2 with a deliberately wrong backward (the factor 2 is missing)."""

    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * a

    def backward(ctx, g):
        (a,) = ctx.saved
        return (g * a,)


def test_gradcheck_failure_names_input_worst_element_and_both_values():
    good = Tensor(np.array([0.5, 1.0]), requires_grad=True)
    bad = Tensor(np.array([[0.1, -3.0], [0.2, 0.3]]), requires_grad=True, name="h")
    with pytest.raises(tg.GradcheckError) as e:
        tg.gradcheck(lambda a, b: (a * 2.0).sum() + _BadSquare.apply(b).sum(), [good, bad])
    msg = str(e.value)
    assert "input 1" in msg and "'h'" in msg and "(2, 2)" in msg
    assert "worst element (0, 1)" in msg  # the entry with the largest |x| is the worst
    analytic, numeric = map(float, re.search(
        r"analytic gradient (\S+) but finite difference (\S+)", msg).groups())
    # the output is summed then multiplied by one random weight w: analytic w*x, true 2*w*x
    assert analytic * 2 == pytest.approx(numeric, rel=1e-6)
    assert abs(numeric) > 0


# gradcheck perturbs the real input, whatever its memory layout (issue 13, item 5)
_A = np.arange(12.0).reshape(3, 4) / 7 + 0.1
LAYOUTS = {
    "C": _A,
    "F (A.T)": _A.T,
    "strided": (np.arange(24.0).reshape(4, 6) / 5 + 0.1)[::2, 1::2],
    "negative strides": _A[::-1, ::-1],
    "broadcast (read-only)": np.broadcast_to(np.arange(4.0) + 0.5, (3, 4)),
    "0-d": np.array(0.7),
}


@pytest.mark.parametrize("arr", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_gradcheck_gives_the_same_verdict_for_every_memory_layout(arr):
    assert tg.gradcheck(lambda t: (t * t).sum(axis=0) if t.ndim else t * t,
                        [Tensor(arr, requires_grad=True)])
    with pytest.raises(tg.GradcheckError, match="input 0"):
        tg.gradcheck(_BadSquare.apply, [Tensor(arr, requires_grad=True)])
    assert np.array_equal(arr, LAYOUTS[next(k for k, v in LAYOUTS.items() if v is arr)])


def test_gradcheck_checks_a_layout_dependent_input_in_its_own_layout():
    seen = []

    def fn(t):
        seen.append(t.data.flags.f_contiguous and not t.data.flags.c_contiguous)
        return t * 2.0

    tg.gradcheck(fn, [Tensor(_A.T, requires_grad=True)])
    assert seen and all(seen)


def test_gradcheck_passes_float32_inputs_in_float64_and_leaves_them_alone():
    x = Tensor(np.array([0.2, 0.4], dtype=np.float32), requires_grad=True)
    assert tg.gradcheck(lambda t: (t * t).tanh(), [x])
    assert x.grad is None and x.dtype == np.float32


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="requires_grad"):
        tg.gradcheck(lambda t: t * 2.0, [Tensor(np.ones(2))])


def test_gradcheck_catches_a_subtly_wrong_gradient():
    # a gradient 0.2% too large, well above rtol=1e-4
    class Nearly(Function):
        def forward(ctx, a):
            return a * 3.0

        def backward(ctx, g):
            return (g * 3.0 * (1 + 2e-3),)

    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(tg.GradcheckError):
        tg.gradcheck(lambda t: Nearly.apply(t), [x], rtol=1e-4)


# ----- review regressions --------------------------------------------------------------------
def test_truth_value_is_the_value_for_one_element_and_an_error_otherwise():
    # without __bool__ Python fell back to len(): Tensor([0.0]) was True
    assert not Tensor([0.0]) and not Tensor(0.0) and Tensor([[2.0]])
    with pytest.raises(ValueError, match="ambiguous"):
        bool(Tensor([1.0, 2.0]))


def test_cat_and_stack_name_a_non_tensor_element():
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(TypeError, match=r"cat: tensors\[1\] is a ndarray"):
        tg.cat([a, np.ones((2, 3))])
    with pytest.raises(TypeError, match=r"stack: tensors\[0\] is a list"):
        tg.stack([[1.0, 2.0, 3.0], a])
    for join in (tg.cat, tg.stack):  # one Tensor is refused, not split into its rows
        with pytest.raises(TypeError, match="got one Tensor"):
            join(a)
    with pytest.raises(Exception, match="cat: axis 2 is out of bounds"):
        tg.cat([a, a], axis=2)


def test_backward_returning_the_wrong_number_of_gradients_names_the_op():
    class Forgets(Function):  # two inputs, one gradient: b would silently get none
        def forward(ctx, a, b):
            return a * b

        def backward(ctx, g):
            return (g,)

    class Bare(Function):  # an array instead of a 1-tuple
        def forward(ctx, a):
            return 2 * a

        def backward(ctx, g):
            return 2 * g

    a = Tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(RuntimeError, match="'forgets' returned 1 gradients for 2 inputs"):
        Forgets.apply(a, a).sum().backward()
    with pytest.raises(RuntimeError, match="'bare' returned a ndarray for 1 inputs"):
        Bare.apply(a).sum().backward()


def test_mean_of_an_empty_tensor_is_nan():
    assert np.isnan(Tensor(np.zeros((0, 3))).mean().item())
    assert np.isnan(Tensor(np.zeros((0, 3), np.float32)).mean(axis=0).data).all()


def test_iterating_gives_rows_and_a_0d_tensor_refuses():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    rows = list(x)
    assert [r.shape for r in rows] == [(3,), (3,)] and all(r.op == "getitem" for r in rows)
    with pytest.raises(TypeError, match="0-d"):
        list(Tensor(1.0))  # was [] (Python's fallback iteration through __getitem__)


def test_an_op_error_names_the_op_once():
    from tinygrad_rnn import fused
    with pytest.raises(ValueError) as info:
        fused.rnn_layer(Tensor(np.ones((2, 3))), Tensor(np.ones((2, 4))), Tensor(np.ones((4, 7))))
    assert str(info.value).startswith("rnn_layer: x must be") and str(info.value).count(
        "rnn_layer:") == 1


def test_leaf_gradients_never_share_memory_with_anything_else():
    """backward keeps a leaf's gradient array without copying only when nothing else holds it;
    every other case (an op returning one array for two inputs, a view, the caller's own grad,
    retain_grad) must give the leaf its own array."""
    a = Tensor(np.ones(3), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    (a + b).sum().backward()  # Add's backward returns the same array for both inputs
    assert not np.shares_memory(a.grad, b.grad)
    a.grad *= 5.0
    np.testing.assert_array_equal(b.grad, np.ones(3))

    c = Tensor(np.ones(4), requires_grad=True)
    c.reshape(2, 2).sum().backward()  # Reshape's backward returns a view
    assert c.grad.base is None

    d = Tensor(np.ones(3), requires_grad=True)
    seed = np.full(3, 2.0)
    d.backward(seed)  # a leaf given the caller's array
    seed[:] = 7.0
    np.testing.assert_array_equal(d.grad, np.full(3, 2.0))

    e = Tensor(np.ones(3), requires_grad=True)
    y = e + 0.0
    y.sum().backward(retain_grad=True)  # y.grad is kept too: e must not alias it
    assert not np.shares_memory(e.grad, y.grad)

    made = []

    class Double(Function):  # its backward's array is held by nothing but the engine
        def forward(ctx, v):
            return 2.0 * v

        def backward(ctx, g):
            out = 2.0 * g
            made.append(weakref.ref(out))
            return (out,)

    w = Tensor(np.ones((2, 2)), requires_grad=True)
    Double.apply(w).sum().backward()
    assert made[0]() is w.grad  # kept as it is, no copy
    np.testing.assert_array_equal(w.grad, np.full((2, 2), 2.0))


def test_gradients_are_added_in_place_only_into_arrays_nothing_else_holds():
    """The engine adds a second gradient into the first in place only when nothing but itself
    holds the first: never into the caller's seed, an array an op returned for two inputs, or
    an array an op keeps."""
    seed = np.full(3, 2.0)
    x = Tensor(np.ones(3), requires_grad=True)
    y = x * 1.0
    (y.clone() + y.clone()).backward(seed)  # Clone hands the seed itself to y, twice
    np.testing.assert_array_equal(seed, np.full(3, 2.0))
    np.testing.assert_array_equal(x.grad, np.full(3, 4.0))

    kept = []

    class Keep(Function):  # its backward returns an array it also keeps
        def forward(ctx, v):
            return v.copy()

        def backward(ctx, g):
            out = g.copy()
            kept.append(out)
            return (out,)

    w = Tensor(np.ones(2), requires_grad=True)
    h = w * 1.0
    (Keep.apply(h) * 3.0 + Keep.apply(h) * 5.0).sum().backward()
    assert sorted(k[0] for k in kept) == [3.0, 5.0]  # neither was added into
    np.testing.assert_array_equal(w.grad, np.full(2, 8.0))

    a = Tensor(np.ones(3), requires_grad=True)
    s = a * 1.0
    (s + s + s).sum().backward()  # Add returns one array for both inputs, then a third
    np.testing.assert_array_equal(a.grad, np.full(3, 3.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradients_of_overlapping_slices_add_up(dtype):
    """t[index] with a basic index gives its gradient to the picked part only (the engine adds
    it there instead of a whole array of zeros); overlapping slices, ints, slices of a non-leaf
    and of a view, all against the same sums written with NumPy."""
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((6, 5)).astype(dtype)
    c1, c2, c3 = (rng.standard_normal(s).astype(dtype) for s in [(4, 5), (3, 2), (5,)])
    w = Tensor(w0, requires_grad=True)
    u = w * 2.0  # a non-leaf: its slices' gradients meet in the engine's dict
    loss = ((w[:4] * c1).sum() + (w[2:5, 1:3] * c2).sum() + (w[5] * c3).sum()
            + (u[1:3] ** 2).sum() + (w.T[0] * 7.0).sum())
    loss.backward()
    want = np.zeros_like(w0)
    want[:4] += c1
    want[2:5, 1:3] += c2
    want[5] += c3
    want[1:3] += 2.0 * 2.0 * (2.0 * w0[1:3])  # d/dw of (2w)^2 = 2 (2w) 2
    want[:, 0] += 7.0
    assert w.grad.dtype == dtype
    np.testing.assert_allclose(w.grad, want, rtol=1e-6)
    v = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    assert tg.gradcheck(lambda v: (v[1:] * v[:-1]).sum() + (v[:, 1] ** 3).sum() + v[2, 2], [v])


def test_two_threads_backward_into_one_model_lose_no_gradient(run_threads) -> None:
    """Each backward adds its gradient into the shared .grad under a lock (PyTorch's too): with
    threads switching every microsecond, 2 x 200 backward calls give exactly 400 x one call's
    gradient (without the lock some additions were lost: 379 x in one run)."""
    lin = tg.nn.Linear(50, 50, dtype=np.float64)
    x = np.ones((20, 50))
    lin(x).sum().backward()
    once = lin.weight.grad.copy()
    lin.zero_grad()

    def work() -> None:
        for _ in range(200):
            lin(x).sum().backward()

    run_threads(work, work)
    np.testing.assert_allclose(lin.weight.grad, 400 * once, rtol=1e-12)
