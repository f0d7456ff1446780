"""Peak live activation memory of one real eager forward pass, measured at the CPU allocator.

This is the oracle for splitcost's ``inference`` memory model. It shares no code with
splitcost's tracer: it runs the real model on real CPU tensors and reads what PyTorch's CPU
allocator reported to the profiler.

Mechanism (and why this one)
----------------------------
``torch.profiler.profile(activities=[CPU], profile_memory=True)`` makes the CPU allocator report
every allocation and free (``c10::reportMemoryUsage``: pointer, signed size, time) and records
every ATen operator call as it is dispatched (name, overload, start and end). The event tree
(``kineto_results.experimental_event_tree()``) nests each ``[memory]`` event under the operator
running when it happened. This is the most independent mechanism available on CPU: it sees
storages where they are really made, inside the kernels, including memory that never becomes a
tensor a Python-level observer could see (oneDNN scratchpads, reorder buffers, im2col columns).
A ``TorchDispatchMode`` with ``weakref.finalize`` on output storages would instead re-implement
the very mechanism splitcost uses, and would be blind to kernel-internal memory.

Parameters and buffers are allocated when the model is built, before profiling starts, so they
never appear in the events (:attr:`Measured.foreign_frees` counts frees of memory allocated before
profiling started, which stays 0 for these backbones). The books balance: when the pass returns,
exactly the input and the output's storages are live (:attr:`Measured.final_bytes` =
``input_bytes + output_bytes``), so no allocation or free was missed on the way. The input
``torch.zeros`` is also made before profiling: its bytes are added to every point of the curve,
as splitcost counts the input the caller holds.

Activations vs kernel workspaces
--------------------------------
The raw running total of the allocator is the true resident tensor memory, but it includes
*workspaces*: memory a kernel allocates and frees before it returns. On CPU the large ones are
oneDNN's: ``mkldnn_convolution`` writes its result into a buffer of oneDNN's own, copies it into
the ATen output and frees it, so for a moment a convolution holds its output twice (plus small
reorders of the input and weights). With ``torch.backends.mkldnn.flags(enabled=False)`` the
convolution falls back to ``slow_conv2d`` whose im2col ``columns`` buffer is C_in*k*k times the
output plane, larger still. Disabling mkldnn therefore does not remove workspaces; it changes
them (see ``benchmarks/memory_cpu.py`` for the figures).

So each allocation gets an *owner*: the outermost operator enclosing it that is not
``CompositeImplicitAutograd`` (asked of the dispatcher with
``torch._C._dispatch_has_kernel_for_dispatch_key``). That is the operator as eager dispatch
really executes it after decompositions such as ``conv2d -> convolution``, ``linear -> t +
addmm``, ``max_pool2d -> max_pool2d_with_indices``: a kernel. A storage freed before its owner
returns is a **workspace**; a storage that outlives its owner is an **activation**. The
activation curve is the running total of activation storages only, i.e. the live bytes as they
stand at operator boundaries; its maximum is :attr:`Measured.activation_peak`. The raw
maximum (:attr:`Measured.raw_peak`) and the kernel overhead on top of activations
(:attr:`Measured.workspace_overhead` = raw_peak - activation_peak) are kept beside it.

Allocations made by Python code outside any operator (for example a scalar wrapped into a tensor)
are activations freed whenever Python frees them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile


@dataclass(frozen=True)
class Point:
    """The live bytes right after one allocator event."""

    time_ns: int
    activation: int  # live activation storages (input included)
    raw: int  # everything the allocator holds for this run (input included)
    op: str  # the operator owning the event ("" outside any operator)


@dataclass(frozen=True)
class Measured:
    """One forward pass, measured. All figures in bytes, the input's storage included."""

    input_bytes: int
    activation_peak: int  # peak of live activation storages (at operator boundaries)
    activation_peak_op: str  # the operator that allocated the storage completing the peak
    raw_peak: int  # peak of everything the CPU allocator held (kernel workspaces included)
    raw_peak_op: str
    max_workspace: int  # most workspace bytes alive at once
    max_workspace_op: str
    allocations: int
    foreign_frees: int  # frees of memory allocated before profiling (weights would show here)
    final_bytes: int  # raw live bytes when the pass returned (the input and the output)
    output_bytes: int  # storage bytes of the returned tensors
    curve: tuple[Point, ...] = field(repr=False)

    @property
    def workspace_overhead(self) -> int:
        """How far kernel workspaces lift the true peak above the activation peak."""
        return self.raw_peak - self.activation_peak


@cache
def _is_composite_implicit(name: str, overload: str) -> bool:
    qualified = f"{name}.{overload}" if overload else name
    try:
        return bool(
            torch._C._dispatch_has_kernel_for_dispatch_key(qualified, "CompositeImplicitAutograd")
        )
    except RuntimeError:  # not a dispatcher operator (a user annotation, say)
        return False


def _op_name(e: Any) -> str:
    overload = getattr(e, "overload_name", "") or ""
    return f"{e.name}.{overload}" if overload else str(e.name)


def _owner(alloc: Any) -> Any:
    """The outermost non-CompositeImplicitAutograd operator enclosing an allocator event."""
    owner = None
    innermost = None
    e = alloc.parent
    while e is not None:
        if str(e.tag).endswith("TorchOp"):
            innermost = innermost or e
            if not _is_composite_implicit(e.name, getattr(e, "overload_name", "") or ""):
                owner = e
        e = e.parent
    return owner if owner is not None else innermost


def _allocator_events(prof: Any) -> list[Any]:
    out: list[Any] = []
    stack = list(reversed(prof.profiler.kineto_results.experimental_event_tree()))
    while stack:
        e = stack.pop()
        if str(e.tag).endswith("Allocation"):
            out.append(e)
        stack.extend(reversed(sorted(e.children, key=lambda c: c.start_time_ns)))
    # depth-first order breaks ties in time; sorted() is stable
    return sorted(out, key=lambda e: e.start_time_ns)


def analyse(events: list[Any], input_bytes: int, output_bytes: int = 0) -> Measured:
    """Activation and raw curves from time-ordered allocator events."""
    # First pass: pair each allocation with its free (same pointer, next free after it), find
    # its owner operator, and call it a workspace if the free comes before the owner returns.
    kind: dict[int, tuple[bool, str]] = {}  # event index of an allocation -> (workspace, op)
    pending: dict[int, tuple[int, Any]] = {}  # ptr -> (event index, owner) of live allocations
    for i, e in enumerate(events):
        ptr, size = e.extra_fields.ptr, e.extra_fields.alloc_size
        if size > 0:
            owner = _owner(e)
            pending[ptr] = (i, owner)
            kind[i] = (False, "" if owner is None else _op_name(owner))
        elif size < 0 and ptr in pending:
            j, owner = pending.pop(ptr)
            if owner is not None and e.start_time_ns <= owner.end_time_ns:
                kind[j] = (True, kind[j][1])
    # Second pass: the running totals.
    live: dict[int, tuple[int, bool]] = {}  # ptr -> (bytes, workspace)
    act = raw = input_bytes
    ws = 0
    best_act, best_act_op = input_bytes, ""
    best_raw, best_raw_op = input_bytes, ""
    best_ws, best_ws_op = 0, ""
    foreign = allocations = 0
    curve: list[Point] = []
    for i, e in enumerate(events):
        ptr, size = e.extra_fields.ptr, e.extra_fields.alloc_size
        if size > 0:
            allocations += 1
            is_ws, op = kind[i]
            live[ptr] = (size, is_ws)
        elif size < 0 and ptr in live:
            size, is_ws = live.pop(ptr)
            size, op = -size, ""
        elif size < 0:
            foreign += 1
            continue
        else:
            continue
        raw += size
        if is_ws:
            ws += size
        else:
            act += size
        curve.append(Point(e.start_time_ns, act, raw, op))
        if act > best_act:
            best_act, best_act_op = act, op
        if raw > best_raw:
            best_raw, best_raw_op = raw, op
        if ws > best_ws:
            best_ws, best_ws_op = ws, op
    return Measured(
        input_bytes=input_bytes,
        activation_peak=best_act,
        activation_peak_op=best_act_op,
        raw_peak=best_raw,
        raw_peak_op=best_raw_op,
        max_workspace=best_ws,
        max_workspace_op=best_ws_op,
        allocations=allocations,
        foreign_frees=foreign,
        final_bytes=raw,
        output_bytes=output_bytes,
        curve=tuple(curve),
    )


@contextlib.contextmanager
def _mkldnn(enabled: bool | None) -> Iterator[None]:
    if enabled is None:
        yield
    else:
        with torch.backends.mkldnn.flags(enabled=enabled):
            yield


def measure(
    model: torch.nn.Module | Callable[[torch.Tensor], Any],
    x: torch.Tensor,
    *,
    mkldnn: bool | None = None,
    warmup: bool = True,
) -> Measured:
    """Run ``model(x)`` once under ``torch.no_grad()`` on CPU and measure its live memory.

    ``x`` is allocated by the caller before profiling, so its storage bytes are added to the
    curve. ``warmup`` runs the model once before (oneDNN builds and caches its primitives on the
    first call; the cache is not tensor memory, but the first call can take other code paths).
    ``mkldnn`` forces ``torch.backends.mkldnn`` on or off for both runs (None: as it is).
    """
    if isinstance(model, torch.nn.Module):
        model.eval()
    input_bytes = x.untyped_storage().nbytes()
    with torch.no_grad(), _mkldnn(mkldnn):
        if warmup:
            model(x)
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            out = model(x)
        storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes()
                    for t in _tensors(out) if t.untyped_storage().data_ptr() != x.data_ptr()}
        del out
    return analyse(_allocator_events(prof), input_bytes, sum(storages.values()))


def _tensors(out: Any) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _tensors(o)]
    return []
