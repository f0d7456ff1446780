"""The sentences that explain a priced figure: what a scenario is, how its memory was added
up, what its likely range and its energy are made of."""

from __future__ import annotations

from typing import TYPE_CHECKING

from splitcost.kinds import MemoryModel, ScenarioKind
from splitcost.pricing.memory import MemoryBreakdown, MemoryLayout
from splitcost.units import format_energy

if TYPE_CHECKING:
    from splitcost.hardware.device import Device
    from splitcost.hardware.link import Link
    from splitcost.pricing.band import LatencyBand
    from splitcost.pricing.request import PricingRequest
    from splitcost.pricing.scenarios import Scenario

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
    if s.kind is ScenarioKind.LOC:
        return f"{n} single-task networks (backbone + 1 head each) on {dev}"
    if s.kind is ScenarioKind.MTL_LOCAL:
        return f"the multi-task network (1 backbone, {n} heads) on {dev}"
    if s.kind is ScenarioKind.ROC:
        return f"input sent as {pr.input.label}; the multi-task network on {srv}"
    if s.kind is ScenarioKind.MTL_SPLIT:
        return f"backbone on {dev}, Z_b sent as {pr.payload.label}, {n} heads on {srv}"
    return (f"backbone up to '{s.cut}' on {dev}, {len(s.payload_tensors)} tensor(s) sent as "
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
