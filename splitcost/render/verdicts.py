"""The one-line answers: the verdict sentences of a report, a sweep and a fleet plan."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from splitcost.kinds import ConstraintKind, Objective, Parameter
from splitcost.units import format_bytes, format_count, format_energy, format_rate, format_seconds

if TYPE_CHECKING:
    from splitcost.pricing.scenarios import Scenario
    from splitcost.studies.branches import BranchSweep, Layout
    from splitcost.studies.compare import Report, Verdict
    from splitcost.studies.plan import FleetRow, Plan
    from splitcost.studies.sweep import Sweep, Violation


def _misfits(v: Verdict) -> str:
    return "; ".join(
        f"{m.scenario} does not fit {m.device} ({m.constraint}: needs "
        f"{format_bytes(m.needed_bytes)} of {format_bytes(m.available_bytes)} usable)"
        for m in v.misfits)


def report_verdict(r: Report) -> str:
    """``MTL-Local is the fastest scenario that fits: 135 ms per inference (1.5x faster than
    MTL-Split); LoC does not fit ...; MTL-Split wins with an uplink above 61.6 Mbit/s; ...``"""
    v = r.verdict
    why_not = _misfits(v)
    if v.best is None or v.best_total_s is None:
        return f"No scenario fits: {why_not}."
    text = (f"{v.best} is the fastest scenario that fits: {format_seconds(v.best_total_s)} per "
            "inference")
    if v.runner_up is not None and v.speedup is not None:
        text += f" ({v.speedup:.2g}x faster than {v.runner_up})"
    if why_not:
        text += f"; {why_not}"
    for f in v.flips:
        shown = format_rate(f.value) if f.parameter is Parameter.BANDWIDTH else (
            format_seconds(f.value))
        what = "uplink" if f.parameter is Parameter.BANDWIDTH else "RTT"
        text += f"; {f.winner} wins with an {what} {f.direction} {shown}"
    top = v.most_sensitive
    if top is not None and top.change_pct is not None:
        effect = f"{top.best} wins" if top.flips else f"{top.change_pct:+.0f}% latency"
        text += f"; the input that moves it most: {top.input} {top.change} ({effect})"
    return text + "."


def violation(v: Violation) -> str:
    """``SLO (182 ms > 100 ms)``, ``edge memory (2.9 GB > 2.54 GB)``."""
    if v.kind is ConstraintKind.SLO:
        return f"SLO ({format_seconds(v.needed)} > {format_seconds(v.limit)})"
    return f"{v.kind} ({format_bytes(v.needed)} > {format_bytes(v.limit)})"


def _local_text(sw: Sweep) -> str:
    """MTL-Local against the user's limits: its latency, and a warning when its likely range
    straddles the SLO."""
    local = sw.local
    text = (f"MTL-Local (everything on {sw.device.name}, no link) meets them: "
            f"{format_seconds(local.total_s)}")
    if sw.slo_s is not None:
        text += f" against the {format_seconds(sw.slo_s)} SLO"
        band = local.band
        if band is not None and band.low_s <= sw.slo_s < band.high_s:
            text += (f", but its likely range {format_seconds(band.low_s)} - "
                     f"{format_seconds(band.high_s)} straddles the limit: measure it on the "
                     "device")
    return text


def _objective_value(objective: Objective, s: Scenario) -> float:
    if objective is Objective.ENERGY:
        return s.energy.total_j if s.energy else math.inf
    return s.total_s


def _option(name: str) -> str:
    """A cut's name quoted; MTL-Local, a scenario, as it is."""
    return name if name == "MTL-Local" else f"'{name}'"


def sweep_verdict(sw: Sweep) -> str:
    best = sw.best_result
    local = sw.local
    if best is None:
        text = f"No cut meets every constraint on {sw.device.name} and {sw.server.name}"
        if sw.local_ok:
            return text + "; " + _local_text(sw) + "."
        return text + "; nor does MTL-Local; see the violations per cut."
    s = best.scenario
    text = (f"Best cut for {sw.objective}: '{best.cut.name}' ({format_seconds(s.total_s)} per "
            f"inference, payload {format_bytes(s.payload_bytes)}, edge memory "
            f"{format_bytes(s.edge_memory_bytes)})")
    for c in sw.crossovers:
        text += f"; {c.direction} {format_rate(c.bandwidth_bps)} {_option(c.winner)} wins"
    if not sw.crossovers:
        text += "; no other option wins at any uplink bandwidth"
    if sw.close:
        names = ", ".join(f"'{sw.results[i].cut.name}'" for i in sw.close[:4])
        text += (f"; within the latency model's error band of it: {names} (measure these "
                 "on the device)")
    if sw.local_ok and sw.objective in (Objective.LATENCY, Objective.ENERGY):
        mine, theirs = _objective_value(sw.objective, local), _objective_value(sw.objective, s)
        if mine < theirs:
            shown = (format_seconds(mine) if sw.objective is Objective.LATENCY
                     else format_energy(mine))
            text = (f"Running everything on {sw.device.name} (MTL-Local, {shown}) beats every "
                    f"cut on this link for {sw.objective}. " + text)
    return text + "."


def _layout(r: Layout) -> str:
    where = "everything on the edge" if r.cut is None else f"cut '{r.cut.name}'"
    return f"branch '{r.branch.name}', {where} ({format_seconds(r.scenario.total_s)})"


def branch_verdict(sw: BranchSweep) -> str:
    """``Cheapest for latency: branch 'output', cut '5' (41 ms); the most task-specific layout
    within the limits: branch '3', everything on the edge (88 ms), 3.9M params of each task's
    own.``"""
    best = sw.best
    if best is None:
        return (f"No layout of branch point and cut meets every constraint on "
                f"{sw.request.device.name} and {sw.request.server.name}.")
    text = f"Cheapest for {sw.objective}: {_layout(best)}"
    own = sw.most_specific
    if own is not None and own is not best:
        text += (f"; the most task-specific layout within the limits: {_layout(own)}, "
                 f"{format_count(own.tail_params)} params of each task's own")
    elif own is best and best.tail_params:
        text += f"; it is also the most task-specific ({format_count(best.tail_params)} params)"
    return text + "."


def _tail_words(pl: Plan, r: FleetRow) -> str:
    """``p99 219 ms (misses the 150 ms SLO 100% of the time)`` or why there is none."""
    q = r.latency_percentiles
    if q is None:
        what = r.overloaded
        if what is not None and what.is_memory:
            return f"no latency: {what} does not fit"
        return f"no latency: above 100% load ({what})"
    text = f"p99 {format_seconds(q.p99_s)}"
    if pl.slo_s is not None and r.deadline_miss is not None:
        slo = format_seconds(pl.slo_s)
        text += (f" within the {slo} SLO" if q.p99_s <= pl.slo_s else
                 f", misses the {slo} SLO for {_share(r.deadline_miss)}")
    return text


def _share(p: float) -> str:
    return "every inference" if p >= 1 else f"{100 * p:.2g}% of inferences"


def plan_verdict(pl: Plan) -> str:
    rows, best, devices, fps = pl.rows, pl.best, pl.devices, pl.fps
    if best is None:
        worst = ", ".join(f"{r.name} ({_tail_words(pl, r)})" if pl.slo_s is not None else
                          f"{r.name} ({r.binding})" for r in rows)
        goal = f" within a {format_seconds(pl.slo_s)} p99" if pl.slo_s is not None else ""
        return f"No scenario serves {devices} devices at {fps:g} inferences/s{goal}: {worst}."
    r = pl.row(best)
    if r.servers_needed == 0:
        text = f"{best}: every device runs everything itself, no server needed"
    elif r.max_devices_per_server is None:
        text = f"{best}: one server, with no limit from compute or ingress"
    else:
        text = (f"{best}: {r.servers_needed} server(s) for {devices} devices at {fps:g}/s "
                f"(one server takes {r.max_devices_per_server} devices, bound by {r.binding}; "
                f"ingress {format_rate(r.ingress_bps)}, server memory "
                f"{format_bytes(r.server_memory_bytes)})")
    text += f"; {_tail_words(pl, r)}"
    if r.servers_for_slo is not None and r.servers_needed and (
            r.servers_for_slo > r.servers_needed):
        text += (f"; {r.servers_for_slo} server(s) keep the p99 within the SLO "
                 f"({r.devices_within_slo} devices each)")
    for x in rows:
        if x.name == best:
            continue
        if not x.device_ok:
            text += f"; {x.name}: a device cannot keep up ({x.device_binding})"
        elif x.servers_needed:
            text += (f"; {x.name}: {x.servers_needed} server(s), "
                     f"{x.max_devices_per_server or 'any number of'} devices each ({x.binding})")
            if pl.slo_s is not None:
                text += f", {_tail_words(pl, x)}"
        elif pl.slo_s is not None:
            text += f"; {x.name}: {_tail_words(pl, x)}"
    return text + "."


def verdict(result: object) -> str:
    """The one-line answer of a report, a sweep or a fleet plan."""
    from splitcost.studies.compare import Report
    from splitcost.studies.plan import Plan
    from splitcost.studies.sweep import Sweep

    if isinstance(result, Report):
        return report_verdict(result)
    if isinstance(result, Sweep):
        return sweep_verdict(result)
    if isinstance(result, Plan):
        return plan_verdict(result)
    from splitcost.errors import InputError

    raise InputError(f"expected a Report, a Sweep or a Plan, got a {type(result).__name__}",
                     parameter="result")
