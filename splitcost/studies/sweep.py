"""Every cut priced: the recommended split, the Pareto front, and where the choice flips.

``sweep()`` prices each cut of :mod:`splitcost.network.cuts` as a split scenario (backbone up to
the cut on the edge, the rest and the heads on the server), marks the best one that meets the
constraints for an objective, the Pareto front (latency, edge memory, payload), and the link
bandwidths at which another cut, RoC (the ``input`` cut) or running everything on the edge
(MTL-Local) would win instead.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from splitcost import defaults as D
from splitcost._notebook import Plottable
from splitcost.errors import InputError, choice
from splitcost.hardware.device import Device
from splitcost.hardware.link import Link
from splitcost.kinds import ConstraintKind, MemoryModel, Objective, values
from splitcost.network.cuts import Cut, cuts
from splitcost.network.profile import Profile
from splitcost.network.tasks import Task
from splitcost.pricing.breakeven import Crossover, crossovers, nearest
from splitcost.pricing.request import PricingRequest
from splitcost.pricing.scenarios import Scenario, mtl_local, split
from splitcost.studies.compare import RawInputNote, raw_input_note
from splitcost.studies.inputs import given_request, positive_number, pricing_request


def objective_key(s: Scenario, objective: Objective) -> tuple[float, float]:
    """What a choice minimises: the objective's quantity, then the total latency."""
    primary = {
        Objective.LATENCY: s.total_s,
        Objective.EDGE_MEMORY: float(s.edge_memory_bytes),
        Objective.PAYLOAD: float(s.payload_bytes),
        Objective.ENERGY: s.energy.total_j if s.energy else math.inf,
    }[objective]
    return primary, s.total_s


@dataclass(frozen=True)
class Violation:
    """A constraint a cut breaks: what it needs against the limit."""

    kind: ConstraintKind
    needed: float  # bytes, or seconds for the SLO
    limit: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CutResult:
    """One cut, priced, with the constraints it breaks."""

    cut: Cut
    scenario: Scenario
    violations: tuple[Violation, ...]

    @property
    def ok(self) -> bool:
        return not self.violations

    def objective(self, objective: Objective) -> tuple[float, float]:
        return objective_key(self.scenario, objective)

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
            "latency_band": s.band.to_dict() if s.band else None,
            "feasible": s.feasible,
            "meets_constraints": self.ok,
            "violations": [v.to_dict() for v in self.violations],
        }


@dataclass(frozen=True, repr=False)
class Sweep(Plottable):
    request: PricingRequest
    objective: Objective
    slo_s: float | None
    max_payload_bytes: int | None
    results: tuple[CutResult, ...]
    best_index: int | None  # index into results
    pareto: tuple[int, ...]
    crossovers: tuple[Crossover, ...]
    local: Scenario  # MTL-Local, the no-link alternative
    raw_input: RawInputNote | None = None
    close: tuple[int, ...] = ()  # cuts whose likely range overlaps the best one's: measure them
    local_violations: tuple[Violation, ...] = ()  # what MTL-Local breaks (memory, the SLO)

    @property
    def constrained(self) -> bool:
        """Whether the user set a limit (an SLO or a payload limit)."""
        return self.slo_s is not None or self.max_payload_bytes is not None

    @property
    def local_ok(self) -> bool:
        """Whether MTL-Local (no link) fits and meets every limit."""
        return not self.local_violations

    @property
    def profile(self) -> Profile:
        return self.request.backbone

    @property
    def tasks(self) -> tuple[Task, ...]:
        return self.request.tasks

    @property
    def memory_model(self) -> MemoryModel:
        return self.request.memory_model

    @property
    def device(self) -> Device:
        return self.request.device

    @property
    def server(self) -> Device:
        return self.request.server

    @property
    def link(self) -> Link:
        return self.request.link

    @property
    def best_result(self) -> CutResult | None:
        return None if self.best_index is None else self.results[self.best_index]

    @property
    def best(self) -> str | None:
        """The name of the recommended cut (None: no cut meets every constraint)."""
        best = self.best_result
        return None if best is None else best.cut.name

    def to_dict(self) -> dict[str, Any]:
        return {
            "context": self.request.to_dict(),
            "objective": self.objective,
            "slo_s": self.slo_s,
            "max_payload_bytes": self.max_payload_bytes,
            "cuts": [r.to_dict() for r in self.results],
            "best": self.best,
            "pareto": [self.results[i].cut.name for i in self.pareto],
            "breakeven": [c.to_dict() for c in self.crossovers],
            "mtl_local": {"feasible": self.local.feasible, "total_s": self.local.total_s,
                          "edge_memory_bytes": self.local.edge_memory_bytes,
                          "edge_energy_j": self.local.energy.total_j if self.local.energy
                          else None,
                          "latency_band": self.local.band.to_dict() if self.local.band else None,
                          "meets_constraints": self.local_ok,
                          "violations": [v.to_dict() for v in self.local_violations]},
            "raw_input_smaller": None if self.raw_input is None else self.raw_input.to_dict(),
            "within_error_band": [self.results[i].cut.name for i in self.close],
        }


def violations(s: Scenario, slo_s: float | None, max_payload: int | None
                ) -> tuple[Violation, ...]:
    out = [Violation(c.kind, c.needed, c.available) for c in s.constraints if not c.ok]
    if slo_s is not None and s.total_s > slo_s:
        out.append(Violation(ConstraintKind.SLO, s.total_s, slo_s))
    if max_payload is not None and s.payload_bytes > max_payload:
        out.append(Violation(ConstraintKind.PAYLOAD, s.payload_bytes, max_payload))
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
    backbone: Profile | PricingRequest | str | Any,
    tasks: int | str | Sequence[int] = D.TASKS,
    *,
    device: str | Device = D.DEVICE,
    server: str | Device | Sequence[str | Device] = D.SERVER,
    link: str | float | Link = D.LINK,
    memory_model: str = D.MEMORY_MODEL,
    payload_dtype: str | None = D.PAYLOAD_DTYPE,
    payload_compression: float | str | None = None,
    input_dtype: str | None = D.INPUT_DTYPE,
    hidden: int = D.HIDDEN,
    profiles: Sequence[str | os.PathLike[str]] = (),
    runtime: str = D.RUNTIME,
    branch: str | None = None,
    fan_out: str = D.FAN_OUT,
    relay_link: str | float | Link = D.RELAY_LINK,
    depth: int | None = None,
    every_op: bool = False,
    objective: str = D.OBJECTIVE,
    slo_s: float | None = None,
    max_payload_bytes: int | None = None,
) -> Sweep:
    """Price every cut of ``backbone`` and recommend one for ``objective`` (latency,
    edge-memory, payload or energy) under the optional ``slo_s`` and ``max_payload_bytes``."""
    options: dict[str, Any] = dict(tasks=tasks, device=device, server=server, link=link,
                   memory_model=memory_model, payload_dtype=payload_dtype,
                   payload_compression=payload_compression, input_dtype=input_dtype,
                   hidden=hidden, profiles=profiles, runtime=runtime, branch=branch,
                   fan_out=fan_out, relay_link=relay_link)
    goal = Objective(choice("objective", objective, values(Objective)))
    if not isinstance(every_op, bool):
        raise InputError(f"expected True or False, got {every_op!r}", parameter="every_op")
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int)
                              or depth < 1):
        raise InputError(f"expected an integer of at least 1, got {depth!r}", parameter="depth")
    slo = None if slo_s is None else positive_number("slo_s", slo_s, "seconds")
    limit = None if max_payload_bytes is None else int(
        positive_number("max_payload_bytes", max_payload_bytes, "bytes"))
    request = given_request(backbone, **options) or pricing_request(backbone, **options)
    return sweep_request(request, depth=depth, every_op=every_op, objective=goal, slo_s=slo,
                         max_payload_bytes=limit)


def sweep_request(request: PricingRequest, *, depth: int | None = None, every_op: bool = False,
                  objective: Objective = Objective.LATENCY, slo_s: float | None = None,
                  max_payload_bytes: int | None = None) -> Sweep:
    """:func:`sweep` for a request already built."""
    results = []
    for cut in cuts(request.backbone.trace, depth, every_op):
        scenario = split(request, cut)
        results.append(CutResult(cut, scenario, violations(scenario, slo_s, max_payload_bytes)))
    local = mtl_local(request)
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
        flips = nearest(crossovers(results[best].scenario, others, request.link), request.link)
    close = () if best is None else tuple(
        i for i in ok if i != best and _overlap(results[i].scenario, results[best].scenario))
    return Sweep(request, objective, slo_s, max_payload_bytes, tuple(results), best, pareto,
                 flips, local, raw_input_note(request), close,
                 violations(local, slo_s, max_payload_bytes))


def _overlap(a: Scenario, b: Scenario) -> bool:
    """Whether two scenarios' likely latency ranges overlap (the model cannot tell them apart)."""
    if a.band is None or b.band is None:
        return False
    return a.band.low_s <= b.band.high_s and b.band.low_s <= a.band.high_s


__all__ = ["CutResult", "Sweep", "Violation", "pareto_front", "sweep", "sweep_request",
           "violations"]
