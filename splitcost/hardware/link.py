"""A link profile as plain data: uplink and downlink rates (bits/s), RTT, protocol efficiency,
percentiles of the uplink, radio energy, and where each figure comes from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from splitcost.hardware.device import Source
from splitcost.units import format_rate


@dataclass(frozen=True)
class RadioEnergy:
    """Edge radio energy: E = base_power x active time + per_bit x bits + tail."""

    per_bit_j: float
    base_power_w: float = 0.0
    tail_j: float = 0.0


@dataclass(frozen=True)
class Link:
    """A network profile. Rates in bits/s, times in seconds."""

    name: str
    title: str
    summary: str
    bandwidth_bps: float
    rtt_s: float
    efficiency: float
    downlink_bps: float | None = None
    bandwidth_p10_bps: float | None = None
    bandwidth_p90_bps: float | None = None
    energy: RadioEnergy | None = None
    ideal: bool = False
    sources: Mapping[str, Source] = field(default_factory=dict)
    path: str = ""

    @property
    def goodput_bps(self) -> float:
        """Uplink bits/s available to the payload."""
        return self.bandwidth_bps * self.efficiency

    @property
    def downlink_goodput_bps(self) -> float:
        return (self.downlink_bps or self.bandwidth_bps) * self.efficiency

    def with_bandwidth(self, bps: float) -> Link:
        """The same link at another uplink rate (break-even and sensitivity sweeps): every
        rate (downlink, p10, p90) scales with it; RTT, efficiency and energy stay."""
        scale = bps / self.bandwidth_bps

        def scaled(rate: float | None) -> float | None:
            return None if rate is None else rate * scale

        return replace(self, bandwidth_bps=bps, downlink_bps=scaled(self.downlink_bps),
                       bandwidth_p10_bps=scaled(self.bandwidth_p10_bps),
                       bandwidth_p90_bps=scaled(self.bandwidth_p90_bps))

    def to_dict(self) -> dict[str, Any]:
        """The link in base units, in the one shape every command's JSON uses."""
        return {
            "name": self.name,
            "title": self.title,
            "summary": self.summary,
            "bandwidth_bps": self.bandwidth_bps,
            "downlink_bps": self.downlink_bps,
            "bandwidth_p10_bps": self.bandwidth_p10_bps,
            "bandwidth_p90_bps": self.bandwidth_p90_bps,
            "goodput_bps": self.goodput_bps,
            "rtt_s": self.rtt_s,
            "efficiency": self.efficiency,
            "energy": None if self.energy is None else asdict(self.energy),
            "ideal": self.ideal,
            "path": self.path,
        }

    def sources_dict(self) -> dict[str, Any]:
        return {k: asdict(v) for k, v in self.sources.items()}


def ideal_link(bps: float, text: str | None = None) -> Link:
    """A bare rate: efficiency 1, RTT 0, results returned at the same rate."""
    label = format_rate(bps)
    return Link(
        name=text or label,
        title=f"ideal {label} link",
        summary=f"ideal {label} link: no protocol overhead, no round-trip time",
        bandwidth_bps=bps,
        rtt_s=0.0,
        efficiency=1.0,
        ideal=True,
    )
