"""Small random models, run forward and backward, and drawn: the pictures in the README.

`render_random_model` backs the `tinygrad-rnn render` command; `render_comparison` draws a
tanh RNN and an LSTM over the same steps on one colour scale, to show the vanishing gradient.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def _check(cell: str, steps: int, layers: int, input_size: int, hidden_size: int) -> None:
    if cell not in CELLS:
        raise ValueError(f"render_random_model: cell must be one of {sorted(CELLS)}, "
                         f"got {cell!r}")
    for name, value in (("steps", steps), ("layers", layers), ("input_size", input_size),
                        ("hidden_size", hidden_size)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"render_random_model: {name} must be a positive int, got {value!r}")


def random_model_loss(cell: str = "rnn", steps: int = 8, layers: int = 1, seed: int = 0,
                      input_size: int = 3, hidden_size: int = 4,
                      **model_options: Any) -> tuple[Tensor, nn.Module]:
    """A random `nn.RNN` / `nn.LSTM` / `nn.GRU`, unrolled (fused=False) over `steps` random
    inputs (batch 1), with loss = sum of the last step's output squared; backward has run with
    retain_grad=True so every tensor holds its gradient. Returns (loss, model).

    The loss reads only the last step, so the gradient reaching step t has travelled back
    through steps - t cells: how it shrinks is the vanishing gradient.
    """
    _check(cell, steps, layers, input_size, hidden_size)
    tg.manual_seed(seed)
    model = CELLS[cell](input_size, hidden_size, num_layers=layers, **model_options)
    x = Tensor(tg.get_rng().standard_normal((steps, 1, input_size)).astype(np.float32))
    output, _ = model(x, fused=False)  # the per-op graph: one cell call per step and layer
    loss = (output[steps - 1] ** 2).sum()
    loss.name = "loss"
    loss.backward(retain_grad=True)
    return loss, model


def render_random_model(cell: str = "rnn", steps: int = 8, layers: int = 1,
                        detail: str = "ops", grads: bool = True, out: str = "out.png",
                        seed: int = 0, input_size: int = 3, hidden_size: int = 4,
                        max_steps: int | None = None, **draw_options: Any) -> str:
    """Build a small random model (see `random_model_loss`), run forward and backward, and
    render its unrolled graph to `out` (format from the suffix). Returns the path written."""
    import viz  # the package imports this module lazily; avoid the cycle at import time

    loss, model = random_model_loss(cell, steps, layers, seed, input_size, hidden_size)
    if "title" not in draw_options:
        layers_text = f", {layers} layers" if layers > 1 else ""
        draw_options["title"] = (f"nn.{type(model).__name__}({input_size}, {hidden_size}"
                                 f"{layers_text}) unrolled over {steps} steps, "
                                 f"loss = sum(h_{steps}\u00b2)"
                                 + (": each tensor filled by its gradient norm" if grads else ""))
    return viz.render(loss, out, detail=detail, grads=grads, max_steps=max_steps, params=model,
                      **draw_options)


def render_comparison(out_rnn: str = "rnn_20_steps.png", out_lstm: str = "lstm_20_steps.png",
                      steps: int = 20, seed: int = 0, input_size: int = 3,
                      hidden_size: int = 16, forget_bias: float = 1.0, detail: str = "cells",
                      **draw_options: Any) -> tuple[str, str]:
    """A tanh RNN and an LSTM (forget-gate bias `forget_bias`) of the same size on the same
    random inputs, each with loss = sum of its last output squared, rendered as two pictures
    on ONE colour scale (the smallest and largest gradient norm of both), so the fast fade of
    the RNN's gradient and the slower one of the LSTM's compare at a glance. Parameters are
    left out (they would fan out to every step). Returns the two paths."""
    import viz

    loss_rnn, _ = random_model_loss("rnn", steps, 1, seed, input_size, hidden_size)
    loss_lstm, _ = random_model_loss("lstm", steps, 1, seed, input_size, hidden_size,
                                     forget_bias=forget_bias)
    norms = [float(np.linalg.norm(t.grad)) for loss in (loss_rnn, loss_lstm)
             for t in viz.walk(loss) if t.grad is not None and not t.is_leaf]
    span = (min(n for n in norms if n > 0), max(norms))
    options = {"detail": detail, "grads": True, "show_params": False, "grad_range": span,
               **draw_options}
    sizes = f"({input_size}, {hidden_size})"
    path_rnn = viz.render(loss_rnn, out_rnn, title=f"nn.RNN{sizes}, tanh, {steps} steps",
                          **options)
    path_lstm = viz.render(loss_lstm, out_lstm, title=f"nn.LSTM{sizes}, forget-gate bias "
                           f"{forget_bias:g}, {steps} steps (same colour scale)", **options)
    return path_rnn, path_lstm


def check_output_path(path: str, what: str = "render") -> None:
    """Raise ValueError naming `what` unless the suffix of `path` is a format viz writes, so a
    script can refuse a bad picture path before it trains."""
    import viz

    suffix = os.path.splitext(str(path))[1].lstrip(".").lower()
    if suffix not in viz.FORMATS:
        raise ValueError(f"{what} {str(path)!r}: the suffix must be one of {viz.FORMATS}, "
                         f"got {suffix!r}")


def render_hello(model: nn.Module, data: Any, out: str = "hello_graph.png",
                 **draw_options: Any) -> str:
    """The hello task's picture: one more step-by-step forward pass of the trained `model` on
    `data` (`tinygrad_rnn.hello.make_data`), the loss summed over every step, rendered with a
    title and every tensor coloured by its gradient norm. Returns the path written."""
    import viz
    from tinygrad_rnn.hello import sequence_loss

    loss, _ = sequence_loss(model, data, fused=False)  # the unrolled graph, one cell per step
    steps = len(data.y)
    draw_options.setdefault("grads", True)
    draw_options.setdefault("params", model)
    draw_options.setdefault("title", f"{type(model).__name__} unrolled over {steps} steps, "
                            f"loss = L_1 + ... + L_{steps}: every tensor coloured by the size "
                            "of d loss / d tensor")
    return viz.render(loss, out, **draw_options)


def last_step_path(path: str) -> str:
    """Where `render_hello_last_step` goes beside `path`: hello.png -> hello_last_step.png."""
    root, ext = os.path.splitext(str(path))
    return f"{root}_last_step{ext}"


def render_hello_last_step(model: nn.Module, data: Any, out: str = "hello_last_step.png",
                           **draw_options: Any) -> str:
    """The same cell with the loss taken at the last step only, written as a learner writes the
    loop (no annotations): the gradient enters at the last step and fades from right to left
    as it travels back through the cells. Returns the path written."""
    import viz
    import tinygrad_rnn.functional as F

    state = None
    for t in range(len(data.y)):
        state = model(data.x[t], state)
    logits = state[0] if isinstance(state, tuple) else state  # the hello cell's h is the logits
    steps = len(data.y)
    loss = F.cross_entropy(logits, data.y[steps - 1:], reduction="sum")
    loss.name = "loss"
    draw_options.setdefault("grads", True)
    draw_options.setdefault("params", model)
    draw_options.setdefault("title", f"{type(model).__name__}, loss at the last step only "
                            f"(L_{steps}): the gradient fades from right to left")
    return viz.render(loss, out, **draw_options)
