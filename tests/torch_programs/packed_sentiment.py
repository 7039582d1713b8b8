"""A bidirectional LSTM classifier over variable-length token sequences, in the style of the
"packed padded sequences" sentiment tutorials: pad_sequence, pack_padded_sequence with unsorted
lengths, pad_packed_sequence, Embedding(padding_idx=0), the last layer's two directions from
h_n, BCEWithLogitsLoss(pos_weight), a LambdaLR warm-up and gradient clipping. The label says
whether a sequence's first token is larger than its last real one, so the model must read each
sequence to its own end."""
import torch
import torch.nn as nn
from torch import optim
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

torch.manual_seed(0)
vocab, n_examples, batch_size = 12, 256, 32


def make_example():
    length = torch.randint(2, 13, (1,)).item()
    tokens = torch.randint(1, vocab, (length,))
    return tokens, float(tokens[0].item() > tokens[-1].item())


data = [make_example() for _ in range(n_examples)]


class Classifier(nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_dim):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, num_layers=2, bidirectional=True,
                            batch_first=True)
        self.fc = nn.Linear(2 * hidden_dim, 1)

    def forward(self, text, lengths):
        embedded = self.embedding(text)
        packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
        packed_out, (hidden, cell) = self.lstm(packed)
        output, output_lengths = pad_packed_sequence(packed_out, batch_first=True)
        assert output.shape[1] == int(lengths.max())
        hidden = torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1)
        return self.fc(hidden).squeeze(1)


model = Classifier(vocab, 16, 32)
positives = sum(label for _, label in data)
criterion = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([(n_examples - positives) / positives]))
optimizer = optim.Adam(model.parameters(), lr=0.01)
scheduler = optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / 10))

for epoch in range(8):
    total, correct, seen = 0.0, 0, 0
    for start in range(0, n_examples, batch_size):
        batch = data[start:start + batch_size]
        text = pad_sequence([tokens for tokens, _ in batch], batch_first=True, padding_value=0)
        lengths = torch.tensor([len(tokens) for tokens, _ in batch])
        labels = torch.tensor([label for _, label in batch])
        optimizer.zero_grad()
        logits = model(text, lengths)
        loss = criterion(logits, labels)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        scheduler.step()
        total += loss.item() * len(batch)
        correct += (torch.round(torch.sigmoid(logits)) == labels).float().sum().item()
        seen += len(batch)
    print(f"epoch {epoch} loss={total / seen:.4f} acc={correct / seen:.3f}")
