"""A character language model with a GRU written from scratch, the way the Dive into Deep
Learning textbook teaches it (our own program in that style): hand-made parameters with
requires_grad_, one-hot input of X.T, a loop of sigmoid/tanh over the steps, the state detached
in place between consecutive batches, the global gradient norm clipped by hand and a
hand-written SGD step."""
import math
import random

import torch
import torch.nn.functional as F

random.seed(0)
torch.manual_seed(0)
text = "the cat sat on the mat and the dog sat on the log " * 12
chars = sorted(set(text))
corpus = [chars.index(c) for c in text]
V, H, batch_size, num_steps, lr = len(chars), 32, 4, 10, 1.0


def params_of_a_gate():
    return (torch.randn(size=(V, H)) * 0.01, torch.normal(0.0, 0.01, size=(H, H)),
            torch.zeros(H))


params = [*params_of_a_gate(), *params_of_a_gate(), *params_of_a_gate(),
          torch.randn(size=(H, V)) * 0.01, torch.zeros(V)]
for param in params:
    param.requires_grad_(True)


def gru(inputs, state):
    W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h, W_hq, b_q = params
    H_t, = state
    outputs = []
    for X in inputs:
        Z = torch.sigmoid(X @ W_xz + H_t @ W_hz + b_z)
        R = torch.sigmoid(X @ W_xr + H_t @ W_hr + b_r)
        H_tilde = torch.tanh(X @ W_xh + (R * H_t) @ W_hh + b_h)
        H_t = Z * H_t + (1 - Z) * H_tilde
        outputs.append(H_t @ W_hq + b_q)
    return torch.cat(outputs, dim=0), (H_t,)


def batches():
    offset = random.randint(0, num_steps)
    n = (len(corpus) - offset - 1) // batch_size * batch_size
    Xs = torch.tensor(corpus[offset:offset + n]).reshape(batch_size, -1)
    Ys = torch.tensor(corpus[offset + 1:offset + 1 + n]).reshape(batch_size, -1)
    for i in range(0, Xs.shape[1] // num_steps * num_steps, num_steps):
        yield Xs[:, i:i + num_steps], Ys[:, i:i + num_steps]


def clip_gradients(theta):
    norm = torch.sqrt(sum(torch.sum(p.grad ** 2) for p in params))
    if norm > theta:
        for p in params:
            p.grad[:] *= theta / norm


for epoch in range(12):
    state, total, count = None, 0.0, 0
    for X, Y in batches():
        if state is None:
            state = (torch.zeros((batch_size, H)),)
        else:
            for s in state:
                s.detach_()
        y_hat, state = gru(F.one_hot(X.T, V).type(torch.float32), state)
        loss = F.cross_entropy(y_hat, Y.T.reshape(-1).long())
        loss.backward()
        clip_gradients(1.0)
        with torch.no_grad():
            for param in params:
                param -= lr * param.grad
                param.grad[...] = 0  # the textbook's param.grad.zero_(): see docs/pytorch.md
        total, count = total + loss.item() * Y.numel(), count + Y.numel()
    print(f"epoch {epoch} loss={total / count:.4f} perplexity {math.exp(total / count):.2f}")
