"""Check analytic gradients against central finite differences in float64."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from tinygrad_rnn.checks import number
from tinygrad_rnn.tensor import Tensor, no_grad


class GradcheckError(AssertionError):
    """Raised by `gradcheck` when an analytic gradient disagrees with finite differences."""


def gradcheck(fn: Callable[..., Tensor], inputs: Sequence[Tensor], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0) -> bool:
    """Compare backward() of `fn(*inputs)` with central differences, in float64.

    Every floating-point input with requires_grad=True is checked. The output is reduced to a
    scalar with fixed random weights (so every output element counts). Returns True, or raises
    GradcheckError naming the input, the worst element, and both values.
    """
    if not callable(fn):
        raise TypeError(f"gradcheck: fn must be callable, got {type(fn).__name__}")
    eps = number(eps, "gradcheck", "eps", 0.0, low_open=True)
    atol, rtol = number(atol, "gradcheck", "atol", 0.0), number(rtol, "gradcheck", "rtol", 0.0)
    if isinstance(inputs, Tensor):
        inputs = [inputs]
    inputs = [x if isinstance(x, Tensor) else Tensor(np.asarray(x, np.float64)) for x in inputs]
    # float64 copies (never perturb the caller's data), in the inputs' own memory layout, so
    # that a layout-dependent op is checked on the layout it was given
    xs = [Tensor(np.array(x.data, dtype=np.float64 if x.dtype.kind == "f" else x.dtype),
                 dtype=np.float64 if x.dtype.kind == "f" else x.dtype, name=x.name,
                 requires_grad=x.requires_grad) for x in inputs]
    checked = [i for i, x in enumerate(xs) if x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True")
    out = fn(*xs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    weights = np.random.default_rng(seed).standard_normal(out.shape)

    def objective() -> float:
        with no_grad():
            return float(np.sum(fn(*xs).data.astype(np.float64) * weights))

    (out * weights).sum().backward()
    for i in checked:
        x = xs[i]
        analytic = x.grad if x.grad is not None else np.zeros_like(x.data)
        numeric = np.zeros(x.shape)
        data = x.data  # written element by element in place, whatever its memory layout
        for k in np.ndindex(data.shape):
            orig = data[k]
            data[k] = orig + eps
            plus = objective()
            data[k] = orig - eps
            minus = objective()
            data[k] = orig
            numeric[k] = (plus - minus) / (2 * eps)
        if x.grad is None and not numeric.any():  # a check that could not fail
            label = f"input {i}" + (f" ({x.name!r})" if x.name else "")
            raise GradcheckError(
                f"gradcheck: {label} of shape {x.shape} is not used by fn (no gradient reaches "
                "it and changing it changes nothing); fn must compute from the inputs it is "
                "given, not from other tensors (e.g. a module's own parameters)")
        err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if err.size and err.max() > 0:
            worst = np.unravel_index(int(np.argmax(err)), err.shape)
            label = f"input {i}" + (f" ({x.name!r})" if x.name else "")
            raise GradcheckError(
                f"gradcheck: {label} of shape {x.shape}: worst element {tuple(map(int, worst))} "
                f"has analytic gradient {float(analytic[worst])!r} but finite difference "
                f"{float(numeric[worst])!r} (atol={atol}, rtol={rtol})")
    return True
