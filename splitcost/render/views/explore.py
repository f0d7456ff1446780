"""The explore views: configurations ranked, those that miss the SLO and why, the Pareto front
of latency, edge memory and ImageNet accuracy, and the one-line answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from splitcost.hardware.device import Device
from splitcost.hardware.link import Link
from splitcost.kinds import ConstraintKind, ScenarioKind
from splitcost.render.cells import span_text
from splitcost.render.grid import Grid
from splitcost.render.registry import RenderOptions
from splitcost.render.sources import citation_lines
from splitcost.render.verdicts import violation
from splitcost.render.views.common import register
from splitcost.units import format_bytes, format_seconds, format_shape

if TYPE_CHECKING:
    from splitcost.studies.explore import Configuration, Explore, Option

KIND = "splitcost.studies.explore:Explore"

COLUMNS = ("rank", "backbone", "device", "link", "tasks", "scenario", "kind", "cut", "feasible",
           "meets_slo", "best", "pareto", "total_s", "edge_s", "transfer_s", "server_s",
           "edge_memory_bytes", "server_memory_bytes", "payload_bytes", "edge_energy_j",
           "binding", "imagenet_top1", "imagenet_weights", "backbone_params", "backbone_macs")

SCENARIOS = (ScenarioKind.LOC, ScenarioKind.MTL_LOCAL, ScenarioKind.ROC, ScenarioKind.MTL_SPLIT)

TOP1_NOTE = ("ImageNet top-1: torchvision's published validation accuracy of the pretrained "
             "classifier (its default weights, at their crop size), from the weights' metadata: "
             "how good the backbone's features are on ImageNet, not the accuracy on your tasks; "
             "'-' where torchvision has no weights.")


def top1_cell(c: Configuration) -> str:
    return "-" if c.accuracy is None else f"{c.accuracy.top1:.1f}%"


def option_cell(o: Option | None, slo_s: float | None) -> str:
    """``52.7 ms``; ``147 ms > SLO`` when it fits but misses the SLO; ``no (edge)`` when it
    does not fit."""
    if o is None:
        return "-"
    if not o.feasible:
        kind = o.binding.value.split()[0] if o.binding else "memory"
        return f"no ({kind})"
    text = format_seconds(o.total_s)
    return f"{text} > SLO" if slo_s is not None and o.total_s > slo_s else text


def _range(o: Option | None) -> str:
    if o is None or o.band_low_s is None or o.band_high_s is None:
        return "-"
    return span_text(o.band_low_s, o.band_high_s)


def straddles(o: Option | None, slo_s: float | None) -> bool:
    """Whether an option meets the SLO but its likely range reaches past it."""
    return (o is not None and slo_s is not None and o.band_high_s is not None
            and o.total_s <= slo_s < o.band_high_s)


def _varies(ex: Explore) -> tuple[bool, bool, bool]:
    configs = ex.configurations
    return (len({c.device for c in configs}) > 1, len({c.link for c in configs}) > 1,
            len({c.tasks for c in configs}) > 1)


def _tasks_text(c: Configuration) -> str:
    classes = {t.classes for t in c.tasks}
    n = len(c.tasks)
    return str(n) if classes == {10} else f"{n} ({','.join(str(t.classes) for t in c.tasks)})"


def _key_cells(ex: Explore, c: Configuration) -> tuple[str, ...]:
    device, link, tasks = _varies(ex)
    return (*((c.device,) if device else ()), *((c.link,) if link else ()),
            *((_tasks_text(c),) if tasks else ()))


def _key_columns(ex: Explore) -> tuple[str, ...]:
    device, link, tasks = _varies(ex)
    return (*(("Device",) if device else ()), *(("Link",) if link else ()),
            *(("Tasks",) if tasks else ()))


def ranked_grid(ex: Explore, options: RenderOptions) -> Grid:
    shown = ex.passing if ex.slo_s is not None else ex.configurations
    keys = _key_columns(ex)
    rows = []
    for c in shown:
        best = c.best_option or c.fastest_fit
        cut = c.best_cut
        rows.append((
            c.backbone,
            top1_cell(c),
            *_key_cells(ex, c),
            best.scenario if best else "-",
            format_seconds(best.total_s) if best else "-",
            _range(best),
            format_bytes(best.edge_memory_bytes) if best and best.edge_memory_bytes else "-",
            *(option_cell(c.option(k.value), ex.slo_s) for k in SCENARIOS),
            f"'{cut.cut}' {option_cell(cut, ex.slo_s)}" if cut else "-",
        ))
    k = len(keys)
    # backbone, top-1, [keys], best, total, range, edge memory, LoC.., best cut
    best_col = 2 + k
    first_scenario = best_col + 4
    context = _context(ex)
    notes = (
        *(_straddle_notes(ex)),
        "Best: the fastest option that fits" + (" and meets the SLO" if ex.slo_s else "")
        + "; its latency per inference, likely range and edge memory. Per scenario: its "
        "latency, 'no (edge)' or 'no (server)' when it does not fit that device's memory"
        + (", '> SLO' when it fits but misses the limit" if ex.slo_s else "")
        + ". Best cut: the fastest split at a block boundary that fits.",
        TOP1_NOTE,
        *(f"Skipped {s.backbone}: {s.error}" for s in ex.skipped),
        *(_citations(ex) if options.sources else ()),
    )
    title = "splitcost explore: " + (
        f"{len(shown)} of {len(ex.configurations)} configurations meet the "
        f"{format_seconds(ex.slo_s)} SLO" if ex.slo_s is not None
        else f"{len(ex.configurations)} configurations, fastest first")
    return Grid(
        title=title,
        columns=("Backbone", "ImageNet top-1", *keys, "Best", "Total", "Likely range",
                 "Edge memory", "LoC", "MTL-Local", "RoC", "MTL-Split", "Best cut"),
        rows=tuple(rows),
        context=context,
        notes=notes,
        right=(1, best_col + 1, best_col + 2, best_col + 3,
               *range(first_scenario, first_scenario + 4)),
        keep=(0, *range(2, 2 + k), best_col, first_scenario + 4),
        bold_rows=(0,) if rows and ex.best is not None else (),
        priority=(0, best_col, best_col + 1, 1, *range(2, 2 + k), best_col + 3, best_col + 2,
                  # MTL-Split, MTL-Local, RoC, the best cut, LoC
                  first_scenario + 3, first_scenario + 1, first_scenario + 2,
                  first_scenario + 4, first_scenario),
        essential=4 + k,
    )


def _context(ex: Explore) -> tuple[str, ...]:
    device, link, tasks = _varies(ex)
    first = ex.configurations[0]
    fixed = []
    if not device:
        fixed.append(f"edge device {first.device}")
    if not link:
        fixed.append(f"link {first.link}")
    if not tasks:
        fixed.append(f"{_tasks_text(first)} tasks")
    return (
        f"Backbones: {', '.join(dict.fromkeys(c.backbone for c in ex.configurations))}; input "
        f"{format_shape(ex.input_shape)}, precision {ex.precision}",
        "Each configuration: " + ", ".join([*fixed, f"server {ex.server}"])
        + f"; memory model {ex.memory_model}; Z_b sent as {ex.payload_encoding}, RoC input as "
        f"{ex.input_encoding}; heads {ex.hidden} wide",
    )


def _straddle_notes(ex: Explore) -> tuple[str, ...]:
    near = [(c, c.best_option) for c in ex.passing if straddles(c.best_option, ex.slo_s)]
    if not near or ex.slo_s is None:
        return ()
    names = "; ".join(f"{c.backbone} {o.scenario} {_range(o)}" for c, o in near if o)
    return (f"Likely range reaches past the {format_seconds(ex.slo_s)} SLO: {names} "
            "(measure these on the device).",)


def _why(c: Configuration, slo_s: float | None) -> str:
    fit = c.fastest_fit
    if fit is None:
        worst = [v for o in c.options for v in o.violations if v.kind is not ConstraintKind.SLO]
        return "nothing fits: " + (violation(worst[0]) if worst else "memory")
    parts = [f"fastest that fits: {fit.scenario} {format_seconds(fit.total_s)}"]
    if slo_s is not None:
        parts[0] += f" > {format_seconds(slo_s)}"
    return "; ".join(parts)


def failing_grid(ex: Explore) -> Grid:
    keys = _key_columns(ex)
    rows = tuple(
        (c.backbone, top1_cell(c), *_key_cells(ex, c), _why(c, ex.slo_s))
        for c in ex.failing)
    title = (f"Do not meet the {format_seconds(ex.slo_s)} SLO" if ex.slo_s is not None
             else "Nothing fits")
    return Grid(title=title, columns=("Backbone", "ImageNet top-1", *keys, "Why"),
                rows=rows, right=(1,), keep=(0, *range(2, 2 + len(keys))),
                dim_rows=tuple(range(len(rows))), essential=2)


def pareto_grid(ex: Explore) -> Grid:
    keys = _key_columns(ex)
    rows = []
    for i, name in ex.pareto:
        c = ex.configurations[i]
        o = c.option(name)
        if o is None:
            continue
        rows.append((c.backbone, *_key_cells(ex, c), o.scenario, format_seconds(o.total_s),
                     format_bytes(o.edge_memory_bytes) if o.edge_memory_bytes else "-",
                     top1_cell(c)))
    k = len(keys)
    return Grid(
        title="Pareto front of latency, edge memory and ImageNet top-1 (no option beats one of "
        "these in all three)",
        columns=("Backbone", *keys, "Scenario", "Total", "Edge memory", "ImageNet top-1"),
        rows=tuple(rows),
        right=(k + 2, k + 3, k + 4),
        keep=(0, *range(1, 2 + k)),
        essential=4 + k,
        verdict=explore_verdict(ex),
    )


def explore_verdict(ex: Explore) -> str:
    """The answer: how many meet, the fastest, the most accurate that meets."""
    passing = ex.passing
    limit = f" the {format_seconds(ex.slo_s)} SLO" if ex.slo_s is not None else " every constraint"
    if not passing:
        return f"No configuration meets{limit}; see why above."
    fastest = passing[0]
    o = fastest.best_option
    assert o is not None
    text = (f"{len(passing)} of {len(ex.configurations)} configurations meet{limit}; the "
            f"fastest: {_name(ex, fastest)} with {o.scenario} ({format_seconds(o.total_s)})")
    rated = [c for c in passing if c.imagenet_top1 is not None]
    if rated:
        top = max(rated, key=lambda c: (c.imagenet_top1 or 0.0, -(c.best_option.total_s
                                                                   if c.best_option else 0)))
        if top is not fastest:
            best = top.best_option
            assert best is not None
            text += (f"; the most accurate backbone on ImageNet-1k that meets it: "
                     f"{_name(ex, top)} ({top1_cell(top)} top-1, pretrained) with "
                     f"{best.scenario} ({format_seconds(best.total_s)})")
    return text + "."


def _name(ex: Explore, c: Configuration) -> str:
    extra = _key_cells(ex, c)
    return c.backbone + (f" ({', '.join(extra)})" if extra else "")


def _citations(ex: Explore) -> tuple[str, ...]:
    devices = [p for p in ex.profiles if isinstance(p, Device)]
    links = [p for p in ex.profiles if isinstance(p, Link)]
    return citation_lines(devices, links)


def explore_grids(ex: Explore, options: RenderOptions | None = None) -> Sequence[Grid]:
    options = options or RenderOptions()
    grids = [ranked_grid(ex, options)]
    if ex.failing:
        grids.append(failing_grid(ex))
    grids.append(pareto_grid(ex))
    return grids


def _rows(ex: Explore) -> list[dict[str, Any]]:
    return ex.rows()


def summary(ex: Explore) -> str:
    limit = f", {len(ex.passing)} meet {format_seconds(ex.slo_s)}" if ex.slo_s else ""
    return f"{len(ex.configurations)} configurations{limit}: best {ex.best or 'none'}"


register(KIND, "explore", explore_grids, (COLUMNS, _rows), summary)

__all__ = ["explore_grids", "explore_verdict"]
