"""User values -> one validated :class:`~splitcost.pricing.request.PricingRequest`.

Every study and the CLI build their request here, so each value is checked once, with one set of
defaults (:mod:`splitcost.defaults`), and every error names the API parameter it is about (the
CLI writes the flag instead).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from splitcost import defaults as D
from splitcost.errors import InputError, choice
from splitcost.errors import positive_int as positive_int  # re-exported for the studies
from splitcost.errors import positive_number as positive_number
from splitcost.hardware.catalog import find_device, find_link
from splitcost.hardware.device import Device
from splitcost.hardware.encoding import FLOAT32, Encoding, input_encoding, payload_encoding
from splitcost.hardware.link import Link, ideal_link
from splitcost.kinds import MemoryModel, Processes, Runtime, values
from splitcost.network.cuts import Cut, find_cut
from splitcost.network.profile import Profile
from splitcost.network.tasks import Task, parse_tasks
from splitcost.pricing.placement import FanOut, Placement, ServerGroup
from splitcost.pricing.request import PricingRequest
from splitcost.units import Kind, parse_duration, parse_quantity

Profiles = Sequence[str | os.PathLike[str]]


def device_of(value: object, profiles: Profiles = (), parameter: str = "device") -> Device:
    if isinstance(value, Device):
        return value
    if not isinstance(value, str | os.PathLike):
        raise InputError(f"expected a device name or profile file, got {value!r}",
                         parameter=parameter)
    try:
        return find_device(os.fspath(value), profiles)
    except InputError as e:
        raise e.about(parameter) from None


def link_of(value: object, profiles: Profiles = (), parameter: str = "link") -> Link:
    """A Link, a link name or file, a rate with its unit (``"100 Mbit/s"``), or a number of
    bits per second (an ideal link)."""
    if isinstance(value, Link):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return ideal_link(parse_quantity(value, Kind.RATE, bare_number=True))
        except InputError as e:
            raise e.about(parameter) from None
    if not isinstance(value, str | os.PathLike):
        raise InputError(f"expected a link name, a rate such as '1gbps', or bits per second, "
                         f"got {value!r}", parameter=parameter)
    try:
        return find_link(os.fspath(value), profiles)
    except InputError as e:
        raise e.about(parameter) from None


def profile_of(backbone: object) -> Profile:
    """A Profile as given, or the profile of a backbone name or module at the defaults."""
    if isinstance(backbone, Profile):
        return backbone
    if isinstance(backbone, PricingRequest):
        return backbone.backbone
    from splitcost.network.profiler import profile  # torch: only when asked to trace

    return profile(backbone)


@dataclass(frozen=True)
class PricingInputs:
    """Every pricing value but the backbone, checked: what a request is made of once the
    backbone is traced (a command checks these before it traces anything)."""

    tasks: tuple[Task, ...]
    device: Device
    server: Device
    link: Link
    memory_model: MemoryModel
    payload: Encoding | None  # None: the backbone's precision
    input: Encoding | None  # None: the backbone's precision (a float input), else float32
    images: int
    hidden: int
    processes: Processes
    runtime: Runtime = Runtime.EAGER
    payload_ratio: float = 1.0  # the compression of a payload sent at the precision's dtype
    branch: str | None = None  # a cut name; None: the backbone's end
    placement: Placement | None = None

    def request(self, backbone: Profile, heads: Sequence[Profile] | None = None
                ) -> PricingRequest:
        """The request for ``backbone``, with its task heads traced (or ``heads``, one per
        task, already profiled, as :func:`splitcost.network.cache.cached_heads` gives them)."""
        if heads is None:
            from splitcost.network.heads import head_profiles  # torch: the heads are traced

            heads = head_profiles(backbone, self.tasks, self.hidden)
        elif len(heads) != len(self.tasks):
            raise InputError(f"expected one head per task ({len(self.tasks)}), got {len(heads)}",
                             parameter="heads")
        return PricingRequest(
            backbone=backbone,
            heads=tuple(heads),
            device=self.device,
            server=self.server,
            link=self.link,
            tasks=self.tasks,
            memory_model=self.memory_model,
            payload=self.payload or replace(precision_encoding(backbone.dtype),
                                            compression=self.payload_ratio),
            input=self.input or (precision_encoding(backbone.dtype)
                                 if backbone.input.dtype in FLOAT_INPUTS else FLOAT32),
            images=self.images,
            processes=self.processes,
            hidden=self.hidden,
            runtime=self.runtime,
            branch=branch_of(backbone, self.branch),
            placement=self.placement,
        )


FLOAT_INPUTS = ("float32", "float16", "bfloat16", "float64")


def precision_encoding(dtype: str) -> Encoding:
    """How a tensor of the network's precision is sent when no encoding is asked for: as it is
    (float64 as float32, the widest encoding)."""
    return payload_encoding(dtype if dtype in ("float16", "bfloat16") else "float32")


def runtime_of(value: object, devices: Sequence[Device]) -> Runtime:
    """A runtime every one of ``devices`` has a section for."""
    runtime = Runtime(choice("runtime", value, values(Runtime)))
    for d in devices:
        d.runtime(runtime)  # an InputError naming the runtime and what the device has
    return runtime


def branch_of(backbone: Profile, name: str | None) -> Cut | None:
    """The branch point named like a cut (``input``: nothing shared, ``output``: the paper's)."""
    if name is None:
        return None
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"expected a cut name from 'splitcost sweep' (a module path, input, "
                         f"output or opN), got {name!r}", parameter="branch")
    try:
        return find_cut(backbone.trace, name.strip())
    except InputError as e:
        raise e.about("branch") from None


def _task_list(text: str, tasks: int) -> tuple[int, ...] | None:
    """``1,2`` -> (0, 1); None when ``text`` is not a list of task numbers."""
    parts = [p.strip() for p in text.split(",")]
    if not all(p.isdigit() for p in parts):
        return None
    numbers = [int(p) for p in parts]
    for k in numbers:
        if not 1 <= k <= tasks:
            raise InputError(f"task {k} does not exist: the tasks are numbered 1 to {tasks}",
                             parameter="server")
    if len(set(numbers)) != len(numbers):
        raise InputError(f"{text!r} names a task twice", parameter="server")
    return tuple(k - 1 for k in numbers)


def placement_of(server: object, tasks: int, profiles: Profiles = (),
                 fan_out: str = D.FAN_OUT, relay_link: object = D.RELAY_LINK
                 ) -> tuple[Device, Placement | None]:
    """The server and, for several, the placement of the tasks on them.

    ``server`` is a device (name, file or Device) for every task, or a list of
    ``NAME:TASKS`` (``["rtx-3090:1,2", "t4:3"]``, tasks numbered from 1) that puts every task
    on exactly one server."""
    mode = FanOut(choice("fan_out", fan_out, values(FanOut)))
    # Checked whatever the fan-out, so that a typo fails before anything is traced.
    relay = link_of(relay_link, profiles, "relay_link")
    if isinstance(server, Device | str | os.PathLike):
        specs: list[object] = [server]
    elif isinstance(server, Sequence) and server:
        specs = list(server)
    else:
        raise InputError(f"expected a server name, or a list of NAME:TASKS such as "
                         f"rtx-3090:1,2, got {server!r}", parameter="server")
    groups: list[ServerGroup] = []
    for spec in specs:
        if isinstance(spec, Device):
            groups.append(ServerGroup(spec, ()))
            continue
        if not isinstance(spec, str | os.PathLike):
            raise InputError(f"expected a server name or NAME:TASKS, got {spec!r}",
                             parameter="server")
        text = os.fspath(spec)
        name, sep, tail = text.rpartition(":")
        which = _task_list(tail, tasks) if sep and name else None
        device = device_of(name if which is not None else text, profiles, "server")
        groups.append(ServerGroup(device, which or ()))
    if len(groups) == 1:
        named = groups[0].tasks
        if named and sorted(named) != list(range(tasks)):
            raise InputError(f"one server runs every task; it names only "
                             f"{','.join(str(t + 1) for t in named)} of {tasks}",
                             parameter="server")
        return groups[0].device, None
    unnamed = [g.device.name for g in groups if not g.tasks]
    if unnamed:
        raise InputError(f"with several servers each one names its tasks (NAME:1,2); "
                         f"{unnamed[0]} names none", parameter="server")
    placed = [t for g in groups for t in g.tasks]
    twice = sorted({t + 1 for t in placed if placed.count(t) > 1})
    if twice:
        raise InputError(f"task {twice[0]} is placed on two servers", parameter="server")
    missing = sorted(set(range(tasks)) - set(placed))
    if missing:
        raise InputError(f"task {missing[0] + 1} is on no server; place every task 1 to "
                         f"{tasks}", parameter="server")
    return groups[0].device, Placement(tuple(groups), mode,
                                       relay if mode is FanOut.RELAY else None)


def batcher_of(max_batch: object, max_queue_delay: object) -> tuple[int, float]:
    """The server's dynamic batcher: the largest batch and how long a request may wait for
    company (a duration such as ``2ms``, or seconds)."""
    batch = positive_int("max_batch", max_batch, at_most=4096)
    if isinstance(max_queue_delay, str):
        try:
            delay = parse_duration(max_queue_delay, allow_zero=True)
        except InputError as e:
            raise e.about("max_queue_delay") from None
    elif isinstance(max_queue_delay, int | float) and not isinstance(max_queue_delay, bool):
        delay = float(max_queue_delay)
    else:
        raise InputError(f"expected a duration such as 2ms, got {max_queue_delay!r}",
                         parameter="max_queue_delay")
    if not (math.isfinite(delay) and 0 <= delay <= 10.0):
        raise InputError(f"expected a delay from 0 to 10 s, got {max_queue_delay!r}",
                         parameter="max_queue_delay")
    return batch, delay


def slo_of(slo: object, parameter: str = "slo_s") -> float | None:
    """A latency limit: a duration such as ``150ms``, or seconds; None: no limit. Errors name
    ``parameter``."""
    if slo is None:
        return None
    if isinstance(slo, str):
        try:
            return parse_duration(slo)
        except InputError as e:
            raise e.about(parameter) from None
    return positive_number(parameter, slo, "seconds")


def pricing_inputs(
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
    profiles: Profiles = (),
    runtime: str = D.RUNTIME,
    branch: str | None = None,
    fan_out: str = D.FAN_OUT,
    relay_link: str | float | Link = D.RELAY_LINK,
) -> PricingInputs:
    """Check every pricing value once; each error names its parameter. ``payload_dtype`` and
    ``input_dtype`` default to the backbone's precision; ``runtime`` (eager, tensorrt,
    onnxruntime) must have a section in both devices' profiles (and every server's); ``branch``
    (a cut name) is checked against the backbone when the request is made."""
    if isinstance(profiles, str | os.PathLike) or not isinstance(profiles, Sequence):
        raise InputError(f"expected a list of folders, got {profiles!r}", parameter="profiles")
    model = choice("memory_model", memory_model, values(MemoryModel))
    layout = choice("processes", processes, values(Processes))
    positive_int("images", images, at_most=10**9)
    positive_int("hidden", hidden, at_most=10**7)
    if branch is not None and (not isinstance(branch, str) or not branch.strip()):
        raise InputError(f"expected a cut name from 'splitcost sweep' (a module path, input, "
                         f"output or opN), got {branch!r}", parameter="branch")
    parsed = tuple(parse_tasks(tasks))
    edge = device_of(device, profiles)
    host, placement = placement_of(server, len(parsed), profiles, fan_out, relay_link)
    # Checked now; without a dtype, the precision's encoding is chosen once the backbone is
    # traced, with the ratio kept from this check.
    payload = payload_encoding("float32" if payload_dtype is None else payload_dtype,
                               payload_compression)
    servers = (host,) if placement is None else tuple(g.device for g in placement.groups)
    return PricingInputs(
        tasks=parsed,
        device=edge,
        server=host,
        link=link_of(link, profiles),
        memory_model=MemoryModel(model),
        payload=payload if payload_dtype is not None else None,
        payload_ratio=payload.compression,
        input=None if input_dtype is None else input_encoding(input_dtype),
        images=images,
        hidden=hidden,
        processes=Processes(layout),
        runtime=runtime_of(runtime, (edge, *servers)),
        branch=None if branch is None else branch.strip(),
        placement=placement,
    )


def pricing_request(backbone: Profile | PricingRequest | str | Any,
                    tasks: int | str | Sequence[int] = D.TASKS, **options: Any
                    ) -> PricingRequest:
    """A request for ``backbone`` (a Profile, or a name or module profiled at the defaults)
    with ``tasks`` and the keyword arguments of :func:`pricing_inputs`."""
    if isinstance(backbone, PricingRequest):
        return backbone
    inputs = pricing_inputs(tasks, **options)
    return inputs.request(profile_of(backbone))


def given_request(backbone: object, **options: Any) -> PricingRequest | None:
    """The request passed in place of a profile, refusing pricing options beside it."""
    if not isinstance(backbone, PricingRequest):
        return None
    changed = [k for k, v in options.items() if v != _DEFAULTS.get(k, v)]
    if changed:
        raise InputError(f"a PricingRequest already holds {', '.join(changed)}; give either "
                         "the request or the options", parameter=changed[0])
    return backbone


_DEFAULTS: dict[str, Any] = {
    "tasks": D.TASKS, "device": D.DEVICE, "server": D.SERVER, "link": D.LINK,
    "memory_model": D.MEMORY_MODEL, "payload_dtype": D.PAYLOAD_DTYPE,
    "payload_compression": None, "input_dtype": D.INPUT_DTYPE, "images": D.IMAGES,
    "hidden": D.HIDDEN, "processes": D.PROCESSES, "profiles": (), "runtime": D.RUNTIME,
    "branch": None, "fan_out": D.FAN_OUT, "relay_link": D.RELAY_LINK,
}
