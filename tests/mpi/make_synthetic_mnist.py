"""Writes a small MNIST-format data set (IDX files) for the MPI tests: 1200 training and 240 test
images of random pixels with random labels, seeded. The data-parallel tests compare weights, not
accuracy, so real digits are not needed; this keeps each run to a fraction of a second.

    python3 make_synthetic_mnist.py OUT_DIR
"""
import random
import struct
import sys
from pathlib import Path


def write_split(out: Path, prefix: str, count: int, rng: random.Random) -> None:
    images = bytes(rng.getrandbits(8) for _ in range(count * 28 * 28))
    labels = bytes(rng.randrange(10) for _ in range(count))
    (out / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, count, 28, 28) + images)
    (out / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, count) + labels)


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(13)
    write_split(out, "train", 1200, rng)
    write_split(out, "t10k", 240, rng)


if __name__ == "__main__":
    main()
