"""Where a choice flips: the bandwidth and RTT at which another option wins, and which single
input moves the verdict most.

Every remote option's latency is a line in 1/bandwidth: ``fixed + slope / bandwidth``, where
``slope`` is the bits sent up and back; local options have no slope. Two lines cross at one
bandwidth, found exactly. RTT adds equally to every remote option, so it only decides between
remote and local ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from splitcost.cost import Scenario
from splitcost.profiles import Link


@dataclass(frozen=True)
class Crossover:
    """Beyond this uplink bandwidth another option beats the chosen cut."""

    bandwidth_bps: float
    winner: str  # a cut name, or "MTL-Local"
    below: bool  # True: the winner is better below this bandwidth

    def to_dict(self) -> dict[str, Any]:
        return {"bandwidth_bps": self.bandwidth_bps, "winner": self.winner,
                "direction": "below" if self.below else "above"}


def latency_line(s: Scenario, link: Link) -> tuple[float, float]:
    """A scenario's latency as ``fixed + per_inverse_bandwidth / bandwidth``."""
    slope = s.transfer.uplink_s * link.bandwidth_bps + s.transfer.downlink_s * link.bandwidth_bps
    return s.total_s - s.transfer.uplink_s - s.transfer.downlink_s, slope


def crossovers(chosen: Scenario, others: Sequence[tuple[str, Scenario]], link: Link
               ) -> list[Crossover]:
    """For each other option, the bandwidth where its latency line meets the chosen one's."""
    fixed, slope = latency_line(chosen, link)
    out = []
    for name, s in others:
        f2, s2 = latency_line(s, link)
        if math.isclose(s2, slope) or math.isclose(f2, fixed):
            continue
        inverse = (fixed - f2) / (s2 - slope)  # 1 / bandwidth where the lines cross
        if inverse <= 0:
            continue
        out.append(Crossover(1.0 / inverse, name, below=s2 < slope))
    return out


def nearest(found: Sequence[Crossover], link: Link) -> tuple[Crossover, ...]:
    """The closest flips on each side of the current bandwidth."""
    now = link.bandwidth_bps
    below = [c for c in found if c.below and c.bandwidth_bps < now]
    above = [c for c in found if not c.below and c.bandwidth_bps > now]
    picked = []
    if below:
        picked.append(max(below, key=lambda c: c.bandwidth_bps))
    if above:
        picked.append(min(above, key=lambda c: c.bandwidth_bps))
    return tuple(picked)



@dataclass(frozen=True)
class Flip:
    """Between two scenarios: the uplink bandwidth or RTT where their order changes."""

    parameter: str  # "bandwidth" (bits/s) or "rtt" (seconds)
    value: float
    winner: str  # the scenario that is faster beyond ``value`` in ``direction``
    loser: str
    direction: str  # "below" or "above"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_remote(s: Scenario) -> bool:
    """Whether the scenario crosses the link (RoC, MTL-Split, a split), or stays on the edge."""
    return s.transfer.payload_bytes > 0


def scenario_flips(best: Scenario, others: Sequence[Scenario], link: Link) -> list[Flip]:
    """Bandwidth and RTT flips between the best scenario and each feasible other."""
    out = []
    for c in crossovers(best, [(o.name, o) for o in others], link):
        out.append(Flip("bandwidth", c.bandwidth_bps, c.winner, best.name,
                        "below" if c.below else "above"))
    for o in others:
        if is_remote(best) == is_remote(o):
            continue  # the RTT adds to both or to neither
        gap = o.total_s - best.total_s  # > 0: the other is slower now
        if is_remote(best):
            rtt = link.rtt_s + gap  # a longer round trip hands the win to the local option
            if rtt > 0:
                out.append(Flip("rtt", rtt, o.name, best.name, "above"))
        else:
            rtt = link.rtt_s - gap
            if rtt > 0:
                out.append(Flip("rtt", rtt, o.name, best.name, "below"))
    return out
