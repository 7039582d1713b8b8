"""viz: Graphviz pictures of the unrolled computation graph of BPTT.

    import viz
    g = viz.draw(loss, grads=True)           # a graphviz.Digraph; shows inline in Jupyter
    viz.render(loss, "unrolled.png", grads=True, max_steps=8)

`grads=True` computes d(loss)/d(tensor) itself (`tg.grad`), before or after
`loss.backward(retain_graph=True)` or `loss.backward(retain_grad=True)`; no `.grad` changes.

`draw` only builds; `render` writes a file (png, svg, pdf, the DOT text itself, or an
interactive html page).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import graphviz

from viz.colors import LogScale
from viz.graph import DETAILS, draw, walk
from viz.page import page

FORMATS = ("png", "svg", "pdf", "dot", "html")

INSTALL_HINT = ("Install Graphviz, which provides the `dot` program: "
                "`sudo apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` "
                "(macOS), or `conda install -c conda-forge graphviz`; then make sure `dot` is on "
                "your PATH.")


class GraphvizNotFoundError(RuntimeError):
    """The Graphviz `dot` program is not installed (or not on PATH); the DOT text was written."""


def render(root: Any, path: str | os.PathLike, format: str | None = None,
           **options: Any) -> str:
    """Draw the graph that made `root` and write it to `path`; returns the path written.

    root: a Tensor (or a sequence of them) to draw back from, or a Digraph made by `draw`.
    format: "png", "svg", "pdf", "dot" (the DOT text) or "html" (one self-contained page: the
        SVG with a tooltip on every node, a legend, pan and zoom, and a click on a node
        highlighting every path from it to the loss); by default taken from the suffix.
    options: passed to `draw` (detail, grads, max_steps, params, show_norms, title).
    Raises GraphvizNotFoundError (a RuntimeError) when the `dot` program is missing, after
    writing the DOT text next to `path` (same name, suffix .dot) so nothing is lost.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"render: path must be a str or os.PathLike, got {type(path).__name__}")
    path = Path(path)
    fmt = str(format if format is not None else path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ValueError(f"render: format must be one of {FORMATS} (given or from the suffix of "
                         f"{str(path)!r}), got {fmt!r}")
    if isinstance(root, graphviz.Digraph):
        if options:
            raise TypeError(f"render: options {sorted(options)} cannot be applied to a Digraph "
                            "that is already drawn")
        graph = root
    else:
        graph = draw(root, **options)
    if path.parent != Path(""):
        path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "dot":
        path.write_text(graph.source, encoding="utf-8")
        return str(path)
    try:
        data = graph.pipe(format="svg" if fmt == "html" else fmt)
    except graphviz.ExecutableNotFound:
        dot_path = path.with_suffix(".dot")
        dot_path.write_text(graph.source, encoding="utf-8")
        raise GraphvizNotFoundError(f"render: cannot make {str(path)!r}: the Graphviz program "
                                    f"`dot` was not found. {INSTALL_HINT} The DOT text was "
                                    f"written to {str(dot_path)!r}.") from None
    if fmt == "html":
        data = page(data.decode("utf-8"), options.get("title")).encode("utf-8")
    path.write_bytes(data)
    return str(path)


__all__ = ["draw", "render", "walk", "GraphvizNotFoundError", "LogScale", "DETAILS", "FORMATS",
           "INSTALL_HINT"]
