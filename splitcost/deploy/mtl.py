"""The MTL-Split network as real modules: a backbone, N task heads, and its two halves at any cut.

splitcost prices a split from a meta trace; this module hands over the split itself. The whole
network (:class:`MTLNet`) is traced once with ``torch.fx``; a cut named as the sweep names it (a
module path such as ``layer1.0.conv1``, its 2nd call ``relu:2``, ``input`` or ``output``) lies
after the last graph node inside that module (fx's ``nn_module_stack``), as the cut oracle test
places it. The edge half runs the nodes up to there and returns every value produced at or before
the cut and read after it, which is the payload splitcost's liveness computes (a cut inside a
residual block returns the skip tensor too). The server half takes those tensors, runs the rest
of the backbone, flattens ``Z_b`` and runs the heads.

Both halves are ``torch.fx.GraphModule`` objects that share the network's parameters (nothing is
copied, nothing of the user's backbone is changed), so they export with ``torch.export``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.fx as fx
from torch import nn

from splitcost.defaults import HIDDEN as DEFAULT_HIDDEN
from splitcost.errors import InputError, unknown_name
from splitcost.network.heads import build_head
from splitcost.network.tasks import Task, parse_tasks

BACKBONE = "backbone"


class MTLNet(nn.Module):
    """The paper's network: ``Z_b = M_b(x)``, flattened, then one head per task (Eq. 2-3)."""

    def __init__(self, backbone: nn.Module, heads: Sequence[nn.Module],
                 input_shape: tuple[int, ...] = (3, 224, 224)):
        super().__init__()
        self.backbone = backbone
        self.heads = nn.ModuleList(heads)
        self.input_shape = tuple(input_shape)  # one sample, batch excluded: the split's example

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        z = self.backbone(x)
        flat = torch.flatten(z, 1)
        return [head(flat) for head in self.heads]

    def split(self, cut: str) -> SplitNet:
        """The edge and server halves at ``cut`` (see :func:`split`)."""
        return split(self, cut)

    def edge_module(self, cut: str) -> nn.Module:
        return split(self, cut).edge

    def server_module(self, cut: str) -> nn.Module:
        return split(self, cut).server


def build_backbone(name: str, input_shape: tuple[int, ...] = (3, 224, 224)) -> nn.Module:
    """A real (CPU, randomly initialised) backbone by name, chosen as splitcost profiles it."""
    from splitcost.network.zoo import build, check_input, resolve

    info = resolve(name)
    check_input(info, input_shape)
    hw = (input_shape[-2], input_shape[-1]) if len(input_shape) >= 2 else None
    return build(info, hw, real=True)[0]


def build_mtl(backbone: str | nn.Module, tasks: int | str | list[int] = 3,
              hidden: int = DEFAULT_HIDDEN,
              input_shape: Sequence[int] = (3, 224, 224)) -> MTLNet:
    """The multi-task network with real, randomly initialised weights.

    ``backbone`` is a name (``mobilenet``, ``resnet18``, ``pkg.mod:factory``) or a module, which
    is used as is (not copied: the network trains it). Each head reads the flattened ``Z_b``
    of one ``input_shape`` sample, found with one forward pass on meta tensors.
    """
    shape = tuple(int(d) for d in input_shape)
    if hidden < 1:
        raise InputError(f"expected at least 1, got {hidden}", parameter="hidden")
    module = build_backbone(backbone, shape) if isinstance(backbone, str) else backbone
    features = zb_features(module, shape)
    task_list: list[Task] = parse_tasks(tasks)
    heads = [build_head(features, t.classes, hidden) for t in task_list]
    return MTLNet(module, heads, shape)


def zb_features(backbone: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Elements of one sample's ``Z_b``, from splitcost's meta trace of the backbone (which
    also says, in one line, why an input does not fit the network)."""
    from splitcost.network.profiler import profile

    outputs = profile(backbone, input_shape).trace.outputs
    if len(outputs) != 1:
        raise InputError(f"the backbone returns {len(outputs)} tensors; MTL-Split needs one")
    return outputs[0].numel


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """``module`` in eval mode for the block; every submodule's own mode restored after."""
    modes = {m: m.training for m in module.modules()}
    try:
        yield module.eval()
    finally:
        for m, mode in modes.items():
            m.training = mode


# --- splitting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PayloadTensor:
    """One tensor the edge sends, as measured on the network's example input (batch 1)."""

    name: str
    shape: tuple[int, ...]
    dtype: str

    @property
    def nbytes(self) -> int:
        n = torch.empty((), dtype=getattr(torch, self.dtype)).element_size()
        for d in self.shape:
            n *= d
        return n

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype,
                "bytes": self.nbytes}


@dataclass(frozen=True)
class SplitNet:
    """The two halves of an MTLNet at one cut; ``server(*edge(x)) == net(x)``."""

    cut: str
    edge: fx.GraphModule
    server: fx.GraphModule
    payload: tuple[PayloadTensor, ...]
    specialised: tuple[str, ...] = ()  # shape values fixed to the example input

    @property
    def payload_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.payload)

    def to_dict(self) -> dict[str, Any]:
        return {"cut": self.cut, "payload": [p.to_dict() for p in self.payload],
                "specialised": list(self.specialised)}


class _Recorder(fx.Interpreter):
    """Runs the graph once and keeps, per node, its tensor's storage and shape, or its value."""

    def __init__(self, gm: fx.GraphModule):
        super().__init__(gm)
        self.meta: dict[fx.Node, Any] = {}

    def run_node(self, n: fx.Node) -> Any:
        value = super().run_node(n)
        if isinstance(value, torch.Tensor):
            self.meta[n] = (value.untyped_storage().data_ptr(), value.storage_offset(),
                            tuple(value.shape), value.stride(),
                            str(value.dtype).removeprefix("torch."))
        else:
            self.meta[n] = ("value", value)
        return value


def _trace(net: MTLNet) -> fx.GraphModule:
    try:
        return fx.symbolic_trace(net)
    except Exception as e:  # fx raises many types for code it cannot trace
        raise InputError(f"cannot split this backbone: torch.fx cannot trace it ({e})") from None


def _record(gm: fx.GraphModule, net: MTLNet) -> dict[fx.Node, Any]:
    """One real run on zeros in eval mode (the net's modes are restored afterwards)."""
    rec = _Recorder(gm)
    with eval_mode(net), torch.no_grad():
        rec.run(torch.zeros((1, *net.input_shape)))
    return rec.meta


def _fx_key(cut: str) -> str:
    """splitcost names a module's 2nd call ``m:2``; fx's module stack says ``m@1``."""
    path, call = cut, 1
    if ":" in cut:
        head, _, tail = cut.rpartition(":")
        if tail.isdigit():
            path, call = head, int(tail)
    key = f"{BACKBONE}.{path}"
    return key if call == 1 else f"{key}@{call - 1}"


def _cut_index(nodes: list[fx.Node], cut: str) -> int:
    """Index of the last node on the edge."""
    if cut == "input":
        return max(i for i, n in enumerate(nodes) if n.op == "placeholder")
    if cut in ("output", "Z_b", "zb"):
        inside = [i for i, n in enumerate(nodes)
                  if BACKBONE in (n.meta.get("nn_module_stack") or {})]
        if not inside:
            raise InputError("cannot find the backbone's nodes in the traced network")
        return max(inside)
    key = _fx_key(cut)
    inside = [i for i, n in enumerate(nodes) if key in (n.meta.get("nn_module_stack") or {})]
    if not inside:
        known = sorted({k.removeprefix(BACKBONE + ".") for n in nodes
                        for k in (n.meta.get("nn_module_stack") or {})
                        if k.startswith(BACKBONE + ".")})
        raise unknown_name("cut", cut, [*known, "input", "output"],
                           "use a module path from 'splitcost sweep'")
    return max(inside)


def split(net: MTLNet, cut: str) -> SplitNet:
    """Split ``net`` after ``cut`` into an edge and a server GraphModule.

    Values produced at or before the cut and read after it cross, once per real storage (an
    in-place operator's result is its input: it is sent once). Parameters never cross: a
    ``get_attr`` read on both sides is read on both. A non-tensor value that crosses (a shape
    read with ``x.shape``) is fixed to its value for the example input and listed in
    ``specialised``.
    """
    gm = _trace(net)
    nodes = list(gm.graph.nodes)
    at = _cut_index(nodes, cut)
    meta = _record(gm, net)
    position = {n: i for i, n in enumerate(nodes)}
    crossing = [n for n in nodes[: at + 1]
                if n.op != "get_attr" and any(position[u] > at for u in n.users)]
    sent: list[fx.Node] = []
    alias: dict[fx.Node, fx.Node] = {}
    constants: dict[fx.Node, Any] = {}
    by_storage: dict[tuple[Any, ...], fx.Node] = {}
    for n in crossing:
        info = meta.get(n)
        if info is None or info[0] == "value":
            value = None if info is None else info[1]
            if not _is_constant(value):
                raise InputError(f"cannot split at {cut!r}: {n.name} crosses the cut as "
                                 f"{type(value).__name__}, not a tensor")
            constants[n] = value
            continue
        key = info[:4]  # storage, offset, shape, stride: the same tensor under two names
        if key in by_storage:
            alias[n] = by_storage[key]
            continue
        by_storage[key] = n
        sent.append(n)
    edge = _edge_graph(gm, nodes, at, sent)
    server = _server_graph(gm, nodes, at, sent, alias, constants)
    payload = tuple(PayloadTensor(n.name, meta[n][2], meta[n][4]) for n in sent)
    return SplitNet(cut, edge, server, payload, tuple(n.name for n in constants))


def _is_constant(value: Any) -> bool:
    if isinstance(value, bool | int | float | str | torch.dtype) or value is None:
        return True
    if isinstance(value, tuple | list):
        return all(_is_constant(v) for v in value)
    return False


def _edge_graph(gm: fx.GraphModule, nodes: list[fx.Node], at: int, sent: list[fx.Node]
                ) -> fx.GraphModule:
    graph = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    for n in nodes[: at + 1]:
        env[n] = graph.node_copy(n, lambda a: env[a])
    graph.output(tuple(env[n] for n in sent))
    return fx.GraphModule(gm, graph, class_name="EdgeHalf")


def _server_graph(gm: fx.GraphModule, nodes: list[fx.Node], at: int, sent: list[fx.Node],
                  alias: dict[fx.Node, fx.Node], constants: dict[fx.Node, Any]
                  ) -> fx.GraphModule:
    graph = fx.Graph()
    env: dict[fx.Node, Any] = {}
    for n in sent:
        env[n] = graph.placeholder(n.name)
    for n, rep in alias.items():
        env[n] = env[rep]
    env.update(constants)
    later = set(nodes[at + 1:])
    for n in nodes[: at + 1]:
        if n.op == "get_attr" and any(u in later for u in n.users):
            env[n] = graph.node_copy(n, lambda a: env[a])
    for n in nodes[at + 1:]:
        env[n] = graph.node_copy(n, lambda a: env[a])
    return fx.GraphModule(gm, graph, class_name="ServerHalf")


def run_split(s: SplitNet, x: torch.Tensor) -> list[torch.Tensor]:
    """``server(*edge(x))``: the composition, as a deployment runs it."""
    payload = s.edge(x)
    out = s.server(*payload)
    return list(out)


__all__ = ["MTLNet", "PayloadTensor", "SplitNet", "build_backbone", "build_mtl", "eval_mode",
           "run_split", "split", "zb_features"]
