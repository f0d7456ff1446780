"""The fleet's tail: p99 end-to-end latency against the devices sharing one server, per scenario,
with the SLO and the fleet size at which each scenario's server saturates (its compute, or its
network interface), and where the planned fleet sits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from splitcost.errors import InputError
from splitcost.render._figure import (
    ARROW,
    PALETTE,
    axis_seconds,
    formatter,
    new_figure,
    tasks_text,
)
from splitcost.units import format_rate, format_seconds

if TYPE_CHECKING:
    from splitcost.studies.plan import Plan


def tail_figure(plan: Plan) -> Any:
    """p99 end-to-end latency against the devices sharing one server (one of each, for heads
    on several servers), per scenario, with the SLO and where each scenario saturates.

    Needs a plan made with its curves (``plan_request(..., curves=True)``, as ``splitcost plot
    tail`` does)."""
    if not plan.curves:
        raise InputError("this plan has no tail curves: no scenario uses a server whose "
                         "devices keep up, or the plan was made without curves=True")
    report = plan.report
    names = [r.name for r in plan.rows]
    fig = new_figure(11, 7.2)
    ax = fig.add_subplot()
    ax.set_xscale("log")
    ax.set_yscale("log")
    highs = [c.saturates_at for c in plan.curves if c.saturates_at]
    xs = [m for c in plan.curves for m, _ in c.points]
    ys = [v for c in plan.curves for _, v in c.points]
    local = [r for r in plan.rows if r.servers_needed == 0 and r.latency_percentiles]
    ys += [r.latency_percentiles.p99_s for r in local if r.latency_percentiles]
    if plan.slo_s is not None:
        ys.append(plan.slo_s)
    right = max([*xs, *(h * 1.6 for h in highs), plan.devices, 10.0])
    ax.set_xlim(1, right)
    low, high = min(ys), max(ys)
    ax.set_ylim(low / 1.3, high * 2.2)
    if plan.slo_s is not None:
        ax.axhline(plan.slo_s, color="#b30000", linewidth=1.6, linestyle="--", zorder=2,
                   label=f"SLO: p99 {format_seconds(plan.slo_s)}", gid="slo")
    for curve in plan.curves:
        i = names.index(curve.name)
        row = plan.rows[i]
        color = PALETTE[i % len(PALETTE)]
        m, v = zip(*curve.points, strict=True) if curve.points else ((), ())
        label = f"{curve.name}: p99 with that many devices on one server"
        if len(row.groups) > 1:
            label = f"{curve.name}: p99 with that many devices on each of its servers"
        ax.plot(m, v, color=color, linewidth=2.2, zorder=3, label=label,
                gid=f"tail:{curve.name}")
        if curve.saturates_at:
            ax.axvline(curve.saturates_at, color=color, linewidth=1.2, linestyle=":",
                       zorder=2, gid=f"saturates:{curve.name}")
            ax.annotate(f"{curve.name} saturates ({curve.saturated_by}):\n"
                        f"{curve.saturates_at:,.0f} devices",
                        xy=(curve.saturates_at, high * 1.6), xytext=(-5, 0),
                        textcoords="offset points", ha="right", va="center", fontsize=9.5,
                        color="#222222", gid="saturation",
                        bbox={"boxstyle": "round,pad=0.2", "facecolor": "white",
                              "edgecolor": color, "alpha": 0.9})
        q = row.latency_percentiles
        if q is not None and row.servers_needed:
            each = plan.devices / (row.servers_needed / max(len(row.groups), 1))
            ax.plot([each], [q.p99_s], "o", color=color, markersize=7, zorder=5,
                    gid=f"planned:{curve.name}")
    for r in local:
        i = names.index(r.name)
        q = r.latency_percentiles
        assert q is not None
        ax.axhline(q.p99_s, color=PALETTE[i % len(PALETTE)], linewidth=1.6,
                   linestyle=(0, (6, 3)), zorder=2, gid=f"local:{r.name}",
                   label=f"{r.name}: no server, {format_seconds(q.p99_s)} at any fleet size")
    ax.xaxis.set_major_formatter(formatter(lambda v: f"{v:,.0f}"))
    ax.yaxis.set_major_formatter(formatter(axis_seconds))
    ax.grid(True, which="major", color="#e4e4e4", linewidth=0.8)
    ax.tick_params(labelsize=10)
    ax.set_xlabel("edge devices sharing one server (log scale); dots: the planned fleet "
                  f"({plan.devices:,} devices at {plan.fps:g}/s) on its servers", fontsize=11)
    ax.set_ylabel("p99 end-to-end latency per inference (log scale)", fontsize=11)
    classes = [t.classes for t in report.tasks]
    batching = ("no batching" if plan.max_batch == 1 else
                f"batches of up to {plan.max_batch}, queue delay "
                f"{format_seconds(plan.max_queue_delay_s)}")
    ax.set_title(
        f"p99 latency against fleet size: {report.backbone.name}, {tasks_text(classes)}, "
        f"branch '{plan.request.branch_name}'\n{report.device.name} {ARROW} "
        f"{report.link.name} {ARROW} {report.server.name}; payload {report.payload.label}; "
        f"{batching}", fontsize=12)
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], linestyle=":", color="#555555"))
    labels.append("dotted: where a scenario's server reaches 100% load, of its compute or its "
                  f"network ingress ({format_rate(plan.ingress_bps)}); p99 grows without bound")
    for r in plan.rows:
        if r.latency_percentiles is None:
            handles.append(Line2D([], [], linestyle="none"))
            labels.append(f"{r.name}: no latency, {_overload_words(r)}")
    fig.legend(handles, labels, loc="outside lower left", fontsize=9.5, frameon=False,
               ncols=1)
    return fig


def _overload_words(row: Any) -> str:
    what = row.overloaded
    if what is not None and what.is_memory:
        return f"{what} does not fit"
    return f"above 100% load ({what})"


__all__ = ["tail_figure"]
