"""The machinery under every kernel: a compiled function and its NumPy twin under one name, the
backend switch, and compiling lazily (only what a run calls, numba imported on the first call).

    @kernel
    def act_inplace(z, act, fast):          # the compiled kernel: loops over arrays
        ...

    @act_inplace.numpy
    def act_inplace(z, act, fast=False):    # its NumPy twin: the same name, right below
        ...

`act_inplace(...)` runs the active backend's version; `act_inplace.compiled` and
`act_inplace.twin` are the two versions themselves (the tests compare them). A `@formula` is a
small function written once for both worlds: compiled code calls its compiled version, Python
calls it as it is, on arrays (the activations and their derivatives are formulas).

Compiling: the first time a kernel runs on the numba backend, numba is imported and the kernel is
handed to `numba.njit(cache=True, error_model="numpy")` (a float division by zero gives inf, as in
NumPy, instead of a check that stops LLVM from vectorizing the loop). Kernels call other kernels
and formulas by their plain names: each compiled kernel sees, under those names, the compiled
versions. Compiled code is cached on disk, so only the first run ever compiles; it prints one line
before the first compile (`compile_notice`), and nothing when the cache is warm. Numba's cache
checks only the file a kernel is written in, not the formulas it inlines from other files, so
each kernel is cached under a name that carries a digest of this package's sources
(`sources_digest`): after any edit here, every kernel compiles afresh instead of running stale
code.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import threading
import types
from typing import Any, Callable

import numpy as np

BACKENDS = ("numba", "numpy")
OPTIONS = dict(cache=True, error_model="numpy")
# Below SMALL elements the one-pass kernels (the Adam update, the cross-entropy) run their NumPy
# twin until some kernel has been compiled or loaded (`by_size`): a small run (examples/hello.py)
# then never imports Numba nor loads compiled code, which is most of a warm process's start-up.
SMALL = 4096

# numba's switch that runs every kernel as plain Python (for debugging); numba reads it the same way
_JIT = os.environ.get("NUMBA_DISABLE_JIT", "0").strip() in ("", "0")

# What a first run compiles, measured on the project machine with an empty cache (see
# docs/performance.md, "First run"): the kernels of one model's training step.
COMPILE_SECONDS = 6


def _check_backend(name: str) -> str:
    if name not in BACKENDS:
        raise ValueError(f"set_backend / TINYGRAD_RNN_BACKEND: backend must be one of "
                         f"{BACKENDS}, got {name!r}")
    return name


_backend = _check_backend(os.environ.get("TINYGRAD_RNN_BACKEND", "numba").strip().lower()
                          or "numba")


def set_backend(name: str) -> None:
    """Choose the kernels: "numba" (compiled, the default) or "numpy" (the NumPy twins).
    Process-wide (not per thread); the environment variable TINYGRAD_RNN_BACKEND sets the
    starting value."""
    global _backend
    _backend = _check_backend(name)


def get_backend() -> str:
    """The active backend: "numba" or "numpy"."""
    return _backend


def numba_active() -> bool:
    """True when kernels run compiled (the numba backend)."""
    return _backend == "numba"


class Formula:
    """A small function written once: called from Python as it is (on scalars or arrays), and
    compiled when a compiled kernel calls it."""

    def __init__(self, py_func: Callable, contract: bool = False) -> None:
        self.py_func, self._compiled, self.contract = py_func, None, contract
        self.__name__, self.__doc__ = py_func.__name__, py_func.__doc__
        self.__module__, self.__qualname__ = py_func.__module__, py_func.__qualname__
        self.__wrapped__ = py_func  # editors and inspect follow this to the source

    def __call__(self, *args: Any) -> Any:
        return self.py_func(*args)

    @property
    def compiled(self) -> Callable:
        """The numba dispatcher (made on first use; numba compiles it on its first call)."""
        if self._compiled is None:
            self._compiled = _compile(self.py_func, self)
        return self._compiled

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.__module__}.{self.__name__}>"


class Kernel(Formula):
    """A compiled kernel and its NumPy twin under one name; calling it runs the active backend's
    version. Register the twin with `@name.numpy` right below the kernel."""

    def __init__(self, py_func: Callable) -> None:
        super().__init__(py_func)
        self.twin: Callable | None = None

    def numpy(self, twin: Callable) -> Kernel:
        """Decorator: register the NumPy twin (same name, same arguments); returns the kernel."""
        self.twin = twin
        return self

    def __call__(self, *args: Any) -> Any:
        if _backend == "numpy":
            return self.twin(*args)
        return self.compiled(*args)


def kernel(py_func: Callable) -> Kernel:
    """Mark a function as a compiled kernel (give it a twin with `@name.numpy`)."""
    kernel_obj = Kernel(py_func)
    KERNELS.append(kernel_obj)
    return kernel_obj


def formula(py_func: Callable | None = None, *, contract: bool = False) -> Any:
    """Mark a function as a formula: plain Python from Python, compiled inside kernels.
    `@formula(contract=True)` lets the compiled code fuse each a * b + c into one FMA instruction
    (rounded once, not twice: faster, a last-bit difference; for the call-free float32
    activations, which approximate anyway)."""
    if py_func is None:
        return lambda f: Formula(f, contract)
    return Formula(py_func, contract)


KERNELS: list[Kernel] = []  # every kernel, in definition order (the tests walk it)


def _compile(py_func: Callable, owner: Formula) -> Callable:
    """numba.njit a copy of py_func whose globals name compiled versions of the kernels and
    formulas it calls (the module's own globals keep the Python-callable objects)."""
    import numba

    _install_notice()
    scope = dict(py_func.__globals__)
    clone = types.FunctionType(py_func.__code__, scope, py_func.__name__, py_func.__defaults__,
                               py_func.__closure__)
    # the cache file is named after the qualname: with the digest, an edited formula is seen
    clone.__qualname__ = f"{py_func.__qualname__}_{sources_digest(os.path.dirname(__file__))}"
    clone.__module__ = py_func.__module__
    clone.__doc__ = py_func.__doc__
    fastmath = {"fastmath": {"contract"}} if owner.contract else {}
    owner._compiled = dispatcher = numba.njit(**OPTIONS, **fastmath)(clone)
    for name, value in scope.items():  # after owner._compiled is set: recursion ends
        if isinstance(value, Formula):
            scope[name] = value.compiled
    return dispatcher


def by_size(k: Kernel, size: int) -> Callable:
    """The version of a one-pass kernel to run over `size` elements: `k` itself (the active
    backend's version) from SMALL elements up, below that `once_loaded(k)` (compiled code is
    2-5x faster than the twin even at a few hundred elements, once it is loaded)."""
    return k if _JIT and size >= SMALL else once_loaded(k)


def once_loaded(k: Kernel) -> Callable:
    """`k` once numba is in use in this process (a kernel compiled or loaded), else its NumPy
    twin: for work that should never be what imports numba (a second or so, once), such as the
    engine's fingerprints. Under NUMBA_DISABLE_JIT (numba's debugging switch: "compiled" code
    runs as Python loops) always the twin."""
    return k if _JIT and _notice["installed"] else k.twin


@functools.lru_cache(maxsize=None)
def sources_digest(folder: str) -> str:
    """A short digest of the .py files in `folder` (the kernels package): part of every
    compiled kernel's cache name (see the module docstring)."""
    digest = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), "rb") as f:
                digest.update(name.encode() + b"\0" + f.read())
    return digest.hexdigest()[:12]


# ----- big arrays, reused ------------------------------------------------------------------------
# name -> the arrays `reusable` handed out under it; per thread, so that two threads never take
# the same free array at once (the reference count protects arrays in use, not that race)
_pools = threading.local()
KEEP = 2  # arrays kept per name: a training step needs one; two cover a graph kept one step longer


def reusable(name: str, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """An array of this shape and dtype with undefined contents: one handed out before under
    `name` that nobody holds any more (its CPython reference count says only the pool has it;
    a view of it holds it too), else a new one, kept for next time.

    Why: the first write into a freshly allocated array of tens of MB costs page faults that
    are worth more than the arithmetic done on it (the GRU backward's step kernels at
    (64, 50, 512): 7-48 ms on fresh arrays, 4 ms on reused ones), and a training step allocates
    the same big arrays every time."""
    pool = _pools.__dict__.setdefault(name, [])
    free = None
    for i in range(len(pool)):
        if sys.getrefcount(pool[i]) == 2:  # the pool's reference and getrefcount's argument
            if pool[i].shape == shape and pool[i].dtype == dtype:
                return pool[i]
            free = i
    fresh = np.empty(shape, dtype)
    # while there is room, keep it beside the others: the two layers of a stack whose rows
    # differ in width then keep one each instead of replacing each other's every step
    if len(pool) < KEEP:
        pool.append(fresh)
    elif free is not None:
        pool[free] = fresh
    return fresh


# ----- the first-run notice ----------------------------------------------------------------------
_notice = {"installed": False, "shown": False}


def compile_notice() -> str:
    """The line printed (to stderr) before the first compile of a process."""
    return (f"tinygrad_rnn: compiling kernels, once: ~{COMPILE_SECONDS} s "
            f"(cached afterwards; TINYGRAD_RNN_BACKEND=numpy skips it)")


def _install_notice() -> None:
    """Listen to numba's compile events: numba fires one only when it really compiles (not when
    it loads a cached kernel), so a warm cache prints nothing."""
    if _notice["installed"]:
        return
    _notice["installed"] = True
    from numba.core import event

    class _Notice(event.Listener):
        def on_start(self, ev: Any) -> None:
            func = getattr(ev.data.get("dispatcher"), "py_func", None)
            if not _notice["shown"] and getattr(func, "__module__", "").startswith(__package__):
                _notice["shown"] = True
                print(compile_notice(), file=sys.stderr, flush=True)

        def on_end(self, ev: Any) -> None:
            pass

    event.register("numba:compile", _Notice())


