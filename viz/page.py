"""One self-contained HTML page for a drawn graph: the SVG, a legend, pan and zoom, and a click
that highlights every path from a node to the loss (the way its gradient travels back).

No network: the page holds its SVG, style and script inline. The script reads the graph back
from the SVG Graphviz wrote (each node's and edge's <title> is its DOT id, `n3` / `n3->n5`).
"""

from __future__ import annotations

import html

LEGEND = (
    ("param", "blue double box: a parameter, drawn once, with an edge into every step that "
              "uses it"),
    ("leaf", "grey box: an input or a constant"),
    ("op", "rounded box: an op's result (bold border: a named state h_t, c_t)"),
    ("cell", "bold rounded box: one cell call (detail='cells')"),
    ("cut", "dashed box: a detached state, a truncated-BPTT cut (no gradient flows back)"),
    ("fill", "fill colour: the size of d loss / d tensor (see the colour bar), when drawn "
             "with grads=True"),
)

_STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 0; color: #222; }
header { padding: 8px 14px; border-bottom: 1px solid #ddd; }
header h1 { font-size: 17px; margin: 0 0 4px 0; }
header p, header li { font-size: 12px; margin: 2px 0; }
header ul { margin: 2px 0; padding-left: 18px; }
#status { font-size: 12px; color: #1f6feb; min-height: 15px; }
#graph { width: 100vw; height: calc(100vh - 150px); overflow: hidden; cursor: grab; }
#graph svg { width: 100%; height: 100%; }
#graph svg g.node { cursor: pointer; }
svg.focus g.node:not(.hl), svg.focus g.edge:not(.hl) { opacity: 0.18; }
g.node.hl > polygon, g.node.hl > path, g.node.hl a > polygon, g.node.hl a > path
  { stroke: #1f6feb; stroke-width: 3px; }
g.edge.hl > path { stroke: #1f6feb; stroke-width: 2.5px; }
g.edge.hl > polygon { stroke: #1f6feb; fill: #1f6feb; }
"""

_SCRIPT = """
(function () {
  "use strict";
  var svg = document.querySelector("#graph svg");
  var status = document.getElementById("status");
  var nodes = {}, out = {};
  function title(g) { var t = g.querySelector("title"); return t ? t.textContent : ""; }
  Array.prototype.forEach.call(svg.querySelectorAll("g.node"), function (g) {
    var id = title(g);
    nodes[id] = g; out[id] = out[id] || [];
    g.addEventListener("click", function (e) { e.stopPropagation(); select(id); });
  });
  Array.prototype.forEach.call(svg.querySelectorAll("g.edge"), function (g) {
    var ends = title(g).split("->");
    if (ends.length === 2) { (out[ends[0]] = out[ends[0]] || []).push([ends[1], g]); }
  });
  function clear() {
    svg.classList.remove("focus");
    Array.prototype.forEach.call(svg.querySelectorAll(".hl"), function (e) {
      e.classList.remove("hl");
    });
    status.textContent = "";
  }
  // every path from the clicked node to the loss: everything downstream of it
  function select(id) {
    clear();
    var seen = {}, stack = [id], count = 0;
    seen[id] = true;
    while (stack.length) {
      var n = stack.pop();
      count += 1;
      (out[n] || []).forEach(function (pair) {
        pair[1].classList.add("hl");
        if (!seen[pair[0]]) { seen[pair[0]] = true; stack.push(pair[0]); }
      });
    }
    Object.keys(seen).forEach(function (n) { if (nodes[n]) { nodes[n].classList.add("hl"); } });
    svg.classList.add("focus");
    status.textContent = count + " nodes on the paths from the clicked node to the loss " +
      "(its gradient travels them backwards). Click the background to clear.";
  }
  // pan (drag) and zoom (wheel) by moving the viewBox
  svg.removeAttribute("width"); svg.removeAttribute("height");
  var vb = svg.viewBox.baseVal, drag = null, moved = false;
  function point(e) {
    var r = svg.getBoundingClientRect();
    var s = Math.max(vb.width / r.width, vb.height / r.height);
    return { s: s, x: vb.x + (e.clientX - r.left) * s, y: vb.y + (e.clientY - r.top) * s };
  }
  svg.addEventListener("wheel", function (e) {
    e.preventDefault();
    var p = point(e), k = e.deltaY > 0 ? 1.15 : 1 / 1.15;
    vb.x = p.x - (p.x - vb.x) * k; vb.y = p.y - (p.y - vb.y) * k;
    vb.width *= k; vb.height *= k;
  }, { passive: false });
  svg.addEventListener("mousedown", function (e) {
    drag = { x: e.clientX, y: e.clientY, s: point(e).s }; moved = false;
  });
  window.addEventListener("mousemove", function (e) {
    if (!drag) { return; }
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 2) { moved = true; }
    vb.x -= dx * drag.s; vb.y -= dy * drag.s; drag.x = e.clientX; drag.y = e.clientY;
  });
  window.addEventListener("mouseup", function () { drag = null; });
  svg.addEventListener("click", function () { if (!moved) { clear(); } });
})();
"""


def page(svg: str, title: str | None = None) -> str:
    """The HTML page around `svg` (Graphviz's SVG output, prolog and all)."""
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    heading = html.escape(title or "The unrolled graph")
    legend = "".join(f"<li>{html.escape(text)}</li>" for _, text in LEGEND)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{heading}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<header><h1>{heading}</h1>\n"
        "<p>Hover a node for its op, shape, values and gradient; click a node to highlight "
        "every path from it to the loss; drag to pan, scroll to zoom.</p>\n"
        f"<ul>{legend}</ul>\n<div id=\"status\"></div></header>\n"
        f"<div id=\"graph\">\n{svg}\n</div>\n<script>{_SCRIPT}</script>\n</body>\n</html>\n")
