"""Pricing: a backbone's Profile, its task heads, a device, a server and a link -> scenarios.

Scenarios (DESIGN.md):

* ``LoC``: N single-task networks (backbone + one head each) on the edge device;
* ``MTL-Local``: the multi-task network (one backbone, N heads) on the edge device;
* ``RoC``: the input crosses the link, the multi-task network runs on the server;
* ``MTL-Split``: the backbone on the edge, ``Z_b`` crosses the link, the N heads on the server.

Every number carries its breakdown: memory by part under a named memory model, latency as edge
compute + transfer + server compute. Pure functions: no I/O, no printing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import Any

from splitcost.cuts import Cut, CutAnalysis, find_cut
from splitcost.latency import (
    NO_TRANSFER,
    PRECISION_OF_DTYPE,
    OpWork,
    Transfer,
    compute_time,
    op_time,
    transfer,
)
from splitcost.liveness import Crossing
from splitcost.memory import torchinfo_part
from splitcost.payload import Encoding
from splitcost.profiles import Device, Link
from splitcost.profiling import Profile

SCENARIOS = ("LoC", "MTL-Local", "RoC", "MTL-Split")
FLOAT32 = Encoding("float32", 4)


@dataclass(frozen=True)
class MemoryBreakdown:
    """Memory one side needs, by part, under one memory model. Bytes."""

    model: str
    processes: int
    runtime_overhead_bytes: int
    params_bytes: int
    buffers_bytes: int
    activations_bytes: int  # inference: peak live activations; torchinfo: input + fwd/bwd
    total_bytes: int
    formula: str  # how the parts were combined, in words

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Constraint:
    """One limit a scenario must respect."""

    name: str  # "edge memory", "server memory"
    needed: float
    available: float
    unit: str  # "B" or "s"

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
class LatencyBand:
    """The range a scenario's latency is expected in: the compute parts within each device's
    validated error of the latency model, the transfer at the link's p10 and p90 uplink."""

    low_s: float
    high_s: float
    basis: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Energy:
    """Edge energy per inference, joules: the device computing (active power x edge compute),
    the device waiting for the results (idle power x transfer and server time), the radio
    sending the payload (energy per bit + base power while sending). A cellular radio that was
    idle also burns a tail after the burst, given separately because back-to-back inferences
    share it."""

    compute_j: float
    idle_j: float
    radio_j: float
    tail_j: float
    basis: str

    @property
    def total_j(self) -> float:
        return self.compute_j + self.idle_j + self.radio_j

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["total_j"] = self.total_j
        return d


@dataclass(frozen=True)
class Scenario:
    """One deployment, priced. Times are per inference (one batch); bytes are ints."""

    name: str
    description: str
    feasible: bool
    binding: str  # the violated or tightest constraint
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
    notes: tuple[str, ...] = field(default=())
    band: LatencyBand | None = None
    energy: Energy | None = None

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "feasible": self.feasible,
            "binding": self.binding,
            "constraints": [c.to_dict() for c in self.constraints],
            "memory_model": (self.edge_memory or self.server_memory or _NONE).model,
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
            "notes": list(self.notes),
        }


_NONE = MemoryBreakdown("none", 0, 0, 0, 0, 0, 0, "")


def op_work(p: Profile, start: int = 0, end: int | None = None) -> list[OpWork]:
    """The roofline inputs of operators ``[start, end)`` of a profile's trace."""
    ops = p.trace.ops[start:end]
    return [
        OpWork(
            op.cost.op_class,
            op.cost.flops,
            sum(m.nbytes for m in op.inputs) + sum(m.nbytes for m in op.outputs),
        )
        for op in ops
    ]


@dataclass(frozen=True)
class Pricing:
    """Everything a scenario is priced with."""

    backbone: Profile
    heads: tuple[Profile, ...]
    device: Device
    server: Device
    link: Link
    memory_model: str = "inference"
    payload: Encoding = FLOAT32
    input: Encoding = FLOAT32
    images: int = 1
    processes: str = "one"  # LoC: all N networks in "one" process, or one process "per-task"

    @property
    def precision(self) -> str:
        return PRECISION_OF_DTYPE.get(self.backbone.dtype, "fp32")

    @cached_property
    def cut_analysis(self) -> CutAnalysis:
        """The backbone's per-operator prefix sums, built once per pricing for every cut."""
        return CutAnalysis(self.backbone.trace)

    def cut(self, name: str) -> Cut:
        return find_cut(self.backbone.trace, name, self.cut_analysis)

    @cached_property
    def times(self) -> SideTimes:
        """Compute times of every backbone operator on each side, summed once per pricing."""
        work = op_work(self.backbone)
        edge = _prefix([op_time(w, self.device, self.precision) for w in work])
        server = _prefix([op_time(w, self.server, self.precision) for w in work])
        return SideTimes(
            edge, server,
            tuple(compute_time(op_work(h), self.device, self.precision) for h in self.heads),
            tuple(compute_time(op_work(h), self.server, self.precision) for h in self.heads),
        )


@dataclass(frozen=True)
class SideTimes:
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


# --- memory ------------------------------------------------------------------------------------


def _state(p: Profile) -> tuple[int, int]:
    inf = p.memory.inference
    return inf.params_bytes, inf.buffers_bytes


def _heads_stage_peak(heads: Sequence[Profile]) -> int:
    """Peak live activations while the heads run one after another on a received Z_b.

    Each head's own peak includes its input (the flattened Z_b); the outputs of the heads
    already run stay alive until the network returns.
    """
    best, done = 0, 0
    for h in heads:
        best = max(best, h.memory.inference.peak_activation_bytes + done)
        done += h.zb_bytes
    return best


def _network_peak(bb: Profile, heads: Sequence[Profile]) -> int:
    """Backbone then heads in one forward: the caller still holds the input during the heads."""
    return max(bb.memory.inference.peak_activation_bytes, bb.input_bytes + _heads_stage_peak(heads))


def _inference(device: Device, parts: Sequence[Profile], peak: int, formula: str,
               processes: int = 1) -> MemoryBreakdown:
    params = sum(_state(p)[0] for p in parts)
    buffers = sum(_state(p)[1] for p in parts)
    overhead = device.runtime_overhead * processes
    return MemoryBreakdown(
        "inference", processes, overhead, params, buffers, peak,
        overhead + params + buffers + peak, formula,
    )


def _torchinfo(bb: Profile | None, heads: Sequence[Profile], copies: int, formula: str
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
    return MemoryBreakdown("torchinfo", 1, 0, params, 0, activations, params + activations,
                           formula)


def _memory(model: str, device: Device, bb: Profile | None, heads: Sequence[Profile],
            copies: int, peak: int, formula: str) -> MemoryBreakdown:
    if model == "torchinfo":
        return _torchinfo(bb, heads, copies, formula)
    parts = ([bb] * copies if bb is not None else []) + list(heads)
    return _inference(device, parts, peak, formula)


# --- scenarios --------------------------------------------------------------------------------


def _constraints(edge: MemoryBreakdown | None, server: MemoryBreakdown | None, pr: Pricing
                 ) -> tuple[Constraint, ...]:
    out = []
    if edge is not None:
        out.append(Constraint("edge memory", edge.total_bytes, pr.device.memory_usable, "B"))
    if server is not None:
        out.append(Constraint("server memory", server.total_bytes, pr.server.memory_usable, "B"))
    return tuple(out)


def binding_constraint(constraints: Sequence[Constraint]) -> str:
    """The violated constraint with the largest overshoot, else the tightest one."""
    if not constraints:
        return "none"
    worst = min(constraints, key=lambda c: c.margin / c.available if c.available else 0.0)
    return worst.name


def _scenario(name: str, description: str, pr: Pricing, edge: MemoryBreakdown | None,
              server: MemoryBreakdown | None, payload: int, encoding: str,
              tensors: tuple[tuple[tuple[int, ...], str], ...], xfer: Transfer,
              edge_macs: int, server_macs: int, edge_s: float, server_s: float,
              notes: tuple[str, ...] = ()) -> Scenario:
    constraints = _constraints(edge, server, pr)
    band = latency_band(pr, edge_s, server_s, xfer)
    energy = edge_energy(pr.device, pr.link, edge_s, server_s, xfer)
    return Scenario(
        name=name,
        description=description,
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
        notes=notes,
        band=band,
        energy=energy,
    )


def edge_energy(device: Device, link: Link, edge_s: float, server_s: float, xfer: Transfer
                ) -> Energy | None:
    """Energy per inference on the edge device; None without the device's power figures."""
    if device.power_active_w is None:
        return None
    idle = (device.power_idle_w or 0.0) * (xfer.total_s + server_s)
    radio, tail = 0.0, 0.0
    basis = f"{device.name} {device.power_active_w:g} W active"
    if device.power_idle_w is not None:
        basis += f", {device.power_idle_w:g} W idle"
    if xfer.payload_bytes and link.energy is not None:
        radio = link.energy.per_bit_j * xfer.payload_bytes * 8
        radio += link.energy.base_power_w * xfer.uplink_s
        tail = link.energy.tail_j
        basis += f"; {link.name} radio {link.energy.per_bit_j * 1e9:g} nJ/bit"
    elif xfer.payload_bytes:
        basis += f"; no radio energy model for {link.name}"
    return Energy(device.power_active_w * edge_s, idle, radio, tail, basis)

def latency_band(pr: Pricing, edge_s: float, server_s: float, xfer: Transfer
                 ) -> LatencyBand | None:
    """Low and high latency from the devices' validated errors and the link's percentiles."""
    basis: list[str] = []
    low = high = 0.0
    for part, device in ((edge_s, pr.device), (server_s, pr.server)):
        err = device.latency_error
        text = f"{device.name} compute +/-{100 * (err or 0):.0f}%"
        if part and err is not None and text not in basis:
            basis.append(text)
        err = err or 0.0
        low += part * (1 - err)
        high += part * (1 + err)
    link = pr.link
    up = xfer.uplink_s
    slow = up * link.bandwidth_bps / link.bandwidth_p10_bps if link.bandwidth_p10_bps else up
    fast = up * link.bandwidth_bps / link.bandwidth_p90_bps if link.bandwidth_p90_bps else up
    if xfer.payload_bytes and (link.bandwidth_p10_bps or link.bandwidth_p90_bps):
        basis.append(f"{link.name} uplink p10-p90")
    if not basis:
        return None
    rest = xfer.latency_s + xfer.downlink_s
    return LatencyBand(low + rest + fast, high + rest + slow, "; ".join(basis))


def _results_bytes(heads: Sequence[Profile]) -> int:
    return sum(h.zb_bytes for h in heads)


def loc(pr: Pricing) -> Scenario:
    bb, heads, n = pr.backbone, pr.heads, len(pr.heads)
    if pr.processes == "per-task" and pr.memory_model == "inference":
        peaks = [_network_peak(bb, [h]) for h in heads]
        parts = [_inference(pr.device, [bb, h], peak, "") for h, peak in zip(heads, peaks,
                                                                                strict=True)]
        edge = MemoryBreakdown(
            "inference", n, sum(p.runtime_overhead_bytes for p in parts),
            sum(p.params_bytes for p in parts), sum(p.buffers_bytes for p in parts),
            sum(p.activations_bytes for p in parts), sum(p.total_bytes for p in parts),
            f"{n} single-task networks in {n} processes running at once: {n} x (runtime + "
            "backbone + head weights + activation peak)",
        )
    else:
        peak = max(_network_peak(bb, [h]) for h in heads)
        edge = _memory(
            pr.memory_model, pr.device, bb, heads, n, peak,
            f"{n} single-task networks in one process, run one after another: runtime + "
            f"{n} x (backbone + head) weights + the largest activation peak",
        )
    return _scenario(
        "LoC", f"{n} single-task networks (backbone + 1 head each) on {pr.device.name}", pr,
        edge, None, 0, "", (), NO_TRANSFER, bb.macs * n + sum(h.macs for h in heads), 0,
        pr.times.edge(len(bb.trace.ops) - 1) * n + sum(pr.times.heads_edge), 0.0,
    )


def mtl_local(pr: Pricing) -> Scenario:
    bb, heads, n = pr.backbone, pr.heads, len(pr.heads)
    edge = _memory(
        pr.memory_model, pr.device, bb, heads, 1, _network_peak(bb, heads),
        f"one backbone + {n} heads: weights + activation peak of one multi-task forward",
    )
    return _scenario(
        "MTL-Local", f"the multi-task network (1 backbone, {n} heads) on {pr.device.name}", pr,
        edge, None, 0, "", (), NO_TRANSFER, bb.macs + sum(h.macs for h in heads), 0,
        pr.times.edge(len(bb.trace.ops) - 1) + sum(pr.times.heads_edge), 0.0,
    )


def split_memory(pr: Pricing, cut: Cut) -> tuple[MemoryBreakdown | None, MemoryBreakdown]:
    """Memory of each side of a cut, under the pricing's memory model."""
    bb, heads, n = pr.backbone, pr.heads, len(pr.heads)
    trace = bb.trace
    heads_state = [_state(h) for h in heads]
    heads_stage = _heads_stage_peak(heads)
    if pr.memory_model == "torchinfo":
        edge_t = torchinfo_part(trace, cut.op, "edge", trace.torchinfo_input_bytes)
        server_in = trace.torchinfo_input_bytes if cut.op < 0 else cut.payload_bytes
        server_t = torchinfo_part(trace, cut.op, "server", server_in)
        head_fb = sum(h.memory.torchinfo.forward_backward_bytes for h in heads)
        head_params = sum(h.memory.torchinfo.params_bytes for h in heads)
        edge = None if cut.op < 0 else MemoryBreakdown(
            "torchinfo", 1, 0, edge_t.params_bytes, 0,
            edge_t.input_bytes + edge_t.forward_backward_bytes, edge_t.total_bytes,
            "torchinfo 1.8.0 over the leaf layers that run on the edge",
        )
        server_params = server_t.params_bytes + head_params
        server_act = server_t.input_bytes + server_t.forward_backward_bytes + head_fb
        server = MemoryBreakdown(
            "torchinfo", 1, 0, server_params, 0, server_act, server_params + server_act,
            f"torchinfo 1.8.0 over the rest of the backbone and {n} heads, the payload as input",
        )
        return edge, server
    edge = None
    if cut.op >= 0:
        overhead = pr.device.runtime_overhead
        edge = MemoryBreakdown(
            "inference", 1, overhead, cut.edge_param_bytes, cut.edge_buffer_bytes,
            cut.edge_peak_bytes,
            overhead + cut.edge_param_bytes + cut.edge_buffer_bytes + cut.edge_peak_bytes,
            "runtime + weights the edge operators read + their activation peak (input and "
            "payload included)",
        )
    activations = max(cut.server_peak_bytes, cut.held_bytes + heads_stage)
    params = cut.server_param_bytes + sum(s[0] for s in heads_state)
    buffers = cut.server_buffer_bytes + sum(s[1] for s in heads_state)
    overhead = pr.server.runtime_overhead
    server = MemoryBreakdown(
        "inference", 1, overhead, params, buffers, activations,
        overhead + params + buffers + activations,
        f"runtime + weights of the rest of the backbone and {n} heads + activation peak "
        "(the received payload held throughout)",
    )
    return edge, server


def split(pr: Pricing, cut: Cut, name: str | None = None, description: str | None = None
          ) -> Scenario:
    """Edge runs the backbone up to ``cut``, the payload crosses, the server runs the rest and
    the heads. RoC is the cut before the first operator, MTL-Split the cut after the last."""
    heads, n = pr.heads, len(pr.heads)
    encoding = pr.input if cut.op < 0 else pr.payload
    payload = encoding.encoded_bytes(cut.payload_numel, len(cut.payload))
    tensors = tuple((c.shape, encoding.label) for c in cut.payload)
    edge, server = split_memory(pr, cut)
    edge_s, server_s = pr.times.edge(cut.op), pr.times.server(cut.op)
    label = name or f"Split@{cut.name}"
    text = description or (
        f"backbone up to {cut.name} on {pr.device.name}, {len(cut.payload)} tensor(s) sent as "
        f"{encoding.label}, the rest and {n} heads on {pr.server.name}"
    )
    return _scenario(
        label, text, pr, edge, server, payload, encoding.label, tensors,
        transfer(payload, _results_bytes(heads), pr.link), cut.edge_macs,
        cut.server_macs + sum(h.macs for h in heads), edge_s, server_s,
    )


def roc(pr: Pricing) -> Scenario:
    return split(
        pr, pr.cut("input"), "RoC",
        f"input sent as {pr.input.label}; the multi-task network on {pr.server.name}",
    )


def mtl_split(pr: Pricing) -> Scenario:
    n = len(pr.heads)
    cut = pr.cut("output")
    # The paper flattens Z_b before sending it.
    flat = replace(cut, payload=tuple(
        Crossing(c.storage, (_numel(c.shape),), c.dtype, c.nbytes) for c in cut.payload))
    return split(
        pr, flat, "MTL-Split",
        f"backbone on {pr.device.name}, Z_b sent as {pr.payload.label}, {n} heads on "
        f"{pr.server.name}",
    )


def price(pr: Pricing, extra_cuts: Sequence[Cut] = ()) -> tuple[Scenario, ...]:
    """The four scenarios of the paper, in its order, then ``Split@cut`` for each extra cut."""
    return (loc(pr), mtl_local(pr), roc(pr), mtl_split(pr), *(split(pr, c) for c in extra_cuts))


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n
