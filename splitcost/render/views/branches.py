"""The joint branch x cut sweep's views: the front of layouts, the cheapest and the most
task-specific one that meets every limit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from splitcost.kinds import ConstraintKind
from splitcost.render.cells import memory_cell
from splitcost.render.explain import MEMORY_MODEL_SENTENCES
from splitcost.render.grid import Grid, device_line, link_line
from splitcost.render.registry import RenderOptions
from splitcost.render.verdicts import branch_verdict, violation
from splitcost.render.views.common import register
from splitcost.units import format_bytes, format_count, format_seconds, format_shape

if TYPE_CHECKING:
    from splitcost.studies.branches import BranchSweep

KIND = "splitcost.studies.branches:BranchSweep"

COLUMNS = ("branch", "branch_op", "cut", "scenario", "tail_params", "shared_macs",
           "payload_bytes", "payload_tensors", "edge_macs", "server_macs", "edge_memory_bytes",
           "server_memory_bytes", "edge_s", "transfer_s", "server_s", "total_s",
           "edge_energy_j", "feasible", "meets_constraints")


def branches_grid(sw: BranchSweep, options: RenderOptions | None = None) -> Grid:
    bb = sw.profile
    pr = sw.request
    shown = sorted(set(sw.pareto) | {i for i in (sw.best_index, sw.most_specific_index)
                                     if i is not None},
                   key=lambda i: (-sw.results[i].tail_params, sw.results[i].scenario.total_s))
    rows = []
    for i in shown:
        r = sw.results[i]
        s = r.scenario
        marks = [m for m, on in (("best", i == sw.best_index),
                                 ("most specific", i == sw.most_specific_index),
                                 ("front", i in sw.pareto)) if on]
        rows.append((
            r.branch.name,
            "all on edge" if r.cut is None else r.cut.name,
            ", ".join(marks),
            format_count(r.tail_params) if r.tail_params else "-",
            (f"{format_bytes(s.payload_bytes)} ({len(s.payload_tensors)})"
             if s.payload_bytes else "-"),
            memory_cell(s, ConstraintKind.EDGE_MEMORY) if s.edge_memory else "-",
            format_seconds(s.edge_s),
            format_seconds(s.transfer_s),
            format_seconds(s.server_s),
            format_seconds(s.total_s),
            "yes" if r.ok else "no: " + "; ".join(violation(v) for v in r.violations),
        ))
    limits = []
    if sw.slo_s is not None:
        limits.append(f"SLO {format_seconds(sw.slo_s)}")
    if sw.max_payload_bytes is not None:
        limits.append(f"max payload {format_bytes(sw.max_payload_bytes)}")
    context = (
        f"Backbone: {bb.backbone.requested} = {bb.backbone.rule}; input "
        f"{format_shape(bb.input_shape)} {bb.input.dtype}, batch {bb.batch}, precision {bb.dtype}; "
        f"{format_count(bb.params)} params",
        f"Tasks: {len(pr.tasks)}; {len(sw.branches)} branch points x "
        f"{len(sw.results) // max(len(sw.branches), 1)} placements (every cut, and all on the "
        f"edge); objective: {sw.objective}"
        + (f"; constraints: {', '.join(limits)}" if limits else ""),
        device_line("Edge", pr.device),
        device_line("Server", pr.server),
        f"Link: {link_line(pr.link)}; cut tensors sent as {pr.payload.label}",
        f"Memory model: {MEMORY_MODEL_SENTENCES[pr.memory_model]}",
    )
    notes = (
        f"Shown: the {len(sw.pareto)} layouts on the front of {len(sw.results)}, those that "
        "meet every constraint: for each amount of sharing, the fastest (the cost model cannot "
        "price accuracy; each task's own layers are what branching buys). Every layout is in "
        "--format json or csv.",
        "Branch: the cut after which each task runs its own copy of the backbone (input: N "
        "single-task networks; output: one shared backbone, the paper's). Own params: each "
        "task's copy of the backbone after the branch. Payload (tensors): a cut past the "
        "branch sends one tensor per task.",
    )
    return Grid(
        title=f"splitcost sweep --branches: {bb.backbone.requested}, {len(pr.tasks)} tasks, "
        f"{pr.device.name} -> {pr.link.name} -> {pr.server.name}",
        columns=("Branch", "Cut", "Mark", "Own params", "Payload (tensors)", "Edge memory",
                 "Edge", "Transfer", "Server", "Total", "Meets"),
        rows=tuple(rows),
        context=context,
        notes=notes,
        right=(3, 4, 5, 6, 7, 8, 9),
        dim_rows=tuple(k for k, i in enumerate(shown) if not sw.results[i].ok),
        bold_rows=tuple(k for k, i in enumerate(shown) if i == sw.best_index),
        verdict=branch_verdict(sw),
    )


def _rows(sw: BranchSweep) -> list[dict[str, Any]]:
    return [r.to_dict() for r in sw.results]


def summary(sw: BranchSweep) -> str:
    best = sw.best
    chosen = "no layout meets every constraint" if best is None else (
        f"best: branch '{best.branch.name}', "
        + ("all on the edge" if best.cut is None else f"cut '{best.cut.name}'"))
    return (f"{sw.profile.backbone.requested}, {len(sw.request.tasks)} tasks, "
            f"{len(sw.results)} layouts: {chosen}")


register(KIND, "branch-sweep", branches_grid, (COLUMNS, _rows), summary)
