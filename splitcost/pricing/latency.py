"""How long a network takes on one device under one runtime: the total and each module's share.
Pure functions of a Profile and a Device.

The network's kernels (one per operator under eager; fused groups under TensorRT and ONNX
Runtime, :mod:`splitcost.pricing.fusion`) run in order, each issued by the host and run on the
device (:func:`splitcost.hardware.roofline.pipeline_time`). A kernel's share is how much later
the run finishes because of it; a module's time is the share of the kernels whose first operator
it runs, so the top-level modules' times add up to the total.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from splitcost.hardware.device import Device
from splitcost.hardware.roofline import PRECISION_OF_DTYPE, device_time
from splitcost.kinds import Runtime
from splitcost.network.profile import Profile
from splitcost.pricing.fusion import kernels


@dataclass(frozen=True)
class Latency:
    """A network's predicted compute time on one device under one runtime, by module."""

    profile: Profile
    device: Device
    runtime: Runtime
    total_s: float
    kernels: int  # kernels launched (operators under eager)
    module_s: tuple[float, ...]  # aligned with profile.modules
    native: bool  # the device has arithmetic at the profile's precision (else priced as FP32)
    latency_error: float | None  # the device's validated error band under this runtime
    overlap: bool  # the host issues kernels while the device computes (a GPU)

    @property
    def precision(self) -> str:
        return self.profile.dtype

    def to_dict(self) -> dict[str, Any]:
        d = self.profile.to_dict()
        d["modules"] = [{**m.to_dict(), "time_s": t}
                        for m, t in zip(self.profile.modules, self.module_s, strict=True)]
        err = self.latency_error
        d["latency"] = {
            "total_s": self.total_s,
            "low_s": None if err is None else self.total_s * (1 - err),
            "high_s": None if err is None else self.total_s * (1 + err),
            "latency_error": err,
            "device": self.device.to_dict(),
            "runtime": self.runtime,
            "precision": self.precision,
            "native_precision": self.native,
            "batch": self.profile.batch,
            "kernels": self.kernels,
            "overlap": self.overlap,
        }
        return d


def latency_of(p: Profile, device: Device, runtime: Runtime = Runtime.EAGER) -> Latency:
    """The network's time on ``device`` under ``runtime`` (its section must exist)."""
    section = device.runtime(runtime)
    precision = PRECISION_OF_DTYPE.get(p.dtype, "fp32")
    ks = kernels(p.trace, section.fuses)
    times = [device_time(k.work, device, precision, section) for k in ks]
    if section.overlap:
        issued = list(accumulate(section.op_overhead_s for _ in ks))
        finish, done = [], 0.0
        for issue, t in zip(issued, times, strict=True):
            done = max(done, issue) + t
            finish.append(done)
    else:
        finish = list(accumulate(section.op_overhead_s + t for t in times))
    share = [f - (finish[i - 1] if i else 0.0) for i, f in enumerate(finish)]
    by_op = [0.0] * (len(p.trace.ops) + 1)
    for k, s in zip(ks, share, strict=True):
        by_op[k.first + 1] += s
    prefix = list(accumulate(by_op))
    module_s = tuple(prefix[m.end] - prefix[m.start] for m in p.modules)
    return Latency(p, device, Runtime(runtime), finish[-1] if finish else 0.0, len(ks),
                   module_s, device.native(precision), section.latency_error, section.overlap)
