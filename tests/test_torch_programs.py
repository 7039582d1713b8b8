"""PyTorch programs run here with only their import lines changed (issue 12's promise).

tests/torch_programs/ holds small programs in the style of the PyTorch tutorials, plus the
seed's hello program verbatim (shared/SOURCES.md). Each is run twice in a fresh process: under
PyTorch as written (when PyTorch is installed), and with its import lines rewritten to
tinygrad_rnn and nothing else; both must finish and print a falling loss (`loss=...` lines).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "tests" / "torch_programs"
IMPORTS = [  # (PyTorch's import line, the line that replaces it here)
    ("import torch", "import tinygrad_rnn as torch"),
    ("import torch.nn as nn", "from tinygrad_rnn import nn"),
    ("import torch.nn.functional as F", "import tinygrad_rnn.functional as F"),
    ("from torch import optim", "from tinygrad_rnn import optim"),
    ("import torch.optim as optim", "from tinygrad_rnn import optim"),
]
SLOW = pytest.mark.slow
CASES = [  # (program, arguments, marks for the run here)
    ("hello.py", [], []),
    ("char_rnn_classify.py", [], []),
    ("name_generator.py", [], []),
    ("word_lm.py", ["LSTM"], []),
    ("word_lm.py", ["GRU"], []),
    ("word_lm.py", ["RNN_TANH"], []),
    ("seq2seq.py", [], []),
    ("sine_gru.py", [], []),
    ("pos_tagger.py", [], []),
    ("packed_sentiment.py", [], []),
    ("scratch_gru_lm.py", [], []),
    ("masked_seq_gru.py", [], []),
    ("char_gru_sampler.py", [], []),
    ("attention_seq2seq.py", [], []),
    ("lstm_classifier.py", [], [SLOW]),
]


def rewrite_imports(source: str) -> str:
    """The program with its PyTorch import lines replaced, every other line unchanged."""
    table = dict(IMPORTS)
    lines = []
    for line in source.splitlines():
        if line in table:
            line = table[line]
        elif line.startswith("from torch.utils.data import "):
            line = "from tinygrad_rnn.utils.data import " + line.split(" import ", 1)[1]
        elif line.startswith("from torch.nn.utils.rnn import "):
            line = "from tinygrad_rnn.nn.utils.rnn import " + line.split(" import ", 1)[1]
        lines.append(line)
    return "\n".join(lines) + "\n"


def run(source: str, args: list[str], tmp_path: Path) -> str:
    script = tmp_path / "program.py"
    script.write_text(source)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, f"the program failed:\n{proc.stderr[-3000:]}"
    return proc.stdout


def assert_loss_falls(stdout: str) -> None:
    losses = [float(v) for v in re.findall(r"loss=([0-9.]+)", stdout)]
    assert len(losses) >= 4, f"expected loss=... lines, got:\n{stdout[-1000:]}"
    first, last = sum(losses[:2]) / 2, sum(losses[-2:]) / 2
    assert last < first, f"the loss did not fall: {losses}"


def test_rewrite_changes_only_import_lines() -> None:
    for path in sorted(PROGRAMS.glob("*.py")):
        before = path.read_text().splitlines()
        after = rewrite_imports(path.read_text()).splitlines()
        changed = [(a, b) for a, b in zip(before, after) if a != b]
        assert len(before) == len(after) and changed, path.name
        assert all(a.startswith(("import torch", "from torch")) for a, _ in changed), path.name
        assert "torch" not in " ".join(b.replace("as torch", "") for _, b in changed)


def test_hello_is_the_seed_program_verbatim() -> None:
    found = [d / "shared" / "SOURCES.md" for d in ROOT.parents
             if (d / "shared" / "SOURCES.md").exists()]
    if not found:
        pytest.skip("shared/SOURCES.md (the seed's sources) is not above this checkout")
    text = found[0].read_text()
    program = text.split("```python\n")[-1].split("```")[0]
    assert (PROGRAMS / "hello.py").read_text() == program


@pytest.mark.parametrize("name, args", [pytest.param(n, a, marks=m, id=f"{n}{a}")
                                        for n, a, m in CASES])
def test_runs_here_with_only_imports_changed(name: str, args: list[str], tmp_path) -> None:
    source = rewrite_imports((PROGRAMS / name).read_text())
    assert_loss_falls(run(source, args, tmp_path))


@SLOW
@pytest.mark.parametrize("name, args", [pytest.param(n, a, id=f"{n}{a}") for n, a, _ in CASES])
def test_runs_under_pytorch(name: str, args: list[str], tmp_path) -> None:
    pytest.importorskip("torch")
    assert_loss_falls(run((PROGRAMS / name).read_text(), args, tmp_path))
