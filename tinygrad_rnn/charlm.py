"""A character language model: what `tinygrad-rnn train` and `tinygrad-rnn sample` run.

    from tinygrad_rnn.charlm import CharModel, train, sample, load_checkpoint

The model is the one of the source material, stacked: one-hot characters x_t go into a
recurrent network (RNN, LSTM or GRU, `num_layers` deep) whose top hidden state h_t feeds a linear
output layer o_t = V h_t + c; softmax(o_t) is the distribution of the next character, and the
loss is the cross-entropy averaged over every step of every stream.

Training uses truncated BPTT: the text is cut into `batch_size` parallel streams, walked in
windows of `bptt` steps; within a window the gradient flows back through time, and between
windows the hidden state is carried forward but detached (no gradient flows across the cut).
Gradients are clipped to a global norm of `clip` before each Adam step. After every epoch the
perplexity exp(mean cross-entropy) on the held-out last 10% of the text is printed (a model that
knows nothing scores the vocabulary size; one that knows only character frequencies scores the
unigram perplexity, also printed), and a checkpoint is written.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any, Iterable, Iterator

import numpy as np

from tinygrad_rnn import checkpoint, nn, optim
from tinygrad_rnn import functional as F
from tinygrad_rnn.data import (CharVocab, DataError, batchify, bptt_windows, load_text,
                               num_windows, split_train_val, stdlib_docstrings)
from tinygrad_rnn.modes import no_grad
from tinygrad_rnn.random import manual_seed
from tinygrad_rnn.tensor import Tensor

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class CharModel(nn.Module):
    """One-hot characters -> stacked recurrent layers -> linear layer -> next-character logits."""

    def __init__(self, vocab_size: int, hidden_size: int = 128, num_layers: int = 1,
                 cell: str = "lstm", dropout: float = 0.0) -> None:
        if cell not in CELLS:
            raise ValueError(f"CharModel: cell must be one of {sorted(CELLS)}, got {cell!r}")
        self.vocab_size, self.hidden_size, self.cell = vocab_size, hidden_size, cell
        self.rnn = CELLS[cell](vocab_size, hidden_size, num_layers=num_layers, dropout=dropout)
        self.head = nn.Linear(hidden_size, vocab_size)  # o_t = V h_t + c

    def forward(self, ids: np.ndarray, state: Any = None) -> tuple[Tensor, Any]:
        """ids (T, B) of character indices -> (logits (T*B, vocab), final state)."""
        T, B = ids.shape
        x = F.one_hot(ids, self.vocab_size)  # (T, B, V)
        out, state = self.rnn(x, state)  # out (T, B, H): the top layer's h_t
        return self.head(out.reshape(T * B, self.hidden_size)), state


# ----- progress -----------------------------------------------------------------------------

class _PlainBar:
    """A stand-in for tqdm: prints a line at every tenth of the way, then a final line."""

    def __init__(self, iterable: Iterable, total: int, desc: str) -> None:
        self.iterable, self.total, self.desc, self.postfix = iterable, total, desc, ""
        self.start = time.perf_counter()

    def __iter__(self) -> Iterator:
        marks = {max(1, round(self.total * k / 10)) for k in range(1, 11)}
        for i, item in enumerate(self.iterable, start=1):
            yield item
            if i in marks:
                elapsed = time.perf_counter() - self.start
                print(f"{self.desc}: {i}/{self.total} [{elapsed:.1f}s] {self.postfix}", flush=True)

    def set_postfix_str(self, text: str) -> None:
        self.postfix = text

    def close(self) -> None:
        pass


def progress(iterable: Iterable, total: int, desc: str, bar: bool = True) -> Any:
    """A tqdm progress bar over `iterable` when tqdm is installed and `bar`, else plain lines."""
    if bar:
        try:
            from tqdm import tqdm
        except ImportError:
            pass
        else:
            return tqdm(iterable, total=total, desc=desc, leave=True, dynamic_ncols=True)
    return _PlainBar(iterable, total, desc)


# ----- training and evaluation --------------------------------------------------------------

def evaluate(model: CharModel, streams: np.ndarray, bptt: int) -> float:
    """Mean cross-entropy (nats per character) of the model on (N, B) streams, no gradients."""
    model.eval()
    total, count, state = 0.0, 0, None
    with no_grad():
        for x, y in bptt_windows(streams, bptt):
            logits, state = model(x, state)
            total += F.cross_entropy(logits, y.reshape(-1), reduction="sum").item()
            count += y.size
    model.train()
    return total / count


def sample(model: CharModel, vocab: CharVocab, prompt: str, length: int = 200,
           temperature: float = 0.0, seed: int = 0) -> str:
    """Continue `prompt` by `length` characters. temperature 0 is greedy (argmax at each step);
    otherwise each character is drawn from softmax(logits / temperature)."""
    if temperature < 0:
        raise ValueError(f"sample: temperature must be >= 0, got {temperature}")
    if length < 0:
        raise ValueError(f"sample: length must be >= 0, got {length}")
    prompt = prompt or "\n"
    ids = vocab.encode(prompt)  # a character outside the vocabulary is a clear error
    rng = np.random.default_rng(seed)
    model.eval()
    out: list[int] = []
    with no_grad():
        logits, state = model(ids.reshape(-1, 1))  # read the whole prompt, keep the last state
        for _ in range(length):
            last = logits.data[-1].astype(np.float64)
            if temperature == 0:
                nxt = int(np.argmax(last))
            else:
                p = np.exp((last - last.max()) / temperature)
                nxt = int(rng.choice(len(p), p=p / p.sum()))
            out.append(nxt)
            logits, state = model(np.array([[nxt]]), state)  # feed the choice back in
    model.train()
    return prompt + vocab.decode(out)


def unigram_perplexity(train_ids: np.ndarray, val_ids: np.ndarray, vocab_size: int) -> float:
    """Perplexity on val of the model that only knows character frequencies in train
    (add-one smoothed): the bar a sequence model must get under."""
    counts = np.bincount(train_ids, minlength=vocab_size) + 1.0
    logp = np.log(counts / counts.sum())
    return float(np.exp(-logp[val_ids].mean()))


def read_metadata(path: str) -> dict[str, Any]:
    """The metadata of a char_lm checkpoint, read before a model exists to load it into."""
    try:
        meta = checkpoint.read_metadata(path)
    except (OSError, ValueError) as e:  # missing file, directory, not a checkpoint, bad JSON
        raise DataError(str(e).removeprefix("load: ")) from None
    missing = [k for k in ("vocab", "cell", "hidden_size", "num_layers") if k not in meta]
    if not isinstance(meta, dict) or missing:
        raise DataError(f"{path!r} is not a char_lm checkpoint (its metadata lacks {missing})")
    return meta


def model_from_metadata(meta: dict[str, Any]) -> tuple[CharModel, CharVocab]:
    """An untrained model of the shape the checkpoint metadata describes, and its vocabulary."""
    vocab = CharVocab(meta["vocab"])
    model = CharModel(len(vocab), int(meta["hidden_size"]), int(meta["num_layers"]),
                      str(meta["cell"]), float(meta.get("dropout", 0.0)))
    return model, vocab


def load_checkpoint(path: str) -> tuple[CharModel, CharVocab, dict[str, Any]]:
    """Rebuild the model saved by `train` at `path`: (model, vocabulary, metadata)."""
    meta = read_metadata(path)
    model, vocab = model_from_metadata(meta)
    checkpoint.load(path, model)
    return model, vocab, meta


def train(data: str | None = None, cell: str | None = None, hidden_size: int | None = None,
          num_layers: int | None = None, bptt: int = 32, batch_size: int = 32, epochs: int = 3,
          lr: float = 3e-3, clip: float = 5.0, dropout: float | None = None,
          max_chars: int = 300_000,
          max_steps: int | None = None, seed: int = 0, save: str | None = None,
          resume: str | None = None, prompt: str = "The ", sample_length: int = 200,
          temperature: float = 0.8, bar: bool = True) -> dict[str, Any]:
    """Train a character LM and return what happened.

    Returns a dict with "epochs" (one entry per epoch: train loss, validation cross-entropy and
    perplexity, steps, seconds), "step_losses" (every step's loss), "val_perplexity" (after the
    last epoch), "unigram_perplexity", "vocab_size", "samples" ({"greedy", "temperature"}) and
    "checkpoint" (the path written, or None).

    The model's options cell, hidden_size, num_layers and dropout default to "lstm", 128, 1 and
    0.0, or, with `resume`, to the checkpoint's: a value given that differs from the
    checkpoint's is an error (the resumed model cannot change).
    """
    model_options = {"cell": cell, "hidden_size": hidden_size, "num_layers": num_layers,
                     "dropout": dropout}  # None: the default, or the checkpoint's
    cell, hidden_size = cell or "lstm", 128 if hidden_size is None else hidden_size
    num_layers, dropout = 1 if num_layers is None else num_layers, dropout or 0.0
    for name, value in [("hidden_size", hidden_size), ("num_layers", num_layers), ("bptt", bptt),
                        ("batch_size", batch_size), ("epochs", epochs), ("max_chars", max_chars)]:
        if value <= 0:
            raise ValueError(f"char_lm: {name} must be positive, got {value}")
    if lr <= 0 or clip <= 0:
        raise ValueError(f"char_lm: lr and clip must be positive, got lr={lr}, clip={clip}")
    if not temperature >= 0 or sample_length < 0:  # checked now, not after training
        raise ValueError(f"char_lm: temperature and sample length must be >= 0, got "
                         f"temperature={temperature}, length={sample_length}")
    if save and not os.path.isdir(os.path.dirname(os.path.abspath(save))):
        raise DataError(f"cannot save to {save!r}: its folder does not exist")  # fail early
    if save and os.path.isdir(save):
        raise DataError(f"cannot save to {save!r}: it is a directory")
    if save and not os.access(os.path.dirname(os.path.abspath(save)), os.W_OK):
        raise DataError(f"cannot save to {save!r}: its folder is not writable")
    manual_seed(seed)
    text = load_text(data, max_chars) if data else stdlib_docstrings(max_chars)
    source = data or f"stdlib docstrings ({len(text):,} characters)"

    start_epoch, history = 1, []
    if resume:
        meta = read_metadata(resume)
        model, vocab = model_from_metadata(meta)
        start_epoch = int(meta.get("epoch", 0)) + 1
        history = list(meta.get("history", []))
        unknown = sorted(set(text) - set(vocab.chars))
        if unknown:
            raise DataError(f"the text has characters the checkpoint's vocabulary lacks: "
                            f"{''.join(unknown[:10])!r}")
        cell, hidden_size, num_layers = model.cell, model.hidden_size, model.rnn.num_layers
        dropout = float(meta.get("dropout", 0.0))
        held = {"cell": cell, "hidden_size": hidden_size, "num_layers": num_layers,
                "dropout": dropout}
        asked = {k: v for k, v in model_options.items() if v is not None and v != held[k]}
        if asked:
            raise DataError(f"the checkpoint {resume!r} holds a model with "
                            + ", ".join(f"{k}={held[k]!r}" for k in asked) + ", not "
                            + ", ".join(f"{k}={v!r}" for k, v in asked.items())
                            + ": resuming continues the checkpoint's model (leave those options "
                            "out), or train a new one without resume")
    else:
        vocab = CharVocab.from_text(text)
        model = CharModel(vocab.size, hidden_size, num_layers, cell, dropout)
    opt = optim.Adam(model.parameters(), lr=lr)
    if resume:
        checkpoint.load(resume, model, opt)  # weights, Adam's moments and step counts
        print(f"resumed {resume} after epoch {start_epoch - 1}")
        if start_epoch > epochs:
            print(f"nothing to train: epochs={epochs} is the total, and the checkpoint has "
                  f"{start_epoch - 1} already")

    train_ids, val_ids = split_train_val(vocab.encode(text), 0.1)
    train_streams = batchify(train_ids, batch_size)
    val_streams = batchify(val_ids, min(batch_size, max(1, len(val_ids) // (bptt + 1))))
    baseline = unigram_perplexity(train_ids, val_ids, vocab.size)
    print(f"data: {source}; vocabulary {vocab.size}; model {cell} x{num_layers}, hidden "
          f"{hidden_size}; unigram perplexity {baseline:.2f}")

    steps_per_epoch = num_windows(train_streams, bptt)
    if max_steps is not None:
        steps_per_epoch = min(steps_per_epoch, max_steps)
    step_losses: list[float] = []
    for epoch in range(start_epoch, epochs + 1):
        t0, state, total = time.perf_counter(), None, 0.0
        windows = bptt_windows(train_streams, bptt)
        pbar = progress((next(windows) for _ in range(steps_per_epoch)), steps_per_epoch,
                        f"epoch {epoch}/{epochs}", bar)
        for x, y in pbar:
            logits, state = model(x, state)
            loss = F.cross_entropy(logits, y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            state = nn.utils.detach_state(state)  # truncated BPTT: keep the value, cut the graph
            step_losses.append(loss.item())
            total += step_losses[-1]
            pbar.set_postfix_str(f"loss {step_losses[-1]:.3f}")
        pbar.close()
        val_ce = evaluate(model, val_streams, bptt)
        record = {"epoch": epoch, "train_loss": total / steps_per_epoch, "val_loss": val_ce,
                  "val_perplexity": math.exp(val_ce), "steps": steps_per_epoch,
                  "seconds": time.perf_counter() - t0}
        history.append(record)
        print(f"epoch {epoch}: train loss {record['train_loss']:.3f}, validation perplexity "
              f"{record['val_perplexity']:.2f} (unigram {baseline:.2f}), "
              f"{record['seconds']:.1f}s", flush=True)
        if save:
            meta = {"vocab": vocab.chars, "cell": cell, "hidden_size": hidden_size,
                    "num_layers": num_layers, "dropout": dropout, "epoch": epoch,
                    "seed": seed, "history": history}
            checkpoint.save(save, model, opt, **meta)
            print(f"saved {save}")

    prompt = prompt or "\n"  # what `sample` starts an empty prompt from
    unknown = sorted(set(prompt) - set(vocab.chars))
    if unknown:  # e.g. the default "The " on a lower-case text: start from its first character
        print(f"the prompt {prompt!r} has characters the text lacks ({''.join(unknown)!r}); "
              f"sampling from {text[0]!r} instead")
        prompt = text[0]
    samples = {"greedy": sample(model, vocab, prompt, sample_length, 0.0, seed),
               "temperature": sample(model, vocab, prompt, sample_length, temperature, seed)}
    print(f"--- greedy sample ---\n{samples['greedy']}")
    print(f"--- sample at temperature {temperature} ---\n{samples['temperature']}")
    final = history[-1]["val_perplexity"] if history else float("nan")
    return {"epochs": history, "step_losses": step_losses, "val_perplexity": final,
            "unigram_perplexity": baseline, "vocab_size": vocab.size, "samples": samples,
            "checkpoint": save}
