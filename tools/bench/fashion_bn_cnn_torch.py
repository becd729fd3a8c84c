#!/usr/bin/python3
"""PyTorch mirror of examples/fashion_bn_cnn.cc, the reference for its accuracy in RESULTS.md.

Same model, initialization and recipe on Fashion-MNIST (Debian's dataset-fashion-mnist):
    conv 3x3 16 (no bias, SAME) -> BatchNorm2d -> leaky_relu 0.1 -> max_pool 2
    conv 3x3 32 (no bias, SAME) -> BatchNorm2d -> leaky_relu 0.1 -> max_pool 2
    linear 1568->128 (no bias) -> BatchNorm1d -> leaky_relu 0.1 -> linear 128->10
Batch norms with OneFlow's defaults mapped to PyTorch: eps 1e-3, momentum 1 - 0.99 = 0.01.
Weights xavier_uniform (flowrt's conv2d default; the example passes it to its dense layers),
biases 0. Batch 100, mean cross-entropy, OneFlow's momentum SGD written out (m = 0.9 m - lr g;
w += m, which differs from torch.optim.SGD only when lr changes), lr 0.05, then 0.01 from epoch 4.
Images /255, shuffled each epoch (torch's own order, not flowrt's).

Usage: /usr/bin/python3 tools/bench/fashion_bn_cnn_torch.py [--epochs=5] [--threads=1]
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16, eps=1e-3, momentum=0.01)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32, eps=1e-3, momentum=0.01)
        self.fc1 = nn.Linear(1568, 128, bias=False)
        self.bn3 = nn.BatchNorm1d(128, eps=1e-3, momentum=0.01)
        self.fc2 = nn.Linear(128, 10)
        for m in (self.conv1, self.conv2, self.fc1, self.fc2):
            nn.init.xavier_uniform_(m.weight)
        nn.init.zeros_(self.fc2.bias)

    def forward(self, x):
        x = F.max_pool2d(F.leaky_relu(self.bn1(self.conv1(x)), 0.1), 2)
        x = F.max_pool2d(F.leaky_relu(self.bn2(self.conv2(x)), 0.1), 2)
        x = F.leaky_relu(self.bn3(self.fc1(x.flatten(1))), 0.1)
        return self.fc2(x)


def accuracy(net, images, labels):
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), 100):
            correct += (net(images[i:i + 100]).argmax(1) == labels[i:i + 100]).sum().item()
    net.train()
    return correct / len(images)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    to_images = lambda a: torch.from_numpy(a.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    train_x = to_images(read_idx("train-images-idx3-ubyte.gz"))
    train_y = torch.from_numpy(read_idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    test_x = to_images(read_idx("t10k-images-idx3-ubyte.gz"))
    test_y = torch.from_numpy(read_idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))

    net = Net()
    params = list(net.parameters())
    moms = [torch.zeros_like(p) for p in params]
    steps = len(train_x) // 100
    start = time.time()
    for epoch in range(args.epochs):
        order = torch.randperm(len(train_x))
        lr = 0.05 if epoch < 3 else 0.01
        for i in range(steps):
            idx = order[i * 100:(i + 1) * 100]
            loss = F.cross_entropy(net(train_x[idx]), train_y[idx])
            net.zero_grad()
            loss.backward()
            with torch.no_grad():
                for p, m in zip(params, moms):
                    m.mul_(0.9).sub_(lr * p.grad)
                    p.add_(m)
            if i % 100 == 0:
                print(f"epoch {epoch}  step {i}  loss {loss.item():.4f}", flush=True)
        print(f"epoch {epoch}  test accuracy {accuracy(net, test_x, test_y):.4f}  "
              f"({time.time() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
