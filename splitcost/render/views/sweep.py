"""The sweep's views: every cut with its payload, memory and latency, the best and the front."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from splitcost.kinds import ConstraintKind, Objective
from splitcost.render.cells import band_cell, band_notes, block_label, memory_cell, tensors_cell
from splitcost.render.explain import MEMORY_MODEL_SENTENCES, sharing_lines
from splitcost.render.grid import Grid, compute_lines, device_line, link_line
from splitcost.render.registry import RenderOptions
from splitcost.render.sources import citation_lines
from splitcost.render.verdicts import sweep_verdict, violation
from splitcost.render.views.common import register
from splitcost.render.views.report import raw_input_line
from splitcost.units import (
    format_bytes,
    format_count,
    format_energy,
    format_seconds,
    format_shape,
)

if TYPE_CHECKING:
    from splitcost.studies.sweep import Sweep

KIND = "splitcost.studies.sweep:Sweep"

COLUMNS = ("cut", "kind", "op", "payload_bytes", "payload_tensors", "edge_params",
           "edge_macs", "edge_memory_bytes", "server_memory_bytes", "edge_s", "transfer_s",
           "server_s", "total_s", "edge_energy_j", "feasible", "meets_constraints")


# The column each objective ranks by: always shown (high in the priority).
OBJECTIVE_COLUMN = {Objective.LATENCY: 10, Objective.EDGE_MEMORY: 5, Objective.PAYLOAD: 3,
                    Objective.ENERGY: 11}


def sweep_grid(sw: Sweep, options: RenderOptions | None = None) -> Grid:
    options = options or RenderOptions()
    bb = sw.profile
    # 'Meets' only when the user set a limit; without one, 'Fits' only when some cut does not.
    check = "Meets" if sw.constrained else (
        "Fits" if any(not r.ok for r in sw.results) else None)
    rows = []
    for i, r in enumerate(sw.results):
        s = r.scenario
        marks = ("best " if i == sw.best_index else "") + ("pareto" if i in sw.pareto else "")
        rows.append((
            r.cut.name,
            block_label(bb, r.cut),
            marks.strip() or "-",
            format_bytes(s.payload_bytes),
            tensors_cell([c.shape for c in r.cut.payload]),
            memory_cell(s, ConstraintKind.EDGE_MEMORY) if s.edge_memory else "-",
            format_count(r.cut.edge_macs) if r.cut.edge_macs else "-",
            format_seconds(s.edge_s),
            format_seconds(s.transfer_s),
            format_seconds(s.server_s),
            format_seconds(s.total_s),
            format_energy(s.energy.total_j) if s.energy else "-",
            band_cell(s),
            *(("yes" if r.ok else "no: " + "; ".join(violation(v) for v in r.violations),)
              if check else ()),
        ))
    limits = []
    if sw.slo_s is not None:
        limits.append(f"SLO {format_seconds(sw.slo_s)}")
    if sw.max_payload_bytes is not None:
        limits.append(f"max payload {format_bytes(sw.max_payload_bytes)}")
    root = bb.backbone.root
    context = (
        f"Backbone: {bb.backbone.requested} = {bb.backbone.rule}; input "
        f"{format_shape(bb.input_shape)} {bb.input.dtype}, batch {bb.batch}, precision {bb.dtype}",
        f"Tasks: {len(sw.request.tasks)} heads on the server; objective: {sw.objective}"
        + (f"; constraints: {', '.join(limits)}" if limits else ""),
        device_line("Edge", sw.device),
        device_line("Server", sw.server),
        *sharing_lines(sw.request),
        f"Link: {link_line(sw.link)}",
        f"Memory model: {MEMORY_MODEL_SENTENCES[sw.request.memory_model]}",
        *compute_lines(sw.request),
    )
    local = sw.local
    local_band = f", likely {band_cell(local)}" if local.band else ""
    notes = (
        *raw_input_line(sw.raw_input),
        f"Everything on {sw.device.name} (MTL-Local): {format_seconds(local.total_s)}"
        f"{local_band}, {format_bytes(local.edge_memory_bytes)}"
        + ("" if local.feasible else " (does not fit)"),
        "A cut after a module sends every tensor produced before it and read after it (a skip "
        "connection crosses too). 'input' is RoC, 'output' is MTL-Split's Z_b. Times per "
        "inference; memory % of usable; energy on the edge per inference.",
        *((f"Cuts are module paths inside model.{root}: --cut takes them as shown or as the "
           f"model's own path ({root}.{sw.results[min(1, len(sw.results) - 1)].cut.name}).",)
          if root else ()),
        *band_notes([r.scenario for r in sw.results]),
        *(citation_lines((sw.device, sw.server), (sw.link,)) if options.sources else ()),
        *_penalty_note(sw),
    )
    objective = OBJECTIVE_COLUMN[sw.objective]
    meets = (13,) if check else ()
    return Grid(
        title=f"splitcost sweep: {bb.backbone.requested}, {sw.device.name} -> {sw.link.name} -> "
        f"{sw.server.name}",
        columns=("Cut", "Block", "Mark", "Payload", "Tensors crossing", "Edge memory",
                 "Edge MACs", "Edge", "Transfer", "Server", "Total", "Edge energy",
                 "Likely range", *((check,) if check else ())),
        rows=tuple(rows),
        context=context,
        notes=notes,
        right=(3, 5, 6, 7, 8, 9, 10, 11, 12),
        keep=(0, 1, 2),
        dim_rows=tuple(i for i, r in enumerate(sw.results) if not r.ok),
        bold_rows=() if sw.best_index is None else (sw.best_index,),
        verdict=sweep_verdict(sw),
        priority=tuple(dict.fromkeys((0, objective, 10, *meets, 3, 5, 12, 2, 1, (7, 8, 9), 11,
                                      4, 6))),
        essential=2 + len(meets),
    )


def _rows(sw: Sweep) -> list[dict[str, Any]]:
    return [r.to_dict() for r in sw.results]


def summary(sw: Sweep) -> str:
    best = sw.best_result
    chosen = (f"best cut for {sw.objective} '{best.cut.name}' "
              f"{format_seconds(best.scenario.total_s)}" if best else "no cut meets every "
              "constraint")
    return (f"{sw.profile.name}, {len(sw.results)} cuts, {sw.device.name} -> {sw.link.name} -> "
            f"{sw.server.name}: {chosen}")


register(KIND, "sweep", sweep_grid, (COLUMNS, _rows), summary)


def _penalty_note(sw: Sweep) -> tuple[str, ...]:
    split = [(r.cut.name, r.scenario.fusion_penalty_s) for r in sw.results
             if r.scenario.fusion_penalty_s > 0]
    if not split:
        return ()
    shown = ", ".join(f"{name} +{format_seconds(s)}" for name, s in split[:8])
    more = f" and {len(split) - 8} more" if len(split) > 8 else ""
    return (f"Fusion penalty of the cuts that split a fused kernel (one more launch; the tensor "
            f"between the parts written and read; on {sw.device.name}, included in the times): "
            f"{shown}{more}",)
