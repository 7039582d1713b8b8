"""An LSTM classifier reading images row by row with batch_first=True and a DataLoader (in the
style of the "LSTM over image rows" tutorials): 8x8 images of a horizontal, a vertical or a
diagonal stroke, with noise."""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset, random_split

torch.manual_seed(0)
sequence_length, input_size, num_classes = 8, 8, 3


def make_images(n):
    labels = torch.randint(0, num_classes, (n,))
    images = torch.randn(n, sequence_length, input_size) * 0.3
    pos = torch.randint(0, 8, (n,))
    for i in range(n):
        k, p = labels[i].item(), pos[i].item()
        if k == 0:
            images[i, p, :] += 1.0
        elif k == 1:
            images[i, :, p] += 1.0
        else:
            for j in range(8):
                images[i, j, j] += 1.0
    return images, labels


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, num_classes):
        super(RNN, self).__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size)
        c0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size)
        out, _ = self.lstm(x, (h0, c0))
        out = self.fc(out[:, -1, :])
        return out


images, labels = make_images(240)
dataset = TensorDataset(images, labels)
train_set, test_set = random_split(dataset, [0.8, 0.2], generator=torch.Generator().manual_seed(0))
train_loader = DataLoader(train_set, batch_size=16, shuffle=True)
test_loader = DataLoader(test_set, batch_size=16, shuffle=False)

model = RNN(input_size, 32, 2, num_classes)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.5)

for epoch in range(8):
    total = 0.0
    for i, (x, y) in enumerate(train_loader):
        outputs = model(x)
        loss = criterion(outputs, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    scheduler.step()
    print(f"epoch {epoch + 1} loss={total / len(train_loader):.4f}")

model.eval()
with torch.no_grad():
    correct = 0
    total = 0
    for x, y in test_loader:
        outputs = model(x)
        predicted = outputs.argmax(1)
        total += y.size(0)
        correct += (predicted == y).sum().item()
print(f"test accuracy {correct / total:.2f}")
