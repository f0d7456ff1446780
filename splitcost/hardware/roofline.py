"""Compute time per kernel on a device under a runtime: a roofline. Pure functions.

A kernel is one aten operator under PyTorch eager, or a fused group of them under TensorRT and
ONNX Runtime (:mod:`splitcost.pricing.fusion` groups them). On the device it takes

    max(FLOPs / (peak x eff[class]), bytes / (bandwidth x eff[memory]))

where FLOPs = 2 x MACs + vector FLOPs, bytes are what the kernel reads and writes (for a fused
group only at its boundary), the bandwidth is the cache's when the device profile gives one and
the bytes fit in it, DRAM's otherwise, and the efficiencies are the runtime's section of the
device profile. A recurrent kernel runs ``steps`` dependent steps, each priced so on its share
of the work (its recurrent weights, re-read at every step, from cache; a profile's own
``recurrent`` efficiency applies to both terms of a step). The peak is the
precision's; FP32 convolutions (and, under TensorRT, matmuls) use the device's TF32
tensor-core rate where it has one; a precision the device has no arithmetic for (FP16 on a
Raspberry Pi, BF16 on a Jetson Nano) is priced as FP32, its operands widened.

Launching a kernel costs the runtime's ``op_overhead`` on the host. On a CPU the host is the
device: the costs add up. On a GPU (``overlap``) the host issues kernels while the device runs
earlier ones, so a run takes the later of the two at every step (:func:`pipeline_time`): a
batch-1 eager network is host-bound, a large batch device-bound. Views cost nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate

from splitcost.hardware.device import ELEMENT_BYTES, TF32, Device, RuntimeProfile
from splitcost.hardware.runtimes import TF32_CLASSES
from splitcost.kinds import OpClass, Runtime

PRECISION_OF_DTYPE = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16", "int8": "int8"}


@dataclass(frozen=True)
class OpWork:
    """What the roofline needs of one kernel."""

    op_class: OpClass
    flops: int
    bytes_moved: int
    steps: int = 1  # dependent steps of a recurrent kernel


def peak_for(device: Device, precision: str, op_class: OpClass,
             runtime: Runtime = Runtime.EAGER) -> float:
    """The peak that applies to one kernel (see the module docstring)."""
    if precision == "fp32" and TF32 in device.peak_flops and op_class in TF32_CLASSES[runtime]:
        return max(device.peak_flops[TF32], device.peak("fp32"))
    return device.peak(precision)


def device_time(work: OpWork, device: Device, precision: str, section: RuntimeProfile) -> float:
    """Seconds the device spends on one kernel, launch overhead excluded."""
    if work.op_class == OpClass.VIEW:
        return 0.0
    steps = max(work.steps, 1)
    moved = work.bytes_moved
    if not device.native(precision):
        moved = moved * 4 // ELEMENT_BYTES.get(precision, 4)
    flops, moved_step = work.flops / steps, moved / steps
    compute = flops / (peak_for(device, precision, work.op_class, section.runtime)
                       * section.efficiency.for_class(work.op_class))
    # The steps of a recurrent kernel re-read the same weights, which stay in cache between
    # them: its bytes stream at the cache's rate where the device has one.
    bandwidth = (device.cache_bandwidth or device.memory_bandwidth) if steps > 1 else (
        device.bandwidth_for(moved_step))
    memory = moved_step / (bandwidth * section.efficiency.memory)
    if steps > 1 and section.efficiency.recurrent is not None:
        # A step at a small batch is a GEMV over W_hh that reaches only part of the copy rate
        # (measured on a 2-core Xeon: ~34 GB/s against 60 GB/s copies of the same size, for
        # hidden 128 and 256 alike); a profile's own recurrent figure is that whole step's
        # efficiency, so it scales the step's memory term too (without one: matmul's, compute
        # only).
        memory /= section.efficiency.recurrent
    return steps * max(compute, memory)


def op_time(work: OpWork, device: Device, precision: str,
            section: RuntimeProfile | None = None) -> float:
    """One kernel launched alone: its device time plus the runtime's launch overhead."""
    if work.op_class == OpClass.VIEW:
        return 0.0
    section = section or device.runtime(Runtime.EAGER)
    return device_time(work, device, precision, section) + section.op_overhead_s


def compute_time(work: Iterable[OpWork], device: Device, precision: str,
                 section: RuntimeProfile | None = None) -> float:
    """Kernels run one after another (see :func:`pipeline_time`)."""
    section = section or device.runtime(Runtime.EAGER)
    works = [w for w in work if w.op_class != OpClass.VIEW]
    times = [device_time(w, device, precision, section) for w in works]
    return pipeline_time([section.op_overhead_s] * len(works), times, section.overlap)


def pipeline_time(overheads: Sequence[float], times: Sequence[float], overlap: bool) -> float:
    """Seconds to run kernels in order, each issued by the host (``overheads``) and run on the
    device (``times``). Without overlap the two add up. With it, kernel i starts once the host
    has issued it and the device has finished kernel i - 1: the run takes
    max_j (sum of overheads up to j + sum of times from j on)."""
    if not overlap or not times:
        return sum(overheads) + sum(times)
    return pipeline_prefix(overheads, times)[-1]


def pipeline_prefix(overheads: Sequence[float], times: Sequence[float]) -> list[float]:
    """[b] = :func:`pipeline_time` with overlap of kernels 0..b (the edge side of every cut)."""
    issued = list(accumulate(overheads))
    done = list(accumulate(times))
    out, best = [], float("-inf")
    for j in range(len(times)):
        best = max(best, issued[j] - (done[j - 1] if j else 0.0))
        out.append(done[j] + best)
    return out


def pipeline_suffix(overheads: Sequence[float], times: Sequence[float]) -> list[float]:
    """[a] = :func:`pipeline_time` with overlap of kernels a..n-1 (the server side), and
    [n] = 0."""
    n = len(times)
    out = [0.0] * (n + 1)
    issued = list(accumulate(overheads))
    done = list(accumulate(times))
    best = float("-inf")
    for a in range(n - 1, -1, -1):
        best = max(best, issued[a] - (done[a - 1] if a else 0.0))
        out[a] = done[-1] - (issued[a - 1] if a else 0.0) + best
    return out
