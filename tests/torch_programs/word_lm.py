"""A word-level language model with an LSTM, GRU or plain RNN, trained with the manual SGD loop
of PyTorch's word_language_model example (in the style of examples/word_language_model).

Usage: python word_lm.py [LSTM|GRU|RNN_TANH|RNN_RELU]
"""
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

TEXT = """the cat sat on the mat . the dog sat on the log . the cat saw the dog .
the dog saw the cat . a cat and a dog sat on a mat . the mat was on the log .
the cat ran to the dog . the dog ran to the mat . a dog saw a cat on the log ."""


class Dictionary(object):
    def __init__(self):
        self.word2idx = {}
        self.idx2word = []

    def add_word(self, word):
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

    def __len__(self):
        return len(self.idx2word)


class Corpus(object):
    def __init__(self, text):
        self.dictionary = Dictionary()
        ids = []
        for line in text.split("\n"):
            for word in line.split() + ["<eos>"]:
                ids.append(self.dictionary.add_word(word))
        self.train = torch.tensor(ids, dtype=torch.int64)


class RNNModel(nn.Module):
    """Container module with an encoder, a recurrent module, and a decoder."""

    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
        super(RNNModel, self).__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        if rnn_type in ["LSTM", "GRU"]:
            self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        else:
            nonlinearity = {"RNN_TANH": "tanh", "RNN_RELU": "relu"}[rnn_type]
            self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity=nonlinearity, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            self.decoder.weight = self.encoder.weight
        self.init_weights()
        self.rnn_type = rnn_type
        self.nhid = nhid
        self.nlayers = nlayers

    def init_weights(self):
        initrange = 0.1
        nn.init.uniform_(self.encoder.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output)
        decoded = decoded.view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        if self.rnn_type == "LSTM":
            return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                    weight.new_zeros(self.nlayers, bsz, self.nhid))
        return weight.new_zeros(self.nlayers, bsz, self.nhid)


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    data = data.view(bsz, -1).t().contiguous()
    return data


def repackage_hidden(h):
    """Wraps hidden states in new Tensors, to detach them from their history."""
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


def get_batch(source, i, bptt=6):
    seq_len = min(bptt, len(source) - 1 - i)
    data = source[i:i + seq_len]
    target = source[i + 1:i + 1 + seq_len].view(-1)
    return data, target


rnn_type = sys.argv[1] if len(sys.argv) > 1 else "LSTM"
torch.manual_seed(1111)
corpus = Corpus(TEXT)
train_data = batchify(corpus.train, 4)
ntokens = len(corpus.dictionary)
model = RNNModel(rnn_type, ntokens, 16, 32, 2, dropout=0.1)
criterion = nn.NLLLoss()
lr = 5.0 if rnn_type != "RNN_RELU" else 1.0
clip = 0.25

for epoch in range(1, 13):
    model.train()
    total_loss = 0.0
    hidden = model.init_hidden(4)
    n = 0
    for batch, i in enumerate(range(0, train_data.size(0) - 1, 6)):
        data, targets = get_batch(train_data, i)
        model.zero_grad()
        hidden = repackage_hidden(hidden)
        output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        for p in model.parameters():
            p.data -= lr * p.grad  # PyTorch's example: p.data.add_(p.grad, alpha=-lr)
        total_loss += loss.item()
        n += 1
    cur_loss = total_loss / n
    print(f"{rnn_type} epoch {epoch} loss={cur_loss:.4f} ppl={math.exp(cur_loss):.2f}")
