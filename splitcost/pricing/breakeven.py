"""Where a choice flips: the bandwidth and RTT at which another option wins.

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

from splitcost.hardware.link import Link
from splitcost.kinds import Direction, Parameter
from splitcost.pricing.scenarios import Scenario


@dataclass(frozen=True)
class Crossover:
    """Beyond this uplink bandwidth another option beats the chosen one."""

    bandwidth_bps: float
    winner: str  # a scenario or cut name, or "MTL-Local"
    below: bool  # True: the winner is better below this bandwidth

    @property
    def direction(self) -> Direction:
        return Direction.BELOW if self.below else Direction.ABOVE

    def to_dict(self) -> dict[str, Any]:
        return {"bandwidth_bps": self.bandwidth_bps, "winner": self.winner,
                "direction": self.direction}


def latency_line(s: Scenario, link: Link) -> tuple[float, float]:
    """A scenario's latency as ``fixed + per_inverse_bandwidth / bandwidth``."""
    slope = s.transfer.uplink_s * link.bandwidth_bps + s.transfer.downlink_s * link.bandwidth_bps
    return s.total_s - s.transfer.uplink_s - s.transfer.downlink_s, slope


def line_crossing(a: tuple[float, float], b: tuple[float, float]) -> float | None:
    """The bandwidth where two latency lines meet, or None when they do not (in bits/s > 0)."""
    (fa, sa), (fb, sb) = a, b
    if math.isclose(sa, sb) or math.isclose(fa, fb):
        return None
    inverse = (fa - fb) / (sb - sa)  # 1 / bandwidth where the lines cross
    return 1.0 / inverse if inverse > 0 else None


def crossovers(chosen: Scenario, others: Sequence[tuple[str, Scenario]], link: Link
               ) -> list[Crossover]:
    """For each other option, the bandwidth where its latency line meets the chosen one's."""
    mine = latency_line(chosen, link)
    out = []
    for name, s in others:
        theirs = latency_line(s, link)
        at = line_crossing(mine, theirs)
        if at is not None:
            out.append(Crossover(at, name, below=theirs[1] < mine[1]))
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

    parameter: Parameter
    value: float  # bits/s or seconds
    winner: str  # the scenario that is faster beyond ``value`` in ``direction``
    loser: str
    direction: Direction

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def scenario_flips(best: Scenario, others: Sequence[Scenario], link: Link) -> list[Flip]:
    """Bandwidth and RTT flips between the best scenario and each feasible other."""
    out = []
    for c in crossovers(best, [(o.name, o) for o in others], link):
        out.append(Flip(Parameter.BANDWIDTH, c.bandwidth_bps, c.winner, best.name, c.direction))
    for o in others:
        if best.remote == o.remote:
            continue  # the RTT adds to both or to neither
        gap = o.total_s - best.total_s  # > 0: the other is slower now
        if best.remote:
            rtt = link.rtt_s + gap  # a longer round trip hands the win to the local option
            if rtt > 0:
                out.append(Flip(Parameter.RTT, rtt, o.name, best.name, Direction.ABOVE))
        else:
            rtt = link.rtt_s - gap
            if rtt > 0:
                out.append(Flip(Parameter.RTT, rtt, o.name, best.name, Direction.BELOW))
    return out


def nearest_flips(flips: Sequence[Flip], link: Link) -> tuple[Flip, ...]:
    """For each parameter and direction, the flip closest to the link's current value."""
    out = []
    for parameter in Parameter:
        now = link.bandwidth_bps if parameter is Parameter.BANDWIDTH else link.rtt_s
        for direction in Direction:
            side = [f for f in flips if f.parameter is parameter and f.direction is direction
                    and (f.value < now if direction is Direction.BELOW else f.value > now)]
            if side:
                pick = max if direction is Direction.BELOW else min
                out.append(pick(side, key=lambda f: f.value))
    return tuple(out)
