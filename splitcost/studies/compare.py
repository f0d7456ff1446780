"""``compare()``: a pricing request -> a Report of the priced scenarios, with its verdict.

The verdict is data (the best scenario, the runner-up, why the others do not fit, the nearest
flips, the input that moves it most); :mod:`splitcost.render.verdicts` writes its sentence.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from splitcost import defaults as D
from splitcost._notebook import Plottable
from splitcost.errors import InputError, unknown_name
from splitcost.hardware.device import Device
from splitcost.hardware.encoding import Encoding
from splitcost.hardware.link import Link
from splitcost.kinds import ConstraintKind, MemoryModel
from splitcost.network.cuts import cut_positions
from splitcost.network.profile import Profile
from splitcost.network.tasks import Task
from splitcost.pricing.breakeven import Flip, nearest_flips, scenario_flips
from splitcost.pricing.request import PricingRequest
from splitcost.pricing.scenarios import Scenario, price, split
from splitcost.pricing.sensitivity import Sensitivity, most_sensitive, sensitivity
from splitcost.studies.inputs import given_request, pricing_request


@dataclass(frozen=True)
class Misfit:
    """A scenario that does not fit, and the constraint it breaks most."""

    scenario: str
    constraint: ConstraintKind
    device: str  # the device whose memory is short
    needed_bytes: int
    available_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Verdict:
    """The fastest scenario that fits and why the others lose."""

    best: str | None
    best_total_s: float | None
    runner_up: str | None  # the next fastest that fits
    speedup: float | None  # runner-up's latency / the best's
    misfits: tuple[Misfit, ...]
    flips: tuple[Flip, ...] = ()  # the nearest flips on each side of the current link
    most_sensitive: Sensitivity | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "best_total_s": self.best_total_s,
            "runner_up": self.runner_up,
            "speedup": self.speedup,
            "misfits": [m.to_dict() for m in self.misfits],
            "flips": [f.to_dict() for f in self.flips],
            "most_sensitive": None if self.most_sensitive is None else
            self.most_sensitive.to_dict(),
        }


@dataclass(frozen=True)
class RawInputNote:
    """The raw input as uint8 pixels is smaller than Z_b as encoded: RoC with uint8 sends less."""

    raw_bytes: int
    zb_bytes: int
    zb_encoding: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, repr=False)
class Report(Plottable):
    """The comparison of the scenarios for one backbone, task set, device, server and link."""

    request: PricingRequest
    scenarios: tuple[Scenario, ...]
    verdict: Verdict
    raw_input: RawInputNote | None = None
    breakeven: tuple[Flip, ...] = ()
    sensitivity: tuple[Sensitivity, ...] = ()
    # The fastest split at a module boundary that fits (not the input or Z_b): what the
    # report points to when it beats MTL-Split on this link.
    best_cut: Scenario | None = None

    @property
    def best(self) -> str | None:
        """The name of the fastest scenario that fits (None: nothing fits)."""
        return self.verdict.best

    @property
    def backbone(self) -> Profile:
        return self.request.backbone

    @property
    def tasks(self) -> tuple[Task, ...]:
        return self.request.tasks

    @property
    def heads(self) -> tuple[Profile, ...]:
        return self.request.heads

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
    def memory_model(self) -> MemoryModel:
        return self.request.memory_model

    @property
    def payload(self) -> Encoding:
        return self.request.payload

    @property
    def input(self) -> Encoding:
        return self.request.input

    @property
    def images(self) -> int:
        return self.request.images

    @property
    def hidden(self) -> int:
        return self.request.hidden

    def scenario(self, name: str) -> Scenario:
        """A scenario by name (``"MTL-Split"``, ``"Split@layer3"``), whatever its case."""
        for s in self.scenarios:
            if s.name == name or s.name.lower() == str(name).lower():
                return s
        raise unknown_name("scenario", str(name), [s.name for s in self.scenarios],
                           parameter="name")

    def to_dict(self) -> dict[str, Any]:
        return {
            "context": self.request.to_dict(),
            "scenarios": [s.to_dict() for s in self.scenarios],
            "best": self.best,
            "verdict": self.verdict.to_dict(),
            "raw_input_smaller": None if self.raw_input is None else self.raw_input.to_dict(),
            "breakeven": [f.to_dict() for f in self.breakeven],
            "sensitivity": [s.to_dict() for s in self.sensitivity],
            "best_cut": None if self.best_cut is None else self.best_cut.to_dict(),
        }


def compare(
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
    images: int = D.IMAGES,
    hidden: int = D.HIDDEN,
    processes: str = D.PROCESSES,
    profiles: Sequence[str | os.PathLike[str]] = (),
    runtime: str = D.RUNTIME,
    branch: str | None = None,
    fan_out: str = D.FAN_OUT,
    relay_link: str | float | Link = D.RELAY_LINK,
    cuts: Sequence[str] = (),
    what_if: bool = True,
) -> Report:
    """Price LoC, MTL-Local, RoC and MTL-Split (and ``Split@cut`` for each of ``cuts``) for
    ``backbone`` (a Profile, a PricingRequest, or a name or module profiled at the defaults)
    with ``tasks`` task heads.

    ``what_if`` adds the break-even bandwidths and RTTs and the one-input-at-a-time sensitivity.
    """
    options: dict[str, Any] = dict(tasks=tasks, device=device, server=server, link=link,
                   memory_model=memory_model, payload_dtype=payload_dtype,
                   payload_compression=payload_compression, input_dtype=input_dtype,
                   images=images, hidden=hidden, processes=processes, profiles=profiles,
                   runtime=runtime, branch=branch, fan_out=fan_out, relay_link=relay_link)
    request = given_request(backbone, **options) or pricing_request(backbone, **options)
    return compare_request(request, cuts=cuts, what_if=what_if)


def compare_request(request: PricingRequest, *, cuts: Sequence[str] = (),
                    what_if: bool = True, best_cut: bool | None = None) -> Report:
    """:func:`compare` for a request already built. ``best_cut`` (default: ``what_if``) also
    prices every module-boundary cut and keeps the fastest that fits."""
    if isinstance(cuts, str) or not isinstance(cuts, Sequence):
        raise InputError(f"expected a list of cut names, got {cuts!r}", parameter="cuts")
    if not all(isinstance(c, str) for c in cuts):
        raise InputError(f"expected cut names such as 'layer3', got {list(cuts)!r}",
                         parameter="cuts")
    if not isinstance(what_if, bool):
        raise InputError(f"expected True or False, got {what_if!r}", parameter="what_if")
    extra = []
    for name in cuts:
        try:
            extra.append(request.cut(name))
        except InputError as e:
            raise e.about("cuts") from None
    scenarios = price(request, extra)
    verdict = judge(scenarios, request.device, request.server)
    flips: tuple[Flip, ...] = ()
    moves: tuple[Sensitivity, ...] = ()
    if what_if and verdict.best is not None:
        chosen = next(s for s in scenarios if s.name == verdict.best)
        others = [s for s in scenarios if s.feasible and s.name != verdict.best]
        flips = tuple(scenario_flips(chosen, others, request.link))
        first = request.heads[0]

        def heads_for(n: int) -> tuple[Profile, ...]:
            return (first,) * n  # n tasks like the first one: its head, already traced

        moves = sensitivity(request, heads_for)
        verdict = Verdict(verdict.best, verdict.best_total_s, verdict.runner_up,
                          verdict.speedup, verdict.misfits, nearest_flips(flips, request.link),
                          most_sensitive(moves))
    fastest = fastest_split(request) if (what_if if best_cut is None else best_cut) else None
    return Report(request, scenarios, verdict, raw_input_note(request), flips, moves, fastest)


def fastest_split(request: PricingRequest, depth: int | None = None) -> Scenario | None:
    """The fastest ``Split@cut`` that fits, over the module-boundary cuts other than the input
    (RoC) and the output (MTL-Split)."""
    analysis = request.cut_analysis
    best: Scenario | None = None
    for k, name, kind in cut_positions(request.backbone.trace, depth):
        if kind != "module":
            continue
        s = split(request, analysis.cut(k, name, kind))
        if s.feasible and (best is None or s.total_s < best.total_s):
            best = s
    return best


def raw_input_note(pr: PricingRequest) -> RawInputNote | None:
    """Note when the raw input as uint8 pixels is smaller than the encoded Z_b."""
    raw_pixels = sum(m.numel for m in pr.backbone.trace.inputs)
    out = pr.cut("output")  # Z_b as MTL-Split sends it: once per storage
    zb = pr.payload.encoded_bytes(out.payload_numel, len(out.payload))
    return RawInputNote(raw_pixels, zb, pr.payload.label) if raw_pixels < zb else None


def judge(scenarios: Sequence[Scenario], device: Device, server: Device) -> Verdict:
    """The fastest scenario that fits, the runner-up, and the constraint each misfit breaks."""
    fits = sorted((s for s in scenarios if s.feasible), key=lambda s: s.total_s)
    misfits = []
    for s in scenarios:
        if s.feasible:
            continue
        c = next(c for c in s.constraints if not c.ok)
        where = c.device or (device if c.kind.on_edge else server).name
        misfits.append(Misfit(s.name, c.kind, where, int(c.needed), int(c.available)))
    if not fits:
        return Verdict(None, None, None, None, tuple(misfits))
    best = fits[0]
    runner = fits[1] if len(fits) > 1 else None
    return Verdict(best.name, best.total_s, runner.name if runner else None,
                   runner.total_s / best.total_s if runner and best.total_s else None,
                   tuple(misfits))


__all__ = ["Misfit", "RawInputNote", "Report", "Verdict", "compare", "compare_request",
           "fastest_split", "judge"]
