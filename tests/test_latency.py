"""The roofline and the transfer formula against hand arithmetic.

Round-number device: FP32 peak 100 GFLOP/s, memory bandwidth 10 GB/s, efficiencies conv 0.5,
depthwise 0.1, matmul 0.25, memory 0.8, and 10 µs per operator. Every FLOP and byte below is
written out from the layer's shapes (float32 = 4 bytes, batch 1), not read from splitcost.
"""

from __future__ import annotations

import pytest
from torch import nn

from splitcost.hardware.device import Device, Efficiency
from splitcost.hardware.link import Link
from splitcost.hardware.roofline import OpWork, compute_time, op_time
from splitcost.hardware.transfer import transfer
from splitcost.network.profiler import profile
from splitcost.pricing.request import op_work

DEVICE = Device(
    name="round", title="round numbers", role="edge", summary="round numbers",
    memory_total=10**9, memory_usable=10**9, runtime_overhead=0,
    memory_bandwidth=10e9, peak_flops={"fp32": 100e9},
    efficiency=Efficiency(conv=0.5, depthwise=0.1, matmul=0.25, elementwise=0.5, pool=0.5,
                          memory=0.8),
    op_overhead_s=10e-6,
)
US = 1e-6


def priced(module: nn.Module, shape: tuple[int, ...]) -> list[OpWork]:
    """The operators of ``module`` that cost time (views cost nothing and are checked so)."""
    work = op_work(profile(module, shape))
    for w in work:
        if w.op_class == "view":
            assert op_time(w, DEVICE, "fp32") == 0.0
    return [w for w in work if w.op_class != "view"]


def test_dense_conv_is_compute_bound() -> None:
    # Conv2d(16 -> 32, 3x3, padding 1, no bias) on 1x16x32x32: output 1x32x32x32.
    # MACs = 32*32 positions x 32 out channels x 16 in channels x 9 = 4,718,592; FLOPs = 2x.
    # Bytes = input 16*32*32*4 (65,536) + weight 32*16*9*4 (18,432) + output 32*32*32*4
    # (131,072) = 215,040.
    [w] = priced(nn.Conv2d(16, 32, 3, padding=1, bias=False), (16, 32, 32))
    assert w == OpWork("conv", 9_437_184, 215_040)
    # compute = 9,437,184 / (100e9 x 0.5) = 188.74368 µs; memory = 215,040 / (10e9 x 0.8)
    # = 26.88 µs; the larger + 10 µs.
    assert op_time(w, DEVICE, "fp32") == pytest.approx(198.74368 * US, rel=1e-12)


def test_depthwise_conv_is_priced_with_its_own_efficiency() -> None:
    # Conv2d(32 -> 32, 3x3, groups 32, no bias) on 1x32x32x32: MACs = 32*32*32 outputs x 1 x 9
    # = 294,912; FLOPs 589,824. Bytes = 131,072 in + 32*1*9*4 (1,152) weight + 131,072 out
    # = 263,296.
    [w] = priced(nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False), (32, 32, 32))
    assert w == OpWork("depthwise", 589_824, 263_296)
    # compute = 589,824 / (100e9 x 0.1) = 58.9824 µs > memory 263,296 / 8e9 = 32.912 µs.
    assert op_time(w, DEVICE, "fp32") == pytest.approx(68.9824 * US, rel=1e-12)


def test_batch_one_linear_is_memory_bound() -> None:
    # Linear(1024 -> 512) on 1x1024 = addmm(bias, x, W^T): MACs 1024*512 = 524,288, plus 512
    # bias additions: FLOPs 1,049,088. Bytes = bias 2,048 + x 4,096 + W 512*1024*4 (2,097,152)
    # + output 2,048 = 2,105,344.
    [w] = priced(nn.Linear(1024, 512), (1024,))
    assert w == OpWork("matmul", 1_049_088, 2_105_344)
    # compute = 1,049,088 / 25e9 = 41.96352 µs < memory = 2,105,344 / 8e9 = 263.168 µs.
    assert op_time(w, DEVICE, "fp32") == pytest.approx(273.168 * US, rel=1e-12)


def test_compute_time_sums_operators() -> None:
    works = [OpWork("conv", 9_437_184, 215_040), OpWork("depthwise", 589_824, 263_296),
             OpWork("matmul", 1_049_088, 2_105_344), OpWork("view", 0, 4_096)]
    assert compute_time(works, DEVICE, "fp32") == pytest.approx(
        (198.74368 + 68.9824 + 273.168) * US, rel=1e-12)


def test_transfer_formula() -> None:
    # 100 Mbit/s up, 50 Mbit/s down, efficiency 0.8, RTT 20 ms; 1 MB up, 1 kB back:
    # up = 8e6 bit / 80e6 bit/s = 0.1 s; down = 8e3 / 40e6 = 0.2 ms; + the RTT.
    link = Link(name="l", title="l", summary="l", bandwidth_bps=100e6, rtt_s=0.02,
                efficiency=0.8, downlink_bps=50e6)
    t = transfer(1_000_000, 1_000, link)
    assert (t.latency_s, t.uplink_s, t.downlink_s) == pytest.approx((0.02, 0.1, 0.0002))
    assert t.total_s == pytest.approx(0.1202)


def test_two_memory_levels_by_hand() -> None:
    from dataclasses import replace as _replace

    from splitcost.hardware.catalog import load_device
    from splitcost.hardware.device import Efficiency
    from splitcost.hardware.roofline import OpWork, op_time

    base = load_device("jetson-nano-4gb")
    device = _replace(base, memory_bandwidth=1e9, cache_bytes=1_000, cache_bandwidth=1e10,
                      efficiency=Efficiency(1, 1, 1, 1, 1, 1), op_overhead_s=0.0,
                      peak_flops={"fp32": 1e15})
    assert op_time(OpWork("elementwise", 1, 1_000), device, "fp32") == 1_000 / 1e10
    assert op_time(OpWork("elementwise", 1, 1_001), device, "fp32") == 1_001 / 1e9


def test_recurrent_step_efficiency_by_hand() -> None:
    from dataclasses import replace as _replace

    # A recurrent kernel of 10 steps, 1e6 FLOPs and 8e6 bytes in all: each step 1e5 FLOPs and
    # 8e5 bytes (W_hh re-read), on the round device (no cache: bytes at 10 GB/s x 0.8).
    w = OpWork("recurrent", 1_000_000, 8_000_000, steps=10)
    # Without a recurrent figure: matmul's efficiency, on compute only. Per step compute =
    # 1e5 / (100e9 x 0.25) = 4 µs < memory = 8e5 / 8e9 = 100 µs: 10 x 100 µs + 10 µs.
    assert op_time(w, DEVICE, "fp32") == pytest.approx(1010 * US, rel=1e-12)
    # With one (0.5): it is the whole step's efficiency, memory term too: compute
    # 1e5 / (100e9 x 0.5) = 2 µs, memory 8e5 / (8e9 x 0.5) = 200 µs: 10 x 200 µs + 10 µs.
    own = _replace(DEVICE, efficiency=_replace(DEVICE.efficiency, recurrent=0.5))
    assert op_time(w, own, "fp32") == pytest.approx(2010 * US, rel=1e-12)
    # A one-step kernel (steps = 1) is priced as any other operator: max(2 µs x 10, 8e6 / 8e9).
    one = OpWork("recurrent", 1_000_000, 8_000_000)
    assert op_time(one, own, "fp32") == pytest.approx(1010 * US, rel=1e-12)
