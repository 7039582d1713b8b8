"""Per-op overhead of the engine (Function.apply): the cost every recorded op pays.

Run: PYTHONPATH=$PWD python benchmarks/bench_op_overhead.py
Prints the best of several repeats (CPU time, so a busy machine disturbs it less), in
microseconds per op, for a tiny elementwise op (where the engine's own work, not NumPy's, is
the time): recorded, recorded with its backward, under no_grad, inside annotate, and one
`with annotate(...)` block entered and left.
"""

from __future__ import annotations

import time
import timeit

import numpy as np

import tinygrad_rnn as tg


def main() -> None:
    a = tg.Tensor(np.ones(4, np.float32), requires_grad=True)
    b = tg.Tensor(np.ones(4, np.float32))
    n, repeat = 20000, 7

    def per_op(stmt, setup_globals) -> float:
        t = min(timeit.repeat(stmt, globals=setup_globals, number=n, repeat=repeat,
                              timer=time.process_time))
        return t / n * 1e6

    env = {"a": a, "b": b, "tg": tg}
    rows = [
        ("a * b (recorded)", per_op("a * b", env)),
        ("(a * b).sum().backward()", per_op("(a * b).sum().backward()", env)),
        ("a * b under no_grad", _under(tg.no_grad, a, b, n, repeat)),
        ("a * b inside annotate(step=1)", _under(lambda: tg.annotate(step=1), a, b, n, repeat)),
        ("with annotate(step=1): pass", per_op("with tg.annotate(step=1): pass", env)),
        ("tg.is_grad_enabled()", per_op("tg.is_grad_enabled()", env)),
    ]
    for label, us in rows:
        print(f"{label:32s} {us:7.3f} us")


def _under(make_ctx, a, b, n, repeat) -> float:
    with make_ctx():
        t = min(timeit.repeat("a * b", globals={"a": a, "b": b}, number=n, repeat=repeat,
                              timer=time.process_time))
    return t / n * 1e6


if __name__ == "__main__":
    main()
