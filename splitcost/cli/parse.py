"""From the shared option groups to the library's arguments: parse, check, call nothing heavy.

Every check here runs before any network is traced, so that bad input fails fast; errors name
the API parameter and :func:`splitcost.cli.app.main` writes the flag.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from splitcost.cli.options import FleetArgs, ModelArgs, PricingArgs, SweepArgs
from splitcost.errors import InputError

if TYPE_CHECKING:
    from splitcost.network.cache import CacheEvent, ProfileCache
    from splitcost.network.profile import Profile
    from splitcost.pricing.request import PricingRequest
    from splitcost.studies.inputs import PricingInputs
    from splitcost.units import InputSpec


def model_spec(m: ModelArgs) -> tuple[InputSpec, str | None]:
    """The input spec and the dtype (None: the model's own), checked."""
    from splitcost.units import parse_dtype, parse_input

    try:
        spec = parse_input(m.input_shape)
    except InputError as e:
        raise e.about("input_shape") from None
    if m.batch < 1:
        raise InputError(f"expected an integer of at least 1, got {m.batch}", parameter="batch")
    if m.batch > 1 << 20:
        raise InputError(f"expected at most {1 << 20:,}, got {m.batch:,}", parameter="batch")
    backbone_args(m)
    try:
        dtype = None if m.precision is None else parse_dtype(m.precision)
    except InputError as e:
        raise e.about("dtype") from None
    if dtype is not None and dtype not in ("float32", "float16", "bfloat16", "float64"):
        raise InputError(f"dtype must be one of float32, float16, bfloat16, float64, got "
                         f"{dtype!r}", parameter="dtype")
    return spec, dtype


def profile_cache(m: ModelArgs) -> ProfileCache | None:
    """The profile cache, unless ``--no-cache``."""
    if m.no_cache:
        return None
    from splitcost.network.cache import ProfileCache

    return ProfileCache()


def traced(m: ModelArgs, *, whole: bool = False, cache: ProfileCache | None = None,
           **training: Any) -> Profile:
    """The backbone's profile: from the profile cache (no torch), else traced and stored."""
    if "," in m.backbone:
        raise InputError(f"one backbone per command, got {m.backbone!r}; compare several side "
                         "by side with 'splitcost explore --backbone a,b'", parameter="backbone")
    spec, dtype = model_spec(m)
    from splitcost.network.cache import cached_profile

    cache = cache or profile_cache(m)
    p, events = cached_profile(m.backbone, spec, cache=cache, batch=m.batch, whole=whole,
                               dtype=dtype,
                               backbone_args=backbone_args(m), **training)
    cache_notes(events)
    return p


def priced(m: ModelArgs, inputs: PricingInputs) -> PricingRequest:
    """The backbone's profile and its task heads (both through the cache) in one request."""
    from splitcost.network.cache import cached_heads

    cache = profile_cache(m)
    backbone = traced(m, cache=cache)
    heads, events = cached_heads(backbone, inputs.tasks, inputs.hidden, cache)
    cache_notes(events)
    return inputs.request(backbone, heads)


def cache_notes(events: Sequence[CacheEvent]) -> None:
    """One line on stderr for each thing the cache could not do (a damaged entry, a folder
    it cannot write); hits, misses and stores go unsaid."""
    from splitcost.render.views.cache import event_note

    for e in events:
        note = event_note(e)
        if note:
            sys.stderr.write(f"splitcost: note: {note}\n")


def backbone_args(m: ModelArgs) -> tuple[tuple[str, Any], ...]:
    from splitcost.network.backbone_args import parse_backbone_args

    return parse_backbone_args(list(m.backbone_args or ()))


def pricing(p: PricingArgs, *, images: int = 1, processes: str = "one") -> PricingInputs:
    from splitcost import defaults as D
    from splitcost.studies.inputs import pricing_inputs

    return pricing_inputs(
        p.tasks, device=p.device, server=p.server or D.SERVER, link=p.link,
        memory_model=p.memory_model, payload_dtype=p.payload_dtype,
        payload_compression=p.payload_compression, input_dtype=p.input_dtype, images=images,
        hidden=p.hidden, processes=processes, profiles=tuple(p.profiles or ()),
        branch=p.branch, fan_out=p.fan_out, relay_link=p.relay_link, runtime=p.runtime)


def one_server(servers: list[str] | None) -> str:
    """The one server of a command that prices every configuration on the same server."""
    from splitcost import defaults as D

    if not servers:
        return D.SERVER
    if len(servers) > 1:
        raise InputError("explore prices every configuration on one server; give --server "
                         "once (heads on several servers: report, sweep or plan)",
                         parameter="server")
    return servers[0]


def no_branch_with_branches(p: PricingArgs, plot: Path | None = None) -> None:
    """``--branches`` sweeps every branch point: a ``--branch`` beside it is a contradiction,
    and the joint sweep has no figure (its front is the table)."""
    from splitcost import defaults as D

    if p.branch != D.BRANCH:
        raise InputError("--branches sweeps every branch point; leave out --branch "
                         f"{p.branch!r}", parameter="branch")
    if plot is not None:
        raise InputError("the joint sweep of --branches has no figure; drop --plot (its "
                         "front is the table, every layout is in --format json)",
                         parameter="plot_file")


def fleet(f: FleetArgs, slo: str | None = None) -> dict[str, Any]:
    """Keyword arguments of :func:`splitcost.studies.plan.plan_request`."""
    from splitcost.studies.inputs import batcher_of, positive_int, positive_number, slo_of
    from splitcost.units import parse_rate

    try:
        rate = float(f.fps)
    except ValueError:
        raise InputError(f"expected a number of inferences per second, got {f.fps!r}",
                         parameter="fps") from None
    positive_number("fps", rate, "inferences per second")
    positive_int("devices", f.devices, at_most=10**9)
    positive_int("concurrency", f.concurrency, at_most=10**6)
    try:
        ingress = parse_rate(f.ingress)
    except InputError as e:
        raise e.about("ingress") from None
    max_batch, delay = batcher_of(f.max_batch, f.max_queue_delay)
    return {"devices": f.devices, "fps": rate, "ingress_bps": ingress,
            "concurrency": f.concurrency, "max_batch": max_batch, "max_queue_delay_s": delay,
            "slo_s": slo_of(slo)}


def duration(parameter: str, text: str | None) -> float | None:
    """A duration with its unit (``100ms``), in seconds; None stays None."""
    from splitcost.units import parse_duration

    try:
        return None if text is None else parse_duration(text)
    except InputError as e:
        raise e.about(parameter) from None


def sweep(s: SweepArgs) -> dict[str, Any]:
    """Keyword arguments of :func:`splitcost.studies.sweep.sweep_request`."""
    from splitcost.errors import choice
    from splitcost.kinds import Objective, values
    from splitcost.units import parse_bytes, parse_duration

    if s.depth is not None and s.depth < 1:
        raise InputError(f"expected an integer of at least 1, got {s.depth}", parameter="depth")
    cuts = choice("cuts", s.cuts, ("blocks", "all"))
    objective = Objective(choice("objective", s.objective, values(Objective)))
    try:
        slo = None if s.slo is None else parse_duration(s.slo)
    except InputError as e:
        raise e.about("slo") from None
    try:
        limit = None if s.max_payload is None else parse_bytes(s.max_payload)
    except InputError as e:
        raise e.about("max_payload") from None
    return {"depth": s.depth, "every_op": cuts == "all", "objective": objective, "slo_s": slo,
            "max_payload_bytes": limit}


@contextmanager
def cut_flag() -> Iterator[None]:
    """The API's ``cuts`` (a list of names) is the command line's repeatable ``--cut``, not the
    sweep's ``--cuts blocks|all``: say so in the error."""
    try:
        yield
    except InputError as e:
        if e.parameter == "cuts":
            raise InputError(e.message, parameter="cut") from None
        raise


def plot_path(path: Path | None, parameter: str = "plot_file") -> Path | None:
    """Check a figure's path before any tracing, so a typo fails fast."""
    if path is None:
        return None
    from splitcost.render.plots import check_path, require_matplotlib

    require_matplotlib()
    return check_path(path, parameter)
