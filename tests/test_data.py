"""Character vocabularies, the built-in corpus, and language-model batching."""

import numpy as np
import pytest

from tinygrad_rnn.data import (CharVocab, DataError, batchify, bptt_windows, load_text,
                               num_windows, split_train_val, stdlib_docstrings)


def test_vocab_round_trip_and_order():
    v = CharVocab.from_text("hello world")
    assert v.chars == [" ", "d", "e", "h", "l", "o", "r", "w"]
    assert v.size == len(v) == 8
    ids = v.encode("hello")
    assert ids.dtype == np.int64 and ids.tolist() == [3, 2, 4, 4, 5]
    assert v.decode(ids) == "hello"
    assert v.decode([]) == ""


def test_vocab_errors_name_the_problem():
    v = CharVocab.from_text("abc")
    with pytest.raises(DataError, match="'z' is not in the vocabulary"):
        v.encode("abz")
    with pytest.raises(DataError, match="outside"):
        v.decode([3])
    with pytest.raises(DataError, match="empty"):
        CharVocab.from_text("")
    with pytest.raises(DataError, match="unique"):
        CharVocab(["a", "a"])


def test_stdlib_corpus_is_deterministic_ascii_and_sized():
    a = stdlib_docstrings(max_chars=20_000)
    b = stdlib_docstrings(max_chars=20_000)
    assert a == b and len(a) == 20_000
    assert set(a) <= set("\n" + "".join(chr(i) for i in range(32, 127)))
    # a longer corpus begins with the shorter one: a fixed reading order
    assert stdlib_docstrings(max_chars=40_000).startswith(a)
    assert " the " in a  # it is English prose
    with pytest.raises(DataError):
        stdlib_docstrings(max_chars=0)


def test_load_text_errors(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("abc\n", encoding="utf-8")
    assert load_text(p) == "abc\n"
    with pytest.raises(DataError, match="no such file"):
        load_text(tmp_path / "missing.txt")
    with pytest.raises(DataError, match="directory"):
        load_text(tmp_path)
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(DataError, match="empty"):
        load_text(tmp_path / "empty.txt")
    (tmp_path / "bin.dat").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(DataError, match="not UTF-8"):
        load_text(tmp_path / "bin.dat")


def test_batchify_makes_contiguous_columns():
    s = batchify(np.arange(23), 4)
    assert s.shape == (5, 4)
    # column b is the b-th contiguous piece of the text; the 3 leftover items are dropped
    assert s[:, 0].tolist() == [0, 1, 2, 3, 4]
    assert s[:, 3].tolist() == [15, 16, 17, 18, 19]
    with pytest.raises(DataError):
        batchify(np.arange(5), 4)


def test_bptt_windows_targets_are_next_step_and_cover_everything():
    s = batchify(np.arange(40), 2)  # (20, 2)
    windows = list(bptt_windows(s, 6))
    assert len(windows) == num_windows(s, 6) == 4  # 19 input steps: 6 + 6 + 6 + 1
    assert [x.shape[0] for x, _ in windows] == [6, 6, 6, 1]
    for x, y in windows:
        assert np.array_equal(y, x + 1)  # the target is the next character
    inputs = np.concatenate([x for x, _ in windows])
    assert np.array_equal(inputs, s[:-1])


def test_split_train_val():
    train, val = split_train_val(np.arange(100), 0.1)
    assert train.tolist() == list(range(90)) and val.tolist() == list(range(90, 100))
    with pytest.raises(DataError):
        split_train_val(np.arange(100), 1.5)
