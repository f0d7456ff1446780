"""Runtimes, fusion, the host/device pipeline, tensor-core and emulated precisions, against hand
arithmetic on a round-number device. Every FLOP and byte below is written out from the layer's
shapes (float32 = 4 bytes, batch 1), not read from splitcost."""

from __future__ import annotations

from dataclasses import replace

import pytest
from torch import nn

from splitcost.hardware.device import Device, Efficiency, RuntimeProfile
from splitcost.hardware.link import ideal_link
from splitcost.hardware.roofline import (
    OpWork,
    device_time,
    pipeline_prefix,
    pipeline_suffix,
    pipeline_time,
)
from splitcost.hardware.runtimes import DEFAULT_FUSES
from splitcost.kinds import FusionKind, OpClass, Runtime
from splitcost.network.profiler import profile
from splitcost.pricing.fusion import kernels
from splitcost.pricing.latency import latency_of
from splitcost.pricing.request import PricingRequest, fusion_penalties

US = 1e-6
EFF = Efficiency(conv=0.5, depthwise=0.1, matmul=0.25, elementwise=0.5, pool=0.5, memory=1.0)
TRT = RuntimeProfile(Runtime.TENSORRT, EFF, 2 * US, None, False, DEFAULT_FUSES[Runtime.TENSORRT])
DEVICE = Device(
    name="round", title="round numbers", role="edge", summary="round numbers",
    memory_total=10**9, memory_usable=10**9, runtime_overhead=0,
    memory_bandwidth=10e9, peak_flops={"fp32": 100e9}, efficiency=EFF, op_overhead_s=10 * US,
    runtimes={Runtime.TENSORRT: TRT},
)


class ConvBnRelu(nn.Module):
    """conv 16->16 3x3 (no bias) -> batch norm -> ReLU -> conv 16->16 1x1 (no bias), on
    1x16x8x8."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.proj = nn.Conv2d(16, 16, 1, bias=False)

    def forward(self, x):  # type: ignore[no-untyped-def]
        return self.proj(self.relu(self.bn(self.conv(x))))


def test_eager_runs_one_kernel_per_operator_and_tensorrt_fuses_the_chain() -> None:
    p = profile(ConvBnRelu(), (16, 8, 8))
    ops = [op.op for op in p.trace.ops if op.cost.op_class != "view"]
    assert ops == ["aten.convolution", "aten.native_batch_norm", "aten.relu",
                   "aten.convolution"]
    assert len(kernels(p.trace)) == 4
    fused = kernels(p.trace, DEFAULT_FUSES[Runtime.TENSORRT])
    names = [[p.trace.ops[i].op.removeprefix("aten.") for i in k.members] for k in fused]
    assert names == [["convolution", "native_batch_norm", "relu"], ["convolution"]]
    # The fused kernel reads the input (16*8*8*4 = 4,096 B), the 3x3 weight (16*16*9*4 = 9,216),
    # the batch norm's weight, bias, mean and variance (4 x 64 = 256) and writes the ReLU's
    # output once (4,096): 17,664 bytes; the intermediate conv and batch-norm outputs are free.
    # Its FLOPs: 2 x 16*16*9*64 MACs (294,912) + 2 per element for the norm (2,048) + 1 per
    # element for the ReLU (1,024).
    assert fused[0].work == OpWork(OpClass.CONV, 294_912 + 2_048 + 1_024, 17_664)
    # The 1x1 convolution is its own class: 2 x 16*16*64 = 32,768 FLOPs; 4,096 in + 1,024 weight
    # + 4,096 out.
    assert fused[1].work == OpWork(OpClass.POINTWISE, 32_768, 9_216)


def test_fused_latency_by_hand() -> None:
    p = profile(ConvBnRelu(), (16, 8, 8))
    # TensorRT on the round device (no overlap): kernel 1 compute 297,984 / 50e9 = 5.95968 us
    # > memory 17,664 / 10e9 = 1.7664 us; kernel 2 (pointwise falls back to conv's 0.5): compute
    # 32,768 / 50e9 = 0.65536 us < memory 9,216 / 10e9 = 0.9216 us; + 2 us per kernel.
    r = latency_of(p, DEVICE, Runtime.TENSORRT)
    assert r.kernels == 2
    assert r.total_s == pytest.approx((5.95968 + 2 + 0.9216 + 2) * US, rel=1e-9)
    # The module shares: conv starts kernel 1 (bn and relu are inside it), proj kernel 2.
    shares = {m.path: t for m, t in zip(p.modules, r.module_s, strict=True)}
    assert shares["conv"] == pytest.approx(7.95968 * US)
    assert shares["bn"] == 0.0 and shares["relu"] == 0.0
    assert shares["proj"] == pytest.approx(2.9216 * US)


def test_a_cut_through_a_fused_kernel_pays_a_penalty() -> None:
    p = profile(ConvBnRelu(), (16, 8, 8))
    conv, bn = [op.index for op in p.trace.ops if op.cost.op_class != "view"][:2]
    penalties = fusion_penalties(p, DEVICE, "fp32", TRT)
    # Cut after the conv: the conv alone (compute 294,912 / 50e9 = 5.89824 us; bytes 4,096 +
    # 9,216 + 4,096 out = 17,408 -> 1.7408 us) and bn + relu from then on (compute 3,072 / 50e9
    # = 0.06144 us; bytes 4,096 in + 256 + 4,096 out = 8,448 -> 0.8448 us): one more launch
    # (2 us) + 5.89824 + 0.8448 - 5.95968 (the whole kernel's time).
    assert penalties[conv + 1] == pytest.approx((2 + 5.89824 + 0.8448 - 5.95968) * US, rel=1e-9)
    # Eager splits nothing.
    eager = DEVICE.runtime(Runtime.EAGER)
    assert all(x == 0 for x in fusion_penalties(p, DEVICE, "fp32", eager))
    # A pricing request puts the parts on both sides and reports the penalty.
    pr = PricingRequest(p, (), DEVICE, DEVICE, ideal_link(1e9), runtime=Runtime.TENSORRT)
    assert pr.times.penalty(conv) == pytest.approx(penalties[conv + 1])
    assert pr.times.edge(conv) == pytest.approx((2 + 5.89824) * US)
    assert pr.times.server(conv) == pytest.approx((2 + 0.8448 + 2 + 0.9216) * US)
    relu = bn + 1
    assert pr.times.penalty(relu) == 0.0  # between the two kernels


def test_pipeline_by_hand() -> None:
    # Host issues at 10 us each; the device needs 1, 30, 1 us: kernel 1 ends at 11, kernel 2
    # starts at 20 and ends at 50, kernel 3 issued at 30 runs 50..51.
    assert pipeline_time([10e-6] * 3, [1e-6, 30e-6, 1e-6], overlap=True) == pytest.approx(51e-6)
    assert pipeline_time([10e-6] * 3, [1e-6, 30e-6, 1e-6], overlap=False) == pytest.approx(62e-6)
    # Host-bound: 3 kernels of 1 us issued 10 us apart end at 31 us.
    assert pipeline_time([10e-6] * 3, [1e-6] * 3, overlap=True) == pytest.approx(31e-6)
    assert pipeline_prefix([10e-6] * 3, [1e-6, 30e-6, 1e-6]) == pytest.approx(
        [11e-6, 50e-6, 51e-6])
    # From kernel 1 on (the server side of a cut): issued at 10 and 20, runs 10..40, 40..41.
    assert pipeline_suffix([10e-6] * 3, [1e-6, 30e-6, 1e-6])[1:] == pytest.approx(
        [41e-6, 11e-6, 0.0])


def test_tf32_paths() -> None:
    ampere = replace(DEVICE, peak_flops={"fp32": 20e12, "tf32": 160e12},
                     efficiency=Efficiency(1, 1, 1, 1, 1, 1), memory_bandwidth=1e15)
    eager, trt = ampere.runtime(Runtime.EAGER), replace(TRT, efficiency=ampere.efficiency)
    conv, mm = OpWork(OpClass.CONV, 160_000_000, 1), OpWork(OpClass.MATMUL, 160_000_000, 1)
    # PyTorch eager: cuDNN convolutions on TF32 (1 us), matmuls on FP32 (8 us)
    assert device_time(conv, ampere, "fp32", eager) == pytest.approx(1e-6)
    assert device_time(mm, ampere, "fp32", eager) == pytest.approx(8e-6)
    # TensorRT: both on TF32
    assert device_time(mm, ampere, "fp32", trt) == pytest.approx(1e-6)


def test_precisions_a_device_cannot_compute_run_at_fp32() -> None:
    nano = replace(DEVICE, peak_flops={"fp32": 100e9, "fp16": 200e9})
    eager = nano.runtime(Runtime.EAGER)
    work = OpWork(OpClass.CONV, 50_000_000, 1_000)  # compute-bound
    assert device_time(work, nano, "fp16", eager) == pytest.approx(1e-3 / 2)
    # bf16: no arithmetic of its own: the FP32 rate, not the FP16 one
    assert not nano.native("bf16")
    assert device_time(work, nano, "bf16", eager) == pytest.approx(1e-3)
    # A memory-bound op in fp16 on a device without fp16 costs what it costs in fp32: its
    # operands are widened (bytes as fp32: 2 x 1e6 fp16 bytes -> 2e6).
    pi = replace(DEVICE, peak_flops={"fp32": 100e9})
    copy = OpWork(OpClass.ELEMENTWISE, 0, 1_000_000)
    assert device_time(copy, pi, "fp16", eager) == pytest.approx(
        device_time(OpWork(OpClass.ELEMENTWISE, 0, 2_000_000), pi, "fp32", eager))


@pytest.mark.parametrize(("conv", "cls"), [
    (nn.Conv2d(32, 32, 3, padding=1), OpClass.CONV),
    (nn.Conv2d(32, 64, 1), OpClass.POINTWISE),
    (nn.Conv2d(32, 32, 3, padding=1, groups=32), OpClass.DEPTHWISE),
    (nn.Conv2d(32, 32, 3, padding=1, groups=8), OpClass.GROUPED),
])
def test_convolution_classes(conv: nn.Conv2d, cls: OpClass) -> None:
    [op] = [op for op in profile(conv, (32, 8, 8)).trace.ops if not op.is_view]
    assert op.cost.op_class is cls and op.cost.fusion is FusionKind.ANCHOR


def test_optional_classes_fall_back() -> None:
    assert EFF.for_class(OpClass.POINTWISE) == EFF.conv
    assert EFF.for_class(OpClass.GROUPED) == EFF.depthwise
    assert EFF.for_class(OpClass.RECURRENT) == EFF.matmul
    assert replace(EFF, grouped=0.2).for_class(OpClass.GROUPED) == 0.2


def test_a_runtime_the_device_lacks_is_one_clear_error() -> None:
    from splitcost.errors import InputError

    with pytest.raises(InputError, match="has no onnxruntime section") as e:
        DEVICE.runtime(Runtime.ONNXRUNTIME)
    assert e.value.parameter == "runtime"
