"""Where the figures behind a result come from: the short line every report shows, and the
citations ``--sources`` adds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from splitcost.units import format_bytes

if TYPE_CHECKING:
    from splitcost.hardware.device import Device
    from splitcost.hardware.link import Link


def overhead_line(devices: Sequence[Device]) -> str:
    """``Runtime overhead counted per process: 1.07 GB on jetson-nano-4gb (estimate), ...``."""
    parts = []
    for d in devices:
        src = d.sources.get("memory.runtime_overhead")
        kind = f" ({src.kind})" if src else ""
        parts.append(f"{format_bytes(d.runtime_overhead)} on {d.name}{kind}")
    return (f"Runtime overhead counted per process: {', '.join(parts)}; --sources cites it and "
            "every other figure of the profiles.")


def overhead_citations(devices: Sequence[Device]) -> tuple[str, ...]:
    """The runtime overhead of each device with its full citation."""
    out = []
    for d in devices:
        src = d.sources.get("memory.runtime_overhead")
        cite = f" ({src.kind}: {src.ref})" if src else ""
        out.append(f"Runtime overhead counted per process on {d.name}: "
                   f"{format_bytes(d.runtime_overhead)}{cite}")
    return tuple(out)


def citation_lines(devices: Sequence[Device], links: Sequence[Link]) -> tuple[str, ...]:
    """Every cited figure of the profiles a result used, one line each: ``device field (kind):
    reference``."""
    out = ["Sources of the profiles' figures (kind: vendor peak, measured, derived, estimate or "
           "calibrated):"]
    seen: set[str] = set()
    profiles: list[Device | Link] = [*devices, *links]
    for profile in profiles:
        if profile.name in seen:
            continue
        seen.add(profile.name)
        for key, src in profile.sources.items():
            out.append(f"  {profile.name} {key} ({src.kind}): {src.ref}")
    return tuple(out)
