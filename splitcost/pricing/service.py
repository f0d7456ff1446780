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
from dataclasses import replace
from typing import TYPE_CHECKING

from splitcost.hardware.device import Device
from splitcost.hardware.roofline import OpWork
from splitcost.network.profile import Profile
from splitcost.pricing.branch import over, server_segments
from splitcost.pricing.fusion import Kernel, kernels, op_work_of
from splitcost.pricing.request import DeviceTimes, WorkOf, device_times, in_order, run_of

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


def scaled_work(p: Profile, batch: int | None) -> WorkOf:
    """A kernel of ``p`` at ``batch``: its arithmetic scaled from its operators'
    (:func:`work_at`), the bytes it moves by the ratio its operators' bytes scale by."""
    if batch is None or batch == p.batch:
        return lambda k: k.work
    ops = work_at(p, batch)
    own = [op_work_of(op) for op in p.trace.ops]

    def work(k: Kernel) -> OpWork:
        before = sum(own[i].bytes_moved for i in k.members)
        after = sum(ops[i].bytes_moved for i in k.members)
        moved = k.work.bytes_moved if before == 0 else round(k.work.bytes_moved * after / before)
        return replace(k.work, flops=sum(ops[i].flops for i in k.members), bytes_moved=moved)

    return work


def _times(pr: PricingRequest, device: Device, batch: int | None) -> DeviceTimes:
    return device_times(pr.backbone, pr.heads, device, pr.precision, device.runtime(pr.runtime),
                        work_of=scaled_work(pr.backbone, batch),
                        head_work_of=[scaled_work(h, batch) for h in pr.heads])


def op_prefix(pr: PricingRequest, device: Device, batch: int | None = None
              ) -> tuple[float, ...]:
    """The backbone's server-side times on ``device`` at ``batch``, as prefix sums
    (:class:`~splitcost.pricing.request.SideTimes`): the request's own when it has them."""
    if batch is None or batch == pr.backbone.batch:
        if device == pr.server:
            return pr.times.server_prefix
        if device == pr.device:
            return _times(pr, device, None).server_prefix or ()
    return _times(pr, device, batch).server_prefix or ()


def head_times(pr: PricingRequest, device: Device, batch: int | None = None
               ) -> tuple[float, ...]:
    """Each head's time on ``device`` at ``batch`` (the request's own when it has them)."""
    if batch is None or batch == pr.backbone.batch:
        if device == pr.server:
            return pr.times.heads_server
        if device == pr.device:
            return pr.times.heads_edge
    return _times(pr, device, batch).heads


Piece = tuple[Profile, int, int]  # operators [start, end) of a profile, run as their kernels


def stream_time(pr: PricingRequest, device: Device, pieces: Sequence[Piece],
                batch: int | None = None) -> float:
    """Seconds ``device`` takes to run ``pieces`` one after another under the request's runtime
    (the host issuing the next while the device runs, where it overlaps), each piece's kernels
    as they group within it: a branched network as it runs."""
    section = device.runtime(pr.runtime)
    scaled = {id(p): scaled_work(p, batch) for p, _, _ in pieces}
    runs = [run_of(kernels(p.trace, section.fuses, start, end), device, pr.precision, section,
                   scaled[id(p)]) for p, start, end in pieces if end > start]
    return in_order(runs, section.overlap)


def branched_pieces(pr: PricingRequest, start: int, end: int, tasks: Sequence[int],
                    heads: bool) -> list[Piece]:
    """Operators ``[start, end)`` of the branched network on one device for ``tasks``, in the
    order it runs them: the trunk's part once, then per task its tail's part (and its head)."""
    b, bb = pr.branch_op, pr.backbone
    pieces: list[Piece] = []
    if start <= b:
        pieces.append((bb, start, min(end, b + 1)))
    for t in tasks:
        if end > b + 1:
            pieces.append((bb, max(start, b + 1), end))
        if heads:
            pieces.append((pr.heads[t], 0, len(pr.heads[t].trace.ops)))
    return pieces


def server_compute(pr: PricingRequest, cut_op: int, device: Device, tasks: Sequence[int],
                   batch: int | None = None) -> float:
    """Seconds one server takes after cut ``cut_op`` for ``tasks``: the rest of the trunk once,
    a tail and a head per task, all at ``batch``."""
    n = len(pr.backbone.trace.ops)
    if pr.branched:
        return stream_time(pr, device, branched_pieces(pr, cut_op + 1, n, tasks, True), batch)
    segments = server_segments(pr.branch_op, cut_op, len(tasks), n)
    heads = head_times(pr, device, batch)
    return over(op_prefix(pr, device, batch), segments) + sum(heads[t] for t in tasks)


__all__ = ["branched_pieces", "head_times", "op_prefix", "scaled_work", "server_compute",
           "stream_time", "work_at"]
