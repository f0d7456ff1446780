"""Figures: latency against uplink bandwidth, every cut, and a fleet against one server.

Each function takes a result (a :class:`~splitcost.studies.compare.Report`, a
:class:`~splitcost.studies.sweep.Sweep` or a :class:`~splitcost.studies.plan.Plan`) and returns a
``matplotlib.figure.Figure`` built directly, never through ``pyplot``: nothing global is touched
and nothing is shown; :func:`figure` picks a result's figure. :func:`save` writes PNG, SVG or
PDF. The sweep, fleet, tail and explore figures live in their own modules, re-exported here.
matplotlib is imported inside the functions, so importing this module costs nothing and
splitcost runs without it.

Every figure carries its units in the axis labels (bytes in kB/MB/GB = 10^3/10^6/10^9, link rates
in bits per second, times per inference) and says in its title which backbone, tasks, device,
link and server it is about.
"""

from __future__ import annotations

import itertools
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from splitcost.errors import InputError
from splitcost.render._figure import (
    ARROW,
    MISSING,
    PALETTE,
    axis_seconds,
    formatter,
    new_figure,
    tasks_text,
)
from splitcost.render.plot_explore import explore_figure
from splitcost.render.plot_fleet import fleet_figure
from splitcost.render.plot_sweep import sweep_figure
from splitcost.render.plot_tail import tail_figure
from splitcost.units import format_rate, format_seconds

if TYPE_CHECKING:
    from splitcost.studies.compare import Report

FORMATS = (".png", ".svg", ".pdf")

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
    from splitcost.kinds import Parameter
    from splitcost.pricing.band import band_lines
    from splitcost.pricing.breakeven import latency_line

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

    fig = new_figure(11, 6.2)
    ax = fig.add_subplot()
    ax.set_xscale("log")
    ax.set_yscale("log")

    # The fastest that fits, as a wide pale band under the scenario lines.
    if feasible:
        best = [min(f + s / b for _, f, s in feasible) for b in grid]
        ax.plot(grid, best, color="#cfcfcf", linewidth=9, solid_capstyle="butt", zorder=1,
                label="fastest that fits", gid="envelope")
    every: list[float] = []
    banded = False
    for i, (s, fixed, slope) in enumerate(lines):
        y = [fixed + slope / b for b in grid]
        every.extend(v for v in (y[0], y[-1]) if v > 0)
        where = "on the edge" if slope == 0 else "over the link"
        color = PALETTE[i % len(PALETTE)]
        band = band_lines(report.device, report.server, link, s.edge_s, s.server_s, s.transfer)
        if band is not None and s.feasible:
            (f_lo, s_lo), (f_hi, s_hi) = band
            ax.fill_between(grid, [f_lo + s_lo / b for b in grid],
                            [f_hi + s_hi / b for b in grid], color=color, alpha=0.13,
                            linewidth=0, zorder=2, gid=f"band:{s.name}")
            banded = True
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

    if banded:
        ax.fill_between([], [], [], color="#777777", alpha=0.25, linewidth=0,
                        label=f"likely range ({_band_basis(report)})")
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

    ax.xaxis.set_major_formatter(formatter(lambda v: format_rate(v, 2)))
    ax.yaxis.set_major_formatter(formatter(axis_seconds))
    if math.log10(high / low) <= 4:  # few decades: label 2x and 5x too
        from matplotlib.ticker import LogLocator

        ax.yaxis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
        ax.yaxis.set_minor_formatter(formatter(axis_seconds))
        ax.tick_params(axis="y", which="minor", labelsize=8.5, labelcolor="#555555")
    ax.tick_params(labelsize=10)
    ax.grid(True, which="major", color="#e4e4e4", linewidth=0.8)
    ax.set_xlabel(f"uplink bandwidth (bit/s, log scale; RTT {format_seconds(link.rtt_s)} and "
                  f"efficiency {link.efficiency:g} as in {link.name})", fontsize=11)
    batch = report.backbone.batch
    per = "per inference" if batch == 1 else f"per inference (one batch of {batch})"
    ax.set_ylabel(f"end-to-end latency {per}, log scale", fontsize=11)
    classes = [t.classes for t in report.tasks]
    fig.suptitle(
        f"Latency against uplink bandwidth: {report.backbone.name}, {tasks_text(classes)}\n"
        f"{report.device.name} {ARROW} {link.name} {ARROW} {report.server.name}; payload "
        f"{report.payload.label}, RoC input {report.input.label}, {report.memory_model} "
        "memory model", fontsize=12)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=10, frameon=False,
              title="scenario", title_fontsize=10, alignment="left")
    return fig


def _band_basis(report: Report) -> str:
    """``jetson-nano-4gb compute +/-25%``: what the shaded ranges are made of."""
    from splitcost.render.explain import band_basis

    # Each device's error once, however many scenarios it is part of.
    parts = dict.fromkeys(part for s in report.scenarios if s.band and s.feasible
                          for part in band_basis(s.band).split("; "))
    return "; ".join(parts)


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


# --- writing -----------------------------------------------------------------------------------


def figure(result: Any) -> Any:
    """The figure a result has: latency against bandwidth for a report, every cut for a sweep,
    servers against fleet size for a plan, latency against ImageNet accuracy for an explore."""
    from splitcost.studies.compare import Report
    from splitcost.studies.explore import Explore
    from splitcost.studies.plan import Plan
    from splitcost.studies.sweep import Sweep

    if isinstance(result, Report):
        return latency_figure(result)
    if isinstance(result, Sweep):
        return sweep_figure(result)
    if isinstance(result, Plan):
        return fleet_figure(result)
    if isinstance(result, Explore):
        return explore_figure(result)
    raise InputError(f"no figure for a {type(result).__name__}")


figure_of = figure  # the name the command line used first


def require_matplotlib() -> None:
    """Fail early, in one line, when matplotlib is not installed (without importing it)."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise InputError(MISSING)


def check_path(path: str | os.PathLike[str], parameter: str = "path") -> Path:
    """The path a figure will be written to: ``.png``, ``.svg`` or ``.pdf``, in a folder that
    exists.
    ``parameter`` names it in the error."""
    target = Path(path)
    if target.suffix.lower() not in FORMATS:
        raise InputError(f"expected a file name ending in .png, .svg or .pdf, got {str(path)!r}",
                         parameter=parameter)
    parent = target.parent
    if not parent.is_dir():
        raise InputError(f"folder {str(parent)!r} does not exist", parameter=parameter)
    if target.is_dir():
        raise InputError(f"{str(path)!r} is a folder", parameter=parameter)
    try:  # really create a file there: permission bits say little to root or on a read-only mount
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise InputError(f"cannot write into {str(parent)!r}: {e.strerror or e}",
                         parameter=parameter) from None
    return target


def save(fig: Any, path: str | os.PathLike[str]) -> None:
    """Write ``fig`` to ``path`` as PNG, SVG or PDF (by extension), atomically and with the mode
    a new file gets under the umask (:mod:`splitcost._files`). Nothing else is written."""
    from splitcost._files import atomic_open

    target = check_path(path)
    fmt = target.suffix.lower().lstrip(".")
    options: dict[str, Any] = {"format": fmt}
    if fmt == "png":
        options.update(dpi=150, metadata={"Software": "splitcost"})
    elif fmt == "svg":
        options.update(metadata={"Date": None, "Creator": "splitcost"})
    else:
        options.update(metadata={"CreationDate": None, "Creator": "splitcost"})
    with atomic_open(target, "wb") as out:
        fig.savefig(out, **options)


def save_figure(fig: Any, path: str | os.PathLike[str]) -> None:
    """:func:`save`, under the name the package exports."""
    save(fig, path)


__all__ = ["MISSING", "check_path", "envelope_changes", "explore_figure", "figure", "figure_of",
           "fleet_figure", "latency_figure", "require_matplotlib", "save", "save_figure",
           "sweep_figure", "tail_figure"]
