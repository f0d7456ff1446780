"""The views of ``splitcost devices`` and ``splitcost links``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from splitcost.render.grid import Grid
from splitcost.render.registry import RenderOptions
from splitcost.render.views.common import register
from splitcost.units import format_bytes, format_count, format_rate, format_seconds

if TYPE_CHECKING:
    from splitcost.hardware.catalog import DeviceCatalog, LinkCatalog

DEVICES = "splitcost.hardware.catalog:DeviceCatalog"
LINKS = "splitcost.hardware.catalog:LinkCatalog"

DEVICE_COLUMNS = ("name", "role", "memory_total_bytes", "memory_usable_bytes",
                  "runtime_overhead_bytes", "memory_bandwidth_bytes_per_s", "op_overhead_s",
                  "power_active_w", "power_idle_w", "latency_error", "summary")
LINK_COLUMNS = ("name", "bandwidth_bps", "downlink_bps", "bandwidth_p10_bps",
                "bandwidth_p90_bps", "goodput_bps", "rtt_s", "efficiency", "summary")


def devices_grid(c: DeviceCatalog, options: RenderOptions | None = None) -> Grid:
    rows = tuple(
        (
            d.name,
            d.role,
            format_bytes(d.memory_total),
            format_bytes(d.memory_usable),
            format_bytes(d.runtime_overhead),
            " / ".join(f"{k} {format_count(v)}FLOP/s" for k, v in d.peak_flops.items()),
            f"{format_bytes(d.memory_bandwidth)}/s",
            ", ".join(r.value for r in d.runtimes_available()),
            d.summary,
        )
        for d in c.devices
    )
    return Grid(
        title="Devices",
        columns=("Name", "Role", "Memory", "Usable", "Runtime/process", "Peak", "Bandwidth",
                 "Runtimes", "Summary"),
        rows=rows,
        notes=("Every figure's source is in the profile file ([sources]); "
               "'splitcost devices --format json' lists them. Runtimes: the --runtime values "
               "the profile has a section for.",),
        right=(2, 3, 4),
    )


def links_grid(c: LinkCatalog, options: RenderOptions | None = None) -> Grid:
    rows = tuple(
        (
            lk.name,
            format_rate(lk.bandwidth_bps),
            f"{lk.efficiency:g}",
            format_rate(lk.goodput_bps),
            format_seconds(lk.rtt_s),
            lk.summary,
        )
        for lk in c.links
    )
    return Grid(
        title="Links",
        columns=("Name", "Uplink", "Efficiency", "Goodput", "RTT", "Summary"),
        rows=rows,
        notes=("A bare rate such as --link 1gbps is an ideal link: efficiency 1, RTT 0.",),
        right=(1, 2, 3, 4),
    )


def _device_rows(c: DeviceCatalog) -> list[dict[str, Any]]:
    return [d.to_dict() for d in c.devices]


def _link_rows(c: LinkCatalog) -> list[dict[str, Any]]:
    return [lk.to_dict() for lk in c.links]


register(DEVICES, "devices", devices_grid, (DEVICE_COLUMNS, _device_rows))
register(LINKS, "links", links_grid, (LINK_COLUMNS, _link_rows))
