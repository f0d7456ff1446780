"""MACs against fvcore's FlopCountAnalysis (a "flop" there is a MAC), on real CPU models.

fvcore traces with TorchScript, so these models are built on CPU with random weights. fvcore
counts conv, linear and matmul the way splitcost counts MACs; it does not count the attention
products of ``scaled_dot_product_attention``, which is checked here by hand arithmetic.
"""

from __future__ import annotations

import warnings

import pytest
import torch
import torchvision
from fvcore.nn import FlopCountAnalysis

from splitcost.network.profiler import profile
from splitcost.network.zoo import extract_backbone

MATRIX_OPS = ("conv", "linear", "matmul", "bmm", "einsum", "addmm", "mm")


def _fvcore_macs(name: str, res: int) -> int:
    kwargs = {"image_size": res} if name.startswith("vit") else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = extract_backbone(name, torchvision.models.get_model(name, **kwargs)).eval()
        analysis = FlopCountAnalysis(model, torch.zeros(1, 3, res, res))
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        by_op = analysis.by_operator()
    return sum(v for k, v in by_op.items() if k in MATRIX_OPS)


@pytest.mark.parametrize(
    "name", ["mobilenet_v3_small", "efficientnet_b0", "resnet50", "densenet121", "swin_t"]
)
def test_macs_equal_fvcore(name: str) -> None:
    assert profile(name, (3, 224, 224)).macs == _fvcore_macs(name, 224)


def test_vit_attention_is_what_fvcore_misses() -> None:
    layers, tokens, width = 12, 197, 768  # ViT-B/16 at 224: 14 x 14 patches + class token
    attention = layers * 2 * tokens * tokens * width  # Q K^T and A V per layer
    assert profile("vit_b_16", (3, 224, 224)).macs == _fvcore_macs("vit_b_16", 224) + attention
