"""Compute time per operator on a device: a roofline. Pure functions.

Compute: each operator takes ``max(FLOPs / (peak x eff[class]), bytes / (bandwidth x
eff[memory])) + op_overhead`` on a device (the bandwidth of its cache when the device profile
gives one and the operator's bytes fit in it, of its DRAM otherwise), where FLOPs = 2 x MACs +
vector FLOPs, bytes are the operator's inputs (weights included) plus outputs, and the
efficiencies come from the device profile. Views cost nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from splitcost.hardware.device import Device
from splitcost.kinds import OpClass

PRECISION_OF_DTYPE = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16", "int8": "int8"}


@dataclass(frozen=True)
class OpWork:
    """What the roofline needs of one operator."""

    op_class: OpClass
    flops: int
    bytes_moved: int


def op_time(work: OpWork, device: Device, precision: str) -> float:
    if work.op_class == OpClass.VIEW:
        return 0.0
    eff = device.efficiency
    compute = work.flops / (device.peak(precision) * eff.for_class(work.op_class))
    memory = work.bytes_moved / (device.bandwidth_for(work.bytes_moved) * eff.memory)
    return max(compute, memory) + device.op_overhead_s


def compute_time(work: Iterable[OpWork], device: Device, precision: str) -> float:
    return sum(op_time(w, device, precision) for w in work)
