"""The classic MNIST convolutional network of the PyTorch examples (github.com/pytorch/examples,
``mnist/main.py``, BSD-3-Clause) and its train/test loops: conv-relu-conv-relu-maxpool-dropout-
fc-relu-dropout-fc-log_softmax, NLL loss, Adadelta with StepLR, written for these tests (not a
copy) on random 28x28 data instead of the download. The harness sets dropout to p=0 (the two
frameworks' random streams differ); everything else is as published."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(model, device, train_loader, optimizer, epoch, losses):
    model.train()
    for _batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    return test_loss, correct


def build():
    use_cuda = torch.cuda.is_available()
    device = torch.device("cuda" if use_cuda else "cpu")
    model = Net().to(device)
    for m in model.modules():  # the harness's one change: no dropout (random streams differ)
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    return model


def run(model, epochs=2):
    device = torch.device("cpu")
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.random((12, 1, 28, 28), dtype=np.float32))
    x = (x - 0.1307) / 0.3081
    y = torch.from_numpy(rng.integers(0, 10, 12))
    train_loader = DataLoader(TensorDataset(x[:8], y[:8]), batch_size=4, shuffle=False)
    test_loader = DataLoader(TensorDataset(x[8:], y[8:]), batch_size=4)
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    losses, tests = [], []
    for epoch in range(1, epochs + 1):
        train(model, device, train_loader, optimizer, epoch, losses)
        tests.append(test(model, device, test_loader))
        scheduler.step()
    return {"losses": losses, "test_loss": [t[0] for t in tests],
            "correct": [t[1] for t in tests]}
