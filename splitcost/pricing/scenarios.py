"""Scenarios: a pricing request -> each deployment priced. Pure functions: no I/O, no prose.

Scenarios (DESIGN.md):

* ``LoC``: N single-task networks (backbone + one head each) on the edge device;
* ``MTL-Local``: the multi-task network (one backbone, N heads) on the edge device;
* ``RoC``: the input crosses the link, the multi-task network runs on the server;
* ``MTL-Split``: the backbone on the edge, ``Z_b`` crosses the link, the N heads on the server;
* ``Split@CUT``: the backbone up to any other cut on the edge, the rest and the heads on the
  server.

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
from splitcost.pricing.energy import Energy, edge_energy
from splitcost.pricing.memory import (
    MemoryBreakdown,
    loc_memory,
    mtl_local_memory,
    split_memory,
)
from splitcost.pricing.request import PricingRequest

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
        }


def _constraints(edge: MemoryBreakdown | None, server: MemoryBreakdown | None,
                 pr: PricingRequest) -> tuple[Constraint, ...]:
    out = []
    if edge is not None:
        out.append(Constraint(ConstraintKind.EDGE_MEMORY, edge.total_bytes,
                              pr.device.memory_usable, "B"))
    if server is not None:
        out.append(Constraint(ConstraintKind.SERVER_MEMORY, server.total_bytes,
                              pr.server.memory_usable, "B"))
    return tuple(out)


def binding_constraint(constraints: Sequence[Constraint]) -> ConstraintKind | None:
    """The violated constraint with the largest overshoot, else the tightest one."""
    if not constraints:
        return None
    worst = min(constraints, key=lambda c: c.margin / c.available if c.available else 0.0)
    return worst.kind


def _scenario(name: str, kind: ScenarioKind, cut: str | None, pr: PricingRequest,
              edge: MemoryBreakdown | None, server: MemoryBreakdown | None, payload: int,
              encoding: str, tensors: tuple[tuple[tuple[int, ...], str], ...], xfer: Transfer,
              edge_macs: int, server_macs: int, edge_s: float, server_s: float) -> Scenario:
    constraints = _constraints(edge, server, pr)
    return Scenario(
        name=name,
        kind=kind,
        cut=cut,
        feasible=all(c.ok for c in constraints),
        binding=binding_constraint(constraints),
        constraints=constraints,
        edge_memory=edge,
        server_memory=server,
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
    )


def _results_bytes(heads: Sequence[Profile]) -> int:
    return sum(h.zb_bytes for h in heads)


def loc(pr: PricingRequest) -> Scenario:
    bb, heads, n = pr.backbone, pr.heads, len(pr.heads)
    return _scenario(
        ScenarioKind.LOC.value, ScenarioKind.LOC, None, pr, loc_memory(pr), None, 0, "", (),
        NO_TRANSFER, bb.macs * n + sum(h.macs for h in heads), 0,
        pr.times.edge(len(bb.trace.ops) - 1) * n + sum(pr.times.heads_edge), 0.0,
    )


def mtl_local(pr: PricingRequest) -> Scenario:
    bb, heads = pr.backbone, pr.heads
    return _scenario(
        ScenarioKind.MTL_LOCAL.value, ScenarioKind.MTL_LOCAL, None, pr, mtl_local_memory(pr),
        None, 0, "", (), NO_TRANSFER, bb.macs + sum(h.macs for h in heads), 0,
        pr.times.edge(len(bb.trace.ops) - 1) + sum(pr.times.heads_edge), 0.0,
    )


def split(pr: PricingRequest, cut: Cut, kind: ScenarioKind = ScenarioKind.SPLIT) -> Scenario:
    """Edge runs the backbone up to ``cut``, the payload crosses, the server runs the rest and
    the heads. RoC is the cut before the first operator, MTL-Split the cut after the last."""
    encoding = pr.input if cut.op < 0 else pr.payload
    payload = encoding.encoded_bytes(cut.payload_numel, len(cut.payload))
    tensors = tuple((c.shape, encoding.label) for c in cut.payload)
    edge, server = split_memory(pr, cut)
    name = kind.value if kind is not ScenarioKind.SPLIT else f"Split@{cut.name}"
    return replace(_scenario(
        name, kind, cut.name, pr, edge, server, payload, encoding.label, tensors,
        transfer(payload, _results_bytes(pr.heads), pr.link), cut.edge_macs,
        cut.server_macs + sum(h.macs for h in pr.heads), pr.times.edge(cut.op),
        pr.times.server(cut.op),
    ), fusion_penalty_s=pr.times.penalty(cut.op))


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
