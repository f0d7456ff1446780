"""The report's views: the scenario table with its context, verdict and notes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from splitcost.kinds import ConstraintKind, MemoryModel, ScenarioKind
from splitcost.render.cells import band_cell, band_notes, fits_cell, memory_cell
from splitcost.render.explain import MEMORY_MODEL_SENTENCES, energy_basis, sharing_lines
from splitcost.render.grid import Grid, compute_lines, device_line, link_line
from splitcost.render.registry import RenderOptions
from splitcost.render.sources import citation_lines, overhead_citations, overhead_line
from splitcost.render.verdicts import report_verdict
from splitcost.render.views.common import register
from splitcost.render.views.profile import inputs_text, zb_short
from splitcost.units import format_bytes, format_count, format_energy, format_seconds

if TYPE_CHECKING:
    from splitcost.pricing.scenarios import Scenario
    from splitcost.studies.compare import RawInputNote, Report

KIND = "splitcost.studies.compare:Report"

COLUMNS = ("name", "feasible", "binding", "memory_model", "edge_memory_bytes",
           "server_memory_bytes", "payload_bytes", "edge_s", "transfer_s", "server_s", "total_s",
           "likely_low_s", "likely_high_s", "edge_energy_j", "images", "images_total_s")


def raw_input_line(note: RawInputNote | None) -> tuple[str, ...]:
    if note is None:
        return ()
    return (f"The raw input as uint8 pixels ({note.raw_bytes:,} bytes) is smaller than Z_b as "
            f"{note.zb_encoding} ({note.zb_bytes:,} bytes): RoC with --input-dtype uint8 sends "
            "less than MTL-Split.",)


def overhead_lines(r: Report, sources: bool = False) -> tuple[str, ...]:
    """The runtime overhead the inference model adds per process on each device: one line, or
    with ``sources`` each device's citation."""
    if r.memory_model is not MemoryModel.INFERENCE:
        return ()
    devices = (r.device, r.server)
    return overhead_citations(devices) if sources else (overhead_line(devices),)


def best_cut_line(r: Report) -> tuple[str, ...]:
    """When a cut beats MTL-Split on this link: which, by how much, and how to see it."""
    cut = r.best_cut
    names = {s.name for s in r.scenarios}
    zb = next((s for s in r.scenarios if s.kind is ScenarioKind.MTL_SPLIT), None)
    if cut is None or zb is None or cut.name in names or cut.total_s >= zb.total_s:
        return ()
    k = r.images
    return (f"Best cut on this link: '{cut.cut}', {format_seconds(cut.total_s * k)} against "
            f"{format_seconds(zb.total_s * k)} for MTL-Split (payload "
            f"{format_bytes(cut.payload_bytes)}, edge memory "
            f"{format_bytes(cut.edge_memory_bytes)}); add --cut {cut.cut} to price it here "
            "(cuts=[...] in the API), or see every cut with 'splitcost sweep'.",)


# Report columns, by importance: names and fits, the total, memory, the likely range, the payload,
# the parts of the total (shown together or not at all), energy.
REPORT_PRIORITY = (0, 1, 8, 2, 3, 10, 4, (5, 6, 7), 9)


def report_grid(r: Report, options: RenderOptions | None = None) -> Grid:
    options = options or RenderOptions()
    bb = r.backbone
    k = r.images
    scale = f" for {k} inferences" if k > 1 else " per inference"
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
            band_cell(s, k),
        ))
    heads = r.heads[0]
    classes = ",".join(str(t.classes) for t in r.tasks)
    context = (
        f"Backbone: {bb.backbone.requested} = {bb.backbone.rule}; {format_count(bb.params)} "
        f"params, {format_count(bb.macs)} MACs per batch",
        f"Input: {inputs_text(bb)} ({format_bytes(bb.input_bytes)}), "
        f"batch {bb.batch}, precision {bb.dtype}; Z_b {zb_short(bb)} flattened",
        f"Tasks: {len(r.tasks)} (classes {classes}); each head "
        f"{heads.input.shape[0]}->{r.hidden}->classes, {format_count(heads.params)} params",
        device_line("Edge", r.device),
        device_line("Server", r.server),
        *sharing_lines(r.request),
        f"Link: {link_line(r.link)}; Z_b sent as {r.payload.label}, RoC input as "
        f"{r.input.label}",
        f"Memory model: {MEMORY_MODEL_SENTENCES[r.memory_model]}",
        *compute_lines(r.request),
    )
    notes = (
        *best_cut_line(r),
        *raw_input_line(r.raw_input), *overhead_lines(r, options.sources),
        f"Memory: % of the device's usable memory. Times{scale}: edge compute + transfer "
        "(RTT + payload up + results back) + server compute; compute from a roofline per "
        f"kernel of each device profile's {r.request.runtime} section"
        + (" (one kernel per PyTorch operator; on a GPU the host issues them while earlier "
           "ones run)." if r.request.runtime == "eager" else " (its fused kernels)."),
        "Units: kB/MB/GB = 10^3/10^6/10^9 bytes; link rates in bits per second.",
        *band_notes(r.scenarios),
        energy_basis(r.device, r.link),
        *(citation_lines((r.device, r.server), (r.link,)) if options.sources else ()),
    )
    return Grid(
        title=f"splitcost report: {bb.backbone.requested}, {len(r.tasks)} tasks, "
        f"{r.device.name} -> {r.link.name} -> {r.server.name}",
        columns=("Scenario", "Fits", "Edge memory", "Server memory", "Payload", "Edge",
                 "Transfer", "Server", "Total", "Edge energy", "Likely range"),
        rows=tuple(rows),
        context=context,
        notes=notes,
        right=(2, 3, 4, 5, 6, 7, 8, 9, 10),
        dim_rows=tuple(i for i, s in enumerate(r.scenarios) if not s.feasible),
        bold_rows=tuple(i for i, s in enumerate(r.scenarios) if s.name == r.best),
        verdict=report_verdict(r),
        priority=REPORT_PRIORITY,
        essential=5,
        blocks_below=100,
    )


def scenario_row(s: Scenario) -> dict[str, Any]:
    """A scenario's dict with its likely range and energy flattened (CSV, DataFrame)."""
    return {**s.to_dict(), "likely_low_s": s.band.low_s if s.band else None,
            "likely_high_s": s.band.high_s if s.band else None,
            "edge_energy_j": s.energy.total_j if s.energy else None}


def _rows(r: Report) -> list[dict[str, Any]]:
    return [scenario_row(s) for s in r.scenarios]


def summary(r: Report) -> str:
    best = (f"{r.best} {format_seconds(r.verdict.best_total_s)}"
            if r.best and r.verdict.best_total_s is not None else "nothing fits")
    return (f"{r.backbone.name}, {len(r.tasks)} tasks, {r.device.name} -> {r.link.name} -> "
            f"{r.server.name}: {best}")


register(KIND, "report", report_grid, (COLUMNS, _rows), summary)
