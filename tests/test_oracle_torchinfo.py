"""The ``torchinfo`` memory model against torchinfo 1.8.0 itself, run on the same meta models.

torchinfo's summary runs fine on meta tensors (given ``input_data``), so the oracle costs no
memory. The totals compared are the four the paper's Table 4 used.
"""

from __future__ import annotations

import pytest
import torch
import torchinfo
from torch import nn

from splitcost.network.profiler import profile
from splitcost.network.zoo import build, resolve


def _torchinfo_totals(model: nn.Module, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    x = torch.empty(shape, device="meta")
    s = torchinfo.summary(model, input_data=[x], verbose=0)
    total = s.total_input + s.total_output_bytes + s.total_param_bytes
    return s.total_input, s.total_output_bytes, s.total_param_bytes, total


@pytest.mark.parametrize(
    ("name", "batch"),
    [
        ("mobilenet", 32),
        ("efficientnet", 32),
        ("vgg16", 2),
        ("resnet18", 4),
        ("densenet121", 1),
        ("vit_b_16", 1),
        ("convnext_tiny", 1),
        ("regnet_y_400mf", 2),
        ("inception_v3", 1),
    ],
)
def test_torchinfo_model_equals_torchinfo(name: str, batch: int) -> None:
    shape = (3, 299, 299) if name == "inception_v3" else (3, 224, 224)
    model, _ = build(resolve(name), shape[1:])
    expected = _torchinfo_totals(model, (batch, *shape))
    t = profile(name, shape, batch=batch).memory.torchinfo
    assert (t.input_bytes, t.forward_backward_bytes, t.params_bytes, t.total_bytes) == expected


def test_paper_table4_forward_backward_sizes() -> None:
    """The two Table 4 figures the paper printed and torchinfo 1.8.0 reproduces exactly."""
    assert profile("mobilenet", batch=32).memory.torchinfo.forward_backward_bytes == 724_076_544
    assert profile("efficientnet", batch=32).memory.torchinfo.forward_backward_bytes == (
        3_452_091_392
    )


class _Quirky(nn.Module):
    """torchinfo's quirks: a leaf module called twice, a tuple output, a parameter held by a
    non-leaf module (dropped from torchinfo's params size), tied weights on two modules."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.act = nn.ReLU()
        self.scale = nn.Parameter(torch.ones(8, 1, 1))
        self.a = nn.Linear(8, 8)
        self.b = nn.Linear(8, 8)
        self.b.weight = self.a.weight
        self.lstm = nn.LSTM(8, 4, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.conv(x)) * self.scale
        y = self.conv(y[:, :3])
        z = y.mean((2, 3))
        z = self.b(self.a(z))
        out, _ = self.lstm(z.unsqueeze(1))
        return out


def test_torchinfo_quirks_are_reproduced() -> None:
    with torch.device("meta"):
        model = _Quirky()
    expected = _torchinfo_totals(model, (2, 3, 16, 16))
    t = profile(model, (3, 16, 16), batch=2).memory.torchinfo
    assert (t.input_bytes, t.forward_backward_bytes, t.params_bytes, t.total_bytes) == expected
