"""Dive into Deep Learning's PyTorch chapters (d2l.ai, code under MIT-0), written for these tests
(not copies): linear regression from scratch (``synthetic_data``, ``data_iter``-style batches,
``linreg``, ``squared_loss``, ``sgd`` under ``no_grad``) and concisely (``nn.Sequential``,
``.data.normal_``, ``TensorDataset``/``DataLoader``, ``nn.MSELoss``, ``optim.SGD``), softmax
regression (``nn.Flatten``, ``nn.init.normal_`` via ``net.apply``, ``CrossEntropyLoss(reduction=
'none')``, accuracy by argmax) and LeNet-5 (sigmoid, average pooling, Xavier init). Data are
synthetic, drawn with NumPy so that both frameworks see the same numbers; batches are not
shuffled (the random streams differ)."""

import numpy as np
import torch
from torch import nn
from torch.utils import data


def synthetic_data(w, b, num_examples, rng):
    """y = Xw + b + noise."""
    X = torch.tensor(rng.normal(0, 1, (num_examples, len(w))), dtype=torch.float32)
    y = torch.matmul(X, w) + b
    y += torch.tensor(rng.normal(0, 0.01, tuple(y.shape)), dtype=torch.float32)
    return X, y.reshape((-1, 1))


def linreg(X, w, b):
    return torch.matmul(X, w) + b


def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def load_array(data_arrays, batch_size, is_train=False):
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)


def accuracy(y_hat, y):
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def init_weights_normal(m):
    if type(m) is nn.Linear:
        nn.init.normal_(m.weight, std=0.01)


def init_weights_xavier(m):
    if type(m) is nn.Linear or type(m) is nn.Conv2d:
        nn.init.xavier_uniform_(m.weight)


def build(kind):
    if kind == "linreg_scratch":
        w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
        b = torch.zeros(1, requires_grad=True)
        return {"w": w, "b": b}
    if kind == "linreg_concise":
        net = nn.Sequential(nn.Linear(2, 1))
        net[0].weight.data.normal_(0, 0.01)
        net[0].bias.data.fill_(0)
        net.kind = kind
        return net
    if kind == "softmax":
        net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
        net.apply(init_weights_normal)
        net.kind = kind
        return net
    net = nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))
    net.apply(init_weights_xavier)
    net.kind = kind
    return net


def run(obj):
    rng = np.random.default_rng(0)
    if isinstance(obj, dict):  # linear regression from scratch
        true_w, true_b = torch.tensor([2, -3.4]), 4.2
        features, labels = synthetic_data(true_w, true_b, 100, rng)
        w, b = obj["w"], obj["b"]
        lr, batch_size, losses = 0.03, 10, []
        for _epoch in range(3):
            for i in range(0, 100, batch_size):
                X, y = features[i:i + batch_size], labels[i:i + batch_size]
                l = squared_loss(linreg(X, w, b), y)
                l.sum().backward()
                sgd([w, b], lr, batch_size)
            with torch.no_grad():
                losses.append(float(squared_loss(linreg(features, w, b), labels).mean()))
        return {"losses": losses, "w": w.detach().reshape(-1).tolist(), "b": b.item()}
    net = obj
    if net.kind == "linreg_concise":
        true_w, true_b = torch.tensor([2, -3.4]), 4.2
        features, labels = synthetic_data(true_w, true_b, 100, rng)
        data_iter = load_array((features, labels), 10)
        loss = nn.MSELoss()
        trainer = torch.optim.SGD(net.parameters(), lr=0.03)
        losses = []
        for _epoch in range(3):
            for X, y in data_iter:
                l = loss(net(X), y)
                trainer.zero_grad()
                l.backward()
                trainer.step()
            losses.append(loss(net(features), labels).item())
        return {"losses": losses, "w": net[0].weight.data.reshape(-1).tolist()}
    n = 32 if net.kind == "softmax" else 16
    X = torch.tensor(rng.random((n, 1, 28, 28)), dtype=torch.float32)
    y = torch.tensor(rng.integers(0, 10, n))
    train_iter = load_array((X, y), 8)
    lr = 0.1 if net.kind == "softmax" else 0.9
    if net.kind == "softmax":
        loss = nn.CrossEntropyLoss(reduction="none")
    else:
        loss = nn.CrossEntropyLoss()
    trainer = torch.optim.SGD(net.parameters(), lr=lr)
    losses, accs = [], []
    for _epoch in range(2):
        net.train()
        for Xb, yb in train_iter:
            y_hat = net(Xb)
            l = loss(y_hat, yb)
            trainer.zero_grad()
            l.mean().backward()
            trainer.step()
            losses.append(l.mean().item())
        net.eval()
        with torch.no_grad():
            accs.append(accuracy(net(X), y))
    return {"losses": losses, "accuracy": accs}
