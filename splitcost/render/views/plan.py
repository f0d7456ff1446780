"""The fleet plan's views: per scenario, whether a device keeps up and how many servers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from splitcost.render.cells import pct
from splitcost.render.explain import batch_notes, batching_line, servers_line, tail_basis
from splitcost.render.grid import Grid, compute_lines, link_line
from splitcost.render.registry import RenderOptions
from splitcost.render.sources import citation_lines
from splitcost.render.verdicts import plan_verdict
from splitcost.render.views.common import register
from splitcost.units import format_bytes, format_count, format_rate, format_seconds

if TYPE_CHECKING:
    from splitcost.studies.plan import FleetRow, Plan

KIND = "splitcost.studies.plan:Plan"

COLUMNS = ("name", "latency_s", "pipelined_fps", "device_ok", "device_binding",
           "edge_utilisation", "uplink_utilisation", "server_load_per_device",
           "server_utilisation", "ingress_bps", "server_memory_bytes", "server_memory_ok",
           "max_devices_per_server", "servers_needed", "binding", "server_binding",
           "p50_s", "p95_s", "p99_s", "deadline_miss", "overloaded", "capacity_rps",
           "mean_batch", "mean_wait_s", "devices_within_slo", "servers_for_slo")


def percentile_cells(row: FleetRow) -> tuple[str, str, str]:
    """p50, p95 and p99, or why there are none (``>100%`` load, ``no fit``)."""
    q = row.latency_percentiles
    if q is None:
        why = ("no fit" if row.overloaded is not None and row.overloaded.is_memory
               else ">100%")
        return why, why, why
    return format_seconds(q.p50_s), format_seconds(q.p95_s), format_seconds(q.p99_s)


def miss_cell(row: FleetRow) -> str:
    if row.deadline_miss is None:
        return "-"
    m = row.deadline_miss
    return "0" if m == 0 else ("100%" if m >= 1 else f"{100 * m:.2g}%")


def plan_grid(pl: Plan, options: RenderOptions | None = None) -> tuple[Grid, Grid]:
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
        f"Servers: {servers_line(pl)}, ingress {format_rate(pl.ingress_bps)} per server, "
        f"{pl.concurrency} batch(es) in flight; backbone {r.backbone.backbone.requested}, "
        f"{len(r.tasks)} tasks, branch point '{r.request.branch_name}', Z_b sent as "
        f"{r.payload.label}, RoC input as {r.input.label}",
        *compute_lines(r.request),
        batching_line(pl),
    )
    notes = (
        "Edge/uplink: one device's utilisation (F x time per inference, F x payload bits / "
        "goodput); server: utilisation of one server at the whole fleet (above 100% means "
        "more servers). Pipelined rate: 1 / slowest of edge compute, uplink, server compute.",
        *(citation_lines((r.device, r.server), (r.link,)) if options.sources else ()),
    )
    fleet = Grid(
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
    return (fleet, tail_grid(pl))


def tail_grid(pl: Plan) -> Grid:
    """Latency at fleet load: the percentiles, the SLO, what one server sustains."""
    slo = pl.slo_s is not None
    rows = []
    for row in pl.rows:
        served = row.servers_needed != 0
        rows.append((
            row.name,
            *percentile_cells(row),
            *((miss_cell(row),
               "-" if row.devices_within_slo is None or not served
               else f"{row.devices_within_slo:,}",
               "-" if row.servers_for_slo is None or not served
               else f"{row.servers_for_slo:,}") if slo else ()),
            "-" if row.capacity_rps is None else f"{format_count(row.capacity_rps)}/s",
            "-" if row.mean_wait_s is None else format_seconds(row.mean_wait_s),
            "-" if row.mean_batch is None else f"{row.mean_batch:.2g}",
        ))
    columns = ("Scenario", "p50", "p95", "p99",
               *(("Miss SLO", "Devices/server in SLO", "Servers for SLO") if slo else ()),
               "Server capacity", "Batch wait", "Mean batch")
    return Grid(
        title=("Latency at fleet load" + (f" (SLO {format_seconds(pl.slo_s)} p99)"
                                           if pl.slo_s is not None else "")),
        columns=columns,
        rows=tuple(rows),
        notes=(tail_basis(pl), *batch_notes(pl)),
        right=tuple(range(1, len(columns))),
        bold_rows=tuple(i for i, row in enumerate(pl.rows) if row.name == pl.best),
        dim_rows=tuple(i for i, row in enumerate(pl.rows) if row.latency_percentiles is None),
        # The p99 (and the SLO's miss) first, then the rest of the tail, then the server.
        priority=(0, 3, *((4, 5, 6) if slo else ()), 1, 2),
        essential=3 if slo else 2,
    )


def _rows(pl: Plan) -> list[dict[str, Any]]:
    out = []
    for r in pl.rows:
        d = r.to_dict()
        d.update(d.pop("latency_percentiles"))
        out.append(d)
    return out


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
