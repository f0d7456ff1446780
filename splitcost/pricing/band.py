"""The range a scenario's latency is expected in: each compute part within its device's
validated error of the latency model, the uplink at the link's p10 and p90 bandwidth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from splitcost.hardware.device import Device
from splitcost.hardware.link import Link
from splitcost.hardware.transfer import Transfer


@dataclass(frozen=True)
class DeviceError:
    """One device's validated relative error of the latency model, applied to its compute."""

    device: str
    error: float

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "error": self.error}


@dataclass(frozen=True)
class LatencyBand:
    """Low and high end-to-end latency, seconds, and what the range is made of."""

    low_s: float
    high_s: float
    compute_errors: tuple[DeviceError, ...]  # each device with a band, once
    link_percentiles: str | None  # the link whose p10/p90 uplink bounds the transfer

    def to_dict(self) -> dict[str, Any]:
        return {
            "low_s": self.low_s,
            "high_s": self.high_s,
            "compute_errors": [e.to_dict() for e in self.compute_errors],
            "link_percentiles": self.link_percentiles,
        }


def latency_band(device: Device, server: Device, link: Link, edge_s: float, server_s: float,
                 xfer: Transfer) -> LatencyBand | None:
    """None when neither device has an error band and the link has no percentiles."""
    errors: list[DeviceError] = []
    low = high = 0.0
    for part, d in ((edge_s, device), (server_s, server)):
        err = d.latency_error
        if part and err is not None and all(e.device != d.name for e in errors):
            errors.append(DeviceError(d.name, err))
        err = err or 0.0
        low += part * (1 - err)
        high += part * (1 + err)
    up = xfer.uplink_s
    slow = up * link.bandwidth_bps / link.bandwidth_p10_bps if link.bandwidth_p10_bps else up
    fast = up * link.bandwidth_bps / link.bandwidth_p90_bps if link.bandwidth_p90_bps else up
    percentiles = link.name if xfer.payload_bytes and (
        link.bandwidth_p10_bps or link.bandwidth_p90_bps) else None
    if not errors and percentiles is None:
        return None
    rest = xfer.latency_s + xfer.downlink_s
    return LatencyBand(low + rest + fast, high + rest + slow, tuple(errors), percentiles)


def band_lines(device: Device, server: Device, link: Link, edge_s: float, server_s: float,
               xfer: Transfer) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The likely range as two latency lines in 1/bandwidth, ``(fixed, slope)`` low and high,
    for the same link at any uplink rate: the compute parts within each device's error, the
    uplink between the link's p90 and p10 scaled with the rate (as
    :meth:`~splitcost.hardware.link.Link.with_bandwidth` scales them). At the link's own rate it
    is :func:`latency_band`. None when :func:`latency_band` is None."""
    if latency_band(device, server, link, edge_s, server_s, xfer) is None:
        return None
    low = high = xfer.latency_s
    for part, d in ((edge_s, device), (server_s, server)):
        err = d.latency_error or 0.0
        low += part * (1 - err)
        high += part * (1 + err)
    rate = link.bandwidth_bps
    up = xfer.uplink_s * rate
    down = xfer.downlink_s * rate
    fast = rate / link.bandwidth_p90_bps if link.bandwidth_p90_bps else 1.0
    slow = rate / link.bandwidth_p10_bps if link.bandwidth_p10_bps else 1.0
    return (low, up * fast + down), (high, up * slow + down)
