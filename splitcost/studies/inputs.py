"""User values -> one validated :class:`~splitcost.pricing.request.PricingRequest`.

Every study and the CLI build their request here, so each value is checked once, with one set of
defaults (:mod:`splitcost.defaults`), and every error names the API parameter it is about (the
CLI writes the flag instead).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from splitcost import defaults as D
from splitcost.errors import InputError, choice
from splitcost.hardware.catalog import load_device, load_link
from splitcost.hardware.device import Device
from splitcost.hardware.encoding import Encoding, input_encoding, payload_encoding
from splitcost.hardware.link import Link, ideal_link
from splitcost.kinds import MemoryModel, Processes, values
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
    payload: Encoding
    input: Encoding
    images: int
    hidden: int
    processes: Processes

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
            payload=self.payload,
            input=self.input,
            images=self.images,
            processes=self.processes,
            hidden=self.hidden,
        )


def pricing_inputs(
    tasks: int | str | Sequence[int] = D.TASKS,
    *,
    device: str | Device = D.DEVICE,
    server: str | Device = D.SERVER,
    link: str | float | Link = D.LINK,
    memory_model: str = D.MEMORY_MODEL,
    payload_dtype: str = D.PAYLOAD_DTYPE,
    payload_compression: float | str | None = None,
    input_dtype: str = D.INPUT_DTYPE,
    images: int = D.IMAGES,
    hidden: int = D.HIDDEN,
    processes: str = D.PROCESSES,
    profiles: Profiles = (),
) -> PricingInputs:
    """Check every pricing value once; each error names its parameter."""
    if isinstance(profiles, str | os.PathLike) or not isinstance(profiles, Sequence):
        raise InputError(f"expected a list of folders, got {profiles!r}", parameter="profiles")
    model = choice("memory_model", memory_model, values(MemoryModel))
    layout = choice("processes", processes, values(Processes))
    positive_int("images", images, at_most=10**9)
    positive_int("hidden", hidden, at_most=10**7)
    return PricingInputs(
        tasks=tuple(parse_tasks(tasks)),
        device=device_of(device, profiles),
        server=device_of(server, profiles, "server"),
        link=link_of(link, profiles),
        memory_model=MemoryModel(model),
        payload=payload_encoding(payload_dtype, payload_compression),
        input=input_encoding(input_dtype),
        images=images,
        hidden=hidden,
        processes=Processes(layout),
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
    "hidden": D.HIDDEN, "processes": D.PROCESSES, "profiles": (),
}
