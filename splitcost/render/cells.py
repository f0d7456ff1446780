"""Formatted cells shared by the rich table and the Markdown renderers.

One place decides how each figure is written (units explicit: MB = 10^6 bytes, rates in bit/s),
so that the terminal table and the Markdown table always agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from splitcost.units import (
    format_bytes,
    format_count,
    format_energy,
    format_rate,
    format_seconds,
    format_shape,
)

if TYPE_CHECKING:
    from splitcost.cost import Scenario
    from splitcost.paper import PaperResult
    from splitcost.plan import Plan
    from splitcost.profiles import Device, Link
    from splitcost.profiling import Profile
    from splitcost.report import Report
    from splitcost.sweep import Sweep


@dataclass(frozen=True)
class Grid:
    """A titled table of strings, with lines of context before and notes after."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    context: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    right: tuple[int, ...] = ()  # columns aligned right (numbers)
    keep: tuple[int, ...] = (0,)  # columns never wrapped (names)
    dim_rows: tuple[int, ...] = ()  # rows shown dimmed (infeasible)
    bold_rows: tuple[int, ...] = ()  # rows shown bold (recommended)


def link_line(link: Link) -> str:
    if link.ideal:
        return f"{link.name} = {format_rate(link.bandwidth_bps)}, ideal (efficiency 1, RTT 0)"
    return (f"{link.name}: {format_rate(link.bandwidth_bps)} uplink x efficiency "
            f"{link.efficiency:g}, RTT {format_seconds(link.rtt_s)}")


def device_line(role: str, d: Device) -> str:
    return (f"{role}: {d.name} ({d.title}): {format_bytes(d.memory_usable)} usable of "
            f"{format_bytes(d.memory_total)}, runtime {format_bytes(d.runtime_overhead)} per "
            f"process")


def _memory_cell(s: Scenario, side: str) -> str:
    mem = s.edge_memory if side == "edge" else s.server_memory
    if mem is None:
        return "-"
    for c in s.constraints:
        if c.name.startswith(side):
            pct = 100 * c.needed / c.available
            return f"{format_bytes(mem.total_bytes)} ({pct:.0f}%)"
    return format_bytes(mem.total_bytes)


def _fits_cell(s: Scenario) -> str:
    if s.feasible:
        return "yes"
    return f"no ({s.binding.split()[0]})"


def _overhead_lines(r: Report) -> tuple[str, ...]:
    """Cite the runtime overhead the inference model adds per process on each device."""
    if r.memory_model != "inference":
        return ()
    out = []
    for d in (r.device, r.server):
        src = d.sources.get("memory.runtime_overhead")
        cite = f" ({src.kind}: {src.ref})" if src else ""
        out.append(f"Runtime overhead counted per process on {d.name}: "
                   f"{format_bytes(d.runtime_overhead)}{cite}")
    return tuple(out)


def _band_cell(s: Scenario, k: int = 1) -> str:
    if s.band is None:
        return "-"
    return f"{format_seconds(s.band.low_s * k)} - {format_seconds(s.band.high_s * k)}"


def _band_notes(scenarios: Sequence[Scenario]) -> tuple[str, ...]:
    bases = sorted({s.band.basis for s in scenarios if s.band})
    if not bases:
        return ("Latency: the devices' profiles carry no validated error band for the latency "
                "model; treat compute times as estimates.",)
    return (f"Likely range: {'; '.join(bases)}.",)


def _energy_notes(r: Report) -> tuple[str, ...]:
    d, lk = r.device, r.link
    if d.power_active_w is None:
        return ("Edge energy: the device profile gives no power figures.",)
    idle = f" + {d.power_idle_w:g} W idle x waiting" if d.power_idle_w is not None else ""
    if lk.energy is None:
        radio = f"no radio energy model for {lk.name}"
    else:
        radio = (f"{lk.name} radio {lk.energy.per_bit_j * 1e9:g} nJ/bit + "
                 f"{lk.energy.base_power_w:g} W while sending")
        if lk.energy.tail_j:
            radio += (f"; a {format_energy(lk.energy.tail_j)} tail after a burst from idle is "
                      "not included (back-to-back inferences share it)")
    return (f"Edge energy per inference: {d.power_active_w:g} W active x edge compute{idle} "
            f"+ radio ({radio}).",)


def report_grid(r: Report) -> Grid:
    from splitcost.memory import MEMORY_MODEL_SENTENCES

    bb = r.backbone
    k = r.images
    scale = f" for {k} inferences" if k > 1 else " per inference"
    banded = any(s.band for s in r.scenarios)
    rows = []
    for s in r.scenarios:
        rows.append(
            (
                s.name,
                _fits_cell(s),
                _memory_cell(s, "edge"),
                _memory_cell(s, "server"),
                format_bytes(s.payload_bytes) if s.payload_bytes else "-",
                format_seconds(s.edge_s * k),
                format_seconds(s.transfer_s * k),
                format_seconds(s.server_s * k),
                format_seconds(s.total_s * k),
                format_energy(s.energy.total_j * k) if s.energy else "-",
                *((_band_cell(s, k),) if banded else ()),
            )
        )
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
    notes = (*r.notes, *_overhead_lines(r),
        f"Memory: % of the device's usable memory. Times{scale}: edge compute + transfer "
        "(RTT + payload up + results back) + server compute; compute from a per-operator "
        "roofline of the device profile.",
        "Units: kB/MB/GB = 10^3/10^6/10^9 bytes; link rates in bits per second.",
    )
    best = [i for i, s in enumerate(r.scenarios) if s.name == r.best]
    dim = [i for i, s in enumerate(r.scenarios) if not s.feasible]
    return Grid(
        title=f"splitcost report: {bb.backbone.requested}, {len(r.tasks)} tasks, "
        f"{r.device.name} -> {r.link.name} -> {r.server.name}",
        columns=("Scenario", "Fits", "Edge memory", "Server memory", "Payload", "Edge",
                 "Transfer", "Server", "Total", "Edge energy",
                 *(("Likely range",) if banded else ())),
        rows=tuple(rows),
        context=context,
        notes=(*notes, *_band_notes(r.scenarios), *_energy_notes(r)),
        right=(2, 3, 4, 5, 6, 7, 8, 9, 10),
        dim_rows=tuple(dim),
        bold_rows=tuple(best),
    )


def _tensors_cell(shapes: list[tuple[int, ...]]) -> str:
    if not shapes:
        return "-"
    text = " + ".join(format_shape(s) for s in shapes[:3])
    return text + (f" + {len(shapes) - 3} more" if len(shapes) > 3 else "")


def sweep_grid(sw: Sweep) -> Grid:
    from splitcost.memory import MEMORY_MODEL_SENTENCES

    bb = sw.profile
    rows = []
    for i, r in enumerate(sw.results):
        s = r.scenario
        marks = ("best " if i == sw.best else "") + ("pareto" if i in sw.pareto else "")
        rows.append(
            (
                r.cut.name,
                marks.strip() or "-",
                format_bytes(s.payload_bytes),
                _tensors_cell([c.shape for c in r.cut.payload]),
                _memory_cell(s, "edge") if s.edge_memory else "-",
                format_count(r.cut.edge_macs) if r.cut.edge_macs else "-",
                format_seconds(s.edge_s),
                format_seconds(s.transfer_s),
                format_seconds(s.server_s),
                format_seconds(s.total_s),
                _band_cell(s),
                "yes" if r.ok else "no: " + "; ".join(r.violations),
            )
        )
    limits = []
    if sw.slo_s is not None:
        limits.append(f"SLO {format_seconds(sw.slo_s)}")
    if sw.max_payload_bytes is not None:
        limits.append(f"max payload {format_bytes(sw.max_payload_bytes)}")
    context = (
        f"Backbone: {bb.backbone.requested} = {bb.backbone.rule}; input "
        f"{format_shape(bb.input_shape)} {bb.input.dtype}, batch {bb.batch}, precision {bb.dtype}",
        f"Tasks: {len(sw.tasks)} heads on the server; objective: {sw.objective}"
        + (f"; constraints: {', '.join(limits)}" if limits else ""),
        device_line("Edge", sw.device),
        device_line("Server", sw.server),
        f"Link: {link_line(sw.link)}",
        f"Memory model: {MEMORY_MODEL_SENTENCES[sw.memory_model]}",
    )
    local = sw.local
    notes = (
        *sw.notes,
        f"Everything on {sw.device.name} (MTL-Local): {format_seconds(local.total_s)}, "
        f"{format_bytes(local.edge_memory_bytes)}"
        + ("" if local.feasible else " (does not fit)"),
        "A cut after a module sends every tensor produced before it and read after it (a skip "
        "connection crosses too). 'input' is RoC. Times per inference; memory % of usable.",
    )
    return Grid(
        title=f"splitcost sweep: {bb.backbone.requested}, {sw.device.name} -> {sw.link.name} -> "
        f"{sw.server.name}",
        columns=("Cut", "Mark", "Payload", "Tensors crossing", "Edge memory", "Edge MACs",
                 "Edge", "Transfer", "Server", "Total", "Likely range", "Meets"),
        rows=tuple(rows),
        context=context,
        notes=(*notes, *_band_notes([r.scenario for r in sw.results])),
        right=(2, 4, 5, 6, 7, 8, 9, 10),
        dim_rows=tuple(i for i, r in enumerate(sw.results) if not r.ok),
        bold_rows=() if sw.best is None else (sw.best,),
    )


def _training_line(p: Profile) -> tuple[str, ...]:
    tr = p.memory.training
    if tr is None:
        return ()
    what = "frozen " + ", ".join(f or "everything" for f in tr.frozen) if tr.frozen else (
        "every parameter trains")
    return (
        f"Memory, training ({tr.optimizer}, {what}): {format_bytes(tr.total_bytes)} = params "
        f"{format_bytes(tr.params_bytes)} + grads {format_bytes(tr.grads_bytes)} + optimizer "
        f"state {format_bytes(tr.optimizer_bytes)} + activations saved for backward "
        f"{format_bytes(tr.saved_activation_bytes)} (measured): one training step",
    )


def profile_grid(p: Profile, depth: int = 1) -> Grid:
    rows = []
    for m in p.modules:
        if m.depth > depth:
            continue
        rows.append(
            (
                "  " * (m.depth - 1) + m.path,
                m.type,
                format_shape(m.output_shape) if m.output_shape is not None else "-",
                format_count(m.params) if m.params else "-",
                format_count(m.macs) if m.macs else "-",
                format_bytes(m.peak_live_bytes),
                format_bytes(m.payload_bytes),
            )
        )
    t = p.memory.torchinfo
    inf = p.memory.inference
    context = (
        f"Backbone: {p.backbone.requested} = {p.backbone.rule}; built on {p.built}",
        f"Input: {format_shape(p.input_shape)} {p.input.dtype} ({format_bytes(p.input_bytes)}), "
        f"batch {p.batch}, precision {p.dtype}",
    )
    notes: tuple[str, ...] = (
        f"Totals: {p.params:,} params ({format_bytes(p.param_bytes)}), buffers "
        f"{format_bytes(p.buffer_bytes)}; {p.macs:,} MACs = {p.flops:,} FLOPs (2 x MACs), "
        f"+ {format_count(p.vector_flops)} vector FLOPs (pointwise, norms, pooling)",
        f"Z_b (output): {format_shape(p.zb_shape)} {p.zb_dtype} = {p.zb_bytes:,} bytes flattened",
        f"Memory, inference: {format_bytes(inf.total_bytes)} = peak live activations "
        f"{format_bytes(inf.peak_activation_bytes)} (at {inf.peak_module or 'the input'}) + "
        f"params {format_bytes(inf.params_bytes)} + buffers {format_bytes(inf.buffers_bytes)}: "
        "what one eager forward pass holds at its worst moment",
        *_training_line(p),
        f"Memory, torchinfo 1.8.0: {t.total_bytes / 1e6:,.2f} MB = input "
        f"{t.input_bytes / 1e6:,.2f} + forward/backward pass {t.forward_backward_bytes / 1e6:,.2f}"
        f" + params {t.params_bytes / 1e6:,.2f} MB: torchinfo's estimate (2 x outputs of leaf "
        "layers with parameters), a training heuristic, as the paper reported it",
        "Payload: bytes crossing a cut right after the module (every storage produced before "
        "and read after it). Units: kB/MB/GB = 10^3/10^6/10^9 bytes; counts include the batch.",
    )
    if p.fallback_ops:
        notes += (f"Ran on CPU tensors (no meta kernel): {', '.join(p.fallback_ops)}",)
    if p.unsupported_ops:
        notes += (f"Operators without a FLOP formula (counted as memory traffic only): "
                  f"{', '.join(p.unsupported_ops)}",)
    return Grid(
        title=f"splitcost profile: {p.backbone.requested}",
        columns=("Module", "Type", "Output shape", "Params", "MACs", "Peak live",
                 "Payload if cut after"),
        rows=tuple(rows),
        context=context,
        notes=(*notes, *p.notes),
        right=(3, 4, 5, 6),
    )


def devices_grid(devices: list[Device]) -> Grid:
    rows = tuple(
        (
            d.name,
            d.role,
            format_bytes(d.memory_total),
            format_bytes(d.memory_usable),
            format_bytes(d.runtime_overhead),
            " / ".join(f"{k} {format_count(v)}FLOP/s" for k, v in d.peak_flops.items()),
            f"{format_bytes(d.memory_bandwidth)}/s",
            d.summary,
        )
        for d in devices
    )
    return Grid(
        title="Devices",
        columns=("Name", "Role", "Memory", "Usable", "Runtime/process", "Peak", "Bandwidth",
                 "Summary"),
        rows=rows,
        notes=("Every figure's source is in the profile file ([sources]); "
               "'splitcost devices --format json' lists them.",),
        right=(2, 3, 4),
    )


def links_grid(links: list[Link]) -> Grid:
    rows = tuple(
        (
            lk.name,
            format_rate(lk.bandwidth_bps),
            f"{lk.efficiency:g}",
            format_rate(lk.goodput_bps),
            format_seconds(lk.rtt_s),
            lk.summary,
        )
        for lk in links
    )
    return Grid(
        title="Links",
        columns=("Name", "Uplink", "Efficiency", "Goodput", "RTT", "Summary"),
        rows=rows,
        notes=("A bare rate such as --link 1gbps is an ideal link: efficiency 1, RTT 0.",),
        right=(1, 2, 3, 4),
    )


def paper_grid(result: PaperResult) -> Grid:
    rows = tuple(
        (r.section, r.quantity, r.model, r.paper, r.splitcost, r.status, r.note)
        for r in result.rows
    )
    return Grid(
        title="The MTL-Split paper (DAC 2024), Table 4 and Sec. 4.2, beside splitcost",
        columns=("Where", "Quantity", "Backbone", "Paper", "splitcost", "Status", "Why"),
        rows=rows,
        context=(f"Configuration: {result.config}",),
        notes=("Status: exact = same digits; reproduced = same quantity measured; paper's "
               "arithmetic = follows from the paper's printed figures; not reproduced = no "
               "reading of the setup gives the printed value.",),
        keep=(0, 1, 2, 3),
    )


def _pct(x: float) -> str:
    return "-" if x == 0 else ("inf" if x == float("inf") else f"{100 * x:.0f}%")


def plan_grid(pl: Plan) -> Grid:
    r = pl.report
    rows = []
    for row in pl.rows:
        rows.append(
            (
                row.name,
                "yes" if row.device_ok else f"no ({row.device_binding})",
                format_seconds(row.latency_s),
                f"{row.pipelined_fps:.3g}/s",
                _pct(row.edge_utilisation),
                _pct(row.uplink_utilisation),
                _pct(row.server_utilisation),
                format_rate(row.ingress_bps) if row.ingress_bps else "-",
                format_bytes(row.server_memory_bytes) if row.server_memory_bytes else "-",
                "-" if row.servers_needed == 0 else str(row.max_devices_per_server or "any"),
                "none" if row.servers_needed is None else str(row.servers_needed),
                row.binding,
            )
        )
    context = (
        f"Fleet: {pl.devices} x {r.device.name} at {pl.fps:g} inferences/s each, over "
        f"{link_line(r.link)}",
        f"Servers: {r.server.name}, ingress {format_rate(pl.ingress_bps)} per server, "
        f"{pl.concurrency} batch(es) in flight; backbone {r.backbone.backbone.requested}, "
        f"{len(r.tasks)} tasks, Z_b sent as {r.payload.label}, RoC input as {r.input.label}",
    )
    notes = (
        "Edge/uplink: one device's utilisation (F x time per inference, F x payload bits / "
        "goodput); server: utilisation of one server at the whole fleet (above 100% means "
        "more servers). Pipelined rate: 1 / slowest of edge compute, uplink, server compute.",
    )
    return Grid(
        title=f"splitcost plan: {pl.devices} devices at {pl.fps:g}/s",
        columns=("Scenario", "Device keeps up", "Latency", "Pipelined", "Edge", "Uplink",
                 "Server", "Ingress", "Server memory", "Devices/server", "Servers", "Binding"),
        rows=tuple(rows),
        context=context,
        notes=notes,
        right=(2, 3, 4, 5, 6, 7, 8, 9, 10),
        bold_rows=tuple(i for i, row in enumerate(pl.rows) if row.name == pl.best),
        dim_rows=tuple(i for i, row in enumerate(pl.rows) if not row.device_ok),
    )
