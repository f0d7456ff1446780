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

KIND = "splitcost.network.profile:Profile"

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


def profile_grid(p: Profile, options: RenderOptions | None = None) -> Grid:
    depth = (options or RenderOptions()).depth
    rows = []
    for m in p.modules:
        if m.depth > depth:
            continue
        rows.append((
            "  " * (m.depth - 1) + m.path,
            m.type,
            format_shape(m.output_shape) if m.output_shape is not None else "-",
            format_count(m.params) if m.params else "-",
            format_count(m.macs) if m.macs else "-",
            format_bytes(m.peak_live_bytes),
            format_bytes(m.payload_bytes),
        ))
    t = p.memory.torchinfo
    inf = p.memory.inference
    context = (
        f"Backbone: {p.backbone.requested} = {p.backbone.rule}; built on {p.built}",
        f"Input: {inputs_text(p)} ({format_bytes(p.input_bytes)}), "
        f"batch {p.batch}, precision {p.dtype}",
    )
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
    return Grid(
        title=f"splitcost profile: {p.backbone.requested}",
        columns=("Module", "Type", "Output shape", "Params", "MACs", "Peak live",
                 "Payload if cut after"),
        rows=tuple(rows),
        context=context,
        notes=notes,
        right=(3, 4, 5, 6),
    )


def _rows(p: Profile) -> list[dict[str, Any]]:
    return [m.to_dict() for m in p.modules]


def summary(p: Profile) -> str:
    return (f"{p.name} {format_shape(p.input_shape)} {p.dtype}: {format_count(p.params)} params, "
            f"{format_count(p.macs)} MACs, {len(p.modules)} modules, Z_b "
            f"{format_shape(p.zb_shape)} = {format_bytes(p.zb_bytes)}")


register(KIND, "profile", profile_grid, (COLUMNS, _rows), summary)
