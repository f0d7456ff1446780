"""Which fusions a runtime makes on this machine, measured as nn-Meter does (Zhang et al.,
MobiSys 2021; microsoft/nn-Meter ``docs/builder/test_fusion_rules.md``): for a pair op1 -> op2,
time op1 alone, op2 alone and the two in sequence; the runtime fused them when

    T1 + T2 - T12 > alpha x min(T1, T2),   alpha = 0.5

(running both costs less than the two alone by more than half the cheaper one: op2's kernel
and its round trip through memory are gone). Each time is a graph of its own minus what running
the graph's lead-in costs (:class:`Pair`). Tensors: 64 channels at 28 x 28 for convolutions and
pointwise ops (nn-Meter uses 16-256 channels at 28 x 28), 64 tokens of width 256 for matmuls.

Each pair is named by the fusion rule it tests (:mod:`splitcost.hardware.runtimes`); the rules
that pass are what ``[runtime.onnxruntime] fuses`` holds in the calibrated profile.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from splitcost.calibration.results import FusionTest

__all__ = ["RULES", "FusionTest", "Pair", "binary", "inputs", "modules"]
CHANNELS, SIZE = 64, 28
TOKENS, WIDTH = 64, 256


class _Add(nn.Module):
    def forward(self, x: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        return x + other


class _Mul(nn.Module):
    def forward(self, x: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        return x * other


def _conv_family() -> dict[str, Callable[[], nn.Module]]:
    c = CHANNELS
    return {
        "conv": lambda: nn.Conv2d(c, c, 3, padding=1, bias=False),
        "pointwise": lambda: nn.Conv2d(c, c, 1, bias=False),
        "depthwise": lambda: nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False),
        "grouped": lambda: nn.Conv2d(c, c, 3, padding=1, groups=8, bias=False),
        "pool": lambda: nn.MaxPool2d(3, 1, 1),
        "norm": lambda: nn.BatchNorm2d(c),
        "activation": nn.ReLU,
        "function": nn.Hardswish,
        "add": _Add,
        "mul": _Mul,
    }


def _matmul_family() -> dict[str, Callable[[], nn.Module]]:
    return {"matmul": lambda: nn.Linear(WIDTH, WIDTH), "activation": nn.ReLU,
            "function": nn.GELU, "add": _Add}


# The rules tested, each with the family of tensors it is tested on.
RULES: tuple[tuple[str, str], ...] = (
    *((f"{a}+{b}", "conv") for a in ("conv", "pointwise", "depthwise")
      for b in ("norm", "activation", "function", "add")),
    ("grouped+norm", "conv"), ("grouped+activation", "conv"),
    ("matmul+activation", "matmul"), ("matmul+function", "matmul"), ("matmul+add", "matmul"),
    ("pool+activation", "conv"),
    ("norm+activation", "conv"), ("norm+function", "conv"),
    ("add+activation", "conv"), ("add+function", "conv"),
    ("activation+add", "conv"), ("activation+mul", "conv"),
    ("function+add", "conv"), ("function+mul", "conv"),
)


def _binary(op: nn.Module) -> bool:
    return isinstance(op, _Add | _Mul)


class Pair(nn.Module):
    """lead -> op1 -> op2. Every convolution-family graph starts with a max pool, and a binary
    op's other operand is computed from the second input (a 1x1 convolution, a linear layer),
    so that op1 and op2 see tensors made inside the graph, as in a network: a runtime lays out
    and fuses such tensors differently from a graph's own inputs (ONNX Runtime's NCHWc
    convolutions take a residual as their Sum input and turn a batch norm into a convolution,
    only for tensors already in that layout). ``keep`` returns the other operand too, so that
    op1 alone still computes it."""

    def __init__(self, lead: nn.Module, first: nn.Module, second: nn.Module,
                 prelude: nn.Module | None, keep: bool = False):
        super().__init__()
        self.lead, self.first, self.second = lead, first, second
        self.prelude, self.keep = prelude, keep

    def forward(self, x: torch.Tensor, *other: torch.Tensor) -> Any:
        r = [self.prelude(other[0])] if self.prelude is not None else []
        x = self.lead(x)
        y = self.first(x, *r) if _binary(self.first) else self.first(x)
        out = self.second(y, *r) if _binary(self.second) else self.second(y)
        return (out, *r) if self.keep else out


def binary(rule: str) -> bool:
    """Whether the rule's graphs take a second input (an add or a multiply)."""
    return any(w in ("add", "mul") for w in rule.split("+"))


def inputs(family: str, rule: str) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    shape = (1, CHANNELS, SIZE, SIZE) if family == "conv" else (1, TOKENS, WIDTH)
    return tuple(torch.randn(shape, generator=g) for _ in range(2 if binary(rule) else 1))


def _lead(family: str) -> nn.Module:
    """A max pool (stride 1): it lays its output out as a network's convolutions would, and
    fuses with nothing after it."""
    return nn.MaxPool2d(3, 1, 1) if family == "conv" else nn.Identity()


def _operand(family: str) -> nn.Module:
    return (nn.Conv2d(CHANNELS, CHANNELS, 1, bias=False) if family == "conv" else
            nn.Linear(WIDTH, WIDTH))


def modules(rule: str, family: str) -> tuple[nn.Module, nn.Module, nn.Module, nn.Module]:
    """(the lead-in and other operand alone; op1 alone; op2 alone; op1 -> op2), eval, seeded
    random weights; each takes the rule's inputs (:func:`inputs`)."""
    table = _conv_family() if family == "conv" else _matmul_family()
    a, b = rule.split("+")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        first, second = table[a](), table[b]()
        lead, pre = _lead(family), _operand(family) if binary(rule) else None
        out = (Pair(lead, nn.Identity(), nn.Identity(), pre, keep=pre is not None),
               Pair(lead, first, nn.Identity(), pre, keep=pre is not None),
               Pair(lead, nn.Identity(), table[b](), pre), Pair(lead, first, second, pre))
    for m in out:
        m.eval()
    return out
