"""The engine's switches: grad mode, anomaly detection and annotations, per thread and per task.

All three live in one `contextvars.ContextVar` holding the tuple `(grad_enabled, anomaly, meta)`,
so each thread and each asyncio task has its own: a `no_grad()` block in an evaluating thread
never turns gradients off in a training thread beside it (as PyTorch's grad mode is
thread-local). A new thread starts from the defaults (grad on, no anomaly detection, no
annotation); an asyncio task starts from the switches of the code that created it.

Every op reads the tuple once (`switches()`), which is the whole cost on the hot path.

Process-wide on purpose, and not here: the kernel backend (`tg.set_backend`: both backends
compute the same numbers, so switching it in one thread cannot make another thread's answers
wrong) and the random generator (`tg.manual_seed`: one seed fixes one whole run; a thread that
wants its own stream passes its own `np.random.Generator` where a function takes one).
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Callable, Iterator

# (grad_enabled, anomaly, meta): read by every op through `switches()`; changed only by the
# context managers below, each of which restores exactly what it found.
_SWITCHES: contextvars.ContextVar[tuple[bool, bool, dict | None]] = contextvars.ContextVar(
    "tinygrad_rnn_switches", default=(True, False, None))

switches = _SWITCHES.get  # () -> (grad_enabled, anomaly, meta) of the running thread/task


@contextlib.contextmanager
def _switched(grad_enabled: bool | None = None, anomaly: bool | None = None) -> Iterator[None]:
    """Set some switches for the block, then put back what was there."""
    grad, anom, meta = _SWITCHES.get()
    token = _SWITCHES.set((grad if grad_enabled is None else grad_enabled,
                           anom if anomaly is None else anomaly, meta))
    try:
        yield
    finally:
        _SWITCHES.reset(token)


def no_grad(func: Callable | None = None) -> Any:
    """Context (or decorator: `@no_grad` or `@no_grad()`) in which ops record nothing: results
    never require grad. Affects only the running thread or asyncio task."""
    return _switched(grad_enabled=False) if func is None else _switched(grad_enabled=False)(func)


def inference_mode(mode: Any = True) -> Any:
    """PyTorch's `inference_mode`: here `no_grad` (`with inference_mode():`, `@inference_mode`,
    `@inference_mode()`); `inference_mode(False)` changes nothing."""
    if callable(mode):  # used bare as a decorator
        return no_grad(mode)
    if not isinstance(mode, bool):
        raise TypeError(f"inference_mode: mode must be True or False, got {mode!r}")
    return _switched(grad_enabled=False) if mode else _switched()


def enable_grad(func: Callable | None = None) -> Any:
    """Context (or decorator) that turns recording back on inside a `no_grad()` block."""
    return _switched(grad_enabled=True) if func is None else _switched(grad_enabled=True)(func)


class set_grad_enabled:  # lower case, as in PyTorch: used like a function
    """`set_grad_enabled(False)` turns recording off for the running thread/task at once;
    `with set_grad_enabled(mode): ...` sets it for the block only (then puts back the old mode)."""

    __slots__ = ("token",)

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled: mode must be True or False, got {mode!r}")
        grad, anomaly, meta = _SWITCHES.get()
        self.token = _SWITCHES.set((mode, anomaly, meta))

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc_info: Any) -> None:
        _SWITCHES.reset(self.token)


def is_grad_enabled() -> bool:
    """True unless the running thread/task is inside `no_grad()`."""
    return _SWITCHES.get()[0]


def detect_anomaly() -> contextlib.AbstractContextManager:
    """Context that raises at the first op whose forward or backward makes NaN or inf.

    Every op created inside records where it was created, and the error names both.
    It slows every op down; use it to hunt a NaN, not to train.
    """
    return _switched(anomaly=True)


def is_anomaly_enabled() -> bool:
    """True inside `detect_anomaly()` (in the running thread/task)."""
    return _SWITCHES.get()[1]


class annotate:  # lower case: it is used like a function, `with annotate(step=3): ...`
    """Context that tags every tensor made by an op inside with `meta` (merged into any outer
    annotation), e.g. `with annotate(step=3, layer=0): h = cell(x, h)`. `viz` reads `.tags` to
    group the unrolled graph by time step and layer; nothing else depends on them. (A class, not
    a generator: entering it is on the hot path of every recurrent step. One object is one
    `with` block: entering the same object twice at once raises.)"""

    __slots__ = ("meta", "token")

    def __init__(self, **meta: Any) -> None:
        self.meta, self.token = meta, None

    def __enter__(self) -> None:
        if self.token is not None:
            raise RuntimeError("annotate: this annotate(...) object is already open; write a new "
                               "`with annotate(...)` for each block")
        grad, anomaly, outer = _SWITCHES.get()
        self.token = _SWITCHES.set((grad, anomaly, {**outer, **self.meta} if outer else self.meta))

    def __exit__(self, *exc_info: Any) -> None:
        _SWITCHES.reset(self.token)
        self.token = None


def current_annotation() -> dict | None:
    """The tags `annotate` blocks around this point give to new tensors (None outside any)."""
    return _SWITCHES.get()[2]
