"""The sweep's figure: per cut in execution order, one quantity per panel: the payload sent,
the edge memory against the device's usable memory, the latency stacked by part with its likely
range (and the edge energy when it is the objective). The x labels name each cut and what it
comes after."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from splitcost.kinds import Objective
from splitcost.render._figure import (
    ARROW,
    PARTS,
    PAYLOAD,
    byte_unit,
    new_figure,
    tasks_text,
    time_unit,
)
from splitcost.render.cells import block_label
from splitcost.units import format_bytes, format_energy, format_rate, format_seconds

if TYPE_CHECKING:
    from splitcost.network.cuts import Cut
    from splitcost.studies.sweep import Sweep

FADED = "#c9c9c9"
BEST = "#fff2b3"


def _local_wins(sweep: Sweep) -> bool:
    """MTL-Local meets every limit and beats the best cut in latency (or every cut when none
    meets the limits)."""
    if not sweep.local_ok:
        return False
    best = sweep.best_result
    return best is None or sweep.local.total_s < best.scenario.total_s


def _label(sweep: Sweep, cut: Cut) -> str:
    """``6`` over ``4x MBConv``; ``input (RoC)`` alone."""
    what = block_label(sweep.profile, cut)
    return what if cut.kind in ("input", "output") else f"{cut.name}\n{what}"


def sweep_figure(sweep: Sweep) -> Any:
    """Payload, edge memory, latency (and energy, when it is the objective) at every cut."""
    results = sweep.results
    n = len(results)
    x = list(range(n))
    energy_panel = sweep.objective is Objective.ENERGY
    panels = 4 if energy_panel else 3
    ratios = [0.8, 0.8, 1.3, *([0.8] if energy_panel else [])]
    fig = new_figure(max(10.0, min(18.0, 3.5 + 0.42 * n)), 3.0 + 2.6 * panels)
    axes = fig.subplots(panels, 1, sharex=True, height_ratios=ratios)
    pay_ax, mem_ax, lat_ax = axes[0], axes[1], axes[2]
    ok = [r.ok for r in results]

    payloads = [float(r.scenario.payload_bytes) for r in results]
    pf, pu = byte_unit(payloads)
    nonzero = [p for p in payloads if p > 0]
    log_payload = bool(nonzero) and max(nonzero) / min(nonzero) > 50
    pay_ax.bar(x, [p / pf for p in payloads], width=0.7,
               color=[PAYLOAD if good else FADED for good in ok], edgecolor="#5b3f80",
               linewidth=0.6, gid="payload", zorder=2)
    if log_payload:
        pay_ax.set_yscale("log")
    pay_ax.set_ylabel(f"payload per inference\n({pu}{', log scale' if log_payload else ''})",
                      fontsize=10)
    if sweep.max_payload_bytes is not None:
        pay_ax.axhline(sweep.max_payload_bytes / pf, color="#b30000", linestyle="-.",
                       linewidth=1.4, gid="payload limit",
                       label=f"payload limit: {format_bytes(sweep.max_payload_bytes)}")
        pay_ax.legend(loc="upper right", fontsize=9, framealpha=0.92)

    usable = float(sweep.device.memory_usable)
    memory = [float(r.scenario.edge_memory_bytes) for r in results]
    mf, mu = byte_unit([*memory, usable])
    mem_ax.plot(x, [m / mf for m in memory], color="#D55E00", marker="o" if n <= 60 else "",
                markersize=5, linewidth=2, gid="edge memory", zorder=3,
                label=f"edge memory ({sweep.memory_model} model)")
    mem_ax.axhline(usable / mf, color="#b30000", linestyle="--", linewidth=1.6,
                   label=f"{sweep.device.name} usable memory: {format_bytes(usable)}",
                   gid="usable memory")
    mem_ax.set_ylim(0, max([*memory, usable]) / mf * 1.35)
    mem_ax.set_ylabel(f"edge memory ({mu})", fontsize=10)
    mem_ax.legend(loc="upper left", fontsize=9, ncols=2, framealpha=0.92)

    parts = [[r.scenario.edge_s for r in results], [r.scenario.transfer_s for r in results],
             [r.scenario.server_s for r in results]]
    totals = [r.scenario.total_s for r in results]
    local = sweep.local
    highs = [r.scenario.band.high_s if r.scenario.band else r.scenario.total_s for r in results]
    tf, tu = time_unit([*highs, local.total_s if local.feasible else 0.0])
    base = [0.0] * n
    for (label, color), values in zip(PARTS, parts, strict=True):
        scaled = [v / tf for v in values]
        bars = lat_ax.bar(x, scaled, bottom=base, width=0.7, color=color, label=label,
                          gid=label, edgecolor="white", linewidth=0.4, zorder=2)
        for bar, good in zip(bars, ok, strict=True):
            if not good:
                bar.set_alpha(0.35)
        base = [b + v for b, v in zip(base, scaled, strict=True)]
    banded = [(i, r.scenario.band) for i, r in enumerate(results) if r.scenario.band]
    if banded:
        lat_ax.errorbar([i for i, _ in banded], [totals[i] / tf for i, _ in banded],
                        yerr=[[(totals[i] - b.low_s) / tf for i, b in banded],
                              [(b.high_s - totals[i]) / tf for i, b in banded]],
                        fmt="none", ecolor="#333333", elinewidth=1.1, capsize=3, zorder=4,
                        gid="likely range", label="likely range of the total")
    wins = _local_wins(sweep)
    if local.feasible:
        local_label = (f"everything on {sweep.device.name} (MTL-Local): "
                       f"{format_seconds(local.total_s)}")
        if wins:
            local_label += ", faster than every cut"
        lat_ax.axhline(local.total_s / tf, color="#222222" if wins else "#555555",
                       linestyle="--", linewidth=2.2 if wins else 1.4, label=local_label,
                       gid="MTL-Local")
        if local.band is not None:
            lat_ax.axhspan(local.band.low_s / tf, local.band.high_s / tf, color="#888888",
                           alpha=0.12, linewidth=0, gid="MTL-Local range")
    if sweep.slo_s is not None:
        lat_ax.axhline(sweep.slo_s / tf, color="#b30000", linestyle="-.", linewidth=1.4,
                       label=f"latency limit (SLO): {format_seconds(sweep.slo_s)}", gid="SLO")
    lat_ax.set_ylabel(f"latency per inference ({tu})", fontsize=10)
    marks = [*base, *(h / tf for h in highs), local.total_s / tf if local.feasible else 0.0,
             sweep.slo_s / tf if sweep.slo_s is not None else 0.0]
    lat_ax.set_ylim(0, max(marks) * 1.45)
    title = None
    if sweep.best_index is None:
        title = "no cut meets every constraint" + (
            "; MTL-Local does" if sweep.local_ok else "")
    lat_ax.legend(loc="upper left", fontsize=9, ncols=2, framealpha=0.92, title=title,
                  title_fontproperties={"weight": "bold", "size": 10} if title else None)

    if energy_panel:
        en_ax = axes[3]
        energies = [r.scenario.energy.total_j if r.scenario.energy else 0.0 for r in results]
        en_ax.bar(x, energies, width=0.7, color=["#009E73" if good else FADED for good in ok],
                  gid="edge energy", zorder=2)
        if local.feasible and local.energy is not None:
            en_ax.axhline(local.energy.total_j, color="#555555", linestyle="--", linewidth=1.4,
                          gid="MTL-Local energy",
                          label=f"MTL-Local: {format_energy(local.energy.total_j)}")
            en_ax.legend(loc="upper left", fontsize=9, framealpha=0.92)
        en_ax.set_ylabel("edge energy per\ninference (J)", fontsize=10)

    best = sweep.best_index
    if best is not None:
        for ax in axes:
            ax.axvspan(best - 0.48, best + 0.48, color=BEST, zorder=0, gid="best")
        s = results[best].scenario
        text = (f"best cut ({sweep.objective}): {results[best].cut.name}\n"
                f"{format_seconds(s.total_s)}, {format_bytes(s.payload_bytes)} sent")
        if wins:
            text += "\nMTL-Local is faster"
        lat_ax.annotate(
            text, xy=(best, highs[best] / tf), xytext=(0, 12), textcoords="offset points",
            ha="right" if best > 0.8 * n else "left" if best < 0.2 * n else "center",
            va="bottom", fontsize=9.5, fontweight="bold", gid="best cut",
            arrowprops={"arrowstyle": "-", "color": "#444444"},
            bbox={"boxstyle": "round,pad=0.2", "facecolor": BEST, "edgecolor": "#c9a800"})

    step = max(1, math.ceil(n / 45))
    labels = [_label(sweep, r.cut) for r in results]
    bottom = axes[-1]
    bottom.set_xticks(x[::step], labels[::step], rotation=55, ha="right",
                      rotation_mode="anchor", fontsize=8.5)
    if best is not None and best % step == 0:
        bottom.get_xticklabels()[best // step].set_fontweight("bold")
    bottom.set_xlim(-0.6, n - 0.4)
    root = sweep.profile.backbone.root
    inside = f" inside model.{root}" if root else ""
    bottom.set_xlabel(f"cut: the network is split after this module{inside}, in execution "
                      "order (below each name: what it is)\n'input' sends the input, as RoC; "
                      "'output' sends Z_b, as MTL-Split", fontsize=10)
    for ax in axes:
        ax.tick_params(labelsize=9)
        ax.grid(True, axis="y", color="#ececec", zorder=0)
    classes = [t.classes for t in sweep.tasks]
    fig.suptitle(
        f"Every cut of {sweep.profile.name}: payload, edge memory and latency"
        f"{', edge energy' if energy_panel else ''}\n"
        f"{tasks_text(classes)}; {sweep.device.name} {ARROW} {sweep.link.name} "
        f"({format_rate(sweep.link.bandwidth_bps)}, RTT {format_seconds(sweep.link.rtt_s)}) "
        f"{ARROW} {sweep.server.name}; batch {sweep.profile.batch}; grey: breaks a constraint",
        fontsize=12)
    return fig
