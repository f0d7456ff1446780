"""Which single input moves the verdict most, and by how much.

Each input is changed alone, by a step a planner would ask about (the uplink ten times slower or
faster, 50 ms more round trip, an edge device twice as slow or fast, twice the tasks or one,
the payload in float16 or int8), the scenarios are priced again and the fastest one that fits
is compared with the original verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from splitcost.cost import Pricing, Scenario, price
from splitcost.payload import payload_encoding
from splitcost.profiles import Device
from splitcost.profiling import Profile


@dataclass(frozen=True)
class Sensitivity:
    """The verdict after changing one input."""

    input: str  # "uplink bandwidth", "RTT", "edge device throughput", "tasks", "payload"
    change: str  # "/10", "x10", "+50 ms", ...
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


def _scaled(device: Device, factor: float) -> Device:
    return replace(
        device,
        peak_flops={k: v * factor for k, v in device.peak_flops.items()},
        memory_bandwidth=device.memory_bandwidth * factor,
        op_overhead_s=device.op_overhead_s / factor,
    )


def sensitivity(pr: Pricing, heads_for: Callable[[int], tuple[Profile, ...]]
                ) -> tuple[Sensitivity, ...]:
    """Re-price ``pr`` with one input changed at a time. ``heads_for(n)`` gives n task heads."""
    base = fastest(price(pr))
    n = len(pr.heads)
    link = pr.link
    variants: list[tuple[str, str, Pricing]] = [
        ("uplink bandwidth", "/10", replace(pr, link=link.with_bandwidth(link.bandwidth_bps / 10))),
        ("uplink bandwidth", "x10", replace(pr, link=link.with_bandwidth(link.bandwidth_bps * 10))),
        ("RTT", "+50 ms", replace(pr, link=replace(link, rtt_s=link.rtt_s + 0.050))),
        ("edge device throughput", "/2", replace(pr, device=_scaled(pr.device, 0.5))),
        ("edge device throughput", "x2", replace(pr, device=_scaled(pr.device, 2.0))),
        ("tasks", f"{2 * n}", replace(pr, heads=heads_for(2 * n))),
        ("payload", "float16", replace(pr, payload=payload_encoding("float16"))),
        ("payload", "int8", replace(pr, payload=payload_encoding("int8"))),
    ]
    if n > 1:
        variants.append(("tasks", "1", replace(pr, heads=heads_for(1))))
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
