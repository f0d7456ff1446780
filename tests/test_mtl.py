"""The network's halves against the whole network (real CPU tensors) and against splitcost's
payload (its meta trace): the edge returns exactly the tensors the cut analysis says cross."""

from __future__ import annotations

import functools

import pytest
import torch
from models import LateBranch, Residual
from torch import nn

from splitcost.deploy.mtl import MTLNet, build_mtl, run_split
from splitcost.errors import InputError
from splitcost.network.cuts import find_cut
from splitcost.network.profiler import profile

SHAPE = (3, 64, 64)

CASES = {
    "mobilenet": ["input", "0", "3.block.1", "9", "output"],
    "resnet18": ["layer1.0.conv1", "layer1.0.relu:2", "layer2.0.downsample", "layer3", "output"],
    "efficientnet": ["1", "2.0.block.1", "4.0.block.1", "output"],
}


@functools.cache
def _net(name: str) -> MTLNet:
    torch.manual_seed(0)
    return build_mtl(name, "3,2", input_shape=SHAPE).eval()


@functools.cache
def _profile(name: str) -> object:
    return profile(_net(name).backbone, SHAPE)


def _check(net: MTLNet, cut: str, shape: tuple[int, ...] = SHAPE) -> None:
    s = net.split(cut)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        whole = net(x)
        composed = run_split(s, x)
        sent = s.edge(x[:1])
    assert len(composed) == len(whole)
    for a, b in zip(composed, whole, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    expected = find_cut(profile(net.backbone, shape).trace, cut)
    assert sorted(tuple(t.shape) for t in sent) == sorted(c.shape for c in expected.payload)
    assert sum(t.numel() * t.element_size() for t in sent) == expected.payload_bytes
    assert [tuple(p.shape) for p in s.payload] == [tuple(t.shape) for t in sent]


@pytest.mark.parametrize(("name", "cut"), [(n, c) for n, cs in CASES.items() for c in cs])
def test_halves_compose_to_the_whole(name: str, cut: str) -> None:
    _check(_net(name), cut)


def test_cut_inside_a_residual_block_sends_the_skip_tensor() -> None:
    s = _net("resnet18").split("layer1.0.conv1")
    assert len(s.payload) == 2
    assert sorted(p.shape for p in s.payload) == [(1, 64, 16, 16), (1, 64, 16, 16)]


class _InPlace(nn.Module):
    """``a`` and ``relu_(a)`` are one storage read after the cut under two names."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.conv(x)
        b = self.relu(a)
        return self.conv2(b) + a


@pytest.mark.parametrize("model", [Residual, LateBranch, _InPlace])
def test_small_models(model: type[nn.Module]) -> None:
    net = build_mtl(model(), [3], hidden=8, input_shape=(3, 8, 8)).eval()
    cuts = {Residual: ["conv1", "relu"], LateBranch: ["stem", "branch"],
            _InPlace: ["relu", "conv"]}[model]
    for cut in cuts:
        _check(net, cut, (3, 8, 8))


def test_in_place_result_is_sent_once() -> None:
    net = build_mtl(_InPlace(), [3], hidden=8, input_shape=(3, 8, 8)).eval()
    assert len(net.split("relu").payload) == 1


def test_the_user_backbone_is_left_as_it_was() -> None:
    backbone = Residual().train()
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    net = build_mtl(backbone, [2, 3], hidden=8, input_shape=(3, 8, 8))
    net.split("conv1")
    assert net.backbone is backbone and backbone.training
    for k, v in backbone.state_dict().items():
        assert torch.equal(v, before[k])


def test_halves_share_the_network_parameters() -> None:
    net = _net("resnet18")
    s = net.split("layer3")
    ids = {id(p) for p in net.parameters()}
    assert {id(p) for p in s.edge.parameters()} <= ids
    assert {id(p) for p in s.server.parameters()} <= ids


def test_heads_follow_the_paper() -> None:
    net = _net("mobilenet")
    assert [h.fc2.out_features for h in net.heads] == [3, 2]
    assert net.heads[0].fc1.in_features == 576 * 2 * 2
    assert net.heads[0].fc1.out_features == 256


def test_unknown_cut_is_one_clear_error() -> None:
    with pytest.raises(InputError, match="unknown cut 'layer9'"):
        _net("resnet18").split("layer9")


def test_user_factory_by_name() -> None:
    net = build_mtl("models:Residual", [4], hidden=8, input_shape=(3, 8, 8)).eval()
    assert isinstance(net.backbone, Residual)
    _check(net, "conv2", (3, 8, 8))


class _Chunks(nn.Module):
    """Two views of one storage (same shape and stride, other offsets) both cross ``mark``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.mark = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.conv(x).chunk(2, dim=1)
        y = self.mark(x)
        return torch.cat([a, b * 2, y], dim=1)


def test_views_of_one_storage_are_not_confused() -> None:
    net = build_mtl(_Chunks(), [3], hidden=8, input_shape=(3, 8, 8)).eval()
    s = net.split("mark")
    assert len(s.payload) == 3  # both halves of the conv output, and x
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        for got, want in zip(run_split(s, x), net(x), strict=True):
            torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    expected = find_cut(profile(net.backbone, (3, 8, 8)).trace, "mark")
    assert sum(p.nbytes for p in s.payload) == expected.payload_bytes
