"""A device profile (edge or server) as plain data: memory, compute peaks, the roofline's
efficiencies per runtime, power, and where each figure comes from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from splitcost.errors import InputError
from splitcost.kinds import FALLBACK_CLASS, OpClass, Runtime

SOURCE_KINDS = ("vendor", "measured", "derived", "estimate", "calibrated")
PRECISIONS = ("fp32", "fp16", "bf16", "int8")
# A compute path, not a --precision: FP32 operators that the runtime sends to tensor cores
# (see splitcost.hardware.runtimes.TF32_CLASSES).
TF32 = "tf32"
ELEMENT_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}


@dataclass(frozen=True)
class Source:
    """Where one figure comes from, and whether it is a vendor peak or a measurement."""

    kind: str
    ref: str
    note: str = ""


@dataclass(frozen=True)
class Efficiency:
    """Achieved fraction of peak per operator class, and of memory bandwidth.

    ``pointwise`` (1x1 convolutions), ``grouped`` and ``recurrent`` are optional: a profile
    without them prices those operators with ``conv``, ``depthwise`` and ``matmul``.
    """

    conv: float
    depthwise: float
    matmul: float
    elementwise: float
    pool: float
    memory: float
    pointwise: float | None = None
    grouped: float | None = None
    recurrent: float | None = None

    def for_class(self, op_class: OpClass) -> float:
        value: float | None = getattr(self, str(op_class))
        if value is None:
            return self.for_class(FALLBACK_CLASS[op_class])
        return value


@dataclass(frozen=True)
class RuntimeProfile:
    """How one runtime executes on a device: the roofline's efficiencies, the fixed cost of each
    kernel it launches, whether the host issues kernels while the device runs earlier ones, the
    fusions it makes, and the validated error of the latency model under it."""

    runtime: Runtime
    efficiency: Efficiency
    op_overhead_s: float  # per kernel: per aten operator for eager, per fused kernel otherwise
    latency_error: float | None = None
    overlap: bool = False  # a GPU: host dispatch overlaps device execution
    fuses: tuple[str, ...] = ()  # fusion rules "conv+norm", ... (see hardware.runtimes)

    def to_dict(self) -> dict[str, Any]:
        return {"runtime": self.runtime, "efficiency": asdict(self.efficiency),
                "op_overhead_s": self.op_overhead_s, "latency_error": self.latency_error,
                "overlap": self.overlap, "fuses": list(self.fuses)}


@dataclass(frozen=True)
class Device:
    """A hardware profile, edge or server. Bytes are ints, rates in base units.

    ``efficiency``, ``op_overhead_s``, ``latency_error`` and ``overlap`` describe PyTorch eager
    (the ``[compute]`` table); ``runtimes`` holds the other runtimes' sections.
    """

    name: str
    title: str
    role: str
    summary: str
    memory_total: int
    memory_usable: int
    runtime_overhead: int
    memory_bandwidth: float  # bytes/s
    peak_flops: Mapping[str, float]  # precision (or "tf32") -> FLOP/s
    efficiency: Efficiency
    op_overhead_s: float
    power_active_w: float | None = None
    power_idle_w: float | None = None
    latency_error: float | None = None  # validated relative error band of the latency model
    sources: Mapping[str, Source] = field(default_factory=dict)
    path: str = ""
    cache_bytes: int | None = None  # an operator moving at most this many bytes runs from cache
    cache_bandwidth: float | None = None  # bytes/s from cache (memory_bandwidth is DRAM's)
    overlap: bool = False  # eager on a GPU: the host issues operators while the GPU computes
    runtimes: Mapping[Runtime, RuntimeProfile] = field(default_factory=dict)

    def bandwidth_for(self, bytes_moved: float) -> float:
        """DRAM bandwidth, or the cache's for an operator whose bytes fit in it."""
        if self.cache_bytes and self.cache_bandwidth and bytes_moved <= self.cache_bytes:
            return self.cache_bandwidth
        return self.memory_bandwidth

    def native(self, precision: str) -> bool:
        """Whether the device has arithmetic at ``precision`` (FP32 always)."""
        return precision == "fp32" or precision in self.peak_flops

    def peak(self, precision: str) -> float:
        """Peak FLOP/s at ``precision``; a precision without arithmetic of its own runs at the
        FP32 rate (its operands are widened to FP32, as PyTorch does on such hardware)."""
        if precision in self.peak_flops and precision != TF32:
            return self.peak_flops[precision]
        if "fp32" in self.peak_flops:
            return self.peak_flops["fp32"]
        raise InputError(f"device {self.name!r} has no compute peak for {precision}")

    def runtime(self, runtime: Runtime | str) -> RuntimeProfile:
        """The device's section for ``runtime`` (eager: the ``[compute]`` table)."""
        key = Runtime(runtime)
        if key is Runtime.EAGER:
            return RuntimeProfile(Runtime.EAGER, self.efficiency, self.op_overhead_s,
                                  self.latency_error, self.overlap)
        if key not in self.runtimes:
            have = ", ".join(r.value for r in self.runtimes_available())
            raise InputError(f"device {self.name!r} has no {key.value} section (it has "
                             f"{have}); see profiles/README.md", parameter="runtime")
        return self.runtimes[key]

    def runtimes_available(self) -> tuple[Runtime, ...]:
        return (Runtime.EAGER, *(r for r in Runtime if r in self.runtimes))

    def with_runtime(self, section: RuntimeProfile) -> Device:
        """This device with ``section`` replacing the one of its runtime."""
        if section.runtime is Runtime.EAGER:
            return replace(self, efficiency=section.efficiency,
                           op_overhead_s=section.op_overhead_s,
                           latency_error=section.latency_error, overlap=section.overlap)
        return replace(self, runtimes={**self.runtimes, section.runtime: section})

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
            "overlap": self.overlap,
            "runtimes": {r.value: s.to_dict() for r, s in self.runtimes.items()},
            "path": self.path,
        }

    def sources_dict(self) -> dict[str, Any]:
        return {k: asdict(v) for k, v in self.sources.items()}
