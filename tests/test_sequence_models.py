"""RNN/LSTM/GRU and nn.TransformerEncoder traced as the fused kernels PyTorch runs: their MACs by
hand, and their peak memory against the CPU allocator on a real run (tests/oracles/
alloc_tracker.py: its raw high-water mark, which includes the memory a fused kernel allocates and
frees inside itself: the attention scores of the encoder's fast path, oneDNN's LSTM gates)."""

from __future__ import annotations

import pytest
import torch
from oracles.alloc_tracker import measure
from torch import nn

from splitcost.network.profiler import profile

TOLERANCE = 0.10


class LastOutput(nn.Module):
    """An RNN layer returning its output sequence (what a model built on one uses)."""

    def __init__(self, rnn: nn.Module):
        super().__init__()
        self.rnn = rnn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.rnn(x)[0]
        return out


def _compute_ops(p):  # type: ignore[no-untyped-def]
    """The recurrent kernel (nn.LSTM also makes its zero initial states: two fills)."""
    return [op for op in p.trace.ops if op.cost.op_class == "recurrent"]


def test_a_two_layer_lstm_is_one_fused_kernel() -> None:
    p = profile(nn.LSTM(64, 128, num_layers=2, batch_first=True), (32, 64))
    [op] = _compute_ops(p)
    assert op.op == "aten.lstm" and op.cost.op_class == "recurrent"
    # Per token: 4 gates x 128 units x (inputs + hidden): layer 0 64 + 128, layer 1 128 + 128.
    assert p.macs == 32 * 512 * (64 + 128) + 32 * 512 * (128 + 128)
    assert op.cost.steps == 32 * 2  # one dependent step per token and layer
    # It re-reads W_hh (512 x 128 floats per layer) at every step after the first.
    assert op.cost.extra_bytes == 31 * 2 * 512 * 128 * 4
    # Outputs: the sequence 1x32x128, h_n and c_n 2x1x128 each.
    assert [m.shape for m in op.outputs] == [(1, 32, 128), (2, 1, 128), (2, 1, 128)]


def test_gru_macs_by_hand() -> None:
    p = profile(nn.GRU(16, 32, num_layers=1, bidirectional=True, batch_first=True), (10, 16))
    [op] = _compute_ops(p)
    # 3 gates x 32 units x (16 + 32) per token and direction.
    assert p.macs == 2 * 10 * 96 * (16 + 32)
    assert op.cost.steps == 10 * 2


def _encoder(length: int) -> nn.Module:
    layer = nn.TransformerEncoderLayer(256, 8, 1024, batch_first=True)
    return nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).eval()


def test_encoder_fast_path_macs_by_hand_and_the_module_untouched() -> None:
    enc = _encoder(64)
    p = profile(enc, (64, 256))
    d, length, ff = 256, 64, 1024
    per_layer = (3 * length * d * d  # Q, K, V in one GEMM
                 + length * length * d  # Q K^T
                 + length * length * d  # scores x V
                 + length * d * d  # the output projection
                 + 2 * length * d * ff)  # the feed-forward network
    assert p.macs == 2 * per_layer
    assert all(type(m) is nn.TransformerEncoderLayer for m in enc.layers)


def _rss_peak(model: nn.Module, shape: tuple[int, ...], batch: int) -> tuple[int, int]:
    torch.manual_seed(0)
    real = measure(model.eval(), torch.zeros(batch, *shape))
    return profile(model, shape, batch=batch).memory.inference.peak_activation_bytes, real.raw_peak


@pytest.mark.parametrize(("model", "shape", "batch"), [
    (LastOutput(nn.LSTM(128, 128, num_layers=2, batch_first=True)), (64, 128), 1),
    (LastOutput(nn.LSTM(128, 128, num_layers=2, batch_first=True)), (256, 128), 8),
    (LastOutput(nn.GRU(64, 128, num_layers=2, batch_first=True)), (64, 64), 4),
    (_encoder(256), (256, 256), 1),
], ids=["lstm-2x128-64", "lstm-2x128-256-b8", "gru-2x128-64-b4", "encoder-256"])
def test_peak_memory_matches_the_cpu_allocator(model: nn.Module, shape: tuple[int, ...],
                                               batch: int) -> None:
    ours, real = _rss_peak(model, shape, batch)
    assert ours == pytest.approx(real, rel=TOLERANCE), (ours, real)


def test_encoder_at_1024_tokens_batch_4() -> None:
    # The case: the slow path's trace held the 4 x 8 x 1024 x 1024 scores twice
    # (293.6 MB); the fast path holds them once, 155.2 MB.
    ours, real = _rss_peak(_encoder(1024), (1024, 256), 4)
    assert ours == pytest.approx(real, rel=TOLERANCE), (ours, real)
