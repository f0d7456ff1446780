"""The pricing request: everything a scenario is priced with, parsed and validated once.

Every study (compare, sweep, plan, ...) takes one :class:`PricingRequest`; the function that
builds it from user values lives in :mod:`splitcost.studies.inputs` (it traces the heads).
The per-operator sums every cut shares are computed once per request, on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from splitcost.defaults import HIDDEN
from splitcost.hardware.device import Device
from splitcost.hardware.encoding import FLOAT32, Encoding
from splitcost.hardware.link import Link
from splitcost.hardware.roofline import PRECISION_OF_DTYPE, OpWork, compute_time, op_time
from splitcost.kinds import MemoryModel, Processes
from splitcost.network.cuts import Cut, CutAnalysis, find_cut
from splitcost.network.profile import Profile
from splitcost.network.tasks import Task
from splitcost.pricing.branch import Lifetimes
from splitcost.pricing.placement import Placement


def op_work(p: Profile, start: int = 0, end: int | None = None) -> list[OpWork]:
    """The roofline inputs of operators ``[start, end)`` of a profile's trace."""
    return [
        OpWork(
            op.cost.op_class,
            op.cost.flops,
            sum(m.nbytes for m in op.inputs) + sum(m.nbytes for m in op.outputs),
        )
        for op in p.trace.ops[start:end]
    ]


@dataclass(frozen=True)
class SideTimes:
    """Compute times of the backbone's operators as prefix sums, and of each head, per side."""

    edge_prefix: tuple[float, ...]  # [k + 1] = operators 0..k on the edge device
    server_prefix: tuple[float, ...]  # the same on the server
    heads_edge: tuple[float, ...]  # each head on the edge device
    heads_server: tuple[float, ...]

    def edge(self, k: int) -> float:
        return self.edge_prefix[k + 1]

    def server(self, k: int) -> float:
        """Operators k+1.. and every head, on the server."""
        return self.server_prefix[-1] - self.server_prefix[k + 1] + sum(self.heads_server)


def _prefix(values: Sequence[float]) -> tuple[float, ...]:
    out, total = [0.0], 0.0
    for v in values:
        total += v
        out.append(total)
    return tuple(out)


def device_times(backbone: Profile, heads: Sequence[Profile], device: Device, precision: str,
                 work: Sequence[OpWork] | None = None
                 ) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """One side of :attr:`PricingRequest.times`: the backbone's operators on ``device`` as
    prefix sums, and each head's compute time (grid pricing reuses it across devices)."""
    work = op_work(backbone) if work is None else work
    return (_prefix([op_time(w, device, precision) for w in work]),
            tuple(compute_time(op_work(h), device, precision) for h in heads))


@dataclass(frozen=True)
class PricingRequest:
    """A backbone's Profile, its task heads, an edge device, a server, a link and how the
    payload, the input and memory are counted."""

    backbone: Profile
    heads: tuple[Profile, ...]
    device: Device
    server: Device
    link: Link
    tasks: tuple[Task, ...] = ()
    memory_model: MemoryModel = MemoryModel.INFERENCE
    payload: Encoding = FLOAT32
    input: Encoding = FLOAT32
    images: int = 1
    processes: Processes = Processes.ONE  # LoC: N networks in one process, or one per task
    hidden: int = HIDDEN
    branch: Cut | None = None  # where the shared trunk ends; None: at the backbone's end
    placement: Placement | None = None  # heads on several servers; None: all on ``server``

    @property
    def branch_op(self) -> int:
        """The shared trunk's last operator: -1 shares nothing, the last one everything."""
        return len(self.backbone.trace.ops) - 1 if self.branch is None else self.branch.op

    @property
    def branch_name(self) -> str:
        return "output" if self.branch is None else self.branch.name

    @cached_property
    def lifetimes(self) -> Lifetimes:
        """The backbone's activation lifetimes, as arrays, for the branch-point memory."""
        return Lifetimes(self.backbone.trace)

    @property
    def precision(self) -> str:
        return PRECISION_OF_DTYPE.get(self.backbone.dtype, "fp32")

    @cached_property
    def cut_analysis(self) -> CutAnalysis:
        """The backbone's per-operator prefix sums, built once per request for every cut."""
        return CutAnalysis(self.backbone.trace)

    def cut(self, name: str) -> Cut:
        return find_cut(self.backbone.trace, name, self.cut_analysis, self.backbone.backbone.root)

    @cached_property
    def times(self) -> SideTimes:
        """Compute times of every backbone operator on each side, summed once per request."""
        work = op_work(self.backbone)
        edge, heads_edge = device_times(self.backbone, self.heads, self.device, self.precision,
                                        work)
        server, heads_server = device_times(self.backbone, self.heads, self.server,
                                            self.precision, work)
        return SideTimes(edge, server, heads_edge, heads_server)

    def to_dict(self) -> dict[str, Any]:
        """The context every result's JSON carries, in one shape across commands."""
        bb = self.backbone
        return {
            "backbone": bb.summary_dict(),
            "tasks": [
                {"classes": t.classes, "hidden": self.hidden, "params": h.params,
                 "param_bytes": h.param_bytes, "macs": h.macs, "flops": h.flops}
                for t, h in zip(self.tasks, self.heads, strict=True)
            ],
            "device": self.device.to_dict(),
            "server": self.server.to_dict(),
            "link": self.link.to_dict(),
            "memory_model": self.memory_model,
            "precision": bb.dtype,
            "payload_encoding": self.payload.label,
            "input_encoding": self.input.label,
            "images": self.images,
            "processes": self.processes,
            "branch": self.branch_name,
            "placement": None if self.placement is None else self.placement.to_dict(),
        }
