"""The hello task (tinygrad_rnn.hello, examples/hello.py, `tinygrad-rnn hello`): PyTorch's
per-epoch losses, learning, the example's own loop, the command line."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

from tinygrad_rnn import cli, hello
from tinygrad_rnn.tensor import topological_order

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
GOLDEN = np.load(FIXTURES / "nn_golden.npz")
RTOL = {"float64": 1e-10, "float32": 1e-5}


def load_example():
    spec = importlib.util.spec_from_file_location("hello_example", ROOT / "examples" / "hello.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example = load_example()


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_the_example_loop_trains_as_the_library_does(cell: str, capsys) -> None:
    """examples/hello.py writes the BPTT loop out for the reader; it must train the cell to
    the same losses as the library's `hello.train` (fused), which the command runs."""
    want = hello.train(cell=cell, epochs=15)
    data = hello.make_data()
    got = example.train(example.make_cell(cell, 4, hello.DEFAULT_SEED), data, epochs=15)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert "predicted" in capsys.readouterr().out


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "per-op"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_losses_match_pytorch_trained_from_the_same_weights(cell: str, dtype: str,
                                                            fused: bool) -> None:
    """PyTorch trained the same cell (bias_hh frozen at zero, so one trainable bias) with
    torch.optim.Adam(lr=0.1); every epoch's loss must agree, on both paths."""
    prefix = f"hello__{cell}__init__"
    init = {k[len(prefix):]: GOLDEN[k] for k in GOLDEN.files if k.startswith(prefix)}
    want = GOLDEN[f"hello__{cell}__{dtype}__losses"]
    losses = np.array(hello.train(cell=cell, init=init, dtype=np.dtype(dtype), epochs=len(want),
                                  fused=fused))
    rel = np.abs(losses - want) / np.abs(want)
    assert rel.max() <= RTOL[dtype], f"worst relative difference {rel.max():.3g} ({dtype})"


def test_default_seed_learns_ohlol() -> None:
    lines: list[str] = []
    losses = hello.train(log=lines.append)
    assert len(losses) == 15 and len(lines) == 15
    assert all("predicted 'ohlol'" in line for line in lines[-5:]), lines[-5:]
    assert losses[-1] < 0.5 * losses[0]
    assert losses[-1] > 1.70  # tanh logits: the summed loss cannot go below about 1.704


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_fused_and_per_op_training_agree(cell: str) -> None:
    """One fused node per sequence and the step-by-step graph train the same cell to the same
    losses (float64, 20 epochs), and predict the same strings."""
    lines = {True: [], False: []}
    losses = {fused: np.array(hello.train(cell=cell, epochs=20, dtype=np.float64, fused=fused,
                                          log=lines[fused].append))
              for fused in (True, False)}
    np.testing.assert_allclose(losses[True], losses[False], rtol=1e-12, atol=0)
    assert lines[True] == lines[False]


def test_per_op_graph_has_a_node_per_step_and_fused_one_node() -> None:
    data = hello.make_data()
    model = hello.make_model()
    per_op, _ = hello.sequence_loss(model, data, fused=False)
    fused, _ = hello.sequence_loss(model, data, fused=True)
    steps = {t.tags["step"] for t in topological_order(per_op) if t.tags and "step" in t.tags}
    assert steps == {1, 2, 3, 4, 5}
    ops = [t.op for t in topological_order(fused) if t.op is not None]
    assert ops.count("rnn_layer") == 1 and ops.count("cross_entropy") == 1
    assert "tanh" not in ops and "cat" not in ops
    np.testing.assert_allclose(per_op.item(), fused.item(), rtol=1e-6)


def test_vocabulary_is_the_sorted_characters_of_both_strings() -> None:
    data = hello.make_data("hello", "ohlol")
    assert data.idx2char == ["e", "h", "l", "o"]
    np.testing.assert_array_equal(data.x.data.argmax(-1).ravel(), [1, 0, 2, 2, 3])
    np.testing.assert_array_equal(data.y, [3, 1, 2, 3, 2])
    assert data.x.shape == (5, 1, 4)
    with pytest.raises(ValueError, match="equal length"):
        hello.make_data("hello", "oh")


def test_other_pairs_and_cells_train() -> None:
    for cell in ("lstm", "gru"):
        losses = hello.train("hlllo", "ohlol", epochs=40, cell=cell)
        assert losses[-1] < losses[0]
    with pytest.raises(ValueError, match="cell must be one of"):
        hello.train(cell="transformer")


def test_command_line_with_pytorch_init_prints_pytorch_first_loss(capsys) -> None:
    assert cli.main(["hello", "--init", str(FIXTURES / "hello_init.npz"), "--quick"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("idx2char = ['e', 'h', 'l', 'o']")
    epochs = [line for line in lines if line.startswith("epoch")]
    assert len(epochs) == 3  # --quick
    first = float(GOLDEN["hello__rnn__float32__losses"][0])
    assert f"loss {first:.4f}" in epochs[0]


def test_render_writes_the_unrolled_graph(tmp_path, capsys) -> None:
    pytest.importorskip("viz")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz `dot` is not installed")
    path = tmp_path / "hello.png"
    assert example.main(["--quick", "--render", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # and the second picture: the loss at the last step only
    assert (tmp_path / "hello_last_step.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out.count("wrote") == 2
