"""Compute time of a part of the network on any device, at any batch size. Pure functions.

At batch ``b`` every operator does ``b / profile batch`` times the arithmetic and moves that many
times the bytes of its batched tensors (those whose first dimension is the batch), but reads its
weights (parameters, buffers, constants) and per-channel tensors (a batch norm's saved mean) once
per batch and pays its launch overhead once: the roofline at batch ``b``, not ``b`` times the
time at batch 1. (A network that puts the batch in another dimension, a sequence-first
transformer, is scaled as if it did not batch those tensors: profile it at the batch instead.)

That is why a server that batches the heads of many clients gains so much: a head's first Linear
streams its weights once for the whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from splitcost.hardware.device import Device
from splitcost.hardware.roofline import OpWork, compute_time, op_time
from splitcost.network.profile import Profile
from splitcost.pricing.branch import over, server_segments

if TYPE_CHECKING:
    from splitcost.pricing.request import PricingRequest

STATE_KINDS = ("param", "buffer", "constant")


def work_at(p: Profile, batch: int | None = None) -> list[OpWork]:
    """The roofline inputs of every operator of ``p`` at ``batch`` (None: as profiled)."""
    trace = p.trace
    scale = 1.0 if batch is None else batch / p.batch
    kinds = [s.kind for s in trace.storages]
    out = []
    for op in trace.ops:
        moved = sum(m.nbytes for m in op.inputs) + sum(m.nbytes for m in op.outputs)
        if scale == 1.0:
            out.append(OpWork(op.cost.op_class, op.cost.flops, moved))
            continue
        batched = sum(m.nbytes for m in (*op.inputs, *op.outputs)
                      if m.shape and m.shape[0] == p.batch and kinds[m.storage] not in STATE_KINDS)
        out.append(OpWork(op.cost.op_class, round(op.cost.flops * scale),
                          moved - batched + round(batched * scale)))
    return out


def op_prefix(pr: PricingRequest, device: Device, batch: int | None = None
              ) -> tuple[float, ...]:
    """Prefix sums of the backbone's operator times on ``device`` at ``batch``: the request's
    own when it has them (the edge device or the server, as profiled)."""
    if batch is None or batch == pr.backbone.batch:
        if device == pr.server:
            return pr.times.server_prefix
        if device == pr.device:
            return pr.times.edge_prefix
    out, total = [0.0], 0.0
    for w in work_at(pr.backbone, batch):
        total += op_time(w, device, pr.precision)
        out.append(total)
    return tuple(out)


def head_times(pr: PricingRequest, device: Device, batch: int | None = None
               ) -> tuple[float, ...]:
    """Each head's time on ``device`` at ``batch`` (the request's own when it has them)."""
    if batch is None or batch == pr.backbone.batch:
        if device == pr.server:
            return pr.times.heads_server
        if device == pr.device:
            return pr.times.heads_edge
    return tuple(compute_time(work_at(h, batch), device, pr.precision) for h in pr.heads)


def server_compute(pr: PricingRequest, cut_op: int, device: Device, tasks: Sequence[int],
                   batch: int | None = None) -> float:
    """Seconds one server takes after cut ``cut_op`` for ``tasks``: the rest of the trunk once,
    a tail and a head per task, all at ``batch``."""
    n = len(pr.backbone.trace.ops)
    segments = server_segments(pr.branch_op, cut_op, len(tasks), n)
    heads = head_times(pr, device, batch)
    return over(op_prefix(pr, device, batch), segments) + sum(heads[t] for t in tasks)


__all__ = ["head_times", "op_prefix", "server_compute", "work_at"]
