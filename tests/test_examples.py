"""Every example runs with --quick and reports what it should: losses fall, the char LM beats
the unigram baseline, seq2seq reaches its stated accuracy, the gradient study shows vanishing
and exploding gradients, and the pictures are written."""

import collections
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_rnn import charlm, cli
from tinygrad_rnn.data import stdlib_docstrings

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name):
    """Import examples/<name>.py as a module (the examples are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Run the small training loops with one BLAS thread: their matrices are tiny, and a
    multi-threaded BLAS spinning against other processes on 2 cores makes them many times
    slower (nothing here asserts a speed; this only keeps the suite quick)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def fell(losses, margin):
    """The mean of the last 10 losses is below the mean of the first 10 by `margin`."""
    return np.mean(losses[-10:]) < np.mean(losses[:10]) - margin


@pytest.mark.parametrize("name", ["char_lm", "many_to_one", "one_to_many", "seq2seq",
                                  "vanishing_gradients"])
def test_every_example_has_help(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        load_example(name).main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--quick" in out and "--seed" in out


# ----- char_lm ----------------------------------------------------------------------------------

def unigram_perplexity_of(text):
    """exp(entropy) of the character frequencies of `text`: the best any model that ignores
    context can do on this very text (fitted and scored on the same characters)."""
    counts = np.array(list(collections.Counter(text).values()), dtype=np.float64)
    p = counts / counts.sum()
    return math.exp(-(p * np.log(p)).sum())


def test_char_lm_example_beats_the_unigram_baseline():
    text = stdlib_docstrings(40_000)
    model, vocab, perplexity, baseline = load_example("char_lm").train(
        text, hidden_size=64, batch_size=16, bptt=24, epochs=2, lr=1e-2, max_steps=80)
    assert perplexity < baseline  # context helps: better than character frequencies alone
    assert vocab.size == len(set(text))


def test_train_command_quick_beats_the_unigram_baseline_and_samples(tmp_path):
    args = cli.train_parser().parse_args(
        ["--quick", "--max-chars", "40000", "--no-bar", "--save", str(tmp_path / "lm.npz"),
         "--prompt", "Return "])
    result = cli.train_from_args(args)
    baseline = unigram_perplexity_of(stdlib_docstrings(40_000))
    assert fell(result["step_losses"], 0.4)
    assert len(result["epochs"]) == 2
    assert result["val_perplexity"] < baseline  # uses context, so beats any unigram model
    assert result["epochs"][1]["val_perplexity"] < result["epochs"][0]["val_perplexity"]
    for text in result["samples"].values():
        assert text.startswith("Return ") and len(text) == len("Return ") + 60
    assert (tmp_path / "lm.npz").is_file()


def test_char_lm_resume_continues_exactly(tmp_path):
    """Two epochs in one go equal one epoch, a checkpoint, and a resumed second epoch."""
    char_lm = charlm
    common = dict(max_chars=20_000, hidden_size=32, batch_size=8, bptt=16, max_steps=15,
                  lr=1e-2, sample_length=5, bar=False, cell="gru")
    whole = char_lm.train(epochs=2, save=None, **common)
    path = str(tmp_path / "half.npz")
    char_lm.train(epochs=1, save=path, **common)
    resumed = char_lm.train(epochs=2, save=path, resume=path, **common)
    assert [e["epoch"] for e in resumed["epochs"]] == [1, 2]
    np.testing.assert_allclose(resumed["step_losses"], whole["step_losses"][15:], rtol=1e-5)
    assert resumed["val_perplexity"] == pytest.approx(whole["val_perplexity"], rel=1e-5)
    assert resumed["samples"] == whole["samples"]


def test_char_lm_on_a_file_and_its_errors(tmp_path, capsys):
    char_lm = charlm
    data = tmp_path / "abc.txt"
    data.write_text("abcabcabc " * 300, encoding="utf-8")
    result = char_lm.train(data=str(data), hidden_size=16, batch_size=4, bptt=10, epochs=1,
                           max_steps=40, lr=2e-2, sample_length=9, prompt="abc", bar=False)
    assert result["vocab_size"] == 4
    assert result["samples"]["greedy"] == "abcabcabcabc"  # the pattern is learned
    assert cli.main(["train", "--data", str(tmp_path / "missing.txt"), "--no-save"]) == 2
    assert "no such file" in capsys.readouterr().err
    resume_bad = tmp_path / "not_a_checkpoint.npz"
    resume_bad.write_text("hello")
    assert cli.main(["train", "--data", str(data), "--resume", str(resume_bad),
                     "--no-save"]) == 2
    assert "not a tinygrad_rnn checkpoint" in capsys.readouterr().err


def test_char_lm_plain_progress_fallback(capsys):
    char_lm = charlm
    bar = char_lm.progress(range(20), 20, "epoch 1", bar=False)
    assert list(bar) == list(range(20))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 10 and lines[-1].startswith("epoch 1: 20/20")


# ----- the sequence shapes ----------------------------------------------------------------------

def test_many_to_one_quick_learns_sine_frequencies():
    m2o = load_example("many_to_one")
    result = m2o.run(task="sine", steps=120, length=20, seed=0, log_every=1000)
    assert fell(result["losses"], 0.5)
    assert result["accuracy"] >= 0.9 and result["chance"] == 0.25


def test_many_to_one_count_task_beats_chance():
    m2o = load_example("many_to_one")
    result = m2o.run(task="count", length=8, steps=120, seed=0, log_every=1000)
    assert result["chance"] == pytest.approx(70 / 256)  # C(8, 4) / 2^8
    assert fell(result["losses"], 0.3) and result["accuracy"] > 2 * result["chance"]


def test_one_to_many_quick_spells_the_numbers_it_learned():
    o2m = load_example("one_to_many")
    assert o2m.number_name(42) == "forty two" and o2m.number_name(13) == "thirteen"
    result = o2m.run(steps=120, seed=0, log_every=1000)
    assert fell(result["losses"], 10.0)
    assert result["train_accuracy"] >= 0.9
    assert len(result["test_words"]) == 12


def test_seq2seq_quick_reverses_fresh_strings():
    """Stated accuracy: at least 90% exact match on fresh strings of 3-4 letters."""
    s2s = load_example("seq2seq")
    result = s2s.run(task="reverse", min_len=3, max_len=4, steps=200, hidden_size=64, lr=1e-2,
                     seed=0, log_every=1000)
    assert fell(result["losses"], 1.0)
    assert result["accuracy"] >= 0.9
    for source, decoded, expected in result["examples"]:
        assert expected == source[::-1]


def test_seq2seq_main_quick(capsys):
    assert load_example("seq2seq").main(["--quick", "--task", "sort", "--steps", "30"]) == 0
    assert "exact match" in capsys.readouterr().out


# ----- the gradient study -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def study(tmp_path_factory):
    vg = load_example("vanishing_gradients")
    out = tmp_path_factory.mktemp("study")
    return vg.run(steps=20, hidden_size=16, train_steps=120, out=str(out), graphs=False)


def test_study_radius_orders_the_jacobian_product_and_the_lstm_forgets_least(study):
    views, falls = study["views"], study["decades"]
    product = {k: v["jacobians"].product_norm[-1] for k, v in views.items()}
    assert (product["tanh RNN, radius 0.9"] < product["tanh RNN, radius 1"]
            < product["tanh RNN, radius 1.5"])
    for label, v in views.items():  # causal: nothing above the diagonal, all of it below
        c = v["connectivity"]
        assert c.shape == (20, 20) and np.all(np.triu(c, 1) == 0)
        assert np.all(c[np.tril_indices(20)] > 0)
    assert falls["LSTM, forget bias 1"] < falls["tanh RNN, radius 0.9"]
    lstm = views["LSTM, forget bias 1"]["jacobians"]
    assert lstm.cell_product_norm[-1] > 1e3 * lstm.product_norm[-1]  # the highway


def test_clipping_keeps_training_stable(study):
    clipped, unclipped = study["clipping"]["clipped to 1"], study["clipping"]["not clipped"]
    assert fell(clipped["losses"], 0.5)
    assert np.mean(clipped["losses"][-10:]) < np.mean(unclipped["losses"][-10:])
    assert max(clipped["losses"][10:]) < max(unclipped["losses"][10:])  # no spikes


def test_study_writes_pngs(study):
    names = sorted(f.rsplit("/", 1)[-1] for f in study["files"])
    assert names == ["clipping.png", "connectivity.png", "jacobians_gated.png",
                     "jacobians_radius.png", "step_norms.png", "units.png"]
    for f in study["files"]:
        with open(f, "rb") as fh:
            head = fh.read(8)
        assert head == PNG_SIGNATURE


def test_study_without_matplotlib_says_so(monkeypatch, tmp_path, capsys):
    vg = load_example("vanishing_gradients")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    code = vg.main(["--quick", "--train-steps", "2", "--steps", "4", "--no-graphs",
                    "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "matplotlib" in err and "--no-plots" in err
    assert len(err.strip().splitlines()) == 1


def test_char_lm_tqdm_progress_bar_yields_everything():
    pytest.importorskip("tqdm")
    char_lm = charlm
    bar = char_lm.progress(iter(range(7)), 7, "epoch 1", bar=True)
    assert type(bar).__name__ == "tqdm"
    assert list(bar) == list(range(7))
    bar.close()


# ----- review: bad values are errors, not defaults or tracebacks -------------------------------

def test_many_to_one_zero_steps_or_length_is_an_error_not_the_default(capsys):
    m2o = load_example("many_to_one")
    for argv, word in [(["--steps", "0"], "steps"), (["--length", "0"], "length")]:
        assert m2o.main(argv) == 2
        captured = capsys.readouterr()
        assert word in captured.err and "step" not in captured.out  # nothing trained


def test_one_to_many_with_nothing_held_out():
    o2m = load_example("one_to_many")
    result = o2m.run(steps=2, held_out=0, log_every=1)
    assert result["test_numbers"] == [] and result["test_words"] == []
    assert math.isnan(result["test_accuracy"])


def test_hello_script_bad_input_is_one_line_without_traceback(tmp_path):
    import pathlib
    import subprocess

    script = pathlib.Path(__file__).resolve().parent.parent / "examples" / "hello.py"
    for argv in (["--input", "abc", "--target", "ab"], ["--init", str(tmp_path / "no.npz")]):
        proc = subprocess.run([sys.executable, str(script), *argv], capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
        assert proc.stderr.startswith("hello: error:")


def test_char_lm_unwritable_save_folder_fails_before_training(tmp_path, monkeypatch, capsys):
    char_lm = charlm
    monkeypatch.setattr(char_lm.os, "access", lambda path, mode: False)
    with pytest.raises(ValueError, match="not writable"):
        char_lm.train(data=None, save=str(tmp_path / "lm.npz"))
    assert "epoch" not in capsys.readouterr().out


def test_hello_script_without_graphviz_is_one_line(tmp_path):
    import os
    import pathlib
    import subprocess

    script = pathlib.Path(__file__).resolve().parent.parent / "examples" / "hello.py"
    env = {**os.environ, "PATH": str(tmp_path)}  # no `dot` on this PATH
    proc = subprocess.run([sys.executable, str(script), "--quick", "--render",
                           str(tmp_path / "g.png")], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "apt-get install graphviz" in proc.stderr
    assert (tmp_path / "g.dot").is_file()


@pytest.mark.parametrize("name", ["many_to_one", "one_to_many", "seq2seq",
                                  "vanishing_gradients"])
def test_negative_seed_is_named(name, capsys):
    argv = ["--quick", "--seed", "-1"] + (["--no-plots", "--no-graphs"]
                                          if name == "vanishing_gradients" else [])
    assert load_example(name).main(argv) == 2
    err = capsys.readouterr().err
    assert "seed must be >= 0" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("name", ["char_lm", "many_to_one", "one_to_many", "seq2seq"])
def test_sizes_too_large_for_memory_are_one_line(name):
    """`python examples/X.py --hidden 100000000` is one line on stderr, never a traceback (and
    is refused before anything is allocated: one_to_many once asked for 8 GB and was killed)."""
    import subprocess

    proc = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), "--hidden", "100000000"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{name}: error:"), proc.stderr
    assert "--hidden" in lines[0] and "100000000" in lines[0], lines[0]


def test_no_example_reaches_into_the_command_or_sys_path():
    for path in sorted(EXAMPLES.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "sys.path" not in text, f"{path.name} edits sys.path"
        assert "tinygrad_rnn.cli" not in text, f"{path.name} imports the command's module"
