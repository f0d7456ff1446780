"""A user's own backbone, as splitcost loads it: ``--backbone my_backbone:make``.

A small camera backbone (about 0.3 M parameters): a strided stem and four residual stages that
halve the resolution and double the channels, ending in a 128-channel feature map (Z_b). The
residual blocks matter for splitting: a cut inside a block also sends the skip tensor.

splitcost imports this module and calls ``make()`` with no arguments; the factory must return a
``torch.nn.Module`` whose output is the feature map the task heads read. splitcost builds it on
the meta device, so no weights are allocated, and never calls it with real data.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn


def conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class Residual(nn.Module):
    """Two 3x3 convolutions with a skip connection; stride 2 halves the resolution."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = conv_bn(cin, cout, stride)
        self.conv2 = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                                   nn.BatchNorm2d(cout))
        self.skip = (nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv2(self.conv1(x)) + self.skip(x))


def make() -> nn.Module:
    """The backbone: 3xHxW in, 128 x H/32 x W/32 out."""
    return nn.Sequential(OrderedDict(
        stem=conv_bn(3, 16, stride=2),
        stage1=Residual(16, 16, stride=2),
        stage2=Residual(16, 32, stride=2),
        stage3=Residual(32, 64, stride=2),
        stage4=Residual(64, 128, stride=2),
    ))


if __name__ == "__main__":  # run on its own: what the factory builds
    net = make()
    with torch.no_grad():
        out = net(torch.zeros(1, 3, 224, 224))
    print(f"my_backbone:make -> {sum(p.numel() for p in net.parameters()):,} params, "
          f"1x3x224x224 -> {'x'.join(map(str, out.shape))}; profile it with "
          "'splitcost profile --backbone my_backbone:make' from this folder, or run "
          "examples/own_backbone.py")
