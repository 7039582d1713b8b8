"""What the `tinygrad-rnn` command and the example scripts share on the command line: option
types that word their errors alike, a parser whose errors are one line, and a runner that turns
any mistake a user can make into one line on stderr (exit status 2), never a traceback.

    from tinygrad_rnn.script import Parser, int_at_least, run_main

    def main(argv=None):
        p = Parser(prog="my_script", description="...")
        p.add_argument("--epochs", type=int_at_least(1, "a positive integer"), default=15)
        args = p.parse_args(argv)
        ...

    if __name__ == "__main__":
        run_main(main)   # exits with main's status, or 2 after one line naming the mistake
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Sequence


class UsageError(Exception):
    """A command-line mistake, already worded for the user."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, raised as UsageError (the caller decides
    the exit): "PROG: error: MESSAGE (see PROG --help)"."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def int_at_least(minimum: int, wording: str) -> Callable[[str], int]:
    """An argparse type: an integer >= minimum, else "expected {wording}, got ..." (argparse
    names the option). The command and the example scripts share it, so their errors agree."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wording}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {wording}, got {text}")
        return value
    return parse


def int_between(low: int, high: int, wording: str) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high], else "expected {wording} from low to high,
    got ...". For sizes, so that a typo like --hidden 100000000 is refused at once instead of
    asking for more memory than the machine has."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {wording} from {low} to {high}, "
                                             f"got {text!r}")
        return value
    return parse


positive_int = int_at_least(1, "a positive integer")
seed_int = int_at_least(0, "an integer >= 0")
hidden_int = int_between(1, 8192, "a hidden size")


def positive_float(text: str) -> float:
    """An argparse type: a number > 0 (nan is refused too)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """An argparse type: a number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def one_line(e: BaseException) -> str:
    """An exception as one line: its message, or its type when the message is empty."""
    if isinstance(e, MemoryError):
        return "not enough memory for these sizes (MemoryError); try smaller ones"
    text = " ".join(str(e).split())
    if isinstance(e, (ValueError, OSError, KeyError, RuntimeError, UsageError)) and text:
        return text.strip("'\"") if isinstance(e, KeyError) else text
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


USER_ERRORS = (UsageError, ValueError, OSError, KeyError, RuntimeError, MemoryError)


def run_main(main: Callable[[Sequence[str] | None], int | None], name: str | None = None,
        argv: Sequence[str] | None = None) -> None:
    """Run a script's `main(argv)` and exit with its status. A user's mistake (a bad option, a
    missing file, sizes too large for memory) ends with one line "NAME: error: ..." on stderr
    and status 2; TINYGRAD_RNN_TRACEBACK=1 shows the traceback instead."""
    name = name or os.path.splitext(os.path.basename(sys.argv[0]))[0]
    try:
        status = main(argv)
    except USER_ERRORS as e:
        if os.environ.get("TINYGRAD_RNN_TRACEBACK"):
            raise
        message = one_line(e)
        if not message.startswith(f"{name}: error:"):
            message = f"{name}: error: {message.removeprefix(f'{name}: ')}"
        print(message, file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(int(status or 0))
