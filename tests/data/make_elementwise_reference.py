#!/usr/bin/python3
"""PyTorch's values at the tricky points of flowrt's element-wise math ops, for
tests/ops/elementwise_math_test.cc (which reads the output and does not need PyTorch).

Run once and commit the output (Debian: apt-get install -y python3-torch):
    /usr/bin/python3 tests/data/make_elementwise_reference.py
Writes tests/data/elementwise_reference.txt: one line per op,
    <op> <a...> | <b...> | <op(a, b)...> | <d sum(op(a, b)) / da...>
with b empty for unary ops. Tricky points: x / 0 (±inf, nan), ln 0 and ln of a negative, sqrt of a
negative, the kinks of abs (0), leaky_relu (0) and clip_by_value (at its bounds, where PyTorch's
clamp passes the gradient).
"""
import os

import torch

ROWS = {
    "subtract": ([1.5, -2.0, 0.0, 3.25], [0.5, 2.0, -1.0, 3.25]),
    "divide": ([1.0, -1.0, 0.0, 3.0, 2.5], [0.0, 0.0, 0.0, -4.0, 0.5]),
    "exp": ([0.0, 1.0, -1.0, 10.0, -100.0, 88.0], None),
    "log": ([1.0, 0.0, -1.0, 2.718281828, 1e-30, 100.0], None),
    "sqrt": ([4.0, 0.0, -1.0, 2.0, 1e-20], None),
    "square": ([3.0, -3.0, 0.0, 1e-3, 1e19], None),
    "abs": ([-2.0, 0.0, 2.0, -0.0, -1e-30], None),
    "leaky_relu": ([-2.0, 0.0, 2.0, -1e-30, 1e-30], None),
    "clip_by_value": ([-1.0, -0.5, 0.0, 0.5, 1.0, 0.25], None),
}


def apply(name, a, b):
    if name == "subtract":
        return a - b
    if name == "divide":
        return a / b
    if name == "leaky_relu":
        return torch.nn.functional.leaky_relu(a, 0.1)
    if name == "clip_by_value":
        return torch.clamp(a, -0.5, 0.5)
    return getattr(torch, name)(a)


def floats(t):
    return " ".join(repr(float(v)) for v in t.detach().reshape(-1).tolist())


def main():
    lines = ["# made by tests/data/make_elementwise_reference.py with torch " + torch.__version__]
    for name, (a_values, b_values) in ROWS.items():
        a = torch.tensor(a_values, dtype=torch.float32, requires_grad=True)
        b = torch.tensor(b_values, dtype=torch.float32) if b_values is not None else None
        out = apply(name, a, b)
        out.sum().backward()
        lines.append(f"{name} {floats(a)} | {floats(b) if b is not None else ''} | {floats(out)} | "
                     f"{floats(a.grad)}")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "elementwise_reference.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
