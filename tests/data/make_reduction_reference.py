#!/usr/bin/python3
"""PyTorch's values for the tricky cases of reduce_max and softmax_cross_entropy, for
tests/ops/reduction_ops_test.cc (which reads the output and does not need PyTorch).

Run once and commit the output (Debian: apt-get install -y python3-torch):
    /usr/bin/python3 tests/data/make_reduction_reference.py
Writes tests/data/reduction_reference.txt, one case per line: `<case> key=v,v,... ...`, where
x/logits/labels are the inputs (C order), shape and axes describe them, out is the forward value
and grad_* are d sum(out · w) / d input for the given w.
"""
import os

import torch


def floats(t):
    return ",".join(repr(float(v)) for v in t.detach().reshape(-1).tolist())


def ints(values):
    return ",".join(str(v) for v in values)


def reduce_max_case(name, x, axes, keepdims):
    x = x.clone().requires_grad_(True)
    out = torch.amax(x, dim=axes, keepdim=keepdims) if axes else torch.amax(x)
    w = torch.linspace(0.5, 2.0, out.numel()).reshape(out.shape)
    (out * w).sum().backward()
    return (f"{name} shape={ints(x.shape)} axes={ints(axes)} keepdims={int(keepdims)} "
            f"x={floats(x)} w={floats(w)} out={floats(out)} grad_x={floats(x.grad)}")


def cross_entropy_case(name, logits, labels):
    logits = logits.clone().requires_grad_(True)
    labels = labels.clone().requires_grad_(True)
    out = -(labels * torch.log_softmax(logits, dim=1)).sum(dim=1)
    w = torch.linspace(0.5, 2.0, out.numel())
    (out * w).sum().backward()
    return (f"{name} shape={ints(logits.shape)} logits={floats(logits)} labels={floats(labels)} "
            f"w={floats(w)} out={floats(out)} grad_logits={floats(logits.grad)} "
            f"grad_labels={floats(labels.grad)}")


def main():
    # Ties within a reduced group: the gradient is split evenly among them.
    ties = torch.tensor([[[1, 3, 3, 0], [2, 2, 2, 2]], [[-1, -5, -1, -1], [0, 7, 7, 6]]],
                        dtype=torch.float32)
    lines = ["# made by tests/data/make_reduction_reference.py with torch " + torch.__version__]
    lines.append(reduce_max_case("reduce_max_ties_last_axis", ties, [2], False))
    lines.append(reduce_max_case("reduce_max_ties_two_axes_keepdims", ties, [0, 2], True))
    lines.append(reduce_max_case("reduce_max_every_axis", ties, [], False))
    lines.append(reduce_max_case("reduce_max_negative_inf",
                                 torch.tensor([[-float("inf"), -float("inf")], [-3.0, -float("inf")]]),
                                 [1], False))
    # Extreme logits (finite loss thanks to log-sum-exp), labels that do not sum to 1, a row of
    # zeros.
    lines.append(cross_entropy_case(
        "softmax_cross_entropy_extreme",
        torch.tensor([[1000.0, -1000.0, 0.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]),
        torch.tensor([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5], [0.5, 0.0, 1.0]])))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reduction_reference.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
