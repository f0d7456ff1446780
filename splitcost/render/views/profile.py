"""The profile's views: per module, output shape, parameters, MACs, peak live bytes and the
payload of a cut after it; the totals and the memory models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from splitcost.render.grid import Grid
from splitcost.render.registry import RenderOptions
from splitcost.render.views.common import register
from splitcost.units import format_bytes, format_count, format_shape

if TYPE_CHECKING:
    from splitcost.network.profile import Profile
    from splitcost.pricing.latency import Latency

KIND = "splitcost.network.profile:Profile"
LATENCY_KIND = "splitcost.pricing.latency:Latency"

COLUMNS = ("path", "type", "depth", "output_shape", "params", "macs", "flops", "payload_bytes")


def _training_line(p: Profile) -> tuple[str, ...]:
    if p.training_error is not None:
        return (f"Memory, training: not measured: {p.training_error}",)
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


def _latency_line(r: Latency) -> str:
    from splitcost.units import format_seconds

    d = r.device
    band = "" if r.latency_error is None else (
        f" (likely {format_seconds(r.total_s * (1 - r.latency_error))} to "
        f"{format_seconds(r.total_s * (1 + r.latency_error))}, the profile's validated "
        f"±{100 * r.latency_error:.0f}%)")
    how = ("host issues kernels while the device computes" if r.overlap else
           "launch and compute add up")
    native = "" if r.native else (
        f"; {d.name} has no {r.precision} arithmetic: priced at its FP32 rate")
    unit = "operators" if r.runtime == "eager" else "fused kernels"
    return (f"Latency on {d.name} ({r.runtime}, {r.precision}, batch {r.profile.batch}): "
            f"{format_seconds(r.total_s)}{band}; {r.kernels} {unit}, {how}{native}")


def inputs_text(p: Profile) -> str:
    """``1x3x224x224 float32``, or every input of a network that takes several."""
    return ", ".join(f"{format_shape((p.batch, *i.shape))} {i.dtype}" for i in p.input.all)


def zb_line(p: Profile) -> str:
    """Z_b with a label per tensor: a backbone may return several, some on one storage."""
    tensors = p.zb_tensors
    if len(tensors) <= 1:
        return (f"Z_b (output): {format_shape(p.zb_shape)} {p.zb_dtype} = {p.zb_bytes:,} bytes "
                "flattened")
    parts = []
    for i, t in enumerate(tensors):
        size = (f"{t.nbytes:,} B" if t.shares_with is None else
                f"a view of #{t.shares_with + 1}'s storage")
        parts.append(f"#{i + 1} {format_shape(t.shape)} {t.dtype} ({size})")
    storages = sum(1 for t in tensors if t.shares_with is None)
    return (f"Z_b (output): {len(tensors)} tensors on {storages} storage"
            f"{'s' if storages != 1 else ''} = {p.zb_bytes:,} bytes flattened, each storage sent "
            f"once: {', '.join(parts)}")


def zb_short(p: Profile) -> str:
    """``1x1280x7x7 = 251 kB`` or ``3 tensors = 230 kB``, for the reports' input line."""
    from splitcost.units import format_bytes as fb

    if len(p.zb_tensors) <= 1:
        return f"{format_shape(p.zb_shape)} = {fb(p.zb_bytes)}"
    shapes = ", ".join(format_shape(t.shape) for t in p.zb_tensors[:4])
    more = ", ..." if len(p.zb_tensors) > 4 else ""
    return f"{len(p.zb_tensors)} tensors ({shapes}{more}) = {fb(p.zb_bytes)}"


def profile_grid(p: Profile, options: RenderOptions | None = None,
                 latency: Latency | None = None) -> Grid:
    from splitcost.units import format_seconds

    depth = (options or RenderOptions()).depth
    rows = []
    for i, m in enumerate(p.modules):
        if m.depth > depth:
            continue
        row: tuple[str, ...] = (
            "  " * (m.depth - 1) + m.path,
            m.type,
            format_shape(m.output_shape) if m.output_shape is not None else "-",
            format_count(m.params) if m.params else "-",
            format_count(m.macs) if m.macs else "-",
            format_bytes(m.peak_live_bytes),
            format_bytes(m.payload_bytes),
        )
        if latency is not None:
            row += (format_seconds(latency.module_s[i]),)
        rows.append(row)
    t = p.memory.torchinfo
    inf = p.memory.inference
    context: tuple[str, ...] = (
        f"Backbone: {p.backbone.requested} = {p.backbone.rule}; built on {p.built}",
        f"Input: {inputs_text(p)} ({format_bytes(p.input_bytes)}), "
        f"batch {p.batch}, precision {p.dtype}",
    )
    if latency is not None:
        context += (_latency_line(latency),)
    notes: tuple[str, ...] = (
        f"Totals: {p.params:,} params ({format_bytes(p.param_bytes)}), buffers "
        f"{format_bytes(p.buffer_bytes)}; {p.macs:,} MACs = {p.flops:,} FLOPs (2 x MACs), "
        f"+ {format_count(p.vector_flops)} vector FLOPs (pointwise, norms, pooling)",
        zb_line(p),
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
    columns: tuple[str, ...] = ("Module", "Type", "Output shape", "Params", "MACs", "Peak live",
                                "Payload if cut after")
    if latency is not None:
        columns += ("Time",)
        notes += ("Time: the module's share of the predicted latency (its kernels' launch and "
                  "compute); the top-level rows add up to the total.",)
    return Grid(
        title=f"splitcost profile: {p.backbone.requested}",
        columns=columns,
        rows=tuple(rows),
        context=context,
        notes=notes,
        right=(3, 4, 5, 6, 7) if latency is not None else (3, 4, 5, 6),
    )


def _rows(p: Profile) -> list[dict[str, Any]]:
    return [m.to_dict() for m in p.modules]


def summary(p: Profile) -> str:
    return (f"{p.name} {format_shape(p.input_shape)} {p.dtype}: {format_count(p.params)} params, "
            f"{format_count(p.macs)} MACs, {len(p.modules)} modules, Z_b "
            f"{format_shape(p.zb_shape)} = {format_bytes(p.zb_bytes)}")


def latency_grid(r: Latency, options: RenderOptions | None = None) -> Grid:
    return profile_grid(r.profile, options, r)


def _latency_rows(r: Latency) -> list[dict[str, Any]]:
    return list(r.to_dict()["modules"])


def latency_summary(r: Latency) -> str:
    from splitcost.units import format_seconds

    return f"{summary(r.profile)}; {format_seconds(r.total_s)} on {r.device.name} ({r.runtime})"


register(KIND, "profile", profile_grid, (COLUMNS, _rows), summary)
register(LATENCY_KIND, "profile", latency_grid, ((*COLUMNS, "time_s"), _latency_rows),
         latency_summary)
