#!/usr/bin/python3
"""Generates tests/data/sgd_reference/: two SGD steps of the MLP and LeNet in PyTorch, written as
OneFlow snapshot directories, for tests/jobs/pytorch_reference_test.cc (which reads them with
flowrt's own snapshot loader and does not need PyTorch).

Usage (once, from anywhere; Debian: apt-get install -y python3-torch):
    /usr/bin/python3 tests/data/make_sgd_reference.py [--mnist=data/mnist]

Models (flowrt's jobs/models.h, OneFlow's variable names and layouts):
  mlp:   reshape (N, 784) -> dense1 512 relu -> dense2 10
  lenet: conv1 32x5x5 SAME relu -> max_pool 2/2 -> conv2 64x5x5 SAME relu -> max_pool 2/2 ->
         reshape (N, 3136) -> dense1 512 relu -> (dropout 0) -> dense2 10
  dense weights are (units, in) = torch.nn.Linear's; conv weights OIHW = torch's. With 28x28 and
  14x14 inputs, stride 1 and kernel 5, OneFlow's SAME (SAME_LOWER) pads 2 on every side, which is
  PyTorch's padding=2. Max pool 2/2 SAME on even sizes pads nothing.
Objective: OneFlow scales the gradient of the per-example loss vector by 1/N (mean), which is
  F.cross_entropy's default reduction='mean'.
Optimizer: SGD lr 0.1, momentum 0 and 0.9. PyTorch: buf = b*buf + g; w -= lr*buf. OneFlow:
  m = b*m - lr*g; w += m. For a constant lr, m = -lr*buf, so both give the same weights.
  PyTorch's first step sets buf = g (no dampening), as OneFlow's m starts at 0.
Gradient clipping (CLIP_CASES): torch.nn.utils.clip_grad_norm_(params, c) between backward and
  step -- g *= min(c / (total_norm + 1e-6), 1), total_norm over every parameter's (mean-loss)
  gradient -- which is OneFlow's ClipGradientByGlobalNorm and flowrt's SGDOptions::grad_clipping.
  Clip norm 0.5 clips both steps (the script asserts total_norm > 0.5 and that the clipped
  weights differ from the unclipped ones by far more than the test's tolerance); clip norm 5
  never clips (asserted: total_norm < 5, and the weights equal the unclipped reference).

Initial weights are NOT stored: both sides compute them from a closed form (InitialValue below,
mirrored in the test) that uses only integer arithmetic and one correctly rounded multiply, so
Python and C++ produce bit-identical float32 values. (A single sinusoid of the flat index, e.g.
sin(0.37 i), would make every dense weight matrix rank 2 -- rows are phase-shifted copies of one
sine -- and hide layout bugs; an integer hash gives a full-rank, uniform-looking matrix.)
  h = lowbias32(i + 0x9E3779B9 * (k + 1))            (mod 2^32; k = variable number, VAR_ORDER)
  u = h * 2^-31 - 1                                 (exact, in [-1, 1))
  w = float32(A_k * u),  A_k = 1.5 / sqrt(fan_in) for weights (fan_in = prod(shape[1:])),
                         A_k = 0.05 for biases

Output (every directory a complete OneFlow snapshot: <var>/out raw float32/int32/float64 LE,
<var>/meta VariableMetaInfo text, snapshot_done):
  batch/            images (8,1,28,28) f32 = uint8/255, labels (8,) i32: the first 8 training
                    examples of MNIST (or, without MNIST, 8 deterministic synthetic digits);
                    formula_probe (16,) f32: InitialValue at a few (k, i, A), to diagnose a
                    formula mismatch in one glance.
  <model>_step1/    after step 1 (identical for both momenta: the script checks it)
  <model>_momentum_0_step2/, <model>_momentum_0.9_step2/   after step 2
  <model>_clip_<c>_step1/, <model>_clip_<c>_momentum_<m>_step2/   the same with clip norm c
                             (CLIP_CASES: mlp c 0.5 m 0 and 0.9, mlp c 5 m 0, lenet c 0.5 m 0.9)
    each holding
    loss                       (8,) f32 per-example loss of that step's forward (weights before
                               the step); OneFlow's objective is its mean
    <var>                      every updated variable with <= SAMPLE_ABOVE elements, in full
    <var>.sample_index         (K,) i32 flat indices (sorted, distinct) of larger variables
    <var>.sample_value         (K,) f32 their updated values
    <var>.stats                (3,) f64: sum(w), sum(w^2), sum|w - w_init| over the whole tensor
    total_norm                 (clip cases only) (1,) f32 PyTorch's global gradient norm of that
                               step, before clipping (a diagnostic: coefficient = min(c/(n+1e-6), 1))
"""
import argparse
import math
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "sgd_reference")
BATCH = 8
LR = 0.1
MOMENTA = (0.0, 0.9)
# (model, clip norm, momenta, clips): clips says whether every step's total norm exceeds the clip
# norm (asserted either way).
CLIP_CASES = [("mlp", 0.5, (0.0, 0.9), True), ("mlp", 5.0, (0.0,), False),
              ("lenet", 0.5, (0.9,), True)]
WEIGHT_TOLERANCE = 1e-5  # tests/jobs/pytorch_reference_test.cc's kWeightAbsTol
SAMPLE_ABOVE = 65536  # variables with more elements are stored as a sample + stats
SAMPLE_SIZE = 4096

VAR_ORDER = ["conv1-weight", "conv1-bias", "conv2-weight", "conv2-bias",
             "dense1-weight", "dense1-bias", "dense2-weight", "dense2-bias"]
SHAPES = {
    "mlp": [("dense1-weight", (512, 784)), ("dense1-bias", (512,)),
            ("dense2-weight", (10, 512)), ("dense2-bias", (10,))],
    "lenet": [("conv1-weight", (32, 1, 5, 5)), ("conv1-bias", (32,)),
              ("conv2-weight", (64, 32, 5, 5)), ("conv2-bias", (64,)),
              ("dense1-weight", (512, 3136)), ("dense1-bias", (512,)),
              ("dense2-weight", (10, 512)), ("dense2-bias", (10,))],
}

DTYPE_NAMES = {np.dtype(np.float32): "kFloat", np.dtype(np.float64): "kDouble",
               np.dtype(np.int32): "kInt32", np.dtype(np.int64): "kInt64"}


def lowbias32(x):
    """Chris Wellons' lowbias32 integer hash on a uint64 array holding values < 2^32."""
    m = np.uint64(0xFFFFFFFF)
    x = x & m
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & m
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & m
    x ^= x >> np.uint64(16)
    return x


def amplitude(name, shape):
    if name.endswith("-bias"):
        return 0.05
    return 1.5 / math.sqrt(float(np.prod(shape[1:])))


def initial_values(k, count, amp):
    i = np.arange(count, dtype=np.uint64)
    h = lowbias32(i + np.uint64((0x9E3779B9 * (k + 1)) & 0xFFFFFFFF))
    u = h.astype(np.float64) * (2.0 ** -31) - 1.0  # exact
    return (amp * u).astype(np.float32)             # one rounding in double, one to float32


def initial_tensor(name, shape):
    k = VAR_ORDER.index(name)
    return initial_values(k, int(np.prod(shape)), amplitude(name, shape)).reshape(shape)


def write_var(root, name, array):
    array = np.ascontiguousarray(array)
    d = os.path.join(root, name)
    os.makedirs(d)
    with open(os.path.join(d, "out"), "wb") as f:
        f.write(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())
    dims = "".join("  dim: %d\n" % s for s in array.shape)
    with open(os.path.join(d, "meta"), "w") as f:
        f.write("shape {\n%s}\ndata_type: %s\n" % (dims, DTYPE_NAMES[array.dtype]))


def finish(root):
    open(os.path.join(root, "snapshot_done"), "w").close()


def new_snapshot(name):
    root = os.path.join(OUT, name)
    os.makedirs(root)
    return root


def load_batch(mnist_dir):
    """First 8 MNIST training examples, or deterministic synthetic digits without MNIST."""
    images_path = os.path.join(mnist_dir, "train-images-idx3-ubyte")
    labels_path = os.path.join(mnist_dir, "train-labels-idx1-ubyte")
    if os.path.exists(images_path) and os.path.exists(labels_path):
        with open(images_path, "rb") as f:
            head = f.read(16)
            assert int.from_bytes(head[:4], "big") == 2051, images_path
            pixels = np.frombuffer(f.read(BATCH * 784), dtype=np.uint8).reshape(BATCH, 1, 28, 28)
        with open(labels_path, "rb") as f:
            assert int.from_bytes(f.read(8)[:4], "big") == 2049, labels_path
            labels = np.frombuffer(f.read(BATCH), dtype=np.uint8).astype(np.int32)
        source = "the first %d examples of %s" % (
            BATCH, os.path.relpath(images_path, os.path.join(HERE, "..", "..")))
    else:
        yy, xx = np.mgrid[0:28, 0:28]
        pixels = np.zeros((BATCH, 1, 28, 28), np.uint8)
        for n in range(BATCH):  # a ring with a bar, moved and thickened per example
            r = np.hypot(yy - 14 - (n % 3 - 1) * 2, xx - 14 - (n % 4 - 1.5) * 2)
            ring = np.clip(255 - 120 * np.abs(r - 6 - n % 3), 0, 255)
            bar = np.where(np.abs(xx - 8 - 2 * n) < 2, 200, 0)
            pixels[n, 0] = np.maximum(ring, bar).astype(np.uint8)
        labels = (np.arange(BATCH, dtype=np.int32) * 3) % 10
        source = "synthetic digits (no MNIST at %s)" % mnist_dir
    # flowrt's load_mnist: float32(uint8) / 255.f, one float32 division, as torch does here.
    images = (torch.from_numpy(pixels.astype(np.float32)) / 255.0).numpy()
    return images, labels, source


class Mlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.dense1 = torch.nn.Linear(784, 512)
        self.dense2 = torch.nn.Linear(512, 10)

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        return self.dense2(F.relu(self.dense1(x)))


class Lenet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 32, 5, padding=2)
        self.conv2 = torch.nn.Conv2d(32, 64, 5, padding=2)
        self.dense1 = torch.nn.Linear(3136, 512)
        self.dense2 = torch.nn.Linear(512, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2, 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2, 2)
        x = x.reshape(x.shape[0], -1)
        x = F.dropout(F.relu(self.dense1(x)), p=0.0, training=True)
        return self.dense2(x)


def make_model(model):
    net = Mlp() if model == "mlp" else Lenet()
    params = {}
    for name, shape in SHAPES[model]:
        layer, kind = name.split("-")
        p = getattr(getattr(net, layer), kind)
        assert tuple(p.shape) == shape, (name, p.shape, shape)
        with torch.no_grad():
            p.copy_(torch.from_numpy(initial_tensor(name, shape)))
        params[name] = p
    return net, params


def train_two_steps(model, momentum, images, labels, clip_norm=None):
    """[(per-example losses, {name: updated value}, total gradient norm or None) for steps 1
    and 2]. With clip_norm, the gradients are clipped by their global norm before each step."""
    net, params = make_model(model)
    opt = torch.optim.SGD(list(params.values()), lr=LR, momentum=momentum)
    x, y = torch.from_numpy(images), torch.from_numpy(labels).long()
    results = []
    for _ in range(2):
        opt.zero_grad()
        per_example = F.cross_entropy(net(x), y, reduction="none")
        per_example.mean().backward()  # OneFlow: seed 1 per element, scaled by 1/N
        total_norm = None
        if clip_norm is not None:
            total_norm = float(torch.nn.utils.clip_grad_norm_(list(params.values()), clip_norm))
        opt.step()
        results.append((per_example.detach().numpy().copy(),
                        {n: p.detach().numpy().copy() for n, p in params.items()}, total_norm))
    return results


def max_weight_difference(a, b):
    return max(float(np.abs(a[n].astype(np.float64) - b[n]).max()) for n in a)


def write_step(root, model, losses, values, total_norm=None):
    write_var(root, "loss", losses.astype(np.float32))
    if total_norm is not None:
        write_var(root, "total_norm", np.array([total_norm], np.float32))
    for name, shape in SHAPES[model]:
        w = values[name]
        if w.size <= SAMPLE_ABOVE:
            write_var(root, name, w)
            continue
        rng = np.random.RandomState(VAR_ORDER.index(name) + 1000 * len(model))
        index = np.sort(rng.choice(w.size, SAMPLE_SIZE, replace=False)).astype(np.int32)
        index[0], index[-1] = 0, w.size - 1  # the ends catch off-by-one layouts
        index = np.unique(index)
        flat = w.reshape(-1)
        w64 = flat.astype(np.float64)
        init = initial_tensor(name, shape).reshape(-1).astype(np.float64)
        stats = np.array([w64.sum(), (w64 * w64).sum(), np.abs(w64 - init).sum()], np.float64)
        write_var(root, name + ".sample_index", index)
        write_var(root, name + ".sample_value", flat[index])
        write_var(root, name + ".stats", stats)
    finish(root)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnist", default=os.path.join(HERE, "..", "..", "data", "mnist"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)

    images, labels, source = load_batch(args.mnist)
    root = new_snapshot("batch")
    write_var(root, "images", images)
    write_var(root, "labels", labels)
    probe = [initial_values(k, n, a)[-1] for k, n, a in
             [(0, 1, 0.05), (0, 2, 0.05), (1, 1000, 1.0), (2, 7, 0.3), (3, 123457, 1.5 / 28),
              (4, 1605632, 1.5 / 56), (5, 512, 0.05), (6, 5120, 1.5 / math.sqrt(512)),
              (7, 10, 0.05), (7, 1, 1.0), (4, 401408, 1.5 / 28), (2, 51200, 1.5 / math.sqrt(800)),
              (0, 800, 0.3), (1, 32, 0.05), (3, 64, 0.05), (6, 99991, 2.0)]]
    write_var(root, "formula_probe", np.array(probe, np.float32))
    finish(root)

    plain = {}
    for model in ("mlp", "lenet"):
        runs = {m: train_two_steps(model, m, images, labels) for m in MOMENTA}
        plain[model] = runs
        step1 = runs[MOMENTA[0]][0]
        for m in MOMENTA[1:]:
            assert np.array_equal(runs[m][0][0], step1[0]), "step-1 loss depends on momentum"
            for name in step1[1]:
                assert np.array_equal(runs[m][0][1][name], step1[1][name]), name
        write_step(new_snapshot(model + "_step1"), model, *step1[:2])
        for m in MOMENTA:
            write_step(new_snapshot("%s_momentum_%g_step2" % (model, m)), model, *runs[m][1][:2])
        print("%s: loss step1 %.7f step2 %s" % (
            model, step1[0].mean(),
            " ".join("(momentum %g) %.7f" % (m, runs[m][1][0].mean()) for m in MOMENTA)))

    for model, clip_norm, momenta, clips in CLIP_CASES:
        runs = {m: train_two_steps(model, m, images, labels, clip_norm) for m in momenta}
        step1 = runs[momenta[0]][0]
        for m in momenta:
            assert np.array_equal(runs[m][0][0], step1[0]), "step-1 loss depends on momentum"
            for name in step1[1]:
                assert np.array_equal(runs[m][0][1][name], step1[1][name]), name
            for step in range(2):
                total_norm = runs[m][step][2]
                assert (total_norm > clip_norm) == clips, (model, clip_norm, m, step, total_norm)
                # The reference has teeth: clipping moves the weights by far more than the test
                # tolerates, and a clip norm above the norm leaves them exactly as without it.
                difference = max_weight_difference(runs[m][step][1], plain[model][m][step][1])
                if clips:
                    assert difference > 100 * WEIGHT_TOLERANCE, (model, clip_norm, m, step,
                                                                  difference)
                else:
                    assert difference == 0, (model, clip_norm, m, step, difference)
        prefix = "%s_clip_%g" % (model, clip_norm)
        write_step(new_snapshot(prefix + "_step1"), model, *step1)
        for m in momenta:
            write_step(new_snapshot("%s_momentum_%g_step2" % (prefix, m)), model, *runs[m][1])
        print("%s clip %g: total norm step1 %.7f, loss step2 %s" % (
            model, clip_norm, step1[2],
            " ".join("(momentum %g) %.7f, total norm %.7f" % (m, runs[m][1][0].mean(),
                                                           runs[m][1][2]) for m in momenta)))

    with open(os.path.join(OUT, "SOURCE"), "w") as f:
        f.write("Generated by tests/data/make_sgd_reference.py with torch %s, numpy %s, from %s.\n"
                "Do not edit; re-run the script.\n" % (torch.__version__, np.__version__, source))
    print("wrote", OUT, "from", source)


if __name__ == "__main__":
    sys.exit(main())
