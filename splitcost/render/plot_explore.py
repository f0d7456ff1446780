"""The explore figure: for each configuration, the latency of its best option against the
backbone's ImageNet-1k top-1 (torchvision's published accuracy of the pretrained classifier),
with the likely range, the SLO and the Pareto front."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from splitcost.render._figure import PALETTE, axis_seconds, formatter, new_figure
from splitcost.units import format_seconds

if TYPE_CHECKING:
    from splitcost.studies.explore import Explore

SCENARIO_COLORS = {"LoC": PALETTE[0], "MTL-Local": PALETTE[1], "RoC": PALETTE[2],
                   "MTL-Split": PALETTE[3]}


def explore_figure(ex: Explore) -> Any:
    """Latency per inference (log) against ImageNet top-1, one point per configuration."""
    fig = new_figure(11, 6.8)
    ax = fig.add_subplot()
    configs = [c for c in ex.configurations if (c.best_option or c.fastest_fit)]
    rated = [c for c in configs if c.imagenet_top1 is not None]
    seen: set[str] = set()
    varied = len({(c.device, c.link, c.tasks) for c in ex.configurations}) > 1
    for c in rated:
        o = c.best_option or c.fastest_fit
        assert o is not None
        name = "Split@cut" if o.scenario.startswith("Split@") else o.scenario
        color = SCENARIO_COLORS.get(name, PALETTE[4])
        meets = c.best is not None
        label = f"best option: {name}" if name not in seen else None
        seen.add(name)
        top1 = c.imagenet_top1 or 0.0
        if o.band_low_s is not None and o.band_high_s is not None:
            ax.errorbar([o.total_s], [top1], xerr=[[o.total_s - o.band_low_s],
                                                   [o.band_high_s - o.total_s]],
                        fmt="none", ecolor=color, elinewidth=1.2, capsize=3, alpha=0.8,
                        zorder=3, gid="likely range")
        ax.plot([o.total_s], [top1], marker="o" if meets else "X", markersize=9,
                color=color, markeredgecolor="#222222", linestyle="none", label=label,
                zorder=4, gid=f"config:{c.backbone}:{c.device}:{c.link}:{len(c.tasks)}",
                alpha=1.0 if meets else 0.5)
        where = f"\n{c.device}, {c.link}, {len(c.tasks)} tasks" if varied else ""
        ax.annotate(f"{c.backbone}{where}", xy=(o.total_s, top1), xytext=(7, 5),
                    textcoords="offset points", fontsize=8.5, color="#222222", gid="backbone")
    front = []
    for i, name in ex.pareto:
        c = ex.configurations[i]
        o = c.option(name)
        if o is not None and c.imagenet_top1 is not None:
            front.append((o.total_s, c.imagenet_top1))
    if len(front) > 1:
        front.sort()
        ax.plot([p[0] for p in front], [p[1] for p in front], color="#777777", linewidth=1.2,
                linestyle=":", zorder=2, gid="pareto", label="Pareto front (latency, edge "
                "memory, top-1)")
    if ex.slo_s is not None:
        ax.axvline(ex.slo_s, color="#b30000", linestyle="-.", linewidth=1.5, gid="SLO",
                   label=f"latency limit (SLO): {format_seconds(ex.slo_s)}")
    ax.plot([], [], marker="X", linestyle="none", color="#999999",
            label="misses the SLO or does not fit (its fastest option that fits)")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(formatter(axis_seconds))
    ax.xaxis.set_minor_formatter(formatter(axis_seconds))
    ax.tick_params(axis="x", which="minor", labelsize=8.5, labelcolor="#555555")
    ax.yaxis.set_major_formatter(formatter(lambda v: f"{v:.0f}%"))
    ax.grid(True, which="major", color="#e4e4e4", linewidth=0.8)
    ax.set_xlabel("end-to-end latency per inference of the best option (log scale; bars: "
                  "likely range)", fontsize=11)
    ax.set_ylabel("ImageNet-1k top-1 of the pretrained classifier (torchvision weights; not "
                  "your tasks)", fontsize=10)
    unrated = [c.backbone for c in configs if c.imagenet_top1 is None]
    extra = f"; no torchvision accuracy: {', '.join(dict.fromkeys(unrated))}" if unrated else ""
    ax.set_title(f"Which backbone? {len(ex.configurations)} configurations, server "
                 f"{ex.server}, {ex.memory_model} memory model{extra}", fontsize=12)
    ax.legend(loc="best", fontsize=9, framealpha=0.92)
    return fig
