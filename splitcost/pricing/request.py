"""The pricing request: everything a scenario is priced with, parsed and validated once.

Every study (compare, sweep, plan, ...) takes one :class:`PricingRequest`; the function that
builds it from user values lives in :mod:`splitcost.studies.inputs` (it traces the heads).
The per-operator sums every cut shares are computed once per request, on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from splitcost.defaults import HIDDEN
from splitcost.hardware.device import Device, RuntimeProfile
from splitcost.hardware.encoding import FLOAT32, Encoding
from splitcost.hardware.link import Link
from splitcost.hardware.roofline import (
    PRECISION_OF_DTYPE,
    OpWork,
    device_time,
    pipeline_prefix,
    pipeline_suffix,
    pipeline_time,
)
from splitcost.kinds import MemoryModel, Processes, Runtime
from splitcost.network.cuts import Cut, CutAnalysis, find_cut
from splitcost.network.profile import Profile
from splitcost.network.tasks import Task
from splitcost.pricing.branch import Lifetimes
from splitcost.pricing.fusion import Kernel, kernels, op_work_of, split
from splitcost.pricing.placement import Placement


def op_work(p: Profile, start: int = 0, end: int | None = None) -> list[OpWork]:
    """The roofline inputs of operators ``[start, end)`` of a profile's trace, one kernel each
    (PyTorch eager)."""
    return [op_work_of(op) for op in p.trace.ops[start:end]]


@dataclass(frozen=True)
class SideTimes:
    """Compute times of the backbone on each side of every cut, and of each head, per side.

    ``edge_prefix[k + 1]``: the kernels of operators 0..k on the edge device (the edge part of a
    kernel the cut splits included); ``server_prefix[-1] - server_prefix[k + 1]``: those of
    operators k+1.. on the server. Under eager on a device without host/device overlap these
    are the per-operator prefix sums; under a fused runtime, or with overlap, each entry is the
    time of one side of one cut, so the paper's cuts are exact and a branched network's
    segments (:func:`splitcost.pricing.branch.over`) are priced from their differences.
    ``penalty_at[k + 1]``: what splitting kernels costs at that cut, on the edge device
    (:func:`fusion_penalties`; already inside the two sides). Index 0 is the cut before the
    first operator.
    """

    edge_prefix: tuple[float, ...]
    server_prefix: tuple[float, ...]
    heads_edge: tuple[float, ...]  # each head on the edge device
    heads_server: tuple[float, ...]
    penalty_at: tuple[float, ...] = ()
    # The whole backbone and each head on the edge device, for the networks that run there
    # whole (LoC, MTL-Local), and whether that device overlaps host and device work.
    edge_backbone: Run = field(default_factory=lambda: Run(0.0, 0.0, 0.0))
    edge_heads: tuple[Run, ...] = ()
    edge_overlap: bool = False

    @classmethod
    def of(cls, edge: DeviceTimes, server: DeviceTimes) -> SideTimes:
        """The edge side from the edge device's times, the server side from the server's."""
        assert edge.edge_prefix is not None and server.server_prefix is not None
        return cls(edge.edge_prefix, server.server_prefix, edge.heads, server.heads,
                   edge.penalty_at, edge.backbone_run, edge.head_runs, edge.overlap)

    def loc(self) -> float:
        """N single-task networks one after another on the edge device."""
        return in_order([r for h in self.edge_heads for r in (self.edge_backbone, h)],
                        self.edge_overlap)

    def mtl_local(self) -> float:
        """The multi-task network on the edge device: the backbone once, then the heads."""
        return in_order([self.edge_backbone, *self.edge_heads], self.edge_overlap)

    def edge(self, k: int) -> float:
        return self.edge_prefix[k + 1]

    def server(self, k: int) -> float:
        """Operators k+1.. and every head, on the server."""
        return self.server_prefix[-1] - self.server_prefix[k + 1] + sum(self.heads_server)

    def penalty(self, k: int) -> float:
        """The fusion penalty of a cut after operator k."""
        return self.penalty_at[k + 1] if self.penalty_at else 0.0


@dataclass(frozen=True)
class _Priced:
    """Kernels of one network on one device, with the host and device seconds of each."""

    kernels: tuple[Kernel, ...]
    overhead: tuple[float, ...]
    device: tuple[float, ...]


# What a kernel does, given the kernel: its own work at the profile's batch, or the same kernel
# at another batch (splitcost.pricing.service).
WorkOf = Callable[[Kernel], OpWork]


def _own(kernel: Kernel) -> OpWork:
    return kernel.work


def _price(trace_kernels: Sequence[Kernel], device: Device, precision: str,
           section: RuntimeProfile, work_of: WorkOf = _own) -> _Priced:
    return _Priced(tuple(trace_kernels), tuple(section.op_overhead_s for _ in trace_kernels),
                   tuple(device_time(work_of(k), device, precision, section)
                         for k in trace_kernels))


def _ordered(priced: _Priced, key: Callable[[Kernel], int]) -> _Priced:
    order = sorted(range(len(priced.kernels)), key=lambda i: key(priced.kernels[i]))
    return _Priced(tuple(priced.kernels[i] for i in order),
                   tuple(priced.overhead[i] for i in order),
                   tuple(priced.device[i] for i in order))


@dataclass(frozen=True)
class Run:
    """Kernels run back to back on one device: the seconds they take alone, and the host's and
    the device's seconds in them. Two runs issued one after the other compose
    (:meth:`then`) without re-reading their kernels: with host/device overlap the second's
    launches hide behind the first's device work, as :func:`pipeline_time` has it."""

    alone_s: float
    host_s: float
    device_s: float

    def then(self, other: Run, overlap: bool) -> Run:
        if not overlap:
            return Run(self.alone_s + other.alone_s, self.host_s + other.host_s,
                       self.device_s + other.device_s)
        return Run(max(self.alone_s + other.device_s, self.host_s + other.alone_s),
                   self.host_s + other.host_s, self.device_s + other.device_s)


def run_of(trace_kernels: Sequence[Kernel], device: Device, precision: str,
           section: RuntimeProfile, work_of: WorkOf = _own) -> Run:
    """The :class:`Run` of kernels in order on one device under one runtime."""
    priced = _price(trace_kernels, device, precision, section, work_of)
    return Run(pipeline_time(priced.overhead, priced.device, section.overlap),
               sum(priced.overhead), sum(priced.device))


def in_order(runs: Sequence[Run], overlap: bool) -> float:
    """Seconds of ``runs`` issued one after another."""
    total = Run(0.0, 0.0, 0.0)
    for r in runs:
        total = total.then(r, overlap)
    return total.alone_s


def _edge_side(p: Profile, device: Device, precision: str, section: RuntimeProfile,
               work_of: WorkOf = _own, grouped: _Priced | None = None
               ) -> tuple[list[float], list[float]]:
    """(edge time of every cut, the part of it spent on kernels the cut splits);
    ``grouped``: the trace's kernels under the section's rules, priced, when already so."""
    trace = p.trace
    n = len(trace.ops)
    priced = _ordered(grouped or _price(kernels(trace, section.fuses), device, precision,
                                        section, work_of), lambda k: k.last)
    ks = priced.kernels
    prefix = (pipeline_prefix(priced.overhead, priced.device) if section.overlap else
              list(_cumsum(o + d for o, d in zip(priced.overhead, priced.device, strict=True))))
    out, full = [0.0] * (n + 1), 0
    for k in range(n):
        while full < len(ks) and ks[full].last <= k:
            full += 1
        out[k + 1] = prefix[full - 1] if full else 0.0
    return out, _split_parts(p, ks, device, precision, section, n, True, work_of)


def _server_side(p: Profile, device: Device, precision: str, section: RuntimeProfile,
                 work_of: WorkOf = _own, grouped: _Priced | None = None
                 ) -> tuple[list[float], list[float]]:
    trace = p.trace
    n = len(trace.ops)
    priced = _ordered(grouped or _price(kernels(trace, section.fuses), device, precision,
                                        section, work_of), lambda k: k.first)
    ks = priced.kernels
    if section.overlap:
        suffix = pipeline_suffix(priced.overhead, priced.device)
    else:
        each = [o + d for o, d in zip(priced.overhead, priced.device, strict=True)]
        suffix = [*reversed(list(_cumsum(reversed(each)))), 0.0]
    out, before = [0.0] * (n + 1), 0
    for k in range(-1, n):
        while before < len(ks) and ks[before].first <= k:
            before += 1
        out[k + 1] = suffix[before]
    return out, _split_parts(p, ks, device, precision, section, n, False, work_of)


def _split_parts(p: Profile, ks: Sequence[Kernel], device: Device, precision: str,
                 section: RuntimeProfile, n: int, head: bool, work_of: WorkOf = _own
                 ) -> list[float]:
    """[k + 1]: seconds of the parts, on this side, of the kernels a cut after k splits."""
    out = [0.0] * (n + 1)
    for kernel in ks:
        if len(kernel.members) < 2:
            continue
        for k in range(kernel.first, kernel.last):
            part = split(p.trace, kernel, k)[0 if head else 1]
            out[k + 1] += section.op_overhead_s + device_time(work_of(part), device, precision,
                                                              section)
    return out


def _cumsum(values: Any) -> list[float]:
    out, total = [], 0.0
    for v in values:
        total += v
        out.append(total)
    return out


def fusion_penalties(p: Profile, device: Device, precision: str, section: RuntimeProfile,
                     grouped: Sequence[Kernel] | None = None) -> list[float]:
    """[k + 1]: what a cut after operator k costs by splitting fused kernels, on ``device``:
    the two parts' time minus the whole kernel's (one more launch; the tensor between them
    written and read again). Zero under eager, and at cuts between kernels."""
    n = len(p.trace.ops)
    out = [0.0] * (n + 1)
    for kernel in kernels(p.trace, section.fuses) if grouped is None else grouped:
        if len(kernel.members) < 2:
            continue
        whole = device_time(kernel.work, device, precision, section)
        for k in range(kernel.first, kernel.last):
            head, tail = split(p.trace, kernel, k)
            out[k + 1] += section.op_overhead_s + (
                device_time(head.work, device, precision, section)
                + device_time(tail.work, device, precision, section) - whole)
    return out


@dataclass(frozen=True)
class DeviceTimes:
    """One device's side of :class:`SideTimes` (grid pricing reuses it across configurations):
    the backbone as the edge of every cut, as the server of every cut, and each head."""

    edge_prefix: tuple[float, ...] | None
    server_prefix: tuple[float, ...] | None
    heads: tuple[float, ...]
    penalty_at: tuple[float, ...]
    backbone_run: Run = field(default_factory=lambda: Run(0.0, 0.0, 0.0))
    head_runs: tuple[Run, ...] = ()
    overlap: bool = False

    def for_heads(self, position: Sequence[int]) -> DeviceTimes:
        """The same device with the heads at ``position`` only, in that order."""
        return replace(self, heads=tuple(self.heads[i] for i in position),
                       head_runs=tuple(self.head_runs[i] for i in position))


def device_times(backbone: Profile, heads: Sequence[Profile], device: Device, precision: str,
                 section: RuntimeProfile, *, edge: bool = True, server: bool = True,
                 work_of: WorkOf = _own, head_work_of: Sequence[WorkOf] | None = None,
                 grouping: Callable[[Profile, tuple[str, ...]], Sequence[Kernel]] | None = None
                 ) -> DeviceTimes:
    """The compute times :attr:`PricingRequest.times` takes from one device under one runtime
    (``edge``/``server``: which sides to compute; ``work_of``, ``head_work_of``: the kernels'
    work at another batch; ``grouping(profile, rules)``: a network's kernels, when the caller
    has them grouped already, as a grid does for every device of one runtime)."""
    head_work = head_work_of or [_own] * len(heads)
    group = grouping or (lambda p, rules: kernels(p.trace, rules))
    # The backbone's kernels, once for every side of this device (none when only heads are asked)
    grouped = group(backbone, section.fuses) if edge or server else ()
    priced = _price(grouped, device, precision, section, work_of)
    edge_prefix = penalty = None
    server_prefix = None
    if edge:
        at, parts = _edge_side(backbone, device, precision, section, work_of, priced)
        edge_prefix = tuple(e + x for e, x in zip(at, parts, strict=True))
        penalty = tuple(fusion_penalties(backbone, device, precision, section, grouped))
    if server:
        at, parts = _server_side(backbone, device, precision, section, work_of, priced)
        suffix = [s + x for s, x in zip(at, parts, strict=True)]
        server_prefix = tuple(suffix[0] - v for v in suffix)
    runs = tuple(run_of(group(h, section.fuses), device, precision, section, w)
                 for h, w in zip(heads, head_work, strict=True))
    whole = Run(pipeline_time(priced.overhead, priced.device, section.overlap),
                sum(priced.overhead), sum(priced.device))
    return DeviceTimes(edge_prefix, server_prefix, tuple(r.alone_s for r in runs), penalty or (),
                       whole, runs, section.overlap)


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
    runtime: Runtime = Runtime.EAGER  # how both devices execute their side
    branch: Cut | None = None  # where the shared trunk ends; None: at the backbone's end
    placement: Placement | None = None  # heads on several servers; None: all on ``server``

    @property
    def branch_op(self) -> int:
        """The shared trunk's last operator: -1 shares nothing, the last one everything."""
        return len(self.backbone.trace.ops) - 1 if self.branch is None else self.branch.op

    @property
    def branched(self) -> bool:
        """Whether each task runs a copy of some of the backbone (a branch point before its
        last operator)."""
        return self.branch_op < len(self.backbone.trace.ops) - 1

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

    @property
    def edge_runtime(self) -> RuntimeProfile:
        return self.device.runtime(self.runtime)

    @property
    def server_runtime(self) -> RuntimeProfile:
        return self.server.runtime(self.runtime)

    @cached_property
    def cut_analysis(self) -> CutAnalysis:
        """The backbone's per-operator prefix sums, built once per request for every cut."""
        return CutAnalysis(self.backbone.trace)

    def cut(self, name: str) -> Cut:
        return find_cut(self.backbone.trace, name, self.cut_analysis, self.backbone.backbone.root)

    def over_link(self, link: Link | None = None, payload: Encoding | None = None
                  ) -> PricingRequest:
        """The same request over another link or payload encoding, sharing what this one has
        computed (compute times, cut analysis, lifetimes): none of it depends on either."""
        new = replace(self, link=link or self.link, payload=payload or self.payload)
        return self._sharing(new, ("times", "cut_analysis", "lifetimes"))

    def with_heads(self, heads: Sequence[Profile], tasks: Sequence[Task]) -> PricingRequest:
        """The same request with other task heads, sharing the backbone's computed figures
        (only the heads' own times are computed anew)."""
        new = self._sharing(replace(self, heads=tuple(heads), tasks=tuple(tasks)),
                            ("cut_analysis", "lifetimes"))
        if "times" in self.__dict__:
            edge = device_times(self.backbone, new.heads, self.device, self.precision,
                                self.edge_runtime, edge=False, server=False)
            server = device_times(self.backbone, new.heads, self.server, self.precision,
                                  self.server_runtime, edge=False, server=False)
            new.__dict__["times"] = replace(
                self.times, heads_edge=edge.heads, heads_server=server.heads,
                edge_heads=edge.head_runs)
        return new

    def with_device(self, device: Device) -> PricingRequest:
        """The same request on another edge device, sharing the server's side and the
        backbone's analysis (the edge side is computed anew)."""
        new = self._sharing(replace(self, device=device), ("cut_analysis", "lifetimes"))
        if "times" in self.__dict__:
            edge = device_times(self.backbone, self.heads, device, self.precision,
                                new.edge_runtime, server=False)
            t = self.times
            assert edge.edge_prefix is not None
            new.__dict__["times"] = replace(
                t, edge_prefix=edge.edge_prefix, heads_edge=edge.heads,
                penalty_at=edge.penalty_at, edge_backbone=edge.backbone_run,
                edge_heads=edge.head_runs, edge_overlap=edge.overlap)
        return new

    def sharing_backbone(self, analysis: CutAnalysis, lifetimes: Lifetimes) -> PricingRequest:
        """This request with its backbone's analyses given (a grid's configurations of one
        backbone share them); they must be this backbone's."""
        assert analysis.trace is self.backbone.trace and lifetimes.trace is self.backbone.trace
        self.__dict__["cut_analysis"] = analysis
        self.__dict__["lifetimes"] = lifetimes
        return self

    def _sharing(self, new: PricingRequest, names: Sequence[str]) -> PricingRequest:
        for name in names:
            if name in self.__dict__:
                new.__dict__[name] = self.__dict__[name]  # what cached_property stores
        return new

    @cached_property
    def times(self) -> SideTimes:
        """Compute times of the backbone on each side of every cut, and of each head, under the
        request's runtime, computed once per request."""
        edge = device_times(self.backbone, self.heads, self.device, self.precision,
                            self.edge_runtime, server=False)
        server = device_times(self.backbone, self.heads, self.server, self.precision,
                              self.server_runtime, edge=False)
        return SideTimes.of(edge, server)

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
            "runtime": self.runtime,
            "payload_encoding": self.payload.label,
            "input_encoding": self.input.label,
            "images": self.images,
            "processes": self.processes,
            "branch": self.branch_name,
            "placement": None if self.placement is None else self.placement.to_dict(),
        }
