"""Fleet planning: M edge devices, each at F inferences per second, sharing servers.

Per scenario, from the priced scenarios of :func:`splitcost.report.compare`:

* **each device** must keep up: its edge compute (``F x edge_s``) and its uplink
  (``F x payload x 8 / goodput``) below 100%; the stages overlap when pipelined, so one device's
  throughput is ``1 / max(edge compute, uplink transfer, server compute)``, next to the latency;
* **one server** takes ``M x F x server_s`` seconds of compute per second (its utilisation; the
  heads only for MTL-Split, everything for RoC), ``M x F x payload x 8`` bits per second of
  ingress against its network interface, and holds one copy of the weights plus the
  activations of ``concurrency`` batches in flight;
* the largest M one server sustains is the smaller of the compute and ingress limits (zero when
  its memory does not fit), the servers needed for the fleet follow, and the binding resource is
  named.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from splitcost.cost import Scenario
from splitcost.errors import InputError
from splitcost.profiling import Profile
from splitcost.report import Report, compare
from splitcost.units import format_bytes, format_rate

DEFAULT_INGRESS_BPS = 10e9


@dataclass(frozen=True)
class FleetRow:
    """One scenario at fleet scale."""

    name: str
    latency_s: float
    pipelined_fps: float  # one device's throughput with edge, link and server overlapping
    device_ok: bool  # each device keeps up with F and fits
    device_binding: str  # what limits one device ("edge compute", "uplink", "edge memory", ...)
    edge_utilisation: float  # F x edge compute time
    uplink_utilisation: float  # F x payload bits / goodput
    server_load_per_device: float  # server seconds of compute per second, per device
    server_utilisation: float  # at the planned fleet size, for one server
    ingress_bps: float  # at the planned fleet size
    server_memory_bytes: int
    server_memory_ok: bool
    max_devices_per_server: int | None  # None: no server involved, or no limit
    servers_needed: int | None  # 0: no server involved; None: no number of servers suffices
    binding: str  # the resource that limits the fleet (a device's limit first)
    server_binding: str = "none"  # what limits one server: compute, ingress or memory

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Plan:
    report: Report
    devices: int
    fps: float
    ingress_bps: float
    concurrency: int
    rows: tuple[FleetRow, ...]
    best: str | None
    verdict: str

    def row(self, name: str) -> FleetRow:
        return next(r for r in self.rows if r.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "devices": self.devices,
            "fps": self.fps,
            "ingress_bps": self.ingress_bps,
            "concurrency": self.concurrency,
            "backbone": self.report.backbone.name,
            "tasks": [t.classes for t in self.report.tasks],
            "device": self.report.device.name,
            "server": self.report.server.name,
            "link": self.report.link.name,
            "memory_model": self.report.memory_model,
            "scenarios": [r.to_dict() for r in self.rows],
            "best": self.best,
            "verdict": self.verdict,
        }


def _ratio(need: float, have: float) -> float:
    return need / have if have > 0 else math.inf


def fleet_row(s: Scenario, devices: int, fps: float, ingress_bps: float, goodput_bps: float,
              concurrency: int) -> FleetRow:
    """One scenario at fleet scale (pure arithmetic, stated in the module docstring)."""
    uplink_s = s.transfer.uplink_s
    stages = [t for t in (s.edge_s, uplink_s, s.server_s) if t > 0]
    pipelined = 1.0 / max(stages) if stages else math.inf
    edge_util = fps * s.edge_s
    uplink_util = _ratio(fps * s.payload_bytes * 8, goodput_bps) if s.payload_bytes else 0.0
    edge_fits = all(c.ok for c in s.constraints if c.name == "edge memory")
    checks = [("edge memory", 0.0 if edge_fits else math.inf), ("edge compute", edge_util),
              ("uplink", uplink_util)]
    device_binding, worst = max(checks, key=lambda c: c[1])
    device_ok = worst <= 1.0
    load = fps * s.server_s
    if s.server_memory is None:
        return FleetRow(s.name, s.total_s, pipelined, device_ok, device_binding, edge_util,
                        uplink_util, 0.0, 0.0, 0.0, 0, True, None, 0,
                        device_binding if not device_ok else "no server")
    extra = (concurrency - 1) * s.server_memory.activations_bytes
    memory = s.server_memory.total_bytes + extra
    memory_ok = memory <= next(c.available for c in s.constraints if c.name == "server memory")
    per_device_bits = fps * s.payload_bytes * 8
    by_compute = math.floor(1.0 / load) if load > 0 else math.inf
    by_ingress = math.floor(ingress_bps / per_device_bits) if per_device_bits > 0 else math.inf
    limit = min(by_compute, by_ingress) if memory_ok else 0
    max_devices = None if limit == math.inf else int(limit)
    server_binding = ("server memory" if not memory_ok else
                      "server compute" if by_compute <= by_ingress else "server ingress")
    binding = server_binding if device_ok else device_binding
    servers: int | None = 1 if max_devices is None else (
        math.ceil(devices / max_devices) if max_devices > 0 else None)
    return FleetRow(
        name=s.name,
        latency_s=s.total_s,
        pipelined_fps=pipelined,
        device_ok=device_ok,
        device_binding=device_binding,
        edge_utilisation=edge_util,
        uplink_utilisation=uplink_util,
        server_load_per_device=load,
        server_utilisation=devices * load,
        ingress_bps=devices * per_device_bits,
        server_memory_bytes=memory,
        server_memory_ok=memory_ok,
        max_devices_per_server=max_devices,
        servers_needed=servers,
        binding=binding,
        server_binding=server_binding,
    )


def plan(
    profile: Profile,
    tasks: int | str | list[int] = 3,
    *,
    devices: int,
    fps: float,
    ingress_bps: float = DEFAULT_INGRESS_BPS,
    concurrency: int = 1,
    profiles: Sequence[str | os.PathLike[str]] = (),
    **compare_options: Any,
) -> Plan:
    """Size a fleet of ``devices`` edge devices at ``fps`` inferences per second each."""
    if devices < 1:
        raise InputError(f"--devices: expected at least 1, got {devices}")
    if not (fps > 0 and math.isfinite(fps)):
        raise InputError(f"--fps: expected a positive number, got {fps}")
    if concurrency < 1:
        raise InputError(f"--concurrency: expected at least 1, got {concurrency}")
    # A fleet plan reads the scenarios, not the single-link break-even and sensitivity.
    report = compare(profile, tasks, profiles=profiles, what_if=False, **compare_options)
    goodput = report.link.goodput_bps
    rows = tuple(fleet_row(s, devices, fps, ingress_bps, goodput, concurrency)
                 for s in report.scenarios)
    best = _best(rows)
    return Plan(report, devices, fps, ingress_bps, concurrency, rows, best,
                plan_verdict(rows, best, devices, fps))


def _best(rows: Sequence[FleetRow]) -> str | None:
    """Among scenarios where every device keeps up: the fewest servers, then the lowest latency."""
    ok = [r for r in rows if r.device_ok and (r.servers_needed is not None)]
    if not ok:
        return None
    return min(ok, key=lambda r: ((r.servers_needed or 0), r.latency_s)).name


def plan_verdict(rows: Sequence[FleetRow], best: str | None, devices: int, fps: float) -> str:
    if best is None:
        worst = ", ".join(f"{r.name} ({r.binding})" for r in rows)
        return f"No scenario serves {devices} devices at {fps:g} inferences/s: {worst}."
    r = next(row for row in rows if row.name == best)
    if r.servers_needed == 0:
        text = f"{best}: every device runs everything itself, no server needed"
    elif r.max_devices_per_server is None:
        text = f"{best}: one server, with no limit from compute or ingress"
    else:
        text = (f"{best}: {r.servers_needed} server(s) for {devices} devices at {fps:g}/s "
                f"(one server takes {r.max_devices_per_server} devices, bound by {r.binding}; "
                f"ingress {format_rate(r.ingress_bps)}, server memory "
                f"{format_bytes(r.server_memory_bytes)})")
    for x in rows:
        if x.name == best:
            continue
        if not x.device_ok:
            text += f"; {x.name}: a device cannot keep up ({x.device_binding})"
        elif x.servers_needed:
            text += (f"; {x.name}: {x.servers_needed} server(s), "
                     f"{x.max_devices_per_server or 'any number of'} devices each ({x.binding})")
    return text + "."
