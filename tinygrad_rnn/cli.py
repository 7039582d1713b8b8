"""The `tinygrad-rnn` command.

    tinygrad-rnn hello [--epochs 15 --cell rnn --render hello.png ...]   the classic hello task
    tinygrad-rnn train [--data FILE --cell lstm --layers 2 --bptt 32 ...] a character LM
    tinygrad-rnn sample CHECKPOINT [--prompt "The " --temperature 0.8]   text from a trained LM
    tinygrad-rnn render [--cell lstm --steps 8 --detail cells -o out.png] an unrolled graph
    tinygrad-rnn flow [--cell gru --steps 50 --view connectivity -o c.png]  gradient flow

`hello`, `train` and `sample` run the scripts of `examples/` (installed as `tinygrad_rnn_examples`)
(`hello.py`, `char_lm.py`), so the command and the scripts can never disagree; `render` calls
`viz.demo.render_random_model`; `flow` calls `viz.flow.render_view`. Every problem a user can
cause (a bad option, a missing or unreadable file, a checkpoint that is not one) ends the
command with one line on stderr and exit status 2, never a traceback; set
TINYGRAD_RNN_TRACEBACK=1 to see the traceback anyway.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import sys
from types import ModuleType
from typing import Callable, Sequence

PROG = "tinygrad-rnn"


class UsageError(Exception):
    """A command-line mistake, already worded for the user."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (raised, so `main` decides the exit)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def load_example(name: str) -> ModuleType:
    """Import `examples/<name>.py`, installed with the package as `tinygrad_rnn_examples`."""
    try:
        return importlib.import_module(f"tinygrad_rnn_examples.{name}")
    except ModuleNotFoundError as e:
        if e.name not in ("tinygrad_rnn_examples", f"tinygrad_rnn_examples.{name}"):
            raise
        raise UsageError(f"{PROG}: error: the example '{name}' is not installed; reinstall "
                         "the package (pip install tinygrad-rnn, or pip install -e . in a "
                         "checkout)") from None


def _delegate(name: str, argv: Sequence[str]) -> int:
    """Run examples/<name>.py's main(argv), turning its argparse errors into one line."""
    main_fn = load_example(name).main
    captured = io.StringIO()
    saved_argv = list(sys.argv)
    sys.argv[:1] = [f"{PROG} {name}"]  # argparse's usage line then names the command
    try:
        with contextlib.redirect_stderr(captured):
            status = main_fn(list(argv))
    except SystemExit as exit_:  # argparse: --help (0) or a usage error (2)
        lines = [line for line in captured.getvalue().splitlines() if line.strip()]
        if exit_.code not in (0, None) and lines:
            message = lines[-1].split("error:", 1)[-1].strip()
            raise UsageError(f"{PROG} {name}: error: {message} (see {PROG} {name} --help)")
        sys.stderr.write(captured.getvalue())
        return int(exit_.code or 0)
    finally:
        sys.argv[:] = saved_argv
    sys.stderr.write(captured.getvalue())
    return int(status or 0)


# ----- sub-commands -----------------------------------------------------------------------------

def cmd_train(args: argparse.Namespace) -> int:
    """Train a character LM (examples/char_lm.py) and save a checkpoint."""
    load_example("char_lm").train_from_args(args)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    """Print text sampled from a checkpoint written by `train`."""
    char_lm = load_example("char_lm")
    model, vocab, _ = char_lm.load_checkpoint(args.checkpoint)
    unknown = sorted(set(args.prompt or "\n") - set(vocab.chars))  # "" starts from a newline
    if unknown:
        raise UsageError(f"{PROG} sample: error: --prompt {args.prompt!r}: {''.join(unknown)!r} "
                         f"not in the vocabulary of the checkpoint, which has "
                         f"{''.join(vocab.chars)[:60]!r}")
    print(char_lm.sample(model, vocab, args.prompt, args.length, args.temperature, args.seed))
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    """Draw the unrolled graph of a small random model (viz.demo.render_random_model)."""
    from viz.demo import render_random_model

    path = render_random_model(args.cell, args.steps, args.layers, args.detail, args.grads,
                               args.out, seed=args.seed, max_steps=args.max_steps)
    print(f"wrote {path}")
    return 0


def cmd_flow(args: argparse.Namespace) -> int:
    """Draw one gradient-flow view (viz.flow) of a random model or a `train` checkpoint."""
    import numpy as np

    from viz import flow

    suffix = os.path.splitext(args.out or "")[1].lower()
    wanted = (".gif",) if args.view == "animate" else (".png", ".svg", ".pdf")
    if args.out is not None and suffix not in wanted:
        raise UsageError(f"{PROG} flow: error: -o {args.out!r}: --view {args.view} writes "
                         f"{' / '.join(wanted)} (see {PROG} flow --help)")
    out = args.out or f"flow_{args.view}" + wanted[0]
    rng = np.random.default_rng(args.seed)
    if args.checkpoint:
        if args.radius is not None:
            raise UsageError(f"{PROG} flow: error: --radius rescales a random model's W_hh; "
                             "it cannot be used with --checkpoint")
        model, vocab, meta = load_example("char_lm").load_checkpoint(args.checkpoint)
        if len(model.rnn.cells) != 1:
            raise UsageError(f"{PROG} flow: error: {args.checkpoint!r} has "
                             f"{len(model.rnn.cells)} layers; the flow views take one-layer "
                             "models")
        cell, head, V = model.rnn.cells[0], model.head, len(vocab)
        ids = rng.integers(0, V, size=args.steps + 1)  # random text: x_t = ids[t], y_t = ids[t+1]
        xs, ys = np.eye(V, dtype=np.float32)[ids[:-1]][:, None, :], ids[1:]
        what = f"{args.checkpoint} ({meta.get('cell', '?')}, hidden {cell.hidden_size})"
    else:
        cell, head, xs, ys = flow.random_model(args.cell, args.steps, args.hidden, seed=args.seed,
                                               radius=args.radius)
        what = f"random {type(cell).__name__}(8, {args.hidden})"
    options = ({"max_frames": args.max_frames, "max_steps": args.max_steps}
               if args.view == "animate" else {})
    try:
        result = flow.render_view(args.view, cell, xs, head, ys, out,
                                  title=f"{what}, {args.steps} steps", **options)
    except flow.MissingExtraError as e:
        raise UsageError(f"{PROG} flow: error: {e}") from None
    print(f"wrote {result['path']} ({args.view} computed in {result['seconds']:.2f} s)")
    return 0


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


_positive = int_at_least(1, "a positive integer")
_seed = int_at_least(0, "an integer >= 0")


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The `tinygrad-rnn` parser with its sub-commands."""
    p = _Parser(prog=PROG, description="tinygrad_rnn: recurrent networks on a small autodiff "
                "engine. Run `tinygrad-rnn COMMAND --help` for a command's options.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.add_parser("hello", help="train the classic 'hello' -> 'ohlol' task "
                   "(examples/hello.py; its options follow the command)", add_help=False)

    sub.add_parser("train", help="train a character language model and save a checkpoint "
                   "(examples/char_lm.py)", add_help=False)

    sample = sub.add_parser("sample", help="write text with a trained checkpoint",
                            description="Continue a prompt with a model saved by "
                            "`tinygrad-rnn train`.")
    sample.add_argument("checkpoint", metavar="CHECKPOINT", help="file written by train")
    sample.add_argument("--prompt", default="The ", help="text to continue (default: 'The ')")
    sample.add_argument("--temperature", type=_non_negative, default=0.8,
                        help="0 is greedy; higher is more varied (default: 0.8)")
    sample.add_argument("--length", type=_positive, default=300,
                        help="characters to write (default: 300)")
    sample.add_argument("--seed", type=_seed, default=0, help="sampling seed (default: 0)")
    sample.set_defaults(run=cmd_sample)

    render = sub.add_parser("render", help="draw the unrolled graph of a small random model",
                            description="Build a small random RNN / LSTM / GRU, run forward "
                            "and backward, and render its unrolled BPTT graph (Graphviz).")
    render.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="rnn")
    render.add_argument("--steps", type=_positive, default=8, help="time steps (default: 8)")
    render.add_argument("--layers", type=_positive, default=1, help="stacked layers")
    render.add_argument("--detail", choices=["ops", "cells"], default="ops",
                        help="every primitive op, or one box per cell per step")
    render.add_argument("--grads", action=argparse.BooleanOptionalAction, default=True,
                        help="colour tensors by gradient norm (default: on)")
    render.add_argument("--max-steps", type=_positive, default=None,
                        help="draw at most this many steps (first and last)")
    render.add_argument("-o", "--out", default="unrolled.png",
                        help="output file; format from the suffix: png, svg, pdf, dot")
    render.add_argument("--seed", type=_seed, default=0)
    render.set_defaults(run=cmd_render)

    flow = sub.add_parser("flow", help="draw how the gradient flows back through time "
                          "(viz.flow: connectivity, Jacobians, per-unit heatmap, animation)",
                          description="Run a random recurrent cell (or the first layer of a "
                          "`train` checkpoint) over --steps random inputs with a loss at every "
                          "step and draw one gradient-flow view: connectivity (||dL_t/dx_j||), "
                          "jacobians (||dh_t/dh_{t-1}|| and their product), units (|dL_T/dh_t| "
                          "per unit) or animate (a GIF of backward from L_T).")
    flow.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="rnn",
                      help="random model's cell (default: rnn, tanh)")
    flow.add_argument("--steps", type=_positive, default=50, help="time steps (default: 50)")
    flow.add_argument("--view", choices=["connectivity", "jacobians", "units", "animate"],
                      default="connectivity", help="what to draw (default: connectivity)")
    flow.add_argument("--hidden", type=_positive, default=64,
                      help="random model's hidden size (default: 64)")
    flow.add_argument("--radius", type=_positive_float, default=None,
                      help="rescale the random tanh RNN's W_hh to this spectral radius")
    flow.add_argument("--checkpoint", default=None,
                      help="a one-layer model saved by `tinygrad-rnn train` instead of a "
                      "random one")
    flow.add_argument("--max-frames", type=_positive, default=60,
                      help="animate: at most this many frames (default: 60)")
    flow.add_argument("--max-steps", type=_positive, default=10,
                      help="animate: draw at most this many steps (default: 10)")
    flow.add_argument("-o", "--out", default=None,
                      help="output file: .png/.svg/.pdf, or .gif for animate "
                      "(default: flow_VIEW.png / .gif)")
    flow.add_argument("--seed", type=_seed, default=0)
    flow.set_defaults(run=cmd_flow)
    return p


def train_parser() -> argparse.ArgumentParser:
    """The parser of `tinygrad-rnn train`: the options of examples/char_lm.py."""
    p = _Parser(prog=f"{PROG} train", description="Train a character language model (RNN / "
                "LSTM / GRU) with truncated BPTT on --data FILE or on the standard library's "
                "docstrings; saves a checkpoint after every epoch, then prints samples.")
    load_example("char_lm").add_train_arguments(p)
    return p


def _parse(argv: list[str]) -> argparse.Namespace:
    if argv and argv[0] == "train":  # its options are defined by examples/char_lm.py
        args = train_parser().parse_args(argv[1:])
        args.run = cmd_train
        return args
    args = build_parser().parse_args(argv)
    if args.command is None:
        raise UsageError(f"{PROG}: error: a command is needed: hello, train, sample, render or "
                         f"flow (see {PROG} --help)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `tinygrad-rnn`; returns the exit status (0 on success, 2 on error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv else ""
    try:
        if command == "hello":
            return _delegate("hello", argv[1:])
        args = _parse(argv)
        return args.run(args)
    except UsageError as e:
        print(str(e), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the user gets one line, never a traceback
        if os.environ.get("TINYGRAD_RNN_TRACEBACK"):
            raise
        where = f"{PROG} {command}".strip()
        print(f"{where}: error: {_one_line(e)}", file=sys.stderr)
        return 2


def _one_line(e: BaseException) -> str:
    """An exception as one line: its message, or its type when the message is empty."""
    text = " ".join(str(e).split())
    if isinstance(e, (ValueError, OSError, KeyError, RuntimeError)) and text:
        return text.strip("'\"") if isinstance(e, KeyError) else text
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


if __name__ == "__main__":
    sys.exit(main())

