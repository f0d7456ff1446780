"""End-to-end latency of a scenario at fleet load: its percentiles and the chance of missing a
deadline. Numbers only.

One inference takes ``edge compute + RTT + uplink + server sojourn + results back``:

* the edge device computes a frame in a fixed time, and a camera sends frames at a fixed rate,
  so below 100% of the device there is no queue on the device;
* the uplink time is ``payload / bandwidth``, with the bandwidth spread as the link profile's
  p10 and p90 say (a log-normal through them, its median the profile's rate, each side of the
  median fitted to its own percentile; independent per inference). A link without percentiles
  is taken as fixed. The device's own uplink queue is not modelled: its utilisation is reported,
  and at 100% or more the device cannot keep up;
* each server of the scenario is a batching queue (:mod:`splitcost.pricing.queueing`), fed by
  every device it serves; on several servers the inference waits for the slowest, the servers
  taken as independent (their queues share the arrivals, so this leans to the safe side).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from splitcost.hardware.link import Link
from splitcost.pricing.memory import MemoryBreakdown
from splitcost.pricing.placement import server_groups
from splitcost.pricing.queueing import Distribution, largest, plus
from splitcost.pricing.request import PricingRequest
from splitcost.pricing.scenarios import Scenario
from splitcost.pricing.service import server_compute

Z90 = 1.2815515655446004  # the standard normal's 90th percentile
SPREAD_POINTS = 8192
PERCENTILES = (0.50, 0.95, 0.99)


@dataclass(frozen=True)
class Percentiles:
    """End-to-end latency percentiles, seconds."""

    p50_s: float
    p95_s: float
    p99_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"p50_s": self.p50_s, "p95_s": self.p95_s, "p99_s": self.p99_s}

    @staticmethod
    def of(d: Distribution) -> Percentiles:
        p50, p95, p99 = (d.quantile(q) for q in PERCENTILES)
        return Percentiles(p50, p95, p99)


def _log_spread(link: Link) -> tuple[float, float] | None:
    """The log-normal's sigma below and above the median bandwidth, or None (no spread)."""
    med = link.bandwidth_bps
    low = math.log(med / link.bandwidth_p10_bps) / Z90 if link.bandwidth_p10_bps else None
    high = math.log(link.bandwidth_p90_bps / med) / Z90 if link.bandwidth_p90_bps else None
    if low is None and high is None:
        return None
    low = high if low is None else low
    high = low if high is None else high
    assert low is not None and high is not None
    return low, high


def uplink_delay(link: Link, uplink_s: float) -> Distribution:
    """The uplink time of one inference whose median time is ``uplink_s``, spread by the
    link's bandwidth percentiles (a constant without them)."""
    spread = _log_spread(link)
    if spread is None or uplink_s <= 0:
        return Distribution.constant(uplink_s)
    low, high = spread
    # time = uplink_s x median / bandwidth: a slow link (bandwidth below the median) makes
    # the time above its median, with the lower side's sigma.
    z_lo, z_hi = -4.5 * high, 4.5 * low  # in log time, from fast to slow (to 3e-6 each side)
    lo_t, hi_t = uplink_s * math.exp(z_lo), uplink_s * math.exp(z_hi)
    step = (hi_t - lo_t) / (SPREAD_POINTS - 1)
    t = lo_t + step * np.arange(SPREAD_POINTS)
    z = np.log(t / uplink_s)
    sigma = np.where(z >= 0, low, high)
    cdf = 0.5 * (1 + np.vectorize(math.erf)(z / (sigma * math.sqrt(2))))
    pmf = np.diff(np.concatenate(([0.0], cdf)))
    pmf[-1] += 1.0 - cdf[-1]
    return Distribution(float(lo_t), float(step), np.clip(pmf, 0.0, None))


def end_to_end(fixed_s: float, uplink: Distribution,
               servers: Sequence[tuple[float, Distribution]]) -> Distribution:
    """``fixed_s`` (edge compute, RTT, results back) + the uplink + the slowest of the servers,
    each (forwarding delay, sojourn)."""
    parts = [Distribution.constant(fixed_s), uplink]
    if servers:
        parts.append(largest([d.shifted(forward) for forward, d in servers]))
    return plus(parts)


@dataclass(frozen=True)
class GroupService:
    """What one server of a scenario takes per batch, and holds: the inputs of its queue."""

    server: str
    tasks: tuple[int, ...]
    forward_s: float  # after the uplink, until its payload is there
    service_s: tuple[float, ...]  # [b - 1]: a batch of b requests
    memory: MemoryBreakdown  # at one request (the batch's extra activations are added)
    memory_usable: int
    received_bytes: int  # per request


def group_services(pr: PricingRequest, s: Scenario, max_batch: int) -> tuple[GroupService, ...]:
    """Each server of a remote scenario with its service time at every batch size up to
    ``max_batch`` (the roofline at that batch: weights read once per batch)."""
    if not s.servers or s.cut is None:
        return ()
    op = pr.cut(s.cut).op
    per = pr.backbone.batch  # samples per request
    out = []
    for share, group in zip(s.servers, server_groups(pr), strict=True):
        times = tuple(share.compute_s if b == 1 else
                      server_compute(pr, op, group.device, group.tasks, batch=b * per)
                      for b in range(1, max_batch + 1))
        out.append(GroupService(share.device, share.tasks, share.forward_s, times, share.memory,
                                group.device.memory_usable, share.payload_bytes))
    return tuple(out)


__all__ = ["PERCENTILES", "GroupService", "Percentiles", "end_to_end", "group_services",
           "uplink_delay"]
