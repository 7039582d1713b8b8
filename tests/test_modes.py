"""The engine's switches (tinygrad_rnn.modes) are per thread and per asyncio task.

Each mode is driven through the interleaving that broke the old process-wide dict: thread A
enters the mode, thread B enters it too, A leaves, B leaves. While A is inside, B (before it
enters) must see the defaults; after both leave, every thread, and the main thread, must see the
defaults again.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor


def _grad_probe() -> Any:
    x = Tensor([1.0, 2.0], requires_grad=True)
    return (x * 2.0).requires_grad


def _anomaly_probe() -> Any:
    x = Tensor([0.0], requires_grad=True)
    try:
        with np.errstate(divide="ignore"):  # NumPy's warning; detect_anomaly checks the result
            x.log()  # -inf: raises only under detect_anomaly
    except FloatingPointError:
        return True
    return tg.is_anomaly_enabled()


def _meta_probe() -> Any:
    return (Tensor([1.0]) * 2.0).tags


# (name, context for the mode, probe, value the probe gives outside, value inside)
MODES = [
    ("no_grad", tg.no_grad, _grad_probe, True, False),
    ("set_grad_enabled(False)", lambda: tg.set_grad_enabled(False), _grad_probe, True, False),
    ("detect_anomaly", tg.detect_anomaly, _anomaly_probe, False, True),
    ("annotate", lambda: tg.annotate(step=7), _meta_probe, None, {"step": 7}),
]


def _in_order(steps: list[tuple[str, Callable[[], None]]]) -> None:
    """Run each (thread name, action) in the listed order, each action in its named thread;
    the threads live across their actions (a `with` block open in one spans the others)."""
    names = sorted({name for name, _ in steps})
    turn = threading.Condition()
    position = [0]
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        for i, (owner, action) in enumerate(steps):
            if owner != name:
                continue
            with turn:
                if not turn.wait_for(lambda: position[0] == i or errors, timeout=10):
                    errors.append(TimeoutError(f"step {i} never came"))
                if errors:
                    return
            try:
                action()
            except BaseException as e:  # noqa: BLE001  (re-raised in the main thread)
                errors.append(e)
            with turn:
                position[0] += 1
                turn.notify_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    if errors:
        raise errors[0]
    assert position[0] == len(steps)


def _thread_with_block(mode: Callable) -> tuple[Callable, Callable]:
    """enter/leave actions for a `with mode():` block that stays open between them."""
    box: list[Any] = []

    def enter() -> None:
        box.append(mode())
        box[0].__enter__()

    def leave() -> None:
        box[0].__exit__(None, None, None)

    return enter, leave


@pytest.mark.parametrize("name, mode, probe, outside, inside", MODES, ids=[m[0] for m in MODES])
def test_overlapping_blocks_in_two_threads_do_not_leak(name, mode, probe, outside, inside):
    enter_a, leave_a = _thread_with_block(mode)
    enter_b, leave_b = _thread_with_block(mode)
    seen: dict[str, Any] = {}

    def look(key: str) -> Callable[[], None]:
        return lambda: seen.__setitem__(key, probe())

    _in_order([
        ("A", enter_a), ("A", look("A inside")),
        ("B", look("B while A inside")),
        ("B", enter_b), ("B", look("B inside")),
        ("A", leave_a), ("A", look("A after")),  # the old dict: A put back the default for B
        ("B", look("B inside after A left")),
        ("B", leave_b), ("B", look("B after")),  # the old dict: B put back A's mode for good
        ("C", look("a new thread")),
    ])
    assert seen == {"A inside": inside, "B while A inside": outside, "B inside": inside,
                    "A after": outside, "B inside after A left": inside, "B after": outside,
                    "a new thread": outside}
    assert probe() == outside  # the main thread never saw any of it


def test_a_training_thread_keeps_its_gradients_beside_an_evaluating_thread():
    """The issue's symptom: a trainer beside an evaluator lost gradients and Adam skipped them."""
    w = Tensor(np.ones(3), requires_grad=True)
    stop = threading.Event()

    def evaluate() -> None:
        while not stop.is_set():
            with tg.no_grad():
                (w * 2.0).sum()

    evaluator = threading.Thread(target=evaluate)
    evaluator.start()
    try:
        for _ in range(2000):
            w.grad = None
            (w * w).sum().backward()
            assert w.grad is not None and np.array_equal(w.grad, 2 * w.data)
    finally:
        stop.set()
        evaluator.join()


def test_asyncio_tasks_have_their_own_modes():
    async def evaluator(inside: list) -> None:
        with tg.no_grad(), tg.annotate(task="eval"):
            await asyncio.sleep(0)  # the trainer runs while this block is open
            inside.append((_grad_probe(), _meta_probe()))
            await asyncio.sleep(0)

    async def trainer(seen: list) -> None:
        for _ in range(3):
            seen.append((_grad_probe(), _meta_probe()))
            await asyncio.sleep(0)

    async def main() -> tuple[list, list]:
        inside: list = []
        seen: list = []
        await asyncio.gather(evaluator(inside), trainer(seen))
        return inside, seen

    inside, seen = asyncio.run(main())
    assert inside == [(False, {"task": "eval"})]
    assert seen == [(True, None)] * 3


def test_a_task_starts_from_the_modes_of_its_creator():
    async def probe() -> bool:
        return tg.is_grad_enabled()

    async def main() -> tuple[bool, bool]:
        with tg.no_grad():
            inner = asyncio.create_task(probe())
        outer = asyncio.create_task(probe())
        return await inner, await outer

    assert asyncio.run(main()) == (False, True)


def test_no_grad_and_enable_grad_nest_and_decorate():
    x = Tensor([1.0], requires_grad=True)

    @tg.no_grad
    def plain() -> bool:
        return (x * 2.0).requires_grad

    @tg.no_grad()
    def called() -> bool:
        with tg.enable_grad():
            return (x * 2.0).requires_grad

    assert plain() is False and called() is True and tg.is_grad_enabled()
    with tg.no_grad():
        with tg.enable_grad():
            assert tg.is_grad_enabled()
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()


def test_set_grad_enabled_as_a_call_and_as_a_block():
    with tg.set_grad_enabled(False):
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()
    tg.set_grad_enabled(False)
    try:
        assert not tg.is_grad_enabled()
    finally:
        tg.set_grad_enabled(True)
    assert tg.is_grad_enabled()
    with pytest.raises(TypeError, match="set_grad_enabled: mode must be True or False"):
        tg.set_grad_enabled("no")


def test_modes_are_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with tg.no_grad(), tg.detect_anomaly(), tg.annotate(step=1):
            raise ZeroDivisionError
    assert tg.is_grad_enabled() and not tg.is_anomaly_enabled() and _meta_probe() is None


def test_one_annotate_object_entered_twice_at_once_is_an_error():
    block = tg.annotate(step=1)
    with block:
        with pytest.raises(RuntimeError, match="annotate: this annotate.* is already open"):
            with block:
                pass
        assert _meta_probe() == {"step": 1}
    assert _meta_probe() is None
    with block:  # closed again: it may be reused
        assert _meta_probe() == {"step": 1}
