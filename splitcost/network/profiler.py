"""``profile()``: build a network on meta, trace it once and analyse the trace into a Profile."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from splitcost.errors import InputError
from splitcost.network.fastpath import fast_paths
from splitcost.network.profile import BackboneInfo, Profile, analyse
from splitcost.network.trace import TraceError, run_trace
from splitcost.network.training import training_memory
from splitcost.network.zoo import build, check_input, meta_twin, resolve
from splitcost.units import InputSpec, parse_input

FLOAT_DTYPES = ("float32", "float16", "bfloat16", "float64")


def profile(
    backbone: Any,
    input_shape: Sequence[int] | str | InputSpec = (3, 224, 224),
    *,
    batch: int = 1,
    whole: bool = False,
    dtype: str | None = None,
    training: bool = False,
    optimizer: str = "adamw",
    frozen: Sequence[str] = (),
) -> Profile:
    """Profile a backbone by name (``"efficientnet"``, ``"resnet50"``, ``"pkg.mod:factory"``)
    or an ``nn.Module`` (left untouched: a meta twin is traced).

    ``input_shape`` excludes the batch: ``(3, 224, 224)``, ``"3x224x224"`` or ``"1x128:int64"``.
    ``dtype`` (the precision of parameters and activations; a float input follows it) defaults
    to the module's own: a ``.half()`` module is profiled in float16, a torchvision model in
    float32.
    ``training=True`` also measures training memory with ``optimizer``, the modules named in
    ``frozen`` (prefixes; ``""`` = all) not training, as in the paper's fine-tuning.
    """
    spec = _as_spec(input_shape)
    if batch < 1:
        raise InputError(f"batch must be at least 1, got {batch}")
    if dtype is not None and dtype not in FLOAT_DTYPES:
        raise InputError(f"dtype must be one of {', '.join(FLOAT_DTYPES)}, got {dtype!r}")
    if isinstance(backbone, nn.Module):
        info = BackboneInfo(type(backbone).__name__, type(backbone).__name__, "module",
                            "the module as given", True)
        model, built = meta_twin(backbone), "meta twin of the given module"
    elif isinstance(backbone, str):
        info = resolve(backbone, whole)
        check_input(info, spec.shape)
        hw = spec.shape[-2:] if len(spec.shape) >= 2 else None
        model, built = build(info, (hw[0], hw[1]) if hw else None)
    else:
        raise InputError(f"backbone must be a name or an nn.Module, got {type(backbone).__name__}")
    try:
        return profile_module(model, spec, batch=batch, dtype=dtype, info=info, built=built,
                              training=training, optimizer=optimizer, frozen=frozen)
    except TraceError as e:
        hint = _smallest_square(backbone, spec, whole) if _is_image(spec) else None
        if hint is None:
            raise
        raise TraceError(f"{e}; the smallest square input that works is {hint}") from e


def _is_image(spec: InputSpec) -> bool:
    return len(spec.shape) == 3 and spec.dtype in FLOAT_DTYPES


SEARCH_LIMIT = 4096


def _smallest_square(backbone: Any, spec: InputSpec, whole: bool) -> InputSpec | None:
    """The smallest CxSxS input the network runs on, when the given one is too small for it
    (VGG16's five poolings need 32x32). Meta traces are cheap: doubling, then bisection."""

    def runs(size: int) -> bool:
        try:
            _trace_only(backbone, InputSpec((spec.shape[0], size, size)), whole)
        except TraceError:
            return False
        return True

    low, high = max(spec.shape[1:]), 0
    size = max(2 * low, 2)
    while size <= SEARCH_LIMIT:
        if runs(size):
            high = size
            break
        low, size = size, 2 * size
    if not high:
        return None
    while high - low > 1:
        middle = (low + high) // 2
        if runs(middle):
            high = middle
        else:
            low = middle
    return InputSpec((spec.shape[0], high, high))


def _trace_only(backbone: Any, spec: InputSpec, whole: bool) -> None:
    if isinstance(backbone, nn.Module):
        model = meta_twin(backbone)
    else:
        model, _ = build(resolve(backbone, whole), (spec.shape[1], spec.shape[2]))
    run_trace(model, [torch.empty((1, *spec.shape), device="meta")])


def module_dtype(model: nn.Module) -> str:
    """The floating dtype most of a module's parameters and buffers hold (float32 if none)."""
    counts: dict[str, int] = {}
    for t in (*model.parameters(), *model.buffers()):
        if t.is_floating_point():
            name = str(t.dtype).removeprefix("torch.")
            counts[name] = counts.get(name, 0) + t.numel()
    own = max(counts, key=lambda k: counts[k]) if counts else "float32"
    return own if own in FLOAT_DTYPES else "float32"


def profile_module(model: nn.Module, spec: InputSpec, *, batch: int, dtype: str | None,
                   info: BackboneInfo, built: str, training: bool = False,
                   optimizer: str = "adamw", frozen: Sequence[str] = ()) -> Profile:
    """Trace a module that already holds meta parameters (ours to convert) and analyse it.
    ``dtype`` None: the module's own (:func:`module_dtype`)."""
    own = module_dtype(model)
    dtype = dtype or own
    torch_dtype = getattr(torch, dtype)
    if dtype != own or any(p.is_floating_point() and p.dtype != torch_dtype
                           for p in model.parameters()):
        model = model.to(torch_dtype)
    float_input = spec.dtype in FLOAT_DTYPES
    if float_input and dtype != "float32":
        spec = InputSpec(spec.shape, dtype)  # the input is cast to the network's precision
    in_dtype = getattr(torch, spec.dtype)
    x = torch.empty((batch, *spec.shape), dtype=in_dtype, device="meta")
    shown = "x".join(str(d) for d in (batch, *spec.shape))

    def describe() -> str:
        return f"input {shown} (batch {batch} x {spec})"

    with fast_paths(model):
        trace = run_trace(model, [x], describe_input=describe)
    result = analyse(trace, info, spec, batch, dtype, built)
    if not training:
        return result
    try:
        train = training_memory(model, [torch.empty_like(x)], optimizer, frozen)
    except (RuntimeError, NotImplementedError, ValueError, TypeError) as e:
        # Inference figures stand on their own; say why the training figure is missing.
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return replace(result, training_error=first)
    return replace(result, memory=replace(result.memory, training=train))


def _as_spec(value: Sequence[int] | str | InputSpec) -> InputSpec:
    if isinstance(value, InputSpec):
        return value
    if isinstance(value, str):
        return parse_input(value)
    dims = tuple(int(d) for d in value)
    if not dims or any(d < 1 for d in dims):
        raise InputError(f"input_shape must be positive dimensions, got {tuple(value)}")
    return InputSpec(dims)


