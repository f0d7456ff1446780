"""What a measured run returns: per-phase statistics, the link probe and the whole result."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from splitcost._notebook import Notebook
from splitcost.deploy.measurement.config import (
    SplitConfig,
)
from splitcost.hardware.link import Link


@dataclass(frozen=True)
class Stat:
    """Seconds over the measured images."""

    median_s: float
    p95_s: float
    min_s: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def stat(values: Sequence[float]) -> Stat:
    """Median, 95th percentile (nearest rank) and minimum."""
    xs = sorted(values)
    n = len(xs)
    mid = xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
    return Stat(mid, xs[max(0, math.ceil(0.95 * n) - 1)], xs[0])


@dataclass(frozen=True)
class Probe:
    """The link as measured: round trip of small frames, goodput of large ones."""

    rtt_s: float
    bandwidth_bps: float
    probe_bytes: int

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True, repr=False)
class MeasureResult(Notebook):
    """Measured phases beside the prediction for the same network, devices and link."""

    config: SplitConfig
    server: str  # host:port
    spawned: bool  # the server process was started here (loopback)
    payload_dtype: str
    images: int
    warmup: int
    payload_tensors: tuple[tuple[str, tuple[int, ...]], ...]
    payload_bytes: int  # splitcost's encoded payload bytes
    frame_bytes: int  # the payload frame on the wire, headers included
    result_frame_bytes: int
    measured: dict[str, Stat]
    predicted: dict[str, float | None]
    link: Link
    link_probed: bool
    probe: Probe | None
    device: str | None
    server_device: str | None
    max_abs_error: float  # server outputs vs the edge's own eager forward (warm-up images)

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "server": self.server,
            "spawned": self.spawned,
            "payload_dtype": self.payload_dtype,
            "images": self.images,
            "warmup": self.warmup,
            "payload_tensors": [{"name": n, "shape": list(s)} for n, s in self.payload_tensors],
            "payload_bytes": self.payload_bytes,
            "frame_bytes": self.frame_bytes,
            "result_frame_bytes": self.result_frame_bytes,
            "measured": {k: v.to_dict() for k, v in self.measured.items()},
            "predicted": dict(self.predicted),
            "link": self.link.to_dict(),
            "link_probed": self.link_probed,
            "probe": self.probe.to_dict() if self.probe else None,
            "device": self.device,
            "server_device": self.server_device,
            "max_abs_error": self.max_abs_error,
        }
