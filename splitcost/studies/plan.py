"""Fleet planning: M edge devices, each at F inferences per second, sharing servers.

Per scenario, from the priced scenarios of :func:`splitcost.studies.compare.compare`:

* **each device** must keep up: its edge compute (``F x edge_s``) and its uplink
  (``F x payload x 8 / goodput``) below 100%; the stages overlap when pipelined, so one device's
  throughput is ``1 / max(edge compute, uplink transfer, server compute)``, next to the latency;
* **one server** batches the requests of many devices (a dynamic batcher: at most
  ``max_batch`` requests per batch, a request that finds it idle waiting up to
  ``max_queue_delay`` for company). It takes ``S(b)`` seconds for a batch of ``b`` (the roofline
  at batch b: weights read once per batch), so it sustains ``B / S(B)`` requests per second;
  ``F x S(B) / B`` is one device's share of it (its load per device; with ``max_batch`` 1, ``F x
  server_s``). It takes ``M x F x payload x 8`` bits per second of ingress against its network
  interface, and holds one copy of the weights plus the activations of ``concurrency`` batches of
  ``max_batch`` requests in flight;
* the largest M one server sustains is the smaller of the compute and ingress limits (zero when
  its memory does not fit), the servers needed for the fleet follow (each server its share of
  the devices), and the binding resource is named;
* **tail latency**: at the planned fleet each server's queue gives the sojourn of a request
  (:mod:`splitcost.pricing.queueing`), the link its spread (:mod:`splitcost.pricing.tail`):
  p50, p95 and p99 end to end, and with an SLO the probability of missing it. A device, uplink
  or server at or above 100% load has no percentiles: the row says which is overloaded.

Heads on several servers (a placement): each server group is sized on its own, and the
inference waits for the slowest.
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
from splitcost.pricing.queueing import Distribution, Sojourn, load_of, sojourn
from splitcost.pricing.request import PricingRequest
from splitcost.pricing.scenarios import Scenario
from splitcost.pricing.tail import (
    GroupService,
    Percentiles,
    end_to_end,
    group_services,
    uplink_delay,
)
from splitcost.studies.compare import Report, compare_request
from splitcost.studies.inputs import (
    batcher_of,
    given_request,
    positive_int,
    positive_number,
    pricing_request,
    slo_of,
)
from splitcost.units import parse_rate

CURVE_POINTS = 28


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

    @property
    def is_memory(self) -> bool:
        return self in (Resource.EDGE_MEMORY, Resource.SERVER_MEMORY)


@dataclass(frozen=True)
class ServerFleet:
    """One server of a scenario (one per server of a placement) at fleet scale."""

    server: str
    tasks: tuple[int, ...]  # 0-based
    service_batch1_s: float  # S(1)
    service_max_batch_s: float  # S(B)
    capacity_rps: float  # requests per second one server sustains: B / S(B)
    load_per_device: float  # F x S(B) / B
    memory_bytes: int  # weights + the activations of concurrency x B requests
    memory_ok: bool
    max_devices: int | None  # None: no limit
    servers: int | None  # None: its memory does not hold it
    load: float  # each server's load at the planned fleet (arrivals x S(B) / B)
    binding: Resource
    mean_batch: float | None  # the batch a request is served in, on average
    mean_wait_s: float | None  # waiting for its batch to start (queue + batcher delay)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["tasks"] = [t + 1 for t in self.tasks]
        return d


@dataclass(frozen=True)
class TailCurve:
    """p99 end-to-end latency against the devices one server (set) serves."""

    name: str
    points: tuple[tuple[int, float], ...]  # (devices, p99 seconds)
    saturates_at: float | None  # devices at which a server reaches 100% load; None: never
    saturated_by: Resource = Resource.NONE  # its compute or its network interface

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "points": [list(p) for p in self.points],
                "saturates_at": self.saturates_at, "saturated_by": self.saturated_by}


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
    latency_percentiles: Percentiles | None = None  # None: something is at 100% load or more
    deadline_miss: float | None = None  # P(latency > SLO); None without an SLO or percentiles
    overloaded: Resource | None = None  # what has no room at the planned fleet
    capacity_rps: float | None = None  # requests per second one server (set) sustains
    mean_batch: float | None = None  # on the busiest server
    mean_wait_s: float | None = None  # waiting for a batch to start, on the busiest server
    devices_within_slo: int | None = None  # one server (set) at most, for the p99 to meet it
    servers_for_slo: int | None = None  # for the whole fleet, each p99 within the SLO
    groups: tuple[ServerFleet, ...] = ()

    @property
    def meets_slo(self) -> bool | None:
        return None if self.deadline_miss is None else self.deadline_miss <= 0.01

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["latency_percentiles"] = (
            self.latency_percentiles.to_dict() if self.latency_percentiles is not None
            else {"p50_s": None, "p95_s": None, "p99_s": None})
        d["groups"] = [g.to_dict() for g in self.groups]
        return d


@dataclass(frozen=True, repr=False)
class Plan(Plottable):
    report: Report
    devices: int
    fps: float
    ingress_bps: float
    concurrency: int
    rows: tuple[FleetRow, ...]
    best: str | None
    max_batch: int = 1
    max_queue_delay_s: float = 0.0
    slo_s: float | None = None
    curves: tuple[TailCurve, ...] = ()

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
            "max_batch": self.max_batch,
            "max_queue_delay_s": self.max_queue_delay_s,
            "slo_s": self.slo_s,
            "scenarios": [r.to_dict() for r in self.rows],
            "best": self.best,
            "curves": [c.to_dict() for c in self.curves],
        }


def _ratio(need: float, have: float) -> float:
    return need / have if have > 0 else math.inf


def _default_groups(s: Scenario) -> tuple[GroupService, ...]:
    """A scenario priced without its request (tests, by hand): one server, no batching."""
    server = s.constraint(ConstraintKind.SERVER_MEMORY)
    if s.server_memory is None or server is None:
        return ()
    return (GroupService("server", (), 0.0, (s.server_s,), s.server_memory,
                         int(server.available), s.payload_bytes),)


def _group_fleet(g: GroupService, devices: int, fps: float, ingress_bps: float,
                 concurrency: int) -> ServerFleet:
    batch = len(g.service_s)
    per_request = g.service_s[-1] / batch
    load = fps * per_request
    extra = (concurrency * batch - 1) * g.memory.activations_bytes
    memory = g.memory.total_bytes + extra
    memory_ok = memory <= g.memory_usable
    per_device_bits = fps * g.received_bytes * 8
    by_compute = math.floor(1.0 / load) if load > 0 else math.inf
    by_ingress = math.floor(ingress_bps / per_device_bits) if per_device_bits > 0 else math.inf
    limit = min(by_compute, by_ingress) if memory_ok else 0
    max_devices = None if limit == math.inf else int(limit)
    binding = (Resource.SERVER_MEMORY if not memory_ok else
               Resource.SERVER_COMPUTE if by_compute <= by_ingress else
               Resource.SERVER_INGRESS)
    servers: int | None = 1 if max_devices is None else (
        math.ceil(devices / max_devices) if max_devices > 0 else None)
    each = devices * fps / servers if servers else math.inf
    return ServerFleet(
        server=g.server, tasks=g.tasks, service_batch1_s=g.service_s[0],
        service_max_batch_s=g.service_s[-1],
        capacity_rps=batch / g.service_s[-1] if g.service_s[-1] > 0 else math.inf,
        load_per_device=load, memory_bytes=memory, memory_ok=memory_ok,
        max_devices=max_devices, servers=servers, load=load_of(each, g.service_s),
        binding=binding, mean_batch=None, mean_wait_s=None,
    )


def _queues(groups: Sequence[GroupService], rates: Sequence[float], delay_s: float
            ) -> list[Sojourn | None]:
    return [sojourn(rate, g.service_s, delay_s) for g, rate in zip(groups, rates, strict=True)]


def _latency(s: Scenario, link: Link | None, groups: Sequence[GroupService],
             queues: Sequence[Sojourn | None]) -> Distribution | None:
    """End to end at the given queues; None when a server is at 100% load or more."""
    if any(q is None for q in queues):
        return None
    uplink = (uplink_delay(link, s.transfer.uplink_s) if link is not None
              else Distribution.constant(s.transfer.uplink_s))
    fixed = s.edge_s + s.transfer.latency_s + s.transfer.downlink_s
    if not groups:
        return Distribution.constant(s.total_s)
    parts = [(g.forward_s, q.delay) for g, q in zip(groups, queues, strict=True)
             if q is not None]
    return end_to_end(fixed, uplink, parts)


def fleet_row(s: Scenario, devices: int, fps: float, ingress_bps: float, goodput_bps: float,
              concurrency: int, *, groups: Sequence[GroupService] | None = None,
              link: Link | None = None, max_queue_delay_s: float = 0.0,
              slo_s: float | None = None, slo_capacity: bool = True) -> FleetRow:
    """One scenario at fleet scale (the arithmetic of the module docstring). ``groups``: its
    servers with their service time per batch size (:func:`group_services`); without them,
    one server serving each request alone in ``server_s``. ``slo_capacity``: with an SLO, also
    search the devices one server takes within it (a bisection over the queue)."""
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
    services = tuple(_default_groups(s) if groups is None else groups)
    if not services:
        # A camera's frames at a fixed rate, a fixed time each: no queue below 100%.
        local = Distribution.constant(s.total_s) if device_ok else None
        return FleetRow(s.name, s.total_s, pipelined, device_ok, device_binding, edge_util,
                        uplink_util, 0.0, 0.0, 0.0, 0, True, None, 0,
                        device_binding if not device_ok else Resource.NO_SERVER,
                        **_tail(local, slo_s, None if device_ok else device_binding))
    fleets = [_group_fleet(g, devices, fps, ingress_bps, concurrency) for g in services]
    tight = min(fleets, key=lambda f: math.inf if f.max_devices is None else f.max_devices)
    memory_ok = all(f.memory_ok for f in fleets)
    busiest = max(fleets, key=lambda f: f.load_per_device)
    load = busiest.load_per_device
    per_device_bits = fps * s.payload_bytes * 8
    max_devices = tight.max_devices
    server_binding = (Resource.SERVER_MEMORY if not memory_ok else tight.binding)
    binding = server_binding if device_ok else device_binding
    counts = [f.servers for f in fleets]
    servers: int | None = None if any(c is None for c in counts) else sum(
        c for c in counts if c is not None)
    overloaded: Resource | None = None if device_ok else device_binding
    queues: list[Sojourn | None] = []
    if overloaded is None and servers is None:
        overloaded = Resource.SERVER_MEMORY
    if overloaded is None:
        rates = [devices * fps / (f.servers or 1) for f in fleets]
        queues = _queues(services, rates, max_queue_delay_s)
        if any(q is None for q in queues):
            overloaded = next(f.binding for f, q in zip(fleets, queues, strict=True)
                              if q is None)
    fleets = [_with_queue(f, q) for f, q in zip(fleets, queues, strict=False)] + fleets[
        len(queues):]
    latency = None if overloaded is not None else _latency(s, link, services, queues)
    within, for_slo = (None, None)
    if slo_s is not None and slo_capacity and memory_ok and device_ok:
        within = _devices_within(s, link, services, fps, max_queue_delay_s, slo_s,
                                 max_devices)
        for_slo = (None if not within else math.ceil(devices / within) * len(services))
    waits = [q for q in queues if q is not None]
    slowest = max(waits, key=lambda q: q.mean_wait_s) if waits else None
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
        server_memory_bytes=sum(f.memory_bytes for f in fleets),
        server_memory_ok=memory_ok,
        max_devices_per_server=max_devices,
        servers_needed=servers,
        binding=binding,
        server_binding=server_binding,
        capacity_rps=min(f.capacity_rps for f in fleets),
        mean_batch=None if slowest is None else slowest.mean_batch,
        mean_wait_s=None if slowest is None else slowest.mean_wait_s,
        devices_within_slo=within,
        servers_for_slo=for_slo,
        groups=tuple(fleets),
        **_tail(latency, slo_s, overloaded),
    )


def _with_queue(f: ServerFleet, q: Sojourn | None) -> ServerFleet:
    if q is None:
        return f
    return ServerFleet(f.server, f.tasks, f.service_batch1_s, f.service_max_batch_s,
                       f.capacity_rps, f.load_per_device, f.memory_bytes, f.memory_ok,
                       f.max_devices, f.servers, f.load, f.binding, q.mean_batch, q.mean_wait_s)


def _tail(latency: Distribution | None, slo_s: float | None, overloaded: Resource | None
          ) -> dict[str, Any]:
    if latency is None:
        return {"latency_percentiles": None, "deadline_miss": None, "overloaded": overloaded}
    miss = None if slo_s is None else latency.exceeds(slo_s)
    return {"latency_percentiles": Percentiles.of(latency), "deadline_miss": miss,
            "overloaded": None}


def _p99_at(s: Scenario, link: Link | None, services: Sequence[GroupService], fps: float,
            delay_s: float, devices: int) -> float | None:
    """p99 end to end with ``devices`` on one server of each group; None at 100% load."""
    queues = _queues(services, [devices * fps] * len(services), delay_s)
    latency = _latency(s, link, services, queues)
    return None if latency is None else latency.quantile(0.99)


def _devices_within(s: Scenario, link: Link | None, services: Sequence[GroupService],
                    fps: float, delay_s: float, slo_s: float, cap: int | None) -> int:
    """The most devices one server (set) takes with the p99 within the SLO (0: not even one).
    p99 grows with the load, so a bisection finds it."""
    def ok(m: int) -> bool:
        p99 = _p99_at(s, link, services, fps, delay_s, m)
        return p99 is not None and p99 <= slo_s

    if not ok(1):
        return 0
    hi = cap if cap is not None else 10**9
    if ok(hi):
        return hi
    lo = 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo


def tail_curve(s: Scenario, link: Link | None, services: Sequence[GroupService], fps: float,
               delay_s: float, most: int, ingress_bps: float = math.inf) -> TailCurve:
    """p99 against the devices on one server (set), up to where a server saturates (its
    compute, or its network interface at ``ingress_bps``) or ``most``."""
    limits: list[tuple[float, Resource]] = []
    for g in services:
        per_device = fps * g.service_s[-1] / len(g.service_s)
        if per_device > 0:
            limits.append((1.0 / per_device, Resource.SERVER_COMPUTE))
        bits = fps * g.received_bytes * 8
        if bits > 0 and math.isfinite(ingress_bps):
            limits.append((ingress_bps / bits, Resource.SERVER_INGRESS))
    saturates, by = min(limits) if limits else (None, Resource.NONE)
    top = most if saturates is None else min(most, saturates)
    grid = {max(1, round(top ** (k / CURVE_POINTS))) for k in range(CURVE_POINTS + 1)}
    if saturates is not None:  # closer to the wall, where the tail bends
        grid |= {max(1, int(saturates * (1 - 0.5 ** k))) for k in range(1, 10)}
    points = []
    for m in sorted(grid):
        if saturates is not None and m >= saturates:
            continue
        p99 = _p99_at(s, link, services, fps, delay_s, m)
        if p99 is not None:
            points.append((m, p99))
    return TailCurve(s.name, tuple(points), saturates, by)


def plan(
    backbone: Profile | PricingRequest | str | Any,
    tasks: int | str | Sequence[int] = D.TASKS,
    *,
    devices: int = D.FLEET_DEVICES,
    fps: float = D.FPS,
    ingress_bps: float | str = D.INGRESS,
    concurrency: int = D.CONCURRENCY,
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
    cuts: Sequence[str] = (),
    max_batch: int = D.MAX_BATCH,
    max_queue_delay: float | str = D.MAX_QUEUE_DELAY,
    slo: float | str | None = None,
) -> Plan:
    """Size a fleet of ``devices`` edge devices at ``fps`` inferences per second each, served
    by servers with ``ingress_bps`` of network capacity and ``concurrency`` batches in flight,
    each batching up to ``max_batch`` requests (a request that finds it idle waits up to
    ``max_queue_delay``, a duration or seconds); ``slo`` (a duration or seconds) adds the
    probability of missing it."""
    positive_int("devices", devices, at_most=10**9)
    batch, delay = batcher_of(max_batch, max_queue_delay)
    slo_s = slo_of(slo, "slo")
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
                   hidden=hidden, profiles=profiles, runtime=runtime, branch=branch,
                   fan_out=fan_out, relay_link=relay_link)
    request = given_request(backbone, **options) or pricing_request(backbone, **options)
    return plan_request(request, devices=devices, fps=rate, ingress_bps=ingress,
                        concurrency=concurrency, cuts=cuts, max_batch=batch,
                        max_queue_delay_s=delay, slo_s=slo_s)


def plan_request(request: PricingRequest, *, devices: int, fps: float, ingress_bps: float,
                 concurrency: int = 1, cuts: Sequence[str] = (), max_batch: int = 1,
                 max_queue_delay_s: float = 0.0, slo_s: float | None = None,
                 curves: bool = False) -> Plan:
    """:func:`plan` for a request already built. ``curves`` adds each scenario's p99 against
    the devices one server (set) takes (the tail figure's data)."""
    # A fleet plan reads the scenarios, not the single-link break-even and sensitivity.
    report = compare_request(request, cuts=cuts, what_if=False)
    goodput = request.link.goodput_bps
    rows = []
    tails = []
    for s in report.scenarios:
        services = group_services(request, s, max_batch)
        rows.append(fleet_row(s, devices, fps, ingress_bps, goodput, concurrency,
                              groups=services, link=request.link,
                              max_queue_delay_s=max_queue_delay_s, slo_s=slo_s))
        if curves and services and rows[-1].device_ok and rows[-1].server_memory_ok:
            most = max(4 * devices, *(4 * (f.max_devices or 0) for f in rows[-1].groups))
            tails.append(tail_curve(s, request.link, services, fps, max_queue_delay_s, most,
                                    ingress_bps))
    return Plan(report, devices, fps, ingress_bps, concurrency, tuple(rows),
                best_row(rows, slo_s), max_batch, max_queue_delay_s, slo_s, tuple(tails))


def best_row(rows: Sequence[FleetRow], slo_s: float | None = None) -> str | None:
    """Among scenarios where every device keeps up (and, with an SLO, whose p99 meets it): the
    fewest servers, then the lowest latency (the p99 with an SLO)."""
    ok = [r for r in rows if r.device_ok and (r.servers_needed is not None)]
    if slo_s is not None:
        ok = [r for r in ok if r.latency_percentiles is not None
              and r.latency_percentiles.p99_s <= slo_s]
    if not ok:
        return None

    def latency(r: FleetRow) -> float:
        if slo_s is not None and r.latency_percentiles is not None:
            return r.latency_percentiles.p99_s
        return r.latency_s

    return min(ok, key=lambda r: ((r.servers_needed or 0), latency(r))).name


__all__ = ["FleetRow", "Plan", "Resource", "ServerFleet", "TailCurve", "best_row", "fleet_row",
           "plan", "plan_request", "tail_curve"]
