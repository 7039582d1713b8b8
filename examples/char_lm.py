"""A character language model: read text, learn to predict the next character, then write.

One-hot characters x_t go into a recurrent network (RNN, LSTM or GRU) whose hidden state h_t
feeds a linear output layer, o_t = V h_t + c; softmax(o_t) is the distribution of the next
character. Training is truncated BPTT: the text is cut into parallel streams, walked in windows
of `bptt` steps; the gradient flows back through time within a window, and the hidden state is
carried into the next window without its gradient. After each epoch the validation perplexity
is printed next to what knowing only the character frequencies scores (the unigram baseline).

    python examples/char_lm.py                        # the standard library's docstrings
    python examples/char_lm.py --data book.txt --cell gru --layers 2 --epochs 5
    python examples/char_lm.py --quick                 # a few seconds

`tinygrad-rnn train` runs the same model with checkpoints, resuming and a progress bar.
"""

import math

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import nn, optim
from tinygrad_rnn.charlm import CharModel, evaluate, sample, unigram_perplexity
from tinygrad_rnn.data import (CharVocab, batchify, bptt_windows, load_text, split_train_val,
                               stdlib_docstrings)
from tinygrad_rnn.script import (Parser, hidden_int, positive_float, positive_int, run_main,
                                 seed_int)


def train(text, cell="lstm", hidden_size=128, num_layers=1, bptt=32, batch_size=32, epochs=3,
          lr=3e-3, clip=5.0, max_steps=None, seed=0):
    """Train on `text`; returns (model, vocab, validation perplexity, unigram perplexity)."""
    tg.manual_seed(seed)
    vocab = CharVocab.from_text(text)
    train_ids, val_ids = split_train_val(vocab.encode(text), 0.1)
    streams = batchify(train_ids, batch_size)  # (N, B): B streams side by side
    val_streams = batchify(val_ids, min(batch_size, max(1, len(val_ids) // (bptt + 1))))
    model = CharModel(vocab.size, hidden_size, num_layers, cell)  # one-hot -> RNN -> Linear
    opt = optim.Adam(model.parameters(), lr=lr)
    baseline = unigram_perplexity(train_ids, val_ids, vocab.size)
    for epoch in range(1, epochs + 1):
        state = None
        for step, (x, y) in enumerate(bptt_windows(streams, bptt), start=1):
            logits, state = model(x, state)  # x, y: (bptt, B) character ids; y is x shifted
            loss = F.cross_entropy(logits, y.reshape(-1))
            opt.zero_grad()
            loss.backward()  # BPTT within this window only
            nn.utils.clip_grad_norm_(model.parameters(), clip)  # against exploding gradients
            opt.step()
            state = nn.utils.detach_state(state)  # carry h forward, cut its gradient
            if step == max_steps:
                break
        perplexity = math.exp(evaluate(model, val_streams, bptt))
        print(f"epoch {epoch}: train loss {loss.item():.3f}, validation perplexity "
              f"{perplexity:.2f} (unigram {baseline:.2f})", flush=True)
    return model, vocab, perplexity, baseline


def main(argv=None):
    """Command line: train on a file (or the stdlib's docstrings), then write two samples."""
    p = Parser(prog="char_lm", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", metavar="FILE", help="a UTF-8 text file (default: the docstrings "
                   "of Python's standard library, no download)")
    p.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="lstm")
    p.add_argument("--hidden", type=hidden_int, default=128)
    p.add_argument("--layers", type=positive_int, default=1)
    p.add_argument("--bptt", type=positive_int, default=32, help="window of truncated BPTT")
    p.add_argument("--epochs", type=positive_int, default=3)
    p.add_argument("--lr", type=positive_float, default=3e-3)
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--prompt", default="The ", help="what the samples start from")
    p.add_argument("--quick", action="store_true", help="a small model on 40,000 characters")
    args = p.parse_args(argv)
    max_chars, options = 300_000, {}
    if args.quick:
        max_chars = 40_000
        options = dict(hidden_size=min(args.hidden, 64), batch_size=16, bptt=min(args.bptt, 24),
                       epochs=min(args.epochs, 2), lr=max(args.lr, 1e-2), max_steps=80)
    text = load_text(args.data, max_chars) if args.data else stdlib_docstrings(max_chars)
    if set(args.prompt) - set(text):
        raise ValueError(f"--prompt {args.prompt!r} has characters the text lacks")
    print(f"{len(text):,} characters, {len(set(text))} different; {args.cell} x{args.layers}")
    options = {"cell": args.cell, "hidden_size": args.hidden, "num_layers": args.layers,
               "bptt": args.bptt, "epochs": args.epochs, "lr": args.lr, "seed": args.seed,
               **options}
    model, vocab, _, _ = train(text, **options)
    print("--- greedy ---\n" + sample(model, vocab, args.prompt, 200, temperature=0))
    print("--- temperature 0.8 ---\n" + sample(model, vocab, args.prompt, 200, 0.8, args.seed))
    return 0


if __name__ == "__main__":
    run_main(main, "char_lm")
