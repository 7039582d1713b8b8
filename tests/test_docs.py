"""The README and every page of docs/ say what the code does.

Every ```python block of a page runs: a page's blocks in order, in one namespace, in a fresh
Python process started from the repository root. A ```text block right after a python block
(only blank lines between) is what that block must print, exactly (trailing spaces ignored).
`<!-- skip -->` on the line just before a block keeps it from running. The README also stays
short, names no machine-specific path, and links only to files that exist; every table has
rows, each with as many cells as its header.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SLOW_PAGES: set[str] = set()  # pages whose blocks take more than a few seconds
SKIP = "<!-- skip -->"
FENCE = re.compile(r"^```(\S*)\s*$")


@dataclass
class Block:
    """One fenced block: its language, its first line's number (1-based) and its text."""

    lang: str
    line: int
    code: str
    skip: bool
    expected: str | None = None  # the ```text block right after a python block


def parse_blocks(text: str, page: str = "page") -> list[Block]:
    """The fenced blocks of a Markdown page, each python block with its expected output."""
    lines = text.split("\n")
    blocks: list[Block] = []
    follows: list[bool] = []  # only blank lines between this block and the previous one
    i, last_end = 0, -10
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start = i
        i += 1
        while i < len(lines) and lines[i].rstrip() != "```":
            i += 1
        if i == len(lines):
            raise ValueError(f"{page}:{start + 1}: a ``` block is never closed")
        skip = start > 0 and lines[start - 1].strip() == SKIP
        between = lines[last_end + 1:start] if last_end >= 0 else ["x"]
        follows.append(all(not line.strip() for line in between))
        blocks.append(Block(m.group(1), start + 1, "\n".join(lines[start + 1:i]), skip))
        last_end = i
        i += 1
    for k in range(1, len(blocks)):
        if blocks[k].lang == "text" and follows[k] and blocks[k - 1].lang == "python":
            blocks[k - 1].expected = blocks[k].code
    return [b for b in blocks if b.lang == "python" and not b.skip]


# Runs in the child process: exec every block in one namespace, capture what each prints.
RUNNER = r"""
import contextlib, io, json, sys, traceback
blocks = json.load(sys.stdin)
namespace = {"__name__": "__main__"}
outputs = []
for code, line in blocks:
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            exec(compile(code, f"<block at line {line}>", "exec"), namespace)
    except BaseException:
        outputs.append({"line": line, "out": buffer.getvalue(), "error": traceback.format_exc()})
        break
    outputs.append({"line": line, "out": buffer.getvalue(), "error": None})
print(json.dumps(outputs))
"""


def normalise(text: str) -> str:
    """Trailing spaces and trailing blank lines do not count."""
    return "\n".join(line.rstrip() for line in text.rstrip().split("\n"))


def repository_view(where: Path) -> Path:
    """A folder that looks like the repository root (a link to each top-level entry), so the
    blocks read `tests/fixtures/...` as from the root while the files they write land here."""
    where.mkdir(parents=True, exist_ok=True)
    for entry in ROOT.iterdir():
        if entry.name != ".git" and not (where / entry.name).exists():
            (where / entry.name).symlink_to(entry)
    return where


def run_page(path: Path, workdir: Path, timeout: float = 240.0) -> list[tuple[Block, dict]]:
    """Run a page's python blocks in a fresh process whose working directory is a view of the
    repository root (`repository_view`); (block, result) for each block run."""
    blocks = parse_blocks(path.read_text(encoding="utf-8"), path.name)
    if not blocks:
        return []
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "-c", RUNNER], cwd=repository_view(workdir), env=env,
                          text=True,
                          input=json.dumps([[b.code, b.line] for b in blocks]),
                          capture_output=True, timeout=timeout)
    assert proc.returncode == 0, f"{path.name}: the block runner failed:\n{proc.stderr}"
    results = json.loads(proc.stdout.strip().split("\n")[-1])
    return list(zip(blocks, results))


def _page_params():
    for page in PAGES:
        marks = [pytest.mark.slow] if page.name in SLOW_PAGES else []
        yield pytest.param(page, id=page.name, marks=marks)


@pytest.mark.parametrize("page", list(_page_params()))
def test_every_python_block_runs_and_prints_what_the_page_shows(page, tmp_path):
    rel = page.relative_to(ROOT)
    for block, result in run_page(page, tmp_path / "root"):
        where = f"{rel}:{block.line}"
        assert result["error"] is None, f"{where}: the block raised\n{result['error']}"
        if block.expected is not None:
            assert normalise(result["out"]) == normalise(block.expected), (
                f"{where}: the block printed\n{result['out']}\nbut the page shows\n"
                f"{block.expected}")


def test_the_readme_is_short_and_links_to_every_docs_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.split("\n")) <= 300, "README.md is longer than 300 lines"
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"docs/{page.name}" in readme, f"README.md does not link to docs/{page.name}"


MACHINE_PATH = re.compile(r"(/work/|/home/|/Users/|/root/|/tmp/[A-Za-z]|[A-Z]:\\\\)")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_no_machine_specific_path_and_no_broken_link(page):
    text = page.read_text(encoding="utf-8")
    for n, line in enumerate(text.split("\n"), start=1):
        assert not MACHINE_PATH.search(line), f"{page.name}:{n}: machine-specific path: {line}"
    for target in LINK.findall(text):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (page.parent / target).exists(), f"{page.name}: broken link to {target}"



CELL_BAR = re.compile(r"(?<!\\)\|")  # a cell boundary: a bar with no backslash before it


def tables(text: str) -> list[tuple[int, list[list[str]]]]:
    """Every Markdown table of a page outside code blocks: (line of its header, its rows of
    cells, the header first and the |---| line left out)."""
    found, rows, start, fenced = [], [], 0, False
    for n, line in enumerate([*text.split("\n"), ""], start=1):
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("|"):
            if not rows:
                start = n
            rows.append([c.strip() for c in CELL_BAR.split(line.strip().strip("|"))])
        elif rows:
            found.append((start, [r for r in rows if not set("".join(r)) <= set("-: ")]))
            rows = []
    return found


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_table_has_rows_and_as_many_cells_as_its_header(page):
    for line, (header, *body) in tables(page.read_text(encoding="utf-8")):
        assert body, f"{page.name}:{line}: a table with a header and no rows"
        for row in body:
            assert len(row) == len(header), f"{page.name}:{line}: {row} has {len(row)} cells, " \
                                            f"the header {len(header)}"


# ----- the checker itself --------------------------------------------------------------------

def test_parse_blocks_pairs_output_skips_and_ignores_other_languages():
    page = "\n".join([
        "```python", "print(1)", "```", "", "```text", "1", "```",
        "prose", "```text", "not an output", "```",
        SKIP, "```python", "raise SystemExit", "```",
        "```bash", "make demo", "```",
        "```python", "x = 2", "```", "words", "```text", "not paired: prose between", "```",
    ])
    blocks = parse_blocks(page)
    assert [(b.line, b.code, b.expected) for b in blocks] == [(1, "print(1)", "1"),
                                                              (19, "x = 2", None)]


def test_a_wrong_expected_output_is_caught(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```python\nx = 41\n```\n\n```python\nprint(x + 1)\n```\n```text\n43\n```\n")
    (block1, r1), (block2, r2) = run_page(page, tmp_path / "root")
    assert r1["error"] is None and r2["error"] is None  # one namespace: x carried over
    assert normalise(r2["out"]) == "42" != normalise(block2.expected)


def test_tables_finds_a_header_without_rows_and_ignores_code_blocks():
    page = ("| a | b |\n|---|---|\n\ntext\n\n```text\n| not | a table |\n```\n"
            "| c |\n|---|\n| 1 \\| 2 |\n")
    assert tables(page) == [(1, [["a", "b"]]), (9, [["c"], ["1 \\| 2"]])]


def test_an_unclosed_block_is_an_error():
    with pytest.raises(ValueError, match="never closed"):
        parse_blocks("```python\nprint(1)\n", "bad.md")
