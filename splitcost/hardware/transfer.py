"""Transfer time of one inference over a link: ``RTT + payload x 8 / (bandwidth x efficiency)
+ results x 8 / (downlink x efficiency)``: half a round trip each way, the payload up and the
task outputs back."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from splitcost.hardware.link import Link


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
