"""A device profile (edge or server) as plain data: memory, compute peaks, the roofline's
efficiencies, power, and where each figure comes from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from splitcost.errors import InputError
from splitcost.kinds import OpClass

SOURCE_KINDS = ("vendor", "measured", "derived", "estimate", "calibrated")
PRECISIONS = ("fp32", "fp16", "bf16", "int8")


@dataclass(frozen=True)
class Source:
    """Where one figure comes from, and whether it is a vendor peak or a measurement."""

    kind: str
    ref: str
    note: str = ""


@dataclass(frozen=True)
class Efficiency:
    """Achieved fraction of peak per operator class, and of memory bandwidth."""

    conv: float
    depthwise: float
    matmul: float
    elementwise: float
    pool: float
    memory: float

    def for_class(self, op_class: OpClass) -> float:
        value: float = getattr(self, str(op_class))
        return value


@dataclass(frozen=True)
class Device:
    """A hardware profile, edge or server. Bytes are ints, rates in base units."""

    name: str
    title: str
    role: str
    summary: str
    memory_total: int
    memory_usable: int
    runtime_overhead: int
    memory_bandwidth: float  # bytes/s
    peak_flops: Mapping[str, float]  # precision -> FLOP/s
    efficiency: Efficiency
    op_overhead_s: float
    power_active_w: float | None = None
    power_idle_w: float | None = None
    latency_error: float | None = None  # validated relative error band of the latency model
    sources: Mapping[str, Source] = field(default_factory=dict)
    path: str = ""
    cache_bytes: int | None = None  # an operator moving at most this many bytes runs from cache
    cache_bandwidth: float | None = None  # bytes/s from cache (memory_bandwidth is DRAM's)

    def bandwidth_for(self, bytes_moved: int) -> float:
        """DRAM bandwidth, or the cache's for an operator whose bytes fit in it."""
        if self.cache_bytes and self.cache_bandwidth and bytes_moved <= self.cache_bytes:
            return self.cache_bandwidth
        return self.memory_bandwidth

    def peak(self, precision: str) -> float:
        """Peak FLOP/s at ``precision``; a missing precision falls back to the next wider one."""
        for p in (precision, "fp16" if precision in ("bf16", "int8") else "fp32", "fp32"):
            if p in self.peak_flops:
                return self.peak_flops[p]
        raise InputError(f"device {self.name!r} has no compute peak for {precision}")

    def to_dict(self) -> dict[str, Any]:
        """The device in base units, in the one shape every command's JSON uses."""
        return {
            "name": self.name,
            "title": self.title,
            "role": self.role,
            "summary": self.summary,
            "memory_total_bytes": self.memory_total,
            "memory_usable_bytes": self.memory_usable,
            "runtime_overhead_bytes": self.runtime_overhead,
            "memory_bandwidth_bytes_per_s": self.memory_bandwidth,
            "cache_bytes": self.cache_bytes,
            "cache_bandwidth_bytes_per_s": self.cache_bandwidth,
            "peak_flops": dict(self.peak_flops),
            "efficiency": asdict(self.efficiency),
            "op_overhead_s": self.op_overhead_s,
            "power_active_w": self.power_active_w,
            "power_idle_w": self.power_idle_w,
            "latency_error": self.latency_error,
            "path": self.path,
        }

    def sources_dict(self) -> dict[str, Any]:
        return {k: asdict(v) for k, v in self.sources.items()}
