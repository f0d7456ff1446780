"""What one meta run of a network records, as plain data: operators, storages, module calls.

Made by :mod:`splitcost.network.trace` (which needs torch); read by every pure analysis
(liveness, cuts, memory models, pricing), which therefore never imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from splitcost.kinds import FusionKind, OpClass


@dataclass(frozen=True)
class OpCost:
    """The arithmetic of one operator call.

    ``fusion`` says what the operator is to a fusing runtime. A recurrent kernel runs ``steps``
    dependent steps (one per token, layer and direction) and reads its recurrent weights again
    at each: ``extra_bytes`` are what it reads beyond its input and output tensors once.
    """

    macs: int = 0
    vector_flops: int = 0
    op_class: OpClass = OpClass.ELEMENTWISE
    unsupported: bool = False
    fusion: FusionKind = FusionKind.OPAQUE
    steps: int = 1
    extra_bytes: int = 0

    @property
    def flops(self) -> int:
        """All floating-point operations: 2 per MAC plus the vector work."""
        return 2 * self.macs + self.vector_flops


@dataclass(frozen=True)
class TensorMeta:
    """A tensor as an operator saw it: its own shape and bytes, and the storage behind it."""

    shape: tuple[int, ...]
    dtype: str
    nbytes: int  # numel x itemsize of this tensor (a view's own bytes)
    storage: int  # index into Trace.storages

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass(frozen=True)
class Storage:
    """A block of memory. ``kind``: input, activation, param, buffer or constant."""

    index: int
    nbytes: int
    kind: str
    producer: int  # op index that allocated it; -1 if it existed before the run
    readers: tuple[int, ...]  # op indices that read it (views included)
    freed_after: int | None  # op index after which eager execution freed it; None: alive at end
    is_output: bool


@dataclass(frozen=True)
class OpRecord:
    """One aten operator call."""

    index: int
    op: str  # overload packet name, e.g. "aten.convolution"
    module: str  # path of the innermost module call running it ("" = the root)
    inputs: tuple[TensorMeta, ...]
    outputs: tuple[TensorMeta, ...]
    allocates: tuple[int, ...]  # storages this operator allocated
    cost: OpCost
    fallback: bool  # ran on CPU tensors because the operator has no meta kernel

    @property
    def is_view(self) -> bool:
        """Allocates nothing and computes nothing: a view, alias or metadata change."""
        return not self.allocates and self.cost.op_class is OpClass.VIEW


@dataclass(frozen=True)
class ModuleCall:
    """One call of one module, with the range of operators it ran."""

    path: str  # qualified name, with ":N" for the N-th call of a module called more than once
    name: str  # qualified name as in named_modules() ("" = the root)
    type: str
    depth: int
    start: int  # first op index inside the call
    end: int  # one past the last op index inside the call
    leaf: bool  # has no child modules (torchinfo's "leaf layer")
    params: int  # parameters of the module's subtree (named_parameters, deduplicated)
    param_bytes: int
    recursive: bool  # torchinfo: this module object was called before
    outputs: tuple[TensorMeta, ...]
    torchinfo_output_bytes: int  # torchinfo 1.8.0's output_bytes for this call


@dataclass(frozen=True)
class ParamInfo:
    name: str
    shape: tuple[int, ...]
    dtype: str
    numel: int
    nbytes: int
    trainable: bool
    storage: int


@dataclass(frozen=True)
class Trace:
    """Everything one run recorded, in execution order."""

    ops: tuple[OpRecord, ...]
    storages: tuple[Storage, ...]
    calls: tuple[ModuleCall, ...]
    inputs: tuple[TensorMeta, ...]
    outputs: tuple[TensorMeta, ...]
    params: tuple[ParamInfo, ...]
    buffers: tuple[ParamInfo, ...]
    torchinfo_input_bytes: int  # sys.getsizeof of the input storages, as torchinfo sums them
    fallback_ops: tuple[str, ...] = ()
    unsupported_ops: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    # per output tensor: its storage offset and strides, in elements (which bytes of its
    # storage it covers: outputs that alias one storage are sent once)
    output_layouts: tuple[tuple[int, tuple[int, ...]], ...] = ()
