"""Scenarios: a pricing request -> each deployment priced. Pure functions: no I/O, no prose.

Scenarios (DESIGN.md):

* ``LoC``: N single-task networks (backbone + one head each) on the edge device;
* ``MTL-Local``: the multi-task network (one backbone, N heads) on the edge device;
* ``RoC``: the input crosses the link, the multi-task network runs on the server;
* ``MTL-Split``: the backbone on the edge, ``Z_b`` crosses the link, the N heads on the server;
* ``Split@CUT``: the backbone up to any other cut on the edge, the rest and the heads on the
  server.

With a branch point before the backbone's end (:mod:`splitcost.pricing.branch`) each task runs
its own copy of the backbone after it: MTL-Local runs the trunk once and a tail per task, a cut
past the branch point sends one tensor per task. With a placement
(:mod:`splitcost.pricing.placement`) the heads run on several servers and the scenario completes
with the slowest of them.

Every number carries its breakdown: memory by part under a named memory model, latency as edge
compute + transfer + server compute, the constraints with their margins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from splitcost.hardware.transfer import NO_TRANSFER, Transfer, transfer
from splitcost.kinds import ConstraintKind, ScenarioKind
from splitcost.network.cuts import Cut
from splitcost.network.liveness import Crossing
from splitcost.network.profile import Profile
from splitcost.pricing.band import LatencyBand, latency_band
from splitcost.pricing.branch import (
    count,
    edge_segments,
    local_segments,
    payload_parts,
    server_segments,
)
from splitcost.pricing.energy import Energy, edge_energy
from splitcost.pricing.memory import (
    MemoryBreakdown,
    edge_memory,
    loc_memory,
    mtl_local_memory,
    server_memory,
)
from splitcost.pricing.placement import FanOut, fan_out, server_groups
from splitcost.pricing.request import PricingRequest
from splitcost.pricing.service import branched_pieces, server_compute, stream_time

# The paper's four, in its order; price() returns them first, then a Split@CUT per extra cut.
PAPER_SCENARIOS = (ScenarioKind.LOC, ScenarioKind.MTL_LOCAL, ScenarioKind.ROC,
                   ScenarioKind.MTL_SPLIT)


@dataclass(frozen=True)
class Constraint:
    """One limit a scenario must respect."""

    kind: ConstraintKind
    needed: float
    available: float
    unit: str  # "B"
    device: str = ""  # the device whose limit it is ("": the user's own limit)

    @property
    def ok(self) -> bool:
        return self.needed <= self.available

    @property
    def margin(self) -> float:
        return self.available - self.needed

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(ok=self.ok, margin=self.margin)
        return d


@dataclass(frozen=True)
class ServerShare:
    """What one server of a scenario receives, runs and holds (one per server of a
    placement; one for a single server)."""

    device: str
    tasks: tuple[int, ...]  # 0-based
    payload_bytes: int  # what it receives, as encoded
    forward_s: float  # after the uplink, until its payload is there (relay; 0 otherwise)
    compute_s: float
    macs: int
    memory: MemoryBreakdown

    @property
    def done_s(self) -> float:
        """When it has answered, counted from the end of the uplink."""
        return self.forward_s + self.compute_s

    def to_dict(self) -> dict[str, Any]:
        return {"server": self.device, "tasks": [t + 1 for t in self.tasks],
                "payload_bytes": self.payload_bytes, "forward_s": self.forward_s,
                "compute_s": self.compute_s, "done_s": self.done_s, "macs": self.macs,
                "memory": self.memory.to_dict(), "memory_bytes": self.memory.total_bytes}


@dataclass(frozen=True)
class Scenario:
    """One deployment, priced. Times are per inference (one batch); bytes are ints."""

    name: str  # the kind's word, or Split@CUT
    kind: ScenarioKind
    cut: str | None  # the cut the split is at ("input" for RoC); None: no link crossed
    feasible: bool
    binding: ConstraintKind | None  # the violated or tightest constraint
    constraints: tuple[Constraint, ...]
    edge_memory: MemoryBreakdown | None
    server_memory: MemoryBreakdown | None
    payload_bytes: int
    payload_encoding: str
    payload_tensors: tuple[tuple[tuple[int, ...], str], ...]
    transfer: Transfer
    edge_macs: int
    server_macs: int
    edge_s: float
    server_s: float
    images: int = 1
    band: LatencyBand | None = None
    energy: Energy | None = None
    # A cut through a fused kernel (TensorRT, ONNX Runtime) splits it in two: the extra launch
    # and the tensor written and read between them, on the edge device (already in edge_s and
    # server_s; see splitcost.pricing.request.fusion_penalties).
    fusion_penalty_s: float = 0.0
    branch: str | None = None  # where the tasks' copies begin; None: no shared network (LoC)
    servers: tuple[ServerShare, ...] = ()  # what each server runs (remote scenarios)
    fan_out: FanOut | None = None  # how the payload reached several servers

    @property
    def transfer_s(self) -> float:
        return self.transfer.total_s

    @property
    def total_s(self) -> float:
        return self.edge_s + self.transfer_s + self.server_s

    @property
    def edge_memory_bytes(self) -> int:
        return self.edge_memory.total_bytes if self.edge_memory else 0

    @property
    def server_memory_bytes(self) -> int:
        return self.server_memory.total_bytes if self.server_memory else 0

    @property
    def remote(self) -> bool:
        """Whether the scenario crosses the link (RoC, MTL-Split, a split)."""
        return self.transfer.payload_bytes > 0

    def constraint(self, kind: ConstraintKind) -> Constraint | None:
        return next((c for c in self.constraints if c.kind is kind), None)

    def to_dict(self) -> dict[str, Any]:
        memory = self.edge_memory or self.server_memory
        return {
            "name": self.name,
            "kind": self.kind,
            "cut": self.cut,
            "feasible": self.feasible,
            "binding": self.binding,
            "constraints": [c.to_dict() for c in self.constraints],
            "memory_model": memory.model if memory else None,
            "edge_memory_bytes": self.edge_memory_bytes,
            "server_memory_bytes": self.server_memory_bytes,
            "edge_memory": self.edge_memory.to_dict() if self.edge_memory else None,
            "server_memory": self.server_memory.to_dict() if self.server_memory else None,
            "payload_bytes": self.payload_bytes,
            "payload_encoding": self.payload_encoding,
            "payload_tensors": [
                {"shape": list(s), "dtype": d} for s, d in self.payload_tensors
            ],
            "result_bytes": self.transfer.result_bytes,
            "edge_macs": self.edge_macs,
            "server_macs": self.server_macs,
            "edge_s": self.edge_s,
            "transfer_s": self.transfer_s,
            "server_s": self.server_s,
            "total_s": self.total_s,
            "transfer": self.transfer.to_dict(),
            "images": self.images,
            "images_total_s": self.images * self.total_s,
            "latency_band": self.band.to_dict() if self.band else None,
            "energy": self.energy.to_dict() if self.energy else None,
            "fusion_penalty_s": self.fusion_penalty_s,
            "branch": self.branch,
            "servers": [x.to_dict() for x in self.servers],
            "fan_out": self.fan_out,
        }


def _constraints(edge: MemoryBreakdown | None, servers: Sequence[ServerShare],
                 pr: PricingRequest) -> tuple[Constraint, ...]:
    out = []
    if edge is not None:
        out.append(Constraint(ConstraintKind.EDGE_MEMORY, edge.total_bytes,
                              pr.device.memory_usable, "B", pr.device.name))
    # A remote scenario's shares are in the order of the request's server groups.
    groups = server_groups(pr) if servers else ()
    for share, group in zip(servers, groups, strict=True):
        out.append(Constraint(ConstraintKind.SERVER_MEMORY, share.memory.total_bytes,
                              group.device.memory_usable, "B", share.device))
    return tuple(out)


def binding_constraint(constraints: Sequence[Constraint]) -> ConstraintKind | None:
    """The violated constraint with the largest overshoot, else the tightest one."""
    if not constraints:
        return None
    worst = min(constraints, key=lambda c: c.margin / c.available if c.available else 0.0)
    return worst.kind


def _scenario(name: str, kind: ScenarioKind, cut: str | None, pr: PricingRequest,
              edge: MemoryBreakdown | None, servers: Sequence[ServerShare], payload: int,
              encoding: str, tensors: tuple[tuple[tuple[int, ...], str], ...], xfer: Transfer,
              edge_macs: int, server_macs: int, edge_s: float, server_s: float,
              branch: str | None) -> Scenario:
    constraints = _constraints(edge, servers, pr)
    remote = bool(servers)
    return Scenario(
        name=name,
        kind=kind,
        cut=cut,
        feasible=all(c.ok for c in constraints),
        binding=binding_constraint(constraints),
        constraints=constraints,
        edge_memory=edge,
        server_memory=servers[0].memory if servers else None,
        payload_bytes=payload,
        payload_encoding=encoding,
        payload_tensors=tensors,
        transfer=xfer,
        edge_macs=edge_macs,
        server_macs=server_macs,
        edge_s=edge_s,
        server_s=server_s,
        images=pr.images,
        band=latency_band(pr.device, pr.server, pr.link, edge_s, server_s, xfer),
        energy=edge_energy(pr.device, pr.link, edge_s, server_s, xfer),
        branch=branch,
        servers=tuple(servers),
        fan_out=fan_out(pr) if remote and len(servers) > 1 else None,
    )


def _results_bytes(heads: Sequence[Profile]) -> int:
    return sum(h.zb_bytes for h in heads)


def loc(pr: PricingRequest) -> Scenario:
    bb, heads, n = pr.backbone, pr.heads, len(pr.heads)
    return _scenario(
        ScenarioKind.LOC.value, ScenarioKind.LOC, None, pr, loc_memory(pr), (), 0, "", (),
        NO_TRANSFER, bb.macs * n + sum(h.macs for h in heads), 0,
        pr.times.loc(), 0.0, None,
    )


def mtl_local(pr: PricingRequest) -> Scenario:
    """The multi-task network whole on the edge: the trunk once, a tail per task after the
    branch point (none at the paper's), then the heads."""
    bb, heads, n = pr.backbone, pr.heads, len(pr.heads)
    segments = local_segments(pr.branch_op, n, len(bb.trace.ops))
    macs = count(pr.cut_analysis.macs_prefix, segments)
    return _scenario(
        ScenarioKind.MTL_LOCAL.value, ScenarioKind.MTL_LOCAL, None, pr, mtl_local_memory(pr),
        (), 0, "", (), NO_TRANSFER, macs + sum(h.macs for h in heads), 0,
        _edge_time(pr, len(bb.trace.ops), True), 0.0, pr.branch_name,
    )


def _edge_time(pr: PricingRequest, end: int, heads: bool) -> float:
    """The edge device's seconds for operators ``[0, end)`` (and the heads): from the cut
    times for the paper's network; a branched one as the stream of kernels it runs."""
    if not pr.branched or (not heads and end <= pr.branch_op + 1):
        return pr.times.mtl_local() if heads else pr.times.edge_prefix[end]
    return stream_time(pr, pr.device, branched_pieces(pr, 0, end, range(len(pr.heads)), heads))


def _numel_of(items: Sequence[Crossing]) -> int:
    return sum(_numel(x.shape) for x in items)


def split(pr: PricingRequest, cut: Cut, kind: ScenarioKind = ScenarioKind.SPLIT) -> Scenario:
    """Edge runs the backbone up to ``cut``, the payload crosses, the server runs the rest and
    the heads. RoC is the cut before the first operator, MTL-Split the cut after the last.

    Past the branch point the edge runs a tail per task up to the cut and sends one tensor per
    task; on several servers each receives (unicast) or is forwarded (relay) its share, and the
    scenario waits for the slowest."""
    b, c, ops, tasks = pr.branch_op, cut.op, len(pr.backbone.trace.ops), len(pr.heads)
    trace = pr.backbone.trace
    encoding = pr.input if c < 0 else pr.payload
    shared, per_task = payload_parts(trace, cut.payload, b)

    def sent(m: int) -> int:
        """Encoded bytes of what a server with ``m`` tasks needs."""
        return encoding.encoded_bytes(_numel_of(shared) + m * _numel_of(per_task),
                                      len(shared) + m * len(per_task))

    tensors = tuple((x.shape, encoding.label) for x in (*shared, *per_task * tasks))
    groups = server_groups(pr)
    mode = fan_out(pr)
    relay = pr.placement.relay if pr.placement is not None else None
    shares, forwarded = [], 0
    for i, g in enumerate(groups):
        receives = sent(len(g.tasks))
        forward = 0.0
        if mode is FanOut.RELAY and i > 0 and relay is not None:
            forwarded += receives  # the first server forwards each share in turn
            forward = relay.rtt_s / 2 + forwarded * 8 / relay.goodput_bps
        macs = count(pr.cut_analysis.macs_prefix, server_segments(b, c, len(g.tasks), ops))
        shares.append(ServerShare(
            g.device.name, g.tasks, receives, forward,
            server_compute(pr, c, g.device, g.tasks), macs + sum(pr.heads[t].macs
                                                                 for t in g.tasks),
            server_memory(pr, cut, g.device, g.tasks)))
    uplink = (sent(tasks) if mode is FanOut.RELAY or len(groups) == 1
              else sum(x.payload_bytes for x in shares))
    name = kind.value if kind is not ScenarioKind.SPLIT else f"Split@{cut.name}"
    segments = edge_segments(b, c, tasks)
    return replace(_scenario(
        name, kind, cut.name, pr, edge_memory(pr, cut), shares, uplink, encoding.label, tensors,
        transfer(uplink, _results_bytes(pr.heads), pr.link),
        count(pr.cut_analysis.macs_prefix, segments), sum(x.macs for x in shares),
        _edge_time(pr, c + 1, False), max(x.done_s for x in shares), pr.branch_name,
    ), fusion_penalty_s=pr.times.penalty(c))


def roc(pr: PricingRequest) -> Scenario:
    return split(pr, pr.cut("input"), ScenarioKind.ROC)


def mtl_split(pr: PricingRequest) -> Scenario:
    cut = pr.cut("output")
    # The paper flattens Z_b before sending it.
    flat = replace(cut, payload=tuple(
        Crossing(c.storage, (_numel(c.shape),), c.dtype, c.nbytes) for c in cut.payload))
    return split(pr, flat, ScenarioKind.MTL_SPLIT)


PRICERS = {ScenarioKind.LOC: loc, ScenarioKind.MTL_LOCAL: mtl_local, ScenarioKind.ROC: roc,
           ScenarioKind.MTL_SPLIT: mtl_split}


def price(pr: PricingRequest, extra_cuts: Sequence[Cut] = ()) -> tuple[Scenario, ...]:
    """The four scenarios of the paper, in its order, then ``Split@cut`` for each extra cut."""
    return (*(PRICERS[kind](pr) for kind in PAPER_SCENARIOS), *(split(pr, c) for c in extra_cuts))


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n
