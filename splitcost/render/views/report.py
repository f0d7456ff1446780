"""The report's views: the scenario table with its context, verdict and notes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from splitcost.kinds import ConstraintKind, MemoryModel
from splitcost.render.cells import band_cell, band_notes, fits_cell, memory_cell
from splitcost.render.explain import MEMORY_MODEL_SENTENCES, energy_basis
from splitcost.render.grid import Grid, device_line, link_line
from splitcost.render.registry import RenderOptions
from splitcost.render.verdicts import report_verdict
from splitcost.render.views.common import register
from splitcost.units import format_bytes, format_count, format_energy, format_seconds, format_shape

if TYPE_CHECKING:
    from splitcost.studies.compare import RawInputNote, Report

KIND = "splitcost.studies.compare:Report"

COLUMNS = ("name", "feasible", "binding", "memory_model", "edge_memory_bytes",
           "server_memory_bytes", "payload_bytes", "edge_s", "transfer_s", "server_s", "total_s",
           "images", "images_total_s")


def raw_input_line(note: RawInputNote | None) -> tuple[str, ...]:
    if note is None:
        return ()
    return (f"The raw input as uint8 pixels ({note.raw_bytes:,} bytes) is smaller than Z_b as "
            f"{note.zb_encoding} ({note.zb_bytes:,} bytes): RoC with --input-dtype uint8 sends "
            "less than MTL-Split.",)


def overhead_lines(r: Report) -> tuple[str, ...]:
    """Cite the runtime overhead the inference model adds per process on each device."""
    if r.memory_model is not MemoryModel.INFERENCE:
        return ()
    out = []
    for d in (r.device, r.server):
        src = d.sources.get("memory.runtime_overhead")
        cite = f" ({src.kind}: {src.ref})" if src else ""
        out.append(f"Runtime overhead counted per process on {d.name}: "
                   f"{format_bytes(d.runtime_overhead)}{cite}")
    return tuple(out)


def report_grid(r: Report, options: RenderOptions | None = None) -> Grid:
    bb = r.backbone
    k = r.images
    scale = f" for {k} inferences" if k > 1 else " per inference"
    banded = any(s.band for s in r.scenarios)
    rows = []
    for s in r.scenarios:
        rows.append((
            s.name,
            fits_cell(s),
            memory_cell(s, ConstraintKind.EDGE_MEMORY),
            memory_cell(s, ConstraintKind.SERVER_MEMORY),
            format_bytes(s.payload_bytes) if s.payload_bytes else "-",
            format_seconds(s.edge_s * k),
            format_seconds(s.transfer_s * k),
            format_seconds(s.server_s * k),
            format_seconds(s.total_s * k),
            format_energy(s.energy.total_j * k) if s.energy else "-",
            *((band_cell(s, k),) if banded else ()),
        ))
    heads = r.heads[0]
    classes = ",".join(str(t.classes) for t in r.tasks)
    context = (
        f"Backbone: {bb.backbone.requested} = {bb.backbone.rule}; {format_count(bb.params)} "
        f"params, {format_count(bb.macs)} MACs per batch",
        f"Input: {format_shape(bb.input_shape)} {bb.input.dtype} ({format_bytes(bb.input_bytes)}), "
        f"batch {bb.batch}, precision {bb.dtype}; Z_b {format_shape(bb.zb_shape)} = "
        f"{format_bytes(bb.zb_bytes)} flattened",
        f"Tasks: {len(r.tasks)} (classes {classes}); each head "
        f"{heads.input.shape[0]}->{r.hidden}->classes, {format_count(heads.params)} params",
        device_line("Edge", r.device),
        device_line("Server", r.server),
        f"Link: {link_line(r.link)}; Z_b sent as {r.payload.label}, RoC input as "
        f"{r.input.label}",
        f"Memory model: {MEMORY_MODEL_SENTENCES[r.memory_model]}",
    )
    notes = (
        *raw_input_line(r.raw_input), *overhead_lines(r),
        f"Memory: % of the device's usable memory. Times{scale}: edge compute + transfer "
        "(RTT + payload up + results back) + server compute; compute from a per-operator "
        "roofline of the device profile.",
        "Units: kB/MB/GB = 10^3/10^6/10^9 bytes; link rates in bits per second.",
        *band_notes(r.scenarios),
        energy_basis(r.device, r.link),
    )
    return Grid(
        title=f"splitcost report: {bb.backbone.requested}, {len(r.tasks)} tasks, "
        f"{r.device.name} -> {r.link.name} -> {r.server.name}",
        columns=("Scenario", "Fits", "Edge memory", "Server memory", "Payload", "Edge",
                 "Transfer", "Server", "Total", "Edge energy",
                 *(("Likely range",) if banded else ())),
        rows=tuple(rows),
        context=context,
        notes=notes,
        right=(2, 3, 4, 5, 6, 7, 8, 9, 10),
        dim_rows=tuple(i for i, s in enumerate(r.scenarios) if not s.feasible),
        bold_rows=tuple(i for i, s in enumerate(r.scenarios) if s.name == r.best),
        verdict=report_verdict(r),
    )


def _rows(r: Report) -> list[dict[str, Any]]:
    return [s.to_dict() for s in r.scenarios]


register(KIND, "report", report_grid, (COLUMNS, _rows))
