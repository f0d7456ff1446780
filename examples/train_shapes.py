"""Single-task networks vs one multi-task network on a small synthetic data set, on CPU.

The data set is made here: coloured shapes (circle, square, triangle) of three sizes at random
places on a 32x32 image, with 15% salt-and-pepper noise, like the paper's noisy 3D Shapes. Two
tasks: the shape and the size. The backbone is a small CNN; each head is the paper's
(Linear -> Dropout -> ReLU -> Linear, 256 hidden). The multi-task network is trained on the sum
of the task losses (Eq. 4) with the helpers of ``splitcost.deploy.train``; each single-task network
is the same backbone with one head, trained on its own task with the same steps and learning rate.

It prints the test accuracy of each task for both, and what each costs in parameters. That is
all it measures: one seed, one small data set, a few epochs.

    python examples/train_shapes.py            # about half a minute on one core
    python examples/train_shapes.py --quick    # a few seconds (the test suite runs this)

It trains on one thread: for networks this small, OpenMP threads cost more than they give, and
on a busy machine far more (20x slower per image here with two threads beside other work).
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from torch import nn

from splitcost.deploy.mtl import MTLNet, build_mtl
from splitcost.deploy.train import accuracy, param_groups, train_step

SIZE = 32
SHAPES = ("circle", "square", "triangle")
RADII = (4.0, 7.0, 10.0)  # small, medium, large
NOISE = 0.15


def make_shapes(n: int, gen: torch.Generator) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``n`` images 3x32x32 in [0, 1] and their labels (shape, size)."""
    shape = torch.randint(0, len(SHAPES), (n,), generator=gen)
    size = torch.randint(0, len(RADII), (n,), generator=gen)
    r = torch.tensor(RADII)[size].view(n, 1, 1)
    margin = r + 1
    cx = margin + torch.rand(n, 1, 1, generator=gen) * (SIZE - 2 * margin)
    cy = margin + torch.rand(n, 1, 1, generator=gen) * (SIZE - 2 * margin)
    ys, xs = torch.meshgrid(torch.arange(float(SIZE)), torch.arange(float(SIZE)),
                            indexing="ij")
    dx, dy = xs - cx, ys - cy
    circle = dx**2 + dy**2 <= r**2
    square = (dx.abs() <= r * math.sqrt(math.pi) / 2) & (dy.abs() <= r * math.sqrt(math.pi) / 2)
    triangle = (dy <= r) & (dy >= -r) & (dx.abs() <= (dy + r) / 2 * 1.2)
    masks = torch.stack([circle, square, triangle], 1)[torch.arange(n), shape]
    colour = 0.35 + 0.65 * torch.rand(n, 3, 1, 1, generator=gen)
    images = masks.unsqueeze(1) * colour
    noisy = torch.rand(n, 1, SIZE, SIZE, generator=gen) < NOISE
    salt = (torch.rand(n, 1, SIZE, SIZE, generator=gen) < 0.5).float()
    images = torch.where(noisy, salt.expand(-1, 3, -1, -1), images)
    return images, [shape, size]


def small_cnn() -> nn.Module:
    def block(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                nn.MaxPool2d(2)]

    return nn.Sequential(*block(3, 16), *block(16, 32), *block(32, 32))  # Z_b: 32x4x4


def fit(net: MTLNet, x: torch.Tensor, labels: list[torch.Tensor], epochs: int, batch: int,
        lr: float, gen: torch.Generator) -> None:
    # Trained from scratch, the backbone learns at the heads' rate (eta = alpha); the paper's
    # fine-tuning would pass eta << alpha, or freeze_backbone=True.
    opt = torch.optim.Adam(param_groups(net, alpha=lr, eta=lr))
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            train_step(net, opt, x[idx], [y[idx] for y in labels])


def params(*nets: nn.Module) -> int:
    return sum(p.numel() for n in nets for p in n.parameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a reduced run of a few seconds")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n_train, n_test, epochs = (500, 200, 1) if args.quick else (3000, 1000, 4)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    x_train, y_train = make_shapes(n_train, gen)
    x_test, y_test = make_shapes(n_test, gen)
    shape = (3, SIZE, SIZE)
    classes = [len(SHAPES), len(RADII)]

    t0 = time.perf_counter()
    single = []
    for j, c in enumerate(classes):
        net = build_mtl(small_cnn(), [c], input_shape=shape)
        fit(net, x_train, [y_train[j]], epochs, 64, 1e-3, gen)
        single.append((net, accuracy(net, x_test, [y_test[j]])[0]))
    t1 = time.perf_counter()
    multi = build_mtl(small_cnn(), classes, input_shape=shape)
    fit(multi, x_train, y_train, epochs, 64, 1e-3, gen)
    multi_acc = accuracy(multi, x_test, y_test)
    t2 = time.perf_counter()

    print(f"Synthetic noisy shapes: {n_train} training and {n_test} test images 3x{SIZE}x{SIZE}, "
          f"{NOISE:.0%} salt-and-pepper noise; {epochs} epoch{'s' * (epochs != 1)}, Adam lr "
          f"1e-3, batch 64, seed {args.seed}, 1 thread")
    print(f"{'task':<8}{'classes':>8}{'chance':>9}{'single-task':>13}{'multi-task':>12}")
    for j, name in enumerate(("shape", "size")):
        print(f"{name:<8}{classes[j]:>8}{1 / classes[j]:>9.3f}{single[j][1]:>13.3f}"
              f"{multi_acc[j]:>12.3f}")
    print(f"parameters: single-task {params(*(n for n, _ in single)):,} (2 backbones + 2 heads), "
          f"multi-task {params(multi):,} (1 backbone + 2 heads)")
    print(f"training time: single-task {t1 - t0:.1f} s, multi-task {t2 - t1:.1f} s (CPU)")


if __name__ == "__main__":
    main()
