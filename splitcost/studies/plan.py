"""Fleet planning: M edge devices, each at F inferences per second, sharing servers.

Per scenario, from the priced scenarios of :func:`splitcost.studies.compare.compare`:

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
from enum import StrEnum
from typing import Any

from splitcost import defaults as D
from splitcost._notebook import Plottable
from splitcost.errors import InputError, unknown_name
from splitcost.hardware.device import Device
from splitcost.hardware.link import Link
from splitcost.kinds import ConstraintKind
from splitcost.network.profile import Profile
from splitcost.pricing.request import PricingRequest
from splitcost.pricing.scenarios import Scenario
from splitcost.studies.compare import Report, compare_request
from splitcost.studies.inputs import given_request, positive_int, positive_number, pricing_request
from splitcost.units import parse_rate


class Resource(StrEnum):
    """What limits one device, one server or the fleet."""

    EDGE_MEMORY = "edge memory"
    EDGE_COMPUTE = "edge compute"
    UPLINK = "uplink"
    SERVER_COMPUTE = "server compute"
    SERVER_INGRESS = "server ingress"
    SERVER_MEMORY = "server memory"
    NO_SERVER = "no server"  # nothing runs on a server
    NONE = "none"  # nothing limits it


@dataclass(frozen=True)
class FleetRow:
    """One scenario at fleet scale."""

    name: str
    latency_s: float
    pipelined_fps: float  # one device's throughput with edge, link and server overlapping
    device_ok: bool  # each device keeps up with F and fits
    device_binding: Resource  # what limits one device
    edge_utilisation: float  # F x edge compute time
    uplink_utilisation: float  # F x payload bits / goodput
    server_load_per_device: float  # server seconds of compute per second, per device
    server_utilisation: float  # at the planned fleet size, for one server
    ingress_bps: float  # at the planned fleet size
    server_memory_bytes: int
    server_memory_ok: bool
    max_devices_per_server: int | None  # None: no server involved, or no limit
    servers_needed: int | None  # 0: no server involved; None: no number of servers suffices
    binding: Resource  # the resource that limits the fleet (a device's limit first)
    server_binding: Resource = Resource.NONE  # what limits one server

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, repr=False)
class Plan(Plottable):
    report: Report
    devices: int
    fps: float
    ingress_bps: float
    concurrency: int
    rows: tuple[FleetRow, ...]
    best: str | None

    @property
    def request(self) -> PricingRequest:
        return self.report.request

    def row(self, name: str) -> FleetRow:
        """A scenario's row by name, whatever its case."""
        for r in self.rows:
            if r.name == name or r.name.lower() == str(name).lower():
                return r
        raise unknown_name("scenario", str(name), [r.name for r in self.rows],
                           parameter="name")

    def to_dict(self) -> dict[str, Any]:
        return {
            "context": self.request.to_dict(),
            "devices": self.devices,
            "fps": self.fps,
            "ingress_bps": self.ingress_bps,
            "concurrency": self.concurrency,
            "scenarios": [r.to_dict() for r in self.rows],
            "best": self.best,
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
    edge = s.constraint(ConstraintKind.EDGE_MEMORY)
    checks = [(Resource.EDGE_MEMORY, 0.0 if edge is None or edge.ok else math.inf),
              (Resource.EDGE_COMPUTE, edge_util), (Resource.UPLINK, uplink_util)]
    device_binding, worst = max(checks, key=lambda c: c[1])
    device_ok = worst <= 1.0
    load = fps * s.server_s
    server = s.constraint(ConstraintKind.SERVER_MEMORY)
    if s.server_memory is None or server is None:
        return FleetRow(s.name, s.total_s, pipelined, device_ok, device_binding, edge_util,
                        uplink_util, 0.0, 0.0, 0.0, 0, True, None, 0,
                        device_binding if not device_ok else Resource.NO_SERVER)
    extra = (concurrency - 1) * s.server_memory.activations_bytes
    memory = s.server_memory.total_bytes + extra
    memory_ok = memory <= server.available
    per_device_bits = fps * s.payload_bytes * 8
    by_compute = math.floor(1.0 / load) if load > 0 else math.inf
    by_ingress = math.floor(ingress_bps / per_device_bits) if per_device_bits > 0 else math.inf
    limit = min(by_compute, by_ingress) if memory_ok else 0
    max_devices = None if limit == math.inf else int(limit)
    server_binding = (Resource.SERVER_MEMORY if not memory_ok else
                      Resource.SERVER_COMPUTE if by_compute <= by_ingress else
                      Resource.SERVER_INGRESS)
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
    backbone: Profile | PricingRequest | str | Any,
    tasks: int | str | Sequence[int] = D.TASKS,
    *,
    devices: int = D.FLEET_DEVICES,
    fps: float = D.FPS,
    ingress_bps: float | str = D.INGRESS,
    concurrency: int = D.CONCURRENCY,
    device: str | Device = D.DEVICE,
    server: str | Device = D.SERVER,
    link: str | float | Link = D.LINK,
    memory_model: str = D.MEMORY_MODEL,
    payload_dtype: str | None = D.PAYLOAD_DTYPE,
    payload_compression: float | str | None = None,
    input_dtype: str | None = D.INPUT_DTYPE,
    hidden: int = D.HIDDEN,
    profiles: Sequence[str | os.PathLike[str]] = (),
    runtime: str = D.RUNTIME,
    cuts: Sequence[str] = (),
) -> Plan:
    """Size a fleet of ``devices`` edge devices at ``fps`` inferences per second each, served
    by servers with ``ingress_bps`` of network capacity and ``concurrency`` batches in flight."""
    positive_int("devices", devices, at_most=10**9)
    rate = positive_number("fps", fps, "inferences per second")
    positive_int("concurrency", concurrency, at_most=10**6)
    if isinstance(ingress_bps, str):
        try:
            ingress = parse_rate(ingress_bps)
        except InputError as e:
            raise e.about("ingress_bps") from None
    else:
        ingress = positive_number("ingress_bps", ingress_bps, "bits per second")
    options: dict[str, Any] = dict(tasks=tasks, device=device, server=server, link=link,
                   memory_model=memory_model, payload_dtype=payload_dtype,
                   payload_compression=payload_compression, input_dtype=input_dtype,
                   hidden=hidden, profiles=profiles, runtime=runtime)
    request = given_request(backbone, **options) or pricing_request(backbone, **options)
    return plan_request(request, devices=devices, fps=rate, ingress_bps=ingress,
                        concurrency=concurrency, cuts=cuts)


def plan_request(request: PricingRequest, *, devices: int, fps: float, ingress_bps: float,
                 concurrency: int = 1, cuts: Sequence[str] = ()) -> Plan:
    """:func:`plan` for a request already built."""
    # A fleet plan reads the scenarios, not the single-link break-even and sensitivity.
    report = compare_request(request, cuts=cuts, what_if=False)
    goodput = request.link.goodput_bps
    rows = tuple(fleet_row(s, devices, fps, ingress_bps, goodput, concurrency)
                 for s in report.scenarios)
    return Plan(report, devices, fps, ingress_bps, concurrency, rows, best_row(rows))


def best_row(rows: Sequence[FleetRow]) -> str | None:
    """Among scenarios where every device keeps up: the fewest servers, then the lowest latency."""
    ok = [r for r in rows if r.device_ok and (r.servers_needed is not None)]
    if not ok:
        return None
    return min(ok, key=lambda r: ((r.servers_needed or 0), r.latency_s)).name


__all__ = ["FleetRow", "Plan", "Resource", "best_row", "fleet_row", "plan", "plan_request"]
