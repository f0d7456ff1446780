"""Which single input moves the verdict most, and by how much.

Each input is changed alone, by a step a planner would ask about (the uplink ten times slower or
faster, 50 ms more round trip, an edge device twice as slow or fast, twice the tasks or one,
the payload in float16 or int8), the scenarios are priced again and the fastest one that fits
is compared with the original verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from splitcost.hardware.device import Device
from splitcost.hardware.encoding import payload_encoding
from splitcost.network.profile import Profile
from splitcost.pricing.request import PricingRequest
from splitcost.pricing.scenarios import Scenario, price

RTT_STEP_S = 0.050


class Input(StrEnum):
    UPLINK = "uplink bandwidth"
    RTT = "RTT"
    EDGE_THROUGHPUT = "edge device throughput"
    TASKS = "tasks"
    PAYLOAD = "payload"


@dataclass(frozen=True)
class Sensitivity:
    """The verdict after changing one input."""

    input: Input
    change: str  # the step, as a token: "/10", "x10", "+50 ms", "6" (tasks), "int8" (payload)
    best: str | None
    best_total_s: float | None
    change_pct: float | None  # the fastest feasible latency vs the original verdict's, %
    flips: bool  # another scenario wins

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fastest(scenarios: Sequence[Scenario], prefer: str | None = None) -> Scenario | None:
    """The fastest feasible scenario; on a tie (LoC and MTL-Local with one task) ``prefer``."""
    fits = [s for s in scenarios if s.feasible]
    if not fits:
        return None
    return min(fits, key=lambda s: (round(s.total_s, 12), s.name != prefer))


def scaled_device(device: Device, factor: float) -> Device:
    """The device ``factor`` times as fast: peaks, bandwidth and per-operator overhead."""
    return replace(
        device,
        peak_flops={k: v * factor for k, v in device.peak_flops.items()},
        memory_bandwidth=device.memory_bandwidth * factor,
        op_overhead_s=device.op_overhead_s / factor,
    )


def sensitivity(pr: PricingRequest, heads_for: Callable[[int], tuple[Profile, ...]]
                ) -> tuple[Sensitivity, ...]:
    """Re-price ``pr`` with one input changed at a time. ``heads_for(n)`` gives n task heads."""
    base = fastest(price(pr))
    n = len(pr.heads)
    link = pr.link

    def tasks(k: int) -> PricingRequest:
        return pr.with_heads(heads_for(k), (pr.tasks[:1] * k) if pr.tasks else ())

    variants: list[tuple[Input, str, PricingRequest]] = [
        (Input.UPLINK, "/10", pr.over_link(link.with_bandwidth(link.bandwidth_bps / 10))),
        (Input.UPLINK, "x10", pr.over_link(link.with_bandwidth(link.bandwidth_bps * 10))),
        (Input.RTT, "+50 ms", pr.over_link(replace(link, rtt_s=link.rtt_s + RTT_STEP_S))),
        (Input.EDGE_THROUGHPUT, "/2", pr.with_device(scaled_device(pr.device, 0.5))),
        (Input.EDGE_THROUGHPUT, "x2", pr.with_device(scaled_device(pr.device, 2.0))),
        (Input.TASKS, f"{2 * n}", tasks(2 * n)),
        (Input.PAYLOAD, "float16", pr.over_link(payload=payload_encoding("float16"))),
        (Input.PAYLOAD, "int8", pr.over_link(payload=payload_encoding("int8"))),
    ]
    if n > 1:
        variants.append((Input.TASKS, "1", tasks(1)))
    out = []
    for name, change, variant in variants:
        best = fastest(price(variant), base.name if base else None)
        pct = None
        if best is not None and base is not None:
            pct = 100 * (best.total_s / base.total_s - 1)
        out.append(Sensitivity(
            name, change, best.name if best else None, best.total_s if best else None, pct,
            (best.name if best else None) != (base.name if base else None),
        ))
    return tuple(out)


def most_sensitive(items: Sequence[Sensitivity]) -> Sensitivity | None:
    """The change that flips the verdict with the biggest latency change, else the biggest
    latency change."""
    if not items:
        return None
    return max(items, key=lambda s: (s.flips, abs(s.change_pct or 0.0)))
