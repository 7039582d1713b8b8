"""The `tinygrad-rnn` command: help for every sub-command, working runs, and one-line errors
(never a traceback) for bad arguments and unreadable files."""

import argparse
import os
import shutil
import subprocess
import sys

import pytest

from tinygrad_rnn import cli

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_cli(*args, cwd=None):
    """Run the command in a fresh process, as a user would; returns the CompletedProcess."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    env.pop("TINYGRAD_RNN_TRACEBACK", None)
    return subprocess.run([sys.executable, "-m", "tinygrad_rnn.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd, env=env)


def assert_one_line_error(proc, *words):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize("command", ["hello", "train", "sample", "render"])
def test_help_for_each_command(command, capsys):
    try:
        code = cli.main([command, "--help"])
    except SystemExit as exit_:  # argparse's own exit after printing the help
        code = exit_.code
    assert code == 0
    assert "usage:" in capsys.readouterr().out


def test_top_level_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for command in ("hello", "train", "sample", "render"):
        assert command in out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny checkpoint made by `tinygrad-rnn train` (in-process, to keep the suite fast)."""
    folder = tmp_path_factory.mktemp("cli")
    data = folder / "text.txt"
    data.write_text("the cat sat on the mat. " * 100, encoding="utf-8")
    ckpt = folder / "lm.npz"
    code = cli.main(["train", "--data", str(data), "--cell", "gru", "--hidden", "16",
                     "--epochs", "1", "--max-steps", "10", "--batch-size", "4", "--bptt", "8",
                     "--length", "5", "--save", str(ckpt), "--no-bar"])
    assert code == 0
    return folder, data, ckpt


def test_train_then_sample(trained):
    folder, _, ckpt = trained
    assert ckpt.is_file()
    proc = run_cli("sample", str(ckpt), "--prompt", "the ", "--length", "20",
                   "--temperature", "0")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.rstrip("\n")
    assert text.startswith("the ") and len(text) == 24


def test_sample_errors_are_one_line(trained, tmp_path):
    folder, data, ckpt = trained
    assert_one_line_error(run_cli("sample", str(tmp_path / "nope.npz")), "no such file")
    assert_one_line_error(run_cli("sample", str(data)), "not a tinygrad_rnn checkpoint")
    assert_one_line_error(run_cli("sample", str(tmp_path)), "directory")
    assert_one_line_error(run_cli("sample", str(ckpt), "--prompt", "XYZ"),
                          "not in the vocabulary")
    assert_one_line_error(run_cli("sample", str(ckpt), "--temperature", "-1"), "--temperature")
    assert_one_line_error(run_cli("sample"), "CHECKPOINT")


def test_train_errors_are_one_line(tmp_path):
    assert_one_line_error(run_cli("train", "--data", str(tmp_path / "missing.txt")),
                          "no such file")
    binary = tmp_path / "bin.dat"
    binary.write_bytes(b"\x00\xff\xfe\x81" * 10)
    assert_one_line_error(run_cli("train", "--data", str(binary)), "not UTF-8")
    assert_one_line_error(run_cli("train", "--cell", "transformer"), "invalid choice")
    assert_one_line_error(run_cli("train", "--hidden", "-3"), "--hidden")
    assert_one_line_error(run_cli("train", "--bogus"), "unrecognized arguments")
    assert_one_line_error(run_cli("train", "--save", str(tmp_path / "no" / "such.npz")),
                          "folder does not exist")


def test_usage_errors_are_one_line():
    assert_one_line_error(run_cli(), "a command is needed")
    assert_one_line_error(run_cli("frobnicate"), "invalid choice")
    assert_one_line_error(run_cli("render", "--cell", "foo"), "invalid choice")
    assert_one_line_error(run_cli("render", "--steps", "0"), "--steps")
    assert_one_line_error(run_cli("hello", "--epochs", "x"), "--epochs")


def test_hello_runs(capsys):
    assert cli.main(["hello", "--quick"]) == 0
    assert "epoch" in capsys.readouterr().out


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs the Graphviz dot program")
def test_render_writes_a_png(tmp_path, capsys):
    out = tmp_path / "graph.png"
    assert cli.main(["render", "--cell", "lstm", "--steps", "3", "--detail", "cells",
                     "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == PNG_SIGNATURE
    assert str(out) in capsys.readouterr().out


def test_render_bad_output_format_is_one_line(tmp_path):
    assert_one_line_error(run_cli("render", "-o", str(tmp_path / "graph.xyz")), "format")


def test_installed_console_script():
    script = os.path.join(os.path.dirname(sys.executable), "tinygrad-rnn")
    if not os.path.exists(script):
        pytest.skip("the tinygrad-rnn script is not installed in this environment")
    proc = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "render" in proc.stdout


# ----- review: bad values caught before any work, naming the option ----------------------------

def _one_error_line(capsys, *words):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    for word in words:
        assert word in lines[0], lines[0]
    return captured.out


def test_hello_rejects_bad_values_before_training(tmp_path, capsys):
    for argv, word in [(["--epochs", "0"], "--epochs"), (["--epochs", "-3"], "--epochs"),
                       (["--seed", "-1"], "--seed")]:
        assert cli.main(["hello", *argv]) == 2
        _one_error_line(capsys, "tinygrad-rnn hello: error:", word)
    assert cli.main(["hello", "--render", str(tmp_path / "graph.gif")]) == 2
    assert "epoch" not in _one_error_line(capsys, "--render", "gif")  # no training first
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 not an npz file")
    assert cli.main(["hello", "--init", str(photo)]) == 2
    _one_error_line(capsys, "--init", "not an .npz file")


def test_hello_help_names_the_command(capsys):
    assert cli.main(["hello", "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: tinygrad-rnn hello ")


def test_negative_seed_names_the_option(trained, capsys):
    _, _, ckpt = trained
    for argv in (["sample", str(ckpt), "--prompt", "the ", "--seed", "-1"],
                 ["render", "--seed", "-1", "-o", "unused.dot"], ["train", "--seed", "-1"]):
        assert cli.main(argv) == 2
        _one_error_line(capsys, "--seed")


def test_train_checks_sampling_options_and_save_path_before_training(trained, tmp_path, capsys):
    _, data, _ = trained
    base = ["train", "--data", str(data), "--hidden", "8", "--epochs", "1", "--max-steps", "2",
            "--batch-size", "4", "--bptt", "8", "--no-bar"]
    for argv, word in [(["--temperature", "-1", "--no-save"], "temperature"),
                       (["--length", "-5", "--no-save"], "length"),
                       (["--save", str(tmp_path)], "is a directory")]:
        assert cli.main(base + argv) == 2
        assert "epoch" not in _one_error_line(capsys, word)  # failed before training
    assert cli.main(base + ["--prompt", "", "--no-save", "--length", "3"]) == 0  # no "\n" in text
    assert "sampling from" in capsys.readouterr().out


def test_train_lr_and_clip_must_be_positive_even_with_quick(capsys):
    # --quick raised lr to at least 1e-2, which turned --lr -1 into a silent 1e-2
    for argv, word in [(["--lr", "-1"], "--lr"), (["--lr", "nan"], "--lr"),
                       (["--clip", "0"], "--clip"), (["--lr", "x"], "expected a number")]:
        assert cli.main(["train", "--quick", "--no-save", *argv]) == 2
        _one_error_line(capsys, word)


def test_resume_with_no_epochs_left_says_so(trained, capsys):
    _, data, ckpt = trained  # the checkpoint is at epoch 1
    assert cli.main(["train", "--data", str(data), "--resume", str(ckpt), "--epochs", "1",
                     "--no-save", "--length", "3", "--no-bar"]) == 0
    assert "nothing to train" in capsys.readouterr().out


def test_resume_refuses_model_options_the_checkpoint_does_not_have(trained, capsys):
    """--resume continues the checkpoint's GRU of 16 units: `--cell lstm` or `--hidden 32` were
    silently ignored (an LSTM asked for, the GRU trained); the checkpoint's own values pass."""
    _, data, ckpt = trained
    base = ["train", "--data", str(data), "--resume", str(ckpt), "--epochs", "2", "--max-steps",
            "2", "--batch-size", "4", "--bptt", "8", "--no-save", "--length", "3", "--no-bar"]
    for argv, word in [(["--cell", "lstm"], "cell='gru'"), (["--hidden", "32"], "hidden_size=16"),
                       (["--layers", "2"], "num_layers=1"), (["--dropout", "0.5"], "dropout=0.0")]:
        assert cli.main(base + argv) == 2
        assert "epoch" not in _one_error_line(capsys, word, "resuming continues")
    assert cli.main(base + ["--cell", "gru", "--hidden", "16"]) == 0
    assert "resumed" in capsys.readouterr().out


def test_sample_starts_from_a_known_character_when_the_default_prompt_has_unknown_ones(
        trained, capsys):
    """The checkpoint's text has no 'T': the default prompt 'The ' failed every `sample` without
    --prompt (as `train`, which falls back to the text's first character, never did); it now
    starts from ' ' and says so. An explicit prompt is still checked, naming --prompt."""
    _, _, ckpt = trained
    assert cli.main(["sample", str(ckpt), "--length", "5", "--temperature", "0"]) == 0
    captured = capsys.readouterr()
    assert "default prompt 'The '" in captured.err
    assert captured.out.startswith(" ") and len(captured.out.rstrip("\n")) == 6
    assert cli.main(["sample", str(ckpt), "--prompt", "The "]) == 2
    _one_error_line(capsys, "--prompt", "'T' not in the vocabulary")


def test_int_at_least_is_the_one_integer_check(capsys):
    """The command and the example scripts share one argparse type, so they word errors alike."""
    parse = cli.int_at_least(2, "an integer >= 2")
    assert parse("2") == 2
    for text in ("1", "x"):
        with pytest.raises(argparse.ArgumentTypeError, match="expected an integer >= 2"):
            parse(text)
    for argv, word in [(["hello", "--epochs", "0"], "--epochs"),
                       (["train", "--layers", "0"], "--layers")]:
        assert cli.main(argv) == 2
        _one_error_line(capsys, word, "expected a positive integer, got 0")


def test_train_without_tqdm_names_the_extra_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if the extra were not installed
    data = tmp_path / "text.txt"
    data.write_text("the cat sat on the mat. " * 50, encoding="utf-8")
    code = cli.main(["train", "--data", str(data), "--hidden", "8", "--epochs", "1",
                     "--max-steps", "2", "--batch-size", "2", "--bptt", "4", "--length", "3",
                     "--no-save"])
    assert code == 0
    err = capsys.readouterr().err
    assert err.startswith("tinygrad-rnn train: no progress bar: tqdm")
    assert "tinygrad-rnn[examples]" in err
