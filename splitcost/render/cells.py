"""Formatted cells that several views share: memory with its share of the usable memory, the
fits column, the likely range, tensors crossing, percentages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from splitcost.kinds import ConstraintKind
from splitcost.render.explain import band_basis
from splitcost.units import format_bytes, format_seconds, format_shape

if TYPE_CHECKING:
    from splitcost.network.cuts import Cut
    from splitcost.network.profile import Profile
    from splitcost.pricing.scenarios import Scenario


def memory_cell(s: Scenario, kind: ConstraintKind) -> str:
    """``1.18 GB (46%)``: a side's memory and its share of the device's usable memory."""
    mem = s.edge_memory if kind is ConstraintKind.EDGE_MEMORY else s.server_memory
    if mem is None:
        return "-"
    c = s.constraint(kind)
    if c is None:
        return format_bytes(mem.total_bytes)
    return f"{format_bytes(mem.total_bytes)} ({100 * c.needed / c.available:.0f}%)"


def fits_cell(s: Scenario) -> str:
    if s.feasible or s.binding is None:
        return "yes"
    return f"no ({s.binding.value.split()[0]})"


def band_cell(s: Scenario, k: int = 1) -> str:
    """``68.3-114 ms``, or ``912 ms - 1.2 s`` when the ends differ in unit."""
    if s.band is None:
        return "-"
    return span_text(s.band.low_s * k, s.band.high_s * k)


def span_text(low_s: float, high_s: float) -> str:
    low, high = format_seconds(low_s), format_seconds(high_s)
    low_value, _, low_unit = low.rpartition(" ")
    if low_unit == high.rpartition(" ")[2]:
        return f"{low_value}-{high}"
    return f"{low} - {high}"


def band_notes(scenarios: Sequence[Scenario]) -> tuple[str, ...]:
    # Each device's error and link's percentiles once, however many scenarios use them.
    bases = list(dict.fromkeys(part for s in scenarios if s.band
                               for part in band_basis(s.band).split("; ")))
    if not bases:
        return ("Latency: the devices' profiles carry no validated error band for the latency "
                "model; treat compute times as estimates.",)
    return (f"Likely range: {'; '.join(bases)}.",)


def tensors_cell(shapes: Sequence[tuple[int, ...]]) -> str:
    if not shapes:
        return "-"
    text = " + ".join(format_shape(s) for s in shapes[:3])
    return text + (f" + {len(shapes) - 3} more" if len(shapes) > 3 else "")


def pct(x: float) -> str:
    return "-" if x == 0 else ("inf" if x == float("inf") else f"{100 * x:.0f}%")


def block_label(profile: Profile, cut: Cut) -> str:
    """What a cut comes after, in a few words: ``4x MBConv`` (a Sequential of four),
    ``Bottleneck``, ``input (RoC)``, ``Z_b (MTL-Split)``, or the operator."""
    if cut.kind == "input":
        return "input (RoC)"
    if cut.kind == "output":
        return "output (Z_b, MTL-Split)"
    if cut.kind == "operator":
        return cut.name.partition(":")[2] or cut.name
    rows = {m.path: m for m in profile.modules}
    row = rows.get(cut.name)
    if row is None:
        return "-"
    kids = [m.type for m in profile.modules
            if m.depth == row.depth + 1 and m.path.startswith(row.path + ".")]
    if row.type in ("Sequential", "ModuleList", "Stages") and kids:
        kinds = sorted(set(kids))
        return f"{len(kids)}x {kinds[0]}" if len(kinds) == 1 else f"{len(kids)} blocks"
    return row.type
