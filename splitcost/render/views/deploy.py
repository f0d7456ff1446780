"""The views of ``splitcost measure`` and ``splitcost export``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from splitcost.render.grid import Grid, link_line
from splitcost.render.registry import RenderOptions
from splitcost.render.views.common import register

if TYPE_CHECKING:
    from splitcost.deploy.export import ExportResult
    from splitcost.deploy.measurement.results import MeasureResult

MEASURE = "splitcost.deploy.measurement.results:MeasureResult"
EXPORT = "splitcost.deploy.export:ExportResult"


def measure_grid(r: MeasureResult) -> Grid:
    from splitcost.units import format_bytes, format_seconds, format_shape

    rows = []
    for phase in ("edge", "serialise", "transfer", "server", "total"):
        m, p = r.measured[phase], r.predicted[phase]
        ratio = "-" if p is None or m.median_s <= 0 else f"{p / m.median_s:.2f}"
        rows.append((phase, format_seconds(m.median_s), format_seconds(m.p95_s),
                     "-" if p is None else format_seconds(p), ratio))
    tensors = ", ".join(f"{n} {format_shape(s)}" for n, s in r.payload_tensors)
    cfg = r.config
    where = "loopback, server process started here" if r.spawned else "remote server"
    context = (
        f"Network: {cfg.backbone}, tasks {','.join(map(str, cfg.tasks))}, input "
        f"{format_shape(cfg.input_shape)}, cut {cfg.cut}, seed {cfg.seed}",
        f"Payload: {tensors} as {r.payload_dtype}: {format_bytes(r.payload_bytes)} predicted, "
        f"{format_bytes(r.frame_bytes)} frame on the wire; results frame "
        f"{format_bytes(r.result_frame_bytes)}",
        f"Server: {r.server} ({where}); edge device profile {r.device or '-'}, server "
        f"{r.server_device or '-'}",
        f"Link (prediction): {link_line(r.link)}",
        f"{r.images} images after {r.warmup} warm-up; outputs over the wire vs the eager "
        f"network: max |error| {r.max_abs_error:.3g}",
    )
    return Grid(
        title=f"splitcost measure: {cfg.backbone} split at {cfg.cut}, {r.payload_dtype} payload",
        columns=("Phase", "Measured median", "p95", "Predicted", "Predicted/measured"),
        rows=tuple(rows),
        context=context,
        notes=measure_notes(r),
        right=(1, 2, 3, 4),
    )


def measure_notes(r: MeasureResult) -> tuple[str, ...]:
    notes = ["serialisation is measured, not modelled: splitcost's prediction has no such term"]
    if r.link_probed and r.probe is not None:
        notes.append(f"link predicted from a probe of this connection (RTT "
                     f"{r.probe.rtt_s * 1e6:.0f} µs, {r.probe.bandwidth_bps / 1e9:.3g} Gbit/s)")
    if r.spawned:
        notes.append("loopback: the edge and the server processes share this machine")
    if r.predicted.get("total") is None:
        notes.append("no --device profile given: compute is not predicted (make one with "
                     "'splitcost calibrate')")
    return tuple(notes)


def export_grid(r: ExportResult) -> Grid:
    from splitcost.units import format_bytes

    m = r.manifest
    rows = tuple((name, format_bytes(Path(r.out_dir, name).stat().st_size)) for name in r.files)
    tensors = ", ".join(f"{t['name']} {'x'.join(map(str, t['shape']))} {t['dtype']}"
                        for t in m["payload"]["tensors"])
    return Grid(
        title=f"splitcost export: {m['backbone']} split at {m['cut']} -> {r.out_dir}",
        columns=("File", "Size"),
        rows=rows,
        context=(f"Payload: {tensors}; sent as {m['payload']['encoding']} "
                 f"({m['payload']['encoded_bytes_per_sample']:,} bytes per sample)",
                 f"Input: {'x'.join(map(str, m['input']['shape']))}, batch "
                 f"{m['input']['batch']}; torch {m['torch_version']}"),
        notes=export_notes(r),
        right=(1,),
    )


def export_notes(r: ExportResult) -> tuple[str, ...]:
    from splitcost.deploy.export import NoteKind

    lines = []
    if r.replaced:
        lines.append(f"replaced the earlier export in {r.out_dir} as a whole")
    for n in r.notes:
        if n.kind is NoteKind.BATCH_FIXED:
            lines.append(f"batch fixed at {n.batch}: a dynamic batch did not export "
                         f"({n.error_type})")
        elif n.kind is NoteKind.ONNX_NOT_INSTALLED:
            lines.append("ONNX: skipped: the onnx package is not installed (pip install "
                         "'splitcost[onnx]')")
        elif n.kind is NoteKind.ONNX_FAILED:
            lines.append(f"ONNX: export failed: {n.error_type}: {n.error}")
        elif n.kind is NoteKind.ONNX_NOT_ASKED:
            lines.append("ONNX: not asked")
    return tuple(lines)


def _measure(r: MeasureResult, options: RenderOptions) -> Grid:
    return measure_grid(r)


def _export(r: ExportResult, options: RenderOptions) -> Grid:
    return export_grid(r)


register(MEASURE, "measure", _measure)
register(EXPORT, "export", _export)
