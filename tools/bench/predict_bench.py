#!/usr/bin/python3
"""PyTorch mirror of tools/bench/predict_bench.cc: eager inference under torch.inference_mode().

Usage: /usr/bin/python3 tools/bench/predict_bench.py --model=lenet --calls=2000 --callers=4

Same models as flowrt's jobs/models.h (LeNet: conv 32x5x5 pad 2 relu, max_pool 2/2, conv 64x5x5
pad 2 relu, max_pool 2/2, flatten, dense 512 relu, dense 10; MLP: dense 512 relu, dense 10), one
intra-op thread (torch.set_num_threads(1)), the same pseudo-random input in [0, 1). Batch-1
p50/p99 over --calls after 200 warm-up calls, batch-100 images/s, and --callers threads calling
one model at once (aggregate batch-1 calls/s). Prints one "RESULT key=value ..." line.
"""
import argparse
import threading
import time

import numpy as np
import torch


def model_of(name):
    if name == "lenet":
        return torch.nn.Sequential(
            torch.nn.Conv2d(1, 32, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2, 2),
            torch.nn.Conv2d(32, 64, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2, 2),
            torch.nn.Flatten(), torch.nn.Linear(3136, 512), torch.nn.ReLU(),
            torch.nn.Linear(512, 10)).eval()
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 512), torch.nn.ReLU(),
                               torch.nn.Linear(512, 10)).eval()


def images(n):
    # The LCG of predict_bench.cc's Images().
    state, out = 12345, np.empty(n * 784, np.float32)
    for i in range(out.size):
        state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
        out[i] = (state >> 8) / 16777216.0
    return torch.from_numpy(out.reshape(n, 1, 28, 28))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="lenet")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--batch_iters", type=int, default=50)
    parser.add_argument("--callers", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = model_of(args.model)
    one, hundred = images(1), images(100)
    with torch.inference_mode():
        for _ in range(200):
            model(one)
        us, cpu_us = [], []  # wall and this thread's CPU time (what a call costs under load)
        for _ in range(args.calls):
            t0, c0 = time.perf_counter(), time.thread_time_ns()
            model(one)
            cpu_us.append((time.thread_time_ns() - c0) * 1e-3)
            us.append((time.perf_counter() - t0) * 1e6)
        for _ in range(5):
            model(hundred)
        t0 = time.perf_counter()
        for _ in range(args.batch_iters):
            model(hundred)
        b100 = 100 * args.batch_iters / (time.perf_counter() - t0)

    def caller():
        with torch.inference_mode():
            for _ in range(args.calls):
                model(one)
    threads = [threading.Thread(target=caller) for _ in range(args.callers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    multi = args.callers * args.calls / (time.perf_counter() - t0)
    us.sort()
    cpu_us.sort()
    print(f"RESULT engine=pytorch model={args.model} b1_p50_us={us[len(us) // 2]:.1f} "
          f"b1_p99_us={us[int(0.99 * (len(us) - 1))]:.1f} "
          f"b1_cpu_p50_us={cpu_us[len(cpu_us) // 2]:.1f} b100_img_per_s={b100:.0f} "
          f"callers={args.callers} multi_calls_per_s={multi:.0f}")


if __name__ == "__main__":
    main()
