"""Classify names by language with a character-level RNN (in the style of the PyTorch tutorial
"NLP From Scratch: Classifying Names with a Character-Level RNN")."""
import string

import torch
import torch.nn as nn

torch.manual_seed(0)

all_letters = string.ascii_letters + " .,;'"
n_letters = len(all_letters)
category_lines = {
    "English": ["smith", "jones", "taylor", "brown", "wilson", "johnson", "walker", "wright"],
    "Italian": ["rossi", "russo", "ferrari", "esposito", "bianchi", "romano", "colombo", "ricci"],
    "Japanese": ["sato", "suzuki", "takahashi", "tanaka", "watanabe", "ito", "yamamoto",
                 "nakamura"],
}
all_categories = list(category_lines)
n_categories = len(all_categories)


def letterToIndex(letter):
    return all_letters.find(letter)


def lineToTensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor


class CharRNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(CharRNN, self).__init__()
        self.rnn = nn.RNN(input_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, line_tensor):
        rnn_out, hidden = self.rnn(line_tensor)
        output = self.h2o(hidden[0])
        output = self.softmax(output)
        return output


def categoryFromOutput(output):
    top_n, top_i = output.topk(1)
    category_i = top_i[0].item()
    return all_categories[category_i], category_i


rnn = CharRNN(n_letters, 32, n_categories)
criterion = nn.NLLLoss()
optimizer = torch.optim.SGD(rnn.parameters(), lr=0.05)
examples = [(c, name) for c in all_categories for name in category_lines[c]]

for epoch in range(12):
    total = 0.0
    correct = 0
    order = torch.randperm(len(examples)).tolist()
    for i in order:
        category, line = examples[i]
        category_tensor = torch.tensor([all_categories.index(category)], dtype=torch.long)
        line_tensor = lineToTensor(line)
        rnn.train()
        optimizer.zero_grad()
        output = rnn(line_tensor)
        loss = criterion(output, category_tensor)
        loss.backward()
        nn.utils.clip_grad_norm_(rnn.parameters(), 3)
        optimizer.step()
        total += loss.item()
        guess, _ = categoryFromOutput(output)
        correct += int(guess == category)
    accuracy = correct / len(examples)
    print(f"epoch {epoch + 1} loss={total / len(examples):.4f} accuracy={accuracy:.2f}")

rnn.eval()
with torch.no_grad():
    for name in ["rossi", "tanaka", "smith"]:
        print(name, "->", categoryFromOutput(rnn(lineToTensor(name)))[0])
