"""Branch points: where the tasks stop sharing the backbone. Pure functions of a trace.

A branch point ``b`` (an operator index, named like a cut) splits the backbone into a shared
trunk (operators ``0..b``) and a tail (``b+1..``) that each task runs in its own copy before its
head. ``b = -1`` shares nothing (N single-task networks); the backbone's last operator shares it
all (the paper's MTL-Split). A network cut ``c`` then falls in the trunk (``c <= b``: one
payload, the server runs the rest of the trunk once and every tail) or in the tails (``c > b``:
the edge runs every tail up to the cut and sends one tensor per task, plus any trunk tensor the
tails still read, once).

Every quantity is "today's number plus the copies": compute and MACs as segments of the
operator order with a number of copies; memory as phases (the trunk, then each task's tail and
head in turn, with what the trunk left alive held throughout).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from splitcost.network.liveness import Crossing, crossing
from splitcost.network.records import Trace

if TYPE_CHECKING:
    from splitcost.network.profile import Profile
    from splitcost.pricing.request import PricingRequest

# (first operator, one past the last, copies)
Segment = tuple[int, int, int]


class Lifetimes:
    """Each activation storage's producer, last live operator and bytes, as arrays."""

    def __init__(self, trace: Trace):
        n = len(trace.ops)
        self.n = n
        self.trace = trace
        # trunk_hold by (branch point, after), unread_tail_state by (branch point, key) and
        # peak by range: a pass over the storages each, asked for by every scenario and by
        # every configuration of a grid that shares this backbone
        self._held: dict[tuple[int, int], tuple[int, int]] = {}
        self._unread: dict[tuple[int, str], int] = {}
        self._peaks: dict[tuple[int, int], int] = {}
        acts = [s for s in trace.storages if s.kind == "activation"]
        import numpy as np  # numpy on first use: the CLI's help and listings never need it

        self.producer = np.array([s.producer for s in acts], dtype=np.int64)
        self.last = np.array([n - 1 if s.freed_after is None else s.freed_after for s in acts],
                             dtype=np.int64)
        self.nbytes = np.array([s.nbytes for s in acts], dtype=np.int64)

    def unread(self, b: int, key: str) -> int:
        """:func:`unread_tail_state` of this trace."""
        if (b, key) not in self._unread:
            self._unread[b, key] = unread_tail_state(self.trace, b, key)
        return self._unread[b, key]

    def hold(self, b: int, after: int = -2) -> tuple[int, int]:
        """:func:`trunk_hold` of this trace."""
        key = (b, after)
        if key not in self._held:
            self._held[key] = trunk_hold(self.trace, b, after)
        return self._held[key]

    def peak(self, lo: int, hi: int) -> int:
        """Peak live bytes over operators ``lo+1..hi`` of the storages they allocate (those
        produced after ``lo``), freed as eager execution frees them; 0 for an empty range."""
        if hi <= lo:
            return 0
        if (lo, hi) not in self._peaks:
            self._peaks[lo, hi] = self._peak(lo, hi)
        return self._peaks[lo, hi]

    def _peak(self, lo: int, hi: int) -> int:
        import numpy as np

        keep = (self.producer > lo) & (self.last >= self.producer)
        delta = np.zeros(self.n + 1, dtype=np.int64)
        np.add.at(delta, self.producer[keep], self.nbytes[keep])
        np.add.at(delta, self.last[keep] + 1, -self.nbytes[keep])
        live = np.cumsum(delta)[: self.n]
        return int(live[lo + 1: hi + 1].max())


# --- compute and MACs: segments of the operator order ------------------------------------------


def edge_segments(b: int, c: int, tasks: int) -> tuple[Segment, ...]:
    """What the edge runs up to cut ``c``: the trunk once, and every task's tail up to the cut
    when the cut lies past the branch point."""
    if c <= b:
        return ((0, c + 1, 1),)
    return ((0, b + 1, 1), (b + 1, c + 1, tasks))


def server_segments(b: int, c: int, tasks: int, n: int) -> tuple[Segment, ...]:
    """What one server runs after cut ``c`` for ``tasks`` of the tasks: the rest of the trunk
    once, and one tail per task."""
    if c <= b:
        return ((c + 1, b + 1, 1), (b + 1, n, tasks))
    return ((c + 1, n, tasks),)


def local_segments(b: int, tasks: int, n: int) -> tuple[Segment, ...]:
    """The whole branched network on one device."""
    return ((0, b + 1, 1), (b + 1, n, tasks))


def over(prefix: Sequence[float], segments: Sequence[Segment]) -> float:
    """Seconds of the segments, from per-operator prefix sums (``prefix[k]`` = ops ``0..k-1``)."""
    total = 0.0
    for start, end, copies in segments:
        total += copies * (prefix[end] - prefix[start])
    return total


def count(prefix: Sequence[int], segments: Sequence[Segment]) -> int:
    """MACs (or any integer count) of the segments, from integer prefix sums."""
    return sum(copies * (prefix[end] - prefix[start]) for start, end, copies in segments)


# --- what crosses, what is held ----------------------------------------------------------------


def payload_parts(trace: Trace, payload: Sequence[Crossing], b: int
                  ) -> tuple[tuple[Crossing, ...], tuple[Crossing, ...]]:
    """A cut's crossing tensors split into those the trunk made (sent once) and those each
    task's tail made (sent once per task)."""
    storages = trace.storages
    shared = tuple(x for x in payload if storages[x.storage].producer <= b)
    per_task = tuple(x for x in payload if storages[x.storage].producer > b)
    return shared, per_task


def storage_bytes(trace: Trace, storages: set[int] | frozenset[int]) -> int:
    return sum(trace.storages[s].nbytes for s in storages)


def trunk_hold(trace: Trace, b: int, after: int = -2) -> tuple[int, int]:
    """Bytes the trunk leaves alive at branch point ``b`` while the tails run: the storages
    crossing it and the input (the caller holds it), counting only those produced after
    operator ``after`` (-2: all). The second number leaves out the network's outputs (a head
    counts the Z_b it reads as its own input)."""
    held = {x.storage for x in crossing(trace, b)}
    held |= {s.index for s in trace.storages if s.kind == "input"}
    held = {s for s in held if trace.storages[s].producer > after}
    outputs = {m.storage for m in trace.outputs}
    return storage_bytes(trace, held), storage_bytes(trace, held - outputs)


def done_before_last(heads: Sequence[Profile]) -> int:
    """The outputs of every head but the last: what is still held while the last task runs."""
    return sum(h.zb_bytes for h in heads[:-1])


def leaf_sums(trace: Trace, lo: int, hi: int) -> tuple[int, int]:
    """torchinfo's forward/backward and parameter bytes of the leaf module calls that finish in
    operators ``lo+1..hi``."""
    leaves = [c for c in trace.calls if c.leaf and lo < c.end - 1 <= hi]
    forward_backward = sum(2 * c.torchinfo_output_bytes for c in leaves if c.params > 0)
    params = sum(c.param_bytes for c in leaves if not c.recursive)
    return forward_backward, params


def tail_state(pr: PricingRequest, lo: int, hi: int, key: str) -> int:
    """Bytes of parameters (``key='param'``) or other state first read by operators
    ``lo+1..hi``: what a copy of that part of a tail adds (a weight the trunk reads too stays
    shared)."""
    a = pr.cut_analysis
    return a.edge_bytes(hi, key) - a.edge_bytes(lo, key)


def unread_tail_state(trace: Trace, b: int, key: str) -> int:
    """Bytes of parameters (``key='param'``) or buffers that no operator reads (BatchNorm's
    ``num_batches_tracked``) held by modules that run after branch point ``b``: a whole network
    counts them, so each copy of the tail holds them too."""
    infos = trace.params if key == "param" else trace.buffers
    starts: dict[str, int] = {}
    for call in trace.calls:
        starts.setdefault(call.name, call.start)
    out = 0
    for info in infos:
        if trace.storages[info.storage].readers:
            continue
        module = info.name.rsplit(".", 1)[0] if "." in info.name else ""
        if starts.get(module, 0) > b:
            out += info.nbytes
    return out


__all__ = ["Lifetimes", "Segment", "count", "done_before_last", "edge_segments", "leaf_sums",
           "local_segments", "over", "payload_parts", "server_segments", "storage_bytes",
           "tail_state", "trunk_hold", "unread_tail_state"]
