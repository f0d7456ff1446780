"""Pricing a whole design space at once: backbones x task sets x devices x servers x links x
payload encodings x scenarios, as numpy arrays. Numbers only, no torch.

What depends only on the network and the devices (compute time by prefix sums, memory by part,
feasibility and the binding constraint, MACs) is worked out once per (backbone, task set,
device, server) with the same functions :func:`splitcost.pricing.scenarios.price` uses; what
varies with the link and the encoding (payload bytes, transfer, end-to-end latency, edge
energy, the latency band) is computed for every link and encoding at once, as arrays, with the
formulas of :mod:`splitcost.hardware.transfer`, :mod:`splitcost.pricing.energy` and
:mod:`splitcost.pricing.band` in the same order of operations, so every figure equals the one
``compare()`` gives (``tests/test_grid.py`` checks that on random grids).

Rows are in the order of nested loops over backbone, task set, device, server, link, payload
encoding, then scenario (innermost): ``rows.reshape(-1, scenarios)`` puts one configuration
per line. A configuration is one (backbone, task set, device, server, link, encoding); each has
the paper's four scenarios and a ``Split@cut`` per extra cut.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from splitcost.defaults import HIDDEN
from splitcost.errors import InputError
from splitcost.hardware.device import Device
from splitcost.hardware.encoding import FLOAT32, Encoding
from splitcost.hardware.link import Link
from splitcost.kinds import ConstraintKind, MemoryModel, Processes, Runtime, ScenarioKind
from splitcost.network.cuts import Cut, CutAnalysis, cut_positions, find_cut
from splitcost.network.liveness import Crossing
from splitcost.network.profile import Profile
from splitcost.network.tasks import Task
from splitcost.pricing.branch import Lifetimes
from splitcost.pricing.fusion import Kernel, kernels
from splitcost.pricing.memory import MemoryBreakdown, loc_memory, mtl_local_memory, split_memory
from splitcost.pricing.request import DeviceTimes, PricingRequest, SideTimes, device_times
from splitcost.pricing.scenarios import PAPER_SCENARIOS, Constraint, binding_constraint

HeadsFor = Callable[[Profile, tuple[Task, ...]], Sequence[Profile]]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

BINDINGS: tuple[ConstraintKind, ...] = tuple(ConstraintKind)
# The columns of a row, in the order rows() gives them.
COLUMNS = ("backbone", "tasks", "device", "server", "link", "payload", "scenario", "kind",
           "feasible", "binding", "edge_memory_bytes", "server_memory_bytes", "payload_bytes",
           "edge_macs", "server_macs", "edge_s", "latency_s", "uplink_s", "downlink_s",
           "transfer_s", "server_s", "total_s", "images_total_s", "energy_j", "band_low_s",
           "band_high_s")


@dataclass(frozen=True)
class GridPrices:
    """Every configuration of a grid, priced. One row per (configuration, scenario).

    The axes hold the labels; the ``*_index`` arrays say which label each row has. Seconds,
    bytes and joules per inference (one batch); ``energy_j`` is NaN where the edge device has
    no power figures, ``band_*`` NaN where no latency band applies (as ``compare()`` gives
    None), ``binding`` is an index into :data:`BINDINGS` (-1: none).
    """

    backbones: tuple[str, ...]
    tasks: tuple[str, ...]  # each task set as --tasks writes it: "3" or "3,2,3"
    devices: tuple[str, ...]
    servers: tuple[str, ...]
    links: tuple[str, ...]
    payloads: tuple[str, ...]  # encoding labels
    scenarios: tuple[tuple[str, ...], ...]  # per backbone: its scenario names, in price() order
    kinds: tuple[ScenarioKind, ...]  # per scenario position
    memory_model: MemoryModel
    images: int
    module_cuts: tuple[tuple[str, ...], ...] | None  # best_cut: per backbone, the candidates
    best_cut_index: Ints  # the best-cut row's cut among its backbone's candidates (-1: none)
    backbone_index: Ints
    task_index: Ints
    device_index: Ints
    server_index: Ints
    link_index: Ints
    payload_index: Ints
    scenario_index: Ints
    feasible: Bools
    binding: Ints
    edge_memory_bytes: Ints
    server_memory_bytes: Ints
    payload_bytes: Ints
    edge_macs: Ints
    server_macs: Ints
    edge_s: Floats
    latency_s: Floats
    uplink_s: Floats
    downlink_s: Floats
    transfer_s: Floats
    server_s: Floats
    total_s: Floats
    energy_j: Floats
    band_low_s: Floats
    band_high_s: Floats

    def __len__(self) -> int:
        return int(self.total_s.shape[0])

    @property
    def configurations(self) -> int:
        """Rows / scenarios: the (backbone, tasks, device, server, link, encoding) combinations."""
        return len(self) // len(self.kinds)

    def best(self, with_best_cut: bool = False) -> Ints:
        """Per configuration, the scenario position of the fastest that fits (-1: none fits),
        ties to the earlier scenario, as ``compare()``'s verdict picks it (which leaves the
        best-cut scenario out unless ``with_best_cut``)."""
        total = np.where(self.feasible, self.total_s, np.inf).reshape(-1, len(self.kinds))
        if self.module_cuts is not None and not with_best_cut:
            total = total[:, :-1]
        best = total.argmin(axis=1)
        return np.where(np.isfinite(total.min(axis=1)), best, -1).astype(np.int64)

    def scenario_name(self, i: int) -> str | None:
        """Row ``i``'s scenario (None: the best-cut row of a configuration where none fits)."""
        b = int(self.backbone_index[i])
        k = int(self.scenario_index[i])
        if self.module_cuts is not None and k == len(self.kinds) - 1:
            c = int(self.best_cut_index[i])
            return None if c < 0 else f"Split@{self.module_cuts[b][c]}"
        return self.scenarios[b][k]

    def row(self, i: int) -> dict[str, Any]:
        b = int(self.backbone_index[i])
        k = int(self.scenario_index[i])
        binding = int(self.binding[i])
        return {
            "backbone": self.backbones[b],
            "tasks": self.tasks[int(self.task_index[i])],
            "device": self.devices[int(self.device_index[i])],
            "server": self.servers[int(self.server_index[i])],
            "link": self.links[int(self.link_index[i])],
            "payload": self.payloads[int(self.payload_index[i])],
            "scenario": self.scenario_name(i),
            "kind": self.kinds[k].value,
            "feasible": bool(self.feasible[i]),
            "binding": None if binding < 0 else BINDINGS[binding].value,
            "edge_memory_bytes": int(self.edge_memory_bytes[i]),
            "server_memory_bytes": int(self.server_memory_bytes[i]),
            "payload_bytes": int(self.payload_bytes[i]),
            "edge_macs": int(self.edge_macs[i]),
            "server_macs": int(self.server_macs[i]),
            "edge_s": _none_if_nan(self.edge_s[i]),
            "latency_s": _none_if_nan(self.latency_s[i]),
            "uplink_s": _none_if_nan(self.uplink_s[i]),
            "downlink_s": _none_if_nan(self.downlink_s[i]),
            "transfer_s": _none_if_nan(self.transfer_s[i]),
            "server_s": _none_if_nan(self.server_s[i]),
            "total_s": _none_if_nan(self.total_s[i]),
            "images_total_s": _none_if_nan(self.images * float(self.total_s[i])),
            "energy_j": _none_if_nan(self.energy_j[i]),
            "band_low_s": _none_if_nan(self.band_low_s[i]),
            "band_high_s": _none_if_nan(self.band_high_s[i]),
        }

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every row as a dict of plain values (the keys of :data:`COLUMNS`)."""
        for i in range(len(self)):
            yield self.row(i)

    def to_dict(self) -> dict[str, Any]:
        return {
            "axes": {"backbones": list(self.backbones), "tasks": list(self.tasks),
                     "devices": list(self.devices), "servers": list(self.servers),
                     "links": list(self.links), "payloads": list(self.payloads)},
            "memory_model": self.memory_model,
            "images": self.images,
            "configurations": self.configurations,
            "rows": list(self.rows()),
        }


def _none_if_nan(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def tasks_label(tasks: Sequence[Task]) -> str:
    """A task set as ``--tasks`` writes it: the count when every task has ten classes."""
    classes = [t.classes for t in tasks]
    if all(c == 10 for c in classes):
        return str(len(classes))
    return ",".join(str(c) for c in classes)


@dataclass(frozen=True)
class _Scene:
    """What one scenario of one (backbone, task set, device, server) needs, link aside."""

    kind: ScenarioKind
    edge: MemoryBreakdown | None
    server: MemoryBreakdown | None
    feasible: bool
    binding: ConstraintKind | None
    edge_macs: int
    server_macs: int
    edge_s: float
    server_s: float
    cut: Cut | None  # None: nothing crosses the link


def _output_cut(analysis: CutAnalysis, trace_ops: int) -> Cut:
    """MTL-Split's cut: the network's output, flattened as the paper sends it."""
    cut = analysis.cut(trace_ops - 1, "output", "output")
    flat = tuple(Crossing(c.storage, (_numel(c.shape),), c.dtype, c.nbytes) for c in cut.payload)
    return replace(cut, payload=flat)


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _constraints(edge: MemoryBreakdown | None, server: MemoryBreakdown | None,
                 pr: PricingRequest) -> tuple[Constraint, ...]:
    """The memory limits of a scenario with every head on the request's one server (what
    scenarios.py checks for a request without a placement)."""
    out = []
    if edge is not None:
        out.append(Constraint(ConstraintKind.EDGE_MEMORY, edge.total_bytes,
                              pr.device.memory_usable, "B", pr.device.name))
    if server is not None:
        out.append(Constraint(ConstraintKind.SERVER_MEMORY, server.total_bytes,
                              pr.server.memory_usable, "B", pr.server.name))
    return tuple(out)


def _scenes(pr: PricingRequest, times: SideTimes, cuts: Sequence[tuple[ScenarioKind, Cut]]
            ) -> list[_Scene]:
    bb, heads, n = pr.backbone, pr.heads, len(pr.heads)
    head_macs = sum(h.macs for h in heads)
    out = []
    loc_mem = loc_memory(pr)
    local = (
        (ScenarioKind.LOC, loc_mem, bb.macs * n + head_macs, times.loc()),
        (ScenarioKind.MTL_LOCAL, mtl_local_memory(pr), bb.macs + head_macs, times.mtl_local()),
    )
    for kind, memory, macs, edge_s in local:
        constraints = _constraints(memory, None, pr)
        out.append(_Scene(kind, memory, None, all(c.ok for c in constraints),
                          binding_constraint(constraints), macs, 0, edge_s, 0.0, None))
    for kind, cut in cuts:
        edge, server = split_memory(pr, cut)
        constraints = _constraints(edge, server, pr)
        out.append(_Scene(kind, edge, server, all(c.ok for c in constraints),
                          binding_constraint(constraints), cut.edge_macs,
                          cut.server_macs + head_macs, times.edge(cut.op), times.server(cut.op),
                          cut))
    return out


@dataclass(frozen=True)
class _Block:
    """One (backbone, task set, device, server): its scenarios, and where it sits."""

    scenes: list[_Scene]
    backbone: int
    tasks: int
    device: int
    server: int
    result_bytes: int  # the heads' outputs, sent back


def price_grid(
    backbones: Sequence[Profile],
    task_sets: Sequence[Sequence[Task]],
    heads_for: HeadsFor,
    devices: Sequence[Device],
    links: Sequence[Link],
    payloads: Sequence[Encoding] = (FLOAT32,),
    *,
    servers: Sequence[Device],
    memory_model: MemoryModel = MemoryModel.INFERENCE,
    input: Encoding = FLOAT32,
    images: int = 1,
    processes: Processes = Processes.ONE,
    hidden: int = HIDDEN,
    cuts: Sequence[str] = (),
    best_cut: bool = False,
    runtime: Runtime = Runtime.EAGER,
) -> GridPrices:
    """Price every combination of the axes; ``heads_for(backbone, tasks)`` gives the task
    heads' profiles of one backbone (one per task, as the pricing request holds them), every
    device under ``runtime`` (each needs its section).

    ``cuts`` adds ``Split@cut`` for each name (a module path, ``input``, ``output`` or ``opN``)
    to every backbone, after the paper's four scenarios. ``best_cut`` adds one more scenario
    last: the fastest ``Split@cut`` that fits among the module-boundary cuts other than the
    input and the output, as ``compare_request(best_cut=True)`` finds it (its name differs by
    configuration: see :meth:`GridPrices.row`; none fits: an empty row).
    """
    axes = {"backbones": backbones, "task_sets": task_sets, "devices": devices,
            "servers": servers, "links": links, "payloads": payloads}
    for name, values in axes.items():
        if isinstance(values, str) or not isinstance(values, Sequence) or not values:
            raise InputError("expected a non-empty list", parameter=name)
    if isinstance(cuts, str) or not isinstance(cuts, Sequence):
        raise InputError(f"expected a list of cut names, got {cuts!r}", parameter="cuts")
    sets = [tuple(t) for t in task_sets]
    if any(not t for t in sets):
        raise InputError("every task set needs at least one task", parameter="task_sets")
    kinds = (*PAPER_SCENARIOS, *(ScenarioKind.SPLIT for _ in cuts),
             *((ScenarioKind.SPLIT,) if best_cut else ()))
    blocks: list[_Block] = []
    grouped: dict[tuple[int, tuple[str, ...]], tuple[Kernel, ...]] = {}

    def group(p: Profile, rules: tuple[str, ...]) -> tuple[Kernel, ...]:
        # a network's kernels depend on its trace and the rules, not on the device
        if (id(p), rules) not in grouped:
            grouped[id(p), rules] = kernels(p.trace, rules)
        return grouped[id(p), rules]

    scenario_names: list[tuple[str, ...]] = []
    module_cuts: list[tuple[str, ...]] = []
    for b, bb in enumerate(backbones):
        analysis = CutAnalysis(bb.trace)
        lifetimes = Lifetimes(bb.trace)
        split_cuts: list[tuple[ScenarioKind, Cut]] = [
            (ScenarioKind.ROC, analysis.cut(-1, "input", "input")),
            (ScenarioKind.MTL_SPLIT, _output_cut(analysis, len(bb.trace.ops))),
        ]
        for name in cuts:
            try:
                split_cuts.append((ScenarioKind.SPLIT, find_cut(bb.trace, name, analysis)))
            except InputError as e:
                raise InputError(f"{bb.name}: {e.message}", parameter="cuts") from None
        scenario_names.append((*(k.value for k in PAPER_SCENARIOS),
                               *(f"Split@{c.name}" for _, c in split_cuts[2:])))
        if best_cut:  # what compare's fastest_split tries, in the same order
            candidates = [analysis.cut(k, name, kind) for k, name, kind in
                          cut_positions(bb.trace) if kind == "module"]
            split_cuts += [(ScenarioKind.SPLIT, c) for c in candidates]
            module_cuts.append(tuple(c.name for c in candidates))
        heads = [tuple(heads_for(bb, t)) for t in sets]
        for tasks, hs in zip(sets, heads, strict=True):
            if len(hs) != len(tasks):
                raise InputError(f"expected {len(tasks)} heads for {bb.name}, got {len(hs)}",
                                 parameter="heads_for")
        distinct: list[Profile] = []
        for hs in heads:
            distinct.extend(h for h in hs if all(h is not d for d in distinct))
        # The compute times of the backbone's operators (prefix sums) and of each distinct
        # head, once per device whichever side it is on, by the function PricingRequest.times
        # uses for each side; every task set takes its own heads' times from them.
        precision = PricingRequest(bb, (), devices[0], servers[0], links[0]).precision
        on: dict[int, DeviceTimes] = {}
        for x in (*devices, *servers):
            if id(x) not in on:
                on[id(x)] = device_times(bb, distinct, x, precision, x.runtime(runtime),
                                         grouping=group)
        for t, (tasks, hs) in enumerate(zip(sets, heads, strict=True)):
            position = [next(i for i, d in enumerate(distinct) if d is h) for h in hs]
            results = sum(h.zb_bytes for h in hs)
            for di, device in enumerate(devices):
                edge = on[id(device)]
                for si, server in enumerate(servers):
                    own = SideTimes.of(edge.for_heads(position),
                                       on[id(server)].for_heads(position))
                    pr = PricingRequest(bb, hs, device, server, links[0], tasks, memory_model,
                                        payloads[0], input, images, processes, hidden,
                                        runtime).sharing_backbone(analysis, lifetimes)
                    blocks.append(_Block(_scenes(pr, own, split_cuts), b, t, di, si, results))
    return _assemble(backbones, sets, devices, servers, links, payloads, kinds, scenario_names,
                     memory_model, images, input, blocks, tuple(module_cuts) if best_cut else None)


def _assemble(backbones: Sequence[Profile], sets: Sequence[tuple[Task, ...]],
              devices: Sequence[Device], servers: Sequence[Device], links: Sequence[Link],
              payloads: Sequence[Encoding], kinds: tuple[ScenarioKind, ...],
              scenario_names: list[tuple[str, ...]], memory_model: MemoryModel, images: int,
              input_encoding: Encoding, blocks: list[_Block],
              module_cuts: tuple[tuple[str, ...], ...] | None) -> GridPrices:
    n_blocks, n_links, n_enc = len(blocks), len(links), len(payloads)
    # Scenarios: the fixed ones, then (best_cut) every candidate cut, padded to the same count
    # for every backbone with scenes that never fit; they are reduced to one at the end.
    fixed = len(kinds) - (module_cuts is not None)
    n_k = max(len(blk.scenes) for blk in blocks)
    pad = _Scene(ScenarioKind.SPLIT, None, None, False, None, 0, 0, 0.0, 0.0, None)
    for blk in blocks:
        blk.scenes.extend([pad] * (n_k - len(blk.scenes)))
    shape = (n_blocks, n_links, n_enc, n_k)  # blocks, links, encodings, scenarios

    def per_scene(get: Callable[[_Scene], Any], dtype: Any) -> Any:
        return np.array([[get(s) for s in blk.scenes] for blk in blocks], dtype=dtype)

    def per_block(get: Callable[[_Block], Any], dtype: Any) -> Any:
        return np.array([get(blk) for blk in blocks], dtype=dtype)

    # payload bytes per scenario and encoding: the input's encoding for a cut before the
    # first operator (RoC), the payload's otherwise
    payload = np.zeros((n_blocks, n_enc, n_k), dtype=np.int64)
    for i, blk in enumerate(blocks):
        for k, scene in enumerate(blk.scenes):
            if scene.cut is not None:
                c = scene.cut
                for e, enc in enumerate(payloads):
                    chosen = input_encoding if c.op < 0 else enc
                    payload[i, e, k] = chosen.encoded_bytes(c.payload_numel, len(c.payload))
    cross = per_scene(lambda s: s.cut is not None, np.bool_)[:, None, None, :]
    edge_s = np.broadcast_to(per_scene(lambda s: s.edge_s, np.float64)[:, None, None, :], shape)
    server_s = np.broadcast_to(per_scene(lambda s: s.server_s, np.float64)[:, None, None, :],
                               shape)
    results = per_block(lambda blk: blk.result_bytes, np.int64)[:, None, None, None]

    def link_column(get: Callable[[Link], Any]) -> Floats:
        return np.array([get(lk) for lk in links], dtype=np.float64)[None, :, None, None]

    # hardware/transfer.py: RTT + payload x 8 / goodput + results x 8 / downlink goodput
    sent = np.where(cross, payload[:, None, :, :], 0)
    latency = np.where(cross, link_column(lambda lk: lk.rtt_s), 0.0)
    uplink = np.where(cross, sent * 8 / link_column(lambda lk: lk.goodput_bps), 0.0)
    downlink = np.where(cross, results * 8 / link_column(lambda lk: lk.downlink_goodput_bps),
                        0.0)
    transfer = latency + uplink + downlink
    total = edge_s + transfer + server_s

    device_of = per_block(lambda blk: blk.device, np.int64)
    server_of = per_block(lambda blk: blk.server, np.int64)

    def device_column(chosen: Sequence[Device], of: Ints, get: Callable[[Device], Any]) -> Floats:
        values = np.array([np.nan if get(d) is None else get(d) for d in chosen], np.float64)
        return values[of][:, None, None, None]

    energy = _energy(devices, links, device_column, device_of, edge_s, server_s, transfer,
                     uplink, sent, link_column)
    low, high = _band(devices, servers, device_column, device_of, server_of, edge_s, server_s,
                      latency, uplink, downlink, sent, link_column)

    def full(a: Any) -> Any:
        return np.broadcast_to(a, shape)

    def scene_full(get: Callable[[_Scene], Any], dtype: Any) -> Any:
        return full(per_scene(get, dtype)[:, None, None, :])

    def block_full(get: Callable[[_Block], Any]) -> Any:
        return full(per_block(get, np.int64)[:, None, None, None])

    columns: dict[str, Any] = {
        "backbone_index": block_full(lambda blk: blk.backbone),
        "task_index": block_full(lambda blk: blk.tasks),
        "device_index": block_full(lambda blk: blk.device),
        "server_index": block_full(lambda blk: blk.server),
        "link_index": full(np.arange(n_links, dtype=np.int64)[None, :, None, None]),
        "payload_index": full(np.arange(n_enc, dtype=np.int64)[None, None, :, None]),
        "scenario_index": full(np.arange(n_k, dtype=np.int64)[None, None, None, :]),
        "feasible": scene_full(lambda s: s.feasible, np.bool_),
        "binding": scene_full(lambda s: -1 if s.binding is None else BINDINGS.index(s.binding),
                              np.int64),
        "edge_memory_bytes": scene_full(lambda s: s.edge.total_bytes if s.edge else 0,
                                        np.int64),
        "server_memory_bytes": scene_full(lambda s: s.server.total_bytes if s.server else 0,
                                          np.int64),
        "payload_bytes": full(sent),
        "edge_macs": scene_full(lambda s: s.edge_macs, np.int64),
        "server_macs": scene_full(lambda s: s.server_macs, np.int64),
        "edge_s": edge_s, "latency_s": full(latency), "uplink_s": full(uplink),
        "downlink_s": full(downlink), "transfer_s": full(transfer), "server_s": server_s,
        "total_s": full(total), "energy_j": full(energy), "band_low_s": full(low),
        "band_high_s": full(high),
    }
    best_index = np.full((*shape[:3], fixed), -1, dtype=np.int64)
    if module_cuts is not None:
        columns, picked = _fastest_fit(columns, fixed)
        best_index = np.concatenate([best_index, picked[..., None]], axis=-1)
    flat = {k: np.ascontiguousarray(v).reshape(-1) for k, v in columns.items()}
    return GridPrices(
        backbones=tuple(p.name for p in backbones),
        tasks=tuple(tasks_label(t) for t in sets),
        devices=tuple(d.name for d in devices),
        servers=tuple(s.name for s in servers),
        links=tuple(lk.name for lk in links),
        payloads=tuple(e.label for e in payloads),
        scenarios=tuple(scenario_names),
        kinds=kinds,
        memory_model=memory_model,
        images=images,
        module_cuts=module_cuts,
        best_cut_index=np.ascontiguousarray(best_index).reshape(-1),
        **flat,
    )


def _fastest_fit(columns: dict[str, Any], fixed: int) -> tuple[dict[str, Any], Ints]:
    """Reduce the candidate cuts (scenario positions ``fixed``..) to one: the fastest that
    fits, the first of equals (as compare's fastest_split keeps the first strictly faster);
    where none fits the row is empty (not feasible, no figures)."""
    total = np.where(columns["feasible"][..., fixed:], columns["total_s"][..., fixed:], np.inf)
    chosen = total.argmin(axis=-1)
    found = np.isfinite(np.take_along_axis(total, chosen[..., None], axis=-1))
    out = {}
    for name, a in columns.items():
        pick = np.take_along_axis(np.asarray(a)[..., fixed:], chosen[..., None], axis=-1)
        if name == "scenario_index":
            pick = np.full_like(pick, fixed)
        elif name == "binding":
            pick = np.where(found, pick, -1)
        elif name == "feasible":
            pick = pick & found
        elif not name.endswith("_index"):
            pick = np.where(found, pick, np.nan if pick.dtype.kind == "f" else 0)
        out[name] = np.concatenate([np.asarray(a)[..., :fixed], pick], axis=-1)
    return out, np.where(found[..., 0], chosen, -1).astype(np.int64)


DeviceColumn = Callable[[Sequence[Device], Ints, Callable[[Device], Any]], Floats]
LinkColumn = Callable[[Callable[[Link], Any]], Floats]


def _energy(devices: Sequence[Device], links: Sequence[Link], device_column: DeviceColumn,
            device_of: Ints, edge_s: Floats, server_s: Floats, transfer: Floats, uplink: Floats,
            sent: Ints, link_column: LinkColumn) -> Floats:
    """pricing/energy.py: active power x edge compute + idle power x (transfer + server) +
    the radio's energy per bit and base power while sending; NaN without power figures."""
    active = device_column(devices, device_of, lambda d: d.power_active_w)
    idle = np.nan_to_num(device_column(devices, device_of, lambda d: d.power_idle_w), nan=0.0)
    per_bit = link_column(lambda lk: lk.energy.per_bit_j if lk.energy else np.nan)
    base = link_column(lambda lk: lk.energy.base_power_w if lk.energy else np.nan)
    radio = np.where((sent != 0) & ~np.isnan(per_bit), per_bit * sent * 8 + base * uplink, 0.0)
    return active * edge_s + idle * (transfer + server_s) + radio


def _band(devices: Sequence[Device], servers: Sequence[Device], device_column: DeviceColumn,
          device_of: Ints, server_of: Ints, edge_s: Floats, server_s: Floats, latency: Floats,
          uplink: Floats, downlink: Floats, sent: Ints, link_column: LinkColumn
          ) -> tuple[Floats, Floats]:
    """pricing/band.py: each compute part within its device's validated error, the uplink at
    the link's p10 and p90 bandwidth; NaN where neither applies."""
    edge_err = device_column(devices, device_of, lambda d: d.latency_error)
    server_err = device_column(servers, server_of, lambda d: d.latency_error)
    errors = ((edge_s != 0) & ~np.isnan(edge_err)) | ((server_s != 0) & ~np.isnan(server_err))
    ed, es = np.nan_to_num(edge_err, nan=0.0), np.nan_to_num(server_err, nan=0.0)
    low = edge_s * (1 - ed) + server_s * (1 - es)
    high = edge_s * (1 + ed) + server_s * (1 + es)
    bw = link_column(lambda lk: lk.bandwidth_bps)
    p10 = link_column(lambda lk: lk.bandwidth_p10_bps or np.nan)
    p90 = link_column(lambda lk: lk.bandwidth_p90_bps or np.nan)
    slow = np.where(np.isnan(p10), uplink, uplink * bw / p10)
    fast = np.where(np.isnan(p90), uplink, uplink * bw / p90)
    percentiles = (sent != 0) & ~(np.isnan(p10) & np.isnan(p90))
    present = errors | percentiles
    rest = latency + downlink
    return (np.where(present, low + rest + fast, np.nan),
            np.where(present, high + rest + slow, np.nan))
