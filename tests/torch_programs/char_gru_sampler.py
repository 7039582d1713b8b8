"""A character model with a GRU cell written by hand (three nn.Linear over torch.cat, combined
with torch.mul), in the style of the char-rnn repositories people put online: one character
per step, Adam and the old torch.nn.utils.clip_grad_norm, the model saved to and restored from
open files, a manual-BPTT check of the output layer written outside no_grad
(dlogits[range(N), y] -= 1, dW[y] += row, torch.diag), and sampling with a temperature."""
import os
import random
import string
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F

random.seed(0)
torch.manual_seed(0)
text = "the hen found a grain of wheat . who will help me plant it ? not i , said the cat . " * 6
chars = string.ascii_lowercase + " .,?"
V, H, chunk = len(chars), 24, 16


def char_tensor(s):
    tensor = torch.zeros(len(s)).long()
    for c in range(len(s)):
        tensor[c] = chars.index(s[c])
    return tensor


class GRU(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.wr = nn.Linear(input_size + hidden_size, hidden_size)
        self.wz = nn.Linear(input_size + hidden_size, hidden_size)
        self.w = nn.Linear(input_size + hidden_size, hidden_size)

    def forward(self, x, h):
        z = torch.sigmoid(self.wz(torch.cat((x, h), dim=1)))
        r = torch.sigmoid(self.wr(torch.cat((x, h), dim=1)))
        h_tilde = torch.tanh(self.w(torch.cat((torch.mul(r, h), x), dim=1)))
        return torch.mul(1 - z, h) + torch.mul(z, h_tilde)


class CharModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(V, H)
        self.gru = GRU(H, H)
        self.out = nn.Linear(H, V)

    def forward(self, c, h):
        h = self.gru(self.embedding(c).view(1, -1), h)
        return self.out(h), h


model = CharModel()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
criterion = nn.CrossEntropyLoss()
for epoch in range(1, 31):
    start = random.randint(0, len(text) - chunk - 1)
    piece = text[start:start + chunk + 1]
    inp, target = char_tensor(piece[:-1]), char_tensor(piece[1:])
    h, loss = torch.zeros(1, H), 0
    optimizer.zero_grad()
    for c in range(chunk):
        output, h = model(inp[c], h)
        loss += criterion(output, target[c].unsqueeze(0))
    loss.backward()
    nn.utils.clip_grad_norm(model.parameters(), 5.0)
    optimizer.step()
    if epoch % 5 == 0:
        print(f"epoch {epoch} loss={loss.item() / chunk:.4f}")

path = os.path.join(tempfile.mkdtemp(), "char_gru.pt")
with open(path, "wb") as f:
    torch.save(model.state_dict(), f)
restored = CharModel()
with open(path, "rb") as f:
    restored.load_state_dict(torch.load(f))

# the output layer's gradient by hand, outside no_grad, against autograd's
hs = torch.stack([restored(inp[c], torch.zeros(1, H))[1][0] for c in range(chunk)])
logits = restored.out(hs)
probs = F.softmax(logits, dim=1)
dlogits = probs.clone()
dlogits[range(chunk), target] -= 1
dlogits /= chunk
for t in range(chunk):  # the same rows through the softmax's Jacobian diag(p) - p p^T
    p = probs[t]
    dprobs = torch.zeros(V)
    dprobs[target[t]] = -1.0 / (chunk * p[target[t]])
    row = (torch.diag(p) - p.unsqueeze(1) * p.unsqueeze(0)) @ dprobs
    assert torch.allclose(row, dlogits[t], atol=1e-6)
dW = torch.zeros(V, H)
for t in range(chunk):
    dW += probs[t].unsqueeze(1) * hs[t].unsqueeze(0) / chunk
    dW[target[t]] -= hs[t] / chunk
F.cross_entropy(logits, target).backward()
assert torch.allclose(dW, dlogits.t() @ hs, atol=1e-6)
assert torch.allclose(dW, restored.out.weight.grad, atol=1e-6)
assert torch.allclose(dlogits.sum(dim=0), restored.out.bias.grad, atol=1e-6)

with torch.no_grad():
    h, c, sample = torch.zeros(1, H), char_tensor("t")[0], "t"
    for _ in range(40):
        output, h = restored(c, h)
        c = torch.multinomial(output.detach().view(-1).div(0.8).exp(), 1)[0]
        sample += chars[c]
print(sample)
