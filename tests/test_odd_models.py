"""Odd models users bring: each test asserts the right numbers (by hand or against torchinfo)
or the exact message."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchinfo
from torch import nn

from splitcost.errors import InputError
from splitcost.network.cuts import cuts
from splitcost.network.profiler import profile


class Functional(nn.Module):
    """Only functional calls: F.conv2d and a matrix product with the @ operator."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 3, 3, 3))
        self.m = nn.Parameter(torch.randn(8 * 8, 5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(F.conv2d(x, self.w, padding=1))  # 1x4x8x8
        return y.flatten(2) @ self.m  # 1x4x64 @ 64x5


def test_functional_ops_are_counted() -> None:
    p = profile(Functional(), (3, 8, 8))
    assert p.params == 4 * 3 * 9 + 64 * 5
    assert p.macs == 4 * 64 * 3 * 9 + 4 * 64 * 5
    assert p.zb_shape == (1, 4, 5)


class TupleOut(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)
        self.b = nn.Conv2d(3, 2, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.a(x), self.b(x)


class DictOut(TupleOut):
    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:  # type: ignore[override]
        return {"a": self.a(x), "b": self.b(x)}


@pytest.mark.parametrize("cls", [TupleOut, DictOut], ids=["tuple", "dict"])
def test_tuple_and_dict_outputs(cls: type[nn.Module]) -> None:
    model = cls()
    p = profile(model, (3, 8, 8), batch=2)
    both = 2 * (4 + 2) * 64 * 4
    assert p.zb_bytes == both  # Z_b is every output tensor
    assert cuts(p.trace)[-1].payload_bytes == both
    with torch.device("meta"):
        twin = cls()
    s = torchinfo.summary(twin, input_data=[torch.empty(2, 3, 8, 8, device="meta")], verbose=0)
    assert p.memory.torchinfo.forward_backward_bytes == s.total_output_bytes


class Shared(nn.Module):
    """One Linear applied twice, and an embedding tied to the output projection."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(50, 16)
        self.mix = nn.Linear(16, 16)
        self.out = nn.Linear(16, 50, bias=False)
        self.out.weight = self.emb.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.out(self.mix(self.mix(self.emb(tokens))))


def test_shared_and_tied_weights_count_once() -> None:
    p = profile(Shared(), "10:int64")
    assert p.params == 50 * 16 + (16 * 16 + 16)
    assert p.param_bytes == 4 * p.params
    assert p.macs == 2 * 10 * 16 * 16 + 10 * 16 * 50
    assert p.input_bytes == 10 * 8


def _encoder(d: int = 32, heads: int = 4, ff: int = 64) -> nn.Module:
    layer = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, batch_first=True)
    return nn.Sequential(nn.Embedding(100, d), nn.TransformerEncoder(layer, 2,
                                                                     enable_nested_tensor=False))


def test_token_model_with_a_transformer_encoder() -> None:
    seq, d, ff, layers = 16, 32, 64, 2
    p = profile(_encoder(d, 4, ff), "16:int64", batch=1)
    per_layer = seq * d * 3 * d + 2 * seq * seq * d + seq * d * d + 2 * seq * d * ff
    assert p.macs == layers * per_layer
    assert p.zb_shape == (1, seq, d)
    assert p.input.dtype == "int64" and p.input_bytes == seq * 8


def test_input_with_a_leading_one_is_a_clear_error() -> None:
    with pytest.raises(InputError) as e:
        profile(_encoder(), "1x16:int64", batch=1)
    assert "cannot run on input 1x1x16" in str(e.value)
    assert "query should be unbatched 2D or batched 3D tensor but received 4-D" in str(e.value)


class Counting(nn.Module):
    """A module that mutates its own state during forward."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("calls", torch.zeros(()))
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.fc(x)


def test_a_module_that_mutates_state_in_forward() -> None:
    model = Counting()
    p = profile(model, (4,))
    assert p.macs == 16 and p.buffer_bytes == 4
    assert model.calls.item() == 0  # the user's module is untouched


def test_input_too_small_names_the_smallest_that_works() -> None:
    with pytest.raises(InputError) as e:
        profile("vgg16", (3, 16, 16))
    assert "Output size is too small" in str(e.value)
    assert str(e.value).endswith("the smallest square input that works is 3x32x32")


class Branchy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x) if bool((x > 0).any()) else x


def test_data_dependent_control_flow_message() -> None:
    with pytest.raises(InputError) as e:
        profile(Branchy(), (4,))
    assert str(e.value) == (
        "the network reads tensor values (aten._local_scalar_dense in the network's own "
        "forward): its control flow or output shapes depend on the data, which a trace "
        "without data cannot follow"
    )


class Attention(nn.Module):
    """Self-attention written with F.scaled_dot_product_attention, as timm and HF models do."""

    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(32, 96)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, 4, 8).permute(2, 0, 3, 1, 4)
        return F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, 32)


def test_sdpa_is_traced_as_the_fused_kernel_real_devices_run() -> None:
    from oracles.alloc_tracker import measure

    model = Attention().eval()
    p = profile(model, (256, 32))
    # MACs by hand: the qkv projection, then Q K^T and A V for 4 heads of width 8.
    assert p.macs == 256 * 32 * 96 + 4 * 256 * 256 * (8 + 8)
    # Memory against real CPU allocations: the fused kernel never holds the 4x256x256 scores.
    real = measure(model, torch.zeros(1, 256, 32))
    assert p.memory.inference.peak_activation_bytes == real.activation_peak
