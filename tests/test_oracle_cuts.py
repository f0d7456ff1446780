"""Cut payloads against a real run: the network split as a torch.fx graph and executed on CPU
tensors, the crossing set read off the graph.

The oracle is independent of splitcost's trace: torch.fx records the program (which value each
node reads), the fx interpreter runs it on real CPU tensors, and a cut after module M lies after
the last graph node inside M (fx's ``nn_module_stack``). What crosses is every value produced at or
before that node and read after it (or returned), counted once per real storage (its data
pointer), parameters excluded.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import torch
import torch.fx as fx
import torchvision
from models import LateBranch, Residual
from torch import nn

from splitcost.network.cuts import cuts
from splitcost.network.profiler import profile
from splitcost.network.zoo import extract_backbone


class _Recorder(fx.Interpreter):
    """Runs the graph and keeps, per node, the storages of its tensor value."""

    def __init__(self, gm: fx.GraphModule):
        super().__init__(gm)
        self.storages: dict[fx.Node, dict[int, int]] = {}

    def run_node(self, n: fx.Node) -> Any:
        value = super().run_node(n)
        found: dict[int, int] = {}
        for t in torch.utils._pytree.tree_leaves(value):
            if isinstance(t, torch.Tensor):
                st = t.untyped_storage()
                found[st.data_ptr()] = st.nbytes()
        self.storages[n] = found
        return value


def _oracle(model: nn.Module, shape: tuple[int, ...]) -> tuple[list[fx.Node], Any]:
    gm = fx.symbolic_trace(model)
    rec = _Recorder(gm)
    with torch.no_grad():
        rec.run(torch.zeros(shape))
    return list(gm.graph.nodes), rec


def _crossing_bytes(nodes: list[fx.Node], rec: _Recorder, cut_at: int) -> int:
    """Storages of values produced at nodes[0..cut_at] and read by a later node."""
    position = {n: i for i, n in enumerate(nodes)}
    crossing: dict[int, int] = {}
    for n in nodes[: cut_at + 1]:
        if n.op == "get_attr":
            continue  # parameters and buffers never cross
        if any(position[u] > cut_at for u in n.users):
            crossing.update(rec.storages.get(n, {}))
    return sum(crossing.values())


def _fx_key(path: str) -> str:
    """splitcost names the 2nd call of a module 'm:2'; fx's module stack says 'm@1'."""
    if ":" in path:
        name, call = path.rsplit(":", 1)
        return f"{name}@{int(call) - 1}"
    return path


def _last_node_in(nodes: list[fx.Node], path: str) -> int:
    key = _fx_key(path)
    inside = [i for i, n in enumerate(nodes) if key in (n.meta.get("nn_module_stack") or {})]
    assert inside, f"no fx node inside {path}"
    return max(inside)


def _check(model: nn.Module, meta_model: nn.Module, shape: tuple[int, ...],
           depth: int | None) -> int:
    nodes, rec = _oracle(model, shape)
    p = profile(meta_model, shape[1:], batch=shape[0])
    checked = 0
    for cut in cuts(p.trace, depth):
        if cut.kind == "input":
            expected = _crossing_bytes(nodes, rec, 0)
        elif cut.kind == "output":
            expected = p.zb_bytes
        else:
            expected = _crossing_bytes(nodes, rec, _last_node_in(nodes, cut.name))
        assert cut.payload_bytes == expected, (cut.name, cut.payload_bytes, expected)
        checked += 1
    last = cuts(p.trace, depth)[-1]
    assert last.payload_bytes == p.zb_bytes
    assert last.edge_macs == p.macs
    return checked


def _torchvision(name: str) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return extract_backbone(name, torchvision.models.get_model(name)).eval()


@pytest.mark.parametrize(
    ("name", "depth"),
    [
        ("resnet18", 3),  # layer1.0.conv1: a cut inside a residual block carries the skip
        ("resnet50", 2),
        ("densenet121", 3),  # denseblock1.denselayer1.conv1 ...: concatenated maps still needed
        ("mobilenet_v3_small", 2),
        ("efficientnet_b0", 2),
        ("vit_b_16", None),  # the token tensor between encoder layers
    ],
)
def test_payload_equals_the_real_run(name: str, depth: int | None) -> None:
    model = _torchvision(name)
    assert _check(model, model, (1, 3, 224, 224), depth) > 5


def test_residual_block_cut_names() -> None:
    p = profile("resnet18")
    names = [c.name for c in cuts(p.trace, depth=3)]
    assert "layer1.0.conv1" in names and "layer1.0.relu:2" in names
    skip = next(c for c in cuts(p.trace, depth=3) if c.name == "layer1.0.conv1")
    assert sorted(c.shape for c in skip.payload) == [(1, 64, 56, 56), (1, 64, 56, 56)]


def test_densenet_cut_names() -> None:
    p = profile("densenet121")
    assert "denseblock1.denselayer1.conv1" in [c.name for c in cuts(p.trace, depth=3)]


@pytest.mark.parametrize("model", [Residual(), LateBranch()], ids=["residual", "late-branch"])
def test_small_models(model: nn.Module) -> None:
    model.eval()
    assert _check(model, model, (2, 3, 8, 8), 2) >= 3
