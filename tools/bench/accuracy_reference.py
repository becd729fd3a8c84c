#!/usr/bin/python3
"""Test accuracy of the PyTorch mirror of flowrt's LeNet/MLP jobs after each epoch (issue 4's
accuracy rows in tools/bench/RESULTS.md put flowrt's numbers next to these).

Usage:
    /usr/bin/python3 tools/bench/accuracy_reference.py --model=lenet --epochs=2 --threads=1 \
        --data=data/mnist [--seed=0]

The model, init and optimizer are train_step_bench.py's (the same as jobs/models.h: truncated
normal(0.1) kernels, zero biases, SGD lr 0.1 momentum 0, batch 100, dropout 0.5 in training),
trained in file order like `flowrt train` without --shuffle. Prints one line per epoch:
"epoch E/N  test accuracy A  T s".
"""
import argparse
import time

import numpy as np
import torch

from train_step_bench import make, read_idx, step


def load(data, split):
    images = read_idx("%s/%s-images-idx3-ubyte" % (data, split), 2051)
    labels = read_idx("%s/%s-labels-idx1-ubyte" % (data, split), 2049)
    x = torch.from_numpy(images.astype(np.float32)).div_(255.0).reshape(-1, 1, 28, 28)
    return x, torch.from_numpy(labels.astype(np.int64))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="lenet", choices=["lenet", "mlp"])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data", default="data/mnist")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--centre_images", action="store_true",
                   help="(x - 128) / 255, as an older OneFlow load_mnist did, instead of x / 255")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x_train, y_train = load(args.data, "train")
    x_test, y_test = load(args.data, "t10k")
    if args.centre_images:
        x_train, x_test = x_train - 128.0 / 255.0, x_test - 128.0 / 255.0
    net, opt = make(args.model, 0.5)
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        net.train()
        for i in range(x_train.shape[0] // 100):
            step(net, opt, x_train[i * 100:(i + 1) * 100], y_train[i * 100:(i + 1) * 100])
        net.eval()
        with torch.no_grad():
            correct = sum(int((net(x_test[i:i + 100]).argmax(1) == y_test[i:i + 100]).sum())
                          for i in range(0, x_test.shape[0], 100))
        print("epoch %d/%d  test accuracy %.4f  %.1f s" % (
            epoch, args.epochs, correct / x_test.shape[0], time.perf_counter() - start), flush=True)


if __name__ == "__main__":
    main()
