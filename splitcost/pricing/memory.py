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
from splitcost.pricing.branch import (
    done_before_last,
    leaf_sums,
    payload_parts,
    storage_bytes,
    tail_state,
)
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


def _ops(pr: PricingRequest) -> int:
    return len(pr.backbone.trace.ops)


def local_peak(pr: PricingRequest) -> int:
    """Peak live activations of the branched multi-task network in one forward: the trunk, then
    each task's tail and head in turn, with what the trunk left alive (and the input) held, and
    the outputs of the tasks already run. At the backbone's end: :func:`network_peak`."""
    a, b, n = pr.cut_analysis, pr.branch_op, _ops(pr)
    trunk = a.peak_prefix[b] if b >= 0 else a.input_bytes
    held, held_excl = pr.lifetimes.hold(b)
    best = max(trunk, held_excl + heads_stage_peak(pr.heads))
    if b < n - 1:
        best = max(best, held + pr.lifetimes.peak(b, n - 1) + done_before_last(pr.heads))
    return best


def mtl_local_memory(pr: PricingRequest) -> MemoryBreakdown:
    """One trunk, a tail per task after the branch point and N heads, in one forward on the
    edge (the backbone once at the paper's branch point)."""
    b, n, tasks = pr.branch_op, _ops(pr), len(pr.heads)
    layout = MemoryLayout.MULTI_TASK_NETWORK
    if pr.memory_model is MemoryModel.TORCHINFO:
        base = _torchinfo(pr.backbone, pr.heads, 1, layout)
        fb, params = leaf_sums(pr.backbone.trace, b, n - 1)
        return _more(base, (tasks - 1) * params, 0, (tasks - 1) * fb)
    base = _inference(pr.device, [pr.backbone, *pr.heads], local_peak(pr), layout)

    def tail(key: str) -> int:
        return tail_state(pr, b, n - 1, key) + pr.lifetimes.unread(b, key)

    return _more(base, (tasks - 1) * tail("param"), (tasks - 1) * tail("state"), 0)


def _more(m: MemoryBreakdown, params: int, buffers: int, activations: int) -> MemoryBreakdown:
    """``m`` with more parameters, buffers and activations (copies of a tail)."""
    return MemoryBreakdown(m.model, m.layout, m.processes, m.runtime_overhead_bytes,
                           m.params_bytes + params, m.buffers_bytes + buffers,
                           m.activations_bytes + activations,
                           m.total_bytes + params + buffers + activations)


def _tasks_of(pr: PricingRequest, tasks: Sequence[int] | None) -> tuple[Profile, ...]:
    return pr.heads if tasks is None else tuple(pr.heads[t] for t in tasks)


def edge_memory(pr: PricingRequest, cut: Cut) -> MemoryBreakdown | None:
    """The edge side of a cut (None for RoC): the trunk up to the cut, and every task's tail
    up to it when the cut lies past the branch point (their payloads held until sent)."""
    if cut.op < 0:
        return None
    b, c, tasks, trace = pr.branch_op, cut.op, len(pr.heads), pr.backbone.trace
    copies = tasks - 1 if c > b else 0
    if pr.memory_model is MemoryModel.TORCHINFO:
        edge_t = torchinfo_part(trace, c, "edge", trace.torchinfo_input_bytes)
        fb, params = leaf_sums(trace, b, c) if copies else (0, 0)
        base = MemoryBreakdown(
            MemoryModel.TORCHINFO, MemoryLayout.EDGE_PART, 1, 0, edge_t.params_bytes, 0,
            edge_t.input_bytes + edge_t.forward_backward_bytes, edge_t.total_bytes,
        )
        return _more(base, copies * params, 0, copies * fb)
    peak = cut.edge_peak_bytes
    if copies:
        a = pr.cut_analysis
        trunk = a.peak_prefix[b] if b >= 0 else a.input_bytes
        held, _ = pr.lifetimes.hold(b)
        _, per_task = payload_parts(trace, cut.payload, b)
        waiting = storage_bytes(trace, {x.storage for x in per_task})
        peak = max(trunk, held + copies * waiting + pr.lifetimes.peak(b, c))
    overhead = pr.device.runtime_overhead
    base = MemoryBreakdown(
        MemoryModel.INFERENCE, MemoryLayout.EDGE_PART, 1, overhead, cut.edge_param_bytes,
        cut.edge_buffer_bytes, peak,
        overhead + cut.edge_param_bytes + cut.edge_buffer_bytes + peak,
    )
    return _more(base, copies * tail_state(pr, b, c, "param"),
                 copies * tail_state(pr, b, c, "state"), 0)


def server_memory(pr: PricingRequest, cut: Cut, device: Device | None = None,
                  tasks: Sequence[int] | None = None) -> MemoryBreakdown:
    """One server's side of a cut for ``tasks`` (all by default): the rest of the trunk, a
    tail per task and the heads, the received payload held throughout."""
    device = device or pr.server
    heads = _tasks_of(pr, tasks)
    m = len(heads)
    b, c, n, trace = pr.branch_op, cut.op, _ops(pr), pr.backbone.trace
    shared, per_task = payload_parts(trace, cut.payload, b)
    raw_shared = sum(x.nbytes for x in shared)
    raw_task = sum(x.nbytes for x in per_task)
    received = raw_shared + m * raw_task
    if pr.memory_model is MemoryModel.TORCHINFO:
        server_in = trace.torchinfo_input_bytes if c < 0 else received
        server_t = torchinfo_part(trace, c, "server", server_in)
        fb, params = server_t.forward_backward_bytes, server_t.params_bytes
        if c <= b:
            tail_fb, tail_params = leaf_sums(trace, b, n - 1)
            fb, params = fb + (m - 1) * tail_fb, params + (m - 1) * tail_params
        else:
            fb, params = m * fb, m * params
        head_params = sum(h.memory.torchinfo.params_bytes for h in heads)
        activations = server_t.input_bytes + fb + sum(
            h.memory.torchinfo.forward_backward_bytes for h in heads)
        return MemoryBreakdown(
            MemoryModel.TORCHINFO, MemoryLayout.SERVER_PART, 1, 0, params + head_params, 0,
            activations, params + head_params + activations,
        )
    outputs = {o.storage for o in trace.outputs}
    a = pr.cut_analysis
    if c <= b:
        first = received + pr.lifetimes.peak(c, b)
        held, held_excl = pr.lifetimes.hold(b, after=c)
        activations = max(first, cut.held_bytes + held_excl + heads_stage_peak(heads))
        if b < n - 1:
            activations = max(activations, received + held + pr.lifetimes.peak(b, n - 1)
                              + done_before_last(heads))
        params = a.server_bytes(c, "param") + (m - 1) * a.server_bytes(b, "param")
        buffers = a.server_bytes(c, "state") + (m - 1) * a.server_bytes(b, "state")
    else:
        own_outputs = sum(x.nbytes for x in per_task if x.storage in outputs)
        activations = max(received, received - own_outputs + heads_stage_peak(heads))
        if c < n - 1:
            activations = max(activations, received + pr.lifetimes.peak(c, n - 1)
                              + done_before_last(heads))
        params = m * a.server_bytes(c, "param")
        buffers = m * a.server_bytes(c, "state")
    heads_state = [_state(h) for h in heads]
    params += sum(s[0] for s in heads_state)
    buffers += sum(s[1] for s in heads_state)
    overhead = device.runtime_overhead
    return MemoryBreakdown(
        MemoryModel.INFERENCE, MemoryLayout.SERVER_PART, 1, overhead, params, buffers,
        activations, overhead + params + buffers + activations,
    )


def split_memory(pr: PricingRequest, cut: Cut) -> tuple[MemoryBreakdown | None, MemoryBreakdown]:
    """Memory of each side of a cut, under the request's memory model (no edge side for RoC),
    every task on the request's server."""
    return edge_memory(pr, cut), server_memory(pr, cut)
