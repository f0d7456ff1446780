"""The kernels a runtime runs for a traced network: each operator alone (PyTorch eager), or an
anchor with the pointwise chain it absorbs (TensorRT, ONNX Runtime). Pure functions of the
trace (network records) and the runtime's fusion rules (hardware data).

Grouping, in execution order: an operator not yet in a kernel starts one; the kernel absorbs
the operator that reads its last member's output, while that output has exactly one reader
(views do not count; an operator writing in place hands the same storage on), is not the
network's output, and the rule (what the kernel ends with) + (the reader's kind) is one of the
runtime's (:mod:`splitcost.hardware.runtimes`). A norm or a residual add absorbed by an anchor
leaves the kernel ending with the anchor (conv + bn + add + relu is conv+norm, conv+add,
conv+activation). An anchor never absorbs another anchor.

A kernel's bytes are counted at its boundary: every tensor it reads that none of its members
wrote (weights, the residual) and the tensors it leaves for others. Its FLOPs are its members'.

A cut through a kernel (a member on each side) splits it into two: each part is a kernel of its
own, and the tensor between them is written and read once more. That extra time is the cut's
**fusion penalty** (:func:`split`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from splitcost.hardware.roofline import OpWork
from splitcost.hardware.runtimes import ANCHOR_WORDS, CHAIN_MEMBERS, rule_set
from splitcost.kinds import FusionKind, OpClass
from splitcost.network.records import OpRecord, Trace

_EPILOGUE = frozenset({FusionKind.NORM, FusionKind.ADD, FusionKind.MUL})


@dataclass(frozen=True)
class Kernel:
    """One kernel: the operators it runs (indices into the trace, in order) and its work."""

    members: tuple[int, ...]
    work: OpWork

    @property
    def first(self) -> int:
        return self.members[0]

    @property
    def last(self) -> int:
        return self.members[-1]


def op_work_of(op: OpRecord) -> OpWork:
    """One operator as its own kernel: every input and output it touches."""
    return OpWork(op.cost.op_class, op.cost.flops,
                  sum(m.nbytes for m in op.inputs) + sum(m.nbytes for m in op.outputs)
                  + op.cost.extra_bytes, op.cost.steps)


def _key(op: OpRecord) -> str:
    """What a kernel ending with ``op`` is, in the rules' words."""
    if op.cost.fusion is FusionKind.ANCHOR:
        return str(op.cost.op_class)
    return str(op.cost.fusion)


def _group_work(trace: Trace, members: Sequence[int]) -> OpWork:
    ops = [trace.ops[i] for i in members]
    if len(ops) == 1:
        return op_work_of(ops[0])
    inside = set(members)
    written = {s for op in ops for s in op.allocates}
    read: dict[int, int] = {}
    for op in ops:
        for m in op.inputs:
            if m.storage not in written:
                read[m.storage] = max(read.get(m.storage, 0), m.nbytes)
    leave: dict[int, int] = {}
    for op in ops:
        for m in op.outputs:
            st = trace.storages[m.storage]
            outside = st.is_output or any(r not in inside for r in st.readers if r > op.index)
            if outside or op is ops[-1]:
                leave[m.storage] = max(leave.get(m.storage, 0), m.nbytes)
    head = ops[0].cost
    return OpWork(head.op_class, sum(op.cost.flops for op in ops),
                  sum(read.values()) + sum(leave.values())
                  + sum(op.cost.extra_bytes for op in ops), head.steps)


def _next_reader(trace: Trace, op: OpRecord, end: int) -> int | None:
    """The one operator that reads ``op``'s result, or None (a fork, no reader, the network's
    output, several results read)."""
    # Results nothing reads (batch norm's saved statistics) do not count.
    stores = {m.storage for m in op.outputs
              if trace.storages[m.storage].is_output or any(
                  r > op.index for r in trace.storages[m.storage].readers)}
    if len(stores) != 1:
        return None
    st = trace.storages[stores.pop()]
    if st.is_output or st.kind != "activation":
        return None
    readers = []
    for r in sorted(set(st.readers)):
        if r <= op.index or trace.ops[r].is_view:
            continue
        if r >= end:
            return None  # read beyond the range: the result leaves it
        readers.append(r)
        if st.index in {m.storage for m in trace.ops[r].outputs}:
            break  # it writes in place: later readers read its result, not ours
    return readers[0] if len(readers) == 1 else None


def kernels(trace: Trace, fuses: Iterable[str] = (), start: int = 0, end: int | None = None
            ) -> tuple[Kernel, ...]:
    """The kernels of operators ``[start, end)`` of ``trace`` (a network run alone, a block run
    alone) under the fusion rules ``fuses`` (none: one per operator), in the order of their
    first operator. Views are in no kernel."""
    rules = rule_set(fuses)
    stop = len(trace.ops) if end is None else end
    owner: dict[int, int] = {}
    groups: list[list[int]] = []
    for op in trace.ops[start:stop]:
        if op.is_view or op.cost.op_class is OpClass.VIEW or op.index in owner:
            continue
        members = [op.index]
        owner[op.index] = len(groups)
        key = _key(op)
        last = op
        while rules and op.cost.fusion in (FusionKind.ANCHOR, *CHAIN_MEMBERS):
            j = _next_reader(trace, last, stop)
            if j is None or j in owner:
                break
            nxt = trace.ops[j]
            kind = nxt.cost.fusion
            if kind not in CHAIN_MEMBERS or (key, kind) not in rules:
                break
            members.append(j)
            owner[j] = len(groups)
            last = nxt
            # A norm folds into the anchor's weights and a residual add into its epilogue
            # (TensorRT's Conv + ElementWise sum, ONNX Runtime's Sum input): what follows still
            # sees the anchor. After an activation, the kernel ends with that activation.
            if not (kind in _EPILOGUE and key in ANCHOR_WORDS):
                key = str(kind)
        groups.append(members)
    return tuple(Kernel(tuple(g), _group_work(trace, g)) for g in groups)


def split(trace: Trace, kernel: Kernel, k: int) -> tuple[Kernel, Kernel]:
    """The two kernels a cut after operator ``k`` makes of ``kernel`` (members <= k, > k)."""
    head = tuple(i for i in kernel.members if i <= k)
    tail = tuple(i for i in kernel.members if i > k)
    return (Kernel(head, _group_work(trace, head)), Kernel(tail, _group_work(trace, tail)))
