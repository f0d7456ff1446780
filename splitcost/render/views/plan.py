"""The fleet plan's views: per scenario, whether a device keeps up and how many servers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from splitcost.render.cells import pct
from splitcost.render.grid import Grid, compute_lines, link_line
from splitcost.render.registry import RenderOptions
from splitcost.render.sources import citation_lines
from splitcost.render.verdicts import plan_verdict
from splitcost.render.views.common import register
from splitcost.units import format_bytes, format_rate, format_seconds

if TYPE_CHECKING:
    from splitcost.studies.plan import Plan

KIND = "splitcost.studies.plan:Plan"

COLUMNS = ("name", "latency_s", "pipelined_fps", "device_ok", "device_binding",
           "edge_utilisation", "uplink_utilisation", "server_load_per_device",
           "server_utilisation", "ingress_bps", "server_memory_bytes", "server_memory_ok",
           "max_devices_per_server", "servers_needed", "binding", "server_binding")


def plan_grid(pl: Plan, options: RenderOptions | None = None) -> Grid:
    options = options or RenderOptions()
    r = pl.report
    rows = []
    for row in pl.rows:
        rows.append((
            row.name,
            "yes" if row.device_ok else f"no ({row.device_binding})",
            format_seconds(row.latency_s),
            f"{row.pipelined_fps:.3g}/s",
            pct(row.edge_utilisation),
            pct(row.uplink_utilisation),
            pct(row.server_utilisation),
            format_rate(row.ingress_bps) if row.ingress_bps else "-",
            format_bytes(row.server_memory_bytes) if row.server_memory_bytes else "-",
            "-" if row.servers_needed == 0 else str(row.max_devices_per_server or "any"),
            "none" if row.servers_needed is None else str(row.servers_needed),
            str(row.binding),
        ))
    context = (
        f"Fleet: {pl.devices} x {r.device.name} at {pl.fps:g} inferences/s each, over "
        f"{link_line(r.link)}",
        f"Servers: {r.server.name}, ingress {format_rate(pl.ingress_bps)} per server, "
        f"{pl.concurrency} batch(es) in flight; backbone {r.backbone.backbone.requested}, "
        f"{len(r.tasks)} tasks, Z_b sent as {r.payload.label}, RoC input as {r.input.label}",
        *compute_lines(r.request),
    )
    notes = (
        "Edge/uplink: one device's utilisation (F x time per inference, F x payload bits / "
        "goodput); server: utilisation of one server at the whole fleet (above 100% means "
        "more servers). Pipelined rate: 1 / slowest of edge compute, uplink, server compute.",
        *(citation_lines((r.device, r.server), (r.link,)) if options.sources else ()),
    )
    return Grid(
        title=f"splitcost plan: {pl.devices} devices at {pl.fps:g}/s",
        columns=("Scenario", "Device keeps up", "Latency", "Pipelined", "Edge", "Uplink",
                 "Server", "Ingress", "Server memory", "Devices/server", "Servers", "Binding"),
        rows=tuple(rows),
        context=context,
        notes=notes,
        right=(2, 3, 4, 5, 6, 7, 8, 9, 10),
        bold_rows=tuple(i for i, row in enumerate(pl.rows) if row.name == pl.best),
        dim_rows=tuple(i for i, row in enumerate(pl.rows) if not row.device_ok),
        verdict=plan_verdict(pl),
        keep=(0, 11),
        # The answer (servers, what binds, whether a device keeps up) before the details.
        priority=(0, 10, 11, 1, 2, 9, 5, 4, 6, 7, 3, 8),
        essential=4,
    )


def _rows(pl: Plan) -> list[dict[str, Any]]:
    return [r.to_dict() for r in pl.rows]


def summary(pl: Plan) -> str:
    r = pl.report
    if pl.best is None:
        chosen = "no scenario serves the fleet"
    else:
        row = pl.row(pl.best)
        chosen = f"{pl.best}, {row.servers_needed} server(s)"
    return (f"{pl.devices} x {r.device.name} at {pl.fps:g}/s over {r.link.name}, "
            f"{r.backbone.name}: {chosen}")


register(KIND, "plan", plan_grid, (COLUMNS, _rows), summary)
