"""``explore()``: which backbone, on which device, over which link? Many configurations priced
side by side in one process.

Every backbone x edge device x link x task set is one *configuration*; each is priced by
:func:`price_configuration` (the four scenarios of the paper and the fastest cut that fits, on
the existing :func:`~splitcost.studies.compare.compare_request`), one function so that a
vectorised grid pricing can replace it. The result holds plain rows: per configuration its
options, the best one that fits (and meets the SLO, when one is set), the backbone's ImageNet-1k
top-1 from torchvision's weights metadata (the pretrained classifier's, not the user's tasks),
a ranking, and the Pareto front of latency, edge memory and that accuracy.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from splitcost import defaults as D
from splitcost._notebook import Plottable
from splitcost.errors import InputError
from splitcost.hardware.device import Device
from splitcost.hardware.link import Link
from splitcost.kinds import ConstraintKind, ScenarioKind
from splitcost.network.accuracy import ImageNetAccuracy, imagenet_accuracy
from splitcost.network.profile import Profile
from splitcost.network.tasks import Task, parse_tasks
from splitcost.pricing.request import PricingRequest
from splitcost.pricing.scenarios import Scenario
from splitcost.studies.compare import compare_request
from splitcost.studies.inputs import (
    device_of,
    link_of,
    positive_number,
    pricing_inputs,
    runtime_of,
)
from splitcost.studies.sweep import Violation, pareto_front
from splitcost.units import InputSpec

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Option:
    """One scenario of one configuration, priced."""

    scenario: str  # LoC, MTL-Local, RoC, MTL-Split or Split@CUT
    kind: ScenarioKind
    cut: str | None
    feasible: bool
    binding: ConstraintKind | None
    total_s: float
    edge_s: float
    transfer_s: float
    server_s: float
    band_low_s: float | None
    band_high_s: float | None
    edge_memory_bytes: int
    server_memory_bytes: int
    payload_bytes: int
    edge_energy_j: float | None
    violations: tuple[Violation, ...]  # memory it does not fit, the SLO it misses

    @property
    def ok(self) -> bool:
        """Fits and meets the SLO (when one is set)."""
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario, "kind": self.kind, "cut": self.cut,
            "feasible": self.feasible, "binding": self.binding, "total_s": self.total_s,
            "edge_s": self.edge_s, "transfer_s": self.transfer_s, "server_s": self.server_s,
            "latency_band": None if self.band_low_s is None else
            {"low_s": self.band_low_s, "high_s": self.band_high_s},
            "edge_memory_bytes": self.edge_memory_bytes,
            "server_memory_bytes": self.server_memory_bytes,
            "payload_bytes": self.payload_bytes, "edge_energy_j": self.edge_energy_j,
            "violations": [v.to_dict() for v in self.violations],
        }


@dataclass(frozen=True)
class Configuration:
    """One backbone on one edge device over one link with one task set, every option priced."""

    backbone: str  # the canonical name (efficientnet_b0)
    requested: str  # as the user wrote it
    device: str
    link: str
    tasks: tuple[Task, ...]
    params: int  # the backbone's
    macs: int
    zb_bytes: int
    accuracy: ImageNetAccuracy | None
    options: tuple[Option, ...]  # the paper's four, then the fastest cut that fits (if any)
    best: str | None  # the fastest option that fits and meets the SLO
    slo_s: float | None

    @property
    def best_option(self) -> Option | None:
        return next((o for o in self.options if o.scenario == self.best), None)

    @property
    def fastest_fit(self) -> Option | None:
        """The fastest option that fits, SLO or not."""
        fits = [o for o in self.options if o.feasible]
        return min(fits, key=lambda o: o.total_s) if fits else None

    @property
    def best_cut(self) -> Option | None:
        return next((o for o in self.options if o.kind is ScenarioKind.SPLIT), None)

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.scenario == name), None)

    @property
    def imagenet_top1(self) -> float | None:
        return None if self.accuracy is None else self.accuracy.top1


@dataclass(frozen=True)
class Skipped:
    """A backbone a pattern matched that could not be profiled, and the error's message."""

    backbone: str
    error: str

    def to_dict(self) -> dict[str, Any]:
        return {"backbone": self.backbone, "error": self.error}


@dataclass(frozen=True, repr=False)
class Explore(Plottable):
    """Configurations ranked: those with an option that fits (and meets the SLO) first, by the
    latency of that option; the others after, by their fastest option that fits."""

    configurations: tuple[Configuration, ...]
    slo_s: float | None
    server: str
    memory_model: str
    payload_encoding: str
    input_encoding: str
    hidden: int
    input_shape: tuple[int, ...]  # one sample, batch included
    precision: str
    pareto: tuple[tuple[int, str], ...]  # (configuration index, option name) on the front
    skipped: tuple[Skipped, ...] = ()
    profiles: tuple[Device | Link, ...] = ()  # every device and link priced, the server first

    @property
    def passing(self) -> tuple[Configuration, ...]:
        return tuple(c for c in self.configurations if c.best is not None)

    @property
    def failing(self) -> tuple[Configuration, ...]:
        return tuple(c for c in self.configurations if c.best is None)

    @property
    def best(self) -> str | None:
        """The backbone of the top-ranked configuration that has an option meeting every
        constraint (None: none has)."""
        return self.configurations[0].backbone if self.passing else None

    def rows(self) -> list[dict[str, Any]]:
        """One row per backbone x device x link x task set x scenario (the JSON ``rows``)."""
        front = set(self.pareto)
        out = []
        for rank, c in enumerate(self.configurations, 1):
            for o in c.options:
                out.append({
                    "backbone": c.backbone, "requested": c.requested, "device": c.device,
                    "link": c.link, "tasks": len(c.tasks),
                    "classes": [t.classes for t in c.tasks], **o.to_dict(),
                    "meets_slo": None if self.slo_s is None else o.total_s <= self.slo_s,
                    "best": o.scenario == c.best, "rank": rank,
                    "pareto": (rank - 1, o.scenario) in front,
                    "imagenet_top1": c.imagenet_top1,
                    "imagenet_weights": None if c.accuracy is None else c.accuracy.weights,
                    "imagenet_crop_size": None if c.accuracy is None else c.accuracy.crop_size,
                    "backbone_params": c.params, "backbone_macs": c.macs,
                })
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "context": {"server": self.server, "memory_model": self.memory_model,
                        "payload_encoding": self.payload_encoding,
                        "input_encoding": self.input_encoding, "hidden": self.hidden,
                        "input_shape": list(self.input_shape), "precision": self.precision},
            "slo_s": self.slo_s,
            "best": self.best,
            "rows": self.rows(),
            "pareto": [{"backbone": self.configurations[i].backbone,
                        "device": self.configurations[i].device,
                        "link": self.configurations[i].link,
                        "tasks": len(self.configurations[i].tasks), "scenario": name}
                       for i, name in self.pareto],
            "skipped": [s.to_dict() for s in self.skipped],
        }


# --- the seam: one configuration ----------------------------------------------------------------


def price_configuration(request: PricingRequest, slo_s: float | None = None) -> Configuration:
    """Price one backbone x device x link x task set: the paper's four scenarios and the
    fastest cut that fits, each checked against the devices' memory and the SLO."""
    report = compare_request(request, what_if=False, best_cut=True)
    scenarios = list(report.scenarios)
    if report.best_cut is not None:
        scenarios.append(report.best_cut)
    options = tuple(_option(s, slo_s) for s in scenarios)
    ok = [o for o in options if o.ok]
    best = min(ok, key=lambda o: o.total_s).scenario if ok else None
    bb = request.backbone
    info = bb.backbone
    accuracy = imagenet_accuracy(info.name) if info.source == "torchvision" else None
    return Configuration(info.name, info.requested, request.device.name, request.link.name,
                         request.tasks, bb.params, bb.macs, bb.zb_bytes, accuracy, options,
                         best, slo_s)


def _option(s: Scenario, slo_s: float | None) -> Option:
    violations = [Violation(c.kind, c.needed, c.available) for c in s.constraints if not c.ok]
    if slo_s is not None and s.total_s > slo_s:
        violations.append(Violation(ConstraintKind.SLO, s.total_s, slo_s))
    return Option(
        scenario=s.name, kind=s.kind, cut=s.cut, feasible=s.feasible, binding=s.binding,
        total_s=s.total_s, edge_s=s.edge_s, transfer_s=s.transfer_s, server_s=s.server_s,
        band_low_s=s.band.low_s if s.band else None,
        band_high_s=s.band.high_s if s.band else None,
        edge_memory_bytes=s.edge_memory_bytes, server_memory_bytes=s.server_memory_bytes,
        payload_bytes=s.payload_bytes, edge_energy_j=s.energy.total_j if s.energy else None,
        violations=tuple(violations),
    )


# --- what to explore --------------------------------------------------------------------------


def _items(value: object, parameter: str) -> list[Any]:
    """A comma-separated string, one object, or a sequence of them, as a list."""
    values = list(value) if isinstance(value, Sequence) and not isinstance(value, str) else [
        value]
    items: list[Any] = []
    for v in values:
        items += [part.strip() for part in v.split(",")] if isinstance(v, str) else [v]
    if not items or any(v == "" for v in items):
        raise InputError(f"expected one or more names separated by commas, got {value!r}",
                         parameter=parameter)
    return items


def backbone_names(value: str | Sequence[str]) -> list[str]:
    """Backbone names from ``resnet18,mobilenet_v3_large``, a pattern (``regnet_y_*``) or
    ``all`` (every torchvision classifier splitcost has a backbone rule for), in order, without
    repeats."""
    from splitcost.network.zoo import FAMILY_RULES, torchvision_names

    names = torchvision_names()
    ruled = [n for n in names if any(n.startswith(f) for f in FAMILY_RULES)]
    out: list[str] = []
    for item in _items(value, "backbones"):
        if not isinstance(item, str):
            raise InputError(f"expected backbone names, got {item!r}", parameter="backbones")
        if item.lower() == "all":
            out += ruled
        elif any(ch in item for ch in "*?["):
            hits = [n for n in ruled if fnmatch.fnmatchcase(n, item.lower())]
            if not hits:
                raise InputError(f"pattern {item!r} matches no torchvision classifier",
                                 parameter="backbones")
            out += hits
        else:
            out.append(item)
    return list(dict.fromkeys(out))


def _is_pattern(value: Sequence[str]) -> dict[str, bool]:
    """Which names came from a pattern or ``all`` (they may be skipped when they fail)."""
    from splitcost.network.zoo import torchvision_names

    names = torchvision_names()
    out: dict[str, bool] = {}
    for item in _items(value, "backbones"):
        if isinstance(item, str) and (item.lower() == "all" or any(ch in item for ch in "*?[")):
            for n in names:
                out.setdefault(n, True)
        elif isinstance(item, str):
            out[item] = False
    return out


def _devices(value: object, profiles: Sequence[str | os.PathLike[str]]) -> list[Device]:
    from splitcost.hardware.catalog import device_catalog

    items = _items(value, "devices")
    if len(items) == 1 and isinstance(items[0], str) and items[0].lower() == "all":
        return [d for d in device_catalog(profiles).devices if d.role == "edge"]
    return [device_of(v, profiles, "devices") for v in items]


def _links(value: object, profiles: Sequence[str | os.PathLike[str]]) -> list[Link]:
    from splitcost.hardware.catalog import link_catalog

    items = _items(value, "links")
    if len(items) == 1 and isinstance(items[0], str) and items[0].lower() == "all":
        return list(link_catalog(profiles).links)
    out = []
    for v in items:
        try:
            out.append(link_of(v, profiles))
        except InputError as e:
            raise InputError(e.message, parameter="links") from None
    return out


def _task_sets(value: object) -> list[tuple[Task, ...]]:
    """Task sets: ``[1, 3, 5]`` (counts), ``["3", "3,2,3"]`` (a count, classes per task)."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, Sequence) or not value:
        raise InputError(f"expected a list of task sets, got {value!r}", parameter="task_sets")
    out = []
    for v in value:
        try:
            out.append(tuple(parse_tasks(v)))
        except InputError as e:
            raise InputError(e.message, parameter="task_sets") from None
    return list(dict.fromkeys(out))


def explore(
    backbones: str | Sequence[str | Profile],
    *,
    devices: str | Device | Sequence[str | Device] = D.DEVICE,
    links: str | float | Link | Sequence[str | float | Link] = D.LINK,
    task_sets: Sequence[int | str | Sequence[int]] = (D.TASKS,),
    slo_s: float | None = None,
    input_shape: Sequence[int] | str | InputSpec = D.INPUT_SHAPE,
    batch: int = D.BATCH,
    dtype: str | None = D.PRECISION,
    server: str | Device = D.SERVER,
    memory_model: str = D.MEMORY_MODEL,
    payload_dtype: str | None = D.PAYLOAD_DTYPE,
    payload_compression: float | str | None = None,
    input_dtype: str | None = D.INPUT_DTYPE,
    hidden: int = D.HIDDEN,
    profiles: Sequence[str | os.PathLike[str]] = (),
    progress: Progress | None = None,
    runtime: str = D.RUNTIME,
    branch: str = D.BRANCH,
) -> Explore:
    """Price every ``backbones`` x ``devices`` x ``links`` x ``task_sets`` configuration.

    ``backbones``: names separated by commas (``"resnet18,efficientnet_b0"``), patterns
    (``"regnet_y_*"``), ``"all"``, or a list of names and Profiles. ``devices`` and ``links``:
    names separated by commas, ``"all"``, or lists (a link may be a number of bits/s).
    ``task_sets``: each a task count or classes per task (``[1, 3, "3,2,3"]``). ``slo_s``:
    a latency limit per inference. ``progress(stage, done, total)`` is called as it goes.
    ``branch``: the branch point of every backbone (a cut name each of them has; ``input`` and
    ``output`` fit all).
    """
    slo = None if slo_s is None else positive_number("slo_s", slo_s, "seconds")
    dirs = tuple(profiles)
    sets = _task_sets(task_sets)
    inputs = pricing_inputs([t.classes for t in sets[0]], server=server, memory_model=memory_model,
                            payload_dtype=payload_dtype, payload_compression=payload_compression,
                            input_dtype=input_dtype, hidden=hidden, profiles=dirs,
                            runtime=runtime, branch=branch)
    edge_devices = _devices(devices, dirs)
    runtime_of(runtime, edge_devices)
    link_list = _links(links, dirs)
    items = _items(backbones, "backbones")
    given = [b for b in items if isinstance(b, Profile)]
    text = [b for b in items if not isinstance(b, Profile)]
    names = backbone_names(text) if text else []
    skippable = _is_pattern(text) if text else {}
    profiled, skipped = _profiles(names, given, skippable, input_shape, batch, dtype, progress)
    if not profiled:
        raise InputError("no backbone could be profiled: "
                         + "; ".join(f"{s.backbone}: {s.error}" for s in skipped),
                         parameter="backbones")
    configs = []
    total = len(profiled) * len(sets) * len(edge_devices) * len(link_list)
    done = 0
    for prof in profiled:
        for tasks in sets:
            base = replace(inputs, tasks=tasks).request(prof)  # the heads, traced once
            for device in edge_devices:
                for link in link_list:
                    configs.append(price_configuration(replace(base, device=device, link=link),
                                                       slo))
                    done += 1
                    if progress:
                        progress("pricing", done, total)
    ranked = tuple(sorted(configs, key=_rank))
    first = replace(inputs, tasks=sets[0]).request(profiled[0])
    return Explore(ranked, slo, inputs.server.name, inputs.memory_model.value,
                   first.payload.label, first.input.label, inputs.hidden,
                   profiled[0].input_shape, profiled[0].dtype, _pareto(ranked),
                   tuple(skipped), (inputs.server, *edge_devices, *link_list))


def _profiles(names: Sequence[str], given: Sequence[Profile], skippable: dict[str, bool],
              input_shape: Sequence[int] | str | InputSpec, batch: int, dtype: str | None,
              progress: Progress | None) -> tuple[list[Profile], list[Skipped]]:
    """Each backbone profiled once; one a pattern matched that cannot be profiled is skipped,
    one named outright is an error."""
    from splitcost.network.profiler import profile  # torch: only when tracing

    out: list[Profile] = list(given)
    skipped: list[Skipped] = []
    seen = {p.name for p in given}
    for i, name in enumerate(names):
        if progress:
            progress("profiling", i, len(names))
        try:
            p = profile(name, input_shape, batch=batch, dtype=dtype)
        except InputError as e:
            if not skippable.get(name, False):
                raise InputError(e.message, parameter=e.parameter or "backbones") from None
            skipped.append(Skipped(name, e.message))
            continue
        if p.name not in seen:
            seen.add(p.name)
            out.append(p)
    if progress:
        progress("profiling", len(names), len(names))
    return out, skipped


def _rank(c: Configuration) -> tuple[bool, float, str]:
    """Those with an option that meets everything first, by its latency; then the others by
    their fastest option that fits (none at all: last)."""
    option = c.best_option or c.fastest_fit
    return (c.best is None, option.total_s if option else float("inf"), c.backbone)


def _pareto(configs: Sequence[Configuration]) -> tuple[tuple[int, str], ...]:
    """The options no other beats in latency, edge memory and ImageNet top-1 at once (among
    those that fit and meet the SLO; no top-1 counts as the worst)."""
    candidates = [(i, o) for i, c in enumerate(configs) for o in c.options if o.ok]
    points = [(o.total_s, float(o.edge_memory_bytes), -(configs[i].imagenet_top1 or 0.0))
              for i, o in candidates]
    return tuple((candidates[j][0], candidates[j][1].scenario) for j in pareto_front(points))


__all__ = ["Configuration", "Explore", "Option", "Skipped", "backbone_names", "explore",
           "price_configuration"]
