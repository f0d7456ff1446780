"""The sentences that explain a priced figure: what a scenario is, how its memory was added
up, what its likely range and its energy are made of."""

from __future__ import annotations

from typing import TYPE_CHECKING

from splitcost.kinds import MemoryModel, ScenarioKind
from splitcost.units import format_count, format_energy, format_seconds

if TYPE_CHECKING:
    from splitcost.hardware.device import Device
    from splitcost.hardware.link import Link
    from splitcost.pricing.band import LatencyBand
    from splitcost.pricing.memory import MemoryBreakdown
    from splitcost.pricing.request import PricingRequest
    from splitcost.pricing.scenarios import Scenario
    from splitcost.studies.plan import Plan

MEMORY_MODEL_SENTENCES = {
    MemoryModel.INFERENCE: (
        "inference: peak bytes of live activations in eager execution (inputs included, each "
        "storage freed when PyTorch frees it) + parameters + buffers; a device adds its "
        "per-process runtime overhead"
    ),
    MemoryModel.TORCHINFO: (
        "torchinfo: torchinfo 1.8.0's estimate, input size + 2 x outputs of leaf modules with "
        "parameters ('forward/backward pass size', a training heuristic) + parameter bytes; "
        "the paper's Table 4 used it"
    ),
}


def memory_formula(m: MemoryBreakdown, tasks: int) -> str:
    """How one side's memory was added up, in words."""
    # imported here: --help, devices and links load this module and price nothing
    from splitcost.pricing.memory import MemoryLayout

    n = tasks
    torchinfo = m.model is MemoryModel.TORCHINFO
    if m.layout is MemoryLayout.SINGLE_TASK_PROCESSES:
        return (f"{n} single-task networks in {n} processes running at once: {n} x (runtime + "
                "backbone + head weights + activation peak)")
    if m.layout is MemoryLayout.SINGLE_TASK_NETWORKS:
        return (f"{n} single-task networks in one process, run one after another: runtime + "
                f"{n} x (backbone + head) weights + the largest activation peak")
    if m.layout is MemoryLayout.MULTI_TASK_NETWORK:
        return f"one backbone + {n} heads: weights + activation peak of one multi-task forward"
    if m.layout is MemoryLayout.EDGE_PART:
        if torchinfo:
            return "torchinfo 1.8.0 over the leaf layers that run on the edge"
        return ("runtime + weights the edge operators read + their activation peak (input and "
                "payload included)")
    if torchinfo:
        return (f"torchinfo 1.8.0 over the rest of the backbone and {n} heads, the payload as "
                "input")
    return (f"runtime + weights of the rest of the backbone and {n} heads + activation peak "
            "(the received payload held throughout)")


def describe(s: Scenario, pr: PricingRequest) -> str:
    """What a scenario runs where, in one phrase."""
    n, dev, srv = len(pr.heads), pr.device.name, pr.server.name
    if s.servers and len(s.servers) > 1:
        srv = " + ".join(x.device for x in s.servers)
    backbone = ("backbone" if s.branch in (None, "output") else
                f"backbone (shared to '{s.branch}', a copy per task after it)")
    if s.kind is ScenarioKind.LOC:
        return f"{n} single-task networks (backbone + 1 head each) on {dev}"
    if s.kind is ScenarioKind.MTL_LOCAL:
        return f"the multi-task network (1 {backbone}, {n} heads) on {dev}"
    if s.kind is ScenarioKind.ROC:
        return f"input sent as {pr.input.label}; the multi-task network on {srv}"
    if s.kind is ScenarioKind.MTL_SPLIT:
        zb = "Z_b" if len(s.payload_tensors) == 1 else f"{len(s.payload_tensors)} Z_b"
        return f"{backbone} on {dev}, {zb} sent as {pr.payload.label}, {n} heads on {srv}"
    return (f"{backbone} up to '{s.cut}' on {dev}, {len(s.payload_tensors)} tensor(s) sent as "
            f"{s.payload_encoding}, the rest and {n} heads on {srv}")


def band_basis(band: LatencyBand) -> str:
    """What a likely range is made of: ``jetson-nano-4gb compute +/-25%; lte uplink p10-p90``."""
    parts = [f"{e.device} compute +/-{100 * e.error:.0f}%" for e in band.compute_errors]
    if band.link_percentiles:
        parts.append(f"{band.link_percentiles} uplink p10-p90")
    return "; ".join(parts)


def energy_basis(device: Device, link: Link) -> str:
    """The edge energy model of a device and a link, in one sentence."""
    if device.power_active_w is None:
        return "Edge energy: the device profile gives no power figures."
    idle = f" + {device.power_idle_w:g} W idle x waiting" if device.power_idle_w is not None else ""
    if link.energy is None:
        radio = f"no radio energy model for {link.name}"
    else:
        radio = (f"{link.name} radio {link.energy.per_bit_j * 1e9:g} nJ/bit + "
                 f"{link.energy.base_power_w:g} W while sending")
        if link.energy.tail_j:
            radio += (f"; a {format_energy(link.energy.tail_j)} tail after a burst from idle is "
                      "not included (back-to-back inferences share it)")
    return (f"Edge energy per inference: {device.power_active_w:g} W active x edge "
            f"compute{idle} + radio ({radio}).")


# --- fleet: servers, batching, tail latency ----------------------------------------------------


def _tasks_words(tasks: tuple[int, ...]) -> str:
    numbers = ",".join(str(t + 1) for t in tasks)
    return f"task{'s' if len(tasks) != 1 else ''} {numbers}"


def sharing_lines(pr: PricingRequest) -> tuple[str, ...]:
    """The branch point and the placement of the heads, when they are not the paper's."""
    out = []
    if pr.branch_op < len(pr.backbone.trace.ops) - 1:
        shared = ("nothing: N single-task networks" if pr.branch_op < 0 else
                  f"the backbone up to '{pr.branch_name}'")
        out.append(f"Branch point '{pr.branch_name}': the tasks share {shared}; each runs its own "
                   "copy of the rest (a cut past it sends one tensor per task)")
    if pr.placement is not None:
        out.append(f"Servers: {placement_words(pr)}; a scenario completes when the slowest "
                   "server answers")
    return tuple(out)


def servers_line(pl: Plan) -> str:
    return placement_words(pl.request)


def placement_words(pr: PricingRequest) -> str:
    """``rtx-3090`` or ``rtx-3090 (tasks 1,2) + t4 (task 3), the payload unicast (a copy to
    each over the uplink)``."""
    placement = pr.placement
    if placement is None:
        return pr.server.name
    from splitcost.pricing.placement import FanOut

    groups = " + ".join(f"{g.device.name} ({_tasks_words(g.tasks)})" for g in placement.groups)
    if placement.fan_out is FanOut.RELAY and placement.relay is not None:
        how = (f"the payload relayed (one copy to {placement.groups[0].device.name}, which "
               f"forwards each share over {placement.relay.name})")
    else:
        how = "the payload unicast (a copy to each server over the uplink)"
    return f"{groups}, {how}"


def batching_line(pl: Plan) -> str:
    if pl.max_batch == 1:
        return ("Server batching: none (--max-batch 1): each request is served alone, in its "
                "batch-1 time")
    wait = (f"a request that finds the server idle waits up to "
            f"{format_seconds(pl.max_queue_delay_s)} for company" if pl.max_queue_delay_s > 0
            else "a request that finds the server idle starts at once")
    return (f"Server batching: up to {pl.max_batch} requests per batch, as Triton's dynamic "
            f"batcher; {wait}; a batch of b takes the roofline's time at batch b (weights read "
            "once per batch)")


def tail_basis(pl: Plan) -> str:
    """What p50/p95/p99 are made of."""
    link = pl.request.link
    if link.bandwidth_p10_bps or link.bandwidth_p90_bps:
        spread = (f"the uplink spread as {link.name}'s p10/p90 bandwidth say (log-normal, "
                  "independent per inference)")
    else:
        spread = f"the uplink fixed ({link.name} gives no p10/p90 bandwidth)"
    text = (f"p50/p95/p99: end to end at the planned fleet, each server sharing the devices "
            f"evenly: edge compute fixed (frames at a fixed rate queue nowhere below 100%), "
            f"{spread}, each server a queue (arrivals merged from its devices as a Poisson "
            "stream, a fixed service time per batch size: M/D/1, with batching), the slowest "
            "server on several. '>100%': above 100% load, a device, its uplink or a server "
            "cannot keep up; 'no fit': memory.")
    if pl.slo_s is not None:
        text += f" Miss SLO: the share of inferences slower than {format_seconds(pl.slo_s)}."
    return text


def batch_notes(pl: Plan) -> tuple[str, ...]:
    """Per remote scenario: what one server sustains, and what waiting for a batch costs."""
    out = []
    for row in pl.rows:
        for g in row.groups:
            if g.mean_wait_s is None:
                continue
            who = f"{row.name} on {g.server}" + (
                f" ({_tasks_words(g.tasks)})" if len(row.groups) > 1 else "")
            batch = (f"S(1) {format_seconds(g.service_batch1_s)}, S({pl.max_batch}) "
                     f"{format_seconds(g.service_max_batch_s)}" if pl.max_batch > 1 else
                     f"S(1) {format_seconds(g.service_batch1_s)}")
            out.append(
                f"{who}: one server sustains {format_count(g.capacity_rps)} requests/s "
                f"({batch}); at {100 * g.load:.0f}% load a request waits "
                f"{format_seconds(g.mean_wait_s)} on average for its batch, served in batches "
                f"of {g.mean_batch:.2g}." if g.mean_batch is not None else "")
    return tuple(x for x in out if x)
