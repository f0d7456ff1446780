"""The vocabulary's closed sets as enums: operator classes, scenarios, constraints, memory
models, process layouts and sweep objectives.

Each is a ``StrEnum`` whose value is the word DESIGN.md uses, so JSON carries the word and a
comparison with a stray string still works while code matches members, never spellings.
"""

from __future__ import annotations

from enum import StrEnum


class OpClass(StrEnum):
    """How the roofline prices an operator: which efficiency of the device applies."""

    CONV = "conv"  # dense convolution with a spatial kernel (3x3, 7x7, ...)
    DEPTHWISE = "depthwise"  # one group per input channel
    MATMUL = "matmul"
    ELEMENTWISE = "elementwise"
    POOL = "pool"
    VIEW = "view"  # allocates and computes nothing: costs no time
    POINTWISE = "pointwise"  # dense 1x1 convolution: a GEMM over the pixels
    GROUPED = "grouped"  # grouped convolution with several channels per group
    RECURRENT = "recurrent"  # a fused RNN/LSTM/GRU kernel, one step per token


# The classes a device profile gives an efficiency for (a view needs none). The first five are
# required in every profile; the last three fall back to a related class when a profile has no
# figure for them (FALLBACK_CLASS).
COMPUTE_CLASSES: tuple[OpClass, ...] = (
    OpClass.CONV, OpClass.DEPTHWISE, OpClass.MATMUL, OpClass.ELEMENTWISE, OpClass.POOL,
)
OPTIONAL_CLASSES: tuple[OpClass, ...] = (OpClass.POINTWISE, OpClass.GROUPED, OpClass.RECURRENT)
FALLBACK_CLASS: dict[OpClass, OpClass] = {
    OpClass.POINTWISE: OpClass.CONV, OpClass.GROUPED: OpClass.DEPTHWISE,
    OpClass.RECURRENT: OpClass.MATMUL,
}
CONV_CLASSES = frozenset({OpClass.CONV, OpClass.POINTWISE, OpClass.GROUPED, OpClass.DEPTHWISE})


class FusionKind(StrEnum):
    """What an operator is to a fusing runtime (TensorRT, ONNX Runtime): an anchor that can
    absorb the pointwise chain after it, a member of such a chain, or neither."""

    ANCHOR = "anchor"  # conv, matmul, pooling: a complex kernel with an epilogue
    NORM = "norm"  # inference batch norm: a per-channel scale and shift, foldable into a conv
    ACTIVATION = "activation"  # ReLU and its clamps (ReLU6, hardtanh, leaky ReLU)
    FUNCTION = "function"  # any other unary pointwise op (SiLU, GELU, hardswish, sigmoid, x * 2)
    ADD = "add"  # a binary add or subtract of two tensors (a residual)
    MUL = "mul"  # a binary multiply or divide of two tensors (squeeze-excite scaling)
    OPAQUE = "opaque"  # anything else: its own kernel under every runtime
    VIEW = "view"  # no kernel at all


class Runtime(StrEnum):
    """How a device executes the network (DESIGN.md)."""

    EAGER = "eager"  # PyTorch eager: one kernel per aten operator
    TENSORRT = "tensorrt"  # NVIDIA TensorRT: layers fused into kernels at engine build
    ONNXRUNTIME = "onnxruntime"  # ONNX Runtime: graph fusions, then one kernel per node


class ScenarioKind(StrEnum):
    """Where the network runs (DESIGN.md's scenarios)."""

    LOC = "LoC"
    MTL_LOCAL = "MTL-Local"
    ROC = "RoC"
    MTL_SPLIT = "MTL-Split"
    SPLIT = "Split"  # at any other cut: the scenario is named Split@CUT


class ConstraintKind(StrEnum):
    """A limit a scenario must respect: the devices' memory, and the user's own limits."""

    EDGE_MEMORY = "edge memory"
    SERVER_MEMORY = "server memory"
    SLO = "SLO"  # latency per inference (--slo)
    PAYLOAD = "payload"  # bytes per inference (--max-payload)

    @property
    def on_edge(self) -> bool:
        return self is ConstraintKind.EDGE_MEMORY


class MemoryModel(StrEnum):
    """The named memory models (DESIGN.md)."""

    INFERENCE = "inference"
    TORCHINFO = "torchinfo"


class Processes(StrEnum):
    """LoC's N networks in one process, or one process per task (each with its runtime)."""

    ONE = "one"
    PER_TASK = "per-task"


class Objective(StrEnum):
    """What ``sweep`` minimises when it picks a cut."""

    LATENCY = "latency"
    EDGE_MEMORY = "edge-memory"
    PAYLOAD = "payload"
    ENERGY = "energy"


def values(kind: type[StrEnum]) -> tuple[str, ...]:
    """The words of an enum, in declaration order (for messages and ``--help``)."""
    return tuple(m.value for m in kind)


class Parameter(StrEnum):
    """A link figure a verdict flips on (splitcost.pricing.breakeven)."""

    BANDWIDTH = "bandwidth"  # bits/s of uplink
    RTT = "rtt"  # seconds


class Direction(StrEnum):
    BELOW = "below"
    ABOVE = "above"
