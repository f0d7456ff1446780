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
from splitcost.hardware.catalog import load_device, load_link
from splitcost.hardware.device import Device
from splitcost.hardware.encoding import FLOAT32, Encoding, input_encoding, payload_encoding
from splitcost.hardware.link import Link, ideal_link
from splitcost.kinds import MemoryModel, Processes, Runtime, values
from splitcost.network.profile import Profile
from splitcost.network.tasks import Task, parse_tasks
from splitcost.pricing.request import PricingRequest
from splitcost.units import Kind, parse_quantity

Profiles = Sequence[str | os.PathLike[str]]


def positive_int(parameter: str, value: object, *, at_least: int = 1,
                 at_most: int | None = None) -> int:
    """An integer (not a bool, not a float) within bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"expected an integer, got {type(value).__name__} {value!r}",
                         parameter=parameter)
    if value < at_least:
        raise InputError(f"expected at least {at_least}, got {value}", parameter=parameter)
    if at_most is not None and value > at_most:
        raise InputError(f"expected at most {at_most:,}, got {value:,}", parameter=parameter)
    return value


def positive_number(parameter: str, value: object, what: str) -> float:
    """A finite number above zero (``what`` says what it counts, for the message)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"expected a positive number of {what}, got {value!r}",
                         parameter=parameter)
    number = float(value)
    if not (number > 0 and math.isfinite(number)):
        raise InputError(f"expected a positive number of {what}, got {value!r}",
                         parameter=parameter)
    return number


def device_of(value: object, profiles: Profiles = (), parameter: str = "device") -> Device:
    if isinstance(value, Device):
        return value
    if not isinstance(value, str | os.PathLike):
        raise InputError(f"expected a device name or profile file, got {value!r}",
                         parameter=parameter)
    try:
        return load_device(os.fspath(value), profiles)
    except InputError as e:
        raise e.about(parameter) from None


def link_of(value: object, profiles: Profiles = ()) -> Link:
    """A Link, a link name or file, a rate with its unit (``"100 Mbit/s"``), or a number of
    bits per second (an ideal link)."""
    if isinstance(value, Link):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return ideal_link(parse_quantity(value, Kind.RATE, bare_number=True))
        except InputError as e:
            raise e.about("link") from None
    if not isinstance(value, str | os.PathLike):
        raise InputError(f"expected a link name, a rate such as '1gbps', or bits per second, "
                         f"got {value!r}", parameter="link")
    try:
        return load_link(os.fspath(value), profiles)
    except InputError as e:
        raise e.about("link") from None


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

    def request(self, backbone: Profile) -> PricingRequest:
        """The request for ``backbone``, with its task heads traced."""
        from splitcost.network.heads import head_profiles  # torch: the heads are traced

        return PricingRequest(
            backbone=backbone,
            heads=head_profiles(backbone, self.tasks, self.hidden),
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


def pricing_inputs(
    tasks: int | str | Sequence[int] = D.TASKS,
    *,
    device: str | Device = D.DEVICE,
    server: str | Device = D.SERVER,
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
) -> PricingInputs:
    """Check every pricing value once; each error names its parameter. ``payload_dtype`` and
    ``input_dtype`` default to the backbone's precision; ``runtime`` (eager, tensorrt,
    onnxruntime) must have a section in both devices' profiles."""
    if isinstance(profiles, str | os.PathLike) or not isinstance(profiles, Sequence):
        raise InputError(f"expected a list of folders, got {profiles!r}", parameter="profiles")
    model = choice("memory_model", memory_model, values(MemoryModel))
    layout = choice("processes", processes, values(Processes))
    positive_int("images", images, at_most=10**9)
    positive_int("hidden", hidden, at_most=10**7)
    edge, host = device_of(device, profiles), device_of(server, profiles, "server")
    # Checked now; without a dtype, the precision's encoding is chosen once the backbone is
    # traced, with the ratio kept from this check.
    payload = payload_encoding("float32" if payload_dtype is None else payload_dtype,
                               payload_compression)
    return PricingInputs(
        tasks=tuple(parse_tasks(tasks)),
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
        runtime=runtime_of(runtime, (edge, host)),
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
}
