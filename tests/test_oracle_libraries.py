"""timm and transformers backbones against oracles no one here wrote: parameters against
``sum(p.numel())`` of the real module, MACs against ``torch.utils.flop_counter.FlopCounterMode``
(FLOPs = 2 x MACs for convolutions, matmuls and attention) on a real forward of CPU tensors.

Whole timm models are checked, and their backbones (``forward_features``) too: its parameters
are exactly those a backward pass of ``forward_features`` reaches (every parameter it uses).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import splitcost

timm = pytest.importorskip("timm")
transformers = pytest.importorskip("transformers")

TIMM = ["resnet18", "resnet50", "mobilenetv3_small_100", "efficientnet_b0", "convnext_atto",
        "regnetx_002", "vit_tiny_patch16_224", "deit_tiny_patch16_224", "mobilevit_xxs",
        "ghostnet_100", "levit_128s", "mixer_s32_224"]
HF = {
    "bert": ({"num_hidden_layers": 2, "hidden_size": 128, "num_attention_heads": 2,
              "intermediate_size": 256}, "32:int64"),
    "gpt2": ({"n_layer": 2, "n_embd": 128, "n_head": 2}, "32:int64"),
    "vit": ({"num_hidden_layers": 2, "hidden_size": 96, "num_attention_heads": 2,
             "intermediate_size": 192, "image_size": 64, "patch_size": 16}, "3x64x64"),
    "roberta": ({"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 2,
                 "intermediate_size": 128}, "24:int64"),
}


def _flops(fn: Any, *args: Any) -> int:
    """FLOPs of a real CPU forward. Attention runs as its math decomposition: FlopCounterMode
    has no formula for the fused CPU kernel, whose MACs are the same matmuls."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), sdpa_kernel([SDPBackend.MATH]), counter:
        fn(*args)
    return int(counter.get_total_flops())


def _close(ours: int, oracle: int) -> bool:
    return abs(ours - oracle) <= 0.01 * oracle


@pytest.mark.parametrize("name", TIMM)
def test_timm_matches_flop_counter(name: str) -> None:
    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False).eval()
    size = tuple(model.pretrained_cfg["input_size"])
    x = torch.randn(1, *size)
    whole = splitcost.profile(f"timm:{name}", size, whole=True)
    assert whole.params == sum(p.numel() for p in model.parameters())
    oracle = _flops(model, x)
    assert _close(2 * whole.macs, oracle), (2 * whole.macs, oracle)

    backbone = splitcost.profile(f"timm:{name}", size)
    oracle = _flops(model.forward_features, x)
    assert _close(2 * backbone.macs, oracle), (2 * backbone.macs, oracle)
    # In training mode, as eval mode may serve cached values (LeViT's attention biases).
    model.train().zero_grad()
    model.forward_features(torch.randn(2, *size)).float().sum().backward()
    used = sum(p.numel() for p in model.parameters() if p.grad is not None)
    model.eval()
    assert backbone.params == used
    with torch.no_grad():
        feats = model.forward_features(x)
    assert backbone.zb_shape == tuple(feats.shape)


@pytest.mark.parametrize("model_type", list(HF))
def test_transformers_matches_flop_counter(model_type: str) -> None:
    args, text = HF[model_type]
    spec = splitcost.profile(f"hf:{model_type}", text, backbone_args=args)
    config = transformers.AutoConfig.for_model(model_type, **args)
    torch.manual_seed(0)
    extra = {} if model_type == "gpt2" else {"add_pooling_layer": False}
    model = transformers.AutoModel.from_config(config, **extra).eval()
    assert spec.params == sum(p.numel() for p in model.parameters())
    shape = spec.input.shape
    x = (torch.randint(0, config.vocab_size, (1, *shape)) if spec.input.dtype == "int64"
         else torch.randn(1, *shape))
    oracle = _flops(model, x)
    assert _close(2 * spec.macs, oracle), (2 * spec.macs, oracle)
    with torch.no_grad():
        hidden = model(x).last_hidden_state
    assert spec.zb_shape == tuple(hidden.shape)


def test_no_download_is_attempted(monkeypatch: pytest.MonkeyPatch) -> None:
    """hf: and timm: build without network: any socket connection would fail the test."""
    import socket

    def refuse(*a: Any, **k: Any) -> Any:
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    splitcost.profile("timm:resnet18", (3, 64, 64))
    splitcost.profile("hf:bert", "16:int64", backbone_args={"num_hidden_layers": 1})
    with pytest.raises(splitcost.InputError, match="needs a download"):
        splitcost.profile("hf:bert-base-uncased", "16:int64")
