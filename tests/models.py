"""Small models written for the tests, each with figures that can be derived by hand."""

from __future__ import annotations

import torch
from torch import nn


def chain() -> nn.Module:
    """3x8x8 -> conv3x3(4) -> ReLU -> conv1x1(2). float32, batch 1:
    input 768 B, conv1 out 1024 B, relu out 1024 B, conv2 out 512 B."""
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 2, 1))


class Residual(nn.Module):
    """y = conv2(relu(conv1(x))) + x, channels 3 -> 4 -> 3 at 8x8."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(4, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.relu(self.conv1(x))) + x


class LateBranch(nn.Module):
    """A branch taken early and rejoined late: a cut in the middle carries it."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.branch = nn.Conv2d(8, 2, 1)
        self.body = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
        self.merge = nn.Conv2d(10, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.stem(x)
        b = self.branch(s)
        y = self.body(s)
        return self.merge(torch.cat([y, b], dim=1))


def chain_factory() -> nn.Module:
    """A factory for ``tests.models:chain_factory``."""
    return chain()


_LIB = torch.library.Library("splitcost_test", "DEF")
_LIB.define("twice(Tensor x) -> Tensor")
_LIB.impl("twice", lambda x: x * 2, "CPU")


class NoMetaKernel(nn.Module):
    """Calls an operator that has a CPU kernel and no meta kernel."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.ops.splitcost_test.twice(x))


class DataDependent(nn.Module):
    """Control flow on a tensor's value."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fc(x)
        if y.sum() > 0:
            return y
        return -y


class Aliased(nn.Module):
    """Returns one storage three times: ``{y, y, y.flatten(1)}`` (the issue's case), 1x16x32x32
    float32 = 65,536 B crossing once."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        y = self.conv(x)
        return {"a": y, "b": y, "c": y.flatten(1)}


class TwoSlices(nn.Module):
    """Two disjoint halves of one storage and a strided view: each byte crosses once."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        y = self.fc(x)  # batch x 8
        return y[:, :4], y[:, 4:], y.t()


class TwoInputs(nn.Module):
    """An image and token ids: conv features and embedded tokens, concatenated per sample."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.embed = nn.Embedding(100, 8)

    def forward(self, image: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.conv(image).flatten(1), self.embed(tokens).flatten(1)], dim=1)


def raising() -> nn.Module:
    """A factory that fails, as user code does."""
    raise ValueError("this factory is broken")


def downloading() -> nn.Module:
    """A factory that tries to fetch weights (no network here): urllib's error."""
    import urllib.error

    raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")


def sized(width: int, depth: int = 1) -> nn.Module:
    """A factory that needs an argument: ``--backbone-arg width=8``."""
    return nn.Sequential(*[nn.Linear(width, width) for _ in range(depth)])
