"""A titled table of formatted strings: what the rich table and the Markdown renderers draw.

One place decides how each figure is written (units explicit: MB = 10^6 bytes, rates in bit/s),
so that the terminal table and the Markdown table always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from splitcost.units import format_bytes, format_rate, format_seconds

if TYPE_CHECKING:
    from splitcost.hardware.device import Device
    from splitcost.hardware.link import Link
    from splitcost.pricing.request import PricingRequest


@dataclass(frozen=True)
class Grid:
    """A titled table of strings, with lines of context before and notes after."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    context: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    right: tuple[int, ...] = ()  # columns aligned right (numbers)
    keep: tuple[int, ...] = (0,)  # columns never wrapped (names)
    dim_rows: tuple[int, ...] = ()  # rows shown dimmed (infeasible)
    bold_rows: tuple[int, ...] = ()  # rows shown bold (recommended)
    verdict: str | None = None  # the one line that answers the question, after the table
    # Layout at a given width (render/table.py): the columns by importance (unlisted ones
    # after, in order), the first ``essential`` of them never left out (else the rows become
    # blocks); below ``blocks_below`` columns, one block per row.
    priority: tuple[int | tuple[int, ...], ...] = ()  # a tuple: columns shown together
    essential: int = 1
    blocks_below: int = 0

    @property
    def wrap(self) -> tuple[int, ...]:
        """Columns of words, which may wrap: neither numbers nor names."""
        return tuple(i for i in range(len(self.columns))
                     if i not in self.right and i not in self.keep)


def link_line(link: Link) -> str:
    if link.ideal:
        return f"{link.name} = {format_rate(link.bandwidth_bps)}, ideal (efficiency 1, RTT 0)"
    return (f"{link.name}: {format_rate(link.bandwidth_bps)} uplink x efficiency "
            f"{link.efficiency:g}, RTT {format_seconds(link.rtt_s)}")


def device_line(role: str, d: Device) -> str:
    return (f"{role}: {d.name} ({d.title}): {format_bytes(d.memory_usable)} usable of "
            f"{format_bytes(d.memory_total)}, runtime {format_bytes(d.runtime_overhead)} per "
            f"process")


def compute_lines(request: PricingRequest) -> tuple[str, ...]:
    """What the compute times assume, when it is not PyTorch eager at a precision both devices
    compute natively: the runtime, and any precision a device only emulates."""
    out = []
    if request.runtime != "eager":
        out.append(f"Runtime: {request.runtime} on both devices (fused kernels; a cut through "
                   "one pays its fusion penalty)")
    for role, d in (("edge", request.device), ("server", request.server)):
        if not d.native(request.precision):
            out.append(f"Precision: the {role} device {d.name} has no {request.backbone.dtype} "
                       "arithmetic: its compute is priced at its FP32 rate")
    return tuple(out)
