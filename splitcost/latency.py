"""Time models: compute per operator (a roofline) and transfer over a link. Pure functions.

Compute: each operator takes ``max(FLOPs / (peak x eff[class]), bytes / (bandwidth x
eff[memory])) + op_overhead`` on a device (the bandwidth of its cache when the device profile
gives one and the operator's bytes fit in it, of its DRAM otherwise), where FLOPs = 2 x MACs +
vector FLOPs, bytes are the operator's inputs (weights included) plus outputs, and the
efficiencies come from the device profile. Views cost nothing.

Transfer: ``RTT + payload x 8 / (bandwidth x efficiency) + results x 8 / (downlink x
efficiency)``: half a round trip each way, the payload up and the task outputs back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from splitcost.profiles import Device, Link

PRECISION_OF_DTYPE = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16", "int8": "int8"}


@dataclass(frozen=True)
class OpWork:
    """What the roofline needs of one operator."""

    op_class: str
    flops: int
    bytes_moved: int


def op_time(work: OpWork, device: Device, precision: str) -> float:
    if work.op_class == "view":
        return 0.0
    eff = device.efficiency
    compute = work.flops / (device.peak(precision) * eff.for_class(work.op_class))
    memory = work.bytes_moved / (device.bandwidth_for(work.bytes_moved) * eff.memory)
    return max(compute, memory) + device.op_overhead_s


def compute_time(work: Iterable[OpWork], device: Device, precision: str) -> float:
    return sum(op_time(w, device, precision) for w in work)


@dataclass(frozen=True)
class Transfer:
    """One inference's time on the link, by part."""

    latency_s: float  # the round trip: RTT/2 up + RTT/2 back
    uplink_s: float  # payload serialisation
    downlink_s: float  # results back
    payload_bytes: int
    result_bytes: int

    @property
    def total_s(self) -> float:
        return self.latency_s + self.uplink_s + self.downlink_s

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["total_s"] = self.total_s
        return d


NO_TRANSFER = Transfer(0.0, 0.0, 0.0, 0, 0)


def transfer(payload_bytes: int, result_bytes: int, link: Link) -> Transfer:
    up = payload_bytes * 8 / link.goodput_bps
    down = result_bytes * 8 / link.downlink_goodput_bps
    return Transfer(link.rtt_s, up, down, payload_bytes, result_bytes)
