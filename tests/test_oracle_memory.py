"""The ``inference`` memory model against real allocations on CPU tensors.

The oracle (tests/oracles/alloc_tracker.py) runs the real torchvision backbone, random weights,
``torch.no_grad()`` and ``eval()``, on ``torch.zeros(batch, 3, 224, 224)`` and reads every
allocation and free the CPU allocator reported to ``torch.profiler``. Its activation peak (live
storages at operator boundaries, the input included, kernel workspaces and weights excluded) must
be within 5% of splitcost's ``peak_activation_bytes``, which comes from one trace on meta tensors.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterator

import pytest
import torch
import torchvision
from oracles.alloc_tracker import Measured, measure
from torch import nn

from splitcost.network.profiler import profile
from splitcost.network.zoo import extract_backbone, resolve

HW = (224, 224)
TOLERANCE = 0.05

# ViT's attention runs different code on real tensors than on meta tensors (see the reason).
VIT_REASON = (
    "real eager CPU never materialises ViT's 197x197 attention matrices: nn.MultiheadAttention "
    "takes its fast path (torch._native_multi_head_attention, one fused kernel), and without it "
    "F.scaled_dot_product_attention picks the flash kernel "
    "(_scaled_dot_product_flash_attention_for_cpu). On meta tensors the fast path is refused "
    "(_check_arg_device: meta is not cpu/cuda) and torch._fused_sdp_choice returns MATH, so the "
    "trace records the math decomposition, whose bmm scores and _safe_softmax output (12x197x197 "
    "fp32 per image, 1.86 MB) are alive together: splitcost peaks at _safe_softmax in "
    "encoder_layer_1.self_attention, 9.169 MB at batch 1, while the real peak is the MLP's "
    "gelu, 8.470 MB (+8.26%, same at batch 8: 73.35 vs 67.76 MB). Forcing the real run onto "
    "the same paths reproduces splitcost to the byte (test_vit_real_run_on_meta_paths)"
)

BACKBONES = [
    "mobilenet",  # the paper's: mobilenet_v3_small().features
    "efficientnet",  # the paper's: efficientnet_b0().features
    "vgg16",
    "resnet18",
    "resnet50",
    "densenet121",
    "mobilenet_v2",
    "regnet_y_400mf",
    "shufflenet_v2_x1_0",
    "squeezenet1_1",
    "convnext_tiny",
    "swin_t",
    "googlenet",
    pytest.param("vit_b_16", marks=pytest.mark.xfail(strict=True, reason=VIT_REASON)),
]


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """One intra-op thread: on a busy 2-core machine, spinning OpenMP threads of two processes
    slow each other several-fold. Activation peaks do not depend on the thread count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@functools.cache
def cpu_backbone(name: str) -> nn.Module:
    """The real torchvision backbone on CPU with random initialisation, built once."""
    info = resolve(name)
    kwargs = {"aux_logits": False, "init_weights": False} if info.name == "googlenet" else {}
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = torchvision.models.get_model(info.name, **kwargs)
    return extract_backbone(info.name, model).eval()


def measured(name: str, batch: int) -> Measured:
    # no warm-up run: measured with and without one, all 28 peaks are identical
    return measure(cpu_backbone(name), torch.zeros(batch, 3, *HW), warmup=False)


@pytest.mark.parametrize("batch", [1, 8])
@pytest.mark.parametrize("name", BACKBONES)
def test_peak_activation_matches_real_allocations(name: str, batch: int) -> None:
    real = measured(name, batch)
    assert real.foreign_frees == 0  # no weight or buffer was freed (or made) by the pass
    assert real.final_bytes == real.input_bytes + real.output_bytes  # no event missed
    mem = profile(name, (3, *HW), batch=batch).memory.inference
    predicted = mem.peak_activation_bytes
    error = (predicted - real.activation_peak) / real.activation_peak
    assert abs(error) <= TOLERANCE, (
        f"{name} batch {batch}: splitcost {predicted} B at {mem.peak_module!r}, "
        f"real {real.activation_peak} B at {real.activation_peak_op} ({error:+.2%})"
    )


def test_vit_real_run_on_meta_paths() -> None:
    """The ViT gap is the attention path alone: on splitcost's paths the real run agrees."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    predicted = profile("vit_b_16", (3, *HW), batch=1).memory.inference.peak_activation_bytes
    fast = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with sdpa_kernel(SDPBackend.MATH):
            real = measured("vit_b_16", 1)
    finally:
        torch.backends.mha.set_fastpath_enabled(fast)
    assert real.activation_peak_op == "aten::_safe_softmax"
    assert predicted == real.activation_peak


# --- the oracle itself, against hand arithmetic ----------------------------------------------


def test_oracle_hand_arithmetic() -> None:
    """x.relu().exp(): while exp runs, the input, relu's output and exp's output are alive."""
    x = torch.zeros(1, 3, 32, 32)  # 12288 bytes
    real = measure(lambda t: t.relu().exp(), x)
    assert real.input_bytes == 12288
    assert real.activation_peak == 3 * 12288
    assert real.activation_peak_op == "aten::exp"
    assert real.raw_peak == 3 * 12288
    assert real.foreign_frees == 0
    assert real.final_bytes == real.input_bytes + real.output_bytes == 2 * 12288


def test_oracle_sees_no_weights_and_separates_workspaces() -> None:
    """A 3x3 convolution: weights (made before profiling) never show; what the kernel frees
    before it returns (here slow_conv2d's im2col columns, 3*3*3 x 64*64 floats; for wider
    convolutions oneDNN's own copy of the output) is a workspace, not an activation."""
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 64, 3, padding=1).eval()
    x = torch.zeros(1, 3, 64, 64)
    out_bytes = 64 * 64 * 64 * 4
    real = measure(conv, x)
    assert real.foreign_frees == 0
    assert real.activation_peak == x.nbytes + out_bytes
    assert real.activation_peak_op == "aten::convolution"
    assert real.max_workspace > 0
    assert real.raw_peak > real.activation_peak
