"""The fleet plan's figure: servers needed against fleet size per scenario (the resource that
binds named, with the range the latency model's error gives), and at the planned fleet each
scenario's use of every resource, so that a device-side limit (its uplink) shows as plainly as
the server's."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from splitcost.render._figure import ARROW, PALETTE, formatter, new_figure, tasks_text
from splitcost.units import format_rate

if TYPE_CHECKING:
    from splitcost.studies.plan import FleetRow, Plan

RESOURCES = ("edge compute", "uplink", "server compute", "server ingress")


def servers_for(devices: int, per_server: int | None) -> int | None:
    """Servers for ``devices`` when one takes ``per_server`` (None: no limit)."""
    if per_server is None:
        return 1
    return math.ceil(devices / per_server) if per_server > 0 else None


def _per_server(row: FleetRow, plan: Plan, scale: float) -> int | None:
    """Devices one server takes with the server's compute time scaled by ``scale`` (the latency
    model's error); ingress does not scale."""
    if not row.server_memory_ok:
        return 0
    load = row.server_load_per_device * scale
    per_bits = row.ingress_bps / plan.devices if plan.devices else 0.0
    by_compute = math.floor(1.0 / load) if load > 0 else math.inf
    by_ingress = math.floor(plan.ingress_bps / per_bits) if per_bits > 0 else math.inf
    limit = min(by_compute, by_ingress)
    return None if limit == math.inf else int(limit)


def utilisation(row: FleetRow, plan: Plan) -> dict[str, float]:
    """Each resource's use at the planned fleet: one device's edge compute and uplink, one of
    the servers needed for compute and ingress (fractions; above 1 it cannot keep up)."""
    servers = row.servers_needed or 1
    return {
        "edge compute": row.edge_utilisation,
        "uplink": row.uplink_utilisation,
        "server compute": row.server_utilisation / servers,
        "server ingress": row.ingress_bps / servers / plan.ingress_bps if plan.ingress_bps
        else 0.0,
    }


def fleet_figure(plan: Plan) -> Any:
    """Servers needed against fleet size (left), and every resource's use at the planned fleet
    (right)."""
    report = plan.report
    fig = new_figure(14, 7.0)
    left, right = fig.subplots(1, 2, width_ratios=[1.45, 1.0])
    served = [(i, r) for i, r in enumerate(plan.rows) if r.server_load_per_device > 0]
    caps = [r.max_devices_per_server for _, r in served if r.max_devices_per_server]
    hi_m = max([plan.devices * 10, *(c * 4 for c in caps), 10])
    sizes = sorted({max(1, round(hi_m ** (k / 240))) for k in range(241)})
    errors = [e for e in (report.server.latency_error,) if e]
    error = errors[0] if errors else 0.0
    top = 1
    for i, row in served:
        color = PALETTE[i % len(PALETTE)]
        cap = row.max_devices_per_server
        needed = [servers_for(m, cap) for m in sizes]
        if any(n is None for n in needed):
            continue  # its memory does not fit a server: said in the legend
        ys = [float(n or 0) for n in needed]
        top = max(top, int(max(ys)))
        if row.device_ok:
            label = (f"{row.name}: {row.servers_needed} server(s) for {plan.devices:,}; one "
                     f"takes {cap:,} devices, bound by {row.server_binding}" if cap else
                     f"{row.name}: one server, no limit")
            style: dict[str, Any] = {"linestyle": "-"}
        else:
            label = (f"{row.name}: devices cannot keep up ({row.device_binding} "
                     f"{_share(row)} busy): no number of servers helps")
            style = {"linestyle": (0, (5, 3)), "alpha": 0.55}
        left.step(sizes, ys, where="post", color=color, linewidth=2.2, label=label,
                  gid=f"fleet:{row.name}", zorder=3, **style)
        if error:
            lo = [servers_for(m, _per_server(row, plan, 1 - error)) or 0 for m in sizes]
            hi = [servers_for(m, _per_server(row, plan, 1 + error)) or 0 for m in sizes]
            left.fill_between(sizes, lo, hi, step="post", color=color, alpha=0.15, linewidth=0,
                              gid=f"fleet range:{row.name}", zorder=2)
            top = max(top, max(hi))
        at = servers_for(plan.devices, cap)
        if at is not None:
            left.plot([plan.devices], [at], "o", color=color, markersize=7, zorder=4)
            left.annotate(f"{at}", xy=(plan.devices, at), xytext=(6, 4),
                          textcoords="offset points", fontsize=9.5, color=color,
                          fontweight="bold", gid="servers at plan")
    left.axvline(plan.devices, color="#333333", linewidth=1.4, zorder=2, gid="planned",
                 label=f"planned fleet: {plan.devices:,} devices at {plan.fps:g} "
                       f"inference{'s' if plan.fps != 1 else ''}/s each")
    if error:
        left.fill_between([], [], [], color="#777777", alpha=0.3, linewidth=0,
                          label=f"range: {report.server.name} compute +/-{100 * error:.0f}%")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlim(sizes[0], sizes[-1])
    left.set_ylim(0.8, top * 2.0)
    left.xaxis.set_major_formatter(formatter(lambda v: f"{v:,.0f}"))
    left.yaxis.set_major_formatter(formatter(lambda v: f"{v:,.0f}"))
    left.grid(True, which="major", color="#e4e4e4", linewidth=0.8)
    left.set_xlabel("fleet size: edge devices (log scale)", fontsize=11)
    left.set_ylabel(f"{report.server.name} servers needed (log scale)", fontsize=11)
    left.set_title("Servers needed against fleet size", fontsize=11.5)
    for r in plan.rows:
        if r.server_load_per_device <= 0:
            verb = "each device keeps up" if r.device_ok else "devices cannot keep up"
            left.plot([], [], linestyle="none",
                      label=f"{r.name}: no server; {verb} ({r.device_binding} {_share(r)} busy)")
        elif r.servers_needed is None:
            left.plot([], [], linestyle="none",
                      label=f"{r.name}: does not fit one server's memory")
    left.legend(loc="upper left", fontsize=8.8, framealpha=0.92)

    rows = list(plan.rows)
    width = 0.8 / len(RESOURCES)
    shades = ("#009E73", "#56B4E9", "#D55E00", "#CC79A7")
    peak = 1.0
    for k, (resource, shade) in enumerate(zip(RESOURCES, shades, strict=True)):
        xs, ys, binding = [], [], []
        for j, row in enumerate(rows):
            value = utilisation(row, plan)[resource]
            xs.append(j - 0.4 + width * (k + 0.5))
            ys.append(100 * value if math.isfinite(value) else 0.0)
            binding.append(resource == str(row.binding))
        bars = right.bar(xs, [max(y, 0.0) for y in ys], width=width * 0.92, color=shade,
                         gid=f"use:{resource}", zorder=2)
        for bar, bound in zip(bars, binding, strict=True):
            if bound:
                bar.set_edgecolor("#111111")
                bar.set_linewidth(1.8)
                bar.set_hatch("//")
        if error and resource == "server compute":
            right.errorbar(xs, ys, yerr=[[y * error for y in ys], [y * error for y in ys]],
                           fmt="none", ecolor="#333333", capsize=3, elinewidth=1, zorder=3)
        peak = max(peak, *(y for y in ys)) if ys else peak
    right.axhline(100, color="#b30000", linestyle="--", linewidth=1.5, gid="saturation",
                  label="100%: saturated (a device cannot keep up, or a server is full)")
    right.set_yscale("symlog", linthresh=10)
    right.set_ylim(0, peak * 2.5)
    right.yaxis.set_major_formatter(formatter(lambda v: f"{v:,.0f}%"))
    right.set_xticks(range(len(rows)), [r.name for r in rows], fontsize=10)
    right.set_ylabel("use at the planned fleet (%, log above 10%)", fontsize=11)
    right.set_title("What binds at the planned fleet (hatched: the binding resource)\n"
                    "edge and uplink: one device; server: one of the servers needed",
                    fontsize=10.5)
    right.grid(True, axis="y", color="#ececec", zorder=0)
    from matplotlib.patches import Patch

    handles, labels = right.get_legend_handles_labels()
    handles += [Patch(facecolor=shade) for shade in shades]
    labels += list(RESOURCES)
    right.legend(handles, labels, loc="upper left", fontsize=8.8, framealpha=0.92)
    classes = [t.classes for t in report.tasks]
    fig.suptitle(
        f"Fleet plan: {report.backbone.name}, {tasks_text(classes)}; {plan.devices:,} x "
        f"{report.device.name} at {plan.fps:g}/s {ARROW} {report.link.name} {ARROW} "
        f"{report.server.name} (ingress {format_rate(plan.ingress_bps)} each); payload "
        f"{report.payload.label}", fontsize=12)
    return fig


def _share(row: FleetRow) -> str:
    from splitcost.studies.plan import Resource

    busy = {Resource.EDGE_COMPUTE: row.edge_utilisation, Resource.UPLINK: row.uplink_utilisation}
    share = busy.get(row.device_binding)
    return f"{share * 100:,.0f}%" if share is not None and math.isfinite(share) else ""
