"""Every cut priced: the recommended split, the Pareto front, and where the choice flips.

``sweep()`` prices each cut of :mod:`splitcost.cuts` as a split scenario (backbone up to the cut
on the edge, the rest and the heads on the server), marks the best one that fits for an objective
under optional constraints, the Pareto front (latency, edge memory, payload), and the link
bandwidths at which another cut, RoC (the ``input`` cut) or running everything on the edge
(MTL-Local) would win instead.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from splitcost.breakeven import Crossover, crossovers, nearest
from splitcost.cost import Pricing, Scenario, mtl_local, split
from splitcost.cuts import Cut, cuts
from splitcost.errors import InputError
from splitcost.heads import DEFAULT_HIDDEN, Task, parse_tasks
from splitcost.memory import MEMORY_MODELS
from splitcost.payload import input_encoding, payload_encoding
from splitcost.profiles import Device, Link, load_device, load_link
from splitcost.profiling import Profile
from splitcost.report import DEFAULT_DEVICE, DEFAULT_SERVER, head_profiles, uint8_note
from splitcost.units import format_bytes, format_rate, format_seconds

OBJECTIVES = ("latency", "edge-memory", "payload", "energy")


@dataclass(frozen=True)
class CutResult:
    """One cut, priced, with the constraints it breaks."""

    cut: Cut
    scenario: Scenario
    violations: tuple[str, ...]  # memory, SLO or payload limits it does not meet

    @property
    def ok(self) -> bool:
        return not self.violations

    def objective(self, objective: str) -> tuple[float, float]:
        s = self.scenario
        energy = s.energy.total_j if s.energy else math.inf
        primary = {
            "latency": s.total_s,
            "edge-memory": float(s.edge_memory_bytes),
            "payload": float(s.payload_bytes),
            "energy": energy,
        }[objective]
        return primary, s.total_s

    def to_dict(self) -> dict[str, Any]:
        s = self.scenario
        return {
            "cut": self.cut.name,
            "kind": self.cut.kind,
            "op": self.cut.op,
            "module": self.cut.module,
            "payload_bytes": s.payload_bytes,
            "payload_bytes_raw": self.cut.payload_bytes,
            "payload_tensors": [
                {"shape": list(c.shape), "dtype": s.payload_encoding or c.dtype,
                 "bytes": c.nbytes}
                for c in self.cut.payload
            ],
            "edge_params": self.cut.edge_params,
            "edge_param_bytes": self.cut.edge_param_bytes,
            "edge_macs": self.cut.edge_macs,
            "server_macs": s.server_macs,
            "edge_memory_bytes": s.edge_memory_bytes,
            "server_memory_bytes": s.server_memory_bytes,
            "edge_peak_activation_bytes": self.cut.edge_peak_bytes,
            "server_peak_activation_bytes": self.cut.server_peak_bytes,
            "edge_s": s.edge_s,
            "transfer_s": s.transfer_s,
            "server_s": s.server_s,
            "total_s": s.total_s,
            "edge_energy_j": s.energy.total_j if s.energy else None,
            "feasible": s.feasible,
            "meets_constraints": self.ok,
            "violations": list(self.violations),
        }


@dataclass(frozen=True)
class Sweep:
    profile: Profile
    tasks: tuple[Task, ...]
    heads: tuple[Profile, ...]
    device: Device
    server: Device
    link: Link
    memory_model: str
    objective: str
    slo_s: float | None
    max_payload_bytes: int | None
    results: tuple[CutResult, ...]
    best: int | None  # index into results
    pareto: tuple[int, ...]
    crossovers: tuple[Crossover, ...]
    local: Scenario  # MTL-Local, the no-link alternative
    notes: tuple[str, ...]
    verdict: str
    close: tuple[int, ...] = ()  # cuts whose likely range overlaps the best one's: measure them

    @property
    def best_result(self) -> CutResult | None:
        return None if self.best is None else self.results[self.best]

    def to_dict(self) -> dict[str, Any]:
        bb = self.profile
        return {
            "backbone": {"name": bb.name, "input_shape": list(bb.input_shape), "batch": bb.batch,
                         "dtype": bb.dtype, "macs": bb.macs, "zb_bytes": bb.zb_bytes},
            "tasks": [t.classes for t in self.tasks],
            "device": self.device.name,
            "server": self.server.name,
            "link": {"name": self.link.name, "bandwidth_bps": self.link.bandwidth_bps,
                     "rtt_s": self.link.rtt_s, "efficiency": self.link.efficiency},
            "memory_model": self.memory_model,
            "objective": self.objective,
            "slo_s": self.slo_s,
            "max_payload_bytes": self.max_payload_bytes,
            "cuts": [r.to_dict() for r in self.results],
            "best": None if self.best is None else self.results[self.best].cut.name,
            "pareto": [self.results[i].cut.name for i in self.pareto],
            "breakeven": [c.to_dict() for c in self.crossovers],
            "mtl_local": {"feasible": self.local.feasible, "total_s": self.local.total_s,
                          "edge_memory_bytes": self.local.edge_memory_bytes},
            "notes": list(self.notes),
            "within_error_band": [self.results[i].cut.name for i in self.close],
            "verdict": self.verdict,
        }


def _violations(s: Scenario, slo_s: float | None, max_payload: int | None) -> tuple[str, ...]:
    out = [f"{c.name} ({format_bytes(c.needed)} > {format_bytes(c.available)})"
           for c in s.constraints if not c.ok]
    if slo_s is not None and s.total_s > slo_s:
        out.append(f"SLO ({format_seconds(s.total_s)} > {format_seconds(slo_s)})")
    if max_payload is not None and s.payload_bytes > max_payload:
        out.append(f"payload ({format_bytes(s.payload_bytes)} > {format_bytes(max_payload)})")
    return tuple(out)


def pareto_front(points: Sequence[tuple[float, ...]]) -> list[int]:
    """Indices of the points no other point beats or equals in every coordinate."""
    front = []
    for i, p in enumerate(points):
        dominated = any(
            all(q[d] <= p[d] for d in range(len(p))) and any(q[d] < p[d] for d in range(len(p)))
            for j, q in enumerate(points) if j != i
        )
        if not dominated:
            front.append(i)
    return front


def sweep(
    profile: Profile,
    tasks: int | str | list[int] = 3,
    *,
    device: str | Device = DEFAULT_DEVICE,
    server: str | Device = DEFAULT_SERVER,
    link: str | Link = "1gbps",
    depth: int | None = None,
    every_op: bool = False,
    objective: str = "latency",
    slo_s: float | None = None,
    max_payload_bytes: int | None = None,
    memory_model: str = "inference",
    payload_dtype: str = "float32",
    payload_compression: float | str | None = None,
    input_dtype: str = "float32",
    hidden: int = DEFAULT_HIDDEN,
    profiles: Sequence[str | os.PathLike[str]] = (),
) -> Sweep:
    """Price every cut of ``profile`` and recommend one."""
    if objective not in OBJECTIVES:
        raise InputError(f"--objective: expected one of {', '.join(OBJECTIVES)}, got "
                         f"{objective!r}")
    if memory_model not in MEMORY_MODELS:
        raise InputError(f"--memory-model: expected one of {', '.join(MEMORY_MODELS)}, got "
                         f"{memory_model!r}")
    if hidden < 1:
        raise InputError(f"--hidden: expected at least 1, got {hidden}")
    if depth is not None and depth < 1:
        raise InputError(f"--depth: expected an integer of at least 1, got {depth}")
    task_list = tuple(parse_tasks(tasks))
    dev = device if isinstance(device, Device) else load_device(device, profiles)
    srv = server if isinstance(server, Device) else load_device(server, profiles)
    lnk = link if isinstance(link, Link) else load_link(link, profiles)
    heads = head_profiles(profile, task_list, hidden)
    pr = Pricing(profile, heads, dev, srv, lnk, memory_model,
                 payload_encoding(payload_dtype, payload_compression), input_encoding(input_dtype))
    results = []
    for cut in cuts(profile.trace, depth, every_op):
        scenario = split(pr, cut)
        results.append(CutResult(cut, scenario, _violations(scenario, slo_s, max_payload_bytes)))
    local = mtl_local(pr)
    ok = [i for i, r in enumerate(results) if r.ok]
    best = min(ok, key=lambda i: results[i].objective(objective)) if ok else None
    feasible = [i for i, r in enumerate(results) if r.scenario.feasible]
    points = [(results[i].scenario.total_s, float(results[i].scenario.edge_memory_bytes),
               float(results[i].scenario.payload_bytes)) for i in feasible]
    pareto = tuple(feasible[j] for j in pareto_front(points))
    flips: tuple[Crossover, ...] = ()
    if best is not None:
        others = [(results[i].cut.name, results[i].scenario) for i in ok if i != best]
        if local.feasible:
            others.append(("MTL-Local", local))
        flips = nearest(crossovers(results[best].scenario, others, lnk), lnk)
    notes = uint8_note(profile, pr.payload)
    close = () if best is None else tuple(
        i for i in ok if i != best and _overlap(results[i].scenario, results[best].scenario))
    sw = Sweep(profile, task_list, heads, dev, srv, lnk, memory_model, objective, slo_s,
               max_payload_bytes, tuple(results), best, pareto, flips, local, notes, "", close)
    return replace(sw, verdict=sweep_verdict(sw))


def _overlap(a: Scenario, b: Scenario) -> bool:
    """Whether two scenarios' likely latency ranges overlap (the model cannot tell them apart)."""
    if a.band is None or b.band is None:
        return False
    return a.band.low_s <= b.band.high_s and b.band.low_s <= a.band.high_s


def sweep_verdict(sw: Sweep) -> str:
    best = sw.best_result
    if best is None:
        return (f"No cut meets every constraint on {sw.device.name} and {sw.server.name}; "
                "see the violations per cut.")
    s = best.scenario
    text = (f"Best cut for {sw.objective}: {best.cut.name} ({format_seconds(s.total_s)} per "
            f"inference, payload {format_bytes(s.payload_bytes)}, edge memory "
            f"{format_bytes(s.edge_memory_bytes)})")
    for c in sw.crossovers:
        side = "below" if c.below else "above"
        text += f"; {side} {format_rate(c.bandwidth_bps)} {c.winner} wins"
    if not sw.crossovers:
        text += "; no other option wins at any uplink bandwidth"
    if sw.close:
        names = ", ".join(sw.results[i].cut.name for i in sw.close[:4])
        text += (f"; within the latency model's error band of it: {names} (measure these "
                 "on the device)")
    local = sw.local
    if local.feasible and local.total_s < s.total_s:
        text = (f"Running everything on {sw.device.name} (MTL-Local, "
                f"{format_seconds(local.total_s)}) beats every cut on this link. " + text)
    return text + "."


