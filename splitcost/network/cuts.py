"""Cuts: the points of a backbone's execution order where it can be split, and what each side
holds, computes and sends. Pure functions of a trace.

A cut after operator ``k`` puts operators ``0..k`` on the edge and ``k+1..`` on the server; its
payload is every storage produced at or before ``k`` (the input included) and read after it, or
returned by the network (:func:`splitcost.network.liveness.crossing`). ``k = -1`` sends the input
(RoC); the last operator sends ``Z_b`` (MTL-Split).

Cuts are presented at module boundaries: by default the backbone's top-level blocks, where a block
that holds more than half of the operators is replaced by its children (a ViT's encoder becomes
its layers); ``depth=N`` takes the modules at depth N (and shallower leaves); ``every_op=True``
takes every operator boundary but those of views and of operators that only allocate (an
``empty`` that reads no tensor: a cut after it is the cut before it, plus an uninitialised
buffer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from splitcost.network.liveness import Crossing, crossing, live_curve, payload_curve
from splitcost.network.records import ModuleCall, Trace

MAX_DEPTH = 12


@dataclass(frozen=True)
class Cut:
    """One split point and the backbone's share on each side of it. Bytes and counts include
    the batch; the task heads are added when the cut is priced."""

    name: str  # module path after which it lies ("layer1.0"), "input", or "op12:convolution"
    op: int  # last operator on the edge; -1 = none (the input crosses)
    kind: str  # "input", "module", "operator" or "output"
    module: str  # the module path of the operator at the cut
    payload: tuple[Crossing, ...]
    payload_bytes: int  # raw bytes of the crossing tensors, before any encoding
    edge_params: int
    edge_param_bytes: int  # parameters the edge side reads
    edge_buffer_bytes: int  # buffers (and other module state) the edge side reads
    server_param_bytes: int  # parameters the rest of the backbone reads
    server_buffer_bytes: int
    edge_macs: int
    server_macs: int
    edge_peak_bytes: int  # peak live activations on the edge (the input included)
    server_peak_bytes: int  # peak live activations of the rest of the backbone on the server
    held_bytes: int  # received tensors still held by the server while the heads run

    @property
    def payload_numel(self) -> int:
        return sum(_numel(c.shape) for c in self.payload)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cut": self.name,
            "op": self.op,
            "kind": self.kind,
            "module": self.module,
            "payload_bytes_raw": self.payload_bytes,
            "payload_tensors": [
                {"shape": list(c.shape), "dtype": c.dtype, "bytes": c.nbytes}
                for c in self.payload
            ],
            "edge_params": self.edge_params,
            "edge_param_bytes": self.edge_param_bytes,
            "edge_buffer_bytes": self.edge_buffer_bytes,
            "server_param_bytes": self.server_param_bytes,
            "server_buffer_bytes": self.server_buffer_bytes,
            "edge_macs": self.edge_macs,
            "server_macs": self.server_macs,
            "edge_peak_activation_bytes": self.edge_peak_bytes,
            "server_peak_activation_bytes": self.server_peak_bytes,
        }


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


# --- where the cuts are -----------------------------------------------------------------------


def _inside(child: ModuleCall, parent: ModuleCall) -> bool:
    if child is parent or not child.name.startswith(parent.name + "." if parent.name else ""):
        return False
    return child.start >= parent.start and child.end <= parent.end and child.depth > parent.depth


def _children(call: ModuleCall, calls: Sequence[ModuleCall]) -> list[ModuleCall]:
    return [c for c in calls if c.depth == call.depth + 1 and _inside(c, call)]


def module_frontier(trace: Trace, depth: int | None = None) -> list[ModuleCall]:
    """The module calls whose ends are the cuts, in execution order."""
    calls = [c for c in trace.calls if c.depth > 0]
    if depth is not None:
        chosen = [
            c for c in calls
            if c.depth == depth or (c.depth < depth and not any(_inside(d, c) for d in calls))
        ]
    else:
        n = max(len(trace.ops), 1)
        chosen = [c for c in calls if c.depth == 1]
        for _ in range(MAX_DEPTH):
            expanded: list[ModuleCall] = []
            changed = False
            for c in chosen:
                kids = _children(c, calls)
                if kids and (c.end - c.start) > n / 2:
                    expanded.extend(kids)
                    changed = True
                else:
                    expanded.append(c)
            chosen = expanded
            if not changed:
                break
    chosen.sort(key=lambda c: (c.end, c.start))
    return chosen


def cut_positions(trace: Trace, depth: int | None = None, every_op: bool = False
                  ) -> list[tuple[int, str, str]]:
    """(op index, name, kind) of every cut, in execution order, one per distinct position.

    The input (op -1) comes first and the network's output (its last operator) last.
    """
    n = len(trace.ops)
    positions: list[tuple[int, str, str]] = [(-1, "input", "input")]
    if every_op:
        for op in trace.ops:
            if not op.is_view and op.inputs:
                positions.append((op.index, f"op{op.index}:{op.op.removeprefix('aten.')}",
                                  "operator"))
    else:
        for c in module_frontier(trace, depth):
            positions.append((c.end - 1, c.path, "module"))
    seen: set[int] = set()
    unique = []
    for k, name, kind in positions:
        if k in seen or k >= n:
            continue
        seen.add(k)
        unique.append((k, name, kind))
    if n and unique[-1][0] != n - 1:
        unique.append((n - 1, "output", "output"))
    return unique


# --- what each side holds ---------------------------------------------------------------------


class CutAnalysis:
    """Per-operator prefix sums of one trace, so that any cut is priced in O(storages)."""

    def __init__(self, trace: Trace):
        self.trace = trace
        n = len(trace.ops)
        self.n = n
        self.payload = payload_curve(trace)
        self.live = live_curve(trace)
        self.macs_prefix = [0]
        for op in trace.ops:
            self.macs_prefix.append(self.macs_prefix[-1] + op.cost.macs)
        self.input_bytes = sum(
            s.nbytes for s in trace.storages if s.kind == "input"
        )
        self.peak_prefix: list[int] = []
        best = self.input_bytes
        for value in self.live:
            best = max(best, value)
            self.peak_prefix.append(best)
        self.outputs = {m.storage for m in trace.outputs}
        # Parameters and buffers: the edge holds what operators 0..k read, the server what
        # operators k+1.. read (a weight used on both sides is on both).
        self.first = {"param": [0] * (n + 1), "state": [0] * (n + 1)}
        self.last = {"param": [0] * (n + 1), "state": [0] * (n + 1)}
        self.total = {"param": 0, "state": 0}
        count = [0] * (n + 1)
        numel = {p.storage: p.numel for p in trace.params}
        for s in trace.storages:
            if s.kind not in ("param", "buffer", "constant") or not s.readers:
                continue
            key = "param" if s.kind == "param" else "state"
            self.first[key][min(s.readers)] += s.nbytes
            self.last[key][max(s.readers)] += s.nbytes
            self.total[key] += s.nbytes
            count[min(s.readers)] += numel.get(s.index, 0)
        self.first = {k: _cumsum(v) for k, v in self.first.items()}
        self.last = {k: _cumsum(v) for k, v in self.last.items()}
        self.edge_count = _cumsum(count)

    def edge_bytes(self, k: int, key: str) -> int:
        return self.first[key][k] if k >= 0 else 0

    def server_bytes(self, k: int, key: str) -> int:
        return self.total[key] - (self.last[key][k] if k >= 0 else 0)

    def server_peak(self, k: int, held: int) -> int:
        """Peak on the server while it runs operators k+1.. : the received tensors (held by
        the caller throughout) plus the storages it allocates, freed as eager execution frees
        them."""
        n = self.n
        delta = [0] * (n + 1)
        for s in self.trace.storages:
            if s.kind != "activation" or s.producer <= k:
                continue
            last = n - 1 if s.freed_after is None else s.freed_after
            if last < s.producer:
                continue
            delta[s.producer] += s.nbytes
            delta[last + 1] -= s.nbytes
        best, live = 0, 0
        for i in range(n):
            live += delta[i]
            if i > k:
                best = max(best, live)
        return held + best

    def cut(self, k: int, name: str, kind: str) -> Cut:
        trace = self.trace
        payload = tuple(crossing(trace, k))
        raw = sum(c.nbytes for c in payload)
        received = raw
        held = sum(c.nbytes for c in payload if c.storage not in self.outputs)
        module = trace.ops[k].module if k >= 0 else ""
        return Cut(
            name=name,
            op=k,
            kind=kind,
            module=module,
            payload=payload,
            payload_bytes=raw,
            edge_params=self.edge_count[k] if k >= 0 else 0,
            edge_param_bytes=self.edge_bytes(k, "param"),
            edge_buffer_bytes=self.edge_bytes(k, "state"),
            server_param_bytes=self.server_bytes(k, "param"),
            server_buffer_bytes=self.server_bytes(k, "state"),
            edge_macs=self.macs_prefix[k + 1],
            server_macs=self.macs_prefix[-1] - self.macs_prefix[k + 1],
            edge_peak_bytes=self.peak_prefix[k] if k >= 0 else self.input_bytes,
            server_peak_bytes=self.server_peak(k, received) if k < self.n - 1 else received,
            held_bytes=held,
        )


def _cumsum(values: list[int]) -> list[int]:
    out, total = [], 0
    for v in values:
        total += v
        out.append(total)
    return out


def cuts(trace: Trace, depth: int | None = None, every_op: bool = False) -> tuple[Cut, ...]:
    """Every cut at module boundaries (or every operator), in execution order."""
    analysis = CutAnalysis(trace)
    return tuple(analysis.cut(k, name, kind) for k, name, kind in
                 cut_positions(trace, depth, every_op))


def find_cut(trace: Trace, name: str, analysis: CutAnalysis | None = None,
             root: str = "") -> Cut:
    """A cut by name: a module path (any depth), ``input``, ``output`` or ``opN``.

    ``root`` is where the backbone sits in the whole model (``features`` for torchvision's
    ``model.features``): the model's own path, ``features.6``, names the backbone's ``6``. Pass
    an existing ``analysis`` of the same trace to price several cuts without redoing it.
    """
    from splitcost.errors import unknown_name

    analysis = analysis or CutAnalysis(trace)
    n = len(trace.ops)
    name = str(name).strip()
    if root and name.startswith(root + "."):
        inner = name[len(root) + 1:]
        if any(c.path == inner and c.depth > 0 for c in trace.calls):
            name = inner
    if name == "input":
        return analysis.cut(-1, "input", "input")
    if name in ("output", "Z_b", "zb"):
        return analysis.cut(n - 1, "output", "output")
    for c in trace.calls:
        if c.path == name and c.depth > 0:
            return analysis.cut(c.end - 1, c.path, "module")
    if name.startswith("op"):
        head = name[2:].split(":", 1)[0]
        if head.isdigit() and int(head) < n:
            k = int(head)
            return analysis.cut(k, f"op{k}:{trace.ops[k].op.removeprefix('aten.')}", "operator")
    known = [c.path for c in trace.calls if c.depth > 0] + ["input", "output"]
    if root:
        known += [f"{root}.{c.path}" for c in trace.calls if c.depth > 0]
    raise unknown_name("cut", name, known, "use a module path from 'splitcost sweep' or opN")
