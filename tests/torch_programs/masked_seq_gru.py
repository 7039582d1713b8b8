"""Sequences of different lengths, padded, through an embedding and a GRU, with the padding
masked out of the loss: the encoder-decoder chapter's tools in the Dive into Deep Learning
style (our own program): Xavier initialisation that walks the GRU's _flat_weights_names, a
cross-entropy of K-dimensional input (batch, classes, steps) with reduction 'none', a mask
built with arange < valid_len and written with X[~mask] = 0, teacher forcing, the gradient
clipped by hand, Adam. The task: continue a counting sequence (each token is the last plus 1)."""
import random

import torch
import torch.nn as nn
from torch import optim

random.seed(0)
torch.manual_seed(0)
V, PAD, E, H, T, B = 12, 0, 16, 32, 8, 16


class NextToken(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(V, E)
        self.rnn = nn.GRU(E, H, num_layers=2)
        self.dense = nn.Linear(H, V)

    def forward(self, X):
        output, _ = self.rnn(self.embedding(X).permute(1, 0, 2))
        return self.dense(output).permute(1, 0, 2)  # (batch, steps, classes)


def xavier_init(m):
    if type(m) == nn.Linear:  # noqa: E721
        nn.init.xavier_uniform_(m.weight)
    if type(m) == nn.GRU:  # noqa: E721
        for name in m._flat_weights_names:
            if "weight" in name:
                nn.init.xavier_uniform_(m._parameters[name])


def sequence_mask(X, valid_len, value=0):
    mask = torch.arange(X.size(1), dtype=torch.float32)[None, :] < valid_len[:, None]
    X[~mask] = value
    return X


def batch():
    lengths = [random.randint(3, T) for _ in range(B)]
    rows = []
    for n in lengths:
        start = random.randint(1, V - n - 1)
        rows.append(list(range(start, start + n + 1)) + [PAD] * (T - n))
    data = torch.tensor(rows)
    return data[:, :-1], data[:, 1:], torch.tensor(lengths)


net = NextToken()
net.apply(xavier_init)
optimizer = optim.Adam(net.parameters(), lr=0.01)
loss_fn = nn.CrossEntropyLoss(reduction="none")
for step in range(60):
    X, Y, valid_len = batch()
    optimizer.zero_grad()
    Y_hat = net(X)
    weights = sequence_mask(torch.ones_like(Y), valid_len)
    loss = (loss_fn(Y_hat.permute(0, 2, 1), Y) * weights).sum() / weights.sum()
    loss.backward()
    params = [p for p in net.parameters() if p.requires_grad]
    norm = torch.sqrt(sum(torch.sum(p.grad ** 2) for p in params))
    if norm > 1.0:
        for p in params:
            p.grad[:] *= 1.0 / norm
    optimizer.step()
    if step % 10 == 9:
        print(f"step {step + 1} loss={loss.item():.4f}")
