"""Named memory models over a trace. Never one mystery number.

* ``inference``: the peak of live activation storages in eager execution (inputs included), plus
  parameters and buffers. The device profile's runtime overhead is added when a scenario is
  priced, not here.
* ``torchinfo``: torchinfo 1.8.0's arithmetic, bit for bit: "Forward/backward pass size" is twice
  the output bytes of every call of a leaf module that holds parameters, "Params size" the
  parameter bytes of leaf modules (each module object once), "Input size" the input storages as
  ``sys.getsizeof`` measures them. It is a training heuristic, not the memory an inference needs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from splitcost.network.liveness import peak
from splitcost.network.records import Trace


@dataclass(frozen=True)
class TorchinfoMemory:
    input_bytes: int
    forward_backward_bytes: int
    params_bytes: int
    total_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class InferenceMemory:
    peak_activation_bytes: int
    params_bytes: int
    buffers_bytes: int
    total_bytes: int
    peak_module: str  # the module running when live activations peak
    peak_op: int  # operator index of the peak (-1: the input alone)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Optimizer state per trainable parameter element, in multiples of the parameter's bytes (here,
# without torch, so that a command checks --optimizer before it imports anything).
OPTIMIZER_STATE = {
    "adamw": 2,  # exp_avg and exp_avg_sq
    "adam": 2,
    "sgd": 0,  # plain SGD keeps nothing
    "sgd-momentum": 1,  # the momentum buffer
    "rmsprop": 1,  # square_avg
    "adagrad": 1,  # sum
}


@dataclass(frozen=True)
class TrainingMemory:
    """Bytes one training step holds at its peak: everything below at once."""

    optimizer: str
    frozen: tuple[str, ...]  # module name prefixes whose parameters are frozen
    params_bytes: int
    grads_bytes: int
    optimizer_bytes: int
    saved_activation_bytes: int
    total_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def torchinfo_memory(trace: Trace) -> TorchinfoMemory:
    """torchinfo 1.8.0's ``ModelStatistics`` totals, from the module calls of one trace."""
    forward_backward = sum(
        2 * c.torchinfo_output_bytes for c in trace.calls if c.leaf and c.params > 0
    )
    params = sum(c.param_bytes for c in trace.calls if c.leaf and not c.recursive)
    total = trace.torchinfo_input_bytes + forward_backward + params
    return TorchinfoMemory(trace.torchinfo_input_bytes, forward_backward, params, total)


def state_bytes(trace: Trace, kind: str) -> int:
    """Bytes of the distinct storages holding parameters (``kind='param'``) or buffers."""
    return sum(s.nbytes for s in trace.storages if s.kind == kind)


def inference_memory(trace: Trace) -> InferenceMemory:
    top = peak(trace)
    params = state_bytes(trace, "param")
    buffers = state_bytes(trace, "buffer") + state_bytes(trace, "constant")
    return InferenceMemory(
        peak_activation_bytes=top.bytes,
        params_bytes=params,
        buffers_bytes=buffers,
        total_bytes=top.bytes + params + buffers,
        peak_module=top.module,
        peak_op=top.op,
    )


def torchinfo_part(trace: Trace, last_edge_op: int, side: str, input_bytes: int
                   ) -> TorchinfoMemory:
    """torchinfo's arithmetic for one side of a cut after operator ``last_edge_op``: the leaf
    module calls that finish on that side, with ``input_bytes`` as the side's input."""

    def mine(end: int) -> bool:
        on_edge = end - 1 <= last_edge_op
        return on_edge if side == "edge" else not on_edge

    leaves = [c for c in trace.calls if c.leaf and mine(c.end)]
    forward_backward = sum(2 * c.torchinfo_output_bytes for c in leaves if c.params > 0)
    params = sum(c.param_bytes for c in leaves if not c.recursive)
    return TorchinfoMemory(input_bytes, forward_backward, params,
                           input_bytes + forward_backward + params)
