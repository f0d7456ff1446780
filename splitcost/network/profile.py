"""The Profile of a network: what one trace on meta tensors says about it, gathered by the pure
analyses (payload curve, live curve, memory models). Plain data; no torch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from splitcost._notebook import Notebook
from splitcost.network.cuts import Cut, cuts
from splitcost.network.liveness import input_bytes, live_curve, output_groups, payload_curve
from splitcost.network.memory import (
    InferenceMemory,
    TorchinfoMemory,
    TrainingMemory,
    inference_memory,
    state_bytes,
    torchinfo_memory,
)
from splitcost.network.records import Trace
from splitcost.units import InputSpec


@dataclass(frozen=True)
class BackboneInfo:
    """Which network was profiled, and how its backbone was chosen."""

    name: str  # canonical name: "efficientnet_b0", or "pkg.module:factory"
    requested: str  # what the user typed: "efficientnet"
    source: str  # "torchvision", "timm", "hf", "user" or "module"
    rule: str  # sentence: how the backbone was cut from the model
    whole: bool
    root: str = ""  # the backbone's module path in the whole model ("features"), "" for none
    args: tuple[tuple[str, Any], ...] = ()  # the factory's keyword arguments

    @property
    def factory_name(self) -> str:
        """The name without the arguments ``name`` shows: ``resnet50``, ``timm:resnet50``."""
        return self.name.split("(", 1)[0] if self.args else self.name


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
class OutputTensor:
    """One tensor the network returns; ``shares_with``: the index of an earlier output on the
    same storage (it crosses once, with that one), else None."""

    shape: tuple[int, ...]
    dtype: str
    nbytes: int  # this tensor's own bytes
    shares_with: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "dtype": self.dtype, "bytes": self.nbytes,
                "shares_storage_with": self.shares_with}


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


@dataclass(frozen=True, repr=False)
class Profile(Notebook):
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
    zb_shape: tuple[int, ...]  # the network's (first) output as produced (batch included)
    zb_dtype: str
    zb_bytes: int  # every output, flattened, as MTL-Split sends them: once per storage
    input_bytes: int
    modules: tuple[ModuleRow, ...]
    memory: MemoryModels
    fallback_ops: tuple[str, ...]
    unsupported_ops: tuple[str, ...]
    trace: Trace = field(repr=False, compare=False)
    training_error: str | None = None  # why training memory was asked for and not measured
    zb_tensors: tuple[OutputTensor, ...] = ()  # every output tensor, in the order returned

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
        """The cuts of this network (see :mod:`splitcost.network.cuts`), in execution order."""
        return cuts(self.trace, depth, every_op)

    def summary_dict(self) -> dict[str, Any]:
        """The backbone in the one shape every command's JSON uses (no per-module rows)."""
        return {
            "name": self.backbone.name,
            "requested": self.backbone.requested,
            "source": self.backbone.source,
            "rule": self.backbone.rule,
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
            "zb_tensors": [t.to_dict() for t in self.zb_tensors],
            "input_bytes": self.input_bytes,
            "inputs": [{"shape": [self.batch, *i.shape], "dtype": i.dtype}
                       for i in self.input.all],
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.summary_dict(),
            "modules": [m.to_dict() for m in self.modules],
            "memory": self.memory.to_dict(),
            "fallback_ops": list(self.fallback_ops),
            "unsupported_ops": list(self.unsupported_ops),
            "live_curve": [
                {"op": op.index, "operator": op.op, "module": op.module, "live_bytes": live}
                for op, live in zip(self.trace.ops, live_curve(self.trace), strict=True)
            ],
            "training_error": self.training_error,
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
    groups = output_groups(trace)
    first_on: dict[int, int] = {}
    tensors = []
    for i, m in enumerate(trace.outputs):
        tensors.append(OutputTensor(m.shape, m.dtype, m.nbytes, first_on.get(m.storage)))
        first_on.setdefault(m.storage, i)
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
        zb_bytes=sum(nbytes for _, nbytes in groups.values()),
        input_bytes=input_bytes(trace),
        modules=rows,
        memory=MemoryModels(torchinfo_memory(trace), inference_memory(trace)),
        fallback_ops=trace.fallback_ops,
        unsupported_ops=trace.unsupported_ops,
        trace=trace,
        zb_tensors=tuple(tensors),
    )
