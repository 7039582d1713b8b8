"""Generate names from a language with a conditional character-level RNN (in the style of the
PyTorch tutorial "NLP From Scratch: Generating Names with a Character-Level RNN")."""
import string

import torch
import torch.nn as nn

torch.manual_seed(1)

all_letters = string.ascii_letters + " .,;'-"
n_letters = len(all_letters) + 1  # plus EOS marker
category_lines = {
    "Italian": ["rossi", "russo", "ricci", "romano", "rinaldi", "rizzo"],
    "Japanese": ["sato", "suzuki", "saito", "sakamoto", "sasaki", "shimizu"],
}
all_categories = list(category_lines)
n_categories = len(all_categories)


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(RNN, self).__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(n_categories + input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(n_categories + input_size + hidden_size, output_size)
        self.o2o = nn.Linear(hidden_size + output_size, output_size)
        self.dropout = nn.Dropout(0.1)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, category, input, hidden):
        input_combined = torch.cat((category, input, hidden), 1)
        hidden = self.i2h(input_combined)
        output = self.i2o(input_combined)
        output_combined = torch.cat((hidden, output), 1)
        output = self.o2o(output_combined)
        output = self.dropout(output)
        output = self.softmax(output)
        return output, hidden

    def initHidden(self):
        return torch.zeros(1, self.hidden_size)


def categoryTensor(category):
    li = all_categories.index(category)
    tensor = torch.zeros(1, n_categories)
    tensor[0][li] = 1
    return tensor


def inputTensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li in range(len(line)):
        tensor[li][0][all_letters.find(line[li])] = 1
    return tensor


def targetTensor(line):
    letter_indexes = [all_letters.find(line[li]) for li in range(1, len(line))]
    letter_indexes.append(n_letters - 1)  # EOS
    return torch.LongTensor(letter_indexes)


rnn = RNN(n_letters, 48, n_letters)
criterion = nn.NLLLoss()
optimizer = torch.optim.Adam(rnn.parameters(), lr=0.005)


def train(category_tensor, input_line_tensor, target_line_tensor):
    target_line_tensor.unsqueeze_(-1)
    hidden = rnn.initHidden()
    optimizer.zero_grad()
    loss = torch.Tensor([0])
    for i in range(input_line_tensor.size(0)):
        output, hidden = rnn(category_tensor, input_line_tensor[i], hidden)
        loss += criterion(output, target_line_tensor[i])
    loss.backward()
    optimizer.step()
    return output, loss.item() / input_line_tensor.size(0)


pairs = [(c, name) for c in all_categories for name in category_lines[c]]
for epoch in range(15):
    total = 0.0
    for category, line in pairs:
        _, loss = train(categoryTensor(category), inputTensor(line), targetTensor(line))
        total += loss
    print(f"epoch {epoch + 1} loss={total / len(pairs):.4f}")


def sample(category, start_letter="r", max_length=10):
    with torch.no_grad():
        rnn.eval()
        category_tensor = categoryTensor(category)
        input = inputTensor(start_letter)
        hidden = rnn.initHidden()
        output_name = start_letter
        for i in range(max_length):
            output, hidden = rnn(category_tensor, input[0], hidden)
            topv, topi = output.topk(1)
            topi = topi[0][0]
            if topi == n_letters - 1:
                break
            letter = all_letters[topi]
            output_name += letter
            input = inputTensor(letter)
        return output_name


print(sample("Italian", "r"), sample("Japanese", "s"))
