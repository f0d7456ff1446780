"""Memory one side of a scenario needs, by part, under a named memory model. Bytes.

* ``inference``: the device's runtime overhead per process + the weights (params and buffers)
  the side reads + the peak of live activations while it runs;
* ``torchinfo``: torchinfo 1.8.0's totals over the leaf layers that run on the side.

Which parts were combined is data (:class:`MemoryLayout`); the sentence that explains it is the
renderers'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from splitcost.hardware.device import Device
from splitcost.kinds import MemoryModel, Processes
from splitcost.network.cuts import Cut
from splitcost.network.memory import torchinfo_part
from splitcost.network.profile import Profile
from splitcost.pricing.request import PricingRequest


class MemoryLayout(StrEnum):
    """What one side holds, in the words of the scenario."""

    SINGLE_TASK_NETWORKS = "single-task networks"  # LoC, one process, run one after another
    SINGLE_TASK_PROCESSES = "single-task processes"  # LoC, one process per task, at once
    MULTI_TASK_NETWORK = "multi-task network"  # MTL-Local: one backbone, N heads
    EDGE_PART = "edge part"  # a split's edge side: the backbone up to the cut
    SERVER_PART = "server part"  # a split's server side: the rest and the heads


@dataclass(frozen=True)
class MemoryBreakdown:
    """Memory one side needs, by part, under one memory model. Bytes."""

    model: MemoryModel
    layout: MemoryLayout
    processes: int
    runtime_overhead_bytes: int
    params_bytes: int
    buffers_bytes: int
    activations_bytes: int  # inference: peak live activations; torchinfo: input + fwd/bwd
    total_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _state(p: Profile) -> tuple[int, int]:
    inf = p.memory.inference
    return inf.params_bytes, inf.buffers_bytes


def heads_stage_peak(heads: Sequence[Profile]) -> int:
    """Peak live activations while the heads run one after another on a received Z_b.

    Each head's own peak includes its input (the flattened Z_b); the outputs of the heads
    already run stay alive until the network returns.
    """
    best, done = 0, 0
    for h in heads:
        best = max(best, h.memory.inference.peak_activation_bytes + done)
        done += h.zb_bytes
    return best


def network_peak(bb: Profile, heads: Sequence[Profile]) -> int:
    """Backbone then heads in one forward: the caller still holds the input during the heads."""
    return max(bb.memory.inference.peak_activation_bytes, bb.input_bytes + heads_stage_peak(heads))


def _inference(device: Device, parts: Sequence[Profile], peak: int, layout: MemoryLayout,
               processes: int = 1) -> MemoryBreakdown:
    params = sum(_state(p)[0] for p in parts)
    buffers = sum(_state(p)[1] for p in parts)
    overhead = device.runtime_overhead * processes
    return MemoryBreakdown(
        MemoryModel.INFERENCE, layout, processes, overhead, params, buffers, peak,
        overhead + params + buffers + peak,
    )


def _torchinfo(bb: Profile | None, heads: Sequence[Profile], copies: int, layout: MemoryLayout
               ) -> MemoryBreakdown:
    """torchinfo's totals for ``copies`` networks made of ``bb`` (optional) and ``heads``.

    A head fed by the backbone adds its forward/backward and parameter bytes; heads without a
    backbone (the server of MTL-Split) take Z_b as their input, counted once.
    """
    params = sum(h.memory.torchinfo.params_bytes for h in heads)
    activations = sum(h.memory.torchinfo.forward_backward_bytes for h in heads)
    if bb is not None:
        t = bb.memory.torchinfo
        params += t.params_bytes * copies
        activations += (t.input_bytes + t.forward_backward_bytes) * copies
    elif heads:
        activations += heads[0].memory.torchinfo.input_bytes
    return MemoryBreakdown(MemoryModel.TORCHINFO, layout, 1, 0, params, 0, activations,
                           params + activations)


def _whole(pr: PricingRequest, copies: int, peak: int, layout: MemoryLayout) -> MemoryBreakdown:
    """The backbone ``copies`` times and every head, as one process on the edge device."""
    if pr.memory_model is MemoryModel.TORCHINFO:
        return _torchinfo(pr.backbone, pr.heads, copies, layout)
    return _inference(pr.device, [pr.backbone] * copies + list(pr.heads), peak, layout)


def loc_memory(pr: PricingRequest) -> MemoryBreakdown:
    """N single-task networks on the edge: one process running them in turn, or N at once."""
    bb, heads, n = pr.backbone, pr.heads, len(pr.heads)
    if pr.processes is Processes.PER_TASK and pr.memory_model is MemoryModel.INFERENCE:
        parts = [_inference(pr.device, [bb, h], network_peak(bb, [h]),
                            MemoryLayout.SINGLE_TASK_PROCESSES) for h in heads]
        return MemoryBreakdown(
            MemoryModel.INFERENCE, MemoryLayout.SINGLE_TASK_PROCESSES, n,
            sum(p.runtime_overhead_bytes for p in parts), sum(p.params_bytes for p in parts),
            sum(p.buffers_bytes for p in parts), sum(p.activations_bytes for p in parts),
            sum(p.total_bytes for p in parts),
        )
    peak = max(network_peak(bb, [h]) for h in heads)
    return _whole(pr, n, peak, MemoryLayout.SINGLE_TASK_NETWORKS)


def mtl_local_memory(pr: PricingRequest) -> MemoryBreakdown:
    """One backbone and N heads in one forward on the edge."""
    return _whole(pr, 1, network_peak(pr.backbone, pr.heads), MemoryLayout.MULTI_TASK_NETWORK)


def split_memory(pr: PricingRequest, cut: Cut) -> tuple[MemoryBreakdown | None, MemoryBreakdown]:
    """Memory of each side of a cut, under the request's memory model (no edge side for RoC)."""
    heads = pr.heads
    trace = pr.backbone.trace
    if pr.memory_model is MemoryModel.TORCHINFO:
        edge_t = torchinfo_part(trace, cut.op, "edge", trace.torchinfo_input_bytes)
        server_in = trace.torchinfo_input_bytes if cut.op < 0 else cut.payload_bytes
        server_t = torchinfo_part(trace, cut.op, "server", server_in)
        head_fb = sum(h.memory.torchinfo.forward_backward_bytes for h in heads)
        head_params = sum(h.memory.torchinfo.params_bytes for h in heads)
        edge = None if cut.op < 0 else MemoryBreakdown(
            MemoryModel.TORCHINFO, MemoryLayout.EDGE_PART, 1, 0, edge_t.params_bytes, 0,
            edge_t.input_bytes + edge_t.forward_backward_bytes, edge_t.total_bytes,
        )
        server_params = server_t.params_bytes + head_params
        server_act = server_t.input_bytes + server_t.forward_backward_bytes + head_fb
        server = MemoryBreakdown(
            MemoryModel.TORCHINFO, MemoryLayout.SERVER_PART, 1, 0, server_params, 0, server_act,
            server_params + server_act,
        )
        return edge, server
    edge = None
    if cut.op >= 0:
        overhead = pr.device.runtime_overhead
        edge = MemoryBreakdown(
            MemoryModel.INFERENCE, MemoryLayout.EDGE_PART, 1, overhead, cut.edge_param_bytes,
            cut.edge_buffer_bytes, cut.edge_peak_bytes,
            overhead + cut.edge_param_bytes + cut.edge_buffer_bytes + cut.edge_peak_bytes,
        )
    heads_state = [_state(h) for h in heads]
    activations = max(cut.server_peak_bytes, cut.held_bytes + heads_stage_peak(heads))
    params = cut.server_param_bytes + sum(s[0] for s in heads_state)
    buffers = cut.server_buffer_bytes + sum(s[1] for s in heads_state)
    overhead = pr.server.runtime_overhead
    server = MemoryBreakdown(
        MemoryModel.INFERENCE, MemoryLayout.SERVER_PART, 1, overhead, params, buffers,
        activations, overhead + params + buffers + activations,
    )
    return edge, server
