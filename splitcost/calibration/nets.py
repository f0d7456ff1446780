"""Networks beyond torchvision's for calibration and its validation: a recurrent layer, so that
the fit sees the fused RNN kernels (``lstm``), a one-layer transformer encoder, so that it sees
the dense matmuls of a sequence model (``encoder_small``, a size the validation does not hold
out), and the sequence models the latency validation holds out (``lstm2``, ``encoder``). Each
factory is a zoo spec (``splitcost.calibration.nets:lstm``) and its network says its input
(batch excluded) in ``calibration_input``."""

from __future__ import annotations

import torch
from torch import nn


class LSTMNet(nn.Module):
    """One LSTM layer, hidden 256, batch first, on 32 tokens of 64 features."""

    calibration_input = (32, 64)

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(64, 256, num_layers=1, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.lstm(x)[0]
        return out


def lstm() -> nn.Module:
    return LSTMNet()


class LSTM2Net(nn.Module):
    """Two LSTM layers, hidden 128, batch first, on 64 tokens of 128 features."""

    calibration_input = (64, 128)

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(128, 128, num_layers=2, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.lstm(x)[0]
        return out


class EncoderNet(nn.Module):
    """nn.TransformerEncoder: 2 layers, d 256, 8 heads, feed-forward 1024, on 256 tokens."""

    calibration_input = (256, 256)

    def __init__(self) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(256, 8, 1024, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.encoder(x)
        return out


class SmallEncoderNet(nn.Module):
    """nn.TransformerEncoder: 1 layer, d 384, 6 heads, feed-forward 1536, on 128 tokens (a
    calibration network: not the size the validation holds out)."""

    calibration_input = (128, 384)

    def __init__(self) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(384, 6, 1536, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.encoder(x)
        return out


def encoder_small() -> nn.Module:
    return SmallEncoderNet()


def lstm2() -> nn.Module:
    return LSTM2Net()


def encoder() -> nn.Module:
    return EncoderNet()
