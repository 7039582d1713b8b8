"""Batched sequence to sequence with attention, in the style of the popular seq2seq notebooks:
a bidirectional GRU encoder over packed padded sources (unsorted lengths), additive attention
masked at the padding with masked_fill, a GRU decoder fed [embedding; context] one step at a
time with teacher forcing drawn from Python's random, every parameter initialised through its
.data (nn.init.uniform_(param.data, ...)), CrossEntropyLoss(ignore_index=PAD), gradient
clipping, and the evaluation perplexity taken with np.exp under no_grad. The task: reverse a
sequence of digits."""
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

PAD, SOS, EOS, VOCAB = 0, 1, 2, 13  # digits are tokens 3..12
random.seed(0)
np.random.seed(0)
torch.manual_seed(0)


def make_batch(batch_size):
    lengths = np.random.randint(3, 8, size=batch_size)
    src = np.full((lengths.max(), batch_size), PAD)
    trg = np.full((lengths.max() + 2, batch_size), PAD)
    for b, n in enumerate(lengths):
        digits = np.random.randint(3, VOCAB, size=n)
        src[:n, b] = digits
        trg[:n + 2, b] = [SOS, *digits[::-1], EOS]
    return torch.tensor(src), torch.tensor(lengths), torch.tensor(trg)


class Encoder(nn.Module):
    def __init__(self, vocab, emb_dim, hid_dim, dec_dim):
        super().__init__()
        self.embedding = nn.Embedding(vocab, emb_dim, padding_idx=PAD)
        self.rnn = nn.GRU(emb_dim, hid_dim, bidirectional=True)
        self.fc = nn.Linear(2 * hid_dim, dec_dim)

    def forward(self, src, lengths):
        packed = pack_padded_sequence(self.embedding(src), lengths, enforce_sorted=False)
        packed_out, hidden = self.rnn(packed)
        outputs, _ = pad_packed_sequence(packed_out)         # [src len, batch, 2 * hid]
        hidden = torch.tanh(self.fc(torch.cat((hidden[-2], hidden[-1]), dim=1)))
        return outputs, hidden


class Attention(nn.Module):
    def __init__(self, enc_dim, dec_dim):
        super().__init__()
        self.attn = nn.Linear(enc_dim + dec_dim, dec_dim)
        self.v = nn.Linear(dec_dim, 1, bias=False)

    def forward(self, hidden, enc_out, mask):
        src_len = enc_out.shape[0]
        hidden = hidden.unsqueeze(1).repeat(1, src_len, 1)  # [batch, src len, dec]
        enc_out = enc_out.permute(1, 0, 2)
        energy = torch.tanh(self.attn(torch.cat((hidden, enc_out), dim=2)))
        scores = self.v(energy).squeeze(2).masked_fill(mask == 0, -1e10)
        return F.softmax(scores, dim=1)


class Decoder(nn.Module):
    def __init__(self, vocab, emb_dim, enc_dim, dec_dim):
        super().__init__()
        self.output_dim = vocab
        self.attention = Attention(enc_dim, dec_dim)
        self.embedding = nn.Embedding(vocab, emb_dim)
        self.rnn = nn.GRU(emb_dim + enc_dim, dec_dim)
        self.fc_out = nn.Linear(dec_dim + enc_dim + emb_dim, vocab)

    def forward(self, token, hidden, enc_out, mask):
        embedded = self.embedding(token.unsqueeze(0))     # [1, batch, emb]
        a = self.attention(hidden, enc_out, mask).unsqueeze(1)
        context = torch.bmm(a, enc_out.permute(1, 0, 2)).permute(1, 0, 2)
        output, hidden = self.rnn(torch.cat((embedded, context), dim=2), hidden.unsqueeze(0))
        prediction = self.fc_out(torch.cat((output[0], context[0], embedded[0]), dim=1))
        return prediction, hidden.squeeze(0)


class Seq2Seq(nn.Module):
    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, src, lengths, trg, teacher_forcing_ratio=0.5):
        outputs = torch.zeros(trg.shape[0], trg.shape[1], self.decoder.output_dim)
        enc_out, hidden = self.encoder(src, lengths)
        mask = (src != PAD).permute(1, 0)
        token = trg[0]
        for t in range(1, trg.shape[0]):
            output, hidden = self.decoder(token, hidden, enc_out, mask)
            outputs[t] = output
            teacher_force = random.random() < teacher_forcing_ratio
            token = trg[t] if teacher_force else output.argmax(1)
        return outputs


model = Seq2Seq(Encoder(VOCAB, 8, 16, 16), Decoder(VOCAB, 8, 32, 16))
for name, param in model.named_parameters():
    nn.init.uniform_(param.data, -0.1, 0.1)
optimizer = optim.Adam(model.parameters(), lr=0.01)
criterion = nn.CrossEntropyLoss(ignore_index=PAD)
valid = [make_batch(32) for _ in range(2)]

for step in range(1, 61):
    model.train()
    src, lengths, trg = make_batch(32)
    optimizer.zero_grad()
    output = model(src, lengths, trg)
    loss = criterion(output[1:].view(-1, VOCAB), trg[1:].view(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1)
    optimizer.step()
    if step % 10 == 0:
        model.eval()
        with torch.no_grad():
            total = sum(criterion(model(s, n, t, 0)[1:].view(-1, VOCAB), t[1:].view(-1))
                        for s, n, t in valid) / len(valid)
            ppl = np.exp(total)
        print(f"step {step} loss={loss.item():.4f} valid ppl {ppl:.2f}")
