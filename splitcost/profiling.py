"""The Profile of a network: one trace on meta tensors, and the pure analyses over it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from splitcost.cuts import Cut, cuts
from splitcost.errors import InputError
from splitcost.liveness import input_bytes, live_curve, payload_curve
from splitcost.memory import (
    InferenceMemory,
    TorchinfoMemory,
    inference_memory,
    state_bytes,
    torchinfo_memory,
)
from splitcost.trace import Trace, TraceError, run_trace
from splitcost.training import TrainingMemory, training_memory
from splitcost.units import InputSpec, parse_input
from splitcost.zoo import BackboneInfo, build, check_input, meta_twin, resolve

FLOAT_DTYPES = ("float32", "float16", "bfloat16", "float64")


@dataclass(frozen=True)
class ModuleRow:
    """One module call: what it outputs, holds and computes, and the payload of a cut after it."""

    path: str
    type: str
    depth: int
    output_shape: tuple[int, ...] | None
    params: int  # of the module's subtree; a module called twice shows them on each call
    macs: int
    flops: int
    payload_bytes: int  # bytes crossing a cut right after this call
    peak_live_bytes: int  # the highest live activation bytes while the call runs
    start: int  # first operator index
    end: int  # one past the last operator index

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "type": self.type,
            "depth": self.depth,
            "output_shape": list(self.output_shape) if self.output_shape is not None else None,
            "params": self.params,
            "macs": self.macs,
            "flops": self.flops,
            "payload_bytes": self.payload_bytes,
            "peak_live_bytes": self.peak_live_bytes,
        }


@dataclass(frozen=True)
class MemoryModels:
    torchinfo: TorchinfoMemory
    inference: InferenceMemory
    training: TrainingMemory | None = None  # measured when asked for (a second meta pass)

    def to_dict(self) -> dict[str, Any]:
        d = {"torchinfo": self.torchinfo.to_dict(), "inference": self.inference.to_dict()}
        if self.training is not None:
            d["training"] = self.training.to_dict()
        return d


@dataclass(frozen=True)
class Profile:
    """Everything splitcost knows about one network on one input. Counts include the batch."""

    backbone: BackboneInfo
    input: InputSpec  # one sample, batch excluded
    batch: int
    dtype: str  # parameters' and activations' floating-point dtype
    built: str  # how the model was built (meta, or CPU then meta)
    params: int
    trainable_params: int
    param_bytes: int
    buffers: int
    buffer_bytes: int
    macs: int
    flops: int  # 2 x MACs
    vector_flops: int  # pointwise, normalisation, softmax, pooling
    zb_shape: tuple[int, ...]  # the network's output as produced (batch included)
    zb_dtype: str
    zb_bytes: int  # the output flattened, as MTL-Split sends it
    input_bytes: int
    modules: tuple[ModuleRow, ...]
    memory: MemoryModels
    fallback_ops: tuple[str, ...]
    unsupported_ops: tuple[str, ...]
    trace: Trace = field(repr=False, compare=False)
    notes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.backbone.name

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.batch, *self.input.shape)

    def payload_after(self) -> list[int]:
        """Payload bytes of the cut after every operator (index k + 1 for operator k)."""
        return payload_curve(self.trace)

    def cuts(self, depth: int | None = None, every_op: bool = False) -> tuple[Cut, ...]:
        """The cuts of this network (see :mod:`splitcost.cuts`), in execution order."""
        return cuts(self.trace, depth, every_op)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.backbone.name,
            "requested": self.backbone.requested,
            "source": self.backbone.source,
            "backbone_rule": self.backbone.rule,
            "whole": self.backbone.whole,
            "input_shape": list(self.input_shape),
            "input_dtype": self.input.dtype,
            "batch": self.batch,
            "dtype": self.dtype,
            "built": self.built,
            "params": self.params,
            "trainable_params": self.trainable_params,
            "param_bytes": self.param_bytes,
            "buffers": self.buffers,
            "buffer_bytes": self.buffer_bytes,
            "macs": self.macs,
            "flops": self.flops,
            "vector_flops": self.vector_flops,
            "zb_shape": list(self.zb_shape),
            "zb_dtype": self.zb_dtype,
            "zb_bytes": self.zb_bytes,
            "input_bytes": self.input_bytes,
            "modules": [m.to_dict() for m in self.modules],
            "memory": self.memory.to_dict(),
            "fallback_ops": list(self.fallback_ops),
            "unsupported_ops": list(self.unsupported_ops),
            "live_curve": [
                {"op": op.index, "operator": op.op, "module": op.module, "live_bytes": live}
                for op, live in zip(self.trace.ops, live_curve(self.trace), strict=True)
            ],
            "notes": list(self.notes),
        }


def analyse(trace: Trace, backbone: BackboneInfo, spec: InputSpec, batch: int, dtype: str,
            built: str) -> Profile:
    """All the pure analyses of one trace, gathered in a Profile."""
    ops = trace.ops
    payload = payload_curve(trace)
    live = live_curve(trace)
    macs_prefix = [0]
    flops_prefix = [0]
    for op in ops:
        macs_prefix.append(macs_prefix[-1] + op.cost.macs)
        flops_prefix.append(flops_prefix[-1] + 2 * op.cost.macs)
    rows = tuple(
        ModuleRow(
            path=c.path,
            type=c.type,
            depth=c.depth,
            output_shape=c.outputs[0].shape if c.outputs else None,
            params=c.params,
            macs=macs_prefix[c.end] - macs_prefix[c.start],
            flops=flops_prefix[c.end] - flops_prefix[c.start],
            payload_bytes=payload[c.end],
            peak_live_bytes=max(live[c.start:c.end], default=live[c.start - 1] if c.start else 0),
            start=c.start,
            end=c.end,
        )
        for c in trace.calls
        if c.depth > 0
    )
    out = trace.outputs[0] if trace.outputs else None
    macs = macs_prefix[-1]
    return Profile(
        backbone=backbone,
        input=spec,
        batch=batch,
        dtype=dtype,
        built=built,
        params=sum(p.numel for p in trace.params),
        trainable_params=sum(p.numel for p in trace.params if p.trainable),
        param_bytes=sum(p.nbytes for p in trace.params),
        buffers=sum(b.numel for b in trace.buffers),
        buffer_bytes=state_bytes(trace, "buffer"),
        macs=macs,
        flops=2 * macs,
        vector_flops=sum(op.cost.vector_flops for op in ops),
        zb_shape=out.shape if out else (),
        zb_dtype=out.dtype if out else dtype,
        zb_bytes=sum(m.nbytes for m in trace.outputs),
        input_bytes=input_bytes(trace),
        modules=rows,
        memory=MemoryModels(torchinfo_memory(trace), inference_memory(trace)),
        fallback_ops=trace.fallback_ops,
        unsupported_ops=trace.unsupported_ops,
        trace=trace,
    )


def profile(
    backbone: Any,
    input_shape: Sequence[int] | str | InputSpec = (3, 224, 224),
    *,
    batch: int = 1,
    whole: bool = False,
    dtype: str = "float32",
    training: bool = False,
    optimizer: str = "adamw",
    frozen: Sequence[str] = (),
) -> Profile:
    """Profile a backbone by name (``"efficientnet"``, ``"resnet50"``, ``"pkg.mod:factory"``)
    or an ``nn.Module`` (left untouched: a meta twin is traced).

    ``input_shape`` excludes the batch: ``(3, 224, 224)``, ``"3x224x224"`` or ``"1x128:int64"``.
    ``training=True`` also measures training memory with ``optimizer``, the modules named in
    ``frozen`` (prefixes; ``""`` = all) not training, as in the paper's fine-tuning.
    """
    spec = _as_spec(input_shape)
    if batch < 1:
        raise InputError(f"batch must be at least 1, got {batch}")
    if dtype not in FLOAT_DTYPES:
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


def profile_module(model: nn.Module, spec: InputSpec, *, batch: int, dtype: str,
                   info: BackboneInfo, built: str, training: bool = False,
                   optimizer: str = "adamw", frozen: Sequence[str] = ()) -> Profile:
    """Trace a module that already holds meta parameters (ours to convert) and analyse it."""
    torch_dtype = getattr(torch, dtype)
    if dtype != "float32":
        model = model.to(torch_dtype)
    float_input = spec.dtype in FLOAT_DTYPES
    in_dtype = torch_dtype if float_input and dtype != "float32" else getattr(torch, spec.dtype)
    x = torch.empty((batch, *spec.shape), dtype=in_dtype, device="meta")
    shown = "x".join(str(d) for d in (batch, *spec.shape))

    def describe() -> str:
        return f"input {shown} (batch {batch} x {spec})"

    trace = run_trace(model, [x], describe_input=describe)
    result = analyse(trace, info, spec, batch, dtype, built)
    if not training:
        return result
    try:
        train = training_memory(model, [torch.empty_like(x)], optimizer, frozen)
    except (RuntimeError, NotImplementedError, ValueError, TypeError) as e:
        # Inference figures stand on their own; say why the training figure is missing.
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return replace(result, notes=(*result.notes, f"training memory not measured: {first}"))
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


