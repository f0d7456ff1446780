"""``compare()``: a Profile, tasks, devices and a link -> a Report of the priced scenarios."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from splitcost.breakeven import Flip, scenario_flips
from splitcost.cost import SCENARIOS, Pricing, Scenario, price
from splitcost.errors import InputError
from splitcost.heads import DEFAULT_HIDDEN, Task, build_head, parse_tasks
from splitcost.memory import MEMORY_MODEL_SENTENCES, MEMORY_MODELS
from splitcost.payload import Encoding, input_encoding, payload_encoding
from splitcost.profiles import Device, Link, load_device, load_link
from splitcost.profiling import Profile, profile_module
from splitcost.sensitivity import Sensitivity, most_sensitive, sensitivity
from splitcost.units import InputSpec, format_bytes, format_rate, format_seconds
from splitcost.zoo import BackboneInfo

DEFAULT_DEVICE = "jetson-nano-4gb"
DEFAULT_SERVER = "rtx-3090"
PROCESSES = ("one", "per-task")


@dataclass(frozen=True)
class Report:
    """The comparison of the scenarios for one backbone, task set, device, server and link."""

    backbone: Profile
    tasks: tuple[Task, ...]
    heads: tuple[Profile, ...]
    device: Device
    server: Device
    link: Link
    memory_model: str
    payload: Encoding
    input: Encoding
    images: int
    hidden: int
    scenarios: tuple[Scenario, ...]
    best: str | None
    verdict: str
    notes: tuple[str, ...] = ()
    breakeven: tuple[Flip, ...] = ()
    sensitivity: tuple[Sensitivity, ...] = ()

    def scenario(self, name: str) -> Scenario:
        for s in self.scenarios:
            if s.name == name:
                return s
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        bb = self.backbone
        return {
            "backbone": {
                "name": bb.name,
                "rule": bb.backbone.rule,
                "input_shape": list(bb.input_shape),
                "batch": bb.batch,
                "dtype": bb.dtype,
                "params": bb.params,
                "param_bytes": bb.param_bytes,
                "macs": bb.macs,
                "flops": bb.flops,
                "zb_shape": list(bb.zb_shape),
                "zb_bytes": bb.zb_bytes,
                "input_bytes": bb.input_bytes,
            },
            "tasks": [
                {
                    "classes": t.classes,
                    "hidden": self.hidden,
                    "params": h.params,
                    "param_bytes": h.param_bytes,
                    "macs": h.macs,
                    "flops": h.flops,
                }
                for t, h in zip(self.tasks, self.heads, strict=True)
            ],
            "device": _device_dict(self.device),
            "server": _device_dict(self.server),
            "link": {
                "name": self.link.name,
                "title": self.link.title,
                "bandwidth_bps": self.link.bandwidth_bps,
                "rtt_s": self.link.rtt_s,
                "efficiency": self.link.efficiency,
                "ideal": self.link.ideal,
            },
            "memory_model": self.memory_model,
            "memory_model_meaning": MEMORY_MODEL_SENTENCES[self.memory_model],
            "precision": bb.dtype,
            "payload_encoding": self.payload.label,
            "input_encoding": self.input.label,
            "images": self.images,
            "scenarios": [s.to_dict() for s in self.scenarios],
            "best": self.best,
            "verdict": self.verdict,
            "notes": list(self.notes),
            "breakeven": [f.to_dict() for f in self.breakeven],
            "sensitivity": [s.to_dict() for s in self.sensitivity],
        }


def _device_dict(d: Device) -> dict[str, Any]:
    return {
        "name": d.name,
        "title": d.title,
        "role": d.role,
        "memory_total_bytes": d.memory_total,
        "memory_usable_bytes": d.memory_usable,
        "runtime_overhead_bytes": d.runtime_overhead,
        "peak_flops": dict(d.peak_flops),
        "memory_bandwidth_bytes_per_s": d.memory_bandwidth,
    }


def head_profiles(bb: Profile, tasks: Sequence[Task], hidden: int = DEFAULT_HIDDEN
                  ) -> tuple[Profile, ...]:
    """Trace one head per distinct class count on the flattened Z_b of ``bb``."""
    features = sum(m.numel for m in bb.trace.outputs) // bb.batch
    traced: dict[int, Profile] = {}
    for t in tasks:
        if t.classes in traced:
            continue
        with torch.device("meta"):
            head = build_head(features, t.classes, hidden)
        name = f"head({features}->{hidden}->{t.classes})"
        info = BackboneInfo(name, name, "module", "task head as in the paper's code", True)
        traced[t.classes] = profile_module(
            head, InputSpec((features,)), batch=bb.batch, dtype=bb.dtype, info=info,
            built="meta",
        )
    return tuple(traced[t.classes] for t in tasks)


def compare(
    backbone: Profile,
    tasks: int | str | list[int] = 3,
    *,
    device: str | Device = DEFAULT_DEVICE,
    server: str | Device = DEFAULT_SERVER,
    link: str | Link = "1gbps",
    memory_model: str = "inference",
    payload_dtype: str = "float32",
    payload_compression: float | str | None = None,
    input_dtype: str = "float32",
    images: int = 1,
    hidden: int = DEFAULT_HIDDEN,
    processes: str = "one",
    cuts: Sequence[str] = (),
    profiles: Sequence[str | os.PathLike[str]] = (),
    what_if: bool = True,
) -> Report:
    """Price LoC, MTL-Local, RoC and MTL-Split for ``backbone`` with ``tasks`` task heads.

    ``what_if`` adds the break-even bandwidths and RTTs and the one-input-at-a-time sensitivity.
    """
    if memory_model not in MEMORY_MODELS:
        raise InputError(f"--memory-model: expected one of {', '.join(MEMORY_MODELS)}, got "
                         f"{memory_model!r}")
    if images < 1:
        raise InputError(f"--images: expected at least 1, got {images}")
    if hidden < 1:
        raise InputError(f"--hidden: expected at least 1, got {hidden}")
    if processes not in PROCESSES:
        raise InputError(f"--processes: expected one of {', '.join(PROCESSES)}, got "
                         f"{processes!r}")
    task_list = tuple(parse_tasks(tasks))
    dev = device if isinstance(device, Device) else load_device(device, profiles)
    srv = server if isinstance(server, Device) else load_device(server, profiles)
    lnk = link if isinstance(link, Link) else load_link(link, profiles)
    heads = head_profiles(backbone, task_list, hidden)
    pricing = Pricing(
        backbone=backbone,
        heads=heads,
        device=dev,
        server=srv,
        link=lnk,
        memory_model=memory_model,
        payload=payload_encoding(payload_dtype, payload_compression),
        input=input_encoding(input_dtype),
        images=images,
        processes=processes,
    )
    extra = [pricing.cut(name) for name in cuts]
    scenarios = price(pricing, extra)
    best, text = verdict(scenarios, dev, srv)
    flips: tuple[Flip, ...] = ()
    moves: tuple[Sensitivity, ...] = ()
    if what_if and best is not None:
        chosen = next(s for s in scenarios if s.name == best)
        others = [s for s in scenarios if s.feasible and s.name != best]
        flips = tuple(scenario_flips(chosen, others, lnk))
        def heads_for(n: int) -> tuple[Profile, ...]:
            return (heads[0],) * n  # n tasks like the first one: its head, already traced

        moves = sensitivity(pricing, heads_for)
        text = text[:-1] + _what_if_text(flips, moves, lnk)
    return Report(
        backbone=backbone,
        tasks=task_list,
        heads=heads,
        device=dev,
        server=srv,
        link=lnk,
        memory_model=memory_model,
        payload=pricing.payload,
        input=pricing.input,
        images=images,
        hidden=hidden,
        scenarios=scenarios,
        best=best,
        verdict=text,
        notes=uint8_note(backbone, pricing.payload),
        breakeven=flips,
        sensitivity=moves,
    )


def uint8_note(profile: Profile, payload: Encoding) -> tuple[str, ...]:
    """Say so when the raw input as uint8 pixels is smaller than the encoded Z_b."""
    raw_pixels = sum(m.numel for m in profile.trace.inputs)
    zb = payload.encoded_bytes(sum(m.numel for m in profile.trace.outputs))
    if raw_pixels < zb:
        return (f"The raw input as uint8 pixels ({raw_pixels:,} bytes) is smaller than Z_b as "
                f"{payload.label} ({zb:,} bytes): RoC with --input-dtype uint8 sends less "
                "than MTL-Split.",)
    return ()


def _what_if_text(flips: Sequence[Flip], moves: Sequence[Sensitivity], link: Link) -> str:
    parts = []
    for parameter in ("bandwidth", "rtt"):
        near = [f for f in flips if f.parameter == parameter]
        now = link.bandwidth_bps if parameter == "bandwidth" else link.rtt_s
        for direction in ("below", "above"):
            side = [f for f in near if f.direction == direction and (
                f.value < now if direction == "below" else f.value > now)]
            if not side:
                continue
            f = (max if direction == "below" else min)(side, key=lambda f: f.value)
            shown = format_rate(f.value) if parameter == "bandwidth" else format_seconds(f.value)
            what = "uplink" if parameter == "bandwidth" else "RTT"
            parts.append(f"{f.winner} wins with an {what} {direction} {shown}")
    top = most_sensitive(moves)
    if top is not None and top.change_pct is not None:
        effect = f"{top.best} wins" if top.flips else f"{top.change_pct:+.0f}% latency"
        parts.append(f"the input that moves it most: {top.input} {top.change} ({effect})")
    return ("; " + "; ".join(parts) + ".") if parts else "."


def verdict(scenarios: Sequence[Scenario], device: Device, server: Device
            ) -> tuple[str | None, str]:
    """The fastest scenario that fits, and one line that says why the others lose."""
    fits = sorted((s for s in scenarios if s.feasible), key=lambda s: s.total_s)
    misfits = [s for s in scenarios if not s.feasible]
    why_not = "; ".join(_why_not(s, device, server) for s in misfits)
    if not fits:
        return None, f"No scenario fits: {why_not}."
    best = fits[0]
    text = f"{best.name} is the fastest scenario that fits: {format_seconds(best.total_s)}"
    text += " per inference"
    if len(fits) > 1:
        runner = fits[1]
        text += f" ({runner.total_s / best.total_s:.2g}x faster than {runner.name})"
    if why_not:
        text += f"; {why_not}"
    return best.name, text + "."


def _why_not(s: Scenario, device: Device, server: Device) -> str:
    c = next(c for c in s.constraints if not c.ok)
    where = device if c.name.startswith("edge") else server
    return (f"{s.name} does not fit {where.name} ({c.name}: needs {format_bytes(c.needed)} of "
            f"{format_bytes(c.available)} usable)")


__all__ = ["SCENARIOS", "Report", "compare", "head_profiles", "verdict"]
