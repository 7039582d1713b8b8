"""Part-of-speech tagging with a bidirectional LSTM over word embeddings (in the style of the
PyTorch tutorial "Sequence Models and Long Short-Term Memory Networks"): one unbatched sentence
at a time, log_softmax + NLLLoss, SGD with momentum; then all sentences as one padded batch
scored with a mask, and tagging under no_grad."""

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

torch.manual_seed(1)

training_data = [
    ("the dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
    ("everybody read that book".split(), ["NN", "V", "DET", "NN"]),
    ("the cat read the book".split(), ["DET", "NN", "V", "DET", "NN"]),
    ("a dog ate a book".split(), ["DET", "NN", "V", "DET", "NN"]),
    ("that cat ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
]
word_to_ix = {}
for sentence, _ in training_data:
    for word in sentence:
        if word not in word_to_ix:
            word_to_ix[word] = len(word_to_ix)
tag_to_ix = {"DET": 0, "NN": 1, "V": 2}
ix_to_tag = {v: k for k, v in tag_to_ix.items()}


def prepare_sequence(seq, to_ix):
    idxs = [to_ix[w] for w in seq]
    return torch.tensor(idxs, dtype=torch.long)


class LSTMTagger(nn.Module):
    def __init__(self, embedding_dim, hidden_dim, vocab_size, tagset_size):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim, bidirectional=True)
        self.hidden2tag = nn.Linear(2 * hidden_dim, tagset_size)

    def forward(self, sentence):
        embeds = self.word_embeddings(sentence)
        lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
        tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
        return F.log_softmax(tag_space, dim=1)


model = LSTMTagger(6, 8, len(word_to_ix), len(tag_to_ix))
loss_function = nn.NLLLoss()
optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

with torch.no_grad():
    before = model(prepare_sequence(training_data[0][0], word_to_ix))

for epoch in range(60):
    total = 0.0
    for sentence, tags in training_data:
        model.zero_grad()
        sentence_in = prepare_sequence(sentence, word_to_ix)
        targets = prepare_sequence(tags, tag_to_ix)
        tag_scores = model(sentence_in)
        loss = loss_function(tag_scores, targets)
        loss.backward()
        optimizer.step()
        total += loss.item()
    if epoch % 10 == 0 or epoch == 59:
        print(f"epoch {epoch:2d} loss={total / len(training_data):.4f}")

# all sentences at once: pad with index 0, batch them (T, B), and mask the padded steps out of
# a summed NLL
lengths = [len(s) for s, _ in training_data]
longest = max(lengths)
words = torch.zeros(longest, len(training_data), dtype=torch.long)
labels = torch.zeros(longest, len(training_data), dtype=torch.long)
mask = torch.zeros(longest, len(training_data))
for b, (sentence, tags) in enumerate(training_data):
    for t, (w, tag) in enumerate(zip(sentence, tags)):
        words[t, b] = word_to_ix[w]
        labels[t, b] = tag_to_ix[tag]
        mask[t, b] = 1.0
with torch.no_grad():
    out, (h_n, c_n) = model.lstm(model.word_embeddings(words))
    scores = F.log_softmax(model.hidden2tag(out), dim=-1)
    picked = scores.gather(2, labels.unsqueeze(2)).squeeze(2)
    masked_nll = -(picked * mask).sum() / mask.sum()
print(f"batched masked nll={masked_nll.item():.4f}; h_n {tuple(h_n.shape)}")

with torch.no_grad():
    after = model(prepare_sequence(training_data[0][0], word_to_ix))
    predicted = [ix_to_tag[int(i)] for i in after.argmax(dim=1)]
print("tags:", " ".join(predicted), "| changed:", not torch.allclose(before, after))
assert predicted == training_data[0][1], predicted
