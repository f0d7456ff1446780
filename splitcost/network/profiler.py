"""``profile()``: build a network on meta, trace it once and analyse the trace into a Profile."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from splitcost.errors import InputError, choice, positive_int
from splitcost.network.backbone_args import parse_backbone_args
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
    backbone_args: Mapping[str, Any] | Sequence[str] | Sequence[tuple[str, Any]] | None = None,
) -> Profile:
    """Profile a backbone by name (``"efficientnet"``, ``"resnet50"``, ``"timm:resnet50"``,
    ``"hf:bert"``, ``"pkg.mod:factory"``) or an ``nn.Module`` (left untouched: a meta twin is
    traced).

    ``input_shape`` excludes the batch: ``(3, 224, 224)``, ``"3x224x224"``, ``"128:int64"`` (128
    token ids) or several inputs, ``"3x224x224,128:int64"``. ``dtype`` (the precision of
    parameters and activations; a float input follows it) defaults to the module's own: a
    ``.half()`` module is profiled in float16, a torchvision model in float32.
    ``backbone_args`` are the factory's keyword arguments (``{"num_hidden_layers": 4}`` or
    ``["num_hidden_layers=4"]``).
    ``training=True`` also measures training memory with ``optimizer``, the modules named in
    ``frozen`` (prefixes; ``""`` = all) not training, as in the paper's fine-tuning.
    """
    from splitcost.network.memory import OPTIMIZER_STATE

    spec = _as_spec(input_shape)
    positive_int("batch", batch, at_most=MAX_BATCH)
    if dtype is not None and (not isinstance(dtype, str) or dtype not in FLOAT_DTYPES):
        raise InputError(f"must be one of {', '.join(FLOAT_DTYPES)}, got {dtype!r}",
                         parameter="dtype")
    for name, flag in (("whole", whole), ("training", training)):
        if not isinstance(flag, bool):
            raise InputError(f"expected True or False, got {flag!r}", parameter=name)
    key = choice("optimizer", optimizer, OPTIMIZER_STATE)
    prefixes = _prefixes(frozen)
    args = parse_backbone_args(backbone_args)
    if isinstance(backbone, nn.Module):
        if args:
            raise InputError("a module is already built: it takes no arguments",
                             parameter="backbone_args")
        info = BackboneInfo(type(backbone).__name__, type(backbone).__name__, "module",
                            "the module as given", True)
        model, built = meta_twin(backbone), "meta twin of the given module"
    elif isinstance(backbone, str):
        info = resolve(backbone, whole, args)
        check_input(info, spec)
        hw = spec.shape[-2:] if len(spec.shape) >= 2 else None
        model, built = build(info, (hw[0], hw[1]) if hw else None, spec=spec)
    else:
        raise InputError(f"must be a name or an nn.Module, got {type(backbone).__name__}",
                         parameter="backbone")
    try:
        return profile_module(model, spec, batch=batch, dtype=dtype, info=info, built=built,
                              training=training, optimizer=key, frozen=prefixes)
    except TraceError as e:
        hint = _smallest_square(backbone, spec, whole, args) if _is_image(spec) else None
        if hint is None:
            token = _token_hint(spec) or _library_hint(info, spec)
            if token:
                raise TraceError(f"{e}; {token}") from e
            raise
        raise TraceError(f"{e}; the smallest square input that works is {hint}") from e


MAX_BATCH = 1 << 20


def _prefixes(frozen: object) -> tuple[str, ...]:
    if isinstance(frozen, str) or not isinstance(frozen, Sequence) or not all(
            isinstance(f, str) for f in frozen):
        raise InputError(f"expected a list of module path prefixes such as ['layer1'], got "
                         f"{frozen!r}", parameter="frozen")
    return tuple(frozen)


def _library_hint(info: BackboneInfo, spec: InputSpec) -> str:
    """What input a transformers model takes, when the one given did not fit it."""
    if info.source != "hf":
        return ""
    from splitcost.network.libraries import hf_config, hf_default_input

    shape, dtype = hf_default_input(hf_config(info.factory_name.partition(":")[2], info.args))
    sample = InputSpec(shape, dtype)
    return "" if sample == spec else f"{info.factory_name} takes an input such as {sample}"


def _token_hint(spec: InputSpec) -> str:
    """A hint for ``1x128:int64``: the README once said so; 128 token ids are ``128:int64``."""
    first = spec.all[0]
    if first.dtype.startswith(("int", "uint")) and len(first.shape) == 2 and first.shape[0] == 1:
        return (f"for {first.shape[1]} token ids per sample give {first.shape[1]}:{first.dtype} "
                "(the batch is added)")
    return ""


def _is_image(spec: InputSpec) -> bool:
    return len(spec.shape) == 3 and spec.dtype in FLOAT_DTYPES and not spec.more


SEARCH_LIMIT = 4096


def _smallest_square(backbone: Any, spec: InputSpec, whole: bool, args: Any = ()
                     ) -> InputSpec | None:
    """The smallest CxSxS input the network runs on, when the given one is too small for it
    (VGG16's five poolings need 32x32). Meta traces are cheap: doubling, then bisection."""

    def runs(size: int) -> bool:
        try:
            _trace_only(backbone, InputSpec((spec.shape[0], size, size)), whole, args)
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


def _trace_only(backbone: Any, spec: InputSpec, whole: bool, args: Any = ()) -> None:
    if isinstance(backbone, nn.Module):
        model = meta_twin(backbone)
    else:
        model, _ = build(resolve(backbone, whole, args), (spec.shape[1], spec.shape[2]),
                         spec=spec)
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
    if dtype != "float32":  # a float input is cast to the network's precision
        spec = InputSpec(spec.shape, dtype if spec.dtype in FLOAT_DTYPES else spec.dtype,
                         tuple(InputSpec(m.shape, dtype if m.dtype in FLOAT_DTYPES else m.dtype)
                               for m in spec.more))
    xs = [torch.empty((batch, *one.shape), dtype=getattr(torch, one.dtype), device="meta")
          for one in spec.all]
    shown = ",".join("x".join(str(d) for d in x.shape) for x in xs)

    def describe() -> str:
        what = "input" if len(xs) == 1 else f"{len(xs)} inputs"
        return f"{what} {shown} (batch {batch} x {spec})"

    with fast_paths(model):
        trace = run_trace(model, xs, describe_input=describe)
    result = analyse(trace, info, spec, batch, dtype, built)
    if not training:
        return result
    try:
        train = training_memory(model, [torch.empty_like(x) for x in xs], optimizer, frozen)
    except (RuntimeError, NotImplementedError, ValueError, TypeError) as e:
        # Inference figures stand on their own; say why the training figure is missing.
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return replace(result, training_error=first)
    return replace(result, memory=replace(result.memory, training=train))


def _as_spec(value: object) -> InputSpec:
    if isinstance(value, InputSpec):
        return value
    if isinstance(value, str):
        try:
            return parse_input(value)
        except InputError as e:
            raise e.about("input_shape") from None
    if not isinstance(value, Sequence) or not value or any(
            isinstance(d, bool) or not isinstance(d, int) for d in value):
        raise InputError(f"expected a shape such as (3, 224, 224) or '3x224x224', got "
                         f"{value!r}", parameter="input_shape")
    dims = tuple(value)
    if any(d < 1 for d in dims) or len(dims) > 16:
        raise InputError(f"expected at most 16 dimensions of at least 1, got {dims}",
                         parameter="input_shape")
    text = "x".join(map(str, dims))
    try:
        return parse_input(text)  # the same bounds as the command line's
    except InputError as e:
        raise e.about("input_shape") from None


