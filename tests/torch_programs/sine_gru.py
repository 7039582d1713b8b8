"""Next-value prediction on noisy sine waves, written from scratch in PyTorch: a 2-layer GRU
(batch_first, dropout), MSE, Adam with StepLR, gradient clipping, generation under no_grad from
the carried state, and a state_dict reload checked with torch.allclose."""
import math
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)

# data: predict the next value of noisy sine waves
def batch(n, T):
    phase = np.random.rand(n, 1) * 2 * math.pi
    t = np.arange(T + 1)[None, :] * 0.2
    s = np.sin(t + phase) + 0.05 * np.random.randn(n, T + 1)
    x = torch.tensor(s[:, :-1, None], dtype=torch.float32)
    y = torch.tensor(s[:, 1:, None], dtype=torch.float32)
    return x, y


class Model(nn.Module):
    def __init__(self, hidden=16):
        super().__init__()
        self.rnn = nn.GRU(1, hidden, num_layers=2, batch_first=True, dropout=0.1)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x, h=None):
        y, h = self.rnn(x, h)
        return self.out(y), h


np.random.seed(0)
model = Model()
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=40, gamma=0.5)
for it in range(80):
    model.train()
    x, y = batch(16, 30)
    pred, _ = model(x)
    loss = F.mse_loss(pred, y)
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    if it % 20 == 0:
        print(f"it {it} loss={loss.item():.4f} lr={sched.get_last_lr()[0]:.4f}")

model.eval()
with torch.no_grad():
    x, y = batch(1, 40)
    _, h = model(x)
    cur = x[:, -1:, :]
    gen = []
    for _ in range(20):
        p, h = model(cur, h)
        gen.append(p.item())
        cur = p
print("generated", len(gen), "values, first", round(gen[0], 3))
state = model.state_dict()
m2 = Model()
m2.load_state_dict(state)
m2.eval()
with torch.no_grad():
    a, _ = model(x)
    b, _ = m2(x)
assert torch.allclose(a, b), "the reloaded model differs"
