"""Which storages are alive when: the live-bytes curve and the payload of every cut.

Two different questions, two different lifetimes:

* **memory**: a storage occupies memory from the operator that allocates it until eager
  execution frees it (the trace saw Python drop the last reference). Inputs are alive throughout
  because the caller holds them.
* **payload**: a cut after operator k carries every storage produced at or before k (inputs
  included) and read after k, or returned by the network. Parameters and buffers never cross.

Both are pure functions of a :class:`~splitcost.network.trace.Trace`.
"""

from __future__ import annotations

from dataclasses import dataclass

from splitcost.network.records import Storage, TensorMeta, Trace

ACTIVATION_KINDS = ("input", "activation")


def _is_activation(s: Storage) -> bool:
    return s.kind in ACTIVATION_KINDS


def live_curve(trace: Trace, start: int = 0, end: int | None = None,
               only: frozenset[int] | None = None) -> list[int]:
    """Live activation bytes right after each operator in ``[start, end)``, before the frees
    that follow it (the moment an operator's inputs and output coexist).

    ``only`` restricts to a set of storage indices (the storages one side of a cut holds).
    """
    n = len(trace.ops)
    end = n if end is None else end
    delta = [0] * (n + 1)
    for s in trace.storages:
        if not _is_activation(s) or (only is not None and s.index not in only):
            continue
        first = max(s.producer, 0)
        last = n - 1 if s.freed_after is None else s.freed_after
        if last < first:
            continue
        delta[first] += s.nbytes
        delta[last + 1] -= s.nbytes
    curve = []
    live = 0
    for i in range(n):
        live += delta[i]
        curve.append(live)
    return curve[start:end]


def input_bytes(trace: Trace) -> int:
    return sum(trace.storages[m.storage].nbytes for m in _unique(trace.inputs))


def _unique(metas: tuple[TensorMeta, ...]) -> list[TensorMeta]:
    seen: set[int] = set()
    out = []
    for m in metas:
        if m.storage not in seen:
            seen.add(m.storage)
            out.append(m)
    return out


@dataclass(frozen=True)
class Peak:
    bytes: int
    op: int  # op index at the peak; -1 = before the first operator (inputs only)
    module: str


def peak(trace: Trace, start: int = 0, end: int | None = None,
         only: frozenset[int] | None = None) -> Peak:
    """The highest point of :func:`live_curve` and where it happens."""
    curve = live_curve(trace, start, end, only)
    best = Peak(input_bytes(trace) if only is None else 0, -1, "")
    for i, value in enumerate(curve):
        if value > best.bytes:
            op = trace.ops[start + i]
            best = Peak(value, op.index, op.module)
    return best


# --- cuts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Crossing:
    """One storage crossing a cut, as the tensor the far side reads. Output tensors that share
    the storage (``y`` and ``y.flatten(1)``) cross once; ``also`` lists the shapes of the others,
    which the far side makes as views."""

    storage: int
    shape: tuple[int, ...]
    dtype: str
    nbytes: int
    also: tuple[tuple[int, ...], ...] = ()


_ITEMSIZE = {"float64": 8, "int64": 8, "complex64": 8, "float32": 4, "int32": 4,
             "float16": 2, "bfloat16": 2, "int16": 2, "int8": 1, "uint8": 1, "bool": 1}


def _contiguous(shape: tuple[int, ...], stride: tuple[int, ...]) -> bool:
    expected = 1
    for d, s in zip(reversed(shape), reversed(stride), strict=True):
        if d != 1 and s != expected:
            return False
        expected *= d
    return True


def output_groups(trace: Trace) -> dict[int, tuple[list[int], int]]:
    """Per storage the network returns: the indices of the output tensors on it, and the bytes
    that must cross for them, counted once: the union of the byte ranges the contiguous views
    cover plus the bytes of the other views (one distinct view each), at most the storage."""
    groups: dict[int, list[int]] = {}
    for i, m in enumerate(trace.outputs):
        groups.setdefault(m.storage, []).append(i)
    layouts = trace.output_layouts
    out: dict[int, tuple[list[int], int]] = {}
    for storage, members in groups.items():
        metas = [trace.outputs[i] for i in members]
        if len(members) == 1:
            out[storage] = (members, metas[0].nbytes)
            continue
        if len(layouts) != len(trace.outputs):  # a trace without layouts: distinct shapes
            distinct = {(m.shape, m.dtype): m.nbytes for m in metas}
            total = sum(distinct.values())
        else:
            spans: list[tuple[int, int]] = []
            strided: dict[tuple[object, ...], int] = {}
            for i, m in zip(members, metas, strict=True):
                offset, stride = layouts[i]
                size = _ITEMSIZE.get(m.dtype, max(m.nbytes // max(m.numel, 1), 1))
                if _contiguous(m.shape, stride):
                    spans.append((offset * size, offset * size + m.nbytes))
                else:
                    strided[(offset, m.shape, stride, m.dtype)] = m.nbytes
            total = _union(spans) + sum(strided.values())
        out[storage] = (members, min(total, trace.storages[storage].nbytes))
    return out


def _union(spans: list[tuple[int, int]]) -> int:
    total, end = 0, -1
    for a, b in sorted(spans):
        if a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total


def _last_read(s: Storage) -> int:
    return max(s.readers) if s.readers else -1


def crossing(trace: Trace, k: int) -> list[Crossing]:
    """The storages that cross a cut after operator ``k`` (k = -1: before the first operator).

    A storage read after the cut crosses whole; once only the network's output needs it, only
    the output tensor's own bytes cross (a network that returns ``x[:, 0]`` sends that slice).
    """
    out: list[Crossing] = []
    groups = output_groups(trace)
    for s in trace.storages:
        if not _is_activation(s) or s.producer > k:
            continue
        view = _shape_of(trace, s)
        if _last_read(s) > k:
            out.append(Crossing(s.index, view.shape, view.dtype, s.nbytes))
        elif s.index in groups:
            members, nbytes = groups[s.index]
            metas = [trace.outputs[i] for i in members]
            first = max(metas, key=lambda m: m.nbytes)
            shape = first.shape if first.nbytes == nbytes else (
                nbytes // max(first.nbytes // max(first.numel, 1), 1),)
            out.append(Crossing(s.index, shape, first.dtype, nbytes,
                                tuple(m.shape for m in metas if m is not first)))
    return out


def payload_curve(trace: Trace) -> list[int]:
    """Payload bytes of the cut after each operator, for every operator at once."""
    n = len(trace.ops)
    delta = [0] * (n + 2)
    out_bytes = {storage: nbytes for storage, (_, nbytes) in output_groups(trace).items()}
    # Index i of ``delta`` is cut k = i - 1, so that k = -1 (before any operator) fits.
    for s in trace.storages:
        if not _is_activation(s):
            continue
        first = s.producer + 1
        last_read = _last_read(s)
        if last_read > s.producer:
            delta[first] += s.nbytes
            delta[last_read + 1] -= s.nbytes
        if s.index in out_bytes:
            begin = max(first, last_read + 1)
            delta[begin] += out_bytes[s.index]
            delta[n + 1] -= out_bytes[s.index]
    curve = []
    total = 0
    for i in range(n + 1):
        total += delta[i]
        curve.append(total)
    return curve  # curve[k + 1] is the payload after operator k


def _shape_of(trace: Trace, s: Storage) -> TensorMeta:
    """The tensor that allocated a storage (its shape as produced)."""
    if s.producer >= 0:
        for m in trace.ops[s.producer].outputs:
            if m.storage == s.index:
                return m
    for m in trace.inputs:
        if m.storage == s.index:
            return m
    return TensorMeta((s.nbytes,), "uint8", s.nbytes, s.index)
