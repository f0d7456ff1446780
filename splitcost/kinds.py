"""The vocabulary's closed sets as enums: operator classes, scenarios, constraints, memory
models, process layouts and sweep objectives.

Each is a ``StrEnum`` whose value is the word DESIGN.md uses, so JSON carries the word and a
comparison with a stray string still works while code matches members, never spellings.
"""

from __future__ import annotations

from enum import StrEnum


class OpClass(StrEnum):
    """How the roofline prices an operator: which efficiency of the device applies."""

    CONV = "conv"
    DEPTHWISE = "depthwise"
    MATMUL = "matmul"
    ELEMENTWISE = "elementwise"
    POOL = "pool"
    VIEW = "view"  # allocates and computes nothing: costs no time


# The classes a device profile gives an efficiency for (a view needs none).
COMPUTE_CLASSES: tuple[OpClass, ...] = (
    OpClass.CONV, OpClass.DEPTHWISE, OpClass.MATMUL, OpClass.ELEMENTWISE, OpClass.POOL,
)


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
