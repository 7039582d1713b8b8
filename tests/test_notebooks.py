"""The notebooks in notebooks/ run from top to bottom without an error, and are stored in git
with their outputs stripped (so diffs show only what a person wrote)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SLOW = {"03_vanishing_exploding.ipynb", "04_lstm_gru.ipynb", "05_truncated_bptt.ipynb",
        "06_sequence_shapes.ipynb"}  # about 10-40 s each: run by .ci/run (make test-slow)


def _params():
    return [pytest.param(nb, id=nb.stem, marks=[pytest.mark.slow] if nb.name in SLOW else [])
            for nb in NOTEBOOKS]


def test_there_are_seven_numbered_notebooks():
    assert [nb.name[:3] for nb in NOTEBOOKS] == [f"0{i}_" for i in range(1, 8)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_outputs_are_stripped(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for i, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None, (
                f"{path.name}: cell {i} has stored outputs; clear them before committing "
                "(Jupyter: Edit > Clear All Outputs, or `jupyter nbconvert --clear-output "
                "--inplace notebooks/*.ipynb`)")


@pytest.mark.parametrize("path", _params())
def test_notebook_runs_without_error(path, tmp_path):
    nbformat = pytest.importorskip("nbformat", reason="needs the `notebooks` extra")
    nbclient = pytest.importorskip("nbclient", reason="needs the `notebooks` extra")
    pytest.importorskip("ipykernel", reason="needs the `notebooks` extra")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError naming the cell at the first error
    seconds = time.perf_counter() - start
    errors = [out for cell in notebook.cells if cell.cell_type == "code"
              for out in cell.outputs if out.get("output_type") == "error"]
    assert not errors, errors
    assert seconds < 120, f"{path.name} took {seconds:.0f} s; a notebook should run in a minute"
