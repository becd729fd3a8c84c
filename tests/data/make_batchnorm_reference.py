#!/usr/bin/python3
"""One training step and one predict step of PyTorch's BatchNorm2d / BatchNorm1d, for
tests/graph/batch_normalization_test.cc (which reads the output and does not need PyTorch).

Run once and commit the output (Debian: apt-get install -y python3-torch):
    /usr/bin/python3 tests/data/make_batchnorm_reference.py
Writes tests/data/batchnorm_reference.txt. Each case is a "case <name> <momentum> <epsilon>
<shape...>" line followed by one "<key> <values...>" line per tensor (C order) and "end":
    inputs:  x, gamma, beta, moving_mean, moving_variance (before the step), w
    results: y (train mode), dx, dgamma, dbeta of loss = sum(y * w), moving_mean_after,
             moving_variance_after, y_predict (eval mode with the updated moving statistics).
`momentum` is OneFlow's (moving = momentum * moving + (1 - momentum) * batch); PyTorch gets
1 - momentum. PyTorch feeds the unbiased batch variance to the moving average and normalizes with
the biased one, which is OneFlow's normalization kernels' rule too. Computed in float64 from
float32-representable inputs, so the file holds the exact answer to float32 inputs.
"""
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "batchnorm_reference.txt")

# name, OneFlow momentum, epsilon, x shape, x offset (a mean far from 0 stresses the variance)
CASES = [
    ("conv", 0.9, 1e-3, (4, 3, 4, 5), 3.0),
    ("conv_defaults", 0.99, 1e-3, (2, 8, 3, 3), -1.5),
    ("dense", 0.99, 1e-3, (6, 5), 0.5),
]


def f32(t):
    return t.float().double()


def run(momentum, eps, shape, offset, gen):
    c = shape[1]
    x = f32(torch.randn(shape, generator=gen, dtype=torch.float64) * 2 + offset)
    gamma = f32(torch.rand(c, generator=gen, dtype=torch.float64) + 0.5)
    beta = f32(torch.randn(c, generator=gen, dtype=torch.float64))
    moving_mean = f32(torch.randn(c, generator=gen, dtype=torch.float64))
    moving_variance = f32(torch.rand(c, generator=gen, dtype=torch.float64) + 0.5)
    w = f32(torch.randn(shape, generator=gen, dtype=torch.float64))

    bn_class = torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d
    bn = bn_class(c, eps=eps, momentum=1 - momentum).double()
    with torch.no_grad():
        bn.weight.copy_(gamma)
        bn.bias.copy_(beta)
        bn.running_mean.copy_(moving_mean)
        bn.running_var.copy_(moving_variance)
    bn.train()
    xg = x.clone().requires_grad_(True)
    y = bn(xg)
    (y * w).sum().backward()
    bn.eval()
    with torch.no_grad():
        y_predict = bn(x)
    return [
        ("x", x), ("gamma", gamma), ("beta", beta), ("moving_mean", moving_mean),
        ("moving_variance", moving_variance), ("w", w), ("y", y.detach()), ("dx", xg.grad),
        ("dgamma", bn.weight.grad), ("dbeta", bn.bias.grad),
        ("moving_mean_after", bn.running_mean), ("moving_variance_after", bn.running_var),
        ("y_predict", y_predict),
    ]


def main():
    gen = torch.Generator().manual_seed(17)
    lines = [f"# made by tests/data/make_batchnorm_reference.py with torch {torch.__version__}"]
    for name, momentum, eps, shape, offset in CASES:
        lines.append(f"case {name} {momentum} {eps} " + " ".join(str(d) for d in shape))
        for key, t in run(momentum, eps, shape, offset, gen):
            lines.append(key + " " + " ".join(repr(float(v)) for v in t.flatten().tolist()))
        lines.append("end")
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
