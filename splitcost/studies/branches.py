"""The joint sweep of branch points and cuts: how much should the tasks share, and where should
the network be split?

Every branch point (the backbone's module boundaries, as the sweep's cuts; ``input`` = nothing
shared, ``output`` = the paper's) is priced with every cut, and with everything on the edge
(MTL-Local). The cost model cannot price accuracy: sharing less gives each task more layers of
its own, which is what branched multi-task designs (TreeMTL, task grouping) trade against cost.
So the front is the trade between latency (lower is better) and the parameters each task has to
itself (higher is better), over the layouts that meet every constraint (memory, and the SLO and
payload limits when given): for each amount of sharing, the fastest placement. The cheapest
layout is marked for the objective, and so is the most task-specific one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from splitcost import defaults as D
from splitcost._notebook import Notebook
from splitcost.errors import InputError, choice
from splitcost.hardware.device import Device
from splitcost.hardware.link import Link
from splitcost.kinds import Objective, values
from splitcost.network.cuts import Cut, cut_positions, cuts
from splitcost.network.profile import Profile
from splitcost.pricing.request import PricingRequest
from splitcost.pricing.scenarios import Scenario, mtl_local, split
from splitcost.studies.inputs import given_request, positive_number, pricing_request
from splitcost.studies.sweep import Violation, objective_key, pareto_front, violations


@dataclass(frozen=True)
class Layout:
    """One branch point with one cut (None: everything on the edge), priced."""

    branch: Cut
    cut: Cut | None
    scenario: Scenario
    violations: tuple[Violation, ...]
    tail_params: int  # parameters in each task's own copy of the backbone after the branch
    shared_macs: int  # MACs of the shared trunk, per batch

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def where(self) -> str:
        return "edge" if self.cut is None else self.cut.name

    def objective(self, objective: Objective) -> tuple[float, float]:
        return objective_key(self.scenario, objective)

    def to_dict(self) -> dict[str, Any]:
        s = self.scenario
        return {
            "branch": self.branch.name,
            "branch_op": self.branch.op,
            "cut": None if self.cut is None else self.cut.name,
            "scenario": s.name,
            "tail_params": self.tail_params,
            "shared_macs": self.shared_macs,
            "payload_bytes": s.payload_bytes,
            "payload_tensors": len(s.payload_tensors),
            "edge_macs": s.edge_macs,
            "server_macs": s.server_macs,
            "edge_memory_bytes": s.edge_memory_bytes,
            "server_memory_bytes": s.server_memory_bytes,
            "edge_s": s.edge_s,
            "transfer_s": s.transfer_s,
            "server_s": s.server_s,
            "total_s": s.total_s,
            "edge_energy_j": s.energy.total_j if s.energy else None,
            "feasible": s.feasible,
            "meets_constraints": self.ok,
            "violations": [v.to_dict() for v in self.violations],
        }


@dataclass(frozen=True, repr=False)
class BranchSweep(Notebook):
    request: PricingRequest
    objective: Objective
    slo_s: float | None
    max_payload_bytes: int | None
    branches: tuple[Cut, ...]
    results: tuple[Layout, ...]
    best_index: int | None  # the cheapest for the objective among those meeting every limit
    most_specific_index: int | None  # the most tail parameters among those meeting every limit
    pareto: tuple[int, ...]

    @property
    def profile(self) -> Profile:
        return self.request.backbone

    @property
    def best(self) -> Layout | None:
        return None if self.best_index is None else self.results[self.best_index]

    @property
    def most_specific(self) -> Layout | None:
        i = self.most_specific_index
        return None if i is None else self.results[i]

    def to_dict(self) -> dict[str, Any]:
        def named(i: int | None) -> dict[str, Any] | None:
            if i is None:
                return None
            r = self.results[i]
            return {"branch": r.branch.name, "cut": None if r.cut is None else r.cut.name}

        return {
            "context": self.request.to_dict(),
            "objective": self.objective,
            "slo_s": self.slo_s,
            "max_payload_bytes": self.max_payload_bytes,
            "branches": [b.name for b in self.branches],
            "layouts": [r.to_dict() for r in self.results],
            "best": named(self.best_index),
            "most_specific": named(self.most_specific_index),
            "pareto": [named(i) for i in self.pareto],
        }


def branch_sweep(
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
    fan_out: str = D.FAN_OUT,
    relay_link: str | float | Link = D.RELAY_LINK,
    runtime: str = D.RUNTIME,
    depth: int | None = None,
    every_op: bool = False,
    objective: str = D.OBJECTIVE,
    slo_s: float | None = None,
    max_payload_bytes: int | None = None,
) -> BranchSweep:
    """Price every branch point of ``backbone`` with every cut (and with everything on the
    edge); the front and the layouts to pick (module docstring)."""
    options: dict[str, Any] = dict(tasks=tasks, device=device, server=server, link=link,
                                   memory_model=memory_model, payload_dtype=payload_dtype,
                                   payload_compression=payload_compression,
                                   input_dtype=input_dtype, hidden=hidden, profiles=profiles,
                                   fan_out=fan_out, relay_link=relay_link, runtime=runtime)
    goal = Objective(choice("objective", objective, values(Objective)))
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int)
                              or depth < 1):
        raise InputError(f"expected an integer of at least 1, got {depth!r}", parameter="depth")
    slo = None if slo_s is None else positive_number("slo_s", slo_s, "seconds")
    limit = None if max_payload_bytes is None else int(
        positive_number("max_payload_bytes", max_payload_bytes, "bytes"))
    request = given_request(backbone, **options) or pricing_request(backbone, **options)
    return branch_sweep_request(request, depth=depth, every_op=every_op, objective=goal,
                                slo_s=slo, max_payload_bytes=limit)


def branch_points(request: PricingRequest, depth: int | None = None) -> tuple[Cut, ...]:
    """The branch points swept: the backbone's module boundaries, input and output included
    (the last block, which ends where the backbone does, is named ``output``: the paper's)."""
    trace = request.backbone.trace
    analysis = request.cut_analysis
    last = len(trace.ops) - 1
    return tuple(analysis.cut(k, "output", "output") if k == last else analysis.cut(k, name, kind)
                 for k, name, kind in cut_positions(trace, depth))


def branch_sweep_request(request: PricingRequest, *, depth: int | None = None,
                         every_op: bool = False, objective: Objective = Objective.LATENCY,
                         slo_s: float | None = None, max_payload_bytes: int | None = None
                         ) -> BranchSweep:
    """:func:`branch_sweep` for a request already built (its own branch point is ignored)."""
    bb = request.backbone
    points = branch_points(request, depth)
    splits = cuts(bb.trace, depth, every_op)
    analysis = request.cut_analysis
    results: list[Layout] = []
    for b in points:
        pr = replace(request, branch=b)
        tail = bb.params - (analysis.edge_count[b.op] if b.op >= 0 else 0)
        shared = analysis.macs_prefix[b.op + 1]
        for cut in (None, *splits):
            s = mtl_local(pr) if cut is None else split(pr, cut)
            results.append(Layout(b, cut, s, violations(s, slo_s, max_payload_bytes), tail,
                                  shared))
    ok = [i for i, r in enumerate(results) if r.ok]
    best = min(ok, key=lambda i: results[i].objective(objective)) if ok else None
    specific = max(ok, key=lambda i: (results[i].tail_params, -results[i].scenario.total_s),
                   default=None)
    front = pareto_front([(results[i].scenario.total_s, -float(results[i].tail_params))
                          for i in ok])
    # Two layouts alike in both (a branch at the backbone's last block and at its output):
    # the front keeps the first.
    kept: list[int] = []
    for j in front:
        point = (results[ok[j]].scenario.total_s, results[ok[j]].tail_params)
        if all((results[k].scenario.total_s, results[k].tail_params) != point for k in kept):
            kept.append(ok[j])
    return BranchSweep(request, objective, slo_s, max_payload_bytes, points, tuple(results),
                       best, specific, tuple(kept))


__all__ = ["BranchSweep", "Layout", "branch_points", "branch_sweep", "branch_sweep_request"]
