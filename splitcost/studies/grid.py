"""``grid()``: a design space from user values (names, rates, task counts, encodings) priced at
once by :func:`splitcost.pricing.grid.price_grid`.

Each value is checked as :func:`splitcost.studies.inputs.pricing_inputs` checks it; backbones
given by name are profiled (through ``cache`` when one is given, so a cached backbone needs no
torch), and each backbone's task heads are profiled once per class count for the whole grid.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from splitcost import defaults as D
from splitcost.errors import InputError, choice
from splitcost.hardware.device import Device
from splitcost.hardware.encoding import FLOAT32, Encoding, input_encoding, payload_encoding
from splitcost.hardware.link import Link
from splitcost.kinds import MemoryModel, Processes, values
from splitcost.network.cache import ProfileCache, cached_heads, cached_profile
from splitcost.network.profile import Profile
from splitcost.network.tasks import Task, parse_tasks
from splitcost.pricing.grid import GridPrices, price_grid
from splitcost.studies.inputs import (
    FLOAT_INPUTS,
    device_of,
    link_of,
    positive_int,
    precision_encoding,
    runtime_of,
)
from splitcost.units import parse_input

PayloadSpec = str | Encoding | tuple[str, float | str | None] | None


def _listed(parameter: str, value: object) -> list[Any]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        return [value]
    items = list(value)
    if not items:
        raise InputError("is empty; give at least one", parameter=parameter)
    return items


def _payload(value: PayloadSpec, precision: str) -> Encoding:
    """``"int8"``, ``("float16", 4)`` (dtype, compression ratio), an Encoding, or None: the
    backbones' ``precision``."""
    if value is None:
        return precision_encoding(precision)
    if isinstance(value, Encoding):
        return value
    if isinstance(value, tuple) and len(value) == 2:
        return payload_encoding(value[0], value[1])
    if isinstance(value, str):
        return payload_encoding(value)
    raise InputError(f"expected a dtype such as int8, (dtype, ratio) or an Encoding, got "
                     f"{value!r}", parameter="payloads")


def grid(
    backbones: Profile | str | Sequence[Profile | str],
    *,
    devices: str | Device | Sequence[str | Device] = (D.DEVICE,),
    links: str | float | Link | Sequence[str | float | Link] = (D.LINK,),
    task_sets: int | str | Sequence[int | str | Sequence[int]] = (D.TASKS,),
    payloads: PayloadSpec | Sequence[PayloadSpec] = (D.PAYLOAD_DTYPE,),
    servers: str | Device | Sequence[str | Device] = (D.SERVER,),
    memory_model: str = D.MEMORY_MODEL,
    input_dtype: str | None = D.INPUT_DTYPE,
    images: int = D.IMAGES,
    hidden: int = D.HIDDEN,
    processes: str = D.PROCESSES,
    profiles: Sequence[str | os.PathLike[str]] = (),
    cuts: Sequence[str] = (),
    best_cut: bool = False,
    input_shape: str = D.INPUT_SHAPE,
    cache: ProfileCache | None = None,
    runtime: str = D.RUNTIME,
) -> GridPrices:
    """Price every combination of ``backbones`` x ``task_sets`` x ``devices`` x ``servers`` x
    ``links`` x ``payloads`` and the scenarios (the paper's four, then ``Split@cut`` for each of
    ``cuts``, then with ``best_cut`` the fastest module-boundary split that fits); see
    :class:`splitcost.pricing.grid.GridPrices` for what comes back.

    A backbone given by name is profiled at ``input_shape`` (batch 1, float32). Each entry of
    ``task_sets`` is what ``--tasks`` takes (``3``, ``"3,2,3"``, ``[3, 2, 3]``), as in
    :func:`splitcost.studies.explore.explore`; a single value is one task set (so
    ``task_sets=[3, 2, 3]`` is three task counts, ``task_sets=[[3, 2, 3]]`` one set).
    A payload of None and ``input_dtype=None`` follow the backbones' precision (one for all);
    ``runtime`` is how every device runs the network (each profile needs its section).
    """
    model = MemoryModel(choice("memory_model", memory_model, values(MemoryModel)))
    layout = Processes(choice("processes", processes, values(Processes)))
    positive_int("images", images, at_most=10**9)
    positive_int("hidden", hidden, at_most=10**7)
    if isinstance(profiles, str | os.PathLike) or not isinstance(profiles, Sequence):
        raise InputError(f"expected a list of folders, got {profiles!r}", parameter="profiles")
    sets = []
    for t in _listed("task_sets", task_sets):
        try:
            sets.append(tuple(parse_tasks(t)))
        except InputError as e:
            raise InputError(e.message, parameter="task_sets") from None
    device_list = [device_of(d, profiles) for d in _listed("devices", devices)]
    server_list = [device_of(s, profiles, "server") for s in _listed("servers", servers)]
    link_list = [link_of(lk, profiles) for lk in _listed("links", links)]
    payload_specs = _listed("payloads", payloads)
    if input_dtype is not None:
        rgb = input_encoding(input_dtype)
    how = runtime_of(runtime, (*device_list, *server_list))
    spec = None
    measured: list[Profile] = []
    for b in _listed("backbones", backbones):
        if isinstance(b, Profile):
            measured.append(b)
            continue
        if not isinstance(b, str):
            raise InputError(f"expected a Profile or a backbone name, got {b!r}",
                             parameter="backbones")
        if spec is None:
            try:
                spec = parse_input(input_shape)
            except InputError as e:
                raise e.about("input_shape") from None
        measured.append(cached_profile(b, spec, cache=cache)[0])
    precisions = sorted({p.dtype for p in measured})
    if len(precisions) > 1 and (input_dtype is None or None in payload_specs):
        raise InputError(f"the backbones have several precisions ({', '.join(precisions)}); give "
                         "every payload's dtype and input_dtype", parameter="payloads")
    encodings = [_payload(p, precisions[0]) for p in payload_specs]
    if input_dtype is None:
        rgb = (precision_encoding(precisions[0]) if measured[0].input.dtype in FLOAT_INPUTS
               else FLOAT32)
    heads: dict[tuple[int, int], Profile] = {}  # (backbone, classes) -> head, for this call

    def heads_for(bb: Profile, task_set: tuple[Task, ...]) -> tuple[Profile, ...]:
        b = next(i for i, p in enumerate(measured) if p is bb)
        missing = [t for t in dict.fromkeys(t.classes for t in task_set)
                   if (b, t) not in heads]
        if missing:
            found, _ = cached_heads(bb, [Task(c) for c in missing], hidden, cache)
            heads.update({(b, c): h for c, h in zip(missing, found, strict=True)})
        return tuple(heads[(b, t.classes)] for t in task_set)

    return price_grid(measured, sets, heads_for, device_list, link_list, encodings,
                      servers=server_list, memory_model=model, input=rgb, images=images,
                      processes=layout, hidden=hidden, cuts=cuts, best_cut=best_cut,
                      runtime=how)


__all__ = ["GridPrices", "grid"]
