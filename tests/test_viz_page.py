"""viz.render(..., "graph.html"): tooltips in the SVG, and the page in a real headless browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

import tinygrad_rnn as tg
import viz
from tinygrad_rnn import Tensor, nn

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="the Graphviz `dot` program is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def lstm_loss(T: int = 3):
    tg.manual_seed(0)
    cell = nn.LSTMCell(2, 3)
    state = None
    for _ in range(T):
        state = cell(Tensor(np.ones((1, 2), np.float32)), state)
    return state[0].sum(), cell


def test_every_node_has_a_tooltip_with_what_it_is():
    loss, cell = lstm_loss()
    for detail in ("ops", "cells"):
        src = viz.draw(loss, grads=True, detail=detail, params=cell).source
        nodes = [line for line in src.splitlines() if re.match(r"^\s*(n\d+|cell\d+) \[", line)]
        assert nodes and all("tooltip=" in line for line in nodes)
    cells = viz.draw(loss, grads=True, detail="cells").source
    assert "c_t = f * c_{t-1} + i * g" in cells and "gradient norm of its outputs" in cells
    ops = viz.draw(loss, grads=True).source
    h2 = [t for t in viz.walk(loss) if t.name == "h_2"][0]
    tip = re.search(r'tooltip="(mul h_2:[^"]*)"', ops).group(1).splitlines()
    assert tip[0] == "mul h_2: shape 1\u00d73, float32"
    assert tip[1] == (f"min {h2.data.min():.4g}  mean {h2.data.mean():.4g}  "
                      f"max {h2.data.max():.4g}")
    assert tip[2].startswith("gradient norm ")


@needs_dot
def test_the_html_page_is_one_file_without_network(tmp_path):
    loss, _ = lstm_loss()
    text = open(viz.render(loss, tmp_path / "g.html", grads=True, title="LSTM"),
                encoding="utf-8").read()
    assert text.startswith("<!DOCTYPE html>") and "<svg" in text and "<script>" in text
    assert "<title>LSTM</title>" in text and "xlink:title=" in text  # tooltips
    urls = set(re.findall(r"https?://[^\s\"'<>]+", text))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=", text)


PROBE = """<script>
window.__errors = [];
window.addEventListener("error", function (e) { window.__errors.push(String(e.message)); });
</script>"""

CLICK = """<script>
window.addEventListener("load", function () {
  var svg = document.querySelector("#graph svg");
  var lit = function () { return svg.querySelectorAll("g.node.hl").length; };
  var before = lit();
  var target = null;
  svg.querySelectorAll("g.node").forEach(function (g) {
    if (g.querySelector("title").textContent === "%s") { target = g; }
  });
  target.dispatchEvent(new MouseEvent("click", {bubbles: true}));
  var hl = [];
  svg.querySelectorAll("g.node.hl").forEach(function (g) {
    hl.push(g.querySelector("title").textContent);
  });
  var focused = svg.classList.contains("focus");
  svg.dispatchEvent(new MouseEvent("click", {bubbles: true}));
  document.body.setAttribute("data-result", JSON.stringify({
    errors: window.__errors, before: before, highlighted: hl, focused: focused,
    after_clear: lit()}));
});
</script>"""


def downstream(src: str, start: str) -> set[str]:
    """Every node reachable from `start` along the drawn (not invisible) edges of the DOT."""
    out: dict[str, list[str]] = {}
    for a, b, attrs in re.findall(r"^\s*(\S+) -> (\S+)(?: \[(.*)\])?$", src, re.M):
        if "invis" not in attrs:
            out.setdefault(a, []).append(b)
    seen, stack = {start}, [start]
    while stack:
        for b in out.get(stack.pop(), []):
            if b not in seen:
                seen.add(b)
                stack.append(b)
    return seen


@pytest.mark.slow  # ~5 s: starts a browser (CI runs the slow set, and installs chromium)
@needs_dot
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium browser installed (.ci/run installs "
                                             "it with apt-get)")
def test_the_page_runs_in_a_headless_browser_and_a_click_highlights_the_paths(tmp_path):
    loss, cell = lstm_loss()
    src = viz.draw(loss, grads=True, params=cell).source
    x2 = re.search(r"^\s*(n\d+) \[label=<x<SUB>2</SUB>", src, re.M).group(1)
    page = open(viz.render(loss, tmp_path / "g.html", grads=True, params=cell),
                encoding="utf-8").read()
    page = page.replace("<head>", "<head>\n" + PROBE, 1).replace("</body>",
                                                                 CLICK % x2 + "</body>", 1)
    probe = tmp_path / "probe.html"
    probe.write_text(page, encoding="utf-8")
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           "--disable-background-networking", "--dump-dom",
                           probe.as_uri()], capture_output=True, text=True, timeout=120)
    m = re.search(r'data-result="([^"]*)"', proc.stdout)
    assert m, proc.stderr[-2000:]
    result = json.loads(m.group(1).replace("&quot;", '"'))
    assert result["errors"] == []
    assert result["before"] == 0 and result["focused"] and result["after_clear"] == 0
    # x_2 feeds steps 2 and 3: exactly the nodes downstream of it in the DOT light up
    assert set(result["highlighted"]) == downstream(src, x2)
    assert 5 < len(result["highlighted"]) < len(re.findall(r"^\s*n\d+ \[", src, re.M))
