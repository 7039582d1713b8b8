"""The `tinygrad-rnn` command.

    tinygrad-rnn hello [--epochs 15 --cell rnn --render hello.png ...]   the classic hello task
    tinygrad-rnn train [--data FILE --cell lstm --layers 2 --bptt 32 ...] a character LM
    tinygrad-rnn sample CHECKPOINT [--prompt "The " --temperature 0.8]   text from a trained LM
    tinygrad-rnn render [--cell lstm --steps 8 --detail cells -o out.png] an unrolled graph
    tinygrad-rnn flow [--cell gru --steps 50 --view connectivity -o c.png]  gradient flow

`hello` runs `tinygrad_rnn.hello`, `train` and `sample` run `tinygrad_rnn.charlm`, `render`
calls `viz.demo.render_random_model`, `flow` calls `viz.flow.render_view`. Every problem a user
can cause (a bad option, a missing or unreadable file, a checkpoint that is not one) ends the
command with one line on stderr and exit status 2, never a traceback; set
TINYGRAD_RNN_TRACEBACK=1 to see the traceback anyway.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Sequence

from tinygrad_rnn import charlm, hello
from tinygrad_rnn.script import (Parser, UsageError, hidden_int, int_at_least,
                                 non_negative_float, one_line, positive_float, positive_int,
                                 seed_int)

PROG = "tinygrad-rnn"
__all__ = ["main", "build_parser", "train_parser", "hello_parser", "int_at_least", "UsageError"]


# ----- sub-commands -----------------------------------------------------------------------------

def cmd_hello(args: argparse.Namespace) -> int:
    """Train the hello task (tinygrad_rnn.hello), printing every epoch; draw it with --render."""
    epochs = min(args.epochs, 3) if args.quick else args.epochs
    if args.render:  # a bad suffix is an error before training, not after
        from viz.demo import check_output_path

        check_output_path(args.render, "--render")
    data = hello.make_data(args.input, args.target)
    init = hello.read_init(args.init) if args.init else None
    model = hello.make_model(args.cell, len(data.idx2char), args.seed, init)
    size = len(data.idx2char)
    print(f"idx2char = {data.idx2char}, input {args.input!r}, target {args.target!r}, "
          f"{type(model).__name__}({size}, {size}), Adam lr {args.lr}")
    hello.train(args.input, args.target, epochs, args.lr, model=model, log=print,
                fused=not args.per_op)
    if args.render:
        from viz.demo import render_hello  # drawing is optional: only this needs Graphviz

        print(f"drawing the unrolled graph with its gradients to {args.render}")
        print(f"wrote {render_hello(model, data, args.render)}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train a character LM (tinygrad_rnn.charlm) and save a checkpoint."""
    train_from_args(args)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    """Print text sampled from a checkpoint written by `train`."""
    model, vocab, _ = charlm.load_checkpoint(args.checkpoint)
    if args.prompt is None:  # the default: 'The ', or a character the model knows
        args.prompt = "The " if set("The ") <= set(vocab.chars) else (
            " " if " " in vocab.chars else vocab.chars[0])
        if args.prompt != "The ":
            print(f"{PROG} sample: the default prompt 'The ' has characters the checkpoint's "
                  f"vocabulary lacks; starting from {args.prompt!r} (--prompt sets another)",
                  file=sys.stderr)
    unknown = sorted(set(args.prompt or "\n") - set(vocab.chars))  # "" starts from a newline
    if unknown:
        raise UsageError(f"{PROG} sample: error: --prompt {args.prompt!r}: {''.join(unknown)!r} "
                         f"not in the vocabulary of the checkpoint, which has "
                         f"{''.join(vocab.chars)[:60]!r}")
    print(charlm.sample(model, vocab, args.prompt, args.length, args.temperature, args.seed))
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
        model, vocab, meta = charlm.load_checkpoint(args.checkpoint)
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


def build_parser() -> argparse.ArgumentParser:
    """The `tinygrad-rnn` parser with its sub-commands."""
    p = Parser(prog=PROG, description="tinygrad_rnn: recurrent networks on a small autodiff "
                "engine. Run `tinygrad-rnn COMMAND --help` for a command's options.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.add_parser("hello", help="train the classic 'hello' -> 'ohlol' task", add_help=False)

    sub.add_parser("train", help="train a character language model and save a checkpoint",
                   add_help=False)

    sample = sub.add_parser("sample", help="write text with a trained checkpoint",
                            description="Continue a prompt with a model saved by "
                            "`tinygrad-rnn train`.")
    sample.add_argument("checkpoint", metavar="CHECKPOINT", help="file written by train")
    sample.add_argument("--prompt", help="text to continue (default: 'The ', or a character "
                        "of the checkpoint's vocabulary when it lacks those)")
    sample.add_argument("--temperature", type=non_negative_float, default=0.8,
                        help="0 is greedy; higher is more varied (default: 0.8)")
    sample.add_argument("--length", type=positive_int, default=300,
                        help="characters to write (default: 300)")
    sample.add_argument("--seed", type=seed_int, default=0, help="sampling seed (default: 0)")
    sample.set_defaults(run=cmd_sample)

    render = sub.add_parser("render", help="draw the unrolled graph of a small random model",
                            description="Build a small random RNN / LSTM / GRU, run forward "
                            "and backward, and render its unrolled BPTT graph (Graphviz).")
    render.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="rnn")
    render.add_argument("--steps", type=positive_int, default=8, help="time steps (default: 8)")
    render.add_argument("--layers", type=positive_int, default=1, help="stacked layers")
    render.add_argument("--detail", choices=["ops", "cells"], default="ops",
                        help="every primitive op, or one box per cell per step")
    render.add_argument("--grads", action=argparse.BooleanOptionalAction, default=True,
                        help="colour tensors by gradient norm (default: on)")
    render.add_argument("--max-steps", type=positive_int, default=None,
                        help="draw at most this many steps (first and last)")
    render.add_argument("-o", "--out", default="unrolled.png",
                        help="output file; format from the suffix: png, svg, pdf, dot")
    render.add_argument("--seed", type=seed_int, default=0)
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
    flow.add_argument("--steps", type=positive_int, default=50, help="time steps (default: 50)")
    flow.add_argument("--view", choices=["connectivity", "jacobians", "units", "animate"],
                      default="connectivity", help="what to draw (default: connectivity)")
    flow.add_argument("--hidden", type=positive_int, default=64,
                      help="random model's hidden size (default: 64)")
    flow.add_argument("--radius", type=positive_float, default=None,
                      help="rescale the random tanh RNN's W_hh to this spectral radius")
    flow.add_argument("--checkpoint", default=None,
                      help="a one-layer model saved by `tinygrad-rnn train` instead of a "
                      "random one")
    flow.add_argument("--max-frames", type=positive_int, default=60,
                      help="animate: at most this many frames (default: 60)")
    flow.add_argument("--max-steps", type=positive_int, default=10,
                      help="animate: draw at most this many steps (default: 10)")
    flow.add_argument("-o", "--out", default=None,
                      help="output file: .png/.svg/.pdf, or .gif for animate "
                      "(default: flow_VIEW.png / .gif)")
    flow.add_argument("--seed", type=seed_int, default=0)
    flow.set_defaults(run=cmd_flow)
    return p


def add_hello_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `tinygrad-rnn hello`."""
    p.add_argument("--input", default="hello", help="input string (default hello)")
    p.add_argument("--target", default="ohlol", help="target string, same length (ohlol)")
    p.add_argument("--epochs", type=positive_int, default=15)
    p.add_argument("--lr", type=positive_float, default=0.1)
    p.add_argument("--seed", type=seed_int, default=hello.DEFAULT_SEED)
    p.add_argument("--cell", choices=sorted(hello.CELLS), default="rnn")
    p.add_argument("--init", metavar="FILE.npz",
                   help="initial weights as PyTorch-named arrays (weight_ih, weight_hh, ...)")
    p.add_argument("--quick", action="store_true", help="3 epochs only (a smoke run)")
    p.add_argument("--per-op", action="store_true",
                   help="train step by step (the drawn graph) instead of one fused node")
    p.add_argument("--render", metavar="PATH",
                   help="after training, draw the unrolled graph with gradients to PATH")


def hello_parser() -> argparse.ArgumentParser:
    """The parser of `tinygrad-rnn hello`."""
    p = Parser(prog=f"{PROG} hello", description="Train one RNN cell to map 'hello' to "
               "'ohlol' (the classic worked example), printing the loss and the predicted "
               "string every epoch.")
    add_hello_arguments(p)
    return p


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `tinygrad-rnn train` (the arguments of `tinygrad_rnn.charlm.train`)."""
    p.add_argument("--data", metavar="FILE", help="UTF-8 text file to learn (default: the "
                   "docstrings of Python's standard library, no download needed)")
    p.add_argument("--cell", choices=sorted(charlm.CELLS),
                   help="recurrent cell (default: lstm; with --resume, the checkpoint's)")
    p.add_argument("--hidden", type=hidden_int, help="hidden size (default: 128; with --resume, "
                   "the checkpoint's)")
    p.add_argument("--layers", type=positive_int, help="stacked layers (default: 1; with "
                   "--resume, the checkpoint's)")
    p.add_argument("--bptt", type=positive_int, default=32, help="truncated-BPTT window in steps "
                   "(default: 32)")
    p.add_argument("--batch-size", type=positive_int, default=32, help="parallel streams "
                   "(default: 32)")
    p.add_argument("--epochs", type=positive_int, default=3, help="total epochs (default: 3)")
    p.add_argument("--lr", type=positive_float, default=3e-3,
                   help="Adam learning rate (default: 3e-3)")
    p.add_argument("--clip", type=positive_float, default=5.0, help="max global gradient norm "
                   "(default: 5)")
    p.add_argument("--dropout", type=float, help="dropout between layers (default: 0; with "
                   "--resume, the checkpoint's)")
    p.add_argument("--max-chars", type=positive_int, default=300_000, help="use at most this "
                   "much text (default: 300000)")
    p.add_argument("--max-steps", type=positive_int, default=None, help="cap on steps per epoch")
    p.add_argument("--seed", type=seed_int, default=0, help="random seed (default: 0)")
    p.add_argument("--save", metavar="PATH", default="char_lm.npz", help="checkpoint written "
                   "after every epoch (default: char_lm.npz)")
    p.add_argument("--no-save", action="store_true", help="write no checkpoint")
    p.add_argument("--resume", metavar="CHECKPOINT", help="continue training from a checkpoint")
    p.add_argument("--prompt", default="The ", help="text the samples start from")
    p.add_argument("--length", type=int, default=200, help="characters to sample")
    p.add_argument("--temperature", type=float, default=0.8, help="temperature of the second "
                   "sample (the first is greedy)")
    p.add_argument("--no-bar", action="store_true", help="plain progress lines, no tqdm bar")
    p.add_argument("--quick", action="store_true", help="a small, fast run (for tests)")


def train_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Run `charlm.train` with the options parsed by `add_train_arguments`."""
    if not args.no_bar:  # said before any work: the optional extra that gives the bar
        try:
            import tqdm  # noqa: F401
        except ImportError:
            print("tinygrad-rnn train: no progress bar: tqdm, from the optional extra 'examples', "
                  "is not installed (pip install 'tinygrad-rnn[examples]'); plain progress "
                  "lines instead (--no-bar silences this)", file=sys.stderr)
    options = dict(data=args.data, cell=args.cell, hidden_size=args.hidden,
                   num_layers=args.layers, bptt=args.bptt, batch_size=args.batch_size,
                   epochs=args.epochs, lr=args.lr, clip=args.clip, dropout=args.dropout,
                   max_chars=args.max_chars, max_steps=args.max_steps, seed=args.seed,
                   save=None if args.no_save else args.save, resume=args.resume,
                   prompt=args.prompt, sample_length=args.length,
                   temperature=args.temperature, bar=not args.no_bar)
    if args.quick:  # small enough to finish in a few seconds, large enough to beat unigram
        options.update(hidden_size=None if args.resume else min(args.hidden or 128, 64),
                       batch_size=16, bptt=min(args.bptt, 24),
                       epochs=min(args.epochs, 2),
                       max_chars=min(args.max_chars, 40_000), lr=max(args.lr, 1e-2),
                       max_steps=args.max_steps or 80, sample_length=min(args.length, 60))
    return charlm.train(**options)


def train_parser() -> argparse.ArgumentParser:
    """The parser of `tinygrad-rnn train`."""
    p = Parser(prog=f"{PROG} train", description="Train a character language model (RNN / "
               "LSTM / GRU) with truncated BPTT on --data FILE or on the standard library's "
               "docstrings; saves a checkpoint after every epoch, then prints samples.")
    add_train_arguments(p)
    return p


def _parse(argv: list[str]) -> argparse.Namespace:
    if argv and argv[0] == "train":  # its many options have their own parser
        args = train_parser().parse_args(argv[1:])
        args.run = cmd_train
        return args
    if argv and argv[0] == "hello":  # its errors name `tinygrad-rnn hello`
        args = hello_parser().parse_args(argv[1:])
        args.run = cmd_hello
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
        args = _parse(argv)
        return args.run(args)
    except UsageError as e:
        print(str(e), file=sys.stderr)
        return 2
    except SystemExit as exit_:  # `hello --help` / `train --help`: the help was printed
        if command not in ("hello", "train"):
            raise
        return int(exit_.code or 0)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the user gets one line, never a traceback
        if os.environ.get("TINYGRAD_RNN_TRACEBACK"):
            raise
        where = f"{PROG} {command}".strip()
        message = one_line(e).removeprefix(f"{command}: ") if command else one_line(e)
        print(f"{where}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

