"""A word-level language model's training step as PyTorch's examples/word_language_model writes
it: tinygrad_rnn against PyTorch, one thread, interleaved in one process.

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_word_lm.py
    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_word_lm.py --vocab 10000

The model (the example's defaults scaled to a synthetic corpus): `nn.Embedding(V, 128)` and
dropout 0.2, a 2-layer `nn.LSTM(128, 128, dropout=0.2)`, dropout, `nn.Linear(128, V)`, then
`F.log_softmax` and `nn.NLLLoss` (the example's `log_softmax` + NLL pair, not `cross_entropy`);
a batch of 20 sequences of 35 words, the hidden state carried over (detached), gradients clipped
to norm 0.25 (`clip_grad_norm_`), SGD at lr 20. The same code runs on both libraries (`torch` is
PyTorch or tinygrad_rnn). Prints the median ms over rounds (± half the spread of the middle half)
and the median ratio tinygrad / PyTorch (no target: the issue-14 targets are for bench_rnn.py's
character model).
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

import numpy as np
from bench_rnn import interleaved, ratio, spread

import tinygrad_rnn as tg

EMBED, HIDDEN, LAYERS, BATCH, STEPS = 128, 128, 2, 20, 35


def word_lm_step(torch: Any, vocab: int, words: np.ndarray) -> Callable[[], None]:
    """One training step of the example's model; `torch` is PyTorch or tinygrad_rnn."""
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(0)

    class RNNModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.drop = nn.Dropout(0.2)
            self.encoder = nn.Embedding(vocab, EMBED)
            self.rnn = nn.LSTM(EMBED, HIDDEN, LAYERS, dropout=0.2)
            self.decoder = nn.Linear(HIDDEN, vocab)

        def forward(self, x: Any, hidden: Any) -> Any:
            output, hidden = self.rnn(self.drop(self.encoder(x)), hidden)
            decoded = self.decoder(self.drop(output)).view(-1, vocab)
            return F.log_softmax(decoded, dim=1), hidden

    model, criterion = RNNModel(), nn.NLLLoss()
    opt = torch.optim.SGD(model.parameters(), lr=20)
    data = torch.tensor(words)
    state = {"hidden": (torch.zeros(LAYERS, BATCH, HIDDEN), torch.zeros(LAYERS, BATCH, HIDDEN))}

    def step() -> None:
        hidden = tuple(h.detach() for h in state["hidden"])  # truncated BPTT, as the example
        opt.zero_grad()
        output, state["hidden"] = model(data[:-1], hidden)
        criterion(output, data[1:].reshape(-1)).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        opt.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vocab", type=int, action="append",
                        help="vocabulary size (default: 1000 and 10000)")
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per row, at most")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    print("| vocab | tinygrad ms | torch ms | tinygrad / torch |")
    print("|---|---|---|---|")
    for vocab in args.vocab or [1000, 10000]:
        words = np.random.default_rng(0).integers(0, vocab, size=(STEPS + 1, BATCH))
        fns = {"tinygrad": word_lm_step(tg, vocab, words),
               "torch": word_lm_step(torch, vocab, words)}
        t = interleaved(fns, args.rounds, args.budget)
        print(f"| {vocab} | {spread(t['tinygrad'])} | {spread(t['torch'])} | "
              f"{ratio(t, 'tinygrad', 'torch'):.2f} |", flush=True)


if __name__ == "__main__":
    main()
