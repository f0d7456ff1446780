"""Formatted cells that several views share: memory with its share of the usable memory, the
fits column, the likely range, tensors crossing, percentages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from splitcost.kinds import ConstraintKind
from splitcost.render.explain import band_basis
from splitcost.units import format_bytes, format_seconds, format_shape

if TYPE_CHECKING:
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
    if s.band is None:
        return "-"
    return f"{format_seconds(s.band.low_s * k)} - {format_seconds(s.band.high_s * k)}"


def band_notes(scenarios: Sequence[Scenario]) -> tuple[str, ...]:
    bases = sorted({band_basis(s.band) for s in scenarios if s.band})
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
