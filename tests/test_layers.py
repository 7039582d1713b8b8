"""The import graph is one-way: kernels <- engine <- nn/optim <- viz <- command, and the library
never imports its examples (they are scripts that use the library, not part of it)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# layer of every module (by dotted name prefix); a module may import only its layer or lower
LAYERS = [
    ("tinygrad_rnn.kernels", 0),
    ("tinygrad_rnn.random", 0), ("tinygrad_rnn.checks", 0),
    ("tinygrad_rnn.modes", 1),
    ("tinygrad_rnn.tensor", 1), ("tinygrad_rnn.function", 1), ("tinygrad_rnn.functional", 1),
    ("tinygrad_rnn.fused", 1), ("tinygrad_rnn.gradcheck", 1), ("tinygrad_rnn.ops", 1),
    ("tinygrad_rnn.creation", 1),
    ("tinygrad_rnn.nn", 2), ("tinygrad_rnn.optim", 2), ("tinygrad_rnn.checkpoint", 2),
    ("tinygrad_rnn.data", 2), ("tinygrad_rnn.utils", 2),
    ("tinygrad_rnn.charlm", 2), ("tinygrad_rnn.hello", 2),
    ("tinygrad_rnn", 2),  # the package's __init__ gathers the layers below viz
    ("viz", 3),
    ("tinygrad_rnn.script", 4), ("tinygrad_rnn.cli", 4),
]
NAMES = ["kernels", "engine", "nn/optim", "viz", "command"]


def layer_of(module: str) -> int | None:
    """The layer of a project module (longest matching prefix), None for other modules."""
    best = None
    for prefix, layer in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, layer)
    return None if best is None else best[1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import in the file, at any depth (lazy ones too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the package
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names
                      if layer_of(f"{base}.{alias.name}") is not None and base == "tinygrad_rnn"]
    return found


SOURCES = sorted([*(ROOT / "tinygrad_rnn").rglob("*.py"), *(ROOT / "viz").rglob("*.py")])


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_imports_go_one_way(path):
    mine = layer_of(module_name(path))
    assert mine is not None, f"{module_name(path)} has no layer in tests/test_layers.py"
    for line, imported in imports_of(path):
        top = imported.split(".")[0]
        assert top not in ("examples", "tinygrad_rnn_examples", "notebooks"), (
            f"{path.relative_to(ROOT)}:{line} imports {imported}: the library never imports "
            "its examples")
        theirs = layer_of(imported)
        if theirs is None or imported == "tinygrad_rnn":
            continue
        assert theirs <= mine, (f"{path.relative_to(ROOT)}:{line} ({NAMES[mine]}) imports "
                                f"{imported} ({NAMES[theirs]}): imports must go down the layers")


def test_the_command_loads_no_example_module():
    """Running every sub-command's parser and the hello task loads nothing from examples/."""
    code = ("import sys; from tinygrad_rnn import cli; "
            "cli.main(['hello', '--quick']); cli.train_parser(); cli.build_parser(); "
            "bad = [m for m, mod in sys.modules.items() if 'example' in m or "
            "'examples' in str(getattr(mod, '__file__', '') or '')]; print(bad)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_layer_of_knows_the_order():
    assert layer_of("tinygrad_rnn.kernels") < layer_of("tinygrad_rnn.tensor") \
        < layer_of("tinygrad_rnn.nn.cells") < layer_of("viz.flow") < layer_of("tinygrad_rnn.cli")
    assert layer_of("numpy") is None
