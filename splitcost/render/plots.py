"""Figures: latency against uplink bandwidth, every cut, and a fleet against one server.

Each function takes a result (a :class:`~splitcost.studies.compare.Report`, a
:class:`~splitcost.studies.sweep.Sweep` or a :class:`~splitcost.studies.plan.Plan`) and returns a
``matplotlib.figure.Figure`` built directly, never through ``pyplot``: nothing global is touched
and nothing is shown. :func:`save` writes PNG or SVG. matplotlib is imported inside the
functions, so importing this module costs nothing and splitcost runs without it.

Every figure carries its units in the axis labels (bytes in kB/MB/GB = 10^3/10^6/10^9, link rates
in bits per second, times per inference) and says in its title which backbone, tasks, device,
link and server it is about.
"""

from __future__ import annotations

import itertools
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from splitcost.errors import InputError
from splitcost.units import format_bytes, format_rate, format_seconds

if TYPE_CHECKING:
    from splitcost.studies.compare import Report
    from splitcost.studies.plan import Plan
    from splitcost.studies.sweep import Sweep

FORMATS = (".png", ".svg")
MISSING = "plots need matplotlib: pip install 'splitcost[plot]'"

# Colour-blind-safe (Okabe-Ito), one per scenario in SCENARIOS order, then any Split@cut.
PALETTE = ("#E69F00", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000")
PAYLOAD = "#b39ddb"
PARTS = (("edge compute", "#009E73"), ("transfer", "#56B4E9"), ("server compute", "#D55E00"))
ARROW = "\u2192"


def _figure(width: float, height: float) -> Any:
    """A Figure on its own Agg canvas: no pyplot, no global state."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise InputError(MISSING) from None
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _formatter(fn: Callable[[float], str]) -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: fn(v) if v > 0 else "0")


def _tasks_text(classes: Sequence[int]) -> str:
    n = len(classes)
    return f"{n} task{'s' if n != 1 else ''} ({','.join(str(c) for c in classes)} classes)"


# --- latency against bandwidth -----------------------------------------------------------------


def envelope_changes(lines: Sequence[tuple[str, float, float]]) -> list[tuple[float, str, str]]:
    """Where the fastest of ``lines`` (name, fixed_s, slope) changes, over every bandwidth.

    Each latency is ``fixed + slope / B``; the lower envelope can change only where two lines
    cross, so the winner is evaluated between consecutive crossings. Returns (bandwidth, winner
    below it, winner above it), by increasing bandwidth.
    """
    from splitcost.pricing.breakeven import line_crossing

    points = set()
    for i, (_, f1, s1) in enumerate(lines):
        for _, f2, s2 in lines[i + 1:]:
            at = line_crossing((f1, s1), (f2, s2))
            if at is not None and math.isfinite(at):
                points.add(at)
    if not points:
        return []
    ordered = sorted(points)

    def fastest(bandwidth: float) -> str:
        return min(lines, key=lambda line: line[1] + line[2] / bandwidth)[0]

    samples = ([ordered[0] / 10]
               + [math.sqrt(a * b) for a, b in itertools.pairwise(ordered)]
               + [ordered[-1] * 10])
    winners = [fastest(b) for b in samples]
    return [(ordered[i], winners[i], winners[i + 1]) for i in range(len(ordered))
            if winners[i] != winners[i + 1]]


def _axis_seconds(v: float) -> str:
    """Tick labels in seconds (ms and µs below one second), never in minutes: a log axis
    reads best in one unit."""
    return f"{v:,.0f} s" if v >= 10 else format_seconds(v, 2)


def _decades(points: Sequence[float]) -> tuple[float, float]:
    """A log range holding every point with a decade to spare, at least four decades wide."""
    lo = math.floor(math.log10(min(points))) - 1
    hi = math.ceil(math.log10(max(points))) + 1
    while hi - lo < 4:
        lo, hi = lo - 1, hi + 1
    return 10.0**lo, 10.0**hi


def latency_figure(report: Report, bandwidths: Sequence[float] | None = None) -> Any:
    """End-to-end latency per inference against uplink bandwidth, one line per scenario.

    Latency is exact at every bandwidth: ``fixed + slope / B`` from
    :func:`splitcost.pricing.breakeven.latency_line` (the link's RTT and efficiency kept). Marks
    where the fastest scenario that fits changes, the report's break-even bandwidths, and the
    current link.
    """
    from splitcost.pricing.breakeven import Parameter, latency_line

    link = report.link
    lines = [(s, *latency_line(s, link)) for s in report.scenarios]
    feasible = [(s.name, fixed, slope) for s, fixed, slope in lines if s.feasible]
    changes = envelope_changes(feasible)
    flips = [f for f in report.breakeven if f.parameter is Parameter.BANDWIDTH and f.value > 0]
    if bandwidths is None:
        # Every crossing within four decades of the link's rate; beyond that is no real link.
        now = link.bandwidth_bps
        near = [b for b in (*(c[0] for c in changes), *(f.value for f in flips))
                if now / 1e4 <= b <= now * 1e4]
        lo, hi = _decades([now, *near])
        grid = [lo * (hi / lo) ** (i / 400) for i in range(401)]
    else:
        grid = sorted(float(b) for b in bandwidths)
        if not grid or grid[0] <= 0 or not all(math.isfinite(b) for b in grid):
            raise InputError("bandwidths: expected positive numbers of bits per second")

    fig = _figure(11, 6.2)
    ax = fig.add_subplot()
    ax.set_xscale("log")
    ax.set_yscale("log")

    # The fastest that fits, as a wide pale band under the scenario lines.
    if feasible:
        best = [min(f + s / b for _, f, s in feasible) for b in grid]
        ax.plot(grid, best, color="#cfcfcf", linewidth=9, solid_capstyle="butt", zorder=1,
                label="fastest that fits", gid="envelope")
    every: list[float] = []
    for i, (s, fixed, slope) in enumerate(lines):
        y = [fixed + slope / b for b in grid]
        every.extend(v for v in (y[0], y[-1]) if v > 0)
        where = "on the edge" if slope == 0 else "over the link"
        color = PALETTE[i % len(PALETTE)]
        if s.feasible:
            ax.plot(grid, y, color=color, linewidth=2.2, zorder=3,
                    label=f"{s.name} ({where})", gid=f"scenario:{s.name}")
        else:
            ax.plot(grid, y, color=color, alpha=0.45, linewidth=1.6, linestyle=(0, (5, 3)),
                    zorder=2, label=f"{s.name} (does not fit)", gid=f"scenario:{s.name}")
        if s.feasible and grid[0] <= link.bandwidth_bps <= grid[-1]:
            ax.plot([link.bandwidth_bps], [fixed + slope / link.bandwidth_bps], "o",
                    color=color, markersize=6, zorder=4)
    low, high = (min(every) / 1.6, max(every) * 1.6) if every else (1e-3, 1.0)
    ax.set_xlim(grid[0], grid[-1])
    ax.set_ylim(low, high)

    ax.axvline(link.bandwidth_bps, color="#333333", linewidth=1.4, zorder=2,
               label=f"this link: {link.name}, {format_rate(link.bandwidth_bps)}",
               gid="link")

    by_name = {name: (fixed, slope) for name, fixed, slope in feasible}
    marks: list[tuple[float, float, str, bool]] = []  # bandwidth, latency, text, strong
    for bandwidth, below, above in changes:
        fixed, slope = by_name[above]
        marks.append((bandwidth, fixed + slope / bandwidth,
                      f"{format_rate(bandwidth)}\n{below} below, {above} above", True))
    for flip in flips:
        if flip.winner not in by_name or any(
                math.isclose(flip.value, m[0], rel_tol=0.01) for m in marks):
            continue
        fixed, slope = by_name[flip.winner]
        marks.append((flip.value, fixed + slope / flip.value,
                      f"{format_rate(flip.value)}\n{flip.winner} beats {flip.loser} "
                      f"{flip.direction}", False))
    shown = [m for m in marks if grid[0] <= m[0] <= grid[-1]]
    _place_crossovers(ax, shown, (grid[0], grid[-1]), (low, high))

    ax.xaxis.set_major_formatter(_formatter(lambda v: format_rate(v, 2)))
    ax.yaxis.set_major_formatter(_formatter(_axis_seconds))
    if math.log10(high / low) <= 4:  # few decades: label 2x and 5x too
        from matplotlib.ticker import LogLocator

        ax.yaxis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
        ax.yaxis.set_minor_formatter(_formatter(_axis_seconds))
        ax.tick_params(axis="y", which="minor", labelsize=8.5, labelcolor="#555555")
    ax.tick_params(labelsize=10)
    ax.grid(True, which="major", color="#e4e4e4", linewidth=0.8)
    ax.set_xlabel(f"uplink bandwidth (bit/s, log scale; RTT {format_seconds(link.rtt_s)} and "
                  f"efficiency {link.efficiency:g} as in {link.name})", fontsize=11)
    batch = report.backbone.batch
    per = "per inference" if batch == 1 else f"per inference (one batch of {batch})"
    ax.set_ylabel(f"end-to-end latency {per}, log scale", fontsize=11)
    classes = [t.classes for t in report.tasks]
    ax.set_title(
        f"Latency against uplink bandwidth: {report.backbone.name}, {_tasks_text(classes)}\n"
        f"{report.device.name} {ARROW} {link.name} {ARROW} {report.server.name}; payload "
        f"{report.payload.label}, RoC input {report.input.label}, {report.memory_model} "
        "memory model", fontsize=12)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=10, frameon=False,
              title="scenario", title_fontsize=10, alignment="left")
    return fig


def _place_crossovers(ax: Any, marks: Sequence[tuple[float, float, str, bool]],
                      xlim: tuple[float, float], ylim: tuple[float, float]) -> None:
    """Label each crossing along its vertical line, in the upper or lower half of the axes,
    centred on the line or beside it: not over the crossing itself, and not over another label.
    Labels where the fastest changes are placed first."""
    axes_w, axes_h = 7.6, 5.2  # inches of the 11 x 6.2 in figure the axes get
    placed: list[tuple[bool, float, float]] = []  # upper, centre x, width (axes fractions)
    for bandwidth, latency, text, strong in sorted(marks, key=lambda m: (not m[3], m[0])):
        size = 9.5 if strong else 8.5
        lines = text.splitlines()
        x = math.log(bandwidth / xlim[0]) / math.log(xlim[1] / xlim[0])
        h = math.log(latency / ylim[0]) / math.log(ylim[1] / ylim[0])
        span = max(len(t) for t in lines) * size * 0.58 / 72 / axes_h + 0.03
        width = len(lines) * size * 1.3 / 72 / axes_w

        def covers(upper: bool, h: float = h, span: float = span) -> bool:
            return (0.98 - span <= h) if upper else (h <= 0.02 + span)

        def clear(upper: bool, centre: float, width: float = width) -> bool:
            return all(u != upper or abs(centre - c) >= (width + w) / 2 + 0.004
                       for u, c, w in placed)

        halves = [u for u in (h < 0.5, h >= 0.5) if not covers(u)] or [h < 0.5]
        choice = (halves[0], 0)
        options = [(u, side) for side in (0, -1, 1) for u in halves]
        for upper, side in options:
            if clear(upper, x + side * (width / 2 + 0.003)):
                choice = (upper, side)
                break
        upper, side = choice
        placed.append((upper, x + side * (width / 2 + 0.003), width))
        _crossover(ax, bandwidth, latency, upper, side, text, strong)


def _crossover(ax: Any, bandwidth: float, latency: float, upper: bool, side: int, text: str,
               strong: bool) -> None:
    """A vertical dotted line at ``bandwidth``, a marker where the lines cross, and the text
    along the line in the upper or lower half of the axes (the Annotation's ``xy`` is the exact
    crossing; gid ``crossover`` where the fastest changes, ``breakeven`` otherwise)."""
    ax.axvline(bandwidth, color="#555555" if strong else "#999999", linewidth=1.0,
               linestyle=":", zorder=2)
    ax.annotate(
        text, xy=(bandwidth, latency), xycoords="data",
        xytext=(bandwidth, 0.98 if upper else 0.02), textcoords=("data", "axes fraction"),
        rotation=90, ha={0: "center", -1: "right", 1: "left"}[side],
        va="top" if upper else "bottom", multialignment="center",
        fontsize=9.5 if strong else 8.5,
        fontweight="bold" if strong else "normal", color="#222222" if strong else "#555555",
        gid="crossover" if strong else "breakeven", zorder=5,
        bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none",
              "alpha": 0.8},
    )
    ax.plot([bandwidth], [latency], marker="D", markersize=7 if strong else 5,
            markerfacecolor="white", markeredgecolor="#222222", zorder=6)


# --- every cut ---------------------------------------------------------------------------------


def _byte_unit(values: Sequence[float]) -> tuple[float, str]:
    top = max(values, default=0)
    for factor, unit in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if top >= factor:
            return factor, unit
    return 1.0, "B"


def _time_unit(values: Sequence[float]) -> tuple[float, str]:
    top = max(values, default=0)
    for factor, unit in ((1.0, "s"), (1e-3, "ms")):
        if top >= factor:
            return factor, unit
    return 1e-6, "\u00b5s"


def sweep_figure(sweep: Sweep) -> Any:
    """Per cut in execution order: payload (bars) and edge memory (line) against the device's
    usable memory on top, latency stacked by part below, the best cut highlighted."""
    results = sweep.results
    n = len(results)
    x = list(range(n))
    names = [r.cut.name for r in results]
    fig = _figure(max(10.0, min(18.0, 3.5 + 0.38 * n)), 8.6)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[1.0, 1.25])

    payloads = [float(r.scenario.payload_bytes) for r in results]
    pf, pu = _byte_unit(payloads)
    nonzero = [p for p in payloads if p > 0]
    log_payload = bool(nonzero) and max(nonzero) / min(nonzero) > 50
    colors = [PAYLOAD if r.ok else "#c9c9c9" for r in results]
    top.bar(x, [p / pf for p in payloads], width=0.7, color=colors, edgecolor="#5b3f80",
            linewidth=0.6, label=f"payload per inference ({pu})", gid="payload", zorder=2)
    if log_payload:
        top.set_yscale("log")
    top.set_ylabel(f"payload sent to the server ({pu}{', log' if log_payload else ''})",
                   fontsize=10.5, color="#5b3f80")

    usable = float(sweep.device.memory_usable)
    memory = [float(r.scenario.edge_memory_bytes) for r in results]
    mf, mu = _byte_unit([*memory, usable])
    mem_ax = top.twinx()
    mem_ax.plot(x, [m / mf for m in memory], color="#D55E00", marker="o" if n <= 60 else "",
                markersize=5, linewidth=2, label=f"edge memory ({sweep.memory_model} model, "
                f"{mu})", gid="edge memory", zorder=3)
    mem_ax.axhline(usable / mf, color="#b30000", linestyle="--", linewidth=1.6,
                   label=f"{sweep.device.name} usable memory: {format_bytes(usable)}",
                   gid="usable memory")
    mem_ax.set_ylabel(f"edge memory ({mu})", fontsize=10.5, color="#D55E00")
    handles = top.get_legend_handles_labels()
    more = mem_ax.get_legend_handles_labels()
    if any(not r.ok for r in results):
        from matplotlib.patches import Patch

        more[0].append(Patch(facecolor="#c9c9c9", edgecolor="#5b3f80", linewidth=0.6))
        more[1].append("grey / faded: the cut breaks a constraint")
    top.legend(handles[0] + more[0], handles[1] + more[1], loc="upper left", fontsize=9.5,
               ncols=2, framealpha=0.92)
    room = 1.6  # head room for the legend's two rows
    top.set_ylim(top.get_ylim()[0], top.get_ylim()[1] * (room**6 if log_payload else room))
    mem_ax.set_ylim(0, max([*memory, usable]) / mf * room)

    parts = [[r.scenario.edge_s for r in results], [r.scenario.transfer_s for r in results],
             [r.scenario.server_s for r in results]]
    totals = [r.scenario.total_s for r in results]
    local = sweep.local
    tf, tu = _time_unit([*totals, local.total_s if local.feasible else 0.0])
    base = [0.0] * n
    for (label, color), values in zip(PARTS, parts, strict=True):
        scaled = [v / tf for v in values]
        bars = bottom.bar(x, scaled, bottom=base, width=0.7, color=color, label=label,
                          gid=label, edgecolor="white", linewidth=0.4, zorder=2)
        for bar, r in zip(bars, results, strict=True):
            if not r.ok:
                bar.set_alpha(0.35)
        base = [b + v for b, v in zip(base, scaled, strict=True)]
    if local.feasible:
        bottom.axhline(local.total_s / tf, color="#555555", linestyle="--", linewidth=1.4,
                       label=f"everything on {sweep.device.name} (MTL-Local): "
                             f"{format_seconds(local.total_s)}", gid="MTL-Local")
    if sweep.slo_s is not None:
        bottom.axhline(sweep.slo_s / tf, color="#b30000", linestyle="-.", linewidth=1.4,
                       label=f"latency limit (SLO): {format_seconds(sweep.slo_s)}", gid="SLO")
    bottom.set_ylabel(f"latency per inference ({tu})", fontsize=10.5)
    marks = [*base, local.total_s / tf if local.feasible else 0.0,
             sweep.slo_s / tf if sweep.slo_s is not None else 0.0]
    bottom.set_ylim(0, max(marks) * 1.3)
    none = sweep.best_index is None
    bottom.legend(loc="upper left", fontsize=9.5, ncols=2, framealpha=0.92,
                  title="no cut meets every constraint" if none else None,
                  title_fontproperties={"weight": "bold", "size": 10.5} if none else None)

    best = sweep.best_index
    if best is not None:
        for ax in (top, bottom):
            ax.axvspan(best - 0.48, best + 0.48, color="#fff2b3", zorder=0, gid="best")
        s = results[best].scenario
        bottom.annotate(
            f"best ({sweep.objective}): {names[best]}\n{format_seconds(s.total_s)}, "
            f"{format_bytes(s.payload_bytes)} sent",
            xy=(best, s.total_s / tf), xytext=(0, 14), textcoords="offset points",
            ha="center", va="bottom", fontsize=9.5, fontweight="bold", gid="best cut",
            arrowprops={"arrowstyle": "-", "color": "#444444"},
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "#fff2b3", "edgecolor": "#c9a800"})

    step = max(1, math.ceil(n / 45))
    bottom.set_xticks(x[::step], names[::step], rotation=50, ha="right",
                      rotation_mode="anchor", fontsize=9.5)
    if best is not None and best % step == 0:
        bottom.get_xticklabels()[best // step].set_fontweight("bold")
    bottom.set_xlim(-0.6, n - 0.4)
    bottom.set_xlabel("cut: the network is split after this point (execution order; 'input' "
                      "sends the input, as RoC)", fontsize=10.5)
    for ax in (top, bottom, mem_ax):
        ax.tick_params(labelsize=9.5)
    top.grid(True, axis="y", color="#ececec", zorder=0)
    bottom.grid(True, axis="y", color="#ececec", zorder=0)
    classes = [t.classes for t in sweep.tasks]
    fig.suptitle(
        f"Every cut of {sweep.profile.name}: payload, edge memory and latency\n"
        f"{_tasks_text(classes)}; {sweep.device.name} {ARROW} {sweep.link.name} "
        f"({format_rate(sweep.link.bandwidth_bps)}, RTT {format_seconds(sweep.link.rtt_s)}) "
        f"{ARROW} {sweep.server.name}; batch {sweep.profile.batch}", fontsize=12)
    return fig


# --- fleet -------------------------------------------------------------------------------------


def fleet_figure(plan: Plan) -> Any:
    """Fleet size against one server's utilisation for each scenario that uses a server."""
    report = plan.report
    served = [(i, r) for i, r in enumerate(plan.rows) if r.server_load_per_device > 0]
    caps = [r.max_devices_per_server for _, r in served if r.max_devices_per_server]
    hi_m = max([plan.devices * 4, *(c * 4 for c in caps)])
    grid = [hi_m ** (k / 200) for k in range(201)]  # 1 .. hi_m devices
    top = max([200.0, *(r.server_load_per_device * hi_m * 100 for _, r in served)])
    low = min([r.server_load_per_device * 100 for _, r in served], default=1.0)

    fig = _figure(11, 7.2)
    ax = fig.add_subplot()
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(grid[0], grid[-1])
    ax.set_ylim(max(low / 2, 1e-3), top * 1.5)
    ax.axhline(100, color="#b30000", linewidth=1.6, linestyle="--", zorder=2,
               label="100%: one server's compute saturated", gid="saturation")
    ax.axvline(plan.devices, color="#333333", linewidth=1.4, zorder=2,
               label=f"planned fleet: {plan.devices:,} devices at {plan.fps:g} "
                     f"inference{'s' if plan.fps != 1 else ''}/s each",
               gid="planned")
    heaviest = max((r.server_load_per_device for _, r in served), default=0.0)
    for i, row in served:
        color = PALETTE[i % len(PALETTE)]
        load = row.server_load_per_device
        cap = row.max_devices_per_server
        bound = row.server_binding
        if row.servers_needed is None:
            outcome = "the server's memory does not hold it"
        else:
            outcome = (f"{row.servers_needed} server{'s' if row.servers_needed != 1 else ''} "
                       f"for {plan.devices:,} devices")
            if cap:
                outcome += f" (max {cap:,} per server, bound by {bound})"
        label = f"{row.name}: {outcome}"
        if not row.device_ok:
            label += f"; but {_device_note(row)}"
        style: dict[str, Any] = ({"linestyle": "-"} if row.device_ok else
                                 {"linestyle": (0, (5, 3)), "alpha": 0.6})
        ax.plot(grid, [m * load * 100 for m in grid], color=color, linewidth=2.2, label=label,
                zorder=3, gid=f"fleet:{row.name}", **style)
        ax.plot([plan.devices], [plan.devices * load * 100], "o", color=color, markersize=6,
                zorder=4)
        if cap:
            at = cap * load * 100
            ax.plot([cap], [at], marker="D", markersize=7, markerfacecolor="white",
                    markeredgecolor=color, markeredgewidth=1.8, zorder=5)
            # Each line rises to the right through its marker; lines of heavier scenarios lie
            # up and to the left, lighter ones down and to the right. The heaviest is labelled
            # above-left of its marker, the others below-right.
            room_in = math.log(grid[-1] / cap) / math.log(grid[-1]) * 10.0  # to the right edge
            left = (load == heaviest and len(served) > 1) or room_in < 1.6
            ax.annotate(f"{row.name}: max {cap:,}\ndevices per server", xy=(cap, at),
                        xytext=(-7, 7) if left else (7, -7), textcoords="offset points",
                        ha="right" if left else "left", va="bottom" if left else "top",
                        fontsize=9.5, color="#222222", gid="max devices", zorder=6,
                        bbox={"boxstyle": "round,pad=0.2", "facecolor": "white",
                              "edgecolor": color, "alpha": 0.9})
    ax.xaxis.set_major_formatter(_formatter(lambda v: f"{v:,.0f}"))
    ax.yaxis.set_major_formatter(_formatter(_percent))
    ax.grid(True, which="major", color="#e4e4e4", linewidth=0.8)
    ax.tick_params(labelsize=10)
    ax.set_xlabel("fleet size: edge devices sharing one server (log scale)", fontsize=11)
    ax.set_ylabel(f"compute utilisation of one {report.server.name} (%, log scale)",
                  fontsize=11)
    classes = [t.classes for t in report.tasks]
    ax.set_title(
        f"Fleet size against server utilisation: {report.backbone.name}, "
        f"{_tasks_text(classes)}\n{report.device.name} {ARROW} {report.link.name} {ARROW} "
        f"{report.server.name}; payload {report.payload.label}, server ingress "
        f"{format_rate(plan.ingress_bps)}", fontsize=12)
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    for r in plan.rows:  # the scenarios without a server, said in words
        if r.server_load_per_device <= 0:
            handles.append(Line2D([], [], linestyle="none"))
            labels.append(f"{r.name}: no server, everything on the device; {_device_note(r)}")
    fig.legend(handles, labels, loc="outside lower left", fontsize=9.5, frameon=False,
               ncols=1)
    return fig


def _percent(v: float) -> str:
    return f"{v:,.0f}%" if v >= 1 else f"{v:.2g}%"


def _device_note(row: Any) -> str:
    """Whether each device keeps up at the planned rate, and how busy its busiest part is."""
    from splitcost.studies.plan import Resource

    busy = {Resource.EDGE_COMPUTE: row.edge_utilisation, Resource.UPLINK: row.uplink_utilisation}
    share = busy.get(row.device_binding)
    load = f" {share * 100:,.0f}% busy" if share is not None and math.isfinite(share) else ""
    verb = "each device keeps up" if row.device_ok else "devices cannot keep up"
    return f"{verb} ({row.device_binding}{load})"


# --- writing -----------------------------------------------------------------------------------


def figure_of(result: Any) -> Any:
    """The figure a result has: latency for a report, every cut for a sweep, the fleet for a
    plan."""
    from splitcost.studies.compare import Report
    from splitcost.studies.plan import Plan
    from splitcost.studies.sweep import Sweep

    if isinstance(result, Report):
        return latency_figure(result)
    if isinstance(result, Sweep):
        return sweep_figure(result)
    if isinstance(result, Plan):
        return fleet_figure(result)
    raise InputError(f"no figure for a {type(result).__name__}")


def require_matplotlib() -> None:
    """Fail early, in one line, when matplotlib is not installed (without importing it)."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise InputError(MISSING)


def check_path(path: str | os.PathLike[str], parameter: str = "path") -> Path:
    """The path a figure will be written to: ``.png`` or ``.svg``, in a folder that exists.
    ``parameter`` names it in the error."""
    target = Path(path)
    if target.suffix.lower() not in FORMATS:
        raise InputError(f"expected a file name ending in .png or .svg, got {str(path)!r}",
                         parameter=parameter)
    parent = target.parent
    if not parent.is_dir():
        raise InputError(f"folder {str(parent)!r} does not exist", parameter=parameter)
    if target.is_dir():
        raise InputError(f"{str(path)!r} is a folder", parameter=parameter)
    return target


def save(fig: Any, path: str | os.PathLike[str]) -> None:
    """Write ``fig`` to ``path`` as PNG or SVG (by extension), atomically: a temporary file in
    the same folder, then ``os.replace``. Nothing else is written."""
    target = check_path(path)
    fmt = target.suffix.lower().lstrip(".")
    options: dict[str, Any] = {"format": fmt}
    if fmt == "png":
        options.update(dpi=150, metadata={"Software": "splitcost"})
    else:
        options.update(metadata={"Date": None, "Creator": "splitcost"})
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            fig.savefig(out, **options)
        # mkstemp makes the file private (0600); give it the mode a new file would get.
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


__all__ = ["check_path", "envelope_changes", "figure_of", "fleet_figure", "latency_figure",
           "require_matplotlib", "save", "sweep_figure"]
