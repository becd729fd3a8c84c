#!/usr/bin/python3
"""PyTorch mirror of tools/bench/train_step_bench.cc (the peer in tools/bench/run.sh).

Usage:
    /usr/bin/python3 tools/bench/train_step_bench.py --mode=step --model=lenet --threads=2 \
        --batch=100 --warmup=3 --iters=20
    /usr/bin/python3 tools/bench/train_step_bench.py --mode=epoch --model=lenet --threads=2 \
        --data=data/mnist
    FLOWRT_BENCH_EXEC_TIME=$EPOCHREALTIME exec /usr/bin/python3 tools/bench/train_step_bench.py \
        --mode=startup --model=lenet

Same jobs as flowrt's jobs/models.h: LeNet (conv1 32x5x5 pad 2 relu, max_pool 2/2, conv2 64x5x5
pad 2 relu, max_pool 2/2, flatten, dense1 512 relu, dropout 0.5 in training, dense2 10) and the
MLP (dense1 512 relu, dense2 10); truncated-normal(0.1) kernels (cut at 2 sigma, as OneFlow),
zero biases; SGD lr 0.1 momentum 0; objective = mean cross-entropy. A step is zero_grad + forward
+ backward + optimizer step. Prints one "RESULT key=value ..." line like the C++ program.
step:  one fixed batch, the first --batch MNIST training images (synthetic without --data), the
       same values as the C++ side; per-step wall times.
epoch: reading the IDX files into tensors (timed, /255 float32 NCHW) + one training epoch in
       file order, batch 100.
startup: process start (exec_time) to the end of the first step: the interpreter plus
       `import numpy, torch`, reading both MNIST splits into float tensors, building the model and
       optimizer, one step on the first batch; the same parts as the C++ side.
"""
import time

_SCRIPT_START = time.time()  # before the heavy imports: startup mode counts them

import argparse
import gzip
import os
import resource
import time

import numpy as np
import torch
import torch.nn.functional as F


class Lenet(torch.nn.Module):
    def __init__(self, dropout):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 32, 5, padding=2)
        self.conv2 = torch.nn.Conv2d(32, 64, 5, padding=2)
        self.dense1 = torch.nn.Linear(3136, 512)
        self.dense2 = torch.nn.Linear(512, 10)
        self.dropout = dropout

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2, 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2, 2)
        x = F.relu(self.dense1(x.reshape(x.shape[0], -1)))
        x = F.dropout(x, p=self.dropout, training=self.training)
        return self.dense2(x)


class Mlp(torch.nn.Module):
    def __init__(self, dropout):
        super().__init__()
        self.dense1 = torch.nn.Linear(784, 512)
        self.dense2 = torch.nn.Linear(512, 10)

    def forward(self, x):
        return self.dense2(F.relu(self.dense1(x.reshape(x.shape[0], -1))))


def make(model, dropout):
    net = (Lenet if model == "lenet" else Mlp)(dropout)
    for m in net.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.trunc_normal_(m.weight, mean=0.0, std=0.1, a=-0.2, b=0.2)
            torch.nn.init.zeros_(m.bias)
    net.train()
    return net, torch.optim.SGD(net.parameters(), lr=0.1, momentum=0)


def step(net, opt, x, y):
    opt.zero_grad()
    loss = F.cross_entropy(net(x), y)
    loss.backward()
    opt.step()
    return loss


def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def step_batch(args):
    """The first --batch MNIST training images (uint8/255) and labels, else the synthetic batch;
    the same as FillBatch in train_step_bench.cc."""
    try:
        images = read_idx(args.data + "/train-images-idx3-ubyte", 2051)[:args.batch]
        labels = read_idx(args.data + "/train-labels-idx1-ubyte", 2049)[:args.batch]
        x = torch.from_numpy(images.astype(np.float32)) / 255.0
        return x.reshape(args.batch, 1, 28, 28), torch.from_numpy(labels.astype(np.int64)), "mnist"
    except (OSError, AssertionError):
        h = (np.arange(args.batch * 784, dtype=np.int64) * 7919) % 256
        x = np.where(h < 48, h.astype(np.float32) / np.float32(47.0), np.float32(0))
        y = np.arange(args.batch, dtype=np.int64) % 10
        return (torch.from_numpy(x.astype(np.float32)).reshape(args.batch, 1, 28, 28),
                torch.from_numpy(y), "synthetic")


def run_step(args):
    net, opt = make(args.model, args.dropout)
    x, y, source = step_batch(args)
    warmup_start, i = time.perf_counter(), 0
    while i < args.warmup or (time.perf_counter() - warmup_start) * 1e3 < args.warmup_ms:
        step(net, opt, x, y)
        i += 1
    times = []
    cpu_start = time.process_time()
    for _ in range(args.iters):
        start = time.perf_counter()
        loss = step(net, opt, x, y)
        times.append((time.perf_counter() - start) * 1e3)
    # CPU ms of the process per timed step: at 1 thread the step's cost even on a busy machine.
    cpu_ms = (time.process_time() - cpu_start) * 1e3 / max(1, args.iters)
    print("RESULT framework=pytorch mode=step model=%s threads=%d batch=%d input=%s median_ms=%.3f "
          "cpu_ms_per_step=%.3f peak_rss_mb=%.1f loss=%.4f cpu_s=%.2f times_ms=%s" % (
              args.model, args.threads, args.batch, source, float(np.median(times)), cpu_ms,
              peak_rss_mb(), loss.item(), cpu_s(), ",".join("%.3f" % t for t in times)), flush=True)


def read_idx(path, magic):
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        with gzip.open(path + ".gz", "rb") as f:
            data = f.read()
    else:
        with open(path, "rb") as f:
            data = f.read()
    assert int.from_bytes(data[:4], "big") == magic, path
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def run_epoch(args):
    start = time.perf_counter()
    x_all, y_all = load_split(args.data, "train")
    loaded = time.perf_counter()
    net, opt = make(args.model, args.dropout)
    built = time.perf_counter()
    batches = x_all.shape[0] // 100
    loss_sum = 0.0
    for i in range(batches):
        loss = step(net, opt, x_all[i * 100:(i + 1) * 100], y_all[i * 100:(i + 1) * 100])
        if i >= batches - 50:
            loss_sum += loss.item()
    done = time.perf_counter()
    print("RESULT framework=pytorch mode=epoch model=%s threads=%d batch=100 epoch_s=%.3f "
          "load_s=%.3f compile_s=%.3f train_s=%.3f steps=%d peak_rss_mb=%.1f loss_last50=%.4f "
          "cpu_s=%.2f" % (
              args.model, args.threads, done - start, loaded - start, built - loaded,
              done - built, batches, peak_rss_mb(), loss_sum / 50, cpu_s()), flush=True)


def exec_time():
    """(seconds since the epoch when this process was exec'd, how it is known): the launcher's
    FLOWRT_BENCH_EXEC_TIME (bash $EPOCHREALTIME just before exec), else the kernel's start time in
    /proc/self/stat (clock ticks since boot). The same rule as ExecTime in train_step_bench.cc."""
    stamp = os.environ.get("FLOWRT_BENCH_EXEC_TIME")
    if stamp:
        return float(stamp), "wrapper"
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    since_start = (time.clock_gettime(time.CLOCK_BOOTTIME) -
                   int(fields[19]) / os.sysconf("SC_CLK_TCK"))
    return time.time() - since_start, "proc"


def load_split(data, prefix):
    """One MNIST split as float32 NCHW in [0, 1] and int64 labels."""
    images = read_idx("%s/%s-images-idx3-ubyte" % (data, prefix), 2051)
    labels = read_idx("%s/%s-labels-idx1-ubyte" % (data, prefix), 2049)
    return (torch.from_numpy(images.astype(np.float32)).div_(255.0).reshape(-1, 1, 28, 28),
            torch.from_numpy(labels.astype(np.int64)))


def run_startup(args):
    start, source = exec_time()
    main, main_cpu = time.time(), cpu_s()
    x_train, y_train = load_split(args.data, "train")
    load_split(args.data, "t10k")  # flowrt's load_mnist reads both splits too
    loaded, load_cpu_ms = time.time(), (cpu_s() - main_cpu) * 1e3
    net, opt = make(args.model, args.dropout)
    built = time.time()
    loss = step(net, opt, x_train[:100], y_train[:100])
    loss = loss.item()
    stepped = time.time()
    print("RESULT framework=pytorch mode=startup model=%s threads=%d batch=100 start=%s "
          "total_ms=%.1f init_ms=%.1f imports_ms=%.1f load_ms=%.1f load_cpu_ms=%.1f compile_ms=%.1f "
          "first_step_ms=%.1f loss=%.4f peak_rss_mb=%.1f cpu_s=%.2f" % (
              args.model, args.threads, source, (stepped - start) * 1e3, (main - start) * 1e3,
              (main - _SCRIPT_START) * 1e3, (loaded - main) * 1e3, load_cpu_ms,
              (built - loaded) * 1e3,
              (stepped - built) * 1e3, loss, peak_rss_mb(), cpu_s()), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mode", default="step", choices=["step", "epoch", "startup"])
    p.add_argument("--model", default="lenet", choices=["lenet", "mlp"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--warmup_ms", type=float, default=500,
                   help="and untimed steps until this much time has passed (train_step_bench.cc)")
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--data", default="data/mnist")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    {"step": run_step, "epoch": run_epoch, "startup": run_startup}[args.mode](args)


if __name__ == "__main__":
    main()
